/*
 * Thread-local last error.  libmicrohttpd may run request handlers on
 * several threads, so the message cannot be a plain global.
 */
#include "pingan/error.h"
#include "error_internal.h"
#include "i18n_internal.h"

#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local pg_error last_error;

/* The last pg_error__oserr() of the thread, for its message's
 * localized copy (format_pair). */
static _Thread_local struct {
    int err;
    bool set;
    char en[128];
} os_text;

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

const char *pg_error__oserr(int err)
{
    pthread_once(&c_locale_once, c_locale_init);
    /* Without a C locale object (no memory for it): the process's text,
     * English unless the program set a locale. */
    if (c_locale)
        snprintf(os_text.en, sizeof(os_text.en), "%s",
                 strerror_l(err, c_locale));
    else if (strerror_r(err, os_text.en, sizeof(os_text.en)) != 0)
        snprintf(os_text.en, sizeof(os_text.en), "error %d", err);
    os_text.err = err;
    os_text.set = true;
    return os_text.en;
}

/* In a localized message, the English OS reason pg_error__oserr() gave
 * becomes the C library's text in the locale's language. */
static void localize_oserr(char *loc, size_t cap)
{
    if (!os_text.set)
        return;
    os_text.set = false;
    char local[128];
    if (strerror_r(os_text.err, local, sizeof(local)) != 0 ||
        strcmp(local, os_text.en) == 0)
        return;
    char *at = NULL;
    for (char *p = strstr(loc, os_text.en); p; p = strstr(p + 1, os_text.en))
        at = p;
    if (!at)
        return;
    size_t head = (size_t)(at - loc), old = strlen(os_text.en);
    char tail[sizeof(last_error.localized)];
    snprintf(tail, sizeof(tail), "%s", at + old);
    snprintf(at, cap - head, "%s%s", local, tail);
    pg_error__clean_text(loc, true);
}

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

/* The length of the printf conversion at s (s[0] == '%'), through its
 * conversion character; 0 when it does not end. */
static size_t directive_len(const char *s)
{
    size_t i = 1;
    while (s[i] && !strchr("diouxXeEfFgGaAcspn%", s[i]))
        i++;
    return s[i] ? i + 1 : 0;
}

/*
 * Whether two formats hold the same conversions in the same order, so
 * either may be given the same arguments.  msgfmt --check ensures it for
 * the catalogs built here; a catalog from elsewhere is checked anyway,
 * and one that differs is not used.
 */
static bool same_directives(const char *a, const char *b)
{
    for (;;) {
        size_t la = 0, lb = 0;
        while ((a = strchr(a, '%')) && (la = directive_len(a)) &&
               a[la - 1] == '%')
            a += la;
        while ((b = strchr(b, '%')) && (lb = directive_len(b)) &&
               b[lb - 1] == '%')
            b += lb;
        if (!a || !b)
            return !a && !b;
        if (la == 0 || la != lb || memcmp(a, b, la) != 0)
            return false;
        a += la;
        b += lb;
    }
}

/* The format to localize @p fmt with: its translation, or itself. */
static const char *translated(const char *fmt)
{
    if (!fmt[0])
        return fmt; /* "" would give the catalog's header */
    const char *tr = PG_(fmt);
    return tr != fmt && same_directives(fmt, tr) ? tr : fmt;
}

/*
 * The formats below are a caller's literal format or its catalog
 * translation, used only when it holds the same directives in the same
 * order (same_directives), or a prefix of such a translation: never text
 * from outside.  clang cannot see that through the look-up.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* vsnprintf into out, made one line of UTF-8 (see pg_error_set). */
static void format_clean(char *out, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(out, cap, fmt, ap);
    if (n < 0)
        out[0] = 0;
    pg_error__clean_text(out, n >= (int)cap);
}

/* Format @p fmt in both languages; with @p inner, the localized text holds
 * inner's localized text at fmt's last directive (pg_error__wrap). */
static void format_pair(char *en, char *loc, size_t cap,
                        const pg_error__text *inner, const char *fmt,
                        va_list ap)
{
    va_list ap2;
    const char *tr = translated(fmt);

    va_copy(ap2, ap);
    format_clean(en, cap, fmt, ap);
    const char *last = NULL;
    if (inner)
        for (const char *p = strchr(tr, '%'); p; p = strchr(p, '%')) {
            size_t len = directive_len(p);
            if (!len)
                break;
            if (p[len - 1] != '%')
                last = p;
            p += len;
        }
    if (tr == fmt && !inner) {
        memcpy(loc, en, cap);
    } else if (!last || strncmp(last, "%s", 2) != 0) {
        format_clean(loc, cap, tr, ap2);
    } else {
        /* The translation up to inner, inner, and the rest (no
         * conversion but "%%" there). */
        char head[sizeof(((pg_error *)0)->localized)];
        size_t hl = (size_t)(last - tr);
        if (hl >= sizeof(head))
            hl = sizeof(head) - 1;
        memcpy(head, tr, hl);
        head[hl] = 0;
        int n = vsnprintf(loc, cap, head, ap2);
        size_t at = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
        bool cut = n >= (int)cap;
        for (const char *q = inner->loc; *q && at + 1 < cap; q++)
            loc[at++] = *q;
        for (const char *q = last + 2; *q && at + 1 < cap; q++) {
            loc[at++] = *q;
            if (q[0] == '%' && q[1] == '%')
                q++;
        }
        loc[at] = 0;
        pg_error__clean_text(loc, cut || at + 1 >= cap);
    }
    va_end(ap2);
    localize_oserr(loc, cap);
}

#pragma GCC diagnostic pop

int pg_error__vset(int code, pg_error_class klass, const char *fmt, va_list ap)
{
    last_error.code = code;
    last_error.klass = klass;
    /* One line of UTF-8, whatever the values named hold (a SQLite message
     * quoting a damaged file, a field from a peer) and wherever the
     * buffer's end cut it: the message goes into JSON too. */
    format_pair(last_error.message, last_error.localized,
                sizeof(last_error.message), NULL, fmt, ap);
    return code;
}

int pg_error_set(int code, pg_error_class klass, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pg_error__vset(code, klass, fmt, ap);
    va_end(ap);
    return code;
}

void pg_error__vtextf(pg_error__text *out, const char *fmt, va_list ap)
{
    format_pair(out->en, out->loc, sizeof(out->en), NULL, fmt, ap);
}

void pg_error__textf(pg_error__text *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pg_error__vtextf(out, fmt, ap);
    va_end(ap);
}

void pg_error__text_word(pg_error__text *out, const char *word)
{
    snprintf(out->en, sizeof(out->en), "%s", word);
    snprintf(out->loc, sizeof(out->loc), "%s", word[0] ? PG_(word) : word);
}

void pg_error__text_last(pg_error__text *out)
{
    memcpy(out->en, last_error.message, sizeof(out->en));
    memcpy(out->loc, last_error.localized, sizeof(out->loc));
}

int pg_error__set_text(int code, pg_error_class klass,
                       const pg_error__text *text)
{
    last_error.code = code;
    last_error.klass = klass;
    memcpy(last_error.message, text->en, sizeof(last_error.message));
    memcpy(last_error.localized, text->loc, sizeof(last_error.localized));
    return code;
}

int pg_error__wrap(int code, pg_error_class klass, const pg_error__text *inner,
                   const char *fmt, ...)
{
    va_list ap;
    /* inner may be a copy of the last error, or point into it. */
    pg_error__text in = *inner;

    last_error.code = code;
    last_error.klass = klass;
    va_start(ap, fmt);
    format_pair(last_error.message, last_error.localized,
                sizeof(last_error.message), &in, fmt, ap);
    va_end(ap);
    return code;
}

int pg_error__restore(const pg_error *saved)
{
    last_error = *saved;
    return saved->code;
}

const pg_error *pg_error_last(void)
{
    return &last_error;
}

const char *pg_error_last_localized(void)
{
    return last_error.localized[0] ? last_error.localized : last_error.message;
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
