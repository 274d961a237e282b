/* pingan init --code CODE --name NAME: create a node. */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"

#include <stdio.h>

typedef struct init_opts {
    const char *code;
    const char *name;
    const char *version;
    bool json;
} init_opts;

static const cli_option init_options[] = {
    {"code", required_argument, 'c', N_("CODE"),
     N_("division code: 12 digits, or a 2/4/6/9-digit prefix (430302)")},
    {"name", required_argument, 'n', N_("NAME"),
     N_("the node's name, e.g. 雨湖区")},
    {"schema-version", required_argument, 'S', N_("N"),
     N_("make the store at an older schema version N (staging an upgrade, "
        "tests); 'pingan schema upgrade' moves it on")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command init_cmd = {
    "init", N_("--code CODE --name NAME [--json]"),
    N_("Create a node in --dir: its Ed25519 and X25519 keys (files mode 0600), "
       "its card\nand its SQLite store.  Refuses a directory that is not "
       "empty."),
    N_("The tier (province, city, county, township, community) follows from "
       "the code:\n430300 is the city of Xiangtan, 430302 the county 雨湖区, "
       "430302001 a township,\n430302001001 a community."),
    init_options};

static int init_handle(int val, const char *arg, void *payload)
{
    init_opts *o = payload;
    switch (val) {
    case 'c':
        o->code = arg;
        break;
    case 'n':
        o->name = arg;
        break;
    case 'S':
        return cli_set_once(&o->version, "--schema-version", arg);
    case 'j':
        o->json = true;
        break;
    }
    return 0;
}

int cmd_init(int argc, char **argv)
{
    init_opts o = {0};
    char code[PG_CODE_LEN + 1];
    int rc, error;

    if ((rc = cli_parse(argc, argv, &init_cmd, init_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_usage(&init_cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.code || !o.name)
        return cli_usage(&init_cmd, "init needs --code and --name");
    unsigned long long version = 0;
    if (o.version && cli_parse_count(&version, "schema-version", o.version, 1,
                                     PG_SCHEMA_VERSION) < 0)
        return 2;
    if ((error = pg_division_parse(code, o.code)) < 0)
        return cli_fail(error);
    if ((error = pg_node_init_version(cli_g.dir, code, o.name, cli_operator(),
                                      (unsigned)version)) < 0)
        return cli_fail(error);

    pg_node *node = NULL;
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    const pg_card *card = pg_node_card(node);
    if (o.json) {
        cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "dir", cli_g.dir,
                                 "code", card->code, "name", card->name, "tier",
                                 pg_tier_name(card->tier), "key_id",
                                 card->key_id));
    } else {
        printf(_("created node %s %s (%s) in %s\nkey id %s\n"), card->code,
               card->name, cli_tier_label(card->tier), cli_g.dir, card->key_id);
        printf("%s", _("next: give 'pingan card --out FILE' to the "
                       "administrators of linked nodes\n"));
    }
    pg_node_free(node);
    return 0;
}
