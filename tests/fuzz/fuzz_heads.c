/*
 * fuzz_heads: a heads file (proto/FORMAT.md §9.3) as `pingan audit verify
 * --heads FILE` reads it: pg_audit_heads_check on a child node, then,
 * when the file is accepted, pg_audit_verify of the child's chain against
 * the head the file lists for it.
 *
 * The child (湘潭县 430321000000) is made once in a temporary directory,
 * with the fixed 湘潭市 identity of fuzz.h pinned as its parent and the
 * fixed 石潭镇 identity as its child, so its chain holds a few entries.
 * Each input is checked twice, each time inside a savepoint rolled back
 * afterwards, so that nothing a check might write changes the next run.
 *
 * An input starting with '!' is completed by the harness as the parent
 * would make it (complete_as_parent: a head's hash "HEAD" becomes the
 * child's real hash at that seq, and the file is signed with the
 * parent's key), so that mutations also reach what follows the
 * signature: finding this node's head and checking the chain against it.
 *
 * What the harness holds the code to, besides not crashing:
 *  - only the errors the API documents;
 *  - the check is deterministic: the second run gives the same result,
 *    head, parent and message;
 *  - a file accepted (0, or PG_ENOTFOUND: signed but without this node)
 *    names the pinned parent and its signature verifies with the parent's
 *    key over the bytes of FORMAT.md §9.3, rebuilt here from the JSON;
 *  - the head returned is the last one the file lists for this node;
 *  - the chain verifies against that head exactly when the chain holds
 *    an entry with that seq and hash.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "node_internal.h"
#include "pingan/audit.h"
#include "pingan/error.h"
#include "pingan/peer.h"

#define CHAIN_MAX      16
#define HEADS_TEXT_MAX ((size_t)16 << 20) /* the check's own limit */

static pg_node *node;
static pg_audit_head chain[CHAIN_MAX]; /* chain[i]: the entry of seq i + 1 */
static int64_t chain_len;

static int keep_entry(const pg_audit_entry *e, void *payload)
{
    (void)payload;
    if (e->seq != chain_len + 1 || chain_len >= CHAIN_MAX)
        return 1;
    chain[chain_len].seq = e->seq;
    memcpy(chain[chain_len].hash, e->hash, PG_HASH_LEN);
    chain_len++;
    return 0;
}

static void pin(const fuzz_identity *id, pg_peer_role role)
{
    char *card = pg_card_to_json(&id->card);
    if (!card || pg_peer_add(node, card, strlen(card), role, NULL, NULL) < 0)
        fuzz_die("pin a peer");
    free(card);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static fuzz_identity town;
    char dir[4200];
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/county", fuzz_tmpdir());
    if (pg_node_init_as(dir, FUZZ_SENDER, "湘潭县", "fuzz") < 0 ||
        pg_node_open(&node, dir) < 0 || pg_node_set_operator(node, "fuzz") < 0)
        fuzz_die("node");
    pin(fuzz_recipient(), PG_PEER_PARENT);
    fuzz_identity_make(&town, "430321112000", "石潭镇", 3);
    pin(&town, PG_PEER_CHILD);
    if (pg_audit_list(node, 0, NULL, keep_entry, NULL) != 0 || chain_len < 3)
        fuzz_die("the child's audit chain");
    return 0;
}

/* The bytes a heads file's signature covers (FORMAT.md §9.3), rebuilt
 * here from its JSON; false when a part is missing or not hex. */
static bool heads_message(pg_buf *msg, json_t *root)
{
    static const char domain[] = "pingan.audit.heads.v1";
    json_t *heads = json_object_get(root, "heads");
    const char *from = json_string_value(json_object_get(root, "node"));
    uint8_t hash[PG_HASH_LEN];

    if (!from || !json_is_array(heads))
        return false;
    if (pg_buf_put_u32be(msg, sizeof(domain) - 1) < 0 ||
        pg_buf_puts(msg, domain) < 0 ||
        pg_buf_put_u32be(msg, (uint32_t)strlen(from)) < 0 ||
        pg_buf_puts(msg, from) < 0 ||
        pg_buf_put_u64be(msg, (uint64_t)json_integer_value(
                                  json_object_get(root, "exported_ms"))) < 0 ||
        pg_buf_put_u64be(msg, json_array_size(heads)) < 0)
        return false;
    size_t i;
    json_t *h;
    json_array_foreach(heads, i, h)
    {
        const char *code = json_string_value(json_object_get(h, "code"));
        const char *hex = json_string_value(json_object_get(h, "hash"));
        if (!code || !hex || pg_unhex(hash, sizeof(hash), hex) < 0 ||
            pg_buf_put_u32be(msg, (uint32_t)strlen(code)) < 0 ||
            pg_buf_puts(msg, code) < 0 ||
            pg_buf_put_u64be(msg, (uint64_t)json_integer_value(
                                      json_object_get(h, "seq"))) < 0 ||
            pg_buf_put(msg, hash, sizeof(hash)) < 0 ||
            pg_buf_put_u64be(msg, (uint64_t)json_integer_value(
                                      json_object_get(h, "received_ms"))) < 0)
            return false;
    }
    return true;
}

/* An accepted file's signature verifies with the pinned parent's key. */
static bool signed_by_parent(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    const char *sig_hex = json_string_value(json_object_get(root, "signature"));
    uint8_t sig[PG_SIG_LEN];
    pg_buf msg;

    pg_buf_init(&msg, HEADS_TEXT_MAX);
    bool ok = sig_hex && pg_unhex(sig, sizeof(sig), sig_hex) == 0 &&
              heads_message(&msg, root) &&
              pg_verify(sig, msg.data, msg.len, fuzz_recipient()->card.sign_pk);
    json_decref(root);
    pg_buf_dispose(&msg);
    return ok;
}

/*
 * An input starting with '!' is JSON the harness completes as the parent
 * would: each head of this node whose hash is "HEAD" gets the hash of the
 * chain's entry at its seq (when there is one), then the whole is signed
 * with the parent's key.  Anything unreadable is left as it is (the check
 * refuses it).  Returns the text to check (malloc'd) or NULL.
 */
static char *complete_as_parent(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    char *text = NULL;
    pg_buf msg;
    size_t i;
    json_t *h;

    pg_buf_init(&msg, HEADS_TEXT_MAX);
    json_array_foreach(json_object_get(root, "heads"), i, h)
    {
        const char *code = json_string_value(json_object_get(h, "code"));
        const char *hex = json_string_value(json_object_get(h, "hash"));
        json_int_t seq = json_integer_value(json_object_get(h, "seq"));
        char real[2 * PG_HASH_LEN + 1];
        if (code && hex && strcmp(code, FUZZ_SENDER) == 0 &&
            strcmp(hex, "HEAD") == 0 && seq >= 1 && seq <= chain_len) {
            pg_hex(real, chain[seq - 1].hash, PG_HASH_LEN);
            json_object_set_new(h, "hash", json_string(real));
        }
    }
    if (root && heads_message(&msg, root)) {
        uint8_t sig[PG_SIG_LEN];
        char sig_hex[2 * PG_SIG_LEN + 1];
        pg_sign(sig, msg.data, msg.len, fuzz_recipient()->sign_sk);
        pg_hex(sig_hex, sig, sizeof(sig));
        json_object_set_new(root, "signature", json_string(sig_hex));
        text = json_dumps(root, JSON_PRESERVE_ORDER);
    }
    json_decref(root);
    pg_buf_dispose(&msg);
    return text;
}

/* The last head the file lists for this node. */
/* The head pg_audit_heads_check must return from a file it accepts:
 * the highest of this node's heads listed (the first listed at that
 * seq), unless the chain no longer holds an earlier one: then the first
 * such one the file lists. */
static bool listed_head(const uint8_t *data, size_t size, pg_audit_head *out)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    json_t *heads = json_object_get(root, "heads"), *h;
    pg_audit_head e;
    size_t i;
    bool found = false;
    json_array_foreach(heads, i, h)
    {
        const char *code = json_string_value(json_object_get(h, "code"));
        const char *hex = json_string_value(json_object_get(h, "hash"));
        if (code && hex && strcmp(code, FUZZ_SENDER) == 0 &&
            pg_unhex(e.hash, PG_HASH_LEN, hex) == 0) {
            e.seq = json_integer_value(json_object_get(h, "seq"));
            if (!found || e.seq > out->seq)
                *out = e;
            found = true;
        }
    }
    json_array_foreach(heads, i, h)
    {
        const char *code = json_string_value(json_object_get(h, "code"));
        const char *hex = json_string_value(json_object_get(h, "hash"));
        if (!code || !hex || strcmp(code, FUZZ_SENDER) != 0 ||
            pg_unhex(e.hash, PG_HASH_LEN, hex) != 0)
            continue;
        e.seq = json_integer_value(json_object_get(h, "seq"));
        bool held = e.seq >= 1 && e.seq <= chain_len &&
                    memcmp(chain[e.seq - 1].hash, e.hash, PG_HASH_LEN) == 0;
        if (e.seq < out->seq && !held) {
            *out = e;
            break;
        }
    }
    json_decref(root);
    return found;
}

typedef struct outcome {
    int rc;
    pg_audit_head head;
    char parent[PG_CODE_LEN + 1];
    char message[sizeof(pg_error_last()->message)];
} outcome;

static void check(outcome *o, const uint8_t *data, size_t size)
{
    memset(o, 0, sizeof(*o));
    pg_error_clear();
    if (sqlite3_exec(node->db, "SAVEPOINT fuzz", NULL, NULL, NULL) != SQLITE_OK)
        fuzz_die("savepoint");
    o->rc = pg_audit_heads_check(&o->head, o->parent, node, (const char *)data,
                                 size);
    if (o->rc < 0)
        snprintf(o->message, sizeof(o->message), "%s",
                 pg_error_last()->message);
    if (sqlite3_exec(node->db, "ROLLBACK TO fuzz; RELEASE fuzz", NULL, NULL,
                     NULL) != SQLITE_OK)
        fuzz_die("rollback");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome a, b;
    char *completed = NULL;

    if (size > 0 && data[0] == '!') {
        if (!(completed = complete_as_parent(data + 1, size - 1)))
            goto done;
        data = (const uint8_t *)completed;
        size = strlen(completed);
    }
    check(&a, data, size);
    fuzz_note("heads", a.rc);
    if (a.rc != 0 && a.rc != PG_EINVALID && a.rc != PG_EAUTH &&
        a.rc != PG_ENOTFOUND && a.rc != PG_EUPGRADE)
        fuzz_die("an error the heads check does not document");
    check(&b, data, size);
    if (memcmp(&a, &b, sizeof(a)) != 0)
        fuzz_die("the same heads file checked twice gives two answers");

    if (a.rc == 0 || a.rc == PG_ENOTFOUND) {
        if (strcmp(a.parent, FUZZ_RECIPIENT) != 0)
            fuzz_die("a heads file accepted from another node than the "
                     "pinned parent");
        if (!signed_by_parent(data, size))
            fuzz_die("a heads file accepted without the parent's signature");
    }
    if (a.rc != 0)
        goto done;
    pg_audit_head listed;
    if (!listed_head(data, size, &listed) || listed.seq != a.head.seq ||
        memcmp(listed.hash, a.head.hash, PG_HASH_LEN) != 0)
        fuzz_die("the head returned is not the one the file lists");

    pg_audit_check chk;
    if (sqlite3_exec(node->db, "SAVEPOINT fuzz", NULL, NULL, NULL) != SQLITE_OK)
        fuzz_die("savepoint");
    int rc = pg_audit_verify(&chk, node, &a.head);
    if (sqlite3_exec(node->db, "ROLLBACK TO fuzz; RELEASE fuzz", NULL, NULL,
                     NULL) != SQLITE_OK)
        fuzz_die("rollback");
    fuzz_note("verify against it", rc);
    bool held =
        a.head.seq >= 1 && a.head.seq <= chain_len &&
        memcmp(chain[a.head.seq - 1].hash, a.head.hash, PG_HASH_LEN) == 0;
    if (rc != 0 && rc != PG_ECORRUPT)
        fuzz_die("an error the chain check does not document");
    if ((rc == 0) != held)
        fuzz_die(held ? "the chain refused a head it holds"
                      : "the chain accepted a head it does not hold");
done:
    free(completed);
    pg_error_clear();
    return 0;
}
