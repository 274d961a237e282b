/*
 * fuzz_backup_open: the parts of a backup behind its encryption
 * (proto/FORMAT.md §10.1), as pg_recovery_restore reads them: file
 * headers ('F': name, mode, size), data ('D'), the end ('E' and the FINAL
 * tag), the files a backup may hold, the node they make (its store must
 * open and pass SQLite's check) and what may follow the last part.  The
 * harness encrypts each input itself under the fixed passphrase
 * (fuzz_backup_seal: lowest key derivation cost, key derived once), so
 * mutations reach past the authentication.
 *
 * Input: records `u8 kind ‖ u32 BE length ‖ bytes` (kind bit 0: tag the
 * part FINAL; bit 1: put the bytes into the file unencrypted).  The
 * seeds are real backups decrypted by gen_corpus.c.  Checks as
 * fuzz_backup (fuzz_restore).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_buf file;
    pg_buf_init(&file, PG_BUF_DEFAULT_MAX);
    fuzz_backup_seal(&file, data, size);
    fuzz_restore(file.data, file.len);
    pg_buf_dispose(&file);
    return 0;
}
