/* pingan log [--since SEQ] [--limit N] [--json [--changes]] */
#include "cli.h"
#include "i18n.h"
#include "pingan/changelog.h"
#include "pingan/error.h"
#include "pingan/hlc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct log_opts {
    long long since;
    size_t limit;
    bool json;
    bool changes;
} log_opts;

static const cli_option log_options[] = {
    {"since", required_argument, 's', N_("SEQ"),
     N_("only entries after local sequence SEQ")},
    {"limit", required_argument, 'l', N_("N"), N_("at most N entries")},
    {"json", no_argument, 'j', NULL, N_("print a JSON array")},
    {"changes", no_argument, 'c', NULL,
     N_("with --json: each entry's changes and the peer it came from")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command log_cmd = {
    "log", N_("[--since SEQ] [--limit N] [--json [--changes]]"),
    N_("List the change-log: local sequence, origin and its sequence, hybrid "
       "clock,\ncollection, division, operator, number of changes, digest, and "
       "whether the\norigin's signature verifies."),
    N_("With --json --changes each entry also has \"via\" (the peer it came "
       "from, null\nwhen written here), and \"changes\" lists the changes "
       "instead of counting them:\n[{\"record_id\", "
       "\"field\", \"value\" (null when\ncleared or withheld), \"base\": "
       "{\"hlc\", \"origin\"}, \"merged\": {\"hlc\", \"origin\"} or "
       "null}].\nA redacted change also has \"form\" (committed, dropped) and "
       "\"derived\"."),
    log_options};

static int log_handle(int val, const char *arg, void *payload)
{
    log_opts *o = payload;
    unsigned long long n;

    switch (val) {
    case 'j':
        o->json = true;
        return 0;
    case 'c':
        o->changes = true;
        return 0;
    case 's':
        if (cli_parse_count(&n, "since", arg, 0, INT64_MAX) < 0)
            return -1;
        o->since = (long long)n;
        return 0;
    case 'l':
        if (cli_parse_count(&n, "limit", arg, 0, SIZE_MAX) < 0)
            return -1;
        o->limit = (size_t)n;
        return 0;
    }
    return 0;
}

typedef struct log_state {
    bool json;
    bool changes;
    json_t *array;
    size_t bad;
} log_state;

static json_t *version_json(const pg_version *v)
{
    return json_pack("{s:I, s:s}", "hlc", (json_int_t)v->hlc, "origin",
                     v->origin);
}

/* A value as `record get --json` shows it; a field this build does not
 * know (a newer schema) shows its raw value. */
static json_t *change_value_json(const pg_collection *coll, const pg_change *c)
{
    static const pg_field raw = {.type = PG_TYPE_TEXT};
    const pg_field *f = coll ? pg_collection_field(coll, c->field, NULL) : NULL;

    if (c->form == PG_CHANGE_COMMITTED || c->form == PG_CHANGE_DROPPED)
        return json_null();
    return cli_value_json(f ? f : &raw, &c->value);
}

static json_t *changes_json(const pg_txn *t)
{
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), t->collection);
    json_t *a = json_array();

    for (size_t i = 0; i < t->nchanges; i++) {
        const pg_change *c = &t->changes[i];
        json_t *o = json_pack(
            "{s:s, s:s, s:o, s:o, s:o}", "record_id", c->record_id, "field",
            c->field, "value", change_value_json(coll, c), "base",
            version_json(&c->base), "merged",
            pg_version_is_zero(&c->merged) ? json_null()
                                           : version_json(&c->merged));
        if (c->form == PG_CHANGE_COMMITTED || c->form == PG_CHANGE_DROPPED) {
            json_object_set_new(o, "form",
                                json_string(c->form == PG_CHANGE_COMMITTED
                                                ? "committed"
                                                : "dropped"));
            json_object_set_new(o, "derived",
                                c->derived ? json_string(c->derived)
                                           : json_null());
        }
        json_array_append_new(a, o);
    }
    return a;
}

/* s and a space, in at least width columns (a CJK character takes two),
 * left- or right-aligned. */
static void log_cell(const char *s, size_t width, bool right)
{
    size_t w = cli_text_width(s);
    if (right)
        for (; w < width; w++)
            putchar(' ');
    fputs(s, stdout);
    if (!right)
        for (; w < width; w++)
            putchar(' ');
    putchar(' ');
}

static int log_one(const pg_log_entry *e, void *payload)
{
    log_state *ls = payload;
    const pg_txn *t = e->txn;
    char digest[2 * PG_HASH_LEN + 1], when[40];

    pg_hex(digest, e->digest, PG_HASH_LEN);
    if (!e->signature_ok)
        ls->bad++;
    if (ls->json) {
        json_array_append_new(
            ls->array,
            json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:s, s:b}",
                      "seq", (json_int_t)e->seq, "origin", t->origin,
                      "origin_seq", (json_int_t)t->seq, "hlc",
                      (json_int_t)t->hlc, "collection", t->collection,
                      "division", t->division, "operator", t->operator_name,
                      "changes", (json_int_t)t->nchanges, "digest", digest,
                      "signature_ok", e->signature_ok));
        if (ls->changes) {
            json_t *o =
                json_array_get(ls->array, json_array_size(ls->array) - 1);
            json_object_set_new(o, "via",
                                e->via && e->via[0] ? json_string(e->via)
                                                    : json_null());
            json_object_set_new(o, "changes", changes_json(t));
        }
        return 0;
    }
    pg_time_format(when, PG_HLC_MS(t->hlc));
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), t->collection);
    printf("%6lld  %s #%-6llu %-29s  ", (long long)e->seq, t->origin,
           (unsigned long long)t->seq, when);
    log_cell(coll ? cli_collection_label(coll) : t->collection, 11, false);
    printf("%s  ", t->division);
    log_cell(t->operator_name, 12, false);
    printf("%4zu  %.16s  %s\n", t->nchanges, digest,
           e->signature_ok ? _("signature ok") : _("SIGNATURE NOT VERIFIED"));
    return 0;
}

int cmd_log(int argc, char **argv)
{
    log_opts o = {0};
    log_state ls = {0};
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &log_cmd, log_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_usage(&log_cmd, "unexpected argument '%s'", argv[optind]);
    if (o.changes && !o.json)
        return cli_usage(&log_cmd, "--changes needs --json");
    ls.json = o.json;
    ls.changes = o.changes;
    ls.array = o.json ? json_array() : NULL;
    if ((error = cli_open_node(&node)) < 0) {
        json_decref(ls.array);
        return cli_fail(error);
    }
    if (!o.json) {
        log_cell(_("seq"), 6, true);
        putchar(' ');
        log_cell(_("origin"), 12, false);
        log_cell(_("#seq"), 7, false);
        log_cell(_("clock (+08:00)"), 29, false);
        putchar(' ');
        log_cell(_("collection"), 11, false);
        log_cell(_("division"), 12, false);
        putchar(' ');
        log_cell(_("operator"), 12, false);
        log_cell(_("chg"), 4, true);
        putchar(' ');
        log_cell(_("digest"), 16, false);
        printf(" %s\n", _("signature"));
    }
    if ((error = pg_log_list(node, o.since, o.limit, log_one, &ls)) < 0) {
        status = cli_fail(error);
        json_decref(ls.array);
        ls.array = NULL;
    }
    if (status == 0 && o.json)
        cli_print_json(ls.array);
    pg_node_free(node);
    return status;
}
