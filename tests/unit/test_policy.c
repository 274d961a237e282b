/*
 * Link policies, transforms and pseudonyms (DESIGN §6, Art. 41;
 * include/pingan/policy.h): every transform, including UTF-8 names, the
 * 15-to-18-digit ID conversion and phone spellings; pseudonyms against
 * vectors computed with another BLAKE2b implementation (Python's
 * hashlib); partner keys that two cities derive alike and a third city
 * does not, kept in private files; the defaults of every link; policy
 * files that tighten, and every refusal with its exact line.
 */
#include "testutil.h"

#include "node_internal.h"
#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/policy.h"
#include "pingan/schema.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    XIANGTAN, /* 430300 湘潭市 */
    CHANGSHA, /* 430100 长沙市, partner of Xiangtan */
    ZHUZHOU,  /* 430200 株洲市, another partner of Xiangtan */
    COUNTY,   /* 430302 雨湖区, child of Xiangtan */
    TOWNSHIP, /* 430302001 城正街街道, child of the county */
    NNODES
};

static const test_node_spec specs[NNODES] = {
    {"430300000000", "湘潭市"},     {"430100000000", "长沙市"},
    {"430200000000", "株洲市"},     {"430302000000", "雨湖区"},
    {"430302001000", "城正街街道"},
};

typedef struct fixture {
    char *root;
    pg_node *node[NNODES];
    char *card[NNODES];
} fixture;

static fixture *fx_global;

static int group_teardown(void **state);

static int group_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    if (test_nodes_setup(fx->node, fx->card, fx->root, specs, NNODES) < 0) {
        group_teardown((void **)&fx);
        return -1;
    }
    struct {
        int at, peer;
        pg_peer_role role;
    } links[] = {
        {XIANGTAN, CHANGSHA, PG_PEER_PARTNER},
        {CHANGSHA, XIANGTAN, PG_PEER_PARTNER},
        {XIANGTAN, ZHUZHOU, PG_PEER_PARTNER},
        {ZHUZHOU, XIANGTAN, PG_PEER_PARTNER},
        {XIANGTAN, COUNTY, PG_PEER_CHILD},
        {COUNTY, XIANGTAN, PG_PEER_PARENT},
        {TOWNSHIP, COUNTY, PG_PEER_PARENT},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        const char *card = fx->card[links[i].peer];
        if (pg_peer_add(fx->node[links[i].at], card, strlen(card),
                        links[i].role, NULL, NULL) < 0) {
            print_error("pin: %s\n", pg_error_last()->message);
            return -1;
        }
    }
    fx_global = fx;
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

/* ---- helpers -------------------------------------------------------------
 */

static const pg_collection *coll(const char *name)
{
    const pg_collection *c = pg_schema_collection(pg_schema_current(), name);
    assert_non_null(c);
    return c;
}

static const pg_field *field(const char *cname, const char *fname)
{
    const pg_field *f = pg_collection_field(coll(cname), fname, NULL);
    assert_non_null(f);
    return f;
}

static pg_transform xf(const pg_policy *p, const char *cname, const char *fname)
{
    return pg_policy_transform(p, coll(cname), field(cname, fname));
}

/* A peer as pinned: code, tier from the code, role. */
static pg_peer *mkpeer(const char *code, pg_peer_role role)
{
    static pg_peer peer;
    memset(&peer, 0, sizeof(peer));
    snprintf(peer.code, sizeof(peer.code), "%s", code);
    snprintf(peer.name, sizeof(peer.name), "peer %s", code);
    peer.tier = pg_division_tier(code);
    peer.role = role;
    return &peer;
}

static pg_peer *getpeer(int at, int who)
{
    static pg_peer peer;
    assert_pg_ok(pg_peer_get(&peer, fx_global->node[at], specs[who].code));
    return &peer;
}

static const pg_card *self_card(void)
{
    return pg_node_card(fx_global->node[XIANGTAN]);
}

static pg_policy *parse_ok(const char *text, const char *peer_code,
                           pg_peer_role role)
{
    pg_policy *p = NULL;
    assert_pg_ok(pg_policy_parse(&p, text, strlen(text), "t.ini", self_card(),
                                 mkpeer(peer_code, role)));
    assert_non_null(p);
    return p;
}

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

/* Parsing fails with code, at line (0: no line), naming needle. */
static void parse_fails_len(const char *text, size_t len, const char *peer_code,
                            pg_peer_role role, int code, unsigned line,
                            const char *needle)
{
    pg_policy *p = (pg_policy *)1;
    char prefix[64];

    pg_error_clear();
    int rc = pg_policy_parse(&p, text, len, "t.ini", self_card(),
                             mkpeer(peer_code, role));
    if (rc != code)
        print_error("expected %d, got %d (%s)\n", code, rc,
                    pg_error_last()->message);
    assert_int_equal(rc, code);
    assert_null(p);
    if (line)
        snprintf(prefix, sizeof(prefix), "t.ini:%u: ", line);
    else
        snprintf(prefix, sizeof(prefix), "t.ini: ");
    const char *msg = pg_error_last()->message;
    if (strncmp(msg, prefix, strlen(prefix)) != 0)
        print_error("message \"%s\" does not start with \"%s\"\n", msg, prefix);
    assert_int_equal(strncmp(msg, prefix, strlen(prefix)), 0);
    assert_null(strchr(msg, '\n'));
    assert_message_has(needle);
}

static void parse_fails(const char *text, const char *peer_code,
                        pg_peer_role role, int code, unsigned line,
                        const char *needle)
{
    parse_fails_len(text, strlen(text), peer_code, role, code, line, needle);
}

#define CHANGSHA_CODE "430100000000"
#define CITY_CODE     "430300000000"
#define COUNTY_CODE   "430302000000"
#define TOWN_CODE     "430302001000"

/* Two lines, so that the first collection section is at line 3. */
#define HEAD "[agreement]\nid = t1\n"

/* ---- transforms ----------------------------------------------------------
 */

static void assert_derived(pg_transform t, const char *cname, const char *fname,
                           pg_value v, const char *want)
{
    pg_buf out = PG_BUF_INIT;
    static const uint8_t key[32] = {1};
    assert_pg_ok(pg_transform_value(&out, t, field(cname, fname), &v,
                                    "430302001001", key));
    assert_non_null(out.data);
    if (strcmp((const char *)out.data, want) != 0)
        print_error("%s of %s.%s: got \"%s\", expected \"%s\"\n",
                    pg_transform_name(t), cname, fname, (const char *)out.data,
                    want);
    assert_string_equal((const char *)out.data, want);
    pg_buf_dispose(&out);
}

static void test_policy__names_transforms(void **state)
{
    pg_transform t;
    (void)state;
    const char *names[] = {"keep", "drop", "mask", "hash", "generalize"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(pg_transform_name((pg_transform)i), names[i]);
        assert_int_equal(pg_transform_from_name(&t, names[i]), 0);
        assert_int_equal(t, i);
    }
    assert_string_equal(pg_transform_name((pg_transform)9), "?");
    assert_int_equal(pg_transform_from_name(&t, "blur"), PG_EINVALID);
    assert_int_equal(pg_transform_from_name(&t, "Keep"), PG_EINVALID);
    assert_int_equal(pg_transform_from_name(&t, ""), PG_EINVALID);
}

static void test_policy__masks_id_numbers(void **state)
{
    (void)state;
    assert_derived(PG_XF_MASK, "dispute", "applicant_id_number",
                   test_text("430302198503121230"), "430302********1230");
    /* A first-generation 15-digit number becomes its 18-digit form. */
    assert_derived(PG_XF_MASK, "dispute", "applicant_id_number",
                   test_text("430302850312123"), "430302********1230");
    assert_derived(PG_XF_MASK, "dispute", "applicant_id_number",
                   test_text("11010519491231002x"), "110105********002X");
    assert_derived(PG_XF_MASK, "key_person", "id_number",
                   test_text("430381200101011018"), "430381********1018");
}

static void test_policy__converts_15_digit_ids_with_the_check_char(void **s)
{
    pg_buf out = PG_BUF_INIT;
    (void)s;
    /* The expected check characters are the DOMAIN §4.4 vectors. */
    const char *pairs[][2] = {
        {"430302850312123", "430302198503121230"},
        {"430321620708004", "430321196207080040"},
        {"430304780214567", "430304197802145679"},
        {"110105491231002", "11010519491231002X"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        assert_pg_ok(
            pg_transform_normalize(&out, PG_TYPE_ID_NUMBER, pairs[i][0], 15));
        assert_string_equal((const char *)out.data, pairs[i][1]);
    }
    /* Lower-case x and spaces. */
    assert_pg_ok(pg_transform_normalize(&out, PG_TYPE_ID_NUMBER,
                                        "110105 19491231 002x", 20));
    assert_string_equal((const char *)out.data, "11010519491231002X");
    /* Refused: wrong check character, letters in 15 digits, lengths, a
     * 15-digit number whose date is impossible. */
    const char *bad[] = {"430302198503121231", "43030285031212X",
                         "4303021985031212",   "4303021985031212301",
                         "430302851312123",    ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pg_error_clear();
        assert_int_equal(pg_transform_normalize(&out, PG_TYPE_ID_NUMBER, bad[i],
                                                strlen(bad[i])),
                         PG_EINVALID);
        assert_int_equal(out.len, 0);
    }
    pg_buf_dispose(&out);
}

static void test_policy__masks_and_normalizes_phones(void **state)
{
    (void)state;
    const char *spellings[] = {"13812345678", "+86 138 1234 5678",
                               "0086-138-1234-5678", "+8613812345678",
                               "138-1234-5678"};
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
        assert_derived(PG_XF_MASK, "dispute", "applicant_phone",
                       test_text(spellings[i]), "138****5678");
    pg_buf out = PG_BUF_INIT;
    const char *bad[] = {"12345678901", "+85213812345678", "1381234567",
                         "86 13812345678", "138123456789"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pg_value v = test_text(bad[i]);
        assert_int_equal(pg_transform_value(&out, PG_XF_MASK,
                                            field("dispute", "applicant_phone"),
                                            &v, NULL, NULL),
                         PG_EINVALID);
        assert_int_equal(out.len, 0);
        /* Redaction errors name the field, never the value. */
        assert_message_has("applicant_phone");
        assert_null(strstr(pg_error_last()->message, bad[i]));
    }
    pg_buf_dispose(&out);
}

static void test_policy__masks_utf8_names_to_the_surname(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"张三", "张*"},
        {"张三丰", "张**"},
        {"欧阳娜娜", "欧阳**"},
        {"欧阳锋", "欧阳*"},
        {"司马光", "司马*"},
        {"欧阳", "欧*"}, /* two characters: 欧 and a given name */
        {"王", "王"},
        {" 李四　", "李*"}, /* spaces trimmed, U+3000 too */
        {"阿卜杜·热合曼", "阿******"},
        {"𠀀二", "𠀀*"}, /* a 4-byte character (CJK Ext. B) */
        {"John Smith", "J*********"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_derived(PG_XF_MASK, "dispute", "applicant_name",
                       test_text(cases[i][0]), cases[i][1]);
    pg_buf out = PG_BUF_INIT;
    pg_value blank = test_text("　 ");
    assert_int_equal(pg_transform_value(&out, PG_XF_MASK,
                                        field("dispute", "applicant_name"),
                                        &blank, NULL, NULL),
                     PG_EINVALID);
    pg_value bad = {.kind = PG_VALUE_TEXT, .s = "\xe5\xbc", .len = 2};
    assert_int_equal(pg_transform_value(&out, PG_XF_MASK,
                                        field("dispute", "applicant_name"),
                                        &bad, NULL, NULL),
                     PG_EINVALID);
    pg_buf_dispose(&out);
}

static int64_t at(const char *iso)
{
    int64_t ms;
    assert_pg_ok(pg_time_parse(&ms, iso));
    return ms;
}

static void test_policy__generalizes_times_to_the_cst_year(void **state)
{
    (void)state;
    assert_derived(PG_XF_GENERALIZE, "dispute", "accepted_at",
                   test_integer(at("1985-03-12T10:00:00+08:00")), "1985");
    /* New Year in Beijing while it is still the old year in UTC. */
    assert_derived(PG_XF_GENERALIZE, "dispute", "accepted_at",
                   test_integer(at("1984-12-31T16:00:00Z")), "1985");
    assert_derived(PG_XF_GENERALIZE, "dispute", "accepted_at",
                   test_integer(at("1984-12-31T15:59:59.999Z")), "1984");
    /* Before the epoch (negative milliseconds). */
    assert_derived(PG_XF_GENERALIZE, "dispute", "accepted_at",
                   test_integer(at("1969-12-31T17:00:00Z")), "1970");
    assert_derived(PG_XF_GENERALIZE, "dispute", "accepted_at",
                   test_integer(at("1969-12-31T15:00:00Z")), "1969");
    assert_derived(PG_XF_GENERALIZE, "dispute", "accepted_at",
                   test_integer(at("1949-10-01T15:00:00+08:00")), "1949");
}

static void test_policy__generalizes_addresses_to_the_division(void **state)
{
    pg_buf out = PG_BUF_INIT;
    (void)state;
    assert_derived(PG_XF_GENERALIZE, "hazard", "address",
                   test_text("湘潭市雨湖区和平街道12号"), "430302001001");
    pg_value v = test_text("湘潭市雨湖区和平街道12号");
    assert_int_equal(pg_transform_value(&out, PG_XF_GENERALIZE,
                                        field("hazard", "address"), &v, NULL,
                                        NULL),
                     PG_EINVALID);
    assert_int_equal(pg_transform_value(&out, PG_XF_GENERALIZE,
                                        field("hazard", "address"), &v, "4303",
                                        NULL),
                     PG_EINVALID);
    pg_buf_dispose(&out);
}

static void test_policy__refuses_transforms_that_do_not_apply(void **state)
{
    static const uint8_t key[32] = {7};
    pg_buf out = PG_BUF_INIT;
    (void)state;
    struct {
        pg_transform t;
        const char *c, *f;
        pg_value v;
    } cases[] = {
        {PG_XF_MASK, "dispute", "summary", test_text("邻里纠纷")},
        {PG_XF_MASK, "hazard", "address", test_text("和平街道")},
        {PG_XF_GENERALIZE, "dispute", "applicant_name", test_text("张三")},
        {PG_XF_GENERALIZE, "dispute", "party_count", test_integer(3)},
        {PG_XF_HASH, "dispute", "accepted_at", test_integer(0)},
        {PG_XF_HASH, "hazard", "address", test_text("和平街道")},
        {PG_XF_KEEP, "dispute", "applicant_name", test_text("张三")},
        {PG_XF_DROP, "dispute", "applicant_name", test_text("张三")},
        /* absent, and a value of the wrong kind */
        {PG_XF_MASK, "dispute", "applicant_name", {.kind = PG_VALUE_ABSENT}},
        {PG_XF_MASK, "dispute", "applicant_name", test_integer(5)},
        {PG_XF_GENERALIZE, "dispute", "accepted_at", test_text("1985")},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pg_buf_puts(&out, "stale");
        pg_error_clear();
        int rc =
            pg_transform_value(&out, cases[i].t, field(cases[i].c, cases[i].f),
                               &cases[i].v, "430302001001", key);
        if (rc != PG_EINVALID)
            print_error("case %zu: %d\n", i, rc);
        assert_int_equal(rc, PG_EINVALID);
        assert_int_equal(out.len, 0);
    }
    /* hash needs a key. */
    pg_value v = test_text("430302198503121230");
    assert_int_equal(pg_transform_value(&out, PG_XF_HASH,
                                        field("dispute", "applicant_id_number"),
                                        &v, NULL, NULL),
                     PG_EINVALID);
    pg_buf_dispose(&out);
}

/* ---- pseudonyms ----------------------------------------------------------
 */

/* Vectors from Python: hashlib.blake2b(v.encode(), key=bytes(range(32)),
 * digest_size=32).hexdigest()[:32]. */
static void test_policy__pseudonyms_match_an_independent_blake2b(void **s)
{
    uint8_t key[32];
    pg_buf out = PG_BUF_INIT;
    (void)s;
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    assert_pg_ok(pg_transform_pseudonym(&out, PG_TYPE_ID_NUMBER,
                                        "430302198503121230", 18, key));
    assert_string_equal((const char *)out.data,
                        "4eaa115a1b61779c119c3ca1c0524dda");
    assert_pg_ok(
        pg_transform_pseudonym(&out, PG_TYPE_PHONE, "13812345678", 11, key));
    assert_string_equal((const char *)out.data,
                        "215625271113104639740b2a4d17c209");
    assert_pg_ok(pg_transform_pseudonym(&out, PG_TYPE_NAME, "张三",
                                        strlen("张三"), key));
    assert_string_equal((const char *)out.data,
                        "d9131aae9717a1c2e95300c72264077f");
    /* Through pg_transform_value too. */
    pg_value v = test_text("430302850312123");
    assert_pg_ok(pg_transform_value(&out, PG_XF_HASH,
                                    field("dispute", "applicant_id_number"), &v,
                                    NULL, key));
    assert_string_equal((const char *)out.data,
                        "4eaa115a1b61779c119c3ca1c0524dda");
    pg_buf_dispose(&out);
}

static void test_policy__phone_spellings_give_one_pseudonym(void **state)
{
    static const uint8_t key[32] = {0x42, 0x17};
    pg_buf a = PG_BUF_INIT, b = PG_BUF_INIT;
    (void)state;
    assert_pg_ok(
        pg_transform_pseudonym(&a, PG_TYPE_PHONE, "13912345678", 11, key));
    assert_int_equal(a.len, 32);
    for (size_t i = 0; i < 32; i++)
        assert_true((a.data[i] >= '0' && a.data[i] <= '9') ||
                    (a.data[i] >= 'a' && a.data[i] <= 'f'));
    const char *same[] = {"+86 139 1234 5678", "0086-139-1234-5678",
                          "+8613912345678", "139 1234 5678"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_pg_ok(pg_transform_pseudonym(&b, PG_TYPE_PHONE, same[i],
                                            strlen(same[i]), key));
        assert_string_equal((const char *)a.data, (const char *)b.data);
    }
    /* Another number, another key: other pseudonyms. */
    assert_pg_ok(
        pg_transform_pseudonym(&b, PG_TYPE_PHONE, "13912345679", 11, key));
    assert_string_not_equal((const char *)a.data, (const char *)b.data);
    static const uint8_t other[32] = {0x42, 0x18};
    assert_pg_ok(
        pg_transform_pseudonym(&b, PG_TYPE_PHONE, "13912345678", 11, other));
    assert_string_not_equal((const char *)a.data, (const char *)b.data);
    /* An ID number: lower-case x and the 15-digit form are the same. */
    assert_pg_ok(pg_transform_pseudonym(&a, PG_TYPE_ID_NUMBER,
                                        "11010519491231002X", 18, key));
    assert_pg_ok(pg_transform_pseudonym(&b, PG_TYPE_ID_NUMBER,
                                        "11010519491231002x", 18, key));
    assert_string_equal((const char *)a.data, (const char *)b.data);
    assert_pg_ok(pg_transform_pseudonym(&b, PG_TYPE_ID_NUMBER,
                                        "110105491231002", 15, key));
    assert_string_equal((const char *)a.data, (const char *)b.data);
    /* Types that hash does not take. */
    assert_int_equal(pg_transform_pseudonym(&b, PG_TYPE_ADDRESS, "x", 1, key),
                     PG_EINVALID);
    assert_int_equal(
        pg_transform_pseudonym(&b, PG_TYPE_PHONE, "1391234567", 10, key),
        PG_EINVALID);
    pg_buf_dispose(&a);
    pg_buf_dispose(&b);
}

static void key_of(uint8_t key[32], char id[17], int at, int who)
{
    pg_policy *p = NULL;
    pg_peer *peer = getpeer(at, who);
    assert_pg_ok(pg_policy_load(&p, fx_global->node[at], peer));
    assert_pg_ok(
        pg_policy_pseudonym_key(key, id, fx_global->node[at], peer, p));
    pg_policy_free(p);
}

static void pseudonym_of(char out[33], int at, int who, const char *id_number)
{
    uint8_t key[32];
    char id[17];
    pg_buf b = PG_BUF_INIT;
    key_of(key, id, at, who);
    pg_value v = test_text(id_number);
    assert_pg_ok(pg_transform_value(&b, PG_XF_HASH,
                                    field("dispute", "applicant_id_number"), &v,
                                    NULL, key));
    assert_int_equal(b.len, 32);
    memcpy(out, b.data, 33);
    pg_buf_dispose(&b);
}

static void key_path(char *out, size_t len, int at, int who)
{
    snprintf(out, len, "%s/pseudonym-%s.key", fx_global->node[at]->dir,
             specs[who].code);
}

static void test_policy__partner_cities_derive_the_same_key(void **state)
{
    uint8_t k1[32], k2[32], k3[32], k4[32];
    char id1[17], id2[17], id3[17];
    char p1[33], p2[33], p3[33];
    (void)state;

    key_of(k1, id1, XIANGTAN, CHANGSHA);
    key_of(k2, id2, CHANGSHA, XIANGTAN);
    assert_memory_equal(k1, k2, 32);
    assert_string_equal(id1, id2);
    assert_int_equal(strlen(id1), 16);
    key_of(k3, id3, XIANGTAN, ZHUZHOU);
    assert_memory_not_equal(k1, k3, 32);
    assert_string_not_equal(id1, id3);
    /* Zhuzhou agrees with Xiangtan on theirs. */
    key_of(k4, id2, ZHUZHOU, XIANGTAN);
    assert_memory_equal(k3, k4, 32);

    /* The derivation as documented, from the key files and cards. */
    uint8_t sk[32], shared[32], want[32], msg[19 + 64];
    char path[4200];
    snprintf(path, sizeof(path), "%s/box.key", fx_global->node[XIANGTAN]->dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(sk, 1, 32, f), 32);
    fclose(f);
    const uint8_t *a = pg_node_card(fx_global->node[XIANGTAN])->box_pk;
    const uint8_t *b = pg_node_card(fx_global->node[CHANGSHA])->box_pk;
    assert_pg_ok(pg_box_shared(shared, sk, b));
    memcpy(msg, "pingan.pseudonym.v1", 19);
    memcpy(msg + 19, memcmp(a, b, 32) < 0 ? a : b, 32);
    memcpy(msg + 51, memcmp(a, b, 32) < 0 ? b : a, 32);
    pg_blake2b_keyed(want, 32, msg, sizeof(msg), shared, 32);
    assert_memory_equal(k1, want, 32);

    /* One ID number, one pseudonym on both ends; another with Zhuzhou. */
    pseudonym_of(p1, XIANGTAN, CHANGSHA, "430302198503121230");
    pseudonym_of(p2, CHANGSHA, XIANGTAN, "430302850312123");
    pseudonym_of(p3, XIANGTAN, ZHUZHOU, "430302198503121230");
    assert_string_equal(p1, p2);
    assert_string_not_equal(p1, p3);
    pg_memzero(k1, 32);
}

static void test_policy__keeps_the_derived_key_in_a_private_file(void **s)
{
    uint8_t k1[32], k2[32], raw[33];
    char id[17], path[4200];
    struct stat st;
    (void)s;

    key_of(k1, id, XIANGTAN, CHANGSHA);
    key_path(path, sizeof(path), XIANGTAN, CHANGSHA);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(raw, 1, sizeof(raw), f), 32);
    fclose(f);
    assert_memory_equal(raw, k1, 32);

    /* Kept, not derived again: a different kept key is used as it is. */
    raw[0] ^= 0xff;
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(raw, 1, 32, f), 32);
    fclose(f);
    key_of(k2, id, XIANGTAN, CHANGSHA);
    assert_memory_equal(k2, raw, 32);

    /* A file others may read is refused, and the message says what to do
     * without showing the key. */
    pg_policy *p = NULL;
    pg_peer *peer = getpeer(XIANGTAN, CHANGSHA);
    assert_int_equal(chmod(path, 0644), 0);
    assert_pg_fails(PG_ECORRUPT,
                    pg_policy_load(&p, fx_global->node[XIANGTAN], peer));
    assert_null(p);
    assert_message_has("chmod 600");
    char hex[65];
    pg_hex(hex, raw, 32);
    assert_null(strstr(pg_error_last()->message, hex));
    assert_int_equal(chmod(path, 0640), 0);
    assert_pg_fails(PG_ECORRUPT,
                    pg_policy_load(&p, fx_global->node[XIANGTAN], peer));

    /* A damaged file (wrong size) is refused, not silently re-derived. */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(truncate(path, 31), 0);
    assert_pg_fails(PG_ECORRUPT,
                    pg_policy_load(&p, fx_global->node[XIANGTAN], peer));

    /* Removed: derived again, as before. */
    assert_int_equal(unlink(path), 0);
    key_of(k2, id, XIANGTAN, CHANGSHA);
    assert_memory_equal(k2, k1, 32);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void write_file(const char *path, const void *data, size_t len,
                       mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static int key_file_error(const char *path, uint8_t key[32], char id[17])
{
    char text[4400];
    pg_policy *p = NULL;
    snprintf(text, sizeof(text), HEAD "pseudonym_key_file = %s\n[dispute]\n",
             path);
    pg_peer *peer = getpeer(XIANGTAN, CHANGSHA);
    assert_pg_ok(
        pg_policy_parse(&p, text, strlen(text), "t.ini", self_card(), peer));
    pg_error_clear();
    int rc =
        pg_policy_pseudonym_key(key, id, fx_global->node[XIANGTAN], peer, p);
    pg_policy_free(p);
    return rc;
}

static void test_policy__reads_a_named_key_file_only_when_private(void **s)
{
    char path[4200], id[17];
    uint8_t key[32], want[32];
    (void)s;
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)i;
    snprintf(path, sizeof(path), "%s/xt-cs.key", fx_global->root);

    /* 64 hex digits and a newline; the id matches Python's. */
    const char *hex =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    write_file(path, hex, strlen(hex), 0600);
    assert_int_equal(key_file_error(path, key, id), 0);
    assert_memory_equal(key, want, 32);
    assert_string_equal(id, "2633e89e110d0e6c");
    /* 32 raw bytes, and read-only for the owner. */
    write_file(path, want, 32, 0400);
    assert_int_equal(key_file_error(path, key, id), 0);
    assert_memory_equal(key, want, 32);

    write_file(path, hex, strlen(hex), 0644);
    assert_int_equal(key_file_error(path, key, id), PG_ECORRUPT);
    assert_message_has("chmod 600");
    assert_null(strstr(pg_error_last()->message, "000102"));
    write_file(path, hex, strlen(hex), 0660);
    assert_int_equal(key_file_error(path, key, id), PG_ECORRUPT);
    write_file(path, hex, 40, 0600);
    assert_int_equal(key_file_error(path, key, id), PG_ECORRUPT);
    static const char badhex[] = "zz0102030405060708090a0b0c0d0e0f10111213"
                                 "1415161718191a1b1c1d1e1f\n";
    assert_int_equal(strlen(badhex), 65);
    write_file(path, badhex, 65, 0600);
    assert_int_equal(key_file_error(path, key, id), PG_ECORRUPT);
    static const uint8_t zero[32];
    write_file(path, zero, 32, 0600);
    assert_int_equal(key_file_error(path, key, id), PG_ECORRUPT);
    assert_message_has("all-zero");
    unlink(path);
    assert_int_equal(key_file_error(path, key, id), PG_ENOTFOUND);
    /* A directory is not a key file. */
    assert_int_equal(key_file_error(fx_global->root, key, id), PG_ECORRUPT);
}

static void test_policy__pseudonym_keys_exist_only_on_partner_links(void **s)
{
    uint8_t key[32];
    char id[17] = "x";
    pg_policy *p = NULL;
    (void)s;
    pg_peer *peer = getpeer(COUNTY, XIANGTAN);
    assert_pg_ok(pg_policy_load(&p, fx_global->node[COUNTY], peer));
    assert_pg_fails(
        PG_EINVALID,
        pg_policy_pseudonym_key(key, id, fx_global->node[COUNTY], peer, p));
    assert_string_equal(id, "");
    pg_policy_free(p);
}

/* ---- defaults ------------------------------------------------------------
 */

static void test_policy__parent_defaults_drop_sensitive_above_county(void **s)
{
    pg_policy *city = NULL, *county = NULL;
    (void)s;
    /* The county's parent is the city; the township's is the county. */
    assert_pg_ok(pg_policy_load(&city, fx_global->node[COUNTY],
                                getpeer(COUNTY, XIANGTAN)));
    assert_pg_ok(pg_policy_load(&county, fx_global->node[TOWNSHIP],
                                getpeer(TOWNSHIP, COUNTY)));
    assert_string_equal(pg_policy_id(city), "default-parent");
    assert_int_equal(pg_policy_role(city), PG_PEER_PARENT);

    assert_int_equal(xf(city, "key_person", "diagnosis"), PG_XF_DROP);
    assert_int_equal(xf(city, "key_person", "category"), PG_XF_DROP);
    assert_int_equal(xf(city, "fraud_alert", "loss_amount"), PG_XF_DROP);
    assert_int_equal(xf(city, "key_person", "name"), PG_XF_KEEP);
    assert_int_equal(xf(city, "key_person", "id_number"), PG_XF_KEEP);
    assert_int_equal(xf(city, "dispute", "summary"), PG_XF_KEEP);
    assert_int_equal(xf(city, "hazard", "level"), PG_XF_KEEP);

    assert_int_equal(xf(county, "key_person", "diagnosis"), PG_XF_KEEP);
    assert_int_equal(xf(county, "key_person", "category"), PG_XF_KEEP);
    assert_int_equal(xf(county, "fraud_alert", "loss_amount"), PG_XF_KEEP);

    const pg_schema *schema = pg_schema_current();
    for (size_t i = 0; i < schema->ncollections; i++) {
        const pg_collection *c = schema->collections[i];
        assert_int_equal(pg_policy_carries(city, c), !c->system);
        assert_int_equal(pg_policy_carries(county, c), !c->system);
        assert_false(pg_policy_condition(city, c, NULL, NULL));
    }
    assert_false(pg_policy_carries(city, coll("node")));
    /* division and the tombstone always travel. */
    const pg_field *del =
        pg_collection_field(coll("key_person"), "_deleted", NULL);
    assert_non_null(del);
    assert_int_equal(pg_policy_transform(city, coll("key_person"), del),
                     PG_XF_KEEP);
    assert_int_equal(xf(city, "key_person", "division"), PG_XF_KEEP);

    /* Different rules, different hashes. */
    assert_memory_not_equal(pg_policy_hash(city), pg_policy_hash(county), 32);
    pg_policy_free(city);
    pg_policy_free(county);
}

static void test_policy__child_defaults_keep_everything(void **state)
{
    pg_policy *p = NULL;
    (void)state;
    assert_pg_ok(pg_policy_load(&p, fx_global->node[XIANGTAN],
                                getpeer(XIANGTAN, COUNTY)));
    assert_string_equal(pg_policy_id(p), "default-child");
    const pg_schema *schema = pg_schema_current();
    for (size_t i = 0; i < schema->ncollections; i++) {
        const pg_collection *c = schema->collections[i];
        assert_int_equal(pg_policy_carries(p, c), !c->system);
        for (size_t j = 0; !c->system && j < c->nfields; j++)
            assert_int_equal(pg_policy_transform(p, c, &c->fields[j]),
                             PG_XF_KEEP);
    }
    pg_policy_free(p);
}

static void test_policy__partner_default_is_the_art8_agreement(void **s)
{
    pg_policy *p = NULL;
    const pg_field *f = NULL;
    pg_value v;
    (void)s;
    assert_pg_ok(pg_policy_load(&p, fx_global->node[XIANGTAN],
                                getpeer(XIANGTAN, CHANGSHA)));
    assert_string_equal(pg_policy_id(p), "default-partner");
    const pg_schema *schema = pg_schema_current();
    for (size_t i = 0; i < schema->ncollections; i++) {
        const pg_collection *c = schema->collections[i];
        bool want = strcmp(c->name, "fraud_alert") == 0 ||
                    strcmp(c->name, "dispute") == 0 ||
                    strcmp(c->name, "dispute_party") == 0;
        assert_int_equal(pg_policy_carries(p, c), want);
    }
    assert_true(pg_policy_condition(p, coll("dispute"), &f, &v));
    assert_string_equal(f->name, "cross_region");
    assert_int_equal(v.kind, PG_VALUE_BOOL);
    assert_true(v.b);
    /* Schema v2: a dispute's parties go with it, on the same condition,
     * their ID numbers and phones withheld, names masked. */
    assert_true(pg_policy_condition(p, coll("dispute_party"), &f, &v));
    assert_string_equal(f->name, "cross_region");
    assert_true(v.kind == PG_VALUE_BOOL && v.b);
    assert_int_equal(xf(p, "dispute_party", "name"), PG_XF_MASK);
    assert_int_equal(xf(p, "dispute_party", "id_number"), PG_XF_DROP);
    assert_int_equal(xf(p, "dispute_party", "phone"), PG_XF_DROP);
    assert_false(pg_policy_condition(p, coll("fraud_alert"), &f, &v));
    assert_false(pg_policy_condition(p, coll("hazard"), &f, &v));

    assert_int_equal(xf(p, "dispute", "applicant_name"), PG_XF_MASK);
    assert_int_equal(xf(p, "dispute", "respondent_name"), PG_XF_MASK);
    assert_int_equal(xf(p, "dispute", "applicant_phone"), PG_XF_DROP);
    assert_int_equal(xf(p, "dispute", "applicant_id_number"), PG_XF_DROP);
    assert_int_equal(xf(p, "dispute", "summary"), PG_XF_DROP);
    assert_int_equal(xf(p, "dispute", "mediator"), PG_XF_KEEP); /* internal */
    assert_int_equal(xf(p, "dispute", "dispute_type"), PG_XF_KEEP);
    assert_int_equal(xf(p, "dispute", "cross_region"), PG_XF_KEEP);
    assert_int_equal(xf(p, "fraud_alert", "target_name"), PG_XF_MASK);
    assert_int_equal(xf(p, "fraud_alert", "target_phone"), PG_XF_DROP);
    assert_int_equal(xf(p, "fraud_alert", "suspect_phone"), PG_XF_DROP);
    assert_int_equal(xf(p, "fraud_alert", "suspect_url"), PG_XF_KEEP);
    assert_int_equal(xf(p, "fraud_alert", "loss_amount"), PG_XF_DROP);
    assert_int_equal(xf(p, "fraud_alert", "description"), PG_XF_DROP);
    assert_int_equal(xf(p, "fraud_alert", "division"), PG_XF_KEEP);
    /* Not carried: every field dropped. */
    assert_int_equal(xf(p, "key_person", "name"), PG_XF_DROP);
    assert_int_equal(xf(p, "hazard", "level"), PG_XF_DROP);

    /* The same rules written as a file give the same hash. */
    pg_policy *q = parse_ok(HEAD "[dispute]\nwhere = cross_region = true\n"
                                 "[fraud_alert]\n[dispute_party]\n"
                                 "where = cross_region = true\n",
                            CHANGSHA_CODE, PG_PEER_PARTNER);
    assert_string_equal(pg_policy_id(q), "t1");
    assert_memory_equal(pg_policy_hash(p), pg_policy_hash(q), 32);
    pg_policy_free(q);
    /* Any change of a rule changes it. */
    q = parse_ok(HEAD "[dispute]\nwhere = cross_region = true\n"
                      "applicant_phone = hash\n[fraud_alert]\n",
                 CHANGSHA_CODE, PG_PEER_PARTNER);
    assert_memory_not_equal(pg_policy_hash(p), pg_policy_hash(q), 32);
    pg_policy_free(q);
    q = parse_ok(HEAD "[dispute]\n[fraud_alert]\n", CHANGSHA_CODE,
                 PG_PEER_PARTNER);
    assert_memory_not_equal(pg_policy_hash(p), pg_policy_hash(q), 32);
    pg_policy_free(q);
    pg_policy_free(p);
}

static void test_policy__partner_defaults_generalize_addresses(void **s)
{
    (void)s;
    pg_policy *p = parse_ok(HEAD "[hazard]\nwhere = cross_region = true\n"
                                 "[grid_event]\n",
                            CHANGSHA_CODE, PG_PEER_PARTNER);
    assert_int_equal(xf(p, "hazard", "address"), PG_XF_GENERALIZE);
    assert_int_equal(xf(p, "hazard", "contact_name"), PG_XF_MASK);
    assert_int_equal(xf(p, "hazard", "contact_phone"), PG_XF_DROP);
    assert_int_equal(xf(p, "hazard", "description"), PG_XF_DROP);
    assert_int_equal(xf(p, "grid_event", "address"), PG_XF_GENERALIZE);
    assert_int_equal(xf(p, "grid_event", "grid_worker"), PG_XF_KEEP);
    /* An empty section still names its collection. */
    assert_true(pg_policy_carries(p, coll("grid_event")));
    assert_false(pg_policy_condition(p, coll("grid_event"), NULL, NULL));
    assert_false(pg_policy_carries(p, coll("dispute")));
    assert_false(pg_policy_carries(p, coll("fraud_alert")));
    pg_policy_free(p);
}

/* ---- policy files --------------------------------------------------------
 */

static const char agreement[] =
    "# Xiangtan–Changsha Art. 8 agreement\n"      /* 1 */
    "[agreement]\n"                               /* 2 */
    "id = xt-cs-2026-01\n"                        /* 3 */
    "purpose = 联调\n"                            /* 4 */
    "\n"                                          /* 5 */
    "[dispute]\n"                                 /* 6 */
    "where = cross_region = true   ; 联调 only\n" /* 7 */
    "applicant_name = mask\n"                     /* 8 */
    "applicant_phone = hash\n"                    /* 9 */
    "applicant_id_number = hash\n"                /* 10 */
    "[fraud_alert]\n"                             /* 11 */
    "target_phone = hash\n"                       /* 12 */
    "suspect_phone = hash\n";                     /* 13 */

static void test_policy__parses_a_partner_agreement(void **state)
{
    pg_buf out = PG_BUF_INIT;
    (void)state;
    pg_policy *p = parse_ok(agreement, CHANGSHA_CODE, PG_PEER_PARTNER);
    assert_string_equal(pg_policy_id(p), "xt-cs-2026-01");
    assert_true(pg_policy_carries(p, coll("dispute")));
    assert_true(pg_policy_carries(p, coll("fraud_alert")));
    assert_false(pg_policy_carries(p, coll("hazard")));
    assert_true(pg_policy_condition(p, coll("dispute"), NULL, NULL));
    assert_int_equal(xf(p, "dispute", "applicant_phone"), PG_XF_HASH);
    assert_int_equal(xf(p, "dispute", "applicant_id_number"), PG_XF_HASH);
    assert_int_equal(xf(p, "dispute", "applicant_name"), PG_XF_MASK);
    /* Unlisted fields of a named collection: the partner defaults. */
    assert_int_equal(xf(p, "dispute", "respondent_phone"), PG_XF_DROP);
    assert_int_equal(xf(p, "dispute", "respondent_name"), PG_XF_MASK);
    assert_int_equal(xf(p, "dispute", "summary"), PG_XF_DROP);
    assert_int_equal(xf(p, "fraud_alert", "target_phone"), PG_XF_HASH);
    assert_int_equal(xf(p, "fraud_alert", "suspect_phone"), PG_XF_HASH);
    assert_int_equal(xf(p, "fraud_alert", "loss_amount"), PG_XF_DROP);

    /* Comments, blank lines and order do not change the hash; the id and
     * purpose do not either: it hashes the rules. */
    pg_policy *q = parse_ok("[agreement]\nid = other\n"
                            "[fraud_alert]\nsuspect_phone = hash\n"
                            "target_phone = hash\n"
                            "[dispute]\napplicant_id_number = hash\n"
                            "applicant_phone = hash\n"
                            "where = cross_region = true\n",
                            CHANGSHA_CODE, PG_PEER_PARTNER);
    assert_memory_equal(pg_policy_hash(p), pg_policy_hash(q), 32);
    pg_policy_free(q);

    /* The description names everything, as text and as JSON. */
    assert_pg_ok(pg_policy_describe(&out, p, false));
    const char *t = (const char *)out.data;
    assert_non_null(strstr(t, "policy xt-cs-2026-01: partner link to "
                              "430100000000"));
    assert_non_null(strstr(t, "dispute: records where cross_region = true"));
    assert_non_null(strstr(t, "fraud_alert: every record"));
    assert_non_null(strstr(t, "联调"));
    assert_non_null(strstr(t, "applicant_phone"));
    assert_non_null(strstr(t, "not carried: hazard grid_event key_person"));
    pg_buf_clear(&out);
    assert_pg_ok(pg_policy_describe(&out, p, true));
    json_error_t jerr;
    json_t *j = json_loads((const char *)out.data, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")),
                        "xt-cs-2026-01");
    assert_string_equal(json_string_value(json_object_get(j, "role")),
                        "partner");
    char hex[65];
    pg_hex(hex, pg_policy_hash(p), 32);
    assert_string_equal(json_string_value(json_object_get(j, "hash")), hex);
    json_t *colls = json_object_get(j, "collections");
    assert_int_equal(json_array_size(colls), 2);
    json_t *d = json_array_get(colls, 0);
    assert_string_equal(json_string_value(json_object_get(d, "name")),
                        "dispute");
    json_t *w = json_object_get(d, "where");
    assert_string_equal(json_string_value(json_object_get(w, "field")),
                        "cross_region");
    assert_string_equal(json_string_value(json_object_get(w, "value")), "true");
    assert_int_equal(json_array_size(json_object_get(d, "fields")),
                     coll("dispute")->nfields);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(d, "fields"), 4), "transform")),
        "hash"); /* applicant_phone */
    assert_int_equal(json_array_size(json_object_get(j, "not_carried")),
                     pg_schema_current()->ncollections - 2);
    json_t *k = json_object_get(j, "pseudonym_key");
    assert_string_equal(json_string_value(json_object_get(k, "source")),
                        "derived");
    json_decref(j);
    pg_buf_dispose(&out);
    pg_policy_free(p);
}

static void test_policy__files_tighten_parent_and_child_links(void **s)
{
    const pg_field *f;
    pg_value v;
    (void)s;
    /* A township tightens what goes to its county. */
    pg_policy *p = parse_ok(HEAD "[hazard]\ncarry = no\n"
                                 "[dispute]\nwhere = dispute_type = 邻里纠纷\n"
                                 "applicant_id_number = mask\n"
                                 "applicant_name = mask\n"
                                 "summary = drop\n"
                                 "[key_person]\ndiagnosis = drop\n"
                                 "address = generalize\ncarry = yes\n",
                            COUNTY_CODE, PG_PEER_PARENT);
    assert_false(pg_policy_carries(p, coll("hazard")));
    assert_true(pg_policy_carries(p, coll("dispute")));
    assert_true(pg_policy_carries(p, coll("grid_event")));
    assert_true(pg_policy_condition(p, coll("dispute"), &f, &v));
    assert_string_equal(f->name, "dispute_type");
    assert_int_equal(v.kind, PG_VALUE_TEXT);
    assert_int_equal(v.len, strlen("邻里纠纷"));
    assert_memory_equal(v.s, "邻里纠纷", v.len);
    assert_int_equal(xf(p, "dispute", "applicant_id_number"), PG_XF_MASK);
    assert_int_equal(xf(p, "dispute", "summary"), PG_XF_DROP);
    assert_int_equal(xf(p, "dispute", "respondent_name"), PG_XF_KEEP);
    assert_int_equal(xf(p, "key_person", "diagnosis"), PG_XF_DROP);
    assert_int_equal(xf(p, "key_person", "address"), PG_XF_GENERALIZE);
    assert_int_equal(xf(p, "hazard", "level"), PG_XF_DROP);
    pg_policy_free(p);

    /* Restating a city parent's drop of a sensitive field is fine. */
    p = parse_ok(HEAD "[key_person]\ndiagnosis = drop\ncategory = drop\n",
                 CITY_CODE, PG_PEER_PARENT);
    assert_int_equal(xf(p, "key_person", "diagnosis"), PG_XF_DROP);
    pg_policy_free(p);

    /* A city masks reporters' names to its counties. */
    p = parse_ok(HEAD "[grid_event]\nreporter_name = mask\n"
                      "reporter_phone = mask\n[volunteer]\ncarry = no\n",
                 COUNTY_CODE, PG_PEER_CHILD);
    assert_int_equal(xf(p, "grid_event", "reporter_name"), PG_XF_MASK);
    assert_int_equal(xf(p, "grid_event", "reporter_phone"), PG_XF_MASK);
    assert_false(pg_policy_carries(p, coll("volunteer")));
    pg_policy_free(p);
}

static void test_policy__refuses_unknown_names_with_their_line(void **s)
{
    (void)s;
    parse_fails(HEAD "[dispute]\napplicant_nmae = mask\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "applicant_nmae");
    parse_fails(HEAD "[dispute]\n\n# c\napplicant_name = blur\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 6, "blur");
    parse_fails(HEAD "[disputes]\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 3, "disputes");
    parse_fails(HEAD "colour = red\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 3, "colour");
    parse_fails("id = t1\n[agreement]\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 1, "before any section");
    parse_fails(HEAD "[dispute]\ncarry = maybe\n", COUNTY_CODE, PG_PEER_PARENT,
                PG_EINVALID, 4, "maybe");
    parse_fails(HEAD "[dispute]\ncarry = no\ncarry = yes\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EINVALID, 5, "twice");
    parse_fails(HEAD "[dispute]\nsummary = drop\nsummary = drop\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EINVALID, 5, "twice");
    parse_fails(HEAD "[dispute]\n[fraud_alert]\n[dispute]\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 5, "line 3");
    parse_fails(HEAD "[agreement]\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 3, "twice");
    parse_fails(HEAD "id = t2\n", CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID,
                3, "twice");
    parse_fails(HEAD "[dispute]\ndivision = drop\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EINVALID, 4, "division");
    parse_fails(HEAD "[dispute]\n_deleted = drop\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EINVALID, 4, "_deleted");
}

static void test_policy__refuses_transforms_unfit_for_the_type(void **s)
{
    (void)s;
    parse_fails(HEAD "[dispute]\nsummary = mask\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "dispute.summary: mask");
    parse_fails(HEAD "[dispute]\napplicant_name = generalize\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "generalize");
    parse_fails(HEAD "[dispute]\naccepted_at = hash\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "time");
    parse_fails(HEAD "[dispute]\nparty_count = mask\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EINVALID, 4, "int");
}

static void test_policy__refuses_loosening_and_sensitive_keep(void **s)
{
    (void)s;
    /* Sensitive fields never above the county ... */
    parse_fails(HEAD "[key_person]\ndiagnosis = keep\n", CITY_CODE,
                PG_PEER_PARENT, PG_EPOLICY, 4, "never goes above the county");
    parse_fails(HEAD "[fraud_alert]\n\n\nloss_amount = keep\n", CITY_CODE,
                PG_PEER_PARENT, PG_EPOLICY, 6, "fraud_alert.loss_amount");
    /* ... and never to a partner. */
    parse_fails(HEAD "[fraud_alert]\nloss_amount = keep\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EPOLICY, 4, "never sent to a partner");
    parse_fails(HEAD "[fraud_alert]\ndescription = hash\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EPOLICY, 4, "sensitive");
    /* ID numbers reach a partner only as pseudonyms. */
    parse_fails(HEAD "[dispute]\napplicant_id_number = keep\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EPOLICY, 4, "only as a pseudonym");
    parse_fails(HEAD "[dispute]\napplicant_id_number = mask\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EPOLICY, 4, "hash or drop");
    /* hash needs a partner's key. */
    parse_fails(HEAD "[dispute]\napplicant_id_number = hash\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EPOLICY, 4, "only partner links");
    parse_fails(HEAD "[dispute]\napplicant_id_number = hash\n", COUNTY_CODE,
                PG_PEER_CHILD, PG_EPOLICY, 4, "hash");
    /* Collections a partner never gets; the system collection. */
    parse_fails(HEAD "[fraud_alert]\n[key_person]\nname = mask\n",
                CHANGSHA_CODE, PG_PEER_PARTNER, PG_EPOLICY, 4, "key_person");
    parse_fails(HEAD "[supervision]\ncarry = no\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EPOLICY, 3, "supervision");
    parse_fails(HEAD "[node]\ncarry = no\n", COUNTY_CODE, PG_PEER_PARENT,
                PG_EPOLICY, 3, "system");
    /* A key file belongs to a partner agreement. */
    parse_fails(HEAD "pseudonym_key_file = /etc/pingan/k.key\n", COUNTY_CODE,
                PG_PEER_PARENT, PG_EPOLICY, 3, "partner");
    /* where on a sensitive field would select by it. */
    parse_fails(HEAD "[fraud_alert]\nwhere = description = x\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EPOLICY, 4, "sensitive");
}

static void test_policy__refuses_secrets_written_inline(void **s)
{
    (void)s;
    const char *secret =
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    char text[512];
    snprintf(text, sizeof(text), HEAD "pseudonym_key = %s\n", secret);
    parse_fails(text, CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 3,
                "secrets are never written in a policy file");
    assert_null(strstr(pg_error_last()->message, secret));
    assert_null(strstr(pg_error_last()->message, "0f1e2d"));
    snprintf(text, sizeof(text), HEAD "[dispute]\nsecret = %s\n", secret);
    parse_fails(text, CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 4,
                "never written");
    assert_null(strstr(pg_error_last()->message, "0f1e2d"));
    parse_fails(HEAD "password = hunter2\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 3, "'password' would write a secret");
    assert_null(strstr(pg_error_last()->message, "hunter2"));
    parse_fails(HEAD "pseudonym_key_file = keys/xt.key\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 3, "absolute");
}

static void test_policy__refuses_bad_conditions(void **s)
{
    (void)s;
    parse_fails(HEAD "[dispute]\nwhere = cross_regoin = true\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "cross_regoin");
    parse_fails(HEAD "[dispute]\nwhere = party_count = 3\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "int field");
    parse_fails(HEAD "[dispute]\nwhere = dispute_type = 吵架\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "where: ");
    parse_fails(HEAD "[dispute]\nwhere = cross_region = yes\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "cross_region");
    parse_fails(HEAD "[dispute]\nwhere = cross_region\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "FIELD = VALUE");
    parse_fails(HEAD "[dispute]\nwhere = cross_region = \n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "FIELD = VALUE");
    parse_fails(HEAD "[dispute]\nwhere = cross_region = true\n"
                     "where = status = 结案\n",
                CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 5, "twice");
    parse_fails(HEAD "[dispute]\nwhere = cross_region = true\ncarry = no\n",
                COUNTY_CODE, PG_PEER_PARENT, PG_EINVALID, 4, "does not carry");
    /* A division condition takes the 12 digits, as record values do. */
    parse_fails(HEAD "[dispute]\nwhere = partner_city = 4301\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 4, "12 digits");
    pg_policy *p = parse_ok(HEAD "[dispute]\n"
                                 "where = partner_city = 430100000000\n",
                            CHANGSHA_CODE, PG_PEER_PARTNER);
    pg_value v;
    assert_true(pg_policy_condition(p, coll("dispute"), NULL, &v));
    assert_int_equal(v.len, 12);
    assert_memory_equal(v.s, "430100000000", 12);
    pg_policy_free(p);
}

static void test_policy__refuses_malformed_text_with_its_line(void **s)
{
    char text[1024];
    (void)s;
    /* inih's own syntax errors, before a later error of ours. */
    parse_fails(HEAD "[dispute]\nno equals sign\nbogus_field = keep\n",
                CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 4,
                "expected [section]");
    parse_fails(HEAD "[dispute\n", CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID,
                3, "expected [section]");
    /* Indented lines would continue the previous value. */
    parse_fails(HEAD "[dispute]\napplicant_name = mask\n  drop\n",
                CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 5, "space");
    /* Lines too long for inih, invalid UTF-8, NUL bytes. */
    memset(text, 0, sizeof(text));
    snprintf(text, sizeof(text), HEAD "purpose = ");
    memset(text + strlen(text), 'x', 300);
    parse_fails(text, CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 3,
                "longer than 197 bytes");
    /* The limit exactly: 197 bytes pass, 198 do not. */
    memset(text, 0, sizeof(text));
    snprintf(text, sizeof(text), HEAD "purpose = ");
    memset(text + strlen(text), 'x', 187);
    pg_policy *p = parse_ok(text, CHANGSHA_CODE, PG_PEER_PARTNER);
    pg_policy_free(p);
    text[strlen(text)] = 'x';
    parse_fails(text, CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 3,
                "longer than");
    parse_fails(HEAD "purpose = \xe8\x81\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 3, "UTF-8");
    static const char nul[] = HEAD "purpose = a\0b\n";
    parse_fails_len(nul, sizeof(nul) - 1, CHANGSHA_CODE, PG_PEER_PARTNER,
                    PG_EINVALID, 3, "NUL");
    /* No id, bad ids. */
    parse_fails("[dispute]\n", CHANGSHA_CODE, PG_PEER_PARTNER, PG_EINVALID, 0,
                "no id");
    parse_fails("", COUNTY_CODE, PG_PEER_PARENT, PG_EINVALID, 0, "no id");
    parse_fails("[agreement]\nid = a b\n", CHANGSHA_CODE, PG_PEER_PARTNER,
                PG_EINVALID, 2, "letters");
    parse_fails("[agreement]\nid = default-partner\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 2, "default-");
    parse_fails("[agreement]\nid = t\npurpose =\n", CHANGSHA_CODE,
                PG_PEER_PARTNER, PG_EINVALID, 3, "purpose");
    /* Too large. */
    char *big = calloc(1, PG_POLICY_MAX + 2);
    assert_non_null(big);
    memset(big, '#', PG_POLICY_MAX + 1);
    p = NULL;
    assert_pg_fails(PG_ELIMIT,
                    pg_policy_parse(&p, big, PG_POLICY_MAX + 1, "t.ini",
                                    self_card(),
                                    mkpeer(CHANGSHA_CODE, PG_PEER_PARTNER)));
    free(big);
    /* A byte-order mark and CRLF line ends are fine. */
    p = parse_ok("\xef\xbb\xbf[agreement]\r\nid = t\r\n[dispute]\r\n"
                 "applicant_phone = hash\r\n",
                 CHANGSHA_CODE, PG_PEER_PARTNER);
    assert_int_equal(xf(p, "dispute", "applicant_phone"), PG_XF_HASH);
    pg_policy_free(p);
    /* No role, no policy. */
    pg_peer *peer = mkpeer(CHANGSHA_CODE, PG_PEER_NONE);
    assert_pg_fails(PG_EINVALID, pg_policy_default(&p, self_card(), peer));
    assert_null(p);
}

static void test_policy__loads_the_policy_stored_with_a_peer(void **s)
{
    char dir[4096];
    pg_policy *p = NULL;
    pg_peer peer;
    pg_buf out = PG_BUF_INIT;
    (void)s;
    pg_node *node =
        test_make_node(dir, fx_global->root, "xt2", CITY_CODE, "湘潭市");
    const char *card = fx_global->card[CHANGSHA];
    assert_pg_ok(pg_peer_add_policy(node, card, strlen(card), PG_PEER_PARTNER,
                                    NULL, NULL, agreement, strlen(agreement),
                                    "xt-cs.ini"));
    assert_pg_ok(pg_peer_get(&peer, node, CHANGSHA_CODE));
    assert_pg_ok(pg_policy_load(&p, node, &peer));
    assert_string_equal(pg_policy_id(p), "xt-cs-2026-01");
    assert_int_equal(xf(p, "dispute", "applicant_phone"), PG_XF_HASH);
    /* The key id is shown after loading, never the key. */
    uint8_t key[32];
    char id[17], hex[65];
    assert_pg_ok(pg_policy_pseudonym_key(key, id, node, &peer, p));
    pg_hex(hex, key, 32);
    assert_pg_ok(pg_policy_describe(&out, p, false));
    assert_non_null(strstr((const char *)out.data, id));
    assert_null(strstr((const char *)out.data, hex));
    pg_buf_clear(&out);
    assert_pg_ok(pg_policy_describe(&out, p, true));
    assert_non_null(strstr((const char *)out.data, id));
    assert_null(strstr((const char *)out.data, hex));
    /* A stored policy that does not parse names its file and line. */
    pg_policy_free(p);
    p = NULL;
    static const char bad[] = "[agreement]\nid = x\n[key_person]\n";
    card = fx_global->card[ZHUZHOU];
    assert_pg_ok(pg_peer_add_policy(node, card, strlen(card), PG_PEER_PARTNER,
                                    NULL, NULL, bad, strlen(bad), "xt-zz.ini"));
    assert_pg_ok(pg_peer_get(&peer, node, "430200000000"));
    assert_pg_fails(PG_EPOLICY, pg_policy_load(&p, node, &peer));
    assert_null(p);
    assert_message_has("xt-zz.ini:3: ");
    pg_buf_dispose(&out);
    pg_policy_free(p);
    pg_node_free(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy__names_transforms),
        cmocka_unit_test(test_policy__masks_id_numbers),
        cmocka_unit_test(
            test_policy__converts_15_digit_ids_with_the_check_char),
        cmocka_unit_test(test_policy__masks_and_normalizes_phones),
        cmocka_unit_test(test_policy__masks_utf8_names_to_the_surname),
        cmocka_unit_test(test_policy__generalizes_times_to_the_cst_year),
        cmocka_unit_test(test_policy__generalizes_addresses_to_the_division),
        cmocka_unit_test(test_policy__refuses_transforms_that_do_not_apply),
        cmocka_unit_test(test_policy__pseudonyms_match_an_independent_blake2b),
        cmocka_unit_test(test_policy__phone_spellings_give_one_pseudonym),
        cmocka_unit_test(test_policy__partner_cities_derive_the_same_key),
        cmocka_unit_test(test_policy__keeps_the_derived_key_in_a_private_file),
        cmocka_unit_test(test_policy__reads_a_named_key_file_only_when_private),
        cmocka_unit_test(
            test_policy__pseudonym_keys_exist_only_on_partner_links),
        cmocka_unit_test(
            test_policy__parent_defaults_drop_sensitive_above_county),
        cmocka_unit_test(test_policy__child_defaults_keep_everything),
        cmocka_unit_test(test_policy__partner_default_is_the_art8_agreement),
        cmocka_unit_test(test_policy__partner_defaults_generalize_addresses),
        cmocka_unit_test(test_policy__parses_a_partner_agreement),
        cmocka_unit_test(test_policy__files_tighten_parent_and_child_links),
        cmocka_unit_test(test_policy__refuses_unknown_names_with_their_line),
        cmocka_unit_test(test_policy__refuses_transforms_unfit_for_the_type),
        cmocka_unit_test(test_policy__refuses_loosening_and_sensitive_keep),
        cmocka_unit_test(test_policy__refuses_secrets_written_inline),
        cmocka_unit_test(test_policy__refuses_bad_conditions),
        cmocka_unit_test(test_policy__refuses_malformed_text_with_its_line),
        cmocka_unit_test(test_policy__loads_the_policy_stored_with_a_peer),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
