/*
 * The public keys a node knows (sync/keys.h): its own card, the cards of
 * its pinned peers (table `peer`, the card JSON as pinned), certificates
 * (records of the system collection `node`, which the merge admits only
 * under the signature of their issuer) and the keyring: the root card and
 * the certificates of the ancestors, learned from the chain of trust in
 * the parent's bundle headers.
 *
 * Lookup order is own, peer, certificate, keyring: a pinned card is what
 * an administrator checked by hand and always wins.
 */
#include "keys.h"
#include "node_internal.h"
#include "pingan/cert.h"
#include "store.h"
#include "pingan/error.h"
#include "pingan/value.h"

#include <stdio.h>
#include <string.h>

static bool column_text(char *out, size_t outlen, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (!s || n >= outlen)
        return false;
    memcpy(out, s, n);
    out[n] = 0;
    return true;
}

static bool column_bytes(uint8_t *out, size_t len, sqlite3_stmt *st, int col)
{
    const void *b = sqlite3_column_blob(st, col);
    if (!b || (size_t)sqlite3_column_bytes(st, col) != len)
        return false;
    memcpy(out, b, len);
    return true;
}

static int keys_damaged(const char *table, const char *code)
{
    return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                        "the stored card of %s (table %s) is damaged", code,
                        table);
}

/* The pinned card of a peer, parsed again from the JSON it was pinned
 * with (which verifies it).  PG_ENOTFOUND when not a peer. */
static int peer_card(pg_card *out, pg_node *node, const char *code)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT card FROM peer WHERE code = ?")) < 0)
        return error;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        int parsed = json ? pg_card_from_json(out, json, len) : PG_ECORRUPT;
        if (!json && sqlite3_errcode(node->db) == SQLITE_NOMEM)
            error = pg_store__error(node->db, SQLITE_NOMEM, "reading peers");
        else if (parsed == PG_ENOMEM)
            error = parsed; /* not the card's fault */
        else if (parsed < 0 || strcmp(out->code, code) != 0)
            error = keys_damaged("peer", code);
    } else if (rc == SQLITE_DONE) {
        error = PG_ENOTFOUND;
    } else {
        error = pg_store__error(node->db, rc, "reading peers");
    }
    pg_store__release(st, owned);
    return error;
}

#define SQL_KEYRING_GET                                                        \
    "SELECT key_id, sign_pk, box_pk, name, tier, created_ms, signature "       \
    "FROM keyring WHERE code = ?"

static int keyring_card(pg_card *out, pg_node *node, const char *code)
{
    sqlite3_stmt *st;
    bool owned;
    char tier[16];
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_KEYRING_GET)) < 0)
        return error;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        out->suite = PG_SUITE_SODIUM;
        snprintf(out->code, sizeof(out->code), "%s", code);
        if (!column_text(out->key_id, sizeof(out->key_id), st, 0) ||
            !column_bytes(out->sign_pk, PG_SIGN_PK_LEN, st, 1) ||
            !column_bytes(out->box_pk, PG_BOX_PK_LEN, st, 2) ||
            !column_text(out->name, sizeof(out->name), st, 3) ||
            !column_text(tier, sizeof(tier), st, 4) ||
            !column_bytes(out->signature, PG_SIG_LEN, st, 6) ||
            (out->tier = pg_tier_from_name(tier)) == PG_TIER_NONE)
            error = keys_damaged("keyring", code);
        out->created_ms = sqlite3_column_int64(st, 5);
        /* The key id is derived: a row whose id does not match its key
         * was altered. */
        char kid[PG_KEY_ID_LEN + 1];
        pg_key_id(kid, out->sign_pk);
        if (!error && strcmp(kid, out->key_id) != 0)
            error = keys_damaged("keyring", code);
    } else if (rc == SQLITE_DONE) {
        error = PG_ENOTFOUND;
    } else {
        error = pg_store__error(node->db, rc, "reading the keyring");
    }
    pg_store__release(st, owned);
    return error;
}

#define SQL_CERT_GET                                                           \
    "SELECT code, name, tier, sign_pk, box_pk, key_id, suite, issuer, "        \
    "issuer_key_id, valid_from, certificate_sig, (SELECT "                     \
    "min(coalesce(r.revoked_after_seq, 0)) FROM node r WHERE r.code = "        \
    "node.code AND r.key_id = node.key_id AND r.revoked = 1) "                 \
    "FROM node WHERE code = ?1 AND "                                           \
    "coalesce(_deleted, 0) = 0 AND (?2 IS NULL OR key_id = ?2) "               \
    "ORDER BY coalesce(revoked, 0), valid_from DESC LIMIT 1"

/* The certificate of code (with key key_id, or the newest unrevoked one
 * when key_id is NULL) from table `node`.  *revoked_after is -1 unless the
 * certificate was revoked.  PG_ENOTFOUND when there is none. */
static int cert_get(pg_cert *out, int64_t *revoked_after, pg_node *node,
                    const char *code, const char *key_id)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    *revoked_after = -1;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_CERT_GET)) < 0)
        return error;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    if (key_id)
        sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        pg_cert_row row = {
            .code = (const char *)sqlite3_column_text(st, 0),
            .name = (const char *)sqlite3_column_text(st, 1),
            .tier = (const char *)sqlite3_column_text(st, 2),
            .sign_pk = (const char *)sqlite3_column_text(st, 3),
            .box_pk = (const char *)sqlite3_column_text(st, 4),
            .key_id = (const char *)sqlite3_column_text(st, 5),
            .suite = sqlite3_column_int64(st, 6),
            .issuer = (const char *)sqlite3_column_text(st, 7),
            .issuer_key_id = (const char *)sqlite3_column_text(st, 8),
            .valid_from = sqlite3_column_int64(st, 9),
            .signature = (const char *)sqlite3_column_text(st, 10),
        };
        char kid[PG_KEY_ID_LEN + 1];
        if (pg_cert_from_row(out, &row) < 0) {
            pg_error_clear();
            error = keys_damaged("node", code);
        } else if (pg_key_id(kid, out->subject.sign_pk),
                   strcmp(kid, out->subject.key_id) != 0) {
            error = keys_damaged("node", code);
        } else if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
            /* Any revoked certificate of the key revokes it. */
            *revoked_after = sqlite3_column_int64(st, 11);
        }
    } else if (rc == SQLITE_DONE) {
        error = PG_ENOTFOUND;
    } else {
        error = pg_store__error(node->db, rc, "reading certificates");
    }
    pg_store__release(st, owned);
    return error;
}

static int cert_card(pg_card *out, int64_t *revoked_after, pg_node *node,
                     const char *code, const char *key_id)
{
    pg_cert cert;
    int error = cert_get(&cert, revoked_after, node, code, key_id);
    if (error == 0)
        *out = cert.subject;
    return error;
}

/* A key of `code` retired by a rekey (table peer_retired): its card and
 * the last seq it signed.  PG_ENOTFOUND when there is none. */
static int retired_card(pg_card *out, int64_t *last, pg_node *node,
                        const char *code, const char *key_id)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT card, last_seq FROM peer_retired "
                                  "WHERE key_id = ? AND code = ?")) < 0)
        return error;
    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        *last = sqlite3_column_int64(st, 1);
        if (!json || pg_card_from_json(out, json, len) < 0 ||
            strcmp(out->code, code) != 0 || strcmp(out->key_id, key_id) != 0)
            error = keys_damaged("peer_retired", code);
    } else if (rc == SQLITE_DONE) {
        error = PG_ENOTFOUND;
    } else {
        error = pg_store__error(node->db, rc, "reading retired keys");
    }
    pg_store__release(st, owned);
    return error;
}

int pg_keys_revoked(int64_t *after, pg_node *node, const char *code,
                    const char *key_id)
{
    pg_card card;
    int64_t last;
    int error = cert_card(&card, after, node, code, key_id);
    if (error == PG_ENOTFOUND) {
        *after = -1;
        error = 0;
    }
    if (error < 0)
        return error;
    /* A key retired by a rekey signs nothing after its last seq, here
     * even before the revocation arrives. */
    error = retired_card(&card, &last, node, code, key_id);
    if (error == 0 && (*after < 0 || last < *after))
        *after = last;
    return error == PG_ENOTFOUND ? 0 : error;
}

int pg_keys_card(pg_card *out, pg_node *node, const char *code)
{
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(code);

    if (strcmp(code, node->card.code) == 0) {
        *out = node->card;
        return 0;
    }
    if ((error = peer_card(out, node, code)) != PG_ENOTFOUND)
        return error;
    int64_t revoked;
    if ((error = cert_card(out, &revoked, node, code, NULL)) != PG_ENOTFOUND)
        return error;
    if ((error = keyring_card(out, node, code)) != PG_ENOTFOUND)
        return error;
    memset(out, 0, sizeof(*out));
    return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                        "no card of %s is known here (not this node, not a "
                        "pinned peer, no certificate)",
                        code);
}

int pg_keys_signer(pg_card *out, pg_node *node, const char *code,
                   const char *key_id)
{
    int64_t revoked;
    int error;

    PG_ASSERT_ARG(out);
    if ((error = pg_keys_card(out, node, code)) < 0)
        return error;
    if (strcmp(out->key_id, key_id) == 0)
        return 0;
    /* Another key of the code: a certificate may name this one, or it
     * was retired by a rekey. */
    pg_card other;
    if ((error = cert_card(&other, &revoked, node, code, key_id)) == 0)
        *out = other;
    if (error == PG_ENOTFOUND &&
        (error = retired_card(&other, &revoked, node, code, key_id)) == 0)
        *out = other;
    return error == PG_ENOTFOUND ? 0 : error;
}

/* The code bound to a signing key by a pinned card or the keyring, if
 * any: *found is false when the key is unknown. */
static int key_owner(char code[PG_CODE_LEN + 1], bool *found, pg_node *node,
                     const uint8_t sign_pk[PG_SIGN_PK_LEN])
{
    static const char *const sql[] = {
        "SELECT code FROM peer WHERE sign_pk = ?",
        "SELECT code FROM keyring WHERE sign_pk = ?",
    };
    *found = false;
    if (memcmp(sign_pk, node->card.sign_pk, PG_SIGN_PK_LEN) == 0) {
        memcpy(code, node->card.code, PG_CODE_LEN + 1);
        *found = true;
        return 0;
    }
    for (size_t i = 0; i < 2 && !*found; i++) {
        sqlite3_stmt *st;
        bool owned;
        int rc, error;
        if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                      sql[i])) < 0)
            return error;
        sqlite3_bind_blob(st, 1, sign_pk, PG_SIGN_PK_LEN, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (!column_text(code, PG_CODE_LEN + 1, st, 0))
                snprintf(code, PG_CODE_LEN + 1, "?");
            *found = true;
        }
        pg_store__release(st, owned);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return pg_store__error(node->db, rc, "reading keys");
    }
    return 0;
}

#define SQL_KEYRING_PUT                                                        \
    "INSERT INTO keyring(code, key_id, sign_pk, box_pk, name, tier, "          \
    "created_ms, signature, via, added_ms) VALUES(?,?,?,?,?,?,?,?,?,?) "       \
    "ON CONFLICT(code) DO NOTHING"

/* Keep a card of the chain; a code is bound to one key. */
static int keyring_put(pg_node *node, const pg_card *card,
                       const uint8_t sig[PG_SIG_LEN], const pg_peer *via)
{
    pg_card known;
    sqlite3_stmt *st;
    bool owned;
    int error;

    error = pg_keys_card(&known, node, card->code);
    if (error == 0) {
        if (memcmp(known.sign_pk, card->sign_pk, PG_SIGN_PK_LEN) == 0)
            return 0;
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "parent %s sent a chain of trust with key id %s "
                            "for %s, but %s is known here with key id %s; a "
                            "key changes only by revocation",
                            via->code, card->key_id, card->code, card->code,
                            known.key_id);
    }
    if (error != PG_ENOTFOUND)
        return error;
    pg_error_clear();
    char owner[PG_CODE_LEN + 1];
    bool found;
    if ((error = key_owner(owner, &found, node, card->sign_pk)) < 0)
        return error;
    if (found)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "parent %s sent a chain of trust binding key id "
                            "%s to %s, but that key is %s's; one key cannot "
                            "speak for two nodes",
                            via->code, card->key_id, card->code, owner);
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_KEYRING_PUT)) < 0)
        return error;
    sqlite3_bind_text(st, 1, card->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, card->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, card->sign_pk, PG_SIGN_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, card->box_pk, PG_BOX_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, card->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, pg_tier_name(card->tier), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, card->created_ms);
    sqlite3_bind_blob(st, 8, sig, PG_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, via->code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, pg_time_now_ms());
    return pg_store__step_done(st, owned, node->db,
                               "adding a card to the keyring");
}

static int chain_bad(const pg_peer *via, const char *what)
{
    return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                        "the chain of trust in the bundle of parent %s does "
                        "not hold: %s",
                        via->code, what);
}

int pg_keys_learn_chain(pg_node *node, const pg_card *root,
                        const pg_cert *chain, size_t n, const pg_peer *via)
{
    pg_card pinned;
    int error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(root);
    PG_ASSERT_ARG(via);
    if (via->role != PG_PEER_PARENT)
        return chain_bad(via, "only a parent sends one");
    if (root->tier != PG_TIER_CITY ||
        !pg_division_contains(root->code, node->card.code))
        return chain_bad(via, "its root is not the card of this node's city");
    if ((error = pg_keys_card(&pinned, node, via->code)) < 0)
        return error;
    /* The chain starts at the parent this node pinned ... */
    const pg_card *first = n ? &chain[0].subject : root;
    if (strcmp(first->code, via->code) != 0 ||
        memcmp(first->sign_pk, pinned.sign_pk, PG_SIGN_PK_LEN) != 0)
        return chain_bad(via, "it does not start at the pinned parent's key");
    /* ... and each certificate is signed by the next, up to the root. */
    for (size_t i = 0; i < n; i++) {
        const pg_card *issuer = i + 1 < n ? &chain[i + 1].subject : root;
        if (strcmp(chain[i].issuer, issuer->code) != 0 ||
            pg_cert_verify(&chain[i], issuer->sign_pk) < 0) {
            pg_error_clear();
            return chain_bad(via, "a certificate is not signed by the next");
        }
    }
    if ((error = keyring_put(node, root, root->signature, via)) < 0)
        return error;
    for (size_t i = 1; i < n; i++)
        if ((error = keyring_put(node, &chain[i].subject, chain[i].signature,
                                 via)) < 0)
            return error;
    return 0;
}

int pg_keys_chain(pg_card *root, pg_cert *chain, size_t *n, pg_node *node)
{
    char code[PG_CODE_LEN + 1];
    int error;

    *n = 0;
    memcpy(code, node->card.code, sizeof(code));
    /* Up from this node's own certificate to the city's. */
    while (pg_division_tier(code) > PG_TIER_CITY) {
        int64_t revoked;
        if (*n == PG_CERT_CHAIN_MAX)
            return PG_ENOTFOUND;
        if ((error = cert_get(&chain[*n], &revoked, node, code, NULL)) < 0)
            return error;
        memcpy(code, chain[*n].issuer, sizeof(code));
        (*n)++;
    }
    return pg_keys_card(root, node, code);
}
