#!/usr/bin/env python3
"""An independent reference of pingan's merge rules (DESIGN §1, §3, §5, §6).

It reads what nodes say about themselves -- `pingan log --json --changes`
of every node (their union, deduplicated by (origin, origin_seq)) and
`pingan schema --json` -- and computes from the change-log alone, without
any of pingan's merge code, what every node's record tables and conflicts
must be once all txns have reached every node on their record's path:

* the records a node holds: those whose division lies in its jurisdiction
  (the code's first 2, 4, 6, 9 or 12 digits by tier), up to the
  collection's cap tier; for the system collection `node` (certificates)
  also those of the node's ancestors (DESIGN §7), every collection of the
  schema compared;
* per field: `lww` -- the value of the change with the highest
  (hlc, origin); `authority` -- the highest tier of the ORIGIN (province 1
  ... community 5, smaller wins), then (hlc, origin); `counter` -- the sum
  of every increment (null when never written); `_deleted` lww (false when
  never written); any other field never written is null; `division` from
  the txn;
* conflicts: per (collection, record, field), not counters, the pairs of
  changes neither of which reaches the other through base and merged
  links and from each change to its origin's previous change of the field
  (transitively), with different values; id = hex(BLAKE2b-256(
  str("pingan.conflict.v1") | str(collection) | str(record id) | str(field)
  | ver(lo) | ver(hi)))[:16], str(x) = u32 BE length | UTF-8, ver = u64 BE
  hlc | str(origin), lo/hi ordered by (hlc, origin); resolved when some
  change reaches both.

Used as a module by converge.py, and from the command line:

  refmerge.py check --pingan BIN DIR...     compare nodes with the reference
  refmerge.py expect --schema S --node CODE LOG.json...
  refmerge.py conflicts --schema S LOG.json...
  refmerge.py selftest                      the reference against itself
"""

import hashlib
import json
import struct
import subprocess
import sys

TIERS = {"province": 1, "city": 2, "county": 3, "township": 4, "community": 5}
PREFIX_LEN = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


class RefError(Exception):
    """The inputs are inconsistent (a bug in what the nodes report)."""


# ---- codes ----------------------------------------------------------------


def tier_of(code):
    """Tier number of a 12-digit code: province 1 ... community 5."""
    if len(code) != 12 or not code.isdigit():
        raise RefError("not a 12-digit code: %r" % code)
    if code[2:] == "0" * 10:
        return 1
    if code[4:] == "0" * 8:
        return 2
    if code[6:] == "0" * 6:
        return 3
    if code[9:] == "000":
        return 4
    return 5


def prefix_of(code):
    return code[: PREFIX_LEN[tier_of(code)]]


def covers(node_code, division):
    """The node's jurisdiction covers the division."""
    return division.startswith(prefix_of(node_code))


# ---- schema ---------------------------------------------------------------


class Schema:
    def __init__(self, doc):
        self.doc = doc
        self.collections = {}
        for c in doc["collections"]:
            fields = {f["name"]: f for f in c["fields"]}
            if "_deleted" not in fields:
                fields["_deleted"] = {"name": "_deleted", "type": "bool",
                                      "merge": "lww"}
            self.collections[c["name"]] = {
                "cap": TIERS[c["cap"]] if c.get("cap") else None,
                "fields": fields,
                "order": [f["name"] for f in c["fields"]],
                "system": c["name"] == "node",
            }

    def names(self):
        return list(self.collections)

    def merge_kind(self, coll, field):
        f = self.collections[coll]["fields"].get(field)
        if f is None:
            raise RefError("collection %s has no field %s" % (coll, field))
        return f["merge"]

    def held_by(self, coll, node_code, division):
        """A record of coll in division lives on the node (path rule; a
        `node` certificate also goes down the certified node's whole
        subtree, DESIGN §7)."""
        if self.collections[coll]["system"] and covers(division, node_code):
            return True
        if not covers(node_code, division):
            return False
        cap = self.collections[coll]["cap"]
        return cap is None or tier_of(node_code) >= cap


# ---- the union of the logs ------------------------------------------------


def vkey(v):
    """Total order of versions: hlc, then origin (bytewise)."""
    return (int(v["hlc"]), v["origin"].encode())


def vtuple(v):
    return (int(v["hlc"]), v["origin"])


ZERO = (0, "")


class Change:
    __slots__ = ("coll", "record_id", "field", "value", "version", "base",
                 "merged", "division", "txn")

    def label(self):
        return "%d@%s" % self.version


def union(logs):
    """Merge several `log --json --changes` arrays into one dict of txns
    keyed by (origin, origin_seq).  The same key with another digest is an
    equivocation, which no honest run produces."""
    txns = {}
    for log in logs:
        for e in log:
            if not isinstance(e.get("changes"), list):
                raise RefError("log entries lack changes: use --json --changes")
            key = (e["origin"], int(e["origin_seq"]))
            old = txns.get(key)
            if old is None:
                txns[key] = e
            elif old["digest"] != e["digest"]:
                raise RefError("txn %s#%d has two digests: %s and %s"
                               % (key[0], key[1], old["digest"], e["digest"]))
    return txns


def changes_of(txns):
    """Every change of every txn, as Change objects."""
    out = []
    for key in sorted(txns):
        t = txns[key]
        for c in t["changes"]:
            if c.get("form") in ("committed", "dropped"):
                raise RefError("txn %s#%d carries a redacted change of %s; "
                               "the reference needs whole values"
                               % (key[0], key[1], c["field"]))
            ch = Change()
            ch.coll = t["collection"]
            ch.record_id = c["record_id"]
            ch.field = c["field"]
            ch.value = c["value"]
            ch.version = (int(t["hlc"]), t["origin"])
            ch.base = vtuple(c["base"])
            ch.merged = vtuple(c["merged"]) if c.get("merged") else None
            ch.division = t["division"]
            ch.txn = key
            out.append(ch)
    return out


def by_field(changes):
    """{(coll, record_id, field): [Change]}, each list in version order."""
    groups = {}
    for ch in changes:
        groups.setdefault((ch.coll, ch.record_id, ch.field), []).append(ch)
    for k, lst in groups.items():
        lst.sort(key=lambda c: (c.version[0], c.version[1].encode()))
        for a, b in zip(lst, lst[1:]):
            if a.version == b.version:
                raise RefError("two changes of %s/%s.%s share version %s"
                               % (k[0], k[1], k[2], a.label()))
    return groups


# ---- records ---------------------------------------------------------------


def winner(schema, coll, field, changes):
    """The change that wins a non-counter field among changes."""
    kind = schema.merge_kind(coll, field)
    if kind == "authority":
        return max(changes, key=lambda c: (-tier_of(c.version[1]),
                                           c.version[0],
                                           c.version[1].encode()))
    return max(changes, key=lambda c: (c.version[0], c.version[1].encode()))


def expected_records(schema, txns, node_code, groups=None):
    """{collection: {record_id: {field: value}}} for the records the node
    holds, every collection of the schema present (maybe empty)."""
    if groups is None:
        groups = by_field(changes_of(txns))
    records = {name: {} for name in schema.names()}
    divisions = {}
    for (coll, rid, field), lst in groups.items():
        if coll not in schema.collections:
            raise RefError("unknown collection %s in the log" % coll)
        for ch in lst:
            d = divisions.setdefault((coll, rid), ch.division)
            if d != ch.division:
                raise RefError("record %s/%s has txns in divisions %s and %s"
                               % (coll, rid, d, ch.division))
        if not schema.held_by(coll, node_code, lst[0].division):
            continue
        rec = records[coll].get(rid)
        if rec is None:
            rec = {"id": rid}
            for fname in schema.collections[coll]["order"]:
                rec[fname] = None
            rec["division"] = lst[0].division
            rec["_deleted"] = False
            records[coll][rid] = rec
        kind = schema.merge_kind(coll, field)
        if kind == "counter":
            total = 0
            for ch in lst:
                if not isinstance(ch.value, int) or isinstance(ch.value, bool):
                    raise RefError("counter %s/%s.%s has increment %r"
                                   % (coll, rid, field, ch.value))
                total += ch.value
            rec[field] = total
        elif field == "division":
            for ch in lst:
                if ch.value != ch.division:
                    raise RefError("record %s/%s: division written as %r in "
                                   "a txn of division %s"
                                   % (coll, rid, ch.value, ch.division))
        else:
            rec[field] = winner(schema, coll, field, lst).value
            if field == "_deleted" and rec[field] is None:
                rec[field] = False
    return records


def canonical(obj):
    return json.dumps(obj, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def canonical_hash(obj):
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def records_diff(expected, actual, limit=40):
    """Readable differences between two {coll: {id: {field: value}}}."""
    lines = []
    for coll in sorted(set(expected) | set(actual)):
        e = expected.get(coll, {})
        a = actual.get(coll, {})
        for rid in sorted(set(e) | set(a)):
            if rid not in a:
                lines.append("%s %s: expected, missing on the node" % (coll, rid))
            elif rid not in e:
                lines.append("%s %s: on the node, not expected (%s)"
                             % (coll, rid, canonical(a[rid])[:200]))
            else:
                for f in sorted(set(e[rid]) | set(a[rid])):
                    ev = e[rid].get(f, "<no key>")
                    av = a[rid].get(f, "<no key>")
                    if canonical(ev) != canonical(av):
                        lines.append("%s %s.%s: expected %s, node has %s"
                                     % (coll, rid, f, canonical(ev)[:120],
                                        canonical(av)[:120]))
    if len(lines) > limit:
        lines = lines[:limit] + ["... %d more differences" % (len(lines) - limit)]
    return lines


# ---- conflicts ---------------------------------------------------------------


def _str(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def _ver(v):
    return struct.pack(">Q", v[0]) + _str(v[1])


def conflict_id(coll, record_id, field, v1, v2):
    lo, hi = sorted((v1, v2), key=lambda v: (v[0], v[1].encode()))
    h = hashlib.blake2b(digest_size=32)
    h.update(_str("pingan.conflict.v1") + _str(coll) + _str(record_id)
             + _str(field) + _ver(lo) + _ver(hi))
    return h.hexdigest()[:16]


def version_label(v):
    return "%d@%s" % v


class FieldGraph:
    """The changes of one field and their reachability through base and
    merged links."""

    def __init__(self, lst):
        self.changes = lst
        self.at = {c.version: c for c in lst}
        self._anc = {}

    def same_origin_before(self, c):
        """The same origin's previous change to the field, or None: an
        origin sees its own earlier writes."""
        best = None
        for o in self.changes:
            if o.version[1] == c.version[1] and o.version[0] < c.version[0]:
                if best is None or o.version[0] > best.version[0]:
                    best = o
        return best

    def parents(self, c):
        out = [v for v in (c.base, c.merged) if v and v != ZERO]
        prev = self.same_origin_before(c)
        if prev is not None:
            out.append(prev.version)
        return out

    def ancestors(self, ch):
        """Versions reachable from ch (not ch itself): through base and
        merged links, and from each change to its origin's previous one."""
        got = self._anc.get(ch.version)
        if got is not None:
            return got
        seen = set()
        stack = self.parents(ch)
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            c = self.at.get(v)
            if c is None:
                # A base that no log holds: the writer saw a version that
                # never reached anyone, which cannot happen.
                raise RefError("%s/%s.%s: change %s names base %s, which no "
                               "log holds" % (ch.coll, ch.record_id, ch.field,
                                              ch.label(), version_label(v)))
            for w in self.parents(c):
                if w not in seen:
                    stack.append(w)
        self._anc[ch.version] = seen
        return seen

    def reaches(self, x, y):
        return y.version in self.ancestors(x)


def expected_conflicts(schema, txns, groups=None):
    """{id: conflict} for every pair of concurrent changes with different
    values.  A conflict: coll, record_id, field, division, versions (lo,
    hi), values {version: value}, winner (version), resolved, resolved_by
    (versions of the changes that reach both)."""
    if groups is None:
        groups = by_field(changes_of(txns))
    out = {}
    for (coll, rid, field), lst in groups.items():
        if schema.merge_kind(coll, field) == "counter" or len(lst) < 2:
            continue
        g = FieldGraph(lst)
        for i, x in enumerate(lst):
            for y in lst[i + 1:]:
                if g.reaches(x, y) or g.reaches(y, x):
                    continue
                if canonical(x.value) == canonical(y.value):
                    continue
                cid = conflict_id(coll, rid, field, x.version, y.version)
                if cid in out:
                    raise RefError("conflict id %s for two pairs" % cid)
                by = [z.version for z in lst
                      if z is not x and z is not y and g.reaches(z, x)
                      and g.reaches(z, y)]
                w = winner(schema, coll, field, [x, y])
                out[cid] = {
                    "id": cid, "collection": coll, "record_id": rid,
                    "field": field, "division": x.division,
                    "versions": (x.version, y.version),
                    "txns": (x.txn, y.txn),
                    "values": {x.version: x.value, y.version: y.value},
                    "winner": w.version, "resolved": bool(by),
                    "resolved_by": by,
                }
    return out


def ordered_pair(schema, txns, coll, rid, field, v1, v2, groups=None):
    """Why a listed pair is not a conflict, or None when it is one."""
    if groups is None:
        groups = by_field(changes_of(txns))
    lst = groups.get((coll, rid, field))
    if not lst:
        return "no change of %s/%s.%s in any log" % (coll, rid, field)
    g = FieldGraph(lst)
    x, y = g.at.get(v1), g.at.get(v2)
    if x is None or y is None:
        return "version %s not in any log" % version_label(v1 if x is None else v2)
    if g.reaches(x, y):
        return "%s reaches %s (causally ordered)" % (x.label(), y.label())
    if g.reaches(y, x):
        return "%s reaches %s (causally ordered)" % (y.label(), x.label())
    if canonical(x.value) == canonical(y.value):
        return "both changes have the value %s" % canonical(x.value)
    if schema.merge_kind(coll, field) == "counter":
        return "counters never conflict"
    return None


def parse_version(s):
    """'HLC@ORIGIN' -> (hlc, origin)."""
    hlc, _, origin = s.partition("@")
    return (int(hlc), origin)


def listed_version(side):
    """The version of one side of a `conflicts list --json` entry."""
    if isinstance(side, dict):
        if "hlc" in side and "origin" in side:
            return (int(side["hlc"]), side["origin"])
        if "version" in side:
            return parse_version(side["version"])
    raise RefError("cannot read a version from %r" % (side,))


def check_conflicts(schema, txns, node_code, node_txns, listed, expected=None,
                    groups=None):
    """Compare a node's `conflicts list --json --all` with the reference.
    node_txns: the (origin, origin_seq) the node holds.  Returns a list of
    problems (empty when it agrees)."""
    if groups is None:
        groups = by_field(changes_of(txns))
    if expected is None:
        expected = expected_conflicts(schema, txns, groups)
    problems = []
    seen = set()
    for c in listed:
        try:
            va, vb = listed_version(c["a"]), listed_version(c["b"])
        except (KeyError, RefError, ValueError) as e:
            problems.append("unreadable conflict %s: %s" % (canonical(c)[:200], e))
            continue
        cid = c.get("id")
        what = "conflict %s (%s/%s.%s %s vs %s)" % (
            cid, c.get("collection"), c.get("record_id"), c.get("field"),
            version_label(va), version_label(vb))
        if cid in seen:
            problems.append("%s listed twice" % what)
        seen.add(cid)
        why = ordered_pair(schema, txns, c.get("collection"), c.get("record_id"),
                           c.get("field"), va, vb, groups)
        if why:
            problems.append("%s is not a conflict: %s" % (what, why))
            continue
        want = conflict_id(c["collection"], c["record_id"], c["field"], va, vb)
        if cid != want:
            problems.append("%s: id should be %s" % (what, want))
            continue
        e = expected[want]
        for side, v in (("a", va), ("b", vb)):
            if canonical(c[side].get("value")) != canonical(e["values"][v]):
                problems.append("%s: side %s value %s, the log says %s"
                                % (what, side, canonical(c[side].get("value")),
                                   canonical(e["values"][v])))
        wv = va if c.get("winner") == "a" else vb if c.get("winner") == "b" else None
        if wv != e["winner"]:
            problems.append("%s: winner %r, expected %s" % (
                what, c.get("winner"), version_label(e["winner"])))
        held_by = [z for z in e["resolved_by"] if z in node_versions(
            groups, e, node_txns)]
        if bool(c.get("resolved")) != bool(held_by):
            problems.append("%s: resolved %s, expected %s (changes reaching "
                            "both here: %s)" % (what, c.get("resolved"),
                                                bool(held_by),
                                                [version_label(z) for z in held_by]))
    for cid, e in sorted(expected.items()):
        if cid in seen:
            continue
        if not schema.held_by(e["collection"], node_code, e["division"]):
            continue
        if e["txns"][0] in node_txns and e["txns"][1] in node_txns:
            problems.append("conflict %s (%s/%s.%s %s vs %s) missing although "
                            "the node holds both changes"
                            % (cid, e["collection"], e["record_id"], e["field"],
                               version_label(e["versions"][0]),
                               version_label(e["versions"][1])))
    return problems


def node_versions(groups, conflict, node_txns):
    """Versions of the conflict's field held by the node."""
    lst = groups[(conflict["collection"], conflict["record_id"],
                  conflict["field"])]
    return {c.version for c in lst if c.txn in node_txns}


# ---- talking to nodes ------------------------------------------------------------


def run_json(pingan, args):
    p = subprocess.run([pingan] + args, stdin=subprocess.DEVNULL,
                       capture_output=True)
    if p.returncode != 0:
        raise RefError("pingan %s: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr.decode(errors="replace").strip()))
    return json.loads(p.stdout)


def node_code(pingan, d):
    return run_json(pingan, ["--dir", d, "card"])["code"]


def node_log(pingan, d):
    return run_json(pingan, ["--dir", d, "log", "--json", "--changes"])


def actual_records(pingan, d, schema):
    out = {}
    for name in schema.names():
        lst = run_json(pingan, ["--dir", d, "record", "list", name,
                                "--deleted", "--json"])
        out[name] = {r["id"]: r for r in lst}
        if len(out[name]) != len(lst):
            raise RefError("%s: record list %s repeats an id" % (d, name))
    return out


def check_nodes(pingan, dirs, out=sys.stdout):
    """Compare the tables and conflicts of every node in dirs with the
    reference built from the union of their logs.  Returns the number of
    problems."""
    schema = Schema(run_json(pingan, ["schema", "--json"]))
    codes = [node_code(pingan, d) for d in dirs]
    logs = [node_log(pingan, d) for d in dirs]
    txns = union(logs)
    groups = by_field(changes_of(txns))
    conflicts = expected_conflicts(schema, txns, groups)
    bad = 0
    for d, code, log in zip(dirs, codes, logs):
        exp = expected_records(schema, txns, code, groups)
        act = actual_records(pingan, d, schema)
        he, ha = canonical_hash(exp), canonical_hash(act)
        if he == ha:
            print("%s (%s): tables match the reference (%s)" % (d, code, he[:16]),
                  file=out)
        else:
            bad += 1
            print("%s (%s): tables differ from the reference:" % (d, code),
                  file=out)
            for line in records_diff(exp, act):
                print("  " + line, file=out)
        held = {(e["origin"], int(e["origin_seq"])) for e in log}
        listed = run_json(pingan, ["--dir", d, "conflicts", "list", "--json",
                                   "--all"])
        probs = check_conflicts(schema, txns, code, held, listed, conflicts,
                                groups)
        for p in probs:
            print("%s (%s): %s" % (d, code, p), file=out)
        bad += len(probs)
    return bad


# ---- self test ------------------------------------------------------------------------


def _txn(origin, seq, hlc, coll, division, changes):
    return {"origin": origin, "origin_seq": seq, "hlc": hlc, "collection": coll,
            "division": division, "digest": "%s-%d" % (origin, seq),
            "changes": [{"record_id": r, "field": f, "value": v,
                         "base": {"hlc": b[0], "origin": b[1]},
                         "merged": ({"hlc": m[0], "origin": m[1]} if m else None)}
                        for (r, f, v, b, m) in changes]}


def selftest():
    doc = {"collections": [{
        "name": "volunteer", "cap": None, "fields": [
            {"name": "division", "merge": "lww"},
            {"name": "name", "merge": "lww"},
            {"name": "team", "merge": "authority"},
            {"name": "points", "merge": "counter"},
            {"name": "_deleted", "merge": "lww"}]}]}
    s = Schema(doc)
    cty, twn, com = "430321000000", "430321112000", "430321112005"
    div = com
    r = cty + "-01AAAAAAAAAAAAAAAAAAAAAAAA"
    z = ZERO
    log = [
        _txn(cty, 1, 100, "volunteer", div, [
            (r, "division", div, z, None), (r, "name", "甲", z, None),
            (r, "team", "文体", z, None), (r, "points", 10, z, None)]),
        # the community and the township change name concurrently
        _txn(com, 1, 200, "volunteer", div, [
            (r, "name", "乙", (100, cty), None), (r, "points", 5, z, None),
            (r, "team", "助教", (100, cty), None)]),
        _txn(twn, 1, 150, "volunteer", div, [
            (r, "name", "丙", (100, cty), None), (r, "points", -2, z, None)]),
        # the county writes team later than nobody: authority keeps the
        # county's older value against the community's newer one
    ]
    txns = union([log, log[:1]])
    recs = expected_records(s, txns, cty)
    rec = recs["volunteer"][r]
    assert rec["name"] == "乙", rec           # hlc 200 beats 150
    assert rec["team"] == "文体", rec         # the county outranks
    assert rec["points"] == 13, rec
    assert rec["_deleted"] is False, rec
    assert rec["division"] == div
    assert expected_records(s, txns, "430321100000")["volunteer"] == {}
    assert r in expected_records(s, txns, twn)["volunteer"]
    cs = expected_conflicts(s, txns)
    pairs = {(c["field"], c["versions"]) for c in cs.values()}
    # name: 乙 (200) vs 丙 (150) are concurrent; team: base link orders them
    assert pairs == {("name", ((150, twn), (200, com)))}, pairs
    (c,) = cs.values()
    assert c["winner"] == (200, com) and not c["resolved"]
    # The id is symmetric and follows the documented encoding.
    h = hashlib.blake2b(digest_size=32)
    h.update(b"\0\0\0\x12pingan.conflict.v1" + b"\0\0\0\x09volunteer"
             + struct.pack(">I", len(r)) + r.encode() + b"\0\0\0\x04name"
             + struct.pack(">Q", 150) + b"\0\0\0\x0c" + twn.encode()
             + struct.pack(">Q", 200) + b"\0\0\0\x0c" + com.encode())
    assert c["id"] == h.hexdigest()[:16] == conflict_id(
        "volunteer", r, "name", (200, com), (150, twn))
    # A resolution that names both closes it; equal values never conflict.
    log2 = log + [
        _txn(cty, 2, 300, "volunteer", div, [
            (r, "name", "乙", (200, com), (150, twn))]),
        _txn(twn, 2, 160, "volunteer", div, [(r, "team", "文体", (100, cty), None)]),
    ]
    txns2 = union([log2])
    cs2 = expected_conflicts(s, txns2)
    assert len(cs2) == 2, cs2  # name (resolved) and team 助教 vs 文体? no:
    byf = {c["field"]: c for c in cs2.values()}
    assert byf["name"]["resolved"] and byf["name"]["resolved_by"] == [(300, cty)]
    # team: 助教 (200, com) vs 文体 (160, twn) concurrent, different values;
    # 文体 (160, twn) vs 文体 (100, cty): ordered.  Winner by authority: the
    # township outranks the community.
    assert byf["team"]["winner"] == (160, twn), byf["team"]
    rec2 = expected_records(s, txns2, cty)["volunteer"][r]
    assert rec2["name"] == "乙" and rec2["team"] == "文体", rec2
    # A causally ordered pair listed by a node is reported.
    why = ordered_pair(s, txns2, "volunteer", r, "name", (300, cty), (200, com))
    assert why and "reaches" in why, why
    # Deleting is lww on _deleted.
    log3 = log2 + [_txn(twn, 3, 400, "volunteer", div,
                        [(r, "_deleted", True, z, None)])]
    assert expected_records(s, union([log3]), com)["volunteer"][r]["_deleted"] is True
    # Two digests for one (origin, seq) are refused.
    bad = [dict(log[0], digest="other")]
    try:
        union([log, bad])
        raise AssertionError("equivocation not detected")
    except RefError:
        pass
    # Listed conflicts are checked: a missing one, a wrong id, a wrong winner.
    held = set(txns2)
    probs = check_conflicts(s, txns2, cty, held, [])
    assert len(probs) == 2 and all("missing" in p for p in probs), probs
    listed = [{"id": byf["team"]["id"], "collection": "volunteer",
               "record_id": r, "field": "team",
               "a": {"version": "160@" + twn, "value": "文体"},
               "b": {"hlc": 200, "origin": com, "value": "助教"},
               "winner": "b", "resolved": False}]
    probs = check_conflicts(s, txns2, cty, held, listed)
    assert any("winner" in p for p in probs), probs
    assert tier_of("430300000000") == 2 and prefix_of("430381100000") == "430381100"
    print("refmerge selftest: ok")


# ---- command line ---------------------------------------------------------------


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    cmd = argv[1]
    if cmd == "selftest":
        selftest()
        return 0
    if cmd == "check":
        if len(argv) < 5 or argv[2] != "--pingan":
            print("usage: refmerge.py check --pingan BIN DIR...", file=sys.stderr)
            return 2
        bad = check_nodes(argv[3], argv[4:])
        return 1 if bad else 0
    if cmd in ("expect", "conflicts"):
        args = argv[2:]
        schema = node = None
        logs = []
        while args:
            a = args.pop(0)
            if a == "--schema":
                with open(args.pop(0)) as f:
                    schema = Schema(json.load(f))
            elif a == "--node":
                node = args.pop(0)
            else:
                with open(a) as f:
                    logs.append(json.load(f))
        if schema is None or (cmd == "expect" and node is None):
            print("usage: refmerge.py %s --schema S%s LOG.json..."
                  % (cmd, " --node CODE" if cmd == "expect" else ""),
                  file=sys.stderr)
            return 2
        txns = union(logs)
        if cmd == "expect":
            exp = expected_records(schema, txns, node)
            print(json.dumps({c: [exp[c][r] for r in sorted(exp[c])] for c in exp},
                             ensure_ascii=False, indent=2))
            print("sha256 %s" % canonical_hash(exp), file=sys.stderr)
        else:
            cs = expected_conflicts(schema, txns)
            print(json.dumps([dict(c, versions=[version_label(v) for v in c["versions"]],
                                   values={version_label(k): v for k, v in c["values"].items()},
                                   winner=version_label(c["winner"]),
                                   resolved_by=[version_label(v) for v in c["resolved_by"]])
                              for c in cs.values()], ensure_ascii=False, indent=2))
        return 0
    print("refmerge.py: unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except RefError as e:
        print("refmerge: %s" % e, file=sys.stderr)
        sys.exit(1)
