/*
 * Failed allocations (DESIGN §11), SQLite's way: fail allocation 1, then
 * 2, then 3 ... of one operation until it runs without a failure.  After
 * each failure the operation returned PG_ENOMEM or PG_ERROR (never a
 * bad-input code: running out of memory is not bad input; a crash fails
 * the test), the store is exactly as before (every row of every table),
 * the same handle, the hook disarmed, then runs the operation whole,
 * nothing allocated is still live once the node is closed, and the store
 * passes integrity_check.  An operation that absorbs a failure and
 * succeeds must have done all its work, as a clean run does it: the same
 * records, log size and last seq, peer cursors and audit seq (so do the
 * runs again after a failure).  The operations, on a small case: a local write
 * (pg_record_put), a JSON-lines import of a few records
 * (pg_record_import_jsonl, which seals on a second thread) and a bundle
 * import (pg_bundle_import).
 *
 * The hook: this executable replaces malloc, calloc, realloc and free
 * (glibc's own are __libc_*), so that every library in the process --
 * SQLite, libsodium, zstd, protobuf-c, jansson -- goes through it.  While
 * armed it counts allocations and fails the Nth; while tracking it keeps
 * the set of live blocks allocated since tracking began.
 *
 * Not under AddressSanitizer: ASan owns malloc and free, and the two
 * replacements cannot both be linked; the test exits 77 (skipped) there.
 * By hand: ALLOCFAIL_STEP=K tries every Kth allocation only, and
 * ALLOCFAIL_FROM=N starts at the Nth; a failure shows the stack of the
 * allocation that failed.
 */
#include "faultcase.h"

#if defined(__SANITIZE_ADDRESS__)
#define ALLOCFAIL_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOCFAIL_SKIP 1
#endif
#endif

#ifndef ALLOCFAIL_SKIP

#include <execinfo.h>
#include <stdatomic.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* ---- the hook ---------------------------------------------------------- */

static atomic_bool af_armed;
static atomic_long af_count;  /* allocations while armed */
static long af_fail_at;       /* fail this one (1-based); 0: none */
static atomic_bool af_failed; /* the failure happened */

/* Live blocks since tracking began: open addressing, tombstones. */
#define AF_SLOTS (1u << 21)
#define AF_TOMB  ((void *)1)
static void **af_slots;
static void **af_caller; /* who allocated each live block (a leak report) */
static atomic_bool af_tracking;
static atomic_flag af_lock = ATOMIC_FLAG_INIT;
static long af_live;

static void af_lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&af_lock, memory_order_acquire))
        ;
}

static void af_lock_give(void)
{
    atomic_flag_clear_explicit(&af_lock, memory_order_release);
}

static size_t af_hash(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(v >> 11) & (AF_SLOTS - 1);
}

static void af_track(void *p, void *caller)
{
    if (!p || !atomic_load(&af_tracking))
        return;
    af_lock_take();
    for (size_t i = af_hash(p), k = 0; k < AF_SLOTS;
         i = (i + 1) & (AF_SLOTS - 1), k++) {
        if (af_slots[i] == NULL || af_slots[i] == AF_TOMB) {
            af_slots[i] = p;
            af_caller[i] = caller;
            af_live++;
            break;
        }
    }
    af_lock_give();
}

static void af_untrack(void *p)
{
    if (!p || !atomic_load(&af_tracking))
        return;
    af_lock_take();
    for (size_t i = af_hash(p), k = 0; k < AF_SLOTS && af_slots[i] != NULL;
         i = (i + 1) & (AF_SLOTS - 1), k++) {
        if (af_slots[i] == p) {
            af_slots[i] = AF_TOMB;
            af_live--;
            break;
        }
    }
    af_lock_give();
}

/* Where the failed allocation was asked for (backtrace() was called once
 * at the start, so it allocates nothing here). */
static void *af_where[32];
static int af_nwhere;

/* True when this allocation is to fail. */
static bool af_fail_now(void)
{
    if (!atomic_load(&af_armed))
        return false;
    long n = atomic_fetch_add(&af_count, 1) + 1;
    if (n == af_fail_at) {
        atomic_store(&af_failed, true);
        af_nwhere = backtrace(af_where, 32);
        return true;
    }
    return false;
}

/* Under a failed check: the stack of the failed allocation. */
static void af_show_where(void)
{
    print_error("  the failed allocation was asked for at:\n");
    backtrace_symbols_fd(af_where, af_nwhere, STDERR_FILENO);
}

void *malloc(size_t n)
{
    if (af_fail_now())
        return NULL;
    void *p = __libc_malloc(n);
    af_track(p, __builtin_return_address(0));
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (af_fail_now())
        return NULL;
    void *p = __libc_calloc(n, size);
    af_track(p, __builtin_return_address(0));
    return p;
}

void *realloc(void *old, size_t n)
{
    if (old && n == 0) {
        af_untrack(old);
        return __libc_realloc(old, n);
    }
    if (af_fail_now())
        return NULL;
    void *p = __libc_realloc(old, n);
    if (p) {
        af_untrack(old);
        af_track(p, __builtin_return_address(0));
    }
    return p;
}

void free(void *p)
{
    af_untrack(p);
    __libc_free(p);
}

static void af_track_begin(void)
{
    memset(af_slots, 0, AF_SLOTS * sizeof(*af_slots));
    af_live = 0;
    atomic_store(&af_tracking, true);
}

static long af_track_end(void)
{
    atomic_store(&af_tracking, false);
    return af_live;
}

/* Where the blocks still live were allocated (resolve with addr2line -f
 * -e test_allocfail, minus the load address printed). */
static void af_report(void)
{
    extern char __executable_start;
    for (size_t i = 0; i < AF_SLOTS; i++)
        if (af_slots[i] && af_slots[i] != AF_TOMB)
            print_error(
                "  live block allocated at %p (offset %#lx)\n", af_caller[i],
                (unsigned long)((char *)af_caller[i] - &__executable_start));
}

static void af_arm(long fail_at)
{
    af_fail_at = fail_at;
    atomic_store(&af_count, 0);
    atomic_store(&af_failed, false);
    atomic_store(&af_armed, true);
}

static void af_disarm(void)
{
    atomic_store(&af_armed, false);
}

/* ---- the loop ------------------------------------------------------------ */

typedef struct fixture {
    char *root;
    char town[4096];
    char bundle[4096];
    const char *jsonl;
} fixture;

/* rm -rf to && cp -R from to */
static void copy_dir(const char *from, const char *to)
{
    char cmd[3 * 4200 + 64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -R '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

/* The township as it was before the operation under test. */
static void restore(const fixture *fx)
{
    char pristine[4200];
    snprintf(pristine, sizeof(pristine), "%s.pristine", fx->town);
    copy_dir(pristine, fx->town);
}

typedef enum op_kind { OP_PUT, OP_IMPORT, OP_BUNDLE } op_kind;

static int run_op(op_kind kind, pg_node *node, const fixture *fx, FILE *in)
{
    char id[PG_RECORD_ID_LEN + 1];
    pg_bundle_report rep;
    switch (kind) {
    case OP_PUT:
        return fc_put(id, node, "楼道堆放杂物，消防通道不畅");
    case OP_IMPORT:
        return pg_record_import_jsonl(NULL, node, "hazard", in, 64, FC_OP, NULL,
                                      NULL);
    case OP_BUNDLE:
        return pg_bundle_import(node, fx->bundle, &rep);
    }
    return PG_ERROR;
}

static int64_t count_hazards(const char *dir, const char *like)
{
    char path[4096], sql[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    testutil_path(path, sizeof(path), dir, "store.db");
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM hazard WHERE id LIKE '%s'",
             like);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* What an operation leaves besides the records, as a clean run leaves it:
 * the log's size and last seq, every peer's cursors and the audit trail's
 * last seq (read through a connection of its own). */
typedef struct outcome {
    int64_t nlog, maxseq, maxaudit;
    uint64_t cursors; /* digest of (code, sent, acked, received) per peer */
} outcome;

static int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static outcome outcome_of(const char *dir)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    outcome o = {0, 0, 0, 14695981039346656037ULL};
    testutil_path(path, sizeof(path), dir, "store.db");
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    o.nlog = sql_int(db, "SELECT count(*) FROM log");
    o.maxseq = sql_int(db, "SELECT coalesce(max(seq), 0) FROM log");
    o.maxaudit = sql_int(db, "SELECT coalesce(max(seq), 0) FROM audit");
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT code, sent_upto, acked_upto, "
                                        "received_upto FROM peer ORDER BY code",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        o.cursors = fc_fnv(o.cursors, code, strlen(code) + 1);
        for (int i = 1; i < 4; i++) {
            int64_t v = sqlite3_column_int64(st, i);
            o.cursors = fc_fnv(o.cursors, &v, sizeof(v));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return o;
}

static void assert_outcome(const char *what, long n, const char *how,
                           outcome got, outcome want)
{
    if (got.nlog != want.nlog || got.maxseq != want.maxseq ||
        got.maxaudit != want.maxaudit || got.cursors != want.cursors)
        print_error("%s: allocation %ld %s: log %lld txns (clean run %lld), "
                    "max seq %lld (%lld), audit seq %lld (%lld), peer "
                    "cursors %s\n",
                    what, n, how, (long long)got.nlog, (long long)want.nlog,
                    (long long)got.maxseq, (long long)want.maxseq,
                    (long long)got.maxaudit, (long long)want.maxaudit,
                    got.cursors == want.cursors ? "as in the clean run"
                                                : "differ from the clean run");
    assert_int_equal(got.nlog, want.nlog);
    assert_int_equal(got.maxseq, want.maxseq);
    assert_int_equal(got.maxaudit, want.maxaudit);
    assert_true(got.cursors == want.cursors);
}

/* Running out of memory is a runtime failure, never bad input. */
static void assert_nomem_error(const char *what, long n, int rc,
                               const char *message)
{
    if (rc != PG_ENOMEM && rc != PG_ERROR) {
        print_error("%s: allocation %ld failed and the result is %d (%s), "
                    "not PG_ENOMEM or PG_ERROR\n",
                    what, n, rc, message);
        af_show_where();
    }
    assert_true(rc == PG_ENOMEM || rc == PG_ERROR);
}

/* Fail allocation 1, 2, ... of the operation until it runs clean.
 * expect_new: hazards (matching like) the operation adds.  After each
 * failure the same handle, disarmed, must run the operation whole. */
static void fail_each(fixture *fx, op_kind kind, const char *what,
                      const char *like, int64_t expect_new)
{
    const char *s = getenv("ALLOCFAIL_STEP");
    long step = s && *s ? strtol(s, NULL, 10) : 1;
    const char *f = getenv("ALLOCFAIL_FROM");
    long from = f && *f ? strtol(f, NULL, 10) : 1;
    if (step < 1)
        step = 1;
    char pristine[4200];
    snprintf(pristine, sizeof(pristine), "%s.pristine", fx->town);
    copy_dir(fx->town, pristine);
    uint64_t before = fc_store_digest(fx->town);
    int64_t nbefore = count_hazards(fx->town, like);
    long failures = 0, absorbed = 0, nomem = 0;

    /* A clean run: what the operation leaves. */
    outcome clean;
    {
        pg_node *node = NULL;
        assert_pg_ok(pg_node_open(&node, fx->town));
        FILE *in = fopen(fx->jsonl, "r");
        assert_non_null(in);
        assert_pg_ok(run_op(kind, node, fx, in));
        fclose(in);
        pg_node_free(node);
        clean = outcome_of(fx->town);
        assert_int_equal(count_hazards(fx->town, like), nbefore + expect_new);
        restore(fx);
        assert_true(fc_store_digest(fx->town) == before);
    }

    for (long n = from < 1 ? 1 : from;; n += step) {
        pg_node *node = NULL;
        af_track_begin();
        assert_pg_ok(pg_node_open(&node, fx->town));
        pg_error_clear();
        FILE *in = fopen(fx->jsonl, "r");
        assert_non_null(in);
        af_arm(n);
        int rc = run_op(kind, node, fx, in);
        af_disarm();
        fclose(in);
        bool failed = atomic_load(&af_failed);
        pg_error msg = *pg_error_last();
        bool unchanged = true;
        int again = 0;
        if (rc < 0) {
            /* The store as before, then the same handle (out of memory
             * once) runs the operation whole. */
            unchanged = fc_store_digest(fx->town) == before;
            in = fopen(fx->jsonl, "r");
            assert_non_null(in);
            pg_error_clear();
            again = run_op(kind, node, fx, in);
            fclose(in);
            if (again != 0)
                print_error("%s: allocation %ld failed (rc %d, %s); run again "
                            "on the same handle: %d, %s\n",
                            what, n, rc, msg.message, again,
                            pg_error_last()->message);
        }
        pg_node_free(node);
        long live = af_track_end();
        if (live != 0)
            print_error("%s: allocation %ld failed (rc %d, %s): %ld blocks "
                        "left allocated\n",
                        what, n, rc, msg.message, live);
        if (live != 0) {
            af_report();
            af_show_where();
        }
        assert_int_equal(live, 0);
        if (rc < 0) {
            assert_true(failed);
            assert_true(msg.message[0] != '\0');
            assert_null(strchr(msg.message, '\n'));
            assert_nomem_error(what, n, rc, msg.message);
            if (!unchanged) {
                print_error("%s: allocation %ld failed (rc %d, %s) and the "
                            "store changed\n",
                            what, n, rc, msg.message);
                af_show_where();
            }
            assert_true(unchanged);
            assert_int_equal(again, 0);
            assert_int_equal(count_hazards(fx->town, like),
                             nbefore + expect_new);
            assert_outcome(what, n, "failed, then run again",
                           outcome_of(fx->town), clean);
            fc_assert_intact(fx->town);
            restore(fx);
            assert_true(fc_store_digest(fx->town) == before);
            failures++;
            nomem += rc == PG_ENOMEM;
            continue;
        }
        /* Done: all of it is there. */
        if (count_hazards(fx->town, like) != nbefore + expect_new)
            print_error("%s: allocation %ld %s, rc 0, but %lld hazards of "
                        "%lld\n",
                        what, n, failed ? "failed" : "did not fail",
                        (long long)count_hazards(fx->town, like),
                        (long long)(nbefore + expect_new));
        assert_int_equal(count_hazards(fx->town, like), nbefore + expect_new);
        fc_assert_intact(fx->town);
        if (failed) {
            /* Absorbed (an allocation the library can do without): the
             * work is done, as a clean run does it; put the store back
             * and go on. */
            assert_outcome(what, n, "absorbed", outcome_of(fx->town), clean);
            absorbed++;
            restore(fx);
            assert_true(fc_store_digest(fx->town) == before);
            continue;
        }
        print_message("%s: %ld allocations, each failed in turn (every %ld): "
                      "%ld errors (%ld out of memory), %ld absorbed, leaks "
                      "none, store unchanged\n",
                      what, n - 1, step, failures, nomem, absorbed);
        assert_true(failures > 10);
        return;
    }
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->root = testutil_mkdtemp();
    fc_make_case(fx->town, fx->bundle, fx->root, 3);
    fx->jsonl = strdup(fc_jsonl(fx->root, 5));
    /* Warm up: what a process sets up once (SQLite, libsodium, the time
     * zone) is not a leak of the operation. */
    char warm[4096];
    testutil_path(warm, sizeof(warm), fx->root, "warm");
    copy_dir(fx->town, warm);
    pg_node *node = NULL;
    assert_pg_ok(pg_node_open(&node, warm));
    FILE *in = fopen(fx->jsonl, "r");
    assert_non_null(in);
    assert_pg_ok(run_op(OP_PUT, node, fx, in));
    assert_pg_ok(run_op(OP_IMPORT, node, fx, in));
    assert_pg_ok(run_op(OP_BUNDLE, node, fx, in));
    fclose(in);
    pg_node_free(node);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    testutil_rmtree(fx->root);
    free(fx->root);
    free((void *)fx->jsonl);
    free(fx);
    return 0;
}

static void test_allocfail__a_local_write(void **state)
{
    fail_each(*state, OP_PUT, "record put", FC_TOWN "-%", 1);
}

static void test_allocfail__a_jsonl_import(void **state)
{
    fail_each(*state, OP_IMPORT, "record import", FC_TOWN "-%", 5);
}

static void test_allocfail__a_bundle_import(void **state)
{
    fail_each(*state, OP_BUNDLE, "bundle import", FC_COUNTY "-%", 3);
}

int main(void)
{
    af_slots = __libc_calloc(AF_SLOTS, sizeof(*af_slots));
    af_caller = __libc_calloc(AF_SLOTS, sizeof(*af_caller));
    if (!af_slots || !af_caller)
        return 1;
    af_nwhere = backtrace(af_where, 32); /* loads what backtrace needs */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocfail__a_local_write),
        cmocka_unit_test(test_allocfail__a_jsonl_import),
        cmocka_unit_test(test_allocfail__a_bundle_import),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

#else

int main(void)
{
    printf("skipped: AddressSanitizer owns malloc and free, so this test "
           "cannot replace them to fail the Nth allocation; the release "
           "build runs it\n");
    return 77;
}

#endif
