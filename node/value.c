/*
 * Field values: parsing, validation and the canonical digest encoding.
 *
 * Two ways in, one set of rules.  pg_value_parse() turns the text a person
 * typed (command line, JSON strings, CSV) into a typed value;
 * pg_value_check() validates an already-typed value (JSON numbers, a
 * change received from a peer).  parse always ends by calling check, so a
 * value that passes one passes the other and every node refuses the same
 * inputs.  `required` is not checked here: whether a field may be absent
 * depends on whether the record is being created, which only the writer
 * knows.
 *
 * Rules by type (kind in brackets):
 *
 *     text [TEXT]       UTF-8, no C0 controls but \t \n \r, <= PG_TEXT_MAX
 *     name [TEXT]       short text, not blank, no digits
 *     address, enum,    short text (<= PG_SHORT_MAX, no control
 *     phone, id_number, characters at all, C1 included); enum one of the
 *     division [TEXT]   field's values; phone and id_number as below;
 *                       division exactly 12 well-formed digits
 *     int, counter [INT] any int64 (a counter's value is an increment)
 *     time [INT]        ms since the epoch, UTC
 *     real [REAL]       finite; -0 is stored and encoded as +0
 *     bool [BOOL]
 *
 * UTF-8 is checked strictly: no overlong forms, no surrogates, nothing
 * above U+10FFFF, no NUL (text is handed to SQLite and C strings).
 *
 * The digest encoding is DESIGN §3 and never changes:
 *
 *     0x00                      absent
 *     0x01 ‖ u64 BE             int, time, counter (two's complement)
 *     0x02 ‖ binary64 BE        real; NaN and ±Inf refused, -0 as +0
 *     0x03 ‖ u8 0|1             bool
 *     0x04 ‖ u32 BE len ‖ bytes text of every text type
 *
 * Times are parsed from ISO 8601 with a mandatory offset (a time without
 * one is ambiguous between UTC and China Standard Time, and guessing wrong
 * moves an event by eight hours) or from integer milliseconds.  Calendar
 * arithmetic uses Howard Hinnant's days_from_civil/civil_from_days, which
 * is exact for the proleptic Gregorian calendar and needs neither timegm
 * nor the process time zone.
 *
 * Error messages quote the offending input through pg_excerpt(), which
 * bounds its length and replaces control characters and invalid UTF-8, so
 * hostile input cannot break the one-line message.
 */
#include "pingan/value.h"
#include "error_internal.h"
#include "pingan/division.h"
#include "pingan/error.h"
#include "pingan/schema.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(LLONG_MAX == INT64_MAX && LLONG_MIN == INT64_MIN,
               "long long must be int64_t");
_Static_assert(sizeof(double) == sizeof(uint64_t), "double must be binary64");

#define MS_PER_DAY    INT64_C(86400000)
#define MS_PER_HOUR   INT64_C(3600000)
#define CST_OFFSET_MS (8 * MS_PER_HOUR)

/* Room for pg_excerpt(): 60 bytes, "...", NUL. */
#define EXCERPT_MAX  60
#define EXCERPT_SIZE PG_EXCERPT_SIZE
_Static_assert(PG_EXCERPT_SIZE == EXCERPT_MAX + 4, "excerpt size");

/* ---- names and kinds ------------------------------------------------ */

const char *pg_type_name(pg_type type)
{
    switch (type) {
    case PG_TYPE_TEXT:
        return "text";
    case PG_TYPE_INT:
        return "int";
    case PG_TYPE_REAL:
        return "real";
    case PG_TYPE_BOOL:
        return "bool";
    case PG_TYPE_TIME:
        return "time";
    case PG_TYPE_ENUM:
        return "enum";
    case PG_TYPE_DIVISION:
        return "division";
    case PG_TYPE_ID_NUMBER:
        return "id_number";
    case PG_TYPE_PHONE:
        return "phone";
    case PG_TYPE_NAME:
        return "name";
    case PG_TYPE_ADDRESS:
        return "address";
    case PG_TYPE_COUNTER:
        return "counter";
    }
    return "?";
}

pg_value_kind pg_type_kind(pg_type type)
{
    switch (type) {
    case PG_TYPE_INT:
    case PG_TYPE_TIME:
    case PG_TYPE_COUNTER:
        return PG_VALUE_INT;
    case PG_TYPE_REAL:
        return PG_VALUE_REAL;
    case PG_TYPE_BOOL:
        return PG_VALUE_BOOL;
    case PG_TYPE_TEXT:
    case PG_TYPE_ENUM:
    case PG_TYPE_DIVISION:
    case PG_TYPE_ID_NUMBER:
    case PG_TYPE_PHONE:
    case PG_TYPE_NAME:
    case PG_TYPE_ADDRESS:
        return PG_VALUE_TEXT;
    }
    return PG_VALUE_ABSENT;
}

static const char *value_kind_name(pg_value_kind kind)
{
    switch (kind) {
    case PG_VALUE_ABSENT:
        return "absent";
    case PG_VALUE_INT:
        return "int";
    case PG_VALUE_REAL:
        return "real";
    case PG_VALUE_BOOL:
        return "bool";
    case PG_VALUE_TEXT:
        return "text";
    }
    return "?";
}

static const char *value_field_name(const pg_field *field)
{
    return field->name ? field->name : "?";
}

/* ---- UTF-8 ------------------------------------------------------------ */

/*
 * The offset of the first byte that does not start a valid UTF-8 sequence
 * (or is NUL), or @p len when all of it is valid.  The second byte's range
 * excludes overlongs (E0, F0), surrogates (ED) and code points above
 * U+10FFFF (F4); C0, C1 and F5..FF never start a sequence.
 */
static size_t utf8_bad_offset(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c == 0xe0) {
            more = 2;
            lo = 0xa0;
        } else if (c == 0xed) {
            more = 2;
            hi = 0x9f;
        } else if (c >= 0xe1 && c <= 0xef) {
            more = 2;
        } else if (c == 0xf0) {
            more = 3;
            lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            more = 3;
        } else if (c == 0xf4) {
            more = 3;
            hi = 0x8f;
        } else {
            return i;
        }
        if (len - i - 1 < more)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
        }
        i += more + 1;
    }
    return len;
}

bool pg_utf8_valid(const char *s, size_t len)
{
    if (!s)
        return len == 0;
    return utf8_bad_offset((const unsigned char *)s, len) == len;
}

/* Decode the code point at s[*i] of valid UTF-8 and advance *i. */
static uint32_t utf8_next(const char *s, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    uint32_t cp;
    size_t n;

    if (p[0] < 0x80) {
        cp = p[0];
        n = 1;
    } else if (p[0] < 0xe0) {
        cp = p[0] & 0x1fu;
        n = 2;
    } else if (p[0] < 0xf0) {
        cp = p[0] & 0x0fu;
        n = 3;
    } else {
        cp = p[0] & 0x07u;
        n = 4;
    }
    for (size_t k = 1; k < n; k++)
        cp = (cp << 6) | (p[k] & 0x3fu);
    *i += n;
    return cp;
}

/*
 * A short, printable excerpt of possibly hostile text, for messages: at
 * most EXCERPT_MAX bytes cut at a character boundary, "..." when cut,
 * control characters (and every non-ASCII byte, if the text is not valid
 * UTF-8) replaced by '?'.
 */
const char *pg_excerpt(char out[PG_EXCERPT_SIZE], const char *s, size_t len)
{
    size_t n = len > EXCERPT_MAX ? EXCERPT_MAX : len;

    if (!s) {
        out[0] = '\0';
        return out;
    }
    if (n < len) {
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    bool utf8 = pg_utf8_valid(s, n);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool bad = c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80);
        out[j++] = bad ? '?' : (char)c;
    }
    if (n < len) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
    return out;
}

/*
 * Re-issue the last error with "field NAME: " in front, so a message from
 * a type-level check (pg_time_parse, pg_id_number_check) says which field
 * it is about.  The code and class are kept.
 */
static int value_field_error(const pg_field *field)
{
    const pg_error *last = pg_error_last();
    int code = last->code;
    pg_error_class klass = last->klass;
    pg_error__text msg;

    pg_error__text_last(&msg);
    return pg_error__wrap(code, klass, &msg, "field %s: %s",
                          value_field_name(field), msg.en);
}

/* ---- calendar ------------------------------------------------------- */

static bool time_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned time_days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};

    if (m == 2 && time_is_leap(y))
        return 29;
    return days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
int64_t pg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9;
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The date of a day number (inverse of pg_days_from_civil). */
void pg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Split ms into a day number and ms within the day, flooring. */
static void time_split(int64_t ms, int64_t *days, int64_t *rem)
{
    *days = ms / MS_PER_DAY;
    *rem = ms % MS_PER_DAY;
    if (*rem < 0) {
        *rem += MS_PER_DAY;
        *days -= 1;
    }
}

int64_t pg_time_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pg_time_format(char out[40], int64_t ms)
{
    int64_t days, rem;

    /* Shift to CST on the split parts so INT64 extremes cannot overflow. */
    time_split(ms, &days, &rem);
    rem += CST_OFFSET_MS;
    if (rem >= MS_PER_DAY) {
        rem -= MS_PER_DAY;
        days += 1;
    }

    int64_t y;
    unsigned mo, d;
    pg_civil_from_days(days, &y, &mo, &d);
    unsigned h = (unsigned)(rem / MS_PER_HOUR);
    unsigned mi = (unsigned)(rem / 60000 % 60);
    unsigned s = (unsigned)(rem / 1000 % 60);
    unsigned frac = (unsigned)(rem % 1000);

    int n;
    if (frac)
        n = snprintf(out, 40, "%04lld-%02u-%02uT%02u:%02u:%02u.%03u+08:00",
                     (long long)y, mo, d, h, mi, s, frac);
    else
        n = snprintf(out, 40, "%04lld-%02u-%02uT%02u:%02u:%02u+08:00",
                     (long long)y, mo, d, h, mi, s);
    assert(n > 0 && n < 40);
    (void)n;
}

/* Exactly @p n ASCII digits at @p s, as a number. */
static bool time_digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

static int time_bad_form(const char *s)
{
    char ex[EXCERPT_SIZE];

    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "time \"%s\": expected YYYY-MM-DDTHH:MM:SS[.fff] "
                        "followed by Z or +HH:MM, or integer milliseconds",
                        pg_excerpt(ex, s, strlen(s)));
}

static int time_parse_ms(int64_t *ms_out, const char *s)
{
    char *end;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return time_bad_form(s);
    if (errno == ERANGE)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "time %.40s: milliseconds out of range", s);
    *ms_out = v;
    return 0;
}

int pg_time_parse(int64_t *ms_out, const char *s)
{
    PG_ASSERT_ARG(ms_out);
    PG_ASSERT_ARG(s);

    /* Integer milliseconds: an optional minus sign, then only digits. */
    const char *p = s + (s[0] == '-');
    if (*p >= '0' && *p <= '9' && strspn(p, "0123456789") == strlen(p))
        return time_parse_ms(ms_out, s);

    char ex[EXCERPT_SIZE];
    pg_excerpt(ex, s, strlen(s));

    /* YYYY-MM-DDTHH:MM:SS */
    unsigned y, mo, d, h, mi, sec;
    if (strnlen(s, 20) < 19 || !time_digits(s, 4, &y) || s[4] != '-' ||
        !time_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !time_digits(s + 8, 2, &d) || s[10] != 'T' ||
        !time_digits(s + 11, 2, &h) || s[13] != ':' ||
        !time_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !time_digits(s + 17, 2, &sec))
        return time_bad_form(s);
    p = s + 19;

    /* [.fff]: up to nine digits, truncated to milliseconds. */
    unsigned frac_ms = 0;
    if (*p == '.') {
        size_t n = strspn(p + 1, "0123456789");
        if (n == 0 || n > 9)
            return time_bad_form(s);
        unsigned scale = 100;
        for (size_t i = 0; i < n && i < 3; i++) {
            frac_ms += (unsigned)(p[1 + i] - '0') * scale;
            scale /= 10;
        }
        p += 1 + n;
    }

    /* Z | ±HH:MM */
    int64_t offset_ms = 0;
    if (*p == '\0')
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "time \"%s\": no offset; add Z for UTC or "
                            "+08:00 for China Standard Time",
                            ex);
    if (p[0] == 'Z' && p[1] == '\0') {
        offset_ms = 0;
    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        unsigned oh, om;
        if (!time_digits(p + 1, 2, &oh) || !time_digits(p + 4, 2, &om))
            return time_bad_form(s);
        if (om >= 60)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "time \"%s\": offset minutes %02u out of "
                                "range 00-59",
                                ex, om);
        if (oh * 60 + om > 14 * 60)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "time \"%s\": offset %s is beyond 14 hours", ex,
                                p);
        offset_ms = ((int64_t)oh * 60 + om) * 60000;
        if (p[0] == '-')
            offset_ms = -offset_ms;
    } else {
        return time_bad_form(s);
    }

    if (mo < 1 || mo > 12)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "time \"%s\": month %02u out of range 01-12", ex,
                            mo);
    if (d < 1 || d > time_days_in_month(y, mo))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "time \"%s\": day %02u out of range for "
                            "%04u-%02u",
                            ex, d, y, mo);
    if (h >= 24 || mi >= 60 || sec >= 60)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "time \"%s\": time of day %02u:%02u:%02u out "
                            "of range",
                            ex, h, mi, sec);

    int64_t days = pg_days_from_civil(y, mo, d);
    *ms_out = days * MS_PER_DAY + (int64_t)h * MS_PER_HOUR +
              (int64_t)mi * 60000 + (int64_t)sec * 1000 + frac_ms - offset_ms;
    return 0;
}

/* ---- ID numbers and phone numbers --------------------------------- */

/* First two digits of GB/T 2260 province-level codes. */
static bool id_province_valid(unsigned p)
{
    return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) ||
           (p >= 31 && p <= 37) || (p >= 41 && p <= 46) ||
           (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 || p == 81 ||
           p == 82;
}

/* Today's date in China Standard Time as YYYYMMDD. */
static int64_t id_today_ymd(void)
{
    int64_t days, rem, y;
    unsigned m, d;

    time_split(pg_time_now_ms(), &days, &rem);
    if (rem + CST_OFFSET_MS >= MS_PER_DAY)
        days += 1;
    pg_civil_from_days(days, &y, &m, &d);
    return y * 10000 + m * 100 + d;
}

int pg_id_number_check(const char *s, size_t len)
{
    static const unsigned weights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                         3, 7, 9,  10, 5, 8, 4, 2};
    static const char check_chars[] = "10X98765432";
    char ex[EXCERPT_SIZE];

    PG_ASSERT_ARG(s || len == 0);
    pg_excerpt(ex, s, len);

    if (len != 18)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: expected 18 characters, got %zu", ex,
                            len);
    for (size_t i = 0; i < 17; i++) {
        if (s[i] < '0' || s[i] > '9')
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "ID number %s: character %zu should be a "
                                "digit",
                                ex, i + 1);
    }
    if (!((s[17] >= '0' && s[17] <= '9') || s[17] == 'X'))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: check character should be a digit "
                            "or upper-case X",
                            ex);

    unsigned province = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    if (!id_province_valid(province))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: address code %.6s names no "
                            "province",
                            ex, s);

    unsigned y = 0, m = 0, d = 0; /* digits already checked above */
    time_digits(s + 6, 4, &y);
    time_digits(s + 10, 2, &m);
    time_digits(s + 12, 2, &d);
    if (m < 1 || m > 12 || d < 1 || d > time_days_in_month(y, m))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: birth date %.8s is not a calendar "
                            "date",
                            ex, s + 6);
    int64_t ymd = (int64_t)y * 10000 + m * 100 + d;
    if (ymd < 19000101)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: birth date %.8s is before 1900", ex,
                            s + 6);
    if (ymd > id_today_ymd())
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: birth date %.8s is in the future",
                            ex, s + 6);

    unsigned sum = 0;
    for (size_t i = 0; i < 17; i++)
        sum += (unsigned)(s[i] - '0') * weights[i];
    char want = check_chars[sum % 11];
    if (s[17] != want)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: check character should be %c", ex,
                            want);
    return 0;
}

/* Assigned mobile prefixes, DOMAIN.md §4.5 (all carriers, resellers). */
static const unsigned short phone_prefixes[] = {
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, /* */
    145, 147, 149,                                    /* */
    150, 151, 152, 153, 155, 156, 157, 158, 159,      /* */
    162, 165, 166, 167,                               /* */
    170, 171, 172, 173, 175, 176, 177, 178,           /* */
    180, 181, 182, 183, 184, 185, 186, 187, 188, 189, /* */
    190, 191, 192, 193, 195, 196, 197, 198, 199,
};

int pg_phone_check(const char *s, size_t len)
{
    char ex[EXCERPT_SIZE];

    PG_ASSERT_ARG(s || len == 0);
    pg_excerpt(ex, s, len);

    if (len != 11)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "phone number %s: expected 11 digits, got %zu "
                            "characters",
                            ex, len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "phone number %s: character %zu is not a "
                                "digit",
                                ex, i + 1);
    }
    unsigned prefix = (unsigned)(s[0] - '0') * 100 +
                      (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
    for (size_t i = 0; i < sizeof(phone_prefixes) / sizeof(phone_prefixes[0]);
         i++) {
        if (phone_prefixes[i] == prefix)
            return 0;
    }
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "phone number %s: prefix %03u is not an assigned "
                        "mobile prefix",
                        ex, prefix);
}

/* ---- checking values ------------------------------------------------ */

static size_t value_limit(const pg_field *field)
{
    if (field->max_len)
        return field->max_len;
    return field->type == PG_TYPE_TEXT ? PG_TEXT_MAX : PG_SHORT_MAX;
}

/*
 * Control characters: free text may hold tabs and line breaks; every
 * other text type is one line of printable characters, so C0, DEL and the
 * C1 range are all refused.
 */
static int value_check_chars(const pg_field *field, const char *s, size_t len)
{
    bool free_text = field->type == PG_TYPE_TEXT;

    for (size_t i = 0; i < len;) {
        size_t at = i;
        uint32_t cp = utf8_next(s, &i);
        bool bad;
        if (free_text)
            bad = (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
                  cp == 0x7f;
        else
            bad = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
        if (bad)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "field %s: control character U+%04X at byte "
                                "%zu is not allowed in %s",
                                value_field_name(field), (unsigned)cp, at,
                                pg_type_name(field->type));
    }
    return 0;
}

static int value_check_name(const pg_field *field, const char *s, size_t len)
{
    bool blank = true;

    for (size_t i = 0; i < len;) {
        uint32_t cp = utf8_next(s, &i);
        /* ASCII and full-width (U+FF10..U+FF19) digits. */
        if ((cp >= '0' && cp <= '9') || (cp >= 0xff10 && cp <= 0xff19)) {
            char ex[EXCERPT_SIZE];
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "field %s: name \"%s\" contains a digit",
                                value_field_name(field),
                                pg_excerpt(ex, s, len));
        }
        /* Blank: ASCII space and the ideographic space U+3000. */
        if (cp != ' ' && cp != 0x3000)
            blank = false;
    }
    if (blank)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: name is empty", value_field_name(field));
    return 0;
}

static int value_check_enum(const pg_field *field, const char *s, size_t len)
{
    if (field->values) {
        for (const char *const *v = field->values; *v; v++) {
            if (strlen(*v) == len && memcmp(*v, s, len) == 0)
                return 0;
        }
    }

    /* List the allowed values, cut with "..." when long. */
    char list[200];
    size_t used = 0;
    list[0] = '\0';
    for (const char *const *v = field->values; v && *v; v++) {
        size_t room = sizeof(list) - 5 - used; /* keep room for ", ..." */
        int n = snprintf(list + used, room, "%s%s", used ? ", " : "", *v);
        if (n < 0 || (size_t)n >= room) {
            memcpy(list + used, used ? ", ..." : "...", used ? 6 : 4);
            break;
        }
        used += (size_t)n;
    }

    char ex[EXCERPT_SIZE];
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "field %s: \"%s\" is not one of: %s",
                        value_field_name(field), pg_excerpt(ex, s, len),
                        list[0] ? list : "(no values)");
}

static int value_check_division(const pg_field *field, const char *s,
                                size_t len)
{
    char code[PG_CODE_LEN + 1], out[PG_CODE_LEN + 1];

    if (len != PG_CODE_LEN) {
        char ex[EXCERPT_SIZE];
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: division code \"%s\": expected 12 "
                            "digits",
                            value_field_name(field), pg_excerpt(ex, s, len));
    }
    memcpy(code, s, len);
    code[len] = '\0';
    if (pg_division_parse(out, code) < 0)
        return value_field_error(field);
    return 0;
}

static int value_check_text(const pg_field *field, const pg_value *value)
{
    const char *s = value->s;
    size_t len = value->len;
    size_t limit = value_limit(field);
    int error;

    if (!s && len)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: text of %zu bytes has no data",
                            value_field_name(field), len);
    if (len > limit)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: %zu bytes exceeds the limit of %zu "
                            "bytes",
                            value_field_name(field), len, limit);
    size_t bad = utf8_bad_offset((const unsigned char *)s, len);
    if (bad < len)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: invalid UTF-8 at byte %zu (0x%02x)",
                            value_field_name(field), bad,
                            (unsigned)(unsigned char)s[bad]);
    if ((error = value_check_chars(field, s, len)) < 0)
        return error;

    switch (field->type) {
    case PG_TYPE_NAME:
        return value_check_name(field, s, len);
    case PG_TYPE_ENUM:
        return value_check_enum(field, s, len);
    case PG_TYPE_DIVISION:
        return value_check_division(field, s, len);
    case PG_TYPE_ID_NUMBER:
        if (pg_id_number_check(s, len) < 0)
            return value_field_error(field);
        return 0;
    case PG_TYPE_PHONE:
        if (pg_phone_check(s, len) < 0)
            return value_field_error(field);
        return 0;
    default:
        return 0;
    }
}

int pg_value_check(const struct pg_field *field, const pg_value *value)
{
    PG_ASSERT_ARG(field);
    PG_ASSERT_ARG(value);

    if (value->kind == PG_VALUE_ABSENT)
        return 0;

    pg_value_kind want = pg_type_kind(field->type);
    if (want == PG_VALUE_ABSENT)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: unknown type %d",
                            value_field_name(field), (int)field->type);
    if (value->kind != want)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: a %s value cannot hold a %s",
                            value_field_name(field), pg_type_name(field->type),
                            value_kind_name(value->kind));

    switch (want) {
    case PG_VALUE_REAL:
        if (!isfinite(value->r))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "field %s: %g is not a finite number",
                                value_field_name(field), value->r);
        return 0;
    case PG_VALUE_TEXT:
        return value_check_text(field, value);
    default:
        return 0;
    }
}

/* ---- parsing text ----------------------------------------------------- */

static int value_parse_int(int64_t *out, const pg_field *field,
                           const char *input)
{
    char ex[EXCERPT_SIZE];
    const char *p = input + (input[0] == '+' || input[0] == '-');
    char *end;

    /* strtoll would skip leading blanks and accept an empty digit run. */
    if (*p < '0' || *p > '9')
        goto bad;
    errno = 0;
    long long v = strtoll(input, &end, 10);
    if (*end != '\0')
        goto bad;
    if (errno == ERANGE)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: %s is out of range for a 64-bit "
                            "integer",
                            value_field_name(field),
                            pg_excerpt(ex, input, strlen(input)));
    *out = v;
    return 0;

bad:
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "field %s: \"%s\" is not a decimal integer",
                        value_field_name(field),
                        pg_excerpt(ex, input, strlen(input)));
}

static int value_parse_real(double *out, const pg_field *field,
                            const char *input)
{
    char ex[EXCERPT_SIZE];
    char *end;

    errno = 0;
    double r = strtod(input, &end);
    if (end == input || *end != '\0')
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: \"%s\" is not a number",
                            value_field_name(field),
                            pg_excerpt(ex, input, strlen(input)));
    if (!isfinite(r))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: \"%s\" is not a finite number",
                            value_field_name(field),
                            pg_excerpt(ex, input, strlen(input)));
    /* strtod also takes blanks, hex and "infinity"; we want decimal only. */
    if (strspn(input, "0123456789+-.eE") != strlen(input))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: \"%s\" is not a decimal number",
                            value_field_name(field),
                            pg_excerpt(ex, input, strlen(input)));
    *out = r == 0 ? 0.0 : r; /* -0 becomes +0 */
    return 0;
}

int pg_value_parse(pg_value *out, char **text_out, const struct pg_field *field,
                   const char *input)
{
    char ex[EXCERPT_SIZE];
    char *text = NULL;
    pg_value v = {PG_VALUE_ABSENT, 0, 0.0, false, NULL, 0};
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(text_out);
    PG_ASSERT_ARG(field);
    PG_ASSERT_ARG(input);

    *out = v;
    *text_out = NULL;
    if (input[0] == '\0')
        return 0;

    switch (pg_type_kind(field->type)) {
    case PG_VALUE_INT:
        v.kind = PG_VALUE_INT;
        if (field->type == PG_TYPE_TIME) {
            if (pg_time_parse(&v.i, input) < 0)
                return value_field_error(field);
        } else if ((error = value_parse_int(&v.i, field, input)) < 0) {
            return error;
        }
        break;
    case PG_VALUE_REAL:
        v.kind = PG_VALUE_REAL;
        if ((error = value_parse_real(&v.r, field, input)) < 0)
            return error;
        break;
    case PG_VALUE_BOOL:
        v.kind = PG_VALUE_BOOL;
        if (strcmp(input, "true") == 0)
            v.b = true;
        else if (strcmp(input, "false") == 0)
            v.b = false;
        else
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "field %s: \"%s\" is not true or false",
                                value_field_name(field),
                                pg_excerpt(ex, input, strlen(input)));
        break;
    case PG_VALUE_TEXT: {
        size_t len = strlen(input);
        if (!(text = malloc(len + 1)))
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory copying %zu bytes of field %s",
                                len, value_field_name(field));
        memcpy(text, input, len + 1);
        /* GB 11643 writes the check character as upper-case X. */
        if (field->type == PG_TYPE_ID_NUMBER && len && text[len - 1] == 'x')
            text[len - 1] = 'X';
        v.kind = PG_VALUE_TEXT;
        v.s = text;
        v.len = len;
        break;
    }
    default:
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: unknown type %d",
                            value_field_name(field), (int)field->type);
    }

    if ((error = pg_value_check(field, &v)) < 0) {
        free(text);
        return error;
    }
    *out = v;
    *text_out = text;
    return 0;
}

/* ---- encoding and equality -------------------------------------------- */

static int value_encode_into(pg_buf *out, const pg_value *value)
{
    int error;
    uint64_t bits;

    switch (value->kind) {
    case PG_VALUE_ABSENT:
        return pg_buf_putc(out, 0x00);
    case PG_VALUE_INT:
        if ((error = pg_buf_putc(out, 0x01)) < 0)
            return error;
        return pg_buf_put_u64be(out, (uint64_t)value->i);
    case PG_VALUE_REAL: {
        if (!isfinite(value->r))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "cannot encode the non-finite real %g",
                                value->r);
        double r = value->r == 0 ? 0.0 : value->r; /* -0 as +0 */
        memcpy(&bits, &r, sizeof(bits));
        if ((error = pg_buf_putc(out, 0x02)) < 0)
            return error;
        return pg_buf_put_u64be(out, bits);
    }
    case PG_VALUE_BOOL:
        if ((error = pg_buf_putc(out, 0x03)) < 0)
            return error;
        return pg_buf_putc(out, value->b ? 1 : 0);
    case PG_VALUE_TEXT:
        if (value->len > UINT32_MAX)
            return pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                                "text of %zu bytes is too long to encode",
                                value->len);
        if (!value->s && value->len)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "text of %zu bytes has no data", value->len);
        if ((error = pg_buf_putc(out, 0x04)) < 0 ||
            (error = pg_buf_put_u32be(out, (uint32_t)value->len)) < 0)
            return error;
        return pg_buf_put(out, value->s, value->len);
    }
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "cannot encode a value of unknown kind %d",
                        (int)value->kind);
}

int pg_value_encode(pg_buf *out, const pg_value *value)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(value);

    /* All or nothing: a failed encode leaves no partial value behind. */
    size_t mark = out->len;
    int error = value_encode_into(out, value);
    if (error < 0 && out->len > mark) {
        out->len = mark;
        out->data[mark] = 0;
    }
    return error;
}

bool pg_value_equal(const pg_value *a, const pg_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case PG_VALUE_ABSENT:
        return true;
    case PG_VALUE_INT:
        return a->i == b->i;
    case PG_VALUE_REAL:
        return a->r == b->r; /* -0 == +0 */
    case PG_VALUE_BOOL:
        return a->b == b->b;
    case PG_VALUE_TEXT:
        return a->len == b->len &&
               (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    }
    return false;
}

bool pg_label_valid(const char *s, size_t len)
{
    if (!pg_utf8_valid(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        /* U+0080..U+009F are encoded C2 80..C2 9F. */
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
            return false;
    }
    return true;
}
