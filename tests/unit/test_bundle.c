/*
 * Bundles (sync/bundle.c, proto/FORMAT.md §6): round trips through
 * 64-byte frames, so that every boundary of frames, batches and the zstd
 * stream is crossed; any flipped byte at or around every frame boundary
 * and at random places is refused, and so is truncation at those places;
 * an unknown signer, a header signed by another key, the wrong recipient
 * key, a frame claiming 4 GiB, a decompression bomb, trailing bytes and a
 * refusing header callback all make the read fail, each with a message
 * that says what was wrong.  Hand-made bundles (signed and encrypted
 * correctly here, with the crypto wrappers, protobuf-c and zstd directly)
 * check what only a dishonest or broken writer could produce: malformed
 * headers, batches, cards, seqs, counts, tags and zstd streams.
 */
#include "testutil.h"

#include "bundle.h"
#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bundle.pb-c.h"

#define SENDER      "430302000000"
#define RECIPIENT   "430302001000"
#define NCARDS      3
#define NTXNS       30
#define NREAL       3 /* the first NREAL txns are real, signed txns */
#define SMALL_FRAME 64
#define CREATED_MS  INT64_C(1764201600000)
#define ACK_UPTO    42

/* ---- fixture ------------------------------------------------------- */

static struct {
    uint8_t a_pk[PG_SIGN_PK_LEN]; /* the sender */
    uint8_t a_sk[PG_SIGN_SK_LEN];
    char a_id[PG_KEY_ID_LEN + 1];
    uint8_t x_pk[PG_SIGN_PK_LEN]; /* a stranger */
    uint8_t x_sk[PG_SIGN_SK_LEN];
    char x_id[PG_KEY_ID_LEN + 1];
    uint8_t b_box_pk[PG_BOX_PK_LEN]; /* the recipient */
    uint8_t b_box_sk[PG_BOX_SK_LEN];
    uint8_t c_box_pk[PG_BOX_PK_LEN]; /* another node */
    uint8_t c_box_sk[PG_BOX_SK_LEN];
    pg_card cards[NCARDS];
    uint8_t *txn[NTXNS];
    size_t txn_len[NTXNS];
    uint64_t seq[NTXNS];
    /* The main bundle: every card and txn, 64-byte frames. */
    uint8_t *bundle;
    size_t len;
    pg_bundle_info winfo;
} F;

static uint64_t rng_state;

static void make_card(pg_card *card, const char *code, const char *name)
{
    uint8_t sk[PG_SIGN_SK_LEN], box_sk[PG_BOX_SK_LEN];

    memset(card, 0, sizeof(*card));
    card->suite = PG_SUITE_SODIUM;
    snprintf(card->code, sizeof(card->code), "%s", code);
    snprintf(card->name, sizeof(card->name), "%s", name);
    card->tier = pg_division_tier(code);
    pg_sign_keypair(card->sign_pk, sk);
    pg_box_keypair(card->box_pk, box_sk);
    pg_key_id(card->key_id, card->sign_pk);
    card->created_ms = CREATED_MS;
    pg_card_sign(card, sk);
    pg_memzero(sk, sizeof(sk));
}

/* A real txn of the sender, signed: what a bundle carries in practice. */
static void make_real_txn(size_t i)
{
    static const char *const ids[] = {
        RECIPIENT "-01HZX3Q9V7K2M4N6P8R0S1T2W3",
        RECIPIENT "-01HZX3Q9V7K2M4N6P8R0S1T2W4",
        RECIPIENT "-01HZX3Q9V7K2M4N6P8R0S1T2W5",
    };
    pg_txn *txn = NULL;
    pg_buf buf = PG_BUF_INIT;
    pg_version base = {0, ""};
    char text[64];

    assert_pg_ok(pg_txn_new(&txn));
    assert_pg_ok(pg_txn_set_header(txn, SENDER, F.a_id, i + 1,
                                   ((uint64_t)CREATED_MS << 16) + i, RECIPIENT,
                                   "hazard", "tester"));
    snprintf(text, sizeof(text), "pothole number %zu on 建设路", i);
    pg_value v = {.kind = PG_VALUE_TEXT, .s = text, .len = strlen(text)};
    assert_pg_ok(pg_txn_add(txn, ids[i], "title", &v, &base));
    assert_pg_ok(pg_txn_seal(txn));
    pg_txn_sign(txn, F.a_sk);
    assert_pg_ok(pg_txn_encode(&buf, txn));
    F.txn[i] = pg_buf_detach(&buf, &F.txn_len[i]);
    pg_txn_free(txn);
}

static int group_setup(void **state)
{
    (void)state;
    if (pg_crypto_init() < 0)
        return -1;
    pg_sign_keypair(F.a_pk, F.a_sk);
    pg_key_id(F.a_id, F.a_pk);
    pg_sign_keypair(F.x_pk, F.x_sk);
    pg_key_id(F.x_id, F.x_pk);
    pg_box_keypair(F.b_box_pk, F.b_box_sk);
    pg_box_keypair(F.c_box_pk, F.c_box_sk);
    make_card(&F.cards[0], "430300000000", "湘潭市");
    make_card(&F.cards[1], "430302001000", "城正街街道");
    make_card(&F.cards[2], "430302001001", "社区");

    /* Sizes around the 64-byte frame and past several frames; half the
     * txns random (incompressible), half repetitive. */
    static const size_t sizes[] = {1,    2,    17,  63,  64,   65,   100, 127,
                                   128,  129,  255, 256, 257,  300,  500, 700,
                                   1000, 1500, 333, 80,  2000, 3000, 4,   45,
                                   900,  1200, 64,  128, 4000, 5};
    _Static_assert(sizeof(sizes) / sizeof(sizes[0]) == NTXNS, "sizes");
    rng_state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < NTXNS; i++) {
        F.seq[i] = 10 + 3 * i + i % 2;
        if (i < NREAL) {
            make_real_txn(i);
            continue;
        }
        F.txn_len[i] = sizes[i];
        F.txn[i] = malloc(sizes[i]);
        if (!F.txn[i])
            return -1;
        for (size_t k = 0; k < sizes[i]; k++)
            F.txn[i][k] = i % 2 ? (uint8_t)test_rng_next(&rng_state)
                                : (uint8_t)("pingan-"[k % 7] + i);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTXNS; i++)
        free(F.txn[i]);
    free(F.bundle);
    pg_memzero(&F, sizeof(F));
    return 0;
}

/* ---- writing and reading ------------------------------------------- */

static void fill_info(pg_bundle_info *info, uint64_t first, uint64_t last)
{
    memset(info, 0, sizeof(*info));
    memcpy(info->sender, SENDER, PG_CODE_LEN + 1);
    memcpy(info->recipient, RECIPIENT, PG_CODE_LEN + 1);
    memcpy(info->recipient_key_id, F.cards[1].key_id, PG_KEY_ID_LEN + 1);
    info->schema_version = 1;
    assert_pg_ok(pg_blake2b(info->schema_hash, PG_HASH_LEN, "schema v1", 9));
    info->created_ms = CREATED_MS;
    info->range_first = first;
    info->range_last = last;
    info->ack_upto = ACK_UPTO;
}

/* Write the first ncards cards and ntxns txns; the caller frees *out. */
static void write_bundle(uint8_t **out, size_t *len, pg_bundle_info *info,
                         size_t frame_max, size_t ncards, size_t ntxns,
                         const uint8_t *box_pk)
{
    pg_bundle_writer *w = NULL;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    assert_non_null(f);
    assert_pg_ok(pg_bundle_writer_new(&w, F.a_sk, box_pk, frame_max));
    for (size_t i = 0; i < ncards; i++)
        assert_pg_ok(pg_bundle_writer_add_card(w, &F.cards[i]));
    for (size_t i = 0; i < ntxns; i++)
        assert_pg_ok(
            pg_bundle_writer_add_txn(w, F.seq[i], F.txn[i], F.txn_len[i]));
    if (ntxns)
        fill_info(info, F.seq[0] - 2, F.seq[ntxns - 1] + 1);
    else
        fill_info(info, 0, 0);
    uint64_t estimate = pg_bundle_writer_size(w);
    assert_pg_ok(pg_bundle_writer_finish(w, info, f));
    pg_bundle_writer_free(w);
    assert_int_equal(fclose(f), 0);
    assert_true(estimate >= n);
    *out = (uint8_t *)buf;
    *len = n;
}

/* What the callbacks saw. */
typedef struct collect {
    const uint8_t *pk; /* the signer's key for key_id; NULL: none known */
    char key_id[PG_KEY_ID_LEN + 1];
    int header_rc; /* what the header callback returns */
    int card_rc;
    int txn_rc;
    bool check; /* compare txns with the fixture */
    unsigned signer_calls;
    unsigned headers;
    size_t ncards;
    char codes[NCARDS][PG_CODE_LEN + 1];
    size_t ntxns;
    uint64_t seqs[NTXNS];
    bool bytes_ok;
} collect;

static void collect_init(collect *c)
{
    memset(c, 0, sizeof(*c));
    c->pk = F.a_pk;
    memcpy(c->key_id, F.a_id, sizeof(c->key_id));
    c->check = true;
    c->bytes_ok = true;
}

static int cb_signer(void *ctx, const char *key_id, uint8_t pk[PG_SIGN_PK_LEN])
{
    collect *c = ctx;
    c->signer_calls++;
    if (!c->pk || strcmp(key_id, c->key_id) != 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_BUNDLE,
                            "bundle signed by unknown key %s", key_id);
    memcpy(pk, c->pk, PG_SIGN_PK_LEN);
    return 0;
}

static int cb_header(void *ctx, const pg_bundle_info *info)
{
    collect *c = ctx;
    c->headers++;
    assert_true(info->header_ok);
    if (c->header_rc < 0)
        return pg_error_set(c->header_rc, PG_ERRCLASS_BUNDLE,
                            "refused by the header callback");
    return 0;
}

static int cb_card(void *ctx, const pg_card *card)
{
    collect *c = ctx;
    if (c->card_rc < 0)
        return pg_error_set(c->card_rc, PG_ERRCLASS_BUNDLE,
                            "refused by the card callback");
    if (c->ncards < NCARDS)
        memcpy(c->codes[c->ncards], card->code, PG_CODE_LEN + 1);
    c->ncards++;
    return 0;
}

static int cb_txn(void *ctx, uint64_t seq, const uint8_t *txn, size_t len)
{
    collect *c = ctx;
    if (c->txn_rc < 0)
        return pg_error_set(c->txn_rc, PG_ERRCLASS_BUNDLE,
                            "refused by the txn callback");
    if (c->check) {
        if (c->ntxns >= NTXNS) {
            c->bytes_ok = false;
            return 0;
        }
        size_t i = c->ntxns;
        c->seqs[i] = seq;
        if (F.seq[i] != seq || F.txn_len[i] != len ||
            memcmp(F.txn[i], txn, len) != 0)
            c->bytes_ok = false;
    }
    c->ntxns++;
    return 0;
}

static const pg_bundle_ops OPS = {
    .signer = cb_signer, .header = cb_header, .card = cb_card, .txn = cb_txn};

static int read_mem(const uint8_t *buf, size_t len, const uint8_t *box_sk,
                    collect *c, pg_bundle_info *info)
{
    FILE *f = len ? fmemopen((void *)buf, len, "rb") : tmpfile();
    assert_non_null(f);
    pg_error_clear();
    int rc = pg_bundle_read(f, box_sk, &OPS, c, info);
    fclose(f);
    return rc;
}

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

/* Where things are in a well-formed bundle, by parsing the lengths. */
typedef test_layout layout;

/* The offsets at and around every boundary of the layout. */
static size_t *boundary_offsets(const layout *l, size_t len, size_t *n)
{
    size_t cap = 16 * (l->nframes + 16), k = 0;
    size_t *v = malloc(cap * sizeof(*v));
    assert_non_null(v);
    size_t marks[] = {0,
                      4,
                      5,
                      6,
                      14,
                      PG_BUNDLE_PREAMBLE,
                      PG_BUNDLE_PREAMBLE + l->hlen,
                      l->end_mark,
                      l->trailer,
                      len - 1};
    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]) + l->nframes; m++) {
        size_t b = m < sizeof(marks) / sizeof(marks[0])
                       ? marks[m]
                       : l->frame[m - sizeof(marks) / sizeof(marks[0])];
        /* The length prefix, the bytes before it, the first ciphertext
         * bytes (the start of the tag's MAC'd header). */
        for (size_t d = 0; d < 7; d++) {
            if (b + d < 2 || b + d - 2 >= len)
                continue;
            assert_true(k < cap);
            v[k++] = b + d - 2;
        }
    }
    *n = k;
    return v;
}

/* ---- round trips --------------------------------------------------- */

static void assert_info_equal(const pg_bundle_info *r, const pg_bundle_info *w)
{
    assert_int_equal(r->format, PG_BUNDLE_FORMAT);
    assert_int_equal(r->suite, PG_SUITE_SODIUM);
    assert_string_equal(r->sender, w->sender);
    assert_string_equal(r->sender_key_id, F.a_id);
    assert_string_equal(w->sender_key_id, F.a_id);
    assert_string_equal(r->recipient, w->recipient);
    assert_string_equal(r->recipient_key_id, w->recipient_key_id);
    assert_int_equal(r->schema_version, w->schema_version);
    assert_memory_equal(r->schema_hash, w->schema_hash, PG_HASH_LEN);
    assert_int_equal(r->created_ms, CREATED_MS);
    assert_int_equal(r->range_first, w->range_first);
    assert_int_equal(r->range_last, w->range_last);
    assert_int_equal(r->ack_upto, ACK_UPTO);
    assert_int_equal(r->txns, w->txns);
    assert_int_equal(r->cards, w->cards);
    assert_int_equal(r->frame_max, w->frame_max);
    assert_int_equal(r->header_bytes, w->header_bytes);
    assert_int_equal(r->frames, w->frames);
    assert_int_equal(r->bytes, w->bytes);
}

static void
test_bundle__round_trips_cards_and_txns_through_64_byte_frames(void **state)
{
    (void)state;
    pg_bundle_info rinfo;
    collect c;
    layout l;

    write_bundle(&F.bundle, &F.len, &F.winfo, SMALL_FRAME, NCARDS, NTXNS,
                 F.b_box_pk);
    assert_int_equal(F.winfo.txns, NTXNS);
    assert_int_equal(F.winfo.cards, NCARDS);
    assert_int_equal(F.winfo.frame_max, SMALL_FRAME);
    assert_int_equal(F.winfo.bytes, F.len);
    assert_memory_equal(F.bundle, PG_BUNDLE_MAGIC, 4);

    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, &rinfo), 0);
    assert_int_equal(c.signer_calls, 1);
    assert_int_equal(c.headers, 1);
    assert_int_equal(c.ncards, NCARDS);
    for (size_t i = 0; i < NCARDS; i++)
        assert_string_equal(c.codes[i], F.cards[i].code);
    assert_int_equal(c.ntxns, NTXNS);
    assert_true(c.bytes_ok);
    assert_info_equal(&rinfo, &F.winfo);
    assert_int_equal(rinfo.plain_bytes, F.winfo.plain_bytes);
    assert_true(rinfo.header_ok);
    assert_true(rinfo.opened);
    assert_true(rinfo.trailer_ok);

    /* Every frame but the last holds exactly 64 plaintext bytes. */
    test_parse_layout(&l, F.bundle, F.len);
    assert_int_equal(l.nframes, rinfo.frames);
    assert_true(l.nframes > 100);
    for (size_t i = 0; i < l.nframes; i++) {
        uint32_t n = test_get_u32(F.bundle + l.frame[i]);
        if (i + 1 < l.nframes)
            assert_int_equal(n, SMALL_FRAME + PG_STREAM_ABYTES);
        else
            assert_true(n > PG_STREAM_ABYTES &&
                        n <= SMALL_FRAME + PG_STREAM_ABYTES);
    }
    free(l.frame);
}

/* What a txn callback sees is what the origin signed. */
static int cb_txn_verify(void *ctx, uint64_t seq, const uint8_t *body,
                         size_t len)
{
    size_t *verified = ctx;
    for (size_t i = 0; i < NREAL; i++) {
        if (F.seq[i] != seq)
            continue;
        pg_txn *txn = NULL;
        assert_pg_ok(pg_txn_decode(&txn, body, len));
        assert_pg_ok(pg_txn_verify(txn, F.a_pk));
        assert_int_equal(txn->seq, i + 1);
        pg_txn_free(txn);
        (*verified)++;
    }
    return 0;
}

static int cb_signer_a(void *ctx, const char *key_id,
                       uint8_t pk[PG_SIGN_PK_LEN])
{
    (void)ctx;
    assert_string_equal(key_id, F.a_id);
    memcpy(pk, F.a_pk, PG_SIGN_PK_LEN);
    return 0;
}

static void test_bundle__real_txns_arrive_decodable_and_verified(void **state)
{
    (void)state;
    pg_bundle_ops ops = {.signer = cb_signer_a, .txn = cb_txn_verify};
    size_t verified = 0;

    FILE *f = fmemopen(F.bundle, F.len, "rb");
    assert_non_null(f);
    assert_pg_ok(pg_bundle_read(f, F.b_box_sk, &ops, &verified, NULL));
    fclose(f);
    assert_int_equal(verified, NREAL);
}

static void test_bundle__round_trips_with_the_default_frame_size(void **state)
{
    (void)state;
    pg_bundle_info winfo, rinfo;
    uint8_t *b;
    size_t len;
    collect c;

    write_bundle(&b, &len, &winfo, 0, NCARDS, NTXNS, F.b_box_pk);
    assert_int_equal(winfo.frame_max, PG_BUNDLE_FRAME_MAX);
    assert_int_equal(winfo.frames, 1);
    collect_init(&c);
    assert_int_equal(read_mem(b, len, F.b_box_sk, &c, &rinfo), 0);
    assert_int_equal(c.ncards, NCARDS);
    assert_int_equal(c.ntxns, NTXNS);
    assert_true(c.bytes_ok);
    assert_info_equal(&rinfo, &winfo);
    /* The same content, fewer frames: far smaller than with 64 bytes. */
    assert_true(len < F.len);
    free(b);
}

static void test_bundle__ack_only_bundle_has_one_empty_final_frame(void **state)
{
    (void)state;
    pg_bundle_info winfo, rinfo;
    uint8_t *b;
    size_t len;
    collect c;
    layout l;

    write_bundle(&b, &len, &winfo, SMALL_FRAME, 0, 0, F.b_box_pk);
    test_parse_layout(&l, b, len);
    assert_int_equal(l.nframes, 1);
    assert_int_equal(test_get_u32(b + l.frame[0]), PG_STREAM_ABYTES);
    assert_int_equal(winfo.plain_bytes, 0);

    collect_init(&c);
    assert_int_equal(read_mem(b, len, F.b_box_sk, &c, &rinfo), 0);
    assert_int_equal(c.headers, 1);
    assert_int_equal(c.ncards, 0);
    assert_int_equal(c.ntxns, 0);
    assert_info_equal(&rinfo, &winfo);
    assert_int_equal(rinfo.range_first, 0);
    assert_int_equal(rinfo.range_last, 0);
    assert_int_equal(rinfo.ack_upto, ACK_UPTO);
    assert_int_equal(rinfo.plain_bytes, 0);
    assert_true(rinfo.trailer_ok);

    /* Small enough to cut at every length and flip every byte of. */
    for (size_t cut = 0; cut < len; cut++) {
        collect_init(&c);
        assert_true(read_mem(b, cut, F.b_box_sk, &c, NULL) < 0);
    }
    for (size_t i = 0; i < len; i++) {
        b[i] ^= 0x20;
        collect_init(&c);
        assert_true(read_mem(b, len, F.b_box_sk, &c, NULL) < 0);
        b[i] ^= 0x20;
    }
    free(l.frame);
    free(b);
}

static void
test_bundle__cards_without_txns_and_a_range_without_txns(void **state)
{
    (void)state;
    pg_bundle_info winfo, rinfo;
    pg_bundle_writer *w = NULL;
    char *buf = NULL;
    size_t len = 0;
    collect c;

    /* A range whose txns were all withheld from this peer still travels:
     * it shows the recipient that nothing is missing. */
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_pg_ok(pg_bundle_writer_new(&w, F.a_sk, F.b_box_pk, SMALL_FRAME));
    for (size_t i = 0; i < NCARDS; i++)
        assert_pg_ok(pg_bundle_writer_add_card(w, &F.cards[i]));
    fill_info(&winfo, 100, 250);
    assert_pg_ok(pg_bundle_writer_finish(w, &winfo, f));
    pg_bundle_writer_free(w);
    fclose(f);

    collect_init(&c);
    assert_int_equal(read_mem((uint8_t *)buf, len, F.b_box_sk, &c, &rinfo), 0);
    assert_int_equal(c.ncards, NCARDS);
    assert_int_equal(c.ntxns, 0);
    assert_int_equal(rinfo.txns, 0);
    assert_int_equal(rinfo.range_first, 100);
    assert_int_equal(rinfo.range_last, 250);
    free(buf);
}

/* ---- tampering ----------------------------------------------------- */

static void
test_bundle__flipped_bytes_around_every_frame_boundary_fail(void **state)
{
    (void)state;
    layout l;
    size_t n;
    collect c;

    test_parse_layout(&l, F.bundle, F.len);
    size_t *at = boundary_offsets(&l, F.len, &n);
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(flips); k++) {
            F.bundle[at[i]] ^= flips[k];
            collect_init(&c);
            int rc = read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL);
            if (rc >= 0)
                print_error("flip 0x%02x at %zu was not noticed\n", flips[k],
                            at[i]);
            assert_true(rc < 0);
            F.bundle[at[i]] ^= flips[k];
        }
    }
    free(at);
    free(l.frame);
    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL), 0);
}

static void test_bundle__flipped_bytes_at_random_offsets_fail(void **state)
{
    (void)state;
    collect c;

    rng_state = 0x243f6a8885a308d3u;
    for (int i = 0; i < 256; i++) {
        size_t at = (size_t)(test_rng_next(&rng_state) % F.len);
        uint8_t x = (uint8_t)(test_rng_next(&rng_state) % 255 + 1);
        F.bundle[at] ^= x;
        collect_init(&c);
        int rc = read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL);
        if (rc >= 0)
            print_error("xor 0x%02x at %zu was not noticed\n", x, at);
        assert_true(rc < 0);
        /* Without the box key, the trailer's signature still notices. */
        collect_init(&c);
        assert_true(read_mem(F.bundle, F.len, NULL, &c, NULL) < 0);
        F.bundle[at] ^= x;
    }
}

static void test_bundle__truncation_at_every_boundary_fails(void **state)
{
    (void)state;
    layout l;
    size_t n;
    collect c;

    test_parse_layout(&l, F.bundle, F.len);
    size_t *at = boundary_offsets(&l, F.len, &n);
    for (size_t i = 0; i < n; i++) {
        collect_init(&c);
        assert_true(read_mem(F.bundle, at[i], F.b_box_sk, &c, NULL) < 0);
        collect_init(&c);
        assert_true(read_mem(F.bundle, at[i], NULL, &c, NULL) < 0);
    }
    /* Cut just before the end mark: the message names the offset. */
    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, l.end_mark, F.b_box_sk, &c, NULL),
                     PG_EINVALID);
    assert_message_has("truncated");
    free(at);
    free(l.frame);
}

static void
test_bundle__refuses_an_unknown_signer_before_reading_frames(void **state)
{
    (void)state;
    pg_bundle_info info;
    collect c;

    collect_init(&c);
    memcpy(c.key_id, F.x_id, sizeof(c.key_id)); /* only X is known */
    c.pk = F.x_pk;
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, &info),
                     PG_EAUTH);
    assert_message_has(F.a_id);
    assert_int_equal(c.signer_calls, 1);
    assert_int_equal(c.headers, 0);
    assert_int_equal(c.ncards + c.ntxns, 0);
    assert_false(info.header_ok);
    assert_int_equal(info.bytes, PG_BUNDLE_PREAMBLE); /* nothing more read */
}

static void test_bundle__refuses_a_header_that_another_key_signed(void **state)
{
    (void)state;
    pg_bundle_info info;
    collect c;

    /* The key id names A, but the key on file for it is X's. */
    collect_init(&c);
    c.pk = F.x_pk;
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, &info),
                     PG_EAUTH);
    assert_message_has("header signature");
    assert_int_equal(c.headers, 0);
    assert_false(info.header_ok);
}

static void test_bundle__refuses_the_wrong_recipient_key(void **state)
{
    (void)state;
    pg_bundle_info info;
    collect c;

    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, F.len, F.c_box_sk, &c, &info),
                     PG_EAUTH);
    assert_message_has("not addressed to this node's key");
    assert_true(info.header_ok);
    assert_false(info.opened);
    assert_int_equal(c.ncards + c.ntxns, 0);
}

static void
test_bundle__refuses_a_frame_claiming_4_gib_before_reading_it(void **state)
{
    (void)state;
    pg_bundle_info info;
    layout l;
    collect c;

    test_parse_layout(&l, F.bundle, F.len);
    size_t which[] = {0, 2, l.nframes - 1};
    for (size_t k = 0; k < 3; k++) {
        uint8_t *p = F.bundle + l.frame[which[k]];
        uint8_t saved[4];
        memcpy(saved, p, 4);
        test_set_u32(p, UINT32_MAX);
        collect_init(&c);
        assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, &info),
                         PG_EINVALID);
        assert_message_has("4294967295");
        /* Nothing past the length prefix was read. */
        assert_int_equal(info.bytes, l.frame[which[k]] + 4);
        /* Just one byte over the limit is refused the same way. */
        test_set_u32(p, SMALL_FRAME + PG_STREAM_ABYTES + 1);
        assert_int_equal(read_mem(F.bundle, F.len, NULL, &c, &info),
                         PG_EINVALID);
        assert_message_has("claims 82 bytes");
        memcpy(p, saved, 4);
    }
    free(l.frame);
}

static void test_bundle__refuses_trailing_bytes(void **state)
{
    (void)state;
    pg_bundle_info info;
    collect c;
    uint8_t *b = malloc(F.len + 100);

    assert_non_null(b);
    memcpy(b, F.bundle, F.len);
    memset(b + F.len, 0, 100);
    for (size_t extra = 1; extra <= 100; extra += 99) {
        collect_init(&c);
        assert_int_equal(read_mem(b, F.len + extra, F.b_box_sk, &c, &info),
                         PG_EINVALID);
        assert_message_has("after the trailer");
        assert_false(info.trailer_ok);
        collect_init(&c);
        assert_int_equal(read_mem(b, F.len + extra, NULL, &c, &info),
                         PG_EINVALID);
    }
    free(b);
}

static void test_bundle__header_callback_refusal_propagates(void **state)
{
    (void)state;
    pg_bundle_info info;
    collect c;

    collect_init(&c);
    c.header_rc = PG_EPOLICY;
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, &info),
                     PG_EPOLICY);
    assert_string_equal(pg_error_last()->message,
                        "refused by the header callback");
    assert_int_equal(c.headers, 1);
    assert_int_equal(c.ncards + c.ntxns, 0);
    assert_true(info.header_ok);
    assert_false(info.trailer_ok);
}

static void test_bundle__card_and_txn_callback_refusals_propagate(void **state)
{
    (void)state;
    collect c;

    collect_init(&c);
    c.card_rc = PG_EPOLICY;
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL),
                     PG_EPOLICY);
    assert_string_equal(pg_error_last()->message,
                        "refused by the card callback");
    collect_init(&c);
    c.txn_rc = PG_ENOMEM;
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL),
                     PG_ENOMEM);
    assert_int_equal(c.ncards, NCARDS);
}

static int cb_signer_unknown(void *ctx, const char *key_id,
                             uint8_t pk[PG_SIGN_PK_LEN])
{
    (void)key_id;
    (void)pk;
    ((collect *)ctx)->signer_calls++;
    return 1;
}

static int cb_header_decline(void *ctx, const pg_bundle_info *info)
{
    (void)info;
    ((collect *)ctx)->headers++;
    return 1;
}

/* A header callback may decline to open the frames (a bundle addressed
 * to someone else): both signatures are still checked. */
static void test_bundle__header_may_decline_to_open_the_frames(void **state)
{
    (void)state;
    static const pg_bundle_ops ops = {.signer = cb_signer,
                                      .header = cb_header_decline,
                                      .card = cb_card,
                                      .txn = cb_txn};
    pg_bundle_info info;
    collect c;

    collect_init(&c);
    FILE *f = fmemopen(F.bundle, F.len, "rb");
    assert_non_null(f);
    assert_int_equal(pg_bundle_read(f, F.b_box_sk, &ops, &c, &info), 0);
    fclose(f);
    assert_int_equal(c.headers, 1);
    assert_true(info.header_ok);
    assert_false(info.opened);
    assert_true(info.trailer_ok);
    assert_int_equal(c.ncards + c.ntxns, 0);
}

/* Inspection where the sender is unknown: framing is walked, nothing is
 * verified or decrypted, and the result says so. */
static void
test_bundle__unknown_signer_can_be_inspected_unverified(void **state)
{
    (void)state;
    static const pg_bundle_ops ops = {
        .signer = cb_signer_unknown, .card = cb_card, .txn = cb_txn};
    pg_bundle_info info;
    collect c;

    collect_init(&c);
    FILE *f = fmemopen(F.bundle, F.len, "rb");
    assert_non_null(f);
    assert_int_equal(pg_bundle_read(f, F.b_box_sk, &ops, &c, &info), 0);
    fclose(f);
    assert_int_equal(c.signer_calls, 1);
    assert_false(info.header_ok);
    assert_false(info.opened);
    assert_false(info.trailer_ok);
    assert_int_equal(info.txns, NTXNS);
    assert_int_equal(info.bytes, F.len);
    assert_int_equal(c.ncards + c.ntxns, 0);
}

static void
test_bundle__without_the_box_key_checks_framing_and_signatures(void **state)
{
    (void)state;
    pg_bundle_info info;
    collect c;
    layout l;

    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, F.len, NULL, &c, &info), 0);
    assert_true(info.header_ok);
    assert_false(info.opened);
    assert_true(info.trailer_ok);
    assert_int_equal(info.plain_bytes, 0);
    assert_int_equal(info.frames, F.winfo.frames);
    assert_int_equal(info.bytes, F.len);
    assert_int_equal(info.txns, NTXNS);
    assert_int_equal(c.headers, 1);
    assert_int_equal(c.ncards + c.ntxns, 0);

    /* A changed ciphertext byte is noticed by the trailer's signature. */
    test_parse_layout(&l, F.bundle, F.len);
    F.bundle[l.frame[5] + 10] ^= 1;
    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, F.len, NULL, &c, &info), PG_EAUTH);
    assert_message_has("trailer signature");
    F.bundle[l.frame[5] + 10] ^= 1;
    /* With the key, the frame itself is refused first, and named. */
    F.bundle[l.frame[5] + 10] ^= 1;
    collect_init(&c);
    assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, &info),
                     PG_EAUTH);
    char expect[128];
    snprintf(expect, sizeof(expect),
             "frame 6 at byte offset %zu does not authenticate", l.frame[5]);
    assert_message_has(expect);
    F.bundle[l.frame[5] + 10] ^= 1;
    free(l.frame);
}

static void test_bundle__refuses_a_decompression_bomb(void **state)
{
    (void)state;
    const size_t big = 256 * 1024, n = 300; /* 75 MiB of zeros */
    uint8_t *zeros = calloc(1, big);
    pg_bundle_writer *w = NULL;
    pg_bundle_info winfo, info;
    char *buf = NULL;
    size_t len = 0;
    collect c;

    /* Correctly signed and encrypted by the ordinary writer: only the
     * expansion limit can refuse it. */
    assert_non_null(zeros);
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_pg_ok(pg_bundle_writer_new(&w, F.a_sk, F.b_box_pk, 0));
    for (size_t i = 1; i <= n; i++)
        assert_pg_ok(pg_bundle_writer_add_txn(w, i, zeros, big));
    fill_info(&winfo, 1, n);
    assert_pg_ok(pg_bundle_writer_finish(w, &winfo, f));
    pg_bundle_writer_free(w);
    fclose(f);
    assert_true(winfo.plain_bytes > PG_BUNDLE_EXPAND_FLOOR);
    assert_true(len < 1024 * 1024);

    collect_init(&c);
    c.check = false;
    assert_int_equal(read_mem((uint8_t *)buf, len, F.b_box_sk, &c, &info),
                     PG_EINVALID);
    assert_message_has("expands far beyond the limit");
    assert_true(c.ntxns < n);
    assert_true(info.plain_bytes > PG_BUNDLE_EXPAND_FLOOR);
    assert_true(info.plain_bytes < PG_BUNDLE_EXPAND_FLOOR + 1024 * 1024);
    assert_false(info.trailer_ok);

    /* Its framing and signatures are sound. */
    collect_init(&c);
    assert_int_equal(read_mem((uint8_t *)buf, len, NULL, &c, &info), 0);
    free(buf);
    free(zeros);
}

/* ---- the writer's rules -------------------------------------------- */

static void test_bundle__writer_refuses_misuse(void **state)
{
    (void)state;
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;
    FILE *f = tmpfile();
    uint8_t t[1] = {7};

    assert_non_null(f);
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_new(&w, F.a_sk, F.b_box_pk,
                                                      PG_BUNDLE_FRAME_MAX + 1));
    assert_null(w);
    assert_pg_ok(pg_bundle_writer_new(&w, F.a_sk, F.b_box_pk, SMALL_FRAME));
    assert_pg_ok(pg_bundle_writer_add_card(w, &F.cards[0]));
    pg_card bad = F.cards[1];
    bad.name[0] ^= 1;
    assert_pg_fails(PG_EAUTH, pg_bundle_writer_add_card(w, &bad));
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_add_txn(w, 0, t, 1));
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_add_txn(w, 5, t, 0));
    assert_pg_ok(pg_bundle_writer_add_txn(w, 5, t, 1));
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_add_txn(w, 5, t, 1));
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_add_txn(w, 4, t, 1));
    /* A card may follow txns: it precedes the txns that need it. */
    assert_pg_ok(pg_bundle_writer_add_card(w, &F.cards[1]));
    assert_pg_ok(pg_bundle_writer_add_txn(w, 9, t, 1));

    fill_info(&info, 6, 9); /* does not cover seq 5 */
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_finish(w, &info, f));
    fill_info(&info, 0, 0);
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_finish(w, &info, f));
    fill_info(&info, 5, 9);
    info.recipient_key_id[3] = 'G';
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_finish(w, &info, f));
    fill_info(&info, 5, 9);
    info.sender[11] = 'x';
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_finish(w, &info, f));
    fill_info(&info, 5, 9);
    assert_pg_ok(pg_bundle_writer_finish(w, &info, f));
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_finish(w, &info, f));
    assert_pg_fails(PG_EINVALID, pg_bundle_writer_add_txn(w, 10, t, 1));
    pg_bundle_writer_free(w);
    pg_bundle_writer_free(NULL);

    /* What it wrote reads back. */
    collect c;
    collect_init(&c);
    c.check = false;
    rewind(f);
    assert_int_equal(pg_bundle_read(f, F.b_box_sk, &OPS, &c, NULL), 0);
    assert_int_equal(c.ncards, 2);
    assert_int_equal(c.ntxns, 2);
    fclose(f);
}

static void test_bundle__size_estimate_bounds_the_bundle(void **state)
{
    (void)state;
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;
    char *buf = NULL;
    size_t len = 0;

    /* write_bundle() checks the estimate before each finish; here the
     * estimate of an empty bundle is small, and it grows with content. */
    assert_pg_ok(pg_bundle_writer_new(&w, F.a_sk, F.b_box_pk, SMALL_FRAME));
    uint64_t empty = pg_bundle_writer_size(w);
    assert_true(empty < 1024);
    for (size_t i = 0; i < NTXNS; i++)
        assert_pg_ok(
            pg_bundle_writer_add_txn(w, F.seq[i], F.txn[i], F.txn_len[i]));
    uint64_t estimate = pg_bundle_writer_size(w);
    assert_true(estimate > empty);
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fill_info(&info, F.seq[0], F.seq[NTXNS - 1]);
    assert_pg_ok(pg_bundle_writer_finish(w, &info, f));
    fclose(f);
    assert_true(estimate >= len);
    pg_bundle_writer_free(w);
    free(buf);
}

/* ---- hand-made bundles --------------------------------------------- */

typedef struct craft {
    const uint8_t *plain; /* the frames' plaintexts, concatenated */
    size_t plain_len;
    const size_t *chunks; /* plaintext bytes per frame; NULL: frame_max */
    size_t nchunks;
    const uint8_t *tags; /* one per frame; NULL: MESSAGE ... FINAL */
    uint32_t frame_max;
    uint64_t txns, cards, range_first, range_last;
    void (*mutate)(Pingan__V1__BundleHeader *h);
} craft;

static void out_hashed(FILE *f, pg_hash_state *hs, const void *p, size_t n)
{
    pg_hash_update(hs, p, n);
    assert_int_equal(fwrite(p, 1, n, f), n);
}

/* Sign and encrypt whatever the craft says, as the sender to B. */
static void craft_bundle(uint8_t **out, size_t *len, const craft *cr)
{
    uint8_t key[PG_STREAM_KEY_LEN], sealed[PG_STREAM_KEY_LEN + 48];
    uint8_t sh[PG_STREAM_HEADER_LEN], sig[PG_SIG_LEN], digest[64];
    uint8_t hash_of[32], len4[4];
    pg_stream_state st;
    pg_hash_state hs;
    char *buf = NULL;
    size_t n = 0;

    pg_stream_keygen(key);
    assert_pg_ok(pg_box_seal(sealed, key, sizeof(key), F.b_box_pk));
    pg_stream_init_push(&st, sh, key);

    Pingan__V1__BundleHeader h = PINGAN__V1__BUNDLE_HEADER__INIT;
    Pingan__V1__Ack ack = PINGAN__V1__ACK__INIT;
    assert_pg_ok(pg_blake2b(hash_of, 32, "schema v1", 9));
    ack.upto = ACK_UPTO;
    h.format = PG_BUNDLE_FORMAT;
    h.sender = SENDER;
    h.sender_key_id = F.a_id;
    h.recipient = RECIPIENT;
    h.recipient_key_id = F.cards[1].key_id;
    h.schema_version = 1;
    h.schema_hash.len = 32;
    h.schema_hash.data = hash_of;
    h.created_ms = CREATED_MS;
    h.range_first = cr->range_first;
    h.range_last = cr->range_last;
    h.ack = &ack;
    h.txns = cr->txns;
    h.cards = cr->cards;
    h.sealed_key.len = sizeof(sealed);
    h.sealed_key.data = sealed;
    h.stream_header.len = sizeof(sh);
    h.stream_header.data = sh;
    h.frame_max = cr->frame_max;
    if (cr->mutate)
        cr->mutate(&h);

    size_t hlen = pingan__v1__bundle_header__get_packed_size(&h);
    uint8_t *head = malloc(PG_BUNDLE_PREAMBLE + hlen);
    assert_non_null(head);
    memcpy(head, "PGNB", 4);
    head[4] = PG_BUNDLE_FORMAT;
    head[5] = PG_SUITE_SODIUM;
    assert_pg_ok(pg_unhex(head + 6, 8, F.a_id));
    test_set_u32(head + 14, (uint32_t)hlen);
    pingan__v1__bundle_header__pack(&h, head + PG_BUNDLE_PREAMBLE);
    pg_sign(sig, head, PG_BUNDLE_PREAMBLE + hlen, F.a_sk);

    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    test_set_u32(len4, 16);
    pg_hash_init(&hs, 64);
    pg_hash_update(&hs, len4, 4);
    pg_hash_update(&hs, "pingan.bundle.v1", 16);
    out_hashed(f, &hs, head, PG_BUNDLE_PREAMBLE + hlen);
    out_hashed(f, &hs, sig, sizeof(sig));

    size_t nframes = cr->chunks ? cr->nchunks
                     : cr->plain_len
                         ? (cr->plain_len + cr->frame_max - 1) / cr->frame_max
                         : 1;
    size_t at = 0;
    for (size_t i = 0; i < nframes; i++) {
        size_t pl = cr->chunks ? cr->chunks[i]
                               : (cr->plain_len - at < cr->frame_max
                                      ? cr->plain_len - at
                                      : cr->frame_max);
        assert_true(at + pl <= cr->plain_len);
        uint8_t tag = cr->tags           ? cr->tags[i]
                      : i + 1 == nframes ? PG_STREAM_TAG_FINAL
                                         : PG_STREAM_TAG_MESSAGE;
        uint8_t *ct = malloc(pl + PG_STREAM_ABYTES);
        assert_non_null(ct);
        pg_stream_push(&st, ct, cr->plain + at, pl, tag);
        test_set_u32(len4, (uint32_t)(pl + PG_STREAM_ABYTES));
        out_hashed(f, &hs, len4, 4);
        out_hashed(f, &hs, ct, pl + PG_STREAM_ABYTES);
        free(ct);
        at += pl;
    }
    assert_int_equal(at, cr->plain_len);
    test_set_u32(len4, 0);
    out_hashed(f, &hs, len4, 4);
    pg_hash_final(&hs, digest);
    pg_sign(sig, digest, sizeof(digest), F.a_sk);
    assert_int_equal(fwrite(sig, 1, sizeof(sig), f), sizeof(sig));
    fclose(f);
    free(head);
    pg_memzero(key, sizeof(key));
    *out = (uint8_t *)buf;
    *len = n;
}

/* Append u32 length ‖ bytes to the plaintext content. */
static void put_batch_bytes(pg_buf *content, const void *p, size_t n)
{
    assert_pg_ok(pg_buf_put_u32be(content, (uint32_t)n));
    assert_pg_ok(pg_buf_put(content, p, n));
}

static void put_batch(pg_buf *content, const Pingan__V1__TxnBatch *b)
{
    size_t n = pingan__v1__txn_batch__get_packed_size(b);
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    pingan__v1__txn_batch__pack(b, p);
    put_batch_bytes(content, p, n);
    free(p);
}

/* A batch with the fixture's txns [from, to). */
static void put_txns(pg_buf *content, size_t from, size_t to)
{
    Pingan__V1__TxnEntry e[NTXNS], *ep[NTXNS];
    Pingan__V1__TxnBatch b = PINGAN__V1__TXN_BATCH__INIT;
    for (size_t i = from; i < to; i++) {
        pingan__v1__txn_entry__init(&e[i - from]);
        e[i - from].seq = F.seq[i];
        e[i - from].txn.len = F.txn_len[i];
        e[i - from].txn.data = F.txn[i];
        ep[i - from] = &e[i - from];
    }
    b.n_entries = to - from;
    b.entries = ep;
    put_batch(content, &b);
}

/* A batch with one entry. */
static void put_entry(pg_buf *content, uint64_t seq, const uint8_t *p, size_t n)
{
    Pingan__V1__TxnEntry e = PINGAN__V1__TXN_ENTRY__INIT, *ep = &e;
    Pingan__V1__TxnBatch b = PINGAN__V1__TXN_BATCH__INIT;
    e.seq = seq;
    e.txn.len = n;
    e.txn.data = (uint8_t *)p;
    b.n_entries = 1;
    b.entries = &ep;
    put_batch(content, &b);
}

/* A batch with the fixture's cards [from, to); `mess` may spoil one. */
static void put_cards(pg_buf *content, size_t from, size_t to,
                      void (*mess)(Pingan__V1__Card *))
{
    Pingan__V1__Card c[NCARDS], *cp[NCARDS];
    Pingan__V1__TxnBatch b = PINGAN__V1__TXN_BATCH__INIT;
    for (size_t i = from; i < to; i++) {
        pg_card *k = &F.cards[i];
        Pingan__V1__Card *m = &c[i - from];
        pingan__v1__card__init(m);
        m->suite = k->suite;
        m->code = k->code;
        m->name = k->name;
        m->tier = (char *)pg_tier_name(k->tier);
        m->sign_pk.len = 32;
        m->sign_pk.data = k->sign_pk;
        m->box_pk.len = 32;
        m->box_pk.data = k->box_pk;
        m->created_ms = k->created_ms;
        m->signature.len = 64;
        m->signature.data = k->signature;
        cp[i - from] = m;
    }
    if (mess)
        mess(&c[0]);
    b.n_cards = to - from;
    b.cards = cp;
    put_batch(content, &b);
}

/* zstd as the writer makes it, but with a chosen window (0: default). */
static void compress(pg_buf *out, const pg_buf *content, int window_log)
{
    ZSTD_CCtx *z = ZSTD_createCCtx();
    assert_non_null(z);
    assert_false(
        ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 3)));
    if (window_log)
        assert_false(ZSTD_isError(
            ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, window_log)));
    size_t cap = ZSTD_compressBound(content->len) + 64;
    pg_buf_init(out, cap + 1);
    assert_pg_ok(pg_buf_reserve(out, cap));
    ZSTD_inBuffer in = {content->data, content->len, 0};
    ZSTD_outBuffer o = {out->data, cap, 0};
    /* Continue first so that zstd does not learn the size in advance and
     * keeps the window it was given. */
    assert_false(
        ZSTD_isError(ZSTD_compressStream2(z, &o, &in, ZSTD_e_continue)));
    size_t rest;
    do {
        rest = ZSTD_compressStream2(z, &o, &in, ZSTD_e_end);
        assert_false(ZSTD_isError(rest));
    } while (rest != 0);
    out->len = o.pos;
    ZSTD_freeCCtx(z);
}

/* Craft a bundle from content (compressed here) and read it. */
static int craft_and_read(const pg_buf *content, craft *cr, collect *c,
                          int window_log)
{
    pg_buf z = PG_BUF_INIT;
    uint8_t *b;
    size_t len;

    if (content && content->len) {
        compress(&z, content, window_log);
        cr->plain = z.data;
        cr->plain_len = z.len;
    }
    if (!cr->frame_max)
        cr->frame_max = SMALL_FRAME;
    craft_bundle(&b, &len, cr);
    collect_init(c);
    int rc = read_mem(b, len, F.b_box_sk, c, NULL);
    free(b);
    pg_buf_dispose(&z);
    return rc;
}

static void craft_all(craft *cr, uint64_t txns, uint64_t cards)
{
    memset(cr, 0, sizeof(*cr));
    cr->frame_max = SMALL_FRAME;
    cr->txns = txns;
    cr->cards = cards;
    if (txns) {
        cr->range_first = F.seq[0];
        cr->range_last = F.seq[NTXNS - 1];
    }
}

static void test_bundle__hand_made_bundle_reads_like_a_written_one(void **state)
{
    (void)state;
    pg_buf content = PG_BUF_INIT;
    craft cr;
    collect c;

    put_cards(&content, 0, NCARDS, NULL);
    put_txns(&content, 0, 10);
    put_txns(&content, 10, NTXNS);
    craft_all(&cr, NTXNS, NCARDS);
    assert_int_equal(craft_and_read(&content, &cr, &c, 0), 0);
    assert_int_equal(c.ncards, NCARDS);
    assert_int_equal(c.ntxns, NTXNS);
    assert_true(c.bytes_ok);
    pg_buf_dispose(&content);
}

static void expect_crafted_failure(const pg_buf *content, craft *cr, int code,
                                   const char *needle)
{
    collect c;
    int rc = craft_and_read(content, cr, &c, 0);
    if (rc != code)
        print_error("expected %d, got %d (%s)\n", code, rc,
                    pg_error_last()->message);
    assert_int_equal(rc, code);
    assert_message_has(needle);
}

static void hdr_format2(Pingan__V1__BundleHeader *h)
{
    h->format = 2;
}
static void hdr_other_key_id(Pingan__V1__BundleHeader *h)
{
    h->sender_key_id = F.x_id;
}
static void hdr_frame_max_0(Pingan__V1__BundleHeader *h)
{
    h->frame_max = 0;
}
static void hdr_frame_max_big(Pingan__V1__BundleHeader *h)
{
    h->frame_max = PG_BUNDLE_FRAME_MAX + 1;
}
static void hdr_sealed_79(Pingan__V1__BundleHeader *h)
{
    h->sealed_key.len = 79;
}
static void hdr_stream_header_23(Pingan__V1__BundleHeader *h)
{
    h->stream_header.len = 23;
}
static void hdr_too_many_cards(Pingan__V1__BundleHeader *h)
{
    h->cards = PG_BUNDLE_CARDS_MAX + 1;
}
static void hdr_backward_range(Pingan__V1__BundleHeader *h)
{
    h->range_first = 9;
    h->range_last = 8;
}
static void hdr_half_range(Pingan__V1__BundleHeader *h)
{
    h->range_first = 0;
    h->range_last = 8;
}
static void hdr_txns_beyond_range(Pingan__V1__BundleHeader *h)
{
    h->range_first = 5;
    h->range_last = 6;
    h->txns = 3;
}
static void hdr_short_sender(Pingan__V1__BundleHeader *h)
{
    h->sender = "43030200000";
}
static void hdr_schema_hash_31(Pingan__V1__BundleHeader *h)
{
    h->schema_hash.len = 31;
}
static void hdr_unknown_field(Pingan__V1__BundleHeader *h)
{
    static uint8_t one = 1;
    static ProtobufCMessageUnknownField uf = {
        .tag = 99, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT, .len = 1};
    uf.data = &one;
    h->base.n_unknown_fields = 1;
    h->base.unknown_fields = &uf;
}

static void test_bundle__refuses_malformed_signed_headers(void **state)
{
    (void)state;
    static const struct {
        void (*mutate)(Pingan__V1__BundleHeader *);
        const char *needle;
    } cases[] = {
        {hdr_format2, "format differs"},
        {hdr_other_key_id, "sender key id differs"},
        {hdr_frame_max_0, "frame_max"},
        {hdr_frame_max_big, "frame_max"},
        {hdr_sealed_79, "sealed key"},
        {hdr_stream_header_23, "stream header"},
        {hdr_too_many_cards, "4096 cards"},
        {hdr_backward_range, "range"},
        {hdr_half_range, "range"},
        {hdr_txns_beyond_range, "more txns than the range"},
        {hdr_short_sender, "sender is not a division code"},
        {hdr_schema_hash_31, "schema hash"},
        {hdr_unknown_field, "unknown fields"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        craft cr;
        collect c;
        craft_all(&cr, 0, 0);
        cr.mutate = cases[i].mutate;
        int rc = craft_and_read(NULL, &cr, &c, 0);
        if (rc != PG_EINVALID)
            print_error("case %zu: %d %s\n", i, rc, pg_error_last()->message);
        assert_int_equal(rc, PG_EINVALID);
        assert_message_has(cases[i].needle);
        assert_message_has("byte offset 18");
        assert_int_equal(c.headers, 0);
    }
}

static void test_bundle__refuses_a_bad_preamble(void **state)
{
    (void)state;
    static const struct {
        size_t at;
        uint8_t value;
        const char *needle;
        int code;
    } cases[] = {
        {0, 'X', "PGNB", PG_EINVALID},
        /* A newer format asks for an upgrade. */
        {4, 2, "bundle format 2", PG_EUPGRADE},
        {4, 0, "bundle format 0", PG_EINVALID},
        {5, 2, "crypto suite 2", PG_EINVALID},
        {14, 1, "header length 16777", PG_EINVALID}, /* 16 MiB and more */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        collect c;
        uint8_t saved = F.bundle[cases[i].at];
        F.bundle[cases[i].at] = cases[i].value;
        collect_init(&c);
        assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL),
                         cases[i].code);
        assert_message_has(cases[i].needle);
        assert_int_equal(c.signer_calls, 0);
        F.bundle[cases[i].at] = saved;
    }
    /* A header length of 0 or just past 64 KiB. */
    uint8_t saved[4];
    memcpy(saved, F.bundle + 14, 4);
    uint32_t lens[] = {0, PG_BUNDLE_HEADER_MAX + 1};
    for (size_t i = 0; i < 2; i++) {
        collect c;
        test_set_u32(F.bundle + 14, lens[i]);
        collect_init(&c);
        assert_int_equal(read_mem(F.bundle, F.len, F.b_box_sk, &c, NULL),
                         PG_EINVALID);
        assert_message_has("header length");
        assert_int_equal(c.signer_calls, 0);
    }
    memcpy(F.bundle + 14, saved, 4);
}

static void card_bad_signature(Pingan__V1__Card *c)
{
    static uint8_t sig[64];
    memcpy(sig, c->signature.data, 64);
    sig[0] ^= 1;
    c->signature.data = sig;
}
static void card_bad_tier(Pingan__V1__Card *c)
{
    c->tier = "village";
}
static void card_short_key(Pingan__V1__Card *c)
{
    c->box_pk.len = 31;
}

static void test_bundle__refuses_malformed_batches(void **state)
{
    (void)state;
    pg_buf content = PG_BUF_INIT;
    craft cr;

    /* A batch of length 0. */
    put_txns(&content, 0, 2);
    put_batch_bytes(&content, "", 0);
    craft_all(&cr, 2, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "empty (length 0)");

    /* A batch claiming more than 2 MiB. */
    pg_buf_clear(&content);
    assert_pg_ok(pg_buf_put_u32be(&content, PG_BUNDLE_BATCH_MAX + 1));
    assert_pg_ok(pg_buf_put(&content, "xxxx", 4));
    craft_all(&cr, 2, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "claims 2097153 bytes");

    /* Not protobuf. */
    pg_buf_clear(&content);
    put_batch_bytes(&content, "\xff\xff\xff", 3);
    craft_all(&cr, 1, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "not a protobuf");

    /* A field TxnBatch does not have (field 7, varint 1). */
    pg_buf_clear(&content);
    put_batch_bytes(&content, "\x38\x01", 2);
    craft_all(&cr, 0, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "unknown fields");

    /* A non-minimal varint: TxnEntry{seq: 10 as two bytes, txn "a"}. */
    pg_buf_clear(&content);
    put_batch_bytes(&content, "\x12\x06\x08\x8a\x00\x12\x01\x61", 8);
    craft_all(&cr, 1, 0);
    cr.range_first = 1;
    cr.range_last = 20;
    expect_crafted_failure(&content, &cr, PG_EINVALID, "canonical");

    /* An entry with an empty txn. */
    pg_buf_clear(&content);
    put_batch_bytes(&content, "\x12\x02\x08\x0a", 4);
    craft_all(&cr, 1, 0);
    cr.range_first = 1;
    cr.range_last = 20;
    expect_crafted_failure(&content, &cr, PG_EINVALID, "empty txn");

    /* The plaintext ends inside a batch. */
    pg_buf_clear(&content);
    put_txns(&content, 0, 2);
    content.len -= 3;
    craft_all(&cr, 2, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "ends inside batch");
    pg_buf_dispose(&content);
}

static void test_bundle__refuses_bad_cards_seqs_and_counts(void **state)
{
    (void)state;
    pg_buf content = PG_BUF_INIT;
    craft cr;

    put_cards(&content, 0, NCARDS, card_bad_signature);
    craft_all(&cr, 0, NCARDS);
    expect_crafted_failure(&content, &cr, PG_EAUTH, "card 1 (batch 1");

    pg_buf_clear(&content);
    put_cards(&content, 0, NCARDS, card_bad_tier);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "unknown tier");

    pg_buf_clear(&content);
    put_cards(&content, 0, NCARDS, card_short_key);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "not 32 bytes");

    /* Cards after txns are read, in order (a card precedes the txns
     * that need it, not necessarily every txn). */
    pg_buf_clear(&content);
    put_txns(&content, 0, 2);
    put_cards(&content, 0, 1, NULL);
    craft_all(&cr, 2, 1);
    {
        collect c;
        assert_int_equal(craft_and_read(&content, &cr, &c, 0), 0);
        assert_int_equal(c.ncards, 1);
        assert_int_equal(c.ntxns, 2);
    }

    /* Seqs out of order, repeated, or outside the range. */
    pg_buf_clear(&content);
    put_txns(&content, 2, 4);
    put_txns(&content, 1, 2);
    craft_all(&cr, 3, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "not ascending");
    pg_buf_clear(&content);
    put_txns(&content, 2, 4);
    put_txns(&content, 3, 4);
    craft_all(&cr, 3, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "not ascending");
    pg_buf_clear(&content);
    put_txns(&content, 0, 3);
    craft_all(&cr, 3, 0);
    cr.range_first = F.seq[1];
    expect_crafted_failure(&content, &cr, PG_EINVALID, "within the range");
    pg_buf_clear(&content);
    put_txns(&content, 0, 3);
    craft_all(&cr, 3, 0);
    cr.range_last = F.seq[1];
    expect_crafted_failure(&content, &cr, PG_EINVALID, "within the range");

    /* More or fewer than the header announces. */
    pg_buf_clear(&content);
    put_txns(&content, 0, 5);
    craft_all(&cr, 4, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "more txns");
    craft_all(&cr, 6, 0);
    expect_crafted_failure(&content, &cr, PG_EINVALID,
                           "announces 0 cards and 6");
    pg_buf_clear(&content);
    put_cards(&content, 0, 2, NULL);
    craft_all(&cr, 0, 1);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "more cards");
    craft_all(&cr, 0, 3);
    expect_crafted_failure(&content, &cr, PG_EINVALID, "announces 3 cards");
    pg_buf_dispose(&content);
}

static void test_bundle__refuses_bad_frames_and_tags(void **state)
{
    (void)state;
    pg_buf content = PG_BUF_INIT, z = PG_BUF_INIT;
    craft cr;

    put_txns(&content, 0, NTXNS);
    compress(&z, &content, 0);
    size_t nf = (z.len + SMALL_FRAME - 1) / SMALL_FRAME;
    assert_true(nf > 4);
    uint8_t *tags = malloc(nf + 1);
    size_t *chunks = malloc((nf + 1) * sizeof(*chunks));
    assert_non_null(tags);
    assert_non_null(chunks);

    /* The last frame without the FINAL tag: frames went missing. */
    craft_all(&cr, NTXNS, 0);
    memset(tags, PG_STREAM_TAG_MESSAGE, nf);
    cr.tags = tags;
    expect_crafted_failure(&content, &cr, PG_EINVALID, "before the final");

    /* FINAL too early. */
    tags[1] = PG_STREAM_TAG_FINAL;
    tags[nf - 1] = PG_STREAM_TAG_FINAL;
    expect_crafted_failure(&content, &cr, PG_EINVALID,
                           "frame 3 at byte offset");
    assert_message_has("follows the final frame");

    /* A tag the format does not use (PUSH = 1). */
    memset(tags, PG_STREAM_TAG_MESSAGE, nf);
    tags[nf - 1] = PG_STREAM_TAG_FINAL;
    tags[2] = 1;
    expect_crafted_failure(&content, &cr, PG_EINVALID, "unexpected");

    /* A short frame that is not the last. */
    for (size_t i = 0; i < nf; i++)
        chunks[i] = SMALL_FRAME;
    chunks[1] = SMALL_FRAME - 1;
    chunks[2] = SMALL_FRAME + 1;
    chunks[nf - 1] = z.len - (nf - 1) * SMALL_FRAME;
    craft_all(&cr, NTXNS, 0);
    cr.chunks = chunks;
    cr.nchunks = nf;
    expect_crafted_failure(&content, &cr, PG_EINVALID,
                           "frame 3 at byte offset");
    assert_message_has("follows a frame shorter than frame_max");

    /* An empty FINAL frame after full frames: find content whose
     * compressed size is a multiple of frame_max. */
    pg_buf more = PG_BUF_INIT, zm = PG_BUF_INIT;
    uint8_t noise[512];
    rng_state = 0x13198a2e03707344u;
    for (size_t i = 0; i < sizeof(noise); i++)
        noise[i] = (uint8_t)test_rng_next(&rng_state);
    uint64_t extra_seq = F.seq[NTXNS - 1] + 1;
    for (size_t pad = 1; pad < sizeof(noise); pad++) {
        pg_buf_clear(&more);
        put_txns(&more, 0, NTXNS);
        put_entry(&more, extra_seq, noise, pad);
        pg_buf_dispose(&zm);
        compress(&zm, &more, 0);
        if (zm.len % SMALL_FRAME == 0)
            break;
    }
    assert_int_equal(zm.len % SMALL_FRAME, 0);
    size_t nfull = zm.len / SMALL_FRAME;
    size_t *full = malloc((nfull + 1) * sizeof(*full));
    assert_non_null(full);
    for (size_t i = 0; i < nfull; i++)
        full[i] = SMALL_FRAME;
    full[nfull] = 0;
    craft_all(&cr, NTXNS + 1, 0);
    cr.range_last = extra_seq;
    cr.plain = zm.data;
    cr.plain_len = zm.len;
    cr.chunks = full;
    cr.nchunks = nfull;
    collect c;
    assert_int_equal(craft_and_read(NULL, &cr, &c, 0), 0);
    cr.nchunks = nfull + 1;
    expect_crafted_failure(NULL, &cr, PG_EINVALID, "is empty");
    free(full);
    pg_buf_dispose(&zm);
    pg_buf_dispose(&more);

    free(tags);
    free(chunks);
    pg_buf_dispose(&z);
    pg_buf_dispose(&content);
}

static void test_bundle__refuses_bad_zstd_streams(void **state)
{
    (void)state;
    pg_buf content = PG_BUF_INIT, z = PG_BUF_INIT, two = PG_BUF_INIT;
    craft cr;
    collect c;

    put_txns(&content, 0, NTXNS);
    compress(&z, &content, 0);

    /* Bytes after the end of the zstd frame (a second frame). */
    assert_pg_ok(pg_buf_put(&two, z.data, z.len));
    assert_pg_ok(pg_buf_put(&two, z.data, z.len));
    craft_all(&cr, NTXNS, 0);
    cr.plain = two.data;
    cr.plain_len = two.len;
    expect_crafted_failure(NULL, &cr, PG_EINVALID,
                           "after the end of the zstd frame");

    /* The zstd frame cut short: inside a batch, and after whole batches
     * (flushed, but the frame never ended). */
    craft_all(&cr, NTXNS, 0);
    cr.plain = z.data;
    cr.plain_len = z.len - 5;
    int rc = craft_and_read(NULL, &cr, &c, 0);
    assert_int_equal(rc, PG_EINVALID);
    ZSTD_CCtx *zc = ZSTD_createCCtx();
    assert_non_null(zc);
    size_t cap = ZSTD_compressBound(content.len) + 64;
    uint8_t *flushed = malloc(cap);
    assert_non_null(flushed);
    ZSTD_inBuffer in = {content.data, content.len, 0};
    ZSTD_outBuffer out = {flushed, cap, 0};
    size_t left;
    do {
        left = ZSTD_compressStream2(zc, &out, &in, ZSTD_e_flush);
        assert_false(ZSTD_isError(left));
    } while (left != 0);
    ZSTD_freeCCtx(zc);
    craft_all(&cr, NTXNS, 0);
    cr.plain = flushed;
    cr.plain_len = out.pos;
    expect_crafted_failure(NULL, &cr, PG_EINVALID, "cut short");
    free(flushed);

    /* Not zstd at all. */
    craft_all(&cr, NTXNS, 0);
    cr.plain = content.data;
    cr.plain_len = content.len;
    expect_crafted_failure(NULL, &cr, PG_EINVALID, "malformed");

    /* A window larger than 16 MiB. */
    craft_all(&cr, NTXNS, 0);
    rc = craft_and_read(&content, &cr, &c, PG_BUNDLE_WINDOW_LOG_MAX + 1);
    assert_int_equal(rc, PG_EINVALID);
    assert_message_has("malformed");
    craft_all(&cr, NTXNS, 0);
    assert_int_equal(
        craft_and_read(&content, &cr, &c, PG_BUNDLE_WINDOW_LOG_MAX), 0);

    pg_buf_dispose(&two);
    pg_buf_dispose(&z);
    pg_buf_dispose(&content);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* The first test writes the bundle the others read. */
        cmocka_unit_test(
            test_bundle__round_trips_cards_and_txns_through_64_byte_frames),
        cmocka_unit_test(test_bundle__real_txns_arrive_decodable_and_verified),
        cmocka_unit_test(test_bundle__round_trips_with_the_default_frame_size),
        cmocka_unit_test(
            test_bundle__ack_only_bundle_has_one_empty_final_frame),
        cmocka_unit_test(
            test_bundle__cards_without_txns_and_a_range_without_txns),
        cmocka_unit_test(
            test_bundle__flipped_bytes_around_every_frame_boundary_fail),
        cmocka_unit_test(test_bundle__flipped_bytes_at_random_offsets_fail),
        cmocka_unit_test(test_bundle__truncation_at_every_boundary_fails),
        cmocka_unit_test(
            test_bundle__refuses_an_unknown_signer_before_reading_frames),
        cmocka_unit_test(test_bundle__refuses_a_header_that_another_key_signed),
        cmocka_unit_test(test_bundle__refuses_the_wrong_recipient_key),
        cmocka_unit_test(
            test_bundle__refuses_a_frame_claiming_4_gib_before_reading_it),
        cmocka_unit_test(test_bundle__refuses_trailing_bytes),
        cmocka_unit_test(test_bundle__header_callback_refusal_propagates),
        cmocka_unit_test(test_bundle__card_and_txn_callback_refusals_propagate),
        cmocka_unit_test(
            test_bundle__without_the_box_key_checks_framing_and_signatures),
        cmocka_unit_test(
            test_bundle__unknown_signer_can_be_inspected_unverified),
        cmocka_unit_test(test_bundle__header_may_decline_to_open_the_frames),
        cmocka_unit_test(test_bundle__refuses_a_decompression_bomb),
        cmocka_unit_test(test_bundle__writer_refuses_misuse),
        cmocka_unit_test(test_bundle__size_estimate_bounds_the_bundle),
        cmocka_unit_test(
            test_bundle__hand_made_bundle_reads_like_a_written_one),
        cmocka_unit_test(test_bundle__refuses_malformed_signed_headers),
        cmocka_unit_test(test_bundle__refuses_a_bad_preamble),
        cmocka_unit_test(test_bundle__refuses_malformed_batches),
        cmocka_unit_test(test_bundle__refuses_bad_cards_seqs_and_counts),
        cmocka_unit_test(test_bundle__refuses_bad_frames_and_tags),
        cmocka_unit_test(test_bundle__refuses_bad_zstd_streams),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
