/*
 * pingan policy show CODE [--json]: what a link sends (include/pingan/
 * policy.h): the collections it carries, their record conditions, every
 * field's transform, the policy's id and hash and, for a partner, the id
 * of the pseudonym key.
 *
 * pingan pseudonym --partner CODE [--type TYPE] VALUE [--json]: the
 * pseudonym that the partner link gives a value, so that an administrator
 * can look a person up in what a partner city sent.  The value may come
 * on standard input ("-"), which keeps ID numbers out of shell history
 * and process lists.  Neither command ever prints key material.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/crypto.h"
#include "pingan/error.h"
#include "pingan/peer.h"
#include "pingan/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- policy show --------------------------------------------------------
 */

typedef struct show_opts {
    bool json;
} show_opts;

static const cli_option show_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the policy as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command show_cmd = {
    "policy show", N_("CODE [--json]"),
    N_("Show the effective policy of the link to peer CODE: its id and hash, "
       "the\ncollections it carries (and which of their records), and what "
       "happens to\nevery field: keep, drop, mask, hash or generalize."),
    N_("Without a policy file a link follows the defaults: a parent gets "
       "everything\nbut sensitive fields when it is above the county; a child "
       "gets everything; a\npartner city gets fraud alerts and disputes marked "
       "cross_region, with names\nmasked, addresses generalized to the "
       "division, ID and phone numbers and\nother personal fields dropped, and "
       "never a sensitive field.  For a partner\nthe id of the pseudonym key "
       "is shown (never the key): both cities should\nshow the same id.  CODE "
       "may be a prefix, as for 'pingan peer show'.\n\nJSON: {\"id\", "
       "\"hash\", "
       "\"role\", \"peer\", \"peer_tier\", \"source\", \"purpose\",\n"
       "\"pseudonym_key\": {\"id\", \"source\"} or null, \"collections\": "
       "[{\"name\", \"where\":\n{\"field\", \"value\"} or null, \"fields\": "
       "[{\"name\", \"type\", \"privacy\",\n\"transform\"}]}], "
       "\"not_carried\": "
       "[names]}."),
    show_options};

static int show_handle(int val, const char *arg, void *payload)
{
    show_opts *o = payload;
    (void)arg;
    if (val == 'j')
        o->json = true;
    return 0;
}

/* Open the node and read the peer named by a CODE operand. */
static int policy_peer(pg_node **node, pg_peer **peer, const char *arg)
{
    char code[PG_CODE_LEN + 1];
    int error;

    *node = NULL;
    *peer = NULL;
    if ((error = pg_division_parse(code, arg)) < 0)
        return error;
    if (!(*peer = malloc(sizeof(**peer))))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if ((error = cli_open_node(node)) < 0 ||
        (error = pg_peer_get(*peer, *node, code)) < 0)
        return error;
    return 0;
}

static int policy_show(int argc, char **argv)
{
    show_opts o = {0};
    pg_node *node = NULL;
    pg_peer *peer = NULL;
    pg_policy *policy = NULL;
    pg_buf out = PG_BUF_INIT;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &show_cmd, show_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&show_cmd, "policy show needs one CODE");
    if ((error = policy_peer(&node, &peer, argv[optind])) < 0 ||
        (error = pg_policy_load(&policy, node, peer)) < 0 ||
        (error = pg_policy_describe(&out, policy, o.json)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    fwrite(out.data, 1, out.len, stdout);

done:
    pg_buf_dispose(&out);
    pg_policy_free(policy);
    free(peer);
    pg_node_free(node);
    return status;
}

static const cli_verb policy_verbs[] = {
    {"show", policy_show, N_("show what the link to a peer carries and how")},
    {NULL, NULL, NULL},
};

int cmd_policy(int argc, char **argv)
{
    return cli_dispatch(
        "policy",
        N_("Link policies (Art. 41): which collections and records a link "
           "carries, and\nwhether each field is kept, dropped, masked, hashed "
           "or generalized."),
        policy_verbs, argc, argv);
}

/* ---- pseudonym ------------------------------------------------------------
 */

typedef struct pseudonym_opts {
    const char *partner;
    const char *type;
    bool json;
} pseudonym_opts;

static const cli_option pseudonym_options[] = {
    {"partner", required_argument, 'p', N_("CODE"),
     N_("the partner city's code")},
    {"type", required_argument, 't', N_("TYPE"),
     N_("id_number, phone, name or text (default: guessed)")},
    {"json", no_argument, 'j', NULL, N_("print a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command pseudonym_cmd = {
    "pseudonym", N_("--partner CODE [--type TYPE] VALUE|- [--json]"),
    N_("Print the pseudonym that the link to partner CODE gives VALUE: what "
       "the\npartner receives for a field its agreement hashes.  Both cities "
       "print the\nsame pseudonym for the same value."),
    N_("The value is normalised first, so every spelling of one person's "
       "number gives\none pseudonym: an ID number is upper-cased and a "
       "15-digit one converted to\n18 digits; a phone number loses spaces, "
       "dashes and +86 or 0086.  VALUE - reads\none line from standard input, "
       "which keeps the value out of shell history.\nThe pseudonym is 32 hex "
       "characters: the first 16 bytes of keyed BLAKE2b-256\nof the normalised "
       "value.  Whoever holds the key can test guesses, so treat a\npseudonym "
       "of an ID or phone number as personal information.\n\nJSON: "
       "{\"partner\", \"type\", \"pseudonym\", \"key_id\"}."),
    pseudonym_options};

static int pseudonym_handle(int val, const char *arg, void *payload)
{
    pseudonym_opts *o = payload;
    switch (val) {
    case 'p':
        return cli_set_once(&o->partner, "--partner", arg);
    case 't':
        return cli_set_once(&o->type, "--type", arg);
    case 'j':
        o->json = true;
        return 0;
    }
    return 0;
}

/* One line of standard input, without its line break. */
static int pseudonym_stdin(char *buf, size_t len)
{
    if (!fgets(buf, (int)len, stdin))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "no value on standard input");
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    else if (!feof(stdin))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the value on standard input is longer than %zu "
                            "bytes",
                            len - 2);
    if (n && buf[n - 1] == '\r')
        buf[--n] = 0;
    return 0;
}

/* The type of a value given without --type: an ID number, else a phone. */
static int pseudonym_guess(pg_type *out, const char *value)
{
    pg_buf tmp;
    pg_buf_init(&tmp, 64);
    bool id = pg_transform_normalize(&tmp, PG_TYPE_ID_NUMBER, value,
                                     strlen(value)) == 0;
    bool phone = !id && pg_transform_normalize(&tmp, PG_TYPE_PHONE, value,
                                               strlen(value)) == 0;
    pg_buf_dispose(&tmp);
    pg_error_clear();
    if (!id && !phone)
        return -1;
    *out = id ? PG_TYPE_ID_NUMBER : PG_TYPE_PHONE;
    return 0;
}

int cmd_pseudonym(int argc, char **argv)
{
    static const pg_type types[] = {PG_TYPE_ID_NUMBER, PG_TYPE_PHONE,
                                    PG_TYPE_NAME, PG_TYPE_TEXT};
    pseudonym_opts o = {0};
    pg_node *node = NULL;
    pg_peer *peer = NULL;
    pg_policy *policy = NULL;
    pg_buf out = PG_BUF_INIT;
    uint8_t key[PG_PSEUDONYM_KEY_LEN];
    char key_id[PG_PSEUDONYM_KEY_ID_LEN + 1];
    char line[PG_TEXT_MAX + 2];
    char ex[PG_EXCERPT_SIZE];
    const char *value;
    pg_type type = PG_TYPE_ID_NUMBER;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &pseudonym_cmd, pseudonym_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (!o.partner)
        return cli_usage(&pseudonym_cmd, "pseudonym needs --partner CODE");
    if (argc - optind != 1)
        return cli_usage(&pseudonym_cmd, "pseudonym needs one VALUE (or - to "
                                         "read it from standard input)");
    value = argv[optind];
    if (o.type) {
        size_t i = 0;
        while (i < sizeof(types) / sizeof(types[0]) &&
               strcmp(o.type, pg_type_name(types[i])) != 0)
            i++;
        if (i == sizeof(types) / sizeof(types[0]))
            return cli_usage(&pseudonym_cmd,
                             "--type '%s': use id_number, phone, name or "
                             "text",
                             pg_excerpt(ex, o.type, strlen(o.type)));
        type = types[i];
    }
    line[0] = 0;
    if (strcmp(value, "-") == 0) {
        if ((error = pseudonym_stdin(line, sizeof(line))) < 0) {
            status = cli_fail(error);
            goto done;
        }
        value = line;
    }
    if (!o.type && pseudonym_guess(&type, value) < 0) {
        status = cli_usage(&pseudonym_cmd,
                           "the value is neither an ID number nor a mobile "
                           "number; give --type name or --type text");
        goto done;
    }

    if ((error = policy_peer(&node, &peer, o.partner)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (peer->role != PG_PEER_PARTNER) {
        status = cli_fail(pg_error_set(
            PG_EINVALID, PG_ERRCLASS_INVALID,
            "%s is a %s of this node, not a partner city: pseudonyms exist "
            "only on partner links ('pingan peer list' shows the roles)",
            peer->code, pg_peer_role_name(peer->role)));
        goto done;
    }
    if ((error = pg_policy_load(&policy, node, peer)) < 0 ||
        (error = pg_policy_pseudonym_key(key, key_id, node, peer, policy)) <
            0) {
        status = cli_fail(error);
        goto done;
    }
    error = pg_transform_pseudonym(&out, type, value, strlen(value), key);
    pg_memzero(key, sizeof(key));
    if (error < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "partner", peer->code,
                                 "type", pg_type_name(type), "pseudonym",
                                 (const char *)out.data, "key_id", key_id));
    } else {
        printf("%s\n", (const char *)out.data);
    }

done:
    pg_memzero(line, sizeof(line));
    pg_buf_dispose(&out);
    pg_policy_free(policy);
    free(peer);
    pg_node_free(node);
    return status;
}
