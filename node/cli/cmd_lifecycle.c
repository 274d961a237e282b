/*
 * pingan lifecycle show|check and pingan overdue: the lifecycles of the
 * status fields and the deadlines of supervision orders and hazards
 * (include/pingan/lifecycle.h).  Local writes refuse an illegal status
 * step; replicated ones are applied and `lifecycle check` lists them from
 * the log, the same on every node holding the same txns.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lc_opts {
    bool json;
} lc_opts;

static const cli_option json_options[] = {
    {"json", no_argument, 'j', NULL,
     N_("print JSON (keys and values as stored)")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command show_cmd = {
    "lifecycle show", "COLLECTION [--json]",
    N_("Show the lifecycle of a collection's status: the states a new record "
       "may start\nin, and for each state the states allowed next (staying in "
       "a state is always\nallowed).  Local writes follow it; 'pingan "
       "lifecycle check' lists the replicated\nchanges that did not."),
    N_("Collections with a lifecycle: hazard, dispute, grid_event, "
       "supervision,\nvolunteer, fraud_alert, drill.\n\nWith --json: "
       "{\"collection\", \"title\", \"source\", \"initial\": [STATE],\n"
       "\"states\": [{\"state\", \"next\": [STATE], \"final\"}]}."),
    json_options};

static const cli_command check_cmd = {
    "lifecycle check", "[COLLECTION] [--json]",
    N_("List the records whose status history breaks their lifecycle.  Each "
       "record's\nstatus changes in the change-log are walked in version "
       "order (hlc, origin), as\nthe merge orders them; every step the "
       "lifecycle does not allow is listed with\nwho made it (origin node, "
       "operator) and when (China Standard Time).  Such steps\ncome from "
       "other nodes: the merge applies every change (convergence first),\n"
       "while local writes refuse them.  A change resolving a conflict is "
       "not judged.\nEvery node holding the same log lists the same "
       "findings."),
    N_("Exit status: 0 when every history follows its lifecycle, 1 when "
       "there are\nfindings, 2 for bad usage (a collection without a "
       "lifecycle).\n\nWith --json: {\"count\", \"findings\": "
       "[{\"collection\", "
       "\"id\", \"from\", \"to\"\n(null: no status), \"version\", \"origin\", "
       "\"origin_seq\", \"operator\", \"at\",\n\"allowed\": [STATE]}]}."),
    json_options};

static const cli_command overdue_cmd = {
    "overdue", "[--json]",
    N_("List the supervision orders (deadline) and hazards (rectify_deadline) "
       "of this\nnode's jurisdiction that are past their deadline and not in "
       "a final state, most\noverdue first, with how long overdue and the "
       "escalation level: ordinary when\noverdue by less than a day, yellow "
       "card from one day, red card when overdue by\nmore than the whole time "
       "limit it was given (deadline - issued_at, deadline -\ndiscovered_at; "
       "7 days when the start is unknown); never below the level set on\nthe "
       "order.  Levels are shown as stored on orders; times in China Standard "
       "Time."),
    N_("With --json: [{\"collection\", \"id\", \"division\", \"status\", "
       "\"subject\", \"start\",\n\"deadline\", \"overdue_ms\", "
       "\"overdue_days\", \"overdue_hours\", \"limit_ms\", \"level\",\n"
       "\"level_from_record\"}]."),
    json_options};

static int lc_handle(int val, const char *arg, void *payload)
{
    lc_opts *o = payload;
    (void)arg;
    if (val == 'j')
        o->json = true;
    return 0;
}

static const pg_lifecycle *lifecycle_arg(const cli_command *cmd,
                                         const char *name)
{
    const pg_lifecycle *lc = pg_lifecycle_get(name);
    if (!lc) {
        char ex[PG_EXCERPT_SIZE];
        cli_usage(cmd,
                  N_("collection '%s' has no lifecycle; these have one: "
                     "hazard, dispute, grid_event, supervision, volunteer, "
                     "fraud_alert, drill"),
                  pg_excerpt(ex, name, strlen(name)));
    }
    return lc;
}

static json_t *state_array(const char *const *list)
{
    json_t *a = json_array();
    for (size_t i = 0; a && list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static void print_list(const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        printf("%s%s", i ? ", " : "", list[i]);
}

static const char *coll_title(const char *name)
{
    const pg_collection *c = pg_schema_collection(pg_schema_current(), name);
    return c ? c->title : "";
}

static int lifecycle_show(int argc, char **argv)
{
    lc_opts o = {0};
    int rc;

    if ((rc = cli_parse(argc, argv, &show_cmd, lc_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind >= argc)
        return cli_usage(&show_cmd, N_("which collection? give COLLECTION"));
    if (optind + 1 < argc)
        return cli_unexpected(&show_cmd, argv[optind + 1]);
    const pg_lifecycle *lc = lifecycle_arg(&show_cmd, argv[optind]);
    if (!lc)
        return 2;
    if (o.json) {
        json_t *states = json_array();
        for (size_t i = 0; states && i < lc->nstates; i++)
            json_array_append_new(states,
                                  json_pack("{s:s, s:o, s:b}", "state",
                                            lc->states[i].state, "next",
                                            state_array(lc->states[i].next),
                                            "final", lc->states[i].final));
        cli_print_json(
            json_pack("{s:s, s:s, s:s, s:o, s:o}", "collection", lc->collection,
                      "title", coll_title(lc->collection), "source", lc->source,
                      "initial", state_array(lc->initial), "states", states));
        return 0;
    }
    printf("%s %s (%s)\n", lc->collection, coll_title(lc->collection),
           lc->source);
    printf("%s", _("initial: "));
    print_list(lc->initial);
    printf("\n");
    size_t width = 0;
    for (size_t i = 0; i < lc->nstates; i++) {
        size_t w = cli_text_width(lc->states[i].state);
        width = w > width ? w : width;
    }
    for (size_t i = 0; i < lc->nstates; i++) {
        const pg_lifecycle_state *st = &lc->states[i];
        printf("  ");
        cli_print_padded(st->state, width);
        printf("→ ");
        if (st->next[0])
            print_list(st->next);
        else
            printf("-");
        if (st->final)
            printf("  %s", _("(final)"));
        printf("\n");
    }
    return 0;
}

typedef struct check_out {
    bool json;
    json_t *array;
} check_out;

static int on_finding(const pg_lifecycle_finding *f, void *payload)
{
    check_out *c = payload;
    const pg_lifecycle *lc = pg_lifecycle_get(f->collection);
    const pg_lifecycle_state *st = pg_lifecycle_state_get(lc, f->from);
    const char *const *allowed =
        f->from[0] ? (st ? st->next : lc->initial) : lc->initial;
    char version[PG_VERSION_TEXT_MAX], at[40];

    pg_version_format(version, &f->version);
    pg_time_format(at, f->at_ms);
    if (c->json) {
        json_t *o =
            json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:I, s:s, s:s, s:o}",
                      "collection", f->collection, "id", f->record_id, "from",
                      f->from[0] ? json_string(f->from) : json_null(), "to",
                      f->to[0] ? json_string(f->to) : json_null(), "version",
                      version, "origin", f->version.origin, "origin_seq",
                      (json_int_t)f->origin_seq, "operator", f->operator_name,
                      "at", at, "allowed", state_array(allowed));
        if (!o || json_array_append_new(c->array, o) < 0)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        return 0;
    }
    printf("%s %s: %s → %s\n", f->collection, f->record_id,
           f->from[0] ? f->from : _("(none)"), f->to[0] ? f->to : _("(none)"));
    printf(_("  by %s, operator %s, at %s (version %s, seq %llu)\n"),
           f->version.origin, f->operator_name, at, version,
           (unsigned long long)f->origin_seq);
    printf("%s", _("  allowed next: "));
    if (allowed[0])
        print_list(allowed);
    else
        printf("%s", _("none (a final state)"));
    printf("\n");
    return 0;
}

static int lifecycle_check(int argc, char **argv)
{
    lc_opts o = {0};
    pg_node *node = NULL;
    check_out c = {0};
    uint64_t count = 0;
    int rc, error, status;

    if ((rc = cli_parse(argc, argv, &check_cmd, lc_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    const char *collection = optind < argc ? argv[optind] : NULL;
    if (optind + 1 < argc)
        return cli_unexpected(&check_cmd, argv[optind + 1]);
    if (collection && !lifecycle_arg(&check_cmd, collection))
        return 2;
    c.json = o.json;
    if (o.json && !(c.array = json_array()))
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_lifecycle_check(node, collection, on_finding, &c, &count)) <
            0) {
        status = cli_fail(error);
        json_decref(c.array);
        goto done;
    }
    if (o.json)
        cli_print_json(json_pack("{s:I, s:o}", "count", (json_int_t)count,
                                 "findings", c.array));
    else if (count == 0)
        printf("%s\n",
               _("no findings: every status history follows its lifecycle"));
    else
        printf(_("%llu status steps break their lifecycle\n"),
               (unsigned long long)count);
    status = count ? 1 : 0;

done:
    pg_node_free(node);
    return status;
}

static const cli_verb verbs[] = {
    {"show", lifecycle_show, N_("print a collection's lifecycle")},
    {"check", lifecycle_check,
     N_("list status steps of the log that break their lifecycle")},
    {NULL, NULL, NULL},
};

int cmd_lifecycle(int argc, char **argv)
{
    return cli_dispatch(
        "lifecycle",
        N_("Each status field follows its lifecycle: local writes refuse an "
           "illegal step,\nreplicated ones are applied and listed by 'check'."),
        verbs, argc, argv);
}

/* --- overdue ----------------------------------------------------------- */

static void format_overdue(char *out, size_t cap, int64_t ms)
{
    long long hours = (long long)(ms / (3600 * 1000));
    snprintf(out, cap, _("%lld d %lld h"), hours / 24, hours % 24);
}

static json_t *overdue_json(const pg_overdue_item *items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const pg_overdue_item *it = &items[i];
        char start[40], deadline[40];
        long long hours = (long long)(it->overdue_ms / (3600 * 1000));
        if (it->start_ms)
            pg_time_format(start, it->start_ms);
        pg_time_format(deadline, it->deadline_ms);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:s, "
            "s:b}",
            "collection", it->collection, "id", it->record_id, "division",
            it->division, "status",
            it->status[0] ? json_string(it->status) : json_null(), "subject",
            it->subject, "start",
            it->start_ms ? json_string(start) : json_null(), "deadline",
            deadline, "overdue_ms", (json_int_t)it->overdue_ms, "overdue_days",
            (json_int_t)(hours / 24), "overdue_hours", (json_int_t)(hours % 24),
            "limit_ms", (json_int_t)it->limit_ms, "level",
            pg_overdue_level_name(it->level), "level_from_record",
            it->level_from_record);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

enum { OCOLS = 7 };

static void print_overdue(const pg_overdue_item *items, size_t n)
{
    const char *heads[OCOLS] = {_("OVERDUE"), _("LEVEL"),    _("RECORD"),
                                _("STATUS"),  _("DEADLINE"), _("DIVISION"),
                                _("SUBJECT")};
    size_t width[OCOLS];
    char cells[OCOLS][320];

    for (size_t c = 0; c < OCOLS; c++)
        width[c] = cli_text_width(heads[c]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (size_t c = 0; c + 1 < OCOLS; c++)
                cli_print_padded(heads[c], width[c]);
            printf("%s\n", heads[OCOLS - 1]);
        }
        for (size_t i = 0; i < n; i++) {
            const pg_overdue_item *it = &items[i];
            format_overdue(cells[0], sizeof(cells[0]), it->overdue_ms);
            snprintf(cells[1], sizeof(cells[1]), "%s",
                     pg_overdue_level_name(it->level));
            snprintf(cells[2], sizeof(cells[2]), "%s %s", it->collection,
                     it->record_id);
            snprintf(cells[3], sizeof(cells[3]), "%s",
                     it->status[0] ? it->status : "-");
            pg_time_format(cells[4], it->deadline_ms);
            snprintf(cells[5], sizeof(cells[5]), "%s", it->division);
            snprintf(cells[6], sizeof(cells[6]), "%s",
                     it->subject[0] ? it->subject : "-");
            for (size_t c = 0; c < OCOLS; c++) {
                size_t w = cli_text_width(cells[c]);
                if (pass == 0)
                    width[c] = w > width[c] ? w : width[c];
                else if (c + 1 < OCOLS)
                    cli_print_padded(cells[c], width[c]);
                else
                    printf("%s\n", cells[c]);
            }
        }
    }
}

int cmd_overdue(int argc, char **argv)
{
    lc_opts o = {0};
    pg_node *node = NULL;
    pg_overdue_item *items = NULL;
    size_t n = 0;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &overdue_cmd, lc_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&overdue_cmd, argv[optind]);
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_overdue_list(&items, &n, node, pg_time_now_ms())) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        json_t *j = overdue_json(items, n);
        if (!j) {
            status = cli_fail(
                pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
            goto done;
        }
        cli_print_json(j);
    } else if (n == 0) {
        printf("%s\n", _("nothing is overdue"));
    } else {
        print_overdue(items, n);
        printf(_("%zu overdue\n"), n);
    }

done:
    free(items);
    pg_node_free(node);
    return status;
}
