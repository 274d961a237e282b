/*
 * Division remaps inside the library (node/remap.c): the containment test
 * that routing (sync/route.c) and the receipt checks (sync/merge.c) use,
 * and the cache of remap rows kept on the node handle.
 */
#ifndef PINGAN_NODE_REMAP_INTERNAL_H
#define PINGAN_NODE_REMAP_INTERNAL_H

#include <stdbool.h>

#include "pingan/node.h"
#include "pingan/remap.h"

/*
 * Does @p inner lie inside the jurisdiction of @p outer, remaps counted?
 * True when it does by code (pg_division_contains), or when the resolved
 * @p inner lies inside the resolved @p outer (pingan/remap.h).  A remap
 * only widens: what was inside stays inside, so a node that has not yet
 * received a remap never refuses what one that has sends.  When the remap
 * rows cannot be read (out of memory, a store error) the test falls back
 * to the codes as they are.  The node is not changed but for its cache
 * of remap rows.
 */
bool pg_division__within(const pg_node *node, const char *outer,
                         const char *inner);

/* The remap rows may have changed inside the current transaction (a
 * received remap applied, a rollback): read them again at next use. */
void pg_remap__invalidate(const pg_node *node);

/*
 * Read the remaps now if the cache is stale, reporting a failure.  The
 * containment test (pg_division__within) cannot report one and takes a
 * failure for "no remap"; a merge loads the cache first, before its
 * transaction, where an out-of-memory error may roll the transaction back.
 */
int pg_remap__load(const pg_node *node);

/* Free the node's cache (pg_node_free). */
void pg_remap__cache_free(pg_node *node);

/*
 * Register the SQL function pingan_resolve(code) on the node's store
 * connection: the code resolved by the remaps (pingan/remap.h), the code
 * itself when it is not a well-formed 12-digit code or the remaps cannot
 * be read.  Reports group by it, so they count exactly as routing does.
 */
int pg_remap__register(pg_node *node);

/*
 * The receipt check of a `division_remap` txn (sync/merge.c): NULL when
 * it is acceptable, else why not (a static English text, "invalid: ...").
 * A remap is issued whole, never redacted, in one record, filed under its
 * origin's code; both codes well-formed, distinct, of one tier, and
 * strictly inside the origin's jurisdiction (the issuer is an ancestor of
 * both).
 */
const char *pg_remap__check_txn(const char *origin, const char *division,
                                const char *old_code, const char *new_code);

#endif
