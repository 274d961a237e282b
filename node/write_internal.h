/* Pieces of the write path shared by single writes (write.c) and bulk
 * imports (import.c). */
#ifndef PINGAN_NODE_WRITE_INTERNAL_H
#define PINGAN_NODE_WRITE_INTERNAL_H

#include <sqlite3.h>

#include "pingan/buf.h"
#include "pingan/record.h"

/* Bind a value to a statement parameter (absent binds NULL). */
int pg_write__bind(sqlite3_stmt *st, int idx, const pg_value *v);

/* Get the cached statement for the SQL built in `sql`, unless `error`
 * (from building it) is set already; dispose of `sql` either way.  Returns
 * the first error. */
int pg_write__prepare_built(sqlite3_stmt **st, bool *owned, pg_node *node,
                            pg_buf *sql, int error);

/* A collection of the node's schema (pg_node_schema) by name; NULL with
 * an error set otherwise. */
const pg_collection *pg_write__find_collection(const pg_node *node,
                                               const char *name);

/* A writable collection of the node's schema by name; NULL with an error
 * set otherwise. */
const pg_collection *pg_write__collection(const pg_node *node,
                                          const char *name);

/* 0 when the operator name is acceptable. */
int pg_write__check_operator(const char *op);

/* Validate the values of one write; idx[] receives each field's index and,
 * on create, division_out the record's division (NUL-terminated).  Touches
 * nothing. */
int pg_write__validate(size_t *idx, char division_out[PG_CODE_LEN + 1],
                       const pg_node *node, const pg_collection *coll,
                       const pg_field_value *values, size_t n, bool create);

/* Clock and sequence, read and kept inside the write transaction. */
typedef struct pg_write_clock {
    uint64_t hlc;
    int64_t last_seq;
} pg_write_clock;

int pg_write__clock_load(pg_write_clock *clk, pg_node *node);
int pg_write__clock_save(const pg_write_clock *clk, pg_node *node);

/* Tick the clock, take the next sequence number, start a txn. */
int pg_write__start_txn(pg_txn *txn, pg_node *node, pg_write_clock *clk,
                        const char *division, const pg_collection *coll,
                        const char *operator_name);

/* Seal, sign and encode a txn into body (checks the size limit).  Needs
 * nothing but the txn and the key: safe on another thread. */
int pg_write__seal(pg_buf *body, pg_txn *txn, const uint8_t *sign_sk);

/* Append a sealed txn and its encoding to the log. */
int pg_write__log_insert(pg_node *node, const pg_txn *txn, const pg_buf *body);

/* Append a txn to the log as `body` (the bytes as received) with `via`,
 * the peer it came from ("" for a local write), received now. */
int pg_write__log_insert_via(pg_node *node, const pg_txn *txn,
                             const uint8_t *body, size_t len, const char *via);

/* Insert a new record's row: values by field index, every written field's
 * version set to ver (vblob is scratch space). */
int pg_write__insert_row(pg_node *node, const pg_collection *coll,
                         const char *id, const pg_field_value *values,
                         const size_t *idx, size_t n, const pg_version *ver,
                         pg_buf *vblob);

/* The same with the packed versions given (a received row whose division
 * column is set before any change has written it). */
int pg_write__insert_row_v(pg_node *node, const pg_collection *coll,
                           const char *id, const pg_field_value *values,
                           const size_t *idx, size_t n, const pg_buf *vblob);

/*
 * Create a record in one new local txn, inside a SQLite transaction the
 * caller has begun; values were checked by pg_write__validate (idx holds
 * each value's field index).  *id_out (may be NULL) gets the new id.
 */
int pg_write__create(char id_out[PG_RECORD_ID_LEN + 1], pg_node *node,
                     const pg_collection *coll, const char *division,
                     const pg_field_value *values, const size_t *idx,
                     size_t nvalues, const char *operator_name);

/*
 * Change the given fields of an existing record, inside a transaction the
 * caller began: validation, clock and sequence, the txn, rows, history
 * and conflicts, seal and log.  With a non-zero `merged` (NULL: none) the
 * write resolves a conflict: every change names that version as its
 * second base (pass one field), and a deleted record may be written.
 */
int pg_write__update(pg_node *node, const pg_collection *coll, const char *id,
                     const pg_field_value *values, size_t n,
                     const char *operator_name, const pg_version *merged);

/* --- rows as stored ----------------------------------------------- */

/* A record's row: every column copied (division first, `_deleted` at
 * coll->nfields) and the packed versions. */
typedef struct pg_write_row {
    bool exists;
    char division[PG_CODE_LEN + 1];
    bool deleted;
    pg_buf versions;
    sqlite3_value **cols; /* coll->nfields + 1 */
    size_t ncols;
    size_t cap;
} pg_write_row;

void pg_write__row_init(pg_write_row *row);
void pg_write__row_dispose(pg_write_row *row);

/* Load a row; row->exists says whether there was one.  want (NULL: all)
 * says which columns to copy; the others are left NULL. */
int pg_write__row_load(pg_write_row *row, pg_node *node,
                       const pg_collection *coll, const char *id,
                       const bool *want);

/* --- history and conflicts (DESIGN §5, proto/FORMAT.md §3) ---------
 *
 * `hist` holds every change to an lww or authority field except a
 * base-less first write, which the row's `_v` implies.  Invariant: a
 * version of a field with no `hist` row is a change with a zero base.
 * Conflicts are derived from the history: a pair of changes of one field
 * neither of which reaches the other through base and merged links, with
 * different values.
 */

/* Does x win over y by the field's merge rule (lww: higher version;
 * authority: higher tier of origin, then higher version)? */
bool pg_write__wins(const pg_field *f, const pg_version *x,
                    const pg_version *y);

/*
 * Put change x = (ver, base, merged, value) of field `field` in `hist`,
 * after the field's current version `cur` (zero when none) with its value
 * `cur_value` (the row's column) when cur has no row yet.
 */
int pg_write__hist_add(pg_node *node, const pg_collection *coll, const char *id,
                       size_t field, const pg_version *cur,
                       sqlite3_value *cur_value, const pg_version *ver,
                       const pg_version *base, const pg_version *merged,
                       const pg_value *value);

/* Recompute the conflict rows of one field from its history after change
 * `added` (may be NULL) joined it; *opened (may be NULL) is increased by
 * the number of new conflicts. */
int pg_write__conflicts_update(size_t *opened, pg_node *node,
                               const pg_collection *coll, const char *id,
                               size_t field, const pg_version *added,
                               int64_t now_ms);

/* Does change `from` reach `to` through the field's history? */
int pg_write__hist_reaches(bool *out, pg_node *node, const pg_collection *coll,
                           const char *id, size_t field, const pg_version *from,
                           const pg_version *to);

/* The id of the conflict between two versions of a field (16 hex). */
int pg_write__conflict_id(char out[17], const char *coll, const char *id,
                          const char *field, const pg_version *x,
                          const pg_version *y);

#endif
