/*
 * Hybrid logical clock, packed in 64 bits: (wall-clock ms << 16) | counter.
 *
 * Packing the counter below the milliseconds makes the clock one unsigned
 * integer that compares, sorts and travels as a plain u64, and makes "one
 * more than last" the right successor: when the 16-bit counter overflows
 * the carry moves the ms part on by one, so a burst of more than 65,536
 * events in a millisecond borrows from the next millisecond rather than
 * wrapping.
 *
 * The two rules (Kulkarni et al., "Logical Physical Clocks"):
 *
 *     tick(last, wall)         (wall, 0) if wall > ms(last), else last + 1
 *     receive(last, r, wall)   tick(max(last, r), wall), unless ms(r) is
 *                              more than PG_HLC_MAX_DRIFT_MS past wall
 *
 * Both results are strictly greater than every clock they were given, so
 * a wall clock that steps backwards (NTP, a dead CMOS battery) never makes
 * the clock go backwards.  The drift bound stops one PC whose clock says
 * 2100 from dragging every node it talks to into 2100: such a clock is
 * refused here and the txn carrying it is held pending by the caller.
 */
#include "pingan/hlc.h"

uint64_t pg_hlc_tick(uint64_t last, int64_t wall_ms)
{
    if (wall_ms > PG_HLC_MS(last))
        return PG_HLC_PACK(wall_ms, 0);
    return last + 1;
}

bool pg_hlc_receive(uint64_t *out, uint64_t last, uint64_t received,
                    int64_t wall_ms)
{
    /* wall_ms + drift, saturating: wall_ms is ours but need not be sane. */
    int64_t limit = wall_ms > INT64_MAX - PG_HLC_MAX_DRIFT_MS
                        ? INT64_MAX
                        : wall_ms + PG_HLC_MAX_DRIFT_MS;

    if (PG_HLC_MS(received) > limit) {
        *out = pg_hlc_tick(last, wall_ms);
        return false;
    }
    *out = pg_hlc_tick(received > last ? received : last, wall_ms);
    return true;
}
