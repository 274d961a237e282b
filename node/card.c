/*
 * Cards: a node's self-signed public identity, exchanged by administrators
 * (on paper, USB or mail) before any link exists.  JSON so that a person
 * can read what they are about to pin:
 *
 *   {"pingan_card": 1, "suite": 1, "code": "430302000000", "name": "雨湖区",
 *    "tier": "county", "sign_pk": hex, "box_pk": hex, "key_id": hex16,
 *    "created": "2026-11-26T10:00:00+08:00", "created_ms": int,
 *    "signature": hex}
 *
 * The signature covers, in the encoding of DESIGN §3:
 *   str("pingan.card.v1") ‖ u8 suite ‖ str(code) ‖ str(name) ‖ str(tier)
 *   ‖ sign_pk[32] ‖ box_pk[32] ‖ u64 created_ms
 * key_id and "created" are derived from signed fields and must match them.
 */
#include "pingan/node.h"
#include "pingan/buf.h"
#include "memwatch.h"
#include "pingan/error.h"
#include "pingan/value.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CARD_MAX_BYTES 8192

static int card_message(pg_buf *msg, const pg_card *card)
{
    const char *tier = pg_tier_name(card->tier);
    int error = 0;

#define PUT_STR(s)                                                             \
    if (!error)                                                                \
        error = pg_buf_put_u32be(msg, (uint32_t)strlen(s));                    \
    if (!error)                                                                \
    error = pg_buf_puts(msg, s)
    PUT_STR("pingan.card.v1");
    if (!error)
        error = pg_buf_putc(msg, (uint8_t)card->suite);
    PUT_STR(card->code);
    PUT_STR(card->name);
    PUT_STR(tier);
#undef PUT_STR
    if (!error)
        error = pg_buf_put(msg, card->sign_pk, PG_SIGN_PK_LEN);
    if (!error)
        error = pg_buf_put(msg, card->box_pk, PG_BOX_PK_LEN);
    if (!error)
        error = pg_buf_put_u64be(msg, (uint64_t)card->created_ms);
    return error;
}

void pg_card_sign(pg_card *card, const uint8_t sk[PG_SIGN_SK_LEN])
{
    pg_buf msg = PG_BUF_INIT;
    if (card_message(&msg, card) == 0)
        pg_sign(card->signature, msg.data, msg.len, sk);
    pg_buf_dispose(&msg);
}

char *pg_card_to_json(const pg_card *card)
{
    char sign_pk[2 * PG_SIGN_PK_LEN + 1], box_pk[2 * PG_BOX_PK_LEN + 1];
    char sig[2 * PG_SIG_LEN + 1], created[40];
    char *text = NULL, *out = NULL;

    pg_hex(sign_pk, card->sign_pk, PG_SIGN_PK_LEN);
    pg_hex(box_pk, card->box_pk, PG_BOX_PK_LEN);
    pg_hex(sig, card->signature, PG_SIG_LEN);
    pg_time_format(created, card->created_ms);
    json_t *o = json_pack(
        "{s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
        "pingan_card", 1, "suite", (int)card->suite, "code", card->code, "name",
        card->name, "tier", pg_tier_name(card->tier), "sign_pk", sign_pk,
        "box_pk", box_pk, "key_id", card->key_id, "created", created,
        "created_ms", (json_int_t)card->created_ms, "signature", sig);
    if (o)
        text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text) {
        size_t n = strlen(text);
        out = malloc(n + 2);
        if (out) {
            memcpy(out, text, n);
            out[n] = '\n';
            out[n + 1] = 0;
        }
        free(text);
    }
    return out;
}

static int card_bad(const char *what)
{
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE, "not a valid card: %s",
                        what);
}

static int hex_field(uint8_t *out, size_t len, json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || pg_unhex(out, len, s) < 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "not a valid card: '%s' must be %zu hex digits",
                            key, 2 * len);
    return 0;
}

int pg_card_verify(pg_card *card)
{
    pg_buf msg = PG_BUF_INIT;
    int error;

    if (card->suite != PG_SUITE_SODIUM)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "card uses crypto suite %u, which this build "
                            "does not know",
                            card->suite);
    if (!pg_division_valid(card->code) ||
        card->tier != pg_division_tier(card->code) || !card->name[0] ||
        !pg_label_valid(card->name, strlen(card->name)))
        return card_bad("code, tier or name is malformed");
    pg_key_id(card->key_id, card->sign_pk);
    if ((error = card_message(&msg, card)) == 0 &&
        !pg_verify(card->signature, msg.data, msg.len, card->sign_pk))
        error = pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                             "card signature does not verify: the card was "
                             "altered or damaged");
    pg_buf_dispose(&msg);
    return error;
}

int pg_card_from_json(pg_card *out, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *o = NULL;
    int error = 0;

    memset(out, 0, sizeof(*out));
    if (len > CARD_MAX_BYTES)
        return card_bad("larger than 8 KiB");
    pg_memwatch__begin();
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        error = pg_memwatch__failed()
                    ? pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                   "reading a card: out of memory")
                    : pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                                   "not a valid card: line %d: %s", jerr.line,
                                   jerr.text);
        goto done;
    }
    if (!json_is_object(o)) {
        error = card_bad("not a JSON object");
        goto done;
    }
    if (json_integer_value(json_object_get(o, "pingan_card")) != 1) {
        error = card_bad("missing \"pingan_card\": 1");
        goto done;
    }
    json_int_t suite = json_integer_value(json_object_get(o, "suite"));
    if (suite != PG_SUITE_SODIUM) {
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                             "card uses crypto suite %lld, which this build "
                             "does not know",
                             (long long)suite);
        goto done;
    }
    out->suite = (unsigned)suite;
    const char *code = json_string_value(json_object_get(o, "code"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *tier = json_string_value(json_object_get(o, "tier"));
    const char *key_id = json_string_value(json_object_get(o, "key_id"));
    json_t *created = json_object_get(o, "created_ms");
    if (!code || strlen(code) != PG_CODE_LEN || !pg_division_valid(code)) {
        error = card_bad("'code' is not a 12-digit division code");
        goto done;
    }
    if (!name || !name[0] || strlen(name) >= sizeof(out->name) ||
        !pg_label_valid(name, strlen(name))) {
        error = card_bad("'name' missing, too long, not UTF-8 or has "
                         "control characters");
        goto done;
    }
    if (!tier || pg_tier_from_name(tier) != pg_division_tier(code)) {
        error = card_bad("'tier' does not match the code");
        goto done;
    }
    if (!json_is_integer(created)) {
        error = card_bad("'created_ms' missing");
        goto done;
    }
    memcpy(out->code, code, PG_CODE_LEN + 1);
    memcpy(out->name, name, strlen(name) + 1);
    out->tier = pg_division_tier(code);
    out->created_ms = json_integer_value(created);
    if ((error = hex_field(out->sign_pk, PG_SIGN_PK_LEN, o, "sign_pk")) < 0 ||
        (error = hex_field(out->box_pk, PG_BOX_PK_LEN, o, "box_pk")) < 0 ||
        (error = hex_field(out->signature, PG_SIG_LEN, o, "signature")) < 0)
        goto done;
    pg_key_id(out->key_id, out->sign_pk);
    if (!key_id || strcmp(key_id, out->key_id) != 0) {
        error = pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                             "card's key id does not match its public key");
        goto done;
    }
    if ((error = pg_card_verify(out)) < 0)
        goto done;
    /* "created" is what a person reads: it must say what is signed. */
    const char *created_text = json_string_value(json_object_get(o, "created"));
    char expect[40];
    pg_time_format(expect, json_integer_value(created));
    if (!created_text || strcmp(created_text, expect) != 0) {
        error = card_bad("'created' does not match 'created_ms'");
        goto done;
    }

done:
    /* A value jansson could not allocate reads as a missing one. */
    if (error < 0 && error != PG_ENOMEM && pg_memwatch__failed())
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                             "reading a card: out of memory");
    json_decref(o);
    return error;
}
