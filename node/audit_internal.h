/*
 * Writing the audit trail (node/audit.c), for the modules that record
 * actions.  Every append runs inside the caller's write transaction (the
 * caller has run pg_store__begin and commits or rolls back afterwards),
 * so the entry and the action it records commit together or not at all.
 */
#ifndef PINGAN_NODE_AUDIT_INTERNAL_H
#define PINGAN_NODE_AUDIT_INTERNAL_H

#include <sqlite3.h>

#include "pingan/audit.h"
#include "pingan/node.h"

/*
 * Append an entry to the node's audit chain, as the node's operator
 * (pg_node_set_operator; "unknown" when never set), at the current time.
 *
 * Rules: call it inside the transaction of the action it records (it
 * fails with PG_EINVALID outside one, and writes nothing); @p action is a
 * short dotted name ("peer.add"); @p subject is a code, a record or
 * conflict id, or "" (never a personal value); @p detail_json is a JSON
 * object of codes, ids, counts, digests or reason classes (never a
 * personal value), or NULL for "{}".  On failure the caller rolls back.
 *
 * Returns 0, PG_EINVALID (outside a transaction, detail not a JSON
 * object), PG_ERROR (store), PG_ENOMEM.
 */
int pg_audit__append(pg_node *node, const char *action, const char *subject,
                     const char *detail_json);

/* The same with the detail built by json_pack(fmt, ...) (jansson). */
int pg_audit__record(pg_node *node, const char *action, const char *subject,
                     const char *fmt, ...);

/* The same, recorded as @p operator_name (NULL: the node's operator),
 * for functions that take the operator as a parameter. */
int pg_audit__record_as(pg_node *node, const char *operator_name,
                        const char *action, const char *subject,
                        const char *fmt, ...);

/* The same on a bare store handle, for init (no node handle yet). */
int pg_audit__append_db(sqlite3 *db, const char *operator_name,
                        const char *action, const char *subject,
                        const char *detail_json);

/* A child's head from a verified bundle header (inside the import's
 * transaction): kept when newer than the one held; the same seq with
 * another hash is recorded as `audit.fork` and the older head kept. */
int pg_audit__child_head_received(pg_node *node, const char *code,
                                  const pg_audit_head *head);

/* The head held of a child (seq 0 when none). */
int pg_audit__child_head_get(pg_audit_head *out, pg_node *node,
                             const char *code);

/* The parent confirmed holding @p head of this node's chain (inside the
 * import's transaction). */
int pg_audit__parent_seen_set(pg_node *node, const char *parent,
                              const pg_audit_head *head);

/* The operator an entry of this node is recorded with (borrowed). */
const char *pg_audit__operator(const pg_node *node);

#endif
