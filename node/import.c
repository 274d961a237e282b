/*
 * Bulk writes: many new records, one txn per division and batch, all in
 * one SQLite transaction (DESIGN §3).
 *
 * Records are validated as they are added and queued in a window of
 * WINDOW_BATCHES batches; when the window is full it is sorted by division
 * (stably, so ids stay in input order) and each run of one division
 * becomes txns of at most `batch` records, split further to stay within
 * PG_TXN_MAX_CHANGES and PG_TXN_MAX_BYTES.  The window keeps txns full
 * when the input mixes many divisions (a county importing from a hundred
 * villages); memory is bounded by the window and a few txns in flight,
 * whatever the size of the input.
 *
 * Sealing a txn (three BLAKE2b per change), signing and encoding it cost
 * more than SQLite's inserts, so they run on a second thread: the
 * importing thread writes the record rows of txn k+1 while the sealer
 * hashes txn k.  Sealed txns come back in order and are appended to the
 * log by the importing thread, the only one that touches SQLite.
 *
 *     importer: validate -> queue -> rows of txn k -> [to seal] ...
 *     sealer:                          seal, sign, encode txn k -> [sealed]
 *     importer: ... [sealed] -> log row of txn k
 */
#include "error_internal.h"
#include "write_internal.h"
#include "node_internal.h"
#include "store.h"
#include "memwatch.h"
#include "pingan/error.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Leave room for the txn header and the per-change framing. */
#define TXN_BYTES_BUDGET (PG_TXN_MAX_BYTES - 8 * 1024)
#define CHANGE_OVERHEAD  48
#define JSONL_LINE_MAX   (1024 * 1024)
/* Records queued before they are grouped by division. */
#define WINDOW_BATCHES 16
#define WINDOW_MAX     65536
/* Txns handed to the sealer and not yet appended to the log. */
#define MAX_IN_FLIGHT 32

typedef struct queued {
    size_t n;
    size_t order; /* position in the batch, for a stable sort */
    size_t bytes; /* estimated encoded size */
    pg_field_value *values;
    size_t *idx;
    char division[PG_CODE_LEN + 1];
    char id[PG_RECORD_ID_LEN + 1];
} queued;

/* A txn travelling through sealing, in order of origin sequence. */
typedef enum job_state { JOB_QUEUED, JOB_SEALING, JOB_SEALED } job_state;

typedef struct seal_job {
    pg_txn *txn;
    pg_buf body;
    int error;
    pg_error__text message; /* the seal's error, from the worker thread */
    job_state state;
    struct seal_job *next;
} seal_job;

/*
 * Jobs form one list in sequence order.  Either thread may seal the first
 * job nobody has claimed (`claim`): the sealing thread always, the
 * importing thread instead of waiting when it has nothing else to do.
 * Only the importing thread removes sealed jobs from the head and appends
 * them to the log, so log order stays sequence order.
 */
typedef struct sealer {
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on every change of the list */
    seal_job *head, *tail, *claim;
    size_t in_flight;
    bool stop;
    const uint8_t *sign_sk;
} sealer;

struct pg_import {
    pg_node *node;
    const pg_collection *coll;
    char *operator_name;
    size_t batch;  /* records per txn at most */
    size_t window; /* records queued before grouping */
    queued **q;
    size_t nq;
    pg_txn *txn; /* being filled */
    pg_buf vblob;
    pg_write_clock clk;
    sealer seal;
    bool began;
    bool failed;
    pg_import_stats stats;
};

static void job_free(seal_job *job)
{
    if (!job)
        return;
    pg_txn_free(job->txn);
    pg_buf_dispose(&job->body);
    free(job);
}

/* Seal one claimed job (mutex not held). */
static void job_seal(seal_job *job, const uint8_t *sign_sk)
{
    job->error = pg_write__seal(&job->body, job->txn, sign_sk);
    if (job->error < 0)
        pg_error__text_last(&job->message);
}

/* Claim the next unclaimed job (mutex held); NULL when there is none. */
static seal_job *job_claim(sealer *s)
{
    seal_job *job = s->claim;
    if (job) {
        job->state = JOB_SEALING;
        s->claim = job->next;
    }
    return job;
}

static void *sealer_main(void *arg)
{
    sealer *s = arg;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->claim && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        seal_job *job = job_claim(s);
        pthread_mutex_unlock(&s->mu);
        job_seal(job, s->sign_sk);
        pthread_mutex_lock(&s->mu);
        job->state = JOB_SEALED;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int sealer_start(sealer *s, const uint8_t *sign_sk)
{
    memset(s, 0, sizeof(*s));
    s->sign_sk = sign_sk;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot create a lock");
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot create a condition variable");
    }
    if (pthread_create(&s->thread, NULL, sealer_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot start the sealing thread");
    }
    s->running = true;
    return 0;
}

static void sealer_stop(sealer *s)
{
    if (!s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    while (s->head) {
        seal_job *next = s->head->next;
        job_free(s->head);
        s->head = next;
    }
    s->tail = s->claim = NULL;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    s->running = false;
}

/* Append sealed txns to the log, in order, until at most `keep` remain in
 * flight.  Rather than wait for the sealing thread, seal jobs here too. */
static int import_drain(pg_import *imp, size_t keep)
{
    sealer *s = &imp->seal;
    int error = 0;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        seal_job *job = s->head;
        if (job && job->state == JOB_SEALED) {
            s->head = job->next;
            if (!s->head)
                s->tail = NULL;
            s->in_flight--;
            pthread_mutex_unlock(&s->mu);
            if (job->error < 0)
                error = pg_error__set_text(job->error, PG_ERRCLASS_TXN,
                                           &job->message);
            else if ((error = pg_write__log_insert(imp->node, job->txn,
                                                   &job->body)) == 0)
                imp->stats.txns++;
            job_free(job);
            if (error)
                return error;
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->in_flight <= keep)
            break;
        if ((job = job_claim(s))) {
            pthread_mutex_unlock(&s->mu);
            job_seal(job, s->sign_sk);
            pthread_mutex_lock(&s->mu);
            job->state = JOB_SEALED;
            continue;
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void pg_import_free(pg_import *imp)
{
    if (!imp)
        return;
    sealer_stop(&imp->seal);
    if (imp->began)
        pg_store__rollback(imp->node->db);
    for (size_t i = 0; i < imp->nq; i++)
        free(imp->q[i]);
    free(imp->q);
    pg_txn_free(imp->txn);
    pg_buf_dispose(&imp->vblob);
    free(imp->operator_name);
    free(imp);
}

int pg_import_begin(pg_import **out, pg_node *node, const char *collection,
                    size_t batch, const char *operator_name)
{
    pg_import *imp = NULL;
    int error;

    *out = NULL;
    const pg_collection *coll = pg_write__collection(node, collection);
    if (!coll)
        return PG_EINVALID;
    if ((error = pg_write__check_operator(operator_name)) < 0)
        return error;
    size_t oplen = strlen(operator_name);
    if (batch == 0 || batch > PG_IMPORT_BATCH_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "batch must be 1 to %d records",
                            PG_IMPORT_BATCH_MAX);
    imp = calloc(1, sizeof(*imp));
    size_t window = batch * WINDOW_BATCHES;
    if (window > WINDOW_MAX)
        window = WINDOW_MAX;
    if (!imp || !(imp->q = calloc(window, sizeof(*imp->q))) ||
        !(imp->operator_name = malloc(oplen + 1))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    memcpy(imp->operator_name, operator_name, oplen + 1);
    imp->node = node;
    imp->coll = coll;
    imp->batch = batch;
    imp->window = window;
    pg_buf_init(&imp->vblob, 64 * 1024);
    if ((error = pg_txn_new(&imp->txn)) < 0)
        goto done;
    if ((error = pg_store__begin(node->db)) < 0)
        goto done;
    imp->began = true;
    if ((error = pg_write__clock_load(&imp->clk, node)) < 0 ||
        (error = sealer_start(&imp->seal, node->sign_sk)) < 0)
        goto done;
    *out = imp;
    imp = NULL;

done:
    pg_import_free(imp);
    return error;
}

static int queued_cmp(const void *a, const void *b)
{
    const queued *x = *(const queued *const *)a;
    const queued *y = *(const queued *const *)b;
    int c = strcmp(x->division, y->division);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Hand the txn being filled to the sealer and start a fresh one. */
static int import_emit(pg_import *imp)
{
    sealer *s = &imp->seal;
    seal_job *job;
    int error;

    if (imp->txn->nchanges == 0)
        return 0;
    if ((error = import_drain(imp, MAX_IN_FLIGHT - 1)) < 0)
        return error;
    if (!(job = calloc(1, sizeof(*job))))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    pg_buf_init(&job->body, 2 * PG_TXN_MAX_BYTES);
    job->txn = imp->txn;
    if ((error = pg_txn_new(&imp->txn)) < 0) {
        imp->txn = job->txn;
        job->txn = NULL;
        job_free(job);
        return error;
    }
    job->state = JOB_QUEUED;
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    if (!s->claim)
        s->claim = job;
    s->in_flight++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int import_row(pg_import *imp, const queued *r)
{
    pg_version ver = {.hlc = imp->txn->hlc};
    pg_version zero = {0};
    int error;

    memcpy(ver.origin, imp->node->card.code, PG_CODE_LEN + 1);
    if ((error = pg_write__insert_row(imp->node, imp->coll, r->id, r->values,
                                      r->idx, r->n, &ver, &imp->vblob)) < 0)
        return error;
    for (size_t i = 0; i < r->n; i++)
        if ((error = pg_txn_add(imp->txn, r->id, r->values[i].field,
                                &r->values[i].value, &zero)) < 0)
            return error;
    imp->stats.records++;
    return 0;
}

static int import_flush(pg_import *imp)
{
    if (sqlite3_get_autocommit(imp->node->db))
        return pg_error_set(PG_ERROR, PG_ERRCLASS_STORE,
                            "the import's transaction was ended by another "
                            "write on the same node handle");
    size_t changes = 0, bytes = 0, records = 0;
    const char *division = NULL;
    int error = 0;

    qsort(imp->q, imp->nq, sizeof(*imp->q), queued_cmp);
    for (size_t i = 0; i < imp->nq && !error; i++) {
        queued *r = imp->q[i];
        bool same = division && strcmp(division, r->division) == 0;
        if (!same || records == imp->batch ||
            changes + r->n > PG_TXN_MAX_CHANGES ||
            bytes + r->bytes > TXN_BYTES_BUDGET) {
            if ((error = import_emit(imp)) < 0 ||
                (error = pg_write__start_txn(imp->txn, imp->node, &imp->clk,
                                             r->division, imp->coll,
                                             imp->operator_name)) < 0)
                break;
            changes = bytes = records = 0;
            division = r->division;
        }
        error = import_row(imp, r);
        records++;
        changes += r->n;
        bytes += r->bytes;
    }
    if (!error)
        error = import_emit(imp);
    for (size_t i = 0; i < imp->nq; i++)
        free(imp->q[i]);
    imp->nq = 0;
    return error;
}

int pg_import_add(pg_import *imp, const pg_field_value *values, size_t n,
                  char id_out[PG_RECORD_ID_LEN + 1])
{
    size_t idx[PG_PARSED_MAX_FIELDS];
    char division[PG_CODE_LEN + 1];
    int error;

    if (imp->failed)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_INVALID,
                            "import already failed");
    if (n > PG_PARSED_MAX_FIELDS)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "too many fields in one record");
    if ((error = pg_write__validate(idx, division, imp->node, imp->coll, values,
                                    n, true)) < 0)
        return error;

    /* One allocation holds the queued record, its values, field indices
     * and a copy of every text. */
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i].value.kind == PG_VALUE_TEXT)
            text += values[i].value.len + 1;
    size_t size =
        sizeof(queued) + n * sizeof(pg_field_value) + n * sizeof(size_t) + text;
    queued *r = malloc(size);
    if (!r)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    r->n = n;
    r->order = imp->nq;
    r->values = (pg_field_value *)(r + 1);
    r->idx = (size_t *)(r->values + n);
    char *p = (char *)(r->idx + n);
    r->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        r->idx[i] = idx[i];
        r->values[i].field = imp->coll->fields[idx[i]].name;
        r->values[i].value = values[i].value;
        r->bytes +=
            CHANGE_OVERHEAD + PG_RECORD_ID_LEN + strlen(r->values[i].field);
        if (values[i].value.kind == PG_VALUE_TEXT) {
            memcpy(p, values[i].value.s, values[i].value.len);
            p[values[i].value.len] = 0;
            r->values[i].value.s = p;
            p += values[i].value.len + 1;
            r->bytes += values[i].value.len;
        }
    }
    memcpy(r->division, division, PG_CODE_LEN);
    r->division[PG_CODE_LEN] = 0;
    pg_record_id_make(r->id, &imp->node->ulid, imp->node->card.code,
                      pg_time_now_ms());
    if (id_out)
        memcpy(id_out, r->id, PG_RECORD_ID_LEN + 1);
    imp->q[imp->nq++] = r;
    if (imp->nq == imp->window && (error = import_flush(imp)) < 0) {
        imp->failed = true;
        return error;
    }
    return 0;
}

int pg_import_commit(pg_import *imp, pg_import_stats *stats_out)
{
    int error;

    if (imp->failed)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_INVALID,
                            "import already failed");
    if ((error = import_flush(imp)) < 0 || (error = import_drain(imp, 0)) < 0 ||
        (error = pg_write__clock_save(&imp->clk, imp->node)) < 0 ||
        (error = pg_store__commit(imp->node->db)) < 0) {
        imp->failed = true;
        return error;
    }
    imp->began = false;
    if (stats_out)
        *stats_out = imp->stats;
    return 0;
}

/* --- JSON lines ------------------------------------------------------ */

/* Convert one JSON value into a typed value for a field. */
static int json_to_value(pg_value *out, char **owned, const pg_field *f,
                         json_t *j)
{
    pg_value_kind kind = pg_type_kind(f->type);

    *owned = NULL;
    memset(out, 0, sizeof(*out));
    switch (json_typeof(j)) {
    case JSON_NULL:
        out->kind = PG_VALUE_ABSENT;
        return 0;
    case JSON_STRING:
        return pg_value_parse(out, owned, f, json_string_value(j));
    case JSON_INTEGER:
        if (kind == PG_VALUE_INT) {
            out->kind = PG_VALUE_INT;
            out->i = (int64_t)json_integer_value(j);
            return 0;
        }
        if (kind == PG_VALUE_REAL) {
            out->kind = PG_VALUE_REAL;
            out->r = (double)json_integer_value(j);
            return 0;
        }
        break;
    case JSON_REAL:
        if (kind == PG_VALUE_REAL) {
            out->kind = PG_VALUE_REAL;
            out->r = json_real_value(j);
            return 0;
        }
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        if (kind == PG_VALUE_BOOL) {
            out->kind = PG_VALUE_BOOL;
            out->b = json_is_true(j);
            return 0;
        }
        break;
    default:
        break;
    }
    return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                        "field '%s' (%s) cannot take that JSON value", f->name,
                        pg_type_name(f->type));
}

void pg_parsed_dispose(pg_parsed *parsed)
{
    if (!parsed)
        return;
    for (size_t i = 0; i < parsed->n; i++)
        free(parsed->owned[i]);
    parsed->n = 0;
}

int pg_parsed_from_json(pg_parsed *out, const pg_collection *coll,
                        const char *json, size_t len)
{
    json_error_t jerr;
    int error = 0;

    out->n = 0;
    pg_memwatch__begin();
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o && pg_memwatch__failed())
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "reading a JSON line: out of memory");
    if (!o || !json_is_object(o)) {
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "not a JSON object: %s",
                             o ? "another JSON value" : jerr.text);
        json_decref(o);
        return error;
    }
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        const pg_field *f = pg_collection_field(coll, key, NULL);
        if (!f) {
            char ex[PG_EXCERPT_SIZE];
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_SCHEMA,
                                 "collection '%s' has no field '%s'",
                                 coll->name, pg_excerpt(ex, key, strlen(key)));
            break;
        }
        if (out->n == PG_PARSED_MAX_FIELDS) {
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                 "more than %d fields", PG_PARSED_MAX_FIELDS);
            break;
        }
        pg_field_value *fv = &out->values[out->n];
        if ((error = json_to_value(&fv->value, &out->owned[out->n], f, val)) <
            0)
            break;
        /* Text borrowed from the JSON object must outlive it. */
        if (fv->value.kind == PG_VALUE_TEXT && !out->owned[out->n]) {
            out->owned[out->n] = malloc(fv->value.len + 1);
            if (!out->owned[out->n]) {
                error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                                     "out of memory");
                break;
            }
            memcpy(out->owned[out->n], fv->value.s, fv->value.len);
            out->owned[out->n][fv->value.len] = 0;
            fv->value.s = out->owned[out->n];
        }
        fv->field = f->name;
        out->n++;
    }
    /* A value jansson could not allocate reads as a missing one. */
    if (error < 0 && error != PG_ENOMEM && pg_memwatch__failed())
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                             "reading a JSON line: out of memory");
    json_decref(o);
    return error;
}

static int import_line(pg_import *imp, pg_parsed *parsed, const char *line,
                       size_t len)
{
    int error = pg_parsed_from_json(parsed, imp->coll, line, len);
    if (!error)
        error = pg_import_add(imp, parsed->values, parsed->n, NULL);
    pg_parsed_dispose(parsed);
    return error;
}

/*
 * Read one line into buf (at most max bytes, without the newline).
 * Returns the length, -1 at the end of input, or -2 when the line is longer
 * than max: the rest of a hostile line is never buffered.
 */
static ssize_t read_line(char *buf, size_t max, FILE *in, uint64_t *bytes)
{
    size_t n = 0;
    int c;

    while ((c = getc_unlocked(in)) != EOF) {
        (*bytes)++;
        if (c == '\n')
            return (ssize_t)n;
        if (n == max)
            return -2;
        buf[n++] = (char)c;
    }
    return n ? (ssize_t)n : -1;
}

int pg_record_import_jsonl(pg_import_stats *stats_out, pg_node *node,
                           const char *collection, FILE *in, size_t batch,
                           const char *operator_name,
                           pg_import_progress_cb progress, void *payload)
{
    pg_import *imp = NULL;
    pg_parsed *parsed = NULL;
    char *line = NULL;
    ssize_t len;
    int error;

    if ((error =
             pg_import_begin(&imp, node, collection, batch, operator_name)) < 0)
        return error;
    if (!(parsed = calloc(1, sizeof(*parsed))) ||
        !(line = malloc(JSONL_LINE_MAX))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    while ((len = read_line(line, JSONL_LINE_MAX, in, &imp->stats.bytes)) !=
           -1) {
        imp->stats.lines++;
        if (len == -2) {
            error = pg_error_set(PG_ELIMIT, PG_ERRCLASS_INVALID,
                                 "line %llu: longer than %d bytes",
                                 (unsigned long long)imp->stats.lines,
                                 JSONL_LINE_MAX);
            goto done;
        }
        size_t n = (size_t)len;
        while (n && line[n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == n)
            continue; /* blank line */
        if ((error = import_line(imp, parsed, line, n)) < 0) {
            pg_error__text why;
            pg_error__text_last(&why);
            error =
                pg_error__wrap(error, PG_ERRCLASS_INVALID, &why,
                               "line %llu: %s; nothing was imported",
                               (unsigned long long)imp->stats.lines, why.en);
            goto done;
        }
        if (progress && imp->stats.lines % 1000 == 0)
            progress(&imp->stats, payload);
    }
    if (ferror(in)) {
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "error reading input");
        goto done;
    }
    if ((error = pg_import_commit(imp, stats_out)) < 0)
        goto done;
    if (progress)
        progress(&imp->stats, payload);

done:
    free(line);
    free(parsed);
    pg_import_free(imp);
    return error;
}
