/* Unit tests for node/schema.c: the compiled-in schema v1. */
#include "testutil.h"

#include "pingan/schema.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/*
 * The hash of schema version 1.  Changing it is a schema change: every
 * node of the federation must agree on the schema of a version, so a
 * change to a field's type, privacy, merge, required flag, limit or enum
 * values needs a new version (PG_SCHEMA_VERSION + 1, new entries with
 * since = 2), never an edit of version 1.
 */
#define SCHEMA_V1_HASH                                                         \
    "50deed264eb891592cb0894d91abab138841723c98d1caec25333e246a75ca3f"
#define SCHEMA_V2_HASH                                                         \
    "2dad5b638734e6dcfe883737284db48b0d16c8298a1379e58195b8f32d5f928f"

static const char *const design_collections[] = {
    "hazard",
    "dispute",
    "grid_event",
    "key_person",
    "supervision",
    "volunteer",
    "fraud_alert",
    "drill",
    "node",
    /* version 2 */
    "dispute_party",
    "daily_stats",
    "division_remap",
    "purge",
};

/* The schema version that added a collection of design_collections. */
static unsigned design_since(size_t i)
{
    return i < 9 ? 1 : 2;
}

static const pg_collection *collection(const char *name)
{
    const pg_collection *c = pg_schema_collection(pg_schema_current(), name);
    if (!c)
        print_error("no collection %s\n", name);
    assert_non_null(c);
    return c;
}

static const pg_field *field(const pg_collection *c, const char *name)
{
    const pg_field *f = pg_collection_field(c, name, NULL);
    if (!f)
        print_error("no field %s.%s\n", c->name, name);
    assert_non_null(f);
    return f;
}

static bool name_well_formed(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    }
    return true;
}

/* SQLite's own keyword list, plus names that break SQLite or BI tools. */
static bool name_is_sql_keyword(const char *s)
{
    static const char *const extra[] = {
        "rowid", "oid",    "_rowid_", "user",    "date",    "time", "timestamp",
        "value", "values", "desc",    "comment", "session", "role",
    };
    if (sqlite3_keyword_check(s, (int)strlen(s)))
        return true;
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        if (strcmp(s, extra[i]) == 0)
            return true;
    }
    return false;
}

static void test_schema__has_every_collection_of_the_design(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    assert_non_null(s);
    assert_int_equal(s->version, PG_SCHEMA_VERSION);
    assert_int_equal(s->ncollections, sizeof(design_collections) /
                                          sizeof(design_collections[0]));
    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = collection(design_collections[i]);
        assert_ptr_equal(c, s->collections[i]);
        assert_true(strlen(c->title) > 0);
        assert_true(strlen(c->articles) > 0);
        assert_int_equal(c->since, design_since(i));
        assert_true(c->nfields > 1);
    }
}

/* Written by pingan itself: certificates, division remaps, purges. */
static void test_schema__only_pingan_writes_system_collections(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        assert_int_equal(c->system,
                         strcmp(c->name, "node") == 0 ||
                             strcmp(c->name, "division_remap") == 0 ||
                             strcmp(c->name, "purge") == 0);
    }
}

static void test_schema__first_field_is_division(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_field *f = &s->collections[i]->fields[0];
        assert_string_equal(f->name, "division");
        assert_int_equal(f->type, PG_TYPE_DIVISION);
        assert_int_equal(f->privacy, PG_PRIVACY_INTERNAL);
        assert_int_equal(f->merge, PG_MERGE_LWW);
        assert_true(f->required);
        assert_ptr_equal(pg_collection_field_at(s->collections[i], 0), f);
    }
}

static void
test_schema__names_are_unique_well_formed_and_not_keywords(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        assert_true(name_well_formed(c->name));
        assert_false(name_is_sql_keyword(c->name));
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(c->name, s->collections[k]->name);
        for (size_t j = 0; j < c->nfields; j++) {
            const char *n = c->fields[j].name;
            if (!name_well_formed(n) || name_is_sql_keyword(n))
                print_error("bad field name %s.%s\n", c->name, n);
            assert_true(name_well_formed(n));
            assert_false(name_is_sql_keyword(n));
            assert_true(n[0] != '_');
            assert_true(strlen(c->fields[j].title) > 0);
            for (size_t k = 0; k < j; k++)
                assert_string_not_equal(n, c->fields[k].name);
        }
    }
}

static void test_schema__enum_fields_have_values_and_others_none(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        for (size_t j = 0; j < c->nfields; j++) {
            const pg_field *f = &c->fields[j];
            if (f->type != PG_TYPE_ENUM) {
                assert_null(f->values);
                continue;
            }
            assert_non_null(f->values);
            assert_non_null(f->values[0]);
            for (size_t k = 0; f->values[k]; k++) {
                size_t len = strlen(f->values[k]);
                assert_true(len > 0 && len <= PG_SHORT_MAX);
                for (size_t m = 0; m < k; m++)
                    assert_string_not_equal(f->values[k], f->values[m]);
            }
        }
    }
}

static void test_schema__limits_and_versions_are_sane(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        for (size_t j = 0; j < c->nfields; j++) {
            const pg_field *f = &c->fields[j];
            /* A collection's fields are as old as it or newer. */
            assert_true(f->since >= c->since);
            assert_true(f->since >= 1 && f->since <= PG_SCHEMA_VERSION);
            assert_true(f->max_len <= PG_TEXT_MAX);
            assert_true(f->privacy >= PG_PRIVACY_PUBLIC &&
                        f->privacy <= PG_PRIVACY_SENSITIVE);
            assert_true(f->merge >= PG_MERGE_LWW &&
                        f->merge <= PG_MERGE_AUTHORITY);
        }
    }
}

/*
 * Names, phones, ID numbers and addresses are PIPL personal information.
 * The one exception is an official named in their official capacity
 * (the mediator of a case, the grid worker in charge): `internal`.
 */
static void
test_schema__personal_identifiers_are_personal_or_sensitive(void **state)
{
    (void)state;
    static const char *const officials[] = {
        "dispute.mediator",
        "grid_event.grid_worker",
        "key_person.responsible_grid_worker",
    };
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        for (size_t j = 0; j < c->nfields; j++) {
            const pg_field *f = &c->fields[j];
            char qualified[128];
            bool official = false;

            if (f->type != PG_TYPE_NAME && f->type != PG_TYPE_PHONE &&
                f->type != PG_TYPE_ID_NUMBER && f->type != PG_TYPE_ADDRESS)
                continue;
            snprintf(qualified, sizeof(qualified), "%s.%s", c->name, f->name);
            for (size_t k = 0; k < sizeof(officials) / sizeof(officials[0]);
                 k++)
                official |= strcmp(qualified, officials[k]) == 0;
            if (official) {
                assert_int_equal(f->type, PG_TYPE_NAME);
                assert_int_equal(f->privacy, PG_PRIVACY_INTERNAL);
                continue;
            }
            if (f->privacy < PG_PRIVACY_PERSONAL)
                print_error("%s is %s\n", qualified,
                            pg_privacy_name(f->privacy));
            assert_true(f->privacy == PG_PRIVACY_PERSONAL ||
                        f->privacy == PG_PRIVACY_SENSITIVE);
        }
    }
}

static void test_schema__key_person_is_capped_at_county(void **state)
{
    (void)state;
    const pg_collection *c = collection("key_person");

    assert_int_equal(c->cap, PG_TIER_COUNTY);
    assert_false(c->partner_allowed);
    /* Membership in a category is itself sensitive (PIPL Art. 28). */
    assert_int_equal(field(c, "category")->privacy, PG_PRIVACY_SENSITIVE);
    assert_int_equal(field(c, "diagnosis")->privacy, PG_PRIVACY_SENSITIVE);
    assert_int_equal(field(c, "drug_status")->privacy, PG_PRIVACY_SENSITIVE);

    /* No other collection is capped. */
    const pg_schema *s = pg_schema_current();
    for (size_t i = 0; i < s->ncollections; i++) {
        if (s->collections[i] != c)
            assert_int_equal(s->collections[i]->cap, PG_TIER_NONE);
    }
}

static void test_schema__supervision_is_never_shared_with_partners(void **state)
{
    (void)state;
    assert_false(collection("supervision")->partner_allowed);
    assert_true(collection("fraud_alert")->partner_allowed);
    assert_true(collection("dispute")->partner_allowed);
}

static void test_schema__dispute_has_cross_region_bool(void **state)
{
    (void)state;
    const pg_field *f = field(collection("dispute"), "cross_region");

    assert_int_equal(f->type, PG_TYPE_BOOL);
    assert_false(f->required);
}

/* Agreements select with `cross_region = true` and name the partner;
 * aggregates, which name no one, go whole. */
static void test_schema__partner_collections_have_cross_region(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        if (!c->partner_allowed || strcmp(c->name, "daily_stats") == 0)
            continue;
        assert_int_equal(field(c, "cross_region")->type, PG_TYPE_BOOL);
        assert_int_equal(field(c, "partner_city")->type, PG_TYPE_DIVISION);
    }
}

static void test_schema__volunteer_points_is_a_counter(void **state)
{
    (void)state;
    const pg_field *f = field(collection("volunteer"), "points");

    assert_int_equal(f->type, PG_TYPE_COUNTER);
    assert_int_equal(f->merge, PG_MERGE_COUNTER);
}

static void test_schema__counter_merge_only_on_counter_type(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        for (size_t j = 0; j < c->nfields; j++) {
            const pg_field *f = &c->fields[j];
            assert_int_equal(f->merge == PG_MERGE_COUNTER,
                             f->type == PG_TYPE_COUNTER);
        }
    }
}

static void
test_schema__sensitive_fields_are_in_the_expected_places(void **state)
{
    (void)state;
    assert_int_equal(field(collection("fraud_alert"), "loss_amount")->privacy,
                     PG_PRIVACY_SENSITIVE);
    assert_int_equal(
        field(collection("dispute"), "applicant_id_number")->privacy,
        PG_PRIVACY_PERSONAL);
    assert_int_equal(field(collection("hazard"), "description")->privacy,
                     PG_PRIVACY_PERSONAL);
}

static void
test_schema__node_collection_has_every_certificate_field(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        pg_type type;
    } cert[] = {
        {"code", PG_TYPE_DIVISION},
        {"name", PG_TYPE_TEXT},
        {"tier", PG_TYPE_ENUM},
        {"sign_pk", PG_TYPE_TEXT},
        {"box_pk", PG_TYPE_TEXT},
        {"key_id", PG_TYPE_TEXT},
        {"suite", PG_TYPE_INT},
        {"issuer", PG_TYPE_DIVISION},
        {"issuer_key_id", PG_TYPE_TEXT},
        {"valid_from", PG_TYPE_TIME},
        {"valid_until", PG_TYPE_TIME},
        {"revoked", PG_TYPE_BOOL},
        {"revoked_after_seq", PG_TYPE_INT},
        {"certificate_sig", PG_TYPE_TEXT},
    };
    const pg_collection *c = collection("node");

    assert_true(c->system);
    assert_false(c->partner_allowed);
    for (size_t i = 0; i < sizeof(cert) / sizeof(cert[0]); i++) {
        const pg_field *f = field(c, cert[i].name);
        assert_int_equal(f->type, cert[i].type);
        assert_int_equal(f->merge, PG_MERGE_AUTHORITY);
        assert_true(f->privacy == PG_PRIVACY_PUBLIC ||
                    f->privacy == PG_PRIVACY_INTERNAL);
    }
    /* The tier enum speaks pg_tier_name()'s language. */
    const pg_field *tier = field(c, "tier");
    for (pg_tier t = PG_TIER_PROVINCE; t <= PG_TIER_COMMUNITY; t++) {
        static const char *const names[] = {"",       "province", "city",
                                            "county", "township", "community"};
        assert_string_equal(tier->values[t - 1], names[t]);
    }
    assert_null(tier->values[5]);
}

static void test_schema__hash_is_stable_and_pinned(void **state)
{
    (void)state;
    char a[65], b[65];

    /* Version 1's view is what v1 builds hash: adding version 2 left it
     * untouched. */
    pg_schema_hash_hex(a, pg_schema_get(1));
    pg_schema_hash_hex(b, pg_schema_get(2));
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), 64);
    if (strcmp(a, SCHEMA_V1_HASH) != 0)
        print_error("schema v1 hash is %s\n", a);
    assert_string_equal(a, SCHEMA_V1_HASH);
    if (strcmp(b, SCHEMA_V2_HASH) != 0)
        print_error("schema v2 hash is %s\n", b);
    assert_string_equal(b, SCHEMA_V2_HASH);
    /* v1 has none of v2's collections. */
    assert_null(pg_schema_collection(pg_schema_get(1), "dispute_party"));
    assert_non_null(pg_schema_collection(pg_schema_get(2), "dispute_party"));
}

static void test_schema__unknown_versions_are_null(void **state)
{
    (void)state;
    assert_null(pg_schema_get(0));
    assert_null(pg_schema_get(PG_SCHEMA_VERSION + 1));
    assert_non_null(pg_schema_get(1));
    assert_ptr_equal(pg_schema_get(PG_SCHEMA_VERSION), pg_schema_current());
    assert_int_equal(pg_schema_get(1)->version, 1);
}

static void test_schema__deleted_is_implicit_at_nfields(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();

    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        size_t idx = 0;
        const pg_field *f = pg_collection_field(c, "_deleted", &idx);

        assert_non_null(f);
        assert_int_equal(idx, c->nfields);
        assert_string_equal(f->name, "_deleted");
        assert_string_equal(f->title, "已删除");
        assert_int_equal(f->type, PG_TYPE_BOOL);
        assert_int_equal(f->privacy, PG_PRIVACY_INTERNAL);
        assert_int_equal(f->merge, PG_MERGE_LWW);
        assert_false(f->required);
        assert_ptr_equal(pg_collection_field_at(c, c->nfields), f);
        assert_null(pg_collection_field_at(c, c->nfields + 1));
    }
}

static void test_schema__lookups_find_fields_by_name_and_index(void **state)
{
    (void)state;
    const pg_collection *c = collection("dispute");
    size_t idx = 99;

    const pg_field *f = pg_collection_field(c, "summary", &idx);
    assert_non_null(f);
    assert_ptr_equal(pg_collection_field_at(c, idx), f);
    assert_null(pg_collection_field(c, "no_such_field", NULL));
    assert_null(pg_collection_field(c, "", NULL));
    assert_null(pg_collection_field(c, "Summary", NULL));
    assert_non_null(pg_collection_field(c, "division", NULL));
    assert_null(pg_schema_collection(pg_schema_current(), "no_such"));
    assert_null(pg_schema_collection(pg_schema_current(), "Hazard"));
    assert_null(pg_schema_collection(NULL, "hazard"));
}

static void test_schema__privacy_and_merge_have_names(void **state)
{
    (void)state;
    assert_string_equal(pg_privacy_name(PG_PRIVACY_PUBLIC), "public");
    assert_string_equal(pg_privacy_name(PG_PRIVACY_INTERNAL), "internal");
    assert_string_equal(pg_privacy_name(PG_PRIVACY_PERSONAL), "personal");
    assert_string_equal(pg_privacy_name(PG_PRIVACY_SENSITIVE), "sensitive");
    assert_string_equal(pg_merge_name(PG_MERGE_LWW), "lww");
    assert_string_equal(pg_merge_name(PG_MERGE_COUNTER), "counter");
    assert_string_equal(pg_merge_name(PG_MERGE_AUTHORITY), "authority");
    assert_string_equal(pg_privacy_name((pg_privacy)0), "?");
    assert_string_equal(pg_merge_name((pg_merge)9), "?");
}

static void *schema_get_thread(void *arg)
{
    (void)arg;
    return (void *)pg_schema_current();
}

static void test_schema__first_use_is_thread_safe(void **state)
{
    (void)state;
    pthread_t t[8];
    void *got[8];

    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, schema_get_thread, NULL),
                         0);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_join(t[i], &got[i]), 0);
    for (size_t i = 0; i < 8; i++)
        assert_ptr_equal(got[i], pg_schema_current());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First, so that several threads race for the first build. */
        cmocka_unit_test(test_schema__first_use_is_thread_safe),
        cmocka_unit_test(test_schema__has_every_collection_of_the_design),
        cmocka_unit_test(test_schema__only_pingan_writes_system_collections),
        cmocka_unit_test(test_schema__first_field_is_division),
        cmocka_unit_test(
            test_schema__names_are_unique_well_formed_and_not_keywords),
        cmocka_unit_test(test_schema__enum_fields_have_values_and_others_none),
        cmocka_unit_test(test_schema__limits_and_versions_are_sane),
        cmocka_unit_test(
            test_schema__personal_identifiers_are_personal_or_sensitive),
        cmocka_unit_test(test_schema__key_person_is_capped_at_county),
        cmocka_unit_test(
            test_schema__supervision_is_never_shared_with_partners),
        cmocka_unit_test(test_schema__dispute_has_cross_region_bool),
        cmocka_unit_test(test_schema__partner_collections_have_cross_region),
        cmocka_unit_test(test_schema__volunteer_points_is_a_counter),
        cmocka_unit_test(test_schema__counter_merge_only_on_counter_type),
        cmocka_unit_test(
            test_schema__sensitive_fields_are_in_the_expected_places),
        cmocka_unit_test(
            test_schema__node_collection_has_every_certificate_field),
        cmocka_unit_test(test_schema__hash_is_stable_and_pinned),
        cmocka_unit_test(test_schema__unknown_versions_are_null),
        cmocka_unit_test(test_schema__deleted_is_implicit_at_nfields),
        cmocka_unit_test(test_schema__lookups_find_fields_by_name_and_index),
        cmocka_unit_test(test_schema__privacy_and_merge_have_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
