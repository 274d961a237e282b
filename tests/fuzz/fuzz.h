/*
 * Shared helpers of the fuzz targets (tests/fuzz/fuzz_<target>.c) and of
 * the seed generator (gen_corpus.c).  Everything here is deterministic:
 * keys come from fixed seeds, times are fixed, so that a crashing input
 * replays the same way anywhere.
 */
#ifndef PINGAN_FUZZ_H
#define PINGAN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "pingan/buf.h"
#include "pingan/crypto.h"
#include "pingan/node.h"

/* Every target defines these (libFuzzer's interface); replay.c calls
 * them without libFuzzer. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A node's identity made from a fixed seed: its card (self-signed) and
 * secret keys. */
typedef struct fuzz_identity {
    pg_card card;
    uint8_t sign_sk[PG_SIGN_SK_LEN];
    uint8_t box_sk[PG_BOX_SK_LEN];
} fuzz_identity;

/* The fixed time every harness uses (2026-01-01T00:00:00Z). */
#define FUZZ_TIME_MS 1767225600000LL

/* The sender (湘潭县) and recipient (湘潭市) of the harness bundles. */
#define FUZZ_SENDER    "430321000000"
#define FUZZ_RECIPIENT "430300000000"

/* Make the identity of `code` from the one-byte seed `seed`; aborts on
 * failure (a harness bug, not a finding). */
void fuzz_identity_make(fuzz_identity *id, const char *code, const char *name,
                        uint8_t seed);

/* The sender's and the recipient's identities (made once). */
const fuzz_identity *fuzz_sender(void);
const fuzz_identity *fuzz_recipient(void);

/* What fuzz_bundle_seal puts into the header. */
typedef struct fuzz_bundle_spec {
    uint64_t cards;
    uint64_t txns;
    uint64_t range_first, range_last;
    uint32_t frame_max;
} fuzz_bundle_spec;

/*
 * A whole bundle from the sender to the recipient whose frames carry
 * `content` (the plaintext: normally one zstd frame), correctly sealed
 * and signed, so that the reader gets past every signature and into the
 * decryption, decompression and batch decoding.  The stream key is fixed,
 * but the bytes are not: its sealed box (crypto_box_seal, with an ephemeral
 * key pair) and the secretstream header (and so every frame's ciphertext)
 * are random, so two calls on the same input give different bundles.
 * Aborts on failure.
 */
void fuzz_bundle_seal(pg_buf *out, const fuzz_bundle_spec *spec,
                      const uint8_t *content, size_t len);

/* A fresh temporary directory (removed at exit); aborts on failure. */
const char *fuzz_tmpdir(void);

/* Remove a directory and the files in it (no subdirectories: a node
 * directory); aborts if anything is left. */
void fuzz_remove_flat(const char *dir);

/* The passphrase of the harness backups, and the lowest key derivation
 * cost the backup format accepts (FORMAT.md §10.1), which the seeds and
 * the harnesses use so that a run is cheap. */
#define FUZZ_BACKUP_PASS    "fuzz passphrase 湘潭"
#define FUZZ_BACKUP_OPS     1
#define FUZZ_BACKUP_MEM_KIB 8

/* The size of a backup's header (FORMAT.md §10.1). */
#define FUZZ_BACKUP_HEADER_LEN 56

/*
 * A backup file made from plaintext parts (FORMAT.md §10.1): the header
 * with FUZZ_BACKUP_OPS / FUZZ_BACKUP_MEM_KIB and a fixed salt, the first
 * part repeating it, then `parts`: each `u8 kind ‖ u32 BE length ‖
 * bytes` (a short last record takes what is left); kind bit 0 tags the
 * part FINAL, bit 1 puts the bytes into the file as they are (not
 * encrypted, no length).  The key is derived once.
 */
void fuzz_backup_seal(pg_buf *out, const uint8_t *parts, size_t len);

/*
 * Restore a backup file's bytes (pg_recovery_restore, FUZZ_BACKUP_PASS)
 * into a new directory of a temporary directory made on the first call,
 * and check what restore promises: a failure leaves nothing behind, a
 * restored node opens and is on hold.  Removes whatever it wrote.
 */
void fuzz_restore(const uint8_t *data, size_t size);

/* With PINGAN_FUZZ_DEBUG set in the environment, print what a call
 * returned and its message (to see how far an input gets). */
void fuzz_note(const char *what, int rc);

/* After a call that failed: abort unless its message is one line with
 * no control characters (pg_error's promise: input from outside must not
 * reach the message raw). */
void fuzz_check_message(const char *what);

/* Abort with a message: a harness failure or a broken invariant. */
void fuzz_die(const char *what) __attribute__((noreturn));

#endif
