"""Rewrite a node's audit chain as someone able to write its store would
(for cli.audit and cli.auditnet): drop the UPDATE trigger, change entry
2's operator, and recompute every hash from proto/FORMAT.md §9.1's
encoding, so the chain is consistent again.  With --parent-copy the head
the parent sent back (meta audit_parent_*) is rewritten to match too.

    python3 rewrite_audit.py STORE.DB [--parent-copy]
"""
import hashlib
import sqlite3
import struct
import sys


def s(t):
    b = t.encode()
    return struct.pack(">I", len(b)) + b


def main():
    db = sqlite3.connect(sys.argv[1])
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET operator = 'mallory' WHERE seq = 2")
    prev = bytes(32)
    rows = db.execute("SELECT seq, at_ms, operator, action, subject, detail "
                      "FROM audit ORDER BY seq").fetchall()
    hashes = {}
    for seq, at, op, act, sub, det in rows:
        h = hashlib.blake2b(prev + s("pingan.audit.v1")
                            + struct.pack(">Qq", seq, at) + s(op) + s(act)
                            + s(sub) + s(det), digest_size=32).digest()
        db.execute("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?",
                   (prev, h, seq))
        hashes[seq] = h
        prev = h
    if "--parent-copy" in sys.argv[2:]:
        seen = int(db.execute("SELECT value FROM meta WHERE key = "
                              "'audit_parent_seq'").fetchone()[0])
        db.execute("UPDATE meta SET value = ? WHERE key = 'audit_parent_hash'",
                   (hashes[seen].hex(),))
    db.commit()


if __name__ == "__main__":
    main()
