/*
 * A node's status (include/pingan/status.h): read-only queries over the
 * log, the peers and their cursors, conflicts, quarantine and pending
 * txns.  Per-peer counts come from the export planner, so they are
 * exactly what the next export would carry.
 */
#include "pingan/status.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/buf.h"
#include "pingan/conflict.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/lifecycle.h"
#include "pingan/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run a query with up to one int64 parameter (bound when bind is true)
 * and pass each row to row(). */
static int query(pg_node *node, const char *sql, bool bind, int64_t param,
                 int (*row)(sqlite3_stmt *st, void *payload), void *payload,
                 const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, what);
    if (bind)
        sqlite3_bind_int64(st, 1, param);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((error = row(st, payload)) < 0)
            break;
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, what);
    sqlite3_finalize(st);
    return error;
}

static int log_row(sqlite3_stmt *st, void *payload)
{
    pg_status *s = payload;
    s->log_entries = (uint64_t)sqlite3_column_int64(st, 0);
    s->log_last_seq = (uint64_t)sqlite3_column_int64(st, 1);
    return 0;
}

static int plan_count(int64_t *out, char *problem, size_t len, pg_node *node,
                      const char *code, bool resend)
{
    pg_export_plan plan;
    memset(&plan, 0, sizeof(plan));
    int error = pg_bundle_export_plan(node, code, resend, &plan);
    if (error == 0)
        *out = (int64_t)plan.txns;
    pg_export_plan_dispose(&plan);
    if (error == 0)
        return 0;
    /* A link that cannot be planned (a bad policy) is shown, not fatal. */
    if (error == PG_EPOLICY || error == PG_EINVALID || error == PG_ECORRUPT ||
        error == PG_ENOTFOUND) {
        if (!problem[0] && len > 0) {
            /* The message, cut to the room there is. */
            const char *msg = pg_error_last()->message;
            size_t n = strnlen(msg, len - 1);
            memcpy(problem, msg, n);
            problem[n] = 0;
        }
        pg_error_clear();
        *out = -1;
        return 0;
    }
    return error;
}

/* Peers and reasons are gathered in a pg_buf, then handed to the status
 * (which frees them with free()). */
static int peer_one(const pg_peer *peer, void *payload)
{
    pg_status_peer sp;
    memset(&sp, 0, sizeof(sp));
    sp.peer = *peer;
    return pg_buf_put(payload, &sp, sizeof(sp));
}

static int count_conflict(const pg_conflict *c, void *payload)
{
    (void)c;
    (*(uint64_t *)payload)++;
    return 0;
}

static int reason_row(sqlite3_stmt *st, void *payload)
{
    pg_status_reason r;
    const unsigned char *text = sqlite3_column_text(st, 0);
    memset(&r, 0, sizeof(r));
    snprintf(r.reason, sizeof(r.reason), "%s", text ? (const char *)text : "");
    r.count = (uint64_t)sqlite3_column_int64(st, 1);
    return pg_buf_put(payload, &r, sizeof(r));
}

#define CLOCK_SKEW_PREFIX "clock skew"

static int pending_row(sqlite3_stmt *st, void *payload)
{
    pg_status *s = payload;
    const char *reason = (const char *)sqlite3_column_text(st, 0);
    int64_t received = sqlite3_column_int64(st, 1);
    long long ahead;

    s->pending_total++;
    if (reason &&
        strncmp(reason, CLOCK_SKEW_PREFIX, strlen(CLOCK_SKEW_PREFIX)) == 0) {
        s->pending_clock_skew++;
        if (sscanf(reason, "clock skew: the txn's clock is %lld min ahead",
                   &ahead) == 1 &&
            ahead > s->pending_max_ahead_min)
            s->pending_max_ahead_min = ahead;
    } else {
        s->pending_signer++;
    }
    if (!s->pending_oldest_ms || received < s->pending_oldest_ms)
        s->pending_oldest_ms = received;
    return 0;
}

static int last_rejected(sqlite3_stmt *st, void *payload)
{
    pg_status *s = payload;
    const unsigned char *text = sqlite3_column_text(st, 0);
    snprintf(s->rejected_last, sizeof(s->rejected_last), "%s",
             text ? (const char *)text : "");
    return 0;
}

static int peer_clock(pg_node *node, pg_status_peer *sp)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db,
                                "SELECT skew_ms, seen_ms FROM peer_clock "
                                "WHERE code = ?",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading peer clocks");
    sqlite3_bind_text(st, 1, sp->peer.code, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sp->skew_ms = sqlite3_column_int64(st, 0);
        sp->skew_seen_ms = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : pg_store__error(node->db, rc, "reading peer clocks");
}

/* Returned by equivocation_one when the list is full (not an error). */
#define STATUS_ENOUGH 1

static int equivocation_one(const pg_quarantined *q, void *payload)
{
    pg_status *s = payload;
    s->equivocations[s->nequivocations++] = *q;
    return s->nequivocations == PG_STATUS_EQUIVOCATIONS_MAX ? STATUS_ENOUGH : 0;
}

int pg_status_get(pg_node *node, pg_status *out)
{
    int error;
    int64_t version = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(out);
    memset(out, 0, sizeof(*out));

    const pg_card *card = pg_node_card(node);
    snprintf(out->code, sizeof(out->code), "%s", card->code);
    snprintf(out->name, sizeof(out->name), "%s", card->name);
    out->tier = card->tier;
    snprintf(out->key_id, sizeof(out->key_id), "%s", card->key_id);
    out->now_ms = pg_time_now_ms();

    if ((error = pg_store__meta_get_int(node->db, NULL, "schema_version",
                                        &version)) < 0)
        return error;
    out->schema_version = (unsigned)version;
    if ((error = query(node, "SELECT count(*), coalesce(max(seq), 0) FROM log",
                       false, 0, log_row, out, "reading the log")) < 0)
        return error;

    pg_buf buf = PG_BUF_INIT;
    error = pg_peer_list(node, peer_one, &buf);
    out->peers = (pg_status_peer *)buf.data;
    out->npeers = buf.len / sizeof(*out->peers);
    if (error < 0)
        return error;
    for (size_t i = 0; i < out->npeers; i++) {
        pg_status_peer *sp = &out->peers[i];
        if ((error = plan_count(&sp->unsent, sp->problem, sizeof(sp->problem),
                                node, sp->peer.code, false)) < 0 ||
            (error = plan_count(&sp->unacked, sp->problem, sizeof(sp->problem),
                                node, sp->peer.code, true)) < 0)
            return error;
    }

    if ((error = pg_conflict_list(node, false, count_conflict,
                                  &out->conflicts_open)) < 0)
        return error;
    pg_overdue_item *overdue = NULL;
    size_t noverdue = 0;
    if ((error = pg_overdue_list(&overdue, &noverdue, node, out->now_ms)) < 0)
        return error;
    free(overdue);
    out->overdue = noverdue;

    pg_buf_init(&buf, PG_BUF_DEFAULT_MAX);
    error = query(node,
                  "SELECT CASE WHEN instr(reason, ':') > 0 "
                  "THEN substr(reason, 1, instr(reason, ':') - 1) "
                  "ELSE reason END AS prefix, count(*) AS n "
                  "FROM quarantine WHERE received_ms >= ?1 "
                  "GROUP BY prefix ORDER BY n DESC, prefix",
                  true, out->now_ms - PG_STATUS_RECENT_MS, reason_row, &buf,
                  "reading the quarantine");
    out->reasons = (pg_status_reason *)buf.data;
    out->nreasons = buf.len / sizeof(*out->reasons);
    for (size_t i = 0; i < out->nreasons; i++)
        out->quarantined_recent += out->reasons[i].count;
    if (error < 0)
        return error;

    pg_buf_init(&buf, PG_BUF_DEFAULT_MAX);
    error = query(node,
                  "SELECT source, count(*) AS n FROM rejected WHERE at_ms >= "
                  "?1 GROUP BY source ORDER BY n DESC, source",
                  true, out->now_ms - PG_STATUS_RECENT_MS, reason_row, &buf,
                  "reading refused input");
    out->rejected = (pg_status_reason *)buf.data;
    out->nrejected = buf.len / sizeof(*out->rejected);
    for (size_t i = 0; i < out->nrejected; i++)
        out->rejected_recent += out->rejected[i].count;
    if (error == 0 && out->rejected_recent)
        error = query(node,
                      "SELECT reason FROM rejected WHERE at_ms >= ?1 ORDER BY "
                      "id DESC LIMIT 1",
                      true, out->now_ms - PG_STATUS_RECENT_MS, last_rejected,
                      out, "reading refused input");
    for (size_t i = 0; error == 0 && i < out->npeers; i++)
        error = peer_clock(node, &out->peers[i]);
    if (error < 0)
        return error;

    if ((error = query(node, "SELECT reason, received_ms FROM pending", false,
                       0, pending_row, out, "reading pending txns")) < 0)
        return error;

    out->equivocations =
        calloc(PG_STATUS_EQUIVOCATIONS_MAX, sizeof(*out->equivocations));
    if (!out->equivocations)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    error = pg_quarantine_equivocations(node, out->now_ms - PG_STATUS_RECENT_MS,
                                        equivocation_one, out);
    if (error == STATUS_ENOUGH)
        error = 0;
    if (error < 0)
        return error;

    pg_audit_head head, seen;
    if ((error = pg_audit_head_get(&head, node)) < 0 ||
        (error = pg_audit_parent_seen(&seen, out->audit_parent, node)) < 0)
        return error;
    out->audit_seq = head.seq;
    pg_hex(out->audit_hash, head.hash, PG_HASH_LEN);
    out->audit_parent_seq = seen.seq;
    return 0;
}

void pg_status_dispose(pg_status *status)
{
    if (!status)
        return;
    free(status->peers);
    free(status->reasons);
    free(status->rejected);
    free(status->equivocations);
    status->equivocations = NULL;
    status->nequivocations = 0;
    status->peers = NULL;
    status->reasons = NULL;
    status->rejected = NULL;
    status->npeers = status->nreasons = status->nrejected = 0;
}
