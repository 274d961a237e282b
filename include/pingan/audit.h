/**
 * @file pingan/audit.h
 * @brief The audit trail: an append-only, hash-chained log of what each
 * operator did and of every bundle or request accepted or refused.
 *
 * Each entry is written in the same SQLite transaction as the action it
 * records: no action without its entry, no entry without its action.  An
 * entry holds codes, ids, counts, digests and reason classes, never a
 * personal value.  Its hash is BLAKE2b-256 over the previous entry's hash
 * and the entry's canonical encoding (proto/FORMAT.md §9), so changing,
 * removing or reordering an entry breaks the chain from there on.
 *
 * A node cannot quietly rewrite its own chain: bundles to its parent carry
 * the chain head (seq and hash), which the parent keeps per child and can
 * export (pg_audit_child_heads); a rewritten chain no longer holds the
 * head the parent recorded.
 *
 * | action            | subject        | recorded when                     |
 * |-------------------|----------------|-----------------------------------|
 * | `init`            | node code      | the node is created               |
 * | `peer.add`        | peer code      | a peer is pinned (with policy)    |
 * | `peer.set`        | peer code      | its URL or CA file changes        |
 * | `peer.remove`     | peer code      | a peer is unpinned                |
 * | `peer.revoke`     | peer code      | a key is revoked after a seq      |
 * | `peer.rekey`      | peer code      | its new key is pinned (certified  |
 * |                   |                | when a child), the old revoked    |
 * | `backup`          | node code      | a backup file is written          |
 * | `restore`         | node code      | the node is restored (the chain   |
 * |                   |                | goes on from the backup's head)   |
 * | `rekey`           | node code      | the node takes a new key pair     |
 * | `hold.release`    | node code      | a restored city writes again      |
 * | `conflict.resolve`| conflict id    | an operator resolves a conflict   |
 * | `quarantine`      | origin:seq     | a received txn is quarantined     |
 * | `bundle.accept`   | sender code    | a bundle is applied               |
 * | `refuse`          | peer code or ""| a bundle or HTTP request is       |
 * |                   |                | refused as a whole                |
 * | `audit.fork`      | child code     | a child reports another hash for  |
 * |                   |                | a head seq already recorded       |
 */
#ifndef PINGAN_AUDIT_H
#define PINGAN_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"

/** Longest operator name kept (bytes); longer names are refused. */
#define PG_AUDIT_OPERATOR_MAX 128

/** A chain head: the last entry's seq and hash (seq 0: empty chain, hash
 * all zeros). */
typedef struct pg_audit_head {
    int64_t seq;
    uint8_t hash[PG_HASH_LEN];
} pg_audit_head;

/** One entry (strings borrowed for the duration of a callback). */
typedef struct pg_audit_entry {
    int64_t seq;   /**< 1, 2, ... without gaps */
    int64_t at_ms; /**< UTC, ms since the epoch */
    const char *operator_name;
    const char *action;
    const char *subject;
    const char *detail; /**< a JSON object */
    uint8_t prev[PG_HASH_LEN];
    uint8_t hash[PG_HASH_LEN];
} pg_audit_entry;

/** Called for each entry; a non-zero return stops the listing. */
typedef int (*pg_audit_cb)(const pg_audit_entry *entry, void *payload);

/**
 * The hash of an entry: BLAKE2b-256 of @p prev and the entry's canonical
 * encoding (proto/FORMAT.md §9).  The entry's own prev and hash fields
 * are not read.
 *
 * @param out [out] 32 bytes
 */
void pg_audit_hash(uint8_t out[PG_HASH_LEN], const uint8_t prev[PG_HASH_LEN],
                   const pg_audit_entry *entry);

/**
 * The node's chain head.
 *
 * @return 0 or PG_ERROR (store)
 */
int pg_audit_head_get(pg_audit_head *out, pg_node *node);

/**
 * List entries in seq order, from @p since_ms (0: all) and, when
 * @p action is not NULL, only that action.
 *
 * @return 0, PG_ERROR, or what @p cb returned
 */
int pg_audit_list(pg_node *node, int64_t since_ms, const char *action,
                  pg_audit_cb cb, void *payload);

/** What pg_audit_verify found. */
typedef struct pg_audit_check {
    int64_t entries;    /**< entries read */
    pg_audit_head head; /**< the last entry read */
    int64_t bad_seq;    /**< the first bad entry (0: none) */
} pg_audit_check;

/**
 * Check the whole chain: seqs 1, 2, ... without gaps, each entry's prev
 * equal to the hash before it, each hash recomputed.  With @p against
 * (a head the parent recorded), also check that the chain holds that
 * entry with that hash: then no entry at or before it was changed.
 *
 * @param out [out] what was read, and the first bad seq
 * @return 0; PG_ECORRUPT naming the first bad entry; PG_ERROR (store)
 */
int pg_audit_verify(pg_audit_check *out, pg_node *node,
                    const pg_audit_head *against);

/** A child's chain head as this node last received it. */
typedef struct pg_audit_child_head {
    char code[PG_CODE_LEN + 1];
    pg_audit_head head;
    int64_t received_ms;
} pg_audit_child_head;

/** Called for each child head; a non-zero return stops the listing. */
typedef int (*pg_audit_child_cb)(const pg_audit_child_head *h, void *payload);

/**
 * The chain heads this node holds of its children, by code.
 *
 * @return 0, PG_ERROR, or what @p cb returned
 */
int pg_audit_child_heads(pg_node *node, pg_audit_child_cb cb, void *payload);

/**
 * The head of this node's chain its parent last confirmed (sent back in a
 * signed bundle header).
 *
 * @param out [out] seq 0 when the parent has confirmed none
 * @param parent [out] the parent's code ("" when none), may be NULL
 * @return 0 or PG_ERROR
 */
int pg_audit_parent_seen(pg_audit_head *out, char parent[PG_CODE_LEN + 1],
                         pg_node *node);

/**
 * Export the heads this node holds of its children as a heads file: JSON
 * signed with this node's key (proto/FORMAT.md §9.3), which a child
 * checks its chain against (pg_audit_heads_check).
 *
 * @param out [out] the file's text is appended (UTF-8, ends with '\n')
 * @return 0, PG_ERROR (store), PG_ENOMEM, PG_ELIMIT; the caller disposes
 * of @p out
 */
int pg_audit_heads_export(pg_buf *out, pg_node *node);

/**
 * The same heads file holding only the head of the child @p code (none
 * when this node holds no head of it), for that child to fetch over HTTP
 * (`GET /v1/audit/heads`, proto/FORMAT.md §8.1) without learning the
 * heads of its siblings.
 *
 * @return 0, PG_EINVALID (not a code), PG_ERROR (store), PG_ENOMEM,
 * PG_ELIMIT
 */
int pg_audit_heads_export_child(pg_buf *out, pg_node *node, const char *code);

/**
 * Read a heads file made by this node's parent and find this node's head.
 *
 * @param out [out] the head to verify against (pg_audit_verify): this
 *            node's latest as the parent recorded it, or the earliest
 *            head the parent recorded that the chain no longer holds
 * @param parent [out] the parent's code (may be NULL)
 * @param text the file's bytes (at most 16 MiB)
 * @return 0; PG_EINVALID (malformed); PG_EAUTH (not signed by the pinned
 * parent, or changed); PG_ENOTFOUND (it holds no head of this node);
 * PG_EUPGRADE (a newer format); PG_ERROR
 */
int pg_audit_heads_check(pg_audit_head *out, char parent[PG_CODE_LEN + 1],
                         pg_node *node, const char *text, size_t len);

#endif
