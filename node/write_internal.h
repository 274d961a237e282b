/* Pieces of the write path shared by single writes (write.c) and bulk
 * imports (import.c). */
#ifndef PINGAN_NODE_WRITE_INTERNAL_H
#define PINGAN_NODE_WRITE_INTERNAL_H

#include <sqlite3.h>

#include "pingan/record.h"

/* Bind a value to a statement parameter (absent binds NULL). */
int pg_write__bind(sqlite3_stmt *st, int idx, const pg_value *v);

/* A collection by name; NULL with an error set otherwise. */
const pg_collection *pg_write__find_collection(const char *name);

/* A writable collection by name; NULL with an error set otherwise. */
const pg_collection *pg_write__collection(const char *name);

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

/* Insert a new record's row: values by field index, every written field's
 * version set to ver (vblob is scratch space). */
int pg_write__insert_row(pg_node *node, const pg_collection *coll,
                         const char *id, const pg_field_value *values,
                         const size_t *idx, size_t n, const pg_version *ver,
                         pg_buf *vblob);

#endif
