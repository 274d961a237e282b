/* Recovery (pingan/recovery.h): backup and restore through the API, the
 * passphrase key derivation's limits, the restore hold refusing writes
 * until the parent's highest seq is held, and rekey card statements. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/crypto.h"
#include "pingan/error.h"
#include "pingan/record.h"
#include "pingan/recovery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Small Argon2id parameters keep the tests fast. */
static const pg_recovery_opts fast = {
    PG_RECOVERY_OPTIONS_VERSION, 1, 1024, NULL, NULL, NULL};

static void test_recovery__pwhash_refuses_parameters_out_of_range(void **s)
{
    (void)s;
    uint8_t key[32], salt[PG_PWHASH_SALT_LEN] = {0};
    assert_pg_fails(PG_EINVALID, pg_pwhash(key, sizeof(key), "x", 1, salt,
                                           PG_PWHASH_OPS_MAX + 1, 1024));
    assert_pg_fails(PG_EINVALID, pg_pwhash(key, sizeof(key), "x", 1, salt, 1,
                                           PG_PWHASH_MEMKIB_MAX + 1));
    uint8_t a[32], b[32];
    assert_pg_ok(pg_pwhash(a, sizeof(a), "pass", 4, salt, 1, 1024));
    assert_pg_ok(pg_pwhash(b, sizeof(b), "pasS", 4, salt, 1, 1024));
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_recovery__restore_round_trips_and_holds_writes(void **s)
{
    (void)s;
    char *root = testutil_mkdtemp();
    char dir[4096], file[4096], target[4096];
    pg_node *node = test_make_node(dir, root, "town", "430321112000", "石潭镇");
    pg_recovery_result res, res2;

    testutil_path(file, sizeof(file), root, "b.pgbk");
    testutil_path(target, sizeof(target), root, "restored");
    pg_field_value v[3] = {{"division", test_text("430321112000")},
                           {"category", test_text("城市管理")},
                           {"subject", test_text("路灯")}};
    assert_pg_ok(pg_record_put(NULL, node, "grid_event", NULL, v, 3, "t"));
    assert_pg_fails(PG_EINVALID,
                    pg_recovery_backup(node, file, "", 0, &fast, &res));
    assert_pg_ok(pg_recovery_backup(node, file, "pw", 2, &fast, &res));
    assert_int_equal(res.last_seq, 1);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_pg_fails(PG_EAUTH,
                    pg_recovery_restore(file, target, "pW", 2, NULL, &res2));
    assert_int_not_equal(stat(target, &st), 0);
    assert_pg_fails(PG_EEXISTS,
                    pg_recovery_restore(file, dir, "pw", 2, NULL, &res2));
    /* "DIR/" is DIR (the temporary directory goes beside it). */
    char slash[4100];
    snprintf(slash, sizeof(slash), "%s/", target);
    assert_pg_ok(pg_recovery_restore(file, slash, "pw", 2, NULL, &res2));
    assert_string_equal(res2.code, "430321112000");

    pg_node *r = NULL;
    assert_pg_ok(pg_node_open(&r, target));
    pg_recovery_hold h;
    assert_pg_ok(pg_recovery_hold_get(&h, r));
    assert_true(h.held);
    assert_int_equal(h.held_upto, 1);
    assert_pg_fails(PG_ECONFLICT,
                    pg_record_put(NULL, r, "grid_event", NULL, v, 3, "t"));
    /* The parent says it holds seq 3: not lifted while 2 and 3 are
     * missing; lifted at 1, and the next write continues after it. */
    bool lifted;
    int64_t now = pg_time_now_ms() + 1000;
    assert_pg_ok(pg_node__hold_confirm(r, 3, now, &lifted));
    assert_false(lifted);
    /* A bundle the parent made before the restore confirms nothing. */
    assert_pg_ok(pg_node__hold_confirm(r, 1, h.restored_ms - 1, &lifted));
    assert_false(lifted);
    assert_pg_ok(pg_node__hold_confirm(r, 1, now, &lifted));
    assert_true(lifted);
    assert_pg_ok(pg_record_put(NULL, r, "grid_event", NULL, v, 3, "t"));
    assert_int_equal(test_sql_int(r, "SELECT max(origin_seq) FROM log"), 2);
    pg_node_free(r);
    pg_node_free(node);
    testutil_rmtree(root);
    free(root);
}

static void test_recovery__rekey_statement_binds_the_last_seq(void **s)
{
    (void)s;
    char *root = testutil_mkdtemp();
    char dir[4096], card[4096];
    pg_node *node = test_make_node(dir, root, "town", "430321112000", "石潭镇");
    uint8_t old_pk[PG_SIGN_PK_LEN];
    memcpy(old_pk, pg_node_card(node)->sign_pk, sizeof(old_pk));
    char key_id[PG_KEY_ID_LEN + 1];
    int64_t last;

    testutil_path(card, sizeof(card), root, "town.rekey");
    assert_pg_ok(pg_recovery_rekey(node, card, key_id, &last));
    assert_int_equal(last, 0);
    FILE *f = fopen(card, "rb");
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    pg_rekey_card rc;
    assert_pg_ok(pg_recovery_card_parse(&rc, text, n));
    assert_string_equal(rc.card.key_id, key_id);
    assert_pg_ok(pg_recovery_card_verify(&rc, old_pk));
    rc.last_seq = 5; /* a later seq than the old key signed for */
    assert_pg_fails(PG_EAUTH, pg_recovery_card_verify(&rc, old_pk));
    assert_pg_fails(PG_EINVALID, pg_recovery_card_parse(&rc, "{}", 2));
    pg_node_free(node);

    /* The node opens with its new key. */
    pg_node *again = NULL;
    assert_pg_ok(pg_node_open(&again, dir));
    assert_string_equal(pg_node_card(again)->key_id, key_id);
    pg_node_free(again);
    testutil_rmtree(root);
    free(root);
}

/* A rekey card's old key id is echoed in the errors of verify and
 * certify: one that is not a key id (here with a newline) must be refused
 * as malformed, not reach a message that has to stay one line. */
static void test_recovery__rekey_card_refuses_an_old_key_id_not_hex(void **s)
{
    (void)s;
    char *root = testutil_mkdtemp();
    char dir[4096], card[4096];
    pg_node *node = test_make_node(dir, root, "town", "430321112000", "石潭镇");
    char key_id[PG_KEY_ID_LEN + 1];
    int64_t last;
    pg_rekey_card rc;

    testutil_path(card, sizeof(card), root, "town.rekey");
    assert_pg_ok(pg_recovery_rekey(node, card, key_id, &last));
    FILE *f = fopen(card, "rb");
    char text[8192], bad[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    assert_pg_ok(pg_recovery_card_parse(&rc, text, n));
    char *json = pg_card_to_json(&rc.card), hex[2 * PG_SIG_LEN + 1];
    assert_non_null(json);
    pg_hex(hex, rc.signature, sizeof(rc.signature));
    const char *ids[] = {"0123456789ab\\n22d", "0123456789ABCDEF",
                         "0123456789abcdeg"};
    for (size_t i = 0; i < 3; i++) {
        int len = snprintf(bad, sizeof(bad),
                           "{\"rekey\": 1, \"card\": %s, \"old_key_id\": "
                           "\"%s\", \"last_seq\": 0, \"signature\": \"%s\"}",
                           json, ids[i], hex);
        assert_true(len > 0 && (size_t)len < sizeof(bad));
        assert_pg_fails(PG_EINVALID,
                        pg_recovery_card_parse(&rc, bad, (size_t)len));
        assert_null(strchr(pg_error_last()->message, '\n'));
    }
    free(json);
    pg_node_free(node);
    testutil_rmtree(root);
    free(root);
}

/* A parent's certification of a child's new key is one transaction: when
 * pinning the new card fails after the revocation, the old key is not
 * left revoked, and the same rekey card succeeds once the fault is gone. */
static void test_recovery__certify_is_all_or_nothing(void **s)
{
    (void)s;
    char *root = testutil_mkdtemp();
    char dir[4096], card[4096];
    pg_node *county =
        test_make_node(dir, root, "county", "430321000000", "湘潭县");
    pg_node *town = test_make_node(dir, root, "town", "430321112000", "石潭镇");
    char *county_card = pg_card_to_json(pg_node_card(county));
    char *town_card = pg_card_to_json(pg_node_card(town));
    test_pin(county, town_card, PG_PEER_CHILD);
    test_pin(town, county_card, PG_PEER_PARENT);
    char key_id[PG_KEY_ID_LEN + 1];
    int64_t last;
    testutil_path(card, sizeof(card), root, "town.rekey");
    assert_pg_ok(pg_recovery_rekey(town, card, key_id, &last));
    FILE *f = fopen(card, "rb");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text), f);
    fclose(f);

    static const char *revoked = "SELECT count(*) FROM node WHERE code = "
                                 "'430321112000' AND revoked = 1";
    pg_recovery_certified res;
    /* The step after the revocation fails: keeping the old card. */
    assert_int_equal(
        sqlite3_exec(county->db, "DROP TABLE peer_retired", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(pg_recovery_certify(county, text, n, "测试员", &res),
                     PG_ERROR);
    assert_int_equal(test_sql_int(county, revoked), 0);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM audit WHERE "
                                          "action LIKE 'peer.re%'"),
                     0);
    pg_peer p;
    assert_pg_ok(pg_peer_get(&p, county, "430321112000"));
    assert_string_not_equal(p.key_id, key_id);

    assert_pg_ok(pg_store__create_sync_tables(county->db));
    assert_pg_ok(pg_recovery_certify(county, text, n, "测试员", &res));
    assert_true(res.revoked);
    assert_int_equal(test_sql_int(county, revoked), 1);
    assert_pg_ok(pg_peer_get(&p, county, "430321112000"));
    assert_string_equal(p.key_id, key_id);

    free(county_card);
    free(town_card);
    pg_node_free(county);
    pg_node_free(town);
    testutil_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery__pwhash_refuses_parameters_out_of_range),
        cmocka_unit_test(test_recovery__restore_round_trips_and_holds_writes),
        cmocka_unit_test(test_recovery__rekey_statement_binds_the_last_seq),
        cmocka_unit_test(test_recovery__certify_is_all_or_nothing),
        cmocka_unit_test(
            test_recovery__rekey_card_refuses_an_old_key_id_not_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
