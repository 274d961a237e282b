#!/bin/sh
# Strong eventual consistency across a county, two townships and a
# community (DESIGN §1, §3, §5, §6): concurrent writes from every tier of a
# record's path (edits, deletes, counter increments, conflict decisions),
# bundles exchanged in random order -- duplicated, stale, lost, split by
# --max-bytes -- then --resend until quiescent.  Every node must end with
# exactly the txns of its path and the records, values and conflicts that
# an independent reference (lib/refmerge.py) computes from the union of
# the logs; no round may list a causally ordered pair as a conflict; a
# resolved conflict must show resolved everywhere.  The driver is
# lib/converge.py; seeds are fixed, so a run is repeatable.
#
# CONVERGE_SEEDS and CONVERGE_ROUNDS override the defaults (1,2,3 and 25)
# by hand, e.g. to hunt with more seeds.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
# The interpreter itself, not a version manager's shim that costs half a
# second a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

run "$PY" "$LIB/refmerge.py" selftest
expect_rc 0 "the reference merge passes its own checks"

# The driver prints "ok - ..." / "not ok - ..." and "# ..." lines.
"$PY" "$LIB/converge.py" --pingan "$PINGAN" --work "$T" \
	--seeds "${CONVERGE_SEEDS:-1,2,3}" --rounds "${CONVERGE_ROUNDS:-25}" \
	>converge.out 2>converge.err && crc=0 || crc=$?
relay_driver converge.py converge.out converge.err "$crc"
finish
