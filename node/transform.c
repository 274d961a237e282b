/*
 * Value transforms of link policies (DESIGN §6): mask, hash, generalize,
 * and the normalisation mask and hash start from.  The rules are in
 * include/pingan/policy.h; this file adds why.
 *
 * Normalisation comes first so that one person gets one pseudonym however
 * the value was typed: "+86 138-1234-5678" and "13812345678" are the same
 * phone, 43030285031212X and its 18-digit form the same ID number.  A
 * value that does not normalise (it should not happen: the writer checked
 * it) is not transformed at all, and the caller drops it: a malformed
 * value masked by position could reveal more than intended.
 *
 * Pseudonyms are keyed BLAKE2b-256 cut to 16 bytes: 128 bits keeps
 * collisions out of reach for any number of people, and 32 hex characters
 * fit every text field.  The message is the normalised value alone, with
 * no type tag, so a partner can reproduce it with any BLAKE2b library and
 * a phone number kept in a text field links to the same phone in a phone
 * field.
 *
 * Names are masked to the surname.  Compound surnames (复姓) are kept
 * whole: a list of the common ones, because masking 欧阳娜娜 to 欧*** would
 * show half a surname and hide nothing more.
 */
#include "pingan/policy.h"
#include "pingan/crypto.h"
#include "pingan/error.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_DAY     INT64_C(86400000)
#define CST_OFFSET_MS  (INT64_C(8) * 3600 * 1000)
#define NORMALIZED_MAX (PG_TEXT_MAX + 16)

static const char *const transform_names[] = {"keep", "drop", "mask", "hash",
                                              "generalize"};

const char *pg_transform_name(pg_transform t)
{
    if ((unsigned)t < sizeof(transform_names) / sizeof(transform_names[0]))
        return transform_names[t];
    return "?";
}

int pg_transform_from_name(pg_transform *out, const char *name)
{
    for (unsigned i = 0;
         i < sizeof(transform_names) / sizeof(transform_names[0]); i++) {
        if (name && strcmp(name, transform_names[i]) == 0) {
            *out = (pg_transform)i;
            return 0;
        }
    }
    return PG_EINVALID;
}

bool pg_transform_fits(pg_transform t, pg_type type)
{
    switch (t) {
    case PG_XF_KEEP:
    case PG_XF_DROP:
        return true;
    case PG_XF_MASK:
        return type == PG_TYPE_NAME || type == PG_TYPE_PHONE ||
               type == PG_TYPE_ID_NUMBER;
    case PG_XF_HASH:
        return type == PG_TYPE_NAME || type == PG_TYPE_PHONE ||
               type == PG_TYPE_ID_NUMBER || type == PG_TYPE_TEXT;
    case PG_XF_GENERALIZE:
        return type == PG_TYPE_TIME || type == PG_TYPE_ADDRESS;
    }
    return false;
}

/* ---- normalisation --------------------------------------------------- */

/* The check character of 17 digits (GB 11643, ISO 7064 MOD 11-2). */
static char transform_id_check(const char *digits17)
{
    static const unsigned weights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                         3, 7, 9,  10, 5, 8, 4, 2};
    unsigned sum = 0;
    for (size_t i = 0; i < 17; i++)
        sum += (unsigned)(digits17[i] - '0') * weights[i];
    return "10X98765432"[sum % 11];
}

static int transform_id_number(pg_buf *out, const char *s, size_t len)
{
    char id[19];
    size_t n = 0;
    char ex[PG_EXCERPT_SIZE];
    int error;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ')
            continue;
        if (n == 18)
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "ID number %s: expected 18 (or 15) "
                                "characters",
                                pg_excerpt(ex, s, len));
        id[n++] = c == 'x' ? 'X' : c;
    }
    if (n == 15) {
        /* A first-generation card (1984-2004): YYMMDD, always 19YY. */
        char old[15];
        memcpy(old, id, 15);
        for (size_t i = 0; i < 15; i++) {
            if (old[i] < '0' || old[i] > '9')
                return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                    "ID number %s: a 15-character number "
                                    "has only digits",
                                    pg_excerpt(ex, s, len));
        }
        memcpy(id, old, 6);
        memcpy(id + 6, "19", 2);
        memcpy(id + 8, old + 6, 9);
        id[17] = transform_id_check(id);
        n = 18;
    }
    if (n != 18)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "ID number %s: expected 18 (or 15) characters, "
                            "got %zu",
                            pg_excerpt(ex, s, len), n);
    if ((error = pg_id_number_check(id, 18)) < 0)
        return error;
    return pg_buf_put(out, id, 18);
}

static int transform_phone(pg_buf *out, const char *s, size_t len)
{
    char digits[16] = {0};
    size_t n = 0, i = 0;
    char ex[PG_EXCERPT_SIZE];
    int error;

    /* Separators first, so "+86 138..." and "0086-138..." both lose the
     * country code below. */
    for (; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '-')
            continue;
        if (n == sizeof(digits))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "phone number %s: too long",
                                pg_excerpt(ex, s, len));
        digits[n++] = c;
    }
    const char *p = digits;
    if (n >= 3 && memcmp(p, "+86", 3) == 0) {
        p += 3;
        n -= 3;
    } else if (n >= 4 && memcmp(p, "0086", 4) == 0) {
        p += 4;
        n -= 4;
    }
    if ((error = pg_phone_check(p, n)) < 0)
        return error;
    return pg_buf_put(out, p, n);
}

/* Bytes of the UTF-8 character starting with byte c (input is valid). */
static size_t transform_utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c < 0xe0)
        return 2;
    if (c < 0xf0)
        return 3;
    return 4;
}

/* A blank at s of the given length: U+0020 or the ideographic U+3000. */
static size_t transform_blank(const char *s, size_t len)
{
    if (len >= 1 && s[0] == ' ')
        return 1;
    if (len >= 3 && memcmp(s, "\xe3\x80\x80", 3) == 0)
        return 3;
    return 0;
}

static int transform_name(pg_buf *out, const char *s, size_t len)
{
    size_t b;

    if (!pg_utf8_valid(s, len))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "name is not valid UTF-8");
    while ((b = transform_blank(s, len)) > 0) {
        s += b;
        len -= b;
    }
    for (;;) {
        if (len >= 1 && s[len - 1] == ' ')
            len -= 1;
        else if (len >= 3 && memcmp(s + len - 3, "\xe3\x80\x80", 3) == 0)
            len -= 3;
        else
            break;
    }
    if (len == 0)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID, "name is empty");
    return pg_buf_put(out, s, len);
}

int pg_transform_normalize(pg_buf *out, pg_type type, const char *s, size_t len)
{
    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(s || len == 0);

    pg_buf_clear(out);
    if (!s)
        s = "";
    switch (type) {
    case PG_TYPE_ID_NUMBER:
        return transform_id_number(out, s, len);
    case PG_TYPE_PHONE:
        return transform_phone(out, s, len);
    case PG_TYPE_NAME:
        return transform_name(out, s, len);
    default:
        if (!pg_utf8_valid(s, len))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "text is not valid UTF-8");
        return pg_buf_put(out, s, len);
    }
}

/* ---- mask -------------------------------------------------------------- */

/* Common compound surnames (复姓), kept whole by the mask. */
static const char *const compound_surnames[] = {
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙",
    "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木",
    "独孤", "南宫", "西门", "百里", "呼延", "申屠", "澹台", "公冶",
    "太史", "钟离", "闻人", "赫连", "万俟", "濮阳", "淳于", "拓跋",
    "东郭", "司空", "仲孙", "左丘", "公羊", "谷梁", "亓官", "司寇",
    "颛孙", "壤驷", "公良", "漆雕", "乐正", "宰父", "巫马", "公西",
    "梁丘", "公伯", "段干", "羊舌", "微生", "东门", "鲜于", "闾丘",
};

static int transform_mask_name(pg_buf *out, const char *s, size_t len)
{
    size_t chars = 0, keep_bytes, keep_chars = 1;

    for (size_t i = 0; i < len; i += transform_utf8_len((unsigned char)s[i]))
        chars++;
    keep_bytes = transform_utf8_len((unsigned char)s[0]);
    if (chars >= 3) {
        for (size_t i = 0;
             i < sizeof(compound_surnames) / sizeof(compound_surnames[0]);
             i++) {
            size_t n = strlen(compound_surnames[i]);
            if (len > n && memcmp(s, compound_surnames[i], n) == 0) {
                keep_bytes = n;
                keep_chars = 2;
                break;
            }
        }
    }
    int error = pg_buf_put(out, s, keep_bytes);
    for (size_t i = keep_chars; !error && i < chars; i++)
        error = pg_buf_putc(out, '*');
    return error;
}

static int transform_mask(pg_buf *out, pg_type type, const char *s, size_t len)
{
    pg_buf norm;
    int error;

    pg_buf_init(&norm, NORMALIZED_MAX);
    if ((error = pg_transform_normalize(&norm, type, s, len)) < 0)
        goto done;
    const char *n = (const char *)norm.data;
    pg_buf_clear(out);
    switch (type) {
    case PG_TYPE_ID_NUMBER: /* 430302********1234 */
        if ((error = pg_buf_put(out, n, 6)) < 0 ||
            (error = pg_buf_puts(out, "********")) < 0)
            goto done;
        error = pg_buf_put(out, n + 14, 4);
        break;
    case PG_TYPE_PHONE: /* 138****5678 */
        if ((error = pg_buf_put(out, n, 3)) < 0 ||
            (error = pg_buf_puts(out, "****")) < 0)
            goto done;
        error = pg_buf_put(out, n + 7, 4);
        break;
    case PG_TYPE_NAME:
        error = transform_mask_name(out, n, norm.len);
        break;
    default:
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "mask applies to name, phone and id_number "
                             "values, not %s",
                             pg_type_name(type));
    }

done:
    pg_buf_dispose(&norm);
    return error;
}

/* ---- hash -------------------------------------------------------------- */

int pg_transform_pseudonym(pg_buf *out, pg_type type, const char *s, size_t len,
                           const uint8_t key[PG_PSEUDONYM_KEY_LEN])
{
    uint8_t h[32];
    char hex[PG_PSEUDONYM_HEX_LEN + 1];
    pg_buf norm;
    int error;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(key);
    if (!pg_transform_fits(PG_XF_HASH, type))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "hash applies to id_number, phone, name and text "
                            "values, not %s",
                            pg_type_name(type));
    pg_buf_init(&norm, NORMALIZED_MAX);
    if ((error = pg_transform_normalize(&norm, type, s, len)) == 0) {
        pg_blake2b_keyed(h, sizeof(h), norm.data, norm.len, key,
                         PG_PSEUDONYM_KEY_LEN);
        pg_hex(hex, h, PG_PSEUDONYM_HEX_LEN / 2);
        pg_buf_clear(out);
        error = pg_buf_put(out, hex, PG_PSEUDONYM_HEX_LEN);
    }
    /* The normalised value is personal information: do not leave it in
     * freed memory. */
    if (norm.data)
        pg_memzero(norm.data, norm.cap);
    pg_buf_dispose(&norm);
    return error;
}

/* ---- generalize -------------------------------------------------------- */

/* The year in China Standard Time of ms since the epoch. */
static int64_t transform_cst_year(int64_t ms)
{
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY, year;
    unsigned month, day;

    if (rem < 0) {
        rem += MS_PER_DAY;
        days -= 1;
    }
    if (rem + CST_OFFSET_MS >= MS_PER_DAY)
        days += 1;
    pg_civil_from_days(days, &year, &month, &day);
    return year;
}

/* ---- one value ----------------------------------------------------------- */

int pg_transform_value(pg_buf *out, pg_transform t, const pg_field *f,
                       const pg_value *v, const char *division,
                       const uint8_t key[PG_PSEUDONYM_KEY_LEN])
{
    pg_buf tmp;
    int error = 0;

    PG_ASSERT_ARG(out);
    PG_ASSERT_ARG(f);
    PG_ASSERT_ARG(v);

    pg_buf_clear(out);
    if (t != PG_XF_MASK && t != PG_XF_HASH && t != PG_XF_GENERALIZE)
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: %s has no derived text", f->name,
                            pg_transform_name(t));
    if (!pg_transform_fits(t, f->type))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: %s does not apply to %s values", f->name,
                            pg_transform_name(t), pg_type_name(f->type));
    if (v->kind == PG_VALUE_ABSENT || v->kind != pg_type_kind(f->type))
        return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                            "field %s: %s needs a %s value", f->name,
                            pg_transform_name(t), pg_type_name(f->type));

    if (t == PG_XF_GENERALIZE) {
        if (f->type == PG_TYPE_TIME) {
            char year[24];
            snprintf(year, sizeof(year), "%lld",
                     (long long)transform_cst_year(v->i));
            return pg_buf_puts(out, year);
        }
        if (!division || !pg_division_valid(division))
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                "field %s: generalize needs the record's "
                                "12-digit division",
                                f->name);
        return pg_buf_put(out, division, PG_CODE_LEN);
    }

    /* The messages of normalisation name the value; these name only the
     * field, since redaction runs unattended and its errors are logged. */
    pg_buf_init(&tmp, out->max);
    if (t == PG_XF_HASH) {
        if (!key) {
            error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                                 "field %s: hash needs the link's pseudonym "
                                 "key",
                                 f->name);
            goto done;
        }
        error = pg_transform_pseudonym(&tmp, f->type, v->s, v->len, key);
    } else {
        error = transform_mask(&tmp, f->type, v->s, v->len);
    }
    if (error == PG_EINVALID) {
        error = pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,
                             "field %s: the value does not normalise as %s; "
                             "it is dropped",
                             f->name, pg_type_name(f->type));
        goto done;
    }
    if (error == 0)
        error = pg_buf_put(out, tmp.data, tmp.len);

done:
    pg_buf_dispose(&tmp);
    if (error < 0)
        pg_buf_clear(out);
    return error;
}
