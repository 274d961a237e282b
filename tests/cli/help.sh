#!/bin/sh
# Help, version and usage errors: --help everywhere (stdout, exit 0, no
# node needed, nothing created); unknown commands and options exit 2 with a
# "pingan: " error naming them (DESIGN §9).
. "$(dirname "$0")/lib/testlib.sh"

mkdir work
cd work

# help_ok WHAT ARG... : exit 0, "usage" on stdout, nothing on stderr.
help_ok() {
	_what=$1
	shift
	pg "$@"
	if [ "$RC" != 0 ]; then
		fail "$_what: exit $RC"
	elif ! grep -qi "usage" "$T/out"; then
		fail "$_what: no 'usage' on stdout"
	elif [ -s "$T/err" ]; then
		fail "$_what: printed on stderr"
	else
		pass "$_what: exit 0, usage on stdout"
	fi
}

help_ok "pingan --help" --help
for c in init card schema record log; do
	grep -q "^  $c " "$T/out" && pass "--help lists '$c'" ||
		fail "--help does not list '$c'"
done
expect_out "--dir" "--help documents --dir"
expect_out "--operator" "--help documents --operator"
expect_out "exit codes" "--help documents the exit codes"
help_ok "pingan -h" -h
help_ok "pingan help" help

help_ok "pingan record --help" record --help
for v in put get list delete import; do
	grep -q "^  $v " "$T/out" && pass "record --help lists '$v'" ||
		fail "record --help does not list '$v'"
done
help_ok "pingan record -h" record -h

help_ok "record put --help" record put --help
expect_out "record put" "record put --help names the verb"
expect_out "--id" "record put --help documents --id"
help_ok "record get --help" record get --help
expect_out "--json" "record get --help documents --json"
help_ok "record list --help" record list --help
expect_out "--where" "record list --help documents --where"
expect_out "--limit" "record list --help documents --limit"
expect_out "--deleted" "record list --help documents --deleted"
help_ok "record delete --help" record delete --help
expect_out "record delete" "record delete --help names the verb"
help_ok "record import --help" record import --help
expect_out "--batch" "record import --help documents --batch"
help_ok "log --help" log --help
expect_out "--since" "log --help documents --since"
help_ok "schema --help" schema --help
expect_out "--json" "schema --help documents --json"
help_ok "card --help" card --help
expect_out "verify" "card --help documents verify"
expect_out "--out" "card --help documents --out"
help_ok "init --help" init --help
expect_out "--code" "init --help documents --code"
help_ok "card verify --help" card verify --help
help_ok "--help after operands" record put dispute division=430302001001 --help
help_ok "--help with a --dir that does not exist" --dir nowhere record list dispute --help

if [ -z "$(ls -A)" ]; then
	pass "help created nothing"
else
	fail "help created files: $(ls -A | tr '\n' ' ')"
fi

pg --version
expect_rc 0 "--version"
expect_out_re '^pingan [0-9]+\.[0-9]+\.[0-9]+$' "--version prints 'pingan X.Y.Z'"

# ---- usage errors ---------------------------------------------------------

pg
expect_rc 2 "pingan with no arguments"
expect_empty_out "pingan with no arguments"
expect_err "usage" "no arguments: usage on stderr"

refuse 2 "frob" "unknown command" frob
refuse 2 "--frob" "unknown global option" --frob
refuse 2 "-x" "unknown short option" -x log
refuse 2 "--frob" "unknown option of log" log --frob
refuse 2 "--frob" "unknown option of schema" schema --frob
refuse 2 "--frob" "unknown option of card" card --frob
refuse 2 "--frob" "unknown option of init" init --frob
refuse 2 "--frob" "unknown option of record put" record put dispute --frob
refuse 2 "--frob" "unknown option of record list" record list dispute --frob
refuse 2 "--frob" "unknown option of record import" record import dispute - --frob
refuse 2 "frob" "unknown record verb" record frob
pg record
expect_rc 2 "record without a verb"
expect_err "usage" "record without a verb: usage on stderr"
refuse 2 "--dir" "--dir without a value" --dir
refuse 2 "--operator" "--operator without a value" log --operator
refuse 2 "--since" "--since without a value" log --since
refuse 2 "--id" "--id without a value" record put dispute --id
refuse 2 "--json" "an option that takes no value given one" log --json=yes
refuse 2 "COLLECTION" "record get without operands" record get
refuse 2 "COLLECTION" "record list without operands" record list
refuse 2 "COLLECTION" "record delete without operands" record delete
refuse 2 "COLLECTION" "record put without operands" record put

if [ -z "$(ls -A)" ]; then
	pass "usage errors created nothing"
else
	fail "usage errors created files: $(ls -A | tr '\n' ' ')"
fi

finish
