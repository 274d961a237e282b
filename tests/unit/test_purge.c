/*
 * Purge (pingan/purge.h): the county 湘潭县 and its township 石潭镇.
 *
 * A purged txn keeps its digest and its origin's signature, carries a
 * redaction note by the purging node that names the purge, and holds
 * neither the values nor their salts nor the seed (the bytes are searched
 * for each).  A full copy of a purged record's txn arriving later (before
 * or after the purge record, or again) is stored purged, its signature
 * checked first.  Refusals leave the log, the records and the audit trail
 * as they were; --before never takes an open case.
 */
#include "testutil.h"

#include "pingan/crypto.h"
#include "pingan/exchange.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/purge.h"
#include "pingan/record.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include "merge.h"
#include "node_internal.h"
#include "store.h"
#include "txn_internal.h"
#include "write_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP     "测试员"
#define NAME   "欧阳秀英"
#define PHONE  "13807320000"
#define IDNO   "43032119800101002X"
#define PHONE2 "13907321111"

enum { COUNTY, SHITAN, NNODES };

static const test_node_spec specs[NNODES] = {
    {"430321000000", "湘潭县"},
    {"430321112000", "石潭镇"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
} fixture;

static int teardown(void **state)
{
    fixture *fx = *state;
    test_nodes_free(fx->node, fx->card, NNODES);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

static void export_to(fixture *fx, int from, int to, const char *path);
static void import_ok(pg_node *node, const char *path);

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    if (test_nodes_setup(fx->node, fx->card, fx->root, specs, NNODES) < 0) {
        teardown((void **)&fx);
        return -1;
    }
    test_pin(fx->node[COUNTY], fx->card[SHITAN], PG_PEER_CHILD);
    test_pin(fx->node[SHITAN], fx->card[COUNTY], PG_PEER_PARENT);
    /* The county's first bundle tells the township its schema version, so
     * the township sends it the purge (a v2 collection) too. */
    char hello[4096];
    testutil_path(hello, sizeof(hello), fx->root, "hello.pgb");
    export_to(fx, COUNTY, SHITAN, hello);
    import_ok(fx->node[SHITAN], hello);
    *state = fx;
    return 0;
}

static bool has_bytes(const void *hay, size_t n, const void *needle, size_t k)
{
    const uint8_t *h = hay;
    for (size_t i = 0; k && n >= k && i <= n - k; i++)
        if (memcmp(h + i, needle, k) == 0)
            return true;
    return false;
}

/* A closed dispute (closed_at set) with a name, phone and ID number; its
 * id.  No status: a status would have to walk the lifecycle in txns of
 * its own, and purge goes by closed_at. */
static void put_dispute(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                        const char *closed_at)
{
    int64_t ms = 0;
    pg_field_value v[] = {
        {"division", test_text("430321112000")},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text(NAME "与邻居因排水沟发生纠纷")},
        {"applicant_name", test_text(NAME)},
        {"applicant_phone", test_text(PHONE)},
        {"applicant_id_number", test_text(IDNO)},
        {"closed_at", test_integer(0)},
    };
    size_t n = sizeof(v) / sizeof(v[0]);
    if (closed_at) {
        assert_int_equal(pg_time_parse(&ms, closed_at), 0);
        v[n - 1].value = test_integer(ms);
    } else {
        n--;
    }
    assert_pg_ok(pg_record_put(id, node, "dispute", NULL, v, n, OP));
}

/* The bytes of the log entry of (origin, origin seq). */
static test_blob log_body(pg_node *node, const char *origin, uint64_t seq)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT body FROM log WHERE origin = ? "
                                        "AND origin_seq = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    test_blob b = test_blob_copy(sqlite3_column_blob(st, 0),
                                 (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return b;
}

typedef struct keys {
    fixture *fx;
} keys;

static int key_of(void *ctx, const char *hop, const char *key_id,
                  uint8_t pk[PG_SIGN_PK_LEN])
{
    keys *k = ctx;
    for (int i = 0; i < NNODES; i++) {
        const pg_card *c = pg_node_card(k->fx->node[i]);
        if (strcmp(c->code, hop) == 0 && strcmp(c->key_id, key_id) == 0) {
            memcpy(pk, c->sign_pk, PG_SIGN_PK_LEN);
            return 0;
        }
    }
    return PG_ENOTFOUND;
}

/* The txn in body verifies: origin signature, digest as logged, notes. */
static void assert_verifies(fixture *fx, const test_blob *body,
                            const pg_card *origin, const uint8_t *digest)
{
    pg_txn *txn = NULL;
    keys k = {fx};
    assert_pg_ok(pg_txn_decode(&txn, body->data, body->len));
    assert_pg_ok(pg_txn_verify(txn, origin->sign_pk));
    if (digest)
        assert_memory_equal(txn->digest, digest, PG_HASH_LEN);
    assert_pg_ok(pg_txn_verify_notes(txn, key_of, &k));
    pg_txn_free(txn);
}

static void
test_purge__the_purged_txn_verifies_and_holds_no_value_or_salt(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN];
    const pg_card *card = pg_node_card(town);
    char id[PG_RECORD_ID_LEN + 1];
    pg_purge_result res;
    uint8_t salts[8][PG_SALT_LEN];
    size_t nsalts = 0;

    put_dispute(id, town, "2026-03-01T10:00:00+08:00");
    test_blob before = log_body(town, card->code, 1);
    assert_true(has_bytes(before.data, before.len, PHONE, strlen(PHONE)));
    pg_txn *orig = NULL;
    assert_pg_ok(pg_txn_decode(&orig, before.data, before.len));
    assert_pg_ok(pg_txn_digest(orig));
    for (size_t i = 0; i < orig->nchanges; i++) {
        const char *f = orig->changes[i].field;
        if (strcmp(f, "applicant_name") == 0 ||
            strcmp(f, "applicant_phone") == 0 ||
            strcmp(f, "applicant_id_number") == 0 || strcmp(f, "summary") == 0)
            assert_pg_ok(
                pg_txn__salt(salts[nsalts++], orig, &orig->changes[i]));
    }
    assert_int_equal(nsalts, 4);

    pg_purge_request req = {
        .collection = "dispute", .id = id, .operator_name = OP};
    assert_pg_ok(pg_purge_run(town, &req, NULL, NULL, &res));
    assert_int_equal(res.records, 1);
    assert_int_equal(res.values, 4);
    assert_int_equal(res.txns, 1);
    assert_int_equal(res.purge_txns, 1);
    assert_true(res.wiped);

    test_blob after = log_body(town, card->code, 1);
    assert_verifies(fx, &after, card, orig->digest);
    static const char *const gone[] = {NAME, PHONE, IDNO, "排水沟"};
    for (size_t i = 0; i < 4; i++)
        assert_false(
            has_bytes(after.data, after.len, gone[i], strlen(gone[i])));
    for (size_t i = 0; i < nsalts; i++)
        assert_false(has_bytes(after.data, after.len, salts[i], PG_SALT_LEN));
    assert_false(has_bytes(after.data, after.len, orig->seed, PG_SEED_LEN));

    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, after.data, after.len));
    assert_false(txn->has_seed);
    size_t dropped = 0;
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *c = &txn->changes[i];
        if (c->form == PG_CHANGE_DROPPED)
            dropped++;
        else
            assert_int_equal(c->form, PG_CHANGE_SALTED);
    }
    assert_int_equal(dropped, 4);
    assert_int_equal(txn->nnotes, 4);
    assert_string_equal(txn->notes[0].hop, card->code);
    assert_string_equal(txn->notes[0].transform, "drop");
    assert_true(strncmp(txn->notes[0].policy_id, "purge:", 6) == 0);
    assert_int_equal(txn->nhop_sigs, 1);
    pg_txn_free(txn);

    /* The row keeps what is not personal; the record still counts. */
    assert_int_equal(test_sql_int(town, "SELECT count(*) FROM dispute WHERE "
                                        "applicant_phone IS NULL AND summary "
                                        "IS NULL AND closed_at IS NOT NULL"),
                     1);
    assert_int_equal(test_sql_int(town,
                                  "SELECT count(*) FROM purge WHERE basis = "
                                  "'" PG_PURGE_BASIS_DEFAULT "'"),
                     1);
    assert_int_equal(test_sql_int(town, "SELECT count(*) FROM audit WHERE "
                                        "action = 'purge'"),
                     1);
    pg_txn_free(orig);
    test_blob_free(&before);
    test_blob_free(&after);
}

static int on_export(const pg_export_file *file, void *payload)
{
    (void)file;
    (*(int *)payload)++;
    return 0;
}

static void export_to(fixture *fx, int from, int to, const char *path)
{
    int files = 0;
    pg_export_opts o = {.to = specs[to].code, .out = path};
    assert_pg_ok(pg_bundle_export(fx->node[from], &o, on_export, &files));
    assert_int_equal(files, 1);
}

static void import_ok(pg_node *node, const char *path)
{
    pg_bundle_report r;
    int rc = pg_bundle_import(node, path, &r);
    if (rc != 0)
        print_error("importing %s: %d %s\n", path, rc, r.message);
    assert_int_equal(rc, 0);
    if (r.quarantined) {
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(node->db, "SELECT reason FROM quarantine", -1, &st,
                           NULL);
        while (sqlite3_step(st) == SQLITE_ROW)
            print_error("quarantined: %s\n", sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    assert_int_equal(r.quarantined, 0);
    assert_int_equal(r.pending, 0);
}

static void test_purge__a_later_full_copy_is_stored_purged(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN], *county = fx->node[COUNTY];
    const pg_card *card = pg_node_card(town);
    char id[PG_RECORD_ID_LEN + 1], early[4096], late[4096];
    pg_purge_result res;

    put_dispute(id, town, "2026-03-01T10:00:00+08:00");
    testutil_path(early, sizeof(early), fx->root, "early.pgb");
    testutil_path(late, sizeof(late), fx->root, "late.pgb");
    export_to(fx, SHITAN, COUNTY, early);

    pg_purge_request req = {
        .collection = "dispute", .id = id, .operator_name = OP};
    assert_pg_ok(pg_purge_run(town, &req, NULL, NULL, &res));
    export_to(fx, SHITAN, COUNTY, late);

    import_ok(county, late); /* the purge first: nothing to erase yet */
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM purged"), 1);
    import_ok(county, early); /* then the full txn: stored purged */
    test_blob got = log_body(county, card->code, 1);
    assert_false(has_bytes(got.data, got.len, PHONE, strlen(PHONE)));
    assert_false(has_bytes(got.data, got.len, NAME, strlen(NAME)));
    assert_verifies(fx, &got, card, NULL);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM dispute WHERE "
                                          "applicant_phone IS NULL AND "
                                          "closed_at IS NOT NULL"),
                     1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM hist WHERE "
                                          "value IS NOT NULL AND value LIKE "
                                          "'%" PHONE "%'"),
                     0);

    /* Again, as a fuller copy of a txn held: it stays purged. */
    import_ok(county, early);
    test_blob again = log_body(county, card->code, 1);
    assert_int_equal(again.len, got.len);
    assert_memory_equal(again.data, got.data, got.len);
    test_blob_free(&got);
    test_blob_free(&again);
}

static void test_purge__received_purge_erases_the_copy_held(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN], *county = fx->node[COUNTY];
    const pg_card *card = pg_node_card(town);
    char id[PG_RECORD_ID_LEN + 1], b1[4096], b2[4096];
    pg_purge_result res;

    put_dispute(id, town, "2026-03-01T10:00:00+08:00");
    testutil_path(b1, sizeof(b1), fx->root, "b1.pgb");
    testutil_path(b2, sizeof(b2), fx->root, "b2.pgb");
    export_to(fx, SHITAN, COUNTY, b1);
    import_ok(county, b1);
    test_blob full = log_body(county, card->code, 1);
    assert_true(has_bytes(full.data, full.len, PHONE, strlen(PHONE)));

    pg_purge_request req = {.collection = "dispute",
                            .before_ms = pg_time_now_ms(),
                            .operator_name = OP};
    assert_pg_ok(pg_purge_run(town, &req, NULL, NULL, &res));
    assert_int_equal(res.records, 1);
    export_to(fx, SHITAN, COUNTY, b2);
    import_ok(county, b2);
    test_blob got = log_body(county, card->code, 1);
    assert_false(has_bytes(got.data, got.len, PHONE, strlen(PHONE)));
    assert_verifies(fx, &got, card, NULL);
    /* The county's own note: it purged its copy itself. */
    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, got.data, got.len));
    assert_string_equal(txn->notes[0].hop, specs[COUNTY].code);
    pg_txn_free(txn);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM dispute WHERE "
                                          "applicant_name IS NULL"),
                     1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM audit WHERE "
                                          "action = 'purge'"),
                     1);
    test_blob_free(&full);
    test_blob_free(&got);
}

/* A purge filed under the township's division that names a record of the
 * county's own division: accepted (the township covers its division) but
 * it erases nothing there, and later txns of that record keep their
 * values. */
static void test_purge__a_purge_reaches_only_its_division(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN], *county = fx->node[COUNTY];
    char cid[PG_RECORD_ID_LEN + 1], pid[PG_RECORD_ID_LEN + 1], path[4096];
    pg_field_value v[] = {
        {"division", test_text("430321000000")},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("县级纠纷")},
        {"applicant_phone", test_text(PHONE)},
    };
    assert_pg_ok(pg_record_put(cid, county, "dispute", NULL, v, 4, OP));

    const pg_collection *pc =
        pg_schema_collection(pg_schema_current(), "purge");
    pg_field_value pv[] = {
        {"division", test_text("430321112000")},
        {"record_id", test_text(cid)},
        {"purged_at", test_integer(pg_time_now_ms())},
    };
    size_t idx[3];
    char division[PG_CODE_LEN + 1];
    assert_pg_ok(pg_store__begin(town->db));
    assert_pg_ok(pg_write__validate(idx, division, town, pc, pv, 3, true));
    assert_pg_ok(pg_write__create(pid, town, pc, division, pv, idx, 3, OP));
    assert_pg_ok(pg_store__commit(town->db));
    testutil_path(path, sizeof(path), fx->root, "bogus.pgb");
    export_to(fx, SHITAN, COUNTY, path);
    import_ok(county, path);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM purged WHERE "
                                          "division = '430321112000'"),
                     1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM dispute WHERE "
                                          "applicant_phone IS NOT NULL"),
                     1);
    pg_field_value w = {"applicant_phone", test_text("13807321234")};
    assert_pg_ok(pg_record_put(NULL, county, "dispute", cid, &w, 1, OP));
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM dispute WHERE "
                                          "applicant_phone = '13807321234'"),
                     1);
}

typedef struct seen {
    char ids[8][PG_RECORD_ID_LEN + 1];
    size_t n;
} seen;

static int on_target(const pg_purge_target *t, void *payload)
{
    seen *s = payload;
    if (s->n < 8)
        snprintf(s->ids[s->n++], PG_RECORD_ID_LEN + 1, "%s", t->record_id);
    return 0;
}

static int64_t state_sum(pg_node *node)
{
    return test_sql_int(node, "SELECT (SELECT count(*) FROM log) * 1000000 + "
                              "(SELECT count(*) FROM audit) * 1000 + "
                              "(SELECT count(*) FROM dispute WHERE "
                              "applicant_phone IS NOT NULL)");
}

static void test_purge__refusals_change_nothing(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN];
    char id[PG_RECORD_ID_LEN + 1], open_id[PG_RECORD_ID_LEN + 1];
    pg_purge_result res;
    seen s = {0};

    put_dispute(id, town, "2026-03-01T10:00:00+08:00");
    put_dispute(open_id, town, NULL);
    /* A record this node holds but whose division is not its own (as a
     * partner's would be). */
    assert_int_equal(
        sqlite3_exec(town->db,
                     "INSERT INTO dispute(id, division, dispute_type, summary, "
                     "applicant_phone, _v) VALUES('430302000000-"
                     "01ARZ3NDEKTSV4RRFFQ69G5FAV', '430302000000', "
                     "'邻里纠纷', 'x', '13807321111', x'')",
                     NULL, NULL, NULL),
        SQLITE_OK);
    int64_t before = state_sum(town);
    pg_purge_request r = {.collection = "dispute", .operator_name = OP};

    r.collection = "nosuch";
    r.id = id;
    assert_pg_fails(PG_EINVALID, pg_purge_run(town, &r, NULL, NULL, &res));
    r.collection = "purge";
    assert_pg_fails(PG_EINVALID, pg_purge_run(town, &r, NULL, NULL, &res));
    r.collection = "node";
    assert_pg_fails(PG_EINVALID, pg_purge_run(town, &r, NULL, NULL, &res));
    r.collection = "dispute";
    r.id = "430321112000-01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert_pg_fails(PG_ENOTFOUND, pg_purge_run(town, &r, NULL, NULL, &res));
    r.id = "not-an-id";
    assert_pg_fails(PG_EINVALID, pg_purge_run(town, &r, NULL, NULL, &res));
    r.id = "430302000000-01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert_pg_fails(PG_EPOLICY, pg_purge_run(town, &r, NULL, NULL, &res));
    r.id = NULL;
    r.before_ms = pg_time_now_ms() + 86400000;
    assert_pg_fails(PG_EINVALID, pg_purge_run(town, &r, NULL, NULL, &res));
    r.basis = "two\nlines";
    r.id = id;
    assert_pg_fails(PG_EINVALID, pg_purge_run(town, &r, NULL, NULL, &res));
    r.basis = NULL;
    assert_int_equal(state_sum(town), before);

    /* By date: only what ended; never the open case nor a record outside
     * the jurisdiction; a dry run changes nothing. */
    r.id = NULL;
    r.before_ms = pg_time_now_ms();
    r.dry_run = true;
    assert_pg_ok(pg_purge_run(town, &r, on_target, &s, &res));
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], id);
    assert_int_equal(state_sum(town), before);

    r.dry_run = false;
    r.before_ms = 0; /* nothing ended before 1970 */
    assert_pg_ok(pg_purge_run(town, &r, NULL, NULL, &res));
    assert_int_equal(res.records, 0);
    assert_int_equal(state_sum(town), before);

    r.id = id;
    assert_pg_ok(pg_purge_run(town, &r, NULL, NULL, &res));
    int64_t after = state_sum(town);
    assert_pg_fails(PG_EEXISTS, pg_purge_run(town, &r, NULL, NULL, &res));
    assert_int_equal(state_sum(town), after);
    bool purged = false;
    assert_pg_ok(pg_purge_is_purged(town, id, &purged));
    assert_true(purged);
    assert_pg_ok(pg_purge_is_purged(town, open_id, &purged));
    assert_false(purged);
}

/* Put body as a txn held back at node: pending (i = 0, waiting for the
 * card of its origin) or quarantine (i = 1, with a reason that quotes a
 * value). */
static void hold_body(pg_node *node, const char *peer, const test_blob *b,
                      size_t i)
{
    pg_txn *txn = NULL;
    sqlite3_stmt *st = NULL;
    assert_pg_ok(pg_txn_decode(&txn, b->data, b->len));
    assert_pg_ok(pg_txn_digest(txn));
    static const char *const sql[] = {
        "INSERT INTO pending(peer, peer_seq, origin, origin_seq, digest, "
        "reason, body, received_ms) VALUES (?1, 1, ?2, ?3, ?4, 'waiting for "
        "the card of its signer', ?5, 0)",
        "INSERT INTO quarantine(peer, origin, origin_seq, digest, collection, "
        "division, reason, body, received_ms) VALUES (?1, ?2, ?3, ?4, "
        "'dispute', ?6, 'value check: applicant_phone " PHONE2
        " is not allowed', ?5, 0)",
    };
    {
        assert_int_equal(sqlite3_prepare_v2(node->db, sql[i], -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, txn->origin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)txn->seq);
        sqlite3_bind_blob(st, 4, txn->digest, PG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, b->data, (int)b->len, SQLITE_STATIC);
        if (i == 1)
            sqlite3_bind_text(st, 6, txn->division, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    pg_txn_free(txn);
}

/* The bytes of one column of the first row of sql. */
static test_blob sql_blob(pg_node *node, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db, sql, -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    test_blob b = test_blob_copy(sqlite3_column_blob(st, 0),
                                 (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return b;
}

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool found = false;
    size_t k = strlen(needle), n;
    static uint8_t buf[1 << 16];
    size_t keep = 0;
    while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, f)) > 0) {
        n += keep;
        found = has_bytes(buf, n, needle, k);
        keep = n >= k ? k - 1 : n;
        memmove(buf, buf + n - keep, keep);
    }
    fclose(f);
    return found;
}

/*
 * A record's creation txn waits in pending (and a copy in quarantine)
 * at the county, its signer's card (a village's) not there yet, when the
 * purge arrives: the record is in no record table here, yet the held
 * bodies lose the values, the quarantine reason stops quoting one, and
 * the store's bytes no longer hold them.
 */
static void test_purge__a_received_purge_erases_txns_held_back(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN], *county = fx->node[COUNTY];
    char dir[4096], b1[4096], b2[4096], rid[PG_RECORD_ID_LEN + 1];
    pg_node *village =
        test_make_node(dir, fx->root, "village", "430321112001", "石潭镇某村");
    char *village_card = pg_card_to_json(pg_node_card(village));
    char *town_card = pg_card_to_json(pg_node_card(town));
    assert_non_null(village_card);
    assert_non_null(town_card);
    test_pin(town, village_card, PG_PEER_CHILD);
    test_pin(village, town_card, PG_PEER_PARENT);

    int64_t ms = 0;
    assert_int_equal(pg_time_parse(&ms, "2026-03-01T10:00:00+08:00"), 0);
    pg_field_value v[] = {
        {"division", test_text("430321112001")},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("排水沟纠纷")},
        {"applicant_name", test_text(NAME)},
        {"applicant_phone", test_text(PHONE)},
        {"applicant_id_number", test_text(IDNO)},
        {"closed_at", test_integer(ms)},
    };
    assert_pg_ok(pg_record_put(rid, village, "dispute", NULL, v,
                               sizeof(v) / sizeof(v[0]), OP));
    pg_field_value w = {"applicant_phone", test_text(PHONE2)};
    assert_pg_ok(pg_record_put(NULL, village, "dispute", rid, &w, 1, OP));
    const pg_card *vc = pg_node_card(village);
    test_blob full = log_body(village, vc->code, 1);
    test_blob upd = log_body(village, vc->code, 2);
    hold_body(county, specs[SHITAN].code, &full, 0);
    hold_body(county, specs[SHITAN].code, &upd, 1);

    int files = 0;
    testutil_path(b1, sizeof(b1), fx->root, "v-t.pgb");
    pg_export_opts o = {.to = specs[SHITAN].code, .out = b1};
    assert_pg_ok(pg_bundle_export(village, &o, on_export, &files));
    assert_int_equal(files, 1);
    import_ok(town, b1);
    uint64_t upto = (uint64_t)test_sql_int(town, "SELECT max(seq) FROM log");
    pg_purge_request req = {
        .collection = "dispute", .id = rid, .operator_name = OP};
    pg_purge_result res;
    assert_pg_ok(pg_purge_run(town, &req, NULL, NULL, &res));
    assert_int_equal(res.records, 1);

    /* Only the purge goes to the county. */
    files = 0;
    testutil_path(b2, sizeof(b2), fx->root, "t-c.pgb");
    o = (pg_export_opts){
        .to = specs[COUNTY].code, .out = b2, .has_after = true, .after = upto};
    assert_pg_ok(pg_bundle_export(town, &o, on_export, &files));
    assert_int_equal(files, 1);
    pg_bundle_report r;
    assert_int_equal(pg_bundle_import(county, b2, &r), 0);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM purged"), 1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM dispute"), 0);

    static const char *const gone[] = {NAME, PHONE, IDNO, "排水沟"};
    test_blob p = sql_blob(county, "SELECT body FROM pending");
    test_blob q = sql_blob(county, "SELECT body FROM quarantine");
    for (size_t i = 0; i < 4; i++) {
        assert_false(has_bytes(p.data, p.len, gone[i], strlen(gone[i])));
        assert_false(has_bytes(q.data, q.len, gone[i], strlen(gone[i])));
    }
    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, p.data, p.len));
    assert_pg_ok(pg_txn_verify(txn, vc->sign_pk));
    pg_txn_free(txn);
    assert_int_equal(test_sql_int(county,
                                  "SELECT count(*) FROM quarantine "
                                  "WHERE instr(reason, '" PHONE "') > 0"),
                     0);
    /* The wipe ran: no old page keeps them either. */
    char path[4200];
    const char *db = sqlite3_db_filename(county->db, "main");
    assert_non_null(db);
    for (size_t i = 0; i < 4; i++) {
        assert_false(file_has(db, gone[i]));
        snprintf(path, sizeof(path), "%s-wal", db);
        assert_false(file_has(path, gone[i]));
    }
    test_blob_free(&full);
    test_blob_free(&upd);
    test_blob_free(&p);
    test_blob_free(&q);
    free(village_card);
    free(town_card);
    pg_node_free(village);
}

/* The one key a partner test knows: its own pair's cards. */
typedef struct pair_keys {
    const pg_card *c[2];
} pair_keys;

static int pair_key_of(void *ctx, const char *hop, const char *key_id,
                       uint8_t pk[PG_SIGN_PK_LEN])
{
    pair_keys *k = ctx;
    for (int i = 0; i < 2; i++)
        if (strcmp(k->c[i]->code, hop) == 0 &&
            strcmp(k->c[i]->key_id, key_id) == 0) {
            memcpy(pk, k->c[i]->sign_pk, PG_SIGN_PK_LEN);
            return 0;
        }
    return PG_ENOTFOUND;
}

/*
 * A city purges one of two cross-region disputes written by one import
 * txn, then exports that txn to its partner under the built-in agreement
 * (names masked, phones and ID numbers dropped): the link redacts the
 * other record's values after the city's purge signature, so the city
 * takes that signature back and signs anew over all its notes; the
 * partner verifies every signature and quarantines nothing.
 */
static void test_purge__a_purged_txn_goes_redacted_to_a_partner(void **state)
{
    fixture *fx = *state;
    char dir[4096], out[4096], hello[4096];
    char rid[2][PG_RECORD_ID_LEN + 1];
    pg_node *city =
        test_make_node(dir, fx->root, "city", "430300000000", "湘潭市");
    pg_node *cs = test_make_node(dir, fx->root, "cs", "430100000000", "长沙市");
    char *city_card = pg_card_to_json(pg_node_card(city));
    char *cs_card = pg_card_to_json(pg_node_card(cs));
    assert_non_null(city_card);
    assert_non_null(cs_card);
    test_pin(city, cs_card, PG_PEER_PARTNER);
    test_pin(cs, city_card, PG_PEER_PARTNER);
    testutil_path(hello, sizeof(hello), fx->root, "cs-hello.pgb");
    testutil_path(out, sizeof(out), fx->root, "city-cs.pgb");
    int files = 0;
    pg_export_opts o = {.to = "430300000000", .out = hello};
    assert_pg_ok(pg_bundle_export(cs, &o, on_export, &files));
    if (files)
        import_ok(city, hello);

    int64_t ms = 0;
    assert_int_equal(pg_time_parse(&ms, "2026-03-01T10:00:00+08:00"), 0);
    pg_value yes = {.kind = PG_VALUE_BOOL, .b = true};
    static const char *const names[] = {NAME, "司马光明"};
    static const char *const phones[] = {PHONE, "13907322222"};
    pg_import *imp = NULL;
    assert_pg_ok(pg_import_begin(&imp, city, "dispute", 100, OP));
    for (size_t i = 0; i < 2; i++) {
        pg_field_value v[] = {
            {"division", test_text("430300000000")},
            {"dispute_type", test_text("消费纠纷")},
            {"summary", test_text("外地游客与景区商户因退款发生争执")},
            {"applicant_name", test_text(names[i])},
            {"applicant_phone", test_text(phones[i])},
            {"cross_region", yes},
            {"partner_city", test_text("430100000000")},
            {"closed_at", test_integer(ms)},
        };
        assert_pg_ok(pg_import_add(imp, v, sizeof(v) / sizeof(v[0]), rid[i]));
    }
    assert_pg_ok(pg_import_commit(imp, NULL));
    pg_import_free(imp);
    const pg_card *cc = pg_node_card(city);
    assert_int_equal(test_sql_int(city, "SELECT count(*) FROM log WHERE "
                                        "collection = 'dispute'"),
                     1);
    pg_purge_request req = {
        .collection = "dispute", .id = rid[0], .operator_name = OP};
    pg_purge_result res;
    assert_pg_ok(pg_purge_run(city, &req, NULL, NULL, &res));
    assert_int_equal(res.records, 1);

    files = 0;
    o = (pg_export_opts){.to = "430100000000", .out = out};
    assert_pg_ok(pg_bundle_export(city, &o, on_export, &files));
    assert_int_equal(files, 1);
    import_ok(cs, out);

    test_blob got = log_body(cs, cc->code, 1);
    pg_txn *txn = NULL;
    pair_keys k = {{cc, pg_node_card(cs)}};
    assert_pg_ok(pg_txn_decode(&txn, got.data, got.len));
    assert_string_equal(txn->collection, "dispute");
    assert_pg_ok(pg_txn_verify(txn, cc->sign_pk));
    assert_pg_ok(pg_txn_verify_notes(txn, pair_key_of, &k));
    /* One signature of the city's over the purge's notes and the link's. */
    assert_int_equal(txn->nhop_sigs, 1);
    assert_string_equal(txn->hop_sigs[0].hop, cc->code);
    assert_int_equal(txn->hop_sigs[0].notes, txn->nnotes);
    assert_true(txn->nnotes >= 5);
    pg_txn_free(txn);
    for (size_t i = 0; i < 2; i++) {
        assert_false(has_bytes(got.data, got.len, names[i], strlen(names[i])));
        assert_false(
            has_bytes(got.data, got.len, phones[i], strlen(phones[i])));
    }
    /* The purged record arrives without its name, the other masked. */
    assert_int_equal(test_sql_int(cs, "SELECT count(*) FROM dispute WHERE "
                                      "applicant_name IS NULL AND "
                                      "applicant_phone IS NULL"),
                     1);
    assert_int_equal(test_sql_int(cs, "SELECT count(*) FROM dispute WHERE "
                                      "applicant_name IS NOT NULL AND "
                                      "applicant_name <> '司马光明' AND "
                                      "applicant_phone IS NULL"),
                     1);
    test_blob_free(&got);
    free(city_card);
    free(cs_card);
    pg_node_free(city);
    pg_node_free(cs);
}

/* Merge one body into node from peer; its outcome. */
static pg_merge_outcome merge_body(pg_node *node, const char *from,
                                   const void *body, size_t len)
{
    pg_peer peer;
    pg_merger *m = NULL;
    pg_merge_result r;
    assert_pg_ok(pg_peer_get(&peer, node, from));
    assert_pg_ok(pg_store__begin(node->db));
    assert_pg_ok(pg_merger_new(&m, node));
    assert_pg_ok(pg_merger_apply(m, &peer, 1, body, len, &r));
    assert_pg_ok(pg_merger_finish(m));
    pg_merger_free(m);
    assert_pg_ok(pg_store__commit(node->db));
    return r.outcome;
}

/*
 * Where a record is purged, a txn of it quarantined for a bad value keeps
 * neither the value in its body nor a reason quoting it; one that does
 * not decode and names the record is kept without its bytes.
 */
static void test_purge__quarantined_after_a_purge_quotes_no_value(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN], *county = fx->node[COUNTY];
    const pg_card *card = pg_node_card(town);
    char id[PG_RECORD_ID_LEN + 1], b1[4096];
    pg_purge_result res;

    put_dispute(id, town, "2026-03-01T10:00:00+08:00");
    pg_purge_request req = {
        .collection = "dispute", .id = id, .operator_name = OP};
    assert_pg_ok(pg_purge_run(town, &req, NULL, NULL, &res));
    testutil_path(b1, sizeof(b1), fx->root, "b1.pgb");
    export_to(fx, SHITAN, COUNTY, b1);
    import_ok(county, b1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM purged"), 1);

    /* A later txn of the town's with a phone number one digit short. */
    static const char bad_phone[] = "1380732000";
    test_blob first = log_body(town, card->code, 1);
    pg_txn *old = NULL, *txn = NULL;
    assert_pg_ok(pg_txn_decode(&old, first.data, first.len));
    assert_pg_ok(pg_txn_new(&txn));
    assert_pg_ok(pg_txn_set_header(txn, card->code, card->key_id, 50,
                                   old->hlc + 1000, old->division, "dispute",
                                   OP));
    pg_value pv = test_text(bad_phone);
    pg_version base = {0};
    assert_pg_ok(pg_txn_add(txn, id, "applicant_phone", &pv, &base));
    assert_pg_ok(pg_txn_seal(txn));
    pg_txn_sign(txn, pg_node__sign_sk(town));
    pg_buf buf = PG_BUF_INIT;
    assert_pg_ok(pg_txn_encode(&buf, txn));
    assert_int_equal(merge_body(county, card->code, buf.data, buf.len),
                     PG_MERGED_QUARANTINED);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM quarantine "
                                          "WHERE reason LIKE 'invalid:%' AND "
                                          "instr(reason, 'withheld') > 0"),
                     1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM quarantine "
                                          "WHERE instr(reason, '1380732000') "
                                          "> 0 OR instr(body, '1380732000') "
                                          "> 0"),
                     0);

    /* Bytes that do not decode but name the purged record. */
    pg_buf_clear(&buf);
    static const uint8_t junk[] = {0x0a, 0x03, 'a', 'b', 0x12, 0x1a};
    assert_pg_ok(pg_buf_put(&buf, junk, sizeof(junk)));
    assert_pg_ok(pg_buf_put(&buf, id, strlen(id)));
    assert_pg_ok(pg_buf_put(&buf, PHONE, strlen(PHONE)));
    assert_int_equal(merge_body(county, card->code, buf.data, buf.len),
                     PG_MERGED_QUARANTINED);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM quarantine "
                                          "WHERE length(body) = 0"),
                     1);
    pg_buf_dispose(&buf);
    pg_txn_free(txn);
    pg_txn_free(old);
    test_blob_free(&first);
}

/*
 * A purge of many records with the longest basis is cut into txns by
 * their encoded size as well as by count: each stays within
 * PG_TXN_MAX_BYTES, and every record is purged.
 */
static void test_purge__a_long_basis_cuts_txns_by_size(void **state)
{
    fixture *fx = *state;
    pg_node *town = fx->node[SHITAN];
    enum { N = 700 };
    int64_t ms = 0;
    assert_int_equal(pg_time_parse(&ms, "2026-03-01T10:00:00+08:00"), 0);
    pg_import *imp = NULL;
    assert_pg_ok(pg_import_begin(&imp, town, "dispute", 200, OP));
    for (int i = 0; i < N; i++) {
        pg_field_value v[] = {
            {"division", test_text("430321112000")},
            {"dispute_type", test_text("邻里纠纷")},
            {"summary", test_text("排水沟纠纷")},
            {"applicant_phone", test_text(PHONE)},
            {"closed_at", test_integer(ms)},
        };
        assert_pg_ok(pg_import_add(imp, v, sizeof(v) / sizeof(v[0]), NULL));
    }
    assert_pg_ok(pg_import_commit(imp, NULL));
    pg_import_free(imp);

    char basis[PG_PURGE_BASIS_MAX + 1];
    for (size_t i = 0; i < PG_PURGE_BASIS_MAX; i++)
        basis[i] = (char)('A' + i % 26);
    basis[PG_PURGE_BASIS_MAX] = 0;
    pg_purge_request req = {.collection = "dispute",
                            .before_ms = pg_time_now_ms(),
                            .basis = basis,
                            .operator_name = OP};
    pg_purge_result res;
    assert_pg_ok(pg_purge_run(town, &req, NULL, NULL, &res));
    assert_int_equal(res.records, N);
    assert_true(res.purge_txns >= 2);
    assert_int_equal(test_sql_int(town, "SELECT count(*) FROM purge"), N);
    assert_int_equal(test_sql_int(town, "SELECT count(*) FROM log WHERE "
                                        "collection = 'purge'"),
                     (int64_t)res.purge_txns);
    assert_true(test_sql_int(town, "SELECT max(length(body)) FROM log WHERE "
                                   "collection = 'purge'") <= PG_TXN_MAX_BYTES);
    print_message("purge txns %zu for %d records; largest %lld bytes, %lld "
                  "bytes per record\n",
                  res.purge_txns, N,
                  (long long)test_sql_int(town, "SELECT max(length(body)) FROM "
                                                "log WHERE collection = "
                                                "'purge'"),
                  (long long)test_sql_int(town, "SELECT max(length(body) / "
                                                "nchanges * 4) FROM log WHERE "
                                                "collection = 'purge'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_purge__the_purged_txn_verifies_and_holds_no_value_or_salt,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__a_later_full_copy_is_stored_purged, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__received_purge_erases_the_copy_held, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__a_purge_reaches_only_its_division, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge__refusals_change_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__a_purged_txn_goes_redacted_to_a_partner, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__a_received_purge_erases_txns_held_back, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__quarantined_after_a_purge_quotes_no_value, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_purge__a_long_basis_cuts_txns_by_size, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
