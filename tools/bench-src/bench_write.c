/*
 * Write throughput: a plain SQLite insert of the same rows (the baseline,
 * measured in the same run), pingan's bulk import, and one signed txn per
 * record through the library API.
 *
 *   pingan-bench-write FILE.jsonl [--runs R] [--single N]
 *
 * FILE.jsonl holds dispute records (tools/gen dispute N).  Records are
 * parsed into memory first so that JSON parsing is timed in neither path.
 * Each measurement runs R times on a fresh store, alternating the order;
 * the median is reported.  Prints one line per figure and the ratios.
 */
#include "pingan/crypto.h"
#include "pingan/error.h"
#include "pingan/node.h"
#include "pingan/record.h"
#include "pingan/schema.h"
#include "pingan/txn.h"

#include <getopt.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct dataset {
    pg_parsed *recs;
    size_t n;
} dataset;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "pingan-bench-write: %s: %s\n", what,
            pg_error_last()->message);
    exit(1);
}

static void load(dataset *ds, const pg_collection *coll, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0, lines = 0;
    ssize_t len;

    if (!f) {
        perror(path);
        exit(2);
    }
    while ((len = getline(&line, &cap, f)) > 0)
        lines++;
    rewind(f);
    ds->recs = calloc(lines ? lines : 1, sizeof(*ds->recs));
    if (!ds->recs)
        exit(1);
    while (ds->n < lines && (len = getline(&line, &cap, f)) > 0) {
        if (pg_parsed_from_json(&ds->recs[ds->n], coll, line, (size_t)len) < 0)
            die("parsing input");
        ds->n++;
    }
    free(line);
    fclose(f);
}

/* Keep only the fields named in a comma-separated list. */
static void keep_fields(pg_parsed *p, const char *list)
{
    size_t out = 0;
    for (size_t i = 0; i < p->n; i++) {
        const char *name = p->values[i].field;
        size_t len = strlen(name);
        const char *hit = strstr(list, name);
        bool keep = false;
        while (hit && !keep) {
            keep = (hit == list || hit[-1] == ',') &&
                   (hit[len] == ',' || hit[len] == 0);
            hit = strstr(hit + 1, name);
        }
        if (!keep) {
            free(p->owned[i]);
            continue;
        }
        p->values[out] = p->values[i];
        p->owned[out++] = p->owned[i];
    }
    p->n = out;
}

static char *fresh_dir(void)
{
    char tmpl[] = "/tmp/pingan-bench-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        exit(1);
    }
    return strdup(d);
}

static void rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* The baseline: the same columns in a plain table, one transaction. */
static double run_plain(const dataset *ds, const pg_collection *coll)
{
    char *dir = fresh_dir(), path[512], sql[8192];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t off;

    snprintf(path, sizeof(path), "%s/plain.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL,
                 NULL, NULL);
    off = (size_t)snprintf(sql, sizeof(sql),
                           "CREATE TABLE t(id TEXT PRIMARY KEY");
    for (size_t f = 0; f < coll->nfields; f++)
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, ", \"%s\"",
                                coll->fields[f].name);
    snprintf(sql + off, sizeof(sql) - off, ")");
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO t VALUES(?");
    for (size_t f = 0; f < coll->nfields; f++)
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, ",?");
    snprintf(sql + off, sizeof(sql) - off, ")");
    sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    double t0 = now_s();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < ds->n; i++) {
        char id[64];
        snprintf(id, sizeof(id), "430302000000-%026zu", i);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        for (size_t k = 0; k < ds->recs[i].n; k++) {
            const pg_field_value *fv = &ds->recs[i].values[k];
            size_t idx;
            pg_collection_field(coll, fv->field, &idx);
            int col = (int)idx + 2;
            switch (fv->value.kind) {
            case PG_VALUE_INT:
                sqlite3_bind_int64(st, col, fv->value.i);
                break;
            case PG_VALUE_REAL:
                sqlite3_bind_double(st, col, fv->value.r);
                break;
            case PG_VALUE_BOOL:
                sqlite3_bind_int(st, col, fv->value.b);
                break;
            case PG_VALUE_TEXT:
                sqlite3_bind_text(st, col, fv->value.s, (int)fv->value.len,
                                  SQLITE_STATIC);
                break;
            default:
                break;
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            exit(1);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double t = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    rmrf(dir);
    free(dir);
    return t;
}

/*
 * The cost of the signed change-log alone: seal (three BLAKE2b per
 * change), sign and encode txns of 256 records, on one thread, with no
 * SQLite at all.  This is the floor the sealing thread of a bulk import
 * cannot go below.
 */
static double run_seal(const dataset *ds, const pg_collection *coll)
{
    uint8_t pk[PG_SIGN_PK_LEN], sk[PG_SIGN_SK_LEN];
    pg_buf body = PG_BUF_INIT;
    pg_txn *txn;
    pg_version zero = {0};
    char id[PG_RECORD_ID_LEN + 1];
    uint64_t seq = 0;

    pg_sign_keypair(pk, sk);
    if (pg_txn_new(&txn) < 0)
        die("txn");
    double t0 = now_s();
    for (size_t i = 0; i < ds->n; i += 256) {
        pg_txn_reset(txn);
        seq++;
        if (pg_txn_set_header(txn, "430302000000", "0123456789abcdef", seq,
                              seq << 16, "430302001001", coll->name,
                              "bench") < 0)
            die("txn");
        for (size_t r = i; r < i + 256 && r < ds->n; r++) {
            snprintf(id, sizeof(id), "430302000000-01M8DA51GRDD5YXVD4N%05zu",
                     r % 100000);
            for (size_t k = 0; k < ds->recs[r].n; k++)
                if (pg_txn_add(txn, id, ds->recs[r].values[k].field,
                               &ds->recs[r].values[k].value, &zero) < 0)
                    die("txn");
        }
        pg_buf_clear(&body);
        if (pg_txn_seal(txn) < 0)
            die("seal");
        pg_txn_sign(txn, sk);
        if (pg_txn_encode(&body, txn) < 0)
            die("encode");
    }
    double t = now_s() - t0;
    pg_txn_free(txn);
    pg_buf_dispose(&body);
    pg_memzero(sk, sizeof(sk));
    return t;
}

static pg_node *fresh_node(char **dir_out)
{
    char *dir = fresh_dir(), path[512];
    pg_node *node;
    snprintf(path, sizeof(path), "%s/node", dir);
    if (pg_node_init(path, "430302000000", "雨湖区") < 0 ||
        pg_node_open(&node, path) < 0)
        die("creating a node");
    *dir_out = dir;
    return node;
}

static double run_bulk(const dataset *ds, const pg_collection *coll)
{
    char *dir;
    pg_node *node = fresh_node(&dir);
    pg_import *imp;

    double t0 = now_s();
    if (pg_import_begin(&imp, node, coll->name, PG_IMPORT_BATCH_DEFAULT,
                        "bench") < 0)
        die("import");
    for (size_t i = 0; i < ds->n; i++)
        if (pg_import_add(imp, ds->recs[i].values, ds->recs[i].n, NULL) < 0)
            die("import");
    if (pg_import_commit(imp, NULL) < 0)
        die("import");
    double t = now_s() - t0;
    pg_import_free(imp);
    pg_node_free(node);
    rmrf(dir);
    free(dir);
    return t;
}

static double run_single(const dataset *ds, const pg_collection *coll, size_t n)
{
    char *dir;
    pg_node *node = fresh_node(&dir);
    char id[PG_RECORD_ID_LEN + 1];

    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        const pg_parsed *r = &ds->recs[i % ds->n];
        if (pg_record_put(id, node, coll->name, NULL, r->values, r->n,
                          "bench") < 0)
            die("put");
    }
    double t = now_s() - t0;
    pg_node_free(node);
    rmrf(dir);
    free(dir);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"runs", required_argument, NULL, 'r'},
        {"single", required_argument, NULL, 's'},
        {"only", required_argument, NULL, 'o'},
        {"fields", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int runs = 3, c;
    const char *only = NULL;
    const char *fields = NULL;
    long single = 20000;
    dataset ds = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r')
            runs = (int)strtol(optarg, NULL, 10);
        else if (c == 's')
            single = strtol(optarg, NULL, 10);
        else if (c == 'f')
            fields = optarg; /* keep only these fields: a,b,c */
        else if (c == 'o')
            only = optarg; /* for profiling: bulk, plain or single */
        else {
            fprintf(stderr, "usage: pingan-bench-write FILE.jsonl [--runs R] "
                            "[--single N]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || runs < 1 || runs > 15 || single < 1) {
        fprintf(stderr,
                "usage: pingan-bench-write FILE.jsonl [--runs R] [--single "
                "N]\n");
        return 2;
    }
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), "dispute");
    load(&ds, coll, argv[optind]);
    size_t nf = 0;
    for (size_t i = 0; i < ds.n; i++) {
        if (fields)
            keep_fields(&ds.recs[i], fields);
        nf += ds.recs[i].n;
    }
    double plain[15], bulk[15], one[15], seal[15];
    if (only) {
        double t = strcmp(only, "plain") == 0 ? run_plain(&ds, coll)
                   : strcmp(only, "bulk") == 0
                       ? run_bulk(&ds, coll)
                       : run_single(&ds, coll, (size_t)single);
        printf("%s: %.3f s\n", only, t);
        return 0;
    }
    for (int r = 0; r < runs; r++) {
        /* Alternate the order so that neither always runs on a warm cache.
         */
        if (r % 2 == 0) {
            plain[r] = run_plain(&ds, coll);
            bulk[r] = run_bulk(&ds, coll);
        } else {
            bulk[r] = run_bulk(&ds, coll);
            plain[r] = run_plain(&ds, coll);
        }
        one[r] = run_single(&ds, coll, (size_t)single);
        seal[r] = run_seal(&ds, coll);
        fprintf(stderr,
                "run %d: plain %.3f s, bulk %.3f s, single %.3f s, "
                "seal %.3f s\n",
                r + 1, plain[r], bulk[r], one[r], seal[r]);
    }
    double mp = median(plain, runs), mb = median(bulk, runs),
           ms = median(one, runs), mz = median(seal, runs);
    double rp = (double)ds.n / mp, rb = (double)ds.n / mb,
           rs = (double)single / ms;
    printf("records                     %zu dispute records, %.1f fields each "
           "(median of %d runs)\n",
           ds.n, ds.n ? (double)nf / (double)ds.n : 0.0, runs);
    printf("plain SQLite insert         %10.0f records/s\n", rp);
    printf("pingan bulk import          %10.0f records/s  (%.0f%% of plain; "
           "target >= 25%%, goal 40%%)\n",
           rb, 100.0 * rb / rp);
    printf("pingan one txn per record   %10.0f records/s  (%.1f%% of plain; "
           "target >= 5000/s)\n",
           rs, 100.0 * rs / rp);
    printf("signing alone, one thread   %10.0f records/s  (%.0f%% of plain: "
           "seal, sign and encode, no SQLite)\n",
           (double)ds.n / mz, 100.0 * mp / mz);
    for (size_t i = 0; i < ds.n; i++)
        pg_parsed_dispose(&ds.recs[i]);
    free(ds.recs);
    return 0;
}
