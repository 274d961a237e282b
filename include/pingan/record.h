/**
 * @file pingan/record.h
 * @brief Local writes and reads of records.
 *
 * Every write is one or more txns in the change-log (pingan/txn.h),
 * written in the same SQLite transaction as the record rows they change:
 * a write is all or nothing.  Writes are validated first (unknown
 * collection or field, wrong type, enum value, division outside the node's
 * jurisdiction, ID number and phone rules, size, UTF-8); invalid input
 * returns PG_EINVALID (or PG_EPOLICY for jurisdiction) and writes nothing.
 *
 * Merge of a local write, per field (DESIGN §5):
 *
 * | merge     | stored value becomes                  | refused when          |
 * |-----------|---------------------------------------|-----------------------|
 * | lww       | the written value                      | never | | counter   |
 * current value + the written increment | never                 | | authority |
 * the written value                      | the field was last    | | | | set by
 * a higher tier  |
 */
#ifndef PINGAN_RECORD_H
#define PINGAN_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pingan/node.h"
#include "pingan/schema.h"
#include "pingan/txn.h"
#include "pingan/ulid.h"
#include "pingan/value.h"

/** A field name and a typed value, as given to a write. */
typedef struct pg_field_value {
    const char *field;
    pg_value value;
} pg_field_value;

/**
 * Create a record (when @p id is NULL) or update one.
 *
 * On create, `division` must be given, lie inside the node's jurisdiction,
 * and every required field must be set; the new id `<code>-<ULID>` is
 * written to @p id_out.  On update only the given fields change;
 * `division` cannot change.
 *
 * @param id_out   [out] the record id (may be NULL on update)
 * @param operator_name who made the change (recorded in the txn)
 * @return 0, PG_EINVALID (bad value, unknown field or collection),
 * PG_ENOTFOUND (no such record), PG_EPOLICY (outside the jurisdiction, or
 * an authority field held by a higher tier), PG_EBUSY, PG_ERROR
 */
int pg_record_put(char id_out[PG_RECORD_ID_LEN + 1], pg_node *node,
                  const char *collection, const char *id,
                  const pg_field_value *values, size_t nvalues,
                  const char *operator_name);

/**
 * Delete a record: set its `_deleted` field to true (a tombstone; the log
 * keeps its history).
 *
 * @return as pg_record_put; PG_ENOTFOUND when it does not exist
 */
int pg_record_delete(pg_node *node, const char *collection, const char *id,
                     const char *operator_name);

/** A record as read from the store. */
typedef struct pg_record {
    char id[PG_RECORD_ID_LEN + 1];
    const pg_collection *coll;
    size_t nvalues;       /**< coll->nfields + 1 (`_deleted` last) */
    pg_value *values;     /**< text borrowed from the record */
    pg_version *versions; /**< each field's version */
    char **texts;         /**< storage for text values */
} pg_record;

/**
 * Read one record.
 *
 * @return 0, PG_EINVALID (unknown collection), PG_ENOTFOUND; the caller
 * frees *out with pg_record_free
 */
int pg_record_get(pg_record **out, pg_node *node, const char *collection,
                  const char *id);

/** Free a record.  NULL-safe. */
void pg_record_free(pg_record *rec);

/** Called for each record listed; a non-zero return stops the listing. */
typedef int (*pg_record_cb)(const pg_record *rec, void *payload);

/**
 * List records whose fields equal the given values (all must match),
 * oldest id first, at most @p limit (0 = no limit), without deleted
 * records unless @p include_deleted.
 *
 * @return 0, PG_EINVALID (unknown collection or field), or what @p cb
 * returned
 */
int pg_record_list(pg_node *node, const char *collection,
                   const pg_field_value *where, size_t nwhere, size_t limit,
                   bool include_deleted, pg_record_cb cb, void *payload);

/** Progress of a bulk import. */
typedef struct pg_import_stats {
    uint64_t lines;   /**< lines read */
    uint64_t records; /**< records created */
    uint64_t txns;    /**< txns written */
    uint64_t bytes;   /**< bytes of input read */
} pg_import_stats;

/** Called now and then during an import (from the importing thread). */
typedef void (*pg_import_progress_cb)(const pg_import_stats *stats,
                                      void *payload);

/** Default and largest number of records per txn in a bulk import. */
#define PG_IMPORT_BATCH_DEFAULT 256
#define PG_IMPORT_BATCH_MAX     4096

/**
 * Import JSON lines (one object per line: field names to values; strings
 * in the text form of pg_value_parse, numbers for int, real, counter and
 * time in ms, true/false for bool) as new records.
 *
 * Records are grouped into txns of at most @p batch records of one
 * division (and within the txn limits); the whole import is one SQLite
 * transaction: all of it or none of it.
 *
 * @param stats_out [out] optional: what was imported
 * @return 0, PG_EINVALID (the message names the line), PG_EPOLICY, PG_EBUSY,
 * PG_ERROR
 */
int pg_record_import_jsonl(pg_import_stats *stats_out, pg_node *node,
                           const char *collection, FILE *in, size_t batch,
                           const char *operator_name,
                           pg_import_progress_cb progress, void *payload);

/** Most fields one JSON line may carry. */
#define PG_PARSED_MAX_FIELDS 128

/** One record parsed from a JSON line: typed values and their storage. */
typedef struct pg_parsed {
    size_t n;
    pg_field_value values[PG_PARSED_MAX_FIELDS];
    char *owned[PG_PARSED_MAX_FIELDS];
} pg_parsed;

/**
 * Parse one JSON object (a line of a JSON-lines import) into typed values
 * for a collection.  Values are parsed but not validated against the
 * record rules (division, required fields): pg_import_add does that.
 *
 * @return 0 or PG_EINVALID; release with pg_parsed_dispose either way
 */
int pg_parsed_from_json(pg_parsed *out, const pg_collection *coll,
                        const char *json, size_t len);

/** Release a parsed record's storage.  NULL-safe. */
void pg_parsed_dispose(pg_parsed *parsed);

/**
 * Begin a bulk write of new records (the engine of the JSON-lines import,
 * for programs that already hold typed values).
 */
typedef struct pg_import pg_import;

/** @return 0 or an error; the caller frees *out with pg_import_free */
int pg_import_begin(pg_import **out, pg_node *node, const char *collection,
                    size_t batch, const char *operator_name);

/**
 * Add one new record; validated at once.  Batches are written as they
 * fill.
 *
 * @param id_out [out] optional: the new record's id
 */
int pg_import_add(pg_import *imp, const pg_field_value *values, size_t n,
                  char id_out[PG_RECORD_ID_LEN + 1]);

/** Write what is left and commit.  @return 0 or an error (nothing kept) */
int pg_import_commit(pg_import *imp, pg_import_stats *stats_out);

/** Free; an import not committed is rolled back.  NULL-safe. */
void pg_import_free(pg_import *imp);

#endif
