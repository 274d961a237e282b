/*
 * Division remaps (pingan/remap.h): writing one, listing them, resolving
 * a code, and the remap-aware containment test of routing and receipt
 * (remap_internal.h).
 *
 * The rows of `division_remap` are few (a county sees a handful a year)
 * and read on every routing decision, so the node keeps them in memory.
 * The copy is read again when the store's data version moved (a commit,
 * by this connection or another process: SQLITE_FCNTL_DATA_VERSION) or
 * when this connection changed the rows inside a transaction not yet
 * committed (pg_remap__invalidate: a received remap applied, a rollback).
 */
#include "pingan/remap.h"
#include "audit_internal.h"
#include "error_internal.h"
#include "i18n_internal.h"
#include "node_internal.h"
#include "remap_internal.h"
#include "store.h"
#include "write_internal.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct remap_cache {
    bool fresh;            /* rows match data_version */
    unsigned data_version; /* the store's when read */
    pg_remap *rows;
    size_t n;
} remap_cache;

static const char COLUMNS[] =
    "id, division, old_code, new_code, new_name, reason, effective_at, "
    "document_no";

/* Copy a text column into a fixed buffer, cut to fit. */
static void col_text(char *out, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, s, n);
    out[n] = 0;
}

static void row_read(pg_remap *r, sqlite3_stmt *st)
{
    memset(r, 0, sizeof(*r));
    col_text(r->id, sizeof(r->id), st, 0);
    col_text(r->issuer, sizeof(r->issuer), st, 1);
    col_text(r->old_code, sizeof(r->old_code), st, 2);
    col_text(r->new_code, sizeof(r->new_code), st, 3);
    col_text(r->new_name, sizeof(r->new_name), st, 4);
    col_text(r->reason, sizeof(r->reason), st, 5);
    r->effective_at = sqlite3_column_int64(st, 6);
    col_text(r->document_no, sizeof(r->document_no), st, 7);
}

/* A row resolution can use: both codes well-formed, of one tier. */
static bool row_usable(const pg_remap *r)
{
    return pg_division_valid(r->old_code) && pg_division_valid(r->new_code) &&
           pg_division_tier(r->old_code) == pg_division_tier(r->new_code) &&
           strcmp(r->old_code, r->new_code) != 0;
}

static unsigned data_version(sqlite3 *db)
{
    int v = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &v) !=
        SQLITE_OK)
        return 0;
    return (unsigned)v;
}

/* The node's cache, made on first use.  The cache is the node's private
 * memory, not its state: a const node may fill it. */
static remap_cache *cache_of(const pg_node *node)
{
    pg_node *n = (pg_node *)node;
    if (!n->remap) {
        n->remap = calloc(1, sizeof(remap_cache));
        if (!n->remap)
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    }
    return n->remap;
}

void pg_remap__invalidate(const pg_node *node)
{
    if (node->remap)
        node->remap->fresh = false;
}

void pg_remap__cache_free(pg_node *node)
{
    if (!node->remap)
        return;
    free(node->remap->rows);
    free(node->remap);
    node->remap = NULL;
}

/* The usable rows, read again when stale. */
static int cache_load(remap_cache **out, const pg_node *node)
{
    remap_cache *c = cache_of(node);
    sqlite3_stmt *st = NULL;
    pg_buf rows;
    pg_remap r;
    int rc, error = 0;

    if (!c)
        return PG_ENOMEM;
    unsigned v = data_version(node->db);
    if (c->fresh && c->data_version == v) {
        *out = c;
        return 0;
    }
    /* A node at schema version 1 has no remaps (and no table). */
    if (!pg_schema_collection(pg_node_schema(node), "division_remap")) {
        free(c->rows);
        c->rows = NULL;
        c->n = 0;
        c->data_version = v;
        c->fresh = true;
        *out = c;
        return 0;
    }
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM division_remap WHERE _deleted = 0", COLUMNS);
    if ((rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL)) != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading division remaps");
    /* Up to some 60,000 remaps: far more than a province issues. */
    pg_buf_init(&rows, 32u << 20);
    while (error == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_read(&r, st);
        if (row_usable(&r))
            error = pg_buf_put(&rows, &r, sizeof(r));
    }
    sqlite3_finalize(st);
    if (error == 0 && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading division remaps");
    if (error < 0) {
        pg_buf_dispose(&rows);
        return error;
    }
    free(c->rows);
    c->n = rows.len / sizeof(pg_remap);
    c->rows = (pg_remap *)pg_buf_detach(&rows, NULL);
    c->data_version = v;
    c->fresh = true;
    *out = c;
    return 0;
}

int pg_remap__load(const pg_node *node)
{
    remap_cache *c;
    return cache_load(&c, node);
}

/* --- resolution -------------------------------------------------------- */

/* Is a (covering with prefix length alen) preferred to b (blen)?  The
 * rule of pingan/remap.h. */
static bool preferred(const pg_remap *a, size_t alen, const pg_remap *b,
                      size_t blen)
{
    int d;
    if (alen != blen)
        return alen > blen;
    if ((d = strcmp(a->issuer, b->issuer)) != 0)
        return d < 0;
    if (a->effective_at != b->effective_at)
        return a->effective_at > b->effective_at;
    if ((d = strcmp(a->new_code, b->new_code)) != 0)
        return d < 0;
    return strcmp(a->id, b->id) < 0;
}

/* The row that applies to code, among rows[] and extra (may be NULL). */
static const pg_remap *rule_for(const pg_remap *rows, size_t n,
                                const pg_remap *extra, const char *code)
{
    const pg_remap *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i <= n; i++) {
        const pg_remap *r = i < n ? &rows[i] : extra;
        if (!r || !pg_division_contains(r->old_code, code))
            continue;
        size_t len = pg_tier_prefix_len(pg_division_tier(r->old_code));
        if (!best || preferred(r, len, best, best_len)) {
            best = r;
            best_len = len;
        }
    }
    return best;
}

static void resolve_rows(pg_resolution *out, const pg_remap *rows, size_t n,
                         const pg_remap *extra, const char *code)
{
    char seen[PG_REMAP_MAX_STEPS + 1][PG_CODE_LEN + 1];

    memset(out, 0, sizeof(*out));
    memcpy(out->code, code, PG_CODE_LEN + 1);
    memcpy(seen[0], code, PG_CODE_LEN + 1);
    for (size_t step = 0; step < PG_REMAP_MAX_STEPS; step++) {
        const pg_remap *r = rule_for(rows, n, extra, out->code);
        if (!r)
            return;
        size_t len = pg_tier_prefix_len(pg_division_tier(r->old_code));
        memcpy(out->code, r->new_code, len);
        out->steps[out->nsteps++] = *r;
        for (size_t i = 0; i <= step; i++)
            if (strcmp(seen[i], out->code) == 0) {
                memcpy(out->code, code, PG_CODE_LEN + 1);
                out->cycle = true;
                return;
            }
        memcpy(seen[step + 1], out->code, PG_CODE_LEN + 1);
    }
}

static int check_code(const char *code)
{
    char ex[PG_EXCERPT_SIZE];
    if (!code || strlen(code) != PG_CODE_LEN || !pg_division_valid(code))
        return pg_error_set(
            PG_EINVALID, PG_ERRCLASS_INVALID,
            "'%s' is not a 12-digit division code; a remap names two "
            "12-digit codes",
            pg_excerpt(ex, code ? code : "", code ? strlen(code) : 0));
    return 0;
}

int pg_division_explain(pg_node *node, const char *code, pg_resolution *out)
{
    remap_cache *c;
    int error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(out);
    memset(out, 0, sizeof(*out));
    if ((error = check_code(code)) < 0)
        return error;
    memcpy(out->code, code, PG_CODE_LEN + 1);
    if ((error = cache_load(&c, node)) < 0)
        return error;
    resolve_rows(out, c->rows, c->n, NULL, code);
    return 0;
}

int pg_division_resolve(pg_node *node, const char *code,
                        char out[PG_CODE_LEN + 1])
{
    pg_resolution *res = malloc(sizeof(*res));
    int error;

    PG_ASSERT_ARG(out);
    out[0] = 0;
    if (code && strlen(code) == PG_CODE_LEN)
        memcpy(out, code, PG_CODE_LEN + 1);
    if (!res)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    error = pg_division_explain(node, code, res);
    if (error == 0)
        memcpy(out, res->code, PG_CODE_LEN + 1);
    free(res);
    return error;
}

/* Resolve without the steps (the hot path of routing). */
static void resolve_fast(char out[PG_CODE_LEN + 1], const remap_cache *c,
                         const char *code)
{
    char seen[PG_REMAP_MAX_STEPS + 1][PG_CODE_LEN + 1];

    memcpy(out, code, PG_CODE_LEN + 1);
    memcpy(seen[0], code, PG_CODE_LEN + 1);
    for (size_t step = 0; step < PG_REMAP_MAX_STEPS; step++) {
        const pg_remap *r = rule_for(c->rows, c->n, NULL, out);
        if (!r)
            return;
        size_t len = pg_tier_prefix_len(pg_division_tier(r->old_code));
        memcpy(out, r->new_code, len);
        for (size_t i = 0; i <= step; i++)
            if (strcmp(seen[i], out) == 0) {
                memcpy(out, code, PG_CODE_LEN + 1);
                return;
            }
        memcpy(seen[step + 1], out, PG_CODE_LEN + 1);
    }
}

bool pg_division__within(const pg_node *node, const char *outer,
                         const char *inner)
{
    char ro[PG_CODE_LEN + 1], ri[PG_CODE_LEN + 1];
    remap_cache *c;

    if (pg_division_contains(outer, inner))
        return true;
    if (!pg_division_valid(outer) || !pg_division_valid(inner))
        return false;
    if (cache_load(&c, node) < 0) {
        pg_error_clear();
        return false;
    }
    if (c->n == 0)
        return false;
    resolve_fast(ro, c, outer);
    resolve_fast(ri, c, inner);
    return pg_division_contains(ro, ri);
}

static void sql_resolve(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const pg_node *node = sqlite3_user_data(ctx);
    const char *code = (const char *)sqlite3_value_text(argv[0]);
    char out[PG_CODE_LEN + 1];
    remap_cache *c;

    (void)argc;
    if (!code || !pg_division_valid(code) || cache_load(&c, node) < 0) {
        pg_error_clear();
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    resolve_fast(out, c, code);
    sqlite3_result_text(ctx, out, PG_CODE_LEN, SQLITE_TRANSIENT);
}

int pg_remap__register(pg_node *node)
{
    int rc = sqlite3_create_function(node->db, "pingan_resolve", 1,
                                     SQLITE_UTF8 | SQLITE_DIRECTONLY, node,
                                     sql_resolve, NULL, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "registering pingan_resolve");
    return 0;
}

/* --- receipt ------------------------------------------------------------ */

const char *pg_remap__check_txn(const char *origin, const char *division,
                                const char *old_code, const char *new_code)
{
    if (strcmp(origin, division) != 0)
        return "invalid: a division remap is filed under its issuer's code";
    if (!old_code || !new_code)
        return "invalid: a division remap names old_code and new_code "
               "(it is issued whole and never changed)";
    if (!pg_division_valid(old_code) || !pg_division_valid(new_code))
        return "invalid: a division remap names two well-formed codes";
    if (strcmp(old_code, new_code) == 0)
        return "invalid: a division remap maps a code to another";
    if (pg_division_tier(old_code) != pg_division_tier(new_code))
        return "invalid: a division remap maps a code to one of its tier";
    if (!pg_division_contains(origin, old_code) ||
        !pg_division_contains(origin, new_code) ||
        pg_division_contains(old_code, origin) ||
        pg_division_contains(new_code, origin))
        return "outside: the issuer of a division remap is an ancestor of "
               "both codes";
    return NULL;
}

/* --- writing ------------------------------------------------------------ */

/* The checks that need no store. */
static int check_new(const pg_node *node, const pg_remap *r)
{
    const char *self = node->card.code;
    int error;

    if ((error = check_code(r->old_code)) < 0 ||
        (error = check_code(r->new_code)) < 0)
        return error;
    if (strcmp(r->old_code, r->new_code) == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the old and the new code are the same (%s); "
                            "a remap names a retired code and the code "
                            "that replaces it",
                            r->old_code);
    if (pg_division_contains(r->old_code, self))
        return pg_error_set(
            PG_EPOLICY, PG_ERRCLASS_INVALID,
            "%s is this node's own code or an ancestor's; only a node "
            "above it may remap it",
            r->old_code);
    if (pg_division_contains(r->new_code, self))
        return pg_error_set(
            PG_EPOLICY, PG_ERRCLASS_INVALID,
            "%s is this node's own code or an ancestor's; a remap names "
            "a code inside this node's jurisdiction",
            r->new_code);
    if (!pg_division_contains(self, r->old_code))
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                            "%s lies outside this node's jurisdiction "
                            "(%s %s); a remap stays inside it",
                            r->old_code, self, node->card.name);
    if (!pg_division_contains(self, r->new_code))
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                            "%s lies outside this node's jurisdiction "
                            "(%s %s); a remap stays inside it",
                            r->new_code, self, node->card.name);
    if (pg_division_tier(r->old_code) != pg_division_tier(r->new_code))
        return pg_error_set(
            PG_EINVALID, PG_ERRCLASS_INVALID,
            "%s is a %s code and %s a %s code; a remap keeps the tier",
            r->old_code, pg_tier_name(pg_division_tier(r->old_code)),
            r->new_code, pg_tier_name(pg_division_tier(r->new_code)));
    return 0;
}

/* Inside the transaction: OLD not remapped yet (or, to correct, only by
 * this node and earlier), and no cycle once the remap is added. */
static int check_against(const pg_node *node, const remap_cache *c,
                         const pg_remap *r, bool correct)
{
    pg_resolution *res;

    for (size_t i = 0; i < c->n; i++) {
        const pg_remap *o = &c->rows[i];
        if (strcmp(o->old_code, r->old_code) != 0)
            continue;
        if (!correct)
            return pg_error_set(
                PG_EEXISTS, PG_ERRCLASS_INVALID,
                "%s is already remapped to %s by %s (record %s); to "
                "correct a remap this node issued, give --correct",
                o->old_code, o->new_code, o->issuer, o->id);
        if (strcmp(o->issuer, node->card.code) != 0)
            return pg_error_set(PG_EEXISTS, PG_ERRCLASS_INVALID,
                                "%s is already remapped to %s by %s "
                                "(record %s); only its issuer may "
                                "correct it",
                                o->old_code, o->new_code, o->issuer, o->id);
        if (o->effective_at >= r->effective_at)
            return pg_error_set(
                PG_EINVALID, PG_ERRCLASS_INVALID,
                "a correction takes effect after the remap it corrects "
                "(record %s); give a later --effective",
                o->id);
    }
    if (!(res = malloc(sizeof(*res))))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    for (size_t i = 0; i <= c->n; i++) {
        const char *start = i < c->n ? c->rows[i].old_code : r->old_code;
        resolve_rows(res, c->rows, c->n, r, start);
        if (res->cycle) {
            free(res);
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "remapping %s to %s would make a cycle "
                                "(%s is remapped back); nothing written",
                                r->old_code, r->new_code, start);
        }
    }
    free(res);
    return 0;
}

static void put_text(pg_field_value *v, size_t *n, const char *field,
                     const char *s)
{
    if (!s[0])
        return;
    v[*n].field = field;
    v[*n].value = (pg_value){.kind = PG_VALUE_TEXT, .s = s, .len = strlen(s)};
    (*n)++;
}

int pg_remap_put(pg_node *node, pg_remap *r, bool correct)
{
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), "division_remap");
    pg_field_value vals[8];
    size_t idx[8], n = 0;
    char division[PG_CODE_LEN + 1], id[PG_RECORD_ID_LEN + 1];
    remap_cache *c;
    int error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(r);
    if (!coll)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                            "this node runs schema version %u, which has no "
                            "division remaps; 'pingan schema upgrade' adds "
                            "them",
                            pg_node_schema(node)->version);
    if ((error = check_new(node, r)) < 0)
        return error;
    if (r->effective_at == 0)
        r->effective_at = pg_time_now_ms();
    memcpy(r->issuer, node->card.code, PG_CODE_LEN + 1);
    put_text(vals, &n, "division", r->issuer);
    put_text(vals, &n, "old_code", r->old_code);
    put_text(vals, &n, "new_code", r->new_code);
    put_text(vals, &n, "new_name", r->new_name);
    put_text(vals, &n, "reason", r->reason);
    vals[n].field = "effective_at";
    vals[n++].value = (pg_value){.kind = PG_VALUE_INT, .i = r->effective_at};
    put_text(vals, &n, "document_no", r->document_no);
    if ((error = pg_write__validate(idx, division, node, coll, vals, n, true)) <
        0)
        return error;

    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    pg_remap__invalidate(node);
    if ((error = cache_load(&c, node)) < 0 ||
        (error = check_against(node, c, r, correct)) < 0)
        goto done;
    if ((error = pg_write__create(id, node, coll, division, vals, idx, n,
                                  pg_audit__operator(node))) < 0)
        goto done;
    if ((error = pg_audit__record(
             node, "division.remap", r->old_code, "{s:s, s:s, s:s?, s:b}",
             "new_code", r->new_code, "record", id, "reason",
             r->reason[0] ? r->reason : NULL, "correct", correct)) < 0)
        goto done;
    error = pg_store__commit(node->db);
done:
    if (error < 0)
        pg_store__rollback(node->db);
    else
        memcpy(r->id, id, sizeof(id));
    pg_remap__invalidate(node);
    return error;
}

int pg_remap_list(pg_node *node, pg_remap_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    char sql[256];
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM division_remap WHERE _deleted = 0 "
             "ORDER BY old_code, division, effective_at, id",
             COLUMNS);
    if ((rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL)) != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading division remaps");
    while (error == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_remap r;
        row_read(&r, st);
        error = cb(&r, payload);
    }
    if (error == 0 && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading division remaps");
    sqlite3_finalize(st);
    return error;
}
