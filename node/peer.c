/*
 * Peers: pinned cards of the parent, children and partners (DESIGN §1, §6,
 * §7), one row each in the store's `peer` table.
 *
 * Pinning is where trust starts, so pg_peer_add checks everything before
 * it writes, and writes inside one IMMEDIATE transaction so that two
 * administrators adding at once cannot both pin a parent:
 *
 *   1. the card verifies (self-signature, key id) and is not this node's;
 *   2. the code fits the role: a parent is the next tier up by code, a
 *      child is exactly one tier down inside the jurisdiction, a partner
 *      is another city (and this node is a city);
 *   3. the URL and CA file are well-formed;
 *   4. inside the transaction: the code is not pinned (with this card or
 *      another: a changed key is never silently accepted), the key is not
 *      pinned under another code, and there is no parent yet.
 *
 * Why refuse a key pinned under another code: a card is self-signed, so
 * the holder of one node's key can sign a card with any code; one key
 * pinned under two codes would let one node speak as two.
 */
/* realpath() is XSI: glibc declares it only with _XOPEN_SOURCE. */
#define _XOPEN_SOURCE 700
#include "pingan/peer.h"
#include "error_internal.h"
#include "node_internal.h"
#include "audit_internal.h"
#include "store.h"
#include "write_internal.h"
#include "pingan/cert.h"
#include "pingan/error.h"
#include "pingan/remap.h"
#include "pingan/value.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const role_names[] = {"parent", "child", "partner"};

const char *pg_peer_role_name(pg_peer_role role)
{
    if (role < PG_PEER_PARENT || role > PG_PEER_PARTNER)
        return "?";
    return role_names[role - 1];
}

pg_peer_role pg_peer_role_from_name(const char *name)
{
    if (!name)
        return PG_PEER_NONE;
    for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
        if (strcmp(name, role_names[i]) == 0)
            return (pg_peer_role)(i + 1);
    return PG_PEER_NONE;
}

static int peer_bad_code(const char *code)
{
    char ex[PG_EXCERPT_SIZE];
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "'%s' is not a 12-digit division code",
                        pg_excerpt(ex, code, strlen(code)));
}

/*
 * An http:// or https:// URL with a host, at most PG_PEER_URL_MAX bytes of
 * printable ASCII: no white space or control character (it could forge
 * lines where it is shown), nothing outside ASCII (a host name goes in
 * its punycode form, a path percent-encoded).
 */
static int peer_check_url(const char *url)
{
    char ex[PG_EXCERPT_SIZE];
    size_t len = strnlen(url, PG_PEER_URL_MAX + 1);
    size_t scheme;

    if (len == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the URL is empty; give http://HOST[:PORT]/... "
                            "or https://...");
    if (len > PG_PEER_URL_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "URL '%s' is longer than %d bytes",
                            pg_excerpt(ex, url, strlen(url)), PG_PEER_URL_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f)
            return pg_error_set(
                PG_EINVALID, PG_ERRCLASS_INVALID,
                "URL '%s' has %s at byte %zu; percent-encode it "
                "(and write host names in their xn-- form)",
                pg_excerpt(ex, url, len),
                c == ' '                ? "a space"
                : c < 0x20 || c == 0x7f ? "a control character"
                                        : "a non-ASCII byte",
                i + 1);
    }
    if (strncmp(url, "http://", 7) == 0)
        scheme = 7;
    else if (strncmp(url, "https://", 8) == 0)
        scheme = 8;
    else
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "URL '%s' must start with http:// or https://",
                            pg_excerpt(ex, url, len));
    if (url[scheme] == 0 || strchr("/?#:@", url[scheme]))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "URL '%s' names no host", pg_excerpt(ex, url, len));
    return 0;
}

static bool peer_https(const char *url)
{
    return url && strncmp(url, "https://", 8) == 0;
}

/*
 * Resolve a CA file to an absolute path after checking that it is a
 * regular file this process can read.  The path is shown by `peer list`,
 * so it must be one line of UTF-8.
 */
static int peer_resolve_ca(char out[PG_PEER_PATH_MAX + 1], const char *path)
{
    char ex[PG_EXCERPT_SIZE];
    struct stat st;
    char *abs = NULL;
    int fd, error = 0;

    pg_excerpt(ex, path, strlen(path));
    if (!path[0])
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the CA file name is empty");
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_OS,
                            "cannot read CA file '%s': %s", ex,
                            pg_error__oserr(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "CA file '%s' is not a regular file", ex);
    }
    close(fd);
    abs = realpath(path, NULL);
    if (!abs)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_OS,
                            "cannot resolve CA file '%s': %s", ex,
                            pg_error__oserr(errno));
    size_t n = strlen(abs);
    if (n > PG_PEER_PATH_MAX)
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "the path of CA file '%s' is longer than %d "
                             "bytes",
                             ex, PG_PEER_PATH_MAX);
    else if (!pg_label_valid(abs, n))
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "the path of CA file '%s' is not UTF-8 or has "
                             "control characters; rename it",
                             pg_excerpt(ex, abs, n));
    else
        memcpy(out, abs, n + 1);
    free(abs);
    return error;
}

/* Does the code of @p card fit @p role, seen from @p node? */
static int peer_check_role(const pg_node *node, const pg_card *card,
                           pg_peer_role role)
{
    const char *self = node->card.code;
    const char *code = card->code;
    char up[PG_CODE_LEN + 1];

    switch (role) {
    case PG_PEER_PARENT:
        if (node->card.tier == PG_TIER_PROVINCE)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "this node %s is a province and has no "
                                "parent; %s cannot be pinned as parent",
                                self, code);
        if (pg_division_parent(up, self) < 0)
            return pg_error_last()->code;
        if (strcmp(up, code) != 0)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "%s (%s) cannot be the parent of this node "
                                "%s: its parent by code is %s",
                                code, pg_tier_name(card->tier), self, up);
        return 0;
    case PG_PEER_CHILD:
        if (!pg_division_contains(self, code))
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "%s is not inside this node's jurisdiction "
                                "(%s, prefix %s) and cannot be its child",
                                code, self, node->prefix);
        if (pg_division_parent(up, code) < 0)
            return pg_error_last()->code;
        if (strcmp(up, self) != 0)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "%s (%s) is more than one tier below this "
                                "node %s (%s); link it to its parent %s",
                                code, pg_tier_name(card->tier), self,
                                pg_tier_name(node->card.tier), up);
        return 0;
    case PG_PEER_PARTNER:
        if (node->card.tier != PG_TIER_CITY)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "only cities have partners; this node %s is "
                                "a %s",
                                self, pg_tier_name(node->card.tier));
        if (card->tier != PG_TIER_CITY)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "a partner must be a city; %s is a %s", code,
                                pg_tier_name(card->tier));
        if (pg_division_contains(self, code))
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                                "%s is inside this node's jurisdiction and "
                                "cannot be its partner",
                                code);
        return 0;
    default:
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "unknown peer role %d; expected parent, child or "
                            "partner",
                            (int)role);
    }
}

/* Refuse a code, key or parent that is pinned already.  In a transaction. */
static int peer_check_unpinned(pg_node *node, const pg_card *card,
                               pg_peer_role role)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    rc = sqlite3_prepare_v2(node->db,
                            "SELECT code, role, key_id, sign_pk FROM peer "
                            "WHERE code = ?1 OR sign_pk = ?2 OR "
                            "(?3 AND role = 'parent') ORDER BY code = ?1 DESC",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading peers");
    sqlite3_bind_text(st, 1, card->code, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, card->sign_pk, PG_SIGN_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, role == PG_PEER_PARENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        goto done;
    if (rc != SQLITE_ROW) {
        error = pg_store__error(node->db, rc, "reading peers");
        goto done;
    }
    const char *code = (const char *)sqlite3_column_text(st, 0);
    const char *prole = (const char *)sqlite3_column_text(st, 1);
    const char *key_id = (const char *)sqlite3_column_text(st, 2);
    code = code ? code : "?";
    prole = prole ? prole : "?";
    key_id = key_id ? key_id : "?";
    if (strcmp(code, card->code) == 0 && strcmp(key_id, card->key_id) == 0)
        error = pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                             "%s is already pinned (as %s, key id %s); "
                             "change its address with 'pingan peer set', or "
                             "remove it first with 'pingan peer remove %s'",
                             code, prole, key_id, code);
    else if (strcmp(code, card->code) == 0)
        error = pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                             "%s is already pinned with another key (key id "
                             "%s, this card has %s); if the node's key was "
                             "replaced, confirm it with its administrator, "
                             "then 'pingan peer remove %s' and add the new "
                             "card",
                             code, key_id, card->key_id, code);
    else if (sqlite3_column_bytes(st, 3) == PG_SIGN_PK_LEN &&
             memcmp(sqlite3_column_blob(st, 3), card->sign_pk,
                    PG_SIGN_PK_LEN) == 0)
        error = pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                             "the key of this card for %s (key id %s) is "
                             "already pinned for %s; one key cannot speak for "
                             "two nodes",
                             card->code, card->key_id, code);
    else
        error = pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                             "this node already has a parent, %s; a node has "
                             "at most one (remove it first with 'pingan peer "
                             "remove %s')",
                             code, code);

done:
    sqlite3_finalize(st);
    return error;
}

/* DESIGN §7: adding a child certifies it, as a `node` record written by
 * this node inside the transaction that pins the child. */
int pg_peer__certify(pg_node *node, const pg_card *child)
{
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), "node");
    pg_field_value vals[PG_CERT_FIELDS];
    size_t idx[PG_CERT_FIELDS];
    char division[PG_CODE_LEN + 1];
    pg_cert_text text;
    pg_cert cert;
    int error;

    if ((error = pg_cert_issue(&cert, &node->card, node->sign_sk, child,
                               pg_time_now_ms())) < 0)
        return error;
    pg_cert_to_fields(vals, &text, &cert);
    if ((error = pg_write__validate(idx, division, node, coll, vals,
                                    PG_CERT_FIELDS, true)) < 0)
        return error;
    return pg_write__create(NULL, node, coll, division, vals, idx,
                            PG_CERT_FIELDS, "pingan");
}

int pg_peer_add(pg_node *node, const char *card_json, size_t len,
                pg_peer_role role, const char *url, const char *ca_file)
{
    return pg_peer_add_policy(node, card_json, len, role, url, ca_file, NULL, 0,
                              NULL);
}

int pg_peer_add_policy(pg_node *node, const char *card_json, size_t len,
                       pg_peer_role role, const char *url, const char *ca_file,
                       const char *policy, size_t policy_len,
                       const char *policy_source)
{
    char ca_abs[PG_PEER_PATH_MAX + 1];
    sqlite3_stmt *st = NULL;
    pg_card card;
    int rc, error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(card_json || len == 0);

    if (role < PG_PEER_PARENT || role > PG_PEER_PARTNER)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "unknown peer role %d; expected parent, child or "
                            "partner",
                            (int)role);
    if ((error = pg_card_from_json(&card, card_json ? card_json : "", len)) < 0)
        return error;
    if (strcmp(card.code, node->card.code) == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "the card of %s is this node's own code; a node "
                            "cannot be its own peer: add the card of the "
                            "other node",
                            card.code);
    if (memcmp(card.sign_pk, node->card.sign_pk, PG_SIGN_PK_LEN) == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "the card of %s carries this node's own key (key "
                            "id %s); a node cannot be its own peer",
                            card.code, card.key_id);
    if ((error = peer_check_role(node, &card, role)) < 0)
        return error;
    if (url && (error = peer_check_url(url)) < 0)
        return error;
    if (ca_file) {
        if (!peer_https(url))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "a CA file is used only with an https:// "
                                "URL; give --url https://...");
        if ((error = peer_resolve_ca(ca_abs, ca_file)) < 0)
            return error;
    }

    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    if ((error = peer_check_unpinned(node, &card, role)) < 0)
        goto done;
    rc = sqlite3_prepare_v2(
        node->db,
        "INSERT INTO peer(code, role, card, name, tier, key_id, sign_pk, "
        "box_pk, url, ca_file, added_ms, policy, policy_source) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "pinning a peer");
        goto done;
    }
    sqlite3_bind_text(st, 1, card.code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pg_peer_role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, card_json, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, card.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, pg_tier_name(card.tier), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, card.key_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, card.sign_pk, PG_SIGN_PK_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, card.box_pk, PG_BOX_PK_LEN, SQLITE_STATIC);
    if (url)
        sqlite3_bind_text(st, 9, url, -1, SQLITE_STATIC);
    if (ca_file)
        sqlite3_bind_text(st, 10, ca_abs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, pg_time_now_ms());
    if (policy) {
        sqlite3_bind_text(st, 12, policy, (int)policy_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, policy_source ? policy_source : "", -1,
                          SQLITE_STATIC);
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        error = pg_store__error(node->db, rc, "pinning a peer");
        goto done;
    }
    if (role == PG_PEER_CHILD && (error = pg_peer__certify(node, &card)) < 0)
        goto done;
    char policy_hex[2 * PG_HASH_LEN + 1] = "";
    if (policy) {
        uint8_t h[PG_HASH_LEN];
        pg_blake2b(h, sizeof(h), policy, policy_len);
        pg_hex(policy_hex, h, sizeof(h));
    }
    /* The policy by its hash: its text names fields, never values, but
     * the hash is what identifies the agreement in force. */
    if ((error = pg_audit__record(
             node, "peer.add", card.code, "{s:s, s:s, s:s, s:s?, s:b}", "role",
             pg_peer_role_name(role), "key_id", card.key_id, "tier",
             pg_tier_name(card.tier), "policy", policy ? policy_hex : NULL,
             "url", url != NULL)) < 0)
        goto done;
    error = pg_store__commit(node->db);

done:
    sqlite3_finalize(st);
    if (error < 0)
        pg_store__rollback(node->db);
    return error;
}

/* Copy a text column into a fixed buffer; false when it does not fit. */
static bool peer_column_text(char *out, size_t outlen, sqlite3_stmt *st,
                             int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = s ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= outlen || (s && memchr(s, 0, n)))
        return false;
    if (n)
        memcpy(out, s, n);
    out[n] = 0;
    return true;
}

/* The last two: the contiguous end of the peer's log received here, and
 * the first received entry after a hole (NULL without one). */
#define PEER_COLUMNS                                                           \
    "code, name, tier, role, key_id, url, ca_file, sent_upto, acked_upto, "    \
    "received_upto, added_ms, last_sync_ms, "                                  \
    "coalesce((SELECT last FROM peer_range r WHERE r.code = peer.code AND "    \
    "r.first = 1), 0), "                                                       \
    "(SELECT min(first) FROM peer_range r WHERE r.code = peer.code AND "       \
    "r.first > coalesce((SELECT last FROM peer_range r WHERE r.code = "        \
    "peer.code AND r.first = 1), 0) + 1)"

/* Fill a pg_peer from a row of PEER_COLUMNS. */
static int peer_from_row(pg_peer *out, sqlite3_stmt *st)
{
    char tier[16], role[16];

    memset(out, 0, sizeof(*out));
    if (!peer_column_text(out->code, sizeof(out->code), st, 0) ||
        !peer_column_text(out->name, sizeof(out->name), st, 1) ||
        !peer_column_text(tier, sizeof(tier), st, 2) ||
        !peer_column_text(role, sizeof(role), st, 3) ||
        !peer_column_text(out->key_id, sizeof(out->key_id), st, 4) ||
        !peer_column_text(out->url, sizeof(out->url), st, 5) ||
        !peer_column_text(out->ca_file, sizeof(out->ca_file), st, 6) ||
        !pg_division_valid(out->code) ||
        (out->tier = pg_tier_from_name(tier)) == PG_TIER_NONE ||
        (out->role = pg_peer_role_from_name(role)) == PG_PEER_NONE) {
        char ex[PG_EXCERPT_SIZE];
        const char *code = (const char *)sqlite3_column_text(st, 0);
        code = code ? code : "";
        memset(out, 0, sizeof(*out));
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "the stored peer '%s' is damaged; remove it with "
                            "'pingan peer remove' and add its card again",
                            pg_excerpt(ex, code, strlen(code)));
    }
    out->sent_upto = sqlite3_column_int64(st, 7);
    out->acked_upto = sqlite3_column_int64(st, 8);
    out->received_upto = sqlite3_column_int64(st, 9);
    out->added_ms = sqlite3_column_int64(st, 10);
    out->last_sync_ms = sqlite3_column_int64(st, 11);
    if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
        out->gap_first = sqlite3_column_int64(st, 12) + 1;
        out->gap_last = sqlite3_column_int64(st, 13) - 1;
    }
    return 0;
}

/* The peer's code resolved by the division remaps (pingan/remap.h).  A
 * failure to read them is reported, not taken for "no remap": inside an
 * import SQLite may have rolled the transaction back (out of memory). */
static int peer_resolve(pg_node *node, pg_peer *p)
{
    return pg_division_resolve(node, p->code, p->resolved);
}

/* The one peer whose code resolves to @p code ("" when none or several). */
static int peer_by_resolved(char out[PG_CODE_LEN + 1], pg_node *node,
                            const char *code)
{
    sqlite3_stmt *st = NULL;
    size_t found = 0;
    int rc, error = 0;

    out[0] = 0;
    rc = sqlite3_prepare_v2(node->db, "SELECT code FROM peer ORDER BY code", -1,
                            &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading peers");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        char r[PG_CODE_LEN + 1];
        if (!c || !pg_division_valid(c) || strcmp(c, code) == 0)
            continue;
        if ((error = pg_division_resolve(node, c, r)) < 0)
            break;
        if (strcmp(r, code) == 0 && found++ == 0)
            memcpy(out, c, PG_CODE_LEN + 1);
    }
    sqlite3_finalize(st);
    if (error < 0)
        return error;
    if (rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading peers");
    if (found != 1)
        out[0] = 0;
    return 0;
}

int pg_peer_find(pg_peer *out, pg_node *node, const char *code)
{
    char other[PG_CODE_LEN + 1];
    int error = pg_peer_get(out, node, code);

    if (error != PG_ENOTFOUND)
        return error;
    if (peer_by_resolved(other, node, code) < 0 || !other[0]) {
        pg_error_clear();
        return pg_peer_get(out, node, code); /* its message */
    }
    pg_error_clear();
    return pg_peer_get(out, node, other);
}

int pg_peer_get(pg_peer *out, pg_node *node, const char *code)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(code);

    memset(out, 0, sizeof(*out));
    if (!pg_division_valid(code))
        return peer_bad_code(code);
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT " PEER_COLUMNS " FROM peer WHERE code = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading peers");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if ((error = peer_from_row(out, st)) == 0)
            error = peer_resolve(node, out);
    } else if (rc == SQLITE_DONE)
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "%s is not a peer of this node; 'pingan peer "
                             "list' shows the peers",
                             code);
    else
        error = pg_store__error(node->db, rc, "reading peers");
    sqlite3_finalize(st);
    return error;
}

int pg_peer_list(pg_node *node, pg_peer_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    pg_peer *peer = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);

    /* About 6.5 KB: on the heap, not on the caller's stack. */
    peer = malloc(sizeof(*peer));
    if (!peer)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT " PEER_COLUMNS " FROM peer ORDER BY code",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "reading peers");
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((error = peer_from_row(peer, st)) < 0 ||
            (error = peer_resolve(node, peer)) < 0)
            goto done;
        if ((error = cb(peer, payload)) != 0)
            goto done;
    }
    if (rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading peers");

done:
    sqlite3_finalize(st);
    free(peer);
    return error;
}

int pg_peer_set(pg_node *node, const char *code, const char *url,
                const char *ca_file)
{
    char ca_abs[PG_PEER_PATH_MAX + 1];
    sqlite3_stmt *st = NULL;
    pg_peer *cur = NULL;
    int rc, error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(code);

    if (!pg_division_valid(code))
        return peer_bad_code(code);
    if (!url && !ca_file)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "nothing to change for peer %s: give a URL or a "
                            "CA file (empty to clear)",
                            code);
    if (url && url[0] && (error = peer_check_url(url)) < 0)
        return error;
    if (ca_file && ca_file[0] && (error = peer_resolve_ca(ca_abs, ca_file)) < 0)
        return error;

    cur = malloc(sizeof(*cur));
    if (!cur)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if ((error = pg_store__begin(node->db)) < 0) {
        free(cur); /* no rollback: it would undo the write in progress */
        return error;
    }
    if ((error = pg_peer_get(cur, node, code)) < 0)
        goto done;
    /* The address after the change must still make sense. */
    const char *new_url = url ? url : cur->url;
    const char *new_ca = ca_file ? ca_file : cur->ca_file;
    if (new_ca[0] && !peer_https(new_url)) {
        error = pg_error_set(
            PG_EINVALID, PG_ERRCLASS_INVALID,
            "peer %s would have CA file %s but no https:// URL; a CA file "
            "is used only with https: %s",
            code, ca_file ? ca_abs : cur->ca_file,
            ca_file ? "give --url https://..."
                    : "clear the CA file too with --ca ''");
        goto done;
    }
    rc = sqlite3_prepare_v2(node->db,
                            "UPDATE peer SET "
                            "url = CASE WHEN ?1 THEN ?2 ELSE url END, "
                            "ca_file = CASE WHEN ?3 THEN ?4 ELSE ca_file END "
                            "WHERE code = ?5",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "changing a peer");
        goto done;
    }
    sqlite3_bind_int(st, 1, url != NULL);
    if (url && url[0])
        sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, ca_file != NULL);
    if (ca_file && ca_file[0])
        sqlite3_bind_text(st, 4, ca_abs, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        error = pg_store__error(node->db, rc, "changing a peer");
        goto done;
    }
    if ((error = pg_audit__record(node, "peer.set", code, "{s:b, s:b}", "url",
                                  url != NULL, "ca_file", ca_file != NULL)) < 0)
        goto done;
    error = pg_store__commit(node->db);

done:
    sqlite3_finalize(st);
    if (error < 0)
        pg_store__rollback(node->db);
    free(cur);
    return error;
}

int pg_peer_remove(pg_node *node, const char *code)
{
    sqlite3_stmt *st = NULL;
    int rc, error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(code);

    if (!pg_division_valid(code))
        return peer_bad_code(code);
    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    /* Its received ranges go with it: a peer pinned again starts over. */
    rc = sqlite3_prepare_v2(
        node->db, "DELETE FROM peer_range WHERE code = ?1; ", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "removing a peer");
        goto done;
    }
    rc = sqlite3_prepare_v2(node->db, "DELETE FROM peer WHERE code = ?", -1,
                            &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "removing a peer");
        goto done;
    }
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        error = pg_store__error(node->db, rc, "removing a peer");
        goto done;
    }
    if (sqlite3_changes(node->db) == 0) {
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "%s is not a peer of this node; 'pingan peer "
                             "list' shows the peers",
                             code);
        goto done;
    }
    if ((error = pg_audit__append(node, "peer.remove", code, NULL)) < 0)
        goto done;
    error = pg_store__commit(node->db);

done:
    sqlite3_finalize(st);
    if (error < 0)
        pg_store__rollback(node->db);
    return error;
}

int pg_peer_policy(pg_node *node, const char *code, char **text, size_t *len)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(code);
    PG_ASSERT_ARG(text);
    *text = NULL;
    if (len)
        *len = 0;
    rc = sqlite3_prepare_v2(node->db, "SELECT policy FROM peer WHERE code = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading a peer's policy");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (s) {
            if (!(*text = malloc(n + 1))) {
                error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                     "out of memory");
            } else {
                memcpy(*text, s, n);
                (*text)[n] = 0;
                if (len)
                    *len = n;
            }
        }
    } else if (rc == SQLITE_DONE) {
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "%s is not a peer of this node", code);
    } else {
        error = pg_store__error(node->db, rc, "reading a peer's policy");
    }
    sqlite3_finalize(st);
    return error;
}
