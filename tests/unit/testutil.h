/* Shared helpers for the cmocka unit tests. */
#ifndef PINGAN_TESTUTIL_H
#define PINGAN_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pingan/error.h"

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

#endif
