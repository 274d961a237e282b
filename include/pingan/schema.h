/**
 * @file pingan/schema.h
 * @brief The compiled-in record schema: collections, fields, versions.
 *
 * The schema is data.  Each collection is a real SQLite table with one
 * column per field.  Every field has a privacy class (how redaction treats
 * it) and a merge kind (how concurrent edits combine).  Versions are
 * append-only and additive: a collection or field carries the schema
 * version that introduced it, and pg_schema_get(v) shows the schema as it
 * was at version v, with its own hash.
 *
 * Every collection's first field is `division` (where the record belongs;
 * fixed at creation).  Every collection also has the implicit field
 * `_deleted` (bool, lww): a tombstone.  It is not in the field array but
 * pg_collection_field() finds it, at index nfields.
 */
#ifndef PINGAN_SCHEMA_H
#define PINGAN_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/division.h"
#include "pingan/value.h"

/** Privacy classes.  Values pinned. */
typedef enum pg_privacy {
    PG_PRIVACY_PUBLIC = 1,
    PG_PRIVACY_INTERNAL = 2,
    PG_PRIVACY_PERSONAL = 3,  /**< PIPL personal information */
    PG_PRIVACY_SENSITIVE = 4, /**< PIPL Art. 28 sensitive information */
} pg_privacy;

/** Merge kinds.  Values pinned. */
typedef enum pg_merge {
    PG_MERGE_LWW = 1,       /**< higher (hlc, origin) wins */
    PG_MERGE_COUNTER = 2,   /**< increments summed, each exactly once */
    PG_MERGE_AUTHORITY = 3, /**< higher tier wins, then LWW */
} pg_merge;

/** A field of a collection. */
typedef struct pg_field {
    const char *name;          /**< column name, [a-z_][a-z0-9_]* */
    const char *title;         /**< Chinese title */
    pg_type type;              /**< value type */
    pg_privacy privacy;        /**< privacy class */
    pg_merge merge;            /**< merge kind */
    bool required;             /**< must be set when a record is created */
    const char *const *values; /**< enum values, NULL-terminated; else NULL */
    size_t max_len;            /**< text limit in bytes; 0 = type default */
    unsigned since;            /**< schema version that added it */
} pg_field;

/** A collection (a record type, one SQLite table). */
typedef struct pg_collection {
    const char *name;       /**< table name */
    const char *title;      /**< Chinese title */
    const char *articles;   /**< articles of the regulation, "9-14" */
    pg_tier cap;            /**< highest tier it reaches; NONE = city */
    bool system;            /**< written by pingan itself (`node`) */
    bool partner_allowed;   /**< may ever be named by a partner agreement */
    const pg_field *fields; /**< fields[0] is `division` */
    size_t nfields;         /**< number of fields (without `_deleted`) */
    unsigned since;         /**< schema version that added it */
} pg_collection;

/** The schema as of one version. */
typedef struct pg_schema {
    unsigned version;
    const pg_collection *const *collections;
    size_t ncollections;
    uint8_t hash[32]; /**< BLAKE2b-256 of the canonical description */
} pg_schema;

/** The newest schema version this build knows. */
#define PG_SCHEMA_VERSION 2

/**
 * The schema at @p version (1 .. PG_SCHEMA_VERSION).
 *
 * @return a static schema, or NULL for an unknown version
 */
const pg_schema *pg_schema_get(unsigned version);

/** The newest schema.  Never NULL. */
const pg_schema *pg_schema_current(void);

/**
 * Find a collection by name.
 *
 * @return a static collection, or NULL when there is none by that name in
 * @p schema
 */
const pg_collection *pg_schema_collection(const pg_schema *schema,
                                          const char *name);

/**
 * Find a field by name, including the implicit `_deleted`.
 *
 * @param index_out [out] optional: the field's index (nfields for
 *                  `_deleted`)
 * @return a static field, or NULL
 */
const pg_field *pg_collection_field(const pg_collection *coll, const char *name,
                                    size_t *index_out);

/** The field at @p index, including `_deleted` at nfields; NULL past it. */
const pg_field *pg_collection_field_at(const pg_collection *coll, size_t index);

/** "public", "internal", "personal", "sensitive". */
const char *pg_privacy_name(pg_privacy privacy);

/** "lww", "counter", "authority". */
const char *pg_merge_name(pg_merge merge);

/** Lower-case hex of a schema's hash (65 bytes with the NUL). */
void pg_schema_hash_hex(char out[65], const pg_schema *schema);

#endif
