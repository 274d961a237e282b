/*
 * The public keys a node knows: its own card, its pinned peers' cards and
 * the keyring of cards relayed in bundles by pinned peers.  Internal to
 * libpingan.
 *
 * Trust (DESIGN §7): a pinned card; a certificate (a `node` record the
 * merge admitted under its issuer's signature); or a card of the chain of
 * trust that the pinned parent sent, from its own certificate up to the
 * city's self-signed card, the root.  A code is bound to one key in the
 * keyring (key changes need revocation).
 */
#ifndef PINGAN_SYNC_KEYS_H
#define PINGAN_SYNC_KEYS_H

#include "pingan/exchange.h"
#include "pingan/cert.h"
#include "pingan/node.h"
#include "pingan/peer.h"

/* The card of `code`: own, pinned peer or keyring.  0 or PG_ENOTFOUND. */
int pg_keys_card(pg_card *out, pg_node *node, const char *code);

/*
 * The card of `code` with key `key_id`: as pg_keys_card, or a certificate
 * of `code` naming that key.  When only another key of `code` is known,
 * *out holds that card (the caller compares key ids).  0 or PG_ENOTFOUND.
 */
int pg_keys_signer(pg_card *out, pg_node *node, const char *code,
                   const char *key_id);

/* *after: -1, or the last seq accepted from key `key_id` of `code` when a
 * certificate of it was revoked (DESIGN §7). */
int pg_keys_revoked(int64_t *after, pg_node *node, const char *code,
                    const char *key_id);

/*
 * Check the chain of trust a parent sent in a bundle header (root card,
 * then certificates from the parent's own up to the one the city issued)
 * and keep the root and the ancestors' cards in the keyring.  0, or
 * PG_EAUTH with a message when the chain does not hold.
 */
int pg_keys_learn_chain(pg_node *node, const pg_card *root,
                        const pg_cert *chain, size_t n, const pg_peer *via);

/* This node's chain of trust for its children; PG_ENOTFOUND while it is
 * incomplete (a certificate has not arrived yet). */
int pg_keys_chain(pg_card *root, pg_cert *chain, size_t *n, pg_node *node);

/* pg_revoke (pingan/exchange.h) inside the caller's transaction
 * (sync/revoke.c): the caller rolls back on failure. */
int pg_revoke__in_txn(pg_node *node, const char *code, int64_t after,
                      const char *operator_name, pg_revoke_result *out);

#endif
