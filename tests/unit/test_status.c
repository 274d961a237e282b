/*
 * Status (pingan/status.h, DESIGN §9): a county 湘潭县 with its parent
 * 湘潭市 and its child 石潭镇.  Pinning the child writes its certificate,
 * which both links would carry; quarantine older than a day is left out
 * and the rest is grouped by the reason's prefix; pending txns are split
 * into waiting for a signer and for the clock.
 */
#include "testutil.h"

#include "pingan/status.h"

#include "node_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CITY, COUNTY, TOWN, NNODES };

static const test_node_spec specs[NNODES] = {
    {"430300000000", "湘潭市"},
    {"430321000000", "湘潭县"},
    {"430321112000", "石潭镇"},
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

static const pg_status_peer *find_peer(const pg_status *s, const char *code)
{
    for (size_t i = 0; i < s->npeers; i++)
        if (strcmp(s->peers[i].peer.code, code) == 0)
            return &s->peers[i];
    fail_msg("no peer %s in the status", code);
    return NULL;
}

static void exec(pg_node *node, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(node->db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static void test_fresh(void **state)
{
    fixture *fx = *state;
    pg_status s;

    assert_pg_ok(pg_status_get(fx->node[COUNTY], &s));
    assert_string_equal(s.code, specs[COUNTY].code);
    assert_string_equal(s.name, specs[COUNTY].name);
    assert_int_equal(s.tier, pg_node_tier(fx->node[COUNTY]));
    assert_int_equal(s.log_entries, 0);
    assert_int_equal(s.log_last_seq, 0);
    assert_true(s.schema_version >= 1);
    assert_int_equal(s.npeers, 0);
    assert_int_equal(s.conflicts_open, 0);
    assert_int_equal(s.quarantined_recent, 0);
    assert_int_equal(s.nreasons, 0);
    assert_int_equal(s.pending_total, 0);
    assert_int_equal(s.pending_oldest_ms, 0);
    pg_status_dispose(&s);
    pg_status_dispose(&s); /* twice is harmless */
    pg_status_dispose(NULL);
}

static void test_peers_and_rejects(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    pg_status s;
    char sql[2048];

    test_pin(county, fx->card[CITY], PG_PEER_PARENT);
    assert_pg_ok(pg_status_get(county, &s));
    assert_int_equal(s.npeers, 1);
    assert_int_equal(find_peer(&s, specs[CITY].code)->unsent, 0);
    pg_status_dispose(&s);

    /* Pinning the child writes its certificate: one txn for each link. */
    test_pin(county, fx->card[TOWN], PG_PEER_CHILD);
    assert_pg_ok(pg_status_get(county, &s));
    assert_int_equal(s.npeers, 2);
    assert_int_equal(s.log_entries, 1);
    assert_int_equal(s.log_last_seq, 1);
    const pg_status_peer *town = find_peer(&s, specs[TOWN].code);
    const pg_status_peer *city = find_peer(&s, specs[CITY].code);
    assert_int_equal(town->unsent, 1);
    assert_int_equal(town->unacked, 1);
    assert_int_equal(city->unsent, 1);
    assert_string_equal(town->problem, "");
    assert_int_equal(town->peer.last_sync_ms, 0);
    assert_int_equal(town->peer.role, PG_PEER_CHILD);
    pg_status_dispose(&s);

    /* Sent but not acknowledged: unsent 0, unacked 1. */
    exec(county, "UPDATE peer SET sent_upto = 1 WHERE code = '430321112000'");
    assert_pg_ok(pg_status_get(county, &s));
    town = find_peer(&s, specs[TOWN].code);
    assert_int_equal(town->unsent, 0);
    assert_int_equal(town->unacked, 1);
    assert_int_equal(find_peer(&s, specs[CITY].code)->unsent, 1);
    pg_status_dispose(&s);

    /* Quarantine: three of the last day (two reasons), one older. */
    int64_t now = pg_time_now_ms();
    int64_t old = now - PG_STATUS_RECENT_MS - 60000;
    snprintf(sql, sizeof(sql),
             "INSERT INTO quarantine(peer, origin, origin_seq, digest, "
             "collection, division, reason, body, received_ms) VALUES "
             "('430321112000', '430321112000', 1, x'01', 'dispute', "
             "'430321112000', 'outside: the sender''s subtree', x'', %lld),"
             "('430321112000', '430321112000', 2, x'02', 'dispute', "
             "'430321112000', 'outside: the origin''s', x'', %lld),"
             "('430321112000', '430321112000', 3, x'03', 'dispute', "
             "'430321112000', 'malformed txn', x'', %lld),"
             "('430321112000', '430321112000', 4, x'04', 'dispute', "
             "'430321112000', 'invalid: old', x'', %lld);"
             "INSERT INTO pending(peer, peer_seq, origin, origin_seq, digest, "
             "reason, body, received_ms) VALUES "
             "('430321112000', 5, '430321112000', 5, x'05', "
             "'clock skew: the txn''s clock is 7 min ahead of this node''s', "
             "x'', %lld),"
             "('430321112000', 6, '430321112000', 6, x'06', "
             "'clock skew: the txn''s clock is 30 min ahead of this node''s', "
             "x'', %lld),"
             "('430321112000', 7, '430321112000', 7, x'07', "
             "'signer 430321112228 unknown so far', x'', %lld);",
             (long long)now, (long long)now, (long long)now, (long long)old,
             (long long)now, (long long)now, (long long)old);
    exec(county, sql);
    assert_pg_ok(pg_status_get(county, &s));
    assert_int_equal(s.quarantined_recent, 3);
    assert_int_equal(s.nreasons, 2);
    assert_string_equal(s.reasons[0].reason, "outside");
    assert_int_equal(s.reasons[0].count, 2);
    assert_string_equal(s.reasons[1].reason, "malformed txn");
    assert_int_equal(s.reasons[1].count, 1);
    assert_int_equal(s.pending_total, 3);
    assert_int_equal(s.pending_clock_skew, 2);
    assert_int_equal(s.pending_signer, 1);
    assert_int_equal(s.pending_max_ahead_min, 30);
    assert_int_equal(s.pending_oldest_ms, old);
    pg_status_dispose(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peers_and_rejects, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
