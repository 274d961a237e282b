/*
 * Routing: which txns of the log a peer may receive (DESIGN §1, §6).
 * Selection only; transformation (redaction) is a separate step that the
 * federation work adds between selection and encoding.  Internal.
 */
#ifndef PINGAN_SYNC_ROUTE_H
#define PINGAN_SYNC_ROUTE_H

#include <stdbool.h>

#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/policy.h"
#include "pingan/schema.h"

/* A log entry as routing sees it. */
typedef struct pg_route_entry {
    const char *origin;     /* the writing node */
    const char *via;        /* the peer it came from; "" when local */
    const char *division;   /* the records' division */
    const char *collection; /* the records' collection */
} pg_route_entry;

/*
 * May `peer` receive this txn?  The path rule: to a parent, txns of
 * records in this node's subtree whose collection's cap admits the
 * parent's tier; to a child, txns of records inside the child's
 * jurisdiction; to a partner, this city's records of the collections its
 * agreement (`policy`, the link's effective policy) carries — whether a
 * record meets the agreement's condition is the exporter's question.
 * Certificates (`node`) go up the certified node's path, down its
 * subtree and to partners.  Never what came from the peer or what it
 * originated, nor to a partner what came from a partner.  `link` is the
 * link's schema (min of this node's version and the peer's, sync/exchange.c
 * export_link; NULL: this node's): divisions are resolved by the remaps
 * only when it has the division_remap collection, else compared as
 * stored, as a peer on an older version compares them.
 */
bool pg_route_select(const pg_node *node, const pg_peer *peer,
                     const pg_policy *policy, const pg_schema *link,
                     const pg_route_entry *entry);

#endif
