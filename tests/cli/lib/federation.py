#!/usr/bin/env python3
"""Federation driver for tests/cli/federation.sh (DESIGN §1, §3, §6, §7).

A four-tier tree that exchanges nothing but bundle files -- the city
湘潭市, the county 湘潭县, its townships 石潭镇 and 易俗河镇 and one
community under each -- plus the partner cities 长沙市 and 株洲市, each
with an Art. 8 agreement file that pseudonymizes ID numbers and phones.
`sync` exports and imports along every link until nothing new moves.

Checked, each from `--json` output (or, for the leak test, the raw bytes
of the node directories):
   1. a community's records reach the city, every log entry verifies;
   2. the city's edit of a hazard comes back down to the community;
   3. key_person stops at the county;
   4. a supervision the city addresses to 石潭镇 reaches it and the
      county only, and its response goes back up;
   5. the county keeps a fraud alert's sensitive fields, the city not;
   6. a partner receives only what its agreement names, masked and
      pseudonymized; both cities derive the same pseudonym, a third city
      another;
   7. no original personal value of the agreement's masked, hashed or
      dropped fields is anywhere in a partner's directory, nor the fraud
      alert's description (nor anything of the key person) in the city's;
   8. a dispute that becomes cross_region later reaches the partner with
      its whole history;
   9. a revocation quarantines the key's later txns at the county and
      takes them back at the township that had applied them;
  10. a certificate outside the issuer's jurisdiction is refused;
  11. `export --dry-run --json` to a partner names transforms, no values;
  12. bad agreement files are refused with FILE:LINE, nothing pinned.

Prints "ok - ..." / "not ok - ..." lines (turned into TAP by the shell
wrapper), with "#   expected:" / "#   found:" lines under a failure.
Exit status 1 when a check failed.

  federation.py --pingan BIN --work DIR [--verbose]
"""

import argparse
import difflib
import json
import os
import re
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from checks import Bail, Checks  # noqa: E402

# Codes from shared/data/xiangtan_divisions.csv.  The csv has no
# community under 易俗河镇 (430321100): 430321100001 is SYNTHETIC, named
# as such; every other code is real.
CITY, COUNTY = "430300000000", "430321000000"
TOWN_A, TOWN_B = "430321112000", "430321100000"  # 石潭镇, 易俗河镇
COMM_A = "430321112005"  # 列家桥煤矿居委会 (石潭镇)
COMM_B = "430321100001"  # synthetic community of 易俗河镇
CHANGSHA, ZHUZHOU, HENGYANG = "430100000000", "430200000000", "430400000000"
OTHER_COUNTY_COMM = "430381104004"  # 四总社区, 潭市镇, 湘乡市
OTHER_COUNTY_TOWN = "430381104000"  # 潭市镇, 湘乡市

NODES = [
    ("city", CITY, "湘潭市"),
    ("county", COUNTY, "湘潭县"),
    ("town_a", TOWN_A, "石潭镇"),
    ("town_b", TOWN_B, "易俗河镇"),
    ("comm_a", COMM_A, "列家桥煤矿居委会"),
    ("comm_b", COMM_B, "易俗河镇虚构测试社区"),
    ("cs", CHANGSHA, "长沙市"),
    ("zz", ZHUZHOU, "株洲市"),
]
# (parent, child)
TREE = [("city", "county"), ("county", "town_a"), ("county", "town_b"),
        ("town_a", "comm_a"), ("town_b", "comm_b")]
PARTNERS = [("city", "cs"), ("city", "zz")]
# Every directed link, up the tree first, then to the partners and down:
# one pass carries a change anywhere to everywhere it goes.
ORDER = [("comm_a", "town_a"), ("comm_b", "town_b"), ("town_a", "county"),
         ("town_b", "county"), ("county", "city"), ("cs", "city"), ("zz", "city"),
         ("city", "cs"), ("city", "zz"), ("city", "county"), ("county", "town_a"),
         ("county", "town_b"), ("town_a", "comm_a"), ("town_b", "comm_b")]

AGREEMENT = """# 湘潭市–{name} Art. 8 agreement (test)
[agreement]
id = {id}
purpose = 联调
[dispute]
where = cross_region = true
applicant_name = mask
applicant_id_number = hash
applicant_phone = hash
[fraud_alert]
target_phone = hash
"""


def id_number(body17):
    """GB 11643: append the check character to 17 digits."""
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * x for c, x in zip(body17, w)) % 11]


def id15(id18):
    """The 15-digit form of an 18-digit ID number of someone born in 19xx."""
    assert id18[6:8] == "19"
    return id18[:6] + id18[8:17]


# Fictional people.  ID numbers are valid (check character), one ends in X.
D1 = {  # cross-region from the start
    "applicant_name": "谭秋菊", "applicant_id_number": id_number("43032119850612032"),
    "applicant_phone": "13907325581", "respondent_name": "龚德彪",
    "respondent_phone": "18673201946",
    "summary": "谭秋菊与望城区龚德彪因茶叶货款往来发生纠纷，涉及货款两万元",
}
D2 = {  # stays inside Xiangtan
    "applicant_name": "周海燕", "applicant_id_number": id_number("43032119900101123"),
    "applicant_phone": "13574021357", "respondent_name": "柳长庚",
    "respondent_phone": "15807329864",
    "summary": "周海燕与邻居柳长庚因排水沟堵塞发生争执",
}
D3 = {  # becomes cross-region later
    "applicant_name": "欧阳文博", "applicant_id_number": id_number("43032119710422101"),
    "applicant_phone": "17873216650", "respondent_name": "蔡明轩",
    "respondent_phone": "13307318842",
    "summary": "欧阳文博承包的鱼塘被长沙宁乡蔡明轩的养殖场排污污染",
}
FRAUD = {
    "target_name": "贺玉兰", "target_phone": "15173260987",
    "suspect_phone": "17089015566", "suspect_account": "6222021903004567890",
    "description": "贺玉兰接到冒充公检法的电话，被要求将存款转入所谓安全账户，已转账三万八千元",
}
LOSS = 38000.5
KEYP = {
    "name": "黎志刚", "id_number": id_number("43032119760921001"),
    "phone": "18907320455", "address": "石潭镇列家桥煤矿生活区7栋2单元",
    "original_charge": "盗窃罪", "visit_notes": "黎志刚近期情绪稳定，按时报到",
}
HAZARD = {
    "description": "列家桥煤矿老职工宿舍燃气管道锈蚀漏气", "contact_name": "陈桂香",
    "contact_phone": "13975216604", "address": "列家桥煤矿老职工宿舍3栋",
}


class Fed(Checks):
    def __init__(self, pingan, work, verbose):
        self.pingan = pingan
        self.work = work
        self.verbose = verbose
        self.code = {n: c for n, c, _ in NODES}
        self.name = {n: nm for n, _, nm in NODES}
        self.dir = {n: os.path.join(work, "nodes", n) for n in self.code}
        self.bdir = os.path.join(work, "bundles")  # outside every node directory
        self.nb = 0
        self.nfail = 0
        self.last = None
        self.dirty = set(ORDER)  # directed links that may have something to send
        self.cache = {}  # (node, what, ...) -> parsed JSON, until node changes

    # ---- running pingan --------------------------------------------------

    def pg(self, node, *args):
        cmd = [self.pingan]
        if node:
            cmd += ["--dir", self.dir[node]]
        cmd += ["--operator", "测试员"] + list(args)
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           cwd=self.work)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        shown = " ".join(cmd[1:]).replace(self.work + "/", "")
        self.last = (shown, p.returncode, out, err)
        if self.verbose:
            print("# $ pingan %s -> %d (%.2f s)" % (shown, p.returncode,
                                                   time.monotonic() - t0))
        return p.returncode, out, err

    def must(self, node, *args, rc=(0,)):
        r, out, err = self.pg(node, *args)
        if r not in rc:
            raise Bail("pingan %s: exit %d, expected %s" % (self.last[0], r, rc))
        return out

    def j(self, node, *args, rc=(0,)):
        out = self.must(node, *args, rc=rc)
        try:
            return json.loads(out)
        except ValueError:
            raise Bail("pingan %s printed no JSON" % self.last[0])

    def put(self, node, coll, **fields):
        self.touched(node)
        args = ["record", "put", coll] + ["%s=%s" % kv for kv in fields.items()]
        return self.j(node, *(args + ["--json"]))["id"]

    def update(self, node, coll, rid, **fields):
        self.touched(node)
        self.must(node, "record", "put", coll, "--id", rid,
                  *["%s=%s" % kv for kv in fields.items()])

    def records(self, node, coll):
        key = (node, "records", coll)
        if key not in self.cache:
            self.cache[key] = {r["id"]: r for r in self.j(
                node, "record", "list", coll, "--deleted", "--json")}
        return self.cache[key]

    def get(self, node, coll, rid):
        return self.records(node, coll).get(rid)

    def log(self, node, changes=False):
        key = (node, "log", changes)
        if key not in self.cache:
            self.cache[key] = self.j(node, "log", "--json",
                                     *(["--changes"] if changes else []))
        return self.cache[key]

    def forget(self, node):
        """node's state may have changed: read it again."""
        for k in [k for k in self.cache if k[0] == node]:
            del self.cache[k]

    def quarantine(self, node):
        return self.j(node, "quarantine", "list", "--json")

    def state(self, node):
        """What a refused command must leave alone."""
        return json.dumps([self.j(node, "peer", "list", "--json"),
                           self.j(node, "log", "--json", "--changes"),  # certificates too
                           sorted(os.listdir(self.dir[node]))],
                          ensure_ascii=False, sort_keys=True, indent=1)

    # ---- setting up ------------------------------------------------------

    def setup(self):
        os.makedirs(self.bdir)
        os.makedirs(os.path.join(self.work, "nodes"))
        os.makedirs(os.path.join(self.work, "cards"))
        for n in self.code:
            self.must(n, "init", "--code", self.code[n], "--name", self.name[n])
            self.must(n, "card", "--out", self.card(n))
        for parent, child in TREE:
            self.must(parent, "peer", "add", "--card", self.card(child), "--role", "child")
            self.must(child, "peer", "add", "--card", self.card(parent), "--role", "parent")
        for city, partner in PARTNERS:
            pol = os.path.join(self.work, "agreement-%s.ini" % partner)
            with open(pol, "w", encoding="utf-8") as f:
                f.write(AGREEMENT.format(name=self.name[partner],
                                         id="xt-%s-2026-01" % partner))
            self.must(city, "peer", "add", "--card", self.card(partner), "--role",
                      "partner", "--policy", pol)
            self.must(partner, "peer", "add", "--card", self.card(city), "--role", "partner")
        self.ok(True, "8 nodes created and linked: city, county, 2 townships, "
                "2 communities, partners 长沙市 and 株洲市 (agreement files)")

    def card(self, n):
        return os.path.join(self.work, "cards", n + ".card")

    # ---- exchanging --------------------------------------------------------

    def touched(self, node, came_from=None):
        """node's log may have grown: each of its links may have something
        (but for the peer it just received from: nothing goes back)."""
        self.forget(node)
        for s, d in ORDER:
            if s == node and d != came_from:
                self.dirty.add((s, d))

    def transfer(self, src, dst, expect_rc=(0,)):
        """Export src -> dst and import there; the import's JSON report, or None."""
        self.nb += 1
        self.dirty.discard((src, dst))
        out = os.path.join(self.bdir, "%04d-%s-%s.pgb" % (self.nb, src, dst))
        e = self.j(src, "export", "--to", self.code[dst], "--out", out, "--json")
        if e.get("nothing") or not e.get("files"):
            return None
        files = [f["file"] for f in e["files"]]
        r, o, err = self.pg(dst, "import", *files, "--json")
        self.forget(dst)
        if r not in expect_rc:
            raise Bail("import %s -> %s: exit %d, expected %s" % (src, dst, r, expect_rc))
        try:
            rep = json.loads(o)
        except ValueError:
            raise Bail("pingan %s printed no JSON" % self.last[0])
        for f in rep["files"]:
            if f["status"] != "applied":
                raise Bail("import %s -> %s: file %s %s: %s"
                           % (src, dst, f["file"], f["status"], f["error"]))
        if any(f["txns"] for f in rep["files"]):
            self.touched(dst, src)
        return rep

    def sync(self, links=None, expect_rc=(0,), verify=False):
        """Exchange along the links (default: all), both ways, until nothing
        moves: in up-then-down order, only where the sender's log may have
        grown since its last export to that peer (every link with verify,
        which then checks that a full pass moved nothing more).  Returns the
        import reports' totals."""
        links = set(links or TREE + PARTNERS)
        mine = [(s, d) for s, d in ORDER if (s, d) in links or (d, s) in links]
        if verify:
            self.dirty.update(mine)
        tot = {"new": 0, "quarantined": 0, "pending": 0, "passes": 0, "files": 0}
        while any(l in self.dirty for l in mine):
            tot["passes"] += 1
            if tot["passes"] > 8:
                raise Bail("the federation did not quiesce in 8 passes")
            for s, d in mine:
                if (s, d) not in self.dirty:
                    continue
                rep = self.transfer(s, d, expect_rc)
                if rep is None:
                    continue
                for f in rep["files"]:
                    tot["files"] += 1
                    for k in ("new", "quarantined", "pending"):
                        tot[k] += f[k]
        return tot

    def quiet(self, what):
        """A pass over every link moves nothing."""
        tot = self.sync(verify=True)
        self.ok(tot["files"] == 0, "%s: a further pass over every link moves nothing" % what,
                "no file written", tot)

    # ---- the scenarios -------------------------------------------------------

    def run(self):
        """Set up, the exchange scenarios, then the refusals: those do not
        need the exchange, and still run when it bailed out."""
        for section in (self.setup, self.exchange, self.jurisdiction, self.bad_policies):
            try:
                section()
            except Bail as e:
                self.ok(False, "%s went through" % section.__name__,
                        "every command as expected", str(e), show=True)
                if section == self.setup:
                    return

    def exchange(self):
        # Records written at the community 列家桥煤矿居委会.
        hz = self.put("comm_a", "hazard", division=COMM_A, category="公共安全风险",
                      subcategory="燃气安全", level="较大", status="发现登记",
                      discovered_by="网格员", **HAZARD)
        d1 = self.put("comm_a", "dispute", division=COMM_A, dispute_type="经济活动",
                      source="当事人申请", party_count=2, amount_involved=20000,
                      mediation_org="石潭镇人民调解委员会", status="登记受理",
                      cross_region="true", partner_city=CHANGSHA, **D1)
        # A status moves along its lifecycle: registered, then mediated.
        self.update("comm_a", "dispute", d1, status="调解中")
        d2 = self.put("comm_a", "dispute", division=COMM_A, dispute_type="邻里纠纷",
                      source="网格排查", status="登记受理", **D2)
        d3 = self.put("comm_a", "dispute", division=COMM_A, dispute_type="环境生态",
                      source="当事人申请", status="登记受理", cross_region="false", **D3)
        fa = self.put("comm_a", "fraud_alert", division=COMM_A, alert_source="96110",
                      fraud_type="冒充公检法", channel="电话",
                      issued_at="2026-11-20T10:00:00+08:00", loss_amount=LOSS,
                      dispatched_to="网格员", status="已下发", **FRAUD)
        kp = self.put("comm_a", "key_person", division=COMM_A, category="刑满释放人员",
                      release_date="2025-06-30T00:00:00+08:00",
                      enrolled_at="2025-07-01T00:00:00+08:00", **KEYP)
        # Something in the other branch.
        hz_b = self.put("comm_b", "hazard", division=COMM_B, category="公共安全风险",
                        subcategory="防汛防溺水", level="一般",
                        description="易俗河镇涓水河段防溺水警示牌缺失")

        # The tree first: the city then reviews what it would send Changsha.
        tot = self.sync(TREE)
        self.ok(tot["quarantined"] == 0 and tot["pending"] == 0,
                "the tree syncs (%d files) with nothing quarantined or pending" % tot["files"],
                "0 quarantined, 0 pending", tot)

        self.dry_run()  # 11

        tot = self.sync()
        self.ok(tot["quarantined"] == 0 and tot["pending"] == 0,
                "the partners sync with nothing quarantined or pending",
                "0 quarantined, 0 pending", tot)

        self.arrives_verified(hz, d1, d2, d3, fa)  # 1
        self.key_person_cap(kp)  # 3
        self.sensitive(fa)  # 5
        self.partner(hz, d1, d2, d3, fa, kp)  # 6
        created = self.before_cross_region(d3)  # 8

        # Next day: the city edits the hazard and addresses a supervision
        # to 石潭镇; the county's 联调 decision makes the third dispute
        # cross-region.
        self.update("city", "hazard", hz, status="核实")
        self.update("city", "hazard", hz, status="评估定级")
        self.update("city", "hazard", hz, level="重大", listing_level="市级挂牌",
                    status="管控中", measures="市应急局牵头更换燃气管道",
                    responsible_unit="湘潭县住建局")
        sv = self.put("city", "supervision", division=TOWN_A, kind="督办",
                      level="黄牌督办", issuing_node=CITY, issuing_unit="湘潭市平安办",
                      target_unit="石潭镇人民政府", subject_type="风险隐患",
                      reason="重大隐患", requirements="十日内完成燃气管道整改并报送",
                      issued_at="2026-11-21T09:00:00+08:00", status="已下达")
        self.update("county", "dispute", d3, cross_region="true", partner_city=CHANGSHA,
                    channel="联合调解", status="调解中")
        self.sync()
        self.city_edit(hz)  # 2
        self.supervision(sv, hz_b)  # 4
        self.later_cross_region(d3, created)  # 8
        self.leaks()  # 7
        self.revocation(hz)  # 9

    # 1
    def arrives_verified(self, hz, d1, d2, d3, fa):
        for coll, rid in (("hazard", hz), ("dispute", d1), ("dispute", d2),
                          ("dispute", d3), ("fraud_alert", fa)):
            for n in ("town_a", "county", "city"):
                self.ok(self.get(n, coll, rid) is not None,
                        "1: the community's %s %s reached %s" % (coll, rid, n),
                        "the record listed there", "absent")
        mine = {(e["origin"], e["origin_seq"], e["digest"])
                for e in self.log("comm_a") if e["origin"] == COMM_A
                and e["collection"] != "key_person"}
        city_log = self.log("city")
        have = {(e["origin"], e["origin_seq"], e["digest"]) for e in city_log}
        self.ok(mine <= have, "1: the city's log holds each of the community's "
                "txns (below the cap) with the same origin, seq and digest",
                sorted(mine), sorted(mine - have))
        for n in self.code:
            entries = self.log(n) if n != "city" else city_log
            bad = [e for e in entries if e.get("signature_ok") is not True]
            self.ok(entries and not bad,
                    "1: every one of the %d log entries on %s verifies (signature_ok)"
                    % (len(entries), n), "signature_ok true everywhere",
                    json.dumps(bad, ensure_ascii=False)[:800] or "an empty log")
        origins = {e["origin"] for e in city_log}
        self.ok({COMM_A, COMM_B, TOWN_A, TOWN_B, COUNTY} <= origins,
                "1: the city verifies origins of every tier below it "
                "(certificates travelled up)",
                "origins incl. both communities, townships, county", sorted(origins))

    # 2
    def city_edit(self, hz):
        want = {"level": "重大", "listing_level": "市级挂牌", "status": "管控中",
                "measures": "市应急局牵头更换燃气管道", "responsible_unit": "湘潭县住建局"}
        for n in ("county", "town_a", "comm_a"):
            r = self.get(n, "hazard", hz) or {}
            got = {k: r.get(k) for k in want}
            self.ok(got == want, "2: the city's edit of the hazard arrived at %s" % n,
                    want, got)
        r = self.get("comm_a", "hazard", hz) or {}
        self.ok(r.get("description") == HAZARD["description"],
                "2: the community keeps its own description beside the city's edit",
                HAZARD["description"], r.get("description"))

    # 3
    def key_person_cap(self, kp):
        for n in ("comm_a", "town_a", "county"):
            r = self.get(n, "key_person", kp)
            self.ok(r is not None and r.get("id_number") == KEYP["id_number"]
                    and r.get("original_charge") == KEYP["original_charge"],
                    "3: key_person %s is at %s, whole" % (kp, n),
                    "present with id_number and original_charge",
                    json.dumps(r, ensure_ascii=False)[:400])
        for n in ("city", "cs", "zz", "town_b", "comm_b"):
            recs = self.records(n, "key_person")
            kl = [e for e in self.log(n) if e["collection"] == "key_person"]
            self.ok(not recs and not kl,
                    "3: no key_person record nor txn at %s" % n,
                    "none", "%d records, %d txns" % (len(recs), len(kl)))

    # 4
    def supervision(self, sv, hz_b):
        for n in ("city", "county", "town_a"):
            r = self.get(n, "supervision", sv) or {}
            self.ok(r.get("target_unit") == "石潭镇人民政府",
                    "4: the city's supervision to 石潭镇 is at %s" % n,
                    "present", json.dumps(r, ensure_ascii=False)[:300] or "absent")
        for n, why in (("town_b", "the other township"), ("comm_b", "its community"),
                       ("comm_a", "石潭镇's community: not on the township's path"),
                       ("cs", "a partner"), ("zz", "a partner")):
            recs = self.records(n, "supervision")
            self.ok(sv not in recs, "4: the supervision is not at %s (%s)" % (n, why),
                    "absent", "present" if sv in recs else None)
        # The township signs, rectifies and answers; the answer goes up.
        self.update("town_a", "supervision", sv, status="已签收")
        self.update("town_a", "supervision", sv, status="整改中")
        self.update("town_a", "supervision", sv, status="已整改",
                    response="已更换锈蚀管道120米", responded_at="2026-11-25T16:00:00+08:00")
        self.sync()
        r = self.get("city", "supervision", sv) or {}
        self.ok((r.get("status"), r.get("response")) == ("已整改", "已更换锈蚀管道120米"),
                "4: 石潭镇's response reached the city",
                ("已整改", "已更换锈蚀管道120米"), (r.get("status"), r.get("response")))
        self.ok(sv not in self.records("town_b", "supervision"),
                "4: the response did not reach 易俗河镇 either", "absent", "present")
        # And 易俗河镇's own hazard never reached 石潭镇's branch.
        for n in ("town_a", "comm_a"):
            self.ok(hz_b not in self.records(n, "hazard"),
                    "4: 易俗河镇's community hazard is not at %s" % n, "absent", "present")

    # 5
    def sensitive(self, fa):
        for n in ("comm_a", "town_a", "county"):
            r = self.get(n, "fraud_alert", fa) or {}
            got = (r.get("loss_amount"), r.get("description"))
            self.ok(got == (LOSS, FRAUD["description"]),
                    "5: %s holds the fraud alert's sensitive loss_amount and description" % n,
                    (LOSS, FRAUD["description"]), got)
        r = self.get("city", "fraud_alert", fa)
        got = None if r is None else (r.get("loss_amount"), r.get("description"),
                                      r.get("target_name"), r.get("alert_source"))
        self.ok(got == (None, None, FRAUD["target_name"], "96110"),
                "5: the city has the fraud alert without loss_amount and description "
                "(the county dropped them), its other fields kept",
                (None, None, FRAUD["target_name"], "96110"), got)

    # 6
    def partner(self, hz, d1, d2, d3, fa, kp):
        pseud = {}
        for p, other in (("cs", "zz"), ("zz", "cs")):
            disp = self.records(p, "dispute")
            self.ok(set(disp) == {d1},
                    "6: %s received exactly the cross-region dispute" % p,
                    [d1], sorted(disp))
            for coll, rid in (("hazard", hz), ("key_person", kp)):
                self.ok(rid not in self.records(p, coll),
                        "6: %s did not receive the %s" % (p, coll), "absent", "present")
            r = disp.get(d1) or {}
            masked = (r.get("applicant_name"), r.get("respondent_name"))
            self.ok(masked == ("谭**", "龚**"),
                    "6: %s got the names masked" % p, ("谭**", "龚**"), masked)
            dropped = {k: r.get(k) for k in ("summary", "respondent_phone")}
            self.ok(dropped == {"summary": None, "respondent_phone": None},
                    "6: %s got no summary or respondent phone (dropped)" % p,
                    "both null", dropped)
            kept = {k: r.get(k) for k in ("dispute_type", "status", "cross_region",
                                          "mediation_org")}
            want = {"dispute_type": "经济活动", "status": "调解中", "cross_region": True,
                    "mediation_org": "石潭镇人民调解委员会"}
            self.ok(kept == want, "6: %s got the internal fields as they are" % p,
                    want, kept)
            for field in ("applicant_id_number", "applicant_phone"):
                v = r.get(field)
                hexok = isinstance(v, str) and re.fullmatch("[0-9a-f]{32}", v) is not None
                self.ok(hexok, "6: %s got %s as a 32-hex pseudonym" % (p, field),
                        "32 lower-case hex", v)
                typ = "id_number" if field.endswith("id_number") else "phone"
                o = self.j(p, "pseudonym", "--partner", CITY, "--type", typ,
                           D1[field], "--json")
                self.ok(o.get("pseudonym") == v,
                        "6: 'pingan pseudonym --partner %s' at %s gives the stored %s"
                        % (CITY, p, field), v, o.get("pseudonym"))
                o2 = self.j("city", "pseudonym", "--partner", self.code[p], "--type", typ,
                            D1[field], "--json")
                self.ok(o2.get("pseudonym") == v and o2.get("key_id") == o.get("key_id"),
                        "6: the city derives the same %s pseudonym and key id for %s"
                        % (field, p), (v, o.get("key_id")),
                        (o2.get("pseudonym"), o2.get("key_id")))
                pseud[(p, field)] = v
            # Spellings of the same number give the same pseudonym.
            for variant, why in ((id15(D1["applicant_id_number"]), "the 15-digit form"),):
                o = self.j(p, "pseudonym", "--partner", CITY, "--type", "id_number",
                           variant, "--json")
                self.ok(o.get("pseudonym") == r.get("applicant_id_number"),
                        "6: at %s %s of the ID number has the same pseudonym" % (p, why),
                        r.get("applicant_id_number"), o.get("pseudonym"))
            o = self.j(p, "pseudonym", "--partner", CITY, "--type", "phone",
                       "+86 139-0732-5581", "--json")
            self.ok(o.get("pseudonym") == r.get("applicant_phone"),
                    "6: at %s '+86 139-0732-5581' has the phone's pseudonym" % p,
                    r.get("applicant_phone"), o.get("pseudonym"))
            f = self.records(p, "fraud_alert").get(fa) or {}
            got = {k: f.get(k) for k in ("target_name", "loss_amount", "description",
                                         "suspect_phone", "suspect_account", "fraud_type")}
            want = {"target_name": "贺**", "loss_amount": None, "description": None,
                    "suspect_phone": None, "suspect_account": None, "fraud_type": "冒充公检法"}
            self.ok(got == want, "6: %s got the fraud alert redacted by the agreement" % p,
                    want, got)
            tp = f.get("target_phone")
            o = self.j(p, "pseudonym", "--partner", CITY, "--type", "phone",
                       FRAUD["target_phone"], "--json")
            self.ok(tp is not None and o.get("pseudonym") == tp,
                    "6: %s got the fraud alert's target_phone as its pseudonym" % p,
                    o.get("pseudonym"), tp)
        for field in ("applicant_id_number", "applicant_phone"):
            a, b = pseud.get(("cs", field)), pseud.get(("zz", field))
            self.ok(a and b and a != b,
                    "6: 长沙市 and 株洲市 get different pseudonyms for the same %s" % field,
                    "two different values", (a, b))

    # 8
    def before_cross_region(self, d3):
        for p in ("cs", "zz"):
            self.ok(d3 not in self.records(p, "dispute"),
                    "8: before, the not-yet-cross-region dispute is not at %s" % p,
                    "absent", "present")
        created = [(e["origin"], e["origin_seq"], e["digest"])
                   for e in self.log("comm_a", changes=True)
                   if any(c["record_id"] == d3 and c["field"] == "dispute_type"
                          for c in e["changes"])]
        self.ok(len(created) == 1, "8: the community's log has the dispute's creation",
                "one txn", created)
        return created

    def later_cross_region(self, d3, created):
        if len(created) != 1:
            return
        for p in ("cs", "zz"):
            r = self.records(p, "dispute").get(d3)
            got = None if r is None else {k: r.get(k) for k in (
                "dispute_type", "source", "applicant_name", "cross_region", "channel",
                "summary")}
            want = {"dispute_type": "环境生态", "source": "当事人申请",
                    "applicant_name": "欧阳**", "cross_region": True, "channel": "联合调解",
                    "summary": None}
            self.ok(got == want,
                    "8: at %s the dispute has the values of its creation and of the "
                    "later edit, redacted" % p, want, got)
            plog = self.log(p, changes=True)
            have = {(e["origin"], e["origin_seq"], e["digest"]) for e in plog}
            self.ok(created[0] in have,
                    "8: %s holds the creation txn (same origin, seq, digest)" % p,
                    created[0], "not in its log of %d txns" % len(plog))
            r = r or {}
            o = self.j(p, "pseudonym", "--partner", CITY, "--type", "id_number",
                       D3["applicant_id_number"].lower(), "--json")
            self.ok(r.get("applicant_id_number") is not None
                    and o.get("pseudonym") == r.get("applicant_id_number"),
                    "8: at %s its ID number (check character X, asked in lower case) has "
                    "the pseudonym stored" % p, o.get("pseudonym"),
                    r.get("applicant_id_number"))
        # Nothing else of the tree followed it.
        for p in ("cs", "zz"):
            colls = {e["collection"] for e in self.log(p)}
            self.ok(colls <= {"dispute", "fraud_alert", "node"},
                    "8: %s's log holds only disputes, fraud alerts and certificates" % p,
                    "{dispute, fraud_alert, node}", sorted(colls))

    # 7
    def leaks(self):
        def forms_id(v):
            return [v, v.lower(), v[:17], id15(v)]

        needles = []
        for d in (D1, D2, D3):
            needles += [("applicant_name", d["applicant_name"]),
                        ("applicant given name", d["applicant_name"][-2:]),
                        ("respondent_name", d["respondent_name"]),
                        ("respondent given name", d["respondent_name"][-2:]),
                        ("applicant_phone", d["applicant_phone"]),
                        ("respondent_phone", d["respondent_phone"]),
                        ("summary", d["summary"])]
            needles += [("applicant_id_number", f) for f in forms_id(d["applicant_id_number"])]
        needles += [("target_name", FRAUD["target_name"]),
                    ("target given name", FRAUD["target_name"][1:]),
                    ("target_phone", FRAUD["target_phone"]),
                    ("suspect_phone", FRAUD["suspect_phone"]),
                    ("suspect_account", FRAUD["suspect_account"]),
                    ("fraud description", FRAUD["description"])]
        needles += [("key_person " + k, v) for k, v in KEYP.items()]
        needles += [("key_person id_number", f) for f in forms_id(KEYP["id_number"])[1:]]
        needles += [("hazard " + k, v) for k, v in HAZARD.items()]
        loss = [("loss_amount as binary64 " + e, struct.pack(e + "d", LOSS)) for e in "<>"]

        def scan(node, what):
            found, nfiles, nbytes = [], 0, 0
            for root, _, files in os.walk(self.dir[node]):
                for fn in files:
                    path = os.path.join(root, fn)
                    with open(path, "rb") as f:
                        data = f.read()
                    nfiles += 1
                    nbytes += len(data)
                    for label, v in what:
                        b = v if isinstance(v, bytes) else v.encode("utf-8")
                        if b in data:
                            found.append("%s (%r) in %s"
                                         % (label, v, os.path.relpath(path, self.work)))
            return found, nfiles, nbytes

        for p in ("cs", "zz"):
            found, nfiles, nbytes = scan(p, needles + loss)
            listing = sorted(os.listdir(self.dir[p]))
            self.ok(not found and nfiles >= 3,
                    "7: none of %d original values is in the raw bytes of the %d files "
                    "(%d bytes: %s) of %s's directory"
                    % (len(needles) + len(loss), nfiles, nbytes, " ".join(listing), p),
                    "no match", "\n".join(found[:30]))
            # What pingan itself decodes there: the log with every change, the
            # records, the quarantine.
            views = []
            for args in (("log", "--json", "--changes"), ("quarantine", "list", "--json"),
                         ("record", "list", "dispute", "--deleted", "--json"),
                         ("record", "list", "fraud_alert", "--deleted", "--json")):
                views.append((" ".join(args), self.must(p, *args)))
            hits = ["%s (%r) in 'pingan %s'" % (label, v, a) for a, text in views
                    for label, v in needles if v in text]
            self.ok(not hits, "7: nor in what pingan decodes at %s (log --changes, "
                    "quarantine, records)" % p, "no match", "\n".join(hits[:30]))
            # (control) The scan sees what the partner did receive.
            d1 = [r for r in json.loads(views[2][1]) if r.get("applicant_name") == "谭**"]
            seen = (["谭**", "石潭镇人民调解委员会", d1[0]["applicant_id_number"]]
                    if d1 else [])
            found, _, _ = scan(p, [(v, v) for v in seen])
            self.ok(d1 and len(found) == len(seen),
                    "7: (control) the same scan finds at %s the masked name, the "
                    "pseudonym and a kept value it received" % p, seen, found)
        city = [("fraud description", FRAUD["description"])] + loss + \
            [("key_person " + k, v) for k, v in KEYP.items()] + \
            [("key_person id_number", f) for f in forms_id(KEYP["id_number"])[1:]]
        found, nfiles, nbytes = scan("city", city)
        self.ok(not found,
                "7: the city's directory (%d files, %d bytes) holds neither the fraud "
                "alert's description nor its loss amount nor anything of the key person"
                % (nfiles, nbytes), "no match", "\n".join(found[:30]))
        # The scan can find things: the county holds them all.
        found, _, _ = scan("county", city)
        self.ok(len(found) >= 3, "7: (control) the same scan finds them in the county's "
                "directory", "matches", found)

    # 11
    def dry_run(self):
        rc, out, err = self.pg("city", "export", "--to", CHANGSHA, "--dry-run", "--json")
        try:
            d = json.loads(out)
        except ValueError:
            d = None
        self.ok(rc == 0 and isinstance(d, dict),
                "11: export --dry-run --json to 长沙市 prints a JSON object", "exit 0, JSON",
                "exit %d: %s" % (rc, (out + err)[:400]), show=True)
        if not isinstance(d, dict):
            return
        rc2, text, _ = self.pg("city", "export", "--to", CHANGSHA, "--dry-run")
        # Each field the txns carry, with how many values each transform gets.
        counts = {"kept": "keep", "dropped": "drop", "masked": "mask",
                  "hashed": "hash", "generalized": "generalize"}
        listed = set()
        for f in d.get("fields", []):
            for k, xf in counts.items():
                if f.get(k):
                    listed.add((f.get("collection"), f.get("field"), xf))
        want = {("dispute", "applicant_name", "mask"),
                ("dispute", "applicant_id_number", "hash"),
                ("dispute", "applicant_phone", "hash"),
                ("dispute", "respondent_name", "mask"),
                ("dispute", "summary", "drop"),
                ("fraud_alert", "target_name", "mask"),
                ("fraud_alert", "target_phone", "hash"),
                ("fraud_alert", "description", "drop"),
                ("fraud_alert", "loss_amount", "drop"),
                ("fraud_alert", "suspect_phone", "drop")}
        self.ok(want <= listed,
                "11: the dry run lists the transformed fields with their transforms",
                sorted(want), json.dumps(d.get("fields"), ensure_ascii=False)[:1500])
        personal = {"applicant_name", "applicant_id_number", "applicant_phone",
                    "respondent_name", "respondent_phone", "summary", "target_name",
                    "target_phone", "suspect_phone", "suspect_account", "loss_amount",
                    "description"}
        kept = sorted(x for x in listed if x[1] in personal and x[2] == "keep")
        self.ok(not kept, "11: the dry run keeps no personal or sensitive field", "none", kept)
        self.ok(d.get("not_meeting_agreement", 0) >= 2 and d.get("txns", 0) >= 2,
                "11: it counts the disputes that do not meet the agreement as withheld "
                "and the txns that would be sent",
                "not_meeting_agreement >= 2, txns >= 2",
                {k: d.get(k) for k in ("txns", "withheld", "not_meeting_agreement")})
        values = [v for dd in (D1, D2, D3) for v in dd.values()] + \
            [v for v in FRAUD.values()] + [D1["applicant_id_number"][:17], "38000"] + \
            [v for v in HAZARD.values()] + [v for v in KEYP.values()]
        leaked = [v for v in values if v in out or v in text]
        self.ok(not leaked, "11: no original value in the dry run's output (JSON and text)",
                "none", leaked)
        cur = [p for p in self.j("city", "peer", "list", "--json") if p["code"] == CHANGSHA]
        self.ok(cur and cur[0]["sent_upto"] == 0,
                "11: the dry run did not move 长沙市's sent_upto", 0,
                cur and cur[0]["sent_upto"])

    # 9
    def revocation(self, hz):
        self.sync()
        n = max(e["origin_seq"] for e in self.log("comm_a") if e["origin"] == COMM_A)
        before = (self.get("comm_a", "hazard", hz) or {}).get("status")
        # The community's PC is stolen; the thief writes.
        r1 = self.put("comm_a", "hazard", division=COMM_A, category="社会治安风险",
                      description="被盗设备写入的虚假隐患")
        # (A legal step from 管控中: the thief's writes pass the local checks.)
        self.update("comm_a", "hazard", hz, status="验收", closed_at="2026-11-26T12:00:00+08:00")
        bad = {(COMM_A, n + 1), (COMM_A, n + 2)}
        self.transfer("comm_a", "town_a")
        self.ok(self.get("town_a", "hazard", r1) is not None
                and (self.get("town_a", "hazard", hz) or {}).get("status") == "验收",
                "9: 石潭镇 applied the community's txns %d and %d before any revocation"
                % (n + 1, n + 2), "the new hazard and status 验收", "not applied")
        rc, out, err = self.pg("county", "peer", "revoke", COMM_A, "--after-seq", str(n),
                               "--json")
        self.touched("county")
        self.ok(rc == 0, "9: the county revokes 列家桥煤矿居委会's key after seq %d" % n,
                "exit 0", "exit %d" % rc, show=True)
        rep = self.transfer("town_a", "county", expect_rc=(0, 3))
        q = rep and sum(f["quarantined"] for f in rep["files"])
        self.ok(q == 2, "9: importing 石潭镇's bundle, the county quarantines the 2 txns "
                "signed after seq %d" % n, 2, q, show=True)
        qs = {(x.get("origin"), x.get("origin_seq")): x.get("reason") or ""
              for x in self.quarantine("county")}
        self.ok(bad <= set(qs) and all("revoked" in qs[b] for b in bad),
                "9: the county's quarantine list names them, revoked as the reason",
                sorted(bad), json.dumps(sorted(qs.items()), ensure_ascii=False))
        self.ok(self.get("county", "hazard", r1) is None
                and (self.get("county", "hazard", hz) or {}).get("status") == before,
                "9: the county has neither the thief's hazard nor its status change",
                "absent and status %s" % before,
                (self.get("county", "hazard", r1) is not None,
                 (self.get("county", "hazard", hz) or {}).get("status")))
        self.transfer("county", "town_a", expect_rc=(0, 3))
        qs = {(x.get("origin"), x.get("origin_seq")): x.get("reason") or ""
              for x in self.quarantine("town_a")}
        self.ok(bad <= set(qs) and all("revoked" in qs[b] for b in bad),
                "9: after the county's next export 石潭镇 quarantines the txns it had "
                "applied, revoked as the reason",
                sorted(bad), json.dumps(sorted(qs.items()), ensure_ascii=False))
        r = self.get("town_a", "hazard", r1)
        rc, _, _ = self.pg("town_a", "record", "get", "hazard", r1, "--json")
        self.ok(r is None and rc != 0,
                "9: the hazard only the revoked txn created is gone at 石潭镇 "
                "(not listed, record get fails)", "absent, record get exit != 0",
                "listed: %s, record get exit %d" % (json.dumps(r, ensure_ascii=False)[:300], rc))
        st = (self.get("town_a", "hazard", hz) or {}).get("status")
        self.ok(st == before, "9: 石潭镇's hazard status is rebuilt from the rest of the log",
                before, st)
        self.sync(expect_rc=(0, 3))
        self.quiet("after the revocation")
        for nn in ("city", "county", "town_a"):
            self.ok(self.get(nn, "hazard", r1) is None,
                    "9: after a full sync the thief's hazard is not at %s" % nn,
                    "absent", "present")
        st = (self.get("city", "hazard", hz) or {}).get("status")
        self.ok(st == before, "9: the city's hazard status stays %s" % before, before, st)

    # 10
    def jurisdiction(self):
        os.makedirs(os.path.join(self.work, "nodes", "x"))
        outside = [("xx_comm", OTHER_COUNTY_COMM, "四总社区", "town_a",
                    "a community of 湘乡市 at 石潭镇"),
                   ("xx_town", OTHER_COUNTY_TOWN, "潭市镇", "county",
                    "a township of 湘乡市 at 湘潭县"),
                   ("comm_b", COMM_B, None, "town_a",
                    "易俗河镇's community at 石潭镇")]
        for n, code, name, at, what in outside:
            if name:
                self.dir[n] = os.path.join(self.work, "nodes", "x", n)
                self.code[n] = code
                self.must(n, "init", "--code", code, "--name", name)
                self.must(n, "card", "--out", self.card(n))
            before = self.state(at)
            rc, out, err = self.pg(at, "peer", "add", "--card", self.card(n), "--role", "child")
            own = self.code[at][:{"county": 6, "town_a": 9}[at]]
            clear = (err.startswith("pingan: ") and code in err
                     and ("jurisdiction" in err or own in err))
            self.ok(rc != 0 and clear,
                    "10: %s: 'peer add --role child' of %s refused (exit %d) naming %s"
                    % (what, code, rc, code),
                    "non-zero exit, 'pingan: ...%s...' naming the jurisdiction" % code,
                    "exit %d, stderr %r" % (rc, err[:300]))
            after = self.state(at)
            self.ok(before == after, "10: %s: nothing changed at %s" % (what, at),
                    "the same peers, log, certificates and files", diff(before, after))

    # 12
    def bad_policies(self):
        n = "hy"
        self.dir[n] = os.path.join(self.work, "nodes", "x", n)
        self.code[n] = HENGYANG
        self.must(n, "init", "--code", HENGYANG, "--name", "衡阳市")
        self.must(n, "card", "--out", self.card(n))
        secret = "9f" * 32
        cases = [
            ("unknown-field.ini", "an unknown field",
             ["# 湘潭市–衡阳市", "[agreement]", "id = xt-hy-2026-01", "[dispute]",
              "where = cross_region = true", "applicant_shoe_size = hash"], 6,
             "applicant_shoe_size"),
            ("inline-secret.ini", "a secret written in the file",
             ["[agreement]", "id = xt-hy-2026-02", "purpose = 联防",
              "pseudonym_key = " + secret, "[fraud_alert]", "target_phone = hash"], 4,
             "pseudonym_key"),
            ("keep-sensitive.ini", "keep for the sensitive loss_amount",
             ["[agreement]", "id = xt-hy-2026-03", "[fraud_alert]", "target_phone = hash",
              "", "loss_amount = keep"], 6, "loss_amount"),
        ]
        for fn, what, lines, line, key in cases:
            path = os.path.join(self.work, fn)
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            before = self.state("city")
            rc, out, err = self.pg("city", "peer", "add", "--card", self.card(n),
                                   "--role", "partner", "--policy", path)
            where = "%s:%d" % (fn, line)
            self.ok(rc != 0 and err.startswith("pingan: ") and where in err and key in err,
                    "12: a policy with %s is refused (exit %d) naming %s and %s"
                    % (what, rc, where, key),
                    "non-zero exit, 'pingan: %s: ...%s...'" % (where, key),
                    "exit %d, stderr %r" % (rc, err[:300]))
            if key == "pseudonym_key":
                self.ok(secret not in out + err,
                        "12: the error does not repeat the secret", "absent", "present")
            after = self.state("city")
            peers = [p["code"] for p in self.j("city", "peer", "list", "--json")]
            self.ok(before == after and HENGYANG not in peers,
                    "12: %s: nothing pinned, nothing changed at the city" % fn,
                    "衡阳市 not pinned, same state", diff(before, after))
        # The same card with a good agreement pins: the refusals were about the files.
        path = os.path.join(self.work, "good-hy.ini")
        with open(path, "w", encoding="utf-8") as f:
            f.write(AGREEMENT.format(name="衡阳市", id="xt-hy-2026-04"))
        rc, out, err = self.pg("city", "peer", "add", "--card", self.card(n),
                               "--role", "partner", "--policy", path)
        self.ok(rc == 0, "12: (control) the same card with a good agreement pins",
                "exit 0", "exit %d %s" % (rc, err[:300]))
        pol = self.j("city", "policy", "show", HENGYANG, "--json")
        self.ok(pol.get("id") == "xt-hy-2026-04",
                "12: (control) policy show names the agreement", "xt-hy-2026-04",
                pol.get("id"))


def diff(a, b):
    if a == b:
        return None
    al, bl = a.splitlines(), b.splitlines()
    return "\n".join(list(difflib.unified_diff(al, bl, "before", "after", n=1, lineterm=""))[:30])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    f = Fed(os.path.abspath(a.pingan), os.path.abspath(a.work), a.verbose)
    f.run()
    return 1 if f.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
