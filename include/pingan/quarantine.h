/**
 * @file pingan/quarantine.h
 * @brief Received txns that failed their own checks.
 *
 * Inside a good bundle, a txn that fails its own checks is quarantined:
 * stored with its reason, acknowledged, not applied (DESIGN §5).  The rest
 * of the bundle still applies.  Reasons, by the start of their text:
 *
 * | reason starts with                   | the txn                         |
 * |--------------------------------------|---------------------------------|
 * | `malformed txn`                      | does not decode                 |
 * | `origin signature does not verify`   | is not signed by its origin     |
 * | `equivocation:`                      | reuses a seq its origin signed  |
 * |                                      | with other content              |
 * | `outside`                            | lies outside the sender's or    |
 * |                                      | origin's jurisdiction (DESIGN   |
 * |                                      | §6)                             |
 * | `invalid:`                           | breaks the schema               |
 *
 * Quarantine is final: the entries are evidence for administrators.
 */
#ifndef PINGAN_QUARANTINE_H
#define PINGAN_QUARANTINE_H

#include <stdint.h>

#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/txn.h"

/** Room for a reason, with the NUL. */
#define PG_QUARANTINE_REASON_MAX 256

/** A quarantined txn. */
typedef struct pg_quarantined {
    int64_t id;                       /**< local number */
    char peer[PG_CODE_LEN + 1];       /**< the peer it came from */
    char origin[PG_CODE_LEN + 1];     /**< "" when it did not decode */
    uint64_t origin_seq;              /**< 0 when it did not decode */
    char digest[2 * PG_HASH_LEN + 1]; /**< hex; of the bytes when malformed */
    char collection[65];
    char division[PG_CODE_LEN + 1];
    char reason[PG_QUARANTINE_REASON_MAX];
    int64_t received_ms;
    /** An equivocation's other txn: the digest (hex) of the txn with the
     * same origin and seq that this node kept (logged) or saw first
     * (quarantined or pending); "" for other reasons or when it is gone. */
    char other_digest[2 * PG_HASH_LEN + 1];
} pg_quarantined;

/** Called for each entry; a non-zero return stops the listing. */
typedef int (*pg_quarantine_cb)(const pg_quarantined *entry, void *payload);

/**
 * List the quarantine, oldest first.
 *
 * @return 0, PG_ERROR, or what @p cb returned; the entry passed to @p cb
 * is borrowed for the call
 */
int pg_quarantine_list(pg_node *node, pg_quarantine_cb cb, void *payload);

/**
 * List the equivocations quarantined since @p since_ms, newest first, each
 * with both digests (pg_quarantined.other_digest).
 *
 * @return 0, PG_ERROR, or what @p cb returned; the entry passed to @p cb
 * is borrowed for the call
 */
int pg_quarantine_equivocations(pg_node *node, int64_t since_ms,
                                pg_quarantine_cb cb, void *payload);

/**
 * Read one entry.
 *
 * @param out [out] the entry; zeroed on failure
 * @return 0, PG_ENOTFOUND, PG_ERROR
 */
int pg_quarantine_get(pg_quarantined *out, pg_node *node, int64_t id);

/**
 * Decode the body of an entry (its changes are shown, never applied).
 *
 * @return 0, PG_ENOTFOUND, PG_EINVALID (the body does not decode: the
 * entry is a malformed txn), PG_ENOMEM; the caller frees *out with
 * pg_txn_free
 */
int pg_quarantine_txn(pg_txn **out, pg_node *node, int64_t id);

#endif
