/*
 * Federation at the next hop (DESIGN §3, §7): a township relays a
 * community's txn to its county after redacting it.  Whatever a relay
 * alters — a kept value, a derived text, a note, a change removed — the
 * county quarantines that txn and applies the genuine one; a certificate
 * is issued only inside the issuer's jurisdiction; a revocation takes
 * back what the revoked key signed after the named seq.
 */
#include "testutil.h"

#include "bundle.h"
#include "node_internal.h"
#include "pingan/cert.h"
#include "pingan/exchange.h"
#include "pingan/record.h"
#include "pingan/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COUNTY, TOWNSHIP, COMMUNITY, NNODES };

static const test_node_spec specs[NNODES] = {
    {"430321000000", "湘潭县"},
    {"430321112000", "石潭镇"},
    {"430321112005", "列家桥煤矿居委会"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
    char rid[PG_RECORD_ID_LEN + 1];
} fixture;

static const uint8_t policy_hash[PG_HASH_LEN] = {1, 2, 3};

static int teardown(void **state);

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    if (!(fx->root = testutil_mkdtemp()) ||
        test_nodes_setup(fx->node, fx->card, fx->root, specs, NNODES) < 0) {
        teardown((void **)&fx);
        return -1;
    }
    test_pin(fx->node[COUNTY], fx->card[TOWNSHIP], PG_PEER_CHILD);
    test_pin(fx->node[TOWNSHIP], fx->card[COUNTY], PG_PEER_PARENT);
    test_pin(fx->node[TOWNSHIP], fx->card[COMMUNITY], PG_PEER_CHILD);
    test_pin(fx->node[COMMUNITY], fx->card[TOWNSHIP], PG_PEER_PARENT);
    /* The county knows the community's key from the township's
     * certificate. */
    test_certify(fx->node[COUNTY], fx->node[TOWNSHIP],
                 pg_node_card(fx->node[COMMUNITY]));
    pg_field_value v[] = {
        {"division", test_text(specs[COMMUNITY].code)},
        {"dispute_type", test_text("邻里纠纷")},
        {"summary", test_text("煤矿宿舍楼上下层漏水纠纷")},
        {"applicant_name", test_text("王小明")},
        {"applicant_phone", test_text("13912345678")},
    };
    if (pg_record_put(fx->rid, fx->node[COMMUNITY], "dispute", NULL, v, 5,
                      "列家桥调委会 周兰") < 0) {
        teardown((void **)&fx);
        return -1;
    }
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

/* The community's dispute txn, decoded and digested. */
static pg_txn *community_txn(fixture *fx)
{
    sqlite3_stmt *st = NULL;
    pg_txn *txn = NULL;

    assert_int_equal(sqlite3_prepare_v2(fx->node[COMMUNITY]->db,
                                        "SELECT body FROM log WHERE "
                                        "collection = 'dispute'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_pg_ok(pg_txn_decode(&txn, sqlite3_column_blob(st, 0),
                               (size_t)sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    assert_pg_ok(pg_txn_digest(txn));
    return txn;
}

static size_t change_index(const pg_txn *txn, const char *field)
{
    for (size_t i = 0; i < txn->nchanges; i++)
        if (strcmp(txn->changes[i].field, field) == 0)
            return i;
    fail_msg("no change to %s", field);
    return 0;
}

/* As the township relays it: name masked, phone withheld, hop-signed. */
static pg_txn *relayed_txn(fixture *fx)
{
    pg_txn *txn = community_txn(fx);
    const char *hop = specs[TOWNSHIP].code;
    assert_pg_ok(pg_txn_redact_derive(txn, change_index(txn, "applicant_name"),
                                      "王**", "mask", hop, "test-up",
                                      policy_hash));
    assert_pg_ok(pg_txn_redact_drop(txn, change_index(txn, "applicant_phone"),
                                    hop, "test-up", policy_hash));
    assert_pg_ok(pg_txn_hop_sign(txn, hop,
                                 pg_node_card(fx->node[TOWNSHIP])->key_id,
                                 pg_node__sign_sk(fx->node[TOWNSHIP])));
    return txn;
}

/* A bundle from the township to the county holding one txn at seq. */
static void import_from_township(pg_bundle_report *r, fixture *fx,
                                 const pg_txn *txn, uint64_t seq)
{
    const pg_card *county = pg_node_card(fx->node[COUNTY]);
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;
    pg_buf body = PG_BUF_INIT;
    char path[4096];

    assert_pg_ok(pg_txn_encode(&body, txn));
    assert_pg_ok(pg_bundle_writer_new(&w, pg_node__sign_sk(fx->node[TOWNSHIP]),
                                      county->box_pk, 0));
    assert_pg_ok(pg_bundle_writer_add_txn(w, seq, body.data, body.len));
    memset(&info, 0, sizeof(info));
    memcpy(info.sender, specs[TOWNSHIP].code, PG_CODE_LEN + 1);
    memcpy(info.recipient, county->code, PG_CODE_LEN + 1);
    memcpy(info.recipient_key_id, county->key_id, PG_KEY_ID_LEN + 1);
    info.schema_version = PG_SCHEMA_VERSION;
    memcpy(info.schema_hash, pg_schema_current()->hash, PG_HASH_LEN);
    info.created_ms = pg_time_now_ms();
    info.range_first = info.range_last = seq;
    testutil_path(path, sizeof(path), fx->root, "relay.pgb");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_pg_ok(pg_bundle_writer_finish(w, &info, f));
    assert_int_equal(fclose(f), 0);
    pg_bundle_writer_free(w);
    pg_buf_dispose(&body);
    assert_pg_ok(pg_bundle_import(fx->node[COUNTY], path, r));
}

static int64_t county_disputes(fixture *fx)
{
    return test_sql_int(fx->node[COUNTY], "SELECT count(*) FROM dispute");
}

static void assert_quarantined(const pg_bundle_report *r, const char *why)
{
    assert_int_equal(r->applied, 0);
    assert_int_equal(r->quarantined, 1);
    assert_int_equal(r->nnotes, 1);
    if (!strstr(r->notes[0].reason, why))
        fail_msg("quarantined for '%s', expected '%s'", r->notes[0].reason,
                 why);
}

static void
test_federation__a_redacted_relay_applies_with_what_it_reveals(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = relayed_txn(fx);

    import_from_township(&r, fx, txn, 1);
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.quarantined + r.pending, 0);
    /* The masked name is the county's value; the phone never arrived. */
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM dispute WHERE "
                                  "applicant_name = '王**' AND "
                                  "applicant_phone IS NULL AND summary = "
                                  "'煤矿宿舍楼上下层漏水纠纷'"),
                     1);
    /* Logged as received: notes and hop signature kept for the next hop. */
    assert_int_equal(
        test_sql_int(fx->node[COUNTY],
                     "SELECT count(*) FROM log WHERE origin = '430321112005' "
                     "AND via = '430321112000' AND instr(body, '王小明') = 0 "
                     "AND instr(body, '13912345678') = 0"),
        1);
    pg_txn_free(txn);
}

static void
test_federation__a_relay_altering_a_kept_value_is_caught(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = relayed_txn(fx);
    pg_change *c = &txn->changes[change_index(txn, "summary")];

    static char forged[] = "煤矿宿舍楼漏水，已调解完毕";
    c->text = forged;
    c->value.s = forged;
    c->value.len = strlen(forged);
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "origin signature does not verify");
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);

    /* The genuine relay still applies: a forged copy blocks nothing. */
    txn = relayed_txn(fx);
    import_from_township(&r, fx, txn, 2);
    assert_int_equal(r.applied, 1);
    assert_int_equal(county_disputes(fx), 1);
    pg_txn_free(txn);
}

static void
test_federation__a_relay_rewriting_a_derived_value_is_caught(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = relayed_txn(fx);

    txn->changes[change_index(txn, "applicant_name")].derived = "李**";
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "redaction notes do not verify");
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);

    txn = relayed_txn(fx);
    import_from_township(&r, fx, txn, 2);
    assert_int_equal(r.applied, 1);
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM dispute WHERE "
                                  "applicant_name = '王**'"),
                     1);
    pg_txn_free(txn);
}

static void test_federation__a_relay_rewriting_a_note_is_caught(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = relayed_txn(fx);

    /* Claim the phone was withheld under another policy. */
    for (size_t k = 0; k < txn->nnotes; k++)
        if (strcmp(txn->notes[k].field, "applicant_phone") == 0)
            txn->notes[k].policy_id = "another-policy";
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "redaction notes do not verify");
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);
}

static void
test_federation__a_relay_dropping_a_change_without_its_leaf(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = relayed_txn(fx);
    size_t i = change_index(txn, "summary");

    /* Remove the change altogether (no commit, no leaf left). */
    memmove(&txn->changes[i], &txn->changes[i + 1],
            (txn->nchanges - i - 1) * sizeof(txn->changes[0]));
    txn->nchanges--;
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "origin signature does not verify");
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);
}

static void test_federation__an_unknown_hop_waits_pending(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = community_txn(fx);
    char other[4096];
    /* A hop nobody here knows redacts and signs. */
    pg_node *stranger =
        test_make_node(other, fx->root, "stranger", "430321113000", "花石镇");

    assert_pg_ok(pg_txn_redact_drop(txn, change_index(txn, "applicant_phone"),
                                    "430321113000", "x", policy_hash));
    assert_pg_ok(pg_txn_hop_sign(txn, "430321113000",
                                 pg_node_card(stranger)->key_id,
                                 pg_node__sign_sk(stranger)));
    import_from_township(&r, fx, txn, 1);
    assert_int_equal(r.pending, 1);
    assert_int_equal(r.nnotes, 1);
    assert_non_null(strstr(r.notes[0].reason, "430321113000"));
    assert_int_equal(county_disputes(fx), 0);
    pg_node_free(stranger);
    pg_txn_free(txn);
}

static void
test_federation__a_certificate_outside_the_jurisdiction_is_refused(void **state)
{
    fixture *fx = *state;
    pg_cert cert;
    char dir[4096];
    pg_node *other = test_make_node(dir, fx->root, "yisuhe", "430321100001",
                                    "易俗河镇某社区");

    /* The township certifies only inside 430321112. */
    assert_pg_fails(PG_EPOLICY,
                    pg_cert_issue(&cert, pg_node_card(fx->node[TOWNSHIP]),
                                  pg_node__sign_sk(fx->node[TOWNSHIP]),
                                  pg_node_card(other), 1));
    /* Nor itself, nor its parent. */
    assert_pg_fails(PG_EPOLICY,
                    pg_cert_issue(&cert, pg_node_card(fx->node[TOWNSHIP]),
                                  pg_node__sign_sk(fx->node[TOWNSHIP]),
                                  pg_node_card(fx->node[TOWNSHIP]), 1));
    assert_pg_fails(PG_EPOLICY,
                    pg_cert_issue(&cert, pg_node_card(fx->node[TOWNSHIP]),
                                  pg_node__sign_sk(fx->node[TOWNSHIP]),
                                  pg_node_card(fx->node[COUNTY]), 1));
    /* A good one verifies with the issuer's key only, and any change to
     * it breaks it. */
    assert_pg_ok(pg_cert_issue(&cert, pg_node_card(fx->node[TOWNSHIP]),
                               pg_node__sign_sk(fx->node[TOWNSHIP]),
                               pg_node_card(fx->node[COMMUNITY]), 1));
    assert_pg_ok(
        pg_cert_verify(&cert, pg_node_card(fx->node[TOWNSHIP])->sign_pk));
    assert_pg_fails(
        PG_EAUTH,
        pg_cert_verify(&cert, pg_node_card(fx->node[COUNTY])->sign_pk));
    cert.subject.box_pk[0] ^= 1;
    assert_pg_fails(
        PG_EAUTH,
        pg_cert_verify(&cert, pg_node_card(fx->node[TOWNSHIP])->sign_pk));
    /* Forged to claim an outside code: refused before the signature. */
    cert.subject.box_pk[0] ^= 1;
    memcpy(cert.issuer, "430321100000", PG_CODE_LEN + 1);
    assert_pg_fails(
        PG_EPOLICY,
        pg_cert_verify(&cert, pg_node_card(fx->node[TOWNSHIP])->sign_pk));
    pg_node_free(other);
}

static void test_federation__revocation_takes_back_later_txns(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_revoke_result rr;
    pg_txn *txn = relayed_txn(fx);

    import_from_township(&r, fx, txn, 1);
    assert_int_equal(r.applied, 1);
    assert_int_equal(county_disputes(fx), 1);
    pg_txn_free(txn);
    /* The community's key is stolen after its seq 0: everything it signed
     * is taken back here and the record rebuilt (gone). */
    assert_pg_ok(pg_revoke(fx->node[COUNTY], specs[COMMUNITY].code, 0,
                           "湘潭县平安办 刘伟", &rr));
    assert_int_equal(rr.quarantined, 1);
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM audit WHERE action = "
                                  "'peer.revoke' AND operator = '湘潭县平安办 "
                                  "刘伟' AND subject = '430321112005'"),
                     1);
    assert_string_equal(rr.key_id, pg_node_card(fx->node[COMMUNITY])->key_id);
    assert_int_equal(county_disputes(fx), 0);
    assert_int_equal(
        test_sql_int(fx->node[COUNTY],
                     "SELECT count(*) FROM quarantine WHERE reason LIKE "
                     "'revoked:%'"),
        1);
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM log WHERE origin = "
                                  "'430321112005'"),
                     0);
    /* The same txn arriving again stays out. */
    txn = relayed_txn(fx);
    import_from_township(&r, fx, txn, 2);
    assert_int_equal(r.applied, 0);
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);
    /* A node outside the revoker's jurisdiction cannot be revoked. */
    assert_pg_fails(PG_EPOLICY, pg_revoke(fx->node[TOWNSHIP],
                                          specs[COUNTY].code, 0, "x", &rr));
}

static void
test_federation__a_redaction_without_its_note_is_caught(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = relayed_txn(fx);

    /* The relay keeps its edits but hides who made them. */
    txn->nnotes = 0;
    txn->nhop_sigs = 0;
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "redaction notes do not verify");
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);
}

static void test_federation__a_redacted_division_is_refused(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_txn *txn = community_txn(fx);
    const char *hop = specs[TOWNSHIP].code;

    /* A relay "generalizes" the division to move the record elsewhere. */
    assert_pg_ok(pg_txn_redact_derive(txn, change_index(txn, "division"),
                                      "430304000000", "generalize", hop,
                                      "test-up", policy_hash));
    assert_pg_ok(pg_txn_hop_sign(txn, hop,
                                 pg_node_card(fx->node[TOWNSHIP])->key_id,
                                 pg_node__sign_sk(fx->node[TOWNSHIP])));
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "never redacted");
    assert_int_equal(county_disputes(fx), 0);
    pg_txn_free(txn);
}

static void
test_federation__revocation_covers_every_certificate_of_the_key(void **state)
{
    fixture *fx = *state;
    pg_bundle_report r;
    pg_revoke_result rr;

    /* The township pinned the community twice: two certificates. */
    test_certify(fx->node[COUNTY], fx->node[TOWNSHIP],
                 pg_node_card(fx->node[COMMUNITY]));
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM node WHERE code = "
                                  "'430321112005'"),
                     2);
    assert_pg_ok(pg_revoke(fx->node[COUNTY], specs[COMMUNITY].code, 0,
                           "湘潭县平安办 刘伟", &rr));
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM node WHERE code = "
                                  "'430321112005' AND revoked = 1"),
                     2);
    pg_txn *txn = relayed_txn(fx);
    import_from_township(&r, fx, txn, 1);
    assert_quarantined(&r, "revoked");
    pg_txn_free(txn);
}

/* DESIGN §3: a fuller copy of a txn applied redacted reveals what the
 * first withheld — the partner backfill of a record that newly meets
 * the agreement depends on it. */
static void
test_federation__a_fuller_copy_reveals_what_was_withheld(void **state)
{
    fixture *fx = *state;
    pg_import *imp = NULL;
    pg_bundle_report r;
    char a[PG_RECORD_ID_LEN + 1], b[PG_RECORD_ID_LEN + 1];
    sqlite3_stmt *st = NULL;
    pg_txn *txn = NULL;

    /* Two disputes in one bulk txn. */
    assert_pg_ok(pg_import_begin(&imp, fx->node[COMMUNITY], "dispute", 100,
                                 "列家桥调委会 周兰"));
    pg_field_value v[] = {
        {"division", test_text(specs[COMMUNITY].code)},
        {"dispute_type", test_text("劳资纠纷")},
        {"summary", test_text("煤矿退休职工工资拖欠")},
    };
    assert_pg_ok(pg_import_add(imp, v, 3, a));
    v[2].value = test_text("相邻通行纠纷");
    assert_pg_ok(pg_import_add(imp, v, 3, b));
    assert_pg_ok(pg_import_commit(imp, NULL));
    pg_import_free(imp);
    assert_int_equal(sqlite3_prepare_v2(fx->node[COMMUNITY]->db,
                                        "SELECT body FROM log ORDER BY seq "
                                        "DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    test_blob whole = test_blob_copy(sqlite3_column_blob(st, 0),
                                     (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);

    /* First copy: record a withheld but for its division. */
    assert_pg_ok(pg_txn_decode(&txn, whole.data, whole.len));
    assert_pg_ok(pg_txn_digest(txn));
    assert_int_equal(txn->nchanges, 6);
    for (size_t i = 0; i < txn->nchanges; i++)
        if (strcmp(txn->changes[i].record_id, a) == 0 &&
            strcmp(txn->changes[i].field, "division") != 0)
            assert_pg_ok(pg_txn_redact_drop(txn, i, specs[TOWNSHIP].code,
                                            "test-up", policy_hash));
    assert_pg_ok(pg_txn_hop_sign(txn, specs[TOWNSHIP].code,
                                 pg_node_card(fx->node[TOWNSHIP])->key_id,
                                 pg_node__sign_sk(fx->node[TOWNSHIP])));
    import_from_township(&r, fx, txn, 1);
    assert_int_equal(r.applied, 1);
    pg_txn_free(txn);
    assert_int_equal(county_disputes(fx), 1); /* b only: a is not created */

    /* The whole copy: a appears, b is unchanged, the log keeps one txn. */
    assert_pg_ok(pg_txn_decode(&txn, whole.data, whole.len));
    import_from_township(&r, fx, txn, 2);
    assert_int_equal(r.applied, 1);
    assert_int_equal(r.duplicates, 0);
    assert_int_equal(county_disputes(fx), 2);
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM dispute WHERE "
                                  "summary = '煤矿退休职工工资拖欠'"),
                     1);
    assert_int_equal(test_sql_int(fx->node[COUNTY],
                                  "SELECT count(*) FROM log WHERE origin = "
                                  "'430321112005' AND collection = "
                                  "'dispute'"),
                     1);
    /* And once more: now a plain duplicate. */
    import_from_township(&r, fx, txn, 3);
    assert_int_equal(r.duplicates, 1);
    assert_int_equal(r.applied, 0);
    pg_txn_free(txn);
    test_blob_free(&whole);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_federation__a_redacted_relay_applies_with_what_it_reveals),
        T(test_federation__a_relay_altering_a_kept_value_is_caught),
        T(test_federation__a_relay_rewriting_a_derived_value_is_caught),
        T(test_federation__a_relay_rewriting_a_note_is_caught),
        T(test_federation__a_relay_dropping_a_change_without_its_leaf),
        T(test_federation__an_unknown_hop_waits_pending),
        T(test_federation__a_certificate_outside_the_jurisdiction_is_refused),
        T(test_federation__revocation_takes_back_later_txns),
        T(test_federation__a_fuller_copy_reveals_what_was_withheld),
        T(test_federation__a_redaction_without_its_note_is_caught),
        T(test_federation__a_redacted_division_is_refused),
        T(test_federation__revocation_covers_every_certificate_of_the_key),
    };
    pg_crypto_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
