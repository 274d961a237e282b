/**
 * @file pingan/ulid.h
 * @brief ULIDs (26 Crockford base32 characters) and record ids.
 *
 * A record id is `<creator's 12-digit code>-<ULID>`: globally unique, time
 * ordered, and it says who created the record.
 */
#ifndef PINGAN_ULID_H
#define PINGAN_ULID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PG_ULID_LEN      26
#define PG_RECORD_ID_LEN (12 + 1 + PG_ULID_LEN)

/** Generator state: monotonic within one millisecond. */
typedef struct pg_ulid_gen {
    int64_t last_ms;
    uint8_t last_rand[10];
} pg_ulid_gen;

/**
 * Make a ULID for time @p ms, strictly greater than the previous one made
 * by @p gen (the random part is incremented within one millisecond).
 *
 * When @p ms is not after the last time used, the last time is kept; when
 * the random part overflows, the time moves on by one millisecond.  @p ms
 * is clamped to 0 .. 2^48 - 1.
 *
 * @param out [out] 26 characters and a NUL
 * @param gen generator state, zero-initialised before first use; one
 *            generator per thread (it is not locked)
 * @param ms  milliseconds since the epoch, usually pg_time_now_ms()
 */
void pg_ulid_make(char out[PG_ULID_LEN + 1], pg_ulid_gen *gen, int64_t ms);

/** True when @p s is a well-formed ULID of 26 characters. */
bool pg_ulid_valid(const char *s, size_t len);

/**
 * Make a new record id `<creator>-<ULID>` for time @p ms.
 */
void pg_record_id_make(char out[PG_RECORD_ID_LEN + 1], pg_ulid_gen *gen,
                       const char *creator, int64_t ms);

/**
 * True when @p id is a well-formed record id; optionally returns the
 * creator's code.
 */
bool pg_record_id_valid(const char *id, char creator_out[13]);

#endif
