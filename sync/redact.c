/*
 * Redaction for one link (redact.h).  A collection whose fields all pass
 * unchanged and that has no record condition is copied byte for byte,
 * without decoding: that is the common case on links inside the city.
 */
#include "redact.h"
#include "node_internal.h"
#include "store.h"
#include "txn_internal.h"
#include "pingan/error.h"
#include "pingan/schema.h"
#include "pingan/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDACT_COUNTS_MAX 512

struct pg_redactor {
    pg_node *node;
    signed char identity[32]; /* per collection: -1 unknown, 0, 1 */
    const pg_peer *peer;
    const pg_policy *policy;
    bool has_key;
    uint8_t key[PG_PSEUDONYM_KEY_LEN];
    pg_buf out;
    pg_buf derived;
    pg_redact_count counts[REDACT_COUNTS_MAX];
    size_t ncounts;
    pg_buf pend; /* this txn's (collection, field, transform) so far */
    pg_buf met;  /* records of sent txns that met the condition */
    pg_buf met_txn;
    bool count_all;
    uint64_t skipped;
    const pg_schema *link; /* the link's schema version */
    unsigned held;         /* of the last txn: the version it needs */
};

int pg_redactor_new(pg_redactor **out, pg_node *node, const pg_peer *peer,
                    const pg_policy *policy)
{
    pg_redactor *r = calloc(1, sizeof(*r));
    int error = 0;

    *out = NULL;
    if (!r)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    memset(r->identity, -1, sizeof(r->identity));
    r->node = node;
    r->link = node->schema;
    r->peer = peer;
    r->policy = policy;
    /* A redacted txn grows by its notes: room for the largest batch a
     * bundle takes (PG_BUNDLE_BATCH_MAX, 2 MiB) and more. */
    pg_buf_init(&r->out, 4 * 1024 * 1024);
    pg_buf_init(&r->derived, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&r->pend, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&r->met, PG_BUF_DEFAULT_MAX);
    pg_buf_init(&r->met_txn, PG_BUF_DEFAULT_MAX);
    if (peer->role == PG_PEER_PARTNER) {
        char id[PG_PSEUDONYM_KEY_ID_LEN + 1];
        if ((error = pg_policy_pseudonym_key(r->key, id, node, peer, policy)) <
            0) {
            pg_redactor_free(r);
            return error;
        }
        r->has_key = true;
    }
    *out = r;
    return 0;
}

void pg_redactor_free(pg_redactor *r)
{
    if (!r)
        return;
    pg_memzero(r->key, sizeof(r->key));
    pg_buf_dispose(&r->out);
    pg_buf_dispose(&r->derived);
    pg_buf_dispose(&r->pend);
    pg_buf_dispose(&r->met);
    pg_buf_dispose(&r->met_txn);
    free(r);
}

const pg_redact_count *pg_redactor_counts(const pg_redactor *r, size_t *n,
                                          uint64_t *skipped)
{
    *n = r->ncounts;
    *skipped = r->skipped;
    return r->counts;
}

typedef struct pend_count {
    const pg_collection *coll;
    const pg_field *f;
    pg_transform t;
} pend_count;

/* Count what was done to one change, once its txn is known to go. */
static void redact_count(pg_redactor *r, const pg_collection *coll,
                         const pg_field *f, pg_transform t)
{
    pend_count p = {coll, f, t};
    if (pg_buf_put(&r->pend, &p, sizeof(p)) < 0)
        pg_error_clear(); /* counts are for display only */
}

static void count_add(pg_redactor *r, const pg_collection *coll,
                      const pg_field *f, pg_transform t)
{
    for (size_t i = 0; i < r->ncounts; i++)
        if (r->counts[i].field == f->name &&
            r->counts[i].collection == coll->name) {
            r->counts[i].counts[t]++;
            return;
        }
    if (r->ncounts == REDACT_COUNTS_MAX)
        return;
    pg_redact_count *c = &r->counts[r->ncounts++];
    memset(c, 0, sizeof(*c));
    c->collection = coll->name;
    c->field = f->name;
    c->counts[t]++;
}

static void counts_commit(pg_redactor *r, bool sent)
{
    const pend_count *p = (const pend_count *)(void *)r->pend.data;
    for (size_t i = 0; sent && i < r->pend.len / sizeof(*p); i++)
        count_add(r, p[i].coll, p[i].f, p[i].t);
    pg_buf_clear(&r->pend);
    if (sent && r->met_txn.len &&
        pg_buf_put(&r->met, r->met_txn.data, r->met_txn.len) < 0)
        pg_error_clear(); /* the next export sends the history again */
    pg_buf_clear(&r->met_txn);
}

void pg_redactor_set_schema(pg_redactor *r, const pg_schema *link)
{
    r->link = link ? link : r->node->schema;
}

unsigned pg_redactor_held(const pg_redactor *r)
{
    return r->held;
}

void pg_redactor_count_all(pg_redactor *r)
{
    r->count_all = true;
}

const pg_buf *pg_redactor_met(const pg_redactor *r)
{
    return &r->met;
}

/* Does the collection pass this link unchanged? */
static bool redact_identity_of(const pg_redactor *r, const pg_collection *coll)
{
    const pg_field *cf;
    pg_value cv;

    if (coll->system)
        return true;
    if (pg_policy_condition(r->policy, coll, &cf, &cv))
        return false;
    for (size_t f = 0; f <= coll->nfields; f++)
        if (pg_policy_transform(r->policy, coll,
                                pg_collection_field_at(coll, f)) != PG_XF_KEEP)
            return false;
    return true;
}

static bool redact_identity(pg_redactor *r, const pg_collection *coll)
{
    const pg_schema *schema = r->node->schema;
    for (size_t i = 0; i < schema->ncollections && i < 32; i++)
        if (schema->collections[i] == coll) {
            if (r->identity[i] < 0)
                r->identity[i] = redact_identity_of(r, coll) ? 1 : 0;
            return r->identity[i] == 1;
        }
    return redact_identity_of(r, coll);
}

/* Does the record meet the link's condition now? */
int pg_redactor_meets(bool *out, pg_redactor *r, const pg_collection *coll,
                      const char *rid)
{
    const pg_field *cf;
    pg_value cv;
    sqlite3_stmt *st = NULL;
    char sql[200];
    int rc;

    *out = true;
    if (!pg_policy_condition(r->policy, coll, &cf, &cv))
        return 0;
    *out = false;
    snprintf(sql, sizeof(sql), "SELECT \"%s\" FROM \"%s\" WHERE id = ?",
             cf->name, coll->name);
    rc = sqlite3_prepare_v2(r->node->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(r->node->db, rc, "reading a record");
    sqlite3_bind_text(st, 1, rid, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        switch (cv.kind) {
        case PG_VALUE_BOOL:
            *out = sqlite3_column_type(st, 0) != SQLITE_NULL &&
                   (sqlite3_column_int64(st, 0) != 0) == cv.b;
            break;
        case PG_VALUE_INT:
            *out = sqlite3_column_type(st, 0) != SQLITE_NULL &&
                   sqlite3_column_int64(st, 0) == cv.i;
            break;
        case PG_VALUE_TEXT: {
            const char *s = (const char *)sqlite3_column_text(st, 0);
            *out = s && strlen(s) == cv.len && memcmp(s, cv.s, cv.len) == 0;
            break;
        }
        default:
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : pg_store__error(r->node->db, rc, "reading a record");
}

/* Redact change i under transform t; *changed when a note was added. */
/* This node adds notes after its own last signature only: a copy it
 * signed itself last (its purge notes, node/purge.c) has that signature
 * taken back here; pg_redactor_apply signs anew over all the notes. */
static void take_back_own_sig(pg_txn *txn, const char *me)
{
    if (txn->nhop_sigs &&
        strcmp(txn->hop_sigs[txn->nhop_sigs - 1].hop, me) == 0)
        txn->nhop_sigs--;
}

static int redact_change(pg_redactor *r, pg_txn *txn, size_t i,
                         const pg_collection *coll, const pg_field *f,
                         pg_transform t, bool *changed)
{
    pg_change *ch = &txn->changes[i];
    const char *me = r->node->card.code;
    const char *pid = pg_policy_id(r->policy);
    const uint8_t *phash = pg_policy_hash(r->policy);
    int error;

    if (ch->form == PG_CHANGE_DROPPED) {
        redact_count(r, coll, f, PG_XF_DROP);
        return 0;
    }
    if (ch->form == PG_CHANGE_COMMITTED) {
        /* Already transformed upstream: the same transform passes as it
         * is, anything else can only withhold it. */
        const char *prev = pg_txn__last_transform(txn, ch);
        if (t == PG_XF_KEEP ||
            (prev && strcmp(prev, pg_transform_name(t)) == 0)) {
            redact_count(r, coll, f, t == PG_XF_KEEP ? PG_XF_KEEP : t);
            return 0;
        }
        t = PG_XF_DROP;
    }
    if (t == PG_XF_KEEP) {
        redact_count(r, coll, f, PG_XF_KEEP);
        return 0;
    }
    /* A cleared value reveals nothing to mask. */
    if (t != PG_XF_DROP && ch->value.kind == PG_VALUE_ABSENT &&
        ch->form != PG_CHANGE_COMMITTED) {
        redact_count(r, coll, f, PG_XF_KEEP);
        return 0;
    }
    if (t != PG_XF_DROP) {
        error = pg_transform_value(&r->derived, t, f, &ch->value, txn->division,
                                   r->has_key ? r->key : NULL);
        if (error == PG_EINVALID) {
            pg_error_clear();
            t = PG_XF_DROP;
        } else if (error < 0) {
            return error;
        }
    }
    take_back_own_sig(txn, me);
    if (t == PG_XF_DROP)
        error = pg_txn_redact_drop(txn, i, me, pid, phash);
    else
        error = pg_txn_redact_derive(txn, i, (const char *)r->derived.data,
                                     pg_transform_name(t), me, pid, phash);
    if (error < 0)
        return error;
    redact_count(r, coll, f, t);
    *changed = true;
    return 0;
}

int pg_redactor_apply(pg_redactor *r, const char *collection,
                      const uint8_t *body, size_t len, const uint8_t **out,
                      size_t *out_len, bool *skip)
{
    pg_txn *txn = NULL;
    const pg_collection *coll;
    bool changed = false, any = false;
    int error;

    *out = body;
    *out_len = len;
    *skip = false;
    r->held = 0;
    coll = pg_schema_collection(r->node->schema, collection);
    /* A collection newer than the link's version waits for the peer. */
    const pg_collection *lcoll = pg_schema_collection(r->link, collection);
    if (coll && !lcoll) {
        r->held = coll->since;
        *skip = true;
        return 0;
    }
    /* Certificates are public and pass whole. */
    if (!coll || coll->system)
        return 0;
    bool narrower = lcoll->nfields < coll->nfields;
    if (!narrower && !r->count_all && r->peer->role != PG_PEER_PARTNER &&
        redact_identity(r, coll))
        return 0;
    if ((error = pg_txn_decode(&txn, body, len)) < 0 ||
        (error = pg_txn_digest(txn)) < 0) {
        pg_txn_free(txn);
        pg_error_clear();
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "a txn of the log does not decode");
    }
    coll = pg_schema_collection(r->node->schema, txn->collection);
    if (!coll) {
        pg_txn_free(txn);
        return 0;
    }
    for (size_t lo = 0, hi; lo < txn->nchanges; lo = hi) {
        const char *rid = txn->changes[lo].record_id;
        bool meets;
        for (hi = lo + 1;
             hi < txn->nchanges && strcmp(txn->changes[hi].record_id, rid) == 0;
             hi++)
            ;
        if ((error = pg_redactor_meets(&meets, r, coll, rid)) < 0)
            goto done;
        any |= meets;
        if (meets && r->peer->role == PG_PEER_PARTNER &&
            ((error = pg_buf_put(&r->met_txn, coll->name,
                                 strlen(coll->name) + 1)) < 0 ||
             (error = pg_buf_put(&r->met_txn, rid, strlen(rid) + 1)) < 0))
            goto done;
        for (size_t i = lo; i < hi; i++) {
            const pg_field *f =
                pg_collection_field(coll, txn->changes[i].field, NULL);
            if (!f)
                continue;
            /* A field newer than the link's version: withheld whole,
             * sent again once the peer has it. */
            if (narrower && strcmp(f->name, "_deleted") != 0 &&
                !pg_collection_field(lcoll, f->name, NULL)) {
                if (f->since > r->held)
                    r->held = f->since;
                if (txn->changes[i].form != PG_CHANGE_DROPPED &&
                    (error = redact_change(r, txn, i, coll, f, PG_XF_DROP,
                                           &changed)) < 0)
                    goto done;
                continue;
            }
            /* The division and the tombstone always pass: a receiver
             * refuses them redacted, and they reveal only that the
             * record exists, which its id in the txn says anyway. */
            bool frame =
                f == &coll->fields[0] || strcmp(f->name, "_deleted") == 0;
            pg_transform t = meets || frame
                                 ? pg_policy_transform(r->policy, coll, f)
                                 : PG_XF_DROP;
            if (meets || txn->changes[i].form != PG_CHANGE_DROPPED)
                if ((error = redact_change(r, txn, i, coll, f, t, &changed)) <
                    0)
                    goto done;
        }
    }
    if (!any) {
        *skip = true;
        r->skipped++;
        goto done;
    }
    if (!changed)
        goto done;
    if ((error = pg_txn_hop_sign(txn, r->node->card.code, r->node->card.key_id,
                                 r->node->sign_sk)) < 0)
        goto done;
    pg_buf_clear(&r->out);
    if ((error = pg_txn_encode(&r->out, txn)) < 0)
        goto done;
    *out = r->out.data;
    *out_len = r->out.len;

done:
    counts_commit(r, error == 0 && !*skip);
    pg_txn_free(txn);
    return error;
}
