/*
 * The SQLite store of a node (internal to node/).
 *
 * Layout:
 *   meta(key PRIMARY KEY, value)     node identity, clock, next sequence
 *   log(seq INTEGER PRIMARY KEY, origin, origin_seq, digest, hlc,
 *       collection, division, operator, nchanges, body, received_at, via)
 *                                    the change-log; body = Txn protobuf;
 *                                    via = the peer it came from ('' local)
 *   peer(code PRIMARY KEY, role, card, name, tier, key_id, sign_pk,
 *        box_pk, url, ca_file, sent_upto, acked_upto, received_upto,
 *        added_ms, last_sync_ms)    pinned peers and their cursors
 *   audit(seq, at_ms, operator, action, subject, detail, prev, hash)
 *                                    the audit trail (node/audit.c),
 *                                    append-only, hash-chained
 *   audit_child_heads(code, seq, hash, received_ms)
 *                                    the newest head of each child's chain
 *   one table per collection:        id TEXT PRIMARY KEY, one typed column
 *                                    per field, _deleted, _v (versions)
 *
 * `_v` packs the version of every field that has one: per field a byte
 * (field index) and two big-endian u64s (hlc, origin code as a number),
 * 17 bytes a field, sorted by index.  One row per record keeps an insert
 * a single b-tree write, where a row per field (cr-sqlite's clock tables)
 * costs several.
 */
#ifndef PINGAN_NODE_STORE_H
#define PINGAN_NODE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "pingan/schema.h"
#include "pingan/txn.h"

#define PG_STORE_FILE "store.db"

/* Map a SQLite result code to a pg error with a message.  Returns the
 * negative pg code. */
int pg_store__error(sqlite3 *db, int rc, const char *what);

/* Open (and with create, make) the store at path.  Sets WAL,
 * synchronous=NORMAL and a busy timeout. */
int pg_store__open(sqlite3 **out, const char *path, bool create);

/* Create the meta, log, peer and collection tables for a schema version. */
int pg_store__create_tables(sqlite3 *db, const pg_schema *schema);

/* Create the peer table if it is missing (stores made before peers). */
int pg_store__create_peer_table(sqlite3 *db);

/* Move the record tables from schema `from` to the newer `to`, inside the
 * caller's transaction: new collections get their tables, new fields
 * their columns; the tombstone's field index (nfields) moves with the
 * fields in `_v`, `hist` and `conflict`. */
int pg_store__upgrade_tables(sqlite3 *db, const pg_schema *from,
                             const pg_schema *to);

/* Create the exchange tables (keyring, hist, conflict, quarantine,
 * pending, peer_range) and the log's `via` column if missing. */
int pg_store__create_sync_tables(sqlite3 *db);

/* Run SQL that returns no rows. */
int pg_store__exec(sqlite3 *db, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int pg_store__begin(sqlite3 *db);
int pg_store__commit(sqlite3 *db);
void pg_store__rollback(sqlite3 *db);

/* Versions packed in `_v`. */
#define PG_VERSION_ENTRY 17
/* Find field index `field` in a packed blob; zero version if absent. */
void pg_store__versions_get(pg_version *out, const uint8_t *blob, size_t len,
                            size_t field);
/* Set a field's version in a packed blob held in a pg_buf (kept sorted). */
int pg_store__versions_set(pg_buf *blob, size_t field, const pg_version *v);

/*
 * A cache of prepared statements keyed by their SQL text.  Preparing costs
 * more than running a small insert, and a single-record write runs about
 * eight statements.  Statements come back reset with bindings cleared; the
 * cache owns them.  When full (or with no cache), pg_store__cached still
 * prepares and sets *owned so that the caller finalizes the statement.
 */
#define PG_STMT_CACHE_MAX 64
typedef struct pg_stmt_cache {
    char *sql[PG_STMT_CACHE_MAX];
    sqlite3_stmt *st[PG_STMT_CACHE_MAX];
    size_t n;
} pg_stmt_cache;

int pg_store__cached(sqlite3_stmt **out, bool *owned, pg_stmt_cache *cache,
                     sqlite3 *db, const char *sql);
void pg_store__cache_clear(pg_stmt_cache *cache);

/* Give a statement from pg_store__cached back (reset, or finalized when
 * owned). */
void pg_store__release(sqlite3_stmt *st, bool owned);

/* Step a statement that returns no rows, then release it. */
int pg_store__step_done(sqlite3_stmt *st, bool owned, sqlite3 *db,
                        const char *what);

/* The meta table, through a statement cache (NULL: prepare each time).
 * meta_get fails with PG_ECORRUPT for a missing key; meta_get_int reads a
 * missing key as 0. */
int pg_store__meta_get(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                       char *out, size_t outlen);
int pg_store__meta_get_int(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                           int64_t *out);
int pg_store__meta_set(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                       const char *value);
int pg_store__meta_set_int(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                           int64_t value);

/* Quote a collection or field name for SQL (names are [a-z_][a-z0-9_]*). */
#define PG_STORE_QUOTED_MAX 80

#endif
