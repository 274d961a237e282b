/*
 * pingan-net-request: send one signed HTTP request to a `pingan serve`, as
 * a node would, with the means to get it wrong on purpose (tests/cli/http.sh).
 *
 *   pingan-net-request --dir NODEDIR --to SERVERCODE [--method GET|POST]
 *       [--body FILE] [--time-offset-ms N] [--nonce HEX] [--from CODE]
 *       [--tamper sig|body] [--print-headers] URL_BASE URI
 *
 * The request is signed with NODEDIR's key by pg_net_sign_request
 * (sync/netauth.h).  --nonce, --time-offset-ms and --from replace the
 * nonce, the time or the sender and sign again, so that the signature
 * holds over the lie; --tamper sig then spoils the signature, --tamper
 * body sends a body that differs from the one signed (the last byte
 * changed, or one byte when there is none).  URI (path and query) is
 * signed exactly as given and appended to URL_BASE.
 *
 * Prints "HTTP STATUS", with --print-headers the response's header lines
 * and an empty line, then the response body as received.  Exit status 0
 * when an answer came, whatever its status; 1 when the exchange failed
 * (no node, network); 2 on a usage error.
 */
#include "netauth.h"
#include "node_internal.h"
#include "pingan/crypto.h"
#include "pingan/error.h"
#include "pingan/node.h"
#include "pingan/value.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* As sync/netauth.c signs it (proto/FORMAT.md §8). */
#define REQUEST_CONTEXT "pingan.http.request.v1"

static const char usage_text[] =
    "usage: pingan-net-request --dir NODEDIR --to SERVERCODE [--method "
    "GET|POST]\n"
    "         [--body FILE] [--time-offset-ms N] [--nonce HEX] [--from "
    "CODE]\n"
    "         [--tamper sig|body] [--print-headers] URL_BASE URI\n";

static int usage(const char *why)
{
    fprintf(stderr, "pingan-net-request: %s\n%s", why, usage_text);
    return 2;
}

/* The signed message of a request, into a malloc'ed string. */
static char *request_message(size_t *len, const char *method, const char *uri,
                             const char *server, const pg_net_auth *a)
{
    size_t cap = strlen(REQUEST_CONTEXT) + strlen(method) + strlen(uri) +
                 strlen(server) + sizeof(*a) + 64;
    char *m = malloc(cap);
    if (!m)
        return NULL;
    int n = snprintf(m, cap, "%s\n%s\n%s\n%s\n%s\n%s\n%" PRId64 "\n%s\n%s",
                     REQUEST_CONTEXT, method, uri, server, a->from, a->key_id,
                     a->time_ms, a->nonce, a->body);
    *len = n < 0 ? 0 : (size_t)n;
    return m;
}

static int sign_again(pg_net_auth *a, const pg_node *node, const char *method,
                      const char *uri, const char *server)
{
    uint8_t sig[PG_SIG_LEN];
    size_t len = 0;
    char *m = request_message(&len, method, uri, server, a);
    if (!m)
        return -1;
    pg_sign(sig, m, len, pg_node__sign_sk(node));
    pg_hex(a->sig, sig, sizeof(sig));
    free(m);
    return 0;
}

static int read_file(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    if (!f)
        return -1;
    do {
        if (n == cap) {
            char *grown;
            cap = cap ? 2 * cap : 1 << 16;
            if (!(grown = malloc(cap))) {
                free(buf);
                fclose(f);
                return -1;
            }
            if (buf)
                memcpy(grown, buf, n);
            free(buf);
            buf = grown;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* A growing byte buffer: the response's header lines, then its body. */
typedef struct bytes {
    char *data;
    size_t len, cap;
} bytes;

static bool bytes_add(bytes *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->len + n + 1);
        char *grown = malloc(cap);
        if (!grown)
            return false;
        if (b->data)
            memcpy(grown, b->data, b->len);
        free(b->data);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    return bytes_add(arg, data, size * n) ? size * n : 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
    bytes *h = arg;
    /* A new response (after a 100 Continue) starts again. */
    if (size * n >= 5 && strncmp(line, "HTTP/", 5) == 0)
        h->len = 0;
    return bytes_add(h, line, size * n) ? size * n : 0;
}

/* The header lines without the status line, CRs and the final blank. */
static void print_headers(const bytes *h)
{
    const char *p = h->data ? h->data : "";
    const char *eol = strchr(p, '\n');
    p = eol ? eol + 1 : p + strlen(p); /* the status line */
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (n > 0)
            printf("%.*s\n", (int)n, p);
        p += n;
        p += strspn(p, "\r\n");
    }
    printf("\n");
}

static bool all_lower_hex(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"to", required_argument, NULL, 't'},
        {"method", required_argument, NULL, 'm'},
        {"body", required_argument, NULL, 'b'},
        {"time-offset-ms", required_argument, NULL, 'o'},
        {"nonce", required_argument, NULL, 'n'},
        {"from", required_argument, NULL, 'f'},
        {"tamper", required_argument, NULL, 'x'},
        {"print-headers", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *to = NULL, *method = "GET", *body_file = NULL;
    const char *nonce = NULL, *from = NULL, *tamper = NULL;
    long long offset = 0;
    bool offset_set = false, show_headers = false;
    int c;

    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'm':
            method = optarg;
            break;
        case 'b':
            body_file = optarg;
            break;
        case 'o':
            errno = 0;
            offset = strtoll(optarg, &end, 10);
            if (errno || !*optarg || *end)
                return usage("--time-offset-ms takes an integer (ms)");
            offset_set = true;
            break;
        case 'n':
            nonce = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'x':
            tamper = optarg;
            break;
        case 'p':
            show_headers = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return usage("unknown option");
        }
    }
    if (!dir || !to)
        return usage("--dir and --to are required");
    if (argc - optind != 2)
        return usage("give URL_BASE and URI");
    const char *base = argv[optind], *uri = argv[optind + 1];
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        return usage("--method is GET or POST");
    if (uri[0] != '/')
        return usage("URI starts with '/' (a path, then an optional query)");
    if (strlen(to) != PG_CODE_LEN)
        return usage("--to takes the server's 12-digit code");
    if (from && strlen(from) != PG_CODE_LEN)
        return usage("--from takes a 12-digit code");
    if (nonce && (strlen(nonce) != PG_NET_NONCE_HEX || !all_lower_hex(nonce)))
        return usage("--nonce takes 32 lower-case hex digits");
    if (tamper && strcmp(tamper, "sig") != 0 && strcmp(tamper, "body") != 0)
        return usage("--tamper takes sig or body");
    if (body_file && strcmp(method, "POST") != 0)
        return usage("--body goes with --method POST");

    char *body = NULL;
    size_t body_len = 0;
    if (body_file && read_file(&body, &body_len, body_file) < 0) {
        fprintf(stderr, "pingan-net-request: cannot read %s: %s\n", body_file,
                strerror(errno ? errno : EIO));
        return 1;
    }

    pg_node *node = NULL;
    if (pg_node_open(&node, dir) < 0) {
        fprintf(stderr, "pingan-net-request: cannot open the node in %s: %s\n",
                dir, pg_error_last()->message);
        free(body);
        return 1;
    }

    char hash[2 * PG_HASH_LEN + 1];
    pg_net_auth a;
    pg_net_body_hash(hash, body ? body : "", body_len);
    pg_net_sign_request(&a, node, method, uri, to, hash);
    /* The same signature computed here: the message format still agrees
     * with the library's (Ed25519 is deterministic). */
    char lib_sig[sizeof(a.sig)];
    memcpy(lib_sig, a.sig, sizeof(lib_sig));
    if (sign_again(&a, node, method, uri, to) < 0 ||
        strcmp(lib_sig, a.sig) != 0) {
        fprintf(stderr, "pingan-net-request: the signed message differs from "
                        "sync/netauth.c's: update request_message()\n");
        pg_node_free(node);
        free(body);
        return 1;
    }
    if (nonce)
        memcpy(a.nonce, nonce, PG_NET_NONCE_HEX + 1);
    if (offset_set)
        a.time_ms += (int64_t)offset;
    if (from)
        memcpy(a.from, from, PG_CODE_LEN + 1);
    if ((nonce || offset_set || from) &&
        sign_again(&a, node, method, uri, to) < 0) {
        fprintf(stderr, "pingan-net-request: out of memory\n");
        pg_node_free(node);
        free(body);
        return 1;
    }
    pg_node_free(node);
    if (tamper && strcmp(tamper, "sig") == 0)
        a.sig[0] = a.sig[0] == '0' ? '1' : '0';
    if (tamper && strcmp(tamper, "body") == 0) {
        if (body_len == 0) {
            free(body);
            if (!(body = malloc(1)))
                return 1;
            body[0] = 'x';
            body_len = 1;
        } else {
            body[body_len - 1] ^= 0x01;
        }
    }

    char url[8192], line[256];
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    snprintf(url, sizeof(url), "%.*s%s", (int)blen, base, uri);
    struct curl_slist *h = NULL;
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

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    bytes got = {NULL, 0, 0}, answer = {NULL, 0, 0};
    int rc = 1;
    if (!curl) {
        fprintf(stderr, "pingan-net-request: cannot start libcurl\n");
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &got);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        fprintf(stderr, "pingan-net-request: %s: %s\n", url,
                curl_easy_strerror(cc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    printf("HTTP %ld\n", status);
    if (show_headers)
        print_headers(&got);
    if (answer.len)
        fwrite(answer.data, 1, answer.len, stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    if (curl)
        curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    curl_global_cleanup();
    free(got.data);
    free(answer.data);
    free(body);
    return rc;
}
