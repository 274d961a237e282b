/*
 * A full disk (DESIGN §3, §11), without privileges: the node's own SQLite
 * connection gets a PRAGMA max_page_count at the store's current size, so
 * the next page it needs fails with SQLITE_FULL exactly as a full disk
 * would.  A local write, a JSON-lines import and a bundle import each fail
 * with PG_ERROR and a message that says the disk is full and what to do;
 * the store is exactly as before (every row of every table, read through
 * another connection) and passes integrity_check; once the limit is lifted
 * the same call on the same handle succeeds, and so does one on a handle
 * opened afresh.
 *
 * Failed allocations are tests/unit/alloc/test_allocfail.c.
 */
#include "faultcase.h"

#include "pingan/changelog.h"

/* The disk holds the store as it is now and not one page more. */
static void disk_full(pg_node *node)
{
    char sql[96];
    int64_t pages = test_sql_int(node, "PRAGMA page_count");
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
             (long long)pages);
    assert_true(test_sql_int(node, sql) == pages);
}

static void space_again(pg_node *node)
{
    assert_true(test_sql_int(node, "PRAGMA max_page_count = 1073741823") >
                1000000);
}

/* A failed call leaves no transaction open on the node's connection:
 * the next call on the same handle starts clean. */
static void assert_no_txn_open(pg_node *node)
{
    assert_true(sqlite3_get_autocommit(node->db) != 0);
}

static void assert_disk_full_error(int rc)
{
    if (rc != PG_ERROR)
        print_error("expected PG_ERROR, got %d: %s\n", rc,
                    pg_error_last()->message);
    assert_int_equal(rc, PG_ERROR);
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, "the disk is full; free space and try again"))
        print_error("message: %s\n", msg);
    assert_non_null(strstr(msg, "the disk is full; free space and try again"));
    assert_null(strchr(msg, '\n'));
}

typedef struct fixture {
    char *root;
    char town[4096];
    char bundle[4096];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->root = testutil_mkdtemp();
    fc_make_case(fx->town, fx->bundle, fx->root, 40);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

static int64_t log_count(pg_node *node)
{
    return test_sql_int(node, "SELECT count(*) FROM log");
}

static void test_faults__a_write_on_a_full_disk(void **state)
{
    fixture *fx = *state;
    pg_node *node = NULL;
    char id[PG_RECORD_ID_LEN + 1];
    int rc = 0;
    int ok = 0;

    assert_pg_ok(pg_node_open(&node, fx->town));
    disk_full(node);
    /* Pages with room left take a few more rows first. */
    for (int i = 0; i < 5000; i++) {
        uint64_t before = fc_store_digest(fx->town);
        int64_t nlog = log_count(node);
        pg_error_clear();
        rc = fc_put(id, node, "楼道堆放杂物，消防通道不畅");
        if (rc == 0) {
            ok++;
            assert_int_equal(log_count(node), nlog + 1);
            continue;
        }
        assert_disk_full_error(rc);
        assert_no_txn_open(node);
        assert_true(fc_store_digest(fx->town) == before);
        fc_assert_intact(fx->town);
        break;
    }
    assert_true(rc < 0);
    int64_t nlog = log_count(node);
    int64_t nrec = test_sql_int(node, "SELECT count(*) FROM hazard");

    /* Space returns: the same handle writes, the log has no gap. */
    space_again(node);
    assert_pg_ok(fc_put(id, node, "楼道堆放杂物，消防通道不畅"));
    assert_int_equal(log_count(node), nlog + 1);
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM hazard"),
                     nrec + 1);
    assert_int_equal(test_sql_int(node, "SELECT max(seq) FROM log"), nlog + 1);
    pg_node_free(node);

    assert_pg_ok(pg_node_open(&node, fx->town));
    assert_pg_ok(fc_put(id, node, "再写一条"));
    pg_node_free(node);
    fc_assert_intact(fx->town);
}

static void test_faults__an_import_on_a_full_disk(void **state)
{
    fixture *fx = *state;
    pg_node *node = NULL;
    const char *jsonl = fc_jsonl(fx->root, 300);

    assert_pg_ok(pg_node_open(&node, fx->town));
    int64_t nrec = test_sql_int(node, "SELECT count(*) FROM hazard");
    uint64_t before = fc_store_digest(fx->town);
    disk_full(node);
    pg_error_clear();
    assert_disk_full_error(fc_import_jsonl(node, jsonl));
    assert_no_txn_open(node);
    assert_true(fc_store_digest(fx->town) == before);
    fc_assert_intact(fx->town);

    space_again(node);
    assert_pg_ok(fc_import_jsonl(node, jsonl));
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM hazard"),
                     nrec + 300);
    pg_node_free(node);
    fc_assert_intact(fx->town);
}

static void test_faults__a_bundle_on_a_full_disk(void **state)
{
    fixture *fx = *state;
    pg_node *node = NULL;
    pg_bundle_report rep;

    assert_pg_ok(pg_node_open(&node, fx->town));
    uint64_t before = fc_store_digest(fx->town);
    disk_full(node);
    pg_error_clear();
    int rc = pg_bundle_import(node, fx->bundle, &rep);
    assert_disk_full_error(rc);
    assert_int_equal(rep.status, PG_BUNDLE_FAILED);
    assert_non_null(strstr(rep.message, "the disk is full"));
    assert_no_txn_open(node);
    assert_true(fc_store_digest(fx->town) == before);
    fc_assert_intact(fx->town);
    int64_t nrec = test_sql_int(node, "SELECT count(*) FROM hazard");

    /* Space returns: the same handle takes the bundle whole (+40). */
    space_again(node);
    assert_pg_ok(pg_bundle_import(node, fx->bundle, &rep));
    assert_int_equal(rep.status, PG_BUNDLE_APPLIED);
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM hazard"),
                     nrec + 40);
    assert_int_equal(
        test_sql_int(node,
                     "SELECT count(*) FROM hazard WHERE id LIKE '" FC_COUNTY
                     "-%'"),
        40);
    pg_node_free(node);

    /* A fresh handle (no limit) finds it all there: nothing new. */
    assert_pg_ok(pg_node_open(&node, fx->town));
    assert_pg_ok(pg_bundle_import(node, fx->bundle, &rep));
    assert_int_equal(rep.status, PG_BUNDLE_APPLIED);
    assert_int_equal(rep.applied, 0);
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM hazard"),
                     nrec + 40);
    pg_node_free(node);
    fc_assert_intact(fx->town);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_faults__a_write_on_a_full_disk,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults__an_import_on_a_full_disk,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults__a_bundle_on_a_full_disk,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
