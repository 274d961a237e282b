#!/bin/sh
# The federation simulator (tools/simulate), small: a slice of the Xiangtan
# tree with every tier, the partners and the USB township runs two days of
# writes, concurrent edits, offline nodes and lost bundles, and its own
# checks (reach, convergence, privacy, key persons, signatures, conflicts)
# all hold; a leaky partner agreement is caught by its byte search; a seed
# gives the same run twice; kept directories are real nodes; bad usage
# exits 2.  The driver is lib/simulate.py; the full city is a benchmark
# (tools/bench --only sim).
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"
if [ -z "${PINGAN_SIMULATE:-}" ] || [ ! -x "$PINGAN_SIMULATE" ]; then
	bail "set PINGAN_SIMULATE to the pingan-simulate binary (ctest does)"
fi

"$PY" "$LIB/simulate.py" --simulate "$PINGAN_SIMULATE" --pingan "$PINGAN" \
	--work "$T" >sim.out 2>sim.err && src=0 || src=$?
relay_driver simulate.py sim.out sim.err "$src"
finish
