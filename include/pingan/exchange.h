/**
 * @file pingan/exchange.h
 * @brief Exchanging change-logs as bundle files (DESIGN §4–§8).
 *
 * `pg_bundle_export` writes what a pinned peer may receive (the path rule of
 * DESIGN §1) as one or more bundles; `pg_bundle_import` verifies a bundle and
 * applies it in one SQLite transaction; `pg_bundle_inspect` reads one
 * without applying it.
 *
 * Cursors (per peer, DESIGN §6): an export starts after `sent_upto` (or
 * after `acked_upto` with resend) and moves `sent_upto` to the end of
 * what it covered; an import moves `acked_upto` to the sender's
 * acknowledgement and `received_upto` to the contiguous end of the
 * sender's log received here (held back by txns still pending).
 */
#ifndef PINGAN_EXCHANGE_H
#define PINGAN_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/division.h"
#include "pingan/node.h"

/** What to export. */
typedef struct pg_export_opts {
    const char *to;     /**< the peer's 12-digit code */
    const char *out;    /**< the file to write (FILE.1, FILE.2 … if split) */
    uint64_t max_bytes; /**< split above this many bytes; 0: never */
    bool resend;        /**< start after acked_upto instead of sent_upto */
    bool ack_only;      /**< write only a header with the acknowledgement */
    size_t frame_max;   /**< plaintext bytes per frame; 0: 1 MiB */
    bool dry_run;       /**< write nothing, move no cursor: count only */
    /** Start after this seq of the log instead of a cursor (a pull names
     * what the peer has); with has_after. */
    uint64_t after;
    bool has_after;
    /** Stop once this many bundles are full (0: no limit); the last file
     * then says `more`.  Bounded requests over HTTP use 1. */
    size_t max_files;
    /** Write a bundle for the part of the log walked even when it holds
     * no txn for the peer, so the peer can acknowledge that part. */
    bool cover;
    /** A partner's new whole records (DESIGN §6) count as sent only once
     * pg_exchange_delivered names this token (the bundle is known to have
     * arrived); NULL: at once, as for a file. */
    const char *deliver_token;
    /** The file is scratch: read back at once and removed by the caller
     * (an HTTP request or answer, an in-process transport), so it is not
     * made durable (no fsync of it or its directory).  A bundle meant to
     * be carried (a USB stick) must leave this false. */
    bool scratch;
} pg_export_opts;

/** One bundle file written. */
typedef struct pg_export_file {
    const char *path; /**< borrowed for the callback's duration */
    uint64_t first;   /**< range of this node's log covered (0, 0: none) */
    uint64_t last;
    uint64_t txns;
    uint64_t cards;
    uint64_t bytes;
    bool more; /**< the walk stopped at max_files before the log's end */
} pg_export_file;

typedef int (*pg_export_cb)(const pg_export_file *file, void *payload);

/**
 * Export to a pinned peer.  With nothing to send (and not ack_only) no file
 * is written, @p cb is never called, and the result is 0.  Files are
 * written whole or not at all (a temporary name, fsync, rename).
 *
 * @return 0; PG_ENOTFOUND (no such peer); PG_EINVALID (bad options);
 *         PG_EPOLICY (a partner: agreements come with federation);
 *         PG_ERROR (I/O); PG_EBUSY
 */
int pg_bundle_export(pg_node *node, const pg_export_opts *opts, pg_export_cb cb,
                     void *payload);

/**
 * A peer acknowledges this node's log up to @p upto (an authenticated
 * pull names it): acked_upto moves forward to it, never past this
 * node's log nor backward.
 *
 * @return 0; PG_ENOTFOUND (no such peer); PG_EBUSY; PG_ERROR
 */
int pg_exchange_ack(pg_node *node, const char *code, uint64_t upto);

/**
 * The export made with deliver_token @p token reached the peer: what it
 * was sent whole is remembered.  Exports to it still pending under any
 * other token are forgotten (those bundles were lost: the next export
 * sends their records whole again).  @p token NULL: forget them all.
 *
 * @return 0; PG_EBUSY; PG_ERROR
 */
int pg_exchange_delivered(pg_node *node, const char *code, const char *token);

/**
 * Record input refused as a whole (a bundle, a request) for `pingan
 * status`: where it came from, the peer if known ("" otherwise) and why.
 * Failures to record are ignored: the refusal itself has been reported.
 */
void pg_exchange_reject(pg_node *node, const char *source, const char *peer,
                        const char *reason);

/** What an export would do to one field (pg_bundle_export_plan). */
typedef struct pg_export_field {
    const char *collection; /**< static schema names */
    const char *field;
    /** Changes by transform: kept, dropped, masked, hashed, generalized
     * (the order of pg_transform in pingan/policy.h). */
    uint64_t counts[5];
} pg_export_field;

/** What an export would send, without values (a dry run). */
typedef struct pg_export_plan {
    char policy_id[72];   /**< the link's effective policy */
    uint64_t first, last; /**< the range of this node's log walked */
    uint64_t txns;        /**< txns that would be sent */
    uint64_t withheld;    /**< entries the peer may not receive */
    uint64_t skipped;     /**< of those: no record meets the agreement */
    size_t nfields;
    pg_export_field *fields;
} pg_export_plan;

/**
 * A dry run of pg_bundle_export to @p to: what would be sent, withheld or
 * transformed, field by field, without values.  Writes nothing and moves
 * no cursor.  Free with pg_export_plan_dispose.
 *
 * @return 0; PG_ENOTFOUND (no such peer); errors of the link's policy
 */
int pg_bundle_export_plan(pg_node *node, const char *to, bool resend,
                          pg_export_plan *plan);

/** Free what a plan holds.  NULL-safe. */
void pg_export_plan_dispose(pg_export_plan *plan);

/** How an imported file fared. */
typedef enum pg_bundle_status {
    PG_BUNDLE_APPLIED = 0, /**< verified and committed */
    PG_BUNDLE_REFUSED = 1, /**< bad as a whole: nothing changed */
    PG_BUNDLE_FAILED = 2,  /**< runtime failure: rolled back */
} pg_bundle_status;

/** A txn that was quarantined or left pending. */
typedef struct pg_bundle_note {
    char origin[PG_CODE_LEN + 1];
    uint64_t origin_seq;
    bool pending; /**< else quarantined */
    char reason[256];
} pg_bundle_note;

#define PG_BUNDLE_NOTES_MAX 64

/** The outcome of importing one file. */
typedef struct pg_bundle_report {
    const char *file;
    pg_bundle_status status;
    int error;         /**< the pg error when not applied */
    char message[512]; /**< the error message when not applied */
    char sender[PG_CODE_LEN + 1];
    uint64_t first, last; /**< range of the sender's log covered */
    uint64_t gap_first;   /**< missing part of the sender's log before this */
    uint64_t gap_last;    /**< bundle (0, 0: none) */
    uint64_t txns, applied, duplicates, conflicts, quarantined, pending;
    uint64_t cards_learnt;
    uint64_t pending_resolved; /**< earlier pending txns now applied */
    size_t nnotes;             /**< notes kept (at most PG_BUNDLE_NOTES_MAX) */
    pg_bundle_note notes[PG_BUNDLE_NOTES_MAX];
    /** From the parent, to a node on restore hold (pingan/recovery.h):
     * the parent's highest seq of this node's own txns, -1 when the
     * bundle did not say; hold_lifted when this bundle lifted the hold. */
    int64_t parent_holds;
    bool hold_lifted;
} pg_bundle_report;

/**
 * Import one bundle file: verify, decrypt, decompress, decode and merge in
 * one pass inside one SQLite transaction that commits only when the
 * trailer verifies.  @p report is always filled.
 *
 * @return 0 (applied; see report for quarantined and pending txns), or the
 *         negative pg error that refused (PG_EINVALID, PG_EAUTH,
 *         PG_EUPGRADE, PG_EPOLICY) or failed (PG_ERROR, PG_EBUSY, PG_ENOMEM)
 *         the file; the node is unchanged then
 */
int pg_bundle_import(pg_node *node, const char *path, pg_bundle_report *report);

/** One txn seen by pg_bundle_inspect (recipient only). */
typedef struct pg_inspect_txn {
    uint64_t seq;
    const void *txn; /**< a decoded pg_txn (pingan/txn.h), borrowed */
} pg_inspect_txn;

typedef int (*pg_inspect_cb)(const pg_inspect_txn *entry, void *payload);

/** What inspecting a bundle found. */
typedef struct pg_bundle_summary {
    unsigned format, suite;
    char sender[PG_CODE_LEN + 1];
    char sender_key_id[PG_KEY_ID_LEN + 1];
    char recipient[PG_CODE_LEN + 1];
    char recipient_key_id[PG_KEY_ID_LEN + 1];
    unsigned schema_version;
    char schema_hash[65];
    int64_t created_ms;
    uint64_t first, last, ack_upto, txns, cards, frames, frame_max;
    uint64_t bytes, header_bytes, plain_bytes;
    bool signer_known; /**< the sender's key is this node's or a peer's */
    bool header_ok, opened, trailer_ok;
    char problem[512]; /**< why the bundle is bad; "" when it is good */
} pg_bundle_summary;

/**
 * Read a bundle without applying it.  @p node may be NULL (no keys known:
 * nothing verifies).  On the recipient's node the frames are opened and
 * @p cb (may be NULL) sees each txn.
 *
 * @return 0 when the file could be read as a bundle at all (see
 *         summary->problem), or a negative pg error (not a bundle, I/O)
 */
int pg_bundle_inspect(pg_node *node, const char *path,
                      pg_bundle_summary *summary, pg_inspect_cb cb,
                      void *payload);

/** What a revocation did here. */
typedef struct pg_revoke_result {
    char key_id[PG_KEY_ID_LEN + 1]; /**< the key revoked */
    size_t quarantined; /**< applied txns taken back into quarantine */
} pg_revoke_result;

/**
 * Revoke the key of @p code, a node strictly inside this node's
 * jurisdiction (DESIGN §7): its certificate is marked revoked after seq
 * @p after, in a txn that replicates to every node the certificate
 * reaches; txns of that key after @p after are quarantined wherever the
 * revocation arrives (here at once), and the records they touched are
 * rebuilt from the rest of the log.
 *
 * @return 0; PG_EINVALID (bad code or seq); PG_EPOLICY (not a
 *         descendant); PG_ENOTFOUND (no valid certificate of it here);
 *         PG_EBUSY; PG_ERROR
 */
int pg_revoke(pg_node *node, const char *code, int64_t after,
              const char *operator_name, pg_revoke_result *out);

#endif
