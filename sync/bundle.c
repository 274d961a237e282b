/*
 * Bundles: the writer and the streaming reader (DESIGN §4; the normative
 * byte layout is proto/FORMAT.md §6).
 *
 *   preamble  "PGNB" ‖ u8 format (1) ‖ u8 suite (1) ‖ key id (8 raw bytes)
 *             ‖ u32 header length (1 .. 65,536)
 *   header    pingan.v1.BundleHeader ‖ Ed25519 signature (64 bytes) of
 *             preamble ‖ header
 *   frames    u32 length ‖ secretstream ciphertext (length - 17 plaintext
 *             bytes: frame_max for every frame but the last, which has the
 *             FINAL tag)
 *   trailer   u32 0 (end mark) ‖ Ed25519 signature (64 bytes) of
 *             BLAKE2b-512(str("pingan.bundle.v1") ‖ every byte from the
 *             preamble through the end mark)
 *
 * The plaintexts of the frames, concatenated, are one zstd frame (or
 * nothing, when the bundle carries no card and no txn) whose content is
 * u32 length ‖ pingan.v1.TxnBatch, repeated.
 *
 * Writing, in this order: each card or txn is encoded as the bytes it adds
 * to a TxnBatch (protobuf concatenates repeated fields, so a batch is
 * built by appending); a batch that would pass min(frame_max, 1 MiB) is
 * flushed into one zstd stream (level 9: a third of the one-record txns
 * bundle is signatures and seeds, so the rest must compress well; export
 * still runs several times faster than import); the compressed bytes are cut
 * into frame_max pieces, each encrypted as the next message of one
 * secretstream under a fresh key and written to an anonymous temporary
 * file.  Only finish() knows the counts, so only then are the header, its
 * signature, the frames copied from the temporary file, the end mark and
 * the trailer's signature written out.  Memory stays constant: one batch,
 * one frame, zstd's buffers.
 *
 * Reading is one pass in the opposite order: preamble, the signer's key,
 * the header's signature, then the header; the stream key unsealed; each
 * frame's length checked before its bytes are read, then decrypted,
 * decompressed (with a window and an expansion limit) and split into
 * batches, whose cards and txns go to the caller's callbacks as they are
 * decoded; finally the trailer's signature over the hash of every byte.
 * The caller applies what it is given inside one SQLite transaction and
 * commits only when pg_bundle_read() returns 0.
 */
#include "bundle.h"
#include "error_internal.h"
#include "i18n_internal.h"
#include "memwatch.h"
#include "pingan/buf.h"
#include "pingan/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bundle.pb-c.h"

#define BUNDLE_DOMAIN         "pingan.bundle.v1"
#define BUNDLE_SEALED_KEY_LEN (PG_STREAM_KEY_LEN + PG_BOX_SEAL_ABYTES)
#define BUNDLE_ZSTD_LEVEL     9
#define BUNDLE_KEY_ID_RAW     (PG_KEY_ID_LEN / 2)
/* More than any header the writer makes (about 320 bytes). */
#define BUNDLE_HEADER_ESTIMATE 512
/* A zstd frame header and epilogue, at most (ZSTD_FRAMEHEADERSIZE_MAX is
 * not in zstd's stable API). */
#define BUNDLE_ZSTD_FRAME_OVERHEAD 32

_Static_assert(PG_BUNDLE_PREAMBLE == 4 + 1 + 1 + BUNDLE_KEY_ID_RAW + 4,
               "preamble layout");
_Static_assert(PG_BUNDLE_FRAME_MAX <= PG_BUNDLE_BATCH_MAX / 2,
               "a batch below the frame size plus one entry fits the limit");

static void put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static int bundle_nomem(void)
{
    return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
}

/* The hash the trailer signs starts with the domain string. */
static void bundle_hash_init(pg_hash_state *hs)
{
    uint8_t len[4];

    put_u32be(len, (uint32_t)strlen(BUNDLE_DOMAIN));
    pg_hash_init(hs, 64);
    pg_hash_update(hs, len, sizeof(len));
    pg_hash_update(hs, BUNDLE_DOMAIN, strlen(BUNDLE_DOMAIN));
}

static bool is_key_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == PG_KEY_ID_LEN;
}

/* (first, last) is a sender log range: both 0, or 1 <= first <= last. */
static bool range_valid(uint64_t first, uint64_t last)
{
    return (first == 0 && last == 0) || (first >= 1 && first <= last);
}

/* ==== writing ========================================================= */

struct pg_bundle_writer {
    const uint8_t *sign_sk; /* borrowed */
    uint8_t sign_pk[PG_SIGN_PK_LEN];
    size_t frame_max;
    size_t batch_target;
    uint8_t sealed_key[BUNDLE_SEALED_KEY_LEN];
    uint8_t stream_header[PG_STREAM_HEADER_LEN];
    pg_stream_state stream;
    ZSTD_CCtx *zc;
    uint8_t *zout; /* zstd's output */
    size_t zout_cap;
    uint8_t *chunk; /* plaintext of the next frame, frame_max bytes */
    size_t chunk_len;
    uint8_t *cipher; /* one frame's ciphertext */
    FILE *tmp;       /* the frames until finish() */
    pg_buf batch;    /* the encoded TxnBatch being built */
    uint64_t cards;
    uint64_t txns;
    uint64_t first_seq;
    uint64_t last_seq;
    uint64_t frames;
    uint64_t frame_bytes; /* bytes of frames in tmp */
    uint64_t plain_bytes; /* batch bytes, with their length prefixes */
    bool zstarted;        /* a batch went into the zstd stream */
    bool finished;
    int failed; /* sticky error after a failed write */
};

static int writer_io_error(pg_bundle_writer *w, bool output)
{
    w->failed = output ? pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                      "cannot write the bundle's output: %s",
                                      pg_error__oserr(errno))
                       : pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                      "cannot write the bundle's temporary "
                                      "file: %s",
                                      pg_error__oserr(errno));
    return w->failed;
}

/* Encrypt the pending chunk as the next frame and append it to tmp. */
static int writer_emit_frame(pg_bundle_writer *w, uint8_t tag)
{
    size_t clen = w->chunk_len + PG_STREAM_ABYTES;
    uint8_t len[4];

    pg_stream_push(&w->stream, w->cipher, w->chunk, w->chunk_len, tag);
    put_u32be(len, (uint32_t)clen);
    if (fwrite(len, 1, sizeof(len), w->tmp) != sizeof(len) ||
        fwrite(w->cipher, 1, clen, w->tmp) != clen)
        return writer_io_error(w, false);
    w->frames++;
    w->frame_bytes += sizeof(len) + clen;
    w->chunk_len = 0;
    return 0;
}

/* Append compressed bytes to the frames.  A full chunk is sent only when
 * more bytes follow, so the last frame (FINAL) is never empty unless the
 * whole plaintext is. */
static int writer_put_plain(pg_bundle_writer *w, const uint8_t *p, size_t n)
{
    int error;

    while (n > 0) {
        if (w->chunk_len == w->frame_max &&
            (error = writer_emit_frame(w, PG_STREAM_TAG_MESSAGE)) < 0)
            return error;
        size_t take = w->frame_max - w->chunk_len;
        if (take > n)
            take = n;
        memcpy(w->chunk + w->chunk_len, p, take);
        w->chunk_len += take;
        p += take;
        n -= take;
    }
    return 0;
}

static int writer_compress(pg_bundle_writer *w, const void *data, size_t len,
                           ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {data, len, 0};
    size_t rest;
    int error;

    do {
        ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};
        rest = ZSTD_compressStream2(w->zc, &out, &in, mode);
        if (ZSTD_isError(rest)) {
            w->failed = pg_error_set(PG_ERROR, PG_ERRCLASS_BUNDLE,
                                     "zstd compression failed: %s",
                                     ZSTD_getErrorName(rest));
            return w->failed;
        }
        if ((error = writer_put_plain(w, w->zout, out.pos)) < 0)
            return error;
    } while (mode == ZSTD_e_end ? rest != 0 : in.pos < in.size);
    return 0;
}

static int writer_flush_batch(pg_bundle_writer *w)
{
    uint8_t len[4];
    int error;

    if (w->batch.len == 0)
        return 0;
    put_u32be(len, (uint32_t)w->batch.len);
    w->zstarted = true;
    if ((error = writer_compress(w, len, sizeof(len), ZSTD_e_continue)) < 0 ||
        (error = writer_compress(w, w->batch.data, w->batch.len,
                                 ZSTD_e_continue)) < 0)
        return error;
    w->plain_bytes += sizeof(len) + w->batch.len;
    pg_buf_clear(&w->batch);
    return 0;
}

/* Append one card or entry: a TxnBatch holding only it packs to exactly
 * the bytes it adds to a batch. */
static int writer_add_piece(pg_bundle_writer *w,
                            const Pingan__V1__TxnBatch *piece)
{
    size_t n = pingan__v1__txn_batch__get_packed_size(piece);
    int error;

    if (n > PG_BUNDLE_BATCH_MAX)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_BUNDLE,
                            "a card or txn of %zu bytes encoded exceeds the "
                            "batch limit of %d bytes",
                            n, PG_BUNDLE_BATCH_MAX);
    if (w->batch.len > 0 && w->batch.len + n > w->batch_target &&
        (error = writer_flush_batch(w)) < 0)
        return error;
    if ((error = pg_buf_reserve(&w->batch, n)) < 0)
        return error;
    size_t packed =
        pingan__v1__txn_batch__pack(piece, w->batch.data + w->batch.len);
    assert(packed == n);
    w->batch.len += packed;
    return 0;
}

static int writer_usable(const pg_bundle_writer *w)
{
    if (w->failed)
        return pg_error_set(w->failed, PG_ERRCLASS_BUNDLE,
                            "the bundle writer failed earlier");
    if (w->finished)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_BUNDLE,
                            "the bundle is already finished");
    return 0;
}

int pg_bundle_writer_new(pg_bundle_writer **out,
                         const uint8_t sign_sk[PG_SIGN_SK_LEN],
                         const uint8_t recipient_box_pk[PG_BOX_PK_LEN],
                         size_t frame_max)
{
    pg_bundle_writer *w = NULL;
    uint8_t key[PG_STREAM_KEY_LEN];
    int error = 0;

    PG_ASSERT_ARG(out && sign_sk && recipient_box_pk);
    *out = NULL;
    if (frame_max == 0)
        frame_max = PG_BUNDLE_FRAME_MAX;
    if (frame_max > PG_BUNDLE_FRAME_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_BUNDLE,
                            "frame size %zu exceeds the limit of %d bytes",
                            frame_max, PG_BUNDLE_FRAME_MAX);
    if (!(w = calloc(1, sizeof(*w))))
        return bundle_nomem();
    w->sign_sk = sign_sk;
    pg_sign_public(w->sign_pk, sign_sk);
    w->frame_max = frame_max;
    w->batch_target = frame_max; /* min(frame_max, 1 MiB): it is <= 1 MiB */
    pg_buf_init(&w->batch, PG_BUNDLE_BATCH_MAX);

    pg_stream_keygen(key);
    if ((error = pg_box_seal(w->sealed_key, key, sizeof(key),
                             recipient_box_pk)) < 0)
        goto done;
    pg_stream_init_push(&w->stream, w->stream_header, key);

    w->zout_cap = ZSTD_CStreamOutSize();
    w->zc = ZSTD_createCCtx();
    w->zout = malloc(w->zout_cap);
    w->chunk = malloc(frame_max);
    w->cipher = malloc(frame_max + PG_STREAM_ABYTES);
    if (!w->zc || !w->zout || !w->chunk || !w->cipher) {
        error = bundle_nomem();
        goto done;
    }
    size_t rc = ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel,
                                       BUNDLE_ZSTD_LEVEL);
    if (ZSTD_isError(rc)) {
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_BUNDLE, "zstd: %s",
                             ZSTD_getErrorName(rc));
        goto done;
    }
    if (!(w->tmp = tmpfile())) {
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                             "cannot create a temporary file for the "
                             "bundle: %s",
                             pg_error__oserr(errno));
        goto done;
    }
    *out = w;
    w = NULL;

done:
    pg_memzero(key, sizeof(key));
    pg_bundle_writer_free(w);
    return error;
}

int pg_bundle_writer_add_card(pg_bundle_writer *w, const pg_card *card)
{
    PG_ASSERT_ARG(w && card);
    int error = writer_usable(w);
    if (error < 0)
        return error;
    if (w->cards >= PG_BUNDLE_CARDS_MAX)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_BUNDLE,
                            "a bundle holds at most %d cards",
                            PG_BUNDLE_CARDS_MAX);
    /* A card the reader would refuse would make the whole bundle
     * unreadable: check it here, on a copy (verify sets the key id). */
    pg_card copy = *card;
    if ((error = pg_card_verify(&copy)) < 0)
        return error;

    Pingan__V1__Card c = PINGAN__V1__CARD__INIT;
    Pingan__V1__Card *cp = &c;
    Pingan__V1__TxnBatch piece = PINGAN__V1__TXN_BATCH__INIT;
    c.suite = copy.suite;
    c.code = copy.code;
    c.name = copy.name;
    c.tier = (char *)pg_tier_name(copy.tier);
    c.sign_pk.len = PG_SIGN_PK_LEN;
    c.sign_pk.data = copy.sign_pk;
    c.box_pk.len = PG_BOX_PK_LEN;
    c.box_pk.data = copy.box_pk;
    c.created_ms = copy.created_ms;
    c.signature.len = PG_SIG_LEN;
    c.signature.data = copy.signature;
    piece.n_cards = 1;
    piece.cards = &cp;
    if ((error = writer_add_piece(w, &piece)) < 0)
        return error;
    w->cards++;
    return 0;
}

int pg_bundle_writer_add_txn(pg_bundle_writer *w, uint64_t seq,
                             const uint8_t *txn, size_t len)
{
    PG_ASSERT_ARG(w && (txn || len == 0));
    int error = writer_usable(w);
    if (error < 0)
        return error;
    if (seq == 0 || (w->txns > 0 && seq <= w->last_seq))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_BUNDLE,
                            "txn seq %llu does not follow %llu: seqs ascend "
                            "from 1",
                            (unsigned long long)seq,
                            (unsigned long long)w->last_seq);
    if (len == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_BUNDLE,
                            "txn at seq %llu is empty",
                            (unsigned long long)seq);

    Pingan__V1__TxnEntry e = PINGAN__V1__TXN_ENTRY__INIT;
    Pingan__V1__TxnEntry *ep = &e;
    Pingan__V1__TxnBatch piece = PINGAN__V1__TXN_BATCH__INIT;
    e.seq = seq;
    e.txn.len = len;
    e.txn.data = (uint8_t *)txn;
    piece.n_entries = 1;
    piece.entries = &ep;
    if ((error = writer_add_piece(w, &piece)) < 0)
        return error;
    if (w->txns == 0)
        w->first_seq = seq;
    w->last_seq = seq;
    w->txns++;
    return 0;
}

uint64_t pg_bundle_writer_size(const pg_bundle_writer *w)
{
    /* Plaintext still to become frames: the pending chunk, what zstd may
     * hold (at most a block of input and a block of output), and the
     * batch being built. */
    uint64_t held = 0;
    if (w->zstarted) {
        held = 2 * (uint64_t)ZSTD_compressBound(ZSTD_BLOCKSIZE_MAX);
        uint64_t all = ZSTD_compressBound(w->plain_bytes);
        if (all < held)
            held = all;
    }
    uint64_t plain = w->chunk_len + held +
                     (w->batch.len ? ZSTD_compressBound(w->batch.len + 4) +
                                         BUNDLE_ZSTD_FRAME_OVERHEAD
                                   : 0);
    uint64_t frames = plain / w->frame_max + 1;
    return PG_BUNDLE_PREAMBLE + BUNDLE_HEADER_ESTIMATE + PG_SIG_LEN +
           w->frame_bytes + plain + frames * (4 + PG_STREAM_ABYTES) + 4 +
           PG_SIG_LEN;
}

static int writer_check_info(const pg_bundle_writer *w,
                             const pg_bundle_info *info)
{
    const char *bad = NULL;

    if (!pg_division_valid(info->sender))
        bad = "sender is not a division code";
    else if (!pg_division_valid(info->recipient))
        bad = "recipient is not a division code";
    else if (!is_key_id(info->recipient_key_id))
        bad = "recipient key id is not 16 lower-case hex digits";
    else if (!range_valid(info->range_first, info->range_last))
        bad = "range is not empty (0, 0) nor 1 <= first <= last";
    else if (w->txns > 0 && (info->range_first > w->first_seq ||
                             info->range_last < w->last_seq))
        bad = "range does not cover the seqs of the txns added";
    if (bad)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_BUNDLE,
                            "cannot finish the bundle: %s", bad);
    return 0;
}

/* Write bytes to the bundle, feeding the trailer's hash. */
static int writer_out(pg_bundle_writer *w, FILE *out, pg_hash_state *hs,
                      const void *p, size_t n)
{
    pg_hash_update(hs, p, n);
    if (n > 0 && fwrite(p, 1, n, out) != n)
        return writer_io_error(w, true);
    return 0;
}

int pg_bundle_writer_finish(pg_bundle_writer *w, pg_bundle_info *info,
                            FILE *out)
{
    uint8_t *head = NULL;
    uint8_t sig[PG_SIG_LEN];
    uint8_t mark[4] = {0, 0, 0, 0};
    uint8_t digest[64];
    pg_hash_state hs;
    int error;

    PG_ASSERT_ARG(w && info && out);
    if ((error = writer_usable(w)) < 0 ||
        (error = writer_check_info(w, info)) < 0)
        return error;
    w->finished = true;

    /* The last frames.  With nothing added the plaintext is empty: one
     * empty FINAL frame, no zstd frame at all. */
    if (!w->zstarted && w->batch.len) {
        /* The whole plaintext is this one batch (a sync of a few txns):
         * told its size, zstd sizes its tables for it instead of
         * clearing some 12 MB meant for a long stream, which cost tens of
         * ms per small bundle. */
        size_t rc = ZSTD_CCtx_setPledgedSrcSize(w->zc, 4 + w->batch.len);
        if (ZSTD_isError(rc)) {
            error = w->failed = pg_error_set(PG_ERROR, PG_ERRCLASS_BUNDLE,
                                             "zstd compression failed: %s",
                                             ZSTD_getErrorName(rc));
            goto done;
        }
    }
    if ((error = writer_flush_batch(w)) < 0)
        goto done;
    if (w->zstarted && (error = writer_compress(w, NULL, 0, ZSTD_e_end)) < 0)
        goto done;
    if ((error = writer_emit_frame(w, PG_STREAM_TAG_FINAL)) < 0)
        goto done;
    if (fflush(w->tmp) != 0) {
        error = writer_io_error(w, false);
        goto done;
    }

    info->format = PG_BUNDLE_FORMAT;
    info->suite = PG_SUITE_SODIUM;
    pg_key_id(info->sender_key_id, w->sign_pk);
    info->txns = w->txns;
    info->cards = w->cards;
    info->frame_max = (uint32_t)w->frame_max;

    Pingan__V1__BundleHeader h = PINGAN__V1__BUNDLE_HEADER__INIT;
    Pingan__V1__Ack ack = PINGAN__V1__ACK__INIT;
    ack.upto = info->ack_upto;
    h.format = info->format;
    h.sender = info->sender;
    h.sender_key_id = info->sender_key_id;
    h.recipient = info->recipient;
    h.recipient_key_id = info->recipient_key_id;
    h.schema_version = info->schema_version;
    h.schema_hash.len = PG_HASH_LEN;
    h.schema_hash.data = info->schema_hash;
    h.created_ms = info->created_ms;
    h.range_first = info->range_first;
    h.range_last = info->range_last;
    h.ack = &ack;
    h.txns = info->txns;
    h.cards = info->cards;
    h.sealed_key.len = sizeof(w->sealed_key);
    h.sealed_key.data = w->sealed_key;
    h.stream_header.len = sizeof(w->stream_header);
    h.stream_header.data = w->stream_header;
    h.frame_max = info->frame_max;
    Pingan__V1__OriginSeq held = PINGAN__V1__ORIGIN_SEQ__INIT;
    held.seq = info->held_seq;
    if (info->has_held)
        h.held = &held;
    Pingan__V1__AuditHeads audit = PINGAN__V1__AUDIT_HEADS__INIT;
    Pingan__V1__AuditHead audit_own = PINGAN__V1__AUDIT_HEAD__INIT;
    Pingan__V1__AuditHead audit_seen = PINGAN__V1__AUDIT_HEAD__INIT;
    if (info->has_audit_own || info->has_audit_seen) {
        if (info->has_audit_own) {
            audit_own.seq = (uint64_t)info->audit_own.seq;
            audit_own.hash.len = PG_HASH_LEN;
            audit_own.hash.data = info->audit_own.hash;
            audit.own = &audit_own;
        }
        if (info->has_audit_seen) {
            audit_seen.seq = (uint64_t)info->audit_seen.seq;
            audit_seen.hash.len = PG_HASH_LEN;
            audit_seen.hash.data = info->audit_seen.hash;
            audit.seen = &audit_seen;
        }
        h.audit = &audit;
    }
    Pingan__V1__Card root = PINGAN__V1__CARD__INIT;
    Pingan__V1__Certificate certs[PG_CERT_CHAIN_MAX];
    Pingan__V1__Certificate *certp[PG_CERT_CHAIN_MAX];
    char root_tier[16], cert_tier[PG_CERT_CHAIN_MAX][16];
    if (info->has_root) {
        const pg_card *c = &info->root;
        root.suite = c->suite;
        root.code = (char *)c->code;
        root.name = (char *)c->name;
        snprintf(root_tier, sizeof(root_tier), "%s", pg_tier_name(c->tier));
        root.tier = root_tier;
        root.sign_pk =
            (ProtobufCBinaryData){PG_SIGN_PK_LEN, (uint8_t *)c->sign_pk};
        root.box_pk =
            (ProtobufCBinaryData){PG_BOX_PK_LEN, (uint8_t *)c->box_pk};
        root.created_ms = c->created_ms;
        root.signature =
            (ProtobufCBinaryData){PG_SIG_LEN, (uint8_t *)c->signature};
        h.root = &root;
        for (size_t i = 0; i < info->nchain && i < PG_CERT_CHAIN_MAX; i++) {
            const pg_cert *ct = &info->chain[i];
            Pingan__V1__Certificate *m = &certs[i];
            pingan__v1__certificate__init(m);
            m->suite = ct->subject.suite;
            m->code = (char *)ct->subject.code;
            m->name = (char *)ct->subject.name;
            snprintf(cert_tier[i], sizeof(cert_tier[i]), "%s",
                     pg_tier_name(ct->subject.tier));
            m->tier = cert_tier[i];
            m->sign_pk = (ProtobufCBinaryData){PG_SIGN_PK_LEN,
                                               (uint8_t *)ct->subject.sign_pk};
            m->box_pk = (ProtobufCBinaryData){PG_BOX_PK_LEN,
                                              (uint8_t *)ct->subject.box_pk};
            m->issuer = (char *)ct->issuer;
            m->issuer_key_id = (char *)ct->issuer_key_id;
            m->valid_from = ct->valid_from;
            m->signature =
                (ProtobufCBinaryData){PG_SIG_LEN, (uint8_t *)ct->signature};
            certp[i] = m;
            h.n_chain = i + 1;
        }
        h.chain = certp;
    }

    size_t hlen = pingan__v1__bundle_header__get_packed_size(&h);
    assert(hlen > 0 && hlen <= PG_BUNDLE_HEADER_MAX);
    if (!(head = malloc(PG_BUNDLE_PREAMBLE + hlen))) {
        error = bundle_nomem();
        goto done;
    }
    memcpy(head, PG_BUNDLE_MAGIC, 4);
    head[4] = PG_BUNDLE_FORMAT;
    head[5] = PG_SUITE_SODIUM;
    error = pg_unhex(head + 6, BUNDLE_KEY_ID_RAW, info->sender_key_id);
    assert(error == 0);
    put_u32be(head + 14, (uint32_t)hlen);
    pingan__v1__bundle_header__pack(&h, head + PG_BUNDLE_PREAMBLE);
    pg_sign(sig, head, PG_BUNDLE_PREAMBLE + hlen, w->sign_sk);

    bundle_hash_init(&hs);
    if ((error = writer_out(w, out, &hs, head, PG_BUNDLE_PREAMBLE + hlen)) <
            0 ||
        (error = writer_out(w, out, &hs, sig, sizeof(sig))) < 0)
        goto done;

    /* The frames, through zstd's output buffer (it is no longer needed). */
    if (fseek(w->tmp, 0, SEEK_SET) != 0) {
        error = writer_io_error(w, false);
        goto done;
    }
    uint64_t left = w->frame_bytes;
    while (left > 0) {
        size_t n = left < w->zout_cap ? (size_t)left : w->zout_cap;
        if (fread(w->zout, 1, n, w->tmp) != n) {
            error = writer_io_error(w, false);
            goto done;
        }
        if ((error = writer_out(w, out, &hs, w->zout, n)) < 0)
            goto done;
        left -= n;
    }

    if ((error = writer_out(w, out, &hs, mark, sizeof(mark))) < 0)
        goto done;
    pg_hash_final(&hs, digest);
    pg_sign(sig, digest, sizeof(digest), w->sign_sk);
    if (fwrite(sig, 1, sizeof(sig), out) != sizeof(sig) || fflush(out) != 0) {
        error = writer_io_error(w, true);
        goto done;
    }

    info->header_bytes = PG_BUNDLE_PREAMBLE + hlen + PG_SIG_LEN;
    info->frames = w->frames;
    info->bytes =
        info->header_bytes + w->frame_bytes + sizeof(mark) + PG_SIG_LEN;
    info->plain_bytes = w->plain_bytes;

done:
    if (error < 0 && !w->failed)
        w->failed = error;
    free(head);
    return error;
}

void pg_bundle_writer_free(pg_bundle_writer *w)
{
    if (!w)
        return;
    ZSTD_freeCCtx(w->zc);
    if (w->tmp)
        fclose(w->tmp);
    free(w->zout);
    free(w->chunk);
    free(w->cipher);
    pg_buf_dispose(&w->batch);
    pg_memzero(w, sizeof(*w)); /* the stream state holds the key */
    free(w);
}

/* ==== reading ========================================================= */

typedef struct bundle_reader {
    FILE *in;
    const pg_bundle_ops *ops;
    void *ctx;
    pg_bundle_info info;
    pg_hash_state hash;
    uint64_t off;    /* bytes read so far */
    bool unverified; /* signer unknown: inspect without checking */

    /* frames */
    uint8_t sign_pk[PG_SIGN_PK_LEN];
    uint8_t *cipher; /* frame_max + 17 */
    uint8_t *plain;  /* frame_max */
    pg_stream_state stream;
    uint64_t frame_no;  /* the current frame, from 1 */
    uint64_t frame_off; /* where it starts */

    /* zstd */
    ZSTD_DCtx *zd;
    uint8_t *zout;
    size_t zout_cap;
    uint64_t z_in; /* compressed bytes consumed */
    bool z_started;
    bool z_done; /* the zstd frame ended */
    bool z_more; /* the last call filled zout: it may hold more */

    /* batches */
    uint8_t lenbuf[4];
    size_t lenhave;
    bool in_body;
    size_t batch_len;
    pg_buf batch;
    uint64_t batch_no;
    uint64_t batch_off; /* decompressed offset of the current batch */
    uint64_t plain_off; /* decompressed bytes parsed so far */
    uint64_t cards_seen;
    uint64_t txns_seen;
    uint64_t last_seq;
} bundle_reader;

static int reader_bad(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int reader_bad(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int code = pg_error__vset(PG_EINVALID, PG_ERRCLASS_BUNDLE, fmt, ap);
    va_end(ap);
    return code;
}

/* Read exactly n bytes, feeding the trailer's hash when asked to. */
static int reader_read(bundle_reader *r, void *p, size_t n, bool hash,
                       const char *what)
{
    size_t got = n ? fread(p, 1, n, r->in) : 0;

    if (got != n) {
        if (ferror(r->in))
            return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                "cannot read the bundle at byte offset %llu: "
                                "%s",
                                (unsigned long long)(r->off + got),
                                pg_error__oserr(errno));
        {
            /* what is a phrase marked PG_N_ by the caller. */
            pg_error__text in;
            pg_error__text_word(&in, what);
            return pg_error__wrap(
                PG_EINVALID, PG_ERRCLASS_BUNDLE, &in,
                "bundle truncated at byte offset %llu, inside %s",
                (unsigned long long)(r->off + got), in.en);
        }
    }
    if (hash)
        pg_hash_update(&r->hash, p, n);
    r->off += n;
    return 0;
}

static int reader_header_bad(const char *what)
{
    return reader_bad("bundle header (byte offset %d): %s", PG_BUNDLE_PREAMBLE,
                      what);
}

/* A card of the header or a batch as pg_card (not yet verified); NULL
 * or what is wrong. */
static const char *card_from_proto(pg_card *out, const Pingan__V1__Card *c)
{
    memset(out, 0, sizeof(*out));
    if (c->base.n_unknown_fields)
        return "unknown fields";
    if (strlen(c->code) != PG_CODE_LEN)
        return "code is not 12 digits";
    if (strlen(c->name) >= sizeof(out->name))
        return "name is longer than 255 bytes";
    if (pg_tier_from_name(c->tier) == PG_TIER_NONE)
        return "unknown tier";
    if (c->sign_pk.len != PG_SIGN_PK_LEN || c->box_pk.len != PG_BOX_PK_LEN)
        return "a key is not 32 bytes";
    if (c->signature.len != PG_SIG_LEN)
        return "signature is not 64 bytes";
    out->suite = c->suite;
    memcpy(out->code, c->code, PG_CODE_LEN + 1);
    memcpy(out->name, c->name, strlen(c->name) + 1);
    out->tier = pg_tier_from_name(c->tier);
    memcpy(out->sign_pk, c->sign_pk.data, PG_SIGN_PK_LEN);
    memcpy(out->box_pk, c->box_pk.data, PG_BOX_PK_LEN);
    out->created_ms = c->created_ms;
    memcpy(out->signature, c->signature.data, PG_SIG_LEN);
    return NULL;
}

/* One audit head of the header: seq 1 .. 2^63 - 1 and a 32-byte hash. */
static const char *reader_audit_head(bool *has, pg_audit_head *out,
                                     const Pingan__V1__AuditHead *a)
{
    *has = false;
    memset(out, 0, sizeof(*out));
    if (!a)
        return NULL;
    if (a->seq == 0 || a->seq > INT64_MAX || a->hash.len != PG_HASH_LEN)
        return "malformed audit head";
    out->seq = (int64_t)a->seq;
    memcpy(out->hash, a->hash.data, PG_HASH_LEN);
    *has = true;
    return NULL;
}

/* The header's audit heads (field 19), when present. */
static const char *reader_audit(pg_bundle_info *info,
                                const Pingan__V1__AuditHeads *a)
{
    const char *bad = reader_audit_head(&info->has_audit_own, &info->audit_own,
                                        a ? a->own : NULL);
    if (!bad)
        bad = reader_audit_head(&info->has_audit_seen, &info->audit_seen,
                                a ? a->seen : NULL);
    return bad;
}

/* The header's chain of trust: its form, and the root's self-signature.
 * Whether the chain holds is the importer's question (it knows whom the
 * sender should be). */
static int reader_chain(pg_bundle_info *info, const Pingan__V1__BundleHeader *h,
                        const char **bad)
{
    info->has_root = false;
    info->nchain = 0;
    if (!h->root) {
        if (h->n_chain)
            *bad = "a chain of certificates without its root card";
        return 0;
    }
    if (h->n_chain > PG_CERT_CHAIN_MAX) {
        *bad = "chain of certificates longer than 4";
        return 0;
    }
    if ((*bad = card_from_proto(&info->root, h->root)) != NULL)
        return 0;
    if (pg_card_verify(&info->root) < 0) {
        pg_error_clear();
        *bad = "the root card's self-signature does not verify";
        return 0;
    }
    for (size_t i = 0; i < h->n_chain; i++) {
        const Pingan__V1__Certificate *c = h->chain[i];
        char sign_pk[2 * PG_SIGN_PK_LEN + 1], box_pk[2 * PG_BOX_PK_LEN + 1];
        char sig[2 * PG_SIG_LEN + 1], kid[PG_KEY_ID_LEN + 1];
        if (c->base.n_unknown_fields || c->sign_pk.len != PG_SIGN_PK_LEN ||
            c->box_pk.len != PG_BOX_PK_LEN || c->signature.len != PG_SIG_LEN) {
            *bad = "malformed certificate in the chain";
            return 0;
        }
        pg_hex(sign_pk, c->sign_pk.data, PG_SIGN_PK_LEN);
        pg_hex(box_pk, c->box_pk.data, PG_BOX_PK_LEN);
        pg_hex(sig, c->signature.data, PG_SIG_LEN);
        pg_key_id(kid, c->sign_pk.data);
        pg_cert_row row = {.code = c->code,
                           .name = c->name,
                           .tier = c->tier,
                           .sign_pk = sign_pk,
                           .box_pk = box_pk,
                           .key_id = kid,
                           .suite = c->suite,
                           .issuer = c->issuer,
                           .issuer_key_id = c->issuer_key_id,
                           .valid_from = c->valid_from,
                           .signature = sig};
        if (pg_cert_from_row(&info->chain[i], &row) < 0) {
            pg_error_clear();
            *bad = "malformed certificate in the chain";
            return 0;
        }
    }
    info->nchain = h->n_chain;
    info->has_root = true;
    return 0;
}

/* Decode and check the signed header into r->info. */
static int reader_decode_header(bundle_reader *r, const uint8_t *data,
                                size_t len, uint8_t sealed_key[],
                                uint8_t stream_header[])
{
    Pingan__V1__BundleHeader *h = NULL;
    pg_bundle_info *info = &r->info;
    const char *bad = NULL;
    int error = 0;

    pg_memwatch__begin();
    h = pingan__v1__bundle_header__unpack(pg_memwatch__protobuf(), len, data);
    if (!h && pg_memwatch__failed())
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "decoding a bundle header: out of memory");
    if (!h)
        return reader_header_bad("not a protobuf pingan.v1.BundleHeader");
    /* protobuf-c keeps unknown fields and reads strings up to a NUL:
     * refuse both (a canonical encoding packs back to its own length). */
    if (h->base.n_unknown_fields || (h->ack && h->ack->base.n_unknown_fields) ||
        (h->held && h->held->base.n_unknown_fields) ||
        (h->audit &&
         (h->audit->base.n_unknown_fields ||
          (h->audit->own && h->audit->own->base.n_unknown_fields) ||
          (h->audit->seen && h->audit->seen->base.n_unknown_fields))))
        bad = "unknown fields";
    /* A seq names a txn of an origin's log: one that no signed int64
     * holds is no seq. */
    else if (h->held && h->held->seq > (uint64_t)INT64_MAX - 1)
        bad = "held seq out of range";
    else if (pingan__v1__bundle_header__get_packed_size(h) != len)
        bad = "not in canonical encoding";
    else if (h->format != info->format)
        bad = "format differs from the preamble's";
    else if (strcmp(h->sender_key_id, info->sender_key_id) != 0)
        bad = "sender key id differs from the preamble's";
    else if (!pg_division_valid(h->sender))
        bad = "sender is not a division code";
    else if (!pg_division_valid(h->recipient))
        bad = "recipient is not a division code";
    else if (!is_key_id(h->recipient_key_id))
        bad = "recipient key id is not 16 lower-case hex digits";
    else if (h->schema_hash.len != PG_HASH_LEN)
        bad = "schema hash is not 32 bytes";
    else if (h->frame_max < 1 || h->frame_max > PG_BUNDLE_FRAME_MAX)
        bad = "frame_max is not within 1 .. 1048576";
    else if (h->sealed_key.len != BUNDLE_SEALED_KEY_LEN)
        bad = "sealed key is not 80 bytes";
    else if (h->stream_header.len != PG_STREAM_HEADER_LEN)
        bad = "stream header is not 24 bytes";
    else if (h->cards > PG_BUNDLE_CARDS_MAX)
        bad = "more than 4096 cards";
    else if (!range_valid(h->range_first, h->range_last))
        bad = "range is neither (0, 0) nor 1 <= first <= last";
    else if (h->txns > 0 && (h->range_first == 0 ||
                             h->txns - 1 > h->range_last - h->range_first))
        bad = "more txns than the range has seqs";
    if (bad) {
        error = reader_header_bad(bad);
        goto done;
    }

    memcpy(info->sender, h->sender, PG_CODE_LEN + 1);
    memcpy(info->recipient, h->recipient, PG_CODE_LEN + 1);
    memcpy(info->recipient_key_id, h->recipient_key_id, PG_KEY_ID_LEN + 1);
    info->schema_version = h->schema_version;
    memcpy(info->schema_hash, h->schema_hash.data, PG_HASH_LEN);
    info->created_ms = h->created_ms;
    info->range_first = h->range_first;
    info->range_last = h->range_last;
    info->ack_upto = h->ack ? h->ack->upto : 0;
    info->has_held = h->held != NULL;
    info->held_seq = h->held ? h->held->seq : 0;
    info->txns = h->txns;
    info->cards = h->cards;
    info->frame_max = h->frame_max;
    memcpy(sealed_key, h->sealed_key.data, BUNDLE_SEALED_KEY_LEN);
    memcpy(stream_header, h->stream_header.data, PG_STREAM_HEADER_LEN);
    if ((error = reader_chain(info, h, &bad)) == 0 && bad)
        error = reader_header_bad(bad);
    if (error == 0 && (bad = reader_audit(info, h->audit)) != NULL)
        error = reader_header_bad(bad);

done:
    pingan__v1__bundle_header__free_unpacked(h, NULL);
    return error;
}

/* Preamble, signer, header signature, header (FORMAT.md §6.6, steps 1-4). */
static int reader_head(bundle_reader *r, uint8_t sealed_key[],
                       uint8_t stream_header[])
{
    uint8_t pre[PG_BUNDLE_PREAMBLE];
    uint8_t sig[PG_SIG_LEN];
    uint8_t *head = NULL;
    int error;

    if ((error = reader_read(r, pre, 4, true, PG_N_("the preamble"))) < 0)
        return error;
    if (memcmp(pre, PG_BUNDLE_MAGIC, 4) != 0)
        return reader_bad("not a pingan bundle: no \"PGNB\" at byte offset 0");
    if ((error = reader_read(r, pre + 4, sizeof(pre) - 4, true,
                             PG_N_("the preamble"))) < 0)
        return error;
    if (pre[4] > PG_BUNDLE_FORMAT)
        return pg_error_set(PG_EUPGRADE, PG_ERRCLASS_BUNDLE,
                            "bundle format %u (byte offset 4) is newer than "
                            "this build, which reads format %d: upgrade "
                            "pingan",
                            pre[4], PG_BUNDLE_FORMAT);
    if (pre[4] != PG_BUNDLE_FORMAT)
        return reader_bad("bundle format %u (byte offset 4) is not known to "
                          "this build, which reads format %d",
                          pre[4], PG_BUNDLE_FORMAT);
    if (pre[5] != PG_SUITE_SODIUM)
        return reader_bad("crypto suite %u (byte offset 5) is not known to "
                          "this build",
                          pre[5]);
    r->info.format = pre[4];
    r->info.suite = pre[5];
    pg_hex(r->info.sender_key_id, pre + 6, BUNDLE_KEY_ID_RAW);
    uint32_t hlen = get_u32be(pre + 14);
    if (hlen < 1 || hlen > PG_BUNDLE_HEADER_MAX)
        return reader_bad("header length %u (byte offset 14) is not within "
                          "1 .. %d",
                          hlen, PG_BUNDLE_HEADER_MAX);

    if ((error = r->ops->signer(r->ctx, r->info.sender_key_id, r->sign_pk)) < 0)
        return error;
    r->unverified = error > 0;

    if (!(head = malloc(PG_BUNDLE_PREAMBLE + (size_t)hlen)))
        return bundle_nomem();
    memcpy(head, pre, PG_BUNDLE_PREAMBLE);
    if ((error = reader_read(r, head + PG_BUNDLE_PREAMBLE, hlen, true,
                             PG_N_("the header"))) < 0 ||
        (error = reader_read(r, sig, sizeof(sig), true,
                             PG_N_("the header signature"))) < 0)
        goto done;
    if (!r->unverified &&
        !pg_verify(sig, head, PG_BUNDLE_PREAMBLE + (size_t)hlen, r->sign_pk)) {
        error = pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                             "header signature (byte offset %u) does not "
                             "verify against key %s",
                             PG_BUNDLE_PREAMBLE + hlen, r->info.sender_key_id);
        goto done;
    }
    if ((error = reader_decode_header(r, head + PG_BUNDLE_PREAMBLE, hlen,
                                      sealed_key, stream_header)) < 0)
        goto done;
    r->info.header_bytes = r->off;
    r->info.header_ok = !r->unverified;

done:
    free(head);
    return error;
}

/* A card of a batch, as pg_card, self-signature verified. */
static int reader_card(bundle_reader *r, pg_card *out,
                       const Pingan__V1__Card *c)
{
    const char *bad = card_from_proto(out, c);

    if (bad)
        return reader_bad(
            "card %llu (batch %llu, decompressed offset %llu): %s",
            (unsigned long long)r->cards_seen + 1,
            (unsigned long long)r->batch_no, (unsigned long long)r->batch_off,
            bad);
    int error = pg_card_verify(out);
    if (error < 0) {
        /* Say where the card was: verify's message cannot. */
        pg_error__text why;
        pg_error__text_last(&why);
        return pg_error__wrap(error, PG_ERRCLASS_BUNDLE, &why,
                              "card %llu (batch %llu, decompressed offset "
                              "%llu): %s",
                              (unsigned long long)r->cards_seen + 1,
                              (unsigned long long)r->batch_no,
                              (unsigned long long)r->batch_off, why.en);
    }
    return 0;
}

static int reader_batch_bad(const bundle_reader *r, const char *what)
{
    return reader_bad(
        "batch %llu (decompressed offset %llu, in frame %llu): %s",
        (unsigned long long)r->batch_no, (unsigned long long)r->batch_off,
        (unsigned long long)r->frame_no, what);
}

/* Decode one complete batch and hand its cards and txns over. */
static int reader_batch(bundle_reader *r)
{
    Pingan__V1__TxnBatch *m = NULL;
    const pg_bundle_info *info = &r->info;
    int error = 0;

    pg_memwatch__begin();
    m = pingan__v1__txn_batch__unpack(pg_memwatch__protobuf(), r->batch.len,
                                      r->batch.data);
    if (!m && pg_memwatch__failed())
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "decoding a txn batch: out of memory");
    if (!m)
        return reader_batch_bad(r, "not a protobuf pingan.v1.TxnBatch");
    bool unknown = m->base.n_unknown_fields != 0;
    for (size_t i = 0; i < m->n_entries && !unknown; i++)
        unknown = m->entries[i]->base.n_unknown_fields != 0;
    if (unknown) {
        error = reader_batch_bad(r, "unknown fields");
        goto done;
    }
    if (pingan__v1__txn_batch__get_packed_size(m) != r->batch.len) {
        error = reader_batch_bad(r, "not in canonical encoding");
        goto done;
    }
    if (m->n_cards > info->cards - r->cards_seen) {
        error = reader_batch_bad(r, "more cards than the header announces");
        goto done;
    }
    if (m->n_entries > info->txns - r->txns_seen) {
        error = reader_batch_bad(r, "more txns than the header announces");
        goto done;
    }
    for (size_t i = 0; i < m->n_cards; i++) {
        pg_card card;
        if ((error = reader_card(r, &card, m->cards[i])) < 0)
            goto done;
        r->cards_seen++;
        if (r->ops->card && (error = r->ops->card(r->ctx, &card)) < 0)
            goto done;
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        const Pingan__V1__TxnEntry *e = m->entries[i];
        if (e->seq < info->range_first || e->seq > info->range_last ||
            (r->txns_seen > 0 && e->seq <= r->last_seq)) {
            error = reader_bad("batch %llu (decompressed offset %llu): txn seq "
                               "%llu is not ascending within the range "
                               "%llu .. %llu",
                               (unsigned long long)r->batch_no,
                               (unsigned long long)r->batch_off,
                               (unsigned long long)e->seq,
                               (unsigned long long)info->range_first,
                               (unsigned long long)info->range_last);
            goto done;
        }
        if (e->txn.len == 0) {
            error = reader_batch_bad(r, "an empty txn");
            goto done;
        }
        r->txns_seen++;
        r->last_seq = e->seq;
        if (r->ops->txn &&
            (error = r->ops->txn(r->ctx, e->seq, e->txn.data, e->txn.len)) < 0)
            goto done;
    }

done:
    pingan__v1__txn_batch__free_unpacked(m, NULL);
    return error;
}

/* Split decompressed bytes into u32 length ‖ TxnBatch. */
static int reader_batches(bundle_reader *r, const uint8_t *p, size_t n)
{
    int error;

    while (n > 0) {
        size_t take;
        if (!r->in_body) {
            if (r->lenhave == 0)
                r->batch_off = r->plain_off;
            take = sizeof(r->lenbuf) - r->lenhave;
            if (take > n)
                take = n;
            memcpy(r->lenbuf + r->lenhave, p, take);
            r->lenhave += take;
            if (r->lenhave == sizeof(r->lenbuf)) {
                uint32_t len = get_u32be(r->lenbuf);
                r->batch_no++;
                r->lenhave = 0;
                if (len == 0)
                    return reader_batch_bad(r, "empty (length 0)");
                if (len > PG_BUNDLE_BATCH_MAX)
                    return reader_bad("batch %llu (decompressed offset %llu) "
                                      "claims %u bytes, more than the limit "
                                      "of %d",
                                      (unsigned long long)r->batch_no,
                                      (unsigned long long)r->batch_off, len,
                                      PG_BUNDLE_BATCH_MAX);
                pg_buf_clear(&r->batch);
                if ((error = pg_buf_reserve(&r->batch, len)) < 0)
                    return error;
                r->batch_len = len;
                r->in_body = true;
            }
        } else {
            take = r->batch_len - r->batch.len;
            if (take > n)
                take = n;
            memcpy(r->batch.data + r->batch.len, p, take);
            r->batch.len += take;
            if (r->batch.len == r->batch_len) {
                r->in_body = false;
                if ((error = reader_batch(r)) < 0)
                    return error;
            }
        }
        p += take;
        n -= take;
        r->plain_off += take;
    }
    return 0;
}

/* Decompress one frame's plaintext; `n` may be 0 to drain zstd. */
static int reader_inflate(bundle_reader *r, const uint8_t *p, size_t n)
{
    ZSTD_inBuffer in = {p, n, 0};
    int error;

    if (n > 0)
        r->z_started = true;
    while (in.pos < in.size || r->z_more) {
        if (r->z_done)
            return reader_bad("frame %llu (byte offset %llu): bytes after the "
                              "end of the zstd frame",
                              (unsigned long long)r->frame_no,
                              (unsigned long long)r->frame_off);
        ZSTD_outBuffer out = {r->zout, r->zout_cap, 0};
        size_t before = in.pos;
        size_t rc = ZSTD_decompressStream(r->zd, &out, &in);
        if (ZSTD_isError(rc))
            return reader_bad("frame %llu (byte offset %llu): the compressed "
                              "stream is malformed: %s",
                              (unsigned long long)r->frame_no,
                              (unsigned long long)r->frame_off,
                              ZSTD_getErrorName(rc));
        r->z_in += in.pos - before;
        r->info.plain_bytes += out.pos;
        r->z_more = out.pos == out.size;
        uint64_t limit = r->z_in > UINT64_MAX / PG_BUNDLE_EXPAND_RATIO
                             ? UINT64_MAX
                             : r->z_in * PG_BUNDLE_EXPAND_RATIO;
        if (limit < PG_BUNDLE_EXPAND_FLOOR)
            limit = PG_BUNDLE_EXPAND_FLOOR;
        if (r->info.plain_bytes > limit)
            return reader_bad("frame %llu (byte offset %llu): the compressed "
                              "stream expands far beyond the limit (%llu "
                              "bytes from %llu; at most the larger of %llu "
                              "and %d times)",
                              (unsigned long long)r->frame_no,
                              (unsigned long long)r->frame_off,
                              (unsigned long long)r->info.plain_bytes,
                              (unsigned long long)r->z_in,
                              (unsigned long long)PG_BUNDLE_EXPAND_FLOOR,
                              PG_BUNDLE_EXPAND_RATIO);
        if ((error = reader_batches(r, r->zout, out.pos)) < 0)
            return error;
        if (rc == 0)
            r->z_done = true;
        else if (in.pos == before && out.pos == 0 && in.pos < in.size)
            return reader_bad("frame %llu (byte offset %llu): zstd makes no "
                              "progress",
                              (unsigned long long)r->frame_no,
                              (unsigned long long)r->frame_off);
    }
    return 0;
}

/* Frames through the end mark (FORMAT.md §6.6, steps 7-10). */
static int reader_frames(bundle_reader *r, bool opened)
{
    const size_t cmax = (size_t)r->info.frame_max + PG_STREAM_ABYTES;
    bool final = false;
    bool short_seen = false;
    uint8_t lenb[4];
    int error;

    for (;;) {
        r->frame_off = r->off;
        if ((error = reader_read(r, lenb, sizeof(lenb), true,
                                 PG_N_("a frame length"))) < 0)
            return error;
        uint32_t len = get_u32be(lenb);
        if (len == 0)
            break;
        r->frame_no++;
        unsigned long long no = r->frame_no;
        unsigned long long at = r->frame_off;
        if (final)
            return reader_bad("frame %llu at byte offset %llu follows the "
                              "final frame",
                              no, at);
        if (short_seen)
            return reader_bad("frame %llu at byte offset %llu follows a "
                              "frame shorter than frame_max: only the last "
                              "frame may be short",
                              no, at);
        if (len > cmax)
            return reader_bad("frame %llu at byte offset %llu claims %u "
                              "bytes, more than the %zu allowed (frame_max "
                              "%u + %d)",
                              no, at, len, cmax, r->info.frame_max,
                              PG_STREAM_ABYTES);
        if (len < PG_STREAM_ABYTES)
            return reader_bad("frame %llu at byte offset %llu has %u bytes, "
                              "fewer than its %d-byte tag",
                              no, at, len, PG_STREAM_ABYTES);
        if (len == PG_STREAM_ABYTES && r->frame_no > 1)
            return reader_bad("frame %llu at byte offset %llu is empty: only "
                              "the one frame of an empty bundle may be",
                              no, at);
        if ((error = reader_read(r, r->cipher, len, true, PG_N_("a frame"))) <
            0)
            return error;
        r->info.frames++;
        short_seen = len < cmax;
        if (!opened)
            continue;

        uint8_t tag = 0;
        size_t plen = len - PG_STREAM_ABYTES;
        if (!pg_stream_pull(&r->stream, r->plain, &tag, r->cipher, len))
            return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                                "frame %llu at byte offset %llu does not "
                                "authenticate",
                                no, at);
        if (tag == PG_STREAM_TAG_FINAL)
            final = true;
        else if (tag != PG_STREAM_TAG_MESSAGE)
            return reader_bad("frame %llu at byte offset %llu has the "
                              "unexpected secretstream tag %u",
                              no, at, tag);
        if ((error = reader_inflate(r, r->plain, plen)) < 0)
            return error;
    }

    unsigned long long at = r->frame_off;
    if (r->frame_no == 0)
        return reader_bad("end mark at byte offset %llu before any frame", at);
    if (!opened)
        return 0;
    if (!final)
        return reader_bad("end mark at byte offset %llu before the final "
                          "frame: frames are missing",
                          at);
    if ((error = reader_inflate(r, NULL, 0)) < 0)
        return error;
    if (r->z_started && !r->z_done)
        return reader_bad("the zstd frame is cut short at the end of the "
                          "frames (end mark at byte offset %llu)",
                          at);
    if (r->in_body || r->lenhave > 0)
        return reader_bad("the decompressed content ends inside batch %llu "
                          "(decompressed offset %llu)",
                          (unsigned long long)r->batch_no +
                              (r->in_body ? 0 : 1),
                          (unsigned long long)r->batch_off);
    if (r->cards_seen != r->info.cards || r->txns_seen != r->info.txns)
        return reader_bad("the header announces %llu cards and %llu txns, "
                          "the frames hold %llu and %llu",
                          (unsigned long long)r->info.cards,
                          (unsigned long long)r->info.txns,
                          (unsigned long long)r->cards_seen,
                          (unsigned long long)r->txns_seen);
    return 0;
}

/* Trailer signature, then nothing (FORMAT.md §6.6, steps 11-12). */
static int reader_trailer(bundle_reader *r)
{
    uint8_t digest[64];
    uint8_t sig[PG_SIG_LEN];
    uint64_t at = r->off;
    int error;

    pg_hash_final(&r->hash, digest);
    if ((error = reader_read(r, sig, sizeof(sig), false,
                             PG_N_("the trailer signature"))) < 0)
        return error;
    if (!r->unverified && !pg_verify(sig, digest, sizeof(digest), r->sign_pk))
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                            "trailer signature (byte offset %llu) does not "
                            "verify against key %s",
                            (unsigned long long)at, r->info.sender_key_id);
    if (fgetc(r->in) != EOF)
        return reader_bad("bytes after the trailer, from byte offset %llu",
                          (unsigned long long)r->off);
    if (ferror(r->in))
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot read the bundle at byte offset %llu: %s",
                            (unsigned long long)r->off, pg_error__oserr(errno));
    return 0;
}

int pg_bundle_read(FILE *in, const uint8_t *box_sk, const pg_bundle_ops *ops,
                   void *ctx, pg_bundle_info *info)
{
    bundle_reader *r = NULL;
    uint8_t sealed_key[BUNDLE_SEALED_KEY_LEN];
    uint8_t stream_header[PG_STREAM_HEADER_LEN];
    uint8_t key[PG_STREAM_KEY_LEN];
    int error;

    PG_ASSERT_ARG(in && ops && ops->signer);
    if (info)
        memset(info, 0, sizeof(*info));
    if (!(r = calloc(1, sizeof(*r)))) {
        error = bundle_nomem();
        goto done;
    }
    r->in = in;
    r->ops = ops;
    r->ctx = ctx;
    pg_buf_init(&r->batch, PG_BUNDLE_BATCH_MAX);
    bundle_hash_init(&r->hash);

    if ((error = reader_head(r, sealed_key, stream_header)) < 0)
        goto done;
    if (ops->header && (error = ops->header(ctx, &r->info)) < 0)
        goto done;
    /* The caller may read on without opening the frames (inspection of
     * a bundle addressed to someone else). */
    if (error > 0)
        box_sk = NULL;
    error = 0;

    /* Every buffer is sized by the signed, checked header. */
    if (!(r->cipher = malloc((size_t)r->info.frame_max + PG_STREAM_ABYTES))) {
        error = bundle_nomem();
        goto done;
    }
    /* Content signed by nobody known is never decrypted. */
    if (r->unverified)
        box_sk = NULL;
    if (box_sk) {
        if (!pg_box_seal_open(key, sealed_key, sizeof(sealed_key), box_sk)) {
            error = pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                                 "the bundle is not addressed to this node's "
                                 "key: its stream key is sealed to another "
                                 "(recipient %s, key id %s)",
                                 r->info.recipient, r->info.recipient_key_id);
            goto done;
        }
        bool ok = pg_stream_init_pull(&r->stream, stream_header, key);
        pg_memzero(key, sizeof(key));
        if (!ok) {
            error = reader_header_bad("unusable stream header");
            goto done;
        }
        r->zout_cap = ZSTD_DStreamOutSize();
        r->plain = malloc(r->info.frame_max);
        r->zout = malloc(r->zout_cap);
        r->zd = ZSTD_createDCtx();
        if (!r->plain || !r->zout || !r->zd) {
            error = bundle_nomem();
            goto done;
        }
        size_t rc = ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax,
                                           PG_BUNDLE_WINDOW_LOG_MAX);
        if (ZSTD_isError(rc)) {
            error = pg_error_set(PG_ERROR, PG_ERRCLASS_BUNDLE, "zstd: %s",
                                 ZSTD_getErrorName(rc));
            goto done;
        }
        r->info.opened = true;
    }
    if ((error = reader_frames(r, box_sk != NULL)) < 0 ||
        (error = reader_trailer(r)) < 0)
        goto done;
    r->info.trailer_ok = !r->unverified;

done:
    if (r) {
        r->info.bytes = r->off;
        if (info)
            *info = r->info;
        ZSTD_freeDCtx(r->zd);
        free(r->cipher);
        free(r->plain);
        free(r->zout);
        pg_buf_dispose(&r->batch);
        pg_memzero(&r->stream, sizeof(r->stream));
        free(r);
    }
    pg_memzero(key, sizeof(key));
    return error;
}
