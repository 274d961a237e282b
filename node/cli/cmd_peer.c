/*
 * pingan peer add|set|list|show|remove: pin the cards of the parent,
 * children and partners, and say where to reach them.  The rules (which
 * codes fit which role, one parent, never a silent change of key) live in
 * the library (node/peer.c); this file reads files and arguments and
 * prints.
 */
#include "cli.h"
#include "i18n.h"
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
    {"card", required_argument, 'c', N_("FILE"),
     N_("the other node's card ('pingan card --out FILE' there)")},
    {"role", required_argument, 'r', N_("ROLE"),
     N_("parent, child or partner: what the other node is to this one")},
    {"url", required_argument, 'u', N_("URL"),
     N_("where it serves (http:// or https://); omit for files only")},
    {"ca", required_argument, 'a', N_("FILE"),
     N_("CA certificates to check an https URL with (default: the system's)")},
    {"policy", required_argument, 'p', N_("FILE"),
     N_("the link's policy: a partner's Art. 8 agreement, or a tightening of "
        "the\ndefault redaction of a parent or child link ('pingan policy "
        "show CODE')")},
    {"json", no_argument, 'j', NULL, N_("print the pinned peer as JSON")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option revoke_options[] = {
    {"after-seq", required_argument, 's', N_("N"),
     N_("the last sequence number still accepted from the key")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option set_options[] = {
    {"url", required_argument, 'u', N_("URL"),
     N_("the new URL (http:// or https://); '' clears it")},
    {"ca", required_argument, 'a', N_("FILE"),
     N_("the new CA file for an https URL; '' clears it")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option list_options[] = {
    {"json", no_argument, 'j', NULL, N_("print a JSON array")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option show_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the peer as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option remove_options[] = {
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command add_cmd = {
    "peer add",
    N_("--card FILE --role parent|child|partner [--url URL] "
       "[--ca FILE] [--policy FILE] [--json]"),
    N_("Pin another node's card: its code, name, tier and public keys.  The "
       "card must\nverify, and its code must fit the role: a parent is the "
       "next tier up by code\n(at most one), a child is exactly one tier down "
       "inside this node's\njurisdiction, a partner is another city (and this "
       "node is a city)."),
    N_("A link is configured on both sides: the other node's administrator "
       "adds this\nnode's card with the opposite role (parent <-> child, "
       "partner <-> partner).\nA code is pinned once; to pin a new card for "
       "it, "
       "'pingan peer remove' it first.\nAdding a child certifies it: a "
       "certificate (a record of the system collection\n`node`, signed by this "
       "node) travels with the records so that every node on\nthe child's "
       "path can verify what it writes.\nA partner without --policy gets the "
       "built-in agreement: fraud alerts and\ncross-region disputes, names "
       "masked, ID numbers and phones dropped, addresses\ngeneralized, "
       "sensitive fields never.\n\nexample:\n  pingan peer add --card "
       "430300-湘潭市.card.json --role parent \\\n      --url "
       "https://pingan.xiangtan.gov.cn:8443/"),
    add_options};
static const cli_command revoke_cmd = {
    "peer revoke", N_("CODE --after-seq N [--json]"),
    N_("Revoke the key of a node inside this node's jurisdiction (a lost or "
       "stolen PC):\nits certificate is marked revoked after seq N.  Txns that "
       "key signed after N\nare quarantined on every node the revocation "
       "reaches, this one first, and\nthe records they had changed are "
       "rebuilt from the rest of the log.  The\nrevocation travels with the "
       "next export to the parent and the children."),
    N_("The node then needs a new key: 'pingan init' on a new machine, and its "
       "parent\nadds the new card."),
    revoke_options};
static const cli_command set_cmd = {
    "peer set", N_("CODE [--url URL] [--ca FILE]"),
    N_("Change where a peer is reached.  Its card and cursors are kept."), NULL,
    set_options};
static const cli_command list_cmd = {
    "peer list", N_("[--json]"),
    N_("List the peers: code, name, tier, role, key id, URL and the cursors "
       "(how far\nthis node's log was sent and acknowledged, how far the "
       "peer's was received)."),
    NULL, list_options};
static const cli_command show_cmd = {
    "peer show", N_("CODE [--json]"),
    N_("Show one peer: its card's code, name, tier and key id, its address "
       "and cursors."),
    NULL, show_options};
static const cli_command remove_cmd = {
    "peer remove", N_("CODE"),
    N_("Forget a peer: its pinned card, address and cursors.  Nothing is "
       "exchanged\nwith it until its card is added again."),
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
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:s}", "code",
        p->code, "name", p->name, "tier", pg_tier_name(p->tier), "role",
        pg_peer_role_name(p->role), "key_id", p->key_id, "url",
        p->url[0] ? json_string(p->url) : json_null(), "ca_file",
        p->ca_file[0] ? json_string(p->ca_file) : json_null(), "sent_upto",
        (json_int_t)p->sent_upto, "acked_upto", (json_int_t)p->acked_upto,
        "received_upto", (json_int_t)p->received_upto, "gap", gap, "added",
        added);
    /* A code retired by a division remap: the code it resolves to. */
    if (o && p->resolved[0] && strcmp(p->resolved, p->code) != 0)
        json_object_set_new(o, "resolved_code", json_string(p->resolved));
    else if (o)
        json_object_set_new(o, "resolved_code", json_null());
    return o;
}

/* Read a card file: at most CARD_FILE_MAX bytes.  0 or an exit code. */
static int read_card(char *buf, size_t *len, const char *path)
{
    char ex[PG_EXCERPT_SIZE];
    FILE *f = fopen(path, "rb");

    pg_excerpt(ex, path, strlen(path));
    if (!f) {
        fprintf(stderr, _("pingan: cannot read card %s: %s\n"), ex,
                strerror(errno));
        return 2;
    }
    size_t n = fread(buf, 1, CARD_FILE_MAX + 1, f);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (e) {
        fprintf(stderr, _("pingan: cannot read card %s: %s\n"), ex,
                strerror(e));
        return 2;
    }
    if (n > CARD_FILE_MAX) {
        fprintf(stderr, _("pingan: %s is not a card (larger than %d bytes)\n"),
                ex, CARD_FILE_MAX);
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
        fprintf(stderr, _("pingan: cannot read policy %s: %s\n"), ex,
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
            fprintf(stderr, _("pingan: cannot read policy %s: %s\n"), ex,
                    strerror(e));
        else
            fprintf(stderr,
                    _("pingan: %s is not a policy (larger than %d "
                      "bytes)\n"),
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
        fprintf(stderr, _("pingan: %s\n"), pg_error_last_localized());
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

/* A role and a tier as a person reads them (translated); the names
 * stored and given to options stay as pg_peer_role_name and
 * pg_tier_name say. */
static const char *role_label(pg_peer_role role)
{
    switch (role) {
    case PG_PEER_PARENT:
        return _("parent");
    case PG_PEER_CHILD:
        return _("child");
    case PG_PEER_PARTNER:
        return _("partner");
    default:
        return "?";
    }
}

static const char *tier_label(pg_tier tier)
{
    switch (tier) {
    case PG_TIER_PROVINCE:
        return _("province");
    case PG_TIER_CITY:
        return _("city");
    case PG_TIER_COUNTY:
        return _("county");
    case PG_TIER_TOWNSHIP:
        return _("township");
    case PG_TIER_COMMUNITY:
        return _("community");
    default:
        return "?";
    }
}

/* A time as a person reads it: China Standard Time, to the second. */
static void human_time(char out[40], int64_t ms)
{
    pg_time_format(out, ms - ((ms % 1000) + 1000) % 1000);
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
        fprintf(stderr, _("pingan: %s: %s\n"),
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
    printf(_("pinned %s %s (%s) as %s, key id %s\n"), peer->code, peer->name,
           tier_label(peer->tier), role_label(peer->role), peer->key_id);
    if (peer->url[0]) {
        if (peer->ca_file[0])
            printf(_("url %s, CA file %s\n"), peer->url, peer->ca_file);
        else
            printf(_("url %s\n"), peer->url);
    }
    if (o.policy)
        printf(_("policy %s ('pingan policy show %s' prints what it lets "
                 "through)\n"),
               o.policy, peer->code);
    if (peer->role == PG_PEER_CHILD)
        printf(_("certified %s: its certificate travels with the next "
                 "exports\n"),
               peer->code);
    printf(_("next: the administrator of %s adds this node's card ('pingan "
             "card --out FILE')\nwith --role %s\n"),
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
    printf(_("peer %s %s: url %s, CA file %s\n"), peer->code, peer->name,
           peer->url[0] ? peer->url : _("(none: files only)"),
           peer->ca_file[0] ? peer->ca_file : _("(none)"));

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

/* A cell of the `peer list` table: the tier and the role translated. */
static const char *cell(json_t *p, const char *col)
{
    const char *v = jstr(p, col, "-");
    if (strcmp(col, "tier") == 0 && pg_tier_from_name(v) != PG_TIER_NONE)
        return tier_label(pg_tier_from_name(v));
    if (strcmp(col, "role") == 0 && pg_peer_role_from_name(v) != PG_PEER_NONE)
        return role_label(pg_peer_role_from_name(v));
    return v;
}

/* s right-aligned in width columns (CJK characters take two). */
static void print_right(const char *s, size_t width)
{
    for (size_t w = cli_text_width(s); w < width; w++)
        putchar(' ');
    fputs(s, stdout);
}

/* "  LABEL      " of `peer show`: the label padded to 11 columns. */
static void show_label(const char *label)
{
    printf("  ");
    cli_print_padded(label, 9);
}

/* The human table of `peer list`, from the JSON objects. */
static void print_table(json_t *peers)
{
    static const char *const cols[] = {"code", "resolved_code", "name", "tier",
                                       "role", "key_id",        "url"};
    static const char *const heads[] = {
        N_("CODE"), N_("REMAPPED TO"), N_("NAME"), N_("TIER"),
        N_("ROLE"), N_("KEY ID"),      N_("URL")};
    enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
    size_t width[NCOLS];
    size_t i;
    json_t *p;

    /* The column of new codes only when a remap retired a peer's code. */
    bool remapped = false;
    json_array_foreach(peers, i, p)
    {
        if (json_is_string(json_object_get(p, "resolved_code")))
            remapped = true;
    }
    for (size_t c = 0; c < NCOLS; c++) {
        width[c] = cli_text_width(cli_tr(heads[c]));
        json_array_foreach(peers, i, p)
        {
            size_t w = cli_text_width(cell(p, cols[c]));
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < NCOLS; c++)
        if (c != 1 || remapped)
            cli_print_padded(cli_tr(heads[c]), width[c]);
    /* The cursors' headings, translated as one message: "RECEIVED"
     * alone is a time elsewhere (audit heads, quarantine list). */
    char cursors[160];
    snprintf(cursors, sizeof(cursors), "%s", _("SENT|ACKED|RECEIVED|GAP"));
    char *h[4] = {cursors, NULL, NULL, NULL};
    for (int k = 1; k < 4 && h[k - 1]; k++) {
        h[k] = strchr(h[k - 1], '|');
        if (h[k])
            *h[k]++ = '\0';
    }
    print_right(h[0], 8);
    print_right(h[1] ? h[1] : "", 9);
    print_right(h[2] ? h[2] : "", 9);
    printf("  %s\n", h[3] ? h[3] : "");
    json_array_foreach(peers, i, p)
    {
        for (size_t c = 0; c < NCOLS; c++)
            if (c != 1 || remapped)
                cli_print_padded(cell(p, cols[c]), width[c]);
        json_t *gap = json_object_get(p, "gap");
        printf(
            "%8lld %8lld %8lld  ",
            (long long)json_integer_value(json_object_get(p, "sent_upto")),
            (long long)json_integer_value(json_object_get(p, "acked_upto")),
            (long long)json_integer_value(json_object_get(p, "received_upto")));
        if (json_is_array(gap))
            printf(_("missing %lld-%lld\n"),
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
        fprintf(stderr, _("no peers; pin one with 'pingan peer add --card FILE "
                          "--role ROLE'\n"));
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
        (error = pg_peer_find(peer, node, code)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(peer_json(peer));
        goto done;
    }
    printf(_("peer %s %s (%s)\n"), peer->code, peer->name,
           tier_label(peer->tier));
    if (strcmp(peer->resolved, peer->code) != 0) {
        show_label(_("remapped"));
        printf(_("%s (a division remap retired %s; 'pingan division "
                 "show %s')\n"),
               peer->resolved, peer->code, peer->code);
    }
    show_label(_("role"));
    printf("%s\n", role_label(peer->role));
    show_label(_("key id"));
    printf("%s\n", peer->key_id);
    show_label(_("url"));
    printf("%s\n", peer->url[0] ? peer->url : _("(none: files only)"));
    show_label(_("CA file"));
    printf("%s\n", peer->ca_file[0] ? peer->ca_file : _("(none)"));
    show_label(_("cursors"));
    printf(_("sent %lld, acked %lld, received %lld\n"),
           (long long)peer->sent_upto, (long long)peer->acked_upto,
           (long long)peer->received_upto);
    if (peer->gap_first) {
        show_label(_("gap"));
        printf(_("its log %lld-%lld has not arrived here; run "
                 "'pingan export --to %s --resend' on %s\n"),
               (long long)peer->gap_first, (long long)peer->gap_last,
               pg_node_code(node), peer->code);
    }
    human_time(when, peer->added_ms);
    show_label(_("added"));
    printf("%s\n", when);
    if (peer->last_sync_ms)
        human_time(when, peer->last_sync_ms);
    show_label(_("last sync"));
    printf("%s\n", peer->last_sync_ms ? when : _("never"));

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
    printf(_("removed peer %s %s (%s, key id %s)\n"), peer->code, peer->name,
           role_label(peer->role), peer->key_id);

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
    printf(_("revoked key %s of %s after seq %llu; %zu txn(s) it signed later "
             "were taken back here\n"),
           res.key_id, code, after, res.quarantined);
    printf(_("next: export to the parent and the children so that the "
             "revocation reaches them\n"));

done:
    pg_node_free(node);
    return status;
}

static const cli_verb verbs[] = {
    {"add", peer_add, N_("pin a parent's, child's or partner's card")},
    {"set", peer_set, N_("change a peer's URL or CA file")},
    {"list", peer_list, N_("list the peers and their cursors")},
    {"show", peer_show, N_("show one peer")},
    {"remove", peer_remove, N_("forget a peer")},
    {"rekey", cmd_peer_rekey,
     N_("accept a peer's new key from its rekey card")},
    {"revoke", peer_revoke,
     N_("revoke a descendant's key after a sequence number")},
    {NULL, NULL, NULL},
};

int cmd_peer(int argc, char **argv)
{
    return cli_dispatch(
        "peer",
        N_("The nodes this node exchanges records with: its parent, its "
           "children "
           "and\n(cities only) its partners, each pinned by its card."),
        verbs, argc, argv);
}
