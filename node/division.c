/*
 * Statistical division codes (统计用区划代码).
 *
 * A code is 12 digits in five segments, 2+2+2+3+3: province, prefecture,
 * county, township, village.  The segment boundaries are the only numbers
 * this module knows:
 *
 *     segment    digits   prefix length   tier when it is the last non-zero
 *     province   0-1      2               province
 *     prefecture 2-3      4               city
 *     county     4-5      6               county (incl. NBS zones 43037x)
 *     township   6-8      9               township
 *     village    9-11     12              community
 *
 * The tier is the deepest non-zero segment, and the jurisdiction prefix is
 * the code cut at that segment's end.  We never "strip trailing zeros":
 * township 430381100000 has prefix 430381100, not 4303811.
 *
 * A code is well-formed when it has exactly 12 ASCII digits, a non-zero
 * province, and no non-zero segment below a zero one (430300001000 names
 * a township inside no county, so it is refused).  Nothing else is
 * checked: codes churn yearly and retired codes stay in old records, so
 * membership in a list of known divisions is the schema's business, not
 * this module's.
 */
#include "pingan/division.h"
#include "pingan/error.h"

#include <string.h>

/* End offsets of the five segments. */
static const size_t segment_end[5] = {2, 4, 6, 9, 12};

static bool division_all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static bool division_segment_zero(const char *code, size_t seg)
{
    size_t start = seg ? segment_end[seg - 1] : 0;

    for (size_t i = start; i < segment_end[seg]; i++) {
        if (code[i] != '0')
            return false;
    }
    return true;
}

/*
 * The number of leading non-zero segments (1..5) of 12 digits, or 0 when
 * the code is malformed: province zero, or a non-zero segment after a zero
 * one.
 */
static size_t division_depth(const char *code)
{
    size_t depth = 0;

    while (depth < 5 && !division_segment_zero(code, depth))
        depth++;
    for (size_t seg = depth; seg < 5; seg++) {
        if (!division_segment_zero(code, seg))
            return 0;
    }
    return depth;
}

bool pg_division_valid(const char *code)
{
    if (!code || strnlen(code, PG_CODE_LEN + 1) != PG_CODE_LEN)
        return false;
    return division_all_digits(code, PG_CODE_LEN) && division_depth(code) > 0;
}

int pg_division_parse(char out[PG_CODE_LEN + 1], const char *input)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(input);

    out[0] = '\0';
    size_t len = strnlen(input, PG_CODE_LEN + 1);
    if ((len != 2 && len != 4 && len != 6 && len != 9 && len != PG_CODE_LEN) ||
        !division_all_digits(input, len))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "division code \"%.40s\": expected 12 digits, or "
                            "a 2-, 4-, 6- or 9-digit prefix",
                            input);

    char code[PG_CODE_LEN + 1];
    memcpy(code, input, len);
    memset(code + len, '0', PG_CODE_LEN - len);
    code[PG_CODE_LEN] = '\0';

    if (division_segment_zero(code, 0))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "division code \"%s\": province 00 does not exist",
                            input);
    if (division_depth(code) == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "division code \"%s\": a non-zero segment sits "
                            "below a zero one (expected 2+2+2+3+3 digits, "
                            "zeros only at the end)",
                            input);
    memcpy(out, code, sizeof(code));
    return 0;
}

pg_tier pg_division_tier(const char *code)
{
    if (!pg_division_valid(code))
        return PG_TIER_NONE;
    /* Depth 1..5 is exactly PG_TIER_PROVINCE..PG_TIER_COMMUNITY. */
    return (pg_tier)division_depth(code);
}

size_t pg_tier_prefix_len(pg_tier tier)
{
    if (tier < PG_TIER_PROVINCE || tier > PG_TIER_COMMUNITY)
        return 0;
    return segment_end[tier - 1];
}

static const char *const tier_names[] = {
    "province", "city", "county", "township", "community",
};

const char *pg_tier_name(pg_tier tier)
{
    if (tier < PG_TIER_PROVINCE || tier > PG_TIER_COMMUNITY)
        return "?";
    return tier_names[tier - 1];
}

pg_tier pg_tier_from_name(const char *name)
{
    if (!name)
        return PG_TIER_NONE;
    for (size_t i = 0; i < sizeof(tier_names) / sizeof(tier_names[0]); i++) {
        if (strcmp(name, tier_names[i]) == 0)
            return (pg_tier)(i + 1);
    }
    return PG_TIER_NONE;
}

bool pg_division_contains(const char *node, const char *code)
{
    if (!pg_division_valid(node) || !pg_division_valid(code))
        return false;
    size_t plen = pg_tier_prefix_len(pg_division_tier(node));
    return memcmp(node, code, plen) == 0;
}

int pg_division_parent(char out[PG_CODE_LEN + 1], const char *code)
{
    PG_ASSERT_ARG(out);

    out[0] = '\0';
    pg_tier tier = pg_division_tier(code);
    if (tier == PG_TIER_NONE)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "division code \"%.40s\" is not 12 well-formed "
                            "digits",
                            code ? code : "(null)");
    if (tier == PG_TIER_PROVINCE)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_INVALID,
                            "division %s is a province and has no parent",
                            code);

    size_t keep = pg_tier_prefix_len(tier - 1);
    memcpy(out, code, keep);
    memset(out + keep, '0', PG_CODE_LEN - keep);
    out[PG_CODE_LEN] = '\0';
    return 0;
}
