#!/bin/sh
# The HTTP transport (DESIGN §8): real `pingan serve` processes on
# 127.0.0.1 and `pingan sync` clients.  Two nodes that each serve sync
# both ways to identical records, with counted --json summaries, and
# catch up after the server was down; unsigned requests, an impostor with
# the right code and the wrong keys, an unpinned node, a replayed nonce
# (also after a restart), a spoiled signature, a body that is not the one
# signed and a clock 11 minutes off are refused with 401 and change
# nothing, a revoked key gets 403; a push over --max-body gets 413 and
# goes through split under the limit; a partner city's syncs and pulls
# made by hand never carry what its agreement excludes, not even in the
# raw bytes of its directory, and a pull with an unknown parameter gets
# 400; every refusal is logged and counted in `pingan status --json`.
# Signed requests of the test's own making come from pingan-net-request
# (tests/tools/net_request.c).  The driver is lib/httpsync.py.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"
if [ -z "${PINGAN_NET_REQUEST:-}" ] || [ ! -x "$PINGAN_NET_REQUEST" ]; then
	bail "set PINGAN_NET_REQUEST to the pingan-net-request binary (ctest does)"
fi

# The driver prints "ok - ..." / "not ok - ..." and "# ..." lines.
"$PY" "$LIB/httpsync.py" --pingan "$PINGAN" --net-request "$PINGAN_NET_REQUEST" \
	--work "$T" >http.out 2>http.err && hrc=0 || hrc=$?
relay_driver httpsync.py http.out http.err "$hrc"
finish
