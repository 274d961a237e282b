# Shared helpers of the command-line tests (tests/cli/*.sh).  Sourced, not
# run: it lives in lib/ so that the `cli/*.sh` glob of tests/CMakeLists.txt
# does not register it as a test.
#
#   . "$(dirname "$0")/lib/testlib.sh"
#
# ctest sets PINGAN (the binary), PINGAN_GEN (the data generator, which may
# not exist yet) and PINGAN_SOURCE_DIR.  By hand:
#
#   PINGAN=build/pingan sh tests/cli/record.sh
#
# Every test runs in its own `mktemp -d` directory ($T, also the working
# directory), removed on exit.  Results are printed TAP-style; a failed
# check does not stop the script, the exit status at the end does.  Only
# POSIX sh, grep, sed, awk, cmp, od, stat, dd and (optionally) sqlite3.

set -eu

TEST_NAME=$(basename "$0" .sh)
if [ -z "${PINGAN:-}" ] || [ ! -x "$PINGAN" ]; then
	echo "$TEST_NAME: set PINGAN to the pingan binary (ctest does)" >&2
	exit 1
fi
case $PINGAN in
/*) ;;
*) PINGAN=$(pwd)/$PINGAN ;;
esac
if [ -n "${PINGAN_GEN:-}" ]; then
	case $PINGAN_GEN in
	/*) ;;
	*) PINGAN_GEN=$(pwd)/$PINGAN_GEN ;;
	esac
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/pingan-cli-$TEST_NAME.XXXXXX")
NPASS=0
NFAIL=0
RC=0
LAST_CMD=

testlib_cleanup() {
	status=$?
	cd /
	# A test may have removed permissions to provoke errors.
	chmod -R u+rwx "$T" 2>/dev/null || true
	rm -rf "$T"
	exit "$status"
}
trap testlib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$T"

# Deterministic environment: no inherited node or operator, byte-wise text
# tools.  pingan itself works on UTF-8 bytes whatever the locale.
unset PINGAN_DIR PINGAN_OPERATOR
LC_ALL=C
export LC_ALL

# ---- reporting ---------------------------------------------------------

pass() {
	NPASS=$((NPASS + 1))
	printf 'ok %d - %s\n' "$((NPASS + NFAIL))" "$*"
}

# Show the last command and what it printed, cut to a readable size.
show_last() {
	{
		printf '#   command: %s\n' "$LAST_CMD"
		printf '#   exit:    %s\n' "$RC"
		if [ -s "$T/out" ]; then
			printf '#   stdout:\n'
			head -c 1500 "$T/out" | sed 's/^/#     /'
			echo
		fi
		if [ -s "$T/err" ]; then
			printf '#   stderr:\n'
			head -c 1500 "$T/err" | sed 's/^/#     /'
			echo
		fi
	}
}

fail() {
	NFAIL=$((NFAIL + 1))
	printf 'not ok %d - %s\n' "$((NPASS + NFAIL))" "$*"
	show_last
}

# A failure after which the rest of the test makes no sense.
bail() {
	fail "$*"
	printf 'Bail out! %s\n' "$*"
	exit 1
}

# End of a test: the summary and the exit status.
finish() {
	printf '1..%d\n' "$((NPASS + NFAIL))"
	if [ "$NFAIL" -gt 0 ]; then
		printf '# %s: %d of %d checks FAILED\n' "$TEST_NAME" "$NFAIL" \
			"$((NPASS + NFAIL))" >&2
		exit 1
	fi
	printf '# %s: all %d checks passed\n' "$TEST_NAME" "$NPASS"
	exit 0
}

# ---- running commands --------------------------------------------------

# run CMD [ARG]...: stdout to $T/out, stderr to $T/err, status in $RC.
# Standard input is /dev/null unless RUN_STDIN names a file.
run() {
	LAST_CMD="$*"
	if "$@" <"${RUN_STDIN:-/dev/null}" >"$T/out" 2>"$T/err"; then
		RC=0
	else
		RC=$?
	fi
}

# pg ARG...: run pingan.
pg() {
	run "$PINGAN" "$@"
}

# pg_stdin FILE ARG...: run pingan reading FILE on standard input.
pg_stdin() {
	_in=$1
	shift
	RUN_STDIN=$_in run "$PINGAN" "$@"
}

# ---- checks on the last command ----------------------------------------

# expect_rc CODE WHAT
expect_rc() {
	if [ "$RC" = "$1" ]; then
		pass "$2 (exit $1)"
	else
		fail "$2: exit $RC, expected $1"
	fi
}

# expect_out TEXT WHAT: stdout contains TEXT (fixed string).
expect_out() {
	if grep -qF -- "$1" "$T/out"; then
		pass "$2"
	else
		fail "$2: stdout lacks '$1'"
	fi
}

# expect_out_re ERE WHAT
expect_out_re() {
	if grep -qE -- "$1" "$T/out"; then
		pass "$2"
	else
		fail "$2: stdout does not match /$1/"
	fi
}

# expect_no_out TEXT WHAT: stdout does not contain TEXT.
expect_no_out() {
	if grep -qF -- "$1" "$T/out"; then
		fail "$2: stdout contains '$1'"
	else
		pass "$2"
	fi
}

# expect_err TEXT WHAT: stderr contains TEXT (fixed string).
expect_err() {
	if grep -qF -- "$1" "$T/err"; then
		pass "$2"
	else
		fail "$2: stderr lacks '$1'"
	fi
}

# expect_err_re ERE WHAT
expect_err_re() {
	if grep -qE -- "$1" "$T/err"; then
		pass "$2"
	else
		fail "$2: stderr does not match /$1/"
	fi
}

# expect_empty_out WHAT: nothing on stdout.
expect_empty_out() {
	if [ -s "$T/out" ]; then
		fail "$1: stdout is not empty"
	else
		pass "$1: nothing on stdout"
	fi
}

# expect_pingan_error WHAT: stderr starts with "pingan: ".
expect_pingan_error() {
	if [ -s "$T/err" ] && head -n 1 "$T/err" | grep -q '^pingan: '; then
		pass "$1: error starts with 'pingan: '"
	else
		fail "$1: stderr does not start with 'pingan: '"
	fi
}

# refuse CODE NEEDLE WHAT ARG...: pingan ARG... must exit CODE, print
# nothing on stdout, and an error starting "pingan: " that contains NEEDLE
# (the bad value or the field it names).
refuse() {
	_code=$1
	_needle=$2
	_what=$3
	shift 3
	pg "$@"
	if [ "$RC" != "$_code" ]; then
		fail "$_what: exit $RC, expected $_code"
		return 0
	fi
	if [ -s "$T/out" ]; then
		fail "$_what: printed on stdout"
		return 0
	fi
	if ! head -n 1 "$T/err" | grep -q '^pingan: '; then
		fail "$_what: stderr does not start with 'pingan: '"
		return 0
	fi
	if ! grep -qF -- "$_needle" "$T/err"; then
		fail "$_what: error does not mention '$_needle'"
		return 0
	fi
	pass "$_what (exit $_code, names '$_needle')"
}

# ---- nodes and state ---------------------------------------------------

# new_node DIR CODE NAME: create a node or bail out.
new_node() {
	pg --dir "$1" init --code "$2" --name "$3"
	[ "$RC" = 0 ] || bail "cannot create node $2 in $1"
}

# link_nodes PARENT CHILD: PARENT pins CHILD's card as a child (and so
# certifies it) and CHILD pins PARENT's as its parent, or bail out.  Each
# directory names a node; their cards are written as DIR.card.
link_nodes() {
	"$PINGAN" --dir "$1" card --out "$1.card" >/dev/null 2>&1 &&
		"$PINGAN" --dir "$2" card --out "$2.card" >/dev/null 2>&1 ||
		bail "cannot export the cards of $1 and $2"
	pg --dir "$1" peer add --card "$2.card" --role child
	[ "$RC" = 0 ] || bail "$1 cannot pin $2 as its child"
	pg --dir "$2" peer add --card "$1.card" --role parent
	[ "$RC" = 0 ] || bail "$2 cannot pin $1 as its parent"
}

# The collections a person may write (every one but the system `node`).
WRITABLE="hazard dispute grid_event key_person supervision volunteer fraud_alert drill"

# A line of `sqlite3 .dump` holding the audit entry of refused input
# (node/audit.c): refusing changes nothing else.
AUDIT_REFUSAL="^INSERT INTO audit VALUES([0-9]*,[0-9]*,'[^']*','refuse',"

# snapshot DIR FILE: everything observable about a node's data, for
# before/after comparisons: the log, the collections in $SNAP_COLLECTIONS
# (default: all) including deleted records, and (when sqlite3 is
# installed) a dump of the whole store but the refusals recorded in
# `rejected` (kept for `pingan status`) and in the audit trail, which covers every other table and
# the clock and sequence in `meta`.  A test that writes only some
# collections may set SNAP_COLLECTIONS to save time under the sanitizers.
snapshot() {
	{
		echo "== log"
		"$PINGAN" --dir "$1" log --json 2>&1 || echo "exit $?"
		for _c in ${SNAP_COLLECTIONS:-$WRITABLE}; do
			echo "== $_c"
			"$PINGAN" --dir "$1" record list "$_c" --deleted --json 2>&1 ||
				echo "exit $?"
		done
		if command -v sqlite3 >/dev/null 2>&1; then
			echo "== store"
			# Every table but `rejected`, where refused input is
			# recorded for `pingan status`.
			sqlite3 "$1/store.db" .dump 2>&1 |
				grep -v -e '^INSERT INTO rejected VALUES' -e "$AUDIT_REFUSAL" || echo "exit $?"
		fi
	} >"$2" </dev/null
}

# expect_unchanged DIR BEFORE WHAT: the node's snapshot equals BEFORE.
# After a change BEFORE is replaced by the new state, so that one wrongly
# accepted write is reported once, not again by every later check.
expect_unchanged() {
	snapshot "$1" "$T/snap.after"
	if cmp -s "$2" "$T/snap.after"; then
		pass "$3: nothing changed"
	else
		fail "$3: the node changed"
		if command -v diff >/dev/null 2>&1; then
			diff "$2" "$T/snap.after" | head -20 | sed "s/^/#   /" || true
		fi
		cp "$T/snap.after" "$2"
	fi
}

# ---- JSON (jansson, indent 2, one key per line) -------------------------

# json_values KEY FILE: every value of "KEY", quotes and commas removed.
json_values() {
	sed -n "s/^ *\"$1\": //p" "$2" | sed 's/,$//; s/^"//; s/"$//'
}

# json_value KEY FILE: the first value of "KEY".
json_value() {
	json_values "$1" "$2" | head -n 1
}

# json_count KEY FILE: how many times "KEY" occurs.
json_count() {
	grep -c "^ *\"$1\": " "$2" || true
}

# ---- data ---------------------------------------------------------------

# id_number 17DIGITS: append the GB 11643 (ISO 7064 MOD 11-2) check
# character.
id_number() {
	printf '%s\n' "$1" | awk '{
		split("7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2", w, " ")
		sum = 0
		for (i = 1; i <= 17; i++)
			sum += substr($0, i, 1) * w[i]
		print $0 substr("10X98765432", sum % 11 + 1, 1)
	}'
}

# repeat N CHAR: N copies of a one-byte CHAR, no newline.
repeat() {
	dd if=/dev/zero bs="$1" count=1 2>/dev/null | tr '\0' "$2"
}

# gen_available: the data generator is built.
gen_available() {
	[ -n "${PINGAN_GEN:-}" ] && [ -x "$PINGAN_GEN" ]
}

# hex FILE: the bytes of FILE as one line of lower-case hex.
hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# Relay the TAP-like lines of a Python driver: "ok - ..." / "not ok - ..."
# lines become this script's checks, others ("# ...") pass through; the
# driver's stderr is shown.  Usage: relay_driver NAME OUT ERR RC
relay_driver() {
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "${line#ok - }" ;;
		"not ok - "*)
			NFAIL=$((NFAIL + 1))
			printf 'not ok %d - %s\n' "$((NPASS + NFAIL))" "${line#not ok - }"
			;;
		*) printf '%s\n' "$line" ;;
		esac
	done <"$2"
	if [ -s "$3" ]; then
		sed 's/^/# stderr: /' "$3" | head -40
	fi
	if [ "$4" != 0 ] && [ "$NFAIL" = 0 ]; then
		fail "$1 exited $4 without naming a failed check"
	fi
	[ -s "$2" ] || fail "$1 printed nothing"
}
