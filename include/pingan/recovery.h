/**
 * @file pingan/recovery.h
 * @brief Recovering a node: encrypted backups, restore with a write hold,
 * and key rotation (rekey).
 *
 * A backup (proto/FORMAT.md §10) holds a consistent copy of the store,
 * taken online with SQLite's backup API while the node may be serving,
 * and every key file and the card, encrypted under a key derived from a
 * passphrase (Argon2id) with a secret stream.
 *
 * A restored node may lack txns it wrote after the backup that its parent
 * already holds: writing again would re-issue their sequence numbers
 * (equivocation).  So a restore puts the node on *hold*: local writes are
 * refused until a bundle from the parent says how far the parent holds
 * this node's own txns (bundle header field 20) and the node holds every
 * one of them; the next write continues after the parent's highest.
 *
 * Rekey makes a new key pair, keeps the old secret key as a retired file,
 * and writes a rekey card: the new card with a statement, signed by the
 * old key, naming the successor key and the last seq signed by the old
 * one.  The parent certifies the new key and revokes the old one after
 * that seq (pg_recovery_certify).
 *
 * Each of backup, restore, rekey and certify is one call, so that an
 * audit entry can record it.
 */
#ifndef PINGAN_RECOVERY_H
#define PINGAN_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/node.h"

/** Called as a backup or restore proceeds: @p done of @p total units (a
 * backup reports copying the store as the first half and encrypting as
 * the second; a restore reports bytes written with @p total 0). */
typedef void (*pg_recovery_progress_cb)(uint64_t done, uint64_t total,
                                        void *payload);

/** Options of pg_recovery_backup and pg_recovery_restore. */
typedef struct pg_recovery_opts {
    unsigned version;
    uint32_t kdf_ops;     /**< Argon2id passes; 0: PG_PWHASH_OPS_DEFAULT */
    uint32_t kdf_mem_kib; /**< Argon2id memory; 0: PG_PWHASH_MEMKIB_DEFAULT */
    pg_recovery_progress_cb progress; /**< may be NULL */
    void *payload;
    /** Who restores, for the restored node's audit entry (NULL: the
     * entry says "unknown"); a backup records the node's operator. */
    const char *operator_name;
} pg_recovery_opts;

#define PG_RECOVERY_OPTIONS_VERSION 1
#define PG_RECOVERY_OPTIONS_INIT                                               \
    {                                                                          \
        PG_RECOVERY_OPTIONS_VERSION, 0, 0, NULL, NULL, NULL                    \
    }

/** What a backup or restore did. */
typedef struct pg_recovery_result {
    char code[PG_CODE_LEN + 1];
    char name[256];
    char key_id[PG_KEY_ID_LEN + 1];
    int64_t last_seq;     /**< this node's last own seq in the backup */
    uint64_t log_entries; /**< entries of the log in the backup */
    unsigned files;       /**< files in the backup (store included) */
    uint64_t store_bytes; /**< size of the store copy */
    uint64_t bytes;       /**< size of the backup file */
} pg_recovery_result;

/**
 * Write an encrypted backup of an open node to @p path.
 *
 * The store is copied with SQLite's online backup API (consistent even
 * while `pingan serve` writes), then the copy, the key files and the card
 * are encrypted into a temporary file beside @p path, synced and renamed
 * over it: @p path ends up whole or unchanged, mode 0600.
 *
 * @param pass the passphrase, at least one byte; never logged or stored
 * @param opts NULL for defaults
 * @param out [out] may be NULL
 * @return 0, PG_EINVALID (empty passphrase, bad parameters), PG_ENOMEM,
 * PG_ERROR (file system), PG_EBUSY (the store stayed locked)
 */
int pg_recovery_backup(pg_node *node, const char *path, const char *pass,
                       size_t passlen, const pg_recovery_opts *opts,
                       pg_recovery_result *out);

/**
 * Restore a backup into a new node directory @p dir and put the node on
 * hold (see the file comment).
 *
 * Everything is written into a temporary directory beside @p dir, checked
 * (the node opens, the store passes SQLite's quick_check), and only then
 * renamed to @p dir: on any failure nothing is left behind.
 *
 * @param dir must not exist, or be an empty directory
 * @param opts NULL for defaults (only progress is used)
 * @param out [out] may be NULL
 * @return 0, PG_EEXISTS (a node or other files are at @p dir), PG_EAUTH
 * (wrong passphrase, or the header was altered), PG_ECORRUPT (damaged or
 * truncated file), PG_EINVALID (not a backup, or empty passphrase),
 * PG_EUPGRADE (a newer backup format), PG_ENOMEM, PG_ERROR
 */
int pg_recovery_restore(const char *path, const char *dir, const char *pass,
                        size_t passlen, const pg_recovery_opts *opts,
                        pg_recovery_result *out);

/** A node's write hold after a restore. */
typedef struct pg_recovery_hold {
    bool held;           /**< local writes are refused */
    int64_t held_upto;   /**< the highest own seq this node holds */
    int64_t confirmed;   /**< the parent's highest of this node's seqs as
                              last reported, -1 while none was */
    int64_t restored_ms; /**< when the node was restored; 0 if never */
} pg_recovery_hold;

/**
 * The write hold of a node.
 *
 * @return 0 or a store error
 */
int pg_recovery_hold_get(pg_recovery_hold *out, pg_node *node);

/**
 * Release from its write hold a restored node that has no parent to
 * confirm its sequence numbers (the city; a node whose parent is not
 * pinned).  The administrator names @p after_seq, the highest of this
 * node's own seqs any peer holds (each child's and partner's `pingan log`
 * shows it): the node's next write takes after_seq + 1, so no peer sees a
 * seq issued twice.  Own txns newer than the backup that only peers hold
 * stay lost here: that is what the dead disk took.  Recorded in the audit
 * trail as `hold.release`.
 *
 * @param operator_name who releases (NULL: the node's operator)
 * @param next_seq [out] the seq the next local write takes; may be NULL
 * @return 0; PG_ENOTFOUND (the node is not on hold); PG_EPOLICY (it has a
 *         parent, whose bundle lifts the hold); PG_EINVALID (@p after_seq
 *         below the highest own seq the node holds); a store error
 */
int pg_recovery_release(pg_node *node, int64_t after_seq,
                        const char *operator_name, int64_t *next_seq);

/**
 * Rotate the node's signing key: a new Ed25519 key pair; the old secret
 * key is kept as `sign.key.retired-<key id>` (mode 0600), card.json gets
 * the new key, and a *rekey card* (JSON: the new card and a statement
 * signed by the old key naming the new key id and the last seq signed by
 * the old key) is written to @p card_out (mode 0644) for the parent.
 *
 * Refused while the node is on hold.  The node must be closed and opened
 * again to sign with the new key (the CLI runs one command a process).
 *
 * @param card_out where to write the rekey card
 * @param new_key_id [out] the new key id
 * @param last_seq [out] the last seq signed by the old key
 * @return 0, PG_ECONFLICT (on hold), PG_EEXISTS (@p card_out exists),
 * PG_ERROR (file system), PG_ENOMEM
 */
int pg_recovery_rekey(pg_node *node, const char *card_out,
                      char new_key_id[PG_KEY_ID_LEN + 1], int64_t *last_seq);

/** A rekey card as read and verified by pg_recovery_card_parse. */
typedef struct pg_rekey_card {
    pg_card card; /**< the new card (self-signed) */
    char old_key_id[PG_KEY_ID_LEN + 1];
    int64_t last_seq;              /**< last seq signed by the old key */
    uint8_t signature[PG_SIG_LEN]; /**< the old key's statement */
} pg_rekey_card;

/**
 * Parse a rekey card and check the new card's self-signature.  The
 * statement's signature needs the old key: pg_recovery_card_verify.
 *
 * @return 0, PG_EINVALID (malformed), PG_EAUTH (bad self-signature)
 */
int pg_recovery_card_parse(pg_rekey_card *out, const char *json, size_t len);

/**
 * Verify the statement of a rekey card with the old public key.
 *
 * @return 0 or PG_EAUTH
 */
int pg_recovery_card_verify(const pg_rekey_card *rc,
                            const uint8_t old_pk[PG_SIGN_PK_LEN]);

/** What certifying a child's new key did. */
typedef struct pg_recovery_certified {
    char code[PG_CODE_LEN + 1];
    char old_key_id[PG_KEY_ID_LEN + 1];
    char new_key_id[PG_KEY_ID_LEN + 1];
    int64_t last_seq;     /**< old key revoked after this seq */
    uint64_t quarantined; /**< txns held here that the revocation caught */
    bool revoked;         /**< the old key was revoked here (a child's) */
} pg_recovery_certified;

/**
 * Accept a peer's rekey card.  The statement must verify under the key
 * pinned for the peer.  At the parent (the peer is a child) the old key
 * is then revoked after the named seq (pg_revoke: its later txns are
 * quarantined everywhere the revocation reaches), the new card is pinned
 * in place of the old one and certified (a `node` record that travels up
 * and down like any certificate).  At a child or partner of the rekeyed
 * node the new card is only pinned.
 *
 * @return 0, PG_EINVALID (not a rekey card), PG_ENOTFOUND (no such
 * peer), PG_EAUTH (not signed by the pinned key, or it names another
 * key), PG_ECONFLICT (the card's key is pinned already)
 */
int pg_recovery_certify(pg_node *node, const char *json, size_t len,
                        const char *operator_name, pg_recovery_certified *out);

#endif
