/*
 * pingan: the one command administrators use.  Global options (--dir,
 * --operator) may appear anywhere before a lone "--"; the first operand
 * names the command, looked up in a table.
 */
#include "cli.h"
#include "pingan/crypto.h"
#include "pingan/error.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PINGAN_VERSION "0.1.0"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"init", cmd_init, "create a node: keys, card and store"},
    {"card", cmd_card, "print, export or verify a node card"},
    {"peer", cmd_peer, "pin the cards of the parent, children and partners"},
    {"schema", cmd_schema, "show collections and fields"},
    {"record", cmd_record, "create, update, read, list, delete, import"},
    {"log", cmd_log, "list the change-log and check its signatures"},
    {"status", cmd_status, "this node and who is behind, at a glance"},
    {"conflicts", cmd_conflicts, "list, show and resolve conflicting edits"},
    {"quarantine", cmd_quarantine, "list and show txns refused on receipt"},
    {"export", cmd_export, "write a peer's changes into a bundle file"},
    {"import", cmd_import, "verify and apply bundle files"},
    {"sync", cmd_sync, "push then pull a peer's changes over HTTP"},
    {"serve", cmd_serve, "answer the peers' pulls and pushes over HTTP"},
    {"bundle", cmd_bundle, "inspect a bundle file"},
    {"policy", cmd_policy, "show what a link carries and how it redacts"},
    {"pseudonym", cmd_pseudonym, "the pseudonym a partner link gives a value"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pingan [--dir DIR] [--operator NAME] COMMAND [ARGS]\n\n"
            "pingan keeps a tier's public-safety records (Xiangtan Safe City "
            "Regulations)\nin a local store and records every change in a "
            "signed change-log.\n\ncommands:\n");
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out,
            "\nglobal options:\n"
            "  --dir DIR        node directory (default: $PINGAN_DIR, else "
            "./pingan-node)\n"
            "  --operator NAME  who makes changes (default: "
            "$PINGAN_OPERATOR, else login name)\n"
            "  --version        print the version\n"
            "  -h, --help       this help; 'pingan COMMAND --help' for a "
            "command\n"
            "\nexit codes: 0 ok, 1 runtime failure, 2 bad usage or rejected "
            "input\n");
}

/* Take global options out of argv wherever they are (before "--"). */
static int strip_globals(int *argcp, char **argv)
{
    int argc = *argcp, out = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *val = NULL;
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(a, "--dir") == 0 || strcmp(a, "--operator") == 0) {
            slot = a[2] == 'd' ? &cli_g.dir : &cli_g.operator_name;
            if (i + 1 >= argc) {
                fprintf(stderr, "pingan: option '%s' needs a value\n", a);
                return -1;
            }
            val = argv[++i];
        } else if (strncmp(a, "--dir=", 6) == 0) {
            slot = &cli_g.dir;
            val = a + 6;
        } else if (strncmp(a, "--operator=", 11) == 0) {
            slot = &cli_g.operator_name;
            val = a + 11;
        }
        if (slot) {
            if (!val[0]) {
                fprintf(stderr, "pingan: option '%s' needs a value\n", a);
                return -1;
            }
            *slot = val;
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argcp = out;
    return 0;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* Numbers on the command line and in files always use a decimal
     * point, whatever the locale says. */
    setlocale(LC_NUMERIC, "C");
    if (strip_globals(&argc, argv) < 0)
        return 2;
    if (!cli_g.dir) {
        const char *env = getenv("PINGAN_DIR");
        cli_g.dir = env && env[0] ? env : "./pingan-node";
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("pingan %s\n", PINGAN_VERSION);
        return 0;
    }
    if (pg_crypto_init() < 0)
        return cli_fail(PG_ERROR);
    for (const command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->fn(argc - 1, argv + 1);
    char ex[PG_EXCERPT_SIZE];
    fprintf(stderr, "pingan: unknown %s '%s'\n",
            argv[1][0] == '-' ? "option" : "command",
            pg_excerpt(ex, argv[1], strlen(argv[1])));
    usage(stderr);
    return 2;
}
