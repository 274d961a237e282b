/*
 * The public keys a node knows: its own card, its pinned peers' cards and
 * the keyring of cards relayed in bundles by pinned peers.  Internal to
 * libpingan.
 *
 * Trust for relayed cards (until certificates, DESIGN §7, replace it): a
 * pinned peer vouches for the nodes on the far side of its link.  A card
 * relayed by a child must lie strictly inside the child's jurisdiction; a
 * card relayed by a parent must be an ancestor of this node strictly above
 * the parent.  A code is bound to one key: a relayed card for a known code
 * with another key is refused (key changes need revocation, DESIGN §7).
 */
#ifndef PINGAN_SYNC_KEYS_H
#define PINGAN_SYNC_KEYS_H

#include "pingan/node.h"
#include "pingan/peer.h"

/* The card of `code`: own, pinned peer or keyring.  0 or PG_ENOTFOUND. */
int pg_keys_card(pg_card *out, pg_node *node, const char *code);

/*
 * Learn a relayed card (already self-signature verified) from peer `via`.
 * Returns 1 when it was new, 0 when already known with the same key, or
 * PG_EPOLICY (outside what `via` may vouch for) / PG_EAUTH (another key is
 * bound to the code) with a message; the caller reports and goes on.
 */
int pg_keys_learn(pg_node *node, const pg_card *card, const pg_peer *via);

#endif
