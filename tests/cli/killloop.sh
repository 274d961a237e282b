#!/bin/sh
# kill -9 at random moments (DESIGN §3, §4, §8): during `record put` one
# record at a time, `record import`, bundle `import` and HTTP syncs (the
# client or the server).  After each kill every store opens, passes
# PRAGMA integrity_check, holds every write that returned success and no
# half of a write or bundle (hazard rows = what the log's txns made, each
# origin's seqs 1..max once); after the sync kills a plain sync leaves
# both sides with everything.  The driver is lib/killloop.py (its
# docstring lists every check); tools/bench --only kill runs it with
# hundreds of kills.
#
# KILLLOOP_KILLS overrides the number of kills (default 40; 16 in a
# sanitizer build, detected from the binary or PINGAN_SANITIZE=1).
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

"$PY" "$LIB/killloop.py" --pingan "$PINGAN" --gen "${PINGAN_GEN:-}" --work "$T" \
	--kills "${KILLLOOP_KILLS:-0}" >killloop.out 2>killloop.err && krc=0 || krc=$?
relay_driver killloop.py killloop.out killloop.err "$krc"
finish
