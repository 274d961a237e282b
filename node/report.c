/*
 * Reports and daily statistics (include/pingan/report.h).
 *
 * Everything is counted by SQL over the collection's table.  Four
 * functions are registered on the connection for the length of a call:
 *
 *   rp_division(code)  the code after the remaps of `division_remap`,
 *                      NULL when it lies outside the jurisdiction
 *   rp_group(code)     the child division (or the node's own code) the
 *                      remapped code counts under, NULL outside
 *   rp_created(id)     creation time of a record, from the ULID of its id
 *   rp_month(ms)       "YYYY-MM" in China Standard Time
 *   rp_tier(code)      a code's tier (pg_tier)
 *
 * Codes are resolved by the division remaps' one rule,
 * pg_division_resolve() (node/remap.c), the rule routing uses too.
 */
#include "pingan/report.h"
#include "i18n_internal.h"
#include "node_internal.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/record.h"
#include "pingan/remap.h"
#include "pingan/value.h"
#include "write_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS  86400000LL
#define CST_MS  (8LL * 3600 * 1000)
#define KEY_MAX 256

enum { RATE_NONE, RATE_SUCCESS, RATE_ON_TIME, RATE_CLOSURE, RATE_DISSUADED };

/* What is counted in a collection. */
typedef struct rp_spec {
    const char *coll;
    const char *category;
    const char *status;   /* NULL: none */
    const char *time;     /* the record's own date; NULL: creation */
    const char *deadline; /* NULL: no overdue */
    const char *closed;
    const char *amount;
    int rate;
    bool rate2; /* closed on time as the second rate */
    bool points;
} rp_spec;

static const rp_spec specs[] = {
    {"hazard", "category", "status", "discovered_at", "rectify_deadline",
     "closed_at", NULL, RATE_ON_TIME, false, false},
    {"dispute", "dispute_type", "status", "accepted_at", "deadline",
     "closed_at", "amount_involved", RATE_SUCCESS, false, false},
    {"grid_event", "category", "status", "occurred_at", "deadline", "closed_at",
     NULL, RATE_CLOSURE, true, false},
    {"key_person", "category", NULL, "enrolled_at", NULL, NULL, NULL, RATE_NONE,
     false, false},
    {"supervision", "kind", "status", "issued_at", "deadline", "closed_at",
     NULL, RATE_ON_TIME, false, false},
    {"volunteer", "team", "status", "registered_at", NULL, NULL, NULL,
     RATE_NONE, false, true},
    {"fraud_alert", "fraud_type", "status", "issued_at", "deadline",
     "handled_at", "loss_amount", RATE_DISSUADED, false, false},
    {"drill", "scenario", "status", "executed_at", NULL, NULL, NULL, RATE_NONE,
     false, false},
    {"dispute_party", "party_role", NULL, NULL, NULL, NULL, NULL, RATE_NONE,
     false, false},
};

static const rp_spec *spec_find(const char *name)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (strcmp(specs[i].coll, name) == 0)
            return &specs[i];
    return NULL;
}

static unsigned spec_measures(const rp_spec *s)
{
    unsigned m = 0;
    if (s->deadline)
        m |= PG_REPORT_M_OVERDUE;
    if (s->amount)
        m |= PG_REPORT_M_AMOUNT;
    if (s->rate != RATE_NONE)
        m |= PG_REPORT_M_RATE;
    if (s->rate2)
        m |= PG_REPORT_M_RATE2;
    if (s->points)
        m |= PG_REPORT_M_POINTS;
    return m;
}

static const char *rate_name(int rate)
{
    switch (rate) {
    case RATE_SUCCESS:
        return "mediation_success";
    case RATE_ON_TIME:
        return "closed_on_time";
    case RATE_CLOSURE:
        return "closure";
    case RATE_DISSUADED:
        return "dissuaded";
    default:
        return NULL;
    }
}

static const char *const by_names[] = {"division", "status", "category",
                                       "month"};

const char *pg_report_by_name(pg_report_by by)
{
    return (unsigned)by < 4 ? by_names[by] : "?";
}

int pg_report_by_parse(pg_report_by *out, const char *s)
{
    PG_ASSERT_ARG(out);
    for (unsigned i = 0; s && i < 4; i++)
        if (strcmp(s, by_names[i]) == 0) {
            *out = (pg_report_by)i;
            return 0;
        }
    char ex[PG_EXCERPT_SIZE];
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "unknown grouping '%s'; expected division, "
                        "status, category or month",
                        pg_excerpt(ex, s ? s : "", s ? strlen(s) : 0));
}

/* ---- dates ------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t pg_report_day_start(int64_t ms)
{
    return floor_div(ms + CST_MS, DAY_MS) * DAY_MS - CST_MS;
}

int pg_report_parse_date(int64_t *out_ms, const char *s, bool end_of_day)
{
    PG_ASSERT_ARG(out_ms);
    char ex[PG_EXCERPT_SIZE];
    size_t n = s ? strlen(s) : 0;
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        unsigned y = 0, m = 0, d = 0;
        bool digits = true;
        for (size_t i = 0; i < 10; i++)
            if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
                digits = false;
        if (digits) {
            for (size_t i = 0; i < 4; i++)
                y = y * 10 + (unsigned)(s[i] - '0');
            m = (unsigned)(s[5] - '0') * 10 + (unsigned)(s[6] - '0');
            d = (unsigned)(s[8] - '0') * 10 + (unsigned)(s[9] - '0');
            static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                             31, 31, 30, 31, 30, 31};
            bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            if (y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] &&
                !(m == 2 && d == 29 && !leap)) {
                int64_t day = pg_days_from_civil(y, m, d);
                *out_ms = (day + (end_of_day ? 1 : 0)) * DAY_MS - CST_MS;
                return 0;
            }
        }
    } else if (n > 10 && s[10] == 'T' && pg_time_parse(out_ms, s) == 0) {
        return 0;
    }
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "'%s' is not a date; expected YYYY-MM-DD (China "
                        "Standard Time) or ISO 8601 with an offset "
                        "(2026-11-26T10:00:00+08:00)",
                        pg_excerpt(ex, s ? s : "", n));
}

/* ---- remaps and the registered functions ------------------------------ */

typedef struct rp_ctx {
    pg_node *node;
    char code[PG_CODE_LEN + 1]; /* the node's code, resolved */
    size_t prefix;              /* jurisdiction digits */
    size_t child_prefix;        /* digits of a child code; 0: none */
} rp_ctx;

static bool code_ok(const char *s, size_t n)
{
    if (n != PG_CODE_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The remapped code of arg 0 if inside the jurisdiction. */
static bool ctx_division(const rp_ctx *c, sqlite3_value *v,
                         char out[PG_CODE_LEN + 1])
{
    const char *s = (const char *)sqlite3_value_text(v);
    if (!s || !code_ok(s, strlen(s)))
        return false;
    /* The remaps' one rule (node/remap.c); unreadable remaps leave the
     * code as stored. */
    if (pg_division_resolve(c->node, s, out) < 0) {
        pg_error_clear();
        memcpy(out, s, PG_CODE_LEN + 1);
    }
    return strncmp(out, c->code, c->prefix) == 0;
}

static void fn_division(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char code[PG_CODE_LEN + 1];
    if (ctx_division(sqlite3_user_data(ctx), argv[0], code))
        sqlite3_result_text(ctx, code, PG_CODE_LEN, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

static void fn_group(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const rp_ctx *c = sqlite3_user_data(ctx);
    char code[PG_CODE_LEN + 1];
    if (!ctx_division(c, argv[0], code)) {
        sqlite3_result_null(ctx);
        return;
    }
    char group[PG_CODE_LEN + 1];
    if (c->child_prefix == 0 || strcmp(code, c->code) == 0) {
        memcpy(group, c->code, PG_CODE_LEN + 1);
    } else {
        memcpy(group, code, c->child_prefix);
        memset(group + c->child_prefix, '0', PG_CODE_LEN - c->child_prefix);
        group[PG_CODE_LEN] = 0;
    }
    sqlite3_result_text(ctx, group, PG_CODE_LEN, SQLITE_TRANSIENT);
}

static void fn_created(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    if (!id || strlen(id) != PG_RECORD_ID_LEN) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t ms = 0;
    for (int i = 0; i < 10; i++) {
        const char *p = strchr(crockford, id[PG_CODE_LEN + 1 + i]);
        if (!p || !*p) {
            sqlite3_result_null(ctx);
            return;
        }
        ms = ms * 32 + (p - crockford);
    }
    sqlite3_result_int64(ctx, ms);
}

static void fn_month(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER) {
        sqlite3_result_null(ctx);
        return;
    }
    int64_t ms = sqlite3_value_int64(argv[0]), y;
    unsigned m, d;
    pg_civil_from_days(floor_div(ms + CST_MS, DAY_MS), &y, &m, &d);
    char out[32];
    snprintf(out, sizeof(out), "%04" PRId64 "-%02u", y, m);
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

static void fn_tier(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    sqlite3_result_int(ctx, s ? (int)pg_division_tier(s) : 0);
}

typedef struct rp_fn {
    const char *name;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
} rp_fn;

static const rp_fn fns[] = {
    {"rp_division", fn_division}, {"rp_group", fn_group},
    {"rp_created", fn_created},   {"rp_month", fn_month},
    {"rp_tier", fn_tier},
};

static void ctx_dispose(rp_ctx *c)
{
    if (c->node)
        for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
            sqlite3_create_function_v2(c->node->db, fns[i].name, 1, SQLITE_UTF8,
                                       NULL, NULL, NULL, NULL, NULL);
}

static int ctx_init(rp_ctx *c, pg_node *node)
{
    memset(c, 0, sizeof(*c));
    /* The node's code resolved like the records' (as routing and writes
     * do, pg_division__within): a node whose code was retired keeps its
     * card, and its records are filed, or resolve, under the new code. */
    const char *code = pg_node_code(node);
    if (pg_division_resolve(node, code, c->code) < 0) {
        pg_error_clear();
        memcpy(c->code, code, PG_CODE_LEN + 1);
    }
    pg_tier tier = pg_node_tier(node);
    c->prefix = pg_tier_prefix_len(tier);
    c->child_prefix =
        tier < PG_TIER_COMMUNITY ? pg_tier_prefix_len((pg_tier)(tier + 1)) : 0;
    c->node = node;
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int rc = sqlite3_create_function_v2(node->db, fns[i].name, 1,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                            c, fns[i].fn, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            ctx_dispose(c);
            return pg_store__error(node->db, rc,
                                   "registering report functions");
        }
    }
    return 0;
}

/* ---- the query --------------------------------------------------------- */

/* Append the measure columns (count, overdue, amount, rate num/den,
 * rate2 num/den, points, hours) for the records of spec s; ref is the
 * reference time of overdue, as ?3. */
static int sql_measures(pg_buf *sql, const rp_spec *s)
{
    int e = pg_buf_puts(sql, ", COUNT(*)");
    if (!e && s->deadline)
        e = pg_buf_printf(sql,
                          ", SUM(\"%s\" IS NOT NULL AND \"%s\" < ?3 AND "
                          "(\"%s\" IS NULL OR \"%s\" > ?3))",
                          s->deadline, s->deadline, s->closed, s->closed);
    else if (!e)
        e = pg_buf_puts(sql, ", 0");
    if (!e && s->amount)
        e = pg_buf_printf(sql,
                          ", TOTAL(CASE WHEN typeof(\"%s\") IN ('integer', "
                          "'real') THEN \"%s\" END)",
                          s->amount, s->amount);
    else if (!e)
        e = pg_buf_puts(sql, ", 0");
    if (e)
        return e;
    switch (s->rate) {
    case RATE_SUCCESS:
        e = pg_buf_puts(sql, ", SUM(outcome LIKE '调解成功%'), "
                             "SUM(outcome IS NOT NULL)");
        break;
    case RATE_DISSUADED:
        e = pg_buf_puts(sql, ", SUM(outcome = '劝阻成功'), "
                             "SUM(outcome IS NOT NULL)");
        break;
    case RATE_CLOSURE:
        e = pg_buf_puts(sql, ", SUM(status = '结案'), COUNT(*)");
        break;
    case RATE_ON_TIME:
        e = pg_buf_printf(sql,
                          ", SUM(\"%s\" IS NOT NULL AND \"%s\" IS NOT NULL "
                          "AND \"%s\" <= \"%s\"), SUM(\"%s\" IS NOT NULL AND "
                          "\"%s\" IS NOT NULL)",
                          s->closed, s->deadline, s->closed, s->deadline,
                          s->closed, s->deadline);
        break;
    default:
        e = pg_buf_puts(sql, ", 0, 0");
    }
    if (!e && s->rate2)
        e = pg_buf_printf(sql,
                          ", SUM(\"%s\" IS NOT NULL AND \"%s\" IS NOT NULL "
                          "AND \"%s\" <= \"%s\"), SUM(\"%s\" IS NOT NULL AND "
                          "\"%s\" IS NOT NULL)",
                          s->closed, s->deadline, s->closed, s->deadline,
                          s->closed, s->deadline);
    else if (!e)
        e = pg_buf_puts(sql, ", 0, 0");
    if (!e && s->points)
        e = pg_buf_puts(sql, ", TOTAL(CASE WHEN typeof(points) = 'integer' "
                             "THEN points END), TOTAL(CASE WHEN "
                             "typeof(hours) = 'integer' THEN hours END)");
    else if (!e)
        e = pg_buf_puts(sql, ", 0, 0");
    return e;
}

static int sql_time(pg_buf *sql, const rp_spec *s)
{
    if (s->time)
        return pg_buf_printf(sql, "COALESCE(\"%s\", rp_created(id))", s->time);
    return pg_buf_puts(sql, "rp_created(id)");
}

static void stats_read(pg_report_stats *st, sqlite3_stmt *q, int col)
{
    st->count = sqlite3_column_int64(q, col);
    st->overdue = sqlite3_column_int64(q, col + 1);
    st->amount = sqlite3_column_double(q, col + 2);
    st->rate_num = sqlite3_column_int64(q, col + 3);
    st->rate_den = sqlite3_column_int64(q, col + 4);
    st->rate2_num = sqlite3_column_int64(q, col + 5);
    st->rate2_den = sqlite3_column_int64(q, col + 6);
    st->points = (int64_t)sqlite3_column_double(q, col + 7);
    st->hours = (int64_t)sqlite3_column_double(q, col + 8);
}

static void stats_add(pg_report_stats *a, const pg_report_stats *b)
{
    a->count += b->count;
    a->overdue += b->overdue;
    a->amount += b->amount;
    a->rate_num += b->rate_num;
    a->rate_den += b->rate_den;
    a->rate2_num += b->rate2_num;
    a->rate2_den += b->rate2_den;
    a->points += b->points;
    a->hours += b->hours;
}

/* A report and the buffers holding its arrays. */
typedef struct rp_report {
    pg_report pub; /* first: a pg_report * is an rp_report * */
    pg_buf cells;
    pg_buf subtotals;
} rp_report;

void pg_report_free(pg_report *r)
{
    if (!r)
        return;
    rp_report *rr = (rp_report *)r;
    for (size_t i = 0; i < r->ncells; i++)
        free(r->cells[i].key);
    pg_buf_dispose(&rr->cells);
    pg_buf_dispose(&rr->subtotals);
    free(rr);
}

/* Append a cell (and add it to its group's subtotal and the total). */
static int report_add(pg_report *r, const char *group, const char *key,
                      const pg_report_stats *st)
{
    rp_report *rr = (rp_report *)r;
    pg_report_cell c;
    memset(&c, 0, sizeof(c));
    memcpy(c.group, group, PG_CODE_LEN + 1);
    if (!(c.key = strdup(key ? key : "")))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    c.stats = *st;
    int error = pg_buf_put(&rr->cells, &c, sizeof(c));
    if (error < 0) {
        free(c.key);
        return error;
    }
    r->cells = (pg_report_cell *)(void *)rr->cells.data;
    r->ncells++;
    if (!r->nsubtotals ||
        strcmp(r->subtotals[r->nsubtotals - 1].group, group) != 0) {
        pg_report_cell sub;
        memset(&sub, 0, sizeof(sub));
        memcpy(sub.group, group, PG_CODE_LEN + 1);
        if ((error = pg_buf_put(&rr->subtotals, &sub, sizeof(sub))) < 0)
            return error;
        r->subtotals = (pg_report_cell *)(void *)rr->subtotals.data;
        r->nsubtotals++;
    }
    stats_add(&r->subtotals[r->nsubtotals - 1].stats, st);
    stats_add(&r->total, st);
    return 0;
}

static int report_rows(pg_report *r, sqlite3 *db, sqlite3_stmt *q, bool stats)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        pg_report_stats st = {0};
        if (stats) {
            st.count = sqlite3_column_int64(q, 2);
            st.overdue = sqlite3_column_int64(q, 3);
            st.amount = sqlite3_column_double(q, 4);
            if (st.count == 0 && st.overdue == 0 && st.amount == 0)
                continue;
        } else {
            stats_read(&st, q, 2);
        }
        const char *g = (const char *)sqlite3_column_text(q, 0);
        const char *k = (const char *)sqlite3_column_text(q, 1);
        int error = report_add(r, g ? g : "", k, &st);
        if (error < 0)
            return error;
    }
    return rc == SQLITE_DONE ? 0 : pg_store__error(db, rc, "counting records");
}

static const char *key_expr(const rp_spec *s, pg_report_by by, char *buf,
                            size_t cap, const char *division_col)
{
    switch (by) {
    case PG_REPORT_BY_DIVISION:
        snprintf(buf, cap, "rp_division(%s)", division_col);
        return buf;
    case PG_REPORT_BY_STATUS:
        if (!s->status)
            return "NULL";
        snprintf(buf, cap, "\"%s\"", s->status);
        return buf;
    case PG_REPORT_BY_CATEGORY:
        snprintf(buf, cap, "\"%s\"", s->category);
        return buf;
    case PG_REPORT_BY_MONTH:
        return "rp_month(t)";
    }
    return "NULL";
}

static bool holds_collection(const pg_node *node, const pg_collection *coll)
{
    return coll->cap == PG_TIER_NONE || pg_node_tier(node) >= coll->cap;
}

static int report_from_records(pg_report *r, rp_ctx *c, const rp_spec *s,
                               const pg_report_query *q)
{
    sqlite3 *db = c->node->db;
    pg_buf sql;
    char kb[128];
    pg_buf_init(&sql, PG_BUF_DEFAULT_MAX);
    int e = pg_buf_printf(&sql, "SELECT g, k");
    /* The measures name the table's columns; wrap them over a subquery
     * that adds g, k and t. */
    if (!e)
        e = sql_measures(&sql, s);
    if (!e)
        e = pg_buf_puts(&sql, " FROM (SELECT *, rp_group(division) AS g, ");
    if (!e) {
        /* k may use t: compute t in an inner query. */
        e = pg_buf_printf(&sql, "%s AS k FROM (SELECT *, ",
                          key_expr(s, q->by, kb, sizeof(kb), "division"));
    }
    if (!e)
        e = sql_time(&sql, s);
    if (!e)
        e = pg_buf_printf(&sql,
                          " AS t FROM \"%s\" WHERE _deleted = 0)) WHERE g IS "
                          "NOT NULL AND t >= ?1 AND t < ?2 GROUP BY g, k "
                          "ORDER BY g, k",
                          s->coll);
    if (e) {
        pg_buf_dispose(&sql);
        return e;
    }
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(db, (const char *)sql.data, (int)sql.len, &st, NULL);
    pg_buf_dispose(&sql);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "preparing a report");
    int64_t now = pg_time_now_ms();
    sqlite3_bind_int64(st, 1, q->since_ms);
    sqlite3_bind_int64(st, 2, q->until_ms);
    sqlite3_bind_int64(st, 3, q->until_ms < now ? q->until_ms : now);
    e = report_rows(r, db, st, false);
    sqlite3_finalize(st);
    return e;
}

/* The daily statistics of the latest day published before q->until, one
 * publisher per subject division resolved (a township's publication under
 * its old code and the county's under the new one are the same
 * division): the one of the highest tier (it counts its whole subtree). */
static int report_from_stats(pg_report *r, rp_ctx *c, const rp_spec *s,
                             const pg_report_query *q)
{
    sqlite3 *db = c->node->db;
    sqlite3_stmt *st = NULL;
    char ex[PG_EXCERPT_SIZE];
    if (q->since_ms != INT64_MIN)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "this node holds no %s records: the report "
                            "is read from the latest published daily "
                            "statistics, which --since cannot select",
                            s->coll);
    if (q->by == PG_REPORT_BY_MONTH)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "this node holds no %s records: published "
                            "daily statistics cannot be grouped by "
                            "month",
                            s->coll);
    int rc = sqlite3_prepare_v2(
        db,
        "SELECT MAX(stat_date) FROM daily_stats WHERE _deleted = 0 AND "
        "collection = ?1 AND stat_date < ?2 AND "
        "rp_division(subject_division) IS NOT NULL",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "reading the daily statistics");
    sqlite3_bind_text(st, 1, s->coll, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, q->until_ms);
    rc = sqlite3_step(st);
    bool found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    int64_t date = found ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return pg_store__error(db, rc, "reading the daily statistics");
    if (!found)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_SCHEMA,
                            "this node (%s) holds no %s records (they "
                            "stay at the %s and below) and no daily "
                            "statistics of them have been published "
                            "to it yet",
                            pg_excerpt(ex, c->code, PG_CODE_LEN), s->coll,
                            pg_tier_name(r->coll->cap));
    r->from_stats = true;
    r->stats_date_ms = date;

    char kb[128], sqlbuf[1024];
    const char *k;
    switch (q->by) {
    case PG_REPORT_BY_STATUS:
        k = "status";
        break;
    case PG_REPORT_BY_CATEGORY:
        k = "category";
        break;
    default:
        k = key_expr(s, q->by, kb, sizeof(kb), "subject_division");
    }
    snprintf(
        sqlbuf, sizeof(sqlbuf),
        "WITH s AS (SELECT *, rp_division(subject_division) AS rs FROM "
        "daily_stats WHERE _deleted = 0 AND collection = ?1 AND "
        "stat_date = ?2 AND rp_division(subject_division) IS NOT NULL) "
        "SELECT rp_group(subject_division) AS g, %s AS k, "
        "TOTAL(record_count), TOTAL(overdue_count), TOTAL(amount) "
        "FROM s WHERE rp_tier(division) = (SELECT MIN(rp_tier(x.division)) "
        "FROM s AS x WHERE x.rs = s.rs) "
        "GROUP BY g, k ORDER BY g, k",
        k);
    rc = sqlite3_prepare_v2(db, sqlbuf, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "reading the daily statistics");
    sqlite3_bind_text(st, 1, s->coll, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, date);
    int error = report_rows(r, db, st, true);
    sqlite3_finalize(st);
    return error;
}

static int reported_collection(const pg_collection **coll, const rp_spec **s,
                               const pg_node *node, const char *name)
{
    char ex[PG_EXCERPT_SIZE];
    *coll = name ? pg_schema_collection(pg_node_schema(node), name) : NULL;
    *s = *coll ? spec_find(name) : NULL;
    if (!*s)
        return pg_error_set(
            PG_EINVALID, PG_ERRCLASS_SCHEMA,
            "'%s' is not a reported collection; "
            "'pingan schema' lists them (system "
            "collections and daily_stats are not "
            "reported)",
            pg_excerpt(ex, name ? name : "", name ? strlen(name) : 0));
    return 0;
}

int pg_report_run(pg_report **out, pg_node *node, const pg_report_query *q)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(q);
    const pg_collection *coll;
    const rp_spec *s;
    int error;

    *out = NULL;
    if ((error = reported_collection(&coll, &s, node, q->collection)) < 0)
        return error;
    if ((unsigned)q->by > PG_REPORT_BY_MONTH)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "unknown grouping %d", (int)q->by);
    if (q->since_ms >= q->until_ms)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "--since must be before --until: the range "
                            "is empty");
    rp_report *rr = calloc(1, sizeof(*rr));
    if (!rr)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    pg_buf_init(&rr->cells, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&rr->subtotals, PG_BUF_DEFAULT_MAX);
    pg_report *r = &rr->pub;
    r->coll = coll;
    r->by = q->by;
    memcpy(r->node_code, pg_node_code(node), PG_CODE_LEN + 1);
    r->category_field = s->category;
    r->rate_name = rate_name(s->rate);
    r->rate2_name = s->rate2 ? "closed_on_time" : NULL;

    rp_ctx c;
    if ((error = ctx_init(&c, node)) < 0) {
        pg_report_free(r);
        return error;
    }
    if (holds_collection(node, coll)) {
        r->measures = spec_measures(s);
        error = report_from_records(r, &c, s, q);
    } else {
        r->measures =
            spec_measures(s) & (PG_REPORT_M_OVERDUE | PG_REPORT_M_AMOUNT);
        r->rate_name = r->rate2_name = NULL;
        error = report_from_stats(r, &c, s, q);
    }
    ctx_dispose(&c);
    if (error < 0) {
        pg_report_free(r);
        return error;
    }
    *out = r;
    return 0;
}

/* ---- publishing -------------------------------------------------------- */

typedef struct pub_row {
    const rp_spec *spec;
    char subject[PG_CODE_LEN + 1];
    char *category; /* NULL: unset */
    char *status;
    int64_t count, overdue;
    double amount;
    char id[PG_RECORD_ID_LEN + 1]; /* existing record, "" when new */
    bool seen;                     /* counted now */
    bool had_overdue, had_amount;  /* existing record's fields set */
} pub_row;

typedef struct pub_set {
    pg_buf buf; /* pub_row[] */
    pub_row *rows;
    size_t n;
} pub_set;

static void pub_dispose(pub_set *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->rows[i].category);
        free(p->rows[i].status);
    }
    pg_buf_dispose(&p->buf);
}

static bool opt_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static pub_row *pub_find(pub_set *p, const rp_spec *s, const char *subject,
                         const char *category, const char *status)
{
    for (size_t i = 0; i < p->n; i++) {
        pub_row *r = &p->rows[i];
        if (r->spec == s && strcmp(r->subject, subject) == 0 &&
            opt_eq(r->category, category) && opt_eq(r->status, status))
            return r;
    }
    return NULL;
}

static char *dup_opt(const unsigned char *s)
{
    return s ? strdup((const char *)s) : NULL;
}

static pub_row *pub_add(pub_set *p, const rp_spec *s, const char *subject,
                        const unsigned char *category,
                        const unsigned char *status)
{
    pub_row row;
    memset(&row, 0, sizeof(row));
    if (pg_buf_put(&p->buf, &row, sizeof(row)) < 0)
        return NULL;
    p->rows = (pub_row *)(void *)p->buf.data;
    pub_row *r = &p->rows[p->n];
    r->spec = s;
    memcpy(r->subject, subject, PG_CODE_LEN + 1);
    r->category = dup_opt(category);
    r->status = dup_opt(status);
    p->n++;
    if ((category && !r->category) || (status && !r->status))
        return NULL;
    return r;
}

/* The records published before for this day, by this node. */
static int pub_load_existing(pub_set *p, pg_node *node, int64_t date)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        node->db,
        "SELECT id, collection, subject_division, category, status, "
        "overdue_count, amount FROM daily_stats WHERE _deleted = 0 AND "
        "division = ?1 AND stat_date = ?2 ORDER BY id",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the daily statistics");
    sqlite3_bind_text(st, 1, pg_node_code(node), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, date);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *coll = (const char *)sqlite3_column_text(st, 1);
        const char *subj = (const char *)sqlite3_column_text(st, 2);
        const rp_spec *s = coll ? spec_find(coll) : NULL;
        if (!s || !subj || !code_ok(subj, strlen(subj)))
            continue;
        const unsigned char *cat = sqlite3_column_text(st, 3);
        const unsigned char *sta = sqlite3_column_text(st, 4);
        /* A second record of one key (a copy from elsewhere, one come
         * back with a restore) is added too: pub_find() finds the first,
         * which carries the count, and the others, never seen, go to 0. */
        pub_row *r = pub_add(p, s, subj, cat, sta);
        if (!r) {
            sqlite3_finalize(st);
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        }
        snprintf(r->id, sizeof(r->id), "%s", sqlite3_column_text(st, 0));
        r->had_overdue = sqlite3_column_type(st, 5) != SQLITE_NULL;
        r->had_amount = sqlite3_column_type(st, 6) != SQLITE_NULL;
        r->count = -1; /* unknown until compared */
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(node->db, rc, "reading the daily statistics");
}

/* Count one collection into p (marks rows seen, with their values). */
static int pub_count(pub_set *p, rp_ctx *c, const rp_spec *s, int64_t end,
                     int64_t ref)
{
    sqlite3 *db = c->node->db;
    pg_buf sql;
    pg_buf_init(&sql, PG_BUF_DEFAULT_MAX);
    int e = pg_buf_puts(&sql, "SELECT d, cat, sta");
    if (!e)
        e = sql_measures(&sql, s);
    if (!e)
        e = pg_buf_printf(&sql,
                          " FROM (SELECT *, rp_division(division) AS d, "
                          "\"%s\" AS cat, %s%s%s AS sta, ",
                          s->category, s->status ? "\"" : "",
                          s->status ? s->status : "NULL",
                          s->status ? "\"" : "");
    if (!e)
        e = sql_time(&sql, s);
    if (!e)
        e = pg_buf_printf(&sql,
                          " AS t FROM \"%s\" WHERE _deleted = 0) WHERE d IS "
                          "NOT NULL AND t < ?2 GROUP BY d, cat, "
                          "sta ORDER BY d, cat, sta",
                          s->coll);
    if (e) {
        pg_buf_dispose(&sql);
        return e;
    }
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v2(db, (const char *)sql.data, (int)sql.len, &st, NULL);
    pg_buf_dispose(&sql);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "preparing the daily statistics");
    sqlite3_bind_int64(st, 2, end);
    sqlite3_bind_int64(st, 3, ref);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        const unsigned char *cat = sqlite3_column_text(st, 1);
        const unsigned char *sta = sqlite3_column_text(st, 2);
        pg_report_stats v;
        stats_read(&v, st, 3);
        pub_row *r = pub_find(p, s, d, (const char *)cat, (const char *)sta);
        if (!r && !(r = pub_add(p, s, d, cat, sta))) {
            sqlite3_finalize(st);
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        }
        r->seen = true;
        r->count = v.count;
        r->overdue = v.overdue;
        r->amount = v.amount;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(db, rc, "counting for the daily statistics");
}

/* An amount in whole cents (amounts are published to the cent). */
static int64_t cents(double yuan)
{
    double x = yuan * 100;
    return (int64_t)(x + (x >= 0 ? 0.5 : -0.5));
}

/* Does the stored record already hold these values? */
static int pub_unchanged(bool *same, pg_node *node, const pub_row *r)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db,
                                "SELECT record_count, overdue_count, amount "
                                "FROM daily_stats WHERE id = ?1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the daily statistics");
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    *same = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        bool od = r->spec->deadline != NULL, am = r->spec->amount != NULL;
        *same =
            sqlite3_column_int64(st, 0) == r->count &&
            (!od || (sqlite3_column_type(st, 1) != SQLITE_NULL &&
                     sqlite3_column_int64(st, 1) == r->overdue)) &&
            (!am || (sqlite3_column_type(st, 2) != SQLITE_NULL &&
                     cents(sqlite3_column_double(st, 2)) == cents(r->amount)));
    }
    sqlite3_finalize(st);
    return 0;
}

static pg_value v_text(const char *s)
{
    return (pg_value){.kind = PG_VALUE_TEXT, .s = s, .len = strlen(s)};
}

static pg_value v_int(int64_t i)
{
    return (pg_value){.kind = PG_VALUE_INT, .i = i};
}

static int pub_write(pg_report_publish_stats *out, pg_node *node,
                     const pg_collection *ds, pub_row *r, int64_t date,
                     const char *operator_name)
{
    pg_field_value v[9];
    size_t n = 0;
    if (!r->seen) {
        r->count = 0;
        r->overdue = 0;
        r->amount = 0;
    }
    if (r->id[0]) {
        bool same = false;
        int error = pub_unchanged(&same, node, r);
        if (error < 0)
            return error;
        if (same) {
            out->unchanged++;
            return 0;
        }
    } else {
        v[n++] = (pg_field_value){"division", v_text(pg_node_code(node))};
        v[n++] = (pg_field_value){"stat_date", v_int(date)};
        v[n++] = (pg_field_value){"collection", v_text(r->spec->coll)};
        v[n++] = (pg_field_value){"subject_division", v_text(r->subject)};
        if (r->category)
            v[n++] = (pg_field_value){"category", v_text(r->category)};
        if (r->status)
            v[n++] = (pg_field_value){"status", v_text(r->status)};
    }
    v[n++] = (pg_field_value){"record_count", v_int(r->count)};
    if (r->spec->deadline || r->had_overdue)
        v[n++] = (pg_field_value){"overdue_count", v_int(r->overdue)};
    if (r->spec->amount || r->had_amount)
        v[n++] = (pg_field_value){
            "amount",
            {.kind = PG_VALUE_REAL, .r = (double)cents(r->amount) / 100}};
    int error;
    if (r->id[0]) {
        if ((error = pg_write__update(node, ds, r->id, v, n, operator_name,
                                      NULL)) < 0)
            return error;
        out->updated++;
        if (!r->seen)
            out->zeroed++;
        return 0;
    }
    size_t idx[9];
    char division[PG_CODE_LEN + 1];
    if ((error = pg_write__validate(idx, division, node, ds, v, n, true)) < 0 ||
        (error = pg_write__create(r->id, node, ds, division, v, idx, n,
                                  operator_name)) < 0)
        return error;
    out->created++;
    return 0;
}

int pg_report_publish(pg_report_publish_stats *out, pg_node *node,
                      int64_t day_ms, const char *operator_name)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    pg_report_publish_stats res = {0};
    pub_set p = {PG_BUF_INIT, NULL, 0};
    rp_ctx c;
    bool began = false;
    int error;

    const pg_collection *ds = pg_write__collection(node, "daily_stats");
    if (!ds)
        return PG_EINVALID;
    if ((error = pg_write__check_operator(operator_name)) < 0)
        return error;
    int64_t date = pg_report_day_start(day_ms);
    int64_t end = date + DAY_MS, now = pg_time_now_ms();
    res.stat_date_ms = date;
    if ((error = ctx_init(&c, node)) < 0)
        return error;
    if ((error = pg_store__begin(node->db)) < 0)
        goto done;
    began = true;
    if ((error = pub_load_existing(&p, node, date)) < 0)
        goto done;
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const pg_collection *coll =
            pg_schema_collection(pg_node_schema(node), specs[i].coll);
        if (!coll || !holds_collection(node, coll))
            continue;
        if ((error = pub_count(&p, &c, &specs[i], end, end < now ? end : now)) <
            0)
            goto done;
    }
    for (size_t i = 0; i < p.n; i++)
        if ((error = pub_write(&res, node, ds, &p.rows[i], date,
                               operator_name)) < 0)
            goto done;
    error = pg_store__commit(node->db);

done:
    if (error < 0 && began)
        pg_store__rollback(node->db);
    ctx_dispose(&c);
    pub_dispose(&p);
    if (error >= 0)
        *out = res;
    return error < 0 ? error : 0;
}
