#!/bin/sh
# The Chinese interface of peer, export, import, bundle inspect, policy,
# audit, backup, restore, sync and serve: each command runs with LANG=C and
# with LANG=zh_CN.UTF-8 and must speak English in the one and Chinese in
# the other, with the same exit status, and print byte-identical --json.
# Roles, tiers and headings are translated in human output; option values
# (--role parent), JSON, and the "listening on port" line scripts wait for
# are not.  Times a person reads are China Standard Time to the second.
LIB=$(CDPATH='' cd -- "$(dirname -- "$0")/lib" && pwd)
. "$LIB/testlib.sh"

locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$' ||
	bail "the zh_CN.UTF-8 locale is missing (tools/setup generates it)"

COUNTY=430321000000
TOWN=430321112000

# en ARG... / zh ARG...: pingan in English or in Chinese (LC_ALL, set by
# testlib, would override LANG; LANGUAGE would override both).
en() {
	run env -u LC_ALL -u LANGUAGE LANG=C "$PINGAN" "$@"
}
zh() {
	run env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 "$PINGAN" "$@"
}
# save NAME: keep the last command's stdout and exit status as NAME.out
# and $NAME_rc.
save() {
	cp "$T/out" "$T/$1.out"
	cp "$T/err" "$T/$1.err"
	eval "${1}_rc=\$RC"
}
# same_json WHAT A B: the saved outputs A and B are identical, non-empty
# JSON, and A and B exited alike.
same_json() {
	if [ ! -s "$T/$2.out" ]; then
		fail "$1: no JSON"
	elif ! cmp -s "$T/$2.out" "$T/$3.out"; then
		fail "$1: the JSON differs between the locales"
		diff "$T/$2.out" "$T/$3.out" | head -20 | sed 's/^/#   /'
	elif ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/$2.out" 2>/dev/null; then
		fail "$1: not JSON"
	else
		pass "$1: byte-identical JSON in both locales"
	fi
	eval "_a=\$${2}_rc; _b=\$${3}_rc"
	[ "$_a" = "$_b" ] && pass "$1: exit $_a in both locales" ||
		fail "$1: exit $_a in English, $_b in Chinese"
}
# no_ms WHAT: stdout shows +08:00 times to the second, never milliseconds
# and never UTC.
no_ms() {
	if ! grep -q '+08:00' "$T/out"; then
		fail "$1: no China Standard Time shown"
	elif grep -qE '\.[0-9]{3}\+08:00|[0-9]Z([^A-Za-z]|$)' "$T/out"; then
		fail "$1: a time shown with milliseconds or in UTC"
	else
		pass "$1: times in China Standard Time, to the second"
	fi
}

PIDS=
stop_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=
}
trap 'st=$?; stop_all; (exit $st); testlib_cleanup' EXIT

new_node county $COUNTY 湘潭县
new_node town $TOWN 石潭镇
"$PINGAN" --dir county card --out county.card >/dev/null 2>&1 &&
	"$PINGAN" --dir town card --out town.card >/dev/null 2>&1 ||
	bail "cannot export the cards"

# ---- peer add, list, show -------------------------------------------------
zh --dir county peer add --card town.card --role child
expect_rc 0 "zh: peer add"
expect_out "已登记 $TOWN 石潭镇（乡镇级）为下级" "zh: peer add names the role and tier in Chinese"
expect_out "已为 $TOWN 签发证书" "zh: peer add says the child is certified"
expect_out "--role parent" "zh: the option value to give stays as typed"
expect_no_out "pinned" "zh: no English in peer add"
en --dir town peer add --card county.card --role parent
expect_rc 0 "en: peer add"
expect_out "pinned $COUNTY 湘潭县 (county) as parent" "en: peer add in English"
expect_out "with --role child" "en: the next step names the option value"

zh --dir town peer list
expect_rc 0 "zh: peer list"
expect_out_re '^代码 +名称 +层级 +关系 +密钥 ID +地址 +已发送 +已确认 +已接收 +缺口$' \
	"zh: peer list headings in Chinese"
expect_out_re "^$COUNTY +湘潭县 +县级 +上级 +[0-9a-f]{16} +- +0 +0 +0 +-\$" \
	"zh: peer list shows tier and role in Chinese"
en --dir town peer list
expect_out_re '^CODE +NAME +TIER +ROLE +KEY ID +URL +SENT +ACKED +RECEIVED +GAP$' \
	"en: peer list headings in English"
expect_out_re "^$COUNTY +湘潭县 +county +parent " "en: peer list tier and role as stored"
expect_no_out "代码" "en: no Chinese heading"

# The columns line up whatever the language (display width, not bytes).
zh --dir town peer list
python3 - "$T/out" >cols <<'EOF'
import sys, unicodedata
rows = open(sys.argv[1], encoding="utf-8").read().splitlines()
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
# the column of "地址" (URL) in the heading and of "-" (no URL) in the row
h, r = rows[0], rows[1]
print(width(h[:h.index("地址")]) == width(r[:r.index(" - ") + 1]))
EOF
[ "$(cat cols)" = True ] && pass "zh: peer list columns aligned by display width" ||
	fail "zh: peer list columns misaligned: $(cat "$T/out")"

zh --dir town peer show $COUNTY
expect_rc 0 "zh: peer show"
expect_out "对端节点 $COUNTY 湘潭县（县级）" "zh: peer show title"
expect_out_re '^  角色 +上级$' "zh: peer show role"
expect_out_re '^  上次同步 +从未$' "zh: peer show last sync"
expect_out_re '^  CA 文件 +（无）$' "zh: peer show CA file"
no_ms "zh: peer show"
en --dir town peer show $COUNTY
expect_out_re '^  role +parent$' "en: peer show role"
expect_out_re '^  last sync +never$' "en: peer show last sync"
no_ms "en: peer show"

en --dir town peer list --json
save enlist
zh --dir town peer list --json
save zhlist
same_json "peer list --json" enlist zhlist
en --dir county peer show $TOWN --json
save enshow
zh --dir county peer show $TOWN --json
save zhshow
same_json "peer show --json" enshow zhshow

# ---- bad input: same exit, each in its language, nothing changed --------
zh --dir county peer add --card missing.card --role child
expect_rc 2 "zh: peer add of a missing card"
expect_err "pingan：无法读取名片 missing.card：" "zh: the error is in Chinese"
expect_empty_out "zh: peer add of a missing card"
en --dir county peer add --card missing.card --role child
expect_rc 2 "en: peer add of a missing card"
expect_err "pingan: cannot read card missing.card: " "en: the error is in English"
zh --dir county peer add --card town.card --role boss
expect_rc 2 "zh: peer add --role boss"
expect_err "--role 必须是 parent、child 或 partner，而不是“boss”" "zh: a bad role, in Chinese"
en --dir county peer add --card town.card --role boss
expect_rc 2 "en: peer add --role boss"
expect_err "--role must be parent, child or partner, not 'boss'" "en: a bad role, in English"
zh --dir county peer show
expect_rc 2 "zh: peer show without a CODE"
expect_err "peer show 需要一个代码" "zh: the usage error is in Chinese"

# ---- export, bundle inspect, import ---------------------------------------
"$PINGAN" --dir town --operator 测试员 record put grid_event division=$TOWN \
	category=城市管理 subject=路灯损坏 </dev/null >/dev/null 2>"$T/put.err" ||
	bail "record put failed: $(cat "$T/put.err")"

en --dir town export --to $COUNTY --dry-run --json
save endry
zh --dir town export --to $COUNTY --dry-run --json
save zhdry
same_json "export --dry-run --json" endry zhdry
zh --dir town export --to $COUNTY --dry-run
expect_rc 0 "zh: export --dry-run"
expect_out "试运行：按策略" "zh: export --dry-run in Chinese"

zh --dir town export --to $COUNTY --out up.pgb
expect_rc 0 "zh: export"
expect_out_re '^已写出 up\.pgb：[0-9]+ 条变更（日志 1-[0-9]+），[0-9]+ 张名片，[0-9]+ 字节$' \
	"zh: export says what it wrote, in Chinese"
zh --dir town export --to $COUNTY --out again.pgb
expect_rc 0 "zh: an export with nothing new"
expect_out "没有要发送给 $COUNTY 的内容" "zh: nothing to send, in Chinese"
en --dir town export --to $COUNTY --out again.pgb
expect_out "nothing to send to $COUNTY" "en: nothing to send, in English"

zh --dir county bundle inspect up.pgb
expect_rc 0 "zh: bundle inspect"
expect_out "数据包 up.pgb" "zh: bundle inspect title"
expect_out "  从 $TOWN（密钥 " "zh: bundle inspect sender"
expect_out_re '^  包头签名：通过$' "zh: header signature ok, in Chinese"
expect_out_re '^  包尾签名：通过$' "zh: trailer signature ok, in Chinese"
expect_out "  变更：" "zh: the txns are listed"
no_ms "zh: bundle inspect"
en --dir county bundle inspect up.pgb
expect_out_re '^  header signature: ok$' "en: header signature ok, in English"
no_ms "en: bundle inspect"
en --dir county bundle inspect up.pgb --json
save eninspect
zh --dir county bundle inspect up.pgb --json
save zhinspect
same_json "bundle inspect --json" eninspect zhinspect
zh bundle inspect up.pgb
expect_rc 2 "zh: bundle inspect where the sender is unknown"
expect_out "未校验（本节点不认识发送方）" "zh: the signatures are not checked there"

zh --dir county import up.pgb
expect_rc 0 "zh: import"
expect_out_re "^up\.pgb：来自 $TOWN，日志 1-[0-9]+：新增 [1-9][0-9]*，重复 0，冲突 0，隔离 0，待处理 0\$" \
	"zh: import reports in Chinese"
en --dir county import up.pgb
expect_rc 0 "en: import again"
expect_out_re ': 0 new, [1-9][0-9]* duplicates, 0 conflicts' "en: import again in English"
en --dir county import up.pgb --json
save enimport
zh --dir county import up.pgb --json
save zhimport
same_json "import --json" enimport zhimport

printf 'not a bundle\n' >junk.pgb
zh --dir county import junk.pgb
expect_rc 2 "zh: import of a file that is no bundle"
expect_err "pingan：junk.pgb 被拒收：" "zh: the refusal is in Chinese"
en --dir county import junk.pgb
expect_rc 2 "en: import of a file that is no bundle"
expect_err "pingan: junk.pgb refused: " "en: the refusal is in English"

# ---- policy ---------------------------------------------------------------
en --dir county policy show $TOWN --json
save enpolicy
zh --dir county policy show $TOWN --json
save zhpolicy
same_json "policy show --json" enpolicy zhpolicy
zh --dir county policy show $TOWN
expect_rc 0 "zh: policy show"
zh --dir county policy show 99
expect_rc 2 "zh: policy show of a code that is no division"
en --dir county policy show 99
expect_rc 2 "en: policy show of a code that is no division"

# ---- audit ----------------------------------------------------------------
zh --dir county audit list
expect_rc 0 "zh: audit list"
expect_out "peer.add" "zh: audit list shows the actions as recorded"
no_ms "zh: audit list"
en --dir county audit list --json
save enaudit
zh --dir county audit list --json
save zhaudit
same_json "audit list --json" enaudit zhaudit
zh --dir county audit verify
expect_rc 0 "zh: audit verify"
expect_out_re '^审计日志完好：[0-9]+ 个条目，链头序号 [0-9]+$' "zh: audit verify in Chinese"
en --dir county audit verify
expect_out_re '^audit trail intact: [0-9]+ entries, head seq [0-9]+$' "en: audit verify in English"
en --dir county audit verify --json
save enverify
zh --dir county audit verify --json
save zhverify
same_json "audit verify --json" enverify zhverify
zh --dir county audit heads
expect_rc 0 "zh: audit heads"
expect_out_re '^下级 +序号 +接收时间 +哈希$' "zh: audit heads headings in Chinese"
zh --dir county audit list --since yesterday
expect_rc 2 "zh: audit list --since with a bad date"
expect_err "--since 需要日期" "zh: the bad date is explained in Chinese"
en --dir county audit list --since yesterday
expect_rc 2 "en: audit list --since with a bad date"
expect_err "--since needs a date" "en: the bad date is explained in English"

# ---- backup and restore ---------------------------------------------------
printf '平安办 备份 2026\n' >pass
chmod 600 pass
zh --dir town backup town.bak --passphrase-file pass
expect_rc 0 "zh: backup"
expect_out_re "^已将节点 $TOWN 石潭镇 备份到 town\\.bak：[0-9]+ 个文件，[0-9]+ 条日志，本节点序号 [0-9]+，[0-9]+ 字节（已加密）\$" \
	"zh: backup in Chinese"
expect_no_out "平安办 备份" "zh: the passphrase is never printed"
zh --dir restored restore town.bak --passphrase-file pass
expect_rc 0 "zh: restore"
expect_out "已将节点 $TOWN 石潭镇 恢复到 restored" "zh: restore in Chinese"
expect_out "写入冻结：" "zh: restore explains the hold in Chinese"
en --dir restored-en restore town.bak --passphrase-file pass
expect_rc 0 "en: restore"
expect_out "on hold: local writes are refused" "en: restore in English"
printf 'wrong\n' >wrong
zh --dir bad-zh restore town.bak --passphrase-file wrong
save zhwrong
en --dir bad-en restore town.bak --passphrase-file wrong
save enwrong
[ "$zhwrong_rc" = "$enwrong_rc" ] && [ "$zhwrong_rc" != 0 ] &&
	pass "restore with a wrong passphrase fails alike in both locales (exit $zhwrong_rc)" ||
	fail "restore with a wrong passphrase: exit $enwrong_rc in English, $zhwrong_rc in Chinese"
{ [ ! -e bad-zh ] || [ -z "$(ls -A bad-zh)" ]; } &&
	pass "zh: a failed restore leaves no node" || fail "zh: a failed restore left a node"
zh --dir town backup --passphrase-file pass
expect_rc 2 "zh: backup without a FILE"
expect_err "backup 需要一个文件" "zh: the missing FILE is named in Chinese"

# ---- sync and serve over HTTP --------------------------------------------
env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 "$PINGAN" --dir county serve \
	--listen 127.0.0.1:0 >serve.out 2>serve.err &
PIDS="$PIDS $!"
i=0
while ! grep -q '^listening on port' serve.out 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || bail "pingan serve did not start: $(cat serve.err)"
	sleep 0.1
done
pass "zh: serve says 'listening on port' as scripts expect"
PORT=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' serve.out)
grep -q "$COUNTY 湘潭县 正在 http://127.0.0.1:0 提供服务（端口 $PORT）" serve.err &&
	pass "zh: serve's log speaks Chinese" || fail "zh: serve's log: $(cat serve.err)"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00 ' serve.err &&
	! grep -qE '^[^ ]*\.[0-9]{3}\+08:00 ' serve.err &&
	pass "zh: serve's log times are China Standard Time to the second" ||
	fail "zh: serve's log times: $(head -n 2 serve.err)"
"$PINGAN" --dir town peer set $COUNTY --url "http://127.0.0.1:$PORT" >/dev/null 2>&1 ||
	bail "cannot set the county's URL"
"$PINGAN" --dir town --operator 测试员 record put grid_event division=$TOWN \
	category=城市管理 subject=井盖缺失 </dev/null >/dev/null 2>"$T/put.err" ||
	bail "record put failed: $(cat "$T/put.err")"
zh --dir town sync $COUNTY
expect_rc 0 "zh: sync"
expect_out_re "^$COUNTY：已推送 [1-9][0-9]* 条变更（[0-9]+ 字节；对方应用 [1-9][0-9]* 条.*），已拉取 [0-9]+ 条变更（[0-9]+ 字节；应用 [0-9]+ 条）" \
	"zh: sync reports in Chinese"
expect_out_re '；请求 [0-9]+ 次，[0-9]+ 毫秒' "zh: sync counts requests and time in Chinese"
en --dir town sync $COUNTY
expect_rc 0 "en: sync again"
expect_out_re "^$COUNTY: pushed 0 txns, pulled 0 txns; [0-9]+ requests, [0-9]+ ms: already in step\$" \
	"en: sync in English"
zh --dir town sync $COUNTY
expect_out "：双方已一致" "zh: already in step, in Chinese"
en --dir town sync $COUNTY --json
sed 's/"elapsed_ms": *[0-9]*/"elapsed_ms": 0/; s/"clock_skew_ms": *-\?[0-9]*/"clock_skew_ms": 0/' "$T/out" >"$T/out.n"
mv "$T/out.n" "$T/out"
save ensync
zh --dir town sync $COUNTY --json
sed 's/"elapsed_ms": *[0-9]*/"elapsed_ms": 0/; s/"clock_skew_ms": *-\?[0-9]*/"clock_skew_ms": 0/' "$T/out" >"$T/out.n"
mv "$T/out.n" "$T/out"
save zhsync
same_json "sync --json (times set aside)" ensync zhsync
grep -q "已接收 [1-9][0-9]* 条变更：应用 [1-9][0-9]* 条" serve.err &&
	pass "zh: serve logs the push in Chinese" || fail "zh: serve's log lacks the push: $(cat serve.err)"
grep -q "POST /v1/push 200 $TOWN " serve.err &&
	pass "zh: serve's request lines keep method, path, status and peer" ||
	fail "zh: serve's request line: $(cat serve.err)"

zh --dir town sync
expect_rc 2 "zh: sync without a CODE"
expect_err "请给出对端节点的代码，或 --all" "zh: sync's usage error in Chinese"
en --dir town sync
expect_rc 2 "en: sync without a CODE"
expect_err "give a peer's CODE, or --all" "en: sync's usage error in English"
stop_all

# ---- rekey (the translations reorder their arguments) ----------------------
zh --dir town rekey --card-out town.rekey
expect_rc 0 "zh: rekey"
expect_out_re '^新密钥 [0-9a-f]{16}（旧密钥 [0-9a-f]{16} 在序号 [0-9]+ 之后停用）$' "zh: rekey in Chinese"
expect_out "下一步：把 town.rekey 交给上级的管理员" "zh: rekey's next step in Chinese"
zh --dir county peer rekey --card town.rekey
expect_rc 0 "zh: peer rekey"
expect_out_re "^已为 $TOWN 的密钥 [0-9a-f]{16} 签发证书；密钥 [0-9a-f]{16} 在序号 [0-9]+ 之后吊销（本节点隔离 0 条变更）\$" \
	"zh: peer rekey in Chinese, the code before the key"

# ---- help -----------------------------------------------------------------
zh peer add --help
expect_rc 0 "zh: peer add --help"
expect_out "登记另一个节点的名片" "zh: peer add --help in Chinese"
expect_out "对方节点的名片" "zh: option help in Chinese"
en peer add --help
expect_rc 0 "en: peer add --help"
expect_out "Pin another node's card" "en: peer add --help in English"
zh sync --help
expect_rc 0 "zh: sync --help (pingan-net)"
expect_out "通过 HTTP(S) 按为对端节点登记的 URL" "zh: sync --help in Chinese"
zh serve --help
expect_out "通过 HTTP 响应本节点各对端节点的拉取和推送" "zh: serve --help in Chinese"
zh audit verify --help
expect_out "检查审计日志的哈希链" "zh: audit verify --help in Chinese"
zh backup --help
expect_out "把本节点的加密备份写入文件" "zh: backup --help in Chinese"
zh import --help
expect_out "退出状态：" "zh: import --help explains the exit status in Chinese"
zh peer
expect_rc 2 "zh: peer without a verb"
expect_err "登记上级、下级或协作城市的名片" "zh: the verbs of peer in Chinese"
en peer
expect_err "pin a parent's, child's or partner's card" "en: the verbs of peer in English"

NET=$(dirname "$PINGAN")/pingan-net
run env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 "$NET"
expect_rc 2 "zh: pingan-net on its own"
expect_err "pingan-net 为 pingan 执行 'pingan sync' 和 'pingan serve'" "zh: pingan-net speaks Chinese too"

finish
