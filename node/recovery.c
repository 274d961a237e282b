/*
 * Recovery (pingan/recovery.h): encrypted backups, restore with a write
 * hold, and the node's side of a key rotation.
 *
 * Backup file (normative text: proto/FORMAT.md §10):
 *
 *   header   "PGBK" ‖ u8 format (1) ‖ u8 suite (1) ‖ u8 kdf (1: Argon2id
 *            v1.3) ‖ u8 0 ‖ u32 passes ‖ u32 memory KiB ‖ salt[16] ‖
 *            secretstream header[24]                          (56 bytes)
 *   messages u32 length ‖ secretstream ciphertext, until the one tagged
 *            FINAL, and nothing after it
 *
 * key = Argon2id(passphrase, salt, passes, memory), 32 bytes.  Message
 * plaintexts: the first repeats the 56 header bytes (so no header byte
 * can be altered unnoticed); then per file 'F' ‖ str(name) ‖ u32 mode ‖
 * u64 size followed by 'D' ‖ bytes messages of at most 64 KiB; the last,
 * tagged FINAL, is 'E' ‖ u32 number of files.  A wrong passphrase fails
 * the first message; a changed, dropped, reordered or truncated message
 * fails the stream or the FINAL check.
 *
 * The store goes in as a copy made by SQLite's online backup API into a
 * private temporary file in the node directory, so the backup is a
 * consistent snapshot even while `pingan serve` writes.
 */
#include "pingan/recovery.h"
#include "error_internal.h"
#include "audit_internal.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/audit.h"
#include "pingan/buf.h"
#include "pingan/error.h"
#include "pingan/value.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BK_MAGIC      "PGBK"
#define BK_FORMAT     1
#define BK_KDF_ARGON  1
#define BK_HEADER_LEN 56
#define BK_CHUNK      (64 * 1024)
#define BK_MSG_MAX    (BK_CHUNK + 1 + PG_STREAM_ABYTES)
#define BK_FILES_MAX  256
#define BK_NAME_MAX   64
#define BK_PAGES_STEP 1024

/* --- small helpers --------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

/* "cannot write PATH: why" from a format naming the path and errno. */
__attribute__((format(printf, 1, 2))) static int os_error(const char *fmt, ...)
{
    int err = errno;
    pg_error__text what;
    va_list ap;

    va_start(ap, fmt);
    pg_error__vtextf(&what, fmt, ap);
    va_end(ap);
    return pg_error__wrap(PG_ERROR, PG_ERRCLASS_OS, &what, "%s: %s", what.en,
                          pg_error__oserr(err));
}

/* dir/name into a PATH_MAX-sized buffer; false when too long. */
static bool bk_join(char out[4096], const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + 1 + b >= 4096)
        return false;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return true;
}

static void fsync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Which files of a node directory a backup carries besides the store:
 * the card and every key file (sign.key, box.key, pseudonym keys, retired
 * keys).  Names are plain: no slash, no leading dot. */
static bool bk_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BK_NAME_MAX || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool bk_wanted(const char *name)
{
    size_t n = strlen(name);
    if (!bk_name_ok(name))
        return false;
    return strcmp(name, "card.json") == 0 ||
           (n > 4 && strcmp(name + n - 4, ".key") == 0) ||
           strstr(name, ".key.retired-") != NULL;
}

/* --- writing ----------------------------------------------------------- */

typedef struct bk_writer {
    FILE *f;
    const char *path;
    pg_stream_state st;
    uint8_t *msg; /* BK_MSG_MAX */
    uint64_t bytes;
    int error;
} bk_writer;

static void bk_push(bk_writer *w, const uint8_t *plain, size_t len, uint8_t tag)
{
    uint8_t len4[4];
    if (w->error)
        return;
    pg_stream_push(&w->st, w->msg, plain, len, tag);
    put_u32(len4, (uint32_t)(len + PG_STREAM_ABYTES));
    if (fwrite(len4, 1, 4, w->f) != 4 ||
        fwrite(w->msg, 1, len + PG_STREAM_ABYTES, w->f) !=
            len + PG_STREAM_ABYTES)
        w->error = os_error("cannot write %s", w->path);
    w->bytes += 4 + len + PG_STREAM_ABYTES;
}

/* One file: its 'F' message, then its bytes in 'D' messages. */
static void bk_file(bk_writer *w, const char *name, const char *path,
                    uint8_t *chunk, const pg_recovery_opts *o, uint64_t *done,
                    uint64_t total)
{
    struct stat st;
    int fd;

    if (w->error)
        return;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        w->error = os_error("cannot read %s", path);
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t nlen = strlen(name);
    uint8_t head[1 + 4 + BK_NAME_MAX + 4 + 8];
    head[0] = 'F';
    put_u32(head + 1, (uint32_t)nlen);
    memcpy(head + 5, name, nlen);
    put_u32(head + 5 + nlen, (uint32_t)(st.st_mode & 0777));
    put_u64(head + 9 + nlen, (uint64_t)st.st_size);
    bk_push(w, head, 17 + nlen, PG_STREAM_TAG_MESSAGE);
    uint64_t left = (uint64_t)st.st_size;
    while (!w->error && left > 0) {
        size_t want = left > BK_CHUNK ? BK_CHUNK : (size_t)left;
        ssize_t n = read(fd, chunk + 1, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            w->error = n < 0 ? os_error("cannot read %s", path)
                             : pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                                            "%s shrank while being read", path);
            break;
        }
        chunk[0] = 'D';
        bk_push(w, chunk, (size_t)n + 1, PG_STREAM_TAG_MESSAGE);
        left -= (uint64_t)n;
        *done += (uint64_t)n;
        if (o->progress)
            o->progress(total + *done, 2 * total, o->payload);
    }
    pg_memzero(chunk, BK_CHUNK + 1); /* key files pass through here */
    close(fd);
}

/* Copy the store with the online backup API into `copy`. */
static int bk_copy_store(pg_node *node, const char *copy,
                         const pg_recovery_opts *o)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b;
    int rc;

    rc = sqlite3_open_v2(copy, &dst, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        int e = pg_store__error(dst, rc, "opening the store copy");
        sqlite3_close(dst);
        return e;
    }
    if (!(b = sqlite3_backup_init(dst, "main", node->db, "main"))) {
        int e = pg_store__error(dst, sqlite3_errcode(dst), "copying the store");
        sqlite3_close(dst);
        return e;
    }
    /* Steps keep memory small and let progress show; a write by another
     * connection between steps makes SQLite start over, so the copy is
     * always one consistent snapshot. */
    int busy = 0;
    do {
        rc = sqlite3_backup_step(b, BK_PAGES_STEP);
        if (o->progress && rc == SQLITE_OK) {
            int total = sqlite3_backup_pagecount(b);
            int left = sqlite3_backup_remaining(b);
            o->progress((uint64_t)(total - left), 2 * (uint64_t)total,
                        o->payload);
        }
        /* The source's busy timeout has run out already: a few more tries,
         * then give up rather than wait for ever. */
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy <= 20)
            sqlite3_sleep(100);
        else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            break;
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    int error = rc == SQLITE_DONE ? 0
                                  : pg_store__error(dst, rc,
                                                    "copying the "
                                                    "store");
    if (sqlite3_close(dst) != SQLITE_OK && !error)
        error = pg_error_set(PG_ERROR, PG_ERRCLASS_STORE,
                             "cannot close the store copy");
    return error;
}

static int bk_count_log(pg_recovery_result *r, pg_node *node)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(node->db,
                                "SELECT count(*), coalesce((SELECT max("
                                "origin_seq) FROM log WHERE origin = ?), 0) "
                                "FROM log",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the log");
    sqlite3_bind_text(st, 1, node->card.code, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->log_entries = (uint64_t)sqlite3_column_int64(st, 0);
        r->last_seq = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : pg_store__error(node->db, rc, "reading");
}

static int bk_params(uint32_t *ops, uint32_t *mem, const pg_recovery_opts *o)
{
    *ops = o->kdf_ops ? o->kdf_ops : PG_PWHASH_OPS_DEFAULT;
    *mem = o->kdf_mem_kib ? o->kdf_mem_kib : PG_PWHASH_MEMKIB_DEFAULT;
    if (*ops > PG_PWHASH_OPS_MAX || *mem < 8 || *mem > PG_PWHASH_MEMKIB_MAX)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "key derivation parameters out of range (at most "
                            "%d passes and %d KiB)",
                            PG_PWHASH_OPS_MAX, PG_PWHASH_MEMKIB_MAX);
    return 0;
}

int pg_recovery_backup(pg_node *node, const char *path, const char *pass,
                       size_t passlen, const pg_recovery_opts *opts,
                       pg_recovery_result *out)
{
    static const pg_recovery_opts defaults = PG_RECOVERY_OPTIONS_INIT;
    const pg_recovery_opts *o = opts ? opts : &defaults;
    pg_recovery_result res;
    bk_writer w;
    char *tmp = NULL, *copy = NULL;
    uint8_t *chunk = NULL;
    uint8_t key[PG_STREAM_KEY_LEN];
    uint8_t header[BK_HEADER_LEN];
    char names[BK_FILES_MAX][BK_NAME_MAX + 1];
    size_t nnames = 0;
    uint32_t ops, mem;
    int fd = -1, error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(path);
    memset(&w, 0, sizeof(w));
    memset(&res, 0, sizeof(res));
    if (!pass || passlen == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the passphrase is empty; give one");
    if ((error = bk_params(&ops, &mem, o)) < 0)
        return error;
    size_t plen = strlen(path), dlen = strlen(node->dir);
    if (!(tmp = malloc(plen + 16)) || !(copy = malloc(dlen + 32)) ||
        !(chunk = malloc(BK_CHUNK + 1)) || !(w.msg = malloc(BK_MSG_MAX))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    snprintf(copy, dlen + 32, "%s/backup-copy-XXXXXX", node->dir);

    /* The snapshot first: the files that go with it are read after it. */
    int cfd = mkstemp(copy);
    if (cfd < 0) {
        error = os_error("cannot create a store copy in %s", node->dir);
        free(copy);
        copy = NULL;
        goto done;
    }
    close(cfd);
    if ((error = bk_copy_store(node, copy, o)) < 0 ||
        (error = bk_count_log(&res, node)) < 0)
        goto done;

    DIR *d = opendir(node->dir);
    if (!d) {
        error = os_error("cannot read %s", node->dir);
        goto done;
    }
    struct dirent *e;
    while ((e = readdir(d)) && nnames < BK_FILES_MAX)
        if (bk_wanted(e->d_name))
            memcpy(names[nnames++], e->d_name, strlen(e->d_name) + 1);
    closedir(d);

    /* Header and key. */
    uint8_t salt[PG_PWHASH_SALT_LEN];
    pg_random(salt, sizeof(salt));
    if ((error = pg_pwhash(key, sizeof(key), pass, passlen, salt, ops, mem)) <
        0)
        goto done;
    memcpy(header, BK_MAGIC, 4);
    header[4] = BK_FORMAT;
    header[5] = PG_SUITE_SODIUM;
    header[6] = BK_KDF_ARGON;
    header[7] = 0;
    put_u32(header + 8, ops);
    put_u32(header + 12, mem);
    memcpy(header + 16, salt, sizeof(salt));
    pg_stream_init_push(&w.st, header + 32, key);
    pg_memzero(key, sizeof(key));

    if ((fd = mkstemp(tmp)) < 0 || !(w.f = fdopen(fd, "wb"))) {
        error = os_error("cannot create a file beside %s", path);
        if (fd >= 0)
            close(fd);
        fd = -1;
        free(tmp);
        tmp = NULL;
        goto done;
    }
    fd = -1;
    w.path = tmp;
    if (fwrite(header, 1, sizeof(header), w.f) != sizeof(header)) {
        error = os_error("cannot write %s", tmp);
        goto done;
    }
    w.bytes = sizeof(header);
    bk_push(&w, header, sizeof(header), PG_STREAM_TAG_MESSAGE);

    struct stat sst;
    uint64_t total = 0, done_bytes = 0;
    if (stat(copy, &sst) == 0)
        total += (uint64_t)sst.st_size;
    res.store_bytes = total;
    char fpath[4096];
    for (size_t i = 0; i < nnames; i++) {
        if (!bk_join(fpath, node->dir, names[i])) {
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                                 "path too long: %s", node->dir);
            goto done;
        }
        if (stat(fpath, &sst) == 0)
            total += (uint64_t)sst.st_size;
    }
    for (size_t i = 0; i < nnames && !w.error; i++) {
        bk_join(fpath, node->dir, names[i]); /* checked above */
        bk_file(&w, names[i], fpath, chunk, o, &done_bytes, total);
    }
    bk_file(&w, PG_STORE_FILE, copy, chunk, o, &done_bytes, total);
    uint8_t end[5] = {'E'};
    put_u32(end + 1, (uint32_t)(nnames + 1));
    bk_push(&w, end, sizeof(end), PG_STREAM_TAG_FINAL);
    if ((error = w.error) < 0)
        goto done;
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
        error = os_error("cannot write %s", tmp);
        goto done;
    }
    if (fclose(w.f) != 0) {
        w.f = NULL;
        error = os_error("cannot write %s", tmp);
        goto done;
    }
    w.f = NULL;
    res.files = (unsigned)nnames + 1;
    res.bytes = w.bytes;
    /* The file appears with its audit entry, committed once it is in
     * place.  Should that commit fail, the file (a good backup, which has
     * replaced any earlier one at FILE) stays, and the error says so. */
    if ((error = pg_store__begin(node->db)) < 0)
        goto done;
    if ((error = pg_audit__record(
             node, "backup", node->card.code, "{s:I, s:I, s:I, s:I}", "bytes",
             (json_int_t)res.bytes, "files", (json_int_t)res.files,
             "log_entries", (json_int_t)res.log_entries, "last_seq",
             (json_int_t)res.last_seq)) < 0) {
        pg_store__rollback(node->db);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        error = os_error("cannot rename a file to %s", path);
        pg_store__rollback(node->db);
        goto done;
    }
    if ((error = pg_store__commit(node->db)) < 0) {
        pg_error__text why;
        pg_error_class klass = pg_error_last()->klass;
        pg_error__text_last(&why);
        pg_store__rollback(node->db);
        error = pg_error__wrap(error, klass, &why,
                               "the backup is written to %s, but its audit "
                               "entry could not be stored: %s",
                               path, why.en);
        goto done;
    }
    free(tmp);
    tmp = NULL;
    fsync_dir(path);
    memcpy(res.code, node->card.code, sizeof(res.code));
    snprintf(res.name, sizeof(res.name), "%s", node->card.name);
    memcpy(res.key_id, node->card.key_id, sizeof(res.key_id));
    if (out)
        *out = res;

done:
    if (w.f)
        fclose(w.f);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    if (copy) {
        unlink(copy);
        size_t n = strlen(copy);
        char *j = malloc(n + 16);
        if (j) {
            snprintf(j, n + 16, "%s-journal", copy);
            unlink(j);
            free(j);
        }
        free(copy);
    }
    pg_memzero(&w.st, sizeof(w.st));
    free(w.msg);
    free(chunk);
    return error;
}

/* --- restoring --------------------------------------------------------- */

static int bk_damaged(const char *path, const char *what)
{
    return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                        "%s is damaged or truncated (%s); use another copy "
                        "of the backup",
                        path, what);
}

/* Remove a flat temporary directory and what is in it. */
static void bk_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];
    if (d) {
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                if (bk_join(p, dir, e->d_name))
                    unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

/* Read the next message: 0, or an error naming the damage. */
static int bk_pull(uint8_t *plain, size_t *len, uint8_t *tag, FILE *in,
                   pg_stream_state *st, uint8_t *msg, const char *path)
{
    uint8_t len4[4];
    if (fread(len4, 1, 4, in) != 4)
        return bk_damaged(path, "it ends before its last part");
    uint32_t n = get_u32(len4);
    if (n < PG_STREAM_ABYTES + 1 || n > BK_MSG_MAX)
        return bk_damaged(path, "a part has an impossible length");
    if (fread(msg, 1, n, in) != n)
        return bk_damaged(path, "it ends inside a part");
    if (!pg_stream_pull(st, plain, tag, msg, n))
        return bk_damaged(path, "a part does not authenticate");
    *len = n - PG_STREAM_ABYTES;
    return 0;
}

static int bk_restore_files(FILE *in, const char *tmpdir, pg_stream_state *st,
                            const uint8_t header[BK_HEADER_LEN],
                            const char *path, const pg_recovery_opts *o,
                            pg_recovery_result *res)
{
    uint8_t *plain = malloc(BK_MSG_MAX), *msg = malloc(BK_MSG_MAX);
    size_t len = 0;
    uint8_t tag;
    int fd = -1, error;
    uint64_t left = 0, done_bytes = 0;
    unsigned files = 0;
    char fpath[4096], fname[BK_NAME_MAX + 1] = "";
    bool have_store = false;

    if (!plain || !msg) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    /* The first part repeats the header: a wrong key fails here. */
    uint8_t len4[4];
    uint32_t n;
    if (fread(len4, 1, 4, in) != 4 ||
        (n = get_u32(len4)) != BK_HEADER_LEN + PG_STREAM_ABYTES ||
        fread(msg, 1, n, in) != n) {
        error = bk_damaged(path, "it ends before its first part");
        goto done;
    }
    if (!pg_stream_pull(st, plain, &tag, msg, n) ||
        memcmp(plain, header, BK_HEADER_LEN) != 0) {
        error = pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                             "cannot decrypt %s: wrong passphrase, or the "
                             "file's header is damaged",
                             path);
        goto done;
    }
    for (;;) {
        if ((error = bk_pull(plain, &len, &tag, in, st, msg, path)) < 0)
            goto done;
        if (plain[0] == 'D' && fd >= 0 && len - 1 <= left) {
            size_t w = len - 1;
            const uint8_t *p = plain + 1;
            while (w > 0) {
                ssize_t k = write(fd, p, w);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0) {
                    error = os_error("cannot write %s", fpath);
                    goto done;
                }
                p += k;
                w -= (size_t)k;
            }
            left -= len - 1;
            done_bytes += len - 1;
            if (o->progress)
                o->progress(done_bytes, 0, o->payload);
            continue;
        }
        /* Anything else ends the file being written. */
        if (fd >= 0) {
            if (left != 0) {
                error = bk_damaged(path, "a file is shorter than it says");
                goto done;
            }
            if (fsync(fd) != 0 || close(fd) != 0) {
                fd = -1;
                error = os_error("cannot write %s", fpath);
                goto done;
            }
            fd = -1;
        }
        if (plain[0] == 'F' && len >= 17 && tag == PG_STREAM_TAG_MESSAGE) {
            uint32_t nl = get_u32(plain + 1);
            if (nl == 0 || nl > BK_NAME_MAX || len != 17 + nl) {
                error = bk_damaged(path, "a file name is malformed");
                goto done;
            }
            memcpy(fname, plain + 5, nl);
            fname[nl] = 0;
            uint32_t mode = get_u32(plain + 5 + nl) & 0644;
            left = get_u64(plain + 9 + nl);
            if (!bk_name_ok(fname) ||
                (strcmp(fname, PG_STORE_FILE) != 0 && !bk_wanted(fname)) ||
                ++files > BK_FILES_MAX) {
                error = bk_damaged(path, "it names an unexpected file");
                goto done;
            }
            if (strcmp(fname, PG_STORE_FILE) == 0) {
                have_store = true;
                res->store_bytes = left;
            }
            /* Keys stay private whatever the file says. */
            if (strcmp(fname, "card.json") != 0)
                mode = 0600;
            if (!bk_join(fpath, tmpdir, fname)) {
                error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                                     "path too long: %s", tmpdir);
                goto done;
            }
            fd = open(fpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      (mode_t)mode);
            if (fd < 0) {
                error = errno == EEXIST
                            ? bk_damaged(path, "it holds a file twice")
                            : os_error("cannot create %s", fpath);
                goto done;
            }
            continue;
        }
        if (plain[0] == 'E' && len == 5 && tag == PG_STREAM_TAG_FINAL) {
            if (get_u32(plain + 1) != files || !have_store) {
                error = bk_damaged(path, "files are missing");
                goto done;
            }
            break;
        }
        error = bk_damaged(path, "a part is out of place");
        goto done;
    }
    if (fgetc(in) != EOF) {
        error = bk_damaged(path, "bytes follow its last part");
        goto done;
    }
    res->files = files;
    error = 0;

done:
    if (fd >= 0)
        close(fd);
    if (plain)
        pg_memzero(plain, BK_MSG_MAX);
    free(plain);
    free(msg);
    return error;
}

/* Put a freshly restored node on hold at its highest own seq. */
static int bk_hold(pg_node *node, pg_recovery_result *res,
                   const char *operator_name)
{
    pg_audit_head head;
    int error;
    if ((error = bk_count_log(res, node)) < 0 ||
        (error = pg_audit_head_get(&head, node)) < 0)
        return error;
    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    int64_t last;
    if ((error = pg_store__meta_get_int(node->db, NULL, "last_seq", &last)) <
            0 ||
        (error = pg_store__meta_set_int(node->db, NULL, "restore_hold", 1)) <
            0 ||
        (error = pg_store__meta_set_int(
             node->db, NULL, "restore_upto",
             last > res->last_seq ? last : res->last_seq)) < 0 ||
        (error = pg_store__meta_set_int(node->db, NULL, "restore_confirmed",
                                        0)) < 0 ||
        (error = pg_store__meta_set_int(node->db, NULL, "restored_ms",
                                        pg_time_now_ms())) < 0 ||
        /* The chain goes on from the backup's head: entries written after
         * the backup was taken are lost with the disk, and a parent that
         * had seen them reports the fork (pingan audit verify). */
        (error = pg_audit__record_as(
             node, operator_name ? operator_name : "unknown", "restore",
             node->card.code, "{s:I, s:I, s:I}", "log_entries",
             (json_int_t)res->log_entries, "last_seq",
             (json_int_t)(last > res->last_seq ? last : res->last_seq),
             "audit_seq", (json_int_t)head.seq)) < 0 ||
        (error = pg_store__commit(node->db)) < 0) {
        pg_store__rollback(node->db);
        return error;
    }
    if (last > res->last_seq)
        res->last_seq = last;
    return 0;
}

static int restore(const char *path, const char *dir, const char *pass,
                   size_t passlen, const pg_recovery_opts *opts,
                   pg_recovery_result *out);

int pg_recovery_restore(const char *path, const char *dir, const char *pass,
                        size_t passlen, const pg_recovery_opts *opts,
                        pg_recovery_result *out)
{
    char clean[4096];
    size_t n;

    PG_ASSERT_ARG(path);
    PG_ASSERT_ARG(dir);
    /* "DIR/" names DIR: the temporary directory goes beside it. */
    n = strlen(dir);
    if (n == 0 || n >= sizeof(clean))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "give a directory to restore into");
    memcpy(clean, dir, n + 1);
    while (n > 1 && clean[n - 1] == '/')
        clean[--n] = 0;
    return restore(path, clean, pass, passlen, opts, out);
}

static int restore(const char *path, const char *dir, const char *pass,
                   size_t passlen, const pg_recovery_opts *opts,
                   pg_recovery_result *out)
{
    static const pg_recovery_opts defaults = PG_RECOVERY_OPTIONS_INIT;
    const pg_recovery_opts *o = opts ? opts : &defaults;
    pg_recovery_result res;
    pg_stream_state st;
    uint8_t header[BK_HEADER_LEN], key[PG_STREAM_KEY_LEN];
    char tmpdir[4096];
    bool made = false;
    pg_node *node = NULL;
    FILE *in = NULL;
    struct stat sb;
    int error;

    PG_ASSERT_ARG(path);
    PG_ASSERT_ARG(dir);
    memset(&res, 0, sizeof(res));
    if (!pass || passlen == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "the passphrase is empty; give the one the "
                            "backup was made with");
    if ((error = pg_crypto_init()) < 0)
        return error;
    if (!bk_join(tmpdir, dir, PG_STORE_FILE))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE, "path too long: %s",
                            dir);
    if (stat(tmpdir, &sb) == 0)
        return pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                            "%s already holds a pingan node; restore into a "
                            "new directory (a restore never overwrites a "
                            "node)",
                            dir);
    if (stat(dir, &sb) == 0) {
        DIR *d = opendir(dir);
        struct dirent *e;
        bool empty = d != NULL;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = false;
        if (d)
            closedir(d);
        if (!S_ISDIR(sb.st_mode) || !empty)
            return pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                                "%s exists and is not an empty directory; "
                                "restore into a new directory",
                                dir);
    }
    if (!(in = fopen(path, "rb")))
        return pg_error_set(errno == ENOENT ? PG_ENOTFOUND : PG_ERROR,
                            PG_ERRCLASS_OS, "cannot open %s: %s", path,
                            pg_error__oserr(errno));
    if (fread(header, 1, sizeof(header), in) != sizeof(header) ||
        memcmp(header, BK_MAGIC, 4) != 0) {
        fclose(in);
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "%s is not a pingan backup (no PGBK header)", path);
    }
    if (header[4] != BK_FORMAT || header[5] != PG_SUITE_SODIUM ||
        header[6] != BK_KDF_ARGON || header[7] != 0) {
        fclose(in);
        return pg_error_set(header[4] > BK_FORMAT ? PG_EUPGRADE : PG_ECORRUPT,
                            PG_ERRCLASS_NODE,
                            "%s is a backup of format %u, suite %u, kdf %u; "
                            "this build reads format %d, suite %d, kdf %d",
                            path, header[4], header[5], header[6], BK_FORMAT,
                            PG_SUITE_SODIUM, BK_KDF_ARGON);
    }
    uint32_t ops = get_u32(header + 8), mem = get_u32(header + 12);
    if (ops < 1 || ops > PG_PWHASH_OPS_MAX || mem < 8 ||
        mem > PG_PWHASH_MEMKIB_MAX) {
        fclose(in);
        return bk_damaged(path, "its key derivation parameters are out of "
                                "range");
    }
    if ((error = pg_pwhash(key, sizeof(key), pass, passlen, header + 16, ops,
                           mem)) < 0) {
        fclose(in);
        return error;
    }
    bool ok = pg_stream_init_pull(&st, header + 32, key);
    pg_memzero(key, sizeof(key));
    if (!ok) {
        fclose(in);
        return bk_damaged(path, "its stream header is unusable");
    }

    /* Everything goes into a private directory beside dir first. */
    int n = snprintf(tmpdir, sizeof(tmpdir), "%s.restore-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof(tmpdir)) {
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE, "path too long");
        goto done;
    }
    if (!mkdtemp(tmpdir)) {
        error = os_error("cannot create a directory beside %s", dir);
        goto done;
    }
    made = true;
    if ((error = bk_restore_files(in, tmpdir, &st, header, path, o, &res)) < 0)
        goto done;
    if ((error = pg_node_open(&node, tmpdir)) < 0)
        goto done;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(node->db, "PRAGMA quick_check", -1, &q, NULL);
    const unsigned char *verdict = NULL;
    if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        verdict = sqlite3_column_text(q, 0);
    bool good = verdict && strcmp((const char *)verdict, "ok") == 0;
    sqlite3_finalize(q);
    if (!good) {
        error = bk_damaged(path, "the store in it fails SQLite's check");
        goto done;
    }
    if ((error = bk_hold(node, &res, o->operator_name)) < 0)
        goto done;
    memcpy(res.code, node->card.code, sizeof(res.code));
    snprintf(res.name, sizeof(res.name), "%s", node->card.name);
    memcpy(res.key_id, node->card.key_id, sizeof(res.key_id));
    pg_node_free(node);
    node = NULL;
    /* The restored files' names are durable before the directory takes
     * its place; rename() replaces an empty directory, and only an empty
     * one. */
    char inside[sizeof(tmpdir) + 2];
    snprintf(inside, sizeof(inside), "%s/.", tmpdir);
    fsync_dir(inside);
    if (rename(tmpdir, dir) != 0) {
        error = os_error("cannot rename the restored node to %s", dir);
        goto done;
    }
    made = false;
    fsync_dir(dir);
    struct stat fst;
    if (fstat(fileno(in), &fst) == 0)
        res.bytes = (uint64_t)fst.st_size;
    if (out)
        *out = res;

done:
    pg_node_free(node);
    pg_memzero(&st, sizeof(st));
    fclose(in);
    if (made)
        bk_remove_dir(tmpdir);
    return error;
}

/* --- the hold ---------------------------------------------------------- */

int pg_recovery_hold_get(pg_recovery_hold *out, pg_node *node)
{
    int64_t held, upto, confirmed, when;
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(node);
    memset(out, 0, sizeof(*out));
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "restore_hold",
                                        &held)) < 0 ||
        (error = pg_store__meta_get_int(node->db, &node->stmts, "restore_upto",
                                        &upto)) < 0 ||
        (error = pg_store__meta_get_int(node->db, &node->stmts,
                                        "restore_confirmed", &confirmed)) < 0 ||
        (error = pg_store__meta_get_int(node->db, &node->stmts, "restored_ms",
                                        &when)) < 0)
        return error;
    out->held = held == 1;
    out->held_upto = upto;
    out->confirmed = confirmed - 1; /* stored plus one: 0 is "none yet" */
    out->restored_ms = when;
    return 0;
}

/* How many parents are pinned (0 or 1). */
static int rel_parents(pg_node *node, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        node->db, "SELECT count(*) FROM peer WHERE role = 'parent'", -1, &st,
        NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0
                            : pg_store__error(node->db, rc, "reading peers");
}

int pg_recovery_release(pg_node *node, int64_t after_seq,
                        const char *operator_name, int64_t *next_seq)
{
    pg_recovery_hold hold;
    int64_t last = 0, parents = 0;
    int error;

    PG_ASSERT_ARG(node);
    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    if ((error = pg_recovery_hold_get(&hold, node)) < 0 ||
        (error = pg_store__meta_get_int(node->db, &node->stmts, "last_seq",
                                        &last)) < 0 ||
        (error = rel_parents(node, &parents)) < 0)
        goto fail;
    if (!hold.held) {
        error = pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                             "this node is not on hold: it writes already");
        goto fail;
    }
    if (parents > 0) {
        error = pg_error_set(PG_EPOLICY, PG_ERRCLASS_NODE,
                             "this node has a parent, which confirms its "
                             "sequence numbers: run 'pingan sync PARENT', "
                             "or export a bundle to the parent and import "
                             "the parent's bundle back");
        goto fail;
    }
    if (after_seq < hold.held_upto || after_seq < last) {
        error = pg_error_set(
            PG_EINVALID, PG_ERRCLASS_NODE,
            "--after-seq %lld is below this node's own "
            "seq %lld: name the highest seq of this node "
            "that any peer holds (at least %lld)",
            (long long)after_seq,
            (long long)(last > hold.held_upto ? last : hold.held_upto),
            (long long)(last > hold.held_upto ? last : hold.held_upto));
        goto fail;
    }
    if ((error = pg_store__meta_set_int(node->db, &node->stmts, "last_seq",
                                        after_seq)) < 0 ||
        (error = pg_store__meta_set_int(node->db, &node->stmts, "restore_hold",
                                        0)) < 0 ||
        (error = pg_store__meta_set_int(node->db, &node->stmts, "restore_upto",
                                        after_seq)) < 0 ||
        (error = pg_audit__record_as(node, operator_name, "hold.release",
                                     node->card.code, "{s:I, s:I}", "after_seq",
                                     (json_int_t)after_seq, "held_upto",
                                     (json_int_t)hold.held_upto)) < 0 ||
        (error = pg_store__commit(node->db)) < 0)
        goto fail;
    if (next_seq)
        *next_seq = after_seq + 1;
    return 0;
fail:
    pg_store__rollback(node->db);
    return error;
}

int pg_node__hold_check(pg_node *node)
{
    int64_t held, upto;
    int error;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "restore_hold",
                                        &held)) < 0)
        return error;
    if (held != 1)
        return 0;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "restore_upto",
                                        &upto)) < 0)
        return error;
    return pg_error_set(PG_ECONFLICT, PG_ERRCLASS_NODE,
                        "this node was restored from a backup and refuses "
                        "local writes until its parent confirms its last "
                        "sequence number (held here: %lld); run 'pingan sync "
                        "PARENT', or export a bundle to the parent and "
                        "import the parent's bundle back",
                        (long long)upto);
}

int pg_node__hold_confirm(pg_node *node, uint64_t parent_holds,
                          int64_t created_ms, bool *lifted)
{
    sqlite3_stmt *st = NULL;
    int64_t held, last, have = 0, count = 0;
    int rc, error;

    *lifted = false;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "restore_hold",
                                        &held)) < 0)
        return error;
    if (held != 1)
        return 0;
    /* A bundle made before the restore (an old one from a stick, or
     * replayed) cannot confirm what this node wrote after its backup. */
    int64_t restored;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "restored_ms",
                                        &restored)) < 0)
        return error;
    if (created_ms <= restored)
        return 0;
    if ((error =
             pg_store__meta_set_int(node->db, &node->stmts, "restore_confirmed",
                                    (int64_t)parent_holds + 1)) < 0)
        return error;
    /* Every own seq up to the parent's highest must be here again. */
    rc = sqlite3_prepare_v2(node->db,
                            "SELECT coalesce(max(origin_seq), 0), count("
                            "DISTINCT origin_seq) FROM log WHERE origin = ? "
                            "AND origin_seq <= ?",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the log");
    sqlite3_bind_text(st, 1, node->card.code, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)parent_holds);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        have = sqlite3_column_int64(st, 0);
        count = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return pg_store__error(node->db, rc, "reading the log");
    if (have != (int64_t)parent_holds || count != (int64_t)parent_holds) {
        /* Still missing some: remember how far this node got. */
        return pg_store__meta_set_int(node->db, &node->stmts, "restore_upto",
                                      have);
    }
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "last_seq",
                                        &last)) < 0)
        return error;
    if ((int64_t)parent_holds > last &&
        (error = pg_store__meta_set_int(node->db, &node->stmts, "last_seq",
                                        (int64_t)parent_holds)) < 0)
        return error;
    if ((error = pg_store__meta_set_int(node->db, &node->stmts, "restore_hold",
                                        0)) < 0 ||
        (error = pg_store__meta_set_int(
             node->db, &node->stmts, "restore_upto",
             (int64_t)parent_holds > last ? (int64_t)parent_holds : last)) < 0)
        return error;
    *lifted = true;
    return 0;
}

int pg_node__hold_upto(pg_node *node, int64_t *upto)
{
    int64_t held;
    int error;
    *upto = -1;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "restore_hold",
                                        &held)) < 0)
        return error;
    if (held != 1)
        return 0;
    /* The contiguous end of the own seqs in the log now (a partial
     * return moves it on; a hole is asked for again). */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        node->db,
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM log WHERE origin = ?1 AND "
        "origin_seq = 1) THEN (SELECT min(l.origin_seq) FROM log l WHERE "
        "l.origin = ?1 AND NOT EXISTS (SELECT 1 FROM log m WHERE m.origin = "
        "?1 AND m.origin_seq = l.origin_seq + 1)) ELSE 0 END",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return pg_store__error(node->db, rc, "reading the log");
    sqlite3_bind_text(st, 1, node->card.code, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *upto = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : pg_store__error(node->db, rc, "reading");
}

/* --- rekey --------------------------------------------------------------- */

/* The statement the old key signs (FORMAT.md §10.4). */
static int rekey_statement(pg_buf *b, const char *code, const char *old_id,
                           const pg_card *card, int64_t last_seq)
{
    const char *parts[] = {"pingan.rekey.v1", code, old_id, card->key_id};
    int error = 0;
    for (size_t i = 0; !error && i < 4; i++)
        if ((error = pg_buf_put_u32be(b, (uint32_t)strlen(parts[i]))) == 0)
            error = pg_buf_puts(b, parts[i]);
    if (!error)
        error = pg_buf_put(b, card->sign_pk, PG_SIGN_PK_LEN);
    if (!error)
        error = pg_buf_put(b, card->box_pk, PG_BOX_PK_LEN);
    if (!error)
        error = pg_buf_put_u64be(b, (uint64_t)last_seq);
    return error;
}

static int rk_write(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return pg_error_set(errno == EEXIST ? PG_EEXISTS : PG_ERROR,
                            PG_ERRCLASS_OS, "cannot create %s: %s", path,
                            pg_error__oserr(errno));
    ssize_t w = write(fd, data, len);
    int bad = w != (ssize_t)len || fsync(fd) != 0;
    if (close(fd) != 0 || bad) {
        unlink(path);
        return os_error("cannot write %s", path);
    }
    return 0;
}

/* The old card stays known for what the old key signed up to last (the
 * node's own txns coming back after a restore). */
static int rekey_remember(pg_node *node, int64_t last, const char *new_key)
{
    char *json = pg_card_to_json(&node->card);
    sqlite3_stmt *st = NULL;
    int rc, error;

    if (!json)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    if ((error = pg_store__begin(node->db)) < 0) {
        free(json);
        return error;
    }
    rc = sqlite3_prepare_v2(node->db,
                            "INSERT OR REPLACE INTO peer_retired(key_id, "
                            "code, card, last_seq) VALUES(?, ?, ?, ?)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, node->card.key_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, node->card.code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, last);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    free(json);
    if (rc != SQLITE_DONE)
        error = pg_store__error(node->db, rc, "keeping the old card");
    if (error == 0 &&
        (error = pg_store__meta_set_int(node->db, &node->stmts,
                                        "rekey_last_seq", last)) == 0)
        error = pg_store__meta_set(node->db, &node->stmts, "rekey_old_key",
                                   node->card.key_id);
    if (error == 0)
        error =
            pg_audit__record(node, "rekey", node->card.code, "{s:s, s:s, s:I}",
                             "old_key", node->card.key_id, "new_key", new_key,
                             "last_seq", (json_int_t)last);
    if (error == 0)
        return pg_store__commit(node->db);
    pg_store__rollback(node->db);
    return error;
}

int pg_recovery_rekey(pg_node *node, const char *card_out,
                      char new_key_id[PG_KEY_ID_LEN + 1], int64_t *last_seq)
{
    uint8_t *sk = NULL;
    uint8_t box_sk[PG_BOX_SK_LEN], sig[PG_SIG_LEN];
    char p_new[3][4096], p_cur[3][4096], p_old[2][4096];
    char hex[2 * PG_SIG_LEN + 1];
    char *card_text = NULL, *out_text = NULL;
    json_t *o = NULL;
    pg_buf st = PG_BUF_INIT;
    pg_card card;
    int64_t last;
    int error, made = 0;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(card_out);
    if ((error = pg_node__hold_check(node)) < 0)
        return error;
    if ((error = pg_store__meta_get_int(node->db, &node->stmts, "last_seq",
                                        &last)) < 0)
        return error;
    static const char *const files[3] = {"sign.key", "box.key", "card.json"};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s.new", files[i]);
        if (!bk_join(p_new[i], node->dir, name) ||
            !bk_join(p_cur[i], node->dir, files[i]))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                                "path too long: %s", node->dir);
        if (i < 2) {
            snprintf(name, sizeof(name), "%s.retired-%s", files[i],
                     node->card.key_id);
            if (!bk_join(p_old[i], node->dir, name))
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                                    "path too long: %s", node->dir);
        }
    }
    if (!(sk = malloc(PG_SIGN_SK_LEN)))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    card = node->card;
    card.created_ms = pg_time_now_ms();
    pg_sign_keypair(card.sign_pk, sk);
    pg_box_keypair(card.box_pk, box_sk);
    pg_key_id(card.key_id, card.sign_pk);
    pg_card_sign(&card, sk);
    if ((error = rekey_statement(&st, node->card.code, node->card.key_id, &card,
                                 last)) < 0)
        goto done;
    pg_sign(sig, st.data, st.len, node->sign_sk);
    pg_hex(hex, sig, sizeof(sig));
    if (!(card_text = pg_card_to_json(&card)) ||
        !(o = json_pack("{s:i, s:o, s:s, s:I, s:s}", "rekey", 1, "card",
                        json_loads(card_text, 0, NULL), "old_key_id",
                        node->card.key_id, "last_seq", (json_int_t)last,
                        "signature", hex)) ||
        !(out_text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    /* The card for the parent first: nothing changes if it cannot be
     * written. */
    size_t olen = strlen(out_text);
    out_text[olen] = '\n';
    if ((error = rk_write(card_out, out_text, olen + 1, 0644)) < 0) {
        out_text[olen] = 0;
        goto done;
    }
    out_text[olen] = 0;
    made = 1;
    if ((error = rk_write(p_new[0], sk, PG_SIGN_SK_LEN, 0600)) < 0 ||
        (error = rk_write(p_new[1], box_sk, PG_BOX_SK_LEN, 0600)) < 0 ||
        (error = rk_write(p_new[2], card_text, strlen(card_text), 0644)) < 0)
        goto done;
    /* Keep the old keys, then swap in the new ones. */
    if (link(p_cur[0], p_old[0]) != 0 || link(p_cur[1], p_old[1]) != 0) {
        error = os_error("cannot keep the old key as %s", p_old[0]);
        unlink(p_old[0]);
        goto done;
    }
    made = 2;
    for (int i = 0; i < 3; i++)
        if (rename(p_new[i], p_cur[i]) != 0) {
            error = os_error("cannot replace %s", p_cur[i]);
            /* Some files may be swapped already: keep every file, the old
             * keys included (sign.key.retired-ID), for the administrator. */
            if (i > 0)
                made = 3;
            goto done;
        }
    made = 3;
    fsync_dir(p_cur[0]);
    if ((error = rekey_remember(node, last, card.key_id)) < 0)
        goto done;
    memcpy(new_key_id, card.key_id, PG_KEY_ID_LEN + 1);
    *last_seq = last;

done:
    if (error < 0 && made > 0 && made < 3) {
        unlink(card_out);
        for (int i = 0; i < 3; i++)
            unlink(p_new[i]);
        if (made == 2) {
            unlink(p_old[0]);
            unlink(p_old[1]);
        }
    }
    if (sk)
        pg_memzero(sk, PG_SIGN_SK_LEN);
    pg_memzero(box_sk, sizeof(box_sk));
    free(sk);
    free(card_text);
    free(out_text);
    json_decref(o);
    pg_buf_dispose(&st);
    return error;
}

/* A key id as pg_key_id writes it: lowercase hex.  Anything else in a
 * rekey card would reach error messages raw. */
static bool rk_key_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == PG_KEY_ID_LEN;
}

int pg_recovery_card_parse(pg_rekey_card *out, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *o = json_loadb(json, len, 0, &jerr), *card;
    const char *old_id = NULL, *sig = NULL;
    json_int_t version = 0, last = -1;
    char *card_text = NULL;
    int error;

    memset(out, 0, sizeof(*out));
    if (!o ||
        json_unpack(o, "{s:I, s:o, s:s, s:I, s:s}", "rekey", &version, "card",
                    &card, "old_key_id", &old_id, "last_seq", &last,
                    "signature", &sig) != 0 ||
        version != 1 || last < 0 || !rk_key_id_ok(old_id) ||
        pg_unhex(out->signature, PG_SIG_LEN, sig) < 0) {
        json_decref(o);
        pg_error_clear();
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "not a rekey card (made by 'pingan rekey')");
    }
    memcpy(out->old_key_id, old_id, PG_KEY_ID_LEN + 1);
    out->last_seq = last;
    if (!(card_text = json_dumps(card, 0)))
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    else
        error = pg_card_from_json(&out->card, card_text, strlen(card_text));
    free(card_text);
    json_decref(o);
    return error;
}

int pg_recovery_card_verify(const pg_rekey_card *rc,
                            const uint8_t old_pk[PG_SIGN_PK_LEN])
{
    pg_buf st = PG_BUF_INIT;
    int error = rekey_statement(&st, rc->card.code, rc->old_key_id, &rc->card,
                                rc->last_seq);
    if (error == 0 && !pg_verify(rc->signature, st.data, st.len, old_pk))
        error = pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                             "the rekey card's statement is not signed by "
                             "the key pinned for %s (%s)",
                             rc->card.code, rc->old_key_id);
    pg_buf_dispose(&st);
    return error;
}
