/**
 * @file pingan/lifecycle.h
 * @brief The lifecycle of each collection's `status` field, and deadlines.
 *
 * A lifecycle is static data: the states a new record may start in, and
 * for each state the states it may move to next.  Staying in the same
 * state is always allowed.  The states are the values of the collection's
 * `status` enumeration (fixed by the schema); node/lifecycle.c documents
 * each table with its source (DOMAIN.md §3, issue 8).
 *
 * Local writes (pg_record_put, the JSON-lines import) refuse a status
 * that does not follow the lifecycle with PG_EINVALID.  Received txns are
 * applied whatever their status (convergence first); pg_lifecycle_check
 * lists the steps of the log that break a lifecycle.
 */
#ifndef PINGAN_LIFECYCLE_H
#define PINGAN_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/node.h"
#include "pingan/txn.h"
#include "pingan/ulid.h"

/** One state and the states allowed after it (NULL-terminated). */
typedef struct pg_lifecycle_state {
    const char *state;
    const char *const *next;
    bool final; /**< the work is over (closed, withdrawn, rejected) */
} pg_lifecycle_state;

/** The lifecycle of one collection's `status` field. */
typedef struct pg_lifecycle {
    const char *collection;
    const char *source;         /**< where the table comes from */
    const char *const *initial; /**< NULL-terminated */
    const pg_lifecycle_state *states;
    size_t nstates;
} pg_lifecycle;

/** Longest state name, in bytes. */
#define PG_LIFECYCLE_STATE_MAX 64

/** The lifecycle of @p collection; NULL when it has none. */
const pg_lifecycle *pg_lifecycle_get(const char *collection);

/** Every lifecycle, in schema order; @p n gets how many. */
const pg_lifecycle *const *pg_lifecycle_all(size_t *n);

/** A state of a lifecycle; NULL when it is not one. */
const pg_lifecycle_state *pg_lifecycle_state_get(const pg_lifecycle *lc,
                                                 const char *state);

/** Whether a new record may start in @p state. */
bool pg_lifecycle_is_initial(const pg_lifecycle *lc, const char *state);

/** Whether @p state is final (see pg_lifecycle_state). */
bool pg_lifecycle_is_final(const pg_lifecycle *lc, const char *state);

/**
 * Whether a record may move from @p from to @p to.  NULL stands for "no
 * status": NULL → X is allowed when X is initial, X → NULL never (a
 * status cannot be cleared), NULL → NULL always; X → X always.
 */
bool pg_lifecycle_allows(const pg_lifecycle *lc, const char *from,
                         const char *to);

/**
 * Check a step of a record's status.  On refusal sets a message naming
 * the collection, the record (@p record_id, may be NULL for a new one),
 * the transition and the allowed next (or initial) states.
 *
 * @return 0 or PG_EINVALID
 */
int pg_lifecycle_check_step(const pg_lifecycle *lc, const char *record_id,
                            const char *from, const char *to);

/**
 * The shortest way from @p from (NULL: a new record, starting in an
 * initial state) to @p to: the states after @p from, ending with @p to,
 * written to out[0 .. *n).  For tools that must reach a state through
 * legal steps (the simulator).
 *
 * @return 0, PG_ENOTFOUND when @p to cannot be reached, PG_ELIMIT when it
 * needs more than @p cap steps
 */
int pg_lifecycle_path(const char **out, size_t *n, size_t cap,
                      const pg_lifecycle *lc, const char *from, const char *to);

/** One step of a status history that breaks its lifecycle. */
typedef struct pg_lifecycle_finding {
    const char *collection;
    char record_id[PG_RECORD_ID_LEN + 1];
    char from[PG_LIFECYCLE_STATE_MAX + 1]; /**< "" for no status */
    char to[PG_LIFECYCLE_STATE_MAX + 1];   /**< "" for a cleared status */
    pg_version version;                    /**< (hlc, origin) of the step */
    int64_t at_ms;                         /**< wall time of the hlc */
    char operator_name[PG_OPERATOR_MAX + 1];
    uint64_t origin_seq;
} pg_lifecycle_finding;

/** Called for each finding; a non-zero return stops the check. */
typedef int (*pg_lifecycle_finding_cb)(const pg_lifecycle_finding *f,
                                       void *payload);

/**
 * Walk each record's status changes in the log in version order ((hlc,
 * origin), as the merge orders them) and report every step its lifecycle
 * does not allow, ordered by collection, record id, then version.  Only
 * the log is read, so every node holding the same txns finds the same.
 * A change that resolves a conflict (a non-zero merged version) moves the
 * state but is not itself judged: it picks one of the values already
 * written.  Changes whose value a hop withheld or transformed are skipped.
 *
 * @param collection one collection, or NULL for every one with a lifecycle
 * @param count_out  [out] optional: the number of findings
 * @return 0, PG_EINVALID (@p collection has no lifecycle), PG_ECORRUPT,
 * PG_ENOMEM, or what @p cb returned
 */
int pg_lifecycle_check(pg_node *node, const char *collection,
                       pg_lifecycle_finding_cb cb, void *payload,
                       uint64_t *count_out);

/** Escalation levels of an overdue item (DOMAIN.md §3.5). */
typedef enum pg_overdue_level {
    PG_OVERDUE_NORMAL = 0, /**< 普通督办: overdue by less than a day */
    PG_OVERDUE_YELLOW = 1, /**< 黄牌督办: overdue by a day or more */
    PG_OVERDUE_RED = 2,    /**< 红牌督办: by more than the time limit */
} pg_overdue_level;

/** The level's name as stored in supervision.level ("普通督办" ...). */
const char *pg_overdue_level_name(pg_overdue_level level);

/** The time limit assumed when the start of one is unknown: 7 days. */
#define PG_OVERDUE_DEFAULT_LIMIT_MS (7LL * 24 * 3600 * 1000)

/** A supervision order or hazard past its deadline. */
typedef struct pg_overdue_item {
    const char *collection; /**< "supervision" or "hazard" */
    char record_id[PG_RECORD_ID_LEN + 1];
    char division[PG_CODE_LEN + 1];
    char status[PG_LIFECYCLE_STATE_MAX + 1]; /**< "" when unset */
    char subject[256]; /**< target unit, or hazard category/subcategory */
    int64_t start_ms;  /**< issued_at / discovered_at; 0 when unknown */
    int64_t deadline_ms;
    int64_t overdue_ms; /**< now - deadline, > 0 */
    int64_t limit_ms;   /**< deadline - start, or the default */
    pg_overdue_level level;
    bool level_from_record; /**< raised to the level set on the record */
} pg_overdue_item;

/**
 * The supervision orders (deadline) and hazards (rectify_deadline) of
 * this node's jurisdiction past their deadline at @p now_ms and not in a
 * final state, not deleted, most overdue first.  The level is 普通督办
 * when overdue by less than a day, 黄牌督办 from one day, 红牌督办 when
 * overdue by more than the time limit (deadline − issued_at, deadline −
 * discovered_at; PG_OVERDUE_DEFAULT_LIMIT_MS when the start is unknown),
 * and never below the level set on a supervision order.
 *
 * @param out [out] an array freed with free(); *n gets its length
 * @return 0, PG_ENOMEM, PG_ERROR
 */
int pg_overdue_list(pg_overdue_item **out, size_t *n, pg_node *node,
                    int64_t now_ms);

#endif
