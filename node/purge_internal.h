/*
 * Purging (node/purge.c) for the merge of received txns (sync/merge.c).
 */
#ifndef PINGAN_NODE_PURGE_INTERNAL_H
#define PINGAN_NODE_PURGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pingan/buf.h"
#include "pingan/node.h"
#include "pingan/purge.h"
#include "pingan/record.h"
#include "pingan/schema.h"
#include "pingan/txn.h"

/*
 * Erase, in @p txn (decoded; in memory only), every personal and
 * sensitive value of the records purged here: each such change is
 * dropped (its commitment only) with a redaction note by this node naming
 * the purge, and the node signs its notes as a hop.  The digest, and so
 * the origin's signature, stay valid.  *changed says whether anything was
 * dropped (the caller then encodes the txn anew).  @p values (may be
 * NULL) gets the text values dropped, each NUL-terminated.
 *
 * Returns 0, PG_ECONFLICT (this node signed the txn as a hop before
 * another hop did: its notes cannot be added to), PG_ERROR, PG_ENOMEM.
 */
int pg_purge__scrub(pg_node *node, pg_txn *txn, bool *changed, pg_buf *values);

/* Does the reason quote one of the values (NUL-separated, as
 * pg_purge__scrub collects them) long enough to tell from other text? */
bool pg_purge__quotes(const char *reason, const pg_buf *values);

/* Does a body (one that does not decode) name a record purged here? */
int pg_purge__names_purged(pg_node *node, const void *body, size_t len,
                           bool *out);

/*
 * A txn of the `purge` collection was applied (inside the merge's
 * transaction): remember each purged id and erase this node's copy of
 * each record it holds under the purge's division, and purge every
 * pending or quarantined txn naming a purged id, whether or not the
 * record is in a record table here.  *erased counts the records erased
 * here, *held_txns the pending and quarantined txns rewritten or deleted.
 */
int pg_purge__received(pg_node *node, const pg_txn *txn, size_t *erased,
                       size_t *held_txns);

/*
 * A local write to an existing record (node/write.c): PG_EPOLICY when the
 * record was purged and the write gives a personal or sensitive field a
 * value again (values[i] is field idx[i]).  Other fields may be written.
 */
int pg_purge__check_write(pg_node *node, const pg_collection *coll,
                          const char *id, const pg_field_value *values,
                          const size_t *idx, size_t n);

#endif
