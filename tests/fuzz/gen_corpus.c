/*
 * The seed corpora of the fuzz targets, made by pingan's own code: txns
 * built, sealed and signed by the txn module, bundles written by the
 * bundle writer, cards and certificates made by the node and cert
 * modules, requests signed as the HTTP client signs them, policy files
 * that the policy parser accepts, and JSON lines from the data generator
 * (tools/gen-src).  Keys come from the fixed seeds of fuzz.h, so the
 * harnesses (which use the same keys) verify what is made here.
 *
 *   pingan-fuzz-gen DIR    writes DIR/<target>/<name> for every target
 *
 * Run once when a format changes; its output is committed under
 * tests/fuzz/corpus/ (see tests/fuzz/README.md).
 */
#include "fuzz.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zstd.h>

#include "audit_internal.h"
#include "bundle.h"
#include "bundle.pb-c.h"
#include "gen.h"
#include "netauth.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/audit.h"
#include "pingan/cert.h"
#include "pingan/division.h"
#include "pingan/error.h"
#include "pingan/hlc.h"
#include "pingan/peer.h"
#include "pingan/policy.h"
#include "pingan/recovery.h"
#include "pingan/schema.h"
#include "pingan/txn.h"

static const char *out_dir;

static void put_file(const char *target, const char *name, const void *data,
                     size_t len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        fuzz_die(path);
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fuzz_die(path);
}

static void put_text(const char *target, const char *name, const char *text)
{
    put_file(target, name, text, strlen(text));
}

/* ---- txns ---------------------------------------------------------- */

#define RID1 "430321112000-01KAYY7580Q2R8ZK3TJ5M6N7P9"
#define RID2 "430321112000-01KAYY7580Q2R8ZK3TJ5M6N7PA"

/* A dispute txn of the sender (湘潭县), sealed with a fixed seed and
 * signed; `redact` drops one change and has the city sign as a hop. */
static pg_txn *make_txn(uint64_t seq, int variant)
{
    const fuzz_identity *s = fuzz_sender();
    pg_version zero, base;
    pg_txn *txn = NULL;
    memset(&zero, 0, sizeof(zero));
    memset(&base, 0, sizeof(base));

    if (pg_txn_new(&txn) < 0 ||
        pg_txn_set_header(txn, s->card.code, s->card.key_id, seq,
                          PG_HLC_PACK(FUZZ_TIME_MS + (int64_t)seq, 0),
                          "430321112000", "dispute", "李明") < 0)
        fuzz_die("txn header");
    memset(txn->seed, (int)seq, PG_SEED_LEN);
    txn->has_seed = true;
    pg_value text = {.kind = PG_VALUE_TEXT, .s = "邻里纠纷", .len = 12};
    pg_value name = {.kind = PG_VALUE_TEXT, .s = "陈建国", .len = 9};
    pg_value amount = {.kind = PG_VALUE_REAL, .r = 3600.5};
    pg_value count = {.kind = PG_VALUE_INT, .i = 2};
    pg_value yes = {.kind = PG_VALUE_BOOL, .b = true};
    if (pg_txn_add(txn, RID1, "dispute_type", &text, &zero) < 0 ||
        pg_txn_add(txn, RID1, "applicant_name", &name, &zero) < 0 ||
        pg_txn_add(txn, RID1, "amount_involved", &amount, &zero) < 0)
        fuzz_die("txn changes");
    if (variant >= 1) {
        base.hlc = PG_HLC_PACK(FUZZ_TIME_MS, 0);
        snprintf(base.origin, sizeof(base.origin), "%s", s->card.code);
        if (pg_txn_add(txn, RID2, "party_count", &count, &base) < 0 ||
            pg_txn_add(txn, RID2, "cross_region", &yes, &base) < 0)
            fuzz_die("txn changes");
    }
    if (pg_txn_seal(txn) < 0)
        fuzz_die("seal");
    pg_txn_sign(txn, s->sign_sk);
    if (variant == 2) {
        const fuzz_identity *hop = fuzz_recipient();
        uint8_t policy_hash[PG_HASH_LEN];
        memset(policy_hash, 0x33, sizeof(policy_hash));
        if (pg_txn_redact_drop(txn, 1, hop->card.code, "default-parent",
                               policy_hash) < 0 ||
            pg_txn_redact_derive(txn, 0, "纠纷", "mask", hop->card.code,
                                 "default-parent", policy_hash) < 0 ||
            pg_txn_hop_sign(txn, hop->card.code, hop->card.key_id,
                            hop->sign_sk) < 0)
            fuzz_die("redact");
    }
    return txn;
}

static void encode_txn(pg_buf *out, pg_txn *txn)
{
    pg_buf_clear(out);
    if (pg_txn_encode(out, txn) < 0)
        fuzz_die("encode");
}

static void gen_txns(void)
{
    pg_buf b;
    pg_buf_init(&b, PG_BUF_DEFAULT_MAX);
    for (int v = 0; v < 3; v++) {
        char name[32];
        pg_txn *txn = make_txn((uint64_t)v + 1, v);
        encode_txn(&b, txn);
        snprintf(name, sizeof(name), "txn-%d", v);
        put_file("txn", name, b.data, b.len);
        pg_txn_free(txn);
    }
    pg_buf_dispose(&b);
}

/* ---- bundles ------------------------------------------------------- */

static void issue_county_cert(pg_cert *cert)
{
    if (pg_cert_issue(cert, &fuzz_recipient()->card, fuzz_recipient()->sign_sk,
                      &fuzz_sender()->card, FUZZ_TIME_MS) < 0)
        fuzz_die("issue");
}

/* The audit header fields (19, 20) a seed bundle carries. */
#define AUDIT_OWN  1 /* the sender's own chain head, as to a parent */
#define AUDIT_SEEN 2 /* the recipient's head the sender holds */
#define AUDIT_HELD 4 /* the highest origin seq held of the recipient */
#define AUDIT_SEQ0 8 /* the own head with seq 0 (absent: to be refused) */

/* A bundle from the sender (湘潭县) to the city with `ntxn` txns, the
 * two cards when `cards`, the chain of trust when `chain`, the audit
 * header fields in `audit` (AUDIT_*). */
static void write_bundle(const char *name, int ntxn, bool cards, bool chain,
                         size_t frame_max, int audit)
{
    const fuzz_identity *s = fuzz_sender(), *r = fuzz_recipient();
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;
    pg_buf b, file;
    char *mem = NULL;
    size_t memlen = 0;

    pg_buf_init(&b, PG_BUF_DEFAULT_MAX);
    if (pg_bundle_writer_new(&w, s->sign_sk, r->card.box_pk, frame_max) < 0)
        fuzz_die("writer");
    if (cards && (pg_bundle_writer_add_card(w, &s->card) < 0 ||
                  pg_bundle_writer_add_card(w, &r->card) < 0))
        fuzz_die("add card");
    for (int i = 0; i < ntxn; i++) {
        pg_txn *txn = make_txn((uint64_t)i + 1, i % 3);
        encode_txn(&b, txn);
        pg_txn_free(txn);
        if (pg_bundle_writer_add_txn(w, (uint64_t)i + 1, b.data, b.len) < 0)
            fuzz_die("add txn");
    }
    memset(&info, 0, sizeof(info));
    memcpy(info.sender, s->card.code, sizeof(info.sender));
    memcpy(info.recipient, r->card.code, sizeof(info.recipient));
    memcpy(info.recipient_key_id, r->card.key_id,
           sizeof(info.recipient_key_id));
    info.schema_version = 1;
    memset(info.schema_hash, 0x17, sizeof(info.schema_hash));
    info.created_ms = FUZZ_TIME_MS;
    if (ntxn) {
        info.range_first = 1;
        info.range_last = (uint64_t)ntxn;
    }
    info.ack_upto = 3;
    if (audit & AUDIT_OWN) {
        info.has_audit_own = true;
        info.audit_own.seq = audit & AUDIT_SEQ0 ? 0 : 7;
        memset(info.audit_own.hash, 0xa7, PG_HASH_LEN);
    }
    if (audit & AUDIT_SEEN) {
        info.has_audit_seen = true;
        info.audit_seen.seq = 12;
        memset(info.audit_seen.hash, 0x5e, PG_HASH_LEN);
    }
    if (audit & AUDIT_HELD) {
        info.has_held = true;
        info.held_seq = 41;
    }
    if (chain) {
        info.has_root = true;
        info.root = r->card;
        info.nchain = 1;
        issue_county_cert(&info.chain[0]);
    }
    FILE *f = open_memstream(&mem, &memlen);
    if (!f || pg_bundle_writer_finish(w, &info, f) < 0 || fclose(f) != 0)
        fuzz_die("finish");
    pg_bundle_writer_free(w);
    put_file("bundle", name, mem, memlen);
    free(mem);
    (void)file;
    pg_buf_dispose(&b);
}

/* The decompressed content of a bundle: u32 length ‖ TxnBatch. */
static void put_batch(pg_buf *content, bool cards, int first, int ntxn)
{
    Pingan__V1__TxnBatch batch = PINGAN__V1__TXN_BATCH__INIT;
    Pingan__V1__Card pc[2], *pcp[2];
    Pingan__V1__TxnEntry pe[8], *pep[8];
    pg_buf txns[8];
    char tier[2][16];
    const fuzz_identity *ids[2] = {fuzz_sender(), fuzz_recipient()};

    if (cards) {
        for (int i = 0; i < 2; i++) {
            const pg_card *c = &ids[i]->card;
            pingan__v1__card__init(&pc[i]);
            pc[i].suite = c->suite;
            pc[i].code = (char *)c->code;
            pc[i].name = (char *)c->name;
            snprintf(tier[i], sizeof(tier[i]), "%s", pg_tier_name(c->tier));
            pc[i].tier = tier[i];
            pc[i].sign_pk =
                (ProtobufCBinaryData){PG_SIGN_PK_LEN, (uint8_t *)c->sign_pk};
            pc[i].box_pk =
                (ProtobufCBinaryData){PG_BOX_PK_LEN, (uint8_t *)c->box_pk};
            pc[i].created_ms = c->created_ms;
            pc[i].signature =
                (ProtobufCBinaryData){PG_SIG_LEN, (uint8_t *)c->signature};
            pcp[i] = &pc[i];
        }
        batch.n_cards = 2;
        batch.cards = pcp;
    }
    for (int i = 0; i < ntxn && i < 8; i++) {
        pg_txn *txn = make_txn((uint64_t)(first + i), (first + i - 1) % 3);
        pg_buf_init(&txns[i], PG_BUF_DEFAULT_MAX);
        encode_txn(&txns[i], txn);
        pg_txn_free(txn);
        pingan__v1__txn_entry__init(&pe[i]);
        pe[i].seq = (uint64_t)(first + i);
        pe[i].txn = (ProtobufCBinaryData){txns[i].len, txns[i].data};
        pep[i] = &pe[i];
    }
    batch.n_entries = (size_t)ntxn;
    batch.entries = pep;
    size_t n = pingan__v1__txn_batch__get_packed_size(&batch);
    if (pg_buf_put_u32be(content, (uint32_t)n) < 0 ||
        pg_buf_reserve(content, n) < 0)
        fuzz_die("batch");
    pingan__v1__txn_batch__pack(&batch, content->data + content->len);
    content->len += n;
    for (int i = 0; i < ntxn && i < 8; i++)
        pg_buf_dispose(&txns[i]);
}

/* A fuzz_bundle_open input: flags, cards, txns, frame_max, content. */
static void put_open(const char *name, uint8_t flags, uint8_t cards,
                     uint8_t ntxn, uint8_t frame_max, const pg_buf *content)
{
    pg_buf in;
    pg_buf_init(&in, PG_BUF_DEFAULT_MAX);
    uint8_t head[4] = {flags, cards, ntxn, frame_max};
    if (pg_buf_put(&in, head, 4) < 0 ||
        pg_buf_put(&in, content->data, content->len) < 0)
        fuzz_die("open seed");
    put_file("bundle_open", name, in.data, in.len);
    pg_buf_dispose(&in);
}

static void gen_bundles(void)
{
    write_bundle("empty", 0, false, false, 0, 0);
    write_bundle("txns-3", 3, false, false, 0, 0);
    write_bundle("cards-chain-txns-2", 2, true, true, 0, 0);
    write_bundle("small-frames", 4, true, false, 97, 0);
    write_bundle("audit-own-txns-2", 2, false, false, 0, AUDIT_OWN);
    write_bundle("audit-seen-held", 0, false, false, 0,
                 AUDIT_SEEN | AUDIT_HELD);
    write_bundle("audit-all-cards-chain", 1, true, true, 0,
                 AUDIT_OWN | AUDIT_SEEN | AUDIT_HELD);
    write_bundle("audit-own-seq-0", 0, false, false, 0, AUDIT_OWN | AUDIT_SEQ0);

    pg_buf content;
    pg_buf_init(&content, PG_BUF_DEFAULT_MAX);
    put_batch(&content, true, 1, 2);
    put_batch(&content, false, 3, 1);
    put_open("plain-2-batches", 1, 2, 3, 0, &content);
    put_open("plain-small-frames", 1, 2, 3, 61, &content);
    pg_buf_clear(&content);
    put_batch(&content, false, 1, 3);
    put_open("plain-txns-gap", 1 | (2 << 1), 0, 3, 0, &content);
    /* The same content as one zstd frame, fed to the frames as is. */
    pg_buf z;
    pg_buf_init(&z, PG_BUF_DEFAULT_MAX);
    if (pg_buf_reserve(&z, ZSTD_compressBound(content.len)) < 0)
        fuzz_die("zstd");
    z.len = ZSTD_compress(z.data, ZSTD_compressBound(content.len), content.data,
                          content.len, 3);
    if (ZSTD_isError(z.len))
        fuzz_die("zstd");
    put_open("zstd-txns", 0, 0, 3, 0, &z);
    pg_buf_clear(&content);
    put_open("empty", 0, 0, 0, 0, &content);
    pg_buf_dispose(&z);
    pg_buf_dispose(&content);
}

/* ---- cards and certificates --------------------------------------- */

static void gen_cards(void)
{
    char *json = pg_card_to_json(&fuzz_sender()->card);
    if (!json)
        fuzz_die("card");
    put_text("card", "county", json);
    free(json);
    json = pg_card_to_json(&fuzz_recipient()->card);
    if (!json)
        fuzz_die("card");
    put_text("card", "city", json);
    free(json);

    pg_cert cert;
    pg_field_value f[PG_CERT_FIELDS];
    pg_cert_text t;
    char text[2048];
    issue_county_cert(&cert);
    pg_cert_to_fields(f, &t, &cert);
    snprintf(text, sizeof(text),
             "%s\n%s\n%s\n%s\n%s\n%s\n%u\n%s\n%s\n%" PRId64 "\n%s\n",
             cert.subject.code, cert.subject.name,
             pg_tier_name(cert.subject.tier), t.sign_pk, t.box_pk,
             cert.subject.key_id, cert.subject.suite, cert.issuer,
             cert.issuer_key_id, cert.valid_from, t.signature);
    put_text("cert", "county-by-city", text);
}

/* ---- signed requests ---------------------------------------------- */

static void gen_requests(void)
{
    const fuzz_identity *s = fuzz_sender();
    char body[2 * PG_HASH_LEN + 1], text[4096];
    char sig[2 * PG_SIG_LEN + 1];
    uint8_t raw[PG_SIG_LEN];
    pg_net_body_hash(body, "", 0);
    const char *nonce = "00112233445566778899aabbccddeeff";
    const char *uri = "/v1/pull?from=430300000000&since=0";

    /* Signed by the harness ('!'), then with a response signed by the
     * county for it (as pg_net_sign_response makes one). */
    pg_net_auth a;
    if (pg_net_auth_parse(&a, s->card.code, s->card.key_id, "1767225600000",
                          nonce, body, "00") == 0)
        fuzz_die("a short signature parsed");
    pg_error_clear();
    memset(raw, 0, sizeof(raw));
    pg_hex(sig, raw, sizeof(raw));
    snprintf(text, sizeof(text), "!GET\n%s\n%s\n%s\n%" PRId64 "\n%s\n%s\n%s\n",
             uri, s->card.code, s->card.key_id, (int64_t)FUZZ_TIME_MS, nonce,
             body, sig);
    put_text("netauth", "signed-get", text);
    /* The county's answer to that request, signed over the message of
     * proto/FORMAT.md §8 (as pg_net_sign_response signs it). */
    char rsig[2 * PG_SIG_LEN + 1], msg[1024];
    int n = snprintf(
        msg, sizeof(msg),
        "pingan.http.response.v1\n200\n%s\n%s\n%s\n%s\n%" PRId64 "\n%s\nb-0001",
        s->card.code, s->card.code, nonce, sig, (int64_t)FUZZ_TIME_MS, body);
    pg_sign(raw, msg, (size_t)n, s->sign_sk);
    pg_hex(rsig, raw, sizeof(raw));
    snprintf(text, sizeof(text),
             "GET\n%s\n%s\n%s\n%" PRId64 "\n%s\n%s\n%s\n200\n%" PRId64
             "\n%s\nb-0001\n%s\n",
             uri, s->card.code, s->card.key_id, (int64_t)FUZZ_TIME_MS, nonce,
             body, sig, (int64_t)FUZZ_TIME_MS, body, rsig);
    put_text("netauth", "unsigned-get-response", text);
    snprintf(text, sizeof(text),
             "!POST\n/v1/push\n%s\n%s\n%" PRId64 "\n%s\n%s\n%s\n", s->card.code,
             s->card.key_id, (int64_t)FUZZ_TIME_MS + 11 * 60 * 1000, nonce,
             body, sig);
    put_text("netauth", "signed-post-skewed", text);
    put_text("netauth", "missing-headers", "GET\n/v1/status\n430321000000\n");
}

/* ---- policy files -------------------------------------------------- */

static void gen_policies(void)
{
    static const struct {
        const char *name;
        uint8_t link;
        const char *text;
    } p[] = {
        {"child-tighten", 0,
         "[agreement]\nid = xt-county-2026\n\n[dispute]\napplicant_phone = "
         "drop\nwhere = dispute_type = 邻里纠纷\n"},
        {"parent-default", 1, "[agreement]\nid = xt-province\n[hazard]\n"},
        {"partner-agreement", 2,
         "# Xiangtan–Changsha Art. 8 agreement\n[agreement]\nid = "
         "xt-cs-2026-01\npurpose = 联调\n\n[dispute]\nwhere = cross_region = "
         "true   ; 联调 only\napplicant_name = mask\napplicant_phone = "
         "hash\napplicant_id_number = hash\n[fraud_alert]\ntarget_phone = "
         "hash\nsuspect_phone = hash\n"},
        {"partner-grid", 3,
         "[agreement]\nid = xt-zz-2026\npurpose = 联防\n[grid_event]\n"},
    };
    static const char *codes[] = {"430321000000", "430000000000",
                                  "430100000000", "430200000000"};
    static const pg_peer_role roles[] = {PG_PEER_CHILD, PG_PEER_PARENT,
                                         PG_PEER_PARTNER, PG_PEER_PARTNER};
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        pg_peer peer;
        pg_policy *pol = NULL;
        memset(&peer, 0, sizeof(peer));
        snprintf(peer.code, sizeof(peer.code), "%s", codes[p[i].link]);
        peer.tier = pg_division_tier(peer.code);
        peer.role = roles[p[i].link];
        /* Only files the parser accepts make good seeds. */
        if (pg_policy_parse(&pol, p[i].text, strlen(p[i].text), p[i].name,
                            &fuzz_recipient()->card, &peer) < 0)
            fuzz_die(p[i].name);
        pg_policy_free(pol);
        pg_buf in;
        pg_buf_init(&in, PG_BUF_DEFAULT_MAX);
        if (pg_buf_putc(&in, p[i].link) < 0 || pg_buf_puts(&in, p[i].text) < 0)
            fuzz_die("policy seed");
        put_file("policy", p[i].name, in.data, in.len);
        pg_buf_dispose(&in);
    }
}

/* ---- JSON lines ---------------------------------------------------- */

static void gen_import(const char *csv)
{
    static const char *colls[] = {"dispute", "hazard", "grid_event",
                                  "fraud_alert"};
    gen *g = gen_new(csv);
    if (!g)
        fuzz_die("the divisions table");
    char err[256];
    if (gen_scope(g, "430321112000", err, sizeof(err)) < 0)
        fuzz_die(err);
    for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
        pg_buf in;
        pg_buf_init(&in, PG_BUF_DEFAULT_MAX);
        gen_seed(g, 7, colls[i]);
        if (pg_buf_printf(&in, "%s\n", colls[i]) < 0)
            fuzz_die("import seed");
        for (int k = 0; k < 3; k++) {
            size_t len = 0;
            const char *rec = gen_record(g, colls[i], &len);
            if (!rec || pg_buf_put(&in, rec, len) < 0 ||
                (len && rec[len - 1] != '\n' && pg_buf_putc(&in, '\n') < 0))
                fuzz_die("record");
        }
        put_file("import", colls[i], in.data, in.len);
        pg_buf_dispose(&in);
    }
    gen_free(g);
}

/* ---- backups and rekey cards --------------------------------------- */

static void read_whole(pg_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[65536];
    size_t n;
    if (!f)
        fuzz_die(path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (pg_buf_put(out, chunk, n) < 0)
            fuzz_die("out of memory");
    fclose(f);
}

static void write_whole(const char *dir, const char *name, const void *data,
                        size_t len)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fuzz_die(path);
}

/* A node of 湘潭县 with the fixed identity of fuzz.h (so that the rekey
 * harness verifies its cards with the key it knows). */
static pg_node *sender_node(const char *dir)
{
    const fuzz_identity *id = fuzz_sender();
    pg_node *node = NULL;
    if (pg_node_init(dir, FUZZ_SENDER, id->card.name) < 0)
        fuzz_die("node init");
    char *json = pg_card_to_json(&id->card);
    if (!json)
        fuzz_die("card");
    write_whole(dir, "sign.key", id->sign_sk, PG_SIGN_SK_LEN);
    write_whole(dir, "box.key", id->box_sk, PG_BOX_SK_LEN);
    write_whole(dir, "card.json", json, strlen(json));
    free(json);
    if (pg_node_open(&node, dir) < 0)
        fuzz_die("node open");
    return node;
}

/* Decrypt a backup made with FUZZ_BACKUP_PASS into the records of
 * fuzz_backup_open (the first part, which repeats the header, left out:
 * the harness adds it). */
static void backup_records(pg_buf *out, const pg_buf *file)
{
    uint8_t key[PG_STREAM_KEY_LEN], plain[70000], tag, kind, len4[4];
    pg_stream_state st;
    const uint8_t *h = file->data;
    uint32_t ops = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
                   (uint32_t)h[10] << 8 | h[11];
    uint32_t mem = (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 |
                   (uint32_t)h[14] << 8 | h[15];
    if (pg_pwhash(key, sizeof(key), FUZZ_BACKUP_PASS, strlen(FUZZ_BACKUP_PASS),
                  h + 16, ops, mem) < 0 ||
        !pg_stream_init_pull(&st, h + 32, key))
        fuzz_die("backup key");
    size_t off = FUZZ_BACKUP_HEADER_LEN;
    for (bool first = true; off + 4 <= file->len; first = false) {
        const uint8_t *p = file->data + off;
        uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                     (uint32_t)p[2] << 8 | p[3];
        if (n < PG_STREAM_ABYTES || n - PG_STREAM_ABYTES > sizeof(plain) ||
            off + 4 + n > file->len ||
            !pg_stream_pull(&st, plain, &tag, p + 4, n))
            fuzz_die("backup part");
        off += 4 + n;
        if (first)
            continue;
        n -= PG_STREAM_ABYTES;
        kind = tag == PG_STREAM_TAG_FINAL ? 1 : 0;
        len4[0] = (uint8_t)(n >> 24);
        len4[1] = (uint8_t)(n >> 16);
        len4[2] = (uint8_t)(n >> 8);
        len4[3] = (uint8_t)n;
        if (pg_buf_put(out, &kind, 1) < 0 || pg_buf_put(out, len4, 4) < 0 ||
            pg_buf_put(out, plain, n) < 0)
            fuzz_die("out of memory");
    }
    if (off != file->len)
        fuzz_die("backup trailer");
}

/* One record of fuzz_backup_open. */
static void put_record(pg_buf *out, uint8_t kind, const void *data, size_t n)
{
    uint8_t len4[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
                       (uint8_t)(n >> 8), (uint8_t)n};
    if (pg_buf_put(out, &kind, 1) < 0 || pg_buf_put(out, len4, 4) < 0 ||
        pg_buf_put(out, data, n) < 0)
        fuzz_die("out of memory");
}

/* A file header part: 'F' ‖ u32 name length ‖ name ‖ u32 mode ‖ u64 size. */
static void put_fheader(pg_buf *out, const char *name, uint64_t size)
{
    uint8_t b[128];
    size_t nl = strlen(name), i = 0;
    b[i++] = 'F';
    for (int k = 3; k >= 0; k--)
        b[i++] = (uint8_t)(nl >> (8 * k));
    memcpy(b + i, name, nl);
    i += nl;
    for (int k = 3; k >= 0; k--)
        b[i++] = (uint8_t)(0600 >> (8 * k));
    for (int k = 7; k >= 0; k--)
        b[i++] = (uint8_t)(size >> (8 * k));
    put_record(out, 0, b, i);
}

static void gen_backups(const char *work)
{
    char dir[4200], file[4200], cardf[4200];
    pg_recovery_opts o = PG_RECOVERY_OPTIONS_INIT;
    pg_buf b = PG_BUF_INIT, r = PG_BUF_INIT;
    o.kdf_ops = FUZZ_BACKUP_OPS;
    o.kdf_mem_kib = FUZZ_BACKUP_MEM_KIB;

    snprintf(dir, sizeof(dir), "%s/county", work);
    snprintf(file, sizeof(file), "%s/county.pgbk", work);
    pg_node *node = sender_node(dir);
    /* Small pages make a small store (a page for every table and index)
     * and so a small seed; the backup copies the store as it is. */
    if (sqlite3_exec(node->db,
                     "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; "
                     "VACUUM; PRAGMA journal_mode=WAL",
                     NULL, NULL, NULL) != SQLITE_OK)
        fuzz_die("vacuum");
    if (pg_recovery_backup(node, file, FUZZ_BACKUP_PASS,
                           strlen(FUZZ_BACKUP_PASS), &o, NULL) < 0)
        fuzz_die("backup");
    read_whole(&b, file);
    put_file("backup", "county", b.data, b.len);
    backup_records(&r, &b);
    put_file("backup_open", "county", r.data, r.len);

    /* Broken variants of the file. */
    put_file("backup", "truncated", b.data, b.len / 2);
    if (pg_buf_put(&b, "", 1) < 0)
        fuzz_die("out of memory");
    put_file("backup", "trailing-byte", b.data, b.len);
    b.len--;
    put_file("backup", "header-only", b.data, FUZZ_BACKUP_HEADER_LEN);
    /* These fail on the header or the first part: the rest is left out
     * (a small seed). */
    uint8_t m[FUZZ_BACKUP_HEADER_LEN + 4 + FUZZ_BACKUP_HEADER_LEN +
              PG_STREAM_ABYTES + 64];
    memcpy(m, b.data, sizeof(m));
    m[4] = 2; /* a newer format */
    put_file("backup", "format-2", m, sizeof(m));
    m[4] = 1;
    m[11] = 17; /* passes out of range */
    put_file("backup", "passes-17", m, sizeof(m));
    m[11] = (uint8_t)FUZZ_BACKUP_OPS;
    m[15] = 4; /* memory out of range */
    put_file("backup", "memory-4k", m, sizeof(m));
    m[15] = (uint8_t)FUZZ_BACKUP_MEM_KIB;
    m[FUZZ_BACKUP_HEADER_LEN + 10] ^= 1; /* the first part altered */
    put_file("backup", "altered", m, sizeof(m));

    /* Broken variants behind the encryption. */
    pg_buf v = PG_BUF_INIT;
    if (pg_buf_put(&v, r.data, r.len) < 0)
        fuzz_die("out of memory");
    v.data[0] = 1; /* the first file header tagged FINAL */
    put_file("backup_open", "final-first", v.data, v.len);
    v.data[0] = 0;
    put_record(&v, 2, "x", 1); /* a byte after the last part */
    put_file("backup_open", "trailing-byte", v.data, v.len);
    pg_buf_clear(&v);
    put_fheader(&v, "card.json", 2);
    put_record(&v, 0, "D{}", 3);
    put_fheader(&v, "card.json", 0);
    put_record(&v, 1, "E\0\0\0\2", 5);
    put_file("backup_open", "twice", v.data, v.len);
    pg_buf_clear(&v);
    put_fheader(&v, "../store.db", 0);
    put_record(&v, 1, "E\0\0\0\1", 5);
    put_file("backup_open", "dotdot", v.data, v.len);
    pg_buf_clear(&v);
    put_fheader(&v, "store.db", 5);
    put_record(&v, 0, "Dabc", 4);
    put_record(&v, 1, "E\0\0\0\1", 5);
    put_file("backup_open", "short-file", v.data, v.len);
    pg_buf_clear(&v);
    put_fheader(&v, "store.db", 4);
    put_record(&v, 0, "Dabcd", 5);
    put_record(&v, 1, "E\0\0\0\1", 5);
    put_file("backup_open", "not-a-store", v.data, v.len);
    pg_buf_dispose(&v);

    /* A rekey card of the fixed identity (FORMAT.md §10.4). */
    char new_id[PG_KEY_ID_LEN + 1];
    int64_t last;
    snprintf(cardf, sizeof(cardf), "%s/rekey.json", work);
    if (pg_recovery_rekey(node, cardf, new_id, &last) < 0)
        fuzz_die("rekey");
    pg_node_free(node);
    pg_buf_clear(&b);
    read_whole(&b, cardf);
    put_file("rekey", "county", b.data, b.len);
    /* Broken: last_seq changed under the signature, and not a card. */
    char *text = malloc(b.len + 1);
    if (!text)
        fuzz_die("out of memory");
    memcpy(text, b.data, b.len);
    text[b.len] = 0;
    char *ls = strstr(text, "\"last_seq\": 0");
    if (!ls)
        fuzz_die("rekey card last_seq");
    ls[12] = '7';
    put_text("rekey", "last-seq-altered", text);
    /* The same for the harness to sign again ('!'): certify revokes after
     * seq 7. */
    size_t tlen = strlen(text);
    char *bang = malloc(tlen + 1);
    if (!bang)
        fuzz_die("out of memory");
    bang[0] = '!';
    memcpy(bang + 1, text, tlen);
    put_file("rekey", "resign-last-seq-7", bang, tlen + 1);
    free(bang);
    free(text);
    put_text("rekey", "card-only", "{\"rekey\": 1, \"last_seq\": 0}");

    /* The node after rekey holds a retired key: a backup with it. */
    snprintf(file, sizeof(file), "%s/rekeyed.pgbk", work);
    if (pg_node_open(&node, dir) < 0 ||
        pg_recovery_backup(node, file, FUZZ_BACKUP_PASS,
                           strlen(FUZZ_BACKUP_PASS), &o, NULL) < 0)
        fuzz_die("backup after rekey");
    pg_node_free(node);
    pg_buf_clear(&b);
    read_whole(&b, file);
    pg_buf_clear(&r);
    backup_records(&r, &b);
    put_file("backup_open", "rekeyed", r.data, r.len);
    pg_buf_dispose(&b);
    pg_buf_dispose(&r);
}

/* ---- audit heads files ------------------------------------------- */

/* A node in the generator's temporary directory, acting as `code`. */
static pg_node *make_node(const char *code, const char *name)
{
    char dir[4200];
    pg_node *n = NULL;
    snprintf(dir, sizeof(dir), "%s/%s", fuzz_tmpdir(), code);
    if (pg_node_init_as(dir, code, name, "gen") < 0 ||
        pg_node_open(&n, dir) < 0)
        fuzz_die("node");
    return n;
}

/* The parent records a child's chain head, as importing one of its
 * bundles does. */
static void record_head(pg_node *parent, const char *code,
                        const pg_audit_head *head)
{
    if (pg_store__begin(parent->db) < 0 ||
        pg_audit__child_head_received(parent, code, head) < 0 ||
        pg_store__commit(parent->db) < 0)
        fuzz_die("record a head");
}

/* The parent's heads file, with `edit` applied to its JSON (NULL: as
 * exported). */
static void put_heads(const char *name, pg_node *parent,
                      void (*edit)(json_t *root), bool complete)
{
    pg_buf b;
    pg_buf_init(&b, PG_BUF_DEFAULT_MAX);
    if (pg_audit_heads_export(&b, parent) < 0 || pg_buf_putc(&b, 0) < 0)
        fuzz_die("heads export");
    if (!edit) {
        put_file("heads", name, b.data, b.len - 1);
    } else {
        json_t *root = json_loads((const char *)b.data, 0, NULL);
        if (!root)
            fuzz_die("heads JSON");
        edit(root);
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        pg_buf_clear(&b);
        if (!text || (complete && pg_buf_putc(&b, '!') < 0) ||
            pg_buf_puts(&b, text) < 0)
            fuzz_die("heads JSON");
        put_file("heads", name, b.data, b.len);
        free(text);
        json_decref(root);
    }
    pg_buf_dispose(&b);
}

static json_t *first_head(json_t *root)
{
    return json_array_get(json_object_get(root, "heads"), 0);
}

static void edit_sig(json_t *root)
{
    char sig[2 * PG_SIG_LEN + 1];
    snprintf(sig, sizeof(sig), "%s",
             json_string_value(json_object_get(root, "signature")));
    sig[0] = sig[0] == '0' ? '1' : '0';
    json_object_set_new(root, "signature", json_string(sig));
}

static void edit_seq(json_t *root)
{
    json_t *h = first_head(root);
    json_object_set_new(
        h, "seq",
        json_integer(json_integer_value(json_object_get(h, "seq")) - 1));
}

/* For the harness to complete (fuzz_heads.c, '!'): the child's head at
 * seq 2 with its real hash, at seq 99 (beyond the chain), at seq 1 with
 * a hash of zeros. */
static void set_child_head(json_t *root, json_int_t seq, const char *hash)
{
    json_t *h = json_array_get(json_object_get(root, "heads"), 1);
    json_object_set_new(h, "seq", json_integer(seq));
    json_object_set_new(h, "hash", json_string(hash));
}

static void edit_held(json_t *root)
{
    set_child_head(root, 2, "HEAD");
}

static void edit_beyond(json_t *root)
{
    set_child_head(root, 99,
                   "00000000000000000000000000000000000000000000000"
                   "00000000000000000");
}

static void edit_rewritten(json_t *root)
{
    set_child_head(root, 1,
                   "00000000000000000000000000000000000000000000000"
                   "00000000000000000");
}

static void edit_format(json_t *root)
{
    json_object_set_new(root, "format", json_integer(2));
}

static void edit_node(json_t *root)
{
    json_object_set_new(root, "node", json_string("430302000000"));
}

static void edit_no_hash(json_t *root)
{
    json_object_del(first_head(root), "hash");
}

static void edit_no_heads(json_t *root)
{
    json_array_clear(json_object_get(root, "heads"));
}

/* Heads files of the city (the fixed 湘潭市 identity) holding the head of
 * a real 湘潭县 chain (and of 雨湖区), as exported, and broken: the
 * signature, a seq, the format, the exporter, a missing hash, no heads. */
static void gen_heads(void)
{
    pg_node *county = make_node(FUZZ_SENDER, "湘潭县");
    pg_node *parent = make_node(FUZZ_RECIPIENT, "湘潭市");
    const fuzz_identity *city = fuzz_recipient();
    pg_audit_head head;

    /* The parent signs as the fixed identity the harness pins. */
    parent->card = city->card;
    memcpy(parent->sign_sk, city->sign_sk, PG_SIGN_SK_LEN);
    memcpy(parent->box_sk, city->box_sk, PG_BOX_SK_LEN);

    char *card = pg_card_to_json(&city->card);
    if (!card || pg_node_set_operator(county, "gen") < 0 ||
        pg_peer_add(county, card, strlen(card), PG_PEER_PARENT, NULL, NULL) < 0)
        fuzz_die("pin the parent");
    free(card);
    pg_audit_head other = {.seq = 5};
    memset(other.hash, 0x3c, PG_HASH_LEN);
    record_head(parent, "430302000000", &other);
    put_heads("no-head-of-the-child", parent, NULL, false);
    if (pg_audit_head_get(&head, county) < 0)
        fuzz_die("head");
    record_head(parent, FUZZ_SENDER, &head);
    put_heads("two-heads", parent, NULL, false);
    put_heads("bad-signature", parent, edit_sig, false);
    put_heads("seq-changed", parent, edit_seq, false);
    put_heads("format-2", parent, edit_format, false);
    put_heads("not-the-parent", parent, edit_node, false);
    put_heads("head-without-hash", parent, edit_no_hash, false);
    put_heads("no-heads", parent, edit_no_heads, false);
    put_heads("complete-held", parent, edit_held, true);
    put_heads("complete-beyond", parent, edit_beyond, true);
    put_heads("complete-rewritten", parent, edit_rewritten, true);
    pg_node_free(county);
    pg_node_free(parent);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT_DIR DIVISIONS_CSV\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
        fuzz_die(out_dir);
    gen_txns();
    gen_bundles();
    gen_cards();
    gen_requests();
    gen_policies();
    gen_import(argv[2]);
    gen_backups(fuzz_tmpdir());
    gen_heads();
    return 0;
}
