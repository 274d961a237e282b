/*
 * What the nodes write in a simulated day (DOMAIN.md §6.5, weekday
 * rates per node, scaled by the day of the week):
 *
 * | per node and day | village          | township | county | city | partner |
 * |------------------|------------------|----------|--------|------|---------|
 * | grid_event       | 2 urban, 0.5 rural| 1       | 5      | 5    |         |
 * | volunteer        | 2 (10% new)      | 0.5      | 1      | 1    |         |
 * | key_person       | 0.4 (20% new)    | 0.2      | 1      |      |         |
 * | dispute          | 0.04             | 0.15     | 0.5    | 0.2  | 0.5     |
 * | hazard           | 0.02             | 0.1      | 1      | 0.5  |         |
 * | supervision      |                  | 0.05     | 1.5    | 2    |         |
 * | fraud_alert      | 0.03             |          | 3      | 10   | 10      |
 * | drill            | 0.002            | 0.01     | 0.03   | 0.03 |         |
 *
 * That is about 3,500 records a day for the whole city, as DOMAIN.md
 * estimates.  Updates of key persons (visits) change `whereabouts`; points
 * are increments of a volunteer's counter.  Records written above the
 * village tier are placed in a village of the writer's jurisdiction (a
 * county's supervision order goes to the community it supervises), so
 * they travel down as well as up.
 *
 * Concurrent edits: each round, pairs of nodes on one record's path change
 * the same field before either has seen the other's change.
 */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pingan/error.h"
#include "pingan/lifecycle.h"
#include "pingan/schema.h"
#include "pingan/value.h"

/* ---- random numbers ------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed, const char *stream)
{
    uint64_t h = 1469598103934665603u ^ seed;
    for (const char *p = stream; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211u;
    r->s = h;
    splitmix(&r->s);
}

uint64_t sim_rng_next(sim_rng *r)
{
    return splitmix(&r->s);
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    return n ? sim_rng_next(r) % n : 0;
}

double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) / 9007199254740992.0;
}

unsigned sim_rng_poisson(sim_rng *r, double mean)
{
    /* Knuth's method for the small means of a round; a normal
     * approximation above 30, where exp(-mean) would lose precision. */
    double limit = exp(-mean), p = 1.0;
    unsigned k = 0;

    if (mean <= 0)
        return 0;
    if (mean > 30) {
        double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
        double z = sqrt(-2 * log(u1 > 0 ? u1 : 1e-300)) * cos(6.283185307 * u2);
        double x = mean + sqrt(mean) * z + 0.5;
        return x < 0 ? 0 : (unsigned)x;
    }
    do {
        k++;
        p *= sim_rng_unit(r);
    } while (p > limit && k < 10000);
    return k - 1;
}

/* ---- volumes -------------------------------------------------------- */

typedef struct rate {
    const char *collection;
    double urban, rural, township, county, city, partner;
    double share_new; /* of writes: new records; the rest update one */
} rate;

static const rate rates[] = {
    {"grid_event", 2, 0.5, 1, 5, 5, 0, 1},
    {"volunteer", 2, 2, 0.5, 1, 1, 0, 0.1},
    {"key_person", 0.4, 0.4, 0.2, 1, 0, 0, 0.2},
    {"dispute", 0.04, 0.04, 0.15, 0.5, 0.2, 0.5, 1},
    {"hazard", 0.02, 0.02, 0.1, 1, 0.5, 0, 1},
    {"supervision", 0, 0, 0.05, 1.5, 2, 0, 1},
    {"fraud_alert", 0.03, 0.03, 0, 3, 10, 10, 1},
    {"drill", 0.002, 0.002, 0.01, 0.03, 0.03, 0, 1},
};

static double rate_for(const rate *r, const sim_node *n)
{
    if (n->partner)
        return r->partner;
    switch (n->tier) {
    case PG_TIER_CITY:
        return r->city;
    case PG_TIER_COUNTY:
        return r->county;
    case PG_TIER_TOWNSHIP:
        return r->township;
    default:
        return n->urban ? r->urban : r->rural;
    }
}

/* Weekdays x1, Saturday x0.5, Sunday x0.35 (DOMAIN.md §6.5).  Day 0 is
 * Monday 2026-11-23. */
static double weekday_factor(unsigned day)
{
    unsigned wd = day % 7; /* 0 = Monday */
    return wd == 5 ? 0.5 : wd == 6 ? 0.35 : 1.0;
}

/* ---- records -------------------------------------------------------- */

sim_record *sim_record_add(sim_world *w)
{
    sim_record *r = sim_push(&w->records_buf, sizeof(*r));

    if (!r)
        return NULL;
    w->records = (sim_record *)w->records_buf.data;
    w->nrecords++;
    r->at_city = -1;
    r->bound = -1;
    return r;
}

static int own_add(sim_node *n, size_t rec)
{
    size_t *slot = sim_push(&n->own, sizeof(*slot));

    if (!slot)
        return -1;
    *slot = rec;
    return 0;
}

/* A village inside node @p i's jurisdiction, at random (the node itself
 * when it has none below it). */
static int random_village(sim_world *w, int i)
{
    const sim_tree *t = &w->tree;

    while (t->nodes[i].nchildren && !t->nodes[i].partner) {
        const sim_node *n = &t->nodes[i];
        i = n->children[sim_rng_below(&w->rng, n->nchildren)];
    }
    return i;
}

static const pg_value *value_of(const pg_parsed *p, const char *field)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->values[i].field, field) == 0)
            return &p->values[i].value;
    }
    return NULL;
}

static void write_failed(sim_world *w, const sim_node *n, const char *what)
{
    if (w->writes_failed++ < 10)
        fprintf(stderr, "simulate: %s %s: %s failed: %s\n", n->code, n->name,
                what, pg_error_last()->message);
}

/* Whether a policy carries a record across the city boundary: its
 * collection, and the agreement's condition on the record (DESIGN §6). */
static bool carried(const pg_policy *pol, const pg_collection *coll,
                    const pg_parsed *rec)
{
    const pg_field *f;
    pg_value want;

    if (!pol || !pg_policy_carries(pol, coll))
        return false;
    if (!pg_policy_condition(pol, coll, &f, &want))
        return true;
    const pg_value *v = value_of(rec, f->name);
    return v && pg_value_equal(v, &want);
}

static pg_value text_value(const char *s)
{
    pg_value v = {.kind = PG_VALUE_TEXT, .s = s, .len = strlen(s)};
    return v;
}

/* A new record of @p cname written at node @p ni. */
static int write_new(sim_world *w, int ni, const char *cname, unsigned day,
                     unsigned round, unsigned k)
{
    sim_node *n = &w->tree.nodes[ni];
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), cname);
    char stream[96], err[256];
    int place = n->partner ? ni : random_village(w, ni);
    size_t len;
    pg_parsed p = {0};

    snprintf(stream, sizeof(stream), "%s/%s/%u/%u/%u", n->code, cname, day,
             round, k);
    gen_seed(w->gen, w->opts.seed, stream);
    if (gen_scope(w->gen, w->tree.nodes[place].code, err, sizeof(err)) < 0) {
        fprintf(stderr, "simulate: %s\n", err);
        return -1;
    }
    const char *line = gen_record(w->gen, cname, &len);
    if (!line) {
        fprintf(stderr, "simulate: the generator makes no %s\n", cname);
        return -1;
    }
    pg_error_clear();
    if (pg_parsed_from_json(&p, coll, line, len) < 0) {
        fprintf(stderr, "simulate: the generator made a bad %s: %s\n", cname,
                pg_error_last()->message);
        pg_parsed_dispose(&p);
        return -1;
    }
    /* The generator gives the state the record's story reached; a local
     * write starts it in its lifecycle's initial state and walks there. */
    const pg_lifecycle *lc = pg_lifecycle_get(cname);
    pg_value *status = (pg_value *)value_of(&p, "status");
    const char *path[16];
    size_t npath = 0;
    pg_value target = status ? *status : (pg_value){0};
    char want[PG_LIFECYCLE_STATE_MAX + 1];
    if (lc && status && status->kind == PG_VALUE_TEXT &&
        status->len <= PG_LIFECYCLE_STATE_MAX) {
        memcpy(want, status->s, status->len);
        want[status->len] = '\0';
        if (pg_lifecycle_path(path, &npath, 16, lc, NULL, want) == 0 &&
            npath > 0)
            *status = text_value(path[0]);
    }
    char id[PG_RECORD_ID_LEN + 1];
    if (pg_record_put(id, n->node, cname, NULL, p.values, p.n, "simulate") <
        0) {
        write_failed(w, n, cname);
        pg_parsed_dispose(&p);
        return 0;
    }
    for (size_t s = 1; s < npath; s++) {
        pg_field_value fv = {"status", text_value(path[s])};
        if (pg_record_put(NULL, n->node, cname, id, &fv, 1, "simulate") < 0) {
            write_failed(w, n, "a status step");
            break;
        }
        w->updates++;
    }
    if (status)
        *status = target;
    bool crosses = carried(n->partner ? n->out_policy : w->agreement, coll, &p);
    sim_secrets_note(w, p.values, p.n, coll, n->partner, crosses);
    sim_record *r = sim_record_add(w);
    const pg_value *div = value_of(&p, "division");
    if (!r || !div || div->kind != PG_VALUE_TEXT || div->len != PG_CODE_LEN ||
        own_add(n, (size_t)(r - w->records)) < 0) {
        pg_parsed_dispose(&p);
        fprintf(stderr, "simulate: out of memory\n");
        return -1;
    }
    memcpy(r->id, id, sizeof(r->id));
    r->collection = coll->name;
    memcpy(r->division, div->s, PG_CODE_LEN);
    r->division[PG_CODE_LEN] = '\0';
    r->origin = ni;
    r->round = w->round;
    r->crosses = crosses;
    pg_parsed_dispose(&p);
    return 0;
}

/* One of the node's own records of @p cname, at random; -1 if none. */
static long pick_own(sim_world *w, const sim_node *n, const char *cname)
{
    const size_t *own = (const size_t *)n->own.data;
    size_t nown = n->own.len / sizeof(*own);

    for (int tries = 0; tries < 8 && nown; tries++) {
        size_t rec = own[sim_rng_below(&w->rng, nown)];
        if (strcmp(w->records[rec].collection, cname) == 0)
            return (long)rec;
    }
    return -1;
}

static const char *random_value(sim_world *w, const char *cname,
                                const char *field, const char *except)
{
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), cname);
    const pg_field *f = pg_collection_field(coll, field, NULL);
    size_t n = 0;

    while (f->values[n])
        n++;
    for (;;) {
        const char *v = f->values[sim_rng_below(&w->rng, n)];
        if (!except || strcmp(v, except) != 0)
            return v;
    }
}

static int put_one(sim_world *w, int ni, const sim_record *r, const char *field,
                   pg_value v)
{
    pg_field_value fv = {field, v};
    sim_node *n = &w->tree.nodes[ni];

    pg_error_clear();
    if (pg_record_put(NULL, n->node, r->collection, r->id, &fv, 1, "simulate") <
        0) {
        write_failed(w, n, "an update");
        return -1;
    }
    w->updates++;
    return 0;
}

/* An update of one of the node's own records: a key person's visit, a
 * volunteer's points. */
static int write_update(sim_world *w, int ni, const char *cname, unsigned day,
                        unsigned round, unsigned k)
{
    sim_node *n = &w->tree.nodes[ni];
    long rec = pick_own(w, n, cname);

    if (rec < 0)
        return write_new(w, ni, cname, day, round, k);
    const sim_record *r = &w->records[rec];
    if (strcmp(cname, "volunteer") == 0) {
        pg_value v = {.kind = PG_VALUE_INT,
                      .i = 1 + (int64_t)sim_rng_below(&w->rng, 10)};
        put_one(w, ni, r, "points", v);
    } else {
        put_one(w, ni, r, "whereabouts",
                text_value(random_value(w, cname, "whereabouts", NULL)));
    }
    return 0;
}

int sim_day_writes(sim_world *w, unsigned day, unsigned round)
{
    double f = weekday_factor(day) / w->opts.rounds;

    for (size_t i = 0; i < w->tree.n; i++) {
        const sim_node *n = &w->tree.nodes[i];
        for (size_t c = 0; c < sizeof(rates) / sizeof(*rates); c++) {
            const rate *rt = &rates[c];
            unsigned count = sim_rng_poisson(&w->rng, rate_for(rt, n) * f);
            for (unsigned k = 0; k < count; k++) {
                int rc =
                    sim_rng_unit(&w->rng) < rt->share_new
                        ? write_new(w, (int)i, rt->collection, day, round, k)
                        : write_update(w, (int)i, rt->collection, day, round,
                                       k);
                if (rc < 0)
                    return -1;
            }
        }
    }
    return 0;
}

/* ---- concurrent edits ---------------------------------------------- */

static sim_edit *edit_add(sim_world *w)
{
    sim_edit *e = sim_push(&w->edits_buf, sizeof(*e));

    if (!e)
        return NULL;
    w->edits = (sim_edit *)w->edits_buf.data;
    w->nedits++;
    return e;
}

/* The ancestor of node @p i at tier @p tier, or -1. */
static int ancestor_at(const sim_tree *t, int i, pg_tier tier)
{
    while (i >= 0 && t->nodes[i].tier != tier)
        i = t->nodes[i].parent;
    return i;
}

/* A village record of @p cname the city already holds, not shared with a
 * partner (partners hold redacted copies), and not edited before. */
static long pick_shared(sim_world *w, const char *cname)
{
    if (w->nrecords == 0)
        return -1;
    for (int tries = 0; tries < 200; tries++) {
        size_t i = sim_rng_below(&w->rng, w->nrecords);
        const sim_record *r = &w->records[i];
        if (r->at_city >= 0 && !r->crosses &&
            w->tree.nodes[r->origin].tier == PG_TIER_COMMUNITY &&
            strcmp(r->collection, cname) == 0) {
            bool edited = false;
            for (size_t e = 0; e < w->nedits && !edited; e++)
                edited = w->edits[e].record == i;
            if (!edited)
                return (long)i;
        }
    }
    return -1;
}

/* Two different statuses the lower and the upper node may each write
 * from the record's state (its lifecycle's next states, or staying put):
 * local writes follow the lifecycle.  False when it has no next state. */
static bool legal_pair(sim_world *w, const sim_record *r, const char *cname,
                       const char **va, const char **vb)
{
    const pg_lifecycle *lc = pg_lifecycle_get(cname);
    pg_record *rec = NULL;
    char cur[PG_LIFECYCLE_STATE_MAX + 1] = "";
    size_t f, n = 0;

    if (!lc ||
        pg_record_get(&rec, w->tree.nodes[r->origin].node, cname, r->id) < 0)
        return false;
    if (pg_collection_field(rec->coll, "status", &f) &&
        rec->values[f].kind == PG_VALUE_TEXT &&
        rec->values[f].len <= PG_LIFECYCLE_STATE_MAX) {
        memcpy(cur, rec->values[f].s, rec->values[f].len);
        cur[rec->values[f].len] = '\0';
    }
    pg_record_free(rec);
    const pg_lifecycle_state *st = pg_lifecycle_state_get(lc, cur);
    while (st && st->next[n])
        n++;
    if (n == 0)
        return false;
    size_t a = sim_rng_below(&w->rng, n);
    size_t b = sim_rng_below(&w->rng, n); /* n: stay in the state */
    if (b == a)
        b = n;
    *va = st->next[a];
    *vb = b == n ? st->state : st->next[b];
    return true;
}

static int edit_pair(sim_world *w, sim_edit_kind kind)
{
    static const char *const lww_colls[] = {"grid_event", "hazard", "dispute"};
    const char *cname = kind == SIM_EDIT_LWW
                            ? lww_colls[sim_rng_below(&w->rng, 3)]
                        : kind == SIM_EDIT_AUTHORITY ? "hazard"
                                                     : "volunteer";
    long rec = pick_shared(w, cname);
    if (rec < 0)
        return 0;
    const sim_record *r = &w->records[rec];
    int lower = r->origin;
    int upper = ancestor_at(&w->tree, lower,
                            kind == SIM_EDIT_AUTHORITY ? PG_TIER_COUNTY
                                                       : PG_TIER_TOWNSHIP);
    if (upper < 0)
        return 0;
    const char *va = NULL, *vb = NULL;
    if (kind == SIM_EDIT_LWW && !legal_pair(w, r, cname, &va, &vb))
        return 0; /* a final state: no two legal moves from it */
    sim_edit *e = edit_add(w);
    if (!e)
        return -1;
    e->record = (size_t)rec;
    e->kind = kind;
    e->lower = lower;
    e->upper = upper;
    if (kind == SIM_EDIT_COUNTER) {
        e->field = "points";
        pg_value a = {.kind = PG_VALUE_INT, .i = 5};
        pg_value b = {.kind = PG_VALUE_INT, .i = 20};
        put_one(w, lower, r, e->field, a);
        put_one(w, upper, r, e->field, b);
        return 0;
    }
    e->field = kind == SIM_EDIT_AUTHORITY ? "level" : "status";
    if (kind == SIM_EDIT_AUTHORITY) {
        va = random_value(w, cname, e->field, NULL);
        vb = random_value(w, cname, e->field, va);
    }
    snprintf(e->winner, sizeof(e->winner), "%s", vb);
    put_one(w, lower, r, e->field, text_value(va));
    put_one(w, upper, r, e->field, text_value(vb));
    return 0;
}

int sim_day_edits(sim_world *w)
{
    size_t villages = 0;

    for (size_t i = 0; i < w->tree.n; i++)
        villages += w->tree.nodes[i].tier == PG_TIER_COMMUNITY;
    unsigned pairs = sim_rng_poisson(&w->rng, w->opts.edits * (double)villages /
                                                  100.0 / w->opts.rounds);
    for (unsigned k = 0; k < pairs; k++) {
        /* Kinds in turn over the whole run, so that a few pairs a round
         * still make every kind. */
        if (edit_pair(w, (sim_edit_kind)(w->edit_turn++ % 3)) < 0)
            return -1;
    }
    return 0;
}

/* ---- who is offline ------------------------------------------------ */

int sim_day_plan(sim_world *w, unsigned day)
{
    int first = (int)(day * w->opts.rounds);
    int rounds = (int)w->opts.rounds;

    for (size_t i = 0; i < w->tree.n; i++) {
        sim_node *n = &w->tree.nodes[i];
        if (n->tier == PG_TIER_CITY || n->partner)
            continue;
        /* Villages and townships go offline more often than counties. */
        double p =
            n->tier == PG_TIER_COUNTY ? w->opts.offline / 4 : w->opts.offline;
        if (sim_rng_unit(&w->rng) >= p)
            continue;
        int from = first + (int)sim_rng_below(&w->rng, (uint64_t)rounds);
        int span = 1 + (int)sim_rng_below(&w->rng, (uint64_t)rounds);
        sim_window *win = sim_push(&n->off, sizeof(*win));
        if (!win)
            return -1;
        win->from = from;
        win->to = from + span;
    }
    return 0;
}
