/*
 * Link policies (DESIGN §6, Art. 41): defaults by link, policy files,
 * the effective policy, its hash and description, and partner pseudonym
 * keys.  The rules are documented in include/pingan/policy.h; this file
 * says how they are applied and why.
 *
 * Representation.  A policy holds, for every collection of the current
 * schema, whether the link carries it, an optional record condition, and
 * one transform per field.  It starts as the link's default and a file is
 * applied on top, line by line, each line checked against the rules of
 * the link the moment it is read, so that an error names its line.
 * Lookups are by name, so collections of older schema views (which are
 * copies) find their entry.
 *
 * Parsing.  inih does the INI syntax.  We feed it through
 * ini_parse_stream with our own line reader instead of ini_parse_string
 * because the reader knows which line inih is on: inih's handler is not
 * told the line, and inih only reports the line of the first error.  The
 * reader also refuses what inih would accept silently and wrongly for a
 * policy: a line too long for inih's buffer (inih would cut it), an
 * indented line (inih would append it to the previous value), NUL bytes
 * and invalid UTF-8.  And it tells us where sections start, which inih
 * does not (a collection named by an empty section is still carried).
 * The first error stops the reading; its line and message are kept.  If
 * inih reports an earlier line, that line is a syntax error of its own.
 *
 * Hash.  BLAKE2b-256 over this encoding of the effective rules (u32
 * big-endian; str(x) = u32 byte length ‖ UTF-8 bytes):
 *
 *     policy     = str("pingan.policy.v1") ‖ u32 key_source
 *                  ‖ u32 ncarried ‖ collection …        (schema order)
 *     key_source = 0 no pseudonym key (parent, child), 1 derived from
 *                  the two cities' keys, 2 a key file
 *     collection = str(name) ‖ u32 has_where (0|1)
 *                  [‖ str(field) ‖ value (pg_value_encode)]
 *                  ‖ u32 nfields ‖ (str(field) ‖ u32 transform) …
 *
 * The id, purpose, comments, order of lines and the key file's path are
 * not hashed: the same rules give the same hash.
 */
#include "pingan/policy.h"
#include "error_internal.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/crypto.h"
#include "pingan/error.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_ID_MAX      64
#define POLICY_PURPOSE_MAX 256
#define POLICY_SOURCE_MAX  256

typedef struct policy_coll {
    const pg_collection *coll; /* of the policy's schema */
    bool carried;
    bool named;          /* a section of the file */
    unsigned line;       /* of the section */
    bool carry_set;      /* `carry` given */
    unsigned where_line; /* 0: no `where` */
    const pg_field *where_field;
    pg_value where_value;
    char *where_text; /* owned text of where_value, or NULL */
    pg_transform *xf; /* [coll->nfields] */
    bool *xf_set;     /* [coll->nfields]: given by the file */
} policy_coll;

struct pg_policy {
    char id[POLICY_ID_MAX + 1];
    char source[POLICY_SOURCE_MAX];
    char purpose[POLICY_PURPOSE_MAX + 1];
    char key_file[PG_PEER_PATH_MAX + 1];
    char key_id[PG_PSEUDONYM_KEY_ID_LEN + 1]; /* "" until loaded */
    bool from_file;
    pg_peer_role role;
    char peer_code[PG_CODE_LEN + 1];
    char peer_name[256];
    pg_tier peer_tier;
    char self_code[PG_CODE_LEN + 1];
    uint8_t hash[PG_HASH_LEN];
    size_t ncolls;
    policy_coll *colls;
};

/* ---- defaults ------------------------------------------------------------
 */

/* "sensitive never above the county": tiers grow downward. */
static bool policy_above_county(pg_tier tier)
{
    return tier < PG_TIER_COUNTY;
}

static bool policy_fixed_field(const pg_collection *coll, const pg_field *f)
{
    return f == &coll->fields[0] || strcmp(f->name, "division") == 0 ||
           strcmp(f->name, "_deleted") == 0;
}

static pg_transform policy_default_xf(const pg_policy *p,
                                      const pg_collection *coll,
                                      const pg_field *f)
{
    if (policy_fixed_field(coll, f))
        return PG_XF_KEEP;
    switch (p->role) {
    case PG_PEER_PARENT:
        return f->privacy == PG_PRIVACY_SENSITIVE &&
                       policy_above_county(p->peer_tier)
                   ? PG_XF_DROP
                   : PG_XF_KEEP;
    case PG_PEER_CHILD:
        return PG_XF_KEEP;
    case PG_PEER_PARTNER:
        switch (f->privacy) {
        case PG_PRIVACY_PUBLIC:
        case PG_PRIVACY_INTERNAL:
            return PG_XF_KEEP;
        case PG_PRIVACY_PERSONAL:
            if (f->type == PG_TYPE_NAME)
                return PG_XF_MASK;
            if (f->type == PG_TYPE_ADDRESS)
                return PG_XF_GENERALIZE;
            return PG_XF_DROP;
        default:
            return PG_XF_DROP;
        }
    default:
        return PG_XF_DROP;
    }
}

static void policy_colls_free(pg_policy *p)
{
    for (size_t i = 0; p->colls && i < p->ncolls; i++) {
        free(p->colls[i].xf);
        free(p->colls[i].xf_set);
        free(p->colls[i].where_text);
    }
    free(p->colls);
}

void pg_policy_free(pg_policy *p)
{
    if (!p)
        return;
    policy_colls_free(p);
    free(p);
}

static int policy_nomem(void)
{
    return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
}

static void policy_copy(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", s ? s : "");
}

/* A policy with the defaults of its link, before any file. */
static int policy_new(pg_policy **out, const pg_card *self, const pg_peer *peer,
                      const pg_schema *schema)
{
    pg_policy *p;

    *out = NULL;
    if (peer->role != PG_PEER_PARENT && peer->role != PG_PEER_CHILD &&
        peer->role != PG_PEER_PARTNER)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "peer %s has no role (parent, child or "
                            "partner); a link policy needs one",
                            peer->code);
    if (!(p = calloc(1, sizeof(*p))))
        return policy_nomem();
    p->role = peer->role;
    p->peer_tier = peer->tier;
    policy_copy(p->peer_code, sizeof(p->peer_code), peer->code);
    policy_copy(p->peer_name, sizeof(p->peer_name), peer->name);
    policy_copy(p->self_code, sizeof(p->self_code), self->code);
    snprintf(p->id, sizeof(p->id), "default-%s", pg_peer_role_name(p->role));
    policy_copy(p->source, sizeof(p->source), "built-in default");
    p->ncolls = schema->ncollections;
    if (!(p->colls = calloc(p->ncolls, sizeof(*p->colls)))) {
        free(p);
        return policy_nomem();
    }
    for (size_t i = 0; i < p->ncolls; i++) {
        policy_coll *pc = &p->colls[i];
        const pg_collection *c = schema->collections[i];
        pc->coll = c;
        pc->xf = calloc(c->nfields ? c->nfields : 1, sizeof(*pc->xf));
        pc->xf_set = calloc(c->nfields ? c->nfields : 1, sizeof(*pc->xf_set));
        if (!pc->xf || !pc->xf_set) {
            pg_policy_free(p);
            return policy_nomem();
        }
        for (size_t j = 0; j < c->nfields; j++)
            pc->xf[j] = policy_default_xf(p, c, &c->fields[j]);
        if (c->system)
            pc->carried = false;
        else if (p->role != PG_PEER_PARTNER)
            pc->carried = true;
    }
    *out = p;
    return 0;
}

static policy_coll *policy_find(const pg_policy *p, const pg_collection *coll)
{
    for (size_t i = 0; i < p->ncolls; i++) {
        if (p->colls[i].coll == coll)
            return &p->colls[i];
    }
    for (size_t i = 0; i < p->ncolls; i++) {
        if (strcmp(p->colls[i].coll->name, coll->name) == 0)
            return &p->colls[i];
    }
    return NULL;
}

static policy_coll *policy_find_name(const pg_policy *p, const char *name)
{
    for (size_t i = 0; i < p->ncolls; i++) {
        if (strcmp(p->colls[i].coll->name, name) == 0)
            return &p->colls[i];
    }
    return NULL;
}

/* Set a record condition from its field and text form. */
static int policy_set_where(policy_coll *pc, const pg_field *f,
                            const char *text)
{
    char *norm = NULL;
    int error = pg_value_parse(&pc->where_value, &norm, f, text);
    if (error < 0)
        return error;
    free(pc->where_text);
    pc->where_text = norm;
    pc->where_field = f;
    return 0;
}

/* The built-in Art. 8 agreement: fraud alerts, and disputes marked for
 * cross-city mediation (联调). */
static int policy_partner_defaults(pg_policy *p)
{
    policy_coll *fraud = policy_find_name(p, "fraud_alert");
    policy_coll *dispute = policy_find_name(p, "dispute");
    const pg_field *cross =
        dispute ? pg_collection_field(dispute->coll, "cross_region", NULL)
                : NULL;

    /* The schema is compiled in: these exist and are partner_allowed. */
    assert(fraud && dispute && cross);
    assert(fraud->coll->partner_allowed && dispute->coll->partner_allowed);
    fraud->carried = true;
    dispute->carried = true;
    int error = policy_set_where(dispute, cross, "true");
    /* Schema v2: a dispute's parties go with it, on the same condition. */
    policy_coll *party = policy_find_name(p, "dispute_party");
    const pg_field *pcross =
        party ? pg_collection_field(party->coll, "cross_region", NULL) : NULL;
    if (error == 0 && party && pcross) {
        party->carried = true;
        error = policy_set_where(party, pcross, "true");
    }
    return error;
}

/* ---- hash ------------------------------------------------------------- */

static int policy_put_str(pg_buf *b, const char *s)
{
    size_t n = strlen(s);
    int error = pg_buf_put_u32be(b, (uint32_t)n);
    return error ? error : pg_buf_put(b, s, n);
}

static int policy_compute_hash(pg_policy *p)
{
    pg_buf b = PG_BUF_INIT;
    uint32_t ncarried = 0;
    int error;

    for (size_t i = 0; i < p->ncolls; i++)
        ncarried += p->colls[i].carried;
    uint32_t key_source = p->role != PG_PEER_PARTNER ? 0
                          : p->key_file[0]           ? 2
                                                     : 1;
    if ((error = policy_put_str(&b, "pingan.policy.v1")) < 0 ||
        (error = pg_buf_put_u32be(&b, key_source)) < 0 ||
        (error = pg_buf_put_u32be(&b, ncarried)) < 0)
        goto done;
    for (size_t i = 0; i < p->ncolls; i++) {
        const policy_coll *pc = &p->colls[i];
        if (!pc->carried)
            continue;
        if ((error = policy_put_str(&b, pc->coll->name)) < 0 ||
            (error = pg_buf_put_u32be(&b, pc->where_field ? 1 : 0)) < 0)
            goto done;
        if (pc->where_field &&
            ((error = policy_put_str(&b, pc->where_field->name)) < 0 ||
             (error = pg_value_encode(&b, &pc->where_value)) < 0))
            goto done;
        if ((error = pg_buf_put_u32be(&b, (uint32_t)pc->coll->nfields)) < 0)
            goto done;
        for (size_t j = 0; j < pc->coll->nfields; j++) {
            if ((error = policy_put_str(&b, pc->coll->fields[j].name)) < 0 ||
                (error = pg_buf_put_u32be(&b, (uint32_t)pc->xf[j])) < 0)
                goto done;
        }
    }
    error = pg_blake2b(p->hash, sizeof(p->hash), b.data, b.len);

done:
    pg_buf_dispose(&b);
    return error;
}

static int policy_default_at(pg_policy **out, const pg_card *self,
                             const pg_peer *peer, const pg_schema *schema)
{
    pg_policy *p = NULL;
    int error;

    *out = NULL;
    if ((error = policy_new(&p, self, peer, schema)) < 0)
        return error;
    if (p->role == PG_PEER_PARTNER && (error = policy_partner_defaults(p)) < 0)
        goto done;
    error = policy_compute_hash(p);

done:
    if (error < 0)
        pg_policy_free(p);
    else
        *out = p;
    return error;
}

int pg_policy_default(pg_policy **out, const pg_card *self, const pg_peer *peer)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(self);
    PG_ASSERT_ARG(peer);
    return policy_default_at(out, self, peer, pg_schema_current());
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct policy_parse {
    pg_policy *p;
    const char *source;
    const char *text;
    size_t len, pos;
    unsigned line; /* the line inih is on (the last one read) */
    int error;
    unsigned error_line;
    pg_error__text msg; /* the first error, "SOURCE:LINE: ..." */
    /* The current section: "" before the first, as inih has it. */
    char section[64];
    policy_coll *coll; /* the current section's collection, or NULL */
    unsigned agreement_line;
    bool id_set, purpose_set, key_file_set;
} policy_parse;

/* a then b into out, cut to fit (a whole character kept by the caller's
 * pg_error__clean_text). */
static void policy_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strnlen(a, cap - 1);
    size_t lb = strnlen(b, cap - 1 - la);
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    out[la + lb] = 0;
}

/* Record the first error, at the current line (0: none). */
static int policy_record(policy_parse *ps, int code, const pg_error__text *what)
{
    if (ps->error)
        return ps->error;
    ps->error = code;
    ps->error_line = ps->line;
    /* The place is no words: the same in every language. */
    char at[300];
    if (ps->line)
        snprintf(at, sizeof(at), "%s:%u: ", ps->source, ps->line);
    else
        snprintf(at, sizeof(at), "%s: ", ps->source);
    policy_join(ps->msg.en, sizeof(ps->msg.en), at, what->en);
    policy_join(ps->msg.loc, sizeof(ps->msg.loc), at, what->loc);
    pg_error__clean_text(ps->msg.en, true);
    pg_error__clean_text(ps->msg.loc, true);
    return code;
}

__attribute__((format(printf, 3, 4))) static int
policy_fail(policy_parse *ps, int code, const char *fmt, ...)
{
    va_list ap;
    pg_error__text what;

    if (ps->error)
        return ps->error;
    va_start(ap, fmt);
    pg_error__vtextf(&what, fmt, ap);
    va_end(ap);
    return policy_record(ps, code, &what);
}

/* A key that would hold a secret: refused, secrets are named by file. */
static bool policy_secret_name(const char *name)
{
    static const char *const words[] = {"key",    "secret", "password",
                                        "passwd", "token",  "private"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strstr(name, words[i]))
            return true;
    }
    return false;
}

static int policy_refuse_secret(policy_parse *ps, const char *name)
{
    char ex[PG_EXCERPT_SIZE];
    return policy_fail(ps, PG_EINVALID,
                       "'%s' would write a secret into the policy; secrets "
                       "are never written in a policy file: put the key in "
                       "a file only this node's account can read (chmod "
                       "600) and name it with pseudonym_key_file = PATH",
                       pg_excerpt(ex, name, strlen(name)));
}

static bool policy_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > POLICY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int policy_agreement_key(policy_parse *ps, const char *name,
                                const char *value)
{
    pg_policy *p = ps->p;
    char ex[PG_EXCERPT_SIZE];
    size_t n = strlen(value);

    if (strcmp(name, "id") == 0) {
        if (ps->id_set)
            return policy_fail(ps, PG_EINVALID, "id given twice");
        ps->id_set = true;
        if (!policy_id_valid(value))
            return policy_fail(ps, PG_EINVALID,
                               "id '%s' must be 1 to %d letters, digits, "
                               "'.', '_' or '-'",
                               pg_excerpt(ex, value, n), POLICY_ID_MAX);
        if (strncmp(value, "default-", 8) == 0)
            return policy_fail(ps, PG_EINVALID,
                               "id '%s': ids starting with 'default-' name "
                               "the built-in defaults; choose another",
                               value);
        policy_copy(p->id, sizeof(p->id), value);
        return 0;
    }
    if (strcmp(name, "purpose") == 0) {
        if (ps->purpose_set)
            return policy_fail(ps, PG_EINVALID, "purpose given twice");
        ps->purpose_set = true;
        if (n == 0 || n > POLICY_PURPOSE_MAX || !pg_label_valid(value, n))
            return policy_fail(ps, PG_EINVALID,
                               "purpose must be 1 to %d bytes of text on one "
                               "line",
                               POLICY_PURPOSE_MAX);
        policy_copy(p->purpose, sizeof(p->purpose), value);
        return 0;
    }
    if (strcmp(name, "pseudonym_key_file") == 0) {
        if (ps->key_file_set)
            return policy_fail(ps, PG_EINVALID,
                               "pseudonym_key_file given twice");
        ps->key_file_set = true;
        if (p->role != PG_PEER_PARTNER)
            return policy_fail(ps, PG_EPOLICY,
                               "pseudonym_key_file belongs to a partner "
                               "agreement; a %s link has no pseudonyms",
                               pg_peer_role_name(p->role));
        if (value[0] != '/' || n > PG_PEER_PATH_MAX ||
            !pg_label_valid(value, n))
            return policy_fail(ps, PG_EINVALID,
                               "pseudonym_key_file '%s' must be an absolute "
                               "path",
                               pg_excerpt(ex, value, n));
        policy_copy(p->key_file, sizeof(p->key_file), value);
        return 0;
    }
    if (policy_secret_name(name))
        return policy_refuse_secret(ps, name);
    return policy_fail(ps, PG_EINVALID,
                       "unknown key '%s' in [agreement]; it holds id, "
                       "purpose and pseudonym_key_file",
                       pg_excerpt(ex, name, strlen(name)));
}

/* Strength for "tighten": keep < mask = generalize < hash < drop. */
static int policy_strength(pg_transform t)
{
    switch (t) {
    case PG_XF_KEEP:
        return 0;
    case PG_XF_MASK:
    case PG_XF_GENERALIZE:
        return 1;
    case PG_XF_HASH:
        return 2;
    default:
        return 3;
    }
}

static int policy_field_key(policy_parse *ps, policy_coll *pc,
                            const pg_field *f, size_t idx, const char *value)
{
    const pg_policy *p = ps->p;
    const char *cname = pc->coll->name;
    char ex[PG_EXCERPT_SIZE];
    pg_transform t;

    if (policy_fixed_field(pc->coll, f))
        return policy_fail(ps, PG_EINVALID,
                           "%s.%s cannot be redacted: every link keeps a "
                           "record's division and deletions",
                           cname, f->name);
    if (pc->xf_set[idx])
        return policy_fail(ps, PG_EINVALID, "%s.%s given twice", cname,
                           f->name);
    pc->xf_set[idx] = true;
    if (pg_transform_from_name(&t, value) < 0)
        return policy_fail(ps, PG_EINVALID,
                           "%s.%s: unknown transform '%s'; use keep, drop, "
                           "mask, hash or generalize",
                           cname, f->name,
                           pg_excerpt(ex, value, strlen(value)));
    if (!pg_transform_fits(t, f->type))
        return policy_fail(ps, PG_EINVALID,
                           "%s.%s: %s does not apply to a %s field (mask: "
                           "name, phone, id_number; hash: those and text; "
                           "generalize: time, address)",
                           cname, f->name, pg_transform_name(t),
                           pg_type_name(f->type));
    if (p->role == PG_PEER_PARTNER) {
        if (f->privacy == PG_PRIVACY_SENSITIVE && t != PG_XF_DROP)
            return policy_fail(ps, PG_EPOLICY,
                               "%s.%s is sensitive (PIPL Art. 28) and is "
                               "never sent to a partner city; write drop or "
                               "remove the line",
                               cname, f->name);
        /* DOMAIN §4.6: no ID number crosses a city line, only its
         * pseudonym; a mask would still show region and birth date. */
        if (f->type == PG_TYPE_ID_NUMBER && t != PG_XF_DROP && t != PG_XF_HASH)
            return policy_fail(ps, PG_EPOLICY,
                               "%s.%s: an ID number goes to a partner city "
                               "only as a pseudonym; write hash or drop",
                               cname, f->name);
    } else {
        pg_transform def = policy_default_xf(p, pc->coll, f);
        if (t == PG_XF_HASH)
            return policy_fail(ps, PG_EPOLICY,
                               "%s.%s: hash needs a pseudonym key, which "
                               "only partner links have; use mask or drop",
                               cname, f->name);
        if (p->role == PG_PEER_PARENT && f->privacy == PG_PRIVACY_SENSITIVE &&
            policy_above_county(p->peer_tier) && t != PG_XF_DROP)
            return policy_fail(ps, PG_EPOLICY,
                               "%s.%s is sensitive and never goes above the "
                               "county; the parent %s is a %s: write drop or "
                               "remove the line",
                               cname, f->name, p->peer_code,
                               pg_tier_name(p->peer_tier));
        if (t != def && policy_strength(t) <= policy_strength(def))
            return policy_fail(ps, PG_EPOLICY,
                               "%s.%s = %s would loosen the %s link's "
                               "default (%s); a policy may only tighten it "
                               "(keep < mask = generalize < drop)",
                               cname, f->name, pg_transform_name(t),
                               pg_peer_role_name(p->role),
                               pg_transform_name(def));
    }
    pc->xf[idx] = t;
    return 0;
}

static void policy_trim(const char **s, size_t *n)
{
    while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static int policy_where(policy_parse *ps, policy_coll *pc, const char *value)
{
    const char *eq = strchr(value, '=');
    const char *name = value, *v = eq ? eq + 1 : NULL;
    size_t nlen = eq ? (size_t)(eq - value) : strlen(value);
    size_t vlen = v ? strlen(v) : 0;
    char fname[64], vtext[256];
    char ex[PG_EXCERPT_SIZE];
    const pg_field *f;
    int error;

    if (pc->where_line)
        return policy_fail(ps, PG_EINVALID,
                           "where given twice in [%s] (one condition per "
                           "collection)",
                           pc->coll->name);
    pc->where_line = ps->line;
    policy_trim(&name, &nlen);
    if (v)
        policy_trim(&v, &vlen);
    if (!eq || nlen == 0 || vlen == 0)
        return policy_fail(ps, PG_EINVALID,
                           "where needs FIELD = VALUE, e.g. where = "
                           "cross_region = true");
    if (nlen >= sizeof(fname) || vlen >= sizeof(vtext))
        return policy_fail(ps, PG_EINVALID, "where '%s' is too long",
                           pg_excerpt(ex, value, strlen(value)));
    memcpy(fname, name, nlen);
    fname[nlen] = 0;
    memcpy(vtext, v, vlen);
    vtext[vlen] = 0;
    f = pg_collection_field(pc->coll, fname, NULL);
    if (!f || strcmp(f->name, "_deleted") == 0)
        return policy_fail(ps, PG_EINVALID,
                           "where: %s has no field '%s' ('pingan schema %s' "
                           "lists them)",
                           pc->coll->name, pg_excerpt(ex, fname, nlen),
                           pc->coll->name);
    if (f->type != PG_TYPE_BOOL && f->type != PG_TYPE_ENUM &&
        f->type != PG_TYPE_TEXT && f->type != PG_TYPE_DIVISION)
        return policy_fail(ps, PG_EINVALID,
                           "where: %s.%s is a %s field; a condition tests a "
                           "bool, enum, text or division field",
                           pc->coll->name, f->name, pg_type_name(f->type));
    if (ps->p->role == PG_PEER_PARTNER && f->privacy == PG_PRIVACY_SENSITIVE)
        return policy_fail(ps, PG_EPOLICY,
                           "where: %s.%s is sensitive; a partner link may "
                           "not select records by it",
                           pc->coll->name, f->name);
    if ((error = policy_set_where(pc, f, vtext)) < 0) {
        /* "where" is the key's name, in no language. */
        pg_error__text inner, what;
        pg_error__text_last(&inner);
        pg_error_clear();
        policy_join(what.en, sizeof(what.en), "where: ", inner.en);
        policy_join(what.loc, sizeof(what.loc), "where: ", inner.loc);
        return policy_record(ps, PG_EINVALID, &what);
    }
    return 0;
}

static int policy_collection_key(policy_parse *ps, policy_coll *pc,
                                 const char *name, const char *value)
{
    char ex[PG_EXCERPT_SIZE];
    size_t idx;

    if (strcmp(name, "carry") == 0) {
        if (pc->carry_set)
            return policy_fail(ps, PG_EINVALID, "carry given twice in [%s]",
                               pc->coll->name);
        pc->carry_set = true;
        if (strcmp(value, "yes") == 0)
            pc->carried = true;
        else if (strcmp(value, "no") == 0)
            pc->carried = false;
        else
            return policy_fail(ps, PG_EINVALID, "carry = '%s': write yes or no",
                               pg_excerpt(ex, value, strlen(value)));
        return 0;
    }
    if (strcmp(name, "where") == 0)
        return policy_where(ps, pc, value);
    const pg_field *f = pg_collection_field(pc->coll, name, &idx);
    if (f && idx < pc->coll->nfields)
        return policy_field_key(ps, pc, f, idx, value);
    if (f) /* _deleted */
        return policy_field_key(ps, pc, f, 0, value);
    if (policy_secret_name(name))
        return policy_refuse_secret(ps, name);
    return policy_fail(ps, PG_EINVALID,
                       "%s has no field '%s' ('pingan schema %s' lists "
                       "them; a section also takes carry and where)",
                       pc->coll->name, pg_excerpt(ex, name, strlen(name)),
                       pc->coll->name);
}

/* A section header, seen by the reader before inih reads it. */
static void policy_section(policy_parse *ps, const char *name, size_t n)
{
    const pg_policy *p = ps->p;
    char ex[PG_EXCERPT_SIZE];
    char cname[64];

    ps->coll = NULL;
    if (n >= sizeof(ps->section)) {
        policy_fail(ps, PG_EINVALID, "unknown section [%s]",
                    pg_excerpt(ex, name, n));
        return;
    }
    memcpy(ps->section, name, n);
    ps->section[n] = 0;
    if (strcmp(ps->section, "agreement") == 0) {
        if (ps->agreement_line)
            policy_fail(ps, PG_EINVALID,
                        "[agreement] appears twice (first at line %u)",
                        ps->agreement_line);
        ps->agreement_line = ps->line;
        return;
    }
    policy_copy(cname, sizeof(cname), ps->section);
    policy_coll *pc = policy_find_name(p, cname);
    if (!pc) {
        policy_fail(ps, PG_EINVALID,
                    "unknown section [%s]; a section is [agreement] or a "
                    "collection ('pingan schema' lists them)",
                    pg_excerpt(ex, name, n));
        return;
    }
    if (pc->coll->system) {
        policy_fail(ps, PG_EPOLICY,
                    "[%s] is a system collection: pingan carries it itself",
                    cname);
        return;
    }
    if (p->role == PG_PEER_PARTNER && !pc->coll->partner_allowed) {
        policy_fail(ps, PG_EPOLICY,
                    "[%s]: %s records are never shared with a partner city "
                    "(DESIGN §2); remove the section",
                    cname, cname);
        return;
    }
    if (pc->named) {
        policy_fail(ps, PG_EINVALID, "[%s] appears twice (first at line %u)",
                    cname, pc->line);
        return;
    }
    pc->named = true;
    pc->line = ps->line;
    if (p->role == PG_PEER_PARTNER)
        pc->carried = true; /* the agreement names it */
    ps->coll = pc;
}

static bool policy_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* inih's line reader: one line at a time, checked first (see the top). */
static char *policy_reader(char *str, int num, void *stream)
{
    policy_parse *ps = stream;

    if (ps->error || ps->pos >= ps->len)
        return NULL;
    const char *s = ps->text + ps->pos;
    size_t rest = ps->len - ps->pos;
    const char *nl = memchr(s, '\n', rest);
    size_t n = nl ? (size_t)(nl - s) : rest;
    ps->pos += nl ? n + 1 : n;
    ps->line++;

    const char *l = s;
    size_t ln = n;
    if (ps->line == 1 && ln >= 3 && memcmp(l, "\xef\xbb\xbf", 3) == 0) {
        l += 3;
        ln -= 3;
    }
    if (!pg_utf8_valid(l, ln)) {
        policy_fail(ps, PG_EINVALID, "not valid UTF-8 text (or a NUL byte)");
        return NULL;
    }
    /* The line, its newline and inih's NUL must fit inih's buffer. */
    if (num < 3 || n > (size_t)num - 3) {
        policy_fail(ps, PG_EINVALID, "line longer than %d bytes",
                    num < 3 ? 0 : num - 3);
        return NULL;
    }
    size_t i = 0;
    while (i < ln && policy_blank(l[i]))
        i++;
    if (i < ln && l[i] != ';' && l[i] != '#') {
        if (i > 0) {
            policy_fail(ps, PG_EINVALID,
                        "a line may not start with a space (it would "
                        "continue the previous value); remove the "
                        "indentation");
            return NULL;
        }
        if (l[0] == '[') {
            const char *end = memchr(l, ']', ln);
            if (end)
                policy_section(ps, l + 1, (size_t)(end - l - 1));
            if (ps->error)
                return NULL;
        }
    }
    memcpy(str, s, n);
    str[n] = '\n';
    str[n + 1] = 0;
    return str;
}

static int policy_handler(void *user, const char *section, const char *name,
                          const char *value)
{
    policy_parse *ps = user;
    char ex[PG_EXCERPT_SIZE];

    if (ps->error)
        return 0;
    if (!section[0]) {
        policy_fail(ps, PG_EINVALID,
                    "'%s' comes before any section; start the file with "
                    "[agreement]",
                    pg_excerpt(ex, name, strlen(name)));
        return 0;
    }
    if (strcmp(section, ps->section) != 0) {
        /* inih cut a name longer than its limit: not one of ours. */
        policy_fail(ps, PG_EINVALID, "unknown section [%s]",
                    pg_excerpt(ex, section, strlen(section)));
        return 0;
    }
    if (ps->coll)
        policy_collection_key(ps, ps->coll, name, value);
    else
        policy_agreement_key(ps, name, value);
    return ps->error ? 0 : 1;
}

static int policy_parse_at(pg_policy **out, const char *text, size_t len,
                           const char *source, const pg_card *self,
                           const pg_peer *peer, const pg_schema *schema);

int pg_policy_parse(pg_policy **out, const char *text, size_t len,
                    const char *source, const pg_card *self,
                    const pg_peer *peer)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(text || len == 0);
    PG_ASSERT_ARG(self);
    PG_ASSERT_ARG(peer);
    return policy_parse_at(out, text, len, source, self, peer,
                           pg_schema_current());
}

int pg_policy_parse_node(pg_policy **out, const char *text, size_t len,
                         const char *source, const pg_node *node,
                         const pg_peer *peer)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(text || len == 0);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(peer);
    return policy_parse_at(out, text, len, source, &node->card, peer,
                           node->schema);
}

static int policy_parse_at(pg_policy **out, const char *text, size_t len,
                           const char *source, const pg_card *self,
                           const pg_peer *peer, const pg_schema *schema)
{
    policy_parse ps;
    pg_policy *p = NULL;
    int error, line;

    *out = NULL;
    if (!source || !source[0])
        source = "policy";
    if (len > PG_POLICY_MAX)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                            "%s: larger than %d bytes", source, PG_POLICY_MAX);
    if ((error = policy_new(&p, self, peer, schema)) < 0)
        return error;
    p->from_file = true;
    p->id[0] = 0;
    policy_copy(p->source, sizeof(p->source), source);

    memset(&ps, 0, sizeof(ps));
    ps.p = p;
    ps.source = source;
    ps.text = text ? text : "";
    ps.len = len;
    line = ini_parse_stream(policy_reader, &ps, policy_handler, &ps);
    if (line > 0 && (!ps.error || (unsigned)line < ps.error_line)) {
        /* inih's own complaint, before any of ours. */
        ps.error = 0;
        ps.line = (unsigned)line;
        policy_fail(&ps, PG_EINVALID,
                    "expected [section], key = value or a comment");
    } else if (line < 0 && !ps.error) {
        policy_fail(&ps, PG_ENOMEM, "out of memory");
    }
    ps.line = 0;
    if (!ps.error && !p->id[0])
        policy_fail(&ps, PG_EINVALID,
                    "no id: a policy file has an [agreement] section with "
                    "id = NAME");
    for (size_t i = 0; !ps.error && i < p->ncolls; i++) {
        policy_coll *pc = &p->colls[i];
        if (pc->where_line && !pc->carried) {
            ps.line = pc->where_line;
            policy_fail(&ps, PG_EINVALID,
                        "where on [%s], which this policy does not carry",
                        pc->coll->name);
        }
    }
    if (ps.error) {
        error = pg_error__set_text(ps.error, PG_ERRCLASS_INVALID, &ps.msg);
        goto done;
    }
    error = policy_compute_hash(p);

done:
    if (error < 0)
        pg_policy_free(p);
    else
        *out = p;
    return error;
}

/* ---- accessors ------------------------------------------------------- */

const char *pg_policy_id(const pg_policy *p)
{
    return p->id;
}

const uint8_t *pg_policy_hash(const pg_policy *p)
{
    return p->hash;
}

pg_peer_role pg_policy_role(const pg_policy *p)
{
    return p->role;
}

bool pg_policy_carries(const pg_policy *p, const pg_collection *coll)
{
    if (!p || !coll || coll->system)
        return false;
    const policy_coll *pc = policy_find(p, coll);
    return pc && pc->carried;
}

bool pg_policy_condition(const pg_policy *p, const pg_collection *coll,
                         const pg_field **field, pg_value *value)
{
    if (!pg_policy_carries(p, coll))
        return false;
    const policy_coll *pc = policy_find(p, coll);
    if (!pc->where_field)
        return false;
    if (field)
        *field = pc->where_field;
    if (value)
        *value = pc->where_value;
    return true;
}

pg_transform pg_policy_transform(const pg_policy *p, const pg_collection *coll,
                                 const pg_field *f)
{
    if (!p || !coll || !f)
        return PG_XF_DROP;
    if (strcmp(f->name, "division") == 0 || strcmp(f->name, "_deleted") == 0)
        return PG_XF_KEEP;
    if (!pg_policy_carries(p, coll))
        return PG_XF_DROP;
    const policy_coll *pc = policy_find(p, coll);
    for (size_t j = 0; j < pc->coll->nfields; j++) {
        if (&pc->coll->fields[j] == f ||
            strcmp(pc->coll->fields[j].name, f->name) == 0)
            return pc->xf[j];
    }
    return PG_XF_DROP;
}

/* ---- pseudonym keys -------------------------------------------------- */

static const char key_label[] = "pingan.pseudonym.v1";
static const char key_id_label[] = "pingan.pseudonym.id.v1";

static void policy_key_id(char id[PG_PSEUDONYM_KEY_ID_LEN + 1],
                          const uint8_t key[PG_PSEUDONYM_KEY_LEN])
{
    pg_hash_state st;
    uint8_t h[32];

    pg_hash_init(&st, sizeof(h));
    pg_hash_update(&st, key_id_label, sizeof(key_id_label) - 1);
    pg_hash_update(&st, key, PG_PSEUDONYM_KEY_LEN);
    pg_hash_final(&st, h);
    pg_hex(id, h, PG_PSEUDONYM_KEY_ID_LEN / 2);
}

static bool policy_all_zero(const uint8_t *b, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/*
 * Read a key file: a regular file with no access for group or others,
 * holding 32 raw bytes, or (when hex_ok) 64 hex digits and an optional
 * newline.  ENOENT is PG_ENOTFOUND so the caller can derive the key.
 */
static int policy_read_key(uint8_t key[PG_PSEUDONYM_KEY_LEN], const char *path,
                           bool hex_ok)
{
    uint8_t buf[68];
    char hex[2 * PG_PSEUDONYM_KEY_LEN + 1];
    struct stat st;
    size_t n = 0;
    int error = 0;

    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return pg_error_set(errno == ENOENT ? PG_ENOTFOUND : PG_ERROR,
                            PG_ERRCLASS_NODE,
                            "cannot read pseudonym key file %s: %s", path,
                            pg_error__oserr(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                            "pseudonym key file %s is not a regular file",
                            path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                            "pseudonym key file %s has mode %03o: others "
                            "may read or change it; run 'chmod 600 %s' "
                            "(and consider the key exposed)",
                            path, (unsigned)(st.st_mode & 0777), path);
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                 "cannot read pseudonym key file %s: %s", path,
                                 pg_error__oserr(errno));
            break;
        }
        if (r == 0 || (n += (size_t)r) == sizeof(buf))
            break;
    }
    close(fd);
    if (!error) {
        if (n == PG_PSEUDONYM_KEY_LEN) {
            memcpy(key, buf, PG_PSEUDONYM_KEY_LEN);
        } else {
            if (hex_ok && n > 0 && buf[n - 1] == '\n')
                n--;
            if (hex_ok && n > 0 && buf[n - 1] == '\r')
                n--;
            if (hex_ok && n == 2 * PG_PSEUDONYM_KEY_LEN) {
                memcpy(hex, buf, n);
                hex[n] = 0;
                if (pg_unhex(key, PG_PSEUDONYM_KEY_LEN, hex) < 0)
                    n = 0;
                pg_error_clear();
                pg_memzero(hex, sizeof(hex));
            }
            if (!hex_ok || n != 2 * PG_PSEUDONYM_KEY_LEN)
                error = hex_ok ? pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                                              "pseudonym key file %s must hold "
                                              "32 bytes (raw, or as 64 hex "
                                              "digits)",
                                              path)
                               : pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                                              "pseudonym key file %s must hold "
                                              "32 bytes",
                                              path);
        }
    }
    if (!error && policy_all_zero(key, PG_PSEUDONYM_KEY_LEN))
        error =
            pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                         "pseudonym key file %s holds an all-zero key", path);
    pg_memzero(buf, sizeof(buf));
    if (error)
        pg_memzero(key, PG_PSEUDONYM_KEY_LEN);
    return error;
}

/* The partner's X25519 public key, from its pinned card. */
static int policy_peer_box_pk(uint8_t pk[PG_BOX_PK_LEN], pg_node *node,
                              const char *code)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db, "SELECT box_pk FROM peer WHERE code = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading a partner's key");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != PG_BOX_PK_LEN)
            error =
                pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                             "the pinned card of %s has no X25519 key", code);
        else
            memcpy(pk, sqlite3_column_blob(st, 0), PG_BOX_PK_LEN);
    } else if (rc == SQLITE_DONE) {
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "%s is not a peer of this node", code);
    } else {
        error = pg_store__error(node->db, rc, "reading a partner's key");
    }
    sqlite3_finalize(st);
    return error;
}

static int policy_derive_key(uint8_t key[PG_PSEUDONYM_KEY_LEN], pg_node *node,
                             const char *code)
{
    uint8_t peer_pk[PG_BOX_PK_LEN], shared[32];
    const uint8_t *own_pk = node->card.box_pk, *lo, *hi;
    int error;

    if ((error = policy_peer_box_pk(peer_pk, node, code)) < 0)
        return error;
    if ((error = pg_box_shared(shared, node->box_sk, peer_pk)) < 0)
        return error;
    bool own_first = memcmp(own_pk, peer_pk, PG_BOX_PK_LEN) < 0;
    lo = own_first ? own_pk : peer_pk;
    hi = own_first ? peer_pk : own_pk;
    uint8_t msg[sizeof(key_label) - 1 + 2 * PG_BOX_PK_LEN];
    memcpy(msg, key_label, sizeof(key_label) - 1);
    memcpy(msg + sizeof(key_label) - 1, lo, PG_BOX_PK_LEN);
    memcpy(msg + sizeof(key_label) - 1 + PG_BOX_PK_LEN, hi, PG_BOX_PK_LEN);
    pg_blake2b_keyed(key, PG_PSEUDONYM_KEY_LEN, msg, sizeof(msg), shared,
                     sizeof(shared));
    pg_memzero(shared, sizeof(shared));
    return 0;
}

/* Keep a derived key: a private file made whole, then linked into place
 * (link, not rename: a key another process kept first wins). */
static int policy_keep_key(const char *path,
                           const uint8_t key[PG_PSEUDONYM_KEY_LEN])
{
    char tmp[4200];
    int error = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE, "path too long: %s",
                            path);
    /* mkstemp makes the file 0600 (and no umask change, which would be
     * process-wide). */
    int fd = mkstemp(tmp);
    if (fd < 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot create %s: %s",
                            tmp, pg_error__oserr(errno));
    size_t done = 0;
    while (done < PG_PSEUDONYM_KEY_LEN) {
        ssize_t w = write(fd, key + done, PG_PSEUDONYM_KEY_LEN - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (done != PG_PSEUDONYM_KEY_LEN || fchmod(fd, 0600) < 0 || fsync(fd) < 0)
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                             tmp, pg_error__oserr(errno));
    if (close(fd) < 0 && !error)
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                             tmp, pg_error__oserr(errno));
    if (!error && link(tmp, path) < 0 && errno != EEXIST)
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot create %s: %s",
                             path, pg_error__oserr(errno));
    unlink(tmp);
    return error;
}

int pg_policy_pseudonym_key(uint8_t key[PG_PSEUDONYM_KEY_LEN],
                            char id[PG_PSEUDONYM_KEY_ID_LEN + 1], pg_node *node,
                            const pg_peer *peer, const pg_policy *p)
{
    char path[4200];
    int error;

    PG_ASSERT_ARG(key);
    PG_ASSERT_ARG(id);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(peer);
    PG_ASSERT_ARG(p);
    id[0] = 0;
    if (peer->role != PG_PEER_PARTNER || p->role != PG_PEER_PARTNER)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "%s is a %s: pseudonym keys exist only on "
                            "partner links",
                            peer->code, pg_peer_role_name(peer->role));
    if (!pg_division_valid(peer->code))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "'%s' is not a 12-digit division code", peer->code);
    if (p->key_file[0]) {
        if ((error = policy_read_key(key, p->key_file, true)) < 0)
            return error;
    } else {
        if (snprintf(path, sizeof(path), "%s/pseudonym-%s.key", node->dir,
                     peer->code) >= (int)sizeof(path))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                                "path too long: %s", node->dir);
        error = policy_read_key(key, path, false);
        if (error == PG_ENOTFOUND) {
            pg_error_clear();
            if ((error = policy_derive_key(key, node, peer->code)) < 0 ||
                (error = policy_keep_key(path, key)) < 0)
                goto done;
            /* Another process may have kept its key first: use the file. */
            error = policy_read_key(key, path, false);
        }
        if (error < 0)
            goto done;
    }
    policy_key_id(id, key);
    return 0;

done:
    pg_memzero(key, PG_PSEUDONYM_KEY_LEN);
    return error;
}

/* ---- load ------------------------------------------------------------- */

/* The name the policy file had when it was added, for messages. */
static void policy_stored_source(char *out, size_t outlen, pg_node *node,
                                 const char *code)
{
    sqlite3_stmt *st = NULL;

    snprintf(out, outlen, "policy of %s", code);
    if (sqlite3_prepare_v2(node->db,
                           "SELECT policy_source FROM peer WHERE code = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        if (s && s[0])
            snprintf(out, outlen, "%s", s);
    }
    sqlite3_finalize(st);
}

int pg_policy_load(pg_policy **out, pg_node *node, const pg_peer *peer)
{
    pg_policy *p = NULL;
    char *text = NULL;
    size_t len = 0;
    char source[POLICY_SOURCE_MAX];
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(peer);
    *out = NULL;
    if ((error = pg_peer_policy(node, peer->code, &text, &len)) < 0)
        return error;
    if (text) {
        policy_stored_source(source, sizeof(source), node, peer->code);
        error = policy_parse_at(&p, text, len, source, &node->card, peer,
                                node->schema);
    } else {
        error = policy_default_at(&p, &node->card, peer, node->schema);
    }
    free(text);
    if (error < 0)
        return error;
    if (p->role == PG_PEER_PARTNER) {
        uint8_t key[PG_PSEUDONYM_KEY_LEN];
        error = pg_policy_pseudonym_key(key, p->key_id, node, peer, p);
        pg_memzero(key, sizeof(key));
        if (error < 0) {
            pg_policy_free(p);
            return error;
        }
    }
    *out = p;
    return 0;
}

/* ---- describe ---------------------------------------------------------- */

static const char *policy_where_text(const policy_coll *pc)
{
    if (pc->where_text)
        return pc->where_text;
    if (pc->where_value.kind == PG_VALUE_BOOL)
        return pc->where_value.b ? "true" : "false";
    return "";
}

static json_t *policy_json(const pg_policy *p)
{
    char hash[2 * PG_HASH_LEN + 1];
    json_t *colls = json_array(), *skipped = json_array(), *key, *o;

    pg_hex(hash, p->hash, sizeof(p->hash));
    if (p->role != PG_PEER_PARTNER)
        key = json_null();
    else
        key = json_pack("{s:o, s:s}", "id",
                        p->key_id[0] ? json_string(p->key_id) : json_null(),
                        "source", p->key_file[0] ? "file" : "derived");
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", p->id,
                  "hash", hash, "role", pg_peer_role_name(p->role), "peer",
                  p->peer_code, "peer_tier", pg_tier_name(p->peer_tier),
                  "source", p->source, "purpose",
                  p->purpose[0] ? json_string(p->purpose) : json_null(),
                  "pseudonym_key", key);
    if (!o || !colls || !skipped)
        goto fail;
    for (size_t i = 0; i < p->ncolls; i++) {
        const policy_coll *pc = &p->colls[i];
        if (!pc->carried) {
            if (json_array_append_new(skipped, json_string(pc->coll->name)) < 0)
                goto fail;
            continue;
        }
        json_t *where = json_null(), *fields = json_array();
        if (pc->where_field)
            where = json_pack("{s:s, s:s}", "field", pc->where_field->name,
                              "value", policy_where_text(pc));
        for (size_t j = 0; fields && j < pc->coll->nfields; j++) {
            const pg_field *f = &pc->coll->fields[j];
            if (json_array_append_new(
                    fields, json_pack("{s:s, s:s, s:s, s:s}", "name", f->name,
                                      "type", pg_type_name(f->type), "privacy",
                                      pg_privacy_name(f->privacy), "transform",
                                      pg_transform_name(pc->xf[j]))) < 0) {
                json_decref(fields);
                fields = NULL;
            }
        }
        if (json_array_append_new(
                colls, json_pack("{s:s, s:o, s:o}", "name", pc->coll->name,
                                 "where", where, "fields", fields)) < 0)
            goto fail;
    }
    if (json_object_set_new(o, "collections", colls) < 0) {
        colls = NULL;
        goto fail;
    }
    colls = NULL;
    if (json_object_set_new(o, "not_carried", skipped) < 0) {
        skipped = NULL;
        goto fail;
    }
    return o;

fail:
    json_decref(o);
    json_decref(colls);
    json_decref(skipped);
    return NULL;
}

static int policy_describe_text(pg_buf *out, const pg_policy *p)
{
    char hash[2 * PG_HASH_LEN + 1];
    int error;

    pg_hex(hash, p->hash, sizeof(p->hash));
    if ((error = pg_buf_printf(out, "policy %s: %s link to %s %s (%s)\n", p->id,
                               pg_peer_role_name(p->role), p->peer_code,
                               p->peer_name, pg_tier_name(p->peer_tier))) < 0 ||
        (error = pg_buf_printf(out, "  %-10s %s\n", "hash", hash)) < 0 ||
        (error = pg_buf_printf(
             out, "  %-10s %s\n", "source",
             p->from_file ? p->source
             : p->role == PG_PEER_PARTNER
                 ? "built-in default (the Art. 8 agreement of pingan)"
                 : "built-in default")) < 0)
        return error;
    if (p->purpose[0] &&
        (error = pg_buf_printf(out, "  %-10s %s\n", "purpose", p->purpose)) < 0)
        return error;
    if (p->role == PG_PEER_PARTNER &&
        (error = pg_buf_printf(out, "  %-10s key id %s, %s\n", "pseudonym",
                               p->key_id[0] ? p->key_id : "(not loaded)",
                               p->key_file[0]
                                   ? "from the agreement's key file"
                                   : "derived from both cities' keys")) < 0)
        return error;
    if ((error = pg_buf_puts(out, "carried:\n")) < 0)
        return error;
    size_t ncarried = 0;
    for (size_t i = 0; i < p->ncolls; i++) {
        const policy_coll *pc = &p->colls[i];
        if (!pc->carried)
            continue;
        ncarried++;
        if (pc->where_field)
            error = pg_buf_printf(out, "  %s: records where %s = %s\n",
                                  pc->coll->name, pc->where_field->name,
                                  policy_where_text(pc));
        else
            error = pg_buf_printf(out, "  %s: every record\n", pc->coll->name);
        for (size_t j = 0; !error && j < pc->coll->nfields; j++) {
            const pg_field *f = &pc->coll->fields[j];
            error = pg_buf_printf(out, "    %-24s %-10s %-9s %s\n", f->name,
                                  pg_type_name(f->type),
                                  pg_privacy_name(f->privacy),
                                  pg_transform_name(pc->xf[j]));
        }
        if (error < 0)
            return error;
    }
    if (!ncarried && (error = pg_buf_puts(out, "  (nothing)\n")) < 0)
        return error;
    if ((error = pg_buf_puts(out, "not carried:")) < 0)
        return error;
    for (size_t i = 0; i < p->ncolls; i++) {
        if (!p->colls[i].carried &&
            (error = pg_buf_printf(out, " %s", p->colls[i].coll->name)) < 0)
            return error;
    }
    return pg_buf_putc(out, '\n');
}

int pg_policy_describe(pg_buf *out, const pg_policy *p, bool json)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(p);

    if (!json)
        return policy_describe_text(out, p);
    json_t *j = policy_json(p);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!s)
        return policy_nomem();
    int error = pg_buf_puts(out, s);
    free(s);
    return error ? error : pg_buf_putc(out, '\n');
}
