/*
 * Thread-local last error.  libmicrohttpd may run request handlers on
 * several threads, so the message cannot be a plain global.
 */
#include "pingan/error.h"
#include "error_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local pg_error last_error;

/* The length of the UTF-8 character at s (at most n bytes there), or 0
 * when the bytes there are not one (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void pg_error__clean_text(char *s, bool truncated)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t len = utf8_char((const unsigned char *)s + i, n - i);
        if (len == 0 && truncated && n - i < 4 && (unsigned char)s[i] >= 0xc2) {
            s[i] = 0; /* a character cut by the end of the buffer */
            break;
        }
        if (len == 0) {
            s[i++] = '?';
        } else if (len == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)) {
            s[i++] = '?';
        } else {
            i += len;
        }
    }
}

int pg_error_set(int code, pg_error_class klass, const char *fmt, ...)
{
    va_list ap;

    last_error.code = code;
    last_error.klass = klass;
    va_start(ap, fmt);
    int n = vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    va_end(ap);
    /* One line of UTF-8, whatever the values named hold (a SQLite message
     * quoting a damaged file, a field from a peer) and wherever the
     * buffer's end cut it: the message goes into JSON too. */
    pg_error__clean_text(last_error.message,
                         n >= (int)sizeof(last_error.message));
    return code;
}

const pg_error *pg_error_last(void)
{
    return &last_error;
}

void pg_error_clear(void)
{
    memset(&last_error, 0, sizeof(last_error));
}

const char *pg_error_name(int code)
{
    switch (code) {
    case PG_OK:
        return "ok";
    case PG_ENOTFOUND:
        return "not found";
    case PG_EEXISTS:
        return "already exists";
    case PG_EINVALID:
        return "invalid input";
    case PG_EAUTH:
        return "authentication failed";
    case PG_EPOLICY:
        return "not permitted";
    case PG_ECONFLICT:
        return "conflict";
    case PG_EBUSY:
        return "busy";
    case PG_ECORRUPT:
        return "corrupt";
    case PG_ELIMIT:
        return "limit exceeded";
    case PG_ENOMEM:
        return "out of memory";
    case PG_EUPGRADE:
        return "upgrade needed";
    case PG_ENET:
        return "network failure";
    default:
        return "error";
    }
}

int pg_error_exit_code(int code)
{
    switch (code) {
    case PG_OK:
        return 0;
    case PG_EINVALID:
    case PG_EEXISTS:
    case PG_ENOTFOUND:
    case PG_EPOLICY:
    case PG_EAUTH:
    case PG_ELIMIT:
    case PG_EUPGRADE:
        return 2;
    default:
        return 1;
    }
}
