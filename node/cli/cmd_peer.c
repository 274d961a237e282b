/*
 * pingan peer add|set|list|show|remove: pin the cards of the parent,
 * children and partners, and say where to reach them.  The rules (which
 * codes fit which role, one parent, never a silent change of key) live in
 * the library (node/peer.c); this file reads files and arguments and
 * prints.
 */
#include "cli.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/peer.h"
#include "pingan/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CARD_FILE_MAX   8192
#define POLICY_FILE_MAX (64 * 1024)

typedef struct peer_opts {
    const char *card;
    const char *role;
    const char *url;
    const char *ca;
    const char *policy;
    const char *after;
    bool json;
} peer_opts;

static const cli_option add_options[] = {
    {"card", required_argument, 'c', "FILE",
     "the other node's card ('pingan card --out FILE' there)"},
    {"role", required_argument, 'r', "ROLE",
     "parent, child or partner: what the other node is to this one"},
    {"url", required_argument, 'u', "URL",
     "where it serves (http:// or https://); omit for files only"},
    {"ca", required_argument, 'a', "FILE",
     "CA certificates to check an https URL with (default: the system's)"},
    {"policy", required_argument, 'p', "FILE",
     "the link's policy: a partner's Art. 8 agreement, or a tightening of "
     "the\ndefault redaction of a parent or child link ('pingan policy "
     "show CODE')"},
    {"json", no_argument, 'j', NULL, "print the pinned peer as JSON"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option revoke_options[] = {
    {"after-seq", required_argument, 's', "N",
     "the last sequence number still accepted from the key"},
    {"json", no_argument, 'j', NULL, "print the result as JSON"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option set_options[] = {
    {"url", required_argument, 'u', "URL",
     "the new URL (http:// or https://); '' clears it"},
    {"ca", required_argument, 'a', "FILE",
     "the new CA file for an https URL; '' clears it"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option list_options[] = {
    {"json", no_argument, 'j', NULL, "print a JSON array"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option show_options[] = {
    {"json", no_argument, 'j', NULL, "print the peer as a JSON object"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option remove_options[] = {
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command add_cmd = {
    "peer add",
    "--card FILE --role parent|child|partner [--url URL] "
    "[--ca FILE] [--policy FILE] [--json]",
    "Pin another node's card: its code, name, tier and public keys.  The "
    "card must\nverify, and its code must fit the role: a parent is the "
    "next tier up by code\n(at most one), a child is exactly one tier down "
    "inside this node's\njurisdiction, a partner is another city (and this "
    "node is a city).",
    "A link is configured on both sides: the other node's administrator "
    "adds this\nnode's card with the opposite role (parent <-> child, "
    "partner <-> partner).\nA code is pinned once; to pin a new card for it, "
    "'pingan peer remove' it first.\nAdding a child certifies it: a "
    "certificate (a record of the system collection\n`node`, signed by this "
    "node) travels with the records so that every node on\nthe child's "
    "path can verify what it writes.\nA partner without --policy gets the "
    "built-in agreement: fraud alerts and\ncross-region disputes, names "
    "masked, ID numbers and phones dropped, addresses\ngeneralized, "
    "sensitive fields never.\n\nexample:\n  pingan peer add --card "
    "430300-湘潭市.card.json --role parent \\\n      --url "
    "https://pingan.xiangtan.gov.cn:8443/",
    add_options};
static const cli_command revoke_cmd = {
    "peer revoke", "CODE --after-seq N [--json]",
    "Revoke the key of a node inside this node's jurisdiction (a lost or "
    "stolen PC):\nits certificate is marked revoked after seq N.  Txns that "
    "key signed after N\nare quarantined on every node the revocation "
    "reaches, this one first, and\nthe records they had changed are "
    "rebuilt from the rest of the log.  The\nrevocation travels with the "
    "next export to the parent and the children.",
    "The node then needs a new key: 'pingan init' on a new machine, and its "
    "parent\nadds the new card.",
    revoke_options};
static const cli_command set_cmd = {
    "peer set", "CODE [--url URL] [--ca FILE]",
    "Change where a peer is reached.  Its card and cursors are kept.", NULL,
    set_options};
static const cli_command list_cmd = {
    "peer list", "[--json]",
    "List the peers: code, name, tier, role, key id, URL and the cursors "
    "(how far\nthis node's log was sent and acknowledged, how far the "
    "peer's was received).",
    NULL, list_options};
static const cli_command show_cmd = {
    "peer show", "CODE [--json]",
    "Show one peer: its card's code, name, tier and key id, its address "
    "and cursors.",
    NULL, show_options};
static const cli_command remove_cmd = {
    "peer remove", "CODE",
    "Forget a peer: its pinned card, address and cursors.  Nothing is "
    "exchanged\nwith it until its card is added again.",
    NULL, remove_options};

static int peer_handle(int val, const char *arg, void *payload)
{
    peer_opts *o = payload;
    const char **slot = NULL;
    const char *name = NULL;

    switch (val) {
    case 'c':
        slot = &o->card;
        name = "--card";
        break;
    case 'r':
        slot = &o->role;
        name = "--role";
        break;
    case 'u':
        slot = &o->url;
        name = "--url";
        break;
    case 'a':
        slot = &o->ca;
        name = "--ca";
        break;
    case 'p':
        slot = &o->policy;
        name = "--policy";
        break;
    case 's':
        slot = &o->after;
        name = "--after-seq";
        break;
    case 'j':
        o->json = true;
        return 0;
    default:
        return 0;
    }
    return cli_set_once(slot, name, arg);
}

/* Parse a CODE operand (a prefix like 430302 is padded). */
static int peer_code(char code[PG_CODE_LEN + 1], const char *arg)
{
    int error = pg_division_parse(code, arg);
    return error < 0 ? cli_fail(error) : 0;
}

static json_t *peer_json(const pg_peer *p)
{
    char added[40];
    pg_time_format(added, p->added_ms);
    json_t *gap = p->gap_first ? json_pack("[I, I]", (json_int_t)p->gap_first,
                                           (json_int_t)p->gap_last)
                               : json_null();
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:s}", "code",
        p->code, "name", p->name, "tier", pg_tier_name(p->tier), "role",
        pg_peer_role_name(p->role), "key_id", p->key_id, "url",
        p->url[0] ? json_string(p->url) : json_null(), "ca_file",
        p->ca_file[0] ? json_string(p->ca_file) : json_null(), "sent_upto",
        (json_int_t)p->sent_upto, "acked_upto", (json_int_t)p->acked_upto,
        "received_upto", (json_int_t)p->received_upto, "gap", gap, "added",
        added);
}

/* Read a card file: at most CARD_FILE_MAX bytes.  0 or an exit code. */
static int read_card(char *buf, size_t *len, const char *path)
{
    char ex[PG_EXCERPT_SIZE];
    FILE *f = fopen(path, "rb");

    pg_excerpt(ex, path, strlen(path));
    if (!f) {
        fprintf(stderr, "pingan: cannot read card %s: %s\n", ex,
                strerror(errno));
        return 2;
    }
    size_t n = fread(buf, 1, CARD_FILE_MAX + 1, f);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (e) {
        fprintf(stderr, "pingan: cannot read card %s: %s\n", ex, strerror(e));
        return 2;
    }
    if (n > CARD_FILE_MAX) {
        fprintf(stderr, "pingan: %s is not a card (larger than %d bytes)\n", ex,
                CARD_FILE_MAX);
        return 2;
    }
    *len = n;
    return 0;
}

/* Read a policy file and check it for the link; 0 or an exit code. *text
 * is malloc'd. */
static int read_policy(char **text, size_t *len, const char *path,
                       pg_node *node, const pg_card *card, pg_peer_role role)
{
    char ex[PG_EXCERPT_SIZE];
    FILE *f = fopen(path, "rb");
    pg_policy *pol = NULL;
    pg_peer stub;
    int error;

    pg_excerpt(ex, path, strlen(path));
    if (!f) {
        fprintf(stderr, "pingan: cannot read policy %s: %s\n", ex,
                strerror(errno));
        return 2;
    }
    if (!(*text = malloc(POLICY_FILE_MAX + 1))) {
        fclose(f);
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    }
    *len = fread(*text, 1, POLICY_FILE_MAX + 1, f);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (e || *len > POLICY_FILE_MAX) {
        if (e)
            fprintf(stderr, "pingan: cannot read policy %s: %s\n", ex,
                    strerror(e));
        else
            fprintf(stderr,
                    "pingan: %s is not a policy (larger than %d "
                    "bytes)\n",
                    ex, POLICY_FILE_MAX);
        return 2;
    }
    (*text)[*len] = 0;
    memset(&stub, 0, sizeof(stub));
    memcpy(stub.code, card->code, sizeof(stub.code));
    snprintf(stub.name, sizeof(stub.name), "%s", card->name);
    stub.tier = card->tier;
    stub.role = role;
    memcpy(stub.key_id, card->key_id, sizeof(stub.key_id));
    if ((error = pg_policy_parse_node(&pol, *text, *len, path, node, &stub)) <
        0) {
        fprintf(stderr, "pingan: %s\n", pg_error_last()->message);
        return pg_error_exit_code(error);
    }
    pg_policy_free(pol);
    return 0;
}

static const char *opposite_role(pg_peer_role role)
{
    switch (role) {
    case PG_PEER_PARENT:
        return "child";
    case PG_PEER_CHILD:
        return "parent";
    default:
        return "partner";
    }
}

static int peer_add(int argc, char **argv)
{
    peer_opts o = {0};
    char buf[CARD_FILE_MAX + 1];
    size_t len = 0;
    pg_card card;
    pg_node *node = NULL;
    pg_peer *peer = NULL;
    char *policy = NULL;
    size_t policy_len = 0;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &add_cmd, peer_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&add_cmd, argv[optind]);
    if (!o.card || !o.role)
        return cli_usage(&add_cmd, "peer add needs --card and --role");
    pg_peer_role role = pg_peer_role_from_name(o.role);
    if (role == PG_PEER_NONE) {
        char ex[PG_EXCERPT_SIZE];
        return cli_usage(&add_cmd,
                         "--role must be parent, child or partner, not '%s'",
                         pg_excerpt(ex, o.role, strlen(o.role)));
    }
    if ((rc = read_card(buf, &len, o.card)) != 0)
        return rc;
    /* Verify here too, so that the error names the file. */
    if ((error = pg_card_from_json(&card, buf, len)) < 0) {
        char ex[PG_EXCERPT_SIZE];
        fprintf(stderr, "pingan: %s: %s\n",
                pg_excerpt(ex, o.card, strlen(o.card)),
                pg_error_last()->message);
        return pg_error_exit_code(error);
    }
    peer = malloc(sizeof(*peer));
    if (!peer)
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.policy && (status = read_policy(&policy, &policy_len, o.policy, node,
                                          &card, role)) != 0)
        goto done;
    if ((error = pg_peer_add_policy(node, buf, len, role, o.url, o.ca, policy,
                                    policy_len, o.policy)) < 0 ||
        (error = pg_peer_get(peer, node, card.code)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(peer_json(peer));
        goto done;
    }
    printf("pinned %s %s (%s) as %s, key id %s\n", peer->code, peer->name,
           pg_tier_name(peer->tier), pg_peer_role_name(peer->role),
           peer->key_id);
    if (peer->url[0])
        printf("url %s%s%s\n", peer->url, peer->ca_file[0] ? ", CA file " : "",
               peer->ca_file);
    if (o.policy)
        printf("policy %s ('pingan policy show %s' prints what it lets "
               "through)\n",
               o.policy, peer->code);
    if (peer->role == PG_PEER_CHILD)
        printf("certified %s: its certificate travels with the next "
               "exports\n",
               peer->code);
    printf("next: the administrator of %s adds this node's card ('pingan "
           "card --out FILE')\nwith --role %s\n",
           peer->code, opposite_role(peer->role));

done:
    free(policy);
    free(peer);
    pg_node_free(node);
    return status;
}

static int peer_set(int argc, char **argv)
{
    peer_opts o = {0};
    char code[PG_CODE_LEN + 1];
    pg_node *node = NULL;
    pg_peer *peer = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &set_cmd, peer_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&set_cmd, "peer set needs one CODE");
    if (!o.url && !o.ca)
        return cli_usage(&set_cmd, "peer set needs --url or --ca (an empty "
                                   "value clears it)");
    if ((rc = peer_code(code, argv[optind])) != 0)
        return rc;
    peer = malloc(sizeof(*peer));
    if (!peer)
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_peer_set(node, code, o.url, o.ca)) < 0 ||
        (error = pg_peer_get(peer, node, code)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    printf("peer %s %s: url %s, CA file %s\n", peer->code, peer->name,
           peer->url[0] ? peer->url : "(none: files only)",
           peer->ca_file[0] ? peer->ca_file : "(none)");

done:
    free(peer);
    pg_node_free(node);
    return status;
}

static const char *jstr(json_t *o, const char *key, const char *none)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : none;
}

/* The human table of `peer list`, from the JSON objects. */
static void print_table(json_t *peers)
{
    static const char *const cols[] = {"code", "name",   "tier",
                                       "role", "key_id", "url"};
    static const char *const heads[] = {"CODE", "NAME",   "TIER",
                                        "ROLE", "KEY ID", "URL"};
    enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
    size_t width[NCOLS];
    size_t i;
    json_t *p;

    for (size_t c = 0; c < NCOLS; c++) {
        width[c] = cli_text_width(heads[c]);
        json_array_foreach(peers, i, p)
        {
            size_t w = cli_text_width(jstr(p, cols[c], "-"));
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < NCOLS; c++)
        cli_print_padded(heads[c], width[c]);
    printf("%8s %8s %8s  %s\n", "SENT", "ACKED", "RECEIVED", "GAP");
    json_array_foreach(peers, i, p)
    {
        for (size_t c = 0; c < NCOLS; c++)
            cli_print_padded(jstr(p, cols[c], "-"), width[c]);
        json_t *gap = json_object_get(p, "gap");
        printf(
            "%8lld %8lld %8lld  ",
            (long long)json_integer_value(json_object_get(p, "sent_upto")),
            (long long)json_integer_value(json_object_get(p, "acked_upto")),
            (long long)json_integer_value(json_object_get(p, "received_upto")));
        if (json_is_array(gap))
            printf("missing %lld-%lld\n",
                   (long long)json_integer_value(json_array_get(gap, 0)),
                   (long long)json_integer_value(json_array_get(gap, 1)));
        else
            printf("-\n");
    }
}

static int list_one(const pg_peer *peer, void *payload)
{
    json_t *o = peer_json(peer);
    if (!o || json_array_append_new(payload, o) < 0)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    return 0;
}

static int peer_list(int argc, char **argv)
{
    peer_opts o = {0};
    pg_node *node = NULL;
    json_t *peers = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &list_cmd, peer_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&list_cmd, argv[optind]);
    peers = json_array();
    if (!peers)
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_peer_list(node, list_one, peers)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(peers);
        peers = NULL;
    } else if (json_array_size(peers) == 0) {
        fprintf(stderr, "no peers; pin one with 'pingan peer add --card FILE "
                        "--role ROLE'\n");
    } else {
        print_table(peers);
    }

done:
    json_decref(peers);
    pg_node_free(node);
    return status;
}

static int peer_show(int argc, char **argv)
{
    peer_opts o = {0};
    char code[PG_CODE_LEN + 1], when[40];
    pg_node *node = NULL;
    pg_peer *peer = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &show_cmd, peer_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&show_cmd, "peer show needs one CODE");
    if ((rc = peer_code(code, argv[optind])) != 0)
        return rc;
    peer = malloc(sizeof(*peer));
    if (!peer)
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_peer_get(peer, node, code)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(peer_json(peer));
        goto done;
    }
    printf("peer %s %s (%s)\n", peer->code, peer->name,
           pg_tier_name(peer->tier));
    printf("  %-10s %s\n", "role", pg_peer_role_name(peer->role));
    printf("  %-10s %s\n", "key id", peer->key_id);
    printf("  %-10s %s\n", "url",
           peer->url[0] ? peer->url : "(none: files only)");
    printf("  %-10s %s\n", "CA file",
           peer->ca_file[0] ? peer->ca_file : "(none)");
    printf("  %-10s sent %lld, acked %lld, received %lld\n", "cursors",
           (long long)peer->sent_upto, (long long)peer->acked_upto,
           (long long)peer->received_upto);
    if (peer->gap_first)
        printf("  %-10s its log %lld-%lld has not arrived here; run "
               "'pingan export --to %s --resend' on %s\n",
               "gap", (long long)peer->gap_first, (long long)peer->gap_last,
               pg_node_code(node), peer->code);
    pg_time_format(when, peer->added_ms);
    printf("  %-10s %s\n", "added", when);
    if (peer->last_sync_ms)
        pg_time_format(when, peer->last_sync_ms);
    printf("  %-10s %s\n", "last sync", peer->last_sync_ms ? when : "never");

done:
    free(peer);
    pg_node_free(node);
    return status;
}

static int peer_remove(int argc, char **argv)
{
    peer_opts o = {0};
    char code[PG_CODE_LEN + 1];
    pg_node *node = NULL;
    pg_peer *peer = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &remove_cmd, peer_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&remove_cmd, "peer remove needs one CODE");
    if ((rc = peer_code(code, argv[optind])) != 0)
        return rc;
    peer = malloc(sizeof(*peer));
    if (!peer)
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_peer_get(peer, node, code)) < 0 ||
        (error = pg_peer_remove(node, code)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    printf("removed peer %s %s (%s, key id %s)\n", peer->code, peer->name,
           pg_peer_role_name(peer->role), peer->key_id);

done:
    free(peer);
    pg_node_free(node);
    return status;
}

static int peer_revoke(int argc, char **argv)
{
    peer_opts o = {0};
    char code[PG_CODE_LEN + 1];
    unsigned long long after;
    pg_revoke_result res;
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &revoke_cmd, peer_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&revoke_cmd, "peer revoke needs one CODE");
    if (!o.after)
        return cli_usage(&revoke_cmd,
                         "peer revoke needs --after-seq N (0 revokes every "
                         "txn of the key)");
    if ((rc = peer_code(code, argv[optind])) != 0)
        return rc;
    if ((rc = cli_parse_count(&after, "--after-seq", o.after, 0,
                              (unsigned long long)INT64_MAX)) != 0)
        return rc;
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_revoke(node, code, (int64_t)after, cli_operator(), &res)) <
            0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(json_pack("{s:s, s:s, s:I, s:I}", "code", code, "key_id",
                                 res.key_id, "after_seq", (json_int_t)after,
                                 "quarantined", (json_int_t)res.quarantined));
        goto done;
    }
    printf("revoked key %s of %s after seq %llu; %zu txn(s) it signed later "
           "were taken back here\n",
           res.key_id, code, after, res.quarantined);
    printf("next: export to the parent and the children so that the "
           "revocation reaches them\n");

done:
    pg_node_free(node);
    return status;
}

static const cli_verb verbs[] = {
    {"add", peer_add, "pin a parent's, child's or partner's card"},
    {"set", peer_set, "change a peer's URL or CA file"},
    {"list", peer_list, "list the peers and their cursors"},
    {"show", peer_show, "show one peer"},
    {"remove", peer_remove, "forget a peer"},
    {"rekey", cmd_peer_rekey, "accept a peer's new key from its rekey card"},
    {"revoke", peer_revoke,
     "revoke a descendant's key after a sequence number"},
    {NULL, NULL, NULL},
};

int cmd_peer(int argc, char **argv)
{
    return cli_dispatch(
        "peer",
        "The nodes this node exchanges records with: its parent, its children "
        "and\n(cities only) its partners, each pinned by its card.",
        verbs, argc, argv);
}
