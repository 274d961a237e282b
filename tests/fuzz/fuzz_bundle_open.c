/*
 * fuzz_bundle_open: the layers behind a bundle's signatures and
 * encryption.  A mutated bundle never gets past its signature, so this
 * harness seals and signs each input itself with fixed keys
 * (fuzz_bundle_seal) and has pg_bundle_read open it as the recipient:
 * the secretstream frames, the zstd stream and its limits, the
 * u32 length ‖ TxnBatch framing, the batches, their cards and txns.
 *
 * Input: u8 flags ‖ u8 cards ‖ u8 txns ‖ u8 frame_max ‖ content
 *   flags bit 0: content is the decompressed plaintext (the harness
 *                compresses it); otherwise it is the zstd stream itself
 *   flags bits 1-3: extra seqs in the header's range beyond txns
 *   frame_max 0: 64 KiB; otherwise 1 .. 255 bytes (many small frames)
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bundle.h"
#include "pingan/error.h"
#include "pingan/txn.h"

static int signer(void *ctx, const char *key_id, uint8_t pk[PG_SIGN_PK_LEN])
{
    (void)ctx;
    if (strcmp(key_id, fuzz_sender()->card.key_id) != 0)
        fuzz_die("the harness's own bundle names another key");
    memcpy(pk, fuzz_sender()->card.sign_pk, PG_SIGN_PK_LEN);
    return 0;
}

static int hop_key(void *ctx, const char *hop, const char *key_id,
                   uint8_t pk[PG_SIGN_PK_LEN])
{
    (void)ctx;
    (void)hop;
    const fuzz_identity *ids[] = {fuzz_sender(), fuzz_recipient()};
    for (size_t i = 0; i < 2; i++)
        if (strcmp(key_id, ids[i]->card.key_id) == 0) {
            memcpy(pk, ids[i]->card.sign_pk, PG_SIGN_PK_LEN);
            return 0;
        }
    return PG_ENOTFOUND;
}

static int on_card(void *ctx, const pg_card *card)
{
    (void)ctx;
    if (card->suite != PG_SUITE_SODIUM || strlen(card->key_id) != 16)
        fuzz_die("a card handed over unverified");
    return 0;
}

static int on_txn(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    pg_txn *txn = NULL;
    (void)ctx;
    (void)seq;
    if (len == 0)
        fuzz_die("an empty txn handed over");
    int rc = pg_txn_decode(&txn, data, len);
    if (rc == 0)
        rc = pg_txn_verify(txn, fuzz_sender()->card.sign_pk);
    if (rc == 0)
        rc = pg_txn_verify_notes(txn, hop_key, NULL);
    fuzz_note("txn", rc);
    pg_txn_free(txn);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pg_buf bundle;
    static int ready;
    uint8_t *packed = NULL;

    if (!ready++)
        pg_buf_init(&bundle, PG_BUF_DEFAULT_MAX);
    if (size < 4)
        return 0;
    uint8_t flags = data[0];
    fuzz_bundle_spec spec = {.cards = data[1],
                             .txns = data[2],
                             .frame_max = data[3] ? data[3] : 64 * 1024};
    if (spec.txns) {
        spec.range_first = 1;
        spec.range_last = spec.txns + ((flags >> 1) & 7);
    }
    const uint8_t *content = data + 4;
    size_t len = size - 4;
    if (flags & 1) {
        size_t cap = ZSTD_compressBound(len);
        if (!(packed = malloc(cap)))
            fuzz_die("out of memory");
        size_t n = ZSTD_compress(packed, cap, content, len, 1);
        if (ZSTD_isError(n))
            fuzz_die("zstd");
        content = packed;
        len = n;
    }
    fuzz_bundle_seal(&bundle, &spec, content, len);
    free(packed);

    pg_bundle_ops ops = {.signer = signer, .card = on_card, .txn = on_txn};
    pg_bundle_info info;
    FILE *in = fmemopen(bundle.data, bundle.len, "rb");
    if (!in)
        fuzz_die("fmemopen");
    int rc = pg_bundle_read(in, fuzz_recipient()->box_sk, &ops, NULL, &info);
    fclose(in);
    fuzz_note("bundle", rc);
    if (!info.header_ok)
        fuzz_die("the harness's header does not verify");
    if (rc == 0 && (!info.opened || !info.trailer_ok ||
                    info.cards != spec.cards || info.txns != spec.txns))
        fuzz_die("a bundle accepted that does not hold what it announces");
    pg_error_clear();
    return 0;
}
