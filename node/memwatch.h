/*
 * Allocations of the parsing libraries, watched (internal: node/ and
 * sync/).  jansson reports an allocation that failed inside its parser as
 * a syntax error ("string or '}' expected"), a missing value or no message
 * at all, and protobuf-c's unpack returns NULL as for bad bytes: a parse
 * that failed for want of memory would then blame the input -- refuse a
 * good bundle, call a stored card damaged.  pg_memwatch__begin() before a
 * parse and pg_memwatch__failed() after it tell the two apart, per
 * thread.
 */
#ifndef PINGAN_NODE_MEMWATCH_H
#define PINGAN_NODE_MEMWATCH_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

/* Route jansson's allocations through the watch (once per process) and
 * forget this thread's earlier failures. */
void pg_memwatch__begin(void);

/* An allocation watched failed on this thread since the last begin. */
bool pg_memwatch__failed(void);

/* The allocator to give protobuf-c's unpack (plain malloc and free, so
 * free_unpacked may be given NULL). */
ProtobufCAllocator *pg_memwatch__protobuf(void);

#endif
