/* The pg_node structure, shared by the modules of node/. */
#ifndef PINGAN_NODE_INTERNAL_H
#define PINGAN_NODE_INTERNAL_H

#include <sqlite3.h>

#include "pingan/audit.h"
#include "pingan/node.h"
#include "pingan/ulid.h"
#include "store.h"
#include "pingan/schema.h"

struct pg_node {
    char *dir;
    sqlite3 *db;
    pg_card card;
    uint8_t *sign_sk; /* sodium-style: wiped on free */
    uint8_t box_sk[PG_BOX_SK_LEN];
    pg_ulid_gen ulid;
    char prefix[PG_CODE_LEN + 1]; /* jurisdiction prefix */
    pg_stmt_cache stmts;          /* prepared statements of the write path */
    const pg_collection *insert_coll[32]; /* INSERT statement per table */
    sqlite3_stmt *insert_st[32];
    size_t ninsert;
    char operator_name[PG_AUDIT_OPERATOR_MAX + 1]; /* for the audit trail */
    bool operator_bad; /* the last one set was refused: record nothing */
    struct remap_cache *remap; /* division remaps (node/remap.c) */
    const pg_schema *schema;   /* the store's schema version (meta) */
    unsigned schema_dv; /* SQLITE_FCNTL_DATA_VERSION when schema was read */
};

/* The secret signing key (borrowed). */
const uint8_t *pg_node__sign_sk(const pg_node *node);

/* The store's schema version again when another connection (a 'pingan
 * schema upgrade' beside a running 'pingan serve') may have raised it:
 * at the start of an export or import, never while a statement of the
 * node is being stepped. */
int pg_node__schema_refresh(pg_node *node);

/* The write hold of a restored node (node/recovery.c).  hold_check: 0, or
 * PG_ECONFLICT with a message saying what to do while the node is held.
 * hold_confirm: the parent holds this node's own txns up to
 * parent_holds; lift the hold (inside the caller's transaction) once
 * every one of them is in the log, the next seq continuing after them.
 * A bundle the parent made before the restore (created_ms, the header's)
 * says nothing of what the node wrote since that backup: ignored.
 * hold_upto: -1 when not held, else the highest own seq in the log. */
int pg_node__hold_check(pg_node *node);
int pg_node__hold_confirm(pg_node *node, uint64_t parent_holds,
                          int64_t created_ms, bool *lifted);
int pg_node__hold_upto(pg_node *node, int64_t *upto);

/* Certify a child's card: a `node` record written by this node inside
 * the caller's transaction (node/peer.c). */
int pg_peer__certify(pg_node *node, const pg_card *child);

#endif
