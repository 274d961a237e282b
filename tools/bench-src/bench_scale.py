#!/usr/bin/env python3
"""Scale: what importing and syncing cost per record as the store grows,
and syncs against a city holding 10^7 records.

Growth.  For N = 10^4, 10^5, 10^6 (up to --max): the county 雨湖区
430302000000 holds N dispute records of its own and sends them to its
city 湘潭市 430300000000, fresh copies of the same two nodes each time:

  file: 'pingan export --to 430300' on the county, then 'pingan import'
        on the city (timed, with its peak RSS);
  sync: the city runs 'pingan serve', the county 'pingan sync 430300
        --json' (timed; the server's peak RSS is the import's).

Medians of --runs for N <= 10^5, one run above (the two kinds alternate
in order from run to run).  The baseline is the 10^4 row of the same run:
the cost per record at 10^5 and 10^6 divided by the cost at 10^4.

The county's records are written by pingan-bench-scale (the bulk-write
engine, from a pool of 10^4 generated records cycled), untimed here but
reported: that is also how the big city is filled.

Big city.  A city holding --max records (10^7 by default) written
directly by the city (pingan-bench-scale, a commit every 10^6), in
divisions of the other counties 岳塘区 430304 and 湘潭县 430321, so that
none is routed to 雨湖区.  Its disk is estimated first from the largest
growth store and checked against the free space: too little, and the
step is skipped with a line that says so.  Then, against it and against a
baseline city holding 10^4 records written the same way, both serving at
once, from two copies of the county: a first sync each (the first walk
over the city's log), then K syncs with nothing to send and K one-record
syncs ('pingan record put', then 'pingan sync'), alternating between the
two cities so that both meet the same load.  Medians of the elapsed_ms
each sync reports itself and of the command's wall time.

  bench_scale.py --pingan PATH --bench PATH --gen PATH --work DIR
                 [--max N] [--runs R] [--syncs K] [--fields LIST]
                 [--chunk C] [--table FILE] [--dat FILE]

Progress goes to stderr, figures to stdout; --table writes the markdown
table and verdicts, --dat the data for gnuplot.  Every directory it
makes is under --work and removed before it ends.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchnode import (Server, count, die, fresh, note, path, pct, pg,  # noqa: E402
                       rmtree, run, store_bytes)
import benchnode  # noqa: E402

CITY, CITY_NAME = "430300000000", "湘潭市"
COUNTY, COUNTY_NAME = "430302000000", "雨湖区"
# Divisions of the big city's records: counties other than 雨湖区.
OTHER_COUNTIES = ("430304", "430321")
POOL = 10000
BASELINE = 10000
TARGET_MS = 50
MiB = 1 << 20
GiB = 1 << 30

args = None


def sync(county, port):
    """One 'pingan sync 430300 --json': (report, wall seconds, peak KiB)."""
    pg(county, "peer", "set", CITY, "--url", f"http://127.0.0.1:{port}")
    out, t, kb = pg(county, "sync", CITY, "--json")
    rep = json.loads(out)[0]
    if not rep["ok"]:
        die(f"sync failed: {rep['error']}")
    return rep, t, kb


def fill(node, pool, n, chunk=None):
    """Write n records of the pool at the node (pingan-bench-scale)."""
    argv = [args.bench, node, pool, str(n), "--fields", args.fields]
    if chunk:
        argv += ["--chunk", str(chunk)]
    out, t, kb = run(*argv, stderr_to=sys.stderr)
    info = json.loads(out)
    info.update(wall=t, rss_kb=kb)
    return info


def make_pools():
    """The county's pool, and the big city's: the two other counties'
    records interleaved, so that each commit holds both."""
    county = path("pool-county.jsonl")
    with open(county, "w") as f:
        subprocess.run([args.gen, "dispute", str(POOL), "--seed", "11",
                        "--division", COUNTY], stdout=f, check=True)
    parts = []
    for i, code in enumerate(OTHER_COUNTIES):
        out, _, _ = run(args.gen, "dispute", str(POOL // 2), "--seed",
                        str(12 + i), "--division", code)
        parts.append(out.splitlines())
    city = path("pool-city.jsonl")
    with open(city, "w") as f:
        for pair in zip(*parts):
            f.write("\n".join(pair) + "\n")
    return county, city


def make_base():
    """The county and its city, linked; the city's certificate of the
    county has gone down (one sync), so no timed exchange carries it."""
    base = path("base")
    os.makedirs(base)
    county, city = os.path.join(base, "county"), os.path.join(base, "city")
    pg(county, "init", "--code", COUNTY, "--name", COUNTY_NAME)
    pg(city, "init", "--code", CITY, "--name", CITY_NAME)
    pg(county, "card", "--out", path("county.card"))
    pg(city, "card", "--out", path("city.card"))
    pg(city, "peer", "add", "--card", path("county.card"), "--role", "child")
    pg(county, "peer", "add", "--card", path("city.card"), "--role",
       "parent")
    srv = Server(city, path("setup-serve.log"))
    try:
        sync(county, srv.port)
    finally:
        srv.stop()
    return county, city


def by_file(county, city0, n):
    c = fresh(county, path("f-county"))
    ci = fresh(city0, path("f-city"))
    bundle = path("to-city.pgb")
    _, te, _ = pg(c, "export", "--to", CITY, "--out", bundle)
    _, ti, kb = pg(ci, "import", bundle)
    if count(ci) != n:
        die(f"file: the city holds {count(ci)} records, not {n}")
    r = {"export": te, "import": ti, "rss_kb": kb,
         "bundle": os.path.getsize(bundle), "store": store_bytes(ci)}
    os.remove(bundle)
    rmtree(c)
    rmtree(ci)
    return r


def by_sync(county, city0, n):
    c = fresh(county, path("s-county"))
    ci = fresh(city0, path("s-city"))
    srv = Server(ci, path("serve.log"))
    try:
        rep, wall, kb = sync(c, srv.port)
    finally:
        srv.stop()
    if count(ci) != n:
        die(f"sync: the city holds {count(ci)} records, not {n}")
    r = {"wall": wall, "elapsed": rep["elapsed_ms"] / 1000,
         "requests": rep["requests"], "pushes": rep["pushed"]["bundles"],
         "serve_rss_kb": srv.rss_kb, "client_rss_kb": kb,
         "server_s": sum(q[3] for q in srv.requests()) / 1000,
         "store": store_bytes(ci)}
    rmtree(c)
    rmtree(ci)
    return r


def growth(n, county0, city0, pool):
    county = fresh(county0, path("g-county"))
    w = fill(county, pool, n)
    runs = args.runs if n <= 100000 else 1
    files, syncs = [], []
    for i in range(runs):
        order = (by_file, by_sync) if i % 2 == 0 else (by_sync, by_file)
        for f in order:
            (files if f is by_file else syncs).append(f(county, city0, n))
        fr, sr = files[-1], syncs[-1]
        print(f"{n:>8} run {i + 1}: file export {fr['export']:.3f} s, "
              f"import {fr['import']:.3f} s (peak RSS "
              f"{fr['rss_kb'] // 1024} MiB); sync {sr['wall']:.3f} s "
              f"(elapsed_ms {sr['elapsed'] * 1000:.0f}, {sr['pushes']} "
              f"pushes, server {sr['server_s']:.3f} s, peak RSS "
              f"{sr['serve_rss_kb'] // 1024} MiB)", flush=True)
    rmtree(county)
    med = statistics.median
    return {
        "n": n, "runs": runs, "write": w["seconds"], "txns": w["txns"],
        "export": med(r["export"] for r in files),
        "import": med(r["import"] for r in files),
        "sync": med(r["wall"] for r in syncs),
        "sync_elapsed": med(r["elapsed"] for r in syncs),
        "store": max(r["store"] for r in files),
        "bundle": files[-1]["bundle"],
        "import_rss": max(r["rss_kb"] for r in files) * 1024,
        "serve_rss": max(r["serve_rss_kb"] for r in syncs) * 1024,
        "client_rss": max(r["client_rss_kb"] for r in syncs) * 1024,
        "pushes": syncs[-1]["pushes"],
    }


def us(seconds, n):
    return seconds * 1e6 / n


def disk_check(n, rows):
    """Estimate the big city's disk from the largest growth store; None
    when it fits, else why not."""
    ref = rows[-1]
    bpr = ref["store"] / ref["n"]
    chunk = min(args.chunk, n)
    need = 1.2 * bpr * (n + chunk)
    free = shutil.disk_usage(args.work).free
    print(f"disk: the city of {n} records needs about {need / GiB:.1f} GiB "
          f"({bpr:.0f} B/record as in the {ref['n']}-record city store, "
          f"x{n} records, plus the write-ahead log of one {chunk}-record "
          f"commit, plus 20%); {free / GiB:.1f} GiB free in {args.work}",
          flush=True)
    if free < need:
        return (f"skipped: {free / GiB:.1f} GiB free is less than the "
                f"{need / GiB:.1f} GiB needed")
    return None


def put_argv(pool):
    """'record put' arguments: the first record of the county's pool."""
    with open(pool) as f:
        rec = json.loads(f.readline())
    keep = args.fields.split(",")
    out = []
    for k in keep:
        v = rec.get(k)
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        out.append(f"{k}={v}")
    return ["record", "put", "dispute", *out]


def quiet_sync(county, srv, want_push):
    rep, wall, _ = sync(county, srv.port)
    if rep["pushed"]["txns"] != want_push or rep["pulled"]["txns"]:
        die(f"a sync moved {rep['pushed']['txns']} txns up and "
            f"{rep['pulled']['txns']} down, expected {want_push} and 0")
    return rep["elapsed_ms"], wall * 1000


def syncs_against(cities, county0, pool):
    """Warm-up, K no-change and K one-record syncs against each city (a
    dict name -> node), alternating; medians."""
    put = put_argv(pool)
    names = list(cities)
    srv, county, res = {}, {}, {k: {} for k in names}
    res["load"] = os.getloadavg()
    try:
        for k in names:
            srv[k] = Server(cities[k], path(f"serve-{k}.log"))
            county[k] = fresh(county0, path(f"county-{k}"))
        for k in names:
            rep, wall, _ = sync(county[k], srv[k].port)
            res[k]["warm"] = (rep["elapsed_ms"], wall * 1000,
                              rep["requests"], rep["pulled"]["bundles"])
        marks = {k: len(srv[k].requests()) for k in names}
        for k in names:
            res[k]["idle"] = []
            res[k]["one"] = []
        for _ in range(args.syncs):
            for k in names:
                res[k]["idle"].append(quiet_sync(county[k], srv[k], 0))
        marks2 = {k: len(srv[k].requests()) for k in names}
        for _ in range(args.syncs):
            for k in names:
                pg(county[k], *put)
                res[k]["one"].append(quiet_sync(county[k], srv[k], 1))
    finally:
        for s in srv.values():
            s.stop()
    for k in names:
        reqs = srv[k].requests()
        res[k]["srv_idle"] = [q[3] for q in reqs[marks[k]:marks2[k]]]
        res[k]["srv_one"] = [q[3] for q in reqs[marks2[k]:]]
        res[k]["serve_rss"] = srv[k].rss_kb * 1024
        rmtree(county[k])
    return res


def big_city(n, rows, county0, city0, pools):
    why = disk_check(n, rows)
    if why:
        print(f"big city: {why}; the {n}-record step did not run", flush=True)
        return None
    big, small = path("big-city"), path("small-city")
    try:
        fresh(city0, big)
        note(f"writing {n} records at the city (progress below)")
        load = os.getloadavg()
        w = fill(big, pools[1], n, args.chunk)
        fresh(city0, small)
        ws = fill(small, pools[1], BASELINE, args.chunk)
        size = store_bytes(big)
        chunks = w["chunks"]
        per = min(args.chunk, n)
        print(f"big city: {n} records written at the city in "
              f"{w['seconds']:.1f} s ({us(w['seconds'], n):.1f} us/record, "
              f"{w['txns']} txns; peak RSS {w['rss_kb'] // 1024} MiB); "
              f"store {size / GiB:.2f} GiB ({size / n:.0f} B/record), at "
              f"most {w['disk_max'] / GiB:.2f} GiB on disk while writing; "
              f"load average {loadavg(load)} at the start, "
              f"{loadavg(os.getloadavg())} at the end", flush=True)
        if len(chunks) > 1:
            print(f"  per commit of {per}: first {us(chunks[0], per):.1f} "
                  f"us/record, last {us(chunks[-1], per):.1f} us/record "
                  f"(all: {', '.join(f'{c:.1f}' for c in chunks)} s)",
                  flush=True)
        print(f"baseline city: {BASELINE} records written the same way in "
              f"{ws['seconds']:.2f} s ({us(ws['seconds'], BASELINE):.1f} "
              f"us/record); store {store_bytes(small) / MiB:.1f} MiB",
              flush=True)
        res = syncs_against({"small": small, "big": big}, county0, pools[0])
        return {"n": n, "write": w, "write_small": ws, "store": size,
                "res": res}
    finally:
        rmtree(big)
        rmtree(small)
        note(f"removed the {n}-record city")



def loadavg(la):
    return " ".join(f"{x:.2f}" for x in la)


def print_syncs(b):
    med = statistics.median
    n = b["n"]
    print(f"syncs: load average {loadavg(b['res']['load'])} when they began")
    for k, label in (("small", f"{BASELINE:>8}"), ("big", f"{n:>8}")):
        r = b["res"][k]
        el, wall, reqs, bundles = r["warm"]
        print(f"first sync, city of {label}: elapsed_ms {el}, wall "
              f"{wall:.0f} ms ({reqs} requests, {bundles} bundles pulled)")
    for kind, title in (("idle", "no-change sync,"),
                        ("one", "one-record sync,")):
        for k, label in (("small", f"{BASELINE:>8}"), ("big", f"{n:>8}")):
            r = b["res"][k]
            el = [x[0] for x in r[kind]]
            wall = [x[1] for x in r[kind]]
            srv = r["srv_" + kind]
            print(f"{title:<16} city of {label}: elapsed_ms "
                  f"{med(el):6.1f} (p90 {pct(el, 0.9):.0f}), wall "
                  f"{med(wall):6.1f} ms (p90 {pct(wall, 0.9):.0f}); server "
                  f"{med(srv):.0f} ms per request, median of {len(el)}")


def verdicts(rows, b):
    """The verdicts under the table; sets each row's ratio to 10^4."""
    base = rows[0]
    lines = []
    for r in rows[1:]:
        ri = us(r["import"], r["n"]) / us(base["import"], base["n"])
        rs = us(r["sync"], r["n"]) / us(base["sync"], base["n"])
        r["ratio"] = (ri, rs)
    worst = max((x for r in rows[1:] for x in r["ratio"]), default=1.0)
    top = rows[-1]["n"]
    if len(rows) == 1:
        lines.append("Per-record cost: only 10^4 measured in this run (the "
                     "target compares 10^5 and 10^6 with it).")
    elif top < 1000000:
        lines.append(f"Per-record cost from 10^4 to {top} (import and sync):"
                     f" at most {worst:.2f}x the 10^4 cost (target: within "
                     f"2x up to 10^6; 10^6 not measured in this run).")
    else:
        lines.append(f"Per-record cost from 10^4 to 10^6 (import and sync): "
                     f"at most {worst:.2f}x the 10^4 cost: "
                     f"{'PASS' if worst <= 2 else 'FAIL'} (target: within "
                     f"2x).")
    if len(rows) > 2:
        # The 10^4 row carries fixed costs (processes, opening the node,
        # threads) over few records: the two largest rows show the slope.
        a, z = rows[-2], rows[-1]
        lines.append(
            f"From {a['n']} to {z['n']}, where fixed costs no longer count: "
            f"import {us(z['import'], z['n']) / us(a['import'], a['n']):.2f}"
            f"x, sync {us(z['sync'], z['n']) / us(a['sync'], a['n']):.2f}x "
            f"per record.")
    if b:
        med = statistics.median
        for kind, title in (("idle", "No-change sync"),
                            ("one", "One-record sync")):
            big, small = b["res"]["big"][kind], b["res"]["small"][kind]
            el = med(x[0] for x in big)
            lines.append(
                f"{title} against the city of {b['n']} records: "
                f"elapsed_ms {el:.0f} ms: "
                f"{'PASS' if el < TARGET_MS else 'FAIL'} (target < "
                f"{TARGET_MS} ms); command wall time "
                f"{med(x[1] for x in big):.0f} ms (process start included). "
                f"Baseline, city of {BASELINE}: elapsed_ms "
                f"{med(x[0] for x in small):.0f} ms, wall "
                f"{med(x[1] for x in small):.0f} ms.")
    return lines


def mib(b):
    return f"{b / MiB:.1f}"


def table(rows, b, skipped):
    out = ["| records | bulk write, us/record | import s | us/record | "
           "sync s | us/record | city store MiB | B/record | peak RSS MiB "
           "(import / serve) | per record vs 10^4 (import / sync) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        n = r["n"]
        ratio = ("1.00 / 1.00 (baseline)" if r is rows[0] else
                 f"{r['ratio'][0]:.2f} / {r['ratio'][1]:.2f}")
        runs = "" if r["runs"] > 1 else " (1 run)"
        out.append(
            f"| {n}{runs} | {us(r['write'], n):.1f} | {r['import']:.2f} | "
            f"{us(r['import'], n):.1f} | {r['sync']:.2f} | "
            f"{us(r['sync'], n):.1f} | {mib(r['store'])} | "
            f"{r['store'] / n:.0f} | {r['import_rss'] // MiB} / "
            f"{r['serve_rss'] // MiB} | {ratio} |")
    if b:
        n, w, ws = b["n"], b["write"], b["write_small"]
        el, wall, _, _ = b["res"]["big"]["warm"]
        ratio = us(w["seconds"], n) / us(ws["seconds"], BASELINE)
        out.append(
            f"| {n} (city, written directly) | {us(w['seconds'], n):.1f} "
            f"| - | - | first sync {el / 1000:.2f} | "
            f"{us(el / 1000, n):.2f} (walk) | {mib(b['store'])} | "
            f"{b['store'] / n:.0f} | {w['rss_kb'] // 1024} (write) / "
            f"{b['res']['big']['serve_rss'] // MiB} | write "
            f"{ratio:.2f} (vs the 10^4 city) |")
    elif skipped:
        out.append(f"| {args.max} | {skipped} | | | | | | | | |")
    return out


def write_dat(rows, b):
    with open(args.dat, "w") as f:
        f.write("# records write_us import_us sync_us store_MiB B_per_record"
                "\n")
        for r in rows:
            n = r["n"]
            f.write(f"{n} {us(r['write'], n):.3f} {us(r['import'], n):.3f} "
                    f"{us(r['sync'], n):.3f} {r['store'] / MiB:.2f} "
                    f"{r['store'] / n:.1f}\n")
        if b:
            n = b["n"]
            f.write(f"{n} {us(b['write']['seconds'], n):.3f} ? ? "
                    f"{b['store'] / MiB:.2f} {b['store'] / n:.1f}\n")


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--max", type=int, default=10000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--syncs", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=1000000)
    ap.add_argument("--fields", required=True)
    ap.add_argument("--table")
    ap.add_argument("--dat")
    args = ap.parse_args()
    benchnode.setup("bench_scale", args.pingan, args.work)
    if args.max < BASELINE:
        die(f"--max must be at least {BASELINE}")
    os.makedirs(args.work, exist_ok=True)

    pools = make_pools()
    county0, city0 = make_base()
    sizes = [n for n in (10000, 100000, 1000000) if n <= args.max]
    rows = [growth(n, county0, city0, pools[0]) for n in sizes]
    b = big_city(args.max, rows, county0, city0, pools)
    skipped = None if b else "skipped (disk)"
    lines = verdicts(rows, b)

    print()
    for r in rows:
        n = r["n"]
        print(f"{n:>8} records ({r['txns']} txns, {r['runs']} run"
              f"{'s' if r['runs'] > 1 else ''}): import {r['import']:.3f} s "
              f"({us(r['import'], n):.1f} us/record), sync {r['sync']:.3f} s "
              f"({us(r['sync'], n):.1f} us/record; elapsed_ms "
              f"{r['sync_elapsed'] * 1000:.0f}, {r['pushes']} pushes); "
              f"export {r['export']:.3f} s, bundle {r['bundle']} bytes; "
              f"city store {mib(r['store'])} MiB; peak RSS import "
              f"{r['import_rss'] // MiB} MiB, serve {r['serve_rss'] // MiB} "
              f"MiB, sync client {r['client_rss'] // MiB} MiB")
    if b:
        print_syncs(b)
    for line in lines:
        print(line)
    if args.table:
        with open(args.table, "w") as f:
            f.write("\n".join(table(rows, b, skipped)) + "\n\n")
            f.write("\n\n".join(lines) + "\n")
    if args.dat:
        write_dat(rows, b)
    rmtree(path("base"))


if __name__ == "__main__":
    main()
