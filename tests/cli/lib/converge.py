#!/usr/bin/env python3
"""Multi-node convergence driver for tests/cli/convergence.sh.

A county, two of its townships and a community under the first township,
linked parent/child both ways (the city above the county certifies it and
is the root of trust, DESIGN §7, but takes no part in the rounds), write
concurrently (creates, edits of the same records from several tiers on
their path, deletes, counter increments, decisions of open conflicts --
sometimes by two nodes at once, differently) and exchange bundles along
their links in a random order, with duplicated, delayed (stale), lost
and split bundles, then `--resend` until quiescent.  Everything random
comes from the seed, so a run is repeatable (clocks and ids differ, the
sequence of operations does not).

At the end, against refmerge.py (an independent reference built only
from the union of the nodes' logs):
  * every node's log holds exactly the txns of the records on its path;
  * every node's record tables equal the reference (canonical hash);
  * every concurrent pair with different values is listed as a conflict
    with the reference's id by every node holding both changes, with the
    right winner and resolved state, and no listed conflict -- in any
    round -- is a causally ordered or equal-valued pair;
  * every bundle holds only txns of its recipient's path, none that came
    from the recipient (read with `bundle inspect` on the recipient);
  * a refused `conflicts resolve` exits 2 and says why;
  * one conflict resolved with `conflicts resolve` shows resolved on every
    node once replicated.

Prints "ok - ..." / "not ok - ..." lines (turned into TAP by the shell
wrapper) and "# ..." diagnostics.  Exit status 1 when a check failed.

  converge.py --pingan BIN --work DIR [--seeds 1,2,3] [--rounds 25]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refmerge  # noqa: E402

# Real codes from shared/data/xiangtan_divisions.csv: 湘潭县, its towns
# 石潭镇 (with the community 列家桥煤矿居委会 and the village 新合村委会)
# and 易俗河镇, and 谭家山镇 (no node: its records stay on the county).
NODES = [
    ("county", "430321000000", "湘潭县"),
    ("town_a", "430321112000", "石潭镇"),
    ("town_b", "430321100000", "易俗河镇"),
    ("comm", "430321112005", "列家桥煤矿居委会"),
]
LINKS = [("county", "town_a"), ("county", "town_b"), ("town_a", "comm")]
# The city 湘潭市 is the root of trust (DESIGN §7): it certifies the county
# and takes no part in the rounds.  Without it no chain of trust reaches
# the community, which could never verify what the county writes.
ROOT = ("city", "430300000000", "湘潭市")
DIVISIONS = [
    "430321000000",  # the county itself
    "430321102000",  # 谭家山镇: no node
    "430321112000",  # 石潭镇
    "430321112005",  # 列家桥煤矿居委会
    "430321112228",  # 新合村委会: no node, lives on 石潭镇 and the county
    "430321100000",  # 易俗河镇
]
COLLECTIONS = ["hazard", "dispute", "grid_event", "volunteer"]
# Fields that several tiers edit at once (lww and authority).
HOT = {
    "hazard": ["status", "level", "measures", "responsible_unit"],
    "dispute": ["status", "escalation_risk", "mediator"],
    "grid_event": ["status", "urgency", "supervise_level", "handling_unit"],
    "volunteer": ["status", "team", "last_activity"],
}
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗"
GIVEN = ["建国", "秀英", "志强", "丽华", "俊峰", "红霞", "晓明", "玉兰", "文博", "海燕"]
WORDS = ["排查", "核实", "整改", "回访", "调解", "巡查", "督办", "复查", "处置", "上报"]


class Failure(Exception):
    pass


class Run:
    def __init__(self, pingan, work, seed, rounds, verbose):
        self.pingan = pingan
        self.work = work
        self.seed = seed
        self.rounds = rounds
        self.verbose = verbose
        self.rng = random.Random(seed)
        self.nodes = {n: (c, name) for n, c, name in NODES}
        self.dirs = {n: os.path.join(work, "s%d" % seed, n) for n in self.nodes}
        self.records = []  # (collection, id) in creation order
        self.held = []  # bundles waiting: (dst, path)
        self.bundles = []  # (src, dst, file, [(origin, origin_seq)])
        self.listed = []  # (round, node, conflict) ever listed
        self.problems = []  # (category, text)
        self.report = []  # (category, description)
        self.stage = "run"
        self.stats = {"writes": 0, "exports": 0, "imports": 0, "lost": 0,
                      "stale": 0, "dups": 0, "refused_updates": 0, "files": 0,
                      "resolved": 0, "refused_resolves": 0, "twice": 0}
        self.nbundle = 0
        self.round = 0
        self.schema = None

    # ---- running pingan --------------------------------------------------

    def pg(self, node, args, ok=(0,)):
        cmd = [self.pingan]
        if node:
            cmd += ["--dir", self.dirs[node]]
        cmd += args
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        if self.verbose:
            print("# $ %s -> %d" % (" ".join(cmd[1:]), p.returncode))
        if ok is not None and p.returncode not in ok:
            raise Failure("seed %d: pingan %s: exit %d (expected %s)\n%s%s" % (
                self.seed, " ".join(cmd[1:]), p.returncode,
                "/".join(map(str, ok)), out[-1500:], err[-1500:]))
        return p.returncode, out, err

    def pg_json(self, node, args):
        _, out, _ = self.pg(node, args)
        try:
            return json.loads(out)
        except ValueError:
            raise Failure("seed %d: pingan %s printed no JSON: %r"
                          % (self.seed, " ".join(args), out[:500]))

    def problem(self, text, cat=None):
        """Note a failed check under the report line `cat` (the current
        stage when None)."""
        self.problems.append((cat or self.stage, "seed %d: %s" % (self.seed, text)))

    # ---- setup ---------------------------------------------------------------

    def setup(self):
        os.makedirs(os.path.join(self.work, "s%d" % self.seed))
        for n, (code, name) in self.nodes.items():
            self.pg(None, ["--dir", self.dirs[n], "init", "--code", code,
                           "--name", name])
            self.pg(n, ["card", "--out", self.dirs[n] + ".card"])
        for parent, child in LINKS:
            self.pg(parent, ["peer", "add", "--card", self.dirs[child] + ".card",
                             "--role", "child"])
            self.pg(child, ["peer", "add", "--card", self.dirs[parent] + ".card",
                            "--role", "parent"])
        self.schema = refmerge.Schema(self.pg_json(None, ["schema", "--json"]))
        self.trust()

    def trust(self):
        """Pinning a child certified it (DESIGN §7).  Before the rounds,
        the city certifies the county, and the certificates and chains of
        trust travel down every link (and the community's certificate up
        to the county), so that every node knows every writer's key when
        the rounds begin: later, a lost bundle cannot leave a txn pending
        for want of a certificate."""
        _, code, name = ROOT
        city = os.path.join(self.work, "s%d" % self.seed, ROOT[0])
        county = self.dirs["county"]
        self.pg(None, ["--dir", city, "init", "--code", code, "--name", name])
        self.pg(None, ["--dir", city, "card", "--out", city + ".card"])
        self.pg(None, ["--dir", city, "peer", "add", "--card", county + ".card",
                       "--role", "child"])
        self.pg("county", ["peer", "add", "--card", city + ".card", "--role",
                           "parent"])
        out = city + "-county.pgb"
        self.pg(None, ["--dir", city, "export", "--to", self.code("county"),
                       "--out", out])
        self.import_("county", [out])
        for parent, child in LINKS:
            self.import_(child, self.export(parent, child))
        self.import_("county", self.export("town_a", "county"))
        # Each node holds the certificates of its own path by now.
        for n in self.nodes:
            certs = {r["code"] for r in self.pg_json(n, ["record", "list", "node",
                                                         "--json"])}
            want = {self.code(m) for m in self.nodes
                    if refmerge.covers(self.code(m), self.code(n))
                    or refmerge.covers(self.code(n), self.code(m))}
            if certs != want:
                self.problem("setup: %s holds the certificates of %s, expected %s"
                             % (n, sorted(certs), sorted(want)))

    def code(self, node):
        return self.nodes[node][0]

    def path(self, division):
        """Nodes holding records of this division."""
        return [n for n in self.nodes if refmerge.covers(self.code(n), division)]

    # ---- values ------------------------------------------------------------------

    def value(self, coll, field):
        f = self.schema.collections[coll]["fields"][field]
        t, r = f["type"], self.rng
        if t == "enum":
            return r.choice(f["values"])
        if t == "text":
            return "%s%s第%d次" % (r.choice(WORDS), r.choice(WORDS), r.randrange(1000))
        if t == "name":
            return r.choice(SURNAMES) + r.choice(GIVEN)
        if t == "phone":
            return "139%08d" % r.randrange(10 ** 8)
        if t == "address":
            return "湖南省湘潭市湘潭县%d组%d号" % (r.randrange(1, 20), r.randrange(1, 200))
        if t == "int":
            return str(r.randrange(0, 500))
        if t == "real":
            return "%.4f" % r.uniform(27.5, 113.2)
        if t == "bool":
            return r.choice(["true", "false"])
        if t == "time":
            return "2026-%02d-%02dT%02d:%02d:00+08:00" % (
                r.randrange(1, 13), r.randrange(1, 29), r.randrange(24), r.randrange(60))
        if t == "counter":
            return str(r.randrange(-5, 20))
        raise AssertionError(t)

    def lifecycle(self, coll):
        """The status lifecycle of coll ('pingan lifecycle show')."""
        if not hasattr(self, "lifecycles"):
            self.lifecycles = {}
        if coll not in self.lifecycles:
            lc = self.pg_json(None, ["lifecycle", "show", coll, "--json"])
            self.lifecycles[coll] = (lc["initial"], {
                s["state"]: s["next"] for s in lc["states"]})
        return self.lifecycles[coll]

    def status_step(self, node, coll, rid):
        """A status the node may write now: local writes follow the
        lifecycle (the merge does not), so read the node's current one."""
        initial, nexts = self.lifecycle(coll)
        rc, out, _ = self.pg(node, ["record", "get", coll, rid, "--json"],
                             ok=(0, 1, 2))
        cur = json.loads(out).get("status") if rc == 0 else None
        if cur is None:
            return self.rng.choice(initial)
        return self.rng.choice(nexts.get(cur, []) + [cur])

    def editable(self, coll):
        """Fields a test writes: not division, id numbers or partner codes."""
        fields = self.schema.collections[coll]["fields"]
        return [n for n, f in fields.items()
                if n not in ("division", "_deleted")
                and f.get("type") not in ("division", "id_number")]

    # ---- writes ----------------------------------------------------------------------

    def views(self):
        """{node: {(coll, id): deleted}} as each node sees it now."""
        v = {}
        for n in self.nodes:
            v[n] = {}
            for coll in COLLECTIONS:
                for rec in self.pg_json(n, ["record", "list", coll, "--deleted",
                                            "--json"]):
                    v[n][(coll, rec["id"])] = bool(rec["_deleted"])
        return v

    def operator(self, node):
        return "%s-operator-%d" % (node, self.rng.randrange(3))

    def create(self):
        node = self.rng.choice(sorted(self.nodes))
        divs = [d for d in DIVISIONS if refmerge.covers(self.code(node), d)]
        div = self.rng.choice(divs)
        coll = self.rng.choice(COLLECTIONS)
        fields = self.schema.collections[coll]["fields"]
        args = ["division=" + div]
        for name in self.editable(coll):
            if fields[name].get("required"):
                args.append("%s=%s" % (name, self.value(coll, name)))
        optional = [n for n in self.editable(coll) if not fields[n].get("required")]
        for name in self.rng.sample(optional, self.rng.randint(1, 4)):
            value = self.rng.choice(self.lifecycle(coll)[0]) \
                if name == "status" else self.value(coll, name)
            args.append("%s=%s" % (name, value))
        _, out, _ = self.pg(node, ["--operator", self.operator(node), "record",
                                   "put", coll] + args)
        self.records.append((coll, out.strip()))
        self.stats["writes"] += 1

    def update(self, node, coll, rid, fields, view):
        args = []
        req = self.schema.collections[coll]["fields"]
        for name in fields:
            if name == "status":
                # A status moves along its lifecycle and is never cleared.
                args.append("status=" + self.status_step(node, coll, rid))
            elif not req[name].get("required") and req[name]["merge"] != "counter" \
                    and self.rng.random() < 0.1:
                args.append(name + "=")  # clear it
            else:
                args.append("%s=%s" % (name, self.value(coll, name)))
        rc, _, err = self.pg(node, ["--operator", self.operator(node), "record",
                                    "put", coll, "--id", rid] + args, ok=(0, 2))
        if rc == 2:
            # An authority field set by a higher tier is not a lower tier's
            # to change (DESIGN §2); anything else refused is a failure.
            if "only that tier or one above may change it" not in err:
                raise Failure("seed %d: %s could not update %s %s: %s"
                              % (self.seed, node, coll, rid, err.strip()))
            self.stats["refused_updates"] += 1
            return
        self.stats["writes"] += 1

    def writes(self):
        view = self.views()
        for _ in range(self.rng.randint(1, 3)):
            self.create()

        def holders(coll, rid):
            return [n for n in sorted(self.nodes)
                    if (coll, rid) in view[n] and not view[n][(coll, rid)]]

        shared = [(c, r) for (c, r) in self.records if len(holders(c, r)) >= 2]
        # The same records edited by several tiers of their path at once.
        for _ in range(min(len(shared), self.rng.randint(1, 3))):
            coll, rid = self.rng.choice(shared)
            hs = holders(coll, rid)
            writers = self.rng.sample(hs, self.rng.randint(2, len(hs)))
            hot = HOT[coll]
            common = self.rng.choice(hot)
            for n in writers:
                fields = [common] if self.rng.random() < 0.7 else \
                    self.rng.sample(hot, self.rng.randint(1, 2))
                self.update(n, coll, rid, fields, view)
        # Counter increments from every tier holding a volunteer.
        vols = [(c, r) for (c, r) in self.records if c == "volunteer" and holders(c, r)]
        for _ in range(min(len(vols), self.rng.randint(0, 3))):
            coll, rid = self.rng.choice(vols)
            n = self.rng.choice(holders(coll, rid))
            self.update(n, coll, rid, self.rng.sample(["points", "hours"],
                                                      self.rng.randint(1, 2)), view)
        # Ordinary edits.
        live = [(c, r) for (c, r) in self.records if holders(c, r)]
        for _ in range(min(len(live), self.rng.randint(0, 2))):
            coll, rid = self.rng.choice(live)
            n = self.rng.choice(holders(coll, rid))
            self.update(n, coll, rid, self.rng.sample(self.editable(coll),
                                                      self.rng.randint(1, 3)), view)
        # Now and then a delete, sometimes while another tier edits it.
        if live and self.rng.random() < 0.35:
            coll, rid = self.rng.choice(live)
            hs = holders(coll, rid)
            n = self.rng.choice(hs)
            self.pg(n, ["--operator", self.operator(n), "record", "delete", coll, rid])
            self.stats["writes"] += 1
            others = [m for m in hs if m != n]
            if others and self.rng.random() < 0.5:
                self.update(self.rng.choice(others), coll, rid,
                            [self.rng.choice(HOT[coll])], view)
        # Now and then a node decides an open conflict it lists, and now
        # and then two nodes decide the same one at once, differently.
        if self.rng.random() < 0.4:
            self.resolve_some()

    def resolve_some(self):
        order = {r: i for i, (_, r) in enumerate(self.records)}
        lists = {}
        for n in sorted(self.nodes):
            for c in self.pg_json(n, ["conflicts", "list", "--json"]):
                lists.setdefault(c["id"], (c, []))[1].append(n)
        if not lists:
            return
        cands = sorted(lists.values(), key=lambda x: (
            order.get(x[0]["record_id"], -1), x[0]["field"],
            refmerge.listed_version(x[0]["a"]), refmerge.listed_version(x[0]["b"])))
        c, nodes = self.rng.choice(cands)
        if len(nodes) >= 2 and self.rng.random() < 0.5:
            deciders = self.rng.sample(nodes, 2)
            keeps = ["a", "b"]
            self.stats["twice"] += 1
        else:
            deciders = [self.rng.choice(nodes)]
            keeps = [self.rng.choice(["a", "b"])]
        for n, keep in zip(deciders, keeps):
            rc, out, err = self.pg(n, ["--operator", self.operator(n), "conflicts",
                                       "resolve", c["id"], "--keep", keep], ok=None)
            if rc == 0:
                self.stats["resolved"] += 1
                continue
            # Refusals the rules call for: an authority field set by a higher
            # tier; an older conflict of a field that has moved on.
            known = ("only that tier or one above may change it" in err
                     or "resolve the newer conflicts" in err)
            if rc == 2 and known and err.startswith("pingan: "):
                self.stats["refused_resolves"] += 1
            else:
                self.problem("round %d: conflicts resolve %s --keep %s on %s: exit "
                             "%d (a refusal exits 2): %s" % (
                                 self.round, c["id"], keep, n, rc, err.strip()[:300]),
                             "decide")

    # ---- exchange --------------------------------------------------------------------

    def directed(self):
        return [(p, c) for p, c in LINKS] + [(c, p) for p, c in LINKS]

    def export(self, src, dst, resend=False, max_bytes=None):
        self.nbundle += 1
        out = os.path.join(self.work, "s%d" % self.seed,
                           "b%04d-%s-%s.pgb" % (self.nbundle, src, dst))
        args = ["export", "--to", self.code(dst), "--out", out, "--json"]
        if resend:
            args.append("--resend")
        if max_bytes:
            args += ["--max-bytes", str(max_bytes)]
        res = self.pg_json(src, args)
        self.stats["exports"] += 1
        files = [f["file"] for f in res.get("files", [])]
        if res.get("nothing") and files:
            self.problem("export %s -> %s says nothing but lists files" % (src, dst))
        for f in files:
            if not os.path.exists(f):
                self.problem("export %s -> %s lists %s, which does not exist"
                             % (src, dst, f))
        self.stats["files"] += len(files)
        # What each file holds, as its recipient reads it: checked against
        # the path rule once all logs are known (verify).
        for f, info in zip(files, res.get("files", [])):
            insp = self.pg_json(dst, ["bundle", "inspect", f, "--json"])
            txns = [(t["origin"], int(t["origin_seq"])) for t in insp.get("txn_list", [])]
            if insp.get("sender") != self.code(src) or \
                    insp.get("recipient") != self.code(dst) or \
                    len(txns) != info.get("txns") or insp.get("txns") != info.get("txns"):
                self.problem("bundle inspect of %s on %s: sender %s, recipient %s, "
                             "%d txns listed, %s counted, export said %s" % (
                                 os.path.basename(f), dst, insp.get("sender"),
                                 insp.get("recipient"), len(txns), insp.get("txns"),
                                 info.get("txns")))
            self.bundles.append((src, dst, os.path.basename(f), txns))
        return files

    def import_(self, dst, files):
        rc, out, err = self.pg(dst, ["import"] + files + ["--json"], ok=None)
        self.stats["imports"] += 1
        what = "import of %s into %s" % (
            " ".join(os.path.basename(f) for f in files), dst)
        if rc != 0:
            self.problem("%s: exit %d: %s" % (what, rc, (err or out)[-600:]))
        try:
            res = json.loads(out)
        except ValueError:
            self.problem("%s printed no JSON" % what)
            return 0
        new = 0
        for f in res.get("files", []):
            if f.get("status") != "applied":
                self.problem("%s: %s is %s: %s" % (what, f.get("file"),
                                                    f.get("status"), f.get("error")))
            if f.get("quarantined") or f.get("pending"):
                self.problem("%s: %s quarantined %s, pending %s: %s" % (
                    what, f.get("file"), f.get("quarantined"), f.get("pending"),
                    json.dumps(f.get("txns"), ensure_ascii=False)[:600]))
            new += int(f.get("new") or 0)
        if len(res.get("files", [])) != len(files):
            self.problem("%s: %d results for %d files" % (
                what, len(res.get("files", [])), len(files)))
        return new

    def exchange(self):
        links = self.directed()
        for _ in range(self.rng.randint(4, 9)):
            src, dst = self.rng.choice(links)
            r = self.rng.random()
            files = self.export(src, dst, resend=r < 0.1,
                                max_bytes=self.rng.choice([4096, 6000])
                                if 0.1 <= r < 0.25 else None)
            for f in files:
                fate = self.rng.random()
                if fate < 0.62:
                    self.import_(dst, [f])
                elif fate < 0.8:
                    self.held.append((dst, f))  # delayed: arrives late
                elif fate < 0.9:
                    self.stats["lost"] += 1  # a lost USB stick
                else:
                    self.import_(dst, [f])
                    self.held.append((dst, f))  # and again later
                    self.stats["dups"] += 1
            if self.held and self.rng.random() < 0.35:
                dst2, f2 = self.held.pop(self.rng.randrange(len(self.held)))
                self.import_(dst2, [f2])
                self.stats["stale"] += 1

    def quiesce(self, what):
        """--resend along every link until a whole pass brings nothing new."""
        for npass in range(1, 9):
            new = 0
            for src, dst in self.directed():
                files = self.export(src, dst, resend=True)
                if files:
                    new += self.import_(dst, files)
            if new == 0:
                return npass
        self.problem("%s: not quiescent after 8 --resend passes" % what)
        return 0

    def collect_conflicts(self, rnd):
        for n in self.nodes:
            for c in self.pg_json(n, ["conflicts", "list", "--json", "--all"]):
                self.listed.append((rnd, n, c))

    # ---- verification ----------------------------------------------------------------

    def verify(self, stage):
        logs = {n: self.pg_json(n, ["log", "--json", "--changes"]) for n in self.nodes}
        try:
            txns = refmerge.union(logs.values())
            groups = refmerge.by_field(refmerge.changes_of(txns))
            expected_c = refmerge.expected_conflicts(self.schema, txns, groups)
        except refmerge.RefError as e:
            self.problem("%s: the logs are inconsistent: %s" % (stage, e))
            return None
        for n in self.nodes:
            code = self.code(n)
            held = {(e["origin"], int(e["origin_seq"])) for e in logs[n]}
            if len(held) != len(logs[n]):
                self.problem("%s: %s's log holds a txn twice" % (stage, n))
            want = {k for k, t in txns.items()
                    if self.schema.held_by(t["collection"], code, t["division"])}
            for k in sorted(want - held)[:10]:
                self.problem("%s: %s lacks txn %s#%d (%s %s)" % (
                    stage, n, k[0], k[1], txns[k]["collection"], txns[k]["division"]))
            for k in sorted(held - want)[:10]:
                self.problem("%s: %s holds txn %s#%d of division %s, off its path" % (
                    stage, n, k[0], k[1], txns[k]["division"]))
            exp = refmerge.expected_records(self.schema, txns, code, groups)
            act = {}
            for coll in exp:
                lst = self.pg_json(n, ["record", "list", coll, "--deleted", "--json"])
                act[coll] = {r["id"]: r for r in lst}
            if refmerge.canonical_hash(exp) != refmerge.canonical_hash(act):
                self.problem("%s: %s's tables differ from the reference:\n%s" % (
                    stage, n, "\n".join("    " + l for l in
                                        refmerge.records_diff(exp, act))))
            listed = self.pg_json(n, ["conflicts", "list", "--json", "--all"])
            open_ids = sorted(c.get("id") for c in
                              self.pg_json(n, ["conflicts", "list", "--json"]))
            if open_ids != sorted(c.get("id") for c in listed if not c.get("resolved")):
                self.problem("%s: %s: conflicts list (open) differs from the "
                             "unresolved ones of --all" % (stage, n))
            for p in refmerge.check_conflicts(self.schema, txns, code, held, listed,
                                              expected_c, groups):
                self.problem("%s: %s: %s" % (stage, n, p))
            q = self.pg_json(n, ["quarantine", "list", "--json"])
            if q:
                self.problem("%s: %s quarantined %d txns: %s" % (
                    stage, n, len(q), json.dumps(q, ensure_ascii=False)[:600]))
        # Every bundle held only txns of the recipient's path, none that it
        # wrote or that came from it.
        via = {n: {(e["origin"], int(e["origin_seq"])): e.get("via") for e in logs[n]}
               for n in self.nodes}
        bundles, self.bundles = self.bundles, []
        for src, dst, f, keys in bundles:
            dcode = self.code(dst)
            for k in keys:
                t = txns.get(k)
                if t is None:
                    self.problem("%s (%s -> %s) holds txn %s#%d, which no log has"
                                 % (f, src, dst, k[0], k[1]))
                elif not self.schema.held_by(t["collection"], dcode, t["division"]):
                    self.problem("%s (%s -> %s) holds txn %s#%d of division %s, off "
                                 "the recipient's path" % (f, src, dst, k[0], k[1],
                                                           t["division"]))
                elif k[0] == dcode or via[src].get(k) == dcode:
                    self.problem("%s (%s -> %s) sends txn %s#%d back to where it "
                                 "came from" % (f, src, dst, k[0], k[1]))
        # Conflicts listed in earlier rounds: never a causally ordered or
        # equal-valued pair, always the reference's id.
        seen = set()
        listed, self.listed = self.listed, []
        for rnd, n, c in listed:
            key = (n, c.get("id"), json.dumps(c.get("a"), sort_keys=True),
                   json.dumps(c.get("b"), sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            try:
                va = refmerge.listed_version(c["a"])
                vb = refmerge.listed_version(c["b"])
            except (KeyError, refmerge.RefError, ValueError) as e:
                self.problem("round %d: %s lists an unreadable conflict: %s" % (rnd, n, e),
                             "order")
                continue
            why = refmerge.ordered_pair(self.schema, txns, c.get("collection"),
                                        c.get("record_id"), c.get("field"), va, vb,
                                        groups)
            if why:
                self.problem("round %d: %s listed conflict %s, which is not one: %s"
                             % (rnd, n, c.get("id"), why), "order")
            elif c.get("id") != refmerge.conflict_id(c["collection"], c["record_id"],
                                                     c["field"], va, vb):
                self.problem("round %d: %s listed conflict %s with the wrong id"
                             % (rnd, n, c.get("id")), "order")
        self.txns = txns
        self.expected_c = expected_c
        return True

    # ---- the run ------------------------------------------------------------------------

    def run(self):
        """Returns the report: [(category, description)]; a line passes
        when no problem was noted under its category."""
        t0 = time.time()
        report = self.report
        self.stage = "run"
        self.setup()
        for rnd in range(1, self.rounds + 1):
            self.round = rnd
            self.writes()
            self.exchange()
            self.collect_conflicts(rnd)
        # The end: half the bundles still in pockets arrive late, the rest
        # are lost; then resend until nothing new moves.
        self.rng.shuffle(self.held)
        for dst, f in self.held[: len(self.held) // 2]:
            self.import_(dst, [f])
            self.stats["stale"] += 1
        self.stats["lost"] += len(self.held) - len(self.held) // 2
        self.held = []
        passes = self.quiesce("final replication")
        self.collect_conflicts(self.rounds + 1)
        ok = self.verify("after %d rounds" % self.rounds)
        report.append(("run", "seed %d: %d rounds, %d writes, %d txns, %d bundle "
                       "files (%d lost, %d stale, %d duplicated), quiescent after "
                       "%d --resend passes: every node holds exactly the txns of "
                       "its path, its tables and its %d conflicts are the "
                       "reference's (%.1fs)"
                       % (self.seed, self.rounds, self.stats["writes"],
                          len(getattr(self, "txns", {})), self.stats["files"],
                          self.stats["lost"], self.stats["stale"], self.stats["dups"],
                          passes, len(getattr(self, "expected_c", {})),
                          time.time() - t0)))
        report.append(("order", "seed %d: no conflict listed in any of the %d "
                       "rounds is a causally ordered or equal-valued pair"
                       % (self.seed, self.rounds + 1)))
        report.append(("decide", "seed %d: conflicts decided during the rounds: "
                       "%d resolutions written (%d conflicts decided by two nodes "
                       "at once), %d refusals, each exit 2 saying why"
                       % (self.seed, self.stats["resolved"], self.stats["twice"],
                          self.stats["refused_resolves"])))
        if ok is None:
            return report
        # Resolve one conflict, replicate, and it is resolved everywhere:
        # one whose newer side is the field's value now (an older conflict
        # of a field that moved on is resolved by resolving the newer ones
        # first).
        self.stage = "resolve"
        groups = refmerge.by_field(refmerge.changes_of(self.txns))
        current = {k: refmerge.winner(self.schema, k[0], k[2], lst).version
                   for k, lst in groups.items()}
        open_ = sorted((c for c in self.expected_c.values()
                        if not c["resolved"] and current[
                            (c["collection"], c["record_id"], c["field"])]
                        in c["versions"]),
                       key=lambda c: (len(self.path(c["division"])), c["id"]),
                       reverse=True)
        if not open_:
            self.problem("no open conflict to resolve: the run made none")
            report.append(("resolve", "seed %d: a conflict to resolve" % self.seed))
            return report
        c = open_[0] if self.rng.random() < 0.5 else self.rng.choice(open_)
        path = self.path(c["division"])
        # An authority field is decided by the tier that set it or above.
        top = refmerge.tier_of(current[(c["collection"], c["record_id"],
                                        c["field"])][1])
        n = self.rng.choice([m for m in path
                             if self.schema.merge_kind(c["collection"], c["field"])
                             != "authority"
                             or refmerge.tier_of(self.code(m)) <= top])
        keep = self.rng.choice(["a", "b", "version"])
        if keep == "version":
            keep = refmerge.version_label(self.rng.choice(c["versions"]))
        report.append(("resolve", "seed %d: conflict %s (%s.%s) resolved on %s with "
                       "--keep %s shows resolved on all %d nodes of its path once "
                       "replicated, and every node still matches the reference"
                       % (self.seed, c["id"], c["collection"], c["field"], n, keep,
                          len(path))))
        self.pg(n, ["--operator", "resolver", "conflicts", "resolve", c["id"],
                    "--keep", keep])
        self.quiesce("replicating the resolution")
        self.collect_conflicts(self.rounds + 2)
        self.verify("after resolving %s" % c["id"])
        for m in path:
            listed = self.pg_json(m, ["conflicts", "list", "--json", "--all"])
            mine = [x for x in listed if x.get("id") == c["id"]]
            if len(mine) != 1 or not mine[0].get("resolved"):
                self.problem("conflict %s resolved on %s is not shown resolved on %s: %s"
                             % (c["id"], n, m, json.dumps(mine, ensure_ascii=False)[:400]))
            open_list = self.pg_json(m, ["conflicts", "list", "--json"])
            if any(x.get("id") == c["id"] for x in open_list):
                self.problem("conflict %s still listed as open on %s" % (c["id"], m))
        return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    failed = False
    for seed in [int(s) for s in a.seeds.split(",")]:
        r = Run(a.pingan, a.work, seed, a.rounds, a.verbose)
        try:
            r.run()
        except Failure as e:
            r.problem(str(e).replace("seed %d: " % seed, "", 1))
            if r.stage not in {c for c, _ in r.report}:
                r.report.append((r.stage, "seed %d: the %s stage went through"
                                 % (seed, r.stage)))
        report = r.report
        for cat, what in report:
            mine = [t for c, t in r.problems if c == cat]
            print("%s - %s" % ("not ok" if mine else "ok", what))
            for p in mine[:25]:
                for line in p.splitlines():
                    print("# " + line)
            if len(mine) > 25:
                print("# ... %d more problems" % (len(mine) - 25))
        cats = {c for c, _ in report}
        stray = [t for c, t in r.problems if c not in cats]
        if stray:
            print("not ok - seed %d: other checks" % seed)
            for p in stray[:25]:
                print("# " + p.replace("\n", "\n# "))
        failed = failed or bool(r.problems)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
