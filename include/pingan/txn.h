/**
 * @file pingan/txn.h
 * @brief Transactions of the change-log: building, digest, signature and
 * their protobuf encoding.
 *
 * A txn holds the changes of one local write, all to records of one
 * collection in one division, at most PG_TXN_MAX_CHANGES changes and
 * PG_TXN_MAX_BYTES encoded.  The origin signs a digest that commits to
 * every change through a salted commitment, so that a later hop may drop
 * or transform a change without invalidating the signature (DESIGN §3):
 *
 *     salt   = BLAKE2b-128(str("pingan.salt.v1") ‖ seed ‖ str(collection)
 *                          ‖ str(record id) ‖ str(field))
 *     commit = BLAKE2b-256(salt ‖ value)
 *     leaf   = BLAKE2b-256(str("pingan.leaf.v1") ‖ str(collection)
 *                          ‖ str(record id) ‖ str(field) ‖ base ‖ commit
 *                          [‖ str("merged") ‖ merged])
 *     digest = BLAKE2b-256(str("pingan.txn.v1") ‖ u8 suite ‖ str(origin)
 *                          ‖ str(key id) ‖ u64 seq ‖ u64 hlc
 *                          ‖ str(division) ‖ str(collection)
 *                          ‖ str(operator) ‖ u32 n ‖ sorted leaves)
 *
 * The bracketed part of the leaf is present only for a change that
 * resolves a conflict (its `merged` version is not zero), so the leaves of
 * ordinary changes are those of the first format.
 *
 * A hop that redacts (pg_txn_redact_drop, pg_txn_redact_derive) adds a
 * redaction note per change it withholds or transforms, and signs the
 * digest with every note so far (pg_txn_hop_sign); a receiver checks them
 * with pg_txn_verify_notes (proto/FORMAT.md, "Redaction notes and hop
 * signatures").
 */
#ifndef PINGAN_TXN_H
#define PINGAN_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/value.h"

#define PG_TXN_MAX_CHANGES 4096
#define PG_TXN_MAX_BYTES   (256 * 1024)
#define PG_SEED_LEN        32
#define PG_SALT_LEN        16
/** Longest operator name, in bytes. */
#define PG_OPERATOR_MAX 128

/** The version of a field: (hlc, origin).  Zero: hlc 0, origin "". */
typedef struct pg_version {
    uint64_t hlc;
    char origin[PG_CODE_LEN + 1];
} pg_version;

/** Total order of versions: hlc, then origin code.  <0, 0, >0. */
int pg_version_cmp(const pg_version *a, const pg_version *b);

/** True for the zero version. */
bool pg_version_is_zero(const pg_version *v);

/** Room for a version as text: "HLC@ORIGIN" (20 + 1 + 12 digits, NUL). */
#define PG_VERSION_TEXT_MAX 40

/** Write a version as "HLC@ORIGIN" (the decimal hlc); "0@" for zero. */
void pg_version_format(char out[PG_VERSION_TEXT_MAX], const pg_version *v);

/**
 * Parse "HLC@ORIGIN": a decimal hlc greater than 0, '@', a 12-digit code.
 *
 * @return 0 or PG_EINVALID
 */
int pg_version_parse(pg_version *out, const char *text);

/** How much of a change is revealed (see proto/txn.proto). */
typedef enum pg_change_form {
    PG_CHANGE_WHOLE = 0,     /**< value; salt from the txn's seed */
    PG_CHANGE_SALTED = 1,    /**< value and salt */
    PG_CHANGE_COMMITTED = 2, /**< commitment and a derived text */
    PG_CHANGE_DROPPED = 3,   /**< commitment only: the value withheld */
} pg_change_form;

/** One change.  Strings live in the txn's arena. */
typedef struct pg_change {
    char *record_id;
    char *field;
    pg_value value; /**< text points into `text` */
    char *text;
    pg_version base;
    /** The other version of the conflict this change resolves (a second
     * base); zero for an ordinary change. */
    pg_version merged;
    pg_change_form form;
    char *derived;               /**< PG_CHANGE_COMMITTED */
    uint8_t salt[PG_SALT_LEN];   /**< valid after pg_txn_seal / decode */
    uint8_t commit[PG_HASH_LEN]; /**< valid after seal / verify */
    uint8_t leaf[PG_HASH_LEN];   /**< valid after seal / verify */
} pg_change;

/** Most redaction notes a txn carries (a change may be transformed, then
 * dropped, by several hops). */
#define PG_TXN_MAX_NOTES (4 * PG_TXN_MAX_CHANGES)
/** Most hop signatures a txn carries (one per redacting hop). */
#define PG_TXN_MAX_HOP_SIGS 16
/** Longest policy id of a redaction note, in bytes. */
#define PG_POLICY_ID_MAX 64

/**
 * A redaction note: what a hop did to one change (DESIGN §3, proto/FORMAT.md
 * "Redaction notes and hop signatures").  Strings live in the txn's arena.
 */
typedef struct pg_note {
    char hop[PG_CODE_LEN + 1]; /**< code of the hop that redacted */
    char *policy_id;
    uint8_t policy_hash[PG_HASH_LEN];
    char *record_id;
    char *field;
    /** "drop", "mask", "hash" or "generalize" */
    char *transform;
    /** BLAKE2b-256 of the derived text; all zero for "drop" */
    uint8_t derived_hash[PG_HASH_LEN];
} pg_note;

/** A hop's signature over the digest and the first `notes` notes. */
typedef struct pg_hop_sig {
    char hop[PG_CODE_LEN + 1];
    char key_id[PG_KEY_ID_LEN + 1];
    uint32_t notes; /**< how many notes (from the first) it covers */
    uint8_t signature[PG_SIG_LEN];
} pg_hop_sig;

/** A transaction. */
typedef struct pg_txn {
    unsigned suite;
    char origin[PG_CODE_LEN + 1];
    char key_id[PG_KEY_ID_LEN + 1];
    uint64_t seq;
    uint64_t hlc;
    char division[PG_CODE_LEN + 1];
    char *collection;
    char *operator_name;
    bool has_seed;
    uint8_t seed[PG_SEED_LEN];
    pg_change *changes;
    size_t nchanges;
    size_t cap;
    bool has_signature;
    uint8_t signature[PG_SIG_LEN];
    uint8_t digest[PG_HASH_LEN]; /**< valid after seal or verify */
    void *arena;                 /**< storage of the strings (private) */
    /** Redaction notes, in the order the hops made them (empty as written
     * by an origin). */
    pg_note *notes;
    size_t nnotes;
    size_t notes_cap;
    /** Hop signatures, in the order the hops signed. */
    pg_hop_sig *hop_sigs;
    size_t nhop_sigs;
    size_t hop_sigs_cap;
} pg_txn;

/**
 * A new, empty txn.
 *
 * @return 0 or PG_ENOMEM; the caller frees *out with pg_txn_free
 */
int pg_txn_new(pg_txn **out);

/** Free a txn.  NULL-safe. */
void pg_txn_free(pg_txn *txn);

/** Forget header, changes, notes and hop signatures, keeping allocations
 * for reuse. */
void pg_txn_reset(pg_txn *txn);

/**
 * Set the header.  Strings are copied.
 *
 * @return 0, PG_EINVALID (bad code, operator too long) or PG_ENOMEM
 */
int pg_txn_set_header(pg_txn *txn, const char *origin, const char *key_id,
                      uint64_t seq, uint64_t hlc, const char *division,
                      const char *collection, const char *operator_name);

/**
 * Append a whole change.  Strings and text are copied.
 *
 * @return 0, PG_ELIMIT (more than PG_TXN_MAX_CHANGES) or PG_ENOMEM
 */
int pg_txn_add(pg_txn *txn, const char *record_id, const char *field,
               const pg_value *value, const pg_version *base);

/**
 * Append a whole change that resolves a conflict: like pg_txn_add, with a
 * second base @p merged (the other version of the conflict).  A zero
 * @p merged makes it an ordinary change.
 *
 * @return 0, PG_ELIMIT (more than PG_TXN_MAX_CHANGES) or PG_ENOMEM
 */
int pg_txn_add_merged(pg_txn *txn, const char *record_id, const char *field,
                      const pg_value *value, const pg_version *base,
                      const pg_version *merged);

/**
 * Compute salts (drawing a random seed first when the txn has none),
 * commitments, leaves and the digest.
 *
 * @return 0, PG_EINVALID (a value cannot be encoded) or PG_ENOMEM
 */
int pg_txn_seal(pg_txn *txn);

/** Sign the digest computed by pg_txn_seal with the origin's key. */
void pg_txn_sign(pg_txn *txn, const uint8_t sk[PG_SIGN_SK_LEN]);

/**
 * Recompute the digest (and every salt, commit and leaf the changes' forms
 * allow) from what the txn reveals, without checking any signature: the
 * identity (origin, seq, digest) of a received txn before its signer is
 * known.
 *
 * @return 0, PG_EINVALID when the txn is malformed, or PG_ENOMEM
 */
int pg_txn_digest(pg_txn *txn);

/**
 * Check the origin's signature over the digest computed by pg_txn_digest
 * (or pg_txn_seal), without recomputing it.
 *
 * @return 0, or PG_EAUTH when the signature does not verify, is missing or
 * uses an unknown suite
 */
int pg_txn_verify_digest(const pg_txn *txn, const uint8_t pk[PG_SIGN_PK_LEN]);

/**
 * Recompute the digest from what the txn reveals and check the origin's
 * signature.
 *
 * @return 0, or PG_EAUTH when the signature does not verify (or is
 * missing), PG_EINVALID when the txn is malformed
 */
int pg_txn_verify(pg_txn *txn, const uint8_t pk[PG_SIGN_PK_LEN]);

/**
 * Encode as protobuf (pingan.v1.Txn).
 *
 * @return 0, PG_ELIMIT, PG_ENOMEM
 */
int pg_txn_encode(pg_buf *out, const pg_txn *txn);

/**
 * Decode protobuf bytes into a new txn, checking every size and form.
 *
 * @return 0, PG_EINVALID (not a valid Txn) or PG_ENOMEM; the caller
 * frees *out with pg_txn_free
 */
int pg_txn_decode(pg_txn **out, const uint8_t *data, size_t len);

/* --- redaction (DESIGN §3, proto/FORMAT.md) ----------------------------- */

/**
 * Withhold change @p i (form DROPPED: its commit only) and add a note
 * (transform "drop") by @p hop under the policy (@p policy_id,
 * @p policy_hash).  The txn should be sealed or digested (pg_txn_seal,
 * pg_txn_digest); the commit of the change is recomputed from what the txn
 * reveals.  The first redaction of a txn that still has its seed removes
 * the seed and turns every remaining whole change into SALTED (its salt),
 * so the digest stays the same.  The value, salt and seed withheld are
 * wiped from memory.  A change already COMMITTED may be dropped.
 *
 * @return 0; PG_EINVALID (no such change, already dropped, a malformed
 * hop code or policy id, a hop that has signed already, notes of another
 * hop not signed yet, a whole change without a seed); PG_ELIMIT (more than
 * PG_TXN_MAX_NOTES notes); PG_ENOMEM.  On error nothing changed.
 */
int pg_txn_redact_drop(pg_txn *txn, size_t i, const char *hop,
                       const char *policy_id,
                       const uint8_t policy_hash[PG_HASH_LEN]);

/**
 * Replace change @p i's value by the text @p derived (form COMMITTED: its
 * commit and the text) and add a note with @p transform ("mask", "hash"
 * or "generalize") and derived_hash = BLAKE2b-256(derived).  Otherwise as
 * pg_txn_redact_drop.  A change already COMMITTED may only be dropped, not
 * derived again.
 *
 * @return 0; PG_EINVALID (as pg_txn_redact_drop, or the change is already
 * COMMITTED or DROPPED, an unknown transform, a derived text longer than
 * PG_TEXT_MAX or not UTF-8); PG_ELIMIT; PG_ENOMEM.  On error nothing
 * changed.
 */
int pg_txn_redact_derive(pg_txn *txn, size_t i, const char *derived,
                         const char *transform, const char *hop,
                         const char *policy_id,
                         const uint8_t policy_hash[PG_HASH_LEN]);

/**
 * Sign as @p hop (key @p key_id, secret key @p sk) the digest together with
 * every note so far, and append the hop signature:
 *
 *     Ed25519(BLAKE2b-256(str("pingan.hop.v1") ‖ digest ‖ str(hop)
 *             ‖ str(key id) ‖ u32 count ‖ note_1 ‖ … ‖ note_count))
 *     note = str(hop) ‖ str(policy id) ‖ policy hash ‖ str(record id)
 *            ‖ str(field) ‖ str(transform) ‖ derived hash
 *
 * where count is the number of notes.  The digest is recomputed first
 * (pg_txn_digest).  A no-op returning 0 when no note was added since the
 * last hop signature.
 *
 * @return 0; PG_EINVALID (a malformed hop code or key id, @p key_id not
 * that of @p sk, a note since the last signature by another hop, a hop
 * that has signed already, a malformed txn); PG_ELIMIT (more than
 * PG_TXN_MAX_HOP_SIGS signatures); PG_ENOMEM
 */
int pg_txn_hop_sign(pg_txn *txn, const char *hop, const char *key_id,
                    const uint8_t sk[PG_SIGN_SK_LEN]);

/**
 * The signing key of a hop, for pg_txn_verify_notes.
 *
 * @param pk [out] the Ed25519 public key of (@p hop, @p key_id)
 * @return 0 with @p pk; PG_ENOTFOUND when the key is not known here; any
 * other negative code for a runtime failure (its message set)
 */
typedef int (*pg_hop_key_fn)(void *ctx, const char *hop, const char *key_id,
                             uint8_t pk[PG_SIGN_PK_LEN]);

/**
 * Check the redaction notes and hop signatures of a digested txn (after
 * pg_txn_digest, pg_txn_verify or pg_txn_seal; the origin signature is
 * pg_txn_verify's).  Structure first: every COMMITTED or DROPPED change is
 * explained by the last note for its (record id, field) — transform
 * "drop" for DROPPED, another transform for COMMITTED, whose derived text
 * hashes to the note's derived_hash; WHOLE and SALTED changes have no
 * note; every note names a change of the txn; the notes each signature
 * adds are the signing hop's; signature counts strictly increase, the last
 * equals the number of notes; a hop signs once; no notes with a seed.
 * Then each hop signature, with the key that @p fn gives.
 *
 * @return 0; PG_EINVALID (the structure: the message names what);
 * PG_EAUTH (a hop signature does not verify: the message names the hop);
 * PG_ENOTFOUND (a hop's key is unknown: the message names the hop and key
 * id); or @p fn's runtime error
 */
int pg_txn_verify_notes(const pg_txn *txn, pg_hop_key_fn fn, void *ctx);

/**
 * Append the canonical encoding of a version (u64 hlc ‖ str(origin)).
 *
 * @return 0, PG_ELIMIT or PG_ENOMEM
 */
int pg_version_encode(pg_buf *out, const pg_version *v);

#endif
