#!/bin/sh
# pingan init: codes and prefixes, tiers, key files, and refusals that
# create nothing (DESIGN §1, §7, §9, §11).
. "$(dirname "$0")/lib/testlib.sh"

# ---- a 12-digit code -----------------------------------------------------

pg --dir comm init --code 430302001001 --name 和平社区 --json
expect_rc 0 "init with a 12-digit community code"
[ "$(json_value code "$T/out")" = 430302001001 ] &&
	pass "--json prints the code" || fail "--json code is not 430302001001"
[ "$(json_value tier "$T/out")" = community ] &&
	pass "430302001001 is a community" || fail "430302001001: wrong tier"
[ "$(json_value name "$T/out")" = 和平社区 ] &&
	pass "--json prints the UTF-8 name unescaped" || fail "--json name is wrong"
key_id=$(json_value key_id "$T/out")
if printf '%s\n' "$key_id" | grep -qE '^[0-9a-f]{16}$'; then
	pass "key id is 16 lower-case hex digits"
else
	fail "key id '$key_id' is not 16 hex digits"
fi

for f in sign.key box.key; do
	if [ -f "comm/$f" ] && [ "$(stat -c %a "comm/$f")" = 600 ]; then
		pass "$f exists with mode 600"
	else
		fail "$f missing or not mode 600 ($(stat -c %a "comm/$f" 2>&1))"
	fi
done
[ "$(stat -c %s comm/sign.key)" = 64 ] && [ "$(stat -c %s comm/box.key)" = 32 ] &&
	pass "key files hold 64 and 32 bytes" || fail "key files have wrong sizes"
[ -s comm/card.json ] && pass "card.json present" || fail "card.json missing"
[ -s comm/store.db ] && pass "store.db present" || fail "store.db missing"
pg card verify comm/card.json --json
expect_rc 0 "the card written by init verifies"
expect_out "$key_id" "the card carries the key id init printed"

# Human output names the node and says what to do next.
pg --dir comm2 init --code 430302001001 --name 和平社区
expect_rc 0 "init without --json"
expect_out "430302001001" "human output names the code"
expect_out "community" "human output names the tier"
expect_out "pingan card" "human output says what to do next"
key2=$(sed -n 's/^key id //p' "$T/out")
[ -n "$key2" ] && [ "$key2" != "$key_id" ] &&
	pass "each node gets its own keys" || fail "two nodes share key id '$key2'"

# ---- prefixes are padded; the tier follows the deepest segment -----------

check_tier() { # INPUT CODE TIER
	pg --dir "n$1" init --code "$1" --name 测试节点 --json
	if [ "$RC" = 0 ] && [ "$(json_value code "$T/out")" = "$2" ] &&
		[ "$(json_value tier "$T/out")" = "$3" ]; then
		pass "--code $1 makes $3 $2"
	else
		fail "--code $1: expected $3 $2"
	fi
}
check_tier 43 430000000000 province
check_tier 4303 430300000000 city
check_tier 430302 430302000000 county
check_tier 430302001 430302001000 township
check_tier 430300000000 430300000000 city
check_tier 430371 430371000000 county
# Never "strip trailing zeros": 430381100 is a township, not 4303811.
check_tier 430381100 430381100000 township

# ---- refusals create nothing ---------------------------------------------

snapshot comm "$T/before"
cp comm/card.json card.before
refuse 2 "already holds a pingan node" "init over an existing node" \
	--dir comm init --code 430302001001 --name 和平社区
refuse 2 "already holds a pingan node" "init over an existing node, other code" \
	--dir comm init --code 430302 --name 雨湖区
cmp -s card.before comm/card.json && pass "existing card untouched" ||
	fail "existing card was rewritten"
expect_unchanged comm "$T/before" "init over an existing node"

mkdir busy
echo "keep me" >busy/notes.txt
refuse 2 "not empty" "init in a non-empty directory" \
	--dir busy init --code 430302 --name 雨湖区
if [ "$(ls -A busy)" = notes.txt ]; then
	pass "non-empty directory left as it was"
else
	fail "init added files to a non-empty directory: $(ls -A busy | tr '\n' ' ')"
fi

echo "a file" >plainfile
refuse 2 "plainfile" "init where --dir is a regular file" \
	--dir plainfile init --code 430302 --name 雨湖区

for code in 43030 4303000000001 abc 430300001000 000000000000 4303O2 \
	"430302 " ""; do
	refuse 2 "\"$code\"" "bad code '$code' refused" \
		--dir "bad$code" init --code "$code" --name 雨湖区
	if [ -e "bad$code" ]; then
		fail "bad code '$code' created the directory"
	else
		pass "bad code '$code' created nothing"
	fi
done

refuse 2 "--code" "init without --code" --dir nocode init --name 雨湖区
[ ! -e nocode ] && pass "without --code nothing is created" ||
	fail "init without --code created its directory"
refuse 2 "--name" "init without --name" --dir noname init --code 430302
[ ! -e noname ] && pass "without --name nothing is created" ||
	fail "init without --name created its directory"
refuse 2 "name" "empty --name" --dir emptyname init --code 430302 --name ""
[ ! -e emptyname ] && pass "empty name creates nothing" ||
	fail "empty name created the directory"
refuse 2 "name" "name that is not UTF-8" \
	--dir badname init --code 430302 --name "$(printf 'a\377b')"
[ ! -e badname ] && pass "invalid UTF-8 name creates nothing" ||
	fail "invalid UTF-8 name created the directory"
refuse 2 "name" "name with a line break" \
	--dir ctlname init --code 430302 --name "$(printf '雨湖区\n伪造的一行')"
[ ! -e ctlname ] && pass "a name with a line break creates nothing" ||
	fail "a name with a line break created the directory"
refuse 2 "stray" "unexpected operand" \
	--dir stray init --code 430302 --name 雨湖区 stray
[ ! -e stray ] && pass "unexpected operand creates nothing" ||
	fail "unexpected operand created the directory"
refuse 2 "--bogus" "unknown option" --dir bogus init --code 430302 --bogus
[ ! -e bogus ] && pass "unknown option creates nothing" ||
	fail "unknown option created the directory"

# ---- an empty directory is fine; PINGAN_DIR and the default ---------------

mkdir empty
pg --dir empty init --code 4303 --name 湘潭市
expect_rc 0 "init in an existing empty directory"
mkdir envdir
PINGAN_DIR=$T/envdir/node run "$PINGAN" init --code 430304 --name 岳塘区 --json
expect_rc 0 "init honours \$PINGAN_DIR"
[ -f envdir/node/store.db ] && pass "node created in \$PINGAN_DIR" ||
	fail "no node in \$PINGAN_DIR"
mkdir cwd
(cd cwd && "$PINGAN" init --code 430321 --name 湘潭县 >/dev/null 2>&1) || true
[ -f cwd/pingan-node/store.db ] && pass "default directory is ./pingan-node" ||
	fail "no node in ./pingan-node"

# ---- help -----------------------------------------------------------------

pg init --help
expect_rc 0 "init --help"
expect_out "--code" "init --help mentions --code"
expect_out "--name" "init --help mentions --name"

finish
