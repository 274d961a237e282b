/*
 * fuzz_netauth: the signed HTTP request headers and the answer check of
 * sync/netauth.c, without a network.  A node (湘潭市) is made once in a
 * temporary directory with the fixed 湘潭县 identity pinned as its
 * child; each input is parsed (pg_net_auth_parse), checked as a request
 * to that node (pg_net_verify_request) and as the answer to itself
 * (pg_net_verify_response).  Every check runs inside a savepoint rolled
 * back afterwards, so that a remembered nonce does not change the next
 * run: the harness stays deterministic.
 *
 * Input, one value a line: method, URI, X-Pingan-From, -Key, -Time,
 * -Nonce, -Body, -Signature, then the response's status, time, body hash,
 * bundle token and signature.  A missing line is a missing header.  When
 * the method line starts with '!', the harness signs the request itself
 * with the pinned child's key (the rest of the line is the method), so
 * that mutations also reach the checks behind the signature (revocation,
 * clock window, nonce replay).
 */
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "netauth.h"
#include "node_internal.h"
#include "pingan/error.h"
#include "pingan/peer.h"

#define LINES 13

static pg_node *node;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[4200];
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/city", fuzz_tmpdir());
    if (pg_node_init(dir, FUZZ_RECIPIENT, "湘潭市") < 0 ||
        pg_node_open(&node, dir) < 0)
        fuzz_die("node");
    char *card = pg_card_to_json(&fuzz_sender()->card);
    if (!card ||
        pg_peer_add(node, card, strlen(card), PG_PEER_CHILD, NULL, NULL) < 0)
        fuzz_die("pin the child");
    free(card);
    return 0;
}

static void sign_as_child(pg_net_auth *a, const char *method, const char *uri)
{
    char m[8192];
    uint8_t sig[PG_SIG_LEN];
    int n = snprintf(m, sizeof(m),
                     "pingan.http.request.v1\n%s\n%s\n%s\n%s\n%s\n%" PRId64
                     "\n%s\n%s",
                     method, uri, FUZZ_RECIPIENT, a->from, a->key_id,
                     a->time_ms, a->nonce, a->body);
    if (n < 0 || (size_t)n >= sizeof(m))
        return;
    pg_sign(sig, m, (size_t)n, fuzz_sender()->sign_sk);
    pg_hex(a->sig, sig, sizeof(sig));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *line[LINES] = {0};
    pg_net_auth a;

    if (!text)
        fuzz_die("out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    char *p = text;
    for (size_t i = 0; i < LINES && p; i++) {
        line[i] = p;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
    }
    if (!line[0] || !line[1])
        goto done;
    bool sign = line[0][0] == '!';
    const char *method = line[0] + sign;
    if (pg_net_auth_parse(&a, line[2], line[3], line[4], line[5], line[6],
                          line[7]) < 0)
        goto done;
    if (sign)
        sign_as_child(&a, method, line[1]);

    pg_net_refusal refusal;
    int64_t skew;
    bool signed_ok;
    if (sqlite3_exec(node->db, "SAVEPOINT fuzz", NULL, NULL, NULL) != SQLITE_OK)
        fuzz_die("savepoint");
    int rc = pg_net_verify_request(node, method, line[1], &a, FUZZ_TIME_MS,
                                   &refusal, &skew, &signed_ok);
    fuzz_note("request", refusal == PG_NET_OK ? rc : -(int)refusal);
    if (rc == 0 && refusal == PG_NET_OK && !signed_ok)
        fuzz_die("a request accepted without its signature");
    if (rc == 0 && refusal == PG_NET_OK &&
        strcmp(a.key_id, fuzz_sender()->card.key_id) != 0)
        fuzz_die("a request accepted under a key not pinned");
    if (sqlite3_exec(node->db, "ROLLBACK TO fuzz; RELEASE fuzz", NULL, NULL,
                     NULL) != SQLITE_OK)
        fuzz_die("rollback");

    if (line[8]) {
        int status = (int)strtol(line[8], NULL, 10);
        int64_t t = line[9] ? strtoll(line[9], NULL, 10) : 0;
        bool ok = pg_net_verify_response(line[12], fuzz_sender()->card.sign_pk,
                                         FUZZ_SENDER, status, &a, t, line[10],
                                         line[11]);
        fuzz_note("response", ok ? 0 : -1);
    }
done:
    pg_error_clear();
    free(text);
    return 0;
}
