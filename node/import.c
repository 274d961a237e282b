/*
 * Bulk writes: many new records, one txn per division and batch, all in
 * one SQLite transaction (DESIGN §3).
 *
 * Records are validated as they are added and queued; when a batch is
 * full it is sorted by division (stably, so ids stay in input order) and
 * each run of one division becomes one or more txns, split to stay within
 * PG_TXN_MAX_CHANGES and PG_TXN_MAX_BYTES.  Memory is bounded by one
 * batch, whatever the size of the input.
 */
#include "write_internal.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/error.h"
#include "pingan/hlc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Leave room for the txn header and the per-change framing. */
#define TXN_BYTES_BUDGET (PG_TXN_MAX_BYTES - 8 * 1024)
#define CHANGE_OVERHEAD  48
#define JSONL_LINE_MAX   (1024 * 1024)

typedef struct queued {
    size_t n;
    size_t order; /* position in the batch, for a stable sort */
    size_t bytes; /* estimated encoded size */
    pg_field_value *values;
    size_t *idx;
    char division[PG_CODE_LEN + 1];
    char id[PG_RECORD_ID_LEN + 1];
} queued;

struct pg_import {
    pg_node *node;
    const pg_collection *coll;
    char *operator_name;
    size_t batch;
    queued **q;
    size_t nq;
    pg_txn *txn;
    pg_buf scratch;
    pg_buf vblob;
    sqlite3_stmt *ins_st;
    sqlite3_stmt *log_st;
    uint64_t hlc;
    int64_t last_seq;
    bool began;
    bool failed;
    pg_import_stats stats;
};

static void queued_free(queued *r)
{
    free(r);
}

void pg_import_free(pg_import *imp)
{
    if (!imp)
        return;
    sqlite3_finalize(imp->ins_st);
    sqlite3_finalize(imp->log_st);
    if (imp->began)
        pg_store__rollback(imp->node->db);
    for (size_t i = 0; i < imp->nq; i++)
        queued_free(imp->q[i]);
    free(imp->q);
    pg_txn_free(imp->txn);
    pg_buf_dispose(&imp->scratch);
    pg_buf_dispose(&imp->vblob);
    free(imp->operator_name);
    free(imp);
}

int pg_import_begin(pg_import **out, pg_node *node, const char *collection,
                    size_t batch, const char *operator_name)
{
    pg_import *imp = NULL;
    int64_t hlc;
    int error;

    *out = NULL;
    const pg_collection *coll = pg_write__collection(collection);
    if (!coll)
        return PG_EINVALID;
    if ((error = pg_write__check_operator(operator_name)) < 0)
        return error;
    size_t oplen = strlen(operator_name);
    if (batch == 0 || batch > PG_IMPORT_BATCH_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "batch must be 1 to %d records",
                            PG_IMPORT_BATCH_MAX);
    imp = calloc(1, sizeof(*imp));
    if (!imp || !(imp->q = calloc(batch, sizeof(*imp->q))) ||
        !(imp->operator_name = malloc(oplen + 1))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    memcpy(imp->operator_name, operator_name, oplen + 1);
    imp->node = node;
    imp->coll = coll;
    imp->batch = batch;
    pg_buf_init(&imp->scratch, PG_TXN_MAX_BYTES * 2);
    pg_buf_init(&imp->vblob, 64 * 1024);
    if ((error = pg_txn_new(&imp->txn)) < 0)
        goto done;

    if ((error = pg_write__prepare_insert(&imp->ins_st, node->db, coll)) < 0)
        goto done;
    if ((error = pg_store__begin(node->db)) < 0)
        goto done;
    imp->began = true;
    if ((error = pg_store__meta_get_int(node->db, "hlc", &hlc)) < 0 ||
        (error = pg_store__meta_get_int(node->db, "last_seq", &imp->last_seq)) <
            0)
        goto done;
    imp->hlc = (uint64_t)hlc;
    *out = imp;
    imp = NULL;

done:
    pg_import_free(imp);
    return error;
}

static int queued_cmp(const void *a, const void *b)
{
    const queued *x = *(const queued *const *)a;
    const queued *y = *(const queued *const *)b;
    int c = strcmp(x->division, y->division);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int import_emit(pg_import *imp)
{
    int error;

    if (imp->txn->nchanges == 0)
        return 0;
    if ((error = pg_write__log_append(imp->node, imp->txn, &imp->scratch,
                                      &imp->log_st)) < 0)
        return error;
    imp->stats.txns++;
    pg_txn_reset(imp->txn);
    return 0;
}

static int import_start_txn(pg_import *imp, const char *division)
{
    imp->hlc = pg_hlc_tick(imp->hlc, pg_time_now_ms());
    imp->last_seq++;
    pg_txn_reset(imp->txn);
    imp->txn->schema_version = PG_SCHEMA_VERSION;
    return pg_txn_set_header(imp->txn, imp->node->card.code,
                             imp->node->card.key_id, (uint64_t)imp->last_seq,
                             imp->hlc, division, imp->coll->name,
                             imp->operator_name);
}

static int import_row(pg_import *imp, const queued *r)
{
    sqlite3_stmt *st = imp->ins_st;
    const pg_collection *coll = imp->coll;
    pg_version ver = {.hlc = imp->txn->hlc};
    pg_version zero = {0};
    int rc, error;

    memcpy(ver.origin, imp->node->card.code, PG_CODE_LEN + 1);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, (int)coll->nfields + 2, 0);
    pg_buf_clear(&imp->vblob);
    for (size_t i = 0; i < r->n; i++) {
        pg_write__bind(st, (int)r->idx[i] + 2, &r->values[i].value);
        if ((error = pg_store__versions_set(&imp->vblob, r->idx[i], &ver)) <
                0 ||
            (error = pg_txn_add(imp->txn, r->id, r->values[i].field,
                                &r->values[i].value, &zero)) < 0)
            return error;
    }
    sqlite3_bind_blob(st, (int)coll->nfields + 3, imp->vblob.data,
                      (int)imp->vblob.len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return pg_store__error(imp->node->db, rc, "inserting a record");
    imp->stats.records++;
    return 0;
}

static int import_flush(pg_import *imp)
{
    size_t changes = 0, bytes = 0;
    const char *division = NULL;
    int error = 0;

    qsort(imp->q, imp->nq, sizeof(*imp->q), queued_cmp);
    for (size_t i = 0; i < imp->nq && !error; i++) {
        queued *r = imp->q[i];
        bool same = division && strcmp(division, r->division) == 0;
        if (!same || changes + r->n > PG_TXN_MAX_CHANGES ||
            bytes + r->bytes > TXN_BYTES_BUDGET) {
            if ((error = import_emit(imp)) < 0 ||
                (error = import_start_txn(imp, r->division)) < 0)
                break;
            changes = bytes = 0;
            division = r->division;
        }
        error = import_row(imp, r);
        changes += r->n;
        bytes += r->bytes;
    }
    if (!error)
        error = import_emit(imp);
    for (size_t i = 0; i < imp->nq; i++)
        queued_free(imp->q[i]);
    imp->nq = 0;
    return error;
}

int pg_import_add(pg_import *imp, const pg_field_value *values, size_t n,
                  char id_out[PG_RECORD_ID_LEN + 1])
{
    size_t idx_local[256];
    size_t *idx = idx_local;
    const char *division;
    int error;

    if (imp->failed)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_INVALID,
                            "import already failed");
    if (n > 256)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "too many fields in one record");
    if ((error = pg_write__validate(idx, &division, imp->node, imp->coll,
                                    values, n, true)) < 0)
        return error;

    /* One allocation holds the queued record, its values, field indices
     * and a copy of every text. */
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i].value.kind == PG_VALUE_TEXT)
            text += values[i].value.len + 1;
    size_t size =
        sizeof(queued) + n * sizeof(pg_field_value) + n * sizeof(size_t) + text;
    queued *r = malloc(size);
    if (!r)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    r->n = n;
    r->order = imp->nq;
    r->values = (pg_field_value *)(r + 1);
    r->idx = (size_t *)(r->values + n);
    char *p = (char *)(r->idx + n);
    r->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        r->idx[i] = idx[i];
        r->values[i].field = imp->coll->fields[idx[i]].name;
        r->values[i].value = values[i].value;
        r->bytes +=
            CHANGE_OVERHEAD + PG_RECORD_ID_LEN + strlen(r->values[i].field);
        if (values[i].value.kind == PG_VALUE_TEXT) {
            memcpy(p, values[i].value.s, values[i].value.len);
            p[values[i].value.len] = 0;
            r->values[i].value.s = p;
            p += values[i].value.len + 1;
            r->bytes += values[i].value.len;
        }
    }
    memcpy(r->division, division, PG_CODE_LEN);
    r->division[PG_CODE_LEN] = 0;
    memcpy(r->id, imp->node->card.code, PG_CODE_LEN);
    r->id[PG_CODE_LEN] = '-';
    pg_ulid_make(r->id + PG_CODE_LEN + 1, &imp->node->ulid, pg_time_now_ms());
    if (id_out)
        memcpy(id_out, r->id, PG_RECORD_ID_LEN + 1);
    imp->q[imp->nq++] = r;
    if (imp->nq == imp->batch && (error = import_flush(imp)) < 0) {
        imp->failed = true;
        return error;
    }
    return 0;
}

int pg_import_commit(pg_import *imp, pg_import_stats *stats_out)
{
    int error;

    if (imp->failed)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_INVALID,
                            "import already failed");
    if ((error = import_flush(imp)) < 0)
        goto fail;
    if ((error = pg_store__meta_set_int(imp->node->db, "hlc",
                                        (int64_t)imp->hlc)) < 0 ||
        (error = pg_store__meta_set_int(imp->node->db, "last_seq",
                                        imp->last_seq)) < 0)
        goto fail;
    sqlite3_finalize(imp->ins_st);
    sqlite3_finalize(imp->log_st);
    imp->ins_st = imp->log_st = NULL;
    if ((error = pg_store__commit(imp->node->db)) < 0)
        goto fail;
    imp->began = false;
    if (stats_out)
        *stats_out = imp->stats;
    return 0;
fail:
    imp->failed = true;
    return error;
}

/* --- JSON lines ------------------------------------------------------ */

/* Convert one JSON value into a typed value for a field. */
static int json_to_value(pg_value *out, char **owned, const pg_field *f,
                         json_t *j)
{
    pg_value_kind kind = pg_type_kind(f->type);

    *owned = NULL;
    memset(out, 0, sizeof(*out));
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->kind = PG_VALUE_ABSENT;
        return 0;
    case JSON_STRING:
        return pg_value_parse(out, owned, f, json_string_value(j));
    case JSON_INTEGER:
        if (kind == PG_VALUE_INT) {
            out->kind = PG_VALUE_INT;
            out->i = (int64_t)json_integer_value(j);
            return 0;
        }
        if (kind == PG_VALUE_REAL) {
            out->kind = PG_VALUE_REAL;
            out->r = (double)json_integer_value(j);
            return 0;
        }
        break;
    case JSON_REAL:
        if (kind == PG_VALUE_REAL) {
            out->kind = PG_VALUE_REAL;
            out->r = json_real_value(j);
            return 0;
        }
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        if (kind == PG_VALUE_BOOL) {
            out->kind = PG_VALUE_BOOL;
            out->b = json_is_true(j);
            return 0;
        }
        break;
    default:
        break;
    }
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "field '%s' (%s) cannot take that JSON value", f->name,
                        pg_type_name(f->type));
}

static int import_line(pg_import *imp, const char *line, size_t len)
{
    json_error_t jerr;
    pg_field_value values[256];
    char *owned[256];
    size_t n = 0;
    int error = 0;

    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o)) {
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "not a JSON object: %s",
                             o ? "another JSON value" : jerr.text);
        json_decref(o);
        return error;
    }
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        const pg_field *f = pg_collection_field(imp->coll, key, NULL);
        if (!f || n == 256) {
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                                 "collection '%s' has no field '%s'",
                                 imp->coll->name, key);
            break;
        }
        if ((error = json_to_value(&values[n].value, &owned[n], f, val)) < 0)
            break;
        values[n].field = f->name;
        n++;
    }
    if (!error)
        error = pg_import_add(imp, values, n, NULL);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    json_decref(o);
    return error;
}

int pg_record_import_jsonl(pg_import_stats *stats_out, pg_node *node,
                           const char *collection, FILE *in, size_t batch,
                           const char *operator_name,
                           pg_import_progress_cb progress, void *payload)
{
    pg_import *imp = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int error;

    if ((error =
             pg_import_begin(&imp, node, collection, batch, operator_name)) < 0)
        return error;
    while ((len = getline(&line, &cap, in)) >= 0) {
        imp->stats.lines++;
        imp->stats.bytes += (uint64_t)len;
        if (len > JSONL_LINE_MAX) {
            error = pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                                 "line %llu: longer than %d bytes",
                                 (unsigned long long)imp->stats.lines,
                                 JSONL_LINE_MAX);
            goto done;
        }
        size_t n = (size_t)len;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == n)
            continue; /* blank line */
        if ((error = import_line(imp, line, n)) < 0) {
            char msg[sizeof(pg_error_last()->message)];
            snprintf(msg, sizeof(msg), "%s", pg_error_last()->message);
            error = pg_error_set(error, PG_ERRCLASS_INVALID,
                                 "line %llu: %s; nothing was imported",
                                 (unsigned long long)imp->stats.lines, msg);
            goto done;
        }
        if (progress && imp->stats.lines % 1000 == 0)
            progress(&imp->stats, payload);
    }
    if (ferror(in)) {
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "error reading input");
        goto done;
    }
    if ((error = pg_import_commit(imp, stats_out)) < 0)
        goto done;
    if (progress)
        progress(&imp->stats, payload);

done:
    free(line);
    pg_import_free(imp);
    return error;
}
