#!/usr/bin/env python3
"""Sync over HTTP on loopback, against the same records moved as a file.

A township (雨湖路街道 430302001000) holds N dispute records it wrote
itself; its county (雨湖区 430302000000) runs 'pingan serve'.  Each run
takes fresh copies of the same two nodes twice:

  file: pingan export --to 430302 on the township, pingan import on the
        county (the baseline);
  sync: pingan sync 430302 --json on the township against the county's
        server (push, then pull until caught up).

The two kinds alternate in order from run to run; medians.  Then, on the
last synced pair, K syncs with nothing to send: the wall time of the
process and the elapsed_ms it reports itself, medians.  Bytes on the wire
are counted by a TCP relay between the two in a separate, untimed sync of
another fresh copy (TCP payload: HTTP headers and bodies, both ways).

  bench_net.py --pingan PATH --gen PATH --work DIR [--records N] [--runs R]
               [--syncs K] [--bundle-max BYTES]
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchnode import Server, count, die, fresh, path, pct  # noqa: E402
import benchnode  # noqa: E402

TOWN, TOWN_NAME = "430302001000", "雨湖路街道"
COUNTY, COUNTY_NAME = "430302000000", "雨湖区"

args = None


def pg(node, *argv):
    """pingan --dir NODE ARGV...: (stdout, wall seconds)."""
    return benchnode.pg(node, *argv)[:2]


def run(*argv):
    """Run a command, fail loudly: (stdout, wall seconds)."""
    return benchnode.run(*argv)[:2]


class Relay:
    """A TCP relay to 127.0.0.1:port that counts the bytes each way."""

    def __init__(self, port):
        self.up = port
        self.sent = 0      # client to server
        self.received = 0  # server to client
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.up))
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.pump, args=(c, s, True),
                             daemon=True).start()
            threading.Thread(target=self.pump, args=(s, c, False),
                             daemon=True).start()

    def pump(self, a, b, upward):
        try:
            while True:
                data = a.recv(1 << 16)
                if not data:
                    break
                b.sendall(data)
                with self.lock:
                    if upward:
                        self.sent += len(data)
                    else:
                        self.received += len(data)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def take(self):
        time.sleep(0.05)  # let the pumps drain
        with self.lock:
            r = (self.sent, self.received, self.connections)
            self.sent = self.received = self.connections = 0
        return r

    def close(self):
        self.sock.close()


def sync(town, port, extra=()):
    """One 'pingan sync COUNTY --json': (report, wall seconds)."""
    pg(town, "peer", "set", COUNTY, "--url", f"http://127.0.0.1:{port}")
    argv = ["sync", COUNTY, "--json"]
    if args.bundle_max:
        argv += ["--bundle-max", str(args.bundle_max)]
    out, t = pg(town, *argv, *extra)
    rep = json.loads(out)[0]
    if not rep["ok"]:
        die(f"sync failed: {rep['error']}")
    return rep, t


def setup():
    """Two linked nodes, certificates exchanged, the records written."""
    base = path("base")
    os.makedirs(base)
    town, county = os.path.join(base, "town"), os.path.join(base, "county")
    pg(town, "init", "--code", TOWN, "--name", TOWN_NAME)
    pg(county, "init", "--code", COUNTY, "--name", COUNTY_NAME)
    pg(town, "card", "--out", path("town.card"))
    pg(county, "card", "--out", path("county.card"))
    pg(county, "peer", "add", "--card", path("town.card"), "--role", "child")
    pg(town, "peer", "add", "--card", path("county.card"), "--role",
       "parent")
    # The county's certificate of the township goes down first, as in the
    # field, so that neither timed exchange carries it.
    srv = Server(county, path("setup-serve.log"))
    try:
        sync(town, srv.port)
    finally:
        srv.stop()
    with open(path("d.jsonl"), "w") as f:
        subprocess.run([args.gen, "dispute", str(args.records), "--seed",
                        "7", "--division", TOWN], stdout=f, check=True)
    out, _ = pg(town, "record", "import", "dispute", path("d.jsonl"))
    m = re.search(r"in (\d+) txns", out)
    os.remove(path("d.jsonl"))
    return town, county, int(m.group(1)) if m else 0


def by_file(town0, county0):
    t = fresh(town0, path("f-town"))
    c = fresh(county0, path("f-county"))
    bundle = path("to-county.pgb")
    _, te = pg(t, "export", "--to", COUNTY, "--out", bundle)
    _, ti = pg(c, "import", bundle)
    size = os.path.getsize(bundle)
    os.remove(bundle)
    if count(c) != args.records:
        die(f"file: the county holds {count(c)} records, not {args.records}")
    return {"export": te, "import": ti, "bytes": size}


def by_sync(town0, county0):
    t = fresh(town0, path("s-town"))
    c = fresh(county0, path("s-county"))
    srv = Server(c, path("serve.log"))
    try:
        rep, wall = sync(t, srv.port)
    finally:
        srv.stop()
    if count(c) != args.records:
        die(f"sync: the county holds {count(c)} records, not {args.records}")
    reqs = srv.requests()
    push_ms = sum(r[3] for r in reqs if r[0] == "POST")
    pull_ms = sum(r[3] for r in reqs if r[0] == "GET")
    return {"wall": wall, "rep": rep, "push_ms": push_ms, "pull_ms": pull_ms,
            "pushes": sum(r[0] == "POST" for r in reqs),
            "pulls": sum(r[0] == "GET" for r in reqs), "town": t, "county": c}


def med(xs):
    return statistics.median(xs)




def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--syncs", type=int, default=50)
    ap.add_argument("--bundle-max", type=int, default=0)
    args = ap.parse_args()
    benchnode.setup("bench_net", args.pingan, args.work)
    os.makedirs(args.work, exist_ok=True)
    n = args.records

    town0, county0, txns = setup()
    files, syncs = [], []
    for i in range(args.runs):
        order = (by_file, by_sync) if i % 2 == 0 else (by_sync, by_file)
        for f in order:
            r = f(town0, county0)
            (files if f is by_file else syncs).append(r)
        fr, sr = files[-1], syncs[-1]
        rep = sr["rep"]
        print(f"run {i + 1}: file export {fr['export']:.3f} s, import "
              f"{fr['import']:.3f} s; sync {sr['wall']:.3f} s "
              f"(elapsed_ms {rep['elapsed_ms']}, server push "
              f"{sr['push_ms']} ms, pull {sr['pull_ms']} ms, "
              f"{rep['requests']} requests)", flush=True)

    # Nothing to send: K syncs of the last synced pair.
    last = syncs[-1]
    srv = Server(last["county"], path("serve-idle.log"))
    walls, elapsed, reqs = [], [], set()
    try:
        sync(last["town"], srv.port)  # warm-up, and the URL is set once
        time.sleep(0.05)
        before = len(srv.requests())
        # Interleaved with the floor of any command (start and exit; start,
        # open the node and exit), so that all three meet the same load.
        opens, starts = [], []
        for _ in range(args.syncs):
            out, t = pg(last["town"], "sync", COUNTY, "--json")
            rep = json.loads(out)[0]
            if not rep["ok"] or rep["pushed"]["txns"] or rep["pulled"]["txns"]:
                die(f"a no-change sync moved something: {out}")
            walls.append(t * 1000)
            elapsed.append(rep["elapsed_ms"])
            reqs.add(rep["requests"])
            opens.append(pg(last["town"], "peer", "list")[1] * 1000)
            starts.append(run(args.pingan, "--version")[1] * 1000)
    finally:
        srv.stop()
    idle_srv = [r[3] for r in srv.requests()[before:]]

    # Bytes on the wire, through a counting relay (untimed).
    t = fresh(town0, path("w-town"))
    c = fresh(county0, path("w-county"))
    srv = Server(c, path("serve-wire.log"))
    relay = Relay(srv.port)
    try:
        wrep, _ = sync(t, relay.port)
        w_up, w_down, w_conn = relay.take()
        sync(t, relay.port)
        i_up, i_down, _ = relay.take()
    finally:
        relay.close()
        srv.stop()

    fe = med([r["export"] for r in files])
    fi = med([r["import"] for r in files])
    ft = med([r["export"] + r["import"] for r in files])
    sw = med([r["wall"] for r in syncs])
    se = med([r["rep"]["elapsed_ms"] for r in syncs]) / 1000
    sp = med([r["push_ms"] for r in syncs]) / 1000
    sl = med([r["pull_ms"] for r in syncs]) / 1000
    fbytes = files[-1]["bytes"]
    rep = syncs[-1]["rep"]
    push, pull = rep["pushed"], rep["pulled"]
    bmax = args.bundle_max or 4194304
    wire = w_up + w_down
    m_wall, m_el = med(walls), med(elapsed)

    print(f"records                    {n} dispute records (all generated "
          f"fields), {txns} txns; median of {args.runs} runs")
    print(f"file: export + import      {ft:8.3f} s  {n / ft:8.0f} records/s"
          f"  (export {fe:.3f} s, import {fi:.3f} s)")
    print(f"sync over HTTP             {sw:8.3f} s  {n / sw:8.0f} records/s"
          f"  ({100 * ft / sw:.0f}% of the file's; target >= 50%)")
    print(f"  in the sync: elapsed_ms {se:.3f} s, of which the server took "
          f"{sp:.3f} s for {syncs[-1]['pushes']} pushes (receive, check, "
          f"import) and {sl:.3f} s for {syncs[-1]['pulls']} pulls;"
          f" the client {se - sp - sl:.3f} s (export, HTTP); outside"
          f" elapsed_ms (process start, open, exit) {sw - se:.3f} s")
    print(f"bundle file                {fbytes:10d} bytes  "
          f"{fbytes / n:6.1f} B/record")
    print(f"sync, bundles              {push['bytes'] + pull['bytes']:10d} "
          f"bytes  {(push['bytes'] + pull['bytes']) / n:6.1f} B/record  "
          f"(pushed {push['bundles']} of at most {bmax} bytes: "
          f"{push['bytes']}; pulled {pull['bundles']}: {pull['bytes']})")
    print(f"sync, on the wire          {wire:10d} bytes  {wire / n:6.1f} "
          f"B/record  ({100 * wire / fbytes:.1f}% of the file; up {w_up}, "
          f"down {w_down}; {wrep['requests']} requests on {w_conn} "
          f"connection{'s' if w_conn != 1 else ''})")
    print(f"no-change sync, wall       {m_wall:8.1f} ms  (median of "
          f"{args.syncs}; p90 {pct(walls, 0.9):.1f} ms; target < 20 ms)")
    print(f"no-change sync, elapsed_ms {m_el:8.1f} ms  (in-process, as "
          f"--json reports it; p90 {pct(elapsed, 0.9):.1f} ms; server "
          f"{med(idle_srv):.0f} ms per request)")
    print(f"no-change sync, requests   {'/'.join(map(str, sorted(reqs))):>8}"
          f"     ({i_up + i_down} bytes on the wire: up {i_up}, down "
          f"{i_down})")
    print(f"start, open the node, exit {med(opens):8.1f} ms  (wall of "
          f"'pingan peer list', median of {args.syncs})")
    print(f"start and exit             {med(starts):8.1f} ms  (wall of "
          f"'pingan --version', median of {args.syncs})")


if __name__ == "__main__":
    main()
