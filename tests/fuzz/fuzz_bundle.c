/*
 * fuzz_bundle: a whole bundle file as pg_bundle_read sees it (preamble,
 * header and its chain of trust, frames, trailer).
 *
 * Each input is read twice: once as an inspection (the signer is
 * unknown: no signature is checked, so mutations reach the header
 * decoder, the chain and the framing), and once as its recipient with
 * the fixed sender's key (the seeds, signed by that key, are opened,
 * decompressed and decoded to the last txn).
 */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "pingan/error.h"
#include "pingan/txn.h"

static int signer_inspect(void *ctx, const char *key_id,
                          uint8_t pk[PG_SIGN_PK_LEN])
{
    (void)ctx;
    (void)key_id;
    memset(pk, 0, PG_SIGN_PK_LEN);
    return 1;
}

static int signer_known(void *ctx, const char *key_id,
                        uint8_t pk[PG_SIGN_PK_LEN])
{
    const fuzz_identity *s = ctx;
    if (strcmp(key_id, s->card.key_id) != 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE, "unknown key");
    memcpy(pk, s->card.sign_pk, PG_SIGN_PK_LEN);
    return 0;
}

static int on_txn(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    pg_txn *txn = NULL;
    (void)ctx;
    (void)seq;
    int rc = pg_txn_decode(&txn, data, len);
    if (rc == 0)
        rc = pg_txn_verify(txn, fuzz_sender()->card.sign_pk);
    fuzz_note("txn", rc);
    pg_txn_free(txn);
    return 0;
}

static void read_once(const uint8_t *data, size_t size, bool as_recipient)
{
    pg_bundle_ops ops = {.signer = as_recipient ? signer_known : signer_inspect,
                         .txn = on_txn};
    pg_bundle_info info;
    FILE *in = fmemopen((void *)data, size, "rb");
    if (!in)
        fuzz_die("fmemopen");
    int rc = pg_bundle_read(in, as_recipient ? fuzz_recipient()->box_sk : NULL,
                            &ops, (void *)fuzz_sender(), &info);
    fclose(in);
    fuzz_note(as_recipient ? "read as the recipient" : "inspect", rc);
    /* What the reader promises: 0 only with both signatures verified
     * (when checked) and every byte read. */
    if (rc == 0 && as_recipient && (!info.header_ok || !info.trailer_ok))
        fuzz_die("a bundle accepted without its signatures");
    if (rc == 0 && info.bytes != size)
        fuzz_die("a bundle accepted without reading all of it");
    /* FORMAT.md §6.2: an audit head present has seq 1 .. 2^63 - 1. */
    if (rc == 0 && ((info.has_audit_own && info.audit_own.seq < 1) ||
                    (info.has_audit_seen && info.audit_seen.seq < 1)))
        fuzz_die("a bundle accepted with an audit head of seq < 1");
    pg_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0; /* fmemopen refuses an empty buffer */
    read_once(data, size, false);
    read_once(data, size, true);
    return 0;
}
