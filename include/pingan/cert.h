/**
 * @file pingan/cert.h
 * @brief Node certificates (DESIGN §7): an issuer vouches for the keys of
 * a node strictly inside its own jurisdiction.
 *
 * A certificate binds a node's code, name, tier and public keys to the
 * issuer that signed them.  The city's self-signed card is the root; a
 * county's certificate is signed by the city, a township's by its county,
 * and so on down.  Certificates live as records of the system collection
 * `node` (division = the certified code), so they replicate with ordinary
 * sync; the chain of a parent also travels in the header of the bundles it
 * sends a child.  The issuer signs, in the encoding of DESIGN §3:
 *
 *     BLAKE2b-256(str("pingan.cert.v1") ‖ u8 suite ‖ str(code) ‖ str(name)
 *                 ‖ str(tier) ‖ sign_pk[32] ‖ box_pk[32] ‖ str(issuer)
 *                 ‖ str(issuer key id) ‖ u64 valid_from)
 */
#ifndef PINGAN_CERT_H
#define PINGAN_CERT_H

#include <stdbool.h>
#include <stdint.h>

#include "pingan/node.h"
#include "pingan/record.h"

/** Most certificates in a chain: community, township, county. */
#define PG_CERT_CHAIN_MAX 4

/** A node certificate. */
typedef struct pg_cert {
    pg_card subject; /**< code, name, tier, keys, key id, suite */
    char issuer[PG_CODE_LEN + 1];
    char issuer_key_id[PG_KEY_ID_LEN + 1];
    int64_t valid_from; /**< ms since the epoch */
    uint8_t signature[PG_SIG_LEN];
} pg_cert;

/**
 * Issue a certificate for @p subject (a verified card) as @p issuer, whose
 * secret signing key is @p sk.  The subject must lie strictly inside the
 * issuer's jurisdiction.
 *
 * @return 0 or PG_EPOLICY (outside the issuer's jurisdiction)
 */
int pg_cert_issue(pg_cert *out, const pg_card *issuer,
                  const uint8_t sk[PG_SIGN_SK_LEN], const pg_card *subject,
                  int64_t valid_from);

/**
 * Check a certificate against its issuer's signing key: well-formed
 * subject (valid code of the named tier, key id of sign_pk), issuer
 * strictly above the subject, and the signature.
 *
 * @return 0, PG_EINVALID (malformed), PG_EPOLICY (issuer does not cover
 * the subject), PG_EAUTH (signature)
 */
int pg_cert_verify(const pg_cert *cert,
                   const uint8_t issuer_pk[PG_SIGN_PK_LEN]);

/** Number of fields pg_cert_to_fields() fills. */
#define PG_CERT_FIELDS 12

/** Text buffers backing the values of pg_cert_to_fields(). */
typedef struct pg_cert_text {
    char sign_pk[2 * PG_SIGN_PK_LEN + 1];
    char box_pk[2 * PG_BOX_PK_LEN + 1];
    char signature[2 * PG_SIG_LEN + 1];
} pg_cert_text;

/**
 * The values of a `node` record holding @p cert (division, code, name,
 * tier, sign_pk, box_pk, key_id, suite, issuer, issuer_key_id,
 * valid_from, certificate_sig).  Strings point into @p cert and @p text.
 */
void pg_cert_to_fields(pg_field_value out[PG_CERT_FIELDS], pg_cert_text *text,
                       const pg_cert *cert);

/** A certificate's parts as text (a row of the `node` table). */
typedef struct pg_cert_row {
    const char *code, *name, *tier, *sign_pk, *box_pk, *key_id;
    int64_t suite;
    const char *issuer, *issuer_key_id;
    int64_t valid_from;
    const char *signature;
} pg_cert_row;

/**
 * Rebuild a certificate from its text parts, checking their form (not
 * the signature: see pg_cert_verify()).
 *
 * @return 0 or PG_EINVALID
 */
int pg_cert_from_row(pg_cert *out, const pg_cert_row *row);

#endif
