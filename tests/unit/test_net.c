/*
 * Signed HTTP requests and answers (sync/netauth.h, DESIGN §8), and the
 * export options a sync uses (pingan/exchange.h): a county 湘潭县 serving
 * its township 石潭镇.  A request verifies only as sent: any change to
 * its method, path, query, addressee, sender, key, time, nonce, body
 * hash or signature refuses it with 401; a nonce is refused a second
 * time, also after the store is closed and opened again; a clock more
 * than ten minutes off is refused naming the skew; a revoked key gets
 * 403.  An answer verifies only under the server's key, for the nonce,
 * status, time and body it was signed over.  Exports stop after one
 * bounded bundle saying there is more, can start anywhere in the log,
 * and cover a part of the log that holds nothing for the peer.
 */
#include "testutil.h"

#include "netauth.h"
#include "node_internal.h"
#include "pingan/exchange.h"
#include "pingan/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COUNTY, TOWN, OTHER, NNODES };

static const test_node_spec specs[NNODES] = {
    {"430321000000", "湘潭县"},
    {"430321112000", "石潭镇"},
    {"430381000000", "湘乡市"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx || !(fx->root = testutil_mkdtemp()) ||
        test_nodes_setup(fx->node, fx->card, fx->root, specs, NNODES) < 0)
        return -1;
    test_pin(fx->node[COUNTY], fx->card[TOWN], PG_PEER_CHILD);
    test_pin(fx->node[TOWN], fx->card[COUNTY], PG_PEER_PARENT);
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

static const char *const URI = "/v1/pull?after=0&ack=0&max=65536";

static char empty_hash[2 * PG_HASH_LEN + 1];

/* A request of the township to the county, signed now. */
static pg_net_auth signed_pull(fixture *fx)
{
    pg_net_auth a;
    pg_net_body_hash(empty_hash, "", 0);
    pg_net_sign_request(&a, fx->node[TOWN], "GET", URI, specs[COUNTY].code,
                        empty_hash);
    return a;
}

static pg_net_refusal verify(fixture *fx, const char *method, const char *uri,
                             const pg_net_auth *a, int64_t now)
{
    pg_net_refusal refusal;
    int64_t skew;
    bool signed_ok;
    assert_pg_ok(pg_net_verify_request(fx->node[COUNTY], method, uri, a, now,
                                       &refusal, &skew, &signed_ok));
    /* Only a request signed by a peer's key learns more than "no". */
    assert_true(signed_ok ==
                (refusal == PG_NET_OK || refusal == PG_NET_FORBIDDEN ||
                 strstr(pg_error_last()->message, "replayed") ||
                 strstr(pg_error_last()->message, "clock skew")));
    return refusal;
}

static void test_request_round_trip(void **state)
{
    fixture *fx = *state;
    pg_net_auth a = signed_pull(fx), parsed;
    char time[24];

    snprintf(time, sizeof(time), "%lld", (long long)a.time_ms);
    assert_pg_ok(pg_net_auth_parse(&parsed, a.from, a.key_id, time, a.nonce,
                                   a.body, a.sig));
    assert_memory_equal(&parsed, &a, sizeof(a));
    assert_int_equal(verify(fx, "GET", URI, &parsed, pg_time_now_ms()),
                     PG_NET_OK);
    /* The same nonce again: a replay. */
    assert_int_equal(verify(fx, "GET", URI, &parsed, pg_time_now_ms()),
                     PG_NET_UNAUTHORIZED);
    assert_non_null(strstr(pg_error_last()->message, "replayed"));
    /* Also once the store was closed and opened again. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", fx->node[COUNTY]->dir);
    pg_node_free(fx->node[COUNTY]);
    assert_pg_ok(pg_node_open(&fx->node[COUNTY], dir));
    assert_int_equal(verify(fx, "GET", URI, &parsed, pg_time_now_ms()),
                     PG_NET_UNAUTHORIZED);
}

static void test_request_tampered(void **state)
{
    fixture *fx = *state;
    int64_t now = pg_time_now_ms();

    /* Each a fresh request, so no refusal is a replay. */
    pg_net_auth a = signed_pull(fx);
    assert_int_equal(verify(fx, "POST", URI, &a, now), PG_NET_UNAUTHORIZED);
    a = signed_pull(fx);
    assert_int_equal(
        verify(fx, "GET", "/v1/pull?after=0&ack=0&max=65537", &a, now),
        PG_NET_UNAUTHORIZED);
    a = signed_pull(fx);
    a.time_ms += 1;
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    a = signed_pull(fx);
    a.nonce[0] = a.nonce[0] == 'a' ? 'b' : 'a';
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    a = signed_pull(fx);
    a.body[0] = a.body[0] == 'a' ? 'b' : 'a';
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    a = signed_pull(fx);
    a.sig[10] = a.sig[10] == 'a' ? 'b' : 'a';
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    assert_non_null(strstr(pg_error_last()->message, "does not verify"));
    /* Addressed to another node. */
    pg_net_body_hash(empty_hash, "", 0);
    pg_net_sign_request(&a, fx->node[TOWN], "GET", URI, specs[OTHER].code,
                        empty_hash);
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    /* Not a peer; a peer's code with another key. */
    pg_net_sign_request(&a, fx->node[OTHER], "GET", URI, specs[COUNTY].code,
                        empty_hash);
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    assert_non_null(strstr(pg_error_last()->message, "not a peer"));
    memcpy(a.from, specs[TOWN].code, sizeof(a.from));
    assert_int_equal(verify(fx, "GET", URI, &a, now), PG_NET_UNAUTHORIZED);
    assert_non_null(strstr(pg_error_last()->message, "not the key pinned"));
    /* None of these was remembered as a nonce. */
    assert_int_equal(
        test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM http_nonce"), 0);
}

static void test_request_clock(void **state)
{
    fixture *fx = *state;
    int64_t now = pg_time_now_ms();
    pg_net_auth a = signed_pull(fx);
    pg_net_refusal refusal;
    int64_t skew;
    bool signed_ok;

    /* The server's clock 11 minutes behind the request: refused. */
    assert_pg_ok(pg_net_verify_request(fx->node[COUNTY], "GET", URI, &a,
                                       now - 11 * 60 * 1000, &refusal, &skew,
                                       &signed_ok));
    assert_true(signed_ok);
    assert_int_equal(refusal, PG_NET_UNAUTHORIZED);
    assert_true(skew > 10 * 60 * 1000);
    assert_non_null(strstr(pg_error_last()->message, "clock skew"));
    /* 9 minutes: accepted, and the skew is reported. */
    a = signed_pull(fx);
    assert_pg_ok(pg_net_verify_request(fx->node[COUNTY], "GET", URI, &a,
                                       a.time_ms + 9 * 60 * 1000, &refusal,
                                       &skew, &signed_ok));
    assert_int_equal(refusal, PG_NET_OK);
    assert_int_equal(skew, -9 * 60 * 1000);
}

static void test_request_parse(void **state)
{
    fixture *fx = *state;
    pg_net_auth a = signed_pull(fx), p;
    char time[24];
    snprintf(time, sizeof(time), "%lld", (long long)a.time_ms);

    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, NULL, a.key_id, time,
                                                a.nonce, a.body, a.sig));
    assert_non_null(strstr(pg_error_last()->message, "not signed"));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, "4303", a.key_id, time,
                                                a.nonce, a.body, a.sig));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, a.from, "XYZ", time,
                                                a.nonce, a.body, a.sig));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, a.from, a.key_id, "-5",
                                                a.nonce, a.body, a.sig));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, a.from, a.key_id,
                                                "99999999999999999999", a.nonce,
                                                a.body, a.sig));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, a.from, a.key_id, time,
                                                "ABCDEF", a.body, a.sig));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, a.from, a.key_id, time,
                                                a.nonce, "00", a.sig));
    assert_pg_fails(PG_EAUTH, pg_net_auth_parse(&p, a.from, a.key_id, time,
                                                a.nonce, a.body, "zz"));
}

static void test_request_revoked(void **state)
{
    fixture *fx = *state;
    pg_revoke_result rr;

    assert_pg_ok(
        pg_revoke(fx->node[COUNTY], specs[TOWN].code, 0, "县平安办", &rr));
    pg_net_auth a = signed_pull(fx);
    assert_int_equal(verify(fx, "GET", URI, &a, pg_time_now_ms()),
                     PG_NET_FORBIDDEN);
    assert_non_null(strstr(pg_error_last()->message, "revoked"));
}

static void test_response(void **state)
{
    fixture *fx = *state;
    char sig[2 * PG_SIG_LEN + 1], body[2 * PG_HASH_LEN + 1];
    const uint8_t *pk = pg_node_card(fx->node[COUNTY])->sign_pk;
    const char *county = specs[COUNTY].code;
    pg_net_auth req = signed_pull(fx), other = req;

    pg_net_body_hash(body, "{\"ack\":7}", 9);
    pg_net_sign_response(sig, fx->node[COUNTY], 200, &req, 1000, body, "");
    assert_true(
        pg_net_verify_response(sig, pk, county, 200, &req, 1000, body, ""));
    assert_false(
        pg_net_verify_response(sig, pk, county, 204, &req, 1000, body, ""));
    assert_false(
        pg_net_verify_response(sig, pk, county, 200, &req, 1001, body, ""));
    assert_false(pg_net_verify_response(sig, pk, specs[TOWN].code, 200, &req,
                                        1000, body, ""));
    /* Not an answer to another request: another nonce, another sender,
     * or the same nonce in a request signed by someone else. */
    other.nonce[0] = other.nonce[0] == 'a' ? 'b' : 'a';
    assert_false(
        pg_net_verify_response(sig, pk, county, 200, &other, 1000, body, ""));
    other = req;
    memcpy(other.from, specs[OTHER].code, sizeof(other.from));
    assert_false(
        pg_net_verify_response(sig, pk, county, 200, &other, 1000, body, ""));
    other = req;
    other.sig[0] = other.sig[0] == 'a' ? 'b' : 'a';
    assert_false(
        pg_net_verify_response(sig, pk, county, 200, &other, 1000, body, ""));
    pg_net_body_hash(body, "{\"ack\":8}", 9);
    assert_false(
        pg_net_verify_response(sig, pk, county, 200, &req, 1000, body, ""));
    assert_false(pg_net_verify_response(sig,
                                        pg_node_card(fx->node[TOWN])->sign_pk,
                                        county, 200, &req, 1000, body, ""));
    assert_false(
        pg_net_verify_response("beef", pk, county, 200, &req, 1000, body, ""));
    /* The token of the bundle an answer carries is signed too. */
    pg_net_sign_response(sig, fx->node[COUNTY], 200, &req, 1000, body,
                         "0123456789abcdef0123456789abcdef");
    assert_true(pg_net_verify_response(sig, pk, county, 200, &req, 1000, body,
                                       "0123456789abcdef0123456789abcdef"));
    assert_false(pg_net_verify_response(sig, pk, county, 200, &req, 1000, body,
                                        "0123456789abcdef0123456789abcdee"));
    assert_false(
        pg_net_verify_response(sig, pk, county, 200, &req, 1000, body, ""));
}

/* ---- export options of a sync ------------------------------------------- */

typedef struct files {
    pg_export_file f[8];
    size_t n;
} files;

static int keep_file(const pg_export_file *f, void *payload)
{
    files *fs = payload;
    if (fs->n < 8)
        fs->f[fs->n++] = *f;
    return 0;
}

static void put_disputes(pg_node *node, const char *division, int n)
{
    char rid[PG_RECORD_ID_LEN + 1];
    for (int i = 0; i < n; i++) {
        char summary[128];
        snprintf(summary, sizeof(summary),
                 "石潭镇第%d组两户因宅基地界址发生争执，村调委会登记受理", i);
        pg_field_value v[] = {
            {"division", test_text(division)},
            {"dispute_type", test_text("邻里纠纷")},
            {"summary", test_text(summary)},
        };
        assert_pg_ok(pg_record_put(rid, node, "dispute", NULL, v, 3, "周兰"));
    }
}

static void test_export_bounded(void **state)
{
    fixture *fx = *state;
    char out[4096];
    files fs;

    put_disputes(fx->node[TOWN], specs[TOWN].code, 200);
    testutil_path(out, sizeof(out), fx->root, "push.bundle");
    /* One bundle of about 8 KiB, saying there is more. */
    memset(&fs, 0, sizeof(fs));
    pg_export_opts eo = {.to = specs[COUNTY].code,
                         .out = out,
                         .max_bytes = 8192,
                         .max_files = 1};
    assert_pg_ok(pg_bundle_export(fx->node[TOWN], &eo, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_true(fs.f[0].more);
    assert_int_equal(fs.f[0].first, 1);
    assert_true(fs.f[0].last > 1 && fs.f[0].last < 200);
    assert_true(fs.f[0].bytes <= 8192);
    uint64_t first_last = fs.f[0].last;
    /* The next starts where that one stopped (sent_upto). */
    memset(&fs, 0, sizeof(fs));
    assert_pg_ok(pg_bundle_export(fx->node[TOWN], &eo, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_int_equal(fs.f[0].first, first_last + 1);
    /* From anywhere: after 150, to the end, in one bundle. */
    memset(&fs, 0, sizeof(fs));
    eo.max_bytes = 0;
    eo.has_after = true;
    eo.after = 150;
    assert_pg_ok(pg_bundle_export(fx->node[TOWN], &eo, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_false(fs.f[0].more);
    assert_int_equal(fs.f[0].first, 151);
    assert_int_equal(fs.f[0].last, 200);
    assert_int_equal(fs.f[0].txns, 50);
}

static void test_export_cover(void **state)
{
    fixture *fx = *state;
    char out[4096];
    files fs;
    pg_bundle_report rep;

    /* The county's log: the township's certificate (which goes down to
     * it), then the township's own disputes (which do not go back). */
    put_disputes(fx->node[TOWN], specs[TOWN].code, 3);
    testutil_path(out, sizeof(out), fx->root, "up.bundle");
    memset(&fs, 0, sizeof(fs));
    pg_export_opts up = {.to = specs[COUNTY].code, .out = out};
    assert_pg_ok(pg_bundle_export(fx->node[TOWN], &up, keep_file, &fs));
    assert_pg_ok(pg_bundle_import(fx->node[COUNTY], out, &rep));
    int64_t county_last =
        test_sql_int(fx->node[COUNTY], "SELECT max(seq) FROM log");
    int64_t cert_seq =
        test_sql_int(fx->node[COUNTY], "SELECT min(seq) FROM log WHERE "
                                       "collection = 'node'");
    assert_true(county_last > cert_seq);
    /* After the certificate, nothing is for the township: without cover
     * no bundle, with cover one that covers the range and carries no txn. */
    testutil_path(out, sizeof(out), fx->root, "down.bundle");
    memset(&fs, 0, sizeof(fs));
    pg_export_opts down = {.to = specs[TOWN].code,
                           .out = out,
                           .has_after = true,
                           .after = (uint64_t)cert_seq};
    assert_pg_ok(pg_bundle_export(fx->node[COUNTY], &down, keep_file, &fs));
    assert_int_equal(fs.n, 0);
    down.cover = true;
    assert_pg_ok(pg_bundle_export(fx->node[COUNTY], &down, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_int_equal(fs.f[0].txns, 0);
    assert_int_equal(fs.f[0].first, (uint64_t)cert_seq + 1);
    assert_int_equal(fs.f[0].last, (uint64_t)county_last);
    /* Nothing walked at all: no bundle even with cover. */
    memset(&fs, 0, sizeof(fs));
    down.after = (uint64_t)county_last;
    assert_pg_ok(pg_bundle_export(fx->node[COUNTY], &down, keep_file, &fs));
    assert_int_equal(fs.n, 0);
}

static void test_ack(void **state)
{
    fixture *fx = *state;
    pg_peer p;

    put_disputes(fx->node[COUNTY], specs[TOWN].code, 2);
    int64_t last = test_sql_int(fx->node[COUNTY], "SELECT max(seq) FROM log");
    assert_pg_ok(pg_exchange_ack(fx->node[COUNTY], specs[TOWN].code, 1));
    assert_pg_ok(pg_peer_get(&p, fx->node[COUNTY], specs[TOWN].code));
    assert_int_equal(p.acked_upto, 1);
    assert_true(p.last_sync_ms > 0);
    /* Never past the log, never backward. */
    assert_pg_ok(pg_exchange_ack(fx->node[COUNTY], specs[TOWN].code, 1000));
    assert_pg_ok(pg_peer_get(&p, fx->node[COUNTY], specs[TOWN].code));
    assert_int_equal(p.acked_upto, last);
    assert_pg_ok(pg_exchange_ack(fx->node[COUNTY], specs[TOWN].code, 0));
    assert_pg_ok(pg_peer_get(&p, fx->node[COUNTY], specs[TOWN].code));
    assert_int_equal(p.acked_upto, last);
}

/*
 * A partner's backfill over HTTP (DESIGN §6): a record that newly meets
 * the agreement goes with its whole history, and counts as sent whole
 * only once the bundle is known to have arrived; a bundle lost on the
 * way leaves the history to be sent again.
 */
static void test_partner_backfill_waits_for_delivery(void **state)
{
    fixture *fx = *state;
    char dir[4096], out[4096], rid[PG_RECORD_ID_LEN + 1];
    pg_node *city =
        test_make_node(dir, fx->root, "city", "430300000000", "湘潭市");
    pg_node *cs = test_make_node(dir, fx->root, "cs", "430100000000", "长沙市");
    char *city_card = pg_card_to_json(pg_node_card(city));
    char *cs_card = pg_card_to_json(pg_node_card(cs));
    assert_non_null(city_card);
    assert_non_null(cs_card);
    test_pin(city, cs_card, PG_PEER_PARTNER);
    test_pin(cs, city_card, PG_PEER_PARTNER);
    testutil_path(out, sizeof(out), fx->root, "cs.bundle");
    files fs;

    /* A local dispute: not for the partner. */
    pg_field_value v[] = {
        {"division", test_text("430300000000")},
        {"dispute_type", test_text("消费纠纷")},
        {"summary", test_text("外地游客与景区商户因退款发生争执")},
    };
    assert_pg_ok(pg_record_put(rid, city, "dispute", NULL, v, 3, "市平安办"));
    pg_export_opts eo = {.to = "430100000000", .out = out};
    memset(&fs, 0, sizeof(fs));
    assert_pg_ok(pg_bundle_export(city, &eo, keep_file, &fs));
    assert_int_equal(fs.n, 0);
    uint64_t start = (uint64_t)test_sql_int(city, "SELECT max(seq) FROM log");

    /* It becomes cross-region: its first txn goes along (backfill). */
    pg_value yes = {.kind = PG_VALUE_BOOL, .b = true};
    pg_field_value w[] = {{"cross_region", yes},
                          {"partner_city", test_text("430100000000")}};
    assert_pg_ok(pg_record_put(rid, city, "dispute", rid, w, 2, "市平安办"));
    eo = (pg_export_opts){.to = "430100000000",
                          .out = out,
                          .has_after = true,
                          .after = start,
                          .deliver_token = "00000000000000000000000000000001"};
    memset(&fs, 0, sizeof(fs));
    assert_pg_ok(pg_bundle_export(city, &eo, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_int_equal(fs.f[0].txns, 2);
    assert_int_equal(test_sql_int(city, "SELECT count(*) FROM peer_record"), 0);

    /* That bundle was lost: the next export sends the history again. */
    assert_pg_ok(pg_exchange_delivered(city, "430100000000", NULL));
    eo.deliver_token = "00000000000000000000000000000002";
    memset(&fs, 0, sizeof(fs));
    assert_pg_ok(pg_bundle_export(city, &eo, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_int_equal(fs.f[0].txns, 2);

    /* This one arrived: the record is the partner's whole now, and an
     * export from the same point carries only its latest txn. */
    assert_pg_ok(pg_exchange_delivered(city, "430100000000",
                                       "00000000000000000000000000000002"));
    assert_int_equal(test_sql_int(city, "SELECT count(*) FROM peer_record"), 1);
    assert_int_equal(
        test_sql_int(city, "SELECT count(*) FROM peer_sent_pending"), 0);
    eo.deliver_token = "00000000000000000000000000000003";
    memset(&fs, 0, sizeof(fs));
    assert_pg_ok(pg_bundle_export(city, &eo, keep_file, &fs));
    assert_int_equal(fs.n, 1);
    assert_int_equal(fs.f[0].txns, 1);

    free(city_card);
    free(cs_card);
    pg_node_free(city);
    pg_node_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_request_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_revoked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_cover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_partner_backfill_waits_for_delivery, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
