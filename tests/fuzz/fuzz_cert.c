/*
 * fuzz_cert: a certificate as text parts (pg_cert_from_row: a row of the
 * `node` collection that sync delivers, or a certificate of a bundle
 * header's chain), then its check against the city's key
 * (pg_cert_verify).
 *
 * Input: the row's eleven parts, one a line: code, name, tier, sign_pk,
 * box_pk, key_id, suite, issuer, issuer_key_id, valid_from, signature
 * (missing lines are empty; suite and valid_from in decimal).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "pingan/cert.h"
#include "pingan/error.h"

#define PARTS 11

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char *part[PARTS];
    pg_cert cert;

    if (!text)
        fuzz_die("out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    char *p = text;
    for (size_t i = 0; i < PARTS; i++) {
        part[i] = p;
        char *nl = strchr(p, '\n');
        if (nl) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p += strlen(p);
        }
    }
    pg_cert_row row = {.code = part[0],
                       .name = part[1],
                       .tier = part[2],
                       .sign_pk = part[3],
                       .box_pk = part[4],
                       .key_id = part[5],
                       .suite = strtoll(part[6], NULL, 10),
                       .issuer = part[7],
                       .issuer_key_id = part[8],
                       .valid_from = strtoll(part[9], NULL, 10),
                       .signature = part[10]};
    int rc = pg_cert_from_row(&cert, &row);
    if (rc == 0) {
        pg_field_value fields[PG_CERT_FIELDS];
        pg_cert_text ctext;
        pg_cert_to_fields(fields, &ctext, &cert);
        rc = pg_cert_verify(&cert, fuzz_recipient()->card.sign_pk);
    }
    fuzz_note("cert", rc);
    pg_error_clear();
    free(text);
    return 0;
}
