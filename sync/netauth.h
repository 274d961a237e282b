/*
 * Signed HTTP requests and responses (DESIGN §8).  Internal to libpingan.
 *
 * A request names its sender, the sender's key, the time, a fresh nonce
 * and the BLAKE2b-256 of its body in X-Pingan-* headers, and signs them
 * with the sender's Ed25519 key together with the method, the path and
 * query exactly as sent, and the code of the node it is addressed to.  A
 * response that carries an acknowledgement or a bundle is signed by the
 * server over its status, its time, the request it answers (sender, nonce
 * and signature) and the hash of its body, so that nobody in between can
 * forge one or hand it to another request.  The
 * messages signed are spelled out in proto/FORMAT.md §8.
 */
#ifndef PINGAN_SYNC_NETAUTH_H
#define PINGAN_SYNC_NETAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/exchange.h"
#include "pingan/node.h"

/* Requests whose time differs from the server's by more are refused. */
#define PG_NET_WINDOW_MS (10LL * 60 * 1000)
/* Nonces are remembered at least this long (twice the window). */
#define PG_NET_NONCE_KEEP_MS (2 * PG_NET_WINDOW_MS)
#define PG_NET_NONCE_HEX     32

#define PG_NET_H_FROM  "X-Pingan-From"
#define PG_NET_H_KEY   "X-Pingan-Key"
#define PG_NET_H_TIME  "X-Pingan-Time"
#define PG_NET_H_NONCE "X-Pingan-Nonce"
#define PG_NET_H_BODY  "X-Pingan-Body"
#define PG_NET_H_SIG   "X-Pingan-Signature"
/* The token a pull's bundle goes by: the next pull names it (got=) once
 * the bundle is applied. */
#define PG_NET_H_BUNDLE "X-Pingan-Bundle"

/* The signed headers of a request. */
typedef struct pg_net_auth {
    char from[PG_CODE_LEN + 1];
    char key_id[PG_KEY_ID_LEN + 1];
    int64_t time_ms;
    char nonce[PG_NET_NONCE_HEX + 1];
    char body[2 * PG_HASH_LEN + 1]; /* hex BLAKE2b-256 of the body */
    char sig[2 * PG_SIG_LEN + 1];   /* hex Ed25519 signature */
} pg_net_auth;

/* BLAKE2b-256 of a body, in hex. */
void pg_net_body_hash(char out[2 * PG_HASH_LEN + 1], const void *body,
                      size_t len);

/*
 * Fill @p a for a request from @p node to @p server: sender, key, now, a
 * fresh nonce, the body's hash (hex, from pg_net_body_hash) and the
 * signature.
 */
void pg_net_sign_request(pg_net_auth *a, const pg_node *node,
                         const char *method, const char *uri,
                         const char *server, const char *body_hash);

/*
 * Parse the header values of a request (any may be NULL: missing).
 * @return 0 or PG_EAUTH with a message naming the bad header
 */
int pg_net_auth_parse(pg_net_auth *a, const char *from, const char *key,
                      const char *time, const char *nonce, const char *body,
                      const char *sig);

/* Why a request was refused: the HTTP status to answer. */
typedef enum pg_net_refusal {
    PG_NET_OK = 0,
    PG_NET_UNAUTHORIZED = 401, /* unknown, bad signature, skew, replay */
    PG_NET_FORBIDDEN = 403,    /* a known peer whose key is revoked */
} pg_net_refusal;

/*
 * Check a parsed request addressed to this node: the sender is a pinned
 * peer signing with its pinned key, that key is not revoked, the
 * signature holds, the time is within PG_NET_WINDOW_MS of @p now_ms, and
 * the nonce has not been seen; the nonce is then remembered in the store
 * (and expired ones forgotten).
 *
 * The signature is checked before revocation, time and nonce, so that
 * what a refusal says beyond "not authenticated" is said only to the
 * holder of a peer's key: until *signed_ok, a server answers no more.
 *
 * @param refusal [out] PG_NET_OK, or the status to answer
 * @param skew_ms [out] the sender's clock minus this node's
 * @param signed_ok [out] the signature verified with a pinned peer's key
 * @return 0 (see *refusal; a message is set when refused), or a runtime
 *         error of the store (PG_EBUSY, PG_ERROR)
 */
int pg_net_verify_request(pg_node *node, const char *method, const char *uri,
                          const pg_net_auth *a, int64_t now_ms,
                          pg_net_refusal *refusal, int64_t *skew_ms,
                          bool *signed_ok);

/* The signature of a response (hex), over its status, this node's code,
 * the request it answers (its sender, nonce and signature), the response
 * time, the body's hash (hex) and the token of the bundle it carries
 * ("" when none): an answer fits one request only. */
void pg_net_sign_response(char out[2 * PG_SIG_LEN + 1], const pg_node *node,
                          int status, const pg_net_auth *request,
                          int64_t time_ms, const char *body_hash,
                          const char *bundle);

/* Check a response's signature by @p server (its pinned signing key) as
 * an answer to @p request. */
bool pg_net_verify_response(const char *sig_hex,
                            const uint8_t server_pk[PG_SIGN_PK_LEN],
                            const char *server, int status,
                            const pg_net_auth *request, int64_t time_ms,
                            const char *body_hash, const char *bundle);

/* The one bundle an export with max_files = 1 wrote (pg_net_keep_export
 * as its callback fills it). */
typedef struct pg_net_exported {
    char path[4200];
    pg_export_file info; /* info.path points at path */
    bool have;
} pg_net_exported;

int pg_net_keep_export(const pg_export_file *file, void *exported);

/* Hash a file's bytes from its start (hex BLAKE2b-256, as in
 * X-Pingan-Body), set *len to their number and rewind it.  0 or
 * PG_ERROR. */
int pg_net_fd_hash(char out[2 * PG_HASH_LEN + 1], uint64_t *len, int fd);

/* Remember the clock difference seen with a peer (for status). */
void pg_net_note_skew(pg_node *node, const char *code, int64_t skew_ms);

#endif
