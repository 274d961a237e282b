/**
 * @file pingan/buf.h
 * @brief A growable byte buffer with a hard maximum size.
 *
 * Every buffer that may hold bytes from outside has a maximum fixed when it
 * is initialised; growing past it fails with PG_ELIMIT instead of
 * allocating.  The contents are always NUL-terminated (not counted in len)
 * so text can be used directly.
 */
#ifndef PINGAN_BUF_H
#define PINGAN_BUF_H

#include <stddef.h>
#include <stdint.h>

/** A growable buffer. */
typedef struct pg_buf {
    uint8_t *data; /**< the bytes, NUL-terminated; NULL when empty */
    size_t len;    /**< bytes in use */
    size_t cap;    /**< bytes allocated */
    size_t max;    /**< hard limit on len */
} pg_buf;

/** Default limit for buffers with no more specific limit: 64 MiB. */
#define PG_BUF_DEFAULT_MAX ((size_t)64 << 20)

/** An empty buffer with the default maximum. */
#define PG_BUF_INIT                                                            \
    {                                                                          \
        NULL, 0, 0, PG_BUF_DEFAULT_MAX                                         \
    }

/** Initialise an empty buffer that may grow to @p max bytes. */
void pg_buf_init(pg_buf *buf, size_t max);

/**
 * Make room for @p extra more bytes.
 *
 * @return 0, PG_ELIMIT past the maximum, or PG_ENOMEM
 */
int pg_buf_reserve(pg_buf *buf, size_t extra);

/** Append bytes.  @return 0, PG_ELIMIT or PG_ENOMEM */
int pg_buf_put(pg_buf *buf, const void *data, size_t len);

/** Append one byte.  @return 0, PG_ELIMIT or PG_ENOMEM */
int pg_buf_putc(pg_buf *buf, uint8_t c);

/** Append a NUL-terminated string.  @return 0, PG_ELIMIT or PG_ENOMEM */
int pg_buf_puts(pg_buf *buf, const char *s);

/** Append formatted text.  @return 0, PG_ELIMIT or PG_ENOMEM */
int pg_buf_printf(pg_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Append a big-endian u32.  @return 0, PG_ELIMIT or PG_ENOMEM */
int pg_buf_put_u32be(pg_buf *buf, uint32_t v);

/** Append a big-endian u64.  @return 0, PG_ELIMIT or PG_ENOMEM */
int pg_buf_put_u64be(pg_buf *buf, uint64_t v);

/** Forget the contents but keep the allocation. */
void pg_buf_clear(pg_buf *buf);

/**
 * Take the bytes out of the buffer; the buffer becomes empty.
 *
 * @return the bytes (NUL-terminated); the caller frees them with free()
 */
uint8_t *pg_buf_detach(pg_buf *buf, size_t *len);

/** Release the buffer's memory.  NULL-safe. */
void pg_buf_dispose(pg_buf *buf);

#endif
