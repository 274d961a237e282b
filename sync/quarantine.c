/*
 * The quarantine (include/pingan/quarantine.h): received txns that failed
 * their own checks, kept with their reason and bytes by sync/merge.c.
 * Reading only: quarantine is final.
 */
#include "pingan/quarantine.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/error.h"

#include <stdio.h>
#include <string.h>

#define QUARANTINE_COLUMNS                                                     \
    "id, peer, origin, origin_seq, digest, collection, division, reason, "     \
    "received_ms"

static void copy_text(char *out, size_t outlen, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", s ? (const char *)s : "");
}

static void entry_from_row(pg_quarantined *q, sqlite3_stmt *st)
{
    memset(q, 0, sizeof(*q));
    q->id = sqlite3_column_int64(st, 0);
    copy_text(q->peer, sizeof(q->peer), st, 1);
    copy_text(q->origin, sizeof(q->origin), st, 2);
    q->origin_seq = (uint64_t)sqlite3_column_int64(st, 3);
    if (sqlite3_column_bytes(st, 4) == PG_HASH_LEN)
        pg_hex(q->digest, sqlite3_column_blob(st, 4), PG_HASH_LEN);
    copy_text(q->collection, sizeof(q->collection), st, 5);
    copy_text(q->division, sizeof(q->division), st, 6);
    copy_text(q->reason, sizeof(q->reason), st, 7);
    q->received_ms = sqlite3_column_int64(st, 8);
}

int pg_quarantine_list(pg_node *node, pg_quarantine_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    pg_quarantined q;
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);

    rc = sqlite3_prepare_v2(
        node->db, "SELECT " QUARANTINE_COLUMNS " FROM quarantine ORDER BY id",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the quarantine");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        entry_from_row(&q, st);
        if ((error = cb(&q, payload)) != 0)
            break;
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading the quarantine");
    sqlite3_finalize(st);
    return error;
}

static int not_found(int64_t id)
{
    return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                        "no quarantined txn %lld; 'pingan quarantine list' "
                        "shows them",
                        (long long)id);
}

int pg_quarantine_get(pg_quarantined *out, pg_node *node, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);

    memset(out, 0, sizeof(*out));
    rc = sqlite3_prepare_v2(
        node->db, "SELECT " QUARANTINE_COLUMNS " FROM quarantine WHERE id = ?",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the quarantine");
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        entry_from_row(out, st);
    else if (rc == SQLITE_DONE)
        error = not_found(id);
    else
        error = pg_store__error(node->db, rc, "reading the quarantine");
    sqlite3_finalize(st);
    return error;
}

int pg_quarantine_txn(pg_txn **out, pg_node *node, int64_t id)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);

    *out = NULL;
    rc = sqlite3_prepare_v2(
        node->db, "SELECT body FROM quarantine WHERE id = ?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the quarantine");
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const uint8_t *body = sqlite3_column_blob(st, 0);
        error = pg_txn_decode(out, body ? body : (const uint8_t *)"",
                              (size_t)sqlite3_column_bytes(st, 0));
    } else if (rc == SQLITE_DONE)
        error = not_found(id);
    else
        error = pg_store__error(node->db, rc, "reading the quarantine");
    sqlite3_finalize(st);
    return error;
}
