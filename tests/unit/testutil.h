/* Shared helpers for the cmocka unit tests. */
#ifndef PINGAN_TESTUTIL_H
#define PINGAN_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pingan/error.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/value.h"

/* Run a libpingan call that must succeed; on failure print its message. */
#define assert_pg_ok(expr)                                                     \
    do {                                                                       \
        pg_error_clear();                                                      \
        int assert_pg_rc_ = (expr);                                            \
        if (assert_pg_rc_ < 0)                                                 \
            print_error("%s failed: %d %s\n", #expr, assert_pg_rc_,            \
                        pg_error_last()->message);                             \
        assert_int_equal(assert_pg_rc_, 0);                                    \
    } while (0)

/* Run a call that must fail with the given code. */
#define assert_pg_fails(code, expr)                                            \
    do {                                                                       \
        pg_error_clear();                                                      \
        int assert_pg_rc_ = (expr);                                            \
        if (assert_pg_rc_ != (code))                                           \
            print_error("%s: expected %d, got %d (%s)\n", #expr, (code),       \
                        assert_pg_rc_, pg_error_last()->message);              \
        assert_int_equal(assert_pg_rc_, (code));                               \
    } while (0)

/* A fresh temporary directory; the caller frees the string. */
char *testutil_mkdtemp(void);

/* Remove a directory tree (rm -rf).  NULL-safe. */
void testutil_rmtree(const char *path);

/* Join a directory and a name into a static-size buffer. */
void testutil_path(char *out, size_t outlen, const char *dir, const char *name);

/* ---- nodes ---------------------------------------------------------------
 */

/* Init a node in `dir` and open it; with card_out, also its card as JSON
 * (the caller frees it).  For setup functions: 0, or -1 after printing
 * why. */
int test_node_setup(pg_node **out, char **card_out, const char *dir,
                    const char *code, const char *name);

/* A fixture node's division code and name. */
typedef struct test_node_spec {
    const char *code;
    const char *name;
} test_node_spec;

/* n nodes, each in root/<code> and with its card, as test_node_setup. */
int test_nodes_setup(pg_node **nodes, char **cards, const char *root,
                     const test_node_spec *specs, size_t n);

/* Make a node in root/sub (created by init) and open it; asserts. */
pg_node *test_make_node(char dir_out[4096], const char *root, const char *sub,
                        const char *code, const char *name);

/* Free n nodes and, when cards is not NULL, their cards. */
void test_nodes_free(pg_node **nodes, char **cards, size_t n);

/* Pin a card (JSON) on `node` as a peer of the given role; asserts. */
void test_pin(pg_node *node, const char *card, pg_peer_role role);

/* The integer in the first column of the one row a query returns. */
int64_t test_sql_int(pg_node *node, const char *sql);

/* Store in receiver's `node` table a certificate of subject issued by
 * issuer, as if its txn had been merged. */
void test_certify(pg_node *receiver, pg_node *issuer, const pg_card *subject);

/* ---- values -------------------------------------------------------------- */

pg_value test_text(const char *s);
pg_value test_integer(int64_t i);

/* xorshift64: a reproducible stream from a nonzero *state. */
uint64_t test_rng_next(uint64_t *state);

/* ---- bytes --------------------------------------------------------------- */

typedef struct test_blob {
    uint8_t *data;
    size_t len;
} test_blob;

void test_blob_free(test_blob *b);
/* A copy of len bytes (never a NULL pointer, even for 0 bytes). */
test_blob test_blob_copy(const void *data, size_t len);

uint32_t test_get_u32(const uint8_t *p);
void test_set_u32(uint8_t *p, uint32_t v);

/* Where things are in a well-formed bundle, by parsing the lengths:
 * preamble (u32 header length at 14), header, its signature, frames (u32
 * length ‖ ciphertext), end mark (u32 0), trailer signature. */
typedef struct test_layout {
    size_t hlen;
    size_t nframes;
    size_t *frame; /* offset of each frame's length prefix */
    size_t end_mark;
    size_t trailer; /* the trailer's signature */
} test_layout;

/* Fill *l from a bundle's bytes; the caller frees l->frame. */
void test_parse_layout(test_layout *l, const uint8_t *b, size_t len);

#endif
