/**
 * @file pingan/status.h
 * @brief A node's state at a glance: who is behind (DESIGN §9).
 *
 * pg_status_get gathers, read-only, what `pingan status` shows:
 *
 * | part        | what                                                    |
 * |-------------|---------------------------------------------------------|
 * | node        | code, name, tier, key id, log entries and last seq,     |
 * |             | schema version of the store                             |
 * | peers       | per pinned peer: role, URL, last successful exchange,   |
 * |             | txns of this node's log it has not been sent (`unsent`, |
 * |             | after `sent_upto`) or not acknowledged (`unacked`,      |
 * |             | after `acked_upto`), counted as the link would carry    |
 * |             | them (pg_bundle_export_plan), and the gap known in its  |
 * |             | log                                                     |
 * | conflicts   | open conflicts                                          |
 * | overdue     | supervision orders and hazards past their deadline      |
 * | quarantine  | txns quarantined in the last 24 hours, by reason prefix |
 * |             | (the text before the first ':'), and the latest         |
 * |             | equivocations with both digests                         |
 * | pending     | txns held back: waiting for a signer's key, or for the  |
 * |             | clock (reason "clock skew: ...")                        |
 * | audit       | the audit chain's head, and the head the parent last    |
 * |             | confirmed holding                                       |
 */
#ifndef PINGAN_STATUS_H
#define PINGAN_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/quarantine.h"

/** Equivocations a status lists at most (the newest). */
#define PG_STATUS_EQUIVOCATIONS_MAX 16

/** The window of "recent" quarantine, in milliseconds (24 h). */
#define PG_STATUS_RECENT_MS (24LL * 3600 * 1000)

/** One peer, with how far behind it is. */
typedef struct pg_status_peer {
    pg_peer peer; /**< as pg_peer_get returns it */
    /** Counts from pg_bundle_export_plan; -1 when the plan failed (then
     * @c problem says why). */
    int64_t unsent;
    int64_t unacked;
    char problem[256]; /**< "" when both counts are known */
    /** The clock difference last seen with it over HTTP (its clock minus
     * this node's), when skew_seen_ms is not 0. */
    int64_t skew_ms;
    int64_t skew_seen_ms;
} pg_status_peer;

/** Quarantined txns with one reason prefix. */
typedef struct pg_status_reason {
    char reason[256]; /**< the reason up to its first ':' */
    uint64_t count;
} pg_status_reason;

/** A node's status. */
typedef struct pg_status {
    /* This node. */
    char code[PG_CODE_LEN + 1];
    char name[256];
    pg_tier tier;
    char key_id[PG_KEY_ID_LEN + 1];
    uint64_t log_entries;  /**< entries in the log (own and received) */
    uint64_t log_last_seq; /**< 0 when empty */
    unsigned schema_version;
    int64_t now_ms; /**< when the status was taken */

    /* Peers, by code. */
    size_t npeers;
    pg_status_peer *peers;

    uint64_t conflicts_open;

    /** Supervision orders and hazards past their deadline
     * (pg_overdue_list). */
    uint64_t overdue;

    /* Quarantined since now_ms - PG_STATUS_RECENT_MS, by reason prefix
     * (most frequent first). */
    uint64_t quarantined_recent;
    size_t nreasons;
    pg_status_reason *reasons;

    /* Input refused as a whole since now_ms - PG_STATUS_RECENT_MS
     * (bundles, HTTP requests), by source ("bundle", "http"), and the
     * latest refusal's reason. */
    uint64_t rejected_recent;
    size_t nrejected;
    pg_status_reason *rejected;
    char rejected_last[512];

    /* Pending txns. */
    uint64_t pending_total;
    uint64_t pending_signer;       /**< waiting for a key */
    uint64_t pending_clock_skew;   /**< waiting for the clock */
    int64_t pending_max_ahead_min; /**< largest skew reported, minutes */
    int64_t pending_oldest_ms;     /**< received_ms of the oldest; 0: none */

    /* Equivocations quarantined since now_ms - PG_STATUS_RECENT_MS, newest
     * first, at most PG_STATUS_EQUIVOCATIONS_MAX: each with the digest
     * quarantined and the other (other_digest). */
    size_t nequivocations;
    pg_quarantined *equivocations;
    /* The audit trail (pingan/audit.h): this node's chain head, and the
     * head its parent last confirmed holding (seq 0: none yet). */
    int64_t audit_seq;
    char audit_hash[2 * PG_HASH_LEN + 1];
    int64_t audit_parent_seq;
    char audit_parent[PG_CODE_LEN + 1];
} pg_status;

/**
 * Read a node's status.  Changes nothing.
 *
 * @param out [out] filled; free with pg_status_dispose (also on failure)
 * @return 0, PG_ECORRUPT (a stored peer or conflict is damaged), PG_ENOMEM,
 *         PG_ERROR.  A peer whose link cannot be planned (its policy does
 *         not parse) is not an error: its counts are -1 with a problem.
 */
int pg_status_get(pg_node *node, pg_status *out);

/** Free what a status holds.  NULL-safe. */
void pg_status_dispose(pg_status *status);

#endif
