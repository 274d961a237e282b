/**
 * @file pingan/crypto.h
 * @brief The one module through which pingan reaches cryptography.
 *
 * Every signature, key, hash and cipher is tagged with a suite.  Suite 1 is
 * libsodium's: Ed25519, X25519, BLAKE2b, XChaCha20-Poly1305.  A second
 * suite (SM2/SM3/SM4 for GB/T 39786 assessments) would be added here
 * without touching the formats' structure.
 */
#ifndef PINGAN_CRYPTO_H
#define PINGAN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Crypto suites.  Values pinned. */
#define PG_SUITE_SODIUM 1

#define PG_SIGN_PK_LEN   32 /**< Ed25519 public key */
#define PG_SIGN_SK_LEN   64 /**< Ed25519 secret key (seed ‖ public key) */
#define PG_SIGN_SEED_LEN 32
#define PG_SIG_LEN       64
#define PG_BOX_PK_LEN    32 /**< X25519 public key */
#define PG_BOX_SK_LEN    32
#define PG_HASH_LEN      32
#define PG_KEY_ID_LEN    16 /**< hex characters of a key id */

/**
 * Initialise the crypto library.  Safe to call more than once and from
 * several threads.
 *
 * @return 0 or PG_ERROR
 */
int pg_crypto_init(void);

/** Fill @p len bytes with cryptographically secure random bytes. */
void pg_random(void *out, size_t len);

/**
 * BLAKE2b with an output of @p outlen bytes (16..64).
 *
 * @return 0 or PG_EINVALID for a bad length
 */
int pg_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen);

/** Incremental BLAKE2b state (opaque storage, aligned for libsodium). */
typedef struct pg_hash_state {
    _Alignas(64) uint8_t opaque[384];
    size_t outlen;
} pg_hash_state;

/** Start an incremental BLAKE2b of @p outlen bytes (16..64). */
void pg_hash_init(pg_hash_state *st, size_t outlen);
/** Feed bytes. */
void pg_hash_update(pg_hash_state *st, const void *in, size_t len);
/** Finish; @p out must hold the outlen given to pg_hash_init. */
void pg_hash_final(pg_hash_state *st, uint8_t *out);

/**
 * A new Ed25519 key pair.
 *
 * @param pk [out] the public key
 * @param sk [out] the secret key; wipe it with pg_memzero when done
 */
void pg_sign_keypair(uint8_t pk[PG_SIGN_PK_LEN], uint8_t sk[PG_SIGN_SK_LEN]);

/** The Ed25519 key pair derived from a 32-byte seed (test vectors). */
void pg_sign_seed_keypair(uint8_t pk[PG_SIGN_PK_LEN],
                          uint8_t sk[PG_SIGN_SK_LEN],
                          const uint8_t seed[PG_SIGN_SEED_LEN]);

/** Sign @p len bytes with Ed25519 (detached signature). */
void pg_sign(uint8_t sig[PG_SIG_LEN], const void *msg, size_t len,
             const uint8_t sk[PG_SIGN_SK_LEN]);

/**
 * Verify a detached Ed25519 signature.
 *
 * @return true when it verifies
 */
bool pg_verify(const uint8_t sig[PG_SIG_LEN], const void *msg, size_t len,
               const uint8_t pk[PG_SIGN_PK_LEN]);

/** A new X25519 key pair (for sealing bundle keys to a node). */
void pg_box_keypair(uint8_t pk[PG_BOX_PK_LEN], uint8_t sk[PG_BOX_SK_LEN]);

/** The X25519 public key of a secret key. */
void pg_box_public(uint8_t pk[PG_BOX_PK_LEN], const uint8_t sk[PG_BOX_SK_LEN]);

/**
 * The Ed25519 public key held in a secret key (seed ‖ public key).
 */
void pg_sign_public(uint8_t pk[PG_SIGN_PK_LEN],
                    const uint8_t sk[PG_SIGN_SK_LEN]);

/**
 * The X25519 shared secret of a secret key and another node's public key
 * (libsodium's crypto_scalarmult).  Both sides of a link compute the same
 * 32 bytes, each from its own secret key and the other's public key.  Use
 * it only as a key for pg_blake2b_keyed, never directly.
 *
 * @param out [out] the shared secret; wipe it with pg_memzero when done
 * @return 0, or PG_EAUTH when @p pk is a low-order point (the result would
 *         be all zero, and so known to anyone)
 */
int pg_box_shared(uint8_t out[32], const uint8_t sk[PG_BOX_SK_LEN],
                  const uint8_t pk[PG_BOX_PK_LEN]);

/**
 * Keyed BLAKE2b (libsodium's crypto_generichash with a key): a MAC and
 * key-derivation function.
 *
 * @param outlen 16..64 bytes
 * @param keylen 16..64 bytes
 */
void pg_blake2b_keyed(uint8_t *out, size_t outlen, const void *in, size_t inlen,
                      const uint8_t *key, size_t keylen);

/* --- sealed boxes: a short secret for one X25519 key ----------------- */

/** Bytes a sealed box adds to its message (ephemeral key and tag). */
#define PG_BOX_SEAL_ABYTES 48

/**
 * Seal @p len bytes to the X25519 public key @p pk (libsodium's
 * crypto_box_seal): only the holder of the matching secret key can open
 * it, and the sender stays anonymous.
 *
 * @param out [out] @p len + PG_BOX_SEAL_ABYTES bytes
 * @return 0, or PG_EINVALID when @p pk is not a usable X25519 key
 */
int pg_box_seal(uint8_t *out, const uint8_t *msg, size_t len,
                const uint8_t pk[PG_BOX_PK_LEN]);

/**
 * Open a sealed box with the X25519 secret key @p sk.  Sets no error.
 *
 * @param out [out] @p len - PG_BOX_SEAL_ABYTES bytes
 * @return true when the box was sealed to @p sk's public key and is intact
 */
bool pg_box_seal_open(uint8_t *out, const uint8_t *box, size_t len,
                      const uint8_t sk[PG_BOX_SK_LEN]);

/* --- secret streams: a sequence of authenticated messages ------------ */

#define PG_STREAM_KEY_LEN    32 /**< XChaCha20-Poly1305 secretstream key */
#define PG_STREAM_HEADER_LEN 24 /**< sent once, before the messages */
#define PG_STREAM_ABYTES     17 /**< bytes each message grows by */
/** Message tags (authenticated with each message).  Values pinned. */
#define PG_STREAM_TAG_MESSAGE 0
#define PG_STREAM_TAG_FINAL   3

/**
 * The state of one direction of a secret stream (libsodium's
 * crypto_secretstream_xchacha20poly1305).  It holds key material: wipe
 * it with pg_memzero when done.
 */
typedef struct pg_stream_state {
    _Alignas(16) uint8_t opaque[64];
} pg_stream_state;

/** A fresh random stream key; wipe it with pg_memzero when done. */
void pg_stream_keygen(uint8_t key[PG_STREAM_KEY_LEN]);

/**
 * Start pushing (encrypting) a stream under @p key.
 *
 * @param header [out] the stream header, sent before the messages
 */
void pg_stream_init_push(pg_stream_state *st,
                         uint8_t header[PG_STREAM_HEADER_LEN],
                         const uint8_t key[PG_STREAM_KEY_LEN]);

/**
 * Encrypt the next message of a stream.
 *
 * @param out [out] @p len + PG_STREAM_ABYTES bytes
 * @param tag PG_STREAM_TAG_MESSAGE, or PG_STREAM_TAG_FINAL for the last
 */
void pg_stream_push(pg_stream_state *st, uint8_t *out, const uint8_t *msg,
                    size_t len, uint8_t tag);

/**
 * Start pulling (decrypting) a stream.  Sets no error.
 *
 * @return true, false when the header is unusable
 */
bool pg_stream_init_pull(pg_stream_state *st,
                         const uint8_t header[PG_STREAM_HEADER_LEN],
                         const uint8_t key[PG_STREAM_KEY_LEN]);

/**
 * Decrypt and authenticate the next message of a stream.  Sets no error.
 *
 * @param out [out] @p len - PG_STREAM_ABYTES bytes
 * @param tag [out] the message's tag
 * @return true when the message authenticates in its place in the stream
 * (no message altered, dropped, reordered or replayed before it)
 */
bool pg_stream_pull(pg_stream_state *st, uint8_t *out, uint8_t *tag,
                    const uint8_t *in, size_t len);

/* --- passphrases: Argon2id key derivation ---------------------------- */

#define PG_PWHASH_SALT_LEN 16 /**< salt bytes (crypto_pwhash_SALTBYTES) */
/** Argon2id passes and memory (KiB) used when none are given: libsodium's
 * "interactive" limits, about a tenth of a second and 64 MiB. */
#define PG_PWHASH_OPS_DEFAULT    2
#define PG_PWHASH_MEMKIB_DEFAULT (64 * 1024)
/** The most a file may ask a reader to spend (passes, memory in KiB): a
 * damaged or hostile file cannot make a restore take hours or 100 GiB. */
#define PG_PWHASH_OPS_MAX    16
#define PG_PWHASH_MEMKIB_MAX (1024 * 1024)

/**
 * Derive a key from a passphrase with Argon2id v1.3 (libsodium's
 * crypto_pwhash, ALG_ARGON2ID13).
 *
 * @param out [out] @p outlen bytes (16..64); wipe it with pg_memzero
 * @param ops Argon2id passes (at least 1, at most PG_PWHASH_OPS_MAX)
 * @param mem_kib memory in KiB (8 .. PG_PWHASH_MEMKIB_MAX)
 * @return 0, PG_EINVALID (parameters out of range), PG_ENOMEM (the memory
 * could not be had)
 */
int pg_pwhash(uint8_t *out, size_t outlen, const char *pass, size_t passlen,
              const uint8_t salt[PG_PWHASH_SALT_LEN], uint32_t ops,
              uint32_t mem_kib);

/**
 * A key id: lower-case hex of the first 8 bytes of BLAKE2b-256(public key).
 */
void pg_key_id(char out[PG_KEY_ID_LEN + 1], const uint8_t pk[PG_SIGN_PK_LEN]);

/** Wipe memory that held secrets (not optimised away). */
void pg_memzero(void *p, size_t len);

/** Lower-case hex of @p len bytes; @p out holds 2*len+1. */
void pg_hex(char *out, const uint8_t *in, size_t len);

/**
 * Decode lower- or upper-case hex of exactly @p len bytes.
 *
 * @return 0 or PG_EINVALID
 */
int pg_unhex(uint8_t *out, size_t len, const char *hex);

/** Standard base64 (with padding) of @p len bytes; caller frees. */
char *pg_base64(const uint8_t *in, size_t len);

/**
 * Decode standard base64 into at most @p max bytes.
 *
 * @return 0 or PG_EINVALID
 */
int pg_unbase64(uint8_t *out, size_t max, size_t *len_out, const char *b64);

#endif
