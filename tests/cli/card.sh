#!/bin/sh
# pingan card / card --out / card verify: a card holds no secret, says who
# the node is, and any change to it is refused (DESIGN §7, §11).
. "$(dirname "$0")/lib/testlib.sh"

new_node node 430302 雨湖区
pg card verify node/card.json --json
key_id=$(json_value key_id "$T/out")

# ---- print and write ------------------------------------------------------

pg --dir node card
expect_rc 0 "card prints the node's card"
cp "$T/out" card.stdout
expect_out '"code": "430302000000"' "card names the 12-digit code"
expect_out "\"key_id\": \"$key_id\"" "card carries the key id"
expect_out '"name": "雨湖区"' "card carries the name, UTF-8 unescaped"
expect_out '"tier": "county"' "card carries the tier"
for k in pingan_card suite sign_pk box_pk signature created_ms; do
	[ "$(json_count "$k" card.stdout)" = 1 ] && pass "card has \"$k\"" ||
		fail "card lacks \"$k\""
done

pg --dir node card --out exported.card
expect_rc 0 "card --out writes a file"
expect_empty_out "card --out"
cmp -s exported.card card.stdout && pass "--out file equals the printed card" ||
	fail "--out file differs from 'pingan card'"
expect_err "exported.card" "card --out says where it wrote"

refuse 1 "no-such-dir/x.card" "card --out into a missing directory" \
	--dir node card --out no-such-dir/x.card

# ---- verify -----------------------------------------------------------------

pg card verify exported.card
expect_rc 0 "card verify accepts the exported card"
expect_out "430302000000" "verify prints the code"
expect_out "$key_id" "verify prints the key id"

# verify needs no node: run it where there is none.
mkdir elsewhere
(cd elsewhere && "$PINGAN" card verify ../exported.card >../out 2>../err) &&
	pass "card verify works outside any node" ||
	fail "card verify needs a node directory"

pg card verify exported.card --json
expect_rc 0 "card verify --json"
expect_out '"valid": true' "verify --json says valid"
expect_out '"code": "430302000000"' "verify --json prints the code"

# tamper FIELD: copy the card with the first hex digit of FIELD changed.
tamper_hex() {
	awk -v key="\"$1\": \"" '
		!done && index($0, key) {
			i = index($0, key) + length(key)
			c = substr($0, i, 1)
			$0 = substr($0, 1, i - 1) (c == "0" ? "1" : "0") substr($0, i + 1)
			done = 1
		}
		{ print }' exported.card >"tampered.$1"
	cmp -s exported.card "tampered.$1" && bail "could not tamper with $1"
	return 0
}

for field in sign_pk box_pk signature; do
	tamper_hex "$field"
	refuse 2 "tampered.$field" "card with one hex digit of $field altered" \
		card verify "tampered.$field"
	expect_err_re "signature|key id" "$field: error says what failed"
done

sed 's/"name": "雨湖区"/"name": "岳塘区"/' exported.card >tampered.name
refuse 2 "signature" "card with the name altered" card verify tampered.name
sed 's/"code": "430302000000"/"code": "430304000000"/' exported.card >tampered.code
refuse 2 "tampered.code" "card with the code altered" card verify tampered.code
sed 's/"tier": "county"/"tier": "city"/' exported.card >tampered.tier
refuse 2 "tier" "card whose tier does not match its code" card verify tampered.tier
sed 's/"created_ms": \([0-9]*\)/"created_ms": 1\1/' exported.card >tampered.created
refuse 2 "signature" "card with created_ms altered" card verify tampered.created
sed 's/"key_id": "[0-9a-f]*"/"key_id": "0000000000000000"/' exported.card >tampered.keyid
refuse 2 "key id" "card with a wrong key id" card verify tampered.keyid

pg card verify tampered.name --json
expect_rc 2 "verify --json of an altered card"
expect_out '"valid": false' "verify --json says invalid"

# ---- not a card ---------------------------------------------------------------

echo '{"hello": "world"}' >other.json
refuse 2 "other.json" "a JSON object that is not a card" card verify other.json
echo '[1, 2, 3]' >array.json
refuse 2 "array.json" "a JSON array" card verify array.json
if grep -q "line -1" "$T/err"; then
	fail "the error for a JSON array cites a nonsense 'line -1'"
else
	pass "the error for a JSON array cites no bogus line number"
fi
echo 'not json at all' >text.txt
refuse 2 "text.txt" "a text file" card verify text.txt
dd if=/dev/urandom of=random.bin bs=512 count=1 2>/dev/null
refuse 2 "random.bin" "random bytes" card verify random.bin
: >empty.card
refuse 2 "empty.card" "an empty file" card verify empty.card
dd if=/dev/zero bs=1024 count=64 2>/dev/null | tr '\0' ' ' >big.card
cat exported.card >>big.card
refuse 2 "big.card" "a card padded beyond 8 KiB" card verify big.card
refuse 2 "missing.card" "a missing file" card verify missing.card
refuse 2 "verify" "card verify without a file" card verify
refuse 2 "verify" "card verify with two files" card verify exported.card other.json
refuse 2 "pingan init" "card where there is no node" --dir nonode card

# ---- secrets never leave the key files -------------------------------------

seed=$(hex node/sign.key | cut -c1-64)
box=$(hex node/box.key)
[ ${#seed} = 64 ] && [ ${#box} = 64 ] || bail "cannot read the key files"
leak=0
for f in card.stdout exported.card node/card.json; do
	for secret in "$seed" "$box"; do
		if grep -qi "$secret" "$f"; then
			leak=1
			fail "a secret key appears in $f"
		fi
	done
done
pg --dir node card
cat "$T/out" "$T/err" >all.out
pg --dir node log --json
cat "$T/out" "$T/err" >>all.out
for secret in "$seed" "$box"; do
	grep -qi "$secret" all.out && leak=1 && fail "a secret key appears in output"
done
[ $leak = 0 ] && pass "no secret key bytes in any card or output"
# The public half of sign.key is the card's sign_pk: make sure the check
# above looked at the right bytes.
pub=$(hex node/sign.key | cut -c65-128)
grep -q "\"sign_pk\": \"$pub\"" exported.card &&
	pass "sign_pk is the public half of sign.key" ||
	fail "sign_pk does not match sign.key"

finish
