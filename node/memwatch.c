/*
 * Allocations of the parsing libraries, watched: see memwatch.h.
 * json_set_alloc_funcs is process-wide, so it is set once; the flag is
 * per thread because parses run on several (libmicrohttpd's handlers, the
 * import's sealer).
 */
#include "memwatch.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

static _Thread_local bool memwatch_failed;
static pthread_once_t memwatch_once = PTHREAD_ONCE_INIT;

static void *memwatch_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        memwatch_failed = true;
    return p;
}

static void memwatch_free(void *p)
{
    free(p);
}

static void *memwatch_pb_alloc(void *data, size_t n)
{
    (void)data;
    return memwatch_malloc(n);
}

static void memwatch_pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

static ProtobufCAllocator memwatch_pb = {memwatch_pb_alloc, memwatch_pb_free,
                                         NULL};

static void memwatch_install(void)
{
    json_set_alloc_funcs(memwatch_malloc, memwatch_free);
}

void pg_memwatch__begin(void)
{
    pthread_once(&memwatch_once, memwatch_install);
    memwatch_failed = false;
}

bool pg_memwatch__failed(void)
{
    return memwatch_failed;
}

ProtobufCAllocator *pg_memwatch__protobuf(void)
{
    return &memwatch_pb;
}
