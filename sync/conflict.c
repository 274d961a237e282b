/*
 * Conflicts (include/pingan/conflict.h): reading the rows the merge keeps
 * up to date (node/write.c derives them from each field's history), and
 * resolving one by a local write that names both of its versions.
 *
 * Resolution, inside one write transaction:
 *   1. the conflict must be open and `keep` one of its versions;
 *   2. the field's current version V decides the second base: the write's
 *      base is V and its merged version is the conflict's version that V
 *      does not reach (V is usually one of them, or descends from one);
 *   3. the write itself is an ordinary local update (clock, sequence,
 *      txn, history, conflicts, log), so it replicates like any other,
 *      and every node that applies it finds a change reaching both
 *      versions: the conflict is resolved there too.
 */
#include "pingan/conflict.h"
#include "node_internal.h"
#include "audit_internal.h"
#include "store.h"
#include "write_internal.h"
#include "pingan/error.h"
#include "pingan/schema.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFLICT_COLUMNS                                                       \
    "id, coll, record_id, field, a_hlc, a_origin, a_value, b_hlc, b_origin, "  \
    "b_value, winner, resolved_hlc, resolved_origin, detected_ms"

static int conflict_damaged(const char *id)
{
    return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                        "the stored conflict %s is damaged", id);
}

static bool copy_text(char *out, size_t outlen, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= outlen)
        return false;
    if (n)
        memcpy(out, s, n);
    out[n] = 0;
    return true;
}

static void copy_version(pg_version *v, sqlite3_stmt *st, int col)
{
    memset(v, 0, sizeof(*v));
    v->hlc = (uint64_t)sqlite3_column_int64(st, col);
    if (!copy_text(v->origin, sizeof(v->origin), st, col + 1))
        v->origin[0] = 0;
}

/* A stored value as the field's typed value; text copied to *text. */
static int copy_value(pg_value *v, char **text, sqlite3_stmt *st, int col,
                      const pg_field *f)
{
    memset(v, 0, sizeof(*v));
    *text = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    v->kind = pg_type_kind(f->type);
    switch (v->kind) {
    case PG_VALUE_INT:
        v->i = sqlite3_column_int64(st, col);
        break;
    case PG_VALUE_REAL:
        v->r = sqlite3_column_double(st, col);
        break;
    case PG_VALUE_BOOL:
        v->b = sqlite3_column_int64(st, col) != 0;
        break;
    case PG_VALUE_TEXT: {
        const unsigned char *s = sqlite3_column_text(st, col);
        size_t n = (size_t)sqlite3_column_bytes(st, col);
        if (!(*text = malloc(n + 1)))
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        if (n)
            memcpy(*text, s, n);
        (*text)[n] = 0;
        v->s = *text;
        v->len = n;
        break;
    }
    default:
        break;
    }
    return 0;
}

static void conflict_clear(pg_conflict *c)
{
    free(c->text_a);
    free(c->text_b);
    memset(c, 0, sizeof(*c));
}

/* Fill from a row of CONFLICT_COLUMNS (texts freed first). */
static int conflict_from_row(pg_conflict *c, sqlite3_stmt *st)
{
    char winner[4];
    int error;

    conflict_clear(c);
    if (!copy_text(c->id, sizeof(c->id), st, 0))
        return conflict_damaged("?");
    const pg_collection *coll = NULL;
    const pg_field *f = NULL;
    if (copy_text(c->collection, sizeof(c->collection), st, 1))
        coll = pg_schema_collection(pg_schema_current(), c->collection);
    if (coll)
        f = pg_collection_field_at(coll, (size_t)sqlite3_column_int64(st, 3));
    if (!f || sqlite3_column_int64(st, 3) < 0 ||
        !copy_text(c->record_id, sizeof(c->record_id), st, 2) ||
        !copy_text(winner, sizeof(winner), st, 10) ||
        (strcmp(winner, "a") != 0 && strcmp(winner, "b") != 0))
        return conflict_damaged(c->id);
    snprintf(c->field, sizeof(c->field), "%s", f->name);
    copy_version(&c->a, st, 4);
    copy_version(&c->b, st, 7);
    copy_version(&c->resolved_by, st, 11);
    c->winner = winner[0];
    c->resolved = !pg_version_is_zero(&c->resolved_by);
    c->detected_ms = sqlite3_column_int64(st, 13);
    if ((error = copy_value(&c->value_a, &c->text_a, st, 6, f)) < 0 ||
        (error = copy_value(&c->value_b, &c->text_b, st, 9, f)) < 0)
        return error;
    return 0;
}

int pg_conflict_list(pg_node *node, bool all, pg_conflict_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    pg_conflict c;
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);

    memset(&c, 0, sizeof(c));
    rc = sqlite3_prepare_v2(node->db,
                            all ? "SELECT " CONFLICT_COLUMNS " FROM conflict "
                                  "ORDER BY detected_ms, id"
                                : "SELECT " CONFLICT_COLUMNS " FROM conflict "
                                  "WHERE resolved_hlc = 0 "
                                  "ORDER BY detected_ms, id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading conflicts");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((error = conflict_from_row(&c, st)) < 0 ||
            (error = cb(&c, payload)) != 0)
            break;
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading conflicts");
    sqlite3_finalize(st);
    conflict_clear(&c);
    return error;
}

static bool conflict_id_valid(const char *id)
{
    if (strlen(id) != PG_CONFLICT_ID_LEN)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Read a conflict into *c (inside or outside a transaction). */
static int conflict_read(pg_conflict *c, pg_node *node, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    if (!conflict_id_valid(id)) {
        char ex[PG_EXCERPT_SIZE];
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "'%s' is not a conflict id (16 hex digits, as "
                            "'pingan conflicts list' shows them)",
                            pg_excerpt(ex, id, strlen(id)));
    }
    rc = sqlite3_prepare_v2(
        node->db, "SELECT " CONFLICT_COLUMNS " FROM conflict WHERE id = ?", -1,
        &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading conflicts");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        error = conflict_from_row(c, st);
    else if (rc == SQLITE_DONE)
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                             "no conflict %s; 'pingan conflicts list --all' "
                             "shows them",
                             id);
    else
        error = pg_store__error(node->db, rc, "reading conflicts");
    sqlite3_finalize(st);
    return error;
}

int pg_conflict_get(pg_conflict **out, pg_node *node, const char *id)
{
    pg_conflict *c;
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(id);

    *out = NULL;
    if (!(c = calloc(1, sizeof(*c))))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if ((error = conflict_read(c, node, id)) < 0) {
        pg_conflict_free(c);
        return error;
    }
    *out = c;
    return 0;
}

void pg_conflict_free(pg_conflict *conflict)
{
    if (!conflict)
        return;
    conflict_clear(conflict);
    free(conflict);
}

/* The second base of a resolution: the version of the conflict that the
 * field's current version does not reach. */
static int resolve_merged(pg_version *merged, pg_node *node,
                          const pg_collection *coll, size_t fidx,
                          const pg_conflict *c, const pg_version *cur)
{
    bool ra, rb;
    int error;

    if (pg_version_cmp(cur, &c->a) == 0) {
        *merged = c->b;
        return 0;
    }
    if (pg_version_cmp(cur, &c->b) == 0) {
        *merged = c->a;
        return 0;
    }
    if ((error = pg_write__hist_reaches(&ra, node, coll, c->record_id, fidx,
                                        cur, &c->a)) < 0 ||
        (error = pg_write__hist_reaches(&rb, node, coll, c->record_id, fidx,
                                        cur, &c->b)) < 0)
        return error;
    if (ra && !rb) {
        *merged = c->b;
        return 0;
    }
    if (rb && !ra) {
        *merged = c->a;
        return 0;
    }
    char v[PG_VERSION_TEXT_MAX];
    pg_version_format(v, cur);
    if (ra && rb)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "conflict %s is already resolved by the current "
                            "version %s",
                            c->id, v);
    /* Refused like bad input (nothing changed, exit 2): the decision
     * must be made on the newer conflicts first. */
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "the field's current version %s is concurrent with "
                        "both versions of conflict %s; resolve the newer "
                        "conflicts of %s %s first ('pingan conflicts list')",
                        v, c->id, c->record_id, c->field);
}

int pg_conflict_resolve(pg_version *resolution_out, pg_node *node,
                        const char *id, const pg_version *keep,
                        const char *operator_name)
{
    pg_conflict c;
    pg_write_row row;
    pg_version merged;
    char v[PG_VERSION_TEXT_MAX];
    int error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(id);
    PG_ASSERT_ARG(keep);

    memset(&c, 0, sizeof(c));
    pg_write__row_init(&row);
    if ((error = pg_write__check_operator(operator_name)) < 0)
        return error;
    if ((error = pg_store__begin(node->db)) < 0) {
        pg_write__row_dispose(&row);
        return error;
    }
    if ((error = conflict_read(&c, node, id)) < 0)
        goto done;
    if (c.resolved) {
        pg_version_format(v, &c.resolved_by);
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "conflict %s was already resolved by %s; change "
                             "the field with 'pingan record put' instead",
                             c.id, v);
        goto done;
    }
    bool keep_a = pg_version_cmp(keep, &c.a) == 0;
    if (!keep_a && pg_version_cmp(keep, &c.b) != 0) {
        char va[PG_VERSION_TEXT_MAX], vb[PG_VERSION_TEXT_MAX];
        pg_version_format(v, keep);
        pg_version_format(va, &c.a);
        pg_version_format(vb, &c.b);
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "%s is not a version of conflict %s: keep a (%s) "
                             "or b (%s)",
                             v, c.id, va, vb);
        goto done;
    }
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), c.collection);
    size_t fidx;
    if (!coll || !pg_collection_field(coll, c.field, &fidx)) {
        error = conflict_damaged(c.id);
        goto done;
    }
    if ((error = pg_write__row_load(&row, node, coll, c.record_id, NULL)) < 0)
        goto done;
    if (!row.exists) {
        error = conflict_damaged(c.id);
        goto done;
    }
    pg_version cur;
    pg_store__versions_get(&cur, row.versions.data, row.versions.len, fidx);
    if ((error = resolve_merged(&merged, node, coll, fidx, &c, &cur)) < 0)
        goto done;
    pg_field_value fv = {.field = c.field,
                         .value = keep_a ? c.value_a : c.value_b};
    if ((error = pg_write__update(node, coll, c.record_id, &fv, 1,
                                  operator_name, &merged)) < 0)
        goto done;
    if (resolution_out) {
        /* The write's version: this node's clock as it just stored it. */
        int64_t hlc;
        if ((error = pg_store__meta_get_int(node->db, &node->stmts, "hlc",
                                            &hlc)) < 0)
            goto done;
        memset(resolution_out, 0, sizeof(*resolution_out));
        resolution_out->hlc = (uint64_t)hlc;
        memcpy(resolution_out->origin, node->card.code, PG_CODE_LEN + 1);
    }
    /* Which side was kept, by version: the values stay in the record. */
    char kept[PG_VERSION_TEXT_MAX];
    pg_version_format(kept, keep);
    if ((error = pg_audit__record_as(node, operator_name, "conflict.resolve",
                                     c.id, "{s:s, s:s, s:s, s:s, s:s}",
                                     "collection", c.collection, "record_id",
                                     c.record_id, "field", c.field, "kept",
                                     keep_a ? "a" : "b", "version", kept)) < 0)
        goto done;
    error = pg_store__commit(node->db);

done:
    if (error < 0)
        pg_store__rollback(node->db);
    pg_write__row_dispose(&row);
    conflict_clear(&c);
    return error;
}
