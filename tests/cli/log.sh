#!/bin/sh
# pingan log: every local write is one signed txn, numbered without gaps;
# --since/--limit; and tampering with the stored log is visible
# (DESIGN §3, §9, §11).
. "$(dirname "$0")/lib/testlib.sh"

KEYS="seq origin origin_seq hlc collection division operator changes digest signature_ok"

new_node node 430302 雨湖区
PINGAN_DIR=$T/node
export PINGAN_DIR
SNAP_COLLECTIONS="dispute hazard"

pg log --json
expect_rc 0 "log of a new node"
[ "$(tr -d ' \n' <"$T/out")" = "[]" ] && pass "a new node's log is []" ||
	fail "a new node's log is not empty"
pg log
expect_rc 0 "text log of a new node"
[ "$(wc -l <"$T/out")" -le 1 ] && pass "text log of a new node has no entries" ||
	fail "text log of a new node lists entries"

# ---- a few writes of every kind ------------------------------------------

pg --operator 网格员甲 record put dispute division=430302001001 \
	dispute_type=邻里纠纷 summary='楼上漏水引发邻里纠纷' status=登记受理
D1=$(cat "$T/out")
pg --operator 调解员乙 record put dispute --id "$D1" status=调解中
pg --operator 网格员甲 record put hazard division=430302002003 \
	category=公共安全风险 description='电动车楼道充电'
H1=$(cat "$T/out")
# A rejected write and a failed import consume no sequence number.
pg record put dispute division=430302001001 dispute_type=打架 summary=x
expect_rc 2 "a rejected write"
printf '%s\n' \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "好"}' \
	'{"division": "430304001001", "dispute_type": "邻里纠纷", "summary": "坏"}' \
	>bad.jsonl
pg record import dispute bad.jsonl
expect_rc 2 "a failed import"
printf '%s\n' \
	'{"division": "430302001001", "dispute_type": "劳资纠纷", "summary": "欠薪"}' \
	'{"division": "430302002001", "dispute_type": "物业管理", "summary": "停车位"}' \
	'{"division": "430302001001", "dispute_type": "合同履行", "summary": "装修款"}' \
	>good.jsonl
pg --operator 导入员 record import dispute good.jsonl
expect_rc 0 "an import across two divisions"
pg --operator 网格员甲 record delete hazard "$H1"
expect_rc 0 "a delete"
N=6 # put, update, put, two import txns, delete

pg log --json
expect_rc 0 "log --json"
cp "$T/out" log.json
for k in $KEYS; do
	[ "$(json_count "$k" log.json)" = $N ] && pass "every entry has \"$k\"" ||
		fail "\"$k\" appears $(json_count "$k" log.json) times, expected $N"
done
[ "$(json_values signature_ok log.json | sort -u)" = true ] &&
	pass "every signature verifies" || fail "a signature does not verify"
[ "$(json_values seq log.json | tr '\n' ' ')" = "1 2 3 4 5 6 " ] &&
	pass "local seq is 1..$N" || fail "local seq is $(json_values seq log.json | tr '\n' ' ')"
[ "$(json_values origin_seq log.json | tr '\n' ' ')" = "1 2 3 4 5 6 " ] &&
	pass "origin_seq is 1..$N: no gap after a rejected write or failed import" ||
	fail "origin_seq is $(json_values origin_seq log.json | tr '\n' ' ')"
[ "$(json_values origin log.json | sort -u)" = 430302000000 ] &&
	pass "every origin is this node" || fail "unexpected origin"
[ "$(json_values collection log.json | tr '\n' ' ')" = \
	"dispute dispute hazard dispute dispute hazard " ] &&
	pass "collections in order" || fail "wrong collections: $(json_values collection log.json | tr '\n' ' ')"
[ "$(json_values division log.json | tr '\n' ' ')" = \
	"430302001001 430302001001 430302002003 430302001001 430302002001 430302002003 " ] &&
	pass "one division per txn; the import split by division" ||
	fail "wrong divisions: $(json_values division log.json | tr '\n' ' ')"
[ "$(json_values operator log.json | tr '\n' ' ')" = \
	"网格员甲 调解员乙 网格员甲 导入员 导入员 网格员甲 " ] &&
	pass "operators recorded per txn" ||
	fail "wrong operators: $(json_values operator log.json | tr '\n' ' ')"
# put: division, dispute_type, summary, status; update: status; hazard: 3;
# import: 2 records x 3 fields, 1 x 3; delete: the tombstone.
[ "$(json_values changes log.json | tr '\n' ' ')" = "4 1 3 6 3 1 " ] &&
	pass "change counts" || fail "wrong change counts: $(json_values changes log.json | tr '\n' ' ')"
bad=$(json_values digest log.json | grep -vcE '^[0-9a-f]{64}$' || true)
[ "$bad" = 0 ] && pass "digests are 64 hex digits" || fail "$bad malformed digests"
[ "$(json_values digest log.json | sort -u | wc -l)" = $N ] &&
	pass "digests are distinct" || fail "repeated digests"
# Compared as digit strings: awk's doubles cannot tell n from n + 1 here.
json_values hlc log.json | awk '
	NR > 1 && (length($1) < length(prev) ||
		(length($1) == length(prev) && $1 "" <= prev "")) { bad = 1 }
	{ prev = $1 "" }
	END { exit bad }' &&
	pass "hlc strictly increases" || fail "hlc does not increase"
now=$(date +%s)
json_values hlc log.json | awk -v now="$now" '
	{ s = $1 / 65536 / 1000; if (s < now - 600 || s > now + 600) bad = 1 }
	END { exit bad }' && pass "hlc carries the wall clock in ms << 16" ||
	fail "hlc is not near the wall clock"

# ---- --since and --limit ------------------------------------------------------

pg log --json --since 2
expect_rc 0 "log --since 2"
[ "$(json_values seq "$T/out" | tr '\n' ' ')" = "3 4 5 6 " ] &&
	pass "--since 2 lists seq 3..6" || fail "--since 2 listed $(json_values seq "$T/out" | tr '\n' ' ')"
pg log --json --since 6
[ "$(tr -d ' \n' <"$T/out")" = "[]" ] && pass "--since the last seq lists nothing" ||
	fail "--since 6 listed entries"
pg log --json --since 1 --limit 2
[ "$(json_values seq "$T/out" | tr '\n' ' ')" = "2 3 " ] &&
	pass "--since 1 --limit 2 lists seq 2 and 3" ||
	fail "--since 1 --limit 2 listed $(json_values seq "$T/out" | tr '\n' ' ')"
refuse 2 "abc" "--since abc" log --since abc
refuse 2 "-1" "--since -1" log --since -1
refuse 2 "x" "--limit x" log --limit x
refuse 2 "extra" "an unexpected operand" log extra

pg log
expect_rc 0 "text log"
[ "$(grep -c 'signature ok' "$T/out")" = $N ] &&
	pass "text log: one 'signature ok' line per entry" ||
	fail "text log has $(grep -c 'signature ok' "$T/out") verified lines"
expect_out "导入员" "text log shows the operator"

# ---- tampering is visible -------------------------------------------------------

if ! command -v sqlite3 >/dev/null 2>&1; then
	fail "sqlite3 is not installed (tools/setup installs it): tampering not tested"
	finish
fi
cp -R node pristine

# 1. A stored digest that does not match the body.
sqlite3 node/store.db "UPDATE log SET digest = zeroblob(32) WHERE seq = 1" ||
	bail "sqlite3 could not update the log"
pg log --json
expect_rc 0 "log still lists a log with a bad digest"
cp "$T/out" t1.json
[ "$(json_values signature_ok t1.json | tr '\n' ' ')" = \
	"false true true true true true " ] &&
	pass "a zeroed digest shows signature_ok false for that entry only" ||
	fail "after zeroing digest 1: $(json_values signature_ok t1.json | tr '\n' ' ')"
[ "$(json_value digest t1.json)" = \
	0000000000000000000000000000000000000000000000000000000000000000 ] &&
	pass "the listed digest is the stored one" || fail "listed digest is not the stored one"
pg log
expect_out "SIGNATURE NOT VERIFIED" "text log flags the entry"

# 2. A body changed in place: the operator 调解员乙 of seq 2 becomes 调解员丙
#    (same length, so the protobuf still decodes).
from=$(printf '调解员乙' | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
to=$(printf '调解员丙' | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
body=$(sqlite3 node/store.db "SELECT hex(body) FROM log WHERE seq = 2")
new=$(printf '%s\n' "$body" | sed "s/$from/$to/")
[ "$new" != "$body" ] || bail "operator not found in the body of seq 2"
sqlite3 node/store.db "UPDATE log SET body = X'$new' WHERE seq = 2"
pg log --json
cp "$T/out" t2.json
[ "$(json_values operator t2.json | sed -n 2p)" = 调解员丙 ] &&
	pass "the altered body decodes (operator now 调解员丙)" ||
	fail "the altered body did not decode as intended"
[ "$(json_values signature_ok t2.json | sed -n 2p)" = false ] &&
	pass "an altered operator breaks the signature" ||
	fail "an altered operator still verifies"

# 3. The division of seq 3 moved to another community.
from=$(printf '430302002003' | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
to=$(printf '430302002004' | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
body=$(sqlite3 node/store.db "SELECT hex(body) FROM log WHERE seq = 3")
new=$(printf '%s\n' "$body" | sed "s/$from/$to/g")
[ "$new" != "$body" ] || bail "division not found in the body of seq 3"
sqlite3 node/store.db "UPDATE log SET body = X'$new' WHERE seq = 3"
pg log --json
[ "$(json_values signature_ok "$T/out" | sed -n 3p)" = false ] &&
	pass "an altered division breaks the signature" ||
	fail "an altered division still verifies"
[ "$(json_values signature_ok "$T/out" | sed -n '4,$p' | sort -u)" = true ] &&
	pass "untouched entries still verify" || fail "untouched entries no longer verify"

# 4. A body that no longer decodes: a clear error, not a crash.
sqlite3 pristine/store.db "UPDATE log SET body = X'FFFFFFFF' WHERE seq = 4"
refuse 1 "4" "a log entry that does not decode" --dir pristine log --json
expect_err_re "damaged|corrupt" "the error says the entry is damaged"

finish
