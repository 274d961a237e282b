/*
 * pingan quarantine list|show: received txns that failed their own checks
 * (include/pingan/quarantine.h).  They were acknowledged and not applied;
 * `show` decodes the stored bytes so an administrator sees what they
 * would have changed.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/quarantine.h"
#include "pingan/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct quarantine_opts {
    bool json;
} quarantine_opts;

static const cli_option list_options[] = {
    {"json", no_argument, 'j', NULL, N_("print a JSON array")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option show_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the entry as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command list_cmd = {
    "quarantine list", N_("[--json]"),
    N_("List the quarantined txns: received, acknowledged and not applied "
       "because they\nfailed their own checks (signature, jurisdiction, "
       "equivocation, schema)."),
    N_("The reason says which check failed.  The rest of each bundle applied."),
    list_options};
static const cli_command show_cmd = {
    "quarantine show", N_("ID [--json]"),
    N_("Show one quarantined txn with the changes it carries (never applied)."),
    NULL, show_options};

static int quarantine_handle(int val, const char *arg, void *payload)
{
    quarantine_opts *o = payload;
    (void)arg;
    if (val == 'j')
        o->json = true;
    return 0;
}

static json_t *entry_json(const pg_quarantined *q)
{
    char received[40];
    pg_time_format(received, q->received_ms);
    return json_pack(
        "{s:I, s:s, s:s, s:I, s:s, s:o, s:s, s:s, s:s, s:s}", "id",
        (json_int_t)q->id, "peer", q->peer, "origin", q->origin, "origin_seq",
        (json_int_t)q->origin_seq, "digest", q->digest, "other_digest",
        q->other_digest[0] ? json_string(q->other_digest) : json_null(),
        "collection", q->collection, "division", q->division, "reason",
        q->reason, "received", received);
}

enum { NCOLS = 6 };

typedef struct list_state {
    bool json;
    json_t *array; /* the entries, also for the table */
} list_state;

static int list_one(const pg_quarantined *q, void *payload)
{
    list_state *ls = payload;
    json_t *o = entry_json(q);
    if (!o || json_array_append_new(ls->array, o) < 0)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    return 0;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && s[0] ? s : "-";
}

static void print_table(json_t *entries)
{
    static const char *const heads_en[NCOLS] = {
        N_("ID"),         N_("RECEIVED"),   N_("PEER"),
        N_("ORIGIN/SEQ"), N_("COLLECTION"), N_("REASON")};
    const char *heads[NCOLS];
    char cells[NCOLS][320];
    size_t width[NCOLS] = {0};
    size_t i;
    json_t *e;

    for (size_t c = 0; c < NCOLS; c++)
        heads[c] = cli_tr(heads_en[c]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (size_t c = 0; c < NCOLS; c++) {
                fputs(heads[c], stdout);
                for (size_t w = cli_text_width(heads[c]);
                     c + 1 < NCOLS && w < width[c] + 2; w++)
                    fputc(' ', stdout);
            }
            fputc('\n', stdout);
        }
        json_array_foreach(entries, i, e)
        {
            snprintf(cells[0], sizeof(cells[0]), "%lld",
                     (long long)json_integer_value(json_object_get(e, "id")));
            snprintf(cells[1], sizeof(cells[1]), "%s", jstr(e, "received"));
            snprintf(cells[2], sizeof(cells[2]), "%s", jstr(e, "peer"));
            snprintf(cells[3], sizeof(cells[3]), "%s/%lld", jstr(e, "origin"),
                     (long long)json_integer_value(
                         json_object_get(e, "origin_seq")));
            const pg_collection *coll = pg_schema_collection(
                pg_schema_current(), jstr(e, "collection"));
            snprintf(cells[4], sizeof(cells[4]), "%s",
                     coll ? cli_collection_label(coll) : jstr(e, "collection"));
            snprintf(cells[5], sizeof(cells[5]), "%s", jstr(e, "reason"));
            for (size_t c = 0; c < NCOLS; c++) {
                size_t w = cli_text_width(cells[c]);
                if (pass == 0) {
                    if (w > width[c])
                        width[c] = w;
                    if (cli_text_width(heads[c]) > width[c])
                        width[c] = cli_text_width(heads[c]);
                    continue;
                }
                fputs(cells[c], stdout);
                for (; c + 1 < NCOLS && w < width[c] + 2; w++)
                    fputc(' ', stdout);
            }
            if (pass == 1)
                fputc('\n', stdout);
        }
    }
}

static int quarantine_list(int argc, char **argv)
{
    quarantine_opts o = {0};
    list_state ls = {0};
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &list_cmd, quarantine_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&list_cmd, argv[optind]);
    ls.json = o.json;
    if (!(ls.array = json_array()))
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_quarantine_list(node, list_one, &ls)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        cli_print_json(ls.array);
        ls.array = NULL;
    } else if (json_array_size(ls.array) == 0) {
        fprintf(stderr, "%s", _("no quarantined txns\n"));
    } else {
        print_table(ls.array);
    }

done:
    json_decref(ls.array);
    pg_node_free(node);
    return status;
}

static const char *const form_names[] = {"whole", "salted", "committed",
                                         "dropped"};

/* A change's value as JSON, typed by the schema where the field is known
 * (the txn may name fields this build does not know: it was refused). */
static json_t *change_value_json(const pg_txn *txn, const pg_change *c)
{
    if (c->form != PG_CHANGE_WHOLE && c->form != PG_CHANGE_SALTED)
        return json_null();
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), txn->collection);
    const pg_field *f = coll ? pg_collection_field(coll, c->field, NULL) : NULL;
    if (f && pg_type_kind(f->type) == c->value.kind)
        return cli_value_json(f, &c->value);
    switch (c->value.kind) {
    case PG_VALUE_INT:
        return json_integer((json_int_t)c->value.i);
    case PG_VALUE_REAL:
        return json_real(c->value.r);
    case PG_VALUE_BOOL:
        return json_boolean(c->value.b);
    case PG_VALUE_TEXT:
        return json_stringn(c->value.s, c->value.len);
    default:
        return json_null();
    }
}

static json_t *version_or_null(const pg_version *v)
{
    char text[PG_VERSION_TEXT_MAX];
    if (pg_version_is_zero(v))
        return json_null();
    pg_version_format(text, v);
    return json_string(text);
}

static json_t *changes_json(const pg_txn *txn)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < txn->nchanges; i++) {
        const pg_change *c = &txn->changes[i];
        json_t *o = json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:s}", "record_id", c->record_id,
            "field", c->field, "value", change_value_json(txn, c), "base",
            version_or_null(&c->base), "merged", version_or_null(&c->merged),
            "form", form_names[c->form]);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int parse_id(int64_t *out, const char *arg)
{
    int64_t v = 0;
    if (!arg[0])
        return -1;
    for (const char *p = arg; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return v > 0 ? 0 : -1;
}

/* "  LABEL      ": a label of `quarantine show`, in 10 columns. */
static void show_label(const char *label)
{
    printf("  %s", label);
    for (size_t w = cli_text_width(label); w < 10; w++)
        putchar(' ');
    putchar(' ');
}

static int quarantine_show(int argc, char **argv)
{
    quarantine_opts o = {0};
    pg_node *node = NULL;
    pg_txn *txn = NULL;
    pg_quarantined q;
    int64_t id;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &show_cmd, quarantine_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (argc - optind != 1)
        return cli_usage(&show_cmd, "quarantine show needs one ID");
    if (parse_id(&id, argv[optind]) < 0) {
        char ex[PG_EXCERPT_SIZE];
        return cli_usage(&show_cmd,
                         "'%s' is not a quarantine id (a number, as "
                         "'pingan quarantine list' shows them)",
                         pg_excerpt(ex, argv[optind], strlen(argv[optind])));
    }
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_quarantine_get(&q, node, id)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    /* A malformed txn has no changes to show. */
    error = pg_quarantine_txn(&txn, node, id);
    if (error < 0 && error != PG_EINVALID) {
        status = cli_fail(error);
        goto done;
    }
    pg_error_clear();
    if (o.json) {
        json_t *e = entry_json(&q);
        json_t *ch = txn ? changes_json(txn) : json_array();
        if (!e || !ch || json_object_set_new(e, "changes", ch) < 0) {
            json_decref(e);
            status = cli_fail(
                pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
            goto done;
        }
        cli_print_json(e);
        goto done;
    }
    char received[40];
    pg_time_format(received, q.received_ms);
    printf(_("quarantined txn %lld, received %s from %s\n"), (long long)q.id,
           received, q.peer[0] ? q.peer : "-");
    show_label(_("reason"));
    printf("%s\n", q.reason);
    if (q.origin[0]) {
        show_label(_("origin"));
        printf(_("%s seq %llu\n"), q.origin, (unsigned long long)q.origin_seq);
    }
    show_label(_("digest"));
    printf("%s\n", q.digest);
    if (q.other_digest[0]) {
        show_label(_("other"));
        printf(_("%s (the same origin and seq, kept or seen first)\n"),
               q.other_digest);
    }
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), q.collection);
    if (q.collection[0]) {
        show_label(_("records"));
        printf(_("%s, division %s\n"),
               coll ? cli_collection_label(coll) : q.collection, q.division);
    }
    if (!txn) {
        printf("%s", _("  (the stored bytes do not decode: no changes to "
                       "show)\n"));
        goto done;
    }
    show_label(_("operator"));
    printf("%s\n", txn->operator_name);
    printf("%s", _("  changes (not applied):\n"));
    coll = pg_schema_collection(pg_schema_current(), txn->collection);
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *c = &txn->changes[i];
        const pg_field *f =
            coll ? pg_collection_field(coll, c->field, NULL) : NULL;
        char text[2 * PG_TEXT_MAX + 64], base[PG_VERSION_TEXT_MAX];
        if (c->form != PG_CHANGE_WHOLE && c->form != PG_CHANGE_SALTED)
            snprintf(text, sizeof(text), "(%s)", form_names[c->form]);
        else if (f && pg_type_kind(f->type) == c->value.kind)
            cli_value_text(text, sizeof(text), f, &c->value);
        else {
            json_t *j = change_value_json(txn, c);
            char *s = json_dumps(j, JSON_ENCODE_ANY);
            snprintf(text, sizeof(text), "%s", s ? s : "?");
            free(s);
            json_decref(j);
        }
        printf("    %s %s = %s", c->record_id,
               f ? cli_field_label(f) : c->field, text);
        if (!pg_version_is_zero(&c->base)) {
            pg_version_format(base, &c->base);
            printf(_("  (base %s)"), base);
        }
        printf("\n");
    }

done:
    pg_txn_free(txn);
    pg_node_free(node);
    return status;
}

static const cli_verb verbs[] = {
    {"list", quarantine_list, N_("list quarantined txns and why")},
    {"show", quarantine_show, N_("show one, with the changes it carries")},
    {NULL, NULL, NULL},
};

int cmd_quarantine(int argc, char **argv)
{
    return cli_dispatch(
        "quarantine",
        N_("Received txns that failed their own checks: kept as evidence, "
           "acknowledged,\nnever applied."),
        verbs, argc, argv);
}
