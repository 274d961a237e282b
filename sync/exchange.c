/*
 * Export and import of bundle files (DESIGN §4, §6, §8).
 *
 * Export walks this node's log after the peer's cursor, keeps what the
 * path rule lets the peer receive (route.c), adds the card of every
 * origin the peer may not know just before that origin's first txn, and
 * streams it all into bundle writers, splitting at --max-bytes.  Every
 * bundle covers a contiguous range of the log, including entries that
 * were not selected, so the peer can tell a lost file from a filtered one.
 *
 * Import reads a bundle in one pass inside one SQLite transaction: the
 * sender is the pinned peer whose key signed the header; cards are
 * learnt, txns merged (merge.c), then the peer's cursors move and the
 * transaction commits, but only after pg_bundle_read has verified the
 * trailer.  Anything else rolls the whole file back.
 */
#include "pingan/exchange.h"
#include "bundle.h"
#include "error_internal.h"
#include "pingan/division.h"
#include "keys.h"
#include "merge.h"
#include "node_internal.h"
#include "audit_internal.h"
#include "redact.h"
#include "route.h"
#include "pingan/policy.h"
#include "store.h"
#include "pingan/error.h"
#include "pingan/peer.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- cursors and received ranges ----------------------------------- */

static int peer_set_int(pg_node *node, const char *code, const char *column,
                        int64_t value)
{
    char sql[128];
    sqlite3_stmt *st;
    bool owned;
    int error;

    snprintf(sql, sizeof(sql), "UPDATE peer SET %s = ? WHERE code = ?", column);
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db, sql)) <
        0)
        return error;
    sqlite3_bind_int64(st, 1, value);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    return pg_store__step_done(st, owned, node->db, "moving a peer's cursor");
}

/* Run a one-integer query with one text parameter; *out = 0 for NULL. */
static int query_int(pg_node *node, const char *sql, const char *param,
                     int64_t *out)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db, sql)) <
        0)
        return error;
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the store");
    return 0;
}

/* Prepare a cached statement on peer_range and bind (code, lo, hi). */
static int range_prepare(sqlite3_stmt **st, bool *owned, pg_node *node,
                         const char *sql, const char *code, int64_t lo,
                         int64_t hi)
{
    int error;

    if ((error = pg_store__cached(st, owned, &node->stmts, node->db, sql)) < 0)
        return error;
    sqlite3_bind_text(*st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 2, lo);
    sqlite3_bind_int64(*st, 3, hi);
    return 0;
}

/*
 * Record that [first, last] of the peer's log has been received, keeping
 * peer_range merged (overlapping or adjacent ranges become one).
 */
static int range_add(pg_node *node, const char *code, uint64_t first,
                     uint64_t last)
{
    sqlite3_stmt *st;
    bool owned;
    int64_t lo = (int64_t)first, hi = (int64_t)last;
    int rc, error;

    /* Absorb every range that overlaps or touches [lo, hi]. */
    if ((error = range_prepare(
             &st, &owned, node,
             "SELECT min(first), max(last) FROM peer_range WHERE code = ? "
             "AND last >= ? - 1 AND first <= ? + 1",
             code, lo, hi)) < 0)
        return error;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        if (sqlite3_column_int64(st, 0) < lo)
            lo = sqlite3_column_int64(st, 0);
        if (sqlite3_column_int64(st, 1) > hi)
            hi = sqlite3_column_int64(st, 1);
    }
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading received ranges");
    if ((error = range_prepare(&st, &owned, node,
                               "DELETE FROM peer_range WHERE code = ? AND "
                               "first >= ? AND last <= ?",
                               code, lo, hi)) < 0)
        return error;
    if ((error = pg_store__step_done(st, owned, node->db,
                                     "merging received ranges")) < 0)
        return error;
    if ((error = range_prepare(&st, &owned, node,
                               "INSERT INTO peer_range(code, first, last) "
                               "VALUES(?, ?, ?)",
                               code, lo, hi)) < 0)
        return error;
    return pg_store__step_done(st, owned, node->db, "recording a range");
}

/* The contiguous end of the peer's log received here, from seq 1. */
static int range_contiguous(pg_node *node, const char *code, int64_t *out)
{
    return query_int(node,
                     "SELECT last FROM peer_range WHERE code = ? AND "
                     "first = 1",
                     code, out);
}

/*
 * received_upto: the contiguous end, held back before the first txn of
 * this peer still pending (a pending txn is not acknowledged, so that a
 * resend brings it again).
 */
static int update_received(pg_node *node, const char *code)
{
    int64_t contiguous, first_pending;
    int error;

    if ((error = range_contiguous(node, code, &contiguous)) < 0 ||
        (error =
             query_int(node, "SELECT min(peer_seq) FROM pending WHERE peer = ?",
                       code, &first_pending)) < 0)
        return error;
    if (first_pending > 0 && first_pending - 1 < contiguous)
        contiguous = first_pending - 1;
    return peer_set_int(node, code, "received_upto", contiguous);
}

/* Every peer's received_upto (pending txns of any peer may have moved). */
static int update_all_received(pg_node *node)
{
    sqlite3_stmt *st;
    char codes[64][PG_CODE_LEN + 1];
    size_t n = 0;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db, "SELECT code FROM peer ORDER BY code", -1,
                            &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "listing peers");
    while (error == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        if (c && strlen(c) == PG_CODE_LEN)
            memcpy(codes[n++], c, PG_CODE_LEN + 1);
        if (n == sizeof(codes) / sizeof(codes[0])) {
            for (size_t i = 0; error == 0 && i < n; i++)
                error = update_received(node, codes[i]);
            n = 0;
        }
    }
    /* A failed step (SQLITE_NOMEM) may have rolled the whole import back:
     * going on would write the rest outside any transaction. */
    if (error == 0 && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "listing peers");
    sqlite3_finalize(st);
    for (size_t i = 0; error == 0 && i < n; i++)
        error = update_received(node, codes[i]);
    return error;
}

/* --- export ---------------------------------------------------------- */

typedef struct out_file {
    char *tmp;  /* temporary path, renamed at the end */
    char *path; /* final path */
    pg_export_file info;
} out_file;

/* The walk reads what routing needs; a txn's body is read only for the
 * entries routed to the peer (SQL_EXPORT_BODY), so that a first sync
 * against a large log does not read every body it skips. */
#define SQL_EXPORT_LOG                                                         \
    "SELECT seq, origin, via, division, collection FROM log "                  \
    "WHERE seq > ? ORDER BY seq"
#define SQL_EXPORT_BODY "SELECT body FROM log WHERE seq = ?"

typedef struct export_state {
    pg_node *node;
    const pg_export_opts *opts;
    pg_peer peer;
    pg_card peer_card;
    pg_policy *policy; /* the link's effective policy */
    pg_redactor *redactor;
    pg_bundle_writer *w;
    uint64_t first, last, txns, cards; /* the bundle being written */
    uint64_t withheld;                 /* entries not for this peer */
    uint64_t start;                    /* where the cursor says to start */
    pg_buf forced; /* uint64_t seqs <= start sent again (ascending) */
    pg_buf outs;   /* out_file[]: the bundles written */
    size_t nfiles;
    bool more;             /* stopped at opts->max_files */
    bool request;          /* on restore hold, to the parent: always a bundle */
    bool returning;        /* forced holds a restored child's own txns */
    int64_t returned_upto; /* the highest of them written */
    sqlite3_stmt *body_st; /* SQL_EXPORT_BODY, prepared on first use */
    const pg_schema *link; /* min(this node's version, the peer's) */
    const pg_schema *says; /* the header's: link, or own when announced */
    bool announce;         /* tell the peer of an upgrade: always a bundle */
    pg_buf held;           /* uint64_t (seq, since) pairs held back now */
    pg_buf unheld;         /* uint64_t seqs of peer_held sent now */
    size_t nheld_due;      /* rows of peer_held the link now admits */
} export_state;

/* The bundles written so far (their array grows with outs). */
static out_file *export_files(export_state *es)
{
    return (out_file *)(void *)es->outs.data;
}

/* The body of the log entry @p seq (valid until the next call). */
static int export_body(export_state *es, uint64_t seq, const uint8_t **body,
                       size_t *len)
{
    int rc;

    if (!es->body_st &&
        (rc = sqlite3_prepare_v2(es->node->db, SQL_EXPORT_BODY, -1,
                                 &es->body_st, NULL)) != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_reset(es->body_st);
    sqlite3_bind_int64(es->body_st, 1, (sqlite3_int64)seq);
    rc = sqlite3_step(es->body_st);
    if (rc != SQLITE_ROW)
        return pg_store__error(es->node->db,
                               rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                               "reading the log");
    *body = sqlite3_column_blob(es->body_st, 0);
    *len = (size_t)sqlite3_column_bytes(es->body_st, 0);
    return 0;
}

static int export_start(export_state *es, uint64_t first)
{
    int error = pg_bundle_writer_new(&es->w, pg_node__sign_sk(es->node),
                                     es->peer_card.box_pk, es->opts->frame_max);
    es->first = first;
    es->last = first ? first - 1 : 0;
    es->txns = es->cards = 0;
    return error;
}

/* Make a rename in the directory of path durable (best effort). */
static void fsync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Finish the current bundle into a temporary file beside opts->out. */
/*
 * Header field 20 (pingan/recovery.h).  To a child: the highest seq of the
 * child's own txns held here.  To the parent while this node is on
 * restore hold: its own highest seq, asking for the newer ones back.
 */
static int export_held(pg_bundle_info *info, export_state *es)
{
    int64_t v;
    int error;

    if (es->peer.role == PG_PEER_CHILD) {
        if ((error = query_int(es->node,
                               "SELECT max(origin_seq) FROM log WHERE "
                               "origin = ?",
                               es->peer.code, &v)) < 0)
            return error;
        info->has_held = true;
        info->held_seq = (uint64_t)v;
    } else if (es->peer.role == PG_PEER_PARENT) {
        if ((error = pg_node__hold_upto(es->node, &v)) < 0)
            return error;
        info->has_held = v >= 0;
        info->held_seq = v >= 0 ? (uint64_t)v : 0;
    }
    return 0;
}

/* A restored child's own txns after what it holds, wherever they are in
 * the log, go back to it (es->forced; routing would never send a peer
 * what it originated). */
static int export_returning(export_state *es)
{
    sqlite3_stmt *st = NULL;
    int64_t from = -1;
    int rc, error = 0;

    if (es->peer.role != PG_PEER_CHILD)
        return 0;
    rc = sqlite3_prepare_v2(es->node->db,
                            "SELECT l.seq FROM peer_restore r JOIN log l ON "
                            "l.origin = r.code AND l.origin_seq > "
                            "r.return_from WHERE r.code = ? ORDER BY l.seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_bind_text(st, 1, es->peer.code, -1, SQLITE_STATIC);
    while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        error = pg_buf_put(&es->forced, &seq, sizeof(seq));
        from = 0;
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_finalize(st);
    es->returning = from == 0;
    return error;
}

/* The bundles stopped at their limit: the next export returns only the
 * child's own txns after those sent. */
static int export_return_moved(export_state *es)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(es->node->db,
                                "UPDATE peer_restore SET return_from = "
                                "max(return_from, ?) WHERE code = ?",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "recording a return");
    sqlite3_bind_int64(st, 1, es->returned_upto);
    sqlite3_bind_text(st, 2, es->peer.code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(es->node->db, rc, "recording a return");
}

/* A child's own txn went back into the bundle: note its origin seq. */
static int export_returned(export_state *es, uint64_t seq)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(es->node->db,
                                "SELECT origin_seq FROM log WHERE seq = ?", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_column_int64(st, 0) > es->returned_upto)
        es->returned_upto = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW
               ? 0
               : pg_store__error(es->node->db, rc, "reading the log");
}

static int export_finish(export_state *es)
{
    pg_bundle_info info;
    out_file *of;
    FILE *f = NULL;
    int fd, error = 0;

    out_file blank;
    memset(&blank, 0, sizeof(blank));
    if ((error = pg_buf_put(&es->outs, &blank, sizeof(blank))) < 0)
        return error;
    of = &export_files(es)[es->nfiles];
    memset(of, 0, sizeof(*of));
    size_t len = strlen(es->opts->out) + 16;
    if (!(of->tmp = malloc(len)))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    snprintf(of->tmp, len, "%s.tmpXXXXXX", es->opts->out);
    if ((fd = mkstemp(of->tmp)) < 0 || !(f = fdopen(fd, "wb"))) {
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                             "cannot write a bundle beside %s: %s",
                             es->opts->out, pg_error__oserr(errno));
        if (fd >= 0)
            close(fd);
        free(of->tmp);
        return error;
    }
    es->nfiles++;
    memset(&info, 0, sizeof(info));
    memcpy(info.sender, pg_node_code(es->node), PG_CODE_LEN + 1);
    memcpy(info.recipient, es->peer.code, PG_CODE_LEN + 1);
    memcpy(info.recipient_key_id, es->peer.key_id, PG_KEY_ID_LEN + 1);
    /* The peer reads what its version knows: the header says which. */
    info.schema_version = es->says->version;
    memcpy(info.schema_hash, es->says->hash, PG_HASH_LEN);
    info.created_ms = pg_time_now_ms();
    /* The range walked: with txns, or empty but covered (opts->cover). */
    bool covers = es->first > 0 && es->last >= es->first;
    info.range_first = covers ? es->first : 0;
    info.range_last = covers ? es->last : 0;
    info.ack_upto = (uint64_t)es->peer.received_upto;
    /* A child learns the chain of trust up to the city (DESIGN §7); it is
     * small, so every bundle to a child carries it once it is complete. */
    if (!error)
        error = export_held(&info, es);
    if (es->peer.role == PG_PEER_CHILD) {
        int e = pg_keys_chain(&info.root, info.chain, &info.nchain, es->node);
        if (e == 0)
            info.has_root = true;
        else if (e != PG_ENOTFOUND)
            error = e;
        pg_error_clear();
    }
    /* The audit chain heads (FORMAT.md §9): a parent learns this node's
     * head, so that this node cannot rewrite its chain unnoticed; a child
     * learns which of its heads this node holds. */
    if (!error && es->peer.role == PG_PEER_PARENT) {
        error = pg_audit_head_get(&info.audit_own, es->node);
        info.has_audit_own = error == 0 && info.audit_own.seq > 0;
    } else if (!error && es->peer.role == PG_PEER_CHILD) {
        error =
            pg_audit__child_head_get(&info.audit_seen, es->node, es->peer.code);
        info.has_audit_seen = error == 0 && info.audit_seen.seq > 0;
    }
    if (!error)
        error = pg_bundle_writer_finish(es->w, &info, f);
    if (!error &&
        (fflush(f) != 0 || (!es->opts->scratch && fsync(fileno(f)) != 0)))
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                             of->tmp, pg_error__oserr(errno));
    if (fclose(f) != 0 && !error)
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                             of->tmp, pg_error__oserr(errno));
    pg_bundle_writer_free(es->w);
    es->w = NULL;
    of->info.first = info.range_first;
    of->info.last = info.range_last;
    of->info.txns = info.txns;
    of->info.cards = info.cards;
    of->info.bytes = info.bytes;
    return error;
}

/* A row of SQL_EXPORT_LOG as routing sees it (strings live until the next
 * step). */
static pg_route_entry export_entry(sqlite3_stmt *st)
{
    const char *col[4];
    for (int i = 0; i < 4; i++) {
        col[i] = (const char *)sqlite3_column_text(st, i + 1);
        if (!col[i])
            col[i] = "";
    }
    return (pg_route_entry){.origin = col[0],
                            .via = col[1],
                            .division = col[2],
                            .collection = col[3]};
}

/* Where the walk starts: the cursor, or before the first txn sent again. */
static uint64_t export_first(const export_state *es)
{
    const uint64_t *v = (const uint64_t *)(void *)es->forced.data;
    return es->forced.len && v[0] - 1 < es->start ? v[0] - 1 : es->start;
}

static bool export_forced(const export_state *es, uint64_t seq)
{
    const uint64_t *v = (const uint64_t *)(void *)es->forced.data;
    size_t lo = 0, hi = es->forced.len / sizeof(*v);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == seq)
            return true;
        if (v[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Has the partner been sent the whole history of this record? */
static int backfill_known(bool *out, pg_node *node, const char *peer,
                          const char *coll, const char *rid)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT 1 FROM peer_record WHERE code = ? "
                                  "AND coll = ? AND record_id = ?")) < 0)
        return error;
    sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rid, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    pg_store__release(st, owned);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : pg_store__error(node->db, rc, "reading what a partner has");
}

/* The earlier txns of one record, at or before es->start. */
static int backfill_record(export_state *es, const char *coll,
                           const char *division, const char *rid)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(es->node->db,
                            "SELECT seq, body FROM log WHERE collection = ? "
                            "AND division = ? AND seq <= ? ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_bind_text(st, 1, coll, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, division, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)es->start);
    while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_txn *txn = NULL;
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (pg_txn_decode(&txn, sqlite3_column_blob(st, 1),
                          (size_t)sqlite3_column_bytes(st, 1)) < 0) {
            pg_error_clear();
            continue;
        }
        for (size_t i = 0; i < txn->nchanges; i++)
            if (strcmp(txn->changes[i].record_id, rid) == 0) {
                error = pg_buf_put(&es->forced, &seq, sizeof(seq));
                break;
            }
        pg_txn_free(txn);
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_finalize(st);
    /* Keep the set sorted and without repeats for export_forced. */
    size_t n = es->forced.len / sizeof(uint64_t), k = 0;
    uint64_t *v = (uint64_t *)(void *)es->forced.data;
    if (n)
        qsort(v, n, sizeof(*v), seq_cmp);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    es->forced.len = k * sizeof(*v);
    return error;
}

/* The partner's policy as the last export applied it. */
static int backfill_policy_changed(bool *out, export_state *es)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(es->node->db,
                                "SELECT hash FROM peer_policy_sent WHERE "
                                "code = ?",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the peer table");
    sqlite3_bind_text(st, 1, es->peer.code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *out = rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != PG_HASH_LEN ||
           memcmp(sqlite3_column_blob(st, 0), pg_policy_hash(es->policy),
                  PG_HASH_LEN) != 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : pg_store__error(es->node->db, rc, "reading the peer table");
}

/*
 * DESIGN §6: when a record newly enters a partner's selection (it became
 * cross_region, the agreement was widened) its whole history is sent.
 * Candidates are the records of the txns after the cursor, or of the
 * whole log when the agreement changed since the last export; each that
 * meets the agreement now but whose history the partner has not had
 * gets its earlier txns sent again (es->forced).
 */
static int export_backfill(export_state *es)
{
    sqlite3_stmt *st = NULL;
    pg_buf seen = PG_BUF_INIT;
    bool changed;
    int rc, error;

    if (es->peer.role != PG_PEER_PARTNER || es->start == 0)
        return 0;
    if ((error = backfill_policy_changed(&changed, es)) < 0)
        return error;
    rc = sqlite3_prepare_v2(es->node->db, SQL_EXPORT_LOG, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_bind_int64(st, 1, changed ? 0 : (sqlite3_int64)es->start);
    while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_route_entry e = export_entry(st);
        const pg_collection *coll =
            pg_schema_collection(pg_node_schema(es->node), e.collection);
        if (!coll || coll->system ||
            !pg_route_select(es->node, &es->peer, es->policy, es->link, &e))
            continue;
        pg_txn *txn = NULL;
        const uint8_t *body;
        size_t len;
        if ((error = export_body(es, (uint64_t)sqlite3_column_int64(st, 0),
                                 &body, &len)) < 0)
            break;
        if (pg_txn_decode(&txn, body, len) < 0) {
            pg_error_clear();
            continue;
        }
        for (size_t i = 0; !error && i < txn->nchanges; i++) {
            const char *rid = txn->changes[i].record_id;
            bool meets, known, dup = false;
            if (i > 0 && strcmp(rid, txn->changes[i - 1].record_id) == 0)
                continue;
            for (size_t k = 0; k < seen.len;
                 k += strlen((char *)seen.data + k) + 1)
                dup |= strcmp((char *)seen.data + k, rid) == 0;
            if (dup)
                continue;
            if ((error = pg_buf_put(&seen, rid, strlen(rid) + 1)) < 0 ||
                (error = pg_redactor_meets(&meets, es->redactor, coll, rid)) <
                    0 ||
                (error = backfill_known(&known, es->node, es->peer.code,
                                        coll->name, rid)) < 0)
                break;
            if (meets && !known)
                error = backfill_record(es, coll->name, txn->division, rid);
        }
        pg_txn_free(txn);
    }
    if (!error && rc != SQLITE_DONE && rc != SQLITE_ROW)
        error = pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_finalize(st);
    pg_buf_dispose(&seen);
    return error;
}

/* Sort es->forced and drop repeats, for export_forced. */
static void forced_sort(export_state *es)
{
    size_t n = es->forced.len / sizeof(uint64_t), k = 0;
    uint64_t *v = (uint64_t *)(void *)es->forced.data;
    if (n)
        qsort(v, n, sizeof(*v), seq_cmp);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    es->forced.len = k * sizeof(*v);
}

/*
 * DESIGN §2: the txns held back from a peer whose schema version lacked
 * their collection (or some of their fields) are sent once its version
 * has them, as a record newly entering a link's selection is: the txns
 * at or before the cursor join es->forced; those after it the walk meets
 * anyway.
 */
static int export_unhold(export_state *es)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(es->node->db,
                            "SELECT seq FROM peer_held WHERE code = ? AND "
                            "since <= ? ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the peer table");
    sqlite3_bind_text(st, 1, es->peer.code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, es->link->version);
    while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        /* After the cursor, the walk meets them anyway. */
        if (seq <= es->start)
            error = pg_buf_put(&es->forced, &seq, sizeof(seq));
        es->nheld_due++;
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(es->node->db, rc, "reading the peer table");
    sqlite3_finalize(st);
    forced_sort(es);
    return error;
}

/* After the walk, inside the cursor's transaction: the txns held back
 * now, and those sent again (with opts->deliver_token, forgotten only
 * once the bundle is known to have arrived, pg_exchange_delivered). */
static int export_remember_held(export_state *es)
{
    const uint64_t *h = (const uint64_t *)(void *)es->held.data;
    const uint64_t *u = (const uint64_t *)(void *)es->unheld.data;
    const char *token = es->opts->deliver_token;
    sqlite3_stmt *ins = NULL, *del = NULL;
    int rc, error = 0;

    if (!es->held.len && !es->unheld.len)
        return 0;
    rc = sqlite3_prepare_v2(es->node->db,
                            "INSERT OR REPLACE INTO peer_held(code, seq, "
                            "since) VALUES(?, ?, ?)",
                            -1, &ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            es->node->db,
            token ? "INSERT INTO peer_sent_pending(code, token, coll, "
                    "record_id, hash) VALUES(?1, ?3, '#held', ?2, NULL)"
                  : "DELETE FROM peer_held WHERE code = ?1 AND seq = ?2",
            -1, &del, NULL);
    if (rc != SQLITE_OK)
        error = pg_store__error(es->node->db, rc, "recording an export");
    for (size_t i = 0; !error && i < es->held.len / sizeof(*h); i += 2) {
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, es->peer.code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)h[i]);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)h[i + 1]);
        if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
            error = pg_store__error(es->node->db, rc, "recording an export");
    }
    for (size_t i = 0; !error && i < es->unheld.len / sizeof(*u); i++) {
        sqlite3_reset(del);
        sqlite3_bind_text(del, 1, es->peer.code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(del, 2, (sqlite3_int64)u[i]);
        if (token)
            sqlite3_bind_text(del, 3, token, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(del)) != SQLITE_DONE)
            error = pg_store__error(es->node->db, rc, "recording an export");
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    return error;
}

/* After an export to a partner: what it now has whole, and under which
 * agreement; with opts->deliver_token, only once the bundle is known to
 * have arrived (pg_exchange_delivered), pending until then. */
static int export_remember(export_state *es)
{
    const pg_buf *met = pg_redactor_met(es->redactor);
    const char *token = es->opts->deliver_token;
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    if (es->peer.role != PG_PEER_PARTNER)
        return 0;
    rc = sqlite3_prepare_v2(
        es->node->db,
        token ? "INSERT INTO peer_sent_pending(code, token, coll, record_id, "
                "hash) VALUES(?1, ?4, ?2, ?3, NULL)"
              : "INSERT OR IGNORE INTO peer_record(code, coll, record_id) "
                "VALUES(?1, ?2, ?3)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "recording an export");
    for (size_t i = 0; !error && i < met->len;) {
        const char *coll = (const char *)met->data + i;
        const char *rid = coll + strlen(coll) + 1;
        i = (size_t)(rid + strlen(rid) + 1 - (const char *)met->data);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, es->peer.code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, rid, -1, SQLITE_STATIC);
        if (token)
            sqlite3_bind_text(st, 4, token, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) != SQLITE_DONE)
            error = pg_store__error(es->node->db, rc, "recording an export");
    }
    sqlite3_finalize(st);
    if (error)
        return error;
    rc = sqlite3_prepare_v2(
        es->node->db,
        token ? "INSERT INTO peer_sent_pending(code, token, coll, record_id, "
                "hash) VALUES(?1, ?3, '', '', ?2)"
              : "INSERT OR REPLACE INTO peer_policy_sent(code, hash) "
                "VALUES(?1, ?2)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "recording an export");
    sqlite3_bind_text(st, 1, es->peer.code, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, pg_policy_hash(es->policy), PG_HASH_LEN,
                      SQLITE_STATIC);
    if (token)
        sqlite3_bind_text(st, 3, token, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(es->node->db, rc, "recording an export");
}

/* Walk the log after `start` into one or more bundles. */
static int export_walk(export_state *es, uint64_t start)
{
    sqlite3_stmt *st;
    uint64_t last_seen = start;
    int rc, error;

    rc = sqlite3_prepare_v2(es->node->db, SQL_EXPORT_LOG, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
    error = es->opts->dry_run ? 0 : export_start(es, start + 1);
    while (error == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        pg_route_entry e = export_entry(st);
        const uint8_t *body = NULL;
        size_t len = 0;
        bool skip = false;
        if (seq <= es->start && !export_forced(es, seq)) {
            last_seen = seq;
            es->last = seq;
            continue;
        }
        bool selected =
            pg_route_select(es->node, &es->peer, es->policy, es->link, &e);
        bool returned = !selected && es->returning &&
                        strcmp(e.origin, es->peer.code) == 0 &&
                        export_forced(es, seq);
        selected |= returned;
        if (selected &&
            ((error = export_body(es, seq, &body, &len)) < 0 ||
             (error = pg_redactor_apply(es->redactor, e.collection, body, len,
                                        &body, &len, &skip)) < 0))
            break;
        /* Held back for the peer's schema version, or no longer. */
        unsigned held = selected ? pg_redactor_held(es->redactor) : 0;
        if (held && !es->opts->dry_run) {
            uint64_t pair[2] = {seq, held};
            if ((error = pg_buf_put(&es->held, pair, sizeof(pair))) < 0)
                break;
        }
        /* No longer held back: forgotten only once written below (a txn
         * the size limit leaves for the next export stays held). */
        bool unhold = !held && es->nheld_due;
        if (selected && !skip && !es->opts->dry_run) {
            /* Split before a txn that would take the bundle over the
             * limit; a bundle always holds at least one txn. */
            if (es->opts->max_bytes && es->txns > 0 &&
                pg_bundle_writer_size(es->w) + len + 1024 >
                    es->opts->max_bytes) {
                if (es->opts->max_files &&
                    es->nfiles + 1 >= es->opts->max_files) {
                    es->more = true;
                    break;
                }
                if ((error = export_finish(es)) < 0 ||
                    (error = export_start(es, last_seen + 1)) < 0)
                    break;
            }
            if ((error = pg_bundle_writer_add_txn(es->w, seq, body, len)) < 0)
                break;
            if (unhold &&
                (error = pg_buf_put(&es->unheld, &seq, sizeof(seq))) < 0)
                break;
            if (returned && (error = export_returned(es, seq)) < 0)
                break;
        }
        if (selected && !skip)
            es->txns++;
        else
            es->withheld++;
        last_seen = seq;
        es->last = seq;
    }
    if (error == 0 && rc != SQLITE_DONE && !es->more)
        error = pg_store__error(es->node->db, rc, "reading the log");
    sqlite3_finalize(st);
    if (error == 0 && !es->opts->dry_run &&
        (es->txns > 0 || (es->opts->cover && es->last >= es->first) ||
         (es->request && es->nfiles == 0)))
        error = export_finish(es);
    pg_bundle_writer_free(es->w);
    es->w = NULL;
    return error;
}

/* Give the temporary files their final names: FILE, or FILE.1 … FILE.n. */
static int export_rename(export_state *es)
{
    for (size_t i = 0; i < es->nfiles; i++) {
        out_file *of = &export_files(es)[i];
        size_t len = strlen(es->opts->out) + 24;
        if (!(of->path = malloc(len)))
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        if (es->nfiles == 1)
            snprintf(of->path, len, "%s", es->opts->out);
        else
            snprintf(of->path, len, "%s.%zu", es->opts->out, i + 1);
        if (rename(of->tmp, of->path) != 0)
            return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                "cannot rename %s to %s: %s", of->tmp, of->path,
                                pg_error__oserr(errno));
        free(of->tmp);
        of->tmp = NULL;
        of->info.path = of->path;
    }
    if (!es->opts->scratch)
        fsync_dir_of(es->opts->out);
    return 0;
}

static void export_cleanup(export_state *es)
{
    for (size_t i = 0; i < es->nfiles; i++) {
        if (export_files(es)[i].tmp) {
            unlink(export_files(es)[i].tmp);
            free(export_files(es)[i].tmp);
        }
        free(export_files(es)[i].path);
    }
    pg_buf_dispose(&es->outs);
    pg_bundle_writer_free(es->w);
    pg_redactor_free(es->redactor);
    pg_policy_free(es->policy);
    pg_buf_dispose(&es->forced);
    pg_buf_dispose(&es->held);
    pg_buf_dispose(&es->unheld);
    sqlite3_finalize(es->body_st);
}

/*
 * The link's schema version: min(this node's, the peer's).  Until the
 * peer has said which it runs (in the header of a bundle it sent), it is
 * taken to run version 1, the oldest: what needs a newer one waits for
 * its first word, and is then sent (peer_held), whereas sending it too
 * early would have an older peer quarantine it.
 *
 * A header says the version its bundle is made at, so a peer that knows
 * this node only from capped headers would never learn that it runs a
 * newer one: the first bundle after this node's version rose (or the
 * first of a link) says this node's own version (es->says) while its
 * txns are still made at the link's; after an upgrade it is made even
 * when it holds none.  A build that knows the version reads it; one that does
 * not refuses that bundle whole ("upgrade"), and 'export --resend' sends its
 * txns again under the link's version.
 */
static int export_link(export_state *es)
{
    int64_t v, told;
    int error =
        query_int(es->node, "SELECT schema_version FROM peer WHERE code = ?",
                  es->peer.code, &v);
    if (error == 0)
        error =
            query_int(es->node, "SELECT told_version FROM peer WHERE code = ?",
                      es->peer.code, &told);
    if (error < 0)
        return error;
    unsigned own = pg_node_schema(es->node)->version;
    unsigned peer = v >= 1 && v <= PG_SCHEMA_VERSION ? (unsigned)v : 1;
    es->link = pg_schema_get(peer < own ? peer : own);
    es->says = told < (int64_t)own ? pg_node_schema(es->node) : es->link;
    /* After an upgrade (the peer was told an older version), a bundle
     * even with no txn; on a new link, the first bundle that goes says
     * it anyway. */
    es->announce = told > 0 && told < (int64_t)own;
    pg_redactor_set_schema(es->redactor, es->link);
    return 0;
}

/* After the walk, inside the cursor's transaction: the version this
 * node's header said.  Recorded once made, also over HTTP (not once
 * delivered): a build that does not know the version refuses the bundle,
 * and would refuse every later one were it announced again; what the
 * refused bundle carried goes again from the peer's acknowledgement (a
 * push) or its contiguous end (a pull), and by 'export --resend' over
 * files. */
static int export_told(export_state *es)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(es->node->db,
                                "UPDATE peer SET told_version = ?2 WHERE code "
                                "= ?1 AND told_version < ?2",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, es->peer.code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, es->says->version);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(es->node->db, rc, "recording an export");
}

int pg_bundle_export(pg_node *node, const pg_export_opts *opts, pg_export_cb cb,
                     void *payload)
{
    export_state es;
    int error;

    memset(&es, 0, sizeof(es));
    pg_buf_init(&es.outs, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&es.forced, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&es.held, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&es.unheld, PG_BUF_DEFAULT_MAX);
    es.node = node;
    es.opts = opts;
    if (!opts->out || !opts->out[0])
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "no output file given");
    /* A 'pingan schema upgrade' beside a running serve counts at once. */
    if ((error = pg_node__schema_refresh(node)) < 0 ||
        (error = pg_peer_find(&es.peer, node, opts->to)) < 0)
        return error;
    if ((error = pg_keys_card(&es.peer_card, node, es.peer.code)) < 0 ||
        (error = pg_policy_load(&es.policy, node, &es.peer)) < 0 ||
        (error = pg_redactor_new(&es.redactor, node, &es.peer, es.policy)) <
            0 ||
        (error = export_link(&es)) < 0) {
        export_cleanup(&es);
        return error;
    }
    /* Before anything leaves the node, the log is durable (DESIGN §3):
     * a checkpoint syncs the WAL. */
    sqlite3_wal_checkpoint_v2(node->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                              NULL);

    if (opts->ack_only) {
        error = export_start(&es, 0);
        if (error == 0)
            error = export_finish(&es);
    } else {
        es.start = opts->has_after
                       ? opts->after
                       : (uint64_t)(opts->resend ? es.peer.acked_upto
                                                 : es.peer.sent_upto);
        error = export_backfill(&es);
        if (error == 0)
            error = export_unhold(&es);
        if (error == 0)
            error = export_returning(&es);
        /* A node on restore hold asks its parent with every export. */
        int64_t held = -1;
        if (error == 0 && es.peer.role == PG_PEER_PARENT)
            error = pg_node__hold_upto(node, &held);
        es.request = held >= 0 || es.announce;
        if (error == 0)
            error = export_walk(&es, export_first(&es));
    }
    if (error == 0 && es.nfiles > 0) {
        export_files(&es)[es.nfiles - 1].info.more = es.more;
        error = export_rename(&es);
    }
    if (error == 0 && es.nfiles > 0 && !opts->ack_only) {
        uint64_t last = export_files(&es)[es.nfiles - 1].info.last;
        if ((error = pg_store__begin(node->db)) == 0) {
            int64_t sent;
            if ((error = query_int(node,
                                   "SELECT sent_upto FROM peer WHERE code = ?",
                                   es.peer.code, &sent)) == 0 &&
                (int64_t)last > sent)
                error = peer_set_int(node, es.peer.code, "sent_upto",
                                     (int64_t)last);
            if (error == 0)
                error = peer_set_int(node, es.peer.code, "last_sync_ms",
                                     pg_time_now_ms());
            if (error == 0)
                error = export_remember(&es);
            if (error == 0)
                error = export_remember_held(&es);
            if (error == 0)
                error = export_told(&es);
            /* Sent back once: a pull that stops at its size limit goes on
             * after what it sent (never the same txns again and again); a
             * child still on hold asks again with what it then holds. */
            if (error == 0 && es.returning && !es.more)
                error =
                    query_int(node, "DELETE FROM peer_restore WHERE code = ?",
                              es.peer.code, &sent);
            if (error == 0 && es.returning && es.more)
                error = export_return_moved(&es);
            if (error == 0)
                error = pg_store__commit(node->db);
            else
                pg_store__rollback(node->db);
        }
    }
    /* Files whose cursor could not be moved are not left behind. */
    for (size_t i = 0; error < 0 && i < es.nfiles; i++)
        if (export_files(&es)[i].path)
            unlink(export_files(&es)[i].path);
    for (size_t i = 0; error == 0 && cb && i < es.nfiles; i++)
        error = cb(&export_files(&es)[i].info, payload);
    export_cleanup(&es);
    return error;
}

int pg_exchange_ack(pg_node *node, const char *code, uint64_t upto)
{
    int64_t acked, last_seq;
    int error;

    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    if ((error = query_int(node, "SELECT acked_upto FROM peer WHERE code = ?",
                           code, &acked)) == 0 &&
        (error = query_int(node, "SELECT max(seq) FROM log", NULL,
                           &last_seq)) == 0) {
        if (upto > (uint64_t)last_seq)
            upto = (uint64_t)last_seq;
        if ((int64_t)upto > acked)
            error = peer_set_int(node, code, "acked_upto", (int64_t)upto);
    }
    if (error == 0)
        error = peer_set_int(node, code, "last_sync_ms", pg_time_now_ms());
    if (error == 0)
        return pg_store__commit(node->db);
    pg_store__rollback(node->db);
    return error;
}

int pg_exchange_delivered(pg_node *node, const char *code, const char *token)
{
    static const char *const sql[] = {
        "INSERT OR IGNORE INTO peer_record(code, coll, record_id) SELECT "
        "code, coll, record_id FROM peer_sent_pending WHERE code = ?1 AND "
        "token = ?2 AND coll != '' AND coll NOT IN ('#held', '#told')",
        /* Txns held back for the peer's schema version, now delivered. */
        "DELETE FROM peer_held WHERE code = ?1 AND seq IN (SELECT "
        "CAST(record_id AS INTEGER) FROM peer_sent_pending WHERE code = ?1 "
        "AND token = ?2 AND coll = '#held')",
        "INSERT OR REPLACE INTO peer_policy_sent(code, hash) SELECT code, "
        "hash FROM peer_sent_pending WHERE code = ?1 AND token = ?2 AND coll "
        "= '' ORDER BY rowid",
        "DELETE FROM peer_sent_pending WHERE code = ?1",
    };
    int error;

    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    size_t n = sizeof(sql) / sizeof(sql[0]);
    for (size_t i = token ? 0 : n - 1; error == 0 && i < n; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(node->db, sql[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
            if (token)
                sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            error = pg_store__error(node->db, rc,
                                    "recording what a partner "
                                    "received");
    }
    if (error == 0)
        return pg_store__commit(node->db);
    pg_store__rollback(node->db);
    return error;
}

#define REJECTED_KEEP "100000"

void pg_exchange_reject(pg_node *node, const char *source, const char *peer,
                        const char *reason)
{
    sqlite3_stmt *st = NULL;
    bool own = sqlite3_get_autocommit(node->db);
    /* The caller still reports the error that caused the refusal. */
    pg_error saved = *pg_error_last();
    /* A code a request only claimed may be any bytes: kept only when it
     * is one. */
    if (peer && !pg_division_valid(peer))
        peer = NULL;

    /* The refusal and its audit entry commit together.  Inside a caller's
     * transaction (none does so today) both join it. */
    if (own && pg_store__begin(node->db) < 0)
        goto done;
    int rc = sqlite3_prepare_v2(node->db,
                                "INSERT INTO rejected(at_ms, source, peer, "
                                "reason) VALUES(?, ?, ?, ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, pg_time_now_ms());
        sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, peer ? peer : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    int64_t id = sqlite3_last_insert_rowid(node->db);
    /* The reason names what was wrong with the input (a signature, a
     * header, a limit), never a record's value: those are checked txn by
     * txn and quarantined. */
    char brief[401];
    int n = snprintf(brief, sizeof(brief), "%s", reason);
    pg_error__clean_text(brief, n >= (int)sizeof(brief));
    int error =
        rc == SQLITE_DONE
            ? pg_audit__record(node, "refuse", peer ? peer : "",
                               "{s:s, s:I, s:s}", "source", source, "rejected",
                               (json_int_t)id, "reason", brief)
            : PG_ERROR;
    /* Keep a month, and never more than REJECTED_KEEP rows. */
    if (error == 0 && id % 64 == 0)
        sqlite3_exec(node->db,
                     "DELETE FROM rejected WHERE at_ms < "
                     "(SELECT max(at_ms) FROM rejected) - 30 * 86400000 OR id "
                     "<= (SELECT max(id) FROM rejected) - " REJECTED_KEEP,
                     NULL, NULL, NULL);
    if (own) {
        if (error == 0)
            error = pg_store__commit(node->db);
        else
            pg_store__rollback(node->db);
    }

done:
    if (saved.code)
        pg_error__restore(&saved);
    else
        pg_error_clear();
}

/* --- import ---------------------------------------------------------- */

/*
 * Txns are merged in groups: decoding, hashing and checking the signature
 * of a group's txns (most of an import's work) runs on worker threads
 * while this thread applies the group before it to the store and reads
 * the next one, so every core is busy and the store is written in order.
 */
#define IMPORT_GROUP_TXNS  256
#define IMPORT_GROUP_BYTES (4 << 20)
#define IMPORT_THREADS_MAX 8
#define IMPORT_SIGNERS     16

typedef struct queued {
    uint64_t seq;
    size_t off, len;
} queued;

struct group;

typedef struct prep_job {
    struct group *g;
    unsigned index, stride;
} prep_job;

typedef struct group {
    pg_buf bodies; /* the txns' bytes */
    pg_buf queue;  /* queued[]: where each is */
    size_t n;
    pg_merge_prep *preps; /* IMPORT_GROUP_TXNS */
    pg_card signers[IMPORT_SIGNERS];
    size_t nsigners;
    pthread_t tid[IMPORT_THREADS_MAX];
    prep_job jobs[IMPORT_THREADS_MAX];
    unsigned started; /* worker threads running */
} group;

typedef struct import_state {
    pg_node *node;
    pg_peer peer;
    bool have_peer;
    pg_merger *merger;
    pg_bundle_report *r;
    uint64_t ack;
    bool has_held;
    uint64_t held_seq;
    int64_t created_ms; /* the header's */
    group groups[2];    /* one filling, one being prepared */
    unsigned fill;
    unsigned threads;
} import_state;

/* The pinned peer whose signing key has this key id. */
static int peer_by_key(pg_peer *out, pg_node *node, const char *key_id)
{
    sqlite3_stmt *st;
    char code[PG_CODE_LEN + 1] = "";
    int rc;

    rc = sqlite3_prepare_v2(node->db, "SELECT code FROM peer WHERE key_id = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading peers");
    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        snprintf(code, sizeof(code), "%s", c ? c : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading peers");
    if (!code[0])
        return PG_ENOTFOUND;
    return pg_peer_get(out, node, code);
}

static int import_signer(void *ctx, const char *key_id,
                         uint8_t pk[PG_SIGN_PK_LEN])
{
    import_state *is = ctx;
    pg_card card;
    int error;

    if (strcmp(key_id, pg_node_card(is->node)->key_id) == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "this bundle was made by this node itself");
    error = peer_by_key(&is->peer, is->node, key_id);
    if (error == PG_ENOTFOUND)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                            "the bundle is signed by key %s, which belongs "
                            "to no pinned peer; pin the sender first with "
                            "'pingan peer add --card FILE --role ...'",
                            key_id);
    if (error < 0)
        return error;
    if ((error = pg_keys_card(&card, is->node, is->peer.code)) < 0)
        return error;
    int64_t after;
    if ((error = pg_keys_revoked(&after, is->node, is->peer.code, key_id)) < 0)
        return error;
    if (after >= 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                            "the bundle is signed by key %s of %s, which was "
                            "revoked; the node needs a new key and its card "
                            "pinned again",
                            key_id, is->peer.code);
    memcpy(pk, card.sign_pk, PG_SIGN_PK_LEN);
    is->have_peer = true;
    return 0;
}

static int peer_learn_version(pg_node *node, const char *code, unsigned version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db,
                                "UPDATE peer SET schema_version = ?1 WHERE "
                                "code = ?2 AND schema_version < ?1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, version);
        sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(node->db, rc, "recording a peer's version");
}

static int import_header(void *ctx, const pg_bundle_info *info)
{
    import_state *is = ctx;
    pg_bundle_report *r = is->r;
    const pg_schema *schema;
    int64_t contiguous;
    int error;

    memcpy(r->sender, info->sender, PG_CODE_LEN + 1);
    r->first = info->range_first;
    r->last = info->range_last;
    if (strcmp(info->sender, is->peer.code) != 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                            "the header names sender %s but was signed by "
                            "the key of %s",
                            info->sender, is->peer.code);
    if (strcmp(info->recipient, pg_node_code(is->node)) != 0 ||
        strcmp(info->recipient_key_id, pg_node_card(is->node)->key_id) != 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the bundle is addressed to %s (key %s), not to "
                            "this node (%s, key %s)",
                            info->recipient, info->recipient_key_id,
                            pg_node_code(is->node),
                            pg_node_card(is->node)->key_id);
    if (info->schema_version > PG_SCHEMA_VERSION)
        return pg_error_set(PG_EUPGRADE, PG_ERRCLASS_INVALID,
                            "the bundle was made under schema version %u; "
                            "upgrade pingan to a version that knows it "
                            "(this build knows up to %d)",
                            info->schema_version, PG_SCHEMA_VERSION);
    schema = pg_schema_get(info->schema_version);
    if (!schema || memcmp(schema->hash, info->schema_hash, PG_HASH_LEN) != 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the bundle's schema version %u has a hash "
                            "this build does not know: the sender runs an "
                            "incompatible build",
                            info->schema_version);
    if ((info->range_first == 0) != (info->range_last == 0) ||
        info->range_first > info->range_last)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the bundle's range %llu-%llu is malformed",
                            (unsigned long long)info->range_first,
                            (unsigned long long)info->range_last);
    if ((error = range_contiguous(is->node, is->peer.code, &contiguous)) < 0)
        return error;
    if (info->range_first > (uint64_t)contiguous + 1) {
        r->gap_first = (uint64_t)contiguous + 1;
        r->gap_last = info->range_first - 1;
    }
    /* The version the peer runs, for what is sent to it (export_link);
     * a bundle made before an upgrade may arrive after a newer one. */
    if ((error = peer_learn_version(is->node, is->peer.code,
                                    info->schema_version)) < 0)
        return error;
    is->ack = info->ack_upto;
    is->has_held = info->has_held;
    is->held_seq = info->held_seq;
    is->created_ms = info->created_ms;
    /* Audit heads: kept only from the side that may send them. */
    if (info->has_audit_own && is->peer.role == PG_PEER_CHILD &&
        (error = pg_audit__child_head_received(is->node, is->peer.code,
                                               &info->audit_own)) < 0)
        return error;
    if (info->has_audit_seen && is->peer.role == PG_PEER_PARENT &&
        (error = pg_audit__parent_seen_set(is->node, is->peer.code,
                                           &info->audit_seen)) < 0)
        return error;
    if (info->has_root &&
        (error = pg_keys_learn_chain(is->node, &info->root, info->chain,
                                     info->nchain, &is->peer)) < 0)
        return error;
    return 0;
}

static void import_note(pg_bundle_report *r, const pg_merge_result *res)
{
    if (r->nnotes == PG_BUNDLE_NOTES_MAX)
        return;
    pg_bundle_note *n = &r->notes[r->nnotes++];
    memcpy(n->origin, res->origin, PG_CODE_LEN + 1);
    n->origin_seq = res->origin_seq;
    n->pending = res->outcome == PG_MERGED_PENDING;
    snprintf(n->reason, sizeof(n->reason), "%s", res->reason);
}

static void import_count(pg_bundle_report *r, const pg_merge_result *res)
{
    r->txns++;
    r->conflicts += res->conflicts;
    switch (res->outcome) {
    case PG_MERGED_APPLIED:
        r->applied++;
        break;
    case PG_MERGED_DUPLICATE:
        r->duplicates++;
        break;
    case PG_MERGED_QUARANTINED:
        r->quarantined++;
        import_note(r, res);
        break;
    case PG_MERGED_PENDING:
        r->pending++;
        import_note(r, res);
        break;
    }
}

static void *prep_worker(void *arg)
{
    prep_job *j = arg;
    group *g = j->g;
    const queued *q = (const queued *)(void *)g->queue.data;

    for (size_t i = j->index; i < g->n; i += j->stride)
        pg_merge_prepare(&g->preps[i], g->bodies.data + q[i].off, q[i].len,
                         g->signers, g->nsigners);
    return NULL;
}

/* Start preparing a full group in the background (in this thread when
 * no thread can start). */
static void group_start(import_state *is, group *g)
{
    unsigned threads = g->n < 8 ? 1 : is->threads;

    g->nsigners = pg_merger_signers(is->merger, g->signers, IMPORT_SIGNERS);
    g->started = 0;
    for (unsigned t = 0; t < threads; t++) {
        g->jobs[t] = (prep_job){.g = g, .index = t, .stride = threads};
        if (pthread_create(&g->tid[g->started], NULL, prep_worker,
                           &g->jobs[t]) == 0)
            g->started++;
        else
            prep_worker(&g->jobs[t]);
    }
}

static void group_wait(group *g)
{
    for (unsigned t = 0; t < g->started; t++)
        pthread_join(g->tid[t], NULL);
    g->started = 0;
}

/* Forget a group's txns (after applying them, or on failure). */
static void group_clear(group *g)
{
    group_wait(g);
    for (size_t i = 0; g->preps && i < g->n; i++)
        pg_merge_prep_dispose(&g->preps[i]);
    g->n = 0;
    pg_buf_clear(&g->bodies);
    pg_buf_clear(&g->queue);
}

/* Merge a prepared group in order. */
static int group_apply(import_state *is, group *g)
{
    const queued *q = (const queued *)(void *)g->queue.data;
    int error = 0;

    group_wait(g);
    for (size_t i = 0; i < g->n && error == 0; i++) {
        pg_merge_result res;
        if ((error = pg_merger_apply_prepared(is->merger, &is->peer, q[i].seq,
                                              &g->preps[i], &res)) == 0)
            import_count(is->r, &res);
    }
    group_clear(g);
    return error;
}

/* The filling group is full: start preparing it, and apply the one
 * prepared meanwhile. */
static int import_rotate(import_state *is)
{
    group *full = &is->groups[is->fill];
    group *prev = &is->groups[1 - is->fill];

    group_wait(prev);
    group_start(is, full);
    is->fill = 1 - is->fill;
    return prev->n ? group_apply(is, prev) : 0;
}

/* At the end of the bundle: apply whatever is still queued. */
static int import_flush(import_state *is)
{
    int error = import_rotate(is);
    group *last = &is->groups[1 - is->fill];
    if (error == 0 && last->n)
        error = group_apply(is, last);
    return error;
}

static int import_txn(void *ctx, uint64_t seq, const uint8_t *txn, size_t len)
{
    import_state *is = ctx;
    group *g = &is->groups[is->fill];
    queued q = {.seq = seq, .off = g->bodies.len, .len = len};
    int error;

    if ((error = pg_buf_put(&g->bodies, txn, len)) < 0 ||
        (error = pg_buf_put(&g->queue, &q, sizeof(q))) < 0)
        return error;
    if (++g->n == IMPORT_GROUP_TXNS || g->bodies.len >= IMPORT_GROUP_BYTES)
        return import_rotate(is);
    return 0;
}

/*
 * Header field 20 (pingan/recovery.h).  From the parent: how far it holds
 * this node's own txns, which may lift a restore hold (the txns it sent
 * back are merged by now).  From a child: a restored child asks for its
 * own txns after held_seq back, and for what this node sent it since its
 * acknowledgement; without the field it is not (or no longer) asking.
 */
static int import_held(import_state *is)
{
    pg_bundle_report *r = is->r;
    int error;

    if (is->peer.role == PG_PEER_PARENT && is->has_held) {
        r->parent_holds = (int64_t)is->held_seq;
        return pg_node__hold_confirm(is->node, is->held_seq, is->created_ms,
                                     &r->hold_lifted);
    }
    if (is->peer.role != PG_PEER_CHILD)
        return 0;
    sqlite3_stmt *st;
    bool owned;
    if ((error = pg_store__cached(
             &st, &owned, &is->node->stmts, is->node->db,
             is->has_held ? "INSERT OR REPLACE INTO peer_restore(code, "
                            "return_from) VALUES(?1, ?2)"
                          : "DELETE FROM peer_restore WHERE code = ?1")) < 0)
        return error;
    sqlite3_bind_text(st, 1, is->peer.code, -1, SQLITE_STATIC);
    if (is->has_held)
        sqlite3_bind_int64(st, 2, (sqlite3_int64)is->held_seq);
    if ((error = pg_store__step_done(st, owned, is->node->db,
                                     "recording a restored child")) < 0)
        return error;
    if (is->has_held && (int64_t)is->ack < is->peer.sent_upto)
        error = peer_set_int(is->node, is->peer.code, "sent_upto",
                             (int64_t)is->ack);
    return error;
}

/* After the trailer verified: pending txns, ranges, cursors, clock. */
static int import_finish(import_state *is)
{
    pg_bundle_report *r = is->r;
    int64_t pending, last_seq;
    size_t applied = 0, quarantined = 0;
    int error;

    if ((error = query_int(is->node, "SELECT count(*) FROM pending", NULL,
                           &pending)) < 0)
        return error;
    if (pending > 0 && (error = pg_merger_retry_pending(
                            is->merger, &applied, &quarantined, NULL)) < 0)
        return error;
    r->pending_resolved = applied;
    if (r->first &&
        (error = range_add(is->node, is->peer.code, r->first, r->last)) < 0)
        return error;
    if ((error = update_all_received(is->node)) < 0)
        return error;
    /* The peer acknowledges part of this node's log; never beyond it. */
    if ((error = query_int(is->node, "SELECT max(seq) FROM log", NULL,
                           &last_seq)) < 0)
        return error;
    uint64_t ack = is->ack > (uint64_t)last_seq ? (uint64_t)last_seq : is->ack;
    if ((int64_t)ack > is->peer.acked_upto &&
        (error = peer_set_int(is->node, is->peer.code, "acked_upto",
                              (int64_t)ack)) < 0)
        return error;
    if ((error = peer_set_int(is->node, is->peer.code, "last_sync_ms",
                              pg_time_now_ms())) < 0)
        return error;
    if ((error = import_held(is)) < 0)
        return error;
    return pg_merger_finish(is->merger);
}

/* The audit entry of an accepted bundle, in its transaction. */
static int import_audit(import_state *is)
{
    const pg_bundle_report *r = is->r;
    return pg_audit__record(
        is->node, "bundle.accept", r->sender,
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "created_ms",
        (json_int_t)is->created_ms, "first", (json_int_t)r->first, "last",
        (json_int_t)r->last, "txns", (json_int_t)r->txns, "applied",
        (json_int_t)r->applied, "duplicates", (json_int_t)r->duplicates,
        "conflicts", (json_int_t)r->conflicts, "quarantined",
        (json_int_t)r->quarantined, "pending", (json_int_t)r->pending, "ack",
        (json_int_t)is->ack);
}

static bool runtime_failure(int error)
{
    return error == PG_ERROR || error == PG_EBUSY || error == PG_ENOMEM;
}

int pg_bundle_import(pg_node *node, const char *path, pg_bundle_report *report)
{
    import_state is;
    pg_bundle_ops ops = {
        .signer = import_signer, .header = import_header, .txn = import_txn};
    FILE *in;
    int error;

    memset(report, 0, sizeof(*report));
    memset(&is, 0, sizeof(is));
    report->file = path;
    if ((error = pg_node__schema_refresh(node)) < 0)
        return error;
    report->parent_holds = -1;
    is.node = node;
    is.r = report;
    for (int i = 0; i < 2; i++) {
        pg_buf_init(&is.groups[i].bodies,
                    IMPORT_GROUP_BYTES + PG_BUNDLE_BATCH_MAX);
        pg_buf_init(&is.groups[i].queue, IMPORT_GROUP_TXNS * sizeof(queued));
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    is.threads = cores < 1                    ? 1
                 : cores > IMPORT_THREADS_MAX ? IMPORT_THREADS_MAX
                                              : (unsigned)cores;
    if (!(is.groups[0].preps =
              calloc(IMPORT_GROUP_TXNS, sizeof(pg_merge_prep))) ||
        !(is.groups[1].preps =
              calloc(IMPORT_GROUP_TXNS, sizeof(pg_merge_prep)))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    if (!(in = fopen(path, "rb"))) {
        error = pg_error_set(errno == ENOENT ? PG_ENOTFOUND : PG_ERROR,
                             PG_ERRCLASS_OS, "cannot open %s: %s", path,
                             pg_error__oserr(errno));
        goto done;
    }
    if ((error = pg_store__begin(node->db)) < 0) {
        fclose(in);
        goto done;
    }
    if ((error = pg_merger_new(&is.merger, node)) == 0 &&
        (error = pg_bundle_read(in, node->box_sk, &ops, &is, NULL)) == 0 &&
        (error = import_flush(&is)) == 0 && (error = import_finish(&is)) == 0 &&
        (error = import_audit(&is)) == 0)
        error = pg_store__commit(node->db);
    else
        pg_store__rollback(node->db);
    pg_merger_free(is.merger);
    fclose(in);

done:
    /* A failed bundle may leave txns queued or being prepared. */
    for (int i = 0; i < 2; i++) {
        group_clear(&is.groups[i]);
        free(is.groups[i].preps);
        pg_buf_dispose(&is.groups[i].bodies);
        pg_buf_dispose(&is.groups[i].queue);
    }
    if (error < 0) {
        const pg_error *e = pg_error_last();
        report->status =
            runtime_failure(error) ? PG_BUNDLE_FAILED : PG_BUNDLE_REFUSED;
        report->error = error;
        snprintf(report->message, sizeof(report->message), "%s",
                 e && e->message[0] ? e->message : pg_error_name(error));
        if (report->status == PG_BUNDLE_REFUSED)
            pg_exchange_reject(node, "bundle", report->sender, report->message);
        /* Nothing was applied: the counts describe a rolled-back pass. */
        report->applied = report->duplicates = report->conflicts = 0;
        report->quarantined = report->pending = report->cards_learnt = 0;
        report->nnotes = 0;
        report->hold_lifted = false;
    }
    return error;
}

int pg_bundle_export_plan(pg_node *node, const char *to, bool resend,
                          pg_export_plan *plan)
{
    export_state es;
    pg_export_opts opts = {.to = to, .resend = resend, .dry_run = true};
    int error;

    PG_ASSERT_ARG(plan);
    memset(plan, 0, sizeof(*plan));
    memset(&es, 0, sizeof(es));
    pg_buf_init(&es.outs, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&es.forced, PG_BUF_DEFAULT_MAX);
    es.node = node;
    es.opts = &opts;
    if ((error = pg_peer_find(&es.peer, node, to)) < 0 ||
        (error = pg_policy_load(&es.policy, node, &es.peer)) < 0 ||
        (error = pg_redactor_new(&es.redactor, node, &es.peer, es.policy)) < 0)
        goto done;
    es.start = (uint64_t)(resend ? es.peer.acked_upto : es.peer.sent_upto);
    pg_redactor_count_all(es.redactor);
    if ((error = export_backfill(&es)) < 0 ||
        (error = export_walk(&es, export_first(&es))) < 0)
        goto done;
    size_t n;
    uint64_t skipped;
    const pg_redact_count *c = pg_redactor_counts(es.redactor, &n, &skipped);
    plan->first = export_first(&es) + 1;
    plan->last = es.last;
    plan->txns = es.txns;
    plan->withheld = es.withheld;
    plan->skipped = skipped;
    snprintf(plan->policy_id, sizeof(plan->policy_id), "%s",
             pg_policy_id(es.policy));
    if (n && !(plan->fields = calloc(n, sizeof(*plan->fields)))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        pg_export_field *f = &plan->fields[i];
        f->collection = c[i].collection;
        f->field = c[i].field;
        memcpy(f->counts, c[i].counts, sizeof(f->counts));
    }
    plan->nfields = n;

done:
    export_cleanup(&es);
    return error;
}

void pg_export_plan_dispose(pg_export_plan *plan)
{
    if (plan) {
        free(plan->fields);
        plan->fields = NULL;
        plan->nfields = 0;
    }
}

/* --- inspect ---------------------------------------------------------- */

typedef struct inspect_state {
    pg_node *node;
    pg_bundle_summary *s;
    pg_inspect_cb cb;
    void *payload;
} inspect_state;

static int inspect_signer(void *ctx, const char *key_id,
                          uint8_t pk[PG_SIGN_PK_LEN])
{
    inspect_state *is = ctx;
    pg_peer peer;

    if (!is->node)
        return 1;
    if (strcmp(key_id, pg_node_card(is->node)->key_id) == 0) {
        memcpy(pk, pg_node_card(is->node)->sign_pk, PG_SIGN_PK_LEN);
        is->s->signer_known = true;
        return 0;
    }
    if (peer_by_key(&peer, is->node, key_id) == 0) {
        pg_card card;
        if (pg_keys_card(&card, is->node, peer.code) == 0) {
            memcpy(pk, card.sign_pk, PG_SIGN_PK_LEN);
            is->s->signer_known = true;
            return 0;
        }
    }
    pg_error_clear();
    return 1; /* unknown: read on without verifying */
}

/* Only the recipient opens the frames; anyone else sees the framing. */
static int inspect_header(void *ctx, const pg_bundle_info *info)
{
    inspect_state *is = ctx;
    if (!is->node)
        return 1;
    return strcmp(info->recipient, pg_node_code(is->node)) != 0 ||
                   strcmp(info->recipient_key_id,
                          pg_node_card(is->node)->key_id) != 0
               ? 1
               : 0;
}

static int inspect_txn(void *ctx, uint64_t seq, const uint8_t *body, size_t len)
{
    inspect_state *is = ctx;
    pg_txn *txn;
    int error;

    if (!is->cb)
        return 0;
    if ((error = pg_txn_decode(&txn, body, len)) < 0)
        return error;
    pg_inspect_txn e = {.seq = seq, .txn = txn};
    error = is->cb(&e, is->payload);
    pg_txn_free(txn);
    return error;
}

int pg_bundle_inspect(pg_node *node, const char *path, pg_bundle_summary *s,
                      pg_inspect_cb cb, void *payload)
{
    inspect_state is = {.node = node, .s = s, .cb = cb, .payload = payload};
    pg_bundle_ops ops = {
        .signer = inspect_signer, .header = inspect_header, .txn = inspect_txn};
    pg_bundle_info info;
    const uint8_t *box_sk = NULL;
    FILE *in;
    int error;

    memset(s, 0, sizeof(*s));
    memset(&info, 0, sizeof(info));
    if (!(in = fopen(path, "rb")))
        return pg_error_set(errno == ENOENT ? PG_ENOTFOUND : PG_ERROR,
                            PG_ERRCLASS_OS, "cannot open %s: %s", path,
                            pg_error__oserr(errno));
    /* Only the recipient can open the frames; peek at the header first. */
    if (node)
        box_sk = node->box_sk;
    error = pg_bundle_read(in, box_sk, &ops, &is, &info);
    fclose(in);
    if (error < 0) {
        const pg_error *e = pg_error_last();
        snprintf(s->problem, sizeof(s->problem), "%s",
                 e && e->message[0] ? e->message : pg_error_name(error));
    }
    s->format = info.format;
    s->suite = info.suite;
    memcpy(s->sender, info.sender, sizeof(s->sender));
    memcpy(s->sender_key_id, info.sender_key_id, sizeof(s->sender_key_id));
    memcpy(s->recipient, info.recipient, sizeof(s->recipient));
    memcpy(s->recipient_key_id, info.recipient_key_id,
           sizeof(s->recipient_key_id));
    s->schema_version = info.schema_version;
    pg_hex(s->schema_hash, info.schema_hash, PG_HASH_LEN);
    s->created_ms = info.created_ms;
    s->first = info.range_first;
    s->last = info.range_last;
    s->ack_upto = info.ack_upto;
    s->txns = info.txns;
    s->cards = info.cards;
    s->frames = info.frames;
    s->frame_max = info.frame_max;
    s->bytes = info.bytes;
    s->header_bytes = info.header_bytes;
    s->plain_bytes = info.plain_bytes;
    s->header_ok = info.header_ok;
    s->opened = info.opened;
    s->trailer_ok = info.trailer_ok;
    /* Not a bundle at all: nothing to show. */
    if (error < 0 && info.header_bytes == 0 && !info.sender[0])
        return error;
    pg_error_clear();
    return 0;
}
