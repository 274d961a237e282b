/**
 * @file report.h
 * @brief Reports over a node's jurisdiction and the daily statistics.
 *
 * A report counts the records of one collection in the node's whole
 * jurisdiction, grouped by child division (for a county: its townships;
 * a record filed at the node's own code counts under the node itself)
 * and by one key: the record's division, status, category or month.
 * Deleted records are not counted; purged ones are (nothing personal is
 * read).  Division codes are resolved through the system collection
 * `division_remap` first: a record under a retired code counts under the
 * code that replaced it, following chains (OLD → MID → NEW), and a remap
 * of a code above village tier moves every code under it (a township's
 * villages move with the township).
 *
 * The time of a record is its collection's own date (hazard discovered_at,
 * dispute accepted_at, grid_event occurred_at, key_person enrolled_at,
 * supervision issued_at, volunteer registered_at, fraud_alert issued_at,
 * drill executed_at) when set, else the time it was created (from its
 * id).  --since and --until select on it; --by month groups on it (China
 * Standard Time).
 *
 * Measures, where they apply (pg_report.measures):
 *   - overdue: deadline before the report's reference time (the end of
 *     the range, or now) and not closed by then;
 *   - amount: sum of dispute.amount_involved, fraud_alert.loss_amount;
 *   - rate (num/den):
 *       dispute: mediation success: outcome 调解成功… (three values) among
 *                those with an outcome;
 *       hazard, supervision: closed on time: closed_at <= deadline among
 *                the closed ones with a deadline;
 *       grid_event: closure: status 结案 among all;
 *       fraud_alert: dissuasion: outcome 劝阻成功 among those with an
 *                outcome;
 *   - rate2: grid_event closed on time (as hazard);
 *   - points, hours: volunteer sums.
 *
 * A node above a collection's cap holds none of its records (a city and
 * key_person): its report is read from the latest daily statistics its
 * children published (pg_report.from_stats), which carry counts, overdue
 * counts and amounts but no rates.
 */
#ifndef PINGAN_REPORT_H
#define PINGAN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/schema.h"

/** What a report groups by, besides the child division. */
typedef enum pg_report_by {
    PG_REPORT_BY_DIVISION = 0,
    PG_REPORT_BY_STATUS = 1,
    PG_REPORT_BY_CATEGORY = 2,
    PG_REPORT_BY_MONTH = 3,
} pg_report_by;

/** "division", "status", "category", "month". */
const char *pg_report_by_name(pg_report_by by);

/** Parse a --by value.  @return 0 or PG_EINVALID */
int pg_report_by_parse(pg_report_by *out, const char *s);

/** Measures that apply to a collection (bits of pg_report.measures). */
enum {
    PG_REPORT_M_OVERDUE = 1 << 0,
    PG_REPORT_M_AMOUNT = 1 << 1,
    PG_REPORT_M_RATE = 1 << 2,
    PG_REPORT_M_RATE2 = 1 << 3,
    PG_REPORT_M_POINTS = 1 << 4,
};

/** Counts and sums of one cell. */
typedef struct pg_report_stats {
    int64_t count;
    int64_t overdue;
    double amount;
    int64_t rate_num, rate_den;
    int64_t rate2_num, rate2_den;
    int64_t points, hours;
} pg_report_stats;

/** One group: a child division (or the node's own code) and a key. */
typedef struct pg_report_cell {
    char group[PG_CODE_LEN + 1];
    char *key; /**< the --by value; "" when unset (NULL in subtotals) */
    pg_report_stats stats;
} pg_report_cell;

/** A query. */
typedef struct pg_report_query {
    const char *collection;
    pg_report_by by;
    int64_t since_ms; /**< inclusive; INT64_MIN for none */
    int64_t until_ms; /**< exclusive; INT64_MAX for none */
} pg_report_query;

/** A report. */
typedef struct pg_report {
    const pg_collection *coll;
    pg_report_by by;
    char node_code[PG_CODE_LEN + 1];
    unsigned measures;          /**< PG_REPORT_M_* that apply */
    const char *category_field; /**< the collection's category-like field */
    const char *rate_name;      /**< "mediation_success", ... or NULL */
    const char *rate2_name;     /**< "closed_on_time" or NULL */
    bool from_stats;            /**< read from daily_stats */
    int64_t stats_date_ms;      /**< 00:00 CST of the day read (from_stats) */
    pg_report_cell *cells;      /**< by group, then key */
    size_t ncells;
    pg_report_cell *subtotals; /**< one per group, key NULL */
    size_t nsubtotals;
    pg_report_stats total;
} pg_report;

/**
 * Run a report.
 *
 * @return 0; PG_EINVALID (not a reported collection, --since not before
 * --until, --since or --by month with daily statistics); PG_ENOTFOUND (a
 * node above the collection's cap with no daily statistics of it);
 * PG_ERROR.  Free *out with pg_report_free.
 */
int pg_report_run(pg_report **out, pg_node *node, const pg_report_query *q);

/** Free a report.  NULL-safe. */
void pg_report_free(pg_report *report);

/**
 * Parse a report date: YYYY-MM-DD (00:00 China Standard Time of that day;
 * with @p end_of_day, 00:00 of the next day) or ISO 8601 with an offset
 * (the instant, whatever @p end_of_day).
 *
 * @return 0 or PG_EINVALID
 */
int pg_report_parse_date(int64_t *out_ms, const char *s, bool end_of_day);

/** 00:00 China Standard Time of the day holding @p ms. */
int64_t pg_report_day_start(int64_t ms);

/** What a publication wrote. */
typedef struct pg_report_publish_stats {
    int64_t stat_date_ms; /**< 00:00 CST of the day */
    size_t created;       /**< new daily_stats records */
    size_t updated;       /**< changed ones (zeroed included) */
    size_t unchanged;
    size_t zeroed; /**< of the updated: counts that fell to 0 */
} pg_report_publish_stats;

/**
 * Publish the daily statistics of the day holding @p day_ms: for every
 * collection this node holds and every (collection, subject division,
 * category, status) a `daily_stats` record filed at this node, with the
 * count of records existing at the end of the day (record time before it,
 * not deleted), the overdue count at that time (or now, if earlier) and the
 * amount where they apply.  Publishing again updates the same records; a
 * key counted before and not now is set to 0.  One SQLite transaction;
 * each record written is a signed txn of the normal write path.
 *
 * @return 0, PG_EINVALID (the store's schema has no daily_stats), PG_EBUSY,
 * PG_ERROR
 */
int pg_report_publish(pg_report_publish_stats *out, pg_node *node,
                      int64_t day_ms, const char *operator_name);

#endif
