/**
 * @file pingan/value.h
 * @brief Field values: types, parsing, validation and canonical encoding.
 *
 * A value on the wire is one of five kinds (DESIGN §3): absent, int, real,
 * bool, text.  The field type adds meaning and validation: a `time` is an
 * int of milliseconds since the epoch (UTC), an `id_number` is text with a
 * valid GB 11643 check character, and so on.
 */
#ifndef PINGAN_VALUE_H
#define PINGAN_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/buf.h"

/** Field types of the schema.  Values are pinned. */
typedef enum pg_type {
    PG_TYPE_TEXT = 1,
    PG_TYPE_INT = 2,
    PG_TYPE_REAL = 3,
    PG_TYPE_BOOL = 4,
    PG_TYPE_TIME = 5,
    PG_TYPE_ENUM = 6,
    PG_TYPE_DIVISION = 7,
    PG_TYPE_ID_NUMBER = 8,
    PG_TYPE_PHONE = 9,
    PG_TYPE_NAME = 10,    /**< a person's name */
    PG_TYPE_ADDRESS = 11, /**< a street address */
    PG_TYPE_COUNTER = 12, /**< an int whose changes are increments */
} pg_type;

/** Kinds of value, as tagged in the digest encoding.  Pinned. */
typedef enum pg_value_kind {
    PG_VALUE_ABSENT = 0,
    PG_VALUE_INT = 1,
    PG_VALUE_REAL = 2,
    PG_VALUE_BOOL = 3,
    PG_VALUE_TEXT = 4,
} pg_value_kind;

/**
 * A value.  Text is borrowed: `s` points at `len` bytes of UTF-8 owned by
 * whoever built the value (not necessarily NUL-terminated).
 */
typedef struct pg_value {
    pg_value_kind kind;
    int64_t i;     /**< PG_VALUE_INT */
    double r;      /**< PG_VALUE_REAL */
    bool b;        /**< PG_VALUE_BOOL */
    const char *s; /**< PG_VALUE_TEXT */
    size_t len;    /**< PG_VALUE_TEXT */
} pg_value;

/** Size limits, in bytes of UTF-8. */
#define PG_TEXT_MAX  8192 /**< free text */
#define PG_SHORT_MAX 256  /**< names, addresses, enum values */

/** Room for pg_excerpt(): 60 bytes, "...", NUL. */
#define PG_EXCERPT_SIZE 64

/**
 * A printable excerpt of text from outside, for error messages: at most 60
 * bytes (cut at a character boundary, "..." appended), control characters
 * and invalid UTF-8 replaced by '?', so a message stays one line.
 *
 * @return @p out
 */
const char *pg_excerpt(char out[PG_EXCERPT_SIZE], const char *s, size_t len);

/** The name of a type ("text", "int", ...), as `pingan schema` shows it. */
const char *pg_type_name(pg_type type);

/** The value kind that a field of this type holds. */
pg_value_kind pg_type_kind(pg_type type);

/** True when @p len bytes at @p s are valid UTF-8 (no NUL, no surrogates). */
bool pg_utf8_valid(const char *s, size_t len);

/**
 * True when @p len bytes at @p s are a one-line label (a node's or an
 * operator's name): valid UTF-8 with no control character (C0, DEL, C1),
 * so that it cannot forge lines or escape sequences where it is shown.
 */
bool pg_label_valid(const char *s, size_t len);

/**
 * Check a resident ID number (GB 11643-1999): 18 characters, a possible
 * birth date not in the future, and the ISO 7064 MOD 11-2 check character
 * (upper-case X).  Sets a message saying which part is wrong.
 *
 * @return 0 or PG_EINVALID
 */
int pg_id_number_check(const char *s, size_t len);

/**
 * Check a mainland mobile number: 11 digits with an assigned prefix
 * (DOMAIN.md §4.5).
 *
 * @return 0 or PG_EINVALID
 */
int pg_phone_check(const char *s, size_t len);

/**
 * Parse a time: ISO 8601 with an offset ("2026-11-26T10:00:00+08:00",
 * "Z" accepted, optional fractional seconds) or integer milliseconds since
 * the epoch.
 *
 * @return 0 or PG_EINVALID
 */
int pg_time_parse(int64_t *ms_out, const char *s);

/**
 * Format milliseconds since the epoch as ISO 8601 in China Standard Time,
 * e.g. "2026-11-26T10:00:00+08:00" (milliseconds shown only when non-zero).
 */
void pg_time_format(char out[40], int64_t ms);

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t pg_days_from_civil(int64_t year, unsigned month, unsigned day);

/** The proleptic Gregorian date of a day number (inverse of the above). */
void pg_civil_from_days(int64_t days, int64_t *year, unsigned *month,
                        unsigned *day);

/** Wall-clock milliseconds since the epoch (UTC). */
int64_t pg_time_now_ms(void);

struct pg_field;

/**
 * Parse the text form of a value for a field (command line and JSON
 * strings): text as is; int and counter decimal; real decimal; bool
 * `true`/`false`; time as pg_time_parse; enum one of its values; division
 * 12 digits; id_number with its check letter upper-cased.  The empty
 * string means absent (the field is cleared).  The value is validated with
 * pg_value_check().
 *
 * @param out   [out] the value; its text points into @p *text_out
 * @param text_out [out] the normalised text, which the caller frees with
 *              free() (NULL for non-text values)
 * @return 0 or PG_EINVALID (message names the field and the problem)
 */
int pg_value_parse(pg_value *out, char **text_out, const struct pg_field *field,
                   const char *input);

/**
 * Validate a value against its field: kind matches the type, enum value in
 * the list, UTF-8, size limits, id_number and phone rules, real not NaN or
 * infinite, division well-formed.  Absent is always valid: whether a
 * field is required depends on whether the record is being created, which
 * the writer checks.
 *
 * @param field the field the value is for
 * @param value the value; its text is only read
 * @return 0 or PG_EINVALID (message names the field and the problem)
 */
int pg_value_check(const struct pg_field *field, const pg_value *value);

/**
 * Append the canonical encoding used by the digest (DESIGN §3):
 * 0x00 absent; 0x01 u64 int; 0x02 binary64 (−0 as +0); 0x03 u8 bool;
 * 0x04 str text.
 *
 * @return 0, PG_EINVALID (NaN or infinite real), PG_ELIMIT or PG_ENOMEM
 */
int pg_value_encode(pg_buf *out, const pg_value *value);

/** True when two values are equal (same kind and contents). */
bool pg_value_equal(const pg_value *a, const pg_value *b);

#endif
