/* pingan log [--since SEQ] [--limit N] [--json] */
#include "cli.h"
#include "pingan/changelog.h"
#include "pingan/error.h"
#include "pingan/hlc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct log_opts {
    long long since;
    size_t limit;
    bool json;
} log_opts;

static const cli_option log_options[] = {
    {"since", required_argument, 's', "SEQ",
     "only entries after local sequence SEQ"},
    {"limit", required_argument, 'l', "N", "at most N entries"},
    {"json", no_argument, 'j', NULL, "print a JSON array"},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command log_cmd = {
    "log", "[--since SEQ] [--limit N] [--json]",
    "List the change-log: local sequence, origin and its sequence, hybrid "
    "clock,\ncollection, division, operator, number of changes, digest, and "
    "whether the\norigin's signature verifies.",
    NULL, log_options};

static int log_handle(int val, const char *arg, void *payload)
{
    log_opts *o = payload;
    unsigned long long n;

    switch (val) {
    case 'j':
        o->json = true;
        return 0;
    case 's':
        if (cli_parse_count(&n, "since", arg, 0, INT64_MAX) < 0)
            return -1;
        o->since = (long long)n;
        return 0;
    case 'l':
        if (cli_parse_count(&n, "limit", arg, 0, SIZE_MAX) < 0)
            return -1;
        o->limit = (size_t)n;
        return 0;
    }
    return 0;
}

typedef struct log_state {
    bool json;
    json_t *array;
    size_t bad;
} log_state;

static int log_one(const pg_log_entry *e, void *payload)
{
    log_state *ls = payload;
    const pg_txn *t = e->txn;
    char digest[2 * PG_HASH_LEN + 1], when[40];

    pg_hex(digest, e->digest, PG_HASH_LEN);
    if (!e->signature_ok)
        ls->bad++;
    if (ls->json) {
        json_array_append_new(
            ls->array,
            json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:s, s:b}",
                      "seq", (json_int_t)e->seq, "origin", t->origin,
                      "origin_seq", (json_int_t)t->seq, "hlc",
                      (json_int_t)t->hlc, "collection", t->collection,
                      "division", t->division, "operator", t->operator_name,
                      "changes", (json_int_t)t->nchanges, "digest", digest,
                      "signature_ok", e->signature_ok));
        return 0;
    }
    pg_time_format(when, PG_HLC_MS(t->hlc));
    printf("%6lld  %s #%-6llu %-29s  %-11s %s  %-12s %4zu  %.16s  %s\n",
           (long long)e->seq, t->origin, (unsigned long long)t->seq, when,
           t->collection, t->division, t->operator_name, t->nchanges, digest,
           e->signature_ok ? "signature ok" : "SIGNATURE NOT VERIFIED");
    return 0;
}

int cmd_log(int argc, char **argv)
{
    log_opts o = {0};
    log_state ls = {0};
    pg_node *node = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &log_cmd, log_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_usage(&log_cmd, "unexpected argument '%s'", argv[optind]);
    ls.json = o.json;
    ls.array = o.json ? json_array() : NULL;
    if ((error = cli_open_node(&node)) < 0) {
        json_decref(ls.array);
        return cli_fail(error);
    }
    if (!o.json)
        printf("%6s  %-12s %-7s %-29s  %-11s %-12s  %-12s %4s  %-16s  %s\n",
               "seq", "origin", "#seq", "clock (+08:00)", "collection",
               "division", "operator", "chg", "digest", "signature");
    if ((error = pg_log_list(node, o.since, o.limit, log_one, &ls)) < 0) {
        status = cli_fail(error);
        json_decref(ls.array);
        ls.array = NULL;
    }
    if (status == 0 && o.json)
        cli_print_json(ls.array);
    pg_node_free(node);
    return status;
}
