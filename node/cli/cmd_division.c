/*
 * pingan division remap|list|show: record that a division code was
 * retired and which code replaces it, list the remaps known here, and say
 * what a code resolves to and why.  The rules live in the library
 * (node/remap.c, pingan/remap.h); this file parses and prints.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/remap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct division_opts {
    const char *name;
    const char *reason;
    const char *effective;
    const char *document_no;
    bool correct;
    bool json;
} division_opts;

static const cli_option remap_options[] = {
    {"name", required_argument, 'n', "NAME",
     N_("the name under the new code (e.g. 鹤岭街道)")},
    {"reason", required_argument, 'r', "REASON",
     N_("撤并 (merged), 更名 (renamed), 撤乡设镇, 撤镇设街道, 代码调整 or "
        "其他")},
    {"effective", required_argument, 'e', "DATE",
     N_("when it takes effect: YYYY-MM-DD (00:00 China time) or an ISO 8601\n"
        "time (default: now)")},
    {"document-no", required_argument, 'd', "NO",
     N_("the approving document's number (批准文号)")},
    {"correct", no_argument, 'c', NULL,
     N_("replace a remap of OLD this node issued before (the new one takes\n"
        "effect later)")},
    {"json", no_argument, 'j', NULL, N_("print the remap as JSON")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option list_options[] = {
    {"json", no_argument, 'j', NULL, N_("print the remaps as a JSON array")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option show_options[] = {
    {"json", no_argument, 'j', NULL,
     N_("print the resolution as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command remap_cmd = {
    "division remap",
    ("OLD NEW [--name NAME] [--reason REASON] [--effective DATE] "
     "[--document-no NO] [--correct] [--json]"),
    N_("Record that division code OLD is retired and NEW replaces it (merged "
       "villages,\na town turned subdistrict).  Records keep the code they "
       "were written with; they\nare reported and routed under the new one "
       "on every node the remap reaches.\nA township's remap covers the "
       "villages under it."),
    N_("The remap is a signed record of the system collection "
       "division_remap, filed\nunder this node's code: it travels with the "
       "next export up to the parent and\ndown to every child.  Both codes "
       "are 12 digits, of one tier, inside this\nnode's jurisdiction and "
       "neither this node's own code nor an ancestor's.  A\ncode is remapped "
       "once; a remap this node issued is corrected with --correct\nand a "
       "later --effective.  A peer whose code is retired keeps its card,\n"
       "cursors and history: 'pingan peer list' shows its new code.\n\n"
       "example:\n  pingan division remap 430302100000 430302009000 --name "
       "鹤岭街道 \\\n      --reason 撤镇设街道 --effective 2023-06-30"),
    remap_options};
static const cli_command list_cmd = {
    "division list", "[--json]",
    N_("List the division remaps known here: the retired code, the new one, "
       "its name,\nthe reason, when it takes effect and who issued it."),
    NULL, list_options};
static const cli_command show_cmd = {
    "division show", "CODE [--json]",
    N_("Show what CODE resolves to by the remaps known here, and which "
       "remaps led\nthere (a chain is followed; a township's remap covers "
       "its villages)."),
    NULL, show_options};

static int division_handle(int val, const char *arg, void *payload)
{
    division_opts *o = payload;

    switch (val) {
    case 'n':
        return cli_set_once(&o->name, "--name", arg);
    case 'r':
        return cli_set_once(&o->reason, "--reason", arg);
    case 'e':
        return cli_set_once(&o->effective, "--effective", arg);
    case 'd':
        return cli_set_once(&o->document_no, "--document-no", arg);
    case 'c':
        o->correct = true;
        return 0;
    case 'j':
        o->json = true;
        return 0;
    default:
        return 0;
    }
}

/* Copy an option into a fixed field; -1 with a message when too long. */
static int copy_opt(char *out, size_t cap, const char *name, const char *arg)
{
    if (!arg)
        return 0;
    if (strlen(arg) >= cap) {
        fprintf(stderr, _("pingan: %s is longer than %zu bytes\n"), name,
                cap - 1);
        return -1;
    }
    memcpy(out, arg, strlen(arg) + 1);
    return 0;
}

/* YYYY-MM-DD (00:00 China Standard Time) or what pg_time_parse takes. */
static int parse_effective(int64_t *out, const char *arg)
{
    unsigned y, m, d;
    char tail;
    if (strlen(arg) == 10 &&
        sscanf(arg, "%4u-%2u-%2u%c", &y, &m, &d, &tail) == 3 && m >= 1 &&
        m <= 12 && d >= 1 && d <= 31 && y >= 1970) {
        *out = pg_days_from_civil(y, m, d) * 86400000 - 8 * 3600000;
        return 0;
    }
    if (pg_time_parse(out, arg) == 0 && *out > 0)
        return 0;
    pg_error_clear();
    char ex[PG_EXCERPT_SIZE];
    fprintf(stderr,
            _("pingan: --effective '%s' is not a date; give YYYY-MM-DD or "
              "an ISO 8601 time such as 2023-06-30T00:00:00+08:00\n"),
            pg_excerpt(ex, arg, strlen(arg)));
    return -1;
}

static json_t *remap_json(const pg_remap *r)
{
    char when[40] = "";
    if (r->effective_at)
        pg_time_format(when, r->effective_at);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", r->id, "issuer",
        r->issuer, "old_code", r->old_code, "new_code", r->new_code, "new_name",
        r->new_name[0] ? json_string(r->new_name) : json_null(), "reason",
        r->reason[0] ? json_string(r->reason) : json_null(), "effective_at",
        when[0] ? json_string(when) : json_null(), "document_no",
        r->document_no[0] ? json_string(r->document_no) : json_null());
}

static int division_remap(int argc, char **argv)
{
    division_opts o = {0};
    pg_remap r;
    pg_node *node = NULL;
    int rc, error;

    memset(&r, 0, sizeof(r));
    if ((rc = cli_parse(argc, argv, &remap_cmd, division_handle, &o)) != 0)
        return rc < 0 ? 2 : 0;
    if (argc - optind < 2)
        return cli_usage(&remap_cmd, _("give the retired code OLD and the "
                                       "code NEW that replaces it"));
    if (argc - optind > 2)
        return cli_unexpected(&remap_cmd, argv[optind + 2]);
    if (copy_opt(r.old_code, sizeof(r.old_code), "OLD", argv[optind]) < 0 ||
        copy_opt(r.new_code, sizeof(r.new_code), "NEW", argv[optind + 1]) < 0 ||
        copy_opt(r.new_name, sizeof(r.new_name), "--name", o.name) < 0 ||
        copy_opt(r.reason, sizeof(r.reason), "--reason", o.reason) < 0 ||
        copy_opt(r.document_no, sizeof(r.document_no), "--document-no",
                 o.document_no) < 0)
        return 2;
    if (o.effective && parse_effective(&r.effective_at, o.effective) < 0)
        return 2;
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if ((error = pg_remap_put(node, &r, o.correct)) < 0) {
        rc = cli_fail(error);
        goto done;
    }
    rc = 0;
    if (o.json) {
        cli_print_json(remap_json(&r));
        goto done;
    }
    printf(_("remapped %s -> %s%s%s (record %s, filed under %s)\n"), r.old_code,
           r.new_code, r.new_name[0] ? " " : "", r.new_name, r.id, r.issuer);
    printf(_("next: export to the parent and the children so that the remap "
             "reaches them\n"));
done:
    pg_node_free(node);
    return rc;
}

static int list_one(const pg_remap *r, void *payload)
{
    json_t *o = remap_json(r);
    if (!o || json_array_append_new(payload, o) < 0)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    return 0;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static void print_table(json_t *rows)
{
    static const char *const cols[] = {"old_code", "new_code",     "new_name",
                                       "reason",   "effective_at", "issuer"};
    static const char *const heads[] = {N_("OLD"),       N_("NEW"),
                                        N_("NEW NAME"),  N_("REASON"),
                                        N_("EFFECTIVE"), N_("ISSUER")};
    enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
    size_t width[NCOLS], i;
    json_t *p;

    for (size_t c = 0; c < NCOLS; c++) {
        width[c] = cli_text_width(_(heads[c]));
        json_array_foreach(rows, i, p)
        {
            size_t w = cli_text_width(jstr(p, cols[c]));
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < NCOLS; c++)
        cli_print_padded(_(heads[c]), width[c]);
    printf("%s\n", _("DOCUMENT"));
    json_array_foreach(rows, i, p)
    {
        for (size_t c = 0; c < NCOLS; c++)
            cli_print_padded(jstr(p, cols[c]), width[c]);
        printf("%s\n", jstr(p, "document_no"));
    }
}

static int division_list(int argc, char **argv)
{
    division_opts o = {0};
    pg_node *node = NULL;
    json_t *rows = NULL;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &list_cmd, division_handle, &o)) != 0)
        return rc < 0 ? 2 : 0;
    if (optind < argc)
        return cli_unexpected(&list_cmd, argv[optind]);
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if (!(rows = json_array())) {
        pg_node_free(node);
        return cli_fail(PG_ENOMEM);
    }
    if ((error = pg_remap_list(node, list_one, rows)) < 0) {
        rc = cli_fail(error);
        goto done;
    }
    rc = 0;
    if (o.json) {
        cli_print_json(rows);
        rows = NULL;
    } else if (json_array_size(rows) == 0) {
        printf(_("no division remaps known here\n"));
    } else {
        print_table(rows);
    }
done:
    json_decref(rows);
    pg_node_free(node);
    return rc;
}

static int division_show(int argc, char **argv)
{
    division_opts o = {0};
    pg_node *node = NULL;
    pg_resolution *res = NULL;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &show_cmd, division_handle, &o)) != 0)
        return rc < 0 ? 2 : 0;
    if (argc - optind < 1)
        return cli_usage(&show_cmd, _("give the CODE to resolve"));
    if (argc - optind > 1)
        return cli_unexpected(&show_cmd, argv[optind + 1]);
    if (!(res = malloc(sizeof(*res))))
        return cli_fail(PG_ENOMEM);
    if ((error = cli_open_node(&node)) < 0) {
        free(res);
        return cli_fail(error);
    }
    const char *code = argv[optind];
    if ((error = pg_division_explain(node, code, res)) < 0) {
        rc = cli_fail(error);
        goto done;
    }
    rc = 0;
    if (o.json) {
        json_t *steps = json_array();
        for (size_t i = 0; steps && i < res->nsteps; i++)
            json_array_append_new(steps, remap_json(&res->steps[i]));
        cli_print_json(json_pack("{s:s, s:s, s:b, s:o}", "code", code,
                                 "resolved", res->code, "cycle", res->cycle,
                                 "steps", steps ? steps : json_null()));
        goto done;
    }
    if (res->cycle)
        printf(_("%s: the remaps covering it form a cycle; it stands as "
                 "stored\n"),
               code);
    else if (res->nsteps == 0)
        printf(_("%s is not remapped here\n"), code);
    else
        printf(_("%s resolves to %s\n"), code, res->code);
    for (size_t i = 0; i < res->nsteps; i++) {
        const pg_remap *r = &res->steps[i];
        char when[40] = "-";
        if (r->effective_at)
            pg_time_format(when, r->effective_at);
        printf(_("  %s -> %s %s (%s; issued by %s, effective %s, document "
                 "%s, record %s)\n"),
               r->old_code, r->new_code, r->new_name[0] ? r->new_name : "-",
               r->reason[0] ? r->reason : "-", r->issuer, when,
               r->document_no[0] ? r->document_no : "-", r->id);
    }
done:
    free(res);
    pg_node_free(node);
    return rc;
}

static const cli_verb verbs[] = {
    {"remap", division_remap, N_("record that a division code was retired")},
    {"list", division_list, N_("list the division remaps known here")},
    {"show", division_show, N_("what a code resolves to, and why")},
    {NULL, NULL, NULL},
};

int cmd_division(int argc, char **argv)
{
    return cli_dispatch(
        "division",
        N_("Division codes change every year (merged villages, townships "
           "turned into\nsubdistricts).  A remap records a retired code and "
           "its replacement, so that\nrecords under the old code are "
           "reported and routed under the new one."),
        verbs, argc, argv);
}
