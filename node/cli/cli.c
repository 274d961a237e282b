/*
 * Helpers shared by every command.  Options are declared once per command
 * in a cli_option table that drives getopt_long and the --help text, so the
 * two cannot disagree.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/peer.h"

#include <errno.h>
#include <locale.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cli_globals cli_g;

const char *cli_tr(const char *s)
{
    /* gettext("") is the catalog's header, not a translation. */
    return s && *s ? gettext(s) : s;
}

void cli_help(const cli_command *cmd)
{
    printf(_("usage: pingan [--dir DIR] [--operator NAME] %s %s\n\n%s\n"),
           cmd->name, cli_tr(cmd->synopsis), cli_tr(cmd->summary));
    if (cmd->details)
        printf("\n%s\n", cli_tr(cmd->details));
    printf("%s", _("\noptions:\n"));
    for (const cli_option *o = cmd->options; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? cli_tr(o->arg) : "");
        /* Padded by display width: a translated argument name may be
         * CJK, two columns a character. */
        printf("  %s", left);
        for (size_t w = cli_text_width(left); w < 24; w++)
            putchar(' ');
        printf(" %s\n", cli_tr(o->help));
    }
    printf("  %-24s %s\n", "-h, --help", _("show this help"));
    printf("%s", _("\nglobal options:\n"
                   "  --dir DIR                the node directory (default: "
                   "$PINGAN_DIR, else ./pingan-node)\n"
                   "  --operator NAME          who makes the change (default: "
                   "$PINGAN_OPERATOR, else the login name)\n"
                   "\nexit codes: 0 ok, 1 runtime failure, 2 bad usage or "
                   "rejected input\n"));
}

int cli_usage(const cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs(_("pingan: "), stderr);
    va_start(ap, fmt);
    vfprintf(stderr, _(fmt), ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (cmd)
        fprintf(stderr, _("usage: pingan %s %s\n(see 'pingan %s --help')\n"),
                cmd->name, cli_tr(cmd->synopsis), cmd->name);
    return 2;
}

size_t cli_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) == 0x80)
            continue;
        w += *p >= 0xe0 ? 2 : 1;
    }
    return w;
}

void cli_print_padded(const char *s, size_t width)
{
    size_t w = cli_text_width(s);
    fputs(s, stdout);
    while (w++ < width + 2)
        fputc(' ', stdout);
}

int cli_unexpected(const cli_command *cmd, const char *arg)
{
    char ex[PG_EXCERPT_SIZE];
    return cli_usage(cmd, "unexpected argument '%s'",
                     pg_excerpt(ex, arg, strlen(arg)));
}

int cli_set_once(const char **slot, const char *name, const char *arg)
{
    if (*slot) {
        fprintf(stderr, _("pingan: %s given twice; give it once\n"), name);
        return -1;
    }
    *slot = arg;
    return 0;
}

int cli_parse(int argc, char **argv, const cli_command *cmd,
              int (*handle)(int val, const char *arg, void *payload),
              void *payload)
{
    struct option longopts[32];
    size_t n = 0;

    for (const cli_option *o = cmd->options; o && o->name && n < 30; o++) {
        longopts[n].name = o->name;
        longopts[n].has_arg = o->has_arg;
        longopts[n].flag = NULL;
        longopts[n].val = o->val;
        n++;
    }
    longopts[n].name = "help";
    longopts[n].has_arg = no_argument;
    longopts[n].flag = NULL;
    longopts[n].val = 'h';
    n++;
    memset(&longopts[n], 0, sizeof(longopts[n]));

    optind = 1;
    opterr = 0;
    int c;
    /* "+" stops at the first operand only for nested verbs; FIELD=VALUE
     * operands may be mixed with options, so permute (the default). */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            cli_help(cmd);
            return 1;
        }
        const char *opt = argv[optind - 1];
        char ex[PG_EXCERPT_SIZE];
        if (c == '?') {
            cli_usage(cmd, "unknown option '%s'",
                      pg_excerpt(ex, opt, strlen(opt)));
            return -1;
        }
        if (c == ':') {
            cli_usage(cmd, "option '%s' needs a value",
                      pg_excerpt(ex, opt, strlen(opt)));
            return -1;
        }
        if (handle(c, optarg, payload) < 0)
            return -1;
    }
    return 0;
}

int cli_parse_count(unsigned long long *out, const char *name, const char *arg,
                    unsigned long long min, unsigned long long max)
{
    char *end;
    char ex[PG_EXCERPT_SIZE];

    errno = 0;
    unsigned long long n = strtoull(arg, &end, 10);
    if (errno || *end || arg[0] < '0' || arg[0] > '9' || n < min || n > max) {
        fprintf(stderr,
                _("pingan: --%s needs a number from %llu to %llu, not "
                  "'%s'\n"),
                name, min, max, pg_excerpt(ex, arg, strlen(arg)));
        return -1;
    }
    *out = n;
    return 0;
}

int cli_fail(int code)
{
    const pg_error *e = pg_error_last();
    if (code == 0)
        return 0;
    fprintf(stderr, _("pingan: %s\n"),
            e->code && e->message[0] ? pg_error_last_localized()
                                     : pg_error_name(code));
    return pg_error_exit_code(code);
}

int cli_open_node(pg_node **out)
{
    /* Whatever the command does is recorded in the audit trail as done
     * by the operator.  A bad name fails the actions that would be
     * recorded, not the commands that only read. */
    int error = pg_node_open(out, cli_g.dir);
    if (error == 0 && pg_node_set_operator(*out, cli_operator()) < 0)
        pg_error_clear();
    return error;
}

const char *cli_operator(void)
{
    static char login[256];

    if (cli_g.operator_name)
        return cli_g.operator_name;
    const char *env = getenv("PINGAN_OPERATOR");
    if (env && env[0])
        return env;
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && pw->pw_name[0]) {
        snprintf(login, sizeof(login), "%s", pw->pw_name);
        return login;
    }
    env = getenv("USER");
    return env && env[0] ? env : "unknown";
}

const char *cli_collection_label(const pg_collection *c)
{
    return cli_i18n_chinese() && c->title && c->title[0] ? c->title : c->name;
}

const char *cli_field_label(const pg_field *f)
{
    return cli_i18n_chinese() && f->title && f->title[0] ? f->title : f->name;
}

const char *cli_tier_label(pg_tier tier)
{
    static const char *const zh[] = {"省级", "市级", "县级", "乡镇级", "村级"};
    if (cli_i18n_chinese() && tier >= PG_TIER_PROVINCE &&
        tier <= PG_TIER_COMMUNITY)
        return zh[tier - PG_TIER_PROVINCE];
    return pg_tier_name(tier);
}

const char *cli_role_label(int role)
{
    if (cli_i18n_chinese())
        switch (role) {
        case PG_PEER_PARENT:
            return "上级";
        case PG_PEER_CHILD:
            return "下级";
        case PG_PEER_PARTNER:
            return "协作城市";
        default:
            break;
        }
    return pg_peer_role_name((pg_peer_role)role);
}

void cli_print_json(json_t *j)
{
    char *s =
        json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    json_decref(j);
}

json_t *cli_value_json(const pg_field *field, const pg_value *value)
{
    char t[40];

    switch (value->kind) {
    case PG_VALUE_INT:
        if (field->type == PG_TYPE_TIME) {
            pg_time_format(t, value->i);
            return json_string(t);
        }
        return json_integer((json_int_t)value->i);
    case PG_VALUE_REAL:
        return json_real(value->r);
    case PG_VALUE_BOOL:
        return json_boolean(value->b);
    case PG_VALUE_TEXT:
        return json_stringn(value->s, value->len);
    default:
        return json_null();
    }
}

void cli_value_text(char *out, size_t outlen, const pg_field *field,
                    const pg_value *value)
{
    switch (value->kind) {
    case PG_VALUE_INT:
        if (field->type == PG_TYPE_TIME) {
            char t[40];
            pg_time_format(t, value->i);
            snprintf(out, outlen, "%s", t);
        } else
            snprintf(out, outlen, "%lld", (long long)value->i);
        return;
    case PG_VALUE_REAL:
        snprintf(out, outlen, "%.15g", value->r);
        return;
    case PG_VALUE_BOOL:
        snprintf(out, outlen, "%s", value->b ? "true" : "false");
        return;
    case PG_VALUE_TEXT: {
        /* Human output is one line per record: a newline, carriage return
         * or tab inside a value (free text may hold them, and values come
         * from other nodes) is shown escaped, and so is a backslash. */
        size_t j = 0;
        for (size_t i = 0; i < value->len && j + 3 <= outlen; i++) {
            char c = value->s[i];
            const char *esc = c == '\n'   ? "\\n"
                              : c == '\r' ? "\\r"
                              : c == '\t' ? "\\t"
                              : c == '\\' ? "\\\\"
                                          : NULL;
            if (esc) {
                out[j++] = esc[0];
                out[j++] = esc[1];
            } else {
                out[j++] = c;
            }
        }
        if (outlen)
            out[j < outlen ? j : outlen - 1] = 0;
        return;
    }
    default:
        if (outlen)
            out[0] = 0;
        return;
    }
}

bool cli_progress_enabled(void)
{
    return isatty(STDERR_FILENO);
}

static void verbs_help(FILE *out, const char *command, const char *intro,
                       const cli_verb *verbs)
{
    fprintf(out, _("usage: pingan %s VERB ...\n\n"), command);
    if (intro)
        fprintf(out, "%s\n\n", cli_tr(intro));
    fprintf(out, "%s", _("verbs:\n"));
    for (const cli_verb *v = verbs; v->name; v++)
        fprintf(out, "  %-8s %s\n", v->name, cli_tr(v->summary));
    fprintf(out, _("\n'pingan %s VERB --help' explains each.\n"), command);
}

int cli_dispatch(const char *command, const char *intro, const cli_verb *verbs,
                 int argc, char **argv)
{
    if (argc >= 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        verbs_help(stdout, command, intro, verbs);
        return 0;
    }
    if (argc < 2) {
        verbs_help(stderr, command, intro, verbs);
        return 2;
    }
    for (const cli_verb *v = verbs; v->name; v++)
        if (strcmp(argv[1], v->name) == 0)
            return v->fn(argc - 1, argv + 1);
    char ex[PG_EXCERPT_SIZE];
    fprintf(stderr, _("pingan: unknown verb '%s %s'; known:"), command,
            pg_excerpt(ex, argv[1], strlen(argv[1])));
    for (const cli_verb *v = verbs; v->name; v++)
        fprintf(stderr, " %s", v->name);
    fprintf(stderr, "\n");
    return 2;
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
                fprintf(stderr, _("pingan: option '%s' needs a value\n"), a);
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
                fprintf(stderr, _("pingan: option '%s' needs a value\n"), a);
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

int cli_start(int *argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* Numbers on the command line and in files always use a decimal
     * point, whatever the locale says. */
    setlocale(LC_NUMERIC, "C");
    if (strip_globals(argc, argv) < 0)
        return -1;
    if (!cli_g.dir) {
        const char *env = getenv("PINGAN_DIR");
        cli_g.dir = env && env[0] ? env : "./pingan-node";
    }
    return 0;
}

int cli_net_path(char *out, size_t cap)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        fprintf(stderr, _("pingan: cannot find this program's directory: %s\n"),
                strerror(errno));
        return -1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, cap, "%s/pingan-net", slash ? self : ".");
    return 0;
}
