/**
 * @file pingan/node.h
 * @brief A node: its directory, identity, keys, card and store.
 *
 * A node directory holds:
 *
 *     store.db      the SQLite store (WAL)
 *     sign.key      Ed25519 secret key, mode 0600
 *     box.key       X25519 secret key, mode 0600
 *     card.json     the node's self-signed card (public)
 *
 * A node's code is a 12-digit division code; its tier and jurisdiction
 * follow from it (pingan/division.h).
 */
#ifndef PINGAN_NODE_H
#define PINGAN_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/schema.h"

/** An open node. */
typedef struct pg_node pg_node;

/** A node's card: who it is and its public keys. */
typedef struct pg_card {
    unsigned suite;
    char code[PG_CODE_LEN + 1];
    char name[256];
    pg_tier tier;
    uint8_t sign_pk[PG_SIGN_PK_LEN];
    uint8_t box_pk[PG_BOX_PK_LEN];
    char key_id[PG_KEY_ID_LEN + 1];
    int64_t created_ms;
    uint8_t signature[PG_SIG_LEN];
} pg_card;

/**
 * Create a new node in directory @p dir (created if missing; it must be
 * empty or absent).  Makes keys (files mode 0600), the card and the store.
 *
 * @param code a 12-digit division code (already normalised)
 * @param name the node's name, e.g. 雨湖区
 * @return 0, PG_EEXISTS (a node is already there, or the directory is not
 * empty), PG_EINVALID (bad code or name), PG_ERROR (file system)
 */
int pg_node_init(const char *dir, const char *code, const char *name);

/**
 * pg_node_init, recording @p operator_name as who created the node in the
 * first entry of the audit trail (pingan/audit.h).  pg_node_init records
 * "unknown".
 *
 * @return as pg_node_init; PG_EINVALID also for an operator name that is
 * empty, longer than 128 bytes or holds control characters
 */
int pg_node_init_as(const char *dir, const char *code, const char *name,
                    const char *operator_name);

/**
 * pg_node_init_as with the store made at schema version @p schema_version
 * (1 .. PG_SCHEMA_VERSION; 0: the newest): the node behaves as a build of
 * that version until pg_node_schema_upgrade.  For staging an upgrade of a
 * federation, and for tests.
 *
 * @return as pg_node_init_as; PG_EINVALID also for an unknown version
 */
int pg_node_init_version(const char *dir, const char *code, const char *name,
                         const char *operator_name, unsigned schema_version);

/**
 * Set who acts through this handle: the operator recorded in the audit
 * trail (pingan/audit.h) for every action until it is set again.  A
 * server sets the requesting peer's code around each request.  NULL
 * resets it to "unknown".
 *
 * @return 0, or PG_EINVALID for a name that is empty, longer than 128
 * bytes or holds control characters: every action that would be recorded
 * through this handle then fails with PG_EINVALID (and changes nothing)
 * until a valid name (or NULL) is set
 */
int pg_node_set_operator(pg_node *node, const char *operator_name);

/**
 * Open an existing node.
 *
 * @return 0, PG_ENOTFOUND (no node there), PG_ECORRUPT (damaged store or
 * key file), PG_EBUSY; the caller frees *out with pg_node_free
 */
int pg_node_open(pg_node **out, const char *dir);

/** Close a node.  NULL-safe. */
void pg_node_free(pg_node *node);

/** The node's 12-digit code (borrowed, lives as long as the node). */
const char *pg_node_code(const pg_node *node);
/** The node's name (borrowed). */
const char *pg_node_name(const pg_node *node);
/** The node's tier. */
pg_tier pg_node_tier(const pg_node *node);
/** The node's card (borrowed). */
const pg_card *pg_node_card(const pg_node *node);

/**
 * The schema the node runs at: its store's version (DESIGN §2), which may
 * be older than the newest this build knows (pg_schema_current()).  Its
 * writes, merges, routing, redaction, policies and bundles follow it.
 */
const pg_schema *pg_node_schema(const pg_node *node);

/**
 * Upgrade the node's store to the newest schema this build knows: the
 * new tables and columns are added, the audit trail records the upgrade
 * (`schema.upgrade`, with the operator) and the store's version is set,
 * all in one transaction.  Peers learn the new version from the node's
 * next bundle and then send what they held back.
 *
 * @param from [out] optional: the version before
 * @return 0 (also when the store is already at the newest version: *from
 * then equals PG_SCHEMA_VERSION and nothing changes), PG_EBUSY, PG_ERROR
 */
int pg_node_schema_upgrade(pg_node *node, unsigned *from);

/**
 * Write a card as JSON text (UTF-8, ends with a newline).
 *
 * @return a string the caller frees with free(), or NULL on no memory
 */
char *pg_card_to_json(const pg_card *card);

/**
 * Parse and verify a card: well-formed JSON, a valid code whose tier
 * matches, key id matching the key, and a valid self-signature.
 *
 * @return 0, PG_EINVALID (malformed), PG_EAUTH (signature or key id wrong)
 */
int pg_card_from_json(pg_card *out, const char *json, size_t len);

/**
 * Check a card built from its parts (e.g. received in a bundle): known
 * suite, valid code whose tier matches, a name, and the self-signature.
 * Sets the key id from sign_pk.
 *
 * @return 0, PG_EINVALID (malformed), PG_EAUTH (signature wrong)
 */
int pg_card_verify(pg_card *card);

/** Sign a card with the secret key matching its sign_pk. */
void pg_card_sign(pg_card *card, const uint8_t sk[PG_SIGN_SK_LEN]);

#endif
