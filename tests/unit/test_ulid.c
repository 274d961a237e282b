/*
 * ULIDs and record ids: encoding of the time part, monotonic generation
 * within a millisecond and across a wall clock that steps back, sorting,
 * validity, and parsing of `<code>-<ULID>` record ids.
 */
#include "testutil.h"

#include "pingan/crypto.h"
#include "pingan/ulid.h"

#include <stdlib.h>
#include <string.h>

#define T0 INT64_C(1764122400000)

static int ulid_setup(void **state)
{
    (void)state;
    return pg_crypto_init() < 0 ? -1 : 0;
}

static void test_ulid__makes_26_valid_characters(void **state)
{
    pg_ulid_gen gen = {0};
    char id[PG_ULID_LEN + 1];

    (void)state;
    pg_ulid_make(id, &gen, T0);
    assert_int_equal(strlen(id), PG_ULID_LEN);
    assert_true(pg_ulid_valid(id, strlen(id)));
}

static void test_ulid__encodes_time_in_the_first_ten_characters(void **state)
{
    pg_ulid_gen gen = {0};
    char id[PG_ULID_LEN + 1];

    (void)state;
    /* 1764122400000 = 0x19ABDE39500: in base32, 01KAYY7580. */
    pg_ulid_make(id, &gen, T0);
    assert_memory_equal(id, "01KAYY7580", 10);

    pg_ulid_gen gen0 = {0};
    pg_ulid_make(id, &gen0, 0);
    assert_memory_equal(id, "0000000000", 10);

    pg_ulid_gen genmax = {0};
    pg_ulid_make(id, &genmax, (INT64_C(1) << 48) - 1);
    assert_memory_equal(id, "7ZZZZZZZZZ", 10);
}

static void test_ulid__is_monotonic_within_one_millisecond(void **state)
{
    pg_ulid_gen gen = {0};
    char prev[PG_ULID_LEN + 1], id[PG_ULID_LEN + 1];

    (void)state;
    pg_ulid_make(prev, &gen, T0);
    for (int i = 0; i < 10000; i++) {
        pg_ulid_make(id, &gen, T0);
        assert_true(pg_ulid_valid(id, PG_ULID_LEN));
        assert_true(strcmp(id, prev) > 0);
        assert_memory_equal(id, prev, 10); /* same millisecond */
        memcpy(prev, id, sizeof(id));
    }
}

static void test_ulid__stays_monotonic_when_the_clock_steps_back(void **state)
{
    pg_ulid_gen gen = {0};
    char prev[PG_ULID_LEN + 1], id[PG_ULID_LEN + 1];
    const int64_t times[] = {T0, T0 - 3600000, T0 - 1, T0, T0 + 1, T0 + 1, 0};

    (void)state;
    pg_ulid_make(prev, &gen, T0);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        pg_ulid_make(id, &gen, times[i]);
        assert_true(strcmp(id, prev) > 0);
        memcpy(prev, id, sizeof(id));
    }
    assert_true(gen.last_ms == T0 + 1);
}

static void test_ulid__random_part_overflow_moves_ms_on(void **state)
{
    pg_ulid_gen gen = {0};
    char first[PG_ULID_LEN + 1], id[PG_ULID_LEN + 1];

    (void)state;
    pg_ulid_make(first, &gen, T0);
    memset(gen.last_rand, 0xff, sizeof(gen.last_rand));
    pg_ulid_make(id, &gen, T0);
    assert_true(gen.last_ms == T0 + 1);
    assert_true(strcmp(id, first) > 0);
    assert_true(pg_ulid_valid(id, PG_ULID_LEN));
}

static void test_ulid__sorts_by_time_across_generators(void **state)
{
    char ids[50][PG_ULID_LEN + 1];

    (void)state;
    /* Separate generators (separate nodes): time alone orders them. */
    for (int i = 0; i < 50; i++) {
        pg_ulid_gen gen = {0};
        pg_ulid_make(ids[i], &gen, T0 + i * 7);
    }
    for (int i = 1; i < 50; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) < 0);
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_ulid__sorting_text_keeps_generation_order(void **state)
{
    pg_ulid_gen gen = {0};
    char ids[200][PG_ULID_LEN + 1], sorted[200][PG_ULID_LEN + 1];

    (void)state;
    for (int i = 0; i < 200; i++)
        pg_ulid_make(ids[i], &gen, T0 + i / 10);
    memcpy(sorted, ids, sizeof(ids));
    qsort(sorted, 200, sizeof(sorted[0]), cmp_ids);
    assert_memory_equal(sorted, ids, sizeof(ids));
}

static void test_ulid__fresh_generators_differ(void **state)
{
    pg_ulid_gen a = {0}, b = {0};
    char ida[PG_ULID_LEN + 1], idb[PG_ULID_LEN + 1];

    (void)state;
    pg_ulid_make(ida, &a, T0);
    pg_ulid_make(idb, &b, T0);
    assert_string_not_equal(ida, idb);
}

static void test_ulid__validity_checks_length_alphabet_and_case(void **state)
{
    (void)state;
    assert_true(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQRS", 26));
    assert_true(pg_ulid_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    assert_true(pg_ulid_valid("00000000000000000000000000", 26));
    /* Too long for 128 bits. */
    assert_false(pg_ulid_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    /* Lengths. */
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQR", 25));
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQRST", 27));
    assert_false(pg_ulid_valid("", 0));
    assert_false(pg_ulid_valid(NULL, 26));
    /* Letters outside Crockford's alphabet, and lower case. */
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQRI", 26));
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQRL", 26));
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQRO", 26));
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQRU", 26));
    assert_false(pg_ulid_valid("01kaz3rn80abcdefghjkmnpqrs", 26));
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQR-", 26));
    /* An embedded NUL inside the length. */
    assert_false(pg_ulid_valid("01KAYY7580ABCDEFGHJKMNPQR\0", 26));
}

static void test_ulid__parses_record_ids(void **state)
{
    char creator[13];
    char id[PG_RECORD_ID_LEN + 1];
    pg_ulid_gen gen = {0};

    (void)state;
    assert_true(
        pg_record_id_valid("430302001001-01KAYY7580ABCDEFGHJKMNPQRS", creator));
    assert_string_equal(creator, "430302001001");
    assert_true(
        pg_record_id_valid("430300000000-01KAYY7580ABCDEFGHJKMNPQRS", NULL));

    /* A freshly made one. */
    memcpy(id, "430381100000-", 13);
    pg_ulid_make(id + 13, &gen, T0);
    assert_int_equal(strlen(id), PG_RECORD_ID_LEN);
    assert_true(pg_record_id_valid(id, creator));
    assert_string_equal(creator, "430381100000");
}

static void test_ulid__rejects_malformed_record_ids(void **state)
{
    char creator[13];

    (void)state;
    const char *bad[] = {
        "",
        "430302001001",
        "430302001001-",
        "430302001001_01KAYY7580ABCDEFGHJKMNPQRS",
        "430302-01KAYY7580ABCDEFGHJKMNPQRS",
        "430300001000-01KAYY7580ABCDEFGHJKMNPQRS", /* bad code */
        "000000000000-01KAYY7580ABCDEFGHJKMNPQRS",
        "43030200100a-01KAYY7580ABCDEFGHJKMNPQRS",
        "430302001001-01kaz3rn80abcdefghjkmnpqrs",
        "430302001001-81KAZ3RN80ABCDEFGHJKMNPQRS",
        "430302001001-01KAYY7580ABCDEFGHJKMNPQR",
        "430302001001-01KAYY7580ABCDEFGHJKMNPQRSX",
        " 430302001001-01KAYY7580ABCDEFGHJKMNPQR",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(creator, "unchanged!!!", 13);
        assert_false(pg_record_id_valid(bad[i], creator));
        assert_string_equal(creator, "");
    }
    assert_false(pg_record_id_valid(NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulid__makes_26_valid_characters),
        cmocka_unit_test(test_ulid__encodes_time_in_the_first_ten_characters),
        cmocka_unit_test(test_ulid__is_monotonic_within_one_millisecond),
        cmocka_unit_test(test_ulid__stays_monotonic_when_the_clock_steps_back),
        cmocka_unit_test(test_ulid__random_part_overflow_moves_ms_on),
        cmocka_unit_test(test_ulid__sorts_by_time_across_generators),
        cmocka_unit_test(test_ulid__sorting_text_keeps_generation_order),
        cmocka_unit_test(test_ulid__fresh_generators_differ),
        cmocka_unit_test(test_ulid__validity_checks_length_alphabet_and_case),
        cmocka_unit_test(test_ulid__parses_record_ids),
        cmocka_unit_test(test_ulid__rejects_malformed_record_ids),
    };
    return cmocka_run_group_tests(tests, ulid_setup, NULL);
}
