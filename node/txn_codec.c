/*
 * The protobuf encoding of a txn (pingan.v1.Txn, proto/txn.proto).
 *
 * This lives in node/ rather than sync/codec.c because the change-log is
 * the source of truth and stores each txn as these bytes: a local write
 * must encode.  protobuf-c's generated names stay inside this file.
 *
 * Decoding is the first thing done to bytes from outside, so every length
 * and every form is checked here before anything else looks at the txn.
 */
#include "pingan/txn.h"
#include "pingan/error.h"
#include "pingan/ulid.h"
#include "txn_internal.h"
#include "memwatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "txn.pb-c.h"

/* A decoded txn may be larger than the 256 KiB the origin may produce: a
 * redacting hop sends a 16-byte salt per change instead of one seed, and
 * adds redaction notes (at most NOTE_MAX_BYTES each, encoded: hop 14,
 * policy id 66, policy hash 34, record id 66, field 66, transform 12,
 * derived hash 34, the note's own tag and length 3) and hop signatures
 * (at most HOP_SIG_MAX_BYTES: hop 14, key id 18, count 6, signature 66,
 * tag and length 2). */
#define NOTE_MAX_BYTES    296
#define HOP_SIG_MAX_BYTES 106
#define TXN_DECODE_MAX                                                         \
    (PG_TXN_MAX_BYTES + PG_TXN_MAX_CHANGES * 48 +                              \
     PG_TXN_MAX_NOTES * NOTE_MAX_BYTES +                                       \
     PG_TXN_MAX_HOP_SIGS * HOP_SIG_MAX_BYTES)
#define NAME_MAX_LEN      PG_TXN__NAME_MAX
#define RECORD_ID_MAX_LEN 64

static int codec_nomem(void)
{
    return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
}

/* Order of changes in the encoding: by record id, then as in the txn. */
typedef struct change_ref {
    const pg_change *c;
    size_t pos;
} change_ref;

static int change_ref_cmp(const void *a, const void *b)
{
    const change_ref *x = a, *y = b;
    int c = strcmp(x->c->record_id, y->c->record_id);
    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void encode_value(Pingan__V1__Value *pv, const pg_change *c)
{
    switch (c->value.kind) {
    case PG_VALUE_ABSENT:
        break;
    case PG_VALUE_INT:
        pv->kind_case = PINGAN__V1__VALUE__KIND_INT;
        pv->int_ = c->value.i;
        break;
    case PG_VALUE_REAL:
        pv->kind_case = PINGAN__V1__VALUE__KIND_REAL;
        pv->real = c->value.r == 0 ? 0.0 : c->value.r;
        break;
    case PG_VALUE_BOOL:
        pv->kind_case = PINGAN__V1__VALUE__KIND_BOOL;
        pv->bool_ = c->value.b;
        break;
    case PG_VALUE_TEXT:
        pv->kind_case = PINGAN__V1__VALUE__KIND_TEXT;
        pv->text = c->text;
        break;
    }
}

static void encode_change(Pingan__V1__Change *pc, Pingan__V1__Value *pv,
                          Pingan__V1__Version *pb, Pingan__V1__Version *pm,
                          const pg_change *c)
{
    pingan__v1__change__init(pc);
    pingan__v1__value__init(pv);
    pingan__v1__version__init(pb);
    pingan__v1__version__init(pm);
    pc->field = c->field;
    if (!pg_version_is_zero(&c->base)) {
        pb->hlc = c->base.hlc;
        pb->origin = (char *)c->base.origin;
        pc->base_version = pb;
    }
    if (!pg_version_is_zero(&c->merged)) {
        pm->hlc = c->merged.hlc;
        pm->origin = (char *)c->merged.origin;
        pc->merged_version = pm;
    }
    if (c->form == PG_CHANGE_WHOLE || c->form == PG_CHANGE_SALTED) {
        encode_value(pv, c);
        pc->value = pv;
    }
    if (c->form == PG_CHANGE_SALTED) {
        pc->salt.data = (uint8_t *)c->salt;
        pc->salt.len = PG_SALT_LEN;
    }
    if (c->form == PG_CHANGE_COMMITTED || c->form == PG_CHANGE_DROPPED) {
        pc->commit.data = (uint8_t *)c->commit;
        pc->commit.len = PG_HASH_LEN;
    }
    if (c->form == PG_CHANGE_COMMITTED)
        pc->derived = c->derived ? c->derived : "";
    if (c->form == PG_CHANGE_DROPPED)
        pc->dropped = 1;
}

/* A note's derived hash is written only when the transform derived a text:
 * a drop has none (it is signed as 32 zero bytes). */
static void encode_note(Pingan__V1__RedactionNote *pn, const pg_note *n)
{
    pingan__v1__redaction_note__init(pn);
    pn->hop = (char *)n->hop;
    pn->policy_id = n->policy_id ? n->policy_id : "";
    pn->policy_hash.data = (uint8_t *)n->policy_hash;
    pn->policy_hash.len = PG_HASH_LEN;
    pn->record_id = n->record_id ? n->record_id : "";
    pn->field = n->field ? n->field : "";
    pn->transform = n->transform ? n->transform : "";
    if (!n->transform || strcmp(n->transform, "drop") != 0) {
        pn->derived_hash.data = (uint8_t *)n->derived_hash;
        pn->derived_hash.len = PG_HASH_LEN;
    }
}

/*
 * Changes are written grouped by record (ascending record id, each
 * record's changes in txn order), so that a record id is written once and
 * not once per field: for a 23-field dispute that halves the log.  The
 * grouping is part of the canonical encoding that decoding checks.
 */
int pg_txn_encode(pg_buf *out, const pg_txn *txn)
{
    Pingan__V1__Txn m = PINGAN__V1__TXN__INIT;
    size_t n = txn->nchanges ? txn->nchanges : 1;
    change_ref *refs = calloc(n, sizeof(*refs));
    Pingan__V1__Change *cs = calloc(n, sizeof(*cs));
    Pingan__V1__Change **cps = calloc(n, sizeof(*cps));
    Pingan__V1__Value *vs = calloc(n, sizeof(*vs));
    Pingan__V1__Version *bs = calloc(n, sizeof(*bs));
    Pingan__V1__Version *ms = calloc(n, sizeof(*ms));
    Pingan__V1__Record *rs = calloc(n, sizeof(*rs));
    Pingan__V1__Record **rps = calloc(n, sizeof(*rps));
    size_t nn = txn->nnotes ? txn->nnotes : 1;
    size_t nh = txn->nhop_sigs ? txn->nhop_sigs : 1;
    Pingan__V1__RedactionNote *ns = calloc(nn, sizeof(*ns));
    Pingan__V1__RedactionNote **nps = calloc(nn, sizeof(*nps));
    Pingan__V1__HopSignature *hs = calloc(nh, sizeof(*hs));
    Pingan__V1__HopSignature **hps = calloc(nh, sizeof(*hps));
    int error = 0;

    if (!refs || !cs || !cps || !vs || !bs || !ms || !rs || !rps || !ns ||
        !nps || !hs || !hps) {
        error = codec_nomem();
        goto done;
    }
    m.suite = txn->suite;
    m.origin = (char *)txn->origin;
    m.key_id = (char *)txn->key_id;
    m.seq = txn->seq;
    m.hlc = txn->hlc;
    m.division = (char *)txn->division;
    m.collection = txn->collection;
    m.operator_ = txn->operator_name;
    if (txn->has_seed) {
        m.seed.data = (uint8_t *)txn->seed;
        m.seed.len = PG_SEED_LEN;
    }
    if (txn->has_signature) {
        m.signature.data = (uint8_t *)txn->signature;
        m.signature.len = PG_SIG_LEN;
    }
    for (size_t i = 0; i < txn->nchanges; i++) {
        refs[i].c = &txn->changes[i];
        refs[i].pos = i;
    }
    qsort(refs, txn->nchanges, sizeof(*refs), change_ref_cmp);
    size_t nrec = 0;
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *c = refs[i].c;
        encode_change(&cs[i], &vs[i], &bs[i], &ms[i], c);
        cps[i] = &cs[i];
        if (i == 0 || strcmp(c->record_id, refs[i - 1].c->record_id) != 0) {
            pingan__v1__record__init(&rs[nrec]);
            rs[nrec].id = c->record_id;
            rs[nrec].changes = &cps[i];
            rps[nrec] = &rs[nrec];
            nrec++;
        }
        rs[nrec - 1].n_changes++;
    }
    m.n_records = nrec;
    m.records = rps;
    for (size_t k = 0; k < txn->nnotes; k++) {
        encode_note(&ns[k], &txn->notes[k]);
        nps[k] = &ns[k];
    }
    m.n_notes = txn->nnotes;
    m.notes = txn->nnotes ? nps : NULL;
    for (size_t j = 0; j < txn->nhop_sigs; j++) {
        const pg_hop_sig *h = &txn->hop_sigs[j];
        pingan__v1__hop_signature__init(&hs[j]);
        hs[j].hop = (char *)h->hop;
        hs[j].key_id = (char *)h->key_id;
        hs[j].notes = h->notes;
        hs[j].signature.data = (uint8_t *)h->signature;
        hs[j].signature.len = PG_SIG_LEN;
        hps[j] = &hs[j];
    }
    m.n_hop_signatures = txn->nhop_sigs;
    m.hop_signatures = txn->nhop_sigs ? hps : NULL;

    size_t len = pingan__v1__txn__get_packed_size(&m);
    if ((error = pg_buf_reserve(out, len)) < 0)
        goto done;
    pingan__v1__txn__pack(&m, out->data + out->len);
    out->len += len;
    out->data[out->len] = 0;

done:
    free(refs);
    free(cs);
    free(cps);
    free(vs);
    free(bs);
    free(ms);
    free(rs);
    free(rps);
    free(ns);
    free(nps);
    free(hs);
    free(hps);
    return error;
}

static int bad(const char *what)
{
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_CODEC, "malformed txn: %s",
                        what);
}

bool pg_txn__is_code(const char *s)
{
    return s && strlen(s) == PG_CODE_LEN && pg_division_valid(s);
}

bool pg_txn__is_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

bool pg_txn__is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A version: both parts or (base only, as the first format allowed) an
 * explicit zero.  A merged version, new in this format, is written only
 * when it is not zero, so that a resolution has one encoding. */
static int decode_version(pg_version *out, const Pingan__V1__Version *pv,
                          const char *what, bool zero_ok)
{
    memset(out, 0, sizeof(*out));
    if (!pv || (zero_ok && pv->hlc == 0 && pv->origin[0] == 0))
        return 0;
    if (!pg_txn__is_code(pv->origin) || pv->hlc == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CODEC,
                            "malformed txn: %s version malformed", what);
    out->hlc = pv->hlc;
    memcpy(out->origin, pv->origin, PG_CODE_LEN + 1);
    return 0;
}

static int decode_change(pg_txn *txn, const char *record_id,
                         const Pingan__V1__Change *pc, bool has_seed)
{
    pg_value v = {0};
    pg_version base, merged;
    int error;

    if (!record_id || strlen(record_id) > RECORD_ID_MAX_LEN ||
        !pg_record_id_valid(record_id, NULL))
        return bad("record id is not CODE-ULID");
    if (!pg_txn__is_name(pc->field, NAME_MAX_LEN))
        return bad("field name missing or malformed");
    if ((error = decode_version(&base, pc->base_version, "base", true)) < 0 ||
        (error = decode_version(&merged, pc->merged_version, "merged", false)) <
            0)
        return error;
    pg_change_form form;
    bool has_value = pc->value != NULL;
    size_t dlen = strlen(pc->derived);
    if (pc->dropped) {
        if (has_value || pc->salt.len || dlen || pc->commit.len != PG_HASH_LEN)
            return bad("dropped change must carry only a 32-byte commit");
        form = PG_CHANGE_DROPPED;
    } else if (pc->commit.len) {
        if (has_value || pc->salt.len || pc->commit.len != PG_HASH_LEN)
            return bad("transformed change must carry a 32-byte commit");
        if (dlen > PG_TEXT_MAX || !pg_utf8_valid(pc->derived, dlen))
            return bad("derived value too long or not UTF-8");
        form = PG_CHANGE_COMMITTED;
    } else if (dlen) {
        return bad("derived value without a commit");
    } else if (pc->salt.len) {
        if (!has_value || pc->salt.len != PG_SALT_LEN)
            return bad("salted change must carry a value and 16-byte salt");
        form = PG_CHANGE_SALTED;
    } else {
        if (!has_value || !has_seed)
            return bad("change carries neither value with seed nor proof");
        form = PG_CHANGE_WHOLE;
    }
    if (has_value) {
        const Pingan__V1__Value *pv = pc->value;
        switch (pv->kind_case) {
        case PINGAN__V1__VALUE__KIND__NOT_SET:
            v.kind = PG_VALUE_ABSENT;
            break;
        case PINGAN__V1__VALUE__KIND_INT:
            v.kind = PG_VALUE_INT;
            v.i = pv->int_;
            break;
        case PINGAN__V1__VALUE__KIND_REAL:
            v.kind = PG_VALUE_REAL;
            v.r = pv->real;
            if (v.r != v.r || v.r - v.r != 0)
                return bad("real value is NaN or infinite");
            /* -0 is encoded as +0 (FORMAT.md §2): the same digest, so
             * taking -0 would let two byte strings name one txn. */
            if (v.r == 0 && signbit(v.r))
                return bad("real value is -0 (encoded as +0)");
            break;
        case PINGAN__V1__VALUE__KIND_BOOL:
            v.kind = PG_VALUE_BOOL;
            v.b = pv->bool_;
            break;
        case PINGAN__V1__VALUE__KIND_TEXT:
            v.kind = PG_VALUE_TEXT;
            v.s = pv->text;
            v.len = strlen(pv->text);
            if (v.len > PG_TEXT_MAX || !pg_utf8_valid(v.s, v.len))
                return bad("text value too long or not UTF-8");
            break;
        default:
            return bad("unknown value kind");
        }
    }
    if ((error = pg_txn_add_merged(txn, record_id, pc->field, &v, &base,
                                   &merged)) < 0)
        return error;
    pg_change *c = &txn->changes[txn->nchanges - 1];
    c->form = form;
    if (form == PG_CHANGE_SALTED)
        memcpy(c->salt, pc->salt.data, PG_SALT_LEN);
    if (form == PG_CHANGE_COMMITTED || form == PG_CHANGE_DROPPED)
        memcpy(c->commit, pc->commit.data, PG_HASH_LEN);
    if (form == PG_CHANGE_COMMITTED) {
        c->derived = pg_txn__strndup(txn, pc->derived, strlen(pc->derived));
        if (!c->derived)
            return codec_nomem();
    }
    return 0;
}

/* The notes and hop signatures, into @p txn: their byte lengths here (the
 * rest of their structure is pg_txn__check_notes'). */
static int decode_notes(pg_txn *txn, const Pingan__V1__Txn *m)
{
    int error;

    if (m->n_notes > PG_TXN_MAX_NOTES)
        return bad("more than 16384 redaction notes");
    if (m->n_hop_signatures > PG_TXN_MAX_HOP_SIGS)
        return bad("more than 16 hop signatures");
    if ((error = pg_txn__reserve_notes(txn, m->n_notes)) < 0 ||
        (error = pg_txn__reserve_hop_sigs(txn, m->n_hop_signatures)) < 0)
        return error;
    for (size_t k = 0; k < m->n_notes; k++) {
        const Pingan__V1__RedactionNote *pn = m->notes[k];
        pg_note *n = &txn->notes[k];
        memset(n, 0, sizeof(*n));
        if (strlen(pn->hop) != PG_CODE_LEN)
            return bad("redaction note: hop is not a division code");
        if (pn->policy_hash.len != PG_HASH_LEN)
            return bad("redaction note: policy hash must be 32 bytes");
        bool drop = strcmp(pn->transform, "drop") == 0;
        if (pn->derived_hash.len != (drop ? 0 : PG_HASH_LEN))
            return bad("redaction note: derived hash must be 32 bytes, and "
                       "absent for a drop");
        if (strlen(pn->policy_id) > PG_POLICY_ID_MAX ||
            strlen(pn->record_id) > RECORD_ID_MAX_LEN ||
            strlen(pn->field) > NAME_MAX_LEN || strlen(pn->transform) > 16)
            return bad("redaction note: a string too long");
        memcpy(n->hop, pn->hop, PG_CODE_LEN + 1);
        memcpy(n->policy_hash, pn->policy_hash.data, PG_HASH_LEN);
        if (!drop)
            memcpy(n->derived_hash, pn->derived_hash.data, PG_HASH_LEN);
        n->policy_id =
            pg_txn__strndup(txn, pn->policy_id, strlen(pn->policy_id));
        n->record_id =
            pg_txn__strndup(txn, pn->record_id, strlen(pn->record_id));
        n->field = pg_txn__strndup(txn, pn->field, strlen(pn->field));
        n->transform =
            pg_txn__strndup(txn, pn->transform, strlen(pn->transform));
        txn->nnotes = k + 1;
        if (!n->policy_id || !n->record_id || !n->field || !n->transform)
            return codec_nomem();
    }
    for (size_t j = 0; j < m->n_hop_signatures; j++) {
        const Pingan__V1__HopSignature *ph = m->hop_signatures[j];
        pg_hop_sig *h = &txn->hop_sigs[j];
        memset(h, 0, sizeof(*h));
        if (strlen(ph->hop) != PG_CODE_LEN)
            return bad("hop signature: hop is not a division code");
        if (strlen(ph->key_id) != PG_KEY_ID_LEN)
            return bad("hop signature: key id is not 16 hex digits");
        if (ph->signature.len != PG_SIG_LEN)
            return bad("hop signature must be 64 bytes");
        memcpy(h->hop, ph->hop, PG_CODE_LEN + 1);
        memcpy(h->key_id, ph->key_id, PG_KEY_ID_LEN + 1);
        h->notes = ph->notes;
        memcpy(h->signature, ph->signature.data, PG_SIG_LEN);
        txn->nhop_sigs = j + 1;
    }
    char what[300];
    if (pg_txn__check_notes(txn, what, sizeof(what)) < 0)
        return bad(what);
    return 0;
}

/* protobuf-c keeps unknown fields and packs them again after the known
 * ones, so re-encoding alone does not notice them at the end of a
 * message: refuse them in every message of the txn. */
static bool has_unknown_fields(const Pingan__V1__Txn *m)
{
    if (m->base.n_unknown_fields)
        return true;
    for (size_t k = 0; k < m->n_records; k++) {
        if (m->records[k]->base.n_unknown_fields)
            return true;
        for (size_t i = 0; i < m->records[k]->n_changes; i++) {
            const Pingan__V1__Change *c = m->records[k]->changes[i];
            if (c->base.n_unknown_fields ||
                (c->value && c->value->base.n_unknown_fields) ||
                (c->base_version && c->base_version->base.n_unknown_fields) ||
                (c->merged_version && c->merged_version->base.n_unknown_fields))
                return true;
        }
    }
    for (size_t i = 0; i < m->n_notes; i++)
        if (m->notes[i]->base.n_unknown_fields)
            return true;
    for (size_t i = 0; i < m->n_hop_signatures; i++)
        if (m->hop_signatures[i]->base.n_unknown_fields)
            return true;
    return false;
}

static int check_canonical(const Pingan__V1__Txn *m, const uint8_t *data,
                           size_t len)
{
    if (has_unknown_fields(m))
        return bad("unknown fields");
    if (pingan__v1__txn__get_packed_size(m) != len)
        return bad("not in canonical encoding");
    uint8_t *again = malloc(len ? len : 1);
    if (!again)
        return codec_nomem();
    pingan__v1__txn__pack(m, again);
    int same = memcmp(again, data, len) == 0;
    free(again);
    return same ? 0 : bad("not in canonical encoding");
}

static int change_key_cmp(const void *a, const void *b)
{
    const pg_change *x = *(const pg_change *const *)a;
    const pg_change *y = *(const pg_change *const *)b;
    int c = strcmp(x->record_id, y->record_id);
    return c ? c : strcmp(x->field, y->field);
}

/* DESIGN §3: a txn holds at most one change per (record id, field). */
static int check_unique(const pg_txn *txn)
{
    const pg_change **v = malloc(txn->nchanges * sizeof(*v));
    int error = 0;

    if (!v)
        return codec_nomem();
    for (size_t i = 0; i < txn->nchanges; i++)
        v[i] = &txn->changes[i];
    qsort(v, txn->nchanges, sizeof(*v), change_key_cmp);
    for (size_t i = 1; i < txn->nchanges && !error; i++)
        if (change_key_cmp(&v[i - 1], &v[i]) == 0)
            error = bad("two changes to one field of one record");
    free(v);
    return error;
}

int pg_txn_decode(pg_txn **out, const uint8_t *data, size_t len)
{
    Pingan__V1__Txn *m = NULL;
    pg_txn *txn = NULL;
    int error;

    *out = NULL;
    if (len > TXN_DECODE_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_CODEC,
                            "txn of %zu bytes exceeds the limit of %d", len,
                            TXN_DECODE_MAX);
    pg_memwatch__begin();
    m = pingan__v1__txn__unpack(pg_memwatch__protobuf(), len, data);
    if (!m && pg_memwatch__failed())
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "decoding a txn: out of memory");
    if (!m)
        return bad("not a protobuf pingan.v1.Txn");
    /* Only the canonical encoding is accepted: protobuf-c keeps unknown
     * fields, reads a string up to its first NUL and accepts non-minimal
     * varints, so other byte strings could otherwise decode to the same
     * signed txn and one (origin, seq, digest) would name several bodies. */
    if ((error = check_canonical(m, data, len)) < 0)
        goto done;

    if (!pg_txn__is_code(m->origin)) {
        error = bad("origin is not a division code");
        goto done;
    }
    if (!pg_txn__is_code(m->division)) {
        error = bad("division is not a division code");
        goto done;
    }
    if (!pg_txn__is_hex(m->key_id, PG_KEY_ID_LEN)) {
        error = bad("key id is not 16 hex digits");
        goto done;
    }
    if (!pg_txn__is_name(m->collection, NAME_MAX_LEN)) {
        error = bad("collection name missing or malformed");
        goto done;
    }
    if (strlen(m->operator_) > PG_OPERATOR_MAX ||
        !pg_label_valid(m->operator_, strlen(m->operator_))) {
        error = bad("operator too long or not UTF-8");
        goto done;
    }
    if (m->seq == 0 || m->hlc == 0) {
        error = bad("sequence number and clock must be non-zero");
        goto done;
    }
    if (m->seed.len != 0 && m->seed.len != PG_SEED_LEN) {
        error = bad("seed must be 32 bytes");
        goto done;
    }
    if (m->signature.len != 0 && m->signature.len != PG_SIG_LEN) {
        error = bad("signature must be 64 bytes");
        goto done;
    }
    size_t total = 0;
    for (size_t k = 0; k < m->n_records; k++) {
        const Pingan__V1__Record *r = m->records[k];
        if (r->n_changes == 0) {
            error = bad("a record without changes");
            goto done;
        }
        if (k > 0 && strcmp(m->records[k - 1]->id, r->id) >= 0) {
            error = bad("records not in ascending id order, or one twice");
            goto done;
        }
        total += r->n_changes;
    }
    if (total == 0 || total > PG_TXN_MAX_CHANGES) {
        error = bad("a txn holds 1 to 4096 changes");
        goto done;
    }
    if ((error = pg_txn_new(&txn)) < 0 ||
        (error = pg_txn_set_header(txn, m->origin, m->key_id, m->seq, m->hlc,
                                   m->division, m->collection, m->operator_)) <
            0)
        goto done;
    txn->suite = m->suite;
    if (m->seed.len) {
        txn->has_seed = true;
        memcpy(txn->seed, m->seed.data, PG_SEED_LEN);
    }
    if (m->signature.len) {
        txn->has_signature = true;
        memcpy(txn->signature, m->signature.data, PG_SIG_LEN);
    }
    for (size_t k = 0; k < m->n_records; k++)
        for (size_t i = 0; i < m->records[k]->n_changes; i++)
            if ((error = decode_change(txn, m->records[k]->id,
                                       m->records[k]->changes[i],
                                       txn->has_seed)) < 0)
                goto done;
    if ((error = check_unique(txn)) < 0 || (error = decode_notes(txn, m)) < 0)
        goto done;
    *out = txn;
    txn = NULL;

done:
    pg_txn_free(txn);
    pingan__v1__txn__free_unpacked(m, NULL);
    return error;
}
