/*
 * fuzz_card: a node's card as JSON (pg_card_from_json, which also
 * verifies it: pg_card_verify), as `pingan peer add` reads it from a
 * file.  A card accepted once must print (pg_card_to_json) and parse
 * back to the same card.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "pingan/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_card card, back;

    int rc = pg_card_from_json(&card, (const char *)data, size);
    fuzz_note("card", rc);
    if (rc < 0) {
        pg_error_clear();
        return 0;
    }
    char *json = pg_card_to_json(&card);
    if (!json)
        fuzz_die("pg_card_to_json");
    if (pg_card_from_json(&back, json, strlen(json)) < 0)
        fuzz_die("an accepted card does not parse back");
    free(json);
    if (strcmp(back.code, card.code) != 0 ||
        strcmp(back.name, card.name) != 0 || back.tier != card.tier ||
        back.suite != card.suite || back.created_ms != card.created_ms ||
        memcmp(back.sign_pk, card.sign_pk, PG_SIGN_PK_LEN) != 0 ||
        memcmp(back.box_pk, card.box_pk, PG_BOX_PK_LEN) != 0 ||
        memcmp(back.signature, card.signature, PG_SIG_LEN) != 0 ||
        strcmp(back.key_id, card.key_id) != 0)
        fuzz_die("an accepted card parses back to another card");
    /* The parsed card is verified once more, as a bundle's would be. */
    if (pg_card_verify(&card) < 0)
        fuzz_die("an accepted card does not verify");
    return 0;
}
