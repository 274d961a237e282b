/*
 * SQLite store: opening, tables, meta, packed field versions.
 *
 * WAL with synchronous=NORMAL (DESIGN §3): a crash loses nothing that
 * committed; a power loss may lose the last commits, which is why the log
 * is checkpointed with a full sync before any txn leaves the node.
 */
#include "store.h"
#include "pingan/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_store__error(sqlite3 *db, int rc, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return pg_error_set(PG_EBUSY, PG_ERRCLASS_STORE,
                            "%s: the store is busy (another pingan process "
                            "holds it); try again",
                            what);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "%s: the store file is damaged (%s); restore it "
                            "from a backup",
                            what, msg);
    case SQLITE_NOMEM:
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "%s: out of memory", what);
    case SQLITE_FULL:
        return pg_error_set(PG_ERROR, PG_ERRCLASS_STORE,
                            "%s: the disk is full; free space and try again",
                            what);
    case SQLITE_CONSTRAINT:
        /* pingan checks its inputs before it writes: a constraint that
         * fails means the store disagrees with itself. */
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "%s: the store is inconsistent (%s); restore it "
                            "from a backup",
                            what, msg);
    default:
        return pg_error_set(PG_ERROR, PG_ERRCLASS_STORE, "%s: %s", what, msg);
    }
}

int pg_store__exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "store");
    return 0;
}

int pg_store__open(sqlite3 **out, const char *path, bool create)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc, error;

    *out = NULL;
    if (create) {
        flags |= SQLITE_OPEN_CREATE;
    } else {
        /* Look before SQLite touches the file: setting WAL mode would turn
         * an empty file into a fresh, empty database. */
        char head[16] = {0};
        FILE *f = fopen(path, "rb");
        if (!f)
            return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                                "cannot open store %s", path);
        size_t n = fread(head, 1, sizeof(head), f);
        fclose(f);
        if (n != sizeof(head) || memcmp(head, "SQLite format 3", 16) != 0)
            return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                                "%s is damaged: not an SQLite database; "
                                "restore it from a backup",
                                path);
    }
    rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        error = rc == SQLITE_CANTOPEN
                    ? pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_STORE,
                                   "cannot open store %s", path)
                    : pg_store__error(db, rc, "opening the store");
        sqlite3_close(db);
        return error;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_extended_result_codes(db, 0);
    /* A store can come from outside (a backup restored): its schema must
     * not make pingan's own statements run functions with side effects
     * from triggers or views, and nothing may write the schema or the
     * file behind SQLite's back (SQLite's "defensive" mode). */
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    if (!create) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db,
                                "SELECT count(*) FROM sqlite_master WHERE "
                                "type = 'table' AND name IN ('meta', 'log')",
                                -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        int tables = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) {
            error = pg_store__error(db, rc, "opening the store");
            sqlite3_close(db);
            return error;
        }
        if (tables != 2) {
            sqlite3_close(db);
            return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                                "%s is not a pingan store (damaged or "
                                "foreign); restore it from a backup",
                                path);
        }
    }
    /* journal_mode reads the file header: a damaged file fails here.
     * The default 4 KiB page is kept: 16 KiB pages made bulk imports 8%
     * faster but single-record writes 40% slower (tools/bench).  An 8 MiB
     * page cache bounds the memory of an import of any size. */
    if ((error = pg_store__exec(db, "PRAGMA journal_mode=WAL")) < 0 ||
        (error = pg_store__exec(db, "PRAGMA synchronous=NORMAL")) < 0 ||
        (error = pg_store__exec(db, "PRAGMA foreign_keys=ON")) < 0 ||
        (error = pg_store__exec(db, "PRAGMA cache_size=-8192")) < 0 ||
        /* Deleted and overwritten content is zeroed, not left in free
         * space of the file: a purge (pingan/purge.h) must leave no
         * recoverable copy.  Its cost was below the noise of a loaded
         * 2-core machine, for inserts (pingan-bench-write) and for
         * updates and deletes alike. */
        (error = pg_store__exec(db, "PRAGMA secure_delete=ON")) < 0) {
        sqlite3_close(db);
        return error;
    }
    *out = db;
    return 0;
}

static const char *column_type(pg_type type)
{
    switch (pg_type_kind(type)) {
    case PG_VALUE_INT:
    case PG_VALUE_BOOL:
        return "INTEGER";
    case PG_VALUE_REAL:
        return "REAL";
    default:
        return "TEXT";
    }
}

int pg_store__create_peer_table(sqlite3 *db)
{
    /* One row per pinned peer (node/peer.c).  The card is kept as given,
     * so that what was pinned can be shown and checked again later. */
    return pg_store__exec(db, "CREATE TABLE IF NOT EXISTS peer("
                              "code TEXT PRIMARY KEY,"
                              "role TEXT NOT NULL CHECK(role IN "
                              "('parent', 'child', 'partner')),"
                              "card TEXT NOT NULL,"
                              "name TEXT NOT NULL,"
                              "tier TEXT NOT NULL,"
                              "key_id TEXT NOT NULL,"
                              "sign_pk BLOB NOT NULL,"
                              "box_pk BLOB NOT NULL,"
                              "url TEXT,"
                              "ca_file TEXT,"
                              "sent_upto INTEGER NOT NULL DEFAULT 0,"
                              "acked_upto INTEGER NOT NULL DEFAULT 0,"
                              "received_upto INTEGER NOT NULL DEFAULT 0,"
                              "added_ms INTEGER NOT NULL,"
                              "last_sync_ms INTEGER,"
                              "policy TEXT,"
                              "policy_source TEXT)");
}

/* Does table `table` have column `column`? */
static int has_column(bool *out, sqlite3 *db, const char *table,
                      const char *column)
{
    char sql[128];
    sqlite3_stmt *st;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT 1 FROM pragma_table_info('%s') "
             "WHERE name = ?",
             table);
    if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
        return pg_store__error(db, rc, "reading the store's layout");
    sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(db, rc, "reading the store's layout");
    *out = rc == SQLITE_ROW;
    return 0;
}

int pg_store__create_sync_tables(sqlite3 *db)
{
    bool via = false;
    int error;

    /* Stores made before exchange have no `via` column in the log. */
    if ((error = has_column(&via, db, "log", "via")) < 0)
        return error;
    if (!via && (error = pg_store__exec(db, "ALTER TABLE log ADD COLUMN via "
                                            "TEXT NOT NULL DEFAULT ''")) < 0)
        return error;
    /* Stores made before link policies: the peer table gains them. */
    bool policy;
    if ((error = has_column(&policy, db, "peer", "policy")) < 0)
        return error;
    if (!policy && (error = pg_store__exec(db, "ALTER TABLE peer ADD COLUMN "
                                               "policy TEXT; ALTER TABLE peer "
                                               "ADD COLUMN policy_source "
                                               "TEXT")) < 0)
        return error;
    /* The schema version each peer last said it runs (bundle headers;
     * 0: not heard yet), the highest this node's headers told it, and
     * the txns held back from it because its
     * version lacked their collection or some of their fields, sent
     * again once it has `since` (DESIGN §2). */
    bool peer_version;
    if ((error = has_column(&peer_version, db, "peer", "schema_version")) < 0)
        return error;
    if (!peer_version &&
        (error = pg_store__exec(db, "ALTER TABLE peer ADD COLUMN "
                                    "schema_version INTEGER NOT NULL "
                                    "DEFAULT 0; ALTER TABLE peer ADD COLUMN "
                                    "told_version INTEGER NOT NULL "
                                    "DEFAULT 0")) < 0)
        return error;
    error = pg_store__exec(
        db,
        /* Keys a node had before a rekey (pingan/recovery.h): their
         * card, and the last seq each signed. */
        "CREATE TABLE IF NOT EXISTS peer_retired("
        "key_id TEXT PRIMARY KEY,"
        "code TEXT NOT NULL,"
        "card TEXT NOT NULL,"
        "last_seq INTEGER NOT NULL);"
        /* A restored child asked for its own txns after return_from
         * back (pingan/recovery.h). */
        "CREATE TABLE IF NOT EXISTS peer_restore("
        "code TEXT PRIMARY KEY,"
        "return_from INTEGER NOT NULL);"
        /* Cards of nodes that are not peers, learned from bundles. */
        "CREATE TABLE IF NOT EXISTS keyring("
        "code TEXT PRIMARY KEY,"
        "key_id TEXT NOT NULL UNIQUE,"
        "sign_pk BLOB NOT NULL,"
        "box_pk BLOB NOT NULL,"
        "name TEXT NOT NULL,"
        "tier TEXT NOT NULL,"
        "created_ms INTEGER NOT NULL,"
        "signature BLOB NOT NULL,"
        "via TEXT NOT NULL,"
        "added_ms INTEGER NOT NULL);"
        /* Every change to a field that is not its first, base-less write
         * (those are implied by the row's `_v`), for conflict detection. */
        "CREATE TABLE IF NOT EXISTS hist("
        "coll TEXT NOT NULL,"
        "record_id TEXT NOT NULL,"
        "field INTEGER NOT NULL,"
        "hlc INTEGER NOT NULL,"
        "origin TEXT NOT NULL,"
        "base_hlc INTEGER NOT NULL,"
        "base_origin TEXT NOT NULL,"
        "merged_hlc INTEGER NOT NULL DEFAULT 0,"
        "merged_origin TEXT NOT NULL DEFAULT '',"
        "value,"
        "PRIMARY KEY(coll, record_id, field, hlc, origin)) WITHOUT ROWID;"
        /* Pairs of concurrent changes with different values. */
        "CREATE TABLE IF NOT EXISTS conflict("
        "id TEXT PRIMARY KEY,"
        "coll TEXT NOT NULL,"
        "record_id TEXT NOT NULL,"
        "field INTEGER NOT NULL,"
        "a_hlc INTEGER NOT NULL, a_origin TEXT NOT NULL, a_value,"
        "b_hlc INTEGER NOT NULL, b_origin TEXT NOT NULL, b_value,"
        "winner TEXT NOT NULL CHECK(winner IN ('a', 'b')),"
        "resolved_hlc INTEGER NOT NULL DEFAULT 0,"
        "resolved_origin TEXT NOT NULL DEFAULT '',"
        "detected_ms INTEGER NOT NULL);"
        "CREATE INDEX IF NOT EXISTS conflict_field "
        "ON conflict(coll, record_id, field);"
        /* Txns that failed their own checks: kept, acknowledged, not
         * applied. */
        "CREATE TABLE IF NOT EXISTS quarantine("
        "id INTEGER PRIMARY KEY,"
        "peer TEXT NOT NULL,"
        "origin TEXT NOT NULL,"
        "origin_seq INTEGER NOT NULL,"
        "digest BLOB NOT NULL,"
        "collection TEXT NOT NULL,"
        "division TEXT NOT NULL,"
        "reason TEXT NOT NULL,"
        "body BLOB NOT NULL,"
        "received_ms INTEGER NOT NULL,"
        "UNIQUE(origin, origin_seq, digest));"
        /* Txns waiting for their signer's card or for the clock. */
        "CREATE TABLE IF NOT EXISTS pending("
        "id INTEGER PRIMARY KEY,"
        "peer TEXT NOT NULL,"
        "peer_seq INTEGER NOT NULL,"
        "origin TEXT NOT NULL,"
        "origin_seq INTEGER NOT NULL,"
        "digest BLOB NOT NULL,"
        "reason TEXT NOT NULL,"
        "body BLOB NOT NULL,"
        "received_ms INTEGER NOT NULL,"
        "UNIQUE(origin, origin_seq, digest));"
        /* Ranges of each peer's log received here (merged, disjoint). */
        "CREATE TABLE IF NOT EXISTS peer_range("
        "code TEXT NOT NULL,"
        "first INTEGER NOT NULL,"
        "last INTEGER NOT NULL,"
        "PRIMARY KEY(code, first)) WITHOUT ROWID;"
        /* Records whose whole history a partner has been sent (DESIGN
         * §6: a record newly entering a link's selection goes whole), and
         * the policy that selection was made under. */
        "CREATE TABLE IF NOT EXISTS peer_record("
        "code TEXT NOT NULL,"
        "coll TEXT NOT NULL,"
        "record_id TEXT NOT NULL,"
        "PRIMARY KEY(code, coll, record_id)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS peer_held("
        "code TEXT NOT NULL,"
        "seq INTEGER NOT NULL,"
        "since INTEGER NOT NULL,"
        "PRIMARY KEY(code, seq)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS peer_policy_sent("
        "code TEXT PRIMARY KEY,"
        "hash BLOB NOT NULL);"
        /* The same, for bundles sent over HTTP and not yet known to have
         * arrived (coll '': the policy's hash). */
        "CREATE TABLE IF NOT EXISTS peer_sent_pending("
        "code TEXT NOT NULL,"
        "token TEXT NOT NULL,"
        "coll TEXT NOT NULL,"
        "record_id TEXT NOT NULL,"
        "hash BLOB);"
        "CREATE INDEX IF NOT EXISTS peer_sent_pending_code "
        "ON peer_sent_pending(code, token);"
        /* Input refused as a whole (bundles, HTTP requests), for status. */
        "CREATE TABLE IF NOT EXISTS rejected("
        "id INTEGER PRIMARY KEY,"
        "at_ms INTEGER NOT NULL,"
        "source TEXT NOT NULL,"
        "peer TEXT NOT NULL,"
        "reason TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS rejected_at ON rejected(at_ms);"
        /* Nonces of signed requests seen within the replay window, kept
         * across restarts of the server. */
        "CREATE TABLE IF NOT EXISTS http_nonce("
        "peer TEXT NOT NULL,"
        "nonce TEXT NOT NULL,"
        "at_ms INTEGER NOT NULL,"
        "PRIMARY KEY(peer, nonce)) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS http_nonce_at ON http_nonce(at_ms);"
        /* The clock difference last seen with each peer over HTTP. */
        "CREATE TABLE IF NOT EXISTS peer_clock("
        "code TEXT PRIMARY KEY,"
        "skew_ms INTEGER NOT NULL,"
        "seen_ms INTEGER NOT NULL);"
        /* The audit trail (node/audit.c, FORMAT.md §9): append-only,
         * which the triggers enforce against pingan itself and against
         * anything else that opens the store without dropping them. */
        "CREATE TABLE IF NOT EXISTS audit("
        "seq INTEGER PRIMARY KEY,"
        "at_ms INTEGER NOT NULL,"
        "operator TEXT NOT NULL,"
        "action TEXT NOT NULL,"
        "subject TEXT NOT NULL,"
        "detail TEXT NOT NULL,"
        "prev BLOB NOT NULL,"
        "hash BLOB NOT NULL);"
        "CREATE INDEX IF NOT EXISTS audit_at ON audit(at_ms);"
        "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
        "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
        /* Only the next entry may be added: INSERT OR REPLACE would
         * otherwise replace an entry without a DELETE trigger firing. */
        "CREATE TRIGGER IF NOT EXISTS audit_append_only BEFORE INSERT ON "
        "audit WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audit), "
        "0) + 1 BEGIN SELECT RAISE(ABORT, 'the audit trail is "
        "append-only'); END;");
    if (error < 0)
        return error;
    return pg_store__exec(
        db,
        /* Records whose personal and sensitive values were purged
         * (pingan/purge.h): by the purge record `purge_id` of the `purge`
         * collection, issued by `origin` for `division`.  A txn of that
         * division for one of them arriving later is stored with those
         * values erased. */
        "CREATE TABLE IF NOT EXISTS purged("
        "record_id TEXT NOT NULL,"
        "division TEXT NOT NULL,"
        "purge_id TEXT NOT NULL,"
        "origin TEXT NOT NULL,"
        "purged_at INTEGER NOT NULL,"
        "PRIMARY KEY(record_id, division)) WITHOUT ROWID;"
        /* Every chain head received from each child, one per seq: a
         * child that rewrote its chain and wrote on cannot replace the
         * heads it sent before. */
        "CREATE TABLE IF NOT EXISTS audit_child_heads("
        "code TEXT NOT NULL,"
        "seq INTEGER NOT NULL,"
        "hash BLOB NOT NULL,"
        "received_ms INTEGER NOT NULL,"
        "PRIMARY KEY(code, seq)) WITHOUT ROWID;");
}

int pg_store__create_tables(sqlite3 *db, const pg_schema *schema)
{
    pg_buf sql = PG_BUF_INIT;
    int error;

    error = pg_buf_puts(&sql, "CREATE TABLE IF NOT EXISTS meta("
                              "key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
                              "CREATE TABLE IF NOT EXISTS log("
                              /* AUTOINCREMENT: a revocation deletes entries
                               * from the log, and a seq a peer was sent
                               * must never name another txn. */
                              "seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                              "origin TEXT NOT NULL,"
                              "origin_seq INTEGER NOT NULL,"
                              "digest BLOB NOT NULL,"
                              "hlc INTEGER NOT NULL,"
                              "collection TEXT NOT NULL,"
                              "division TEXT NOT NULL,"
                              "operator TEXT NOT NULL,"
                              "nchanges INTEGER NOT NULL,"
                              "body BLOB NOT NULL,"
                              "received_at INTEGER NOT NULL,"
                              "via TEXT NOT NULL DEFAULT '',"
                              "UNIQUE(origin, origin_seq));");
    for (size_t i = 0; error == 0 && i < schema->ncollections; i++) {
        const pg_collection *c = schema->collections[i];
        error = pg_buf_printf(&sql,
                              "CREATE TABLE IF NOT EXISTS \"%s\"("
                              "id TEXT NOT NULL PRIMARY KEY",
                              c->name);
        for (size_t f = 0; error == 0 && f < c->nfields; f++)
            error = pg_buf_printf(&sql, ", \"%s\" %s", c->fields[f].name,
                                  column_type(c->fields[f].type));
        if (error == 0)
            error = pg_buf_puts(&sql, ", _deleted INTEGER NOT NULL DEFAULT 0"
                                      ", _v BLOB NOT NULL);");
    }
    if (error == 0)
        error = pg_store__exec(db, (const char *)sql.data);
    if (error == 0)
        error = pg_store__create_peer_table(db);
    if (error == 0)
        error = pg_store__create_sync_tables(db);
    pg_buf_dispose(&sql);
    return error;
}

/* The tombstone of `coll` moves from field index `was` to `now`. */
static int upgrade_tombstone(sqlite3 *db, const char *coll, size_t was,
                             size_t now)
{
    char sql[256];
    sqlite3_stmt *rd = NULL, *wr = NULL;
    pg_buf v = PG_BUF_INIT;
    int rc, error = 0;

    snprintf(sql, sizeof(sql),
             "UPDATE hist SET field = %zu WHERE coll = '%s' AND field = %zu;"
             "UPDATE conflict SET field = %zu WHERE coll = '%s' AND "
             "field = %zu;",
             now, coll, was, now, coll, was);
    if ((error = pg_store__exec(db, sql)) < 0)
        return error;
    snprintf(sql, sizeof(sql), "SELECT rowid, _v FROM \"%s\"", coll);
    if ((rc = sqlite3_prepare_v2(db, sql, -1, &rd, NULL)) != SQLITE_OK)
        return pg_store__error(db, rc, "upgrading the store");
    snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET _v = ? WHERE rowid = ?",
             coll);
    if ((rc = sqlite3_prepare_v2(db, sql, -1, &wr, NULL)) != SQLITE_OK) {
        sqlite3_finalize(rd);
        return pg_store__error(db, rc, "upgrading the store");
    }
    while (!error && (rc = sqlite3_step(rd)) == SQLITE_ROW) {
        const uint8_t *blob = sqlite3_column_blob(rd, 1);
        size_t len = (size_t)sqlite3_column_bytes(rd, 1);
        pg_version del;
        bool has = false;

        pg_buf_clear(&v);
        for (size_t off = 0; off + PG_VERSION_ENTRY <= len;
             off += PG_VERSION_ENTRY)
            has |= blob[off] == was;
        if (!has)
            continue;
        pg_store__versions_get(&del, blob, len, was);
        /* The entries stay sorted by field: rebuild without the old. */
        for (size_t off = 0; !error && off + PG_VERSION_ENTRY <= len;
             off += PG_VERSION_ENTRY)
            if (blob[off] != was)
                error = pg_buf_put(&v, blob + off, PG_VERSION_ENTRY);
        if (!error)
            error = pg_store__versions_set(&v, now, &del);
        if (error)
            break;
        sqlite3_reset(wr);
        sqlite3_bind_blob(wr, 1, v.data, (int)v.len, SQLITE_STATIC);
        sqlite3_bind_int64(wr, 2, sqlite3_column_int64(rd, 0));
        if ((rc = sqlite3_step(wr)) != SQLITE_DONE)
            error = pg_store__error(db, rc, "upgrading the store");
    }
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(db, rc, "upgrading the store");
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    pg_buf_dispose(&v);
    return error;
}

int pg_store__upgrade_tables(sqlite3 *db, const pg_schema *from,
                             const pg_schema *to)
{
    int error = 0;

    for (size_t i = 0; error == 0 && i < from->ncollections; i++) {
        const pg_collection *was = from->collections[i];
        const pg_collection *now = pg_schema_collection(to, was->name);
        char sql[256];

        if (!now || now->nfields == was->nfields)
            continue;
        for (size_t f = was->nfields; error == 0 && f < now->nfields; f++) {
            snprintf(sql, sizeof(sql),
                     "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", now->name,
                     now->fields[f].name, column_type(now->fields[f].type));
            error = pg_store__exec(db, sql);
        }
        if (error == 0)
            error =
                upgrade_tombstone(db, now->name, was->nfields, now->nfields);
    }
    /* New collections: CREATE TABLE IF NOT EXISTS leaves the others. */
    return error ? error : pg_store__create_tables(db, to);
}

int pg_store__begin(sqlite3 *db)
{
    /* One write at a time per handle: a nested BEGIN would fail, and the
     * failing call's rollback would then undo the outer write. */
    if (!sqlite3_get_autocommit(db))
        return pg_error_set(PG_EBUSY, PG_ERRCLASS_STORE,
                            "another write is in progress on this node "
                            "handle; finish it first");
    return pg_store__exec(db, "BEGIN IMMEDIATE");
}

int pg_store__commit(sqlite3 *db)
{
    int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int error = pg_store__error(db, rc, "committing");
        pg_store__rollback(db);
        return error;
    }
    return 0;
}

void pg_store__rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

#define SQL_META_GET "SELECT value FROM meta WHERE key = ?"
#define SQL_META_SET                                                           \
    "INSERT INTO meta(key, value) VALUES(?, ?) "                               \
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"

void pg_store__release(sqlite3_stmt *st, bool owned)
{
    if (owned)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
}

int pg_store__step_done(sqlite3_stmt *st, bool owned, sqlite3 *db,
                        const char *what)
{
    int rc = sqlite3_step(st);
    pg_store__release(st, owned);
    if (rc != SQLITE_DONE)
        return pg_store__error(db, rc, what);
    return 0;
}

/* Step the meta query for key; on SQLITE_ROW the caller reads column 0
 * and releases the statement. */
static int meta_query(sqlite3_stmt **st, bool *owned, int *rc, sqlite3 *db,
                      pg_stmt_cache *cache, const char *key)
{
    int error = pg_store__cached(st, owned, cache, db, SQL_META_GET);
    if (error < 0)
        return error;
    sqlite3_bind_text(*st, 1, key, -1, SQLITE_STATIC);
    *rc = sqlite3_step(*st);
    if (*rc != SQLITE_ROW && *rc != SQLITE_DONE) {
        pg_store__release(*st, *owned);
        return pg_store__error(db, *rc, "reading node settings");
    }
    return 0;
}

int pg_store__meta_get(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                       char *out, size_t outlen)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = meta_query(&st, &owned, &rc, db, cache, key)) < 0)
        return error;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", v ? v : "");
    }
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW)
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "the store has no '%s' setting; is this a "
                            "pingan node directory?",
                            key);
    return 0;
}

int pg_store__meta_get_int(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                           int64_t *out)
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    if ((error = meta_query(&st, &owned, &rc, db, cache, key)) < 0)
        return error;
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    pg_store__release(st, owned);
    return 0;
}

static int meta_put(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                    const char *text, int64_t num)
{
    sqlite3_stmt *st;
    bool owned;
    int error = pg_store__cached(&st, &owned, cache, db, SQL_META_SET);
    if (error < 0)
        return error;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 2, num);
    return pg_store__step_done(st, owned, db, "saving node settings");
}

int pg_store__meta_set(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                       const char *value)
{
    return meta_put(db, cache, key, value, 0);
}

int pg_store__meta_set_int(sqlite3 *db, pg_stmt_cache *cache, const char *key,
                           int64_t value)
{
    return meta_put(db, cache, key, NULL, value);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void pg_store__versions_get(pg_version *out, const uint8_t *blob, size_t len,
                            size_t field)
{
    memset(out, 0, sizeof(*out));
    for (size_t off = 0; off + PG_VERSION_ENTRY <= len;
         off += PG_VERSION_ENTRY) {
        if (blob[off] != field)
            continue;
        out->hlc = get_u64(blob + off + 1);
        uint64_t origin = get_u64(blob + off + 9);
        if (origin && origin <= 999999999999ULL) {
            for (int i = PG_CODE_LEN - 1; i >= 0; i--) {
                out->origin[i] = (char)('0' + origin % 10);
                origin /= 10;
            }
            out->origin[PG_CODE_LEN] = 0;
        }
        return;
    }
}

int pg_store__versions_set(pg_buf *blob, size_t field, const pg_version *v)
{
    uint8_t entry[PG_VERSION_ENTRY];
    uint64_t origin = 0;
    size_t off;
    int error;

    for (const char *p = v->origin; *p; p++)
        origin = origin * 10 + (uint64_t)(*p - '0');
    entry[0] = (uint8_t)field;
    put_u64(entry + 1, v->hlc);
    put_u64(entry + 9, origin);
    for (off = 0; off + PG_VERSION_ENTRY <= blob->len;
         off += PG_VERSION_ENTRY) {
        if (blob->data[off] == field) {
            memcpy(blob->data + off, entry, PG_VERSION_ENTRY);
            return 0;
        }
        if (blob->data[off] > field)
            break;
    }
    if ((error = pg_buf_reserve(blob, PG_VERSION_ENTRY)) < 0)
        return error;
    memmove(blob->data + off + PG_VERSION_ENTRY, blob->data + off,
            blob->len - off);
    memcpy(blob->data + off, entry, PG_VERSION_ENTRY);
    blob->len += PG_VERSION_ENTRY;
    return 0;
}

int pg_store__cached(sqlite3_stmt **out, bool *owned, pg_stmt_cache *cache,
                     sqlite3 *db, const char *sql)
{
    *out = NULL;
    *owned = false;
    for (size_t i = 0; cache && i < cache->n; i++)
        if (strcmp(cache->sql[i], sql) == 0) {
            sqlite3_reset(cache->st[i]);
            sqlite3_clear_bindings(cache->st[i]);
            *out = cache->st[i];
            return 0;
        }
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "preparing a statement");
    size_t n = strlen(sql) + 1;
    char *copy = cache && cache->n < PG_STMT_CACHE_MAX ? malloc(n) : NULL;
    if (!copy) {
        *owned = true;
        *out = st;
        return 0;
    }
    memcpy(copy, sql, n);
    cache->sql[cache->n] = copy;
    cache->st[cache->n++] = st;
    *out = st;
    return 0;
}

void pg_store__cache_clear(pg_stmt_cache *cache)
{
    for (size_t i = 0; i < cache->n; i++) {
        sqlite3_finalize(cache->st[i]);
        free(cache->sql[i]);
    }
    cache->n = 0;
}
