#define _XOPEN_SOURCE 700
#include "testutil.h"

#include "bundle.h"
#include "node_internal.h"
#include "pingan/cert.h"
#include "pingan/crypto.h"

#include <sqlite3.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *testutil_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];

    snprintf(tmpl, sizeof(tmpl), "%s/pingan-test-XXXXXX", base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testutil_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void testutil_path(char *out, size_t outlen, const char *dir, const char *name)
{
    snprintf(out, outlen, "%s/%s", dir, name);
}

int test_node_setup(pg_node **out, char **card_out, const char *dir,
                    const char *code, const char *name)
{
    if (pg_node_init(dir, code, name) < 0 || pg_node_open(out, dir) < 0) {
        print_error("setup %s: %s\n", code, pg_error_last()->message);
        return -1;
    }
    if (card_out && !(*card_out = pg_card_to_json(pg_node_card(*out))))
        return -1;
    return 0;
}

int test_nodes_setup(pg_node **nodes, char **cards, const char *root,
                     const test_node_spec *specs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char dir[4096];
        testutil_path(dir, sizeof(dir), root, specs[i].code);
        if (test_node_setup(&nodes[i], &cards[i], dir, specs[i].code,
                            specs[i].name) < 0)
            return -1;
    }
    return 0;
}

pg_node *test_make_node(char dir_out[4096], const char *root, const char *sub,
                        const char *code, const char *name)
{
    pg_node *node;
    testutil_path(dir_out, 4096, root, sub);
    assert_pg_ok(pg_node_init(dir_out, code, name));
    assert_pg_ok(pg_node_open(&node, dir_out));
    return node;
}

void test_nodes_free(pg_node **nodes, char **cards, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pg_node_free(nodes[i]);
        if (cards)
            free(cards[i]);
    }
}

void test_pin(pg_node *node, const char *card, pg_peer_role role)
{
    assert_pg_ok(pg_peer_add(node, card, strlen(card), role, NULL, NULL));
}

int64_t test_sql_int(pg_node *node, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(node->db, sql, -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

void test_certify(pg_node *receiver, pg_node *issuer, const pg_card *subject)
{
    pg_field_value v[PG_CERT_FIELDS];
    pg_cert_text text;
    pg_cert cert;
    sqlite3_stmt *st = NULL;
    char id[64];

    assert_int_equal(pg_cert_issue(&cert, pg_node_card(issuer),
                                   pg_node__sign_sk(issuer), subject, 1),
                     0);
    pg_cert_to_fields(v, &text, &cert);
    static int serial; /* one record per certificate */
    snprintf(id, sizeof(id), "%s-01JTEST%019d", pg_node_code(issuer), ++serial);
    assert_int_equal(
        sqlite3_prepare_v2(
            receiver->db,
            "INSERT INTO node(id, division, code, name, tier, sign_pk, box_pk, "
            "key_id, suite, issuer, issuer_key_id, valid_from, "
            "certificate_sig, _v) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,x'')",
            -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < PG_CERT_FIELDS; i++) {
        if (v[i].value.kind == PG_VALUE_INT)
            sqlite3_bind_int64(st, i + 2, v[i].value.i);
        else
            sqlite3_bind_text(st, i + 2, v[i].value.s, (int)v[i].value.len,
                              SQLITE_TRANSIENT);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

pg_value test_text(const char *s)
{
    pg_value v = {.kind = PG_VALUE_TEXT, .s = s, .len = strlen(s)};
    return v;
}

pg_value test_integer(int64_t i)
{
    pg_value v = {.kind = PG_VALUE_INT, .i = i};
    return v;
}

uint64_t test_rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

void test_blob_free(test_blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

test_blob test_blob_copy(const void *data, size_t len)
{
    test_blob b = {malloc(len ? len : 1), len};
    assert_non_null(b.data);
    if (len)
        memcpy(b.data, data, len);
    return b;
}

uint32_t test_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

void test_set_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void test_parse_layout(test_layout *l, const uint8_t *b, size_t len)
{
    memset(l, 0, sizeof(*l));
    assert_true(len > PG_BUNDLE_PREAMBLE);
    l->hlen = test_get_u32(b + 14);
    l->frame = malloc((len / (4 + PG_STREAM_ABYTES) + 1) * sizeof(size_t));
    assert_non_null(l->frame);
    size_t at = PG_BUNDLE_PREAMBLE + l->hlen + PG_SIG_LEN;
    for (;;) {
        assert_true(at + 4 <= len);
        uint32_t n = test_get_u32(b + at);
        if (n == 0)
            break;
        l->frame[l->nframes++] = at;
        at += 4 + n;
    }
    l->end_mark = at;
    l->trailer = at + 4;
    assert_int_equal(l->trailer + PG_SIG_LEN, len);
}
