/*
 * pingan status [--json]: who is behind, at a glance (DESIGN §9).  The
 * queries live in the library (sync/status.c, include/pingan/status.h);
 * this file prints them.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/recovery.h"
#include "pingan/error.h"
#include "pingan/status.h"

#include <stdio.h>
#include <string.h>

typedef struct status_opts {
    bool json;
} status_opts;

static const cli_option status_options[] = {
    {"json", no_argument, 'j', NULL, N_("print one JSON object")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command status_cmd = {
    "status", N_("[--json]"),
    N_("Show this node and who is behind: for each peer, the last successful "
       "exchange,\nhow many txns of this node's log it has not been sent "
       "(UNSENT) or has not\nacknowledged (UNACKED), and the part of its log "
       "known to be missing here (GAP);\nthen open conflicts, txns "
       "quarantined in the last 24 hours by reason (and the\nlatest "
       "equivocations, with the digest kept and the one quarantined), input\n"
       "refused as a whole (bundles, HTTP requests) in the last 24 hours, "
       "clocks\nmore than a minute off, and pending txns (waiting for a "
       "signer's key or for\nthe clock)."),
    N_("UNSENT and UNACKED count what the link would carry, as 'pingan export "
       "--dry-run'\nwould: 'pingan export --to CODE' sends the unsent, "
       "'--resend' the unacknowledged.\nA GAP is filled by 'pingan export "
       "--resend' on that peer.\n\nWith --json: {\"node\": {\"code\", "
       "\"name\", "
       "\"tier\", \"key_id\", \"log_entries\",\n\"log_last_seq\", "
       "\"schema_version\"}, \"peers\": [{\"code\", \"name\", \"role\", "
       "\"url\"\n(null: files only), \"last_sync\" (null: never), \"unsent\", "
       "\"unacked\" (null when\nthe link cannot be planned, with \"problem\"), "
       "\"gap\": [first, last] or null,\n\"clock_skew_ms\" (its clock minus "
       "this one's, last seen over HTTP; null:\nnever)}], \"conflicts_open\", "
       "\"quarantined_last_day\": {\"total\",\n\"by_reason\": {PREFIX: N}, "
       "\"equivocations\": [{\"origin\", \"origin_seq\", \"peer\",\n"
       "\"digest\" (quarantined), \"other_digest\" (kept), \"received\"}]}, "
       "\"rejected_last_day\": {\"total\", \"by_source\":\n{SOURCE: N}, "
       "\"last\"},\n"
       "\"pending\": {\"total\", \"signer_unknown\", \"clock_skew\", "
       "\"max_ahead_min\",\n\"oldest_received\" (null: none)}, \"overdue\" "
       "(supervision orders and\nhazards past their deadline, 'pingan "
       "overdue')}."),
    status_options};

static int status_handle(int val, const char *arg, void *payload)
{
    status_opts *o = payload;
    (void)arg;
    if (val == 'j')
        o->json = true;
    return 0;
}

static json_t *time_or_null(int64_t ms)
{
    char text[40];
    if (!ms)
        return json_null();
    pg_time_format(text, ms);
    return json_string(text);
}

static json_t *count_or_null(int64_t n)
{
    return n < 0 ? json_null() : json_integer((json_int_t)n);
}

static json_t *status_json(const pg_status *s)
{
    json_t *peers = json_array(), *reasons = json_object();
    json_t *node = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "code", s->code, "name", s->name,
        "tier", pg_tier_name(s->tier), "key_id", s->key_id, "log_entries",
        (json_int_t)s->log_entries, "log_last_seq", (json_int_t)s->log_last_seq,
        "schema_version", (json_int_t)s->schema_version);
    /* The newest this build knows: a node below it can be upgraded. */
    json_object_set_new(node, "schema_newest", json_integer(PG_SCHEMA_VERSION));

    for (size_t i = 0; peers && i < s->npeers; i++) {
        const pg_status_peer *sp = &s->peers[i];
        const pg_peer *p = &sp->peer;
        json_t *gap = p->gap_first
                          ? json_pack("[I, I]", (json_int_t)p->gap_first,
                                      (json_int_t)p->gap_last)
                          : json_null();
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "code", p->code, "name",
            p->name, "role", pg_peer_role_name(p->role), "url",
            p->url[0] ? json_string(p->url) : json_null(), "last_sync",
            time_or_null(p->last_sync_ms), "unsent", count_or_null(sp->unsent),
            "unacked", count_or_null(sp->unacked), "gap", gap);
        if (o && sp->problem[0])
            json_object_set_new(o, "problem", json_string(sp->problem));
        if (o)
            json_object_set_new(o, "clock_skew_ms",
                                sp->skew_seen_ms
                                    ? json_integer((json_int_t)sp->skew_ms)
                                    : json_null());
        if (!o || json_array_append_new(peers, o) < 0) {
            json_decref(peers);
            peers = NULL;
        }
    }
    for (size_t i = 0; reasons && i < s->nreasons; i++)
        if (json_object_set_new(reasons, s->reasons[i].reason,
                                json_integer((json_int_t)s->reasons[i].count)) <
            0) {
            json_decref(reasons);
            reasons = NULL;
        }
    json_t *sources = json_object();
    for (size_t i = 0; sources && i < s->nrejected; i++)
        if (json_object_set_new(
                sources, s->rejected[i].reason,
                json_integer((json_int_t)s->rejected[i].count)) < 0) {
            json_decref(sources);
            sources = NULL;
        }
    json_t *equiv = json_array();
    for (size_t i = 0; equiv && i < s->nequivocations; i++) {
        const pg_quarantined *q = &s->equivocations[i];
        json_t *o = json_pack(
            "{s:s, s:I, s:s, s:s, s:o, s:o}", "origin", q->origin, "origin_seq",
            (json_int_t)q->origin_seq, "peer", q->peer, "digest", q->digest,
            "other_digest",
            q->other_digest[0] ? json_string(q->other_digest) : json_null(),
            "received", time_or_null(q->received_ms));
        if (!o || json_array_append_new(equiv, o) < 0) {
            json_decref(equiv);
            equiv = NULL;
        }
    }
    if (!node || !peers || !reasons || !sources || !equiv) {
        json_decref(node);
        json_decref(peers);
        json_decref(reasons);
        json_decref(sources);
        json_decref(equiv);
        return NULL;
    }
    return json_pack(
        "{s:o, s:o, s:I, s:{s:I, s:o, s:o}, s:{s:I, s:o, s:o}, "
        "s:{s:I, s:I, s:I, s:I, s:o}, s:{s:I, s:s, s:I, s:o}}",
        "node", node, "peers", peers, "conflicts_open",
        (json_int_t)s->conflicts_open, "quarantined_last_day", "total",
        (json_int_t)s->quarantined_recent, "by_reason", reasons,
        "equivocations", equiv, "rejected_last_day", "total",
        (json_int_t)s->rejected_recent, "by_source", sources, "last",
        s->rejected_last[0] ? json_string(s->rejected_last) : json_null(),
        "pending", "total", (json_int_t)s->pending_total, "signer_unknown",
        (json_int_t)s->pending_signer, "clock_skew",
        (json_int_t)s->pending_clock_skew, "max_ahead_min",
        (json_int_t)s->pending_max_ahead_min, "oldest_received",
        time_or_null(s->pending_oldest_ms), "audit", "seq",
        (json_int_t)s->audit_seq, "hash", s->audit_hash, "parent_seen_seq",
        (json_int_t)s->audit_parent_seq, "parent",
        s->audit_parent[0] ? json_string(s->audit_parent) : json_null());
}

enum { NCOLS = 8 };

static void print_peers(const pg_status *s)
{
    static const char *const heads_en[NCOLS] = {
        N_("CODE"),      N_("NAME"),   N_("ROLE"),    N_("URL"),
        N_("LAST SYNC"), N_("UNSENT"), N_("UNACKED"), N_("GAP")};
    const char *heads[NCOLS];
    char cells[NCOLS][PG_PEER_URL_MAX + 1];
    size_t width[NCOLS];

    for (size_t c = 0; c < NCOLS; c++) {
        heads[c] = _(heads_en[c]);
        width[c] = cli_text_width(heads[c]);
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (size_t c = 0; c < NCOLS; c++) {
                if (c + 1 < NCOLS)
                    cli_print_padded(heads[c], width[c]);
                else
                    fputs(heads[c], stdout);
            }
            fputc('\n', stdout);
        }
        for (size_t i = 0; i < s->npeers; i++) {
            const pg_status_peer *sp = &s->peers[i];
            const pg_peer *p = &sp->peer;
            snprintf(cells[0], sizeof(cells[0]), "%s", p->code);
            snprintf(cells[1], sizeof(cells[1]), "%s", p->name);
            snprintf(cells[2], sizeof(cells[2]), "%s", cli_role_label(p->role));
            snprintf(cells[3], sizeof(cells[3]), "%s",
                     p->url[0] ? p->url : _("files only"));
            if (p->last_sync_ms)
                pg_time_format(cells[4], p->last_sync_ms);
            else
                snprintf(cells[4], sizeof(cells[4]), "%s", _("never"));
            snprintf(cells[5], sizeof(cells[5]), sp->unsent < 0 ? "?" : "%lld",
                     (long long)sp->unsent);
            snprintf(cells[6], sizeof(cells[6]), sp->unacked < 0 ? "?" : "%lld",
                     (long long)sp->unacked);
            if (p->gap_first)
                snprintf(cells[7], sizeof(cells[7]), "%lld-%lld",
                         (long long)p->gap_first, (long long)p->gap_last);
            else
                snprintf(cells[7], sizeof(cells[7]), "-");
            for (size_t c = 0; c < NCOLS; c++) {
                size_t w = cli_text_width(cells[c]);
                if (pass == 0) {
                    if (w > width[c])
                        width[c] = w;
                } else if (c + 1 < NCOLS) {
                    cli_print_padded(cells[c], width[c]);
                } else {
                    fputs(cells[c], stdout);
                }
            }
            if (pass == 1) {
                fputc('\n', stdout);
                if (sp->problem[0])
                    printf("  (%s: %s)\n", p->code, sp->problem);
            }
        }
    }
}

static void print_status(const pg_status *s)
{
    printf(_("node         %s %s (%s), key %s\n"), s->code, s->name,
           cli_tier_label(s->tier), s->key_id);
    printf(_("log          %llu entries, last seq %llu; schema version %u\n"),
           (unsigned long long)s->log_entries,
           (unsigned long long)s->log_last_seq, s->schema_version);
    if (s->schema_version < PG_SCHEMA_VERSION)
        printf(_("schema       this build knows version %d: 'pingan schema "
                 "upgrade' moves the node to it\n"),
               PG_SCHEMA_VERSION);

    printf("\n");
    if (s->npeers == 0)
        printf("%s", _("peers        none ('pingan peer add' pins one)\n"));
    else
        print_peers(s);

    printf(_("\nconflicts    %llu open%s\n"),
           (unsigned long long)s->conflicts_open,
           s->conflicts_open ? _(" ('pingan conflicts list')") : "");
    printf(_("overdue      %llu past their deadline%s\n"),
           (unsigned long long)s->overdue,
           s->overdue ? _(" ('pingan overdue')") : "");
    printf(_("quarantined  %llu in the last 24 h%s\n"),
           (unsigned long long)s->quarantined_recent,
           s->quarantined_recent ? _(" ('pingan quarantine list'):") : "");
    for (size_t i = 0; i < s->nreasons; i++)
        printf("  %6llu  %s\n", (unsigned long long)s->reasons[i].count,
               s->reasons[i].reason);
    for (size_t i = 0; i < s->nequivocations; i++) {
        const pg_quarantined *q = &s->equivocations[i];
        printf(_("  equivocation: %s seq %llu (from %s)\n"), q->origin,
               (unsigned long long)q->origin_seq, q->peer);
        printf(_("    kept         %s\n"),
               q->other_digest[0] ? q->other_digest : _("(gone)"));
        printf(_("    quarantined  %s\n"), q->digest);
    }
    printf(_("rejected     %llu in the last 24 h"),
           (unsigned long long)s->rejected_recent);
    for (size_t i = 0; i < s->nrejected; i++)
        printf("%s%llu %s", i ? ", " : ": ",
               (unsigned long long)s->rejected[i].count, s->rejected[i].reason);
    if (s->rejected_last[0])
        printf(_("\n  latest: %s"), s->rejected_last);
    printf("\n");
    for (size_t i = 0; i < s->npeers; i++) {
        const pg_status_peer *sp = &s->peers[i];
        if (sp->skew_seen_ms && (sp->skew_ms > 60000 || sp->skew_ms < -60000))
            printf(_("clock        %s is %+lld s from this node's clock\n"),
                   sp->peer.code, (long long)(sp->skew_ms / 1000));
    }
    printf(_("pending      %llu"), (unsigned long long)s->pending_total);
    if (s->pending_total) {
        char oldest[40];
        pg_time_format(oldest, s->pending_oldest_ms);
        printf(_(": %llu waiting for a signer's key, %llu for the clock"),
               (unsigned long long)s->pending_signer,
               (unsigned long long)s->pending_clock_skew);
        if (s->pending_clock_skew)
            printf(_(" (up to %lld min ahead)"),
                   (long long)s->pending_max_ahead_min);
        printf(_("; oldest received %s (%lld min ago)"), oldest,
               (long long)((s->now_ms - s->pending_oldest_ms) / 60000));
    }
    printf("\n");
    printf(_("audit        head seq %lld"), (long long)s->audit_seq);
    if (s->audit_parent_seq <= 0)
        printf("%s", _("; no parent has confirmed a head yet\n"));
    else if (s->audit_parent_seq >= s->audit_seq)
        printf(_("; seen by parent %s\n"), s->audit_parent);
    else
        printf(_("; parent %s has seen up to seq %lld\n"), s->audit_parent,
               (long long)s->audit_parent_seq);
}

int cmd_status(int argc, char **argv)
{
    status_opts o = {0};
    pg_node *node = NULL;
    pg_status s;
    int rc, error, status = 0;

    memset(&s, 0, sizeof(s));
    if ((rc = cli_parse(argc, argv, &status_cmd, status_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&status_cmd, argv[optind]);
    if ((error = cli_open_node(&node)) < 0 ||
        (error = pg_status_get(node, &s)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    pg_recovery_hold hold;
    if ((error = pg_recovery_hold_get(&hold, node)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.json) {
        json_t *j = status_json(&s);
        if (j)
            json_object_set_new(
                j, "hold",
                json_pack("{s:b, s:I, s:o, s:o}", "held", hold.held,
                          "held_upto", (json_int_t)hold.held_upto,
                          "parent_confirmed",
                          hold.confirmed >= 0
                              ? json_integer((json_int_t)hold.confirmed)
                              : json_null(),
                          "restored", time_or_null(hold.restored_ms)));
        if (!j) {
            status = cli_fail(
                pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
            goto done;
        }
        json_object_set_new(j, "overdue", json_integer((json_int_t)s.overdue));
        cli_print_json(j);
    } else {
        print_status(&s);
        if (hold.held) {
            printf(_("\nhold         restored from a backup: local writes "
                     "refused until the parent\n             confirms; this "
                     "node holds its own txns up to seq %lld"),
                   (long long)hold.held_upto);
            if (hold.confirmed >= 0)
                printf(_(", the parent up to %lld"), (long long)hold.confirmed);
            printf("%s", _("\n             ('pingan sync PARENT', or export "
                           "to the parent and import its bundle)\n"));
        }
    }

done:
    pg_status_dispose(&s);
    pg_node_free(node);
    return status;
}
