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

/* The other digest of an equivocation: what the log holds for the same
 * origin and seq, else what was quarantined or is pending for it. */
#define QUARANTINE_OTHER(table)                                                \
    "(SELECT o.digest FROM " table " o WHERE o.origin = q.origin AND "         \
    "o.origin_seq = q.origin_seq AND o.digest <> q.digest LIMIT 1)"
#define QUARANTINE_COLUMNS                                                     \
    "q.id, q.peer, q.origin, q.origin_seq, q.digest, q.collection, "           \
    "q.division, q.reason, q.received_ms, CASE WHEN q.reason LIKE "            \
    "'equivocation:%' THEN coalesce(" QUARANTINE_OTHER(                        \
        "log") ", " QUARANTINE_OTHER("quarantine") ", " QUARANTINE_OTHER("pen" \
                                                                         "din" \
                                                                         "g") ") END FROM quarantine q"

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
    if (sqlite3_column_bytes(st, 9) == PG_HASH_LEN)
        pg_hex(q->other_digest, sqlite3_column_blob(st, 9), PG_HASH_LEN);
}

/* Each row of @p st (QUARANTINE_COLUMNS) to @p cb; finalizes @p st. */
static int quarantine_each(pg_node *node, sqlite3_stmt *st, pg_quarantine_cb cb,
                           void *payload)
{
    pg_quarantined q;
    int rc, error = 0;

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

int pg_quarantine_list(pg_node *node, pg_quarantine_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    int rc;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);

    rc = sqlite3_prepare_v2(
        node->db, "SELECT " QUARANTINE_COLUMNS " ORDER BY q.id", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the quarantine");
    return quarantine_each(node, st, cb, payload);
}

int pg_quarantine_equivocations(pg_node *node, int64_t since_ms,
                                pg_quarantine_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    int rc;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);

    rc = sqlite3_prepare_v2(node->db,
                            "SELECT " QUARANTINE_COLUMNS
                            " WHERE q.reason LIKE 'equivocation:%' AND "
                            "q.received_ms >= ? ORDER BY q.id DESC",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the quarantine");
    sqlite3_bind_int64(st, 1, since_ms);
    return quarantine_each(node, st, cb, payload);
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
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT " QUARANTINE_COLUMNS " WHERE q.id = ?", -1,
                            &st, NULL);
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
