/*
 * Peers (DESIGN §1, §6, §7): pinning a card checks it and the role its code
 * allows (one parent, the next tier up; children exactly one tier down
 * inside the jurisdiction; partners only between cities); a node never
 * pins itself, a code is pinned once and never silently gets another key,
 * and one key never speaks for two codes; URLs and CA files are checked;
 * `set` changes the address and keeps the cursors; every refusal leaves
 * the peer table as it was; peers survive reopening, and a store made
 * before peers gets the table when opened.
 */
/* realpath() is XSI: glibc declares it only with _XOPEN_SOURCE. */
#define _XOPEN_SOURCE 700
#include "testutil.h"

#include "node_internal.h"
#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    COUNTY,       /* 430302 雨湖区 */
    TOWNSHIP,     /* 430302001, in the county */
    COMMUNITY,    /* 430302001001, in the township */
    OTHER_COUNTY, /* 430304 岳塘区 */
    CITY,         /* 430300 湘潭市 */
    CHANGSHA,     /* 430100 长沙市, a partner city */
    NNODES
};

static const test_node_spec specs[NNODES] = {
    {"430302000000", "雨湖区"},   {"430302001000", "城正街街道"},
    {"430302001001", "和平社区"}, {"430304000000", "岳塘区"},
    {"430300000000", "湘潭市"},   {"430100000000", "长沙市"},
};

typedef struct fixture {
    char *root;
    char dir[NNODES][4096];
    pg_node *node[NNODES];
    char *card[NNODES]; /* each node's card as JSON */
} fixture;

static int group_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    for (int i = 0; i < NNODES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "n%d", i);
        testutil_path(fx->dir[i], sizeof(fx->dir[i]), fx->root, name);
        if (test_node_setup(&fx->node[i], &fx->card[i], fx->dir[i],
                            specs[i].code, specs[i].name) < 0)
            return -1;
    }
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *fx = *state;
    test_nodes_free(fx->node, fx->card, NNODES);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

typedef struct codes {
    char code[16][PG_CODE_LEN + 1];
    size_t n;
} codes;

static int collect_code(const pg_peer *peer, void *payload)
{
    codes *c = payload;
    if (c->n < 16)
        memcpy(c->code[c->n], peer->code, PG_CODE_LEN + 1);
    c->n++;
    return 0;
}

/* Each test starts with no peers anywhere. */
static int forget_all_peers(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < NNODES; i++) {
        codes c = {0};
        if (pg_peer_list(fx->node[i], collect_code, &c) < 0)
            return -1;
        for (size_t k = 0; k < c.n && k < 16; k++)
            if (pg_peer_remove(fx->node[i], c.code[k]) < 0)
                return -1;
    }
    return 0;
}

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

static int add(fixture *fx, int at, int peer, pg_peer_role role)
{
    return pg_peer_add(fx->node[at], fx->card[peer], strlen(fx->card[peer]),
                       role, NULL, NULL);
}

static size_t npeers(pg_node *node)
{
    codes c = {0};
    assert_pg_ok(pg_peer_list(node, collect_code, &c));
    return c.n;
}

/*
 * Everything in the peer table, as text, for before/after comparisons.
 * The caller frees the string.
 */
static char *peer_dump(pg_node *node)
{
    sqlite3_stmt *st = NULL;
    pg_buf out = PG_BUF_INIT;

    assert_int_equal(
        sqlite3_prepare_v2(
            node->db,
            "SELECT quote(code) || quote(role) || quote(card) || quote(name) "
            "|| quote(tier) || quote(key_id) || quote(sign_pk) || "
            "quote(box_pk) || quote(url) || quote(ca_file) || "
            "quote(sent_upto) || quote(acked_upto) || quote(received_upto) "
            "|| quote(added_ms) || quote(last_sync_ms) FROM peer ORDER BY "
            "code",
            -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_int_equal(
            pg_buf_puts(&out, (const char *)sqlite3_column_text(st, 0)), 0);
        assert_int_equal(pg_buf_putc(&out, '\n'), 0);
    }
    sqlite3_finalize(st);
    assert_int_equal(pg_buf_putc(&out, 0), 0);
    return (char *)pg_buf_detach(&out, NULL);
}

static void assert_same_dump(pg_node *node, const char *before)
{
    char *after = peer_dump(node);
    assert_string_equal(after, before);
    free(after);
}

static void exec_sql(pg_node *node, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(node->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        print_error("%s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

/*
 * A card signed by hand: code, name and a key from a seed, so that two
 * cards may share a key.
 */
static char *hand_card(const char *code, const char *name, uint8_t seed_byte)
{
    pg_card card;
    uint8_t sk[PG_SIGN_SK_LEN], seed[PG_SIGN_SEED_LEN];

    memset(&card, 0, sizeof(card));
    memset(seed, seed_byte, sizeof(seed));
    card.suite = PG_SUITE_SODIUM;
    snprintf(card.code, sizeof(card.code), "%s", code);
    snprintf(card.name, sizeof(card.name), "%s", name);
    card.tier = pg_division_tier(code);
    pg_sign_seed_keypair(card.sign_pk, sk, seed);
    memset(card.box_pk, seed_byte, PG_BOX_PK_LEN);
    pg_key_id(card.key_id, card.sign_pk);
    card.created_ms = 1764122400000;
    pg_card_sign(&card, sk);
    pg_memzero(sk, sizeof(sk));
    char *json = pg_card_to_json(&card);
    assert_non_null(json);
    return json;
}

/* ---- pinning ---------------------------------------------------------- */

static void test_peer__county_pins_its_parent_and_a_child(void **state)
{
    fixture *fx = *state;
    pg_peer p;
    int64_t before = pg_time_now_ms();

    assert_pg_ok(add(fx, COUNTY, CITY, PG_PEER_PARENT));
    assert_pg_ok(add(fx, COUNTY, TOWNSHIP, PG_PEER_CHILD));
    int64_t after = pg_time_now_ms();

    assert_pg_ok(pg_peer_get(&p, fx->node[COUNTY], specs[CITY].code));
    assert_string_equal(p.code, "430300000000");
    assert_string_equal(p.name, "湘潭市");
    assert_int_equal(p.tier, PG_TIER_CITY);
    assert_int_equal(p.role, PG_PEER_PARENT);
    assert_string_equal(p.key_id, pg_node_card(fx->node[CITY])->key_id);
    assert_string_equal(p.url, "");
    assert_string_equal(p.ca_file, "");
    /* Cursors start at 0. */
    assert_int_equal(p.sent_upto, 0);
    assert_int_equal(p.acked_upto, 0);
    assert_int_equal(p.received_upto, 0);
    assert_int_equal(p.last_sync_ms, 0);
    assert_true(p.added_ms >= before && p.added_ms <= after);

    assert_pg_ok(pg_peer_get(&p, fx->node[COUNTY], specs[TOWNSHIP].code));
    assert_int_equal(p.role, PG_PEER_CHILD);
    assert_int_equal(p.tier, PG_TIER_TOWNSHIP);
    assert_string_equal(p.name, "城正街街道");
    assert_int_equal(p.sent_upto + p.acked_upto + p.received_upto, 0);

    /* The other side of each link, configured with the county's card. */
    assert_pg_ok(add(fx, CITY, COUNTY, PG_PEER_CHILD));
    assert_pg_ok(add(fx, TOWNSHIP, COUNTY, PG_PEER_PARENT));
    assert_pg_ok(add(fx, COMMUNITY, TOWNSHIP, PG_PEER_PARENT));
    assert_pg_ok(add(fx, TOWNSHIP, COMMUNITY, PG_PEER_CHILD));
    assert_int_equal(npeers(fx->node[COUNTY]), 2);
    assert_int_equal(npeers(fx->node[TOWNSHIP]), 2);
}

static void test_peer__stores_the_card_as_given_with_its_keys(void **state)
{
    fixture *fx = *state;
    sqlite3_stmt *st = NULL;
    const pg_card *city = pg_node_card(fx->node[CITY]);
    /* White space a person might add is kept: the card is stored as
     * given, not re-encoded. */
    size_t n = strlen(fx->card[CITY]);
    char *text = malloc(n + 3);
    assert_non_null(text);
    memcpy(text, "\n ", 2);
    memcpy(text + 2, fx->card[CITY], n + 1);

    assert_pg_ok(
        pg_peer_add(fx->node[COUNTY], text, n + 2, PG_PEER_PARENT, NULL, NULL));
    assert_int_equal(sqlite3_prepare_v2(fx->node[COUNTY]->db,
                                        "SELECT card, sign_pk, box_pk, tier, "
                                        "role FROM peer WHERE code = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, city->code, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), text);
    assert_int_equal(sqlite3_column_bytes(st, 1), PG_SIGN_PK_LEN);
    assert_memory_equal(sqlite3_column_blob(st, 1), city->sign_pk,
                        PG_SIGN_PK_LEN);
    assert_int_equal(sqlite3_column_bytes(st, 2), PG_BOX_PK_LEN);
    assert_memory_equal(sqlite3_column_blob(st, 2), city->box_pk,
                        PG_BOX_PK_LEN);
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "city");
    assert_string_equal((const char *)sqlite3_column_text(st, 4), "parent");
    sqlite3_finalize(st);
    free(text);
}

static void test_peer__cities_pin_each_other_as_partners(void **state)
{
    fixture *fx = *state;
    pg_peer p;

    assert_pg_ok(add(fx, CITY, CHANGSHA, PG_PEER_PARTNER));
    assert_pg_ok(add(fx, CHANGSHA, CITY, PG_PEER_PARTNER));
    assert_pg_ok(pg_peer_get(&p, fx->node[CITY], specs[CHANGSHA].code));
    assert_int_equal(p.role, PG_PEER_PARTNER);
    assert_string_equal(p.name, "长沙市");
    /* A city may have partners and children at once. */
    assert_pg_ok(add(fx, CITY, OTHER_COUNTY, PG_PEER_CHILD));
    assert_int_equal(npeers(fx->node[CITY]), 2);
}

static void test_peer__a_city_pins_a_statistical_zone_as_child(void **state)
{
    fixture *fx = *state;
    char dir[4096];
    pg_node *zone = NULL;

    testutil_path(dir, sizeof(dir), fx->root, "zone");
    assert_pg_ok(pg_node_init(dir, "430371000000", "湘潭高新区"));
    assert_pg_ok(pg_node_open(&zone, dir));
    char *card = pg_card_to_json(pg_node_card(zone));
    assert_non_null(card);
    assert_pg_ok(pg_peer_add(fx->node[CITY], card, strlen(card), PG_PEER_CHILD,
                             NULL, NULL));
    assert_pg_ok(pg_peer_add(zone, fx->card[CITY], strlen(fx->card[CITY]),
                             PG_PEER_PARENT, NULL, NULL));
    free(card);
    pg_node_free(zone);
}

/* ---- the card ----------------------------------------------------------- */

static void test_peer__refuses_its_own_card(void **state)
{
    fixture *fx = *state;
    char *before = peer_dump(fx->node[COUNTY]);

    for (pg_peer_role r = PG_PEER_PARENT; r <= PG_PEER_PARTNER; r++) {
        assert_pg_fails(PG_EINVALID, add(fx, COUNTY, COUNTY, r));
        assert_message_has("430302000000");
        assert_message_has("own");
    }
    assert_same_dump(fx->node[COUNTY], before);
    free(before);
}

static void test_peer__refuses_a_card_that_does_not_verify(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    char *before = peer_dump(county);
    char *card = strdup(fx->card[CITY]);
    assert_non_null(card);

    /* A changed name: the signature no longer covers it. */
    char *name = strstr(card, "湘潭市");
    assert_non_null(name);
    memcpy(name, "长沙市", strlen("长沙市"));
    assert_pg_fails(PG_EAUTH, pg_peer_add(county, card, strlen(card),
                                          PG_PEER_PARENT, NULL, NULL));
    assert_message_has("signature");
    memcpy(card, fx->card[CITY], strlen(card) + 1);

    /* A changed digit of the signing key. */
    char *pk = strstr(card, "\"sign_pk\": \"");
    assert_non_null(pk);
    pk += strlen("\"sign_pk\": \"");
    *pk = *pk == '0' ? '1' : '0';
    int rc =
        pg_peer_add(county, card, strlen(card), PG_PEER_PARENT, NULL, NULL);
    assert_true(rc == PG_EAUTH || rc == PG_EINVALID);

    static const char *const junk[] = {"", "{}", "[1, 2]", "not json",
                                       "{\"pingan_card\": 1}"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_pg_fails(PG_EINVALID,
                        pg_peer_add(county, junk[i], strlen(junk[i]),
                                    PG_PEER_PARENT, NULL, NULL));
    assert_pg_fails(PG_EINVALID,
                    pg_peer_add(county, NULL, 0, PG_PEER_PARENT, NULL, NULL));
    /* A card cut short. */
    assert_pg_fails(PG_EINVALID, pg_peer_add(county, fx->card[CITY],
                                             strlen(fx->card[CITY]) / 2,
                                             PG_PEER_PARENT, NULL, NULL));
    assert_same_dump(county, before);
    free(card);
    free(before);
}

static void test_peer__refuses_an_unknown_role(void **state)
{
    fixture *fx = *state;
    char *before = peer_dump(fx->node[COUNTY]);

    assert_pg_fails(PG_EINVALID, add(fx, COUNTY, CITY, PG_PEER_NONE));
    assert_pg_fails(PG_EINVALID, add(fx, COUNTY, CITY, (pg_peer_role)4));
    assert_pg_fails(PG_EINVALID, add(fx, COUNTY, CITY, (pg_peer_role)-1));
    assert_same_dump(fx->node[COUNTY], before);
    free(before);

    assert_string_equal(pg_peer_role_name(PG_PEER_PARENT), "parent");
    assert_string_equal(pg_peer_role_name(PG_PEER_CHILD), "child");
    assert_string_equal(pg_peer_role_name(PG_PEER_PARTNER), "partner");
    assert_string_equal(pg_peer_role_name(PG_PEER_NONE), "?");
    assert_int_equal(pg_peer_role_from_name("partner"), PG_PEER_PARTNER);
    assert_int_equal(pg_peer_role_from_name("Parent"), PG_PEER_NONE);
    assert_int_equal(pg_peer_role_from_name(""), PG_PEER_NONE);
    assert_int_equal(pg_peer_role_from_name(NULL), PG_PEER_NONE);
}

/* ---- roles and codes ---------------------------------------------------- */

static void test_peer__a_parent_is_the_next_tier_up_by_code(void **state)
{
    fixture *fx = *state;
    static const struct {
        int at, peer;
        const char *needle;
    } bad[] = {
        {COUNTY, TOWNSHIP, "430300000000"},     /* below, not above */
        {COUNTY, OTHER_COUNTY, "430300000000"}, /* a sibling */
        {COUNTY, CHANGSHA, "430300000000"},     /* another city */
        {COMMUNITY, COUNTY, "430302001000"},    /* the grandparent */
        {TOWNSHIP, CITY, "430302000000"},       /* the grandparent */
        {CITY, CHANGSHA, "430000000000"},       /* a city is no parent */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *before = peer_dump(fx->node[bad[i].at]);
        assert_pg_fails(PG_EPOLICY,
                        add(fx, bad[i].at, bad[i].peer, PG_PEER_PARENT));
        assert_message_has(specs[bad[i].peer].code);
        assert_message_has(bad[i].needle);
        assert_same_dump(fx->node[bad[i].at], before);
        free(before);
    }
    /* And the right one is accepted for each. */
    assert_pg_ok(add(fx, OTHER_COUNTY, CITY, PG_PEER_PARENT));
    assert_pg_ok(add(fx, COMMUNITY, TOWNSHIP, PG_PEER_PARENT));
}

static void test_peer__there_is_at_most_one_parent(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];

    assert_pg_ok(add(fx, COUNTY, CITY, PG_PEER_PARENT));
    char *before = peer_dump(county);
    assert_pg_fails(PG_EEXISTS, add(fx, COUNTY, CITY, PG_PEER_PARENT));
    assert_message_has("430300000000");
    assert_same_dump(county, before);
    free(before);

    /* A parent's code follows from this node's, so only a damaged table
     * can hold a parent under another code: still one parent at most. */
    exec_sql(county, "UPDATE peer SET code = '430000000000', sign_pk = "
                     "zeroblob(32) WHERE role = 'parent'");
    before = peer_dump(county);
    assert_pg_fails(PG_EEXISTS, add(fx, COUNTY, CITY, PG_PEER_PARENT));
    assert_message_has("already has a parent");
    assert_message_has("430000000000");
    assert_same_dump(county, before);
    free(before);
    exec_sql(county, "DELETE FROM peer");
}

static void test_peer__a_child_is_one_tier_down_inside(void **state)
{
    fixture *fx = *state;
    static const struct {
        int at, peer;
        const char *needle;
    } bad[] = {
        {COUNTY, COMMUNITY, "430302001000"}, /* two tiers down */
        {CITY, TOWNSHIP, "430302000000"},    /* two tiers down */
        {COUNTY, OTHER_COUNTY, "jurisdiction"},
        {COUNTY, CITY, "jurisdiction"}, /* above */
        {TOWNSHIP, COUNTY, "jurisdiction"},
        {CITY, CHANGSHA, "jurisdiction"},
        {COMMUNITY, TOWNSHIP, "jurisdiction"}, /* a community has none */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *before = peer_dump(fx->node[bad[i].at]);
        assert_pg_fails(PG_EPOLICY,
                        add(fx, bad[i].at, bad[i].peer, PG_PEER_CHILD));
        assert_message_has(specs[bad[i].peer].code);
        assert_message_has(bad[i].needle);
        assert_same_dump(fx->node[bad[i].at], before);
        free(before);
    }
    assert_pg_ok(add(fx, COUNTY, TOWNSHIP, PG_PEER_CHILD));
    assert_pg_ok(add(fx, TOWNSHIP, COMMUNITY, PG_PEER_CHILD));
    assert_pg_ok(add(fx, CITY, COUNTY, PG_PEER_CHILD));
    assert_pg_ok(add(fx, CITY, OTHER_COUNTY, PG_PEER_CHILD));
}

static void test_peer__partners_are_cities_outside_each_other(void **state)
{
    fixture *fx = *state;
    static const struct {
        int at, peer;
        const char *needle;
    } bad[] = {
        {COUNTY, CHANGSHA, "only cities"},   /* this node is no city */
        {TOWNSHIP, CHANGSHA, "only cities"}, /* this node is no city */
        {COUNTY, OTHER_COUNTY, "only cities"},
        {CITY, COUNTY, "must be a city"}, /* inside, and no city */
        {CITY, TOWNSHIP, "must be a city"},
        {CHANGSHA, COUNTY, "must be a city"}, /* outside, but no city */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *before = peer_dump(fx->node[bad[i].at]);
        assert_pg_fails(PG_EPOLICY,
                        add(fx, bad[i].at, bad[i].peer, PG_PEER_PARTNER));
        assert_message_has(bad[i].needle);
        assert_same_dump(fx->node[bad[i].at], before);
        free(before);
    }
    /* Changsha may not be pinned in a role other than partner. */
    assert_pg_fails(PG_EPOLICY, add(fx, CITY, CHANGSHA, PG_PEER_CHILD));
    assert_pg_fails(PG_EPOLICY, add(fx, CITY, CHANGSHA, PG_PEER_PARENT));
    assert_int_equal(npeers(fx->node[CITY]), 0);
}

/* ---- a code is pinned once -------------------------------------------- */

static void test_peer__a_pinned_code_is_never_silently_replaced(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    char dir[4096];
    pg_node *impostor = NULL;
    pg_peer p;

    assert_pg_ok(add(fx, COUNTY, CITY, PG_PEER_PARENT));
    char *before = peer_dump(county);

    /* The same card again: already pinned, use set or remove. */
    assert_pg_fails(PG_EEXISTS, add(fx, COUNTY, CITY, PG_PEER_PARENT));
    assert_message_has("already pinned");
    assert_message_has("peer set");
    assert_message_has("peer remove");
    assert_same_dump(county, before);

    /* Another valid card for the same code, with another key. */
    testutil_path(dir, sizeof(dir), fx->root, "impostor");
    assert_pg_ok(pg_node_init(dir, "430300000000", "湘潭市"));
    assert_pg_ok(pg_node_open(&impostor, dir));
    char *card = pg_card_to_json(pg_node_card(impostor));
    assert_non_null(card);
    assert_pg_fails(PG_EEXISTS, pg_peer_add(county, card, strlen(card),
                                            PG_PEER_PARENT, NULL, NULL));
    assert_message_has("another key");
    assert_message_has(pg_node_card(fx->node[CITY])->key_id);
    assert_message_has(pg_node_card(impostor)->key_id);
    assert_same_dump(county, before);
    assert_pg_ok(pg_peer_get(&p, county, "430300000000"));
    assert_string_equal(p.key_id, pg_node_card(fx->node[CITY])->key_id);

    /* The way to a new key: remove, then add. */
    assert_pg_ok(pg_peer_remove(county, "430300000000"));
    assert_pg_ok(
        pg_peer_add(county, card, strlen(card), PG_PEER_PARENT, NULL, NULL));
    assert_pg_ok(pg_peer_get(&p, county, "430300000000"));
    assert_string_equal(p.key_id, pg_node_card(impostor)->key_id);
    free(card);
    free(before);
    pg_node_free(impostor);
}

static void test_peer__one_key_never_speaks_for_two_codes(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    char *a = hand_card("430302001000", "城正街街道", 7);
    char *b = hand_card("430302002000", "窑湾街道", 7);
    char *c = hand_card("430302002000", "窑湾街道", 8);

    assert_pg_ok(pg_peer_add(county, a, strlen(a), PG_PEER_CHILD, NULL, NULL));
    char *before = peer_dump(county);
    assert_pg_fails(PG_EEXISTS, pg_peer_add(county, b, strlen(b), PG_PEER_CHILD,
                                            NULL, NULL));
    assert_message_has("430302001000");
    assert_message_has("430302002000");
    assert_same_dump(county, before);
    /* The same code with its own key is fine. */
    assert_pg_ok(pg_peer_add(county, c, strlen(c), PG_PEER_CHILD, NULL, NULL));
    assert_int_equal(npeers(county), 2);

    /* A card with this node's own key under another code. */
    free(before);
    before = peer_dump(county);
    free(a);
    a = NULL;
    /* Only this node's own key can sign such a card: use the secret. */
    pg_card mine = *pg_node_card(county);
    snprintf(mine.code, sizeof(mine.code), "430302003000");
    mine.tier = PG_TIER_TOWNSHIP;
    pg_card_sign(&mine, pg_node__sign_sk(county));
    a = pg_card_to_json(&mine);
    assert_non_null(a);
    assert_pg_fails(PG_EINVALID, pg_peer_add(county, a, strlen(a),
                                             PG_PEER_CHILD, NULL, NULL));
    assert_message_has("own key");
    assert_same_dump(county, before);
    free(before);
    free(a);
    free(b);
    free(c);
}

/* ---- addresses ---------------------------------------------------------- */

static void test_peer__accepts_http_and_https_urls(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    char url[PG_PEER_URL_MAX + 1];
    pg_peer p;

    assert_pg_ok(pg_peer_add(city, fx->card[COUNTY], strlen(fx->card[COUNTY]),
                             PG_PEER_CHILD, "http://10.0.0.2:8080/pingan",
                             NULL));
    assert_pg_ok(pg_peer_get(&p, city, specs[COUNTY].code));
    assert_string_equal(p.url, "http://10.0.0.2:8080/pingan");

    /* Exactly the longest URL. */
    memset(url, 'a', sizeof(url));
    memcpy(url, "https://", 8);
    url[PG_PEER_URL_MAX] = 0;
    assert_pg_ok(pg_peer_add(city, fx->card[CHANGSHA],
                             strlen(fx->card[CHANGSHA]), PG_PEER_PARTNER, url,
                             NULL));
    assert_pg_ok(pg_peer_get(&p, city, specs[CHANGSHA].code));
    assert_int_equal(strlen(p.url), PG_PEER_URL_MAX);
}

static void test_peer__refuses_bad_urls(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    char *before = peer_dump(city);
    char longest[PG_PEER_URL_MAX + 2];
    static const char *const bad[] = {
        "",
        "ftp://example.cn/",
        "HTTPS://example.cn/",
        "example.cn",
        "//example.cn",
        "http://",
        "https://",
        "https:///path",
        "http://:8080/",
        "https://a b.cn/",
        " https://a.cn/",
        "https://a.cn/ ",
        "https://a.cn/\tx",
        "https://a.cn/\nx",
        "https://a.cn/\rx",
        "https://a.cn/\x1b[31m",
        "https://a.cn/\x7f",
        "https://平安.cn/",
        "file:///etc/passwd",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_pg_fails(PG_EINVALID,
                        pg_peer_add(city, fx->card[CHANGSHA],
                                    strlen(fx->card[CHANGSHA]), PG_PEER_PARTNER,
                                    bad[i], NULL));
        /* The message stays one printable line. */
        for (const char *m = pg_error_last()->message; *m; m++)
            assert_true((unsigned char)*m >= 0x20 && *m != 0x7f);
    }
    memset(longest, 'a', sizeof(longest));
    memcpy(longest, "https://", 8);
    longest[PG_PEER_URL_MAX + 1] = 0;
    assert_pg_fails(PG_EINVALID, pg_peer_add(city, fx->card[CHANGSHA],
                                             strlen(fx->card[CHANGSHA]),
                                             PG_PEER_PARTNER, longest, NULL));
    assert_message_has("2048");
    assert_same_dump(city, before);
    free(before);
}

static void test_peer__a_ca_file_needs_https_and_must_be_readable(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    const char *card = fx->card[CHANGSHA];
    size_t len = strlen(card);
    char ca[4200], dir[4200], cwd[4096];
    pg_peer p;

    testutil_path(ca, sizeof(ca), fx->root, "ca.pem");
    FILE *f = fopen(ca, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\n", f);
    fclose(f);
    testutil_path(dir, sizeof(dir), fx->root, "n0");

    char *before = peer_dump(city);
    /* No URL, or plain http. */
    assert_pg_fails(PG_EINVALID,
                    pg_peer_add(city, card, len, PG_PEER_PARTNER, NULL, ca));
    assert_message_has("https");
    assert_pg_fails(PG_EINVALID, pg_peer_add(city, card, len, PG_PEER_PARTNER,
                                             "http://cs.example.cn/", ca));
    assert_message_has("https");
    /* Missing, a directory, empty name. */
    assert_pg_fails(PG_EINVALID,
                    pg_peer_add(city, card, len, PG_PEER_PARTNER,
                                "https://cs.example.cn/", "/no/such/ca.pem"));
    assert_message_has("/no/such/ca.pem");
    assert_pg_fails(PG_EINVALID, pg_peer_add(city, card, len, PG_PEER_PARTNER,
                                             "https://cs.example.cn/", dir));
    assert_message_has("regular file");
    assert_pg_fails(PG_EINVALID, pg_peer_add(city, card, len, PG_PEER_PARTNER,
                                             "https://cs.example.cn/", ""));
    /* Unreadable (root reads anything, so only as another user). */
    if (geteuid() != 0) {
        assert_int_equal(chmod(ca, 0), 0);
        assert_pg_fails(PG_EINVALID,
                        pg_peer_add(city, card, len, PG_PEER_PARTNER,
                                    "https://cs.example.cn/", ca));
        assert_int_equal(chmod(ca, 0644), 0);
    }
    assert_same_dump(city, before);
    free(before);

    /* A relative name is stored as an absolute path. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(fx->root), 0);
    int rc = pg_peer_add(city, card, len, PG_PEER_PARTNER,
                         "https://cs.example.cn/", "./ca.pem");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_pg_ok(pg_peer_get(&p, city, specs[CHANGSHA].code));
    char *real = realpath(ca, NULL);
    assert_non_null(real);
    assert_string_equal(p.ca_file, real);
    assert_true(p.ca_file[0] == '/');
    free(real);
}

/* ---- set, remove, get, list -------------------------------------------- */

static void test_peer__set_changes_the_address_and_keeps_cursors(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    const char *code = specs[CITY].code;
    char ca[4200];
    pg_peer p;

    testutil_path(ca, sizeof(ca), fx->root, "set-ca.pem");
    FILE *f = fopen(ca, "w");
    assert_non_null(f);
    fclose(f);
    assert_pg_ok(add(fx, COUNTY, CITY, PG_PEER_PARENT));
    /* As if some bundles had been exchanged. */
    exec_sql(county, "UPDATE peer SET sent_upto = 12, acked_upto = 10, "
                     "received_upto = 7, last_sync_ms = 1764122400000");
    char *card_before = NULL;
    assert_pg_ok(pg_peer_get(&p, county, code));
    int64_t added = p.added_ms;
    card_before = strdup(p.key_id);

    assert_pg_ok(pg_peer_set(county, code, "https://xt.example.cn/", NULL));
    assert_pg_ok(pg_peer_get(&p, county, code));
    assert_string_equal(p.url, "https://xt.example.cn/");
    assert_string_equal(p.ca_file, "");
    assert_pg_ok(pg_peer_set(county, code, NULL, ca));
    assert_pg_ok(pg_peer_get(&p, county, code));
    assert_string_equal(p.url, "https://xt.example.cn/");
    assert_string_equal(p.ca_file, ca);
    /* The card, role and cursors are as they were. */
    assert_int_equal(p.sent_upto, 12);
    assert_int_equal(p.acked_upto, 10);
    assert_int_equal(p.received_upto, 7);
    assert_int_equal(p.last_sync_ms, 1764122400000);
    assert_int_equal(p.added_ms, added);
    assert_int_equal(p.role, PG_PEER_PARENT);
    assert_string_equal(p.key_id, card_before);

    /* Refusals change nothing. */
    char *before = peer_dump(county);
    assert_pg_fails(PG_EINVALID, pg_peer_set(county, code, NULL, NULL));
    assert_pg_fails(PG_EINVALID, pg_peer_set(county, code, "ftp://x/", NULL));
    assert_pg_fails(PG_EINVALID, pg_peer_set(county, code, NULL, "/no/ca"));
    /* http, or no URL, while a CA file stays. */
    assert_pg_fails(PG_EINVALID,
                    pg_peer_set(county, code, "http://xt.example.cn/", NULL));
    assert_message_has("--ca ''");
    assert_pg_fails(PG_EINVALID, pg_peer_set(county, code, "", NULL));
    assert_pg_fails(PG_EINVALID, pg_peer_set(county, code, "http://x/", ca));
    assert_pg_fails(PG_ENOTFOUND,
                    pg_peer_set(county, "430302001000", "http://x/", NULL));
    assert_message_has("430302001000");
    assert_pg_fails(PG_EINVALID,
                    pg_peer_set(county, "4303", "http://x/", NULL));
    assert_pg_fails(PG_EINVALID,
                    pg_peer_set(county, "43030000000x", "http://x/", NULL));
    assert_same_dump(county, before);
    free(before);

    /* Both at once, then clearing. */
    assert_pg_ok(pg_peer_set(county, code, "http://10.1.1.1/", ""));
    assert_pg_ok(pg_peer_get(&p, county, code));
    assert_string_equal(p.url, "http://10.1.1.1/");
    assert_string_equal(p.ca_file, "");
    assert_pg_ok(pg_peer_set(county, code, "", NULL));
    assert_pg_ok(pg_peer_get(&p, county, code));
    assert_string_equal(p.url, "");
    assert_int_equal(p.sent_upto, 12);
    assert_int_equal(p.received_upto, 7);
    /* Cleared means NULL in the store, as if never set. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(county->db,
                                        "SELECT url IS NULL AND ca_file IS "
                                        "NULL FROM peer",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    free(card_before);
}

static void test_peer__remove_forgets_and_get_reports_unknown(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    pg_peer p;

    assert_pg_ok(add(fx, COUNTY, CITY, PG_PEER_PARENT));
    assert_pg_ok(add(fx, COUNTY, TOWNSHIP, PG_PEER_CHILD));
    char *before = peer_dump(county);
    assert_pg_fails(PG_ENOTFOUND, pg_peer_remove(county, "430304000000"));
    assert_message_has("430304000000");
    assert_pg_fails(PG_EINVALID, pg_peer_remove(county, "430302"));
    assert_pg_fails(PG_EINVALID, pg_peer_remove(county, ""));
    assert_pg_fails(PG_EINVALID, pg_peer_get(&p, county, "abc"));
    assert_same_dump(county, before);
    free(before);

    assert_pg_ok(pg_peer_remove(county, specs[CITY].code));
    assert_pg_fails(PG_ENOTFOUND, pg_peer_get(&p, county, specs[CITY].code));
    assert_string_equal(p.code, "");
    assert_pg_fails(PG_ENOTFOUND, pg_peer_remove(county, specs[CITY].code));
    assert_int_equal(npeers(county), 1);
    /* Pinned again, it starts afresh. */
    exec_sql(county, "UPDATE peer SET sent_upto = 3");
    assert_pg_ok(pg_peer_remove(county, specs[TOWNSHIP].code));
    assert_pg_ok(add(fx, COUNTY, TOWNSHIP, PG_PEER_CHILD));
    assert_pg_ok(pg_peer_get(&p, county, specs[TOWNSHIP].code));
    assert_int_equal(p.sent_upto, 0);
}

static int stop_after_one(const pg_peer *peer, void *payload)
{
    (void)peer;
    (*(int *)payload)++;
    return 42;
}

static void test_peer__list_goes_by_code_and_stops_when_asked(void **state)
{
    fixture *fx = *state;
    pg_node *city = fx->node[CITY];
    codes c = {0};
    int calls = 0;

    assert_pg_ok(add(fx, CITY, OTHER_COUNTY, PG_PEER_CHILD));
    assert_pg_ok(add(fx, CITY, CHANGSHA, PG_PEER_PARTNER));
    assert_pg_ok(add(fx, CITY, COUNTY, PG_PEER_CHILD));
    assert_pg_ok(pg_peer_list(city, collect_code, &c));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.code[0], "430100000000");
    assert_string_equal(c.code[1], "430302000000");
    assert_string_equal(c.code[2], "430304000000");
    assert_int_equal(pg_peer_list(city, stop_after_one, &calls), 42);
    assert_int_equal(calls, 1);
    /* Nothing pinned: no calls. */
    calls = 0;
    assert_pg_ok(pg_peer_list(fx->node[COMMUNITY], stop_after_one, &calls));
    assert_int_equal(calls, 0);
}

static void test_peer__a_damaged_row_is_reported_not_trusted(void **state)
{
    fixture *fx = *state;
    pg_node *county = fx->node[COUNTY];
    codes c = {0};
    pg_peer p;

    assert_pg_ok(add(fx, COUNTY, CITY, PG_PEER_PARENT));
    exec_sql(county, "UPDATE peer SET tier = 'galaxy'");
    assert_pg_fails(PG_ECORRUPT, pg_peer_get(&p, county, specs[CITY].code));
    assert_message_has("430300000000");
    assert_pg_fails(PG_ECORRUPT, pg_peer_list(county, collect_code, &c));
    assert_int_equal(c.n, 0);
    /* It can still be removed. */
    assert_pg_ok(pg_peer_remove(county, specs[CITY].code));
}

/* ---- persistence -------------------------------------------------------- */

static void test_peer__peers_survive_reopening(void **state)
{
    fixture *fx = *state;
    char ca[4200];
    pg_peer a, b;

    testutil_path(ca, sizeof(ca), fx->root, "reopen-ca.pem");
    FILE *f = fopen(ca, "w");
    assert_non_null(f);
    fclose(f);
    assert_pg_ok(pg_peer_add(fx->node[CITY], fx->card[CHANGSHA],
                             strlen(fx->card[CHANGSHA]), PG_PEER_PARTNER,
                             "https://cs.example.cn:8443/", ca));
    assert_pg_ok(add(fx, CITY, COUNTY, PG_PEER_CHILD));
    assert_pg_ok(pg_peer_get(&a, fx->node[CITY], specs[CHANGSHA].code));

    pg_node_free(fx->node[CITY]);
    fx->node[CITY] = NULL;
    assert_pg_ok(pg_node_open(&fx->node[CITY], fx->dir[CITY]));
    assert_pg_ok(pg_peer_get(&b, fx->node[CITY], specs[CHANGSHA].code));
    assert_memory_equal(&a, &b, sizeof(a));
    assert_string_equal(b.url, "https://cs.example.cn:8443/");
    assert_string_equal(b.ca_file, ca);
    assert_int_equal(npeers(fx->node[CITY]), 2);
}

static void test_peer__a_store_from_before_peers_gets_the_table(void **state)
{
    fixture *fx = *state;
    pg_node *node = fx->node[OTHER_COUNTY];
    sqlite3_stmt *st = NULL;

    exec_sql(node, "DROP TABLE peer");
    pg_node_free(node);
    fx->node[OTHER_COUNTY] = NULL;
    assert_pg_ok(pg_node_open(&fx->node[OTHER_COUNTY], fx->dir[OTHER_COUNTY]));
    node = fx->node[OTHER_COUNTY];
    assert_int_equal(sqlite3_prepare_v2(node->db,
                                        "SELECT count(*) FROM sqlite_master "
                                        "WHERE type = 'table' AND name = "
                                        "'peer'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_equal(npeers(node), 0);
    assert_pg_ok(add(fx, OTHER_COUNTY, CITY, PG_PEER_PARENT));
    assert_int_equal(npeers(node), 1);
}

#define T(name) cmocka_unit_test_teardown(name, forget_all_peers)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_peer__county_pins_its_parent_and_a_child),
        T(test_peer__stores_the_card_as_given_with_its_keys),
        T(test_peer__cities_pin_each_other_as_partners),
        T(test_peer__a_city_pins_a_statistical_zone_as_child),
        T(test_peer__refuses_its_own_card),
        T(test_peer__refuses_a_card_that_does_not_verify),
        T(test_peer__refuses_an_unknown_role),
        T(test_peer__a_parent_is_the_next_tier_up_by_code),
        T(test_peer__there_is_at_most_one_parent),
        T(test_peer__a_child_is_one_tier_down_inside),
        T(test_peer__partners_are_cities_outside_each_other),
        T(test_peer__a_pinned_code_is_never_silently_replaced),
        T(test_peer__one_key_never_speaks_for_two_codes),
        T(test_peer__accepts_http_and_https_urls),
        T(test_peer__refuses_bad_urls),
        T(test_peer__a_ca_file_needs_https_and_must_be_readable),
        T(test_peer__set_changes_the_address_and_keeps_cursors),
        T(test_peer__remove_forgets_and_get_reports_unknown),
        T(test_peer__list_goes_by_code_and_stops_when_asked),
        T(test_peer__a_damaged_row_is_reported_not_trusted),
        T(test_peer__peers_survive_reopening),
        T(test_peer__a_store_from_before_peers_gets_the_table),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
