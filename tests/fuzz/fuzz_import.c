/*
 * fuzz_import: JSON-lines import (node/import.c): each line parsed for
 * its collection (pg_parsed_from_json) and added to a bulk write
 * (pg_import_add, which checks the record rules and writes txns as
 * batches fill).  A node (湘潭市) is made once in a temporary directory;
 * the import is never committed (pg_import_free rolls it back), so every
 * run starts from the same store.
 *
 * Input: the collection's name on the first line, then JSON lines, as
 * `pingan record import COLLECTION FILE` reads them.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pingan/error.h"
#include "pingan/record.h"
#include "pingan/schema.h"

static pg_node *node;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[4200];
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/city", fuzz_tmpdir());
    if (pg_node_init(dir, FUZZ_RECIPIENT, "湘潭市") < 0 ||
        pg_node_open(&node, dir) < 0)
        fuzz_die("node");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *end = text + size;
    const char *nl = memchr(text, '\n', size);
    char coll_name[64];
    pg_import *imp = NULL;
    pg_parsed *parsed = calloc(1, sizeof(*parsed));

    if (!parsed)
        fuzz_die("out of memory");
    if (!nl || (size_t)(nl - text) >= sizeof(coll_name))
        goto done;
    memcpy(coll_name, text, (size_t)(nl - text));
    coll_name[nl - text] = '\0';
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), coll_name);
    if (!coll)
        goto done;
    /* Batches of 2: the txns of a few lines are written (and rolled
     * back). */
    if (pg_import_begin(&imp, node, coll_name, 2, "fuzz") < 0)
        goto done;
    for (const char *p = nl + 1; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
        int rc = pg_parsed_from_json(parsed, coll, p, n);
        if (rc == 0)
            rc = pg_import_add(imp, parsed->values, parsed->n, NULL);
        pg_parsed_dispose(parsed);
        fuzz_note("line", rc);
        if (rc < 0)
            break;
        p += n + 1;
    }
done:
    pg_import_free(imp);
    free(parsed);
    pg_error_clear();
    return 0;
}
