#!/bin/sh
# pingan policy show and pingan pseudonym: the effective policy of each
# kind of link (the built-in defaults: a city parent loses sensitive
# fields, a child gets everything, a partner city gets the Art. 8
# agreement); two partner cities print the same pseudonym key id and the
# same pseudonym for one person however the number is spelled, a third
# city another; the key stays in a 0600 file and is never printed; every
# refusal exits 2 (or 1 for a key file others may read) with a "pingan: "
# error (DESIGN §6, §7, §9).
. "$(dirname "$0")/lib/testlib.sh"

new_node xt 4303 湘潭市
new_node cs 4301 长沙市
new_node zz 4302 株洲市
new_node county 430302 雨湖区
for n in xt cs zz county; do
	"$PINGAN" --dir "$n" card --out "$n.card" 2>/dev/null ||
		bail "cannot export the card of $n"
done
pin() {
	pg --dir "$1" peer add --card "$2.card" --role "$3"
	[ "$RC" = 0 ] || bail "cannot pin $2 on $1 as $3"
}
pin xt cs partner
pin cs xt partner
pin xt zz partner
pin zz xt partner
pin xt county child
pin county xt parent

# Everything printed on stdout and stderr, to look for key material.
: >"$T/all-output"
keep_output() {
	cat "$T/out" "$T/err" >>"$T/all-output"
}

# ---- help -------------------------------------------------------------------

for c in "policy --help" "policy show --help" "pseudonym --help"; do
	# shellcheck disable=SC2086
	pg $c
	expect_rc 0 "$c"
	expect_out "usage" "$c prints the usage"
done
pg policy show --help
expect_out "--json" "policy show --help documents --json"
pg pseudonym --help
expect_out "--partner" "pseudonym --help documents --partner"
expect_out "--type" "pseudonym --help documents --type"
expect_out "0086" "pseudonym --help says how numbers are normalised"
pg --help
expect_out "  policy " "pingan --help lists policy"
expect_out "  pseudonym " "pingan --help lists pseudonym"

# ---- policy show: the defaults of each link ---------------------------------

pg --dir xt policy show 4301
expect_rc 0 "policy show of a partner"
keep_output
cp "$T/out" partner.txt
expect_out "policy default-partner: partner link to 430100000000 长沙市" \
	"the default agreement, named"
expect_out "dispute: records where cross_region = true" \
	"disputes only when marked cross_region"
expect_out "fraud_alert: every record" "every fraud alert"
expect_out "dispute_party: records where cross_region = true" \
	"dispute parties go with their cross_region disputes (schema v2)"
expect_out_re '^    id_number +id_number +personal +drop$' \
	"a party's ID number is dropped"
expect_out_re '^    applicant_name +name +personal +mask$' "names are masked"
expect_out_re '^    applicant_id_number +id_number +personal +drop$' \
	"ID numbers are dropped"
expect_out_re '^    applicant_phone +phone +personal +drop$' "phones are dropped"
expect_out_re '^    loss_amount +real +sensitive +drop$' "sensitive is dropped"
expect_out_re '^    dispute_type +enum +internal +keep$' "internal is kept"
expect_out_re '^not carried: hazard grid_event key_person supervision volunteer drill node daily_stats division_remap purge$' \
	"the other collections are not carried"
expect_out_re '^  pseudonym  key id [0-9a-f]{16}, derived' "the key id is shown"
xt_cs_id=$(sed -n 's/^  pseudonym  key id \([0-9a-f]*\),.*/\1/p' partner.txt)

pg --dir xt policy show 4301 --json
expect_rc 0 "policy show --json"
keep_output
cp "$T/out" partner.json
[ "$(json_value id partner.json)" = default-partner ] && pass "JSON id" ||
	fail "JSON id is not default-partner"
[ "$(json_value role partner.json)" = partner ] && pass "JSON role" ||
	fail "JSON role is not partner"
[ "$(json_value peer partner.json)" = 430100000000 ] && pass "JSON peer" ||
	fail "JSON peer is wrong"
json_value hash partner.json | grep -qE '^[0-9a-f]{64}$' &&
	pass "JSON hash is 64 hex digits" || fail "JSON hash is not hex"
for k in id hash role peer peer_tier source purpose pseudonym_key \
	collections not_carried where fields transform; do
	[ "$(json_count "$k" partner.json)" -ge 1 ] && pass "JSON has \"$k\"" ||
		fail "JSON lacks \"$k\""
done
[ "$(json_values name partner.json | head -n 1)" = dispute ] &&
	pass "JSON lists dispute first" || fail "JSON collections are wrong"

pg --dir cs policy show 4303
expect_rc 0 "Changsha shows its link to Xiangtan"
keep_output
cs_xt_id=$(sed -n 's/^  pseudonym  key id \([0-9a-f]*\),.*/\1/p' "$T/out")
[ -n "$xt_cs_id" ] && [ "$xt_cs_id" = "$cs_xt_id" ] &&
	pass "both cities show the same key id" ||
	fail "key ids differ: '$xt_cs_id' and '$cs_xt_id'"
pg --dir xt policy show 4302
keep_output
xt_zz_id=$(sed -n 's/^  pseudonym  key id \([0-9a-f]*\),.*/\1/p' "$T/out")
[ -n "$xt_zz_id" ] && [ "$xt_zz_id" != "$xt_cs_id" ] &&
	pass "a third city has another key" || fail "Zhuzhou's key id is '$xt_zz_id'"

pg --dir county policy show 4303
expect_rc 0 "policy show of a parent"
keep_output
expect_out "policy default-parent: parent link to 430300000000" \
	"the parent default"
expect_out_re '^    diagnosis +text +sensitive +drop$' \
	"sensitive fields never go above the county"
expect_out_re '^    name +name +personal +keep$' "personal fields go up"
expect_out_re '^not carried: node division_remap purge$' \
	"every collection but the system ones is carried"
expect_no_out "pseudonym" "a parent link has no pseudonym key"

pg --dir xt policy show 430302
expect_rc 0 "policy show of a child"
expect_out "policy default-child: child link to 430302000000" "the child default"
expect_out_re '^    diagnosis +text +sensitive +keep$' "a child gets everything"

# ---- the key file -----------------------------------------------------------

key=xt/pseudonym-430100000000.key
[ -f "$key" ] && pass "the key is kept in the node directory" ||
	fail "no $key"
[ "$(stat -c %a "$key")" = 600 ] && pass "the key file is mode 0600" ||
	fail "the key file is mode $(stat -c %a "$key")"
[ "$(stat -c %s "$key")" = 32 ] && pass "the key file holds 32 bytes" ||
	fail "the key file holds $(stat -c %s "$key") bytes"

# ---- pseudonym ---------------------------------------------------------------

id=$(id_number 43030219850312123)
pg --dir xt pseudonym --partner 4301 "$id"
expect_rc 0 "a pseudonym of an ID number"
keep_output
p_xt=$(cat "$T/out")
printf '%s\n' "$p_xt" | grep -qE '^[0-9a-f]{32}$' &&
	pass "a pseudonym is 32 hex digits" || fail "pseudonym is '$p_xt'"
[ "$(wc -l <"$T/out")" = 1 ] && pass "one line" || fail "more than one line"
expect_no_out "$id" "the value is not printed"

pg --dir cs pseudonym --partner 4303 "$id"
keep_output
[ "$(cat "$T/out")" = "$p_xt" ] && pass "Changsha prints the same pseudonym" ||
	fail "Changsha prints another pseudonym: $(cat "$T/out")"
pg --dir cs pseudonym --partner 430300000000 --type id_number 430302850312123
keep_output
[ "$(cat "$T/out")" = "$p_xt" ] &&
	pass "the 15-digit form gives the same pseudonym" ||
	fail "the 15-digit form gives $(cat "$T/out")"
pg --dir zz pseudonym --partner 4303 "$id"
keep_output
[ -n "$(cat "$T/out")" ] && [ "$(cat "$T/out")" != "$p_xt" ] &&
	pass "Zhuzhou's link gives another pseudonym" ||
	fail "Zhuzhou gives '$(cat "$T/out")'"

pg --dir xt pseudonym --partner 4301 13812345678
keep_output
p_phone=$(cat "$T/out")
for spelling in "+86 138 1234 5678" "0086-138-1234-5678" "138-1234-5678"; do
	pg --dir cs pseudonym --partner 4303 --type phone "$spelling"
	keep_output
	[ "$(cat "$T/out")" = "$p_phone" ] &&
		pass "'$spelling' gives the pseudonym of 13812345678" ||
		fail "'$spelling' gives $(cat "$T/out")"
done
[ "$p_phone" != "$p_xt" ] && pass "phone and ID differ" ||
	fail "phone and ID give one pseudonym"

pg --dir xt pseudonym --partner 4301 --type name 张三
keep_output
p_name=$(cat "$T/out")
pg --dir cs pseudonym --partner 4303 --type name " 张三"
keep_output
[ -n "$p_name" ] && [ "$(cat "$T/out")" = "$p_name" ] &&
	pass "a name, trimmed, on both sides" || fail "names differ"

printf '%s\n' "$id" >id.txt
pg_stdin id.txt --dir xt pseudonym --partner 4301 -
keep_output
expect_rc 0 "the value from standard input"
[ "$(cat "$T/out")" = "$p_xt" ] && pass "stdin gives the same pseudonym" ||
	fail "stdin gives $(cat "$T/out")"

pg --dir xt pseudonym --partner 4301 "$id" --json
expect_rc 0 "pseudonym --json"
keep_output
cp "$T/out" ps.json
[ "$(json_value pseudonym ps.json)" = "$p_xt" ] && pass "JSON pseudonym" ||
	fail "JSON pseudonym is wrong"
[ "$(json_value type ps.json)" = id_number ] && pass "JSON type guessed" ||
	fail "JSON type is wrong"
[ "$(json_value partner ps.json)" = 430100000000 ] && pass "JSON partner" ||
	fail "JSON partner is wrong"
[ "$(json_value key_id ps.json)" = "$xt_cs_id" ] &&
	pass "JSON key id matches policy show" || fail "JSON key id differs"

# ---- refusals ---------------------------------------------------------------

refuse 2 "--partner" "pseudonym without --partner" --dir xt pseudonym "$id"
refuse 2 "VALUE" "pseudonym without a value" --dir xt pseudonym --partner 4301
refuse 2 "--type" "an unknown --type" --dir xt pseudonym --partner 4301 \
	--type email "$id"
refuse 2 "--type name" "a value that is neither ID nor phone" \
	--dir xt pseudonym --partner 4301 hello
refuse 2 "phone number" "a bad phone number" --dir xt pseudonym \
	--partner 4301 --type phone 12345
refuse 2 "check character" "an ID with a wrong check character" \
	--dir xt pseudonym --partner 4301 --type id_number 430302198503121231
refuse 2 "not a partner" "a pseudonym on a parent link" \
	--dir county pseudonym --partner 4303 "$id"
refuse 2 "430400000000" "a pseudonym for a city that is not a peer" \
	--dir xt pseudonym --partner 4304 "$id"
refuse 2 "430400000000" "policy show of a code that is not a peer" \
	--dir xt policy show 4304
refuse 2 "CODE" "policy show without a code" --dir xt policy show
refuse 2 "12" "policy show of a malformed code" --dir xt policy show 43x
refuse 2 "frob" "an unknown verb" --dir xt policy frob
refuse 2 "--bogus" "an unknown option" --dir xt policy show 4301 --bogus

chmod 644 "$key"
refuse 1 "chmod 600" "a key file others may read" --dir xt policy show 4301
keep_output
refuse 1 "chmod 600" "... also for pseudonym" --dir xt pseudonym \
	--partner 4301 "$id"
chmod 600 "$key"
pg --dir xt policy show 4301
expect_rc 0 "a private key file again"

# ---- no key material anywhere -----------------------------------------------

for f in "$key" cs/pseudonym-430300000000.key xt/box.key xt/sign.key \
	cs/box.key; do
	k=$(hex "$f")
	# Any 16 consecutive hex digits of a key, in any output, is a leak.
	leak=no
	i=0
	while [ $i -lt ${#k} ]; do
		part=$(printf '%s' "$k" | cut -c $((i + 1))-$((i + 16)))
		[ ${#part} -lt 16 ] && break
		grep -qi "$part" "$T/all-output" && leak=yes
		i=$((i + 16))
	done
	[ $leak = no ] && pass "no output shows $f" || fail "output shows $f"
done
[ -s "$T/all-output" ] && pass "the outputs were collected" ||
	fail "no output collected"

finish
