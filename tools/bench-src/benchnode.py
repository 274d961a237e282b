"""What the HTTP benchmark drivers (bench_net.py, bench_scale.py) share:
running pingan and failing loudly, copies of node directories, a node's
store, and 'pingan serve' on a free port of 127.0.0.1.

Call setup(PROGRAM, PINGAN, WORK) first.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

PROGRAM = "bench"
PINGAN = None
WORK = None


def setup(program, pingan, work):
    global PROGRAM, PINGAN, WORK
    PROGRAM, PINGAN, WORK = program, pingan, work


def die(msg):
    print(f"{PROGRAM}: {msg}", file=sys.stderr)
    sys.exit(1)


def note(msg):
    print(f"{PROGRAM}: {msg}", file=sys.stderr, flush=True)


def wait_rusage(pid):
    """Wait for a child: (exit code, peak RSS in KiB)."""
    _, status, ru = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss


def run(*argv, stderr_to=None):
    """Run a command and fail loudly: (stdout, wall seconds, peak KiB).

    The peak RSS is the child's own (wait4), what /usr/bin/time -f %M
    shows.  stderr_to: None (kept, shown on failure) or a file object
    (progress lines, passed through)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out,
                             stderr=stderr_to if stderr_to else err)
        code, kb = wait_rusage(p.pid)
        t = time.perf_counter() - t0
        p.returncode = code
        out.seek(0)
        err.seek(0)
        if code != 0:
            die(f"'{' '.join(argv)}' failed ({code}):\n"
                f"{err.read().decode(errors='replace')}")
        return out.read().decode(), t, kb


def pg(node, *argv):
    """pingan --dir NODE ARGV...: (stdout, wall seconds, peak KiB)."""
    return run(PINGAN, "--dir", node, *argv)


def path(*parts):
    return os.path.join(WORK, *parts)


def rmtree(d):
    if os.path.exists(d):
        shutil.rmtree(d)


def fresh(src, dst):
    """A copy of node directory src at dst (replacing it)."""
    rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def count(node, table="dispute"):
    db = sqlite3.connect(f"file:{node}/store.db?mode=ro", uri=True)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def store_bytes(node):
    """store.db and its write-ahead log, as they are on disk now."""
    return sum(os.path.getsize(os.path.join(node, f))
               for f in ("store.db", "store.db-wal")
               if os.path.exists(os.path.join(node, f)))


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class Server:
    """pingan serve on a free port of 127.0.0.1, stopped with SIGTERM;
    its peak RSS is known once stopped."""

    def __init__(self, node, log):
        self.log_path = log
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [PINGAN, "--dir", node, "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.rss_kb = 0
        line = self.proc.stdout.readline()
        m = re.match(r"listening on port (\d+) \(http\)", line)
        if not m:
            self.stop()
            die(f"pingan serve did not start: {line!r}; see {log}")
        self.port = int(m.group(1))

    def stop(self):
        if self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                _, status, ru = os.wait4(self.proc.pid, 0)
                break
            time.sleep(0.02)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.rss_kb = ru.ru_maxrss
        self.proc.stdout.close()
        self.log.close()
        if self.proc.returncode != 0:
            die(f"pingan serve exited {self.proc.returncode}; see "
                f"{self.log_path}")

    def requests(self):
        """(method, path, status, ms) of each request in the log."""
        out = []
        pat = re.compile(r" (GET|POST) (\S+) (\d+) .*\((\d+) ms\)$")
        with open(self.log_path) as f:
            for line in f:
                m = pat.search(line.rstrip("\n"))
                if m:
                    out.append((m.group(1), m.group(2), int(m.group(3)),
                                int(m.group(4))))
        return out
