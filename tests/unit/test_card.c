/*
 * Cards and node directories: a fresh node's card verifies through its
 * JSON form; any change to what the card says is refused (every hex digit
 * of every key and of the signature, every character of the name, code,
 * tier and time, and every single-byte change of the whole text either
 * fails or changes nothing); malformed, incomplete, duplicated and
 * oversize JSON is refused; the key files are private and their secrets
 * never reach card.json; init refuses anything but a new or empty
 * directory and bad codes or names.
 */
#include "testutil.h"

#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOWNSHIP "430302001000"
#define NAME     "城正街街道"

typedef struct fixture {
    char *root;
    char dir[4096];
    pg_node *node;
    pg_card card; /* the node's card */
    char *json;   /* pg_card_to_json of it */
} fixture;

static int group_setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->root = testutil_mkdtemp();
    testutil_path(fx->dir, sizeof(fx->dir), fx->root, "node");
    if (pg_node_init(fx->dir, TOWNSHIP, NAME) < 0 ||
        pg_node_open(&fx->node, fx->dir) < 0) {
        print_error("setup: %s\n", pg_error_last()->message);
        return -1;
    }
    fx->card = *pg_node_card(fx->node);
    fx->json = pg_card_to_json(&fx->card);
    if (!fx->json)
        return -1;
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *fx = *state;
    free(fx->json);
    pg_node_free(fx->node);
    testutil_rmtree(fx->root);
    free(fx->root);
    free(fx);
    return 0;
}

static void assert_message_has(const char *needle)
{
    const char *msg = pg_error_last()->message;
    if (!strstr(msg, needle))
        print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
    assert_non_null(strstr(msg, needle));
}

static bool card_equal(const pg_card *a, const pg_card *b)
{
    return a->suite == b->suite && strcmp(a->code, b->code) == 0 &&
           strcmp(a->name, b->name) == 0 && a->tier == b->tier &&
           memcmp(a->sign_pk, b->sign_pk, PG_SIGN_PK_LEN) == 0 &&
           memcmp(a->box_pk, b->box_pk, PG_BOX_PK_LEN) == 0 &&
           strcmp(a->key_id, b->key_id) == 0 &&
           a->created_ms == b->created_ms &&
           memcmp(a->signature, b->signature, PG_SIG_LEN) == 0;
}

/* Parse text that must be refused (with PG_EAUTH or PG_EINVALID). */
static void assert_card_refused(const char *json, size_t len, const char *what)
{
    pg_card out;
    pg_error_clear();
    int rc = pg_card_from_json(&out, json, len);
    if (rc != PG_EAUTH && rc != PG_EINVALID)
        print_error("%s: card accepted (%d)\n%.*s\n", what, rc, (int)len, json);
    assert_true(rc == PG_EAUTH || rc == PG_EINVALID);
}

/* Where the string value of "key" starts in the card text, and its length. */
static size_t value_span(const char *json, const char *key, size_t *len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    const char *p = strstr(json, pat);
    assert_non_null(p);
    p += strlen(pat);
    if (*p == '"')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != '"' && p[n] != ',' && p[n] != '\n')
        n++;
    *len = n;
    return (size_t)(p - json);
}

/* ---- the card of a node ----------------------------------------------------
 */

static void test_card__of_a_fresh_node_verifies_through_json(void **state)
{
    fixture *fx = *state;
    pg_card parsed;
    char key_id[PG_KEY_ID_LEN + 1];

    assert_string_equal(fx->card.code, TOWNSHIP);
    assert_string_equal(fx->card.name, NAME);
    assert_int_equal(fx->card.tier, PG_TIER_TOWNSHIP);
    assert_int_equal(fx->card.suite, PG_SUITE_SODIUM);
    pg_key_id(key_id, fx->card.sign_pk);
    assert_string_equal(fx->card.key_id, key_id);
    assert_true(fx->card.created_ms > 1700000000000);

    assert_pg_ok(pg_card_from_json(&parsed, fx->json, strlen(fx->json)));
    assert_true(card_equal(&parsed, &fx->card));
    /* Readable by a person: the members are named. */
    static const char *const keys[] = {
        "pingan_card", "suite",      "code",      "name",
        "tier",        "sign_pk",    "box_pk",    "key_id",
        "created",     "created_ms", "signature",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char pat[64];
        snprintf(pat, sizeof(pat), "\"%s\":", keys[i]);
        assert_non_null(strstr(fx->json, pat));
    }
    assert_non_null(strstr(fx->json, "\"tier\": \"township\""));
    assert_int_equal(fx->json[strlen(fx->json) - 1], '\n');
    /* The node's accessors agree with its card. */
    assert_string_equal(pg_node_code(fx->node), TOWNSHIP);
    assert_string_equal(pg_node_name(fx->node), NAME);
    assert_int_equal(pg_node_tier(fx->node), PG_TIER_TOWNSHIP);
}

static void test_card__a_card_made_and_signed_by_hand_verifies(void **state)
{
    (void)state;
    pg_card card, parsed;
    uint8_t sk[PG_SIGN_SK_LEN], seed[PG_SIGN_SEED_LEN], other[PG_SIGN_SK_LEN];
    uint8_t other_pk[PG_SIGN_PK_LEN];

    memset(&card, 0, sizeof(card));
    for (size_t i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)i;
    card.suite = PG_SUITE_SODIUM;
    memcpy(card.code, "430300000000", PG_CODE_LEN + 1);
    snprintf(card.name, sizeof(card.name), "湘潭市");
    card.tier = PG_TIER_CITY;
    pg_sign_seed_keypair(card.sign_pk, sk, seed);
    memset(card.box_pk, 0x42, PG_BOX_PK_LEN);
    pg_key_id(card.key_id, card.sign_pk);
    card.created_ms = 1764122400000;
    pg_card_sign(&card, sk);

    char *json = pg_card_to_json(&card);
    assert_non_null(json);
    assert_non_null(strstr(json, "2025-11-26T10:00:00+08:00"));
    assert_pg_ok(pg_card_from_json(&parsed, json, strlen(json)));
    assert_true(card_equal(&parsed, &card));
    free(json);

    /* Signed by a key other than its own: refused. */
    seed[0] ^= 1;
    pg_sign_seed_keypair(other_pk, other, seed);
    pg_card_sign(&card, other);
    json = pg_card_to_json(&card);
    assert_pg_fails(PG_EAUTH, pg_card_from_json(&parsed, json, strlen(json)));
    free(json);
    pg_memzero(sk, sizeof(sk));
    pg_memzero(other, sizeof(other));
}

/* ---- any change is refused
 * ---------------------------------------------------- */

static char other_hex_digit(char c)
{
    return c == '0' ? '1' : '0';
}

static void change_every_hex_digit(const fixture *fx, const char *key,
                                   size_t want_len)
{
    size_t len, off = value_span(fx->json, key, &len);
    char *copy = strdup(fx->json);

    assert_non_null(copy);
    assert_int_equal(len, want_len);
    for (size_t i = 0; i < len; i++) {
        char saved = copy[off + i];
        assert_true(isxdigit((unsigned char)saved));
        copy[off + i] = other_hex_digit(saved);
        assert_card_refused(copy, strlen(copy), key);
        copy[off + i] = saved;
    }
    free(copy);
}

static void test_card__refuses_a_changed_hex_digit_of_any_key(void **state)
{
    fixture *fx = *state;

    change_every_hex_digit(fx, "sign_pk", 2 * PG_SIGN_PK_LEN);
    change_every_hex_digit(fx, "box_pk", 2 * PG_BOX_PK_LEN);
    change_every_hex_digit(fx, "key_id", PG_KEY_ID_LEN);
    change_every_hex_digit(fx, "signature", 2 * PG_SIG_LEN);
}

static void test_card__refuses_a_changed_name(void **state)
{
    fixture *fx = *state;
    size_t len, off = value_span(fx->json, "name", &len);
    char *copy = strdup(fx->json);

    assert_non_null(copy);
    assert_int_equal(len, strlen(NAME));
    /* Each character for another of the same length (街 -> 衔 ...). */
    for (size_t i = 0; i < len; i += 3) {
        char saved = copy[off + i + 2];
        copy[off + i + 2] = (char)(saved ^ 0x01);
        assert_card_refused(copy, strlen(copy), "name character");
        copy[off + i + 2] = saved;
    }
    /* Each byte for an ASCII letter (breaks the UTF-8). */
    for (size_t i = 0; i < len; i++) {
        char saved = copy[off + i];
        copy[off + i] = 'x';
        assert_card_refused(copy, strlen(copy), "name byte");
        copy[off + i] = saved;
    }
    free(copy);
}

static void test_card__refuses_a_changed_code_tier_or_time(void **state)
{
    fixture *fx = *state;
    static const char *const keys[] = {"code", "tier", "created_ms", "suite",
                                       "pingan_card"};
    char *copy = strdup(fx->json);

    assert_non_null(copy);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        size_t len, off = value_span(copy, keys[k], &len);
        assert_true(len > 0);
        for (size_t i = 0; i < len; i++) {
            char saved = copy[off + i];
            if (isdigit((unsigned char)saved))
                copy[off + i] = saved == '9' ? '0' : (char)(saved + 1);
            else
                copy[off + i] = saved == 'z' ? 'a' : (char)(saved + 1);
            assert_card_refused(copy, strlen(copy), keys[k]);
            copy[off + i] = saved;
        }
    }
    free(copy);
}

/*
 * Change every byte of the card text, one at a time, to each of a few
 * other bytes: the result must be refused, or parse to exactly the same
 * card (white space, the letter case of hex digits).
 */
static void
test_card__every_single_byte_change_is_refused_or_harmless(void **state)
{
    fixture *fx = *state;
    static const char subst[] = {'0', '1', 'a', 'F',  ' ',  '"', ',',
                                 ':', '{', '}', '\\', '\n', 'x', '\0'};
    char *copy = strdup(fx->json);
    size_t len = strlen(copy), refused = 0, harmless = 0;

    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        char saved = copy[i];
        for (size_t k = 0; k < sizeof(subst); k++) {
            if (subst[k] == saved)
                continue;
            pg_card out;
            copy[i] = subst[k];
            int rc = pg_card_from_json(&out, copy, len);
            if (rc == 0) {
                if (!card_equal(&out, &fx->card))
                    print_error("byte %zu -> 0x%02x: a different card "
                                "verifies\n",
                                i, (unsigned)(unsigned char)subst[k]);
                assert_true(card_equal(&out, &fx->card));
                harmless++;
            } else {
                assert_true(rc == PG_EAUTH || rc == PG_EINVALID);
                refused++;
            }
            copy[i] = saved;
        }
    }
    print_message("%zu changes refused, %zu harmless\n", refused, harmless);
    free(copy);
}

/*
 * "created" is not signed but is what a person reads, so it must be
 * pg_time_format(created_ms): a card must not show a creation time other
 * than the signed one.
 */
static void test_card__refuses_a_created_time_that_disagrees(void **state)
{
    fixture *fx = *state;
    size_t len, off = value_span(fx->json, "created", &len);
    char *copy = strdup(fx->json);

    assert_non_null(copy);
    assert_true(len >= 4);
    copy[off + 3] = copy[off + 3] == '9' ? '0' : (char)(copy[off + 3] + 1);
    assert_card_refused(copy, strlen(copy), "created");
    assert_message_has("'created'");
    free(copy);
}

/* ---- malformed input ------------------------------------------------------
 */

static void test_card__refuses_json_garbage(void **state)
{
    (void)state;
    static const char *const junk[] = {
        "",
        "{",
        "}",
        "[]",
        "null",
        "42",
        "\"card\"",
        "{}",
        "{\"pingan_card\": 1}",
        "\xff\xfe{}",
        "{\"pingan_card\": 1,}",
        "not json at all",
    };
    pg_card out;

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_pg_fails(PG_EINVALID,
                        pg_card_from_json(&out, junk[i], strlen(junk[i])));
    /* Random bytes. */
    uint8_t buf[512];
    uint32_t x = 0x9e3779b9;
    for (int round = 0; round < 500; round++) {
        size_t n = 1 + (size_t)round % sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (uint8_t)x;
        }
        assert_pg_fails(PG_EINVALID,
                        pg_card_from_json(&out, (const char *)buf, n));
    }
}

static void test_card__refuses_a_card_with_a_member_missing(void **state)
{
    fixture *fx = *state;
    json_error_t jerr;
    json_t *o = json_loads(fx->json, 0, &jerr);
    const char *key;
    json_t *val;
    size_t tested = 0;

    assert_non_null(o);
    json_object_foreach(o, key, val)
    {
        (void)val;
        json_t *copy = json_deep_copy(o);
        assert_int_equal(json_object_del(copy, key), 0);
        char *text = json_dumps(copy, JSON_PRESERVE_ORDER);
        assert_non_null(text);
        assert_card_refused(text, strlen(text), key);
        free(text);
        json_decref(copy);
        tested++;
    }
    assert_int_equal(tested, 11);
    json_decref(o);
}

static void test_card__refuses_members_of_the_wrong_type(void **state)
{
    fixture *fx = *state;
    json_error_t jerr;
    json_t *o = json_loads(fx->json, 0, &jerr);
    static const char *const keys[] = {
        "pingan_card", "suite",  "code",    "name",       "tier",     "sign_pk",
        "box_pk",      "key_id", "created", "created_ms", "signature"};

    assert_non_null(o);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *orig = json_object_get(o, keys[i]);
        json_t *wrong[3] = {json_null(), json_true(), json_array()};
        /* The same content under the other JSON type. */
        wrong[1] = json_is_string(orig)
                       ? json_integer(1)
                       : json_string(json_is_integer(orig) ? "1" : "x");
        for (size_t k = 0; k < 3; k++) {
            json_t *copy = json_deep_copy(o);
            json_object_set(copy, keys[i], wrong[k]);
            char *text = json_dumps(copy, JSON_PRESERVE_ORDER);
            assert_card_refused(text, strlen(text), keys[i]);
            free(text);
            json_decref(copy);
        }
        for (size_t k = 0; k < 3; k++)
            json_decref(wrong[k]);
    }
    json_decref(o);
}

static void test_card__refuses_duplicate_members(void **state)
{
    fixture *fx = *state;
    static const char *const keys[] = {"code", "name", "sign_pk", "signature"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t len, off = value_span(fx->json, keys[i], &len);
        char text[8192];
        /* {"code": "…", <rest of the card>} with the member repeated
         * first: a parser that took the first would see the forgery. */
        int n = snprintf(text, sizeof(text), "{\"%s\": \"%.*s\", %s", keys[i],
                         (int)len, fx->json + off, fx->json + 1);
        assert_true(n > 0 && (size_t)n < sizeof(text));
        pg_card out;
        assert_pg_fails(PG_EINVALID,
                        pg_card_from_json(&out, text, strlen(text)));
        assert_message_has("duplicate");
    }
}

static void test_card__refuses_an_unknown_suite(void **state)
{
    fixture *fx = *state;
    static const char *const suites[] = {"0", "2", "255", "-1", "1.0"};
    size_t len, off = value_span(fx->json, "suite", &len);

    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        char text[8192];
        snprintf(text, sizeof(text), "%.*s%s%s", (int)off, fx->json, suites[i],
                 fx->json + off + len);
        pg_card out;
        assert_pg_fails(PG_EINVALID,
                        pg_card_from_json(&out, text, strlen(text)));
    }
}

static void test_card__refuses_oversize_input(void **state)
{
    fixture *fx = *state;
    size_t n = strlen(fx->json);
    char *big = malloc(8192 + 2);
    pg_card out;

    assert_non_null(big);
    /* Padded with white space to exactly 8 KiB: still a card. */
    memcpy(big, fx->json, n);
    memset(big + n, ' ', 8192 - n);
    assert_pg_ok(pg_card_from_json(&out, big, 8192));
    assert_true(card_equal(&out, &fx->card));
    /* One byte more: refused before parsing. */
    big[8192] = ' ';
    assert_pg_fails(PG_EINVALID, pg_card_from_json(&out, big, 8193));
    assert_message_has("8 KiB");
    free(big);
}

static void test_card__refuses_a_name_too_long_or_empty(void **state)
{
    fixture *fx = *state;
    json_error_t jerr;
    json_t *o = json_loads(fx->json, 0, &jerr);
    char name[300];

    assert_non_null(o);
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    static const size_t lens[] = {0, 256, 299};
    for (size_t i = 0; i < 3; i++) {
        name[lens[i]] = 0;
        json_t *copy = json_deep_copy(o);
        json_object_set_new(copy, "name", json_string(name));
        char *text = json_dumps(copy, JSON_PRESERVE_ORDER);
        pg_card out;
        assert_pg_fails(PG_EINVALID,
                        pg_card_from_json(&out, text, strlen(text)));
        free(text);
        json_decref(copy);
        name[lens[i]] = 'n';
    }
    json_decref(o);
}

/* ---- the node directory ----------------------------------------------------
 */

/* A whole small file, NUL-terminated; the caller frees it. */
static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(65536 + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    assert_true(*len < 65536);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static bool contains(const uint8_t *hay, size_t hlen, const void *needle,
                     size_t nlen)
{
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (memcmp(hay + i, needle, nlen) == 0)
            return true;
    return false;
}

static void assert_secret_absent(const uint8_t *card, size_t clen,
                                 const uint8_t *secret, size_t slen)
{
    char hex[2 * 64 + 1];

    assert_true(slen <= 64);
    assert_false(contains(card, clen, secret, slen)); /* raw */
    assert_false(contains(card, clen, secret, 8));    /* any raw prefix */
    pg_hex(hex, secret, slen);
    assert_false(contains(card, clen, hex, 16)); /* lower-case hex */
    for (char *p = hex; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    assert_false(contains(card, clen, hex, 16)); /* upper-case hex */
    char *b64 = pg_base64(secret, slen);
    assert_non_null(b64);
    assert_false(contains(card, clen, b64, 12)); /* base64 */
    free(b64);
}

static void
test_card__key_files_are_private_and_stay_out_of_the_card(void **state)
{
    fixture *fx = *state;
    char path[4200];
    struct stat st;
    size_t sign_len, box_len, card_len;

    testutil_path(path, sizeof(path), fx->dir, "sign.key");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *sign = read_all(path, &sign_len);
    testutil_path(path, sizeof(path), fx->dir, "box.key");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *box = read_all(path, &box_len);
    testutil_path(path, sizeof(path), fx->dir, "card.json");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 022, 0); /* nobody else may write it */
    uint8_t *card = read_all(path, &card_len);
    assert_int_equal(stat(fx->dir, &st), 0);
    assert_int_equal(st.st_mode & 077, 0); /* the directory too */

    assert_int_equal(sign_len, PG_SIGN_SK_LEN);
    assert_int_equal(box_len, PG_BOX_SK_LEN);
    /* sign.key is seed ‖ public key: the public half is on the card. */
    assert_memory_equal(sign + 32, fx->card.sign_pk, PG_SIGN_PK_LEN);
    assert_secret_absent(card, card_len, sign, 32);
    assert_secret_absent(card, card_len, box, PG_BOX_SK_LEN);
    /* The file is the card the node uses. */
    pg_card parsed;
    assert_pg_ok(pg_card_from_json(&parsed, (const char *)card, card_len));
    assert_true(card_equal(&parsed, &fx->card));

    pg_memzero(sign, sign_len);
    pg_memzero(box, box_len);
    free(sign);
    free(box);
    free(card);
}

static void test_card__init_refuses_a_non_empty_directory(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];

    testutil_path(dir, sizeof(dir), fx->root, "occupied");
    assert_int_equal(mkdir(dir, 0700), 0);
    testutil_path(path, sizeof(path), dir, "notes.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("someone else's file\n", f);
    fclose(f);
    assert_pg_fails(PG_EEXISTS, pg_node_init(dir, TOWNSHIP, NAME));
    assert_message_has("not empty");
    /* Nothing was added to it. */
    testutil_path(path, sizeof(path), dir, "sign.key");
    assert_int_not_equal(access(path, F_OK), 0);

    /* A file where the directory should be. */
    testutil_path(path, sizeof(path), dir, "notes.txt");
    assert_pg_fails(PG_EEXISTS, pg_node_init(path, TOWNSHIP, NAME));
    assert_message_has("not a directory");
}

static void test_card__init_refuses_an_existing_node(void **state)
{
    fixture *fx = *state;
    char path[4200];
    size_t before_len, after_len;

    testutil_path(path, sizeof(path), fx->dir, "card.json");
    uint8_t *before = read_all(path, &before_len);
    assert_pg_fails(PG_EEXISTS, pg_node_init(fx->dir, TOWNSHIP, NAME));
    assert_message_has("already holds a pingan node");
    assert_pg_fails(PG_EEXISTS,
                    pg_node_init(fx->dir, "430302000000", "雨湖区"));
    /* The node is untouched: same card, still opens. */
    uint8_t *after = read_all(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    pg_node *again;
    assert_pg_ok(pg_node_open(&again, fx->dir));
    assert_true(card_equal(pg_node_card(again), &fx->card));
    pg_node_free(again);
    free(before);
    free(after);
}

static void test_card__init_refuses_bad_codes_and_names(void **state)
{
    fixture *fx = *state;
    char dir[4096], name[300];
    static const char *const codes[] = {
        "",
        "43030200100",   /* 11 digits */
        "4303020010000", /* 13 digits */
        "430300001000",  /* a township under no county */
        "43030200100a",
        "000000000000",
        "430302", /* a prefix: init takes the full code */
    };

    testutil_path(dir, sizeof(dir), fx->root, "badinit");
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_pg_fails(PG_EINVALID, pg_node_init(dir, codes[i], NAME));
        assert_int_not_equal(access(dir, F_OK), 0); /* nothing created */
    }
    assert_pg_fails(PG_EINVALID, pg_node_init(dir, TOWNSHIP, ""));
    assert_pg_fails(PG_EINVALID, pg_node_init(dir, TOWNSHIP, "\xff"));
    memset(name, 'n', 256);
    name[256] = 0;
    assert_pg_fails(PG_EINVALID, pg_node_init(dir, TOWNSHIP, name));
    assert_int_not_equal(access(dir, F_OK), 0);
    /* 255 bytes is the longest name. */
    name[255] = 0;
    assert_pg_ok(pg_node_init(dir, TOWNSHIP, name));
    pg_node *node;
    assert_pg_ok(pg_node_open(&node, dir));
    assert_string_equal(pg_node_name(node), name);
    pg_node_free(node);
    /* Every tier can be a node. */
    static const struct {
        const char *code;
        pg_tier tier;
    } tiers[] = {
        {"430000000000", PG_TIER_PROVINCE},  {"430300000000", PG_TIER_CITY},
        {"430302000000", PG_TIER_COUNTY},    {"430302001000", PG_TIER_TOWNSHIP},
        {"430302001001", PG_TIER_COMMUNITY},
    };
    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
        char sub[64];
        snprintf(sub, sizeof(sub), "tier%zu", i);
        testutil_path(dir, sizeof(dir), fx->root, sub);
        assert_pg_ok(pg_node_init(dir, tiers[i].code, "节点"));
        assert_pg_ok(pg_node_open(&node, dir));
        assert_int_equal(pg_node_tier(node), tiers[i].tier);
        pg_node_free(node);
    }
}

static void test_card__node_open_refuses_an_altered_card(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];
    size_t len;
    pg_node *node;

    testutil_path(dir, sizeof(dir), fx->root, "altered");
    assert_pg_ok(pg_node_init(dir, TOWNSHIP, NAME));
    testutil_path(path, sizeof(path), dir, "card.json");
    char *json = (char *)read_all(path, &len);
    size_t vlen, off = value_span(json, "created_ms", &vlen);
    json[off + vlen - 1] = json[off + vlen - 1] == '9' ? '0' : '9';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(json, 1, len, f), len);
    fclose(f);

    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_message_has("card.json");
    free(json);
}

/*
 * pg_node_open wraps the card's refusal in its own message; the reason
 * must survive (it once formatted the error buffer into itself, and the
 * path overwrote the reason).  A changed box key is signed but checked
 * against nothing else, so the reason can only be the signature.
 */
static void test_card__node_open_says_why_the_card_is_refused(void **state)
{
    fixture *fx = *state;
    char dir[4096], path[4200];
    size_t len;
    pg_node *node;

    testutil_path(dir, sizeof(dir), fx->root, "altered2");
    assert_pg_ok(pg_node_init(dir, TOWNSHIP, NAME));
    testutil_path(path, sizeof(path), dir, "card.json");
    char *json = (char *)read_all(path, &len);
    size_t vlen, off = value_span(json, "box_pk", &vlen);
    json[off + vlen - 1] = json[off + vlen - 1] == '0' ? '1' : '0';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(json, 1, len, f), len);
    fclose(f);

    assert_pg_fails(PG_ECORRUPT, pg_node_open(&node, dir));
    assert_message_has("card.json is damaged");
    assert_message_has("signature does not verify");
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_card__of_a_fresh_node_verifies_through_json),
        cmocka_unit_test(test_card__a_card_made_and_signed_by_hand_verifies),
        cmocka_unit_test(test_card__refuses_a_changed_hex_digit_of_any_key),
        cmocka_unit_test(test_card__refuses_a_changed_name),
        cmocka_unit_test(test_card__refuses_a_changed_code_tier_or_time),
        cmocka_unit_test(
            test_card__every_single_byte_change_is_refused_or_harmless),
        cmocka_unit_test(test_card__refuses_a_created_time_that_disagrees),
        cmocka_unit_test(test_card__refuses_json_garbage),
        cmocka_unit_test(test_card__refuses_a_card_with_a_member_missing),
        cmocka_unit_test(test_card__refuses_members_of_the_wrong_type),
        cmocka_unit_test(test_card__refuses_duplicate_members),
        cmocka_unit_test(test_card__refuses_an_unknown_suite),
        cmocka_unit_test(test_card__refuses_oversize_input),
        cmocka_unit_test(test_card__refuses_a_name_too_long_or_empty),
        cmocka_unit_test(
            test_card__key_files_are_private_and_stay_out_of_the_card),
        cmocka_unit_test(test_card__init_refuses_a_non_empty_directory),
        cmocka_unit_test(test_card__init_refuses_an_existing_node),
        cmocka_unit_test(test_card__init_refuses_bad_codes_and_names),
        cmocka_unit_test(test_card__node_open_refuses_an_altered_card),
        cmocka_unit_test(test_card__node_open_says_why_the_card_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
