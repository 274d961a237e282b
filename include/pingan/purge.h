/**
 * @file pingan/purge.h
 * @brief Erasing personal information that is no longer needed (PIPL
 * Art. 47; `pingan purge`).
 *
 * A purge erases every `personal` and `sensitive` value of the records it
 * targets, everywhere this node stores it, and leaves no recoverable copy:
 *
 * | where                     | what happens                                |
 * |---------------------------|---------------------------------------------|
 * | the record's table row    | the columns are set to NULL; the field      |
 * |                           | versions (`_v`) stay, so merges still order |
 * | `log` (every txn holding  | rewritten in redacted form: the seed        |
 * | a value of the record)    | withheld, the other changes salted, each    |
 * |                           | purged change *dropped* (its commitment     |
 * |                           | only) with a redaction note by this node    |
 * |                           | naming the purge; the origin's signature    |
 * |                           | and the digest still verify                 |
 * | `hist`, `conflict`        | the values of the record's purged fields    |
 * |                           | are set to NULL                             |
 * | `pending`, `quarantine`   | txns of the record rewritten as in `log`;   |
 * |                           | one that does not decode but names the      |
 * |                           | record is deleted; a reason that quotes a   |
 * |                           | purged value is replaced                    |
 * | `purged` (new)            | the record id, division and purge: a txn of |
 * |                           | the record arriving later is stored purged  |
 *
 * Non-personal fields (division, category where it is not sensitive,
 * status, dates) stay, so reports still count purged records.
 *
 * The purge is one SQLite transaction (audited as `purge`: the collection,
 * the number of records and txns, never a value), then the write-ahead
 * log is checkpointed with TRUNCATE and the store vacuumed; the store
 * runs with `secure_delete`, so the bytes of store.db, store.db-wal and
 * store.db-shm no longer hold the values.
 *
 * The purge travels: one txn per division in the system collection
 * `purge` (one record per purged record: record_id, purged_at, basis),
 * routed like certificates.  A node receiving one erases its own copy of
 * the record (when it holds it under the purge's division) and remembers
 * the id with that division; a purge naming another division's record
 * erases nothing.  The origin of a purge is accepted, as for every txn, only
 * when its jurisdiction covers the division (DESIGN §6).
 *
 * Out of reach: bundle files already written (USB sticks), backups taken
 * before the purge, and what a partner or a node not yet reached holds
 * until the purge arrives there.
 */
#ifndef PINGAN_PURGE_H
#define PINGAN_PURGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/division.h"
#include "pingan/node.h"

/** The basis a purge names when none is given. */
#define PG_PURGE_BASIS_DEFAULT "个人信息保护法第四十七条"
/** Longest basis text, in bytes. */
#define PG_PURGE_BASIS_MAX 256

/** What to purge. */
typedef struct pg_purge_request {
    const char *collection; /**< a collection that is not a system one */
    /** One record by id, or NULL: then every record of the collection in
     * this node's jurisdiction whose lifecycle ended before before_ms. */
    const char *id;
    int64_t before_ms; /**< with id NULL; not in the future */
    const char *basis; /**< NULL: PG_PURGE_BASIS_DEFAULT */
    bool dry_run;      /**< list the targets, change nothing */
    const char *operator_name;
} pg_purge_request;

/** One record a purge targets. */
typedef struct pg_purge_target {
    const char *collection;
    const char *record_id;
    char division[PG_CODE_LEN + 1];
    /** When its lifecycle ended (ms): its `closed_at` (`removed_at` for
     * key_person, `handled_at` for fraud_alert; a dispute party: its
     * dispute's `closed_at`), else, for a deleted record, the time of its
     * deletion; 0 when it has not ended (an open case, purged by id). */
    int64_t ended_ms;
    /** Personal and sensitive columns holding a value now. */
    size_t values;
} pg_purge_target;

/** Called for each target, before anything changes; non-zero stops. */
typedef int (*pg_purge_cb)(const pg_purge_target *t, void *payload);

/** What a purge did. */
typedef struct pg_purge_result {
    size_t records;    /**< records purged (or, dry run, to purge) */
    size_t values;     /**< column values set to NULL */
    size_t txns;       /**< logged txns rewritten */
    size_t held;       /**< pending and quarantined txns rewritten/deleted */
    size_t purge_txns; /**< txns written in the `purge` collection */
    bool wiped;        /**< WAL truncated and the store vacuumed */
} pg_purge_result;

/**
 * Purge (see the file comment).  By id: PG_EINVALID for an unknown or
 * system collection or a malformed id, PG_ENOTFOUND for a record not held
 * here, PG_EPOLICY for a record outside this node's jurisdiction,
 * PG_EEXISTS for a record purged already.  By date: PG_EINVALID for a
 * date in the future; records that have not ended, or were purged
 * already, are not targets.  Nothing changes on any error.
 *
 * @return 0 (also when nothing matched), an error above, PG_ECONFLICT
 * (restore hold), PG_ERROR, PG_ENOMEM
 */
int pg_purge_run(pg_node *node, const pg_purge_request *req, pg_purge_cb cb,
                 void *payload, pg_purge_result *res);

/**
 * Overwrite what the store's files may still hold of erased values:
 * checkpoint the write-ahead log with TRUNCATE, VACUUM, and checkpoint
 * again.  Outside any transaction.  *done (may be NULL) is false when a
 * reader of another process kept the log from being truncated.
 *
 * @return 0, PG_EBUSY, PG_ERROR
 */
int pg_purge_wipe(pg_node *node, bool *done);

/**
 * Is the record purged here (by a purge of any division)?  *out false
 * when not.
 *
 * @return 0, PG_ERROR
 */
int pg_purge_is_purged(pg_node *node, const char *record_id, bool *out);

#endif
