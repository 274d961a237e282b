/*
 * Purging personal information (pingan/purge.h; PIPL Art. 47).
 *
 * The log is the source of truth and keeps every txn as its protobuf
 * bytes, so erasing a value means rewriting those bytes: each purged
 * change is dropped as a redacting hop drops it (node/txn_redact.c).  The
 * leaf of a dropped change is computed from its commitment, so the digest
 * and the origin's signature stay valid; the seed is withheld, so the
 * salt of a purged value is gone and its commitment cannot be brute
 * forced, even for a phone number.  The redaction note names the purge:
 *
 *   policy_id   = "purge:" ‖ the purge record's id
 *   policy_hash = BLAKE2b-256(str("pingan.purge.v1") ‖ str(purge record id))
 *   transform   = drop
 */
#include "audit_internal.h"
#include "i18n_internal.h"
#include "node_internal.h"
#include "purge_internal.h"
#include "store.h"
#include "write_internal.h"
#include "pingan/error.h"
#include "pingan/hlc.h"
#include "pingan/purge.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/ulid.h"
#include "pingan/value.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURGE_POLICY_PREFIX "purge:"
/* Records per purge txn: four changes each, within PG_TXN_MAX_CHANGES. */
#define PURGE_PER_TXN 1000
/* And within PG_TXN_MAX_BYTES (a long basis goes with every record):
 * room for the header, and an estimate per change of its framing, salt,
 * commitment and version (as node/import.c's import_flush). */
#define PURGE_TXN_BUDGET      (PG_TXN_MAX_BYTES - 8 * 1024)
#define PURGE_CHANGE_OVERHEAD 48

typedef struct target {
    const pg_collection *coll;
    char id[PG_RECORD_ID_LEN + 1];
    char division[PG_CODE_LEN + 1];
    int64_t ended_ms;
    size_t values;
    char purge_id[PG_RECORD_ID_LEN + 1];
} target;

/* A growing array of targets in a pg_buf (v and n follow buf). */
typedef struct targets {
    pg_buf buf;
    target *v;
    size_t n;
} targets;

#define TARGETS_INIT                                                           \
    {                                                                          \
        PG_BUF_INIT, NULL, 0                                                   \
    }

static bool erased_field(const pg_collection *coll, size_t fidx)
{
    const pg_field *f = pg_collection_field_at(coll, fidx);
    return fidx > 0 && fidx < coll->nfields && f &&
           (f->privacy == PG_PRIVACY_PERSONAL ||
            f->privacy == PG_PRIVACY_SENSITIVE);
}

static void note_policy(char id[sizeof(PURGE_POLICY_PREFIX) + PG_RECORD_ID_LEN],
                        uint8_t hash[PG_HASH_LEN], const char *purge_id)
{
    pg_hash_state st;
    uint8_t len[4];
    size_t n;

    snprintf(id, sizeof(PURGE_POLICY_PREFIX) + PG_RECORD_ID_LEN, "%s%s",
             PURGE_POLICY_PREFIX, purge_id);
    pg_hash_init(&st, PG_HASH_LEN);
    n = strlen("pingan.purge.v1");
    len[0] = len[1] = len[2] = 0;
    len[3] = (uint8_t)n;
    pg_hash_update(&st, len, 4);
    pg_hash_update(&st, "pingan.purge.v1", n);
    n = strlen(purge_id);
    len[3] = (uint8_t)n;
    pg_hash_update(&st, len, 4);
    pg_hash_update(&st, purge_id, n);
    pg_hash_final(&st, hash);
}

/* The purge that purged record_id of division here (division NULL: of
 * any division): *found false when none.  A purge counts only under the
 * division it was filed in, which its origin's jurisdiction covers: a
 * node cannot have another division's record erased by naming its id. */
static int purged_by(pg_node *node, const char *record_id, const char *division,
                     bool *found, char purge_id[PG_RECORD_ID_LEN + 1])
{
    sqlite3_stmt *st;
    bool owned;
    int rc, error;

    *found = false;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT purge_id FROM purged WHERE "
                                  "record_id = ?1 AND (?2 IS NULL OR "
                                  "division = ?2)")) < 0)
        return error;
    sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
    if (division)
        sqlite3_bind_text(st, 2, division, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        *found = true;
        if (purge_id)
            snprintf(purge_id, PG_RECORD_ID_LEN + 1, "%s", p ? p : "");
    }
    pg_store__release(st, owned);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading purged records");
    return 0;
}

int pg_purge_is_purged(pg_node *node, const char *record_id, bool *out)
{
    PG_ASSERT_ARG(node && record_id && out);
    return purged_by(node, record_id, NULL, out, NULL);
}

static int put_value(pg_buf *values, const char *s, size_t n)
{
    int error;
    if (!values || !s || n == 0)
        return 0;
    if ((error = pg_buf_put(values, s, n)) < 0 ||
        (error = pg_buf_put(values, "", 1)) < 0)
        return error;
    return 0;
}

int pg_purge__scrub(pg_node *node, pg_txn *txn, bool *changed, pg_buf *values)
{
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), txn->collection);
    const char *me = node->card.code;
    char purge_id[PG_RECORD_ID_LEN + 1] = "";
    char last_rid[PG_RECORD_ID_LEN + 1] = "";
    bool purged = false, any = false;
    int error;

    *changed = false;
    if (!coll || coll->system)
        return 0;
    /* First what to drop, before anything changes. */
    for (size_t i = 0; i < txn->nchanges; i++) {
        const pg_change *ch = &txn->changes[i];
        size_t fidx;
        if (strcmp(ch->record_id, last_rid) != 0) {
            snprintf(last_rid, sizeof(last_rid), "%s", ch->record_id);
            if ((error = purged_by(node, ch->record_id, txn->division, &purged,
                                   NULL)) < 0)
                return error;
        }
        if (purged && ch->form != PG_CHANGE_DROPPED &&
            pg_collection_field(coll, ch->field, &fidx) &&
            erased_field(coll, fidx))
            any = true;
    }
    if (!any)
        return 0;
    /* This node adds notes after its own last signature only: a
     * signature it made last is taken back and made anew over all its
     * notes. */
    for (size_t j = 0; j < txn->nhop_sigs; j++)
        if (strcmp(txn->hop_sigs[j].hop, me) == 0) {
            if (j + 1 != txn->nhop_sigs)
                return pg_error_set(PG_ECONFLICT, PG_ERRCLASS_TXN,
                                    "txn %s/%llu: this node signed it "
                                    "as a hop before hop %s did; its "
                                    "purge notes cannot be added",
                                    txn->origin, (unsigned long long)txn->seq,
                                    txn->hop_sigs[txn->nhop_sigs - 1].hop);
            txn->nhop_sigs--;
        }
    last_rid[0] = 0;
    for (size_t i = 0; i < txn->nchanges; i++) {
        pg_change *ch = &txn->changes[i];
        size_t fidx;
        if (strcmp(ch->record_id, last_rid) != 0) {
            snprintf(last_rid, sizeof(last_rid), "%s", ch->record_id);
            if ((error = purged_by(node, ch->record_id, txn->division, &purged,
                                   purge_id)) < 0)
                return error;
        }
        if (!purged || ch->form == PG_CHANGE_DROPPED ||
            !pg_collection_field(coll, ch->field, &fidx) ||
            !erased_field(coll, fidx))
            continue;
        if (ch->form == PG_CHANGE_COMMITTED)
            error = put_value(values, ch->derived,
                              ch->derived ? strlen(ch->derived) : 0);
        else if (ch->value.kind == PG_VALUE_TEXT)
            error = put_value(values, ch->value.s, ch->value.len);
        else
            error = 0;
        char pid[sizeof(PURGE_POLICY_PREFIX) + PG_RECORD_ID_LEN];
        uint8_t phash[PG_HASH_LEN];
        note_policy(pid, phash, purge_id);
        if (error < 0 ||
            (error = pg_txn_redact_drop(txn, i, me, pid, phash)) < 0)
            return error;
    }
    if ((error = pg_txn_hop_sign(txn, me, node->card.key_id,
                                 pg_node__sign_sk(node))) < 0)
        return error;
    *changed = true;
    return 0;
}

static int load_targets(targets *t, pg_node *node, const pg_collection *coll,
                        const char *where, const char *arg, bool all,
                        int64_t before_ms);

int pg_purge__check_write(pg_node *node, const pg_collection *coll,
                          const char *id, const pg_field_value *values,
                          const size_t *idx, size_t n)
{
    char by[PG_RECORD_ID_LEN + 1];
    bool purged = false;
    int error;

    for (size_t i = 0; i < n; i++) {
        if (!erased_field(coll, idx[i]) ||
            values[i].value.kind == PG_VALUE_ABSENT)
            continue;
        targets t = TARGETS_INIT;
        error = load_targets(&t, node, coll, "WHERE t.id = ?1", id, true, 0);
        if (!error && t.n == 1)
            error = purged_by(node, id, t.v[0].division, &purged, by);
        pg_buf_dispose(&t.buf);
        if (error < 0)
            return error;
        if (purged)
            return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                                "record %s was purged (by %s): its "
                                "personal and sensitive fields are not "
                                "written again; field '%s' is one",
                                id, by, values[i].field);
        return 0;
    }
    return 0;
}

/* --- finding the targets ------------------------------------------------ */

static int targets_add(targets *t, const target *x)
{
    int error = pg_buf_put(&t->buf, x, sizeof(*x));
    if (error < 0)
        return error;
    t->v = (target *)(void *)t->buf.data;
    t->n++;
    return 0;
}

/* The column (an SQL expression) that says when a record's lifecycle
 * ended, or NULL when the collection has none. */
static const char *end_column(const pg_collection *coll)
{
    static const char *const cols[] = {"closed_at", "removed_at", "handled_at"};
    if (strcmp(coll->name, "dispute_party") == 0)
        return "(SELECT d.closed_at FROM dispute d WHERE d.id = "
               "t.dispute_id)";
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        const pg_field *f = pg_collection_field(coll, cols[i], NULL);
        if (f && f->type == PG_TYPE_TIME)
            return cols[i];
    }
    return NULL;
}

/*
 * Load the records of coll matching `where` (with ?1 bound to arg, may be
 * NULL) into t: every one when all is set, else those whose lifecycle
 * ended before before_ms, in this node's jurisdiction, not purged yet.
 */
static int load_targets(targets *t, pg_node *node, const pg_collection *coll,
                        const char *where, const char *arg, bool all,
                        int64_t before_ms)
{
    pg_buf sql = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    const char *end = end_column(coll);
    int rc, error;

    error =
        pg_buf_printf(&sql, "SELECT t.id, t.division, t._deleted, t._v, %s, 0",
                      end ? end : "NULL");
    for (size_t f = 1; !error && f < coll->nfields; f++)
        if (erased_field(coll, f))
            error = pg_buf_printf(&sql, " + (t.\"%s\" IS NOT NULL)",
                                  coll->fields[f].name);
    if (!error)
        error = pg_buf_printf(&sql, " FROM \"%s\" t %s", coll->name,
                              where ? where : "");
    if (!error)
        error = pg_buf_put(&sql, "", 1);
    if (error < 0)
        goto done;
    rc = sqlite3_prepare_v2(node->db, (const char *)sql.data, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        error = pg_store__error(node->db, rc, "finding records to purge");
        goto done;
    }
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        target x;
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *div = (const char *)sqlite3_column_text(st, 1);
        memset(&x, 0, sizeof(x));
        if (!id || !div || strlen(id) > PG_RECORD_ID_LEN ||
            strlen(div) != PG_CODE_LEN)
            continue;
        x.coll = coll;
        memcpy(x.id, id, strlen(id) + 1);
        memcpy(x.division, div, PG_CODE_LEN + 1);
        x.values = (size_t)sqlite3_column_int64(st, 5);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            x.ended_ms = sqlite3_column_int64(st, 4);
        } else if (sqlite3_column_int(st, 2)) {
            pg_version v;
            pg_store__versions_get(&v, sqlite3_column_blob(st, 3),
                                   (size_t)sqlite3_column_bytes(st, 3),
                                   coll->nfields);
            x.ended_ms = PG_HLC_MS(v.hlc);
        }
        if (!all) {
            bool purged;
            if (!pg_division_contains(node->card.code, x.division) ||
                x.ended_ms <= 0 || x.ended_ms >= before_ms)
                continue;
            if ((error = purged_by(node, x.id, x.division, &purged, NULL)) < 0)
                goto done;
            if (purged)
                continue;
        }
        if ((error = targets_add(t, &x)) < 0)
            goto done;
    }
    if (rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "finding records to purge");

done:
    sqlite3_finalize(st);
    pg_buf_dispose(&sql);
    return error;
}

/* The targets of a request: PG_ENOTFOUND, PG_EPOLICY, PG_EEXISTS for a
 * record by id that cannot be purged. */
static int find_targets(targets *t, pg_node *node, const pg_collection *coll,
                        const pg_purge_request *req)
{
    int error;

    if (!req->id) {
        if ((error = load_targets(t, node, coll, NULL, NULL, false,
                                  req->before_ms)) < 0)
            return error;
        /* The parties of a dispute purged with it. */
        if (strcmp(coll->name, "dispute") == 0) {
            const pg_collection *pc =
                pg_schema_collection(pg_node_schema(node), "dispute_party");
            if (pc && (error = load_targets(t, node, pc, NULL, NULL, false,
                                            req->before_ms)) < 0)
                return error;
        }
        return 0;
    }
    if ((error = load_targets(t, node, coll, "WHERE t.id = ?1", req->id, true,
                              0)) < 0)
        return error;
    if (t->n == 0)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_INVALID,
                            "no %s record %s is held here", coll->name,
                            req->id);
    if (!pg_division_contains(node->card.code, t->v[0].division))
        return pg_error_set(PG_EPOLICY, PG_ERRCLASS_INVALID,
                            "record %s belongs to division %s, outside "
                            "this node's jurisdiction (%s): only a node "
                            "on its path purges it",
                            req->id, t->v[0].division, node->card.code);
    bool purged;
    char by[PG_RECORD_ID_LEN + 1];
    if ((error = purged_by(node, req->id, t->v[0].division, &purged, by)) < 0)
        return error;
    if (purged)
        return pg_error_set(PG_EEXISTS, PG_ERRCLASS_INVALID,
                            "record %s is purged already (by %s)", req->id, by);
    if (strcmp(coll->name, "dispute") == 0) {
        const pg_collection *pc =
            pg_schema_collection(pg_node_schema(node), "dispute_party");
        size_t from = t->n;
        if (pc && (error = load_targets(t, node, pc,
                                        "WHERE t.dispute_id = ?1 AND NOT "
                                        "EXISTS (SELECT 1 FROM purged p "
                                        "WHERE p.record_id = t.id AND "
                                        "p.division = t.division)",
                                        req->id, true, 0)) < 0)
            return error;
        for (size_t i = from; i < t->n; i++)
            t->v[i].ended_ms = t->v[0].ended_ms;
    }
    return 0;
}

/* --- erasing -------------------------------------------------------------- */

static int exec_bind(pg_node *node, const char *sql, const char *a,
                     const char *b, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (a)
            sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (b)
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return pg_store__error(node->db, rc, what);
    return 0;
}

/* The record's row, history and conflicts. */
static int erase_row(pg_node *node, const target *x, pg_buf *values)
{
    const pg_collection *coll = x->coll;
    pg_buf set = PG_BUF_INIT, sel = PG_BUF_INIT, in = PG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    bool first = true;
    int rc, error = 0;

    for (size_t f = 1; !error && f < coll->nfields; f++) {
        if (!erased_field(coll, f))
            continue;
        const char *name = coll->fields[f].name;
        error = pg_buf_printf(&set, "%s\"%s\" = NULL", first ? "" : ", ", name);
        if (!error)
            error = pg_buf_printf(&sel, "%s\"%s\"", first ? "" : ", ", name);
        if (!error)
            error = pg_buf_printf(&in, "%s%zu", first ? "" : ", ", f);
        first = false;
    }
    if (first || error)
        goto done;
    /* The values themselves, to find them quoted in reasons. */
    pg_buf sql = PG_BUF_INIT;
    if ((error = pg_buf_printf(&sql, "SELECT %.*s FROM \"%s\" WHERE id = ?",
                               (int)sel.len, (const char *)sel.data,
                               coll->name)) == 0 &&
        (error = pg_buf_put(&sql, "", 1)) == 0) {
        rc =
            sqlite3_prepare_v2(node->db, (const char *)sql.data, -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, x->id, -1, SQLITE_STATIC);
            if ((rc = sqlite3_step(st)) == SQLITE_ROW)
                for (int i = 0; !error && i < sqlite3_column_count(st); i++)
                    if (sqlite3_column_type(st, i) == SQLITE_TEXT)
                        error = put_value(
                            values, (const char *)sqlite3_column_text(st, i),
                            (size_t)sqlite3_column_bytes(st, i));
        }
        sqlite3_finalize(st);
        st = NULL;
        if (!error && rc != SQLITE_ROW && rc != SQLITE_DONE)
            error = pg_store__error(node->db, rc, "reading a record to purge");
    }
    pg_buf_clear(&sql);
    if (!error &&
        (error = pg_buf_printf(&sql, "UPDATE \"%s\" SET %.*s WHERE id = ?1",
                               coll->name, (int)set.len,
                               (const char *)set.data)) == 0 &&
        (error = pg_buf_put(&sql, "", 1)) == 0)
        error = exec_bind(node, (const char *)sql.data, x->id, NULL,
                          "purging a record");
    pg_buf_clear(&sql);
    if (!error &&
        (error = pg_buf_printf(&sql,
                               "UPDATE hist SET value = NULL WHERE coll = ?1 "
                               "AND record_id = ?2 AND field IN (%.*s)",
                               (int)in.len, (const char *)in.data)) == 0 &&
        (error = pg_buf_put(&sql, "", 1)) == 0)
        error = exec_bind(node, (const char *)sql.data, coll->name, x->id,
                          "purging a record's history");
    pg_buf_clear(&sql);
    if (!error &&
        (error = pg_buf_printf(&sql,
                               "UPDATE conflict SET a_value = NULL, b_value "
                               "= NULL WHERE coll = ?1 AND record_id = ?2 "
                               "AND field IN (%.*s)",
                               (int)in.len, (const char *)in.data)) == 0 &&
        (error = pg_buf_put(&sql, "", 1)) == 0)
        error = exec_bind(node, (const char *)sql.data, coll->name, x->id,
                          "purging a record's conflicts");
    pg_buf_dispose(&sql);

done:
    pg_buf_dispose(&set);
    pg_buf_dispose(&sel);
    pg_buf_dispose(&in);
    return error;
}

static bool contains(const void *hay, size_t hlen, const char *needle)
{
    size_t n = strlen(needle);
    const unsigned char *h = hay;
    for (size_t i = 0; n && hlen >= n && i <= hlen - n; i++)
        if (h[i] == (unsigned char)needle[0] && memcmp(h + i, needle, n) == 0)
            return true;
    return false;
}

/* Does the body name one of the targets (of the pair's collection and
 * division, when pair)? */
static bool names_target(const void *body, size_t len, const target *t,
                         size_t n, const target *pair)
{
    for (size_t i = 0; i < n; i++) {
        if (pair && (t[i].coll != pair->coll ||
                     strcmp(t[i].division, pair->division) != 0))
            continue;
        if (contains(body, len, t[i].id))
            return true;
    }
    return false;
}

/* The keys of the rows of `sql` (key, body; ?1 ?2 bound to the pair's
 * collection and division when pair) whose body names a target. */
static int rows_naming(pg_buf *keys, pg_node *node, const char *sql,
                       const target *t, size_t n, const target *pair)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL), error = 0;

    pg_buf_clear(keys);
    if (rc == SQLITE_OK) {
        if (pair) {
            sqlite3_bind_text(st, 1, pair->coll->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, pair->division, -1, SQLITE_STATIC);
        }
        while (!error && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t k = sqlite3_column_int64(st, 0);
            if (names_target(sqlite3_column_blob(st, 1),
                             (size_t)sqlite3_column_bytes(st, 1), t, n, pair))
                error = pg_buf_put(keys, &k, sizeof(k));
        }
    }
    sqlite3_finalize(st);
    if (!error && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "finding txns to purge");
    return error;
}

/*
 * Rewrite the txn in `table` row `key` (column `body`) in purged form.
 * One that does not decode is deleted when `drop_bad` (a quarantined
 * malformed txn naming the record), else left.  *n counts rewrites.
 */
static int rewrite_body(pg_node *node, const char *table, const char *keycol,
                        int64_t key, bool drop_bad, pg_buf *values, size_t *n)
{
    char sql[160];
    sqlite3_stmt *st = NULL;
    pg_txn *txn = NULL;
    pg_buf out = PG_BUF_INIT;
    bool changed = false, bad = false;
    int rc, error = 0;

    snprintf(sql, sizeof(sql), "SELECT body FROM %s WHERE %s = ?", table,
             keycol);
    rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, key);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (pg_txn_decode(&txn, sqlite3_column_blob(st, 0),
                              (size_t)sqlite3_column_bytes(st, 0)) < 0) {
                if (pg_error_last()->code == PG_ENOMEM)
                    error = PG_ENOMEM;
                else
                    pg_error_clear();
                bad = true;
            }
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!error && rc != SQLITE_ROW && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading a txn to purge");
    if (error || rc != SQLITE_ROW)
        goto done;
    if (bad) {
        if (drop_bad) {
            snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ?", table,
                     keycol);
            goto write;
        }
        goto done;
    }
    if ((error = pg_purge__scrub(node, txn, &changed, values)) < 0 ||
        !changed || (error = pg_txn_encode(&out, txn)) < 0)
        goto done;
    snprintf(sql, sizeof(sql), "UPDATE %s SET body = ? WHERE %s = ?", table,
             keycol);

write:
    rc = sqlite3_prepare_v2(node->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (bad) {
            sqlite3_bind_int64(st, 1, key);
        } else {
            sqlite3_bind_blob(st, 1, out.data, (int)out.len, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, key);
        }
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "rewriting a purged txn");
    else
        (*n)++;

done:
    pg_txn_free(txn);
    pg_buf_dispose(&out);
    return error;
}

/* The txns held back (pending, quarantine) naming a target, one scan
 * each: they are purged whether or not the record is in a record table
 * here (a creation txn waiting for its signer's card is not).  Only the
 * ids of t are used. */
static int erase_held(pg_node *node, const target *t, size_t n, pg_buf *values,
                      pg_purge_result *res)
{
    static const struct {
        const char *table, *sql;
    } held[] = {
        {"pending", "SELECT id, body FROM pending"},
        {"quarantine", "SELECT id, body FROM quarantine"},
    };
    pg_buf keys = PG_BUF_INIT;
    int error = 0;

    for (size_t w = 0; !error && n && w < sizeof(held) / sizeof(held[0]); w++) {
        if ((error = rows_naming(&keys, node, held[w].sql, t, n, NULL)) < 0)
            break;
        const int64_t *k = (const int64_t *)(void *)keys.data;
        for (size_t i = 0; !error && i < keys.len / sizeof(*k); i++)
            error = rewrite_body(node, held[w].table, "id", k[i], true, values,
                                 &res->held);
    }
    pg_buf_dispose(&keys);
    return error;
}

/* Every txn naming a target: the log, one scan per (collection,
 * division); pending and quarantine, one scan each. */
static int erase_txns(pg_node *node, const target *t, size_t n, pg_buf *values,
                      pg_purge_result *res)
{
    pg_buf keys = PG_BUF_INIT;
    int error = 0;

    for (size_t p = 0; !error && p < n; p++) {
        bool seen = false;
        for (size_t q = 0; q < p && !seen; q++)
            seen = t[q].coll == t[p].coll &&
                   strcmp(t[q].division, t[p].division) == 0;
        if (seen)
            continue;
        if ((error = rows_naming(&keys, node,
                                 "SELECT seq, body FROM log WHERE collection "
                                 "= ?1 AND division = ?2",
                                 t, n, &t[p])) < 0)
            break;
        const int64_t *k = (const int64_t *)(void *)keys.data;
        for (size_t i = 0; !error && i < keys.len / sizeof(*k); i++)
            error = rewrite_body(node, "log", "seq", k[i], false, values,
                                 &res->txns);
    }
    pg_buf_dispose(&keys);
    if (!error)
        error = erase_held(node, t, n, values, res);
    return error;
}

bool pg_purge__quotes(const char *reason, const pg_buf *values)
{
    for (size_t off = 0; reason && values && off < values->len;) {
        const char *v = (const char *)values->data + off;
        size_t n = strlen(v);
        off += n + 1;
        if (n >= 3 && strstr(reason, v))
            return true;
    }
    return false;
}

int pg_purge__names_purged(pg_node *node, const void *body, size_t len,
                           bool *out)
{
    sqlite3_stmt *st;
    bool owned;
    int rc = SQLITE_DONE, error;

    *out = false;
    if (!body || len < PG_RECORD_ID_LEN)
        return 0;
    if ((error = pg_store__cached(&st, &owned, &node->stmts, node->db,
                                  "SELECT record_id FROM purged")) < 0)
        return error;
    while (!*out && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (id && *id)
            *out = contains(body, len, id);
    }
    if (*out)
        rc = SQLITE_DONE;
    pg_store__release(st, owned);
    if (rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading purged records");
    return 0;
}

/* A reason that quotes a purged value keeps its class only. */
static int erase_reasons(pg_node *node, const pg_buf *values)
{
    static const char *const sql[] = {
        "UPDATE quarantine SET reason = substr(reason, 1, instr(reason, ':')) "
        "|| ' (withheld: it quoted a purged value)' WHERE instr(reason, ?1) > "
        "0",
        "UPDATE pending SET reason = substr(reason, 1, instr(reason, ':')) || "
        "' (withheld: it quoted a purged value)' WHERE instr(reason, ?1) > 0",
    };
    int error = 0;

    for (size_t off = 0; !error && off < values->len;) {
        const char *v = (const char *)values->data + off;
        size_t n = strlen(v);
        off += n + 1;
        if (n < 3)
            continue; /* too short to tell from other text */
        for (size_t i = 0; !error && i < 2; i++)
            error = exec_bind(node, sql[i], v, NULL, "purging reasons");
    }
    return error;
}

static int erase_targets(pg_node *node, const target *t, size_t n,
                         pg_purge_result *res)
{
    pg_buf values;
    int error = 0;

    /* Every target is in `purged` already (purged_set): the txns are
     * rewritten by what that table says. */
    pg_buf_init(&values, 64 * 1024 * 1024);
    for (size_t i = 0; !error && i < n; i++) {
        if ((error = erase_row(node, &t[i], &values)) == 0) {
            res->records++;
            res->values += t[i].values;
        }
    }
    if (!error)
        error = erase_txns(node, t, n, &values, res);
    if (!error)
        error = erase_reasons(node, &values);
    pg_memzero(values.data, values.len);
    pg_buf_dispose(&values);
    return error;
}

/* Remember a purged record; the first purge of it is the one kept. */
static int purged_set(pg_node *node, const char *record_id,
                      const char *division, const char *purge_id,
                      const char *origin, int64_t at)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        node->db,
        "INSERT OR IGNORE INTO purged(record_id, division, purge_id, "
        "origin, purged_at) VALUES(?1, ?2, ?3, ?4, ?5)",
        -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, record_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, division, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, purge_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, origin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, at);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "remembering a purged record");
    return 0;
}

/* --- the purge txns ------------------------------------------------------- */

static int compare_division(const void *a, const void *b)
{
    const target *x = a, *y = b;
    return strcmp(x->division, y->division);
}

/* One txn per division (and per PURGE_PER_TXN records) in `purge`. */
static int write_purges(pg_node *node, target *t, size_t n, const char *basis,
                        const char *operator_name, int64_t now,
                        pg_purge_result *res)
{
    const pg_collection *coll =
        pg_schema_collection(pg_node_schema(node), "purge");
    pg_txn *txn = NULL;
    pg_buf body, vblob = PG_BUF_INIT;
    pg_write_clock clk;
    size_t idx[4];
    int error;

    if (!coll)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_SCHEMA,
                            "this schema has no purge collection");
    pg_collection_field(coll, "division", &idx[0]);
    pg_collection_field(coll, "record_id", &idx[1]);
    pg_collection_field(coll, "purged_at", &idx[2]);
    pg_collection_field(coll, "basis", &idx[3]);
    pg_buf_init(&body, 2 * PG_TXN_MAX_BYTES);
    qsort(t, n, sizeof(*t), compare_division);
    if ((error = pg_txn_new(&txn)) < 0 ||
        (error = pg_write__clock_load(&clk, node)) < 0)
        goto done;
    /* The estimated encoded bytes of one record's four changes: its
     * purge id (a record id of this node) in each, the field names and
     * the values. */
    const size_t per_record =
        4 * (PURGE_CHANGE_OVERHEAD + PG_RECORD_ID_LEN) + strlen("division") +
        strlen("record_id") + strlen("purged_at") + strlen("basis") +
        PG_CODE_LEN + PG_RECORD_ID_LEN + 10 + strlen(basis);
    size_t per_txn = PURGE_TXN_BUDGET / per_record;
    if (per_txn > PURGE_PER_TXN)
        per_txn = PURGE_PER_TXN;
    if (per_txn == 0)
        per_txn = 1;
    for (size_t lo = 0, hi; !error && lo < n; lo = hi) {
        for (hi = lo + 1; hi < n && hi - lo < per_txn &&
                          strcmp(t[hi].division, t[lo].division) == 0;
             hi++)
            ;
        pg_txn_reset(txn);
        if ((error = pg_write__start_txn(txn, node, &clk, t[lo].division, coll,
                                         operator_name)) < 0)
            break;
        pg_version ver = {.hlc = clk.hlc};
        memcpy(ver.origin, node->card.code, PG_CODE_LEN + 1);
        for (size_t i = lo; !error && i < hi; i++) {
            pg_field_value vals[4] = {
                {.field = "division",
                 .value = {.kind = PG_VALUE_TEXT,
                           .s = t[i].division,
                           .len = PG_CODE_LEN}},
                {.field = "record_id",
                 .value = {.kind = PG_VALUE_TEXT,
                           .s = t[i].id,
                           .len = strlen(t[i].id)}},
                {.field = "purged_at",
                 .value = {.kind = PG_VALUE_INT, .i = now}},
                {.field = "basis",
                 .value = {.kind = PG_VALUE_TEXT,
                           .s = basis,
                           .len = strlen(basis)}},
            };
            pg_record_id_make(t[i].purge_id, &node->ulid, node->card.code, now);
            for (size_t k = 0; !error && k < 4; k++)
                error = pg_txn_add(txn, t[i].purge_id, vals[k].field,
                                   &vals[k].value, NULL);
            if (!error)
                error = pg_write__insert_row(node, coll, t[i].purge_id, vals,
                                             idx, 4, &ver, &vblob);
            if (!error)
                error = purged_set(node, t[i].id, t[i].division, t[i].purge_id,
                                   node->card.code, now);
        }
        if (!error &&
            (error = pg_write__seal(&body, txn, pg_node__sign_sk(node))) == 0 &&
            (error = pg_write__log_insert(node, txn, &body)) == 0)
            res->purge_txns++;
    }
    if (!error)
        error = pg_write__clock_save(&clk, node);

done:
    pg_txn_free(txn);
    pg_buf_dispose(&body);
    pg_buf_dispose(&vblob);
    return error;
}

/* --- the command ---------------------------------------------------------- */

int pg_purge_wipe(pg_node *node, bool *done)
{
    int log = -1, ckpt = -1, rc;

    PG_ASSERT_ARG(node);
    if (done)
        *done = false;
    if (!sqlite3_get_autocommit(node->db))
        return pg_error_set(PG_EBUSY, PG_ERRCLASS_STORE,
                            "a write is in progress on this node "
                            "handle; finish it first");
    rc = sqlite3_wal_checkpoint_v2(node->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                   &log, &ckpt);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(node->db, "VACUUM", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_wal_checkpoint_v2(node->db, NULL,
                                       SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return pg_error_set(PG_EBUSY, PG_ERRCLASS_STORE,
                            "another process is reading the store: its "
                            "write-ahead log could not be truncated; "
                            "run 'pingan purge' again when it is done");
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "wiping the store");
    if (done)
        *done = log == 0;
    return 0;
}

int pg_purge_run(pg_node *node, const pg_purge_request *req, pg_purge_cb cb,
                 void *payload, pg_purge_result *res)
{
    const pg_collection *coll;
    const char *basis;
    targets t = TARGETS_INIT;
    int64_t now = pg_time_now_ms();
    bool began = false;
    int error;

    PG_ASSERT_ARG(node && req && res);
    memset(res, 0, sizeof(*res));
    if (!req->collection ||
        !(coll = pg_write__collection(node, req->collection)))
        return PG_EINVALID;
    /* The purge travels as a record of a schema v2 collection. */
    if (!pg_schema_collection(pg_node_schema(node), "purge"))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                            "this node runs schema version %u, which cannot "
                            "send a purge along; 'pingan schema upgrade' "
                            "first",
                            pg_node_schema(node)->version);
    basis = req->basis ? req->basis : PG_PURGE_BASIS_DEFAULT;
    if (!basis[0] || strlen(basis) > PG_PURGE_BASIS_MAX ||
        !pg_label_valid(basis, strlen(basis)))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the basis must be 1 to %d bytes of UTF-8 "
                            "on one line",
                            PG_PURGE_BASIS_MAX);
    if (req->id && !pg_record_id_valid(req->id, NULL)) {
        char ex[PG_EXCERPT_SIZE];
        return pg_error_set(
            PG_EINVALID, PG_ERRCLASS_INVALID,
            "cannot purge '%s': it is not a record id (CODE-ULID)",
            pg_excerpt(ex, req->id, strlen(req->id)));
    }
    if (!req->id && req->before_ms > now)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the date given to --before is in the "
                            "future: only what ended already is "
                            "purged");
    if (!req->dry_run &&
        (error = pg_write__check_operator(req->operator_name)) < 0)
        return error;
    if (!req->dry_run) {
        if ((error = pg_node__hold_check(node)) < 0 ||
            (error = pg_store__begin(node->db)) < 0)
            return error;
        began = true;
    }
    if ((error = find_targets(&t, node, coll, req)) < 0)
        goto done;
    for (size_t i = 0; cb && i < t.n; i++) {
        pg_purge_target pt = {.collection = t.v[i].coll->name,
                              .record_id = t.v[i].id,
                              .ended_ms = t.v[i].ended_ms,
                              .values = t.v[i].values};
        memcpy(pt.division, t.v[i].division, PG_CODE_LEN + 1);
        if ((error = cb(&pt, payload)) != 0)
            goto done;
    }
    if (req->dry_run || t.n == 0) {
        res->records = t.n;
        for (size_t i = 0; i < t.n; i++)
            res->values += t.v[i].values;
        goto done;
    }
    if ((error = write_purges(node, t.v, t.n, basis, req->operator_name, now,
                              res)) < 0 ||
        (error = erase_targets(node, t.v, t.n, res)) < 0 ||
        (error = pg_audit__record_as(
             node, req->operator_name, "purge", req->id ? req->id : coll->name,
             "{s:s, s:s, s:I, s:I, s:I}", "collection", coll->name, "by",
             req->id ? "id" : "before", "records", (json_int_t)res->records,
             "txns", (json_int_t)res->txns, "purge_txns",
             (json_int_t)res->purge_txns)) < 0 ||
        (error = pg_store__commit(node->db)) < 0)
        goto done;
    began = false;
    /* Committed: a reader that keeps the log from being truncated leaves
     * res->wiped false for the caller to report. */
    if ((error = pg_purge_wipe(node, &res->wiped)) == PG_EBUSY) {
        pg_error_clear();
        error = 0;
    }

done:
    if (began)
        pg_store__rollback(node->db);
    pg_buf_dispose(&t.buf);
    return error;
}

/* --- received ------------------------------------------------------------- */

int pg_purge__received(pg_node *node, const pg_txn *txn, size_t *erased,
                       size_t *held_txns)
{
    const pg_schema *schema = pg_node_schema(node);
    targets held = TARGETS_INIT, other = TARGETS_INIT;
    pg_purge_result res;
    int error = 0;

    *erased = 0;
    *held_txns = 0;
    memset(&res, 0, sizeof(res));
    for (size_t lo = 0, hi; !error && lo < txn->nchanges; lo = hi) {
        const char *pid = txn->changes[lo].record_id;
        const pg_change *rc = NULL;
        int64_t at = 0;
        for (hi = lo;
             hi < txn->nchanges && strcmp(txn->changes[hi].record_id, pid) == 0;
             hi++) {
            const pg_change *ch = &txn->changes[hi];
            if (ch->form != PG_CHANGE_WHOLE && ch->form != PG_CHANGE_SALTED)
                continue;
            if (strcmp(ch->field, "record_id") == 0 &&
                ch->value.kind == PG_VALUE_TEXT)
                rc = ch;
            else if (strcmp(ch->field, "purged_at") == 0 &&
                     ch->value.kind == PG_VALUE_INT)
                at = ch->value.i;
        }
        char rid[PG_RECORD_ID_LEN + 1];
        if (!rc || rc->value.len > PG_RECORD_ID_LEN)
            continue;
        memcpy(rid, rc->value.s, rc->value.len);
        rid[rc->value.len] = 0;
        if (!pg_record_id_valid(rid, NULL))
            continue;
        if ((error = purged_set(node, rid, txn->division, pid, txn->origin,
                                at)) < 0)
            break;
        /* This node's copy, if it holds the record under that division:
         * every copy found is erased together, one scan of the log. */
        bool found = false;
        for (size_t c = 0; !error && c < schema->ncollections; c++) {
            const pg_collection *coll = schema->collections[c];
            targets t = TARGETS_INIT;
            if (coll->system)
                continue;
            error =
                load_targets(&t, node, coll, "WHERE t.id = ?1", rid, true, 0);
            if (!error && t.n == 1 &&
                strcmp(t.v[0].division, txn->division) == 0) {
                error = targets_add(&held, &t.v[0]);
                found = true;
            }
            pg_buf_dispose(&t.buf);
        }
        /* Not in a record table here: its txns may still wait in pending
         * or quarantine (their scrub goes by `purged`, set above). */
        if (!error && !found) {
            target x;
            memset(&x, 0, sizeof(x));
            snprintf(x.id, sizeof(x.id), "%s", rid);
            snprintf(x.division, sizeof(x.division), "%s", txn->division);
            error = targets_add(&other, &x);
        }
    }
    if (!error && held.n &&
        (error = erase_targets(node, held.v, held.n, &res)) == 0)
        *erased = held.n;
    if (!error && other.n) {
        pg_buf values;
        pg_buf_init(&values, 64 * 1024 * 1024);
        if ((error = erase_held(node, other.v, other.n, &values, &res)) == 0)
            error = erase_reasons(node, &values);
        pg_memzero(values.data, values.len);
        pg_buf_dispose(&values);
    }
    if (!error)
        *held_txns = res.held;
    pg_buf_dispose(&held.buf);
    pg_buf_dispose(&other.buf);
    return error;
}
