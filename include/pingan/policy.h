/**
 * @file pingan/policy.h
 * @brief Link policies (Art. 41 redaction), value transforms and partner
 *        pseudonyms.
 *
 * A link's policy says which collections it carries, which of their
 * records (a condition), and how each field's value leaves this node: one
 * of five transforms (DESIGN §6).  Every link has a built-in default that
 * follows the privacy classes; a policy file may change it, and the rules
 * below say how far.
 *
 * ## Transforms
 *
 * | transform    | applies to                     | what the peer gets |
 * |--------------|--------------------------------|--------------------------------|
 * | `keep`       | every field                    | the value | | `drop` |
 * every field but `division`     | nothing (withheld)             | | `mask` |
 * name, phone, id_number         | `张*`, `欧阳**`, `138****5678`, | | | |
 * `430302********1234`           | | `hash`       | id_number, phone, name,
 * text;  | a keyed pseudonym (below)      | |              | partner links only
 * |                                | | `generalize` | time, address | the year
 * in China Standard     | |              |                                |
 * Time ("1985"); the record's    | |              | | 12-digit division code |
 *
 * Values are normalised before `mask` and `hash` (pg_transform_normalize):
 * an ID number is upper-cased, a 15-digit one becomes 18 digits (insert
 * "19" after the address code, append the GB 11643 check character), and
 * it must then pass pg_id_number_check; a phone number loses spaces,
 * dashes and a `+86` or `0086` prefix and must then pass pg_phone_check; a
 * name loses leading and trailing spaces (U+0020, U+3000); text is taken
 * as it is.  A name is masked to its surname — its first character, or its
 * first two when they are one of the common compound surnames (复姓:
 * 欧阳, 司马, 诸葛, ...) and at least one character follows — and one `*`
 * for every further character (characters are Unicode code points).
 *
 * ## Pseudonyms
 *
 * `hash` gives lower-case hex of the first 16 bytes of
 * BLAKE2b-256(key = K, message = the normalised value): 32 characters, the
 * same on every node that holds K, e.g. with Python
 * `hashlib.blake2b(v, key=K, digest_size=32).hexdigest()[:32]`.
 *
 * K, the link's pseudonym key, is 32 bytes.  A partner agreement may name
 * a file holding it (`pseudonym_key_file`: 32 raw bytes, or 64 hex digits
 * and an optional newline; a regular file no one but its owner may read
 * or write, e.g. mode 0600).  Otherwise both cities derive the same K
 * from their X25519 keys, with no exchange:
 *
 *     K = BLAKE2b-256(key = X25519(own box secret, partner box public),
 *                     message = "pingan.pseudonym.v1" ‖ lower ‖ higher)
 *
 * where lower and higher are the two cities' X25519 public keys in
 * bytewise order.  A derived K is computed once and kept in the node
 * directory as `pseudonym-CODE.key` (mode 0600), so later key changes do
 * not change the pseudonyms; to derive it again, both cities remove their
 * file.  K is never printed or logged; its id, lower-case hex of the first
 * 8 bytes of BLAKE2b-256("pingan.pseudonym.id.v1" ‖ K), lets the two
 * administrators check that they hold the same key.
 *
 * Be honest about `hash`: ID and phone numbers come from small spaces, so
 * whoever holds K recovers them by enumeration.  A pseudonym protects
 * against relays and carriers of a bundle, not against the partner.
 *
 * ## Defaults (no policy file)
 *
 * - parent: every non-system collection; fields `keep`, but `sensitive`
 *   fields `drop` when the parent is above the county (a city).
 * - child: every non-system collection; fields `keep`.
 * - partner (the built-in Art. 8 agreement): `fraud_alert` (every record)
 *   and `dispute` where `cross_region = true`; public and internal fields
 *   `keep`; personal names `mask`, addresses `generalize`, every other
 *   personal field `drop`; `sensitive` fields `drop`.
 *
 * The system collection `node` is never carried by a policy: pingan
 * carries certificates itself.  Routing and caps (the path rule, DESIGN
 * §6) apply on top of what a policy carries.  `division` and the
 * tombstone `_deleted` are always kept.
 *
 * ## Policy files
 *
 * INI text (parsed with inih), UTF-8, lines of at most 197 bytes, `#` or
 * `;` starting a comment line, ` ;` starting a comment after a value:
 *
 *     # Xiangtan–Changsha Art. 8 agreement
 *     [agreement]
 *     id = xt-cs-2026-01            ; required: names the policy
 *     purpose = 联调                 ; optional, for people
 *     pseudonym_key_file = /etc/pingan/xt-cs.key   ; optional, partner only
 *
 *     [dispute]
 *     where = cross_region = true   ; only records whose field equals
 *     applicant_name = mask
 *     applicant_phone = hash
 *     applicant_id_number = hash
 *
 *     [fraud_alert]
 *     target_phone = hash
 *
 * A section `[COLLECTION]` holds `carry = yes|no`, `where = FIELD = VALUE`
 * (one equality on a bool, enum, text or division field; VALUE as
 * `pingan record put` takes it) and `FIELD = TRANSFORM` lines.  Each
 * section and each key appears at most once; lines do not start with a
 * space (inih would read them as continuations).
 *
 * - **Partner link**: the file is the agreement.  Only the collections it
 *   names are carried (each must be partner-shareable: `key_person`,
 *   `supervision` and `volunteer` are refused); a named collection without
 *   `where` carries every record; its unlisted fields get the partner
 *   defaults above.  Fields may be set to any transform that fits their
 *   type, but a `sensitive` field only to `drop`, and an ID number only to
 *   `hash` or `drop` (it never crosses a city line in clear or masked).
 * - **Parent and child links**: a file may only tighten the default:
 *   `carry = no`, a `where`, or a transform at least as strong as the
 *   default, in the order keep < mask = generalize < drop.  Anything
 *   weaker is refused, and so is any transform but `drop` of a
 *   `sensitive` field to a parent above the county.  `hash` is refused:
 *   pseudonym keys exist only between partner cities.
 *   `pseudonym_key_file` is refused too.
 * - A secret written in the file (`pseudonym_key = ...`, `key`, `secret`,
 *   `password`, ...) is refused: secrets are named by file.  Unknown
 *   sections, keys, collections, fields and transforms are refused.
 *
 * Errors read "FILE:LINE: message", name the line, and are PG_EINVALID
 * (malformed or unknown) or PG_EPOLICY (the rules above).
 *
 * ## Identity
 *
 * A policy's id is the file's `id`, or "default-parent", "default-child",
 * "default-partner".  Its hash is BLAKE2b-256 of a canonical encoding of
 * the effective rules (node/policy.c documents it): the same rules give
 * the same hash, whatever the file's comments, order or spelling.
 */
#ifndef PINGAN_POLICY_H
#define PINGAN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pingan/buf.h"
#include "pingan/node.h"
#include "pingan/peer.h"
#include "pingan/schema.h"
#include "pingan/value.h"

/** Transforms of a field's value.  Values are pinned. */
typedef enum pg_transform {
    PG_XF_KEEP = 0,
    PG_XF_DROP = 1,
    PG_XF_MASK = 2,
    PG_XF_HASH = 3,
    PG_XF_GENERALIZE = 4,
} pg_transform;

/** Largest policy text, in bytes. */
#define PG_POLICY_MAX (64 * 1024)
/** Length of a pseudonym key. */
#define PG_PSEUDONYM_KEY_LEN 32
/** Hex characters of a pseudonym (16 bytes). */
#define PG_PSEUDONYM_HEX_LEN 32
/** Hex characters of a pseudonym key's id (without the NUL). */
#define PG_PSEUDONYM_KEY_ID_LEN 16

/** "keep", "drop", "mask", "hash", "generalize"; "?" otherwise. */
const char *pg_transform_name(pg_transform t);

/**
 * The transform named by pg_transform_name().
 *
 * @return 0 or PG_EINVALID (no message set)
 */
int pg_transform_from_name(pg_transform *out, const char *name);

/**
 * True when transform @p t can apply to a field of type @p type (see the
 * table above; `hash` is further limited to partner links by the policy).
 */
bool pg_transform_fits(pg_transform t, pg_type type);

/** An effective link policy. */
typedef struct pg_policy pg_policy;

/**
 * Parse a policy text for the link from @p self to @p peer.
 *
 * The rules that depend on the link come from @p peer: its role, and for
 * a parent its tier.  A key file named by the text is not opened here
 * (pg_policy_pseudonym_key does).
 *
 * @param out    [out] the policy; NULL on failure
 * @param text   the policy text (need not be NUL-terminated)
 * @param len    its length, at most PG_POLICY_MAX
 * @param source the file's name, used in messages ("FILE:LINE: ...")
 * @param self   this node's card
 * @param peer   the peer at the other end of the link
 * @return 0; PG_EINVALID (malformed text, unknown section, key,
 *         collection, field or transform, a transform that does not fit
 *         its field, a secret written in the text, no `id`); PG_EPOLICY
 *         (loosening a default, a sensitive field kept where it may not
 *         go, a collection a partner may never receive, `hash` or a key
 *         file on a parent or child link); PG_ELIMIT (longer than
 *         PG_POLICY_MAX); PG_ENOMEM.  The caller frees *out with
 *         pg_policy_free.
 */
int pg_policy_parse(pg_policy **out, const char *text, size_t len,
                    const char *source, const pg_card *self,
                    const pg_peer *peer);

/**
 * pg_policy_parse for a link of @p node, against the schema the node runs
 * (pg_node_schema): a collection its version lacks is unknown.
 *
 * @return as pg_policy_parse
 */
int pg_policy_parse_node(pg_policy **out, const char *text, size_t len,
                         const char *source, const pg_node *node,
                         const pg_peer *peer);

/**
 * The default policy of the link from @p self to @p peer (table above).
 *
 * @return 0, PG_EINVALID (unknown role), PG_ENOMEM.  The caller frees
 *         *out with pg_policy_free.
 */
int pg_policy_default(pg_policy **out, const pg_card *self,
                      const pg_peer *peer);

/**
 * The effective policy of the link to @p peer: the text stored with the
 * peer (pg_peer_policy) parsed, else the default.  For a partner link the
 * pseudonym key is also made ready (derived and kept on first use, or its
 * file checked), so that pg_policy_describe shows its id.
 *
 * @return 0; what pg_peer_policy, pg_policy_parse and
 *         pg_policy_pseudonym_key return.  The caller frees *out with
 *         pg_policy_free.
 */
int pg_policy_load(pg_policy **out, pg_node *node, const pg_peer *peer);

/** Free a policy.  NULL-safe. */
void pg_policy_free(pg_policy *p);

/** The policy's id (borrowed, lives as long as @p p). */
const char *pg_policy_id(const pg_policy *p);

/** The policy's hash, PG_HASH_LEN bytes (borrowed). */
const uint8_t *pg_policy_hash(const pg_policy *p);

/** The role of the peer the policy is for. */
pg_peer_role pg_policy_role(const pg_policy *p);

/**
 * True when the link carries records of @p coll (matched by name, so a
 * collection of any schema version works).  Parent and child links carry
 * every non-system collection unless the file says `carry = no`; routing
 * and caps are applied elsewhere.  Never true for a system collection.
 */
bool pg_policy_carries(const pg_policy *p, const pg_collection *coll);

/**
 * The record condition of a carried collection.
 *
 * @param field [out] the field the condition tests (static schema data)
 * @param value [out] the value it must equal; its text is borrowed from
 *              @p p
 * @return true when the link carries only the records whose @p field
 *         equals @p value; false when it carries every record (or the
 *         collection is not carried), and then the outputs are untouched
 */
bool pg_policy_condition(const pg_policy *p, const pg_collection *coll,
                         const pg_field **field, pg_value *value);

/**
 * The transform of field @p f of @p coll (matched by name).  `division`
 * and `_deleted` are always PG_XF_KEEP; a field of a collection not
 * carried, or one the policy does not know, is PG_XF_DROP.
 */
pg_transform pg_policy_transform(const pg_policy *p, const pg_collection *coll,
                                 const pg_field *f);

/**
 * The pseudonym key of a partner link and its id.
 *
 * From the agreement's `pseudonym_key_file`, else the key kept in the node
 * directory, else derived (see above) and kept there.  The key is never
 * logged, and no message contains it.
 *
 * @param key  [out] the key; wipe it with pg_memzero when done
 * @param id   [out] its id, 16 hex characters and a NUL
 * @param node the open node at this end of the link
 * @param peer the partner (its X25519 key is read from the pinned card)
 * @param p    the link's policy
 * @return 0; PG_EINVALID (not a partner link); PG_ECORRUPT (a key file
 *         that is not private, not a regular file, of the wrong size or
 *         all zero); PG_ENOTFOUND (no key file where the agreement says,
 *         or the partner is not pinned); PG_EAUTH (the partner's X25519
 *         key is unusable); PG_ERROR (file system)
 */
int pg_policy_pseudonym_key(uint8_t key[PG_PSEUDONYM_KEY_LEN],
                            char id[PG_PSEUDONYM_KEY_ID_LEN + 1], pg_node *node,
                            const pg_peer *peer, const pg_policy *p);

/**
 * The derived text of a value under MASK, HASH or GENERALIZE.
 *
 * The contents of @p out are replaced (empty on failure).  An absent value
 * has no derived text: callers pass it on as absent.
 *
 * @param out      [out] the text (NUL-terminated)
 * @param t        PG_XF_MASK, PG_XF_HASH or PG_XF_GENERALIZE
 * @param f        the value's field (its type decides)
 * @param v        the value
 * @param division the record's 12-digit division (GENERALIZE of an
 *                 address); may be NULL otherwise
 * @param key      the pseudonym key (HASH); may be NULL otherwise
 * @return 0; PG_EINVALID when the transform does not apply (KEEP, DROP,
 *         a type it does not fit, an absent value or one of the wrong
 *         kind, a value that does not normalise, no key or division):
 *         the caller drops the value; PG_ELIMIT, PG_ENOMEM
 */
int pg_transform_value(pg_buf *out, pg_transform t, const pg_field *f,
                       const pg_value *v, const char *division,
                       const uint8_t key[PG_PSEUDONYM_KEY_LEN]);

/**
 * The normalised form of a text value of type @p type (see above): the
 * form `mask` and `hash` start from.  Types other than id_number, phone
 * and name are copied as they are.
 *
 * @param out [out] replaced by the normalised text
 * @return 0, PG_EINVALID (message says what is wrong), PG_ELIMIT,
 *         PG_ENOMEM
 */
int pg_transform_normalize(pg_buf *out, pg_type type, const char *s,
                           size_t len);

/**
 * The pseudonym of a value of type @p type (id_number, phone, name or
 * text) under @p key: 32 lower-case hex characters.
 *
 * @param out [out] replaced by the pseudonym
 * @return 0, PG_EINVALID (wrong type, or the value does not normalise),
 *         PG_ENOMEM
 */
int pg_transform_pseudonym(pg_buf *out, pg_type type, const char *s, size_t len,
                           const uint8_t key[PG_PSEUDONYM_KEY_LEN]);

/**
 * Describe the effective policy, as human text or as JSON: id, hash,
 * role and peer, source, purpose, pseudonym key id (after
 * pg_policy_load; never the key), each carried collection with its
 * condition and every field's transform, and the collections not carried.
 *
 * JSON: {"id", "hash", "role", "peer", "peer_tier", "source", "purpose"
 * (or null), "pseudonym_key": {"id", "source": "derived"|"file"} or null,
 * "collections": [{"name", "where": {"field", "value"} or null, "fields":
 * [{"name", "type", "privacy", "transform"}]}], "not_carried": [names]}.
 *
 * @param out [out] the text is appended
 * @return 0, PG_ELIMIT, PG_ENOMEM
 */
int pg_policy_describe(pg_buf *out, const pg_policy *p, bool json);

#endif
