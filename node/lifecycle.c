/*
 * Lifecycles of the `status` fields (include/pingan/lifecycle.h).
 *
 * One static table per collection with a status: the initial states and,
 * per state, the states allowed next (staying put is always allowed).
 * State names are the schema v1 enum values (node/schema.c), which cannot
 * change; a test checks that every table names exactly those values.
 * Where DOMAIN.md and issue 8 disagree, the issue wins (DOMAIN.md says so
 * itself); where DOMAIN.md names a step the enum has no value for (回访,
 * 引导其他途径, 起草, 审核 ...) the step is folded into its neighbour.
 */
#include "pingan/lifecycle.h"
#include "i18n_internal.h"
#include "node_internal.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/record.h"
#include "pingan/changelog.h"
#include "pingan/hlc.h"

#include <stdlib.h>
#include <string.h>

#define NEXT(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE      ((const char *const[]){NULL})
#define STATE(s, final, ...)                                                   \
    {                                                                          \
        s, NEXT(__VA_ARGS__), final                                            \
    }
#define FINAL(s)                                                               \
    {                                                                          \
        s, NONE, true                                                          \
    }
#define LIFECYCLE(coll, src, init, st)                                         \
    {                                                                          \
        coll, src, init, st, sizeof(st) / sizeof(st[0])                        \
    }

/*
 * grid_event 网格事项 — DOMAIN.md §3.3 (recommended state machine, after
 * the Tianque 综治 platform) and issue 8 (上报 → 受理 → 派遣 → 处置 → 核查 →
 * 结案):
 *   上报 → 受理 | 不予受理
 *   受理 → 派遣 | 自办;  派遣 → 处置中 → 处置反馈 → 核查 → 结案
 *   自办 (handled at the grid) → 处置中 | 处置反馈
 *   核查不通过 → 处置中
 *   any open state after 受理 → 上报上级 (escalated) | 回退 (returned)
 *   上报上级 → 受理 | 派遣 | 不予受理 | 回退 (the upper tier takes it up)
 *   回退 → 受理 | 自办 | 派遣 | 处置中 | 上报上级 (the lower tier again)
 * Final: 结案, 不予受理.
 */
static const pg_lifecycle_state grid_states[] = {
    STATE("上报", false, "受理", "不予受理"),
    STATE("受理", false, "派遣", "自办", "上报上级", "回退"),
    STATE("自办", false, "处置中", "处置反馈", "上报上级", "回退"),
    STATE("派遣", false, "处置中", "上报上级", "回退"),
    STATE("处置中", false, "处置反馈", "上报上级", "回退"),
    STATE("处置反馈", false, "核查", "处置中", "上报上级", "回退"),
    STATE("核查", false, "结案", "处置中", "上报上级", "回退"),
    STATE("上报上级", false, "受理", "派遣", "不予受理", "回退"),
    STATE("回退", false, "受理", "自办", "派遣", "处置中", "上报上级"),
    FINAL("结案"),
    FINAL("不予受理"),
};

/*
 * hazard 风险隐患 — DOMAIN.md §3.1 (隐患排查治理 practice) and issue 8
 * (发现登记 → 核实 → 评估定级 → 整改 → 验收 → 销号):
 *   发现登记 → 核实 (→ 不属实) → 评估定级 → 整改中 | 管控中 → 验收 → 销号
 *   → 回头看复查; side exits 退回补充 (back to whoever registered it) and
 *   转办 (to another department or tier, which carries on).
 *   验收 not passed → 整改中 | 管控中; 回头看复查 → 销号 (fine) | 整改中
 *   (the hazard is back).
 * Final: 销号, 不属实, 回头看复查 (the hazard is closed; a review that
 * finds it again moves it back to 整改中).
 */
static const pg_lifecycle_state hazard_states[] = {
    STATE("发现登记", false, "核实", "不属实", "退回补充", "转办"),
    STATE("核实", false, "评估定级", "不属实", "退回补充", "转办"),
    STATE("评估定级", false, "整改中", "管控中", "退回补充", "转办"),
    STATE("整改中", false, "验收", "管控中", "转办"),
    STATE("管控中", false, "整改中", "验收", "转办"),
    STATE("验收", false, "销号", "整改中", "管控中"),
    STATE("销号", true, "回头看复查"),
    STATE("回头看复查", true, "销号", "整改中"),
    FINAL("不属实"),
    STATE("退回补充", false, "发现登记", "核实", "不属实"),
    STATE("转办", false, "核实", "评估定级", "整改中", "管控中", "退回补充"),
};

/*
 * dispute 矛盾纠纷 — DOMAIN.md §3.2 and issue 8 (登记受理 → 调解中 →
 * 达成协议/调解不成 → 结案):
 *   登记受理 → 分流指派 → 调解中 (→ 中止 → 调解中) → 达成协议 → 履行中
 *   → 结案;  调解中 → 调解不成 → 结案 | 终结 (guided to litigation,
 *   arbitration ...).  登记受理, 分流指派, 调解中, 中止 → 终结 (withdrawn,
 *   not mediable); 达成协议 → 结案 directly (an oral agreement performed
 *   on the spot); 履行中 → 调解不成 (the agreement is not performed).
 * Final: 结案, 终结.
 */
static const pg_lifecycle_state dispute_states[] = {
    STATE("登记受理", false, "分流指派", "调解中", "终结"),
    STATE("分流指派", false, "调解中", "终结"),
    STATE("调解中", false, "中止", "达成协议", "调解不成", "终结"),
    STATE("中止", false, "调解中", "终结"),
    STATE("达成协议", false, "履行中", "结案"),
    STATE("履行中", false, "结案", "调解不成"),
    STATE("调解不成", false, "结案", "终结"),
    FINAL("结案"),
    FINAL("终结"),
};

/*
 * supervision 督办/督导 — issue 8 (issued → acknowledged → rectifying →
 * rectified → verified) on the enum of node/schema.c; DOMAIN.md §3.5 adds
 * 取消督办 (已撤销) from any open state, and a rectification the issuer
 * does not accept goes back to 整改中.
 * Final: 已核验, 已撤销.
 */
static const pg_lifecycle_state supervision_states[] = {
    STATE("已下达", false, "已签收", "已撤销"),
    STATE("已签收", false, "整改中", "已撤销"),
    STATE("整改中", false, "已整改", "已撤销"),
    STATE("已整改", false, "已核验", "整改中", "已撤销"),
    FINAL("已核验"),
    FINAL("已撤销"),
};

/*
 * volunteer 平安志愿者 — DOMAIN.md §3.6 gives a status but no machine; the
 * enum's order: 待审核 (applied) → 正常 (approved) ⇄ 暂停 → 已注销.  Staff
 * registering a volunteer on the spot may start at 正常.
 * Final: 已注销.
 */
static const pg_lifecycle_state volunteer_states[] = {
    STATE("待审核", false, "正常", "已注销"),
    STATE("正常", false, "暂停", "已注销"),
    STATE("暂停", false, "正常", "已注销"),
    FINAL("已注销"),
};

/*
 * fraud_alert 电诈预警 — DOMAIN.md §3.7 (预警/劝阻任务 dispatched with a
 * deadline of minutes to hours, then an outcome) on the enum's order:
 *   已下发 → 已签收 → 处置中 → 已反馈 → 已办结;  已下发 → 处置中 (minutes
 *   count: the station acts before signing), 已签收 → 已反馈 (nothing to
 *   do: 误报), 已反馈 → 处置中 (sent back).
 * Final: 已办结.
 */
static const pg_lifecycle_state fraud_states[] = {
    STATE("已下发", false, "已签收", "处置中"),
    STATE("已签收", false, "处置中", "已反馈"),
    STATE("处置中", false, "已反馈"),
    STATE("已反馈", false, "已办结", "处置中"),
    FINAL("已办结"),
};

/*
 * drill 应急演练 — DOMAIN.md §3.8: 计划 → 审批 → 实施 → 总结评估 → 整改 →
 * 归档; an evaluation with nothing to fix is archived at once, a plan not
 * approved goes back to 计划.
 * Final: 归档.
 */
static const pg_lifecycle_state drill_states[] = {
    STATE("计划", false, "审批"),     STATE("审批", false, "实施", "计划"),
    STATE("实施", false, "总结评估"), STATE("总结评估", false, "整改", "归档"),
    STATE("整改", false, "归档"),     FINAL("归档"),
};

static const pg_lifecycle lifecycles[] = {
    LIFECYCLE("hazard", "DOMAIN.md §3.1; issue 8", NEXT("发现登记"),
              hazard_states),
    LIFECYCLE("dispute", "DOMAIN.md §3.2; issue 8", NEXT("登记受理"),
              dispute_states),
    LIFECYCLE("grid_event", "DOMAIN.md §3.3; issue 8", NEXT("上报"),
              grid_states),
    LIFECYCLE("supervision", "DOMAIN.md §3.5; issue 8", NEXT("已下达"),
              supervision_states),
    LIFECYCLE("volunteer", "DOMAIN.md §3.6", NEXT("待审核", "正常"),
              volunteer_states),
    LIFECYCLE("fraud_alert", "DOMAIN.md §3.7", NEXT("已下发"), fraud_states),
    LIFECYCLE("drill", "DOMAIN.md §3.8", NEXT("计划"), drill_states),
};

enum { NLIFECYCLES = sizeof(lifecycles) / sizeof(lifecycles[0]) };

static const pg_lifecycle *const lifecycle_list[NLIFECYCLES] = {
    &lifecycles[0], &lifecycles[1], &lifecycles[2], &lifecycles[3],
    &lifecycles[4], &lifecycles[5], &lifecycles[6],
};

const pg_lifecycle *pg_lifecycle_get(const char *collection)
{
    for (size_t i = 0; collection && i < NLIFECYCLES; i++)
        if (strcmp(lifecycles[i].collection, collection) == 0)
            return &lifecycles[i];
    return NULL;
}

const pg_lifecycle *const *pg_lifecycle_all(size_t *n)
{
    *n = NLIFECYCLES;
    return lifecycle_list;
}

const pg_lifecycle_state *pg_lifecycle_state_get(const pg_lifecycle *lc,
                                                 const char *state)
{
    for (size_t i = 0; state && i < lc->nstates; i++)
        if (strcmp(lc->states[i].state, state) == 0)
            return &lc->states[i];
    return NULL;
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

bool pg_lifecycle_is_initial(const pg_lifecycle *lc, const char *state)
{
    return state && in_list(lc->initial, state);
}

bool pg_lifecycle_is_final(const pg_lifecycle *lc, const char *state)
{
    const pg_lifecycle_state *st = pg_lifecycle_state_get(lc, state);
    return st && st->final;
}

bool pg_lifecycle_allows(const pg_lifecycle *lc, const char *from,
                         const char *to)
{
    if (!from)
        return !to || pg_lifecycle_is_initial(lc, to);
    if (!to)
        return false;
    if (strcmp(from, to) == 0)
        return true;
    const pg_lifecycle_state *st = pg_lifecycle_state_get(lc, from);
    return st && in_list(st->next, to);
}

static void join_list(char *out, size_t cap, const char *const *list)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; list[i] && len < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", list[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    if (!list[0])
        snprintf(out, cap, "%s", PG_("none (a final state)"));
}

int pg_lifecycle_check_step(const pg_lifecycle *lc, const char *record_id,
                            const char *from, const char *to)
{
    char allowed[256];

    if (pg_lifecycle_allows(lc, from, to))
        return 0;
    if (!from) {
        join_list(allowed, sizeof(allowed), lc->initial);
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "a new %s record cannot start in status %s; "
                            "allowed initial: %s",
                            lc->collection, to, allowed);
    }
    const pg_lifecycle_state *st = pg_lifecycle_state_get(lc, from);
    join_list(allowed, sizeof(allowed), st ? st->next : lc->initial);
    if (!to)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "status %s of %s record %s cannot be "
                            "cleared; allowed next: %s",
                            from, lc->collection, record_id ? record_id : "",
                            allowed);
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "status %s → %s is not allowed for %s %s; "
                        "allowed next: %s",
                        from, to, lc->collection, record_id ? record_id : "",
                        allowed);
}

int pg_lifecycle_path(const char **out, size_t *n, size_t cap,
                      const pg_lifecycle *lc, const char *from, const char *to)
{
    /* Breadth-first over the states; prev[] holds each state's
     * predecessor (nstates: the start). */
    size_t ns = lc->nstates, prev[32], queue[32], head = 0, tail = 0;
    bool seen[32] = {false};

    *n = 0;
    if (ns > 32)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                            "lifecycle too large");
    if (from && to && strcmp(from, to) == 0)
        return 0;
    for (size_t i = 0; i < ns; i++) {
        const char *s = lc->states[i].state;
        bool start =
            from ? pg_lifecycle_allows(lc, from, s) && strcmp(from, s) != 0
                 : pg_lifecycle_is_initial(lc, s);
        if (start) {
            seen[i] = true;
            prev[i] = ns;
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        size_t i = queue[head++];
        if (strcmp(lc->states[i].state, to) == 0) {
            size_t len = 0;
            for (size_t j = i; j != ns; j = prev[j])
                len++;
            if (len > cap)
                return pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                                    "path of %zu steps", len);
            *n = len;
            for (size_t j = i; j != ns; j = prev[j])
                out[--len] = lc->states[j].state;
            return 0;
        }
        for (const char *const *nx = lc->states[i].next; *nx; nx++) {
            for (size_t k = 0; k < ns; k++)
                if (!seen[k] && strcmp(lc->states[k].state, *nx) == 0) {
                    seen[k] = true;
                    prev[k] = i;
                    queue[tail++] = k;
                }
        }
    }
    return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_INVALID,
                        "status %s cannot be reached in %s", to,
                        lc->collection);
}

/* --- the log's status histories --------------------------------------- */

typedef struct step {
    size_t lc; /* index into lifecycles[] */
    char *record_id;
    char *to; /* NULL: cleared */
    pg_version version;
    bool resolution;
    char *operator_name;
    uint64_t origin_seq;
} step;

typedef struct check_ctx {
    const pg_lifecycle *only;
    pg_buf steps; /* step[] */
    int error;
} check_ctx;

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int collect(const pg_log_entry *e, void *payload)
{
    check_ctx *c = payload;
    const pg_txn *txn = e->txn;
    const pg_lifecycle *lc = pg_lifecycle_get(txn->collection);

    if (!lc || (c->only && c->only != lc))
        return 0;
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *ch = &txn->changes[i];
        if (strcmp(ch->field, "status") != 0 ||
            (ch->form != PG_CHANGE_WHOLE && ch->form != PG_CHANGE_SALTED))
            continue;
        if (ch->value.kind != PG_VALUE_ABSENT &&
            ch->value.kind != PG_VALUE_TEXT)
            continue;
        step add;
        memset(&add, 0, sizeof(add));
        if ((c->error = pg_buf_put(&c->steps, &add, sizeof(add))) < 0)
            return c->error;
        step *s = (step *)(c->steps.data + c->steps.len - sizeof(step));
        s->lc = (size_t)(lc - lifecycles);
        s->record_id = strdup(ch->record_id);
        s->to = ch->value.kind == PG_VALUE_TEXT
                    ? dup_n(ch->value.s, ch->value.len)
                    : NULL;
        s->operator_name = strdup(txn->operator_name ? txn->operator_name : "");
        s->version.hlc = txn->hlc;
        memcpy(s->version.origin, txn->origin, sizeof(s->version.origin));
        s->resolution = !pg_version_is_zero(&ch->merged);
        s->origin_seq = txn->seq;
        if (!s->record_id || !s->operator_name ||
            (ch->value.kind == PG_VALUE_TEXT && !s->to))
            return c->error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                           "out of memory");
    }
    return 0;
}

static int step_cmp(const void *a, const void *b)
{
    const step *x = a, *y = b;
    if (x->lc != y->lc)
        return x->lc < y->lc ? -1 : 1;
    int r = strcmp(x->record_id, y->record_id);
    return r ? r : pg_version_cmp(&x->version, &y->version);
}

static void copy_state(char out[PG_LIFECYCLE_STATE_MAX + 1], const char *s)
{
    snprintf(out, PG_LIFECYCLE_STATE_MAX + 1, "%s", s ? s : "");
}

int pg_lifecycle_check(pg_node *node, const char *collection,
                       pg_lifecycle_finding_cb cb, void *payload,
                       uint64_t *count_out)
{
    check_ctx c = {.only = NULL};
    uint64_t count = 0;
    int error = 0;

    if (count_out)
        *count_out = 0;
    if (collection && !(c.only = pg_lifecycle_get(collection))) {
        char ex[PG_EXCERPT_SIZE];
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                            "collection '%s' has no lifecycle; these "
                            "have one: hazard, dispute, grid_event, "
                            "supervision, volunteer, fraud_alert, drill",
                            pg_excerpt(ex, collection, strlen(collection)));
    }
    pg_buf_init(&c.steps, SIZE_MAX / 2);
    error = pg_log_list(node, 0, 0, collect, &c);
    if (c.error < 0)
        error = c.error;
    if (error)
        goto done;
    step *steps = (step *)c.steps.data;
    size_t nsteps = c.steps.len / sizeof(step);
    if (nsteps)
        qsort(steps, nsteps, sizeof(*steps), step_cmp);
    const char *state = NULL;
    for (size_t i = 0; i < nsteps; i++) {
        const step *s = &steps[i];
        const pg_lifecycle *lc = &lifecycles[s->lc];
        if (i == 0 || s->lc != steps[i - 1].lc ||
            strcmp(s->record_id, steps[i - 1].record_id) != 0)
            state = NULL;
        if (!s->resolution && !pg_lifecycle_allows(lc, state, s->to)) {
            pg_lifecycle_finding f;
            memset(&f, 0, sizeof(f));
            f.collection = lc->collection;
            snprintf(f.record_id, sizeof(f.record_id), "%s", s->record_id);
            copy_state(f.from, state);
            copy_state(f.to, s->to);
            f.version = s->version;
            f.at_ms = PG_HLC_MS(s->version.hlc);
            snprintf(f.operator_name, sizeof(f.operator_name), "%s",
                     s->operator_name);
            f.origin_seq = s->origin_seq;
            count++;
            if (cb && (error = cb(&f, payload)) != 0)
                goto done;
        }
        state = s->to;
    }
    if (count_out)
        *count_out = count;

done:
    for (size_t i = 0; i < c.steps.len / sizeof(step); i++) {
        step *s = (step *)c.steps.data + i;
        free(s->record_id);
        free(s->to);
        free(s->operator_name);
    }
    pg_buf_dispose(&c.steps);
    return error;
}

/* --- deadlines -------------------------------------------------------- */

static const char *const level_names[] = {"普通督办", "黄牌督办", "红牌督办"};

const char *pg_overdue_level_name(pg_overdue_level level)
{
    return (unsigned)level <= PG_OVERDUE_RED ? level_names[level] : "";
}

typedef struct overdue_src {
    const char *collection;
    const char *deadline;
    const char *start;
    const char *level; /* NULL: none on the record */
    const char *subject[2];
} overdue_src;

static const overdue_src overdue_srcs[] = {
    {"supervision", "deadline", "issued_at", "level", {"kind", "target_unit"}},
    {"hazard",
     "rectify_deadline",
     "discovered_at",
     NULL,
     {"category", "subcategory"}},
};

typedef struct overdue_ctx {
    const overdue_src *src;
    const pg_lifecycle *lc;
    const char *code;
    int64_t now;
    pg_buf items; /* pg_overdue_item[] */
} overdue_ctx;

static const pg_value *field_value(const pg_record *rec, const char *name)
{
    size_t i;
    if (!name || !pg_collection_field(rec->coll, name, &i) || i >= rec->nvalues)
        return NULL;
    return &rec->values[i];
}

static void text_of(char *out, size_t cap, const pg_value *v)
{
    out[0] = 0;
    if (v && v->kind == PG_VALUE_TEXT)
        snprintf(out, cap, "%.*s", (int)v->len, v->s);
}

static int64_t time_of(const pg_value *v)
{
    return v && v->kind == PG_VALUE_INT ? v->i : 0;
}

static int overdue_add(const pg_record *rec, void *payload)
{
    overdue_ctx *c = payload;
    const pg_value *div = &rec->values[0];
    char division[PG_CODE_LEN + 1], status[PG_LIFECYCLE_STATE_MAX + 1];

    text_of(division, sizeof(division), div);
    if (!pg_division_contains(c->code, division))
        return 0;
    int64_t deadline = time_of(field_value(rec, c->src->deadline));
    if (!deadline || deadline >= c->now)
        return 0;
    text_of(status, sizeof(status), field_value(rec, "status"));
    if (status[0] && pg_lifecycle_is_final(c->lc, status))
        return 0;
    pg_overdue_item add;
    int error;
    memset(&add, 0, sizeof(add));
    if ((error = pg_buf_put(&c->items, &add, sizeof(add))) < 0)
        return error;
    pg_overdue_item *it =
        (pg_overdue_item *)(c->items.data + c->items.len - sizeof(add));
    it->collection = c->src->collection;
    snprintf(it->record_id, sizeof(it->record_id), "%s", rec->id);
    memcpy(it->division, division, sizeof(it->division));
    memcpy(it->status, status, sizeof(it->status));
    char a[128], b[128];
    text_of(a, sizeof(a), field_value(rec, c->src->subject[0]));
    text_of(b, sizeof(b), field_value(rec, c->src->subject[1]));
    snprintf(it->subject, sizeof(it->subject), "%s%s%s", a,
             a[0] && b[0] ? " " : "", b);
    it->start_ms = time_of(field_value(rec, c->src->start));
    it->deadline_ms = deadline;
    it->overdue_ms = c->now - deadline;
    it->limit_ms = it->start_ms && it->start_ms < deadline
                       ? deadline - it->start_ms
                       : PG_OVERDUE_DEFAULT_LIMIT_MS;
    it->level = it->overdue_ms > it->limit_ms          ? PG_OVERDUE_RED
                : it->overdue_ms >= 24LL * 3600 * 1000 ? PG_OVERDUE_YELLOW
                                                       : PG_OVERDUE_NORMAL;
    char set[64];
    text_of(set, sizeof(set), field_value(rec, c->src->level));
    for (int l = PG_OVERDUE_RED; l > (int)it->level; l--)
        if (strcmp(set, level_names[l]) == 0) {
            it->level = (pg_overdue_level)l;
            it->level_from_record = true;
        }
    return 0;
}

static int overdue_cmp(const void *a, const void *b)
{
    const pg_overdue_item *x = a, *y = b;
    if (x->overdue_ms != y->overdue_ms)
        return x->overdue_ms > y->overdue_ms ? -1 : 1;
    int r = strcmp(x->collection, y->collection);
    return r ? r : strcmp(x->record_id, y->record_id);
}

int pg_overdue_list(pg_overdue_item **out, size_t *n, pg_node *node,
                    int64_t now_ms)
{
    overdue_ctx c = {.code = pg_node_code(node), .now = now_ms};
    int error = 0;

    *out = NULL;
    *n = 0;
    pg_buf_init(&c.items, SIZE_MAX / 2);
    for (size_t i = 0; i < sizeof(overdue_srcs) / sizeof(overdue_srcs[0]);
         i++) {
        c.src = &overdue_srcs[i];
        c.lc = pg_lifecycle_get(c.src->collection);
        if ((error = pg_record_list(node, c.src->collection, NULL, 0, 0, false,
                                    overdue_add, &c)) != 0) {
            pg_buf_dispose(&c.items);
            return error;
        }
    }
    size_t count = c.items.len / sizeof(pg_overdue_item);
    if (count)
        qsort(c.items.data, count, sizeof(pg_overdue_item), overdue_cmp);
    *out = (pg_overdue_item *)c.items.data; /* the caller frees it */
    *n = count;
    return 0;
}
