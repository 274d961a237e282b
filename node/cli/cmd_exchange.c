/*
 * pingan export | import | bundle inspect: moving change-logs as files
 * (USB stick, one-way gate).  The work is in sync/exchange.c; this file
 * parses arguments and prints.
 *
 * import's exit status tells a script what to do next:
 *   0  every file applied (duplicates, stale bundles, conflicts are normal)
 *   3  every file applied, but some txn was quarantined or is pending
 *   2  some file was refused whole (the others were still applied)
 *   1  runtime failure (I/O, busy, disk full): that file was rolled back
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/hlc.h"
#include "pingan/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- export ------------------------------------------------------------ */

typedef struct export_cli {
    pg_export_opts o;
    bool json;
    json_t *files;
    size_t nfiles;
} export_cli;

static const cli_option export_options[] = {
    {"to", required_argument, 't', N_("CODE"),
     N_("the peer to write for (its code)")},
    {"out", required_argument, 'o', N_("FILE"), N_("the bundle file to write")},
    {"max-bytes", required_argument, 'm', N_("N"),
     N_("split into FILE.1, FILE.2 ... of at most about N bytes each")},
    {"resend", no_argument, 'r', NULL,
     N_("start after what the peer acknowledged, not after what was sent "
        "(after a lost or damaged file)")},
    {"ack-only", no_argument, 'a', NULL,
     N_("write only this node's acknowledgement of the peer's log")},
    {"dry-run", no_argument, 'n', NULL,
     N_("write nothing: list what would be sent, withheld or transformed, "
        "field by\nfield, without values")},
    {"json", no_argument, 'j', NULL, N_("print what was written as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command export_cmd = {
    "export",
    N_("--to CODE --out FILE [--max-bytes N] [--resend] [--ack-only] [--json]\n"
       "       pingan export --to CODE --dry-run [--resend] [--json]"),
    N_("Write the changes a pinned peer may receive into a bundle file: signed "
       "by this\nnode, readable only by the peer, compressed.  What a peer "
       "receives follows the\npath rule: a parent gets the records of this "
       "node's jurisdiction (up to each\ncollection's cap), a child the "
       "records inside its own jurisdiction.  Nothing\nis sent back to the "
       "node it came from.  A partner city gets only what its Art. 8 agreement "
       "names.\nPersonal and sensitive fields are kept, masked, pseudonymized, "
       "generalized or\ndropped by the link's policy ('pingan policy show "
       "CODE') before they leave."),
    N_("An export starts where the last one to this peer ended; --resend "
       "starts again\nafter what the peer has acknowledged (its bundles carry "
       "its acknowledgement).\nWith nothing to send no file is written.  Carry "
       "the file to the peer and run\n'pingan import FILE' there.\n\n"
       "example:\n  pingan export --to 430302001000 --out /media/usb/"
       "to-430302001000.pgb"),
    export_options};

static int export_handle(int val, const char *arg, void *payload)
{
    export_cli *c = payload;
    unsigned long long n;

    switch (val) {
    case 't':
        c->o.to = arg;
        break;
    case 'o':
        c->o.out = arg;
        break;
    case 'm':
        if (cli_parse_count(&n, "max-bytes", arg, 4096, UINT64_MAX / 2) < 0)
            return -1;
        c->o.max_bytes = n;
        break;
    case 'r':
        c->o.resend = true;
        break;
    case 'a':
        c->o.ack_only = true;
        break;
    case 'n':
        c->o.dry_run = true;
        break;
    case 'j':
        c->json = true;
        break;
    }
    return 0;
}

static int export_file(const pg_export_file *f, void *payload)
{
    export_cli *c = payload;

    c->nfiles++;
    if (c->json) {
        json_array_append_new(
            c->files,
            json_pack("{s:s, s:[I, I], s:I, s:I, s:I}", "file", f->path,
                      "range", (json_int_t)f->first, (json_int_t)f->last,
                      "txns", (json_int_t)f->txns, "cards",
                      (json_int_t)f->cards, "bytes", (json_int_t)f->bytes));
        return 0;
    }
    if (f->first)
        printf(_("wrote %s: %llu txns (log %llu-%llu), %llu cards, %llu "
                 "bytes\n"),
               f->path, (unsigned long long)f->txns,
               (unsigned long long)f->first, (unsigned long long)f->last,
               (unsigned long long)f->cards, (unsigned long long)f->bytes);
    else
        printf(_("wrote %s: acknowledgement only, %llu bytes\n"), f->path,
               (unsigned long long)f->bytes);
    return 0;
}

static const char *const transform_names[5] = {"kept", "dropped", "masked",
                                               "hashed", "generalized"};

/* s and spaces to width columns; s right-aligned when right (a CJK
 * character takes two columns). */
static void print_col(const char *s, size_t width, bool right)
{
    size_t w = cli_text_width(s);
    for (; right && w < width; w++)
        putchar(' ');
    fputs(s, stdout);
    for (; w < width; w++)
        putchar(' ');
}

/* The heading of export --dry-run's field table. */
static void plan_heading(void)
{
    static const char *const counts[5] = {
        N_("KEPT"), N_("DROPPED"), N_("MASKED"), N_("HASHED"), N_("GENERAL")};
    printf("  ");
    print_col(_("COLLECTION"), 14, false);
    putchar(' ');
    print_col(_("FIELD"), 22, false);
    for (int t = 0; t < 5; t++) {
        putchar(' ');
        print_col(_(counts[t]), 8, true);
    }
    putchar('\n');
}

/* export --dry-run: what would leave, field by field, without values. */
static int export_plan(export_cli *c, pg_node *node)
{
    pg_export_plan plan;
    int error;

    if ((error = pg_bundle_export_plan(node, c->o.to, c->o.resend, &plan)) < 0)
        return cli_fail(error);
    if (c->json) {
        json_t *fields = json_array();
        for (size_t i = 0; i < plan.nfields; i++) {
            json_t *o =
                json_pack("{s:s, s:s}", "collection", plan.fields[i].collection,
                          "field", plan.fields[i].field);
            for (int t = 0; t < 5; t++)
                json_object_set_new(
                    o, transform_names[t],
                    json_integer((json_int_t)plan.fields[i].counts[t]));
            json_array_append_new(fields, o);
        }
        cli_print_json(json_pack(
            "{s:s, s:s, s:[I, I], s:I, s:I, s:I, s:o}", "to", c->o.to, "policy",
            plan.policy_id, "range", (json_int_t)plan.first,
            (json_int_t)plan.last, "txns", (json_int_t)plan.txns, "withheld",
            (json_int_t)plan.withheld, "not_meeting_agreement",
            (json_int_t)plan.skipped, "fields", fields));
    } else {
        printf(_("dry run: export to %s under policy %s (log %llu-%llu)\n"),
               c->o.to, plan.policy_id, (unsigned long long)plan.first,
               (unsigned long long)plan.last);
        printf(_("  %llu txns would be sent; %llu withheld (%llu of them: no "
                 "record meets the agreement)\n"),
               (unsigned long long)plan.txns, (unsigned long long)plan.withheld,
               (unsigned long long)plan.skipped);
        if (plan.nfields)
            plan_heading();
        for (size_t i = 0; i < plan.nfields; i++) {
            const pg_export_field *f = &plan.fields[i];
            printf("  %-14s %-22s", f->collection, f->field);
            for (int t = 0; t < 5; t++)
                printf(" %8llu", (unsigned long long)f->counts[t]);
            printf("\n");
        }
        if (!plan.nfields && plan.txns)
            printf(_("  every field passes unchanged on this link\n"));
    }
    pg_export_plan_dispose(&plan);
    return 0;
}

int cmd_export(int argc, char **argv)
{
    export_cli c;
    pg_node *node = NULL;
    char code[PG_CODE_LEN + 1];
    int rc, error;

    memset(&c, 0, sizeof(c));
    if ((rc = cli_parse(argc, argv, &export_cmd, export_handle, &c)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_usage(&export_cmd, "unexpected argument '%s'", argv[optind]);
    if (!c.o.to || (!c.o.out && !c.o.dry_run))
        return cli_usage(&export_cmd, "give --to CODE and --out FILE");
    if (c.o.dry_run && (c.o.out || c.o.ack_only || c.o.max_bytes))
        return cli_usage(&export_cmd, "--dry-run writes no file: give only "
                                      "--to (and --resend, --json)");
    if (pg_division_parse(code, c.o.to) < 0)
        return cli_fail(PG_EINVALID);
    c.o.to = code;
    if (c.o.resend && c.o.ack_only)
        return cli_usage(&export_cmd,
                         "--resend and --ack-only do not go together");
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if (c.o.dry_run) {
        rc = export_plan(&c, node);
        pg_node_free(node);
        return rc;
    }
    c.files = json_array();
    error = pg_bundle_export(node, &c.o, export_file, &c);
    pg_node_free(node);
    if (error < 0) {
        json_decref(c.files);
        return cli_fail(error);
    }
    if (c.json) {
        bool nothing = c.nfiles == 0;
        cli_print_json(
            json_pack("{s:o, s:b}", "files", c.files, "nothing", nothing));
    } else {
        if (c.nfiles == 0)
            printf(_("nothing to send to %s: its copy is up to date (use "
                     "--resend to send again what it has not acknowledged)\n"),
                   code);
        json_decref(c.files);
    }
    return 0;
}

/* --- import ------------------------------------------------------------ */

static const cli_option import_options[] = {
    {"json", no_argument, 'j', NULL, N_("print a JSON report for every file")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command import_cmd = {
    "import", N_("FILE... [--json]"),
    N_("Verify and apply bundle files from pinned peers.  Each file is checked "
       "whole\n(signatures, encryption, framing) and applied in one "
       "transaction: all of it or\nnothing.  Inside a good file, a txn that "
       "fails its own checks is quarantined\n('pingan quarantine list') while "
       "the rest applies; a txn whose signer is not\nknown yet or whose clock "
       "is far ahead waits as pending."),
    N_("exit status:\n  0  every file applied (duplicates, stale files and "
       "conflicts are normal)\n  3  every file applied, but some txn was "
       "quarantined or is pending\n  2  some file was refused whole; the "
       "others were still applied\n  1  runtime failure (I/O, busy, disk "
       "full); that file was rolled back"),
    import_options};

static int import_handle(int val, const char *arg, void *payload)
{
    (void)arg;
    if (val == 'j')
        *(bool *)payload = true;
    return 0;
}

static const char *status_name(pg_bundle_status s)
{
    return s == PG_BUNDLE_APPLIED   ? "applied"
           : s == PG_BUNDLE_REFUSED ? "refused"
                                    : "failed";
}

static json_t *report_json(const pg_bundle_report *r)
{
    json_t *notes = json_array();
    for (size_t i = 0; i < r->nnotes; i++)
        json_array_append_new(
            notes,
            json_pack("{s:s, s:I, s:s, s:s}", "origin", r->notes[i].origin,
                      "seq", (json_int_t)r->notes[i].origin_seq, "outcome",
                      r->notes[i].pending ? "pending" : "quarantined", "reason",
                      r->notes[i].reason));
    json_t *gap = r->gap_first ? json_pack("[I, I]", (json_int_t)r->gap_first,
                                           (json_int_t)r->gap_last)
                               : json_null();
    json_t *o = json_pack(
        "{s:s, s:s, s:s?, s:s, s:[I, I], s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:o, s:o}",
        "file", r->file, "status", status_name(r->status), "error",
        r->status == PG_BUNDLE_APPLIED ? NULL : r->message, "sender", r->sender,
        "range", (json_int_t)r->first, (json_int_t)r->last, "txns",
        (json_int_t)r->txns, "new", (json_int_t)r->applied, "duplicates",
        (json_int_t)r->duplicates, "conflicts", (json_int_t)r->conflicts,
        "quarantined", (json_int_t)r->quarantined, "pending",
        (json_int_t)r->pending, "cards_learnt", (json_int_t)r->cards_learnt,
        "pending_resolved", (json_int_t)r->pending_resolved, "gap", gap,
        "txn_notes", notes);
    return o;
}

static void report_text(const pg_bundle_report *r)
{
    if (r->status != PG_BUNDLE_APPLIED) {
        if (r->status == PG_BUNDLE_REFUSED)
            fprintf(stderr, _("pingan: %s refused: %s\n"), r->file, r->message);
        else
            fprintf(stderr, _("pingan: %s failed: %s\n"), r->file, r->message);
        return;
    }
    printf(_("%s: from %s"), r->file, r->sender);
    if (r->first)
        printf(_(", log %llu-%llu"), (unsigned long long)r->first,
               (unsigned long long)r->last);
    printf(_(": %llu new, %llu duplicates, %llu conflicts, %llu quarantined, "
             "%llu pending\n"),
           (unsigned long long)r->applied, (unsigned long long)r->duplicates,
           (unsigned long long)r->conflicts, (unsigned long long)r->quarantined,
           (unsigned long long)r->pending);
    if (r->gap_first)
        printf(_("  gap: %s's log %llu-%llu has not arrived (a lost file?); "
                 "ask for 'pingan export --resend' there\n"),
               r->sender, (unsigned long long)r->gap_first,
               (unsigned long long)r->gap_last);
    if (r->pending_resolved)
        printf(_("  %llu earlier pending txns applied\n"),
               (unsigned long long)r->pending_resolved);
    for (size_t i = 0; i < r->nnotes; i++)
        printf(r->notes[i].pending ? _("  pending %s #%llu: %s\n")
                                   : _("  quarantined %s #%llu: %s\n"),
               r->notes[i].origin, (unsigned long long)r->notes[i].origin_seq,
               r->notes[i].reason);
    if (r->quarantined + r->pending > r->nnotes)
        printf(_("  ... see 'pingan quarantine list'\n"));
}

int cmd_import(int argc, char **argv)
{
    bool json = false, refused = false, failed = false, held = false;
    pg_node *node = NULL;
    json_t *files;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &import_cmd, import_handle, &json)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind >= argc)
        return cli_usage(&import_cmd, "give one or more bundle files");
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    files = json_array();
    for (int i = optind; i < argc; i++) {
        pg_bundle_report *r = malloc(sizeof(*r));
        if (!r) {
            failed = true;
            break;
        }
        pg_bundle_import(node, argv[i], r);
        if (r->status == PG_BUNDLE_REFUSED)
            refused = true;
        else if (r->status == PG_BUNDLE_FAILED)
            failed = true;
        else if (r->quarantined || r->pending)
            held = true;
        if (json)
            json_array_append_new(files, report_json(r));
        else
            report_text(r);
        free(r);
    }
    pg_node_free(node);
    if (json)
        cli_print_json(json_pack("{s:o}", "files", files));
    else
        json_decref(files);
    return failed ? 1 : refused ? 2 : held ? 3 : 0;
}

/* --- bundle inspect ------------------------------------------------------ */

typedef struct inspect_cli {
    bool json;
    json_t *txns;
} inspect_cli;

static const cli_option inspect_options[] = {
    {"json", no_argument, 'j', NULL, N_("print a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command inspect_cmd = {
    "bundle inspect", N_("FILE [--json]"),
    N_("Show a bundle file without applying it: its preamble and header "
       "(sender,\nrecipient, schema, range of the sender's log, "
       "acknowledgement), counts, sizes\nand whether its signatures verify.  "
       "On the recipient's node the txns are\nlisted too; elsewhere their "
       "content stays encrypted."),
    N_("The signatures can be checked only where the sender's card is known "
       "(the\nsender's own node or a node that pinned it).  Exit status: 0 "
       "for a good\nbundle, 2 for a damaged or unverifiable one."),
    inspect_options};

static int inspect_txn(const pg_inspect_txn *e, void *payload)
{
    inspect_cli *c = payload;
    const pg_txn *t = e->txn;
    char when[40];

    pg_time_format(when, PG_HLC_MS(t->hlc));
    json_array_append_new(
        c->txns,
        json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:I}", "seq",
                  (json_int_t)e->seq, "origin", t->origin, "origin_seq",
                  (json_int_t)t->seq, "clock", when, "collection",
                  t->collection, "division", t->division, "operator",
                  t->operator_name, "changes", (json_int_t)t->nchanges));
    return 0;
}

/* A time of pg_time_format as a person reads it: to the second, without
 * the milliseconds (still China Standard Time). */
static void human_clock(char out[40], const char *iso)
{
    snprintf(out, 40, "%s", iso ? iso : "");
    char *dot = strchr(out, '.');
    char *plus = dot ? strpbrk(dot, "+-Z") : NULL;
    if (dot && plus)
        memmove(dot, plus, strlen(plus) + 1);
}

static void print_txns(json_t *txns)
{
    size_t i;
    json_t *t;

    if (json_array_size(txns) == 0)
        return;
    printf(_("  txns:\n"));
    json_array_foreach(txns, i, t)
    {
        char clock[40];
        human_clock(clock, json_string_value(json_object_get(t, "clock")));
        printf("  %6lld  %s #%-6lld %-25s %-11s %s ",
               (long long)json_integer_value(json_object_get(t, "seq")),
               json_string_value(json_object_get(t, "origin")),
               (long long)json_integer_value(json_object_get(t, "origin_seq")),
               clock, json_string_value(json_object_get(t, "collection")),
               json_string_value(json_object_get(t, "division")));
        print_col(json_string_value(json_object_get(t, "operator")), 12, false);
        printf(" %4lld\n",
               (long long)json_integer_value(json_object_get(t, "changes")));
    }
}

static const char *yesno(bool known, bool ok)
{
    return !known ? _("not checked (sender unknown here)")
           : ok   ? _("ok")
                  : _("BAD");
}

static int bundle_inspect(int argc, char **argv)
{
    inspect_cli c = {0};
    pg_bundle_summary s;
    pg_node *node = NULL;
    char created[40];
    int rc, error;

    if ((rc = cli_parse(argc, argv, &inspect_cmd, import_handle, &c.json)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind != argc - 1)
        return cli_usage(&inspect_cmd, "give one bundle file");
    /* Without a node the bundle is still shown, unverified. */
    if (cli_open_node(&node) < 0)
        pg_error_clear();
    c.txns = json_array();
    error = pg_bundle_inspect(node, argv[optind], &s, inspect_txn, &c);
    pg_node_free(node);
    if (error < 0) {
        json_decref(c.txns);
        return cli_fail(error);
    }
    pg_time_format(created, s.created_ms);
    if (c.json) {
        json_t *o = json_pack(
            "{s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:[I, I], "
            "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:b, "
            "s:s?}",
            "magic", "PGNB", "format", (int)s.format, "suite", (int)s.suite,
            "sender", s.sender, "sender_key_id", s.sender_key_id, "recipient",
            s.recipient, "recipient_key_id", s.recipient_key_id,
            "schema_version", (int)s.schema_version, "schema_hash",
            s.schema_hash, "created", created, "range", (json_int_t)s.first,
            (json_int_t)s.last, "ack", (json_int_t)s.ack_upto, "txns",
            (json_int_t)s.txns, "cards", (json_int_t)s.cards, "frames",
            (json_int_t)s.frames, "frame_max", (json_int_t)s.frame_max, "bytes",
            (json_int_t)s.bytes, "header_bytes", (json_int_t)s.header_bytes,
            "plain_bytes", (json_int_t)s.plain_bytes, "signer_known",
            s.signer_known, "header_signature_ok", s.header_ok, "opened",
            s.opened, "trailer_signature_ok", s.trailer_ok, "problem",
            s.problem[0] ? s.problem : NULL);
        json_object_set_new(o, "txn_list", c.txns);
        cli_print_json(o);
    } else {
        char made[40];
        human_clock(made, created);
        printf(_("bundle %s\n"), argv[optind]);
        printf(_("  format %u, suite %u, %llu bytes (header %llu)\n"), s.format,
               s.suite, (unsigned long long)s.bytes,
               (unsigned long long)s.header_bytes);
        printf(_("  from %s (key %s) to %s (key %s)\n"), s.sender,
               s.sender_key_id, s.recipient, s.recipient_key_id);
        printf(_("  made %s under schema %u (%.16s…)\n"), made,
               s.schema_version, s.schema_hash);
        if (s.first)
            printf(_("  covers %s's log %llu-%llu\n"), s.sender,
                   (unsigned long long)s.first, (unsigned long long)s.last);
        else
            printf(_("  covers no log entries (acknowledgement only)\n"));
        printf(_("  acknowledges %s's log up to %llu\n"), s.recipient,
               (unsigned long long)s.ack_upto);
        printf(_("  %llu txns, %llu cards in %llu frames of at most %llu "
                 "bytes"),
               (unsigned long long)s.txns, (unsigned long long)s.cards,
               (unsigned long long)s.frames, (unsigned long long)s.frame_max);
        if (s.opened)
            printf(_(", %llu bytes uncompressed"),
                   (unsigned long long)s.plain_bytes);
        printf(_("\n  header signature: %s\n  trailer signature: %s\n"),
               yesno(s.signer_known, s.header_ok),
               yesno(s.signer_known, s.trailer_ok));
        if (!s.opened)
            printf(_("  content: encrypted for %s\n"), s.recipient);
        if (s.problem[0])
            printf(_("  PROBLEM: %s\n"), s.problem);
        print_txns(c.txns);
        json_decref(c.txns);
    }
    return s.problem[0] || !s.signer_known ? 2 : 0;
}

int cmd_bundle(int argc, char **argv)
{
    static const cli_verb verbs[] = {
        {"inspect", bundle_inspect,
         N_("show a bundle file without applying it")},
        {NULL, NULL, NULL},
    };
    return cli_dispatch("bundle", NULL, verbs, argc, argv);
}
