#!/bin/sh
# pingan record import: JSON lines in, one txn per division and batch, all
# or nothing; a bad line is named and imports nothing (DESIGN §3, §11).
. "$(dirname "$0")/lib/testlib.sh"

new_node node 430302 雨湖区
PINGAN_DIR=$T/node
export PINGAN_DIR
SNAP_COLLECTIONS="dispute"

count() { # COLLECTION [--where ...]: records listed
	"$PINGAN" record list "$@" --json </dev/null >count.json 2>/dev/null ||
		echo "list failed" >count.json
	json_count id count.json
}

# Eight disputes in two communities; numbers for int, real and time (ms),
# booleans, null, a blank line and a CRLF line ending.
cat >disputes.jsonl <<'EOF'
{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "楼上卫生间漏水，楼下天花板霉变", "party_count": 2, "status": "登记受理", "source": "网格排查"}
{"division": "430302001001", "dispute_type": "物业管理", "summary": "业主以电梯故障为由拒交物业费", "amount_involved": 3600.5, "applicant_name": "陈建国", "applicant_phone": "13973201234"}
{"division": "430302002003", "dispute_type": "婚姻家庭", "summary": "离婚后子女探视时间争议", "accepted_at": 1795743267317, "cross_region": false}

{"division": "430302002003", "dispute_type": "劳资纠纷", "summary": "装修工人讨要拖欠工资", "amount_involved": 12000, "party_count": 7, "escalation_risk": "高"}
{"division": "430302001001", "dispute_type": "房屋宅基地", "summary": "老宅翻修占用公共通道", "respondent_name": "刘某", "outcome": null}
{"division": "430302001001", "dispute_type": "消费纠纷", "summary": "预付卡健身房关门退费难", "accepted_at": "2026-11-26T10:00:00+08:00", "channel": "行政调解"}
{"division": "430302002003", "dispute_type": "合同履行", "summary": "农资买卖合同货款纠纷", "deadline": "2026-12-26T17:30:00+08:00"}
{"division": "430302001001", "dispute_type": "其他", "summary": "广场舞噪音扰民", "cross_region": true, "partner_city": "430100000000"}
EOF
printf '\r\n' >>disputes.jsonl # a last line that is blank but for CRLF

pg record import dispute disputes.jsonl
expect_rc 0 "import 8 hand-written lines"
expect_out "imported 8 dispute records in 2 txns" "summary: 8 records in 2 txns"
[ "$(count dispute)" = 8 ] && pass "8 records listed" ||
	fail "$(count dispute) records listed, expected 8"
[ "$(count dispute --where division=430302001001)" = 5 ] &&
	[ "$(count dispute --where division=430302002003)" = 3 ] &&
	pass "5 + 3 records per division" || fail "wrong count per division"
pg log --json
cp "$T/out" log.json
[ "$(json_count seq log.json)" = 2 ] && pass "one txn per division" ||
	fail "$(json_count seq log.json) txns, expected 2"
[ "$(json_values division log.json | sort | tr '\n' ' ')" = "430302001001 430302002003 " ] &&
	pass "each txn has one division" || fail "txn divisions: $(json_values division log.json | tr '\n' ' ')"
[ "$(json_values signature_ok log.json | sort -u)" = true ] &&
	pass "imported txns are signed" || fail "imported txn does not verify"

pg record list dispute --where summary=离婚后子女探视时间争议 --json
grep -qxF '    "accepted_at": "2026-11-27T09:34:27.317+08:00",' "$T/out" &&
	pass "a time given in ms round-trips" || fail "time in ms not stored"
grep -qxF '    "cross_region": false,' "$T/out" && pass "a JSON boolean round-trips" ||
	fail "boolean not stored"
pg record list dispute --where summary=装修工人讨要拖欠工资 --json
grep -qxF '    "amount_involved": 12000.0,' "$T/out" &&
	grep -qxF '    "party_count": 7,' "$T/out" &&
	pass "JSON numbers for real and int round-trip" || fail "numbers not stored"
pg record list dispute --where summary=广场舞噪音扰民 --json
grep -qxF '    "partner_city": "430100000000",' "$T/out" &&
	pass "a division outside the node is fine in a non-division field" ||
	fail "partner_city not stored"

pg record import dispute disputes.jsonl --json
expect_rc 0 "import --json"
[ "$(json_value records "$T/out")" = 8 ] && [ "$(json_value txns "$T/out")" = 2 ] &&
	[ "$(json_value lines "$T/out")" = 10 ] &&
	pass "--json summary: 10 lines, 8 records, 2 txns" || fail "wrong --json summary"
[ "$(count dispute)" = 16 ] && pass "a second import adds 8 more" ||
	fail "$(count dispute) records after two imports"

pg_stdin disputes.jsonl record import dispute -
expect_rc 0 "import from standard input"
[ "$(count dispute)" = 24 ] && pass "'-' reads standard input" ||
	fail "$(count dispute) records after importing stdin"

pg record import dispute disputes.jsonl --batch 2
expect_rc 0 "import with --batch 2"
[ "$(count dispute)" = 32 ] && pass "--batch 2 imports all 8" ||
	fail "$(count dispute) records after --batch 2"
pg log --json
json_values origin_seq "$T/out" | awk '$1 != NR { bad = 1 } END { exit bad }' &&
	pass "origin_seq stays gap-free across imports" || fail "origin_seq has gaps"
[ "$(json_count seq "$T/out")" -ge 10 ] &&
	pass "--batch 2 makes at least 4 txns" || fail "--batch 2 made too few txns"

# ---- a bad line imports nothing --------------------------------------------

snapshot "$PINGAN_DIR" before
good1='{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "好的第一行"}'
good2='{"division": "430302002003", "dispute_type": "婚姻家庭", "summary": "好的第二行"}'

bad_line3() { # WHAT NEEDLE LINE3 [IMPORT OPTION]...
	_what=$1
	_needle=$2
	printf '%s\n%s\n%s\n%s\n' "$good1" "$good2" "$3" "$good1" >bad.jsonl
	shift 3
	refuse 2 "line 3" "$_what" record import dispute bad.jsonl "$@"
	expect_err "$_needle" "$_what: the error names '$_needle'"
	expect_unchanged "$PINGAN_DIR" before "$_what"
}
bad_line3 "line 3 is not JSON" "line 3" '{"division": "430302001001", "summary": '
bad_line3 "line 3 is a JSON array" "line 3" '["430302001001"]'
bad_line3 "line 3 has an unknown field" "nosuch" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "nosuch": 1}'
bad_line3 "line 3 has a bad enum value" "dispute_type" \
	'{"division": "430302001001", "dispute_type": "打架", "summary": "x"}'
bad_line3 "line 3 lies outside the jurisdiction" "430304001001" \
	'{"division": "430304001001", "dispute_type": "邻里纠纷", "summary": "x"}'
bad_line3 "line 3 lacks a required field" "summary" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷"}'
bad_line3 "line 3 has a string for an int" "party_count" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "party_count": "两"}'
bad_line3 "line 3 has a real for an int" "party_count" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "party_count": 1.5}'
bad_line3 "line 3 has a bad phone" "applicant_phone" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "applicant_phone": "12812345678"}'
bad_line3 "line 3 has a time without offset" "accepted_at" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "accepted_at": "2026-11-26T10:00:00"}'
bad_line3 "line 3 repeats a key" "line 3" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "summary": "y"}'
bad_line3 "line 3 has invalid UTF-8" "line 3" \
	"$(printf '{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "\377"}')"
bad_line3 "line 3 writes _deleted" "deleted" \
	'{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "x", "_deleted": true}'
# Earlier batches were already written inside the SQLite transaction:
# they must be rolled back too.
bad_line3 "bad line 3 after full batches (--batch 1)" "dispute_type" \
	'{"division": "430302001001", "dispute_type": "打架", "summary": "x"}' --batch 1

# A bad line far into a file: the number is still right.
{
	i=1
	while [ $i -le 600 ]; do
		printf '%s\n' "$good1"
		i=$((i + 1))
	done
	printf '%s\n' '{"division": "430302001001", "dispute_type": "打架", "summary": "x"}'
} >late.jsonl
refuse 2 "line 601" "a bad line 601 after 600 good ones" record import dispute late.jsonl
expect_unchanged "$PINGAN_DIR" before "a bad line 601"

# ---- usage errors -------------------------------------------------------------

refuse 2 "0" "--batch 0" record import dispute disputes.jsonl --batch 0
refuse 2 "abc" "--batch abc" record import dispute disputes.jsonl --batch abc
refuse 2 "-5" "--batch -5" record import dispute disputes.jsonl --batch -5
refuse 2 "4096" "--batch 4097" record import dispute disputes.jsonl --batch 4097
refuse 2 "missing.jsonl" "a missing file" record import dispute missing.jsonl
refuse 2 "nosuch" "an unknown collection" record import nosuch disputes.jsonl
refuse 2 "node" "the system collection" record import node disputes.jsonl
refuse 2 "FILE" "no file" record import dispute
refuse 2 "operator" "an operator with a line break" \
	--operator "$(printf '导入员\n伪造')" record import dispute disputes.jsonl
expect_unchanged "$PINGAN_DIR" before "usage errors"

: >empty.jsonl
pg record import dispute empty.jsonl --json
expect_rc 0 "an empty file"
[ "$(json_value records "$T/out")" = 0 ] && pass "an empty file imports 0 records" ||
	fail "an empty file imported records"
expect_unchanged "$PINGAN_DIR" before "an empty import"

# ---- bulk, from the generator --------------------------------------------------

if gen_available; then
	run "$PINGAN_GEN" dispute 2000 --seed 7 --division 430302
	expect_rc 0 "pingan-gen dispute 2000"
	cp "$T/out" bulk.jsonl
	[ "$(wc -l <bulk.jsonl)" = 2000 ] && pass "the generator wrote 2000 lines" ||
		fail "the generator wrote $(wc -l <bulk.jsonl) lines"
	outside=$(grep -vc '"division": *"430302[0-9]\{6\}"' bulk.jsonl || true)
	[ "$outside" = 0 ] && pass "every generated division is inside 430302" ||
		fail "$outside generated records lie outside 430302"
	run "$PINGAN_GEN" dispute 2000 --seed 7 --division 430302
	cmp -s "$T/out" bulk.jsonl && pass "the same seed gives the same data" ||
		fail "the generator is not deterministic for a seed"

	new_node bulk 430302 雨湖区
	pg --dir bulk record import dispute bulk.jsonl --json
	expect_rc 0 "import 2000 generated disputes"
	[ "$(json_value records "$T/out")" = 2000 ] && pass "2000 records imported" ||
		fail "$(json_value records "$T/out") records imported"
	[ "$(count --dir bulk dispute)" = 2000 ] && pass "2000 records listed" ||
		fail "$(count --dir bulk dispute) records listed"
	pg --dir bulk log --json
	[ "$(json_values signature_ok "$T/out" | sort -u)" = true ] &&
		pass "every bulk txn verifies" || fail "a bulk txn does not verify"
	json_values origin_seq "$T/out" | awk '$1 != NR { bad = 1 } END { exit bad }' &&
		pass "bulk origin_seq is gap-free" || fail "bulk origin_seq has gaps"
	bad=$(json_values changes "$T/out" | awk '$1 > 4096' | wc -l)
	[ "$bad" = 0 ] && pass "no txn holds more than 4096 changes" ||
		fail "$bad txns exceed 4096 changes"
else
	echo "# skip: bulk import (PINGAN_GEN='${PINGAN_GEN:-}' is not built yet)"
fi

finish
