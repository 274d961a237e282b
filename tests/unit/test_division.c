/*
 * Division codes: parsing, tiers, jurisdiction prefixes, containment and
 * parents, with the pitfalls of DOMAIN.md §2.1 (NBS zones, townships whose
 * code ends in zeros, non-zero segments below zero ones).
 */
#include "testutil.h"

#include "pingan/division.h"

#include <string.h>

static void assert_parses_to(const char *input, const char *want)
{
    char out[PG_CODE_LEN + 1];

    assert_pg_ok(pg_division_parse(out, input));
    assert_string_equal(out, want);
}

static void assert_parse_refused(const char *input)
{
    char out[PG_CODE_LEN + 1];

    assert_pg_fails(PG_EINVALID, pg_division_parse(out, input));
    assert_string_equal(out, "");
}

static void test_division__parses_twelve_digits(void **state)
{
    (void)state;
    assert_parses_to("430302001001", "430302001001");
    assert_parses_to("430300000000", "430300000000");
    assert_parses_to("430381105501", "430381105501");
}

static void test_division__pads_prefixes_with_zeros(void **state)
{
    (void)state;
    assert_parses_to("43", "430000000000");
    assert_parses_to("4303", "430300000000");
    assert_parses_to("430302", "430302000000");
    assert_parses_to("430381100", "430381100000");
    assert_parses_to("430371", "430371000000");
}

static void test_division__rejects_other_lengths(void **state)
{
    (void)state;
    assert_parse_refused("");
    assert_parse_refused("4");
    assert_parse_refused("430");
    assert_parse_refused("43030");
    assert_parse_refused("4303020");
    assert_parse_refused("43030200");
    assert_parse_refused("4303020010");
    assert_parse_refused("43030200100");
    assert_parse_refused("4303020010011");
}

static void test_division__rejects_non_digits(void **state)
{
    (void)state;
    assert_parse_refused("43030200100a");
    assert_parse_refused(" 430302");
    assert_parse_refused("430302 ");
    assert_parse_refused("-43030200100");
    assert_parse_refused("４３０３"); /* full-width digits */
}

static void test_division__rejects_province_zero(void **state)
{
    (void)state;
    assert_parse_refused("00");
    assert_parse_refused("000000000000");
    assert_parse_refused("000300000000");
}

static void test_division__rejects_non_zero_segment_below_zero_one(void **state)
{
    (void)state;
    assert_parse_refused("430300001000");
    assert_parse_refused("430000010000");
    assert_parse_refused("430302000001");
    assert_parse_refused("430000000001");
    assert_false(pg_division_valid("430300001000"));
}

static void test_division__error_names_input_and_expected_form(void **state)
{
    char out[PG_CODE_LEN + 1];

    (void)state;
    assert_pg_fails(PG_EINVALID, pg_division_parse(out, "43030x"));
    assert_non_null(strstr(pg_error_last()->message, "43030x"));
    assert_non_null(strstr(pg_error_last()->message, "12 digits"));

    assert_pg_fails(PG_EINVALID, pg_division_parse(out, "430300001000"));
    assert_non_null(strstr(pg_error_last()->message, "430300001000"));
}

static void test_division__valid_requires_exactly_twelve_digits(void **state)
{
    (void)state;
    assert_true(pg_division_valid("430302001001"));
    assert_false(pg_division_valid("430302"));
    assert_false(pg_division_valid("4303020010010"));
    assert_false(pg_division_valid("43030200100a"));
    assert_false(pg_division_valid(""));
    assert_false(pg_division_valid(NULL));
}

static void test_division__derives_every_tier(void **state)
{
    (void)state;
    assert_int_equal(pg_division_tier("430000000000"), PG_TIER_PROVINCE);
    assert_int_equal(pg_division_tier("430300000000"), PG_TIER_CITY);
    assert_int_equal(pg_division_tier("430302000000"), PG_TIER_COUNTY);
    assert_int_equal(pg_division_tier("430381000000"), PG_TIER_COUNTY);
    assert_int_equal(pg_division_tier("430302001000"), PG_TIER_TOWNSHIP);
    assert_int_equal(pg_division_tier("430302001001"), PG_TIER_COMMUNITY);
    assert_int_equal(pg_division_tier("430321112230"), PG_TIER_COMMUNITY);
    assert_int_equal(pg_division_tier("430300001000"), PG_TIER_NONE);
    assert_int_equal(pg_division_tier("4303"), PG_TIER_NONE);
    assert_int_equal(pg_division_tier(NULL), PG_TIER_NONE);
}

static void test_division__treats_nbs_zones_as_counties(void **state)
{
    (void)state;
    assert_int_equal(pg_division_tier("430371000000"), PG_TIER_COUNTY);
    assert_int_equal(pg_division_tier("430372000000"), PG_TIER_COUNTY);
    assert_int_equal(pg_division_tier("430373000000"), PG_TIER_COUNTY);
    assert_int_equal(pg_division_tier("430373200000"), PG_TIER_TOWNSHIP);
    assert_true(pg_division_contains("430300000000", "430371001000"));
    assert_false(pg_division_contains("430304000000", "430371001000"));
}

static void test_division__prefix_lengths_follow_tiers(void **state)
{
    (void)state;
    assert_int_equal(pg_tier_prefix_len(PG_TIER_PROVINCE), 2);
    assert_int_equal(pg_tier_prefix_len(PG_TIER_CITY), 4);
    assert_int_equal(pg_tier_prefix_len(PG_TIER_COUNTY), 6);
    assert_int_equal(pg_tier_prefix_len(PG_TIER_TOWNSHIP), 9);
    assert_int_equal(pg_tier_prefix_len(PG_TIER_COMMUNITY), 12);
    assert_int_equal(pg_tier_prefix_len(PG_TIER_NONE), 0);
    assert_int_equal(pg_tier_prefix_len((pg_tier)6), 0);
}

static void
test_division__township_prefix_keeps_its_trailing_zeros(void **state)
{
    (void)state;
    /* 430381100 山枣镇: the prefix is 9 digits, not "4303811". */
    assert_int_equal(pg_division_tier("430381100000"), PG_TIER_TOWNSHIP);
    assert_int_equal(pg_tier_prefix_len(pg_division_tier("430381100000")), 9);
    assert_true(pg_division_contains("430381100000", "430381100201"));
    assert_false(pg_division_contains("430381100000", "430381110005"));
    assert_false(pg_division_contains("430381100000", "430381101000"));
}

static void test_division__names_tiers_both_ways(void **state)
{
    (void)state;
    const char *names[] = {"province", "city", "county", "township",
                           "community"};
    for (int t = PG_TIER_PROVINCE; t <= PG_TIER_COMMUNITY; t++) {
        assert_string_equal(pg_tier_name((pg_tier)t), names[t - 1]);
        assert_int_equal(pg_tier_from_name(names[t - 1]), t);
    }
    assert_string_equal(pg_tier_name(PG_TIER_NONE), "?");
    assert_string_equal(pg_tier_name((pg_tier)9), "?");
    assert_int_equal(pg_tier_from_name("village"), PG_TIER_NONE);
    assert_int_equal(pg_tier_from_name("City"), PG_TIER_NONE);
    assert_int_equal(pg_tier_from_name(""), PG_TIER_NONE);
    assert_int_equal(pg_tier_from_name(NULL), PG_TIER_NONE);
}

static void test_division__contains_itself_and_its_subtree(void **state)
{
    (void)state;
    assert_true(pg_division_contains("430300000000", "430300000000"));
    assert_true(pg_division_contains("430300000000", "430302001001"));
    assert_true(pg_division_contains("430302000000", "430302001001"));
    assert_true(pg_division_contains("430302001000", "430302001001"));
    assert_true(pg_division_contains("430302001001", "430302001001"));
    assert_true(pg_division_contains("430000000000", "430381105501"));
}

static void test_division__contains_is_false_across_branches(void **state)
{
    (void)state;
    assert_false(pg_division_contains("430302000000", "430304001000"));
    assert_false(pg_division_contains("430302001000", "430302002001"));
    assert_false(pg_division_contains("430302001001", "430302001002"));
    assert_false(pg_division_contains("430300000000", "430100000000"));
    /* A child never contains its parent. */
    assert_false(pg_division_contains("430302001000", "430302000000"));
}

static void test_division__contains_needs_two_valid_codes(void **state)
{
    (void)state;
    assert_false(pg_division_contains("4303", "430302001001"));
    assert_false(pg_division_contains("430300000000", "4303020"));
    assert_false(pg_division_contains("430300000000", "430300001000"));
    assert_false(pg_division_contains(NULL, "430302001001"));
    assert_false(pg_division_contains("430300000000", NULL));
}

static void test_division__parent_chain_reaches_province(void **state)
{
    char code[PG_CODE_LEN + 1] = "430381100201";
    const char *chain[] = {"430381100000", "430381000000", "430300000000",
                           "430000000000"};
    char parent[PG_CODE_LEN + 1];

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        assert_pg_ok(pg_division_parent(parent, code));
        assert_string_equal(parent, chain[i]);
        memcpy(code, parent, sizeof(code));
    }
    assert_pg_fails(PG_ENOTFOUND, pg_division_parent(parent, code));
}

static void test_division__parent_of_zone_is_city(void **state)
{
    char parent[PG_CODE_LEN + 1];

    (void)state;
    assert_pg_ok(pg_division_parent(parent, "430372100000"));
    assert_string_equal(parent, "430372000000");
    assert_pg_ok(pg_division_parent(parent, "430372000000"));
    assert_string_equal(parent, "430300000000");
}

static void test_division__parent_rejects_malformed_codes(void **state)
{
    char parent[PG_CODE_LEN + 1];

    (void)state;
    assert_pg_fails(PG_EINVALID, pg_division_parent(parent, "430302"));
    assert_pg_fails(PG_EINVALID, pg_division_parent(parent, "430300001000"));
    assert_pg_fails(PG_EINVALID, pg_division_parent(parent, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_division__parses_twelve_digits),
        cmocka_unit_test(test_division__pads_prefixes_with_zeros),
        cmocka_unit_test(test_division__rejects_other_lengths),
        cmocka_unit_test(test_division__rejects_non_digits),
        cmocka_unit_test(test_division__rejects_province_zero),
        cmocka_unit_test(
            test_division__rejects_non_zero_segment_below_zero_one),
        cmocka_unit_test(test_division__error_names_input_and_expected_form),
        cmocka_unit_test(test_division__valid_requires_exactly_twelve_digits),
        cmocka_unit_test(test_division__derives_every_tier),
        cmocka_unit_test(test_division__treats_nbs_zones_as_counties),
        cmocka_unit_test(test_division__prefix_lengths_follow_tiers),
        cmocka_unit_test(
            test_division__township_prefix_keeps_its_trailing_zeros),
        cmocka_unit_test(test_division__names_tiers_both_ways),
        cmocka_unit_test(test_division__contains_itself_and_its_subtree),
        cmocka_unit_test(test_division__contains_is_false_across_branches),
        cmocka_unit_test(test_division__contains_needs_two_valid_codes),
        cmocka_unit_test(test_division__parent_chain_reaches_province),
        cmocka_unit_test(test_division__parent_of_zone_is_city),
        cmocka_unit_test(test_division__parent_rejects_malformed_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
