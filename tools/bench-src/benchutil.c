/*
 * Pieces shared by the benchmark programs: loading generated records,
 * timing, temporary directories and the plain SQLite baseline.
 */
#include "benchutil.h"
#include "pingan/error.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *what)
{
    fprintf(stderr, "pingan-bench: %s: %s\n", what, pg_error_last()->message);
    exit(1);
}

void bench_load(bench_dataset *ds, const pg_collection *coll, const char *path)
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
            bench_die("parsing input");
        ds->n++;
    }
    free(line);
    fclose(f);
}

void bench_keep_fields(pg_parsed *p, const char *list)
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

size_t bench_load_fields(bench_dataset *ds, const pg_collection *coll,
                         const char *path, const char *fields)
{
    size_t nf = 0;

    bench_load(ds, coll, path);
    for (size_t i = 0; i < ds->n; i++) {
        if (fields)
            bench_keep_fields(&ds->recs[i], fields);
        nf += ds->recs[i].n;
    }
    return nf;
}

char *bench_fresh_dir(void)
{
    char tmpl[] = "/tmp/pingan-bench-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        exit(1);
    }
    return strdup(d);
}

void bench_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

void bench_plain_table(sqlite3 *db, const pg_collection *coll)
{
    char sql[8192];
    size_t off = (size_t)snprintf(sql, sizeof(sql),
                                  "CREATE TABLE t(id TEXT PRIMARY KEY");
    for (size_t f = 0; f < coll->nfields; f++)
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, ", \"%s\"",
                                coll->fields[f].name);
    snprintf(sql + off, sizeof(sql) - off, ")");
    sqlite3_exec(db, sql, NULL, NULL, NULL);
}

sqlite3_stmt *bench_plain_prepare(sqlite3 *db, const pg_collection *coll)
{
    char sql[8192];
    sqlite3_stmt *st = NULL;
    size_t off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO t VALUES(?");
    for (size_t f = 0; f < coll->nfields; f++)
        off += (size_t)snprintf(sql + off, sizeof(sql) - off, ",?");
    snprintf(sql + off, sizeof(sql) - off, ")");
    sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    return st;
}

void bench_plain_row(sqlite3_stmt *st, const bench_dataset *ds,
                     const pg_collection *coll, size_t i)
{
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

/* The baseline: the same columns in a plain table, one transaction. */
double bench_plain_insert(const bench_dataset *ds, const pg_collection *coll)
{
    char *dir = bench_fresh_dir(), path[512];
    sqlite3 *db;
    sqlite3_stmt *st;

    snprintf(path, sizeof(path), "%s/plain.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL,
                 NULL, NULL);
    bench_plain_table(db, coll);
    st = bench_plain_prepare(db, coll);

    double t0 = bench_now();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < ds->n; i++)
        bench_plain_row(st, ds, coll, i);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double t = bench_now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    bench_rmrf(dir);
    free(dir);
    return t;
}

double bench_import_all(pg_node *node, const bench_dataset *ds,
                        const pg_collection *coll)
{
    pg_import *imp;

    double t0 = bench_now();
    if (pg_import_begin(&imp, node, coll->name, PG_IMPORT_BATCH_DEFAULT,
                        "bench") < 0)
        bench_die("import");
    for (size_t i = 0; i < ds->n; i++)
        if (pg_import_add(imp, ds->recs[i].values, ds->recs[i].n, NULL) < 0)
            bench_die("import");
    if (pg_import_commit(imp, NULL) < 0)
        bench_die("import");
    double t = bench_now() - t0;
    pg_import_free(imp);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
