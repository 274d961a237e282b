/*
 * Local writes: validation, the txn, and the materialised record rows, all
 * in one SQLite transaction.
 *
 * Order of a write (single record or bulk):
 *   1. validate every value against the schema (nothing touched yet);
 *   2. BEGIN IMMEDIATE (takes the write lock, so two processes serialise;
 *      after the busy timeout the caller gets PG_EBUSY);
 *   3. read the clock and the last origin sequence from `meta` inside the
 *      transaction (another process may have written since we opened);
 *   4. per txn: tick the HLC, take the next sequence number, build the
 *      changes with their base versions, update the record rows and their
 *      packed versions, seal, sign, encode, append to `log`;
 *   5. store the clock and sequence, COMMIT.  Any failure rolls back, so a
 *      sequence number is never used by a write that did not commit.
 */
#include "write_internal.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/error.h"
#include "pingan/hlc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- shared helpers ------------------------------------------------- */

int pg_write__bind(sqlite3_stmt *st, int idx, const pg_value *v)
{
    switch (v->kind) {
    case PG_VALUE_INT:
        return sqlite3_bind_int64(st, idx, v->i);
    case PG_VALUE_REAL:
        return sqlite3_bind_double(st, idx, v->r == 0 ? 0.0 : v->r);
    case PG_VALUE_BOOL:
        return sqlite3_bind_int(st, idx, v->b ? 1 : 0);
    case PG_VALUE_TEXT:
        return sqlite3_bind_text(st, idx, v->s, (int)v->len, SQLITE_STATIC);
    default:
        return sqlite3_bind_null(st, idx);
    }
}

const pg_collection *pg_write__find_collection(const char *name)
{
    char ex[PG_EXCERPT_SIZE];
    const pg_collection *coll = pg_schema_collection(pg_schema_current(), name);
    if (!coll)
        pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                     "unknown collection '%s'; 'pingan schema' lists them",
                     pg_excerpt(ex, name, strlen(name)));
    return coll;
}

const pg_collection *pg_write__collection(const char *name)
{
    const pg_collection *coll = pg_write__find_collection(name);
    if (!coll)
        return NULL;
    if (coll->system) {
        pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                     "collection '%s' is written by pingan itself", name);
        return NULL;
    }
    return coll;
}

int pg_write__check_operator(const char *op)
{
    size_t n = op ? strlen(op) : 0;
    if (n == 0 || n > PG_OPERATOR_MAX || !pg_label_valid(op, n))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                            "operator must be 1 to %d bytes of UTF-8 on one "
                            "line, without control characters; give "
                            "--operator or set PINGAN_OPERATOR",
                            PG_OPERATOR_MAX);
    return 0;
}

/*
 * Validate the values of one write.  Resolves each field to its index in
 * idx[] and, on create, returns the division.  Nothing is touched.
 */
int pg_write__validate(size_t *idx, char division_out[PG_CODE_LEN + 1],
                       const pg_node *node, const pg_collection *coll,
                       const pg_field_value *values, size_t n, bool create)
{
    char division[PG_CODE_LEN + 1] = "";
    int error;

    if (n == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "no fields given: write FIELD=VALUE ...");
    if (n > PG_TXN_MAX_CHANGES)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                            "too many fields in one write");
    for (size_t i = 0; i < n; i++) {
        const pg_field *f = pg_collection_field(coll, values[i].field, &idx[i]);
        if (!f) {
            char ex[PG_EXCERPT_SIZE];
            return pg_error_set(
                PG_EINVALID, PG_ERRCLASS_SCHEMA,
                "collection '%s' has no field '%s'; 'pingan schema %s' lists "
                "its fields",
                coll->name,
                pg_excerpt(ex, values[i].field, strlen(values[i].field)),
                coll->name);
        }
        for (size_t j = 0; j < i; j++)
            if (idx[j] == idx[i])
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                    "field '%s' given twice", f->name);
        if ((error = pg_value_check(f, &values[i].value)) < 0)
            return error;
        if (f->required && values[i].value.kind == PG_VALUE_ABSENT)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "%s (%s) is required and cannot be cleared",
                                f->name, f->title);
        if (idx[i] == 0) {
            if (values[i].value.kind != PG_VALUE_TEXT)
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                    "division cannot be cleared");
            /* Text values need not be NUL-terminated: copy the code. */
            if (values[i].value.len != PG_CODE_LEN)
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                    "division must be 12 digits");
            memcpy(division, values[i].value.s, PG_CODE_LEN);
            division[PG_CODE_LEN] = 0;
        }
        if (create && idx[i] == coll->nfields)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "a new record cannot be written deleted");
        if (f->type == PG_TYPE_COUNTER && values[i].value.kind != PG_VALUE_INT)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "counter '%s' takes an increment, it cannot "
                                "be cleared",
                                f->name);
    }
    if (create) {
        if (!division[0])
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "a new %s record needs division=CODE (12 "
                                "digits)",
                                coll->name);
        if (!pg_division_contains(node->card.code, division))
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                                "division %s lies outside this node's "
                                "jurisdiction (%s %s)",
                                division, node->card.code, node->card.name);
        if (coll->cap != PG_TIER_NONE && node->card.tier < coll->cap)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                                "%s records stay at or below the %s tier; "
                                "this node is a %s",
                                coll->name, pg_tier_name(coll->cap),
                                pg_tier_name(node->card.tier));
        for (size_t f = 0; f < coll->nfields; f++) {
            if (!coll->fields[f].required)
                continue;
            bool found = false;
            for (size_t i = 0; i < n; i++)
                if (idx[i] == f && values[i].value.kind != PG_VALUE_ABSENT)
                    found = true;
            if (!found)
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                    "a new %s record needs %s (%s)", coll->name,
                                    coll->fields[f].name,
                                    coll->fields[f].title);
        }
    }
    memcpy(division_out, division, PG_CODE_LEN + 1);
    return 0;
}

#define SQL_LOG_INSERT                                                         \
    "INSERT INTO log(origin, origin_seq, digest, hlc, collection, division, "  \
    "operator, nchanges, body, received_at) VALUES(?,?,?,?,?,?,?,?,?,?)"

int pg_write__clock_load(pg_write_clock *clk, pg_node *node)
{
    int64_t hlc;
    int error;

    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "hlc", &hlc)) <
            0 ||
        (error = pg_store__meta_get_int(node->db, &node->stmts, "last_seq",
                                        &clk->last_seq)) < 0)
        return error;
    /* A clock or sequence that could wrap would sign txns that no reader
     * accepts: refuse to write rather than poison the log. */
    if (hlc < 0 || clk->last_seq < 0 || clk->last_seq >= INT64_MAX / 2)
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "the store's clock or sequence number is "
                            "damaged (hlc %lld, seq %lld); restore the node "
                            "from a backup",
                            (long long)hlc, (long long)clk->last_seq);
    clk->hlc = (uint64_t)hlc;
    return 0;
}

int pg_write__clock_save(const pg_write_clock *clk, pg_node *node)
{
    int error;
    if ((error = pg_store__meta_set_int(node->db, &node->stmts, "hlc",
                                        (int64_t)clk->hlc)) < 0 ||
        (error = pg_store__meta_set_int(node->db, &node->stmts, "last_seq",
                                        clk->last_seq)) < 0)
        return error;
    return 0;
}

int pg_write__seal(pg_buf *body, pg_txn *txn, const uint8_t *sign_sk)
{
    int error;

    if ((error = pg_txn_seal(txn)) < 0)
        return error;
    pg_txn_sign(txn, sign_sk);
    pg_buf_clear(body);
    if ((error = pg_txn_encode(body, txn)) < 0)
        return error;
    if (body->len > PG_TXN_MAX_BYTES)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_TXN,
                            "a txn of %zu bytes exceeds the %d-byte limit; "
                            "write fewer or smaller values at once",
                            body->len, PG_TXN_MAX_BYTES);
    return 0;
}

int pg_write__log_insert(pg_node *node, const pg_txn *txn, const pg_buf *body)
{
    sqlite3_stmt *st;
    bool owned;
    int error =
        pg_store__cached(&st, &owned, &node->stmts, node->db, SQL_LOG_INSERT);
    if (error < 0)
        return error;
    sqlite3_bind_text(st, 1, txn->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)txn->seq);
    sqlite3_bind_blob(st, 3, txn->digest, PG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)txn->hlc);
    sqlite3_bind_text(st, 5, txn->collection, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, txn->division, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, txn->operator_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)txn->nchanges);
    sqlite3_bind_blob(st, 9, body->data, (int)body->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, pg_time_now_ms());
    return pg_store__step_done(st, owned, node->db, "appending to the log");
}

int pg_write__start_txn(pg_txn *txn, pg_node *node, pg_write_clock *clk,
                        const char *division, const pg_collection *coll,
                        const char *operator_name)
{
    clk->hlc = pg_hlc_tick(clk->hlc, pg_time_now_ms());
    clk->last_seq++;
    pg_txn_reset(txn);
    return pg_txn_set_header(txn, node->card.code, node->card.key_id,
                             (uint64_t)clk->last_seq, clk->hlc, division,
                             coll->name, operator_name);
}

/* The INSERT statement of a collection's table, prepared once per node:
 * INSERT INTO coll(id, f..., _deleted, _v) VALUES(?...). */
static int insert_stmt(sqlite3_stmt **out, pg_node *node,
                       const pg_collection *coll)
{
    pg_buf sql = PG_BUF_INIT;
    int error = 0;

    for (size_t i = 0; i < node->ninsert; i++)
        if (node->insert_coll[i] == coll) {
            *out = node->insert_st[i];
            sqlite3_reset(*out);
            sqlite3_clear_bindings(*out);
            return 0;
        }
    if (node->ninsert == sizeof(node->insert_st) / sizeof(node->insert_st[0]))
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_STORE,
                            "too many collections");
    error = pg_buf_printf(&sql, "INSERT INTO \"%s\"(id", coll->name);
    for (size_t f = 0; !error && f < coll->nfields; f++)
        error = pg_buf_printf(&sql, ", \"%s\"", coll->fields[f].name);
    if (!error)
        error = pg_buf_puts(&sql, ", _deleted, _v) VALUES(?");
    for (size_t f = 0; !error && f < coll->nfields + 2; f++)
        error = pg_buf_puts(&sql, ", ?");
    if (!error)
        error = pg_buf_puts(&sql, ")");
    if (!error) {
        int rc = sqlite3_prepare_v3(node->db, (const char *)sql.data, -1,
                                    SQLITE_PREPARE_PERSISTENT, out, NULL);
        if (rc != SQLITE_OK)
            error = pg_store__error(node->db, rc, "preparing a record insert");
    }
    if (!error) {
        node->insert_coll[node->ninsert] = coll;
        node->insert_st[node->ninsert++] = *out;
    }
    pg_buf_dispose(&sql);
    return error;
}

int pg_write__insert_row(pg_node *node, const pg_collection *coll,
                         const char *id, const pg_field_value *values,
                         const size_t *idx, size_t n, const pg_version *ver,
                         pg_buf *vblob)
{
    sqlite3_stmt *st;
    int error;

    if ((error = insert_stmt(&st, node, coll)) < 0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, (int)coll->nfields + 2, 0);
    pg_buf_clear(vblob);
    for (size_t i = 0; i < n; i++) {
        pg_write__bind(st, (int)idx[i] + 2, &values[i].value);
        if ((error = pg_store__versions_set(vblob, idx[i], ver)) < 0) {
            sqlite3_reset(st);
            return error;
        }
    }
    sqlite3_bind_blob(st, (int)coll->nfields + 3, vblob->data, (int)vblob->len,
                      SQLITE_STATIC);
    return pg_store__step_done(st, false, node->db, "inserting a record");
}

/* --- single-record writes ------------------------------------------- */

typedef struct current_row {
    char division[PG_CODE_LEN + 1];
    bool deleted;
    pg_buf versions;
} current_row;

static int load_row(current_row *row, pg_node *node, const pg_collection *coll,
                    const char *id)
{
    char sql[256];
    sqlite3_stmt *st;
    bool owned;
    int rc, error = 0;

    snprintf(sql, sizeof(sql),
             "SELECT division, _deleted, _v FROM \"%s\" WHERE id = ?",
             coll->name);
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db, sql)) <
        0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        snprintf(row->division, sizeof(row->division), "%s", d ? d : "");
        row->deleted = sqlite3_column_int(st, 1) != 0;
        error = pg_buf_put(&row->versions, sqlite3_column_blob(st, 2),
                           (size_t)sqlite3_column_bytes(st, 2));
    } else if (rc == SQLITE_DONE) {
        char ex[PG_EXCERPT_SIZE];
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                             "no %s record with id %s", coll->name,
                             pg_excerpt(ex, id, strlen(id)));
    } else {
        error = pg_store__error(node->db, rc, "reading a record");
    }
    pg_store__release(st, owned);
    return error;
}

static int update_row(pg_node *node, const pg_collection *coll, const char *id,
                      const pg_field_value *values, const size_t *idx, size_t n,
                      const pg_buf *vblob)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    bool owned = false;
    int error;

    error = pg_buf_printf(&sql, "UPDATE \"%s\" SET _v = ?", coll->name);
    for (size_t i = 0; !error && i < n; i++) {
        const pg_field *f = pg_collection_field_at(coll, idx[i]);
        if (f->merge == PG_MERGE_COUNTER)
            error = pg_buf_printf(&sql, ", \"%s\" = coalesce(\"%s\", 0) + ?",
                                  f->name, f->name);
        else
            error = pg_buf_printf(&sql, ", \"%s\" = ?", f->name);
    }
    if (!error)
        error = pg_buf_puts(&sql, " WHERE id = ?");
    if (!error)
        error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                 (const char *)sql.data);
    if (!error) {
        sqlite3_bind_blob(st, 1, vblob->data, (int)vblob->len, SQLITE_STATIC);
        for (size_t i = 0; i < n; i++)
            pg_write__bind(st, (int)i + 2, &values[i].value);
        sqlite3_bind_text(st, (int)n + 2, id, -1, SQLITE_STATIC);
        error = pg_store__step_done(st, owned, node->db, "updating a record");
    }
    pg_buf_dispose(&sql);
    return error;
}

/* A counter's new total must fit in 64 bits: SQLite would silently turn
 * an overflowing sum into a REAL. */
static int check_counter(pg_node *node, const pg_collection *coll,
                         const char *id, const pg_field *f, int64_t inc)
{
    char sql[256];
    sqlite3_stmt *st;
    bool owned;
    int64_t cur = 0, sum;
    int error;

    snprintf(sql, sizeof(sql), "SELECT \"%s\" FROM \"%s\" WHERE id = ?",
             f->name, coll->name);
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db, sql)) <
        0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        cur = sqlite3_column_int64(st, 0);
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading a counter");
    if (__builtin_add_overflow(cur, inc, &sum))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "counter '%s' would overflow: %lld %+lld", f->name,
                            (long long)cur, (long long)inc);
    return 0;
}

/* An authority field is held by the highest tier that wrote it. */
static int check_authority(const pg_node *node, const pg_field *f,
                           const pg_version *current)
{
    if (f->merge != PG_MERGE_AUTHORITY || pg_version_is_zero(current))
        return 0;
    pg_tier holder = pg_division_tier(current->origin);
    if (holder != PG_TIER_NONE && holder < node->card.tier)
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                            "field '%s' was set by %s (a %s) and only that "
                            "tier or one above may change it",
                            f->name, current->origin, pg_tier_name(holder));
    return 0;
}

/* The fields an update actually writes: `division` may be repeated with
 * its current value but never changed. */
static int update_fields(pg_field_value *effective, size_t *eidx, size_t *ne,
                         const current_row *row, const pg_collection *coll,
                         const char *id, const pg_field_value *values,
                         const size_t *idx, size_t n)
{
    bool undelete = false;

    *ne = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] == coll->nfields && values[i].value.kind == PG_VALUE_BOOL &&
            !values[i].value.b)
            undelete = true;
        if (idx[i] == 0) {
            if (values[i].value.len != PG_CODE_LEN ||
                memcmp(values[i].value.s, row->division, PG_CODE_LEN) != 0)
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                    "division of record %s is %s and "
                                    "cannot change",
                                    id, row->division);
            continue;
        }
        effective[*ne] = values[i];
        eidx[(*ne)++] = idx[i];
    }
    if (row->deleted && !undelete)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_INVALID,
                            "%s record %s was deleted", coll->name, id);
    if (*ne == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "nothing to change");
    return 0;
}

int pg_record_put(char id_out[PG_RECORD_ID_LEN + 1], pg_node *node,
                  const char *collection, const char *id,
                  const pg_field_value *values, size_t nvalues,
                  const char *operator_name)
{
    const pg_collection *coll;
    char division[PG_CODE_LEN + 1] = "";
    char new_id[PG_RECORD_ID_LEN + 1];
    current_row row;
    pg_txn *txn = NULL;
    pg_buf scratch;
    pg_field_value *effective = NULL;
    size_t *idx = NULL, *eidx = NULL, ne = 0;
    pg_write_clock clk;
    bool create = id == NULL, began = false;
    int error;

    memset(&row, 0, sizeof(row));
    pg_buf_init(&row.versions, 64 * 1024);
    pg_buf_init(&scratch, 2 * PG_TXN_MAX_BYTES);
    if (!(coll = pg_write__collection(collection)))
        return PG_EINVALID;
    if ((error = pg_write__check_operator(operator_name)) < 0)
        return error;
    if (!create && !pg_record_id_valid(id, NULL)) {
        char ex[PG_EXCERPT_SIZE];
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "'%s' is not a record id (CODE-ULID)",
                            pg_excerpt(ex, id, strlen(id)));
    }
    if (nvalues > PG_TXN_MAX_CHANGES)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                            "too many fields in one write");
    size_t alloc = nvalues ? nvalues : 1;
    idx = calloc(alloc, sizeof(*idx));
    eidx = calloc(alloc, sizeof(*eidx));
    effective = calloc(alloc, sizeof(*effective));
    if (!idx || !eidx || !effective) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    if ((error = pg_write__validate(idx, division, node, coll, values, nvalues,
                                    create)) < 0)
        goto done;
    if ((error = pg_txn_new(&txn)) < 0 ||
        (error = pg_store__begin(node->db)) < 0)
        goto done;
    began = true;
    if ((error = pg_write__clock_load(&clk, node)) < 0)
        goto done;

    if (create) {
        pg_record_id_make(new_id, &node->ulid, node->card.code,
                          pg_time_now_ms());
        id = new_id;
        memcpy(effective, values, nvalues * sizeof(*values));
        memcpy(eidx, idx, nvalues * sizeof(*idx));
        ne = nvalues;
    } else {
        if ((error = load_row(&row, node, coll, id)) < 0)
            goto done;
        if (!pg_division_contains(node->card.code, row.division)) {
            error = pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                                 "record %s (division %s) lies outside this "
                                 "node's jurisdiction",
                                 id, row.division);
            goto done;
        }
        memcpy(division, row.division, PG_CODE_LEN + 1);
        if ((error = update_fields(effective, eidx, &ne, &row, coll, id, values,
                                   idx, nvalues)) < 0)
            goto done;
    }

    if ((error = pg_write__start_txn(txn, node, &clk, division, coll,
                                     operator_name)) < 0)
        goto done;
    pg_version ver = {.hlc = clk.hlc};
    memcpy(ver.origin, node->card.code, PG_CODE_LEN + 1);
    for (size_t i = 0; i < ne; i++) {
        const pg_field *f = pg_collection_field_at(coll, eidx[i]);
        pg_version base;
        pg_store__versions_get(&base, row.versions.data, row.versions.len,
                               eidx[i]);
        if (!create && f->merge == PG_MERGE_COUNTER &&
            (error = check_counter(node, coll, id, f, effective[i].value.i)) <
                0)
            goto done;
        if ((error = check_authority(node, f, &base)) < 0 ||
            (error = pg_txn_add(txn, id, f->name, &effective[i].value, &base)) <
                0)
            goto done;
    }
    if (create) {
        error = pg_write__insert_row(node, coll, id, effective, eidx, ne, &ver,
                                     &scratch);
    } else {
        for (size_t i = 0; !error && i < ne; i++)
            error = pg_store__versions_set(&row.versions, eidx[i], &ver);
        if (!error)
            error =
                update_row(node, coll, id, effective, eidx, ne, &row.versions);
    }
    if (error < 0 ||
        (error = pg_write__seal(&scratch, txn, node->sign_sk)) < 0 ||
        (error = pg_write__log_insert(node, txn, &scratch)) < 0 ||
        (error = pg_write__clock_save(&clk, node)) < 0 ||
        (error = pg_store__commit(node->db)) < 0)
        goto done;
    if (id_out)
        memcpy(id_out, id, PG_RECORD_ID_LEN + 1);

done:
    if (error < 0 && began)
        pg_store__rollback(node->db);
    pg_txn_free(txn);
    pg_buf_dispose(&scratch);
    pg_buf_dispose(&row.versions);
    free(idx);
    free(eidx);
    free(effective);
    return error;
}

int pg_record_delete(pg_node *node, const char *collection, const char *id,
                     const char *operator_name)
{
    pg_field_value v = {.field = "_deleted",
                        .value = {.kind = PG_VALUE_BOOL, .b = true}};
    return pg_record_put(NULL, node, collection, id, &v, 1, operator_name);
}
