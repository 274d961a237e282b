/*
 * pingan backup FILE and pingan restore FILE: an encrypted backup of the
 * node and its restore into a new directory, on hold until the parent
 * confirms (pingan/recovery.h).
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"
#include "pingan/recovery.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASS_MAX 1024

typedef struct rec_opts {
    const char *pass_file;
    bool json;
} rec_opts;

static const cli_option backup_options[] = {
    {"passphrase-file", required_argument, 'p', N_("FILE"),
     N_("read the passphrase from the first line of FILE (for scripts)")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command backup_cmd = {
    "backup", N_("FILE [--passphrase-file FILE] [--json]"),
    N_("Write an encrypted backup of this node to FILE (mode 0600): a "
       "consistent copy of\nthe store, taken while the node may be serving, "
       "its keys and its card."),
    N_("The passphrase is asked twice on the terminal without echo, or read "
       "from\n--passphrase-file.  Keep it apart from the backup: without it "
       "the backup cannot be\nread, by anyone.  FILE is replaced whole or "
       "not at all.  Restore with\n'pingan restore FILE --dir NEWDIR'."),
    backup_options};

static const cli_command restore_cmd = {
    "restore", N_("FILE --dir DIR [--passphrase-file FILE] [--json]"),
    N_("Restore a backup into DIR, a new or empty directory (an existing node "
       "is never\noverwritten)."),
    N_("The restored node refuses local writes until its parent has confirmed "
       "the last\nsequence number it holds from this node and sent back "
       "anything newer: run\n'pingan sync PARENT', or export a bundle to the "
       "parent and import its bundle\nback.  'pingan status' shows the hold."),
    backup_options};

static int rec_handle(int val, const char *arg, void *payload)
{
    rec_opts *o = payload;
    switch (val) {
    case 'p':
        return cli_set_once(&o->pass_file, "--passphrase-file", arg);
    case 'j':
        o->json = true;
        break;
    }
    return 0;
}

/* The first line of a file, without its line end. */
static int pass_from_file(char *out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_OS,
                            "cannot read the passphrase file %s: %s", path,
                            strerror(errno));
    size_t n = fread(out, 1, PASS_MAX, f);
    fclose(f);
    char *nl = memchr(out, '\n', n);
    if (nl)
        n = (size_t)(nl - out);
    else if (n == PASS_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the passphrase in %s is longer than %d bytes",
                            path, PASS_MAX - 1);
    if (n > 0 && out[n - 1] == '\r')
        n--;
    if (n == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the passphrase file %s is empty; write the "
                            "passphrase on its first line",
                            path);
    *len = n;
    return 0;
}

/* Ask on the terminal without echo. */
/* The terminal as it was before the prompt turned echo off, put back
 * should Ctrl-C or another signal end the program while it asks. */
static volatile sig_atomic_t ask_fd = -1;
static struct termios ask_old;

static void ask_interrupted(int sig)
{
    if (ask_fd >= 0)
        tcsetattr(ask_fd, TCSANOW, &ask_old);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int pass_ask(char *out, size_t *len, const char *prompt)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    struct termios old, quiet;
    if (fd < 0 || tcgetattr(fd, &old) != 0) {
        if (fd >= 0)
            close(fd);
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "no terminal to ask for the passphrase; give "
                            "--passphrase-file FILE");
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    ask_old = old;
    ask_fd = fd;
    void (*prev_int)(int) = signal(SIGINT, ask_interrupted);
    void (*prev_term)(int) = signal(SIGTERM, ask_interrupted);
    void (*prev_hup)(int) = signal(SIGHUP, ask_interrupted);
    if (write(fd, prompt, strlen(prompt)) < 0 ||
        tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        ask_fd = -1;
        signal(SIGINT, prev_int);
        signal(SIGTERM, prev_term);
        signal(SIGHUP, prev_hup);
        close(fd);
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot turn off the terminal's echo");
    }
    size_t n = 0;
    char c;
    ssize_t r;
    while ((r = read(fd, &c, 1)) == 1 && c != '\n')
        if (n < PASS_MAX - 1)
            out[n++] = c;
    tcsetattr(fd, TCSAFLUSH, &old);
    ask_fd = -1;
    signal(SIGINT, prev_int);
    signal(SIGTERM, prev_term);
    signal(SIGHUP, prev_hup);
    close(fd);
    if (n > 0 && out[n - 1] == '\r')
        n--;
    if (n == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the passphrase is empty; give one");
    *len = n;
    return 0;
}

static int pass_get(char *out, size_t *len, const rec_opts *o, bool twice)
{
    if (o->pass_file)
        return pass_from_file(out, len, o->pass_file);
    int error = pass_ask(out, len, _("passphrase: "));
    if (error < 0 || !twice)
        return error;
    char again[PASS_MAX];
    size_t alen = 0;
    error = pass_ask(again, &alen, _("passphrase again: "));
    bool same = error == 0 && alen == *len && memcmp(again, out, alen) == 0;
    pg_memzero(again, sizeof(again));
    if (error < 0)
        return error;
    if (!same)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the two passphrases differ; try again");
    return 0;
}

static void rec_progress(uint64_t done, uint64_t total, void *payload)
{
    const char *what = payload;
    if (total)
        fprintf(stderr, "\r%s: %llu%%   ", what,
                (unsigned long long)(done * 100 / total));
    else
        fprintf(stderr, "\r%s: %llu MiB   ", what,
                (unsigned long long)(done >> 20));
}

static void rec_print(const pg_recovery_result *r, const char *action,
                      const char *file, const char *dir, bool json)
{
    if (json) {
        json_t *j = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:I}", "action",
            action, "file", file, "code", r->code, "name", r->name, "key_id",
            r->key_id, "last_seq", (json_int_t)r->last_seq, "log_entries",
            (json_int_t)r->log_entries, "files", (int)r->files, "store_bytes",
            (json_int_t)r->store_bytes, "bytes", (json_int_t)r->bytes);
        if (dir) {
            json_object_set_new(j, "dir", json_string(dir));
            json_object_set_new(j, "held", json_true());
        }
        cli_print_json(j);
        return;
    }
    if (!dir) {
        printf(_("backed up node %s %s to %s: %u files, %llu log entries, own "
                 "seq %lld, %llu bytes (encrypted)\n"),
               r->code, r->name, file, r->files,
               (unsigned long long)r->log_entries, (long long)r->last_seq,
               (unsigned long long)r->bytes);
        return;
    }
    printf(_("restored node %s %s into %s: %llu log entries, own seq %lld\n"),
           r->code, r->name, dir, (unsigned long long)r->log_entries,
           (long long)r->last_seq);
    printf(_("on hold: local writes are refused until the parent confirms "
             "this node's last\nsequence number; run 'pingan sync PARENT', or "
             "export a bundle to the parent\nand import its bundle back\n"));
}

static int rec_run(int argc, char **argv, bool backup)
{
    const cli_command *cmd = backup ? &backup_cmd : &restore_cmd;
    rec_opts o = {0};
    char pass[PASS_MAX];
    size_t plen = 0;
    pg_recovery_opts ro = PG_RECOVERY_OPTIONS_INIT;
    pg_recovery_result res;
    pg_node *node = NULL;
    int rc, error;

    ro.operator_name = cli_operator();

    if ((rc = cli_parse(argc, argv, cmd, rec_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind >= argc)
        return cli_usage(cmd, "%s needs a FILE", cmd->name);
    if (optind + 1 < argc)
        return cli_unexpected(cmd, argv[optind + 1]);
    const char *file = argv[optind];
    if (cli_progress_enabled()) {
        ro.progress = rec_progress;
        ro.payload = (void *)(backup ? _("backup") : _("restore"));
    }
    if (backup && (error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    if ((error = pass_get(pass, &plen, &o, backup)) == 0) {
        error = backup ? pg_recovery_backup(node, file, pass, plen, &ro, &res)
                       : pg_recovery_restore(file, cli_g.dir, pass, plen, &ro,
                                             &res);
    }
    pg_memzero(pass, sizeof(pass));
    if (ro.progress)
        fprintf(stderr, "\r\033[K");
    pg_node_free(node);
    if (error < 0)
        return cli_fail(error);
    rec_print(&res, backup ? "backup" : "restore", file,
              backup ? NULL : cli_g.dir, o.json);
    return 0;
}

int cmd_backup(int argc, char **argv)
{
    return rec_run(argc, argv, true);
}

int cmd_restore(int argc, char **argv)
{
    return rec_run(argc, argv, false);
}

/* --- pingan rekey, pingan peer rekey ------------------------------------ */

typedef struct rekey_opts {
    const char *card;
    bool json;
} rekey_opts;

static const cli_option rekey_options[] = {
    {"card-out", required_argument, 'c', N_("FILE"),
     N_("where to write the rekey card for the parent")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command rekey_cmd = {
    "rekey", N_("--card-out FILE [--json]"),
    N_("Replace this node's signing and sealing keys with new ones (files "
       "mode 0600),\nkeeping the old ones as sign.key.retired-KEYID and "
       "box.key.retired-KEYID."),
    N_("FILE gets a rekey card: the new card and a statement signed by the old "
       "key naming\nthe new key and the last sequence number signed by the old "
       "one.  Give it to the\nparent's administrator, who runs 'pingan peer "
       "rekey --card FILE': the parent\ncertifies the new key and revokes the "
       "old one after that number.  Until then the\nparent refuses this node's "
       "bundles.  Refused while the node is on restore hold."),
    rekey_options};

static const cli_option peer_rekey_options[] = {
    {"card", required_argument, 'c', N_("FILE"),
     N_("the rekey card the peer's 'pingan rekey' wrote")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command peer_rekey_cmd = {
    "peer rekey", N_("--card FILE [--json]"),
    N_("Accept a peer's new key: check the rekey card's statement against "
       "the key pinned\nfor the peer.  For a child: revoke the old key after "
       "the sequence number it\nnames, and pin and certify the new card.  For "
       "the parent or a partner: pin the\nnew card."),
    N_("Txns signed by the old key after that number are quarantined here and "
       "wherever\nthe revocation travels; the new certificate travels up the "
       "path with the next\nsync, so the grandparent verifies the child's new "
       "writes too."),
    peer_rekey_options};

static int rekey_handle(int val, const char *arg, void *payload)
{
    rekey_opts *o = payload;
    switch (val) {
    case 'c':
        return cli_set_once(&o->card, "--card", arg);
    case 'j':
        o->json = true;
        break;
    }
    return 0;
}

int cmd_rekey(int argc, char **argv)
{
    rekey_opts o = {0};
    char key_id[PG_KEY_ID_LEN + 1], old_id[PG_KEY_ID_LEN + 1];
    int64_t last = 0;
    pg_node *node = NULL;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &rekey_cmd, rekey_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&rekey_cmd, argv[optind]);
    if (!o.card)
        return cli_usage(&rekey_cmd, "rekey needs --card-out FILE");
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    memcpy(old_id, pg_node_card(node)->key_id, sizeof(old_id));
    error = pg_recovery_rekey(node, o.card, key_id, &last);
    pg_node_free(node);
    if (error < 0)
        return cli_fail(error);
    if (o.json) {
        cli_print_json(json_pack("{s:s, s:s, s:I, s:s}", "old_key_id", old_id,
                                 "key_id", key_id, "last_seq", (json_int_t)last,
                                 "card", o.card));
    } else {
        printf(_("new key %s (old key %s retired after seq %lld)\n"), key_id,
               old_id, (long long)last);
        printf(_("next: give %s to the parent's administrator for 'pingan peer "
                 "rekey --card FILE'\n"),
               o.card);
    }
    return 0;
}

int cmd_peer_rekey(int argc, char **argv)
{
    rekey_opts o = {0};
    pg_recovery_certified res;
    pg_node *node = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &peer_rekey_cmd, rekey_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&peer_rekey_cmd, argv[optind]);
    if (!o.card)
        return cli_usage(&peer_rekey_cmd, "peer rekey needs --card FILE");
    FILE *f = fopen(o.card, "rb");
    if (!f) {
        fprintf(stderr, _("pingan: cannot read %s: %s\n"), o.card,
                strerror(errno));
        return 2;
    }
    text = malloc(65536);
    if (text)
        len = fread(text, 1, 65536, f);
    fclose(f);
    if (!text)
        return cli_fail(
            pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory"));
    if ((error = cli_open_node(&node)) == 0)
        error = pg_recovery_certify(node, text, len, cli_operator(), &res);
    free(text);
    pg_node_free(node);
    if (error < 0)
        return cli_fail(error);
    if (o.json) {
        cli_print_json(json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:b}", "code", res.code, "old_key_id",
            res.old_key_id, "key_id", res.new_key_id, "revoked_after_seq",
            (json_int_t)res.last_seq, "quarantined",
            (json_int_t)res.quarantined, "revoked", (int)res.revoked));
    } else if (res.revoked) {
        printf(_("certified key %s of %s; key %s revoked after seq %lld (%llu "
                 "txns quarantined here)\n"),
               res.new_key_id, res.code, res.old_key_id,
               (long long)res.last_seq, (unsigned long long)res.quarantined);
    } else {
        printf(_("pinned key %s of %s in place of key %s (its parent revokes "
                 "the old key after seq %lld)\n"),
               res.new_key_id, res.code, res.old_key_id,
               (long long)res.last_seq);
    }
    return 0;
}

/* --- pingan release-hold ------------------------------------------------ */

typedef struct release_opts {
    const char *after;
    bool json;
} release_opts;

static const cli_option release_options[] = {
    {"after-seq", required_argument, 's', N_("N"),
     N_("the highest of this node's own seqs that any peer holds")},
    {"json", no_argument, 'j', NULL, N_("print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command release_cmd = {
    "release-hold", N_("--after-seq N [--json]"),
    N_("Release a restored node that has no parent (the city) from its write "
       "hold: its\nnext write takes seq N+1."),
    N_("A node with a parent is released by the parent's bundle instead "
       "('pingan sync\nPARENT').  Without a parent nobody can confirm how far "
       "this node had written\nbefore its disk died: ask each child and "
       "partner for the highest seq of this\nnode in its log ('pingan log "
       "--json', origin = this node's code) and give the\nlargest as N, so no "
       "peer ever sees a seq issued twice.  Recorded in the audit\ntrail."),
    release_options};

static int release_handle(int val, const char *arg, void *payload)
{
    release_opts *o = payload;
    if (val == 's')
        return cli_set_once(&o->after, "--after-seq", arg);
    if (val == 'j')
        o->json = true;
    return 0;
}

int cmd_release_hold(int argc, char **argv)
{
    release_opts o = {0};
    unsigned long long after;
    int64_t next = 0;
    pg_node *node = NULL;
    int rc, error;

    if ((rc = cli_parse(argc, argv, &release_cmd, release_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc)
        return cli_unexpected(&release_cmd, argv[optind]);
    if (!o.after)
        return cli_usage(&release_cmd, "release-hold needs --after-seq N");
    if ((rc = cli_parse_count(&after, "--after-seq", o.after, 0,
                              (unsigned long long)INT64_MAX - 1)) != 0)
        return rc;
    if ((error = cli_open_node(&node)) == 0)
        error =
            pg_recovery_release(node, (int64_t)after, cli_operator(), &next);
    pg_node_free(node);
    if (error < 0)
        return cli_fail(error);
    if (o.json)
        cli_print_json(
            json_pack("{s:b, s:I}", "held", 0, "next_seq", (json_int_t)next));
    else
        printf(_("released: the next write takes seq %lld\n"), (long long)next);
    return 0;
}
