/*
 * The audit trail (include/pingan/audit.h, FORMAT.md §9): entries are
 * chained with their operator, appended only inside the action's
 * transaction, refused UPDATE and DELETE by triggers; verify names the
 * first bad entry for a changed field, a removed entry and a reordered
 * entry; a chain rewritten with fresh hashes passes the plain check but
 * not the check against the head the parent recorded.  Bundles carry the
 * head to the parent and the parent's copy back; heads files are signed
 * by the parent and checked by the child.
 */
#include "testutil.h"

#include "audit_internal.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/audit.h"
#include "pingan/buf.h"
#include "pingan/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CITY, COUNTY, OTHER, NNODES };

typedef struct fixture {
    char *root;
    char dir[NNODES][4096];
    pg_node *node[NNODES];
    char *card[NNODES];
} fixture;

static const char *const codes[NNODES] = {"430300000000", "430302000000",
                                          "430304000000"};
static const char *const names[NNODES] = {"湘潭市", "雨湖区", "岳塘区"};

/* Each test gets fresh nodes: tampering leaves a node broken. */
static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    for (int i = 0; i < NNODES; i++) {
        testutil_path(fx->dir[i], sizeof(fx->dir[i]), fx->root, codes[i]);
        if (pg_node_init_as(fx->dir[i], codes[i], names[i], "管理员甲") < 0 ||
            pg_node_open(&fx->node[i], fx->dir[i]) < 0) {
            print_error("setup: %s\n", pg_error_last()->message);
            return -1;
        }
        fx->card[i] = pg_card_to_json(pg_node_card(fx->node[i]));
        if (!fx->card[i])
            return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    test_nodes_free(fx->node, fx->card, NNODES);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct listed {
    int64_t seq[64];
    char op[64][64];
    char action[64][32];
    char subject[64][32];
    size_t n;
} listed;

static int collect(const pg_audit_entry *e, void *payload)
{
    listed *l = payload;
    if (l->n < 64) {
        l->seq[l->n] = e->seq;
        snprintf(l->op[l->n], sizeof(l->op[0]), "%s", e->operator_name);
        snprintf(l->action[l->n], sizeof(l->action[0]), "%s", e->action);
        snprintf(l->subject[l->n], sizeof(l->subject[0]), "%s", e->subject);
    }
    l->n++;
    return 0;
}

static void sql(pg_node *node, const char *text)
{
    char *err = NULL;
    if (sqlite3_exec(node->db, text, NULL, NULL, &err) != SQLITE_OK)
        print_error("%s: %s\n", text, err ? err : "?");
    assert_null(err);
}

static void drop_triggers(pg_node *node)
{
    sql(node, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete");
}

/* Append n entries through the internal call, as the backup, restore and
 * rekey commands will. */
static void append_n(pg_node *node, int n)
{
    for (int i = 0; i < n; i++) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"n\":%d}", i);
        assert_pg_ok(pg_store__begin(node->db));
        assert_pg_ok(
            pg_audit__append(node, "test.step", "430302000000", detail));
        assert_pg_ok(pg_store__commit(node->db));
    }
}

static void expect_bad(pg_node *node, const pg_audit_head *against, int64_t seq)
{
    pg_audit_check c;
    char want[64];
    assert_pg_fails(PG_ECORRUPT, pg_audit_verify(&c, node, against));
    assert_int_equal(c.bad_seq, seq);
    snprintf(want, sizeof(want), "audit entry %lld ", (long long)seq);
    if (!strstr(pg_error_last()->message, want))
        print_error("message '%s' does not name entry %lld\n",
                    pg_error_last()->message, (long long)seq);
    assert_non_null(strstr(pg_error_last()->message, want));
}

static void expect_good(pg_node *node, const pg_audit_head *against,
                        int64_t entries)
{
    pg_audit_check c;
    assert_pg_ok(pg_audit_verify(&c, node, against));
    assert_int_equal(c.entries, entries);
    assert_int_equal(c.bad_seq, 0);
    assert_int_equal(c.head.seq, entries);
}

/* Recompute every prev and hash from entry 1 on, as someone who dropped
 * the triggers would after changing an entry. */
static void rewrite_chain(pg_node *node)
{
    sqlite3_stmt *st = NULL, *up = NULL;
    uint8_t prev[PG_HASH_LEN] = {0};

    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT seq, at_ms, operator, action, "
                                        "subject, detail FROM audit ORDER BY "
                                        "seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "UPDATE audit SET prev = ?, hash = ? "
                                        "WHERE seq = ?",
                                        -1, &up, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        pg_audit_entry e;
        uint8_t h[PG_HASH_LEN];
        memset(&e, 0, sizeof(e));
        e.seq = sqlite3_column_int64(st, 0);
        e.at_ms = sqlite3_column_int64(st, 1);
        e.operator_name = (const char *)sqlite3_column_text(st, 2);
        e.action = (const char *)sqlite3_column_text(st, 3);
        e.subject = (const char *)sqlite3_column_text(st, 4);
        e.detail = (const char *)sqlite3_column_text(st, 5);
        pg_audit_hash(h, prev, &e);
        sqlite3_bind_blob(up, 1, prev, PG_HASH_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_blob(up, 2, h, PG_HASH_LEN, SQLITE_TRANSIENT);
        sqlite3_bind_int64(up, 3, e.seq);
        assert_int_equal(sqlite3_step(up), SQLITE_DONE);
        sqlite3_reset(up);
        memcpy(prev, h, PG_HASH_LEN);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_audit__admin_actions_are_chained_with_their_operator(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    listed l = {0};

    assert_pg_ok(pg_node_set_operator(city, "王科长"));
    assert_pg_ok(pg_peer_add(city, fx->card[COUNTY], strlen(fx->card[COUNTY]),
                             PG_PEER_CHILD, NULL, NULL));
    assert_pg_ok(pg_peer_set(city, codes[COUNTY], "http://127.0.0.1:1", NULL));
    assert_pg_ok(pg_node_set_operator(city, NULL));
    assert_pg_ok(pg_peer_remove(city, codes[COUNTY]));
    /* A refused action leaves no entry. */
    assert_pg_fails(PG_ENOTFOUND, pg_peer_remove(city, codes[COUNTY]));
    /* A refused operator name: actions that would be recorded fail. */
    assert_pg_fails(PG_EINVALID, pg_node_set_operator(city, "a\nb"));
    assert_pg_fails(PG_EINVALID, pg_peer_add(city, fx->card[COUNTY],
                                             strlen(fx->card[COUNTY]),
                                             PG_PEER_CHILD, NULL, NULL));
    pg_peer p;
    assert_pg_fails(PG_ENOTFOUND, pg_peer_get(&p, city, codes[COUNTY]));
    assert_pg_ok(pg_node_set_operator(city, NULL));

    assert_pg_ok(pg_audit_list(city, 0, NULL, collect, &l));
    assert_int_equal(l.n, 4);
    const char *want_action[] = {"init", "peer.add", "peer.set", "peer.remove"};
    const char *want_op[] = {"管理员甲", "王科长", "王科长", "unknown"};
    const char *want_subject[] = {codes[CITY], codes[COUNTY], codes[COUNTY],
                                  codes[COUNTY]};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(l.seq[i], (int64_t)i + 1);
        assert_string_equal(l.action[i], want_action[i]);
        assert_string_equal(l.op[i], want_op[i]);
        assert_string_equal(l.subject[i], want_subject[i]);
    }
    listed only = {0};
    assert_pg_ok(pg_audit_list(city, 0, "peer.set", collect, &only));
    assert_int_equal(only.n, 1);
    assert_int_equal(only.seq[0], 3);
    listed later = {0};
    assert_pg_ok(
        pg_audit_list(city, pg_time_now_ms() + 60000, NULL, collect, &later));
    assert_int_equal(later.n, 0);
    expect_good(city, NULL, 4);

    pg_audit_head head;
    assert_pg_ok(pg_audit_head_get(&head, city));
    assert_int_equal(head.seq, 4);
}

static void test_audit__append_only_inside_a_transaction(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node[COUNTY];

    assert_pg_fails(PG_EINVALID, pg_audit__append(n, "test", "", "{}"));
    assert_pg_ok(pg_store__begin(n->db));
    assert_pg_fails(PG_EINVALID, pg_audit__append(n, "test", "", "[1]"));
    assert_pg_fails(PG_EINVALID, pg_audit__append(n, "test", "", "{bad"));
    assert_pg_ok(pg_audit__append(n, "test", "", NULL));
    /* Rolled back with its action: no entry without the action. */
    pg_store__rollback(n->db);
    assert_int_equal(test_sql_int(n, "SELECT count(*) FROM audit"), 1);
    append_n(n, 2);
    assert_int_equal(test_sql_int(n, "SELECT count(*) FROM audit"), 3);
    expect_good(n, NULL, 3);
}

static void test_audit__triggers_refuse_update_and_delete(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node[COUNTY];

    append_n(n, 2);
    assert_int_not_equal(sqlite3_exec(n->db,
                                      "UPDATE audit SET operator = 'x' "
                                      "WHERE seq = 2",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(n->db, "DELETE FROM audit WHERE seq = 3",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    /* REPLACE deletes without firing DELETE triggers; only the next seq
     * may be inserted. */
    assert_int_not_equal(
        sqlite3_exec(n->db,
                     "INSERT OR REPLACE INTO audit SELECT seq, at_ms, 'x', "
                     "action, subject, detail, prev, hash FROM audit WHERE "
                     "seq = 2",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(n->db,
                     "INSERT INTO audit SELECT seq + 5, at_ms, operator, "
                     "action, subject, detail, prev, hash FROM audit WHERE "
                     "seq = 3",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(test_sql_int(n, "SELECT count(*) FROM audit"), 3);
    expect_good(n, NULL, 3);
}

static void test_audit__a_changed_field_is_named(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node[COUNTY];
    static const char *const changes[][2] = {
        {"UPDATE audit SET operator = 'mallory' WHERE seq = 3",
         "UPDATE audit SET operator = 'unknown' WHERE seq = 3"},
        {"UPDATE audit SET action = 'test.other' WHERE seq = 3",
         "UPDATE audit SET action = 'test.step' WHERE seq = 3"},
        {"UPDATE audit SET subject = '430304000000' WHERE seq = 3",
         "UPDATE audit SET subject = '430302000000' WHERE seq = 3"},
        {"UPDATE audit SET detail = '{\"n\":9}' WHERE seq = 3",
         "UPDATE audit SET detail = '{\"n\":1}' WHERE seq = 3"},
        {"UPDATE audit SET at_ms = at_ms + 1 WHERE seq = 3",
         "UPDATE audit SET at_ms = at_ms - 1 WHERE seq = 3"},
        {"UPDATE audit SET hash = zeroblob(32) WHERE seq = 3", NULL},
    };
    /* Bytes after a NUL, or a value of another type, where C reads the
     * same text as before. */
    static const char *const hidden[][2] = {
        {"UPDATE audit SET detail = detail || char(0) || 'x' WHERE seq = 3",
         "UPDATE audit SET detail = substr(detail, 1, length(detail)) "
         "WHERE seq = 3"},
        {"UPDATE audit SET operator = CAST(operator AS BLOB) WHERE seq = 3",
         "UPDATE audit SET operator = CAST(operator AS TEXT) WHERE seq = 3"},
        {"UPDATE audit SET at_ms = at_ms || 'x' WHERE seq = 3",
         "UPDATE audit SET at_ms = CAST(rtrim(at_ms, 'x') AS INTEGER) WHERE "
         "seq = 3"},
    };

    append_n(n, 4);
    expect_good(n, NULL, 5);
    drop_triggers(n);
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        sql(n, hidden[i][0]);
        expect_bad(n, NULL, 3);
        sql(n, hidden[i][1]);
        expect_good(n, NULL, 5);
    }
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        sql(n, changes[i][0]);
        /* A zeroed hash breaks entry 3's own check. */
        expect_bad(n, NULL, 3);
        if (changes[i][1]) {
            sql(n, changes[i][1]);
            expect_good(n, NULL, 5);
        }
    }
}

static void test_audit__a_removed_or_reordered_entry_is_named(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node[COUNTY];

    append_n(n, 5); /* 6 entries */
    drop_triggers(n);
    /* Entries 3 and 4 swap places (all but their seq). */
    sql(n, "CREATE TEMP TABLE a AS SELECT * FROM audit WHERE seq IN (3, 4);"
           "UPDATE audit SET (at_ms, operator, action, subject, detail, prev, "
           "hash) = (SELECT at_ms, operator, action, subject, detail, prev, "
           "hash FROM a WHERE a.seq = 7 - audit.seq) WHERE seq IN (3, 4)");
    expect_bad(n, NULL, 3);
    sql(n, "UPDATE audit SET (at_ms, operator, action, subject, detail, prev, "
           "hash) = (SELECT at_ms, operator, action, subject, detail, prev, "
           "hash FROM a WHERE a.seq = audit.seq) WHERE seq IN (3, 4)");
    expect_good(n, NULL, 6);
    /* Renumbered: entry 4 moved after 6. */
    sql(n, "UPDATE audit SET seq = 7 WHERE seq = 4");
    expect_bad(n, NULL, 4);
    sql(n, "UPDATE audit SET seq = 4 WHERE seq = 7");
    expect_good(n, NULL, 6);
    /* Removed from the middle. */
    sql(n, "DELETE FROM audit WHERE seq = 2");
    expect_bad(n, NULL, 2);
}

static void
test_audit__a_rewritten_chain_fails_only_against_the_parent(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node[COUNTY];
    pg_audit_head parent_head;

    append_n(n, 5); /* 6 entries */
    assert_pg_ok(pg_audit_head_get(&parent_head, n));
    assert_int_equal(parent_head.seq, 6);
    append_n(n, 2); /* 8: newer than the head the parent holds */
    expect_good(n, &parent_head, 8);

    drop_triggers(n);
    sql(n, "UPDATE audit SET detail = '{\"n\":42}' WHERE seq = 2");
    expect_bad(n, NULL, 2);
    rewrite_chain(n);
    /* Consistent again on its own... */
    expect_good(n, NULL, 8);
    /* ...but no longer holding what the parent recorded. */
    expect_bad(n, &parent_head, 6);

    /* Cut back to before the head: the head is missing. */
    sql(n, "DELETE FROM audit WHERE seq >= 5");
    expect_good(n, NULL, 4);
    expect_bad(n, &parent_head, 5);
}

static void
test_audit__child_heads_keep_the_newest_and_record_a_fork(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    pg_audit_head h5 = {.seq = 5}, h3 = {.seq = 3}, h5b = {.seq = 5}, got;
    memset(h5.hash, 0xa5, PG_HASH_LEN);
    memset(h3.hash, 0x33, PG_HASH_LEN);
    memset(h5b.hash, 0xb5, PG_HASH_LEN);

    assert_pg_ok(pg_store__begin(city->db));
    assert_pg_ok(pg_audit__child_head_received(city, codes[COUNTY], &h5));
    assert_pg_ok(pg_audit__child_head_received(city, codes[COUNTY], &h3));
    assert_pg_ok(pg_audit__child_head_received(city, codes[COUNTY], &h5b));
    assert_pg_ok(pg_store__commit(city->db));
    assert_pg_ok(pg_audit__child_head_get(&got, city, codes[COUNTY]));
    assert_int_equal(got.seq, 5);
    assert_memory_equal(got.hash, h5.hash, PG_HASH_LEN);
    listed l = {0};
    assert_pg_ok(pg_audit_list(city, 0, "audit.fork", collect, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.subject[0], codes[COUNTY]);
}

static void test_audit__heads_files_are_signed_by_the_parent(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY], *county = fx->node[COUNTY];
    pg_buf file = PG_BUF_INIT;
    pg_audit_head mine, got;
    char parent[PG_CODE_LEN + 1];

    assert_pg_ok(pg_peer_add(city, fx->card[COUNTY], strlen(fx->card[COUNTY]),
                             PG_PEER_CHILD, NULL, NULL));
    assert_pg_ok(pg_peer_add(county, fx->card[CITY], strlen(fx->card[CITY]),
                             PG_PEER_PARENT, NULL, NULL));
    /* The county's head reaches the city in a bundle's header. */
    char path[4200];
    testutil_path(path, sizeof(path), fx->root, "up.pgb");
    pg_export_opts o = {.to = codes[CITY], .out = path, .ack_only = true};
    assert_pg_ok(pg_bundle_export(county, &o, NULL, NULL));
    assert_pg_ok(pg_audit_head_get(&mine, county));
    pg_bundle_report r;
    assert_pg_ok(pg_bundle_import(city, path, &r));
    assert_pg_ok(pg_audit__child_head_get(&got, city, codes[COUNTY]));
    assert_int_equal(got.seq, mine.seq);
    assert_memory_equal(got.hash, mine.hash, PG_HASH_LEN);
    listed l = {0};
    assert_pg_ok(pg_audit_list(city, 0, "bundle.accept", collect, &l));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.subject[0], codes[COUNTY]);

    /* And the city's copy comes back down. */
    testutil_path(path, sizeof(path), fx->root, "down.pgb");
    o.to = codes[COUNTY];
    assert_pg_ok(pg_bundle_export(city, &o, NULL, NULL));
    assert_pg_ok(pg_bundle_import(county, path, &r));
    assert_pg_ok(pg_audit_parent_seen(&got, parent, county));
    assert_int_equal(got.seq, mine.seq);
    assert_memory_equal(got.hash, mine.hash, PG_HASH_LEN);
    assert_string_equal(parent, codes[CITY]);
    expect_good(county, &got, mine.seq + 1); /* + the bundle.accept */

    assert_pg_ok(pg_audit_heads_export(&file, city));
    memset(&got, 0, sizeof(got));
    assert_pg_ok(pg_audit_heads_check(&got, parent, county,
                                      (const char *)file.data, file.len));
    assert_int_equal(got.seq, mine.seq);
    assert_memory_equal(got.hash, mine.hash, PG_HASH_LEN);
    assert_string_equal(parent, codes[CITY]);

    /* A changed seq no longer verifies. */
    char *text = strdup((const char *)file.data);
    assert_non_null(text);
    char *seq = strstr(text, "\"seq\": ");
    assert_non_null(seq);
    seq[7] = seq[7] == '9' ? '8' : (char)(seq[7] + 1);
    assert_pg_fails(
        PG_EAUTH, pg_audit_heads_check(&got, NULL, county, text, strlen(text)));
    free(text);
    /* Not from this node's parent. */
    pg_buf other = PG_BUF_INIT;
    assert_pg_ok(pg_audit_heads_export(&other, fx->node[OTHER]));
    assert_pg_fails(PG_EAUTH,
                    pg_audit_heads_check(&got, NULL, county,
                                         (const char *)other.data, other.len));
    /* Malformed. */
    assert_pg_fails(PG_EINVALID,
                    pg_audit_heads_check(&got, NULL, county, "{\"x\": 1}", 8));
    /* The city's own file holds no head of the city. */
    assert_pg_fails(PG_EAUTH,
                    pg_audit_heads_check(&got, NULL, city,
                                         (const char *)file.data, file.len));
    pg_buf_dispose(&other);
    pg_buf_dispose(&file);
}

/* A child's head reaches the parent in an ack-only bundle. */
static void send_head(fixture *fx, int child, const char *name)
{
    char path[4200];
    pg_bundle_report r;
    testutil_path(path, sizeof(path), fx->root, name);
    pg_export_opts o = {.to = codes[CITY], .out = path, .ack_only = true};
    assert_pg_ok(pg_bundle_export(fx->node[child], &o, NULL, NULL));
    assert_pg_ok(pg_bundle_import(fx->node[CITY], path, &r));
}

static void test_audit__a_childs_heads_file_holds_only_its_head(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY], *county = fx->node[COUNTY];
    pg_buf mine_file = PG_BUF_INIT, other_file = PG_BUF_INIT;
    pg_audit_head mine, got;
    char parent[PG_CODE_LEN + 1];

    for (int i = COUNTY; i <= OTHER; i++) {
        assert_pg_ok(pg_peer_add(city, fx->card[i], strlen(fx->card[i]),
                                 PG_PEER_CHILD, NULL, NULL));
        assert_pg_ok(pg_peer_add(fx->node[i], fx->card[CITY],
                                 strlen(fx->card[CITY]), PG_PEER_PARENT, NULL,
                                 NULL));
    }
    assert_pg_ok(pg_audit_head_get(&mine, county));
    send_head(fx, COUNTY, "county.pgb");
    send_head(fx, OTHER, "other.pgb");

    assert_pg_ok(pg_audit_heads_export_child(&mine_file, city, codes[COUNTY]));
    assert_non_null(strstr((const char *)mine_file.data, codes[COUNTY]));
    assert_null(strstr((const char *)mine_file.data, codes[OTHER]));
    assert_pg_ok(pg_audit_heads_check(
        &got, parent, county, (const char *)mine_file.data, mine_file.len));
    assert_int_equal(got.seq, mine.seq);
    assert_memory_equal(got.hash, mine.hash, PG_HASH_LEN);
    assert_string_equal(parent, codes[CITY]);

    /* The sibling's file, signed alike, holds no head of this child. */
    assert_pg_ok(pg_audit_heads_export_child(&other_file, city, codes[OTHER]));
    assert_pg_fails(PG_ENOTFOUND,
                    pg_audit_heads_check(&got, NULL, county,
                                         (const char *)other_file.data,
                                         other_file.len));
    pg_buf_dispose(&other_file);
    pg_buf_init(&other_file, 1 << 20);
    assert_pg_fails(PG_EINVALID,
                    pg_audit_heads_export_child(&other_file, city, "4303"));
    assert_int_equal(other_file.len, 0);
    pg_buf_dispose(&other_file);
    pg_buf_dispose(&mine_file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_audit__admin_actions_are_chained_with_their_operator, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__append_only_inside_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__triggers_refuse_update_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit__a_changed_field_is_named,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__a_removed_or_reordered_entry_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__a_rewritten_chain_fails_only_against_the_parent, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__child_heads_keep_the_newest_and_record_a_fork, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__heads_files_are_signed_by_the_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_audit__a_childs_heads_file_holds_only_its_head, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
