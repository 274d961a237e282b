#!/usr/bin/env python3
"""Network fault-tolerance driver for tests/cli/netfault.sh (DESIGN §8).

Real processes on 127.0.0.1: `pingan serve` (libmicrohttpd) for the county
湘潭县 (430321000000) and `pingan sync` (libcurl) from its township 石潭镇
(430321112000), killed with SIGKILL, stopped, restarted, starved and
pointed at the wrong certificate authority.

Checked:
  a. kill -9 loop: the township has a large backlog (20,000 hazards by
     default) and the county some thousands for the township; a sync with
     --bundle-max 65536 takes a couple of hundred requests.  Six syncs are
     cut by SIGKILL -- of the client or of the server, while pushing and
     while pulling (7 kills, at least 3 of each, all of a running sync),
     after a seeded number of answered requests plus a random few ms, or
     after a random time -- and a killed server is restarted on the same
     port: once while the client rides it out with its retries (it must go
     on to pull); a client with --retries 0 whose server dies exits 1.
     Stale files planted in DIR/http-tmp are gone after a restart.  Then
     an uninterrupted sync succeeds and a second one moves 0 txns; the
     county and the township hold exactly the same hazards, row for row
     with their field versions (the stores read with SQLite, read-only),
     each log holds no (origin, origin_seq) twice and no gap, both logs
     the same (origin, origin_seq, digest) set, the township the county's
     certificate of it once (1 record, 1 txn); SIGTERM stops the server
     (exit 0) with DIR/http-tmp empty, and a clean restart leaves it
     empty; no temporary bundle of a killed sync is left in the township's
     directory.
     The reverse direction: the county writes records for the township
     (a `record import` process next to the server during each sync) as
     the township pulls and is killed (and twice the server: --retries 0
     fails, with retries it finishes); the imports all succeed; then the
     same checks, and also as the command line shows them: `record list
     hazard --json` identical on both sides, `log --json` listing every
     txn with its signature verifying.
  b. retry/backoff: with the server down, `sync --retries 2` exits 1 in
     more than 0.5 s (the backoff) and well under 30 s, naming the URL and
     the connection failure; --json reports the retries; once the server
     runs, the same sync succeeds and the record arrives.
  c. TLS: a test CA and a server certificate (subjectAltName IP:127.0.0.1)
     made with the openssl CLI; the county serves https, the township pins
     the URL and the CA: records go both ways.  With another self-signed
     CA (same subject name) the sync fails, saying so about the
     certificate, and nothing was pushed; a plain-http client to the https
     port fails (pingan sync with an http:// URL, and a raw HTTP request);
     with the right CA again the held-back record goes.
  d. --sync-every: the township serves with --sync-every 1 and its
     parent's URL; a record written at the township reaches the county
     within seconds without a manual sync; with the county stopped the
     township keeps serving (health), logs a failed sync and takes local
     writes; once the county is back the next periodic sync carries the
     township's write up and the county's write (made while it was down)
     down; the township stops cleanly on SIGTERM.
  e. slow clients: with serve --timeout 2, a connection that sent only
     part of its headers, and one that sent nothing, are closed after
     about 2 s, while a normal sync meanwhile succeeds; headers trickled a
     byte every 0.5 s (never idle) are cut by --request-max 3; with
     --max-connections 4, of 8 connections at most 4 are held, a health
     request is turned away while they are, and is answered again as soon
     as they close (well before the 60 s idle timeout); the server still
     syncs and stops cleanly.

Record counts scale down (4,000 instead of 20,000) in a sanitizer build,
detected from the binary (it holds __asan_init) or PINGAN_SANITIZE=1; time
limits grow there.

Prints "ok - ..." / "not ok - ..." lines (turned into TAP by the shell
wrapper), "#   expected:" / "#   found:" under a failure, "# ..." notes.
Exit status 1 when a check failed.  Every process started is killed at the
end, also on failure.

  netfault.py --pingan BIN [--gen BIN] --work DIR [--records N]
              [--sanitize] [--seed S] [--only a,b,c,d,e] [--verbose]
"""

import argparse
import collections
import json
import os
import random
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from checks import Bail, Checks  # noqa: E402

# Real codes from shared/data/xiangtan_divisions.csv.
COUNTY, TOWN = "430321000000", "430321112000"  # 湘潭县, 石潭镇
COMMUNITY = "430321112005"  # 列家桥煤矿居委会 (石潭镇)

PUSH_LINE = re.compile(r" POST /v1/push 200 ")
PULL_LINE = re.compile(r" GET /v1/pull 200 ")


def free_port():
    """A port nothing listens on now (bound and released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NoAnswer(Exception):
    pass


def health(port, timeout=3.0):
    """GET /v1/health over plain HTTP, on a raw socket so that nothing
    between hides what the server sent: (status, parsed JSON body); raises
    NoAnswer (or OSError) when no HTTP answer comes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    head, sep, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    if not sep or not m:
        raise NoAnswer("no HTTP answer: %r" % data[:80])
    try:
        return int(m.group(1)), json.loads(body.decode() or "null")
    except ValueError:
        raise NoAnswer("not JSON: %r" % body[:80])


def closed_within(sock, seconds):
    """Wait up to seconds for the peer to close sock: the time it took, or
    None when still open.  Data the server sends first is read and ignored."""
    t0 = time.monotonic()
    deadline = t0 + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return None
        try:
            d = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
        if not d:
            return time.monotonic() - t0


class Server:
    """One `pingan serve` of a node, restartable on the same port (start)
    or on a new one (start_anywhere)."""

    def __init__(self, t, node, port=0, extra=(), name=None):
        self.t = t
        self.node = node
        self.port = port
        self.extra = list(extra)
        self.name = name or node
        self.logpath = os.path.join(t.work, "logs", "%s.log" % self.name)
        self.proc = None
        self.scheme = None
        t.servers.append(self)

    def start(self):
        if self.proc and self.proc.poll() is None:
            raise Bail("server %s started twice" % self.name)
        last = ""
        for _ in range(25):  # the port may take a moment to free up
            with open(self.logpath, "ab") as log:
                cmd = [self.t.pingan, "--dir", self.t.dir(self.node), "serve",
                       "--listen", "127.0.0.1:%d" % self.port] + self.extra
                p = self.t.spawn(cmd, stdout=subprocess.PIPE, stderr=log)
            line = b""
            deadline = time.monotonic() + self.t.slow(20)
            while time.monotonic() < deadline and not line.endswith(b"\n"):
                r, _, _ = select.select([p.stdout], [], [], 0.1)
                if r:
                    ch = os.read(p.stdout.fileno(), 1)
                    if not ch:
                        break
                    line += ch
            m = re.match(rb"listening on port (\d+) \((https?)\)\n$", line)
            if m:
                self.proc = p
                self.port = int(m.group(1))
                self.scheme = m.group(2).decode()
                return self
            hung = p.poll() is None
            p.kill()
            p.wait()
            p.stdout.close()
            last = line.decode(errors="replace") or self.tail(3)
            if hung:  # not a port still in use: no point in trying again
                break
            time.sleep(0.2)
        raise Bail("pingan serve for %s did not start on port %d: %s"
                   % (self.name, self.port, last))

    def start_anywhere(self):
        """Start on a port the system picks (not the last one, which
        another process may have taken since, e.g. under a parallel
        ctest); whoever syncs with this server must be told the new URL."""
        self.port = 0
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def stop(self, timeout=None):
        """SIGTERM; the exit status and how long the stop took (None: hung,
        then killed)."""
        if not self.proc:
            return None, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout or self.t.slow(15))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.proc.stdout.close()
        self.proc = None
        return rc, time.monotonic() - t0

    def log_size(self):
        try:
            return os.path.getsize(self.logpath)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.logpath, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def count(self, pattern, offset):
        return len(pattern.findall(self.log_since(offset)))

    def tail(self, n):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme or "http", self.port)


class NetFault(Checks):
    def __init__(self, a):
        self.pingan = os.path.abspath(a.pingan)
        self.gen = os.path.abspath(a.gen) if a.gen and os.access(a.gen, os.X_OK) else None
        self.work = os.path.abspath(a.work)
        self.verbose = a.verbose
        self.sanitize = a.sanitize
        self.nrec = a.records
        self.rng = random.Random(a.seed)
        self.only = set(a.only.split(",")) if a.only else None
        self.nfail = 0
        self.last = None
        self.procs = []
        self.servers = []
        os.makedirs(os.path.join(self.work, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.work, "data"), exist_ok=True)

    # ---- reporting -------------------------------------------------------

    def on_failure(self):
        self.show_servers()

    def show_servers(self):
        """Under a failure: the servers that should be running, and whether
        they are (a server stopped by a signal from outside logs "stopped")."""
        for srv in self.servers:
            if srv.proc is None:
                continue
            rc = srv.proc.poll()
            print("#   server %s (port %d): %s; its log ends:" % (
                srv.name, srv.port, "running" if rc is None else "EXITED with %d" % rc))
            print("#     " + srv.tail(3).replace("\n", "\n#     "))

    def slow(self, seconds):
        """A time limit, longer under the sanitizers."""
        return seconds * 4 if self.sanitize else seconds

    # ---- processes -------------------------------------------------------

    def spawn(self, cmd, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(cmd, cwd=self.work, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def dir(self, node):
        return os.path.join(self.work, "nodes", node)

    def pg(self, node, *args, timeout=None):
        cmd = [self.pingan]
        if node:
            cmd += ["--dir", self.dir(node)]
        cmd += ["--operator", "测试员"] + [str(x) for x in args]
        t0 = time.monotonic()
        p = self.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=timeout or self.slow(120))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise Bail("pingan %s hung (killed)" % " ".join(cmd[1:]))
        out = out.decode(errors="replace")
        err = err.decode(errors="replace")
        shown = " ".join(cmd[1:]).replace(self.work + "/", "")
        self.last = (shown, p.returncode, out, err)
        el = time.monotonic() - t0
        if self.verbose:
            print("# $ pingan %s -> %d (%.2f s)" % (shown, p.returncode, el))
        return p.returncode, out, err, el

    def must(self, node, *args, **kw):
        rc, out, err, _ = self.pg(node, *args, **kw)
        if rc != 0:
            raise Bail("pingan %s: exit %d: %s" % (self.last[0], rc, err.strip()[:400]))
        return out

    def j(self, node, *args, **kw):
        out = self.must(node, *args, **kw)
        try:
            return json.loads(out)
        except ValueError:
            raise Bail("pingan %s printed no JSON" % self.last[0])

    def sync(self, node, peer, *args, timeout=None):
        """pingan sync --json: (exit status, the report or None, stderr, seconds)."""
        rc, out, err, el = self.pg(node, "sync", peer, "--json", *args, timeout=timeout)
        try:
            rep = json.loads(out)[0]
        except (ValueError, IndexError, KeyError):
            rep = None
        return rc, rep, err, el

    # ---- nodes and data ----------------------------------------------------

    def pair(self, prefix):
        """A county and its township, each pinning the other."""
        c, t = prefix + "county", prefix + "town"
        os.makedirs(os.path.join(self.work, "nodes"), exist_ok=True)
        self.must(c, "init", "--code", COUNTY, "--name", "湘潭县")
        self.must(t, "init", "--code", TOWN, "--name", "石潭镇")
        cc = os.path.join(self.work, "data", c + ".card")
        tc = os.path.join(self.work, "data", t + ".card")
        self.must(c, "card", "--out", cc)
        self.must(t, "card", "--out", tc)
        self.must(c, "peer", "add", "--card", tc, "--role", "child")
        self.must(t, "peer", "add", "--card", cc, "--role", "parent")
        return c, t

    def generate(self, name, n, seed):
        """n hazards inside 石潭镇 as JSON lines; the file's path."""
        path = os.path.join(self.work, "data", name + ".jsonl")
        if self.gen:
            with open(path, "wb") as f:
                p = subprocess.run([self.gen, "hazard", str(n), "--seed", str(seed),
                                    "--division", TOWN], stdout=f, stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                raise Bail("pingan-gen failed")
        else:
            r = random.Random(seed)
            with open(path, "w", encoding="utf-8") as f:
                for i in range(n):
                    f.write(json.dumps({
                        "division": "4303211122%02d" % (28 + i % 4),
                        "category": "公共安全风险", "level": "一般",
                        "description": "第%d号隐患（%d）：楼道堆放杂物，消防通道不畅，已督促清理"
                                       % (i, r.randrange(10 ** 6))}, ensure_ascii=False) + "\n")
        return path

    def split(self, path, parts):
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        out = []
        for i in range(parts):
            chunk = lines[i * len(lines) // parts:(i + 1) * len(lines) // parts]
            p = "%s.%d" % (path, i)
            with open(p, "w", encoding="utf-8") as f:
                f.writelines(chunk)
            out.append(p)
        return out

    def put(self, node, **fields):
        fields.setdefault("division", COMMUNITY)
        fields.setdefault("category", "公共安全风险")
        return self.j(node, "record", "put", "hazard", "--json",
                      *["%s=%s" % kv for kv in fields.items()])["id"]

    def hazards(self, node):
        return {r["id"]: r for r in self.j(node, "record", "list", "hazard", "--deleted", "--json")}

    def has(self, node, rid):
        return rid in self.hazards(node)

    def wait_for(self, what, cond, seconds, step=0.2):
        """Poll cond() until true; the seconds it took, or None."""
        t0 = time.monotonic()
        while True:
            if cond():
                return time.monotonic() - t0
            if time.monotonic() - t0 > seconds:
                return None
            time.sleep(step)

    def leftovers(self, node, sub=None, prefixes=("push-", "pull-")):
        d = os.path.join(self.dir(node), sub) if sub else self.dir(node)
        try:
            return sorted(f for f in os.listdir(d) if f.startswith(prefixes))
        except FileNotFoundError:
            return []

    # ---- the consistency checks ---------------------------------------------

    def store(self, node, sql):
        """Rows of a query on the node's store, opened read-only."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.dir(node), "store.db"),
                             uri=True, timeout=30)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def consistent(self, c, t, nexpect, what, full):
        """The county and the township hold the same records and the same
        txns, each once.  From the stores (read-only SQLite: every column,
        field versions too); with full also as the command line shows them
        (`record list --json`, `log --json` with its signature checks),
        which takes seconds on these logs."""
        q = "SELECT * FROM hazard ORDER BY id"
        rc, rt = self.store(c, q), self.store(t, q)
        ic, it = {r[0] for r in rc}, {r[0] for r in rt}
        if self.ok(ic == it and len(rc) == nexpect,
                   "%s: the county and the township both hold exactly the %d hazards"
                   % (what, nexpect), "%d on both, the same ids" % nexpect,
                   "county %d, township %d; only at the county: %s; only at the township: %s"
                   % (len(rc), len(rt), sorted(ic - it)[:3], sorted(it - ic)[:3])):
            diff = [a[0] for a, b in zip(rc, rt) if a != b]
            self.ok(not diff, "%s: every hazard row is identical on both sides, field versions "
                    "included (SQLite)" % what, "no difference",
                    "%d differ, e.g. %s" % (len(diff), diff[:3]))
        if full:
            hc, ht = self.hazards(c), self.hazards(t)
            diff = [i for i in sorted(set(hc) | set(ht)) if hc.get(i) != ht.get(i)]
            self.ok(len(hc) == nexpect and not diff,
                    "%s: `record list hazard --json` shows the same %d hazards, value for "
                    "value, on both sides" % (what, nexpect), "no difference",
                    diff and "%d differ, e.g. %s: county %s / township %s" % (
                        len(diff), diff[0], hc.get(diff[0]), ht.get(diff[0])))
        keys = {}
        for n, label in ((c, "county"), (t, "township")):
            rows = self.store(n, "SELECT origin, origin_seq, hex(digest), collection FROM log")
            keys[n] = rows
            dup = [k for k, v in collections.Counter((r[0], r[1]) for r in rows).items() if v > 1]
            self.ok(not dup, "%s: the %s's log (%d txns) has no (origin, origin_seq) twice"
                    % (what, label, len(rows)), "none", dup[:5])
            # Gap-free per origin: nothing skipped by a cut sync.
            seqs = collections.defaultdict(list)
            for r in rows:
                seqs[r[0]].append(r[1])
            gaps = {o: (len(x), max(x)) for o, x in seqs.items()
                    if sorted(x) != list(range(1, max(x) + 1))}
            self.ok(not gaps, "%s: the %s holds each origin's txns without a gap" % (what, label),
                    "1..max for every origin", gaps)
            if full:
                log = self.j(n, "log", "--json")
                bad = [e["seq"] for e in log if not e["signature_ok"]]
                self.ok(len(log) == len(rows) and not bad,
                        "%s: `log --json` of the %s lists the %d txns, every signature verifying"
                        % (what, label, len(log)), "all %d verified" % len(rows),
                        "%d entries, bad seq %s" % (len(log), bad[:5]))
        kc, kt = set(keys[c]), set(keys[t])
        self.ok(kc == kt, "%s: both logs hold the same %d txns (origin, origin_seq, digest)"
                % (what, len(kc)), "the same set",
                "only at the county %s; only at the township %s"
                % (sorted(kc - kt)[:3], sorted(kt - kc)[:3]))
        certs = self.j(t, "record", "list", "node", "--deleted", "--json")
        cert_txns = [r for r in keys[t] if r[3] == "node"]
        self.ok(len(certs) == 1 and certs[0].get("code") == TOWN
                and certs[0].get("issuer") == COUNTY and len(cert_txns) == 1
                and cert_txns[0][0] == COUNTY,
                "%s: the township holds the county's certificate of it once (1 record, 1 txn)" % what,
                "1 certificate %s issued by %s, 1 node txn" % (TOWN, COUNTY),
                "%d certificate records %s, node txns %s"
                % (len(certs), [(x.get("code"), x.get("issuer")) for x in certs], cert_txns))

    def caught_up(self, t, what, *args):
        rc, rep, err, el = self.sync(t, COUNTY, "--bundle-max", 65536, *args)
        if not self.ok(rc == 0 and rep and rep["ok"],
                       "%s: an uninterrupted sync succeeds (%.1f s, %s)" % (
                           what, el, rep and "pushed %d, pulled %d txns, %d requests"
                           % (rep["pushed"]["txns"], rep["pulled"]["txns"], rep["requests"])),
                       "exit 0", "exit %d: %s" % (rc, (rep and rep["error"]) or err.strip()[:300])):
            return
        rc, rep, err, el = self.sync(t, COUNTY, "--bundle-max", 65536, *args)
        self.ok(rc == 0 and rep and rep["pushed"]["txns"] == 0 and rep["pulled"]["txns"] == 0,
                "%s: a further sync moves 0 txns" % what, "exit 0, pushed 0, pulled 0",
                rep and "exit %d, pushed %d, pulled %d" % (rc, rep["pushed"]["txns"],
                                                           rep["pulled"]["txns"]) or err[:300])

    # ---- a. kill -9 ------------------------------------------------------------

    def start_sync(self, t, name, retries):
        out = open(os.path.join(self.work, "logs", name + ".out"), "wb")
        err = open(os.path.join(self.work, "logs", name + ".err"), "wb")
        p = self.spawn([self.pingan, "--dir", self.dir(t), "--operator", "测试员", "sync", COUNTY,
                        "--json", "--bundle-max", "65536", "--retries", str(retries),
                        "--timeout", str(int(self.slow(10)))], stdout=out, stderr=err)
        out.close()
        err.close()
        return p

    def wait_lines(self, srv, pattern, k, offset, proc, seconds):
        """Until srv logged k lines of pattern since offset: True; False
        when proc ended first or the time ran out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if srv.count(pattern, offset) >= k:
                return True
            if proc.poll() is not None:
                return srv.count(pattern, offset) >= k
            time.sleep(0.003)
        return False

    def plant_and_restart(self, srv, c, what):
        """Stale files in http-tmp (as a crash leaves them) are removed by a
        restart, before the server answers."""
        tmp = os.path.join(self.dir(c), "http-tmp")
        os.makedirs(tmp, exist_ok=True)
        found = self.leftovers(c, "http-tmp")
        for name in ("push-%s-999999.bundle" % TOWN, "pull-%s-999998.bundle" % TOWN):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(os.urandom(1000))
        srv.start()
        left = self.leftovers(c, "http-tmp")
        self.ok(not left, "%s: a restart empties http-tmp (%d files a kill left, 2 planted)"
                % (what, len(found)), "no push-/pull- file", left)

    def kill_loop(self, c, t, srv, events, what, alongside=None):
        """Run the events, each a sync of the township cut by a kill -9:
        (victim, phase, trigger) with victim "client", "server" (the client
        has --retries 0 and must fail) or "server-ride" (the server comes
        back on the same port and the client, with retries, goes on: to the
        end, or until it is killed after trigger[2] pulls), and trigger
        ("lines", K): after K pushes or pulls (by phase) were answered, plus
        a few random ms; ("first", S): S seconds after the first push or
        pull was answered; ("time", S): S seconds after the start.
        alongside(i), when given, starts a process that runs during event i
        (waited for at its end; its exit status is kept).  Returns the
        number of kills that cut a running sync by phase, and the exit
        statuses of the alongside processes."""
        cuts = collections.Counter()
        side_rc = []
        for i, (victim, phase, trig) in enumerate(events, 1):
            pattern = PUSH_LINE if phase == "push" else PULL_LINE
            ride = victim == "server-ride"
            retries = 8 if ride else (0 if victim == "server" else 3)
            if not srv.alive():
                srv.start()
            off = srv.log_size()
            side = alongside(i) if alongside else None
            p = self.start_sync(t, "%s-%d" % (what, i), retries)
            t0 = time.monotonic()
            if trig[0] == "lines":
                self.wait_lines(srv, pattern, trig[1], off, p, self.slow(60))
                time.sleep(self.rng.uniform(0, 0.03))
                how = "after %d %s%s + a few ms" % (trig[1], phase, "es" if phase == "push" else "s")
            elif trig[0] == "first":
                self.wait_lines(srv, pattern, 1, off, p, self.slow(60))
                t1 = time.monotonic()
                while time.monotonic() - t1 < trig[1] and p.poll() is None:
                    time.sleep(0.002)
                how = "%.2f s after the first %s" % (trig[1], phase)
            else:
                while time.monotonic() - t0 < trig[1] and p.poll() is None:
                    time.sleep(0.002)
                how = "after %.2f s" % trig[1]
            try:
                self.kill_one(c, srv, p, victim, ride, trig, off, how, "%s %d" % (what, i), cuts)
            finally:
                if side:
                    try:
                        side_rc.append(side.wait(self.slow(60)))
                    except subprocess.TimeoutExpired:
                        side.kill()
                        side_rc.append(side.wait())
        return cuts, side_rc

    def kill_one(self, c, srv, p, victim, ride, trig, off, how, what, cuts):
        if p.poll() is not None:
            self.note("%s: the sync ended (exit %d) before the kill %s" % (what, p.returncode, how))
            return
        npush, npull = srv.count(PUSH_LINE, off), srv.count(PULL_LINE, off)
        phase = "pull" if npull else "push"
        if victim == "client":
            p.kill()
            p.wait()
            cuts[phase] += 1
            self.note("%s: kill -9 of the client %s (%d pushes, %d pulls answered)"
                      % (what, how, npush, npull))
            return
        srv.kill9()
        cuts[phase] += 1
        left = self.leftovers(c, "http-tmp")
        self.note("%s: kill -9 of the server %s (%d pushes, %d pulls answered; "
                  "%d file(s) left in http-tmp)" % (what, how, npush, npull, len(left)))
        if not ride:
            try:
                rc = p.wait(self.slow(30))
            except subprocess.TimeoutExpired:
                rc = None
            with open(os.path.join(self.work, "logs", what.replace(" ", "-") + ".out"), "rb") as f:
                out = f.read().decode(errors="replace")
            self.ok(rc == 1 and '"ok": false' in out,
                    "%s: the client (--retries 0) whose server died exits 1, a network failure"
                    % what, "exit 1 with a failed report", "exit %s: %s" % (rc, out[-600:]))
            self.plant_and_restart(srv, c, what)
            return
        # The client retries while the server comes back on the same port.
        time.sleep(0.3)
        srv.start()
        off2 = srv.log_size()
        pulls = trig[2] if len(trig) > 2 else 0
        if not pulls:
            try:
                rc = p.wait(self.slow(60))
            except subprocess.TimeoutExpired:
                rc = None
                p.kill()
                p.wait()
            self.ok(rc == 0, "%s: the sync rode out the server's kill -9 with its retries "
                    "and finished (%d requests answered after the restart)"
                    % (what, srv.count(PUSH_LINE, off2) + srv.count(PULL_LINE, off2)),
                    "exit 0", "exit %s" % rc)
            return
        reached = self.wait_lines(srv, PULL_LINE, pulls, off2, p, self.slow(60))
        alive = p.poll() is None
        self.ok(reached and alive,
                "%s: the sync rode out the server's kill -9 with its retries and went on "
                "to pull (%d pushes after the restart)" % (what, srv.count(PUSH_LINE, off2)),
                "the same sync process pulling from the restarted server",
                "reached %s, exit %s" % (reached, p.returncode))
        if alive:
            time.sleep(self.rng.uniform(0, 0.03))
            p.kill()
            p.wait()
            cuts["pull"] += 1
            self.note("%s: then kill -9 of the client after %d pulls"
                      % (what, srv.count(PULL_LINE, off2)))

    def a_kill9(self):
        n = self.nrec
        m = max(1500, n // 6)
        c, t = self.pair("a-")
        big = self.generate("town", n, 7)
        back = self.generate("county", m, 8)
        self.must(t, "record", "import", "hazard", big)
        self.must(c, "record", "import", "hazard", back)
        srv = Server(self, c, free_port(), name="a-county").start()
        self.must(t, "peer", "set", COUNTY, "--url", srv.url())
        ntx = self.store(t, "SELECT count(*) FROM log")[0][0]
        self.note("a: 石潭镇 has %d hazards in %d txns to push, 湘潭县 %d for it to pull; "
                  "serving on port %d" % (n, ntx, m, srv.port))
        r = self.rng
        k = 15 if not self.sanitize else 5
        events = [
            ("client", "push", ("lines", r.randint(3, k))),
            ("server", "push", ("lines", r.randint(3, k))),
            ("client", "push", ("time", r.uniform(0.1, 0.5))),
            ("server-ride", "push", ("lines", r.randint(3, k), r.randint(1, 3))),
            ("server", "pull", ("lines", r.randint(1, 3))),
            ("client", "pull", ("lines", r.randint(1, 3))),
        ]
        t0 = time.monotonic()
        cuts, _ = self.kill_loop(c, t, srv, events, "a")
        self.ok(sum(cuts.values()) == 7 and cuts["push"] >= 3 and cuts["pull"] >= 3,
                "a: 7 kills -9 in 6 syncs cut them while running: %d while pushing, "
                "%d while pulling (%.1f s)" % (cuts["push"], cuts["pull"], time.monotonic() - t0),
                "7 kills, >= 3 each", dict(cuts))
        if not srv.alive():
            srv.start()
        self.note("%s: %d temporary bundle(s) of killed syncs before the next sync: %s"
                  % ("a", len(self.in_flight(t)), self.in_flight(t)[:4]))
        self.caught_up(t, "a")
        self.consistent(c, t, n + m, "a", full=False)
        self.no_client_leftovers(t, "a")

        # Clean stop, clean restart: nothing in http-tmp.
        rc, el = srv.stop()
        left = self.leftovers(c, "http-tmp")
        self.ok(rc == 0 and not left,
                "a: the server stops on SIGTERM (exit 0, %.1f s) leaving http-tmp empty" % el,
                "exit 0, no files", "exit %s, %s" % (rc, left))
        srv.start()
        left = self.leftovers(c, "http-tmp")
        self.ok(not left, "a: after a clean restart http-tmp holds no leftover file",
                "empty", left)

        # The reverse direction: the county writes for the township (record
        # import, a process of its own next to the server) while the
        # township pulls and is killed.
        w = max(2000, n // 4)
        chunks = self.split(self.generate("county2", w, 9), 9)
        for ch in chunks[:3]:  # a backlog to begin with
            self.must(c, "record", "import", "hazard", ch)

        def writer(i):
            return self.spawn([self.pingan, "--dir", self.dir(c), "--operator", "测试员",
                               "record", "import", "hazard", chunks[2 + i]],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        j = 3 if not self.sanitize else 2
        events = [
            ("client", "pull", ("lines", r.randint(1, j))),
            ("client", "pull", ("first", r.uniform(0.05, 0.3))),
            ("server", "pull", ("lines", r.randint(1, j))),
            ("client", "pull", ("lines", r.randint(1, j))),
            ("server-ride", "pull", ("lines", r.randint(1, j))),
            ("client", "pull", ("lines", r.randint(1, j))),
        ]
        t0 = time.monotonic()
        cuts, wrc = self.kill_loop(c, t, srv, events, "a-reverse", alongside=writer)
        self.ok(sum(cuts.values()) == 6 and cuts["pull"] >= 5,
                "a-reverse: 6 kills -9 cut syncs while they ran, %d while pulling (%.1f s)"
                % (cuts["pull"], time.monotonic() - t0), "6 kills, >= 5 pulling", dict(cuts))
        self.ok(wrc == [0] * 6,
                "a-reverse: the county's 6 record imports alongside the syncs all succeeded",
                "exit 0 each", wrc)
        if not srv.alive():
            srv.start()
        self.note("%s: %d temporary bundle(s) of killed syncs before the next sync: %s"
                  % ("a-reverse", len(self.in_flight(t)), self.in_flight(t)[:4]))
        self.caught_up(t, "a-reverse")
        self.consistent(c, t, n + m + w, "a-reverse", full=True)
        self.no_client_leftovers(t, "a-reverse")
        rc, el = srv.stop()
        self.ok(rc == 0 and not self.leftovers(c, "http-tmp"),
                "a-reverse: the server stops cleanly with http-tmp empty",
                "exit 0, empty", "exit %s, %s" % (rc, self.leftovers(c, "http-tmp")))

    def in_flight(self, t):
        """Temporary bundles of syncs in the township's directory."""
        return (self.leftovers(t, prefixes=("sync-push-", "sync-pull-"))
                + self.leftovers(t, "http-tmp", prefixes=("sync-push-", "sync-pull-")))

    def no_client_leftovers(self, t, what):
        """A sync keeps its bundles in flight as sync-push-PID-N.bundle and
        sync-pull-PID-N.bundle (DIR/http-tmp); a later sync removes those
        of a killed one."""
        left = []
        for sub in (None, "http-tmp"):
            left += [os.path.join(sub or ".", f) for f in
                     self.leftovers(t, sub, prefixes=("sync-push-", "sync-pull-"))]
        self.ok(not left, "%s: no temporary bundle of the killed syncs is left in the "
                "township's directory once a sync has completed" % what,
                "no sync-push-*/sync-pull-* file",
                "%d files, e.g. %s (%d bytes)" % (
                    len(left), left[:3],
                    sum(os.path.getsize(os.path.join(self.dir(t), f)) for f in left)))

    # ---- b. retries and backoff --------------------------------------------------

    def b_retry(self):
        c, t = self.small
        port = free_port()
        url = "http://127.0.0.1:%d" % port
        self.must(t, "peer", "set", COUNTY, "--url", url)
        rid = self.put(t, description="石潭镇集市临时摊位占用消防通道")
        rc, out, err, el = self.pg(t, "sync", COUNTY, "--retries", 2)
        self.ok(rc == 1, "b: a sync with the server down and --retries 2 exits 1",
                "exit 1", "exit %d" % rc, show=True)
        self.ok(0.5 < el < 30, "b: it backs off before giving up: %.2f s (> 0.5 s, < 30 s)" % el,
                "0.5 s < time < 30 s", "%.2f s" % el)
        self.ok(err.startswith("pingan: ") and "127.0.0.1:%d" % port in err
                and "connect" in err.lower(),
                "b: the error names the URL and the failed connection",
                "pingan: ... 127.0.0.1:%d ... connect" % port, err.strip())
        rc, rep, err, el = self.sync(t, COUNTY, "--retries", 1)
        self.ok(rc == 1 and rep and not rep["ok"] and rep["retries"] == 1 and rep["error"]
                and rep["pushed"]["txns"] == 0,
                "b: --json reports the failure, 1 retry and nothing pushed",
                "ok false, retries 1, an error", rep or err)
        srv = Server(self, c, port, name="b-county").start()
        try:
            rc, rep, err, el = self.sync(t, COUNTY, "--retries", 2)
            self.ok(rc == 0 and rep and rep["ok"] and rep["pushed"]["txns"] >= 1
                    and self.has(c, rid),
                    "b: with the server up the same sync succeeds and the record arrives",
                    "exit 0, the record at the county", "exit %d %s" % (rc, rep or err))
        finally:
            srv.stop()

    # ---- c. TLS ------------------------------------------------------------------

    def openssl(self, *args):
        p = subprocess.run(["openssl"] + list(args), cwd=self.tls, capture_output=True,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise Bail("openssl %s: %s" % (" ".join(args), p.stderr.decode(errors="replace")[:400]))

    def make_ca(self):
        self.tls = os.path.join(self.work, "tls")
        os.makedirs(self.tls, exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for name in ("ca", "other"):  # the real CA and an impostor of the same name
            self.openssl("req", "-x509", *ec, "-keyout", name + ".key", "-out", name + ".pem",
                         "-days", "2", "-subj", "/CN=pingan netfault test CA",
                         "-addext", "basicConstraints=critical,CA:TRUE",
                         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr",
                     "-subj", "/CN=127.0.0.1")
        with open(os.path.join(self.tls, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        self.openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
        return {k: os.path.join(self.tls, k) for k in
                ("ca.pem", "other.pem", "server.pem", "server.key")}

    def c_tls(self):
        c, t = self.small
        f = self.make_ca()
        srv = Server(self, c, 0, ["--tls-cert", f["server.pem"], "--tls-key", f["server.key"]],
                     name="c-county").start()
        try:
            self.ok(srv.scheme == "https", "c: the county serves https (%s)" % srv.url(),
                    "https", srv.scheme)
            self.must(t, "peer", "set", COUNTY, "--url", srv.url(), "--ca", f["ca.pem"])
            down = self.put(c, description="县应急局通报：石潭镇老街电线私拉乱接")
            up = self.put(t, description="石潭镇列家桥煤矿废弃井口围挡破损")
            rc, rep, err, el = self.sync(t, COUNTY, "--retries", 0)
            self.ok(rc == 0 and self.has(c, up) and self.has(t, down),
                    "c: over https with the pinned CA a sync goes both ways",
                    "exit 0, both records across", "exit %d %s" % (rc, rep and rep["error"] or err))

            held = self.put(t, description="石潭镇八角亭村山塘堤坝渗漏")
            before = self.j(c, "log", "--json")
            off = srv.log_size()
            self.must(t, "peer", "set", COUNTY, "--ca", f["other.pem"])
            rc, out, err, el = self.pg(t, "sync", COUNTY, "--retries", 0)
            self.ok(rc != 0 and "certificate" in err.lower(),
                    "c: with another CA file (same subject name) the sync fails (exit %d) "
                    "about the certificate" % rc,
                    "non-zero exit, 'certificate' in the error", "exit %d: %s" % (rc, err.strip()))
            self.ok(self.j(c, "log", "--json") == before and not self.has(c, held)
                    and "/v1/push" not in srv.log_since(off),
                    "c: ... and nothing was pushed", "the county's log unchanged, no push logged",
                    srv.log_since(off)[-500:])

            plain = "http://127.0.0.1:%d" % srv.port
            self.must(t, "peer", "set", COUNTY, "--url", plain, "--ca", "")
            rc, out, err, el = self.pg(t, "sync", COUNTY, "--retries", 0)
            self.ok(rc != 0 and not self.has(c, held) and self.j(c, "log", "--json") == before,
                    "c: a plain-http sync to the https port fails (exit %d) and pushes nothing" % rc,
                    "non-zero exit, nothing pushed", "exit %d: %s" % (rc, err.strip()))
            try:
                status, body = health(srv.port)
                raw = "HTTP %d %s" % (status, body)
            except (OSError, NoAnswer) as e:
                status, raw = None, "%s: %s" % (type(e).__name__, e)
            self.ok(status is None, "c: a plain HTTP request to the https port gets no answer (%s)"
                    % raw, "no HTTP answer", raw)

            self.must(t, "peer", "set", COUNTY, "--url", srv.url(), "--ca", f["ca.pem"])
            rc, rep, err, el = self.sync(t, COUNTY, "--retries", 0)
            self.ok(rc == 0 and self.has(c, held),
                    "c: with the right CA again the held-back record goes",
                    "exit 0, at the county", "exit %d %s" % (rc, rep and rep["error"] or err))
            self.ok(srv.alive(), "c: the https server survived the bad handshakes", "running", "exited")
        finally:
            srv.stop()

    # ---- d. --sync-every -----------------------------------------------------------

    def d_sync_every(self):
        c, t = self.small
        county = Server(self, c, free_port(), name="d-county").start()
        town = None
        try:
            self.must(t, "peer", "set", COUNTY, "--url", county.url(), "--ca", "")
            town = Server(self, t, 0, ["--sync-every", "1", "--bundle-max", "65536"],
                          name="d-town").start()
            first = self.put(t, description="石潭镇中学门口减速带损坏")
            took = self.wait_for("first", lambda: self.has(c, first), self.slow(15))
            self.ok(took is not None,
                    "d: a record written at the township reaches the county by the periodic "
                    "sync alone (%s)" % ("%.1f s" % took if took is not None else "never"),
                    "within %d s" % self.slow(15), "not there")

            rc, el = county.stop()
            off = town.log_size()
            second = self.put(t, description="石潭镇农贸市场燃气瓶违规存放")
            self.ok(True, "d: with the county stopped the township still takes local writes")
            failed = self.wait_for("failed", lambda: re.search(
                r"sync %s: failed" % COUNTY, town.log_since(off)), self.slow(15))
            self.ok(failed is not None, "d: the township logs a failed periodic sync (%s)"
                    % (failed is not None and "%.1f s" % failed or "none"),
                    "a 'sync %s: failed' line" % COUNTY, town.tail(5))
            try:
                status, body = health(town.port)
            except (OSError, NoAnswer) as e:
                status, body = None, str(e)
            self.ok(town.alive() and status == 200 and body.get("code") == TOWN,
                    "d: ... and keeps serving (health answers)", "200 with its code",
                    "%s %s" % (status, body))
            down = self.put(c, description="县里下发：石潭镇汛前隐患排查通知")
            county.start()
            took = self.wait_for("caught up", lambda: self.has(c, second) and self.has(t, down),
                                 self.slow(20))
            self.ok(took is not None,
                    "d: once the county is back, the next periodic sync carries the township's "
                    "write up and the county's down (%s)" % (
                        "%.1f s" % took if took is not None else "not within %d s" % self.slow(20)),
                    "both across", "county has it: %s, township has the county's: %s"
                    % (self.has(c, second), self.has(t, down)))
            rc, el = town.stop()
            town = None
            self.ok(rc == 0, "d: the syncing township stops on SIGTERM (exit %s, %.1f s)" % (rc, el),
                    "exit 0", rc)
        finally:
            if town:
                town.stop()
            county.stop()

    # ---- e. slow clients, connection limit -------------------------------------------

    def e_slow(self):
        c, t = self.small
        srv = Server(self, c, 0, ["--timeout", "2", "--request-max", "3"],
                     name="e-county").start()
        socks = []
        try:
            self.must(t, "peer", "set", COUNTY, "--url", srv.url(), "--ca", "")
            partial = socket.create_connection(("127.0.0.1", srv.port))
            socks.append(partial)
            partial.sendall(b"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            b"Content-Length: 100000\r\nX-Pingan-From: " + TOWN.encode() + b"\r\n")
            idle = socket.create_connection(("127.0.0.1", srv.port))
            socks.append(idle)
            t0 = time.monotonic()
            rid = self.put(t, description="石潭镇敬老院消防通道堵塞")
            rc, rep, err, el = self.sync(t, COUNTY, "--retries", 0)
            during = time.monotonic() - t0
            self.ok(rc == 0 and self.has(c, rid),
                    "e: while a slow client holds a half-sent request, a sync succeeds (%.2f s)" % el,
                    "exit 0", "exit %d %s" % (rc, rep and rep["error"] or err))
            rest = self.slow(6)
            tp = closed_within(partial, rest)
            tp_abs = time.monotonic() - t0 if tp is not None else None
            ti = closed_within(idle, 1.0 if tp is not None else rest)
            ti_abs = time.monotonic() - t0 if ti is not None else None
            self.ok(tp_abs is not None and 1.5 <= tp_abs <= 2 + self.slow(2),
                    "e: with --timeout 2 the server closes the half-sent request after about "
                    "2 s (%s)" % ("%.2f s" % tp_abs if tp_abs else "still open"),
                    "closed after 1.5-%d s" % (2 + self.slow(2)),
                    tp_abs and "%.2f s" % tp_abs or "open after %.1f s" % (time.monotonic() - t0))
            self.ok(ti_abs is not None and ti_abs <= 2 + self.slow(2) + 1,
                    "e: ... and a connection that sent nothing (%s)"
                    % ("%.2f s" % ti_abs if ti_abs else "still open"),
                    "closed", ti_abs)
            self.ok(during < (tp_abs or 99), "e: the sync did not wait for the slow client "
                    "(done at %.2f s, the slow one closed at %s)" % (during, tp_abs and "%.2f s" % tp_abs),
                    "sync done first", "sync at %.2f s" % during)

            # A byte every half second keeps a connection from being idle:
            # only --request-max ("cut a request that takes longer than this
            # to arrive") can end a request whose headers never finish.
            trickle = socket.create_connection(("127.0.0.1", srv.port))
            socks.append(trickle)
            trickle.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            t1 = time.monotonic()
            limit = 3 + 2 + self.slow(2)
            cut = None
            while cut is None and time.monotonic() - t1 < limit:
                if closed_within(trickle, 0.5) is not None:
                    cut = time.monotonic() - t1
                    break
                try:
                    trickle.sendall(b"a")
                except OSError:
                    cut = time.monotonic() - t1
            self.ok(cut is not None,
                    "e: headers trickled a byte every 0.5 s are cut by --request-max 3 (%s)"
                    % ("after %.1f s" % cut if cut is not None else "still open after %d s" % limit),
                    "the connection closed within %d s" % limit,
                    "open after %.1f s: any client can hold a connection, and --max-connections "
                    "of them hold the server, for as long as it likes" % (time.monotonic() - t1))
        finally:
            for s in socks:
                s.close()
            srv.stop()

        # More connections than --max-connections, idle timeout far away.
        srv = Server(self, c, 0, ["--max-connections", "4", "--timeout", "60"],
                     name="e-county-limit").start()
        socks = []
        try:
            socks = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(8)]
            time.sleep(0.3)
            closed = sum(1 for s in socks if closed_within(s, 0.3) is not None)
            held = 8 - closed
            self.ok(held <= 4 and closed >= 4,
                    "e: of 8 connections with --max-connections 4 the server holds %d and "
                    "closes %d" % (held, closed), "at most 4 held", "%d held" % held)
            try:
                status, body = health(srv.port, timeout=2)
            except (OSError, NoAnswer):
                status = None
            self.ok(status is None, "e: a health request beyond the limit is turned away",
                    "no answer", status)
            for s in socks:
                s.close()
            socks = []

            def answers():
                try:
                    return health(srv.port, timeout=2)[0] == 200
                except (OSError, NoAnswer):
                    return False

            took = self.wait_for("health", answers, self.slow(5), step=0.05)
            self.ok(took is not None,
                    "e: once they are closed the server answers health again (%s, the idle "
                    "timeout is 60 s)" % ("%.2f s" % took if took is not None else "never"),
                    "an answer within %d s" % self.slow(5), None)
            rid = self.put(t, description="石潭镇水库警示标志缺失")
            self.must(t, "peer", "set", COUNTY, "--url", srv.url())
            rc, rep, err, el = self.sync(t, COUNTY, "--retries", 2)
            self.ok(rc == 0 and self.has(c, rid), "e: ... and still syncs",
                    "exit 0", "exit %d %s" % (rc, rep and rep["error"] or err))
        finally:
            for s in socks:
                s.close()
            rc, el = srv.stop()
        self.ok(rc == 0, "e: the server stops cleanly after all that (exit %s)" % rc, "exit 0", rc)

    # ---- all -----------------------------------------------------------------------

    def run(self):
        t0 = time.monotonic()
        self.note("records: %d%s" % (self.nrec, " (sanitizer build: scaled down)"
                                     if self.sanitize else ""))
        sections = [("a", self.a_kill9), ("b", self.b_retry), ("c", self.c_tls),
                    ("d", self.d_sync_every), ("e", self.e_slow)]
        self.small = None
        for name, section in sections:
            if self.only and name not in self.only:
                continue
            t1 = time.monotonic()
            try:
                if name != "a" and self.small is None:
                    self.small = self.pair("s-")
                section()
            except Bail as e:
                self.ok(False, "%s: %s went through" % (name, section.__name__),
                        "every command as expected", str(e), show=True)
            self.note("%s: %.1f s" % (name, time.monotonic() - t1))
        self.note("total %.1f s" % (time.monotonic() - t0))


def is_sanitized(binary):
    if os.environ.get("PINGAN_SANITIZE", "") not in ("", "0", "OFF", "off"):
        return True
    try:
        with open(binary, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__ubsan_handle" in data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--gen")
    ap.add_argument("--work", required=True)
    ap.add_argument("--records", type=int, default=0,
                    help="the township's backlog (default 20000, 4000 under the sanitizers)")
    ap.add_argument("--sanitize", action="store_true",
                    help="scale for a sanitizer build (default: detected from the binary)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--only", help="run only these sections, e.g. b,e (by hand)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    a.sanitize = a.sanitize or is_sanitized(a.pingan)
    if not a.records:
        a.records = 4000 if a.sanitize else 20000
    nf = NetFault(a)
    # Stopped from outside: still kill every process started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        nf.run()
    finally:
        nf.cleanup()
    return 1 if nf.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
