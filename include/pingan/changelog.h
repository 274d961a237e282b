/**
 * @file pingan/changelog.h
 * @brief Reading the change-log: every txn the node holds, local or
 * received, numbered by a local sequence.
 */
#ifndef PINGAN_CHANGELOG_H
#define PINGAN_CHANGELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/node.h"
#include "pingan/txn.h"

/** One entry of the log. */
typedef struct pg_log_entry {
    int64_t seq;           /**< local sequence */
    const pg_txn *txn;     /**< the decoded txn (borrowed) */
    bool signature_ok;     /**< the origin signature verifies */
    int64_t received_ms;   /**< when it entered this log */
    const uint8_t *digest; /**< the digest stored with it (32 bytes) */
    const char *via;       /**< the peer it came from ("" when local) */
} pg_log_entry;

/** Called for each entry; a non-zero return stops the listing. */
typedef int (*pg_log_cb)(const pg_log_entry *entry, void *payload);

/**
 * List the log from local sequence @p since (exclusive), at most @p limit
 * entries (0 = all), checking each txn's signature against the key of its
 * origin where this node knows it.
 *
 * @return 0, PG_ECORRUPT (an entry does not decode), or what @p cb
 * returned
 */
int pg_log_list(pg_node *node, int64_t since, size_t limit, pg_log_cb cb,
                void *payload);

/** The highest local sequence in the log (0 when empty). */
int pg_log_last_seq(pg_node *node, int64_t *out);

#endif
