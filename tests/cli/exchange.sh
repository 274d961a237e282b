#!/bin/sh
# pingan export, import and bundle inspect between a county and its
# townships (DESIGN §4, §5, §6, §7, §9, §11): the certificate a parent
# wrote when it pinned a child is the first txn it sends that child (and
# no other child); nothing to send is said and is
# not an error; --max-bytes splits into files that each import on their
# own; import exits 0 (applied), 3 (applied, but a txn quarantined -- an
# equivocation -- or pending -- a clock two hours fast) or 2
# (some file refused whole: signed by an unknown node, addressed to another
# node, truncated, a byte flipped -- each named, each leaving the receiver
# exactly as it was, the other files of the command still applied);
# replaying an old bundle changes nothing; --resend and --ack-only; the
# cursors peer list shows; bundle inspect on sender, recipient and a third
# node.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
command -v sqlite3 >/dev/null 2>&1 || bail "sqlite3 is needed (tools/setup installs it)"
# The interpreter itself, not a version manager's shim that costs half a
# second a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

# Real codes (shared/data/xiangtan_divisions.csv): 湘潭县, its towns
# 石潭镇 and 易俗河镇, and the village 新合村委会 of 石潭镇.
COUNTY=430321000000
TOWN=430321112000
TOWNB=430321100000
VILLAGE=430321112228
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
new_node townb $TOWNB 易俗河镇
# Another node claiming the county's code with its own keys: an impostor.
new_node fake $COUNTY 湘潭县
for n in county town townb fake; do
	"$PINGAN" --dir $n card --out $n.card 2>/dev/null || bail "cannot export the card of $n"
done
pg --dir county peer add --card town.card --role child
expect_rc 0 "the county pins 石潭镇"
pg --dir county peer add --card townb.card --role child
expect_rc 0 "the county pins 易俗河镇"
pg --dir town peer add --card county.card --role parent
expect_rc 0 "石潭镇 pins the county"
pg --dir townb peer add --card county.card --role parent
expect_rc 0 "易俗河镇 pins the county"
pg --dir fake peer add --card town.card --role child
expect_rc 0 "the impostor pins 石潭镇 too"

# pyj FILE EXPR: evaluate a Python expression on the JSON in FILE (as d).
pyj() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print(json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r)' "$1" "$2"
}

# state DIR FILE [store]: what a node's data is, without clocks of last
# contact: the log, every collection (deleted records too), conflicts,
# quarantine and the peers' cursors; with "store", the whole store as
# sqlite3 dumps it (every table, the clock, the time of last contact).
state() {
	{
		echo "== log"
		"$PINGAN" --dir "$1" log --json 2>&1 || echo "exit $?"
		for _c in $WRITABLE node; do
			echo "== $_c"
			"$PINGAN" --dir "$1" record list "$_c" --deleted --json 2>&1 || echo "exit $?"
		done
		echo "== conflicts"
		"$PINGAN" --dir "$1" conflicts list --all --json 2>&1 || echo "exit $?"
		echo "== quarantine"
		"$PINGAN" --dir "$1" quarantine list --json 2>&1 || echo "exit $?"
		echo "== cursors"
		"$PINGAN" --dir "$1" peer list --json >"$T/peers.json" 2>&1 &&
			pyj "$T/peers.json" '[(p["code"], p["sent_upto"], p["acked_upto"], p["received_upto"]) for p in d]' ||
			echo "exit $?"
		if [ "${3:-}" = store ]; then
			echo "== store"
			# Refusals are recorded in `rejected` for `pingan status`.
			sqlite3 "$1/store.db" .dump 2>&1 |
				grep -v -e '^INSERT INTO rejected VALUES' -e "$AUDIT_REFUSAL" || echo "exit $?"
		fi
	} >"$2" </dev/null 2>&1
}

# same_state DIR BEFORE WHAT [store]
same_state() {
	state "$1" "$T/state.after" "${4:-}"
	if cmp -s "$2" "$T/state.after"; then
		pass "$3: nothing changed"
	else
		fail "$3: the node changed"
		diff "$2" "$T/state.after" | head -20 | sed 's/^/#   /' || true
		cp "$T/state.after" "$2"
	fi
}

# count DIR COLLECTION: records listed, deleted ones too.
count() {
	"$PINGAN" --dir "$1" record list "$2" --deleted --json </dev/null >"$T/count.json" 2>/dev/null ||
		echo '"list failed"' >"$T/count.json"
	json_count id "$T/count.json"
}

# cursor DIR CODE KEY: a peer's cursor.
cursor() {
	"$PINGAN" --dir "$1" peer list --json </dev/null >"$T/cur.json" 2>/dev/null
	pyj "$T/cur.json" "[p['$3'] for p in d if p['code'] == '$2'][0]" 2>/dev/null || echo "?"
}

# last_seq DIR: the node's last local log sequence.
last_seq() {
	"$PINGAN" --dir "$1" log --json </dev/null >"$T/ls.json" 2>/dev/null
	pyj "$T/ls.json" 'max([e["seq"] for e in d] or [0])' 2>/dev/null || echo "?"
}

put() { # DIR COLLECTION FIELD=VALUE...: create, print the id
	_d=$1
	shift
	"$PINGAN" --dir "$_d" --operator 测试员 record put "$@" </dev/null 2>"$T/put.err" ||
		bail "record put $* failed: $(cat "$T/put.err")"
}

# ---- usage ------------------------------------------------------------------

refuse 2 "--to" "export without --to" --dir county export --out x.pgb
refuse 2 "--out" "export without --out" --dir county export --to $TOWN
refuse 2 "430304000000" "export to a node that is not a peer" \
	--dir county export --to 430304000000 --out x.pgb
refuse 2 "4303211" "export to a malformed code" --dir county export --to 4303211 --out x.pgb
refuse 2 "--max-bytes" "--max-bytes 0" --dir county export --to $TOWN --out x.pgb --max-bytes 0
refuse 2 "--resend" "--resend with --ack-only" \
	--dir county export --to $TOWN --out x.pgb --resend --ack-only
refuse 2 "bundle" "import without a file" --dir town import
[ -e x.pgb ] && fail "a refused export wrote a file" || pass "a refused export writes no file"

# ---- certificates: the first thing a parent sends a child --------------------

# Pinning a child certified it (DESIGN §7): one `node` txn per child in
# the county's log, before any record.
pg --dir county log --json
expect_rc 0 "log --json on the county"
[ "$(pyj "$T/out" '[(e["seq"], e["origin"], e["collection"], e["division"], e["changes"], e["signature_ok"]) for e in d]')" = \
	"[[1, \"$COUNTY\", \"node\", \"$TOWN\", 12, true], [2, \"$COUNTY\", \"node\", \"$TOWNB\", 12, true]]" ] &&
	pass "the county's log holds the certificates of its two children" ||
	fail "the county's log: $(head -c 600 "$T/out")"
pg --dir county export --to $TOWN --out cert.pgb --json
expect_rc 0 "the county's first export to 石潭镇"
[ "$(pyj "$T/out" '[len(d["files"]), d["files"][0]["txns"], d["files"][0]["cards"], d["files"][0]["range"]]')" = "[1, 1, 0, [1, 2]]" ] &&
	pass "it carries one txn (not 易俗河镇's certificate) and no cards" ||
	fail "first export: $(cat "$T/out")"
pg --dir town bundle inspect cert.pgb --json
[ "$(pyj "$T/out" '[(t["origin"], t["collection"], t["division"]) for t in d["txn_list"]]')" = \
	"[[\"$COUNTY\", \"node\", \"$TOWN\"]]" ] &&
	pass "inspect: the certificate of 石潭镇" || fail "inspect of cert.pgb: $(head -c 600 "$T/out")"
pg --dir town import cert.pgb --json
expect_rc 0 "石潭镇 imports its certificate"
[ "$(pyj "$T/out" '[d["files"][0]["new"], d["files"][0]["cards_learnt"]]')" = "[1, 0]" ] &&
	pass "1 new txn, no card learnt" || fail "import of cert.pgb: $(head -c 600 "$T/out")"
pg --dir town record list node --json
expect_rc 0 "record list node on 石潭镇"
[ "$(pyj "$T/out" '[(r["code"], r["tier"], r["issuer"], r["key_id"]) for r in d]')" = \
	"[[\"$TOWN\", \"township\", \"$COUNTY\", \"$(json_value key_id town.card)\"]]" ] &&
	pass "石潭镇 holds its certificate, issued by the county for its key" ||
	fail "石潭镇's node table: $(head -c 600 "$T/out")"

# ---- nothing to send ----------------------------------------------------------

pg --dir county export --to $TOWN --out empty.pgb
expect_rc 0 "export with nothing to send"
expect_out "nothing to send" "it says there is nothing to send"
[ -e empty.pgb ] && fail "nothing to send wrote a file" || pass "nothing to send writes no file"
pg --dir county export --to $TOWN --out empty.pgb --json
expect_rc 0 "export --json with nothing to send"
[ "$(pyj "$T/out" '[d["nothing"], d["files"]]')" = "[true, []]" ] &&
	pass "--json says nothing: true, files: []" || fail "export --json: $(cat "$T/out")"
[ -e empty.pgb ] && fail "nothing to send (--json) wrote a file" || pass "still no file"

# Records the county keeps to itself or gives to the other town are not
# for 石潭镇: still nothing to send to it.
put county dispute division=$COUNTY dispute_type=邻里纠纷 summary='县城两户排水纠纷' >/dev/null
put county dispute division=$TOWNB dispute_type=劳资纠纷 summary='易俗河镇工地欠薪' >/dev/null
pg --dir county export --to $TOWN --out empty.pgb --json
[ "$(pyj "$T/out" 'd["nothing"]')" = true ] && [ ! -e empty.pgb ] &&
	pass "records off 石潭镇's path are not sent to it" ||
	fail "export to 石潭镇 sent records of other divisions: $(cat "$T/out")"

# ---- a first bundle: export, inspect, import ------------------------------------------

H1=$(put county hazard division=$VILLAGE category=公共安全风险 level=较大 \
	status=发现登记 description='新合村燃气管道锈蚀')
H2=$(put county hazard division=$TOWN category=社会治安风险 status=发现登记 \
	description='镇中学周边流动摊贩聚集')
pg --dir county export --to $TOWN --out b0.pgb
expect_rc 0 "export (text) two hazards to 石潭镇"
expect_out "wrote b0.pgb" "export names the file it wrote"
expect_no_out "nothing to send" "an export that wrote a file does not say nothing to send"
rm -f b0.pgb
# 石潭镇 has not acknowledged its certificate yet: --resend, which starts
# at the acknowledged end, sends it again with the two hazards.
pg --dir county export --to $TOWN --out b1.pgb --json --resend
expect_rc 0 "export (--json, --resend) two hazards to 石潭镇"
cp "$T/out" b1.json
[ -s b1.pgb ] && pass "b1.pgb written" || fail "no b1.pgb"
[ "$(pyj b1.json '[len(d["files"]), d["files"][0]["txns"], d["nothing"], d["files"][0]["range"][0]]')" = "[1, 3, false, 1]" ] &&
	pass "export --json: one file, 3 txns from seq 1 (the unacknowledged certificate too)" ||
	fail "export --json: $(cat b1.json)"
[ "$(pyj b1.json 'd["files"][0]["bytes"]')" = "$(wc -c <b1.pgb | tr -d ' ')" ] &&
	pass "export --json gives the file's size" || fail "bytes differ from the file size"
B1_LAST=$(pyj b1.json 'd["files"][0]["range"][1]')
[ "$(cursor county $TOWN sent_upto)" = "$B1_LAST" ] &&
	pass "sent_upto moves to the end of the range ($B1_LAST)" ||
	fail "sent_upto is $(cursor county $TOWN sent_upto), expected $B1_LAST"
[ "$(cursor county $TOWN acked_upto)" = 0 ] && pass "acked_upto stays 0 until an ack" ||
	fail "acked_upto moved without an ack"

pg --dir county export --to $TOWN --out again.pgb
expect_rc 0 "a second export right away"
expect_out "nothing to send" "nothing new since the last export"
[ -e again.pgb ] && fail "a second export wrote a file" || pass "no second file"

pg --dir county bundle inspect b1.pgb
expect_rc 0 "bundle inspect on the sender"
expect_out "$COUNTY" "inspect names the sender"
expect_out "$TOWN" "inspect names the recipient"
pg --dir county bundle inspect b1.pgb --json
expect_rc 0 "bundle inspect --json on the sender"
cp "$T/out" insp.json
[ "$(pyj insp.json '[d["sender"], d["recipient"], d["txns"], d["header_signature_ok"], d["trailer_signature_ok"], d["opened"]]')" = \
	"[\"$COUNTY\", \"$TOWN\", 3, true, true, false]" ] &&
	pass "on the sender: both signatures verify, the content stays sealed" ||
	fail "inspect --json on the sender: $(head -c 600 insp.json)"
[ "$(pyj insp.json 'd["range"][1]')" = "$B1_LAST" ] && pass "inspect gives the range" ||
	fail "inspect range differs from export's"
pg --dir town bundle inspect b1.pgb --json
expect_rc 0 "bundle inspect --json on the recipient"
cp "$T/out" insp.json
[ "$(pyj insp.json '[d["opened"], d["trailer_signature_ok"], len(d["txn_list"]), sorted(t["collection"] for t in d["txn_list"])]')" = \
	'[true, true, 3, ["hazard", "hazard", "node"]]' ] &&
	pass "on the recipient: opened, its 3 txns listed" ||
	fail "inspect --json on the recipient: $(head -c 600 insp.json)"
pg --dir town bundle inspect b1.pgb
expect_rc 0 "bundle inspect (text) on the recipient"
expect_out "hazard" "the text lists the txns"
pg --dir townb bundle inspect b1.pgb
expect_rc 0 "bundle inspect on a third node that knows the sender"
expect_out "encrypted" "a third node cannot read the content"
pg --dir townb bundle inspect b1.pgb --json
[ "$(pyj "$T/out" '[d["opened"], d["txn_list"]]')" = "[false, []]" ] &&
	pass "a third node lists no txns" || fail "a third node saw txns: $(head -c 400 "$T/out")"
state town before
pg --dir town import b1.pgb
expect_rc 0 "石潭镇 imports b1"
expect_out "2 new" "import says 2 new"
pg --dir town record get hazard "$H1" --json
expect_rc 0 "the hazard in the village arrived"
[ "$(json_value level "$T/out")" = 较大 ] && pass "with its values" || fail "level of $H1 is wrong"
[ "$(count town hazard)" = 2 ] && pass "石潭镇 has both hazards" || fail "石潭镇 has $(count town hazard) hazards"
[ "$(count town dispute)" = 0 ] && pass "and none of the disputes elsewhere" ||
	fail "石潭镇 received disputes of other divisions"
[ "$(cursor town $COUNTY received_upto)" = "$B1_LAST" ] &&
	pass "received_upto at 石潭镇 is the end of b1" ||
	fail "received_upto is $(cursor town $COUNTY received_upto), expected $B1_LAST"

pg --dir town import b1.pgb --json
expect_rc 0 "importing b1 again"
[ "$(pyj "$T/out" '[(f["status"], f["new"], f["duplicates"]) for f in d["files"]]')" = '[["applied", 0, 3]]' ] &&
	pass "the second import: 0 new, 3 duplicates" || fail "second import: $(cat "$T/out")"

# ---- the way up, acknowledgements, --resend, --ack-only -----------------------------

G1=$(put town grid_event division=$VILLAGE category=城市管理 subject='村道路灯损坏')
put town hazard --id "$H1" status=核实 measures='更换燃气管道' >/dev/null
pg --dir town export --to $COUNTY --out up1.pgb --json
expect_rc 0 "石潭镇 exports to the county"
[ "$(pyj "$T/out" 'd["files"][0]["txns"]')" = 2 ] &&
	pass "its own 2 txns go up (the county's come not back)" ||
	fail "export up: $(cat "$T/out")"
pg --dir county import up1.pgb --json
expect_rc 0 "the county imports up1"
[ "$(pyj "$T/out" '[d["files"][0]["new"], d["files"][0]["sender"]]')" = "[2, \"$TOWN\"]" ] &&
	pass "import --json: 2 new from 石潭镇" || fail "import up1: $(cat "$T/out")"
for k in file status error sender range txns new duplicates conflicts quarantined pending gap; do
	[ "$(pyj "$T/out" "'$k' in d['files'][0]")" = true ] && pass "import --json has \"$k\"" ||
		fail "import --json lacks \"$k\""
done
pg --dir county record get hazard "$H1" --json
[ "$(json_value status "$T/out")" = 核实 ] && pass "the township's update reached the county" ||
	fail "status of $H1 at the county is not 核实"
pg --dir county record get grid_event "$G1" --json
expect_rc 0 "the township's grid event reached the county"
[ "$(cursor county $TOWN acked_upto)" = "$B1_LAST" ] &&
	pass "up1 carried 石潭镇's ack: acked_upto = $B1_LAST" ||
	fail "acked_upto is $(cursor county $TOWN acked_upto), expected $B1_LAST"
pg --dir county export --to $TOWN --out r.pgb --resend
expect_rc 0 "--resend once everything is acknowledged"
expect_out "nothing to send" "--resend: nothing unacknowledged"
[ -e r.pgb ] && fail "--resend with all acked wrote a file" || pass "no file"

pg --dir county peer list
expect_rc 0 "peer list shows cursors"
grep -E "^$TOWN +石潭镇 +township +child +[0-9a-f]{16} +- +[0-9]+ +$B1_LAST +[0-9]+( |$)" "$T/out" >/dev/null &&
	pass "the 石潭镇 row shows acked $B1_LAST" || fail "peer list row for 石潭镇 is wrong"
UP_LAST=$(last_seq town)
[ "$(cursor county $TOWN received_upto)" = "$UP_LAST" ] &&
	pass "received_upto at the county is 石潭镇's last entry ($UP_LAST)" ||
	fail "received_upto is $(cursor county $TOWN received_upto), expected $UP_LAST"

# --ack-only: a header with the acknowledgement, no txns.
[ "$(cursor town $COUNTY acked_upto)" = 0 ] && pass "石潭镇 has no ack from the county yet" ||
	fail "石潭镇's acked_upto is $(cursor town $COUNTY acked_upto)"
pg --dir county export --to $TOWN --out ack.pgb --ack-only --json
expect_rc 0 "export --ack-only"
[ "$(pyj "$T/out" '[len(d["files"]), d["files"][0]["txns"], d["nothing"]]')" = "[1, 0, false]" ] &&
	pass "--ack-only writes one file with no txns" || fail "--ack-only: $(cat "$T/out")"
pg --dir town bundle inspect ack.pgb --json
[ "$(pyj "$T/out" '[d["txns"], d["ack"]]')" = "[0, $UP_LAST]" ] &&
	pass "inspect: no txns, ack $UP_LAST" || fail "inspect of ack.pgb: $(head -c 500 "$T/out")"
state town before
pg --dir town import ack.pgb
expect_rc 0 "import of the ack"
[ "$(cursor town $COUNTY acked_upto)" = "$UP_LAST" ] &&
	pass "石潭镇's acked_upto moves to $UP_LAST" ||
	fail "acked_upto is $(cursor town $COUNTY acked_upto), expected $UP_LAST"
pg --dir town export --to $COUNTY --out r.pgb --resend
expect_out "nothing to send" "after the ack, --resend has nothing"
[ -e r.pgb ] && fail "--resend after the ack wrote a file" || pass "no file"

# --resend after a lost file.
put county hazard --id "$H2" level=重大 >/dev/null
pg --dir county export --to $TOWN --out lost.pgb
expect_rc 0 "an export whose file will be lost"
rm -f lost.pgb
pg --dir county export --to $TOWN --out r.pgb
expect_out "nothing to send" "a plain export does not send it again"
pg --dir county export --to $TOWN --out resend.pgb --resend --json
expect_rc 0 "--resend after a lost file"
[ "$(pyj "$T/out" 'd["files"][0]["txns"]')" = 1 ] && pass "--resend sends the lost txn" ||
	fail "--resend: $(cat "$T/out")"
pg --dir town import resend.pgb
expect_rc 0 "石潭镇 imports the resent file"
pg --dir town record get hazard "$H2" --json
[ "$(json_value level "$T/out")" = 重大 ] && pass "the lost update arrived" ||
	fail "level of $H2 at 石潭镇 is not 重大"

# ---- --max-bytes: split files, each importable on its own -------------------------------

# Summaries that do not compress away: 120 disputes, 30 txns.
"$PY" -c 'import hashlib, json
for i in range(120):
    h = hashlib.sha256(str(i).encode()).hexdigest()
    print(json.dumps({"division": "'$VILLAGE'", "dispute_type": "邻里纠纷",
                      "summary": "第%d户排水沟纠纷，调解记录编号%s" % (i, h)},
                     ensure_ascii=False))' >many.jsonl
pg --dir county record import dispute many.jsonl --batch 4
expect_rc 0 "120 disputes in 30 txns at the county"
pg --dir county export --to $TOWN --out split.pgb --max-bytes 4096 --json
expect_rc 0 "export --max-bytes 4096"
cp "$T/out" split.json
NPARTS=$(pyj split.json 'len(d["files"])')
[ "$NPARTS" -ge 3 ] && pass "split into $NPARTS files" || fail "only $NPARTS files"
[ "$(pyj split.json '[f["file"] for f in d["files"]] == ["split.pgb.%d" % (i + 1) for i in range(len(d["files"]))]')" = true ] &&
	pass "named split.pgb.1, split.pgb.2, ..." || fail "file names: $(pyj split.json '[f["file"] for f in d["files"]]')"
[ ! -e split.pgb ] && pass "no unsplit split.pgb" || fail "split.pgb exists beside the parts"
[ "$(pyj split.json 'sum(f["txns"] for f in d["files"])')" = 30 ] &&
	pass "the parts hold the 30 txns" || fail "the parts hold $(pyj split.json 'sum(f["txns"] for f in d["files"])') txns"
big=0
for f in $(pyj split.json '" ".join(f["file"] for f in d["files"])'); do
	[ "$(wc -c <"$f")" -le 4096 ] || big=1
done
[ $big = 0 ] && pass "every part is at most 4096 bytes" || fail "a part exceeds --max-bytes"
[ "$(pyj split.json 'all(a["range"][1] < b["range"][0] for a, b in zip(d["files"], d["files"][1:]))')" = true ] &&
	pass "the parts cover consecutive ranges" || fail "part ranges overlap or are out of order"
# Each part alone, into a copy of 石潭镇 as it is now.
n=0
for f in $(pyj split.json '" ".join(f["file"] for f in d["files"])'); do
	n=$((n + 1))
	rm -rf part
	cp -R town part
	want=$(pyj split.json "d['files'][$n - 1]['txns']")
	pg --dir part import "$f" --json
	if [ "$RC" = 0 ] && [ "$(pyj "$T/out" 'd["files"][0]["new"]')" = "$want" ]; then
		pass "part $n alone imports its $want txns"
	else
		fail "part $n alone: exit $RC, $(head -c 300 "$T/out")"
	fi
done
rm -rf part
# All parts, last first: the later ones see a gap, all apply.
# shellcheck disable=SC2046 # the file names have no blanks
pg --dir town import $(pyj split.json '" ".join(f["file"] for f in reversed(d["files"]))') --json
expect_rc 0 "the parts imported last first"
[ "$(pyj "$T/out" 'sum(f["new"] for f in d["files"])')" = 30 ] && pass "all 30 txns new" ||
	fail "import of the parts: $(head -c 600 "$T/out")"
[ "$(pyj "$T/out" 'd["files"][0]["gap"] is not None and d["files"][-1]["gap"] is None')" = true ] &&
	pass "the last part first reports a gap; the first part, last, none" ||
	fail "gaps: $(pyj "$T/out" '[f["gap"] for f in d["files"]]')"
[ "$(count town dispute)" = 120 ] && pass "石潭镇 has the 120 disputes" ||
	fail "石潭镇 has $(count town dispute) disputes"

# ---- an old bundle replayed after newer ones changes nothing ---------------------------

pg --dir county record put hazard --id "$H1" level=一般
pg --dir county export --to $TOWN --out new1.pgb
pg --dir county record put hazard --id "$H1" level=低
pg --dir county export --to $TOWN --out new2.pgb
pg --dir town import new1.pgb new2.pgb
expect_rc 0 "two newer bundles"
pg --dir town record put hazard --id "$H1" status=评估定级
state town before
pg --dir town import b1.pgb new1.pgb --json
expect_rc 0 "b1 and new1 replayed after new2"
[ "$(pyj "$T/out" '[(f["status"], f["new"]) for f in d["files"]]')" = '[["applied", 0], ["applied", 0]]' ] &&
	pass "replayed: applied, nothing new" || fail "replay: $(head -c 600 "$T/out")"
same_state town before "replaying old bundles"
pg --dir town record get hazard "$H1" --json
[ "$(json_value level "$T/out")" = 低 ] && [ "$(json_value status "$T/out")" = 评估定级 ] &&
	pass "the record keeps its newest values" || fail "the replay rolled $H1 back"

# ---- refused files: exit 2, named, nothing changed -------------------------------------

put county hazard division=$VILLAGE category=公共安全风险 description='山体滑坡隐患' >/dev/null
put county hazard division=$VILLAGE category=公共安全风险 description='防溺水警示牌缺失' >/dev/null
pg --dir county export --to $TOWN --out good.pgb --json
GOOD_TXNS=$(pyj "$T/out" 'd["files"][0]["txns"]')
[ "$GOOD_TXNS" = 2 ] && pass "a good bundle of 2 txns for the refusals" ||
	fail "good.pgb holds $GOOD_TXNS txns"
SIZE=$(wc -c <good.pgb | tr -d ' ')

# refused WHAT NEEDLE FILE: 石潭镇 refuses FILE with exit 2, an error naming
# the file and NEEDLE, status refused in --json, and nothing changes but
# the one row recording the refusal for `pingan status`.
refused() {
	state town "$T/state.before" store
	_r0=$(sqlite3 town/store.db "SELECT count(*) FROM rejected")
	pg --dir town import "$3"
	if [ "$RC" = 2 ] && head -n 1 "$T/err" | grep -q '^pingan: ' &&
		grep -qF -- "$3" "$T/err" && grep -qiF -- "$2" "$T/err"; then
		pass "$1: exit 2, the error names the file and '$2'"
	else
		fail "$1: expected exit 2 and an error naming $3 and '$2'"
	fi
	same_state town "$T/state.before" "$1" store
	_r1=$(sqlite3 town/store.db "SELECT count(*) FROM rejected")
	[ "$_r1" = $((_r0 + 1)) ] && pass "$1: the refusal is recorded for status" ||
		fail "$1: $_r0 refusals recorded before, $_r1 after"
	pg --dir town import "$3" --json
	[ "$RC" = 2 ] && [ "$(pyj "$T/out" '[d["files"][0]["status"], d["files"][0]["error"] is not None]')" = '["refused", true]' ] &&
		pass "$1: --json says refused, with the error" ||
		fail "$1: --json: exit $RC, $(head -c 300 "$T/out")"
}

put fake hazard division=$VILLAGE category=公共安全风险 description='冒充县里的隐患' >/dev/null
pg --dir fake export --to $TOWN --out forged.pgb
expect_rc 0 "the impostor exports to 石潭镇"
FAKE_KEY=$(json_value key_id fake.card)
refused "a bundle signed by an unknown key" "$FAKE_KEY" forged.pgb
pg --dir town bundle inspect forged.pgb
expect_rc 2 "inspect of a bundle from an unknown signer"

pg --dir county record put dispute division=$TOWNB dispute_type=邻里纠纷 summary='易俗河镇的纠纷'
pg --dir county export --to $TOWNB --out other.pgb
expect_rc 0 "a bundle for 易俗河镇"
refused "a bundle addressed to another node" "$TOWNB" other.pgb

for cut in 10 100 $((SIZE / 2)) $((SIZE - 1)); do
	head -c $cut good.pgb >cut$cut.pgb
	refused "good.pgb cut to $cut of $SIZE bytes" "cut$cut.pgb" cut$cut.pgb
done
: >emptyfile.pgb
refused "an empty file" "emptyfile.pgb" emptyfile.pgb
printf 'PGNB but not a bundle at all\n' >text.pgb
refused "a text file" "text.pgb" text.pgb
refused "a file that does not exist" "nosuch.pgb" nosuch.pgb

# flip FILE OFFSET OUT: OUT is FILE with the byte at OFFSET inverted.
flip() {
	"$PY" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[2])] ^= 0xff
open(sys.argv[3], "wb").write(b)' "$@"
}
for off in 0 5 20 60 $((SIZE / 2)) $((SIZE - 70)) $((SIZE - 1)); do
	flip good.pgb $off flip$off.pgb
	refused "good.pgb with byte $off of $SIZE flipped" "flip$off.pgb" flip$off.pgb
	pg --dir town bundle inspect flip$off.pgb
	[ "$RC" = 2 ] && pass "inspect finds byte $off flipped (exit 2)" ||
		fail "inspect of flip$off.pgb: exit $RC"
done

# Several files, one bad: the others apply, exit 2.
put county hazard division=$TOWN category=公共安全风险 description='镇敬老院消防通道堵塞' >/dev/null
pg --dir county export --to $TOWN --out good2.pgb
pg --dir town import good.pgb flip$((SIZE / 2)).pgb good2.pgb --json
expect_rc 2 "three files, the middle one damaged"
[ "$(pyj "$T/out" '[(f["status"], f["new"] if f["status"] == "applied" else None) for f in d["files"]]')" = \
	'[["applied", 2], ["refused", null], ["applied", 1]]' ] &&
	pass "the good files applied around the bad one" ||
	fail "statuses: $(pyj "$T/out" '[(f["status"], f.get("new")) for f in d["files"]]')"
[ "$(count town hazard)" = 5 ] && pass "石潭镇 now has all 5 hazards" ||
	fail "石潭镇 has $(count town hazard) hazards"
pg --dir town import good.pgb forged.pgb
expect_rc 2 "a good (old) file and a forged one"
expect_err "forged.pgb" "the text report names the refused file"

# ---- everyone in sync: the reference merge agrees ------------------------------------

# sync: export (with --resend) along every link and import, twice.
sync() {
	for _pass in 1 2; do
		for _l in "county $TOWN town" "town $COUNTY county" "county $TOWNB townb" "townb $COUNTY county"; do
			set -- $_l
			rm -f sync.pgb*
			"$PINGAN" --dir "$1" export --to "$2" --out sync.pgb --resend >/dev/null 2>&1 ||
				fail "sync: export $1 -> $2 failed"
			for _f in sync.pgb*; do
				[ -e "$_f" ] || continue
				"$PINGAN" --dir "$3" import "$_f" >/dev/null 2>&1 || fail "sync: import into $3 failed"
			done
		done
	done
	rm -f sync.pgb*
}
sync

pg --dir town log --json --changes
expect_rc 0 "log --json --changes on 石潭镇"
[ "$(pyj "$T/out" 'sorted(set(e["via"] or "local" for e in d))')" = "[\"$COUNTY\", \"local\"]" ] &&
	pass "log --changes gives via: the county or local" || fail "via: $(pyj "$T/out" 'sorted(set(str(e["via"]) for e in d))')"
cp "$T/out" logc.json
pg --dir town log --json
[ "$(pyj "$T/out" '[e["changes"] for e in d]')" = "$(pyj logc.json '[len(e["changes"]) for e in d]')" ] &&
	pass "log --changes lists as many changes as log --json counts" ||
	fail "log --changes and log --json disagree on the changes"
[ "$(pyj logc.json 'sorted(set(tuple(sorted(c)) for e in d for c in e["changes"]))')" = \
	'[["base", "field", "merged", "record_id", "value"]]' ] &&
	pass "each change has record_id, field, value, base and merged" ||
	fail "change keys: $(pyj logc.json 'sorted(set(tuple(sorted(c)) for e in d for c in e["changes"]))')"
[ "$(pyj logc.json 'all(e["signature_ok"] for e in d)')" = true ] &&
	pass "received txns verify with the sender's pinned key" ||
	fail "some log entry does not verify on 石潭镇"
refuse 2 "--json" "log --changes without --json" --dir town log --changes
pg --dir town log
expect_rc 0 "log on 石潭镇"
expect_no_out "NOT VERIFIED" "the text log verifies every entry"
"$PY" "$LIB/refmerge.py" check --pingan "$PINGAN" county town townb >check.out 2>&1 &&
	pass "every node agrees with the reference merge" ||
	{ fail "the reference merge disagrees"; sed 's/^/#   /' check.out | head -30; }


# ---- exit 3: a txn quarantined, the rest applied -----------------------------------------

# A node restored from an old copy re-issues sequence numbers it had
# already used: equivocation.  Its bundle still applies, but for that txn.
put town dispute division=$VILLAGE dispute_type=邻里纠纷 summary='原件：宅基地边界纠纷' >/dev/null
pg --dir town export --to $COUNTY --out orig1.pgb
expect_rc 0 "石潭镇 exports"
pg --dir county import orig1.pgb
expect_rc 0 "the county imports it"
rm -rf restored
cp -R town restored
E2=$(put town dispute division=$VILLAGE dispute_type=婚姻家庭 summary='原件：离婚后探视纠纷')
pg --dir town export --to $COUNTY --out orig2.pgb
pg --dir county import orig2.pgb
expect_rc 0 "the county imports 石潭镇's next txn"
put restored dispute division=$VILLAGE dispute_type=合同履行 summary='恢复副本：重复使用的序号' >/dev/null
R2=$(put restored dispute division=$VILLAGE dispute_type=消费纠纷 summary='恢复副本：新序号的纠纷')
pg --dir restored export --to $COUNTY --out restored.pgb
expect_rc 0 "the restored copy exports"
pg --dir county import restored.pgb --json
expect_rc 3 "a bundle with an equivocating txn"
cp "$T/out" eq.json
[ "$(pyj eq.json '[d["files"][0]["status"], d["files"][0]["quarantined"], d["files"][0]["new"]]')" = '["applied", 1, 1]' ] &&
	pass "applied: 1 quarantined, 1 new" || fail "equivocation import: $(head -c 600 eq.json)"
notes=$(pyj eq.json 'd["files"][0].get("txn_notes", d["files"][0]["txns"] if isinstance(d["files"][0]["txns"], list) else None)')
[ "$(printf '%s' "$notes" | "$PY" -c 'import json,sys; n=json.load(sys.stdin); print([(x["origin"], x["outcome"], bool(x["reason"])) for x in n])')" = \
	"[('$TOWN', 'quarantined', True)]" ] &&
	pass "the note names the origin, the outcome and a reason" || fail "notes: $notes"
pg --dir county quarantine list --json
expect_rc 0 "quarantine list"
[ "$(pyj "$T/out" '[(q["origin"], q["peer"], q["collection"], q["division"], bool(q["reason"])) for q in d]')" = \
	"[[\"$TOWN\", \"$TOWN\", \"dispute\", \"$VILLAGE\", true]]" ] &&
	pass "the quarantine lists the txn with peer, collection, division and reason" ||
	fail "quarantine list: $(head -c 600 "$T/out")"
pg --dir county record get dispute "$R2" --json
expect_rc 0 "the restored copy's good txn was applied"
pg --dir county record get dispute "$E2" --json
expect_rc 0 "the original txn stays"
pg --dir county import restored.pgb --json
expect_rc 0 "importing it again: both txns are known (logged or quarantined)"
[ "$(pyj "$T/out" '[d["files"][0]["new"], d["files"][0]["duplicates"], d["files"][0]["quarantined"]]')" = '[0, 2, 0]' ] &&
	pass "the second import: 2 duplicates" || fail "second import: $(head -c 400 "$T/out")"
pg --dir county quarantine list --json
[ "$(pyj "$T/out" 'len(d)')" = 1 ] && pass "still one quarantined txn" ||
	fail "the quarantine holds $(pyj "$T/out" 'len(d)') txns"

# ---- exit 3: a txn from a clock far ahead waits as pending ---------------------------

# 易俗河镇's clock runs two hours fast (a PC set wrong): the county holds
# its txn back, neither applied nor acknowledged.
sqlite3 townb/store.db "UPDATE meta SET value = ((CAST(strftime('%s', 'now') AS INTEGER) + 7200) * 1000) << 16 WHERE key = 'hlc'" ||
	bail "cannot set 易俗河镇's clock"
P1=$(put townb dispute division=$TOWNB dispute_type=消费纠纷 summary='时钟超前的节点写入')
SKEW_SEQ=$(last_seq townb)
pg --dir townb export --to $COUNTY --out skew.pgb
expect_rc 0 "易俗河镇 exports with its clock two hours ahead"
RECV=$(cursor county $TOWNB received_upto)
pg --dir county import skew.pgb --json
expect_rc 3 "a txn whose clock is two hours ahead"
cp "$T/out" skew.json
[ "$(pyj skew.json '[d["files"][0]["status"], d["files"][0]["pending"], d["files"][0]["new"], d["files"][0]["quarantined"]]')" = '["applied", 1, 0, 0]' ] &&
	pass "applied: 1 pending, nothing new" || fail "skewed import: $(head -c 600 skew.json)"
[ "$(pyj skew.json '[(n["outcome"], "clock" in n["reason"]) for n in d["files"][0].get("txn_notes", d["files"][0]["txns"] if isinstance(d["files"][0]["txns"], list) else [])]')" = \
	'[["pending", true]]' ] && pass "the note says pending because of the clock" ||
	fail "notes: $(pyj skew.json 'd["files"][0].get("txn_notes")')"
pg --dir county record get dispute "$P1" --json
[ "$RC" != 0 ] && pass "the pending txn is not applied" || fail "the pending txn was applied"
[ "$(cursor county $TOWNB received_upto)" -lt "$SKEW_SEQ" ] &&
	pass "received_upto stays before the pending txn (was $RECV)" ||
	fail "received_upto moved to $(cursor county $TOWNB received_upto) past pending txn $SKEW_SEQ"
pg --dir county quarantine list --json
[ "$(pyj "$T/out" 'len(d)')" = 1 ] && pass "a pending txn is not quarantined" ||
	fail "the quarantine holds $(pyj "$T/out" 'len(d)') txns"


# ---- exit 1: a runtime failure rolls the file back -----------------------------------

# Another process holds 石潭镇's store for longer than the busy timeout:
# the import fails (exit 1), nothing of it stays, and it applies once the
# store is free.  (石潭镇 imports here: its own later txns would collide
# with the restored copy's above.)
P2=$(put county dispute division=$VILLAGE dispute_type=邻里纠纷 summary='存储被占用时导入')
pg --dir county export --to $TOWN --out busy.pgb
expect_rc 0 "the county exports a dispute for 石潭镇"
state town before
{ echo "BEGIN IMMEDIATE;"; sleep 8; echo "COMMIT;"; } | sqlite3 town/store.db &
LOCKER=$!
sleep 1
pg --dir town import busy.pgb
expect_rc 1 "import while another process holds the store"
grep -q "busy.pgb failed" "$T/err" && pass "the failure names the file" ||
	fail "stderr: $(head -c 300 "$T/err")"
wait "$LOCKER" || true
same_state town before "a failed import"
pg --dir town import busy.pgb
expect_rc 0 "the same file once the store is free"
pg --dir town record get dispute "$P2" --json
expect_rc 0 "the dispute arrived"

finish
