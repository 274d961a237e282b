#!/bin/sh
# `pingan audit verify --against-parent` asks the parent over HTTP
# (GET /v1/audit/heads, FORMAT.md §8.1 and §9.3): a child that rewrote its
# whole audit chain with fresh hashes AND its stored copy of the head the
# parent sent back passes the plain check and the local one (--offline),
# but not against the heads file fetched from the parent, which names the
# head's seq; an honest child passes, and the output names the proof used.
# The parent hands a child only its own head, and a pinned peer that is
# not its child gets 403 (recorded); an unknown node is refused (exit 2);
# a parent that does not answer gives exit 1 naming its URL and --heads.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
command -v sqlite3 >/dev/null 2>&1 || bail "sqlite3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"
if [ -z "${PINGAN_NET_REQUEST:-}" ] || [ ! -x "$PINGAN_NET_REQUEST" ]; then
	bail "set PINGAN_NET_REQUEST to the pingan-net-request binary (ctest does)"
fi

CITY=430300000000
YUHU=430302000000
XTX=430321000000
YUETANG=430304000000

PIDS=
# serve DIR: start `pingan serve` on a free port; sets PORT.
serve() {
	"$PINGAN" --dir "$1" serve --listen 127.0.0.1:0 >"$1.serve.out" 2>"$1.serve.err" &
	PIDS="$PIDS $!"
	LASTPID=$!
	i=0
	while ! grep -q '^listening on port' "$1.serve.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || bail "pingan serve in $1 did not start: $(cat "$1.serve.err")"
		sleep 0.1
	done
	PORT=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' "$1.serve.out")
}
stop_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=
}
# The test's exit status goes through stop_all (wait changes $?).
trap 'st=$?; stop_all; (exit $st); testlib_cleanup' EXIT

new_node city $CITY 湘潭市
new_node yuhu $YUHU 雨湖区
new_node xtx $XTX 湘潭县
link_nodes city yuhu
link_nodes city xtx

serve city
CITYPORT=$PORT
URL="http://127.0.0.1:$CITYPORT"
for n in yuhu xtx; do
	[ $n = yuhu ] && div=430302001001 || div=430321112005
	pg --dir $n peer set $CITY --url "$URL"
	expect_rc 0 "$n points at the city's server"
	pg --dir $n record put volunteer division=$div name=刘洋 points=10 hours=3
	expect_rc 0 "$n writes a record"
	pg --dir $n sync $CITY
	expect_rc 0 "$n syncs with the city (its audit head goes up)"
	# A second sync brings the head the city holds back in a bundle.
	pg --dir $n record put volunteer division=$div name=赵某 points=1 hours=1
	pg --dir $n sync $CITY
	expect_rc 0 "$n syncs again"
done

# ---- an honest child ---------------------------------------------------------

pg --dir yuhu audit verify --against-parent
expect_rc 0 "an honest child passes against the parent over HTTP"
expect_out "fetched over HTTP from $URL" "the output says the proof is the parent's heads file over HTTP"
HEADSEQ=$(sed -n 's/.*recorded (seq \([0-9]*\)).*/\1/p' "$T/out")
[ -n "$HEADSEQ" ] && [ "$HEADSEQ" -ge 2 ] && pass "the parent's head is seq $HEADSEQ" ||
	fail "no head seq in: $(cat "$T/out")"
pg --dir yuhu audit verify --against-parent --json
expect_rc 0 "--json too"
expect_out '"proof": "http"' "the JSON names the proof"
pg --dir yuhu audit verify --against-parent --offline
expect_rc 0 "--offline uses the head kept here"
expect_out "kept in this node's store (a weaker proof" "and says it proves less"
pg --dir yuhu audit verify --against-parent --offline --json
expect_out '"proof": "local"' "the JSON says local"
grep -q "GET /v1/audit/heads 200 $YUHU" city.serve.err &&
	pass "the city's log shows the child's fetch" ||
	fail "no 'GET /v1/audit/heads 200 $YUHU' in the city's log"

# The endpoint by hand: only the caller's head, never a sibling's.
"$PINGAN_NET_REQUEST" --dir yuhu --to $CITY "$URL" /v1/audit/heads >mine.out 2>mine.err ||
	bail "pingan-net-request failed: $(cat mine.err)"
head -n 1 mine.out | grep -q '^HTTP 200$' && pass "a child's signed request gets 200" ||
	fail "a child's request: $(head -n 1 mine.out)"
grep -q "\"code\": \"$YUHU\"" mine.out && pass "the answer holds the caller's head" ||
	fail "the answer lacks $YUHU: $(cat mine.out)"
grep -q "$XTX" mine.out && fail "the answer leaks the head of the sibling $XTX" ||
	pass "the answer holds no sibling's head"
"$PINGAN" --dir city audit heads --out all.json 2>/dev/null
grep -q "$XTX" all.json && pass "(the city does hold $XTX's head)" ||
	fail "the city holds no head of $XTX"
# The earliest head the city recorded of yuhu: a chain rewritten from
# entry 2 on no longer holds it, and verify names it.
FIRSTSEQ=$("$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(min(h["seq"] for h in d["heads"] if h["code"] == sys.argv[2]))' all.json $YUHU)
[ "$FIRSTSEQ" -ge 2 ] && [ "$FIRSTSEQ" -lt "$HEADSEQ" ] &&
	pass "the city keeps every head of yuhu (seq $FIRSTSEQ to $HEADSEQ)" ||
	fail "the city's heads of yuhu: first $FIRSTSEQ, last $HEADSEQ"
"$PINGAN_NET_REQUEST" --dir yuhu --to $CITY "$URL" '/v1/audit/heads?all=1' >q.out 2>&1
head -n 1 q.out | grep -q '^HTTP 400$' && pass "a query gets 400" ||
	fail "a query: $(head -n 1 q.out)"

# ---- a child that rewrote its chain and its copy of the parent's head ----------

cp -R yuhu rewritten
"$PY" "$PINGAN_SOURCE_DIR/tests/cli/lib/rewrite_audit.py" rewritten/store.db --parent-copy ||
	bail "cannot rewrite the chain"
pg --dir rewritten audit verify
expect_rc 0 "a rewritten chain passes the plain check"
pg --dir rewritten audit verify --against-parent --offline
expect_rc 0 "and the local check, its copy of the parent's head rewritten too"
pg --dir rewritten audit verify --against-parent
expect_rc 1 "but not against the parent asked over HTTP"
expect_err "audit entry $FIRSTSEQ is bad" "which names the first head the parent recorded"
expect_err "fetched over HTTP from $URL" "and the proof used"
pg --dir rewritten audit verify --against-parent --json
expect_rc 1 "--json exits 1 too"
expect_out "\"bad_seq\": $FIRSTSEQ" "the JSON names the seq"
# Writing on and syncing does not launder the rewrite: the parent keeps
# every head it was sent, not only the newest.
pg --dir rewritten record put volunteer division=430302001001 name=钱某 points=1 hours=1
pg --dir rewritten sync $CITY
expect_rc 0 "the rewritten child writes on and syncs"
pg --dir rewritten sync $CITY
expect_rc 0 "and syncs again (a newer head goes up)"
pg --dir rewritten audit verify --against-parent
expect_rc 1 "the rewrite is still caught once a newer head reached the parent"
expect_err "audit entry $FIRSTSEQ is bad" "still naming the first head the parent recorded"

# ---- refusals ------------------------------------------------------------------

# A pinned peer that is not a child: the city asks its child's server.
serve yuhu
YUHUPORT=$PORT
"$PINGAN_NET_REQUEST" --dir city --to $YUHU --print-headers "http://127.0.0.1:$YUHUPORT" /v1/audit/heads \
	>parent.out 2>parent.err || bail "pingan-net-request failed: $(cat parent.err)"
head -n 1 parent.out | grep -q '^HTTP 403$' && pass "a peer that is not a child gets 403" ||
	fail "a non-child: $(head -n 1 parent.out)"
grep -q 'X-Pingan-Signature' parent.out && pass "the 403 is signed" ||
	fail "the 403 carries no signature"
grep -q '"heads"' parent.out && fail "the 403 carries heads" || pass "and carries no heads"
sqlite3 yuhu/store.db "SELECT operator, action, detail FROM audit WHERE action = 'refuse'" |
	grep -q "^$CITY|refuse|.*audit/heads" && pass "the refusal is in the audit trail" ||
	fail "no refusal of $CITY recorded: $(sqlite3 yuhu/store.db "SELECT * FROM audit WHERE action='refuse'")"

# A stranger's path is not recorded: it may hold anything (an ID number).
sleep 1 # past the second of the refusal above (at most a few are recorded a second)
N0=$(sqlite3 yuhu/store.db "SELECT count(*) FROM audit WHERE action = 'refuse'")
curl -s -o /dev/null "http://127.0.0.1:$YUHUPORT/v1/43030219800101123X/%E5%BC%A0%E4%B8%89" ||
	bail "curl cannot reach the server"
N1=$(sqlite3 yuhu/store.db "SELECT count(*) FROM audit WHERE action = 'refuse'")
[ "$N1" -gt "$N0" ] && pass "an unsigned request to another path is refused and audited" ||
	fail "no refusal recorded for the unsigned request"
sqlite3 yuhu/store.db "SELECT detail FROM audit UNION ALL SELECT reason FROM rejected" |
	grep -q -e 43030219800101123X -e 'E5%BC' -e 张三 &&
	fail "the stranger's path is in the store" || pass "the store keeps the endpoint, not the path"

# A node the city does not know: refused, exit 2.
new_node yuetang $YUETANG 岳塘区
"$PINGAN" --dir yuetang peer add --card city.card --role parent >/dev/null 2>&1 ||
	bail "岳塘区 cannot pin the city"
pg --dir yuetang peer set $CITY --url "$URL"
refuse 2 "refused" "a child the parent does not know is refused" \
	--dir yuetang audit verify --against-parent
expect_err "$URL" "the refusal names the URL"

# The parent down: exit 1, naming the URL and --heads.
stop_all
pg --dir yuhu audit verify --against-parent
expect_rc 1 "an unreachable parent"
expect_pingan_error "an unreachable parent"
expect_err "cannot reach the parent $CITY at $URL" "names the parent and its URL"
expect_err "--heads FILE" "and says to give --heads FILE"
expect_empty_out "nothing on stdout"
pg --dir yuhu audit verify --against-parent --offline
expect_rc 0 "--offline still works without the parent"
refuse 2 "--offline" "--offline with --heads" --dir yuhu audit verify --heads all.json --offline
pg --dir yuhu audit verify --help
expect_out "--offline" "verify --help explains --offline"

finish
