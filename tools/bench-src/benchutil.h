/* Shared by the benchmark programs (tools/bench-src). */
#ifndef PINGAN_BENCHUTIL_H
#define PINGAN_BENCHUTIL_H

#include <stdbool.h>
#include <sqlite3.h>
#include <stddef.h>

#include "pingan/node.h"
#include "pingan/record.h"
#include "pingan/schema.h"

/* Records parsed into memory, so that JSON parsing is timed nowhere. */
typedef struct bench_dataset {
    pg_parsed *recs;
    size_t n;
} bench_dataset;

/* Monotonic seconds. */
double bench_now(void);
/* Print the last pingan error and exit 1. */
void bench_die(const char *what);
/* Parse a JSON-lines file of `coll` records. */
void bench_load(bench_dataset *ds, const pg_collection *coll, const char *path);
/* Keep only the fields named in a comma-separated list. */
void bench_keep_fields(pg_parsed *p, const char *list);
/* bench_load, then (with a list) bench_keep_fields on every record;
 * returns the number of field values kept in all. */
size_t bench_load_fields(bench_dataset *ds, const pg_collection *coll,
                         const char *path, const char *fields);
/* A new directory under /tmp (the caller frees the string). */
char *bench_fresh_dir(void);
/* Remove a directory tree. */
void bench_rmrf(const char *dir);
/* The baseline: the same columns in a plain table, one transaction;
 * seconds. */
double bench_plain_insert(const bench_dataset *ds, const pg_collection *coll);
/* Create the plain table t: an id column and one column a field. */
void bench_plain_table(sqlite3 *db, const pg_collection *coll);
/* INSERT INTO t with a placeholder for the id and for every field. */
sqlite3_stmt *bench_plain_prepare(sqlite3 *db, const pg_collection *coll);
/* Bind record i of the dataset (with a made-up id) to st and step it;
 * exit 1 when the insert fails. */
void bench_plain_row(sqlite3_stmt *st, const bench_dataset *ds,
                     const pg_collection *coll, size_t i);
/* Import the whole dataset into `node` in one pg_import; bench_die on
 * failure.  Seconds from begin to commit. */
double bench_import_all(pg_node *node, const bench_dataset *ds,
                        const pg_collection *coll);
/* Median of n values (sorts them). */
double bench_median(double *v, int n);

#endif
