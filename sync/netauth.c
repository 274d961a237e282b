/*
 * Signed HTTP requests and responses (sync/netauth.h, DESIGN §8).
 */
#include "netauth.h"
#include "error_internal.h"
#include "keys.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/error.h"
#include "pingan/peer.h"
#include "pingan/value.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#define REQUEST_CONTEXT  "pingan.http.request.v1"
#define RESPONSE_CONTEXT "pingan.http.response.v1"

void pg_net_body_hash(char out[2 * PG_HASH_LEN + 1], const void *body,
                      size_t len)
{
    uint8_t h[PG_HASH_LEN];
    pg_blake2b(h, sizeof(h), body, len);
    pg_hex(out, h, sizeof(h));
}

/* The message a request's signature covers; NULL when out of memory. */
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
    *len = (size_t)n;
    return m;
}

void pg_net_sign_request(pg_net_auth *a, const pg_node *node,
                         const char *method, const char *uri,
                         const char *server, const char *body_hash)
{
    uint8_t nonce[PG_NET_NONCE_HEX / 2], sig[PG_SIG_LEN];
    size_t len = 0;

    memset(a, 0, sizeof(*a));
    memcpy(a->from, pg_node_code(node), PG_CODE_LEN + 1);
    memcpy(a->key_id, pg_node_card(node)->key_id, PG_KEY_ID_LEN + 1);
    a->time_ms = pg_time_now_ms();
    pg_random(nonce, sizeof(nonce));
    pg_hex(a->nonce, nonce, sizeof(nonce));
    snprintf(a->body, sizeof(a->body), "%s", body_hash);
    char *m = request_message(&len, method, uri, server, a);
    if (!m)
        return; /* unsigned: the server refuses it */
    pg_sign(sig, m, len, pg_node__sign_sk(node));
    pg_hex(a->sig, sig, sizeof(sig));
    free(m);
}

static bool all_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* @p fmt names the header with its one "%s". */
__attribute__((format(printf, 1, 2))) static int bad_header(const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    int code = pg_error__vset(PG_EAUTH, PG_ERRCLASS_NET, fmt, ap);
    va_end(ap);
    return code;
}

int pg_net_auth_parse(pg_net_auth *a, const char *from, const char *key,
                      const char *time, const char *nonce, const char *body,
                      const char *sig)
{
    memset(a, 0, sizeof(*a));
    if (!from || !key || !time || !nonce || !body || !sig)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NET,
                            "the request is not signed (it needs the "
                            "headers %s, %s, %s, %s, %s and %s)",
                            PG_NET_H_FROM, PG_NET_H_KEY, PG_NET_H_TIME,
                            PG_NET_H_NONCE, PG_NET_H_BODY, PG_NET_H_SIG);
    if (!pg_division_valid(from))
        return bad_header("header %s is not a 12-digit division code",
                          PG_NET_H_FROM);
    if (!all_hex(key, PG_KEY_ID_LEN))
        return bad_header("header %s is not a key id", PG_NET_H_KEY);
    if (!all_hex(nonce, PG_NET_NONCE_HEX))
        return bad_header("header %s is not 32 lower-case hex digits",
                          PG_NET_H_NONCE);
    if (!all_hex(body, 2 * PG_HASH_LEN))
        return bad_header("header %s is not a BLAKE2b-256 hash in hex",
                          PG_NET_H_BODY);
    if (!all_hex(sig, 2 * PG_SIG_LEN))
        return bad_header("header %s is not a signature in hex", PG_NET_H_SIG);
    char *end = NULL;
    size_t tlen = strlen(time);
    if (tlen == 0 || tlen > 15 || strspn(time, "0123456789") != tlen)
        return bad_header("header %s is not milliseconds since 1970",
                          PG_NET_H_TIME);
    a->time_ms = (int64_t)strtoll(time, &end, 10);
    memcpy(a->from, from, PG_CODE_LEN + 1);
    memcpy(a->key_id, key, PG_KEY_ID_LEN + 1);
    memcpy(a->nonce, nonce, PG_NET_NONCE_HEX + 1);
    memcpy(a->body, body, sizeof(a->body));
    memcpy(a->sig, sig, sizeof(a->sig));
    return 0;
}

/* Remember a nonce; *seen when it was already there. */
static int nonce_remember(bool *seen, pg_node *node, const pg_net_auth *a,
                          int64_t now_ms)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "INSERT OR IGNORE INTO http_nonce(peer, "
                                  "nonce, at_ms) VALUES(?2, ?1, ?3)")) < 0)
        return error;
    sqlite3_bind_text(st, 1, a->nonce, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->from, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    rc = sqlite3_step(st);
    *seen = sqlite3_changes(node->db) == 0;
    pg_store__release(st, owned);
    if (rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "remembering a request's nonce");
    /* Forget what the window no longer admits, now and then. */
    if ((now_ms & 63) == 0) {
        if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                      "DELETE FROM http_nonce WHERE at_ms < "
                                      "?")) < 0)
            return error;
        sqlite3_bind_int64(st, 1, now_ms - PG_NET_NONCE_KEEP_MS);
        error = pg_store__step_done(st, owned, node->db, "expiring nonces");
    }
    return error;
}

static int refuse(pg_net_refusal *refusal, pg_net_refusal status,
                  const char *message)
{
    *refusal = status;
    pg_error_set(PG_EAUTH, PG_ERRCLASS_NET, "%s", message);
    return 0;
}

int pg_net_verify_request(pg_node *node, const char *method, const char *uri,
                          const pg_net_auth *a, int64_t now_ms,
                          pg_net_refusal *refusal, int64_t *skew_ms,
                          bool *signed_ok)
{
    uint8_t sig[PG_SIG_LEN];
    pg_peer peer;
    pg_card card;
    int64_t revoked;
    char msg[256];
    int error;

    *refusal = PG_NET_OK;
    *signed_ok = false;
    *skew_ms = a->time_ms - now_ms;
    error = pg_peer_get(&peer, node, a->from);
    if (error == PG_ENOTFOUND || error == PG_EINVALID) {
        snprintf(msg, sizeof(msg), "%s is not a peer of this node", a->from);
        return refuse(refusal, PG_NET_UNAUTHORIZED, msg);
    }
    if (error < 0)
        return error;
    if (strcmp(peer.key_id, a->key_id) != 0) {
        snprintf(msg, sizeof(msg), "key %s is not the key pinned for %s",
                 a->key_id, a->from);
        return refuse(refusal, PG_NET_UNAUTHORIZED, msg);
    }
    if ((error = pg_keys_card(&card, node, a->from)) < 0)
        return error;
    size_t len = 0;
    char *m = request_message(&len, method, uri, pg_node_code(node), a);
    if (!m)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    bool ok = pg_unhex(sig, sizeof(sig), a->sig) == 0 &&
              pg_verify(sig, m, len, card.sign_pk);
    free(m);
    pg_error_clear();
    if (!ok) {
        snprintf(msg, sizeof(msg),
                 "the signature of %s (key %s) does not verify", a->from,
                 a->key_id);
        return refuse(refusal, PG_NET_UNAUTHORIZED, msg);
    }
    *signed_ok = true;
    if ((error = pg_keys_revoked(&revoked, node, a->from, a->key_id)) < 0)
        return error;
    if (revoked >= 0) {
        snprintf(msg, sizeof(msg), "the key %s of %s is revoked", a->key_id,
                 a->from);
        return refuse(refusal, PG_NET_FORBIDDEN, msg);
    }
    if (*skew_ms > PG_NET_WINDOW_MS || *skew_ms < -PG_NET_WINDOW_MS) {
        snprintf(msg, sizeof(msg),
                 "clock skew: the request of %s is timed %+" PRId64
                 " s from this server's clock (at most 10 minutes are "
                 "accepted); set the clocks right (NTP)",
                 a->from, *skew_ms / 1000);
        return refuse(refusal, PG_NET_UNAUTHORIZED, msg);
    }
    bool seen = false;
    if ((error = nonce_remember(&seen, node, a, now_ms)) < 0)
        return error;
    if (seen) {
        snprintf(msg, sizeof(msg),
                 "replayed request: nonce %s of %s was used before", a->nonce,
                 a->from);
        return refuse(refusal, PG_NET_UNAUTHORIZED, msg);
    }
    return 0;
}

static size_t response_message(char *m, size_t cap, const char *server,
                               int status, const pg_net_auth *request,
                               int64_t time_ms, const char *body_hash,
                               const char *bundle)
{
    int n = snprintf(m, cap, "%s\n%d\n%s\n%s\n%s\n%s\n%" PRId64 "\n%s\n%s",
                     RESPONSE_CONTEXT, status, server, request->from,
                     request->nonce, request->sig, time_ms, body_hash,
                     bundle ? bundle : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void pg_net_sign_response(char out[2 * PG_SIG_LEN + 1], const pg_node *node,
                          int status, const pg_net_auth *request,
                          int64_t time_ms, const char *body_hash,
                          const char *bundle)
{
    char m[768];
    uint8_t sig[PG_SIG_LEN];
    size_t len = response_message(m, sizeof(m), pg_node_code(node), status,
                                  request, time_ms, body_hash, bundle);
    pg_sign(sig, m, len, pg_node__sign_sk(node));
    pg_hex(out, sig, sizeof(sig));
}

bool pg_net_verify_response(const char *sig_hex,
                            const uint8_t server_pk[PG_SIGN_PK_LEN],
                            const char *server, int status,
                            const pg_net_auth *request, int64_t time_ms,
                            const char *body_hash, const char *bundle)
{
    char m[768];
    uint8_t sig[PG_SIG_LEN];
    if (!sig_hex || !body_hash || strlen(body_hash) != 2 * PG_HASH_LEN ||
        pg_unhex(sig, sizeof(sig), sig_hex) < 0) {
        pg_error_clear();
        return false;
    }
    size_t len = response_message(m, sizeof(m), server, status, request,
                                  time_ms, body_hash, bundle);
    return len > 0 && pg_verify(sig, m, len, server_pk);
}

void pg_net_note_skew(pg_node *node, const char *code, int64_t skew_ms)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(node->db,
                           "INSERT OR REPLACE INTO peer_clock(code, skew_ms, "
                           "seen_ms) VALUES(?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, skew_ms);
    sqlite3_bind_int64(st, 3, pg_time_now_ms());
    sqlite3_step(st);
    sqlite3_finalize(st);
}

int pg_net_keep_export(const pg_export_file *file, void *exported)
{
    pg_net_exported *e = exported;
    snprintf(e->path, sizeof(e->path), "%s", file->path);
    e->info = *file;
    e->info.path = e->path;
    e->have = true;
    return 0;
}

int pg_net_fd_hash(char out[2 * PG_HASH_LEN + 1], uint64_t *len, int fd)
{
    pg_hash_state st;
    uint8_t buf[1 << 16], h[PG_HASH_LEN];
    ssize_t n;
    *len = 0;
    if (lseek(fd, 0, SEEK_SET) != 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot read a bundle: %s", pg_error__oserr(errno));
    pg_hash_init(&st, PG_HASH_LEN);
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        pg_hash_update(&st, buf, (size_t)n);
        *len += (uint64_t)n;
    }
    pg_hash_final(&st, h);
    pg_hex(out, h, sizeof(h));
    if (n < 0 || lseek(fd, 0, SEEK_SET) != 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot read a bundle: %s", pg_error__oserr(errno));
    return 0;
}
