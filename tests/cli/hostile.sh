#!/bin/sh
# Hostile peers (DESIGN §5, §7, §8, §11), each handled and visible in
# `pingan status`:
#   - a township whose clock runs five years ahead edits a record the
#     county edits too: its txn waits as pending (exit 3), the county's
#     value stands, received_upto stays before it, and status reports it
#     (pending for the clock, minutes ahead) -- also after the same bundle
#     comes again;
#   - equivocation: a restored copy of the township signs another txn
#     with a seq already used; the county (original first) and a second
#     store of it (restored copy first) each quarantine the one seen
#     second, and `quarantine list`, `quarantine show` and `status` (JSON
#     and text) give both digests, the one kept and the one quarantined;
#     nothing of the quarantined txn is applied;
#   - a replayed old bundle changes nothing (all duplicates);
#   - a flood of hostile requests and huge bodies while two townships sync
#     (lib/flood.py: limits hold, the syncs succeed, memory stays bounded,
#     status counts the refusals).
# Replayed HTTP requests (a nonce used twice, also after a restart) are
# refused with 401 and counted in status by cli.http.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
command -v sqlite3 >/dev/null 2>&1 || bail "sqlite3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

COUNTY=430321000000 # 湘潭县
TOWN=430321112000   # 石潭镇
VILLAGE=430321112005

# pyj FILE EXPR: EXPR of the JSON in FILE (as d), printed as JSON.
pyj() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps(eval(sys.argv[2]), ensure_ascii=False))' "$1" "$2"
}

new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
link_nodes county town

# put DIR COLLECTION FIELD=VALUE...: the new record's id.
put() {
	_d=$1
	shift
	pg --dir "$_d" record put "$@" --json
	[ "$RC" = 0 ] || bail "cannot write at $_d"
	pyj "$T/out" 'd["id"]' | tr -d '"'
}

# ---- a clock years ahead ---------------------------------------------------

R=$(put town hazard division=$VILLAGE category=公共安全风险 description='原始描述：河堤渗水')
pg --dir town export --to $COUNTY --out first.pgb
pg --dir county import first.pgb
[ "$RC" = 0 ] || bail "the county cannot import 石潭镇's first bundle"
RECV=$(sqlite3 county/store.db "SELECT received_upto FROM peer WHERE code = '$TOWN'")

# 石潭镇's PC is set five years ahead, and it edits the record.
sqlite3 town/store.db "UPDATE meta SET value = ((CAST(strftime('%s', 'now') AS INTEGER) + 5 * 365 * 86400) * 1000) << 16 WHERE key = 'hlc'" ||
	bail "cannot set 石潭镇's clock"
pg --dir town record put hazard --id "$R" description='来自未来的改写'
[ "$RC" = 0 ] || bail "石潭镇 cannot edit with its clock ahead"
pg --dir county record put hazard --id "$R" description='县里核实后的描述'
[ "$RC" = 0 ] || bail "the county cannot edit the record"
pg --dir town export --to $COUNTY --out future.pgb
[ "$RC" = 0 ] || bail "石潭镇 cannot export"
pg --dir county import future.pgb --json
expect_rc 3 "a txn from a clock five years ahead: applied with a txn held back"
[ "$(pyj "$T/out" '[d["files"][0]["pending"], d["files"][0]["new"]]')" = '[1, 0]' ] &&
	pass "1 pending, nothing new" || fail "import: $(head -c 500 "$T/out")"
pg --dir county record get hazard "$R" --json
[ "$(pyj "$T/out" 'd["description"]')" = '"县里核实后的描述"' ] &&
	pass "the county's edit stands: the future txn cannot win" ||
	fail "the description became $(pyj "$T/out" 'd["description"]')"
[ "$(sqlite3 county/store.db "SELECT received_upto FROM peer WHERE code = '$TOWN'")" = "$RECV" ] &&
	pass "received_upto stays at $RECV, before the pending txn" ||
	fail "received_upto moved past the pending txn"
pg --dir county status --json
cp "$T/out" status1.json
[ "$(pyj status1.json '[d["pending"]["total"], d["pending"]["clock_skew"]]')" = '[1, 1]' ] &&
	pass "status: 1 pending, for the clock" || fail "status pending: $(pyj status1.json 'd["pending"]')"
AHEAD=$(pyj status1.json 'd["pending"]["max_ahead_min"]')
[ "$AHEAD" -gt $((5 * 365 * 1440 - 1440)) ] && [ "$AHEAD" -lt $((5 * 365 * 1440 + 1440)) ] &&
	pass "status: $AHEAD min ahead (five years)" || fail "status: $AHEAD min ahead"
pg --dir county status
expect_out "pending      1: 0 waiting for a signer's key, 1 for the clock (up to $AHEAD min ahead)" \
	"the human status reports the clock"
pg --dir county import future.pgb --json
[ "$(pyj "$T/out" 'd["files"][0]["new"]')" = 0 ] && pass "the same bundle again applies nothing" ||
	fail "again: $(head -c 300 "$T/out")"
pg --dir county record get hazard "$R" --json
[ "$(pyj "$T/out" 'd["description"]')" = '"县里核实后的描述"' ] &&
	pass "the county's edit still stands" || fail "the description changed on the second import"
pg --dir county status --json
[ "$(pyj "$T/out" 'd["pending"]["total"]')" = 1 ] && pass "still one pending txn, not two" ||
	fail "pending: $(pyj "$T/out" 'd["pending"]')"
# Put 石潭镇's clock back for what follows (its log keeps the future txn).
sqlite3 town/store.db "UPDATE meta SET value = (CAST(strftime('%s', 'now') AS INTEGER) * 1000) << 16 WHERE key = 'hlc'" ||
	bail "cannot set 石潭镇's clock back"

# ---- equivocation ----------------------------------------------------------

rm -rf restored county2
cp -R town restored
A=$(put town dispute division=$VILLAGE dispute_type=邻里纠纷 summary='原件：宅基地边界纠纷')
SEQ=$(sqlite3 town/store.db "SELECT max(seq) FROM log")
pg --dir town export --to $COUNTY --out orig.pgb
[ "$RC" = 0 ] || bail "石潭镇 cannot export"
B=$(put restored dispute division=$VILLAGE dispute_type=合同履行 summary='恢复副本：重复使用的序号')
[ "$(sqlite3 restored/store.db "SELECT max(seq) FROM log")" = "$SEQ" ] ||
	bail "the restored copy did not reuse seq $SEQ"
pg --dir restored export --to $COUNTY --out restored.pgb
[ "$RC" = 0 ] || bail "the restored copy cannot export"
DA=$(sqlite3 town/store.db "SELECT lower(hex(digest)) FROM log WHERE seq = $SEQ")
DB=$(sqlite3 restored/store.db "SELECT lower(hex(digest)) FROM log WHERE seq = $SEQ")
[ -n "$DA" ] && [ -n "$DB" ] && [ "$DA" != "$DB" ] || bail "no two digests for seq $SEQ"
cp -R county county2

# check_equivocation DIR KEPT QUARANTINED KEPT_ID QUARANTINED_ID
check_equivocation() {
	pg --dir "$1" quarantine list --json
	expect_rc 0 "$1: quarantine list"
	cp "$T/out" q.json
	[ "$(pyj q.json '[[q["origin"], q["origin_seq"], q["digest"], q["other_digest"]] for q in d if q["reason"].startswith("equivocation")]')" = \
		"[[\"$TOWN\", $SEQ, \"$3\", \"$2\"]]" ] &&
		pass "$1: quarantine list gives both digests (quarantined ${3%"${3#????????}"}..., kept ${2%"${2#????????}"}...)" ||
		fail "$1: quarantine list: $(head -c 800 q.json)"
	QID=$(pyj q.json '[q["id"] for q in d if q["reason"].startswith("equivocation")][0]')
	pg --dir "$1" quarantine show "$QID"
	expect_out "digest     $3" "$1: quarantine show gives the quarantined digest"
	expect_out "other      $2" "$1: and the one kept"
	pg --dir "$1" status --json
	cp "$T/out" st.json
	[ "$(pyj st.json '[[e["origin"], e["origin_seq"], e["peer"], e["digest"], e["other_digest"]] for e in d["quarantined_last_day"]["equivocations"]]')" = \
		"[[\"$TOWN\", $SEQ, \"$TOWN\", \"$3\", \"$2\"]]" ] &&
		pass "$1: status --json lists the equivocation with both digests" ||
		fail "$1: status equivocations: $(pyj st.json 'd["quarantined_last_day"]')"
	pg --dir "$1" status
	expect_out "  equivocation: $TOWN seq $SEQ (from $TOWN)" "$1: status names the equivocation"
	expect_out "    kept         $2" "$1: status gives the digest kept"
	expect_out "    quarantined  $3" "$1: status gives the digest quarantined"
	pg --dir "$1" record get dispute "$4" --json
	expect_rc 0 "$1: the txn kept is applied"
	pg --dir "$1" record get dispute "$5" --json
	expect_rc 2 "$1: nothing of the quarantined txn is applied"
}

# The county sees the original first, its second store the restored copy.
pg --dir county import orig.pgb
expect_rc 0 "the county imports the original"
pg --dir county import restored.pgb --json
expect_rc 3 "the county: the restored copy's txn is quarantined"
check_equivocation county "$DA" "$DB" "$A" "$B"
pg --dir county2 import restored.pgb
expect_rc 0 "the county's second store imports the restored copy first"
pg --dir county2 import orig.pgb --json
expect_rc 3 "the second store: the original is quarantined there"
check_equivocation county2 "$DB" "$DA" "$B" "$A"

# ---- a replayed old bundle ---------------------------------------------------

# state DIR: the log, the records, the quarantine, pending txns and the
# cursors (not the time of the last exchange, which an import stamps), as
# a checksum.  Each part must come out of a command that exited 0 with
# output (the JSON parts parse); otherwise it prints what went wrong on
# stderr, prints nothing and returns 1 (a failing read is never "the same").
state() {
	: >"$T/state.all" || return 1
	for _what in "log --json" "record list hazard --deleted --json" \
		"record list dispute --deleted --json" "quarantine list --json"; do
		# shellcheck disable=SC2086 # the words of the command
		"$PINGAN" --dir "$1" $_what </dev/null >"$T/state.part" 2>"$T/state.err"
		_rc=$?
		if [ "$_rc" -ne 0 ] || [ ! -s "$T/state.part" ] ||
			! "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/state.part" 2>/dev/null; then
			echo "state $1: '$_what' exited $_rc with $(wc -c <"$T/state.part") bytes: $(head -c 200 "$T/state.err")" >&2
			return 1
		fi
		cat "$T/state.part" >>"$T/state.all"
	done
	sqlite3 "$1/store.db" "SELECT code, sent_upto, acked_upto, received_upto FROM peer ORDER BY code; SELECT origin, origin_seq, hex(digest) FROM pending ORDER BY 1, 2; SELECT * FROM peer_range ORDER BY 1, 2" \
		</dev/null >"$T/state.part" 2>"$T/state.err"
	_rc=$?
	if [ "$_rc" -ne 0 ] || [ ! -s "$T/state.part" ]; then
		echo "state $1: sqlite3 exited $_rc with $(wc -c <"$T/state.part") bytes: $(head -c 200 "$T/state.err")" >&2
		return 1
	fi
	cat "$T/state.part" >>"$T/state.all"
	cksum <"$T/state.all"
}
BEFORE=$(state county) || bail "cannot read the county's state before the replay"
pg --dir county import first.pgb --json
expect_rc 0 "an old bundle replayed"
[ "$(pyj "$T/out" '[d["files"][0]["new"], d["files"][0]["duplicates"] > 0]')" = '[0, true]' ] &&
	pass "the replay: nothing new, all duplicates" || fail "replay: $(head -c 400 "$T/out")"
pg --dir county import orig.pgb restored.pgb --json
[ "$(pyj "$T/out" '[f["new"] for f in d["files"]]')" = '[0, 0]' ] &&
	pass "replaying the equivocating bundles adds nothing" || fail "replay: $(head -c 400 "$T/out")"
AFTER=$(state county) || AFTER="(the county's state could not be read)"
[ "$AFTER" = "$BEFORE" ] && pass "replayed bundles change nothing (log, records, quarantine, pending, cursors)" ||
	fail "the replayed bundles changed the county"
pg --dir county quarantine list --json
[ "$(pyj "$T/out" 'len(d)')" = 1 ] && pass "still one quarantined txn" ||
	fail "the quarantine holds $(pyj "$T/out" 'len(d)') txns"

# ---- a flood of requests and huge bodies ------------------------------------

[ -n "${PINGAN_NET_REQUEST:-}" ] && [ -x "$PINGAN_NET_REQUEST" ] ||
	bail "set PINGAN_NET_REQUEST to the pingan-net-request binary (ctest does)"
"$PY" "$LIB/flood.py" --pingan "$PINGAN" --net-request "$PINGAN_NET_REQUEST" \
	--gen "${PINGAN_GEN:-}" --work "$T/flood" \
	>flood.out 2>flood.err && frc=0 || frc=$?
relay_driver flood.py flood.out flood.err "$frc"
finish
