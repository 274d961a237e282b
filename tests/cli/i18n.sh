#!/bin/sh
# The command in English (LANG=C) and in Chinese (LANG=zh_CN.UTF-8): init,
# card, schema, record put/get/list, log, status, conflicts list,
# quarantine list, refused input and --help speak the locale's language;
# Chinese output shows the schema's titles (纠纷类型) where English shows
# names (dispute_type) and times in China Standard Time; exit codes are the
# same in both, and --json output is byte for byte the same.
. "$(dirname "$0")/lib/testlib.sh"

COUNTY=430321000000 # 湘潭县
TOWN=430321112000   # 石潭镇

if ! locale -a 2>/dev/null | grep -qiE '^zh_CN\.utf-?8$'; then
	bail "the zh_CN.UTF-8 locale is not installed (tools/setup generates it)"
fi

# en ARG...: pingan in English; zh ARG...: pingan in Chinese.  LANGUAGE
# would override LANG for messages: cleared in both.
en() {
	run env LC_ALL=C LANG=C LANGUAGE= "$PINGAN" "$@"
}
zh() {
	run env LC_ALL= LANG=zh_CN.UTF-8 LANGUAGE= "$PINGAN" "$@"
}

# same_json WHAT ARG...: the command exits 0 in both locales and prints the
# same bytes.
same_json() {
	_what=$1
	shift
	en "$@"
	_rc_en=$RC
	cp "$T/out" "$T/json.en"
	zh "$@"
	if [ "$_rc_en" != 0 ] || [ "$RC" != 0 ]; then
		fail "$_what: exit $_rc_en (C), $RC (zh_CN), expected 0"
	elif ! [ -s "$T/out" ]; then
		fail "$_what: no JSON"
	elif cmp -s "$T/json.en" "$T/out"; then
		pass "$_what: the same JSON in both locales"
	else
		fail "$_what: the JSON differs between the locales"
	fi
}

# same_rc WHAT CODE ARG...: the command exits CODE in both locales.
same_rc() {
	_what=$1
	_code=$2
	shift 2
	en "$@"
	_rc_en=$RC
	zh "$@"
	if [ "$_rc_en" = "$_code" ] && [ "$RC" = "$_code" ]; then
		pass "$_what: exit $_code in both locales"
	else
		fail "$_what: exit $_rc_en (C), $RC (zh_CN), expected $_code"
	fi
}

# expect_out_line_re ERE WHAT: some line of stdout matches ERE.
expect_line() {
	if grep -qE -- "$1" "$T/out"; then
		pass "$2"
	else
		fail "$2: no line of stdout matches /$1/"
	fi
}

# ---- init and card -----------------------------------------------------

zh --dir county init --code $COUNTY --name 湘潭县
expect_rc 0 "init in Chinese"
expect_out "已创建节点 $COUNTY 湘潭县（县级）" "init: the result in Chinese, the tier too"
expect_out "下一步：" "init: the next step in Chinese"
en --dir town init --code $TOWN --name 石潭镇
expect_rc 0 "init in English"
expect_out "created node $TOWN 石潭镇 (township)" "init: the result in English"
expect_no_out "已创建" "init: no Chinese in English output"

zh --dir county card --out county.card
expect_rc 0 "card --out in Chinese"
if grep -qF "已将 $COUNTY 湘潭县 的节点名片写入 county.card" "$T/err"; then
	pass "card --out: the note in Chinese"
else
	fail "card --out: the note is not in Chinese"
fi
zh card verify county.card
expect_out "节点名片有效：$COUNTY 湘潭县（县级）" "card verify in Chinese"
en card verify county.card
expect_out "card OK: $COUNTY 湘潭县 (county)" "card verify in English"
same_json "card verify --json" card verify county.card --json
printf 'not a card' >bad.card
zh card verify bad.card
expect_rc 2 "card verify of a bad card, in Chinese"
expect_err_re '^pingan：bad\.card：' "card verify: 'pingan：' and the file, in Chinese"
en card verify bad.card
expect_rc 2 "card verify of a bad card, in English"
expect_pingan_error "card verify in English"

link_nodes county town

# ---- schema ------------------------------------------------------------

zh schema dispute
expect_rc 0 "schema dispute in Chinese"
expect_line '^矛盾纠纷 dispute（条例第 ' "schema: the collection's title first, in Chinese"
expect_line '^  纠纷类型 +enum +[a-z]+ +lww +必填 dispute_type$' \
	"schema: the field's title first, its name after, in Chinese"
expect_out "取值：" "schema: the values in Chinese"
en schema dispute
expect_line '^dispute 矛盾纠纷 \(Art\. ' "schema: the collection's name first, in English"
expect_line '^  dispute_type +enum +[a-z]+ +lww +required 纠纷类型$' \
	"schema: the field's name first, in English"
same_json "schema --json" schema --json
same_rc "schema of an unknown collection" 2 schema nosuch
expect_err "pingan：未知的记录类型“nosuch”" "schema nosuch: the error in Chinese"

# ---- records -----------------------------------------------------------

PINGAN_DIR=$T/town
export PINGAN_DIR
zh record put dispute division=$TOWN dispute_type=邻里纠纷 \
	summary=两户因排水沟发生纠纷 status=登记受理
expect_rc 0 "record put in Chinese"
ID=$(cat "$T/out")
if printf '%s\n' "$ID" | grep -qE "^$TOWN-[0-9A-HJKMNP-TV-Z]{26}\$"; then
	pass "record put in Chinese prints the bare id"
else
	fail "record put in Chinese: '$ID' is not a record id"
fi

zh record get dispute "$ID"
expect_rc 0 "record get in Chinese"
expect_line "^矛盾纠纷 $ID \\(dispute\\)\$" "record get: the collection's title in Chinese"
expect_line '^  纠纷类型 +邻里纠纷$' "record get: the field's title as the label in Chinese"
expect_line "^ +（dispute_type，由 $TOWN 于 [0-9-]{10}T[0-9:.]{12}\\+08:00 写入）\$" \
	"record get: the version in Chinese, the time in CST"
en record get dispute "$ID"
expect_line "^dispute $ID \\(矛盾纠纷\\)\$" "record get: the collection's name in English"
expect_line '^  dispute_type +邻里纠纷$' "record get: the field's name in English"
expect_line "^ +\\(纠纷类型, by $TOWN at [0-9-]{10}T[0-9:.]{12}\\+08:00\\)\$" \
	"record get: the version in English, the time in CST"
same_json "record get --json" record get dispute "$ID" --json

# Times are shown in China Standard Time whatever form they were given in.
en record put dispute --id "$ID" accepted_at=2026-11-26T02:00:00Z
expect_rc 0 "a time given in UTC"
zh record get dispute "$ID"
expect_line '^  受理时间 +2026-11-26T10:00:00\+08:00$' "the UTC time shown in CST, in Chinese"
en record get dispute "$ID"
expect_line '^  accepted_at +2026-11-26T10:00:00\+08:00$' "the UTC time shown in CST, in English"
for _t in 2026-11-26T10:00:00+08:00 1795658400000; do
	zh record list dispute --where accepted_at=$_t
	if [ "$RC" = 0 ] && [ "$(wc -l <"$T/out")" = 1 ]; then
		pass "--where accepted_at=$_t finds the record"
	else
		fail "--where accepted_at=$_t: exit $RC, $(wc -l <"$T/out") records"
	fi
done
same_rc "a time without its offset" 2 record list dispute \
	--where accepted_at=2026-11-26T10:00:00

zh record list dispute
expect_out "纠纷类型=邻里纠纷" "record list: field titles in Chinese"
expect_no_out "dispute_type=" "record list: no field names in Chinese"
en record list dispute
expect_out "dispute_type=邻里纠纷" "record list: field names in English"
same_json "record list --json" record list dispute --json

# Bad input: the same exit code, the error in the locale's language.
same_rc "record put with an unknown field" 2 record put dispute nosuch=1
expect_err "pingan：记录类型“dispute”没有字段“nosuch”" \
	"unknown field: the error in Chinese"
en record put dispute nosuch=1
expect_err "pingan: collection 'dispute' has no field 'nosuch'" \
	"unknown field: the error in English"
same_rc "record list with an unknown option" 2 record list dispute --bogus
expect_err "pingan：未知的选项“--bogus”" "unknown option: the error in Chinese"
expect_err "用法：pingan record list 记录类型 [--where 字段=值]" \
	"unknown option: the usage in Chinese"
same_rc "record put without a value" 2 record put dispute division
expect_err "pingan：“division”不是“字段=值”的形式" "not FIELD=VALUE: the error in Chinese"
same_rc "log --limit not a number" 2 log --limit x
expect_err "pingan：--limit 需要" "a bad count: the error in Chinese"
same_rc "a bad global option" 2 record list dispute --dir
en record list dispute --dir
expect_pingan_error "a bad global option in English"
en record list dispute
expect_rc 0 "refused input changed nothing that stops a list"
if [ "$(wc -l <"$T/out")" = 1 ]; then
	pass "refused input wrote no record"
else
	fail "refused input wrote a record"
fi

# ---- log and status ----------------------------------------------------

zh log
expect_rc 0 "log in Chinese"
expect_line '^ +序号 +来源节点 +#序号 +时钟（北京时间） +记录类型 +区划 +操作员 +变更 +摘要 +签名$' \
	"log: the headings in Chinese"
expect_line "^ +1 +$TOWN #1 +[0-9-]{10}T[0-9:.]{12}\\+08:00 +矛盾纠纷 +$TOWN .* 签名有效\$" \
	"log: the collection's title, the time in CST, the signature in Chinese"
en log
expect_line '^ +seq +origin +#seq +clock \(\+08:00\) +collection ' "log: the headings in English"
expect_line "^ +1 +$TOWN #1 +[0-9-]{10}T[0-9:.]{12}\\+08:00 +dispute +$TOWN .* signature ok\$" \
	"log: the collection's name and the signature in English"
same_json "log --json --changes" log --json --changes

zh status
expect_rc 0 "status in Chinese"
expect_out "节点         $TOWN 石潭镇（乡镇级）" "status: the node in Chinese"
expect_line '^代码 +名称 +关系 +地址 +最近同步 +未发送 +未确认 +缺口$' \
	"status: the peer headings in Chinese"
expect_line "^$COUNTY +湘潭县 +上级 +仅文件交换 +从未 " "status: the parent's row in Chinese"
expect_out "冲突         0 个未解决" "status: conflicts in Chinese"
en status
expect_out "node         $TOWN 石潭镇 (township)" "status: the node in English"
expect_line "^$COUNTY +湘潭县 +parent +files only +never " "status: the parent's row in English"
same_json "status --json" status --json

# ---- conflicts and quarantine ------------------------------------------

# ship FROM TO-CODE TO-DIR: a bundle from one node imported by the other.
ship() {
	"$PINGAN" --dir "$1" export --to "$2" --out "$T/ship.pgb" >/dev/null 2>"$T/ship.err" ||
		bail "export from $1 failed: $(cat "$T/ship.err")"
	"$PINGAN" --dir "$3" import "$T/ship.pgb" >/dev/null 2>"$T/ship.err" ||
		bail "import into $3 failed: $(cat "$T/ship.err")"
	rm -f "$T/ship.pgb"
}
ship town $COUNTY county
en --dir town record put dispute --id "$ID" summary=镇里的说法
expect_rc 0 "the town edits the summary"
en --dir county record put dispute --id "$ID" summary=县里的说法
expect_rc 0 "the county edits the same summary"
ship town $COUNTY county
ship county $TOWN town

zh conflicts list
expect_rc 0 "conflicts list in Chinese"
expect_line '^编号 +记录类型 +记录 +字段 +A +B +胜出 +发现时间$' \
	"conflicts list: the headings in Chinese"
expect_line "^[0-9a-f]+ +矛盾纠纷 +$ID +纠纷简要情况 +" \
	"conflicts list: the collection's and the field's titles in Chinese"
expect_line '[0-9-]{10}T[0-9:.]{12}\+08:00$' "conflicts list: detected in CST"
CID=$(awk 'NR == 2 { print $1 }' "$T/out")
en conflicts list
expect_line "^[0-9a-f]+ +dispute +$ID +summary +" "conflicts list: names in English"
same_json "conflicts list --json" conflicts list --json
zh conflicts show "$CID"
expect_out "，字段 纠纷简要情况（summary）" "conflicts show: the field's title in Chinese"
expect_out "未解决：" "conflicts show: open, in Chinese"
en conflicts show "$CID"
expect_out ", field summary (纠纷简要情况)" "conflicts show: the field's name in English"
same_rc "conflicts resolve without --keep" 2 conflicts resolve "$CID"
expect_err "pingan：conflicts resolve 需要 --keep" "resolve without --keep: the error in Chinese"

zh quarantine list
expect_rc 0 "quarantine list in Chinese"
expect_err "隔离区中没有事务" "quarantine list: none, in Chinese"
en quarantine list
expect_err "no quarantined txns" "quarantine list: none, in English"
same_json "quarantine list --json" quarantine list --json
same_rc "quarantine show of a bad id" 2 quarantine show x
expect_err "pingan：“x”不是隔离区编号" "quarantine show x: the error in Chinese"

# ---- help --------------------------------------------------------------

zh --help
expect_rc 0 "pingan --help in Chinese"
expect_out "用法：pingan [--dir 目录] [--operator 姓名] 命令 [参数]" "--help: the usage in Chinese"
expect_line '^  record +新建、修改、查看、列出、删除、导入记录$' "--help: the commands in Chinese"
en --help
expect_line '^  record +create, update, read, list, delete, import$' "--help: the commands in English"
zh record put --help
expect_rc 0 "record put --help in Chinese"
expect_out "用法：pingan [--dir 目录] [--operator 姓名] record put 记录类型 [--id 编号] 字段=值..." \
	"record put --help: the synopsis in Chinese"
# Option help starts in column 27 whatever the argument's name: 编号 takes
# four columns in six bytes.
expect_out "  --id 编号                修改此记录，而不是新建" \
	"record put --help: the options in Chinese, aligned by display width"
expect_out "显示本帮助" "record put --help: --help in Chinese"
en record put --help
expect_out "usage: pingan [--dir DIR] [--operator NAME] record put COLLECTION [--id ID] FIELD=VALUE..." \
	"record put --help: the synopsis in English"
expect_out "show this help" "record put --help: --help in English"
zh conflicts --help
expect_out "子命令：" "conflicts --help: the verbs in Chinese"
expect_line '^  resolve +保留一个值并关闭冲突$' "conflicts --help: a verb's summary in Chinese"
zh status --help
expect_out "显示本节点以及哪些节点同步落后" "status --help in Chinese"
zh schema --help
expect_out "隐私级别：" "schema --help in Chinese"
same_rc "an unknown verb" 2 record frob
expect_err "pingan：未知的子命令“record frob”" "an unknown verb in Chinese"

finish
