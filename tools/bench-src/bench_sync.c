/*
 * Exchange throughput and size: a county exports dispute records to its
 * city in one bundle, the city imports it.  Baselines measured in the same
 * run: a plain SQLite insert of the same rows, and SQLite's own session
 * changeset apply of them (which verifies and decrypts nothing).  Sizes
 * against the same records as JSON lines and as zstd-compressed JSON.
 *
 *   pingan-bench-sync FILE.jsonl [--runs R] [--fields LIST] [--single N]
 *
 * Bulk: the records written by a bulk import (txns of 256 records).
 * Single: N records written one txn each, as grid workers write.  Each
 * import runs R times on a copy of the same fresh city node; medians.
 */
#include "benchutil.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/record.h"
#include "pingan/schema.h"

#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#define SQLITE_ENABLE_SESSION
#define SQLITE_ENABLE_PREUPDATE_HOOK
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#define COUNTY      "430302000000"
#define COUNTY_NAME "雨湖区"
#define CITY        "430300000000"
#define CITY_NAME   "湘潭市"

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fprintf(stderr, "pingan-bench-sync: '%s' failed\n", cmd);
        exit(1);
    }
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The records as JSON lines: bytes, and bytes after zstd -3. */
static void json_sizes(const bench_dataset *ds, size_t n, uint64_t *json_bytes,
                       uint64_t *zstd_bytes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);

    for (size_t i = 0; i < n; i++) {
        const pg_parsed *r = &ds->recs[i % ds->n];
        json_t *o = json_object();
        for (size_t k = 0; k < r->n; k++) {
            const pg_value *v = &r->values[k].value;
            json_t *j = v->kind == PG_VALUE_INT    ? json_integer(v->i)
                        : v->kind == PG_VALUE_REAL ? json_real(v->r)
                        : v->kind == PG_VALUE_BOOL ? json_boolean(v->b)
                        : v->kind == PG_VALUE_TEXT ? json_stringn(v->s, v->len)
                                                   : json_null();
            json_object_set_new(o, r->values[k].field, j);
        }
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(mem, "%s\n", line);
        free(line);
        json_decref(o);
    }
    fclose(mem);
    size_t cap = ZSTD_compressBound(len);
    void *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, buf, len, 3);
    if (ZSTD_isError(zn))
        exit(1);
    *json_bytes = len;
    *zstd_bytes = zn;
    free(z);
    free(buf);
}

static int keep_going(void *ctx, int conflict, sqlite3_changeset_iter *it)
{
    (void)ctx;
    (void)conflict;
    (void)it;
    return SQLITE_CHANGESET_OMIT;
}

/*
 * SQLite's session extension: record the inserts on one database (not
 * timed), apply the changeset to an empty one (timed).
 */
static double run_session(const bench_dataset *ds, const pg_collection *coll)
{
    char *dir = bench_fresh_dir(), a_path[512], b_path[512];
    sqlite3 *a, *b;
    sqlite3_session *session;
    sqlite3_stmt *st;
    void *changeset;
    int nchangeset;

    snprintf(a_path, sizeof(a_path), "%s/a.db", dir);
    snprintf(b_path, sizeof(b_path), "%s/b.db", dir);
    if (sqlite3_open(a_path, &a) != SQLITE_OK ||
        sqlite3_open(b_path, &b) != SQLITE_OK)
        exit(1);
    sqlite3_exec(b, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL,
                 NULL, NULL);
    bench_plain_table(a, coll);
    bench_plain_table(b, coll);
    sqlite3session_create(a, "main", &session);
    sqlite3session_attach(session, "t");
    st = bench_plain_prepare(a, coll);
    sqlite3_exec(a, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < ds->n; i++)
        bench_plain_row(st, ds, coll, i);
    sqlite3_exec(a, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(st);
    if (sqlite3session_changeset(session, &nchangeset, &changeset) != SQLITE_OK)
        exit(1);

    double t0 = bench_now();
    sqlite3_exec(b, "BEGIN", NULL, NULL, NULL);
    if (sqlite3changeset_apply(b, nchangeset, changeset, NULL, keep_going,
                               NULL) != SQLITE_OK)
        exit(1);
    sqlite3_exec(b, "COMMIT", NULL, NULL, NULL);
    double t = bench_now() - t0;

    sqlite3_free(changeset);
    sqlite3session_delete(session);
    sqlite3_close(a);
    sqlite3_close(b);
    bench_rmrf(dir);
    free(dir);
    return t;
}

typedef struct pair {
    char *dir;
    char county[600], city[600], snapshot[600], bundle[600];
} pair;

static void pin(const char *dir, const char *other, pg_peer_role role)
{
    pg_node *a, *b;
    if (pg_node_open(&a, dir) < 0 || pg_node_open(&b, other) < 0)
        bench_die("opening a node");
    char *card = pg_card_to_json(pg_node_card(b));
    if (!card || pg_peer_add(a, card, strlen(card), role, NULL, NULL) < 0)
        bench_die("pinning a peer");
    free(card);
    pg_node_free(a);
    pg_node_free(b);
}

/* A county and its city, linked; the city saved as it is before any
 * import so that every run imports into the same fresh node. */
static void make_pair(pair *p)
{
    p->dir = bench_fresh_dir();
    snprintf(p->county, sizeof(p->county), "%s/county", p->dir);
    snprintf(p->city, sizeof(p->city), "%s/city", p->dir);
    snprintf(p->snapshot, sizeof(p->snapshot), "%s/city.fresh", p->dir);
    snprintf(p->bundle, sizeof(p->bundle), "%s/to-city.pgb", p->dir);
    if (pg_node_init(p->county, COUNTY, COUNTY_NAME) < 0 ||
        pg_node_init(p->city, CITY, CITY_NAME) < 0)
        bench_die("creating nodes");
    pin(p->county, p->city, PG_PEER_PARENT);
    pin(p->city, p->county, PG_PEER_CHILD);
    sh("cp -a '%s' '%s'", p->city, p->snapshot);
}

static double run_export(const pair *p)
{
    pg_node *county;
    pg_export_opts o = {.to = CITY, .out = p->bundle, .resend = true};

    if (pg_node_open(&county, p->county) < 0)
        bench_die("opening the county");
    double t0 = bench_now();
    if (pg_bundle_export(county, &o, NULL, NULL) < 0)
        bench_die("export");
    double t = bench_now() - t0;
    pg_node_free(county);
    return t;
}

static double run_import(const pair *p, uint64_t expect)
{
    pg_bundle_report *r = malloc(sizeof(*r));
    pg_node *city;

    sh("rm -rf '%s' && cp -a '%s' '%s'", p->city, p->snapshot, p->city);
    if (!r)
        exit(1);
    if (pg_node_open(&city, p->city) < 0)
        bench_die("opening the city");
    double t0 = bench_now();
    if (pg_bundle_import(city, p->bundle, r) < 0)
        bench_die("import");
    double t = bench_now() - t0;
    if (r->applied != expect || r->quarantined || r->pending) {
        fprintf(stderr,
                "pingan-bench-sync: expected %llu new txns, got %llu "
                "(%llu quarantined, %llu pending)\n",
                (unsigned long long)expect, (unsigned long long)r->applied,
                (unsigned long long)r->quarantined,
                (unsigned long long)r->pending);
        exit(1);
    }
    pg_node_free(city);
    free(r);
    return t;
}

static uint64_t log_count(const char *dir)
{
    char path[700];
    sqlite3 *db;
    sqlite3_stmt *st;
    uint64_t n = 0;

    snprintf(path, sizeof(path), "%s/store.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        exit(1);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM log", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"runs", required_argument, NULL, 'r'},
        {"single", required_argument, NULL, 's'},
        {"fields", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *usage = "usage: pingan-bench-sync FILE.jsonl [--runs R] "
                        "[--fields a,b,c] [--single N]\n";
    const char *fields = NULL;
    long single = 100000;
    int runs = 3, c;
    bench_dataset ds = {0};

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r')
            runs = (int)strtol(optarg, NULL, 10);
        else if (c == 's')
            single = strtol(optarg, NULL, 10);
        else if (c == 'f')
            fields = optarg;
        else {
            fputs(usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || runs < 1 || runs > 15 || single < 1) {
        fputs(usage, stderr);
        return 2;
    }
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), "dispute");
    size_t nf = bench_load_fields(&ds, coll, argv[optind], fields);

    /* Bulk: the county imports the records, exports them to the city. */
    pair bulk, one;
    make_pair(&bulk);
    pg_node *county;
    if (pg_node_open(&county, bulk.county) < 0)
        bench_die("import");
    bench_import_all(county, &ds, coll);
    pg_node_free(county);
    uint64_t bulk_txns = log_count(bulk.county);

    /* Single: one txn per record. */
    make_pair(&one);
    if (pg_node_open(&county, one.county) < 0)
        bench_die("opening the county");
    for (long i = 0; i < single; i++) {
        const pg_parsed *r = &ds.recs[(size_t)i % ds.n];
        if (pg_record_put(NULL, county, coll->name, NULL, r->values, r->n,
                          "bench") < 0)
            bench_die("put");
    }
    pg_node_free(county);

    double plain[15], session[15], bexp[15], bimp[15], sexp[15], simp[15];
    for (int r = 0; r < runs; r++) {
        plain[r] = bench_plain_insert(&ds, coll);
        session[r] = run_session(&ds, coll);
        bexp[r] = run_export(&bulk);
        bimp[r] = run_import(&bulk, bulk_txns);
        sexp[r] = run_export(&one);
        simp[r] = run_import(&one, (uint64_t)single);
        fprintf(stderr,
                "run %d: plain %.3f s, session apply %.3f s, bulk export "
                "%.3f s, import %.3f s; single export %.3f s, import %.3f s\n",
                r + 1, plain[r], session[r], bexp[r], bimp[r], sexp[r],
                simp[r]);
    }
    uint64_t bulk_bytes = file_size(bulk.bundle);
    uint64_t one_bytes = file_size(one.bundle);
    uint64_t json_b, zstd_b, json1_b, zstd1_b;
    json_sizes(&ds, ds.n, &json_b, &zstd_b);
    json_sizes(&ds, (size_t)single, &json1_b, &zstd1_b);

    double n = (double)ds.n;
    double mp = bench_median(plain, runs), ms = bench_median(session, runs);
    double mbe = bench_median(bexp, runs), mbi = bench_median(bimp, runs);
    double mse = bench_median(sexp, runs), msi = bench_median(simp, runs);
    printf("records                    %zu dispute records, %.1f fields "
           "each; bulk: %llu txns; median of %d runs\n",
           ds.n, ds.n ? (double)nf / n : 0.0, (unsigned long long)bulk_txns,
           runs);
    printf("JSON lines                 %10llu bytes  %6.1f B/record\n",
           (unsigned long long)json_b, (double)json_b / n);
    printf("zstd -3 of the JSON        %10llu bytes  %6.1f B/record  "
           "(%.1f%% of JSON)\n",
           (unsigned long long)zstd_b, (double)zstd_b / n,
           100.0 * (double)zstd_b / (double)json_b);
    printf("bundle, bulk txns          %10llu bytes  %6.1f B/record  "
           "(%.1f%% of JSON; target <= 30%%)\n",
           (unsigned long long)bulk_bytes, (double)bulk_bytes / n,
           100.0 * (double)bulk_bytes / (double)json_b);
    printf("bundle, one-record txns    %10llu bytes  %6.1f B/record  "
           "(%.1f%% of JSON; target <= 45%%)\n",
           (unsigned long long)one_bytes, (double)one_bytes / (double)single,
           100.0 * (double)one_bytes / (double)json1_b);
    printf("plain SQLite insert        %10.0f records/s\n", n / mp);
    printf("SQLite changeset apply     %10.0f records/s  (%.0f%% of plain)\n",
           n / ms, 100.0 * mp / ms);
    printf("bulk export                %10.0f records/s\n", n / mbe);
    printf("bulk import                %10.0f records/s  (%.0f%% of plain; "
           "target >= 25%%, goal 40%%; %.2fx the changeset apply's time, "
           "goal <= 1.5x)\n",
           n / mbi, 100.0 * mp / mbi, mbi / ms);
    printf("one-record txns, export    %10.0f txns/s\n", (double)single / mse);
    printf("one-record txns, import    %10.0f txns/s  (target >= 10000/s)\n",
           (double)single / msi);

    bench_rmrf(bulk.dir);
    bench_rmrf(one.dir);
    free(bulk.dir);
    free(one.dir);
    for (size_t i = 0; i < ds.n; i++)
        pg_parsed_dispose(&ds.recs[i]);
    free(ds.recs);
    return 0;
}
