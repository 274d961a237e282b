/* Internal to the txn modules (txn.c, txn_codec.c, txn_redact.c). */
#ifndef PINGAN_NODE_TXN_INTERNAL_H
#define PINGAN_NODE_TXN_INTERNAL_H

#include "pingan/txn.h"

/* Copy n bytes into the txn's arena, NUL-terminated; NULL on no memory.
 * The copy lives until pg_txn_reset or pg_txn_free. */
char *pg_txn__strndup(pg_txn *txn, const char *s, size_t n);

/* Room for @p n notes (hop signatures) in txn->notes (txn->hop_sigs),
 * without changing nnotes (nhop_sigs): 0 or PG_ENOMEM. */
int pg_txn__reserve_notes(pg_txn *txn, size_t n);
int pg_txn__reserve_hop_sigs(pg_txn *txn, size_t n);

/* The salt of change @p c from txn->seed (DESIGN §3): 0 or PG_ENOMEM. */
int pg_txn__salt(uint8_t salt[PG_SALT_LEN], const pg_txn *txn,
                 const pg_change *c);

/* The commit of change @p c from its salt and value: 0, PG_EINVALID (a
 * value that cannot be encoded) or PG_ENOMEM. */
int pg_txn__commit(uint8_t commit[PG_HASH_LEN], const pg_change *c);

/* The structure of the notes and hop signatures that does not depend on
 * the changes or on any key: each note's and signature's own fields,
 * limits, no seed with notes, counts strictly increasing from above 0 to
 * nnotes, the notes a signature adds all by its hop, a hop signing once.
 * 0, or -1 with @p what (of @p len bytes) saying which and what is wrong;
 * sets no error. */
int pg_txn__check_notes(const pg_txn *txn, char *what, size_t len);

/* The transform the last note on (ch's record id, field) names, or NULL
 * when no hop redacted the change. */
const char *pg_txn__last_transform(const pg_txn *txn, const pg_change *ch);

/* Longest collection or field name in a txn. */
#define PG_TXN__NAME_MAX 64

/* The forms a txn's strings take: a 12-digit division code; a name
 * ([a-z0-9_], 1 .. max bytes); n lower-case hex digits. */
bool pg_txn__is_code(const char *s);
bool pg_txn__is_name(const char *s, size_t max);
bool pg_txn__is_hex(const char *s, size_t n);

#endif
