/*
 * Records: local writes and reads through a real node directory.
 *
 * Every collection of the schema round-trips; updates move versions and
 * carry the previous version as their base; the node survives restarts
 * with a gap-free origin sequence; every kind of invalid write is refused
 * and leaves the log, the tables and the sequence untouched; deletes are
 * tombstones; bulk imports (typed and JSON lines) are one txn per
 * division and batch and all or nothing; damaged node directories are
 * reported; two handles on one directory serialise, and a writer that
 * finds the store locked gets PG_EBUSY within the busy timeout.
 */
#include "testutil.h"

#include "pingan/changelog.h"
#include "pingan/crypto.h"
#include "pingan/hlc.h"
#include "pingan/node.h"
#include "pingan/record.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include "node_internal.h"
#include "store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TOWNSHIP    "430302001000"
#define COMMUNITY_1 "430302001001"
#define COMMUNITY_2 "430302001002"
#define COMMUNITY_3 "430302001003"
#define OPERATOR    "张三"

typedef struct fixture {
    char *root;     /* the mkdtemp directory */
    char dir[4096]; /* root/node: the shared township node */
    pg_node *node;
} fixture;

/* ---- helpers ------------------------------------------------------------- */

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

/* Make a node in root/sub and open it. */
static pg_node *make_node(fixture *fx, const char *sub, const char *code,
                          const char *name, char dir_out[4096])
{
    return test_make_node(dir_out, fx->root, sub, code, name);
}

static int group_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    testutil_path(fx->dir, sizeof(fx->dir), fx->root, "node");
    if (test_node_setup(&fx->node, NULL, fx->dir, TOWNSHIP, "城正街街道") < 0)
        return -1;
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *fx = *state;
    pg_node_free(fx->node);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

/* What a refused write must leave untouched. */
typedef struct snapshot {
    int64_t log;
    int64_t rows;
    int64_t last_seq;
    int64_t hlc;
} snapshot;

static snapshot snap(pg_node *node, const char *table)
{
    snapshot s;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
    s.log = test_sql_int(node, "SELECT count(*) FROM log");
    s.rows = test_sql_int(node, sql);
    s.last_seq =
        test_sql_int(node, "SELECT value FROM meta WHERE key = 'last_seq'");
    s.hlc = test_sql_int(node, "SELECT value FROM meta WHERE key = 'hlc'");
    return s;
}

static void assert_unchanged(const snapshot *before, pg_node *node,
                             const char *table)
{
    snapshot now = snap(node, table);
    assert_int_equal(now.log, before->log);
    assert_int_equal(now.rows, before->rows);
    assert_int_equal(now.last_seq, before->last_seq);
    assert_int_equal(now.hlc, before->hlc);
}

/* A minimal valid dispute at a division. */
#define DISPUTE(division, summary)                                             \
    {                                                                          \
        {"division", test_text(division)},                                     \
            {"dispute_type", test_text("邻里纠纷")},                           \
            {"summary", test_text(summary)},                                   \
    }

/* Collect log entries: decoded copies of their txns. */
typedef struct log_item {
    pg_txn *txn;
    bool sig_ok;
    int64_t seq;
} log_item;

typedef struct log_copy {
    pg_buf items; /* log_item[] */
    size_t n;
} log_copy;

static log_item *log_at(const log_copy *lc, size_t i)
{
    return &((log_item *)lc->items.data)[i];
}

static int log_collect(const pg_log_entry *e, void *payload)
{
    log_copy *lc = payload;
    pg_buf buf = PG_BUF_INIT;
    log_item item;

    /* The txn is borrowed: keep a copy made through the codec. */
    assert_pg_ok(pg_txn_encode(&buf, e->txn));
    assert_pg_ok(pg_txn_decode(&item.txn, buf.data, buf.len));
    memcpy(item.txn->digest, e->txn->digest, PG_HASH_LEN);
    assert_memory_equal(e->digest, e->txn->digest, PG_HASH_LEN);
    item.sig_ok = e->signature_ok;
    item.seq = e->seq;
    assert_pg_ok(pg_buf_put(&lc->items, &item, sizeof(item)));
    lc->n++;
    pg_buf_dispose(&buf);
    return 0;
}

static void log_copy_init(log_copy *lc)
{
    pg_buf_init(&lc->items, PG_BUF_DEFAULT_MAX);
    lc->n = 0;
}

static void log_copy_free(log_copy *lc)
{
    for (size_t i = 0; i < lc->n; i++)
        pg_txn_free(log_at(lc, i)->txn);
    pg_buf_dispose(&lc->items);
    lc->n = 0;
}

/* The last txn in the log (a decoded copy); the caller frees it. */
static pg_txn *last_txn(pg_node *node, bool *sig_ok)
{
    int64_t last;
    log_copy lc;

    log_copy_init(&lc);
    assert_pg_ok(pg_log_last_seq(node, &last));
    assert_true(last > 0);
    assert_pg_ok(pg_log_list(node, last - 1, 1, log_collect, &lc));
    assert_int_equal(lc.n, 1);
    pg_txn *t = log_at(&lc, 0)->txn;
    if (sig_ok)
        *sig_ok = log_at(&lc, 0)->sig_ok;
    log_at(&lc, 0)->txn = NULL;
    log_copy_free(&lc);
    return t;
}

/* A field's index in a collection. */
static size_t field_index(const char *coll, const char *name)
{
    size_t idx;
    const pg_collection *c = pg_schema_collection(pg_schema_current(), coll);
    assert_non_null(c);
    assert_non_null(pg_collection_field(c, name, &idx));
    return idx;
}

static int count_cb(const pg_record *rec, void *payload)
{
    (void)rec;
    (*(size_t *)payload)++;
    return 0;
}

static size_t count_listed(pg_node *node, const char *coll, bool deleted)
{
    size_t n = 0;
    assert_pg_ok(pg_record_list(node, coll, NULL, 0, 0, deleted, count_cb, &n));
    return n;
}

/* ---- every collection round-trips -----------------------------------------
 */

/* A valid value of a field, by type (division fields get @p division). */
static pg_value sample_value(const pg_field *f, size_t index,
                             const char *division)
{
    pg_value v;
    memset(&v, 0, sizeof(v));
    switch (f->type) {
    case PG_TYPE_TEXT:
        return test_text("样本文本 sample");
    case PG_TYPE_INT:
        return test_integer(3);
    case PG_TYPE_REAL:
        v.kind = PG_VALUE_REAL;
        v.r = 2000.5;
        return v;
    case PG_TYPE_BOOL:
        v.kind = PG_VALUE_BOOL;
        v.b = true;
        return v;
    case PG_TYPE_TIME:
        return test_integer(1764122400000);
    case PG_TYPE_ENUM:
        return test_text(f->values[0]);
    case PG_TYPE_DIVISION:
        return test_text(index == 0 ? division : "430100000000");
    case PG_TYPE_ID_NUMBER:
        return test_text("430302198503121230");
    case PG_TYPE_PHONE:
        return test_text("13812345678");
    case PG_TYPE_NAME:
        return test_text("张伟");
    case PG_TYPE_ADDRESS:
        return test_text("湘潭市雨湖区城正街1号");
    case PG_TYPE_COUNTER:
        return test_integer(5);
    }
    fail_msg("field %s has an unknown type", f->name);
    return v;
}

/* Another valid value, different from sample_value. */
static pg_value other_value(const pg_field *f)
{
    pg_value v;
    memset(&v, 0, sizeof(v));
    switch (f->type) {
    case PG_TYPE_TEXT:
        return test_text("改过的文本");
    case PG_TYPE_INT:
    case PG_TYPE_COUNTER:
        return test_integer(4);
    case PG_TYPE_REAL:
        v.kind = PG_VALUE_REAL;
        v.r = -2.25;
        return v;
    case PG_TYPE_BOOL:
        v.kind = PG_VALUE_BOOL;
        v.b = false;
        return v;
    case PG_TYPE_TIME:
        return test_integer(1764122401000);
    case PG_TYPE_ENUM:
        return test_text(f->values[1] ? f->values[1] : f->values[0]);
    case PG_TYPE_DIVISION:
        return test_text("430200000000");
    case PG_TYPE_ID_NUMBER:
        return test_text("11010519491231002X");
    case PG_TYPE_PHONE:
        return test_text("13912345678");
    case PG_TYPE_NAME:
        return test_text("李娜");
    case PG_TYPE_ADDRESS:
        return test_text("湘潭市岳塘区建设路2号");
    }
    fail_msg("field %s has an unknown type", f->name);
    return v;
}

static void round_trip_collection(pg_node *node, const pg_collection *coll)
{
    pg_field_value *values = calloc(coll->nfields, sizeof(*values));
    char id[PG_RECORD_ID_LEN + 1];
    pg_record *rec = NULL, *after = NULL;
    int64_t seq_before;

    assert_non_null(values);
    for (size_t f = 0; f < coll->nfields; f++) {
        values[f].field = coll->fields[f].name;
        values[f].value = sample_value(&coll->fields[f], f, COMMUNITY_1);
    }
    /* A party names a dispute held here, of its division. */
    char dispute_id[PG_RECORD_ID_LEN + 1];
    if (strcmp(coll->name, "dispute_party") == 0) {
        const pg_collection *d =
            pg_schema_collection(pg_schema_current(), "dispute");
        pg_field_value *dv = calloc(d->nfields, sizeof(*dv));
        assert_non_null(dv);
        for (size_t f = 0; f < d->nfields; f++) {
            dv[f].field = d->fields[f].name;
            dv[f].value = sample_value(&d->fields[f], f, COMMUNITY_1);
        }
        assert_pg_ok(pg_record_put(dispute_id, node, "dispute", NULL, dv,
                                   d->nfields, OPERATOR));
        free(dv);
        for (size_t f = 0; f < coll->nfields; f++)
            if (strcmp(coll->fields[f].name, "dispute_id") == 0)
                values[f].value = test_text(dispute_id);
    }
    seq_before =
        test_sql_int(node, "SELECT value FROM meta WHERE key='last_seq'");
    assert_pg_ok(pg_record_put(id, node, coll->name, NULL, values,
                               coll->nfields, OPERATOR));
    assert_true(pg_record_id_valid(id, NULL));
    assert_memory_equal(id, TOWNSHIP "-", PG_CODE_LEN + 1);

    assert_pg_ok(pg_record_get(&rec, node, coll->name, id));
    assert_string_equal(rec->id, id);
    assert_ptr_equal(rec->coll,
                     pg_schema_collection(pg_schema_current(), coll->name));
    assert_int_equal(rec->nvalues, coll->nfields + 1);
    for (size_t f = 0; f < coll->nfields; f++) {
        if (!pg_value_equal(&rec->values[f], &values[f].value))
            print_error("%s.%s does not read back as written\n", coll->name,
                        coll->fields[f].name);
        assert_true(pg_value_equal(&rec->values[f], &values[f].value));
        assert_string_equal(rec->versions[f].origin, TOWNSHIP);
        assert_true(rec->versions[f].hlc > 0);
    }
    assert_int_equal(rec->values[coll->nfields].kind, PG_VALUE_BOOL);
    assert_false(rec->values[coll->nfields].b);

    /* The create is one txn of every field, with zero bases. */
    bool ok;
    pg_txn *t = last_txn(node, &ok);
    assert_true(ok);
    assert_int_equal(t->seq, (uint64_t)seq_before + 1);
    assert_string_equal(t->collection, coll->name);
    assert_string_equal(t->division, COMMUNITY_1);
    assert_string_equal(t->origin, TOWNSHIP);
    assert_string_equal(t->operator_name, OPERATOR);
    assert_int_equal(t->nchanges, coll->nfields);
    for (size_t i = 0; i < t->nchanges; i++) {
        assert_string_equal(t->changes[i].record_id, id);
        assert_true(pg_version_is_zero(&t->changes[i].base));
    }
    uint64_t create_hlc = t->hlc;
    pg_txn_free(t);

    /* Update one plain field: its version moves, the others stay. */
    size_t uf = 0;
    for (size_t f = 1; f < coll->nfields && !uf; f++)
        if (coll->fields[f].merge == PG_MERGE_LWW &&
            strcmp(coll->fields[f].name, "dispute_id") != 0)
            uf = f;
    assert_true(uf > 0);
    const pg_field *field = &coll->fields[uf];
    pg_field_value upd = {field->name, other_value(field)};
    assert_false(pg_value_equal(&upd.value, &values[uf].value));
    pg_version old = rec->versions[uf];
    assert_pg_ok(pg_record_put(NULL, node, coll->name, id, &upd, 1, OPERATOR));
    assert_pg_ok(pg_record_get(&after, node, coll->name, id));
    assert_true(pg_value_equal(&after->values[uf], &upd.value));
    assert_true(pg_version_cmp(&after->versions[uf], &old) > 0);
    assert_string_equal(after->versions[uf].origin, TOWNSHIP);
    for (size_t f = 0; f < coll->nfields; f++) {
        if (f == uf)
            continue;
        assert_int_equal(pg_version_cmp(&after->versions[f], &rec->versions[f]),
                         0);
        assert_true(pg_value_equal(&after->values[f], &rec->values[f]));
    }

    /* The update's txn names the version it saw as its base. */
    t = last_txn(node, &ok);
    assert_true(ok);
    assert_int_equal(t->seq, (uint64_t)seq_before + 2);
    assert_true(t->hlc > create_hlc);
    assert_int_equal(t->nchanges, 1);
    assert_string_equal(t->changes[0].record_id, id);
    assert_string_equal(t->changes[0].field, field->name);
    assert_int_equal(pg_version_cmp(&t->changes[0].base, &old), 0);
    assert_true(pg_value_equal(&t->changes[0].value, &upd.value));
    assert_int_equal(t->hlc, after->versions[uf].hlc);
    pg_txn_free(t);

    pg_record_free(rec);
    pg_record_free(after);
    free(values);
}

static void test_record__round_trips_every_collection(void **state)
{
    fixture *fx = *state;
    const pg_schema *schema = pg_schema_current();
    size_t tested = 0;

    for (size_t i = 0; i < schema->ncollections; i++) {
        const pg_collection *coll = schema->collections[i];
        if (coll->system)
            continue;
        round_trip_collection(fx->node, coll);
        tested++;
    }
    assert_true(tested >= 8);
}

/* ---- persistence ----------------------------------------------------------
 */

static void
test_record__survives_a_restart_with_a_gap_free_sequence(void **state)
{
    fixture *fx = *state;
    char dir[4096], ids[3][PG_RECORD_ID_LEN + 1];
    pg_node *node = make_node(fx, "restart", TOWNSHIP, "城正街街道", dir);

    for (int i = 0; i < 3; i++) {
        pg_field_value v[] = DISPUTE(COMMUNITY_1, "重启前写入");
        assert_pg_ok(
            pg_record_put(ids[i], node, "dispute", NULL, v, 3, OPERATOR));
    }
    pg_txn *before = last_txn(node, NULL);
    assert_int_equal(before->seq, 3);
    pg_node_free(node);

    assert_pg_ok(pg_node_open(&node, dir));
    for (int i = 0; i < 3; i++) {
        pg_record *rec;
        assert_pg_ok(pg_record_get(&rec, node, "dispute", ids[i]));
        size_t si = field_index("dispute", "summary");
        assert_int_equal(rec->values[si].len, strlen("重启前写入"));
        pg_record_free(rec);
    }
    log_copy lc;
    log_copy_init(&lc);
    assert_pg_ok(pg_log_list(node, 0, 0, log_collect, &lc));
    assert_int_equal(lc.n, 3);
    for (size_t i = 0; i < lc.n; i++) {
        assert_true(log_at(&lc, i)->sig_ok);
        assert_int_equal(log_at(&lc, i)->txn->seq, i + 1);
        assert_int_equal(log_at(&lc, i)->seq, (int64_t)i + 1);
    }
    log_copy_free(&lc);

    pg_field_value v[] = DISPUTE(COMMUNITY_1, "重启后写入");
    assert_pg_ok(pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    pg_txn *after = last_txn(node, NULL);
    assert_int_equal(after->seq, 4);
    assert_true(after->hlc > before->hlc);
    pg_txn_free(before);
    pg_txn_free(after);
    pg_node_free(node);
}

/* ---- validation: nothing written ------------------------------------------
 */

/* Run a write that must fail with @p code and must change nothing. */
#define assert_refused(fx, code, coll_table, expr)                             \
    do {                                                                       \
        snapshot before_ = snap((fx)->node, (coll_table));                     \
        assert_pg_fails((code), (expr));                                       \
        assert_unchanged(&before_, (fx)->node, (coll_table));                  \
    } while (0)

static void test_record__refuses_unknown_collection_and_field(void **state)
{
    fixture *fx = *state;
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "x");
    pg_field_value extra[] = {
        {"division", test_text(COMMUNITY_1)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("x")},
        {"no_such_field", test_text("y")},
    };

    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "no_such", NULL, v, 3, OPERATOR));
    assert_message_has("no_such");
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, extra, 4, OPERATOR));
    assert_message_has("no_such_field");
}

static void test_record__refuses_values_of_the_wrong_kind(void **state)
{
    fixture *fx = *state;
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("x")},
        {"party_count", test_text("2")},
    };

    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 4, OPERATOR));
    v[3].field = "cross_region";
    v[3].value = test_integer(1);
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 4, OPERATOR));
    v[3].value.kind = PG_VALUE_BOOL;
    v[0].value = test_integer(430302001001);
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 4, OPERATOR));
}

static void test_record__refuses_enum_value_not_in_list(void **state)
{
    fixture *fx = *state;
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "x");

    v[1].value = test_text("打架斗殴");
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, OPERATOR));
    assert_message_has("dispute_type");
}

static void test_record__refuses_division_outside_jurisdiction(void **state)
{
    fixture *fx = *state;
    static const char *const outside[] = {
        "430302002001", /* another township's community */
        "430302000000", /* the parent county */
        "430304001001", /* another county */
        "430100000000", /* another city */
    };

    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        pg_field_value v[] = DISPUTE(outside[i], "x");
        assert_refused(
            fx, PG_EPOLICY, "dispute",
            pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, OPERATOR));
        assert_message_has(outside[i]);
    }
    /* The node's own code is inside. */
    pg_field_value own[] = DISPUTE(TOWNSHIP, "x");
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "dispute", NULL, own, 3, OPERATOR));
}

static void test_record__refuses_malformed_typed_text(void **state)
{
    fixture *fx = *state;
    char *big = malloc(PG_TEXT_MAX + 2);
    char name[PG_SHORT_MAX + 2];

    assert_non_null(big);
    memset(big, 'x', PG_TEXT_MAX + 1);
    big[PG_TEXT_MAX + 1] = 0;
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    const struct {
        const char *field;
        const char *value;
    } bad[] = {
        {"applicant_id_number", "430302198503121231"}, /* check digit */
        {"applicant_id_number", "43030219850312123"},  /* length */
        {"applicant_phone", "12345678901"},            /* prefix */
        {"applicant_phone", "1381234567"},             /* length */
        {"summary", big},                              /* 8193 bytes */
        {"summary", "\xff\xfe"},                       /* not UTF-8 */
        {"summary", "abc\xe5\xbc"},                    /* truncated UTF-8 */
        {"applicant_name", name},                      /* 257 bytes */
        {"applicant_name", "张3"},                     /* a digit */
        {"partner_city", "43030"},                     /* not 12 digits */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pg_field_value v[] = {
            {"division", test_text(COMMUNITY_1)},
            {"dispute_type", test_text("邻里纠纷")},
            {"summary", test_text("x")},
            {bad[i].field, test_text(bad[i].value)},
        };
        size_t n = 4;
        if (strcmp(bad[i].field, "summary") == 0) {
            v[2].value = v[3].value;
            n = 3;
        }
        assert_refused(
            fx, PG_EINVALID, "dispute",
            pg_record_put(NULL, fx->node, "dispute", NULL, v, n, OPERATOR));
    }
    /* Exactly the limit is fine. */
    big[PG_TEXT_MAX] = 0;
    pg_field_value ok[] = DISPUTE(COMMUNITY_1, big);
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "dispute", NULL, ok, 3, OPERATOR));
    free(big);
}

static void
test_record__refuses_a_new_record_without_required_fields(void **state)
{
    fixture *fx = *state;
    pg_field_value no_summary[] = {
        {"division", test_text(COMMUNITY_1)},
        {"dispute_type", test_text("邻里纠纷")},
    };
    pg_field_value absent_summary[] = {
        {"division", test_text(COMMUNITY_1)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", {.kind = PG_VALUE_ABSENT}},
    };
    pg_field_value no_division[] = {
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("x")},
    };

    assert_refused(fx, PG_EINVALID, "dispute",
                   pg_record_put(NULL, fx->node, "dispute", NULL, no_summary, 2,
                                 OPERATOR));
    assert_message_has("summary");
    assert_refused(fx, PG_EINVALID, "dispute",
                   pg_record_put(NULL, fx->node, "dispute", NULL,
                                 absent_summary, 3, OPERATOR));
    assert_refused(fx, PG_EINVALID, "dispute",
                   pg_record_put(NULL, fx->node, "dispute", NULL, no_division,
                                 2, OPERATOR));
    assert_message_has("division");
    assert_refused(fx, PG_EINVALID, "dispute",
                   pg_record_put(NULL, fx->node, "dispute", NULL, no_summary, 0,
                                 OPERATOR));
}

static void test_record__refuses_a_field_given_twice(void **state)
{
    fixture *fx = *state;
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("x")},
        {"summary", test_text("y")},
    };

    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 4, OPERATOR));
}

static void test_record__refuses_a_missing_or_overlong_operator(void **state)
{
    fixture *fx = *state;
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "x");
    char op[PG_OPERATOR_MAX + 2];

    memset(op, 'o', sizeof(op) - 1);
    op[sizeof(op) - 1] = 0;
    assert_refused(fx, PG_EINVALID, "dispute",
                   pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, ""));
    assert_refused(fx, PG_EINVALID, "dispute",
                   pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, op));
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, "\xff"));
}

static void test_record__refuses_a_division_change_on_update(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "x");

    assert_pg_ok(pg_record_put(id, fx->node, "dispute", NULL, v, 3, OPERATOR));
    pg_field_value move = {"division", test_text(COMMUNITY_2)};
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", id, &move, 1, OPERATOR));
    assert_message_has("cannot change");
    /* Naming the same division changes nothing, and is not a write. */
    pg_field_value same = {"division", test_text(COMMUNITY_1)};
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", id, &same, 1, OPERATOR));
    pg_field_value clear = {"division", {.kind = PG_VALUE_ABSENT}};
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", id, &clear, 1, OPERATOR));
}

static void test_record__refuses_an_update_of_a_missing_record(void **state)
{
    fixture *fx = *state;
    pg_field_value v = {"summary", test_text("x")};

    assert_refused(fx, PG_ENOTFOUND, "dispute",
                   pg_record_put(NULL, fx->node, "dispute",
                                 TOWNSHIP "-01KAYY7580Q2R8ZK3TJ5M6N7P9", &v, 1,
                                 OPERATOR));
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", "not-an-id", &v, 1, OPERATOR));
    assert_refused(fx, PG_ENOTFOUND, "dispute",
                   pg_record_delete(fx->node, "dispute",
                                    TOWNSHIP "-01KAYY7580Q2R8ZK3TJ5M6N7P9",
                                    OPERATOR));
}

static void test_record__refuses_writes_to_the_system_collection(void **state)
{
    fixture *fx = *state;
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"code", test_text(COMMUNITY_1)},
        {"name", test_text("社区")},
    };
    pg_import *imp = (pg_import *)&imp; /* non-NULL: must be reset */

    assert_refused(fx, PG_EINVALID, "node",
                   pg_record_put(NULL, fx->node, "node", NULL, v, 3, OPERATOR));
    assert_message_has("pingan itself");
    assert_refused(fx, PG_EINVALID, "node",
                   pg_import_begin(&imp, fx->node, "node", 16, OPERATOR));
    assert_null(imp);
}

static void test_record__key_person_stays_at_or_below_the_county(void **state)
{
    fixture *fx = *state;
    char city_dir[4096], county_dir[4096];
    pg_node *city = make_node(fx, "city", "430300000000", "湘潭市", city_dir);
    pg_node *county =
        make_node(fx, "county", "430302000000", "雨湖区", county_dir);
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"category", test_text("刑满释放人员")},
        {"name", test_text("张伟")},
        {"id_number", test_text("430302198503121230")},
    };

    /* A township and a county may create one... */
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "key_person", NULL, v, 4, OPERATOR));
    assert_pg_ok(
        pg_record_put(NULL, county, "key_person", NULL, v, 4, OPERATOR));
    /* ...a city may not, though the division is inside it. */
    snapshot before = snap(city, "key_person");
    assert_pg_fails(PG_EPOLICY, pg_record_put(NULL, city, "key_person", NULL, v,
                                              4, OPERATOR));
    assert_message_has("county");
    assert_unchanged(&before, city, "key_person");
    /* Other collections are fine at the city. */
    pg_field_value d[] = DISPUTE(COMMUNITY_1, "x");
    assert_pg_ok(pg_record_put(NULL, city, "dispute", NULL, d, 3, OPERATOR));
    before = snap(city, "key_person");
    /* Bulk imports follow the same rule. */
    pg_import *imp;
    assert_pg_ok(pg_import_begin(&imp, city, "key_person", 16, OPERATOR));
    assert_pg_fails(PG_EPOLICY, pg_import_add(imp, v, 4, NULL));
    pg_import_free(imp);
    assert_unchanged(&before, city, "key_person");
    pg_node_free(city);
    pg_node_free(county);
}

static void test_record__counter_increments_are_summed(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"name", test_text("王芳")},
        {"points", test_integer(5)},
    };
    pg_record *rec;

    assert_pg_ok(
        pg_record_put(id, fx->node, "volunteer", NULL, v, 3, OPERATOR));
    pg_field_value inc = {"points", test_integer(10)};
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "volunteer", id, &inc, 1, OPERATOR));
    /* The txn carries the increment, not the sum. */
    pg_txn *t = last_txn(fx->node, NULL);
    assert_int_equal(t->changes[0].value.i, 10);
    pg_txn_free(t);
    inc.value = test_integer(-3);
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "volunteer", id, &inc, 1, OPERATOR));
    /* A counter never set starts from zero. */
    pg_field_value hours = {"hours", test_integer(2)};
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "volunteer", id, &hours, 1, OPERATOR));
    assert_pg_ok(pg_record_get(&rec, fx->node, "volunteer", id));
    size_t pi, hi;
    assert_non_null(pg_collection_field(rec->coll, "points", &pi));
    assert_non_null(pg_collection_field(rec->coll, "hours", &hi));
    assert_int_equal(rec->values[pi].i, 12);
    assert_int_equal(rec->values[hi].i, 2);
    pg_record_free(rec);
    /* A counter cannot be cleared. */
    pg_field_value clear = {"points", {.kind = PG_VALUE_ABSENT}};
    assert_refused(
        fx, PG_EINVALID, "volunteer",
        pg_record_put(NULL, fx->node, "volunteer", id, &clear, 1, OPERATOR));
}

/* Pretend field @p name of a record was last written by @p origin. */
static void set_version_origin(pg_node *node, const char *table, const char *id,
                               const char *name, const char *origin)
{
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), table);
    size_t idx;
    char sql[256];
    sqlite3_stmt *st = NULL;
    pg_buf blob = PG_BUF_INIT;
    pg_version v;

    assert_non_null(pg_collection_field(coll, name, &idx));
    snprintf(sql, sizeof(sql), "SELECT _v FROM \"%s\" WHERE id = ?", table);
    assert_int_equal(sqlite3_prepare_v2(node->db, sql, -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_pg_ok(pg_buf_put(&blob, sqlite3_column_blob(st, 0),
                            (size_t)sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    pg_store__versions_get(&v, blob.data, blob.len, idx);
    memcpy(v.origin, origin, PG_CODE_LEN + 1);
    assert_pg_ok(pg_store__versions_set(&blob, idx, &v));
    snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET _v = ? WHERE id = ?", table);
    assert_int_equal(sqlite3_prepare_v2(node->db, sql, -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, blob.data, (int)blob.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    pg_buf_dispose(&blob);
}

static void
test_record__authority_field_of_a_higher_tier_is_refused(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"category", test_text("公共安全风险")},
        {"level", test_text("一般")},
        {"description", test_text("排水沟堵塞")},
    };
    pg_field_value level = {"level", test_text("重大")};
    pg_field_value status = {"status", test_text("发现登记")};

    assert_pg_ok(pg_record_put(id, fx->node, "hazard", NULL, v, 4, OPERATOR));
    /* Its own tier's assessment it may change. */
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "hazard", id, &level, 1, OPERATOR));
    /* The county assessed it (the store says so, as a merge would). */
    set_version_origin(fx->node, "hazard", id, "level", "430302000000");
    level.value = test_text("低");
    assert_refused(
        fx, PG_EPOLICY, "hazard",
        pg_record_put(NULL, fx->node, "hazard", id, &level, 1, OPERATOR));
    assert_message_has("430302000000");
    /* A lww field of the same record is still the township's to write. */
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "hazard", id, &status, 1, OPERATOR));
    /* A lower tier's assessment the township may overrule. */
    set_version_origin(fx->node, "hazard", id, "level", COMMUNITY_1);
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "hazard", id, &level, 1, OPERATOR));
    pg_record *rec;
    assert_pg_ok(pg_record_get(&rec, fx->node, "hazard", id));
    assert_true(pg_value_equal(&rec->values[field_index("hazard", "level")],
                               &level.value));
    pg_record_free(rec);
}

/* ---- deletes
 * ----------------------------------------------------------------- */

static void test_record__delete_makes_a_tombstone(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = DISPUTE(COMMUNITY_3, "将被删除");
    pg_field_value where = {"division", test_text(COMMUNITY_3)};
    size_t n = 0;

    assert_pg_ok(pg_record_put(id, fx->node, "dispute", NULL, v, 3, OPERATOR));
    size_t listed = count_listed(fx->node, "dispute", false);
    size_t all = count_listed(fx->node, "dispute", true);
    assert_pg_ok(
        pg_record_list(fx->node, "dispute", &where, 1, 0, false, count_cb, &n));
    assert_int_equal(n, 1);

    assert_pg_ok(pg_record_delete(fx->node, "dispute", id, OPERATOR));
    pg_txn *t = last_txn(fx->node, NULL);
    assert_int_equal(t->nchanges, 1);
    assert_string_equal(t->changes[0].field, "_deleted");
    assert_int_equal(t->changes[0].value.kind, PG_VALUE_BOOL);
    assert_true(t->changes[0].value.b);
    pg_txn_free(t);

    assert_int_equal(count_listed(fx->node, "dispute", false), listed - 1);
    assert_int_equal(count_listed(fx->node, "dispute", true), all);
    n = 0;
    assert_pg_ok(
        pg_record_list(fx->node, "dispute", &where, 1, 0, false, count_cb, &n));
    assert_int_equal(n, 0);
    pg_record *rec;
    assert_pg_ok(pg_record_get(&rec, fx->node, "dispute", id));
    assert_true(rec->values[rec->coll->nfields].b);
    assert_true(pg_value_equal(&rec->values[field_index("dispute", "summary")],
                               &v[2].value)); /* the values are kept */
    pg_record_free(rec);

    /* A deleted record takes no more changes... */
    pg_field_value upd = {"summary", test_text("x")};
    assert_refused(
        fx, PG_ENOTFOUND, "dispute",
        pg_record_put(NULL, fx->node, "dispute", id, &upd, 1, OPERATOR));
    /* ...until it is undeleted. */
    pg_field_value undelete = {"_deleted", {.kind = PG_VALUE_BOOL, .b = false}};
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "dispute", id, &undelete, 1, OPERATOR));
    assert_int_equal(count_listed(fx->node, "dispute", false), listed);
    /* A new record cannot start deleted. */
    pg_field_value born_dead[] = {
        {"division", test_text(COMMUNITY_3)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("x")},
        {"_deleted", {.kind = PG_VALUE_BOOL, .b = true}},
    };
    assert_refused(
        fx, PG_EINVALID, "dispute",
        pg_record_put(NULL, fx->node, "dispute", NULL, born_dead, 4, OPERATOR));
}

/*
 * Only `_deleted = false` undeletes: deleting a deleted record is
 * PG_ENOTFOUND (no second tombstone, no new sequence number), and so is
 * {summary: x, _deleted: true} on a deleted record.
 */
static void test_record__refuses_to_delete_a_deleted_record(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    pg_field_value v[] = DISPUTE(COMMUNITY_3, "删两次");

    assert_pg_ok(pg_record_put(id, fx->node, "dispute", NULL, v, 3, OPERATOR));
    assert_pg_ok(pg_record_delete(fx->node, "dispute", id, OPERATOR));
    assert_refused(fx, PG_ENOTFOUND, "dispute",
                   pg_record_delete(fx->node, "dispute", id, OPERATOR));
    pg_field_value sneak[] = {
        {"summary", test_text("删除后再改")},
        {"_deleted", {.kind = PG_VALUE_BOOL, .b = true}},
    };
    assert_refused(
        fx, PG_ENOTFOUND, "dispute",
        pg_record_put(NULL, fx->node, "dispute", id, sneak, 2, OPERATOR));
}

/*
 * A pg_value's text is "not necessarily NUL-terminated" (value.h): the
 * division of a new record is its 12 bytes, whether they point into a
 * longer string or end the allocation (ASan sees any read past them).
 */
static void
test_record__accepts_a_division_that_is_not_nul_terminated(void **state)
{
    fixture *fx = *state;
    static const char codes[] = COMMUNITY_1 COMMUNITY_2;
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "x");
    char *exact = malloc(PG_CODE_LEN); /* 12 bytes and no NUL */

    assert_non_null(exact);
    memcpy(exact, COMMUNITY_1, PG_CODE_LEN);
    v[0].value.s = exact;
    v[0].value.len = PG_CODE_LEN;
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, OPERATOR));
    free(exact);
    v[0].value.s = codes; /* 12 bytes of a longer string */
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, OPERATOR));
}

/* ---- bulk import
 * -------------------------------------------------------------- */

#define BULK_N     100000
#define BULK_BATCH 256
/* Grouped by division, on batch boundaries: 131, 131 and 128.6 batches. */
#define BULK_DIV_1 (131 * BULK_BATCH)
#define BULK_DIV_2 (131 * BULK_BATCH)

static const char *bulk_division(size_t i)
{
    if (i < BULK_DIV_1)
        return COMMUNITY_1;
    if (i < BULK_DIV_1 + BULK_DIV_2)
        return COMMUNITY_2;
    return COMMUNITY_3;
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

static void test_record__imports_100000_records_in_one_go(void **state)
{
    fixture *fx = *state;
    char dir[4096], summary[64];
    pg_node *node = make_node(fx, "bulk", TOWNSHIP, "城正街街道", dir);
    pg_import *imp;
    pg_import_stats stats;
    char first_id[PG_RECORD_ID_LEN + 1] = "";

    assert_pg_ok(pg_import_begin(&imp, node, "dispute", BULK_BATCH, OPERATOR));
    for (size_t i = 0; i < BULK_N; i++) {
        snprintf(summary, sizeof(summary), "批量导入第%zu条", i);
        pg_field_value v[] = DISPUTE(bulk_division(i), summary);
        int rc = pg_import_add(imp, v, 3, i == 0 ? first_id : NULL);
        if (rc < 0)
            print_error("record %zu: %s\n", i, pg_error_last()->message);
        assert_int_equal(rc, 0);
    }
    assert_pg_ok(pg_import_commit(imp, &stats));
    pg_import_free(imp);

    size_t want_txns = ceil_div(BULK_DIV_1, BULK_BATCH) +
                       ceil_div(BULK_DIV_2, BULK_BATCH) +
                       ceil_div(BULK_N - BULK_DIV_1 - BULK_DIV_2, BULK_BATCH);
    assert_int_equal(stats.records, BULK_N);
    assert_int_equal(stats.txns, want_txns);
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM dispute"),
                     BULK_N);
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM log"), want_txns);
    assert_int_equal(
        test_sql_int(node, "SELECT value FROM meta WHERE key = 'last_seq'"),
        want_txns);
    assert_int_equal(test_sql_int(node, "SELECT count(DISTINCT division) "
                                        "FROM dispute"),
                     3);

    log_copy lc;
    log_copy_init(&lc);
    assert_pg_ok(pg_log_list(node, 0, 0, log_collect, &lc));
    assert_int_equal(lc.n, want_txns);
    size_t records = 0;
    uint64_t last_hlc = 0;
    for (size_t i = 0; i < lc.n; i++) {
        const pg_txn *t = log_at(&lc, i)->txn;
        assert_true(log_at(&lc, i)->sig_ok);
        assert_int_equal(t->seq, i + 1); /* gap-free origin sequence */
        assert_true(t->hlc > last_hlc);
        last_hlc = t->hlc;
        assert_string_equal(t->origin, TOWNSHIP);
        assert_string_equal(t->collection, "dispute");
        assert_true(t->nchanges <= 3 * BULK_BATCH);
        /* One division per txn: every record's division is the txn's. */
        for (size_t c = 0; c < t->nchanges; c++) {
            const pg_change *ch = &t->changes[c];
            if (strcmp(ch->field, "division") != 0)
                continue;
            assert_int_equal(ch->value.len, PG_CODE_LEN);
            assert_memory_equal(ch->value.s, t->division, PG_CODE_LEN);
            records++;
        }
    }
    assert_int_equal(records, BULK_N);
    assert_string_equal(log_at(&lc, 0)->txn->changes[0].record_id, first_id);
    log_copy_free(&lc);

    /* The records read back, and the next single write follows on. */
    pg_record *rec;
    assert_pg_ok(pg_record_get(&rec, node, "dispute", first_id));
    assert_string_equal(rec->values[field_index("dispute", "summary")].s,
                        "批量导入第0条");
    pg_record_free(rec);
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "导入之后");
    assert_pg_ok(pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    pg_txn *t = last_txn(node, NULL);
    assert_int_equal(t->seq, want_txns + 1);
    pg_txn_free(t);

    /* An import that fails at record 50,000 leaves nothing behind. */
    snapshot before = snap(node, "dispute");
    int64_t last_local;
    assert_pg_ok(pg_log_last_seq(node, &last_local));
    assert_pg_ok(pg_import_begin(&imp, node, "dispute", BULK_BATCH, OPERATOR));
    for (size_t i = 0; i < 50000 - 1; i++) {
        pg_field_value w[] = DISPUTE(bulk_division(i), "不会留下");
        assert_pg_ok(pg_import_add(imp, w, 3, NULL));
    }
    pg_field_value bad[] = DISPUTE(COMMUNITY_1, "第五万条无效");
    bad[1].value = test_text("不是纠纷类型");
    assert_pg_fails(PG_EINVALID, pg_import_add(imp, bad, 3, NULL));
    pg_import_free(imp); /* not committed: rolled back */
    assert_unchanged(&before, node, "dispute");
    int64_t last_after;
    assert_pg_ok(pg_log_last_seq(node, &last_after));
    assert_int_equal(last_after, last_local);
    pg_node_free(node);
}

static void test_record__import_splits_a_batch_by_division(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *node = make_node(fx, "split", TOWNSHIP, "城正街街道", dir);
    static const char *const divs[] = {COMMUNITY_1, COMMUNITY_2, COMMUNITY_3};
    pg_import *imp;
    pg_import_stats stats;

    /* Interleaved input: each batch holds all three divisions.  The
     * import groups by division over a window of 16 batches (here the
     * whole input), and a txn holds at most one batch of records: 334,
     * 333 and 333 records make 4 + 4 + 4 txns. */
    assert_pg_ok(pg_import_begin(&imp, node, "dispute", 100, OPERATOR));
    for (size_t i = 0; i < 1000; i++) {
        pg_field_value v[] = DISPUTE(divs[i % 3], "交错导入");
        assert_pg_ok(pg_import_add(imp, v, 3, NULL));
    }
    assert_pg_ok(pg_import_commit(imp, &stats));
    pg_import_free(imp);
    assert_int_equal(stats.records, 1000);
    assert_int_equal(stats.txns, 4 * 3);

    log_copy lc;
    log_copy_init(&lc);
    assert_pg_ok(pg_log_list(node, 0, 0, log_collect, &lc));
    assert_int_equal(lc.n, 12);
    size_t records = 0;
    for (size_t i = 0; i < lc.n; i++) {
        const pg_txn *t = log_at(&lc, i)->txn;
        size_t in_txn = 0;
        assert_int_equal(t->seq, i + 1);
        assert_true(log_at(&lc, i)->sig_ok);
        for (size_t c = 0; c < t->nchanges; c++)
            if (strcmp(t->changes[c].field, "division") == 0) {
                assert_memory_equal(t->changes[c].value.s, t->division,
                                    PG_CODE_LEN);
                in_txn++;
            }
        assert_true(in_txn >= 1 && in_txn <= 100);
        records += in_txn;
    }
    assert_int_equal(records, 1000);
    log_copy_free(&lc);

    /* An empty import commits nothing and uses no sequence number. */
    assert_pg_ok(pg_import_begin(&imp, node, "dispute", 100, OPERATOR));
    assert_pg_ok(pg_import_commit(imp, &stats));
    pg_import_free(imp);
    assert_int_equal(stats.txns, 0);
    assert_int_equal(
        test_sql_int(node, "SELECT value FROM meta WHERE key = 'last_seq'"),
        12);
    /* Batch sizes outside 1..4096 are refused. */
    assert_pg_fails(PG_EINVALID,
                    pg_import_begin(&imp, node, "dispute", 0, OPERATOR));
    assert_pg_fails(PG_EINVALID,
                    pg_import_begin(&imp, node, "dispute",
                                    PG_IMPORT_BATCH_MAX + 1, OPERATOR));
    pg_node_free(node);
}

/* ---- JSON lines ------------------------------------------------------------
 */

static int import_text(pg_import_stats *stats, pg_node *node, const char *coll,
                       const char *input)
{
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    assert_non_null(in);
    pg_error_clear();
    int rc =
        pg_record_import_jsonl(stats, node, coll, in, 2, OPERATOR, NULL, NULL);
    fclose(in);
    return rc;
}

typedef struct progress_seen {
    size_t calls;
    pg_import_stats last;
} progress_seen;

static void count_progress(const pg_import_stats *stats, void *payload)
{
    progress_seen *seen = payload;
    /* Progress only moves forward. */
    assert_true(stats->lines >= seen->last.lines);
    assert_true(stats->records >= seen->last.records);
    seen->calls++;
    seen->last = *stats;
}

static void test_record__import_reports_progress(void **state)
{
    fixture *fx = *state;
    pg_buf input = PG_BUF_INIT;
    pg_import_stats stats;
    progress_seen seen;

    for (int i = 0; i < 2500; i++)
        assert_pg_ok(pg_buf_printf(&input,
                                   "{\"division\": \"430302001001\", "
                                   "\"dispute_type\": \"邻里纠纷\", "
                                   "\"summary\": \"第%d条\"}\n",
                                   i));
    FILE *in = fmemopen(input.data, input.len, "r");
    assert_non_null(in);
    memset(&seen, 0, sizeof(seen));
    assert_pg_ok(pg_record_import_jsonl(&stats, fx->node, "dispute", in, 256,
                                        OPERATOR, count_progress, &seen));
    fclose(in);
    pg_buf_dispose(&input);
    /* Every 1,000 lines, and once at the end with the final figures. */
    assert_int_equal(seen.calls, 3);
    assert_int_equal(seen.last.lines, 2500);
    assert_int_equal(seen.last.records, 2500);
    assert_int_equal(stats.records, 2500);
    assert_int_equal(seen.last.txns, stats.txns);
    assert_int_equal(stats.txns, 10); /* ceil(2500 / 256), one division */
}

static void test_record__imports_json_lines(void **state)
{
    fixture *fx = *state;
    pg_import_stats stats;
    snapshot before = snap(fx->node, "dispute");
    static const char input[] =
        "{\"division\": \"430302001001\", \"dispute_type\": \"邻里纠纷\", "
        "\"summary\": \"第一条\", \"party_count\": 2, "
        "\"amount_involved\": 2000.5, \"cross_region\": true}\n"
        "\n"
        "   \t \n"
        "{\"division\": \"430302001002\", \"dispute_type\": \"婚姻家庭\", "
        "\"summary\": \"第二条\", \"accepted_at\": "
        "\"2026-11-26T10:00:00+08:00\", \"mediator\": null}\r\n"
        "{\"division\": \"430302001001\", \"dispute_type\": \"劳资纠纷\", "
        "\"summary\": \"第三条\", \"accepted_at\": 1764122400000, "
        "\"amount_involved\": 3}";

    memset(&stats, 0, sizeof(stats));
    assert_int_equal(import_text(&stats, fx->node, "dispute", input), 0);
    assert_int_equal(stats.records, 3);
    assert_int_equal(stats.lines, 5);
    assert_int_equal(stats.bytes, strlen(input));
    /* Batch 2, so one window of 32 records: lines 1 and 3 (one
     * division) make one txn, line 2 another. */
    assert_int_equal(stats.txns, 2);
    snapshot after = snap(fx->node, "dispute");
    assert_int_equal(after.rows, before.rows + 3);
    assert_int_equal(after.log, before.log + 2);
    assert_int_equal(after.last_seq, before.last_seq + 2);

    pg_field_value where = {"summary", test_text("第二条")};
    size_t n = 0;
    assert_pg_ok(
        pg_record_list(fx->node, "dispute", &where, 1, 0, false, count_cb, &n));
    assert_int_equal(n, 1);
}

static void test_record__json_lines_report_the_bad_line(void **state)
{
    fixture *fx = *state;
    pg_import_stats stats;
    static const char good[] = "{\"division\": \"430302001001\", "
                               "\"dispute_type\": \"邻里纠纷\", "
                               "\"summary\": \"好的\"}\n";
    static const struct {
        const char *line;
        const char *says;
    } bad[] = {
        {"{\"division\": \"430302001001\", \"nope\": 1}", "nope"},
        {"{\"division\": \"430302001001\", \"dispute_type\": \"邻里纠纷\", "
         "\"summary\": \"a\", \"summary\": \"b\"}",
         "line 4"}, /* duplicate key */
        {"[1, 2, 3]", "not a JSON object"},
        {"42", "not a JSON object"},
        {"\"text\"", "not a JSON object"},
        {"null", "not a JSON object"},
        {"{\"division\": \"430302001001\", ", "not a JSON object"},
        {"{\"division\": \"430302001001\", \"dispute_type\": \"邻里纠纷\", "
         "\"summary\": \"a\", \"party_count\": \"two\"}",
         "party_count"},
        {"{\"division\": \"430302001001\", \"dispute_type\": \"邻里纠纷\", "
         "\"summary\": \"a\", \"party_count\": 1.5}",
         "party_count"},
        {"{\"division\": \"430302001001\", \"dispute_type\": \"邻里纠纷\", "
         "\"summary\": \"a\", \"cross_region\": 1}",
         "cross_region"},
        {"{\"division\": \"430302001001\", \"dispute_type\": \"邻里纠纷\"}",
         "summary"},
        {"{\"division\": \"430302002001\", \"dispute_type\": \"邻里纠纷\", "
         "\"summary\": \"a\"}",
         "jurisdiction"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char input[4096];
        snprintf(input, sizeof(input), "%s\n%s%s\n%s", good, good, bad[i].line,
                 good);
        snapshot before = snap(fx->node, "dispute");
        int rc = import_text(&stats, fx->node, "dispute", input);
        if (rc >= 0)
            print_error("line \"%s\" was accepted\n", bad[i].line);
        assert_true(rc == PG_EINVALID || rc == PG_EPOLICY);
        assert_message_has("line 4");
        assert_message_has(bad[i].says);
        assert_message_has("nothing was imported");
        assert_unchanged(&before, fx->node, "dispute");
    }
}

/* ---- damaged node directories ------------------------------------------- */

static void test_record__damaged_store_is_reported_as_corrupt(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];
    pg_node *node = make_node(fx, "garbage", TOWNSHIP, "城正街街道", dir);
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "x");
    uint8_t junk[4096];

    assert_pg_ok(pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    pg_node_free(node);
    testutil_path(path, sizeof(path), dir, "store.db");
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), sizeof(junk));
    close(fd);

    node = (pg_node *)&node; /* non-NULL: must be reset */
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_null(node);
    assert_message_has("damaged");
}

static void test_record__missing_or_exposed_key_file_is_refused(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200], moved[4200];
    pg_node *node = make_node(fx, "keys", TOWNSHIP, "城正街街道", dir);

    pg_node_free(node);
    testutil_path(path, sizeof(path), dir, "sign.key");
    testutil_path(moved, sizeof(moved), dir, "sign.key.away");

    assert_int_equal(rename(path, moved), 0);
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_message_has(path);
    assert_int_equal(rename(moved, path), 0);

    assert_int_equal(chmod(path, 0644), 0);
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_message_has(path);
    assert_message_has("chmod 600");
    assert_int_equal(chmod(path, 0640), 0);
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_int_equal(chmod(path, 0600), 0);

    testutil_path(path, sizeof(path), dir, "box.key");
    assert_int_equal(unlink(path), 0);
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_message_has("box.key");

    /* No node at all. */
    testutil_path(path, sizeof(path), fx->root, "nowhere");
    assert_pg_fails(PG_ENOTFOUND, pg_node_open(&node, path));
}

static void test_record__truncated_key_file_is_refused(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];
    pg_node *node = make_node(fx, "shortkey", TOWNSHIP, "城正街街道", dir);

    pg_node_free(node);
    testutil_path(path, sizeof(path), dir, "sign.key");
    assert_int_equal(truncate(path, 63), 0);
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_message_has("sign.key");
}

/* ---- two handles, and a locked store --------------------------------------
 */

static void test_record__two_handles_on_one_directory_serialise(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *a = make_node(fx, "twice", TOWNSHIP, "城正街街道", dir);
    pg_node *b;

    assert_pg_ok(pg_node_open(&b, dir));
    for (int i = 0; i < 20; i++) {
        pg_field_value v[] = DISPUTE(COMMUNITY_1, i % 2 ? "乙写入" : "甲写入");
        assert_pg_ok(pg_record_put(NULL, i % 2 ? b : a, "dispute", NULL, v, 3,
                                   OPERATOR));
    }
    log_copy lc;
    log_copy_init(&lc);
    assert_pg_ok(pg_log_list(a, 0, 0, log_collect, &lc));
    assert_int_equal(lc.n, 20);
    for (size_t i = 0; i < lc.n; i++) {
        assert_int_equal(log_at(&lc, i)->txn->seq, i + 1);
        assert_true(log_at(&lc, i)->sig_ok);
        if (i)
            assert_true(log_at(&lc, i)->txn->hlc >
                        log_at(&lc, i - 1)->txn->hlc);
    }
    log_copy_free(&lc);
    assert_int_equal(test_sql_int(b, "SELECT count(*) FROM dispute"), 20);
    pg_node_free(a);
    pg_node_free(b);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_record__locked_store_gives_busy_and_writes_nothing(void **state)
{
    fixture *fx = *state;
    char path[4200];
    sqlite3 *other = NULL;
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "等锁");

    testutil_path(path, sizeof(path), fx->dir, "store.db");
    assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    snapshot before = snap(fx->node, "dispute");
    double t0 = now_s();
    assert_pg_fails(PG_EBUSY, pg_record_put(NULL, fx->node, "dispute", NULL, v,
                                            3, OPERATOR));
    double waited = now_s() - t0;
    print_message("busy after %.1f s\n", waited);
    assert_true(waited < 10.0);
    assert_message_has("busy");
    assert_unchanged(&before, fx->node, "dispute");
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);
    /* The lock gone, the same write goes through. */
    assert_pg_ok(
        pg_record_put(NULL, fx->node, "dispute", NULL, v, 3, OPERATOR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record__round_trips_every_collection),
        cmocka_unit_test(
            test_record__survives_a_restart_with_a_gap_free_sequence),
        cmocka_unit_test(test_record__refuses_unknown_collection_and_field),
        cmocka_unit_test(test_record__refuses_values_of_the_wrong_kind),
        cmocka_unit_test(test_record__refuses_enum_value_not_in_list),
        cmocka_unit_test(test_record__refuses_division_outside_jurisdiction),
        cmocka_unit_test(test_record__refuses_malformed_typed_text),
        cmocka_unit_test(
            test_record__refuses_a_new_record_without_required_fields),
        cmocka_unit_test(test_record__refuses_a_field_given_twice),
        cmocka_unit_test(test_record__refuses_a_missing_or_overlong_operator),
        cmocka_unit_test(test_record__refuses_a_division_change_on_update),
        cmocka_unit_test(test_record__refuses_an_update_of_a_missing_record),
        cmocka_unit_test(test_record__refuses_writes_to_the_system_collection),
        cmocka_unit_test(test_record__key_person_stays_at_or_below_the_county),
        cmocka_unit_test(test_record__counter_increments_are_summed),
        cmocka_unit_test(
            test_record__authority_field_of_a_higher_tier_is_refused),
        cmocka_unit_test(test_record__delete_makes_a_tombstone),
        cmocka_unit_test(test_record__refuses_to_delete_a_deleted_record),
        cmocka_unit_test(
            test_record__accepts_a_division_that_is_not_nul_terminated),
        cmocka_unit_test(test_record__imports_100000_records_in_one_go),
        cmocka_unit_test(test_record__import_splits_a_batch_by_division),
        cmocka_unit_test(test_record__imports_json_lines),
        cmocka_unit_test(test_record__import_reports_progress),
        cmocka_unit_test(test_record__json_lines_report_the_bad_line),
        cmocka_unit_test(test_record__damaged_store_is_reported_as_corrupt),
        cmocka_unit_test(test_record__missing_or_exposed_key_file_is_refused),
        cmocka_unit_test(test_record__truncated_key_file_is_refused),
        cmocka_unit_test(test_record__two_handles_on_one_directory_serialise),
        cmocka_unit_test(
            test_record__locked_store_gives_busy_and_writes_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
