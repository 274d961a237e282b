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
 *
 * An update also keeps the field's history (`hist`) and recomputes its
 * conflicts (DESIGN §5): the merge of received txns (sync/merge.c) and
 * conflict resolutions (sync/conflict.c) share that machinery from here,
 * since node/ never reaches into sync/.
 */
#include "write_internal.h"
#include "purge_internal.h"
#include "node_internal.h"
#include "remap_internal.h"
#include "store.h"
#include "i18n_internal.h"
#include "pingan/error.h"
#include "pingan/hlc.h"
#include "pingan/lifecycle.h"

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

const pg_collection *pg_write__find_collection(const pg_node *node,
                                               const char *name)
{
    char ex[PG_EXCERPT_SIZE];
    const pg_collection *coll = pg_schema_collection(node->schema, name);
    if (!coll && pg_schema_collection(pg_schema_current(), name))
        pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                     "unknown collection '%s' at this node's schema "
                     "version %u; 'pingan schema upgrade' adds it",
                     pg_excerpt(ex, name, strlen(name)), node->schema->version);
    else if (!coll)
        pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                     "unknown collection '%s'; 'pingan schema' lists them",
                     pg_excerpt(ex, name, strlen(name)));
    return coll;
}

const pg_collection *pg_write__collection(const pg_node *node, const char *name)
{
    const pg_collection *coll = pg_write__find_collection(node, name);
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

/* A status value as a C string; false when it is absent or too long (an
 * enum value never is). */
static bool status_text(char out[PG_LIFECYCLE_STATE_MAX + 1], const pg_value *v)
{
    if (v->kind != PG_VALUE_TEXT || v->len > PG_LIFECYCLE_STATE_MAX)
        return false;
    memcpy(out, v->s, v->len);
    out[v->len] = 0;
    return true;
}

/* A new record starts in an initial state of its lifecycle, or without a
 * status (pingan/lifecycle.h). */
static int check_initial(const pg_collection *coll,
                         const pg_field_value *values, const size_t *idx,
                         size_t n)
{
    const pg_lifecycle *lc = pg_lifecycle_get(coll->name);
    char to[PG_LIFECYCLE_STATE_MAX + 1];

    for (size_t i = 0; lc && i < n; i++)
        if (strcmp(pg_collection_field_at(coll, idx[i])->name, "status") == 0 &&
            status_text(to, &values[i].value))
            return pg_lifecycle_check_step(lc, NULL, NULL, to);
    return 0;
}

/* An update moves the status only along its lifecycle: from the stored
 * value `cur` (a column of the row) to the written one. */
static int check_transition(const pg_collection *coll, const char *id,
                            const pg_field *f, sqlite3_value *cur,
                            const pg_value *v)
{
    const pg_lifecycle *lc = pg_lifecycle_get(coll->name);
    char from[PG_LIFECYCLE_STATE_MAX + 1], to[PG_LIFECYCLE_STATE_MAX + 1];
    bool has_from = false;

    if (!lc || strcmp(f->name, "status") != 0)
        return 0;
    if (cur && sqlite3_value_type(cur) == SQLITE_TEXT) {
        int len = sqlite3_value_bytes(cur);
        if (len < 0 || len > PG_LIFECYCLE_STATE_MAX)
            return 0;
        memcpy(from, sqlite3_value_text(cur), (size_t)len);
        from[len] = 0;
        has_from = true;
    }
    bool has_to = status_text(to, v);
    return pg_lifecycle_check_step(lc, id, has_from ? from : NULL,
                                   has_to ? to : NULL);
}

/*
 * Validate the values of one write.  Resolves each field to its index in
 * idx[] and, on create, returns the division.  Nothing is touched.
 */
/*
 * A dispute party belongs to a dispute held here, of the same division
 * (schema v2): a local write naming another is refused.  `division` is the
 * party's (NULL: read from the record `party_id`).  Replicated writes are
 * not checked: the dispute may still be on its way.
 */
static int write_party_dispute(const pg_node *node, const char *division,
                               const char *party_id, const pg_value *dispute_id)
{
    char ex[PG_EXCERPT_SIZE], party_div[PG_CODE_LEN + 1] = "";
    char id[PG_RECORD_ID_LEN + 1];
    sqlite3_stmt *st = NULL;
    int rc;

    if (dispute_id->kind != PG_VALUE_TEXT || dispute_id->len == 0 ||
        dispute_id->len > PG_RECORD_ID_LEN)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "dispute_id must name a dispute record "
                            "(CODE-ULID)");
    memcpy(id, dispute_id->s, dispute_id->len);
    id[dispute_id->len] = 0;
    if (!division) {
        rc = sqlite3_prepare_v2(node->db,
                                "SELECT division FROM dispute_party WHERE "
                                "id = ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
            return pg_store__error(node->db, rc, "reading a record");
        sqlite3_bind_text(st, 1, party_id, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
            sqlite3_column_bytes(st, 0) == PG_CODE_LEN)
            memcpy(party_div, sqlite3_column_text(st, 0), PG_CODE_LEN + 1);
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return pg_store__error(node->db, rc, "reading a record");
        if (!party_div[0])
            return 0; /* the update itself reports the missing record */
        division = party_div;
    }
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT division, _deleted FROM dispute WHERE "
                            "id = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading a record");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return pg_store__error(node->db, rc, "reading a record");
    }
    int error = 0;
    if (rc == SQLITE_DONE || sqlite3_column_int(st, 1) != 0)
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "dispute_id %s names no dispute held by "
                             "this node; write the dispute first "
                             "('pingan record list dispute' lists them)",
                             pg_excerpt(ex, id, strlen(id)));
    else if (strcmp((const char *)sqlite3_column_text(st, 0), division) != 0)
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "dispute %s belongs to division %s, the "
                             "party to %s: a party has its dispute's "
                             "division",
                             id, (const char *)sqlite3_column_text(st, 0),
                             division);
    sqlite3_finalize(st);
    return error;
}

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
        if (!pg_division__within(node, node->card.code, division))
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
    if (create && (error = check_initial(coll, values, idx, n)) < 0)
        return error;
    if (create && strcmp(coll->name, "dispute_party") == 0)
        for (size_t i = 0; i < n; i++)
            if (strcmp(coll->fields[idx[i] < coll->nfields ? idx[i] : 0].name,
                       "dispute_id") == 0 &&
                (error = write_party_dispute(node, division, NULL,
                                             &values[i].value)) < 0)
                return error;
    memcpy(division_out, division, PG_CODE_LEN + 1);
    return 0;
}

#define SQL_LOG_INSERT                                                         \
    "INSERT INTO log(origin, origin_seq, digest, hlc, collection, division, "  \
    "operator, nchanges, body, received_at, via) "                             \
    "VALUES(?,?,?,?,?,?,?,?,?,?,?)"

int pg_write__clock_load(pg_write_clock *clk, pg_node *node)
{
    int64_t hlc;
    int error;

    /* A restored node must not re-issue a seq its parent already holds. */
    if ((error = pg_node__hold_check(node)) < 0)
        return error;
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

int pg_write__log_insert_via(pg_node *node, const pg_txn *txn,
                             const uint8_t *body, size_t len, const char *via)
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
    sqlite3_bind_blob(st, 9, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, pg_time_now_ms());
    sqlite3_bind_text(st, 11, via, -1, SQLITE_STATIC);
    return pg_store__step_done(st, owned, node->db, "appending to the log");
}

int pg_write__log_insert(pg_node *node, const pg_txn *txn, const pg_buf *body)
{
    return pg_write__log_insert_via(node, txn, body->data, body->len, "");
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
    int error;

    pg_buf_clear(vblob);
    for (size_t i = 0; i < n; i++)
        if ((error = pg_store__versions_set(vblob, idx[i], ver)) < 0)
            return error;
    return pg_write__insert_row_v(node, coll, id, values, idx, n, vblob);
}

int pg_write__insert_row_v(pg_node *node, const pg_collection *coll,
                           const char *id, const pg_field_value *values,
                           const size_t *idx, size_t n, const pg_buf *vblob)
{
    sqlite3_stmt *st;
    int error;

    if ((error = insert_stmt(&st, node, coll)) < 0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, (int)coll->nfields + 2, 0);
    for (size_t i = 0; i < n; i++)
        pg_write__bind(st, (int)idx[i] + 2, &values[i].value);
    sqlite3_bind_blob(st, (int)coll->nfields + 3, vblob->data, (int)vblob->len,
                      SQLITE_STATIC);
    return pg_store__step_done(st, false, node->db, "inserting a record");
}

/* --- rows as stored --------------------------------------------------- */

void pg_write__row_init(pg_write_row *row)
{
    memset(row, 0, sizeof(*row));
    pg_buf_init(&row->versions, 64 * 1024);
}

static void row_clear(pg_write_row *row)
{
    for (size_t i = 0; i < row->ncols; i++) {
        sqlite3_value_free(row->cols[i]);
        row->cols[i] = NULL;
    }
    row->ncols = 0;
    row->exists = false;
    row->deleted = false;
    row->division[0] = 0;
    pg_buf_clear(&row->versions);
}

void pg_write__row_dispose(pg_write_row *row)
{
    row_clear(row);
    free(row->cols);
    pg_buf_dispose(&row->versions);
    memset(row, 0, sizeof(*row));
}

int pg_write__prepare_built(sqlite3_stmt **st, bool *owned, pg_node *node,
                            pg_buf *sql, int error)
{
    if (!error)
        error = pg_store__cached(st, owned, &node->stmts, node->db,
                                 (const char *)sql->data);
    pg_buf_dispose(sql);
    return error;
}

int pg_write__row_load(pg_write_row *row, pg_node *node,
                       const pg_collection *coll, const char *id,
                       const bool *want)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    bool owned = false;
    size_t n = coll->nfields + 1;
    int rc, error;

    row_clear(row);
    if (row->cap < n) {
        sqlite3_value **cols = calloc(n, sizeof(*cols));
        if (!cols)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        free(row->cols);
        row->cols = cols;
        row->cap = n;
    }
    error = pg_buf_puts(&sql, "SELECT ");
    for (size_t f = 0; !error && f < coll->nfields; f++)
        error = pg_buf_printf(&sql, "\"%s\", ", coll->fields[f].name);
    if (!error)
        error = pg_buf_printf(&sql, "_deleted, _v FROM \"%s\" WHERE id = ?",
                              coll->name);
    if ((error = pg_write__prepare_built(&st, &owned, node, &sql, error)) < 0)
        return error;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row->exists = true;
        for (size_t i = 0; !error && i < n; i++) {
            row->ncols = i + 1;
            if (want && !want[i])
                continue;
            row->cols[i] = sqlite3_value_dup(sqlite3_column_value(st, (int)i));
            if (!row->cols[i])
                error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                     "out of memory");
        }
        const char *d = (const char *)sqlite3_column_text(st, 0);
        snprintf(row->division, sizeof(row->division), "%s", d ? d : "");
        row->deleted = sqlite3_column_int(st, (int)coll->nfields) != 0;
        if (!error)
            error = pg_buf_put(&row->versions, sqlite3_column_blob(st, (int)n),
                               (size_t)sqlite3_column_bytes(st, (int)n));
    } else if (rc != SQLITE_DONE) {
        error = pg_store__error(node->db, rc, "reading a record");
    }
    pg_store__release(st, owned);
    return error;
}

/* --- history and conflicts -------------------------------------------
 *
 * The history of a field is a small graph: each change points at its base
 * and, for a resolution, at its merged version.  Conflicts are recomputed
 * from the whole graph of the field whenever a change joins it, so that
 * they are a function of the set of changes held and not of the order in
 * which they came: a pair reported while a link between them was missing
 * disappears when the link arrives.  A field's history is short (its
 * edits, not its record's), so the closure is kept as an n x n bit
 * matrix.
 */

/* Smaller is higher; an unknown origin ranks below every tier. */
static int tier_rank(const char *origin)
{
    pg_tier t = pg_division_tier(origin);
    return t == PG_TIER_NONE ? 100 : (int)t;
}

bool pg_write__wins(const pg_field *f, const pg_version *x, const pg_version *y)
{
    if (pg_version_is_zero(y))
        return true;
    if (f->merge == PG_MERGE_AUTHORITY) {
        int tx = tier_rank(x->origin), ty = tier_rank(y->origin);
        if (tx != ty)
            return tx < ty;
    }
    return pg_version_cmp(x, y) > 0;
}

static int put_str(pg_buf *b, const char *s)
{
    size_t n = strlen(s);
    int error = pg_buf_put_u32be(b, (uint32_t)n);
    return error ? error : pg_buf_put(b, s, n);
}

int pg_write__conflict_id(char out[17], const char *coll, const char *id,
                          const char *field, const pg_version *x,
                          const pg_version *y)
{
    const pg_version *lo = pg_version_cmp(x, y) <= 0 ? x : y;
    const pg_version *hi = lo == x ? y : x;
    uint8_t hash[PG_HASH_LEN];
    pg_buf b = PG_BUF_INIT;
    int error;

    if ((error = put_str(&b, "pingan.conflict.v1")) < 0 ||
        (error = put_str(&b, coll)) < 0 || (error = put_str(&b, id)) < 0 ||
        (error = put_str(&b, field)) < 0 ||
        (error = pg_version_encode(&b, lo)) < 0 ||
        (error = pg_version_encode(&b, hi)) < 0) {
        pg_buf_dispose(&b);
        return error;
    }
    pg_blake2b(hash, PG_HASH_LEN, b.data, b.len);
    pg_hex(out, hash, 8);
    pg_buf_dispose(&b);
    return 0;
}

#define SQL_HIST_ADD                                                           \
    "INSERT OR IGNORE INTO hist(coll, record_id, field, hlc, origin, "         \
    "base_hlc, base_origin, merged_hlc, merged_origin, value) "                \
    "VALUES(?,?,?,?,?,?,?,?,?,?)"

static int hist_put(pg_node *node, const pg_collection *coll, const char *id,
                    size_t field, const pg_version *ver, const pg_version *base,
                    const pg_version *merged, const pg_value *value)
{
    static const pg_version zero;
    sqlite3_stmt *st;
    bool owned;
    int error;

    base = base ? base : &zero;
    merged = merged ? merged : &zero;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_HIST_ADD)) < 0)
        return error;
    sqlite3_bind_text(st, 1, coll->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)field);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)ver->hlc);
    sqlite3_bind_text(st, 5, ver->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)base->hlc);
    sqlite3_bind_text(st, 7, base->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)merged->hlc);
    sqlite3_bind_text(st, 9, merged->origin, -1, SQLITE_STATIC);
    pg_write__bind(st, 10, value);
    return pg_store__step_done(st, owned, node->db, "recording history");
}

/* Both rows in one statement: the common case of an update. */
#define SQL_HIST_ADD2                                                          \
    "INSERT OR IGNORE INTO hist(coll, record_id, field, hlc, origin, "         \
    "base_hlc, base_origin, merged_hlc, merged_origin, value) "                \
    "VALUES(?1,?2,?3,?4,?5,0,'',0,'',?6),(?1,?2,?3,?7,?8,?9,?10,?11,?12,?13)"

int pg_write__hist_add(pg_node *node, const pg_collection *coll, const char *id,
                       size_t field, const pg_version *cur,
                       sqlite3_value *cur_value, const pg_version *ver,
                       const pg_version *base, const pg_version *merged,
                       const pg_value *value)
{
    static const pg_version zero;
    sqlite3_stmt *st;
    bool owned;
    int error;

    /* The current version leaves `_v` (or competes with x) now: keep it.
     * With no row yet it is a base-less write (the invariant), and a row
     * it already has is never replaced (OR IGNORE). */
    if (!cur || pg_version_is_zero(cur))
        return hist_put(node, coll, id, field, ver, base, merged, value);
    base = base ? base : &zero;
    merged = merged ? merged : &zero;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_HIST_ADD2)) < 0)
        return error;
    sqlite3_bind_text(st, 1, coll->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)field);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)cur->hlc);
    sqlite3_bind_text(st, 5, cur->origin, -1, SQLITE_STATIC);
    if (cur_value)
        sqlite3_bind_value(st, 6, cur_value);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)ver->hlc);
    sqlite3_bind_text(st, 8, ver->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)base->hlc);
    sqlite3_bind_text(st, 10, base->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)merged->hlc);
    sqlite3_bind_text(st, 12, merged->origin, -1, SQLITE_STATIC);
    pg_write__bind(st, 13, value);
    return pg_store__step_done(st, owned, node->db, "recording history");
}

typedef struct hist_entry {
    pg_version v, base, merged;
    sqlite3_value *value;
} hist_entry;

typedef struct hist_graph {
    hist_entry *e;
    size_t n, cap;
    uint64_t *reach; /* row i: the entries i reaches, w words */
    size_t w;
} hist_graph;

static void hist_free(hist_graph *h)
{
    for (size_t i = 0; i < h->n; i++)
        sqlite3_value_free(h->e[i].value);
    free(h->e);
    free(h->reach);
    memset(h, 0, sizeof(*h));
}

static int hist_entry_cmp(const void *a, const void *b)
{
    return pg_version_cmp(&((const hist_entry *)a)->v,
                          &((const hist_entry *)b)->v);
}

/* Read a version from two columns (origin text limited to a code). */
static void column_version(pg_version *v, sqlite3_stmt *st, int col)
{
    const char *o = (const char *)sqlite3_column_text(st, col + 1);
    memset(v, 0, sizeof(*v));
    v->hlc = (uint64_t)sqlite3_column_int64(st, col);
    snprintf(v->origin, sizeof(v->origin), "%s", o ? o : "");
}

#define SQL_HIST_GET                                                           \
    "SELECT hlc, origin, base_hlc, base_origin, merged_hlc, merged_origin, "   \
    "value FROM hist WHERE coll = ? AND record_id = ? AND field = ?"

static int hist_load(hist_graph *h, pg_node *node, const pg_collection *coll,
                     const char *id, size_t field)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    memset(h, 0, sizeof(*h));
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_HIST_GET)) < 0)
        return error;
    sqlite3_bind_text(st, 1, coll->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)field);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (h->n == h->cap) {
            size_t cap = h->cap ? 2 * h->cap : 8;
            hist_entry *e = malloc(cap * sizeof(*e));
            if (!e) {
                error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                     "out of memory");
                break;
            }
            if (h->n)
                memcpy(e, h->e, h->n * sizeof(*e));
            free(h->e);
            h->e = e;
            h->cap = cap;
        }
        hist_entry *x = &h->e[h->n];
        column_version(&x->v, st, 0);
        column_version(&x->base, st, 2);
        column_version(&x->merged, st, 4);
        x->value = sqlite3_value_dup(sqlite3_column_value(st, 6));
        if (!x->value) {
            error =
                pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
            break;
        }
        h->n++;
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading history");
    pg_store__release(st, owned);
    if (error < 0) {
        hist_free(h);
        return error;
    }
    /* Version order, which is also the order that names a conflict's a
     * and b and picks the earliest resolution. */
    qsort(h->e, h->n, sizeof(*h->e), hist_entry_cmp);
    return 0;
}

/* The entry holding version v, or h->n. */
static size_t hist_find(const hist_graph *h, const pg_version *v)
{
    size_t lo = 0, hi = h->n;

    if (pg_version_is_zero(v))
        return h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = pg_version_cmp(&h->e[mid].v, v);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return h->n;
}

static bool hist_reach(const hist_graph *h, size_t from, size_t to)
{
    return (h->reach[from * h->w + to / 64] >> (to % 64)) & 1;
}

/*
 * The transitive closure of the base and merged links.  Parents normally
 * come first in version order, so one pass usually settles it; passes
 * repeat until nothing changes, which also terminates on the cycles that
 * only a forger could sign (a base that names a later change).
 */
static int hist_closure(hist_graph *h)
{
    size_t n = h->n;
    size_t *parent = NULL;

    h->w = (n + 63) / 64;
    h->reach = calloc(n > 0 ? n * h->w : 1, sizeof(uint64_t));
    parent = malloc((n > 0 ? 3 * n : 1) * sizeof(*parent));
    if (!h->reach || !parent) {
        free(parent);
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        parent[3 * i] = hist_find(h, &h->e[i].base);
        parent[3 * i + 1] = hist_find(h, &h->e[i].merged);
        /* A node sees its own earlier writes: a change follows the same
         * origin's previous change to the field, whatever its base says
         * (the base names only the value it overwrote). */
        parent[3 * i + 2] = n;
        for (size_t j = i; j-- > 0;)
            if (strcmp(h->e[j].v.origin, h->e[i].v.origin) == 0 &&
                h->e[j].v.hlc < h->e[i].v.hlc) {
                parent[3 * i + 2] = j;
                break;
            }
    }
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < n; i++) {
            uint64_t *row = h->reach + i * h->w;
            for (int k = 0; k < 3; k++) {
                size_t p = parent[3 * i + k];
                if (p >= n || p == i)
                    continue;
                const uint64_t *prow = h->reach + p * h->w;
                for (size_t x = 0; x < h->w; x++) {
                    uint64_t v = row[x] | prow[x];
                    if (x == p / 64)
                        v |= (uint64_t)1 << (p % 64);
                    if (v != row[x]) {
                        row[x] = v;
                        changed = true;
                    }
                }
            }
        }
    }
    free(parent);
    return 0;
}

/*
 * Which changes have a fully known ancestry: neither they nor any change
 * they reach names a base or merged version this node does not hold (yet:
 * txns arrive in any order).  Through a missing version a change may reach
 * anything, so a pair with such a change is not known to be concurrent
 * and is not reported until the missing link arrives: causally ordered
 * writes never show as conflicts, whatever order they arrive in.
 */
static int hist_known(bool **out, const hist_graph *h)
{
    uint64_t *missing = calloc(h->w ? h->w : 1, sizeof(uint64_t));
    bool *known = calloc(h->n ? h->n : 1, sizeof(bool));

    *out = NULL;
    if (!missing || !known) {
        free(missing);
        free(known);
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    }
    for (size_t i = 0; i < h->n; i++) {
        const hist_entry *e = &h->e[i];
        if ((!pg_version_is_zero(&e->base) && hist_find(h, &e->base) == h->n) ||
            (!pg_version_is_zero(&e->merged) &&
             hist_find(h, &e->merged) == h->n))
            missing[i / 64] |= (uint64_t)1 << (i % 64);
    }
    for (size_t i = 0; i < h->n; i++) {
        bool ok = !((missing[i / 64] >> (i % 64)) & 1);
        for (size_t x = 0; ok && x < h->w; x++)
            ok = (h->reach[i * h->w + x] & missing[x]) == 0;
        known[i] = ok;
    }
    free(missing);
    *out = known;
    return 0;
}

/* Equal canonical encodings: within one field, the same SQLite value. */
static bool value_same(sqlite3_value *a, sqlite3_value *b)
{
    int t = sqlite3_value_type(a);
    if (t != sqlite3_value_type(b))
        return false;
    switch (t) {
    case SQLITE_NULL:
        return true;
    case SQLITE_INTEGER:
        return sqlite3_value_int64(a) == sqlite3_value_int64(b);
    case SQLITE_FLOAT:
        return sqlite3_value_double(a) == sqlite3_value_double(b);
    case SQLITE_TEXT: {
        const unsigned char *x = sqlite3_value_text(a);
        const unsigned char *y = sqlite3_value_text(b);
        int n = sqlite3_value_bytes(a);
        return n == sqlite3_value_bytes(b) && (n == 0 || memcmp(x, y, n) == 0);
    }
    default: {
        const void *x = sqlite3_value_blob(a);
        const void *y = sqlite3_value_blob(b);
        int n = sqlite3_value_bytes(a);
        return n == sqlite3_value_bytes(b) && (n == 0 || memcmp(x, y, n) == 0);
    }
    }
}

int pg_write__hist_reaches(bool *out, pg_node *node, const pg_collection *coll,
                           const char *id, size_t field, const pg_version *from,
                           const pg_version *to)
{
    hist_graph h;
    int error;

    *out = false;
    if ((error = hist_load(&h, node, coll, id, field)) < 0)
        return error;
    if ((error = hist_closure(&h)) == 0) {
        size_t i = hist_find(&h, from), j = hist_find(&h, to);
        *out = i < h.n && j < h.n && hist_reach(&h, i, j);
    }
    hist_free(&h);
    return error;
}

/* A conflict row as stored, for comparison with the recomputed set. */
typedef struct stored_conflict {
    char id[17];
    pg_version resolved;
    bool keep;
} stored_conflict;

#define SQL_CONFLICT_FIELD                                                     \
    "SELECT id, resolved_hlc, resolved_origin FROM conflict "                  \
    "WHERE coll = ? AND record_id = ? AND field = ?"
#define SQL_CONFLICT_INSERT                                                    \
    "INSERT OR REPLACE INTO conflict(id, coll, record_id, field, a_hlc, "      \
    "a_origin, a_value, b_hlc, b_origin, b_value, winner, resolved_hlc, "      \
    "resolved_origin, detected_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define SQL_CONFLICT_RESOLVED                                                  \
    "UPDATE conflict SET resolved_hlc = ?, resolved_origin = ? WHERE id = ?"
#define SQL_CONFLICT_DELETE "DELETE FROM conflict WHERE id = ?"

static int stored_load(stored_conflict **out, size_t *nout, pg_node *node,
                       const pg_collection *coll, const char *id, size_t field)
{
    sqlite3_stmt *st;
    bool owned;
    stored_conflict *v = NULL;
    size_t n = 0, cap = 0;
    int rc, error;

    *out = NULL;
    *nout = 0;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_CONFLICT_FIELD)) < 0)
        return error;
    sqlite3_bind_text(st, 1, coll->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)field);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            stored_conflict *nv = malloc(cap * sizeof(*nv));
            if (!nv) {
                error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                     "out of memory");
                break;
            }
            if (n)
                memcpy(nv, v, n * sizeof(*v));
            free(v);
            v = nv;
        }
        const char *cid = (const char *)sqlite3_column_text(st, 0);
        snprintf(v[n].id, sizeof(v[n].id), "%s", cid ? cid : "");
        column_version(&v[n].resolved, st, 1);
        v[n].keep = false;
        n++;
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading conflicts");
    pg_store__release(st, owned);
    if (error < 0) {
        free(v);
        return error;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int conflict_insert(pg_node *node, const pg_collection *coll,
                           const char *id, size_t field, const char *cid,
                           const hist_entry *a, const hist_entry *b,
                           char winner, const pg_version *resolved,
                           int64_t now_ms)
{
    sqlite3_stmt *st;
    bool owned;
    int error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_CONFLICT_INSERT)) < 0)
        return error;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, coll->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)field);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)a->v.hlc);
    sqlite3_bind_text(st, 6, a->v.origin, -1, SQLITE_STATIC);
    sqlite3_bind_value(st, 7, a->value);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)b->v.hlc);
    sqlite3_bind_text(st, 9, b->v.origin, -1, SQLITE_STATIC);
    sqlite3_bind_value(st, 10, b->value);
    sqlite3_bind_text(st, 11, winner == 'a' ? "a" : "b", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)resolved->hlc);
    sqlite3_bind_text(st, 13, resolved->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 14, now_ms);
    return pg_store__step_done(st, owned, node->db, "recording a conflict");
}

static int conflict_set_resolved(pg_node *node, const char *cid,
                                 const pg_version *resolved)
{
    sqlite3_stmt *st;
    bool owned;
    int error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_CONFLICT_RESOLVED)) < 0)
        return error;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)resolved->hlc);
    sqlite3_bind_text(st, 2, resolved->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, cid, -1, SQLITE_STATIC);
    return pg_store__step_done(st, owned, node->db, "recording a conflict");
}

static int conflict_delete(pg_node *node, const char *cid)
{
    sqlite3_stmt *st;
    bool owned;
    int error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_CONFLICT_DELETE)) < 0)
        return error;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_STATIC);
    return pg_store__step_done(st, owned, node->db, "recording a conflict");
}

/* Does some change of the history name v as its base or merged version? */
static bool hist_referenced(const hist_graph *h, const pg_version *v)
{
    for (size_t i = 0; i < h->n; i++)
        if (pg_version_cmp(&h->e[i].base, v) == 0 ||
            pg_version_cmp(&h->e[i].merged, v) == 0)
            return true;
    return false;
}

int pg_write__conflicts_update(size_t *opened, pg_node *node,
                               const pg_collection *coll, const char *id,
                               size_t field, const pg_version *added,
                               int64_t now_ms)
{
    const pg_field *f = pg_collection_field_at(coll, field);
    bool *known = NULL;
    stored_conflict *stored = NULL;
    size_t nstored = 0;
    hist_graph h;
    int error;

    if ((error = hist_load(&h, node, coll, id, field)) < 0)
        return error;
    if ((error = hist_closure(&h)) < 0 || (error = hist_known(&known, &h)) < 0)
        goto done;
    /* A change nothing names adds pairs and never removes one: when it
     * leaves no pair at all there was none before, and so no stored row
     * (the common case of a linear history, spared a query). */
    bool any = false;
    for (size_t i = 0; i < h.n && !any; i++)
        for (size_t j = i + 1; j < h.n && !any; j++)
            any = known[i] && known[j] && !hist_reach(&h, i, j) &&
                  !hist_reach(&h, j, i) &&
                  !value_same(h.e[i].value, h.e[j].value);
    if (!any && added && !hist_referenced(&h, added))
        goto done;
    if ((error = stored_load(&stored, &nstored, node, coll, id, field)) < 0)
        goto done;
    for (size_t i = 0; i < h.n; i++) {
        for (size_t j = i + 1; j < h.n; j++) {
            if (!known[i] || !known[j] || hist_reach(&h, i, j) ||
                hist_reach(&h, j, i) || value_same(h.e[i].value, h.e[j].value))
                continue;
            char cid[17];
            pg_version resolved;
            memset(&resolved, 0, sizeof(resolved));
            for (size_t k = 0; k < h.n; k++)
                if (hist_reach(&h, k, i) && hist_reach(&h, k, j)) {
                    resolved = h.e[k].v;
                    break;
                }
            if ((error = pg_write__conflict_id(cid, coll->name, id, f->name,
                                               &h.e[i].v, &h.e[j].v)) < 0)
                goto done;
            stored_conflict *old = NULL;
            for (size_t s = 0; s < nstored; s++)
                if (strcmp(stored[s].id, cid) == 0)
                    old = &stored[s];
            if (old) {
                old->keep = true;
                if (pg_version_cmp(&old->resolved, &resolved) != 0 &&
                    (error = conflict_set_resolved(node, cid, &resolved)) < 0)
                    goto done;
                continue;
            }
            char winner = pg_write__wins(f, &h.e[i].v, &h.e[j].v) ? 'a' : 'b';
            if ((error = conflict_insert(node, coll, id, field, cid, &h.e[i],
                                         &h.e[j], winner, &resolved, now_ms)) <
                0)
                goto done;
            if (opened)
                (*opened)++;
        }
    }
    /* Pairs no longer concurrent: a link between them has arrived. */
    for (size_t s = 0; s < nstored; s++)
        if (!stored[s].keep &&
            (error = conflict_delete(node, stored[s].id)) < 0)
            goto done;

done:
    free(known);
    free(stored);
    hist_free(&h);
    return error;
}

/* --- single-record writes ------------------------------------------- */

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
static int check_counter(const pg_write_row *row, const pg_field *f,
                         size_t field, int64_t inc)
{
    int64_t cur = sqlite3_value_int64(row->cols[field]), sum;

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
                         const pg_write_row *row, const pg_collection *coll,
                         const char *id, const pg_field_value *values,
                         const size_t *idx, size_t n, bool resolution)
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
    /* A resolution may close a conflict of a deleted record (its
     * `_deleted` field among others). */
    if (row->deleted && !undelete && !resolution)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_INVALID,
                            "%s record %s was deleted", coll->name, id);
    if (*ne == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "nothing to change");
    return 0;
}

static bool has_history(const pg_field *f)
{
    return f->merge != PG_MERGE_COUNTER;
}

int pg_write__update(pg_node *node, const pg_collection *coll, const char *id,
                     const pg_field_value *values, size_t nvalues,
                     const char *operator_name, const pg_version *merged)
{
    static const pg_version zero;
    char division[PG_CODE_LEN + 1] = "";
    pg_write_row row;
    pg_txn *txn = NULL;
    pg_buf scratch;
    pg_field_value *effective = NULL;
    size_t *idx = NULL, *eidx = NULL, ne = 0;
    bool *hist = NULL, *want = NULL;
    pg_write_clock clk;
    int error;

    merged = merged ? merged : &zero;
    pg_write__row_init(&row);
    pg_buf_init(&scratch, 2 * PG_TXN_MAX_BYTES);
    if ((error = pg_write__check_operator(operator_name)) < 0)
        goto done;
    if (!pg_record_id_valid(id, NULL)) {
        char ex[PG_EXCERPT_SIZE];
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "'%s' is not a record id (CODE-ULID)",
                             pg_excerpt(ex, id, strlen(id)));
        goto done;
    }
    if (nvalues > PG_TXN_MAX_CHANGES) {
        error = pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                             "too many fields in one write");
        goto done;
    }
    size_t alloc = nvalues ? nvalues : 1;
    idx = calloc(alloc, sizeof(*idx));
    eidx = calloc(alloc, sizeof(*eidx));
    effective = calloc(alloc, sizeof(*effective));
    hist = calloc(alloc, sizeof(*hist));
    if (!idx || !eidx || !effective || !hist) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    if ((error = pg_write__validate(idx, division, node, coll, values, nvalues,
                                    false)) < 0)
        goto done;
    /* Only the columns written are read back (for history and counters). */
    want = calloc(coll->nfields + 1, sizeof(*want));
    if (!want) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nvalues; i++)
        want[idx[i]] = true;
    if ((error = pg_txn_new(&txn)) < 0 ||
        (error = pg_write__clock_load(&clk, node)) < 0 ||
        (error = pg_write__row_load(&row, node, coll, id, want)) < 0)
        goto done;
    if (!row.exists) {
        char ex[PG_EXCERPT_SIZE];
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                             "no %s record with id %s", coll->name,
                             pg_excerpt(ex, id, strlen(id)));
        goto done;
    }
    if (!pg_division__within(node, node->card.code, row.division)) {
        error = pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                             "record %s (division %s) lies outside this "
                             "node's jurisdiction",
                             id, row.division);
        goto done;
    }
    memcpy(division, row.division, PG_CODE_LEN + 1);
    if ((error = update_fields(effective, eidx, &ne, &row, coll, id, values,
                               idx, nvalues, !pg_version_is_zero(merged))) < 0)
        goto done;

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
        if (f->merge == PG_MERGE_COUNTER &&
            (error = check_counter(&row, f, eidx[i], effective[i].value.i)) < 0)
            goto done;
        /* A resolution picks one of the values written already: the
         * lifecycle judged them when they were written. */
        if (pg_version_is_zero(merged) &&
            (error = check_transition(coll, id, f, row.cols[eidx[i]],
                                      &effective[i].value)) < 0)
            goto done;
        if ((error = check_authority(node, f, &base)) < 0 ||
            (error = pg_txn_add_merged(txn, id, f->name, &effective[i].value,
                                       &base, merged)) < 0)
            goto done;
        /* A first write of the field is implied by `_v`; any other
         * change joins the field's history (DESIGN §5). */
        hist[i] = has_history(f) &&
                  (!pg_version_is_zero(&base) || !pg_version_is_zero(merged));
        if (hist[i] && (error = pg_write__hist_add(
                            node, coll, id, eidx[i], &base, row.cols[eidx[i]],
                            &ver, &base, merged, &effective[i].value)) < 0)
            goto done;
    }
    for (size_t i = 0; !error && i < ne; i++)
        error = pg_store__versions_set(&row.versions, eidx[i], &ver);
    if (!error)
        error = update_row(node, coll, id, effective, eidx, ne, &row.versions);
    /* A local write descends from the current version but may still be
     * concurrent with an older losing branch. */
    int64_t now = pg_time_now_ms();
    for (size_t i = 0; !error && i < ne; i++)
        if (hist[i])
            error = pg_write__conflicts_update(NULL, node, coll, id, eidx[i],
                                               &ver, now);
    if (error < 0 ||
        (error = pg_write__seal(&scratch, txn, node->sign_sk)) < 0 ||
        (error = pg_write__log_insert(node, txn, &scratch)) < 0 ||
        (error = pg_write__clock_save(&clk, node)) < 0)
        goto done;

done:
    pg_txn_free(txn);
    pg_buf_dispose(&scratch);
    pg_write__row_dispose(&row);
    free(idx);
    free(eidx);
    free(effective);
    free(hist);
    free(want);
    return error;
}

int pg_write__create(char id_out[PG_RECORD_ID_LEN + 1], pg_node *node,
                     const pg_collection *coll, const char *division,
                     const pg_field_value *values, const size_t *idx,
                     size_t nvalues, const char *operator_name)
{
    char new_id[PG_RECORD_ID_LEN + 1];
    pg_txn *txn = NULL;
    pg_buf scratch;
    pg_write_clock clk;
    int error;

    pg_buf_init(&scratch, 2 * PG_TXN_MAX_BYTES);
    if ((error = pg_txn_new(&txn)) < 0 ||
        (error = pg_write__clock_load(&clk, node)) < 0)
        goto done;
    pg_record_id_make(new_id, &node->ulid, node->card.code, pg_time_now_ms());
    if ((error = pg_write__start_txn(txn, node, &clk, division, coll,
                                     operator_name)) < 0)
        goto done;
    pg_version ver = {.hlc = clk.hlc};
    memcpy(ver.origin, node->card.code, PG_CODE_LEN + 1);
    for (size_t i = 0; i < nvalues; i++) {
        const pg_field *f = pg_collection_field_at(coll, idx[i]);
        if ((error = pg_txn_add(txn, new_id, f->name, &values[i].value, NULL)) <
            0)
            goto done;
    }
    if ((error = pg_write__insert_row(node, coll, new_id, values, idx, nvalues,
                                      &ver, &scratch)) < 0 ||
        (error = pg_write__seal(&scratch, txn, node->sign_sk)) < 0 ||
        (error = pg_write__log_insert(node, txn, &scratch)) < 0 ||
        (error = pg_write__clock_save(&clk, node)) < 0)
        goto done;
    if (id_out)
        memcpy(id_out, new_id, PG_RECORD_ID_LEN + 1);

done:
    pg_txn_free(txn);
    pg_buf_dispose(&scratch);
    return error;
}

int pg_record_put(char id_out[PG_RECORD_ID_LEN + 1], pg_node *node,
                  const char *collection, const char *id,
                  const pg_field_value *values, size_t nvalues,
                  const char *operator_name)
{
    const pg_collection *coll;
    char division[PG_CODE_LEN + 1] = "";
    size_t *idx = NULL;
    bool create = id == NULL, began = false;
    int error;

    if (!(coll = pg_write__collection(node, collection)))
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
    idx = calloc(nvalues ? nvalues : 1, sizeof(*idx));
    if (!idx)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    /* Validate before taking the write lock: bad input is refused at once
     * even while another process writes. */
    if ((error = pg_write__validate(idx, division, node, coll, values, nvalues,
                                    create)) < 0)
        goto done;
    if ((error = pg_store__begin(node->db)) < 0)
        goto done;
    began = true;
    for (size_t i = 0; !create && i < nvalues; i++)
        if (strcmp(coll->name, "dispute_party") == 0 &&
            strcmp(values[i].field, "dispute_id") == 0 &&
            (error = write_party_dispute(node, NULL, id, &values[i].value)) < 0)
            goto done;
    if (!create) {
        if ((error = pg_purge__check_write(node, coll, id, values, idx,
                                           nvalues)) < 0 ||
            (error = pg_write__update(node, coll, id, values, nvalues,
                                      operator_name, NULL)) < 0 ||
            (error = pg_store__commit(node->db)) < 0)
            goto done;
        if (id_out)
            memcpy(id_out, id, strlen(id) + 1);
        goto done;
    }
    if ((error = pg_write__create(id_out, node, coll, division, values, idx,
                                  nvalues, operator_name)) < 0 ||
        (error = pg_store__commit(node->db)) < 0)
        goto done;

done:
    if (error < 0 && began)
        pg_store__rollback(node->db);
    free(idx);
    return error;
}

int pg_record_delete(pg_node *node, const char *collection, const char *id,
                     const char *operator_name)
{
    pg_field_value v = {.field = "_deleted",
                        .value = {.kind = PG_VALUE_BOOL, .b = true}};
    return pg_record_put(NULL, node, collection, id, &v, 1, operator_name);
}
