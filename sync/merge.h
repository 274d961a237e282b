/*
 * Merging received txns into a node (DESIGN §5, §6).  Internal to
 * libpingan.
 *
 * The importer opens one SQLite transaction per bundle (pg_store__begin),
 * creates a merger, feeds it every txn of the bundle, calls
 * pg_merger_finish() and commits only when the bundle's trailer verified;
 * any failure rolls everything back.
 *
 * Per txn, in this order:
 *   1. decode and digest (malformed: QUARANTINED, named by the BLAKE2b-256
 *      of its bytes, origin "" and seq 0);
 *   2. identity (origin, seq, digest): already in the log with the same
 *      digest, or these very bytes already quarantined: DUPLICATE (a
 *      quarantined copy with a forged signature does not hide the genuine
 *      txn, whose digest is the same);
 *   3. signer: the origin's card for the txn's key id (own, pinned peer,
 *      certificate, keyring); unknown, or a key no certificate names yet:
 *      PENDING ("signer CODE unknown so far"); bad signature: QUARANTINED
 *      ("origin signature does not verify..."); a revoked key past its
 *      last accepted seq: QUARANTINED ("revoked: ..."); redaction notes
 *      that do not verify: QUARANTINED, a redacting hop not known yet:
 *      PENDING;
 *   3b. equivocation, once the signature verified: the same (origin, seq)
 *      with another digest in the log, or in quarantine or pending under
 *      a valid signature of the origin: QUARANTINED ("equivocation: ...");
 *      a forger cannot get a genuine txn quarantined this way;
 *   4. clock more than PG_HLC_PENDING_MS ahead of the wall clock: PENDING
 *      ("clock skew: ...");
 *   5. jurisdiction (DESIGN §6): the division inside the sender's subtree
 *      (from a child or partner) or inside this node's jurisdiction (from
 *      a parent), the origin's jurisdiction covers the division, the
 *      record id's creator covers the division, an existing record has
 *      this division, the collection's cap admits this node's tier and the
 *      origin's, a partner sends only partner-shareable collections: else
 *      QUARANTINED ("outside...");
 *   6. schema: known collection (not `node` yet), known fields, valid
 *      values, required fields, division and `_deleted` never cleared,
 *      counters as int increments without a merged version, division
 *      written only as the txn's division: else QUARANTINED ("invalid:");
 *   7. apply each change of a whole or salted form (committed and dropped
 *      changes are logged, not applied): lww / authority / counter /
 *      _deleted tombstone; history and conflicts; append to the log with
 *      via = sender, all under a savepoint; advance the clock
 *      (pg_hlc_receive).
 * QUARANTINED txns are stored in `quarantine`, PENDING ones in `pending`
 * (both keep the body and reason; quarantine is final, pending is retried).
 */
#ifndef PINGAN_SYNC_MERGE_H
#define PINGAN_SYNC_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/txn.h"

typedef enum pg_merge_outcome {
    PG_MERGED_APPLIED = 0,
    PG_MERGED_DUPLICATE = 1,
    PG_MERGED_QUARANTINED = 2,
    PG_MERGED_PENDING = 3,
} pg_merge_outcome;

#define PG_MERGE_REASON_MAX 256

typedef struct pg_merge_result {
    pg_merge_outcome outcome;
    char origin[PG_CODE_LEN + 1]; /* "" when the txn did not decode */
    uint64_t origin_seq;
    size_t changes;                   /* changes applied */
    size_t conflicts;                 /* conflicts opened by this txn */
    char reason[PG_MERGE_REASON_MAX]; /* QUARANTINED / PENDING: why */
} pg_merge_result;

typedef struct pg_merger pg_merger;

/* A merger for one SQLite transaction the caller has begun. */
int pg_merger_new(pg_merger **out, pg_node *node);

/*
 * Merge one txn received from peer `from` (NULL: a pending txn being
 * re-checked, whose peer is stored with it), at seq `peer_seq` of the
 * sender's log.  Returns 0 with *res filled whatever the outcome, or a
 * negative pg error for a runtime failure (I/O, no memory), after which
 * the caller must roll back.
 */
int pg_merger_apply(pg_merger *m, const pg_peer *from, uint64_t peer_seq,
                    const uint8_t *body, size_t len, pg_merge_result *res);

/*
 * A txn decoded, digested and, when its signer was among the cards
 * given, signature-checked, ahead of pg_merger_apply_prepared().  Making
 * one touches no store, so an importer prepares many on several threads
 * while the store is applied on one (Ed25519 and the digest's hashes are
 * most of an import's work).
 */
typedef struct pg_merge_prep {
    const uint8_t *body; /* borrowed until applied */
    size_t len;
    pg_txn *txn;                       /* NULL when malformed */
    int error;                         /* decode or digest error */
    char message[PG_MERGE_REASON_MAX]; /* its message */
    int signature;                     /* 1 ok, 0 bad, -1 not checked */
    char key_id[PG_KEY_ID_LEN + 1];    /* the key it was checked with */
} pg_merge_prep;

/* Prepare one txn; cards (may be NULL) are the signers to check with. */
void pg_merge_prepare(pg_merge_prep *p, const uint8_t *body, size_t len,
                      const pg_card *cards, size_t ncards);

/* Free what pg_merge_prepare allocated.  NULL-safe. */
void pg_merge_prep_dispose(pg_merge_prep *p);

/* Copy up to max of the signer cards the merger has looked up so far. */
size_t pg_merger_signers(const pg_merger *m, pg_card *out, size_t max);

/* pg_merger_apply() of a prepared txn; p is disposed of by the caller. */
int pg_merger_apply_prepared(pg_merger *m, const pg_peer *from,
                             uint64_t peer_seq, pg_merge_prep *p,
                             pg_merge_result *res);

/*
 * Re-check every pending txn (a card arrived, time passed).  Applied or
 * quarantined ones leave `pending`.  Counts may be NULL.
 */
int pg_merger_retry_pending(pg_merger *m, size_t *applied, size_t *quarantined,
                            size_t *still_pending);

/*
 * Revocation (DESIGN §7): the txns of key `key_id` of `code` after seq
 * `after` leave the log for quarantine, and the records they touched are
 * rebuilt from what remains of the log.  *moved counts them.
 */
int pg_merger_revoke(pg_merger *m, const char *code, const char *key_id,
                     int64_t after, size_t *moved);

/* Store the advanced clock.  Call once before committing. */
int pg_merger_finish(pg_merger *m);

void pg_merger_free(pg_merger *m);

#endif
