/*
 * The peers' side of a key rotation (pingan/recovery.h): check a rekey
 * card against the key pinned for its node; at the parent, revoke the old
 * key after the seq the card names and pin and certify the new card; at a
 * child (or partner) of the rekeyed node, pin the new card.  The
 * revocation and the new certificate are ordinary `node` txns, so they
 * reach the grandparent and the rest of the path with the next sync.
 */
#include "pingan/recovery.h"
#include "audit_internal.h"
#include "keys.h"
#include "node_internal.h"
#include "store.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/peer.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int pg_recovery_certify(pg_node *node, const char *json, size_t len,
                        const char *operator_name, pg_recovery_certified *out)
{
    pg_rekey_card rc;
    pg_peer peer;
    pg_card pinned;
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int rc_sql, error;

    PG_ASSERT_ARG(node);
    PG_ASSERT_ARG(json);
    PG_ASSERT_ARG(out);
    memset(out, 0, sizeof(*out));
    if ((error = pg_recovery_card_parse(&rc, json, len)) < 0)
        return error;
    if ((error = pg_peer_get(&peer, node, rc.card.code)) < 0)
        return error;
    if ((error = pg_keys_card(&pinned, node, peer.code)) < 0)
        return error;
    if (strcmp(pinned.key_id, rc.card.key_id) == 0)
        return pg_error_set(PG_ECONFLICT, PG_ERRCLASS_NODE,
                            "key %s of %s is pinned already", rc.card.key_id,
                            peer.code);
    if (strcmp(pinned.key_id, rc.old_key_id) != 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "the rekey card replaces key %s, but the key "
                            "pinned for %s is %s",
                            rc.old_key_id, peer.code, pinned.key_id);
    /* A revoked key speaks for nobody: a thief holding it must not get
     * a key of his own certified. */
    int64_t revoked_after;
    if ((error = pg_keys_revoked(&revoked_after, node, peer.code,
                                 pinned.key_id)) < 0)
        return error;
    if (revoked_after >= 0)
        return pg_error_set(PG_EAUTH, PG_ERRCLASS_NODE,
                            "key %s of %s is revoked (after seq %lld): a "
                            "rekey card it signed is not accepted; check the "
                            "new card with %s's administrator and pin it "
                            "with 'pingan peer add'",
                            pinned.key_id, peer.code, (long long)revoked_after,
                            peer.code);
    if ((error = pg_recovery_card_verify(&rc, pinned.sign_pk)) < 0)
        return error;

    /* A child's key: revoke first, while the newest valid certificate is
     * still the old key's.  A parent's or partner's new key is only
     * pinned: its own parent certifies it and revokes the old one. */
    bool child = peer.role == PG_PEER_CHILD;
    pg_revoke_result rr = {{0}, 0};
    if (!(text = pg_card_to_json(&rc.card)))
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    /* All of it or nothing: a failure after the revocation must not leave
     * the old key revoked with the new one not pinned (a second attempt
     * would then find nothing to replace). */
    if ((error = pg_store__begin(node->db)) < 0)
        goto done;
    if (child && (error = pg_revoke__in_txn(node, peer.code, rc.last_seq,
                                            operator_name, &rr)) < 0) {
        pg_store__rollback(node->db);
        goto done;
    }
    out->quarantined = rr.quarantined;
    out->revoked = child;
    /* The old card stays known for what its key signed up to last_seq. */
    rc_sql = sqlite3_prepare_v2(node->db,
                                "INSERT OR REPLACE INTO peer_retired(key_id, "
                                "code, card, last_seq) SELECT key_id, code, "
                                "card, ? FROM peer WHERE code = ?",
                                -1, &st, NULL);
    if (rc_sql == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, rc.last_seq);
        sqlite3_bind_text(st, 2, peer.code, -1, SQLITE_STATIC);
        rc_sql = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc_sql != SQLITE_DONE) {
        error = pg_store__error(node->db, rc_sql, "keeping the old card");
        pg_store__rollback(node->db);
        goto done;
    }
    rc_sql = sqlite3_prepare_v2(node->db,
                                "UPDATE peer SET card = ?, key_id = ?, "
                                "sign_pk = ?, box_pk = ? WHERE code = ?",
                                -1, &st, NULL);
    if (rc_sql == SQLITE_OK) {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rc.card.key_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, rc.card.sign_pk, PG_SIGN_PK_LEN,
                          SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, rc.card.box_pk, PG_BOX_PK_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, peer.code, -1, SQLITE_STATIC);
        rc_sql = sqlite3_step(st);
    }
    if (rc_sql != SQLITE_DONE)
        error = pg_store__error(node->db, rc_sql, "pinning the new card");
    if (error == 0 && child)
        error = pg_peer__certify(node, &rc.card);
    if (error == 0)
        error = pg_audit__record_as(
            node, operator_name, "peer.rekey", peer.code,
            "{s:s, s:s, s:I, s:b}", "old_key", rc.old_key_id, "new_key",
            rc.card.key_id, "last_seq", (json_int_t)rc.last_seq, "certified",
            (int)child);
    if (error == 0)
        error = pg_store__commit(node->db);
    else
        pg_store__rollback(node->db);
    memcpy(out->code, peer.code, PG_CODE_LEN + 1);
    memcpy(out->old_key_id, rc.old_key_id, PG_KEY_ID_LEN + 1);
    memcpy(out->new_key_id, rc.card.key_id, PG_KEY_ID_LEN + 1);
    out->last_seq = rc.last_seq;

done:
    sqlite3_finalize(st);
    free(text);
    return error;
}
