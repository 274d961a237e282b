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
#include "benchutil.h"
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

/*
 * The cost of the signed change-log alone: seal (three BLAKE2b per
 * change), sign and encode txns of 256 records, on one thread, with no
 * SQLite at all.  This is the floor the sealing thread of a bulk import
 * cannot go below.
 */
static double run_seal(const bench_dataset *ds, const pg_collection *coll)
{
    uint8_t pk[PG_SIGN_PK_LEN], sk[PG_SIGN_SK_LEN];
    pg_buf body = PG_BUF_INIT;
    pg_txn *txn;
    pg_version zero = {0};
    char id[PG_RECORD_ID_LEN + 1];
    uint64_t seq = 0;

    pg_sign_keypair(pk, sk);
    if (pg_txn_new(&txn) < 0)
        bench_die("txn");
    double t0 = bench_now();
    /* Txns of 256 records, as a bulk import makes them, fewer when the
     * records have so many fields that 256 would pass the change limit. */
    size_t most = 1;
    for (size_t r = 0; r < ds->n; r++)
        if (ds->recs[r].n > most)
            most = ds->recs[r].n;
    size_t per =
        PG_TXN_MAX_CHANGES / most < 256 ? PG_TXN_MAX_CHANGES / most : 256;
    for (size_t i = 0; i < ds->n; i += per) {
        pg_txn_reset(txn);
        seq++;
        if (pg_txn_set_header(txn, "430302000000", "0123456789abcdef", seq,
                              seq << 16, "430302001001", coll->name,
                              "bench") < 0)
            bench_die("txn");
        for (size_t r = i; r < i + per && r < ds->n; r++) {
            snprintf(id, sizeof(id), "430302000000-01M8DA51GRDD5YXVD4N%05zu",
                     r % 100000);
            for (size_t k = 0; k < ds->recs[r].n; k++)
                if (pg_txn_add(txn, id, ds->recs[r].values[k].field,
                               &ds->recs[r].values[k].value, &zero) < 0)
                    bench_die("txn");
        }
        pg_buf_clear(&body);
        if (pg_txn_seal(txn) < 0)
            bench_die("seal");
        pg_txn_sign(txn, sk);
        if (pg_txn_encode(&body, txn) < 0)
            bench_die("encode");
    }
    double t = bench_now() - t0;
    pg_txn_free(txn);
    pg_buf_dispose(&body);
    pg_memzero(sk, sizeof(sk));
    return t;
}

static pg_node *fresh_node(char **dir_out)
{
    char *dir = bench_fresh_dir(), path[512];
    pg_node *node;
    snprintf(path, sizeof(path), "%s/node", dir);
    if (pg_node_init(path, "430302000000", "雨湖区") < 0 ||
        pg_node_open(&node, path) < 0)
        bench_die("creating a node");
    *dir_out = dir;
    return node;
}

static double run_bulk(const bench_dataset *ds, const pg_collection *coll)
{
    char *dir;
    pg_node *node = fresh_node(&dir);

    double t = bench_import_all(node, ds, coll);
    pg_node_free(node);
    bench_rmrf(dir);
    free(dir);
    return t;
}

static double run_single(const bench_dataset *ds, const pg_collection *coll,
                         size_t n)
{
    char *dir;
    pg_node *node = fresh_node(&dir);
    char id[PG_RECORD_ID_LEN + 1];

    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        const pg_parsed *r = &ds->recs[i % ds->n];
        if (pg_record_put(id, node, coll->name, NULL, r->values, r->n,
                          "bench") < 0)
            bench_die("put");
    }
    double t = bench_now() - t0;
    pg_node_free(node);
    bench_rmrf(dir);
    free(dir);
    return t;
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
    bench_dataset ds = {0};

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
    size_t nf = bench_load_fields(&ds, coll, argv[optind], fields);
    double plain[15], bulk[15], one[15], seal[15];
    if (only) {
        double t = strcmp(only, "plain") == 0 ? bench_plain_insert(&ds, coll)
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
            plain[r] = bench_plain_insert(&ds, coll);
            bulk[r] = run_bulk(&ds, coll);
        } else {
            bulk[r] = run_bulk(&ds, coll);
            plain[r] = bench_plain_insert(&ds, coll);
        }
        one[r] = run_single(&ds, coll, (size_t)single);
        seal[r] = run_seal(&ds, coll);
        fprintf(stderr,
                "run %d: plain %.3f s, bulk %.3f s, single %.3f s, "
                "seal %.3f s\n",
                r + 1, plain[r], bulk[r], one[r], seal[r]);
    }
    double mp = bench_median(plain, runs), mb = bench_median(bulk, runs),
           ms = bench_median(one, runs), mz = bench_median(seal, runs);
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
