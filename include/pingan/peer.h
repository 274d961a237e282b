/**
 * @file pingan/peer.h
 * @brief Peers: the parent, children and partners a node is linked to.
 *
 * Adding a peer pins its card (DESIGN §7): its code, name, tier and public
 * keys, verified by the card's self-signature.  Each link is configured by
 * an administrator on both sides, each with the other side's card.  The
 * role must agree with the codes (DESIGN §1):
 *
 * | role      | the peer's code must be                                   |
 * |-----------|-----------------------------------------------------------|
 * | `parent`  | this node's parent by code (the next tier up); at most one |
 * | `child`   | inside this node's jurisdiction, exactly one tier down    |
 * | `partner` | another city, outside this node's jurisdiction; this node |
 * |           | must be a city too                                        |
 *
 * A code is pinned once: a second card for it, the same or a different
 * one, is refused until the first is removed.  A peer's address (an HTTP
 * URL and a CA file for https) may change; its cursors are kept.
 *
 * Cursors, per peer (DESIGN §6): `sent_upto` (this node's log sent so
 * far), `acked_upto` (what the peer has acknowledged), `received_upto`
 * (the contiguous end of the peer's log applied here).  They start at 0.
 * A gap is a part of the peer's log that has not arrived although later
 * parts have (a lost file): `pingan export --resend` on the peer fills it.
 */
#ifndef PINGAN_PEER_H
#define PINGAN_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"

/** Longest URL, in bytes. */
#define PG_PEER_URL_MAX 2048
/** Longest CA file path, in bytes (without the NUL). */
#define PG_PEER_PATH_MAX 4095

/** The role of a peer, seen from this node.  Values are pinned. */
typedef enum pg_peer_role {
    PG_PEER_NONE = 0,
    PG_PEER_PARENT = 1,
    PG_PEER_CHILD = 2,
    PG_PEER_PARTNER = 3,
} pg_peer_role;

/** A pinned peer, as stored. */
typedef struct pg_peer {
    char code[PG_CODE_LEN + 1];
    char name[256];
    pg_tier tier;
    pg_peer_role role;
    char key_id[PG_KEY_ID_LEN + 1];
    char url[PG_PEER_URL_MAX + 1];      /**< "" when none (files only) */
    char ca_file[PG_PEER_PATH_MAX + 1]; /**< absolute path; "" when none */
    int64_t sent_upto;
    int64_t acked_upto;
    int64_t received_upto;
    int64_t added_ms;
    int64_t last_sync_ms; /**< 0 when never synced */
    int64_t gap_first;    /**< first entry of the peer's log missing here */
    int64_t gap_last;     /**< before entries that did arrive (0, 0: none) */
    /** The code the peer's code resolves to by the division remaps known
     * here (pingan/remap.h); equal to code when none applies.  A peer is
     * pinned and stored under its card's code, which a remap never
     * changes: its cursors and history stay with it. */
    char resolved[PG_CODE_LEN + 1];
} pg_peer;

/** "parent", "child", "partner"; "?" otherwise. */
const char *pg_peer_role_name(pg_peer_role role);

/** The role named by pg_peer_role_name(), or PG_PEER_NONE. */
pg_peer_role pg_peer_role_from_name(const char *name);

/**
 * Pin a peer's card.
 *
 * The card must verify (pg_card_from_json) and must not be this node's
 * own; its code must fit @p role (see the table above) and must not be
 * pinned already, nor its key under another code.  The card text is
 * stored as given.
 *
 * @param node    an open node
 * @param card    the card's JSON text (at most 8 KiB)
 * @param len     its length in bytes
 * @param role    PG_PEER_PARENT, PG_PEER_CHILD or PG_PEER_PARTNER
 * @param url     NULL (files only), or an http:// or https:// URL of at
 *                most PG_PEER_URL_MAX bytes of printable ASCII
 * @param ca_file NULL, or an existing readable file of CA certificates
 *                for an https @p url; its absolute path is stored
 * @return 0; PG_EINVALID (malformed card, this node's own card, unknown
 *         role, bad URL or CA file); PG_EAUTH (the card's signature or key
 *         id does not verify); PG_EPOLICY (the code does not fit the
 *         role); PG_EEXISTS (the code, its key, or a parent is already
 *         pinned); PG_EBUSY; PG_ERROR.  Nothing is changed on failure.
 */
int pg_peer_add(pg_node *node, const char *card, size_t len, pg_peer_role role,
                const char *url, const char *ca_file);

/**
 * pg_peer_add() with the text of the link's policy file (an Art. 8
 * agreement for a partner; a tightening of the defaults otherwise), which
 * is stored as given.  @p policy NULL: the link follows the defaults.
 * Adding a child also certifies it (pingan/cert.h): a `node` record
 * written by this node in the same transaction.  The caller has checked
 * the policy text (pg_policy_parse).
 *
 * @param policy_source the file's name, for messages
 */
int pg_peer_add_policy(pg_node *node, const char *card, size_t len,
                       pg_peer_role role, const char *url, const char *ca_file,
                       const char *policy, size_t policy_len,
                       const char *policy_source);

/**
 * The policy text stored with a peer.
 *
 * @param text [out] a copy the caller frees, or NULL when the link has no
 *             policy file (it follows the defaults)
 * @param len  [out] optional: its length
 * @return 0, PG_ENOTFOUND (not a peer), PG_ENOMEM, PG_ERROR
 */
int pg_peer_policy(pg_node *node, const char *code, char **text, size_t *len);

/**
 * Change a peer's address, keeping its card and cursors.
 *
 * At least one of @p url and @p ca_file is given; NULL leaves that part
 * as it is, "" clears it.  A CA file needs an https URL (the one given,
 * else the stored one).
 *
 * @param code a 12-digit code
 * @return 0; PG_EINVALID (bad code, URL or CA file, neither given, or a CA
 *         file without an https URL); PG_ENOTFOUND (no such peer);
 *         PG_EBUSY; PG_ERROR.  Nothing is changed on failure.
 */
int pg_peer_set(pg_node *node, const char *code, const char *url,
                const char *ca_file);

/**
 * Forget a peer: its card, address and cursors.
 *
 * @return 0, PG_EINVALID (bad code), PG_ENOTFOUND, PG_EBUSY, PG_ERROR
 */
int pg_peer_remove(pg_node *node, const char *code);

/**
 * Read one peer, by the code of its pinned card.
 *
 * @param out [out] the peer; zeroed on failure
 * @return 0, PG_EINVALID (bad code), PG_ENOTFOUND, PG_ECORRUPT (the stored
 *         row is damaged), PG_ERROR
 */
int pg_peer_get(pg_peer *out, pg_node *node, const char *code);

/**
 * pg_peer_get() for a code an administrator gives: when no peer has
 * @p code, the one peer whose code resolves to it by the division remaps
 * known here (pingan/remap.h; a township pinned before it became a
 * subdistrict is found by its new code too).  Authentication never uses
 * this: a peer speaks under its card's code.
 * @return as pg_peer_get()
 */
int pg_peer_find(pg_peer *out, pg_node *node, const char *code);

/** Called for each peer listed; a non-zero return stops the listing. */
typedef int (*pg_peer_cb)(const pg_peer *peer, void *payload);

/**
 * List the peers by code.  The peer passed to @p cb is borrowed for the
 * duration of the call.
 *
 * @return 0, PG_ECORRUPT, PG_ERROR, or what @p cb returned
 */
int pg_peer_list(pg_node *node, pg_peer_cb cb, void *payload);

#endif
