#!/bin/sh
# shellcheck disable=SC2086 # $OK is split into FIELD=VALUE words on purpose
# pingan record put/get/list/delete: round trips with realistic values,
# updates that touch only what they name, tombstones, and every kind of
# bad value refused with a message naming the field and nothing written
# (DESIGN §2, §3, §9, §11).
. "$(dirname "$0")/lib/testlib.sh"

new_node node 430302 雨湖区
PINGAN_DIR=$T/node
export PINGAN_DIR
SNAP_COLLECTIONS="dispute hazard volunteer"

# <creator's code>-<ULID> (DESIGN §3)
ID_RE='^[0-9]{12}-[0-9A-HJKMNP-TV-Z]{26}$'

# put_ok WHAT ARG...: a put that must succeed and print one new id.
put_ok() {
	_what=$1
	shift
	pg record put "$@"
	NEW_ID=$(cat "$T/out")
	if [ "$RC" = 0 ] && [ "$(wc -l <"$T/out")" = 1 ] &&
		printf '%s\n' "$NEW_ID" | grep -qE "$ID_RE"; then
		pass "$_what: prints the new id"
	else
		fail "$_what: expected exit 0 and one record id"
		NEW_ID=
	fi
}

# field_is FILE FIELD VALUE: "FIELD": VALUE (raw JSON) in a get --json file.
field_is() {
	if grep -qxF "  \"$2\": $3," "$1" || grep -qxF "  \"$2\": $3" "$1"; then
		pass "$2 is $3"
	else
		fail "$2: expected $3, got $(grep "^  \"$2\": " "$1" | head -1)"
	fi
}

# ---- dispute round trip --------------------------------------------------

APPLICANT_ID=$(id_number 43030219850312123)
SUMMARY='两户因排水沟堵塞发生纠纷，雨天污水漫入张家院内，多次协商未果'
put_ok "create a dispute" dispute \
	division=430302001001 dispute_type=邻里纠纷 source=网格排查 \
	applicant_name=张三 applicant_phone=13812345678 \
	applicant_id_number="$APPLICANT_ID" respondent_name=李四 \
	respondent_phone=15973212345 party_count=2 amount_involved=1500.50 \
	summary="$SUMMARY" mediation_org='雨湖区雨湖路街道人民调解委员会' \
	mediator=周敏 channel=人民调解 escalation_risk=中 \
	accepted_at=2026-11-26T10:00:00+08:00 status=登记受理 cross_region=false
D1=$NEW_ID
[ -n "$D1" ] || bail "cannot create a dispute"
case $D1 in
430302000000-*) pass "the id starts with the creator's code" ;;
*) fail "id $D1 does not start with 430302000000-" ;;
esac

pg record get dispute "$D1" --json
expect_rc 0 "get --json"
cp "$T/out" d1.json
field_is d1.json id "\"$D1\""
field_is d1.json division '"430302001001"'
field_is d1.json dispute_type '"邻里纠纷"'
field_is d1.json applicant_name '"张三"'
field_is d1.json applicant_phone '"13812345678"'
field_is d1.json applicant_id_number "\"$APPLICANT_ID\""
field_is d1.json party_count 2
field_is d1.json amount_involved 1500.5
field_is d1.json summary "\"$SUMMARY\""
field_is d1.json mediation_org '"雨湖区雨湖路街道人民调解委员会"'
field_is d1.json accepted_at '"2026-11-26T10:00:00+08:00"'
field_is d1.json cross_region false
field_is d1.json outcome null
field_is d1.json _deleted false
head -n 2 d1.json | grep -q '^  "id": ' && pass "\"id\" comes first" ||
	fail "\"id\" is not the first key"

pg record get dispute "$D1"
expect_rc 0 "get (text)"
expect_out "$D1" "text get names the record"
expect_out "$SUMMARY" "text get shows the summary"
expect_out "by 430302000000" "text get shows who wrote each field"
expect_no_out "outcome" "text get leaves out fields never written"

pg record put dispute --json division=430302001002 dispute_type=婚姻家庭 \
	summary='赡养老人费用分摊纠纷' accepted_at=2026-11-26T02:00:00Z
expect_rc 0 "put --json"
D2=$(json_value id "$T/out")
printf '%s\n' "$D2" | grep -qE "$ID_RE" && pass "put --json prints {\"id\": ...}" ||
	fail "put --json did not print an id"
pg record get dispute "$D2" --json
field_is "$T/out" accepted_at '"2026-11-26T10:00:00+08:00"' # given as 02:00Z

# An ID number typed with a lower-case x is stored with X.
X_ID=43030219880520105X
id_number 43030219880520105 | grep -qx "$X_ID" || bail "bad X_ID fixture"
LOWER_X=$(printf '%s' "$X_ID" | tr X x)
put_ok "ID number with lower-case x" dispute division=430302001001 \
	dispute_type=劳资纠纷 summary='拖欠农民工工资' applicant_id_number="$LOWER_X" \
	accepted_at=1795743267317
D3=$NEW_ID
pg record get dispute "$D3" --json
field_is "$T/out" applicant_id_number "\"$X_ID\""
field_is "$T/out" accepted_at '"2026-11-27T09:34:27.317+08:00"'

# ---- update changes only what it names ------------------------------------

pg log --json
log_before=$(json_count seq "$T/out")
pg record put dispute --id "$D1" status=调解中
expect_rc 0 "update with --id"
[ "$(cat "$T/out")" = "$D1" ] && pass "update prints the record id" ||
	fail "update printed '$(cat "$T/out")'"
pg record get dispute "$D1" --json
cp "$T/out" d1b.json
field_is d1b.json status '"调解中"'
grep -v '^  "status": ' d1.json >d1.rest
grep -v '^  "status": ' d1b.json >d1b.rest
cmp -s d1.rest d1b.rest && pass "update changed no other field" ||
	fail "update changed other fields"
pg log --json
cp "$T/out" log.json
[ "$(json_count seq log.json)" = $((log_before + 1)) ] &&
	pass "an update is one log entry" || fail "update did not add one log entry"
[ "$(json_values changes log.json | tail -n 1)" = 1 ] &&
	pass "the update's txn holds one change" ||
	fail "the update's txn holds $(json_values changes log.json | tail -n 1) changes"

pg record put dispute --id "$D1" division=430302001001 outcome=调解成功（书面协议） \
	status=达成协议 respondent_phone=
expect_rc 0 "update several fields, restating the same division, clearing one"
pg record get dispute "$D1" --json
field_is "$T/out" outcome '"调解成功（书面协议）"'
field_is "$T/out" status '"达成协议"'
field_is "$T/out" respondent_phone null
field_is "$T/out" division '"430302001001"'

# ---- hazard: list, filters, limit -------------------------------------------

put_ok "create a hazard" hazard division=430302001001 category=公共安全风险 \
	subcategory=燃气安全 level=较大 status=发现登记 discovered_by=网格员 \
	discovered_at=2026-11-20T09:30:00+08:00 address='雨湖区雨湖路12号老旧小区' \
	lon=112.9076 lat=27.8569 description='小区燃气管道锈蚀，有泄漏风险' \
	affected_count=36 contact_name=王五 contact_phone=13907321234
H1=$NEW_ID
put_ok "create a second hazard" hazard division=430302002003 \
	category=社会治安风险 subcategory=校园周边 level=重大 status=发现登记 \
	description='学校周边流动摊贩聚集，放学时段交通拥堵' discovered_by=群众举报
H2=$NEW_ID
put_ok "create a third hazard" hazard division=430302002003 \
	category=公共安全风险 subcategory=消防安全 level=较大 status=发现登记 \
	description='沿街门面“三合一”住人，消防通道堵塞'
H3=$NEW_ID

pg record get hazard "$H1" --json
cp "$T/out" h1.json
field_is h1.json lon 112.9076
field_is h1.json affected_count 36
field_is h1.json discovered_at '"2026-11-20T09:30:00+08:00"'
field_is h1.json contact_name '"王五"'

pg record list hazard --json
expect_rc 0 "list --json"
[ "$(json_count id "$T/out")" = 3 ] && pass "list shows the 3 hazards" ||
	fail "list shows $(json_count id "$T/out") hazards"
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H1 $H2 $H3 " ] &&
	pass "list is oldest first" || fail "list order is not creation order"

pg record list hazard --where level=较大 --json
expect_rc 0 "list --where"
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H1 $H3 " ] &&
	pass "--where level=较大 selects two" || fail "--where level=较大 selected the wrong records"
pg record list hazard --where level=较大 --where division=430302002003 --json
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H3 " ] &&
	pass "two --where options are ANDed" || fail "two --where options: wrong records"
pg record list hazard --where affected_count=36 --json
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H1 " ] &&
	pass "--where on an int field" || fail "--where affected_count=36: wrong records"
pg record list hazard --where contact_phone= --json
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H2 $H3 " ] &&
	pass "--where FIELD= selects unset fields" || fail "--where contact_phone=: wrong records"
pg record list hazard --where level=低 --json
expect_rc 0 "list with no match"
[ "$(json_count id "$T/out")" = 0 ] && pass "no match is an empty list" ||
	fail "no match listed records"
pg record list hazard --limit 2 --json
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H1 $H2 " ] &&
	pass "--limit 2" || fail "--limit 2 listed the wrong records"
pg record list hazard
expect_rc 0 "list (text)"
[ "$(wc -l <"$T/out")" = 3 ] && pass "text list: one line per record" ||
	fail "text list has $(wc -l <"$T/out") lines"
grep -q "^$H1 .*level=较大" "$T/out" && pass "text list shows FIELD=VALUE" ||
	fail "text list lacks level=较大"

refuse 2 "nosuch" "--where on an unknown field" record list hazard --where nosuch=1
refuse 2 "level" "--where with a value not in the enum" record list hazard --where level=特大
refuse 2 "level" "--where without '='" record list hazard --where level
refuse 2 "--limit" "--limit 0" record list hazard --limit 0
refuse 2 "abc" "--limit abc" record list hazard --limit abc
refuse 2 "nosuch" "list of an unknown collection" record list nosuch

# ---- delete ----------------------------------------------------------------------

pg record delete hazard "$H2"
expect_rc 0 "delete"
expect_out "$H2" "delete names the record"
pg record list hazard --json
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H1 $H3 " ] &&
	pass "list leaves out the deleted record" || fail "deleted record still listed"
pg record list hazard --deleted --json
[ "$(json_values id "$T/out" | tr '\n' ' ')" = "$H1 $H2 $H3 " ] &&
	pass "list --deleted includes it" || fail "list --deleted lacks it"
grep -q '"_deleted": true' "$T/out" && pass "the tombstone shows _deleted true" ||
	fail "no _deleted true in list --deleted"
pg record list hazard --where level=重大 --json
[ "$(json_count id "$T/out")" = 0 ] && pass "--where does not resurrect it" ||
	fail "--where lists a deleted record"
pg log --json
[ "$(json_values changes "$T/out" | tail -n 1)" = 1 ] &&
	pass "a delete is one change (the tombstone)" || fail "delete wrote more than a tombstone"

snapshot "$PINGAN_DIR" before
refuse 2 "$H2" "update of a deleted record" record put hazard --id "$H2" status=验收
expect_unchanged "$PINGAN_DIR" before "update of a deleted record"
refuse 2 "430302000000-01M8DA8DA0JEW35SABC1G2S8G6" "delete of a record that does not exist" \
	record delete hazard 430302000000-01M8DA8DA0JEW35SABC1G2S8G6
expect_unchanged "$PINGAN_DIR" before "delete of a missing record"
refuse 2 "not-an-id" "delete of a malformed id" record delete hazard not-an-id
refuse 2 "$D1" "delete with the wrong collection" record delete hazard "$D1"
expect_unchanged "$PINGAN_DIR" before "delete with the wrong collection"
refuse 2 "$D1" "get with the wrong collection" record get hazard "$D1"
refuse 2 "430302000000-01M8DA8DA0JEW35SABC1G2S8G6" "get of a missing record" \
	record get dispute 430302000000-01M8DA8DA0JEW35SABC1G2S8G6

# ---- every bad value is refused, names the field, and writes nothing ----------

snapshot "$PINGAN_DIR" before
# reject NEEDLE WHAT ARG...: refused with exit 2 and nothing changed.
reject() {
	_n=$1
	_w=$2
	shift 2
	refuse 2 "$_n" "$_w" "$@"
	expect_unchanged "$PINGAN_DIR" before "$_w"
}
# The two required fields besides summary, split on purpose where used.
OK="division=430302001001 dispute_type=邻里纠纷"

reject nosuch "unknown collection" record put nosuch division=430302001001
reject "node" "the system collection node" record put node division=430302001001 code=430302001001
reject nosuch_field "unknown field" record put dispute $OK summary=x nosuch_field=1
reject summary "FIELD without '='" record put dispute $OK summary
reject "=x" "'=VALUE' without a field" record put dispute $OK summary=x =x
reject "FIELD=VALUE" "no fields at all" record put dispute
reject dispute_type "enum value not in the list" \
	record put dispute division=430302001001 dispute_type=打架斗殴 summary=x
reject "打架斗殴" "the bad enum value is quoted" \
	record put dispute division=430302001001 dispute_type=打架斗殴 summary=x
reject 430304001001 "division outside the node's jurisdiction" \
	record put dispute division=430304001001 dispute_type=邻里纠纷 summary=x
reject 430300000000 "division above the node" \
	record put dispute division=430300000000 dispute_type=邻里纠纷 summary=x
reject division "malformed division" \
	record put dispute division=43030200100 dispute_type=邻里纠纷 summary=x
reject division "division with a zero segment above a non-zero one" \
	record put dispute division=430302000001 dispute_type=邻里纠纷 summary=x
reject division "missing division" record put dispute dispute_type=邻里纠纷 summary=x
reject summary "missing required summary" record put dispute $OK
reject dispute_type "required field given empty" \
	record put dispute division=430302001001 dispute_type= summary=x
reject summary "the same field twice" record put dispute $OK summary=a summary=b
reject deleted "a new record written deleted" record put dispute $OK summary=x _deleted=true
reject applicant_id_number "ID number with a bad check digit" \
	record put dispute $OK summary=x applicant_id_number=430302198503121231
BAD_DATE=$(id_number 43030219990230123)
reject applicant_id_number "ID number with an impossible birth date" \
	record put dispute $OK summary=x applicant_id_number="$BAD_DATE"
expect_err "19990230" "the impossible date is named"
FUTURE=$(id_number 43030220990101123)
reject applicant_id_number "ID number born in the future" \
	record put dispute $OK summary=x applicant_id_number="$FUTURE"
reject applicant_id_number "ID number of 17 characters" \
	record put dispute $OK summary=x applicant_id_number=43030219850312123
reject applicant_phone "phone with an unassigned prefix" \
	record put dispute $OK summary=x applicant_phone=12812345678
reject applicant_phone "phone of 10 digits" \
	record put dispute $OK summary=x applicant_phone=1381234567
reject respondent_phone "phone with a letter" \
	record put dispute $OK summary=x respondent_phone=1381234567O
reject party_count "int that is not a number" record put dispute $OK summary=x party_count=两
reject party_count "int with a fraction" record put dispute $OK summary=x party_count=1.5
reject party_count "int out of range" \
	record put dispute $OK summary=x party_count=99999999999999999999
reject party_count "int with a blank" record put dispute $OK summary=x "party_count= 2"
reject amount_involved "real that is not a number" \
	record put dispute $OK summary=x amount_involved=一千
reject amount_involved "real infinity" record put dispute $OK summary=x amount_involved=inf
reject amount_involved "real NaN" record put dispute $OK summary=x amount_involved=nan
reject cross_region "bool yes" record put dispute $OK summary=x cross_region=yes
reject cross_region "bool 1" record put dispute $OK summary=x cross_region=1
reject accepted_at "time without an offset" \
	record put dispute $OK summary=x accepted_at=2026-11-26T10:00:00
expect_err "offset" "the time error says the offset is missing"
reject accepted_at "time on 30 February" \
	record put dispute $OK summary=x accepted_at=2026-02-30T10:00:00+08:00
reject accepted_at "time that is a date only" \
	record put dispute $OK summary=x accepted_at=2026-11-26
reject summary "invalid UTF-8 in text" \
	record put dispute $OK summary="$(printf '\377')"
reject summary "truncated UTF-8 sequence" \
	record put dispute $OK summary="$(printf '纠纷\344\270')"
reject applicant_name "control character in a name" \
	record put dispute $OK summary=x applicant_name="$(printf '张\001三')"
reject applicant_name "digit in a name" record put dispute $OK summary=x applicant_name=张3
reject summary "text of 8193 bytes" \
	record put dispute $OK summary="$(repeat 8193 a)"
reject summary "text of 8190 bytes plus a 3-byte character" \
	record put dispute $OK summary="$(repeat 8190 a)中"
reject mediation_org "a second text field over the limit" \
	record put dispute $OK summary=x mediation_org="$(repeat 8193 b)"
reject division "update that changes the division" \
	record put dispute --id "$D1" division=430302001002
reject division "update that clears the division" \
	record put dispute --id "$D1" division=
reject "nothing to change" "update that restates only the division" \
	record put dispute --id "$D1" division=430302001001
reject status "update with a bad value" record put dispute --id "$D1" status=已办结
reject 430302000000-01M8DA8DA0JEW35SABC1G2S8G6 "update of a record that does not exist" \
	record put dispute --id 430302000000-01M8DA8DA0JEW35SABC1G2S8G6 status=调解中
reject not-an-id "update of a malformed id" record put dispute --id not-an-id status=调解中
reject "$D1" "update through the wrong collection" \
	record put hazard --id "$D1" status=核实
reject operator "operator that is not UTF-8" \
	--operator "$(printf 'a\377')" record put dispute $OK summary=x
reject operator "operator over 128 bytes" \
	--operator "$(repeat 129 o)" record put dispute $OK summary=x
PINGAN_OPERATOR=$(printf '\377')
export PINGAN_OPERATOR
reject operator "\$PINGAN_OPERATOR that is not UTF-8" record put dispute $OK summary=x
unset PINGAN_OPERATOR
# The operator is printed one per line by 'pingan log': a line break in it
# would forge log lines.
reject operator "operator with a line break" \
	--operator "$(printf '李四\n    99  430302000000 #99')" record put dispute $OK summary=x
reject operator "operator with a control character" \
	--operator "$(printf '李\033[2J四')" record put dispute $OK summary=x
reject "--operator" "empty --operator" --operator "" record put dispute $OK summary=x
reject points "counter cleared" record put volunteer division=430302001001 name=刘洋 points=
reject "--bogus" "unknown option" record put dispute $OK summary=x --bogus

# Exactly at the limit is fine.
LONG=$(repeat 8192 a)
put_ok "text of exactly 8192 bytes" dispute $OK summary="$LONG"
pg record get dispute "$NEW_ID" --json
grep -qxF "  \"summary\": \"$LONG\"," "$T/out" && pass "8192 bytes stored whole" ||
	fail "8192-byte summary not stored whole"
put_ok "8189 bytes plus a 3-byte character" dispute $OK summary="$(repeat 8189 a)中"

# ---- jurisdiction at other tiers ---------------------------------------------------

new_node town 430381100 某镇
refuse 2 430381101001 "township 430381100 refuses 430381101001 (no zero stripping)" \
	--dir town record put dispute division=430381101001 dispute_type=邻里纠纷 summary=x
put_ok "township 430381100 accepts 430381100200" --dir town dispute \
	division=430381100200 dispute_type=邻里纠纷 summary='村民宅基地边界纠纷'
case $NEW_ID in
430381100000-*) pass "the township's record id starts with its code" ;;
*) fail "township record id '$NEW_ID'" ;;
esac
put_ok "a node may write at its own division" --dir town dispute \
	division=430381100000 dispute_type=邻里纠纷 summary='镇政府门前摊位纠纷'
put_ok "a township writes key_person (capped at the county)" --dir town key_person \
	division=430381100200 category=社区矫正对象 name=赵某 \
	id_number="$(id_number 43038119900101123)"
new_node city 4303 湘潭市
refuse 2 key_person "the city may not write key_person" \
	--dir city record put key_person division=430302001001 category=吸毒人员 \
	name=钱某 id_number="$(id_number 43030219900101123)"
put_ok "the city writes a dispute in a community" --dir city dispute \
	division=430302001001 dispute_type=邻里纠纷 summary='市级交办纠纷'

# ---- counters add up ----------------------------------------------------------------

put_ok "create a volunteer" volunteer division=430302001001 name=刘洋 \
	phone=13787654321 points=10 hours=3
V1=$NEW_ID
pg record put volunteer --id "$V1" points=5
pg record put volunteer --id "$V1" points=-2
pg record get volunteer "$V1" --json
field_is "$T/out" points 13
field_is "$T/out" hours 3

# ---- operators ----------------------------------------------------------------

last_operator() {
	pg log --json
	json_values operator "$T/out" | tail -n 1
}
pg --operator 李四 record put dispute --id "$D1" status=履行中
[ "$(last_operator)" = 李四 ] && pass "--operator 李四 is recorded" ||
	fail "operator recorded as '$(last_operator)', not 李四"
PINGAN_OPERATOR=王五
export PINGAN_OPERATOR
pg record put dispute --id "$D1" status=结案
[ "$(last_operator)" = 王五 ] && pass "PINGAN_OPERATOR=王五 is recorded" ||
	fail "operator recorded as '$(last_operator)', not 王五"
pg --operator=赵六 record delete dispute "$D3"
[ "$(last_operator)" = 赵六 ] && pass "--operator=NAME overrides PINGAN_OPERATOR" ||
	fail "operator recorded as '$(last_operator)', not 赵六"
unset PINGAN_OPERATOR
pg record put dispute --id "$D1" status=结案 --operator 孙七
[ "$(last_operator)" = 孙七 ] && pass "--operator after the operands" ||
	fail "operator recorded as '$(last_operator)', not 孙七"
if login=$(id -un 2>/dev/null) && [ -n "$login" ]; then
	pg record put dispute --id "$D1" status=结案
	[ "$(last_operator)" = "$login" ] && pass "default operator is the login name" ||
		fail "default operator '$(last_operator)', expected '$login'"
fi

finish
