/*
 * Reading the change-log.  Each entry's body is the Txn protobuf as its
 * origin encoded it; listing decodes it, recomputes the digest and checks
 * the origin signature with the origin's key where this node knows it
 * (its own key, a pinned peer's card, a certificate from the `node`
 * collection, or the keyring of the chain of trust).
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

/* The signing key bound to (origin, key id) by a pinned peer's card or by
 * the keyring of cards relayed in bundles, where known.  @p st is prepared
 * once per listing. */
static const uint8_t *known_key(sqlite3_stmt *st, const pg_txn *txn,
                                uint8_t pk[PG_SIGN_PK_LEN])
{
    const uint8_t *found = NULL;

    if (!st)
        return NULL;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, txn->origin, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, txn->key_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        /* Cards keep the key as bytes, certificates as hex text. */
        if (sqlite3_column_type(st, 0) == SQLITE_TEXT) {
            const char *hex = (const char *)sqlite3_column_text(st, 0);
            if (hex && pg_unhex(pk, PG_SIGN_PK_LEN, hex) == 0)
                found = pk;
            pg_error_clear();
        } else if (sqlite3_column_bytes(st, 0) == PG_SIGN_PK_LEN) {
            memcpy(pk, sqlite3_column_blob(st, 0), PG_SIGN_PK_LEN);
            found = pk;
        }
    }
    sqlite3_reset(st);
    return found;
}

/* The origin's signing key, where known: this node's own, else a peer's
 * or a relayed card's. */
static const uint8_t *origin_key(const pg_node *node, sqlite3_stmt *keys,
                                 const pg_txn *txn, uint8_t pk[PG_SIGN_PK_LEN])
{
    if (strcmp(txn->origin, node->card.code) == 0 &&
        strcmp(txn->key_id, node->card.key_id) == 0)
        return node->card.sign_pk;
    return known_key(keys, txn, pk);
}

int pg_log_list(pg_node *node, int64_t since, size_t limit, pg_log_cb cb,
                void *payload)
{
    sqlite3_stmt *st = NULL, *keys = NULL;
    pg_txn *txn = NULL;
    uint8_t pk_buf[PG_SIGN_PK_LEN];
    int rc, error = 0;

    /* Should the key tables be unreadable, only this node's own txns
     * verify. */
    if (sqlite3_prepare_v2(node->db,
                           "SELECT sign_pk FROM peer WHERE code = ?1 AND "
                           "key_id = ?2 UNION ALL SELECT sign_pk FROM "
                           "node WHERE code = ?1 AND key_id = ?2 AND "
                           "length(sign_pk) = 64 UNION ALL SELECT sign_pk "
                           "FROM keyring WHERE code = ?1 AND key_id = ?2 "
                           "LIMIT 1",
                           -1, &keys, NULL) != SQLITE_OK) {
        sqlite3_finalize(keys);
        keys = NULL;
    }
    rc = sqlite3_prepare_v2(
        node->db,
        "SELECT seq, body, digest, received_at, via FROM log "
        "WHERE seq > ? ORDER BY seq LIMIT ?",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(keys);
        return pg_store__error(node->db, rc, "reading the log");
    }
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
        e.via = (const char *)sqlite3_column_text(st, 4);
        if (!e.via)
            e.via = "";
        if (sqlite3_column_bytes(st, 2) != PG_HASH_LEN ||
            pg_txn_decode(&txn, body, blen) < 0) {
            error = pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                                 "log entry %lld is damaged", (long long)seq);
            break;
        }
        const uint8_t *pk = origin_key(node, keys, txn, pk_buf);
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
    sqlite3_finalize(keys);
    pg_txn_free(txn);
    return error;
}
