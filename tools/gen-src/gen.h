/*
 * The record generator (DOMAIN.md §6): realistic synthetic records of
 * every user collection, placed in real and synthetic Xiangtan divisions,
 * as JSON lines.  Used by pingan-gen and by the federation simulator.
 *
 * Determinism: what a generator makes depends only on the divisions table,
 * the schema, gen_seed()'s arguments, gen_today() and gen_scope(), and
 * the sequence of gen_record() calls since the last gen_seed().  Never
 * rand(), never the wall clock.
 *
 * Generated ID and phone numbers are valid-looking and may belong to real
 * people: never use generated data outside tests.
 *
 * Errors: bad input (a division, a collection) is returned; what cannot
 * happen unless the generator has drifted from the schema, and running
 * out of memory, end the program through gen_die (a test tool's choice:
 * a half-made record is of no use to anyone).
 */
#ifndef PINGAN_GEN_H
#define PINGAN_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/division.h"

#define GEN_NAME_MAX 96

typedef struct gen gen;

/* A row of the divisions table. */
typedef struct gen_division {
    char code[PG_CODE_LEN + 1];
    char name[GEN_NAME_MAX];
    pg_tier tier;
} gen_division;

/* A generator over the divisions table at @p csv_path (code,name,... rows),
 * scoped to nothing yet: call gen_scope() before gen_record().  Exits with
 * a message when the table cannot be read or is malformed. */
gen *gen_new(const char *csv_path);

/* The divisions table, sorted by code (borrowed; @p n gets its rows). */
const gen_division *gen_divisions(const gen *g, size_t *n);

/* With @p on, every record is new: its status is the first initial state
 * of its lifecycle (pingan/lifecycle.h), as a local write or an import
 * needs, instead of the state the record's story reached.  Nothing else
 * changes: the other fields, and the random stream, are the same. */
void gen_set_new_records(gen *g, bool on);

/* Free a generator.  NULL-safe. */
void gen_free(gen *g);

/* Restart the random stream from (@p seed, @p stream): the same pair gives
 * the same records. */
void gen_seed(gen *g, uint64_t seed, const char *stream);

/* The simulated today (a calendar date in China Standard Time); records
 * fall before it, at most @p window days back (0: as far back as each
 * collection's model goes, up to a year). */
void gen_today(gen *g, int year, unsigned month, unsigned day, unsigned window);

/* 00:00 CST of the simulated today, in ms since the epoch. */
int64_t gen_today_ms(const gen *g);

/* Place records only inside @p division's jurisdiction (12 digits or a
 * prefix): the table's communities inside it if any; otherwise synthetic
 * communities (segments 600-999) under its townships or counties, or under
 * the division itself.  Returns 0, or -1 with a message in @p err. */
int gen_scope(gen *g, const char *division, char *err, size_t errlen);

/* A decimal integer of digits only (no sign, no spaces) from 0 to @p max,
 * all of @p s: the command lines of the generator and the simulator. */
bool gen_parse_u64(uint64_t *out, const char *s, uint64_t max);

/* Whether the generator makes records of @p collection. */
bool gen_knows(const char *collection);

/* One record of @p collection as a JSON line ending in '\n' (borrowed
 * until the next call); *len gets its length.  NULL when the collection is
 * unknown or no scope is set. */
const char *gen_record(gen *g, const char *collection, size_t *len);

/* Name the program in gen_die's messages (default "pingan-gen"). */
void gen_set_program(const char *name);

/* Print "PROGRAM: MESSAGE" to stderr and exit with @p status. */
void gen_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
