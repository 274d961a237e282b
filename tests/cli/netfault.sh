#!/bin/sh
# Syncing over HTTP survives faults (DESIGN §8), with real processes on
# 127.0.0.1: a township with a large backlog syncs with its county's
# `pingan serve` while the client or the server is killed with SIGKILL,
# pushing and pulling (and the reverse: the county writes for the
# township while it pulls and is killed); afterwards both hold exactly
# the same records and each txn once, the certificate once, a further
# sync moves nothing and no temporary file is left.  Also: retries with
# backoff against a server that is down; https with a pinned test CA (a
# wrong CA and plain http fail and push nothing); `serve --sync-every`
# with the parent stopped and restarted; slow and surplus connections
# against --timeout and --max-connections.  The driver is
# lib/netfault.py (its docstring lists every check).
#
# NETFAULT_RECORDS overrides the township's backlog (default 20000; 4000
# in a sanitizer build, detected from the binary or PINGAN_SANITIZE=1).
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
command -v openssl >/dev/null 2>&1 || bail "openssl is needed (tools/setup installs it)"
# The interpreter itself, not a version manager's shim that costs half a
# second a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

# The driver prints "ok - ..." / "not ok - ..." and "# ..." lines.
"$PY" "$LIB/netfault.py" --pingan "$PINGAN" --gen "${PINGAN_GEN:-}" --work "$T" \
	--records "${NETFAULT_RECORDS:-0}" >netfault.out 2>netfault.err && nrc=0 || nrc=$?
relay_driver netfault.py netfault.out netfault.err "$nrc"
finish
