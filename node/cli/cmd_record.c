/*
 * pingan record put|get|list|delete|import: local writes and reads.
 * FIELD=VALUE operands are parsed into typed values by the schema, so
 * errors name the field and what it accepts.
 */
#include "cli.h"
#include "csv.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ASSIGN 256

typedef struct record_opts {
    const char *id;
    bool json;
    bool csv;
    bool deleted;
    size_t limit;
    size_t batch;
    const char *where[MAX_ASSIGN];
    size_t nwhere;
} record_opts;

static const cli_option put_options[] = {
    {"id", required_argument, 'i', N_("ID"),
     N_("update this record instead of creating one")},
    {"json", no_argument, 'j', NULL, N_("print {\"id\": ...} as JSON")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option get_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the record as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option list_options[] = {
    {"where", required_argument, 'w', N_("FIELD=VALUE"),
     N_("only records whose FIELD equals VALUE (repeatable; empty = unset)")},
    {"limit", required_argument, 'l', N_("N"), N_("at most N records")},
    {"deleted", no_argument, 'd', NULL, N_("include deleted records")},
    {"json", no_argument, 'j', NULL, N_("print a JSON array")},
    {"csv", no_argument, 'c', NULL, CLI_CSV_OPTION_HELP},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option delete_options[] = {
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option import_options[] = {
    {"batch", required_argument, 'b', N_("N"),
     N_("records per txn (default 256, at most 4096)")},
    {"json", no_argument, 'j', NULL, N_("print the summary as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command put_cmd = {
    "record put", N_("COLLECTION [--id ID] FIELD=VALUE..."),
    N_("Create a record (its new id is printed) or, with --id, change the "
       "given fields\nof an existing one.  Each write is one signed txn in the "
       "change-log."),
    N_("Values: text as is; int and counter in decimal (a counter value is an "
       "increment);\nreal in decimal; bool true/false; time as ISO 8601 with "
       "offset\n(2026-11-26T10:00:00+08:00) or ms since the epoch; enum one of "
       "its values\n('pingan schema COLLECTION' lists them); division 12 "
       "digits.  An empty value\nclears the field.  A new record needs "
       "division=CODE inside this node's\njurisdiction; division never "
       "changes.\n\nexample:\n  pingan record put dispute "
       "division=430302001001 "
       "dispute_type=邻里纠纷 \\\n      summary='两户因排水沟发生纠纷' "
       "status=登记受理"),
    put_options};
static const cli_command get_cmd = {
    "record get", N_("COLLECTION ID [--json]"),
    N_("Show one record with every field and its version (hlc and origin)."),
    NULL, get_options};
static const cli_command list_cmd = {
    "record list",
    N_("COLLECTION [--where FIELD=VALUE]... [--limit N] [--json|--csv]"),
    N_("List records, oldest first, without deleted ones unless --deleted."),
    N_("example:\n  pingan record list hazard --where level=重大 --limit 20"),
    list_options};
static const cli_command delete_cmd = {
    "record delete", N_("COLLECTION ID"),
    N_("Delete a record: a tombstone (_deleted=true) that replicates like any "
       "change;\nthe change-log keeps its history."),
    NULL, delete_options};
static const cli_command import_cmd = {
    "record import", N_("COLLECTION FILE.jsonl [--batch N] [--json]"),
    N_("Create records from JSON lines (one object per line, field names to "
       "values;\nnumbers for int, real, counter and time in ms, strings "
       "otherwise).  FILE '-'\nreads standard input."),
    N_("Records are grouped into txns of at most N records of one division. "
       "The whole\nimport is one SQLite transaction: a bad line (its number is "
       "given) imports\nnothing.  Progress is shown on a terminal.\n\n"
       "example:\n  tools/gen dispute 1000 --division 430302 > d.jsonl && "
       "pingan record import dispute d.jsonl"),
    import_options};

static int record_handle(int val, const char *arg, void *payload)
{
    record_opts *o = payload;

    switch (val) {
    case 'i':
        o->id = arg;
        break;
    case 'j':
        o->json = true;
        break;
    case 'c':
        o->csv = true;
        break;
    case 'd':
        o->deleted = true;
        break;
    case 'w':
        if (o->nwhere == MAX_ASSIGN) {
            fprintf(stderr, "%s", _("pingan: too many --where options\n"));
            return -1;
        }
        o->where[o->nwhere++] = arg;
        break;
    case 'l':
    case 'b': {
        unsigned long long n;
        if (cli_parse_count(&n, val == 'l' ? "limit" : "batch", arg, 1,
                            100000000ULL) < 0)
            return -1;
        if (val == 'l')
            o->limit = (size_t)n;
        else
            o->batch = (size_t)n;
        break;
    }
    }
    return 0;
}

/* Parse FIELD=VALUE operands into typed values. */
static int parse_assignments(pg_field_value *out, char **texts,
                             const pg_collection *coll, char **args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(args[i], '=');
        texts[i] = NULL;
        char ex[PG_EXCERPT_SIZE];
        if (!eq || eq == args[i])
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                _("'%s' is not FIELD=VALUE"),
                                pg_excerpt(ex, args[i], strlen(args[i])));
        *eq = 0;
        const pg_field *f = pg_collection_field(coll, args[i], NULL);
        if (!f)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                                _("collection '%s' has no field '%s'; "
                                  "'pingan schema %s' lists its fields"),
                                coll->name,
                                pg_excerpt(ex, args[i], strlen(args[i])),
                                coll->name);
        int error = pg_value_parse(&out[i].value, &texts[i], f, eq + 1);
        if (error < 0)
            return error;
        out[i].field = f->name;
    }
    return 0;
}

static const pg_collection *find_collection(const cli_command *cmd,
                                            const char *name)
{
    char ex[PG_EXCERPT_SIZE];
    const pg_collection *c = pg_schema_collection(pg_schema_current(), name);
    if (!c)
        cli_usage(cmd, "unknown collection '%s'; 'pingan schema' lists them",
                  pg_excerpt(ex, name, strlen(name)));
    return c;
}

static json_t *record_json(const pg_record *rec)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(rec->id));
    for (size_t f = 0; f < rec->nvalues; f++) {
        const pg_field *fd = pg_collection_field_at(rec->coll, f);
        json_object_set_new(o, fd->name, cli_value_json(fd, &rec->values[f]));
    }
    return o;
}

static int record_put(int argc, char **argv)
{
    record_opts o = {0};
    pg_field_value values[MAX_ASSIGN];
    char *texts[MAX_ASSIGN] = {0};
    char id[PG_RECORD_ID_LEN + 1];
    pg_node *node = NULL;
    size_t n = 0;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &put_cmd, record_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind >= argc)
        return cli_usage(&put_cmd, "record put needs a COLLECTION");
    const pg_collection *coll = find_collection(&put_cmd, argv[optind]);
    if (!coll)
        return 2;
    n = (size_t)(argc - optind - 1);
    if (n == 0)
        return cli_usage(&put_cmd, "give at least one FIELD=VALUE");
    if (n > MAX_ASSIGN)
        return cli_usage(&put_cmd, "too many fields");
    if ((error = parse_assignments(values, texts, coll, argv + optind + 1, n)) <
            0 ||
        (error = cli_open_node(&node)) < 0 ||
        (error = pg_record_put(id, node, coll->name, o.id, values, n,
                               cli_operator())) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json)
        cli_print_json(json_pack("{s:s}", "id", o.id ? o.id : id));
    else
        printf("%s\n", o.id ? o.id : id);

done:
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    pg_node_free(node);
    return status;
}

static int record_get(int argc, char **argv)
{
    record_opts o = {0};
    pg_node *node = NULL;
    pg_record *rec = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &get_cmd, record_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 2)
        return cli_usage(&get_cmd, "record get needs COLLECTION and ID");
    const pg_collection *coll = find_collection(&get_cmd, argv[optind]);
    if (!coll)
        return 2;
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_record_get(&rec, node, coll->name, argv[optind + 1])) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(record_json(rec));
        goto done;
    }
    /* English shows names first, Chinese the titles: the other follows. */
    const char *clabel = cli_collection_label(coll);
    printf("%s %s (%s)\n", clabel, rec->id,
           clabel == coll->name ? coll->title : coll->name);
    for (size_t f = 0; f < rec->nvalues; f++) {
        const pg_field *fd = pg_collection_field_at(coll, f);
        char text[2 * PG_TEXT_MAX + 64], when[40];
        if (pg_version_is_zero(&rec->versions[f]))
            continue; /* never written (and not deleted) */
        cli_value_text(text, sizeof(text), fd, &rec->values[f]);
        pg_time_format(when, (int64_t)(rec->versions[f].hlc >> 16));
        const char *flabel = cli_field_label(fd);
        printf("  %s", flabel);
        for (size_t w = cli_text_width(flabel); w < 22; w++)
            putchar(' ');
        printf(" %s\n  %-22s   ", text, "");
        printf(_("(%s, by %s at %s)\n"),
               flabel == fd->name ? fd->title : fd->name,
               rec->versions[f].origin, when);
    }

done:
    pg_record_free(rec);
    pg_node_free(node);
    return status;
}

typedef struct list_state {
    bool json;
    cli_csv *csv;
    json_t *array;
    size_t count;
} list_state;

static int list_one(const pg_record *rec, void *payload)
{
    list_state *ls = payload;
    ls->count++;
    if (ls->json) {
        json_array_append_new(ls->array, record_json(rec));
        return 0;
    }
    if (ls->csv) {
        cli_csv_record(ls->csv, rec);
        return 0;
    }
    printf("%s", rec->id);
    for (size_t f = 0; f < rec->nvalues; f++) {
        const pg_field *fd = pg_collection_field_at(rec->coll, f);
        char text[2 * PG_TEXT_MAX + 64];
        if (rec->values[f].kind == PG_VALUE_ABSENT)
            continue;
        if (f == rec->coll->nfields && !rec->values[f].b)
            continue;
        cli_value_text(text, sizeof(text), fd, &rec->values[f]);
        printf("  %s=%s", cli_field_label(fd), text);
    }
    printf("\n");
    return 0;
}

static int record_list(int argc, char **argv)
{
    record_opts o = {0};
    pg_field_value where[MAX_ASSIGN];
    char *texts[MAX_ASSIGN] = {0};
    pg_node *node = NULL;
    list_state ls = {0};
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &list_cmd, record_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&list_cmd, "record list needs one COLLECTION");
    const pg_collection *coll = find_collection(&list_cmd, argv[optind]);
    if (!coll)
        return 2;
    if (o.json && o.csv)
        return cli_usage(&list_cmd, _("give --json or --csv, not both"));
    cli_csv csv = {0};
    ls.json = o.json;
    ls.csv = o.csv ? &csv : NULL;
    ls.array = o.json ? json_array() : NULL;
    if ((error = parse_assignments(where, texts, coll, (char **)o.where,
                                   o.nwhere)) < 0 ||
        (error = cli_open_node(&node)) < 0 ||
        (error = o.csv ? cli_csv_record_header(&csv, stdout, coll) : 0) < 0 ||
        (error = pg_record_list(node, coll->name, where, o.nwhere, o.limit,
                                o.deleted, list_one, &ls)) < 0) {
        status = cli_fail(error);
        json_decref(ls.array);
        goto done;
    }
    if (o.json)
        cli_print_json(ls.array);
    else if (cli_progress_enabled())
        fprintf(stderr,
                ngettext("%zu %s record\n", "%zu %s records\n", ls.count),
                ls.count, cli_collection_label(coll));

done:
    for (size_t i = 0; i < o.nwhere; i++)
        free(texts[i]);
    pg_node_free(node);
    return status;
}

static int record_delete(int argc, char **argv)
{
    record_opts o = {0};
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &delete_cmd, record_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 2)
        return cli_usage(&delete_cmd, "record delete needs COLLECTION and ID");
    const pg_collection *coll = find_collection(&delete_cmd, argv[optind]);
    if (!coll)
        return 2;
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_record_delete(node, coll->name, argv[optind + 1],
                                  cli_operator())) < 0)
        status = cli_fail(error);
    else
        printf(_("deleted %s\n"), argv[optind + 1]);
    pg_node_free(node);
    return status;
}

static void import_progress(const pg_import_stats *s, void *payload)
{
    (void)payload;
    fputc('\r', stderr);
    fprintf(stderr, _("importing: %llu lines, %llu records, %llu txns"),
            (unsigned long long)s->lines, (unsigned long long)s->records,
            (unsigned long long)s->txns);
}

static int record_import(int argc, char **argv)
{
    record_opts o = {.batch = PG_IMPORT_BATCH_DEFAULT};
    pg_node *node = NULL;
    pg_import_stats stats = {0};
    FILE *in = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &import_cmd, record_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 2)
        return cli_usage(&import_cmd,
                         "record import needs COLLECTION and FILE.jsonl");
    const pg_collection *coll = find_collection(&import_cmd, argv[optind]);
    if (!coll)
        return 2;
    if (o.batch > PG_IMPORT_BATCH_MAX)
        return cli_usage(&import_cmd, "--batch is at most %d",
                         PG_IMPORT_BATCH_MAX);
    const char *path = argv[optind + 1];
    in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        fprintf(stderr, _("pingan: cannot read %s: %s\n"), path,
                strerror(errno));
        return 2;
    }
    bool progress = cli_progress_enabled();
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_record_import_jsonl(
             &stats, node, coll->name, in, o.batch, cli_operator(),
             progress ? import_progress : NULL, NULL)) < 0) {
        if (progress)
            fprintf(stderr, "\n");
        status = cli_fail(error);
        goto done;
    }
    if (progress)
        fprintf(stderr, "\n");
    if (o.json)
        cli_print_json(json_pack(
            "{s:I, s:I, s:I}", "lines", (json_int_t)stats.lines, "records",
            (json_int_t)stats.records, "txns", (json_int_t)stats.txns));
    else
        printf(_("imported %llu %s records in %llu txns\n"),
               (unsigned long long)stats.records, cli_collection_label(coll),
               (unsigned long long)stats.txns);

done:
    if (in && in != stdin)
        fclose(in);
    pg_node_free(node);
    return status;
}

static const cli_verb verbs[] = {
    {"put", record_put, N_("create or update a record")},
    {"get", record_get, N_("show one record")},
    {"list", record_list, N_("list records")},
    {"delete", record_delete, N_("delete a record (tombstone)")},
    {"import", record_import, N_("create records from JSON lines")},
    {NULL, NULL, NULL},
};

int cmd_record(int argc, char **argv)
{
    return cli_dispatch("record", NULL, verbs, argc, argv);
}
