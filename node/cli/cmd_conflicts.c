/*
 * pingan conflicts list|show|resolve: the concurrent edits the merge
 * found (include/pingan/conflict.h), and the decision that closes one.
 * A resolution is an ordinary signed write naming both versions, so it
 * replicates and closes the conflict on every node.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/conflict.h"
#include "pingan/error.h"
#include "pingan/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conflicts_opts {
    bool json;
    bool all;
    const char *keep;
} conflicts_opts;

static const cli_option list_options[] = {
    {"all", no_argument, 'a', NULL, N_("include resolved conflicts")},
    {"json", no_argument, 'j', NULL, N_("print a JSON array")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option show_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the conflict as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option resolve_options[] = {
    {"keep", required_argument, 'k', N_("a|b|HLC@ORIGIN"),
     N_("the version whose value is kept")},
    {"json", no_argument, 'j', NULL, N_("print the outcome as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command list_cmd = {
    "conflicts list", N_("[--all] [--json]"),
    N_("List the open conflicts: fields that two nodes changed without seeing "
       "each\nother's change, with both values.  The winner (the later write, "
       "or the higher\ntier's for authority fields) is what the field took; "
       "the "
       "other value is kept\nhere for review."),
    N_("Every node that holds both changes lists the conflict under the same "
       "id.\n'pingan conflicts resolve ID --keep a|b' decides it."),
    list_options};
static const cli_command show_cmd = {
    "conflicts show", N_("ID [--json]"),
    N_("Show one conflict: the record and field, both versions and values, "
       "which one\nthe field holds, and whether it was resolved."),
    NULL, show_options};
static const cli_command resolve_cmd = {
    "conflicts resolve", N_("ID --keep a|b|HLC@ORIGIN"),
    N_("Resolve a conflict by keeping one of its two values.  This writes the "
       "kept value\nas a new change that names both versions: it is signed by "
       "this node,\nrecorded with the operator, and closes the conflict on "
       "every node it reaches."),
    N_("example:\n  pingan conflicts resolve 3fa2c9d0e1b24a67 --keep b "
       "--operator 张三"),
    resolve_options};

static int conflicts_handle(int val, const char *arg, void *payload)
{
    conflicts_opts *o = payload;

    switch (val) {
    case 'j':
        o->json = true;
        break;
    case 'a':
        o->all = true;
        break;
    case 'k':
        return cli_set_once(&o->keep, "--keep", arg);
    }
    return 0;
}

static const pg_field *conflict_field(const pg_conflict *c)
{
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), c->collection);
    return coll ? pg_collection_field(coll, c->field, NULL) : NULL;
}

static json_t *version_json(const pg_version *v, const pg_field *f,
                            const pg_value *value)
{
    char text[PG_VERSION_TEXT_MAX];
    pg_version_format(text, v);
    return json_pack("{s:s, s:I, s:s, s:o}", "version", text, "hlc",
                     (json_int_t)v->hlc, "origin", v->origin, "value",
                     cli_value_json(f, value));
}

static json_t *conflict_json(const pg_conflict *c)
{
    const pg_field *f = conflict_field(c);
    char by[PG_VERSION_TEXT_MAX], detected[40];

    if (!f)
        return NULL;
    pg_version_format(by, &c->resolved_by);
    pg_time_format(detected, c->detected_ms);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:o, s:s}", "id", c->id,
        "collection", c->collection, "record_id", c->record_id, "field",
        c->field, "a", version_json(&c->a, f, &c->value_a), "b",
        version_json(&c->b, f, &c->value_b), "winner",
        c->winner == 'a' ? "a" : "b", "resolved", c->resolved, "resolved_by",
        c->resolved ? json_string(by) : json_null(), "detected", detected);
}

/* A value for the table: escaped, cut at a character boundary. */
static void short_value(char *out, size_t outlen, const pg_field *f,
                        const pg_value *v)
{
    char full[2 * PG_TEXT_MAX + 64];
    cli_value_text(full, sizeof(full), f, v);
    if (v->kind == PG_VALUE_ABSENT)
        snprintf(full, sizeof(full), "%s", _("(cleared)"));
    size_t n = strlen(full), cut = 0, w = 0;
    while (cut < n && w < 24) {
        size_t len = 1;
        unsigned char ch = (unsigned char)full[cut];
        if (ch >= 0xf0)
            len = 4;
        else if (ch >= 0xe0)
            len = 3;
        else if (ch >= 0xc0)
            len = 2;
        w += len >= 3 ? 2 : 1;
        cut += len;
    }
    if (cut > n)
        cut = n;
    snprintf(out, outlen, "%.*s%s", (int)cut, full, cut < n ? "..." : "");
}

enum { NCOLS = 8 };
typedef struct row_text {
    char col[NCOLS][128];
} row_text;

typedef struct list_state {
    bool json;
    json_t *array;
    row_text *rows;
    size_t n, cap;
} list_state;

static int list_one(const pg_conflict *c, void *payload)
{
    list_state *ls = payload;

    if (ls->json) {
        json_t *o = conflict_json(c);
        if (!o || json_array_append_new(ls->array, o) < 0)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        return 0;
    }
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? 2 * ls->cap : 16;
        row_text *rows = malloc(cap * sizeof(*rows));
        if (!rows)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        if (ls->n)
            memcpy(rows, ls->rows, ls->n * sizeof(*rows));
        free(ls->rows);
        ls->rows = rows;
        ls->cap = cap;
    }
    const pg_field *f = conflict_field(c);
    row_text *r = &ls->rows[ls->n++];
    char detected[40];
    pg_time_format(detected, c->detected_ms);
    snprintf(r->col[0], sizeof(r->col[0]), "%s", c->id);
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), c->collection);
    snprintf(r->col[1], sizeof(r->col[1]), "%s",
             coll ? cli_collection_label(coll) : c->collection);
    snprintf(r->col[2], sizeof(r->col[2]), "%s", c->record_id);
    snprintf(r->col[3], sizeof(r->col[3]), "%s",
             f ? cli_field_label(f) : c->field);
    if (f) {
        short_value(r->col[4], sizeof(r->col[4]), f, &c->value_a);
        short_value(r->col[5], sizeof(r->col[5]), f, &c->value_b);
    }
    snprintf(r->col[6], sizeof(r->col[6]), "%c%s", c->winner,
             c->resolved ? _(" (resolved)") : "");
    snprintf(r->col[7], sizeof(r->col[7]), "%s", detected);
    return 0;
}

static void print_table(const list_state *ls)
{
    static const char *const heads_en[NCOLS] = {
        N_("ID"), N_("COLLECTION"), N_("RECORD"),  N_("FIELD"), "A",
        "B",      N_("WINNER"),     N_("DETECTED")};
    const char *heads[NCOLS];
    size_t width[NCOLS];

    for (size_t c = 0; c < NCOLS; c++) {
        heads[c] = cli_tr(heads_en[c]);
        width[c] = cli_text_width(heads[c]);
        for (size_t i = 0; i < ls->n; i++) {
            size_t w = cli_text_width(ls->rows[i].col[c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < NCOLS; c++)
        if (c + 1 < NCOLS)
            cli_print_padded(heads[c], width[c]);
        else
            printf("%s\n", heads[c]);
    for (size_t i = 0; i < ls->n; i++)
        for (size_t c = 0; c < NCOLS; c++)
            if (c + 1 < NCOLS)
                cli_print_padded(ls->rows[i].col[c], width[c]);
            else
                printf("%s\n", ls->rows[i].col[c]);
}

static int conflicts_list(int argc, char **argv)
{
    conflicts_opts o = {0};
    list_state ls = {0};
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &list_cmd, conflicts_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&list_cmd, argv[optind]);
    ls.json = o.json;
    if (o.json && !(ls.array = json_array()))
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_conflict_list(node, o.all, list_one, &ls)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(ls.array);
        ls.array = NULL;
    } else if (ls.n == 0) {
        fprintf(stderr, "%s",
                o.all ? _("no conflicts\n") : _("no open conflicts\n"));
    } else {
        print_table(&ls);
    }

done:
    json_decref(ls.array);
    free(ls.rows);
    pg_node_free(node);
    return status;
}

static void print_version(const char *label, const pg_version *v,
                          const pg_field *f, const pg_value *value, bool winner)
{
    char text[2 * PG_TEXT_MAX + 64], when[40], ver[PG_VERSION_TEXT_MAX];
    cli_value_text(text, sizeof(text), f, value);
    pg_time_format(when, (int64_t)(v->hlc >> 16));
    pg_version_format(ver, v);
    printf("  %s  %s%s\n", label,
           value->kind == PG_VALUE_ABSENT ? _("(cleared)") : text,
           winner ? _("   <- winner") : "");
    printf(_("     written by %s at %s (version %s)\n"), v->origin, when, ver);
}

static int conflicts_show(int argc, char **argv)
{
    conflicts_opts o = {0};
    pg_node *node = NULL;
    pg_conflict *c = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &show_cmd, conflicts_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&show_cmd, "conflicts show needs one ID");
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_conflict_get(&c, node, argv[optind])) < 0) {
        status = cli_fail(error);
        goto done;
    }
    const pg_field *f = conflict_field(c);
    if (!f) {
        status = cli_fail(pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                                       _("conflict %s names an unknown field"),
                                       c->id));
        goto done;
    }
    if (o.json) {
        cli_print_json(conflict_json(c));
        goto done;
    }
    char when[40], by[PG_VERSION_TEXT_MAX];
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), c->collection);
    const char *flabel = cli_field_label(f);
    printf(_("conflict %s\n  %s %s, field %s (%s)\n"), c->id,
           coll ? cli_collection_label(coll) : c->collection, c->record_id,
           flabel, flabel == f->name ? f->title : f->name);
    print_version("a", &c->a, f, &c->value_a, c->winner == 'a');
    print_version("b", &c->b, f, &c->value_b, c->winner == 'b');
    pg_time_format(when, c->detected_ms);
    printf(_("  detected %s\n"), when);
    if (c->resolved) {
        pg_version_format(by, &c->resolved_by);
        pg_time_format(when, (int64_t)(c->resolved_by.hlc >> 16));
        printf(_("  resolved by %s (written by %s at %s)\n"), by,
               c->resolved_by.origin, when);
    } else {
        printf(_("  open: decide with 'pingan conflicts resolve %s --keep a' "
                 "(or b)\n"),
               c->id);
    }

done:
    pg_conflict_free(c);
    pg_node_free(node);
    return status;
}

static int conflicts_resolve(int argc, char **argv)
{
    conflicts_opts o = {0};
    pg_node *node = NULL;
    pg_conflict *c = NULL;
    pg_version keep, written;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &resolve_cmd, conflicts_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&resolve_cmd, "conflicts resolve needs one ID");
    if (!o.keep)
        return cli_usage(&resolve_cmd,
                         "conflicts resolve needs --keep a, b or HLC@ORIGIN");
    bool by_letter = strcmp(o.keep, "a") == 0 || strcmp(o.keep, "b") == 0;
    if (!by_letter && pg_version_parse(&keep, o.keep) < 0)
        return cli_usage(&resolve_cmd, "%s", pg_error_last()->message);
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_conflict_get(&c, node, argv[optind])) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (by_letter)
        keep = o.keep[0] == 'a' ? c->a : c->b;
    if ((error = pg_conflict_resolve(&written, node, c->id, &keep,
                                     cli_operator())) < 0) {
        status = cli_fail(error);
        goto done;
    }
    char kept[PG_VERSION_TEXT_MAX], wrote[PG_VERSION_TEXT_MAX];
    pg_version_format(kept, &keep);
    pg_version_format(wrote, &written);
    char letter = pg_version_cmp(&keep, &c->a) == 0 ? 'a' : 'b';
    if (o.json) {
        cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "id", c->id, "kept",
                                 letter == 'a' ? "a" : "b", "kept_version",
                                 kept, "resolution", wrote));
        goto done;
    }
    const pg_field *f = conflict_field(c);
    char text[2 * PG_TEXT_MAX + 64] = "";
    const pg_value *v = letter == 'a' ? &c->value_a : &c->value_b;
    if (f)
        cli_value_text(text, sizeof(text), f, v);
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), c->collection);
    printf(_("resolved conflict %s: %s %s %s keeps %c (%s), written as %s\n"),
           c->id, coll ? cli_collection_label(coll) : c->collection,
           c->record_id, f ? cli_field_label(f) : c->field, letter,
           v->kind == PG_VALUE_ABSENT ? _("(cleared)") : text, wrote);

done:
    pg_conflict_free(c);
    pg_node_free(node);
    return status;
}

static const cli_verb verbs[] = {
    {"list", conflicts_list, N_("list open (or all) conflicts")},
    {"show", conflicts_show, N_("show one conflict")},
    {"resolve", conflicts_resolve, N_("keep one value and close the conflict")},
    {NULL, NULL, NULL},
};

int cmd_conflicts(int argc, char **argv)
{
    return cli_dispatch(
        "conflicts",
        N_("Fields that two nodes changed without seeing each other's change.  "
           "The merge\nkeeps the winner's value and both versions; a "
           "resolution "
           "closes the conflict\neverywhere."),
        verbs, argc, argv);
}
