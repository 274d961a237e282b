#!/usr/bin/env python3
"""A flood of hostile requests against `pingan serve` (tests/cli/hostile.sh,
DESIGN §8, §11).

The county 湘潭县 serves with --max-connections 12 and --max-body 1 MiB.
While six attacker threads send, as fast as they can, requests announcing
a 2 GB body, unsigned bodies of 3 MiB (Content-Length) and 8 MiB (chunked,
no length) actually streamed, unsigned pulls, bytes that are not HTTP and
health requests, and a seventh sends pushes of 16 MiB signed by 易俗河镇
(pingan-net-request, --net-request), its townships 石潭镇 (a backlog of
records to push) and 易俗河镇 sync with it.  Checked:
  - every attack is turned away: 413 for the announced and the streamed
    large bodies (or the connection closed on it), 401 for unsigned
    requests, 400 or a closed connection for junk; none gets a 2xx; the
    signed 16 MiB pushes get 413 (the body limit, not the signature);
  - both townships' syncs succeed meanwhile (with the client's retries),
    and the county holds all their records afterwards;
  - the server's memory stays bounded: its RSS grows over the flood (from
    the RSS measured just before it) by less than what it may hold by its
    limits, --max-connections x --max-body, plus 64 MiB for the syncs'
    own work (SQLite's cache, a bundle being merged); a server that kept
    the bodies it refuses would pass that in a fraction of a second.
    Under the sanitizers the bound is 4 times that plus 256 MiB:
    AddressSanitizer keeps freed blocks in its quarantine (256 MiB by
    default) and pads every block, so RSS there measures its allocator
    more than the server.  It answers health after the flood;
  - `pingan status --json` counts the refused HTTP requests and names the
    latest; the human status says so;
  - SIGTERM stops it cleanly.

  flood.py --pingan BIN --net-request BIN [--gen BIN] --work DIR
           [--sanitize] [--verbose]
"""

import argparse
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from checks import Bail  # noqa: E402
from netfault import COUNTY, TOWN, NetFault, Server, health, is_sanitized  # noqa: E402

TOWN2 = "430321100000"  # 易俗河镇
MAX_BODY = 1 << 20
MAX_CONNECTIONS = 12
SIGNED_BODY = 16 << 20  # a signed push 16 times --max-body
SLACK_KB = 64 * 1024  # the syncs' own work


def request(port, data, send_body=0, timeout=5.0, chunked=False):
    """Send data (and then send_body bytes of filler, in pieces, as HTTP
    chunks when chunked); the HTTP status answered, or a string saying how
    the connection ended."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return "connect: %s" % e.__class__.__name__
    try:
        s.sendall(data)
        chunk = b"x" * 65536
        if chunked:
            chunk = b"10000\r\n" + chunk + b"\r\n"
        sent = 0
        while sent < send_body:
            s.sendall(chunk)
            sent += 65536
        if chunked:
            s.sendall(b"0\r\n\r\n")
        head = b""
        while b"\r\n" not in head:
            d = s.recv(4096)
            if not d:
                break
            head += d
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
        return int(m.group(1)) if m else "closed"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error: %s" % e.__class__.__name__
    finally:
        s.close()


ATTACKS = {
    "announced 2 GB": lambda: (b"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"Content-Type: application/octet-stream\r\n"
                               b"Content-Length: 2000000000\r\n\r\n", 0),
    "streamed 3 MiB": lambda: (b"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"Content-Type: application/octet-stream\r\n"
                               b"Content-Length: 3145728\r\n\r\n", 3145728),
    "chunked 8 MiB": lambda: (b"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Content-Type: application/octet-stream\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n", 8 << 20),
    "unsigned pull": lambda: (b"GET /v1/pull?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n", 0),
    "junk": lambda: (b"\x16\x03\x01\x02\x00 NOT HTTP AT ALL \xff\xfe\r\n\r\n", 0),
    "health": lambda: (b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Connection: close\r\n\r\n", 0),
}
# A connection the server drops at its --max-connections limit is that
# limit holding, whatever the request ("closed", "reset"); the kinds that
# must be answered on their headers must mostly get an HTTP status
# (ANSWERED below).
ALLOWED = {
    "announced 2 GB": {413, 401, "closed", "reset"},
    "streamed 3 MiB": {413, 401, "closed", "reset"},
    "chunked 8 MiB": {413, 401, "closed", "reset"},
    "unsigned pull": {401, "closed", "reset"},
    "junk": {400, "closed", "reset"},
    "health": {200, "closed", "reset"},
}
ANSWERED = 0.95


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Flood(NetFault):
    def __init__(self, a):
        a.records = 3000 if not a.sanitize else 1000
        a.only = None
        a.seed = 20261127
        super().__init__(a)
        self.net_request = os.path.abspath(a.net_request)

    def run(self):
        c, t = self.pair("")
        t2 = "town2"
        self.must(t2, "init", "--code", TOWN2, "--name", "易俗河镇")
        cc = os.path.join(self.work, "data", c + ".card")
        t2c = os.path.join(self.work, "data", t2 + ".card")
        self.must(t2, "card", "--out", t2c)
        self.must(c, "peer", "add", "--card", t2c, "--role", "child")
        self.must(t2, "peer", "add", "--card", cc, "--role", "parent")
        self.must(t, "record", "import", "hazard", self.generate("backlog", self.nrec, 5))
        self.must(t2, "record", "put", "hazard", "division=430321100001",
                  "category=公共安全风险", "description=易俗河镇的隐患")
        srv = Server(self, c, extra=["--max-connections", str(MAX_CONNECTIONS),
                                     "--max-body", str(MAX_BODY),
                                     "--timeout", "5", "--request-max", "10"]).start()
        for n in (t, t2):
            self.must(n, "peer", "set", COUNTY, "--url", srv.url())
        before = self.j(c, "status", "--json")["rejected_last_day"]["total"]
        os.makedirs(os.path.join(self.work, "data"), exist_ok=True)
        big = os.path.join(self.work, "data", "big.body")
        with open(big, "wb") as f:
            f.write(os.urandom(SIGNED_BODY))
        signed = collections.Counter()
        # The server has served a health request and a status ran: its
        # RSS now is what it holds at rest.
        health(srv.port)
        base = rss_kb(srv.proc.pid)
        bound = MAX_CONNECTIONS * MAX_BODY // 1024 + SLACK_KB
        if self.sanitize:
            bound = 4 * bound + 256 * 1024

        stop = threading.Event()
        outcomes = collections.defaultdict(collections.Counter)
        lock = threading.Lock()
        peak = [0]

        def attacker(k):
            kinds = list(ATTACKS)
            i = k
            while not stop.is_set():
                kind = kinds[i % len(kinds)]
                i += 1
                data, body = ATTACKS[kind]()
                got = request(srv.port, data, body, chunked=kind.startswith("chunked"))
                with lock:
                    outcomes[kind][got] += 1

        def signer():
            # 易俗河镇's key signs a push 16 times --max-body.
            while not stop.is_set():
                try:
                    p = subprocess.run([self.net_request, "--dir", self.dir(t2), "--to", COUNTY,
                                        "--method", "POST", "--body", big, srv.url(),
                                        "/v1/push"],
                                       cwd=self.work, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       timeout=self.slow(60))
                except subprocess.TimeoutExpired:
                    with lock:
                        signed["hung"] += 1
                    continue
                m = re.match(rb"HTTP (\d{3})", p.stdout)
                got = int(m.group(1)) if p.returncode == 0 and m else (
                    "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[:200]))
                with lock:
                    signed[got] += 1

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kb(srv.proc.pid))
                time.sleep(0.05)

        threads = [threading.Thread(target=attacker, args=(k,)) for k in range(6)]
        threads.append(threading.Thread(target=signer))
        threads.append(threading.Thread(target=watch))
        for th in threads:
            th.start()
        try:
            time.sleep(0.5)  # the flood is on before the peers come
            r1 = self.sync(t, COUNTY, "--retries", "8", timeout=self.slow(240))
            r2 = self.sync(t2, COUNTY, "--retries", "8", timeout=self.slow(240))
        finally:
            stop.set()
            for th in threads:
                th.join(60)
        total = sum(sum(v.values()) for v in outcomes.values())
        self.note("the flood: %d requests; %s" % (total, "; ".join(
            "%s: %s" % (k, dict(v)) for k, v in sorted(outcomes.items()))))
        for name, (rc, rep, err, el) in (("石潭镇", r1), ("易俗河镇", r2)):
            self.ok(rc == 0 and rep and rep["ok"],
                    "%s syncs during the flood (%.1f s, %d requests, %d retries)"
                    % (name, el, rep["requests"] if rep else 0, rep["retries"] if rep else 0),
                    "exit 0", "exit %d: %s" % (rc, (rep and rep["error"]) or err.strip()[:300]))
        self.ok(total >= 60, "the flood sent %d requests while the peers synced" % total,
                "at least 60", total)
        for kind, allowed in ALLOWED.items():
            got = outcomes.get(kind, collections.Counter())
            bad = {k: v for k, v in got.items() if k not in allowed}
            self.ok(sum(got.values()) > 0 and not bad,
                    "%s: every request turned away as it should (%s)" % (kind, dict(got)),
                    "only %s" % sorted(map(str, allowed)), bad or "none sent")
        # An unsigned push is refused on its headers (401), before its body;
        # a signed one over --max-body gets 413: cli.http.
        for kind, what in (("announced 2 GB", "a 2 GB push is answered without its body "
                                              "being sent"),
                           ("unsigned pull", "unsigned pulls are answered 401"),
                           ("health", "health is answered during the flood")):
            got = outcomes[kind]
            answered = sum(v for k, v in got.items() if isinstance(k, int))
            self.ok(sum(got.values()) > 0 and answered >= ANSWERED * sum(got.values()),
                    "%s (%d of %d)" % (what, answered, sum(got.values())),
                    "an HTTP status for %d%% at least" % (ANSWERED * 100), dict(got))
        self.ok(sum(signed.values()) > 0 and set(signed) == {413},
                "signed pushes of %d MiB (%d MiB over --max-body) are refused by the body "
                "limit: %s" % (SIGNED_BODY >> 20, (SIGNED_BODY - MAX_BODY) >> 20, dict(signed)),
                "413 each", dict(signed) or "none sent")
        grew = peak[0] - base
        self.note("server RSS: %d MiB before the flood, peak %d MiB, grew %d MiB (bound %d MiB)"
                  % (base // 1024, peak[0] // 1024, grew // 1024, bound // 1024))
        self.ok(base > 0 and peak[0] > 0 and grew < bound,
                "the server's memory stays bounded under the flood (RSS grew %d MiB, from %d MiB)"
                % (grew // 1024, base // 1024),
                "under %d MiB (%d connections x %d MiB + %d MiB%s)"
                % (bound // 1024, MAX_CONNECTIONS, MAX_BODY >> 20, SLACK_KB // 1024,
                   ", x4 + 256 MiB under the sanitizers" if self.sanitize else ""),
                "%d KiB" % grew)
        code, _ = health(srv.port)
        self.ok(code == 200, "the server answers health after the flood", 200, code)
        n = self.store(c, "SELECT count(*) FROM hazard WHERE id LIKE '%s-%%'" % TOWN)[0][0]
        self.ok(n == self.nrec, "the county holds all %d of 石潭镇's records" % self.nrec,
                self.nrec, n)
        n = self.store(c, "SELECT count(*) FROM hazard WHERE id LIKE '%s-%%'" % TOWN2)[0][0]
        self.ok(n == 1, "and 易俗河镇's record", 1, n)
        st = self.j(c, "status", "--json")["rejected_last_day"]
        self.ok(st["total"] > before and st["by_source"].get("http", 0) > 0 and st["last"],
                "status counts the refused requests (%d in the last day, by source %s)"
                % (st["total"], st["by_source"]), "more than %d, from http" % before, st)
        human = self.must(c, "status")
        self.ok(re.search(r"(?m)^rejected +\d+ in the last 24 h: \d+ http", human) is not None,
                "the human status says how many HTTP requests were refused",
                "rejected N in the last 24 h: M http", human[-400:])
        rc, took = srv.stop()
        self.ok(rc == 0, "SIGTERM stops the server (exit 0, %.1f s)" % took, 0, rc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--gen")
    ap.add_argument("--net-request", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    a.sanitize = a.sanitize or is_sanitized(a.pingan)
    fl = Flood(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        fl.run()
    except Bail as e:
        fl.ok(False, "the flood went through", "every command as expected", str(e), show=True)
    finally:
        fl.cleanup()
    return 1 if fl.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
