/*
 * ULIDs and record ids.
 *
 * A ULID is 128 bits, 48 of milliseconds since the epoch then 80 random,
 * written as 26 characters of Crockford base32 (0-9 A-Z without I L O U),
 * most significant first: 10 characters of time (50 bits, the top two
 * always zero, hence a first character of at most '7') and 16 of
 * randomness.  The text sorts like the number, so record ids sort by
 * creation time.
 *
 * Monotonic generation: within one millisecond, or when the wall clock
 * steps back, the generator keeps its last time and adds one to the
 * 80-bit random part, so every ULID a generator makes is strictly greater
 * than the previous one.  If the random part overflows (2^80 ids in one
 * millisecond, or a very unlucky start) the time moves on by one
 * millisecond with fresh randomness, like the HLC's counter carry.
 *
 * A record id is `<creator's 12-digit division code>-<ULID>`.  We accept
 * upper-case only: ids are keys compared bytewise, and two spellings of
 * one id would be two records.
 */
#include "pingan/ulid.h"
#include "pingan/crypto.h"
#include "pingan/division.h"

#include <string.h>

static const char ulid_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The largest time a ULID can hold: 2^48 - 1 ms (year 10889). */
#define ULID_MS_MAX ((INT64_C(1) << 48) - 1)

/* Add one to the 80-bit big-endian random part; true on overflow. */
static bool ulid_increment(uint8_t rand[10])
{
    for (size_t i = 10; i-- > 0;) {
        if (++rand[i] != 0)
            return false;
    }
    return true;
}

static bool ulid_gen_fresh(const pg_ulid_gen *gen)
{
    static const uint8_t zero[10];

    return gen->last_ms == 0 && memcmp(gen->last_rand, zero, 10) == 0;
}

static void ulid_encode(char out[PG_ULID_LEN + 1], int64_t ms,
                        const uint8_t rand[10])
{
    uint64_t t = (uint64_t)ms;

    for (size_t i = 10; i-- > 0;) {
        out[i] = ulid_alphabet[t & 31];
        t >>= 5;
    }
    /* 80 bits = 16 groups of 5: take them as two 40-bit halves. */
    for (size_t half = 0; half < 2; half++) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++)
            v = (v << 8) | rand[half * 5 + k];
        for (size_t i = 8; i-- > 0;) {
            out[10 + half * 8 + i] = ulid_alphabet[v & 31];
            v >>= 5;
        }
    }
    out[PG_ULID_LEN] = '\0';
}

void pg_ulid_make(char out[PG_ULID_LEN + 1], pg_ulid_gen *gen, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms > ULID_MS_MAX)
        ms = ULID_MS_MAX;

    if (ms > gen->last_ms || ulid_gen_fresh(gen)) {
        gen->last_ms = ms;
        pg_random(gen->last_rand, sizeof(gen->last_rand));
    } else if (ulid_increment(gen->last_rand)) {
        /* At ULID_MS_MAX there is nowhere to go; that is year 10889. */
        if (gen->last_ms < ULID_MS_MAX)
            gen->last_ms++;
        pg_random(gen->last_rand, sizeof(gen->last_rand));
    }
    ulid_encode(out, gen->last_ms, gen->last_rand);
}

bool pg_ulid_valid(const char *s, size_t len)
{
    if (!s || len != PG_ULID_LEN || s[0] < '0' || s[0] > '7')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0' || !strchr(ulid_alphabet, s[i]))
            return false;
    }
    return true;
}

bool pg_record_id_valid(const char *id, char creator_out[13])
{
    char code[PG_CODE_LEN + 1];

    if (creator_out)
        creator_out[0] = '\0';
    if (!id || strnlen(id, PG_RECORD_ID_LEN + 1) != PG_RECORD_ID_LEN ||
        id[PG_CODE_LEN] != '-')
        return false;
    memcpy(code, id, PG_CODE_LEN);
    code[PG_CODE_LEN] = '\0';
    if (!pg_division_valid(code) ||
        !pg_ulid_valid(id + PG_CODE_LEN + 1, PG_ULID_LEN))
        return false;
    if (creator_out)
        memcpy(creator_out, code, sizeof(code));
    return true;
}

void pg_record_id_make(char out[PG_RECORD_ID_LEN + 1], pg_ulid_gen *gen,
                       const char *creator, int64_t ms)
{
    memcpy(out, creator, 12);
    out[12] = '-';
    pg_ulid_make(out + 13, gen, ms);
}
