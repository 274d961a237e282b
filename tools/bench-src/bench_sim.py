#!/usr/bin/env python3
"""The full-city simulated day (tools/bench --only sim).

Runs pingan-simulate twice in the same bench run: a 100-node slice of the
federation (the baseline) and the whole city (1,032 nodes), each for one
day of four sync rounds with seed 1, and prints a table: wall time (the
target is under 10 minutes for the whole city), peak memory, records,
bundles and bytes moved, the time per link sync that moved something and
per idle link check, and whether every check of the simulator held.
Cost per link sync at 1,032 nodes over the same at 100 nodes shows
whether the federation's size makes each link dearer.

  bench_sim.py --simulate PATH --work DIR [--days D] [--seed S]
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True


def run(simulate, work, nodes, days, seed):
    args = [simulate, "--days", str(days), "--seed", str(seed), "--json",
            "--quiet"]
    if nodes:
        args += ["--nodes", str(nodes)]
    timefile = os.path.join(work, "time.txt")
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timefile, *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=dict(os.environ, TMPDIR=work))
    wall = time.monotonic() - t0
    if p.returncode not in (0, 1) or not p.stdout.strip():
        sys.exit("bench_sim: %s failed (%d):\n%s" % (" ".join(args),
                                                     p.returncode, p.stderr))
    res = json.loads(p.stdout)
    with open(timefile) as f:
        res["peak_kb"] = int(f.read().split()[-1])
    res["wall"] = wall
    res["command"] = "pingan-simulate " + " ".join(args[1:])
    return res


def per_sync_ms(res):
    t = res["traffic"]
    syncs = sum(t[k]["syncs"] for k in t)
    secs = sum(t[k]["seconds"] for k in t)
    return 1000 * secs / syncs if syncs else 0.0


def idle_us(res, kinds):
    t = res["traffic"]
    idle = sum(t[k]["idle"] for k in kinds if k in t)
    secs = sum(t[k]["idle_seconds"] for k in kinds if k in t)
    return 1e6 * secs / idle if idle else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--simulate", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-nodes", type=int, default=100)
    a = ap.parse_args()

    base = run(a.simulate, a.work, a.baseline_nodes, a.days, a.seed)
    full = run(a.simulate, a.work, 0, a.days, a.seed)

    print("| | %d-node slice (baseline) | whole city |" % base["nodes"])
    print("|---|---:|---:|")

    def row(name, f):
        print("| %s | %s | %s |" % (name, f(base), f(full)))
    row("nodes", lambda r: "{:,}".format(r["nodes"]))
    row("sync rounds run (4 a day, then until settled)",
        lambda r: str(r["rounds_run"]))
    row("records written / updates",
        lambda r: "{:,} / {:,}".format(r["records"], r["updates"]))
    row("wall time", lambda r: "%.1f s" % r["wall"])
    row("of which: making and linking nodes",
        lambda r: "%.1f s" % r["seconds"]["setup"])
    row("of which: writing", lambda r: "%.1f s" % r["seconds"]["writes"])
    row("of which: syncing", lambda r: "%.1f s" % r["seconds"]["sync"])
    row("of which: checking", lambda r: "%.1f s" % r["seconds"]["checks"])
    row("peak memory", lambda r: "%d MiB" % (r["peak_kb"] // 1024))

    def moved(r):
        t = r["traffic"]
        return "{:,} bundles, {:.1f} MB, {:,} txns".format(
            sum(t[k]["bundles"] for k in t),
            sum(t[k]["bytes"] for k in t) / 1e6,
            sum(t[k]["txns"] for k in t))
    row("moved", moved)
    row("lost on the way (resent)",
        lambda r: str(sum(r["traffic"][k]["lost"] for k in r["traffic"])))
    row("per link sync that moved something", lambda r: "%.1f ms"
        % per_sync_ms(r))
    row("per idle file link (nothing to send: no export)",
        lambda r: "%.0f µs" % idle_us(r, ("up", "down", "partner")))
    row("per HTTP sync with nothing to move (one pull, 204)",
        lambda r: "%.1f ms" % (idle_us(r, ("http",)) / 1000))
    row("checks", lambda r: "all %d hold" % len(r["checks"])
        if r["failed"] == 0 else "%d FAILED" % r["failed"])
    print()
    ratio = per_sync_ms(full) / per_sync_ms(base) if per_sync_ms(base) else 0
    print("Per link sync, whole city over the %d-node slice: %.2fx."
          % (base["nodes"], ratio))
    ok = full["wall"] < 600 and full["failed"] == 0
    print("Target: the whole city's day in under 10 minutes on this machine: "
          "%s (%.1f s)." % ("met" if ok else "NOT MET", full["wall"]))
    if full["failed"]:
        for c in full["checks"]:
            if not c["ok"]:
                print("FAILED: %s: %s" % (c["name"], c["detail"]))
    print()
    print("reproduce: build/tools/%s" % full["command"])
    print("           build/tools/%s" % base["command"])
    return 0 if full["failed"] == 0 and base["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
