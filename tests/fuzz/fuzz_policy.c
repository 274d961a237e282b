/*
 * fuzz_policy: a link's policy file or Art. 8 agreement
 * (pg_policy_parse), as `pingan peer add --policy` and `pingan policy
 * check` read it, then its description (pg_policy_describe, text and
 * JSON).  This node is the city (湘潭市).
 *
 * Input: u8 link ‖ the file's text.  link % 4 picks the peer at the
 * other end: 0 湘潭县 (child), 1 湖南省 (parent), 2 长沙市 (partner),
 * 3 株洲市 (partner).
 */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

#include "pingan/division.h"
#include "pingan/error.h"
#include "pingan/peer.h"
#include "pingan/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        const char *code;
        pg_peer_role role;
    } links[] = {{"430321000000", PG_PEER_CHILD},
                 {"430000000000", PG_PEER_PARENT},
                 {"430100000000", PG_PEER_PARTNER},
                 {"430200000000", PG_PEER_PARTNER}};
    pg_peer peer;
    pg_policy *p = NULL;

    if (size < 1)
        return 0;
    memset(&peer, 0, sizeof(peer));
    unsigned k = data[0] % 4;
    snprintf(peer.code, sizeof(peer.code), "%s", links[k].code);
    snprintf(peer.name, sizeof(peer.name), "peer %s", links[k].code);
    peer.tier = pg_division_tier(links[k].code);
    peer.role = links[k].role;
    int rc = pg_policy_parse(&p, (const char *)data + 1, size - 1, "fuzz.ini",
                             &fuzz_recipient()->card, &peer);
    fuzz_note("policy", rc);
    if (rc == 0) {
        pg_buf out;
        pg_buf_init(&out, PG_BUF_DEFAULT_MAX);
        if (pg_policy_describe(&out, p, false) < 0)
            fuzz_die("describe an accepted policy");
        pg_buf_clear(&out);
        if (pg_policy_describe(&out, p, true) < 0)
            fuzz_die("describe an accepted policy as JSON");
        pg_buf_dispose(&out);
    }
    pg_policy_free(p);
    pg_error_clear();
    return 0;
}
