/*
 * Redaction for one link (DESIGN §3, §6; Art. 41 of the regulation): the
 * step between selecting a txn for a peer and encoding it.  Each change
 * is kept, withheld (dropped: its commitment only) or replaced by a
 * derived text (mask, pseudonym, generalization) as the link's effective
 * policy says; every transformation adds a redaction note, and this node
 * signs the digest with all notes so far, so the receiver still verifies
 * the origin's signature and learns what was removed, by whom, under
 * which policy.  A value only loses detail: a change a previous hop
 * transformed is kept as it is under the same transform, else dropped.
 * Partner agreements may carry only the records that meet a condition
 * (`cross_region = true`); the changes of other records of a txn are
 * withheld, and a txn with none is not sent.  Internal.
 */
#ifndef PINGAN_SYNC_REDACT_H
#define PINGAN_SYNC_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/buf.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/policy.h"
#include "pingan/schema.h"

typedef struct pg_redactor pg_redactor;

/* What the redactor did to the changes of one field, for dry runs. */
typedef struct pg_redact_count {
    const char *collection; /* static schema names */
    const char *field;
    uint64_t counts[5]; /* by pg_transform: kept, dropped, masked, ... */
} pg_redact_count;

/* A redactor for the link to `peer` under `policy` (both borrowed). */
int pg_redactor_new(pg_redactor **out, pg_node *node, const pg_peer *peer,
                    const pg_policy *policy);

void pg_redactor_free(pg_redactor *r);

/*
 * Redact one stored txn (of `collection`, as the log says) for the link.  *out
 * and *out_len are the bytes to send: `body` itself when nothing changes, else
 * the redactor's buffer (valid until the next call).  *skip is set when no
 * record of the txn meets the agreement's condition: the txn is not sent.
 * Returns 0 or a negative pg error (a stored txn that does not decode is
 * PG_ECORRUPT).
 */
int pg_redactor_apply(pg_redactor *r, const char *collection,
                      const uint8_t *body, size_t len, const uint8_t **out,
                      size_t *out_len, bool *skip);

/*
 * The schema the link runs at: min(this node's version, the peer's)
 * (DESIGN §2; NULL or unset: the node's).  A txn of a collection the link
 * lacks is skipped; a change to a field it lacks is dropped (its leaf
 * stays, so the origin's signature still verifies).  After each apply,
 * pg_redactor_held says the schema version the peer needs for the whole
 * txn (0: it had it all), so that the exporter sends it again once the
 * peer has upgraded.
 */
void pg_redactor_set_schema(pg_redactor *r, const pg_schema *link);
unsigned pg_redactor_held(const pg_redactor *r);

/* Count every field, also of collections that pass unchanged (a dry
 * run shows them all). */
void pg_redactor_count_all(pg_redactor *r);

/* Does record `rid` of `coll` meet the link's condition now (true when
 * there is none)? */
int pg_redactor_meets(bool *out, pg_redactor *r, const pg_collection *coll,
                      const char *rid);

/* The records of the txns sent so far that met the condition: each as
 * collection \0 record id \0 (borrowed). */
const pg_buf *pg_redactor_met(const pg_redactor *r);

/* The per-field counts so far (borrowed), and the txns skipped. */
const pg_redact_count *pg_redactor_counts(const pg_redactor *r, size_t *n,
                                          uint64_t *skipped);

#endif
