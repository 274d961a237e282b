/*
 * Schema versions in a mixed federation (DESIGN §2): a node runs at its
 * store's version; pingan schema upgrade moves it on; bundles to an
 * older peer are made at its version, with what it lacks held back and
 * sent once it has upgraded; a change to a field the link's version lacks
 * is dropped and the origin's signature still verifies.
 */
#include "testutil.h"

#include "bundle.h"
#include "node_internal.h"
#include "redact.h"
#include "pingan/exchange.h"
#include "pingan/policy.h"
#include "pingan/record.h"
#include "pingan/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COUNTY "430321000000" /* 湘潭县 */
#define TOWN   "430321112000" /* 石潭镇 */

typedef struct fixture {
    char *root;
    char county_dir[4096], town_dir[4096];
    pg_node *county, *town;
} fixture;

static pg_node *open_at(char dir[4096], const char *root, const char *sub,
                        const char *code, const char *name, unsigned version)
{
    pg_node *node = NULL;
    testutil_path(dir, 4096, root, sub);
    assert_pg_ok(pg_node_init_version(dir, code, name, "tester", version));
    assert_pg_ok(pg_node_open(&node, dir));
    assert_pg_ok(pg_node_set_operator(node, "tester"));
    return node;
}

static void pin(pg_node *node, const pg_node *other, pg_peer_role role)
{
    char *card = pg_card_to_json(pg_node_card(other));
    assert_non_null(card);
    test_pin(node, card, role);
    free(card);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || !(fx->root = testutil_mkdtemp()))
        return -1;
    fx->county =
        open_at(fx->county_dir, fx->root, "county", COUNTY, "湘潭县", 0);
    fx->town = open_at(fx->town_dir, fx->root, "town", TOWN, "石潭镇", 1);
    pin(fx->county, fx->town, PG_PEER_CHILD);
    pin(fx->town, fx->county, PG_PEER_PARENT);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    pg_node_free(fx->county);
    pg_node_free(fx->town);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

/* Write a record; its id into id. */
static void put(char id[PG_RECORD_ID_LEN + 1], pg_node *node, const char *coll,
                const pg_field_value *v, size_t n)
{
    assert_pg_ok(pg_record_put(id, node, coll, NULL, v, n, "tester"));
}

static void put_dispute(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                        const char *summary)
{
    pg_field_value v[] = {
        {"division", test_text(TOWN)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text(summary)},
    };
    put(id, node, "dispute", v, 3);
}

static void put_party(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                      const char *dispute, const char *name)
{
    pg_field_value v[] = {
        {"division", test_text(TOWN)},
        {"dispute_id", test_text(dispute)},
        {"party_role", test_text("申请人")},
        {"name", test_text(name)},
    };
    put(id, node, "dispute_party", v, 4);
}

/* Export from one node to the other into root/name; false when there was
 * nothing to send.  *summary (may be NULL) gets the bundle's header. */
static bool send(fixture *fx, pg_node *from, pg_node *to, const char *name,
                 pg_bundle_summary *summary, pg_bundle_report *report)
{
    char path[4096];
    pg_export_opts o = {.to = pg_node_code(to), .out = path};
    testutil_path(path, sizeof(path), fx->root, name);
    unlink(path);
    assert_pg_ok(pg_bundle_export(from, &o, NULL, NULL));
    if (access(path, F_OK) != 0)
        return false;
    if (summary)
        assert_pg_ok(pg_bundle_inspect(to, path, summary, NULL, NULL));
    pg_bundle_report r;
    assert_pg_ok(pg_bundle_import(to, path, report ? report : &r));
    return true;
}

static int64_t count(pg_node *node, const char *sql)
{
    return test_sql_int(node, sql);
}

/* ---- a v1 node ------------------------------------------------------- */

static void test_versions__v1_store_refuses_v2_collections(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], d[PG_RECORD_ID_LEN + 1];

    assert_int_equal(pg_node_schema(fx->town)->version, 1);
    assert_ptr_equal(pg_node_schema(fx->town), pg_schema_get(1));
    assert_null(
        pg_schema_collection(pg_node_schema(fx->town), "dispute_party"));
    assert_int_equal(count(fx->town, "SELECT count(*) FROM sqlite_master "
                                     "WHERE name = 'dispute_party'"),
                     0);
    put_dispute(d, fx->town, "宅基地");
    pg_field_value v[] = {
        {"division", test_text(TOWN)},
        {"dispute_id", test_text(d)},
        {"party_role", test_text("申请人")},
        {"name", test_text("张三")},
    };
    assert_int_equal(
        pg_record_put(id, fx->town, "dispute_party", NULL, v, 4, "tester"),
        PG_EINVALID);
    assert_non_null(strstr(pg_error_last()->message, "schema upgrade"));
    assert_int_equal(count(fx->town, "SELECT count(*) FROM log"), 1);
    /* The same build opened on a v2 store knows it. */
    assert_int_equal(pg_node_schema(fx->county)->version, PG_SCHEMA_VERSION);
    assert_int_equal(pg_node_init_version(fx->root, TOWN, "x", "t", 99),
                     PG_EINVALID);
}

static void test_versions__upgrade_adds_the_new_collections(void **state)
{
    fixture *fx = *state;
    char d[PG_RECORD_ID_LEN + 1], p[PG_RECORD_ID_LEN + 1];
    unsigned from = 0;

    put_dispute(d, fx->town, "宅基地");
    assert_pg_ok(pg_node_schema_upgrade(fx->town, &from));
    assert_int_equal(from, 1);
    assert_int_equal(pg_node_schema(fx->town)->version, 2);
    assert_int_equal(count(fx->town, "SELECT value FROM meta WHERE key = "
                                     "'schema_version'"),
                     2);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM audit WHERE "
                                     "action = 'schema.upgrade'"),
                     1);
    put_party(p, fx->town, d, "张三");
    /* Twice: nothing changes. */
    assert_pg_ok(pg_node_schema_upgrade(fx->town, &from));
    assert_int_equal(from, 2);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM audit WHERE "
                                     "action = 'schema.upgrade'"),
                     1);
    /* Reopened, the node stays at v2. */
    pg_node_free(fx->town);
    assert_pg_ok(pg_node_open(&fx->town, fx->town_dir));
    assert_int_equal(pg_node_schema(fx->town)->version, 2);
    pg_record *rec = NULL;
    assert_pg_ok(pg_record_get(&rec, fx->town, "dispute_party", p));
    pg_record_free(rec);
}

static void test_versions__party_needs_its_dispute(void **state)
{
    fixture *fx = *state;
    char d[PG_RECORD_ID_LEN + 1], id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = {
        {"division", test_text("430321100000")},
        {"dispute_id", test_text("")},
        {"party_role", test_text("申请人")},
        {"name", test_text("张三")},
    };

    put_dispute(d, fx->county, "欠薪");
    v[1].value = test_text(COUNTY "-01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_int_equal(
        pg_record_put(id, fx->county, "dispute_party", NULL, v, 4, "tester"),
        PG_EINVALID);
    assert_non_null(strstr(pg_error_last()->message, "names no dispute"));
    v[1].value = test_text(d); /* a dispute of 石潭镇, a party elsewhere */
    assert_int_equal(
        pg_record_put(id, fx->county, "dispute_party", NULL, v, 4, "tester"),
        PG_EINVALID);
    assert_non_null(strstr(pg_error_last()->message, "division"));
    v[0].value = test_text(TOWN);
    assert_pg_ok(
        pg_record_put(id, fx->county, "dispute_party", NULL, v, 4, "tester"));
    /* Moving it to a dispute that is not held is refused too. */
    pg_field_value move = {"dispute_id",
                           test_text(TOWN "-01ARZ3NDEKTSV4RRFFQ69G5FAV")};
    assert_int_equal(
        pg_record_put(NULL, fx->county, "dispute_party", id, &move, 1, "t"),
        PG_EINVALID);
}

static void test_versions__policies_follow_the_node_version(void **state)
{
    fixture *fx = *state;
    static const char text[] = "[agreement]\nid = t1\n[dispute_party]\n";
    pg_policy *p = NULL;
    pg_peer peer;

    /* The township's link to its county, read on either side's schema. */
    assert_pg_ok(pg_peer_get(&peer, fx->town, COUNTY));
    assert_int_equal(
        pg_policy_parse_node(&p, text, strlen(text), "f", fx->town, &peer),
        PG_EINVALID);
    assert_non_null(strstr(pg_error_last()->message, "dispute_party"));
    assert_pg_ok(pg_node_schema_upgrade(fx->town, NULL));
    assert_pg_ok(
        pg_policy_parse_node(&p, text, strlen(text), "f", fx->town, &peer));
    assert_true(pg_policy_carries(
        p, pg_schema_collection(pg_node_schema(fx->town), "dispute_party")));
    pg_policy_free(p);
}

/* ---- bundles between versions ------------------------------------------ */

static void test_versions__bundles_for_a_v1_peer(void **state)
{
    fixture *fx = *state;
    char d1[PG_RECORD_ID_LEN + 1], d2[PG_RECORD_ID_LEN + 1];
    char p1[PG_RECORD_ID_LEN + 1], p2[PG_RECORD_ID_LEN + 1];
    pg_bundle_summary s;
    pg_bundle_report r;

    /* The township speaks first: the county learns it runs v1. */
    put_dispute(d1, fx->town, "宅基地");
    assert_true(send(fx, fx->town, fx->county, "t1", &s, &r));
    assert_int_equal(s.schema_version, 1);
    assert_int_equal(r.applied, 1);
    put_party(p1, fx->county, d1, "张三");
    put_dispute(d2, fx->county, "欠薪");
    put_party(p2, fx->county, d2, "李四");

    /* The first bundle of the link says the county's own version; its
     * txns are made at the township's. */
    assert_true(send(fx, fx->county, fx->town, "c1", &s, &r));
    assert_int_equal(s.schema_version, 2);
    assert_int_equal(r.quarantined, 0);
    assert_int_equal(r.pending, 0);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM log WHERE "
                                     "collection = 'dispute_party'"),
                     0);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM dispute"), 2);
    assert_int_equal(count(fx->county, "SELECT count(*) FROM peer_held"), 2);

    /* Later bundles say the link's version, 1, and carry no party. */
    char d3[PG_RECORD_ID_LEN + 1], p3[PG_RECORD_ID_LEN + 1];
    put_dispute(d3, fx->county, "噪音");
    put_party(p3, fx->county, d3, "王五");
    assert_true(send(fx, fx->county, fx->town, "c2", &s, &r));
    assert_int_equal(s.schema_version, 1);
    assert_int_equal(s.txns, 1);
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.quarantined, 0);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM rejected"), 0);
    assert_int_equal(count(fx->county, "SELECT count(*) FROM peer_held"), 3);

    /* The township upgrades and says so; the county sends exactly the
     * three parties it held back, once. */
    assert_pg_ok(pg_node_schema_upgrade(fx->town, NULL));
    assert_true(send(fx, fx->town, fx->county, "t2", &s, &r));
    assert_int_equal(s.schema_version, 2);
    assert_true(send(fx, fx->county, fx->town, "c3", &s, &r));
    assert_int_equal(s.schema_version, 2);
    assert_int_equal(s.txns, 3);
    assert_int_equal(r.applied, 3);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM dispute_party"), 3);
    assert_int_equal(count(fx->county, "SELECT count(*) FROM peer_held"), 0);
    assert_false(send(fx, fx->county, fx->town, "c4", NULL, NULL));
}

/* Held-back txns go again one bundle at a time (a size limit, or HTTP's
 * one bundle per request): each stays held until it was written, so the
 * txns a full bundle leaves out come with the next export. */
static void test_versions__held_back_txns_survive_the_size_limit(void **state)
{
    fixture *fx = *state;
    char d1[PG_RECORD_ID_LEN + 1], p[4][PG_RECORD_ID_LEN + 1];
    pg_bundle_report r;

    put_dispute(d1, fx->town, "宅基地");
    assert_true(send(fx, fx->town, fx->county, "t1", NULL, &r));
    put_party(p[0], fx->county, d1, "张三");
    put_party(p[1], fx->county, d1, "李四");
    put_party(p[2], fx->county, d1, "王五");
    put_party(p[3], fx->county, d1, "赵六");
    assert_true(send(fx, fx->county, fx->town, "c1", NULL, &r));
    assert_int_equal(count(fx->county, "SELECT count(*) FROM peer_held"), 4);

    assert_pg_ok(pg_node_schema_upgrade(fx->town, NULL));
    assert_true(send(fx, fx->town, fx->county, "t2", NULL, &r));

    /* One txn per bundle, one bundle per export. */
    char path[4096];
    size_t exports = 0;
    testutil_path(path, sizeof(path), fx->root, "small");
    for (;;) {
        pg_export_opts o = {.to = pg_node_code(fx->town),
                            .out = path,
                            .max_bytes = 1,
                            .max_files = 1};
        unlink(path);
        assert_pg_ok(pg_bundle_export(fx->county, &o, NULL, NULL));
        if (access(path, F_OK) != 0)
            break;
        assert_pg_ok(pg_bundle_import(fx->town, path, &r));
        assert_int_equal(r.applied, 1);
        assert_true(++exports <= 4);
    }
    assert_int_equal(exports, 4);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM dispute_party"), 4);
    assert_int_equal(count(fx->county, "SELECT count(*) FROM peer_held"), 0);
}

/* An upgrade by another process (the command beside a running serve)
 * counts from the next export or import of a node already open. */
static void test_versions__an_open_node_sees_an_upgrade(void **state)
{
    fixture *fx = *state;
    char d1[PG_RECORD_ID_LEN + 1], p1[PG_RECORD_ID_LEN + 1];
    pg_bundle_summary s;
    pg_bundle_report r;
    pg_node *other = NULL;

    put_dispute(d1, fx->town, "宅基地");
    assert_true(send(fx, fx->town, fx->county, "t1", &s, &r));
    assert_int_equal(s.schema_version, 1);
    put_party(p1, fx->county, d1, "张三");
    assert_true(send(fx, fx->county, fx->town, "c1", NULL, &r));
    assert_int_equal(count(fx->county, "SELECT count(*) FROM peer_held"), 1);

    assert_pg_ok(pg_node_open(&other, fx->town_dir));
    assert_pg_ok(pg_node_schema_upgrade(other, NULL));
    pg_node_free(other);
    assert_int_equal(pg_node_schema(fx->town)->version, 1);

    /* The township's next bundle says 2; the party then goes, and the
     * township's open node stores it. */
    char d2[PG_RECORD_ID_LEN + 1];
    put_dispute(d2, fx->town, "欠薪");
    assert_true(send(fx, fx->town, fx->county, "t2", &s, &r));
    assert_int_equal(s.schema_version, 2);
    assert_int_equal(pg_node_schema(fx->town)->version, 2);
    assert_true(send(fx, fx->county, fx->town, "c2", &s, &r));
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.quarantined, 0);
    assert_int_equal(count(fx->town, "SELECT count(*) FROM dispute_party"), 1);
}

/* Over HTTP a bundle counts as delivered only once the peer says so.  A
 * build that does not know the county's version refuses the bundle that
 * announces it, so the announcement is recorded once made: the next
 * request (a pull from the peer's contiguous end) says the link's
 * version and carries what the refused one did. */
static void test_versions__an_announcement_refused_is_not_repeated(void **state)
{
    fixture *fx = *state;
    char d1[PG_RECORD_ID_LEN + 1], d2[PG_RECORD_ID_LEN + 1];
    pg_bundle_summary s;
    pg_bundle_report r;
    char path[4096];

    put_dispute(d1, fx->town, "宅基地");
    assert_true(send(fx, fx->town, fx->county, "t1", NULL, &r));
    put_dispute(d2, fx->county, "欠薪");
    testutil_path(path, sizeof(path), fx->root, "pull");
    for (unsigned version = 2; version >= 1; version--) {
        pg_export_opts o = {.to = pg_node_code(fx->town),
                            .out = path,
                            .has_after = true,
                            .after = 0,
                            .max_files = 1,
                            .deliver_token = "0123456789abcdef0123456789abcdef",
                            .scratch = true};
        unlink(path);
        assert_pg_ok(pg_bundle_export(fx->county, &o, NULL, NULL));
        assert_pg_ok(pg_bundle_inspect(fx->town, path, &s, NULL, NULL));
        assert_int_equal(s.schema_version, version);
        assert_true(s.txns >= 1);
        /* Not imported: an older build refuses the first, and never
         * names it as delivered. */
    }
    assert_pg_ok(pg_bundle_import(fx->town, path, &r));
    assert_int_equal(count(fx->town, "SELECT count(*) FROM dispute"), 2);
}

/* A bundle from the county claiming schema `version` (no txn). */
static void forge(fixture *fx, const char *path, unsigned version)
{
    const pg_card *card = pg_node_card(fx->town);
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;

    assert_pg_ok(pg_bundle_writer_new(&w, pg_node__sign_sk(fx->county),
                                      card->box_pk, 0));
    memset(&info, 0, sizeof(info));
    memcpy(info.sender, COUNTY, PG_CODE_LEN + 1);
    memcpy(info.recipient, card->code, PG_CODE_LEN + 1);
    memcpy(info.recipient_key_id, card->key_id, PG_KEY_ID_LEN + 1);
    info.schema_version = version;
    if (pg_schema_get(version))
        memcpy(info.schema_hash, pg_schema_get(version)->hash, PG_HASH_LEN);
    else
        assert_pg_ok(pg_blake2b(info.schema_hash, PG_HASH_LEN, "future", 6));
    info.created_ms = pg_time_now_ms();
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_pg_ok(pg_bundle_writer_finish(w, &info, f));
    assert_int_equal(fclose(f), 0);
    pg_bundle_writer_free(w);
}

static void test_versions__older_accepted_newer_unknown_refused(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    char path[4096];

    testutil_path(path, sizeof(path), fx->root, "forged");
    /* Older and known versions are read, also by a v1 node (v2: the
     * announcement of a newer peer, its txns made at v1). */
    for (unsigned v = 1; v <= PG_SCHEMA_VERSION; v++) {
        forge(fx, path, v);
        assert_pg_ok(pg_bundle_import(fx->town, path, &r));
    }
    assert_int_equal(count(fx->town, "SELECT schema_version FROM peer"),
                     PG_SCHEMA_VERSION);
    /* A version this build does not know: refused whole. */
    forge(fx, path, PG_SCHEMA_VERSION + 1);
    assert_int_equal(pg_bundle_import(fx->town, path, &r), PG_EUPGRADE);
    assert_non_null(strstr(pg_error_last()->message, "upgrade"));
    assert_int_equal(count(fx->town, "SELECT schema_version FROM peer"),
                     PG_SCHEMA_VERSION);
    assert_int_equal(pg_node_schema(fx->town)->version, 1);
}

/* ---- a dropped field keeps the signature ------------------------------- */

static int hop_key(void *ctx, const char *hop, const char *key_id,
                   uint8_t pk[PG_SIGN_PK_LEN])
{
    const pg_card *card = ctx;
    if (strcmp(hop, card->code) != 0 || strcmp(key_id, card->key_id) != 0)
        return PG_ENOTFOUND;
    memcpy(pk, card->sign_pk, PG_SIGN_PK_LEN);
    return 0;
}

static void test_versions__a_dropped_newer_field_still_verifies(void **state)
{
    fixture *fx = *state;
    char d[PG_RECORD_ID_LEN + 1];
    const pg_schema *own = pg_node_schema(fx->county);
    static pg_collection colls[64];
    static const pg_collection *ptrs[64];
    pg_schema link;
    const pg_field *cut = NULL;

    /* A link whose version lacks the last field of `dispute` (as v1 would
     * lack a field a later version appends). */
    assert_true(own->ncollections <= 64);
    for (size_t i = 0; i < own->ncollections; i++) {
        colls[i] = *own->collections[i];
        if (strcmp(colls[i].name, "dispute") == 0) {
            cut = &colls[i].fields[colls[i].nfields - 1];
            colls[i].nfields--;
        }
        ptrs[i] = &colls[i];
    }
    assert_non_null(cut);
    link = *own;
    link.collections = ptrs;

    pg_field_value v[] = {
        {"division", test_text(TOWN)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("宅基地")},
        {cut->name, {.kind = PG_VALUE_INT, .i = 1700000000000}},
    };
    put(d, fx->county, "dispute", v, 4);

    pg_peer peer;
    pg_policy *policy = NULL;
    pg_redactor *r = NULL;
    assert_pg_ok(pg_peer_get(&peer, fx->county, TOWN));
    assert_pg_ok(pg_policy_load(&policy, fx->county, &peer));
    assert_pg_ok(pg_redactor_new(&r, fx->county, &peer, policy));
    pg_redactor_set_schema(r, &link);

    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(fx->county->db,
                                        "SELECT body FROM log WHERE "
                                        "collection = 'dispute'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const uint8_t *out;
    size_t out_len;
    bool skip;
    assert_pg_ok(pg_redactor_apply(r, "dispute", sqlite3_column_blob(st, 0),
                                   (size_t)sqlite3_column_bytes(st, 0), &out,
                                   &out_len, &skip));
    assert_false(skip);
    assert_int_equal(pg_redactor_held(r), cut->since);

    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, out, out_len));
    size_t dropped = 0, whole = 0;
    for (size_t i = 0; i < txn->nchanges; i++) {
        if (strcmp(txn->changes[i].field, cut->name) == 0) {
            assert_int_equal(txn->changes[i].form, PG_CHANGE_DROPPED);
            dropped++;
        } else if (txn->changes[i].form != PG_CHANGE_DROPPED) {
            whole++;
        }
    }
    assert_int_equal(dropped, 1);
    assert_int_equal(whole, 3);
    assert_pg_ok(pg_txn_verify(txn, pg_node_card(fx->county)->sign_pk));
    assert_pg_ok(
        pg_txn_verify_notes(txn, hop_key, (void *)pg_node_card(fx->county)));
    pg_txn_free(txn);
    sqlite3_finalize(st);

    /* At the node's own version the txn passes unchanged. */
    pg_redactor_set_schema(r, NULL);
    assert_int_equal(
        sqlite3_prepare_v2(fx->county->db,
                           "SELECT body FROM log WHERE collection = 'dispute'",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_pg_ok(pg_redactor_apply(r, "dispute", sqlite3_column_blob(st, 0),
                                   (size_t)sqlite3_column_bytes(st, 0), &out,
                                   &out_len, &skip));
    assert_int_equal(pg_redactor_held(r), 0);
    assert_ptr_equal(out, sqlite3_column_blob(st, 0));
    sqlite3_finalize(st);
    pg_redactor_free(r);
    pg_policy_free(policy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_versions__v1_store_refuses_v2_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__upgrade_adds_the_new_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions__party_needs_its_dispute,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__policies_follow_the_node_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions__bundles_for_a_v1_peer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__held_back_txns_survive_the_size_limit, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__an_open_node_sees_an_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__an_announcement_refused_is_not_repeated, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__older_accepted_newer_unknown_refused, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_versions__a_dropped_newer_field_still_verifies, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
