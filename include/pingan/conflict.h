/**
 * @file pingan/conflict.h
 * @brief Conflicts: concurrent changes to one field, and their resolution.
 *
 * Two changes of one field (collection, record, field) conflict when
 * neither reaches the other through base links (each change names the
 * version its writer saw; a resolution names a second one, `merged`) and
 * their values differ: two writers changed the field without seeing each
 * other (DESIGN §5, proto/FORMAT.md §3).  Conflicts are derived from the
 * changes a node holds, so every node that holds both changes reports the
 * same conflict, under the same id, whatever order they arrived in:
 *
 * | situation                                  | conflict                |
 * |--------------------------------------------|-------------------------|
 * | b was written after seeing a (b's base)    | none                    |
 * | a and b written concurrently, equal values | none                    |
 * | a and b written concurrently, other values | open; the merge rule's  |
 * |                                            | winner is the field's   |
 * |                                            | value, the loser kept   |
 * | a change reaches both a and b              | resolved by the earliest|
 * |                                            | such change             |
 * | a link between a and b arrives later       | the conflict disappears |
 * | counter field                              | never (increments add)  |
 *
 * The id is the lower-case hex of the first 8 bytes of
 * BLAKE2b-256(str("pingan.conflict.v1") ‖ str(collection) ‖ str(record id)
 * ‖ str(field) ‖ version(a) ‖ version(b)), `a` being the lower version by
 * (hlc, origin).  The winner follows the field's merge rule: `lww` the
 * higher (hlc, origin), `authority` the higher tier of origin, then lww.
 */
#ifndef PINGAN_CONFLICT_H
#define PINGAN_CONFLICT_H

#include <stdbool.h>
#include <stdint.h>

#include "pingan/node.h"
#include "pingan/txn.h"
#include "pingan/ulid.h"
#include "pingan/value.h"

/** Hex digits of a conflict id. */
#define PG_CONFLICT_ID_LEN 16
/** Longest collection or field name, in bytes. */
#define PG_CONFLICT_NAME_MAX 64

/** A conflict between versions a (the lower) and b of one field. */
typedef struct pg_conflict {
    char id[PG_CONFLICT_ID_LEN + 1];
    char collection[PG_CONFLICT_NAME_MAX + 1];
    char record_id[PG_RECORD_ID_LEN + 1];
    char field[PG_CONFLICT_NAME_MAX + 1];
    pg_version a;
    pg_version b;
    pg_value value_a; /**< text owned by the conflict */
    pg_value value_b; /**< text owned by the conflict */
    char winner;      /**< 'a' or 'b': the field's current value */
    bool resolved;
    pg_version resolved_by; /**< zero while open */
    int64_t detected_ms;    /**< when this node first saw both */
    char *text_a;           /**< storage (private) */
    char *text_b;           /**< storage (private) */
} pg_conflict;

/** Called for each conflict listed; a non-zero return stops the listing. */
typedef int (*pg_conflict_cb)(const pg_conflict *conflict, void *payload);

/**
 * List conflicts, oldest detected first.
 *
 * @param all false: open conflicts only; true: resolved ones too
 * @return 0, PG_ECORRUPT (a stored conflict is damaged), PG_ERROR, or what
 * @p cb returned; the conflict passed to @p cb is borrowed for the call
 */
int pg_conflict_list(pg_node *node, bool all, pg_conflict_cb cb, void *payload);

/**
 * Read one conflict.
 *
 * @param id 16 hex digits
 * @return 0, PG_EINVALID (not a conflict id), PG_ENOTFOUND, PG_ECORRUPT,
 * PG_ENOMEM; the caller frees *out with pg_conflict_free
 */
int pg_conflict_get(pg_conflict **out, pg_node *node, const char *id);

/** Free a conflict from pg_conflict_get.  NULL-safe. */
void pg_conflict_free(pg_conflict *conflict);

/**
 * Resolve a conflict: a local write of the field with the value of
 * version @p keep (a or b), whose base is the field's current version and
 * whose merged version is the conflict's other version.  The write
 * reaches both, so it closes the conflict (and any other both of whose
 * versions it reaches) here and on every node it replicates to.
 *
 * @param resolution_out [out] optional: the version of the resolving write
 * @param keep           the version whose value is kept: the conflict's a
 *                       or b
 * @param operator_name  who decided (recorded in the txn)
 * @return 0; PG_ENOTFOUND (no such conflict); PG_EINVALID (malformed id,
 * @p keep is neither version, already resolved, bad operator, or the field
 * changed since in a way that one write cannot close: its current version
 * is concurrent with both, so the newer conflicts must be resolved first);
 * PG_EPOLICY (the record lies outside this node's jurisdiction, or an
 * authority field held by a higher tier); PG_EBUSY; PG_ERROR.  Nothing is
 * written on failure.
 */
int pg_conflict_resolve(pg_version *resolution_out, pg_node *node,
                        const char *id, const pg_version *keep,
                        const char *operator_name);

#endif
