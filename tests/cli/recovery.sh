#!/bin/sh
# Recovery (pingan/recovery.h): pingan backup and restore round-trip the
# log, records, peers and keys; a backup taken while `pingan serve` runs is
# consistent; a wrong passphrase, a damaged or truncated file and an
# existing target are refused and leave nothing behind; the backup is mode
# 0600 and holds no secret key byte in plaintext.  A node restored from an
# older backup refuses writes until its parent's bundle (file or HTTP)
# gives back its later txns; its next seq continues after the parent's
# highest, which the parent accepts (no equivocation).  pingan rekey and
# peer rekey: parent and grandparent verify the new key's writes, and a
# txn signed by the old key after the named seq is quarantined.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

CITY=430300000000
COUNTY=430321000000
TOWN=430321112000
new_node city $CITY 湘潭市
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
for n in city county town; do
	"$PINGAN" --dir $n card --out $n.card >/dev/null 2>&1 || bail "card of $n"
done
"$PINGAN" --dir city peer add --card county.card --role child >/dev/null 2>&1 &&
	"$PINGAN" --dir county peer add --card city.card --role parent >/dev/null 2>&1 &&
	"$PINGAN" --dir county peer add --card town.card --role child >/dev/null 2>&1 &&
	"$PINGAN" --dir town peer add --card county.card --role parent >/dev/null 2>&1 ||
	bail "cannot link the nodes"

put() { # DIR SUBJECT: a grid event of the town
	"$PINGAN" --dir "$1" --operator 测试员 record put grid_event division=$TOWN \
		category=城市管理 subject="$2" </dev/null >/dev/null 2>"$T/put.err" ||
		bail "record put in $1 failed: $(cat "$T/put.err")"
}
pyj() { # FILE EXPR
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}
ship() { # FROM TO-DIR TO-CODE: export a bundle and import it
	"$PINGAN" --dir "$1" export --to "$3" --out "$T/ship.pgb" >/dev/null 2>"$T/ship.err" ||
		bail "export from $1 failed: $(cat "$T/ship.err")"
	pg --dir "$2" import "$T/ship.pgb"
	rm -f "$T/ship.pgb"
}
printf 'correct horse battery\n' >pass
printf 'wrong horse\n' >bad
: >empty

put town 路灯一
put town 井盖二
ship town county $COUNTY
expect_rc 0 "the county has the town's first two txns"

# ---- round trip ----------------------------------------------------------
pg --dir town backup b1.pgbk --passphrase-file pass --json
expect_rc 0 "backup with --passphrase-file"
cp "$T/out" b1.json
[ "$(pyj b1.json 'd["last_seq"]')" = 2 ] && pass "the backup holds own seq 2" ||
	fail "backup --json last_seq: $(cat b1.json)"
[ "$(stat -c %a b1.pgbk)" = 600 ] && pass "the backup is mode 0600" ||
	fail "backup mode $(stat -c %a b1.pgbk)"
if "$PY" - town b1.pgbk <<'PYEOF'; then pass "no secret key bytes (or half of them) in the backup"; else fail "secret key bytes in the backup"; fi
import sys
d, f = sys.argv[1], sys.argv[2]
data = open(f, "rb").read()
for k in ("sign.key", "box.key"):
    key = open(d + "/" + k, "rb").read()
    for i in range(0, len(key) - 15):
        if key[i:i + 16] in data:
            sys.exit(1)
for word in (b"SQLite format", "石潭镇".encode(), "路灯一".encode()):
    if word in data:
        sys.exit(1)
PYEOF
grep -q 'correct horse' "$T/out" "$T/err" && fail "the passphrase was printed" ||
	pass "the passphrase is never printed"

refuse 2 "empty" "an empty passphrase file" --dir town backup x.pgbk --passphrase-file empty
[ -e x.pgbk ] && fail "a refused backup left a file" || pass "a refused backup leaves no file"
refuse 2 "terminal" "no terminal and no passphrase file" --dir town backup x.pgbk

pg --dir restored --operator 信息科李工 restore b1.pgbk --passphrase-file pass --json
expect_rc 0 "restore into a new directory"
# audit_entry DIR ACTION PYEXPR: the newest audit entry of ACTION (d) holds.
audit_entry() {
	"$PINGAN" --dir "$1" audit list --action "$2" --json >audit.json 2>&1 &&
		[ "$(pyj audit.json "(lambda d: $3)(d[-1])")" = True ]
}
audit_entry town backup 'd["detail"]["last_seq"] == 2 and d["detail"]["bytes"] > 0 and d["detail"]["files"] >= 3' &&
	pass "the backup is in the node's audit trail" || fail "no backup entry: $(cat audit.json)"
audit_entry restored restore 'd["operator"] == "信息科李工" and d["detail"]["last_seq"] == 2' &&
	pass "the restore is in the restored node's audit trail, with its operator" ||
	fail "no restore entry: $(cat audit.json)"
pg --dir restored audit verify
expect_rc 0 "the restored node's audit chain verifies"
same() { # WHAT CMD...: the same output from town and restored
	_w=$1
	shift
	"$PINGAN" --dir town "$@" >a.txt 2>&1
	"$PINGAN" --dir restored "$@" >b.txt 2>&1
	cmp -s a.txt b.txt && pass "round trip: the same $_w" || fail "round trip: $_w differ"
}
same "log" log --json
same "records" record list grid_event --json
same "peers" peer list --json
for f in sign.key box.key card.json; do
	cmp -s town/$f restored/$f && pass "round trip: the same $f" || fail "round trip: $f differs"
done
[ "$(stat -c %a restored/sign.key)$(stat -c %a restored/box.key)" = 600600 ] &&
	pass "restored key files are mode 0600" || fail "restored key modes"

# ---- refusals, nothing left behind -----------------------------------------
ls | grep -v "\.ls$" >before.ls
refuse 2 "already holds" "restore over an existing node" --dir town restore b1.pgbk --passphrase-file pass
refuse 2 "wrong passphrase" "a wrong passphrase" --dir r2 restore b1.pgbk --passphrase-file bad
size=$(stat -c %s b1.pgbk)
head -c $((size - 100)) b1.pgbk >trunc.pgbk
refuse 1 "truncated" "a truncated backup" --dir r2 restore trunc.pgbk --passphrase-file pass
"$PY" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 1
open(sys.argv[2], "wb").write(b)' b1.pgbk flip.pgbk
refuse 1 "damaged" "a flipped byte" --dir r2 restore flip.pgbk --passphrase-file pass
"$PY" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[20] ^= 1
open(sys.argv[2], "wb").write(b)' b1.pgbk salt.pgbk
refuse 2 "header is damaged" "a flipped salt byte" --dir r2 restore salt.pgbk --passphrase-file pass
rm -f salt.pgbk
refuse 2 "not a pingan backup" "a file that is not a backup" --dir r2 restore town.card --passphrase-file pass
rm -f trunc.pgbk flip.pgbk
ls | grep -v "\.ls$" >after.ls
cmp -s before.ls after.ls && pass "refused restores leave nothing behind" ||
	fail "refused restores left: $(diff before.ls after.ls | tr '\n' ' ')"

# ---- the hold: restore an older backup after more was synced ---------------
# A bundle the county makes now, before the town's next txns reach it, is
# carried late (a stick found in a drawer): it must not lift the hold.
"$PINGAN" --dir county export --to $TOWN --out stale.pgb >/dev/null 2>&1 ||
	bail "cannot export the stale bundle"
put town 路灯三
put town 路灯四
ship town county $COUNTY
expect_rc 0 "the county has the town's txns 3 and 4"
rm -rf town restored # the disk died; the older backup comes back
pg --dir town restore b1.pgbk --passphrase-file pass
expect_rc 0 "the town is restored from its first backup"
refuse 1 "restored from a backup" "a write on hold" --dir town --operator x \
	record put grid_event division=$TOWN category=城市管理 subject=五
pg --dir town status --json
[ "$(pyj "$T/out" 'd["hold"]["held"]')" = True ] && pass "status shows the hold" ||
	fail "status --json hold: $(cat "$T/out")"
pg --dir town import stale.pgb
expect_rc 0 "the stale county bundle imports"
pg --dir town status --json
[ "$(pyj "$T/out" 'd["hold"]["held"]')" = True ] &&
	pass "a parent bundle made before the restore does not lift the hold" ||
	fail "a stale bundle lifted the hold: $(cat "$T/out")"
ship town county $COUNTY
expect_rc 0 "the held town's bundle asks the county"
ship county town $TOWN
expect_rc 0 "the county's bundle comes back"
pg --dir town status --json
[ "$(pyj "$T/out" 'd["hold"]["held"]')" = False ] && pass "the parent's bundle lifts the hold" ||
	fail "still held: $(cat "$T/out")"
pg --dir town record list grid_event --json
[ "$(pyj "$T/out" 'len(d)')" = 4 ] && pass "the town holds its later records again" ||
	fail "records after the return: $(cat "$T/out")"
put town 路灯五
pg --dir town log --json
[ "$(pyj "$T/out" 'max(e["origin_seq"] for e in d if e["origin"] == "'$TOWN'")')" = 5 ] &&
	pass "the next write is seq 5, one past the parent's highest" ||
	fail "own seqs after the hold: $(cat "$T/out")"
ship town county $COUNTY
expect_out "1 new, " "the county applies seq 5"
expect_out_re "(^|[^0-9])0 quarantined" "no equivocation at the county"

# ---- the hold over HTTP, with a backup taken while the node serves ---------
"$PINGAN" --dir county serve --listen 127.0.0.1:0 >serve.out 2>serve.err &
SPID=$!
i=0
while ! grep -q 'listening on port' serve.out 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
PORT=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' serve.out)
[ -n "$PORT" ] || { kill $SPID; bail "pingan serve did not start: $(cat serve.err)"; }
"$PINGAN" --dir town peer set $COUNTY --url http://127.0.0.1:$PORT >/dev/null 2>&1 ||
	bail "cannot set the county's URL"
# Backups while the county serves and writes: each is one snapshot.
(
	i=0
	while [ $i -lt 40 ]; do
		"$PINGAN" --dir county --operator 测试员 record put grid_event division=$COUNTY \
			category=城市管理 subject="并发$i" </dev/null >/dev/null 2>&1 || true
		i=$((i + 1))
	done
) &
WPID=$!
for k in 1 2 3; do
	pg --dir county backup served$k.pgbk --passphrase-file pass
	expect_rc 0 "backup $k of a node while it serves and writes"
done
wait $WPID
pg --dir town backup b2.pgbk --passphrase-file pass
put town 路灯六
# Six large txns (200 records each): the way back takes several pulls.
"$PY" -c 'import json
for i in range(1200):
    print(json.dumps({"division": "'$TOWN'", "category": "城市管理",
                      "subject": "批量事项 %d：路口信号灯夜间故障，需核实维修" % i},
                     ensure_ascii=False))' >bulk.jsonl
"$PINGAN" --dir town --operator 测试员 record import grid_event bulk.jsonl --batch 200 \
	>/dev/null 2>&1 || bail "bulk import failed"
pg --dir town sync $COUNTY
expect_rc 0 "the town syncs seqs 6-12"
rm -rf town
pg --dir town restore b2.pgbk --passphrase-file pass
expect_rc 0 "restore the older backup again"
refuse 1 "restored from a backup" "writes are held again" --dir town --operator x \
	record put grid_event division=$TOWN category=城市管理 subject=七
pg --dir town sync $COUNTY --bundle-max 65536 --json
expect_rc 0 "one sync with the parent, in bundles of 64 KiB"
[ "$(pyj "$T/out" 'd[0]["pulled"]["bundles"] >= 3')" = True ] &&
	pass "the way back took several bundles" || fail "pulled: $(cat "$T/out")"
pg --dir town status --json
[ "$(pyj "$T/out" 'd["hold"]["held"]')" = False ] && pass "one sync lifts the hold" ||
	fail "still held after one sync: $(cat "$T/out")"
put town 路灯七
pg --dir town log --json
[ "$(pyj "$T/out" 'sorted(e["origin_seq"] for e in d if e["origin"] == "'$TOWN'") == list(range(1, 14))')" = True ] &&
	pass "after the HTTP return the town holds seqs 1-12 and writes 13" ||
	fail "own seqs after the HTTP return: $(cat "$T/out")"
pg --dir town sync $COUNTY --json
expect_rc 0 "the county accepts seq 13"
[ "$(pyj "$T/out" 'd[0]["pushed"]["quarantined"]')" = 0 ] &&
	pass "no equivocation over HTTP" || fail "pushed: $(cat "$T/out")"
kill $SPID 2>/dev/null
wait $SPID 2>/dev/null || true
for k in 1 2 3; do
	pg --dir county$k restore served$k.pgbk --passphrase-file pass
	expect_rc 0 "backup $k taken while serving restores"
	if command -v sqlite3 >/dev/null 2>&1; then
		[ "$(sqlite3 county$k/store.db 'PRAGMA integrity_check')" = ok ] &&
			pass "backup $k: integrity_check passes" || fail "backup $k: integrity_check"
	fi
	pg --dir county$k log
	expect_no_out "NOT VERIFIED" "backup $k: every signature of its log verifies"
	pg --dir county$k log --json
	cp "$T/out" log$k.json
	pg --dir county$k record list grid_event --json
	# Every own write in the log is complete (seqs 1..n, no gap) and its
	# record is in the table: the log and the tables agree.
	if "$PY" - log$k.json "$T/out" $COUNTY >n$k.txt <<'PYEOF'; then pass "backup $k: the log and the records agree ($(cat n$k.txt) writes)"; else fail "backup $k: log and records disagree"; fi
import json, sys
log = json.load(open(sys.argv[1]))
recs = json.load(open(sys.argv[2]))
own = sorted(e["origin_seq"] for e in log if e["origin"] == sys.argv[3])
if own != list(range(1, len(own) + 1)):
    sys.exit(1)
writes = [e for e in log if e["origin"] == sys.argv[3] and e["collection"] == "grid_event"]
mine = [r for r in recs if str(r.get("subject", "")).startswith("并发")]
print(len(mine))
sys.exit(0 if len(writes) == len(mine) else 1)
PYEOF
done

# ---- rekey -------------------------------------------------------------------
ship county city $CITY
cp -a town thief # a copy of the old key
pg --dir town rekey --card-out town.rekey --json
expect_rc 0 "rekey"
OLD=$(pyj "$T/out" 'd["old_key_id"]')
NEW=$(pyj "$T/out" 'd["key_id"]')
LAST=$(pyj "$T/out" 'd["last_seq"]')
[ "$(stat -c %a town/sign.key.retired-$OLD)" = 600 ] && pass "the old key is kept, mode 0600" ||
	fail "retired key"
put thief 冒名
ship thief county $COUNTY
expect_rc 0 "the county still takes the old key's seq $((LAST + 1))"
pg --dir county peer rekey --card town.rekey --json
expect_rc 0 "the county certifies the new key"
[ "$(pyj "$T/out" 'd["quarantined"]')" = 1 ] && pass "the old key's txn after seq $LAST is quarantined" ||
	fail "peer rekey: $(cat "$T/out")"
[ "$(pyj "$T/out" 'd["revoked"]')" = True ] && pass "peer rekey --json says the old key is revoked" ||
	fail "peer rekey --json: $(cat "$T/out")"
audit_entry town rekey 'd["detail"] == {"old_key": "'$OLD'", "new_key": "'$NEW'", "last_seq": '$LAST'}' &&
	pass "the rekey is in the town's audit trail" || fail "no rekey entry: $(cat audit.json)"
audit_entry county peer.rekey 'd["subject"] == "'$TOWN'" and d["detail"]["new_key"] == "'$NEW'" and d["detail"]["certified"]' &&
	pass "the certification is in the county's audit trail" || fail "no peer.rekey entry: $(cat audit.json)"
pg --dir county quarantine list
expect_out "revoked" "quarantine names the revocation"
put town 新钥
ship town county $COUNTY
expect_out_re "(^|[^0-9])0 quarantined" "the county verifies the new key's write"
ship county city $CITY
expect_out_re "(^|[^0-9])0 quarantined, 0 pending" "the city verifies it too"
pg --dir city record list grid_event --json
grep -q 新钥 "$T/out" && pass "the city holds the new key's record" || fail "not at the city"
grep -q 冒名 "$T/out" && fail "the thief's record reached the city" || pass "the thief's record did not"
refuse 1 "pinned already" "a rekey card replayed" --dir county peer rekey --card town.rekey

# A county rekeys: its parent certifies, its child pins the new card, and
# both go on exchanging with it.
put town 县换钥前
ship town county $COUNTY
pg --dir county rekey --card-out county.rekey
expect_rc 0 "the county rekeys"
pg --dir city peer rekey --card county.rekey
expect_rc 0 "the city certifies the county's new key"
pg --dir town peer rekey --card county.rekey
expect_rc 0 "the town pins its parent's new card"
ship city county $COUNTY
expect_out_re "(^|[^0-9])0 quarantined" "the county takes the city's bundle with the new certificate"
ship county town $TOWN
expect_rc 0 "the town takes the county's bundle signed by the new key"
expect_out_re "(^|[^0-9])0 quarantined, 0 pending" "nothing held back at the town"
put town 县换钥后
ship town county $COUNTY
expect_out "1 new" "the county opens the town's bundle sealed to its new key"
ship county city $CITY
expect_out_re "(^|[^0-9])0 quarantined, 0 pending" "the city verifies the county's new key"
pg --dir city record list grid_event --json
grep -q 县换钥后 "$T/out" && pass "the town's record reaches the city after the county's rekey" ||
	fail "not at the city after the county's rekey"

# ---- a node without a parent: the administrator releases the hold ---------

put city 市级一
pg --dir city backup city.pgbk --passphrase-file pass
expect_rc 0 "the city backs up"
CSEQ=$("$PINGAN" --dir city log --json | "$PY" -c 'import json, sys
print(max(e["origin_seq"] for e in json.load(sys.stdin) if e["origin"] == "'$CITY'"))')
put city 市级二
put city 市级三
ship city county $COUNTY
expect_rc 0 "the county holds the city's later txns"
rm -rf city
pg --dir city restore city.pgbk --passphrase-file pass
expect_rc 0 "the city is restored from the older backup"
refuse 1 "restored from a backup" "the restored city is held" --dir city \
	record put grid_event division=$TOWN category=城市管理 subject=市级四
refuse 2 "below this node's own seq" "a release below the city's own seq" --dir city \
	release-hold --after-seq $((CSEQ - 1))
pg --dir town2 restore b1.pgbk --passphrase-file pass
expect_rc 0 "a town restored again, elsewhere"
refuse 2 "has a parent" "a node with a parent cannot be released by hand" --dir town2 \
	release-hold --after-seq 99
refuse 2 "needs --after-seq" "release-hold without --after-seq" --dir city release-hold
HIGH=$("$PINGAN" --dir county log --json | "$PY" -c 'import json, sys
print(max(e["origin_seq"] for e in json.load(sys.stdin) if e["origin"] == "'$CITY'"))')
pg --dir city --operator 市平安办王主任 release-hold --after-seq "$HIGH" --json
expect_rc 0 "the city is released after the county's highest city seq"
[ "$(pyj "$T/out" 'd["next_seq"]')" = $((HIGH + 1)) ] && pass "the next city write takes seq $((HIGH + 1))" ||
	fail "release-hold: $(cat "$T/out")"
refuse 2 "not on hold" "a second release" --dir city release-hold --after-seq "$HIGH"
put city 市级四
ship city county $COUNTY
expect_out_re "(^|[^0-9])0 quarantined" "the county accepts the released city's next txn (no seq issued twice)"
pg --dir county log --json
[ "$(pyj "$T/out" 'sorted(e["origin_seq"] for e in d if e["origin"] == "'$CITY'")[-1]')" = $((HIGH + 1)) ] &&
	pass "the county holds city seq $((HIGH + 1))" || fail "city seqs at the county: $(cat "$T/out")"
audit_entry city hold.release 'd["operator"] == "市平安办王主任" and d["detail"]["after_seq"] == '$HIGH &&
	pass "the release is in the city's audit trail" || fail "no hold.release entry: $(cat audit.json)"

# A revoked key speaks for nobody: a rekey card it signs is refused.
pg --dir county peer revoke $TOWN --after-seq 1000
expect_rc 0 "the county revokes the town's key (stolen)"
pg --dir town rekey --card-out thief.rekey
expect_rc 0 "a rekey card signed by the revoked key"
refuse 2 "is revoked" "the county refuses a rekey card signed by a revoked key" --dir county \
	peer rekey --card thief.rekey

finish
