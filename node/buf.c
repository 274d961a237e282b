/*
 * pg_buf: the one place that grows memory with realloc.  The maximum is
 * checked before every allocation, so a length read from a hostile bundle
 * can never make us allocate more than the caller allowed.
 */
#include "pingan/buf.h"
#include "pingan/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_buf_init(pg_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

int pg_buf_reserve(pg_buf *buf, size_t extra)
{
    if (extra > buf->max || buf->len > buf->max - extra)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_NOMEMORY,
                            "buffer would exceed its limit of %zu bytes",
                            buf->max);
    size_t need = buf->len + extra + 1; /* room for the NUL */
    if (need <= buf->cap)
        return 0;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(buf->data, cap);
    if (!p)
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY,
                            "out of memory growing a buffer to %zu bytes", cap);
    buf->data = p;
    buf->cap = cap;
    return 0;
}

int pg_buf_put(pg_buf *buf, const void *data, size_t len)
{
    int error;

    if ((error = pg_buf_reserve(buf, len)) < 0)
        return error;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = 0;
    return 0;
}

int pg_buf_putc(pg_buf *buf, uint8_t c)
{
    return pg_buf_put(buf, &c, 1);
}

int pg_buf_puts(pg_buf *buf, const char *s)
{
    return pg_buf_put(buf, s, strlen(s));
}

int pg_buf_printf(pg_buf *buf, const char *fmt, ...)
{
    va_list ap;
    int error, n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pg_error_set(PG_ERROR, PG_ERRCLASS_INVALID, "bad format");
    if ((error = pg_buf_reserve(buf, (size_t)n)) < 0)
        return error;
    va_start(ap, fmt);
    vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}

int pg_buf_put_u32be(pg_buf *buf, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    return pg_buf_put(buf, b, 4);
}

int pg_buf_put_u64be(pg_buf *buf, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    return pg_buf_put(buf, b, 8);
}

void pg_buf_clear(pg_buf *buf)
{
    buf->len = 0;
    if (buf->data)
        buf->data[0] = 0;
}

uint8_t *pg_buf_detach(pg_buf *buf, size_t *len)
{
    uint8_t *p = buf->data;
    if (len)
        *len = buf->len;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return p;
}

void pg_buf_dispose(pg_buf *buf)
{
    if (!buf)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
