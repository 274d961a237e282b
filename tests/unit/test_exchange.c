/*
 * Exchange (pingan/exchange.h, DESIGN §4–§5): real nodes in temporary
 * directories — the county 湘潭县, its township 石潭镇 and another
 * township 易俗河镇 — exporting and importing bundle files in-process.
 *
 * A bundle that is bad as a whole is refused with an error code and a
 * message that says why, and the receiving store is left exactly as it
 * was: a digest of every table's full contents (every table in
 * sqlite_master, every row, ordered by all columns) is the same before
 * and after.  Bad as a whole: a flipped byte at and around every frame
 * boundary of a bundle cut into 64-byte frames and at 256 random places,
 * truncation at the same places, a bundle signed by a key no pinned peer
 * holds (an impostor with the county's code), one addressed to another
 * node, a frame claiming 4 GiB, a decompression bomb, a newer schema.
 * The untouched bundle still applies afterwards.  Damage near the end of
 * a bundle of 600 txns, found only after the importer has merged many of
 * them, rolls all of them back.  An old bundle replayed after newer ones
 * applies nothing and changes no table (but the peer's last-sync time).
 * Inside an otherwise good bundle, a txn with a bad origin signature, one
 * outside the sender's jurisdiction and an equivocating one are
 * quarantined, with their reasons, while the good txns apply.  The chain
 * of trust in a parent's header (DESIGN §7): one that does not start at
 * the pinned parent's key, or whose certificates are not signed by the
 * next, refuses the bundle whole; through a real city → county → 石潭镇
 * → community exchange, the community learns the county's key from the
 * chain (never pinning it) and applies the county's txns, which waited
 * pending while no chain had reached it.
 */
#include "testutil.h"

#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/exchange.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/quarantine.h"
#include "pingan/record.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include "bundle.h"
#include "keys.h"
#include "node_internal.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP "测试员"

enum {
    COUNTY, /* 430321000000 湘潭县 */
    SHITAN, /* 430321112000 石潭镇, child of the county */
    YISUHE, /* 430321100000 易俗河镇, another child of the county */
    NNODES
};

static const test_node_spec specs[NNODES] = {
    {"430321000000", "湘潭县"},
    {"430321112000", "石潭镇"},
    {"430321100000", "易俗河镇"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
} fixture;

/* ---- nodes ------------------------------------------------------------ */

static void pin(fixture *fx, int at, int who, pg_peer_role role)
{
    test_pin(fx->node[at], fx->card[who], role);
}

static int teardown(void **state);

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    if (test_nodes_setup(fx->node, fx->card, fx->root, specs, NNODES) < 0) {
        teardown((void **)&fx);
        return -1;
    }
    pin(fx, COUNTY, SHITAN, PG_PEER_CHILD);
    pin(fx, SHITAN, COUNTY, PG_PEER_PARENT);
    pin(fx, COUNTY, YISUHE, PG_PEER_CHILD);
    pin(fx, YISUHE, COUNTY, PG_PEER_PARENT);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    test_nodes_free(fx->node, fx->card, NNODES);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

/* ---- bytes and files --------------------------------------------------- */

typedef test_blob blob;

static blob read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    blob b = {malloc((size_t)n), (size_t)n};
    assert_non_null(b.data);
    assert_int_equal(fread(b.data, 1, b.len, f), b.len);
    fclose(f);
    return b;
}

static void write_all(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static uint64_t rng_state;

/* ---- the store's digest ------------------------------------------------ */

static void hash_u64(pg_hash_state *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    pg_hash_update(h, b, sizeof(b));
}

/* Length-prefixed, so that concatenations cannot collide. */
static void hash_bytes(pg_hash_state *h, const void *p, size_t len)
{
    hash_u64(h, len);
    if (len)
        pg_hash_update(h, p, len);
}

/* Every row of one table, ordered by all its columns. */
static void hash_table(pg_hash_state *h, pg_node *node, const char *table,
                       bool skip_sync_time)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int rc, ncols = 0;

    /* Its columns, by name. */
    assert_pg_ok(pg_buf_printf(&sql, "SELECT * FROM \"%s\" LIMIT 0", table));
    assert_pg_ok(pg_buf_putc(&sql, 0));
    assert_int_equal(
        sqlite3_prepare_v2(node->db, (const char *)sql.data, -1, &st, NULL),
        SQLITE_OK);
    pg_buf_clear(&sql);
    assert_pg_ok(pg_buf_puts(&sql, "SELECT "));
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        /* An import that applies stamps the sender's last sync. */
        if (skip_sync_time && strcmp(table, "peer") == 0 &&
            strcmp(name, "last_sync_ms") == 0)
            continue;
        assert_pg_ok(pg_buf_printf(&sql, "%s\"%s\"", ncols ? ", " : "", name));
        ncols++;
    }
    sqlite3_finalize(st);
    assert_true(ncols > 0);
    assert_pg_ok(pg_buf_printf(&sql, " FROM \"%s\" ORDER BY ", table));
    for (int i = 1; i <= ncols; i++)
        assert_pg_ok(pg_buf_printf(&sql, "%s%d", i > 1 ? ", " : "", i));
    assert_pg_ok(pg_buf_putc(&sql, 0));
    assert_int_equal(
        sqlite3_prepare_v2(node->db, (const char *)sql.data, -1, &st, NULL),
        SQLITE_OK);
    pg_buf_dispose(&sql);

    uint64_t rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            int type = sqlite3_column_type(st, i);
            hash_u64(h, (uint64_t)type);
            switch (type) {
            case SQLITE_NULL:
                break;
            case SQLITE_INTEGER:
                hash_u64(h, (uint64_t)sqlite3_column_int64(st, i));
                break;
            case SQLITE_FLOAT: {
                double d = sqlite3_column_double(st, i);
                hash_bytes(h, &d, sizeof(d));
                break;
            }
            case SQLITE_TEXT:
                hash_bytes(h, sqlite3_column_text(st, i),
                           (size_t)sqlite3_column_bytes(st, i));
                break;
            default:
                hash_bytes(h, sqlite3_column_blob(st, i),
                           (size_t)sqlite3_column_bytes(st, i));
            }
        }
        rows++;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    hash_u64(h, rows);
}

/*
 * A digest of the whole store: every schema object of sqlite_master and
 * every row of every table but `rejected`, where refusals are recorded
 * (assert_refused checks that row).  With skip_sync_time, the peer
 * table's last_sync_ms column is left out.
 */
static void store_digest(uint8_t out[PG_HASH_LEN], pg_node *node,
                         bool skip_sync_time)
{
    pg_hash_state h;
    sqlite3_stmt *st = NULL;
    char names[128][128];
    size_t n = 0;
    int rc;

    pg_hash_init(&h, PG_HASH_LEN);
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT type, name, tbl_name, "
                                        "coalesce(sql, '') FROM sqlite_master "
                                        "ORDER BY type, name",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < 4; i++)
            hash_bytes(&h, sqlite3_column_text(st, i),
                       (size_t)sqlite3_column_bytes(st, i));
        if (strcmp((const char *)sqlite3_column_text(st, 0), "table") == 0) {
            assert_true(n < sizeof(names) / sizeof(names[0]));
            snprintf(names[n++], sizeof(names[0]), "%s",
                     (const char *)sqlite3_column_text(st, 1));
        }
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    assert_true(n > 10); /* meta, log, peer, the sync tables, collections */
    for (size_t i = 0; i < n; i++) {
        hash_bytes(&h, names[i], strlen(names[i]));
        /* The audit trail records every import, refused or not: it is
         * checked where it matters (assert_refused, test_audit.c). */
        if (strcmp(names[i], "rejected") != 0 && strcmp(names[i], "audit") != 0)
            hash_table(&h, node, names[i], skip_sync_time);
    }
    pg_hash_final(&h, out);
}

/* ---- records, logs, bundles -------------------------------------------- */

/* A hazard written on `node` in `division`. */
static void put_hazard(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                       const char *division, const char *description)
{
    pg_field_value v[] = {
        {"division", test_text(division)},
        {"category", test_text("公共安全风险")},
        {"description", test_text(description)},
    };
    assert_pg_ok(pg_record_put(id, node, "hazard", NULL, v, 3, OP));
}

static void set_description(pg_node *node, const char *id,
                            const char *description)
{
    pg_field_value v = {"description", test_text(description)};
    assert_pg_ok(pg_record_put(NULL, node, "hazard", id, &v, 1, OP));
}

/* The description of a hazard on `node` (static buffer); NULL when the
 * record is not there. */
static const char *get_description(pg_node *node, const char *id)
{
    static char out[1024];
    pg_record *rec = NULL;
    size_t f;

    pg_error_clear();
    int rc = pg_record_get(&rec, node, "hazard", id);
    if (rc == PG_ENOTFOUND)
        return NULL;
    assert_int_equal(rc, 0);
    assert_non_null(pg_collection_field(rec->coll, "description", &f));
    assert_int_equal(rec->values[f].kind, PG_VALUE_TEXT);
    snprintf(out, sizeof(out), "%.*s", (int)rec->values[f].len,
             rec->values[f].s);
    pg_record_free(rec);
    return out;
}

/* The body of entry `seq` of a node's log. */
static blob log_body(pg_node *node, uint64_t seq)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT body FROM log WHERE seq = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    blob b = test_blob_copy(sqlite3_column_blob(st, 0),
                            (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return b;
}

static uint64_t log_last(pg_node *node)
{
    return (uint64_t)test_sql_int(node,
                                  "SELECT coalesce(max(seq), 0) FROM log");
}

typedef struct exported {
    size_t files;
    pg_export_file f;
    char path[4096];
} exported;

static int on_export(const pg_export_file *file, void *payload)
{
    exported *e = payload;
    e->files++;
    e->f = *file;
    snprintf(e->path, sizeof(e->path), "%s", file->path);
    e->f.path = e->path;
    return 0;
}

/* Export from one fixture node to another as one file named `name`. */
static void export_to(exported *e, fixture *fx, int from, int to,
                      const char *name, size_t frame_max)
{
    char path[4096];
    testutil_path(path, sizeof(path), fx->root, name);
    pg_export_opts o = {
        .to = specs[to].code, .out = path, .frame_max = frame_max};
    memset(e, 0, sizeof(*e));
    assert_pg_ok(pg_bundle_export(fx->node[from], &o, on_export, e));
    assert_int_equal(e->files, 1);
}

/* Import a file that must apply. */
static void import_ok(pg_bundle_report *r, pg_node *node, const char *path)
{
    pg_error_clear();
    int rc = pg_bundle_import(node, path, r);
    if (rc != 0)
        print_error("importing %s: %d %s\n", path, rc, r->message);
    assert_int_equal(rc, 0);
    assert_int_equal(r->status, PG_BUNDLE_APPLIED);
    assert_int_not_equal(sqlite3_get_autocommit(node->db), 0);
}

/*
 * Import a file that must be refused as a whole: with `code` (0: any
 * refusal: PG_EINVALID, PG_EAUTH, or PG_EUPGRADE for a format byte that
 * reads as a newer format), a message containing `needle`
 * (NULL: any non-empty message), and every table as `want`.  `what` says
 * which attempt this is.  Returns the error.
 */
static int assert_refused(pg_node *node, const char *path, int code,
                          const char *needle, const uint8_t want[PG_HASH_LEN],
                          const char *what)
{
    pg_bundle_report r;
    uint8_t got[PG_HASH_LEN];

    pg_error_clear();
    int rc = pg_bundle_import(node, path, &r);
    const char *msg = pg_error_last()->message;
    bool code_ok =
        code ? rc == code
             : rc == PG_EINVALID || rc == PG_EAUTH || rc == PG_EUPGRADE;
    if (!code_ok || (needle && !strstr(msg, needle)) || !msg[0])
        print_error("%s: got %d \"%s\"; want %d with \"%s\"\n", what, rc, msg,
                    code, needle ? needle : "");
    assert_true(code_ok);
    assert_true(msg[0] != 0);
    if (needle)
        assert_non_null(strstr(msg, needle));
    assert_int_equal(r.status, PG_BUNDLE_REFUSED);
    assert_int_equal(r.error, rc);
    assert_string_equal(r.message, msg);
    /* The refusal is recorded for `pingan status`, with its reason. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT source, reason FROM rejected "
                                        "ORDER BY id DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "bundle");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), msg);
    sqlite3_finalize(st);
    /* And in the audit trail, as the last entry. */
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT action, json_extract(detail, "
                                        "'$.source') FROM audit ORDER BY seq "
                                        "DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "refuse");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "bundle");
    sqlite3_finalize(st);
    assert_int_equal(r.applied + r.quarantined + r.pending + r.duplicates, 0);
    /* No transaction left open, nothing committed. */
    assert_int_not_equal(sqlite3_get_autocommit(node->db), 0);
    store_digest(got, node, false);
    if (memcmp(got, want, PG_HASH_LEN) != 0)
        print_error("%s: the store changed (%s)\n", what, msg);
    assert_memory_equal(got, want, PG_HASH_LEN);
    return rc;
}

/* One entry of a hand-built bundle: the sender's log seq and txn bytes. */
typedef struct entry {
    uint64_t seq;
    const uint8_t *body;
    size_t len;
} entry;

/* A chain of trust for a bundle's header (none when root is NULL). */
typedef struct trust {
    const pg_card *root;
    const pg_cert *chain;
    size_t n;
} trust;

/*
 * A bundle built with the bundle writer, signed with the real key of
 * `from` and sealed to `to`'s box key, with header fields as
 * pg_bundle_export sets them (sync/exchange.c export_finish), and the
 * chain of trust `t` (NULL: none).
 */
static void write_custom_chain(const char *path, fixture *fx, int from, int to,
                               const entry *e, size_t n, uint64_t first,
                               uint64_t last, unsigned schema_version,
                               size_t frame_max, const trust *t)
{
    const pg_card *card = pg_node_card(fx->node[to]);
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;

    assert_pg_ok(pg_bundle_writer_new(&w, pg_node__sign_sk(fx->node[from]),
                                      card->box_pk, frame_max));
    for (size_t i = 0; i < n; i++)
        assert_pg_ok(
            pg_bundle_writer_add_txn(w, e[i].seq, e[i].body, e[i].len));
    memset(&info, 0, sizeof(info));
    memcpy(info.sender, specs[from].code, PG_CODE_LEN + 1);
    memcpy(info.recipient, card->code, PG_CODE_LEN + 1);
    memcpy(info.recipient_key_id, card->key_id, PG_KEY_ID_LEN + 1);
    info.schema_version = schema_version;
    if (schema_version == PG_SCHEMA_VERSION)
        memcpy(info.schema_hash, pg_schema_current()->hash, PG_HASH_LEN);
    else
        assert_pg_ok(pg_blake2b(info.schema_hash, PG_HASH_LEN,
                                "a schema from the future", 24));
    info.created_ms = pg_time_now_ms();
    info.range_first = first;
    info.range_last = last;
    if (t && t->root) {
        info.has_root = true;
        info.root = *t->root;
        assert_true(t->n <= PG_CERT_CHAIN_MAX);
        for (size_t i = 0; i < t->n; i++)
            info.chain[i] = t->chain[i];
        info.nchain = t->n;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_pg_ok(pg_bundle_writer_finish(w, &info, f));
    assert_int_equal(fclose(f), 0);
    pg_bundle_writer_free(w);
}

static void write_custom(const char *path, fixture *fx, int from, int to,
                         const entry *e, size_t n, uint64_t first,
                         uint64_t last, unsigned schema_version,
                         size_t frame_max)
{
    write_custom_chain(path, fx, from, to, e, n, first, last, schema_version,
                       frame_max, NULL);
}

/* ---- the layout of a bundle -------------------------------------------- */

typedef test_layout layout;

/* Parse the framing: preamble (u32 header length at 14), header, its
 * signature, frames (u32 length ‖ ciphertext), end mark (u32 0), trailer
 * signature. */
static void parse_layout(layout *l, const uint8_t *b, size_t len)
{
    assert_true(len > PG_BUNDLE_PREAMBLE);
    assert_memory_equal(b, PG_BUNDLE_MAGIC, 4);
    test_parse_layout(l, b, len);
}

/*
 * Offsets at and around every boundary: the preamble's fields, the
 * header, its signature, every frame's length prefix, the end mark, the
 * trailer, the last byte; from two bytes before each to four after.
 */
static size_t *boundary_offsets(const layout *l, size_t len, size_t *n)
{
    const size_t marks[] = {0,
                            4,
                            5,
                            6,
                            14,
                            PG_BUNDLE_PREAMBLE,
                            PG_BUNDLE_PREAMBLE + l->hlen,
                            l->end_mark,
                            l->trailer,
                            len - 1};
    const size_t nmarks = sizeof(marks) / sizeof(marks[0]);
    size_t cap = 7 * (nmarks + l->nframes), k = 0;
    size_t *v = malloc(cap * sizeof(*v));

    assert_non_null(v);
    for (size_t m = 0; m < nmarks + l->nframes; m++) {
        size_t b = m < nmarks ? marks[m] : l->frame[m - nmarks];
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

/* ---- the main bundle: many frames -------------------------------------- */

#define NPRIOR 2  /* hazards the township already holds */
#define NMAIN  24 /* hazards in the bundle under test */

typedef struct main_bundle {
    char ids[NMAIN][PG_RECORD_ID_LEN + 1];
    char path[4096];
    blob bytes;
    layout l;
    uint8_t before[PG_HASH_LEN]; /* the township's store */
} main_bundle;

/*
 * The township already holds a first bundle from the county and a record
 * of its own; the county then writes NMAIN hazards and updates a prior
 * one, and exports them in 64-byte frames.
 */
static void make_main_bundle(main_bundle *mb, fixture *fx)
{
    char prior[NPRIOR][PG_RECORD_ID_LEN + 1], own[PG_RECORD_ID_LEN + 1];
    char desc[256];
    pg_bundle_report r;
    exported e;

    for (int i = 0; i < NPRIOR; i++) {
        snprintf(desc, sizeof(desc), "石潭镇沿河护栏第%d段松动", i + 1);
        put_hazard(prior[i], fx->node[COUNTY], specs[SHITAN].code, desc);
    }
    export_to(&e, fx, COUNTY, SHITAN, "prior.pgb", 0);
    import_ok(&r, fx->node[SHITAN], e.path);
    /* And the township's own certificate, which the county wrote when it
     * pinned it (DESIGN §7). */
    assert_int_equal(r.applied, NPRIOR + 1);
    assert_int_equal(test_sql_int(fx->node[SHITAN],
                                  "SELECT count(*) FROM node WHERE code = "
                                  "'430321112000' AND issuer = "
                                  "'430321000000'"),
                     1);
    put_hazard(own, fx->node[SHITAN], specs[SHITAN].code, "镇政府门前井盖缺失");

    for (int i = 0; i < NMAIN; i++) {
        snprintf(desc, sizeof(desc),
                 "石潭镇第%d村组自建房外墙开裂，雨季有坍塌风险，需组织排查", i);
        put_hazard(mb->ids[i], fx->node[COUNTY], specs[SHITAN].code, desc);
    }
    set_description(fx->node[COUNTY], prior[0], "护栏已加固，待验收");
    export_to(&e, fx, COUNTY, SHITAN, "main.pgb", 64);
    assert_int_equal(e.f.txns, NMAIN + 1);
    snprintf(mb->path, sizeof(mb->path), "%s", e.path);
    mb->bytes = read_all(mb->path);
    assert_int_equal(mb->bytes.len, e.f.bytes);
    parse_layout(&mb->l, mb->bytes.data, mb->bytes.len);
    assert_true(mb->l.nframes > 40);
    for (size_t i = 0; i + 1 < mb->l.nframes; i++)
        assert_int_equal(test_get_u32(mb->bytes.data + mb->l.frame[i]),
                         64 + PG_STREAM_ABYTES);
    store_digest(mb->before, fx->node[SHITAN], false);
}

/* The untouched bundle applies: the refusals before it harmed nothing. */
static void main_bundle_applies(main_bundle *mb, fixture *fx)
{
    pg_bundle_report r;
    uint8_t after[PG_HASH_LEN];

    write_all(mb->path, mb->bytes.data, mb->bytes.len);
    import_ok(&r, fx->node[SHITAN], mb->path);
    assert_int_equal(r.txns, NMAIN + 1);
    assert_int_equal(r.applied, NMAIN + 1);
    assert_int_equal(r.quarantined + r.pending + r.duplicates, 0);
    for (int i = 0; i < NMAIN; i++)
        assert_non_null(get_description(fx->node[SHITAN], mb->ids[i]));
    store_digest(after, fx->node[SHITAN], false);
    assert_memory_not_equal(after, mb->before, PG_HASH_LEN);
}

static void main_bundle_free(main_bundle *mb)
{
    test_blob_free(&mb->bytes);
    free(mb->l.frame);
}

/* ---- tests: bad as a whole ---------------------------------------------- */

static void
test_exchange__flipped_bytes_are_refused_and_change_nothing(void **state)
{
    fixture *fx = *state;
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    main_bundle mb = {0};
    char what[128], path[4096];
    size_t n;

    make_main_bundle(&mb, fx);
    testutil_path(path, sizeof(path), fx->root, "flipped.pgb");
    size_t *at = boundary_offsets(&mb.l, mb.bytes.len, &n);
    assert_true(n > 7 * mb.l.nframes);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(flips); k++) {
            mb.bytes.data[at[i]] ^= flips[k];
            write_all(path, mb.bytes.data, mb.bytes.len);
            mb.bytes.data[at[i]] ^= flips[k];
            snprintf(what, sizeof(what), "xor 0x%02x at byte %zu of %zu",
                     flips[k], at[i], mb.bytes.len);
            assert_refused(fx->node[SHITAN], path, 0, NULL, mb.before, what);
        }
    }
    free(at);

    rng_state = 0x243f6a8885a308d3u;
    for (int i = 0; i < 256; i++) {
        size_t off = (size_t)(test_rng_next(&rng_state) % mb.bytes.len);
        uint8_t x = (uint8_t)(test_rng_next(&rng_state) % 255 + 1);
        mb.bytes.data[off] ^= x;
        write_all(path, mb.bytes.data, mb.bytes.len);
        mb.bytes.data[off] ^= x;
        snprintf(what, sizeof(what), "random xor 0x%02x at byte %zu of %zu", x,
                 off, mb.bytes.len);
        assert_refused(fx->node[SHITAN], path, 0, NULL, mb.before, what);
    }

    /* A flipped ciphertext byte is named by its frame and offset. */
    size_t f5 = mb.l.frame[5];
    mb.bytes.data[f5 + 10] ^= 1;
    write_all(path, mb.bytes.data, mb.bytes.len);
    mb.bytes.data[f5 + 10] ^= 1;
    snprintf(what, sizeof(what),
             "frame 6 at byte offset %zu does not authenticate", f5);
    assert_refused(fx->node[SHITAN], path, PG_EAUTH, what, mb.before, what);

    main_bundle_applies(&mb, fx);
    main_bundle_free(&mb);
}

static void
test_exchange__truncations_are_refused_and_change_nothing(void **state)
{
    fixture *fx = *state;
    main_bundle mb = {0};
    char what[128], path[4096];
    size_t n;

    make_main_bundle(&mb, fx);
    testutil_path(path, sizeof(path), fx->root, "truncated.pgb");
    size_t *at = boundary_offsets(&mb.l, mb.bytes.len, &n);
    for (size_t i = 0; i < n; i++) {
        write_all(path, mb.bytes.data, at[i]);
        snprintf(what, sizeof(what), "cut to %zu of %zu bytes", at[i],
                 mb.bytes.len);
        assert_refused(fx->node[SHITAN], path, PG_EINVALID, NULL, mb.before,
                       what);
    }
    free(at);
    /* And at 256 random lengths. */
    rng_state = 0xa4093822299f31d0u;
    for (int i = 0; i < 256; i++) {
        size_t cut = (size_t)(test_rng_next(&rng_state) % mb.bytes.len);
        write_all(path, mb.bytes.data, cut);
        snprintf(what, sizeof(what), "random cut to %zu of %zu bytes", cut,
                 mb.bytes.len);
        assert_refused(fx->node[SHITAN], path, PG_EINVALID, NULL, mb.before,
                       what);
    }
    /* Past the preamble, the message says where the bundle ends. */
    size_t cuts[] = {PG_BUNDLE_PREAMBLE + 1,
                     mb.l.frame[3] + 2,
                     mb.l.frame[mb.l.nframes / 2] + 30,
                     mb.l.end_mark,
                     mb.l.trailer + 10,
                     mb.bytes.len - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        write_all(path, mb.bytes.data, cuts[i]);
        snprintf(what, sizeof(what), "truncated at byte offset %zu", cuts[i]);
        assert_refused(fx->node[SHITAN], path, PG_EINVALID, what, mb.before,
                       what);
    }

    main_bundle_applies(&mb, fx);
    main_bundle_free(&mb);
}

/*
 * A bundle of more txns than an importer could sensibly hold back (the
 * importer merges txns in groups as they arrive, before the trailer is
 * read): damage near its end is found only after hundreds of txns were
 * merged, and all of them must be rolled back.
 */
#define NLARGE 600

static void
test_exchange__late_damage_to_a_large_bundle_rolls_everything_back(void **state)
{
    fixture *fx = *state;
    char first[PG_RECORD_ID_LEN + 1] = "", last[PG_RECORD_ID_LEN + 1] = "";
    char desc[128], what[128], path[4096];
    uint8_t before[PG_HASH_LEN], after[PG_HASH_LEN];
    pg_import *imp = NULL;
    pg_import_stats stats;
    pg_bundle_report r;
    exported e;
    layout l;

    /* One txn per hazard. */
    assert_pg_ok(pg_import_begin(&imp, fx->node[COUNTY], "hazard", 1, OP));
    for (int i = 0; i < NLARGE; i++) {
        snprintf(desc, sizeof(desc), "石潭镇网格%04d排查发现的隐患", i);
        pg_field_value v[] = {
            {"division", test_text(specs[SHITAN].code)},
            {"category", test_text("公共安全风险")},
            {"description", test_text(desc)},
        };
        char *id = i == 0 ? first : i == NLARGE - 1 ? last : NULL;
        assert_pg_ok(pg_import_add(imp, v, 3, id));
    }
    assert_pg_ok(pg_import_commit(imp, &stats));
    pg_import_free(imp);
    assert_int_equal(stats.txns, NLARGE);
    export_to(&e, fx, COUNTY, SHITAN, "large.pgb", 64);
    /* With the township's certificate, the county's first txn. */
    assert_int_equal(e.f.txns, NLARGE + 1);
    blob b = read_all(e.path);
    parse_layout(&l, b.data, b.len);
    store_digest(before, fx->node[SHITAN], false);

    testutil_path(path, sizeof(path), fx->root, "large-damaged.pgb");
    size_t lastf = l.frame[l.nframes - 1];
    /* Inside the last frame's ciphertext, however short it is (its
     * length varies with what zstd made of the plaintext). */
    size_t inside = lastf + 4 + test_get_u32(b.data + lastf) / 2;
    struct {
        size_t at;
        uint8_t x;
        int code;
        const char *needle;
    } flips[] = {
        {inside, 0x01, PG_EAUTH, "does not authenticate"},
        {l.end_mark + 3, 0x01, PG_EINVALID, NULL},
        {l.trailer + 7, 0x80, PG_EAUTH, "trailer signature"},
        {b.len - 1, 0xff, PG_EAUTH, "trailer signature"},
    };
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
        b.data[flips[i].at] ^= flips[i].x;
        write_all(path, b.data, b.len);
        b.data[flips[i].at] ^= flips[i].x;
        snprintf(what, sizeof(what), "large: xor 0x%02x at byte %zu of %zu",
                 flips[i].x, flips[i].at, b.len);
        assert_refused(fx->node[SHITAN], path, flips[i].code, flips[i].needle,
                       before, what);
    }
    /* Random flips in the last tenth. */
    rng_state = 0x13198a2e03707344u;
    for (int i = 0; i < 16; i++) {
        size_t off =
            b.len - 1 - (size_t)(test_rng_next(&rng_state) % (b.len / 10));
        uint8_t x = (uint8_t)(test_rng_next(&rng_state) % 255 + 1);
        b.data[off] ^= x;
        write_all(path, b.data, b.len);
        b.data[off] ^= x;
        snprintf(what, sizeof(what), "large: xor 0x%02x at byte %zu of %zu", x,
                 off, b.len);
        assert_refused(fx->node[SHITAN], path, 0, NULL, before, what);
    }
    /* Cut before the last frame, at the end mark, inside the trailer. */
    size_t cuts[] = {lastf, l.end_mark, l.trailer + PG_SIG_LEN / 2};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        write_all(path, b.data, cuts[i]);
        snprintf(what, sizeof(what), "truncated at byte offset %zu", cuts[i]);
        assert_refused(fx->node[SHITAN], path, PG_EINVALID, what, before, what);
    }
    /* The last frame claims 4 GiB. */
    uint8_t saved[4];
    memcpy(saved, b.data + lastf, 4);
    test_set_u32(b.data + lastf, UINT32_MAX);
    write_all(path, b.data, b.len);
    memcpy(b.data + lastf, saved, 4);
    assert_refused(fx->node[SHITAN], path, PG_EINVALID, "4294967295", before,
                   "large: the last frame claims 4 GiB");
    assert_null(get_description(fx->node[SHITAN], first));

    /* Whole, it applies. */
    import_ok(&r, fx->node[SHITAN], e.path);
    assert_int_equal(r.applied, NLARGE + 1);
    assert_string_equal(get_description(fx->node[SHITAN], first),
                        "石潭镇网格0000排查发现的隐患");
    assert_non_null(get_description(fx->node[SHITAN], last));
    store_digest(after, fx->node[SHITAN], false);
    assert_memory_not_equal(after, before, PG_HASH_LEN);
    test_blob_free(&b);
    free(l.frame);
}

static void
test_exchange__refuses_a_bundle_signed_by_an_unknown_key(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4096], id[PG_RECORD_ID_LEN + 1];
    uint8_t before[PG_HASH_LEN];
    pg_node *impostor = NULL;
    exported e;

    /* A node with the county's code but keys of its own: the township
     * pinned the real county, so the key belongs to no pinned peer. */
    testutil_path(dir, sizeof(dir), fx->root, "impostor");
    assert_pg_ok(pg_node_init(dir, specs[COUNTY].code, specs[COUNTY].name));
    assert_pg_ok(pg_node_open(&impostor, dir));
    assert_pg_ok(pg_peer_add(impostor, fx->card[SHITAN],
                             strlen(fx->card[SHITAN]), PG_PEER_CHILD, NULL,
                             NULL));
    put_hazard(id, impostor, specs[SHITAN].code, "冒名节点写入的隐患");
    testutil_path(path, sizeof(path), fx->root, "impostor.pgb");
    pg_export_opts o = {.to = specs[SHITAN].code, .out = path};
    memset(&e, 0, sizeof(e));
    assert_pg_ok(pg_bundle_export(impostor, &o, on_export, &e));
    assert_int_equal(e.files, 1);

    store_digest(before, fx->node[SHITAN], false);
    assert_refused(fx->node[SHITAN], path, PG_EAUTH,
                   pg_node_card(impostor)->key_id, before, "impostor");
    assert_refused(fx->node[SHITAN], path, PG_EAUTH, "no pinned peer", before,
                   "impostor");
    assert_null(get_description(fx->node[SHITAN], id));
    pg_node_free(impostor);
}

static void
test_exchange__refuses_a_bundle_addressed_to_another_node(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], needle[64];
    uint8_t before[PG_HASH_LEN];
    pg_bundle_report r;
    exported e;

    /* 易俗河镇 pinned the county too, so the signature verifies; the
     * bundle is for 石潭镇. */
    put_hazard(id, fx->node[COUNTY], specs[SHITAN].code,
               "石潭镇渡口救生设施不足");
    export_to(&e, fx, COUNTY, SHITAN, "for-shitan.pgb", 64);
    store_digest(before, fx->node[YISUHE], false);
    snprintf(needle, sizeof(needle), "addressed to %s", specs[SHITAN].code);
    assert_refused(fx->node[YISUHE], e.path, PG_EINVALID, needle, before,
                   "another node's bundle");
    assert_null(get_description(fx->node[YISUHE], id));

    /* Its recipient takes it (the hazard and its own certificate). */
    import_ok(&r, fx->node[SHITAN], e.path);
    assert_int_equal(r.applied, 2);
    assert_string_equal(get_description(fx->node[SHITAN], id),
                        "石潭镇渡口救生设施不足");
}

static void test_exchange__refuses_a_frame_claiming_4_gib(void **state)
{
    fixture *fx = *state;
    main_bundle mb = {0};
    char path[4096], what[64];

    make_main_bundle(&mb, fx);
    testutil_path(path, sizeof(path), fx->root, "4gib.pgb");
    size_t which[] = {0, mb.l.nframes / 2, mb.l.nframes - 1};
    for (size_t k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
        uint8_t *p = mb.bytes.data + mb.l.frame[which[k]];
        uint8_t saved[4];
        memcpy(saved, p, 4);
        test_set_u32(p, UINT32_MAX);
        write_all(path, mb.bytes.data, mb.bytes.len);
        memcpy(p, saved, 4);
        snprintf(what, sizeof(what), "frame %zu claiming 4 GiB", which[k] + 1);
        assert_refused(fx->node[SHITAN], path, PG_EINVALID, "4294967295",
                       mb.before, what);
    }
    main_bundle_applies(&mb, fx);
    main_bundle_free(&mb);
}

static void test_exchange__refuses_a_decompression_bomb(void **state)
{
    fixture *fx = *state;
    const size_t big = 256 * 1024, n = 300; /* 75 MiB of zeros */
    char id[PG_RECORD_ID_LEN + 1], path[4096];
    uint8_t before[PG_HASH_LEN];
    entry *e = calloc(n + 1, sizeof(*e));
    uint8_t *zeros = calloc(1, big);

    assert_non_null(e);
    assert_non_null(zeros);
    /* A genuine txn first, so that the rollback has something to undo. */
    put_hazard(id, fx->node[COUNTY], specs[SHITAN].code,
               "石潭镇老街电线私拉乱接");
    blob real = log_body(fx->node[COUNTY], log_last(fx->node[COUNTY]));
    e[0] = (entry){1, real.data, real.len};
    for (size_t i = 1; i <= n; i++)
        e[i] = (entry){i + 1, zeros, big};
    testutil_path(path, sizeof(path), fx->root, "bomb.pgb");
    write_custom(path, fx, COUNTY, SHITAN, e, n + 1, 1, n + 1,
                 PG_SCHEMA_VERSION, 0);
    blob bytes = read_all(path);
    assert_true(bytes.len < 1024 * 1024);
    assert_true((uint64_t)n * big > PG_BUNDLE_EXPAND_FLOOR);
    assert_true((uint64_t)n * big > PG_BUNDLE_EXPAND_RATIO * bytes.len);

    store_digest(before, fx->node[SHITAN], false);
    assert_refused(fx->node[SHITAN], path, PG_EINVALID,
                   "expands far beyond the limit", before, "bomb");
    assert_null(get_description(fx->node[SHITAN], id));
    test_blob_free(&bytes);
    test_blob_free(&real);
    free(zeros);
    free(e);
}

static void
test_exchange__refuses_a_newer_schema_asking_for_an_upgrade(void **state)
{
    fixture *fx = *state;
    char id[PG_RECORD_ID_LEN + 1], path[4096];
    uint8_t before[PG_HASH_LEN];
    pg_bundle_report r;

    put_hazard(id, fx->node[COUNTY], specs[SHITAN].code,
               "石潭镇中学周边占道经营");
    blob real = log_body(fx->node[COUNTY], log_last(fx->node[COUNTY]));
    entry e = {1, real.data, real.len};
    testutil_path(path, sizeof(path), fx->root, "future.pgb");
    write_custom(path, fx, COUNTY, SHITAN, &e, 1, 1, 1, PG_SCHEMA_VERSION + 1,
                 64);
    store_digest(before, fx->node[SHITAN], false);
    assert_refused(fx->node[SHITAN], path, PG_EUPGRADE, "upgrade", before,
                   "newer schema");
    assert_null(get_description(fx->node[SHITAN], id));

    /* The same bundle under the current schema applies. */
    write_custom(path, fx, COUNTY, SHITAN, &e, 1, 1, 1, PG_SCHEMA_VERSION, 64);
    import_ok(&r, fx->node[SHITAN], path);
    assert_int_equal(r.applied, 1);
    assert_string_equal(get_description(fx->node[SHITAN], id),
                        "石潭镇中学周边占道经营");
    test_blob_free(&real);
}

/* ---- tests: replay ------------------------------------------------------ */

static void test_exchange__an_old_bundle_replayed_changes_nothing(void **state)
{
    fixture *fx = *state;
    char ids[4][PG_RECORD_ID_LEN + 1];
    uint8_t d1[PG_HASH_LEN], d2[PG_HASH_LEN];
    pg_bundle_report r;
    exported b1, b2;

    put_hazard(ids[0], fx->node[COUNTY], specs[SHITAN].code, "山塘坝体渗水");
    put_hazard(ids[1], fx->node[COUNTY], specs[SHITAN].code, "学校围墙倾斜");
    put_hazard(ids[2], fx->node[COUNTY], specs[SHITAN].code,
               "集市消防通道堵塞");
    export_to(&b1, fx, COUNTY, SHITAN, "b1.pgb", 0);
    /* The three and the township's certificate (the county's seq 1; its
     * seq 2, 易俗河镇's certificate, is not for 石潭镇). */
    assert_int_equal(b1.f.txns, 4);
    /* Newer: an update to the first and a new record. */
    set_description(fx->node[COUNTY], ids[0], "山塘坝体渗水，已抢修完毕");
    put_hazard(ids[3], fx->node[COUNTY], specs[SHITAN].code, "桥梁护栏缺失");
    export_to(&b2, fx, COUNTY, SHITAN, "b2.pgb", 0);
    assert_int_equal(b2.f.txns, 2);

    import_ok(&r, fx->node[SHITAN], b1.path);
    assert_int_equal(r.applied, 4);
    import_ok(&r, fx->node[SHITAN], b2.path);
    assert_int_equal(r.applied, 2);
    assert_string_equal(get_description(fx->node[SHITAN], ids[0]),
                        "山塘坝体渗水，已抢修完毕");

    /* b1 again: every txn a duplicate, no table changed (but the time of
     * the peer's last sync). */
    store_digest(d1, fx->node[SHITAN], true);
    int64_t received = test_sql_int(
        fx->node[SHITAN], "SELECT received_upto FROM peer WHERE code = "
                          "'430321000000'");
    assert_int_equal(received, 7);
    import_ok(&r, fx->node[SHITAN], b1.path);
    assert_int_equal(r.txns, 4);
    assert_int_equal(r.applied, 0);
    assert_int_equal(r.duplicates, 4);
    assert_int_equal(r.quarantined + r.pending + r.conflicts, 0);
    store_digest(d2, fx->node[SHITAN], true);
    assert_memory_equal(d1, d2, PG_HASH_LEN);
    assert_string_equal(get_description(fx->node[SHITAN], ids[0]),
                        "山塘坝体渗水，已抢修完毕");

    /* And b2 again, likewise. */
    import_ok(&r, fx->node[SHITAN], b2.path);
    assert_int_equal(r.applied, 0);
    assert_int_equal(r.duplicates, 2);
    store_digest(d2, fx->node[SHITAN], true);
    assert_memory_equal(d1, d2, PG_HASH_LEN);
}

/* ---- tests: quarantine inside a good bundle ---------------------------- */

typedef struct reasons {
    size_t n;
    char reason[8][PG_QUARANTINE_REASON_MAX];
    char origin[8][PG_CODE_LEN + 1];
    uint64_t seq[8];
    char peer[8][PG_CODE_LEN + 1];
} reasons;

static int collect_reason(const pg_quarantined *q, void *payload)
{
    reasons *rs = payload;
    if (rs->n < 8) {
        snprintf(rs->reason[rs->n], PG_QUARANTINE_REASON_MAX, "%s", q->reason);
        memcpy(rs->origin[rs->n], q->origin, PG_CODE_LEN + 1);
        memcpy(rs->peer[rs->n], q->peer, PG_CODE_LEN + 1);
        rs->seq[rs->n] = q->origin_seq;
    }
    rs->n++;
    return 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Re-encode a txn of the county's log, changed by `how`. */
enum { BAD_SIGNATURE, EQUIVOCATE };

static blob tampered(fixture *fx, const blob *body, int how)
{
    pg_txn *t = NULL, *orig = NULL;
    pg_buf b = PG_BUF_INIT;

    assert_pg_ok(pg_txn_decode(&t, body->data, body->len));
    assert_true(t->has_signature);
    if (how == BAD_SIGNATURE) {
        t->signature[PG_SIG_LEN / 2] ^= 0x40;
    } else {
        /* Same origin and seq, other content, correctly signed. */
        assert_pg_ok(pg_txn_set_header(t, t->origin, t->key_id, t->seq, t->hlc,
                                       t->division, t->collection, "另一个人"));
        assert_pg_ok(pg_txn_seal(t));
        pg_txn_sign(t, pg_node__sign_sk(fx->node[COUNTY]));
        assert_pg_ok(pg_txn_verify(t, pg_node_card(fx->node[COUNTY])->sign_pk));
        assert_pg_ok(pg_txn_decode(&orig, body->data, body->len));
        assert_pg_ok(pg_txn_digest(orig));
        assert_memory_not_equal(orig->digest, t->digest, PG_HASH_LEN);
        pg_txn_free(orig);
    }
    assert_pg_ok(pg_txn_encode(&b, t));
    pg_txn_free(t);
    blob out = test_blob_copy(b.data, b.len);
    pg_buf_dispose(&b);
    return out;
}

static void
test_exchange__bad_txns_are_quarantined_while_the_good_ones_apply(void **state)
{
    fixture *fx = *state;
    char g1[PG_RECORD_ID_LEN + 1], g2[PG_RECORD_ID_LEN + 1];
    char g3[PG_RECORD_ID_LEN + 1], g4[PG_RECORD_ID_LEN + 1];
    char s[PG_RECORD_ID_LEN + 1], o[PG_RECORD_ID_LEN + 1];
    char f[PG_RECORD_ID_LEN + 1], path[4096];
    pg_node *county = fx->node[COUNTY], *shitan = fx->node[SHITAN];
    pg_bundle_report r;
    exported e;

    /* Seqs 1-4 of the county's log reach the township the ordinary way:
     * the certificates of its two children (written when it pinned them;
     * only 石潭镇's is for 石潭镇) and two hazards. */
    assert_int_equal(log_last(county), 2);
    put_hazard(g1, county, specs[SHITAN].code, "水库溢洪道堵塞");
    put_hazard(g2, county, specs[SHITAN].code, "敬老院燃气管老化");
    export_to(&e, fx, COUNTY, SHITAN, "first.pgb", 0);
    import_ok(&r, shitan, e.path);
    assert_int_equal(r.applied, 3);

    /* 5: good, 6: its signature will be broken, 7: in 易俗河镇, outside
     * 石潭镇, 8: good, 9: (易俗河镇, never for 石潭镇) its slot carries an
     * equivocating copy of seq 3 (g1). */
    put_hazard(g3, county, specs[SHITAN].code, "农贸市场违规储存液化气");
    put_hazard(s, county, specs[SHITAN].code, "签名被篡改的隐患");
    put_hazard(o, county, specs[YISUHE].code, "易俗河镇的隐患");
    put_hazard(g4, county, specs[SHITAN].code, "小学门口缺少减速带");
    put_hazard(f, county, specs[YISUHE].code, "易俗河镇的另一隐患");
    assert_int_equal(log_last(county), 9);
    blob bodies[5] = {log_body(county, 5), log_body(county, 6),
                      log_body(county, 7), log_body(county, 8),
                      log_body(county, 3)};
    blob bad_sig = tampered(fx, &bodies[1], BAD_SIGNATURE);
    blob equivocal = tampered(fx, &bodies[4], EQUIVOCATE);
    entry entries[5] = {
        {5, bodies[0].data, bodies[0].len}, {6, bad_sig.data, bad_sig.len},
        {7, bodies[2].data, bodies[2].len}, {8, bodies[3].data, bodies[3].len},
        {9, equivocal.data, equivocal.len},
    };
    testutil_path(path, sizeof(path), fx->root, "mixed.pgb");
    write_custom(path, fx, COUNTY, SHITAN, entries, 5, 5, 9, PG_SCHEMA_VERSION,
                 64);
    int64_t log_before = test_sql_int(shitan, "SELECT count(*) FROM log");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(shitan->db,
                                        "SELECT hex(body) FROM log WHERE "
                                        "origin = '430321000000' AND "
                                        "origin_seq = 3",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *g1_row = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(g1_row);

    int64_t audited = test_sql_int(shitan, "SELECT count(*) FROM audit "
                                           "WHERE action = 'quarantine'");
    import_ok(&r, shitan, path);
    assert_int_equal(r.txns, 5);
    assert_int_equal(r.applied, 2);
    assert_int_equal(r.quarantined, 3);
    /* Each decision is in the audit trail, by origin, seq and digest, with
     * the reason's class only. */
    assert_int_equal(test_sql_int(shitan, "SELECT count(*) FROM audit WHERE "
                                          "action = 'quarantine'"),
                     audited + 3);
    assert_int_equal(
        test_sql_int(
            shitan, "SELECT count(*) FROM audit a JOIN quarantine q ON "
                    "a.subject = q.origin || ':' || q.origin_seq AND "
                    "json_extract(a.detail, '$.digest') = lower(hex(q.digest)) "
                    "AND instr(q.reason, json_extract(a.detail, '$.reason')) "
                    "= 1 WHERE a.action = 'quarantine'"),
        audited + 3);
    assert_int_equal(r.duplicates + r.pending, 0);
    assert_int_equal(r.nnotes, 3);
    for (size_t i = 0; i < r.nnotes; i++) {
        assert_false(r.notes[i].pending);
        assert_string_equal(r.notes[i].origin, specs[COUNTY].code);
        assert_true(r.notes[i].reason[0] != 0);
    }

    /* The good ones are there; the bad ones are not. */
    assert_string_equal(get_description(shitan, g3), "农贸市场违规储存液化气");
    assert_string_equal(get_description(shitan, g4), "小学门口缺少减速带");
    assert_null(get_description(shitan, s));
    assert_null(get_description(shitan, o));
    assert_null(get_description(shitan, f));
    assert_string_equal(get_description(shitan, g1), "水库溢洪道堵塞");
    assert_int_equal(test_sql_int(shitan, "SELECT count(*) FROM log"),
                     log_before + 2);
    /* The genuine seq 3 is still the one in the log. */
    assert_int_equal(sqlite3_prepare_v2(shitan->db,
                                        "SELECT hex(body) FROM log WHERE "
                                        "origin = '430321000000' AND "
                                        "origin_seq = 3",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), g1_row);
    sqlite3_finalize(st);
    free(g1_row);

    /* Three quarantine rows, each with its reason. */
    assert_int_equal(test_sql_int(shitan, "SELECT count(*) FROM quarantine"),
                     3);
    reasons rs;
    memset(&rs, 0, sizeof(rs));
    assert_pg_ok(pg_quarantine_list(shitan, collect_reason, &rs));
    assert_int_equal(rs.n, 3);
    bool sig = false, outside = false, equiv = false;
    for (size_t i = 0; i < rs.n; i++) {
        assert_string_equal(rs.peer[i], specs[COUNTY].code);
        assert_string_equal(rs.origin[i], specs[COUNTY].code);
        if (starts_with(rs.reason[i], "origin signature does not verify")) {
            assert_int_equal(rs.seq[i], 6);
            sig = true;
        } else if (starts_with(rs.reason[i], "outside")) {
            assert_int_equal(rs.seq[i], 7);
            outside = true;
        } else if (starts_with(rs.reason[i], "equivocation:")) {
            assert_int_equal(rs.seq[i], 3);
            equiv = true;
        } else {
            print_error("unexpected reason \"%s\"\n", rs.reason[i]);
            fail();
        }
    }
    assert_true(sig && outside && equiv);

    /* Quarantined txns are acknowledged: the range is received whole. */
    assert_int_equal(test_sql_int(shitan,
                                  "SELECT received_upto FROM peer WHERE "
                                  "code = '430321000000'"),
                     9);

    /* Sent again, nothing changes. */
    uint8_t d1[PG_HASH_LEN], d2[PG_HASH_LEN];
    store_digest(d1, shitan, true);
    import_ok(&r, shitan, path);
    assert_int_equal(r.applied + r.quarantined, 0);
    assert_int_equal(r.duplicates, 5);
    store_digest(d2, shitan, true);
    assert_memory_equal(d1, d2, PG_HASH_LEN);

    for (int i = 0; i < 5; i++)
        test_blob_free(&bodies[i]);
    test_blob_free(&bad_sig);
    test_blob_free(&equivocal);
}

/* ---- tests: the chain of trust (DESIGN §7) ------------------------------ */

/* An extra node in the fixture's directory. */
static pg_node *extra(fixture *fx, const char *sub, const char *code,
                      const char *name)
{
    char dir[4096];
    return test_make_node(dir, fx->root, sub, code, name);
}

static void pin_nodes(pg_node *at, pg_node *who, pg_peer_role role)
{
    char *card = pg_card_to_json(pg_node_card(who));
    assert_non_null(card);
    test_pin(at, card, role);
    free(card);
}

static void test_exchange__a_chain_not_starting_at_the_pinned_parent_is_refused(
    void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *shitan = fx->node[SHITAN];
    char id[PG_RECORD_ID_LEN + 1], path[4096], what[128];
    uint8_t before[PG_HASH_LEN];
    pg_bundle_report r;
    pg_card card;

    /* The city, which certifies the county; a node with the county's code
     * and keys of its own, which the city (wrongly) certifies too; and
     * another city key. */
    pg_node *city = extra(fx, "city", "430300000000", "湘潭市");
    pg_node *impostor = extra(fx, "impostor", specs[COUNTY].code, "湘潭县");
    pg_node *city2 = extra(fx, "city2", "430300000000", "湘潭市");
    const pg_card *cc = pg_node_card(city);
    int64_t now = pg_time_now_ms();
    pg_cert good, forged, sibling, by_other;
    assert_pg_ok(pg_cert_issue(&good, cc, pg_node__sign_sk(city),
                               pg_node_card(county), now));
    assert_pg_ok(pg_cert_issue(&forged, cc, pg_node__sign_sk(city),
                               pg_node_card(impostor), now));
    assert_pg_ok(pg_cert_issue(&sibling, cc, pg_node__sign_sk(city),
                               pg_node_card(fx->node[YISUHE]), now));
    assert_pg_ok(pg_cert_issue(&by_other, pg_node_card(city2),
                               pg_node__sign_sk(city2), pg_node_card(county),
                               now));

    put_hazard(id, county, specs[SHITAN].code, "石潭镇水库大坝裂缝");
    uint64_t seq = log_last(county);
    blob body = log_body(county, seq);
    entry e = {seq, body.data, body.len};
    testutil_path(path, sizeof(path), fx->root, "chain.pgb");
    store_digest(before, shitan, false);

    const struct {
        trust t;
        const char *needle, *what;
    } bad[] = {
        {{cc, &forged, 1},
         "does not start at the pinned parent's key",
         "the chain starts at another key for the county's code"},
        {{cc, NULL, 0},
         "does not start at the pinned parent's key",
         "a chain that is only the root"},
        {{cc, &sibling, 1},
         "does not start at the pinned parent's key",
         "the chain starts at another node"},
        {{pg_node_card(city2), &good, 1},
         "a certificate is not signed by the next",
         "the county's certificate under another root"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_custom_chain(path, fx, COUNTY, SHITAN, &e, 1, seq, seq,
                           PG_SCHEMA_VERSION, 0, &bad[i].t);
        snprintf(what, sizeof(what), "%s", bad[i].what);
        assert_refused(shitan, path, PG_EAUTH, bad[i].needle, before, what);
        assert_null(get_description(shitan, id));
    }
    /* Nothing was learnt from them. */
    assert_pg_fails(PG_ENOTFOUND, pg_keys_card(&card, shitan, cc->code));

    /* The true chain in a bundle damaged at its end: refused whole, the
     * chain of its header not kept either. */
    trust t = {cc, &good, 1};
    write_custom_chain(path, fx, COUNTY, SHITAN, &e, 1, seq, seq,
                       PG_SCHEMA_VERSION, 0, &t);
    blob bytes = read_all(path);
    bytes.data[bytes.len - 1] ^= 0x01;
    write_all(path, bytes.data, bytes.len);
    assert_refused(shitan, path, PG_EAUTH, "trailer signature", before,
                   "a true chain, a damaged trailer");
    assert_pg_fails(PG_ENOTFOUND, pg_keys_card(&card, shitan, cc->code));
    test_blob_free(&bytes);

    /* Whole, the bundle applies and the city becomes the township's root
     * of trust. */
    write_custom_chain(path, fx, COUNTY, SHITAN, &e, 1, seq, seq,
                       PG_SCHEMA_VERSION, 0, &t);
    import_ok(&r, shitan, path);
    assert_int_equal(r.applied, 1);
    assert_string_equal(get_description(shitan, id), "石潭镇水库大坝裂缝");
    assert_pg_ok(pg_keys_card(&card, shitan, cc->code));
    assert_memory_equal(card.sign_pk, cc->sign_pk, PG_SIGN_PK_LEN);

    test_blob_free(&body);
    pg_node_free(city);
    pg_node_free(city2);
    pg_node_free(impostor);
}

/* Export everything new from one node to another and import it there. */
static void pass_on(pg_bundle_report *r, fixture *fx, pg_node *from,
                    pg_node *to, const char *name)
{
    char path[4096];
    exported e;

    testutil_path(path, sizeof(path), fx->root, name);
    pg_export_opts o = {.to = pg_node_code(to), .out = path};
    memset(&e, 0, sizeof(e));
    assert_pg_ok(pg_bundle_export(from, &o, on_export, &e));
    assert_int_equal(e.files, 1);
    import_ok(r, to, e.path);
}

static void
test_exchange__a_community_verifies_the_county_through_the_chain(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY], *shitan = fx->node[SHITAN];
    char id[PG_RECORD_ID_LEN + 1], id2[PG_RECORD_ID_LEN + 1];
    pg_bundle_report r;
    pg_card card;
    pg_peer peer;

    /* 湘潭市 above the county; 列家桥煤矿居委会 below 石潭镇.  The
     * community pins only 石潭镇. */
    pg_node *city = extra(fx, "city", "430300000000", "湘潭市");
    pg_node *comm = extra(fx, "comm", "430321112005", "列家桥煤矿居委会");
    pin_nodes(city, county, PG_PEER_CHILD);
    pin_nodes(county, city, PG_PEER_PARENT);
    pin_nodes(shitan, comm, PG_PEER_CHILD);
    pin_nodes(comm, shitan, PG_PEER_PARENT);
    put_hazard(id, county, pg_node_code(comm), "煤矿塌陷区警示标志缺失");

    /* While the county holds no certificate from the city, 石潭镇 has
     * no chain to pass on: the community holds the county's txns back
     * (its certificate of 石潭镇 and the hazard), signer unknown. */
    pass_on(&r, fx, county, shitan, "c-s-1.pgb");
    assert_int_equal(r.applied, 2);
    pass_on(&r, fx, shitan, comm, "s-m-1.pgb");
    assert_int_equal(r.applied, 1); /* its own certificate, by 石潭镇 */
    assert_int_equal(r.pending, 2);
    for (size_t i = 0; i < r.nnotes; i++) {
        assert_true(r.notes[i].pending);
        assert_string_equal(r.notes[i].origin, specs[COUNTY].code);
    }
    assert_null(get_description(comm, id));
    assert_pg_fails(PG_ENOTFOUND,
                    pg_keys_card(&card, comm, specs[COUNTY].code));

    /* The city certifies the county; the chain now reaches down. */
    pass_on(&r, fx, city, county, "y-c.pgb");
    assert_int_equal(r.applied, 1);
    set_description(county, id, "煤矿塌陷区警示标志已设置");
    pass_on(&r, fx, county, shitan, "c-s-2.pgb");
    assert_int_equal(r.applied, 2); /* the county's certificate, the update */
    pass_on(&r, fx, shitan, comm, "s-m-2.pgb");
    assert_int_equal(r.quarantined, 0);
    assert_int_equal(r.pending, 0);
    assert_int_equal(r.applied, 2);
    assert_int_equal(r.pending_resolved, 2);
    assert_int_equal(test_sql_int(comm, "SELECT count(*) FROM pending"), 0);
    assert_int_equal(test_sql_int(comm, "SELECT count(*) FROM quarantine"), 0);
    assert_string_equal(get_description(comm, id), "煤矿塌陷区警示标志已设置");

    /* The community never pinned the county: it learnt its key from the
     * chain in 石潭镇's header, and verified the county's txns with it. */
    assert_pg_fails(PG_ENOTFOUND, pg_peer_get(&peer, comm, specs[COUNTY].code));
    assert_pg_ok(pg_keys_card(&card, comm, specs[COUNTY].code));
    assert_memory_equal(card.sign_pk, pg_node_card(county)->sign_pk,
                        PG_SIGN_PK_LEN);
    assert_int_equal(test_sql_int(comm, "SELECT count(*) FROM log WHERE "
                                        "origin = '430321000000' AND via = "
                                        "'430321112000'"),
                     3);

    /* From now on the county's writes apply at once. */
    put_hazard(id2, county, pg_node_code(comm), "井下通风设施老化");
    pass_on(&r, fx, county, shitan, "c-s-3.pgb");
    pass_on(&r, fx, shitan, comm, "s-m-3.pgb");
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.pending + r.quarantined, 0);
    assert_string_equal(get_description(comm, id2), "井下通风设施老化");
    pg_node_free(city);
    pg_node_free(comm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_exchange__flipped_bytes_are_refused_and_change_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__truncations_are_refused_and_change_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__late_damage_to_a_large_bundle_rolls_everything_back,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__refuses_a_bundle_signed_by_an_unknown_key, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__refuses_a_bundle_addressed_to_another_node, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__refuses_a_frame_claiming_4_gib, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__refuses_a_decompression_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__refuses_a_newer_schema_asking_for_an_upgrade, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__an_old_bundle_replayed_changes_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__bad_txns_are_quarantined_while_the_good_ones_apply,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__a_chain_not_starting_at_the_pinned_parent_is_refused,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_exchange__a_community_verifies_the_county_through_the_chain,
            setup, teardown),
    };
    if (pg_crypto_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
