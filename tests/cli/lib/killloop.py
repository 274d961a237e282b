#!/usr/bin/env python3
"""Kill loops for tests/cli/killloop.sh and tools/bench --only kill
(DESIGN §3, §4, §8).

Real processes are cut with SIGKILL at random moments, from a fixed seed,
and after each kill the stores are checked:

  put:    `pingan record put` one record at a time.  The driver is the
          writer: it notes each put that exited 0 (in DIR/acked) before it
          starts the next; each put is killed at a random moment within
          about its own running time.
  import: `pingan record import` of a few hundred records (one SQLite
          transaction), killed within about its running time.
  bundle: `pingan import` of a bundle of a few hundred records, killed
          the same way; the node is then exactly as before the import or
          exactly as after it (log, records, cursor), and is put back when
          after.
  sync:   `pingan sync` over HTTP between 石潭镇 and its county's `pingan
          serve`; before each sync the township imports a chunk of records
          and the county writes one for the township; then the client or
          the server (in turn) is killed within about the sync's running
          time, and a killed server is restarted on a port the system
          picks (never the old one, which may be taken by then).  The
          township reaches the server through a relay of this driver
          (bound once, on a port of its own), which is pointed at each new
          server and sees every request: a kill of the server counts as a
          cut only when the server had been handed a request whose whole
          answer never came back.

After every kill, on every store involved:
  - `PRAGMA integrity_check` says ok (the store opened read-write, as the
    next pingan would);
  - every write that returned success is there (put ids, import counts);
  - no half-applied write or bundle: the field versions the hazard rows
    hold are exactly the changes of the log's hazard txns (records are only
    created here, so each set field is one change), and the
    log holds each origin's seqs 1..max without a gap or a repeat (a cut
    sync never makes a cursor skip data);
At the end of the sync loop an uninterrupted sync leaves both sides with
exactly the same records and txns (the netfault consistency check), and a
further sync moves nothing.

Each phase also reports how many kills cut a running process (the rest
found it finished) and asserts that at least a third did, so the moments
are not all too late.  A process counts as cut only when it died of the
SIGKILL (one that finished between the last look and the kill is counted
by its own exit status, its write acknowledged when it succeeded); a
server only when it was inside a request, as said above.

  killloop.py --pingan BIN [--gen BIN] --work DIR [--kills N] [--seed S]
              [--only put,import,bundle,sync] [--sanitize] [--verbose]

--kills is the total, shared out among the phases (default 40, 16 in a
sanitizer build).  Prints "ok - " / "not ok - " lines and "# " notes, and a
last "# figures:" line with the counts and times.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from checks import Bail  # noqa: E402
from netfault import COMMUNITY, COUNTY, TOWN, NetFault, Server, is_sanitized  # noqa: E402


# Bytes of one field's version in a row's `_v` (node/store.h): the records
# here are only created, so each field set is one change of one log txn.
VERSION_ENTRY = 17


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


class Answers:
    """Reads one HTTP/1.1 response stream, server to client, and counts
    the whole final answers in it (1xx answers are not final; a body is
    Content-Length bytes or chunked; without either it ends with the
    connection)."""

    def __init__(self):
        self.buf = b""
        self.left = None  # body bytes still due; None: in the headers
        self.chunked = False
        self.done = 0

    def feed(self, data):
        self.buf += data
        while True:
            if self.left is None:
                head, sep, rest = self.buf.partition(b"\r\n\r\n")
                if not sep:
                    return
                lines = head.split(b"\r\n")
                status = int(lines[0].split()[1])
                hdr = {}
                for ln in lines[1:]:
                    k, _, v = ln.partition(b":")
                    hdr[k.strip().lower()] = v.strip().lower()
                self.buf = rest
                if 100 <= status < 200:
                    continue
                self.chunked = b"chunked" in hdr.get(b"transfer-encoding", b"")
                if self.chunked:
                    self.left = -1
                elif b"content-length" in hdr:
                    self.left = int(hdr[b"content-length"])
                elif status in (204, 304):
                    self.left = 0
                else:
                    self.left = -2  # to the end of the connection
            if self.left == -1:
                end = self.buf.find(b"\r\n0\r\n\r\n")
                if end < 0 and self.buf.startswith(b"0\r\n\r\n"):
                    end = -2
                if end == -1:
                    return
                self.buf = self.buf[end + 7:]
            elif self.left == -2:
                self.buf = b""
                return
            else:
                take = min(self.left, len(self.buf))
                self.left -= take
                self.buf = self.buf[take:]
                if self.left:
                    return
            self.left = None
            self.done += 1

    def eof(self):
        if self.left == -2:
            self.left = None
            self.done += 1


class Relay:
    """TCP between the sync client and `pingan serve` on 127.0.0.1, bound
    once on a port of its own and pointed at the server of the moment.
    For each connection it knows how many requests it handed the server
    (a request counts from its first byte written to the server) and how
    many whole answers came back, so it can tell whether a kill of the
    server cut a request."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.upstream = None
        self.lock = threading.Lock()
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            conn = {"c": c, "u": u, "asked": 0, "answers": Answers(),
                    "closed": threading.Event(), "between": True}
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self.up, args=(conn,), daemon=True).start()
            threading.Thread(target=self.down, args=(conn,), daemon=True).start()

    def up(self, conn):
        """Client to server; the client sends a request only once the last
        one is answered (no pipelining), so bytes after an answer start
        the next request."""
        try:
            while True:
                d = conn["c"].recv(65536)
                if not d:
                    break
                if conn["between"]:
                    # The first byte under the lock, so that a kill sees
                    # the request either not begun or handed over; the
                    # rest outside it (a server that stops reading must
                    # not block the kill).
                    with self.lock:
                        conn["u"].sendall(d[:1])
                        conn["asked"] += 1
                        conn["between"] = False
                    d = d[1:]
                conn["u"].sendall(d)
        except OSError:
            pass
        try:
            conn["u"].shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def down(self, conn):
        try:
            while True:
                d = conn["u"].recv(65536)
                if not d:
                    break
                with self.lock:
                    a = conn["answers"]
                    before = a.done
                    a.feed(d)
                    if a.done > before:
                        conn["between"] = True
                conn["c"].sendall(d)
        except OSError:
            pass
        with self.lock:
            conn["answers"].eof()
        for k in ("c", "u"):
            try:  # shutdown first: it wakes up() blocked in recv
                conn[k].shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn[k].close()
        conn["closed"].set()

    def busy(self):
        """The server holds a request it has not answered in full."""
        with self.lock:
            return any(c["asked"] > c["answers"].done for c in self.conns
                       if not c["closed"].is_set())

    def kill_server(self, srv, drain):
        """SIGKILL the server: True when it held a request it had not
        answered in full.  What it had already written is read to the end
        (up to drain seconds) before that is decided."""
        with self.lock:
            held = [(c, c["asked"], c["answers"].done) for c in self.conns
                    if c["asked"] > c["answers"].done]
            srv.kill9()
        for c, _, _ in held:
            c["closed"].wait(drain)
        with self.lock:
            self.conns = [c for c in self.conns if not c["closed"].is_set()]
        return any(c["answers"].done < asked for c, asked, _ in held)

    def close(self):
        self.lsock.close()


class KillLoop(NetFault):
    def __init__(self, a):
        a.records = 0
        a.only = None
        super().__init__(a)
        self.kills = a.kills
        self.phases = a.phases
        self.figures = {}
        self.acked = open(os.path.join(self.work, "acked"), "a")

    # ---- the checks after a kill ----------------------------------------------

    def db(self, node):
        return sqlite3.connect(os.path.join(self.dir(node), "store.db"), timeout=30)

    def sound(self, node, what, acked_ids=(), min_rows=0):
        """The checks after a kill on one node; True when all passed (a
        passing kill prints one line, a failing one says what broke)."""
        db = self.db(node)
        try:
            integ = db.execute("PRAGMA integrity_check").fetchall()
            rows, fields = db.execute("SELECT count(*), coalesce(sum(length(_v)), 0) / %d "
                                      "FROM hazard" % VERSION_ENTRY).fetchone()
            made = db.execute("SELECT coalesce(sum(nchanges), 0) FROM log "
                              "WHERE collection = 'hazard'").fetchone()[0]
            per = db.execute("SELECT origin, count(*), count(DISTINCT origin_seq), "
                             "min(origin_seq), max(origin_seq) FROM log "
                             "GROUP BY origin").fetchall()
            missing = []
            for rid in acked_ids:
                if not db.execute("SELECT 1 FROM hazard WHERE id = ?", (rid,)).fetchone():
                    missing.append(rid)
        finally:
            db.close()
        bad = []
        if integ != [("ok",)]:
            bad.append("integrity_check: %s" % integ[:3])
        if missing:
            bad.append("%d acknowledged writes missing, e.g. %s" % (len(missing), missing[:2]))
        if rows < min_rows:
            bad.append("%d hazards, fewer than the %d acknowledged" % (rows, min_rows))
        if fields != made:
            bad.append("the hazard rows hold %d field versions but the log's hazard txns "
                       "made %d changes" % (fields, made))
        gaps = [(o, n, d, lo, hi) for o, n, d, lo, hi in per if not (n == d and lo == 1 and hi == n)]
        if gaps:
            bad.append("log not 1..max once per origin: %s" % gaps[:3])
        return self.ok(not bad, "%s: integrity ok, %d hazards, all acknowledged writes there, "
                       "log whole" % (what, rows), "all sound", "; ".join(bad))

    def kill_at(self, cmd, delay, log):
        """Run cmd, SIGKILL it after delay seconds: (exit status or None
        when killed, stdout, seconds it ran)."""
        with open(log, "wb") as err:
            p = self.spawn(cmd, stdout=subprocess.PIPE, stderr=err)
        t0 = time.monotonic()
        deadline = t0 + delay
        while p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.0005)
        if p.poll() is None:
            p.kill()
        out = p.stdout.read().decode(errors="replace")
        p.wait()
        p.stdout.close()
        # It may have finished between the last poll and the kill: then
        # its own exit status (and output) count, not the kill.
        cut = p.returncode == -signal.SIGKILL
        return (None if cut else p.returncode), out, time.monotonic() - t0

    def timed(self, cmd):
        t0 = time.monotonic()
        p = subprocess.run(cmd, cwd=self.work, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise Bail("%s: exit %d: %s" % (" ".join(cmd[1:]), p.returncode,
                                             p.stderr.decode(errors="replace")[:300]))
        return time.monotonic() - t0, p.stdout.decode(errors="replace")

    def cuts_ok(self, phase, cut, n):
        self.figures[phase + "_kills"] = n
        self.figures[phase + "_cut"] = cut
        self.ok(n == 0 or cut * 3 >= n, "%s: %d of %d kills cut a running process" % (phase, cut, n),
                "at least a third", cut)

    def ack(self, what):
        self.acked.write(what + "\n")
        self.acked.flush()
        os.fsync(self.acked.fileno())

    # ---- put ------------------------------------------------------------------------

    def put_cmd(self, node, i):
        return [self.pingan, "--dir", self.dir(node), "--operator", "测试员", "record", "put",
                "hazard", "--json", "division=" + COMMUNITY, "category=公共安全风险",
                "description=第%d号隐患：楼道堆放杂物" % i]

    def phase_put(self, n):
        node = "put"
        os.makedirs(os.path.join(self.work, "nodes"), exist_ok=True)
        self.must(node, "init", "--code", TOWN, "--name", "石潭镇")
        times = [self.timed(self.put_cmd(node, i))[0] for i in range(5)]
        acked = [r[0] for r in self.store(node, "SELECT id FROM hazard")]
        typical = median(times)
        cut = 0
        for k in range(n):
            rc, out, ran = self.kill_at(self.put_cmd(node, 100 + k),
                                        self.rng.uniform(0, 1.2 * typical),
                                        os.path.join(self.work, "logs", "put.err"))
            if rc is None:
                cut += 1
            elif rc == 0:
                rid = json.loads(out)["id"]
                self.ack("put " + rid)
                acked.append(rid)
            else:
                self.ok(False, "put %d: exited %d without being killed" % (k, rc))
            if not self.sound(node, "put kill %d (%s)" % (k + 1, "cut" if rc is None else "done"),
                              acked):
                break
        self.note("put: %d acknowledged, a put takes %.0f ms" % (len(acked), typical * 1000))
        self.figures["put_ms"] = round(typical * 1000, 1)
        self.cuts_ok("put", cut, n)

    # ---- record import --------------------------------------------------------------

    def phase_import(self, n):
        node = "imp"
        self.must(node, "init", "--code", TOWN, "--name", "石潭镇")
        per = 400 if not self.sanitize else 150
        path = self.generate("imp", per, 11)
        cmd = [self.pingan, "--dir", self.dir(node), "--operator", "测试员", "record", "import",
               "hazard", path]
        typical, _ = self.timed(cmd)
        acked = per
        cut = 0
        for k in range(n):
            before = self.store(node, "SELECT count(*) FROM hazard")[0][0]
            rc, _, _ = self.kill_at(cmd, self.rng.uniform(0.02, 1.1) * typical,
                                    os.path.join(self.work, "logs", "imp.err"))
            if rc is None:
                cut += 1
            elif rc == 0:
                acked += per
                self.ack("import %d" % per)
            else:
                self.ok(False, "import %d: exited %d without being killed" % (k, rc))
            after = self.store(node, "SELECT count(*) FROM hazard")[0][0]
            self.ok(after in (before, before + per) and (rc is None or after == before + per),
                    "import kill %d: all %d records or none (%d -> %d)" % (k + 1, per, before, after),
                    "%d or %d" % (before, before + per), after)
            if not self.sound(node, "import kill %d" % (k + 1), min_rows=acked):
                break
        self.note("import: %d records take %.0f ms" % (per, typical * 1000))
        self.figures["import_ms"] = round(typical * 1000, 1)
        self.cuts_ok("import", cut, n)

    # ---- bundle import -------------------------------------------------------------

    def bundle_state(self, node):
        return (self.store(node, "SELECT count(*), coalesce(max(seq), 0) FROM log")[0],
                self.store(node, "SELECT count(*) FROM hazard")[0][0],
                self.store(node, "SELECT received_upto FROM peer WHERE code = '%s'" % COUNTY))

    def phase_bundle(self, n):
        c, t = self.pair("b")
        per = 600 if not self.sanitize else 200
        self.must(c, "record", "import", "hazard", self.generate("bundle", per, 12))
        pgb = os.path.join(self.work, "data", "big.pgb")
        self.must(c, "export", "--to", TOWN, "--out", pgb)
        pristine = self.dir(t) + ".pristine"
        shutil.copytree(self.dir(t), pristine)
        before = self.bundle_state(t)
        ref = self.dir(t) + ".ref"
        shutil.copytree(self.dir(t), ref)
        typical, _ = self.timed([self.pingan, "--dir", ref, "import", pgb])
        shutil.rmtree(self.dir(t))
        shutil.copytree(ref, self.dir(t))
        after = self.bundle_state(t)
        shutil.rmtree(self.dir(t))
        shutil.copytree(pristine, self.dir(t))
        cut = 0
        for k in range(n):
            rc, _, _ = self.kill_at([self.pingan, "--dir", self.dir(t), "import", pgb],
                                    self.rng.uniform(0.02, 1.1) * typical,
                                    os.path.join(self.work, "logs", "bundle.err"))
            if rc is None:
                cut += 1
            now = self.bundle_state(t)
            self.ok(now in (before, after) and (rc is None or now == after),
                    "bundle kill %d: exactly as before or as after the import (%s)"
                    % (k + 1, "before" if now == before else "after" if now == after else "neither"),
                    "%s or %s" % (before, after), now)
            self.sound(t, "bundle kill %d" % (k + 1))
            if now != before:
                shutil.rmtree(self.dir(t))
                shutil.copytree(pristine, self.dir(t))
        self.note("bundle: %d records import in %.0f ms" % (per, typical * 1000))
        self.figures["bundle_ms"] = round(typical * 1000, 1)
        self.cuts_ok("bundle", cut, n)

    # ---- HTTP sync -------------------------------------------------------------------

    def sync_cmd(self, t):
        return [self.pingan, "--dir", self.dir(t), "--operator", "测试员", "sync", COUNTY,
                "--json", "--bundle-max", "65536", "--retries", "0",
                "--timeout", str(int(self.slow(10)))]

    def phase_sync(self, n):
        c, t = self.pair("s")
        srv = Server(self, c).start()
        relay = Relay()
        relay.upstream = srv.port
        self.must(t, "peer", "set", COUNTY, "--url", relay.url())
        chunk = 600 if not self.sanitize else 150
        chunks = self.split(self.generate("sync", chunk * (n + 1), 13), n + 1)
        acked_t, acked_c = set(), []

        def more(i):
            self.must(t, "record", "import", "hazard", chunks[i])
            acked_c.append(self.put(c, description="县里第%d号隐患" % i))
            acked_t.update(r[0] for r in self.store(t, "SELECT id FROM hazard"))

        more(0)
        typical, _ = self.timed(self.sync_cmd(t))
        cut = server_cut = 0

        def restart():
            # A new port: the old one may be another process's by now.
            srv.start_anywhere()
            relay.upstream = srv.port

        for k in range(n):
            more(k + 1)
            if not srv.alive():
                restart()
            victim = "client" if k % 2 == 0 else "server"
            delay = self.rng.uniform(0.02, 1.1) * typical
            p = self.spawn(self.sync_cmd(t), stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(self.work, "logs", "sync.err"), "ab"))
            t0 = time.monotonic()
            while p.poll() is None and time.monotonic() - t0 < delay:
                time.sleep(0.0005)
            if victim == "client":
                if p.poll() is None:
                    p.kill()
                rc = p.wait()
                running = rc == -signal.SIGKILL
                if not running and rc != 0:
                    self.ok(False, "sync %d: exited %d before the kill" % (k + 1, rc))
            else:
                # The server is idle while the client works on its own:
                # from the random moment on, wait (a little) for it to be
                # handed a request.  A cut only when it was inside one.
                t1 = time.monotonic()
                while (p.poll() is None and not relay.busy()
                       and time.monotonic() - t1 < 0.5 * typical):
                    time.sleep(0.0005)
                running = relay.kill_server(srv, self.slow(2))
                server_cut += running
                rc = p.wait()
                if rc not in (0, 1):
                    self.ok(False, "sync %d: exited %d when its server was killed" % (k + 1, rc))
            cut += running
            what = "sync kill %d (%s%s)" % (k + 1, victim, "" if running else ", idle")
            self.sound(t, what + " township", acked_t)
            self.sound(c, what + " county", acked_c)
        if not srv.alive():
            restart()
        self.figures["sync_server_cut"] = server_cut
        self.cuts_ok("sync_server", server_cut, n // 2)
        self.caught_up(t, "after the sync kills")
        nexpect = len(self.store(t, "SELECT id FROM hazard"))
        self.consistent(c, t, nexpect, "after the sync kills", False)
        self.note("sync: a chunk's sync takes %.0f ms" % (typical * 1000))
        self.figures["sync_ms"] = round(typical * 1000, 1)
        self.cuts_ok("sync", cut, n)
        srv.stop()
        relay.close()

    def run(self):
        weights = {"put": 4, "import": 2, "bundle": 2, "sync": 4}
        chosen = [p for p in ("put", "import", "bundle", "sync") if p in self.phases]
        total = sum(weights[p] for p in chosen)
        t0 = time.monotonic()
        for p in chosen:
            n = max(2, self.kills * weights[p] // total)
            t1 = time.monotonic()
            try:
                getattr(self, "phase_" + p)(n)
            except Bail as e:
                self.ok(False, "%s: went through" % p, "every command as expected", str(e), show=True)
            self.figures[p + "_s"] = round(time.monotonic() - t1, 1)
            self.note("%s: %d kills in %.1f s" % (p, n, time.monotonic() - t1))
        self.figures["total_s"] = round(time.monotonic() - t0, 1)
        self.note("figures: " + json.dumps(self.figures, sort_keys=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--gen")
    ap.add_argument("--work", required=True)
    ap.add_argument("--kills", type=int, default=0,
                    help="kills in all (default 40, 16 under the sanitizers)")
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--only", dest="phases", default="put,import,bundle,sync")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    a.sanitize = a.sanitize or is_sanitized(a.pingan)
    if not a.kills:
        a.kills = 16 if a.sanitize else 40
    a.phases = set(a.phases.split(","))
    kl = KillLoop(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        kl.run()
    finally:
        kl.cleanup()
    return 1 if kl.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
