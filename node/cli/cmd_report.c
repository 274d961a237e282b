/*
 * pingan report COLLECTION --by ... and pingan report --publish: counts,
 * amounts and rates over the node's jurisdiction (node/report.c), as a
 * table, JSON or CSV.
 */
#include "cli.h"
#include "csv.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct report_opts {
    const char *by;
    const char *since;
    const char *until;
    const char *date;
    bool csv;
    bool json;
    bool publish;
} report_opts;

static const cli_option report_options[] = {
    {"by", required_argument, 'b', "BY",
     N_("group by division (default), status, category or month")},
    {"since", required_argument, 's', "DATE",
     N_("only records of DATE or later (inclusive)")},
    {"until", required_argument, 'u', "DATE",
     N_("only records before the end of DATE (a whole day: inclusive)")},
    {"csv", no_argument, 'c', NULL,
     N_("print CSV for Excel (UTF-8 with BOM, CRLF)")},
    {"json", no_argument, 'j', NULL, N_("print the report as JSON")},
    {"publish", no_argument, 'p', NULL,
     N_("write this node's daily statistics (daily_stats) instead")},
    {"date", required_argument, 'd', "DATE",
     N_("with --publish: the day to publish (default today, China "
        "Standard Time)")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command report_cmd = {
    "report",
    N_("COLLECTION [--by division|status|category|month] [--since DATE] "
       "[--until DATE] [--csv|--json]\n       pingan report --publish "
       "[--date DATE] [--json]"),
    N_("Count a collection's records in this node's whole jurisdiction, "
       "with a subtotal\nper child division (a county's townships; a "
       "record filed at the node's own\ncode counts under the node) and a "
       "grand total."),
    N_("DATE is YYYY-MM-DD (China Standard Time) or ISO 8601 with an "
       "offset.  --since\nis inclusive; --until DATE includes that whole "
       "day (--since 2026-11-01\n--until 2026-11-30 is November), --until "
       "TIME stops just before it.  A\nrecord's time is its collection's "
       "own date (hazard discovered_at, dispute\naccepted_at, grid_event "
       "occurred_at, key_person enrolled_at, supervision\nissued_at, "
       "volunteer registered_at, fraud_alert issued_at, drill "
       "executed_at)\nwhen set, else when it was created; --by month uses "
       "it.  Categories:\nhazard.category, dispute.dispute_type, "
       "grid_event.category,\nkey_person.category, supervision.kind, "
       "volunteer.team,\nfraud_alert.fraud_type, drill.scenario, "
       "dispute_party.party_role.\n\n"
       "Measures, where they apply:\n"
       "  overdue   deadline passed (at the end of the range, or now) and "
       "not closed\n"
       "  amount    sum of dispute.amount_involved, fraud_alert.loss_amount "
       "(yuan)\n"
       "  dispute mediation success rate: outcome 调解成功（口头协议）,\n"
       "            调解成功（书面协议） or 调解成功并司法确认 among those "
       "with an outcome\n"
       "  hazard, supervision closed-on-time rate: closed_at <= deadline "
       "among the\n            closed ones with a deadline\n"
       "  grid_event closure rate: status 结案 among all; closed-on-time "
       "rate as above\n"
       "  fraud_alert dissuasion rate: outcome 劝阻成功 among those with "
       "an outcome\n"
       "  volunteer points and hours: sums\n"
       "Deleted records are not counted; purged ones are.  Codes retired "
       "by 'pingan\ndivision remap' count under their new code (a "
       "township's villages move with it).\n\n"
       "--publish writes one daily_stats record per (collection, division, "
       "category,\nstatus) for the day: the records existing at the end "
       "of the day, the overdue\nones at that time and the amount; "
       "publishing again updates the same records\nand sets vanished keys "
       "to 0.  They are signed txns that travel up to the city\n(and to a "
       "partner whose agreement names daily_stats).  A node above a\n"
       "collection's cap (a city, for key_person) holds none of its "
       "records: its report\nis read from the latest daily statistics "
       "published by its children, with\ncounts, overdue counts and "
       "amounts but no rates.\n\n"
       "CSV gives rates in percent (empty when there is nothing to rate); its "
       "headings\nare in the language of the messages (LANG); JSON keys "
       "never change.\n\nexample:\n  pingan report dispute --by category "
       "--since 2026-11-01 --until 2026-11-30"),
    report_options};

static int report_handle(int val, const char *arg, void *payload)
{
    report_opts *o = payload;
    switch (val) {
    case 'b':
        return cli_set_once(&o->by, "--by", arg);
    case 's':
        return cli_set_once(&o->since, "--since", arg);
    case 'u':
        return cli_set_once(&o->until, "--until", arg);
    case 'd':
        return cli_set_once(&o->date, "--date", arg);
    case 'c':
        o->csv = true;
        break;
    case 'j':
        o->json = true;
        break;
    case 'p':
        o->publish = true;
        break;
    }
    return 0;
}

static void format_day(char out[16], int64_t ms)
{
    char t[40];
    pg_time_format(t, ms);
    snprintf(out, 16, "%.10s", t);
}

/* ---- columns ------------------------------------------------------------ */

typedef struct column {
    const char *json; /* key in JSON and English heading */
    const char *head; /* heading (translated) */
} column;

#define MAX_COLS 12

static size_t columns(column *c, const pg_report *r)
{
    size_t n = 0;
    c[n++] = (column){"count", CLI_HEADING("report", "count")};
    if (r->measures & PG_REPORT_M_OVERDUE)
        c[n++] = (column){"overdue", CLI_HEADING("report", "overdue")};
    if (r->measures & PG_REPORT_M_AMOUNT)
        c[n++] = (column){"amount", CLI_HEADING("report", "amount (yuan)")};
    if (r->rate_name) {
        const char *h = strcmp(r->rate_name, "mediation_success") == 0
                            ? CLI_HEADING("report", "mediation success rate")
                        : strcmp(r->rate_name, "closure") == 0
                            ? CLI_HEADING("report", "closure rate")
                        : strcmp(r->rate_name, "dissuaded") == 0
                            ? CLI_HEADING("report", "dissuasion rate")
                            : CLI_HEADING("report", "closed on time rate");
        c[n++] = (column){r->rate_name, h};
    }
    if (r->rate2_name)
        c[n++] = (column){r->rate2_name,
                          CLI_HEADING("report", "closed on time rate")};
    if (r->measures & PG_REPORT_M_POINTS) {
        c[n++] = (column){"points", CLI_HEADING("report", "points")};
        c[n++] = (column){"hours", CLI_HEADING("report", "hours")};
    }
    return n;
}

static bool rate_of(const pg_report *r, const char *name,
                    const pg_report_stats *s, int64_t *num, int64_t *den)
{
    if (r->rate_name && strcmp(name, r->rate_name) == 0) {
        *num = s->rate_num;
        *den = s->rate_den;
        return true;
    }
    if (r->rate2_name && strcmp(name, r->rate2_name) == 0) {
        *num = s->rate2_num;
        *den = s->rate2_den;
        return true;
    }
    return false;
}

/* A cell's text: counts, amounts with 2 decimals, rates as percent
 * with their counts ("-" when nothing to rate); for CSV (plain) the
 * percent alone, empty when nothing to rate. */
static void cell_text_as(char *out, size_t cap, const pg_report *r,
                         const column *c, const pg_report_stats *s, bool plain)
{
    int64_t num, den;
    if (strcmp(c->json, "count") == 0)
        snprintf(out, cap, "%" PRId64, s->count);
    else if (strcmp(c->json, "overdue") == 0)
        snprintf(out, cap, "%" PRId64, s->overdue);
    else if (strcmp(c->json, "amount") == 0)
        snprintf(out, cap, "%.2f", s->amount);
    else if (strcmp(c->json, "points") == 0)
        snprintf(out, cap, "%" PRId64, s->points);
    else if (strcmp(c->json, "hours") == 0)
        snprintf(out, cap, "%" PRId64, s->hours);
    else if (rate_of(r, c->json, s, &num, &den) && den > 0 && plain)
        snprintf(out, cap, "%.2f", 100.0 * (double)num / (double)den);
    else if (rate_of(r, c->json, s, &num, &den) && den > 0)
        snprintf(out, cap, "%.2f%% (%" PRId64 "/%" PRId64 ")",
                 100.0 * (double)num / (double)den, num, den);
    else
        snprintf(out, cap, "%s", plain ? "" : "-");
}

static void cell_text(char *out, size_t cap, const pg_report *r,
                      const column *c, const pg_report_stats *s)
{
    cell_text_as(out, cap, r, c, s, false);
}

static json_t *stats_json(const pg_report *r, const column *cols, size_t n,
                          const pg_report_stats *s)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        int64_t num, den;
        const char *k = cols[i].json;
        if (rate_of(r, k, s, &num, &den))
            json_object_set_new(
                o, k,
                json_pack("{s:I, s:I, s:o}", "num", (json_int_t)num, "den",
                          (json_int_t)den, "rate",
                          den > 0 ? json_real((double)num / (double)den)
                                  : json_null()));
        else if (strcmp(k, "amount") == 0)
            json_object_set_new(o, k, json_real(s->amount));
        else
            json_object_set_new(
                o, k,
                json_integer(strcmp(k, "count") == 0     ? s->count
                             : strcmp(k, "overdue") == 0 ? s->overdue
                             : strcmp(k, "points") == 0  ? s->points
                                                         : s->hours));
    }
    return o;
}

static const char *key_heading(const pg_report *r)
{
    switch (r->by) {
    case PG_REPORT_BY_DIVISION:
        return CLI_HEADING("report", "division");
    case PG_REPORT_BY_STATUS:
        return CLI_HEADING("report", "status");
    case PG_REPORT_BY_MONTH:
        return CLI_HEADING("report", "month");
    case PG_REPORT_BY_CATEGORY: {
        const pg_field *f =
            pg_collection_field(r->coll, r->category_field, NULL);
        return cli_i18n_chinese() && f ? f->title : r->category_field;
    }
    }
    return "";
}

static void print_json(const pg_report *r, const pg_report_query *q)
{
    column cols[MAX_COLS];
    size_t n = columns(cols, r);
    char t[40];
    json_t *o = json_object();
    json_object_set_new(o, "collection", json_string(r->coll->name));
    json_object_set_new(o, "by", json_string(pg_report_by_name(r->by)));
    json_object_set_new(o, "node", json_string(r->node_code));
    if (q->since_ms != INT64_MIN)
        pg_time_format(t, q->since_ms);
    json_object_set_new(
        o, "since", q->since_ms != INT64_MIN ? json_string(t) : json_null());
    if (q->until_ms != INT64_MAX)
        pg_time_format(t, q->until_ms);
    json_object_set_new(
        o, "until", q->until_ms != INT64_MAX ? json_string(t) : json_null());
    json_object_set_new(o, "source",
                        json_string(r->from_stats ? "daily_stats" : "records"));
    if (r->from_stats) {
        char day[16];
        format_day(day, r->stats_date_ms);
        json_object_set_new(o, "stat_date", json_string(day));
    }
    json_t *rows = json_array(), *subs = json_array();
    for (size_t i = 0; i < r->ncells; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "group", json_string(r->cells[i].group));
        json_object_set_new(s, "key",
                            r->cells[i].key[0] ? json_string(r->cells[i].key)
                                               : json_null());
        json_object_update_new(s, stats_json(r, cols, n, &r->cells[i].stats));
        json_array_append_new(rows, s);
    }
    for (size_t i = 0; i < r->nsubtotals; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "group", json_string(r->subtotals[i].group));
        json_object_update_new(s,
                               stats_json(r, cols, n, &r->subtotals[i].stats));
        json_array_append_new(subs, s);
    }
    json_object_set_new(o, "rows", rows);
    json_object_set_new(o, "subtotals", subs);
    json_object_set_new(o, "total", stats_json(r, cols, n, &r->total));
    cli_print_json(o);
}

static void print_csv(const pg_report *r)
{
    column cols[MAX_COLS];
    size_t n = columns(cols, r);
    bool zh = cli_i18n_chinese();
    cli_csv csv;
    char text[128];
    cli_csv_begin(&csv, stdout);
    cli_csv_field(&csv, zh ? CLI_HEADING("report", "row type") : "row");
    cli_csv_field(&csv, zh ? CLI_HEADING("report", "jurisdiction") : "group");
    cli_csv_field(&csv, zh ? key_heading(r) : pg_report_by_name(r->by));
    for (size_t i = 0; i < n; i++)
        cli_csv_field(&csv, zh ? cols[i].head : cols[i].json);
    cli_csv_end_row(&csv);
    size_t c = 0;
    for (size_t g = 0; g <= r->nsubtotals; g++) {
        bool total = g == r->nsubtotals;
        for (; !total && c < r->ncells &&
               strcmp(r->cells[c].group, r->subtotals[g].group) == 0;
             c++) {
            cli_csv_field(&csv, zh ? CLI_HEADING("report", "row") : "row");
            cli_csv_field(&csv, r->cells[c].group);
            cli_csv_field(&csv, r->cells[c].key);
            for (size_t i = 0; i < n; i++) {
                cell_text_as(text, sizeof(text), r, &cols[i],
                             &r->cells[c].stats, true);
                cli_csv_field(&csv, text);
            }
            cli_csv_end_row(&csv);
        }
        const pg_report_stats *s = total ? &r->total : &r->subtotals[g].stats;
        cli_csv_field(&csv, !zh     ? (total ? "total" : "subtotal")
                            : total ? CLI_HEADING("report", "total")
                                    : CLI_HEADING("report", "subtotal"));
        cli_csv_field(&csv, total ? "" : r->subtotals[g].group);
        cli_csv_field(&csv, "");
        for (size_t i = 0; i < n; i++) {
            cell_text_as(text, sizeof(text), r, &cols[i], s, true);
            cli_csv_field(&csv, text);
        }
        cli_csv_end_row(&csv);
    }
}

static void print_row(const pg_report *r, const column *cols, size_t n,
                      const size_t *w, const char *group, const char *key,
                      const pg_report_stats *s)
{
    char text[128];
    cli_print_padded(group, w[0]);
    cli_print_padded(key, w[1]);
    for (size_t i = 0; i < n; i++) {
        cell_text(text, sizeof(text), r, &cols[i], s);
        if (i + 1 < n)
            cli_print_padded(text, w[2 + i]);
        else
            fputs(text, stdout);
    }
    putchar('\n');
}

static void print_table(const pg_report *r, const pg_report_query *q,
                        pg_node *node)
{
    column cols[MAX_COLS];
    size_t n = columns(cols, r);
    size_t w[2 + MAX_COLS];
    char text[128], a[40], b[40];
    const char *subtotal = CLI_HEADING("report", "subtotal"),
               *total = CLI_HEADING("report", "total");

    printf(_("%s (%s) in the jurisdiction of %s %s, by %s"), r->coll->name,
           r->coll->title, r->node_code, pg_node_name(node), key_heading(r));
    if (q->since_ms != INT64_MIN || q->until_ms != INT64_MAX) {
        if (q->since_ms != INT64_MIN)
            pg_time_format(a, q->since_ms);
        if (q->until_ms != INT64_MAX)
            pg_time_format(b, q->until_ms);
        printf(_(", from %s until before %s"),
               q->since_ms != INT64_MIN ? a : "-",
               q->until_ms != INT64_MAX ? b : "-");
    }
    putchar('\n');
    if (r->from_stats) {
        char day[16];
        format_day(day, r->stats_date_ms);
        printf(_("from published daily statistics of %s (this node holds "
                 "no %s records; no rates)\n"),
               day, r->coll->name);
    }
    w[0] = cli_text_width(CLI_HEADING("report", "jurisdiction"));
    w[1] = cli_text_width(key_heading(r));
    if (cli_text_width(subtotal) > w[1])
        w[1] = cli_text_width(subtotal);
    if (PG_CODE_LEN > w[0])
        w[0] = PG_CODE_LEN;
    for (size_t i = 0; i < n; i++)
        w[2 + i] = cli_text_width(cols[i].head);
    for (size_t c = 0; c < r->ncells; c++) {
        if (cli_text_width(r->cells[c].key) > w[1])
            w[1] = cli_text_width(r->cells[c].key);
        for (size_t i = 0; i < n; i++) {
            cell_text(text, sizeof(text), r, &cols[i], &r->cells[c].stats);
            if (cli_text_width(text) > w[2 + i])
                w[2 + i] = cli_text_width(text);
        }
    }
    for (size_t i = 0; i < n; i++) {
        cell_text(text, sizeof(text), r, &cols[i], &r->total);
        if (cli_text_width(text) > w[2 + i])
            w[2 + i] = cli_text_width(text);
    }
    cli_print_padded(CLI_HEADING("report", "jurisdiction"), w[0]);
    cli_print_padded(key_heading(r), w[1]);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n)
            cli_print_padded(cols[i].head, w[2 + i]);
        else
            fputs(cols[i].head, stdout);
    }
    putchar('\n');
    size_t c = 0;
    for (size_t g = 0; g < r->nsubtotals; g++) {
        for (; c < r->ncells &&
               strcmp(r->cells[c].group, r->subtotals[g].group) == 0;
             c++)
            print_row(r, cols, n, w, r->cells[c].group,
                      r->cells[c].key[0] ? r->cells[c].key : "-",
                      &r->cells[c].stats);
        print_row(r, cols, n, w, r->subtotals[g].group, subtotal,
                  &r->subtotals[g].stats);
    }
    print_row(r, cols, n, w, total, "", &r->total);
}

static int report_publish(const report_opts *o)
{
    pg_node *node = NULL;
    pg_report_publish_stats st;
    int64_t day = pg_time_now_ms();
    int error, status = 0;

    if (o->date && pg_report_parse_date(&day, o->date, false) < 0)
        return cli_usage(&report_cmd, "%s", pg_error_last()->message);
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_report_publish(&st, node, day, cli_operator())) < 0) {
        status = cli_fail(error);
        goto done;
    }
    char d[16];
    format_day(d, st.stat_date_ms);
    if (o->json)
        cli_print_json(json_pack(
            "{s:s, s:I, s:I, s:I, s:I}", "stat_date", d, "created",
            (json_int_t)st.created, "updated", (json_int_t)st.updated, "zeroed",
            (json_int_t)st.zeroed, "unchanged", (json_int_t)st.unchanged));
    else
        printf(_("published the daily statistics of %s: %zu created, %zu "
                 "updated (%zu set to 0), %zu unchanged\n"),
               d, st.created, st.updated, st.zeroed, st.unchanged);
done:
    pg_node_free(node);
    return status;
}

int cmd_report(int argc, char **argv)
{
    report_opts o = {0};
    pg_report_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX};
    pg_node *node = NULL;
    pg_report *r = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &report_cmd, report_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (o.csv && o.json)
        return cli_usage(&report_cmd, _("give --csv or --json, not both"));
    if (o.publish) {
        if (optind < argc)
            return cli_unexpected(&report_cmd, argv[optind]);
        if (o.by || o.since || o.until || o.csv)
            return cli_usage(&report_cmd,
                             _("--publish takes only --date and --json"));
        return report_publish(&o);
    }
    if (o.date)
        return cli_usage(&report_cmd, _("--date goes with --publish"));
    if (optind >= argc)
        return cli_usage(&report_cmd,
                         _("report needs a COLLECTION (or --publish)"));
    if (argc - optind > 1)
        return cli_unexpected(&report_cmd, argv[optind + 1]);
    q.collection = argv[optind];
    if (!pg_schema_collection(pg_schema_current(), q.collection) ||
        (o.by && pg_report_by_parse(&q.by, o.by) < 0) ||
        (o.since && pg_report_parse_date(&q.since_ms, o.since, false) < 0) ||
        (o.until && pg_report_parse_date(&q.until_ms, o.until, true) < 0)) {
        if (!pg_schema_collection(pg_schema_current(), q.collection)) {
            char ex[PG_EXCERPT_SIZE];
            return cli_usage(
                &report_cmd,
                _("'%s' is not a collection; 'pingan schema' lists them"),
                pg_excerpt(ex, q.collection, strlen(q.collection)));
        }
        return cli_usage(&report_cmd, "%s", pg_error_last()->message);
    }
    if (q.since_ms >= q.until_ms)
        return cli_usage(&report_cmd,
                         _("--since %s is not before --until "
                           "%s: the range is empty"),
                         o.since, o.until);
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_report_run(&r, node, &q)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json)
        print_json(r, &q);
    else if (o.csv)
        print_csv(r);
    else
        print_table(r, &q, node);

done:
    pg_report_free(r);
    pg_node_free(node);
    return status;
}
