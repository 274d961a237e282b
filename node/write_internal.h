/* Pieces of the write path shared by single writes (write.c) and bulk
 * imports (import.c). */
#ifndef PINGAN_NODE_WRITE_INTERNAL_H
#define PINGAN_NODE_WRITE_INTERNAL_H

#include <sqlite3.h>

#include "pingan/record.h"

/* Bind a value to a statement parameter (absent binds NULL). */
int pg_write__bind(sqlite3_stmt *st, int idx, const pg_value *v);

/* A writable collection by name; NULL with an error set otherwise. */
const pg_collection *pg_write__collection(const char *name);

/* 0 when the operator name is acceptable. */
int pg_write__check_operator(const char *op);

/* Validate the values of one write; idx[] receives each field's index and,
 * on create, *division_out the record's division.  Touches nothing. */
int pg_write__validate(size_t *idx, const char **division_out,
                       const pg_node *node, const pg_collection *coll,
                       const pg_field_value *values, size_t n, bool create);

/* Seal, sign, encode and append a txn to the log; *stp caches the
 * prepared statement (the caller finalizes it). */
int pg_write__log_append(pg_node *node, pg_txn *txn, pg_buf *scratch,
                         sqlite3_stmt **stp);

/* INSERT INTO coll(id, fields..., _deleted, _v) VALUES(...) */
int pg_write__prepare_insert(sqlite3_stmt **out, sqlite3 *db,
                             const pg_collection *coll);

#endif
