/*
 * pingan-forge-bundle: write a bundle that claims a schema version, for
 * tests/cli/versions.sh (DESIGN §2: a bundle made under a version the
 * receiver does not run is refused whole, "upgrade to ≥ X").
 *
 *   pingan-forge-bundle FROMDIR TODIR OUT VERSION
 *
 * The bundle is made as FROMDIR's node makes one for TODIR's node (signed
 * with FROMDIR's key, sealed to TODIR's), holds no txn, and says VERSION
 * in its header, with that version's hash when this build knows it and
 * a made-up one otherwise.  Exit status 0, 1 on failure, 2 on a usage
 * error.
 */
#include "bundle.h"
#include "node_internal.h"
#include "pingan/crypto.h"
#include "pingan/error.h"
#include "pingan/node.h"
#include "pingan/schema.h"
#include "pingan/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int forge(const char *from_dir, const char *to_dir, const char *out,
                 unsigned version)
{
    pg_node *from = NULL, *to = NULL;
    pg_bundle_writer *w = NULL;
    pg_bundle_info info;
    FILE *f = NULL;
    int error;

    if ((error = pg_node_open(&from, from_dir)) < 0 ||
        (error = pg_node_open(&to, to_dir)) < 0)
        goto done;
    const pg_card *card = pg_node_card(to);
    if ((error = pg_bundle_writer_new(&w, pg_node__sign_sk(from), card->box_pk,
                                      0)) < 0)
        goto done;
    memset(&info, 0, sizeof(info));
    memcpy(info.sender, pg_node_code(from), PG_CODE_LEN + 1);
    memcpy(info.recipient, card->code, PG_CODE_LEN + 1);
    memcpy(info.recipient_key_id, card->key_id, PG_KEY_ID_LEN + 1);
    info.schema_version = version;
    if (pg_schema_get(version))
        memcpy(info.schema_hash, pg_schema_get(version)->hash, PG_HASH_LEN);
    else if ((error = pg_blake2b(info.schema_hash, PG_HASH_LEN,
                                 "a schema from the future", 24)) < 0)
        goto done;
    info.created_ms = pg_time_now_ms();
    if (!(f = fopen(out, "wb"))) {
        error = PG_ERROR;
        perror(out);
        goto done;
    }
    error = pg_bundle_writer_finish(w, &info, f);
    if (fclose(f) != 0 && error == 0)
        error = PG_ERROR;

done:
    if (error < 0 && pg_error_last()->message[0])
        fprintf(stderr, "pingan-forge-bundle: %s\n", pg_error_last()->message);
    pg_bundle_writer_free(w);
    pg_node_free(from);
    pg_node_free(to);
    return error;
}

int main(int argc, char **argv)
{
    char *end;

    if (argc != 5) {
        fprintf(stderr,
                "usage: pingan-forge-bundle FROMDIR TODIR OUT VERSION\n");
        return 2;
    }
    unsigned long v = strtoul(argv[4], &end, 10);
    if (*end || v == 0 || v > 1000) {
        fprintf(stderr, "pingan-forge-bundle: bad VERSION '%s'\n", argv[4]);
        return 2;
    }
    return forge(argv[1], argv[2], argv[3], (unsigned)v) < 0 ? 1 : 0;
}
