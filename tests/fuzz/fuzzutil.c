/* Shared helpers of the fuzz targets: see fuzz.h. */
#include "fuzz.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle.pb-c.h"
#include "pingan/division.h"
#include "pingan/error.h"
#include "pingan/recovery.h"
#include "node_internal.h"

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

void fuzz_remove_flat(const char *dir)
{
    char p[4600];
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        fuzz_die("opendir");
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            if (unlink(p) != 0)
                fuzz_die("unlink");
        }
    closedir(d);
    if (rmdir(dir) != 0)
        fuzz_die("rmdir");
}

void fuzz_backup_seal(pg_buf *out, const uint8_t *parts, size_t len)
{
    static uint8_t key[PG_STREAM_KEY_LEN];
    static bool have_key;
    uint8_t salt[PG_PWHASH_SALT_LEN];
    uint8_t header[FUZZ_BACKUP_HEADER_LEN] = {'P', 'G', 'B', 'K', 1, 1, 1, 0};
    pg_stream_state st;
    uint8_t lenb[4];

    for (size_t i = 0; i < sizeof(salt); i++)
        salt[i] = (uint8_t)(0xa0 + i);
    if (!have_key) {
        if (pg_crypto_init() < 0 ||
            pg_pwhash(key, sizeof(key), FUZZ_BACKUP_PASS,
                      strlen(FUZZ_BACKUP_PASS), salt, FUZZ_BACKUP_OPS,
                      FUZZ_BACKUP_MEM_KIB) < 0)
            fuzz_die("pwhash");
        have_key = true;
    }
    put_u32be(header + 8, FUZZ_BACKUP_OPS);
    put_u32be(header + 12, FUZZ_BACKUP_MEM_KIB);
    memcpy(header + 16, salt, sizeof(salt));
    pg_stream_init_push(&st, header + 32, key);
    uint8_t *cipher = malloc(len + FUZZ_BACKUP_HEADER_LEN + PG_STREAM_ABYTES);
    if (!cipher || pg_buf_put(out, header, sizeof(header)) < 0)
        fuzz_die("out of memory");
    pg_stream_push(&st, cipher, header, sizeof(header), PG_STREAM_TAG_MESSAGE);
    put_u32be(lenb, FUZZ_BACKUP_HEADER_LEN + PG_STREAM_ABYTES);
    if (pg_buf_put(out, lenb, 4) < 0 ||
        pg_buf_put(out, cipher, FUZZ_BACKUP_HEADER_LEN + PG_STREAM_ABYTES) < 0)
        fuzz_die("out of memory");
    size_t off = 0;
    while (off < len) {
        uint8_t kind = parts[off++];
        size_t n = len - off;
        if (n >= 4) {
            uint32_t want = (uint32_t)parts[off] << 24 |
                            (uint32_t)parts[off + 1] << 16 |
                            (uint32_t)parts[off + 2] << 8 | parts[off + 3];
            off += 4;
            n = len - off < want ? len - off : want;
        } else {
            off = len;
            n = 0;
        }
        if (kind & 2) {
            if (pg_buf_put(out, parts + off, n) < 0)
                fuzz_die("out of memory");
        } else {
            pg_stream_push(&st, cipher, parts + off, n,
                           kind & 1 ? PG_STREAM_TAG_FINAL
                                    : PG_STREAM_TAG_MESSAGE);
            put_u32be(lenb, (uint32_t)(n + PG_STREAM_ABYTES));
            if (pg_buf_put(out, lenb, 4) < 0 ||
                pg_buf_put(out, cipher, n + PG_STREAM_ABYTES) < 0)
                fuzz_die("out of memory");
        }
        off += n;
    }
    free(cipher);
    pg_memzero(&st, sizeof(st));
}

void fuzz_restore(const uint8_t *data, size_t size)
{
    static char dir[4200], input[4300], target[4300];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "%s/backup", fuzz_tmpdir());
        if (mkdir(dir, 0700) != 0)
            fuzz_die("mkdir");
        snprintf(input, sizeof(input), "%s/in.pgbk", dir);
        snprintf(target, sizeof(target), "%s/node", dir);
    }
    FILE *f = fopen(input, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        fuzz_die("write the input");
    pg_recovery_result res;
    int rc = pg_recovery_restore(input, target, FUZZ_BACKUP_PASS,
                                 strlen(FUZZ_BACKUP_PASS), NULL, &res);
    fuzz_note("restore", rc);
    if (rc < 0)
        fuzz_check_message("restore");
    pg_error_clear();
    if (rc == 0) {
        pg_node *node = NULL;
        pg_recovery_hold hold;
        if (pg_node_open(&node, target) < 0)
            fuzz_die("a restored node does not open");
        if (pg_recovery_hold_get(&hold, node) < 0 || !hold.held)
            fuzz_die("a restored node is not on hold");
        if (strcmp(node->card.code, res.code) != 0)
            fuzz_die("restore reports another node than it wrote");
        pg_node_free(node);
        fuzz_remove_flat(target);
    }
    /* Whatever happened, only the input may be left. */
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        fuzz_die("opendir");
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, "in.pgbk")) {
            fprintf(stderr, "fuzz harness: left behind: %s\n", e->d_name);
            fuzz_die("a restore left files behind");
        }
    closedir(d);
    unlink(input);
}

void fuzz_check_message(const char *what)
{
    const pg_error *e = pg_error_last();
    for (const char *c = e->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            fprintf(stderr,
                    "fuzz harness: %s: message has a control "
                    "character: %s\n",
                    what, e->message);
            fuzz_die("an error message is not one line");
        }
}
