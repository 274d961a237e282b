#!/bin/sh
# The catalog check: every message the sources mark for translation in a
# text domain has a translation in each language's catalog of that domain
# (po/DOMAIN/LANG/*.po joined as the build joins them), none is fuzzy or
# empty, and msgfmt --check accepts the result (same printf directives as
# the English).
#
#   sh tests/i18n/catalog.sh DOMAIN [SOURCE_DIR]
#
# DOMAIN is pingan (the command, node/cli/) or libpingan (the library's
# messages, node/ and sync/).  Exit 0 when complete; otherwise 1, naming
# each message that is missing, untranslated or fuzzy and where it is used.
set -eu

domain=${1:?usage: catalog.sh pingan|libpingan [SOURCE_DIR]}
src=${2:-${PINGAN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$src"

# The functions whose arguments are translatable text, per domain: the
# gettext macros, and every function taking a message format that is
# translated inside it (node/error.c translates pg_error_set's format and
# those of the helpers that format an error in pieces).
case $domain in
pingan)
	files=$(ls node/cli/*.c)
	keywords="--keyword=_ --keyword=N_ --keyword=cli_usage:2
		--flag=cli_usage:2:c-format --keyword=ngettext:1,2
		--keyword=CLI_HEADING:1c,2"
	;;
libpingan)
	# The command's own pg_error_set calls are translated in this domain
	# too: node/error.c looks every format up in libpingan.
	files=$(ls node/*.c sync/*.c node/cli/*.c)
	keywords="--keyword=PG_ --keyword=PG_N_ --keyword=dngettext:2,3
		--keyword=pg_error_set:3 --flag=pg_error_set:3:c-format
		--keyword=pg_error__textf:2 --flag=pg_error__textf:2:c-format
		--keyword=pg_error__wrap:4 --flag=pg_error__wrap:4:c-format
		--keyword=policy_fail:3 --flag=policy_fail:3:c-format
		--keyword=audit_bad:3 --flag=audit_bad:3:c-format
		--keyword=redact_invalid:2 --flag=redact_invalid:2:c-format
		--keyword=reader_bad:1 --flag=reader_bad:1:c-format
		--keyword=os_error:1 --flag=os_error:1:c-format
		--keyword=bad_header:1 --flag=bad_header:1:c-format"
	;;
*)
	echo "catalog.sh: unknown domain '$domain' (pingan or libpingan)" >&2
	exit 2
	;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# shellcheck disable=SC2086 # the lists are words
xgettext --from-code=UTF-8 --language=C -k $keywords --no-wrap \
	--sort-by-file -o "$tmp/extracted.pot" $files
extracted=$(grep -c '^msgid ' "$tmp/extracted.pot" || true)
extracted=$((extracted - 1)) # the header

# The msgids of a PO file, one a line, with where they are used.
list() {
	awk '/^#: / && where == "" {where=substr($0,4)}
	     /^msgid /{print "  " $0 "  (" where ")"; where=""}' "$1"
}

status=0
langs=$(ls -d "po/$domain"/*/ 2>/dev/null || true)
if [ -z "$langs" ]; then
	echo "FAIL: no catalog for domain $domain (po/$domain/LANG/*.po)"
	exit 1
fi
for dir in $langs; do
	lang=$(basename "$dir")
	# shellcheck disable=SC2046
	if ! msgcat --force-po --to-code=UTF-8 --no-wrap -o "$tmp/$lang.po" \
		"$dir"*.po; then
		echo "FAIL: $domain $lang: msgcat cannot join the fragments"
		status=1
		continue
	fi
	if ! msgfmt --check -o /dev/null "$tmp/$lang.po" 2>"$tmp/msgfmt.err"; then
		echo "FAIL: $domain $lang: msgfmt --check refuses the catalog:"
		sed 's/^/  /' "$tmp/msgfmt.err"
		status=1
	fi
	# The catalog's translations of exactly the extracted messages: what
	# it lacks comes out untranslated, what two fragments translate
	# differently (msgcat) or is marked so comes out fuzzy.
	msgmerge --quiet --no-fuzzy-matching --no-wrap -o "$tmp/$lang.merged.po" \
		"$tmp/$lang.po" "$tmp/extracted.pot"
	msgattrib --force-po --untranslated --no-obsolete --no-wrap \
		-o "$tmp/$lang.untranslated.po" "$tmp/$lang.merged.po"
	msgattrib --force-po --only-fuzzy --no-obsolete --no-wrap \
		-o "$tmp/$lang.fuzzy.po" "$tmp/$lang.merged.po"
	missing=$(list "$tmp/$lang.untranslated.po" | grep -vc '^  msgid ""  ' || true)
	fuzzy=$(list "$tmp/$lang.fuzzy.po" | grep -vc '^  msgid ""  ' || true)
	if [ "$missing" -gt 0 ]; then
		echo "FAIL: $domain $lang: $missing of $extracted messages missing or untranslated:"
		list "$tmp/$lang.untranslated.po" | grep -v '^  msgid ""  '
		status=1
	fi
	if [ "$fuzzy" -gt 0 ]; then
		echo "FAIL: $domain $lang: $fuzzy fuzzy (two fragments differ, or marked fuzzy):"
		list "$tmp/$lang.fuzzy.po" | grep -v '^  msgid ""  '
		status=1
	fi
	# Translations nothing uses any more (msgmerge made them obsolete):
	# harmless, but worth a look.
	stale=$(grep -c '^#~ msgid ' "$tmp/$lang.merged.po" || true)
	[ "$stale" -gt 0 ] &&
		echo "note: $domain $lang: $stale translations of messages no source uses"
	[ "$status" = 0 ] &&
		echo "ok: $domain $lang: all $extracted messages translated"
done
exit $status
