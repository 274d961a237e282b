/**
 * @file pingan/net.h
 * @brief Syncing over HTTP: `pingan serve` and `pingan sync` (DESIGN §8).
 *
 * A server answers two signed requests from its pinned peers:
 *
 * | request                          | answer                               |
 * |----------------------------------|--------------------------------------|
 * | `GET /v1/pull?after=N&ack=M&max=B` | a bundle of the server's log after N |
 * |                                  | for the caller, at most about B bytes|
 * |                                  | (200), or nothing left (204); M is   |
 * |                                  | how far the caller has the server's  |
 * |                                  | log (an acknowledgement)             |
 * | `POST /v1/push` (a bundle)       | JSON: the import's outcome and the   |
 * |                                  | server's acknowledgement of the      |
 * |                                  | caller's log                         |
 * | `GET /v1/audit/heads`            | the server's signed heads file       |
 * |                                  | (pingan/audit.h) holding only the    |
 * |                                  | caller's head; 403 unless the caller |
 * |                                  | is a child of the server             |
 * | `GET /v1/health`                 | JSON, without authentication         |
 *
 * Requests are signed by the caller, responses by the server, both over
 * the request's nonce (proto/FORMAT.md §8).  Bundles are the same
 * encrypted, signed bundles as files, selected and redacted for the
 * caller by the server as for `pingan export`.
 *
 * A sync pushes then pulls in bounded bundles until a pull finds
 * nothing; every step is idempotent, so a sync cut at any moment resumes
 * from the cursors with nothing lost and nothing applied twice.
 */
#ifndef PINGAN_NET_H
#define PINGAN_NET_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pingan/buf.h"
#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/peer.h"

#define PG_NET_DEFAULT_LISTEN     "127.0.0.1:7420"
#define PG_NET_DEFAULT_MAX_BODY   (64ULL << 20)
#define PG_NET_DEFAULT_BUNDLE_MAX (4ULL << 20)

/** What a sync with one peer did. */
typedef struct pg_sync_report {
    char peer[PG_CODE_LEN + 1];
    char url[PG_PEER_URL_MAX + 1];
    const char *phase; /**< "push", "pull", "done" (static) */
    uint64_t pushed_bundles, pushed_txns, pushed_bytes;
    uint64_t pulled_bundles, pulled_txns, pulled_bytes;
    /** Of the txns pulled. */
    uint64_t applied, duplicates, conflicts, quarantined, pending;
    /** Of the txns pushed, as the server reported. */
    uint64_t server_applied, server_duplicates, server_quarantined;
    unsigned requests, retries;
    bool skew_known;
    int64_t skew_ms; /**< the server's clock minus this node's */
    int64_t elapsed_ms;
    int error;         /**< 0, or the pg error that stopped the sync */
    int http_status;   /**< the last HTTP status (0: none) */
    char message[512]; /**< why it stopped, when error */
} pg_sync_report;

/** Called after each request of a sync (progress). */
typedef void (*pg_sync_progress)(const pg_sync_report *report, void *payload);

/** How to sync. */
typedef struct pg_sync_opts {
    uint64_t bundle_max; /**< bytes per bundle; 0: PG_NET_DEFAULT_BUNDLE_MAX */
    unsigned retries;    /**< attempts after a network failure */
    unsigned backoff_ms; /**< first wait before a retry, doubled each time;
                              0: 500 */
    unsigned timeout_s;  /**< per request; 0: 300 */
    bool from_start;     /**< push and pull from the start of both logs */
    /** Around each use of the node (a server shares its node with its
     * periodic syncs); NULL: none.  Never held across the network. */
    void (*lock)(void *payload);
    void (*unlock)(void *payload);
    void *lock_payload;
    pg_sync_progress progress;
    void *progress_payload;
    /** When set non-zero, the sync stops at once (PG_ENET); NULL: never. */
    volatile sig_atomic_t *stop;
} pg_sync_opts;

/**
 * Sync with the peer @p code over HTTP(S) at its URL: push, then pull,
 * until caught up.  @p report is always filled.
 *
 * @return 0; PG_ENOTFOUND (no such peer); PG_EINVALID (the peer has no
 *         URL); PG_ENET (the network failed after the retries); PG_EAUTH
 *         (the server refused this node's requests, or a response did not
 *         verify); PG_ELIMIT (the server refused a bundle as too large);
 *         errors of export and import
 */
int pg_sync(pg_node *node, const char *code, const pg_sync_opts *opts,
            pg_sync_report *report);

/**
 * Fetch from the parent @p code over HTTP(S) at its URL the heads file
 * holding this node's audit head as the parent recorded it (`GET
 * /v1/audit/heads`), with the request signing, retries and timeout of a
 * sync.  The answer's HTTP signature is checked; the heads file's own is
 * for pg_audit_heads_check.  @p report is always filled (url, error,
 * message, http_status, requests, retries).
 *
 * @param out [out] the heads file's bytes are appended (at most
 *            out->max bytes; 16 MiB when out->max is 0)
 * @return 0; PG_ENOTFOUND (no such peer); PG_EINVALID (no URL, a bad
 *         answer); PG_ENET (unreachable after the retries); PG_EAUTH
 *         (refused: 401, 403, or an answer that does not verify);
 *         PG_ELIMIT (an answer over the limit)
 */
int pg_sync_audit_heads(pg_buf *out, pg_node *node, const char *code,
                        const pg_sync_opts *opts, pg_sync_report *report);

/** How to serve. */
typedef struct pg_serve_opts {
    const char *dir;      /**< the node's directory */
    const char *listen;   /**< "ADDR:PORT"; NULL: PG_NET_DEFAULT_LISTEN;
                               port 0: any free port */
    const char *tls_cert; /**< PEM files: https when both are given */
    const char *tls_key;
    uint64_t max_body;           /**< bytes; 0: PG_NET_DEFAULT_MAX_BODY */
    unsigned max_connections;    /**< 0: 32 */
    unsigned idle_timeout_s;     /**< a connection idle this long is closed;
                                      0: 30 */
    unsigned request_max_s;      /**< the longest a request may take to
                                      arrive; 0: 300 */
    unsigned sync_every_s;       /**< sync with every peer with a URL this
                                      often; 0: never */
    pg_sync_opts sync;           /**< for those syncs (lock hooks are set) */
    FILE *log;                   /**< one line per request; NULL: stderr */
    volatile sig_atomic_t *stop; /**< set non-zero to stop */
    /** Called once listening, with the port bound. */
    void (*ready)(unsigned port, bool tls, void *payload);
    void *ready_payload;
} pg_serve_opts;

/**
 * Serve the node in opts->dir until *opts->stop becomes non-zero.
 *
 * @return 0 after a stop; PG_EINVALID (bad address, TLS files); PG_ERROR
 *         (cannot listen); errors of opening the node
 */
int pg_serve(const pg_serve_opts *opts);

#endif
