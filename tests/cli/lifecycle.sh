#!/bin/sh
# Status lifecycles and deadlines, in English (LANG=C) and Chinese
# (LANG=zh_CN.UTF-8): a local write that breaks a lifecycle is refused with
# the allowed next states and changes nothing; a replicated one is applied
# on both nodes and listed identically by `lifecycle check` on both;
# `overdue` gives each escalation level (普通/黄牌/红牌督办) and `status`
# the count; JSON is the same in both languages; bad input is refused.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"
locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$' ||
	bail "the zh_CN.UTF-8 locale is needed (tools/setup generates it)"

# en|zh ARG...: pingan in English or in Chinese.
en() {
	run env -u LC_ALL -u LANGUAGE LANG=C "$PINGAN" "$@"
}
zh() {
	run env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 "$PINGAN" "$@"
}
# pyj FILE EXPR: a Python expression on the JSON in FILE (as d).
pyj() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print(json.dumps(r, ensure_ascii=False, sort_keys=True) if not isinstance(r, str) else r)' "$1" "$2"
}
# cst SECONDS: the time SECONDS from now, as CST text.
cst() {
	date -u -d "@$(($(date +%s) + $1 + 8 * 3600))" +%Y-%m-%dT%H:%M:%S+08:00
}

# 湘潭县 and 石潭镇; records in 新合村委会 (real codes).
COUNTY=430321000000
TOWN=430321112000
VILLAGE=430321112228
PINGAN_OPERATOR=网格员甲
export PINGAN_OPERATOR
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
link_nodes county town
SNAP_COLLECTIONS="grid_event supervision hazard"

# ---- the tables -------------------------------------------------------------

en lifecycle show grid_event
expect_rc 0 "lifecycle show grid_event"
expect_out "initial: 上报" "the table names the initial state"
expect_out_re "^  上报 +→ 受理, 不予受理$" "上报 → 受理, 不予受理"
zh lifecycle show grid_event
expect_out "初始状态：上报" "the table in Chinese"
expect_out "网格事项" "with the collection's Chinese title"
for c in hazard dispute grid_event supervision volunteer fraud_alert drill; do
	en lifecycle show $c --json
	cp "$T/out" show.en
	zh lifecycle show $c --json
	cmp -s show.en "$T/out" && pass "lifecycle show $c --json is the same in both languages" ||
		fail "lifecycle show $c --json differs between languages"
done
[ "$(pyj show.en 'd["initial"]')" = '["计划"]' ] &&
	pass "drill starts in 计划" || fail "drill initial: $(pyj show.en 'd["initial"]')"

# ---- local writes -------------------------------------------------------------

en --dir town record put grid_event division=$VILLAGE category=城市管理 subject=村道路灯损坏 status=上报
expect_rc 0 "石潭镇 registers a grid event"
G=$(cat "$T/out")
snapshot town before
en --dir town record put grid_event --id "$G" status=结案
expect_rc 2 "上报 → 结案 refused"
expect_err "status 上报 → 结案 is not allowed for grid_event $G; allowed next: 受理, 不予受理" \
	"the error names the record, the step and the allowed next states"
expect_empty_out "上报 → 结案"
expect_unchanged town before "a refused illegal step"
zh --dir town record put grid_event --id "$G" status=结案
expect_rc 2 "上报 → 结案 refused in Chinese"
expect_err "允许的下一状态：受理, 不予受理" "the Chinese error lists the allowed next states"
expect_unchanged town before "a refused illegal step (Chinese)"
en --dir town record get grid_event "$G" --json
[ "$(json_value status "$T/out")" = 上报 ] && pass "the record is still 上报" ||
	fail "status is $(json_value status "$T/out")"
en --dir town record put grid_event division=$VILLAGE category=城市管理 subject=井盖缺失 status=派遣
expect_rc 2 "a new record in 派遣 refused"
expect_err "allowed initial: 上报" "the error names the initial state"
expect_unchanged town before "a refused new record"
en --dir town record put grid_event --id "$G" status=
expect_rc 2 "clearing a status refused"
expect_unchanged town before "a refused clearing"
cat >bad.jsonl <<EOF
{"division": "$VILLAGE", "category": "城市管理", "subject": "路面塌陷", "status": "上报"}
{"division": "$VILLAGE", "category": "城市管理", "subject": "护栏损坏", "status": "核查"}
EOF
en --dir town record import grid_event bad.jsonl
expect_rc 2 "an import with a record not new refused"
expect_err "line 2" "the error names the line"
expect_unchanged town before "a refused import"

# ---- a replicated illegal step ----------------------------------------------

en --dir town export --to $COUNTY --out up1.pgb
en --dir county import up1.pgb
expect_rc 0 "the county receives the reported event"
# Apart: 石潭镇 accepts it, then the county rejects it.  Each step is legal
# where it is written; in version order they read 受理 → 不予受理.
en --dir town record put grid_event --id "$G" status=受理
expect_rc 0 "石潭镇: 上报 → 受理"
sleep 1
en --operator 县平安办乙 --dir county record put grid_event --id "$G" status=不予受理
expect_rc 0 "the county: 上报 → 不予受理"
en --dir town export --to $COUNTY --out up2.pgb
en --dir county import up2.pgb
expect_rc 0 "the county applies 石潭镇's 受理"
en --dir county export --to $TOWN --out down.pgb
en --dir town import down.pgb
expect_rc 0 "石潭镇 applies the county's 不予受理"
for n in county town; do
	en --dir $n record get grid_event "$G" --json
	[ "$(json_value status "$T/out")" = 不予受理 ] &&
		pass "$n holds 不予受理 (applied, the later write wins)" ||
		fail "$n holds $(json_value status "$T/out")"
done
for n in county town; do
	en --dir $n lifecycle check --json
	expect_rc 1 "$n: lifecycle check finds the step"
	cp "$T/out" check.$n
	zh --dir $n lifecycle check --json
	cmp -s check.$n "$T/out" && pass "$n: lifecycle check --json is the same in both languages" ||
		fail "$n: lifecycle check --json differs between languages"
done
cmp -s check.county check.town && pass "both nodes list the same findings" ||
	fail "the nodes' findings differ"
[ "$(pyj check.county '[d["count"]] + [[f["id"], f["from"], f["to"], f["origin"], f["operator"], f["allowed"]] for f in d["findings"]]')" = \
	"[1, [\"$G\", \"受理\", \"不予受理\", \"$COUNTY\", \"县平安办乙\", [\"派遣\", \"自办\", \"上报上级\", \"回退\"]]]" ] &&
	pass "the finding: 受理 → 不予受理 by the county's 县平安办乙, with the allowed next" ||
	fail "findings: $(pyj check.county 'd')"
pyj check.county 'd["findings"][0]["at"]' | grep -qE '^20[0-9-]+T[0-9:.]+\+08:00$' &&
	pass "the time is CST" || fail "time: $(pyj check.county 'd["findings"][0]["at"]')"
en --dir town lifecycle check
expect_rc 1 "lifecycle check (text) exits 1 on findings"
expect_out "grid_event $G: 受理 → 不予受理" "the text names the step"
expect_out "by $COUNTY, operator 县平安办乙" "and who made it"
expect_out "1 status steps break their lifecycle" "and counts them"
zh --dir town lifecycle check
expect_out "操作员 县平安办乙" "the text in Chinese"
expect_out "允许的下一状态：派遣, 自办, 上报上级, 回退" "the allowed next states in Chinese"
en --dir town lifecycle check hazard
expect_rc 0 "no finding for hazards"
expect_out "no findings" "said in English"
zh --dir town lifecycle check hazard
expect_out "未发现问题" "said in Chinese"

# ---- deadlines --------------------------------------------------------------

DAY=86400
HOUR=3600
# sv ISSUED DEADLINE [FIELD=VALUE...]: the county orders 石潭镇; prints the id.
sv() {
	_issued=$1
	_deadline=$2
	shift 2
	en --dir county record put supervision division=$TOWN kind=督办 issuing_node=$COUNTY \
		target_unit=石潭镇人民政府 status=已下达 deadline="$_deadline" ${_issued:+issued_at="$_issued"} "$@"
	[ "$RC" = 0 ] || fail "supervision not written: $(cat "$T/err")"
	cat "$T/out"
}
NORMAL=$(sv "$(cst $((-10 * DAY - 5 * HOUR)))" "$(cst $((-5 * HOUR)))" reason=超期未办结)
YELLOW=$(sv "$(cst $((-13 * DAY)))" "$(cst $((-3 * DAY)))")
RED=$(sv "$(cst $((-5 * DAY)))" "$(cst $((-3 * DAY)))")
NOSTART=$(sv "" "$(cst $((-8 * DAY)))")
RAISED=$(sv "$(cst $((-2 * DAY)))" "$(cst $((-2 * HOUR)))" level=红牌督办)
LATER=$(sv "$(cst $((-1 * DAY)))" "$(cst $((2 * DAY)))")
DONE=$(sv "$(cst $((-20 * DAY)))" "$(cst $((-10 * DAY)))")
en --dir county record put supervision --id "$DONE" status=已撤销
expect_rc 0 "an order withdrawn"
en --dir county record put hazard division=$VILLAGE category=公共安全风险 status=发现登记 \
	description=山塘堤坝渗水 discovered_at="$(cst $((-30 * DAY)))" rectify_deadline="$(cst $((-10 * DAY)))"
expect_rc 0 "a hazard 10 days past a 20-day limit"
HZ=$(cat "$T/out")
en --dir county overdue --json
expect_rc 0 "overdue --json"
cp "$T/out" overdue.en
[ "$(pyj overdue.en 'sorted([(x["id"], x["level"]) for x in d])')" = "$(
	"$PY" -c 'import json, sys; print(json.dumps(sorted(zip(sys.argv[1::2], sys.argv[2::2])), ensure_ascii=False, sort_keys=True).replace("(", "[").replace(")", "]"))' \
		"$NORMAL" 普通督办 "$YELLOW" 黄牌督办 "$RED" 红牌督办 "$NOSTART" 红牌督办 "$RAISED" 红牌督办 "$HZ" 黄牌督办
)" ] && pass "each order at its level; the withdrawn and the future ones absent" ||
	fail "levels: $(pyj overdue.en '[(x["id"], x["level"]) for x in d]')"
[ "$(pyj overdue.en 'all(a["overdue_ms"] >= b["overdue_ms"] for a, b in zip(d, d[1:])) and d[0]["id"]')" = "$HZ" ] &&
	pass "most overdue first" || fail "order: $(pyj overdue.en '[(x["id"], x["overdue_ms"]) for x in d]')"
[ "$(pyj overdue.en "[(x['overdue_days'], x['level_from_record']) for x in d if x['id'] == '$RAISED']")" = '[[0, true]]' ] &&
	pass "a level set on the order is kept (never lower)" ||
	fail "raised: $(pyj overdue.en "[x for x in d if x['id'] == '$RAISED']")"
[ "$(pyj overdue.en "[x['limit_ms'] for x in d if x['id'] == '$NOSTART']")" = '[604800000]' ] &&
	pass "no issued_at: a 7-day limit" || fail "limit: $(pyj overdue.en "[x['limit_ms'] for x in d if x['id'] == '$NOSTART']")"
zh --dir county overdue --json
STABLE='[{k: v for k, v in x.items() if k not in ("overdue_ms", "overdue_hours", "overdue_days")} for x in d]'
[ "$(pyj overdue.en "$STABLE")" = "$(pyj "$T/out" "$STABLE")" ] &&
	pass "overdue --json is the same in both languages" || fail "overdue --json differs between languages"
en --dir county overdue
expect_rc 0 "overdue"
expect_out "OVERDUE" "English headings"
expect_out_re "^3 d [0-9]+ h +黄牌督办 +supervision $YELLOW" "3 days late: 黄牌督办, in days and hours"
expect_out "6 overdue" "the count"
zh --dir county overdue
expect_out "超期" "Chinese headings"
expect_out_re "^3天[0-9]+小时 +黄牌督办" "days and hours in Chinese"
expect_out "共 6 项超期" "the count in Chinese"
en --dir county status
expect_out_re "^overdue +6 past their deadline" "status shows the overdue count"
zh --dir county status
expect_out_re "^超期事项 +6 项已超过期限" "status shows the count in Chinese"
en --dir county status --json
[ "$(pyj "$T/out" 'd["overdue"]')" = 6 ] && pass "status --json has overdue: 6" ||
	fail "status --json overdue: $(pyj "$T/out" 'd.get("overdue")')"
# 石潭镇 holds the orders addressed to it, and the hazard of its village,
# once they travel down.
en --dir county export --to $TOWN --out down2.pgb
en --dir town import down2.pgb
en --dir town overdue --json
[ "$(pyj "$T/out" 'sorted(x["id"] for x in d)')" = "$(pyj overdue.en 'sorted(x["id"] for x in d)')" ] &&
	pass "石潭镇 sees the same six: the open orders addressed to it and its village's hazard" ||
	fail "石潭镇 overdue: $(pyj "$T/out" '[x["id"] for x in d]')"

# ---- bad input --------------------------------------------------------------

snapshot county before
refuse 2 "nope" "lifecycle show of an unknown collection" lifecycle show nope
refuse 2 "key_person" "lifecycle check of a collection without one" --dir county lifecycle check key_person
refuse 2 "COLLECTION" "lifecycle show without a collection" lifecycle show
refuse 2 "extra" "overdue with an operand" --dir county overdue extra
zh lifecycle show nope
expect_rc 2 "unknown collection refused in Chinese"
expect_err "没有生命周期" "the refusal in Chinese"
expect_unchanged county before "refused commands"
en lifecycle --help
expect_rc 0 "lifecycle --help"
expect_out "check" "lifecycle --help lists check"
en overdue --help
expect_rc 0 "overdue --help"
expect_out "red card" "overdue --help explains the levels"

finish
