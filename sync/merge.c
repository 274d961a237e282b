/*
 * Merging received txns (DESIGN §5, §6; the contract is sync/merge.h).
 *
 * Checks, in this order, each ending the txn's journey with an outcome:
 *
 *   decode, digest       malformed                        QUARANTINED
 *   identity             in the log with this digest, or
 *                        quarantined with these bytes     DUPLICATE
 *   signer               card unknown                     PENDING
 *                        key id or signature wrong        QUARANTINED
 *   equivocation         another digest for (origin, seq)
 *                        that the origin signed too       QUARANTINED
 *   clock                more than 1 h ahead              PENDING
 *   jurisdiction         DESIGN §6                        QUARANTINED
 *   schema               unknown names, invalid values    QUARANTINED
 *   apply                per field, below                 APPLIED
 *
 * Equivocation is decided once the signature verified: a copy with a
 * forged signature is the forger's doing, not the origin's, and must not
 * get a genuine txn quarantined (nor, arriving first, hide it: a
 * quarantined copy is a duplicate only when its bytes are the same).
 *
 * Applying, per change of a whole or salted form (committed and dropped
 * changes are logged, not applied: a redacted value is not the value):
 *
 * | merge      | stored value becomes              | `_v` becomes       |
 * |------------|-----------------------------------|--------------------|
 * | lww        | the change's, if (hlc, origin) is | the winner's       |
 * |            | higher than the current version's |                    |
 * | authority  | the change's, if its origin's tier|  the winner's      |
 * |            | is higher, or equal and lww wins  |                    |
 * | counter    | current + increment (mod 2^64)    | the higher version |
 * | `_deleted` | as lww: a tombstone               | the winner's       |
 *
 * Every change that is not a base-less first write goes to `hist` with
 * the version it competes with, and the field's conflicts are recomputed
 * from its history (node/write.c): the outcome depends on the set of
 * changes held, never on their order.  A change whose ancestry has a link
 * not held yet (its base arrives later) is in no reported conflict until
 * the link arrives, so causally ordered writes never show as conflicts.  A
 * change may arrive before the record's creation: the row is made with the
 * txn's division and the fields given, and the creation merges later like any
 * change.
 *
 * Each txn is applied under a savepoint, so a check that fails half-way
 * (an existing record of another division) leaves nothing behind.
 */
#include "merge.h"
#include "error_internal.h"
#include "keys.h"
#include "pingan/cert.h"
#include "pingan/crypto.h"
#include "pingan/policy.h"
#include "node_internal.h"
#include "audit_internal.h"
#include "purge_internal.h"
#include "remap_internal.h"
#include "store.h"
#include "txn_internal.h"
#include "write_internal.h"
#include "pingan/error.h"
#include "pingan/hlc.h"
#include "pingan/schema.h"
#include "pingan/ulid.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNER_CACHE 16

typedef struct signer {
    char code[PG_CODE_LEN + 1];
    char key_id[PG_KEY_ID_LEN + 1];
    pg_card card;
    int64_t revoked_after; /* -1, or the last seq accepted from the key */
} signer;

struct pg_merger {
    pg_node *node;
    uint64_t hlc;
    bool any_pending;    /* `pending` may hold rows */
    bool any_quarantine; /* `quarantine` may hold rows */
    bool any_purged;     /* `purged` may hold rows */
    bool erased;         /* a received purge erased values here */
    signer signers[SIGNER_CACHE];
    size_t nsigners, next_signer;
    pg_write_row row;
    pg_buf vblob;
    pg_buf scrubbed; /* a txn rewritten in purged form */
};

/* What a txn's journey so far says about it. */
typedef struct merge_ctx {
    pg_merger *m;
    pg_txn *txn;
    const uint8_t *body;
    size_t len;
    pg_peer from;
    uint64_t peer_seq;
    uint8_t digest[PG_HASH_LEN]; /* the identity's */
    int64_t now;
    pg_merge_result *res;
    const pg_merge_prep *prep; /* a signature checked ahead, if any */
    const pg_card *card;       /* the origin's, once verified */
    const pg_buf *only;        /* replay: the record ids to rebuild (each
                                * NUL-terminated); NULL: a merge */
    int failure; /* a check that could not run (out of memory): not the
                  * txn's fault, so no quarantine; the merge fails */
} merge_ctx;

/* Is record id among the NUL-terminated ids of set? */
static bool in_set(const pg_buf *set, const char *id)
{
    for (size_t i = 0; i < set->len;
         i += strlen((const char *)set->data + i) + 1)
        if (strcmp((const char *)set->data + i, id) == 0)
            return true;
    return false;
}

static int merge_nomem(void)
{
    return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
}

static void set_reason(pg_merge_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(pg_merge_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    /* The reason is kept, listed and put into JSON: valid UTF-8 even
     * where the buffer's end cut a character. */
    pg_error__clean_text(res->reason, n >= (int)sizeof(res->reason));
}

/* Does the table have any row?  (Skips lookups in empty tables.) */
static int table_nonempty(bool *out, pg_node *node, const char *sql)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db, sql)) <
        0)
        return error;
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the store");
    return 0;
}

int pg_merger_new(pg_merger **out, pg_node *node)
{
    pg_merger *m;
    int64_t hlc;
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    *out = NULL;
    if (!(m = calloc(1, sizeof(*m))))
        return merge_nomem();
    m->node = node;
    pg_remap__invalidate(node);
    pg_write__row_init(&m->row);
    pg_buf_init(&m->vblob, 64 * 1024);
    pg_buf_init(&m->scrubbed, 8 * 1024 * 1024);
    if ((error = pg_remap__load(node)) < 0 ||
        (error = pg_store__meta_get_int(node->db, &node->stmts, "hlc", &hlc)) <
            0 ||
        (error = table_nonempty(&m->any_pending, node,
                                "SELECT 1 FROM pending LIMIT 1")) < 0 ||
        (error = table_nonempty(&m->any_quarantine, node,
                                "SELECT 1 FROM quarantine LIMIT 1")) < 0 ||
        (error = table_nonempty(&m->any_purged, node,
                                "SELECT 1 FROM purged LIMIT 1")) < 0) {
        pg_merger_free(m);
        return error;
    }
    m->hlc = hlc < 0 ? 0 : (uint64_t)hlc;
    *out = m;
    return 0;
}

void pg_merger_free(pg_merger *m)
{
    if (!m)
        return;
    /* The caller may roll back remaps applied since. */
    pg_remap__invalidate(m->node);
    pg_write__row_dispose(&m->row);
    pg_buf_dispose(&m->vblob);
    pg_buf_dispose(&m->scrubbed);
    /* A received purge erased values: once the import committed (or
     * rolled back), overwrite what the files may still hold of them.  At
     * worst a reader elsewhere keeps the log from being truncated; the
     * next purge or import that erases tries again. */
    if (m->erased && sqlite3_get_autocommit(m->node->db) &&
        pg_purge_wipe(m->node, NULL) < 0)
        pg_error_clear();
    free(m);
}

int pg_merger_finish(pg_merger *m)
{
    PG_ASSERT_ARG(m);
    return pg_store__meta_set_int(m->node->db, &m->node->stmts, "hlc",
                                  (int64_t)m->hlc);
}

/* --- outcomes that store the txn ------------------------------------- */

#define SQL_QUARANTINE_ADD                                                     \
    "INSERT OR IGNORE INTO quarantine(peer, origin, origin_seq, digest, "      \
    "collection, division, reason, body, received_ms) "                        \
    "VALUES(?,?,?,?,?,?,?,?,?)"
#define SQL_PENDING_ADD                                                        \
    "INSERT INTO pending(peer, peer_seq, origin, origin_seq, digest, reason, " \
    "body, received_ms) VALUES(?,?,?,?,?,?,?,?) "                              \
    "ON CONFLICT(origin, origin_seq, digest) DO UPDATE SET "                   \
    "reason = excluded.reason"
#define SQL_PENDING_DROP                                                       \
    "DELETE FROM pending WHERE origin = ? AND origin_seq = ? AND digest = ?"

/* A final outcome: the txn no longer waits. */
static int pending_drop(merge_ctx *c)
{
    pg_node *node = c->m->node;
    sqlite3_stmt *st;
    bool owned;
    int error;

    if (!c->m->any_pending)
        return 0;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_PENDING_DROP)) < 0)
        return error;
    sqlite3_bind_text(st, 1, c->res->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)c->res->origin_seq);
    sqlite3_bind_blob(st, 3, c->digest, PG_HASH_LEN, SQLITE_STATIC);
    return pg_store__step_done(st, owned, node->db, "updating pending txns");
}

/* The audit entry of a quarantine decision: the txn by origin, seq and
 * digest, and the reason's class (the text before its first ':'), never
 * the rest, which may quote a value. */
static int quarantine_audit(merge_ctx *c)
{
    char digest[2 * PG_HASH_LEN + 1], subject[PG_CODE_LEN + 24], kind[64];
    size_t n = strcspn(c->res->reason, ":");

    snprintf(kind, sizeof(kind), "%.*s", (int)n, c->res->reason);
    pg_hex(digest, c->digest, PG_HASH_LEN);
    snprintf(subject, sizeof(subject), "%s:%llu", c->res->origin,
             (unsigned long long)c->res->origin_seq);
    return pg_audit__record(
        c->m->node, "quarantine", subject, "{s:s, s:s, s:I, s:s, s:s}", "peer",
        c->from.code, "origin", c->res->origin, "origin_seq",
        (json_int_t)c->res->origin_seq, "digest", digest, "reason", kind);
}

/*
 * A txn of a record purged here is kept only in purged form (pingan/
 * purge.h): its personal and sensitive values are dropped before it is
 * stored anywhere, and c->body becomes the purged encoding.  The digest
 * does not change.
 */
static int purge_scrub_values(merge_ctx *c, pg_buf *values)
{
    pg_merger *m = c->m;
    bool changed;
    int error;

    if (!m->any_purged || !c->txn)
        return 0;
    if ((error = pg_purge__scrub(m->node, c->txn, &changed, values)) < 0 ||
        !changed)
        return error;
    pg_buf_clear(&m->scrubbed);
    if ((error = pg_txn_encode(&m->scrubbed, c->txn)) < 0)
        return error;
    c->body = m->scrubbed.data;
    c->len = m->scrubbed.len;
    return 0;
}

static int purge_scrub(merge_ctx *c)
{
    return purge_scrub_values(c, NULL);
}

/* The same where the txn is only held (pending, quarantine): one that
 * cannot be rewritten, or does not decode and names a purged record, is
 * held without its bytes rather than with the values; a reason that
 * quotes a value erased keeps its class only (as a local purge leaves
 * it). */
static int purge_scrub_held(merge_ctx *c)
{
    pg_buf values;
    bool names = false;
    int error;

    if (!c->m->any_purged)
        return 0;
    if (!c->txn) {
        if ((error = pg_purge__names_purged(c->m->node, c->body, c->len,
                                            &names)) < 0)
            return error;
        if (names) {
            c->body = (const uint8_t *)"";
            c->len = 0;
        }
        return 0;
    }
    pg_buf_init(&values, 1024 * 1024);
    error = purge_scrub_values(c, &values);
    if (error == PG_ENOMEM || error == PG_ERROR)
        goto done;
    if (error < 0) {
        pg_error_clear();
        c->body = (const uint8_t *)"";
        c->len = 0;
    }
    error = 0;
    if (pg_purge__quotes(c->res->reason, &values)) {
        char *colon = strchr(c->res->reason, ':');
        size_t keep = colon ? (size_t)(colon - c->res->reason) + 1 : 0;
        char cls[sizeof(c->res->reason)];
        snprintf(cls, sizeof(cls), "%.*s", (int)keep, c->res->reason);
        set_reason(c->res, "%s (withheld: it quoted a purged value)", cls);
    }

done:
    pg_memzero(values.data, values.len);
    pg_buf_dispose(&values);
    return error;
}

static int quarantine(merge_ctx *c)
{
    pg_node *node = c->m->node;
    sqlite3_stmt *st;
    bool owned;
    int error;

    c->res->outcome = PG_MERGED_QUARANTINED;
    c->res->changes = c->res->conflicts = 0;
    if ((error = purge_scrub_held(c)) < 0)
        return error;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_QUARANTINE_ADD)) < 0)
        return error;
    sqlite3_bind_text(st, 1, c->from.code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->res->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)c->res->origin_seq);
    sqlite3_bind_blob(st, 4, c->digest, PG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->txn ? c->txn->collection : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 6, c->txn ? c->txn->division : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->res->reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, c->body, (int)c->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, c->now);
    if ((error = pg_store__step_done(st, owned, node->db,
                                     "quarantining a txn")) < 0)
        return error;
    bool added = sqlite3_changes(node->db) > 0;
    c->m->any_quarantine = true;
    if (added && (error = quarantine_audit(c)) < 0)
        return error;
    return pending_drop(c);
}

static int pending(merge_ctx *c)
{
    pg_node *node = c->m->node;
    sqlite3_stmt *st;
    bool owned;
    int error;

    c->res->outcome = PG_MERGED_PENDING;
    if ((error = purge_scrub_held(c)) < 0)
        return error;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_PENDING_ADD)) < 0)
        return error;
    sqlite3_bind_text(st, 1, c->from.code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)c->peer_seq);
    sqlite3_bind_text(st, 3, c->res->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)c->res->origin_seq);
    sqlite3_bind_blob(st, 5, c->digest, PG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, c->res->reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, c->body, (int)c->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, c->now);
    if ((error = pg_store__step_done(st, owned, node->db,
                                     "holding a txn pending")) < 0)
        return error;
    c->m->any_pending = true;
    return 0;
}

/* --- identity and signer --------------------------------------------- */

/* The log's digest for (origin, seq): *found false when not in the log. */
static int log_digest(bool *found, uint8_t digest[PG_HASH_LEN], pg_node *node,
                      const pg_txn *txn)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    *found = false;
    if ((error = pg_store__cached(
             &st, &owned, &node->stmts, node->db,
             "SELECT digest FROM log WHERE origin = ? AND origin_seq = ?")) < 0)
        return error;
    sqlite3_bind_text(st, 1, txn->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)txn->seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = true;
        memset(digest, 0, PG_HASH_LEN);
        if (sqlite3_column_bytes(st, 0) == PG_HASH_LEN)
            memcpy(digest, sqlite3_column_blob(st, 0), PG_HASH_LEN);
    }
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the log");
    return 0;
}

/* Is exactly this txn (same bytes) in quarantine already? */
static int quarantined_already(bool *out, merge_ctx *c)
{
    pg_node *node = c->m->node;
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    *out = false;
    if (!c->m->any_quarantine)
        return 0;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT 1 FROM quarantine WHERE origin = ? "
                                  "AND origin_seq = ? AND digest = ? AND "
                                  "body = ?")) < 0)
        return error;
    sqlite3_bind_text(st, 1, c->res->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)c->res->origin_seq);
    sqlite3_bind_blob(st, 3, c->digest, PG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, c->body, (int)c->len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the quarantine");
    return 0;
}

/* The origin's card for key_id (else another card of the origin, whose
 * key id differs), from the cache or the keys; PG_ENOTFOUND. */
static int signer_card(const signer **out, pg_merger *m, const char *code,
                       const char *key_id)
{
    pg_card card;
    int64_t after = -1;
    int error;

    for (size_t i = 0; i < m->nsigners; i++)
        if (strcmp(m->signers[i].code, code) == 0 &&
            strcmp(m->signers[i].key_id, key_id) == 0) {
            *out = &m->signers[i];
            return 0;
        }
    if ((error = pg_keys_signer(&card, m->node, code, key_id)) < 0)
        return error;
    if (strcmp(card.key_id, key_id) == 0 &&
        (error = pg_keys_revoked(&after, m->node, code, key_id)) < 0)
        return error;
    signer *s = &m->signers[m->next_signer];
    m->next_signer = (m->next_signer + 1) % SIGNER_CACHE;
    if (m->nsigners < SIGNER_CACHE)
        m->nsigners++;
    memcpy(s->code, code, PG_CODE_LEN + 1);
    memcpy(s->key_id, key_id, PG_KEY_ID_LEN + 1);
    s->card = card;
    s->revoked_after = after;
    *out = s;
    return 0;
}

/* pg_hop_key_fn: the key of a hop that redacted a txn on its way. */
static int hop_key(void *ctx, const char *hop, const char *key_id,
                   uint8_t pk[PG_SIGN_PK_LEN])
{
    const signer *sg;
    int error = signer_card(&sg, ctx, hop, key_id);
    if (error < 0)
        return error;
    if (strcmp(sg->card.key_id, key_id) != 0)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_TXN,
                            "hop %s signed with key %s, which no certificate "
                            "here names (its key is %s)",
                            hop, key_id, sg->card.key_id);
    if (sg->revoked_after >= 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_TXN,
                            "hop %s signed with key %s, which was revoked", hop,
                            key_id);
    memcpy(pk, sg->card.sign_pk, PG_SIGN_PK_LEN);
    return 0;
}

/* Certificates changed: forget what the cache knows. */
static void signers_forget(pg_merger *m)
{
    m->nsigners = m->next_signer = 0;
}

/* Does this stored body (same origin and seq, another digest) carry the
 * origin's valid signature? */
static bool signed_by(const uint8_t *body, size_t len, const pg_card *card)
{
    pg_txn *other = NULL;
    bool ok = pg_txn_decode(&other, body, len) == 0 &&
              strcmp(other->key_id, card->key_id) == 0 &&
              pg_txn_digest(other) == 0 &&
              pg_txn_verify_digest(other, card->sign_pk) == 0;
    pg_txn_free(other);
    pg_error_clear();
    return ok;
}

/* Another digest for this (origin, seq) in quarantine or pending that the
 * origin signed: *digest_out gets it. */
static int equivocates(bool *out, uint8_t digest_out[PG_HASH_LEN], merge_ctx *c,
                       const pg_card *card)
{
    static const char *const sql[] = {
        "SELECT digest, body FROM quarantine WHERE origin = ? AND "
        "origin_seq = ? AND digest <> ?",
        "SELECT digest, body FROM pending WHERE origin = ? AND "
        "origin_seq = ? AND digest <> ?",
    };
    const bool present[] = {c->m->any_quarantine, c->m->any_pending};
    pg_node *node = c->m->node;

    *out = false;
    for (size_t i = 0; i < 2 && !*out; i++) {
        sqlite3_stmt *st;
        bool owned;
        int rc = SQLITE_DONE, error;
        if (!present[i])
            continue;
        if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                      sql[i])) < 0)
            return error;
        sqlite3_bind_text(st, 1, c->res->origin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)c->res->origin_seq);
        sqlite3_bind_blob(st, 3, c->digest, PG_HASH_LEN, SQLITE_STATIC);
        while (!*out && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (sqlite3_column_bytes(st, 0) != PG_HASH_LEN)
                continue;
            if (signed_by(sqlite3_column_blob(st, 1),
                          (size_t)sqlite3_column_bytes(st, 1), card)) {
                memcpy(digest_out, sqlite3_column_blob(st, 0), PG_HASH_LEN);
                *out = true;
            }
        }
        pg_store__release(st, owned);
        if (!*out && rc != SQLITE_DONE)
            return pg_store__error(node->db, rc, "reading stored txns");
    }
    return 0;
}

/* --- jurisdiction and schema ----------------------------------------- */

/* Containment for the receipt checks: records by their divisions
 * resolved through the division remaps known here (node/remap.c), so a
 * record filed under a retired code is accepted where its new code is;
 * system records (certificates, remaps, purges) by their codes as they
 * are. */
static bool inside(const merge_ctx *c, const pg_collection *coll,
                   const char *outer, const char *inner)
{
    if (!coll || coll->system)
        return pg_division_contains(outer, inner);
    return pg_division__within(c->m->node, outer, inner);
}

/* DESIGN §6; false with the reason set when the txn is outside. */
static bool within_jurisdiction(merge_ctx *c, const pg_collection *coll)
{
    const pg_node *node = c->m->node;
    const pg_txn *txn = c->txn;
    const pg_peer *from = &c->from;
    const char *div = txn->division;

    /* Certificates also travel down the certified node's whole subtree
     * (DESIGN §7): from a parent, an ancestor's certificate. */
    bool cert_down = coll && coll->system && from->role == PG_PEER_PARENT &&
                     pg_division_contains(div, node->card.code);
    switch (from->role) {
    case PG_PEER_CHILD:
    case PG_PEER_PARTNER:
        if (!inside(c, coll, from->code, div)) {
            set_reason(c->res,
                       "outside: division %s lies outside the subtree of "
                       "the sender, %s %s",
                       div, pg_peer_role_name(from->role), from->code);
            return false;
        }
        break;
    case PG_PEER_PARENT:
        if (!cert_down && !inside(c, coll, node->card.code, div)) {
            set_reason(c->res,
                       "outside: division %s lies outside this node's "
                       "jurisdiction (%s)",
                       div, node->card.code);
            return false;
        }
        break;
    default:
        set_reason(c->res, "outside: sender %s is not a linked peer",
                   from->code);
        return false;
    }
    if (!inside(c, coll, txn->origin, div)) {
        set_reason(c->res,
                   "outside: origin %s is not on the path of division %s "
                   "(its jurisdiction does not cover it)",
                   txn->origin, div);
        return false;
    }
    if (coll && coll->cap != PG_TIER_NONE) {
        pg_tier origin_tier = pg_division_tier(txn->origin);
        if (node->card.tier < coll->cap) {
            set_reason(c->res,
                       "outside: %s records stay at or below the %s tier; "
                       "this node is a %s",
                       coll->name, pg_tier_name(coll->cap),
                       pg_tier_name(node->card.tier));
            return false;
        }
        if (origin_tier < coll->cap) {
            set_reason(c->res,
                       "outside: %s records stay at or below the %s tier; "
                       "origin %s is a %s",
                       coll->name, pg_tier_name(coll->cap), txn->origin,
                       pg_tier_name(origin_tier));
            return false;
        }
    }
    if (coll && from->role == PG_PEER_PARTNER && !coll->partner_allowed &&
        !coll->system) {
        set_reason(c->res, "outside: %s records are never shared with partners",
                   coll->name);
        return false;
    }
    for (size_t i = 0; i < txn->nchanges; i++) {
        const char *rid = txn->changes[i].record_id;
        if (i > 0 && strcmp(rid, txn->changes[i - 1].record_id) == 0)
            continue;
        char creator[PG_CODE_LEN + 1];
        if (!pg_record_id_valid(rid, creator) ||
            !inside(c, coll, creator, div)) {
            set_reason(c->res,
                       "outside: record %s was created by a node whose "
                       "jurisdiction does not cover division %s",
                       rid, div);
            return false;
        }
    }
    return true;
}

static bool applicable(const pg_change *ch)
{
    return ch->form == PG_CHANGE_WHOLE || ch->form == PG_CHANGE_SALTED;
}

/* The text of a change's value, NUL-terminated into buf ("" if none). */
static const char *change_text(char *buf, size_t len, const pg_change *ch)
{
    size_t n = ch->value.kind == PG_VALUE_TEXT ? ch->value.len : 0;
    if (n >= len)
        n = 0;
    memcpy(buf, ch->value.s ? ch->value.s : "", n);
    buf[n] = 0;
    return buf;
}

/* A `node` txn (DESIGN §7): either a whole certificate, issued by the
 * origin (which must sit strictly above the certified code) and signed
 * with the key that signed the txn; or a revocation by an ancestor,
 * which touches only revoked, revoked_after_seq and valid_until. */
/* The system collection of node certificates (DESIGN §7). */
static bool is_certificates(const pg_collection *coll)
{
    return strcmp(coll->name, "node") == 0;
}

/* The system collection of purges (pingan/purge.h). */
static bool is_purges(const pg_collection *coll)
{
    return strcmp(coll->name, "purge") == 0;
}

/* A `purge` txn: every record names, as record_id, a record id.  Who may
 * purge is the rule of every txn (within_jurisdiction): an origin whose
 * jurisdiction covers the division, that is the division's own node or
 * an ancestor; the erasure then reaches only a record of that division
 * (pg_purge__received). */
static bool valid_purge(merge_ctx *c)
{
    const pg_txn *txn = c->txn;

    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *ch = &txn->changes[i];
        char rid[PG_RECORD_ID_LEN + 1];
        if (strcmp(ch->field, "record_id") != 0 || !applicable(ch))
            continue;
        size_t n = ch->value.kind == PG_VALUE_TEXT ? ch->value.len : 0;
        if (n > PG_RECORD_ID_LEN)
            n = 0;
        memcpy(rid, n ? ch->value.s : "", n);
        rid[n] = 0;
        if (!pg_record_id_valid(rid, NULL)) {
            set_reason(c->res,
                       "invalid: purge %s names no record id (CODE-ULID)",
                       ch->record_id);
            return false;
        }
    }
    return true;
}

static bool valid_certificate(merge_ctx *c, const pg_collection *coll)
{
    const pg_txn *txn = c->txn;
    char vals[16][272]; /* up to a 255-byte name */
    int64_t ints[16] = {0};
    bool have[16] = {false}, create = false;

    memset(vals, 0, sizeof(vals));
    for (size_t i = 0; i < txn->nchanges; i++)
        if (!applicable(&txn->changes[i])) {
            set_reason(c->res, "invalid: a certificate is never redacted");
            return false;
        }
    if (strcmp(txn->origin, txn->division) == 0 ||
        !pg_division_contains(txn->origin, txn->division)) {
        set_reason(c->res,
                   "invalid: %s may not certify or revoke %s (only a node "
                   "strictly above it may)",
                   txn->origin, txn->division);
        return false;
    }
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *ch = &txn->changes[i];
        size_t fidx;
        if (!applicable(ch) || !pg_collection_field(coll, ch->field, &fidx) ||
            fidx >= 16)
            continue;
        if (strcmp(ch->field, "certificate_sig") == 0)
            create = true;
        if (i > 0 && strcmp(ch->record_id, txn->changes[0].record_id) != 0) {
            set_reason(c->res, "invalid: a node txn touches one record");
            return false;
        }
        change_text(vals[fidx], sizeof(vals[fidx]), ch);
        ints[fidx] = ch->value.kind == PG_VALUE_INT ? ch->value.i : 0;
        have[fidx] = true;
    }
    if (!create) {
        for (size_t i = 0; i < txn->nchanges; i++) {
            const char *f = txn->changes[i].field;
            if (strcmp(f, "revoked") != 0 &&
                strcmp(f, "revoked_after_seq") != 0 &&
                strcmp(f, "valid_until") != 0) {
                set_reason(c->res,
                           "invalid: field '%s' of a certificate changes "
                           "only with a new certificate",
                           f);
                return false;
            }
        }
        return true;
    }
    /* Field indexes of the `node` collection (schema.c). */
    enum {
        F_DIV,
        F_CODE,
        F_NAME,
        F_TIER,
        F_SPK,
        F_BPK,
        F_KID,
        F_SUITE,
        F_ISSUER,
        F_IKID,
        F_FROM,
        F_UNTIL,
        F_REVOKED,
        F_AFTER,
        F_SIG
    };
    pg_cert_row row = {.code = vals[F_CODE],
                       .name = vals[F_NAME],
                       .tier = vals[F_TIER],
                       .sign_pk = vals[F_SPK],
                       .box_pk = vals[F_BPK],
                       .key_id = vals[F_KID],
                       .suite = ints[F_SUITE],
                       .issuer = vals[F_ISSUER],
                       .issuer_key_id = vals[F_IKID],
                       .valid_from = ints[F_FROM],
                       .signature = vals[F_SIG]};
    pg_cert cert;
    bool whole = true;
    for (int f = F_DIV; f <= F_SIG; f++)
        if (f != F_UNTIL && f != F_REVOKED && f != F_AFTER)
            whole &= have[f];
    if (!whole || pg_cert_from_row(&cert, &row) < 0) {
        if (whole && pg_error_last()->code == PG_ENOMEM) {
            c->failure = PG_ENOMEM;
            return false;
        }
        pg_error_clear();
        set_reason(c->res, "invalid: malformed certificate");
        return false;
    }
    if (strcmp(cert.subject.code, txn->division) != 0 ||
        strcmp(cert.issuer, txn->origin) != 0 ||
        strcmp(cert.issuer_key_id, txn->key_id) != 0) {
        set_reason(c->res,
                   "invalid: the certificate of %s names issuer %s (key %s) "
                   "but was written by %s (key %s) in division %s",
                   cert.subject.code, cert.issuer, cert.issuer_key_id,
                   txn->origin, txn->key_id, txn->division);
        return false;
    }
    if (pg_cert_verify(&cert, c->card->sign_pk) < 0) {
        if (pg_error_last()->code == PG_ENOMEM) {
            c->failure = PG_ENOMEM;
            return false;
        }
        set_reason(c->res, "invalid: %s", pg_error_last()->message);
        pg_error_clear();
        return false;
    }
    return true;
}

/* The system collection of division remaps (pingan/remap.h). */
static bool is_division_remap(const pg_collection *coll)
{
    return strcmp(coll->name, "division_remap") == 0;
}

/* A `division_remap` txn is accepted only from an issuer whose
 * jurisdiction covers both codes (node/remap.c pg_remap__check_txn); it
 * is issued whole, in one record, and never redacted. */
static bool valid_remap(merge_ctx *c)
{
    const pg_txn *txn = c->txn;
    char old_code[PG_CODE_LEN + 2] = "", new_code[PG_CODE_LEN + 2] = "";
    bool have_old = false, have_new = false;

    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *ch = &txn->changes[i];
        if (ch->form != PG_CHANGE_WHOLE) {
            set_reason(c->res, "invalid: a division remap is never redacted");
            return false;
        }
        if (strcmp(ch->record_id, txn->changes[0].record_id) != 0) {
            set_reason(c->res, "invalid: a division remap txn touches one "
                               "record");
            return false;
        }
        if (strcmp(ch->field, "old_code") == 0) {
            change_text(old_code, sizeof(old_code), ch);
            have_old = true;
        } else if (strcmp(ch->field, "new_code") == 0) {
            change_text(new_code, sizeof(new_code), ch);
            have_new = true;
        }
    }
    const char *why = pg_remap__check_txn(txn->origin, txn->division,
                                          have_old ? old_code : NULL,
                                          have_new ? new_code : NULL);
    if (!why)
        return true;
    set_reason(c->res, "%s (issuer %s, %s -> %s)", why, txn->origin,
               have_old ? old_code : "-", have_new ? new_code : "-");
    return false;
}

/* What a hop may have done to a change (the notes' signatures say who did
 * it; this says whether it was allowed): withhold or transform a personal
 * field — never the division or the tombstone — into a derived text of
 * its transform's form.  False with the reason set. */
static bool valid_redacted(merge_ctx *c, const pg_collection *coll,
                           const pg_field *f, size_t fidx, const pg_change *ch)
{
    const char *why = NULL;

    if (fidx == 0 || fidx == coll->nfields)
        why = "the division and the tombstone are never redacted";
    else if (ch->form == PG_CHANGE_COMMITTED) {
        const char *tname = pg_txn__last_transform(c->txn, ch);
        const char *d = ch->derived ? ch->derived : "";
        pg_transform t;
        if (f->privacy != PG_PRIVACY_PERSONAL)
            why = "only personal fields are transformed";
        else if (!tname || pg_transform_from_name(&t, tname) < 0 ||
                 !pg_transform_fits(t, f->type))
            why = "the transform does not fit the field";
        else if (t == PG_XF_HASH && !pg_txn__is_hex(d, PG_PSEUDONYM_HEX_LEN))
            why = "a pseudonym is 32 hex digits";
        else if (t == PG_XF_GENERALIZE && f->type == PG_TYPE_TIME &&
                 !(strlen(d) == 4 && strspn(d, "0123456789") == 4))
            why = "a generalized time is a year";
        else if (t == PG_XF_GENERALIZE && f->type != PG_TYPE_TIME &&
                 !pg_division_valid(d))
            why = "a generalized address is a division code";
        else if (t == PG_XF_MASK && !strchr(d, '*'))
            why = "a mask hides something";
        pg_error_clear();
    }
    if (!why)
        return true;
    set_reason(c->res,
               "invalid: field '%s' of record %s was redacted on "
               "the way: %s",
               f->name, ch->record_id, why);
    return false;
}

/* The schema's checks; false with the reason set. */
static bool valid_by_schema(merge_ctx *c, const pg_collection *coll)
{
    const pg_txn *txn = c->txn;

    if (!coll) {
        set_reason(c->res,
                   "invalid: unknown collection '%s' (made by a newer "
                   "schema?)",
                   txn->collection);
        return false;
    }
    if (is_certificates(coll) && !valid_certificate(c, coll))
        return false;
    if (is_purges(coll) && !valid_purge(c))
        return false;
    if (is_division_remap(coll) && !valid_remap(c))
        return false;
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *ch = &txn->changes[i];
        size_t fidx;
        const pg_field *f = pg_collection_field(coll, ch->field, &fidx);
        if (!f) {
            set_reason(c->res, "invalid: collection '%s' has no field '%s'",
                       coll->name, ch->field);
            return false;
        }
        if (f->merge == PG_MERGE_COUNTER && !pg_version_is_zero(&ch->merged)) {
            set_reason(c->res,
                       "invalid: counter '%s' of record %s names a merged "
                       "version; counters have no conflicts",
                       f->name, ch->record_id);
            return false;
        }
        if (ch->form != PG_CHANGE_WHOLE && ch->form != PG_CHANGE_SALTED) {
            if (!valid_redacted(c, coll, f, fidx, ch))
                return false;
            continue;
        }
        const pg_value *v = &ch->value;
        if (f->merge == PG_MERGE_COUNTER && v->kind != PG_VALUE_INT) {
            set_reason(c->res,
                       "invalid: counter '%s' of record %s takes an int "
                       "increment",
                       f->name, ch->record_id);
            return false;
        }
        if (pg_value_check(f, v) < 0) {
            set_reason(c->res, "invalid: record %s: %s", ch->record_id,
                       pg_error_last()->message);
            pg_error_clear();
            return false;
        }
        if (v->kind == PG_VALUE_ABSENT &&
            (f->required || fidx == 0 || fidx == coll->nfields)) {
            set_reason(c->res,
                       "invalid: field '%s' of record %s cannot be cleared",
                       f->name, ch->record_id);
            return false;
        }
        if (fidx == 0 && (v->len != PG_CODE_LEN ||
                          memcmp(v->s, txn->division, PG_CODE_LEN) != 0)) {
            set_reason(c->res,
                       "invalid: record %s is written with division %.*s in "
                       "a txn of division %s",
                       ch->record_id, (int)(v->len < 64 ? v->len : 64), v->s,
                       txn->division);
            return false;
        }
    }
    return true;
}

/* --- applying ---------------------------------------------------------- */

static int savepoint(pg_node *node, const char *sql)
{
    sqlite3_stmt *st;
    bool owned;
    int error = pg_store__cached(&st, &owned, &node->stmts, node->db, sql);
    if (error < 0)
        return error;
    return pg_store__step_done(st, owned, node->db, "merging a txn");
}

/* A record that did not exist: one insert; no history for the base-less
 * writes (implied by `_v`), a row for the others. */
static int apply_new(merge_ctx *c, const pg_collection *coll,
                     const pg_change *chs, size_t n, const pg_version *ver)
{
    pg_merger *m = c->m;
    pg_node *node = m->node;
    const char *rid = chs[0].record_id;
    pg_field_value *vals = calloc(n + 1, sizeof(*vals));
    size_t *idx = calloc(n + 1, sizeof(*idx));
    size_t nv = 0;
    bool division = false;
    int error = 0;

    if (!vals || !idx) {
        error = merge_nomem();
        goto done;
    }
    pg_buf_clear(&m->vblob);
    for (size_t i = 0; i < n && !error; i++) {
        if (!applicable(&chs[i]))
            continue;
        size_t fidx;
        const pg_field *f = pg_collection_field(coll, chs[i].field, &fidx);
        vals[nv].field = f->name;
        vals[nv].value = chs[i].value;
        idx[nv++] = fidx;
        division |= fidx == 0;
        error = pg_store__versions_set(&m->vblob, fidx, ver);
        if (!error && f->merge != PG_MERGE_COUNTER &&
            (!pg_version_is_zero(&chs[i].base) ||
             !pg_version_is_zero(&chs[i].merged)))
            error =
                pg_write__hist_add(node, coll, rid, fidx, NULL, NULL, ver,
                                   &chs[i].base, &chs[i].merged, &chs[i].value);
    }
    if (error)
        goto done;
    /* Created by a later change than its first: the division is known
     * from the txn, its version comes with the creation. */
    if (!division) {
        vals[nv].field = "division";
        vals[nv].value = (pg_value){
            .kind = PG_VALUE_TEXT, .s = c->txn->division, .len = PG_CODE_LEN};
        idx[nv++] = 0;
    }
    if ((error = pg_write__insert_row_v(node, coll, rid, vals, idx, nv,
                                        &m->vblob)) == 0)
        c->res->changes += nv - (division ? 0 : 1);

done:
    free(vals);
    free(idx);
    return error;
}

/* UPDATE coll SET f... = ?, _deleted = ?, _v = ? WHERE id = ? */
static int update_full(pg_node *node, const pg_collection *coll,
                       const char *rid, const pg_write_row *row,
                       const pg_value *vals, const bool *set,
                       const pg_buf *vblob)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    bool owned = false;
    size_t n = coll->nfields + 1;
    int error;

    error = pg_buf_printf(&sql, "UPDATE \"%s\" SET ", coll->name);
    for (size_t f = 0; !error && f < coll->nfields; f++)
        error = pg_buf_printf(&sql, "\"%s\" = ?, ", coll->fields[f].name);
    if (!error)
        error = pg_buf_puts(&sql, "_deleted = ?, _v = ? WHERE id = ?");
    if ((error = pg_write__prepare_built(&st, &owned, node, &sql, error)) < 0)
        return error;
    for (size_t i = 0; i < n; i++) {
        if (set[i])
            pg_write__bind(st, (int)i + 1, &vals[i]);
        else
            sqlite3_bind_value(st, (int)i + 1, row->cols[i]);
    }
    sqlite3_bind_blob(st, (int)n + 1, vblob->data, (int)vblob->len,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, (int)n + 2, rid, -1, SQLITE_STATIC);
    return pg_store__step_done(st, owned, node->db, "merging a record");
}

/* Merge the changes of one existing record. */
static int apply_existing(merge_ctx *c, const pg_collection *coll,
                          const pg_change *chs, size_t n, const pg_version *ver)
{
    pg_merger *m = c->m;
    pg_node *node = m->node;
    pg_write_row *row = &m->row;
    const char *rid = chs[0].record_id;
    size_t ncols = coll->nfields + 1;
    pg_value *vals = calloc(ncols, sizeof(*vals));
    bool *set = calloc(ncols, sizeof(*set));
    bool *recompute = calloc(ncols, sizeof(*recompute));
    bool dirty = false;
    int error = 0;

    if (!vals || !set || !recompute) {
        error = merge_nomem();
        goto done;
    }
    for (size_t i = 0; i < n && !error; i++) {
        const pg_change *ch = &chs[i];
        if (!applicable(ch))
            continue;
        size_t fidx;
        const pg_field *f = pg_collection_field(coll, ch->field, &fidx);
        pg_version cur;
        pg_store__versions_get(&cur, row->versions.data, row->versions.len,
                               fidx);
        c->res->changes++;
        if (f->merge == PG_MERGE_COUNTER) {
            /* Each txn is applied once (the log), so each increment is
             * added once; modulo 2^64 the sum does not depend on the
             * order of the additions. */
            uint64_t sum = (uint64_t)sqlite3_value_int64(row->cols[fidx]) +
                           (uint64_t)ch->value.i;
            vals[fidx] = (pg_value){.kind = PG_VALUE_INT, .i = (int64_t)sum};
            set[fidx] = dirty = true;
            if (pg_version_cmp(ver, &cur) > 0)
                error = pg_store__versions_set(&row->versions, fidx, ver);
            continue;
        }
        bool first = pg_version_is_zero(&cur) &&
                     pg_version_is_zero(&ch->base) &&
                     pg_version_is_zero(&ch->merged);
        if (!first)
            error =
                pg_write__hist_add(node, coll, rid, fidx, &cur, row->cols[fidx],
                                   ver, &ch->base, &ch->merged, &ch->value);
        /* With a current version the field has a history of two or more
         * changes: its conflicts may change. */
        recompute[fidx] = !pg_version_is_zero(&cur);
        if (!error && pg_write__wins(f, ver, &cur)) {
            vals[fidx] = ch->value;
            set[fidx] = dirty = true;
            error = pg_store__versions_set(&row->versions, fidx, ver);
        }
    }
    if (!error && dirty)
        error = update_full(node, coll, rid, row, vals, set, &row->versions);
    for (size_t f = 0; f < ncols && !error; f++)
        if (recompute[f])
            error = pg_write__conflicts_update(&c->res->conflicts, node, coll,
                                               rid, f, ver, c->now);

done:
    free(vals);
    free(set);
    free(recompute);
    return error;
}

/*
 * Apply every change under a savepoint.  *outside is set (and nothing
 * kept) when a record exists with another division than the txn's.
 */
static int apply_txn(bool *outside, merge_ctx *c, const pg_collection *coll)
{
    pg_merger *m = c->m;
    pg_node *node = m->node;
    pg_txn *txn = c->txn;
    pg_version ver = {.hlc = txn->hlc};
    int error;

    *outside = false;
    memcpy(ver.origin, txn->origin, PG_CODE_LEN + 1);
    /* What this node may know of a transformed value is its derived text
     * (a mask, a pseudonym, a year): it becomes the field's value where
     * the column holds text.  Only this in-memory copy changes; the log
     * keeps the txn as received. */
    for (size_t i = 0; i < txn->nchanges; i++) {
        pg_change *ch = &txn->changes[i];
        const pg_field *f = pg_collection_field(coll, ch->field, NULL);
        if (ch->form == PG_CHANGE_COMMITTED && ch->derived && f &&
            pg_type_kind(f->type) == PG_VALUE_TEXT) {
            ch->value = (pg_value){.kind = PG_VALUE_TEXT,
                                   .s = ch->derived,
                                   .len = strlen(ch->derived)};
            ch->form = PG_CHANGE_SALTED;
        }
    }
    if ((error = savepoint(node, "SAVEPOINT pg_merge")) < 0)
        return error;
    for (size_t lo = 0, hi; !error && lo < txn->nchanges; lo = hi) {
        const char *rid = txn->changes[lo].record_id;
        for (hi = lo + 1;
             hi < txn->nchanges && strcmp(txn->changes[hi].record_id, rid) == 0;
             hi++)
            ;
        if (c->only && !in_set(c->only, rid))
            continue;
        /* A record of which nothing but its division is revealed here
         * (every other change withheld on the way) is not created. */
        bool revealed = false;
        for (size_t i = lo; i < hi; i++)
            revealed |= applicable(&txn->changes[i]) &&
                        strcmp(txn->changes[i].field, "division") != 0;
        if (!revealed)
            continue;
        if ((error = pg_write__row_load(&m->row, node, coll, rid, NULL)) < 0)
            break;
        if (m->row.exists && strcmp(m->row.division, txn->division) != 0) {
            set_reason(c->res,
                       "outside: record %s belongs to division %s, not to "
                       "the txn's %s",
                       rid, m->row.division, txn->division);
            *outside = true;
            break;
        }
        error = m->row.exists
                    ? apply_existing(c, coll, &txn->changes[lo], hi - lo, &ver)
                    : apply_new(c, coll, &txn->changes[lo], hi - lo, &ver);
    }
    if (!error && !*outside && !c->only)
        error =
            pg_write__log_insert_via(node, txn, c->body, c->len, c->from.code);
    /* SQLite rolls the whole transaction back by itself after some
     * errors (SQLITE_FULL, SQLITE_NOMEM, SQLITE_IOERR): the savepoint is
     * gone with it, and the error already says why. */
    if (sqlite3_get_autocommit(node->db))
        return error ? error
                     : pg_error_set(PG_ERROR, PG_ERRCLASS_STORE,
                                    "merging a txn: the store rolled the "
                                    "import back");
    if (error || *outside) {
        /* Undo this txn only; a runtime error still fails the bundle, and
         * its message stays the one of the first failure. */
        pg_error first = *pg_error_last();
        int e2 = savepoint(node, "ROLLBACK TO pg_merge");
        if (!error)
            error = e2;
        else if (e2 < 0)
            pg_error__restore(&first);
    }
    pg_error first = *pg_error_last();
    int e3 = savepoint(node, "RELEASE pg_merge");
    if (error && e3 < 0)
        pg_error__restore(&first);
    return error ? error : e3;
}

/* A `node` txn that revokes a key: take back what this node applied. */
static int merge_revocation(merge_ctx *c)
{
    pg_node *node = c->m->node;
    const pg_txn *txn = c->txn;
    sqlite3_stmt *st = NULL;
    char code[PG_CODE_LEN + 1] = "", key_id[PG_KEY_ID_LEN + 1] = "";
    int64_t after = 0;
    bool revokes = false;
    size_t moved;
    int rc;

    for (size_t i = 0; i < txn->nchanges; i++)
        if (strcmp(txn->changes[i].field, "revoked") == 0 &&
            applicable(&txn->changes[i]) &&
            txn->changes[i].value.kind == PG_VALUE_BOOL &&
            txn->changes[i].value.b)
            revokes = true;
    if (!revokes)
        return 0;
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT code, key_id, revoked_after_seq FROM node "
                            "WHERE id = ? AND revoked = 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading a revocation");
    sqlite3_bind_text(st, 1, txn->changes[0].record_id, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cc = (const char *)sqlite3_column_text(st, 0);
        const char *kk = (const char *)sqlite3_column_text(st, 1);
        if (cc && kk) {
            snprintf(code, sizeof(code), "%s", cc);
            snprintf(key_id, sizeof(key_id), "%s", kk);
        }
        after = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading a revocation");
    if (!code[0])
        return 0;
    return pg_merger_revoke(c->m, code, key_id, after, &moved);
}

static int revoke_rebuild(pg_merger *m, const pg_collection *coll,
                          const char *division, const pg_buf *ids);

/*
 * DESIGN §3: the same txn arriving again with more revealed (a fuller copy
 * after a redacted one; a partner's backfill of a record that newly meets
 * the agreement) is merged: the digest is the same, so every value it
 * reveals matches the origin's commitment.  Its notes are checked, it
 * replaces the stored copy, and the records it reveals more of are
 * rebuilt from the log.  *fuller is false for a plain duplicate.
 */
static int merge_fuller(bool *fuller, merge_ctx *c)
{
    pg_merger *m = c->m;
    pg_node *node = m->node;
    pg_txn *txn = c->txn, *old = NULL;
    sqlite3_stmt *st = NULL;
    pg_buf ids = PG_BUF_INIT;
    size_t more = 0;
    int rc, error = 0;

    *fuller = false;
    /* A copy of a purged record's txn reveals nothing purged here. */
    if ((error = purge_scrub(c)) == PG_EINVALID || error == PG_ECONFLICT) {
        pg_error_clear();
        return 0; /* the stored copy stands */
    }
    if (error < 0)
        return error;
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT body FROM log WHERE origin = ? AND "
                            "origin_seq = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the log");
    sqlite3_bind_text(st, 1, txn->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)txn->seq);
    if ((rc = sqlite3_step(st)) != SQLITE_ROW ||
        ((size_t)sqlite3_column_bytes(st, 0) == c->len &&
         memcmp(sqlite3_column_blob(st, 0), c->body, c->len) == 0) ||
        pg_txn_decode(&old, sqlite3_column_blob(st, 0),
                      (size_t)sqlite3_column_bytes(st, 0)) < 0 ||
        old->nchanges != txn->nchanges)
        goto done;
    /* Only a superset of what was revealed before. */
    for (size_t i = 0; i < txn->nchanges; i++) {
        bool was = applicable(&old->changes[i]);
        bool now = applicable(&txn->changes[i]);
        if (strcmp(old->changes[i].record_id, txn->changes[i].record_id) ||
            strcmp(old->changes[i].field, txn->changes[i].field) ||
            (was && !now))
            goto done;
        if (now && !was) {
            more++;
            const char *rid = txn->changes[i].record_id;
            if (!in_set(&ids, rid) &&
                (error = pg_buf_put(&ids, rid, strlen(rid) + 1)) < 0)
                goto done;
        }
    }
    if (!more)
        goto done;
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), txn->collection);
    error = pg_txn_verify_notes(txn, hop_key, m);
    if (error == PG_EINVALID || error == PG_EAUTH || error == PG_ENOTFOUND ||
        !coll || !valid_by_schema(c, coll)) {
        pg_error_clear();
        error = 0;
        goto done; /* the stored copy stands */
    }
    if (error < 0)
        goto done;
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(node->db,
                            "UPDATE log SET body = ?, nchanges = ? WHERE "
                            "origin = ? AND origin_seq = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        st = NULL;
        error = pg_store__error(node->db, rc, "updating the log");
        goto done;
    }
    sqlite3_bind_blob(st, 1, c->body, (int)c->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)txn->nchanges);
    sqlite3_bind_text(st, 3, txn->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)txn->seq);
    if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
        error = pg_store__error(node->db, rc, "updating the log");
        goto done;
    }
    if ((error = revoke_rebuild(m, coll, txn->division, &ids)) < 0)
        goto done;
    *fuller = true;
    c->res->outcome = PG_MERGED_APPLIED;
    c->res->changes = more;

done:
    sqlite3_finalize(st);
    pg_txn_free(old);
    pg_buf_dispose(&ids);
    return error;
}

/* A `purge` txn applied: erase this node's copies, audited. */
static int merge_purge(merge_ctx *c)
{
    pg_merger *m = c->m;
    const pg_txn *txn = c->txn;
    char subject[PG_CODE_LEN + 24];
    size_t erased, held;
    int error;

    if ((error = pg_purge__received(m->node, txn, &erased, &held)) < 0)
        return error;
    m->any_purged = true;
    if (!erased && !held)
        return 0;
    /* Old bytes of rewritten pending or quarantined bodies are wiped too. */
    m->erased = true;
    snprintf(subject, sizeof(subject), "%s:%llu", txn->origin,
             (unsigned long long)txn->seq);
    return pg_audit__record(m->node, "purge", subject, "{s:s, s:s, s:I, s:I}",
                            "by", "received", "origin", txn->origin, "records",
                            (json_int_t)erased, "held_txns", (json_int_t)held);
}

/* --- the journey of one txn -------------------------------------------- */

static int merge_one(merge_ctx *c)
{
    pg_merger *m = c->m;
    pg_txn *txn = c->txn;
    pg_merge_result *res = c->res;
    char hex[2 * PG_HASH_LEN + 1], other[2 * PG_HASH_LEN + 1];
    uint8_t seen[PG_HASH_LEN];
    const signer *cached;
    signer sg_copy, *sg = &sg_copy; /* hop lookups may reuse the slot */
    const pg_card *card;
    bool found, same;
    int error;

    /* Identity. */
    if ((error = log_digest(&found, seen, m->node, txn)) < 0)
        return error;
    bool in_log_other = found && memcmp(seen, c->digest, PG_HASH_LEN) != 0;
    if (found && !in_log_other) {
        bool fuller;
        if ((error = merge_fuller(&fuller, c)) < 0)
            return error;
        if (!fuller)
            res->outcome = PG_MERGED_DUPLICATE;
        return pending_drop(c);
    }
    if ((error = quarantined_already(&same, c)) < 0)
        return error;
    if (same) {
        res->outcome = PG_MERGED_DUPLICATE;
        return pending_drop(c);
    }

    /* Signer. */
    error = signer_card(&cached, m, txn->origin, txn->key_id);
    if (error == 0)
        sg_copy = *cached;
    if (error == PG_ENOTFOUND) {
        pg_error_clear();
        set_reason(res, "signer %s unknown so far", txn->origin);
        return pending(c);
    }
    if (error < 0)
        return error;
    card = &sg->card;
    if (strcmp(card->key_id, txn->key_id) != 0) {
        /* A key no certificate names yet (DESIGN §5: the signer is not
         * yet known): a re-keyed node's certificate may be on the way. */
        set_reason(res,
                   "signer %s key %s unknown so far (the key known here is "
                   "%s; a certificate of the new key may be on the way)",
                   txn->origin, txn->key_id, card->key_id);
        return pending(c);
    }
    /* Checked ahead (on another thread) with this very key, or now. */
    bool verified;
    if (c->prep && c->prep->signature >= 0 &&
        strcmp(c->prep->key_id, card->key_id) == 0) {
        verified = c->prep->signature == 1;
    } else {
        verified = pg_txn_verify_digest(txn, card->sign_pk) == 0;
        pg_error_clear();
    }
    if (!verified) {
        set_reason(res, "origin signature does not verify");
        return quarantine(c);
    }
    c->card = card;
    /* Always: a withheld or transformed change needs its signed note
     * even when the txn carries none. */
    {
        error = pg_txn_verify_notes(txn, hop_key, m);
        if (error == PG_ENOTFOUND) {
            set_reason(res, "a redacting hop's key is unknown so far: %s",
                       pg_error_last()->message);
            pg_error_clear();
            return pending(c);
        }
        if (error == PG_EINVALID || error == PG_EAUTH) {
            set_reason(res, "redaction notes do not verify: %s",
                       pg_error_last()->message);
            pg_error_clear();
            return quarantine(c);
        }
        if (error < 0)
            return error;
    }
    if (sg->revoked_after >= 0 && txn->seq > (uint64_t)sg->revoked_after) {
        set_reason(res,
                   "revoked: key %s of %s was revoked after seq %lld; this "
                   "txn is seq %llu",
                   txn->key_id, txn->origin, (long long)sg->revoked_after,
                   (unsigned long long)txn->seq);
        return quarantine(c);
    }

    /* Equivocation: the origin signed two txns with one seq. */
    pg_hex(hex, c->digest, PG_HASH_LEN);
    if (in_log_other) {
        pg_hex(other, seen, PG_HASH_LEN);
        set_reason(res,
                   "equivocation: %s seq %llu is in the log with digest "
                   "%.16s..., this txn has %.16s...",
                   txn->origin, (unsigned long long)txn->seq, other, hex);
        return quarantine(c);
    }
    if ((error = equivocates(&found, seen, c, card)) < 0)
        return error;
    if (found) {
        pg_hex(other, seen, PG_HASH_LEN);
        set_reason(res,
                   "equivocation: %s seq %llu was also signed with digest "
                   "%.16s..., this txn has %.16s...",
                   txn->origin, (unsigned long long)txn->seq, other, hex);
        return quarantine(c);
    }

    /* Clock. */
    int64_t ahead = PG_HLC_MS(txn->hlc) - c->now;
    if (ahead > PG_HLC_PENDING_MS) {
        set_reason(res,
                   "clock skew: the txn's clock is %lld min ahead of this "
                   "node's; it waits until the wall clock catches up",
                   (long long)(ahead / 60000));
        return pending(c);
    }

    /* Jurisdiction and schema. */
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(c->m->node), txn->collection);
    if (!within_jurisdiction(c, coll) || !valid_by_schema(c, coll))
        return c->failure < 0 ? c->failure : quarantine(c);

    /* Apply. */
    bool outside;
    if ((error = purge_scrub(c)) == PG_ECONFLICT) {
        /* Its values cannot be erased: it is not kept. */
        set_reason(res, "purged: %s", pg_error_last()->message);
        pg_error_clear();
        return quarantine(c);
    }
    if (error < 0 || (error = apply_txn(&outside, c, coll)) < 0)
        return error;
    if (outside)
        return quarantine(c);
    pg_hlc_receive(&m->hlc, m->hlc, txn->hlc, c->now);
    res->outcome = PG_MERGED_APPLIED;
    if (is_division_remap(coll))
        pg_remap__invalidate(m->node);
    if (is_certificates(coll)) {
        signers_forget(m);
        if ((error = merge_revocation(c)) < 0)
            return error;
    }
    if (is_purges(coll) && (error = merge_purge(c)) < 0)
        return error;
    return pending_drop(c);
}

/* Where a pending txn came from: its stored peer and peer seq. */
static int pending_source(merge_ctx *c)
{
    pg_node *node = c->m->node;
    sqlite3_stmt *st;
    bool owned;
    char code[PG_CODE_LEN + 1] = "";
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT peer, peer_seq FROM pending WHERE "
                                  "origin = ? AND origin_seq = ? AND "
                                  "digest = ?")) < 0)
        return error;
    sqlite3_bind_text(st, 1, c->res->origin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)c->res->origin_seq);
    sqlite3_bind_blob(st, 3, c->digest, PG_HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        snprintf(code, sizeof(code), "%s", p ? p : "");
        c->peer_seq = (uint64_t)sqlite3_column_int64(st, 1);
    }
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading pending txns");
    if (rc == SQLITE_DONE)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                            "txn %s/%llu is not pending", c->res->origin,
                            (unsigned long long)c->res->origin_seq);
    memcpy(c->from.code, code, sizeof(code));
    error = pg_division_valid(code) ? pg_peer_get(&c->from, node, code)
                                    : PG_ENOTFOUND;
    if (error == PG_ENOTFOUND) {
        /* Its sender was unpinned meanwhile: what it vouched for stands
         * no more. */
        pg_error_clear();
        memset(&c->from, 0, sizeof(c->from));
        memcpy(c->from.code, code, sizeof(code));
        c->from.role = PG_PEER_NONE;
        return 0;
    }
    return error;
}

void pg_merge_prepare(pg_merge_prep *p, const uint8_t *body, size_t len,
                      const pg_card *cards, size_t ncards)
{
    memset(p, 0, sizeof(*p));
    p->body = body ? body : (const uint8_t *)"";
    p->len = len;
    p->signature = -1;
    p->error = pg_txn_decode(&p->txn, p->body, len);
    if (p->error == 0)
        p->error = pg_txn_digest(p->txn);
    if (p->error < 0) {
        snprintf(p->message, sizeof(p->message), "%.250s",
                 pg_error_last()->message);
        pg_error_clear();
        pg_txn_free(p->txn);
        p->txn = NULL;
        return;
    }
    for (size_t i = 0; i < ncards; i++) {
        if (strcmp(cards[i].code, p->txn->origin) != 0 ||
            strcmp(cards[i].key_id, p->txn->key_id) != 0)
            continue;
        p->signature =
            pg_txn_verify_digest(p->txn, cards[i].sign_pk) == 0 ? 1 : 0;
        memcpy(p->key_id, cards[i].key_id, sizeof(p->key_id));
        pg_error_clear();
        break;
    }
}

void pg_merge_prep_dispose(pg_merge_prep *p)
{
    if (!p)
        return;
    pg_txn_free(p->txn);
    p->txn = NULL;
}

size_t pg_merger_signers(const pg_merger *m, pg_card *out, size_t max)
{
    size_t n = m->nsigners < max ? m->nsigners : max;
    for (size_t i = 0; i < n; i++)
        out[i] = m->signers[i].card;
    return n;
}

int pg_merger_apply_prepared(pg_merger *m, const pg_peer *from,
                             uint64_t peer_seq, pg_merge_prep *p,
                             pg_merge_result *res)
{
    merge_ctx c;
    int error = 0;

    PG_ASSERT_ARG(m);
    PG_ASSERT_ARG(p);
    PG_ASSERT_ARG(res);

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    c.m = m;
    c.body = p->body;
    c.len = p->len;
    c.res = res;
    c.peer_seq = peer_seq;
    c.now = pg_time_now_ms();
    c.prep = p;
    c.txn = p->txn;
    if (from)
        c.from = *from;
    if (p->error == PG_ENOMEM)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if (!c.txn) {
        /* Malformed: named by the hash of its bytes, so a second copy is
         * a duplicate. */
        bool same;
        set_reason(res, "%s", p->message);
        pg_blake2b(c.digest, PG_HASH_LEN, c.body, c.len);
        if ((error = quarantined_already(&same, &c)) < 0)
            goto done;
        if (same)
            res->outcome = PG_MERGED_DUPLICATE;
        else
            error = quarantine(&c);
        goto done;
    }
    memcpy(c.digest, c.txn->digest, PG_HASH_LEN);
    memcpy(res->origin, c.txn->origin, PG_CODE_LEN + 1);
    res->origin_seq = c.txn->seq;
    if (!from && (error = pending_source(&c)) < 0)
        goto done;
    error = merge_one(&c);

done:
    if (error < 0)
        memset(res, 0, sizeof(*res));
    return error;
}

int pg_merger_apply(pg_merger *m, const pg_peer *from, uint64_t peer_seq,
                    const uint8_t *body, size_t len, pg_merge_result *res)
{
    pg_merge_prep p;

    PG_ASSERT_ARG(body || len == 0);
    pg_merge_prepare(&p, body, len, NULL, 0);
    int error = pg_merger_apply_prepared(m, from, peer_seq, &p, res);
    pg_merge_prep_dispose(&p);
    return error;
}

int pg_merger_retry_pending(pg_merger *m, size_t *applied, size_t *quarantined,
                            size_t *still_pending)
{
    pg_node *node;
    pg_buf body;
    int64_t last = 0;
    size_t n[4] = {0};
    int error = 0;

    PG_ASSERT_ARG(m);
    node = m->node;
    pg_buf_init(&body, PG_BUF_DEFAULT_MAX);
    /* One at a time, by id: constant memory however many wait, and rows
     * leaving `pending` do not disturb the walk. */
    while (m->any_pending) {
        sqlite3_stmt *st;
        bool owned, got = false;
        int rc;
        if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                      "SELECT id, body FROM pending WHERE "
                                      "id > ? ORDER BY id LIMIT 1")) < 0)
            break;
        sqlite3_bind_int64(st, 1, last);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            got = true;
            last = sqlite3_column_int64(st, 0);
            pg_buf_clear(&body);
            error = pg_buf_put(&body, sqlite3_column_blob(st, 1),
                               (size_t)sqlite3_column_bytes(st, 1));
        }
        pg_store__release(st, owned);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            error = pg_store__error(node->db, rc, "reading pending txns");
        if (error < 0 || !got)
            break;
        pg_merge_result res;
        if ((error = pg_merger_apply(m, NULL, 0, body.data, body.len, &res)) <
            0)
            break;
        n[res.outcome]++;
    }
    pg_buf_dispose(&body);
    if (applied)
        *applied = n[PG_MERGED_APPLIED] + n[PG_MERGED_DUPLICATE];
    if (quarantined)
        *quarantined = n[PG_MERGED_QUARANTINED];
    if (still_pending)
        *still_pending = n[PG_MERGED_PENDING];
    return error;
}

/* --- revocation (DESIGN §7) --------------------------------------------- */

#define SQL_REVOKED_TXNS                                                       \
    "SELECT seq, body, via FROM log WHERE origin = ? AND origin_seq > ? "      \
    "ORDER BY seq"

/* Move the revoked txns from the log to quarantine; note the records
 * they touched (collection \0 division \0 id \0, each). */
static int revoke_move(pg_merger *m, const char *code, const char *key_id,
                       int64_t after, pg_buf *touched, size_t *moved)
{
    pg_node *node = m->node;
    sqlite3_stmt *st = NULL, *del = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db, SQL_REVOKED_TXNS, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(node->db, "DELETE FROM log WHERE seq = ?", -1,
                                &del, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "revoking a key");
        goto done;
    }
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, after);
    while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *body = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        const char *via = (const char *)sqlite3_column_text(st, 2);
        pg_txn *txn = NULL;
        pg_merge_result res;
        if (pg_txn_decode(&txn, body, len) < 0 || pg_txn_digest(txn) < 0) {
            pg_error_clear();
            pg_txn_free(txn);
            continue;
        }
        if (strcmp(txn->key_id, key_id) != 0) {
            pg_txn_free(txn);
            continue;
        }
        memset(&res, 0, sizeof(res));
        memcpy(res.origin, txn->origin, PG_CODE_LEN + 1);
        res.origin_seq = txn->seq;
        set_reason(&res,
                   "revoked: key %s of %s was revoked after seq %lld; this "
                   "txn (seq %llu) had been applied and was taken back",
                   key_id, code, (long long)after,
                   (unsigned long long)txn->seq);
        merge_ctx c = {.m = m,
                       .txn = txn,
                       .body = body,
                       .len = len,
                       .now = pg_time_now_ms(),
                       .res = &res};
        snprintf(c.from.code, sizeof(c.from.code), "%s", via ? via : "");
        memcpy(c.digest, txn->digest, PG_HASH_LEN);
        error = quarantine(&c);
        for (size_t i = 0; !error && i < txn->nchanges; i++) {
            if (i > 0 && strcmp(txn->changes[i].record_id,
                                txn->changes[i - 1].record_id) == 0)
                continue;
            error = pg_buf_put(touched, txn->collection,
                               strlen(txn->collection) + 1);
            if (!error)
                error = pg_buf_put(touched, txn->division, PG_CODE_LEN + 1);
            if (!error)
                error = pg_buf_put(touched, txn->changes[i].record_id,
                                   strlen(txn->changes[i].record_id) + 1);
        }
        pg_txn_free(txn);
        if (!error) {
            sqlite3_reset(del);
            sqlite3_bind_int64(del, 1, sqlite3_column_int64(st, 0));
            if ((rc = sqlite3_step(del)) != SQLITE_DONE)
                error = pg_store__error(node->db, rc, "revoking a key");
            else
                (*moved)++;
        }
    }
    if (!error && rc != SQLITE_DONE && rc != SQLITE_ROW)
        error = pg_store__error(node->db, rc, "revoking a key");

done:
    sqlite3_finalize(st);
    sqlite3_finalize(del);
    return error;
}

static int revoke_exec(pg_node *node, const char *sql, const char *a,
                       const char *b)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "rebuilding records");
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? 0
               : pg_store__error(node->db, rc, "rebuilding records");
}

/* Rebuild the records of one collection and division from the log. */
static int revoke_rebuild(pg_merger *m, const pg_collection *coll,
                          const char *division, const pg_buf *ids)
{
    pg_node *node = m->node;
    sqlite3_stmt *st = NULL;
    char sql[160];
    int rc, error = 0;

    snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE id = ?", coll->name);
    for (size_t i = 0; !error && i < ids->len;
         i += strlen((const char *)ids->data + i) + 1) {
        const char *id = (const char *)ids->data + i;
        error = revoke_exec(node, sql, id, NULL);
        if (!error)
            error = revoke_exec(
                node, "DELETE FROM hist WHERE record_id = ?1 AND coll = ?2", id,
                coll->name);
        if (!error)
            error = revoke_exec(
                node, "DELETE FROM conflict WHERE record_id = ?1 AND coll = ?2",
                id, coll->name);
    }
    if (error)
        return error;
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT body, via FROM log WHERE collection = ? "
                            "AND division = ? ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "rebuilding records");
    sqlite3_bind_text(st, 1, coll->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, division, -1, SQLITE_STATIC);
    while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *body = sqlite3_column_blob(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        pg_txn *txn = NULL;
        pg_merge_result res;
        bool outside;
        if (pg_txn_decode(&txn, body, len) < 0) {
            pg_error_clear();
            continue;
        }
        memset(&res, 0, sizeof(res));
        merge_ctx c = {.m = m,
                       .txn = txn,
                       .body = body,
                       .len = len,
                       .now = pg_time_now_ms(),
                       .res = &res,
                       .only = ids};
        error = apply_txn(&outside, &c, coll);
        pg_txn_free(txn);
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "rebuilding records");
    sqlite3_finalize(st);
    return error;
}

int pg_merger_revoke(pg_merger *m, const char *code, const char *key_id,
                     int64_t after, size_t *moved)
{
    pg_buf touched = PG_BUF_INIT, ids = PG_BUF_INIT;
    int error;

    *moved = 0;
    signers_forget(m);
    if ((error = revoke_move(m, code, key_id, after, &touched, moved)) < 0 ||
        *moved == 0)
        goto done;
    /* Rebuild, one (collection, division) at a time. */
    size_t n = 0;
    for (size_t i = 0; i < touched.len; i++)
        n += touched.data[i] == 0;
    n /= 3;
    const char **ent = calloc(n ? 3 * n : 1, sizeof(*ent));
    bool *done = calloc(n ? n : 1, sizeof(*done));
    if (!ent || !done) {
        free(ent);
        free(done);
        error = merge_nomem();
        goto done;
    }
    for (size_t i = 0, k = 0; k < 3 * n; k++) {
        ent[k] = (const char *)touched.data + i;
        i += strlen(ent[k]) + 1;
    }
    for (size_t a = 0; !error && a < n; a++) {
        if (done[a])
            continue;
        pg_buf_clear(&ids);
        for (size_t b = a; !error && b < n; b++) {
            if (done[b] || strcmp(ent[3 * b], ent[3 * a]) != 0 ||
                strcmp(ent[3 * b + 1], ent[3 * a + 1]) != 0)
                continue;
            done[b] = true;
            if (!in_set(&ids, ent[3 * b + 2]))
                error = pg_buf_put(&ids, ent[3 * b + 2],
                                   strlen(ent[3 * b + 2]) + 1);
        }
        const pg_collection *coll =
            pg_schema_collection(pg_node_schema(m->node), ent[3 * a]);
        if (!error && coll)
            error = revoke_rebuild(m, coll, ent[3 * a + 1], &ids);
    }
    free(ent);
    free(done);

done:
    pg_buf_dispose(&touched);
    pg_buf_dispose(&ids);
    return error;
}
