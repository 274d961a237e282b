/*
 * pingan-simulate: the whole Xiangtan federation in one process.
 *
 *     pingan-simulate [--nodes N] [--days D] [--rounds R] [--seed S] ...
 *
 * See sim.h for the parts and --help for the options.
 */
#include "sim.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pingan/error.h"
#include "pingan/value.h"

#ifndef PINGAN_GEN_DIVISIONS
#define PINGAN_GEN_DIVISIONS "tools/gen-src/xiangtan_divisions.csv"
#endif

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: pingan-simulate [options]\n"
        "\n"
        "Run the Xiangtan federation for some days: the city 430300, its 8\n"
        "county-level units, 70 townships and 951 villages and communities\n"
        "(real codes where the divisions table has them, synthetic ones\n"
        "with village segments 600-999 elsewhere), and the partner cities\n"
        "长沙市 and 株洲市.  Every node is a real node directory, opened\n"
        "in this process; they exchange real bundles.  Each day every node\n"
        "writes what DOMAIN.md §6.5 says a node of its tier writes, pairs\n"
        "of nodes edit the same records concurrently, some nodes are\n"
        "offline for a while, some bundles are lost, and 石潭镇's link to\n"
        "湘潭县 moves by USB stick once a day.  Then it checks that every\n"
        "village record reached the city in time, every view converged, no\n"
        "personal value reached a partner in clear, key persons stayed in\n"
        "their county, every signature verifies at the city and every\n"
        "conflict was found, and prints the tables.\n"
        "\n"
        "  -n, --nodes N      simulate about N nodes (at least 6): the city,\n"
        "                     both partners, and villages taken in turn from\n"
        "                     each county with their townships (default: all\n"
        "                     1,032)\n"
        "  -d, --days D       simulated days, from Monday 2026-11-23 (default "
        "1)\n"
        "  -r, --rounds R     sync rounds per day (default 4)\n"
        "  -s, --seed S       seed of every choice and record (default 1)\n"
        "      --loss P       share of bundles lost on the way (default 0.02)\n"
        "      --offline P    share of villages and townships offline part\n"
        "                     of each day (default 0.03)\n"
        "      --edits E      concurrent edit pairs a day per 100 villages\n"
        "                     (default 4)\n"
        "      --files-only   the city's links move bundle files too (by\n"
        "                     default the city serves HTTP on 127.0.0.1 and\n"
        "                     its counties and partners sync with it)\n"
        "      --dir DIR      make the nodes in DIR/nodes-SEED (default: a\n"
        "                     temporary directory)\n"
        "      --keep         keep the node directories afterwards\n"
        "      --divisions CSV  the divisions table (default: the one built "
        "in)\n"
        "      --agreement FILE  the Art. 8 agreement both partners get (a\n"
        "                     policy file; default: disputes marked\n"
        "                     cross_region and fraud alerts, names masked,\n"
        "                     ID numbers and phones as pseudonyms)\n"
        "      --json         print the results as JSON\n"
        "  -q, --quiet        no progress on standard error\n"
        "  -h, --help         show this help\n"
        "\n"
        "Exit status: 0 every check holds, 1 a check failed or the run\n"
        "failed, 2 bad usage.\n");
}

static int bad_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("pingan-simulate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'pingan-simulate --help'.\n", stderr);
    return 2;
}

static bool parse_share(double *out, const char *s, double max)
{
    char *end;
    double v = strtod(s, &end);

    if (!*s || *end || !(v >= 0 && v <= max))
        return false;
    *out = v;
    return true;
}

static int parse(sim_opts *o, int argc, char **argv)
{
    enum {
        O_LOSS = 256,
        O_OFFLINE,
        O_EDITS,
        O_DIR,
        O_KEEP,
        O_CSV,
        O_JSON,
        O_AGREEMENT,
        O_FILES_ONLY
    };
    static const struct option options[] = {
        {"nodes", required_argument, NULL, 'n'},
        {"days", required_argument, NULL, 'd'},
        {"rounds", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"loss", required_argument, NULL, O_LOSS},
        {"offline", required_argument, NULL, O_OFFLINE},
        {"edits", required_argument, NULL, O_EDITS},
        {"dir", required_argument, NULL, O_DIR},
        {"keep", no_argument, NULL, O_KEEP},
        {"divisions", required_argument, NULL, O_CSV},
        {"agreement", required_argument, NULL, O_AGREEMENT},
        {"files-only", no_argument, NULL, O_FILES_ONLY},
        {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:d:r:s:qh", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!gen_parse_u64(&v, optarg, 100000))
                return bad_usage("bad --nodes '%s': expected a count", optarg);
            o->nodes = (size_t)v;
            break;
        case 'd':
            if (!gen_parse_u64(&v, optarg, 366) || v == 0)
                return bad_usage("bad --days '%s': expected 1 to 366", optarg);
            o->days = (unsigned)v;
            break;
        case 'r':
            if (!gen_parse_u64(&v, optarg, 96) || v == 0)
                return bad_usage("bad --rounds '%s': expected 1 to 96", optarg);
            o->rounds = (unsigned)v;
            break;
        case 's':
            if (!gen_parse_u64(&v, optarg, UINT64_MAX))
                return bad_usage("bad --seed '%s': expected a non-negative "
                                 "integer",
                                 optarg);
            o->seed = v;
            break;
        case O_LOSS:
            if (!parse_share(&o->loss, optarg, 0.5))
                return bad_usage("bad --loss '%s': expected 0 to 0.5", optarg);
            break;
        case O_OFFLINE:
            if (!parse_share(&o->offline, optarg, 1))
                return bad_usage("bad --offline '%s': expected 0 to 1", optarg);
            break;
        case O_EDITS:
            if (!parse_share(&o->edits, optarg, 1000))
                return bad_usage("bad --edits '%s': expected 0 to 1000",
                                 optarg);
            break;
        case O_DIR:
            o->dir = optarg;
            break;
        case O_KEEP:
            o->keep = true;
            break;
        case O_CSV:
            o->csv = optarg;
            break;
        case O_JSON:
            o->json = true;
            break;
        case O_AGREEMENT:
            o->agreement = optarg;
            break;
        case O_FILES_ONLY:
            o->files_only = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            return bad_usage("option %s needs a value", argv[optind - 1]);
        default:
            return bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Rounds after the last day with every node online and nothing lost,
 * until a day's last round (the USB stick's) moves nothing. */
static int settle(sim_world *w)
{
    /* Everyone back online: windows end now (the reach check reads them). */
    for (size_t i = 0; i < w->tree.n; i++) {
        pg_buf *off = &w->tree.nodes[i].off;
        sim_window *win = (sim_window *)off->data;
        for (size_t k = 0; k < off->len / sizeof(*win); k++) {
            if (win[k].to > w->round)
                win[k].to = w->round;
        }
    }
    /* Enough for the deepest path (village, township, county, city),
     * its acknowledgements and the USB stick's day, however few rounds a
     * day has. */
    unsigned budget = 4 * w->opts.rounds < 24 ? 24 : 4 * w->opts.rounds;
    for (unsigned k = 0; k < budget; k++) {
        double t0 = sim_now();
        long moved = sim_round_sync(w, true);
        w->seconds_sync += sim_now() - t0;
        if (moved < 0 || sim_track_arrivals(w) < 0)
            return -1;
        bool day_end =
            (unsigned)w->round % w->opts.rounds == w->opts.rounds - 1;
        w->round++;
        if (moved == 0 && day_end)
            return 0;
    }
    fprintf(stderr, "simulate: the federation did not settle in %u rounds\n",
            budget);
    return -1;
}

static int run(sim_world *w)
{
    for (unsigned day = 0; day < w->opts.days; day++) {
        if (sim_day_plan(w, day) < 0)
            return -1;
        /* Records fall on the simulated day: "today" is the day after. */
        int64_t y;
        unsigned m, d;
        pg_civil_from_days(pg_days_from_civil(2026, 11, 24) + day, &y, &m, &d);
        gen_today(w->gen, (int)y, m, d, 1);
        for (unsigned r = 0; r < w->opts.rounds; r++) {
            double t0 = sim_now();
            if (sim_day_writes(w, day, r) < 0 ||
                (w->round > 0 && sim_day_edits(w) < 0))
                return -1;
            double t1 = sim_now();
            long moved = sim_round_sync(w, false);
            if (moved < 0 || sim_track_arrivals(w) < 0)
                return -1;
            double t2 = sim_now();
            w->seconds_writes += t1 - t0;
            w->seconds_sync += t2 - t1;
            sim_say(w,
                    "day %u round %u: %zu records so far, %ld bundles moved "
                    "(%.1f s writing, %.1f s syncing)",
                    day + 1, r + 1, w->nrecords, moved, t1 - t0, t2 - t1);
            w->round++;
        }
    }
    return settle(w);
}

int main(int argc, char **argv)
{
    sim_world w;
    char err[256];

    memset(&w, 0, sizeof(w));
    w.opts.days = 1;
    w.opts.rounds = 4;
    w.opts.seed = 1;
    w.opts.loss = 0.02;
    w.opts.offline = 0.03;
    w.opts.edits = 4;
    int rc = parse(&w.opts, argc, argv);
    if (rc)
        return rc;
    const char *csv = w.opts.csv;
    if (!csv) {
        csv = getenv("PINGAN_DIVISIONS_CSV");
        if (!csv || !*csv)
            csv = PINGAN_GEN_DIVISIONS;
    }
    if (w.opts.agreement &&
        !(w.opts.agreement_text = sim_read_agreement(w.opts.agreement)))
        return 1;
    gen_set_program("pingan-simulate");
    w.gen = gen_new(csv);
    if (sim_tree_build(&w.tree, w.gen, w.opts.nodes, err, sizeof(err)) < 0) {
        fprintf(stderr, "pingan-simulate: %s\n", err);
        gen_free(w.gen);
        return 2;
    }
    if (sim_http_global_init() < 0) {
        fprintf(stderr, "pingan-simulate: libcurl does not start\n");
        sim_tree_free(&w.tree);
        gen_free(w.gen);
        return 1;
    }
    sim_rng_seed(&w.rng, w.opts.seed, "simulate");
    int failed = 1;
    if (sim_world_create(&w) == 0 && run(&w) == 0) {
        failed = sim_check(&w, stdout);
        if (failed < 0)
            failed = 1;
    }
    sim_world_close(&w);
    sim_secrets_free(&w);
    gen_free(w.gen);
    free(w.opts.agreement_text);
    pg_buf_dispose(&w.records_buf);
    pg_buf_dispose(&w.edits_buf);
    sim_tree_free(&w.tree);
    sim_http_global_cleanup();
    return failed ? 1 : 0;
}
