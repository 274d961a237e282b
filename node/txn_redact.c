/*
 * Redaction of txns: redaction notes and hop signatures (DESIGN §3,
 * proto/FORMAT.md "Redaction notes and hop signatures").
 *
 * A hop that withholds a change (DROPPED: its commit only) or replaces its
 * value by a derived text (COMMITTED: commit and text) keeps every leaf,
 * so the origin's signature over the digest still verifies.  What the hop
 * did is told by a note per change (hop, policy, record id, field,
 * transform, the hash of the derived text), and the hop signs the digest
 * with every note so far: a later hop can add notes but not alter, remove
 * or reorder those signed before it.
 *
 * The derived text itself is not checkable against the commit: the hop
 * that made it stays accountable for it through its note's derived_hash.
 */
#include "pingan/error.h"
#include "error_internal.h"
#include "pingan/txn.h"
#include "pingan/ulid.h"
#include "txn_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_ID_MAX_LEN 64

static const char *const transforms[] = {"drop", "mask", "hash", "generalize"};

static bool is_transform(const char *s)
{
    for (size_t i = 0; s && i < sizeof(transforms) / sizeof(transforms[0]); i++)
        if (strcmp(s, transforms[i]) == 0)
            return true;
    return false;
}

static bool is_drop(const char *transform)
{
    return transform && strcmp(transform, "drop") == 0;
}

static bool is_policy_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= PG_POLICY_ID_MAX && pg_label_valid(s, n);
}

static bool is_record_id(const char *s)
{
    return s && strlen(s) <= RECORD_ID_MAX_LEN && pg_record_id_valid(s, NULL);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* What is wrong with one note's own fields, or NULL. */
static const char *note_problem(const pg_note *n)
{
    if (!pg_txn__is_code(n->hop))
        return "hop is not a division code";
    if (!is_policy_id(n->policy_id))
        return "policy id missing, longer than 64 bytes or not a label";
    if (!is_record_id(n->record_id))
        return "record id is not CODE-ULID";
    if (!pg_txn__is_name(n->field, PG_TXN__NAME_MAX))
        return "field name missing or malformed";
    if (!is_transform(n->transform))
        return "transform is not drop, mask, hash or generalize";
    if (is_drop(n->transform) && !all_zero(n->derived_hash, PG_HASH_LEN))
        return "a drop has a derived hash";
    return NULL;
}

int pg_txn__check_notes(const pg_txn *txn, char *what, size_t len)
{
    uint32_t prev = 0;

    if (txn->nnotes > PG_TXN_MAX_NOTES) {
        snprintf(what, len, "more than %d redaction notes", PG_TXN_MAX_NOTES);
        return -1;
    }
    if (txn->nhop_sigs > PG_TXN_MAX_HOP_SIGS) {
        snprintf(what, len, "more than %d hop signatures", PG_TXN_MAX_HOP_SIGS);
        return -1;
    }
    if (txn->has_seed && (txn->nnotes || txn->nhop_sigs)) {
        snprintf(what, len,
                 "redaction notes or hop signatures with the seed (a "
                 "redacting hop withholds it)");
        return -1;
    }
    for (size_t k = 0; k < txn->nnotes; k++) {
        const char *p = note_problem(&txn->notes[k]);
        if (p) {
            snprintf(what, len, "redaction note %zu: %s", k + 1, p);
            return -1;
        }
    }
    for (size_t j = 0; j < txn->nhop_sigs; j++) {
        const pg_hop_sig *s = &txn->hop_sigs[j];
        if (!pg_txn__is_code(s->hop)) {
            snprintf(what, len, "hop signature %zu: hop is not a division code",
                     j + 1);
            return -1;
        }
        if (!pg_txn__is_hex(s->key_id, PG_KEY_ID_LEN)) {
            snprintf(what, len,
                     "hop signature %zu (hop %s): key id is not 16 "
                     "lower-case hex digits",
                     j + 1, s->hop);
            return -1;
        }
        if (s->notes <= prev || s->notes > txn->nnotes) {
            snprintf(what, len,
                     "hop signature %zu (hop %s) covers %u notes: the counts "
                     "must increase strictly, up to the %zu notes",
                     j + 1, s->hop, s->notes, txn->nnotes);
            return -1;
        }
        for (size_t i = 0; i < j; i++)
            if (strcmp(txn->hop_sigs[i].hop, s->hop) == 0) {
                snprintf(what, len, "hop %s signs twice (signatures %zu, %zu)",
                         s->hop, i + 1, j + 1);
                return -1;
            }
        for (size_t k = prev; k < s->notes; k++)
            if (strcmp(txn->notes[k].hop, s->hop) != 0) {
                snprintf(what, len,
                         "redaction note %zu is by hop %s but signed by hop %s",
                         k + 1, txn->notes[k].hop, s->hop);
                return -1;
            }
        prev = s->notes;
    }
    if (prev != txn->nnotes) {
        snprintf(what, len,
                 "%zu redaction notes but the hop signatures cover %u: a note "
                 "is signed by no hop",
                 txn->nnotes, prev);
        return -1;
    }
    return 0;
}

/* --- the hop signature's message --------------------------------------- */

static void h_u32(pg_hash_state *st, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    pg_hash_update(st, b, 4);
}

static void h_str(pg_hash_state *st, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    h_u32(st, (uint32_t)n);
    pg_hash_update(st, s, n);
}

/*
 * BLAKE2b-256(str("pingan.hop.v1") ‖ digest ‖ str(hop) ‖ str(key id)
 *             ‖ u32 count ‖ note_1 ‖ … ‖ note_count)
 * note = str(hop) ‖ str(policy id) ‖ policy hash ‖ str(record id)
 *        ‖ str(field) ‖ str(transform) ‖ derived hash
 */
static void hop_message(uint8_t out[PG_HASH_LEN], const pg_txn *txn,
                        const char *hop, const char *key_id, uint32_t count)
{
    pg_hash_state st;

    pg_hash_init(&st, PG_HASH_LEN);
    h_str(&st, "pingan.hop.v1");
    pg_hash_update(&st, txn->digest, PG_HASH_LEN);
    h_str(&st, hop);
    h_str(&st, key_id);
    h_u32(&st, count);
    for (uint32_t k = 0; k < count; k++) {
        const pg_note *n = &txn->notes[k];
        h_str(&st, n->hop);
        h_str(&st, n->policy_id);
        pg_hash_update(&st, n->policy_hash, PG_HASH_LEN);
        h_str(&st, n->record_id);
        h_str(&st, n->field);
        h_str(&st, n->transform);
        pg_hash_update(&st, n->derived_hash, PG_HASH_LEN);
    }
    pg_hash_final(&st, out);
}

/* --- redacting ---------------------------------------------------------- */

static int redact_invalid(const pg_txn *txn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int redact_invalid(const pg_txn *txn, const char *fmt, ...)
{
    pg_error__text msg;
    va_list ap;
    va_start(ap, fmt);
    pg_error__vtextf(&msg, fmt, ap);
    va_end(ap);
    return pg_error__wrap(PG_EINVALID, PG_ERRCLASS_TXN, &msg, "txn %s/%llu: %s",
                          txn->origin, (unsigned long long)txn->seq, msg.en);
}

static int nomem(void)
{
    return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
}

const char *pg_txn__last_transform(const pg_txn *txn, const pg_change *ch)
{
    for (size_t k = txn->nnotes; k-- > 0;)
        if (strcmp(txn->notes[k].record_id, ch->record_id) == 0 &&
            strcmp(txn->notes[k].field, ch->field) == 0)
            return txn->notes[k].transform;
    return NULL;
}

/* The notes since the last hop signature (those the next one covers). */
static size_t unsigned_from(const pg_txn *txn)
{
    return txn->nhop_sigs ? txn->hop_sigs[txn->nhop_sigs - 1].notes : 0;
}

/* May @p hop add a note now: it has not signed yet, and the notes not
 * signed yet are its own. */
static int check_hop_may_note(const pg_txn *txn, const char *hop)
{
    for (size_t j = 0; j < txn->nhop_sigs; j++)
        if (strcmp(txn->hop_sigs[j].hop, hop) == 0)
            return redact_invalid(txn, "hop %s has signed it already", hop);
    for (size_t k = unsigned_from(txn); k < txn->nnotes; k++)
        if (strcmp(txn->notes[k].hop, hop) != 0)
            return redact_invalid(txn,
                                  "the redaction notes of hop %s are not "
                                  "signed yet: hop %s cannot add its own",
                                  txn->notes[k].hop, hop);
    return 0;
}

/* The common part of drop (derived NULL) and derive. */
static int redact(pg_txn *txn, size_t i, const char *derived,
                  const char *transform, const char *hop, const char *policy_id,
                  const uint8_t policy_hash[PG_HASH_LEN])
{
    int error;

    if (i >= txn->nchanges) {
        return redact_invalid(txn, "no change %zu to redact (it has %zu)", i,
                              txn->nchanges);
    }
    pg_change *c = &txn->changes[i];
    if (!pg_txn__is_code(hop))
        return redact_invalid(txn, "redacting hop '%s' is not a division code",
                              hop ? hop : "");
    if (!is_policy_id(policy_id))
        return redact_invalid(txn,
                              "policy id of %s %s missing, longer than 64 "
                              "bytes or not a label",
                              c->record_id, c->field);
    if (derived) {
        if (!is_transform(transform) || is_drop(transform))
            return redact_invalid(txn,
                                  "'%s' is not a transform that derives a "
                                  "text (mask, hash, generalize)",
                                  transform ? transform : "");
        if (strlen(derived) > PG_TEXT_MAX ||
            !pg_utf8_valid(derived, strlen(derived)))
            return redact_invalid(txn,
                                  "derived text of %s %s longer than 8192 "
                                  "bytes or not UTF-8",
                                  c->record_id, c->field);
    }
    if (c->form == PG_CHANGE_DROPPED)
        return redact_invalid(txn, "change %s %s is dropped already",
                              c->record_id, c->field);
    if (derived && c->form == PG_CHANGE_COMMITTED)
        return redact_invalid(txn,
                              "change %s %s is transformed already: it may "
                              "only be dropped",
                              c->record_id, c->field);
    if (c->form == PG_CHANGE_WHOLE && !txn->has_seed)
        return redact_invalid(txn, "whole change %s %s without a seed",
                              c->record_id, c->field);
    if ((error = check_hop_may_note(txn, hop)) < 0)
        return error;
    if (txn->nnotes >= PG_TXN_MAX_NOTES)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_TXN,
                            "txn %s/%llu: a txn carries at most %d redaction "
                            "notes",
                            txn->origin, (unsigned long long)txn->seq,
                            PG_TXN_MAX_NOTES);
    if ((error = pg_txn__reserve_notes(txn, txn->nnotes + 1)) < 0)
        return error;

    /* Everything that can fail, before anything changes. */
    pg_note note;
    memset(&note, 0, sizeof(note));
    memcpy(note.hop, hop, PG_CODE_LEN + 1);
    memcpy(note.policy_hash, policy_hash, PG_HASH_LEN);
    note.policy_id = pg_txn__strndup(txn, policy_id, strlen(policy_id));
    note.record_id = pg_txn__strndup(txn, c->record_id, strlen(c->record_id));
    note.field = pg_txn__strndup(txn, c->field, strlen(c->field));
    note.transform = pg_txn__strndup(txn, derived ? transform : "drop",
                                     derived ? strlen(transform) : 4);
    char *dcopy =
        derived ? pg_txn__strndup(txn, derived, strlen(derived)) : NULL;
    if (!note.policy_id || !note.record_id || !note.field || !note.transform ||
        (derived && !dcopy))
        return nomem();
    if (derived)
        pg_blake2b(note.derived_hash, PG_HASH_LEN, derived, strlen(derived));

    /* The commit, from what the txn reveals (a committed change carries
     * it already). */
    uint8_t commit[PG_HASH_LEN];
    if (c->form == PG_CHANGE_COMMITTED) {
        memcpy(commit, c->commit, PG_HASH_LEN);
    } else {
        pg_change tmp = *c;
        if ((c->form == PG_CHANGE_WHOLE &&
             (error = pg_txn__salt(tmp.salt, txn, c)) < 0) ||
            (error = pg_txn__commit(commit, &tmp)) < 0)
            return error;
    }
    /* The first redaction withholds the seed: every other whole change
     * keeps its salt instead.  Writing a whole change's salt changes
     * nothing yet (it is the one the seed gives). */
    if (txn->has_seed)
        for (size_t j = 0; j < txn->nchanges; j++)
            if (txn->changes[j].form == PG_CHANGE_WHOLE &&
                (error = pg_txn__salt(txn->changes[j].salt, txn,
                                      &txn->changes[j])) < 0)
                return error;

    /* Now change the txn. */
    if (txn->has_seed) {
        for (size_t j = 0; j < txn->nchanges; j++)
            if (txn->changes[j].form == PG_CHANGE_WHOLE)
                txn->changes[j].form = PG_CHANGE_SALTED;
        txn->has_seed = false;
        pg_memzero(txn->seed, PG_SEED_LEN);
    }
    memcpy(c->commit, commit, PG_HASH_LEN);
    if (c->text)
        pg_memzero(c->text, c->value.len);
    c->text = NULL;
    memset(&c->value, 0, sizeof(c->value));
    pg_memzero(c->salt, PG_SALT_LEN);
    c->form = derived ? PG_CHANGE_COMMITTED : PG_CHANGE_DROPPED;
    c->derived = dcopy;
    txn->notes[txn->nnotes++] = note;
    return 0;
}

int pg_txn_redact_drop(pg_txn *txn, size_t i, const char *hop,
                       const char *policy_id,
                       const uint8_t policy_hash[PG_HASH_LEN])
{
    return redact(txn, i, NULL, NULL, hop, policy_id, policy_hash);
}

int pg_txn_redact_derive(pg_txn *txn, size_t i, const char *derived,
                         const char *transform, const char *hop,
                         const char *policy_id,
                         const uint8_t policy_hash[PG_HASH_LEN])
{
    if (!derived)
        return redact_invalid(txn, "no derived text");
    return redact(txn, i, derived, transform, hop, policy_id, policy_hash);
}

int pg_txn_hop_sign(pg_txn *txn, const char *hop, const char *key_id,
                    const uint8_t sk[PG_SIGN_SK_LEN])
{
    uint8_t pk[PG_SIGN_PK_LEN], h[PG_HASH_LEN];
    char kid[PG_KEY_ID_LEN + 1];
    int error;

    if (!pg_txn__is_code(hop))
        return redact_invalid(txn, "signing hop '%s' is not a division code",
                              hop ? hop : "");
    if (!pg_txn__is_hex(key_id, PG_KEY_ID_LEN))
        return redact_invalid(txn,
                              "key id '%s' of hop %s is not 16 lower-case "
                              "hex digits",
                              key_id ? key_id : "", hop);
    pg_sign_public(pk, sk);
    pg_key_id(kid, pk);
    if (strcmp(kid, key_id) != 0)
        return redact_invalid(txn, "key id %s is not that of the key of hop %s",
                              key_id, hop);
    size_t from = unsigned_from(txn);
    if (from == txn->nnotes)
        return 0;
    if ((error = check_hop_may_note(txn, hop)) < 0)
        return error;
    if (txn->nhop_sigs >= PG_TXN_MAX_HOP_SIGS)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_TXN,
                            "txn %s/%llu: a txn carries at most %d hop "
                            "signatures",
                            txn->origin, (unsigned long long)txn->seq,
                            PG_TXN_MAX_HOP_SIGS);
    if ((error = pg_txn__reserve_hop_sigs(txn, txn->nhop_sigs + 1)) < 0 ||
        (error = pg_txn_digest(txn)) < 0)
        return error;

    pg_hop_sig *s = &txn->hop_sigs[txn->nhop_sigs];
    memset(s, 0, sizeof(*s));
    memcpy(s->hop, hop, PG_CODE_LEN + 1);
    memcpy(s->key_id, key_id, PG_KEY_ID_LEN + 1);
    s->notes = (uint32_t)txn->nnotes;
    hop_message(h, txn, s->hop, s->key_id, s->notes);
    pg_sign(s->signature, h, PG_HASH_LEN, sk);
    txn->nhop_sigs++;
    return 0;
}

/* --- verifying ----------------------------------------------------------- */

static int notes_invalid(const pg_txn *txn, const char *what)
{
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_TXN,
                        "redaction of txn %s/%llu: %s", txn->origin,
                        (unsigned long long)txn->seq, what);
}

static int change_ptr_cmp(const void *a, const void *b)
{
    const pg_change *x = *(const pg_change *const *)a;
    const pg_change *y = *(const pg_change *const *)b;
    int c = strcmp(x->record_id, y->record_id);
    return c ? c : strcmp(x->field, y->field);
}

/* Index of the change to (record id, field) in txn->changes, or SIZE_MAX. */
static size_t find_change(const pg_txn *txn, const pg_change **sorted,
                          const char *record_id, const char *field)
{
    pg_change key;
    const pg_change *kp = &key;
    memset(&key, 0, sizeof(key));
    key.record_id = (char *)record_id;
    key.field = (char *)field;
    const pg_change **hit =
        bsearch(&kp, sorted, txn->nchanges, sizeof(*sorted), change_ptr_cmp);
    return hit ? (size_t)(*hit - txn->changes) : SIZE_MAX;
}

/* Every withheld change explained by its last note, no revealed change
 * with a note, every note naming a change. */
static int check_changes(const pg_txn *txn)
{
    size_t n = txn->nchanges;
    const pg_change **sorted = malloc((n ? n : 1) * sizeof(*sorted));
    size_t *last = malloc((n ? n : 1) * sizeof(*last));
    char what[400];
    int error = 0;

    if (!sorted || !last) {
        error = nomem();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sorted[i] = &txn->changes[i];
        last[i] = SIZE_MAX;
    }
    qsort(sorted, n, sizeof(*sorted), change_ptr_cmp);
    for (size_t k = 0; k < txn->nnotes; k++) {
        const pg_note *note = &txn->notes[k];
        size_t i = find_change(txn, sorted, note->record_id, note->field);
        if (i == SIZE_MAX) {
            snprintf(what, sizeof(what),
                     "redaction note %zu (hop %s) names %s %s, not a change "
                     "of the txn",
                     k + 1, note->hop, note->record_id, note->field);
            error = notes_invalid(txn, what);
            goto done;
        }
        last[i] = k;
    }
    for (size_t i = 0; i < n && !error; i++) {
        const pg_change *c = &txn->changes[i];
        const pg_note *note = last[i] == SIZE_MAX ? NULL : &txn->notes[last[i]];
        uint8_t h[PG_HASH_LEN];
        what[0] = 0;
        switch (c->form) {
        case PG_CHANGE_WHOLE:
        case PG_CHANGE_SALTED:
            if (note)
                snprintf(what, sizeof(what),
                         "redaction note %zu (hop %s, %s) is for %s %s, which "
                         "the txn reveals",
                         last[i] + 1, note->hop, note->transform, c->record_id,
                         c->field);
            break;
        case PG_CHANGE_DROPPED:
            if (!note)
                snprintf(what, sizeof(what),
                         "dropped change %s %s has no redaction note",
                         c->record_id, c->field);
            else if (!is_drop(note->transform))
                snprintf(what, sizeof(what),
                         "dropped change %s %s: its last redaction note (%zu, "
                         "hop %s) says %s",
                         c->record_id, c->field, last[i] + 1, note->hop,
                         note->transform);
            break;
        case PG_CHANGE_COMMITTED: {
            if (!note) {
                snprintf(what, sizeof(what),
                         "transformed change %s %s has no redaction note",
                         c->record_id, c->field);
                break;
            }
            if (is_drop(note->transform)) {
                snprintf(what, sizeof(what),
                         "transformed change %s %s: its last redaction note "
                         "(%zu, hop %s) says drop",
                         c->record_id, c->field, last[i] + 1, note->hop);
                break;
            }
            const char *d = c->derived ? c->derived : "";
            pg_blake2b(h, PG_HASH_LEN, d, strlen(d));
            if (memcmp(h, note->derived_hash, PG_HASH_LEN) != 0)
                snprintf(what, sizeof(what),
                         "the derived text of %s %s does not match the "
                         "derived_hash of redaction note %zu (hop %s)",
                         c->record_id, c->field, last[i] + 1, note->hop);
            break;
        }
        }
        if (what[0])
            error = notes_invalid(txn, what);
    }

done:
    free(sorted);
    free(last);
    return error;
}

int pg_txn_verify_notes(const pg_txn *txn, pg_hop_key_fn fn, void *ctx)
{
    char what[400];
    int error;

    if (pg_txn__check_notes(txn, what, sizeof(what)) < 0)
        return notes_invalid(txn, what);
    for (size_t i = 0; i < txn->nchanges; i++)
        if (!txn->changes[i].record_id || !txn->changes[i].field)
            return notes_invalid(txn, "a change without record id or field");
    if ((error = check_changes(txn)) < 0)
        return error;
    if (txn->nhop_sigs && txn->suite != PG_SUITE_SODIUM)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                            "txn %s/%llu uses unknown crypto suite %u",
                            txn->origin, (unsigned long long)txn->seq,
                            txn->suite);
    for (size_t j = 0; j < txn->nhop_sigs; j++) {
        const pg_hop_sig *s = &txn->hop_sigs[j];
        uint8_t pk[PG_SIGN_PK_LEN], h[PG_HASH_LEN];
        char kid[PG_KEY_ID_LEN + 1];
        error = fn(ctx, s->hop, s->key_id, pk);
        if (error == PG_ENOTFOUND)
            return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_TXN,
                                "txn %s/%llu: the key %s of hop %s is not "
                                "known here",
                                txn->origin, (unsigned long long)txn->seq,
                                s->key_id, s->hop);
        if (error < 0)
            return error;
        if (error > 0)
            return pg_error_set(PG_ERROR, PG_ERRCLASS_TXN,
                                "looking up the key of hop %s failed", s->hop);
        pg_key_id(kid, pk);
        if (strcmp(kid, s->key_id) != 0)
            return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                                "txn %s/%llu: the key given for hop %s has key "
                                "id %s, not %s",
                                txn->origin, (unsigned long long)txn->seq,
                                s->hop, kid, s->key_id);
        hop_message(h, txn, s->hop, s->key_id, s->notes);
        if (!pg_verify(s->signature, h, PG_HASH_LEN, pk))
            return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                                "txn %s/%llu: the signature of hop %s (key "
                                "%s) over %u redaction notes does not verify",
                                txn->origin, (unsigned long long)txn->seq,
                                s->hop, s->key_id, s->notes);
    }
    return 0;
}
