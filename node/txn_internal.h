/* Internal to the txn modules (txn.c, txn_codec.c). */
#ifndef PINGAN_NODE_TXN_INTERNAL_H
#define PINGAN_NODE_TXN_INTERNAL_H

#include "pingan/txn.h"

/* Copy n bytes into the txn's arena, NUL-terminated; NULL on no memory.
 * The copy lives until pg_txn_reset or pg_txn_free. */
char *pg_txn__strndup(pg_txn *txn, const char *s, size_t n);

#endif
