#!/usr/bin/env python3
"""Check the golden txn vectors against an independent implementation.

Reads tests/data/golden_txn.json and recomputes, from the specification
text alone (DESIGN.md section 3, include/pingan/txn.h, proto/FORMAT.md
and the comments of proto/txn.proto), without any pingan code:

  * the Ed25519 public key from the published seed, and the key id;
  * every change's canonical value encoding, salt, commit and leaf (the
    leaf is recomputed for every form: a dropped change carries its
    commit, so its record id, field and base are signed too; a change
    with a non-zero "merged" version, which resolves a conflict, has the
    longer leaf of FORMAT section 3);
  * the txn digest over the sorted leaves;
  * the origin's Ed25519 signature (deterministic, so it is recomputed
    and also verified);
  * the protobuf encoding of the whole txn (proto/txn.proto, encoded the
    way protobuf-c does: fields in number order, proto3 defaults omitted,
    oneof members always written; the changes grouped into one Record per
    record id, records by ascending id, each record's changes in txn
    order).

For a redacted txn (one with "derived_from") it also checks that the
digest and signature are those of the original and that every revealed
salt is the one the original's seed derives.

Python 3 standard library only (hashlib.blake2b, hashlib.sha512).  It
documents that the C code agrees with the specification as written: if
this script and the C test suite disagree, one of them has drifted from
the spec.

Usage: check_digest.py [PATH/golden_txn.json] [-v]
Exit status 0 when every value matches, 1 otherwise.
"""

import hashlib
import json
import math
import os
import struct
import sys

# --- the encodings of DESIGN section 3 --------------------------------------


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    """Big-endian u64; signed integers as two's complement."""
    return struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)


def s(text):
    """str(x): u32 byte length, then the UTF-8 bytes."""
    b = text.encode("utf-8")
    return u32(len(b)) + b


def version(hlc, origin):
    return u64(hlc) + s(origin)


def value_encoding(v):
    kind = v["kind"]
    if kind == "absent":
        return b"\x00"
    if kind == "int":
        return b"\x01" + u64(v["int"])
    if kind == "real":
        r = float(v["real"])
        if math.isnan(r) or math.isinf(r):
            raise ValueError("NaN and infinite reals are refused")
        if r == 0.0:
            r = 0.0  # -0 is encoded as +0
        return b"\x02" + struct.pack(">d", r)
    if kind == "bool":
        return b"\x03" + u8(1 if v["bool"] else 0)
    if kind == "text":
        return b"\x04" + s(v["text"])
    raise ValueError("unknown value kind %r" % kind)


def b2b(data, size):
    return hashlib.blake2b(data, digest_size=size).digest()


def salt_of(seed, collection, record_id, field):
    return b2b(s("pingan.salt.v1") + seed + s(collection) + s(record_id) +
               s(field), 16)


def commit_of(salt, venc):
    return b2b(salt + venc, 32)


def is_zero(v):
    return v is None or (not v["hlc"] and not v["origin"])


def leaf_of(collection, record_id, field, base, commit, merged=None):
    """The leaf; a change that resolves a conflict (a non-zero "merged"
    version, FORMAT section 3) appends str("merged") and that version."""
    data = (s("pingan.leaf.v1") + s(collection) + s(record_id) + s(field) +
            version(base["hlc"], base["origin"]) + commit)
    if not is_zero(merged):
        data += s("merged") + version(merged["hlc"], merged["origin"])
    return b2b(data, 32)


def digest_of(t, leaves):
    data = (s("pingan.txn.v1") + u8(t["suite"]) + s(t["origin"]) +
            s(t["key_id"]) + u64(t["seq"]) + u64(t["hlc"]) +
            s(t["division"]) + s(t["collection"]) + s(t["operator"]) +
            u32(len(leaves)) + b"".join(sorted(leaves)))
    return b2b(data, 32), data


def key_id_of(pk):
    return b2b(pk, 32)[:8].hex()


# --- Ed25519 (RFC 8032, section 5.1), written out from the RFC -----------

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x):
    return pow(x, P - 2, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(k, pt):
    acc = (0, 1, 1, 0)
    while k > 0:
        if k & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        k >>= 1
    return acc


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * _inv(5) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def _compress(pt):
    zi = _inv(pt[2])
    x, y = pt[0] * zi % P, pt[1] * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decompress(b):
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def _equal(a, b):
    return ((a[0] * b[2] - b[0] * a[2]) % P == 0 and
            (a[1] * b[2] - b[1] * a[2]) % P == 0)


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def _hq(data):
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % Q


def ed25519_public(seed):
    a, _ = _expand(seed)
    return _compress(_mul(a, BASE))


def ed25519_sign(seed, msg):
    a, prefix = _expand(seed)
    pk = _compress(_mul(a, BASE))
    r = _hq(prefix + msg)
    rs = _compress(_mul(r, BASE))
    k = _hq(rs + pk + msg)
    return rs + ((r + k * a) % Q).to_bytes(32, "little")


def ed25519_verify(pk, msg, sig):
    a = _decompress(pk)
    r = _decompress(sig[:32])
    if a is None or r is None or len(sig) != 64:
        return False
    sc = int.from_bytes(sig[32:], "little")
    if sc >= Q:
        return False
    k = _hq(sig[:32] + pk + msg)
    return _equal(_mul(sc, BASE), _add(r, _mul(k, a)))


# --- protobuf (proto/txn.proto), encoded as protobuf-c encodes it ----------
# The canonical encoding of FORMAT section 3: the changes grouped into one
# Record per record id (Change field 1, the record id, is reserved).


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _ld(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _uint(field, n):
    return _key(field, 0) + _varint(n) if n else b""


def _str(field, text):
    return _ld(field, text.encode("utf-8")) if text else b""


def _bytes(field, data):
    return _ld(field, data) if data else b""


def _bool(field, b):
    return _key(field, 0) + _varint(1) if b else b""


def pb_value(v):
    kind = v["kind"]
    if kind == "absent":
        return b""  # no oneof member: an empty Value message
    if kind == "int":
        i = v["int"]
        zz = ((i << 1) ^ (i >> 63)) & 0xFFFFFFFFFFFFFFFF  # sint64 zigzag
        return _key(1, 0) + _varint(zz)
    if kind == "real":
        r = float(v["real"])
        return _key(2, 1) + struct.pack("<d", 0.0 if r == 0.0 else r)
    if kind == "bool":
        return _key(3, 0) + _varint(1 if v["bool"] else 0)
    if kind == "text":
        return _ld(4, v["text"].encode("utf-8"))
    raise ValueError(kind)


def pb_change(c):
    # Field 1 (the record id) is reserved: the Record above holds it.
    out = _str(2, c["field"])
    form = c["form"]
    if form in ("whole", "salted"):
        out += _ld(3, pb_value(c["value"]))
    base = c["base"]
    if base["hlc"] or base["origin"]:
        out += _ld(4, _uint(1, base["hlc"]) + _str(2, base["origin"]))
    if form == "salted":
        out += _bytes(5, bytes.fromhex(c["salt"]))
    if form in ("committed", "dropped"):
        out += _bytes(6, bytes.fromhex(c.get("commit", "")))
    if form == "committed":
        out += _str(7, c.get("derived", ""))
    out += _bool(8, form == "dropped")
    merged = c.get("merged")
    if not is_zero(merged):
        out += _ld(9, _uint(1, merged["hlc"]) + _str(2, merged["origin"]))
    return out


def pb_records(changes):
    """The changes grouped into Record messages (proto/txn.proto): records
    by ascending record id, compared bytewise, each record once, its
    changes in the order the txn holds them."""
    ids = sorted({c["record_id"] for c in changes},
                 key=lambda rid: rid.encode("utf-8"))
    return [(rid, [c for c in changes if c["record_id"] == rid])
            for rid in ids]


def pb_txn(t):
    out = (_uint(1, t["suite"]) + _str(2, t["origin"]) +
           _str(3, t["key_id"]) + _uint(4, t["seq"]) + _uint(5, t["hlc"]) +
           _str(6, t["division"]) + _str(7, t["collection"]) +
           _str(8, t["operator"]))
    if t["seed"]:
        out += _bytes(9, bytes.fromhex(t["seed"]))
    for rid, changes in pb_records(t["changes"]):
        out += _ld(10, _str(1, rid) + b"".join(_ld(2, pb_change(c))
                                               for c in changes))
    out += _bytes(11, bytes.fromhex(t["signature"]))
    # notes (12) and hop_signatures (13) are empty as an origin writes
    return out


# --- the checks ------------------------------------------------------------


class Checker:
    def __init__(self, verbose):
        self.verbose = verbose
        self.failures = 0
        self.checks = 0

    def eq(self, what, got, want):
        self.checks += 1
        if isinstance(got, bytes):
            got = got.hex()
        if got != want:
            self.failures += 1
            print("MISMATCH %s\n  computed %s\n  golden   %s" %
                  (what, got, want))
        elif self.verbose:
            print("ok %s" % what)

    def true(self, what, cond):
        self.checks += 1
        if not cond:
            self.failures += 1
            print("FAILED %s" % what)
        elif self.verbose:
            print("ok %s" % what)


def check_txn(ck, t, key_seed, pk, by_name):
    name = t["name"]
    ck.eq(name + ": hlc = ms << 16 | counter",
          t["hlc"], (t["hlc_ms"] << 16) | t["hlc_counter"])
    ck.eq(name + ": key id", t["key_id"], key_id_of(pk))
    seed = bytes.fromhex(t["seed"]) if t["seed"] else None
    orig = by_name.get(t.get("derived_from", ""))
    leaves = []
    for i, c in enumerate(t["changes"]):
        what = "%s: change %d (%s %s)" % (name, i, c["form"], c["field"])
        form = c["form"]
        if form == "whole":
            ck.true(what + " has a seed to derive its salt", seed is not None)
            salt = salt_of(seed, t["collection"], c["record_id"], c["field"])
            ck.eq(what + " salt", salt, c["salt"])
        elif form == "salted":
            salt = bytes.fromhex(c["salt"])
        if form in ("whole", "salted"):
            venc = value_encoding(c["value"])
            ck.eq(what + " value encoding", venc, c["value_encoding"])
            commit = commit_of(salt, venc)
            ck.eq(what + " commit", commit, c["commit"])
        else:  # committed and dropped carry the commit alone
            ck.true(what + " carries its commit", "commit" in c)
            commit = bytes.fromhex(c.get("commit", ""))
        revealed = form in ("whole", "salted")
        ck.true(what + " has a value and salt exactly when whole or salted",
                ("value" in c) == revealed and ("salt" in c) == revealed)
        ck.true(what + " has a derived text exactly when committed",
                ("derived" in c) == (form == "committed"))
        # The receiver recomputes every leaf, so record id, field and base
        # are signed whatever the form.
        leaf = leaf_of(t["collection"], c["record_id"], c["field"],
                       c["base"], commit, c.get("merged"))
        ck.eq(what + " leaf", leaf, c["leaf"])
        leaves.append(leaf)
        if orig is not None:
            o = orig["changes"][i]
            ck.eq(what + " is the original's change",
                  (c["record_id"], c["field"], c["base"], c.get("merged")),
                  (o["record_id"], o["field"], o["base"], o.get("merged")))
            ck.eq(what + " leaf equals the original's", c["leaf"], o["leaf"])
            if form == "salted":
                ck.eq(what + " salt derives from the original's seed",
                      salt_of(bytes.fromhex(orig["seed"]), t["collection"],
                              c["record_id"], c["field"]), c["salt"])
            ck.eq(what + " commit equals the original's", c.get("commit"),
                  o["commit"])
    digest, preimage = digest_of(t, leaves)
    ck.eq(name + ": digest", digest, t["digest"])
    if ck.verbose:
        print("   digest input %s" % preimage.hex())
    sig = bytes.fromhex(t["signature"])
    ck.true(name + ": signature verifies", ed25519_verify(pk, digest, sig))
    ck.eq(name + ": signature", ed25519_sign(key_seed, digest), t["signature"])
    ck.eq(name + ": protobuf encoding", pb_txn(t), t["encoding"])
    # The records' order in the txn does not matter, their changes' does:
    # the same txn with its records listed last first encodes the same.
    moved = dict(t, changes=sorted(t["changes"], reverse=True,
                                   key=lambda c: c["record_id"].encode()))
    ck.eq(name + ": protobuf encoding, records listed in reverse",
          pb_txn(moved), t["encoding"])
    if orig is not None:
        ck.eq(name + ": digest equals the original's", t["digest"],
              orig["digest"])
        ck.eq(name + ": signature equals the original's", t["signature"],
              orig["signature"])
        for k in ("suite", "origin", "key_id", "seq", "hlc", "division",
                  "collection", "operator"):
            ck.eq(name + ": header " + k + " equals the original's", t[k],
                  orig[k])


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv[1:] if a != "-v"]
    here = os.path.dirname(os.path.abspath(__file__))
    path = args[0] if args else os.path.join(here, "..", "..", "tests",
                                              "data", "golden_txn.json")
    with open(path, encoding="utf-8") as f:
        golden = json.load(f)
    ck = Checker(verbose)
    key_seed = bytes.fromhex(golden["key"]["ed25519_seed"])
    pk = ed25519_public(key_seed)
    ck.eq("public key from the published seed", pk,
          golden["key"]["public_key"])
    ck.eq("key id of the public key", key_id_of(pk), golden["key"]["key_id"])
    by_name = {t["name"]: t for t in golden["txns"]}
    for t in golden["txns"]:
        check_txn(ck, t, key_seed, pk, by_name)
    if ck.failures:
        print("check_digest: %d of %d checks FAILED" % (ck.failures,
                                                        ck.checks))
        return 1
    print("check_digest: all %d checks agree with %s" % (ck.checks, path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
