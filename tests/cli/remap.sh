#!/bin/sh
# pingan division remap|list|show (issue 8): 湘潭市, 雨湖区 and its town
# 鹤岭镇 (430302100000) linked with bundle files.  The county turns the town
# into a subdistrict (430302009000): the remap is one txn that reaches the
# city and the town; records filed under the old code afterwards, and under
# the new one, travel both ways; the town's peer entry at the county keeps
# its card and cursors (the next bundle holds only what is new) and is
# found by its new code; bad input is refused with exit 2 and changes
# nothing; list and show speak English and Chinese, their JSON the same.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

CITY=430300000000
COUNTY=430302000000
TOWN=430302100000
NEWTOWN=430302009000

new_node city $CITY 湘潭市
new_node county $COUNTY 雨湖区
new_node town $TOWN 鹤岭镇
link_nodes city county
link_nodes county town

# xfer FROM TO CODE: export FROM's changes for peer CODE and import them
# at TO; $TXNS is the bundle's txn count (0 when nothing was sent).
xfer() {
	rm -f "$T/b.pgb"
	pg --dir "$1" export --to "$3" --out "$T/b.pgb" --json
	[ "$RC" = 0 ] || bail "export $1 -> $3 failed: $(cat "$T/err")"
	TXNS=$(json_value txns "$T/out")
	TXNS=${TXNS:-0}
	if [ -e "$T/b.pgb" ]; then
		pg --dir "$2" import "$T/b.pgb" --json
		[ "$RC" = 0 ] || bail "import at $2 failed: $(cat "$T/err")"
	fi
}

# hazard DIR DIVISION TEXT: a hazard report under DIVISION.
hazard() {
	pg --dir "$1" record put hazard division="$2" category=公共安全风险 \
		description="$3"
	[ "$RC" = 0 ] || bail "hazard under $2 at $1: $(cat "$T/err")"
}

# descriptions DIR: the hazard descriptions a node holds, sorted, on one line.
descriptions() {
	"$PINGAN" --dir "$1" record list hazard --json </dev/null |
		json_values description /dev/stdin | sort | tr '\n' ' '
}

# Certificates settle, and the town's first report rises to the city.
xfer county city $CITY
xfer city county $COUNTY
xfer county town $TOWN
hazard town 430302100001 before-remap
xfer town county $COUNTY
xfer county city $CITY
xfer county town $TOWN
pg --dir county peer show $TOWN --json
cp "$T/out" peer.before
RECEIVED_BEFORE=$(json_value received_upto peer.before)
SENT_BEFORE=$(json_value sent_upto peer.before)

# ---- bad input ------------------------------------------------------------
snapshot county snap.before
refuse 2 "43030210" "a 9-digit code" --dir county division remap 430302100 $NEWTOWN
refuse 2 "4303021000x0" "not digits" --dir county division remap 4303021000x0 $NEWTOWN
refuse 2 "430300001000" "not a division code" --dir county division remap 430300001000 $NEWTOWN
refuse 2 "$TOWN" "OLD = NEW" --dir county division remap $TOWN $TOWN
refuse 2 "430321112000" "OLD outside the jurisdiction" --dir county division remap 430321112000 $NEWTOWN
refuse 2 "430304001000" "NEW outside the jurisdiction" --dir county division remap $TOWN 430304001000
refuse 2 "$COUNTY" "the node's own code" --dir county division remap $COUNTY 430304000000
refuse 2 "$CITY" "an ancestor's code" --dir county division remap $CITY 430302101000
refuse 2 "a remap keeps the tier" "tiers differ" --dir county division remap $TOWN 430302009001
refuse 2 "--effective" "a bad date" --dir county division remap $TOWN $NEWTOWN --effective 2023-13-45
refuse 2 "撤销" "a reason outside the list" --dir county division remap $TOWN $NEWTOWN --reason 撤销
refuse 2 "unexpected" "a third code" --dir county division remap $TOWN $NEWTOWN 430302010000
expect_unchanged county snap.before "refused remaps"

# ---- the remap -------------------------------------------------------------
pg --dir county division remap $TOWN $NEWTOWN --name 鹤岭街道 --reason 撤镇设街道 \
	--effective 2023-06-30 --document-no '雨政函〔2023〕12号' --json
expect_rc 0 "the county remaps the town"
[ "$(json_value old_code "$T/out")" = $TOWN ] && [ "$(json_value new_code "$T/out")" = $NEWTOWN ] &&
	[ "$(json_value issuer "$T/out")" = $COUNTY ] &&
	[ "$(json_value effective_at "$T/out")" = "2023-06-30T00:00:00+08:00" ] &&
	pass "the remap's JSON names both codes, the issuer and the date" ||
	fail "the remap's JSON is wrong: $(tr -d '\n' <"$T/out")"
pg --dir county log --json
[ "$(json_count collection "$T/out")" -gt 0 ] && grep -q '"division_remap"' "$T/out" &&
	pass "the remap is in the county's log" || fail "the remap is not in the log"
refuse 2 "$NEWTOWN" "a second remap of the same code names the first" \
	--dir county division remap $TOWN 430302010000
refuse 2 "cycle" "a remap back is a cycle" --dir county division remap $NEWTOWN $TOWN

# ---- it travels; the town's history stays -----------------------------------
xfer county town $NEWTOWN
expect_rc 0 "export to the town by its new code"
[ "$TXNS" = 1 ] && pass "the town's bundle holds the remap alone (cursors kept)" ||
	fail "the town's bundle holds $TXNS txns, expected 1"
xfer county city $CITY
[ "$TXNS" = 1 ] && pass "the city's bundle holds the remap alone" ||
	fail "the city's bundle holds $TXNS txns, expected 1"
for d in city town; do
	pg --dir $d division show 430302100001 --json
	[ "$(json_value resolved "$T/out")" = 430302009001 ] &&
		pass "the $d resolves 430302100001 to 430302009001" ||
		fail "the $d does not resolve the village: $(tr -d '\n' <"$T/out")"
done

pg --dir county peer list
expect_out_re "^$TOWN +$NEWTOWN +鹤岭镇 +township +child " "peer list shows the town under both codes"
pg --dir county peer show $NEWTOWN --json
expect_rc 0 "the town is found by its new code"
[ "$(json_value code "$T/out")" = $TOWN ] && [ "$(json_value resolved_code "$T/out")" = $NEWTOWN ] &&
	[ "$(json_value received_upto "$T/out")" = "$RECEIVED_BEFORE" ] &&
	[ "$(json_value sent_upto "$T/out")" -gt "$SENT_BEFORE" ] &&
	pass "its card code and received cursor are kept, its sent cursor moved on" ||
	fail "the town's peer entry changed: $(tr -d '\n' <"$T/out")"
pg --dir county status --json
[ "$(json_count role "$T/out")" = 2 ] && ! grep -q "\"$NEWTOWN\"" "$T/out" &&
	pass "status shows no new peer" || fail "status shows a new peer"

# ---- records under the old and the new code travel both ways ----------------
hazard town 430302100002 town-old
hazard town 430302009003 town-new
hazard county 430302100004 county-old
hazard county 430302009005 county-new
xfer town county $COUNTY
[ "$TXNS" = 2 ] && pass "the town sends its two new records" ||
	fail "the town sent $TXNS txns, expected 2"
xfer county town $NEWTOWN
[ "$TXNS" = 2 ] && pass "the county sends the town its two records under either code" ||
	fail "the county sent the town $TXNS txns, expected 2"
xfer county city $CITY
[ "$TXNS" = 4 ] && pass "the county sends the city the four new records" ||
	fail "the county sent the city $TXNS txns, expected 4"
ALL="before-remap county-new county-old town-new town-old "
for d in city county town; do
	[ "$(descriptions $d)" = "$ALL" ] && pass "the $d holds every record" ||
		fail "the $d holds: $(descriptions $d)"
	pg --dir $d quarantine list --json
	[ "$(json_count reason "$T/out")" = 0 ] && pass "nothing quarantined at the $d" ||
		fail "quarantined at the $d: $(tr -d '\n' <"$T/out")"
done

# ---- list and show, English and Chinese --------------------------------------
zh() {
	run env -u LC_ALL LANG=zh_CN.UTF-8 "$PINGAN" "$@"
}
pg --dir city division list
expect_out_re "^OLD +NEW +NEW NAME +REASON +EFFECTIVE +ISSUER +DOCUMENT$" "list: English headings"
expect_out_re "^$TOWN +$NEWTOWN +鹤岭街道 +撤镇设街道 +2023-06-30T00:00:00\+08:00 +$COUNTY +雨政函〔2023〕12号$" \
	"list: the remap's row"
pg --dir city division show 430302100001
expect_out "430302100001 resolves to 430302009001" "show: English"
expect_out "issued by $COUNTY" "show: the issuer"
pg --dir city division show 430302101001
expect_out "430302101001 is not remapped here" "show: a code not remapped"
pg --dir city division list --json
cp "$T/out" list.c.json
pg --dir city division show 430302100001 --json
cp "$T/out" show.c.json
if locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$'; then
	zh --dir city division list
	expect_out_re "^原代码 +新代码 +新名称 +原因 +生效时间 +发布单位 +批准文号$" "list: Chinese headings"
	zh --dir city division show 430302100001
	expect_out "430302100001 解析为 430302009001" "show: Chinese"
	zh --dir county division remap $TOWN 430302010000
	[ "$RC" = 2 ] && grep -q "已调整为 $NEWTOWN（由 $COUNTY 发布" "$T/err" &&
		pass "a refusal in Chinese" || fail "no Chinese refusal: $(cat "$T/err")"
	zh --dir city division list --json
	cmp -s "$T/out" list.c.json && pass "list --json is the same in Chinese" ||
		fail "list --json differs by locale"
	zh --dir city division show 430302100001 --json
	cmp -s "$T/out" show.c.json && pass "show --json is the same in Chinese" ||
		fail "show --json differs by locale"
else
	fail "the zh_CN.UTF-8 locale is not installed (tools/setup generates it)"
fi

# ---- a remap and a record under the new code in one bundle -------------------
new_node town2 430302101000 楠竹山镇
link_nodes county town2
# The township's first report tells the county its schema version (until
# then the county holds v2 txns, the remap among them, back from it).
pg --dir town2 record put drill division=430302101000 drill_type=桌面推演 \
	scenario=消防疏散
[ "$RC" = 0 ] || bail "a drill at town2"
xfer town2 county 430302000000
pg --dir county division remap 430302101000 430302010000 --reason 撤镇设街道
expect_rc 0 "the county remaps 楠竹山镇"
hazard county 430302010001 same-bundle
xfer county town2 430302101000
pg --dir town2 quarantine list --json
[ "$(json_count reason "$T/out")" = 0 ] && [ "$(descriptions town2)" = "same-bundle " ] &&
	pass "a record under the new code applies after the remap in the same bundle" ||
	fail "楠竹山镇 holds: $(descriptions town2); quarantined: $(tr -d '\n' <"$T/out")"

pg division remap --help
expect_rc 0 "division remap --help"
expect_out "--document-no" "the help names the options"
finish
