/*
 * Shared pieces of the `pingan` command: global options, the option-table
 * helper that drives both getopt_long and --help, error reporting and JSON
 * output.  Data goes to stdout; diagnostics to stderr as "pingan: ...".
 */
#ifndef PINGAN_CLI_H
#define PINGAN_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "pingan/node.h"
#include "pingan/schema.h"
#include "pingan/value.h"

/* Global options, set by main before a command runs. */
typedef struct cli_globals {
    const char *dir;
    const char *operator_name;
} cli_globals;

extern cli_globals cli_g;

/* One option of a command: the getopt entry, its argument name, help. */
typedef struct cli_option {
    const char *name;
    int has_arg; /* no_argument or required_argument */
    int val;
    const char *arg;
    const char *help;
} cli_option;

/* A command's description for usage and --help. */
typedef struct cli_command {
    const char *name;     /* "record put" */
    const char *synopsis; /* "COLLECTION [--id ID] FIELD=VALUE..." */
    const char *summary;  /* one line */
    const char *details;  /* paragraphs, may be NULL */
    const cli_option *options;
} cli_command;

/*
 * Parse options with getopt_long from the command's table.  Calls
 * handle(val, optarg, payload) for each; prints help for -h/--help and
 * returns 1 (caller exits 0); returns -1 on a usage error (already
 * printed; exit 2); 0 otherwise.  optind is left at the first operand.
 */
int cli_parse(int argc, char **argv, const cli_command *cmd,
              int (*handle)(int val, const char *arg, void *payload),
              void *payload);

/*
 * The translation of a string of a command or option table (marked with
 * N_()); NULL and "" as they are.
 */
const char *cli_tr(const char *s);

/* Print a command's help to stdout.  Every string of the table is
 * translated (cli_tr). */
void cli_help(const cli_command *cmd);

/* "pingan: <message>" plus an optional hint; returns 2. */
int cli_usage(const cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report the last library error for a failed call; returns the exit code
 * for @p code (0 ok, 1 runtime failure, 2 bad input). */
int cli_fail(int code);

/* Columns on a terminal: a 3- or 4-byte UTF-8 character (CJK) takes two. */
size_t cli_text_width(const char *s);

/* Print s to stdout, padded with spaces to width + 2 columns. */
void cli_print_padded(const char *s, size_t width);

/* "pingan: unexpected argument 'ARG'" (an excerpt) plus usage; returns 2. */
int cli_unexpected(const cli_command *cmd, const char *arg);

/* Store an option's argument in *slot unless it was given before: then
 * print "pingan: NAME given twice; give it once" and return -1. */
int cli_set_once(const char **slot, const char *name, const char *arg);

/*
 * Parse a count given to --NAME: decimal digits only, at least min, at
 * most max.  Prints "pingan: --NAME needs ..." and returns -1 otherwise.
 */
int cli_parse_count(unsigned long long *out, const char *name, const char *arg,
                    unsigned long long min, unsigned long long max);

/* Open the node named by --dir / $PINGAN_DIR / ./pingan-node. */
int cli_open_node(pg_node **out);

/* The operator: --operator, else $PINGAN_OPERATOR, else the login name. */
const char *cli_operator(void);

/*
 * The name of a collection or field as human output shows it: its schema
 * title (Chinese, e.g. 纠纷类型) when messages are shown in Chinese, else
 * its name (dispute_type).  JSON output always uses names.
 */
const char *cli_collection_label(const pg_collection *c);
const char *cli_field_label(const pg_field *f);

/* A tier as human output shows it: 县级 in Chinese, else county. */
const char *cli_tier_label(pg_tier tier);

/* A peer's role (pingan/peer.h pg_peer_role) as human output shows it:
 * 上级/下级/协作城市 in Chinese, else parent/child/partner. */
const char *cli_role_label(int role);

/* Print JSON (UTF-8, not escaped) followed by a newline; steals j. */
void cli_print_json(json_t *j);

/* A value as JSON: numbers, booleans, strings; times as +08:00 text. */
json_t *cli_value_json(const pg_field *field, const pg_value *value);

/* A value as human text on one line (absent as ""; newline, carriage
 * return, tab and backslash in text escaped as \n \r \t \\); out should
 * hold twice the value's length. */
void cli_value_text(char *out, size_t outlen, const pg_field *field,
                    const pg_value *value);

/* True when stderr is a terminal (show progress). */
bool cli_progress_enabled(void);

/* A verb of a command with verbs (`pingan record put`). */
typedef struct cli_verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_verb;

/*
 * Run the verb named by argv[1] (argv[0] is the command), or print the
 * verbs: to stdout for --help (exit 0), to stderr when none is given or it
 * is unknown (exit 2).  intro, if not NULL, is printed under the usage.
 */
int cli_dispatch(const char *command, const char *intro, const cli_verb *verbs,
                 int argc, char **argv);

/*
 * Start a command-line program: the locale (numbers always with a decimal
 * point), global options taken out of argv wherever they are (before a
 * lone "--") into cli_g, and the node directory's default.  -1 on a bad
 * global option (printed; exit 2).
 */
int cli_start(int *argc, char **argv);

/* The path of pingan-net, beside this program, into @p out.  0, or -1
 * with a message on stderr. */
int cli_net_path(char *out, size_t cap);

/* Commands. */
int cmd_init(int argc, char **argv);
int cmd_card(int argc, char **argv);
int cmd_peer(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_conflicts(int argc, char **argv);
int cmd_quarantine(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_pseudonym(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_lifecycle(int argc, char **argv);
int cmd_overdue(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_sync(int argc, char **argv);
/* pingan-net audit-fetch-heads PARENT (hidden; run by `pingan audit verify
 * --against-parent`): the parent's heads file over HTTP, to stdout. */
int cmd_audit_fetch(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_rekey(int argc, char **argv);
int cmd_release_hold(int argc, char **argv);
int cmd_peer_rekey(int argc, char **argv);
int cmd_division(int argc, char **argv);

#endif
