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
};

/* The secret signing key (borrowed). */
const uint8_t *pg_node__sign_sk(const pg_node *node);

#endif
