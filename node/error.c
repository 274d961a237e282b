/*
 * Thread-local last error.  libmicrohttpd may run request handlers on
 * several threads, so the message cannot be a plain global.
 */
#include "pingan/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local pg_error last_error;

int pg_error_set(int code, pg_error_class klass, const char *fmt, ...)
{
    va_list ap;

    last_error.code = code;
    last_error.klass = klass;
    va_start(ap, fmt);
    vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    va_end(ap);
    /* One line, whatever the values named hold (a SQLite message quoting
     * a damaged file, a field from a peer). */
    for (char *c = last_error.message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
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
