#!/bin/sh
# The federation end to end (DESIGN §1, §3, §6, §7): 湘潭市, 湘潭县, its
# townships 石潭镇 and 易俗河镇 with one community each, and the partner
# cities 长沙市 and 株洲市 under agreement files that pseudonymize ID
# numbers and phones -- exchanging nothing but bundle files until nothing
# new moves.  A community's records rise to the city with every origin
# signature verifying; the city's edit comes back down; key_person stops
# at the county; a supervision reaches only the township it is addressed
# to; sensitive fields stop at the county; partners get only what their
# agreement names, masked and pseudonymized (both cities derive the same
# key, a third city another), and the raw bytes of their directories
# hold none of the withheld values; a dispute that becomes cross-region
# later arrives with its whole history; a revocation quarantines the
# key's later txns and takes them back where they had been applied;
# certificates outside the issuer's jurisdiction and bad agreement files
# (FILE:LINE) are refused, changing nothing; the dry run shows transforms
# and no values.  The driver is lib/federation.py.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
# The interpreter itself, not a version manager's shim that costs half a
# second a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

# The driver prints "ok - ..." / "not ok - ..." and "# ..." lines.
"$PY" "$LIB/federation.py" --pingan "$PINGAN" --work "$T" \
	>federation.out 2>federation.err && frc=0 || frc=$?
relay_driver federation.py federation.out federation.err "$frc"
finish
