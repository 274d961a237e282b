/*
 * Reading the change-log.  Each entry's body is the Txn protobuf as its
 * origin encoded it; listing decodes it, recomputes the digest and checks
 * the origin signature with the origin's key where this node knows it
 * (its own key now; certificates from the `node` collection once the
 * federation exchanges them).
 */
#include "pingan/changelog.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/error.h"

#include <string.h>

int pg_log_last_seq(pg_node *node, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        node->db, "SELECT coalesce(max(seq), 0) FROM log", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
    }
    int error = pg_store__error(node->db, rc, "reading the log");
    sqlite3_finalize(st);
    return error;
}

/* The origin's signing key, where known. */
static const uint8_t *origin_key(const pg_node *node, const pg_txn *txn)
{
    if (strcmp(txn->origin, node->card.code) == 0 &&
        strcmp(txn->key_id, node->card.key_id) == 0)
        return node->card.sign_pk;
    return NULL;
}

int pg_log_list(pg_node *node, int64_t since, size_t limit, pg_log_cb cb,
                void *payload)
{
    sqlite3_stmt *st = NULL;
    pg_txn *txn = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db,
                            "SELECT seq, body, digest, received_at FROM log "
                            "WHERE seq > ? ORDER BY seq LIMIT ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the log");
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_log_entry e;
        int64_t seq = sqlite3_column_int64(st, 0);
        const uint8_t *body = sqlite3_column_blob(st, 1);
        size_t blen = (size_t)sqlite3_column_bytes(st, 1);

        memset(&e, 0, sizeof(e));
        e.seq = seq;
        e.digest = sqlite3_column_blob(st, 2);
        e.received_ms = sqlite3_column_int64(st, 3);
        if (sqlite3_column_bytes(st, 2) != PG_HASH_LEN ||
            pg_txn_decode(&txn, body, blen) < 0) {
            error = pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                                 "log entry %lld is damaged", (long long)seq);
            break;
        }
        const uint8_t *pk = origin_key(node, txn);
        e.signature_ok = pk && pg_txn_verify(txn, pk) == 0 &&
                         memcmp(txn->digest, e.digest, PG_HASH_LEN) == 0;
        pg_error_clear();
        e.txn = txn;
        error = cb(&e, payload);
        pg_txn_free(txn);
        txn = NULL;
        if (error)
            break;
    }
    if (!error && rc != SQLITE_DONE && rc != SQLITE_ROW)
        error = pg_store__error(node->db, rc, "reading the log");
    sqlite3_finalize(st);
    pg_txn_free(txn);
    return error;
}
