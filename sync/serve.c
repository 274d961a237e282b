/*
 * `pingan serve`: answering pulls and pushes of pinned peers over HTTP
 * with libmicrohttpd (pingan/net.h, DESIGN §8).
 *
 * One thread per connection (at most max_connections), one node handle
 * shared under a mutex by every request and by the periodic syncs: the
 * store is written by one of them at a time, and the network is never
 * waited on while the mutex is held.  Every request but GET /v1/health
 * is authenticated from its headers before its body is read; a request
 * that fails gets 401 or 403, a log line and a row for `pingan status`,
 * and nothing else.
 */
#include "pingan/net.h"
#include "error_internal.h"
#include "i18n_internal.h"
#include "netauth.h"
#include "node_internal.h"
#include "pingan/audit.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/value.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PULL_MIN_BYTES      (64u << 10)
#define REFUSALS_PER_SECOND 20

/* An open connection and when its current request began (0: free). */
typedef struct conn_slot {
    int fd;
    int64_t since_ms;
    bool used, cut;
} conn_slot;

typedef struct server {
    const pg_serve_opts *opts;
    pg_node *node;
    pthread_mutex_t lock; /* the node */
    pthread_mutex_t log_lock;
    FILE *log;
    uint64_t max_body;
    unsigned request_max_s;
    char tmp_dir[4096];
    unsigned long counter; /* names of temporary files (under lock) */
    pthread_t syncer;
    bool syncing;
    int64_t refusal_second; /* refusals in this second (under log_lock) */
    unsigned long refusals, refusals_dropped;
    /* Open connections, for the cut of requests that take too long:
     * libmicrohttpd's timeout counts idleness, so a client trickling a
     * byte now and then would otherwise hold a connection forever. */
    pthread_mutex_t conn_lock;
    conn_slot *conns;
    size_t nconns;
} server;

enum { REQ_OTHER, REQ_HEALTH, REQ_PULL, REQ_PUSH, REQ_AUDIT_HEADS };

typedef struct request {
    char *uri; /* as sent: path and query */
    int64_t start_ms;
    bool started;
    bool responded; /* an answer is queued: the rest is discarded */
    int kind;
    bool authed;
    pg_net_auth auth;
    int fd;
    char tmp[4200];
    uint64_t length, received;
    pg_hash_state hash;
} request;

/* --- logging ------------------------------------------------------- */

static void client_address(char *out, size_t len, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, len, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET,
                  &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  out, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  out, (socklen_t)len);
}

static void log_line(server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void log_line(server *srv, const char *fmt, ...)
{
    char when[40];
    va_list ap;
    int64_t now = pg_time_now_ms();
    /* China Standard Time, to the second: read by a person. */
    pg_time_format(when, now - now % 1000);
    pthread_mutex_lock(&srv->log_lock);
    fprintf(srv->log, "%s ", when);
    va_start(ap, fmt);
    vfprintf(srv->log, fmt, ap);
    va_end(ap);
    fputc('\n', srv->log);
    fflush(srv->log);
    pthread_mutex_unlock(&srv->log_lock);
}

/* "METHOD PATH" of a request for a log line or a record: at most about
 * 200 bytes, the query left out, anything but printable ASCII as '?' (the
 * path comes from anybody). */
static void request_line(char *out, size_t cap, const char *method,
                         const request *r)
{
    const char *uri = r->uri ? r->uri : "";
    size_t n = 0;
    for (const char *p = method; *p && n + 1 < cap && n < 16; p++)
        out[n++] = *p > 0x20 && *p < 0x7f ? *p : '?';
    if (n + 1 < cap)
        out[n++] = ' ';
    for (const char *p = uri; *p && *p != '?' && n + 1 < cap && n < 216; p++)
        out[n++] = *p > 0x20 && *p < 0x7f ? *p : '?';
    out[n] = '\0';
}

/* The request as recorded in the store (`rejected`, the audit trail):
 * the method and the endpoint, never the rest of a path a stranger chose,
 * which may hold anything (an ID number, a name). */
static void request_kind(char *out, size_t cap, const char *method,
                         const request *r)
{
    static const char *const known[] = {"/v1/pull", "/v1/push", "/v1/health",
                                        "/v1/audit/heads"};
    const char *uri = r->uri ? r->uri : "";
    size_t len = strcspn(uri, "?");
    const char *path = "(another path)";
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strlen(known[i]) == len && memcmp(uri, known[i], len) == 0)
            path = known[i];
    bool plain = strlen(method) <= 16;
    for (const char *p = method; plain && *p; p++)
        plain = *p >= 'A' && *p <= 'Z';
    snprintf(out, cap, "%s %s", plain ? method : "?", path);
}

static void log_request(server *srv, struct MHD_Connection *c, const request *r,
                        const char *method, int status, const char *what)
{
    char addr[64], line[256];
    client_address(addr, sizeof(addr), c);
    request_line(line, sizeof(line), method, r);
    log_line(srv, "%s %s %d %s %s (%" PRId64 " ms)", addr, line, status,
             r->authed ? r->auth.from : "-", what,
             pg_time_now_ms() - r->start_ms);
}

/* --- responses ------------------------------------------------------ */

static void sign_headers(server *srv, struct MHD_Response *resp,
                         const request *r, int status, const char *body_hash,
                         const char *bundle)
{
    char sig[2 * PG_SIG_LEN + 1], when[24];
    int64_t now = pg_time_now_ms();
    snprintf(when, sizeof(when), "%" PRId64, now);
    MHD_add_response_header(resp, PG_NET_H_TIME, when);
    if (!r->authed)
        return;
    pg_net_sign_response(sig, srv->node, status, &r->auth, now, body_hash,
                         bundle);
    if (bundle)
        MHD_add_response_header(resp, PG_NET_H_BUNDLE, bundle);
    MHD_add_response_header(resp, PG_NET_H_NONCE, r->auth.nonce);
    MHD_add_response_header(resp, PG_NET_H_BODY, body_hash);
    MHD_add_response_header(resp, PG_NET_H_SIG, sig);
}

/* Answer with a JSON body (stolen); signed when the request was. */
static enum MHD_Result respond_json(server *srv, struct MHD_Connection *c,
                                    request *r, int status, json_t *j)
{
    char hash[2 * PG_HASH_LEN + 1];
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    pg_net_body_hash(hash, text, len);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, "Retry-After", "2");
    sign_headers(srv, resp, r, status, hash, NULL);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

static enum MHD_Result respond_error(server *srv, struct MHD_Connection *c,
                                     request *r, const char *method, int status,
                                     const char *message)
{
    log_request(srv, c, r, method, status, message);
    return respond_json(srv, c, r, status,
                        json_pack("{s:s}", "error", message));
}

/* Whether a refusal is logged and recorded: at most REFUSALS_PER_SECOND,
 * so a flood of bad requests costs neither the disk nor the log. */
static bool refusal_noted(server *srv)
{
    int64_t second = pg_time_now_ms() / 1000;
    unsigned long dropped = 0;
    bool note;
    pthread_mutex_lock(&srv->log_lock);
    if (second != srv->refusal_second) {
        dropped = srv->refusals_dropped;
        srv->refusal_second = second;
        srv->refusals = 0;
        srv->refusals_dropped = 0;
    }
    note = srv->refusals++ < REFUSALS_PER_SECOND;
    if (!note)
        srv->refusals_dropped++;
    pthread_mutex_unlock(&srv->log_lock);
    if (dropped)
        log_line(srv, PG_("%lu more refused requests in a second, not logged"),
                 dropped);
    return note;
}

/* The audit trail records a request's actions as done by the requesting
 * peer (a claimed code that is not one as "unknown peer"); the periodic
 * syncs, as the node itself.  Called with srv->lock held. */
static void act_as_peer(server *srv, const char *peer)
{
    pg_node_set_operator(
        srv->node, peer && pg_division_valid(peer) ? peer : "unknown peer");
}

static void act_as_node(server *srv)
{
    pg_node_set_operator(srv->node, pg_node_code(srv->node));
}

/* Log a refused request and record it in the store (audit trail, status):
 * at most REFUSALS_PER_SECOND. */
static void note_refusal(server *srv, struct MHD_Connection *c, request *r,
                         const char *method, int status, const char *peer,
                         const char *message)
{
    if (refusal_noted(srv)) {
        char reason[600], what[640];
        char line[256];
        request_kind(line, sizeof(line), method, r);
        snprintf(reason, sizeof(reason), "%s: %s", line, message);
        pthread_mutex_lock(&srv->lock);
        act_as_peer(srv, peer);
        pg_exchange_reject(srv->node, "http", peer, reason);
        act_as_node(srv);
        pthread_mutex_unlock(&srv->lock);
        snprintf(what, sizeof(what), PG_("refused (%s): %s"),
                 peer && peer[0] ? peer : "?", message);
        log_request(srv, c, r, method, status, what);
    }
}

/* Refuse a request that did not authenticate: logged and recorded with
 * @p message, answered with @p answer (NULL: the message) and no data. */
static enum MHD_Result refuse(server *srv, struct MHD_Connection *c, request *r,
                              const char *method, int status, const char *peer,
                              const char *message, const char *answer)
{
    r->authed = false;
    note_refusal(srv, c, r, method, status, peer, message);
    return respond_json(srv, c, r, status,
                        json_pack("{s:s}", "error", answer ? answer : message));
}

/* --- health ---------------------------------------------------------- */

static enum MHD_Result answer_health(server *srv, struct MHD_Connection *c,
                                     request *r)
{
    const pg_card *card = pg_node_card(srv->node);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "status", "ok",
                          "code", card->code, "name", card->name, "tier",
                          pg_tier_name(card->tier), "time_ms",
                          (json_int_t)pg_time_now_ms(), "schema", "v1");
    return respond_json(srv, c, r, MHD_HTTP_OK, j);
}

/* --- pull ------------------------------------------------------------ */

typedef struct query_check {
    unsigned after, ack, max, got, unknown;
} query_check;

static enum MHD_Result query_count(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    query_check *q = cls;
    (void)kind;
    (void)value;
    if (strcmp(key, "after") == 0)
        q->after++;
    else if (strcmp(key, "ack") == 0)
        q->ack++;
    else if (strcmp(key, "max") == 0)
        q->max++;
    else if (strcmp(key, "got") == 0)
        q->got++;
    else
        q->unknown++;
    return MHD_YES;
}

static bool parse_u64(uint64_t *out, const char *s)
{
    if (!s || !*s || strlen(s) > 19 || strspn(s, "0123456789") != strlen(s))
        return false;
    *out = strtoull(s, NULL, 10);
    return true;
}

/* 32 lower-case hex digits. */
static bool is_token(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static enum MHD_Result answer_pull(server *srv, struct MHD_Connection *c,
                                   request *r)
{
    query_check q = {0, 0, 0, 0, 0};
    uint64_t after, ack, max = PG_NET_DEFAULT_BUNDLE_MAX;
    const char *smax, *got;

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_count, &q);
    smax = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "max");
    got = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "got");
    if (q.unknown || q.after > 1 || q.ack > 1 || q.max > 1 || q.got > 1 ||
        (got && !is_token(got)) ||
        !parse_u64(&after, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                       "after")) ||
        !parse_u64(&ack, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                     "ack")) ||
        (smax && !parse_u64(&max, smax)))
        return respond_error(srv, c, r, "GET", MHD_HTTP_BAD_REQUEST,
                             "a pull takes after=N and ack=N (sequence "
                             "numbers), optionally max=BYTES and got=TOKEN "
                             "(of the bundle pulled last), nothing else");
    if (max < PULL_MIN_BYTES)
        max = PULL_MIN_BYTES;
    if (max > srv->max_body)
        max = srv->max_body;

    pg_net_exported p;
    memset(&p, 0, sizeof(p));
    char out[4200];
    pthread_mutex_lock(&srv->lock);
    snprintf(out, sizeof(out), "%s/pull-%s-%lu.bundle", srv->tmp_dir,
             r->auth.from, ++srv->counter);
    /* The bundle goes by a fresh token; the next pull names it once the
     * bundle is applied, and only then does a partner count as having
     * the records sent whole in it (DESIGN §6). */
    uint8_t raw[16];
    char token[2 * sizeof(raw) + 1];
    pg_random(raw, sizeof(raw));
    pg_hex(token, raw, sizeof(raw));
    pg_export_opts eo = {.to = r->auth.from,
                         .out = out,
                         .max_bytes = max,
                         .max_files = 1,
                         .after = after,
                         .has_after = true,
                         .cover = true,
                         .deliver_token = token,
                         .scratch = true}; /* sent at once, then removed */
    int error = pg_exchange_ack(srv->node, r->auth.from, ack);
    if (error == 0)
        error = pg_exchange_delivered(srv->node, r->auth.from, got);
    if (error == 0)
        error = pg_bundle_export(srv->node, &eo, pg_net_keep_export, &p);
    const pg_error *e = pg_error_last();
    char message[512];
    snprintf(message, sizeof(message), "%s",
             e && e->message[0] ? e->message : pg_error_name(error));
    pthread_mutex_unlock(&srv->lock);
    if (error < 0) {
        if (p.have)
            unlink(p.path);
        int status = error == PG_EBUSY     ? MHD_HTTP_SERVICE_UNAVAILABLE
                     : error == PG_EPOLICY ? MHD_HTTP_FORBIDDEN
                                           : MHD_HTTP_INTERNAL_SERVER_ERROR;
        return respond_error(srv, c, r, "GET", status, message);
    }
    if (!p.have) {
        char hash[2 * PG_HASH_LEN + 1];
        pg_net_body_hash(hash, "", 0);
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        sign_headers(srv, resp, r, MHD_HTTP_NO_CONTENT, hash, NULL);
        log_request(srv, c, r, "GET", MHD_HTTP_NO_CONTENT,
                    PG_("nothing to send"));
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, resp);
        MHD_destroy_response(resp);
        r->responded = true;
        return ret;
    }
    int fd = open(p.path, O_RDONLY | O_CLOEXEC);
    unlink(p.path);
    uint64_t size = 0;
    char hash[2 * PG_HASH_LEN + 1];
    if (fd < 0 || pg_net_fd_hash(hash, &size, fd) < 0) {
        if (fd >= 0)
            close(fd);
        return respond_error(srv, c, r, "GET", MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "cannot read the bundle just written");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd(size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type",
                            "application/vnd.pingan.bundle");
    sign_headers(srv, resp, r, MHD_HTTP_OK, hash, token);
    char what[160];
    snprintf(what, sizeof(what),
             PG_("sent %llu txns, seq %llu-%llu, %llu bytes%s"),
             (unsigned long long)p.info.txns, (unsigned long long)p.info.first,
             (unsigned long long)p.info.last, (unsigned long long)p.info.bytes,
             p.info.more ? PG_(", more to come") : "");
    log_request(srv, c, r, "GET", MHD_HTTP_OK, what);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

/* --- audit heads ------------------------------------------------------ */

/* GET /v1/audit/heads: the heads file (proto/FORMAT.md §9.3) holding the
 * head of the caller's audit chain this node holds, signed with this
 * node's key, for a child's `pingan audit verify --against-parent`.  Only
 * a child asks: any other peer gets 403 (signed, logged and recorded), and
 * a child learns nothing of its siblings' heads. */
static enum MHD_Result answer_audit_heads(server *srv, struct MHD_Connection *c,
                                          request *r)
{
    pg_peer peer;
    pg_buf text;
    const char *query = strchr(r->uri ? r->uri : "", '?');

    if (query)
        return respond_error(srv, c, r, "GET", MHD_HTTP_BAD_REQUEST,
                             "GET /v1/audit/heads takes no query");
    pg_buf_init(&text, (size_t)16 << 20);
    pthread_mutex_lock(&srv->lock);
    int error = pg_peer_get(&peer, srv->node, r->auth.from);
    bool child = error == 0 && peer.role == PG_PEER_CHILD;
    if (child)
        error = pg_audit_heads_export_child(&text, srv->node, r->auth.from);
    char message[512];
    snprintf(message, sizeof(message), "%s",
             error < 0 && pg_error_last()->message[0] ? pg_error_last()->message
                                                      : pg_error_name(error));
    pthread_mutex_unlock(&srv->lock);
    if (error == 0 && !child) {
        pg_buf_dispose(&text);
        note_refusal(srv, c, r, "GET", MHD_HTTP_FORBIDDEN, r->auth.from,
                     "audit heads asked by a peer that is not a child");
        return respond_json(
            srv, c, r, MHD_HTTP_FORBIDDEN,
            json_pack("{s:s}", "error",
                      "only a child of this node may fetch its audit "
                      "heads"));
    }
    if (error < 0) {
        pg_buf_dispose(&text);
        return respond_error(srv, c, r, "GET",
                             error == PG_EBUSY ? MHD_HTTP_SERVICE_UNAVAILABLE
                                               : MHD_HTTP_INTERNAL_SERVER_ERROR,
                             message);
    }
    char hash[2 * PG_HASH_LEN + 1];
    pg_net_body_hash(hash, text.data, text.len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        text.len, text.data, MHD_RESPMEM_MUST_COPY);
    pg_buf_dispose(&text);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    sign_headers(srv, resp, r, MHD_HTTP_OK, hash, NULL);
    log_request(srv, c, r, "GET", MHD_HTTP_OK,
                PG_("sent the caller's audit head"));
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

/* --- push ------------------------------------------------------------ */

static enum MHD_Result push_start(server *srv, struct MHD_Connection *c,
                                  request *r)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl)
        return respond_error(srv, c, r, "POST", MHD_HTTP_LENGTH_REQUIRED,
                             "a push needs a Content-Length");
    if (!parse_u64(&r->length, cl))
        return respond_error(srv, c, r, "POST", MHD_HTTP_BAD_REQUEST,
                             "bad Content-Length");
    if (r->length > srv->max_body) {
        char m[320];
        snprintf(m, sizeof(m),
                 "the body of %" PRIu64 " bytes is over this server's limit "
                 "of %" PRIu64 " bytes (serve --max-body): sync with a "
                 "smaller --bundle-max, or, when a single txn is larger, "
                 "raise the server's limit",
                 r->length, srv->max_body);
        return respond_error(srv, c, r, "POST", MHD_HTTP_CONTENT_TOO_LARGE, m);
    }
    pthread_mutex_lock(&srv->lock);
    snprintf(r->tmp, sizeof(r->tmp), "%s/push-%s-%lu.bundle", srv->tmp_dir,
             r->auth.from, ++srv->counter);
    pthread_mutex_unlock(&srv->lock);
    r->fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (r->fd < 0) {
        r->tmp[0] = '\0';
        return respond_error(srv, c, r, "POST", MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "cannot store the upload");
    }
    pg_hash_init(&r->hash, PG_HASH_LEN);
    return MHD_YES;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static enum MHD_Result answer_push(server *srv, struct MHD_Connection *c,
                                   request *r)
{
    uint8_t h[PG_HASH_LEN];
    char hex[2 * PG_HASH_LEN + 1];
    pg_bundle_report rep;
    pg_peer peer;

    pg_hash_final(&r->hash, h);
    pg_hex(hex, h, sizeof(h));
    close(r->fd);
    r->fd = -1;
    if (r->received != r->length || strcmp(hex, r->auth.body) != 0)
        return refuse(srv, c, r, "POST", MHD_HTTP_UNAUTHORIZED, r->auth.from,
                      "the body does not match the hash it was signed with",
                      NULL);
    pthread_mutex_lock(&srv->lock);
    act_as_peer(srv, r->auth.from);
    int error = pg_bundle_import(srv->node, r->tmp, &rep);
    act_as_node(srv);
    int64_t ack = -1;
    if (error == 0 && pg_peer_get(&peer, srv->node, rep.sender) == 0)
        ack = peer.received_upto;
    pthread_mutex_unlock(&srv->lock);
    unlink(r->tmp);
    r->tmp[0] = '\0';
    if (error < 0) {
        int status = rep.status == PG_BUNDLE_REFUSED
                         ? MHD_HTTP_UNPROCESSABLE_CONTENT
                         : MHD_HTTP_SERVICE_UNAVAILABLE;
        return respond_error(srv, c, r, "POST", status, rep.message);
    }
    char what[200];
    snprintf(what, sizeof(what),
             PG_("received %llu txns: %llu applied, %llu duplicate, %llu "
                 "quarantined, %llu pending"),
             (unsigned long long)rep.txns, (unsigned long long)rep.applied,
             (unsigned long long)rep.duplicates,
             (unsigned long long)rep.quarantined,
             (unsigned long long)rep.pending);
    log_request(srv, c, r, "POST", MHD_HTTP_OK, what);
    json_t *j = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "sender",
        rep.sender, "ack", (json_int_t)(ack < 0 ? 0 : ack), "first",
        (json_int_t)rep.first, "last", (json_int_t)rep.last, "txns",
        (json_int_t)rep.txns, "applied", (json_int_t)rep.applied, "duplicates",
        (json_int_t)rep.duplicates, "conflicts", (json_int_t)rep.conflicts,
        "quarantined", (json_int_t)rep.quarantined, "pending",
        (json_int_t)rep.pending);
    return respond_json(srv, c, r, MHD_HTTP_OK, j);
}

/* --- connections -------------------------------------------------------- */

static void conn_notify(void *cls, struct MHD_Connection *c,
                        void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    server *srv = cls;
    pthread_mutex_lock(&srv->conn_lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (size_t i = 0; ci && i < srv->nconns; i++)
            if (!srv->conns[i].used) {
                srv->conns[i] = (conn_slot){.fd = ci->connect_fd,
                                            .since_ms = pg_time_now_ms(),
                                            .used = true};
                *socket_context = &srv->conns[i];
                break;
            }
    } else if (*socket_context) {
        /* Closed: the socket is closed after this returns. */
        memset(*socket_context, 0, sizeof(conn_slot));
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&srv->conn_lock);
}

/* A request is over: the connection's next one starts its clock now. */
static void conn_request_done(server *srv, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    pthread_mutex_lock(&srv->conn_lock);
    if (ci && ci->socket_context)
        ((conn_slot *)ci->socket_context)->since_ms = pg_time_now_ms();
    pthread_mutex_unlock(&srv->conn_lock);
}

/* Cut every connection whose request has taken longer than allowed. */
static void conn_cut_slow(server *srv)
{
    int64_t limit = pg_time_now_ms() - (int64_t)srv->request_max_s * 1000;
    unsigned cut = 0;
    pthread_mutex_lock(&srv->conn_lock);
    for (size_t i = 0; i < srv->nconns; i++) {
        conn_slot *k = &srv->conns[i];
        if (k->used && !k->cut && k->since_ms < limit) {
            shutdown(k->fd, SHUT_RDWR);
            k->cut = true;
            cut++;
        }
    }
    pthread_mutex_unlock(&srv->conn_lock);
    if (cut)
        log_line(srv,
                 dngettext(PG_TEXTDOMAIN,
                           "cut %u connection: a request took longer than "
                           "%u s (serve --request-max)",
                           "cut %u connections: a request took longer than "
                           "%u s (serve --request-max)",
                           cut),
                 cut, srv->request_max_s);
}

/* --- dispatch -------------------------------------------------------- */

static enum MHD_Result authenticate(server *srv, struct MHD_Connection *c,
                                    request *r, const char *method)
{
#define HDR(name) MHD_lookup_connection_value(c, MHD_HEADER_KIND, name)
    pg_net_auth a;
    pg_net_refusal refusal = PG_NET_OK;
    int64_t skew = 0;
    bool signed_ok = false;
    const char *from = HDR(PG_NET_H_FROM);
    char peer[PG_CODE_LEN + 1] = "";
    if (from && strlen(from) == PG_CODE_LEN)
        memcpy(peer, from, sizeof(peer));
    if (pg_net_auth_parse(&a, from, HDR(PG_NET_H_KEY), HDR(PG_NET_H_TIME),
                          HDR(PG_NET_H_NONCE), HDR(PG_NET_H_BODY),
                          HDR(PG_NET_H_SIG)) < 0)
        return refuse(srv, c, r, method, MHD_HTTP_UNAUTHORIZED, peer,
                      pg_error_last()->message, NULL);
#undef HDR
    pthread_mutex_lock(&srv->lock);
    int error =
        pg_net_verify_request(srv->node, method, r->uri, &a, pg_time_now_ms(),
                              &refusal, &skew, &signed_ok);
    char message[512];
    snprintf(message, sizeof(message), "%s", pg_error_last()->message);
    if (error == 0 && refusal == PG_NET_OK)
        pg_net_note_skew(srv->node, a.from, skew);
    pthread_mutex_unlock(&srv->lock);
    if (error < 0)
        return respond_error(srv, c, r, method, MHD_HTTP_SERVICE_UNAVAILABLE,
                             message);
    /* Who is a peer, with which key, is for the log: an unknown signer
     * learns only that it is not known. */
    if (refusal != PG_NET_OK)
        return refuse(srv, c, r, method, (int)refusal, a.from, message,
                      signed_ok ? NULL
                                : "not authenticated: the request is not "
                                  "signed by a key this server knows");
    r->auth = a;
    r->authed = true;
    return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    server *srv = cls;
    request *r = *req_cls;
    (void)version;

    if (!r)
        return MHD_NO;
    if (!r->started) {
        r->started = true;
        r->fd = -1;
        r->start_ms = pg_time_now_ms();
        if (strcmp(url, "/v1/health") == 0)
            r->kind = REQ_HEALTH;
        else if (strcmp(url, "/v1/pull") == 0)
            r->kind = REQ_PULL;
        else if (strcmp(url, "/v1/push") == 0)
            r->kind = REQ_PUSH;
        else if (strcmp(url, "/v1/audit/heads") == 0)
            r->kind = REQ_AUDIT_HEADS;
        if (r->kind == REQ_HEALTH && strcmp(method, "GET") == 0)
            return answer_health(srv, c, r);
        if (authenticate(srv, c, r, method) == MHD_NO)
            return MHD_NO;
        if (!r->authed)
            return MHD_YES; /* refused: the answer is queued */
        if ((r->kind == REQ_PULL || r->kind == REQ_AUDIT_HEADS) &&
            strcmp(method, "GET") == 0) {
            char empty[2 * PG_HASH_LEN + 1];
            pg_net_body_hash(empty, "", 0);
            if (strcmp(r->auth.body, empty) != 0)
                return respond_error(srv, c, r, method, MHD_HTTP_BAD_REQUEST,
                                     "a GET has no body");
            return MHD_YES; /* answered once the (empty) body is read */
        }
        if (r->kind == REQ_PUSH && strcmp(method, "POST") == 0)
            return push_start(srv, c, r);
        return respond_error(srv, c, r, method,
                             r->kind == REQ_OTHER ? MHD_HTTP_NOT_FOUND
                                                  : MHD_HTTP_METHOD_NOT_ALLOWED,
                             r->kind == REQ_OTHER
                                 ? "no such endpoint (GET /v1/pull, POST "
                                   "/v1/push, GET /v1/audit/heads, GET "
                                   "/v1/health)"
                                 : "wrong method for this endpoint");
    }
    if (r->responded || !r->authed) {
        *upload_data_size = 0; /* answered already: the rest is dropped */
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->kind != REQ_PUSH || r->fd < 0)
            return MHD_YES; /* a body where none belongs: ignored */
        if (r->received + n > r->length || !write_all(r->fd, upload_data, n))
            return MHD_NO;
        pg_hash_update(&r->hash, upload_data, n);
        r->received += n;
        return MHD_YES;
    }
    if (r->kind == REQ_PULL)
        return answer_pull(srv, c, r);
    if (r->kind == REQ_AUDIT_HEADS)
        return answer_audit_heads(srv, c, r);
    if (r->kind == REQ_PUSH && r->fd >= 0)
        return answer_push(srv, c, r);
    return MHD_YES;
}

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    request *r = calloc(1, sizeof(*r));
    if (r && !(r->uri = strdup(uri))) {
        free(r);
        r = NULL;
    }
    if (r)
        r->fd = -1;
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    request *r = *req_cls;
    (void)toe;
    conn_request_done(cls, c);
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->tmp[0])
        unlink(r->tmp);
    free(r->uri);
    free(r);
    *req_cls = NULL;
}

/* --- periodic syncs ---------------------------------------------------- */

static void node_lock(void *payload)
{
    pthread_mutex_lock(&((server *)payload)->lock);
}

static void node_unlock(void *payload)
{
    pthread_mutex_unlock(&((server *)payload)->lock);
}

typedef char peer_code[PG_CODE_LEN + 1];

/* The codes of the peers with a URL, into a pg_buf of peer_code. */
static int collect_peer(const pg_peer *p, void *payload)
{
    return p->url[0] ? pg_buf_put(payload, p->code, sizeof(peer_code)) : 0;
}

static bool sleep_until(server *srv, int64_t when_ms)
{
    while (!*srv->opts->stop && pg_time_now_ms() < when_ms) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !*srv->opts->stop;
}

static void *syncer(void *arg)
{
    server *srv = arg;
    pg_sync_opts so = srv->opts->sync;
    so.lock = node_lock;
    so.unlock = node_unlock;
    so.lock_payload = srv;
    so.progress = NULL;
    so.stop = srv->opts->stop;
    int64_t every = (int64_t)srv->opts->sync_every_s * 1000;
    int64_t next = pg_time_now_ms() + every;

    while (sleep_until(srv, next)) {
        pg_buf l = PG_BUF_INIT;
        node_lock(srv);
        int error = pg_peer_list(srv->node, collect_peer, &l);
        node_unlock(srv);
        if (error < 0)
            log_line(srv, PG_("sync: cannot list the peers: %s"),
                     pg_error_last()->message);
        const peer_code *codes = (const peer_code *)(const void *)l.data;
        for (size_t i = 0; i < l.len / sizeof(peer_code) && !*srv->opts->stop;
             i++) {
            pg_sync_report rep;
            pg_sync(srv->node, codes[i], &so, &rep);
            if (rep.error)
                log_line(srv, PG_("sync %s: failed (%s); retried in %u s"),
                         codes[i], rep.message, srv->opts->sync_every_s);
            else if (rep.pushed_txns || rep.pulled_txns)
                log_line(srv,
                         PG_("sync %s: pushed %llu txns, pulled %llu (%llu "
                             "applied) in %lld ms"),
                         codes[i], (unsigned long long)rep.pushed_txns,
                         (unsigned long long)rep.pulled_txns,
                         (unsigned long long)rep.applied,
                         (long long)rep.elapsed_ms);
        }
        pg_buf_dispose(&l);
        next = pg_time_now_ms() + every;
    }
    return NULL;
}

/* --- start and stop ---------------------------------------------------- */

static int parse_listen(struct sockaddr_storage *ss, bool *v6,
                        const char *listen)
{
    char host[256];
    const char *port;
    struct addrinfo hints, *res = NULL;

    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen) > sizeof(host))
            goto bad;
        snprintf(host, sizeof(host), "%.*s", (int)(end - listen - 1),
                 listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
            goto bad;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    uint64_t p;
    if (!parse_u64(&p, port) || p > 65535)
        goto bad;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        goto bad;
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
bad:
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                        "cannot listen on '%s': give ADDRESS:PORT with a "
                        "numeric address, e.g. 127.0.0.1:7420 or [::1]:7420",
                        listen);
}

static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f)
        goto fail;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > (1 << 20) ||
        fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)len + 1)) ||
        fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        goto fail;
    }
    fclose(f);
    buf[len] = '\0';
    if (!strstr(buf, "-----BEGIN ")) {
        free(buf);
        pg_error_set(PG_EINVALID, PG_ERRCLASS_NET, "%s is not a PEM file",
                     path);
        return NULL;
    }
    return buf;
fail:
    free(buf);
    pg_error_set(PG_EINVALID, PG_ERRCLASS_NET, "cannot read %s: %s", path,
                 pg_error__oserr(errno ? errno : EIO));
    return NULL;
}

/* Make DIR/http-tmp for uploads and pulls, emptied of what a crash left. */
static int tmp_prepare(server *srv)
{
    snprintf(srv->tmp_dir, sizeof(srv->tmp_dir), "%s/http-tmp", srv->opts->dir);
    if (mkdir(srv->tmp_dir, 0700) != 0 && errno != EEXIST)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot create %s: %s",
                            srv->tmp_dir, pg_error__oserr(errno));
    DIR *d = opendir(srv->tmp_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[4400];
        if (strncmp(e->d_name, "pull-", 5) != 0 &&
            strncmp(e->d_name, "push-", 5) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", srv->tmp_dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    return 0;
}

int pg_serve(const pg_serve_opts *opts)
{
    server srv;
    struct sockaddr_storage ss;
    bool v6 = false;
    char *cert = NULL, *key = NULL;
    int error;

    memset(&srv, 0, sizeof(srv));
    srv.opts = opts;
    srv.log = opts->log ? opts->log : stderr;
    srv.max_body = opts->max_body ? opts->max_body : PG_NET_DEFAULT_MAX_BODY;
    srv.request_max_s = opts->request_max_s ? opts->request_max_s : 300;
    if ((error = parse_listen(
             &ss, &v6, opts->listen ? opts->listen : PG_NET_DEFAULT_LISTEN)) <
        0)
        return error;
    if ((opts->tls_cert != NULL) != (opts->tls_key != NULL))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                            "https needs both --tls-cert and --tls-key");
    if (opts->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_NET,
                                "this libmicrohttpd was built without TLS");
        if (!(cert = read_pem(opts->tls_cert)) ||
            !(key = read_pem(opts->tls_key))) {
            free(cert);
            return PG_EINVALID;
        }
    }
    if ((error = pg_node_open(&srv.node, opts->dir)) < 0)
        goto out;
    act_as_node(&srv);
    if ((error = tmp_prepare(&srv)) < 0)
        goto out;
    srv.nconns = opts->max_connections ? opts->max_connections : 32;
    if (!(srv.conns = calloc(srv.nconns, sizeof(*srv.conns)))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto out;
    }
    pthread_mutex_init(&srv.lock, NULL);
    pthread_mutex_init(&srv.log_lock, NULL);
    pthread_mutex_init(&srv.conn_lock, NULL);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    if (cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, &srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, uri_logger, &srv,
        MHD_OPTION_NOTIFY_COMPLETED, completed, &srv,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, &srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)srv.nconns,
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(opts->idle_timeout_s ? opts->idle_timeout_s : 30),
        MHD_OPTION_ARRAY, cert ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    if (!d) {
        error =
            pg_error_set(PG_ERROR, PG_ERRCLASS_NET,
                         "cannot listen on %s (in use, or not an address "
                         "of this machine?)",
                         opts->listen ? opts->listen : PG_NET_DEFAULT_LISTEN);
        goto out_mutex;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : 0;
    log_line(&srv, PG_("serving %s %s on %s://%s (port %u)"),
             pg_node_code(srv.node), pg_node_name(srv.node),
             cert ? "https" : "http",
             opts->listen ? opts->listen : PG_NET_DEFAULT_LISTEN, port);
    if (opts->ready)
        opts->ready(port, cert != NULL, opts->ready_payload);
    if (opts->sync_every_s &&
        pthread_create(&srv.syncer, NULL, syncer, &srv) == 0)
        srv.syncing = true;
    while (!*opts->stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        conn_cut_slow(&srv);
    }
    if (srv.syncing)
        pthread_join(srv.syncer, NULL);
    MHD_stop_daemon(d);
    log_line(&srv, "%s", PG_("stopped"));
    error = 0;
out_mutex:
    pthread_mutex_destroy(&srv.lock);
    pthread_mutex_destroy(&srv.log_lock);
    pthread_mutex_destroy(&srv.conn_lock);
out:
    free(srv.conns);
    pg_node_free(srv.node);
    if (key) {
        pg_memzero(key, strlen(key));
        free(key);
    }
    free(cert);
    return error;
}
