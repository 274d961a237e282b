#!/bin/sh
# Schema versions in a mixed federation (DESIGN §2): a township whose
# store is at schema v1 (`init --schema-version 1`) and its county at v2
# sync both ways, by files and over HTTP.  Disputes flow both ways; the
# dispute parties (a v2 collection) the county writes do not reach the
# v1 township and nothing is refused or quarantined; after `pingan schema
# upgrade` on the township the next exchange brings exactly the parties
# held back.  A bundle claiming schema v3 is refused whole ("upgrade");
# `schema upgrade` twice is a no-op; a v1 node refuses v2 collections;
# dispute parties must name a dispute held here of their division.
# Output in LANG=C and LANG=zh_CN.UTF-8, --json identical.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

FORGE=$(dirname "${PINGAN_NET_REQUEST:-$PINGAN}")/pingan-forge-bundle
[ -x "$FORGE" ] || FORGE=$(dirname "$PINGAN")/tests/pingan-forge-bundle
[ -x "$FORGE" ] || bail "pingan-forge-bundle not found beside the test tools"

COUNTY=430321000000
TOWN=430321112000  # 石潭镇: by files
TOWN2=430321100000 # 易俗河镇: over HTTP

new_node county $COUNTY 湘潭县
pg --dir town init --code $TOWN --name 石潭镇 --schema-version 1
expect_rc 0 "init --schema-version 1"
pg --dir town2 init --code $TOWN2 --name 易俗河镇 --schema-version 1
expect_rc 0 "a second township at schema v1"
refuse 2 "schema-version" "init --schema-version 3 is refused" \
	--dir bad init --code $TOWN --name 石潭镇 --schema-version 3
[ ! -e bad/store.db ] && pass "nothing made for an unknown version" ||
	fail "a store was made for schema version 3"
link_nodes county town
link_nodes county town2

# ---- a v1 node behaves as a v1 build ---------------------------------------

pg --dir town schema --json
expect_rc 0 "schema --json of the v1 node"
[ "$(json_value version "$T/out")" = 1 ] && pass "the v1 node's schema is version 1" ||
	fail "the v1 node's schema is not version 1"
expect_no_out '"dispute_party"' "v1 shows no dispute_party"
pg --dir town schema
expect_out "schema upgrade" "schema text says how to upgrade"
pg --dir town status
expect_out "schema version 1" "status shows version 1"
expect_out "pingan schema upgrade" "status says how to upgrade"
pg --dir town status --json
[ "$(json_value schema_version "$T/out")" = 1 ] && [ "$(json_value schema_newest "$T/out")" = 2 ] &&
	pass "status --json: schema_version 1, schema_newest 2" || fail "status --json versions wrong"
pg --dir county status
expect_no_out "pingan schema upgrade" "a v2 node is not told to upgrade"

refuse 2 "schema upgrade" "a v1 node refuses a dispute_party write" \
	--dir town record put dispute_party division=$TOWN dispute_id=$TOWN-01ARZ3NDEKTSV4RRFFQ69G5FAV \
	party_role=申请人 name=张三

# ---- files: both ways -------------------------------------------------------

pg --dir town record put dispute division=$TOWN dispute_type=邻里纠纷 summary=宅基地边界纠纷
expect_rc 0 "the township writes a dispute"
D1=$(cat "$T/out")
pg --dir town export --to $COUNTY --out t1.bundle
expect_rc 0 "township exports"
pg --dir county import t1.bundle
expect_rc 0 "county imports the township's v1 bundle"
expect_out "0 quarantined" "nothing quarantined at the county"

# Parties: refused unless they name a dispute held here, of their division.
refuse 2 "names no dispute" "a party of an unknown dispute is refused" \
	--dir county record put dispute_party division=$TOWN dispute_id=$TOWN-01ARZ3NDEKTSV4RRFFQ69G5FAV \
	party_role=申请人 name=张三
refuse 2 "division" "a party in another division than its dispute is refused" \
	--dir county record put dispute_party division=$TOWN2 dispute_id=$D1 party_role=申请人 name=张三
pg --dir county record put dispute_party division=$TOWN dispute_id=$D1 party_role=申请人 \
	name=张三 phone=13912345678
expect_rc 0 "the county records a party of the township's dispute"
P1=$(cat "$T/out")
pg --dir county record put dispute division=$TOWN dispute_type=劳资纠纷 summary=拖欠工资
expect_rc 0 "the county writes a dispute in the township"
D2=$(cat "$T/out")
pg --dir county record put dispute_party division=$TOWN dispute_id=$D2 party_role=被申请人 name=李四
expect_rc 0 "and a party of it"
P2=$(cat "$T/out")

pg --dir county export --to $TOWN --out c1.bundle
expect_rc 0 "county exports to the v1 township"
pg --dir county bundle inspect c1.bundle --json
txns=$(json_value txns "$T/out")
pg --dir town import c1.bundle
expect_rc 0 "the v1 township imports the county's bundle"
expect_out "0 quarantined" "nothing quarantined at the township"
pg --dir town record list dispute --json
expect_out "$D2" "the county's dispute reached the township"
pg --dir town quarantine list --json
[ "$(json_count origin "$T/out")" = 0 ] && pass "the township's quarantine is empty" ||
	fail "the township quarantined something"
pg --dir town status --json
[ "$(json_value total "$T/out" | head -n 1)" = 0 ] || true
pg --dir town status
expect_no_out "refused" "the township refused nothing"
if command -v sqlite3 >/dev/null 2>&1; then
	[ "$(sqlite3 town/store.db "SELECT count(*) FROM log WHERE collection = 'dispute_party'")" = 0 ] &&
		pass "no dispute_party txn in the v1 township's log" || fail "a dispute_party txn reached the v1 township"
	[ "$(sqlite3 town/store.db "SELECT count(*) FROM rejected")" = 0 ] &&
		pass "no input refused at the township" || fail "the township refused input"
fi

# ---- a bundle from the future ----------------------------------------------

"$FORGE" county town future.bundle 3 || bail "cannot forge a bundle"
snapshot town before.snap
refuse 2 "upgrade" "a bundle made under schema v3 is refused whole" --dir town import future.bundle
expect_err "3" "the refusal names the version"
snapshot town after.snap
cmp -s before.snap after.snap && pass "the refused bundle changed nothing" ||
	fail "the refused bundle changed the township's store"

# ---- the upgrade ------------------------------------------------------------

pg --dir town schema upgrade
expect_rc 0 "schema upgrade"
expect_out "from schema version 1 to 2" "upgrade says what it did"
pg --dir town schema upgrade
expect_rc 0 "schema upgrade again"
expect_out "nothing to do" "a second upgrade is a no-op with a clear message"
pg --dir town schema upgrade --json
[ "$(json_value changed "$T/out")" = false ] && pass "upgrade --json: changed false" ||
	fail "upgrade --json does not say changed false"
pg --dir town audit list --json
[ "$(grep -c '"schema.upgrade"' "$T/out")" = 1 ] && pass "one schema.upgrade in the audit trail" ||
	fail "the audit trail does not hold exactly one schema.upgrade"
pg --dir town schema --json
[ "$(json_value version "$T/out")" = 2 ] && pass "the township now runs schema v2" ||
	fail "the township's schema is not v2 after the upgrade"

pg --dir town export --to $COUNTY --out t2.bundle
expect_rc 0 "the upgraded township tells the county (a bundle even with no txn)"
pg --dir county import t2.bundle
expect_rc 0 "the county reads it"
pg --dir county export --to $TOWN --out c2.bundle
expect_rc 0 "the county sends what it held back"
pg --dir county bundle inspect c2.bundle --json
[ "$(json_value txns "$T/out")" = 2 ] && pass "exactly the two held-back txns" ||
	fail "c2.bundle holds $(json_value txns "$T/out") txns, not 2"
[ "$(json_value schema_version "$T/out")" = 2 ] && pass "made at schema v2" ||
	fail "c2.bundle is not made at v2"
pg --dir town import c2.bundle
expect_rc 0 "the township imports them"
expect_out "2 new" "two new txns"
pg --dir town record list dispute_party --json
[ "$(json_count id "$T/out")" = 2 ] && grep -q "$P1" "$T/out" && grep -q "$P2" "$T/out" &&
	pass "the township holds exactly the two parties" || fail "the township's parties are wrong"
pg --dir county export --to $TOWN --out c3.bundle
expect_out "nothing to send" "nothing is sent twice"
[ ! -e c3.bundle ] || fail "a third bundle was written"

# Now the township writes parties too, and they go up.
pg --dir town record put dispute_party division=$TOWN dispute_id=$D1 party_role=第三人 name=王五
expect_rc 0 "the upgraded township writes a party"
P3=$(cat "$T/out")
pg --dir town export --to $COUNTY --out t3.bundle
pg --dir county import t3.bundle
expect_rc 0 "the county imports it"
pg --dir county record list dispute_party --json
grep -q "$P3" "$T/out" && pass "the township's party reached the county" ||
	fail "the township's party did not reach the county"

# ---- HTTP -------------------------------------------------------------------

SERVE_PID=
stop_server() {
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null || true
		wait "$SERVE_PID" 2>/dev/null || true
		SERVE_PID=
	fi
}
"$PINGAN" --dir county serve --listen 127.0.0.1:0 >serve.out 2>serve.err &
SERVE_PID=$!
i=0
while [ $i -lt 100 ] && ! grep -q "listening on port" serve.out 2>/dev/null; do
	sleep 0.2
	i=$((i + 1))
done
PORT=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' serve.out)
[ -n "$PORT" ] || {
	stop_server
	bail "pingan serve did not start: $(cat serve.err)"
}
pg --dir town2 peer set $COUNTY --url "http://127.0.0.1:$PORT"
expect_rc 0 "the second township pins the county's URL"

pg --dir town2 record put dispute division=$TOWN2 dispute_type=合同履行 summary=货款纠纷
D3=$(cat "$T/out")
pg --dir town2 sync $COUNTY --json
expect_rc 0 "v1 township syncs with the v2 county over HTTP"
pg --dir county record put dispute_party division=$TOWN2 dispute_id=$D3 party_role=申请人 name=赵六
P4=$(cat "$T/out")
pg --dir county record put dispute division=$TOWN2 dispute_type=消费纠纷 summary=退货争议
D4=$(cat "$T/out")
pg --dir town2 sync $COUNTY --json
expect_rc 0 "second sync"
pg --dir town2 record list dispute --json
grep -q "$D4" "$T/out" && pass "the county's dispute reached the v1 township over HTTP" ||
	fail "the county's dispute did not reach the township over HTTP"
pg --dir county record list dispute --json
grep -q "$D3" "$T/out" && pass "the township's dispute reached the county over HTTP" ||
	fail "the township's dispute did not reach the county over HTTP"
pg --dir town2 quarantine list --json
[ "$(json_count origin "$T/out")" = 0 ] && pass "nothing quarantined over HTTP" ||
	fail "the township quarantined something over HTTP"
pg --dir county status --json
[ "$(sed -n '/"rejected_last_day"/,/}/p' "$T/out" | sed -n 's/.*"total": \([0-9]*\).*/\1/p' | head -n 1)" = 0 ] &&
	pass "the county refused no request" || fail "the county refused a request"

pg --dir town2 schema upgrade
expect_rc 0 "the second township upgrades"
pg --dir town2 sync $COUNTY --json
expect_rc 0 "one sync after the upgrade"
pg --dir town2 record list dispute_party --json
[ "$(json_count id "$T/out")" = 1 ] && grep -q "$P4" "$T/out" &&
	pass "the held-back party arrived over HTTP" || fail "the held-back party did not arrive over HTTP"
stop_server

# ---- both languages ---------------------------------------------------------

for lang in C zh_CN.UTF-8; do
	LANG=$lang LC_ALL=$lang "$PINGAN" --dir town2 schema upgrade >"up.$lang" 2>&1 || true
	LANG=$lang LC_ALL=$lang "$PINGAN" --dir town2 schema upgrade --json >"up.$lang.json" 2>&1 || true
	LANG=$lang LC_ALL=$lang "$PINGAN" --dir bad2 init --code $TOWN --name x --schema-version 9 >"init.$lang" 2>&1 || true
done
grep -q "nothing to do" up.C && pass "English: nothing to do" || fail "English upgrade message: $(cat up.C)"
grep -q "无需" up.zh_CN.UTF-8 && pass "Chinese: 无需升级" || fail "Chinese upgrade message: $(cat up.zh_CN.UTF-8)"
cmp -s up.C.json up.zh_CN.UTF-8.json && pass "--json identical in both languages" ||
	fail "--json differs between languages"
"$PINGAN" --dir town2 init --help >/dev/null 2>&1 || true
LANG=zh_CN.UTF-8 LC_ALL=zh_CN.UTF-8 "$PINGAN" schema upgrade --help >help.zh 2>&1 || true
grep -q "架构版本\|模式版本\|版本" help.zh && pass "schema upgrade --help in Chinese" ||
	fail "schema upgrade --help is not translated"

finish
