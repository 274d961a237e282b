/**
 * @file pingan/division.h
 * @brief Statistical division codes (统计用区划代码), tiers and jurisdiction.
 *
 * A code has 12 digits, 2+2+2+3+3: province, prefecture, county, township,
 * village.  A node's tier follows from which segments are zero, and its
 * jurisdiction prefix is the first 2, 4, 6, 9 or 12 digits by tier (never
 * "strip trailing zeros": township 430381100000 has prefix 430381100).
 */
#ifndef PINGAN_DIVISION_H
#define PINGAN_DIVISION_H

#include <stdbool.h>
#include <stddef.h>

/** Length of a division code, without the NUL. */
#define PG_CODE_LEN 12

/** Tiers, from the top.  Values are pinned (they order authority). */
typedef enum pg_tier {
    PG_TIER_NONE = 0,
    PG_TIER_PROVINCE = 1,
    PG_TIER_CITY = 2,
    PG_TIER_COUNTY = 3,
    PG_TIER_TOWNSHIP = 4,
    PG_TIER_COMMUNITY = 5,
} pg_tier;

/**
 * Parse a division code given by a person or a file.
 *
 * Accepts 12 digits, or a 2-, 4-, 6- or 9-digit prefix which is padded with
 * zeros (430302 -> 430302000000).  Rejects anything else, including codes
 * whose non-zero segment sits below a zero one (430300001000).
 *
 * @param out   [out] the 12-digit code, NUL-terminated
 * @param input the text
 * @return 0 or PG_EINVALID
 */
int pg_division_parse(char out[PG_CODE_LEN + 1], const char *input);

/** True when @p code is a well-formed 12-digit code (see parse). */
bool pg_division_valid(const char *code);

/** The tier of a well-formed 12-digit code, PG_TIER_NONE otherwise. */
pg_tier pg_division_tier(const char *code);

/** Digits of the jurisdiction prefix for a tier: 2, 4, 6, 9 or 12; 0. */
size_t pg_tier_prefix_len(pg_tier tier);

/** "province", "city", "county", "township", "community"; "?" otherwise. */
const char *pg_tier_name(pg_tier tier);

/** The tier named by pg_tier_name(), or PG_TIER_NONE. */
pg_tier pg_tier_from_name(const char *name);

/**
 * True when @p code lies inside the jurisdiction of @p node (including
 * @p node itself): @p code starts with @p node's prefix.
 */
bool pg_division_contains(const char *node, const char *code);

/**
 * The code of the next tier up (lower segments zeroed).
 *
 * @param out  [out] the parent's 12-digit code, NUL-terminated
 * @param code a well-formed 12-digit code
 * @return 0, PG_EINVALID for a malformed code, or PG_ENOTFOUND for a
 *         province
 */
int pg_division_parent(char out[PG_CODE_LEN + 1], const char *code);

#endif
