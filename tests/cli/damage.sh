#!/bin/sh
# A damaged or incomplete node directory gives a clear error that says what
# is wrong and what to do, and never a crash (DESIGN §9, §11).
. "$(dirname "$0")/lib/testlib.sh"

new_node good 430302 雨湖区
SNAP_COLLECTIONS="dispute hazard"
pg --dir good record put dispute division=430302001001 dispute_type=邻里纠纷 \
	summary='样本纠纷'
[ "$RC" = 0 ] || bail "cannot write to a fresh node"
pg --dir good record put hazard division=430302001001 category=公共安全风险 \
	description='样本隐患'
echo '{"division": "430302001001", "dispute_type": "邻里纠纷", "summary": "导入"}' >one.jsonl

# fresh NAME: a copy of the good node.
fresh() {
	rm -rf "$1"
	cp -R good "$1"
}

# Every command that opens the node, on DIR: same exit code, and an error
# matching ERE.  expect_broken DIR CODE ERE WHAT
expect_broken() {
	for cmd in "card" "log --json" "record list dispute --json" \
		"record put dispute division=430302001001 dispute_type=邻里纠纷 summary=x" \
		"record import dispute one.jsonl"; do
		# shellcheck disable=SC2086
		pg --dir "$1" $cmd
		if [ "$RC" != "$2" ]; then
			fail "$4: '$cmd' exits $RC, expected $2"
		elif [ -s "$T/out" ]; then
			fail "$4: '$cmd' prints data on stdout"
		elif ! head -n 1 "$T/err" | grep -q '^pingan: '; then
			fail "$4: '$cmd' error does not start with 'pingan: '"
		elif ! grep -qE -- "$3" "$T/err"; then
			fail "$4: '$cmd' error does not match /$3/"
		else
			pass "$4: '$cmd' exits $2 with a clear error"
		fi
	done
}

# ---- the store ------------------------------------------------------------

fresh garbage
size=$(stat -c %s garbage/store.db)
dd if=/dev/urandom of=garbage/store.db bs="$size" count=1 2>/dev/null
cp garbage/store.db garbage.copy
expect_broken garbage 1 "damaged|corrupt" "store.db overwritten with random bytes"
cmp -s garbage/store.db garbage.copy && pass "the damaged store was not written to" ||
	fail "commands wrote to the damaged store"
expect_err "store" "the error names the store"
expect_err "backup" "the error says to restore from a backup"

fresh pages
# Keep the header and the first page, overwrite the rest.
dd if=/dev/urandom of=pages/store.db bs=4096 seek=1 count=$((size / 4096 - 1)) \
	conv=notrunc 2>/dev/null
expect_broken pages 1 "damaged|corrupt" "store.db with its pages overwritten"

fresh half
dd if=good/store.db of=half/store.db bs=4096 count=2 2>/dev/null
expect_broken half 1 "damaged|corrupt|store" "store.db cut to two pages"

fresh zero
: >zero/store.db
expect_broken zero 1 "damaged|corrupt|store" "store.db truncated to 0 bytes"
# Opening must not turn the empty file into a fresh, valid-looking database.
[ "$(stat -c %s zero/store.db)" = 0 ] && pass "the truncated store was not written to" ||
	fail "commands wrote $(stat -c %s zero/store.db) bytes into the truncated store"

fresh text
echo "this is not a database" >text/store.db
expect_broken text 1 "damaged|corrupt" "store.db replaced by a text file"

# ---- keys ------------------------------------------------------------------------

fresh nosign
rm nosign/sign.key
expect_broken nosign 1 "sign\.key" "sign.key missing"
expect_err "backup" "a missing key: restore from a backup"

fresh nobox
rm nobox/box.key
expect_broken nobox 1 "box\.key" "box.key missing"

fresh open
snapshot open before
chmod 644 open/sign.key
expect_broken open 1 "chmod" "sign.key mode 644"
expect_err "sign.key" "the permission error names the file"
chmod 600 open/sign.key
expect_unchanged open before "writes refused for an exposed key"
fresh groupbox
chmod 640 groupbox/box.key
expect_broken groupbox 1 "chmod.*box\.key|box\.key.*chmod" "box.key mode 640"

fresh short
dd if=good/sign.key of=short/sign.key bs=63 count=1 2>/dev/null
chmod 600 short/sign.key
expect_broken short 1 "sign\.key" "sign.key cut to 63 bytes"

new_node other 430302 雨湖区
fresh swapped
cp other/sign.key swapped/sign.key
expect_broken swapped 1 "sign\.key" "sign.key of another node"

# ---- the card ------------------------------------------------------------------

fresh badcard
echo '{}' >badcard/card.json
expect_broken badcard 1 "card\.json" "card.json replaced by {}"
expect_err "not a valid card" "the error gives the card's problem"
n=$(grep -o "is damaged" "$T/err" | wc -l)
[ "$n" = 1 ] && pass "the card error is one coherent sentence" ||
	fail "the card error repeats itself ($n times 'is damaged'): $(cat "$T/err")"

fresh foreigncard
cp other/card.json foreigncard/card.json
expect_broken foreigncard 1 "card|sign\.key" "card.json of another node"

fresh nocard
rm nocard/card.json
expect_broken nocard 1 "card\.json" "card.json missing"

fresh newer
sqlite3 newer/store.db "UPDATE meta SET value = 99 WHERE key = 'schema_version'"
expect_broken newer 2 "upgrade pingan" "a store written under a newer schema"

fresh badversion
sqlite3 badversion/store.db "UPDATE meta SET value = 'x' WHERE key = 'schema_version'"
expect_broken badversion 1 "schema version" "a damaged schema version"

# ---- not a node at all --------------------------------------------------------------

expect_broken nowhere 2 "pingan init" "a directory that does not exist"
mkdir empty
expect_broken empty 2 "pingan init" "an empty directory"
mkdir stuff
echo "notes" >stuff/readme.txt
expect_broken stuff 2 "pingan init" "a directory of other files"
echo "a file" >plainfile
expect_broken plainfile 2 "pingan init" "--dir naming a file"
fresh nostore
rm nostore/store.db
expect_broken nostore 2 "pingan init" "keys and card but no store.db"
expect_err "--dir" "the hint also mentions --dir"

# The good node still works after all this.
pg --dir good log --json
expect_rc 0 "the untouched node still opens"
[ "$(json_values signature_ok "$T/out" | sort -u)" = true ] &&
	pass "the untouched node's log verifies" || fail "the untouched node's log"

finish
