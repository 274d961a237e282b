#!/usr/bin/env python3
"""Driver for tests/cli/simulate.sh: the federation simulator, small.

pingan-simulate builds a slice of the Xiangtan tree (the city, both
partners, villages from every county with their townships, and 石潭镇,
whose link moves by USB stick), runs days of writes, concurrent edits,
offline nodes and lost bundles, and checks reach, convergence, privacy,
key persons, signatures and conflicts itself.  This driver checks that
those checks pass, that they can fail (a partner agreement that keeps a
phone number must be caught by the byte search), that the run is
reproducible from its seed, that the node directories it keeps are real
nodes, and that bad usage is refused with exit status 2.

  simulate.py --simulate PATH --pingan PATH --work DIR
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from checks import Checks  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

CHECKS = [
    "village records reach the city",
    "every view converges",
    "no personal value crosses in clear",
    "key_person never above its county",
    "origin signatures verify at the city",
    "conflicts found where they happened",
    "nothing refused, quarantined or pending",
]


class S(Checks):
    command_prefix = "pingan-simulate "

    def __init__(self, simulate, pingan, work):
        self.simulate = simulate
        self.pingan = pingan
        self.work = work

    def run(self, *args, nofile=None):
        def limit():
            if nofile:
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        p = subprocess.run([self.simulate, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, TMPDIR=self.work),
                           preexec_fn=limit)
        self.last = (" ".join(args), p.returncode, p.stdout, p.stderr)
        return p.returncode, p.stdout, p.stderr

    def run_json(self, *args):
        rc, out, err = self.run("--json", "--quiet", *args)
        try:
            return rc, json.loads(out)
        except ValueError:
            self.ok(False, "pingan-simulate %s prints JSON" % " ".join(args),
                    show=True)
            return rc, None

    def checks_of(self, res):
        return {c["name"]: c for c in res["checks"]} if res else {}

    # -- a small federation: every check holds ---------------------------
    def small(self):
        args = ("--nodes", "40", "--days", "2", "--seed", "3", "--edits",
                "80", "--loss", "0.05", "--offline", "0.2")
        rc, res = self.run_json(*args)
        if not res:
            return None
        self.ok(rc == 0 and res["failed"] == 0,
                "a: 40 nodes, 2 days: every check holds (exit 0)",
                "exit 0, failed 0", "exit %d, failed %s" % (rc, res["failed"]),
                show=rc != 0)
        byname = self.checks_of(res)
        self.ok(sorted(byname) == sorted(CHECKS),
                "a: the seven checks ran", CHECKS, sorted(byname))
        for name in CHECKS:
            c = byname.get(name)
            self.ok(c is not None and c["ok"] and c["exercised"],
                    "a: %s (and the run gave it something to check)" % name,
                    "ok, exercised", c if c else "missing")
        self.ok(res["nodes"] == 40 or res["nodes"] == 41,
                "a: about 40 nodes were made", 40, res["nodes"])
        self.ok(res["records"] >= 200 and res["updates"] > 0,
                "a: hundreds of records written, and updates",
                ">= 200 and > 0", (res["records"], res["updates"]))
        self.ok(res["edits"] >= 3, "a: pairs of concurrent edits were made",
                ">= 3", res["edits"])
        up = res["traffic"]["up"]
        self.ok(up["lost"] > 0 and up["offline"] > 0,
                "a: bundles were lost and nodes were offline, and still "
                "everything arrived", "> 0 each", (up["lost"], up["offline"]))
        self.ok(res["usb_township"] == "430321112000"
                and res["usb_bundles"] > 0,
                "a: 石潭镇's bundles went by USB stick",
                "430321112000 and > 0",
                (res["usb_township"], res["usb_bundles"]))
        self.ok(up["idle"] > 0 and res["traffic"]["down"]["idle"] > 0,
                "a: idle links were seen and cost no export",
                "> 0", (up["idle"], res["traffic"]["down"]["idle"]))
        reach = byname.get(CHECKS[0], {}).get("detail", "")
        total = sum(res["delay_rounds"])
        self.ok(total > 0 and ("%d records" % total) in reach,
                "a: every village record is in the arrival histogram",
                "%d records" % total, reach)
        self.ok(res["by_tier"]["city"]["conflicts"] > 0,
                "a: the city holds the conflicts of the edits", "> 0",
                res["by_tier"]["city"])
        return res

    # -- the same seed, the same run --------------------------------------
    def reproducible(self):
        args = ("--nodes", "20", "--days", "1", "--seed", "11")
        rc1, a = self.run_json(*args)
        rc2, b = self.run_json(*args)
        if not a or not b:
            return

        def shape(r):
            t = r["traffic"]
            return (r["nodes"], r["records"], r["updates"], r["edits"],
                    [(k, t[k]["bundles"], t[k]["txns"], t[k]["lost"],
                      t[k]["idle"]) for k in sorted(t)], r["delay_rounds"])
        self.ok(rc1 == 0 and rc2 == 0 and shape(a) == shape(b)
                and a["records"] > 0,
                "b: two runs with one seed write, move and lose the same",
                shape(a), shape(b))
        rc3, c = self.run_json("--nodes", "20", "--days", "1", "--seed", "12")
        self.ok(rc3 == 0 and c and shape(c) != shape(a),
                "b: another seed is another day", "different",
                shape(c) if c else None)

    # -- a leaky agreement is caught --------------------------------------
    def leak(self):
        path = os.path.join(self.work, "leaky.ini")
        with open(path, "w", encoding="utf-8") as f:
            f.write("[agreement]\nid = leaky-test\n[fraud_alert]\n"
                    "target_phone = keep\ntarget_name = keep\n")
        rc, res = self.run_json("--nodes", "20", "--days", "1", "--seed", "5",
                                "--agreement", path)
        byname = self.checks_of(res)
        priv = byname.get(CHECKS[2])
        self.ok(rc == 1 and priv is not None and not priv["ok"]
                and not priv["detail"].endswith(": 0 found"),
                "c: an agreement keeping phones and names fails the privacy "
                "check (exit 1)", "exit 1 and privacy FAIL",
                "exit %d, %s" % (rc, priv))
        others = [n for n in CHECKS[:2] + CHECKS[3:]
                  if not byname.get(n, {}).get("ok")]
        self.ok(rc == 1 and not others,
                "c: the other checks still hold", [], others)

    # -- more stores than the soft open-file limit -------------------------
    def file_limit(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < 1024:
            self.note("skipped the open-file test: the hard limit is %d"
                      % hard)
            return
        rc, out, err = self.run("--nodes", "90", "--seed", "4", "--quiet",
                                nofile=128)
        self.ok(rc == 0 and "ok   every view converges" in out,
                "f: 90 stores (about 270 open files) under a soft limit of "
                "128: the limit is raised, not failed", "exit 0",
                "exit %d: %s" % (rc, err.strip()[-300:]))

    # -- kept directories are real nodes -----------------------------------
    def kept(self):
        d = os.path.join(self.work, "kept")
        rc, out, err = self.run("--nodes", "8", "--seed", "2", "--dir", d,
                                "--keep", "--quiet")
        root = os.path.join(d, "nodes-2")
        codes = sorted(os.listdir(root)) if os.path.isdir(root) else []
        nodes = [c for c in codes if len(c) == 12 and c.isdigit()]
        self.ok(rc == 0 and len(nodes) >= 8 and "430300000000" in nodes,
                "d: --dir --keep leaves a node directory per node",
                ">= 8 incl. 430300000000", codes, show=rc != 0)
        if "430300000000" not in nodes:
            return
        p = subprocess.run([self.pingan, "--dir",
                            os.path.join(root, "430300000000"), "status",
                            "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        try:
            st = json.loads(p.stdout)
        except ValueError:
            st = {}
        roles = sorted(x.get("role", "") for x in st.get("peers", []))
        self.ok(p.returncode == 0 and "partner" in roles and "child" in roles,
                "d: pingan status reads the kept city, with its children "
                "and partners", "child and partner peers", roles)
        rc, out, err = self.run("--nodes", "8", "--seed", "2", "--dir", d,
                                "--quiet")
        self.ok(rc == 1 and "must not exist" in err,
                "d: a second run into the same directory is refused",
                "exit 1, 'must not exist'", "exit %d: %s" % (rc, err.strip()))

    # -- bad usage ---------------------------------------------------------
    def usage(self):
        rc, out, err = self.run("--help")
        self.ok(rc == 0 and "--nodes" in out and "--seed" in out
                and "USB" in out, "e: --help explains the options", "exit 0",
                rc)
        for args, want in ((["--nodes", "3"], "at least 6"),
                           (["--days", "0"], "--days"),
                           (["--rounds", "x"], "--rounds"),
                           (["--loss", "0.9"], "--loss"),
                           (["--offline", "-1"], "--offline"),
                           (["--seed", "-4"], "--seed"),
                           (["--frobnicate"], "unknown option"),
                           (["extra"], "unexpected argument"),
                           (["--nodes"], "needs a value")):
            rc, out, err = self.run(*args)
            self.ok(rc == 2 and want in err and out == "",
                    "e: '%s' is refused with exit 2 and names the problem"
                    % " ".join(args), "exit 2, '%s'" % want,
                    "exit %d: %s" % (rc, err.strip()))
        rc, out, err = self.run("--nodes", "8", "--agreement",
                                os.path.join(self.work, "no-such.ini"))
        self.ok(rc == 1 and "cannot read the agreement" in err,
                "e: a missing agreement file is a clear error",
                "exit 1", "exit %d: %s" % (rc, err.strip()))
        bad = os.path.join(self.work, "bad.ini")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("[agreement]\nid = bad\n[fraud_alert]\n"
                    "target_phone = frobnicate\n")
        rc, out, err = self.run("--nodes", "8", "--agreement", bad)
        self.ok(rc == 1 and "bad.ini:4:" in err and "frobnicate" in err,
                "e: a malformed agreement is refused with FILE:LINE, before "
                "any sync", "exit 1, 'bad.ini:4:'",
                "exit %d: %s" % (rc, err.strip()))
        left = [n for n in os.listdir(self.work) if n.startswith("pingan-sim")]
        self.ok(not left, "e: no temporary node directories are left behind",
                [], left)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--simulate", required=True)
    ap.add_argument("--pingan", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    s = S(os.path.abspath(a.simulate), os.path.abspath(a.pingan),
          os.path.abspath(a.work))
    t0 = time.monotonic()
    s.small()
    s.reproducible()
    s.leak()
    s.file_limit()
    s.kept()
    s.usage()
    print("# %.1f s" % (time.monotonic() - t0))
    return 1 if s.nfail else 0


if __name__ == "__main__":
    sys.exit(main())
