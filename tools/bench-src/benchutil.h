/* Shared by the benchmark programs (tools/bench-src). */
#ifndef PINGAN_BENCHUTIL_H
#define PINGAN_BENCHUTIL_H

#include <stdbool.h>
#include <stddef.h>

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
/* A new directory under /tmp (the caller frees the string). */
char *bench_fresh_dir(void);
/* Remove a directory tree. */
void bench_rmrf(const char *dir);
/* The baseline: the same columns in a plain table, one transaction;
 * seconds. */
double bench_plain_insert(const bench_dataset *ds, const pg_collection *coll);
/* Median of n values (sorts them). */
double bench_median(double *v, int n);

#endif
