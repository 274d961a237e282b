/*
 * Reading records back from their tables: one row, or a filtered listing.
 * Values come back typed by the schema; a NULL column is an absent value.
 */
#include "pingan/record.h"
#include "node_internal.h"
#include "write_internal.h"
#include "store.h"
#include "pingan/error.h"

#include <stdlib.h>
#include <string.h>

void pg_record_free(pg_record *rec)
{
    if (!rec)
        return;
    if (rec->texts)
        for (size_t i = 0; i < rec->nvalues; i++)
            free(rec->texts[i]);
    free(rec->texts);
    free(rec->values);
    free(rec->versions);
    free(rec);
}

static int record_alloc(pg_record **out, const pg_collection *coll)
{
    pg_record *rec = calloc(1, sizeof(*rec));
    if (rec) {
        rec->coll = coll;
        rec->nvalues = coll->nfields + 1;
        rec->values = calloc(rec->nvalues, sizeof(*rec->values));
        rec->versions = calloc(rec->nvalues, sizeof(*rec->versions));
        rec->texts = calloc(rec->nvalues, sizeof(*rec->texts));
    }
    if (!rec || !rec->values || !rec->versions || !rec->texts) {
        pg_record_free(rec);
        *out = NULL;
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    }
    *out = rec;
    return 0;
}

/* SELECT id, f..., _deleted, _v: fill a record from the current row. */
static int record_fill(pg_record *rec, sqlite3_stmt *st)
{
    const pg_collection *coll = rec->coll;

    for (size_t i = 0; i < rec->nvalues; i++) {
        free(rec->texts[i]);
        rec->texts[i] = NULL;
    }
    const char *id = (const char *)sqlite3_column_text(st, 0);
    if (!id || strlen(id) > PG_RECORD_ID_LEN)
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "a %s row has no valid id; the store is damaged",
                            coll->name);
    memcpy(rec->id, id, strlen(id) + 1);
    for (size_t f = 0; f < rec->nvalues; f++) {
        const pg_field *fd = pg_collection_field_at(coll, f);
        int col = (int)f + 1;
        pg_value *v = &rec->values[f];
        memset(v, 0, sizeof(*v));
        if (sqlite3_column_type(st, col) == SQLITE_NULL)
            continue;
        v->kind = pg_type_kind(fd->type);
        switch (v->kind) {
        case PG_VALUE_INT:
            v->i = sqlite3_column_int64(st, col);
            break;
        case PG_VALUE_REAL:
            v->r = sqlite3_column_double(st, col);
            break;
        case PG_VALUE_BOOL:
            v->b = sqlite3_column_int(st, col) != 0;
            break;
        case PG_VALUE_TEXT: {
            const unsigned char *t = sqlite3_column_text(st, col);
            size_t n = (size_t)sqlite3_column_bytes(st, col);
            rec->texts[f] = malloc(n + 1);
            if (!rec->texts[f])
                return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                    "out of memory");
            memcpy(rec->texts[f], t, n);
            rec->texts[f][n] = 0;
            v->s = rec->texts[f];
            v->len = n;
            break;
        }
        default:
            break;
        }
    }
    const uint8_t *blob = sqlite3_column_blob(st, (int)rec->nvalues + 1);
    size_t blen = (size_t)sqlite3_column_bytes(st, (int)rec->nvalues + 1);
    for (size_t f = 0; f < rec->nvalues; f++)
        pg_store__versions_get(&rec->versions[f], blob, blen, f);
    return 0;
}

static int select_sql(pg_buf *sql, const pg_collection *coll)
{
    int error = pg_buf_puts(sql, "SELECT id");
    for (size_t f = 0; !error && f < coll->nfields; f++)
        error = pg_buf_printf(sql, ", \"%s\"", coll->fields[f].name);
    if (!error)
        error = pg_buf_printf(sql, ", _deleted, _v FROM \"%s\"", coll->name);
    return error;
}

int pg_record_get(pg_record **out, pg_node *node, const char *collection,
                  const char *id)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    pg_record *rec = NULL;
    int rc, error;

    *out = NULL;
    const pg_collection *coll = pg_write__find_collection(node, collection);
    if (!coll)
        return PG_EINVALID;
    if ((error = select_sql(&sql, coll)) < 0 ||
        (error = pg_buf_puts(&sql, " WHERE id = ?")) < 0)
        goto done;
    rc = sqlite3_prepare_v2(node->db, (const char *)sql.data, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "reading a record");
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        char ex[PG_EXCERPT_SIZE];
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                             "no %s record with id %s", coll->name,
                             pg_excerpt(ex, id, strlen(id)));
        goto done;
    }
    if (rc != SQLITE_ROW) {
        error = pg_store__error(node->db, rc, "reading a record");
        goto done;
    }
    if ((error = record_alloc(&rec, coll)) < 0 ||
        (error = record_fill(rec, st)) < 0)
        goto done;
    *out = rec;
    rec = NULL;

done:
    sqlite3_finalize(st);
    pg_buf_dispose(&sql);
    pg_record_free(rec);
    return error;
}

int pg_record_list(pg_node *node, const char *collection,
                   const pg_field_value *where, size_t nwhere, size_t limit,
                   bool include_deleted, pg_record_cb cb, void *payload)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    pg_record *rec = NULL;
    int rc, error;
    bool first = true;

    const pg_collection *coll = pg_write__find_collection(node, collection);
    if (!coll)
        return PG_EINVALID;
    if ((error = select_sql(&sql, coll)) < 0)
        goto done;
    for (size_t i = 0; i < nwhere; i++) {
        const pg_field *f = pg_collection_field(coll, where[i].field, NULL);
        if (!f) {
            char ex[PG_EXCERPT_SIZE];
            error = pg_error_set(
                PG_EINVALID, PG_ERRCLASS_SCHEMA,
                "collection '%s' has no field '%s'", coll->name,
                pg_excerpt(ex, where[i].field, strlen(where[i].field)));
            goto done;
        }
        if (where[i].value.kind == PG_VALUE_ABSENT)
            error = pg_buf_printf(&sql, " %s \"%s\" IS NULL",
                                  first ? "WHERE" : "AND", f->name);
        else
            error = pg_buf_printf(&sql, " %s \"%s\" = ?",
                                  first ? "WHERE" : "AND", f->name);
        first = false;
        if (error)
            goto done;
    }
    if (!include_deleted)
        error =
            pg_buf_printf(&sql, " %s _deleted = 0", first ? "WHERE" : "AND");
    if (!error)
        error = pg_buf_puts(&sql, " ORDER BY id");
    if (!error && limit)
        error = pg_buf_printf(&sql, " LIMIT %zu", limit);
    if (error)
        goto done;
    rc = sqlite3_prepare_v2(node->db, (const char *)sql.data, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "listing records");
        goto done;
    }
    int b = 1;
    for (size_t i = 0; i < nwhere; i++)
        if (where[i].value.kind != PG_VALUE_ABSENT)
            pg_write__bind(st, b++, &where[i].value);
    if ((error = record_alloc(&rec, coll)) < 0)
        goto done;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((error = record_fill(rec, st)) < 0)
            goto done;
        if ((error = cb(rec, payload)) != 0)
            goto done;
    }
    if (rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "listing records");

done:
    sqlite3_finalize(st);
    pg_buf_dispose(&sql);
    pg_record_free(rec);
    return error;
}
