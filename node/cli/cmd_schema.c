/* pingan schema [COLLECTION] [--json]; pingan schema upgrade [--json] */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/node.h"

#include <stdio.h>
#include <string.h>

typedef struct schema_opts {
    bool json;
} schema_opts;

static const cli_option schema_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the schema as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command schema_cmd = {
    "schema", N_("[COLLECTION] [--json]"),
    N_("Show the compiled-in schema: collections with the articles of the "
       "regulation\nthey serve, fields, types, privacy classes, merge kinds "
       "and enumerations."),
    N_("Privacy classes: public, internal, personal (PIPL personal "
       "information),\nsensitive (PIPL Art. 28).  Merge kinds: lww (last "
       "writer wins), counter\n(increments summed), authority (the higher "
       "tier wins)."),
    schema_options};

static const cli_option upgrade_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command upgrade_cmd = {
    "schema upgrade", "[--json]",
    N_("Upgrade the node in --dir to the newest schema version this build "
       "knows:\nthe new collections and fields are added in one "
       "transaction, recorded in the\naudit trail.  Until then a node made "
       "by an older build (or by 'pingan init\n--schema-version N') runs at "
       "its store's version, as that build would."),
    N_("Versions are additive: nothing is rewritten.  Peers learn the new "
       "version\nfrom this node's next bundle and then send what they held "
       "back for it.\nRunning it again changes nothing."),
    upgrade_options};

static int schema_handle(int val, const char *arg, void *payload)
{
    (void)arg;
    if (val == 'j')
        ((schema_opts *)payload)->json = true;
    return 0;
}

static json_t *field_json(const pg_field *f)
{
    json_t *values = json_null();
    if (f->type == PG_TYPE_ENUM && f->values) {
        values = json_array();
        for (const char *const *v = f->values; *v; v++)
            json_array_append_new(values, json_string(*v));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "name", f->name,
                     "title", f->title, "type", pg_type_name(f->type),
                     "privacy", pg_privacy_name(f->privacy), "merge",
                     pg_merge_name(f->merge), "required", f->required, "values",
                     values);
}

static json_t *collection_json(const pg_collection *c)
{
    json_t *fields = json_array();
    for (size_t i = 0; i <= c->nfields; i++)
        json_array_append_new(fields, field_json(pg_collection_field_at(c, i)));
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", c->name, "title",
                     c->title, "articles", c->articles, "cap",
                     c->cap == PG_TIER_NONE ? json_null()
                                            : json_string(pg_tier_name(c->cap)),
                     "fields", fields);
}

static void collection_text(const pg_collection *c)
{
    /* English shows names first, Chinese the titles: the other follows. */
    const char *label = cli_collection_label(c);
    printf("%s %s", label, label == c->name ? c->title : c->name);
    printf(_(" (Art. %s)"), c->articles);
    if (c->cap)
        printf(_(", up to the %s"), cli_tier_label(c->cap));
    if (c->system)
        printf("%s", _(", system"));
    printf("\n");
    for (size_t i = 0; i <= c->nfields; i++) {
        const pg_field *f = pg_collection_field_at(c, i);
        const char *flabel = cli_field_label(f);
        printf("  %s", flabel);
        for (size_t w = cli_text_width(flabel); w < 22; w++)
            putchar(' ');
        printf(" %-10s %-10s %-9s %s%s\n", pg_type_name(f->type),
               pg_privacy_name(f->privacy), pg_merge_name(f->merge),
               f->required ? _("required ") : "",
               flabel == f->name ? f->title : f->name);
        if (f->type == PG_TYPE_ENUM && f->values) {
            printf("  %-22s %s", "", _("values:"));
            for (const char *const *v = f->values; *v; v++)
                printf(" %s", *v);
            printf("\n");
        }
    }
}

static int schema_upgrade(int argc, char **argv)
{
    schema_opts o = {0};
    pg_node *node = NULL;
    unsigned from = 0;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &upgrade_cmd, schema_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&upgrade_cmd, argv[optind]);
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if ((error = pg_node_schema_upgrade(node, &from)) < 0) {
        pg_node_free(node);
        return cli_fail(error);
    }
    unsigned to = pg_node_schema(node)->version;
    if (o.json)
        cli_print_json(json_pack("{s:i, s:i, s:b}", "from", (int)from, "to",
                                 (int)to, "changed", from != to));
    else if (from == to)
        printf(_("the node already runs schema version %u, the newest this "
                 "build knows; nothing to do\n"),
               to);
    else
        printf(_("upgraded the node from schema version %u to %u; peers "
                 "learn it from its next bundle\n"),
               from, to);
    pg_node_free(node);
    return 0;
}

int cmd_schema(int argc, char **argv)
{
    schema_opts o = {0};
    const pg_schema *s = pg_schema_current();
    pg_node *node = NULL;
    char hash[65];
    int rc;

    if (argc > 1 && strcmp(argv[1], "upgrade") == 0)
        return schema_upgrade(argc - 1, argv + 1);
    if ((rc = cli_parse(argc, argv, &schema_cmd, schema_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind > 1)
        return cli_usage(&schema_cmd, "give at most one COLLECTION");
    const char *only = optind < argc ? argv[optind] : NULL;
    /* A node runs at its store's version (DESIGN §2): with a node in
     * --dir, its schema; without one, the newest this build knows. */
    if (cli_open_node(&node) == 0)
        s = pg_node_schema(node);
    pg_error_clear();
    pg_node_free(node);
    const pg_collection *one = NULL;
    if (only && !(one = pg_schema_collection(s, only))) {
        char ex[PG_EXCERPT_SIZE];
        fprintf(stderr, _("pingan: unknown collection '%s'; known:"),
                pg_excerpt(ex, only, strlen(only)));
        for (size_t i = 0; i < s->ncollections; i++)
            fprintf(stderr, " %s", s->collections[i]->name);
        fprintf(stderr, "\n");
        return 2;
    }
    pg_schema_hash_hex(hash, s);
    if (o.json) {
        json_t *colls = json_array();
        for (size_t i = 0; i < s->ncollections; i++)
            if (!one || s->collections[i] == one)
                json_array_append_new(colls,
                                      collection_json(s->collections[i]));
        cli_print_json(json_pack("{s:i, s:i, s:s, s:o}", "version",
                                 (int)s->version, "newest", PG_SCHEMA_VERSION,
                                 "hash", hash, "collections", colls));
        return 0;
    }
    if (!one)
        printf(_("schema version %u, hash %s\n\n"), s->version, hash);
    if (!one && s->version < PG_SCHEMA_VERSION)
        printf(_("this build knows schema version %d; 'pingan schema "
                 "upgrade' moves the node to it\n\n"),
               PG_SCHEMA_VERSION);
    for (size_t i = 0; i < s->ncollections; i++)
        if (!one || s->collections[i] == one) {
            collection_text(s->collections[i]);
            printf("\n");
        }
    return 0;
}
