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
} pg_txn;

/**
 * A new, empty txn.
 *
 * @return 0 or PG_ENOMEM; the caller frees *out with pg_txn_free
 */
int pg_txn_new(pg_txn **out);

/** Free a txn.  NULL-safe. */
void pg_txn_free(pg_txn *txn);

/** Forget header and changes, keeping allocations for reuse. */
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

/**
 * Append the canonical encoding of a version (u64 hlc ‖ str(origin)).
 *
 * @return 0, PG_ELIMIT or PG_ENOMEM
 */
int pg_version_encode(pg_buf *out, const pg_version *v);

#endif
