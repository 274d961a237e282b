/*
 * Node directories: creation (keys, card, store) and opening.
 *
 * Secret keys are written with O_EXCL and mode 0600 and fsync'd before the
 * store is created, so a crash during init leaves either nothing usable or
 * a whole node; init refuses any directory that already holds a node.
 * Secret keys live in sodium-wiped memory and are never logged.
 */
#include "error_internal.h"
#include "node_internal.h"
#include "memwatch.h"
#include "audit_internal.h"
#include "remap_internal.h"
#include "write_internal.h"
#include "store.h"
#include "i18n_internal.h"
#include "pingan/error.h"
#include "pingan/schema.h"
#include "pingan/value.h"

#include <dirent.h>
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGN_KEY_FILE "sign.key"
#define BOX_KEY_FILE  "box.key"
#define CARD_FILE     "card.json"

static int path_join(char *out, size_t outlen, const char *dir,
                     const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outlen)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE, "path too long: %s",
                            dir);
    return 0;
}

static int write_file(const char *path, const void *data, size_t len,
                      mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return pg_error_set(errno == EEXIST ? PG_EEXISTS : PG_ERROR,
                            PG_ERRCLASS_OS, "cannot create %s: %s", path,
                            pg_error__oserr(errno));
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                                path, pg_error__oserr(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS, "cannot write %s: %s",
                            path, pg_error__oserr(errno));
    return 0;
}

/* Read a key file of exactly len bytes; checks it is private. */
static int read_key(uint8_t *out, size_t len, const char *path)
{
    struct stat st;
    uint8_t extra;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pg_error_set(errno == ENOENT ? PG_ECORRUPT : PG_ERROR,
                            PG_ERRCLASS_NODE,
                            "cannot read key file %s: %s; restore the node "
                            "directory from a backup",
                            path, pg_error__oserr(errno));
    if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
        close(fd);
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                            "key file %s is readable by others; run "
                            "'chmod 600 %s'",
                            path, path);
    }
    ssize_t n = read(fd, out, len);
    ssize_t more = read(fd, &extra, 1);
    close(fd);
    if (n != (ssize_t)len || more != 0)
        return pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                            "key file %s is damaged (expected %zu bytes); "
                            "restore it from a backup",
                            path, len);
    return 0;
}

static bool dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool empty = true;

    if (!d)
        return true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = false;
            break;
        }
    closedir(d);
    return empty;
}

static int node_init(const char *dir, const char *code, const char *name,
                     const char *operator_name, unsigned version);

int pg_node_init(const char *dir, const char *code, const char *name)
{
    return pg_node_init_as(dir, code, name, "unknown");
}

int pg_node_init_as(const char *dir, const char *code, const char *name,
                    const char *operator_name)
{
    return pg_node_init_version(dir, code, name, operator_name, 0);
}

int pg_node_init_version(const char *dir, const char *code, const char *name,
                         const char *operator_name, unsigned schema_version)
{
    if (schema_version == 0)
        schema_version = PG_SCHEMA_VERSION;
    if (!pg_schema_get(schema_version))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "schema version %u is not known to this "
                            "build (it knows 1 to %d)",
                            schema_version, PG_SCHEMA_VERSION);
    int error = pg_write__check_operator(operator_name);
    if (error < 0)
        return error;
    /* The store holds personal and sensitive information (PIPL): every
     * file init creates, and SQLite's -wal and -shm files after it, are
     * private to the node's account, whatever the caller's umask. */
    mode_t old = umask(077);
    error = node_init(dir, code, name, operator_name, schema_version);
    umask(old);
    return error;
}

int pg_node_set_operator(pg_node *node, const char *operator_name)
{
    PG_ASSERT_ARG(node);
    node->operator_bad = false;
    if (!operator_name) {
        node->operator_name[0] = 0;
        return 0;
    }
    int error = pg_write__check_operator(operator_name);
    if (error < 0) {
        /* Reading still works; recording an action under no one's name
         * does not. */
        node->operator_bad = true;
        return error;
    }
    snprintf(node->operator_name, sizeof(node->operator_name), "%s",
             operator_name);
    return 0;
}

/* The first audit entry: who made the node, with which key. */
static int init_audit(sqlite3 *db, const pg_card *card,
                      const char *operator_name, unsigned version)
{
    json_t *j =
        json_pack("{s:s, s:s, s:i}", "tier", pg_tier_name(card->tier), "key_id",
                  card->key_id, "schema_version", (int)version);
    char *text = NULL;
    int error;

    if (!j || !(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
        json_decref(j);
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    }
    json_decref(j);
    error = pg_audit__append_db(db, operator_name, "init", card->code, text);
    free(text);
    return error;
}

static int node_init(const char *dir, const char *code, const char *name,
                     const char *operator_name, unsigned version)
{
    char path[4096];
    uint8_t *sk = NULL;
    uint8_t box_sk[PG_BOX_SK_LEN];
    pg_card card;
    sqlite3 *db = NULL;
    char *json = NULL;
    struct stat st;
    int error;

    if (!pg_division_valid(code))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "'%s' is not a 12-digit division code", code);
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen >= sizeof(card.name) || !pg_label_valid(name, nlen))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "node name must be 1 to %zu bytes of UTF-8 on "
                            "one line, without control characters",
                            sizeof(card.name) - 1);
    if ((error = pg_crypto_init()) < 0)
        return error;

    if ((error = path_join(path, sizeof(path), dir, PG_STORE_FILE)) < 0)
        return error;
    if (stat(path, &st) == 0)
        return pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                            "%s already holds a pingan node; choose another "
                            "--dir",
                            dir);
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                                "%s exists and is not a directory", dir);
        if (!dir_is_empty(dir))
            return pg_error_set(PG_EEXISTS, PG_ERRCLASS_NODE,
                                "%s is not empty; init needs a new or empty "
                                "directory",
                                dir);
    } else if (mkdir(dir, 0700) < 0) {
        return pg_error_set(PG_ERROR, PG_ERRCLASS_OS,
                            "cannot create directory %s: %s", dir,
                            pg_error__oserr(errno));
    }

    sk = malloc(PG_SIGN_SK_LEN);
    if (!sk)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    memset(&card, 0, sizeof(card));
    card.suite = PG_SUITE_SODIUM;
    memcpy(card.code, code, PG_CODE_LEN + 1);
    memcpy(card.name, name, nlen + 1);
    card.tier = pg_division_tier(code);
    card.created_ms = pg_time_now_ms();
    pg_sign_keypair(card.sign_pk, sk);
    pg_box_keypair(card.box_pk, box_sk);
    pg_key_id(card.key_id, card.sign_pk);
    pg_card_sign(&card, sk);

    if ((error = path_join(path, sizeof(path), dir, SIGN_KEY_FILE)) < 0 ||
        (error = write_file(path, sk, PG_SIGN_SK_LEN, 0600)) < 0)
        goto done;
    if ((error = path_join(path, sizeof(path), dir, BOX_KEY_FILE)) < 0 ||
        (error = write_file(path, box_sk, PG_BOX_SK_LEN, 0600)) < 0)
        goto done;

    json = pg_card_to_json(&card);
    if (!json) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    if ((error = path_join(path, sizeof(path), dir, CARD_FILE)) < 0 ||
        (error = write_file(path, json, strlen(json), 0600)) < 0 ||
        chmod(path, 0644) < 0) /* the card is public */
        goto done;

    if ((error = path_join(path, sizeof(path), dir, PG_STORE_FILE)) < 0 ||
        (error = pg_store__open(&db, path, true)) < 0)
        goto done;
    if ((error = pg_store__begin(db)) < 0 ||
        (error = pg_store__create_tables(db, pg_schema_get(version))) < 0 ||
        (error = pg_store__meta_set(db, NULL, "code", code)) < 0 ||
        (error = pg_store__meta_set(db, NULL, "name", name)) < 0 ||
        (error = pg_store__meta_set_int(db, NULL, "schema_version", version)) <
            0 ||
        (error = pg_store__meta_set_int(db, NULL, "hlc", 0)) < 0 ||
        (error = pg_store__meta_set_int(db, NULL, "last_seq", 0)) < 0 ||
        (error = pg_store__meta_set_int(db, NULL, "created_ms",
                                        card.created_ms)) < 0 ||
        (error = init_audit(db, &card, operator_name, version)) < 0 ||
        (error = pg_store__commit(db)) < 0)
        goto done;

done:
    if (error < 0)
        pg_store__rollback(db);
    sqlite3_close(db);
    pg_memzero(sk, PG_SIGN_SK_LEN);
    pg_memzero(box_sk, sizeof(box_sk));
    free(sk);
    free(json);
    return error;
}

static int read_text_file(char **out, size_t *len, const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    pg_buf buf;
    char chunk[4096];
    size_t n;
    int error = 0;

    *out = NULL;
    if (!f)
        return pg_error_set(errno == ENOENT ? PG_ENOTFOUND : PG_ERROR,
                            PG_ERRCLASS_OS, "cannot read %s: %s", path,
                            pg_error__oserr(errno));
    pg_buf_init(&buf, max);
    while (!error && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        error = pg_buf_put(&buf, chunk, n);
    fclose(f);
    if (error < 0) {
        pg_buf_dispose(&buf);
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_NODE,
                            "%s is larger than %zu bytes", path, max);
    }
    if (!buf.data && (error = pg_buf_putc(&buf, 0)) == 0)
        buf.len = 0;
    *out = (char *)pg_buf_detach(&buf, len);
    return error;
}

static unsigned node_data_version(sqlite3 *db)
{
    int v = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_DATA_VERSION, &v) !=
        SQLITE_OK)
        return 0;
    return (unsigned)v;
}

int pg_node_open(pg_node **out, const char *dir)
{
    pg_node *node = NULL;
    char path[4096];
    char *json = NULL;
    size_t jlen = 0;
    struct stat st;
    int error;

    /* jansson's allocator is swapped for the watched one here, on the
     * thread that opens the node, before a server's threads use jansson
     * (the swap is process-wide). */
    pg_memwatch__begin();
    *out = NULL;
    if ((error = pg_crypto_init()) < 0)
        return error;
    if ((error = path_join(path, sizeof(path), dir, PG_STORE_FILE)) < 0)
        return error;
    if (stat(path, &st) < 0)
        return pg_error_set(PG_ENOTFOUND, PG_ERRCLASS_NODE,
                            "no pingan node in %s; create one with 'pingan "
                            "init' or give --dir",
                            dir);
    node = calloc(1, sizeof(*node));
    if (!node || !(node->dir = malloc(strlen(dir) + 1)) ||
        !(node->sign_sk = malloc(PG_SIGN_SK_LEN))) {
        error = pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
        goto done;
    }
    memcpy(node->dir, dir, strlen(dir) + 1);
    if ((error = pg_store__open(&node->db, path, false)) < 0 ||
        (error = pg_remap__register(node)) < 0)
        goto done;

    if ((error = path_join(path, sizeof(path), dir, CARD_FILE)) < 0)
        goto done;
    if ((error = read_text_file(&json, &jlen, path, 8192)) < 0) {
        pg_error__text why;
        pg_error__text_last(&why);
        error = pg_error__wrap(PG_ECORRUPT, PG_ERRCLASS_NODE, &why,
                               "%s; restore the node directory from a backup",
                               why.en);
        goto done;
    }
    if ((error = pg_card_from_json(&node->card, json, jlen)) < 0) {
        pg_error__text why;
        pg_error__text_last(&why);
        error = pg_error__wrap(PG_ECORRUPT, PG_ERRCLASS_NODE, &why,
                               "%s is damaged: %s", path, why.en);
        goto done;
    }
    char code[PG_CODE_LEN + 1];
    if ((error = pg_store__meta_get(node->db, NULL, "code", code,
                                    sizeof(code))) < 0)
        goto done;
    if (strcmp(code, node->card.code) != 0) {
        error = pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                             "card %s does not belong to the store (node "
                             "%s)",
                             path, code);
        goto done;
    }
    /* A store written by a newer pingan may hold collections and fields
     * this build does not know: refuse rather than misread it. */
    char version[32];
    if ((error = pg_store__meta_get(node->db, NULL, "schema_version", version,
                                    sizeof(version))) < 0)
        goto done;
    char *end;
    long v = strtol(version, &end, 10);
    if (*end || v < 1) {
        error =
            pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                         "the store's schema version '%s' is damaged", version);
        goto done;
    }
    if (v > PG_SCHEMA_VERSION) {
        error = pg_error_set(PG_EUPGRADE, PG_ERRCLASS_NODE,
                             "this node's store uses schema version %ld; "
                             "upgrade pingan to a version that knows it "
                             "(this build knows up to %d)",
                             v, PG_SCHEMA_VERSION);
        goto done;
    }
    /* The node runs at its store's version, whatever this build knows
     * (DESIGN §2): 'pingan schema upgrade' moves it on. */
    node->schema = pg_schema_get((unsigned)v);
    node->schema_dv = node_data_version(node->db);
    /* Stores made before peers existed get the table on first open. */
    if ((error = pg_store__create_peer_table(node->db)) < 0 ||
        (error = pg_store__create_sync_tables(node->db)) < 0)
        goto done;
    if ((error = path_join(path, sizeof(path), dir, SIGN_KEY_FILE)) < 0 ||
        (error = read_key(node->sign_sk, PG_SIGN_SK_LEN, path)) < 0)
        goto done;
    /* Derive both public keys from the secret ones: a damaged key file
     * must be noticed here, not as signatures that fail later. */
    uint8_t pk[PG_SIGN_PK_LEN], sk2[PG_SIGN_SK_LEN];
    pg_sign_seed_keypair(pk, sk2, node->sign_sk);
    bool sign_ok = memcmp(pk, node->card.sign_pk, PG_SIGN_PK_LEN) == 0 &&
                   memcmp(sk2, node->sign_sk, PG_SIGN_SK_LEN) == 0;
    pg_memzero(sk2, sizeof(sk2));
    if (!sign_ok) {
        error = pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                             "%s does not match the node's card; restore "
                             "the node directory from a backup",
                             path);
        goto done;
    }
    if ((error = path_join(path, sizeof(path), dir, BOX_KEY_FILE)) < 0 ||
        (error = read_key(node->box_sk, PG_BOX_SK_LEN, path)) < 0)
        goto done;
    pg_box_public(pk, node->box_sk);
    if (memcmp(pk, node->card.box_pk, PG_BOX_PK_LEN) != 0) {
        error = pg_error_set(PG_ECORRUPT, PG_ERRCLASS_NODE,
                             "%s does not match the node's card; restore "
                             "the node directory from a backup",
                             path);
        goto done;
    }
    size_t plen = pg_tier_prefix_len(node->card.tier);
    memcpy(node->prefix, node->card.code, plen);
    node->prefix[plen] = 0;
    *out = node;
    node = NULL;

done:
    free(json);
    pg_node_free(node);
    return error;
}

void pg_node_free(pg_node *node)
{
    if (!node)
        return;
    pg_remap__cache_free(node);
    pg_store__cache_clear(&node->stmts);
    for (size_t i = 0; i < node->ninsert; i++)
        sqlite3_finalize(node->insert_st[i]);
    sqlite3_close(node->db);
    if (node->sign_sk) {
        pg_memzero(node->sign_sk, PG_SIGN_SK_LEN);
        free(node->sign_sk);
    }
    pg_memzero(node->box_sk, sizeof(node->box_sk));
    free(node->dir);
    free(node);
}

const char *pg_node_code(const pg_node *node)
{
    return node->card.code;
}

const char *pg_node_name(const pg_node *node)
{
    return node->card.name;
}

pg_tier pg_node_tier(const pg_node *node)
{
    return node->card.tier;
}

const pg_card *pg_node_card(const pg_node *node)
{
    return &node->card;
}

const pg_schema *pg_node_schema(const pg_node *node)
{
    return node->schema;
}

/* The version's statements and its schema, after it moved on. */
static void node_schema_moved(pg_node *node, const pg_schema *to)
{
    /* Prepared statements name the old columns. */
    pg_store__cache_clear(&node->stmts);
    for (size_t i = 0; i < node->ninsert; i++)
        sqlite3_finalize(node->insert_st[i]);
    node->ninsert = 0;
    node->schema = to;
}

int pg_node__schema_refresh(pg_node *node)
{
    unsigned dv = node_data_version(node->db);
    if (dv == node->schema_dv)
        return 0;
    int64_t v;
    int error = pg_store__meta_get_int(node->db, NULL, "schema_version", &v);
    if (error < 0)
        return error;
    /* Versions only rise; one this build does not know is refused at the
     * next open, as at this one. */
    if (v > (int64_t)node->schema->version && v <= PG_SCHEMA_VERSION)
        node_schema_moved(node, pg_schema_get((unsigned)v));
    node->schema_dv = dv;
    return 0;
}

int pg_node_schema_upgrade(pg_node *node, unsigned *from)
{
    const pg_schema *old, *to = pg_schema_current();
    int error;

    PG_ASSERT_ARG(node);
    old = node->schema;
    if (from)
        *from = old->version;
    if (old->version == to->version)
        return 0;
    if ((error = pg_store__begin(node->db)) < 0)
        return error;
    if ((error = pg_store__upgrade_tables(node->db, old, to)) < 0 ||
        (error = pg_store__meta_set_int(node->db, NULL, "schema_version",
                                        to->version)) < 0 ||
        (error = pg_audit__record(node, "schema.upgrade", node->card.code,
                                  "{s:i, s:i}", "from", (int)old->version, "to",
                                  (int)to->version)) < 0 ||
        (error = pg_store__commit(node->db)) < 0) {
        pg_store__rollback(node->db);
        return error;
    }
    node_schema_moved(node, to);
    return 0;
}

const uint8_t *pg_node__sign_sk(const pg_node *node)
{
    return node->sign_sk;
}
