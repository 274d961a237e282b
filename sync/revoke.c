/*
 * Revoking a descendant's key (DESIGN §7): an ancestor marks the key's
 * certificate revoked after a named sequence number, in a `node` txn that
 * replicates like any certificate; every node it reaches, this one first,
 * quarantines that key's later txns and rebuilds what they had touched.
 */
#include "pingan/exchange.h"
#include "keys.h"
#include "merge.h"
#include "node_internal.h"
#include "audit_internal.h"
#include "store.h"
#include "write_internal.h"
#include "pingan/error.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* The newest unrevoked certificate of code: its record id and key id. */
static int revoke_find(char id[PG_RECORD_ID_LEN + 1],
                       char key_id[PG_KEY_ID_LEN + 1], pg_node *node,
                       const char *code, const char *only_key)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db,
                            "SELECT id, key_id FROM node WHERE code = ? AND "
                            "coalesce(revoked, 0) = 0 AND "
                            "coalesce(_deleted, 0) = 0 AND (?2 IS NULL OR "
                            "key_id = ?2) ORDER BY valid_from DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading certificates");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    if (only_key)
        sqlite3_bind_text(st, 2, only_key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(id, PG_RECORD_ID_LEN + 1, "%s",
                 (const char *)sqlite3_column_text(st, 0));
        snprintf(key_id, PG_KEY_ID_LEN + 1, "%s",
                 (const char *)sqlite3_column_text(st, 1));
    } else if (rc == SQLITE_DONE) {
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "no valid certificate of %s is known here "
                             "('pingan log' shows the certificates that "
                             "arrived; a certificate already revoked cannot "
                             "be revoked again)",
                             code);
    } else {
        error = pg_store__error(node->db, rc, "reading certificates");
    }
    sqlite3_finalize(st);
    return error;
}

int pg_revoke(pg_node *node, const char *code, int64_t after,
              const char *operator_name, pg_revoke_result *out)
{
    int error;

    PG_ASSERT_ARG(node);
    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    if ((error = pg_revoke__in_txn(node, code, after, operator_name, out)) <
        0) {
        pg_store__rollback(node->db);
        return error;
    }
    if ((error = pg_store__commit(node->db)) < 0)
        pg_store__rollback(node->db);
    return error;
}

int pg_revoke__in_txn(pg_node *node, const char *code, int64_t after,
                      const char *operator_name, pg_revoke_result *out)
{
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), "node");
    char id[PG_RECORD_ID_LEN + 1];
    pg_merger *m = NULL;
    int error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(code);
    PG_ASSERT_ARG(out);
    memset(out, 0, sizeof(*out));
    if (!pg_division_valid(code))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "'%.16s' is not a 12-digit division code", code);
    if (after < 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "--after-seq must be 0 or more");
    if (strcmp(code, node->card.code) == 0 ||
        !pg_division_contains(node->card.code, code))
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                            "%s lies outside this node's jurisdiction (%s): "
                            "only an ancestor may revoke a node's key",
                            code, node->card.code);
    if ((error = pg_write__check_operator(operator_name)) < 0)
        return error;
    if ((error = revoke_find(id, out->key_id, node, code, NULL)) < 0)
        goto done;
    pg_field_value v[2] = {
        {"revoked", {.kind = PG_VALUE_BOOL, .b = true}},
        {"revoked_after_seq", {.kind = PG_VALUE_INT, .i = after}},
    };
    /* Every certificate of the key (a child pinned again has two). */
    do {
        if ((error = pg_write__update(node, coll, id, v, 2, operator_name,
                                      NULL)) < 0)
            goto done;
        char kid[PG_KEY_ID_LEN + 1];
        error = revoke_find(id, kid, node, code, out->key_id);
    } while (error == 0);
    if (error == PG_ENOTFOUND) {
        pg_error_clear();
        error = 0;
    }
    if (error < 0 || (error = pg_merger_new(&m, node)) < 0 ||
        (error = pg_merger_revoke(m, code, out->key_id, after,
                                  &out->quarantined)) < 0 ||
        (error = pg_merger_finish(m)) < 0)
        goto done;
    if ((error = pg_audit__record_as(
             node, operator_name, "peer.revoke", code, "{s:s, s:I, s:I}",
             "key_id", out->key_id, "after_seq", (json_int_t)after,
             "quarantined", (json_int_t)out->quarantined)) < 0)
        goto done;

done:
    pg_merger_free(m);
    return error;
}
