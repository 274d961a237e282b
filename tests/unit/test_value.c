/*
 * Field values: type names and kinds, parsing of every type, every
 * validation rule of pg_value_check (UTF-8, control characters, limits,
 * names, enums, divisions, ID numbers, phone numbers), time parsing and
 * formatting, and the canonical encoding bytes, which are pinned because
 * the txn digest depends on them.
 */
#include "testutil.h"

#include "pingan/buf.h"
#include "pingan/schema.h"
#include "pingan/value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fields built here, not taken from the schema (it is data, and changes). */
#define FIELD(name, type, values, max)                                         \
    {                                                                          \
        name, name, type, PG_PRIVACY_INTERNAL, PG_MERGE_LWW, false, values,    \
            max, 1                                                             \
    }

static const char *const status_values[] = {"open", "in_progress", "closed",
                                            NULL};
static const char *const long_values[] = {"alpha_value_number_one",
                                          "bravo_value_number_two",
                                          "charlie_value_number_three",
                                          "delta_value_number_four",
                                          "echo_value_number_five",
                                          "foxtrot_value_number_six",
                                          "golf_value_number_seven",
                                          "hotel_value_number_eight",
                                          "india_value_number_nine",
                                          "juliet_value_number_ten",
                                          NULL};

static const pg_field f_text = FIELD("note", PG_TYPE_TEXT, NULL, 0);
static const pg_field f_short_text = FIELD("code", PG_TYPE_TEXT, NULL, 10);
static const pg_field f_int = FIELD("count", PG_TYPE_INT, NULL, 0);
static const pg_field f_real = FIELD("area", PG_TYPE_REAL, NULL, 0);
static const pg_field f_bool = FIELD("cross_region", PG_TYPE_BOOL, NULL, 0);
static const pg_field f_time = FIELD("when", PG_TYPE_TIME, NULL, 0);
static const pg_field f_enum = FIELD("status", PG_TYPE_ENUM, status_values, 0);
static const pg_field f_long_enum = FIELD("kind", PG_TYPE_ENUM, long_values, 0);
static const pg_field f_division = FIELD("division", PG_TYPE_DIVISION, NULL, 0);
static const pg_field f_id = FIELD("id_number", PG_TYPE_ID_NUMBER, NULL, 0);
static const pg_field f_phone = FIELD("phone", PG_TYPE_PHONE, NULL, 0);
static const pg_field f_name = FIELD("name", PG_TYPE_NAME, NULL, 0);
static const pg_field f_address = FIELD("address", PG_TYPE_ADDRESS, NULL, 0);
static const pg_field f_counter = FIELD("points", PG_TYPE_COUNTER, NULL, 0);
static const pg_field f_unknown = FIELD("odd", (pg_type)99, NULL, 0);

static const pg_field f_required = {
    "title", "标题", PG_TYPE_TEXT, PG_PRIVACY_PUBLIC, PG_MERGE_LWW, true, NULL,
    0,       1};

/* ---- helpers ------------------------------------------------------------ */

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

/* Parse text that must succeed; the caller frees *text. */
static pg_value parse_ok(const pg_field *field, const char *input, char **text)
{
    pg_value v;

    assert_pg_ok(pg_value_parse(&v, text, field, input));
    return v;
}

static void assert_parse_refused(const pg_field *field, const char *input)
{
    pg_value v;
    char *text = (char *)"unset";

    assert_pg_fails(PG_EINVALID, pg_value_parse(&v, &text, field, input));
    assert_null(text);
}

static pg_value text_value(const char *s, size_t len)
{
    pg_value v = {PG_VALUE_TEXT, 0, 0.0, false, s, len};
    return v;
}

static pg_value int_value(int64_t i)
{
    pg_value v = {PG_VALUE_INT, i, 0.0, false, NULL, 0};
    return v;
}

static pg_value real_value(double r)
{
    pg_value v = {PG_VALUE_REAL, 0, r, false, NULL, 0};
    return v;
}

static pg_value bool_value(bool b)
{
    pg_value v = {PG_VALUE_BOOL, 0, 0.0, b, NULL, 0};
    return v;
}

static void assert_text_refused(const pg_field *field, const char *s,
                                size_t len)
{
    pg_value v = text_value(s, len);
    assert_pg_fails(PG_EINVALID, pg_value_check(field, &v));
}

static void assert_text_accepted(const pg_field *field, const char *s,
                                 size_t len)
{
    pg_value v = text_value(s, len);
    assert_pg_ok(pg_value_check(field, &v));
}

static void assert_encodes_to(const pg_value *v, const uint8_t *want,
                              size_t want_len)
{
    pg_buf buf = PG_BUF_INIT;

    assert_pg_ok(pg_value_encode(&buf, v));
    assert_int_equal(buf.len, want_len);
    assert_memory_equal(buf.data, want, want_len);
    pg_buf_dispose(&buf);
}

static int64_t time_ok(const char *s)
{
    int64_t ms = 0;
    assert_pg_ok(pg_time_parse(&ms, s));
    return ms;
}

static void assert_time_refused(const char *s)
{
    int64_t ms = 0;
    assert_pg_fails(PG_EINVALID, pg_time_parse(&ms, s));
}

static void assert_formats_to(int64_t ms, const char *want)
{
    char out[40];

    pg_time_format(out, ms);
    assert_string_equal(out, want);
}

/* ---- names and kinds ------------------------------------------------ */

static void test_value__names_every_type(void **state)
{
    (void)state;
    const char *names[] = {"text",  "int",  "real",     "bool",
                           "time",  "enum", "division", "id_number",
                           "phone", "name", "address",  "counter"};
    for (int t = PG_TYPE_TEXT; t <= PG_TYPE_COUNTER; t++)
        assert_string_equal(pg_type_name((pg_type)t), names[t - 1]);
    assert_string_equal(pg_type_name((pg_type)0), "?");
    assert_string_equal(pg_type_name((pg_type)13), "?");
}

static void test_value__maps_types_to_kinds(void **state)
{
    (void)state;
    assert_int_equal(pg_type_kind(PG_TYPE_INT), PG_VALUE_INT);
    assert_int_equal(pg_type_kind(PG_TYPE_TIME), PG_VALUE_INT);
    assert_int_equal(pg_type_kind(PG_TYPE_COUNTER), PG_VALUE_INT);
    assert_int_equal(pg_type_kind(PG_TYPE_REAL), PG_VALUE_REAL);
    assert_int_equal(pg_type_kind(PG_TYPE_BOOL), PG_VALUE_BOOL);
    assert_int_equal(pg_type_kind(PG_TYPE_TEXT), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind(PG_TYPE_ENUM), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind(PG_TYPE_DIVISION), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind(PG_TYPE_ID_NUMBER), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind(PG_TYPE_PHONE), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind(PG_TYPE_NAME), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind(PG_TYPE_ADDRESS), PG_VALUE_TEXT);
    assert_int_equal(pg_type_kind((pg_type)99), PG_VALUE_ABSENT);
}

/* ---- parsing ---------------------------------------------------------- */

static void test_value__parses_empty_string_as_absent(void **state)
{
    (void)state;
    const pg_field *fields[] = {&f_text, &f_int,  &f_real, &f_bool,
                                &f_time, &f_enum, &f_id,   &f_name};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char *text = (char *)"unset";
        pg_value v = parse_ok(fields[i], "", &text);
        assert_int_equal(v.kind, PG_VALUE_ABSENT);
        assert_null(text);
    }
}

static void test_value__parses_integers_in_range(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_int, "42", &text);
    assert_int_equal(v.kind, PG_VALUE_INT);
    assert_int_equal(v.i, 42);
    assert_null(text);
    assert_int_equal(parse_ok(&f_int, "-7", &text).i, -7);
    assert_int_equal(parse_ok(&f_int, "+5", &text).i, 5);
    assert_true(parse_ok(&f_int, "9223372036854775807", &text).i == INT64_MAX);
    assert_true(parse_ok(&f_int, "-9223372036854775808", &text).i == INT64_MIN);
}

static void test_value__rejects_integer_overflow(void **state)
{
    (void)state;
    assert_parse_refused(&f_int, "9223372036854775808");
    assert_message_has("out of range");
    assert_message_has("count");
    assert_parse_refused(&f_int, "-9223372036854775809");
    assert_parse_refused(&f_counter, "99999999999999999999999");
}

static void test_value__rejects_integer_with_junk(void **state)
{
    (void)state;
    assert_parse_refused(&f_int, "12abc");
    assert_message_has("12abc");
    assert_parse_refused(&f_int, " 1");
    assert_parse_refused(&f_int, "1 ");
    assert_parse_refused(&f_int, "0x10");
    assert_parse_refused(&f_int, "1.0");
    assert_parse_refused(&f_int, "-");
    assert_parse_refused(&f_int, "+");
    assert_parse_refused(&f_int, "--1");
    assert_parse_refused(&f_int, "one");
}

static void test_value__parses_negative_counter_increments(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_counter, "-3", &text);
    assert_int_equal(v.kind, PG_VALUE_INT);
    assert_int_equal(v.i, -3);
    assert_int_equal(parse_ok(&f_counter, "10", &text).i, 10);
    assert_parse_refused(&f_counter, "1.5");
}

static void test_value__parses_decimal_reals(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_real, "3.5", &text);
    assert_int_equal(v.kind, PG_VALUE_REAL);
    assert_true(v.r == 3.5);
    assert_true(parse_ok(&f_real, "-1e3", &text).r == -1000.0);
    assert_true(parse_ok(&f_real, ".25", &text).r == 0.25);
    assert_true(parse_ok(&f_real, "7", &text).r == 7.0);
}

static void test_value__normalises_negative_zero_real(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_real, "-0", &text);
    assert_true(v.r == 0.0);
    assert_false(signbit(v.r));
    v = parse_ok(&f_real, "-0.0e5", &text);
    assert_false(signbit(v.r));
}

static void test_value__rejects_non_finite_real_text(void **state)
{
    (void)state;
    assert_parse_refused(&f_real, "nan");
    assert_message_has("finite");
    assert_parse_refused(&f_real, "NaN");
    assert_parse_refused(&f_real, "inf");
    assert_parse_refused(&f_real, "-inf");
    assert_parse_refused(&f_real, "infinity");
    assert_parse_refused(&f_real, "1e400");
}

static void test_value__rejects_real_with_junk(void **state)
{
    (void)state;
    assert_parse_refused(&f_real, "1.5x");
    assert_parse_refused(&f_real, " 1.5");
    assert_parse_refused(&f_real, "0x1p3");
    assert_parse_refused(&f_real, "abc");
    assert_parse_refused(&f_real, ".");
    assert_parse_refused(&f_real, "1,5");
}

static void test_value__parses_bool_true_and_false_only(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_bool, "true", &text);
    assert_int_equal(v.kind, PG_VALUE_BOOL);
    assert_true(v.b);
    assert_false(parse_ok(&f_bool, "false", &text).b);
    assert_parse_refused(&f_bool, "yes");
    assert_message_has("yes");
    assert_parse_refused(&f_bool, "TRUE");
    assert_parse_refused(&f_bool, "1");
    assert_parse_refused(&f_bool, "true ");
}

static void test_value__parses_time_into_milliseconds(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_time, "2025-11-26T10:00:00+08:00", &text);
    assert_int_equal(v.kind, PG_VALUE_INT);
    assert_true(v.i == INT64_C(1764122400000));
    assert_null(text);
    assert_parse_refused(&f_time, "2025-11-26T10:00:00");
    assert_message_has("field when:");
    assert_message_has("offset");
}

static void test_value__copies_text_as_is(void **state)
{
    char *text = NULL;
    const char *input = " 楼道堆放杂物，\t需清理 ";

    (void)state;
    pg_value v = parse_ok(&f_text, input, &text);
    assert_int_equal(v.kind, PG_VALUE_TEXT);
    assert_non_null(text);
    assert_ptr_equal(v.s, text);
    assert_int_equal(v.len, strlen(input));
    assert_string_equal(text, input);
    assert_ptr_not_equal(text, input);
    free(text);
}

static void test_value__rejects_parse_of_unknown_type(void **state)
{
    (void)state;
    assert_parse_refused(&f_unknown, "x");
}

/* ---- time ------------------------------------------------------------- */

static void test_value__parses_iso_times_with_offsets(void **state)
{
    (void)state;
    assert_true(time_ok("2025-11-26T10:00:00+08:00") == INT64_C(1764122400000));
    assert_true(time_ok("2025-11-26T02:00:00Z") == INT64_C(1764122400000));
    assert_true(time_ok("2025-11-25T21:00:00-05:00") == INT64_C(1764122400000));
    assert_true(time_ok("2025-11-26T02:00:00.5Z") == INT64_C(1764122400500));
    assert_true(time_ok("2025-11-26T02:00:00.123Z") == INT64_C(1764122400123));
    assert_true(time_ok("2025-11-26T02:00:00.123999Z") ==
                INT64_C(1764122400123));
    assert_true(time_ok("1970-01-01T00:00:00Z") == 0);
    assert_true(time_ok("1970-01-01T08:00:00+08:00") == 0);
    assert_true(time_ok("1969-12-31T23:59:59.999Z") == -1);
    assert_true(time_ok("1900-01-01T00:00:00Z") == INT64_C(-2208988800000));
    assert_true(time_ok("2025-11-26T16:00:00+14:00") == INT64_C(1764122400000));
    assert_true(time_ok("2025-11-25T12:00:00-14:00") == INT64_C(1764122400000));
}

static void test_value__parses_integer_millisecond_times(void **state)
{
    (void)state;
    assert_true(time_ok("1764122400000") == INT64_C(1764122400000));
    assert_true(time_ok("0") == 0);
    assert_true(time_ok("-1000") == -1000);
    assert_time_refused("99999999999999999999");
    assert_time_refused("-");
    assert_time_refused("12 ");
}

static void test_value__rejects_time_without_offset(void **state)
{
    (void)state;
    assert_time_refused("2025-11-26T10:00:00");
    assert_message_has("2025-11-26T10:00:00");
    assert_time_refused("2025-11-26T10:00:00.123");
    assert_time_refused("2025-11-26");
}

static void test_value__rejects_malformed_times(void **state)
{
    (void)state;
    assert_time_refused("");
    assert_time_refused("2025-11-26 10:00:00+08:00");
    assert_time_refused("2025-11-26T10:00:00+0800");
    assert_time_refused("2025-11-26T10:00:00+8:00");
    assert_time_refused("2025-11-26T10:00:00.Z");
    assert_time_refused("2025-11-26T10:00:00.1234567890Z");
    assert_time_refused("2025-11-26T10:00Z");
    assert_time_refused("25-11-26T10:00:00Z");
    assert_time_refused("2025-11-26T10:00:00Zjunk");
    assert_time_refused("2025-11-26T10:00:00z");
    assert_time_refused("2025/11/26T10:00:00Z");
    assert_time_refused("now");
}

static void test_value__rejects_time_with_bad_month(void **state)
{
    (void)state;
    assert_time_refused("2025-13-01T00:00:00Z");
    assert_message_has("month 13");
    assert_time_refused("2025-00-01T00:00:00Z");
}

static void test_value__rejects_bad_day_of_month(void **state)
{
    (void)state;
    assert_time_refused("2025-04-31T00:00:00Z");
    assert_time_refused("2025-01-00T00:00:00Z");
    assert_time_refused("2025-01-32T00:00:00Z");
}

static void test_value__accepts_feb_29_only_in_leap_years(void **state)
{
    (void)state;
    assert_time_refused("2023-02-29T00:00:00Z");
    assert_message_has("day 29");
    assert_time_refused("1900-02-29T00:00:00Z");
    time_ok("2024-02-29T00:00:00Z");
    time_ok("2000-02-29T00:00:00Z");
}

static void test_value__rejects_bad_time_of_day(void **state)
{
    (void)state;
    assert_time_refused("2025-11-26T24:00:00Z");
    assert_time_refused("2025-11-26T10:60:00Z");
    assert_time_refused("2025-11-26T10:00:60Z");
    time_ok("2025-11-26T23:59:59Z");
}

static void test_value__rejects_offset_beyond_fourteen_hours(void **state)
{
    (void)state;
    assert_time_refused("2025-11-26T10:00:00+14:01");
    assert_message_has("+14:01");
    assert_time_refused("2025-11-26T10:00:00-14:01");
    assert_time_refused("2025-11-26T10:00:00+15:00");
    assert_time_refused("2025-11-26T10:00:00+05:60");
    time_ok("2025-11-26T10:00:00+05:45");
}

static void test_value__formats_time_in_china_standard_time(void **state)
{
    (void)state;
    assert_formats_to(INT64_C(1764122400000), "2025-11-26T10:00:00+08:00");
    assert_formats_to(INT64_C(1764122400123), "2025-11-26T10:00:00.123+08:00");
    assert_formats_to(INT64_C(1764122400007), "2025-11-26T10:00:00.007+08:00");
    assert_formats_to(0, "1970-01-01T08:00:00+08:00");
    assert_formats_to(INT64_C(1709164800000), "2024-02-29T08:00:00+08:00");
    /* 16:00 UTC is midnight in Beijing: the date rolls over. */
    assert_formats_to(INT64_C(1764172800000), "2025-11-27T00:00:00+08:00");
}

static void test_value__formats_times_before_1970(void **state)
{
    (void)state;
    assert_formats_to(-1, "1970-01-01T07:59:59.999+08:00");
    assert_formats_to(INT64_C(-28800000), "1970-01-01T00:00:00+08:00");
    assert_formats_to(INT64_C(-28800001), "1969-12-31T23:59:59.999+08:00");
    assert_formats_to(INT64_C(-2208988800000), "1900-01-01T08:00:00+08:00");
}

static void test_value__formats_extreme_times_without_overflow(void **state)
{
    char out[40];

    (void)state;
    pg_time_format(out, INT64_MAX);
    assert_true(strlen(out) < 40);
    pg_time_format(out, INT64_MIN);
    assert_true(strlen(out) < 40);
}

static void test_value__round_trips_formatted_times(void **state)
{
    const int64_t samples[] = {
        0,
        1,
        -1,
        999,
        INT64_C(1764122400000),
        INT64_C(1764122400123),
        INT64_C(-28800001),
        INT64_C(-2208988800000),
        INT64_C(951782400000),    /* 2000-02-29 */
        INT64_C(253402271999999), /* 9999-12-31T23:59:59.999+08:00 */
        INT64_C(-62135596800000), /* 0001-01-01T00:00:00Z */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char out[40];
        pg_time_format(out, samples[i]);
        assert_true(time_ok(out) == samples[i]);
    }
    /* And a sweep over many days, hours and milliseconds. */
    for (int64_t ms = INT64_C(-5000000000000); ms < INT64_C(5000000000000);
         ms += INT64_C(7777777777)) {
        char out[40];
        pg_time_format(out, ms);
        assert_true(time_ok(out) == ms);
    }
}

static void test_value__reads_the_wall_clock(void **state)
{
    (void)state;
    int64_t a = pg_time_now_ms();
    int64_t b = pg_time_now_ms();
    assert_true(a > INT64_C(1700000000000)); /* after 2023-11 */
    assert_true(b >= a);
}

/* ---- UTF-8, control characters and limits -------------------------- */

static void test_value__accepts_valid_utf8(void **state)
{
    (void)state;
    assert_true(pg_utf8_valid("", 0));
    assert_true(pg_utf8_valid(NULL, 0));
    assert_true(pg_utf8_valid("abc", 3));
    assert_true(pg_utf8_valid("张三", 6));
    assert_true(pg_utf8_valid("\xc2\x80", 2));         /* U+0080 */
    assert_true(pg_utf8_valid("\xe0\xa0\x80", 3));     /* U+0800 */
    assert_true(pg_utf8_valid("\xed\x9f\xbf", 3));     /* U+D7FF */
    assert_true(pg_utf8_valid("\xee\x80\x80", 3));     /* U+E000 */
    assert_true(pg_utf8_valid("\xef\xbf\xbf", 3));     /* U+FFFF */
    assert_true(pg_utf8_valid("\xf0\x9f\x98\x80", 4)); /* emoji */
    assert_true(pg_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
}

static void test_value__rejects_overlong_utf8(void **state)
{
    (void)state;
    assert_false(pg_utf8_valid("\xc0\x80", 2));
    assert_false(pg_utf8_valid("\xc1\xbf", 2));
    assert_false(pg_utf8_valid("\xe0\x80\x80", 3));
    assert_false(pg_utf8_valid("\xe0\x9f\xbf", 3));
    assert_false(pg_utf8_valid("\xf0\x80\x80\x80", 4));
    assert_false(pg_utf8_valid("\xf0\x8f\xbf\xbf", 4));
    assert_text_refused(&f_text, "a\xc0\x80", 3);
    assert_message_has("UTF-8");
}

static void test_value__rejects_utf8_surrogates(void **state)
{
    (void)state;
    assert_false(pg_utf8_valid("\xed\xa0\x80", 3));
    assert_false(pg_utf8_valid("\xed\xbf\xbf", 3));
    assert_text_refused(&f_text, "\xed\xa0\x80", 3);
}

static void test_value__rejects_utf8_beyond_u10ffff(void **state)
{
    (void)state;
    assert_false(pg_utf8_valid("\xf4\x90\x80\x80", 4));
    assert_false(pg_utf8_valid("\xf5\x80\x80\x80", 4));
    assert_false(pg_utf8_valid("\xf7\xbf\xbf\xbf", 4));
}

static void test_value__rejects_truncated_utf8(void **state)
{
    (void)state;
    assert_false(pg_utf8_valid("\xe5\xbc", 2));
    assert_false(pg_utf8_valid("\xe5", 1));
    assert_false(pg_utf8_valid("\xf0\x9f\x98", 3));
    assert_false(pg_utf8_valid("\xe5\xbc"
                               "a",
                               3));
    /* "张" cut short by the length, though the bytes go on. */
    assert_false(pg_utf8_valid("张", 2));
    assert_text_refused(&f_text, "\xe5\xbc", 2);
}

static void test_value__rejects_stray_utf8_bytes(void **state)
{
    (void)state;
    assert_false(pg_utf8_valid("\xff", 1));
    assert_false(pg_utf8_valid("\xfe", 1));
    assert_false(pg_utf8_valid("\x80", 1));
    assert_false(pg_utf8_valid("a\xbf"
                               "b",
                               3));
    assert_text_refused(&f_text, "\xff", 1);
    assert_parse_refused(&f_text, "ok\xff");
}

static void test_value__rejects_embedded_nul(void **state)
{
    (void)state;
    assert_false(pg_utf8_valid("a\0b", 3));
    assert_false(pg_utf8_valid("\0", 1));
    assert_text_refused(&f_text, "a\0b", 3);
    assert_text_refused(&f_name, "张\0三", 7);
}

static void test_value__allows_tabs_and_newlines_in_free_text(void **state)
{
    (void)state;
    const char *s = "line one\nline two\r\n\tindented";
    assert_text_accepted(&f_text, s, strlen(s));
}

static void test_value__rejects_control_characters_in_free_text(void **state)
{
    (void)state;
    assert_text_refused(&f_text, "bell\x07", 5);
    assert_message_has("U+0007");
    assert_text_refused(&f_text, "\x1b[31m", 5);
    assert_text_refused(&f_text, "del\x7f", 4);
}

static void
test_value__rejects_all_control_characters_in_short_text(void **state)
{
    (void)state;
    assert_text_refused(&f_name, "张\t三", 7);
    assert_text_refused(&f_address, "雨湖路\n12号", 15);
    assert_text_refused(&f_address, "a\rb", 3);
    assert_text_refused(&f_address,
                        "a\xc2\x85"
                        "b",
                        4); /* U+0085 NEL */
    assert_message_has("U+0085");
    assert_text_refused(&f_enum, "open\n", 5);
    assert_text_accepted(&f_address, "雨湖区雨湖路12号", 23);
}

static void test_value__accepts_text_of_exactly_the_limit(void **state)
{
    char *big = malloc(PG_TEXT_MAX + 1);

    (void)state;
    assert_non_null(big);
    memset(big, 'a', PG_TEXT_MAX + 1);
    assert_text_accepted(&f_text, big, PG_TEXT_MAX);
    assert_text_accepted(&f_address, big, PG_SHORT_MAX);
    assert_text_accepted(&f_short_text, big, 10);
    /* The limit is in bytes: three 3-byte characters fit in 9. */
    assert_text_accepted(&f_short_text, "张三李", 9);
    free(big);
}

static void test_value__rejects_text_one_byte_over_the_limit(void **state)
{
    char *big = malloc(PG_TEXT_MAX + 2);

    (void)state;
    assert_non_null(big);
    memset(big, 'a', PG_TEXT_MAX + 1);
    big[PG_TEXT_MAX + 1] = '\0';
    assert_text_refused(&f_text, big, PG_TEXT_MAX + 1);
    assert_message_has("8192");
    assert_parse_refused(&f_text, big);
    assert_text_refused(&f_address, big, PG_SHORT_MAX + 1);
    assert_message_has("256");
    assert_text_refused(&f_name, big, PG_SHORT_MAX + 1);
    assert_text_refused(&f_short_text, big, 11);
    assert_message_has("10 bytes");
    assert_text_refused(&f_short_text, "张三李四", 12);
    free(big);
}

/* ---- names ------------------------------------------------------------ */

static void test_value__accepts_person_names(void **state)
{
    char *text;

    (void)state;
    parse_ok(&f_name, "张三", &text);
    assert_string_equal(text, "张三");
    free(text);
    assert_text_accepted(&f_name, "欧阳娜娜", 12);
    assert_text_accepted(&f_name, "Mary Ann", 8);
    assert_text_accepted(&f_name, "阿卜杜·热合曼", strlen("阿卜杜·热合曼"));
}

static void test_value__rejects_names_with_digits(void **state)
{
    (void)state;
    assert_parse_refused(&f_name, "张3");
    assert_message_has("digit");
    assert_parse_refused(&f_name, "张３"); /* full-width three */
    assert_parse_refused(&f_name, "007");
}

static void test_value__rejects_blank_names(void **state)
{
    (void)state;
    assert_parse_refused(&f_name, "   ");
    assert_message_has("empty");
    assert_parse_refused(&f_name, "\xe3\x80\x80"); /* U+3000 */
    assert_text_refused(&f_name, "", 0);
}

/* ---- enums and divisions ------------------------------------------- */

static void test_value__accepts_enum_values_in_the_list(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_enum, "in_progress", &text);
    assert_int_equal(v.kind, PG_VALUE_TEXT);
    assert_int_equal(v.len, 11);
    free(text);
    assert_text_accepted(&f_enum, "closed", 6);
}

static void test_value__rejects_enum_value_not_in_list(void **state)
{
    (void)state;
    assert_parse_refused(&f_enum, "pending");
    assert_message_has("pending");
    assert_message_has("open, in_progress, closed");
    assert_parse_refused(&f_enum, "Open");
    assert_parse_refused(&f_enum, "open ");
    /* A prefix of a value is not the value. */
    assert_text_refused(&f_enum, "open", 3);
}

static void test_value__truncates_a_long_list_of_enum_values(void **state)
{
    (void)state;
    assert_parse_refused(&f_long_enum, "zulu");
    assert_message_has("alpha_value_number_one, bravo_value_number_two");
    assert_message_has("...");
    assert_true(strlen(pg_error_last()->message) < 300);
}

static void test_value__requires_twelve_digit_division_values(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_division, "430302001001", &text);
    assert_int_equal(v.len, 12);
    assert_string_equal(text, "430302001001");
    free(text);
    assert_parse_refused(&f_division, "430302");
    assert_message_has("12 digits");
    assert_parse_refused(&f_division, "430300001000");
    assert_message_has("field division:");
    assert_parse_refused(&f_division, "000000000000");
    assert_parse_refused(&f_division, "43030200100x");
}

/* ---- ID numbers ------------------------------------------------------- */

static const char *const valid_ids[] = {
    "11010519491231002X", "430302198503121230", "430321196207080040",
    "430381200101011018", "430382199308260020", "430304197802145679",
};

static void test_value__accepts_reference_id_numbers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_ids) / sizeof(valid_ids[0]); i++) {
        assert_pg_ok(pg_id_number_check(valid_ids[i], 18));
        char *text;
        pg_value v = parse_ok(&f_id, valid_ids[i], &text);
        assert_string_equal(text, valid_ids[i]);
        assert_int_equal(v.len, 18);
        free(text);
    }
    /* A leap day birth date. */
    assert_pg_ok(pg_id_number_check("430302200002291231", 18));
}

static void test_value__accepts_lowercase_x_and_normalises_it(void **state)
{
    char *text;

    (void)state;
    pg_value v = parse_ok(&f_id, "11010519491231002x", &text);
    assert_string_equal(text, "11010519491231002X");
    assert_memory_equal(v.s, "11010519491231002X", 18);
    free(text);
}

static void test_value__rejects_lowercase_x_in_a_typed_value(void **state)
{
    (void)state;
    /* Received values must already be canonical (the digest covers them). */
    assert_pg_fails(PG_EINVALID, pg_id_number_check("11010519491231002x", 18));
    assert_text_refused(&f_id, "11010519491231002x", 18);
}

static void test_value__rejects_id_number_with_bad_check_digit(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_id_number_check("430302198503121231", 18));
    assert_message_has(
        "ID number 430302198503121231: check character should be 0");
    assert_pg_fails(PG_EINVALID, pg_id_number_check("110105194912310020", 18));
    assert_message_has("should be X");
    assert_parse_refused(&f_id, "430302198503121231");
    assert_message_has("field id_number:");
}

static void
test_value__rejects_id_number_with_impossible_birth_date(void **state)
{
    (void)state;
    /* 1999-02-30, with a correct check character. */
    assert_pg_fails(PG_EINVALID, pg_id_number_check("430302199902301233", 18));
    assert_message_has("birth date 19990230");
    /* 1985 is not a leap year. */
    assert_pg_fails(PG_EINVALID, pg_id_number_check("430302198502291238", 18));
    assert_message_has("birth date 19850229");
}

static void test_value__rejects_id_number_born_in_the_future(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_id_number_check("430302209901011230", 18));
    assert_message_has("future");
}

static void test_value__rejects_id_number_born_before_1900(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_id_number_check("430302189912311233", 18));
    assert_message_has("1900");
}

static void test_value__rejects_id_number_of_wrong_length(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_id_number_check("43030219850312123", 17));
    assert_message_has("18 characters");
    assert_pg_fails(PG_EINVALID, pg_id_number_check("4303021985031212300", 19));
    /* A 15-digit legacy number is not a valid GB 11643-1999 number. */
    assert_pg_fails(PG_EINVALID, pg_id_number_check("430302850312123", 15));
    assert_parse_refused(&f_id, "43030219850312123");
}

static void test_value__rejects_id_number_with_letters(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_id_number_check("4303021985031A1230", 18));
    assert_message_has("character 14 should be a digit");
    assert_pg_fails(PG_EINVALID, pg_id_number_check("43030219850312123Y", 18));
    assert_message_has("check character");
}

static void test_value__rejects_id_number_without_a_province(void **state)
{
    (void)state;
    /* 99 is no province, though the check character is right. */
    assert_pg_fails(PG_EINVALID, pg_id_number_check("99030219850312123X", 18));
    assert_message_has("province");
}

/* ---- phone numbers ---------------------------------------------------- */

static void test_value__accepts_assigned_mobile_prefixes(void **state)
{
    const char *ok[] = {
        "13812345678",                               /* 移动 */
        "14712345678", "19812345678", "13012345678", /* 联通 */
        "16612345678", "13312345678",                /* 电信 */
        "19912345678", "19212345678",                /* 广电 */
        "17012345678", "16212345678", "16712345678", /* virtual */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_pg_ok(pg_phone_check(ok[i], 11));
    char *text;
    parse_ok(&f_phone, "13812345678", &text);
    assert_string_equal(text, "13812345678");
    free(text);
}

static void test_value__rejects_phone_with_unassigned_prefix(void **state)
{
    const char *bad[] = {"12012345678", "12912345678", "10012345678",
                         "14012345678", "15412345678", "17412345678",
                         "19412345678", "11012345678", "23812345678"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_pg_fails(PG_EINVALID, pg_phone_check(bad[i], 11));
    assert_message_has("prefix 238");
}

static void test_value__rejects_phone_of_ten_digits(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_phone_check("1381234567", 10));
    assert_message_has("11 digits");
    assert_parse_refused(&f_phone, "1381234567");
    assert_parse_refused(&f_phone, "138123456789");
    assert_parse_refused(&f_phone, "+8613812345678");
}

static void test_value__rejects_phone_with_letters(void **state)
{
    (void)state;
    assert_pg_fails(PG_EINVALID, pg_phone_check("1381234567a", 11));
    assert_message_has("not a digit");
    assert_parse_refused(&f_phone, "138-1234-567");
    assert_parse_refused(&f_phone, "138 1234 567");
}

/* ---- checking typed values ------------------------------------------ */

static void test_value__check_accepts_absent_even_when_required(void **state)
{
    pg_value absent = {PG_VALUE_ABSENT, 0, 0.0, false, NULL, 0};

    (void)state;
    assert_pg_ok(pg_value_check(&f_required, &absent));
    assert_pg_ok(pg_value_check(&f_id, &absent));
}

static void test_value__check_requires_the_kind_of_the_type(void **state)
{
    (void)state;
    pg_value i = int_value(5), r = real_value(1.5), b = bool_value(true);
    pg_value t = text_value("5", 1);

    assert_pg_ok(pg_value_check(&f_int, &i));
    assert_pg_ok(pg_value_check(&f_time, &i));
    assert_pg_ok(pg_value_check(&f_counter, &i));
    assert_pg_ok(pg_value_check(&f_real, &r));
    assert_pg_ok(pg_value_check(&f_bool, &b));
    assert_pg_ok(pg_value_check(&f_text, &t));

    assert_pg_fails(PG_EINVALID, pg_value_check(&f_int, &t));
    assert_message_has("count");
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_int, &r));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_time, &r));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_real, &i));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_bool, &i));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_text, &i));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_enum, &b));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_unknown, &t));
}

static void test_value__check_rejects_non_finite_reals(void **state)
{
    (void)state;
    pg_value nan = real_value(NAN), inf = real_value(INFINITY);
    pg_value ninf = real_value(-INFINITY), nzero = real_value(-0.0);

    assert_pg_fails(PG_EINVALID, pg_value_check(&f_real, &nan));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_real, &inf));
    assert_pg_fails(PG_EINVALID, pg_value_check(&f_real, &ninf));
    assert_pg_ok(pg_value_check(&f_real, &nzero));
}

static void test_value__check_rejects_text_without_bytes(void **state)
{
    (void)state;
    assert_text_refused(&f_text, NULL, 3);
    assert_text_accepted(&f_text, NULL, 0);
}

static void test_value__check_applies_type_rules_to_typed_text(void **state)
{
    (void)state;
    assert_text_refused(&f_id, "430302198503121231", 18);
    assert_text_accepted(&f_id, "430302198503121230", 18);
    assert_text_refused(&f_phone, "12012345678", 11);
    assert_text_accepted(&f_phone, "13812345678", 11);
    assert_text_refused(&f_division, "430302", 6);
    /* Not NUL-terminated: only len bytes count. */
    assert_text_accepted(&f_division, "430302001001999", 12);
}

/* ---- encoding --------------------------------------------------------- */

static void test_value__encodes_absent_as_one_zero_byte(void **state)
{
    pg_value v = {PG_VALUE_ABSENT, 0, 0.0, false, NULL, 0};
    const uint8_t want[] = {0x00};

    (void)state;
    assert_encodes_to(&v, want, sizeof(want));
}

static void test_value__encodes_ints_as_big_endian_twos_complement(void **state)
{
    (void)state;
    pg_value one = int_value(1), minus_one = int_value(-1);
    pg_value min = int_value(INT64_MIN), ms = int_value(1764122400000);
    const uint8_t want_one[] = {0x01, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t want_minus_one[] = {0x01, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff};
    const uint8_t want_min[] = {0x01, 0x80, 0, 0, 0, 0, 0, 0, 0};
    /* 1764122400000 = 0x19ABDE39500 */
    const uint8_t want_ms[] = {0x01, 0x00, 0x00, 0x01, 0x9a,
                               0xbd, 0xe3, 0x95, 0x00};

    assert_encodes_to(&one, want_one, sizeof(want_one));
    assert_encodes_to(&minus_one, want_minus_one, sizeof(want_minus_one));
    assert_encodes_to(&min, want_min, sizeof(want_min));
    assert_encodes_to(&ms, want_ms, sizeof(want_ms));
}

static void test_value__encodes_reals_as_binary64(void **state)
{
    (void)state;
    pg_value one = real_value(1.0), half = real_value(-0.5);
    const uint8_t want_one[] = {0x02, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    const uint8_t want_half[] = {0x02, 0xbf, 0xe0, 0, 0, 0, 0, 0, 0};

    assert_encodes_to(&one, want_one, sizeof(want_one));
    assert_encodes_to(&half, want_half, sizeof(want_half));
}

static void test_value__encodes_negative_zero_as_positive_zero(void **state)
{
    (void)state;
    pg_value nzero = real_value(-0.0), zero = real_value(0.0);
    const uint8_t want[] = {0x02, 0, 0, 0, 0, 0, 0, 0, 0};

    assert_encodes_to(&nzero, want, sizeof(want));
    assert_encodes_to(&zero, want, sizeof(want));
}

static void test_value__refuses_to_encode_non_finite_reals(void **state)
{
    pg_buf buf = PG_BUF_INIT;

    (void)state;
    pg_value nan = real_value(NAN), inf = real_value(-INFINITY);
    pg_value one = int_value(1);
    assert_pg_ok(pg_value_encode(&buf, &one));
    assert_pg_fails(PG_EINVALID, pg_value_encode(&buf, &nan));
    assert_pg_fails(PG_EINVALID, pg_value_encode(&buf, &inf));
    assert_int_equal(buf.len, 9); /* nothing appended */
    pg_buf_dispose(&buf);
}

static void test_value__encodes_bools_as_one_byte(void **state)
{
    (void)state;
    pg_value t = bool_value(true), f = bool_value(false);
    const uint8_t want_t[] = {0x03, 0x01};
    const uint8_t want_f[] = {0x03, 0x00};

    assert_encodes_to(&t, want_t, sizeof(want_t));
    assert_encodes_to(&f, want_f, sizeof(want_f));
}

static void test_value__encodes_text_with_a_length(void **state)
{
    (void)state;
    pg_value zhang = text_value("张", 3), empty = text_value("", 0);
    pg_value cut = text_value("abcdef", 2);
    const uint8_t want_zhang[] = {0x04, 0, 0, 0, 3, 0xe5, 0xbc, 0xa0};
    const uint8_t want_empty[] = {0x04, 0, 0, 0, 0};
    const uint8_t want_cut[] = {0x04, 0, 0, 0, 2, 'a', 'b'};

    assert_encodes_to(&zhang, want_zhang, sizeof(want_zhang));
    assert_encodes_to(&empty, want_empty, sizeof(want_empty));
    assert_encodes_to(&cut, want_cut, sizeof(want_cut));
}

static void test_value__appends_encodings_back_to_back(void **state)
{
    pg_buf buf = PG_BUF_INIT;
    const uint8_t want[] = {0x03, 0x01, 0x00, 0x04, 0, 0, 0, 1, 'x'};

    (void)state;
    pg_value b = bool_value(true), x = text_value("x", 1);
    pg_value absent = {PG_VALUE_ABSENT, 0, 0.0, false, NULL, 0};
    assert_pg_ok(pg_value_encode(&buf, &b));
    assert_pg_ok(pg_value_encode(&buf, &absent));
    assert_pg_ok(pg_value_encode(&buf, &x));
    assert_int_equal(buf.len, sizeof(want));
    assert_memory_equal(buf.data, want, sizeof(want));
    pg_buf_dispose(&buf);
}

static void test_value__leaves_no_partial_encoding_at_the_limit(void **state)
{
    pg_buf buf;

    (void)state;
    pg_buf_init(&buf, 4);
    pg_value i = int_value(7), t = text_value("abcd", 4);
    assert_pg_fails(PG_ELIMIT, pg_value_encode(&buf, &i));
    assert_int_equal(buf.len, 0);
    assert_pg_fails(PG_ELIMIT, pg_value_encode(&buf, &t));
    assert_int_equal(buf.len, 0);
    pg_buf_dispose(&buf);
}

/* ---- equality --------------------------------------------------------- */

static void test_value__compares_values_by_kind_and_contents(void **state)
{
    (void)state;
    pg_value absent = {PG_VALUE_ABSENT, 0, 0.0, false, NULL, 0};
    pg_value absent2 = {PG_VALUE_ABSENT, 5, 1.0, true, "x", 1};
    pg_value i1 = int_value(1), i1b = int_value(1), i2 = int_value(2);
    pg_value b1 = bool_value(true), b0 = bool_value(false);
    char buf[] = "张三";
    pg_value t1 = text_value("张三", 6), t2 = text_value(buf, 6);
    pg_value t3 = text_value("张三", 3), empty1 = text_value(NULL, 0);
    pg_value empty2 = text_value("", 0);

    assert_true(pg_value_equal(&absent, &absent2));
    assert_true(pg_value_equal(&i1, &i1b));
    assert_false(pg_value_equal(&i1, &i2));
    assert_false(pg_value_equal(&i1, &b1));
    assert_false(pg_value_equal(&absent, &i1));
    assert_true(pg_value_equal(&b1, &b1));
    assert_false(pg_value_equal(&b1, &b0));
    assert_true(pg_value_equal(&t1, &t2));
    assert_false(pg_value_equal(&t1, &t3));
    assert_true(pg_value_equal(&empty1, &empty2));
}

static void test_value__treats_negative_zero_as_equal_to_zero(void **state)
{
    (void)state;
    pg_value nzero = real_value(-0.0), zero = real_value(0.0);
    pg_value half = real_value(0.5);

    assert_true(pg_value_equal(&nzero, &zero));
    assert_false(pg_value_equal(&zero, &half));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value__names_every_type),
        cmocka_unit_test(test_value__maps_types_to_kinds),
        cmocka_unit_test(test_value__parses_empty_string_as_absent),
        cmocka_unit_test(test_value__parses_integers_in_range),
        cmocka_unit_test(test_value__rejects_integer_overflow),
        cmocka_unit_test(test_value__rejects_integer_with_junk),
        cmocka_unit_test(test_value__parses_negative_counter_increments),
        cmocka_unit_test(test_value__parses_decimal_reals),
        cmocka_unit_test(test_value__normalises_negative_zero_real),
        cmocka_unit_test(test_value__rejects_non_finite_real_text),
        cmocka_unit_test(test_value__rejects_real_with_junk),
        cmocka_unit_test(test_value__parses_bool_true_and_false_only),
        cmocka_unit_test(test_value__parses_time_into_milliseconds),
        cmocka_unit_test(test_value__copies_text_as_is),
        cmocka_unit_test(test_value__rejects_parse_of_unknown_type),
        cmocka_unit_test(test_value__parses_iso_times_with_offsets),
        cmocka_unit_test(test_value__parses_integer_millisecond_times),
        cmocka_unit_test(test_value__rejects_time_without_offset),
        cmocka_unit_test(test_value__rejects_malformed_times),
        cmocka_unit_test(test_value__rejects_time_with_bad_month),
        cmocka_unit_test(test_value__rejects_bad_day_of_month),
        cmocka_unit_test(test_value__accepts_feb_29_only_in_leap_years),
        cmocka_unit_test(test_value__rejects_bad_time_of_day),
        cmocka_unit_test(test_value__rejects_offset_beyond_fourteen_hours),
        cmocka_unit_test(test_value__formats_time_in_china_standard_time),
        cmocka_unit_test(test_value__formats_times_before_1970),
        cmocka_unit_test(test_value__formats_extreme_times_without_overflow),
        cmocka_unit_test(test_value__round_trips_formatted_times),
        cmocka_unit_test(test_value__reads_the_wall_clock),
        cmocka_unit_test(test_value__accepts_valid_utf8),
        cmocka_unit_test(test_value__rejects_overlong_utf8),
        cmocka_unit_test(test_value__rejects_utf8_surrogates),
        cmocka_unit_test(test_value__rejects_utf8_beyond_u10ffff),
        cmocka_unit_test(test_value__rejects_truncated_utf8),
        cmocka_unit_test(test_value__rejects_stray_utf8_bytes),
        cmocka_unit_test(test_value__rejects_embedded_nul),
        cmocka_unit_test(test_value__allows_tabs_and_newlines_in_free_text),
        cmocka_unit_test(test_value__rejects_control_characters_in_free_text),
        cmocka_unit_test(
            test_value__rejects_all_control_characters_in_short_text),
        cmocka_unit_test(test_value__accepts_text_of_exactly_the_limit),
        cmocka_unit_test(test_value__rejects_text_one_byte_over_the_limit),
        cmocka_unit_test(test_value__accepts_person_names),
        cmocka_unit_test(test_value__rejects_names_with_digits),
        cmocka_unit_test(test_value__rejects_blank_names),
        cmocka_unit_test(test_value__accepts_enum_values_in_the_list),
        cmocka_unit_test(test_value__rejects_enum_value_not_in_list),
        cmocka_unit_test(test_value__truncates_a_long_list_of_enum_values),
        cmocka_unit_test(test_value__requires_twelve_digit_division_values),
        cmocka_unit_test(test_value__accepts_reference_id_numbers),
        cmocka_unit_test(test_value__accepts_lowercase_x_and_normalises_it),
        cmocka_unit_test(test_value__rejects_lowercase_x_in_a_typed_value),
        cmocka_unit_test(test_value__rejects_id_number_with_bad_check_digit),
        cmocka_unit_test(
            test_value__rejects_id_number_with_impossible_birth_date),
        cmocka_unit_test(test_value__rejects_id_number_born_in_the_future),
        cmocka_unit_test(test_value__rejects_id_number_born_before_1900),
        cmocka_unit_test(test_value__rejects_id_number_of_wrong_length),
        cmocka_unit_test(test_value__rejects_id_number_with_letters),
        cmocka_unit_test(test_value__rejects_id_number_without_a_province),
        cmocka_unit_test(test_value__accepts_assigned_mobile_prefixes),
        cmocka_unit_test(test_value__rejects_phone_with_unassigned_prefix),
        cmocka_unit_test(test_value__rejects_phone_of_ten_digits),
        cmocka_unit_test(test_value__rejects_phone_with_letters),
        cmocka_unit_test(test_value__check_accepts_absent_even_when_required),
        cmocka_unit_test(test_value__check_requires_the_kind_of_the_type),
        cmocka_unit_test(test_value__check_rejects_non_finite_reals),
        cmocka_unit_test(test_value__check_rejects_text_without_bytes),
        cmocka_unit_test(test_value__check_applies_type_rules_to_typed_text),
        cmocka_unit_test(test_value__encodes_absent_as_one_zero_byte),
        cmocka_unit_test(
            test_value__encodes_ints_as_big_endian_twos_complement),
        cmocka_unit_test(test_value__encodes_reals_as_binary64),
        cmocka_unit_test(test_value__encodes_negative_zero_as_positive_zero),
        cmocka_unit_test(test_value__refuses_to_encode_non_finite_reals),
        cmocka_unit_test(test_value__encodes_bools_as_one_byte),
        cmocka_unit_test(test_value__encodes_text_with_a_length),
        cmocka_unit_test(test_value__appends_encodings_back_to_back),
        cmocka_unit_test(test_value__leaves_no_partial_encoding_at_the_limit),
        cmocka_unit_test(test_value__compares_values_by_kind_and_contents),
        cmocka_unit_test(test_value__treats_negative_zero_as_equal_to_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
