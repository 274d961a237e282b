#!/bin/sh
# pingan schema: the compiled-in schema as text and JSON (DESIGN §2).
# Needs no node.
. "$(dirname "$0")/lib/testlib.sh"

COLLECTIONS="hazard dispute grid_event key_person supervision volunteer fraud_alert drill node dispute_party daily_stats division_remap purge"

pg schema --json
expect_rc 0 "schema --json"
cp "$T/out" schema.json
[ "$(json_value version schema.json)" = 2 ] &&
	pass "schema version is 2" || fail "\"version\" is not 2"
grep -q '^  "version": [0-9][0-9]*,$' schema.json &&
	pass "version is a JSON number" || fail "version is not a JSON number"
hash=$(json_value hash schema.json)
printf '%s\n' "$hash" | grep -qE '^[0-9a-f]{64}$' &&
	pass "hash is 64 hex digits" || fail "hash '$hash' is not 64 hex digits"

# Collections are the objects at indent 6; fields at indent 10.
sed -n 's/^      "name": "\(.*\)",$/\1/p' schema.json >collections.txt
for c in $COLLECTIONS; do
	grep -qx "$c" collections.txt && pass "collection $c present" ||
		fail "collection $c missing"
done
[ "$(wc -l <collections.txt)" -ge 9 ] || fail "fewer than 9 collections"

# One line per field: collection field type privacy merge required.
awk '
	/^      "name": /   { c = $2; gsub(/[",]/, "", c) }
	/^      "cap": /    { cap[c] = $2; gsub(/[",]/, "", cap[c]) }
	/^          "name": /     { f = $2; gsub(/[",]/, "", f) }
	/^          "type": /     { t = $2; gsub(/[",]/, "", t) }
	/^          "privacy": /  { p = $2; gsub(/[",]/, "", p) }
	/^          "merge": /    { m = $2; gsub(/[",]/, "", m) }
	/^          "required": / { r = $2; gsub(/[",]/, "", r); print c, f, t, p, m, r }
	END { for (k in cap) print k, "CAP", cap[k] >"caps.txt" }
' schema.json >fields.txt
[ -s fields.txt ] || bail "could not read the fields from schema --json"

grep -qx "key_person CAP county" caps.txt &&
	pass "key_person has \"cap\": \"county\"" || fail "key_person is not capped at the county"
grep -q '"cap": "county"' schema.json && pass "cap printed as \"cap\": \"county\"" ||
	fail "no \"cap\": \"county\" in schema --json"
grep -qx "hazard CAP null" caps.txt && grep -qx "dispute CAP null" caps.txt &&
	pass "hazard and dispute have no cap" || fail "hazard or dispute has a cap"

# Every collection starts with its division and ends with _deleted.
for c in $COLLECTIONS; do
	first=$(awk -v c="$c" '$1 == c { print; exit }' fields.txt)
	last=$(awk -v c="$c" '$1 == c { l = $0 } END { print l }' fields.txt)
	case $first in
	"$c division division "*" true") pass "$c: first field is the required division" ;;
	*) fail "$c: first field is '$first'" ;;
	esac
	case $last in
	"$c _deleted bool "*) pass "$c: last field is _deleted (bool)" ;;
	*) fail "$c: last field is '$last'" ;;
	esac
done

# Closed vocabularies (DESIGN §2).
bad=$(awk '$4 !~ /^(public|internal|personal|sensitive)$/' fields.txt)
[ -z "$bad" ] && pass "every privacy class is public/internal/personal/sensitive" ||
	fail "unknown privacy class: $bad"
bad=$(awk '$5 !~ /^(lww|counter|authority)$/' fields.txt)
[ -z "$bad" ] && pass "every merge kind is lww/counter/authority" ||
	fail "unknown merge kind: $bad"
# Counter type and counter merge go together.
bad=$(awk '($3 == "counter") != ($5 == "counter")' fields.txt)
[ -z "$bad" ] && pass "counter fields and counter merge coincide" ||
	fail "counter type/merge mismatch: $bad"
awk '$1 == "volunteer" && $5 == "counter"' fields.txt | grep -q . &&
	pass "volunteer points are counters (Art. 47)" || fail "volunteer has no counter"
# Phones, ID numbers and addresses are PIPL personal information.
bad=$(awk '($3 == "phone" || $3 == "id_number" || $3 == "address") &&
	$4 != "personal" && $4 != "sensitive"' fields.txt)
[ -z "$bad" ] && pass "phones, ID numbers and addresses are personal" ||
	fail "personal data not classed personal: $bad"
awk '$1 == "key_person" && $4 == "sensitive"' fields.txt | grep -q . &&
	pass "key_person holds sensitive fields (PIPL Art. 28)" ||
	fail "key_person has no sensitive field"
awk '$1 == "dispute" && $2 == "cross_region" && $3 == "bool"' fields.txt | grep -q . &&
	pass "dispute.cross_region is a bool" || fail "dispute.cross_region missing"

# ---- text output -----------------------------------------------------------

pg schema
expect_rc 0 "schema"
expect_out "hash $hash" "text output shows the same hash"
for c in $COLLECTIONS; do
	grep -q "^$c " "$T/out" && pass "text output lists $c" ||
		fail "text output lacks $c"
done
pg schema
cp "$T/out" schema1.txt
pg schema
cmp -s schema1.txt "$T/out" && pass "schema output is stable" ||
	fail "schema output changes between runs"

pg schema dispute
expect_rc 0 "schema dispute"
expect_out "cross_region" "schema dispute shows cross_region"
expect_out "邻里纠纷" "schema dispute lists the enum values"
if grep -q '^key_person ' "$T/out" || grep -q '^hazard ' "$T/out"; then
	fail "schema dispute shows other collections"
else
	pass "schema dispute shows only dispute"
fi

pg schema key_person --json
expect_rc 0 "schema key_person --json"
[ "$(grep -c '^      "name": ' "$T/out")" = 1 ] &&
	pass "schema COLLECTION --json has one collection" ||
	fail "schema key_person --json has $(grep -c '^      "name": ' "$T/out") collections"
expect_out '"cap": "county"' "schema key_person --json shows its cap"
expect_out "\"hash\": \"$hash\"" "one collection, same schema hash"

# ---- refusals ----------------------------------------------------------------

refuse 2 "no_such" "unknown collection" schema no_such
expect_err "dispute" "the error lists the known collections"
refuse 2 "Dispute" "collection names are case-sensitive" schema Dispute
refuse 2 "COLLECTION" "two collections" schema dispute hazard
refuse 2 "--bogus" "unknown option" schema --bogus

finish
