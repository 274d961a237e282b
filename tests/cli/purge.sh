#!/bin/sh
# pingan purge (PIPL Art. 47; pingan/purge.h): a dispute with a party and
# a key_person record, each with a distinctive name, mobile number and ID
# number, replicated 石潭镇 → 湘潭县 → 湘潭市 (key_person stops at the
# county), are purged at the township; once the purge has travelled, the
# raw bytes of every node's store files (store.db, -wal, -shm) hold none of
# the values in UTF-8, UTF-16 or GB 18030, every origin signature still
# verifies, the records are still there (status, dates) to be counted, and
# a lagging copy of a txn with the values in it is stored purged.  The
# refusals change nothing; --dry-run lists; the output in English and
# Chinese, --json the same in both.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"
export PINGAN_OPERATOR=测试员

CITY=430300000000
COUNTY=430321000000
TOWN=430321112000
new_node city $CITY 湘潭市
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
link_nodes city county
link_nodes county town

NAME=欧阳秀英
PHONE=13807320000
IDNO=$(id_number 43032119800101002)
PNAME=司马建国
PPHONE=13907325551
KNAME=诸葛卫东
KPHONE=13607321234
KIDNO=$(id_number 43032119750505331)
LNAME=上官丽华
LPHONE=15807329876
MNAME=慕容晓燕
MPHONE=18907321111
HNAME=东方红梅
HPHONE=18607324444
VALUES="$HNAME $HPHONE $MNAME $MPHONE $NAME $PHONE $IDNO $PNAME $PPHONE $KNAME $KPHONE $KIDNO $LNAME $LPHONE"

put() {
	_d=$1
	shift
	"$PINGAN" --dir "$_d" record put "$@" </dev/null 2>"$T/put.err" ||
		bail "record put $* failed: $(cat "$T/put.err")"
}

# move FROM TO: export FROM's changes for TO and import them there.
move() {
	"$PINGAN" --dir "$1" export --to "$2" --out "$T/move.pgb" >/dev/null 2>"$T/move.err" ||
		bail "export $1 → $2 failed: $(cat "$T/move.err")"
	if [ -e "$T/move.pgb" ]; then
		"$PINGAN" --dir "$3" import "$T/move.pgb" >/dev/null 2>"$T/move.err" ||
			bail "import into $3 failed: $(cat "$T/move.err")"
		rm -f "$T/move.pgb"
	fi
}

# found DIR: how many of $VALUES occur in the node's store files, in
# UTF-8, UTF-16 (both orders) or GB 18030; prints "value@file:encoding".
found() {
	"$PY" - "$1" $VALUES <<'EOF'
import os, sys
d = sys.argv[1]
for f in ("store.db", "store.db-wal", "store.db-shm"):
    p = os.path.join(d, f)
    if not os.path.exists(p):
        continue
    data = open(p, "rb").read()
    for v in sys.argv[2:]:
        for enc in ("utf-8", "utf-16-le", "utf-16-be", "gb18030"):
            if v.encode(enc) in data:
                print("%s@%s:%s" % (v, f, enc))
EOF
}

# Each parent's first bundle: certificates down, and its schema version,
# without which a child holds v2 txns (the purge) back from it.
move city $COUNTY county
move county $TOWN town

DSP=$(put town dispute division=$TOWN dispute_type=邻里纠纷 \
	"summary=${NAME}与邻居因排水沟发生纠纷" applicant_name=$NAME \
	applicant_phone=$PHONE applicant_id_number=$IDNO status=登记受理)
put town dispute_party division=$TOWN dispute_id=$DSP party_role=被申请人 \
	name=$PNAME phone=$PPHONE >/dev/null
put town dispute --id $DSP status=调解中 respondent_name=$PNAME >/dev/null
put town dispute --id $DSP status=达成协议 >/dev/null
put town dispute --id $DSP status=结案 outcome=调解成功（书面协议） closed_at=2026-03-01T10:00:00+08:00 >/dev/null
KP=$(put town key_person division=$TOWN category=社区矫正对象 name=$KNAME \
	id_number=$KIDNO phone=$KPHONE diagnosis=无 visit_notes="${KNAME}按时报到" \
	enrolled_at=2021-01-01T00:00:00+08:00)
put town key_person --id $KP removed_at=2025-06-30T00:00:00+08:00 removal_reason=期满解除 >/dev/null
# Open: never purged by date.
OPEN=$(put town key_person division=$TOWN category=刑满释放人员 name=$LNAME \
	id_number=$(id_number 43032119900303123) phone=$LPHONE)
move town $COUNTY county
move county $CITY city
for n in town county city; do
	[ -n "$(found $n | grep "^$PHONE@")" ] &&
		pass "before the purge, $n holds the phone number" ||
		fail "before the purge, $n does not hold the phone number (the test proves nothing)"
done
[ -n "$(found city | grep "^$KPHONE@")" ] &&
	fail "the key person went above the county" || pass "the key person stops at the county"

# ---- refusals: exit 2, nothing changed ---------------------------------

snapshot town "$T/before"
refuse 2 "nosuch" "an unknown collection" --dir town purge nosuch --id $DSP
refuse 2 "node" "the certificates" --dir town purge node --before 2026-01-01
refuse 2 "purge" "the purges themselves" --dir town purge purge --before 2026-01-01
refuse 2 "430321112000-01ARZ3NDEKTSV4RRFFQ69G5FAV" "a record not held here" \
	--dir town purge dispute --id 430321112000-01ARZ3NDEKTSV4RRFFQ69G5FAV
refuse 2 "xyz" "a malformed id" --dir town purge dispute --id xyz
refuse 2 "future" "--before in the future" --dir town purge dispute --before 2099-01-01
refuse 2 "yesterday" "--before that is no date" --dir town purge dispute --before yesterday
refuse 2 "--before" "neither --id nor --before" --dir town purge dispute
refuse 2 "--before" "both --id and --before" --dir town purge dispute --id $DSP --before 2026-01-01
refuse 2 "collection" "no collection" --dir town purge --id $DSP
refuse 2 "--id" "--id twice" --dir town purge dispute --id $DSP --id $DSP
expect_unchanged town "$T/before" "the refused purges"

# ---- dry run, in both languages ----------------------------------------

run env LC_ALL= LANG=C "$PINGAN" --dir town purge key_person --before 2026-01-01 --dry-run
expect_rc 0 "a dry run by date"
expect_out "$KP" "the dry run lists the ended key person"
expect_no_out "$OPEN" "an open case is never purged by date"
expect_out "would purge 1 records" "the dry run says what it would do (English)"
run env LC_ALL= LANG=zh_CN.UTF-8 "$PINGAN" --dir town purge key_person --before 2026-01-01 --dry-run
expect_rc 0 "a dry run in Chinese"
expect_out "$KP" "the Chinese dry run lists the record"
expect_no_out "would purge" "the dry run speaks Chinese under LANG=zh_CN.UTF-8"
run env LC_ALL= LANG=C "$PINGAN" --dir town purge key_person --before 2026-01-01 --dry-run --json
cp "$T/out" "$T/dry.c.json"
run env LC_ALL= LANG=zh_CN.UTF-8 "$PINGAN" --dir town purge key_person --before 2026-01-01 --dry-run --json
cmp -s "$T/out" "$T/dry.c.json" && pass "--json is the same in both languages" ||
	fail "--json differs between LANG=C and zh_CN.UTF-8"
expect_unchanged town "$T/before" "the dry runs"

# ---- the purge ---------------------------------------------------------

run env LC_ALL= LANG=C "$PINGAN" --dir town purge dispute --id $DSP --json
expect_rc 0 "the dispute is purged by id"
[ "$(json_value purged "$T/out")" = 2 ] && pass "the dispute and its party are purged" ||
	fail "purged $(json_value purged "$T/out") records, expected 2"
[ "$(json_value wiped "$T/out")" = true ] && pass "the store's files were rewritten" ||
	fail "the store's files were not rewritten"
run env LC_ALL= LANG=zh_CN.UTF-8 "$PINGAN" --dir town purge key_person --before 2026-01-01 --basis "当事人申请删除"
expect_rc 0 "the key person is purged by date"
expect_out "$KP" "the purge lists the key person"
refuse 2 "$DSP" "a record purged already" --dir town purge dispute --id $DSP

[ -n "$(found town | grep "^$LNAME@")" ] && pass "the open case keeps its values" ||
	fail "the open case lost its values"

refuse 2 "applicant_phone" "a purged record's personal field is not written again" \
	--dir town record put dispute --id $DSP applicant_phone=$PHONE
# A purged record can still be worked on (its other fields).
"$PINGAN" --dir town record put dispute --id $DSP mediation_org=石潭镇调委会 >/dev/null 2>&1 ||
	bail "cannot write the purged dispute"
move town $COUNTY county
move county $CITY city

for n in town county city; do
	VALUES_LEFT=$(found $n | grep -v "^$LNAME@\|^$LPHONE@" || true)
	[ -z "$VALUES_LEFT" ] && pass "$n's store files hold none of the purged values" ||
		fail "$n's store files still hold: $(echo "$VALUES_LEFT" | tr '\n' ' ')"
	pg --dir $n log --json
	if [ "$RC" = 0 ] && ! grep -q '"signature_ok": false' "$T/out"; then
		pass "every origin signature verifies at $n"
	else
		fail "a signature no longer verifies at $n"
	fi
	pg --dir $n quarantine list --json
	[ "$(json_count origin "$T/out")" = 0 ] && pass "nothing quarantined at $n" ||
		fail "txns quarantined at $n: $(cat "$T/out")"
	pg --dir $n record list dispute --json
	[ "$(json_count id "$T/out")" = 1 ] && grep -q '"status": "结案"' "$T/out" &&
		grep -q '"applicant_name": null' "$T/out" &&
		pass "$n still counts the purged dispute (status kept, name gone)" ||
		fail "$n: the purged dispute is not as expected: $(cat "$T/out")"
done
pg --dir county record list key_person --json
[ "$(json_count id "$T/out")" = 2 ] && pass "the county still counts both key persons" ||
	fail "the county lists $(json_count id "$T/out") key persons"
pg --dir city record list purge --json
grep -q "\"record_id\": \"$DSP\"" "$T/out" && grep -q "个人信息保护法第四十七条" "$T/out" &&
	pass "the city holds the purge record of the dispute with its basis" ||
	fail "the city lacks the purge record: $(cat "$T/out")"
pg --dir county audit list --json
grep -q '"action": "purge"' "$T/out" && pass "the county audited the received purge" ||
	fail "no purge in the county's audit trail"
pg --dir town audit verify
expect_rc 0 "the township's audit chain verifies"

# A lagging copy: a second dispute's first write reaches the county only
# after the township purged it.
D2=$(put town dispute division=$TOWN dispute_type=邻里纠纷 summary=${MNAME}的纠纷 \
	applicant_name=$MNAME applicant_phone=$MPHONE closed_at=2026-03-02T10:00:00+08:00)
"$PINGAN" --dir town export --to $COUNTY --out "$T/early.pgb" >/dev/null 2>&1 || bail "export failed"
pg --dir town purge dispute --id $D2
expect_rc 0 "the second dispute is purged"
"$PINGAN" --dir town export --to $COUNTY --out "$T/late.pgb" >/dev/null 2>&1 || bail "export failed"
pg --dir county import "$T/late.pgb"
expect_rc 0 "the county takes the purge first"
pg --dir county import "$T/early.pgb"
expect_rc 0 "then the lagging full txn"
[ -z "$(found county | grep "^$MNAME@\|^$MPHONE@")" ] && pass "the lagging txn is stored purged" ||
	fail "the lagging txn left its values in the county's store"
pg --dir county log --json
! grep -q '"signature_ok": false' "$T/out" && pass "the lagging txn's signature still verifies" ||
	fail "a signature fails after the lagging txn"
move county $CITY city
[ -z "$(found city | grep "^$MNAME@\|^$MPHONE@")" ] && pass "the city gets it purged too" ||
	fail "the city holds the lagging values"
pg --dir city quarantine list --json
[ "$(json_count origin "$T/out")" = 0 ] && pass "the city verifies the purged txns it receives" ||
	fail "txns quarantined at the city: $(cat "$T/out")"

# Over HTTP: 湘潭县 pulls from 石潭镇's server a dispute purged before it
# ever left the township.
D3=$(put town dispute division=$TOWN dispute_type=邻里纠纷 summary=${HNAME}的纠纷 \
	applicant_name=$HNAME applicant_phone=$HPHONE closed_at=2026-03-03T10:00:00+08:00)
pg --dir town purge dispute --id $D3
expect_rc 0 "the third dispute is purged before it leaves the township"
"$PINGAN" --dir town serve --listen 127.0.0.1:0 >"$T/serve.out" 2>"$T/serve.err" &
SPID=$!
i=0
while ! grep -q 'listening on port' "$T/serve.out" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
PORT=$(sed -n 's/^listening on port \([0-9]*\) (http)$/\1/p' "$T/serve.out")
if [ -n "$PORT" ]; then
	pg --dir county peer set $TOWN --url "http://127.0.0.1:$PORT"
	expect_rc 0 "the county sets the township's address"
	pg --dir county sync $TOWN
	expect_rc 0 "the county syncs with the township over HTTP"
else
	fail "pingan serve did not start: $(cat "$T/serve.err")"
fi
kill $SPID 2>/dev/null || true
wait $SPID 2>/dev/null || true
pg --dir county record list dispute --json
grep -q "\"id\": \"$D3\"" "$T/out" && pass "the purged dispute arrived over HTTP" ||
	fail "the county did not get the third dispute"
[ -z "$(found county | grep "^$HNAME@\|^$HPHONE@")" ] && pass "it arrived purged" ||
	fail "the county holds values of the dispute pulled over HTTP"
pg --dir county quarantine list --json
[ "$(json_count origin "$T/out")" = 0 ] && pass "the pulled purged txns verify at the county" ||
	fail "txns quarantined after the pull: $(cat "$T/out")"

finish
