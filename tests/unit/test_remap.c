/*
 * Division remaps (pingan/remap.h, node/remap.c): writing one and its
 * refusals, resolution (chains, township prefixes, cycles), the receipt
 * check in the merge, routing before and after a remap, and a peer whose
 * code was retired.
 */
#include "testutil.h"

#include "merge.h"
#include "node_internal.h"
#include "remap_internal.h"
#include "route.h"
#include "store.h"
#include "pingan/hlc.h"
#include "pingan/record.h"
#include "pingan/remap.h"
#include "pingan/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CITY,       /* 430300 湘潭市 */
    COUNTY,     /* 430302 雨湖区 */
    TOWNSHIP,   /* 430302100 鹤岭镇, child of the county */
    XIANGXIANG, /* 430381 湘乡市 */
    NNODES
};

static const test_node_spec specs[NNODES] = {
    {"430300000000", "湘潭市"},
    {"430302000000", "雨湖区"},
    {"430302100000", "鹤岭镇"},
    {"430381000000", "湘乡市"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
} fixture;

static void pin(fixture *fx, int at, int who, pg_peer_role role)
{
    test_pin(fx->node[at], fx->card[who], role);
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
    pin(fx, CITY, COUNTY, PG_PEER_CHILD);
    pin(fx, COUNTY, CITY, PG_PEER_PARENT);
    pin(fx, COUNTY, TOWNSHIP, PG_PEER_CHILD);
    pin(fx, TOWNSHIP, COUNTY, PG_PEER_PARENT);
    *state = fx;
    return 0;
}

/* A remap OLD -> NEW written at node (with effective time, 0: now). */
static int remap(pg_node *node, const char *old_code, const char *new_code,
                 int64_t effective, bool correct)
{
    pg_remap r;
    memset(&r, 0, sizeof(r));
    snprintf(r.old_code, sizeof(r.old_code), "%s", old_code);
    snprintf(r.new_code, sizeof(r.new_code), "%s", new_code);
    r.effective_at = effective;
    return pg_remap_put(node, &r, correct);
}

static const char *resolved(pg_node *node, const char *code)
{
    static char out[PG_CODE_LEN + 1];
    assert_pg_ok(pg_division_resolve(node, code, out));
    return out;
}

static int64_t log_count(pg_node *node)
{
    return test_sql_int(node, "SELECT count(*) FROM log");
}

/* ---- writing and refusing -------------------------------------------- */

static void test_remap__a_remap_is_one_txn_and_an_audit_entry(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    int64_t before = log_count(county);
    pg_remap r;

    memset(&r, 0, sizeof(r));
    snprintf(r.old_code, sizeof(r.old_code), "%s", "430302100000");
    snprintf(r.new_code, sizeof(r.new_code), "%s", "430302009000");
    snprintf(r.new_name, sizeof(r.new_name), "%s", "鹤岭街道");
    snprintf(r.reason, sizeof(r.reason), "%s", "撤镇设街道");
    assert_pg_ok(pg_remap_put(county, &r, false));
    assert_string_equal(r.issuer, "430302000000");
    assert_int_equal(strncmp(r.id, "430302000000-", 13), 0);
    assert_int_equal(log_count(county), before + 1);
    assert_int_equal(test_sql_int(county,
                                  "SELECT count(*) FROM log WHERE collection = "
                                  "'division_remap' AND division = "
                                  "'430302000000'"),
                     1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM audit WHERE "
                                          "action = 'division.remap' AND "
                                          "subject = '430302100000'"),
                     1);
    /* Still refused by the ordinary write path. */
    pg_field_value v[] = {{"division", test_text("430302000000")},
                          {"old_code", test_text("430302101000")},
                          {"new_code", test_text("430302010000")}};
    char id[PG_RECORD_ID_LEN + 1];
    assert_pg_fails(PG_EINVALID, pg_record_put(id, county, "division_remap",
                                               NULL, v, 3, "test"));
    assert_int_equal(log_count(county), before + 1);
}

static void test_remap__bad_remaps_are_refused_and_change_nothing(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];

    assert_pg_ok(remap(county, "430302100000", "430302009000", 0, false));
    int64_t before = log_count(county);
    /* Not 12 digits, or not a division code. */
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430302100", "430302009000", 0, false));
    assert_pg_fails(PG_EINVALID,
                    remap(county, "43030210000x", "430302009000", 0, false));
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430300001000", "430302009000", 0, false));
    /* The same code. */
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430302101000", "430302101000", 0, false));
    /* Outside the jurisdiction. */
    assert_pg_fails(PG_EPOLICY,
                    remap(county, "430321112000", "430302010000", 0, false));
    assert_pg_fails(PG_EPOLICY,
                    remap(county, "430302101000", "430304001000", 0, false));
    /* This node's own code or an ancestor. */
    assert_pg_fails(PG_EPOLICY,
                    remap(county, "430302000000", "430304000000", 0, false));
    assert_pg_fails(PG_EPOLICY,
                    remap(county, "430300000000", "430302101000", 0, false));
    /* Tiers differ. */
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430302101000", "430302101001", 0, false));
    /* Already remapped: the message names the code it went to. */
    assert_pg_fails(PG_EEXISTS,
                    remap(county, "430302100000", "430302010000", 0, false));
    assert_non_null(strstr(pg_error_last()->message, "430302009000"));
    /* A cycle, directly and through a village under a remapped township. */
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430302009000", "430302100000", 0, false));
    assert_int_equal(log_count(county), before);
    assert_pg_ok(remap(county, "430302011001", "430302101001", 0, false));
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430302101000", "430302011000", 0, false));
    assert_int_equal(log_count(county), before + 1);
}

static void test_remap__a_correction_by_the_issuer_supersedes(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    int64_t t0 = 1688054400000; /* 2023-06-30 00:00 +08:00 */

    assert_pg_ok(remap(county, "430302100000", "430302010000", t0, false));
    assert_string_equal(resolved(county, "430302100000"), "430302010000");
    /* Not earlier than the remap it corrects. */
    assert_pg_fails(PG_EINVALID,
                    remap(county, "430302100000", "430302009000", t0, true));
    assert_pg_ok(
        remap(county, "430302100000", "430302009000", t0 + 86400000, true));
    assert_string_equal(resolved(county, "430302100005"), "430302009005");
    /* Only its issuer corrects a remap. */
    pg_node *city = fx->node[CITY];
    assert_pg_ok(pg_store__exec(
        city->db, "INSERT INTO division_remap(id, division, old_code, "
                  "new_code, effective_at, _v) VALUES('430302000000-"
                  "01M8EW9C1JHKWJBRCWX1SVY5TA', '430302000000', "
                  "'430302101000', '430302012000', 1, x'')"));
    assert_pg_fails(PG_EEXISTS,
                    remap(city, "430302101000", "430302013000", t0, true));
}

/* ---- resolution -------------------------------------------------------- */

static void test_remap__resolution_follows_chains_and_prefixes(void **state)
{
    fixture *fx = *state;
    pg_node *xx = fx->node[XIANGXIANG];
    pg_resolution res;

    /* Nothing remapped: codes stand. */
    assert_string_equal(resolved(xx, "430381104001"), "430381104001");
    /* 2022 -> 2023 (DOMAIN 2.1): three 居委会 of 潭市镇 merged into one. */
    assert_pg_ok(remap(xx, "430381104001", "430381104004", 0, false));
    assert_pg_ok(remap(xx, "430381104002", "430381104004", 0, false));
    assert_string_equal(resolved(xx, "430381104001"), "430381104004");
    assert_string_equal(resolved(xx, "430381104003"), "430381104003");
    /* The town then becomes a subdistrict: its villages follow, the
     * village's own remap first, then the town's. */
    assert_pg_ok(remap(xx, "430381104000", "430381005000", 0, false));
    assert_string_equal(resolved(xx, "430381104003"), "430381005003");
    assert_pg_ok(pg_division_explain(xx, "430381104001", &res));
    assert_string_equal(res.code, "430381005004");
    assert_int_equal(res.nsteps, 2);
    assert_string_equal(res.steps[0].old_code, "430381104001");
    assert_string_equal(res.steps[1].old_code, "430381104000");
    assert_false(res.cycle);
    /* A chain: the subdistrict renumbered again a year later. */
    assert_pg_ok(remap(xx, "430381005000", "430381006000", 0, false));
    assert_string_equal(resolved(xx, "430381104002"), "430381006004");
    assert_string_equal(resolved(xx, "430381104000"), "430381006000");
    /* The same in SQL, for reports. */
    assert_int_equal(
        test_sql_int(xx, "SELECT pingan_resolve('430381104002') = "
                         "'430381006004' AND pingan_resolve('430381105001') = "
                         "'430381105001' AND pingan_resolve('x') = 'x'"),
        1);
    /* A code outside every remap, a malformed one. */
    assert_string_equal(resolved(xx, "430381105001"), "430381105001");
    char out[PG_CODE_LEN + 1];
    assert_pg_fails(PG_EINVALID, pg_division_resolve(xx, "4303811", out));
}

static void test_remap__crossed_remaps_leave_a_cycle_unresolved(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    pg_resolution res;

    /* Two issuers' remaps that crossed on the way (each was fine where it
     * was written): as merged rows. */
    assert_pg_ok(pg_store__exec(
        city->db,
        "INSERT INTO division_remap(id, division, old_code, new_code, _v) "
        "VALUES('430302000000-01M8EW9C1JHKWJBRCWX1SVY5TA', '430302000000', "
        "'430302100000', '430302009000', x''), "
        "('430300000000-01M8EW9C1JHKWJBRCWX1SVY5TB', '430300000000', "
        "'430302009000', '430302100000', x'')"));
    assert_pg_ok(pg_division_explain(city, "430302100001", &res));
    assert_true(res.cycle);
    assert_string_equal(res.code, "430302100001");
    assert_false(pg_division__within(city, "430302009000", "430302100001"));
    /* Deleted rows do not count. */
    assert_pg_ok(pg_store__exec(city->db, "UPDATE division_remap SET "
                                          "_deleted = 1 WHERE division = "
                                          "'430300000000'"));
    assert_string_equal(resolved(city, "430302100001"), "430302009001");
    assert_true(pg_division__within(city, "430302009000", "430302100001"));
}

/* ---- receipt ----------------------------------------------------------- */

/* The body of the newest log entry. */
static test_blob last_body(pg_node *node)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT body FROM log ORDER BY seq "
                                        "DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    test_blob b = test_blob_copy(sqlite3_column_blob(st, 0),
                                 (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return b;
}

/* A remap txn signed by node, filed under `division`. */
static test_blob forged(pg_node *node, uint64_t bump, const char *division,
                        const char *old_code, const char *new_code)
{
    pg_txn *t = NULL;
    pg_buf b = PG_BUF_INIT;
    const pg_card *card = pg_node_card(node);
    char id[PG_RECORD_ID_LEN + 1];
    pg_value v;
    uint64_t seq = (uint64_t)test_sql_int(
                       node, "SELECT value FROM meta WHERE key = 'last_seq'") +
                   bump;

    snprintf(id, sizeof(id), "%s-01M8EW9C1JHKWJBRCWX1SVY5TA", division);
    assert_pg_ok(pg_txn_new(&t));
    assert_pg_ok(pg_txn_set_header(t, card->code, card->key_id, seq,
                                   PG_HLC_PACK(pg_time_now_ms(), 0), division,
                                   "division_remap", "test"));
    v = test_text(division);
    assert_pg_ok(pg_txn_add(t, id, "division", &v, NULL));
    v = test_text(old_code);
    assert_pg_ok(pg_txn_add(t, id, "old_code", &v, NULL));
    v = test_text(new_code);
    assert_pg_ok(pg_txn_add(t, id, "new_code", &v, NULL));
    assert_pg_ok(pg_txn_seal(t));
    pg_txn_sign(t, pg_node__sign_sk(node));
    assert_pg_ok(pg_txn_encode(&b, t));
    pg_txn_free(t);
    test_blob out = test_blob_copy(b.data, b.len);
    pg_buf_dispose(&b);
    return out;
}

static pg_merge_outcome merge1(pg_node *to, const char *from,
                               const test_blob *b, pg_merge_result *res)
{
    pg_peer peer;
    pg_merger *m = NULL;

    assert_pg_ok(pg_peer_get(&peer, to, from));
    assert_pg_ok(pg_store__begin(to->db));
    assert_pg_ok(pg_merger_new(&m, to));
    assert_pg_ok(pg_merger_apply(m, &peer, 1, b->data, b->len, res));
    assert_pg_ok(pg_merger_finish(m));
    pg_merger_free(m);
    assert_pg_ok(pg_store__commit(to->db));
    return res->outcome;
}

static void test_remap__receipt_needs_an_issuer_above_both_codes(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *town = fx->node[TOWNSHIP];
    pg_merge_result res;

    /* From the county, which holds both codes: applied, and it counts at
     * once. */
    assert_pg_ok(remap(county, "430302100000", "430302009000", 0, false));
    test_blob good = last_body(county);
    assert_int_equal(merge1(town, "430302000000", &good, &res),
                     PG_MERGED_APPLIED);
    assert_string_equal(resolved(town, "430302100007"), "430302009007");
    test_blob_free(&good);

    /* The county remapping a township of another county. */
    test_blob bad =
        forged(county, 1, "430302000000", "430321112000", "430302010000");
    assert_int_equal(merge1(town, "430302000000", &bad, &res),
                     PG_MERGED_QUARANTINED);
    assert_non_null(strstr(res.reason, "ancestor of both"));
    test_blob_free(&bad);

    /* The township remapping its own code: not above it. */
    bad = forged(town, 1, "430302100000", "430302100000", "430302010000");
    assert_int_equal(merge1(county, "430302100000", &bad, &res),
                     PG_MERGED_QUARANTINED);
    assert_non_null(strstr(res.reason, "ancestor of both"));
    test_blob_free(&bad);

    /* Filed under another code than its issuer's. */
    bad = forged(county, 2, "430302100000", "430302100001", "430302100002");
    assert_int_equal(merge1(town, "430302000000", &bad, &res),
                     PG_MERGED_QUARANTINED);
    test_blob_free(&bad);
    assert_int_equal(test_sql_int(town, "SELECT count(*) FROM division_remap"),
                     1);
    assert_int_equal(test_sql_int(county, "SELECT count(*) FROM "
                                          "division_remap"),
                     1);
}

/* ---- routing and peers ------------------------------------------------ */

static bool routed(pg_node *node, const pg_peer *peer, const char *origin,
                   const char *division)
{
    pg_route_entry e = {.origin = origin,
                        .via = "",
                        .division = division,
                        .collection = "hazard"};
    return pg_route_select(node, peer, NULL, NULL, &e);
}

/* Over a link of the given schema version. */
static bool routed_v(pg_node *node, const pg_peer *peer, unsigned version,
                     const char *origin, const char *division)
{
    pg_route_entry e = {.origin = origin,
                        .via = "",
                        .division = division,
                        .collection = "hazard"};
    const pg_schema *link = pg_schema_get(version);
    assert_non_null(link);
    return pg_route_select(node, peer, NULL, link, &e);
}

/* A peer on schema v1 never receives the remaps (division_remap is a v2
 * collection, held back from it) and checks plain codes: over a v1 link
 * records are routed by their codes as stored, over a v2 link resolved. */
static void test_remap__a_v1_link_routes_by_plain_codes(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *town = fx->node[TOWNSHIP];
    pg_peer child, parent;

    assert_pg_ok(pg_peer_get(&child, county, "430302100000"));
    assert_pg_ok(pg_peer_get(&parent, town, "430302000000"));
    assert_pg_ok(remap(county, "430302100000", "430302009000", 0, false));
    /* Filed under the new code: only over a v2 link. */
    assert_true(routed_v(county, &child, 2, "430302000000", "430302009001"));
    assert_false(routed_v(county, &child, 1, "430302000000", "430302009001"));
    /* Under the old code: over both. */
    assert_true(routed_v(county, &child, 2, "430302000000", "430302100001"));
    assert_true(routed_v(county, &child, 1, "430302000000", "430302100001"));
    assert_false(routed_v(county, &child, 1, "430302000000", "430302101001"));
    /* The county's own records go to its parent either way. */
    pg_peer city;
    assert_pg_ok(pg_peer_get(&city, county, "430300000000"));
    assert_true(routed_v(county, &city, 1, "430302000000", "430302009001"));

    /* The township, once it holds the remap, routes its records under
     * the new code to a parent on v2 only. */
    test_blob b = last_body(county);
    pg_merge_result res;
    assert_int_equal(merge1(town, "430302000000", &b, &res), PG_MERGED_APPLIED);
    test_blob_free(&b);
    assert_true(routed_v(town, &parent, 2, "430302100000", "430302009001"));
    assert_false(routed_v(town, &parent, 1, "430302100000", "430302009001"));
    assert_true(routed_v(town, &parent, 1, "430302100000", "430302100001"));
}

static void test_remap__routing_follows_the_new_code(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *town = fx->node[TOWNSHIP];
    pg_node *xx = fx->node[XIANGXIANG];
    pg_peer child, parent;

    assert_pg_ok(pg_peer_get(&child, county, "430302100000"));
    assert_pg_ok(pg_peer_get(&parent, town, "430302000000"));
    assert_true(routed(county, &child, "430302000000", "430302100001"));
    assert_false(routed(county, &child, "430302000000", "430302009001"));
    /* Not found by a code nobody has yet. */
    pg_peer p;
    assert_pg_fails(PG_ENOTFOUND, pg_peer_get(&p, county, "430302009000"));

    assert_pg_ok(remap(county, "430302100000", "430302009000", 0, false));
    /* The child pinned as 430302100000 now gets records under the new
     * code, and still those under the old. */
    assert_true(routed(county, &child, "430302000000", "430302009001"));
    assert_true(routed(county, &child, "430302000000", "430302100001"));
    assert_false(routed(county, &child, "430302000000", "430302101001"));
    /* The peer keeps its row and cursors; it is found by its new code. */
    assert_pg_fails(PG_ENOTFOUND, pg_peer_get(&p, county, "430302009000"));
    assert_pg_ok(pg_peer_find(&p, county, "430302009000"));
    assert_string_equal(p.code, "430302100000");
    assert_string_equal(p.resolved, "430302009000");
    assert_int_equal(p.sent_upto, child.sent_upto);

    /* The township before and after it learns the remap: its writes under
     * the new code are refused, then accepted and routed to the parent. */
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = {{"division", test_text("430302009001")},
                          {"category", test_text("公共安全风险")},
                          {"description", test_text("桥梁护栏破损")}};
    assert_pg_fails(PG_EPOLICY,
                    pg_record_put(id, town, "hazard", NULL, v, 3, "test"));
    assert_false(routed(town, &parent, "430302100000", "430302009001"));
    test_blob b = last_body(county);
    pg_merge_result res;
    assert_int_equal(merge1(town, "430302000000", &b, &res), PG_MERGED_APPLIED);
    test_blob_free(&b);
    assert_pg_ok(pg_record_put(id, town, "hazard", NULL, v, 3, "test"));
    assert_true(routed(town, &parent, "430302100000", "430302009001"));
    /* ... and the county accepts it from the child. */
    b = last_body(town);
    assert_int_equal(merge1(county, "430302100000", &b, &res),
                     PG_MERGED_APPLIED);
    test_blob_free(&b);

    /* A village merge: records under the old village count under the new
     * one, both ways. */
    assert_false(pg_division__within(xx, "430381104004", "430381104001"));
    assert_pg_ok(remap(xx, "430381104001", "430381104004", 0, false));
    assert_true(pg_division__within(xx, "430381104004", "430381104001"));
    assert_true(pg_division__within(xx, "430381104001", "430381104004"));
    assert_false(pg_division__within(xx, "430381104004", "430381104002"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_remap__a_remap_is_one_txn_and_an_audit_entry),
        T(test_remap__bad_remaps_are_refused_and_change_nothing),
        T(test_remap__a_correction_by_the_issuer_supersedes),
        T(test_remap__resolution_follows_chains_and_prefixes),
        T(test_remap__crossed_remaps_leave_a_cycle_unresolved),
        T(test_remap__receipt_needs_an_issuer_above_both_codes),
        T(test_remap__routing_follows_the_new_code),
        T(test_remap__a_v1_link_routes_by_plain_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
