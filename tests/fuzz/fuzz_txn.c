/*
 * fuzz_txn: a pingan.v1.Txn as stored in the log and carried in bundles
 * (pg_txn_decode), then what every receiver does with a decoded txn: its
 * origin signature (pg_txn_verify), its redaction notes and hop
 * signatures (pg_txn_verify_notes).  A txn that decodes must encode back
 * to exactly its bytes (decoding accepts only the canonical encoding).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "pingan/error.h"
#include "pingan/txn.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_txn *txn = NULL;
    pg_buf again;

    if (pg_txn_decode(&txn, data, size) < 0) {
        pg_error_clear();
        return 0;
    }
    pg_buf_init(&again, PG_BUF_DEFAULT_MAX);
    if (pg_txn_encode(&again, txn) < 0)
        fuzz_die("a decoded txn does not encode");
    if (again.len != size || memcmp(again.data, data, size) != 0)
        fuzz_die("a decoded txn encodes to other bytes");
    pg_buf_dispose(&again);
    int rc = pg_txn_verify(txn, fuzz_sender()->card.sign_pk);
    fuzz_note("verify", rc);
    if (rc == 0 || pg_txn_digest(txn) == 0)
        fuzz_note("notes", pg_txn_verify_notes(txn, hop_key, NULL));
    pg_txn_free(txn);
    pg_error_clear();
    return 0;
}
