#!/bin/sh
# pingan status [--json]: a county (湘潭县) with its parent city (湘潭市)
# and a child township (石潭镇).  Per peer, UNSENT counts what the link
# would carry: the city gets every county txn, the township only those in
# its jurisdiction (and its own certificate, written when the county pins
# it); after export and an acknowledgement back, UNSENT and UNACKED drop
# to 0 and the last sync is set.  A quarantined txn of the last day shows
# by reason; an old one does not; pending txns are split into signer and
# clock skew.  Bad usage exits 2 (DESIGN §6, §9).
. "$(dirname "$0")/lib/testlib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)') || bail "python3 does not run"

CITY=430300000000
COUNTY=430321000000
TOWN=430321112000
VILLAGE=430321112228
new_node city $CITY 湘潭市
new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
for n in city county town; do
	"$PINGAN" --dir $n card --out $n.card 2>/dev/null || bail "cannot export the card of $n"
done

# st EXPR: evaluate a Python expression on the county's status --json (d).
st() {
	"$PINGAN" --dir county status --json </dev/null >"$T/st.json" 2>"$T/st.err" ||
		{
			echo "status failed: $(cat "$T/st.err")"
			return 0
		}
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = {x["code"]: x for x in d["peers"]}
r = eval(sys.argv[2])
print(json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r)' \
		"$T/st.json" "$2" 2>&1 || true
}

# check WHAT EXPR EXPECTED
check() {
	_got=$(st county "$2")
	if [ "$_got" = "$3" ]; then
		pass "$1"
	else
		fail "$1: $2 is $_got, expected $3"
	fi
}

# ---- usage -------------------------------------------------------------

refuse 2 "extra-arg" "status with an operand" --dir county status extra-arg
refuse 2 "--bogus" "status with an unknown option" --dir county status --bogus
refuse 2 "pingan init" "status without a node" --dir nowhere status
pg --dir county status --help
expect_rc 0 "status --help"
expect_out "UNSENT" "the help explains the columns"

# ---- a fresh node ------------------------------------------------------

pg --dir county status
expect_rc 0 "status of a fresh node"
expect_out "430321000000 湘潭县 (county)" "the node's code, name and tier"
expect_out "peers        none" "no peers yet"
check "a fresh log is empty" 'd["node"]["log_entries"], d["node"]["log_last_seq"]' '[0, 0]'
check "the schema version is shown" 'd["node"]["schema_version"] >= 1' 'true'
check "no peers" 'd["peers"]' '[]'

# ---- pinning -----------------------------------------------------------

pg --dir county peer add --card city.card --role parent --url https://pingan.xiangtan.gov.cn:8443/
expect_rc 0 "the county pins the city"
check "nothing to send the city yet" 'p["'$CITY'"]["unsent"], p["'$CITY'"]["unacked"]' '[0, 0]'
pg --dir county peer add --card town.card --role child
expect_rc 0 "the county pins 石潭镇"
pg --dir city peer add --card county.card --role child
expect_rc 0 "the city pins the county"
pg --dir town peer add --card county.card --role parent
expect_rc 0 "石潭镇 pins the county"
check "石潭镇's certificate counts for 石潭镇" 'p["'$TOWN'"]["unsent"]' '1'
check "and for the city" 'p["'$CITY'"]["unsent"]' '1'
check "the city's URL" 'p["'$CITY'"]["url"]' 'https://pingan.xiangtan.gov.cn:8443/'
check "石潭镇 is files only (url null)" 'p["'$TOWN'"]["url"]' 'null'
check "never synced" '[x["last_sync"] for x in d["peers"]]' '[null, null]'
check "roles" '[x["role"] for x in d["peers"]]' '["parent", "child"]'
check "no gaps" '[x["gap"] for x in d["peers"]]' '[null, null]'

# ---- writes ------------------------------------------------------------

put() {
	"$PINGAN" --dir county --operator 测试员 record put "$@" </dev/null >/dev/null 2>"$T/put.err" ||
		bail "record put $* failed: $(cat "$T/put.err")"
}
put dispute division=$COUNTY dispute_type=邻里纠纷 summary='县城两户排水纠纷'
put hazard division=$VILLAGE category=公共安全风险 level=较大 description='山体滑坡隐患'
put dispute division=$COUNTY dispute_type=劳资纠纷 summary='工地欠薪'
check "the city is behind by all 4 txns" 'p["'$CITY'"]["unsent"]' '4'
check "石潭镇 by its certificate and its village's hazard" 'p["'$TOWN'"]["unsent"]' '2'
check "unacked counts the same before any export" \
	'p["'$CITY'"]["unacked"], p["'$TOWN'"]["unacked"]' '[4, 2]'
check "the log has 4 entries" 'd["node"]["log_entries"], d["node"]["log_last_seq"]' '[4, 4]'
pg --dir county status
expect_out_re "^$CITY +湘潭市 +parent +https://pingan.xiangtan.gov.cn:8443/ +never +4 +4 +-\$" "the table row of the city"
expect_out_re "^$TOWN +石潭镇 +child +files only +never +2 +2 +-\$" "the table row of 石潭镇"

# ---- exchange ----------------------------------------------------------

pg --dir county export --to $TOWN --out town.pgb
expect_rc 0 "export to 石潭镇"
check "sent, not yet acknowledged" 'p["'$TOWN'"]["unsent"], p["'$TOWN'"]["unacked"]' '[0, 2]'
check "the city is still behind" 'p["'$CITY'"]["unsent"]' '4'
pg --dir town import town.pgb
expect_rc 0 "石潭镇 imports"
pg --dir town export --to $COUNTY --out ack.pgb --ack-only
expect_rc 0 "石潭镇 acknowledges"
pg --dir county import ack.pgb
expect_rc 0 "the county imports the acknowledgement"
check "石潭镇 is caught up" 'p["'$TOWN'"]["unsent"], p["'$TOWN'"]["unacked"]' '[0, 0]'
check "石潭镇's last sync is set, in +08:00" 'p["'$TOWN'"]["last_sync"][-6:]' '+08:00'

pg --dir county export --to $CITY --out city.pgb
expect_rc 0 "export to the city"
pg --dir city import city.pgb
expect_rc 0 "the city imports"
pg --dir city export --to $COUNTY --out ack2.pgb --ack-only
expect_rc 0 "the city acknowledges"
pg --dir county import ack2.pgb
expect_rc 0 "the county imports the city's acknowledgement"
check "the city is caught up" 'p["'$CITY'"]["unsent"], p["'$CITY'"]["unacked"]' '[0, 0]'
check "the city's last sync is set" 'p["'$CITY'"]["last_sync"] is not None' 'true'
pg --dir county status
expect_no_out "never" "no peer shows never"

# ---- one more write: only the city's link carries it --------------------

put dispute division=$COUNTY dispute_type=邻里纠纷 summary='噪音'
check "a county-level record: the city 1, 石潭镇 0" \
	'p["'$CITY'"]["unsent"], p["'$TOWN'"]["unsent"]' '[1, 0]'

# ---- quarantine and pending (written as the importer would) ----------------

check "nothing quarantined" 'd["quarantined_last_day"]' '{"total": 0, "by_reason": {}, "equivocations": []}'
check "nothing pending" 'd["pending"]["total"]' '0'
now=$("$PY" -c 'import time; print(int(time.time() * 1000))')
old=$((now - 2 * 86400 * 1000))
sqlite3 county/store.db "
INSERT INTO quarantine(peer, origin, origin_seq, digest, collection, division, reason, body, received_ms) VALUES
('$TOWN', '$TOWN', 5, x'01', 'dispute', '$TOWN', 'equivocation: $TOWN seq 5 is in the log', x'', $now),
('$TOWN', '$TOWN', 6, x'02', 'dispute', '$TOWN', 'equivocation: $TOWN seq 6 was also signed', x'', $now),
('$TOWN', '$TOWN', 7, x'03', 'dispute', '$TOWN', 'origin signature does not verify', x'', $now),
('$TOWN', '$TOWN', 8, x'04', 'dispute', '$TOWN', 'outside: an old one', x'', $old);
INSERT INTO pending(peer, peer_seq, origin, origin_seq, digest, reason, body, received_ms) VALUES
('$TOWN', 9, '$TOWN', 9, x'05', 'signer $VILLAGE unknown so far', x'', $old),
('$TOWN', 10, '$TOWN', 10, x'06', 'clock skew: the txn''s clock is 42 min ahead of this node''s; it waits', x'', $now);
" || bail "cannot write the quarantine with sqlite3"
check "3 quarantined in the last day, by reason prefix" \
	'd["quarantined_last_day"]["total"], d["quarantined_last_day"]["by_reason"]' \
	'[3, {"equivocation": 2, "origin signature does not verify": 1}]'
check "the two equivocations listed, newest first (both digests: cli.hostile)" \
	'[e["origin_seq"] for e in d["quarantined_last_day"]["equivocations"]]' '[6, 5]'
check "pending: one for a signer, one for the clock" \
	'd["pending"]["total"], d["pending"]["signer_unknown"], d["pending"]["clock_skew"], d["pending"]["max_ahead_min"]' \
	'[2, 1, 1, 42]'
check "the oldest pending's time" 'd["pending"]["oldest_received"] is not None' 'true'
pg --dir county status
expect_rc 0 "status with quarantine and pending"
expect_out "quarantined  3 in the last 24 h" "the human output counts the last day"
expect_out_re "^ +2  equivocation\$" "and groups by reason"
expect_out "1 waiting for a signer's key, 1 for the clock (up to 42 min ahead)" \
	"pending split by cause"

finish
