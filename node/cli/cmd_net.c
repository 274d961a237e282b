/*
 * pingan serve and pingan sync: the HTTP transport (DESIGN §8).  The
 * server and the client live in the library (sync/serve.c,
 * sync/client.c, include/pingan/net.h); this file parses options, shows
 * progress and prints what moved.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/net.h"
#include "pingan/peer.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- serve --------------------------------------------------------------- */

typedef struct serve_opts {
    const char *listen, *tls_cert, *tls_key;
    unsigned long long max_body, max_conn, timeout, request_max, every;
    unsigned long long bundle_max;
} serve_opts;

static const cli_option serve_options[] = {
    {"listen", required_argument, 'l', N_("ADDR:PORT"),
     N_("where to listen (default 127.0.0.1:7420; port 0: any free port)")},
    {"tls-cert", required_argument, 'c', N_("FILE"),
     N_("serve https with this PEM certificate (chain)")},
    {"tls-key", required_argument, 'k', N_("FILE"),
     N_("and this PEM private key")},
    {"sync-every", required_argument, 's', N_("SECONDS"),
     N_("also sync with every peer that has a URL this often")},
    {"max-body", required_argument, 'b', N_("BYTES"),
     N_("refuse pushes larger than this (default 67108864)")},
    {"max-connections", required_argument, 'n', N_("N"),
     N_("serve at most N connections at once (default 32)")},
    {"timeout", required_argument, 't', N_("SECONDS"),
     N_("close a connection idle this long (default 30)")},
    {"request-max", required_argument, 'r', N_("SECONDS"),
     N_("cut a request that takes longer than this to arrive (default 300)")},
    {"bundle-max", required_argument, 'm', N_("BYTES"),
     N_("bytes per bundle in periodic syncs (default 4194304)")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command serve_cmd = {
    "serve",
    N_("[--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE] "
       "[--sync-every SECONDS]"),
    N_("Answer the pulls and pushes of this node's peers over HTTP until "
       "stopped\n(Ctrl-C or SIGTERM).  Every request must be signed by a "
       "pinned peer's key,\nwithin 10 minutes of this machine's clock, and "
       "never replayed; others get 401\nor 403 and nothing else, and are "
       "logged and counted in 'pingan status'.\nBundles stay end-to-end "
       "encrypted and signed, so plain HTTP on an intranet\nleaks nothing; "
       "with --tls-cert and --tls-key the server speaks https."),
    N_("Endpoints, signed: GET /v1/pull, POST /v1/push, GET /v1/audit/heads "
       "(a child's\nown audit head, for 'pingan audit verify "
       "--against-parent'; "
       "other peers get\n403).  Open: GET /v1/health (code, name, tier and "
       "time "
       "of this node).  One line per "
       "request goes to stderr.\n\nWith --sync-every, the server also syncs "
       "with each peer that has a URL, as\n'pingan sync --all' would; a peer "
       "that is down is tried again next time."),
    serve_options};

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig)
{
    (void)sig;
    serve_stop = 1;
}

static int serve_handle(int val, const char *arg, void *payload)
{
    serve_opts *o = payload;
    switch (val) {
    case 'l':
        return cli_set_once(&o->listen, "--listen", arg);
    case 'c':
        return cli_set_once(&o->tls_cert, "--tls-cert", arg);
    case 'k':
        return cli_set_once(&o->tls_key, "--tls-key", arg);
    case 's':
        return cli_parse_count(&o->every, "sync-every", arg, 1, 86400);
    case 'b':
        return cli_parse_count(&o->max_body, "max-body", arg, 65536,
                               1ULL << 32);
    case 'n':
        return cli_parse_count(&o->max_conn, "max-connections", arg, 1, 1024);
    case 't':
        return cli_parse_count(&o->timeout, "timeout", arg, 1, 3600);
    case 'r':
        return cli_parse_count(&o->request_max, "request-max", arg, 1, 86400);
    case 'm':
        return cli_parse_count(&o->bundle_max, "bundle-max", arg, 65536,
                               1ULL << 30);
    default:
        return -1;
    }
}

static void serve_ready(unsigned port, bool tls, void *payload)
{
    (void)payload;
    /* One line on stdout that scripts can wait for: the same in every
     * language, never translated. */
    printf("listening on port %u (%s)\n", port, tls ? "https" : "http");
    fflush(stdout);
}

int cmd_serve(int argc, char **argv)
{
    serve_opts o;
    memset(&o, 0, sizeof(o));
    int rc = cli_parse(argc, argv, &serve_cmd, serve_handle, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&serve_cmd, argv[optind]);
    if ((o.tls_cert != NULL) != (o.tls_key != NULL))
        return cli_usage(&serve_cmd,
                         "https needs both --tls-cert and --tls-key");

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pg_serve_opts so;
    memset(&so, 0, sizeof(so));
    so.dir = cli_g.dir;
    so.listen = o.listen;
    so.tls_cert = o.tls_cert;
    so.tls_key = o.tls_key;
    so.max_body = o.max_body;
    so.max_connections = (unsigned)o.max_conn;
    so.idle_timeout_s = (unsigned)o.timeout;
    so.request_max_s = (unsigned)o.request_max;
    so.sync_every_s = (unsigned)o.every;
    so.sync.bundle_max = o.bundle_max;
    so.sync.retries = 2;
    so.stop = &serve_stop;
    so.ready = serve_ready;
    if (pg_serve(&so) < 0)
        return cli_fail(pg_error_last()->code);
    return 0;
}

/* --- sync ---------------------------------------------------------------- */

typedef struct sync_opts {
    bool all, json, from_start;
    unsigned long long retries, bundle_max, timeout;
    bool retries_set;
} sync_opts;

static const cli_option sync_options[] = {
    {"all", no_argument, 'a', NULL, N_("sync every peer that has a URL")},
    {"json", no_argument, 'j', NULL, N_("print a JSON summary")},
    {"retries", required_argument, 'r', N_("N"),
     N_("retry a failed request N times, waiting longer each time (default "
        "5)")},
    {"bundle-max", required_argument, 'm', N_("BYTES"),
     N_("bytes per bundle pushed or pulled (default 4194304)")},
    {"timeout", required_argument, 't', N_("SECONDS"),
     N_("give up on one request after this long (default 300)")},
    {"from-start", no_argument, 'f', NULL,
     N_("push and pull both logs from the start (after a restore)")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command sync_cmd = {
    "sync",
    N_("CODE | --all [--json] [--retries N] [--bundle-max BYTES] "
       "[--from-start]"),
    N_("Sync with a peer over HTTP(S) at the URL pinned for it ('pingan peer "
       "set CODE\n--url URL'): push this node's changes for it, then pull its "
       "changes for this\nnode, in bounded bundles, until both sides are "
       "caught up.  A sync cut at any\nmoment resumes where it stopped when "
       "run again: nothing is lost and nothing\napplied twice.  Network "
       "failures are retried with a growing wait."),
    N_("Exit status: 0 when every peer synced; 1 when one failed at runtime "
       "(network,\nbusy store); 2 when one refused (authentication, a bundle "
       "refused, no URL).\n\nWith --json: an array of {\"peer\", \"url\", "
       "\"ok\", \"error\" (null when ok),\n\"http_status\", \"pushed\": "
       "{\"bundles\", \"txns\", \"bytes\", \"applied\",\n\"duplicates\", "
       "\"quarantined\"}, \"pulled\": {\"bundles\", \"txns\", \"bytes\",\n"
       "\"applied\", \"duplicates\", \"conflicts\", \"quarantined\", "
       "\"pending\"},\n\"requests\", \"retries\", \"clock_skew_ms\" (null: "
       "unknown), \"elapsed_ms\"}."),
    sync_options};

static int sync_handle(int val, const char *arg, void *payload)
{
    sync_opts *o = payload;
    switch (val) {
    case 'a':
        o->all = true;
        return 0;
    case 'j':
        o->json = true;
        return 0;
    case 'f':
        o->from_start = true;
        return 0;
    case 'r':
        o->retries_set = true;
        return cli_parse_count(&o->retries, "retries", arg, 0, 100);
    case 'm':
        return cli_parse_count(&o->bundle_max, "bundle-max", arg, 65536,
                               1ULL << 30);
    case 't':
        return cli_parse_count(&o->timeout, "timeout", arg, 1, 86400);
    default:
        return -1;
    }
}

/* The phase of a sync as a person reads it. */
static const char *phase_label(const char *phase)
{
    if (strcmp(phase, "push") == 0)
        return _("pushing");
    if (strcmp(phase, "pull") == 0)
        return _("pulling");
    if (strcmp(phase, "done") == 0)
        return _("done");
    return phase;
}

static void sync_progress(const pg_sync_report *r, void *payload)
{
    (void)payload;
    fputc('\r', stderr);
    fprintf(stderr,
            _("%s: %s; pushed %llu txns (%.1f MB), pulled %llu txns "
              "(%.1f MB)%s"),
            r->peer, phase_label(r->phase), (unsigned long long)r->pushed_txns,
            (double)r->pushed_bytes / 1e6, (unsigned long long)r->pulled_txns,
            (double)r->pulled_bytes / 1e6, r->retries ? _(", retrying") : "");
    fflush(stderr);
}

static json_t *report_json(const pg_sync_report *r)
{
    return json_pack(
        "{s:s, s:s, s:b, s:o, s:i, s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
        "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:i, s:i, s:o, s:I}",
        "peer", r->peer, "url", r->url, "ok", r->error == 0, "error",
        r->error ? json_string(r->message) : json_null(), "http_status",
        r->http_status, "pushed", "bundles", (json_int_t)r->pushed_bundles,
        "txns", (json_int_t)r->pushed_txns, "bytes",
        (json_int_t)r->pushed_bytes, "applied", (json_int_t)r->server_applied,
        "duplicates", (json_int_t)r->server_duplicates, "quarantined",
        (json_int_t)r->server_quarantined, "pulled", "bundles",
        (json_int_t)r->pulled_bundles, "txns", (json_int_t)r->pulled_txns,
        "bytes", (json_int_t)r->pulled_bytes, "applied", (json_int_t)r->applied,
        "duplicates", (json_int_t)r->duplicates, "conflicts",
        (json_int_t)r->conflicts, "quarantined", (json_int_t)r->quarantined,
        "pending", (json_int_t)r->pending, "requests", (int)r->requests,
        "retries", (int)r->retries, "clock_skew_ms",
        r->skew_known ? json_integer((json_int_t)r->skew_ms) : json_null(),
        "elapsed_ms", (json_int_t)r->elapsed_ms);
}

static void report_text(const pg_sync_report *r)
{
    typedef unsigned long long ull;

    if (r->error) {
        printf(_("%s: failed after pushing %llu and pulling %llu txns: %s\n"),
               r->peer, (ull)r->pushed_txns, (ull)r->pulled_txns, r->message);
        return;
    }
    printf(_("%s: pushed %llu txns"), r->peer, (ull)r->pushed_txns);
    if (r->pushed_txns) {
        printf(_(" (%llu bytes; %llu applied there"), (ull)r->pushed_bytes,
               (ull)r->server_applied);
        if (r->server_duplicates)
            printf(_(", %llu already there"), (ull)r->server_duplicates);
        if (r->server_quarantined)
            printf(_(", %llu quarantined there"), (ull)r->server_quarantined);
        /* TRANSLATORS: closes " (%llu bytes; ..." */
        fputs(_(")"), stdout);
    }
    printf(_(", pulled %llu txns"), (ull)r->pulled_txns);
    if (r->pulled_txns) {
        printf(_(" (%llu bytes; %llu applied"), (ull)r->pulled_bytes,
               (ull)r->applied);
        if (r->duplicates)
            printf(_(", %llu already here"), (ull)r->duplicates);
        if (r->conflicts)
            printf(_(", %llu conflicts"), (ull)r->conflicts);
        if (r->quarantined)
            printf(_(", %llu quarantined"), (ull)r->quarantined);
        if (r->pending)
            printf(_(", %llu pending"), (ull)r->pending);
        /* TRANSLATORS: closes " (%llu bytes; ..." */
        fputs(_(")"), stdout);
    }
    printf(_("; %u requests"), r->requests);
    if (r->retries)
        printf(_(", %u retries"), (unsigned)r->retries);
    printf(_(", %lld ms"), (long long)r->elapsed_ms);
    printf("%s\n",
           r->pushed_txns || r->pulled_txns ? "" : _(": already in step"));
    if (r->skew_known && (r->skew_ms > 60000 || r->skew_ms < -60000))
        printf(_("%s: warning: its clock differs from this one by %+lld s\n"),
               r->peer, (long long)(r->skew_ms / 1000));
}

typedef char peer_code[PG_CODE_LEN + 1];

/* Collect the codes of peers with a URL into a pg_buf of peer_code. */
static int collect(const pg_peer *p, void *payload)
{
    return p->url[0] ? pg_buf_put(payload, p->code, sizeof(peer_code)) : 0;
}

int cmd_sync(int argc, char **argv)
{
    sync_opts o;
    pg_node *node = NULL;
    pg_buf peers = PG_BUF_INIT;
    int rc, worst = 0;

    memset(&o, 0, sizeof(o));
    rc = cli_parse(argc, argv, &sync_cmd, sync_handle, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (o.all && optind < argc)
        return cli_usage(&sync_cmd, "give a peer's CODE or --all, not both");
    if (!o.all && optind >= argc)
        return cli_usage(&sync_cmd, "give a peer's CODE, or --all");
    if (!o.all && optind + 1 < argc)
        return cli_unexpected(&sync_cmd, argv[optind + 1]);
    signal(SIGPIPE, SIG_IGN);
    if ((rc = cli_open_node(&node)) < 0)
        return cli_fail(rc);
    if (o.all) {
        if ((rc = pg_peer_list(node, collect, &peers)) < 0) {
            pg_node_free(node);
            pg_buf_dispose(&peers);
            return cli_fail(rc);
        }
        if (peers.len == 0 && !o.json)
            printf(_("no peer has a URL: nothing to sync ('pingan peer set "
                     "CODE --url URL')\n"));
    } else {
        char code[PG_CODE_LEN + 1];
        if (pg_division_parse(code, argv[optind]) < 0) {
            pg_node_free(node);
            return cli_fail(PG_EINVALID);
        }
        if ((rc = pg_buf_put(&peers, code, sizeof(code))) < 0) {
            pg_node_free(node);
            return cli_fail(rc);
        }
    }

    pg_sync_opts so;
    memset(&so, 0, sizeof(so));
    so.retries = o.retries_set ? (unsigned)o.retries : 5;
    so.bundle_max = o.bundle_max;
    so.timeout_s = (unsigned)o.timeout;
    so.from_start = o.from_start;
    if (cli_progress_enabled() && !o.json)
        so.progress = sync_progress;
    json_t *all = o.json ? json_array() : NULL;
    const peer_code *codes = (const peer_code *)(const void *)peers.data;
    for (size_t i = 0; i < peers.len / sizeof(peer_code); i++) {
        pg_sync_report r;
        rc = pg_sync(node, codes[i], &so, &r);
        if (so.progress)
            fprintf(stderr, "\r\033[K");
        if (all)
            json_array_append_new(all, report_json(&r));
        else
            report_text(&r);
        if (rc < 0) {
            int code = pg_error_exit_code(rc);
            if (!o.json && !o.all)
                fprintf(stderr, _("pingan: %s\n"), r.message);
            if (code > worst)
                worst = code;
        }
    }
    if (all)
        cli_print_json(all);
    pg_buf_dispose(&peers);
    pg_node_free(node);
    return worst;
}

/* --- audit-fetch-heads (hidden) ------------------------------------------ */

/*
 * pingan-net audit-fetch-heads PARENT: run by `pingan audit verify
 * --against-parent` (node/cli/cmd_audit.c), which reads the parent's heads
 * file from this program's stdout and checks it.  Errors go to stderr:
 * exit 1 when the parent cannot be reached, 2 when it refuses.
 */
int cmd_audit_fetch(int argc, char **argv)
{
    pg_node *node = NULL;
    pg_buf text;
    pg_sync_opts so;
    pg_sync_report r;
    char code[PG_CODE_LEN + 1];
    int rc;

    if (argc != 2 || pg_division_parse(code, argv[1]) < 0) {
        fprintf(stderr, _("pingan-net: audit-fetch-heads needs the parent's "
                          "code (it is run by 'pingan audit verify')\n"));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((rc = cli_open_node(&node)) < 0)
        return cli_fail(rc);
    memset(&so, 0, sizeof(so));
    so.retries = 2;
    so.timeout_s = 60;
    pg_buf_init(&text, (size_t)16 << 20);
    rc = pg_sync_audit_heads(&text, node, code, &so, &r);
    pg_node_free(node);
    if (rc < 0) {
        int exit_code = pg_error_exit_code(rc);
        if (rc == PG_ENET)
            fprintf(stderr,
                    _("pingan: cannot reach the parent %s at %s to fetch its "
                      "heads file: %s\npingan: ask its administrator for "
                      "one ('pingan audit heads --out FILE') and give it with "
                      "--heads FILE, or check the weaker local copy with "
                      "--offline\n"),
                    code, r.url, r.message);
        else
            fprintf(stderr,
                    _("pingan: the parent %s (%s) refused to give its heads "
                      "file: %s\n"),
                    code, r.url[0] ? r.url : _("no URL"), r.message);
        pg_buf_dispose(&text);
        return exit_code;
    }
    bool ok = fwrite(text.data, 1, text.len, stdout) == text.len &&
              fflush(stdout) == 0;
    pg_buf_dispose(&text);
    if (!ok) {
        fprintf(stderr, _("pingan-net: cannot write the heads file\n"));
        return 1;
    }
    return 0;
}
