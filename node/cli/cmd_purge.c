/* pingan purge COLLECTION (--id ID | --before DATE) [--basis TEXT]
 *              [--dry-run] [--json] */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/purge.h"
#include "pingan/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct purge_opts {
    const char *id;
    const char *before;
    const char *basis;
    bool dry_run;
    bool json;
} purge_opts;

static const cli_option purge_options[] = {
    {"id", required_argument, 'i', "ID", N_("purge the record ID")},
    {"before", required_argument, 'b', "DATE",
     N_("purge the records whose lifecycle ended before DATE (YYYY-MM-DD, "
        "00:00 +08:00, or an ISO 8601 time)")},
    {"basis", required_argument, 'B', "TEXT",
     N_("the legal basis the purge names (default: "
        "个人信息保护法第四十七条)")},
    {"dry-run", no_argument, 'n', NULL,
     N_("list what would be purged; change nothing")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command purge_cmd = {
    "purge",
    N_("COLLECTION (--id ID | --before DATE) [--basis TEXT] "
       "[--dry-run] [--json]"),
    N_("Erase the personal and sensitive values of records no longer needed "
       "(PIPL\nArt. 47), everywhere this node stores them, and send the purge "
       "along the\nrecords' path so every copy is purged."),
    N_("Each value is replaced by its commitment: every origin signature "
       "still\nverifies ('pingan log' shows them), and the other fields "
       "(division, status,\ndates) stay, so reports still count the records.  "
       "With --before, a record's\nlifecycle ended at its closed_at "
       "(removed_at for key_person, handled_at for\nfraud_alert, its "
       "dispute's closed_at for a dispute party) or, for a deleted\nrecord, "
       "when it was deleted; open cases are never purged by date.  Purging a\n"
       "dispute purges its parties too.  Afterwards the store's files are "
       "rewritten\n(write-ahead log truncated, VACUUM) so they no longer hold "
       "the values.\nOut of reach: bundle files already written and backups "
       "taken before the\npurge."),
    purge_options};

static int purge_handle(int val, const char *arg, void *payload)
{
    purge_opts *o = payload;

    switch (val) {
    case 'i':
        return cli_set_once(&o->id, "--id", arg);
    case 'b':
        return cli_set_once(&o->before, "--before", arg);
    case 'B':
        return cli_set_once(&o->basis, "--basis", arg);
    case 'n':
        o->dry_run = true;
        return 0;
    case 'j':
        o->json = true;
        return 0;
    }
    return 0;
}

/* YYYY-MM-DD (00:00 China Standard Time) or what pg_time_parse takes. */
static int parse_date(int64_t *ms, const char *s)
{
    char iso[40];
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
        strspn(s, "0123456789-") == 10) {
        snprintf(iso, sizeof(iso), "%sT00:00:00+08:00", s);
        s = iso;
    }
    int error = pg_time_parse(ms, s);
    pg_error_clear();
    return error;
}

typedef struct purge_state {
    bool json;
    bool dry_run;
    bool heading;
    json_t *records;
} purge_state;

static int purge_one(const pg_purge_target *t, void *payload)
{
    purge_state *ps = payload;
    char when[40] = "";

    if (t->ended_ms > 0)
        pg_time_format(when, t->ended_ms);
    if (!ps->json && !ps->heading) {
        /* Once a target is known: a refusal prints nothing on stdout. */
        cli_print_padded(_("record to purge"), 39);
        cli_print_padded(_("its collection"), 13);
        cli_print_padded(_("its division"), 12);
        cli_print_padded(_("lifecycle ended (+08:00)"), 29);
        printf("%s\n", _("personal values"));
        ps->heading = true;
    }
    if (ps->json) {
        json_array_append_new(
            ps->records,
            json_pack("{s:s, s:s, s:s, s:o, s:I}", "record_id", t->record_id,
                      "collection", t->collection, "division", t->division,
                      "ended_at", when[0] ? json_string(when) : json_null(),
                      "values", (json_int_t)t->values));
        return 0;
    }
    printf("%-39s  %-13s %s  %-29s  %zu\n", t->record_id, t->collection,
           t->division, when[0] ? when : _("(open)"), t->values);
    return 0;
}

int cmd_purge(int argc, char **argv)
{
    purge_opts o = {0};
    purge_state ps = {0};
    pg_purge_request req = {0};
    pg_purge_result res;
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &purge_cmd, purge_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind >= argc)
        return cli_usage(&purge_cmd, "%s", _("name the collection to purge"));
    if (optind + 1 < argc)
        return cli_unexpected(&purge_cmd, argv[optind + 1]);
    if (!o.id == !o.before)
        return cli_usage(&purge_cmd, "%s",
                         _("give either --id or --before, not both"));
    req.collection = argv[optind];
    req.id = o.id;
    req.basis = o.basis;
    req.dry_run = o.dry_run;
    req.operator_name = cli_operator();
    if (o.before && parse_date(&req.before_ms, o.before) < 0)
        return cli_usage(&purge_cmd,
                         _("--before takes a date (YYYY-MM-DD) or an ISO 8601 "
                           "time, not '%s'"),
                         o.before);
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    ps.json = o.json;
    ps.dry_run = o.dry_run;
    ps.records = json_array();
    error = pg_purge_run(node, &req, purge_one, &ps, &res);
    if (error < 0) {
        status = cli_fail(error);
        json_decref(ps.records);
        pg_node_free(node);
        return status;
    }
    if (o.json) {
        json_t *j = json_pack(
            "{s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:I, s:b}", "collection",
            req.collection, "dry_run", o.dry_run, "records", ps.records,
            "purged", (json_int_t)(o.dry_run ? 0 : res.records), "values",
            (json_int_t)res.values, "txns", (json_int_t)res.txns, "held",
            (json_int_t)res.held, "purge_txns", (json_int_t)res.purge_txns,
            "wiped", res.wiped);
        cli_print_json(j);
    } else if (o.dry_run) {
        json_decref(ps.records);
        printf(_("would purge %zu records (%zu values); nothing was "
                 "changed\n"),
               res.records, res.values);
    } else {
        json_decref(ps.records);
        printf(_("purged %zu records: %zu values erased, %zu logged txns and "
                 "%zu held txns rewritten, %zu purge txns written\n"),
               res.records, res.values, res.txns, res.held, res.purge_txns);
    }
    if (!o.dry_run && res.records && !res.wiped)
        fprintf(stderr, "pingan: %s\n",
                _("another process kept the write-ahead log from being "
                  "truncated: run 'pingan purge' again, or stop 'pingan "
                  "serve' for a moment, to overwrite it"));
    pg_node_free(node);
    return status;
}
