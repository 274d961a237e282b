/*
 * fuzz_rekey: a rekey card (proto/FORMAT.md §10.4) as `pingan peer
 * rekey` reads it: pg_recovery_card_parse (JSON, the new card and its
 * self-signature), pg_recovery_card_verify against the fixed 湘潭县 key
 * (fuzz.h), then pg_recovery_certify at a node (湘潭市) made once in a
 * temporary directory with 湘潭县 pinned as its child: the checks against
 * the pinned key, the revocation after last_seq, the new pin and its
 * certificate.
 *
 * When the input starts with '!', the harness parses the rest, signs its
 * statement itself with the fixed 湘潭县 key and feeds the card printed
 * again with that signature, so that mutations of the new card, the old
 * key id and last_seq also reach what certify does behind the signature
 * (the revocation, a key pinned already, another peer).
 *
 * Every error message must stay one line whatever the card holds.
 *
 * Certify writes in transactions of its own (no savepoint can hold it),
 * so the harness keeps a copy of the store as made and puts it back after
 * a run that certified: every run starts from the same node.  Checked:
 * nothing is certified that does not verify under the pinned key.
 */
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node_internal.h"
#include "pingan/error.h"
#include "pingan/peer.h"
#include "pingan/recovery.h"

static pg_node *node;
static char dir[4200], store[4300], pristine[4300];

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char chunk[65536];
    size_t n;
    if (!in || !out)
        fuzz_die("copy the store");
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
        if (fwrite(chunk, 1, n, out) != n)
            fuzz_die("copy the store");
    if (ferror(in) || fclose(out) != 0)
        fuzz_die("copy the store");
    fclose(in);
}

static void reopen(const char *from)
{
    char side[4400];
    pg_node_free(node);
    node = NULL;
    if (from) {
        for (int i = 0; i < 2; i++) {
            snprintf(side, sizeof(side), "%s%s", store, i ? "-shm" : "-wal");
            unlink(side);
        }
        copy_file(from, store);
    }
    if (pg_node_open(&node, dir) < 0)
        fuzz_die("open the node");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/city", fuzz_tmpdir());
    snprintf(store, sizeof(store), "%s/" PG_STORE_FILE, dir);
    snprintf(pristine, sizeof(pristine), "%s/pristine.db", fuzz_tmpdir());
    if (pg_node_init(dir, FUZZ_RECIPIENT, "湘潭市") < 0 ||
        pg_node_open(&node, dir) < 0)
        fuzz_die("node");
    char *card = pg_card_to_json(&fuzz_sender()->card);
    if (!card ||
        pg_peer_add(node, card, strlen(card), PG_PEER_CHILD, NULL, NULL) < 0)
        fuzz_die("pin the child");
    free(card);
    pg_node_free(node);
    node = NULL;
    copy_file(store, pristine);
    reopen(NULL);
    return 0;
}

static void put_str(pg_buf *b, const char *s)
{
    if (pg_buf_put_u32be(b, (uint32_t)strlen(s)) < 0 || pg_buf_puts(b, s) < 0)
        fuzz_die("out of memory");
}

/* The card of `data` signed by the fixed old key (FORMAT.md §10.4), as
 * JSON; NULL if it does not parse. */
static char *resign(const uint8_t *data, size_t size)
{
    pg_rekey_card rc;
    pg_buf st = PG_BUF_INIT;
    uint8_t sig[PG_SIG_LEN];
    char hex[2 * PG_SIG_LEN + 1];

    if (pg_recovery_card_parse(&rc, (const char *)data, size) < 0)
        return NULL;
    put_str(&st, "pingan.rekey.v1");
    put_str(&st, rc.card.code);
    put_str(&st, rc.old_key_id);
    put_str(&st, rc.card.key_id);
    if (pg_buf_put(&st, rc.card.sign_pk, PG_SIGN_PK_LEN) < 0 ||
        pg_buf_put(&st, rc.card.box_pk, PG_BOX_PK_LEN) < 0 ||
        pg_buf_put_u64be(&st, (uint64_t)rc.last_seq) < 0)
        fuzz_die("out of memory");
    pg_sign(sig, st.data, st.len, fuzz_sender()->sign_sk);
    pg_buf_dispose(&st);
    pg_hex(hex, sig, sizeof(sig));
    char *card = pg_card_to_json(&rc.card);
    if (!card)
        fuzz_die("out of memory");
    size_t n = strlen(card) + 256;
    char *text = malloc(n);
    if (!text)
        fuzz_die("out of memory");
    snprintf(text, n,
             "{\"rekey\": 1, \"card\": %s, \"old_key_id\": \"%s\", "
             "\"last_seq\": %" PRId64 ", \"signature\": \"%s\"}",
             card, rc.old_key_id, rc.last_seq, hex);
    free(card);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fuzz_identity *old = fuzz_sender();
    pg_rekey_card rc;
    pg_recovery_certified out;
    char *signed_text = NULL;

    if (size > 0 && data[0] == '!') {
        signed_text = resign(data + 1, size - 1);
        pg_error_clear();
        if (!signed_text)
            return 0;
        data = (const uint8_t *)signed_text;
        size = strlen(signed_text);
    }
    int parsed = pg_recovery_card_parse(&rc, (const char *)data, size);
    fuzz_note("parse", parsed);
    if (parsed < 0)
        fuzz_check_message("parse");
    int verified =
        parsed < 0 ? parsed : pg_recovery_card_verify(&rc, old->card.sign_pk);
    if (parsed == 0) {
        fuzz_note("verify", verified);
        if (verified < 0)
            fuzz_check_message("verify");
    }
    pg_error_clear();

    int rc_cert =
        pg_recovery_certify(node, (const char *)data, size, "fuzz", &out);
    fuzz_note("certify", rc_cert);
    if (rc_cert < 0)
        fuzz_check_message("certify");
    pg_error_clear();
    if (rc_cert == 0) {
        if (parsed < 0 || verified < 0)
            fuzz_die("a rekey card certified that does not verify");
        if (strcmp(rc.old_key_id, old->card.key_id) != 0 ||
            strcmp(out.old_key_id, old->card.key_id) != 0 ||
            strcmp(out.code, FUZZ_SENDER) != 0 || !out.revoked ||
            out.last_seq != rc.last_seq ||
            strcmp(out.new_key_id, rc.card.key_id) != 0)
            fuzz_die("certify reports another card than it was given");
        if (strcmp(out.new_key_id, old->card.key_id) == 0)
            fuzz_die("a key certified as its own successor");
        reopen(pristine);
    }
    free(signed_text);
    return 0;
}
