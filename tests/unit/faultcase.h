/*
 * The small cases the fault tests share (tests/unit/test_faults.c for a
 * full disk, tests/unit/alloc/test_allocfail.c for failed allocations):
 * a county and its township 石潭镇 pinned to each other, a bundle from the
 * county, a hazard written locally, a few records imported as JSON lines,
 * and a digest of a whole store to tell "exactly as before".
 *
 * Header-only (static functions) because the allocation test is its own
 * executable, outside the unit-test glob.
 */
#ifndef PINGAN_TEST_FAULTCASE_H
#define PINGAN_TEST_FAULTCASE_H

#include "testutil.h"

#include "pingan/exchange.h"
#include "pingan/node.h"
#include "pingan/record.h"

#include "node_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FC_COUNTY  "430321000000" /* 湘潭县 */
#define FC_TOWN    "430321112000" /* 石潭镇 */
#define FC_VILLAGE "430321112005" /* 列家桥煤矿居委会 */
#define FC_OP      "测试员"

static inline uint64_t fc_fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Every row of every table of the store at dir, in a stable order, read
 * through a connection of its own (not the node's). */
static inline uint64_t fc_store_digest(const char *dir)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *tables = NULL;
    uint64_t h = 14695981039346656037ULL;

    testutil_path(path, sizeof(path), dir, "store.db");
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name FROM sqlite_master WHERE "
                                        "type = 'table' ORDER BY name",
                                        -1, &tables, NULL),
                     SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        char sql[256];
        sqlite3_stmt *st = NULL;
        h = fc_fnv(h, name, strlen(name) + 1);
        snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1, 2", name);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            /* A table of one column. */
            snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1", name);
            assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
                             SQLITE_OK);
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                int type = sqlite3_column_type(st, i);
                const void *v = sqlite3_column_blob(st, i);
                int n = sqlite3_column_bytes(st, i);
                h = fc_fnv(h, &type, sizeof(type));
                if (v && n > 0)
                    h = fc_fnv(h, v, (size_t)n);
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return h;
}

/* PRAGMA integrity_check says ok. */
static inline void fc_assert_intact(const char *dir)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    testutil_path(path, sizeof(path), dir, "store.db");
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A hazard in 列家桥煤矿居委会; the pg result, not asserted. */
static inline int fc_put(char id[PG_RECORD_ID_LEN + 1], pg_node *node,
                         const char *description)
{
    pg_field_value v[] = {
        {"division", test_text(FC_VILLAGE)},
        {"category", test_text("公共安全风险")},
        {"description", test_text(description)},
    };
    return pg_record_put(id, node, "hazard", NULL, v, 3, FC_OP);
}

/* n hazards as JSON lines in a file under root; returns its path (static). */
static inline const char *fc_jsonl(const char *root, size_t n)
{
    static char path[4096];
    testutil_path(path, sizeof(path), root, "hazards.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "{\"division\": \"%s\", \"category\": \"公共安全风险\", "
                "\"level\": \"一般\", \"description\": \"第%zu号隐患："
                "楼道堆放杂物，消防通道不畅，已督促清理\"}\n",
                FC_VILLAGE, i);
    assert_int_equal(fclose(f), 0);
    return path;
}

static inline int fc_import_jsonl(pg_node *node, const char *path)
{
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    int rc =
        pg_record_import_jsonl(NULL, node, "hazard", in, 64, FC_OP, NULL, NULL);
    fclose(in);
    return rc;
}

static inline int fc_on_export(const pg_export_file *file, void *payload)
{
    (void)file;
    (void)payload;
    return 0;
}

/* Under root: a county and its township pinned to each other, the county
 * holding nrec hazards for the township, exported to root/county.pgb.  The
 * township's directory goes to town_dir; the county is closed. */
static inline void fc_make_case(char town_dir[4096], char bundle[4096],
                                const char *root, size_t nrec)
{
    char county_dir[4096];
    pg_node *county =
        test_make_node(county_dir, root, "county", FC_COUNTY, "湘潭县");
    pg_node *town = test_make_node(town_dir, root, "town", FC_TOWN, "石潭镇");
    char *cc = pg_card_to_json(pg_node_card(county));
    char *tc = pg_card_to_json(pg_node_card(town));
    assert_non_null(cc);
    assert_non_null(tc);
    test_pin(county, tc, PG_PEER_CHILD);
    test_pin(town, cc, PG_PEER_PARENT);
    free(cc);
    free(tc);
    for (size_t i = 0; i < nrec; i++) {
        char id[PG_RECORD_ID_LEN + 1], d[64];
        snprintf(d, sizeof(d), "县里发现的第%zu号隐患", i);
        assert_pg_ok(fc_put(id, county, d));
    }
    testutil_path(bundle, 4096, root, "county.pgb");
    pg_export_opts o = {.to = FC_TOWN, .out = bundle};
    assert_pg_ok(pg_bundle_export(county, &o, fc_on_export, NULL));
    pg_node_free(county);
    pg_node_free(town);
}

#endif
