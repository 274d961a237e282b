/*
 * pingan: the one command administrators use.  Global options (--dir,
 * --operator) may appear anywhere before a lone "--"; the first operand
 * names the command, looked up in a table.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/crypto.h"
#include "pingan/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PINGAN_VERSION "0.1.0"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"init", cmd_init, N_("create a node: keys, card and store")},
    {"card", cmd_card, N_("print, export or verify a node card")},
    {"peer", cmd_peer,
     N_("pin the cards of the parent, children and partners")},
    {"schema", cmd_schema, N_("show collections and fields")},
    {"record", cmd_record, N_("create, update, read, list, delete, import")},
    {"report", cmd_report, N_("counts, amounts and rates; daily statistics")},
    {"log", cmd_log, N_("list the change-log and check its signatures")},
    {"audit", cmd_audit, N_("the audit trail: list, verify, export heads")},
    {"status", cmd_status, N_("this node and who is behind, at a glance")},
    {"lifecycle", cmd_lifecycle, N_("status lifecycles: show, check the log")},
    {"overdue", cmd_overdue,
     N_("supervision orders and hazards past their deadline")},
    {"conflicts", cmd_conflicts,
     N_("list, show and resolve conflicting edits")},
    {"quarantine", cmd_quarantine, N_("list and show txns refused on receipt")},
    {"export", cmd_export, N_("write a peer's changes into a bundle file")},
    {"import", cmd_import, N_("verify and apply bundle files")},
    {"sync", NULL, N_("push then pull a peer's changes over HTTP")},
    {"serve", NULL, N_("answer the peers' pulls and pushes over HTTP")},
    {"bundle", cmd_bundle, N_("inspect a bundle file")},
    {"policy", cmd_policy, N_("show what a link carries and how it redacts")},
    {"pseudonym", cmd_pseudonym,
     N_("the pseudonym a partner link gives a value")},
    {"backup", cmd_backup, N_("write an encrypted backup of the node")},
    {"restore", cmd_restore, N_("restore a backup into a new node directory")},
    {"rekey", cmd_rekey, N_("replace the node's keys; a card for the parent")},
    {"purge", cmd_purge, N_("erase personal data no longer needed (PIPL)")},
    {"release-hold", cmd_release_hold,
     N_("let a restored city write again, after a seq")},
    {"division", cmd_division,
     N_("division remaps: retired codes and their replacements")},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fputs(_("usage: pingan [--dir DIR] [--operator NAME] COMMAND [ARGS]\n\n"
            "pingan keeps a tier's public-safety records (Xiangtan Safe City "
            "Regulations)\nin a local store and records every change in a "
            "signed change-log.\n\ncommands:\n"),
          out);
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, _(c->summary));
    fputs(_("\nglobal options:\n"
            "  --dir DIR        node directory (default: $PINGAN_DIR, else "
            "./pingan-node)\n"
            "  --operator NAME  who makes changes (default: "
            "$PINGAN_OPERATOR, else login name)\n"
            "  --version        print the version\n"
            "  -h, --help       this help; 'pingan COMMAND --help' for a "
            "command\n"
            "\nexit codes: 0 ok, 1 runtime failure, 2 bad usage or rejected "
            "input\n"),
          out);
}

/* Run `pingan-net` from this program's directory with the command line as
 * given: it holds sync and serve, with libcurl and libmicrohttpd. */
static int run_net(char **argv)
{
    char path[4200];
    if (cli_net_path(path, sizeof(path)) < 0)
        return 1;
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr,
            _("pingan: cannot run %s: %s (it is built and installed beside "
              "pingan)\n"),
            path, strerror(errno));
    return 1;
}

static int run(int argc, char **argv, char **given)
{
    if (cli_start(&argc, argv) < 0)
        return 2;
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
            return c->fn ? c->fn(argc - 1, argv + 1) : run_net(given);
    char ex[PG_EXCERPT_SIZE];
    fprintf(stderr, _("pingan: unknown %s '%s'\n"),
            argv[1][0] == '-' ? _("option") : _("command"),
            pg_excerpt(ex, argv[1], strlen(argv[1])));
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    cli_i18n_init();
    /* The command line as given, for pingan-net. */
    char **given = calloc((size_t)argc + 1, sizeof(*given));
    if (!given)
        return cli_fail(PG_ENOMEM);
    memcpy(given, argv, (size_t)argc * sizeof(*given));
    int rc = run(argc, argv, given);
    free(given);
    return rc;
}
