#!/bin/sh
# The audit trail (pingan audit, FORMAT.md §9): init and peer actions are
# recorded with the operator from --operator, $PINGAN_OPERATOR or the
# login name; bundles accepted and refused, as files and over HTTP, and a
# refused HTTP request are recorded (over HTTP as the requesting peer);
# no entry holds a personal value written into a record; UPDATE and
# DELETE are refused, and a change made with sqlite3 after dropping the
# triggers is named by `audit verify`; a whole chain rewritten with fresh
# hashes (computed here from the FORMAT.md encoding, in Python) passes the
# plain check but fails against the head the parent holds, from its
# signed heads file or from the copy it sent back; status shows the head
# and what the parent has seen; bad usage exits 2.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
command -v sqlite3 >/dev/null 2>&1 || bail "sqlite3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

CITY=430300000000
COUNTY=430302000000
PHONE=13787654321
IDNO=$(id_number 43030219800101123)
NAME1=刘洋
NAME2=赵某

SPID=
stop_server() {
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
}
# The test's exit status goes through stop_server (wait changes $?).
trap 'st=$?; stop_server; (exit $st); testlib_cleanup' EXIT

# audit_rows DIR: every audit row of a node, as sqlite3 prints them.
audit_rows() {
	sqlite3 "$1/store.db" "SELECT seq, operator, action, subject, detail FROM audit ORDER BY seq"
}

# has_entry DIR OPERATOR ACTION SUBJECT WHAT: an entry with these.
has_entry() {
	if audit_rows "$1" | grep -qF -- "|$2|$3|$4|"; then
		pass "$5"
	else
		fail "$5: no '$3' entry of '$4' by '$2' in $1"
		audit_rows "$1" | tail -5 | sed 's/^/#   /'
	fi
}

# ---- administrative actions, with their operator ----------------------------

pg --dir city --operator 市管理员 init --code $CITY --name 湘潭市
expect_rc 0 "init the city with --operator"
PINGAN_OPERATOR=县管理员 pg --dir county init --code $COUNTY --name 雨湖区
expect_rc 0 "init the county with \$PINGAN_OPERATOR"
has_entry city 市管理员 init $CITY "the city's init is recorded with --operator"
has_entry county 县管理员 init $COUNTY "the county's init is recorded with \$PINGAN_OPERATOR"
"$PINGAN" --dir city card --out city.card 2>/dev/null || bail "no city card"
"$PINGAN" --dir county card --out county.card 2>/dev/null || bail "no county card"

pg --dir city --operator 王科长 peer add --card county.card --role child
expect_rc 0 "the city pins the county"
has_entry city 王科长 peer.add $COUNTY "peer add is recorded with the operator"
pg --dir county peer add --card city.card --role parent
expect_rc 0 "the county pins the city (operator: the login name)"
LOGIN=$(id -un 2>/dev/null || echo unknown)
has_entry county "$LOGIN" peer.add $CITY "without --operator or \$PINGAN_OPERATOR, the login name"
pg --dir city --operator 王科长 peer set $COUNTY --url http://127.0.0.1:9
expect_rc 0 "peer set"
has_entry city 王科长 peer.set $COUNTY "peer set is recorded"
pg --dir city --operator 王科长 peer set 430304000000 --url http://127.0.0.1:9
expect_rc 2 "peer set of a node that is not a peer"
if audit_rows city | grep -q '430304000000'; then
	fail "a refused peer set left an entry"
else
	pass "a refused administrative action leaves no entry"
fi

# ---- bundles accepted and refused ------------------------------------------

pg --dir county --operator 录入员 record put volunteer division=430302001001 \
	name=$NAME1 phone=$PHONE points=10 hours=3
expect_rc 0 "the county writes a volunteer with a name and a phone"
pg --dir county --operator 录入员 record put key_person division=430302001001 \
	category=社区矫正对象 name=$NAME2 id_number="$IDNO"
expect_rc 0 "the county writes a key person with an ID number"
pg --dir county export --to $CITY --out up1.pgb
expect_rc 0 "the county exports to the city"
pg --dir city --operator 收件员 import up1.pgb
expect_rc 0 "the city imports it"
has_entry city 收件员 bundle.accept $COUNTY "an accepted bundle is recorded"
# The key person stays at the county (capped there): one txn reaches the
# city.
audit_rows city | grep 'bundle.accept' | grep -q '"applied":1,' &&
	pass "the entry counts the txns applied" ||
	fail "the bundle.accept entry lacks \"applied\":1"

# The same bundle cut short: refused whole.
head -c 300 up1.pgb >cut.pgb
pg --dir city --operator 收件员 import cut.pgb
expect_rc 2 "a truncated bundle is refused"
has_entry city 收件员 refuse "" "a refused bundle file is recorded"
audit_rows city | grep '|refuse|' | grep -q '"source":"bundle"' &&
	pass "the refusal names its source" || fail "the refusal lacks source bundle"

# ---- over HTTP ----------------------------------------------------------------

"$PINGAN" --dir city --operator 服务 serve --listen 127.0.0.1:0 >serve.out 2>serve.err &
SPID=$!
i=0
while ! grep -q '^listening on port' serve.out 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || bail "pingan serve did not start: $(cat serve.err)"
	sleep 0.1
done
PORT=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' serve.out)
pg --dir county peer set $CITY --url "http://127.0.0.1:$PORT"
expect_rc 0 "the county points at the city's server"
pg --dir county --operator 录入员 record put volunteer division=430302001001 \
	name=$NAME1 phone=$PHONE points=1 hours=1
expect_rc 0 "another record"
pg --dir county --operator 同步员 sync $CITY
expect_rc 0 "the county syncs with the city over HTTP"
has_entry city $COUNTY bundle.accept $COUNTY "a pushed bundle is recorded at the server as done by the pushing peer"
has_entry county 同步员 bundle.accept $CITY "a pulled bundle is recorded at the client"
# An unsigned request: 401, recorded.
"$PY" - "$PORT" <<'EOF' >http.out 2>&1 || true
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/v1/pull?after=0" % sys.argv[1], timeout=10)
    print("status 200")
except urllib.error.HTTPError as e:
    print("status", e.code)
EOF
grep -q 'status 401' http.out && pass "an unsigned request gets 401" ||
	fail "an unsigned request: $(cat http.out)"
stop_server
has_entry city "unknown peer" refuse "" "a refused HTTP request is recorded"
audit_rows city | grep '|refuse|' | grep -q '"source":"http"' &&
	pass "the refusal names HTTP" || fail "no refusal with source http"

# ---- no personal values --------------------------------------------------------

for n in city county; do
	sqlite3 "$n/store.db" "SELECT * FROM audit" >"$n.audit"
	"$PINGAN" --dir $n audit list --json >"$n.list" 2>/dev/null
	for v in $PHONE "$IDNO" $NAME1 $NAME2; do
		if grep -qF -- "$v" "$n.audit" "$n.list"; then
			fail "the $n's audit trail holds the personal value '$v'"
		else
			pass "the $n's audit trail does not hold '$v'"
		fi
	done
done
# The values are there to find: the records hold them.
sqlite3 city/store.db "SELECT * FROM volunteer" | grep -qF $PHONE &&
	pass "(the city's records do hold the phone)" || fail "the phone is not in the city's records"

# ---- list ----------------------------------------------------------------

pg --dir city audit list --action peer.add --json
expect_rc 0 "audit list --action --json"
[ "$(json_count seq "$T/out")" = 1 ] && pass "--action keeps one entry" ||
	fail "--action peer.add listed $(json_count seq "$T/out") entries"
expect_out '"operator": "王科长"' "the JSON names the operator"
pg --dir city audit list --since 2999-01-01
expect_rc 0 "audit list --since a future date"
expect_empty_out "nothing after a future date"
pg --dir city audit list --since 2000-01-01
expect_rc 0 "audit list --since a past date"
expect_out "init $CITY" "the text list shows the init"

# ---- the parent holds the head ---------------------------------------------------

pg --dir county audit verify
expect_rc 0 "the county's chain verifies"
expect_out "audit trail intact" "verify says so"
pg --dir city audit heads
expect_rc 0 "audit heads"
expect_out "$COUNTY" "the city holds a head of the county"
pg --dir city audit heads --out heads.json
expect_rc 0 "audit heads --out"
HEADSEQ=$(sed -n 's/^ *"seq": \([0-9]*\),*$/\1/p' heads.json | sort -n | tail -n 1)
[ -n "$HEADSEQ" ] && [ "$HEADSEQ" -ge 3 ] && pass "the heads file names seq $HEADSEQ" ||
	fail "the heads file names no seq"
pg --dir county audit verify --heads heads.json
expect_rc 0 "the county's chain holds the head in the heads file"
expect_out "recorded (seq $HEADSEQ)" "verify names the parent's head"
pg --dir county status
expect_out_re "^audit +head seq [0-9]+; parent $CITY has seen up to seq $HEADSEQ|^audit +head seq [0-9]+; seen by parent $CITY" \
	"status shows the head and what the parent has seen"
pg --dir county audit verify --against-parent --offline
expect_rc 0 "verify --against-parent --offline with the head the parent sent back"
expect_out "kept in this node's store" "which says where the head came from"
pg --dir county audit verify --against-parent
expect_rc 1 "without --offline the parent's server is asked, and it is down"
expect_err "--heads FILE" "the error says to give --heads FILE"

# ---- tampering ----------------------------------------------------------------

cp -R county tampered
sqlite3 tampered/store.db "UPDATE audit SET operator = 'mallory' WHERE seq = 2" 2>sqlite.err &&
	fail "sqlite3 updated the audit table" ||
	pass "the triggers refuse an UPDATE"
sqlite3 tampered/store.db "DELETE FROM audit WHERE seq = 2" 2>sqlite.err &&
	fail "sqlite3 deleted from the audit table" ||
	pass "the triggers refuse a DELETE"
sqlite3 tampered/store.db "DROP TRIGGER audit_no_update; UPDATE audit SET operator = 'mallory' WHERE seq = 2" ||
	bail "cannot tamper"
pg --dir tampered audit verify
expect_rc 1 "a changed operator breaks the chain"
expect_err "audit entry 2 is bad" "verify names entry 2"
pg --dir tampered audit verify --json
expect_rc 1 "verify --json exits 1 too"
expect_out '"bad_seq": 2' "the JSON names entry 2"

# The whole chain rewritten with fresh hashes, from FORMAT.md's encoding.
cp -R county rewritten
"$PY" "$PINGAN_SOURCE_DIR/tests/cli/lib/rewrite_audit.py" rewritten/store.db ||
	bail "cannot rewrite the chain"
pg --dir rewritten audit verify
expect_rc 0 "a rewritten chain passes the plain check (the encoding matches FORMAT.md)"
pg --dir rewritten audit verify --heads heads.json
expect_rc 1 "but not against the parent's heads file"
FIRSTSEQ=$("$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(min(h["seq"] for h in d["heads"] if h["code"] == sys.argv[2]))' heads.json $COUNTY)
expect_err "audit entry $FIRSTSEQ is bad" "which names the first head the parent recorded"
pg --dir rewritten audit verify --against-parent --offline
expect_rc 1 "nor against the head the parent sent back"

# A heads file changed by hand, or not from the parent.
sed "s/\"seq\": $HEADSEQ/\"seq\": 1/" heads.json >forged.json
refuse 2 "signature" "a changed heads file" --dir county audit verify --heads forged.json
pg --dir city audit heads --out own.json
refuse 2 "not this node's parent" "a heads file from a node that is not the parent" \
	--dir city audit verify --heads own.json

# ---- bad usage ------------------------------------------------------------------

pg --dir city audit
expect_rc 2 "audit without a verb"
expect_err "verify" "which lists the verbs"
refuse 2 "frob" "an unknown verb" --dir city audit frob
refuse 2 "--since" "a bad --since" --dir city audit list --since yesterday
refuse 2 "extra" "an extra argument" --dir city audit verify extra
refuse 2 "nothere.json" "a missing heads file" --dir county audit verify --heads nothere.json
echo '{"format": 1' >bad.json
refuse 2 "not JSON" "a heads file that is not JSON" --dir county audit verify --heads bad.json
refuse 2 "twice" "--since twice" --dir city audit list --since 2000-01-01 --since 2000-01-02
refuse 2 "operator" "an administrative action by an operator with a newline" \
	--dir city --operator "$(printf 'a\nb')" peer remove $COUNTY
pg --dir city peer show $COUNTY
expect_rc 0 "the peer is still pinned"
pg --dir city --operator "$(printf 'a\nb')" audit list --action peer.remove
expect_rc 0 "reading works whatever the operator"
expect_empty_out "and no peer.remove was recorded"
pg --dir city audit --help
expect_rc 0 "audit --help"
expect_out "verify" "the help lists the verbs"
pg --dir city audit verify --help
expect_rc 0 "audit verify --help"
expect_out "--against-parent" "verify --help explains --against-parent"

finish
