/*
 * Lifecycles of the status fields (pingan/lifecycle.h): the tables against
 * the schema, one table test per collection through the local write path
 * (every allowed step accepted, illegal ones refused with the allowed
 * list, nothing written), initial states, the import, the log check and
 * the deadlines of supervision orders and hazards.
 */
#include "testutil.h"

#include "pingan/hlc.h"
#include "pingan/lifecycle.h"
#include "pingan/record.h"
#include "pingan/schema.h"

#include "node_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOWNSHIP  "430321112000" /* 石潭镇 */
#define COMMUNITY "430321112001"
#define OPERATOR  "李四"
#define DAY_MS    (24LL * 3600 * 1000)
#define HOUR_MS   (3600LL * 1000)

typedef struct fixture {
    char *root;
    char dir[4096];
    pg_node *node;
} fixture;

static int group_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    testutil_path(fx->dir, sizeof(fx->dir), fx->root, "node");
    if (test_node_setup(&fx->node, NULL, fx->dir, TOWNSHIP, "石潭镇") < 0)
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

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

/* A valid value for a required field. */
static pg_value required_value(const pg_field *f)
{
    switch (f->type) {
    case PG_TYPE_ENUM:
        return test_text(f->values[0]);
    case PG_TYPE_TIME:
        return test_integer(1764122400000);
    case PG_TYPE_DIVISION:
        return test_text(TOWNSHIP);
    case PG_TYPE_INT:
        return test_integer(1);
    default:
        return test_text("测试内容");
    }
}

/* Create a record of coll with its required fields and, when status is
 * not NULL, that status.  Returns the write's result. */
static int create(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                  const char *coll_name, const char *status)
{
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), coll_name);
    pg_field_value v[64];
    size_t n = 0;

    assert_non_null(coll);
    v[n++] = (pg_field_value){"division", test_text(COMMUNITY)};
    for (size_t f = 1; f < coll->nfields; f++)
        if (coll->fields[f].required)
            v[n++] = (pg_field_value){coll->fields[f].name,
                                      required_value(&coll->fields[f])};
    if (status)
        v[n++] = (pg_field_value){"status", test_text(status)};
    pg_error_clear();
    return pg_record_put(id, node, coll_name, NULL, v, n, OPERATOR);
}

static int set_status(pg_node *node, const char *coll, const char *id,
                      const char *status)
{
    pg_field_value v = {"status", status ? test_text(status) : (pg_value){0}};
    pg_error_clear();
    return pg_record_put(NULL, node, coll, id, &v, 1, OPERATOR);
}

static char *status_of(pg_node *node, const char *coll, const char *id)
{
    pg_record *rec = NULL;
    size_t f;
    char *out = NULL;

    assert_pg_ok(pg_record_get(&rec, node, coll, id));
    assert_non_null(pg_collection_field(rec->coll, "status", &f));
    if (rec->values[f].kind == PG_VALUE_TEXT) {
        out = calloc(1, rec->values[f].len + 1);
        memcpy(out, rec->values[f].s, rec->values[f].len);
    }
    pg_record_free(rec);
    return out;
}

/* A record of coll in state `state`, reached through legal steps. */
static void record_in(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                      const pg_lifecycle *lc, const char *state)
{
    const char *path[16];
    size_t n = 0;

    assert_pg_ok(pg_lifecycle_path(path, &n, 16, lc, NULL, state));
    assert_true(n >= 1);
    assert_true(pg_lifecycle_is_initial(lc, path[0]));
    assert_string_equal(path[n - 1], state);
    assert_pg_ok(create(id, node, lc->collection, path[0]));
    for (size_t i = 1; i < n; i++)
        assert_pg_ok(set_status(node, lc->collection, id, path[i]));
    char *now = status_of(node, lc->collection, id);
    assert_string_equal(now, state);
    free(now);
}

static void joined(char *out, size_t cap, const char *const *list)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; list[i]; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "",
                                list[i]);
}

/* ---- the tables against the schema ---------------------------------- */

static void test_lifecycle__tables_name_exactly_the_schema_enum(void **state)
{
    (void)state;
    const pg_schema *s = pg_schema_current();
    size_t n, with_status = 0;
    const pg_lifecycle *const *all = pg_lifecycle_all(&n);

    assert_int_equal(n, 7);
    for (size_t c = 0; c < s->ncollections; c++) {
        const pg_collection *coll = s->collections[c];
        const pg_field *f = pg_collection_field(coll, "status", NULL);
        const pg_lifecycle *lc = pg_lifecycle_get(coll->name);
        if (!f || f->type != PG_TYPE_ENUM) {
            assert_null(lc);
            continue;
        }
        with_status++;
        assert_non_null(lc);
        /* One row per enum value, in any order; nothing else. */
        size_t nvalues = 0;
        for (; f->values[nvalues]; nvalues++)
            assert_non_null(pg_lifecycle_state_get(lc, f->values[nvalues]));
        assert_int_equal(lc->nstates, nvalues);
        for (size_t i = 0; i < lc->nstates; i++) {
            for (const char *const *nx = lc->states[i].next; *nx; nx++) {
                assert_non_null(pg_lifecycle_state_get(lc, *nx));
                assert_string_not_equal(*nx, lc->states[i].state);
            }
            /* Every state is reachable from an initial one. */
            const char *path[16];
            size_t len;
            assert_pg_ok(pg_lifecycle_path(path, &len, 16, lc, NULL,
                                           lc->states[i].state));
        }
        assert_non_null(lc->initial[0]);
        for (const char *const *in = lc->initial; *in; in++)
            assert_non_null(pg_lifecycle_state_get(lc, *in));
        assert_non_null(lc->source);
    }
    assert_int_equal(with_status, n);
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(pg_lifecycle_get(all[i]->collection), all[i]);
    assert_null(pg_lifecycle_get("key_person"));
    assert_null(pg_lifecycle_get("no_such"));
}

static void test_lifecycle__the_issue_s_main_lines_are_allowed(void **state)
{
    (void)state;
    static const char *const lines[][8] = {
        {"grid_event", "上报", "受理", "派遣", "处置中", "处置反馈", "核查",
         "结案"},
        {"hazard", "发现登记", "核实", "评估定级", "整改中", "验收", "销号",
         NULL},
        {"dispute", "登记受理", "调解中", "达成协议", "结案", NULL},
        {"dispute", "登记受理", "调解中", "调解不成", "结案", NULL},
        {"supervision", "已下达", "已签收", "整改中", "已整改", "已核验", NULL},
        {"drill", "计划", "审批", "实施", "总结评估", "整改", "归档", NULL},
        {"fraud_alert", "已下发", "已签收", "处置中", "已反馈", "已办结", NULL},
    };
    for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
        const pg_lifecycle *lc = pg_lifecycle_get(lines[l][0]);
        assert_non_null(lc);
        assert_true(pg_lifecycle_is_initial(lc, lines[l][1]));
        for (size_t i = 1; i + 1 < 8 && lines[l][i + 1]; i++)
            assert_true(pg_lifecycle_allows(lc, lines[l][i], lines[l][i + 1]));
    }
    const pg_lifecycle *g = pg_lifecycle_get("grid_event");
    assert_false(pg_lifecycle_allows(g, "上报", "结案"));
    assert_true(pg_lifecycle_allows(g, "结案", "结案"));
    assert_true(pg_lifecycle_allows(g, NULL, NULL));
    assert_false(pg_lifecycle_allows(g, "受理", NULL));
    assert_true(pg_lifecycle_is_final(g, "结案"));
    assert_false(pg_lifecycle_is_final(g, "核查"));
}

/* ---- one table test per collection ---------------------------------- */

static void table_test(fixture *fx, const char *coll)
{
    const pg_lifecycle *lc = pg_lifecycle_get(coll);
    char id[PG_RECORD_ID_LEN + 1], allowed[512];
    size_t accepted = 0, refused = 0;

    assert_non_null(lc);
    /* Initial states: each accepted, the others refused; no status is
     * fine too. */
    joined(allowed, sizeof(allowed), lc->initial);
    for (size_t i = 0; i < lc->nstates; i++) {
        const char *s = lc->states[i].state;
        int64_t log = test_sql_int(fx->node, "SELECT count(*) FROM log");
        if (pg_lifecycle_is_initial(lc, s)) {
            assert_pg_ok(create(id, fx->node, coll, s));
            continue;
        }
        assert_int_equal(create(id, fx->node, coll, s), PG_EINVALID);
        assert_message_has(coll);
        assert_message_has(s);
        assert_message_has(allowed);
        assert_int_equal(test_sql_int(fx->node, "SELECT count(*) FROM log"),
                         log);
    }
    assert_pg_ok(create(id, fx->node, coll, NULL));
    /* From no status, only an initial state. */
    for (size_t i = 0; i < lc->nstates; i++) {
        const char *s = lc->states[i].state;
        if (!pg_lifecycle_is_initial(lc, s)) {
            assert_int_equal(set_status(fx->node, coll, id, s), PG_EINVALID);
            assert_message_has(allowed);
            break;
        }
    }
    assert_pg_ok(set_status(fx->node, coll, id, lc->initial[0]));

    for (size_t i = 0; i < lc->nstates; i++) {
        const pg_lifecycle_state *st = &lc->states[i];
        /* Every allowed step, each from a fresh record in that state. */
        for (const char *const *nx = st->next; *nx; nx++) {
            record_in(id, fx->node, lc, st->state);
            assert_pg_ok(set_status(fx->node, coll, id, *nx));
            char *now = status_of(fx->node, coll, id);
            assert_string_equal(now, *nx);
            free(now);
            accepted++;
        }
        /* Staying put, clearing, and every step not in the table. */
        record_in(id, fx->node, lc, st->state);
        assert_pg_ok(set_status(fx->node, coll, id, st->state));
        if (st->next[0])
            joined(allowed, sizeof(allowed), st->next);
        else
            snprintf(allowed, sizeof(allowed), "none (a final state)");
        int64_t log = test_sql_int(fx->node, "SELECT count(*) FROM log");
        assert_int_equal(set_status(fx->node, coll, id, NULL), PG_EINVALID);
        assert_message_has("cannot be cleared");
        for (size_t j = 0; j < lc->nstates; j++) {
            const char *to = lc->states[j].state;
            if (pg_lifecycle_allows(lc, st->state, to))
                continue;
            assert_int_equal(set_status(fx->node, coll, id, to), PG_EINVALID);
            char want[256];
            snprintf(want, sizeof(want), "status %s → %s is not allowed for %s",
                     st->state, to, coll);
            assert_message_has(want);
            assert_message_has(id);
            assert_message_has(allowed);
            refused++;
        }
        /* Nothing was written: the log and the record are as they were. */
        assert_int_equal(test_sql_int(fx->node, "SELECT count(*) FROM log"),
                         log);
        char *now = status_of(fx->node, coll, id);
        assert_string_equal(now, st->state);
        free(now);
    }
    assert_true(accepted > 0);
    assert_true(refused > 0);
}

#define TABLE_TEST(coll)                                                       \
    static void test_lifecycle__table_##coll(void **state)                     \
    {                                                                          \
        table_test(*state, #coll);                                             \
    }
TABLE_TEST(grid_event)
TABLE_TEST(hazard)
TABLE_TEST(dispute)
TABLE_TEST(supervision)
TABLE_TEST(volunteer)
TABLE_TEST(fraud_alert)
TABLE_TEST(drill)

/* The message the issue gives as its example. */
static void test_lifecycle__message_names_the_allowed_next(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], want[256];

    assert_pg_ok(create(id, fx->node, "grid_event", "上报"));
    assert_int_equal(set_status(fx->node, "grid_event", id, "结案"),
                     PG_EINVALID);
    snprintf(want, sizeof(want),
             "status 上报 → 结案 is not allowed for grid_event %s; allowed "
             "next: 受理, 不予受理",
             id);
    assert_string_equal(pg_error_last()->message, want);
}

/* Other fields of a record in a final state can still be written, and a
 * write without status is not judged. */
static void test_lifecycle__other_fields_are_not_judged(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1];
    const pg_lifecycle *lc = pg_lifecycle_get("dispute");

    record_in(id, fx->node, lc, "结案");
    pg_field_value v = {"mediator", test_text("王调解")};
    assert_pg_ok(pg_record_put(NULL, fx->node, "dispute", id, &v, 1, OPERATOR));
    assert_pg_ok(pg_record_delete(fx->node, "dispute", id, OPERATOR));
}

static void test_lifecycle__import_refuses_a_record_not_new(void **state)
{
    fixture *fx = *state;
    pg_import_stats stats;
    int64_t log = test_sql_int(fx->node, "SELECT count(*) FROM log");
    int64_t rows = test_sql_int(fx->node, "SELECT count(*) FROM dispute");
    const char *text =
        "{\"division\": \"" COMMUNITY "\", \"dispute_type\": \"邻里纠纷\", "
        "\"summary\": \"排水沟\", \"status\": \"登记受理\"}\n"
        "{\"division\": \"" COMMUNITY "\", \"dispute_type\": \"邻里纠纷\", "
        "\"summary\": \"排水沟\", \"status\": \"结案\"}\n";
    FILE *in = fmemopen((void *)text, strlen(text), "r");

    assert_non_null(in);
    pg_error_clear();
    assert_int_equal(pg_record_import_jsonl(&stats, fx->node, "dispute", in, 16,
                                            OPERATOR, NULL, NULL),
                     PG_EINVALID);
    fclose(in);
    assert_message_has("line 2");
    assert_message_has("allowed initial: 登记受理");
    assert_int_equal(test_sql_int(fx->node, "SELECT count(*) FROM log"), log);
    assert_int_equal(test_sql_int(fx->node, "SELECT count(*) FROM dispute"),
                     rows);
}

/* ---- the log check --------------------------------------------------- */

typedef struct found {
    size_t n;
    pg_lifecycle_finding f[8];
} found;

static int on_found(const pg_lifecycle_finding *f, void *payload)
{
    found *fd = payload;
    if (fd->n < 8)
        fd->f[fd->n] = *f;
    fd->n++;
    return 0;
}

static void test_lifecycle__check_walks_the_log(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], sql[512];
    found fd = {0};
    uint64_t count = 99;

    assert_pg_fails(PG_EINVALID, pg_lifecycle_check(fx->node, "key_person",
                                                    on_found, &fd, &count));
    /* Every history so far was written through the local checks. */
    assert_pg_ok(pg_lifecycle_check(fx->node, NULL, on_found, &fd, &count));
    assert_int_equal(count, 0);
    assert_int_equal(fd.n, 0);

    /* The row moves to 派遣 without a txn of this node (as a received
     * change would, from a log this test does not hold); the next local
     * step is legal for the row, but the log now reads 受理 → 处置中. */
    assert_pg_ok(create(id, fx->node, "grid_event", "上报"));
    assert_pg_ok(set_status(fx->node, "grid_event", id, "受理"));
    snprintf(sql, sizeof(sql),
             "UPDATE grid_event SET status = '派遣' WHERE id = '%s'", id);
    assert_int_equal(sqlite3_exec(fx->node->db, sql, NULL, NULL, NULL),
                     SQLITE_OK);
    assert_pg_ok(set_status(fx->node, "grid_event", id, "处置中"));
    assert_pg_ok(
        pg_lifecycle_check(fx->node, "grid_event", on_found, &fd, &count));
    assert_int_equal(count, 1);
    assert_int_equal(fd.n, 1);
    assert_string_equal(fd.f[0].collection, "grid_event");
    assert_string_equal(fd.f[0].record_id, id);
    assert_string_equal(fd.f[0].from, "受理");
    assert_string_equal(fd.f[0].to, "处置中");
    assert_string_equal(fd.f[0].version.origin, TOWNSHIP);
    assert_string_equal(fd.f[0].operator_name, OPERATOR);
    int64_t now = pg_time_now_ms();
    assert_true(fd.f[0].at_ms <= now + 1000 && fd.f[0].at_ms > now - 60000);
    /* Another collection has nothing. */
    fd.n = 0;
    assert_pg_ok(pg_lifecycle_check(fx->node, "hazard", on_found, &fd, &count));
    assert_int_equal(count, 0);
    /* All collections: the one finding. */
    assert_pg_ok(pg_lifecycle_check(fx->node, NULL, NULL, NULL, &count));
    assert_int_equal(count, 1);
}

/* ---- deadlines --------------------------------------------------------- */

static void put_supervision(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                            int64_t issued, int64_t deadline, const char *level)
{
    pg_field_value v[8];
    size_t n = 0;
    v[n++] = (pg_field_value){"division", test_text(COMMUNITY)};
    v[n++] = (pg_field_value){"kind", test_text("督办")};
    v[n++] = (pg_field_value){"issuing_node", test_text(TOWNSHIP)};
    v[n++] = (pg_field_value){"target_unit", test_text("石潭镇平安办")};
    v[n++] = (pg_field_value){"status", test_text("已下达")};
    v[n++] = (pg_field_value){"deadline", test_integer(deadline)};
    if (issued)
        v[n++] = (pg_field_value){"issued_at", test_integer(issued)};
    if (level)
        v[n++] = (pg_field_value){"level", test_text(level)};
    assert_pg_ok(pg_record_put(id, node, "supervision", NULL, v, n, OPERATOR));
}

static const pg_overdue_item *item_of(const pg_overdue_item *items, size_t n,
                                      const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].record_id, id) == 0)
            return &items[i];
    return NULL;
}

static void test_lifecycle__overdue_levels(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp(), dir[4096];
    pg_node *node = test_make_node(dir, root, "n", TOWNSHIP, "石潭镇");
    int64_t now = pg_time_now_ms();
    char normal[PG_RECORD_ID_LEN + 1], yellow[PG_RECORD_ID_LEN + 1],
        red[PG_RECORD_ID_LEN + 1], unknown[PG_RECORD_ID_LEN + 1],
        raised[PG_RECORD_ID_LEN + 1], future[PG_RECORD_ID_LEN + 1],
        done[PG_RECORD_ID_LEN + 1], hz[PG_RECORD_ID_LEN + 1];
    pg_overdue_item *items = NULL;
    size_t n = 0;

    /* 10 days given, 5 hours late: 普通督办. */
    put_supervision(normal, node, now - 10 * DAY_MS - 5 * HOUR_MS,
                    now - 5 * HOUR_MS, NULL);
    /* 10 days given, 3 days late: 黄牌督办. */
    put_supervision(yellow, node, now - 13 * DAY_MS, now - 3 * DAY_MS, NULL);
    /* 2 days given, 3 days late: 红牌督办. */
    put_supervision(red, node, now - 5 * DAY_MS, now - 3 * DAY_MS, NULL);
    /* No start: 7 days assumed; 8 days late is red. */
    put_supervision(unknown, node, 0, now - 8 * DAY_MS, NULL);
    /* 2 hours late, but the issuer set 黄牌督办: never lower. */
    put_supervision(raised, node, now - 3 * DAY_MS, now - 2 * HOUR_MS,
                    "黄牌督办");
    put_supervision(future, node, now - DAY_MS, now + DAY_MS, NULL);
    put_supervision(done, node, now - 20 * DAY_MS, now - 10 * DAY_MS, NULL);
    static const char *const to_done[] = {"已签收", "整改中", "已整改",
                                          "已核验"};
    for (size_t i = 0; i < 4; i++)
        assert_pg_ok(set_status(node, "supervision", done, to_done[i]));
    /* A hazard 30 days into a 20-day rectification limit: 黄牌督办. */
    pg_field_value hv[] = {
        {"division", test_text(COMMUNITY)},
        {"category", test_text("公共安全风险")},
        {"description", test_text("河堤管涌")},
        {"status", test_text("发现登记")},
        {"discovered_at", test_integer(now - 30 * DAY_MS)},
        {"rectify_deadline", test_integer(now - 10 * DAY_MS)},
    };
    assert_pg_ok(pg_record_put(hz, node, "hazard", NULL, hv, 6, OPERATOR));

    assert_pg_ok(pg_overdue_list(&items, &n, node, now));
    assert_int_equal(n, 6);
    const pg_overdue_item *it;
    assert_non_null(it = item_of(items, n, normal));
    assert_int_equal(it->level, PG_OVERDUE_NORMAL);
    assert_int_equal(it->overdue_ms, 5 * HOUR_MS);
    assert_string_equal(pg_overdue_level_name(it->level), "普通督办");
    assert_non_null(it = item_of(items, n, yellow));
    assert_int_equal(it->level, PG_OVERDUE_YELLOW);
    assert_non_null(it = item_of(items, n, red));
    assert_int_equal(it->level, PG_OVERDUE_RED);
    assert_int_equal(it->limit_ms, 2 * DAY_MS);
    assert_non_null(it = item_of(items, n, unknown));
    assert_int_equal(it->level, PG_OVERDUE_RED);
    assert_int_equal(it->limit_ms, PG_OVERDUE_DEFAULT_LIMIT_MS);
    assert_non_null(it = item_of(items, n, raised));
    assert_int_equal(it->level, PG_OVERDUE_YELLOW);
    assert_true(it->level_from_record);
    assert_non_null(it = item_of(items, n, hz));
    assert_string_equal(it->collection, "hazard");
    assert_int_equal(it->level, PG_OVERDUE_YELLOW);
    assert_null(item_of(items, n, future));
    assert_null(item_of(items, n, done));
    /* Most overdue first. */
    for (size_t i = 1; i < n; i++)
        assert_true(items[i - 1].overdue_ms >= items[i].overdue_ms);
    assert_string_equal(items[0].record_id, hz);
    free(items);

    /* Exactly one day late is yellow; a day less a millisecond is not. */
    assert_pg_ok(pg_overdue_list(&items, &n, node, now - 5 * HOUR_MS + DAY_MS));
    assert_non_null(it = item_of(items, n, normal));
    assert_int_equal(it->level, PG_OVERDUE_YELLOW);
    free(items);
    assert_pg_ok(
        pg_overdue_list(&items, &n, node, now - 5 * HOUR_MS + DAY_MS - 1));
    assert_non_null(it = item_of(items, n, normal));
    assert_int_equal(it->level, PG_OVERDUE_NORMAL);
    free(items);

    pg_node_free(node);
    testutil_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle__tables_name_exactly_the_schema_enum),
        cmocka_unit_test(test_lifecycle__the_issue_s_main_lines_are_allowed),
        cmocka_unit_test(test_lifecycle__table_grid_event),
        cmocka_unit_test(test_lifecycle__table_hazard),
        cmocka_unit_test(test_lifecycle__table_dispute),
        cmocka_unit_test(test_lifecycle__table_supervision),
        cmocka_unit_test(test_lifecycle__table_volunteer),
        cmocka_unit_test(test_lifecycle__table_fraud_alert),
        cmocka_unit_test(test_lifecycle__table_drill),
        cmocka_unit_test(test_lifecycle__message_names_the_allowed_next),
        cmocka_unit_test(test_lifecycle__other_fields_are_not_judged),
        cmocka_unit_test(test_lifecycle__import_refuses_a_record_not_new),
        cmocka_unit_test(test_lifecycle__check_walks_the_log),
        cmocka_unit_test(test_lifecycle__overdue_levels),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
