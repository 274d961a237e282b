/*
 * Suite 1: libsodium.  Nothing else in pingan calls libsodium directly, so
 * a second suite (SM2/SM3/SM4) can be added here alone.
 */
#include "pingan/crypto.h"
#include "pingan/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(((pg_hash_state *)0)->opaque) >=
                   sizeof(crypto_generichash_state),
               "pg_hash_state too small for libsodium");
_Static_assert(sizeof(((pg_stream_state *)0)->opaque) >=
                   sizeof(crypto_secretstream_xchacha20poly1305_state),
               "pg_stream_state too small for libsodium");
_Static_assert(PG_BOX_SEAL_ABYTES == crypto_box_SEALBYTES,
               "sealed box overhead");
_Static_assert(PG_STREAM_KEY_LEN ==
                       crypto_secretstream_xchacha20poly1305_KEYBYTES &&
                   PG_STREAM_HEADER_LEN ==
                       crypto_secretstream_xchacha20poly1305_HEADERBYTES &&
                   PG_STREAM_ABYTES ==
                       crypto_secretstream_xchacha20poly1305_ABYTES,
               "secretstream sizes");
_Static_assert(PG_STREAM_TAG_MESSAGE ==
                       crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
                   PG_STREAM_TAG_FINAL ==
                       crypto_secretstream_xchacha20poly1305_TAG_FINAL,
               "secretstream tags");

int pg_crypto_init(void)
{
    if (sodium_init() < 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_CRYPTO,
                            "libsodium failed to initialise");
    return 0;
}

void pg_random(void *out, size_t len)
{
    randombytes_buf(out, len);
}

int pg_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen)
{
    if (outlen < crypto_generichash_BYTES_MIN ||
        outlen > crypto_generichash_BYTES_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CRYPTO,
                            "BLAKE2b output length %zu out of range", outlen);
    crypto_generichash(out, outlen, in, inlen, NULL, 0);
    return 0;
}

void pg_hash_init(pg_hash_state *st, size_t outlen)
{
    st->outlen = outlen;
    crypto_generichash_init((crypto_generichash_state *)st->opaque, NULL, 0,
                            outlen);
}

void pg_hash_update(pg_hash_state *st, const void *in, size_t len)
{
    crypto_generichash_update((crypto_generichash_state *)st->opaque, in, len);
}

void pg_hash_final(pg_hash_state *st, uint8_t *out)
{
    crypto_generichash_final((crypto_generichash_state *)st->opaque, out,
                             st->outlen);
}

void pg_sign_keypair(uint8_t pk[PG_SIGN_PK_LEN], uint8_t sk[PG_SIGN_SK_LEN])
{
    crypto_sign_keypair(pk, sk);
}

void pg_sign_seed_keypair(uint8_t pk[PG_SIGN_PK_LEN],
                          uint8_t sk[PG_SIGN_SK_LEN],
                          const uint8_t seed[PG_SIGN_SEED_LEN])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}

void pg_sign(uint8_t sig[PG_SIG_LEN], const void *msg, size_t len,
             const uint8_t sk[PG_SIGN_SK_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, sk);
}

bool pg_verify(const uint8_t sig[PG_SIG_LEN], const void *msg, size_t len,
               const uint8_t pk[PG_SIGN_PK_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

void pg_box_keypair(uint8_t pk[PG_BOX_PK_LEN], uint8_t sk[PG_BOX_SK_LEN])
{
    crypto_box_keypair(pk, sk);
}

void pg_box_public(uint8_t pk[PG_BOX_PK_LEN], const uint8_t sk[PG_BOX_SK_LEN])
{
    crypto_scalarmult_base(pk, sk);
}

void pg_sign_public(uint8_t pk[PG_SIGN_PK_LEN],
                    const uint8_t sk[PG_SIGN_SK_LEN])
{
    crypto_sign_ed25519_sk_to_pk(pk, sk);
}

int pg_box_shared(uint8_t out[32], const uint8_t sk[PG_BOX_SK_LEN],
                  const uint8_t pk[PG_BOX_PK_LEN])
{
    /* crypto_scalarmult refuses an all-zero result (a low-order point);
     * check again so that the contract does not rest on the version. */
    if (crypto_scalarmult(out, sk, pk) != 0 || sodium_is_zero(out, 32)) {
        sodium_memzero(out, 32);
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_CRYPTO,
                            "X25519 public key is a low-order point");
    }
    return 0;
}

void pg_blake2b_keyed(uint8_t *out, size_t outlen, const void *in, size_t inlen,
                      const uint8_t *key, size_t keylen)
{
    assert(outlen >= crypto_generichash_BYTES_MIN &&
           outlen <= crypto_generichash_BYTES_MAX);
    assert(keylen >= crypto_generichash_KEYBYTES_MIN &&
           keylen <= crypto_generichash_KEYBYTES_MAX);
    crypto_generichash(out, outlen, in, inlen, key, keylen);
}

int pg_box_seal(uint8_t *out, const uint8_t *msg, size_t len,
                const uint8_t pk[PG_BOX_PK_LEN])
{
    if (crypto_box_seal(out, msg, len, pk) != 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CRYPTO,
                            "cannot seal to this X25519 public key");
    return 0;
}

bool pg_box_seal_open(uint8_t *out, const uint8_t *box, size_t len,
                      const uint8_t sk[PG_BOX_SK_LEN])
{
    uint8_t pk[PG_BOX_PK_LEN];

    if (len < PG_BOX_SEAL_ABYTES)
        return false;
    crypto_scalarmult_base(pk, sk);
    return crypto_box_seal_open(out, box, len, pk, sk) == 0;
}

void pg_stream_keygen(uint8_t key[PG_STREAM_KEY_LEN])
{
    crypto_secretstream_xchacha20poly1305_keygen(key);
}

void pg_stream_init_push(pg_stream_state *st,
                         uint8_t header[PG_STREAM_HEADER_LEN],
                         const uint8_t key[PG_STREAM_KEY_LEN])
{
    crypto_secretstream_xchacha20poly1305_init_push(
        (crypto_secretstream_xchacha20poly1305_state *)st->opaque, header, key);
}

void pg_stream_push(pg_stream_state *st, uint8_t *out, const uint8_t *msg,
                    size_t len, uint8_t tag)
{
    /* Fails only past 256 GiB a message, which no caller comes near. */
    int rc = crypto_secretstream_xchacha20poly1305_push(
        (crypto_secretstream_xchacha20poly1305_state *)st->opaque, out, NULL,
        msg, len, NULL, 0, tag);
    assert(rc == 0);
    (void)rc;
}

bool pg_stream_init_pull(pg_stream_state *st,
                         const uint8_t header[PG_STREAM_HEADER_LEN],
                         const uint8_t key[PG_STREAM_KEY_LEN])
{
    return crypto_secretstream_xchacha20poly1305_init_pull(
               (crypto_secretstream_xchacha20poly1305_state *)st->opaque,
               header, key) == 0;
}

bool pg_stream_pull(pg_stream_state *st, uint8_t *out, uint8_t *tag,
                    const uint8_t *in, size_t len)
{
    if (len < PG_STREAM_ABYTES)
        return false;
    return crypto_secretstream_xchacha20poly1305_pull(
               (crypto_secretstream_xchacha20poly1305_state *)st->opaque, out,
               NULL, tag, in, len, NULL, 0) == 0;
}

int pg_pwhash(uint8_t *out, size_t outlen, const char *pass, size_t passlen,
              const uint8_t salt[PG_PWHASH_SALT_LEN], uint32_t ops,
              uint32_t mem_kib)
{
    _Static_assert(PG_PWHASH_SALT_LEN == crypto_pwhash_SALTBYTES,
                   "pwhash salt");
    if (outlen < 16 || outlen > 64 || ops < crypto_pwhash_OPSLIMIT_MIN ||
        ops > PG_PWHASH_OPS_MAX ||
        mem_kib < crypto_pwhash_MEMLIMIT_MIN / 1024 ||
        mem_kib > PG_PWHASH_MEMKIB_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CRYPTO,
                            "key derivation parameters out of range (%u "
                            "passes, %u KiB)",
                            ops, mem_kib);
    if (crypto_pwhash(out, outlen, pass, passlen, salt, ops,
                      (size_t)mem_kib * 1024,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "key derivation needs %u KiB of memory, which "
                            "could not be had",
                            mem_kib);
    return 0;
}

void pg_key_id(char out[PG_KEY_ID_LEN + 1], const uint8_t pk[PG_SIGN_PK_LEN])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), pk, PG_SIGN_PK_LEN, NULL, 0);
    sodium_bin2hex(out, PG_KEY_ID_LEN + 1, h, PG_KEY_ID_LEN / 2);
}

void pg_memzero(void *p, size_t len)
{
    sodium_memzero(p, len);
}

void pg_hex(char *out, const uint8_t *in, size_t len)
{
    sodium_bin2hex(out, 2 * len + 1, in, len);
}

int pg_unhex(uint8_t *out, size_t len, const char *hex)
{
    size_t got = 0;
    const char *end = NULL;

    if (strlen(hex) != 2 * len ||
        sodium_hex2bin(out, len, hex, 2 * len, NULL, &got, &end) != 0 ||
        got != len)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CRYPTO,
                            "expected %zu hex digits", 2 * len);
    return 0;
}

char *pg_base64(const uint8_t *in, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(n);
    if (out)
        sodium_bin2base64(out, n, in, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int pg_unbase64(uint8_t *out, size_t max, size_t *len_out, const char *b64)
{
    size_t got = 0;
    const char *end = NULL;

    if (sodium_base642bin(out, max, b64, strlen(b64), NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end != '\0')
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CRYPTO,
                            "bad base64 (or longer than %zu bytes)", max);
    *len_out = got;
    return 0;
}
