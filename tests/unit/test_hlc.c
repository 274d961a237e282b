/*
 * Hybrid logical clock: packing, local ticks (including a wall clock that
 * goes backwards and counter overflow) and merging received clocks under
 * the drift bound.
 */
#include "testutil.h"

#include "pingan/hlc.h"

#define T0      INT64_C(1764122400000) /* 2025-11-26T10:00:00+08:00 */
#define HOUR_MS INT64_C(3600000)

static void test_hlc__packs_ms_above_a_16_bit_counter(void **state)
{
    (void)state;
    uint64_t h = PG_HLC_PACK(T0, 7);
    assert_true(h == (((uint64_t)T0 << 16) | 7));
    assert_true(PG_HLC_MS(h) == T0);
    assert_int_equal(PG_HLC_COUNTER(h), 7);
    assert_int_equal(PG_HLC_COUNTER(PG_HLC_PACK(T0, 0x1ffff)), 0xffff);
}

static void test_hlc__tick_takes_the_wall_clock_when_ahead(void **state)
{
    (void)state;
    assert_true(pg_hlc_tick(0, T0) == PG_HLC_PACK(T0, 0));
    assert_true(pg_hlc_tick(PG_HLC_PACK(T0, 5), T0 + 1) ==
                PG_HLC_PACK(T0 + 1, 0));
}

static void test_hlc__tick_counts_within_one_millisecond(void **state)
{
    (void)state;
    uint64_t h = pg_hlc_tick(0, T0);
    for (unsigned i = 1; i <= 1000; i++) {
        uint64_t next = pg_hlc_tick(h, T0);
        assert_true(next > h);
        assert_true(PG_HLC_MS(next) == T0);
        assert_int_equal(PG_HLC_COUNTER(next), i);
        h = next;
    }
}

static void
test_hlc__clock_never_decreases_when_wall_goes_backwards(void **state)
{
    (void)state;
    uint64_t h = pg_hlc_tick(0, T0);
    /* The wall clock steps back an hour (NTP, a CMOS battery), then
     * wanders. */
    const int64_t walls[] = {
        T0 - HOUR_MS, T0 - HOUR_MS + 1, T0 - 5, T0, T0 - 1,
        T0 + 1,       T0 + 1,           -1,     0,  T0 + 2};
    for (size_t i = 0; i < sizeof(walls) / sizeof(walls[0]); i++) {
        uint64_t next = pg_hlc_tick(h, walls[i]);
        assert_true(next > h);
        assert_true(PG_HLC_MS(next) >= PG_HLC_MS(h));
        h = next;
    }
    assert_true(PG_HLC_MS(h) == T0 + 2);
}

static void test_hlc__counter_overflow_moves_ms_on(void **state)
{
    (void)state;
    uint64_t h = PG_HLC_PACK(T0, 0xffff);
    uint64_t next = pg_hlc_tick(h, T0);
    assert_true(next > h);
    assert_true(PG_HLC_MS(next) == T0 + 1);
    assert_int_equal(PG_HLC_COUNTER(next), 0);

    /* 70,000 events in one millisecond borrow from the next one. */
    h = pg_hlc_tick(0, T0);
    for (unsigned i = 0; i < 70000; i++) {
        next = pg_hlc_tick(h, T0);
        assert_true(next > h);
        h = next;
    }
    assert_true(PG_HLC_MS(h) == T0 + 1);
    assert_int_equal(PG_HLC_COUNTER(h), 70000 - 65536);
    /* Once the wall clock passes the borrowed ms, it takes over again. */
    assert_true(pg_hlc_tick(h, T0 + 2) == PG_HLC_PACK(T0 + 2, 0));
}

static void
test_hlc__receive_of_slightly_ahead_clock_yields_greater(void **state)
{
    uint64_t out = 0;

    (void)state;
    uint64_t last = PG_HLC_PACK(T0, 3);
    uint64_t received = PG_HLC_PACK(T0 + 2000, 9); /* 2 s ahead */
    assert_true(pg_hlc_receive(&out, last, received, T0));
    assert_true(out > received);
    assert_true(out > last);
    assert_true(out == received + 1);

    /* Exactly at the drift bound is still accepted. */
    received = PG_HLC_PACK(T0 + PG_HLC_MAX_DRIFT_MS, 0);
    assert_true(pg_hlc_receive(&out, last, received, T0));
    assert_true(out > received);
}

static void test_hlc__receive_of_older_clock_still_ticks(void **state)
{
    uint64_t out = 0;

    (void)state;
    uint64_t last = PG_HLC_PACK(T0, 3);
    uint64_t received = PG_HLC_PACK(T0 - HOUR_MS, 0);
    assert_true(pg_hlc_receive(&out, last, received, T0));
    assert_true(out == last + 1);

    /* With the wall clock ahead of both, the wall clock wins. */
    assert_true(pg_hlc_receive(&out, last, received, T0 + 10));
    assert_true(out == PG_HLC_PACK(T0 + 10, 0));

    /* A received clock equal to ours still moves ours on. */
    assert_true(pg_hlc_receive(&out, last, last, T0));
    assert_true(out > last);
}

static void test_hlc__refuses_clock_two_hours_ahead(void **state)
{
    uint64_t out = 0;

    (void)state;
    uint64_t last = PG_HLC_PACK(T0, 3);
    uint64_t received = PG_HLC_PACK(T0 + 2 * HOUR_MS, 0);
    assert_false(pg_hlc_receive(&out, last, received, T0));
    assert_true(out == pg_hlc_tick(last, T0));
    assert_true(out > last);
    assert_true(PG_HLC_MS(out) <= T0 + PG_HLC_MAX_DRIFT_MS);

    /* Just past the bound is refused too. */
    received = PG_HLC_PACK(T0 + PG_HLC_MAX_DRIFT_MS + 1, 0);
    assert_false(pg_hlc_receive(&out, last, received, T0));
}

static void
test_hlc__received_clocks_never_push_more_than_five_minutes(void **state)
{
    (void)state;
    /* A stream of changes from a PC whose clock runs ahead: each accepted
     * one may push us at most to the bound, never to the PC's 2100. */
    uint64_t h = pg_hlc_tick(0, T0);
    const int64_t leads[] = {1000, 60000, PG_HLC_MAX_DRIFT_MS, 2 * HOUR_MS,
                             INT64_C(75) * 365 * 24 * HOUR_MS};
    for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++) {
        uint64_t out = 0;
        uint64_t received = PG_HLC_PACK(T0 + leads[i], 0);
        bool ok = pg_hlc_receive(&out, h, received, T0);
        assert_true(out > h);
        assert_true(ok == (leads[i] <= PG_HLC_MAX_DRIFT_MS));
        assert_true(PG_HLC_MS(out) <= T0 + PG_HLC_MAX_DRIFT_MS);
        h = out;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hlc__packs_ms_above_a_16_bit_counter),
        cmocka_unit_test(test_hlc__tick_takes_the_wall_clock_when_ahead),
        cmocka_unit_test(test_hlc__tick_counts_within_one_millisecond),
        cmocka_unit_test(
            test_hlc__clock_never_decreases_when_wall_goes_backwards),
        cmocka_unit_test(test_hlc__counter_overflow_moves_ms_on),
        cmocka_unit_test(
            test_hlc__receive_of_slightly_ahead_clock_yields_greater),
        cmocka_unit_test(test_hlc__receive_of_older_clock_still_ticks),
        cmocka_unit_test(test_hlc__refuses_clock_two_hours_ahead),
        cmocka_unit_test(
            test_hlc__received_clocks_never_push_more_than_five_minutes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
