/*
 * Internal to libpingan: text that goes into messages and JSON.
 */
#ifndef PINGAN_NODE_ERROR_INTERNAL_H
#define PINGAN_NODE_ERROR_INTERNAL_H

#include "pingan/error.h"

#include <stdarg.h>
#include <stdbool.h>

/* Make @p s one line of valid UTF-8 in place: control characters and
 * bytes that are not UTF-8 become '?'; with @p truncated (the text was
 * cut by its buffer's end), a character cut at the end is dropped. */
void pg_error__clean_text(char *s, bool truncated);

/*
 * A message in English and in the locale's language (pingan/error.h), for
 * helpers that build a message in pieces before recording it.  The
 * formats given to the functions below are translated (text domain
 * "libpingan"; the catalog check extracts them).
 */
typedef struct pg_error__text {
    char en[sizeof(((pg_error *)0)->message)];
    char loc[sizeof(((pg_error *)0)->localized)];
} pg_error__text;

/* Format @p fmt into both languages of @p out. */
void pg_error__textf(pg_error__text *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pg_error__vtextf(pg_error__text *out, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A word or phrase marked with PG_N_(): @p word and its translation. */
void pg_error__text_word(pg_error__text *out, const char *word);

/* The last error's message, both languages. */
void pg_error__text_last(pg_error__text *out);

/* pg_error_set() with a va_list. */
int pg_error__vset(int code, pg_error_class klass, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Record @p text as it is (no format): returns @p code. */
int pg_error__set_text(int code, pg_error_class klass,
                       const pg_error__text *text);

/*
 * Record a message that wraps another: @p fmt's last directive is a "%s"
 * whose argument is inner->en; the localized message holds inner->loc
 * there instead.  E.g.
 *   pg_error__wrap(code, klass, &why, "line %u: %s", line, why.en)
 */
int pg_error__wrap(int code, pg_error_class klass, const pg_error__text *inner,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * The C library's English text for errno value @p err, whatever the
 * locale: the OS reason inside a message (which is English, pingan/error.h),
 * where strerror() would give the locale's language.  The message's
 * localized copy shows the locale's text in its place.  Valid until the
 * thread's next call.
 */
const char *pg_error__oserr(int err);

/* Put back an error saved with `pg_error saved = *pg_error_last()`. */
int pg_error__restore(const pg_error *saved);

#endif
