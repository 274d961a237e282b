#!/bin/sh
# pingan record list --csv and pingan report: a city 湘潭市, its county
# 湘潭县 and the county's township 石潭镇.  The township's ledger as CSV is
# read back with Python's csv module and compared field by field with
# --json; reports in English and Chinese (JSON the same in both); the
# township publishes its daily statistics, which travel to the county and
# the city by bundle files; the city, which holds no key_person record
# (capped at the county), counts them from those statistics.  Bad input
# exits 2 and changes nothing.
. "$(dirname "$0")/lib/testlib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

CITY=430300000000
COUNTY=430321000000
TOWN=430321112000
VILLAGE=430321112228
ZH="LC_ALL=zh_CN.UTF-8"

new_node city $CITY 湘潭市
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
link_nodes city county
link_nodes county town

# move FROM TO TOCODE: a bundle from FROM for TO, imported at TO.
move() {
	pg --dir "$1" export --to "$3" --out "$1-$2.pgb"
	[ "$RC" = 0 ] || bail "$1 cannot export to $2"
	pg --dir "$2" import "$1-$2.pgb"
	[ "$RC" = 0 ] || bail "$2 cannot import the bundle of $1"
}
# Certificates down: the county's from the city, the township's from the
# county.
move city county $COUNTY
move county town $TOWN

# ---- the township's records --------------------------------------------

NASTY=$(printf '甲, "乙"\n丙,')
# Statuses move along the dispute lifecycle ('pingan lifecycle show').
# step COLLECTION ID STATUS...: each status in turn.
step() {
	_c=$1
	_id=$2
	shift 2
	for _s in "$@"; do
		pg --dir town record put "$_c" --id "$_id" status="$_s"
		[ "$RC" = 0 ] || bail "$_c $_id cannot move to $_s"
	done
}
pg --dir town record put dispute division=$TOWN dispute_type=邻里纠纷 \
	"summary=$NASTY" status=登记受理 outcome='调解成功（书面协议）' amount_involved=1200.5 \
	accepted_at=2026-11-02T09:00:00+08:00
expect_rc 0 "a dispute whose summary holds a comma, quotes and a newline"
step dispute "$(cat "$T/out")" 调解中 达成协议 结案
pg --dir town record put dispute division=$VILLAGE dispute_type=山林土地 \
	summary=界线 outcome='调解不成—引导诉讼' amount_involved=300 \
	accepted_at=2026-11-20T09:00:00+08:00
pg --dir town record put dispute division=$VILLAGE dispute_type=山林土地 \
	summary=排水 status=登记受理 accepted_at=2026-10-31T23:00:00+08:00
[ "$RC" = 0 ] || bail "the third dispute"
step dispute "$(cat "$T/out")" 调解中
for i in 1 2 3; do
	pg --dir town record put key_person division=$VILLAGE category=社区矫正对象 \
		name=张$(echo 一 二 三 | cut -d' ' -f$i) "id_number=$(id_number 4303211980010100$i)"
	[ "$RC" = 0 ] || bail "key_person $i"
done
pg --dir town record put key_person division=$TOWN category=刑满释放人员 \
	name=李四 "id_number=$(id_number 43032119800202002)"
[ "$RC" = 0 ] || bail "key_person 4"

# ---- record list --csv ---------------------------------------------------

"$PINGAN" --dir town record list dispute --json >list.json 2>/dev/null
"$PINGAN" --dir town record list dispute --csv >list.csv 2>/dev/null
rc=0
"$PY" - list.csv list.json "$NASTY" >check.out 2>check.err <<'EOF' || rc=$?
import csv, io, json, sys
raw = open(sys.argv[1], 'rb').read()
records = json.load(open(sys.argv[2]))
nasty = sys.argv[3]
def check(ok, what):
    print(("ok - " if ok else "not ok - ") + what)
check(raw.startswith(b'\xef\xbb\xbf'), "the CSV starts with the UTF-8 BOM")
text = raw[3:].decode('utf-8')
rows = list(csv.reader(io.StringIO(text, newline='')))
# Every line end outside quoted fields is CRLF: count the row ends.
check(text.count('\r\n') == len(rows) and text.endswith('\r\n'),
      "rows end with CRLF (%d rows)" % len(rows))
header, body = rows[0], rows[1:]
check(header == list(records[0].keys()), "the header row is the JSON keys")
check(len(body) == len(records) == 3, "one row per record")
def text_of(v):
    if v is None: return ''
    if v is True: return 'true'
    if v is False: return 'false'
    if isinstance(v, str): return v
    return json.dumps(v)
same = all(row == [text_of(r[k]) for k in header] for row, r in zip(body, records))
check(same, "every field equals the --json value")
check(any(r[header.index('summary')] == nasty for r in body),
      "the summary with comma, quotes and newline round-trips")
check('"甲, ""乙""\n丙,"' in text, "that field is quoted with its quotes doubled")
EOF
relay_driver csv check.out check.err "$rc"

env $ZH "$PINGAN" --dir town record list dispute --csv >zh.csv 2>/dev/null
if head -n 1 zh.csv | grep -q '记录编号,所属区划,纠纷类型'; then
	pass "in Chinese the CSV header is the fields' titles"
else
	fail "Chinese CSV header: $(head -n 1 zh.csv)"
fi
refuse 2 "--csv" "record list with --json and --csv" --dir town record list dispute --json --csv

# ---- reports in both languages --------------------------------------------

pg --dir town report dispute --by category
expect_rc 0 "report dispute --by category"
expect_out "subtotal" "English subtotal"
expect_out "mediation success rate" "English rate heading"
expect_out "50.00% (1/2)" "mediation success 1 of 2 with an outcome"
cp "$T/out" en.txt
run env $ZH "$PINGAN" --dir town report dispute --by category
expect_rc 0 "report in Chinese"
expect_out "小计" "Chinese subtotal"
expect_out "合计" "Chinese total"
expect_out "调解成功率" "Chinese rate heading"
expect_out "纠纷类型" "the category heading is the field's title"
"$PINGAN" --dir town report dispute --by status --json >en.json 2>&1
env $ZH "$PINGAN" --dir town report dispute --by status --json >zh.json 2>&1
if cmp -s en.json zh.json; then
	pass "--json is the same in both languages"
else
	fail "--json differs between LANG=C and zh_CN"
fi
rc=0
"$PY" - en.json >check.out 2>check.err <<'EOF' || rc=$?
import json, sys
d = json.load(open(sys.argv[1]))
t = d['total']
def check(ok, what):
    print(("ok - " if ok else "not ok - ") + what)
check(t['count'] == 3 and t['mediation_success'] == {'num': 1, 'den': 2, 'rate': 0.5},
      "total: 3 disputes, success 1 of 2 (%r)" % t)
check(abs(t['amount'] - 1500.5) < 1e-9, "amount 1200.5 + 300")
subs = {s['group']: s['count'] for s in d['subtotals']}
check(subs == {'430321112228': 2, '430321112000': 1},
      "a township's subtotals are its villages and itself (%r)" % subs)
EOF
relay_driver json check.out check.err "$rc"

pg --dir town report dispute --by month --since 2026-11-01 --until 2026-11-30 --json
expect_rc 0 "report a month"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["total"]["count"] == 2 and [r["key"] for r in d["rows"]] == ["2026-11", "2026-11"] else 1)' "$T/out" &&
	pass "--since 2026-11-01 --until 2026-11-30: the two of November" ||
	fail "November: $(cat "$T/out")"
pg --dir town report dispute --by category --csv
expect_rc 0 "report --csv"
if head -c 3 "$T/out" | od -An -tx1 | grep -q 'ef bb bf' && grep -q '^total,,,3,' "$T/out"; then
	pass "report CSV: BOM and a total row of 3"
else
	fail "report CSV"
fi

# ---- bad input: exit 2, nothing changed -----------------------------------

SNAP_COLLECTIONS="dispute key_person daily_stats"
snapshot town before
refuse 2 "nothing" "unknown collection" --dir town report nothing
refuse 2 "week" "bad --by" --dir town report dispute --by week
refuse 2 "2026-02-30" "bad date" --dir town report dispute --since 2026-02-30
refuse 2 "11/01" "date without dashes" --dir town report dispute --until 11/01
refuse 2 "the range is empty" "--since after --until" --dir town report dispute \
	--since 2026-12-01 --until 2026-11-01
refuse 2 "--publish" "--publish with --by" --dir town report --publish --by status
refuse 2 "2026-13-01" "--publish with a bad date" --dir town report --publish --date 2026-13-01
refuse 2 "node" "a system collection" --dir town report node
expect_unchanged town before "bad report input"

# ---- daily statistics up to the city ---------------------------------------

# Today (China Standard Time, the default): the key persons were created
# today and have no enrolled_at, so a past day would not count them.
pg --dir town report --publish --json
expect_rc 0 "石潭镇 publishes its daily statistics"
CREATED=$(json_value created "$T/out")
DAY=$(json_value stat_date "$T/out")
# dispute: 3 keys (division, category, status); key_person: 2.
[ "$CREATED" = 5 ] && pass "$CREATED daily_stats records" || fail "created $CREATED"
pg --dir town report --publish --date "$DAY" --json
[ "$(json_value created "$T/out")" = 0 ] && [ "$(json_value unchanged "$T/out")" = "$CREATED" ] &&
	pass "publishing again creates nothing" || fail "republish: $(cat "$T/out")"
run env $ZH "$PINGAN" --dir town report --publish --date "$DAY"
expect_out "已发布 $DAY 的统计日报" "publish in Chinese"

move town county $COUNTY
move county city $CITY
pg --dir city record list key_person --json
[ "$(cat "$T/out")" = "[]" ] && pass "the city holds no key_person record" ||
	fail "the city holds key_person records"
pg --dir city record list daily_stats --json
[ "$(json_count record_count "$T/out")" = "$CREATED" ] &&
	pass "the township's daily statistics reached the city" ||
	fail "daily_stats at the city"
pg --dir city report key_person --by category
expect_rc 0 "the city reports key_person"
expect_out "from published daily statistics of $DAY" "it says where the counts come from"
expect_out_re "^total +4" "4 key persons in total"
run env $ZH "$PINGAN" --dir city report key_person --by category --json
rc=0
"$PY" - "$T/out" "$DAY" >check.out 2>check.err <<'EOF' || rc=$?
import json, sys
d = json.load(open(sys.argv[1]))
def check(ok, what):
    print(("ok - " if ok else "not ok - ") + what)
check(d['source'] == 'daily_stats' and d['stat_date'] == sys.argv[2], "source and date")
cells = {(r['group'], r['key']): r['count'] for r in d['rows']}
check(cells == {('430321000000', '刑满释放人员'): 1, ('430321000000', '社区矫正对象'): 3},
      "the city's cells are the county with 3 + 1 (%r)" % cells)
EOF
relay_driver city check.out check.err "$rc"
refuse 2 "--since" "--since on published statistics" --dir city report key_person --since 2026-11-01

finish
