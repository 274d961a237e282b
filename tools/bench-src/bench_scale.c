/*
 * Fill a node with many records quickly, for the scale benchmark
 * (tools/bench --only scale, driven by bench_scale.py).
 *
 *   pingan-bench-scale DIR POOL.jsonl N [--fields LIST] [--chunk C]
 *
 * The records go through the real bulk-write engine (pg_import_*, what
 * 'pingan record import' runs), so every one is validated, sealed, signed
 * and logged as in the field.  They come from a small pool of generated
 * records loaded once and cycled: neither the generator nor JSON parsing
 * is timed, and memory stays that of the pool whatever N is (a parsed
 * record holds room for 128 fields, so 10^7 of them would not fit).
 * Each record gets its own new id; its values are the pool's, unchanged,
 * so they stay valid.  Every record of the pool must lie inside DIR's
 * jurisdiction.
 *
 * A commit every C records (default 1000000) bounds what one SQLite
 * transaction holds and shows progress on stderr, with the store's size.
 * Prints one JSON line on stdout:
 *   {"records": N, "seconds": S, "txns": T, "disk_max": B,
 *    "chunks": [s1, s2, ...]}
 * where the chunks are the seconds of each commit-sized piece, so that a
 * cost growing with the store shows from the first piece to the last, and
 * disk_max the largest store (with its write-ahead log) seen after one.
 */
#include "benchutil.h"
#include "pingan/error.h"
#include "pingan/node.h"
#include "pingan/record.h"
#include "pingan/schema.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK_DEFAULT 1000000L
#define CHUNKS_MAX    1000

/* Bytes of the store: store.db and its write-ahead log. */
static double store_bytes(const char *dir)
{
    static const char *const names[] = {"store.db", "store.db-wal"};
    char path[4200];
    double total = 0;
    struct stat st;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0)
            total += (double)st.st_size;
    }
    return total;
}

/* Write records [from, to) of the cycled pool in one pg_import (one
 * SQLite transaction); returns the txns it wrote. */
static uint64_t write_chunk(pg_node *node, const bench_dataset *pool,
                            const pg_collection *coll, long from, long to)
{
    pg_import *imp;
    pg_import_stats stats = {0};

    if (pg_import_begin(&imp, node, coll->name, PG_IMPORT_BATCH_DEFAULT,
                        "bench") < 0)
        bench_die("import");
    for (long i = from; i < to; i++) {
        const pg_parsed *r = &pool->recs[(size_t)i % pool->n];
        if (pg_import_add(imp, r->values, r->n, NULL) < 0)
            bench_die("import");
    }
    if (pg_import_commit(imp, &stats) < 0)
        bench_die("import");
    pg_import_free(imp);
    return stats.txns;
}

static void usage(FILE *to)
{
    fputs("usage: pingan-bench-scale DIR POOL.jsonl N [--fields a,b,c] "
          "[--chunk C]\n",
          to);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"fields", required_argument, NULL, 'f'},
        {"chunk", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *fields = NULL;
    long chunk = CHUNK_DEFAULT;
    int c;
    bench_dataset pool = {0};
    pg_node *node;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'f')
            fields = optarg;
        else if (c == 'c')
            chunk = strtol(optarg, NULL, 10);
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    long n = optind + 3 == argc ? strtol(argv[optind + 2], NULL, 10) : 0;
    if (n < 1 || chunk < 1 || (n + chunk - 1) / chunk > CHUNKS_MAX) {
        usage(stderr);
        return 2;
    }
    const char *dir = argv[optind];
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), "dispute");
    bench_load_fields(&pool, coll, argv[optind + 1], fields);
    if (pool.n == 0) {
        fprintf(stderr, "pingan-bench-scale: the pool is empty\n");
        return 2;
    }
    if (pg_node_open(&node, dir) < 0)
        bench_die("opening the node");

    static double secs[CHUNKS_MAX];
    size_t nchunks = 0;
    double disk_max = 0;
    uint64_t txns = 0;
    double t0 = bench_now();
    for (long from = 0; from < n; from += chunk) {
        long to = from + chunk < n ? from + chunk : n;
        double c0 = bench_now();
        txns += write_chunk(node, &pool, coll, from, to);
        secs[nchunks] = bench_now() - c0;
        double disk = store_bytes(dir);
        disk_max = disk > disk_max ? disk : disk_max;
        fprintf(stderr,
                "pingan-bench-scale: %ld of %ld records, this chunk %.1f s "
                "(%.0f records/s), store %.2f GiB\n",
                to, n, secs[nchunks], (double)(to - from) / secs[nchunks],
                disk / (1024.0 * 1024 * 1024));
        nchunks++;
    }
    double total = bench_now() - t0;
    pg_node_free(node);

    printf("{\"records\": %ld, \"seconds\": %.3f, \"txns\": %llu, "
           "\"disk_max\": %.0f, \"chunks\": [",
           n, total, (unsigned long long)txns, disk_max);
    for (size_t i = 0; i < nchunks; i++)
        printf("%s%.3f", i ? ", " : "", secs[i]);
    printf("]}\n");
    for (size_t i = 0; i < pool.n; i++)
        pg_parsed_dispose(&pool.recs[i]);
    free(pool.recs);
    return 0;
}
