/*
 * What must hold after a simulated run, each checked against the nodes'
 * stores through libpingan (and, for privacy, against the partner
 * directories' raw bytes):
 *
 *   reach       every village record that may reach the city did, within
 *               the rounds its path allowed (hops, offline ends, lost
 *               bundles, the USB stick's day);
 *   converge    every record is held by exactly the nodes on its path
 *               (and the partners when an agreement carries it), and every
 *               field set at two of them has the same value and version;
 *   privacy     no ID number or phone written in Xiangtan, and no personal
 *               text of a record that crossed, is in a partner's files;
 *   key_person  none at the city or a partner, none in the city's log;
 *   signatures  every origin signature in the city's log verifies;
 *   conflicts   each pair of concurrent edits is one conflict, under one
 *               id, at every node holding the record; the authority rule's
 *               winner is the higher tier's value; counters never conflict;
 *   clean       no write failed, nothing quarantined, nothing pending.
 */
#define _GNU_SOURCE /* memmem */
#include "sim.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pingan/buf.h"
#include "pingan/changelog.h"
#include "pingan/conflict.h"
#include "pingan/error.h"
#include "pingan/schema.h"
#include "pingan/status.h"

/* ---- hashing and a set of strings ---------------------------------- */

static uint64_t fnv(const void *data, size_t len, uint64_t h)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211u;
    return h;
}

#define FNV0 1469598103934665603u

typedef struct strset {
    char **slots;
    size_t cap, n;
} strset;

static int strset_add(strset *s, const char *v, size_t len)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char **slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = fnv(s->slots[i], strlen(s->slots[i]), FNV0) % cap;
            while (slots[j])
                j = (j + 1) % cap;
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = fnv(v, len, FNV0) % s->cap;
    for (; s->slots[j]; j = (j + 1) % s->cap) {
        if (strlen(s->slots[j]) == len && memcmp(s->slots[j], v, len) == 0)
            return 0;
    }
    s->slots[j] = strndup(v, len);
    if (!s->slots[j])
        return -1;
    s->n++;
    return 0;
}

static bool strset_has(const strset *s, const char *v, size_t len)
{
    if (!s->cap)
        return false;
    for (size_t j = fnv(v, len, FNV0) % s->cap; s->slots[j];
         j = (j + 1) % s->cap) {
        if (strlen(s->slots[j]) == len && memcmp(s->slots[j], v, len) == 0)
            return true;
    }
    return false;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* ---- personal values written in Xiangtan --------------------------- */

struct sim_secrets {
    strset numbers;       /* every ID number and phone */
    strset texts;         /* personal text of records that crossed */
    strset partner_texts; /* personal values the partners wrote */
    bool failed;          /* out of memory: the sets are incomplete */
    pg_buf partner_blob;  /* every text the partners wrote, '\n'-separated */
};

void sim_secrets_note(sim_world *w, const pg_field_value *values, size_t n,
                      const pg_collection *coll, bool partner, bool crosses)
{
    if (!w->secrets) {
        if (!(w->secrets = calloc(1, sizeof(*w->secrets))))
            return;
        pg_buf_init(&w->secrets->partner_blob, (size_t)1 << 30);
    }
    for (size_t i = 0; i < n && partner; i++) {
        const pg_value *v = &values[i].value;
        if (v->kind == PG_VALUE_TEXT &&
            (pg_buf_put(&w->secrets->partner_blob, v->s, v->len) < 0 ||
             pg_buf_putc(&w->secrets->partner_blob, '\n') < 0))
            w->secrets->failed = true;
    }
    for (size_t i = 0; i < n; i++) {
        const pg_field *f = pg_collection_field(coll, values[i].field, NULL);
        const pg_value *v = &values[i].value;
        if (!f || v->kind != PG_VALUE_TEXT || f->privacy < PG_PRIVACY_PERSONAL)
            continue;
        int rc = 0;
        if (partner)
            rc = strset_add(&w->secrets->partner_texts, v->s, v->len);
        else if (f->type == PG_TYPE_PHONE || f->type == PG_TYPE_ID_NUMBER)
            rc = strset_add(&w->secrets->numbers, v->s, v->len);
        else if (crosses && v->len >= 9) /* three Chinese characters */
            rc = strset_add(&w->secrets->texts, v->s, v->len);
        if (rc < 0)
            w->secrets->failed = true;
    }
}

void sim_secrets_free(sim_world *w)
{
    if (!w->secrets)
        return;
    strset_free(&w->secrets->numbers);
    strset_free(&w->secrets->texts);
    strset_free(&w->secrets->partner_texts);
    pg_buf_dispose(&w->secrets->partner_blob);
    free(w->secrets);
    w->secrets = NULL;
}

/* ---- results -------------------------------------------------------- */

typedef struct result {
    const char *name;
    bool ok;
    bool exercised; /* the run gave the check something to look at */
    char detail[256];
} result;

#define NCHECKS 7

typedef struct checks {
    result r[NCHECKS];
    size_t n;
    /* reach */
    uint64_t reach_total, reach_late, reach_missing;
    uint64_t delay_hist[6]; /* 0..4 rounds, 5+ */
    int delay_max;
    /* conflicts by tier of the node holding them */
    uint64_t conflicts_by_tier[6]; /* [0]: partners; by pg_tier */
    uint64_t records_by_tier[6];
    /* Xiangtan's records held by partners (what the privacy check is
     * about) */
    uint64_t crossed_held;
} checks;

static result *check_add(checks *c, const char *name, bool ok, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

static result *check_add(checks *c, const char *name, bool ok, const char *fmt,
                         ...)
{
    result *r = &c->r[c->n < NCHECKS ? c->n++ : NCHECKS - 1];
    va_list ap;

    r->name = name;
    r->ok = ok;
    r->exercised = true;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    return r;
}

/* ---- records by id -------------------------------------------------- */

typedef struct id_index {
    long *slots; /* record index + 1; 0 empty */
    size_t cap;
} id_index;

static int index_build(id_index *ix, const sim_world *w)
{
    ix->cap = w->nrecords * 2 + 16;
    ix->slots = calloc(ix->cap, sizeof(*ix->slots));
    if (!ix->slots)
        return -1;
    for (size_t i = 0; i < w->nrecords; i++) {
        const char *id = w->records[i].id;
        size_t j = fnv(id, strlen(id), FNV0) % ix->cap;
        while (ix->slots[j])
            j = (j + 1) % ix->cap;
        ix->slots[j] = (long)i + 1;
    }
    return 0;
}

static long index_find(const id_index *ix, const sim_world *w, const char *id)
{
    for (size_t j = fnv(id, strlen(id), FNV0) % ix->cap; ix->slots[j];
         j = (j + 1) % ix->cap) {
        if (strcmp(w->records[ix->slots[j] - 1].id, id) == 0)
            return ix->slots[j] - 1;
    }
    return -1;
}

/* ---- reach ---------------------------------------------------------- */

/* The link from node @p child up to its parent. */
static const sim_link *uplink(const sim_world *w, int child)
{
    for (size_t i = 0; i < w->nlinks; i += 2) {
        if (w->links[i].from == child)
            return &w->links[i];
    }
    return NULL;
}

/* The last round by which a record written at @p origin in @p round must
 * be at the city: each hop happens at the latest in the first round,
 * after the one that brought the record below it, in which the link was
 * up; -1 when the run ended first. */
static int reach_bound(const sim_world *w, int origin, int round, int last)
{
    int at = round;
    bool first = true;

    for (int i = origin; w->tree.nodes[i].parent >= 0;
         i = w->tree.nodes[i].parent) {
        const sim_link *l = uplink(w, i);
        int r = first ? at : at + 1;
        while (r <= last && !sim_link_up(w, l, r))
            r++;
        if (r > last)
            return -1;
        at = r;
        first = false;
    }
    return at;
}

static void check_reach(sim_world *w, checks *c, int last)
{
    for (size_t i = 0; i < w->nrecords; i++) {
        sim_record *r = &w->records[i];
        const sim_node *o = &w->tree.nodes[r->origin];
        if (o->tier != PG_TIER_COMMUNITY || o->partner ||
            strcmp(r->collection, "key_person") == 0)
            continue;
        c->reach_total++;
        r->bound = reach_bound(w, r->origin, r->round, last);
        if (r->at_city < 0) {
            c->reach_missing++;
            continue;
        }
        int delay = r->at_city - r->round;
        c->delay_hist[delay < 5 ? delay : 5]++;
        if (delay > c->delay_max)
            c->delay_max = delay;
        if (r->bound < 0 || r->at_city > r->bound)
            c->reach_late++;
    }
    check_add(c, "village records reach the city",
              c->reach_missing == 0 && c->reach_late == 0,
              "%llu records; %llu missing, %llu later than their path "
              "allowed; at most %d rounds after writing",
              (unsigned long long)c->reach_total,
              (unsigned long long)c->reach_missing,
              (unsigned long long)c->reach_late, c->delay_max)
        ->exercised = c->reach_total > 0;
}

/* ---- convergence ---------------------------------------------------- */

typedef struct holding {
    uint32_t holders;     /* nodes holding it */
    uint32_t wrong_place; /* of them: not on its path */
    uint64_t *fields;     /* per field: hash of value and version; 0 */
    size_t nfields;
} holding;

typedef struct converge {
    sim_world *w;
    id_index *ix;
    holding *h;
    int node;
    uint64_t listed;
    uint64_t crossed_held;
    uint64_t unknown, differ;
    char first_diff[160];
    pg_buf buf;
} converge;

/* Whether node @p i should hold record @p r: on the record's path, at or
 * below the collection's cap, or a partner when it crosses. */
static bool expected_at(const sim_world *w, const sim_record *r, int i)
{
    const sim_node *n = &w->tree.nodes[i];
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), r->collection);
    bool partner_origin = w->tree.nodes[r->origin].partner;

    if (partner_origin)
        return i == r->origin || (r->crosses && i == w->tree.city);
    if (n->partner)
        return r->crosses;
    if (!pg_division_contains(n->code, r->division))
        return false;
    return coll->cap == PG_TIER_NONE || n->tier >= coll->cap;
}

/* How many nodes should hold record @p r (expected_at, counted along its
 * path rather than over every node). */
static uint32_t expected_count(const sim_world *w, const sim_record *r)
{
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), r->collection);
    uint32_t n = 0;

    if (w->tree.nodes[r->origin].partner)
        return 1 + r->crosses;
    for (int i = sim_tree_home(&w->tree, r->division); i >= 0;
         i = w->tree.nodes[i].parent) {
        if (coll->cap == PG_TIER_NONE || w->tree.nodes[i].tier >= coll->cap)
            n++;
    }
    return n + (r->crosses ? 2 : 0);
}

static int on_record(const pg_record *rec, void *payload)
{
    converge *cv = payload;
    sim_world *w = cv->w;
    long i = index_find(cv->ix, w, rec->id);

    cv->listed++;
    if (i < 0) {
        cv->unknown++;
        return 0;
    }
    const sim_record *r = &w->records[i];
    holding *h = &cv->h[i];
    h->holders++;
    if (!expected_at(w, r, cv->node))
        h->wrong_place++;
    if (w->tree.nodes[cv->node].partner && !w->tree.nodes[r->origin].partner)
        cv->crossed_held++;
    /* Partners hold redacted copies, and the city a partner's: values
     * are compared between Xiangtan's own copies only. */
    if (w->tree.nodes[cv->node].partner || w->tree.nodes[r->origin].partner)
        return 0;
    if (!h->fields) {
        h->nfields = rec->nvalues;
        h->fields = calloc(h->nfields, sizeof(*h->fields));
        if (!h->fields)
            return -1;
    }
    bool above_county = w->tree.nodes[cv->node].tier < PG_TIER_COUNTY;
    for (size_t f = 0; f < rec->nvalues && f < h->nfields; f++) {
        /* Sensitive fields stop at the county on their way up (the
         * default policy, DESIGN §6): the city holds none to compare. */
        if (above_county && f < rec->coll->nfields &&
            rec->coll->fields[f].privacy == PG_PRIVACY_SENSITIVE)
            continue;
        /* Every other field, set or not, must be the same everywhere,
         * with the same version. */
        pg_buf_clear(&cv->buf);
        if (rec->values[f].kind != PG_VALUE_ABSENT &&
            pg_value_encode(&cv->buf, &rec->values[f]) < 0) {
            fprintf(stderr, "simulate: cannot encode a value of %s\n", rec->id);
            return -1;
        }
        uint64_t x = fnv(cv->buf.data ? cv->buf.data : (const uint8_t *)"",
                         cv->buf.len, FNV0 ^ (uint64_t)rec->values[f].kind);
        x = fnv(&rec->versions[f].hlc, sizeof(rec->versions[f].hlc), x);
        x = fnv(rec->versions[f].origin, strlen(rec->versions[f].origin), x);
        x |= 1; /* never 0 */
        if (!h->fields[f]) {
            h->fields[f] = x;
        } else if (h->fields[f] != x) {
            if (cv->differ++ == 0)
                snprintf(cv->first_diff, sizeof(cv->first_diff),
                         "%s field %s at %s", rec->id,
                         f < rec->coll->nfields ? rec->coll->fields[f].name
                                                : "_deleted",
                         w->tree.nodes[cv->node].code);
        }
    }
    return 0;
}

static int check_converge(sim_world *w, checks *c, id_index *ix)
{
    const pg_schema *s = pg_schema_current();
    converge cv = {.w = w, .ix = ix};
    uint64_t missing = 0, misplaced = 0;

    cv.h = calloc(w->nrecords + 1, sizeof(*cv.h));
    if (!cv.h)
        return -1;
    pg_buf_init(&cv.buf, 1 << 20);
    for (size_t i = 0; i < w->tree.n; i++) {
        cv.node = (int)i;
        cv.listed = 0;
        for (size_t k = 0; k < s->ncollections; k++) {
            if (s->collections[k]->system)
                continue;
            pg_error_clear();
            if (pg_record_list(w->tree.nodes[i].node, s->collections[k]->name,
                               NULL, 0, 0, true, on_record, &cv) < 0) {
                fprintf(stderr, "simulate: listing %s at %s: %s\n",
                        s->collections[k]->name, w->tree.nodes[i].code,
                        pg_error_last()->message);
                goto fail;
            }
        }
        w->tree.nodes[i].records_held = cv.listed;
        c->records_by_tier[w->tree.nodes[i].partner ? 0
                                                    : w->tree.nodes[i].tier] +=
            cv.listed;
    }
    for (size_t k = 0; k < w->nrecords; k++) {
        uint32_t want = expected_count(w, &w->records[k]);
        if (cv.h[k].holders - cv.h[k].wrong_place < want)
            missing++;
        misplaced += cv.h[k].wrong_place;
    }
    check_add(
        c, "every view converges",
        missing == 0 && misplaced == 0 && cv.differ == 0 && cv.unknown == 0,
        "%zu records: %llu not everywhere they belong, %llu copies "
        "where they do not, %llu fields differing%s%s, %llu unknown",
        w->nrecords, (unsigned long long)missing, (unsigned long long)misplaced,
        (unsigned long long)cv.differ, cv.differ ? " (first: " : "",
        cv.differ ? cv.first_diff : "", (unsigned long long)cv.unknown);
    c->crossed_held = cv.crossed_held;
    if (cv.differ)
        strncat(c->r[c->n - 1].detail, ")",
                sizeof(c->r[c->n - 1].detail) - strlen(c->r[c->n - 1].detail) -
                    1);
    for (size_t k = 0; k < w->nrecords; k++)
        free(cv.h[k].fields);
    free(cv.h);
    pg_buf_dispose(&cv.buf);
    return 0;
fail:
    for (size_t k = 0; k < w->nrecords; k++)
        free(cv.h[k].fields);
    free(cv.h);
    pg_buf_dispose(&cv.buf);
    return -1;
}

/* ---- privacy --------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    char *data = NULL;

    if (!fp)
        return NULL;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
        (data = malloc((size_t)st.st_size + 1))) {
        *len = fread(data, 1, (size_t)st.st_size, fp);
    }
    fclose(fp);
    return data;
}

static bool digitish(char ch)
{
    return (ch >= '0' && ch <= '9') || ch == 'X';
}

/* Hits of Xiangtan's numbers and crossing texts in one file's bytes. */
static uint64_t scan_bytes(const struct sim_secrets *sec, const char *d,
                           size_t len)
{
    uint64_t hits = 0;
    static const size_t widths[] = {11, 15, 18};

    for (size_t i = 0; i < len;) {
        if (!digitish(d[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && digitish(d[j]))
            j++;
        for (size_t w = 0; w < 3; w++) {
            for (size_t k = i; k + widths[w] <= j; k++)
                hits += strset_has(&sec->numbers, d + k, widths[w]) &&
                        !strset_has(&sec->partner_texts, d + k, widths[w]);
        }
        i = j;
    }
    for (size_t s = 0; s < sec->texts.cap; s++) {
        const char *t = sec->texts.slots[s];
        /* The same name may well be written in both cities: a text the
         * partner wrote itself anywhere in its records is no leak. */
        if (t && memmem(d, len, t, strlen(t)) &&
            !memmem(sec->partner_blob.data, sec->partner_blob.len, t,
                    strlen(t)))
            hits++;
    }
    return hits;
}

static int check_privacy(sim_world *w, checks *c)
{
    uint64_t hits = 0, files = 0, bytes = 0;
    struct sim_secrets empty = {0};
    const struct sim_secrets *sec = w->secrets ? w->secrets : &empty;

    for (size_t i = 0; i < w->tree.n; i++) {
        const sim_node *n = &w->tree.nodes[i];
        if (!n->partner)
            continue;
        DIR *d = opendir(n->dir);
        if (!d)
            return -1;
        struct dirent *e;
        while ((e = readdir(d))) {
            char path[SIM_PATH_MAX + 300];
            size_t len = 0;
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", n->dir, e->d_name);
            char *data = read_file(path, &len);
            if (!data)
                continue;
            files++;
            bytes += len;
            hits += scan_bytes(sec, data, len);
            free(data);
        }
        closedir(d);
    }
    check_add(c, "no personal value crosses in clear",
              hits == 0 && files > 0 && !sec->failed,
              "%zu ID numbers and phones of Xiangtan, %zu personal texts of "
              "records that crossed, searched in %llu partner files (%llu "
              "bytes): %llu found",
              sec->numbers.n, sec->texts.n, (unsigned long long)files,
              (unsigned long long)bytes, (unsigned long long)hits)
        ->exercised = c->crossed_held > 0;
    if (sec->failed)
        strncat(c->r[c->n - 1].detail, "; out of memory noting values",
                sizeof(c->r[c->n - 1].detail) - strlen(c->r[c->n - 1].detail) -
                    1);
    return 0;
}

/* ---- key persons and signatures ------------------------------------- */

static int count_record(const pg_record *rec, void *payload)
{
    (void)rec;
    ++*(uint64_t *)payload;
    return 0;
}

typedef struct logscan {
    uint64_t entries, bad, key_person;
    uint64_t by_tier[6];
} logscan;

static int on_entry(const pg_log_entry *e, void *payload)
{
    logscan *ls = payload;

    ls->entries++;
    if (!e->signature_ok)
        ls->bad++;
    if (e->txn->collection && strcmp(e->txn->collection, "key_person") == 0)
        ls->key_person++;
    pg_tier t = pg_division_tier(e->txn->origin);
    if (t < 6)
        ls->by_tier[t]++;
    return 0;
}

static int check_city(sim_world *w, checks *c)
{
    uint64_t above = 0;
    logscan ls = {0};
    const sim_node *city = &w->tree.nodes[w->tree.city];

    for (size_t i = 0; i < w->tree.n; i++) {
        const sim_node *n = &w->tree.nodes[i];
        if (n->tier != PG_TIER_CITY)
            continue;
        if (pg_record_list(n->node, "key_person", NULL, 0, 0, true,
                           count_record, &above) < 0)
            return -1;
    }
    if (pg_log_list(city->node, 0, 0, on_entry, &ls) < 0)
        return -1;
    check_add(c, "key_person never above its county",
              above == 0 && ls.key_person == 0,
              "%llu key_person records at the city and partners, %llu in "
              "the city's log",
              (unsigned long long)above, (unsigned long long)ls.key_person);
    check_add(c, "origin signatures verify at the city", ls.bad == 0,
              "%llu txns in the city's log (from villages %llu, townships "
              "%llu, counties %llu, cities %llu): %llu do not verify",
              (unsigned long long)ls.entries,
              (unsigned long long)ls.by_tier[PG_TIER_COMMUNITY],
              (unsigned long long)ls.by_tier[PG_TIER_TOWNSHIP],
              (unsigned long long)ls.by_tier[PG_TIER_COUNTY],
              (unsigned long long)ls.by_tier[PG_TIER_CITY],
              (unsigned long long)ls.bad)
        ->exercised = ls.entries > 0;
    return 0;
}

/* ---- conflicts ------------------------------------------------------ */

typedef struct conflict_scan {
    sim_world *w;
    int node;
    checks *c;
    uint32_t *seen; /* per edit: nodes reporting its conflict */
    uint64_t stray; /* conflicts no edit explains */
    char (*ids)[PG_CONFLICT_ID_LEN + 1]; /* per edit: the id first seen */
    uint64_t id_mismatch;
} conflict_scan;

static int on_conflict(const pg_conflict *cf, void *payload)
{
    conflict_scan *cs = payload;
    sim_world *w = cs->w;
    const sim_node *n = &w->tree.nodes[cs->node];

    cs->c->conflicts_by_tier[n->partner ? 0 : n->tier]++;
    w->tree.nodes[cs->node].conflicts++;
    for (size_t e = 0; e < w->nedits; e++) {
        const sim_edit *ed = &w->edits[e];
        if (strcmp(w->records[ed->record].id, cf->record_id) == 0 &&
            strcmp(ed->field, cf->field) == 0) {
            cs->seen[e]++;
            if (!cs->ids[e][0])
                memcpy(cs->ids[e], cf->id, sizeof(cs->ids[e]));
            else if (strcmp(cs->ids[e], cf->id) != 0)
                cs->id_mismatch++;
            return 0;
        }
    }
    cs->stray++;
    return 0;
}

static int path_length(const sim_world *w, int i)
{
    int n = 0;
    for (; i >= 0; i = w->tree.nodes[i].parent)
        n++;
    return n;
}

static int check_conflicts(sim_world *w, checks *c)
{
    conflict_scan cs = {.w = w, .c = c};
    uint64_t wrong = 0, pairs = 0, counters = 0, bad_winner = 0;

    cs.seen = calloc(w->nedits + 1, sizeof(*cs.seen));
    cs.ids = calloc(w->nedits + 1, sizeof(*cs.ids));
    if (!cs.seen || !cs.ids) {
        free(cs.seen);
        free(cs.ids);
        return -1;
    }
    for (size_t i = 0; i < w->tree.n; i++) {
        cs.node = (int)i;
        if (pg_conflict_list(w->tree.nodes[i].node, true, on_conflict, &cs) <
            0) {
            free(cs.seen);
            free(cs.ids);
            return -1;
        }
    }
    pg_node *city = w->tree.nodes[w->tree.city].node;
    for (size_t e = 0; e < w->nedits; e++) {
        const sim_edit *ed = &w->edits[e];
        const sim_record *r = &w->records[ed->record];
        if (ed->kind == SIM_EDIT_COUNTER) {
            counters++;
            wrong += cs.seen[e] != 0;
            continue;
        }
        pairs++;
        /* Every node on the path from the village to the city holds
         * both changes. */
        wrong += cs.seen[e] != (uint32_t)path_length(w, r->origin);
        if (ed->kind != SIM_EDIT_AUTHORITY)
            continue;
        pg_record *rec = NULL;
        size_t f;
        if (pg_record_get(&rec, city, r->collection, r->id) < 0 ||
            !pg_collection_field(rec->coll, ed->field, &f) ||
            rec->values[f].kind != PG_VALUE_TEXT ||
            rec->values[f].len != strlen(ed->winner) ||
            memcmp(rec->values[f].s, ed->winner, rec->values[f].len) != 0)
            bad_winner++;
        pg_record_free(rec);
    }
    check_add(
        c, "conflicts found where they happened",
        wrong == 0 && cs.stray == 0 && cs.id_mismatch == 0 && bad_winner == 0,
        "%llu concurrent edit pairs (status, level), each a conflict "
        "at every node on its path: %llu not; %llu counter pairs, "
        "none a conflict; %llu conflicts no edit explains; %llu ids "
        "differing; %llu authority winners wrong",
        (unsigned long long)pairs, (unsigned long long)wrong,
        (unsigned long long)counters, (unsigned long long)cs.stray,
        (unsigned long long)cs.id_mismatch, (unsigned long long)bad_winner)
        ->exercised = pairs > 0;
    free(cs.seen);
    free(cs.ids);
    return 0;
}

/* ---- printing ------------------------------------------------------- */

static void print_traffic(FILE *out, const char *name, const sim_traffic *t)
{
    fprintf(out,
            "  %-22s %7llu %7llu %8llu %12llu %8llu %6llu %7llu %8.1f %8.3f\n",
            name, (unsigned long long)t->syncs, (unsigned long long)t->idle,
            (unsigned long long)t->bundles, (unsigned long long)t->bytes,
            (unsigned long long)t->txns, (unsigned long long)t->lost,
            (unsigned long long)t->offline, t->seconds, t->idle_seconds);
}

static void json_traffic(FILE *out, const char *name, const sim_traffic *t,
                         const char *sep)
{
    fprintf(out,
            "    \"%s\": {\"syncs\": %llu, \"idle\": %llu, \"bundles\": %llu, "
            "\"bytes\": %llu, \"txns\": %llu, \"lost\": %llu, \"offline\": "
            "%llu, \"duplicates\": %llu, \"seconds\": %.3f, "
            "\"idle_seconds\": %.3f}%s\n",
            name, (unsigned long long)t->syncs, (unsigned long long)t->idle,
            (unsigned long long)t->bundles, (unsigned long long)t->bytes,
            (unsigned long long)t->txns, (unsigned long long)t->lost,
            (unsigned long long)t->offline, (unsigned long long)t->duplicates,
            t->seconds, t->idle_seconds, sep);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static const char *const tier_names[6] = {
    "partner", "province", "city", "county", "township", "village",
};

static void print_text(const sim_world *w, const checks *c, FILE *out)
{
    size_t by_tier[6] = {0};

    for (size_t i = 0; i < w->tree.n; i++)
        by_tier[w->tree.nodes[i].partner ? 0 : w->tree.nodes[i].tier]++;
    fprintf(out,
            "pingan-simulate: %zu nodes (%zu city, %zu counties, %zu "
            "townships, %zu villages, %zu partners), %u day%s of %u rounds "
            "(%d rounds run), seed %llu\n",
            w->tree.n, by_tier[PG_TIER_CITY], by_tier[PG_TIER_COUNTY],
            by_tier[PG_TIER_TOWNSHIP], by_tier[PG_TIER_COMMUNITY], by_tier[0],
            w->opts.days, w->opts.days == 1 ? "" : "s", w->opts.rounds,
            w->round, (unsigned long long)w->opts.seed);
    fprintf(out,
            "%zu records written and %llu updates, %zu pairs of concurrent "
            "edits; %llu bundles carried by USB stick (%s)\n",
            w->nrecords, (unsigned long long)w->updates, w->nedits,
            (unsigned long long)w->usb_bundles,
            w->tree.usb_township >= 0 ? w->tree.nodes[w->tree.usb_township].name
                                      : "no USB township");
    fprintf(out,
            "\nTraffic                   syncs    idle  bundles        bytes"
            "     txns   lost offline  seconds idle s\n");
    print_traffic(out, "up (child to parent)", &w->up);
    print_traffic(out, "down (parent to child)", &w->down);
    print_traffic(out, "partners (both ways)", &w->partner);
    print_traffic(out, "http (city links)", &w->http);
    fprintf(out, "\nVillage records at the city, rounds after writing:");
    for (int d = 0; d < 6; d++)
        fprintf(out, "  %d%s: %llu", d, d == 5 ? "+" : "",
                (unsigned long long)c->delay_hist[d]);
    fprintf(out, "\n\nBy tier          nodes  records held  conflicts held\n");
    for (int t = PG_TIER_CITY; t <= PG_TIER_COMMUNITY; t++) {
        size_t nodes = 0;
        for (size_t i = 0; i < w->tree.n; i++)
            nodes +=
                !w->tree.nodes[i].partner && (int)w->tree.nodes[i].tier == t;
        fprintf(out, "  %-14s %5zu  %12llu  %14llu\n", tier_names[t], nodes,
                (unsigned long long)c->records_by_tier[t],
                (unsigned long long)c->conflicts_by_tier[t]);
    }
    fprintf(out, "  %-14s %5d  %12llu  %14llu\n", "partners", 2,
            (unsigned long long)c->records_by_tier[0],
            (unsigned long long)c->conflicts_by_tier[0]);
    fprintf(out, "\nChecks\n");
    for (size_t i = 0; i < c->n; i++)
        fprintf(out, "  %-4s %-38s %s\n",
                !c->r[i].ok         ? "FAIL"
                : c->r[i].exercised ? "ok"
                                    : "n/a",
                c->r[i].name, c->r[i].detail);
    fprintf(out,
            "\nTime: %.1f s making and linking nodes, %.1f s writing, %.1f s "
            "syncing, %.1f s checking\n",
            w->seconds_setup, w->seconds_writes, w->seconds_sync,
            w->seconds_checks);
}

static void print_json(const sim_world *w, const checks *c, FILE *out,
                       int failed)
{
    fprintf(
        out,
        "{\n  \"nodes\": %zu, \"days\": %u, \"rounds\": %u, \"rounds_run\": "
        "%d, \"seed\": %llu,\n  \"records\": %zu, \"updates\": %llu, "
        "\"edits\": %zu, \"usb_bundles\": %llu, \"usb_township\": ",
        w->tree.n, w->opts.days, w->opts.rounds, w->round,
        (unsigned long long)w->opts.seed, w->nrecords,
        (unsigned long long)w->updates, w->nedits,
        (unsigned long long)w->usb_bundles);
    json_string(out, w->tree.usb_township >= 0
                         ? w->tree.nodes[w->tree.usb_township].code
                         : "");
    fprintf(out, ",\n");
    fprintf(out, "  \"traffic\": {\n");
    json_traffic(out, "up", &w->up, ",");
    json_traffic(out, "down", &w->down, ",");
    json_traffic(out, "partner", &w->partner, ",");
    json_traffic(out, "http", &w->http, "");
    fprintf(out, "  },\n  \"delay_rounds\": [");
    for (int d = 0; d < 6; d++)
        fprintf(out, "%s%llu", d ? ", " : "",
                (unsigned long long)c->delay_hist[d]);
    fprintf(out, "],\n  \"by_tier\": {");
    for (int t = 0; t <= PG_TIER_COMMUNITY; t++) {
        if (t == PG_TIER_PROVINCE)
            continue;
        fprintf(out, "%s\"%s\": {\"records\": %llu, \"conflicts\": %llu}",
                t ? ", " : "", tier_names[t],
                (unsigned long long)c->records_by_tier[t],
                (unsigned long long)c->conflicts_by_tier[t]);
    }
    fprintf(out, "},\n  \"checks\": [\n");
    for (size_t i = 0; i < c->n; i++) {
        fprintf(out, "    {\"name\": ");
        json_string(out, c->r[i].name);
        fprintf(out, ", \"ok\": %s, \"exercised\": %s, \"detail\": ",
                c->r[i].ok ? "true" : "false",
                c->r[i].exercised ? "true" : "false");
        json_string(out, c->r[i].detail);
        fprintf(out, "}%s\n", i + 1 < c->n ? "," : "");
    }
    fprintf(out,
            "  ],\n  \"failed\": %d,\n  \"seconds\": {\"setup\": %.3f, "
            "\"writes\": %.3f, \"sync\": %.3f, \"checks\": %.3f}\n}\n",
            failed, w->seconds_setup, w->seconds_writes, w->seconds_sync,
            w->seconds_checks);
}

int sim_check(sim_world *w, FILE *out)
{
    checks c;
    id_index ix = {0};
    double t0 = sim_now();

    memset(&c, 0, sizeof(c));
    check_reach(w, &c, w->round - 1); /* the last round that ran */
    if (index_build(&ix, w) < 0)
        pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if (!ix.slots || check_converge(w, &c, &ix) < 0 ||
        check_privacy(w, &c) < 0 || check_city(w, &c) < 0 ||
        check_conflicts(w, &c) < 0) {
        free(ix.slots);
        fprintf(stderr, "simulate: a check could not run: %s\n",
                pg_error_last()->message);
        return -1;
    }
    free(ix.slots);
    uint64_t pending = 0;
    for (size_t i = 0; i < w->tree.n; i++) {
        pg_status st;
        if (pg_status_get(w->tree.nodes[i].node, &st) == 0)
            pending += st.pending_total;
        else
            pending++;
        pg_status_dispose(&st);
    }
    check_add(&c, "nothing refused, quarantined or pending",
              w->writes_failed == 0 && w->up.quarantined == 0 &&
                  w->down.quarantined == 0 && w->partner.quarantined == 0 &&
                  w->http.quarantined == 0 && pending == 0,
              "%llu writes failed, %llu txns quarantined, %llu pending at "
              "the end (%llu pending for a while on arrival)",
              (unsigned long long)w->writes_failed,
              (unsigned long long)(w->up.quarantined + w->down.quarantined +
                                   w->partner.quarantined +
                                   w->http.quarantined),
              (unsigned long long)pending,
              (unsigned long long)(w->up.pending + w->down.pending +
                                   w->partner.pending + w->http.pending));
    w->seconds_checks = sim_now() - t0;
    int failed = 0;
    for (size_t i = 0; i < c.n; i++)
        failed += !c.r[i].ok;
    if (w->opts.json)
        print_json(w, &c, out, failed);
    else
        print_text(w, &c, out);
    return failed;
}
