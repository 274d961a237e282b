/*
 * Node certificates (pingan/cert.h, DESIGN §7).  A certificate is the
 * issuer's signature over the subject's identity and keys; it is stored
 * as a record of the system collection `node`, with the keys and the
 * signature as lower-case hex.
 */
#include "pingan/cert.h"
#include "pingan/buf.h"
#include "pingan/error.h"

#include <stdio.h>
#include <string.h>

static int cert_put_str(pg_buf *b, const char *s)
{
    int error = pg_buf_put_u32be(b, (uint32_t)strlen(s));
    return error ? error : pg_buf_puts(b, s);
}

static int cert_digest(uint8_t out[PG_HASH_LEN], const pg_cert *c)
{
    pg_buf msg = PG_BUF_INIT;
    int error = cert_put_str(&msg, "pingan.cert.v1");

    if (!error)
        error = pg_buf_putc(&msg, (uint8_t)c->subject.suite);
    if (!error)
        error = cert_put_str(&msg, c->subject.code);
    if (!error)
        error = cert_put_str(&msg, c->subject.name);
    if (!error)
        error = cert_put_str(&msg, pg_tier_name(c->subject.tier));
    if (!error)
        error = pg_buf_put(&msg, c->subject.sign_pk, PG_SIGN_PK_LEN);
    if (!error)
        error = pg_buf_put(&msg, c->subject.box_pk, PG_BOX_PK_LEN);
    if (!error)
        error = cert_put_str(&msg, c->issuer);
    if (!error)
        error = cert_put_str(&msg, c->issuer_key_id);
    if (!error)
        error = pg_buf_put_u64be(&msg, (uint64_t)c->valid_from);
    if (!error)
        error = pg_blake2b(out, PG_HASH_LEN, msg.data, msg.len);
    pg_buf_dispose(&msg);
    return error;
}

/* The issuer must sit strictly above the subject. */
static int cert_covers(const char *issuer, const char *subject)
{
    if (strcmp(issuer, subject) != 0 && pg_division_contains(issuer, subject))
        return 0;
    return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                        "%s may not certify %s: an issuer certifies only "
                        "codes strictly inside its own jurisdiction",
                        issuer, subject);
}

int pg_cert_issue(pg_cert *out, const pg_card *issuer,
                  const uint8_t sk[PG_SIGN_SK_LEN], const pg_card *subject,
                  int64_t valid_from)
{
    uint8_t digest[PG_HASH_LEN];
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(issuer);
    PG_ASSERT_ARG(subject);
    memset(out, 0, sizeof(*out));
    if ((error = cert_covers(issuer->code, subject->code)) < 0)
        return error;
    out->subject = *subject;
    memcpy(out->issuer, issuer->code, sizeof(out->issuer));
    memcpy(out->issuer_key_id, issuer->key_id, sizeof(out->issuer_key_id));
    out->valid_from = valid_from;
    if ((error = cert_digest(digest, out)) < 0)
        return error;
    pg_sign(out->signature, digest, sizeof(digest), sk);
    return 0;
}

int pg_cert_verify(const pg_cert *c, const uint8_t issuer_pk[PG_SIGN_PK_LEN])
{
    uint8_t digest[PG_HASH_LEN];
    char kid[PG_KEY_ID_LEN + 1];
    int error;

    PG_ASSERT_ARG(c);
    if (c->subject.suite != PG_SUITE_SODIUM || !c->subject.name[0] ||
        !pg_division_valid(c->subject.code) ||
        pg_division_tier(c->subject.code) != c->subject.tier ||
        !pg_division_valid(c->issuer))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "malformed certificate of %s", c->subject.code);
    pg_key_id(kid, c->subject.sign_pk);
    if (strcmp(kid, c->subject.key_id) != 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "certificate of %s names key id %s, but its key "
                            "has id %s",
                            c->subject.code, c->subject.key_id, kid);
    if ((error = cert_covers(c->issuer, c->subject.code)) < 0)
        return error;
    pg_key_id(kid, issuer_pk);
    if (strcmp(kid, c->issuer_key_id) != 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "certificate of %s was issued with key %s of "
                            "%s, but %s's key is %s",
                            c->subject.code, c->issuer_key_id, c->issuer,
                            c->issuer, kid);
    if ((error = cert_digest(digest, c)) < 0)
        return error;
    if (!pg_verify(c->signature, digest, sizeof(digest), issuer_pk))
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "the certificate of %s does not verify with the "
                            "key of its issuer %s",
                            c->subject.code, c->issuer);
    return 0;
}

static pg_value cert_text(const char *s)
{
    return (pg_value){.kind = PG_VALUE_TEXT, .s = s, .len = strlen(s)};
}

void pg_cert_to_fields(pg_field_value out[PG_CERT_FIELDS], pg_cert_text *text,
                       const pg_cert *c)
{
    pg_hex(text->sign_pk, c->subject.sign_pk, PG_SIGN_PK_LEN);
    pg_hex(text->box_pk, c->subject.box_pk, PG_BOX_PK_LEN);
    pg_hex(text->signature, c->signature, PG_SIG_LEN);
    out[0] = (pg_field_value){"division", cert_text(c->subject.code)};
    out[1] = (pg_field_value){"code", cert_text(c->subject.code)};
    out[2] = (pg_field_value){"name", cert_text(c->subject.name)};
    out[3] = (pg_field_value){"tier", cert_text(pg_tier_name(c->subject.tier))};
    out[4] = (pg_field_value){"sign_pk", cert_text(text->sign_pk)};
    out[5] = (pg_field_value){"box_pk", cert_text(text->box_pk)};
    out[6] = (pg_field_value){"key_id", cert_text(c->subject.key_id)};
    out[7] = (pg_field_value){
        "suite", {.kind = PG_VALUE_INT, .i = (int64_t)c->subject.suite}};
    out[8] = (pg_field_value){"issuer", cert_text(c->issuer)};
    out[9] = (pg_field_value){"issuer_key_id", cert_text(c->issuer_key_id)};
    out[10] = (pg_field_value){"valid_from",
                               {.kind = PG_VALUE_INT, .i = c->valid_from}};
    out[11] = (pg_field_value){"certificate_sig", cert_text(text->signature)};
}

static bool cert_copy(char *out, size_t outlen, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!s || n == 0 || n >= outlen)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

int pg_cert_from_row(pg_cert *out, const pg_cert_row *r)
{
    memset(out, 0, sizeof(*out));
    out->subject.suite = (unsigned)r->suite;
    out->subject.created_ms = r->valid_from;
    out->valid_from = r->valid_from;
    if (r->suite != PG_SUITE_SODIUM ||
        !cert_copy(out->subject.code, sizeof(out->subject.code), r->code) ||
        !cert_copy(out->subject.name, sizeof(out->subject.name), r->name) ||
        !r->tier ||
        (out->subject.tier = pg_tier_from_name(r->tier)) == PG_TIER_NONE ||
        !r->sign_pk ||
        pg_unhex(out->subject.sign_pk, PG_SIGN_PK_LEN, r->sign_pk) < 0 ||
        !r->box_pk ||
        pg_unhex(out->subject.box_pk, PG_BOX_PK_LEN, r->box_pk) < 0 ||
        !cert_copy(out->subject.key_id, sizeof(out->subject.key_id),
                   r->key_id) ||
        !cert_copy(out->issuer, sizeof(out->issuer), r->issuer) ||
        !cert_copy(out->issuer_key_id, sizeof(out->issuer_key_id),
                   r->issuer_key_id) ||
        !r->signature ||
        pg_unhex(out->signature, PG_SIG_LEN, r->signature) < 0) {
        pg_error_clear();
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "malformed certificate of %s",
                            r->code ? r->code : "?");
    }
    return 0;
}
