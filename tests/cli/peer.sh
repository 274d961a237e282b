#!/bin/sh
# pingan peer add/set/list/show/remove: pinning the cards of the parent,
# children (which certifies each child: one `node` txn in the log) and
# partners, with the role their codes allow; addresses that
# change while cards and cursors stay; every refusal (a tampered card, a
# wrong role, a second card for a code, a bad URL or CA file, bad usage)
# exits 2 with a "pingan: " error and leaves the peers as they were
# (DESIGN §1, §6, §7, §9, §11).
. "$(dirname "$0")/lib/testlib.sh"

new_node county 430302 雨湖区
new_node city 4303 湘潭市
new_node town 430302001 城正街街道
new_node comm 430302001001 和平社区
new_node yt 430304 岳塘区
new_node cs 4301 长沙市
for n in county city town comm yt cs; do
	"$PINGAN" --dir "$n" card --out "$n.card" 2>/dev/null ||
		bail "cannot export the card of $n"
done
pg card verify city.card --json
city_key=$(json_value key_id "$T/out")
pg card verify town.card --json
town_key=$(json_value key_id "$T/out")

# The peers of DIR, for before/after comparisons.
save_peers() {
	"$PINGAN" --dir "$1" peer list --json >"$T/peers.before" 2>&1 ||
		echo "exit $?" >>"$T/peers.before"
	PEERS_DIR=$1
}

# refuse_unchanged CODE NEEDLE WHAT ARG...: refuse (see testlib.sh), and
# the peers of the directory last given to save_peers are as they were.
refuse_unchanged() {
	refuse "$@"
	"$PINGAN" --dir "$PEERS_DIR" peer list --json >"$T/peers.after" 2>&1 ||
		echo "exit $?" >>"$T/peers.after"
	if cmp -s "$T/peers.before" "$T/peers.after"; then
		pass "$3: peers unchanged"
	else
		fail "$3: the peers changed"
		cp "$T/peers.after" "$T/peers.before"
	fi
}

# ---- nothing pinned yet ---------------------------------------------------

pg --dir county peer list
expect_rc 0 "peer list of a fresh node"
expect_empty_out "peer list of a fresh node"
expect_err "peer add" "an empty list says how to add a peer"
pg --dir county peer list --json
expect_rc 0 "peer list --json of a fresh node"
[ "$(tr -d ' \n' <"$T/out")" = "[]" ] && pass "an empty list is []" ||
	fail "peer list --json of a fresh node is not []"

# ---- add --------------------------------------------------------------------

pg --dir county peer add --card city.card --role parent \
	--url https://pingan.xiangtan.gov.cn:8443/ --json
expect_rc 0 "the county pins the city as parent"
cp "$T/out" parent.json
for k in code name tier role key_id url ca_file sent_upto acked_upto \
	received_upto added; do
	[ "$(json_count "$k" parent.json)" = 1 ] && pass "add --json has \"$k\"" ||
		fail "add --json lacks \"$k\""
done
[ "$(json_value code parent.json)" = 430300000000 ] &&
	pass "the parent's code" || fail "wrong code in add --json"
[ "$(json_value name parent.json)" = 湘潭市 ] &&
	pass "the name, UTF-8 unescaped" || fail "wrong name in add --json"
[ "$(json_value tier parent.json)" = city ] && pass "the tier" ||
	fail "wrong tier in add --json"
[ "$(json_value role parent.json)" = parent ] && pass "the role" ||
	fail "wrong role in add --json"
[ "$(json_value key_id parent.json)" = "$city_key" ] &&
	pass "the key id of the card" || fail "wrong key id in add --json"
[ "$(json_value url parent.json)" = "https://pingan.xiangtan.gov.cn:8443/" ] &&
	pass "the url" || fail "wrong url in add --json"
[ "$(json_value ca_file parent.json)" = null ] && pass "no CA file is null" ||
	fail "ca_file is not null"
for k in sent_upto acked_upto received_upto; do
	[ "$(json_value "$k" parent.json)" = 0 ] && pass "$k starts at 0" ||
		fail "$k does not start at 0"
done
json_value added parent.json | grep -qE '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+\+08:00$' &&
	pass "added is ISO 8601 at +08:00" || fail "added is not ISO +08:00"

pg --dir county peer add --card town.card --role child
expect_rc 0 "the county pins the township as child"
expect_out "430302001000" "add names the code"
expect_out "城正街街道" "add names the peer"
expect_out "$town_key" "add prints the key id"
expect_out "--role parent" "add says what the other side does"

# Pinning a child certified it (DESIGN §7): a `node` record written by the
# county for the township's code and key, the only txn of its log (pinning
# the parent wrote none).
pg --dir county log --json
expect_rc 0 "log --json after the pins"
[ "$(json_count seq "$T/out")" = 1 ] &&
	[ "$(json_values collection "$T/out")" = node ] &&
	[ "$(json_values origin "$T/out")" = 430302000000 ] &&
	[ "$(json_values division "$T/out")" = 430302001000 ] &&
	pass "the county's log holds one txn: the township's certificate" ||
	fail "the county's log after the pins: $(head -c 600 "$T/out")"
pg --dir county record list node --json
expect_rc 0 "record list node"
[ "$(json_count code "$T/out")" = 1 ] &&
	[ "$(json_value code "$T/out")" = 430302001000 ] &&
	[ "$(json_value tier "$T/out")" = township ] &&
	[ "$(json_value key_id "$T/out")" = "$town_key" ] &&
	[ "$(json_value issuer "$T/out")" = 430302000000 ] &&
	pass "the certificate names the township, its key and the county as issuer" ||
	fail "the county's certificates: $(head -c 600 "$T/out")"

# The other side of each link.
pg --dir city peer add --card county.card --role child
expect_rc 0 "the city pins the county as child"
pg --dir town peer add --card county.card --role parent
expect_rc 0 "the township pins the county as parent"
pg --dir city peer add --card cs.card --role partner --url http://10.43.1.2:8080/
expect_rc 0 "Xiangtan pins Changsha as partner"
pg --dir cs peer add --card city.card --role partner
expect_rc 0 "Changsha pins Xiangtan as partner"

# ---- list and show ---------------------------------------------------------------

pg --dir county peer list
expect_rc 0 "peer list"
cp "$T/out" list.txt
for h in CODE NAME TIER ROLE "KEY ID" URL SENT ACKED RECEIVED GAP; do
	grep -q "$h" list.txt && pass "the table has a $h column" ||
		fail "the table lacks $h"
done
grep -E "^430300000000 +湘潭市 +city +parent +$city_key +https://pingan.xiangtan.gov.cn:8443/ +0 +0 +0 +-$" list.txt >/dev/null &&
	pass "the parent's row" || fail "the parent's row is wrong"
grep -E "^430302001000 +城正街街道 +township +child +$town_key +- +0 +0 +0 +-$" list.txt >/dev/null &&
	pass "the child's row (no URL shown as -)" || fail "the child's row is wrong"
[ "$(wc -l <list.txt)" = 3 ] && pass "a header and two rows" ||
	fail "peer list has $(wc -l <list.txt) lines, expected 3"

pg --dir county peer list --json
expect_rc 0 "peer list --json"
cp "$T/out" list.json
[ "$(json_count code list.json)" = 2 ] && pass "two peers in the array" ||
	fail "peer list --json does not hold two peers"
for k in name tier role key_id url ca_file sent_upto acked_upto received_upto added; do
	[ "$(json_count "$k" list.json)" = 2 ] && pass "each peer has \"$k\"" ||
		fail "a peer lacks \"$k\""
done
[ "$(json_values code list.json | tr '\n' ' ')" = "430300000000 430302001000 " ] &&
	pass "listed by code" || fail "not listed by code"
head -c 1 list.json | grep -q '\[' && pass "peer list --json is an array" ||
	fail "peer list --json is not an array"

pg --dir county peer show 4303
expect_rc 0 "peer show with a code prefix"
expect_out "430300000000 湘潭市 (city)" "show names the peer"
expect_out "parent" "show gives the role"
expect_out "$city_key" "show gives the key id"
expect_out "https://pingan.xiangtan.gov.cn:8443/" "show gives the url"
expect_out "sent 0, acked 0, received 0" "show gives the cursors"
expect_out "never" "show says it never synced"
pg --dir county peer show 430302001000 --json
expect_rc 0 "peer show --json"
[ "$(json_value role "$T/out")" = child ] && pass "show --json gives the role" ||
	fail "show --json: wrong role"
[ "$(json_value url "$T/out")" = null ] && pass "no URL is null" ||
	fail "show --json: url is not null"

# ---- set --------------------------------------------------------------------

printf '%s\n' '-----BEGIN CERTIFICATE-----' >ca.pem
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 county/store.db "UPDATE peer SET sent_upto = 12, acked_upto = 10, received_upto = 7 WHERE code = '430300000000'" ||
		bail "cannot set cursors with sqlite3"
	cursors="12 10 7"
else
	cursors="0 0 0"
fi
pg --dir county peer set 4303 --ca ca.pem
expect_rc 0 "peer set --ca"
expect_out "$T/ca.pem" "set prints the absolute CA path"
pg --dir county peer show 4303 --json
[ "$(json_value ca_file "$T/out")" = "$T/ca.pem" ] &&
	pass "the CA file is stored as an absolute path" ||
	fail "ca_file is $(json_value ca_file "$T/out")"
[ "$(json_value url "$T/out")" = "https://pingan.xiangtan.gov.cn:8443/" ] &&
	pass "set --ca keeps the url" || fail "set --ca changed the url"
got="$(json_value sent_upto "$T/out") $(json_value acked_upto "$T/out") $(json_value received_upto "$T/out")"
[ "$got" = "$cursors" ] && pass "set keeps the cursors ($cursors)" ||
	fail "cursors after set: $got, expected $cursors"
[ "$(json_value key_id "$T/out")" = "$city_key" ] &&
	pass "set keeps the card" || fail "set changed the key id"

pg --dir county peer set 430300000000 --url https://10.43.0.1/ --ca ''
expect_rc 0 "peer set --url with --ca '' (clear)"
pg --dir county peer show 4303 --json
[ "$(json_value url "$T/out")" = "https://10.43.0.1/" ] &&
	pass "the new url" || fail "set --url did not change the url"
[ "$(json_value ca_file "$T/out")" = null ] && pass "--ca '' clears the CA file" ||
	fail "--ca '' did not clear the CA file"
got="$(json_value sent_upto "$T/out") $(json_value acked_upto "$T/out") $(json_value received_upto "$T/out")"
[ "$got" = "$cursors" ] && pass "changing the url keeps the cursors" ||
	fail "cursors after set --url: $got"
pg --dir town peer set 430302 --url http://10.43.2.1:8080/
expect_rc 0 "the township sets its parent's url"

# ---- refusals: the card -------------------------------------------------------

# tamper_hex FIELD: town.card with the first hex digit of FIELD changed.
tamper_hex() {
	awk -v key="\"$1\": \"" '
		!done && index($0, key) {
			i = index($0, key) + length(key)
			c = substr($0, i, 1)
			$0 = substr($0, 1, i - 1) (c == "0" ? "1" : "0") substr($0, i + 1)
			done = 1
		}
		{ print }' town.card >"tampered.$1"
	cmp -s town.card "tampered.$1" && bail "could not tamper with $1"
	return 0
}

save_peers comm
for field in signature sign_pk box_pk key_id; do
	tamper_hex "$field"
	refuse_unchanged 2 "tampered.$field" "a card with $field altered" \
		--dir comm peer add --card "tampered.$field" --role parent
done
sed 's/"name": "城正街街道"/"name": "窑湾街道"/' town.card >tampered.name
refuse_unchanged 2 "signature" "a card with the name altered" \
	--dir comm peer add --card tampered.name --role parent
sed 's/"code": "430302001000"/"code": "430302002000"/' town.card >tampered.code
refuse_unchanged 2 "tampered.code" "a card with the code altered" \
	--dir comm peer add --card tampered.code --role parent
echo '{"hello": "world"}' >other.json
refuse_unchanged 2 "other.json" "a JSON file that is not a card" \
	--dir comm peer add --card other.json --role parent
: >empty.card
refuse_unchanged 2 "empty.card" "an empty card file" \
	--dir comm peer add --card empty.card --role parent
dd if=/dev/zero bs=1024 count=9 2>/dev/null | tr '\0' ' ' >big.card
cat town.card >>big.card
refuse_unchanged 2 "big.card" "a card padded beyond 8 KiB" \
	--dir comm peer add --card big.card --role parent
refuse_unchanged 2 "missing.card" "a missing card file" \
	--dir comm peer add --card missing.card --role parent
mkdir adir
refuse_unchanged 2 "adir" "a directory as card" \
	--dir comm peer add --card adir --role parent
refuse_unchanged 2 "own" "a node's own card" \
	--dir comm peer add --card comm/card.json --role parent
pg --dir comm peer add --card town.card --role parent
expect_rc 0 "the untampered card is accepted"

# ---- refusals: roles and pinned codes --------------------------------------------

save_peers county
refuse_unchanged 2 "430300000000" "a second parent (the same card)" \
	--dir county peer add --card city.card --role parent
expect_err "peer set" "the error says how to change the address"
refuse_unchanged 2 "430302001000" "a pinned child again" \
	--dir county peer add --card town.card --role child
new_node city2 4303 湘潭市
"$PINGAN" --dir city2 card --out city2.card 2>/dev/null
pg card verify city2.card --json
city2_key=$(json_value key_id "$T/out")
refuse_unchanged 2 "$city2_key" "another key for a pinned code" \
	--dir county peer add --card city2.card --role parent
expect_err "$city_key" "the error names the pinned key id"
expect_err "peer remove" "the error says how to replace the card"
refuse_unchanged 2 "430302001001" "a community two tiers down as child" \
	--dir county peer add --card comm.card --role child
refuse_unchanged 2 "430304000000" "a sibling county as child" \
	--dir county peer add --card yt.card --role child
refuse_unchanged 2 "430304000000" "a sibling county as parent" \
	--dir county peer add --card yt.card --role parent
refuse_unchanged 2 "430302001000" "a township as parent" \
	--dir county peer add --card town.card --role parent
refuse_unchanged 2 "cities" "a county with a partner" \
	--dir county peer add --card cs.card --role partner
refuse_unchanged 2 "430100000000" "another city as parent of a county" \
	--dir county peer add --card cs.card --role parent
save_peers city
refuse_unchanged 2 "city" "a county as partner of a city" \
	--dir city peer add --card yt.card --role partner
refuse_unchanged 2 "430302001000" "a township as child of the city" \
	--dir city peer add --card town.card --role child

# ---- refusals: addresses ---------------------------------------------------------

save_peers city
refuse_unchanged 2 "ftp://" "a URL that is not http(s)" \
	--dir city peer add --card yt.card --role child --url ftp://10.0.0.1/
refuse_unchanged 2 "https://a b/" "a URL with a space" \
	--dir city peer add --card yt.card --role child --url 'https://a b/'
tab=$(printf '\t')
refuse_unchanged 2 "control character" "a URL with a tab" \
	--dir city peer add --card yt.card --role child --url "https://a${tab}b/"
refuse_unchanged 2 "host" "a URL without a host" \
	--dir city peer add --card yt.card --role child --url https:///x
long="https://$(repeat 2041 a)"
refuse_unchanged 2 "2048" "a URL of 2049 bytes" \
	--dir city peer add --card yt.card --role child --url "$long"
refuse_unchanged 2 "URL" "an empty --url" \
	--dir city peer add --card yt.card --role child --url ''
refuse_unchanged 2 "https" "--ca with an http URL" \
	--dir city peer add --card yt.card --role child --url http://a/ --ca ca.pem
refuse_unchanged 2 "https" "--ca without a URL" \
	--dir city peer add --card yt.card --role child --ca ca.pem
refuse_unchanged 2 "nope.pem" "a missing CA file" \
	--dir city peer add --card yt.card --role child --url https://a/ --ca nope.pem
refuse_unchanged 2 "regular file" "a directory as CA file" \
	--dir city peer add --card yt.card --role child --url https://a/ --ca adir
long="https://$(repeat 2040 a)"
pg --dir city peer add --card yt.card --role child --url "$long"
expect_rc 0 "a URL of exactly 2048 bytes"

save_peers county
refuse_unchanged 2 "https://" "set --url http with a CA file" \
	--dir county peer set 4303 --url http://10.43.0.1/ --ca "$T/ca.pem"
pg --dir county peer set 4303 --ca "$T/ca.pem"
expect_rc 0 "set --ca with the https URL"
save_peers county
refuse_unchanged 2 "--ca ''" "set --url http while the CA file stays" \
	--dir county peer set 4303 --url http://10.43.0.1/
refuse_unchanged 2 "--ca ''" "clearing the URL while the CA file stays" \
	--dir county peer set 4303 --url ''
refuse_unchanged 2 "ftp://" "set a bad URL" \
	--dir county peer set 4303 --url ftp://x/
refuse_unchanged 2 "nope.pem" "set a missing CA file" \
	--dir county peer set 4303 --ca nope.pem
refuse_unchanged 2 "430304000000" "set an unknown peer" \
	--dir county peer set 430304 --url http://x/
refuse_unchanged 2 "--url or --ca" "set with nothing to change" \
	--dir county peer set 4303
refuse_unchanged 2 "abc" "set with a bad code" \
	--dir county peer set abc --url http://x/
refuse_unchanged 2 "CODE" "set without a code" \
	--dir county peer set --url http://x/

# ---- refusals: usage -------------------------------------------------------------

refuse_unchanged 2 "--card" "add without --card" \
	--dir county peer add --role child
refuse_unchanged 2 "--role" "add without --role" \
	--dir county peer add --card yt.card
refuse_unchanged 2 "uncle" "an unknown role" \
	--dir county peer add --card yt.card --role uncle
refuse_unchanged 2 "Parent" "roles are lower case" \
	--dir county peer add --card city.card --role Parent
refuse_unchanged 2 "--role" "--role given twice" \
	--dir county peer add --card town.card --role child --role parent
refuse_unchanged 2 "--frob" "an unknown option" \
	--dir county peer add --card town.card --role child --frob
refuse_unchanged 2 "extra" "an extra operand to add" \
	--dir county peer add --card town.card --role child extra
refuse_unchanged 2 "--card" "--card without a value" \
	--dir county peer add --role child --card
refuse_unchanged 2 "frob" "an unknown verb" --dir county peer frob
refuse_unchanged 2 "430304000000" "show an unknown peer" \
	--dir county peer show 430304
refuse_unchanged 2 "43030" "show with a bad code" --dir county peer show 43030
refuse_unchanged 2 "CODE" "show without a code" --dir county peer show
refuse_unchanged 2 "430304000000" "remove an unknown peer" \
	--dir county peer remove 430304
refuse_unchanged 2 "x4" "remove with a bad code" --dir county peer remove x4
refuse_unchanged 2 "CODE" "remove with two codes" \
	--dir county peer remove 4303 430302001
refuse_unchanged 2 "extra" "an operand to list" --dir county peer list extra
refuse 2 "pingan init" "peer list where there is no node" --dir nonode peer list
[ ! -e nonode ] && pass "no node directory was created" ||
	fail "peer list created a node directory"
pg --dir county peer
expect_rc 2 "peer without a verb"
expect_err "usage" "peer without a verb: usage on stderr"

# ---- certificates written ---------------------------------------------------------

# One per child pinned (none for a parent or a partner, none for a refused
# add): the county certified the township, the city the two counties.
pg --dir county log --json
[ "$(json_count seq "$T/out")" = 1 ] && pass "the refused adds wrote no certificate" ||
	fail "the county's log holds $(json_count seq "$T/out") txns, expected 1"
pg --dir city log --json
[ "$(json_values division "$T/out" | sort | tr '\n' ' ')" = "430302000000 430304000000 " ] &&
	[ "$(json_values collection "$T/out" | sort -u)" = node ] &&
	pass "the city's log holds the certificates of its two children" ||
	fail "the city's log: $(head -c 600 "$T/out")"

# ---- remove ---------------------------------------------------------------------

pg --dir county peer remove 430302001
expect_rc 0 "peer remove with a prefix"
expect_out "430302001000" "remove names the peer"
pg --dir county peer list --json
[ "$(json_values code "$T/out" | tr '\n' ' ')" = "430300000000 " ] &&
	pass "the removed peer is gone, the other kept" ||
	fail "peer list after remove: $(json_values code "$T/out" | tr '\n' ' ')"
pg --dir county peer show 430302001
expect_rc 2 "show a removed peer"
pg --dir county peer add --card town.card --role child --json
expect_rc 0 "a removed peer can be pinned again"
[ "$(json_value sent_upto "$T/out")" = 0 ] && pass "and starts with fresh cursors" ||
	fail "re-pinned peer kept old cursors"

# The way to accept a new key for a code: remove, then add.
pg --dir county peer remove 4303
expect_rc 0 "remove the parent"
pg --dir county peer add --card city2.card --role parent --json
expect_rc 0 "pin the replacement card"
[ "$(json_value key_id "$T/out")" = "$city2_key" ] &&
	pass "the new key id is pinned" || fail "the new key id is not pinned"

# ---- help -----------------------------------------------------------------------

pg peer --help
expect_rc 0 "peer --help"
for v in add set list show remove; do
	grep -q "^  $v " "$T/out" && pass "peer --help lists '$v'" ||
		fail "peer --help does not list '$v'"
done
for v in add set list show remove; do
	pg --dir nowhere peer "$v" --help
	if [ "$RC" = 0 ] && grep -q "usage: .*peer $v" "$T/out" && [ ! -s "$T/err" ]; then
		pass "peer $v --help"
	else
		fail "peer $v --help"
	fi
done
pg peer add --help
for o in --card --role --url --ca --json; do
	expect_out "$o" "peer add --help documents $o"
done
pg --help
grep -q "^  peer " "$T/out" && pass "pingan --help lists 'peer'" ||
	fail "pingan --help does not list 'peer'"
[ ! -e nowhere ] && pass "help created nothing" || fail "help created a directory"

# ---- persisted in the store -----------------------------------------------------

if command -v sqlite3 >/dev/null 2>&1; then
	cols=$(sqlite3 city/store.db "SELECT group_concat(name, ' ') FROM pragma_table_info('peer')")
	[ "$cols" = "code role card name tier key_id sign_pk box_pk url ca_file sent_upto acked_upto received_upto added_ms last_sync_ms policy policy_source schema_version told_version" ] &&
		pass "the peer table has the documented columns" ||
		fail "peer table columns: $cols"
	stored=$(sqlite3 city/store.db "SELECT hex(card) FROM peer WHERE code = '430302000000'" | tr A-F a-f)
	[ "$stored" = "$(hex county.card)" ] && pass "the card is stored as given" ||
		fail "the stored card differs from the file"
fi

finish
