/*
 * The library's messages in two languages (pingan/error.h): an error keeps
 * its English message, which is what is stored and sent, and beside it the
 * same message in the locale's language, for display.  Under zh_CN.UTF-8
 * with the build's catalog (<build>/locale/zh_CN/LC_MESSAGES/libpingan.mo)
 * the display text is Chinese, including the inner message of one that
 * wraps another; a catalog whose translation would take other arguments is
 * not used; a quarantine reason, stored in the node's database, stays
 * English whoever's locale the import ran in, and so does the C library's
 * reason (strerror) inside a message.
 */
#include "testutil.h"

#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/hlc.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/quarantine.h"
#include "pingan/record.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/value.h"

#include "merge.h"
#include "node_internal.h"
#include "store.h"

#include <errno.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PINGAN_LOCALE_DIR
#error "PINGAN_LOCALE_DIR names the build's locale directory"
#endif

#define OP "测试员"

/* Chinese messages from the build's catalog.  The group fails when the
 * system lacks the zh_CN.UTF-8 locale (tools/setup generates it). */
static int chinese(void **state)
{
    (void)state;
    char mo[4096];
    struct stat st;
    snprintf(mo, sizeof(mo), "%s/zh_CN/LC_MESSAGES/libpingan.mo",
             PINGAN_LOCALE_DIR);
    if (stat(mo, &st) != 0) {
        print_error("%s is missing: build the catalogs\n", mo);
        return -1;
    }
    if (!setlocale(LC_ALL, "zh_CN.UTF-8"))
        return -1;
    if (!bindtextdomain("libpingan", PINGAN_LOCALE_DIR) ||
        !bind_textdomain_codeset("libpingan", "UTF-8"))
        return -1;
    return 0;
}

static int english(void **state)
{
    (void)state;
    setlocale(LC_ALL, "C");
    pg_error_clear();
    return 0;
}

/* A message the catalog translates: English in pg_error.message, Chinese
 * from pg_error_last_localized(), same code. */
static void test_i18n__an_error_reads_in_english_and_in_chinese(void **s)
{
    (void)s;
    int64_t ms;
    assert_int_equal(pg_time_parse(&ms, "2024-13-01T00:00:00Z"), PG_EINVALID);
    const pg_error *e = pg_error_last();
    assert_int_equal(e->code, PG_EINVALID);
    assert_string_equal(e->message,
                        "time \"2024-13-01T00:00:00Z\": month 13 out of range "
                        "01-12");
    assert_string_equal(pg_error_last_localized(),
                        "时间 \"2024-13-01T00:00:00Z\"：月份 13 超出 01-12 "
                        "的范围");
    assert_string_equal(e->localized, pg_error_last_localized());

    /* The same call in the C locale: English both ways. */
    setlocale(LC_ALL, "C");
    assert_int_equal(pg_time_parse(&ms, "2024-13-01T00:00:00Z"), PG_EINVALID);
    assert_string_equal(pg_error_last_localized(), pg_error_last()->message);
    setlocale(LC_ALL, "zh_CN.UTF-8");

    /* No error: no text. */
    pg_error_clear();
    assert_string_equal(pg_error_last_localized(), "");
}

/* A message wrapping another ("field NAME: " + a phone check's message)
 * carries the inner one's translation into its own. */
static void test_i18n__a_wrapped_message_is_translated_inside_too(void **s)
{
    (void)s;
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), "dispute_party");
    assert_non_null(coll);
    const pg_field *phone = pg_collection_field(coll, "phone", NULL);
    assert_non_null(phone);
    pg_value v = test_text("1380013800"); /* ten digits */
    assert_int_equal(pg_value_check(phone, &v), PG_EINVALID);
    const char *en = pg_error_last()->message;
    const char *zh = pg_error_last_localized();
    if (!strstr(en, "field phone: phone number ") ||
        !strstr(en, ": expected 11 digits, got 10 characters"))
        print_error("English: %s\n", en);
    assert_non_null(strstr(en, "field phone: phone number "));
    assert_non_null(strstr(en, ": expected 11 digits, got 10 characters"));
    if (!strstr(zh, "字段 phone：电话号码 ") ||
        !strstr(zh, "：应为 11 位数字，实际为 10 个字符"))
        print_error("Chinese: %s\n", zh);
    assert_non_null(strstr(zh, "字段 phone：电话号码 "));
    assert_non_null(strstr(zh, "：应为 11 位数字，实际为 10 个字符"));
    assert_null(strstr(zh, "expected"));
}

/* A catalog whose translation has other printf directives than the English
 * (one made without msgfmt --check) is not used: formatting the English
 * arguments with it would read them as the wrong types. */
static void
test_i18n__a_translation_taking_other_arguments_is_not_used(void **s)
{
    (void)s;
    char *root = testutil_mkdtemp();
    char dir[4096], po[4096], cmd[3 * 4096];
    snprintf(dir, sizeof(dir), "%s/zh_CN/LC_MESSAGES", root);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    testutil_path(po, sizeof(po), root, "bad.po");
    FILE *f = fopen(po, "w");
    assert_non_null(f);
    fputs(
        "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"
        "msgid \"time \\\"%s\\\": month %02u out of range 01-12\"\n"
        "msgstr \"时间 %d：月份 %s 超出范围\"\n\n"
        "msgid \"time \\\"%s\\\": day %02u out of range for %04u-%02u\"\n"
        "msgstr \"时间 \\\"%s\\\"：日 %02u 超出 %04u-%02u 的范围\"\n",
        f);
    assert_int_equal(fclose(f), 0);
    /* No --check: this catalog is the mistake the check is there for. */
    snprintf(cmd, sizeof(cmd), "msgfmt -o '%s/libpingan.mo' '%s'", dir, po);
    assert_int_equal(system(cmd), 0);
    assert_non_null(bindtextdomain("libpingan", root));

    int64_t ms;
    assert_int_equal(pg_time_parse(&ms, "2024-13-01T00:00:00Z"), PG_EINVALID);
    assert_string_equal(pg_error_last_localized(), pg_error_last()->message);
    /* The same catalog's translation with the same directives is used. */
    assert_int_equal(pg_time_parse(&ms, "2023-02-30T00:00:00Z"), PG_EINVALID);
    assert_string_equal(pg_error_last()->message,
                        "time \"2023-02-30T00:00:00Z\": day 30 out of range "
                        "for 2023-02");
    assert_string_equal(pg_error_last_localized(),
                        "时间 \"2023-02-30T00:00:00Z\"：日 30 超出 2023-02 "
                        "的范围");

    assert_non_null(bindtextdomain("libpingan", PINGAN_LOCALE_DIR));
    testutil_rmtree(root);
    free(root);
}

/* ---- stored text stays English ------------------------------------------ */

/* A txn of 石潭镇 whose value breaks the schema reaches 湘潭县 while the
 * locale is Chinese: it is quarantined, and the stored reason, which any
 * operator of the county reads later in any locale, is the English one. */
static void test_i18n__a_stored_quarantine_reason_stays_english(void **s)
{
    (void)s;
    char *root = testutil_mkdtemp();
    char *cards[2];
    pg_node *nodes[2];
    static const test_node_spec specs[2] = {
        {"430321000000", "湘潭县"},
        {"430321112000", "石潭镇"},
    };
    assert_int_equal(test_nodes_setup(nodes, cards, root, specs, 2), 0);
    pg_node *county = nodes[0], *town = nodes[1];
    test_pin(county, cards[1], PG_PEER_CHILD);
    test_pin(town, cards[0], PG_PEER_PARENT);

    /* A dispute_party whose phone has ten digits, signed by the town. */
    char id[PG_RECORD_ID_LEN + 1];
    pg_record_id_make(id, &town->ulid, specs[1].code, pg_time_now_ms());
    const pg_card *card = pg_node_card(town);
    pg_txn *t = NULL;
    pg_buf b = PG_BUF_INIT;
    pg_value v = test_text("1380013800");
    assert_pg_ok(pg_txn_new(&t));
    assert_pg_ok(pg_txn_set_header(
        t, card->code, card->key_id,
        (uint64_t)test_sql_int(town, "SELECT value FROM meta WHERE key = "
                                     "'last_seq'") +
            1,
        PG_HLC_PACK(pg_time_now_ms(), 0), specs[1].code, "dispute_party", OP));
    assert_pg_ok(pg_txn_add(t, id, "phone", &v, NULL));
    assert_pg_ok(pg_txn_seal(t));
    pg_txn_sign(t, pg_node__sign_sk(town));
    assert_pg_ok(pg_txn_encode(&b, t));
    pg_txn_free(t);

    pg_peer peer;
    pg_merger *m = NULL;
    pg_merge_result res;
    assert_pg_ok(pg_peer_get(&peer, county, specs[1].code));
    assert_pg_ok(pg_store__begin(county->db));
    assert_pg_ok(pg_merger_new(&m, county));
    assert_pg_ok(pg_merger_apply(m, &peer, 1, b.data, b.len, &res));
    assert_pg_ok(pg_merger_finish(m));
    pg_merger_free(m);
    assert_pg_ok(pg_store__commit(county->db));
    pg_buf_dispose(&b);
    assert_int_equal(res.outcome, PG_MERGED_QUARANTINED);

    pg_quarantined q;
    assert_pg_ok(pg_quarantine_get(
        &q, county, test_sql_int(county, "SELECT max(id) FROM quarantine")));
    if (!strstr(q.reason, "expected 11 digits"))
        print_error("stored reason: %s\n", q.reason);
    assert_non_null(strstr(q.reason, "invalid: record "));
    assert_non_null(strstr(q.reason, "field phone: phone number "));
    assert_non_null(strstr(q.reason, "expected 11 digits"));
    assert_null(strstr(q.reason, "应为"));
    assert_null(strstr(q.reason, "字段"));
    /* And what the import reported is the same English. */
    assert_string_equal(res.reason, q.reason);
    /* The locale was Chinese all along: the same check speaks Chinese. */
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), "dispute_party");
    assert_int_equal(
        pg_value_check(pg_collection_field(coll, "phone", NULL), &v),
        PG_EINVALID);
    assert_non_null(strstr(pg_error_last_localized(), "应为 11 位数字"));

    /* The C library's reason inside a message: English in the message
     * and in the import's report, the locale's language for display. */
    char missing[4096];
    pg_bundle_report r;
    testutil_path(missing, sizeof(missing), root, "missing.pgb");
    assert_int_equal(pg_bundle_import(county, missing, &r), PG_ENOTFOUND);
    if (!strstr(pg_error_last()->message, ": No such file or directory"))
        print_error("English: %s\n", pg_error_last()->message);
    assert_non_null(strstr(pg_error_last()->message, "cannot open "));
    assert_non_null(
        strstr(pg_error_last()->message, ": No such file or directory"));
    assert_null(strstr(r.message, "没有"));
    assert_non_null(strstr(pg_error_last_localized(), "无法打开 "));
    /* With the C library's own Chinese (Debian: libc-l10n). */
    if (strcmp(strerror(ENOENT), "No such file or directory") != 0)
        assert_non_null(strstr(pg_error_last_localized(), strerror(ENOENT)));
    else
        assert_non_null(
            strstr(pg_error_last_localized(), "No such file or directory"));

    test_nodes_free(nodes, cards, 2);
    testutil_rmtree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i18n__an_error_reads_in_english_and_in_chinese),
        cmocka_unit_test(test_i18n__a_wrapped_message_is_translated_inside_too),
        cmocka_unit_test(
            test_i18n__a_translation_taking_other_arguments_is_not_used),
        cmocka_unit_test(test_i18n__a_stored_quarantine_reason_stays_english),
    };
    return cmocka_run_group_tests(tests, chinese, english);
}
