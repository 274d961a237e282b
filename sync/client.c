/*
 * `pingan sync`: pushing then pulling bundles over HTTP(S) with libcurl
 * (pingan/net.h, DESIGN §8).
 *
 * Push: export a bounded bundle (the first one from what the peer has
 * acknowledged, so a bundle lost with a cut connection goes again), POST
 * it, take the signed acknowledgement; until the log is walked.  Pull:
 * GET the server's log after what is here, import, until the server has
 * nothing more (204).  Every request is signed, every answer checked
 * against the server's pinned key and the request's nonce.  Network
 * failures and a busy server are retried with a doubling wait.
 */
#include "pingan/net.h"
#include "error_internal.h"
#include "keys.h"
#include "netauth.h"
#include "node_internal.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/value.h"

#include <curl/curl.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* A pull's answer may exceed the size asked for by about one txn (at most
 * about 5.3 MB, pingan/txn.h) and a header. */
#define PULL_SLACK (8u << 20)
/* Backfill bundles (not moving forward) allowed in a row. */
#define STALLED_MAX 64

typedef struct client {
    pg_node *node;
    const pg_sync_opts *opts;
    pg_sync_report *rep;
    pg_peer peer;
    pg_card card; /* the server's pinned card */
    CURL *curl;
    char tmp_dir[4096];
    unsigned long counter;
    uint64_t pushed_upto; /* end of the last bundle pushed in this sync */
    char got[40];         /* token of the bundle pulled and applied last */
    unsigned stalled;     /* bundles in a row that did not move forward */
} client;

/* One exchange with the server. */
typedef struct exchange {
    /* request */
    const char *method;
    char uri[256];
    const char *upload; /* a file to POST, or NULL */
    /* response */
    long status;
    FILE *out; /* the body goes here */
    uint64_t body_len, body_max;
    pg_hash_state hash;
    char h_time[32], h_nonce[PG_NET_NONCE_HEX + 1];
    char h_body[2 * PG_HASH_LEN + 1], h_sig[2 * PG_SIG_LEN + 1];
    char h_bundle[40];
    int64_t sent_ms, recv_ms;
    pg_net_auth req; /* the request last sent, which the answer names */
} exchange;

static void lock(client *cl)
{
    if (cl->opts->lock)
        cl->opts->lock(cl->opts->lock_payload);
}

static void unlock(client *cl)
{
    if (cl->opts->unlock)
        cl->opts->unlock(cl->opts->lock_payload);
}

static void progress(client *cl)
{
    if (cl->opts->progress)
        cl->opts->progress(cl->rep, cl->opts->progress_payload);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    exchange *x = arg;
    size_t len = size * n;
    if (x->body_len + len > x->body_max)
        return 0; /* too big: curl fails the transfer */
    if (fwrite(data, 1, len, x->out) != len)
        return 0;
    pg_hash_update(&x->hash, data, len);
    x->body_len += len;
    return len;
}

static void header_value(char *out, size_t cap, const char *line, size_t len,
                         const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if ((size_t)(end - v) < cap)
        snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    exchange *x = arg;
    size_t len = size * n;
    header_value(x->h_time, sizeof(x->h_time), line, len, PG_NET_H_TIME);
    header_value(x->h_nonce, sizeof(x->h_nonce), line, len, PG_NET_H_NONCE);
    header_value(x->h_body, sizeof(x->h_body), line, len, PG_NET_H_BODY);
    header_value(x->h_sig, sizeof(x->h_sig), line, len, PG_NET_H_SIG);
    header_value(x->h_bundle, sizeof(x->h_bundle), line, len, PG_NET_H_BUNDLE);
    return len;
}

/* The "error" of a JSON answer, control characters shown as '?' (a
 * refusal is not signed: anybody on the way may have written it). */
static void answer_message(char *out, size_t cap, const char *body, size_t len)
{
    json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    snprintf(out, cap, "%s", e ? e : "no explanation given");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    json_decref(j);
}

static bool stopped(const client *cl)
{
    return cl->opts->stop && *cl->opts->stop;
}

/* Abort a transfer when the sync is to stop. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return stopped(arg) ? 1 : 0;
}

/* One attempt.  0 with x->status set, or PG_ENET. */
static int attempt(client *cl, exchange *x, const char *body_hash, FILE *upload,
                   uint64_t upload_len)
{
    char url[PG_PEER_URL_MAX + 300];
    struct curl_slist *h = NULL;
    pg_net_auth a;
    char line[256];
    CURLcode rc;

    /* The URL as configured, without a trailing slash, then the path. */
    size_t ulen = strlen(cl->peer.url);
    while (ulen > 0 && cl->peer.url[ulen - 1] == '/')
        ulen--;
    snprintf(url, sizeof(url), "%.*s%s", (int)ulen, cl->peer.url, x->uri);
    lock(cl);
    pg_net_sign_request(&a, cl->node, x->method, x->uri, cl->peer.code,
                        body_hash);
    unlock(cl);
    snprintf(line, sizeof(line), "%s: %s", PG_NET_H_FROM, a.from);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %s", PG_NET_H_KEY, a.key_id);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %" PRId64, PG_NET_H_TIME, a.time_ms);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %s", PG_NET_H_NONCE, a.nonce);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %s", PG_NET_H_BODY, a.body);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "%s: %s", PG_NET_H_SIG, a.sig);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "Expect:");
    if (upload)
        h = curl_slist_append(h, "Content-Type: application/vnd.pingan.bundle");

    CURL *c = cl->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT,
                     (long)(cl->opts->timeout_s ? cl->opts->timeout_s : 300));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, cl);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (cl->peer.ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, cl->peer.ca_file);
    if (upload) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, upload);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)upload_len);
    }
    x->h_time[0] = x->h_nonce[0] = x->h_body[0] = x->h_sig[0] = '\0';
    x->h_bundle[0] = '\0';
    x->body_len = 0;
    pg_hash_init(&x->hash, PG_HASH_LEN);
    x->sent_ms = pg_time_now_ms();
    rc = curl_easy_perform(c);
    x->recv_ms = pg_time_now_ms();
    curl_slist_free_all(h);
    cl->rep->requests++;
    if (stopped(cl))
        return pg_error_set(PG_ENET, PG_ERRCLASS_NET,
                            "stopped before %s answered", cl->peer.code);
    /* A server may refuse (413) before the body is sent and close the
     * connection: the sending then fails, but the answer is there. */
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
    if (rc != CURLE_OK && x->status >= 400 &&
        (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR))
        rc = CURLE_OK;
    if (rc != CURLE_OK) {
        if (rc == CURLE_WRITE_ERROR &&
            x->body_len + CURL_MAX_WRITE_SIZE >= x->body_max)
            return pg_error_set(PG_ELIMIT, PG_ERRCLASS_NET,
                                "%s answered with more than %" PRIu64 " bytes",
                                cl->peer.url, x->body_max);
        return pg_error_set(rc == CURLE_PEER_FAILED_VERIFICATION ||
                                    rc == CURLE_SSL_CACERT_BADFILE
                                ? PG_EAUTH
                                : PG_ENET,
                            PG_ERRCLASS_NET, "%s: %s", url,
                            curl_easy_strerror(rc));
    }
    cl->rep->http_status = (int)x->status;
    /* The answer must name this request. */
    x->req = a;
    return 0;
}

static void backoff(client *cl, unsigned n)
{
    unsigned base = cl->opts->backoff_ms ? cl->opts->backoff_ms : 500;
    uint64_t ms = (uint64_t)base << (n > 5 ? 5 : n);
    uint32_t jitter;
    pg_random(&jitter, sizeof(jitter));
    ms += jitter % (base + 1);
    /* In steps, so that a stop is not kept waiting. */
    for (uint64_t slept = 0; slept < ms && !stopped(cl); slept += 100) {
        struct timespec ts = {0, 100 * 1000 * 1000L};
        nanosleep(&ts, NULL);
    }
}

/*
 * Send one request, retrying network failures and 502/503/504 with a
 * doubling wait.  The answer's body is in x->out (rewound); its signature
 * is for the caller to check (check_answer).  0 with x->status, or an
 * error with a message.
 */
static int request(client *cl, exchange *x, FILE *upload, uint64_t upload_len,
                   const char *body_hash)
{
    int error = 0;
    for (unsigned n = 0;; n++) {
        if (upload)
            rewind(upload);
        rewind(x->out);
        if (ftruncate(fileno(x->out), 0) != 0)
            return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                "cannot reuse a temporary file: %s",
                                pg_error__oserr(errno));
        error = attempt(cl, x, body_hash, upload, upload_len);
        bool retry = error == PG_ENET ||
                     (error == 0 && (x->status == 503 || x->status == 502 ||
                                     x->status == 504));
        if (!retry || n >= cl->opts->retries || stopped(cl))
            break;
        pg_error_clear();
        cl->rep->retries++;
        progress(cl);
        backoff(cl, n);
    }
    if (error < 0)
        return error;
    fflush(x->out);
    rewind(x->out);
    return 0;
}

/* Check the server's signature on an answer to the request last sent. */
static int check_answer(client *cl, exchange *x)
{
    uint8_t h[PG_HASH_LEN];
    char hex[2 * PG_HASH_LEN + 1];
    pg_hash_final(&x->hash, h);
    pg_hex(hex, h, sizeof(h));
    int64_t t = x->h_time[0] ? (int64_t)strtoll(x->h_time, NULL, 10) : 0;
    if (strcmp(x->h_nonce, x->req.nonce) != 0 || strcmp(x->h_body, hex) != 0 ||
        !pg_net_verify_response(x->h_sig, cl->card.sign_pk, cl->peer.code,
                                (int)x->status, &x->req, t, hex,
                                x->h_bundle[0] ? x->h_bundle : NULL))
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NET,
                            "the answer of %s (%s) is not signed by the key "
                            "pinned for it, or not for this request: "
                            "refused",
                            cl->peer.code, cl->peer.url);
    /* The server's clock against ours, at the middle of the exchange. */
    cl->rep->skew_known = true;
    cl->rep->skew_ms = t - (x->sent_ms + x->recv_ms) / 2;
    return 0;
}

static char *read_small(FILE *f, size_t *len)
{
    char *buf = malloc(65537);
    if (!buf)
        return NULL;
    *len = fread(buf, 1, 65536, f);
    buf[*len] = '\0';
    return buf;
}

/* A non-2xx answer as an error. */
static int http_failure(client *cl, exchange *x)
{
    size_t len = 0;
    char msg[400], *body = read_small(x->out, &len);
    answer_message(msg, sizeof(msg), body, len);
    free(body);
    int code = x->status == 401 || x->status == 403 ? PG_EAUTH
               : x->status == 413                   ? PG_ELIMIT
               : x->status == 422                   ? PG_EINVALID
               : x->status >= 500                   ? PG_ENET
                                                    : PG_EINVALID;
    if (x->status == 401 && x->h_time[0]) {
        /* An unsigned answer: its time goes into the message only. */
        int64_t t = (int64_t)strtoll(x->h_time, NULL, 10);
        int64_t skew = t - (x->sent_ms + x->recv_ms) / 2;
        if (skew > PG_NET_WINDOW_MS || skew < -PG_NET_WINDOW_MS)
            return pg_error_set(code, PG_ERRCLASS_NET,
                                "%s refused the request (HTTP 401): the "
                                "clocks differ by %+" PRId64
                                " s (the server's minus this node's); at "
                                "most 10 minutes are accepted: set the "
                                "clocks right (NTP)",
                                cl->peer.code, skew / 1000);
    }
    if (x->upload)
        return pg_error_set(code, PG_ERRCLASS_NET,
                            "%s refused the push (HTTP %ld): %s", cl->peer.code,
                            x->status, msg);
    return pg_error_set(code, PG_ERRCLASS_NET,
                        "%s refused the request (HTTP %ld): %s", cl->peer.code,
                        x->status, msg);
}

/* --- push -------------------------------------------------------------- */

static int push_one(client *cl, bool first, bool *done)
{
    char out[4200];
    pg_net_exported e;
    exchange x;
    int error;

    memset(&e, 0, sizeof(e));
    memset(&x, 0, sizeof(x));
    snprintf(out, sizeof(out), "%s/sync-push-%d-%lu.bundle", cl->tmp_dir,
             (int)getpid(), ++cl->counter);
    uint8_t raw[16];
    char token[2 * sizeof(raw) + 1];
    pg_random(raw, sizeof(raw));
    pg_hex(token, raw, sizeof(raw));
    pg_export_opts eo = {
        .deliver_token = token,
        .to = cl->peer.code,
        .out = out,
        .max_bytes = cl->opts->bundle_max ? cl->opts->bundle_max
                                          : PG_NET_DEFAULT_BUNDLE_MAX,
        .max_files = 1,
        .cover = true,
        .resend = first,
        .has_after = !first || cl->opts->from_start,
        .after = first ? 0 : cl->pushed_upto,
        .scratch = true, /* sent at once, then removed */
    };
    lock(cl);
    error = pg_bundle_export(cl->node, &eo, pg_net_keep_export, &e);
    unlock(cl);
    if (error < 0)
        return error;
    if (!e.have) {
        *done = true;
        return 0;
    }
    int fd = open(e.path, O_RDONLY | O_CLOEXEC);
    unlink(e.path);
    char hash[2 * PG_HASH_LEN + 1];
    uint64_t len = 0;
    FILE *up = NULL;
    if (fd < 0 || (error = pg_net_fd_hash(hash, &len, fd)) < 0 ||
        !(up = fdopen(fd, "rb"))) {
        if (fd >= 0)
            close(fd);
        return error < 0 ? error
                         : pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                        "cannot read %s: %s", e.path,
                                        pg_error__oserr(errno));
    }
    x.method = "POST";
    x.upload = e.path;
    snprintf(x.uri, sizeof(x.uri), "/v1/push");
    x.body_max = 1 << 20;
    if (!(x.out = tmpfile())) {
        fclose(up);
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot make a temporary file: %s",
                            pg_error__oserr(errno));
    }
    error = request(cl, &x, up, len, hash);
    fclose(up);
    if (error == 0 && (x.status < 200 || x.status >= 300))
        error = http_failure(cl, &x);
    json_t *j = NULL;
    if (error == 0)
        error = check_answer(cl, &x);
    if (error == 0) {
        size_t blen = 0;
        char *body = read_small(x.out, &blen);
        j = body ? json_loadb(body, blen, 0, NULL) : NULL;
        free(body);
        const char *sender = json_string_value(json_object_get(j, "sender"));
        json_t *ack = json_object_get(j, "ack");
        if (!json_is_integer(ack) || json_integer_value(ack) < 0 || !sender ||
            strcmp(sender, pg_node_code(cl->node)) != 0)
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                                 "%s answered a push with something that is "
                                 "not an acknowledgement",
                                 cl->peer.code);
        else {
            lock(cl);
            error = pg_exchange_ack(cl->node, cl->peer.code,
                                    (uint64_t)json_integer_value(ack));
            if (error == 0)
                error = pg_exchange_delivered(cl->node, cl->peer.code, token);
            unlock(cl);
        }
    }
    if (error == 0) {
        cl->rep->pushed_bundles++;
        cl->rep->pushed_txns += e.info.txns;
        cl->rep->pushed_bytes += len;
        cl->rep->server_applied +=
            (uint64_t)json_integer_value(json_object_get(j, "applied"));
        cl->rep->server_duplicates +=
            (uint64_t)json_integer_value(json_object_get(j, "duplicates"));
        cl->rep->server_quarantined +=
            (uint64_t)json_integer_value(json_object_get(j, "quarantined"));
        *done = !e.info.more;
        cl->pushed_upto = e.info.last;
    }
    json_decref(j);
    fclose(x.out);
    return error;
}

/* --- pull -------------------------------------------------------------- */

static int pull_one(client *cl, uint64_t *after, bool *done)
{
    char path[4200];
    exchange x;
    pg_peer p;
    pg_bundle_report rep;
    int error;

    memset(&x, 0, sizeof(x));
    memset(&rep, 0, sizeof(rep));
    lock(cl);
    error = pg_peer_get(&p, cl->node, cl->peer.code);
    unlock(cl);
    if (error < 0)
        return error;
    uint64_t max =
        cl->opts->bundle_max ? cl->opts->bundle_max : PG_NET_DEFAULT_BUNDLE_MAX;
    x.method = "GET";
    int n = snprintf(x.uri, sizeof(x.uri),
                     "/v1/pull?after=%" PRIu64 "&ack=%" PRId64 "&max=%" PRIu64,
                     *after, p.received_upto, max);
    if (cl->got[0])
        snprintf(x.uri + n, sizeof(x.uri) - (size_t)n, "&got=%s", cl->got);
    /* A bundle holds at least one txn, which may be larger than max. */
    x.body_max = max + max / 8 + PULL_SLACK;
    snprintf(path, sizeof(path), "%s/sync-pull-%d-%lu.bundle", cl->tmp_dir,
             (int)getpid(), ++cl->counter);
    if (!(x.out = fopen(path, "w+bx")))
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                            path, pg_error__oserr(errno));
    char empty[2 * PG_HASH_LEN + 1];
    pg_net_body_hash(empty, "", 0);
    error = request(cl, &x, NULL, 0, empty);
    if (error == 0 && x.status != 200 && x.status != 204)
        error = http_failure(cl, &x);
    if (error == 0)
        error = check_answer(cl, &x);
    if (error == 0 && x.status == 204)
        *done = true;
    if (error == 0 && x.status == 200) {
        /* No fsync: the import reads it back at once, and a crash before
         * it commits leaves nothing to keep (the pull is asked again). */
        if (fflush(x.out) != 0)
            error =
                pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                             path, pg_error__oserr(errno));
        if (error == 0) {
            lock(cl);
            error = pg_bundle_import(cl->node, path, &rep);
            unlock(cl);
        }
        if (error < 0 && rep.message[0]) {
            /* The import's message, localized when it is the last error. */
            pg_error__text why;
            pg_error__text_last(&why);
            if (strcmp(why.en, rep.message) != 0) {
                snprintf(why.en, sizeof(why.en), "%s", rep.message);
                snprintf(why.loc, sizeof(why.loc), "%s", rep.message);
            }
            if (rep.status == PG_BUNDLE_REFUSED)
                error = pg_error__wrap(error, PG_ERRCLASS_NET, &why,
                                       "the bundle pulled from %s was "
                                       "refused: %s",
                                       cl->peer.code, why.en);
            else
                error = pg_error__wrap(error, PG_ERRCLASS_NET, &why,
                                       "the bundle pulled from %s was not "
                                       "applied: %s",
                                       cl->peer.code, why.en);
        }
        if (error == 0) {
            cl->rep->pulled_bundles++;
            cl->rep->pulled_txns += rep.txns;
            cl->rep->pulled_bytes += x.body_len;
            cl->rep->applied += rep.applied + rep.pending_resolved;
            cl->rep->duplicates += rep.duplicates;
            cl->rep->conflicts += rep.conflicts;
            cl->rep->quarantined += rep.quarantined;
            cl->rep->pending += rep.pending;
            snprintf(cl->got, sizeof(cl->got), "%s", x.h_bundle);
            /* A bundle may end at or before `after` when it carries a
             * partner's backfill (earlier txns of records newly in its
             * agreement), but not without txns, and not again and again. */
            if (rep.last > *after) {
                *after = rep.last;
                cl->stalled = 0;
            } else if (rep.txns == 0 || ++cl->stalled > STALLED_MAX) {
                error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                                     "%s keeps sending bundles that end at "
                                     "%" PRIu64 ", not after %" PRIu64,
                                     cl->peer.code, rep.last, *after);
            }
        }
    }
    fclose(x.out);
    unlink(path);
    return error;
}

/* --- a sync ------------------------------------------------------------ */

/* Bundles in flight live in DIR/http-tmp as sync-push-PID-N.bundle and
 * sync-pull-PID-N.bundle; those of a process that is gone (killed in the
 * middle of a sync) are removed. */
static void tmp_prepare(client *cl)
{
    snprintf(cl->tmp_dir, sizeof(cl->tmp_dir), "%s/http-tmp", cl->node->dir);
    if (mkdir(cl->tmp_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(cl->tmp_dir, sizeof(cl->tmp_dir), "%s", cl->node->dir);
        return;
    }
    DIR *d = opendir(cl->tmp_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[4400];
        int pid = 0;
        if (sscanf(e->d_name, "sync-push-%d-", &pid) != 1 &&
            sscanf(e->d_name, "sync-pull-%d-", &pid) != 1)
            continue;
        if (pid > 0 && pid != (int)getpid() && kill((pid_t)pid, 0) != 0 &&
            errno == ESRCH) {
            snprintf(path, sizeof(path), "%s/%s", cl->tmp_dir, e->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
}

/* Set up a client for the peer @p code: its pinned card and URL (under
 * the node's lock). */
static int client_begin(client *cl, pg_node *node, const char *code,
                        const pg_sync_opts *opts, pg_sync_report *report,
                        const char *phase, bool files_too)
{
    int error;

    memset(report, 0, sizeof(*report));
    memset(cl, 0, sizeof(*cl));
    snprintf(report->peer, sizeof(report->peer), "%s", code ? code : "");
    report->phase = phase;
    cl->node = node;
    cl->opts = opts;
    cl->rep = report;
    lock(cl);
    error = pg_peer_get(&cl->peer, node, code);
    if (error == 0)
        error = pg_keys_card(&cl->card, node, cl->peer.code);
    unlock(cl);
    if (error == 0 && !cl->peer.url[0] && files_too)
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                             "peer %s has no URL: give one with 'pingan peer "
                             "set %s --url URL', or exchange files",
                             code, code);
    else if (error == 0 && !cl->peer.url[0])
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                             "peer %s has no URL: give one with 'pingan peer "
                             "set %s --url URL'",
                             code, code);
    if (error == 0)
        snprintf(report->url, sizeof(report->url), "%s", cl->peer.url);
    return error;
}

int pg_sync(pg_node *node, const char *code, const pg_sync_opts *opts,
            pg_sync_report *report)
{
    client cl;
    int error;
    int64_t start = pg_time_now_ms();

    error = client_begin(&cl, node, code, opts, report, "push", true);
    if (error == 0) {
        tmp_prepare(&cl);
        if (!(cl.curl = curl_easy_init()))
            error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                 "cannot start libcurl");
    }
    /* What earlier pushes sent a partner whole but never saw arrive is
     * sent whole again. */
    if (error == 0) {
        lock(&cl);
        error = pg_exchange_delivered(node, cl.peer.code, NULL);
        unlock(&cl);
    }
    bool done = false;
    for (bool first = true; error == 0 && !done; first = false) {
        error = push_one(&cl, first, &done);
        progress(&cl);
        if (error == 0 && !done && stopped(&cl))
            error = pg_error_set(PG_ENET, PG_ERRCLASS_NET, "stopped");
    }
    if (error == 0) {
        report->phase = "pull";
        lock(&cl);
        pg_peer p;
        error = pg_peer_get(&p, node, code);
        unlock(&cl);
        uint64_t after = opts->from_start ? 0 : (uint64_t)p.received_upto;
        done = false;
        while (error == 0 && !done) {
            error = pull_one(&cl, &after, &done);
            progress(&cl);
            if (error == 0 && !done && stopped(&cl))
                error = pg_error_set(PG_ENET, PG_ERRCLASS_NET, "stopped");
        }
    }
    if (report->skew_known) {
        lock(&cl);
        pg_net_note_skew(node, cl.peer.code, report->skew_ms);
        unlock(&cl);
    }
    if (error == 0) {
        /* Caught up: the sync counts as the last successful exchange. */
        lock(&cl);
        error = pg_exchange_ack(node, cl.peer.code, 0);
        unlock(&cl);
    }
    if (error < 0) {
        const pg_error *e = pg_error_last();
        report->error = error;
        snprintf(report->message, sizeof(report->message), "%s",
                 e && e->message[0] ? e->message : pg_error_name(error));
    } else {
        report->phase = "done";
    }
    if (cl.curl)
        curl_easy_cleanup(cl.curl);
    report->elapsed_ms = pg_time_now_ms() - start;
    return error;
}

/* --- audit heads -------------------------------------------------------- */

int pg_sync_audit_heads(pg_buf *out, pg_node *node, const char *code,
                        const pg_sync_opts *opts, pg_sync_report *report)
{
    client cl;
    exchange x;
    int error;
    int64_t start = pg_time_now_ms();

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(opts);
    PG_ASSERT_ARG(report);
    memset(&x, 0, sizeof(x));
    error = client_begin(&cl, node, code, opts, report, "audit", false);
    if (error == 0) {
        if (!(cl.curl = curl_easy_init()))
            error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                 "cannot start libcurl");
    }
    if (error == 0 && !(x.out = tmpfile()))
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                             "cannot make a temporary file: %s",
                             pg_error__oserr(errno));
    if (error == 0) {
        char empty[2 * PG_HASH_LEN + 1];
        pg_net_body_hash(empty, "", 0);
        x.method = "GET";
        snprintf(x.uri, sizeof(x.uri), "/v1/audit/heads");
        x.body_max = out->max ? out->max : (size_t)16 << 20;
        error = request(&cl, &x, NULL, 0, empty);
    }
    if (error == 0 && x.status != 200)
        error = http_failure(&cl, &x);
    if (error == 0)
        error = check_answer(&cl, &x);
    if (error == 0) {
        char chunk[8192];
        size_t n;
        while (error == 0 && (n = fread(chunk, 1, sizeof(chunk), x.out)) > 0)
            error = pg_buf_put(out, chunk, n);
        if (error == 0 && ferror(x.out))
            error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                 "cannot read a temporary file");
    }
    if (report->skew_known) {
        lock(&cl);
        pg_net_note_skew(node, cl.peer.code, report->skew_ms);
        unlock(&cl);
    }
    if (error < 0) {
        const pg_error *e = pg_error_last();
        report->error = error;
        snprintf(report->message, sizeof(report->message), "%s",
                 e && e->message[0] ? e->message : pg_error_name(error));
    } else {
        report->phase = "done";
    }
    if (x.out)
        fclose(x.out);
    if (cl.curl)
        curl_easy_cleanup(cl.curl);
    report->elapsed_ms = pg_time_now_ms() - start;
    return error;
}
