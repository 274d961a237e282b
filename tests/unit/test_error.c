/* The error mechanism (pingan/error.h): a message stays one line whatever
 * the values it names hold. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pingan/error.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error__message_stays_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
