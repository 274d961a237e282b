/*
 * Hardening: the regression tests of the review fixes.
 *
 * A write on a node handle that holds an open import is refused as busy
 * and leaves the import whole; damaged secret keys are noticed when the
 * node opens; the txn decoder accepts only the canonical encoding; counter
 * sums that would overflow 64 bits are refused; a JSON line longer than
 * the limit is refused without reading the rest of it; a damaged clock or
 * sequence stops writes; a constraint that fails is a damaged store, and
 * rows need an id; init creates private files whatever the umask; error
 * messages quote input as one printable line.
 */
#include "testutil.h"

#include "pingan/buf.h"
#include "pingan/changelog.h"
#include "pingan/crypto.h"
#include "pingan/node.h"
#include "pingan/record.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include "node_internal.h"
#include "store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOWNSHIP    "430302001000"
#define COMMUNITY_1 "430302001001"
#define COMMUNITY_2 "430302001002"
#define OPERATOR    "张三"
#define LINE_MAX_   (1024 * 1024) /* JSONL_LINE_MAX of node/import.c */

typedef struct fixture {
    char *root; /* the mkdtemp directory */
} fixture;

/* ---- helpers ------------------------------------------------------------ */

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

/* The last message is one printable line: no control character at all. */
static void assert_message_is_one_printable_line(void)
{
    const char *msg = pg_error_last()->message;
    assert_true(msg[0] != 0);
    for (const char *p = msg; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            print_error("message \"%s\" holds byte 0x%02x\n", msg, c);
            fail();
        }
    }
}

#define DISPUTE(division, summary)                                             \
    {                                                                          \
        {"division", test_text(division)},                                     \
            {"dispute_type", test_text("邻里纠纷")},                           \
            {"summary", test_text(summary)},                                   \
    }

/* Make a node in root/sub (created by init) and open it. */
static pg_node *make_node(fixture *fx, const char *sub, char dir_out[4096])
{
    return test_make_node(dir_out, fx->root, sub, TOWNSHIP, "城正街街道");
}

/* Run SQL on a node's store through a connection of its own (the node
 * closed), as an outside tool such as sqlite3 would. */
static void store_exec(const char *dir, const char *sql)
{
    char path[4200];
    sqlite3 *db = NULL;
    char *err = NULL;

    testutil_path(path, sizeof(path), dir, "store.db");
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s: %s\n", sql, err ? err : "?");
        fail();
    }
    sqlite3_free(err);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* What a refused write must leave untouched. */
typedef struct snapshot {
    int64_t log;
    int64_t rows;
    int64_t last_seq;
    int64_t hlc;
} snapshot;

static snapshot snap(pg_node *node, const char *table)
{
    snapshot s;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
    s.log = test_sql_int(node, "SELECT count(*) FROM log");
    s.rows = test_sql_int(node, sql);
    s.last_seq =
        test_sql_int(node, "SELECT value FROM meta WHERE key = 'last_seq'");
    s.hlc = test_sql_int(node, "SELECT value FROM meta WHERE key = 'hlc'");
    return s;
}

static void assert_unchanged(const snapshot *before, pg_node *node,
                             const char *table)
{
    snapshot now = snap(node, table);
    assert_int_equal(now.log, before->log);
    assert_int_equal(now.rows, before->rows);
    assert_int_equal(now.last_seq, before->last_seq);
    assert_int_equal(now.hlc, before->hlc);
}

/* Origin sequence numbers of the node's own txns, in log order. */
typedef struct seqs {
    const char *origin;
    uint64_t seq[256];
    size_t n;
    size_t changes;
    bool all_signed;
} seqs;

static int collect_seq(const pg_log_entry *e, void *payload)
{
    seqs *s = payload;
    assert_string_equal(e->txn->origin, s->origin);
    assert_true(s->n < sizeof(s->seq) / sizeof(s->seq[0]));
    s->seq[s->n++] = e->txn->seq;
    s->changes += e->txn->nchanges;
    if (!e->signature_ok)
        s->all_signed = false;
    return 0;
}

static void assert_gap_free_log(pg_node *node, size_t *ntxns)
{
    seqs s = {.origin = TOWNSHIP, .all_signed = true};
    assert_pg_ok(pg_log_list(node, 0, 0, collect_seq, &s));
    for (size_t i = 0; i < s.n; i++) {
        if (s.seq[i] != i + 1)
            print_error("txn %zu of the log has origin seq %llu\n", i + 1,
                        (unsigned long long)s.seq[i]);
        assert_int_equal(s.seq[i], i + 1);
    }
    assert_true(s.all_signed);
    assert_int_equal(
        test_sql_int(node, "SELECT value FROM meta WHERE key = 'last_seq'"),
        s.n);
    *ntxns = s.n;
}

static mode_t file_mode(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    testutil_path(path, sizeof(path), dir, name);
    if (stat(path, &st) < 0) {
        print_error("cannot stat %s\n", path);
        fail();
    }
    return st.st_mode & 07777;
}

static int group_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *fx = *state;
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

/* ---- nested writes on one handle ---------------------------------------- */

static void
test_hardening__a_write_during_an_import_is_busy_and_spares_it(void **state)
{
    fixture *fx = *state;
    char dir[4096], before_id[PG_RECORD_ID_LEN + 1];
    char ids[50][PG_RECORD_ID_LEN + 1];
    pg_node *node = make_node(fx, "nested", dir);
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "导入之前");
    pg_field_value upd = {"summary", test_text("导入之中的修改")};
    pg_import *imp, *second;

    assert_pg_ok(
        pg_record_put(before_id, node, "dispute", NULL, v, 3, OPERATOR));
    /* Batch 2: a window of 32 records, so the 40 records added before the
     * interruption have already written rows inside the import. */
    assert_pg_ok(pg_import_begin(&imp, node, "dispute", 2, OPERATOR));
    for (size_t i = 0; i < 40; i++) {
        pg_field_value r[] =
            DISPUTE(i % 2 ? COMMUNITY_1 : COMMUNITY_2, "批量导入");
        assert_pg_ok(pg_import_add(imp, r, 3, ids[i]));
    }
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM dispute"),
                     1 + 32);

    /* Every other write on the handle is refused up front... */
    assert_pg_fails(PG_EBUSY,
                    pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    assert_message_has("another write");
    assert_pg_fails(PG_EBUSY, pg_record_put(NULL, node, "dispute", before_id,
                                            &upd, 1, OPERATOR));
    assert_pg_fails(PG_EBUSY,
                    pg_record_delete(node, "dispute", before_id, OPERATOR));
    second = (pg_import *)&second;
    assert_pg_fails(PG_EBUSY,
                    pg_import_begin(&second, node, "dispute", 2, OPERATOR));
    assert_null(second);

    /* ...and the import goes on as if nothing had happened. */
    for (size_t i = 40; i < 50; i++) {
        pg_field_value r[] = DISPUTE(COMMUNITY_1, "批量导入");
        assert_pg_ok(pg_import_add(imp, r, 3, ids[i]));
    }
    pg_import_stats stats;
    assert_pg_ok(pg_import_commit(imp, &stats));
    pg_import_free(imp);
    assert_int_equal(stats.records, 50);

    for (size_t i = 0; i < 50; i++) {
        pg_record *rec;
        assert_pg_ok(pg_record_get(&rec, node, "dispute", ids[i]));
        pg_record_free(rec);
    }
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM dispute"), 51);
    size_t ntxns;
    assert_gap_free_log(node, &ntxns);
    /* The write before the import, then the import's txns. */
    assert_int_equal(ntxns, 1 + stats.txns);

    /* The refused update was not applied behind the import's back, and
     * the handle writes again once the import is done. */
    pg_record *rec;
    size_t si;
    assert_pg_ok(pg_record_get(&rec, node, "dispute", before_id));
    assert_non_null(pg_collection_field(rec->coll, "summary", &si));
    assert_string_equal(rec->values[si].s, "导入之前");
    pg_record_free(rec);
    assert_pg_ok(
        pg_record_put(NULL, node, "dispute", before_id, &upd, 1, OPERATOR));
    assert_gap_free_log(node, &ntxns);
    assert_int_equal(ntxns, 2 + stats.txns);
    pg_node_free(node);
}

static void
test_hardening__an_import_whose_transaction_was_ended_writes_no_more(
    void **state)
{
    fixture *fx = *state;
    char dir[4096], ids[40][PG_RECORD_ID_LEN + 1];
    pg_node *node = make_node(fx, "ended", dir);
    pg_import *imp;

    assert_pg_ok(pg_import_begin(&imp, node, "dispute", 2, OPERATOR));
    for (size_t i = 0; i < 8; i++) {
        pg_field_value r[] = DISPUTE(COMMUNITY_1, "结束之前");
        assert_pg_ok(pg_import_add(imp, r, 3, ids[i]));
    }
    /* Something else on the handle ends the import's transaction. */
    assert_int_equal(sqlite3_exec(node->db, "COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
    int64_t rows = test_sql_int(node, "SELECT count(*) FROM dispute");
    int error = 0;
    for (size_t i = 8; i < 40 && error == 0; i++) {
        pg_field_value r[] = DISPUTE(COMMUNITY_1, "结束之后");
        pg_error_clear();
        error = pg_import_add(imp, r, 3, ids[i]);
    }
    if (error == 0)
        error = pg_import_commit(imp, NULL);
    assert_true(error < 0);
    pg_import_free(imp);
    /* No row was written outside a transaction. */
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM dispute"), rows);
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM dispute WHERE "
                                        "summary = '结束之后'"),
                     0);
    pg_node_free(node);
}

/* ---- damaged secret keys --------------------------------------------------
 */

static void flip_first_byte(const char *path)
{
    uint8_t b;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, 0), 1);
    b ^= 0xff;
    assert_int_equal(pwrite(fd, &b, 1, 0), 1);
    assert_int_equal(close(fd), 0);
}

static void read_all(const char *path, uint8_t *out, size_t len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, out, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Overwrite a file in place: its mode stays. */
static void overwrite(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void test_hardening__a_damaged_sign_key_seed_is_refused(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];
    pg_node *node = make_node(fx, "seed", dir);

    pg_node_free(node);
    testutil_path(path, sizeof(path), dir, "sign.key");
    /* The seed is damaged; the public half, checked before, is intact. */
    flip_first_byte(path);
    assert_int_equal(file_mode(dir, "sign.key"), 0600);
    node = (pg_node *)&node;
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_null(node);
    assert_message_has("sign.key");
    assert_message_has("backup");
    /* Repaired, the node opens again: the seed was the only problem. */
    flip_first_byte(path);
    assert_pg_ok(pg_node_open(&node, dir));
    pg_node_free(node);
}

static void test_hardening__a_damaged_box_key_is_refused(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];
    uint8_t good[PG_BOX_SK_LEN], junk[PG_BOX_SK_LEN];
    pg_node *node = make_node(fx, "box", dir);

    pg_node_free(node);
    testutil_path(path, sizeof(path), dir, "box.key");
    read_all(path, good, sizeof(good));
    pg_random(junk, sizeof(junk));
    overwrite(path, junk, sizeof(junk));
    assert_int_equal(file_mode(dir, "box.key"), 0600);
    node = (pg_node *)&node;
    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_null(node);
    assert_message_has("box.key");
    assert_null(strstr(pg_error_last()->message, "sign.key"));
    overwrite(path, good, sizeof(good));
    assert_pg_ok(pg_node_open(&node, dir));
    pg_node_free(node);
}

/* ---- canonical txn encoding --------------------------------------------- */

/* Protobuf wire format, just enough to take a message apart. */
static size_t get_varint(const uint8_t *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    fail_msg("bad varint in test input");
    return 0;
}

static void put_varint(pg_buf *out, uint64_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b |= 0x80;
        assert_pg_ok(pg_buf_putc(out, b));
    } while (v);
}

/* How to change the field found at the end of a path. */
typedef enum edit_kind {
    EDIT_APPEND_BYTES,  /* append bytes to a length-delimited field */
    EDIT_PAD_VARINT,    /* re-encode a varint field with padding bytes */
    EDIT_APPEND_FIELDS, /* append bytes after the message's own fields */
} edit_kind;

typedef struct edit {
    const int *path; /* field numbers from the top message down */
    size_t depth;
    edit_kind kind;
    const uint8_t *bytes; /* EDIT_APPEND_BYTES, EDIT_APPEND_FIELDS */
    size_t nbytes;
    size_t pad; /* EDIT_PAD_VARINT: extra 0x80 bytes */
} edit;

/* Copy message @p msg to @p out, applying @p e to the first field on its
 * path; lengths of the enclosing messages are re-encoded. */
static void rewrite(pg_buf *out, const uint8_t *msg, size_t len, const edit *e,
                    size_t level)
{
    size_t i = 0;
    bool done = false;

    if (level == e->depth) {
        /* The message itself is the target (EDIT_APPEND_FIELDS). */
        assert_int_equal(e->kind, EDIT_APPEND_FIELDS);
        assert_pg_ok(pg_buf_put(out, msg, len));
        assert_pg_ok(pg_buf_put(out, e->bytes, e->nbytes));
        return;
    }
    while (i < len) {
        uint64_t key, v;
        size_t start = i;
        i += get_varint(msg + i, len - i, &key);
        unsigned wire = (unsigned)(key & 7);
        int number = (int)(key >> 3);
        bool hit = !done && number == e->path[level];
        switch (wire) {
        case 0:
            i += get_varint(msg + i, len - i, &v);
            if (hit && level + 1 == e->depth && e->kind == EDIT_PAD_VARINT) {
                put_varint(out, key);
                /* v in 7-bit groups, every one with the continuation bit,
                 * then pad groups of zero, the last without it. */
                for (uint64_t w = v; w; w >>= 7)
                    assert_pg_ok(
                        pg_buf_putc(out, (uint8_t)(0x80 | (w & 0x7f))));
                if (v == 0)
                    assert_pg_ok(pg_buf_putc(out, 0x80));
                for (size_t k = 1; k < e->pad; k++)
                    assert_pg_ok(pg_buf_putc(out, 0x80));
                assert_pg_ok(pg_buf_putc(out, 0x00));
                done = true;
            } else {
                assert_pg_ok(pg_buf_put(out, msg + start, i - start));
            }
            break;
        case 1:
            i += 8;
            assert_pg_ok(pg_buf_put(out, msg + start, i - start));
            break;
        case 5:
            i += 4;
            assert_pg_ok(pg_buf_put(out, msg + start, i - start));
            break;
        case 2: {
            i += get_varint(msg + i, len - i, &v);
            assert_true(v <= len - i);
            const uint8_t *body = msg + i;
            i += (size_t)v;
            if (!hit) {
                assert_pg_ok(pg_buf_put(out, msg + start, i - start));
                break;
            }
            pg_buf inner = PG_BUF_INIT;
            if (level + 1 == e->depth && e->kind == EDIT_APPEND_BYTES) {
                assert_pg_ok(pg_buf_put(&inner, body, (size_t)v));
                assert_pg_ok(pg_buf_put(&inner, e->bytes, e->nbytes));
            } else {
                rewrite(&inner, body, (size_t)v, e, level + 1);
            }
            put_varint(out, key);
            put_varint(out, inner.len);
            assert_pg_ok(pg_buf_put(out, inner.data, inner.len));
            pg_buf_dispose(&inner);
            done = true;
            break;
        }
        default:
            fail_msg("wire type %u in test input", wire);
        }
    }
    assert_int_equal(i, len);
    if (!done)
        fail_msg("field %d not found at level %zu", e->path[level], level);
}

/* A real signed txn: the body of the first entry of a node's log. */
typedef struct signed_txn {
    pg_node *node;
    uint8_t *body;
    size_t len;
} signed_txn;

static void make_signed_txn(fixture *fx, const char *sub, signed_txn *out)
{
    char dir[4096];
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "原文");
    sqlite3_stmt *st = NULL;

    out->node = make_node(fx, sub, dir);
    assert_pg_ok(
        pg_record_put(NULL, out->node, "dispute", NULL, v, 3, OPERATOR));
    assert_int_equal(sqlite3_prepare_v2(out->node->db,
                                        "SELECT body FROM log WHERE seq = 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    out->len = (size_t)sqlite3_column_bytes(st, 0);
    out->body = malloc(out->len);
    assert_non_null(out->body);
    memcpy(out->body, sqlite3_column_blob(st, 0), out->len);
    sqlite3_finalize(st);
}

static void signed_txn_free(signed_txn *t)
{
    pg_node_free(t->node);
    free(t->body);
}

static void assert_decodes_and_verifies(const signed_txn *t,
                                        const uint8_t *data, size_t len)
{
    pg_txn *txn = NULL;
    assert_pg_ok(pg_txn_decode(&txn, data, len));
    assert_pg_ok(pg_txn_verify(txn, pg_node_card(t->node)->sign_pk));
    pg_txn_free(txn);
}

/* Decode an edited encoding; true when it is refused as PG_EINVALID.  An
 * accepted one is reported, with whether its signature still verifies. */
static bool edit_refused(const signed_txn *t, const edit *e, const char *what)
{
    pg_buf b = PG_BUF_INIT;
    pg_txn *txn = NULL;

    rewrite(&b, t->body, t->len, e, 0);
    assert_true(b.len != t->len || memcmp(b.data, t->body, b.len) != 0);
    pg_error_clear();
    int rc = pg_txn_decode(&txn, b.data, b.len);
    if (rc < 0)
        assert_null(txn);
    if (rc == 0) {
        int v = pg_txn_verify(txn, pg_node_card(t->node)->sign_pk);
        print_error("%s: %zu bytes instead of %zu decode to a txn whose "
                    "signature %s\n",
                    what, b.len, t->len, v == 0 ? "verifies" : "fails");
    } else if (rc != PG_EINVALID) {
        print_error("%s: decode returned %d\n", what, rc);
    }
    pg_txn_free(txn);
    pg_buf_dispose(&b);
    return rc == PG_EINVALID;
}

static void test_hardening__decode_refuses_non_canonical_encodings(void **state)
{
    fixture *fx = *state;
    signed_txn t;
    static const uint8_t nul_tail[] = {0, 'x', 'y', 'z'};
    static const int operator_path[] = {8};
    static const int record_id_path[] = {10, 1};  /* records.id */
    static const int field_path[] = {10, 2, 2};   /* records.changes.field */
    static const int text_path[] = {10, 2, 3, 4}; /* ....value.text */
    static const int seq_path[] = {4};
    static const int hlc_path[] = {5};
    size_t accepted = 0;

    make_signed_txn(fx, "canonical", &t);
    assert_decodes_and_verifies(&t, t.body, t.len);

    /* (b) A string with an embedded NUL and more bytes after it: read up
     * to the NUL, it is the same txn with the same signature. */
    edit op = {.path = operator_path,
               .depth = 1,
               .kind = EDIT_APPEND_BYTES,
               .bytes = nul_tail,
               .nbytes = sizeof(nul_tail)};
    edit rid = {.path = record_id_path,
                .depth = 2,
                .kind = EDIT_APPEND_BYTES,
                .bytes = nul_tail,
                .nbytes = sizeof(nul_tail)};
    edit fld = {.path = field_path,
                .depth = 3,
                .kind = EDIT_APPEND_BYTES,
                .bytes = nul_tail,
                .nbytes = sizeof(nul_tail)};
    edit tx = {.path = text_path,
               .depth = 4,
               .kind = EDIT_APPEND_BYTES,
               .bytes = nul_tail,
               .nbytes = sizeof(nul_tail)};
    /* (c) Non-minimal varints: 0x81 0x00 for 1, and longer padding. */
    edit seq1 = {
        .path = seq_path, .depth = 1, .kind = EDIT_PAD_VARINT, .pad = 1};
    edit seq3 = {
        .path = seq_path, .depth = 1, .kind = EDIT_PAD_VARINT, .pad = 3};
    edit hlc1 = {
        .path = hlc_path, .depth = 1, .kind = EDIT_PAD_VARINT, .pad = 1};
    accepted += !edit_refused(&t, &op, "operator with an embedded NUL");
    accepted += !edit_refused(&t, &rid, "record id with an embedded NUL");
    accepted += !edit_refused(&t, &fld, "field name with an embedded NUL");
    accepted += !edit_refused(&t, &tx, "change text with an embedded NUL");
    accepted += !edit_refused(&t, &seq1, "seq 1 as 0x81 0x00");
    accepted += !edit_refused(&t, &seq3, "seq 1 as 0x81 0x80 0x80 0x00");
    accepted += !edit_refused(&t, &hlc1, "hlc padded by one byte");
    /* The original still decodes and verifies. */
    assert_decodes_and_verifies(&t, t.body, t.len);
    signed_txn_free(&t);
    assert_int_equal(accepted, 0);
}

static void test_hardening__decode_refuses_unknown_fields(void **state)
{
    fixture *fx = *state;
    signed_txn t;
    /* Field 99, varint 1: key (99 << 3 | 0) = 792 = 0x98 0x06. */
    static const uint8_t field99[] = {0x98, 0x06, 0x01};
    static const int record_path[] = {10};
    static const int change_path[] = {10, 2};
    static const int value_path[] = {10, 2, 3};
    static const int top[] = {0};
    pg_buf b = PG_BUF_INIT;
    pg_txn *txn = NULL;
    size_t accepted = 0;

    make_signed_txn(fx, "unknown", &t);
    assert_decodes_and_verifies(&t, t.body, t.len);

    /* (a) An unknown field before the known ones. */
    assert_pg_ok(pg_buf_put(&b, field99, sizeof(field99)));
    assert_pg_ok(pg_buf_put(&b, t.body, t.len));
    pg_error_clear();
    int rc = pg_txn_decode(&txn, b.data, b.len);
    if (rc != PG_EINVALID) {
        print_error("unknown field before the txn's fields: decode "
                    "returned %d\n",
                    rc);
        accepted++;
    }
    pg_txn_free(txn);
    pg_buf_dispose(&b);

    /* An unknown field appended after every known one: of the txn, of a
     * record, of a change, of a change's value. */
    edit end = {.path = top,
                .depth = 0,
                .kind = EDIT_APPEND_FIELDS,
                .bytes = field99,
                .nbytes = sizeof(field99)};
    edit rec = {.path = record_path,
                .depth = 1,
                .kind = EDIT_APPEND_FIELDS,
                .bytes = field99,
                .nbytes = sizeof(field99)};
    edit in = {.path = change_path,
               .depth = 2,
               .kind = EDIT_APPEND_FIELDS,
               .bytes = field99,
               .nbytes = sizeof(field99)};
    edit val = {.path = value_path,
                .depth = 3,
                .kind = EDIT_APPEND_FIELDS,
                .bytes = field99,
                .nbytes = sizeof(field99)};
    accepted += !edit_refused(&t, &end, "unknown field appended to the txn");
    accepted += !edit_refused(&t, &rec, "unknown field appended to a record");
    accepted += !edit_refused(&t, &in, "unknown field appended to a change");
    accepted += !edit_refused(&t, &val, "unknown field appended to a value");
    assert_decodes_and_verifies(&t, t.body, t.len);
    signed_txn_free(&t);
    assert_int_equal(accepted, 0);
}

/* ---- counters -------------------------------------------------------------
 */

static int64_t points_of(pg_node *node, const char *id)
{
    pg_record *rec;
    size_t pi;
    assert_pg_ok(pg_record_get(&rec, node, "volunteer", id));
    assert_non_null(pg_collection_field(rec->coll, "points", &pi));
    assert_int_equal(rec->values[pi].kind, PG_VALUE_INT);
    int64_t v = rec->values[pi].i;
    pg_record_free(rec);
    return v;
}

static void assert_increment_refused(pg_node *node, const char *id, int64_t inc)
{
    pg_field_value v = {"points", test_integer(inc)};
    int64_t was = points_of(node, id);
    snapshot before = snap(node, "volunteer");
    assert_pg_fails(PG_EINVALID, pg_record_put(NULL, node, "volunteer", id, &v,
                                               1, OPERATOR));
    assert_message_has("overflow");
    assert_unchanged(&before, node, "volunteer");
    assert_int_equal(points_of(node, id), was);
    /* Stored as an integer still, not turned into a REAL. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT typeof(points) = 'integer' FROM volunteer WHERE id = '%s'",
             id);
    assert_int_equal(test_sql_int(node, sql), 1);
}

static void increment(pg_node *node, const char *id, int64_t inc)
{
    pg_field_value v = {"points", test_integer(inc)};
    assert_pg_ok(pg_record_put(NULL, node, "volunteer", id, &v, 1, OPERATOR));
}

static void
test_hardening__refuses_a_counter_increment_that_overflows(void **state)
{
    fixture *fx = *state;
    char dir[4096], hi[PG_RECORD_ID_LEN + 1], lo[PG_RECORD_ID_LEN + 1];
    pg_node *node = make_node(fx, "counter", dir);
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"name", test_text("王芳")},
        {"points", test_integer(INT64_MAX - 5)},
    };

    assert_pg_ok(pg_record_put(hi, node, "volunteer", NULL, v, 3, OPERATOR));
    assert_increment_refused(node, hi, 6);
    assert_increment_refused(node, hi, INT64_MAX);
    increment(node, hi, 5);
    assert_int_equal(points_of(node, hi), INT64_MAX);
    increment(node, hi, 0);
    assert_int_equal(points_of(node, hi), INT64_MAX);
    assert_increment_refused(node, hi, 1);
    /* Down again is fine: INT64_MAX + INT64_MIN = -1. */
    increment(node, hi, INT64_MIN);
    assert_int_equal(points_of(node, hi), -1);

    /* The negative side. */
    v[2].value = test_integer(INT64_MIN + 2);
    assert_pg_ok(pg_record_put(lo, node, "volunteer", NULL, v, 3, OPERATOR));
    assert_increment_refused(node, lo, -3);
    assert_increment_refused(node, lo, INT64_MIN);
    increment(node, lo, -2);
    assert_int_equal(points_of(node, lo), INT64_MIN);
    increment(node, lo, 0);
    assert_increment_refused(node, lo, -1);
    assert_int_equal(points_of(node, lo), INT64_MIN);

    size_t ntxns;
    assert_gap_free_log(node, &ntxns);
    assert_int_equal(ntxns, 7);
    pg_node_free(node);
}

/* ---- JSON lines ------------------------------------------------------------
 */

static void
test_hardening__refuses_a_json_line_longer_than_1_mib_unread(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *node = make_node(fx, "longline", dir);
    size_t size = 2 * LINE_MAX_;
    char *buf = malloc(size);
    pg_import_stats stats;

    assert_non_null(buf);
    memset(buf, 'a', size);
    snapshot before = snap(node, "dispute");
    FILE *in = fmemopen(buf, size, "r");
    assert_non_null(in);
    memset(&stats, 0, sizeof(stats));
    assert_pg_fails(PG_ELIMIT,
                    pg_record_import_jsonl(&stats, node, "dispute", in, 16,
                                           OPERATOR, NULL, NULL));
    assert_message_has("line 1");
    assert_message_has("longer than");
    assert_unchanged(&before, node, "dispute");
    /* The reader stopped just past the limit instead of taking in the
     * whole line first. */
    long pos = ftell(in);
    if (pos > LINE_MAX_ + 4096)
        print_error("read %ld bytes of a %zu-byte line\n", pos, size);
    assert_true(pos > 0 && pos <= LINE_MAX_ + 4096);
    fclose(in);
    free(buf);
    pg_node_free(node);
}

/* ---- a damaged clock or sequence ------------------------------------------
 */

static void assert_writes_stopped(fixture *fx, const char *sub, const char *sql)
{
    char dir[4096];
    pg_node *node = make_node(fx, sub, dir);
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "时钟损坏之前");
    pg_import *imp;

    assert_pg_ok(pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    pg_node_free(node);
    store_exec(dir, sql);
    assert_pg_ok(pg_node_open(&node, dir));
    snapshot before = snap(node, "dispute");
    assert_pg_fails(PG_ECORRUPT,
                    pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    assert_message_has("damaged");
    assert_unchanged(&before, node, "dispute");
    assert_pg_fails(PG_ECORRUPT,
                    pg_import_begin(&imp, node, "dispute", 16, OPERATOR));
    assert_null(imp);
    assert_unchanged(&before, node, "dispute");
    /* The one good txn is still the whole log. */
    assert_int_equal(test_sql_int(node, "SELECT count(*) FROM log"), 1);
    pg_node_free(node);
}

static void test_hardening__a_damaged_clock_stops_writes(void **state)
{
    assert_writes_stopped(*state, "hlc",
                          "UPDATE meta SET value = -1 WHERE key = 'hlc'");
}

static void test_hardening__a_damaged_sequence_stops_writes(void **state)
{
    assert_writes_stopped(*state, "seq",
                          "UPDATE meta SET value = -5 WHERE key = 'last_seq'");
    assert_writes_stopped(
        *state, "seqmax",
        "UPDATE meta SET value = 9223372036854775807 WHERE key = 'last_seq'");
}

/* ---- constraints and ids ---------------------------------------------------
 */

static void
test_hardening__a_failed_constraint_is_reported_as_damage(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *node = make_node(fx, "constraint", dir);
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "第一条");

    assert_pg_ok(pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    pg_node_free(node);
    /* The sequence set back: the next txn would reuse origin seq 1. */
    store_exec(dir, "UPDATE meta SET value = 0 WHERE key = 'last_seq'");
    assert_pg_ok(pg_node_open(&node, dir));
    snapshot before = snap(node, "dispute");
    assert_pg_fails(PG_ECORRUPT,
                    pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    assert_message_has("inconsistent");
    assert_unchanged(&before, node, "dispute");
    pg_node_free(node);
}

static int count_cb(const pg_record *rec, void *payload)
{
    (void)rec;
    (*(size_t *)payload)++;
    return 0;
}

static void test_hardening__rows_need_a_valid_id(void **state)
{
    fixture *fx = *state;
    char dir[4096], id[PG_RECORD_ID_LEN + 1];
    pg_node *node = make_node(fx, "ids", dir);
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "有编号");
    size_t n = 0;

    assert_pg_ok(pg_record_put(id, node, "dispute", NULL, v, 3, OPERATOR));
    /* The store refuses a row without an id. */
    assert_int_equal(sqlite3_exec(node->db,
                                  "INSERT INTO dispute(id, _v) "
                                  "VALUES (NULL, x'00')",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    /* A row whose id is too long is damage, not an id cut to fit. */
    assert_int_equal(sqlite3_exec(node->db,
                                  "UPDATE dispute SET id = id || "
                                  "'-AND-SOME-MORE-TEXT'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_pg_fails(PG_ECORRUPT, pg_record_list(node, "dispute", NULL, 0, 0,
                                                true, count_cb, &n));
    assert_message_has("damaged");
    assert_int_equal(n, 0);
    pg_node_free(node);
}

/* ---- file modes
 * -------------------------------------------------------------- */

static void test_hardening__init_creates_private_files(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *node;
    pg_field_value v[] = DISPUTE(COMMUNITY_1, "权限");

    testutil_path(dir, sizeof(dir), fx->root, "modes");
    mode_t old = umask(022);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(file_mode(fx->root, "modes"), 0755);
    assert_pg_ok(pg_node_init(dir, TOWNSHIP, "城正街街道"));
    /* init put the caller's umask back. */
    assert_int_equal(umask(022), 022);

    assert_int_equal(file_mode(dir, "store.db"), 0600);
    assert_int_equal(file_mode(dir, "sign.key"), 0600);
    assert_int_equal(file_mode(dir, "box.key"), 0600);
    assert_int_equal(file_mode(dir, "card.json"), 0644);

    assert_pg_ok(pg_node_open(&node, dir));
    assert_pg_ok(pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    const char *extra[] = {"store.db-wal", "store.db-shm"};
    for (size_t i = 0; i < 2; i++) {
        char path[4200];
        testutil_path(path, sizeof(path), dir, extra[i]);
        if (access(path, F_OK) != 0)
            continue;
        mode_t m = file_mode(dir, extra[i]);
        if (m & 077)
            print_error("%s has mode %03o\n", extra[i], (unsigned)m);
        assert_int_equal(m & 077, 0);
    }
    assert_int_equal(file_mode(dir, "store.db"), 0600);
    pg_node_free(node);
    umask(old);
}

/* ---- one-line messages
 * ------------------------------------------------------- */

static void test_hardening__messages_quote_input_on_one_line(void **state)
{
    fixture *fx = *state;
    char dir[4096], id[PG_RECORD_ID_LEN + 1];
    pg_node *node = make_node(fx, "messages", dir);
    static const char bad[] = "sum\nmary\x1b[31m";
    pg_field_value v[] = {
        {"division", test_text(COMMUNITY_1)},
        {"dispute_type", test_text("邻里纠纷")},
        {bad, test_text("x")},
    };
    pg_field_value good[] = DISPUTE(COMMUNITY_1, "好的");
    pg_record *rec = NULL;
    pg_import *imp = NULL;
    size_t n = 0;

    assert_pg_fails(PG_EINVALID,
                    pg_record_put(NULL, node, "dispute", NULL, v, 3, OPERATOR));
    assert_message_has("sum?mary?[31m");
    assert_message_is_one_printable_line();

    /* The same for every other name or id taken from input. */
    assert_pg_fails(PG_EINVALID,
                    pg_record_put(NULL, node, bad, NULL, good, 3, OPERATOR));
    assert_message_is_one_printable_line();
    assert_pg_fails(PG_EINVALID, pg_record_put(NULL, node, "dispute", bad, good,
                                               1, OPERATOR));
    assert_message_is_one_printable_line();
    assert_pg_ok(pg_record_put(id, node, "dispute", NULL, good, 3, OPERATOR));
    assert_pg_fails(PG_EINVALID, pg_record_put(NULL, node, "dispute", id, v + 2,
                                               1, OPERATOR));
    assert_message_is_one_printable_line();
    assert_pg_fails(PG_EINVALID, pg_record_get(&rec, node, bad, id));
    assert_message_is_one_printable_line();
    assert_pg_fails(PG_ENOTFOUND, pg_record_get(&rec, node, "dispute", bad));
    assert_message_is_one_printable_line();
    assert_pg_fails(PG_EINVALID, pg_record_list(node, "dispute", v + 2, 1, 0,
                                                false, count_cb, &n));
    assert_message_is_one_printable_line();
    assert_pg_fails(PG_EINVALID,
                    pg_import_begin(&imp, node, bad, 16, OPERATOR));
    assert_message_is_one_printable_line();

    /* A JSON key with escaped control characters. */
    pg_parsed *parsed = calloc(1, sizeof(*parsed));
    assert_non_null(parsed);
    static const char json[] = "{\"sum\\nmary\\u001b[31m\": \"x\"}";
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), "dispute");
    pg_error_clear();
    assert_int_equal(pg_parsed_from_json(parsed, coll, json, strlen(json)),
                     PG_EINVALID);
    assert_message_is_one_printable_line();
    pg_parsed_dispose(parsed);
    free(parsed);
    pg_node_free(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_hardening__a_write_during_an_import_is_busy_and_spares_it),
        cmocka_unit_test(
            test_hardening__an_import_whose_transaction_was_ended_writes_no_more),
        cmocka_unit_test(test_hardening__a_damaged_sign_key_seed_is_refused),
        cmocka_unit_test(test_hardening__a_damaged_box_key_is_refused),
        cmocka_unit_test(
            test_hardening__decode_refuses_non_canonical_encodings),
        cmocka_unit_test(test_hardening__decode_refuses_unknown_fields),
        cmocka_unit_test(
            test_hardening__refuses_a_counter_increment_that_overflows),
        cmocka_unit_test(
            test_hardening__refuses_a_json_line_longer_than_1_mib_unread),
        cmocka_unit_test(test_hardening__a_damaged_clock_stops_writes),
        cmocka_unit_test(test_hardening__a_damaged_sequence_stops_writes),
        cmocka_unit_test(
            test_hardening__a_failed_constraint_is_reported_as_damage),
        cmocka_unit_test(test_hardening__rows_need_a_valid_id),
        cmocka_unit_test(test_hardening__init_creates_private_files),
        cmocka_unit_test(test_hardening__messages_quote_input_on_one_line),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
