/* Shared helpers of the fuzz targets: see fuzz.h. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle.pb-c.h"
#include "pingan/division.h"
#include "pingan/error.h"

#define DOMAIN "pingan.bundle.v1"

void fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, pg_error_last()->message);
    abort();
}

void fuzz_note(const char *what, int rc)
{
    static int debug = -1;
    if (debug < 0)
        debug = getenv("PINGAN_FUZZ_DEBUG") != NULL;
    if (debug)
        fprintf(stderr, "%s: %d %s\n", what, rc,
                rc < 0 ? pg_error_last()->message : "");
}

void fuzz_identity_make(fuzz_identity *id, const char *code, const char *name,
                        uint8_t seed)
{
    uint8_t sign_seed[PG_SIGN_SEED_LEN];

    if (pg_crypto_init() < 0)
        fuzz_die("pg_crypto_init");
    memset(id, 0, sizeof(*id));
    memset(sign_seed, seed, sizeof(sign_seed));
    memset(id->box_sk, seed ^ 0x5a, sizeof(id->box_sk));
    pg_sign_seed_keypair(id->card.sign_pk, id->sign_sk, sign_seed);
    pg_box_public(id->card.box_pk, id->box_sk);
    id->card.suite = PG_SUITE_SODIUM;
    snprintf(id->card.code, sizeof(id->card.code), "%s", code);
    snprintf(id->card.name, sizeof(id->card.name), "%s", name);
    id->card.tier = pg_division_tier(code);
    id->card.created_ms = FUZZ_TIME_MS;
    pg_key_id(id->card.key_id, id->card.sign_pk);
    pg_card_sign(&id->card, id->sign_sk);
    if (pg_card_verify(&id->card) < 0)
        fuzz_die("fixed identity");
}

const fuzz_identity *fuzz_sender(void)
{
    static fuzz_identity id;
    static int made;
    if (!made++)
        fuzz_identity_make(&id, FUZZ_SENDER, "湘潭县", 1);
    return &id;
}

const fuzz_identity *fuzz_recipient(void)
{
    static fuzz_identity id;
    static int made;
    if (!made++)
        fuzz_identity_make(&id, FUZZ_RECIPIENT, "湘潭市", 2);
    return &id;
}

static void put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void out_put(pg_buf *out, pg_hash_state *hs, const void *p, size_t n)
{
    if (pg_buf_put(out, p, n) < 0)
        fuzz_die("bundle buffer");
    if (hs)
        pg_hash_update(hs, p, n);
}

void fuzz_bundle_seal(pg_buf *out, const fuzz_bundle_spec *spec,
                      const uint8_t *content, size_t len)
{
    const fuzz_identity *snd = fuzz_sender(), *rcv = fuzz_recipient();
    uint8_t key[PG_STREAM_KEY_LEN];
    uint8_t sealed[PG_STREAM_KEY_LEN + PG_BOX_SEAL_ABYTES];
    uint8_t stream_header[PG_STREAM_HEADER_LEN];
    uint8_t schema_hash[PG_HASH_LEN];
    uint8_t sig[PG_SIG_LEN], digest[64], lenb[4];
    pg_stream_state st;
    pg_hash_state hs;

    memset(key, 0x42, sizeof(key));
    memset(schema_hash, 0x17, sizeof(schema_hash));
    if (pg_box_seal(sealed, key, sizeof(key), rcv->card.box_pk) < 0)
        fuzz_die("seal");
    pg_stream_init_push(&st, stream_header, key);

    Pingan__V1__BundleHeader h = PINGAN__V1__BUNDLE_HEADER__INIT;
    Pingan__V1__Ack ack = PINGAN__V1__ACK__INIT;
    h.format = PG_BUNDLE_FORMAT;
    h.sender = (char *)snd->card.code;
    h.sender_key_id = (char *)snd->card.key_id;
    h.recipient = (char *)rcv->card.code;
    h.recipient_key_id = (char *)rcv->card.key_id;
    h.schema_version = 1;
    h.schema_hash = (ProtobufCBinaryData){sizeof(schema_hash), schema_hash};
    h.created_ms = FUZZ_TIME_MS;
    h.range_first = spec->range_first;
    h.range_last = spec->range_last;
    h.ack = &ack;
    h.txns = spec->txns;
    h.cards = spec->cards;
    h.sealed_key = (ProtobufCBinaryData){sizeof(sealed), sealed};
    h.stream_header =
        (ProtobufCBinaryData){sizeof(stream_header), stream_header};
    h.frame_max = spec->frame_max;

    size_t hlen = pingan__v1__bundle_header__get_packed_size(&h);
    uint8_t *head = malloc(PG_BUNDLE_PREAMBLE + hlen);
    if (!head)
        fuzz_die("out of memory");
    memcpy(head, PG_BUNDLE_MAGIC, 4);
    head[4] = PG_BUNDLE_FORMAT;
    head[5] = PG_SUITE_SODIUM;
    if (pg_unhex(head + 6, PG_KEY_ID_LEN / 2, snd->card.key_id) < 0)
        fuzz_die("key id");
    put_u32be(head + 14, (uint32_t)hlen);
    pingan__v1__bundle_header__pack(&h, head + PG_BUNDLE_PREAMBLE);
    pg_sign(sig, head, PG_BUNDLE_PREAMBLE + hlen, snd->sign_sk);

    put_u32be(lenb, (uint32_t)strlen(DOMAIN));
    pg_hash_init(&hs, 64);
    pg_hash_update(&hs, lenb, sizeof(lenb));
    pg_hash_update(&hs, DOMAIN, strlen(DOMAIN));
    pg_buf_clear(out);
    out_put(out, &hs, head, PG_BUNDLE_PREAMBLE + hlen);
    out_put(out, &hs, sig, sizeof(sig));
    free(head);

    /* Frames of frame_max plaintext bytes; the last carries FINAL (the
     * only frame of an empty content is empty). */
    size_t fmax = spec->frame_max ? spec->frame_max : 1;
    uint8_t *cipher = malloc(fmax + PG_STREAM_ABYTES);
    if (!cipher)
        fuzz_die("out of memory");
    size_t off = 0;
    for (;;) {
        size_t n = len - off < fmax ? len - off : fmax;
        bool last = off + n == len;
        pg_stream_push(&st, cipher, content + off, n,
                       last ? PG_STREAM_TAG_FINAL : PG_STREAM_TAG_MESSAGE);
        put_u32be(lenb, (uint32_t)(n + PG_STREAM_ABYTES));
        out_put(out, &hs, lenb, sizeof(lenb));
        out_put(out, &hs, cipher, n + PG_STREAM_ABYTES);
        off += n;
        if (last)
            break;
    }
    free(cipher);
    memset(lenb, 0, sizeof(lenb));
    out_put(out, &hs, lenb, sizeof(lenb));
    pg_hash_final(&hs, digest);
    pg_sign(sig, digest, sizeof(digest), snd->sign_sk);
    out_put(out, NULL, sig, sizeof(sig));
    pg_memzero(&st, sizeof(st));
}

static char tmpdir[4096];

static void tmpdir_remove(void)
{
    char cmd[4200];
    if (!tmpdir[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz harness: could not remove %s\n", tmpdir);
}

const char *fuzz_tmpdir(void)
{
    if (tmpdir[0])
        return tmpdir;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/pingan-fuzz-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
        fuzz_die("mkdtemp");
    atexit(tmpdir_remove);
    return tmpdir;
}
