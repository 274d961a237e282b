/*
 * pingan audit list|verify|heads: the audit trail (include/pingan/audit.h).
 * `list` shows entries; `verify` checks the hash chain, and with
 * --against-parent that it still holds the head the parent recorded;
 * `heads` exports, signed, the heads this node holds of its children.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/audit.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/peer.h"
#include "pingan/value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct audit_opts {
    bool json;
    bool against_parent;
    bool offline;
    const char *since;
    const char *action;
    const char *heads;
    const char *out;
    json_t *array; /* list --json: the entries */
} audit_opts;

static const cli_option list_options[] = {
    {"since", required_argument, 's', N_("DATE"),
     N_("only entries from DATE on: 2026-11-26 (China Standard Time), "
        "2026-11-26T10:00:00+08:00 or ms since the epoch")},
    {"action", required_argument, 'a', N_("ACTION"),
     N_("only entries of this action (peer.add, bundle.accept, refuse, ...)")},
    {"json", no_argument, 'j', NULL, N_("print a JSON array")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option verify_options[] = {
    {"against-parent", no_argument, 'p', NULL,
     N_("also prove that no entry up to the head the parent recorded was "
        "changed: the head from --heads FILE; else, when the parent has a URL, "
        "from its signed heads file fetched over HTTP; else the one the parent "
        "last sent back in a signed bundle, kept here")},
    {"heads", required_argument, 'H', N_("FILE"),
     N_("the parent's heads file ('pingan audit heads --out FILE' on the "
        "parent); implies --against-parent")},
    {"offline", no_argument, 'O', NULL,
     N_("with --against-parent, do not ask the parent: use the head kept "
        "here")},
    {"json", no_argument, 'j', NULL, N_("print the result as a JSON object")},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_option heads_options[] = {
    {"out", required_argument, 'o', N_("FILE"),
     N_("write the signed heads file to FILE (mode 0644) instead of stdout")},
    {"json", no_argument, 'j', NULL,
     N_("print the signed heads file (the default with --out) instead of a "
        "table")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command list_cmd = {
    "audit list", N_("[--since DATE] [--action ACTION] [--json]"),
    N_("List the audit trail: every administrative action, with its operator, "
       "and every\nbundle or request accepted or refused."),
    N_("Entries hold codes, ids, counts, digests and reasons, never a personal "
       "value.\nTimes are shown in China Standard Time."),
    list_options};
static const cli_command verify_cmd = {
    "audit verify",
    N_("[--against-parent [--offline]] [--heads FILE] [--json]"),
    N_("Check the audit trail's hash chain; exit 1 naming the first bad "
       "entry."),
    N_("Each entry's hash covers the one before it: a changed, removed or "
       "reordered\nentry breaks the chain from there on.  Someone who can "
       "write "
       "the store could\nstill rewrite the whole chain with fresh hashes; "
       "--against-parent catches that:\nbundles to the parent carry the "
       "chain's "
       "head, and the parent keeps the latest\none, so the chain must still "
       "hold it.\n\nWhere that head comes from, in this order (the output "
       "says which):\n  --heads FILE   the parent's signed heads file, "
       "given by its administrator;\n  over HTTP      the same file fetched "
       "from the parent at its URL ('pingan peer\n                 set CODE "
       "--url URL'), unless --offline;\n  kept here      the head the parent "
       "last sent back in a bundle.  It sits in\n                 this node's "
       "store, so whoever can rewrite the chain can rewrite\n                 "
       "it too: it proves less.\n\nExit status: 0 intact; 1 a bad entry, or "
       "the parent cannot be reached (give\n--heads FILE or --offline); 2 the "
       "parent refused, or a heads file is refused."),
    verify_options};
static const cli_command heads_cmd = {
    "audit heads", N_("[--json] [--out FILE]"),
    N_("Show the audit chain heads this node received from its children, or "
       "export them\nas a heads file signed with this node's key."),
    N_("A child checks its chain against the file with 'pingan audit verify "
       "--heads FILE'."),
    heads_options};

static int audit_handle(int val, const char *arg, void *payload)
{
    audit_opts *o = payload;
    switch (val) {
    case 'j':
        o->json = true;
        return 0;
    case 'p':
        o->against_parent = true;
        return 0;
    case 'O':
        o->offline = true;
        return 0;
    case 's':
        return cli_set_once(&o->since, "--since", arg);
    case 'a':
        return cli_set_once(&o->action, "--action", arg);
    case 'H':
        o->against_parent = true;
        return cli_set_once(&o->heads, "--heads", arg);
    case 'o':
        return cli_set_once(&o->out, "--out", arg);
    default:
        return -1;
    }
}

/* --since: a date alone is midnight in China Standard Time. */
static int parse_since(int64_t *out, const char *s)
{
    char iso[40];
    size_t n = strlen(s);
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        snprintf(iso, sizeof(iso), "%sT00:00:00+08:00", s);
        s = iso;
    }
    return pg_time_parse(out, s);
}

/* A time as a person reads it: China Standard Time, to the second. */
static void human_time(char out[40], int64_t ms)
{
    pg_time_format(out, ms - ((ms % 1000) + 1000) % 1000);
}

static json_t *entry_json(const pg_audit_entry *e)
{
    char at[40], prev[2 * PG_HASH_LEN + 1], hash[2 * PG_HASH_LEN + 1];
    pg_time_format(at, e->at_ms);
    pg_hex(prev, e->prev, PG_HASH_LEN);
    pg_hex(hash, e->hash, PG_HASH_LEN);
    json_t *detail = json_loads(e->detail, 0, NULL);
    return json_pack(
        "{s:I, s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:s}", "seq",
        (json_int_t)e->seq, "at", at, "at_ms", (json_int_t)e->at_ms, "operator",
        e->operator_name, "action", e->action, "subject", e->subject, "detail",
        detail ? detail : json_string(e->detail), "prev", prev, "hash", hash);
}

static int list_one(const pg_audit_entry *e, void *payload)
{
    audit_opts *o = payload;
    if (o->json) {
        json_t *j = entry_json(e);
        if (!j || json_array_append_new(o->array, j) < 0)
            return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                "out of memory");
        return 0;
    }
    char at[40];
    human_time(at, e->at_ms);
    printf("%-6lld %s  %s  %s %s %s\n", (long long)e->seq, at, e->operator_name,
           e->action, e->subject[0] ? e->subject : "-", e->detail);
    return 0;
}

static int audit_list(int argc, char **argv)
{
    audit_opts o = {0};
    pg_node *node = NULL;
    int64_t since = 0;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &list_cmd, audit_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&list_cmd, argv[optind]);
    if (o.since && parse_since(&since, o.since) < 0)
        return cli_usage(&list_cmd,
                         "--since needs a date (2026-11-26), a time with an "
                         "offset (2026-11-26T10:00:00+08:00) or ms since the "
                         "epoch, not '%.40s'",
                         o.since);
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if (o.json && !(o.array = json_array())) {
        status = cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
        goto done;
    }
    if ((error = pg_audit_list(node, since, o.action, list_one, &o)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.array) {
        cli_print_json(o.array);
        o.array = NULL;
    }

done:
    json_decref(o.array);
    pg_node_free(node);
    return status;
}

static int read_file(pg_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    char chunk[8192];
    size_t n;
    int error = 0;

    if (!f)
        return pg_error_set(errno == ENOENT ? PG_ENOTFOUND : PG_ERROR,
                            PG_ERRCLASS_OS, "cannot read %s: %s", path,
                            strerror(errno));
    while (!error && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        error = pg_buf_put(out, chunk, n);
    if (!error && ferror(f))
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot read %s", path);
    fclose(f);
    if (error == PG_ELIMIT)
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "%s is larger than %zu bytes", path, out->max);
    return error;
}

/* The parent (role parent) and its URL; parent[0] == 0 when none. */
static int find_parent(const pg_peer *p, void *payload)
{
    pg_peer *out = payload;
    if (p->role == PG_PEER_PARENT)
        *out = *p;
    return 0;
}

/*
 * Fetch the parent's heads file over HTTP into @p out: `pingan-net
 * audit-fetch-heads CODE` (libcurl stays out of this program) writes it
 * to a pipe; its errors go to stderr as they are.  0, or the exit status
 * to end with.
 */
static int fetch_heads(pg_buf *out, const char *parent)
{
    char path[4200], code[PG_CODE_LEN + 1];
    int fds[2], status = 0, error = 0;
    char chunk[8192];
    ssize_t n;

    snprintf(code, sizeof(code), "%s", parent);
    if (cli_net_path(path, sizeof(path)) < 0)
        return 1;
    if (pipe(fds) != 0) {
        fprintf(stderr, _("pingan: cannot make a pipe: %s\n"), strerror(errno));
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, _("pingan: cannot start %s: %s\n"), path,
                strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        char *args[] = {path, "--dir", (char *)cli_g.dir, "audit-fetch-heads",
                        code, NULL};
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(1);
        close(fds[1]);
        execv(path, args);
        fprintf(stderr,
                _("pingan: cannot run %s: %s (it is built and installed beside "
                  "pingan)\n"),
                path, strerror(errno));
        _exit(1);
    }
    close(fds[1]);
    while (!error) {
        n = read(fds[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        error = pg_buf_put(out, chunk, (size_t)n);
    }
    close(fds[0]);
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (w < 0 || !WIFEXITED(status)) {
        fprintf(
            stderr,
            _("pingan: fetching the parent's heads failed: pingan-net %s\n"),
            w < 0                 ? _("could not be waited for")
            : WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
                                  : _("stopped"));
        return 1;
    }
    if (WEXITSTATUS(status) != 0)
        return WEXITSTATUS(status);
    if (error < 0) {
        fprintf(stderr,
                _("pingan: the parent's heads file is larger than %zu "
                  "bytes: refused\n"),
                out->max);
        return 2;
    }
    return 0;
}

static int audit_verify(int argc, char **argv)
{
    audit_opts o = {0};
    pg_node *node = NULL;
    pg_audit_head against, *against_p = NULL;
    pg_audit_check check;
    char parent[PG_CODE_LEN + 1] = "";
    char proof[PG_PEER_URL_MAX + 4200] = "";
    const char *proof_kind = NULL;
    pg_peer up;
    pg_buf text;
    int rc, error, status = 0;

    pg_buf_init(&text, (size_t)16 << 20);
    memset(&up, 0, sizeof(up));
    if ((rc = cli_parse(argc, argv, &verify_cmd, audit_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&verify_cmd, argv[optind]);
    if (o.offline && (o.heads || !o.against_parent))
        return cli_usage(&verify_cmd, "--offline goes with --against-parent "
                                      "and without --heads");
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if (o.against_parent && !o.heads && !o.offline &&
        (error = pg_peer_list(node, find_parent, &up)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (up.url[0]) {
        if ((status = fetch_heads(&text, up.code)) != 0)
            goto done;
        if ((error = pg_audit_heads_check(&against, parent, node,
                                          (const char *)text.data, text.len)) <
            0) {
            status = cli_fail(error);
            goto done;
        }
        against_p = &against;
        proof_kind = "http";
        snprintf(proof, sizeof(proof),
                 _("from its signed heads file, fetched over HTTP from %s"),
                 up.url);
    } else if (o.heads) {
        if ((error = read_file(&text, o.heads)) < 0 ||
            (error = pg_audit_heads_check(&against, parent, node,
                                          (const char *)text.data, text.len)) <
                0) {
            status = cli_fail(error);
            goto done;
        }
        against_p = &against;
        proof_kind = "heads-file";
        snprintf(proof, sizeof(proof), _("from its signed heads file %s"),
                 o.heads);
    } else if (o.against_parent) {
        if ((error = pg_audit_parent_seen(&against, parent, node)) < 0) {
            status = cli_fail(error);
            goto done;
        }
        if (against.seq <= 0) {
            fprintf(stderr,
                    _("pingan: no parent has confirmed a head of this "
                      "node's audit chain yet; sync with the parent, or "
                      "give --heads FILE from it\n"));
            status = 1;
            goto done;
        }
        against_p = &against;
        proof_kind = "local";
        snprintf(proof, sizeof(proof),
                 _("as it last sent it back, kept in this node's store (a "
                   "weaker proof: whoever can rewrite the chain can rewrite "
                   "that copy; %s)"),
                 o.offline ? _("without --offline the parent is asked when "
                               "it has a URL")
                           : _("the parent has no URL: give --heads FILE for "
                               "the proof"));
    }
    error = pg_audit_verify(&check, node, against_p);
    if (o.json) {
        char hash[2 * PG_HASH_LEN + 1];
        pg_hex(hash, check.head.hash, PG_HASH_LEN);
        const pg_error *e = pg_error_last();
        cli_print_json(json_pack(
            "{s:b, s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "ok", error == 0,
            "entries", (json_int_t)check.entries, "head_seq",
            (json_int_t)check.head.seq, "head_hash", hash, "parent_seq",
            against_p ? json_integer((json_int_t)against.seq) : json_null(),
            "parent", parent[0] ? json_string(parent) : json_null(), "bad_seq",
            check.bad_seq ? json_integer((json_int_t)check.bad_seq)
                          : json_null(),
            "error", error < 0 && e ? json_string(e->message) : json_null(),
            "proof", proof_kind ? json_string(proof_kind) : json_null()));
        status = error < 0 ? pg_error_exit_code(error) : 0;
        goto done;
    }
    if (error < 0) {
        status = cli_fail(error);
        if (against_p)
            fprintf(stderr,
                    _("pingan: checked against the head the parent %s "
                      "recorded (seq %lld), %s\n"),
                    parent, (long long)against.seq, proof);
        goto done;
    }
    printf(_("audit trail intact: %lld entries, head seq %lld"),
           (long long)check.entries, (long long)check.head.seq);
    if (against_p)
        printf(_("; holds the head the parent %s recorded (seq %lld), %s"),
               parent, (long long)against.seq, proof);
    printf("\n");

done:
    pg_buf_dispose(&text);
    pg_node_free(node);
    return status;
}

static int heads_row(const pg_audit_child_head *h, void *payload)
{
    char at[40], hash[2 * PG_HASH_LEN + 1];
    (void)payload;
    human_time(at, h->received_ms);
    pg_hex(hash, h->head.hash, PG_HASH_LEN);
    printf("%s  %-8lld  %s  %s\n", h->code, (long long)h->head.seq, at, hash);
    return 0;
}

static int audit_heads(int argc, char **argv)
{
    audit_opts o = {0};
    pg_node *node = NULL;
    pg_buf text = PG_BUF_INIT;
    FILE *f = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &heads_cmd, audit_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&heads_cmd, argv[optind]);
    if (o.out && !o.out[0])
        return cli_usage(&heads_cmd, "--out needs a file name");
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if (!o.json && !o.out) {
        cli_print_padded(_("CHILD"), 12);
        cli_print_padded(_("SEQ"), 8);
        cli_print_padded(_("RECEIVED"), 25);
        printf("%s\n", _("HASH"));
        if ((error = pg_audit_child_heads(node, heads_row, NULL)) < 0)
            status = cli_fail(error);
        goto done;
    }
    if ((error = pg_audit_heads_export(&text, node)) < 0) {
        status = cli_fail(error);
        goto done;
    }
    if (o.out) {
        if (!(f = fopen(o.out, "wb")) ||
            fwrite(text.data, 1, text.len, f) != text.len || fclose(f) != 0) {
            status = cli_fail(pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                           "cannot write %s: %s", o.out,
                                           strerror(errno)));
            f = NULL;
            goto done;
        }
        f = NULL;
        fprintf(stderr,
                _("wrote %s: give it to each child's administrator for "
                  "'pingan audit verify --heads FILE'\n"),
                o.out);
    } else {
        fwrite(text.data, 1, text.len, stdout);
    }

done:
    if (f)
        fclose(f);
    pg_buf_dispose(&text);
    pg_node_free(node);
    return status;
}

static const cli_verb audit_verbs[] = {
    {"list", audit_list, N_("list the audit trail's entries")},
    {"verify", audit_verify,
     N_("check the hash chain (and against the parent)")},
    {"heads", audit_heads,
     N_("show or export the heads received from children")},
    {NULL, NULL, NULL},
};

int cmd_audit(int argc, char **argv)
{
    return cli_dispatch("audit",
                        N_("The audit trail: who did what on this node, "
                           "hash-chained and append-only."),
                        audit_verbs, argc, argv);
}
