/*
 * The path rule (DESIGN §1): a record lives on the path from its
 * division's node up to the city, stopping at its collection's cap, and
 * every change to it travels along that path.  Seen from one link, that
 * is a test on the division code alone.
 */
#include "route.h"
#include "remap_internal.h"
#include "pingan/policy.h"
#include "pingan/schema.h"

#include <string.h>

/* Is inner inside outer for this link: by the remaps (node/remap.c)
 * when the link's schema carries them, else by code alone. */
static bool within(const pg_node *node, bool remaps, const char *outer,
                   const char *inner)
{
    return remaps ? pg_division__within(node, outer, inner)
                  : pg_division_contains(outer, inner);
}

bool pg_route_select(const pg_node *node, const pg_peer *peer,
                     const pg_policy *policy, const pg_schema *link,
                     const pg_route_entry *e)
{
    const pg_collection *coll;
    bool remaps;

    if (strcmp(e->via, peer->code) == 0 || strcmp(e->origin, peer->code) == 0)
        return false;
    coll = pg_schema_collection(pg_node_schema(node), e->collection);
    if (!coll)
        return false;
    if (coll->system) {
        /* Certificates (DESIGN §7): up the certified node's path, down its
         * whole subtree, and to partners, who verify the origins of what
         * they receive with them. */
        switch (peer->role) {
        case PG_PEER_PARENT:
            return pg_division_contains(pg_node_code(node), e->division);
        case PG_PEER_CHILD:
            return pg_division_contains(peer->code, e->division) ||
                   pg_division_contains(e->division, peer->code);
        case PG_PEER_PARTNER:
            return pg_division_contains(pg_node_code(node), e->division);
        default:
            return false;
        }
    }
    /* Non-system records by their division resolved (node/remap.c): a
     * record filed under a retired code travels where its new code does,
     * and a peer whose code was retired receives what its new code would.
     * Only over a link whose schema has division_remap: a peer on an older
     * one never receives the remaps (they are held back for it, DESIGN
     * §2) and checks plain codes, so it would quarantine a record that
     * only a remap puts inside it. */
    remaps = pg_schema_collection(link ? link : pg_node_schema(node),
                                  "division_remap") != NULL;
    switch (peer->role) {
    case PG_PEER_PARENT:
        if (!within(node, remaps, pg_node_code(node), e->division))
            return false;
        /* Tiers count down from the province: a parent whose tier number
         * is below the cap sits above it. */
        return coll->cap == PG_TIER_NONE || peer->tier >= coll->cap;
    case PG_PEER_CHILD:
        return within(node, remaps, peer->code, e->division);
    case PG_PEER_PARTNER:
        /* What the agreement names, of this city's own records: what a
         * partner sent lies outside this city and never goes on. */
        return policy &&
               within(node, remaps, pg_node_code(node), e->division) &&
               pg_policy_carries(policy, coll);
    default:
        return false;
    }
}
