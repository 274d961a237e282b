#!/usr/bin/env python3
"""HTTP transport driver for tests/cli/http.sh (DESIGN §8, pingan/net.h).

Real `pingan serve` processes on 127.0.0.1 (port 0: the port is read from
the "listening on port N" line) and `pingan sync` clients, with nodes of
湘潭县 (county), its townships 石潭镇 and 易俗河镇, 湘潭市 (city) and its
partner 长沙市, plus requests made by hand: unsigned ones (http.client)
and signed ones, right or wrong on purpose, by pingan-net-request.

Checked:
   a. sync both ways: 石潭镇 and 湘潭县 each serve; 石潭镇 writes disputes
      and a hazard, 湘潭县 a supervision for it; `sync` from 石潭镇 pushes
      and pulls; the records are identical on both sides; the --json
      summary counts the txns pushed and pulled; a second sync moves no
      txn and the one after it is a single request; 湘潭县's `sync --all`
      to 石潭镇's server carries its next write; SIGTERM stops a server
      (exit 0);
   b. catch-up: with 湘潭县's server stopped a sync fails (exit 1) and
      moves nothing; both sides write; the server restarts on the same
      port; one sync catches both up; `status --json` on both sides shows
      last_sync set, unsent/unacked 0 and a clock difference near 0;
   c. unsigned GET /v1/pull and POST /v1/push get 401 with a JSON body
      holding only "error"; GET /v1/health answers 200 without
      authentication (code, name, tier, time_ms); unknown endpoint 404,
      wrong method 405 (signed);
   d. an impostor (石潭镇's code, new keys) gets 401 for a pull and for
      its `sync` (exit 2), and 湘潭县's data is unchanged; an unknown
      node (谭家山镇, not pinned) gets 401; neither is told more than "not
      authenticated" (who is a peer, with which key, is for the log);
   e. a replayed nonce: 200/204 then 401 naming the replay; again 401
      after the server restarts (nonces are kept in the store);
   f. a spoiled signature 401; a POST body that is not the one signed
      401; a time 11 minutes ahead or behind 401 naming the clock skew,
      9 minutes accepted;
   g. after 湘潭县 revokes 石潭镇's key (`peer revoke --after-seq N`), the
      running server answers 石潭镇's signed request and its sync 403;
   h. 湘潭县 serves with --max-body 65536; 易俗河镇 with 400 records
      (> 64 KiB of bundles) syncs with --bundle-max 1048576: exit 2
      naming the limit (HTTP 413) and 湘潭县 stored nothing; with
      --bundle-max 65536 the push is split into several bundles and the
      records arrive, identical;
   i. 湘潭市 serves, 长沙市 pinned as partner under an agreement file
      (cross-region disputes, fraud alerts); 湘潭市 writes a hazard, a
      local dispute, a cross-region dispute and a fraud alert; 长沙市's
      sync, sync --from-start, and pulls with after=0 made by hand (the
      bundle imported) give it only the cross-region dispute and the fraud
      alert, and no withheld value is in the raw bytes of its directory
      (the same scan finds what it did receive); a pull with an extra
      query parameter gets 400; the city may not write a key_person;
   j. every 401 and 403 a server gave is in its `status --json`
      (rejected_last_day, by source "http", the last reason) and in its
      log on stderr.

Prints "ok - ..." / "not ok - ..." lines (turned into TAP by the shell
wrapper), with "#   expected:" / "#   found:" lines under a failure.
Exit status 1 when a check failed.

  httpsync.py --pingan BIN --net-request BIN --work DIR [--verbose]
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from checks import Bail, Checks  # noqa: E402

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

# Codes from shared/data/xiangtan_divisions.csv.
CITY, COUNTY = "430300000000", "430321000000"  # 湘潭市, 湘潭县
TOWN = "430321112000"  # 石潭镇
BIG = "430321100000"  # 易俗河镇
STRANGER = "430321102000"  # 谭家山镇: never pinned anywhere
CHANGSHA = "430100000000"  # 长沙市, partner city

NODES = [
    ("city", CITY, "湘潭市"),
    ("county", COUNTY, "湘潭县"),
    ("town", TOWN, "石潭镇"),
    ("big", BIG, "易俗河镇"),
    ("cs", CHANGSHA, "长沙市"),
    ("imp", TOWN, "石潭镇"),  # an impostor: the code, not the keys
    ("stranger", STRANGER, "谭家山镇"),
]

AGREEMENT = """# 湘潭市–长沙市 Art. 8 agreement (test)
[agreement]
id = xt-cs-2026-http
purpose = 联调
[dispute]
where = cross_region = true
applicant_name = mask
applicant_id_number = hash
applicant_phone = hash
[fraud_alert]
target_phone = hash
"""

MIN = 60 * 1000
# What a request signed by no key the server knows is told, and no more.
GENERIC_401 = "not authenticated: the request is not signed by a key this server knows"
SUPERVISION = dict(kind="督办", level="黄牌督办", issuing_node=COUNTY,
                   issuing_unit="湘潭县平安办", target_unit="石潭镇人民政府",
                   subject_type="风险隐患", reason="重大隐患",
                   requirements="七日内完成山塘堤坝加固并报送",
                   issued_at="2026-11-21T09:00:00+08:00", status="已下达")
# What the city has and the partner must not: distinctive values.
LOCAL = {"applicant_name": "周海燕", "applicant_phone": "13574021357",
         "summary": "周海燕与邻居柳长庚因排水沟堵塞发生争执"}
HAZARD = {"description": "湘潭市河西老城区燃气主管道锈蚀漏气待更换",
          "contact_name": "陈桂香", "contact_phone": "13975216604"}
CROSS = {"applicant_name": "谭秋菊", "applicant_phone": "13907325581",
         "summary": "谭秋菊与望城区龚德彪因茶叶货款往来发生纠纷"}
FRAUD = {"target_name": "贺玉兰", "target_phone": "15173260987",
         "suspect_phone": "17089015566",
         "description": "贺玉兰接到冒充公检法的电话，已转账三万八千元"}


def id_number(body17):
    """GB 11643: append the check character to 17 digits."""
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * x for c, x in zip(body17, w)) % 11]


class Server:
    """One `pingan serve` process."""

    def __init__(self, t, node, extra, port=0):
        self.t = t
        self.node = node
        self.extra = list(extra)
        self.log = os.path.join(t.work, "logs", node + ".err")
        start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self.log_from = start
        cmd = [t.pingan, "--dir", t.dir[node], "serve", "--listen",
               "127.0.0.1:%d" % port] + self.extra
        with open(self.log, "ab") as err:
            self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=err)
        t.servers.append(self)
        line = b""
        deadline = time.monotonic() + 60
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            r, _, _ = select.select([self.p.stdout], [], [], 0.5)
            if r:
                c = os.read(self.p.stdout.fileno(), 1)
                if not c:
                    break
                line += c
            elif self.p.poll() is not None:
                break
        m = re.match(rb"listening on port (\d+) \(http\)\n$", line)
        if not m:
            self.stop()
            raise Bail("pingan serve at %s did not say 'listening on port N (http)' "
                       "(stdout %r, stderr %r)" % (node, line, self.errors()[-600:]))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def errors(self):
        """What this run wrote on stderr."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_from)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM; the exit status (None when it had to be killed)."""
        if self in self.t.servers:
            self.t.servers.remove(self)
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                self.p.stdout.close()
                return None
        self.p.stdout.close()
        return self.p.returncode


class H(Checks):
    command_prefix = ""
    def __init__(self, pingan, netreq, work, verbose):
        self.pingan = pingan
        self.netreq = netreq
        self.work = work
        self.verbose = verbose
        self.code = {n: c for n, c, _ in NODES}
        self.name = {n: nm for n, _, nm in NODES}
        self.dir = {n: os.path.join(work, "nodes", n) for n in self.code}
        self.nfail = 0
        self.last = None
        self.servers = []
        self.srv = {}  # node -> the running Server
        self.refused = {}  # node -> 401/403 answers seen from its server
        self.nreq = 0

    # ---- running pingan --------------------------------------------------

    def run(self, cmd, shown):
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           cwd=self.work, timeout=600)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        shown = shown.replace(self.work + "/", "")
        self.last = (shown, p.returncode, out, err)
        if self.verbose:
            print("# $ %s -> %d (%.2f s)" % (shown, p.returncode, time.monotonic() - t0))
        return p

    def pg(self, node, *args):
        cmd = [self.pingan]
        if node:
            cmd += ["--dir", self.dir[node]]
        cmd += ["--operator", "测试员"] + list(args)
        p = self.run(cmd, "pingan " + " ".join(cmd[1:]))
        return p.returncode, self.last[2], self.last[3]

    def must(self, node, *args, rc=(0,)):
        r, out, err = self.pg(node, *args)
        if r not in rc:
            raise Bail("%s: exit %d, expected %s: %s" % (self.last[0], r, rc, err[:400]))
        return out

    def j(self, node, *args, rc=(0,)):
        out = self.must(node, *args, rc=rc)
        try:
            return json.loads(out)
        except ValueError:
            raise Bail("%s printed no JSON" % self.last[0])

    def put(self, node, coll, **fields):
        args = ["record", "put", coll] + ["%s=%s" % kv for kv in fields.items()]
        return self.j(node, *(args + ["--json"]))["id"]

    def records(self, node, coll):
        return {r["id"]: r for r in self.j(node, "record", "list", coll, "--deleted",
                                           "--json")}

    def log(self, node):
        return self.j(node, "log", "--json")

    def data(self, node, colls):
        """What a refused request must leave alone: the log and records."""
        return json.dumps([self.log(node)] + [self.records(node, c) for c in colls],
                          ensure_ascii=False, sort_keys=True)

    def sync(self, node, *args):
        """pingan sync ... --json: (exit, the one report or None, stderr)."""
        rc, out, err = self.pg(node, "sync", *args, "--json")
        try:
            reps = json.loads(out)
        except ValueError:
            reps = None
        rep = reps[0] if isinstance(reps, list) and len(reps) == 1 else None
        if rep and rep.get("http_status") in (401, 403):
            peer = [n for n, c in self.code.items() if c == rep.get("peer")
                    and n in self.srv]
            for n in peer[:1]:
                self.refused[n] = self.refused.get(n, 0) + 1
        return rc, rep, err

    def status(self, node):
        return self.j(node, "status", "--json")

    # ---- servers and requests --------------------------------------------

    def serve(self, node, *extra, port=0):
        s = Server(self, node, extra, port)
        self.srv[node] = s
        self.note("%s (%s) serves on port %d" % (node, self.code[node], s.port))
        return s

    def stop(self, node, what=None):
        s = self.srv.pop(node)
        rc = s.stop()
        if what:
            self.ok(rc == 0, "%s: SIGTERM stops %s's server, exit 0" % (what, node),
                    0, rc if rc is not None else "killed after 20 s",)
        return rc

    def request(self, node, server, uri, method="GET", body=None, **opts):
        """A signed request from node to server's node by pingan-net-request:
        (status, {header: value}, body bytes)."""
        cmd = [self.netreq, "--dir", self.dir[node], "--to", self.code[server],
               "--method", method, "--print-headers"]
        if body is not None:
            self.nreq += 1
            path = os.path.join(self.work, "body-%d" % self.nreq)
            with open(path, "wb") as f:
                f.write(body)
            cmd += ["--body", path]
        for k, v in opts.items():
            cmd += ["--" + k.replace("_", "-"), str(v)]
        cmd += [self.srv[server].url, uri]
        p = self.run(cmd, "pingan-net-request " + " ".join(cmd[1:]))
        if p.returncode != 0:
            raise Bail("pingan-net-request failed (exit %d): %s"
                       % (p.returncode, p.stderr.decode(errors="replace")[:400]))
        head, _, rest = p.stdout.partition(b"\n")
        m = re.match(rb"HTTP (\d+)$", head)
        if not m:
            raise Bail("pingan-net-request printed %r" % p.stdout[:200])
        status = int(m.group(1))
        hdrs, _, content = rest.partition(b"\n\n")
        headers = {}
        for line in hdrs.decode(errors="replace").split("\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        self.count(server, status)
        return status, headers, content

    def plain(self, server, method, path, body=None):
        """An unsigned request with http.client: (status, headers, body)."""
        c = http.client.HTTPConnection("127.0.0.1", self.srv[server].port, timeout=60)
        try:
            c.request(method, path, body=body)
            r = c.getresponse()
            data = r.read()
            headers = {k.lower(): v for k, v in r.getheaders()}
            status = r.status
        finally:
            c.close()
        self.count(server, status)
        return status, headers, data

    def count(self, server, status):
        if status in (401, 403):
            self.refused[server] = self.refused.get(server, 0) + 1

    @staticmethod
    def error_only(body):
        """The body is a JSON object holding only a string "error"."""
        try:
            d = json.loads(body)
        except ValueError:
            return None
        if isinstance(d, dict) and list(d) == ["error"] and isinstance(d["error"], str):
            return d["error"]
        return None

    # ---- setting up --------------------------------------------------------

    def card(self, n):
        return os.path.join(self.work, "cards", n + ".card")

    def setup(self):
        for d in ("nodes", "cards", "logs", "pulled"):
            os.makedirs(os.path.join(self.work, d))
        for n in self.code:
            self.must(n, "init", "--code", self.code[n], "--name", self.name[n])
            self.must(n, "card", "--out", self.card(n))
        for parent, child in (("county", "town"), ("county", "big")):
            self.must(parent, "peer", "add", "--card", self.card(child), "--role", "child")
            self.must(child, "peer", "add", "--card", self.card(parent), "--role", "parent")
        pol = os.path.join(self.work, "agreement-cs.ini")
        with open(pol, "w", encoding="utf-8") as f:
            f.write(AGREEMENT)
        self.must("city", "peer", "add", "--card", self.card("cs"), "--role", "partner",
                  "--policy", pol)
        self.must("cs", "peer", "add", "--card", self.card("city"), "--role", "partner")
        # The impostor and the stranger know 湘潭县's card, as anyone may.
        for n in ("imp", "stranger"):
            self.must(n, "peer", "add", "--card", self.card("county"), "--role", "parent")
        self.ok(True, "nodes created and linked: 湘潭县 with 石潭镇 and 易俗河镇, "
                "湘潭市 with its partner 长沙市 (agreement file), an impostor of 石潭镇, "
                "谭家山镇 unlinked")

    def run_all(self):
        try:
            for section in (self.setup, self.both_ways, self.catch_up, self.unsigned,
                            self.strangers, self.replay, self.tampered, self.oversized,
                            self.revoked, self.partner, self.recorded):
                try:
                    section()
                except Exception as e:  # a Bail, or a server that is gone
                    self.ok(False, "%s went through" % section.__name__,
                            "every command as expected",
                            str(e) if isinstance(e, Bail) else "%s: %s"
                            % (type(e).__name__, e), show=True)
                    if section == self.setup:
                        return
        finally:
            for s in list(self.servers):
                s.stop()

    # ---- a. both ways ------------------------------------------------------

    def both_ways(self):
        self.serve("county", "--max-body", "65536")
        self.serve("town")
        self.must("town", "peer", "set", COUNTY, "--url", self.srv["county"].url)
        self.must("county", "peer", "set", TOWN, "--url", self.srv["town"].url + "/")
        self.put("town", "dispute", division=TOWN, dispute_type="邻里纠纷",
                 source="网格排查", applicant_name="刘冬梅", applicant_phone="13873255012",
                 summary="刘冬梅与邻居因宅前晒谷坪使用发生争执", status="登记受理")
        self.put("town", "dispute", division=TOWN, dispute_type="山林土地",
                 source="当事人申请", summary="两组村民因山林界址不清发生争议",
                 party_count=14, status="登记受理")
        hz = self.put("town", "hazard", division=TOWN, category="公共安全风险",
                      subcategory="防汛防溺水", level="较大", status="发现登记",
                      description="石潭镇古城村山塘堤坝渗水")
        sv = self.put("county", "supervision", division=TOWN, subject_ref=hz, **SUPERVISION)
        mine = [e for e in self.log("town") if e["origin"] == TOWN]
        theirs = self.j("county", "export", "--to", TOWN, "--dry-run", "--json")["txns"]
        self.ok(theirs == 2, "a: 湘潭县 has 2 txns for 石潭镇 (its certificate, the "
                "supervision; not 易俗河镇's certificate)", 2, theirs)
        self.self_check_tool()
        rc, rep, err = self.sync("town", COUNTY)
        ok = rc == 0 and rep and rep.get("ok") is True and rep.get("error") is None
        self.ok(ok, "a: 石潭镇 syncs with 湘潭县 over HTTP (exit 0, ok)", "exit 0, ok",
                "exit %d %s %s" % (rc, rep, err[:300]), show=True)
        if not ok:
            raise Bail("the first sync failed")
        pushed, pulled = rep["pushed"], rep["pulled"]
        self.ok(pushed["txns"] == len(mine) and pushed["applied"] == len(mine),
                "a: the summary counts the %d txns pushed, all applied by the server"
                % len(mine), {"txns": len(mine), "applied": len(mine)}, pushed)
        self.ok(pulled["txns"] == theirs and pulled["applied"] == theirs
                and pulled["quarantined"] == 0 and pulled["pending"] == 0,
                "a: and the %d txns pulled, all applied" % theirs,
                {"txns": theirs, "applied": theirs}, pulled)
        self.ok(rep.get("http_status") == 204 and rep.get("requests", 0) >= 3,
                "a: the sync ends with a pull answered 204 (nothing left)",
                "http_status 204", {k: rep.get(k) for k in ("http_status", "requests")})
        self.same("a: after one sync", ("dispute", "hazard", "supervision"),
                  ("town", "county"))
        sup = self.records("town", "supervision").get(sv) or {}
        self.ok(sup.get("target_unit") == "石潭镇人民政府" and sup.get("subject_ref") == hz,
                "a: 湘潭县's supervision is at 石潭镇, naming its hazard",
                hz, json.dumps(sup, ensure_ascii=False)[:300])

        rc, rep2, _ = self.sync("town", COUNTY)
        moved = rep2 and (rep2["pushed"]["txns"], rep2["pulled"]["txns"])
        self.ok(rc == 0 and moved == (0, 0),
                "a: a second sync moves no txn either way", (0, 0), moved)
        rc, rep3, _ = self.sync("town", "--all")
        got = rep3 and (rep3["peer"], rep3["pushed"]["txns"], rep3["pulled"]["txns"],
                        rep3["pushed"]["bundles"], rep3["requests"])
        self.ok(rc == 0 and got == (COUNTY, 0, 0, 0, 1),
                "a: 'sync --all' then is a single request (a pull answered 204) to "
                "湘潭县, its only peer with a URL",
                (COUNTY, 0, 0, 0, 1), "exit %d: (peer, pushed, pulled, pushed bundles, "
                "requests) = %s" % (rc, got))
        if rep2 and rep2["requests"] != 1:
            self.note("the second sync made %d requests (an empty push 'covering' the "
                      "txns just pulled, %d bytes, then the pull)"
                      % (rep2["requests"], rep2["pushed"]["bytes"]))

        # The other way: 湘潭县 syncs to 石潭镇's server.
        sv2 = self.put("county", "supervision", division=TOWN,
                       **dict(SUPERVISION, level="红牌督办", requirements="三日内报送整改方案"))
        rc, rep, err = self.sync("county", "--all")
        got = rep and (rep.get("peer"), rep["pushed"]["txns"], rep["pushed"]["applied"])
        self.ok(rc == 0 and got == (TOWN, 1, 1),
                "a: 湘潭县's 'sync --all' pushes its new supervision to 石潭镇's server",
                (TOWN, 1, 1), "exit %d %s %s" % (rc, got, err[:200]), show=True)
        self.ok(sv2 in self.records("town", "supervision"),
                "a: 石潭镇 has it", "present", "absent")
        self.same("a: after 湘潭县's sync", ("dispute", "hazard", "supervision"),
                  ("town", "county"))
        rc, rep, _ = self.sync("town", COUNTY)
        moved = rep and (rep["pushed"]["txns"], rep["pulled"]["txns"])
        self.ok(rc == 0 and moved == (0, 0),
                "a: 石潭镇's sync then moves nothing: it has what 湘潭县 pushed",
                (0, 0), moved)
        logged = self.srv["town"].errors()
        self.ok(re.search(r"POST /v1/push 200 %s received 1 txns" % COUNTY, logged),
                "a: 石潭镇's server logged the push on stderr", "a log line",
                logged[-600:])
        self.stop("town", "a")

    def self_check_tool(self):
        """pingan-net-request speaks the protocol: a pull by hand works."""
        st, hd, body = self.request("town", "county", "/v1/pull?after=0&ack=0")
        self.ok(st == 200 and len(body) > 100 and len(hd.get("x-pingan-signature", "")) == 128,
                "(control) a pull signed by pingan-net-request gets 200, a bundle and a "
                "signed answer", 200, "%d %s %r" % (st, hd, body[:100]))

    def same(self, what, colls, nodes, division=None):
        a, b = nodes
        for c in colls:
            ra, rb = self.records(a, c), self.records(b, c)
            if division:
                ra = {k: r for k, r in ra.items() if r["division"] == division}
                rb = {k: r for k, r in rb.items() if r["division"] == division}
            diff = sorted(set(ra) ^ set(rb)) + sorted(k for k in set(ra) & set(rb)
                                                       if ra[k] != rb[k])
            self.ok(ra and ra == rb, "%s: %s and %s list the same %d %s records"
                    % (what, a, b, len(ra), c), "identical, not empty",
                    "differ in %s" % diff[:5] if diff else "empty")

    # ---- b. catch-up ---------------------------------------------------------

    def catch_up(self):
        port = self.srv["county"].port
        self.stop("county", "b")
        before = self.data("town", ("dispute",))
        rc, rep, err = self.sync("town", COUNTY, "--retries", "0")
        self.ok(rc == 1 and rep and rep["ok"] is False and rep["error"]
                and str(port) in rep["error"],
                "b: with 湘潭县's server down, a sync fails at runtime (exit 1) naming "
                "the URL", "exit 1, error naming port %d" % port,
                "exit %d %s" % (rc, rep and rep.get("error")), show=True)
        self.ok(self.data("town", ("dispute",)) == before,
                "b: and changed nothing at 石潭镇", "same log and records", "changed")
        d = self.put("town", "dispute", division=TOWN, dispute_type="劳资纠纷",
                     source="当事人申请", summary="砖厂拖欠十二名工人工资", status="登记受理")
        h = self.put("town", "hazard", division=TOWN, category="公共安全风险",
                     subcategory="消防安全", description="石潭镇集市电动车违规充电")
        s = self.put("county", "supervision", division=TOWN,
                     **dict(SUPERVISION, kind="通报", requirements="通报集市消防隐患"))
        try:
            self.serve("county", "--max-body", "65536", port=port)
            same_port = True
        except Bail as e:
            self.note("cannot listen on port %d again (%s): another port" % (port, e))
            self.serve("county", "--max-body", "65536")
            self.must("town", "peer", "set", COUNTY, "--url", self.srv["county"].url)
            same_port = False
        rc, rep, err = self.sync("town", COUNTY)
        got = rep and (rep["pushed"]["txns"], rep["pulled"]["txns"])
        self.ok(rc == 0 and got == (2, 1),
                "b: after the restart%s one sync pushes the 2 txns written meanwhile "
                "and pulls the 1" % (" (same port)" if same_port else ""),
                (2, 1), "exit %d %s %s" % (rc, got, err[:200]), show=True)
        self.ok(d in self.records("county", "dispute") and h in self.records("county", "hazard")
                and s in self.records("town", "supervision"),
                "b: both sides have each other's writes", "present", "missing")
        self.same("b: after catching up", ("dispute", "hazard", "supervision"),
                  ("town", "county"))
        for n, peer in (("town", COUNTY), ("county", TOWN)):
            p = [x for x in self.status(n)["peers"] if x["code"] == peer]
            got = p and {k: p[0].get(k) for k in ("last_sync", "unsent", "unacked", "gap")}
            self.ok(p and got["last_sync"] and (got["unsent"], got["unacked"], got["gap"])
                    == (0, 0, None),
                    "b: status --json at %s: %s has last_sync set, unsent 0, unacked 0, "
                    "no gap" % (n, peer), "last_sync, 0, 0, null", got)
            skew = p and p[0].get("clock_skew_ms")
            self.ok(isinstance(skew, int) and abs(skew) < 5000,
                    "b: status --json at %s: the clock of %s as seen over HTTP "
                    "(same machine: within 5 s)" % (n, peer), "an int near 0", skew)

    # ---- c. no signature -------------------------------------------------------

    def unsigned(self):
        for method, path, body in (("GET", "/v1/pull?after=0&ack=0", None),
                                   ("POST", "/v1/push", b"PGB not a bundle")):
            st, hd, data = self.plain("county", method, path, body)
            err = self.error_only(data)
            self.ok(st == 401 and err and "not signed" in err,
                    "c: unsigned %s %s: 401, JSON body with only an \"error\" (%s)"
                    % (method, path, err), "401 {\"error\": ...not signed...}",
                    "%d %r" % (st, data[:300]))
            self.ok(b"PG" not in data and "x-pingan-signature" not in hd,
                    "c: %s %s: no bundle, no signed answer" % (method, path),
                    "none", "%r %s" % (data[:100], hd))
        st, hd, data = self.plain("county", "GET", "/v1/health")
        try:
            d = json.loads(data)
        except ValueError:
            d = {}
        got = {k: d.get(k) for k in ("code", "name", "tier")}
        self.ok(st == 200 and got == {"code": COUNTY, "name": "湘潭县", "tier": "county"}
                and abs(d.get("time_ms", 0) - time.time() * 1000) < 10 * MIN,
                "c: GET /v1/health without authentication: 200 with code, name, tier, "
                "time_ms", "200 %s" % {"code": COUNTY, "name": "湘潭县", "tier": "county"},
                "%d %r" % (st, data[:300]))
        st, _, data = self.request("town", "county", "/v1/nothing")
        self.ok(st == 404 and self.error_only(data),
                "c: a signed GET of an unknown endpoint: 404 with an error", 404,
                "%d %r" % (st, data[:200]))
        st, _, data = self.request("town", "county", "/v1/push")
        self.ok(st == 405 and self.error_only(data),
                "c: a signed GET /v1/push: 405 with an error", 405, "%d %r" % (st, data[:200]))

    # ---- d. impostor, stranger ---------------------------------------------------

    def strangers(self):
        colls = ("dispute", "hazard", "supervision")
        before = self.data("county", colls)
        self.put("imp", "dispute", division=TOWN, dispute_type="其他", source="网格排查",
                 summary="冒名节点写入的纠纷")
        st, _, data = self.request("imp", "county", "/v1/pull?after=0&ack=0")
        err = self.error_only(data) or ""
        self.ok(st == 401 and err == GENERIC_401,
                "d: an impostor with 石潭镇's code and new keys: its pull gets 401 "
                "saying no more than that (%s)" % err,
                "401 " + GENERIC_401, "%d %r" % (st, data[:300]))
        self.ok("not the key pinned for " + TOWN in self.srv["county"].errors(),
                "d: the server's log says why: not the key pinned for 石潭镇",
                "a log line", self.srv["county"].errors()[-400:])
        st, _, data = self.request("imp", "county", "/v1/push", "POST", b"x" * 100)
        self.ok(st == 401 and self.error_only(data),
                "d: and its push 401", 401, "%d %r" % (st, data[:200]))
        self.must("imp", "peer", "set", COUNTY, "--url", self.srv["county"].url)
        rc, rep, err = self.sync("imp", COUNTY)
        self.ok(rc == 2 and rep and rep["http_status"] == 401 and rep["pushed"]["txns"] == 0,
                "d: the impostor's 'pingan sync' is refused: exit 2, HTTP 401, nothing "
                "pushed", "exit 2, 401", "exit %d %s" % (rc, rep), show=True)
        st, _, data = self.request("stranger", "county", "/v1/pull?after=0&ack=0")
        err = self.error_only(data) or ""
        self.ok(st == 401 and err == GENERIC_401,
                "d: 谭家山镇, not pinned at 湘潭县: 401, not told who is a peer (%s)"
                % err, "401 " + GENERIC_401, "%d %r" % (st, data[:300]))
        self.ok(STRANGER + " is not a peer" in self.srv["county"].errors(),
                "d: the server's log says why: 谭家山镇 is not a peer",
                "a log line", self.srv["county"].errors()[-400:])
        st, _, data = self.request("town", "county", "/v1/pull?after=0&ack=0",
                                   **{"from": STRANGER})
        self.ok(st == 401, "d: 石潭镇 signing as 谭家山镇: 401", 401, "%d %r" % (st, data[:200]))
        self.ok(self.data("county", colls) == before,
                "d: 湘潭县's log and records are unchanged", "unchanged", "changed")

    # ---- e. replay -----------------------------------------------------------------

    def replay(self):
        nonce = "%032x" % random.getrandbits(128)
        uri = "/v1/pull?after=0&ack=0"
        st1, hd, _ = self.request("town", "county", uri, nonce=nonce)
        self.ok(st1 in (200, 204) and hd.get("x-pingan-nonce") == nonce,
                "e: a pull with nonce %s… is answered (%d), signed over that nonce"
                % (nonce[:8], st1), "200 or 204", "%d %s" % (st1, hd))
        st2, _, data = self.request("town", "county", uri, nonce=nonce)
        err = self.error_only(data) or ""
        self.ok(st2 == 401 and "replay" in err and nonce in err,
                "e: the same request again: 401 naming the replay (%s)" % err,
                "401 replayed", "%d %r" % (st2, data[:300]))
        st, _, data = self.request("town", "county", "/v1/pull?after=1&ack=0", nonce=nonce)
        self.ok(st == 401 and "replay" in (self.error_only(data) or ""),
                "e: the nonce with another URI: 401 replay too", 401, "%d %r" % (st, data[:200]))
        port = self.srv["county"].port
        self.stop("county")
        try:
            self.serve("county", "--max-body", "65536", port=port)
        except Bail:
            self.serve("county", "--max-body", "65536")
            self.must("town", "peer", "set", COUNTY, "--url", self.srv["county"].url)
        st3, _, data = self.request("town", "county", uri, nonce=nonce)
        self.ok(st3 == 401 and "replay" in (self.error_only(data) or ""),
                "e: after a restart of the server, the replay is still 401 (nonces "
                "are in the store)", "401 replayed", "%d %r" % (st3, data[:300]))
        st4, _, _ = self.request("town", "county", uri)
        self.ok(st4 in (200, 204), "e: (control) the same pull with a fresh nonce is "
                "answered", "200 or 204", st4)

    # ---- f. tampering, clocks ---------------------------------------------------------

    def tampered(self):
        uri = "/v1/pull?after=0&ack=0"
        st, _, data = self.request("town", "county", uri, tamper="sig")
        err = self.error_only(data) or ""
        self.ok(st == 401 and err == GENERIC_401
                and "does not verify" in self.srv["county"].errors(),
                "f: a spoiled signature: 401 (%s), the log says it does not verify"
                % err, 401, "%d %r" % (st, data[:200]))
        # A real bundle, for a push whose body is then changed.
        rid = self.put("town", "dispute", division=TOWN, dispute_type="消费纠纷",
                       source="12345热线", summary="集市商户与顾客因退货发生争执")
        out = os.path.join(self.work, "town.pgb")
        self.must("town", "export", "--to", COUNTY, "--out", out)
        with open(out, "rb") as f:
            body = f.read()
        before = self.data("county", ("dispute",))
        st, _, data = self.request("town", "county", "/v1/push", "POST", body, tamper="body")
        err = self.error_only(data) or ""
        self.ok(st == 401 and "does not match" in err,
                "f: a push whose body is not the one signed: 401 (%s)" % err, 401,
                "%d %r" % (st, data[:200]))
        self.ok(self.data("county", ("dispute",)) == before,
                "f: and 湘潭县 applied nothing", "unchanged", "changed")
        st, _, data = self.request("town", "county", "/v1/push", "POST", body)
        self.ok(st == 200 and rid in self.records("county", "dispute"),
                "f: (control) the same bundle, untampered: 200, the record applied", 200,
                "%d %r" % (st, data[:300]))
        for off, want in ((11 * MIN, 401), (-11 * MIN, 401), (9 * MIN, None),
                          (-9 * MIN, None)):
            st, _, data = self.request("town", "county", uri, time_offset_ms=off)
            err = self.error_only(data) or ""
            if want:
                self.ok(st == 401 and "clock skew" in err,
                        "f: a request timed %+d minutes: 401 naming the clock skew"
                        % (off // MIN), "401 clock skew", "%d %r" % (st, data[:300]))
            else:
                self.ok(st in (200, 204), "f: a request timed %+d minutes: accepted (%d)"
                        % (off // MIN, st), "200 or 204", "%d %r" % (st, data[:300]))

    # ---- h. oversized ------------------------------------------------------------------

    def oversized(self):
        rnd = random.Random(20261127)
        path = os.path.join(self.work, "big.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for i in range(400):
                text = "".join(chr(0x4e00 + rnd.randrange(0x5000)) for _ in range(150))
                f.write(json.dumps({"division": BIG, "dispute_type": "邻里纠纷",
                                    "source": "网格排查", "party_count": i + 2,
                                    "summary": "易俗河镇%03d号纠纷：%s" % (i, text)},
                                   ensure_ascii=False) + "\n")
        self.must("big", "record", "import", "dispute", path, "--batch", "8")
        self.must("big", "peer", "set", COUNTY, "--url", self.srv["county"].url)
        dry = self.j("big", "export", "--to", COUNTY, "--dry-run", "--json")
        self.note("易俗河镇 has %s txns (log %s) for 湘潭县" % (dry.get("txns"), dry.get("range")))
        before = self.data("county", ("dispute",))
        rc, rep, err = self.sync("big", COUNTY, "--bundle-max", "1048576")
        msg = (rep or {}).get("error") or ""
        self.ok(rc == 2 and rep and rep["http_status"] == 413 and "65536" in msg
                and "413" in msg,
                "h: a push of more than --max-body 65536 is refused: exit 2, HTTP 413, "
                "the error names the limit (%s)" % msg[:160],
                "exit 2, 413, '65536'", "exit %d %s" % (rc, rep), show=True)
        self.ok(rep and rep["pushed"]["txns"] == 0,
                "h: the summary counts nothing pushed", 0, rep and rep["pushed"])
        self.ok(self.data("county", ("dispute",)) == before,
                "h: 湘潭县 stored nothing", "unchanged", "changed")
        logged = self.srv["county"].errors()
        self.ok(re.search(r"POST /v1/push 413 ", logged),
                "h: the server logged the 413", "a log line", logged[-400:])
        rc, rep, err = self.sync("big", COUNTY, "--bundle-max", "65536")
        got = rep and (rep["pushed"]["txns"], rep["pushed"]["applied"])
        self.ok(rc == 0 and got == (50, 50) and rep["pushed"]["bundles"] >= 2,
                "h: with --bundle-max 65536 the push goes in %s bundles under the limit, "
                "all 50 txns applied" % (rep and rep["pushed"]["bundles"]),
                "exit 0, 50 txns, >= 2 bundles (library bug when only the first bundle "
                "went: after the refused push sent_upto is at 50, so push_one in "
                "sync/client.c resends one bundle from acked_upto, then walks from "
                "sent_upto and finds nothing)", "exit %d %s" % (rc, rep and rep["pushed"]))
        recs = self.records("county", "dispute")
        n = sum(1 for r in recs.values() if r["division"] == BIG)
        self.ok(n == 400, "h: 湘潭县 has the 400 records", "400 (see the check above)", n)
        self.same("h: 易俗河镇's", ("dispute",), ("big", "county"), division=BIG)

    # ---- g. revoked -------------------------------------------------------------------

    def revoked(self):
        n = max(e["origin_seq"] for e in self.log("town") if e["origin"] == TOWN)
        self.must("county", "peer", "revoke", TOWN, "--after-seq", str(n))
        st, _, data = self.request("town", "county", "/v1/pull?after=0&ack=0")
        err = self.error_only(data) or ""
        self.ok(st == 403 and "revoked" in err,
                "g: after 'peer revoke %s --after-seq %d' at 湘潭县, the running server "
                "answers 石潭镇's signed pull 403 (%s)" % (TOWN, n, err),
                "403 revoked", "%d %r" % (st, data[:300]))
        rc, rep, err = self.sync("town", COUNTY)
        self.ok(rc == 2 and rep and rep["http_status"] == 403,
                "g: and its sync: exit 2, HTTP 403", "exit 2, 403",
                "exit %d %s" % (rc, rep), show=True)
        st, _, _ = self.request("big", "county", "/v1/pull?after=0&ack=0")
        self.ok(st in (200, 204), "g: (control) 易俗河镇 is still answered", "200 or 204", st)

    # ---- i. partner --------------------------------------------------------------------

    def partner(self):
        self.serve("city")
        self.must("cs", "peer", "set", CITY, "--url", self.srv["city"].url)
        rc, _, err = self.pg("city", "record", "put", "key_person", "division=" + CITY,
                             "category=刑满释放人员", "name=黎志刚",
                             "id_number=" + id_number("43032119760921001"))
        self.ok(rc == 2 and "county" in err,
                "i: the city may not write a key_person (they stay at or below the county)",
                "refused", "exit %d %s" % (rc, err[:200]))
        hz = self.put("city", "hazard", division=CITY, category="公共安全风险",
                      subcategory="燃气安全", level="重大", **HAZARD)
        local = self.put("city", "dispute", division=CITY, dispute_type="邻里纠纷",
                         source="网格排查", status="登记受理", cross_region="false", **LOCAL)
        cross = self.put("city", "dispute", division=CITY, dispute_type="经济活动",
                         source="当事人申请", status="登记受理", cross_region="true",
                         partner_city=CHANGSHA, **CROSS)
        fa = self.put("city", "fraud_alert", division=CITY, alert_source="96110",
                      fraud_type="冒充公检法", channel="电话", loss_amount="38000.5",
                      issued_at="2026-11-20T10:00:00+08:00", status="已下发", **FRAUD)
        excluded = [("hazard", hz), ("dispute", local)]

        def holds(what):
            d = self.records("cs", "dispute")
            got = {"dispute": sorted(d), "fraud_alert": sorted(self.records("cs", "fraud_alert")),
                   "hazard": sorted(self.records("cs", "hazard"))}
            want = {"dispute": [cross], "fraud_alert": [fa], "hazard": []}
            self.ok(got == want, "i: %s: 长沙市 holds exactly the cross-region dispute and "
                    "the fraud alert" % what, want, got)
            r = d.get(cross) or {}
            self.ok(r.get("applicant_name") == "谭**" and r.get("summary") is None,
                    "i: %s: masked and withheld as the agreement says" % what,
                    "谭**, no summary",
                    {k: r.get(k) for k in ("applicant_name", "summary")})

        rc, rep, err = self.sync("cs", CITY)
        self.ok(rc == 0 and rep and rep["pulled"]["txns"] == 2,
                "i: 长沙市 syncs with 湘潭市 and pulls 2 txns", "exit 0, 2 txns",
                "exit %d %s" % (rc, rep and rep["pulled"]), show=True)
        holds("after a sync")
        rc, rep, err = self.sync("cs", CITY, "--from-start")
        self.ok(rc == 0 and rep and rep["pulled"]["txns"] == 2
                and rep["pulled"]["applied"] == 0,
                "i: 'sync --from-start' pulls the same 2 txns again (duplicates)",
                "exit 0, 2 txns, 0 applied", "exit %d %s" % (rc, rep and rep["pulled"]))
        holds("after sync --from-start")
        bundles = []
        for uri in ("/v1/pull?after=0&ack=0", "/v1/pull?after=0&ack=0&max=65536"):
            st, hd, data = self.request("cs", "city", uri)
            self.ok(st == 200 and data, "i: 长沙市's own pull %s: 200 with a bundle" % uri,
                    200, "%d %r" % (st, data[:200]))
            if st == 200 and data:
                path = os.path.join(self.work, "pulled", "cs-%d.pgb" % len(bundles))
                with open(path, "wb") as f:
                    f.write(data)
                bundles.append((path, data))
        for path, data in bundles:
            info = self.j("cs", "bundle", "inspect", path, "--json")
            colls = sorted(x.get("collection") for x in info.get("txn_list") or [])
            self.ok(info.get("recipient") == CHANGSHA and colls == ["dispute", "fraud_alert"],
                    "i: the bundle pulled by hand holds 2 txns: one dispute (the "
                    "cross-region one), one fraud alert", ["dispute", "fraud_alert"],
                    "recipient %s, %s" % (info.get("recipient"), colls))
            rc, out, err = self.pg("cs", "import", path, "--json")
            self.ok(rc == 0, "i: 长沙市 imports it (exit 0)", 0, "exit %d %s" % (rc, err[:300]))
        holds("after importing the pulls made by hand")
        for extra in ("&collection=key_person", "&max=abc", "&after=5"):
            st, _, data = self.request("cs", "city", "/v1/pull?after=0&ack=0" + extra)
            self.ok(st == 400 and self.error_only(data),
                    "i: a pull with '%s' added: 400 with an error" % extra,
                    400 if extra != "&after=5" else
                    "400 (a parameter given twice; sync/serve.c's query_count lets "
                    "after, ack, after through when max is absent)",
                    "%d %r" % (st, data[:120]))
        st, _, data = self.request("county", "city", "/v1/pull?after=0&ack=0")
        self.ok(st == 401, "i: 湘潭县, not linked to 湘潭市 in this test, gets 401 there", 401,
                "%d %r" % (st, data[:200]))
        self.leaks(excluded)

    def leaks(self, excluded):
        withheld = ([("local dispute " + k, v) for k, v in LOCAL.items()]
                    + [("hazard " + k, v) for k, v in HAZARD.items()]
                    + [("cross dispute summary", CROSS["summary"]),
                       ("cross dispute phone", CROSS["applicant_phone"]),
                       ("fraud description", FRAUD["description"]),
                       ("fraud suspect phone", FRAUD["suspect_phone"]),
                       ("fraud target phone", FRAUD["target_phone"])]
                    + [("%s id" % c, rid) for c, rid in excluded])
        found, nfiles, nbytes = self.scan("cs", withheld)
        self.ok(not found and nfiles >= 1,
                "i: none of %d withheld values is in the raw bytes of the %d files "
                "(%d bytes) of 长沙市's directory" % (len(withheld), nfiles, nbytes),
                "no match", "\n".join(found[:20]))
        seen = [("masked name", "谭**"), ("fraud alert target", "贺**")]
        got, _, _ = self.scan("cs", seen)
        self.ok(len({g.split(" (")[0] for g in got}) == len(seen),
                "i: (control) the same scan finds what 长沙市 did receive",
                [v for _, v in seen], got)
        got, _, _ = self.scan("city", withheld[:3])
        labels = {g.split(" (")[0] for g in got}
        self.ok(len(labels) == 3, "i: (control) and finds the withheld values at 湘潭市",
                3, got)

    def scan(self, node, needles):
        found, nfiles, nbytes = [], 0, 0
        forms = [(label, v, enc) for label, v in needles
                 for enc in (v.encode("utf-8"), v.encode("utf-16-le"))]
        for root, _, files in os.walk(self.dir[node]):
            for fn in files:
                with open(os.path.join(root, fn), "rb") as f:
                    data = f.read()
                nfiles += 1
                nbytes += len(data)
                for label, v, enc in forms:
                    if enc in data:
                        found.append("%s (%s) in %s" % (label, v, fn))
        return found, nfiles, nbytes

    # ---- j. recorded -------------------------------------------------------------------

    def recorded(self):
        for node, what in (("county", "湘潭县"), ("city", "湘潭市")):
            want = self.refused.get(node, 0)
            st = self.status(node)
            rej = st.get("rejected_last_day")
            if not self.ok(isinstance(rej, dict),
                           "j: %s's status --json has rejected_last_day" % what,
                           "an object", json.dumps(st, ensure_ascii=False)[:400]):
                continue
            got = (rej.get("total"), (rej.get("by_source") or {}).get("http"))
            self.ok(got == (want, want) if want else got[0] == 0,
                    "j: %s's rejected_last_day counts the %d refused HTTP requests "
                    "(total, by_source.http)" % (what, want), (want, want), got)
            if want:
                self.ok(isinstance(rej.get("last"), str) and rej["last"],
                        "j: %s's rejected_last_day names the last refusal (%s)"
                        % (what, str(rej.get("last"))[:80]), "a reason", rej.get("last"))
        for node in ("county", "city"):
            self.stop(node, "j")
            tmp = os.path.join(self.dir[node], "http-tmp")
            left = sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []
            self.ok(not left, "j: %s's server left no temporary file in http-tmp" % node,
                    "none", left)
        with open(os.path.join(self.work, "logs", "county.err"), encoding="utf-8",
                  errors="replace") as f:
            logs = f.read()
        lines = [ln for ln in logs.splitlines() if re.search(r" (401|403) .*refused", ln)]
        want = self.refused.get("county", 0)
        self.ok(len(lines) == want,
                "j: 湘潭县's servers logged each of the %d refusals on stderr" % want,
                want, "%d:\n%s" % (len(lines), "\n".join(lines[-5:])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--net-request", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    t = H(os.path.abspath(a.pingan), os.path.abspath(a.net_request),
          os.path.abspath(a.work), a.verbose)
    t0 = time.monotonic()
    t.run_all()
    print("# %.1f s" % (time.monotonic() - t0))
    return 1 if t.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
