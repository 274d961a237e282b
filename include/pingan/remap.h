/**
 * @file pingan/remap.h
 * @brief Division remaps (区划调整): a retired code and the code that
 * replaces it.
 *
 * Division codes change every year (DOMAIN 2.1): villages merge, a town
 * becomes a subdistrict and gets a 0xx code.  A remap is a record of the
 * system collection `division_remap`, written by the node whose
 * jurisdiction holds both codes and filed under that node's code, so it
 * travels like a certificate: up the issuer's path and down its whole
 * subtree.  Records keep the division they were written with (their txns
 * are signed); a code is *resolved* wherever it is reported or routed.
 *
 * **Resolution rule.**  A non-deleted remap row covers a code when the
 * code lies inside OLD's jurisdiction prefix (a township's remap covers
 * its villages; a village's covers that village only).  Among the rows
 * covering a code, the one with the longest OLD prefix applies; ties go
 * to the smallest issuer code (the highest ancestor on one path), then
 * the latest `effective_at` (absent counts as 0), then the smallest
 * new_code, then the smallest id.  Applying it replaces the code's first
 * prefix-length digits by NEW's.  This repeats until no row covers the
 * code (a chain 2021 -> 2022 -> 2023), at most PG_REMAP_MAX_STEPS times;
 * a chain that comes back to a code it passed (a cycle, possible only
 * between remaps of different issuers that crossed) leaves the code
 * unresolved: it stands as stored.
 */
#ifndef PINGAN_REMAP_H
#define PINGAN_REMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/ulid.h"

/** Longest chain of remaps followed. */
#define PG_REMAP_MAX_STEPS 16

/** A remap as stored (one `division_remap` record). */
typedef struct pg_remap {
    char id[PG_RECORD_ID_LEN + 1]; /**< "" when not written yet */
    char issuer[PG_CODE_LEN + 1];  /**< the record's division */
    char old_code[PG_CODE_LEN + 1];
    char new_code[PG_CODE_LEN + 1];
    char new_name[257];   /**< "" when none */
    char reason[64];      /**< one of the schema's reasons; "" when none */
    int64_t effective_at; /**< UTC ms; 0 when none */
    char document_no[65]; /**< "" when none */
} pg_remap;

/**
 * Record a remap: one signed txn of `division_remap`, filed under this
 * node's code, and an audit entry (`division.remap`), in one SQLite
 * transaction.  The caller fills old_code, new_code and optionally
 * new_name, reason, effective_at (0: now) and document_no; id and issuer
 * are set on success.
 *
 * Refused (PG_EINVALID) unless both codes are well-formed 12-digit codes
 * of one tier and differ; refused (PG_EPOLICY) when OLD is this node's own
 * code or an ancestor's, or either code lies outside this node's
 * jurisdiction; refused (PG_EINVALID) when the remap would close a
 * cycle; refused (PG_EEXISTS) when OLD is already remapped (the message
 * names the code and the issuer).  With @p correct, OLD may already be
 * remapped by this node alone: the new remap supersedes the earlier ones,
 * which must have an earlier effective_at (the resolution rule prefers the
 * latest; PG_EINVALID otherwise).
 *
 * @return 0 or the error above; PG_EBUSY, PG_ERROR.  Nothing is written on
 *         failure.
 */
int pg_remap_put(pg_node *node, pg_remap *remap, bool correct);

/** Called for each remap listed; non-zero stops the listing. */
typedef int (*pg_remap_cb)(const pg_remap *remap, void *payload);

/**
 * The remaps known here (deleted ones left out), by old_code, then issuer,
 * then effective_at.
 * @return 0, PG_ERROR, or what @p cb returned
 */
int pg_remap_list(pg_node *node, pg_remap_cb cb, void *payload);

/** How a code resolved: the remaps applied, in order. */
typedef struct pg_resolution {
    char code[PG_CODE_LEN + 1]; /**< the resolved code */
    size_t nsteps;
    pg_remap steps[PG_REMAP_MAX_STEPS];
    bool cycle; /**< the chain came back to a code: left unresolved */
} pg_resolution;

/**
 * Resolve a code by the remaps known here (the rule above).
 * @param out  [out] the resolved code; @p code itself when no remap
 *             applies or the remaps cannot be read; "" for a malformed
 *             code
 * @param code a well-formed 12-digit code
 * @return 0, PG_EINVALID (malformed code), PG_ERROR, PG_ENOMEM
 */
int pg_division_resolve(pg_node *node, const char *code,
                        char out[PG_CODE_LEN + 1]);

/** pg_division_resolve() with the steps that led there. */
int pg_division_explain(pg_node *node, const char *code, pg_resolution *out);

#endif
