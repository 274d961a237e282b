/*
 * Bundles: the signed, encrypted, compressed container of txns exchanged
 * between two linked nodes (DESIGN §4, proto/FORMAT.md §6).  Internal to
 * libpingan.
 *
 * Layout:
 *   preamble  "PGNB" ‖ u8 format (1) ‖ u8 suite (1) ‖ sender key id (8 raw
 *             bytes) ‖ u32 header length (1 .. PG_BUNDLE_HEADER_MAX)
 *   header    pingan.v1.BundleHeader ‖ Ed25519 signature (64) over
 *             preamble ‖ header
 *   frames    u32 length ‖ secretstream ciphertext: frame_max + 17 bytes
 *             each but the last, which is shorter or equal and carries the
 *             FINAL tag; their plaintexts concatenated are one zstd frame
 *             (or nothing, for a bundle without cards and txns) whose
 *             content is a sequence of u32 length ‖ pingan.v1.TxnBatch
 *             (each batch 1 .. PG_BUNDLE_BATCH_MAX bytes)
 *   trailer   u32 0 (end mark) ‖ Ed25519 signature (64) over
 *             BLAKE2b-512(str("pingan.bundle.v1") ‖ every byte from the
 *             preamble through the end mark)
 *
 * The writer keeps constant memory: frames go to an anonymous temporary
 * file until pg_bundle_writer_finish() knows the counts and range for the
 * header.  The reader keeps constant memory for any bundle size and calls
 * back for each card and txn as it decodes them; it returns 0 only once
 * the trailer's signature has verified, so the caller applies everything
 * inside one SQLite transaction and commits only on 0.
 */
#ifndef PINGAN_SYNC_BUNDLE_H
#define PINGAN_SYNC_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pingan/audit.h"
#include "pingan/cert.h"
#include "pingan/crypto.h"
#include "pingan/division.h"
#include "pingan/node.h"

#define PG_BUNDLE_MAGIC      "PGNB"
#define PG_BUNDLE_FORMAT     1
#define PG_BUNDLE_PREAMBLE   18 /* 4 + 1 + 1 + 8 + 4 */
#define PG_BUNDLE_HEADER_MAX (64 * 1024)
#define PG_BUNDLE_FRAME_MAX  (1024 * 1024) /* plaintext bytes a frame */
#define PG_BUNDLE_BATCH_MAX  (2 * 1024 * 1024)
#define PG_BUNDLE_CARDS_MAX  4096
/* Decompression limits (FORMAT.md §6.5): the zstd window, and the most
 * the batches may expand to: max(FLOOR, RATIO x compressed bytes read). */
#define PG_BUNDLE_WINDOW_LOG_MAX 24
#define PG_BUNDLE_EXPAND_FLOOR   ((uint64_t)64 << 20)
#define PG_BUNDLE_EXPAND_RATIO   256

/* What a bundle's header says, plus what reading it found. */
typedef struct pg_bundle_info {
    unsigned format;
    unsigned suite;
    char sender[PG_CODE_LEN + 1];
    char sender_key_id[PG_KEY_ID_LEN + 1];
    char recipient[PG_CODE_LEN + 1];
    char recipient_key_id[PG_KEY_ID_LEN + 1];
    unsigned schema_version;
    uint8_t schema_hash[PG_HASH_LEN];
    int64_t created_ms;
    uint64_t range_first; /* 0 when the bundle covers no log entry */
    uint64_t range_last;
    uint64_t ack_upto;
    uint64_t txns;
    uint64_t cards;
    uint32_t frame_max;
    /* The sender's chain of trust (the caller fills it in; the reader
     * checks its form and the root's self-signature, not the chain). */
    bool has_root;
    pg_card root;
    size_t nchain;
    pg_cert chain[PG_CERT_CHAIN_MAX];
    /* Header field 20 (FORMAT.md §10.3): to a child, the highest seq of
     * the child's own txns the sender holds; to a parent, a restored
     * child's highest own seq, asking for the newer ones back. */
    bool has_held;
    uint64_t held_seq;
    /* Audit chain heads (field 19; the caller fills them in, the reader
     * checks their form): the sender's own head (to its parent), and the
     * recipient's head as the sender holds it (to a child). */
    bool has_audit_own;
    pg_audit_head audit_own;
    bool has_audit_seen;
    pg_audit_head audit_seen;
    /* Filled by the reader: */
    uint64_t header_bytes; /* preamble + header + its signature */
    uint64_t frames;
    uint64_t bytes;       /* whole bundle, trailer included */
    uint64_t plain_bytes; /* decompressed batch bytes (0 when not opened) */
    bool header_ok;       /* header signature verified */
    bool opened;          /* the box key opened the stream key (false
                           * while the header callback runs) */
    bool trailer_ok;      /* trailer signature verified */
} pg_bundle_info;

/* --- writing -------------------------------------------------------- */

typedef struct pg_bundle_writer pg_bundle_writer;

/*
 * Start a bundle.  frame_max is the plaintext size of a frame (1 to
 * PG_BUNDLE_FRAME_MAX; 0 means PG_BUNDLE_FRAME_MAX).  A fresh stream key
 * is drawn and sealed to recipient_box_pk.  The keys are borrowed until
 * pg_bundle_writer_free().
 */
int pg_bundle_writer_new(pg_bundle_writer **out,
                         const uint8_t sign_sk[PG_SIGN_SK_LEN],
                         const uint8_t recipient_box_pk[PG_BOX_PK_LEN],
                         size_t frame_max);

/* Add a card (cards precede the txns that need them).  The card is
 * verified first.  Returns 0, PG_EINVALID (after a txn), PG_EAUTH (bad
 * self-signature), PG_ELIMIT (more than PG_BUNDLE_CARDS_MAX), PG_ERROR
 * (I/O), PG_ENOMEM. */
int pg_bundle_writer_add_card(pg_bundle_writer *w, const pg_card *card);

/* Add a txn: its sender log seq and its stored protobuf bytes (copied).
 * Seqs ascend strictly from 1.  Returns 0, PG_EINVALID (seq or empty txn),
 * PG_ELIMIT (over PG_BUNDLE_BATCH_MAX encoded), PG_ERROR (I/O), PG_ENOMEM.
 */
int pg_bundle_writer_add_txn(pg_bundle_writer *w, uint64_t seq,
                             const uint8_t *txn, size_t len);

/* Bytes the bundle would have if finished now (an upper estimate). */
uint64_t pg_bundle_writer_size(const pg_bundle_writer *w);

/*
 * Write the whole bundle to out: the caller fills in info the sender,
 * recipient (and its key id), schema, created time, range and ack; the
 * writer fills in format, suite, sender key id, counts and frame_max, and
 * header_bytes, frames, bytes and plain_bytes.  The range must cover the
 * seqs added.  Returns 0, PG_EINVALID (bad info, or finished already: a
 * bad info leaves the writer usable), PG_ERROR (I/O), PG_ENOMEM.  May
 * succeed once.
 */
int pg_bundle_writer_finish(pg_bundle_writer *w, pg_bundle_info *info,
                            FILE *out);

void pg_bundle_writer_free(pg_bundle_writer *w);

/* --- reading -------------------------------------------------------- */

typedef struct pg_bundle_ops {
    /* The sender's public key for the preamble's key id; return a
     * negative pg error (with a message set) when unknown: the bundle is
     * refused before anything else is read.  Returning 1 instead reads
     * the bundle unverified (inspection only): no signature is checked,
     * the frames are not opened, header_ok and trailer_ok stay false. */
    int (*signer)(void *ctx, const char *key_id, uint8_t pk[PG_SIGN_PK_LEN]);
    /* The verified header; return < 0 to refuse the bundle (wrong
     * recipient, newer schema, ...), 1 to read on without opening the
     * frames (as with box_sk NULL).  May be NULL. */
    int (*header)(void *ctx, const pg_bundle_info *info);
    /* A card whose self-signature verified; it precedes the txns that
     * need it.  May be NULL. */
    int (*card)(void *ctx, const pg_card *card);
    /* A txn entry (bytes valid during the call only).  May be NULL. */
    int (*txn)(void *ctx, uint64_t seq, const uint8_t *txn, size_t len);
} pg_bundle_ops;

/*
 * Read a bundle from in.  With box_sk NULL the frames are not decrypted
 * (inspection by someone other than the recipient): only the framing and
 * both signatures are checked.  Returns 0 only when the whole bundle is
 * well formed and the trailer signature verified; otherwise a negative pg
 * error with a message naming what was wrong and at which byte offset:
 * PG_EINVALID (malformed, truncated, trailing bytes, over a limit),
 * PG_EAUTH (a signature, the sealed key or a frame does not verify),
 * PG_ERROR (I/O), PG_ENOMEM, or what a callback returned.  Callbacks may
 * already have been called when it fails.  info (may be NULL) receives
 * what was learnt even on failure.
 */
int pg_bundle_read(FILE *in, const uint8_t *box_sk, const pg_bundle_ops *ops,
                   void *ctx, pg_bundle_info *info);

#endif
