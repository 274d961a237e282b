/*
 * Internal to libpingan: text that goes into messages and JSON.
 */
#ifndef PINGAN_NODE_ERROR_INTERNAL_H
#define PINGAN_NODE_ERROR_INTERNAL_H

#include <stdbool.h>

/* Make @p s one line of valid UTF-8 in place: control characters and
 * bytes that are not UTF-8 become '?'; with @p truncated (the text was
 * cut by its buffer's end), a character cut at the end is dropped. */
void pg_error__clean_text(char *s, bool truncated);

#endif
