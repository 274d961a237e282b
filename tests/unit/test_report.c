/*
 * Reports (pingan/report.h) at 湘潭县 (430321000000) with records in its
 * own division, in 石潭镇 (430321112000) and its villages 新合村委会
 * (430321112228) and 向韶村委会 (430321112229), and in 易俗河镇
 * (430321100000).  Every rate is checked against numbers counted by hand
 * in the comments.  Division remaps are written into the system
 * collection with the library's internal write path, as `pingan division
 * remap` does.
 */
#include "testutil.h"

#include "pingan/record.h"
#include "pingan/lifecycle.h"
#include "pingan/report.h"

#include "node_internal.h"
#include "write_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNTY    "430321000000"
#define SHITAN    "430321112000"
#define XINHE     "430321112228"
#define XIANGSHAO "430321112229"
#define YISUHE    "430321100000"
#define YANGJIA   "430321113000"
#define WUSHI     "430321114000"

typedef struct fixture {
    char *root;
    pg_node *node;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    char dir[4096];
    if (!fx || !(fx->root = testutil_mkdtemp()))
        return -1;
    testutil_path(dir, sizeof(dir), fx->root, "county");
    if (test_node_setup(&fx->node, NULL, dir, COUNTY, "湘潭县") < 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    pg_node_free(fx->node);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

/* Put a record from "field=value" strings (NULL-terminated); id_out may be
 * NULL.  With id, update that record. */
static void put_id(char *id_out, pg_node *node, const char *coll,
                   const char *id, const char *const *assign)
{
    const pg_collection *c = pg_schema_collection(pg_schema_current(), coll);
    assert_non_null(c);
    pg_field_value v[32];
    char *texts[32] = {0};
    char names[32][64];
    size_t n = 0;
    for (; assign[n]; n++) {
        const char *eq = strchr(assign[n], '=');
        assert_non_null(eq);
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)(eq - assign[n]),
                 assign[n]);
        const pg_field *f = pg_collection_field(c, names[n], NULL);
        if (!f)
            fail_msg("no field %s", names[n]);
        assert_pg_ok(pg_value_parse(&v[n].value, &texts[n], f, eq + 1));
        v[n].field = names[n];
    }
    /* A status is reached through its lifecycle's legal steps: the record
     * is created in the first and moved along the shortest path. */
    const char *path[16];
    size_t npath = 0, status = n;
    const pg_lifecycle *lc = pg_lifecycle_get(coll);
    for (size_t i = 0; i < n && lc; i++)
        if (strcmp(names[i], "status") == 0)
            status = i;
    if (status < n && !id) {
        assert_pg_ok(pg_lifecycle_path(path, &npath, 16, lc, NULL,
                                       strchr(assign[status], '=') + 1));
        assert_true(npath > 0);
        v[status].value.s = path[0];
        v[status].value.len = strlen(path[0]);
    }
    char made[PG_RECORD_ID_LEN + 1];
    assert_pg_ok(pg_record_put(made, node, coll, id, v, n, "tester"));
    for (size_t s = 1; s < npath; s++) {
        pg_field_value step = {
            "status",
            {.kind = PG_VALUE_TEXT, .s = path[s], .len = strlen(path[s])}};
        assert_pg_ok(pg_record_put(NULL, node, coll, made, &step, 1, "tester"));
    }
    if (id_out)
        memcpy(id_out, made, sizeof(made));
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
}

#define PUT(node, coll, ...)                                                   \
    put_id(NULL, node, coll, NULL, (const char *const[]){__VA_ARGS__, NULL})

static pg_report *run(pg_node *node, const char *coll, pg_report_by by,
                      int64_t since, int64_t until)
{
    pg_report_query q = {coll, by, since, until};
    pg_report *r = NULL;
    assert_pg_ok(pg_report_run(&r, node, &q));
    return r;
}

static const pg_report_stats *subtotal(const pg_report *r, const char *group)
{
    for (size_t i = 0; i < r->nsubtotals; i++)
        if (strcmp(r->subtotals[i].group, group) == 0)
            return &r->subtotals[i].stats;
    return NULL;
}

static const pg_report_stats *cell(const pg_report *r, const char *group,
                                   const char *key)
{
    for (size_t i = 0; i < r->ncells; i++)
        if (strcmp(r->cells[i].group, group) == 0 &&
            strcmp(r->cells[i].key, key) == 0)
            return &r->cells[i].stats;
    return NULL;
}

static void assert_amount(double got, double want)
{
    if (got < want - 0.001 || got > want + 0.001)
        fail_msg("amount %.3f, expected %.3f", got, want);
}

/* Mediation success: outcomes 调解成功… among those with an outcome; the
 * amount is the sum of amount_involved; deleted records do not count; a
 * record at the county's own code counts under the county. */
static void test_dispute_success_rate(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    PUT(n, "dispute", "division=" SHITAN, "dispute_type=邻里纠纷", "summary=a",
        "outcome=调解成功（书面协议）", "amount_involved=1000");
    PUT(n, "dispute", "division=" XINHE, "dispute_type=山林土地", "summary=b",
        "outcome=调解成功（口头协议）", "amount_involved=20000");
    PUT(n, "dispute", "division=" YISUHE, "dispute_type=婚姻家庭", "summary=c",
        "outcome=调解不成—引导诉讼", "amount_involved=250.5");
    PUT(n, "dispute", "division=" YISUHE, "dispute_type=婚姻家庭", "summary=d",
        "outcome=调解成功并司法确认");
    PUT(n, "dispute", "division=" YISUHE, "dispute_type=邻里纠纷", "summary=e",
        "status=调解中");
    PUT(n, "dispute", "division=" COUNTY, "dispute_type=合同履行", "summary=f",
        "outcome=部分成功");
    char gone[PG_RECORD_ID_LEN + 1];
    put_id(gone, n, "dispute", NULL,
           (const char *const[]){"division=" SHITAN, "dispute_type=邻里纠纷",
                                 "summary=g", "outcome=调解成功（口头协议）",
                                 "amount_involved=99999", NULL});
    assert_pg_ok(pg_record_delete(n, "dispute", gone, "tester"));

    pg_report *r =
        run(n, "dispute", PG_REPORT_BY_CATEGORY, INT64_MIN, INT64_MAX);
    assert_string_equal(r->rate_name, "mediation_success");
    assert_true(r->measures & PG_REPORT_M_AMOUNT);
    assert_false(r->from_stats);
    /* By hand: 6 records; outcomes S S F S (none) F -> 3 of 5. */
    assert_int_equal(r->total.count, 6);
    assert_int_equal(r->total.rate_num, 3);
    assert_int_equal(r->total.rate_den, 5);
    assert_amount(r->total.amount, 21250.5);
    /* Subtotals: the county itself 1 (0/1), 易俗河镇 3 (1/2, 250.5),
     * 石潭镇 with its village 2 (2/2, 21000). */
    assert_int_equal(r->nsubtotals, 3);
    assert_string_equal(r->subtotals[0].group, COUNTY);
    assert_int_equal(r->subtotals[0].stats.count, 1);
    assert_int_equal(r->subtotals[0].stats.rate_num, 0);
    assert_int_equal(r->subtotals[0].stats.rate_den, 1);
    const pg_report_stats *y = subtotal(r, YISUHE);
    assert_non_null(y);
    assert_int_equal(y->count, 3);
    assert_int_equal(y->rate_num, 1);
    assert_int_equal(y->rate_den, 2);
    assert_amount(y->amount, 250.5);
    const pg_report_stats *s = subtotal(r, SHITAN);
    assert_non_null(s);
    assert_int_equal(s->count, 2);
    assert_int_equal(s->rate_num, 2);
    assert_int_equal(s->rate_den, 2);
    assert_amount(s->amount, 21000);
    /* Cells: 易俗河镇 has 婚姻家庭 2 and 邻里纠纷 1. */
    const pg_report_stats *c = cell(r, YISUHE, "婚姻家庭");
    assert_non_null(c);
    assert_int_equal(c->count, 2);
    assert_int_equal(cell(r, YISUHE, "邻里纠纷")->count, 1);
    pg_report_free(r);

    /* By division: the village is its own row under 石潭镇. */
    r = run(n, "dispute", PG_REPORT_BY_DIVISION, INT64_MIN, INT64_MAX);
    assert_int_equal(cell(r, SHITAN, XINHE)->count, 1);
    assert_int_equal(cell(r, SHITAN, SHITAN)->count, 1);
    pg_report_free(r);
    /* By status: unset status is the key "". */
    r = run(n, "dispute", PG_REPORT_BY_STATUS, INT64_MIN, INT64_MAX);
    assert_int_equal(cell(r, YISUHE, "调解中")->count, 1);
    assert_int_equal(cell(r, YISUHE, "")->count, 2);
    pg_report_free(r);
}

/* Hazards: closed on time = closed_at <= rectify_deadline among the closed
 * ones with a deadline; overdue = deadline passed and not closed. */
static void test_hazard_on_time(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    /* on time */
    PUT(n, "hazard", "division=" SHITAN, "category=公共安全风险",
        "description=a", "rectify_deadline=2026-10-10T00:00:00+08:00",
        "closed_at=2026-10-10T00:00:00+08:00");
    /* late */
    PUT(n, "hazard", "division=" SHITAN, "category=公共安全风险",
        "description=b", "rectify_deadline=2026-10-10T00:00:00+08:00",
        "closed_at=2026-10-10T00:00:01+08:00");
    /* closed without a deadline: not in the rate */
    PUT(n, "hazard", "division=" YISUHE, "category=社会治安风险",
        "description=c", "closed_at=2026-10-01T00:00:00+08:00");
    /* open, deadline passed: overdue */
    PUT(n, "hazard", "division=" YISUHE, "category=社会治安风险",
        "description=d", "rectify_deadline=2026-01-01T00:00:00+08:00");
    /* open, deadline far ahead */
    PUT(n, "hazard", "division=" YISUHE, "category=公共安全风险",
        "description=e", "rectify_deadline=2099-01-01T00:00:00+08:00");
    /* closed on time, in a village */
    PUT(n, "hazard", "division=" XIANGSHAO, "category=公共安全风险",
        "description=f", "rectify_deadline=2026-10-10T00:00:00+08:00",
        "closed_at=2026-10-09T00:00:00+08:00");

    pg_report *r =
        run(n, "hazard", PG_REPORT_BY_CATEGORY, INT64_MIN, INT64_MAX);
    assert_string_equal(r->rate_name, "closed_on_time");
    assert_int_equal(r->total.count, 6);
    assert_int_equal(r->total.rate_num, 2); /* a, f */
    assert_int_equal(r->total.rate_den, 3); /* a, b, f */
    assert_int_equal(r->total.overdue, 1);  /* d */
    assert_int_equal(subtotal(r, SHITAN)->rate_num, 2);
    assert_int_equal(subtotal(r, SHITAN)->rate_den, 3);
    assert_int_equal(subtotal(r, YISUHE)->rate_den, 0);
    assert_int_equal(subtotal(r, YISUHE)->overdue, 1);
    pg_report_free(r);
    /* At a reference time before d's deadline, nothing is overdue. */
    r = run(n, "hazard", PG_REPORT_BY_CATEGORY, INT64_MIN,
            1767196800000LL /* 2025-12-31T16:00Z */);
    assert_int_equal(r->total.overdue, 0);
    pg_report_free(r);
}

/* Grid events: closure = status 结案 among all; on time as hazards.  Fraud
 * alerts: 劝阻成功 among those with an outcome; loss summed.  Volunteers:
 * points and hours summed (counters). */
static void test_grid_fraud_volunteer(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    PUT(n, "grid_event", "division=" XINHE, "category=民生服务", "subject=a",
        "status=结案", "deadline=2026-10-02T00:00:00+08:00",
        "closed_at=2026-10-01T00:00:00+08:00");
    PUT(n, "grid_event", "division=" XINHE, "category=民生服务", "subject=b",
        "status=结案", "deadline=2026-10-02T00:00:00+08:00",
        "closed_at=2026-10-03T00:00:00+08:00");
    PUT(n, "grid_event", "division=" YISUHE, "category=城市管理", "subject=c",
        "status=处置中");
    PUT(n, "grid_event", "division=" YISUHE, "category=城市管理", "subject=d",
        "status=上报");
    pg_report *r =
        run(n, "grid_event", PG_REPORT_BY_STATUS, INT64_MIN, INT64_MAX);
    assert_string_equal(r->rate_name, "closure");
    assert_string_equal(r->rate2_name, "closed_on_time");
    assert_int_equal(r->total.rate_num, 2); /* 2 of 4 closed */
    assert_int_equal(r->total.rate_den, 4);
    assert_int_equal(r->total.rate2_num, 1); /* a of a, b */
    assert_int_equal(r->total.rate2_den, 2);
    assert_int_equal(cell(r, SHITAN, "结案")->count, 2);
    pg_report_free(r);

    PUT(n, "fraud_alert", "division=" SHITAN, "alert_source=96110",
        "fraud_type=刷单返利", "issued_at=2026-10-01T10:00:00+08:00",
        "outcome=劝阻成功");
    PUT(n, "fraud_alert", "division=" SHITAN, "alert_source=96110",
        "fraud_type=刷单返利", "issued_at=2026-10-01T11:00:00+08:00",
        "outcome=已受骗", "loss_amount=8000");
    PUT(n, "fraud_alert", "division=" YISUHE, "alert_source=银行",
        "fraud_type=冒充公检法", "issued_at=2026-10-02T11:00:00+08:00",
        "outcome=已受骗", "loss_amount=12000.25");
    PUT(n, "fraud_alert", "division=" YISUHE, "alert_source=银行",
        "fraud_type=冒充公检法", "issued_at=2026-10-02T12:00:00+08:00");
    r = run(n, "fraud_alert", PG_REPORT_BY_CATEGORY, INT64_MIN, INT64_MAX);
    assert_string_equal(r->rate_name, "dissuaded");
    assert_int_equal(r->total.rate_num, 1); /* 1 of 3 with an outcome */
    assert_int_equal(r->total.rate_den, 3);
    assert_amount(r->total.amount, 20000.25);
    assert_amount(cell(r, YISUHE, "冒充公检法")->amount, 12000.25);
    pg_report_free(r);

    char v1[PG_RECORD_ID_LEN + 1];
    put_id(v1, n, "volunteer", NULL,
           (const char *const[]){"division=" XINHE, "name=张三",
                                 "team=综治巡逻队", "points=10", "hours=2",
                                 NULL});
    put_id(NULL, n, "volunteer", v1,
           (const char *const[]){"points=5", "hours=1", NULL});
    PUT(n, "volunteer", "division=" YISUHE, "name=李四", "team=反诈宣传队",
        "points=7");
    r = run(n, "volunteer", PG_REPORT_BY_CATEGORY, INT64_MIN, INT64_MAX);
    assert_true(r->measures & PG_REPORT_M_POINTS);
    assert_null(r->rate_name);
    assert_int_equal(r->total.points, 22); /* 10 + 5 + 7 */
    assert_int_equal(r->total.hours, 3);
    assert_int_equal(subtotal(r, SHITAN)->points, 15);
    pg_report_free(r);
}

/* Write a division_remap row as `pingan division remap` would: the
 * internal write path into the system collection, filed at the node. */
static void remap(pg_node *node, const char *old_code, const char *new_code)
{
    const pg_collection *c =
        pg_schema_collection(pg_schema_current(), "division_remap");
    assert_non_null(c);
    pg_field_value v[3] = {
        {"division",
         {.kind = PG_VALUE_TEXT, .s = pg_node_code(node), .len = 12}},
        {"old_code", {.kind = PG_VALUE_TEXT, .s = old_code, .len = 12}},
        {"new_code", {.kind = PG_VALUE_TEXT, .s = new_code, .len = 12}},
    };
    size_t idx[3];
    char division[PG_CODE_LEN + 1];
    assert_pg_ok(pg_store__begin(node->db));
    assert_pg_ok(pg_write__validate(idx, division, node, c, v, 3, true));
    assert_pg_ok(
        pg_write__create(NULL, node, c, division, v, idx, 3, "pingan"));
    assert_pg_ok(pg_store__commit(node->db));
}

/* A remap chain 石潭镇 → 杨嘉桥镇 → 乌石镇 moves the township and its
 * villages; an exact village remap (向韶 merged into 新合) applies
 * before its township's. */
static void test_remap(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    PUT(n, "drill", "division=" SHITAN, "drill_type=实战演练",
        "scenario=消防疏散");
    PUT(n, "drill", "division=" XINHE, "drill_type=实战演练",
        "scenario=消防疏散");
    PUT(n, "drill", "division=" XIANGSHAO, "drill_type=实战演练",
        "scenario=防汛抗洪");
    PUT(n, "drill", "division=" YISUHE, "drill_type=桌面推演",
        "scenario=防汛抗洪");
    pg_report *r = run(n, "drill", PG_REPORT_BY_DIVISION, INT64_MIN, INT64_MAX);
    assert_int_equal(subtotal(r, SHITAN)->count, 3);
    pg_report_free(r);

    remap(n, SHITAN, YANGJIA);
    remap(n, YANGJIA, WUSHI);
    /* 向韶村委会 merged into 新合村委会 (an exact code). */
    remap(n, XIANGSHAO, XINHE);
    r = run(n, "drill", PG_REPORT_BY_DIVISION, INT64_MIN, INT64_MAX);
    assert_null(subtotal(r, SHITAN));
    assert_null(subtotal(r, YANGJIA));
    assert_int_equal(subtotal(r, WUSHI)->count, 3);
    assert_int_equal(cell(r, WUSHI, WUSHI)->count, 1);
    /* 新合 and 向韶 (now 新合), under 乌石镇; none left at 向韶's code. */
    assert_int_equal(cell(r, WUSHI, "430321114228")->count, 2);
    assert_null(cell(r, WUSHI, "430321114229"));
    assert_int_equal(subtotal(r, YISUHE)->count, 1);
    assert_int_equal(r->total.count, 4);
    pg_report_free(r);
}

/* A node whose own code was remapped (石潭镇 renamed 乌石镇 by its
 * county) keeps its card: its records, filed under either code, are its
 * own in its reports, grouped under the new code, and publishing again
 * keeps their counts (the old code's rows go to 0, the new code's carry
 * them). */
static void test_own_code_remapped(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *town;
    testutil_path(dir, sizeof(dir), fx->root, "town");
    assert_pg_ok(test_node_setup(&town, NULL, dir, SHITAN, "石潭镇"));
    PUT(town, "drill", "division=" SHITAN, "drill_type=实战演练",
        "scenario=消防疏散", "executed_at=2026-11-02T09:00:00+08:00");
    PUT(town, "drill", "division=" XINHE, "drill_type=实战演练",
        "scenario=防汛抗洪", "executed_at=2026-11-02T10:00:00+08:00");
    int64_t day;
    assert_pg_ok(pg_report_parse_date(&day, "2026-11-05", false));
    pg_report_publish_stats ps;
    assert_pg_ok(pg_report_publish(&ps, town, day, "tester"));
    assert_int_equal(ps.created, 2);

    remap(town, SHITAN, WUSHI);
    pg_report *r =
        run(town, "drill", PG_REPORT_BY_DIVISION, INT64_MIN, INT64_MAX);
    assert_int_equal(r->total.count, 2);
    assert_int_equal(subtotal(r, WUSHI)->count, 1);
    assert_int_equal(subtotal(r, "430321114228")->count, 1);
    assert_null(subtotal(r, SHITAN));
    pg_report_free(r);
    /* Written after the remap under the new code: counted too. */
    PUT(town, "drill", "division=" WUSHI, "drill_type=桌面推演",
        "scenario=消防疏散", "executed_at=2026-11-03T09:00:00+08:00");
    r = run(town, "drill", PG_REPORT_BY_DIVISION, INT64_MIN, INT64_MAX);
    assert_int_equal(r->total.count, 3);
    assert_int_equal(subtotal(r, WUSHI)->count, 2);
    pg_report_free(r);

    assert_pg_ok(pg_report_publish(&ps, town, day, "tester"));
    assert_int_equal(ps.zeroed, 2); /* the rows under the old codes */
    assert_int_equal(ps.created, 2);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(town->db,
                                        "SELECT total(record_count) FROM "
                                        "daily_stats WHERE _deleted = 0 AND "
                                        "collection = 'drill' AND "
                                        "stat_date = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, day);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 3);
    sqlite3_finalize(st);
    pg_node_free(town);
}

/* --since is inclusive; --until DAY includes the whole day (its end is
 * exclusive); --until TIME is exclusive; month is China Standard Time. */
static void test_since_until(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    PUT(n, "dispute", "division=" SHITAN, "dispute_type=其他", "summary=a",
        "accepted_at=2026-10-31T23:59:59.999+08:00");
    PUT(n, "dispute", "division=" SHITAN, "dispute_type=其他", "summary=b",
        "accepted_at=2026-11-01T00:00:00+08:00");
    PUT(n, "dispute", "division=" SHITAN, "dispute_type=其他", "summary=c",
        "accepted_at=2026-11-30T23:59:59+08:00");
    /* 2026-11-30 in UTC, December in China */
    PUT(n, "dispute", "division=" SHITAN, "dispute_type=其他", "summary=d",
        "accepted_at=2026-12-01T07:00:00+08:00");

    int64_t since, until, t;
    assert_pg_ok(pg_report_parse_date(&since, "2026-11-01", false));
    assert_pg_ok(pg_report_parse_date(&until, "2026-11-30", true));
    assert_pg_ok(pg_time_parse(&t, "2026-11-01T00:00:00+08:00"));
    assert_true(since == t);
    assert_pg_ok(pg_time_parse(&t, "2026-12-01T00:00:00+08:00"));
    assert_true(until == t);
    pg_report *r = run(n, "dispute", PG_REPORT_BY_MONTH, since, until);
    assert_int_equal(r->total.count, 2); /* b, c */
    assert_int_equal(cell(r, SHITAN, "2026-11")->count, 2);
    pg_report_free(r);
    assert_pg_ok(
        pg_report_parse_date(&until, "2026-11-30T23:59:59+08:00", true));
    r = run(n, "dispute", PG_REPORT_BY_MONTH, since, until);
    assert_int_equal(r->total.count, 1); /* b only: c is at the instant */
    pg_report_free(r);
    r = run(n, "dispute", PG_REPORT_BY_MONTH, INT64_MIN, INT64_MAX);
    assert_int_equal(cell(r, SHITAN, "2026-10")->count, 1);
    assert_int_equal(cell(r, SHITAN, "2026-11")->count, 2);
    assert_int_equal(cell(r, SHITAN, "2026-12")->count, 1);
    pg_report_free(r);

    /* Bad input. */
    static const char *const bad[] = {
        "2026-02-29",          "2026-13-01", "2026-11-00", "20261101",
        "2026-11-01T10:00:00", "yesterday",  "",           "1969-12-31",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_pg_fails(PG_EINVALID, pg_report_parse_date(&t, bad[i], false));
    assert_pg_ok(pg_report_parse_date(&t, "2028-02-29", false));
    pg_report_query q = {"dispute", PG_REPORT_BY_MONTH, until, since};
    pg_report *none = NULL;
    assert_pg_fails(PG_EINVALID, pg_report_run(&none, n, &q));
    q.since_ms = q.until_ms = since;
    assert_pg_fails(PG_EINVALID, pg_report_run(&none, n, &q));
    q = (pg_report_query){"node", PG_REPORT_BY_STATUS, INT64_MIN, INT64_MAX};
    assert_pg_fails(PG_EINVALID, pg_report_run(&none, n, &q));
    q.collection = "daily_stats";
    assert_pg_fails(PG_EINVALID, pg_report_run(&none, n, &q));
    q.collection = "nothing";
    assert_pg_fails(PG_EINVALID, pg_report_run(&none, n, &q));
    assert_null(none);
    pg_report_by by;
    assert_pg_fails(PG_EINVALID, pg_report_by_parse(&by, "week"));
    assert_pg_ok(pg_report_by_parse(&by, "month"));
    assert_int_equal(by, PG_REPORT_BY_MONTH);
}

static int64_t count_stats(pg_node *n, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*), total(record_count) FROM daily_stats WHERE "
             "_deleted = 0 AND %s",
             where);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(n->db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rows;
}

static int64_t stat_value(pg_node *n, const char *col, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM daily_stats WHERE _deleted = 0 AND %s", col,
             where);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(n->db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* one record */
    sqlite3_finalize(st);
    return v;
}

/* Publishing writes one record per key; again, it updates them, sets a
 * vanished key to 0 and creates none twice; a past day leaves out later
 * records. */
static void test_publish(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    char gone[PG_RECORD_ID_LEN + 1];
    PUT(n, "hazard", "division=" SHITAN, "category=公共安全风险",
        "description=a", "status=整改中",
        "discovered_at=2026-11-02T09:00:00+08:00",
        "rectify_deadline=2026-11-03T00:00:00+08:00");
    PUT(n, "hazard", "division=" SHITAN, "category=公共安全风险",
        "description=b", "status=整改中",
        "discovered_at=2026-11-02T10:00:00+08:00");
    put_id(gone, n, "dispute", NULL,
           (const char *const[]){"division=" YISUHE, "dispute_type=邻里纠纷",
                                 "summary=c", "amount_involved=300",
                                 "accepted_at=2026-11-02T11:00:00+08:00",
                                 NULL});
    int64_t day;
    assert_pg_ok(pg_report_parse_date(&day, "2026-11-05", false));
    pg_report_publish_stats ps;
    assert_pg_ok(pg_report_publish(&ps, n, day + 3600 * 1000, "tester"));
    assert_true(ps.stat_date_ms == day);
    assert_int_equal(ps.created, 2);
    assert_int_equal(count_stats(n, "1"), 2);
    assert_int_equal(stat_value(n, "record_count",
                                "collection = 'hazard' AND subject_division "
                                "= '" SHITAN "' AND status = '整改中'"),
                     2);
    assert_int_equal(stat_value(n, "overdue_count", "collection = 'hazard'"),
                     1);
    assert_int_equal(stat_value(n, "amount", "collection = 'dispute'"), 300);
    int64_t log_before;
    {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(n->db, "SELECT max(seq) FROM log", -1, &st, NULL);
        sqlite3_step(st);
        log_before = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }

    /* Nothing changed: nothing written. */
    assert_pg_ok(pg_report_publish(&ps, n, day, "tester"));
    assert_int_equal(ps.created + ps.updated, 0);
    assert_int_equal(ps.unchanged, 2);
    /* The dispute deleted: its key goes to 0, no record is added. */
    assert_pg_ok(pg_record_delete(n, "dispute", gone, "tester"));
    assert_pg_ok(pg_report_publish(&ps, n, day, "tester"));
    assert_int_equal(ps.created, 0);
    assert_int_equal(ps.updated, 1);
    assert_int_equal(ps.zeroed, 1);
    assert_int_equal(count_stats(n, "1"), 2);
    assert_int_equal(stat_value(n, "record_count", "collection = 'dispute'"),
                     0);
    assert_int_equal(stat_value(n, "amount", "collection = 'dispute'"), 0);
    {
        /* two txns: the delete and the update, each signed and logged */
        sqlite3_stmt *st;
        sqlite3_prepare_v2(n->db,
                           "SELECT count(*) FROM log WHERE seq > ?1 AND "
                           "collection = 'daily_stats'",
                           -1, &st, NULL);
        sqlite3_bind_int64(st, 1, log_before);
        sqlite3_step(st);
        assert_int_equal(sqlite3_column_int64(st, 0), 1);
        sqlite3_finalize(st);
    }

    /* Nothing existed at the end of 2026-11-01: nothing to publish. */
    assert_pg_ok(pg_report_parse_date(&day, "2026-11-01", false));
    assert_pg_ok(pg_report_publish(&ps, n, day, "tester"));
    assert_int_equal(ps.created, 0);
    assert_int_equal(count_stats(n, "1"), 2);
}

/* A city holds no key_person record (capped at the county): its report
 * reads the latest published daily statistics, one publisher per subject
 * division (the highest tier's), and says so. */
static void test_from_stats(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *city;
    testutil_path(dir, sizeof(dir), fx->root, "city");
    assert_pg_ok(test_node_setup(&city, NULL, dir, "430300000000", "湘潭市"));

    pg_report_query q = {"key_person", PG_REPORT_BY_CATEGORY, INT64_MIN,
                         INT64_MAX};
    pg_report *r = NULL;
    assert_pg_fails(PG_ENOTFOUND, pg_report_run(&r, city, &q));

    /* As they would arrive: the county's stats of two days and the
     * township's of the later day (the same people: counted once). */
    struct {
        const char *publisher, *date, *subject, *category;
        const char *count;
    } rows[] = {
        {COUNTY, "2026-11-04T00:00:00+08:00", SHITAN, "社区矫正对象", "9"},
        {COUNTY, "2026-11-05T00:00:00+08:00", SHITAN, "社区矫正对象", "3"},
        {COUNTY, "2026-11-05T00:00:00+08:00", XINHE, "刑满释放人员", "2"},
        {COUNTY, "2026-11-05T00:00:00+08:00", YISUHE, "刑满释放人员", "4"},
        {SHITAN, "2026-11-05T00:00:00+08:00", SHITAN, "社区矫正对象", "3"},
        {SHITAN, "2026-11-05T00:00:00+08:00", XINHE, "刑满释放人员", "2"},
        /* another city's: not in the jurisdiction */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char a[64], b[64], c[64], d[64], e[64];
        snprintf(a, sizeof(a), "division=%s", rows[i].publisher);
        snprintf(b, sizeof(b), "stat_date=%s", rows[i].date);
        snprintf(c, sizeof(c), "subject_division=%s", rows[i].subject);
        snprintf(d, sizeof(d), "category=%s", rows[i].category);
        snprintf(e, sizeof(e), "record_count=%s", rows[i].count);
        put_id(NULL, city, "daily_stats", NULL,
               (const char *const[]){a, b, c, d, e, "collection=key_person",
                                     NULL});
    }
    assert_pg_ok(pg_report_run(&r, city, &q));
    assert_true(r->from_stats);
    int64_t day;
    assert_pg_ok(pg_report_parse_date(&day, "2026-11-05", false));
    assert_true(r->stats_date_ms == day);
    assert_null(r->rate_name);
    assert_int_equal(r->total.count, 9); /* 3 + 2 + 4 */
    assert_int_equal(r->nsubtotals, 1);
    assert_string_equal(r->subtotals[0].group, COUNTY);
    assert_int_equal(cell(r, COUNTY, "刑满释放人员")->count, 6);
    pg_report_free(r);
    /* --until before the 5th: the 4th's statistics. */
    q.until_ms = day;
    assert_pg_ok(pg_report_run(&r, city, &q));
    assert_int_equal(r->total.count, 9);
    assert_int_equal(cell(r, COUNTY, "社区矫正对象")->count, 9);
    pg_report_free(r);
    q.until_ms = INT64_MAX;
    q.since_ms = day;
    assert_pg_fails(PG_EINVALID, pg_report_run(&r, city, &q));
    q.since_ms = INT64_MIN;
    q.by = PG_REPORT_BY_MONTH;
    assert_pg_fails(PG_EINVALID, pg_report_run(&r, city, &q));
    pg_node_free(city);
}

/* A township's statistics published under its old code and the
 * county's under the new one (after 石潭镇 became 乌石镇) count the same
 * division once: the county's. */
static void test_from_stats_remapped(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *city;
    testutil_path(dir, sizeof(dir), fx->root, "city");
    assert_pg_ok(test_node_setup(&city, NULL, dir, "430300000000", "湘潭市"));
    struct {
        const char *publisher, *subject, *category, *count;
    } rows[] = {
        {SHITAN, SHITAN, "社区矫正对象", "3"},
        {SHITAN, XINHE, "刑满释放人员", "2"},
        {COUNTY, WUSHI, "社区矫正对象", "3"},
        {COUNTY, "430321114228", "刑满释放人员", "2"},
        {COUNTY, YISUHE, "刑满释放人员", "4"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char a[64], c[64], d[64], e[64];
        snprintf(a, sizeof(a), "division=%s", rows[i].publisher);
        snprintf(c, sizeof(c), "subject_division=%s", rows[i].subject);
        snprintf(d, sizeof(d), "category=%s", rows[i].category);
        snprintf(e, sizeof(e), "record_count=%s", rows[i].count);
        put_id(NULL, city, "daily_stats", NULL,
               (const char *const[]){a, "stat_date=2026-11-05T00:00:00+08:00",
                                     c, d, e, "collection=key_person", NULL});
    }
    remap(city, SHITAN, WUSHI);
    pg_report *r =
        run(city, "key_person", PG_REPORT_BY_CATEGORY, INT64_MIN, INT64_MAX);
    assert_true(r->from_stats);
    assert_int_equal(r->total.count, 9); /* 3 + 2 + 4, not 14 */
    assert_int_equal(cell(r, COUNTY, "社区矫正对象")->count, 3);
    assert_int_equal(cell(r, COUNTY, "刑满释放人员")->count, 6);
    pg_report_free(r);
    pg_node_free(city);
}

/* Two records of one key (one come back with a restore): publishing
 * keeps the count in the first and sets the other to 0. */
static void test_publish_duplicate(void **state)
{
    fixture *fx = *state;
    pg_node *n = fx->node;
    PUT(n, "drill", "division=" SHITAN, "drill_type=实战演练",
        "scenario=消防疏散", "executed_at=2026-11-02T09:00:00+08:00");
    int64_t day;
    assert_pg_ok(pg_report_parse_date(&day, "2026-11-05", false));
    pg_report_publish_stats ps;
    assert_pg_ok(pg_report_publish(&ps, n, day, "tester"));
    assert_int_equal(ps.created, 1);
    put_id(NULL, n, "daily_stats", NULL,
           (const char *const[]){"division=" COUNTY,
                                 "stat_date=2026-11-05T00:00:00+08:00",
                                 "collection=drill", "subject_division=" SHITAN,
                                 "category=消防疏散", "record_count=1", NULL});
    assert_int_equal(count_stats(n, "collection = 'drill'"), 2);
    {
        /* of one key */
        sqlite3_stmt *st;
        assert_int_equal(
            sqlite3_prepare_v2(n->db,
                               "SELECT count(DISTINCT quote(category) || "
                               "quote(status) || subject_division) FROM "
                               "daily_stats WHERE collection = 'drill'",
                               -1, &st, NULL),
            SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), 1);
        sqlite3_finalize(st);
    }
    assert_pg_ok(pg_report_publish(&ps, n, day, "tester"));
    assert_int_equal(ps.created, 0);
    assert_int_equal(ps.zeroed, 1);
    assert_int_equal(ps.unchanged, 1);
    assert_int_equal(
        stat_value(n, "total(record_count)", "collection = 'drill'"), 1);
    /* Again: nothing to change. */
    assert_pg_ok(pg_report_publish(&ps, n, day, "tester"));
    assert_int_equal(ps.updated + ps.created, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispute_success_rate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hazard_on_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grid_fraud_volunteer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_code_remapped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_since_until, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_stats_remapped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_publish_duplicate, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
