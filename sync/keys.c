/*
 * The public keys a node knows (sync/keys.h): its own card, the cards of
 * its pinned peers (table `peer`, the card JSON as pinned) and the
 * keyring of cards relayed in bundles (table `keyring`).
 *
 * Lookup order is own, peer, keyring: a pinned card is what an
 * administrator checked by hand and always wins.  Learning a relayed card
 * follows the trust rule of keys.h: a pinned peer vouches only for the
 * nodes on the far side of its link, and a code is bound to one key and a
 * key to one code (as pg_peer_add insists for pinned cards), so a relay
 * cannot swap the key of a node it does not own.
 */
#include "keys.h"
#include "node_internal.h"
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
        if (!json || pg_card_from_json(out, json, len) < 0 ||
            strcmp(out->code, code) != 0)
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
    if ((error = keyring_card(out, node, code)) != PG_ENOTFOUND)
        return error;
    memset(out, 0, sizeof(*out));
    return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                        "no card of %s is known here (not this node, not a "
                        "pinned peer, not in the keyring)",
                        code);
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

/* May peer `via` vouch for `code` (keys.h)? */
static int keys_vouches(const pg_node *node, const char *code,
                        const pg_peer *via)
{
    switch (via->role) {
    case PG_PEER_CHILD:
    case PG_PEER_PARTNER:
        /* The far side of a child's or a partner city's link is its own
         * subtree. */
        if (strcmp(code, via->code) != 0 &&
            pg_division_contains(via->code, code))
            return 0;
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                            "%s %s relayed the card of %s, which lies outside "
                            "its jurisdiction; ignored",
                            pg_peer_role_name(via->role), via->code, code);
    case PG_PEER_PARENT:
        /* The far side of the parent's link: the ancestors above it. */
        if (strcmp(code, via->code) != 0 &&
            pg_division_contains(code, via->code) &&
            pg_division_contains(code, node->card.code))
            return 0;
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                            "parent %s relayed the card of %s, which is not "
                            "an ancestor above it; ignored",
                            via->code, code);
    default:
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                            "%s is not a linked peer; its cards are ignored",
                            via->code);
    }
}

#define SQL_KEYRING_ADD                                                        \
    "INSERT INTO keyring(code, key_id, sign_pk, box_pk, name, tier, "          \
    "created_ms, signature, via, added_ms) VALUES(?,?,?,?,?,?,?,?,?,?)"

int pg_keys_learn(pg_node *node, const pg_card *card, const pg_peer *via)
{
    pg_card known;
    char owner[PG_CODE_LEN + 1];
    bool found;
    sqlite3_stmt *st;
    bool owned;
    int error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(card);
    PG_ASSERT_ARG(via);

    error = pg_keys_card(&known, node, card->code);
    if (error == 0) {
        if (memcmp(known.sign_pk, card->sign_pk, PG_SIGN_PK_LEN) == 0)
            return 0;
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "%s relayed a card of %s with key id %s, but %s "
                            "is known here with key id %s; a key changes "
                            "only by revocation",
                            via->code, card->code, card->key_id, card->code,
                            known.key_id);
    }
    if (error != PG_ENOTFOUND)
        return error;
    pg_error_clear();
    if ((error = keys_vouches(node, card->code, via)) < 0)
        return error;
    if ((error = key_owner(owner, &found, node, card->sign_pk)) < 0)
        return error;
    if (found)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "%s relayed a card of %s whose key (id %s) is "
                            "already bound to %s; one key cannot speak for "
                            "two nodes",
                            via->code, card->code, card->key_id, owner);
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  SQL_KEYRING_ADD)) < 0)
        return error;
    sqlite3_bind_text(st, 1, card->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, card->key_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, card->sign_pk, PG_SIGN_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, card->box_pk, PG_BOX_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, card->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, pg_tier_name(card->tier), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, card->created_ms);
    sqlite3_bind_blob(st, 8, card->signature, PG_SIG_LEN, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, via->code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, pg_time_now_ms());
    if ((error = pg_store__step_done(st, owned, node->db,
                                     "adding a card to the keyring")) < 0)
        return error;
    return 1;
}
