/*
 * The audit trail: an append-only, hash-chained table in the store.
 *
 *   audit(seq, at_ms, operator, action, subject, detail, prev, hash)
 *
 * hash = BLAKE2b-256(prev ‖ canonical encoding of the entry), prev being
 * the hash of entry seq - 1 (32 zero bytes for seq 1).  The canonical
 * encoding (proto/FORMAT.md §9) is
 *
 *   str("pingan.audit.v1") ‖ u64 seq ‖ i64 at_ms ‖ str(operator) ‖
 *   str(action) ‖ str(subject) ‖ str(detail)
 *
 * with str(s) = u32 length ‖ bytes and integers big-endian.  Lengths
 * make the encoding unambiguous: no two entries encode alike.
 *
 * Triggers refuse UPDATE and DELETE.  Whoever drops them and rewrites the
 * chain with fresh hashes passes the plain check, which is why bundles to
 * the parent carry the head (sync/exchange.c) and the parent keeps every
 * head each child sent (audit_child_heads): a rewritten chain no longer
 * holds them, even after the child wrote more on top of it.  The parent also
 * sends the head it holds back to the child, which keeps it in meta
 * (audit_parent*) for status.
 */
#include "audit_internal.h"
#include "error_internal.h"
#include "node_internal.h"
#include "memwatch.h"
#include "store.h"
#include "write_internal.h"
#include "pingan/error.h"
#include "pingan/value.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_DOMAIN "pingan.audit.v1"

static void audit_put_u64(pg_hash_state *st, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    pg_hash_update(st, b, sizeof(b));
}

static void audit_put_str(pg_hash_state *st, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    uint8_t b[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                    (uint8_t)(len >> 8), (uint8_t)len};
    pg_hash_update(st, b, sizeof(b));
    if (len)
        pg_hash_update(st, s, len);
}

void pg_audit_hash(uint8_t out[PG_HASH_LEN], const uint8_t prev[PG_HASH_LEN],
                   const pg_audit_entry *e)
{
    pg_hash_state st;

    pg_hash_init(&st, PG_HASH_LEN);
    pg_hash_update(&st, prev, PG_HASH_LEN);
    audit_put_str(&st, AUDIT_DOMAIN);
    audit_put_u64(&st, (uint64_t)e->seq);
    audit_put_u64(&st, (uint64_t)e->at_ms);
    audit_put_str(&st, e->operator_name);
    audit_put_str(&st, e->action);
    audit_put_str(&st, e->subject);
    audit_put_str(&st, e->detail);
    pg_hash_final(&st, out);
}

const char *pg_audit__operator(const pg_node *node)
{
    return node->operator_name[0] ? node->operator_name : "unknown";
}

static int audit_head_db(pg_audit_head *out, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = sqlite3_prepare_v2(db,
                            "SELECT seq, hash FROM audit ORDER BY seq DESC "
                            "LIMIT 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out->seq = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == PG_HASH_LEN)
            memcpy(out->hash, sqlite3_column_blob(st, 1), PG_HASH_LEN);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(db, rc, "reading the audit trail");
    return 0;
}

int pg_audit__append_db(sqlite3 *db, const char *operator_name,
                        const char *action, const char *subject,
                        const char *detail_json)
{
    pg_audit_head head;
    pg_audit_entry e;
    sqlite3_stmt *st = NULL;
    int rc, error;

    if (sqlite3_get_autocommit(db))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_STORE,
                            "an audit entry for '%s' is written only inside "
                            "the transaction of its action",
                            action);
    if (!detail_json)
        detail_json = "{}";
    pg_memwatch__begin();
    json_t *j = json_loads(detail_json, JSON_REJECT_DUPLICATES, NULL);
    bool object = json_is_object(j);
    json_decref(j);
    if (!object && pg_memwatch__failed())
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if (!object)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the audit detail of '%s' is not a JSON object",
                            action);
    if ((error = audit_head_db(&head, db)) < 0)
        return error;
    memset(&e, 0, sizeof(e));
    e.seq = head.seq + 1;
    e.at_ms = pg_time_now_ms();
    e.operator_name = operator_name;
    e.action = action;
    e.subject = subject ? subject : "";
    e.detail = detail_json;
    memcpy(e.prev, head.hash, PG_HASH_LEN);
    pg_audit_hash(e.hash, e.prev, &e);

    rc = sqlite3_prepare_v2(db,
                            "INSERT INTO audit(seq, at_ms, operator, action, "
                            "subject, detail, prev, hash) "
                            "VALUES(?,?,?,?,?,?,?,?)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(db, rc, "writing the audit trail");
    sqlite3_bind_int64(st, 1, e.seq);
    sqlite3_bind_int64(st, 2, e.at_ms);
    sqlite3_bind_text(st, 3, e.operator_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e.action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e.subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, e.detail, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, e.prev, PG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, e.hash, PG_HASH_LEN, SQLITE_STATIC);
    return pg_store__step_done(st, true, db, "writing the audit trail");
}

int pg_audit__append(pg_node *node, const char *action, const char *subject,
                     const char *detail_json)
{
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(action);
    /* A refused operator name records nothing: the action fails too. */
    if (node->operator_bad)
        return pg_write__check_operator("");
    return pg_audit__append_db(node->db, pg_audit__operator(node), action,
                               subject, detail_json);
}

static int audit_vrecord(pg_node *node, const char *operator_name,
                         const char *action, const char *subject,
                         const char *fmt, va_list ap)
{
    json_error_t jerr;
    if (!operator_name && node->operator_bad)
        return pg_write__check_operator("");
    if (!operator_name)
        operator_name = pg_audit__operator(node);
    /* jansson may lose a failed allocation inside a dump: watched. */
    pg_memwatch__begin();
    json_t *j = json_vpack_ex(&jerr, 0, fmt, ap);
    if (!j && pg_memwatch__failed())
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if (!j)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "cannot build the audit detail of '%s': %s", action,
                            jerr.text);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (!text || pg_memwatch__failed()) {
        free(text);
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    }
    int error =
        pg_audit__append_db(node->db, operator_name, action, subject, text);
    free(text);
    return error;
}

int pg_audit__record(pg_node *node, const char *action, const char *subject,
                     const char *fmt, ...)
{
    va_list ap;
    PG_ASSERT_ARG(node);
    va_start(ap, fmt);
    int error = audit_vrecord(node, NULL, action, subject, fmt, ap);
    va_end(ap);
    return error;
}

int pg_audit__record_as(pg_node *node, const char *operator_name,
                        const char *action, const char *subject,
                        const char *fmt, ...)
{
    va_list ap;
    PG_ASSERT_ARG(node);
    va_start(ap, fmt);
    int error = audit_vrecord(node, operator_name, action, subject, fmt, ap);
    va_end(ap);
    return error;
}

int pg_audit_head_get(pg_audit_head *out, pg_node *node)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    return audit_head_db(out, node->db);
}

/* Fill an entry from a row of SELECT seq, at_ms, operator, action,
 * subject, detail, prev, hash. */
static void audit_row(pg_audit_entry *e, sqlite3_stmt *st)
{
    memset(e, 0, sizeof(*e));
    /* The hash covers each text up to its length as C reads it: a row
     * changed behind the triggers' back with bytes after a NUL, or with a
     * value of another type, must not verify. */
    bool well_formed = sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
                       sqlite3_column_type(st, 1) == SQLITE_INTEGER &&
                       sqlite3_column_type(st, 6) == SQLITE_BLOB &&
                       sqlite3_column_type(st, 7) == SQLITE_BLOB;
    e->seq = sqlite3_column_int64(st, 0);
    e->at_ms = sqlite3_column_int64(st, 1);
    const char *text[4];
    for (int i = 0; i < 4; i++) {
        well_formed =
            well_formed && sqlite3_column_type(st, 2 + i) == SQLITE_TEXT;
        text[i] = (const char *)sqlite3_column_text(st, 2 + i);
        if (!text[i])
            text[i] = "";
        else if ((size_t)sqlite3_column_bytes(st, 2 + i) != strlen(text[i]))
            well_formed = false;
    }
    e->operator_name = text[0];
    e->action = text[1];
    e->subject = text[2];
    e->detail = text[3];
    /* A prev or hash of the wrong size stays all zeros: it cannot match. */
    if (sqlite3_column_bytes(st, 6) == PG_HASH_LEN)
        memcpy(e->prev, sqlite3_column_blob(st, 6), PG_HASH_LEN);
    if (sqlite3_column_bytes(st, 7) == PG_HASH_LEN && well_formed)
        memcpy(e->hash, sqlite3_column_blob(st, 7), PG_HASH_LEN);
}

#define SQL_AUDIT_ROWS                                                         \
    "SELECT seq, at_ms, operator, action, subject, detail, prev, hash "        \
    "FROM audit "

int pg_audit_list(pg_node *node, int64_t since_ms, const char *action,
                  pg_audit_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);
    rc = sqlite3_prepare_v2(node->db,
                            SQL_AUDIT_ROWS "WHERE at_ms >= ?1 AND "
                                           "(?2 IS NULL OR action = ?2) "
                                           "ORDER BY seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the audit trail");
    sqlite3_bind_int64(st, 1, since_ms);
    if (action)
        sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_audit_entry e;
        audit_row(&e, st);
        if ((error = cb(&e, payload)) != 0)
            break;
    }
    if (error == 0 && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading the audit trail");
    sqlite3_finalize(st);
    return error;
}

static int audit_bad(pg_audit_check *out, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int audit_bad(pg_audit_check *out, int64_t seq, const char *fmt, ...)
{
    pg_error__text why;
    va_list ap;

    va_start(ap, fmt);
    pg_error__vtextf(&why, fmt, ap);
    va_end(ap);
    out->bad_seq = seq;
    return pg_error__wrap(PG_ECORRUPT, PG_ERRCLASS_STORE, &why,
                          "audit entry %lld is bad: %s", (long long)seq,
                          why.en);
}

int pg_audit_verify(pg_audit_check *out, pg_node *node,
                    const pg_audit_head *against)
{
    sqlite3_stmt *st = NULL;
    uint8_t prev[PG_HASH_LEN] = {0};
    int64_t expect = 1;
    bool against_found = false;
    int rc, error = 0;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    memset(out, 0, sizeof(*out));
    rc = sqlite3_prepare_v2(node->db, SQL_AUDIT_ROWS "ORDER BY seq", -1, &st,
                            NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the audit trail");
    while (error == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_audit_entry e;
        uint8_t h[PG_HASH_LEN];
        audit_row(&e, st);
        out->entries++;
        if (e.seq != expect) {
            error = e.seq > expect
                        ? audit_bad(out, expect,
                                    "it is missing (the next entry is %lld)",
                                    (long long)e.seq)
                        : audit_bad(out, e.seq, "its seq is out of order");
            break;
        }
        if (memcmp(e.prev, prev, PG_HASH_LEN) != 0) {
            error = audit_bad(out, e.seq,
                              "its previous hash is not the hash of entry "
                              "%lld (an entry was removed, reordered or "
                              "changed)",
                              (long long)(e.seq - 1));
            break;
        }
        pg_audit_hash(h, prev, &e);
        if (memcmp(h, e.hash, PG_HASH_LEN) != 0) {
            error = audit_bad(out, e.seq,
                              "its hash does not match its content (it was "
                              "changed)");
            break;
        }
        if (against && e.seq == against->seq) {
            against_found = true;
            if (memcmp(h, against->hash, PG_HASH_LEN) != 0) {
                error = audit_bad(out, e.seq,
                                  "its hash differs from the head the parent "
                                  "recorded: the chain up to it was "
                                  "rewritten");
                break;
            }
        }
        memcpy(prev, h, PG_HASH_LEN);
        out->head.seq = e.seq;
        memcpy(out->head.hash, h, PG_HASH_LEN);
        expect++;
    }
    if (error == 0 && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading the audit trail");
    sqlite3_finalize(st);
    if (error == 0 && against && against->seq > 0 && !against_found)
        error = audit_bad(out, out->head.seq + 1,
                          "the parent recorded a head at entry %lld, but the "
                          "chain ends at %lld (entries were removed)",
                          (long long)against->seq, (long long)out->head.seq);
    return error;
}

int pg_audit__child_head_get(pg_audit_head *out, pg_node *node,
                             const char *code)
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT seq, hash FROM audit_child_heads WHERE "
                            "code = ? ORDER BY seq DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
            sqlite3_column_bytes(st, 1) == PG_HASH_LEN) {
            out->seq = sqlite3_column_int64(st, 0);
            memcpy(out->hash, sqlite3_column_blob(st, 1), PG_HASH_LEN);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the audit heads");
    return 0;
}

int pg_audit__child_head_received(pg_node *node, const char *code,
                                  const pg_audit_head *head)
{
    sqlite3_stmt *st = NULL;
    int rc;

    if (head->seq <= 0)
        return 0;
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT hash FROM audit_child_heads WHERE code = ? "
                            "AND seq = ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the audit heads");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, head->seq);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        uint8_t held[PG_HASH_LEN] = {0};
        if (sqlite3_column_bytes(st, 0) == PG_HASH_LEN)
            memcpy(held, sqlite3_column_blob(st, 0), PG_HASH_LEN);
        sqlite3_finalize(st);
        if (memcmp(held, head->hash, PG_HASH_LEN) == 0)
            return 0; /* seen already */
        /* The child signed two different chains: keep the first head, so
         * the rewrite stays detectable, and say so. */
        char a[2 * PG_HASH_LEN + 1], b[2 * PG_HASH_LEN + 1];
        pg_hex(a, held, PG_HASH_LEN);
        pg_hex(b, head->hash, PG_HASH_LEN);
        return pg_audit__record(node, "audit.fork", code, "{s:I, s:s, s:s}",
                                "seq", (json_int_t)head->seq, "held", a,
                                "received", b);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the audit heads");
    /* Every head is kept, older ones arriving late included: each one the
     * child's chain must still hold (pingan audit verify --heads). */
    rc = sqlite3_prepare_v2(node->db,
                            "INSERT INTO audit_child_heads(code, seq, hash, "
                            "received_ms) VALUES(?,?,?,?)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "recording an audit head");
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, head->seq);
    sqlite3_bind_blob(st, 3, head->hash, PG_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, pg_time_now_ms());
    return pg_store__step_done(st, true, node->db, "recording an audit head");
}

int pg_audit_child_heads(pg_node *node, pg_audit_child_cb cb, void *payload)
{
    sqlite3_stmt *st = NULL;
    int rc, error = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(cb);
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT code, seq, hash, received_ms FROM "
                            "audit_child_heads ORDER BY code, seq",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the audit heads");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pg_audit_child_head h;
        memset(&h, 0, sizeof(h));
        snprintf(h.code, sizeof(h.code), "%s",
                 (const char *)sqlite3_column_text(st, 0));
        h.head.seq = sqlite3_column_int64(st, 1);
        if (sqlite3_column_bytes(st, 2) == PG_HASH_LEN)
            memcpy(h.head.hash, sqlite3_column_blob(st, 2), PG_HASH_LEN);
        h.received_ms = sqlite3_column_int64(st, 3);
        if ((error = cb(&h, payload)) != 0)
            break;
    }
    if (error == 0 && rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "reading the audit heads");
    sqlite3_finalize(st);
    return error;
}

int pg_audit__parent_seen_set(pg_node *node, const char *parent,
                              const pg_audit_head *head)
{
    char hex[2 * PG_HASH_LEN + 1];
    int64_t seq;
    int error;

    if ((error = pg_store__meta_get_int(node->db, &node->stmts,
                                        "audit_parent_seq", &seq)) < 0)
        return error;
    if (head->seq <= seq)
        return 0;
    pg_hex(hex, head->hash, PG_HASH_LEN);
    if ((error = pg_store__meta_set(node->db, &node->stmts, "audit_parent",
                                    parent)) < 0 ||
        (error = pg_store__meta_set_int(node->db, &node->stmts,
                                        "audit_parent_seq", head->seq)) < 0)
        return error;
    return pg_store__meta_set(node->db, &node->stmts, "audit_parent_hash", hex);
}

int pg_audit_parent_seen(pg_audit_head *out, char parent[PG_CODE_LEN + 1],
                         pg_node *node)
{
    char hex[2 * PG_HASH_LEN + 1] = "";
    char code[PG_CODE_LEN + 1] = "";
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    memset(out, 0, sizeof(*out));
    if (parent)
        parent[0] = 0;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts,
                                        "audit_parent_seq", &out->seq)) < 0)
        return error;
    if (out->seq <= 0)
        return 0;
    if ((error = pg_store__meta_get(node->db, &node->stmts, "audit_parent_hash",
                                    hex, sizeof(hex))) < 0 ||
        (error = pg_store__meta_get(node->db, &node->stmts, "audit_parent",
                                    code, sizeof(code))) < 0)
        return error;
    if (pg_unhex(out->hash, PG_HASH_LEN, hex) < 0)
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_STORE,
                            "the audit head the parent confirmed is damaged "
                            "in the store");
    if (parent)
        memcpy(parent, code, PG_CODE_LEN + 1);
    return 0;
}

/* --- exported heads --------------------------------------------------- */

#define HEADS_DOMAIN   "pingan.audit.heads.v1"
#define HEADS_FORMAT   1
#define HEADS_MAX      100000 /* children a heads file may list */
#define HEADS_TEXT_MAX ((size_t)16 << 20)

/* The bytes a heads file's signature covers (FORMAT.md §9.3). */
static int heads_put_str(pg_buf *b, const char *s)
{
    int error = pg_buf_put_u32be(b, (uint32_t)strlen(s));
    return error ? error : pg_buf_puts(b, s);
}

static int heads_signed_start(pg_buf *b, const char *node, int64_t exported,
                              size_t n)
{
    int error;
    if ((error = heads_put_str(b, HEADS_DOMAIN)) < 0 ||
        (error = heads_put_str(b, node)) < 0 ||
        (error = pg_buf_put_u64be(b, (uint64_t)exported)) < 0)
        return error;
    return pg_buf_put_u64be(b, (uint64_t)n);
}

static int heads_signed_add(pg_buf *b, const pg_audit_child_head *h)
{
    int error;
    if ((error = heads_put_str(b, h->code)) < 0 ||
        (error = pg_buf_put_u64be(b, (uint64_t)h->head.seq)) < 0 ||
        (error = pg_buf_put(b, h->head.hash, PG_HASH_LEN)) < 0)
        return error;
    return pg_buf_put_u64be(b, (uint64_t)h->received_ms);
}

typedef struct heads_state {
    json_t *array;
    pg_buf msg;
    const char *only; /* one child's code, or NULL: all */
    size_t n;
} heads_state;

static int heads_collect(const pg_audit_child_head *h, void *payload)
{
    heads_state *hs = payload;
    char hex[2 * PG_HASH_LEN + 1];
    if (hs->only && strcmp(h->code, hs->only) != 0)
        return 0;
    pg_hex(hex, h->head.hash, PG_HASH_LEN);
    json_t *o = json_pack("{s:s, s:I, s:s, s:I}", "code", h->code, "seq",
                          (json_int_t)h->head.seq, "hash", hex, "received_ms",
                          (json_int_t)h->received_ms);
    if (!o || json_array_append_new(hs->array, o) < 0)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    return heads_signed_add(&hs->msg, h);
}

static int heads_count(const pg_audit_child_head *h, void *payload)
{
    heads_state *hs = payload;
    if (!hs->only || strcmp(h->code, hs->only) == 0)
        hs->n++;
    return 0;
}

static int heads_export(pg_buf *out, pg_node *node, const char *only)
{
    heads_state hs = {NULL, PG_BUF_INIT, only, 0};
    json_t *root = NULL;
    char *text = NULL;
    int64_t now = pg_time_now_ms();
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    pg_buf_init(&hs.msg, HEADS_TEXT_MAX);
    if (!(hs.array = json_array())) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    /* One read transaction: the count signed is the count listed. */
    if ((error = pg_store__exec(node->db, "BEGIN")) < 0)
        goto done;
    if ((error = pg_audit_child_heads(node, heads_count, &hs)) == 0 &&
        (error = heads_signed_start(&hs.msg, node->card.code, now, hs.n)) == 0)
        error = pg_audit_child_heads(node, heads_collect, &hs);
    pg_store__rollback(node->db);
    if (error < 0)
        goto done;
    uint8_t sig[PG_SIG_LEN];
    char sig_hex[2 * PG_SIG_LEN + 1];
    pg_sign(sig, hs.msg.data, hs.msg.len, pg_node__sign_sk(node));
    pg_hex(sig_hex, sig, sizeof(sig));
    root = json_pack("{s:i, s:s, s:s, s:I, s:O, s:s}", "format", HEADS_FORMAT,
                     "node", node->card.code, "key_id", node->card.key_id,
                     "exported_ms", (json_int_t)now, "heads", hs.array,
                     "signature", sig_hex);
    if (!root ||
        !(text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    if ((error = pg_buf_puts(out, text)) == 0)
        error = pg_buf_putc(out, '\n');

done:
    free(text);
    json_decref(root);
    json_decref(hs.array);
    pg_buf_dispose(&hs.msg);
    return error;
}

int pg_audit_heads_export(pg_buf *out, pg_node *node)
{
    return heads_export(out, node, NULL);
}

int pg_audit_heads_export_child(pg_buf *out, pg_node *node, const char *code)
{
    PG_ASSERT_ARG(code);
    if (!pg_division_valid(code))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "'%.20s' is not a division code", code);
    return heads_export(out, node, code);
}

static int heads_bad(const char *what)
{
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "the heads file is malformed: %s", what);
}

/* The signing key of the pinned parent @p code. */
static int heads_parent_key(uint8_t pk[PG_SIGN_PK_LEN], pg_node *node,
                            const char *code)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db,
                                "SELECT sign_pk FROM peer WHERE code = ? AND "
                                "role = 'parent'",
                                -1, &st, NULL);
    bool found = false;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
            sqlite3_column_bytes(st, 0) == PG_SIGN_PK_LEN) {
            memcpy(pk, sqlite3_column_blob(st, 0), PG_SIGN_PK_LEN);
            found = true;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the peers");
    if (!found)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "the heads file comes from %s, which is not this "
                            "node's parent",
                            code);
    return 0;
}

/* *held: the chain holds entry head->seq with head->hash (the stored
 * hash: pg_audit_verify then recomputes the chain to it). */
static int heads_held(bool *held, pg_node *node, const pg_audit_head *head)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        node->db, "SELECT hash FROM audit WHERE seq = ?", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the audit trail");
    sqlite3_bind_int64(st, 1, head->seq);
    rc = sqlite3_step(st);
    *held = rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PG_HASH_LEN &&
            memcmp(sqlite3_column_blob(st, 0), head->hash, PG_HASH_LEN) == 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pg_store__error(node->db, rc, "reading the audit trail");
    return 0;
}

int pg_audit_heads_check(pg_audit_head *out, char parent[PG_CODE_LEN + 1],
                         pg_node *node, const char *text, size_t len)
{
    pg_buf mine_heads = PG_BUF_INIT;
    pg_buf msg = PG_BUF_INIT;
    json_error_t jerr;
    json_t *root = NULL;
    uint8_t pk[PG_SIGN_PK_LEN], sig[PG_SIG_LEN];
    bool mine = false;
    int error = 0;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(text);
    memset(out, 0, sizeof(*out));
    if (parent)
        parent[0] = 0;
    pg_buf_init(&msg, HEADS_TEXT_MAX);
    if (len > HEADS_TEXT_MAX) {
        error = heads_bad("larger than 16 MiB");
        goto done;
    }
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "the heads file is not JSON (line %d: %s)",
                             jerr.line, jerr.text);
        goto done;
    }
    json_int_t format = 0, exported = 0;
    const char *from = NULL, *sig_hex = NULL;
    json_t *heads = NULL;
    if (json_unpack(root, "{s:I, s:s, s:I, s:o, s:s}", "format", &format,
                    "node", &from, "exported_ms", &exported, "heads", &heads,
                    "signature", &sig_hex) < 0 ||
        !json_is_array(heads)) {
        error = heads_bad("it needs format, node, exported_ms, heads and "
                          "signature");
        goto done;
    }
    if (format != HEADS_FORMAT) {
        error = pg_error_set(PG_EUPGRADE, PG_ERRCLASS_INVALID,
                             "the heads file has format %lld; this build "
                             "reads format %d",
                             (long long)format, HEADS_FORMAT);
        goto done;
    }
    if (!pg_division_valid(from) || json_array_size(heads) > HEADS_MAX ||
        strlen(sig_hex) != 2 * PG_SIG_LEN ||
        pg_unhex(sig, PG_SIG_LEN, sig_hex) < 0) {
        error = heads_bad("bad node code, signature or number of heads");
        goto done;
    }
    if ((error = heads_parent_key(pk, node, from)) < 0 ||
        (error = heads_signed_start(&msg, from, exported,
                                    json_array_size(heads))) < 0)
        goto done;
    size_t i;
    json_t *h;
    json_array_foreach(heads, i, h)
    {
        pg_audit_child_head ch;
        const char *code, *hash;
        json_int_t seq, received;
        memset(&ch, 0, sizeof(ch));
        if (json_unpack(h, "{s:s, s:I, s:s, s:I}", "code", &code, "seq", &seq,
                        "hash", &hash, "received_ms", &received) < 0 ||
            !pg_division_valid(code) || seq < 1 ||
            strlen(hash) != 2 * PG_HASH_LEN ||
            pg_unhex(ch.head.hash, PG_HASH_LEN, hash) < 0) {
            error = heads_bad("a head needs a code, a seq of 1 or more, a "
                              "64-digit hex hash and received_ms");
            goto done;
        }
        memcpy(ch.code, code, PG_CODE_LEN + 1);
        ch.head.seq = seq;
        ch.received_ms = received;
        if ((error = heads_signed_add(&msg, &ch)) < 0)
            goto done;
        if (strcmp(code, node->card.code) == 0) {
            if ((error = pg_buf_put(&mine_heads, &ch.head, sizeof(ch.head))) <
                0)
                goto done;
            if (!mine || ch.head.seq > out->seq)
                *out = ch.head;
            mine = true;
        }
    }
    if (!pg_verify(sig, msg.data, msg.len, pk)) {
        error = pg_error_set(PG_EAUTH, PG_ERRCLASS_CRYPTO,
                             "the heads file's signature does not verify "
                             "with the key of %s: it was changed or not "
                             "made by it",
                             from);
        goto done;
    }
    if (parent)
        snprintf(parent, PG_CODE_LEN + 1, "%s", from);
    /* Each earlier head too: a chain rewritten and then written on has a
     * new latest head, but no longer the ones the parent kept before.
     * The first one it lost is the head to verify against, which then
     * names the entry. */
    for (size_t k = 0; error == 0 && k < mine_heads.len / sizeof(*out); k++) {
        const pg_audit_head *e = (const pg_audit_head *)mine_heads.data + k;
        bool held = true;
        if (e->seq < out->seq && (error = heads_held(&held, node, e)) == 0 &&
            !held) {
            *out = *e;
            break;
        }
    }
    if (error == 0 && !mine)
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "the heads file of %s holds no head of this "
                             "node (%s): it has not received a bundle "
                             "carrying one",
                             from, node->card.code);

done:
    json_decref(root);
    pg_buf_dispose(&mine_heads);
    pg_buf_dispose(&msg);
    return error;
}
