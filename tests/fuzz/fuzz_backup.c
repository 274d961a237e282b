/*
 * fuzz_backup: a backup file (proto/FORMAT.md §10.1) as `pingan restore`
 * reads it (pg_recovery_restore): the header and its key derivation
 * parameters, the secret stream and, for the seeds, every part behind it
 * and the node it restores.  The passphrase is fixed (FUZZ_BACKUP_PASS);
 * the seeds are written with the lowest key derivation cost the format
 * accepts (1 pass, 8 KiB), so that a run costs little.  A mutated header
 * may ask for up to 16 passes over 1 GiB, which the format allows and
 * which would make a run take seconds: the harness skips an input whose
 * parameters are within the format's bounds but above 4 passes or 1 MiB
 * (parameters out of bounds are fed: restore must refuse them before
 * deriving a key).  Mutations of the encrypted parts do not
 * authenticate: fuzz_backup_open reaches the parts behind the encryption.
 *
 * Each input is written to a file in a temporary directory made once and
 * restored beside it (fuzz_restore): a failure must leave nothing behind
 * and its message must stay one line, a restored node must open and be on
 * hold; whatever a run wrote is removed before the next one.
 */
#include "fuzz.h"

#include <stdbool.h>

#define CHEAP_OPS     4
#define CHEAP_MEM_KIB 1024

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 16) {
        uint32_t ops = get_u32(data + 8), mem = get_u32(data + 12);
        bool in_bounds = ops >= 1 && ops <= PG_PWHASH_OPS_MAX && mem >= 8 &&
                         mem <= PG_PWHASH_MEMKIB_MAX;
        if (in_bounds && (ops > CHEAP_OPS || mem > CHEAP_MEM_KIB))
            return 0;
    }
    fuzz_restore(data, size);
    return 0;
}
