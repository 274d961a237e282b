/*
 * Transactions: building, digest, origin signature.
 *
 * The digest is defined byte for byte in DESIGN §3 and proto/FORMAT.md and
 * pinned by the golden vectors in tests/data/.  It is computed by feeding
 * the pieces straight into incremental BLAKE2b states rather than building
 * byte strings first: the write path hashes three times per field, and
 * allocating for each would cost more than the hashing.
 *
 * Leaves are sorted before the digest, so the order of changes inside a
 * txn carries no meaning and a redacting hop may reorder freely.
 */
#include "pingan/txn.h"
#include "pingan/error.h"
#include "txn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_version_cmp(const pg_version *a, const pg_version *b)
{
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    return strcmp(a->origin, b->origin);
}

bool pg_version_is_zero(const pg_version *v)
{
    return v->hlc == 0 && v->origin[0] == 0;
}

void pg_version_format(char out[PG_VERSION_TEXT_MAX], const pg_version *v)
{
    snprintf(out, PG_VERSION_TEXT_MAX, "%llu@%s", (unsigned long long)v->hlc,
             v->origin);
}

int pg_version_parse(pg_version *out, const char *text)
{
    char ex[PG_EXCERPT_SIZE];
    const char *at = strchr(text, '@');
    uint64_t hlc = 0;
    const char *p;

    memset(out, 0, sizeof(*out));
    for (p = text; at && p < at && *p >= '0' && *p <= '9'; p++) {
        if (hlc > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            break;
        hlc = hlc * 10 + (uint64_t)(*p - '0');
    }
    if (!at || p != at || at == text || hlc == 0 ||
        strlen(at + 1) != PG_CODE_LEN || !pg_division_valid(at + 1))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "'%s' is not a version HLC@ORIGIN (a clock and a "
                            "12-digit code)",
                            pg_excerpt(ex, text, strlen(text)));
    out->hlc = hlc;
    memcpy(out->origin, at + 1, PG_CODE_LEN + 1);
    return 0;
}

int pg_version_encode(pg_buf *out, const pg_version *v)
{
    int error;
    size_t n = strlen(v->origin);

    if ((error = pg_buf_put_u64be(out, v->hlc)) < 0 ||
        (error = pg_buf_put_u32be(out, (uint32_t)n)) < 0 ||
        (error = pg_buf_put(out, v->origin, n)) < 0)
        return error;
    return 0;
}

int pg_txn_new(pg_txn **out)
{
    *out = calloc(1, sizeof(pg_txn));
    if (!*out)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    (*out)->suite = PG_SUITE_SODIUM;
    return 0;
}

/*
 * The strings of a txn (record ids, field names, text values) live in an
 * arena of blocks owned by the txn: a bulk import adds tens of thousands
 * of changes, and three small mallocs each showed up as the largest cost
 * after hashing.  Reset keeps the first block for reuse.
 */
typedef struct txn_block {
    struct txn_block *next;
    size_t used;
    size_t cap;
    char data[];
} txn_block;

#define TXN_BLOCK_SIZE (64 * 1024)

static char *txn_alloc(pg_txn *txn, size_t n)
{
    txn_block *b = txn->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > TXN_BLOCK_SIZE ? n : TXN_BLOCK_SIZE;
        txn_block *nb = malloc(sizeof(*nb) + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        nb->next = b;
        txn->arena = b = nb;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

char *pg_txn__strndup(pg_txn *txn, const char *s, size_t n)
{
    char *p = txn_alloc(txn, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

static char *txn_strdup(pg_txn *txn, const char *s)
{
    return pg_txn__strndup(txn, s, strlen(s));
}

/* Free every block but the last (the oldest), which is emptied. */
static void txn_arena_reset(pg_txn *txn, bool all)
{
    txn_block *b = txn->arena;
    while (b && (all || b->next)) {
        txn_block *next = b->next;
        free(b);
        b = next;
    }
    if (b)
        b->used = 0;
    txn->arena = b;
}

void pg_txn_reset(pg_txn *txn)
{
    pg_change *changes = txn->changes;
    size_t cap = txn->cap;
    pg_note *notes = txn->notes;
    size_t notes_cap = txn->notes_cap;
    pg_hop_sig *hop_sigs = txn->hop_sigs;
    size_t hop_sigs_cap = txn->hop_sigs_cap;
    txn_arena_reset(txn, false);
    void *arena = txn->arena;
    memset(txn, 0, sizeof(*txn));
    txn->changes = changes;
    txn->cap = cap;
    txn->notes = notes;
    txn->notes_cap = notes_cap;
    txn->hop_sigs = hop_sigs;
    txn->hop_sigs_cap = hop_sigs_cap;
    txn->arena = arena;
    txn->suite = PG_SUITE_SODIUM;
}

void pg_txn_free(pg_txn *txn)
{
    if (!txn)
        return;
    txn_arena_reset(txn, true);
    free(txn->changes);
    free(txn->notes);
    free(txn->hop_sigs);
    pg_memzero(txn, sizeof(*txn));
    free(txn);
}

/* Room for @p n elements of @p size bytes in *array (capacity *cap),
 * doubling from 4: the change array's growth. */
static int txn_reserve(void **array, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    size_t want = *cap ? *cap : 4;
    while (want < n)
        want *= 2;
    void *p = realloc(*array, want * size);
    if (!p)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    *array = p;
    *cap = want;
    return 0;
}

int pg_txn__reserve_notes(pg_txn *txn, size_t n)
{
    void *p = txn->notes;
    int error = txn_reserve(&p, &txn->notes_cap, n, sizeof(pg_note));
    txn->notes = p;
    return error;
}

int pg_txn__reserve_hop_sigs(pg_txn *txn, size_t n)
{
    void *p = txn->hop_sigs;
    int error = txn_reserve(&p, &txn->hop_sigs_cap, n, sizeof(pg_hop_sig));
    txn->hop_sigs = p;
    return error;
}

int pg_txn_set_header(pg_txn *txn, const char *origin, const char *key_id,
                      uint64_t seq, uint64_t hlc, const char *division,
                      const char *collection, const char *operator_name)
{
    if (strlen(origin) != PG_CODE_LEN || strlen(division) != PG_CODE_LEN ||
        strlen(key_id) != PG_KEY_ID_LEN)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                            "txn header has a malformed code or key id");
    if (strlen(operator_name) > PG_OPERATOR_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                            "operator name longer than %d bytes",
                            PG_OPERATOR_MAX);
    memcpy(txn->origin, origin, PG_CODE_LEN + 1);
    memcpy(txn->key_id, key_id, PG_KEY_ID_LEN + 1);
    memcpy(txn->division, division, PG_CODE_LEN + 1);
    txn->seq = seq;
    txn->hlc = hlc;
    txn->collection = txn_strdup(txn, collection);
    txn->operator_name = txn_strdup(txn, operator_name);
    if (!txn->collection || !txn->operator_name)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    return 0;
}

int pg_txn_add(pg_txn *txn, const char *record_id, const char *field,
               const pg_value *value, const pg_version *base)
{
    if (txn->nchanges >= PG_TXN_MAX_CHANGES)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_TXN,
                            "a txn holds at most %d changes",
                            PG_TXN_MAX_CHANGES);
    if (txn->nchanges == txn->cap) {
        size_t cap = txn->cap ? txn->cap * 2 : 16;
        pg_change *p = realloc(txn->changes, cap * sizeof(*p));
        if (!p)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        txn->changes = p;
        txn->cap = cap;
    }
    pg_change *c = &txn->changes[txn->nchanges];
    memset(c, 0, sizeof(*c));
    c->record_id = txn_strdup(txn, record_id);
    c->field = txn_strdup(txn, field);
    c->value = *value;
    if (value->kind == PG_VALUE_TEXT) {
        c->text = pg_txn__strndup(txn, value->s, value->len);
        c->value.s = c->text;
    }
    if (base)
        c->base = *base;
    memset(&c->merged, 0, sizeof(c->merged));
    c->form = PG_CHANGE_WHOLE;
    if (!c->record_id || !c->field ||
        (value->kind == PG_VALUE_TEXT && !c->text))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    txn->nchanges++;
    return 0;
}

int pg_txn_add_merged(pg_txn *txn, const char *record_id, const char *field,
                      const pg_value *value, const pg_version *base,
                      const pg_version *merged)
{
    int error = pg_txn_add(txn, record_id, field, value, base);
    if (error == 0 && merged)
        txn->changes[txn->nchanges - 1].merged = *merged;
    return error;
}

/* --- hashing helpers: the encodings of DESIGN §3 -------------------- */

static void h_u32(pg_hash_state *st, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    pg_hash_update(st, b, 4);
}

static void h_u64(pg_hash_state *st, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    pg_hash_update(st, b, 8);
}

static void h_str(pg_hash_state *st, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    h_u32(st, (uint32_t)n);
    pg_hash_update(st, s, n);
}

/*
 * Salt, commit and leaf inputs are assembled in a buffer and hashed in one
 * call: one-shot BLAKE2b of a short message costs about half as much as
 * feeding the same bytes in many small updates, and the write path hashes
 * three times per field.
 */
typedef struct msg {
    uint8_t *p;
    size_t len;
    size_t cap;
    uint8_t *heap;
    uint8_t stack[512];
} msg;

static void msg_init(msg *m)
{
    m->p = m->stack;
    m->len = 0;
    m->cap = sizeof(m->stack);
    m->heap = NULL;
}

static void msg_free(msg *m)
{
    free(m->heap);
}

/* Make room for n more bytes; false when out of memory. */
static bool msg_room(msg *m, size_t n)
{
    if (m->len + n <= m->cap)
        return true;
    size_t cap = (m->len + n) * 2;
    uint8_t *h = malloc(cap);
    if (!h)
        return false;
    memcpy(h, m->p, m->len);
    free(m->heap);
    m->heap = m->p = h;
    m->cap = cap;
    return true;
}

static void msg_bytes(msg *m, const void *b, size_t n)
{
    memcpy(m->p + m->len, b, n);
    m->len += n;
}

static void msg_u32(msg *m, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    msg_bytes(m, b, 4);
}

static void msg_u64(msg *m, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    msg_bytes(m, b, 8);
}

static void msg_str(msg *m, const char *s)
{
    size_t n = strlen(s);
    msg_u32(m, (uint32_t)n);
    msg_bytes(m, s, n);
}

/* Worst-case size of str(s). */
static size_t str_size(const char *s)
{
    return 4 + strlen(s);
}

static int no_memory(void)
{
    return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
}

static int txn_salt(uint8_t salt[PG_SALT_LEN], const pg_txn *txn,
                    const pg_change *c)
{
    msg m;
    msg_init(&m);
    if (!msg_room(&m, 18 + PG_SEED_LEN + str_size(txn->collection) +
                          str_size(c->record_id) + str_size(c->field)))
        return no_memory();
    msg_str(&m, "pingan.salt.v1");
    msg_bytes(&m, txn->seed, PG_SEED_LEN);
    msg_str(&m, txn->collection);
    msg_str(&m, c->record_id);
    msg_str(&m, c->field);
    pg_blake2b(salt, PG_SALT_LEN, m.p, m.len);
    msg_free(&m);
    return 0;
}

static int txn_commit(uint8_t commit[PG_HASH_LEN], const pg_change *c)
{
    const pg_value *v = &c->value;
    msg m;
    int error = 0;

    msg_init(&m);
    if (!msg_room(&m,
                  PG_SALT_LEN + 13 + (v->kind == PG_VALUE_TEXT ? v->len : 0)))
        return no_memory();
    msg_bytes(&m, c->salt, PG_SALT_LEN);
    uint8_t tag = (uint8_t)v->kind;
    msg_bytes(&m, &tag, 1);
    switch (v->kind) {
    case PG_VALUE_ABSENT:
        break;
    case PG_VALUE_INT:
        msg_u64(&m, (uint64_t)v->i);
        break;
    case PG_VALUE_REAL: {
        double d = v->r;
        uint64_t bits;
        if (d != d || d - d != 0) {
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                                 "a real value is NaN or infinite");
            break;
        }
        if (d == 0)
            d = 0.0; /* -0 encodes as +0 */
        memcpy(&bits, &d, 8);
        msg_u64(&m, bits);
        break;
    }
    case PG_VALUE_BOOL: {
        uint8_t b = v->b ? 1 : 0;
        msg_bytes(&m, &b, 1);
        break;
    }
    case PG_VALUE_TEXT:
        msg_u32(&m, (uint32_t)v->len);
        msg_bytes(&m, v->s, v->len);
        break;
    default:
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                             "unknown value kind %d", (int)v->kind);
    }
    if (!error)
        pg_blake2b(commit, PG_HASH_LEN, m.p, m.len);
    msg_free(&m);
    return error;
}

static int txn_leaf(uint8_t leaf[PG_HASH_LEN], const pg_txn *txn,
                    const pg_change *c)
{
    msg m;
    msg_init(&m);
    bool merged = !pg_version_is_zero(&c->merged);
    if (!msg_room(&m, 18 + str_size(txn->collection) + str_size(c->record_id) +
                          str_size(c->field) + 8 + str_size(c->base.origin) +
                          PG_HASH_LEN +
                          (merged ? 10 + 8 + str_size(c->merged.origin) : 0)))
        return no_memory();
    msg_str(&m, "pingan.leaf.v1");
    msg_str(&m, txn->collection);
    msg_str(&m, c->record_id);
    msg_str(&m, c->field);
    msg_u64(&m, c->base.hlc);
    msg_str(&m, c->base.origin);
    msg_bytes(&m, c->commit, PG_HASH_LEN);
    /* Only a resolution has the suffix: every other leaf, and so every
     * digest of the first format (the golden vectors), is unchanged. */
    if (merged) {
        msg_str(&m, "merged");
        msg_u64(&m, c->merged.hlc);
        msg_str(&m, c->merged.origin);
    }
    pg_blake2b(leaf, PG_HASH_LEN, m.p, m.len);
    msg_free(&m);
    return 0;
}

static int leaf_cmp(const void *a, const void *b)
{
    return memcmp(a, b, PG_HASH_LEN);
}

/* Recompute what each change's form lets us recompute, then the digest. */
static int txn_digest(pg_txn *txn)
{
    uint8_t small[16][PG_HASH_LEN];
    uint8_t(*leaves)[PG_HASH_LEN] = small;
    int error = 0;

    if (txn->nchanges > 16) {
        leaves = malloc(txn->nchanges * PG_HASH_LEN);
        if (!leaves)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
    }
    for (size_t i = 0; i < txn->nchanges; i++) {
        pg_change *c = &txn->changes[i];
        switch (c->form) {
        case PG_CHANGE_WHOLE:
            if (!txn->has_seed) {
                error = pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                                     "whole change without a seed");
                goto done;
            }
            if ((error = txn_salt(c->salt, txn, c)) < 0)
                goto done;
            /* fall through */
        case PG_CHANGE_SALTED:
            if ((error = txn_commit(c->commit, c)) < 0)
                goto done;
            /* fall through */
        case PG_CHANGE_COMMITTED:
        case PG_CHANGE_DROPPED:
            if ((error = txn_leaf(c->leaf, txn, c)) < 0)
                goto done;
            break;
        }
        memcpy(leaves[i], c->leaf, PG_HASH_LEN);
    }
    qsort(leaves, txn->nchanges, PG_HASH_LEN, leaf_cmp);

    pg_hash_state st;
    uint8_t suite = (uint8_t)txn->suite;
    pg_hash_init(&st, PG_HASH_LEN);
    h_str(&st, "pingan.txn.v1");
    pg_hash_update(&st, &suite, 1);
    h_str(&st, txn->origin);
    h_str(&st, txn->key_id);
    h_u64(&st, txn->seq);
    h_u64(&st, txn->hlc);
    h_str(&st, txn->division);
    h_str(&st, txn->collection);
    h_str(&st, txn->operator_name);
    h_u32(&st, (uint32_t)txn->nchanges);
    pg_hash_update(&st, leaves, txn->nchanges * PG_HASH_LEN);
    pg_hash_final(&st, txn->digest);

done:
    if (leaves != small)
        free(leaves);
    return error;
}

int pg_txn_seal(pg_txn *txn)
{
    if (!txn->has_seed) {
        pg_random(txn->seed, PG_SEED_LEN);
        txn->has_seed = true;
    }
    return txn_digest(txn);
}

void pg_txn_sign(pg_txn *txn, const uint8_t sk[PG_SIGN_SK_LEN])
{
    pg_sign(txn->signature, txn->digest, PG_HASH_LEN, sk);
    txn->has_signature = true;
}

int pg_txn_digest(pg_txn *txn)
{
    return txn_digest(txn);
}

/* A txn can be verified only when it is signed, and with a known suite. */
static int txn_check_signed(const pg_txn *txn)
{
    if (!txn->has_signature)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                            "txn %s/%llu carries no signature", txn->origin,
                            (unsigned long long)txn->seq);
    if (txn->suite != PG_SUITE_SODIUM)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                            "txn %s/%llu uses unknown crypto suite %u",
                            txn->origin, (unsigned long long)txn->seq,
                            txn->suite);
    return 0;
}

int pg_txn_verify_digest(const pg_txn *txn, const uint8_t pk[PG_SIGN_PK_LEN])
{
    int error;

    if ((error = txn_check_signed(txn)) < 0)
        return error;
    if (!pg_verify(txn->signature, txn->digest, PG_HASH_LEN, pk))
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                            "origin signature of txn %s/%llu does not verify",
                            txn->origin, (unsigned long long)txn->seq);
    return 0;
}

int pg_txn_verify(pg_txn *txn, const uint8_t pk[PG_SIGN_PK_LEN])
{
    int error;

    if ((error = txn_check_signed(txn)) < 0)
        return error;
    if ((error = txn_digest(txn)) < 0)
        return error;
    return pg_txn_verify_digest(txn, pk);
}

int pg_txn__salt(uint8_t salt[PG_SALT_LEN], const pg_txn *txn,
                 const pg_change *c)
{
    return txn_salt(salt, txn, c);
}

int pg_txn__commit(uint8_t commit[PG_HASH_LEN], const pg_change *c)
{
    return txn_commit(commit, c);
}
