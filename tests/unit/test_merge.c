/*
 * Merge (DESIGN §5, §6; sync/merge.h): txns written on one node and fed,
 * as the bytes of its log, to a merger on another.
 *
 * A txn applies once and is a duplicate after; any order of arrival gives
 * the same tables and the same conflict rows; concurrent updates open one
 * conflict with one id on every node and the same LWW winner; causally
 * ordered writes that arrive out of order never leave a conflict; counters
 * add each increment once; deletes are tombstones; authority lets the
 * higher tier win whatever the clocks say.  A txn with a bad signature,
 * outside the sender's jurisdiction, equivocating or invalid by the schema
 * is quarantined while the next txn of the batch applies; a txn whose
 * signer is unknown, or whose clock is far ahead, waits pending and
 * applies once the card is learnt.  Resolving a conflict writes a change
 * with a merged version that replicates and closes the conflict on the
 * other node too; that version round-trips through the codec, signed, and
 * tools/golden/check_digest.py recomputes its leaf independently.  Keys:
 * the card lookup order, certificates and revocation.  Certificates
 * (`node` txns, DESIGN §7): one whose origin is not strictly above the
 * certified code (a node certifying itself, or its parent) and one whose
 * certificate_sig does not verify with the issuer's key are quarantined,
 * teaching no key, while the genuine ones apply.
 */
#include "testutil.h"

#include "pingan/buf.h"
#include "pingan/cert.h"
#include "pingan/conflict.h"
#include "pingan/crypto.h"
#include "pingan/hlc.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/quarantine.h"
#include "pingan/record.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include "keys.h"
#include "merge.h"
#include "node_internal.h"
#include "store.h"
#include "write_internal.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OP "测试员"

enum {
    COUNTY,    /* 430302 雨湖区 */
    TOWNSHIP,  /* 430302001, child of the county */
    COMMUNITY, /* 430302001001, child of the township */
    TOWNSHIP2, /* 430302002, another child of the county */
    NNODES
};

static const test_node_spec specs[NNODES] = {
    {"430302000000", "雨湖区"},
    {"430302001000", "城正街街道"},
    {"430302001001", "和平社区"},
    {"430302002000", "雨湖路街道"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
    int extra; /* nodes made by extra_node */
} fixture;

/* ---- nodes ----------------------------------------------------------------
 */

static void pin(fixture *fx, int at, int who, pg_peer_role role)
{
    test_pin(fx->node[at], fx->card[who], role);
}

static int teardown(void **state);

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
    pin(fx, COUNTY, TOWNSHIP, PG_PEER_CHILD);
    pin(fx, TOWNSHIP, COUNTY, PG_PEER_PARENT);
    pin(fx, TOWNSHIP, COMMUNITY, PG_PEER_CHILD);
    pin(fx, COMMUNITY, TOWNSHIP, PG_PEER_PARENT);
    pin(fx, COUNTY, TOWNSHIP2, PG_PEER_CHILD);
    pin(fx, TOWNSHIP2, COUNTY, PG_PEER_PARENT);
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

/* A fresh node with code `code` that pins fixture node `parent` as its
 * parent (or `child` as its child when parent < 0; no peer when both are
 * negative). */
static pg_node *extra_node(fixture *fx, const char *code, int parent, int child)
{
    char dir[4096], sub[32];

    snprintf(sub, sizeof(sub), "extra%d", fx->extra++);
    pg_node *node = test_make_node(dir, fx->root, sub, code, "临时节点");
    int who = parent >= 0 ? parent : child;
    if (who >= 0)
        test_pin(node, fx->card[who],
                 parent >= 0 ? PG_PEER_PARENT : PG_PEER_CHILD);
    return node;
}

/* ---- log bodies and merging ---------------------------------------------- */

typedef test_blob blob;

/* The body of the newest log entry. */
static blob last_body(pg_node *node)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT body FROM log ORDER BY seq "
                                        "DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    blob b = test_blob_copy(sqlite3_column_blob(st, 0),
                            (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return b;
}

/* Every row of a query as text, typed: tables compared across nodes. */
static char *dump(pg_node *node, const char *sql)
{
    pg_buf out = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int rc;

    assert_int_equal(sqlite3_prepare_v2(node->db, sql, -1, &st, NULL),
                     SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL:
                pg_buf_puts(&out, "NULL");
                break;
            case SQLITE_INTEGER:
                pg_buf_printf(&out, "i%lld",
                              (long long)sqlite3_column_int64(st, i));
                break;
            case SQLITE_FLOAT:
                pg_buf_printf(&out, "r%.17g", sqlite3_column_double(st, i));
                break;
            case SQLITE_TEXT:
                pg_buf_printf(&out, "'%s'", sqlite3_column_text(st, i));
                break;
            default: {
                const uint8_t *b = sqlite3_column_blob(st, i);
                pg_buf_puts(&out, "x");
                for (int k = 0; k < sqlite3_column_bytes(st, i); k++)
                    pg_buf_printf(&out, "%02x", b[k]);
            }
            }
            pg_buf_puts(&out, "|");
        }
        pg_buf_puts(&out, "\n");
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    pg_buf_putc(&out, 0);
    return (char *)pg_buf_detach(&out, NULL);
}

#define CONFLICT_DUMP                                                          \
    "SELECT id, coll, record_id, field, a_hlc, a_origin, a_value, b_hlc, "     \
    "b_origin, b_value, winner, resolved_hlc, resolved_origin FROM conflict "  \
    "ORDER BY id"
#define HIST_DUMP "SELECT * FROM hist ORDER BY coll, record_id, field, hlc"

/* Merge bodies sent by `from` into `to`, as one bundle. */
static void merge_from(pg_node *to, const char *from, const blob *bodies,
                       size_t n, pg_merge_result *res)
{
    pg_peer peer;
    pg_merger *m = NULL;

    assert_pg_ok(pg_peer_get(&peer, to, from));
    assert_pg_ok(pg_store__begin(to->db));
    assert_pg_ok(pg_merger_new(&m, to));
    for (size_t i = 0; i < n; i++)
        assert_pg_ok(pg_merger_apply(m, &peer, i + 1, bodies[i].data,
                                     bodies[i].len, &res[i]));
    assert_pg_ok(pg_merger_finish(m));
    pg_merger_free(m);
    assert_pg_ok(pg_store__commit(to->db));
}

/* Merge one body; returns its outcome (res may be NULL). */
static pg_merge_outcome merge1(pg_node *to, const char *from, const blob *b,
                               pg_merge_result *res)
{
    pg_merge_result r;
    merge_from(to, from, b, 1, &r);
    if (res)
        *res = r;
    return r.outcome;
}

static void retry(pg_node *node, size_t *applied, size_t *quarantined,
                  size_t *still)
{
    pg_merger *m = NULL;
    assert_pg_ok(pg_store__begin(node->db));
    assert_pg_ok(pg_merger_new(&m, node));
    assert_pg_ok(pg_merger_retry_pending(m, applied, quarantined, still));
    assert_pg_ok(pg_merger_finish(m));
    pg_merger_free(m);
    assert_pg_ok(pg_store__commit(node->db));
}

/* ---- records ------------------------------------------------------------- */

/* A dispute created by `node` in `division`. */
static void new_dispute(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                        const char *division, const char *status)
{
    pg_field_value v[] = {
        {"division", test_text(division)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("两户因排水沟发生纠纷")},
        {"status", test_text(status)},
    };
    assert_pg_ok(pg_record_put(id, node, "dispute", NULL, v, 4, OP));
}

static void set_field(pg_node *node, const char *coll, const char *id,
                      const char *field, pg_value value)
{
    pg_field_value v = {field, value};
    assert_pg_ok(pg_record_put(NULL, node, coll, id, &v, 1, OP));
}

/* The text of a field of a record (static buffer). */
static const char *get_text(pg_node *node, const char *coll, const char *id,
                            const char *field)
{
    static char out[1024];
    pg_record *rec = NULL;
    size_t f;
    assert_pg_ok(pg_record_get(&rec, node, coll, id));
    assert_non_null(pg_collection_field(rec->coll, field, &f));
    assert_int_equal(rec->values[f].kind, PG_VALUE_TEXT);
    snprintf(out, sizeof(out), "%.*s", (int)rec->values[f].len,
             rec->values[f].s);
    pg_record_free(rec);
    return out;
}

static int64_t get_int(pg_node *node, const char *coll, const char *id,
                       const char *field)
{
    pg_record *rec = NULL;
    size_t f;
    assert_pg_ok(pg_record_get(&rec, node, coll, id));
    assert_non_null(pg_collection_field(rec->coll, field, &f));
    assert_int_equal(rec->values[f].kind, PG_VALUE_INT);
    int64_t v = rec->values[f].i;
    pg_record_free(rec);
    return v;
}

/* Wait until the wall clock has moved on by a millisecond or two, so that
 * a later write has a strictly later clock on any node. */
static void tick(void)
{
    struct timespec ts = {0, 3 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* ---- conflicts ------------------------------------------------------------
 */

typedef struct conflicts {
    pg_conflict c[16];
    char texta[16][256], textb[16][256];
    size_t n;
} conflicts;

static int collect_conflict(const pg_conflict *c, void *payload)
{
    conflicts *cs = payload;
    if (cs->n < 16) {
        pg_conflict *d = &cs->c[cs->n];
        *d = *c;
        d->text_a = d->text_b = NULL;
        if (c->value_a.kind == PG_VALUE_TEXT) {
            snprintf(cs->texta[cs->n], 256, "%.*s", (int)c->value_a.len,
                     c->value_a.s);
            d->value_a.s = cs->texta[cs->n];
        }
        if (c->value_b.kind == PG_VALUE_TEXT) {
            snprintf(cs->textb[cs->n], 256, "%.*s", (int)c->value_b.len,
                     c->value_b.s);
            d->value_b.s = cs->textb[cs->n];
        }
    }
    cs->n++;
    return 0;
}

static conflicts *list_conflicts(pg_node *node, bool all)
{
    static conflicts cs;
    memset(&cs, 0, sizeof(cs));
    assert_pg_ok(pg_conflict_list(node, all, collect_conflict, &cs));
    return &cs;
}

/* ---- forging txns with a node's key -------------------------------------- */

/* A one-change txn signed by `node` (its origin), encoded. */
static blob signed_txn(pg_node *node, uint64_t seq, uint64_t hlc,
                       const char *division, const char *coll,
                       const char *record_id, const char *field, pg_value value,
                       const pg_version *base)
{
    pg_txn *t = NULL;
    pg_buf b = PG_BUF_INIT;
    const pg_card *card = pg_node_card(node);

    assert_pg_ok(pg_txn_new(&t));
    assert_pg_ok(pg_txn_set_header(t, card->code, card->key_id, seq, hlc,
                                   division, coll, OP));
    assert_pg_ok(pg_txn_add(t, record_id, field, &value, base));
    assert_pg_ok(pg_txn_seal(t));
    pg_txn_sign(t, pg_node__sign_sk(node));
    assert_pg_ok(pg_txn_encode(&b, t));
    pg_txn_free(t);
    blob out = test_blob_copy(b.data, b.len);
    pg_buf_dispose(&b);
    return out;
}

static uint64_t next_seq(pg_node *node)
{
    return (uint64_t)test_sql_int(
               node, "SELECT value FROM meta WHERE key = 'last_seq'") +
           1;
}

static uint64_t now_hlc(void)
{
    return PG_HLC_PACK(pg_time_now_ms(), 0);
}

static void assert_reason(const pg_merge_result *res, const char *prefix)
{
    if (strncmp(res->reason, prefix, strlen(prefix)) != 0)
        print_error("reason \"%s\" does not start with \"%s\"\n", res->reason,
                    prefix);
    assert_int_equal(strncmp(res->reason, prefix, strlen(prefix)), 0);
}

/* ---- tests: applying ------------------------------------------------------
 */

static void test_merge__applies_a_txn_then_reports_it_duplicate(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_merge_result res;

    new_dispute(id, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob a = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &a, &res),
                     PG_MERGED_APPLIED);
    assert_string_equal(res.origin, specs[TOWNSHIP].code);
    /* The township's seq 1 is the certificate of the community it pinned
     * as a child (DESIGN §7); the dispute is its next txn. */
    assert_int_equal(test_sql_int(fx->node[TOWNSHIP],
                                  "SELECT origin_seq FROM log WHERE "
                                  "collection = 'node'"),
                     1);
    assert_int_equal(res.origin_seq, 2);
    assert_int_equal(res.changes, 4);
    assert_int_equal(res.conflicts, 0);
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", id, "status"),
                        "登记受理");

    /* The row is the origin's: same values, same versions. */
    char *src = dump(fx->node[TOWNSHIP], "SELECT * FROM dispute");
    char *dst = dump(fx->node[COUNTY], "SELECT * FROM dispute");
    assert_string_equal(src, dst);
    free(src);
    free(dst);
    /* Logged as received from the township, once. */
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM log WHERE via = "
                                  "'430302001000' AND origin = '430302001000'"),
                     1);
    /* A base-less create needs no history. */
    assert_int_equal(
        test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM hist"), 0);

    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &a, &res),
                     PG_MERGED_DUPLICATE);
    /* Twice in one bundle: the second is a duplicate of the first. */
    set_field(fx->node[TOWNSHIP], "dispute", id, "status", test_text("调解中"));
    blob b = last_body(fx->node[TOWNSHIP]);
    blob two[2] = {b, b};
    pg_merge_result r2[2];
    merge_from(fx->node[COUNTY], specs[TOWNSHIP].code, two, 2, r2);
    assert_int_equal(r2[0].outcome, PG_MERGED_APPLIED);
    assert_int_equal(r2[1].outcome, PG_MERGED_DUPLICATE);
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", id, "status"),
                        "调解中");
    /* The two received txns, besides the county's own certificates of its
     * two children. */
    assert_int_equal(test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM log"),
                     4);
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM log WHERE origin = "
                                  "'430302001000'"),
                     2);
    /* The clock moved past the received one; the sequence did not (it
     * counts only the two certificates the county wrote). */
    assert_true(test_sql_int(fx->node[COUNTY],
                             "SELECT value FROM meta WHERE key = 'hlc'") >
                test_sql_int(fx->node[TOWNSHIP],
                             "SELECT max(hlc) FROM log WHERE origin = "
                             "'430302001000'"));
    assert_int_equal(
        test_sql_int(fx->node[COUNTY],
                     "SELECT value FROM meta WHERE key = 'last_seq'"),
        2);
    test_blob_free(&a);
    test_blob_free(&b);
}

/* a: create, b: township's update, c: county's concurrent update. */
typedef struct three {
    char id[PG_RECORD_ID_LEN + 1];
    blob t[3];
} three;

static void make_three(fixture *fx, three *t)
{
    new_dispute(t->id, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    t->t[0] = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t->t[0], NULL),
        PG_MERGED_APPLIED);
    set_field(fx->node[TOWNSHIP], "dispute", t->id, "status",
              test_text("调解中"));
    t->t[1] = last_body(fx->node[TOWNSHIP]);
    tick();
    set_field(fx->node[COUNTY], "dispute", t->id, "status", test_text("终结"));
    t->t[2] = last_body(fx->node[COUNTY]);
}

static void free_three(three *t)
{
    for (int i = 0; i < 3; i++)
        test_blob_free(&t->t[i]);
}

/* A community node that knows the county's key (a certificate). */
static pg_node *community_receiver(fixture *fx)
{
    pg_node *x = extra_node(fx, specs[COMMUNITY].code, TOWNSHIP, -1);
    pg_node *city = extra_node(fx, "430300000000", -1, -1);
    test_certify(x, city, pg_node_card(fx->node[COUNTY]));
    pg_node_free(city);
    return x;
}

static void
test_merge__any_order_gives_the_same_tables_and_conflicts(void **state)
{
    fixture *fx = *state;
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char *want[3] = {NULL, NULL, NULL};
    three t;

    make_three(fx, &t);
    for (int o = 0; o < 6; o++) {
        pg_node *x = community_receiver(fx);
        for (int k = 0; k < 3; k++)
            assert_int_equal(
                merge1(x, specs[TOWNSHIP].code, &t.t[orders[o][k]], NULL),
                PG_MERGED_APPLIED);
        char *got[3] = {dump(x, "SELECT * FROM dispute ORDER BY id"),
                        dump(x, CONFLICT_DUMP), dump(x, HIST_DUMP)};
        assert_int_equal(test_sql_int(x, "SELECT count(*) FROM conflict"), 1);
        for (int k = 0; k < 3; k++) {
            if (!want[k]) {
                want[k] = got[k];
                continue;
            }
            if (strcmp(want[k], got[k]) != 0)
                print_error("order %d differs:\n%s\nvs\n%s\n", o, want[k],
                            got[k]);
            assert_string_equal(want[k], got[k]);
            free(got[k]);
        }
        pg_node_free(x);
    }
    /* And the writers themselves agree once they exchanged. */
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t.t[1], NULL),
        PG_MERGED_APPLIED);
    assert_int_equal(
        merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &t.t[2], NULL),
        PG_MERGED_APPLIED);
    char *county = dump(fx->node[COUNTY], "SELECT * FROM dispute ORDER BY id");
    char *township =
        dump(fx->node[TOWNSHIP], "SELECT * FROM dispute ORDER BY id");
    assert_string_equal(county, want[0]);
    assert_string_equal(township, want[0]);
    free(county);
    free(township);
    county = dump(fx->node[COUNTY], CONFLICT_DUMP);
    township = dump(fx->node[TOWNSHIP], CONFLICT_DUMP);
    assert_string_equal(county, want[1]);
    assert_string_equal(township, want[1]);
    free(county);
    free(township);
    for (int k = 0; k < 3; k++)
        free(want[k]);
    free_three(&t);
}

static void
test_merge__concurrent_updates_open_one_conflict_alike_on_both(void **state)
{
    fixture *fx = *state;
    pg_merge_result res;
    three t;

    make_three(fx, &t);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t.t[1], &res),
        PG_MERGED_APPLIED);
    assert_int_equal(res.conflicts, 1);
    assert_int_equal(
        merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &t.t[2], &res),
        PG_MERGED_APPLIED);
    assert_int_equal(res.conflicts, 1);

    conflicts *c = list_conflicts(fx->node[COUNTY], false);
    assert_int_equal(c->n, 1);
    pg_conflict cc = c->c[0];
    char ta[256], tb[256];
    snprintf(ta, sizeof(ta), "%s", c->texta[0]);
    snprintf(tb, sizeof(tb), "%s", c->textb[0]);
    c = list_conflicts(fx->node[TOWNSHIP], false);
    assert_int_equal(c->n, 1);
    pg_conflict *ct = &c->c[0];
    assert_string_equal(cc.id, ct->id);
    assert_int_equal(strlen(cc.id), 16);
    assert_string_equal(ct->collection, "dispute");
    assert_string_equal(ct->record_id, t.id);
    assert_string_equal(ct->field, "status");
    assert_int_equal(pg_version_cmp(&cc.a, &ct->a), 0);
    assert_int_equal(pg_version_cmp(&cc.b, &ct->b), 0);
    assert_true(pg_version_cmp(&ct->a, &ct->b) < 0);
    assert_int_equal(cc.winner, ct->winner);
    assert_false(ct->resolved);
    /* LWW: the county wrote later (tick), so b is its change and wins. */
    assert_string_equal(ct->b.origin, specs[COUNTY].code);
    assert_int_equal(ct->winner, 'b');
    assert_string_equal(ta, "调解中");
    assert_string_equal(tb, "终结");
    assert_string_equal(c->texta[0], "调解中");
    assert_string_equal(c->textb[0], "终结");
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", t.id, "status"),
                        "终结");
    assert_string_equal(get_text(fx->node[TOWNSHIP], "dispute", t.id, "status"),
                        "终结");

    /* The id is the published formula. */
    char id[17];
    assert_pg_ok(
        pg_write__conflict_id(id, "dispute", t.id, "status", &ct->b, &ct->a));
    assert_string_equal(id, ct->id);

    pg_conflict *got = NULL;
    assert_pg_ok(pg_conflict_get(&got, fx->node[TOWNSHIP], ct->id));
    assert_string_equal(got->value_a.s, "调解中");
    pg_conflict_free(got);
    assert_pg_fails(PG_ENOTFOUND, pg_conflict_get(&got, fx->node[TOWNSHIP],
                                                  "0123456789abcdef"));
    assert_null(got);
    assert_pg_fails(PG_EINVALID,
                    pg_conflict_get(&got, fx->node[TOWNSHIP], "xyz"));

    /* Resolving it: the kept value is written as a change whose base is
     * the field's current version (the county's b) and whose merged
     * version is a, so it reaches both and closes the conflict. */
    pg_version keep = cc.a, written;
    assert_pg_ok(
        pg_conflict_resolve(&written, fx->node[TOWNSHIP], cc.id, &keep, OP));
    assert_int_equal(list_conflicts(fx->node[TOWNSHIP], false)->n, 0);
    c = list_conflicts(fx->node[TOWNSHIP], true);
    assert_int_equal(c->n, 1);
    assert_int_equal(pg_version_cmp(&c->c[0].resolved_by, &written), 0);
    assert_string_equal(get_text(fx->node[TOWNSHIP], "dispute", t.id, "status"),
                        "调解中");
    blob r = last_body(fx->node[TOWNSHIP]);
    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, r.data, r.len));
    assert_int_equal(pg_version_cmp(&txn->changes[0].merged, &cc.a), 0);
    assert_int_equal(pg_version_cmp(&txn->changes[0].base, &cc.b), 0);
    pg_txn_free(txn);
    test_blob_free(&r);

    /* The resolution replicates: the county's conflict closes too, and
     * its next write, over the resolution, is no new conflict anywhere. */
    blob w = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &w, &res),
                     PG_MERGED_APPLIED);
    test_blob_free(&w);
    assert_int_equal(list_conflicts(fx->node[COUNTY], false)->n, 0);
    tick();
    set_field(fx->node[COUNTY], "dispute", t.id, "status", test_text("终结"));
    assert_int_equal(list_conflicts(fx->node[COUNTY], false)->n, 0);
    blob later = last_body(fx->node[COUNTY]);
    assert_int_equal(
        merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &later, &res),
        PG_MERGED_APPLIED);
    assert_int_equal(res.conflicts, 0);
    assert_int_equal(list_conflicts(fx->node[TOWNSHIP], false)->n, 0);
    test_blob_free(&later);
    free_three(&t);
}

static void
test_merge__causally_ordered_writes_arriving_out_of_order_never_conflict(
    void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_merge_result res;
    blob t[3];

    new_dispute(id, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    t[0] = last_body(fx->node[TOWNSHIP]);
    set_field(fx->node[TOWNSHIP], "dispute", id, "status", test_text("调解中"));
    t[1] = last_body(fx->node[TOWNSHIP]);
    set_field(fx->node[TOWNSHIP], "dispute", id, "status", test_text("终结"));
    t[2] = last_body(fx->node[TOWNSHIP]);
    /* The writer's own history is a chain. */
    assert_int_equal(list_conflicts(fx->node[TOWNSHIP], true)->n, 0);

    /* a and c without b: c's base is missing, so c may reach a through
     * it; the pair is not reported as a conflict, neither before b
     * arrives nor after. */
    pg_node *x = extra_node(fx, specs[COMMUNITY].code, TOWNSHIP, -1);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &t[0], NULL),
                     PG_MERGED_APPLIED);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &t[2], &res),
                     PG_MERGED_APPLIED);
    assert_int_equal(res.conflicts, 0);
    assert_int_equal(list_conflicts(x, true)->n, 0);
    assert_string_equal(get_text(x, "dispute", id, "status"), "终结");
    /* A row left by an earlier rule (a reported pair whose link then
     * arrives) is removed by the recomputation. */
    char cid[17];
    pg_version va = {0}, vc = {0};
    pg_txn *ta = NULL, *tc = NULL;
    assert_pg_ok(pg_txn_decode(&ta, t[0].data, t[0].len));
    assert_pg_ok(pg_txn_decode(&tc, t[2].data, t[2].len));
    va.hlc = ta->hlc;
    vc.hlc = tc->hlc;
    memcpy(va.origin, ta->origin, PG_CODE_LEN + 1);
    memcpy(vc.origin, tc->origin, PG_CODE_LEN + 1);
    pg_txn_free(ta);
    pg_txn_free(tc);
    assert_pg_ok(pg_write__conflict_id(cid, "dispute", id, "status", &va, &vc));
    char sql[1024];
    size_t fstatus;
    assert_non_null(pg_collection_field(
        pg_schema_collection(pg_schema_current(), "dispute"), "status",
        &fstatus));
    snprintf(sql, sizeof(sql),
             "INSERT INTO conflict(id, coll, record_id, field, a_hlc, "
             "a_origin, a_value, b_hlc, b_origin, b_value, winner, "
             "detected_ms) VALUES('%s', 'dispute', '%s', %zu, %lld, '%s', "
             "'登记受理', %lld, '%s', '终结', 'b', 0)",
             cid, id, fstatus, (long long)va.hlc, va.origin, (long long)vc.hlc,
             vc.origin);
    assert_int_equal(sqlite3_exec(x->db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(list_conflicts(x, true)->n, 1);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &t[1], &res),
                     PG_MERGED_APPLIED);
    assert_int_equal(res.conflicts, 0);
    assert_int_equal(list_conflicts(x, true)->n, 0);
    assert_string_equal(get_text(x, "dispute", id, "status"), "终结");
    pg_node_free(x);

    /* Newest first: the record appears with its last state at once. */
    x = extra_node(fx, specs[COMMUNITY].code, TOWNSHIP, -1);
    for (int k = 2; k >= 0; k--)
        assert_int_equal(merge1(x, specs[TOWNSHIP].code, &t[k], NULL),
                         PG_MERGED_APPLIED);
    assert_int_equal(list_conflicts(x, true)->n, 0);
    assert_string_equal(get_text(x, "dispute", id, "status"), "终结");
    assert_string_equal(get_text(x, "dispute", id, "summary"),
                        "两户因排水沟发生纠纷");
    char *want = dump(fx->node[TOWNSHIP], "SELECT * FROM dispute");
    char *got = dump(x, "SELECT * FROM dispute");
    assert_string_equal(want, got);
    free(want);
    free(got);
    pg_node_free(x);
    for (int k = 0; k < 3; k++)
        test_blob_free(&t[k]);
}

static void test_merge__counters_add_each_increment_once(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = {
        {"division", test_text(specs[COMMUNITY].code)},
        {"name", test_text("李四")},
        {"points", test_integer(10)},
    };
    blob t[3];

    assert_pg_ok(
        pg_record_put(id, fx->node[TOWNSHIP], "volunteer", NULL, v, 3, OP));
    t[0] = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t[0], NULL),
        PG_MERGED_APPLIED);
    set_field(fx->node[TOWNSHIP], "volunteer", id, "points", test_integer(5));
    t[1] = last_body(fx->node[TOWNSHIP]);
    set_field(fx->node[COUNTY], "volunteer", id, "points", test_integer(7));
    t[2] = last_body(fx->node[COUNTY]);

    blob twice[2] = {t[1], t[1]};
    pg_merge_result r[2];
    merge_from(fx->node[COUNTY], specs[TOWNSHIP].code, twice, 2, r);
    assert_int_equal(r[1].outcome, PG_MERGED_DUPLICATE);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t[1], NULL),
        PG_MERGED_DUPLICATE);
    assert_int_equal(
        merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &t[2], NULL),
        PG_MERGED_APPLIED);
    assert_int_equal(get_int(fx->node[COUNTY], "volunteer", id, "points"), 22);
    assert_int_equal(get_int(fx->node[TOWNSHIP], "volunteer", id, "points"),
                     22);

    /* Increments before the creation, and a repeat, elsewhere. */
    pg_node *x = community_receiver(fx);
    int order[] = {2, 1, 0, 1, 2};
    for (size_t k = 0; k < 5; k++)
        merge1(x, specs[TOWNSHIP].code, &t[order[k]], NULL);
    assert_int_equal(get_int(x, "volunteer", id, "points"), 22);
    assert_string_equal(get_text(x, "volunteer", id, "name"), "李四");
    /* Counters keep no history and never conflict. */
    assert_int_equal(test_sql_int(x, "SELECT count(*) FROM hist"), 0);
    assert_int_equal(test_sql_int(x, "SELECT count(*) FROM conflict"), 0);
    char *a = dump(x, "SELECT * FROM volunteer");
    char *b = dump(fx->node[COUNTY], "SELECT * FROM volunteer");
    assert_string_equal(a, b);
    free(a);
    free(b);
    pg_node_free(x);
    for (int k = 0; k < 3; k++)
        test_blob_free(&t[k]);
}

static int count_one(const pg_record *rec, void *payload)
{
    (void)rec;
    (*(int *)payload)++;
    return 0;
}

static void test_merge__a_delete_is_a_tombstone(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_record *rec = NULL;
    int n = 0;

    new_dispute(id, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob a = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &a, NULL),
                     PG_MERGED_APPLIED);
    /* Concurrently: the township deletes, the county edits another
     * field.  Both apply; the record stays deleted. */
    assert_pg_ok(pg_record_delete(fx->node[TOWNSHIP], "dispute", id, OP));
    blob d = last_body(fx->node[TOWNSHIP]);
    set_field(fx->node[COUNTY], "dispute", id, "mediator", test_text("王五"));
    blob e = last_body(fx->node[COUNTY]);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &d, NULL),
                     PG_MERGED_APPLIED);
    assert_int_equal(merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &e, NULL),
                     PG_MERGED_APPLIED);
    for (int i = COUNTY; i <= TOWNSHIP; i++) {
        assert_pg_ok(pg_record_get(&rec, fx->node[i], "dispute", id));
        assert_true(rec->values[rec->coll->nfields].b);
        pg_record_free(rec);
        assert_string_equal(get_text(fx->node[i], "dispute", id, "mediator"),
                            "王五");
        n = 0;
        assert_pg_ok(pg_record_list(fx->node[i], "dispute", NULL, 0, 0, false,
                                    count_one, &n));
        assert_int_equal(n, 0);
        n = 0;
        assert_pg_ok(pg_record_list(fx->node[i], "dispute", NULL, 0, 0, true,
                                    count_one, &n));
        assert_int_equal(n, 1);
    }
    char *x = dump(fx->node[COUNTY], "SELECT * FROM dispute");
    char *y = dump(fx->node[TOWNSHIP], "SELECT * FROM dispute");
    assert_string_equal(x, y);
    free(x);
    free(y);
    test_blob_free(&a);
    test_blob_free(&d);
    test_blob_free(&e);
}

static void test_merge__authority_lets_the_higher_tier_win(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = {
        {"division", test_text(specs[COMMUNITY].code)},
        {"category", test_text("安全生产")},
        {"description", test_text("仓库消防通道堵塞")},
    };

    pg_error_clear();
    int rc = pg_record_put(id, fx->node[TOWNSHIP], "hazard", NULL, v, 3, OP);
    if (rc < 0) {
        /* The category list may differ: take its first value. */
        const pg_collection *c =
            pg_schema_collection(pg_schema_current(), "hazard");
        const pg_field *f = pg_collection_field(c, "category", NULL);
        v[1].value = test_text(f->values[0]);
        assert_pg_ok(
            pg_record_put(id, fx->node[TOWNSHIP], "hazard", NULL, v, 3, OP));
    }
    blob a = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &a, NULL),
                     PG_MERGED_APPLIED);
    /* The county first (lower clock), the township after. */
    set_field(fx->node[COUNTY], "hazard", id, "level", test_text("重大"));
    blob c = last_body(fx->node[COUNTY]);
    tick();
    set_field(fx->node[TOWNSHIP], "hazard", id, "level", test_text("较大"));
    blob t = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t, NULL),
                     PG_MERGED_APPLIED);
    assert_int_equal(merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &c, NULL),
                     PG_MERGED_APPLIED);
    for (int i = COUNTY; i <= TOWNSHIP; i++) {
        assert_string_equal(get_text(fx->node[i], "hazard", id, "level"),
                            "重大");
        conflicts *cs = list_conflicts(fx->node[i], false);
        assert_int_equal(cs->n, 1);
        assert_string_equal(cs->c[0].a.origin, specs[COUNTY].code);
        assert_int_equal(cs->c[0].winner, 'a');
    }
    /* The township may no longer change what the county holds. */
    pg_field_value w = {"level", test_text("一般")};
    assert_pg_fails(PG_EPOLICY, pg_record_put(NULL, fx->node[TOWNSHIP],
                                              "hazard", id, &w, 1, OP));
    test_blob_free(&a);
    test_blob_free(&c);
    test_blob_free(&t);
}

/* ---- tests: quarantine ----------------------------------------------------
 */

static void assert_quarantined(pg_node *node, const char *prefix)
{
    int64_t n = test_sql_int(node, "SELECT count(*) FROM quarantine");
    assert_true(n > 0);
    pg_quarantined q;
    assert_pg_ok(pg_quarantine_get(&q, node,
                                   test_sql_int(node, "SELECT max(id) "
                                                      "FROM quarantine")));
    if (strncmp(q.reason, prefix, strlen(prefix)) != 0)
        print_error("stored reason \"%s\" lacks \"%s\"\n", q.reason, prefix);
    assert_int_equal(strncmp(q.reason, prefix, strlen(prefix)), 0);
}

static void
test_merge__a_bad_signature_is_quarantined_and_the_rest_applies(void **state)
{
    fixture *fx = *state;
    char id1[PG_RECORD_ID_LEN + 1], id2[PG_RECORD_ID_LEN + 1];
    pg_merge_result res[2];
    pg_txn *txn = NULL;
    pg_buf buf = PG_BUF_INIT;

    new_dispute(id1, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob good1 = last_body(fx->node[TOWNSHIP]);
    new_dispute(id2, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob good2 = last_body(fx->node[TOWNSHIP]);
    assert_pg_ok(pg_txn_decode(&txn, good1.data, good1.len));
    txn->signature[7] ^= 0x20;
    assert_pg_ok(pg_txn_encode(&buf, txn));
    pg_txn_free(txn);
    blob bad = test_blob_copy(buf.data, buf.len);
    pg_buf_dispose(&buf);

    blob batch[2] = {bad, good2};
    merge_from(fx->node[COUNTY], specs[TOWNSHIP].code, batch, 2, res);
    assert_int_equal(res[0].outcome, PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "origin signature does not verify");
    assert_string_equal(res[0].origin, specs[TOWNSHIP].code);
    assert_int_equal(res[1].outcome, PG_MERGED_APPLIED);
    assert_quarantined(fx->node[COUNTY], "origin signature does not verify");
    pg_record *rec = NULL;
    assert_pg_fails(PG_ENOTFOUND,
                    pg_record_get(&rec, fx->node[COUNTY], "dispute", id1));
    /* The same bad bytes again: a duplicate; the genuine txn, with the
     * same digest, still applies. */
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &bad, NULL),
                     PG_MERGED_DUPLICATE);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &good1, NULL),
        PG_MERGED_APPLIED);
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", id1, "status"),
                        "登记受理");
    /* Garbage is quarantined as malformed, once. */
    static const uint8_t junk[] = {0x0a, 0x03, 'a', 'b'};
    blob j = test_blob_copy(junk, sizeof(junk));
    pg_merge_result r;
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &j, &r),
                     PG_MERGED_QUARANTINED);
    assert_reason(&r, "malformed txn");
    assert_string_equal(r.origin, "");
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &j, NULL),
                     PG_MERGED_DUPLICATE);
    pg_txn *shown = NULL;
    assert_pg_fails(
        PG_EINVALID,
        pg_quarantine_txn(&shown, fx->node[COUNTY],
                          test_sql_int(fx->node[COUNTY], "SELECT max(id) FROM "
                                                         "quarantine")));
    assert_pg_ok(pg_quarantine_txn(&shown, fx->node[COUNTY], 1));
    assert_string_equal(shown->origin, specs[TOWNSHIP].code);
    pg_txn_free(shown);
    pg_quarantined q;
    assert_pg_fails(PG_ENOTFOUND, pg_quarantine_get(&q, fx->node[COUNTY], 99));
    test_blob_free(&j);
    test_blob_free(&bad);
    test_blob_free(&good1);
    test_blob_free(&good2);
}

static void test_merge__outside_the_jurisdiction_is_quarantined(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], id2[PG_RECORD_ID_LEN + 1];
    char other[PG_RECORD_ID_LEN + 1];
    pg_merge_result res[2];

    /* From a parent: a record of another township's community. */
    new_dispute(other, fx->node[COUNTY], "430302002001", "登记受理");
    blob outside = last_body(fx->node[COUNTY]);
    new_dispute(id, fx->node[COUNTY], specs[COMMUNITY].code, "登记受理");
    blob inside = last_body(fx->node[COUNTY]);
    blob batch[2] = {outside, inside};
    merge_from(fx->node[TOWNSHIP], specs[COUNTY].code, batch, 2, res);
    assert_int_equal(res[0].outcome, PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "outside");
    assert_int_equal(res[1].outcome, PG_MERGED_APPLIED);
    assert_quarantined(fx->node[TOWNSHIP], "outside");

    /* From a child: a txn its origin signed for a division outside the
     * child's subtree (and outside its own jurisdiction). */
    pg_record_id_make(id2, &fx->node[TOWNSHIP]->ulid, specs[TOWNSHIP].code,
                      pg_time_now_ms());
    blob forged = signed_txn(
        fx->node[TOWNSHIP], next_seq(fx->node[TOWNSHIP]) + 100, now_hlc(),
        "430302002001", "dispute", id2, "summary", test_text("越界"), NULL);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &forged, &res[0]),
        PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "outside");

    /* A record that exists under another division. */
    char id3[PG_RECORD_ID_LEN + 1];
    new_dispute(id3, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob made = last_body(fx->node[TOWNSHIP]);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &made, NULL),
        PG_MERGED_APPLIED);
    blob moved = signed_txn(
        fx->node[TOWNSHIP], next_seq(fx->node[TOWNSHIP]) + 200, now_hlc(),
        "430302001002", "dispute", id3, "summary", test_text("换了区划"), NULL);
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &moved, &res[0]),
        PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "outside");
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", id3, "summary"),
                        "两户因排水沟发生纠纷");
    /* Nothing of the refused txn was kept. */
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM log WHERE origin = "
                                  "'430302001000'"),
                     1);
    (void)id;
    test_blob_free(&outside);
    test_blob_free(&inside);
    test_blob_free(&forged);
    test_blob_free(&made);
    test_blob_free(&moved);
}

static void test_merge__equivocation_is_quarantined_wherever_seen(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], id2[PG_RECORD_ID_LEN + 1];
    pg_merge_result res[2];

    uint64_t seq = next_seq(fx->node[TOWNSHIP]);
    new_dispute(id, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob real = last_body(fx->node[TOWNSHIP]);
    /* The origin's key signs other content under the same seq. */
    blob twin =
        signed_txn(fx->node[TOWNSHIP], seq, now_hlc(), specs[COMMUNITY].code,
                   "dispute", id, "summary", test_text("另一个版本"), NULL);
    new_dispute(id2, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob next = last_body(fx->node[TOWNSHIP]);

    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &real, NULL),
        PG_MERGED_APPLIED);
    blob batch[2] = {twin, next};
    merge_from(fx->node[COUNTY], specs[TOWNSHIP].code, batch, 2, res);
    assert_int_equal(res[0].outcome, PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "equivocation:");
    assert_int_equal(res[1].outcome, PG_MERGED_APPLIED);
    assert_quarantined(fx->node[COUNTY], "equivocation:");
    assert_int_equal(
        merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &twin, NULL),
        PG_MERGED_DUPLICATE);

    /* Seen the other way round, the other one is the equivocation. */
    pg_node *x = extra_node(fx, specs[COMMUNITY].code, TOWNSHIP, -1);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &twin, NULL),
                     PG_MERGED_APPLIED);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &real, &res[0]),
                     PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "equivocation:");
    pg_node_free(x);
    test_blob_free(&real);
    test_blob_free(&twin);
    test_blob_free(&next);
}

static void test_merge__an_invalid_value_is_quarantined(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], id2[PG_RECORD_ID_LEN + 1];
    pg_merge_result res[2];

    pg_record_id_make(id, &fx->node[TOWNSHIP]->ulid, specs[TOWNSHIP].code,
                      pg_time_now_ms());
    blob bad =
        signed_txn(fx->node[TOWNSHIP], next_seq(fx->node[TOWNSHIP]) + 100,
                   now_hlc(), specs[COMMUNITY].code, "dispute", id, "status",
                   test_text("不存在的状态"), NULL);
    new_dispute(id2, fx->node[TOWNSHIP], specs[COMMUNITY].code, "登记受理");
    blob next = last_body(fx->node[TOWNSHIP]);
    blob batch[2] = {bad, next};
    merge_from(fx->node[COUNTY], specs[TOWNSHIP].code, batch, 2, res);
    assert_int_equal(res[0].outcome, PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "invalid:");
    assert_int_equal(res[1].outcome, PG_MERGED_APPLIED);
    assert_quarantined(fx->node[COUNTY], "invalid:");

    /* A counter takes ints; the division is the txn's; fields exist. */
    uint64_t seq = next_seq(fx->node[TOWNSHIP]) + 200;
    blob b2 =
        signed_txn(fx->node[TOWNSHIP], seq++, now_hlc(), specs[COMMUNITY].code,
                   "volunteer", id, "points", test_text("十"), NULL);
    blob b3 =
        signed_txn(fx->node[TOWNSHIP], seq++, now_hlc(), specs[COMMUNITY].code,
                   "dispute", id, "division", test_text("430302001002"), NULL);
    blob b4 =
        signed_txn(fx->node[TOWNSHIP], seq++, now_hlc(), specs[COMMUNITY].code,
                   "dispute", id, "no_such_field", test_text("x"), NULL);
    blob b5 =
        signed_txn(fx->node[TOWNSHIP], seq++, now_hlc(), specs[COMMUNITY].code,
                   "no_such_collection", id, "summary", test_text("x"), NULL);
    blob *all[] = {&b2, &b3, &b4, &b5};
    for (size_t i = 0; i < 4; i++) {
        pg_merge_result r;
        assert_int_equal(
            merge1(fx->node[COUNTY], specs[TOWNSHIP].code, all[i], &r),
            PG_MERGED_QUARANTINED);
        assert_reason(&r, "invalid:");
        test_blob_free(all[i]);
    }
    test_blob_free(&bad);
    test_blob_free(&next);
}

/* ---- tests: pending --------------------------------------------------------
 */

static void
test_merge__an_unknown_signer_waits_until_its_card_is_learnt(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_merge_result res;
    size_t applied, quarantined, still;

    new_dispute(id, fx->node[COMMUNITY], specs[COMMUNITY].code, "登记受理");
    blob b = last_body(fx->node[COMMUNITY]);
    assert_int_equal(
        merge1(fx->node[TOWNSHIP], specs[COMMUNITY].code, &b, NULL),
        PG_MERGED_APPLIED);
    /* Relayed by the township before the county knows the community. */
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &b, &res),
                     PG_MERGED_PENDING);
    assert_reason(&res, "signer 430302001001 unknown so far");
    assert_int_equal(
        test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM pending"), 1);
    /* Again: still pending, still one row. */
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &b, NULL),
                     PG_MERGED_PENDING);
    retry(fx->node[COUNTY], &applied, &quarantined, &still);
    assert_int_equal(applied, 0);
    assert_int_equal(still, 1);

    /* The community's certificate arrives (issued by the township). */
    test_certify(fx->node[COUNTY], fx->node[TOWNSHIP],
                 pg_node_card(fx->node[COMMUNITY]));
    retry(fx->node[COUNTY], &applied, &quarantined, &still);
    assert_int_equal(applied, 1);
    assert_int_equal(quarantined, 0);
    assert_int_equal(still, 0);
    assert_int_equal(
        test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM pending"), 0);
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", id, "status"),
                        "登记受理");
    /* Logged as relayed by the township, the peer it came from. */
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM log WHERE origin = "
                                  "'430302001001' AND via = '430302001000'"),
                     1);
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &b, NULL),
                     PG_MERGED_DUPLICATE);
    test_blob_free(&b);
}

static void test_merge__a_clock_far_ahead_waits(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_merge_result res;
    size_t applied, quarantined, still;

    pg_record_id_make(id, &fx->node[TOWNSHIP]->ulid, specs[TOWNSHIP].code,
                      pg_time_now_ms());
    uint64_t ahead = PG_HLC_PACK(pg_time_now_ms() + 2 * PG_HLC_PENDING_MS, 0);
    blob b = signed_txn(fx->node[TOWNSHIP], next_seq(fx->node[TOWNSHIP]), ahead,
                        specs[COMMUNITY].code, "dispute", id, "summary",
                        test_text("来自未来"), NULL);
    int64_t hlc_before = test_sql_int(
        fx->node[COUNTY], "SELECT value FROM meta WHERE key = 'hlc'");
    assert_int_equal(merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &b, &res),
                     PG_MERGED_PENDING);
    assert_non_null(strstr(res.reason, "clock"));
    retry(fx->node[COUNTY], &applied, &quarantined, &still);
    assert_int_equal(still, 1);
    pg_record *rec = NULL;
    assert_pg_fails(PG_ENOTFOUND,
                    pg_record_get(&rec, fx->node[COUNTY], "dispute", id));
    /* The far clock did not drag this node's clock along. */
    assert_true(test_sql_int(fx->node[COUNTY],
                             "SELECT value FROM meta WHERE key = 'hlc'") <
                (int64_t)ahead);
    (void)hlc_before;
    test_blob_free(&b);
}

/* ---- tests: resolution ----------------------------------------------------
 */

static void
test_merge__a_resolution_replicates_and_closes_the_conflict(void **state)
{
    fixture *fx = *state;
    three t;
    pg_version res_v, keep;

    make_three(fx, &t);
    merge1(fx->node[COUNTY], specs[TOWNSHIP].code, &t.t[1], NULL);
    merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &t.t[2], NULL);
    conflicts *cs = list_conflicts(fx->node[COUNTY], false);
    assert_int_equal(cs->n, 1);
    pg_conflict c = cs->c[0];
    assert_int_equal(c.winner, 'b');

    /* Refusals first: nothing written. */
    int64_t log_before =
        test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM log");
    pg_version wrong = c.a;
    wrong.hlc++;
    assert_pg_fails(PG_EINVALID, pg_conflict_resolve(NULL, fx->node[COUNTY],
                                                     c.id, &wrong, OP));
    assert_pg_fails(PG_ENOTFOUND,
                    pg_conflict_resolve(NULL, fx->node[COUNTY],
                                        "00000000000000aa", &c.a, OP));
    assert_int_equal(test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM log"),
                     log_before);

    /* Keep the losing value, a (the township's). */
    keep = c.a;
    const char *audit_sql = "SELECT count(*) FROM audit WHERE action = "
                            "'conflict.resolve' AND operator = '" OP "'";
    int64_t audited = test_sql_int(fx->node[COUNTY], audit_sql);
    assert_pg_ok(
        pg_conflict_resolve(&res_v, fx->node[COUNTY], c.id, &keep, OP));
    /* Recorded with its operator; the refusals above were not. */
    assert_int_equal(test_sql_int(fx->node[COUNTY], audit_sql), audited + 1);
    assert_string_equal(res_v.origin, specs[COUNTY].code);
    assert_string_equal(get_text(fx->node[COUNTY], "dispute", t.id, "status"),
                        "调解中");
    assert_int_equal(list_conflicts(fx->node[COUNTY], false)->n, 0);
    cs = list_conflicts(fx->node[COUNTY], true);
    assert_int_equal(cs->n, 1);
    assert_true(cs->c[0].resolved);
    assert_int_equal(pg_version_cmp(&cs->c[0].resolved_by, &res_v), 0);
    assert_pg_fails(PG_EINVALID, pg_conflict_resolve(NULL, fx->node[COUNTY],
                                                     c.id, &keep, OP));

    /* The resolution's txn: merged version round-trips, signed. */
    blob r = last_body(fx->node[COUNTY]);
    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, r.data, r.len));
    assert_int_equal(txn->nchanges, 1);
    assert_string_equal(txn->changes[0].field, "status");
    assert_int_equal(pg_version_cmp(&txn->changes[0].base, &c.b), 0);
    assert_int_equal(pg_version_cmp(&txn->changes[0].merged, &c.a), 0);
    assert_pg_ok(pg_txn_verify(txn, pg_node_card(fx->node[COUNTY])->sign_pk));
    pg_buf again = PG_BUF_INIT;
    assert_pg_ok(pg_txn_encode(&again, txn));
    assert_int_equal(again.len, r.len);
    assert_memory_equal(again.data, r.data, r.len);
    pg_buf_dispose(&again);
    /* The merged version is signed: changing it breaks the signature. */
    txn->changes[0].merged.hlc++;
    assert_pg_fails(
        PG_EAUTH, pg_txn_verify(txn, pg_node_card(fx->node[COUNTY])->sign_pk));
    pg_txn_free(txn);

    /* Replicated, it closes the conflict on the township too. */
    pg_merge_result mr;
    assert_int_equal(merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &r, &mr),
                     PG_MERGED_APPLIED);
    assert_int_equal(mr.conflicts, 0);
    assert_int_equal(list_conflicts(fx->node[TOWNSHIP], false)->n, 0);
    cs = list_conflicts(fx->node[TOWNSHIP], true);
    assert_int_equal(cs->n, 1);
    assert_int_equal(pg_version_cmp(&cs->c[0].resolved_by, &res_v), 0);
    assert_string_equal(get_text(fx->node[TOWNSHIP], "dispute", t.id, "status"),
                        "调解中");
    char *x = dump(fx->node[COUNTY], CONFLICT_DUMP);
    char *y = dump(fx->node[TOWNSHIP], CONFLICT_DUMP);
    assert_string_equal(x, y);
    free(x);
    free(y);

    /* A node that sees everything at once reports it resolved too. */
    pg_node *n = community_receiver(fx);
    blob all[4] = {r, t.t[2], t.t[1], t.t[0]};
    pg_merge_result res4[4];
    merge_from(n, specs[TOWNSHIP].code, all, 4, res4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(res4[i].outcome, PG_MERGED_APPLIED);
    x = dump(n, CONFLICT_DUMP);
    y = dump(fx->node[TOWNSHIP], CONFLICT_DUMP);
    assert_string_equal(x, y);
    free(x);
    free(y);
    x = dump(n, "SELECT * FROM dispute");
    y = dump(fx->node[TOWNSHIP], "SELECT * FROM dispute");
    assert_string_equal(x, y);
    free(x);
    free(y);
    pg_node_free(n);
    test_blob_free(&r);
    free_three(&t);
}

static void
test_merge__a_resolution_behind_a_newer_branch_is_refused(void **state)
{
    fixture *fx = *state;
    three t;

    /* Three branches from the creation: township (b), county (c) and,
     * last, the community (e), which wins. */
    make_three(fx, &t);
    assert_int_equal(
        merge1(fx->node[COMMUNITY], specs[TOWNSHIP].code, &t.t[0], NULL),
        PG_MERGED_APPLIED);
    tick();
    set_field(fx->node[COMMUNITY], "dispute", t.id, "status",
              test_text("分流指派"));
    blob e = last_body(fx->node[COMMUNITY]);
    merge1(fx->node[TOWNSHIP], specs[COUNTY].code, &t.t[2], NULL);
    merge1(fx->node[TOWNSHIP], specs[COMMUNITY].code, &e, NULL);
    conflicts *cs = list_conflicts(fx->node[TOWNSHIP], false);
    assert_int_equal(cs->n, 3);
    const pg_conflict *bc = NULL;
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->c[i].a.origin, specs[TOWNSHIP].code) == 0 &&
            strcmp(cs->c[i].b.origin, specs[COUNTY].code) == 0)
            bc = &cs->c[i];
    assert_non_null(bc);
    pg_conflict target = *bc;
    int64_t before =
        test_sql_int(fx->node[TOWNSHIP], "SELECT count(*) FROM log");
    /* The field now holds e, concurrent with both b and c: one write
     * cannot name three versions. */
    assert_pg_fails(PG_EINVALID, pg_conflict_resolve(NULL, fx->node[TOWNSHIP],
                                                     target.id, &target.a, OP));
    assert_non_null(
        strstr(pg_error_last()->message, "resolve the newer conflicts"));
    assert_int_equal(
        test_sql_int(fx->node[TOWNSHIP], "SELECT count(*) FROM log"), before);
    /* The newer conflict of the county's c and the community's e can be
     * resolved.  The township writes the resolution, and a node sees its
     * own earlier writes: it reaches the township's b too, so every pair
     * of the three branches closes. */
    char done_id[17] = "";
    for (size_t i = 0; i < cs->n && !done_id[0]; i++)
        if (strcmp(cs->c[i].a.origin, specs[COUNTY].code) == 0 &&
            strcmp(cs->c[i].b.origin, specs[COMMUNITY].code) == 0) {
            assert_pg_ok(pg_conflict_resolve(NULL, fx->node[TOWNSHIP],
                                             cs->c[i].id, &cs->c[i].b, OP));
            memcpy(done_id, cs->c[i].id, sizeof(done_id));
        }
    assert_true(done_id[0] != 0);
    assert_int_equal(list_conflicts(fx->node[TOWNSHIP], false)->n, 0);
    cs = list_conflicts(fx->node[TOWNSHIP], true);
    assert_int_equal(cs->n, 3);
    for (size_t i = 0; i < cs->n; i++)
        assert_true(cs->c[i].resolved);
    test_blob_free(&e);
    free_three(&t);
}

/* The leaf and encoding of a resolution, recomputed by the independent
 * Python implementation from the specification. */
static void test_merge__python_recomputes_a_resolution_leaf(void **state)
{
    fixture *fx = *state;
    uint8_t kseed[PG_SIGN_SEED_LEN], pk[PG_SIGN_PK_LEN], sk[PG_SIGN_SK_LEN];
    char key_id[PG_KEY_ID_LEN + 1];
    pg_txn *t = NULL;
    pg_buf enc = PG_BUF_INIT;

    if (system("python3 -c 'import hashlib' >/dev/null 2>&1") != 0) {
        skip();
        return;
    }
    for (int i = 0; i < PG_SIGN_SEED_LEN; i++)
        kseed[i] = (uint8_t)i;
    pg_sign_seed_keypair(pk, sk, kseed);
    pg_key_id(key_id, pk);
    uint64_t hlc = PG_HLC_PACK(1764122400000LL, 5);
    const char *rid = "430302001000-01KAYY7580Q2R8ZK3TJ5M6N7P9";
    pg_version base = {.hlc = PG_HLC_PACK(1764122300000LL, 1)};
    pg_version merged = {.hlc = PG_HLC_PACK(1764122200000LL, 2)};
    memcpy(base.origin, "430302000000", 13);
    memcpy(merged.origin, "430302001000", 13);
    pg_value v1 = test_text("调解中"), v2 = test_integer(3);

    assert_pg_ok(pg_txn_new(&t));
    assert_pg_ok(pg_txn_set_header(t, "430302001000", key_id, 9, hlc,
                                   "430302001001", "dispute", "张三"));
    t->has_seed = true;
    for (int i = 0; i < PG_SEED_LEN; i++)
        t->seed[i] = (uint8_t)(0x60 + i);
    assert_pg_ok(pg_txn_add_merged(t, rid, "status", &v1, &base, &merged));
    assert_pg_ok(pg_txn_add(t, rid, "party_count", &v2, &base));
    assert_pg_ok(pg_txn_seal(t));
    pg_txn_sign(t, sk);
    assert_pg_ok(pg_txn_encode(&enc, t));

    json_t *changes = json_array();
    const char *types[] = {"enum", "int"};
    for (size_t i = 0; i < t->nchanges; i++) {
        const pg_change *c = &t->changes[i];
        pg_buf ve = PG_BUF_INIT;
        assert_pg_ok(pg_value_encode(&ve, &c->value));
        char vh[256], salt[33], commit[65], leaf[65];
        pg_hex(vh, ve.data, ve.len);
        pg_hex(salt, c->salt, PG_SALT_LEN);
        pg_hex(commit, c->commit, PG_HASH_LEN);
        pg_hex(leaf, c->leaf, PG_HASH_LEN);
        json_t *value =
            c->value.kind == PG_VALUE_TEXT
                ? json_pack("{s:s, s:s}", "kind", "text", "text", c->text)
                : json_pack("{s:s, s:I}", "kind", "int", "int",
                            (json_int_t)c->value.i);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:{s:I, s:s}, s:{s:I, s:s}, s:s, s:o, s:s, s:s, "
            "s:s, s:s}",
            "record_id", c->record_id, "field", c->field, "field_type",
            types[i], "base", "hlc", (json_int_t)c->base.hlc, "origin",
            c->base.origin, "merged", "hlc", (json_int_t)c->merged.hlc,
            "origin", c->merged.origin, "form", "whole", "value", value,
            "value_encoding", vh, "salt", salt, "commit", commit, "leaf", leaf);
        assert_non_null(o);
        json_array_append_new(changes, o);
        pg_buf_dispose(&ve);
    }
    char seedhex[65], digest[65], sig[129], pkhex[65], kseedhex[65];
    pg_hex(seedhex, t->seed, PG_SEED_LEN);
    pg_hex(digest, t->digest, PG_HASH_LEN);
    pg_hex(sig, t->signature, PG_SIG_LEN);
    pg_hex(pkhex, pk, PG_SIGN_PK_LEN);
    pg_hex(kseedhex, kseed, PG_SIGN_SEED_LEN);
    char *hex = malloc(2 * enc.len + 1);
    assert_non_null(hex);
    pg_hex(hex, enc.data, enc.len);
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:i, s:s, s:s, s:I, s:I, s:I, "
        "s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}]}",
        "format", "pingan golden txn vectors, version 1", "key", "ed25519_seed",
        kseedhex, "public_key", pkhex, "key_id", key_id, "txns", "name",
        "resolution", "suite", 1, "origin", "430302001000", "key_id", key_id,
        "seq", (json_int_t)9, "hlc", (json_int_t)hlc, "hlc_ms",
        (json_int_t)1764122400000LL, "hlc_counter", (json_int_t)5, "division",
        "430302001001", "collection", "dispute", "operator", "张三", "seed",
        seedhex, "changes", changes, "digest", digest, "signature", sig,
        "encoding", hex);
    assert_non_null(doc);
    char path[4096], cmd[8192];
    testutil_path(path, sizeof(path), fx->root, "resolution.json");
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
    free(hex);
    snprintf(cmd, sizeof(cmd), "python3 %s/tools/golden/check_digest.py %s",
             PINGAN_SOURCE_DIR, path);
    assert_int_equal(system(cmd), 0);
    pg_buf_dispose(&enc);
    pg_txn_free(t);
    pg_memzero(sk, sizeof(sk));
}

/* ---- tests: certificates ---------------------------------------------------
 */

static void cert_put_str(pg_buf *b, const char *s)
{
    assert_pg_ok(pg_buf_put_u32be(b, (uint32_t)strlen(s)));
    assert_pg_ok(pg_buf_puts(b, s));
}

/* Sign a certificate as pingan/cert.h publishes the message, with any
 * key, whatever the codes: what no honest issuer would sign. */
static void sign_cert(pg_cert *c, const uint8_t sk[PG_SIGN_SK_LEN])
{
    pg_buf msg = PG_BUF_INIT;
    uint8_t digest[PG_HASH_LEN];

    cert_put_str(&msg, "pingan.cert.v1");
    assert_pg_ok(pg_buf_putc(&msg, (uint8_t)c->subject.suite));
    cert_put_str(&msg, c->subject.code);
    cert_put_str(&msg, c->subject.name);
    cert_put_str(&msg, pg_tier_name(c->subject.tier));
    assert_pg_ok(pg_buf_put(&msg, c->subject.sign_pk, PG_SIGN_PK_LEN));
    assert_pg_ok(pg_buf_put(&msg, c->subject.box_pk, PG_BOX_PK_LEN));
    cert_put_str(&msg, c->issuer);
    cert_put_str(&msg, c->issuer_key_id);
    assert_pg_ok(pg_buf_put_u64be(&msg, (uint64_t)c->valid_from));
    assert_pg_ok(pg_blake2b(digest, PG_HASH_LEN, msg.data, msg.len));
    pg_sign(c->signature, digest, sizeof(digest), sk);
    pg_buf_dispose(&msg);
}

/* A certificate of subject by issuer, signed with the issuer's key. */
static pg_cert forge_cert(pg_node *issuer, const pg_card *subject,
                          int64_t valid_from)
{
    const pg_card *ic = pg_node_card(issuer);
    pg_cert c;

    memset(&c, 0, sizeof(c));
    c.subject = *subject;
    memcpy(c.issuer, ic->code, PG_CODE_LEN + 1);
    memcpy(c.issuer_key_id, ic->key_id, PG_KEY_ID_LEN + 1);
    c.valid_from = valid_from;
    sign_cert(&c, pg_node__sign_sk(issuer));
    return c;
}

/* The `node` txn by which `node` (its origin, seq `seq`) writes `cert` as
 * a new record, as pg_peer_add does. */
static blob cert_txn(pg_node *node, uint64_t seq, const pg_cert *cert)
{
    const pg_card *card = pg_node_card(node);
    pg_field_value v[PG_CERT_FIELDS];
    char id[PG_RECORD_ID_LEN + 1];
    pg_cert_text text;
    pg_buf b = PG_BUF_INIT;
    pg_txn *t = NULL;

    pg_cert_to_fields(v, &text, cert);
    pg_record_id_make(id, &node->ulid, card->code, pg_time_now_ms());
    assert_pg_ok(pg_txn_new(&t));
    assert_pg_ok(pg_txn_set_header(t, card->code, card->key_id, seq, now_hlc(),
                                   cert->subject.code, "node", "pingan"));
    for (size_t i = 0; i < PG_CERT_FIELDS; i++)
        assert_pg_ok(pg_txn_add(t, id, v[i].field, &v[i].value, NULL));
    assert_pg_ok(pg_txn_seal(t));
    pg_txn_sign(t, pg_node__sign_sk(node));
    assert_pg_ok(pg_txn_encode(&b, t));
    pg_txn_free(t);
    blob out = test_blob_copy(b.data, b.len);
    pg_buf_dispose(&b);
    return out;
}

static int64_t certs_of(pg_node *node, const char *code)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM node WHERE code = '%s'",
             code);
    return test_sql_int(node, sql);
}

/* The body of the first `node` txn in a node's log. */
static blob first_cert_body(pg_node *node)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT body FROM log WHERE "
                                        "collection = 'node' ORDER BY seq "
                                        "LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    blob b = test_blob_copy(sqlite3_column_blob(st, 0),
                            (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return b;
}

static void
test_merge__a_certificate_not_issued_from_above_is_quarantined(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *township = fx->node[TOWNSHIP];
    char id[PG_RECORD_ID_LEN + 1];
    pg_merge_result res[2];
    pg_card card;

    /* The forged certificates are well signed: the same bytes as
     * pg_cert_issue gives for an issuer that may certify. */
    const pg_card *community = pg_node_card(fx->node[COMMUNITY]);
    pg_cert real, mine = forge_cert(township, community, 12345);
    assert_pg_ok(pg_cert_issue(&real, pg_node_card(township),
                               pg_node__sign_sk(township), community, 12345));
    assert_memory_equal(real.signature, mine.signature, PG_SIG_LEN);

    /* The township certifies itself, with a new key (an impostor's), and
     * sends it up with a good txn.  Its signature as origin and as
     * issuer both verify; only a node strictly above it may certify it. */
    pg_node *impostor = extra_node(fx, specs[TOWNSHIP].code, -1, -1);
    pg_card swapped = *pg_node_card(impostor);
    snprintf(swapped.name, sizeof(swapped.name), "%s", specs[TOWNSHIP].name);
    pg_cert self = forge_cert(township, &swapped, pg_time_now_ms());
    assert_pg_fails(PG_EPOLICY,
                    pg_cert_verify(&self, pg_node_card(township)->sign_pk));
    blob selfcert = cert_txn(township, next_seq(township) + 100, &self);
    new_dispute(id, township, specs[COMMUNITY].code, "登记受理");
    blob good = last_body(township);
    blob batch[2] = {selfcert, good};
    merge_from(county, specs[TOWNSHIP].code, batch, 2, res);
    assert_int_equal(res[0].outcome, PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "invalid: 430302001000 may not certify");
    assert_int_equal(res[1].outcome, PG_MERGED_APPLIED);
    assert_quarantined(county, "invalid: 430302001000 may not certify");
    /* Nothing of it is believed: the township's key is still the pinned
     * one, the impostor's key is nobody's. */
    assert_int_equal(certs_of(county, specs[TOWNSHIP].code), 1);
    assert_pg_ok(pg_keys_card(&card, county, specs[TOWNSHIP].code));
    assert_string_equal(card.key_id, pg_node_card(township)->key_id);
    assert_pg_ok(
        pg_keys_signer(&card, county, specs[TOWNSHIP].code, swapped.key_id));
    assert_string_not_equal(card.key_id, swapped.key_id);

    /* The township certifies its parent and sends it down to the
     * community, where certificates of ancestors do arrive from the
     * parent: not from below either. */
    pg_node *x = extra_node(fx, specs[COMMUNITY].code, TOWNSHIP, -1);
    pg_card county_new = *pg_node_card(impostor);
    memcpy(county_new.code, specs[COUNTY].code, PG_CODE_LEN + 1);
    county_new.tier = PG_TIER_COUNTY;
    pg_cert up = forge_cert(township, &county_new, pg_time_now_ms());
    blob upcert = cert_txn(township, next_seq(township) + 200, &up);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &upcert, &res[0]),
                     PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "outside: origin 430302001000 is not on the path");
    assert_int_equal(certs_of(x, specs[COUNTY].code), 0);
    assert_pg_fails(PG_ENOTFOUND, pg_keys_card(&card, x, specs[COUNTY].code));
    /* While the township's genuine certificate of the community, and the
     * county's of the township, do apply there. */
    blob mine_real = first_cert_body(township);
    blob county_cert = first_cert_body(county);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &mine_real, NULL),
                     PG_MERGED_APPLIED);
    pg_node *city = extra_node(fx, "430300000000", -1, -1);
    test_certify(x, city, pg_node_card(county));
    pg_node_free(city);
    assert_int_equal(merge1(x, specs[TOWNSHIP].code, &county_cert, &res[0]),
                     PG_MERGED_APPLIED);
    assert_int_equal(certs_of(x, specs[TOWNSHIP].code), 1);

    pg_node_free(x);
    pg_node_free(impostor);
    test_blob_free(&selfcert);
    test_blob_free(&good);
    test_blob_free(&upcert);
    test_blob_free(&mine_real);
    test_blob_free(&county_cert);
}

static void
test_merge__a_certificate_with_a_bad_signature_is_quarantined(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *township = fx->node[TOWNSHIP];
    const pg_card *community = pg_node_card(fx->node[COMMUNITY]);
    char id[PG_RECORD_ID_LEN + 1];
    pg_merge_result res[2];
    pg_card card;
    pg_cert cert;

    /* The township's certificate of the community, one bit of its
     * certificate_sig flipped, in a txn the township signed properly. */
    assert_pg_ok(pg_cert_issue(&cert, pg_node_card(township),
                               pg_node__sign_sk(township), community,
                               pg_time_now_ms()));
    cert.signature[PG_SIG_LEN / 2] ^= 0x08;
    blob bad = cert_txn(township, next_seq(township) + 100, &cert);
    /* And one signed with the community's own key in the township's
     * name. */
    pg_cert other = forge_cert(fx->node[COMMUNITY], community, 77);
    memcpy(other.issuer, specs[TOWNSHIP].code, PG_CODE_LEN + 1);
    memcpy(other.issuer_key_id, pg_node_card(township)->key_id,
           PG_KEY_ID_LEN + 1);
    blob wrong_key = cert_txn(township, next_seq(township) + 101, &other);
    new_dispute(id, township, specs[COMMUNITY].code, "登记受理");
    blob good = last_body(township);

    blob batch[2] = {bad, good};
    merge_from(county, specs[TOWNSHIP].code, batch, 2, res);
    assert_int_equal(res[0].outcome, PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "invalid: the certificate of 430302001001 does "
                           "not verify");
    assert_int_equal(res[1].outcome, PG_MERGED_APPLIED);
    assert_quarantined(county, "invalid: the certificate of 430302001001");
    assert_int_equal(merge1(county, specs[TOWNSHIP].code, &wrong_key, &res[0]),
                     PG_MERGED_QUARANTINED);
    assert_reason(&res[0], "invalid: the certificate of 430302001001 does "
                           "not verify");
    /* The community's key is still unknown to the county. */
    assert_int_equal(certs_of(county, specs[COMMUNITY].code), 0);
    assert_pg_fails(PG_ENOTFOUND,
                    pg_keys_card(&card, county, specs[COMMUNITY].code));

    /* The genuine certificate (the township's first txn, written when it
     * pinned the community) applies, and the key is known. */
    blob real = first_cert_body(township);
    assert_int_equal(merge1(county, specs[TOWNSHIP].code, &real, NULL),
                     PG_MERGED_APPLIED);
    assert_int_equal(certs_of(county, specs[COMMUNITY].code), 1);
    assert_pg_ok(pg_keys_card(&card, county, specs[COMMUNITY].code));
    assert_memory_equal(card.sign_pk, community->sign_pk, PG_SIGN_PK_LEN);
    test_blob_free(&bad);
    test_blob_free(&wrong_key);
    test_blob_free(&good);
    test_blob_free(&real);
}

/* ---- tests: keys ----------------------------------------------------------
 */

static void test_merge__keys_find_own_pinned_and_certified_cards(void **state)
{
    fixture *fx = *state;
    pg_card card;
    int64_t after;

    assert_pg_ok(pg_keys_card(&card, fx->node[TOWNSHIP], specs[TOWNSHIP].code));
    assert_string_equal(card.key_id, pg_node_card(fx->node[TOWNSHIP])->key_id);
    assert_pg_ok(pg_keys_card(&card, fx->node[TOWNSHIP], specs[COUNTY].code));
    assert_memory_equal(card.sign_pk, pg_node_card(fx->node[COUNTY])->sign_pk,
                        PG_SIGN_PK_LEN);
    assert_pg_fails(PG_ENOTFOUND, pg_keys_card(&card, fx->node[COUNTY],
                                               specs[COMMUNITY].code));

    /* A certificate makes a key known. */
    const pg_card *community = pg_node_card(fx->node[COMMUNITY]);
    test_certify(fx->node[COUNTY], fx->node[TOWNSHIP], community);
    assert_pg_ok(pg_keys_card(&card, fx->node[COUNTY], specs[COMMUNITY].code));
    assert_memory_equal(card.sign_pk, community->sign_pk, PG_SIGN_PK_LEN);
    assert_memory_equal(card.box_pk, community->box_pk, PG_BOX_PK_LEN);
    assert_string_equal(card.key_id, community->key_id);
    assert_pg_ok(pg_keys_signer(&card, fx->node[COUNTY], specs[COMMUNITY].code,
                                community->key_id));
    assert_string_equal(card.key_id, community->key_id);
    assert_pg_ok(pg_keys_revoked(&after, fx->node[COUNTY],
                                 specs[COMMUNITY].code, community->key_id));
    assert_int_equal(after, -1);
    /* Revoked after seq 5. */
    assert_int_equal(
        test_sql_int(fx->node[COUNTY],
                     "UPDATE node SET revoked = 1, revoked_after_seq = 5 "
                     "WHERE code = '430302001001' RETURNING 1"),
        1);
    assert_pg_ok(pg_keys_revoked(&after, fx->node[COUNTY],
                                 specs[COMMUNITY].code, community->key_id));
    assert_int_equal(after, 5);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_merge__applies_a_txn_then_reports_it_duplicate),
        T(test_merge__any_order_gives_the_same_tables_and_conflicts),
        T(test_merge__concurrent_updates_open_one_conflict_alike_on_both),
        T(test_merge__causally_ordered_writes_arriving_out_of_order_never_conflict),
        T(test_merge__counters_add_each_increment_once),
        T(test_merge__a_delete_is_a_tombstone),
        T(test_merge__authority_lets_the_higher_tier_win),
        T(test_merge__a_bad_signature_is_quarantined_and_the_rest_applies),
        T(test_merge__outside_the_jurisdiction_is_quarantined),
        T(test_merge__equivocation_is_quarantined_wherever_seen),
        T(test_merge__an_invalid_value_is_quarantined),
        T(test_merge__an_unknown_signer_waits_until_its_card_is_learnt),
        T(test_merge__a_clock_far_ahead_waits),
        T(test_merge__a_resolution_replicates_and_closes_the_conflict),
        T(test_merge__a_resolution_behind_a_newer_branch_is_refused),
        T(test_merge__python_recomputes_a_resolution_leaf),
        T(test_merge__keys_find_own_pinned_and_certified_cards),
        T(test_merge__a_certificate_not_issued_from_above_is_quarantined),
        T(test_merge__a_certificate_with_a_bad_signature_is_quarantined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
