/* The error mechanism (pingan/error.h): a message stays one line whatever
 * the values it names hold. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pingan/error.h"
#include "pingan/value.h"

#include <string.h>

/* Messages name bad values from outside (a SQLite error quoting a
 * damaged store's schema, a field of a peer's file): control characters
 * among them must not break the one line a message promises (a restore of
 * a backup whose store schema held one printed a raw byte). */
static void test_error__message_stays_one_line(void **s)
{
    (void)s;
    assert_int_equal(pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                                  "damaged (%s)", "a\nb\tc\x1b[2Jd\x7f"),
                     PG_ECORRUPT);
    const pg_error *e = pg_error_last();
    assert_int_equal(e->code, PG_ECORRUPT);
    assert_string_equal(e->message, "damaged (a?b?c?[2Jd?)");
    /* Text beyond ASCII (names of divisions) is kept. */
    pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID, "%s", "湘潭县 430321000000");
    assert_string_equal(pg_error_last()->message, "湘潭县 430321000000");
    pg_error_clear();
    assert_int_equal(pg_error_last()->code, PG_OK);
}

/* Messages go into JSON (jansson refuses strings that are not UTF-8): a
 * long Chinese message is cut at a character, never inside one, and a
 * byte that is not UTF-8 (a damaged file quoted) becomes '?'. */
static void test_error__message_stays_utf8(void **s)
{
    (void)s;
    char big[1024];
    size_t len = 0;
    while (len + 3 < sizeof(big)) {
        memcpy(big + len, "湘", 3);
        len += 3;
    }
    big[len] = 0;
    for (size_t shift = 0; shift < 3; shift++) {
        pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID, "%.*s%s", (int)shift,
                     "abc", big);
        const char *m = pg_error_last()->message;
        assert_true(pg_utf8_valid(m, strlen(m)));
        assert_true(strlen(m) >= sizeof(pg_error_last()->message) - 4);
    }
    pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE, "bad %s end",
                 "\xff\xc3(\xe6\xb9\xa6\xed\xa0\x80");
    assert_string_equal(pg_error_last()->message, "bad ?\?(湦?\?? end");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error__message_stays_one_line),
        cmocka_unit_test(test_error__message_stays_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
