/**
 * @file pingan/hlc.h
 * @brief Hybrid logical clock packed in 64 bits: (wall ms << 16) | counter.
 *
 * The clock advances on every local write and every received change.  A
 * received clock never pushes the local one more than PG_HLC_MAX_DRIFT_MS
 * past the local wall clock.
 */
#ifndef PINGAN_HLC_H
#define PINGAN_HLC_H

#include <stdbool.h>
#include <stdint.h>

/** How far a received clock may push ours past our wall clock: 5 min. */
#define PG_HLC_MAX_DRIFT_MS (5 * 60 * 1000)

/** Beyond this lead over the wall clock a txn is held pending: 1 h. */
#define PG_HLC_PENDING_MS (60 * 60 * 1000)

/** Pack milliseconds and a counter. */
#define PG_HLC_PACK(ms, c) (((uint64_t)(ms) << 16) | ((uint64_t)(c)&0xffff))
/** The milliseconds part. */
#define PG_HLC_MS(h) ((int64_t)((uint64_t)(h) >> 16))
/** The counter part. */
#define PG_HLC_COUNTER(h) ((unsigned)((uint64_t)(h)&0xffff))

/**
 * Next clock for a local event.
 *
 * Returns max(last, wall) advanced so that it is strictly greater than
 * @p last: if the wall clock is ahead, (wall, 0); otherwise last + 1,
 * which moves the ms part on when the counter overflows.  A wall clock
 * that goes backwards never makes the clock go backwards.
 */
uint64_t pg_hlc_tick(uint64_t last, int64_t wall_ms);

/**
 * Merge a received clock into ours.
 *
 * @param out      [out] the new local clock (>= last, > received when
 *                 accepted)
 * @param last     the local clock
 * @param received the clock of a received change
 * @param wall_ms  the local wall clock
 * @return true when @p received was merged; false when it lies more than
 *         PG_HLC_MAX_DRIFT_MS ahead of @p wall_ms, in which case *out is
 *         the local tick and the local clock is not pushed that far
 */
bool pg_hlc_receive(uint64_t *out, uint64_t last, uint64_t received,
                    int64_t wall_ms);

#endif
