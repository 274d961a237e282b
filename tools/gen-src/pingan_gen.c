/*
 * pingan-gen: realistic synthetic records for tests, demos and benchmarks
 * (DOMAIN.md §6).
 *
 *     pingan-gen COLLECTION N [--seed S] [--division CODE]
 *
 * writes N records of COLLECTION to stdout as JSON lines (gen.h, gen.c).
 *
 * Determinism.  The output depends only on the arguments, the divisions
 * CSV and the schema: one stream, seeded from the seed and the collection
 * name, is consumed record by record (so the first k records are the same
 * for every N >= k); the simulated "today" is 2026-11-30 minus (seed mod
 * 28) days and records fall in the 365 days before it.  Memory does not
 * grow with N: each record is built, written and freed in turn.
 */
#include "gen.h"

#include "pingan/schema.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PINGAN_GEN_DIVISIONS
#define PINGAN_GEN_DIVISIONS "tools/gen-src/xiangtan_divisions.csv"
#endif

#define GEN_MAX_N UINT64_C(1000000000)

static void gen_list_collections(FILE *out)
{
    const pg_schema *s = pg_schema_current();
    const char *sep = "";

    for (size_t i = 0; i < s->ncollections; i++) {
        if (s->collections[i]->system)
            continue;
        fprintf(out, "%s%s", sep, s->collections[i]->name);
        sep = ", ";
    }
}

static void gen_help(void)
{
    const pg_schema *s = pg_schema_current();

    printf("usage: pingan-gen COLLECTION N [--seed S] [--division CODE]\n"
           "\n"
           "Write N realistic synthetic records of COLLECTION to standard\n"
           "output as JSON lines (one object per line, keys are the schema's\n"
           "field names, times ISO 8601 in +08:00).  The output depends only\n"
           "on the arguments: the same seed gives the same records.  They\n"
           "are new records, ready for 'pingan record import': a status\n"
           "is the first state of its lifecycle ('pingan lifecycle show').\n"
           "\n"
           "  -s, --seed S         seed, a non-negative integer (default 1)\n"
           "  -d, --division CODE  only places inside CODE's jurisdiction\n"
           "                       (12 digits or a 2/4/6/9-digit prefix;\n"
           "                       default 430300000000, 湘潭市)\n"
           "  -h, --help           show this help\n"
           "\n"
           "Collections:\n");
    for (size_t i = 0; i < s->ncollections; i++) {
        const pg_collection *c = s->collections[i];
        if (!c->system)
            printf("  %-12s %s (Art. %s)\n", c->name, c->title, c->articles);
    }
    printf("\n"
           "Places come from the divisions table %s\n"
           "(override with PINGAN_DIVISIONS_CSV); where it has no community\n"
           "inside CODE, synthetic codes with segments 600-999 are used.\n"
           "Generated ID and phone numbers are valid-looking and may belong\n"
           "to real people: use them for tests only.\n"
           "\n"
           "Exit status: 0 ok, 1 runtime failure, 2 bad usage.\n",
           PINGAN_GEN_DIVISIONS);
}

static void gen_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void gen_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("pingan-gen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'pingan-gen --help'.\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"seed", required_argument, NULL, 's'},
        {"division", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t seed = 1, n = 0;
    const char *division = "430300000000";
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":s:d:h", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (!gen_parse_u64(&seed, optarg, UINT64_MAX))
                gen_usage_error("bad seed '%s': expected a non-negative "
                                "integer",
                                optarg);
            break;
        case 'd':
            division = optarg;
            break;
        case 'h':
            gen_help();
            return 0;
        case ':':
            gen_usage_error("option %s needs a value", argv[optind - 1]);
        default:
            if (optopt >= '0' && optopt <= '9')
                gen_usage_error("unknown option '-%c' (N must be a "
                                "non-negative integer)",
                                optopt);
            if (optopt)
                gen_usage_error("unknown option '-%c'", optopt);
            gen_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        gen_usage_error("expected COLLECTION N, got %d argument%s",
                        argc - optind, argc - optind == 1 ? "" : "s");
    const char *name = argv[optind];
    const char *count = argv[optind + 1];

    const pg_collection *coll = pg_schema_collection(pg_schema_current(), name);
    if (coll && coll->system)
        gen_usage_error("'%s' is a system collection: node certificates are "
                        "made by pingan itself (pingan init, peer add), not "
                        "generated",
                        name);
    if (!coll || !gen_knows(name)) {
        fprintf(stderr,
                "pingan-gen: unknown collection '%s'; collections: ", name);
        gen_list_collections(stderr);
        fputc('\n', stderr);
        return 2;
    }
    if (!gen_parse_u64(&n, count, GEN_MAX_N))
        gen_usage_error("bad N '%s': expected an integer from 0 to %llu", count,
                        (unsigned long long)GEN_MAX_N);

    const char *csv = getenv("PINGAN_DIVISIONS_CSV");
    gen *g = gen_new(csv && *csv ? csv : PINGAN_GEN_DIVISIONS);
    char err[256];
    if (gen_scope(g, division, err, sizeof(err)) < 0)
        gen_die(2, "%s", err);
    /* Lines for `pingan record import`: new records, in the first state of
     * their lifecycle. */
    gen_set_new_records(g, true);
    gen_seed(g, seed, name);
    /* 2026-11-30 minus (seed mod 28) days, through the calendar. */
    unsigned back = (unsigned)(seed % 28);
    unsigned day = 30 - back;
    gen_today(g, 2026, 11, day, 0);

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *line = gen_record(g, name, &len);
        if (fwrite(line, 1, len, stdout) != len)
            gen_die(1, "write error on standard output");
    }
    if (fflush(stdout) == EOF || ferror(stdout))
        gen_die(1, "write error on standard output");
    gen_free(g);
    return 0;
}
