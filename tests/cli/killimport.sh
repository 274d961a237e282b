#!/bin/sh
# A crash during import never leaves a half-applied bundle (DESIGN §4, §5,
# §11): a bundle of 20,000 records is imported and killed with SIGKILL at
# 20 moments spread over the measured import time.  After each kill the
# node is exactly as before the import (none of the bundle) or exactly as
# after it (all of it) -- log, records, cursors -- never in between, and
# `pingan log` still reads and verifies every entry.  Finally the import
# runs to the end.
#
# KILLIMPORT_RECORDS and KILLIMPORT_KILLS override 20000 and 20 by hand.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

command -v python3 >/dev/null 2>&1 || bail "python3 is needed (tools/setup installs it)"
command -v sqlite3 >/dev/null 2>&1 || bail "sqlite3 is needed (tools/setup installs it)"
# The interpreter itself, not a version manager's shim that costs half a
# second a start.
PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"
NREC=${KILLIMPORT_RECORDS:-20000}
NKILL=${KILLIMPORT_KILLS:-20}
SEED=20261127

# Real codes: 湘潭县 and its town 石潭镇.
COUNTY=430321000000
TOWN=430321112000
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
link_nodes county town

# Some history on both sides first, so that "before" is not empty.
pg --dir town record put dispute division=430321112228 dispute_type=邻里纠纷 summary='村民排水沟纠纷'
[ "$RC" = 0 ] || bail "cannot write at 石潭镇"
pg --dir county record put hazard division=430321112005 category=公共安全风险 description='煤矿旧址塌陷隐患'
[ "$RC" = 0 ] || bail "cannot write at the county"
pg --dir county export --to $TOWN --out small.pgb
pg --dir town import small.pgb
[ "$RC" = 0 ] || bail "the first small bundle does not import"

# The big bundle.
if gen_available; then
	"$PINGAN_GEN" hazard "$NREC" --seed 7 --division $TOWN >big.jsonl ||
		bail "pingan-gen failed"
else
	# Without the generator: plain records of the same shape.
	"$PY" -c 'import sys
for i in range(int(sys.argv[1])):
    print("{\"division\": \"4303211122%02d\", \"category\": \"公共安全风险\", \"level\": \"一般\", \"description\": \"第%d号隐患：楼道堆放杂物，消防通道不畅，已督促清理\"}" % (28 + i % 4, i))' "$NREC" >big.jsonl
fi
pg --dir county record import hazard big.jsonl
[ "$RC" = 0 ] || bail "the county cannot import $NREC hazards"
pg --dir county export --to $TOWN --out big.pgb --json
[ "$RC" = 0 ] || bail "the county cannot export the big bundle"
NTXN=$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(sum(f["txns"] for f in d["files"]) if len(d["files"]) == 1 else "split")' "$T/out")
[ "$NTXN" != split ] || bail "the big bundle was split"
pass "a bundle of $NREC records in $NTXN txns, $(wc -c <big.pgb | tr -d ' ') bytes"

# state DIR: one line summing up everything a bundle changes: the log,
# the record tables byte for byte with their field versions (sqlite3
# .dump), the history kept for conflicts, the ranges received and the
# peers' cursors -- not the clocks of receipt, which differ between runs.
state() {
	{
		"$PINGAN" --dir "$1" log --json || echo "log exit $?"
		"$PINGAN" --dir "$1" peer list --json | grep -E '"(code|sent_upto|acked_upto|received_upto)"' ||
			echo "peer exit $?"
		"$PINGAN" --dir "$1" conflicts list --all --json || echo "conflicts exit $?"
		for _t in hazard dispute hist peer_range; do
			sqlite3 "$1/store.db" ".dump $_t" || echo "dump exit $?"
		done
	} </dev/null 2>&1 | cksum
}

# log_ok DIR: the log reads whole and every signature verifies.
log_ok() {
	"$PINGAN" --dir "$1" log --json </dev/null >"$T/log.json" 2>"$T/log.err" &&
		"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
bad = [e["seq"] for e in d if not e["signature_ok"]]
sys.exit(1 if bad else 0)' "$T/log.json"
}

# seconds CMD...: run CMD, print how long it took.
seconds() {
	"$PY" -c 'import subprocess, sys, time
t = time.time()
r = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print("%.3f" % (time.time() - t))
sys.exit(r)' "$@"
}

cp -R town pristine
BEFORE=$(state town)
cp -R town ref
IMPORT_TIME=$(seconds "$PINGAN" --dir ref import big.pgb) || bail "the big bundle does not import"
AFTER=$(state ref)
[ "$BEFORE" != "$AFTER" ] || bail "importing the big bundle changed nothing"
pg --dir ref record list hazard --json
[ "$(json_count id "$T/out")" = $((NREC + 1)) ] && pass "a full import gives all $NREC hazards" ||
	fail "a full import gives $(json_count id "$T/out") hazards"
pg --dir county record list hazard --json
cp "$T/out" county.json
pg --dir ref record list hazard --json
cmp -s county.json "$T/out" && pass "the same hazards, value for value, as the county's" ||
	fail "the imported hazards differ from the county's"
log_ok ref && pass "after a full import every log entry verifies" ||
	fail "after a full import the log does not verify"
rm -rf ref
pass "a full import takes ${IMPORT_TIME}s"

# Kill moments: spread over the import time, from a fixed seed.
awk -v seed=$SEED -v t="$IMPORT_TIME" -v n="$NKILL" 'BEGIN {
	srand(seed)
	for (i = 0; i < n; i++)
		printf "%.3f\n", t * (0.02 + 0.96 * (i + rand()) / n)
}' >moments
nbefore=0
nafter=0
i=0
while read -r at; do
	i=$((i + 1))
	"$PINGAN" --dir town import big.pgb </dev/null >/dev/null 2>&1 &
	pid=$!
	sleep "$at"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	now=$(state town)
	if [ "$now" = "$BEFORE" ]; then
		nbefore=$((nbefore + 1))
		pass "kill $i at ${at}s: exactly as before"
	elif [ "$now" = "$AFTER" ]; then
		nafter=$((nafter + 1))
		pass "kill $i at ${at}s: exactly as after (the import had committed)"
	else
		pg --dir town record list hazard --json
		fail "kill $i at ${at}s: neither before nor after ($(json_count id "$T/out") hazards)"
	fi
	log_ok town && pass "kill $i: the log verifies" ||
		fail "kill $i: the log does not verify: $(head -c 300 "$T/log.err")"
	if [ "$now" != "$BEFORE" ]; then
		rm -rf town
		cp -R pristine town
	fi
done <moments
[ "$nbefore" -ge $((NKILL / 2)) ] && pass "$nbefore of $NKILL kills hit the import before it committed" ||
	fail "only $nbefore of $NKILL kills interrupted the import: the moments miss it"

pg --dir town import big.pgb --json
expect_rc 0 "after all the kills, the import succeeds"
[ "$(state town)" = "$AFTER" ] && pass "and leaves exactly the state of an uninterrupted import" ||
	fail "the final state differs from an uninterrupted import"
log_ok town && pass "the log verifies at the end" || fail "the log does not verify at the end"
pg --dir town import big.pgb --json
expect_rc 0 "importing it once more"
[ "$("$PY" -c 'import json, sys; f = json.load(open(sys.argv[1]))["files"][0]; print(f["new"], f["duplicates"])' "$T/out")" = "0 $NTXN" ] &&
	pass "only duplicates the second time" || fail "second import: $(head -c 300 "$T/out")"
finish
