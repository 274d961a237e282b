/*
 * The record generator behind pingan-gen and the federation simulator:
 * realistic synthetic records for tests, demos and benchmarks (DOMAIN.md
 * §6).  See gen.h for the interface.
 *
 * Each record is one compact JSON object whose keys are field names of the
 * compiled-in schema.
 * Text-like types (text, enum, name, address, phone, id_number, division)
 * are JSON strings, int and counter JSON integers, real JSON numbers, bool
 * true/false, time ISO 8601 strings in China Standard Time
 * ("2026-11-03T09:41:07+08:00").  Chinese stays UTF-8.
 *
 * Determinism.  The output depends only on the arguments, the divisions
 * CSV and the schema: one xoshiro256** stream, seeded through splitmix64
 * from the seed and the collection name, is consumed record by record (so
 * the first k records are the same for every N ≥ k); the simulated
 * "today" is 2026-11-30 minus (seed mod 28) days and records fall in the
 * 365 days before it.  Never rand(), never the wall clock.  Memory does
 * not grow with N: each record is built, written and freed in turn.
 *
 * Divisions.  Records are placed in community (村/社区) codes read from
 * the divisions CSV (PINGAN_DIVISIONS_CSV, else the copy beside this
 * file).  --division CODE (default 430300000000, the city) restricts them
 * to CODE's jurisdiction: the CSV communities inside CODE if there are
 * any; otherwise synthetic communities under the CSV townships inside
 * CODE, else under synthetic townships of its CSV counties, else under
 * CODE itself (a community not in the CSV is used as given).  Synthetic
 * township and village segments are 600-999, which the NBS never assigns
 * (DOMAIN 2.1), so they cannot collide with a real code; synthetic names
 * come from a small pool, chosen by a hash of the code, so the same code
 * always has the same name.
 *
 * People (DOMAIN 6.2, 6.3).  Surnames weighted for Hunan (李 刘 陈 周 ...,
 * 欧阳 about 0.1%), given names by birth decade and sex, ages from the
 * 7th-census structure, sex ratio 104:100.  ID numbers: the household
 * county (the record's county, a legal GB/T 2260 code: the NBS-only zones
 * 43037x never appear and map to the county they belong to; ~8% another
 * Hunan county of the CSV), a valid past birth date, a sequence whose
 * parity is the sex, and the GB 11643 check character.  Mobile numbers:
 * carrier weights 60/22/16/2 over the prefixes of DOMAIN 4.5.
 *
 * Generated ID and phone numbers are valid-looking and may belong to real
 * people: never use generated data outside tests.
 */
#include "gen.h"

#include "pingan/division.h"
#include "pingan/error.h"
#include "pingan/lifecycle.h"
#include "pingan/schema.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define MS_PER_MIN    INT64_C(60000)
#define MS_PER_HOUR   INT64_C(3600000)
#define MS_PER_DAY    INT64_C(86400000)
#define CST_OFFSET_MS (8 * MS_PER_HOUR)

#define GEN_MAX_FIELDS  64
#define GEN_MAX_VALUES  64
#define GEN_MAX_PICKERS 256
#define GEN_ADDR_MAX    1024

/* ---- errors ---------------------------------------------------------- */

static const char *gen_program = "pingan-gen";

void gen_set_program(const char *name)
{
    gen_program = name;
}

void gen_die(int status, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s: ", gen_program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

/* ---- random numbers -------------------------------------------------- */

typedef struct gen_rng {
    uint64_t s[4];
} gen_rng;

static uint64_t rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* 64-bit FNV-1a: stream names and stable per-code choices. */
static uint64_t gen_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static void rng_seed(gen_rng *r, uint64_t seed, const char *stream)
{
    uint64_t x = seed;
    uint64_t mixed = rng_splitmix(&x) ^ gen_hash(stream);

    for (size_t i = 0; i < 4; i++)
        r->s[i] = rng_splitmix(&mixed);
}

static uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t rng_next(gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), without modulo bias. */
static uint64_t rng_below(gen_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;

    do {
        x = rng_next(r);
    } while (x >= limit);
    return x % n;
}

/* Uniform in [lo, hi]. */
static int rng_int(gen_rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Uniform in [0, 1). */
static double rng_unit(gen_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static bool rng_chance(gen_rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Standard normal, Irwin-Hall approximation: good enough for test data
 * and needs no libm. */
static double rng_normal(gen_rng *r)
{
    double sum = 0;

    for (int i = 0; i < 12; i++)
        sum += rng_unit(r);
    return sum - 6.0;
}

/* exp(x) = 2^k * exp(f), |f| <= ln 2 / 2, by its Taylor series. */
static double gen_exp(double x)
{
    const double ln2 = 0.69314718055994530942;

    if (x > 700)
        x = 700;
    if (x < -700)
        x = -700;
    int k = (int)(x / ln2 + (x >= 0 ? 0.5 : -0.5));
    double f = x - k * ln2, term = 1, sum = 1;
    for (int i = 1; i < 24; i++) {
        term *= f / i;
        sum += term;
    }
    for (; k > 0; k--)
        sum *= 2;
    for (; k < 0; k++)
        sum /= 2;
    return sum;
}

static double rng_lognormal(gen_rng *r, double median, double sigma)
{
    return median * gen_exp(sigma * rng_normal(r));
}

typedef struct gen_weight {
    const char *value;
    double weight;
} gen_weight;

static const char *rng_pick_weight(gen_rng *r, const gen_weight *t, size_t n)
{
    double total = 0;

    for (size_t i = 0; i < n; i++)
        total += t[i].weight;
    double x = rng_unit(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < t[i].weight)
            return t[i].value;
        x -= t[i].weight;
    }
    return t[n - 1].value;
}

#define PICK_WEIGHT(r, t) rng_pick_weight((r), (t), ARRAY_LEN(t))
#define PICK(r, a)        ((a)[rng_below((r), ARRAY_LEN(a))])

/* ---- calendar (China Standard Time, no libc time zone) --------------- */

/* Calendar arithmetic comes from libpingan (pingan/value.h). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    return pg_days_from_civil(y, m, d);
}

static void civil_from_days(int64_t z, int *y_out, unsigned *m_out,
                            unsigned *d_out)
{
    int64_t y;
    pg_civil_from_days(z, &y, m_out, d_out);
    *y_out = (int)y;
}

/* The CST calendar day of a time. */
static int64_t cst_day(int64_t ms)
{
    int64_t t = ms + CST_OFFSET_MS;
    return (t >= 0 ? t : t - (MS_PER_DAY - 1)) / MS_PER_DAY;
}

/* Milliseconds of 00:00 CST of a calendar day. */
static int64_t cst_midnight(int64_t day)
{
    return day * MS_PER_DAY - CST_OFFSET_MS;
}

static unsigned cst_month(int64_t ms)
{
    int y;
    unsigned m, d;

    civil_from_days(cst_day(ms), &y, &m, &d);
    return m;
}

static int cst_year(int64_t ms)
{
    int y;
    unsigned m, d;

    civil_from_days(cst_day(ms), &y, &m, &d);
    return y;
}

/* "2026-11-03T09:41:07+08:00" */
static void gen_time_format(char out[40], int64_t ms)
{
    int64_t day = cst_day(ms);
    int64_t sec = (ms + CST_OFFSET_MS - day * MS_PER_DAY) / 1000;
    int y;
    unsigned m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(out, 40, "%04d-%02u-%02uT%02d:%02d:%02d+08:00", y, m, d,
             (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}

/* "2026年11月3日" for text. */
static void gen_date_text(char out[32], int64_t ms)
{
    int y;
    unsigned m, d;

    civil_from_days(cst_day(ms), &y, &m, &d);
    snprintf(out, 32, "%d年%u月%u日", y, m, d);
}

/* ---- divisions ------------------------------------------------------- */

/* A place a record happens: always a community-level code. */
typedef struct gen_place {
    char code[PG_CODE_LEN + 1];
    char township_code[PG_CODE_LEN + 1];
    char county_code[PG_CODE_LEN + 1];
    char city_code[PG_CODE_LEN + 1];
    char province[GEN_NAME_MAX];
    char city[GEN_NAME_MAX];
    char county[GEN_NAME_MAX];
    char township[GEN_NAME_MAX];
    char village[GEN_NAME_MAX];
    bool urban;
    double lat, lon;
    /* One home or site per record, so the address and the description
     * name the same spot: rural 组 and 号, urban road, estate, flat. */
    int group, house;
    const char *road, *estate;
    int road_no, building, unit, floor, room;
} gen_place;

/* ---- the generator --------------------------------------------------- */

typedef struct gen_picker {
    const pg_field *field;
    const gen_weight *table;
    size_t n;
    double cum[GEN_MAX_VALUES];
} gen_picker;

typedef struct gen {
    gen_rng rng;
    const pg_collection *coll;
    json_t *slot[GEN_MAX_FIELDS];
    gen_picker pickers[GEN_MAX_PICKERS];
    size_t npickers;
    /* Field lookups by the address of the name literal: the generator
     * names fields with string literals, so a pointer identifies one. */
    const char *field_names[GEN_MAX_FIELDS * 2];
    size_t field_index[GEN_MAX_FIELDS * 2];
    size_t nfield_cache;
    char *out; /* one encoded record */
    size_t out_size;
    size_t out_len;
    int64_t now_ms;     /* 00:00 CST of the simulated today */
    int64_t today;      /* its calendar day */
    unsigned window;    /* records fall at most this many days back; 0: any */
    gen_division *divs; /* the CSV */
    size_t ndivs;
    const gen_division **anchors; /* where records are placed */
    size_t nanchors;
    char scope_code[PG_CODE_LEN + 1]; /* --division */
    gen_division scope;               /* --division, as an anchor of its own */
    const gen_division **hunan; /* legal Hunan county codes, for ID numbers */
    size_t nhunan;
    bool new_records; /* status: the lifecycle's first state */
} gen;

static int gen_div_cmp(const void *a, const void *b)
{
    return strcmp(((const gen_division *)a)->code,
                  ((const gen_division *)b)->code);
}

/* The CSV row of a code (the table is sorted by code). */
static const gen_division *gen_div_find(const gen *g, const char *code)
{
    gen_division key = {0};

    memcpy(key.code, code, sizeof(key.code));
    key.code[PG_CODE_LEN] = '\0';
    return bsearch(&key, g->divs, g->ndivs, sizeof(*g->divs), gen_div_cmp);
}

/* @p code with every digit from @p keep on set to zero. */
static void code_truncate(char out[PG_CODE_LEN + 1], const char *code,
                          size_t keep)
{
    memcpy(out, code, keep);
    memset(out + keep, '0', PG_CODE_LEN - keep);
    out[PG_CODE_LEN] = '\0';
}

static unsigned code_segment(const char *code, size_t at, size_t len)
{
    unsigned v = 0;

    for (size_t i = 0; i < len; i++)
        v = v * 10 + (unsigned)(code[at + i] - '0');
    return v;
}

static void code_set_segment(char *code, size_t at, size_t len, unsigned v)
{
    for (size_t i = len; i-- > 0;) {
        code[at + i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* County segments 70-79 are NBS-only zones (DOMAIN 2.1), never in an ID. */
static bool code_is_zone(const char *code)
{
    return code_segment(code, 4, 2) / 10 == 7;
}

static void gen_load_divisions(gen *g, const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[512];
    size_t lines = 0, lineno = 0;

    if (!fp)
        gen_die(1,
                "cannot open the divisions table %s (set "
                "PINGAN_DIVISIONS_CSV)",
                path);
    while (fgets(line, sizeof(line), fp))
        lines++;
    rewind(fp);
    g->divs = calloc(lines ? lines : 1, sizeof(*g->divs));
    if (!g->divs)
        gen_die(1, "out of memory");
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || strncmp(line, "code,", 5) == 0)
            continue;
        char *comma = strchr(line, ',');
        if (!comma)
            gen_die(1, "%s:%zu: expected code,name,...", path, lineno);
        *comma = '\0';
        char *name = comma + 1;
        name[strcspn(name, ",")] = '\0';
        if (!pg_division_valid(line) || strlen(name) == 0 ||
            strlen(name) >= GEN_NAME_MAX)
            gen_die(1, "%s:%zu: bad row for code '%s'", path, lineno, line);
        /* Names are the only text from outside: check their UTF-8 once,
         * so that records can skip jansson's check. */
        json_t *probe = json_string(name);
        if (!probe)
            gen_die(1, "%s:%zu: name is not valid UTF-8", path, lineno);
        json_decref(probe);
        gen_division *d = &g->divs[g->ndivs++];
        memcpy(d->code, line, PG_CODE_LEN + 1);
        memcpy(d->name, name, strlen(name) + 1);
        d->tier = pg_division_tier(d->code);
    }
    fclose(fp);
    if (g->ndivs == 0)
        gen_die(1, "%s: no divisions", path);
    qsort(g->divs, g->ndivs, sizeof(*g->divs), gen_div_cmp);
    for (size_t i = 1; i < g->ndivs; i++) {
        if (strcmp(g->divs[i - 1].code, g->divs[i].code) == 0)
            gen_die(1, "%s: code %s appears twice", path, g->divs[i].code);
    }

    g->hunan = calloc(g->ndivs, sizeof(*g->hunan));
    if (!g->hunan)
        gen_die(1, "out of memory");
    for (size_t i = 0; i < g->ndivs; i++) {
        const gen_division *d = &g->divs[i];
        if (d->tier == PG_TIER_COUNTY && strncmp(d->code, "43", 2) == 0 &&
            !code_is_zone(d->code))
            g->hunan[g->nhunan++] = d;
    }
}

/*
 * Where records go: the CSV communities inside the scope, else the CSV
 * townships inside it, else its CSV counties, else the scope itself; the
 * levels below an anchor are synthesized per record.
 */
int gen_scope(gen *g, const char *input, char *err, size_t errlen)
{
    char code[PG_CODE_LEN + 1];
    char city[PG_CODE_LEN + 1];

    pg_error_clear();
    if (pg_division_parse(code, input) < 0) {
        snprintf(err, errlen, "bad division '%s': %s", input,
                 pg_error_last()->message);
        return -1;
    }
    pg_tier tier = pg_division_tier(code);
    code_truncate(city, code, 4);
    if (!gen_div_find(g, city)) {
        snprintf(err, errlen,
                 "division %s is outside the divisions table (no city %s)",
                 code, city);
        return -1;
    }
    size_t n = 0;
    for (pg_tier t = PG_TIER_COMMUNITY; t >= PG_TIER_COUNTY && t >= tier; t--) {
        for (size_t i = 0; i < g->ndivs; i++) {
            if (g->divs[i].tier == t &&
                pg_division_contains(code, g->divs[i].code))
                g->anchors[n++] = &g->divs[i];
        }
        if (n)
            break;
    }
    if (n == 0) {
        /* Nothing of the CSV inside: synthesize below the scope itself,
         * if it is low enough. */
        if (tier < PG_TIER_COUNTY) {
            snprintf(err, errlen,
                     "no county of the divisions table lies inside %s", code);
            return -1;
        }
        memcpy(g->scope.code, code, sizeof(code));
        g->scope.tier = tier;
        const gen_division *known = gen_div_find(g, code);
        snprintf(g->scope.name, sizeof(g->scope.name), "%s",
                 known ? known->name : "");
        g->anchors[n++] = &g->scope;
    }
    memcpy(g->scope_code, code, sizeof(code));
    g->nanchors = n;
    return 0;
}

/* Short names of the NBS zones as written in addresses. */
static const char *gen_county_short(const char *county_code, const char *name)
{
    if (strncmp(county_code, "430371", 6) == 0)
        return "高新区";
    if (strncmp(county_code, "430372", 6) == 0)
        return "昭山示范区";
    if (strncmp(county_code, "430373", 6) == 0)
        return "九华示范区";
    return name;
}

static const char *const synth_township_names[] = {
    "金桥", "石门", "白沙", "青龙", "桃源", "红星", "双江", "新塘",
    "长乐", "福田", "龙口", "花园", "东湖", "永兴", "大田", "马家河",
};

static const char *const synth_rural_names[] = {
    "新塘", "石桥", "白果", "枫树", "金星", "长冲", "荷花", "杉木",
    "黄泥", "茶园", "大坪", "双龙", "花桥", "龙泉", "高塘", "湾里",
    "竹山", "樟树", "柏树", "永丰", "松林", "清泉", "凤形", "梅林",
};

static const char *const synth_urban_names[] = {
    "建设", "和平", "幸福", "东风", "红旗", "光明", "胜利", "团结",
    "文化", "新华", "向阳", "友谊", "滨江", "金湾", "桃园", "怡景",
};

/* A CSV village name as written in an address: 村委会 → 村, 居委会 →
 * 社区. */
static void gen_village_display(char out[GEN_NAME_MAX], const char *name)
{
    size_t len = strlen(name);
    static const char cun_wei_hui[] = "村委会", ju_wei_hui[] = "居委会";
    size_t sl = sizeof(cun_wei_hui) - 1;

    if (len > sl && strcmp(name + len - sl, cun_wei_hui) == 0)
        snprintf(out, GEN_NAME_MAX, "%.*s村", (int)(len - sl), name);
    else if (len > sl && strcmp(name + len - sl, ju_wei_hui) == 0)
        snprintf(out, GEN_NAME_MAX, "%.*s社区", (int)(len - sl), name);
    else
        snprintf(out, GEN_NAME_MAX, "%s", name);
}

static bool gen_name_is_urban(const char *name)
{
    return strstr(name, "社区") || strstr(name, "居委会");
}

typedef struct gen_centroid {
    const char *prefix;
    double lat, lon;
} gen_centroid;

/* County and city centres (DOMAIN 6.3; partners' city centres). */
static const gen_centroid centroids[] = {
    {"430302", 27.8625, 112.9075}, {"430304", 27.8700, 112.9520},
    {"430321", 27.7800, 112.9500}, {"430371", 27.8450, 112.9650},
    {"430372", 27.9700, 112.9900}, {"430373", 27.9300, 112.8700},
    {"430381", 27.7400, 112.5200}, {"430382", 27.9100, 112.4800},
    {"4303", 27.8600, 112.9100},   {"4301", 28.2280, 112.9390},
    {"4302", 27.8270, 113.1340},   {"4304", 26.8930, 112.5720},
    {"4313", 27.7000, 111.9930},   {"43", 27.8600, 112.9100},
};

static const char *const roads[] = {
    "建设北路", "建设中路", "建设南路", "韶山路",   "韶山西路",
    "车站路",   "雨湖路",   "河东大道", "芙蓉大道", "湘潭大道",
    "宝塔路",   "板塘大道", "基建营路", "人民路",   "解放路",
    "书院路",   "东风路",   "岳塘路",   "熙春路",   "晓塘路",
};

static const char *const estates[] = {
    "金色家园", "阳光花园", "锦绣华庭",   "翰林苑",     "江南明珠", "湖湘公馆",
    "滨江花园", "和平小区", "电机厂宿舍", "钢城生活区", "学府雅苑", "景泰园",
    "万润公寓", "丽水湾",   "北辰小区",   "东方名苑",   "怡和苑",   "桂花园",
};

static void gen_place_pick(gen *g, gen_place *pl)
{
    const gen_division *a = g->anchors[rng_below(&g->rng, g->nanchors)];
    char code[PG_CODE_LEN + 1];
    char key[PG_CODE_LEN + 1];

    memcpy(code, a->code, sizeof(code));
    if (a->tier <= PG_TIER_COUNTY) {
        /* 4-9 synthetic townships per county, stable per county. */
        unsigned n = 4 + (unsigned)(gen_hash(code) % 6);
        code_set_segment(code, 6, 3, 600 + (unsigned)rng_below(&g->rng, n));
    }
    if (a->tier <= PG_TIER_TOWNSHIP) {
        /* 8-20 synthetic villages per township. */
        unsigned n = 8 + (unsigned)(gen_hash(code) % 13);
        code_set_segment(code, 9, 3, 600 + (unsigned)rng_below(&g->rng, n));
    }
    memcpy(pl->code, code, sizeof(code));
    code_truncate(pl->township_code, code, 9);
    code_truncate(pl->county_code, code, 6);
    code_truncate(pl->city_code, code, 4);

    const gen_division *d;
    code_truncate(key, code, 2);
    d = gen_div_find(g, key);
    snprintf(pl->province, GEN_NAME_MAX, "%s", d ? d->name : "");
    d = gen_div_find(g, pl->city_code);
    snprintf(pl->city, GEN_NAME_MAX, "%s", d ? d->name : "");
    d = gen_div_find(g, pl->county_code);
    snprintf(pl->county, GEN_NAME_MAX, "%s",
             d ? gen_county_short(pl->county_code, d->name) : "");

    unsigned tseg = code_segment(code, 6, 3);
    d = gen_div_find(g, pl->township_code);
    if (d)
        snprintf(pl->township, GEN_NAME_MAX, "%s", d->name);
    else
        snprintf(pl->township, GEN_NAME_MAX, "%s镇",
                 synth_township_names[gen_hash(pl->township_code) %
                                      ARRAY_LEN(synth_township_names)]);

    d = gen_div_find(g, code);
    uint64_t h = gen_hash(code);
    if (d) {
        gen_village_display(pl->village, d->name);
        pl->urban = gen_name_is_urban(d->name);
    } else {
        /* 街道 are urban, 镇 a quarter urban, 乡 rural. */
        pl->urban = tseg < 100 || (tseg < 200 && h % 4 == 0) ||
                    (tseg >= 600 && h % 4 == 0);
        if (pl->urban)
            snprintf(
                pl->village, GEN_NAME_MAX, "%s社区",
                synth_urban_names[(h >> 8) % ARRAY_LEN(synth_urban_names)]);
        else
            snprintf(
                pl->village, GEN_NAME_MAX, "%s村",
                synth_rural_names[(h >> 8) % ARRAY_LEN(synth_rural_names)]);
    }

    const gen_centroid *c = &centroids[ARRAY_LEN(centroids) - 1];
    for (size_t i = 0; i < ARRAY_LEN(centroids); i++) {
        if (strncmp(code, centroids[i].prefix, strlen(centroids[i].prefix)) ==
            0) {
            c = &centroids[i];
            break;
        }
    }
    /* Jitter within ~3 km (urban) or ~8 km (rural), uniform in a disc. */
    double km = pl->urban ? 3.0 : 8.0, dx, dy;
    do {
        dx = rng_unit(&g->rng) * 2 - 1;
        dy = rng_unit(&g->rng) * 2 - 1;
    } while (dx * dx + dy * dy > 1);
    pl->lat = (double)(int64_t)((c->lat + dy * km / 111.0) * 1e6 + 0.5) / 1e6;
    pl->lon = (double)(int64_t)((c->lon + dx * km / 98.2) * 1e6 + 0.5) / 1e6;

    pl->group = rng_int(&g->rng, 1, 15);
    pl->house = rng_int(&g->rng, 1, 120);
    pl->road = PICK(&g->rng, roads);
    pl->road_no = rng_int(&g->rng, 1, 399);
    pl->estate = PICK(&g->rng, estates);
    pl->building = rng_int(&g->rng, 1, 24);
    pl->unit = rng_int(&g->rng, 1, 4);
    pl->floor = rng_int(&g->rng, 1, 18);
    pl->room = rng_int(&g->rng, 1, 4);
}

/*
 * The division of a place at @p tier (county, township or the community
 * itself), for records addressed to a tier (supervision, drills); moved
 * down a tier at a time until it lies inside the scope.  Returns its tier.
 */
static pg_tier gen_place_tier(const gen *g, char out[PG_CODE_LEN + 1],
                              const gen_place *pl, pg_tier tier)
{
    for (;; tier++) {
        if (tier <= PG_TIER_COUNTY)
            memcpy(out, pl->county_code, PG_CODE_LEN + 1);
        else if (tier == PG_TIER_TOWNSHIP)
            memcpy(out, pl->township_code, PG_CODE_LEN + 1);
        else
            memcpy(out, pl->code, PG_CODE_LEN + 1);
        if (tier >= PG_TIER_COMMUNITY ||
            pg_division_contains(g->scope_code, out))
            return pg_division_tier(out);
    }
}

/* DOMAIN 6.3 address formats. */
static void gen_address(char out[GEN_ADDR_MAX], const gen_place *pl)
{
    if (pl->urban)
        snprintf(out, GEN_ADDR_MAX, "%s%s%s%s%s%s%d号%s%d栋%d单元%d%02d室",
                 pl->province, pl->city, pl->county, pl->township, pl->village,
                 pl->road, pl->road_no, pl->estate, pl->building, pl->unit,
                 pl->floor, pl->room);
    else
        snprintf(out, GEN_ADDR_MAX, "%s%s%s%s%s%d组%d号", pl->province,
                 pl->city, pl->county, pl->township, pl->village, pl->group,
                 pl->house);
}

/* A short place phrase inside a description: "古城村3组", "锦绣华庭". */
static void gen_spot(char out[GEN_NAME_MAX * 2], const gen_place *pl)
{
    if (pl->urban)
        snprintf(out, GEN_NAME_MAX * 2, "%s%s", pl->village, pl->estate);
    else
        snprintf(out, GEN_NAME_MAX * 2, "%s%d组", pl->village, pl->group);
}

/* Art. 8 partners bordering each county (DOMAIN 2.4). */
static const char *gen_partner_city(gen *g, const gen_place *pl)
{
    static const char *const xt[] = {"430100000000"};
    static const char *const xiangtan_county[] = {
        "430100000000", "430200000000", "430400000000", "431300000000"};
    static const char *const xiangxiang[] = {"431300000000", "430100000000"};
    static const char *const yuetang[] = {"430100000000", "430200000000"};

    if (strncmp(pl->code, "4303", 4) != 0)
        return "430300000000";
    if (strncmp(pl->code, "430321", 6) == 0)
        return PICK(&g->rng, xiangtan_county);
    if (strncmp(pl->code, "430381", 6) == 0)
        return PICK(&g->rng, xiangxiang);
    if (strncmp(pl->code, "430304", 6) == 0 ||
        strncmp(pl->code, "430371", 6) == 0 ||
        strncmp(pl->code, "430372", 6) == 0)
        return PICK(&g->rng, yuetang);
    return xt[0];
}

/* ---- people ---------------------------------------------------------- */

/* DOMAIN 6.3: national order re-weighted for Hunan; 欧阳 ~0.1%. */
static const gen_weight surnames[] = {
    {"李", 75}, {"刘", 62}, {"陈", 55}, {"王", 42}, {"张", 38},  {"周", 40},
    {"彭", 28}, {"谭", 30}, {"罗", 28}, {"唐", 25}, {"胡", 25},  {"杨", 28},
    {"黄", 28}, {"易", 18}, {"曾", 22}, {"肖", 20}, {"赵", 14},  {"吴", 18},
    {"龙", 12}, {"黎", 10}, {"毛", 9},  {"徐", 12}, {"孙", 7},   {"马", 6},
    {"朱", 12}, {"郭", 9},  {"何", 15}, {"高", 7},  {"林", 7},   {"郑", 6},
    {"梁", 6},  {"谢", 12}, {"宋", 7},  {"许", 6},  {"韩", 4},   {"冯", 5},
    {"邓", 15}, {"曹", 7},  {"田", 7},  {"董", 4},  {"袁", 8},   {"潘", 5},
    {"于", 2},  {"蒋", 11}, {"蔡", 5},  {"文", 8},  {"贺", 8},   {"廖", 10},
    {"邹", 8},  {"颜", 5},  {"左", 4},  {"尹", 6},  {"钟", 6},   {"汤", 5},
    {"邱", 4},  {"丁", 4},  {"石", 6},  {"雷", 5},  {"段", 5},   {"成", 4},
    {"熊", 6},  {"姚", 5},  {"阳", 4},  {"傅", 4},  {"欧阳", 1},
};

typedef struct gen_names {
    const char *const *one; /* one-character given names */
    size_t none;
    const char *const *two; /* two-character given names */
    size_t ntwo;
} gen_names;

static const char *const old_m1[] = {"明", "华", "平", "荣",
                                     "富", "贵", "德", "林"};
static const char *const old_m2[] = {
    "建国", "建华", "国庆", "国强", "志强", "德明", "春生", "长生", "光明",
    "卫东", "跃进", "新民", "振华", "福生", "满生", "红兵", "解放", "援朝"};
static const char *const old_f1[] = {"英", "兰", "珍", "梅", "芳", "秀", "娥"};
static const char *const old_f2[] = {
    "秀英", "桂英", "玉兰", "淑珍", "秀兰", "桂兰", "凤英", "冬梅",
    "春花", "菊香", "腊梅", "金花", "秀芝", "玉梅", "桂香", "美华"};
static const char *const mid_m1[] = {"伟", "军", "勇", "涛", "斌",
                                     "强", "波", "辉", "刚", "明",
                                     "峰", "俊", "磊", "兵", "亮"};
static const char *const mid_m2[] = {
    "志勇", "海波", "建军", "小平", "立新", "国平", "文斌", "建平",
    "小军", "卫国", "志刚", "红军", "永强", "海军", "湘平", "湘军"};
static const char *const mid_f1[] = {"丽", "芳", "敏", "静", "艳", "娟", "霞",
                                     "燕", "红", "英", "慧", "萍", "玲"};
static const char *const mid_f2[] = {"丽娟", "美玲", "海燕", "晓红", "小芳",
                                     "丽萍", "春燕", "红霞", "湘红", "艳红",
                                     "小红", "秀云", "建英", "丽华"};
static const char *const y90_m1[] = {"杰", "浩", "鹏", "超", "宇", "鑫",
                                     "磊", "帅", "亮", "翔", "龙", "凯"};
static const char *const y90_m2[] = {"俊杰", "文杰", "志豪", "家豪", "子豪",
                                     "鹏飞", "思远", "宇航", "浩宇", "嘉伟",
                                     "俊峰", "文博", "湘宇", "智勇"};
static const char *const y90_f1[] = {"婷", "倩", "雪", "琳", "颖", "洁",
                                     "佳", "璐", "瑶", "丹", "蕾"};
static const char *const y90_f2[] = {"婷婷", "倩倩", "雨欣", "佳琪", "思琪",
                                     "雪梅", "梦婷", "晓雯", "欣然", "诗雨",
                                     "佳怡", "婉婷", "湘怡"};
static const char *const new_m1[] = {"轩", "睿", "涵", "宸", "浩",
                                     "哲", "铭", "博", "泽", "晨"};
static const char *const new_m2[] = {
    "子涵", "浩然", "宇轩", "梓豪", "子轩", "俊熙", "博文", "皓轩",
    "一鸣", "宇辰", "子墨", "天佑", "沐辰", "奕辰", "锦程", "思源"};
static const char *const new_f1[] = {"涵", "悦", "琪", "彤", "妍",
                                     "萱", "怡", "瑶", "诺", "汐"};
static const char *const new_f2[] = {
    "梓涵", "欣怡", "一诺", "雨桐", "诗涵", "紫涵", "可馨", "若曦",
    "语嫣", "梓萱", "依诺", "子涵", "思彤", "欣妍", "雨涵", "梦琪"};

#define NAMES(a, b)                                                            \
    {                                                                          \
        a, ARRAY_LEN(a), b, ARRAY_LEN(b)                                       \
    }

/* [decade bucket][0 = male, 1 = female] */
static const gen_names given_names[4][2] = {
    {NAMES(old_m1, old_m2), NAMES(old_f1, old_f2)},
    {NAMES(mid_m1, mid_m2), NAMES(mid_f1, mid_f2)},
    {NAMES(y90_m1, y90_m2), NAMES(y90_f1, y90_f2)},
    {NAMES(new_m1, new_m2), NAMES(new_f1, new_f2)},
};

typedef struct gen_person {
    char name[32];
    bool male;
    int age;
    char id_number[19];
    char phone[12];
    bool has_phone;
} gen_person;

static const char *const prefix_cmcc[] = {
    "134", "135", "136", "137", "138", "139", "147", "150",
    "151", "152", "157", "158", "159", "172", "178", "182",
    "183", "184", "187", "188", "195", "197", "198"};
static const char *const prefix_cucc[] = {"130", "131", "132", "145",
                                          "155", "156", "166", "175",
                                          "176", "185", "186", "196"};
static const char *const prefix_ctcc[] = {"133", "149", "153", "173",
                                          "177", "180", "181", "189",
                                          "190", "191", "193", "199"};
static const char *const prefix_other[] = {"192", "170", "171",
                                           "162", "165", "167"};

/* A mobile number: 移动 60%, 电信 22%, 联通 16%, 广电 and resellers 2%. */
static void gen_phone(gen *g, char out[12])
{
    double x = rng_unit(&g->rng);
    const char *prefix = x < 0.60   ? PICK(&g->rng, prefix_cmcc)
                         : x < 0.82 ? PICK(&g->rng, prefix_ctcc)
                         : x < 0.98 ? PICK(&g->rng, prefix_cucc)
                                    : PICK(&g->rng, prefix_other);
    snprintf(out, 12, "%s%08u", prefix,
             (unsigned)rng_below(&g->rng, 100000000));
}

/* GB 11643: ISO 7064 MOD 11-2 over the first 17 digits. */
static char gen_id_check(const char *d17)
{
    static const int w[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                              3, 7, 9,  10, 5, 8, 4, 2};
    int s = 0;

    for (int i = 0; i < 17; i++)
        s += (d17[i] - '0') * w[i];
    return "10X98765432"[s % 11];
}

/* The county code of the household registration: the place's county
 * when it is a legal code, else (a zone) the county it belongs to. */
static void gen_hukou_county(const gen *g, char out[7], const gen_place *pl)
{
    if (!code_is_zone(pl->county_code)) {
        memcpy(out, pl->county_code, 6);
    } else if (strncmp(pl->county_code, "430373", 6) == 0) {
        memcpy(out, "430302", 6); /* 九华: 雨湖区 */
    } else if (strncmp(pl->county_code, "4303", 4) == 0) {
        memcpy(out, "430304", 6); /* 高新, 昭山: 岳塘区 */
    } else {
        /* Another city's zone: the first legal county of that city. */
        memcpy(out, g->nhunan ? g->hunan[0]->code : "430302", 6);
        for (size_t i = 0; i < g->nhunan; i++) {
            if (strncmp(g->hunan[i]->code, pl->county_code, 4) == 0) {
                memcpy(out, g->hunan[i]->code, 6);
                break;
            }
        }
    }
    out[6] = '\0';
}

/* Ages by the 7th-census structure (湘乡 as proxy, DOMAIN 6.2): 0-14
 * 18.16%, 15-59 57.81%, 60+ 24.03%; restricted to [lo, hi]. */
static int gen_age(gen *g, int lo, int hi)
{
    static const struct {
        int lo, hi;
        double w;
    } bands[] = {{0, 14, 18.16},
                 {15, 59, 57.81},
                 {60, 69, 13.0},
                 {70, 79, 7.5},
                 {80, 95, 3.53}};
    double w[ARRAY_LEN(bands)], total = 0;

    for (size_t i = 0; i < ARRAY_LEN(bands); i++) {
        int a = bands[i].lo > lo ? bands[i].lo : lo;
        int b = bands[i].hi < hi ? bands[i].hi : hi;
        w[i] = a <= b
                   ? bands[i].w * (b - a + 1) / (bands[i].hi - bands[i].lo + 1)
                   : 0;
        total += w[i];
    }
    double x = rng_unit(&g->rng) * total;
    for (size_t i = 0; i < ARRAY_LEN(bands); i++) {
        if (x < w[i] || i == ARRAY_LEN(bands) - 1) {
            int a = bands[i].lo > lo ? bands[i].lo : lo;
            int b = bands[i].hi < hi ? bands[i].hi : hi;
            if (a > b) /* only when x fell off the end */
                return lo;
            return rng_int(&g->rng, a, b);
        }
        x -= w[i];
    }
    return lo;
}

static void gen_person_make(gen *g, gen_person *p, const gen_place *pl,
                            int min_age, int max_age)
{
    p->male = rng_chance(&g->rng, 104.0 / 204.0);
    p->age = gen_age(g, min_age, max_age);

    /* Birth date: age full years before today, a valid past day. */
    int64_t birth = g->today - (int64_t)p->age * 365 - p->age / 4 -
                    (int64_t)rng_below(&g->rng, 365) - 1;
    int by;
    unsigned bm, bd;
    civil_from_days(birth, &by, &bm, &bd);

    /* Given name by birth decade and sex. */
    size_t bucket = by < 1965 ? 0 : by < 1985 ? 1 : by < 2000 ? 2 : 3;
    const gen_names *n = &given_names[bucket][p->male ? 0 : 1];
    const char *given = rng_chance(&g->rng, 0.15)
                            ? n->one[rng_below(&g->rng, n->none)]
                            : n->two[rng_below(&g->rng, n->ntwo)];
    const char *surname = PICK_WEIGHT(&g->rng, surnames);
    if (strncmp(pl->county_code, "430382", 6) == 0 && rng_chance(&g->rng, 0.04))
        surname = "毛"; /* 韶山 */
    snprintf(p->name, sizeof(p->name), "%s%s", surname, given);

    /* ID number: household county, birth date, sequence, check. */
    char county[7];
    gen_hukou_county(g, county, pl);
    if (g->nhunan > 1 && rng_chance(&g->rng, 0.08)) {
        const gen_division *other = g->hunan[rng_below(&g->rng, g->nhunan)];
        memcpy(county, other->code, 6);
    }
    unsigned seq = 2 * (unsigned)rng_below(&g->rng, 499) + (p->male ? 1 : 2);
    char d17[18];
    snprintf(d17, sizeof(d17), "%.6s%04d%02u%02u%03u", county, by, bm, bd, seq);
    snprintf(p->id_number, sizeof(p->id_number), "%s%c", d17,
             gen_id_check(d17));

    /* ~3% of the elderly and of minors have no mobile of their own. */
    p->has_phone =
        !((p->age >= 70 || p->age < 14) && rng_chance(&g->rng, 0.03));
    if (p->age < 10)
        p->has_phone = false;
    if (p->has_phone)
        gen_phone(g, p->phone);
    else
        p->phone[0] = '\0';
}

/* ---- building a record ----------------------------------------------- */

static const pg_field *gen_field(gen *g, const char *name, size_t *index_out)
{
    size_t i = 0;

    for (size_t k = 0; k < g->nfield_cache; k++) {
        if (g->field_names[k] == name) {
            if (index_out)
                *index_out = g->field_index[k];
            return &g->coll->fields[g->field_index[k]];
        }
    }
    const pg_field *f = pg_collection_field(g->coll, name, &i);
    if (!f || i >= g->coll->nfields)
        gen_die(1, "internal error: collection %s has no field %s",
                g->coll->name, name);
    if (g->nfield_cache < ARRAY_LEN(g->field_names)) {
        g->field_names[g->nfield_cache] = name;
        g->field_index[g->nfield_cache++] = i;
    }
    if (index_out)
        *index_out = i;
    return f;
}

static bool gen_enum_has(const pg_field *f, const char *value)
{
    for (size_t i = 0; f->values && f->values[i]; i++) {
        if (strcmp(f->values[i], value) == 0)
            return true;
    }
    return false;
}

static void gen_put(gen *g, size_t i, json_t *v)
{
    if (!v)
        gen_die(1, "out of memory (or bad UTF-8) building %s.%s", g->coll->name,
                g->coll->fields[i].name);
    if (g->slot[i])
        gen_die(1, "internal error: %s.%s set twice", g->coll->name,
                g->coll->fields[i].name);
    g->slot[i] = v;
}

static void rec_text(gen *g, const char *name, const char *s)
{
    size_t i;
    const pg_field *f = gen_field(g, name, &i);
    size_t limit = f->max_len                ? f->max_len
                   : f->type == PG_TYPE_TEXT ? PG_TEXT_MAX
                                             : PG_SHORT_MAX;

    switch (f->type) {
    case PG_TYPE_TEXT:
    case PG_TYPE_ENUM:
    case PG_TYPE_DIVISION:
    case PG_TYPE_ID_NUMBER:
    case PG_TYPE_PHONE:
    case PG_TYPE_NAME:
    case PG_TYPE_ADDRESS:
        break;
    default:
        gen_die(1, "internal error: %s.%s is not text", g->coll->name, name);
    }
    /* The state reached is picked all the same, so the random stream
     * and every other field stay as they were. */
    const pg_lifecycle *lc = pg_lifecycle_get(g->coll->name);
    if (g->new_records && lc && strcmp(name, "status") == 0)
        s = lc->initial[0];
    if (f->type == PG_TYPE_ENUM && !gen_enum_has(f, s))
        gen_die(1, "internal error: %s.%s has no value '%s'", g->coll->name,
                name, s);
    if (strlen(s) > limit)
        gen_die(1, "internal error: %s.%s longer than %zu bytes", g->coll->name,
                name, limit);
    /* Literals of this file, checked CSV names and digits: valid UTF-8. */
    gen_put(g, i, json_string_nocheck(s));
}

static void rec_int(gen *g, const char *name, int64_t v)
{
    size_t i;
    const pg_field *f = gen_field(g, name, &i);

    if (f->type != PG_TYPE_INT && f->type != PG_TYPE_COUNTER)
        gen_die(1, "internal error: %s.%s is not an integer", g->coll->name,
                name);
    gen_put(g, i, json_integer((json_int_t)v));
}

static void rec_real(gen *g, const char *name, double v)
{
    size_t i;
    const pg_field *f = gen_field(g, name, &i);

    if (f->type != PG_TYPE_REAL)
        gen_die(1, "internal error: %s.%s is not real", g->coll->name, name);
    gen_put(g, i, json_real(v));
}

static void rec_bool(gen *g, const char *name, bool v)
{
    size_t i;
    const pg_field *f = gen_field(g, name, &i);

    if (f->type != PG_TYPE_BOOL)
        gen_die(1, "internal error: %s.%s is not bool", g->coll->name, name);
    gen_put(g, i, json_boolean(v));
}

static void rec_time(gen *g, const char *name, int64_t ms)
{
    size_t i;
    const pg_field *f = gen_field(g, name, &i);
    char buf[40];

    if (f->type != PG_TYPE_TIME)
        gen_die(1, "internal error: %s.%s is not a time", g->coll->name, name);
    gen_time_format(buf, ms);
    gen_put(g, i, json_string_nocheck(buf));
}

/* Write the record in schema field order and forget it. */
static void rec_emit(gen *g)
{
    json_t *obj = json_object();

    if (!obj)
        gen_die(1, "out of memory");
    for (size_t i = 0; i < g->coll->nfields; i++) {
        const pg_field *f = &g->coll->fields[i];
        if (!g->slot[i]) {
            if (f->required)
                gen_die(1, "internal error: %s.%s is required", g->coll->name,
                        f->name);
            continue;
        }
        if (json_object_set_new_nocheck(obj, f->name, g->slot[i]) < 0)
            gen_die(1, "out of memory");
        g->slot[i] = NULL;
    }
    /* Encode into one buffer and write it once: jansson's own streaming
     * makes a stdio call per token. */
    size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(12);
    size_t len = json_dumpb(obj, g->out, g->out_size - 1, flags);
    if (len == 0 || len > g->out_size - 1)
        gen_die(1, "internal error: a %s record does not encode in %zu bytes",
                g->coll->name, g->out_size);
    g->out[len++] = '\n';
    g->out[len] = '\0';
    g->out_len = len;
    json_decref(obj);
}

/*
 * A value of an enum field, by weight.  Values of the schema that the
 * table does not list get weight @p other; every value the table lists
 * must be one of the schema's, or the generator has drifted from the
 * schema and stops.  The cumulative weights are built once per (field,
 * table).
 */
static const char *gen_enum(gen *g, const char *name, const gen_weight *t,
                            size_t nt, double other)
{
    const pg_field *f = gen_field(g, name, NULL);
    gen_picker *p = NULL;

    if (f->type != PG_TYPE_ENUM)
        gen_die(1, "internal error: %s.%s is not an enum", g->coll->name, name);
    for (size_t i = 0; i < g->npickers && !p; i++) {
        if (g->pickers[i].field == f && g->pickers[i].table == t)
            p = &g->pickers[i];
    }
    if (!p) {
        if (g->npickers == GEN_MAX_PICKERS)
            gen_die(1, "internal error: too many enum tables");
        p = &g->pickers[g->npickers++];
        p->field = f;
        p->table = t;
        p->n = 0;
        for (size_t j = 0; j < nt; j++) {
            if (!gen_enum_has(f, t[j].value))
                gen_die(1, "internal error: %s.%s has no value '%s'",
                        g->coll->name, name, t[j].value);
        }
        double total = 0;
        for (size_t k = 0; f->values[k]; k++) {
            double w = other;
            if (k >= GEN_MAX_VALUES)
                gen_die(1, "internal error: %s.%s has too many values",
                        g->coll->name, name);
            for (size_t j = 0; j < nt; j++) {
                if (strcmp(t[j].value, f->values[k]) == 0)
                    w = t[j].weight;
            }
            total += w;
            p->cum[k] = total;
            p->n++;
        }
        if (total <= 0)
            gen_die(1, "internal error: %s.%s: no value has weight",
                    g->coll->name, name);
    }
    double x = rng_unit(&g->rng) * p->cum[p->n - 1];
    for (size_t k = 0; k < p->n; k++) {
        if (x < p->cum[k])
            return f->values[k];
    }
    return f->values[p->n - 1];
}

#define ENUM_PICK(g, name, table, other)                                       \
    gen_enum((g), (name), (table), ARRAY_LEN(table), (other))
#define ENUM_ANY(g, name) gen_enum((g), (name), NULL, 0, 1.0)

/* ---- times ----------------------------------------------------------- */

/* Weekdays ×1, Saturday ×0.5, Sunday ×0.35; peaks 09:00-11:30 and
 * 14:30-17:30 (DOMAIN 6.5). */
static int64_t gen_when(gen *g, unsigned window_days)
{
    static const double hours[24] = {1, 0.5, 0.3, 0.3, 0.3, 0.5, 1,   2,
                                     5, 9,   10,  8,   4,   4,   7,   9,
                                     9, 7,   4,   3,   3,   2,   1.5, 1};
    int64_t day;

    if (g->window && window_days > g->window)
        window_days = g->window;
    for (;;) {
        day = g->today - 1 - (int64_t)rng_below(&g->rng, window_days);
        int64_t wd = ((day + 4) % 7 + 7) % 7; /* 0 = Sunday */
        double keep = wd == 0 ? 0.35 : wd == 6 ? 0.5 : 1.0;
        if (rng_unit(&g->rng) < keep)
            break;
    }
    double total = 0;
    for (int h = 0; h < 24; h++)
        total += hours[h];
    double x = rng_unit(&g->rng) * total;
    int hour = 23;
    for (int h = 0; h < 24; h++) {
        if (x < hours[h]) {
            hour = h;
            break;
        }
        x -= hours[h];
    }
    return cst_midnight(day) + hour * MS_PER_HOUR +
           (int64_t)rng_below(&g->rng, 3600) * 1000;
}

/* A duration in ms, log-normal around a median given in hours. */
static int64_t gen_duration(gen *g, double median_hours, double sigma)
{
    double h = rng_lognormal(&g->rng, median_hours, sigma);
    if (h < 0.05)
        h = 0.05;
    if (h > 24 * 3650)
        h = 24 * 3650;
    return (int64_t)(h * (double)MS_PER_HOUR);
}

/* A working-hours time on the day @p days after @p t. */
static int64_t gen_day_after(gen *g, int64_t t, int days)
{
    int64_t day = cst_day(t) + days;
    return cst_midnight(day) +
           (8 + (int64_t)rng_below(&g->rng, 10)) * MS_PER_HOUR +
           (int64_t)rng_below(&g->rng, 3600) * 1000;
}

/* Office work happens 08:00-18:00: a time outside moves to the next
 * morning. */
static int64_t gen_office(gen *g, int64_t t)
{
    int64_t day = cst_day(t);
    int64_t in_day = t - cst_midnight(day);

    if (in_day >= 8 * MS_PER_HOUR && in_day < 18 * MS_PER_HOUR)
        return t;
    if (in_day >= 18 * MS_PER_HOUR)
        day++;
    return cst_midnight(day) + 8 * MS_PER_HOUR +
           (int64_t)rng_below(&g->rng, 2 * 3600) * 1000;
}

static double gen_money(double yuan, double unit)
{
    return (double)(int64_t)(yuan / unit + 0.5) * unit;
}

/* A record id as the store makes them: creator code, '-', ULID. */
static void gen_record_id(gen *g, char out[48], const char *creator, int64_t ms)
{
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char ulid[27];
    uint64_t t = (uint64_t)ms;

    for (int i = 9; i >= 0; i--) {
        ulid[i] = b32[t & 31];
        t >>= 5;
    }
    for (int i = 10; i < 26; i++)
        ulid[i] = b32[rng_below(&g->rng, 32)];
    ulid[26] = '\0';
    snprintf(out, 48, "%s-%s", creator, ulid);
}

/* ---- hazard 风险隐患 -------------------------------------------------- */

static const gen_weight hazard_category_w[] = {
    {"公共安全风险", 60}, {"社会治安风险", 20}, {"社会矛盾风险", 15},
    {"网络安全风险", 4},  {"政治安全风险", 1},
};

static const gen_weight hazard_sub_public[] = {
    {"消防安全", 20},  {"自建房危房", 8}, {"燃气安全", 6},     {"道路交通", 8},
    {"防汛防溺水", 5}, {"地质灾害", 3},   {"安全生产", 3},     {"食品药品", 2},
    {"特种设备", 1},   {"危化品", 1},     {"人员密集场所", 2}, {"环境保护", 1},
};

static const gen_weight hazard_sub_order[] = {
    {"黄赌毒", 5}, {"重点人员失控", 4}, {"校园周边", 4}, {"寄递物流", 2},
    {"传销", 2},   {"邪教活动", 1},     {"涉枪涉爆", 1}, {"个人极端", 1},
};

static const gen_weight hazard_sub_conflict[] = {
    {"劳动关系", 3},   {"征地拆迁", 2},         {"物业管理", 2},
    {"非法集资", 2},   {"涉众型经济金融", 1},   {"房地产交付", 1},
    {"工程建设", 1},   {"婚恋家庭", 1},         {"金融借贷", 1},
    {"信访积案", 1},   {"养老和殡葬服务", 0.5}, {"教育培训", 0.5},
    {"卫生健康", 0.5}, {"社会保障", 0.5},
};

static const gen_weight hazard_sub_network[] = {
    {"网络谣言舆情", 2}, {"电诈窝点线索", 1}, {"信息安全", 0.5},
    {"网络购物", 0.3},   {"新业态风险", 0.2},
};

static const gen_weight hazard_sub_other[] = {{"其他", 1}};

static const gen_weight hazard_level_w[] = {
    {"低", 55},
    {"一般", 35},
    {"较大", 8},
    {"重大", 2},
};

static const gen_weight hazard_found_w[] = {
    {"网格员", 45},  {"部门排查", 25},      {"群众举报", 12}, {"12345热线", 8},
    {"视频监控", 5}, {"企事业单位自查", 4}, {"上级交办", 1},
};

enum { SPOT_HOME, SPOT_AREA, SPOT_SITE };

typedef struct hazard_tpl {
    const char *sub;
    const char *what;
    const char *risk;
    const char *measure;
    const char *unit; /* after the county's name; NULL: the township */
    int spot;
} hazard_tpl;

/* DOMAIN 6.4: "{地点}存在{隐患}，涉及{N}户/人，{风险描述}，建议{措施}。" */
static const hazard_tpl hazard_tpls[] = {
    {"消防安全", "群租房消防通道堵塞", "一旦发生火灾人员难以疏散",
     "清理通道杂物并增配灭火器", "消防救援大队", SPOT_AREA},
    {"消防安全", "电动车入户充电现象", "存在起火风险",
     "建设集中充电点并开展入户宣传", "消防救援大队", SPOT_AREA},
    {"消防安全", "九小场所未配备灭火器材", "初起火灾无法及时扑救",
     "督促经营者配齐消防器材", "消防救援大队", SPOT_SITE},
    {"消防安全", "老旧电线私拉乱接", "易引发电气火灾", "联系供电所检修线路",
     "应急管理局", SPOT_HOME},
    {"自建房危房", "自建房墙体开裂", "存在坍塌风险",
     "组织专业机构鉴定并动员住户撤离", "住房和城乡建设局", SPOT_HOME},
    {"自建房危房", "经营性自建房违规加层", "结构安全无法保证",
     "停止经营并开展安全鉴定", "住房和城乡建设局", SPOT_SITE},
    {"燃气安全", "液化气钢瓶违规存放", "存在泄漏爆炸风险",
     "清理违规钢瓶并安装燃气报警器", "城市管理和综合执法局", SPOT_SITE},
    {"燃气安全", "餐馆燃气管道老化", "存在泄漏风险", "更换管道并加装自动切断阀",
     "城市管理和综合执法局", SPOT_SITE},
    {"道路交通", "急弯路段无警示标志", "易发生交通事故", "增设警示标志和减速带",
     "公安局交通警察大队", SPOT_AREA},
    {"道路交通", "农村客运车辆超员", "易造成群死群伤", "加强路面查处",
     "交通运输局", SPOT_AREA},
    {"防汛防溺水", "河堤管涌险情", "汛期可能溃堤",
     "抢险加固并安排专人24小时巡查", "水利局", SPOT_AREA},
    {"防汛防溺水", "山塘无防护栏和警示牌", "存在溺水风险",
     "增设防护栏和警示标识", "水利局", SPOT_AREA},
    {"地质灾害", "屋后山体滑坡迹象", "雨季可能危及下方住户",
     "设置警示标志并落实群测群防", "自然资源局", SPOT_HOME},
    {"安全生产", "小作坊违规储存易燃原料", "存在火灾爆炸风险", "责令停产整改",
     "应急管理局", SPOT_SITE},
    {"食品药品", "农村集体聚餐未备案", "存在食物中毒风险",
     "落实聚餐备案和厨师健康证管理", "市场监督管理局", SPOT_AREA},
    {"特种设备", "电梯维保记录缺失", "存在困人风险", "督促物业限期维保",
     "市场监督管理局", SPOT_AREA},
    {"危化品", "加油站周边违规堆放危化品", "存在爆炸风险", "立即清理并加强巡查",
     "应急管理局", SPOT_SITE},
    {"人员密集场所", "农贸市场安全出口锁闭", "人员密集时易发生踩踏",
     "保持安全出口畅通", "消防救援大队", SPOT_SITE},
    {"环境保护", "养殖场污水直排", "可能污染饮用水源", "限期整改并加强监测",
     "生态环境分局", SPOT_SITE},
    {"黄赌毒", "出租屋疑似聚众赌博", "易滋生治安案件", "移交派出所核查",
     "公安局", SPOT_HOME},
    {"重点人员失控", "严重精神障碍患者未按时服药", "存在肇事肇祸风险",
     "落实监护责任并联系卫生院随访", "卫生健康局", SPOT_HOME},
    {"校园周边", "学校周边无证摊点聚集", "影响学生上下学安全",
     "联合市场监管部门清理", "教育局", SPOT_SITE},
    {"寄递物流", "快递网点未落实实名收寄", "可能被用于寄递违禁品",
     "责令落实收寄验视制度", "邮政管理局", SPOT_SITE},
    {"传销", "出租屋内人员聚集疑似传销", "可能引发群体性事件",
     "移交市场监管和公安部门", "公安局", SPOT_HOME},
    {"邪教活动", "散发邪教宣传品情况", "影响社会稳定",
     "收缴宣传品并开展反邪教宣传", "公安局", SPOT_AREA},
    {"涉枪涉爆", "私藏土制猎枪情况", "存在涉枪安全风险", "依法收缴", "公安局",
     SPOT_HOME},
    {"个人极端", "村民因纠纷多次扬言报复的情况", "存在个人极端风险",
     "落实稳控并开展心理疏导", "公安局", SPOT_HOME},
    {"劳动关系", "工地拖欠农民工工资问题", "临近年关可能引发讨薪事件",
     "督促总包单位支付工资", "人力资源和社会保障局", SPOT_SITE},
    {"征地拆迁", "项目征地补偿款未到位问题", "群众有集访苗头",
     "加强政策解释并推动补偿落实", NULL, SPOT_AREA},
    {"物业管理", "物业与业主矛盾突出问题", "可能引发群体性事件",
     "社区牵头召开协调会", "住房和城乡建设局", SPOT_AREA},
    {"非法集资", "以高息为诱饵吸收群众资金的情况", "涉及群众资金安全",
     "报处非部门调查并做好稳控", "地方金融事务中心", SPOT_SITE},
    {"房地产交付", "楼盘逾期未交房问题", "购房户有集访苗头",
     "督促开发商制定交付计划", "住房和城乡建设局", SPOT_SITE},
    {"信访积案", "信访积案长期未化解问题", "可能引发越级上访",
     "落实领导包案化解", "信访局", SPOT_HOME},
    {"网络谣言舆情", "网上流传不实拆迁信息的情况", "可能引发群众误解",
     "核实并发布权威信息", "网信办", SPOT_AREA},
    {"电诈窝点线索", "多人昼伏夜出使用大量手机卡的情况", "疑似电诈窝点",
     "移交公安机关核查", "公安局", SPOT_HOME},
    {"金融借贷", "高额民间借贷逾期问题", "债务纠纷可能激化",
     "引导通过法律途径解决并做好调解", "司法局", SPOT_HOME},
    {"涉众型经济金融", "养老投资项目无法兑付问题",
     "涉及群众较多，可能引发群体性事件", "报处非部门调查并做好稳控",
     "地方金融事务中心", SPOT_SITE},
    {"工程建设", "在建工地深基坑无防护", "存在坍塌和坠落风险",
     "责令施工单位设置围挡和防护", "住房和城乡建设局", SPOT_SITE},
    {"婚恋家庭", "家庭矛盾长期激化的情况", "存在民转刑风险",
     "妇联会同村（社区）上门调解", "妇女联合会", SPOT_HOME},
    {"教育培训", "校外培训机构无证办学", "预收费存在卷款风险",
     "教育部门依法查处", "教育局", SPOT_SITE},
    {"卫生健康", "无证诊所非法行医", "存在医疗安全风险", "卫生监督部门依法查处",
     "卫生健康局", SPOT_SITE},
    {"社会保障", "养老保险待遇领取争议", "群众有上访苗头", "核实政策并做好解释",
     "人力资源和社会保障局", SPOT_HOME},
    {"养老和殡葬服务", "养老机构消防设施不足", "老人行动不便，火灾后果严重",
     "增配消防设施并开展疏散演练", "民政局", SPOT_SITE},
    {"信息安全", "居民信息表格未加密存放在公共电脑", "存在个人信息泄露风险",
     "落实数据加密和访问管理", "网信办", SPOT_AREA},
    {"网络购物", "网店诱导群众私下交易的情况", "群众易受骗", "开展网购防骗宣传",
     "市场监督管理局", SPOT_AREA},
    {"新业态风险", "共享电单车占用消防通道", "影响应急疏散",
     "督促运营企业规范停放", "城市管理和综合执法局", SPOT_AREA},
    {"其他", "不明人员聚集的情况", "可能影响社会稳定", "加强巡查并及时报告",
     "公安局", SPOT_AREA},
};

static const hazard_tpl *hazard_template(gen *g, const char *sub)
{
    const hazard_tpl *found[8] = {NULL};
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_LEN(hazard_tpls) && n < ARRAY_LEN(found);
         i++) {
        if (strcmp(hazard_tpls[i].sub, sub) == 0)
            found[n++] = &hazard_tpls[i];
    }
    return n ? found[rng_below(&g->rng, n)] : NULL;
}

static void gen_hazard(gen *g)
{
    gen_place pl;
    gen_person contact, worker;
    char addr[GEN_ADDR_MAX], spot[GEN_NAME_MAX * 2], where[512];
    char text[1024], unit[256], measure[256];
    const char *category, *sub;
    int64_t t0;

    gen_place_pick(g, &pl);
    gen_person_make(g, &contact, &pl, 25, 80);
    gen_person_make(g, &worker, &pl, 25, 55);

    /* Flood and landslide hazards come three times as often from April
     * to July (DOMAIN 6.5). */
    for (;;) {
        t0 = gen_when(g, 365);
        category = ENUM_PICK(g, "category", hazard_category_w, 0);
        const gen_weight *t = hazard_sub_other;
        size_t nt = ARRAY_LEN(hazard_sub_other);
        if (strcmp(category, "公共安全风险") == 0) {
            t = hazard_sub_public;
            nt = ARRAY_LEN(hazard_sub_public);
        } else if (strcmp(category, "社会治安风险") == 0) {
            t = hazard_sub_order;
            nt = ARRAY_LEN(hazard_sub_order);
        } else if (strcmp(category, "社会矛盾风险") == 0) {
            t = hazard_sub_conflict;
            nt = ARRAY_LEN(hazard_sub_conflict);
        } else if (strcmp(category, "网络安全风险") == 0) {
            t = hazard_sub_network;
            nt = ARRAY_LEN(hazard_sub_network);
        }
        sub = gen_enum(g, "subcategory", t, nt, 0);
        unsigned m = cst_month(t0);
        bool seasonal =
            strcmp(sub, "防汛防溺水") == 0 || strcmp(sub, "地质灾害") == 0;
        if (!seasonal || (m >= 4 && m <= 7) || rng_chance(&g->rng, 1.0 / 3))
            break;
    }

    const hazard_tpl *tpl = hazard_template(g, sub);
    gen_spot(spot, &pl);
    int spot_kind = tpl ? tpl->spot : SPOT_AREA;
    if (spot_kind == SPOT_HOME)
        snprintf(where, sizeof(where), "%s%s家", spot, contact.name);
    else if (spot_kind == SPOT_SITE && pl.urban)
        snprintf(where, sizeof(where), "%s%s%d号", pl.village, pl.road,
                 pl.road_no);
    else
        snprintf(where, sizeof(where), "%s", spot);
    int households = spot_kind == SPOT_HOME ? 1 : rng_int(&g->rng, 1, 40);
    int people = households * rng_int(&g->rng, 2, 4);
    if (tpl)
        snprintf(measure, sizeof(measure), "%s", tpl->measure);
    else
        snprintf(measure, sizeof(measure), "责任单位限期整改");
    const char *found = ENUM_PICK(g, "discovered_by", hazard_found_w, 0);
    if (strcmp(found, "网格员") == 0)
        snprintf(text, sizeof(text),
                 "网格员%s排查发现%s存在%s，涉及%d户%d人，%s，建议%s。",
                 worker.name, where, tpl ? tpl->what : "风险隐患", households,
                 people, tpl ? tpl->risk : "如不及时处置可能扩大", measure);
    else
        snprintf(text, sizeof(text), "%s存在%s，涉及%d户%d人，%s，建议%s。",
                 where, tpl ? tpl->what : "风险隐患", households, people,
                 tpl ? tpl->risk : "如不及时处置可能扩大", measure);
    if (tpl && tpl->unit)
        snprintf(unit, sizeof(unit), "%s%s", pl.county, tpl->unit);
    else
        snprintf(unit, sizeof(unit), "%s人民政府", pl.township);

    /* Lifecycle (DOMAIN 3.1) from the record's age. */
    const char *level = ENUM_PICK(g, "level", hazard_level_w, 0);
    double median_days = strcmp(level, "重大") == 0   ? 90
                         : strcmp(level, "较大") == 0 ? 40
                         : strcmp(level, "一般") == 0 ? 20
                                                      : 10;
    int limit_days = strcmp(level, "重大") == 0   ? 60
                     : strcmp(level, "较大") == 0 ? 30
                     : strcmp(level, "一般") == 0 ? 15
                                                  : 7;
    int64_t age = g->now_ms - t0;
    int64_t took =
        gen_office(g, t0 + gen_duration(g, median_days * 24, 0.8)) - t0;
    const char *status;
    bool closed = false, assessed = true;
    double side = rng_unit(&g->rng);
    if (side < 0.05 && age > 2 * MS_PER_DAY) {
        status = "不属实";
        took = gen_office(g, t0 + gen_duration(g, 36, 0.5)) - t0;
        if (took > age)
            took = age / 2;
        closed = true;
        assessed = false;
    } else if (side < 0.07 && age < 30 * MS_PER_DAY) {
        status = "退回补充";
        assessed = false;
    } else if (side < 0.09) {
        status = "转办";
        assessed = false;
    } else if (t0 + took < g->now_ms) {
        status = rng_chance(&g->rng, 0.04) ? "回头看复查" : "销号";
        closed = true;
    } else if (age < MS_PER_DAY) {
        status = "发现登记";
        assessed = false;
    } else if (age < 3 * MS_PER_DAY) {
        status = "核实";
        assessed = false;
    } else if (age < 7 * MS_PER_DAY) {
        status = "评估定级";
    } else if (age > took * 9 / 10) {
        status = "验收";
    } else {
        status = rng_chance(&g->rng, 0.8) ? "整改中" : "管控中";
    }

    rec_text(g, "division", pl.code);
    rec_text(g, "category", category);
    rec_text(g, "subcategory", sub);
    if (assessed)
        rec_text(g, "level", level);
    rec_text(g, "status", status);
    if (assessed) {
        const char *warning = NULL;
        if (strcmp(level, "重大") == 0)
            warning =
                rng_chance(&g->rng, 0.3) ? "一级（红色）" : "二级（橙色）";
        else if (strcmp(level, "较大") == 0 && rng_chance(&g->rng, 0.5))
            warning = "三级（黄色）";
        else if (strcmp(level, "一般") == 0 && rng_chance(&g->rng, 0.2))
            warning = "四级（蓝色）";
        if (warning)
            rec_text(g, "warning_level", warning);
    }
    rec_text(g, "discovered_by", found);
    rec_time(g, "discovered_at", t0);
    gen_address(addr, &pl);
    rec_text(g, "address", addr);
    rec_real(g, "lon", pl.lon);
    rec_real(g, "lat", pl.lat);
    rec_text(g, "description", text);
    rec_int(g, "affected_count", households);
    if (assessed) {
        rec_text(g, "responsible_unit", unit);
        rec_text(g, "measures", measure);
        rec_time(g, "rectify_deadline", gen_day_after(g, t0, limit_days));
        /* 挂牌: every 重大, and one in ten overdue 较大 (DOMAIN 6.4). */
        const char *listing = "无";
        if (strcmp(level, "重大") == 0)
            listing = rng_chance(&g->rng, 0.6) ? "市级挂牌" : "县级挂牌";
        else if (strcmp(level, "较大") == 0 && took > limit_days * MS_PER_DAY &&
                 rng_chance(&g->rng, 0.1))
            listing = "县级挂牌";
        rec_text(g, "listing_level", listing);
        if (strcmp(listing, "无") != 0)
            rec_time(g, "listed_at",
                     gen_day_after(g, t0, rng_int(&g->rng, 2, 7)));
    }
    if (rng_chance(&g->rng, 0.7) || spot_kind == SPOT_HOME) {
        rec_text(g, "contact_name", contact.name);
        if (contact.has_phone)
            rec_text(g, "contact_phone", contact.phone);
    }
    bool cross = strncmp(pl.code, "4303", 4) == 0 &&
                 strncmp(pl.county_code, "430302", 6) != 0 &&
                 rng_chance(&g->rng, 0.02);
    rec_bool(g, "cross_region", cross);
    if (cross)
        rec_text(g, "partner_city", gen_partner_city(g, &pl));
    if (closed)
        rec_time(g, "closed_at", t0 + took);
    rec_emit(g);
}

/* ---- dispute 矛盾纠纷 -------------------------------------------------- */

/* DOMAIN 6.4 mix; 山林土地 doubled in villages, 物业 mostly urban, 劳资
 * doubled in December and January. */
static const gen_weight dispute_type_rural[] = {
    {"婚姻家庭", 18},      {"邻里纠纷", 20},    {"房屋宅基地", 12},
    {"山林土地", 16},      {"土地承包经营", 2}, {"劳资纠纷", 6},
    {"合同履行", 4},       {"经济活动", 3},     {"物业管理", 0.5},
    {"交通及生产安全", 7}, {"医患纠纷", 2},     {"征地拆迁", 4},
    {"其他", 8},
};

static const gen_weight dispute_type_urban[] = {
    {"婚姻家庭", 18}, {"邻里纠纷", 20}, {"房屋宅基地", 6},
    {"山林土地", 1},  {"劳资纠纷", 10}, {"合同履行", 6},
    {"经济活动", 3},  {"消费纠纷", 2},  {"金融借贷", 1},
    {"物业管理", 10}, {"建筑工程", 2},  {"交通及生产安全", 7},
    {"医患纠纷", 2},  {"征地拆迁", 2},  {"其他", 8},
};

static const gen_weight dispute_source_w[] = {
    {"当事人申请", 35}, {"网格排查", 30}, {"110分流", 10}, {"12345热线", 8},
    {"法院委派", 5},    {"信访转办", 5},  {"部门移交", 5}, {"上级交办", 2},
};

static const gen_weight dispute_channel_w[] = {
    {"人民调解", 80},
    {"行政调解", 8},
    {"司法调解", 7},
    {"联合调解", 5},
};

static const gen_weight dispute_risk_w[] = {
    {"低", 80},
    {"中", 16},
    {"高", 4},
};

/* Success 95-96% (DOMAIN 3.2, 华声在线 2024). */
static const gen_weight dispute_outcome_w[] = {
    {"调解成功（口头协议）", 30},
    {"调解成功（书面协议）", 52},
    {"调解成功并司法确认", 8},
    {"部分成功", 3},
    {"调解不成—引导诉讼", 2.5},
    {"调解不成—引导仲裁", 0.5},
    {"调解不成—转行政处理", 0.5},
    {"当事人撤回", 2},
    {"不予受理", 0.5},
    {"转办", 1},
};

typedef struct dispute_cause {
    const char *type;
    const char *cause;
} dispute_cause;

static const dispute_cause dispute_causes[] = {
    {"婚姻家庭", "赡养老人"},
    {"婚姻家庭", "婚姻财产分割"},
    {"婚姻家庭", "子女抚养费"},
    {"邻里纠纷", "田间排水"},
    {"邻里纠纷", "房屋漏水"},
    {"邻里纠纷", "噪音扰民"},
    {"邻里纠纷", "通行道路"},
    {"房屋宅基地", "宅基地界址"},
    {"房屋宅基地", "建房滴水"},
    {"山林土地", "山林界线"},
    {"山林土地", "承包地边界"},
    {"土地承包经营", "土地流转租金"},
    {"劳资纠纷", "工资拖欠"},
    {"劳资纠纷", "工伤赔偿"},
    {"合同履行", "货款支付"},
    {"合同履行", "房屋租赁合同"},
    {"经济活动", "借款归还"},
    {"经济活动", "合伙经营分红"},
    {"金融借贷", "民间借贷"},
    {"消费纠纷", "预付卡退费"},
    {"物业管理", "物业费"},
    {"物业管理", "停车位"},
    {"建筑工程", "装修质量"},
    {"征地拆迁", "征地补偿款分配"},
    {"交通及生产安全", "交通事故赔偿"},
    {"交通及生产安全", "生产事故赔偿"},
    {"医患纠纷", "医疗费用及赔偿"},
};

static const char *dispute_cause_for(gen *g, const char *type)
{
    const char *found[4] = {NULL};
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_LEN(dispute_causes) && n < 4; i++) {
        if (strcmp(dispute_causes[i].type, type) == 0)
            found[n++] = dispute_causes[i].cause;
    }
    return n ? found[rng_below(&g->rng, n)] : "生活琐事";
}

static void gen_mediation_org(gen *g, char out[256], const gen_place *pl,
                              const char *channel, const char *type)
{
    if (strcmp(channel, "司法调解") == 0)
        snprintf(out, 256, "%s人民法院诉前调解中心", pl->county);
    else if (strcmp(channel, "联合调解") == 0)
        snprintf(out, 256, "%s矛盾纠纷调处化解中心", pl->county);
    else if (strcmp(channel, "行政调解") == 0)
        snprintf(out, 256, "%s%s", pl->township,
                 strcmp(type, "交通及生产安全") == 0 ? "派出所" : "司法所");
    else if (strcmp(type, "医患纠纷") == 0)
        snprintf(out, 256, "%s医疗纠纷人民调解委员会", pl->county);
    else if (strcmp(type, "交通及生产安全") == 0 && rng_chance(&g->rng, 0.5))
        snprintf(out, 256, "%s道路交通事故纠纷人民调解委员会", pl->county);
    else if (strcmp(type, "劳资纠纷") == 0 && rng_chance(&g->rng, 0.5))
        snprintf(out, 256, "%s劳动争议人民调解委员会", pl->county);
    else if (rng_chance(&g->rng, 0.75))
        snprintf(out, 256, "%s人民调解委员会", pl->village);
    else
        snprintf(out, 256, "%s人民调解委员会", pl->township);
}

static void gen_dispute(gen *g)
{
    gen_place pl;
    gen_person a, b, mediator;
    char text[1024], org[256];

    gen_place_pick(g, &pl);
    gen_person_make(g, &a, &pl, 18, 85);
    gen_person_make(g, &b, &pl, 18, 85);
    gen_person_make(g, &mediator, &pl, 30, 65);
    int64_t t0 = gen_when(g, 365);
    const char *type =
        pl.urban ? ENUM_PICK(g, "dispute_type", dispute_type_urban, 0.1)
                 : ENUM_PICK(g, "dispute_type", dispute_type_rural, 0.1);
    unsigned month = cst_month(t0);
    if ((month == 12 || month == 1) && rng_chance(&g->rng, 0.08))
        type = "劳资纠纷"; /* wages before the new year: about doubled */
    const char *source = ENUM_PICK(g, "source", dispute_source_w, 0);
    const char *channel = ENUM_PICK(g, "channel", dispute_channel_w, 0);
    const char *risk = ENUM_PICK(g, "escalation_risk", dispute_risk_w, 0);
    static const char *const courses_rural[] = {
        "多次协商未果",     "曾发生口角",   "经村干部劝解无效",
        "一方曾到村部反映", "双方各执一词",
    };
    static const char *const courses_urban[] = {
        "多次协商未果",     "曾发生口角",   "经社区干部劝解无效",
        "一方曾到社区反映", "双方各执一词",
    };
    const char *mood =
        strcmp(risk, "低") == 0 && rng_chance(&g->rng, 0.8) ? "平稳" : "激动";
    const char *ending = strcmp(source, "当事人申请") == 0 ? "申请调解"
                         : strcmp(source, "网格排查") == 0
                             ? "网格员排查发现后上报"
                         : strcmp(source, "110分流") == 0 ? "经110分流转入调解"
                         : strcmp(source, "12345热线") == 0 ? "经12345热线转办"
                         : strcmp(source, "法院委派") == 0 ? "法院委派诉前调解"
                                                           : "请求组织调解";
    snprintf(text, sizeof(text), "%s与%s因%s发生纠纷，%s，双方情绪%s，%s。",
             a.name, b.name, dispute_cause_for(g, type),
             pl.urban ? PICK(&g->rng, courses_urban)
                      : PICK(&g->rng, courses_rural),
             mood, ending);

    int parties = rng_chance(&g->rng, 0.7)    ? 2
                  : rng_chance(&g->rng, 0.83) ? rng_int(&g->rng, 3, 5)
                                              : rng_int(&g->rng, 6, 30);
    int64_t age = g->now_ms - t0;
    int64_t took = gen_office(g, t0 + gen_duration(g, 24 * 6, 0.9)) - t0;
    int limit = strcmp(channel, "人民调解") == 0 ? 30 : 15;

    rec_text(g, "division", pl.code);
    rec_text(g, "dispute_type", type);
    rec_text(g, "source", source);
    rec_text(g, "applicant_name", a.name);
    if (a.has_phone)
        rec_text(g, "applicant_phone", a.phone);
    if (rng_chance(&g->rng, 0.85))
        rec_text(g, "applicant_id_number", a.id_number);
    rec_text(g, "respondent_name", b.name);
    if (b.has_phone && rng_chance(&g->rng, 0.7))
        rec_text(g, "respondent_phone", b.phone);
    rec_int(g, "party_count", parties);
    /* 60% without an amount; else log-normal around 2万元. */
    if (rng_chance(&g->rng, 0.4)) {
        double median = strcmp(type, "劳资纠纷") == 0 ? 30000 : 20000;
        double yuan = gen_money(rng_lognormal(&g->rng, median, 1.0), 100);
        rec_real(g, "amount_involved", yuan < 100 ? 100 : yuan);
    }
    rec_text(g, "summary", text);
    gen_mediation_org(g, org, &pl, channel, type);
    rec_text(g, "mediation_org", org);
    rec_text(g, "mediator", mediator.name);
    rec_text(g, "channel", channel);
    rec_text(g, "escalation_risk", risk);
    rec_time(g, "accepted_at", t0);
    rec_time(g, "deadline", gen_day_after(g, t0, limit));
    if (t0 + took < g->now_ms) {
        const char *outcome = ENUM_PICK(g, "outcome", dispute_outcome_w, 0);
        bool success = strncmp(outcome, "调解成功", strlen("调解成功")) == 0 ||
                       strcmp(outcome, "部分成功") == 0;
        const char *status;
        if (success)
            status = age - took < 15 * MS_PER_DAY && rng_chance(&g->rng, 0.4)
                         ? "履行中"
                         : "结案";
        else if (strncmp(outcome, "调解不成", strlen("调解不成")) == 0)
            status = rng_chance(&g->rng, 0.5) ? "调解不成" : "终结";
        else
            status = "终结";
        rec_text(g, "status", status);
        rec_text(g, "outcome", outcome);
    } else {
        const char *status = age < 6 * MS_PER_HOUR       ? "登记受理"
                             : age < 2 * MS_PER_DAY      ? "分流指派"
                             : rng_chance(&g->rng, 0.95) ? "调解中"
                                                         : "中止";
        rec_text(g, "status", status);
    }
    /* ~1% are cross-city 联调 cases (Art. 8, 27). */
    bool cross = rng_chance(&g->rng, 0.01);
    rec_bool(g, "cross_region", cross);
    if (cross) {
        const char *partner = gen_partner_city(g, &pl);
        char case_id[64], day[40];
        gen_time_format(day, t0);
        rec_text(g, "partner_city", partner);
        snprintf(case_id, sizeof(case_id), "%.6s-TJ-%.4s%.2s%.2s-%04d", partner,
                 day, day + 5, day + 8, rng_int(&g->rng, 1, 9999));
        rec_text(g, "partner_case_id", case_id);
    }
    if (t0 + took < g->now_ms)
        rec_time(g, "closed_at", t0 + took);
    rec_emit(g);
}

/* ---- grid_event 网格事项 ----------------------------------------------- */

static const gen_weight grid_category_w[] = {
    {"民生服务", 35},    {"城市管理", 25},        {"矛盾劝解", 12},
    {"治安防控", 10},    {"特殊人群服务管理", 8}, {"社情民意", 6},
    {"政策法规宣传", 2}, {"突发事件", 1},         {"其他", 1},
};

static const gen_weight grid_source_w[] = {
    {"网格员巡查", 60}, {"群众自报", 15},  {"12345热线", 12},
    {"数字城管", 4},    {"110分流", 3},    {"视频发现", 2},
    {"部门移交", 2},    {"上级交办", 1.5}, {"信访", 0.5},
};

static const gen_weight grid_urgency_w[] = {
    {"一般", 85},
    {"复杂", 10},
    {"紧急", 5},
};

static const gen_weight satisfaction_w[] = {
    {"满意", 92},
    {"基本满意", 6},
    {"不满意", 2},
};

/* Whose department handles a grid event. */
enum { DEPT_VILLAGE, DEPT_TOWNSHIP, DEPT_COUNTY, DEPT_AS_IS };

typedef struct grid_tpl {
    const char *category;
    const char *problem;
    const char *dept;
    int dept_of; /* DEPT_*: prefix the village, township or county name */
    int spot;    /* SPOT_HOME: a building; SPOT_AREA: the area */
} grid_tpl;

static const grid_tpl grid_tpls[] = {
    {"城市管理", "楼道堆放杂物", "物业服务中心", DEPT_AS_IS, SPOT_HOME},
    {"城市管理", "电动车在楼道充电", "", DEPT_VILLAGE, SPOT_HOME},
    {"城市管理", "路灯不亮", "城管执法中队", DEPT_TOWNSHIP, SPOT_AREA},
    {"城市管理", "下水道堵塞", "市政设施维护中心", DEPT_COUNTY, SPOT_AREA},
    {"城市管理", "占道经营", "城管执法中队", DEPT_TOWNSHIP, SPOT_AREA},
    {"城市管理", "违章搭建", "城管执法中队", DEPT_TOWNSHIP, SPOT_AREA},
    {"城市管理", "垃圾未及时清运", "环卫所", DEPT_TOWNSHIP, SPOT_AREA},
    {"城市管理", "井盖缺失", "市政设施维护中心", DEPT_COUNTY, SPOT_AREA},
    {"城市管理", "噪音扰民", "城管执法中队", DEPT_TOWNSHIP, SPOT_HOME},
    {"民生服务", "独居老人需要帮扶", "", DEPT_VILLAGE, SPOT_HOME},
    {"民生服务", "群众反映低保申请进度", "民政办", DEPT_TOWNSHIP, SPOT_HOME},
    {"民生服务", "群众反映医保缴费问题", "医疗保障服务站", DEPT_TOWNSHIP,
     SPOT_HOME},
    {"民生服务", "停水", "自来水公司", DEPT_AS_IS, SPOT_AREA},
    {"民生服务", "群众需咨询社保卡办理", "社会保障服务站", DEPT_TOWNSHIP,
     SPOT_HOME},
    {"民生服务", "残疾人需申请补贴", "残疾人联合会", DEPT_COUNTY, SPOT_HOME},
    {"民生服务", "公交站点设置不合理", "交通运输局", DEPT_COUNTY, SPOT_AREA},
    {"矛盾劝解", "邻里因噪音发生争吵", "人民调解委员会", DEPT_VILLAGE,
     SPOT_HOME},
    {"矛盾劝解", "家庭成员争吵需要劝解", "", DEPT_VILLAGE, SPOT_HOME},
    {"矛盾劝解", "因停车位发生口角", "物业服务中心", DEPT_AS_IS, SPOT_AREA},
    {"治安防控", "门禁损坏", "物业服务中心", DEPT_AS_IS, SPOT_AREA},
    {"治安防控", "监控探头损坏", "派出所", DEPT_TOWNSHIP, SPOT_AREA},
    {"治安防控", "有可疑人员徘徊", "派出所", DEPT_TOWNSHIP, SPOT_AREA},
    {"治安防控", "出租屋未登记流动人口", "派出所", DEPT_TOWNSHIP, SPOT_HOME},
    {"特殊人群服务管理", "严重精神障碍患者需落实随访", "卫生院", DEPT_TOWNSHIP,
     SPOT_HOME},
    {"特殊人群服务管理", "社区矫正对象需走访", "司法所", DEPT_TOWNSHIP,
     SPOT_HOME},
    {"特殊人群服务管理", "刑释人员需帮扶就业", "司法所", DEPT_TOWNSHIP,
     SPOT_HOME},
    {"社情民意", "群众反映物业收费不合理", "住房和城乡建设局", DEPT_COUNTY,
     SPOT_AREA},
    {"社情民意", "群众反映道路破损", "交通运输局", DEPT_COUNTY, SPOT_AREA},
    {"政策法规宣传", "需开展反诈宣传入户", "派出所", DEPT_TOWNSHIP, SPOT_AREA},
    {"政策法规宣传", "需宣传防溺水知识", "", DEPT_VILLAGE, SPOT_AREA},
    {"突发事件", "居民楼发生火情", "消防救援大队", DEPT_COUNTY, SPOT_HOME},
    {"突发事件", "暴雨导致道路积水", "应急管理办", DEPT_TOWNSHIP, SPOT_AREA},
    {"突发事件", "树木倒伏阻断道路", "城管执法中队", DEPT_TOWNSHIP, SPOT_AREA},
    {"其他", "群众需咨询其他事项", "", DEPT_VILLAGE, SPOT_AREA},
};

static const grid_tpl *grid_template(gen *g, const char *category)
{
    const grid_tpl *found[12] = {NULL};
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_LEN(grid_tpls) && n < ARRAY_LEN(found); i++) {
        if (strcmp(grid_tpls[i].category, category) == 0)
            found[n++] = &grid_tpls[i];
    }
    return n ? found[rng_below(&g->rng, n)] : &grid_tpls[0];
}

static void gen_grid_event(gen *g)
{
    gen_place pl;
    gen_person reporter, worker;
    char addr[GEN_ADDR_MAX], spot[GEN_NAME_MAX * 2], where[512];
    char text[1024], grid_code[32], dept[256];

    gen_place_pick(g, &pl);
    gen_person_make(g, &reporter, &pl, 18, 85);
    gen_person_make(g, &worker, &pl, 25, 55);
    int64_t t0 = gen_when(g, 365);
    const char *category = ENUM_PICK(g, "category", grid_category_w, 0);
    const grid_tpl *tpl = grid_template(g, category);
    const char *source = ENUM_PICK(g, "source", grid_source_w, 0);
    bool citizen =
        strcmp(source, "群众自报") == 0 || strcmp(source, "12345热线") == 0 ||
        strcmp(source, "110分流") == 0 || strcmp(source, "信访") == 0;

    /* Grid code: village code + 3-digit grid number (DOMAIN 2.5). */
    unsigned grids = 3 + (unsigned)(gen_hash(pl.code) % 8);
    snprintf(grid_code, sizeof(grid_code), "%s%03u", pl.code,
             1 + (unsigned)rng_below(&g->rng, grids));
    gen_spot(spot, &pl);
    if (tpl->spot == SPOT_HOME && pl.urban)
        snprintf(where, sizeof(where), "%s%d栋", spot, pl.building);
    else
        snprintf(where, sizeof(where), "%s", spot);
    switch (tpl->dept_of) {
    case DEPT_VILLAGE:
        /* "" is the village's own committee. */
        snprintf(dept, sizeof(dept), "%s%s", pl.village,
                 *tpl->dept ? tpl->dept
                 : pl.urban ? "居民委员会"
                            : "村民委员会");
        break;
    case DEPT_TOWNSHIP:
        snprintf(dept, sizeof(dept), "%s%s", pl.township, tpl->dept);
        break;
    case DEPT_COUNTY:
        snprintf(dept, sizeof(dept), "%s%s", pl.county, tpl->dept);
        break;
    default:
        snprintf(dept, sizeof(dept), "%s", tpl->dept);
        break;
    }
    if (citizen)
        snprintf(text, sizeof(text), "群众%s反映%s%s，请%s处理。",
                 reporter.name, where, tpl->problem, dept);
    else if (strcmp(source, "网格员巡查") == 0)
        snprintf(text, sizeof(text), "%s巡查发现%s%s，已拍照上报，请%s处理。",
                 worker.name, where, tpl->problem, dept);
    else
        snprintf(text, sizeof(text), "%s：%s%s，请%s处理。", source, where,
                 tpl->problem, dept);

    const char *urgency = ENUM_PICK(g, "urgency", grid_urgency_w, 0);
    int64_t limit = strcmp(urgency, "紧急") == 0   ? 24 * MS_PER_HOUR
                    : strcmp(urgency, "复杂") == 0 ? 15 * MS_PER_DAY
                                                   : 4 * MS_PER_DAY;
    /* Closure log-normal, median 1.5 days (DOMAIN 6.4). */
    int64_t took = gen_duration(g,
                                36 * (strcmp(urgency, "紧急") == 0   ? 0.2
                                      : strcmp(urgency, "复杂") == 0 ? 4
                                                                     : 1),
                                0.9);
    /* Urgent events are handled at once; the rest in office hours. */
    if (strcmp(urgency, "紧急") != 0)
        took = gen_office(g, t0 + took) - t0;
    int64_t age = g->now_ms - t0;
    bool rejected = rng_chance(&g->rng, 0.01);
    bool closed =
        !rejected && t0 + took < g->now_ms && rng_chance(&g->rng, 0.985);
    const char *status;
    if (rejected)
        status = "不予受理";
    else if (closed)
        status = "结案";
    else if (age < 2 * MS_PER_HOUR)
        status = "上报";
    else if (age < 6 * MS_PER_HOUR)
        status = rng_chance(&g->rng, 0.8) ? "受理" : "自办";
    else if (age < took / 3)
        status = rng_chance(&g->rng, 0.9) ? "派遣" : "上报上级";
    else if (age < took * 2 / 3)
        status = rng_chance(&g->rng, 0.95) ? "处置中" : "回退";
    else
        status = rng_chance(&g->rng, 0.6) ? "处置反馈" : "核查";
    /* Overdue: ~3% 黄牌, ~0.5% 红牌 overall. */
    const char *supervise = "无";
    if (!rejected && took > limit) {
        double x = rng_unit(&g->rng);
        if (x < 0.02)
            supervise = "红牌督办";
        else if (x < 0.14)
            supervise = "黄牌督办";
        else if (x < 0.3)
            supervise = "普通督办";
    }

    rec_text(g, "division", pl.code);
    rec_text(g, "grid_code", grid_code);
    rec_text(g, "category", category);
    rec_text(g, "subject", tpl->problem);
    rec_text(g, "description", text);
    rec_text(g, "source", source);
    if (citizen) {
        rec_text(g, "reporter_name", reporter.name);
        if (reporter.has_phone)
            rec_text(g, "reporter_phone", reporter.phone);
    }
    rec_text(g, "grid_worker", worker.name);
    rec_time(g, "occurred_at",
             t0 - (int64_t)rng_below(&g->rng, 120) * MS_PER_MIN);
    gen_address(addr, &pl);
    rec_text(g, "address", addr);
    rec_real(g, "lon", pl.lon);
    rec_real(g, "lat", pl.lat);
    rec_int(g, "involved_count",
            rng_chance(&g->rng, 0.8) ? rng_int(&g->rng, 1, 3)
                                     : rng_int(&g->rng, 4, 30));
    rec_text(g, "urgency", urgency);
    rec_text(g, "status", status);
    if (!rejected && strcmp(status, "上报") != 0)
        rec_text(g, "handling_unit", dept);
    rec_text(g, "supervise_level", supervise);
    rec_time(g, "deadline", t0 + limit);
    if (closed) {
        char feedback[512];
        if (citizen)
            snprintf(feedback, sizeof(feedback),
                     "%s已处理完毕，网格员%s现场核查属实，已回访反映人%s。",
                     dept, worker.name, reporter.name);
        else
            snprintf(feedback, sizeof(feedback),
                     "%s已处理完毕，网格员%s现场核查属实。", dept, worker.name);
        rec_text(g, "feedback", feedback);
        rec_text(g, "satisfaction",
                 ENUM_PICK(g, "satisfaction", satisfaction_w, 0));
    }
    bool cross = strncmp(pl.code, "4303", 4) == 0 && rng_chance(&g->rng, 0.002);
    rec_bool(g, "cross_region", cross);
    if (cross)
        rec_text(g, "partner_city", gen_partner_city(g, &pl));
    if (closed || rejected)
        rec_time(g, "closed_at", t0 + (rejected ? 4 * MS_PER_HOUR : took));
    rec_emit(g);
}

/* ---- key_person 重点人群 ----------------------------------------------- */

/* Stock per 10,000 residents (DOMAIN 6.4). */
static const gen_weight key_person_w[] = {
    {"严重精神障碍患者", 45}, {"刑满释放人员", 20},  {"重点青少年", 10},
    {"吸毒人员", 6},          {"社区矫正对象", 4},   {"信访重点人员", 2},
    {"涉稳人员", 1},          {"艾滋病危险人员", 1},
};

static const gen_weight danger_w[] = {
    {"0级", 75}, {"1级", 12},  {"2级", 7},
    {"3级", 4},  {"4级", 1.5}, {"5级", 0.5},
};

static const gen_weight correction_w[] = {
    {"缓刑", 85},
    {"假释", 8},
    {"暂予监外执行", 5},
    {"管制", 2},
};

static const gen_weight drug_status_w[] = {
    {"戒断三年未复吸", 35}, {"社区戒毒", 25}, {"社区康复", 25},
    {"强制隔离戒毒", 10},   {"现吸", 5},
};

static const gen_weight control_w[] = {
    {"绿", 60},
    {"黄", 30},
    {"橙", 8},
    {"红", 2},
};

static const gen_weight whereabouts_w[] = {
    {"正常在管", 90},
    {"外出", 7},
    {"异常", 2},
    {"失联", 1},
};

static const gen_weight visit_method_w[] = {
    {"面访", 70},
    {"电话", 25},
    {"视频", 5},
};

static const gen_weight treatment_w[] = {
    {"治疗中", 80},
    {"已康复", 12},
    {"未接受治疗", 8},
};

static const gen_weight removal_w[] = {
    {"期满解除", 60}, {"迁出", 15}, {"康复", 12}, {"死亡", 8}, {"其他", 5},
};

/* The six severe mental disorders of the national management scheme. */
static const char *const diagnoses[] = {
    "精神分裂症",     "双相情感障碍",     "偏执性精神病",
    "分裂情感性障碍", "癫痫所致精神障碍", "精神发育迟滞伴发精神障碍",
};

static const char *const charges[] = {
    "危险驾驶罪",
    "盗窃罪",
    "故意伤害罪",
    "诈骗罪",
    "帮助信息网络犯罪活动罪",
    "交通肇事罪",
    "寻衅滋事罪",
    "开设赌场罪",
};

static void gen_key_person(gen *g)
{
    gen_place pl;
    gen_person p, guardian, worker;
    char addr[GEN_ADDR_MAX], notes[512];

    gen_place_pick(g, &pl);
    const char *category = ENUM_PICK(g, "category", key_person_w, 0);
    bool youth = strcmp(category, "重点青少年") == 0;
    bool mental = strcmp(category, "严重精神障碍患者") == 0;
    gen_person_make(g, &p, &pl, youth ? 8 : 18, youth ? 25 : 85);
    gen_person_make(g, &guardian, &pl, youth ? 30 : 25, youth ? 70 : 80);
    gen_person_make(g, &worker, &pl, 25, 55);
    int64_t enrolled = g->now_ms -
                       (int64_t)rng_int(&g->rng, 2, 5 * 365) * MS_PER_DAY -
                       (int64_t)rng_below(&g->rng, 86400) * 1000;
    int64_t visit = gen_when(g, 90);
    if (visit < enrolled)
        visit = enrolled + (g->now_ms - enrolled) / 2;

    rec_text(g, "division", pl.code);
    rec_text(g, "category", category);
    rec_text(g, "name", p.name);
    rec_text(g, "id_number", p.id_number);
    if (p.has_phone)
        rec_text(g, "phone", p.phone);
    gen_address(addr, &pl);
    rec_text(g, "address", addr);

    const char *control = NULL;
    if (mental) {
        const char *danger = ENUM_PICK(g, "danger_level", danger_w, 0);
        rec_text(g, "danger_level", danger);
        rec_text(g, "diagnosis", PICK(&g->rng, diagnoses));
        rec_text(g, "treatment_status",
                 ENUM_PICK(g, "treatment_status", treatment_w, 0));
        control = danger[0] >= '3'   ? "红"
                  : danger[0] == '2' ? "橙"
                  : danger[0] == '1' ? "黄"
                                     : "绿";
        snprintf(notes, sizeof(notes),
                 "%s入户走访，%s情绪稳定，按时服药，监护人%s在家。",
                 worker.name, p.name, guardian.name);
    } else if (strcmp(category, "社区矫正对象") == 0) {
        rec_text(g, "correction_type",
                 ENUM_PICK(g, "correction_type", correction_w, 0));
        rec_time(g, "correction_until",
                 gen_day_after(g, g->now_ms, rng_int(&g->rng, 30, 1000)));
        rec_text(g, "original_charge", PICK(&g->rng, charges));
        snprintf(notes, sizeof(notes),
                 "%s走访，%s按时到司法所报到，遵守监管规定。", worker.name,
                 p.name);
    } else if (strcmp(category, "刑满释放人员") == 0) {
        rec_text(g, "original_charge", PICK(&g->rng, charges));
        rec_time(g, "release_date",
                 gen_day_after(g, enrolled, -rng_int(&g->rng, 1, 30)));
        snprintf(notes, sizeof(notes), "%s走访，%s在本地务工，生活稳定。",
                 worker.name, p.name);
    } else if (strcmp(category, "吸毒人员") == 0) {
        rec_text(g, "drug_status",
                 ENUM_PICK(g, "drug_status", drug_status_w, 0));
        snprintf(notes, sizeof(notes), "%s走访，%s按期参加尿检，结果阴性。",
                 worker.name, p.name);
    } else if (youth) {
        rec_text(g, "youth_type", ENUM_ANY(g, "youth_type"));
        snprintf(notes, sizeof(notes),
                 "%s走访，%s近期表现平稳，已与监护人%s沟通帮扶措施。",
                 worker.name, p.name, guardian.name);
    } else if (strcmp(category, "艾滋病危险人员") == 0) {
        snprintf(notes, sizeof(notes), "%s电话随访，%s按时服药。", worker.name,
                 p.name);
    } else {
        snprintf(notes, sizeof(notes), "%s走访，%s诉求已登记，情绪平稳。",
                 worker.name, p.name);
    }
    rec_text(g, "control_level",
             control ? control : ENUM_PICK(g, "control_level", control_w, 0));
    rec_text(g, "whereabouts", ENUM_PICK(g, "whereabouts", whereabouts_w, 0));
    if (mental || youth) {
        rec_text(g, "guardian_name", guardian.name);
        if (guardian.has_phone)
            rec_text(g, "guardian_phone", guardian.phone);
    }
    rec_text(g, "responsible_grid_worker", worker.name);
    rec_time(g, "last_visit_at", visit);
    rec_text(g, "visit_method",
             ENUM_PICK(g, "visit_method", visit_method_w, 0));
    rec_text(g, "visit_notes", notes);
    rec_time(g, "enrolled_at", enrolled);
    if (rng_chance(&g->rng, 0.05)) {
        rec_time(g, "removed_at", visit + (g->now_ms - visit) / 2);
        rec_text(g, "removal_reason",
                 ENUM_PICK(g, "removal_reason", removal_w, 0));
    }
    rec_emit(g);
}

/* ---- supervision 督办/督导 --------------------------------------------- */

static const gen_weight supervision_kind_w[] = {
    {"督办", 80},
    {"挂牌督办", 15},
    {"通报", 3},
    {"约谈", 2},
};

static const gen_weight supervision_level_w[] = {
    {"普通督办", 70},
    {"黄牌督办", 22},
    {"红牌督办", 8},
};

static const gen_weight supervision_result_w[] = {
    {"按期完成", 85},
    {"逾期", 10},
    {"升级督办", 5},
};

/* Short forms of issuers in document numbers (文号). */
static const char *gen_doc_prefix(const char *issuer)
{
    static const struct {
        const char *prefix, *abbr;
    } abbrs[] = {
        {"430302", "雨"},   {"430304", "岳"},   {"430321", "潭县"},
        {"430381", "湘乡"}, {"430382", "韶"},   {"430371", "潭高新"},
        {"430372", "昭山"}, {"430373", "九华"}, {"4303", "潭"},
    };
    for (size_t i = 0; i < ARRAY_LEN(abbrs); i++) {
        if (strncmp(issuer, abbrs[i].prefix, strlen(abbrs[i].prefix)) == 0)
            return abbrs[i].abbr;
    }
    return "平";
}

static void gen_supervision(gen *g)
{
    gen_place pl;
    gen_person leader, head;
    char division[PG_CODE_LEN + 1], issuer[PG_CODE_LEN + 1];
    char target[256], issuing_unit[256], text[1024], ref[48], doc[64];
    char when[32];

    gen_place_pick(g, &pl);
    gen_person_make(g, &leader, &pl, 35, 58);
    gen_person_make(g, &head, &pl, 30, 58);

    /* The addressee: mostly townships, then counties, then villages;
     * never above the scope.  The issuer is a tier above it. */
    pg_tier tier = PG_TIER_TOWNSHIP;
    double x = rng_unit(&g->rng);
    if (x < 0.2)
        tier = PG_TIER_COUNTY;
    else if (x < 0.3)
        tier = PG_TIER_COMMUNITY;
    tier = gen_place_tier(g, division, &pl, tier);
    bool by_city = tier == PG_TIER_COUNTY || rng_chance(&g->rng, 0.3);
    if (by_city)
        memcpy(issuer, pl.city_code, sizeof(issuer));
    else if (tier == PG_TIER_COMMUNITY && rng_chance(&g->rng, 0.5))
        memcpy(issuer, pl.township_code, sizeof(issuer));
    else
        memcpy(issuer, pl.county_code, sizeof(issuer));
    if (strcmp(issuer, pl.city_code) == 0)
        snprintf(issuing_unit, sizeof(issuing_unit), "%s平安建设领导小组办公室",
                 pl.city);
    else if (strcmp(issuer, pl.county_code) == 0)
        snprintf(issuing_unit, sizeof(issuing_unit), "%s平安建设领导小组办公室",
                 pl.county);
    else
        snprintf(issuing_unit, sizeof(issuing_unit), "%s综治中心", pl.township);
    if (tier == PG_TIER_COUNTY)
        snprintf(target, sizeof(target), "%s人民政府", pl.county);
    else if (tier == PG_TIER_TOWNSHIP)
        snprintf(target, sizeof(target), "%s%s", pl.township,
                 strstr(pl.township, "街道") ? "办事处" : "人民政府");
    else
        snprintf(target, sizeof(target), "%s%s", pl.village,
                 pl.urban ? "居民委员会" : "村民委员会");

    int64_t t0 = gen_when(g, 365);
    const char *kind = ENUM_PICK(g, "kind", supervision_kind_w, 0);
    const char *subject_type, *reason;
    if (strcmp(kind, "挂牌督办") == 0) {
        subject_type = "风险隐患";
        reason = "重大隐患";
    } else if (strcmp(kind, "督办") == 0) {
        static const gen_weight subj[] = {{"网格事项", 70},
                                          {"矛盾纠纷", 15},
                                          {"风险隐患", 10},
                                          {"电诈预警", 5}};
        subject_type = PICK_WEIGHT(&g->rng, subj);
        static const gen_weight why[] = {{"超期未办结", 75},
                                         {"群众不满意", 12},
                                         {"重复上报", 8},
                                         {"工作措施落实不力", 5}};
        reason = PICK_WEIGHT(&g->rng, why);
    } else {
        static const gen_weight subj[] = {
            {"平安建设考核", 50}, {"案事件", 35}, {"其他", 15}};
        subject_type = PICK_WEIGHT(&g->rng, subj);
        static const gen_weight why[] = {{"考核评价不合格", 30},
                                         {"连续发生重大案事件", 20},
                                         {"发生特别重大案事件", 5},
                                         {"突出问题整治不力", 25},
                                         {"工作措施落实不力", 20}};
        reason = PICK_WEIGHT(&g->rng, why);
    }
    int days = strcmp(kind, "挂牌督办") == 0 ? rng_int(&g->rng, 30, 90)
                                             : rng_int(&g->rng, 3, 15);
    int64_t deadline = gen_day_after(g, t0, days);
    gen_date_text(when, deadline);
    if (strcmp(kind, "约谈") == 0)
        snprintf(text, sizeof(text),
                 "针对%s问题，请%s主要负责同志于%s前报送书面整改方案，"
                 "并在一个月内整改到位。",
                 reason, target, when);
    else
        snprintf(text, sizeof(text),
                 "请%s高度重视，于%s前完成整改，并书面报送整改情况。", target,
                 when);
    snprintf(doc, sizeof(doc), "%s平安办%s〔%d〕%d号", gen_doc_prefix(issuer),
             strcmp(kind, "通报") == 0 ? "通" : "督", cst_year(t0),
             rng_int(&g->rng, 1, 60));

    rec_text(g, "division", division);
    rec_text(g, "kind", kind);
    if (strcmp(kind, "督办") == 0)
        rec_text(g, "level", ENUM_PICK(g, "level", supervision_level_w, 0));
    else if (strcmp(kind, "挂牌督办") == 0)
        rec_text(g, "level",
                 rng_chance(&g->rng, 0.5) ? "红牌督办" : "黄牌督办");
    rec_text(g, "issuing_node", issuer);
    rec_text(g, "issuing_unit", issuing_unit);
    rec_text(g, "target_unit", target);
    rec_text(g, "subject_type", subject_type);
    if (strcmp(subject_type, "平安建设考核") != 0 &&
        strcmp(subject_type, "其他") != 0) {
        gen_record_id(g, ref, pl.code, t0 - gen_duration(g, 24 * 7, 0.7));
        rec_text(g, "subject_ref", ref);
    }
    rec_text(g, "reason", reason);
    rec_text(g, "requirements", text);
    if (strcmp(kind, "约谈") == 0) {
        char who[512];
        snprintf(who, sizeof(who), "%s主要负责人%s、分管负责人%s", target,
                 leader.name, head.name);
        rec_text(g, "attendees", who);
    }
    if (strcmp(kind, "督办") != 0 || rng_chance(&g->rng, 0.3))
        rec_text(g, "document_no", doc);
    rec_time(g, "issued_at", t0);
    rec_time(g, "deadline", deadline);

    /* Lifecycle: 已下达 → 已签收 → 整改中 → 已整改 → 已核验. */
    int64_t age = g->now_ms - t0;
    int64_t respond =
        gen_office(g, t0 + gen_duration(g, 24.0 * days * 0.6, 0.5)) - t0;
    const char *status;
    bool verified = false;
    if (age < 4 * MS_PER_HOUR)
        status = "已下达";
    else if (age < MS_PER_DAY)
        status = "已签收";
    else if (age < respond)
        status = "整改中";
    else if (age < respond + 3 * MS_PER_DAY)
        status = "已整改";
    else {
        status = rng_chance(&g->rng, 0.02) ? "已撤销" : "已核验";
        verified = strcmp(status, "已核验") == 0;
    }
    rec_text(g, "status", status);
    if (age >= respond && strcmp(kind, "通报") != 0) {
        char date[32];
        gen_date_text(date, t0 + respond);
        snprintf(text, sizeof(text),
                 "已于%s完成整改，落实专人跟踪，相关情况已报%s。经办人：%s。",
                 date, issuing_unit, head.name);
        rec_text(g, "response", text);
        rec_time(g, "responded_at", t0 + respond);
    }
    if (verified) {
        const char *result =
            t0 + respond > deadline
                ? (rng_chance(&g->rng, 0.7) ? "逾期" : "升级督办")
                : ENUM_PICK(g, "result", supervision_result_w, 0);
        rec_text(g, "result", result);
        /* Checked within two days of the report (status needs three). */
        int64_t check = gen_duration(g, 24, 0.5);
        if (check > 48 * MS_PER_HOUR)
            check = 48 * MS_PER_HOUR;
        rec_time(g, "closed_at", gen_office(g, t0 + respond + check));
    }
    rec_emit(g);
}

/* ---- volunteer 平安积分 ------------------------------------------------ */

static const gen_weight volunteer_team_w[] = {
    {"综治巡逻队", 25}, {"红袖套公益志愿者", 25}, {"楼栋长", 10},
    {"调解志愿者", 8},  {"反诈宣传队", 8},        {"门卫保安", 5},
    {"禁毒志愿者", 4},  {"应急救援队", 4},        {"养老助残", 4},
    {"助教", 2},        {"扶贫济困", 2},          {"文体", 3},
};

static const gen_weight volunteer_status_w[] = {
    {"正常", 85},
    {"待审核", 5},
    {"暂停", 5},
    {"已注销", 5},
};

static const gen_weight volunteer_activity_w[] = {
    {"治安巡逻", 35},    {"隐患/线索上报", 15}, {"反诈宣传", 12},
    {"矛盾调解协助", 8}, {"文明劝导", 8},       {"防溺水劝导", 5},
    {"禁毒宣传", 4},     {"社情民意调查", 5},   {"应急演练参与", 3},
    {"平安法治宣传", 4}, {"应急处置支援", 1},
};

static void gen_volunteer(gen *g)
{
    gen_place pl;
    gen_person p;

    gen_place_pick(g, &pl);
    gen_person_make(g, &p, &pl, 18, 75);
    /* Retirees are the backbone of patrols: favour ages 50-70. */
    if (p.age < 45 && rng_chance(&g->rng, 0.4))
        gen_person_make(g, &p, &pl, 50, 70);
    const char *activity =
        ENUM_PICK(g, "last_activity", volunteer_activity_w, 0);
    int hours = rng_int(&g->rng, 1, 4);
    /* Points of one activity: patrol 10/h, clues 5-50, daily cap 60. */
    int points = strcmp(activity, "治安巡逻") == 0 ? 10 * hours
                 : strcmp(activity, "隐患/线索上报") == 0
                     ? rng_int(&g->rng, 5, 50)
                     : rng_int(&g->rng, 1, 30);
    if (points > 60)
        points = 60;
    int64_t last = gen_when(g, 120);
    int64_t registered =
        last - (int64_t)rng_below(&g->rng, 3 * 365) * MS_PER_DAY;

    rec_text(g, "division", pl.code);
    rec_text(g, "name", p.name);
    if (p.has_phone)
        rec_text(g, "phone", p.phone);
    if (rng_chance(&g->rng, 0.9))
        rec_text(g, "id_number", p.id_number);
    rec_text(g, "team", ENUM_PICK(g, "team", volunteer_team_w, 0));
    rec_text(g, "status", ENUM_PICK(g, "status", volunteer_status_w, 0));
    rec_int(g, "points", points);
    rec_int(g, "hours", hours);
    rec_text(g, "last_activity", activity);
    rec_time(g, "last_activity_at", last);
    rec_time(g, "registered_at", registered);
    rec_emit(g);
}

/* ---- fraud_alert 电信网络诈骗预警 -------------------------------------- */

static const gen_weight fraud_source_w[] = {
    {"国家反诈中心", 35}, {"省反诈中心", 20}, {"市反诈中心", 20},
    {"96110", 10},        {"银行", 8},        {"电信运营商", 4},
    {"支付机构", 2},      {"互联网企业", 1},
};

/* MPS case mix (DOMAIN 6.4). */
static const gen_weight fraud_type_w[] = {
    {"刷单返利", 30},
    {"虚假网络投资理财", 20},
    {"虚假网络贷款", 12},
    {"冒充电商物流客服", 12},
    {"冒充公检法", 6},
    {"网络婚恋交友", 6},
    {"网络游戏虚假交易", 5},
    {"虚假征信", 3},
    {"虚假购物服务", 2},
    {"冒充领导熟人", 2},
    {"其他", 2},
};

static const gen_weight fraud_dispatch_w[] = {
    {"派出所", 45},
    {"网格员", 30},
    {"村（社区）", 20},
    {"乡镇（街道）", 5},
};

static const gen_weight fraud_outcome_w[] = {
    {"劝阻成功", 70},
    {"无法联系", 12},
    {"误报", 10},
    {"已受骗", 8},
};

typedef struct fraud_tpl {
    const char *type;
    const char *pose; /* 冒充身份 */
    const char *step; /* 操作 */
    const char *channel;
} fraud_tpl;

static const fraud_tpl fraud_tpls[] = {
    {"刷单返利", "刷单平台客服", "垫资刷单", "APP"},
    {"虚假网络投资理财", "投资导师", "在虚假平台充值投资", "微信"},
    {"虚假网络贷款", "贷款平台客服", "缴纳保证金和解冻费", "APP"},
    {"冒充电商物流客服", "快递客服", "开通屏幕共享办理退款", "电话"},
    {"冒充公检法", "公安局民警", "将资金转入所谓安全账户", "电话"},
    {"网络婚恋交友", "网友", "在博彩平台充值", "微信"},
    {"网络游戏虚假交易", "游戏玩家", "购买游戏账号", "QQ"},
    {"虚假征信", "金融机构工作人员", "注销校园贷账户", "电话"},
    {"虚假购物服务", "卖家", "预付货款", "网站"},
    {"冒充领导熟人", "单位领导", "代为转账", "QQ"},
    {"其他", "陌生人", "转账", "短信"},
};

static const fraud_tpl *fraud_template(const char *type)
{
    for (size_t i = 0; i < ARRAY_LEN(fraud_tpls); i++) {
        if (strcmp(fraud_tpls[i].type, type) == 0)
            return &fraud_tpls[i];
    }
    return &fraud_tpls[ARRAY_LEN(fraud_tpls) - 1];
}

static void gen_fraud_alert(gen *g)
{
    gen_place pl;
    gen_person target, officer;
    char text[1024], buf[128];

    gen_place_pick(g, &pl);
    gen_person_make(g, &target, &pl, 16, 80);
    gen_person_make(g, &officer, &pl, 25, 50);
    if (!target.has_phone)
        gen_phone(g, target.phone);
    int64_t t0 = gen_when(g, 365);
    const char *type = ENUM_PICK(g, "fraud_type", fraud_type_w, 0);
    const fraud_tpl *tpl = fraud_template(type);
    const char *channel =
        rng_chance(&g->rng, 0.7) ? tpl->channel : ENUM_ANY(g, "channel");
    const char *source = ENUM_PICK(g, "alert_source", fraud_source_w, 0);
    const char *dispatched = ENUM_PICK(g, "dispatched_to", fraud_dispatch_w, 0);
    int64_t deadline = t0 + (int64_t)rng_int(&g->rng, 1, 8) * 30 * MS_PER_MIN;
    int64_t handled = t0 + gen_duration(g, 1.0, 0.8);
    int64_t age = g->now_ms - t0;
    bool done = handled < g->now_ms;
    const char *outcome =
        done ? ENUM_PICK(g, "outcome", fraud_outcome_w, 0) : NULL;
    bool victim = outcome && strcmp(outcome, "已受骗") == 0;
    double loss = 0;

    if (victim) {
        loss = gen_money(rng_lognormal(&g->rng, 8000, 1.3), 1);
        if (loss < 50)
            loss = 50;
        if (loss > 5000000)
            loss = 5000000;
        static const char *const accounts[] = {
            "对方提供的银行账户", "某第三方支付账户", "虚拟货币钱包"};
        snprintf(text, sizeof(text),
                 "受害人%s接到自称%s的%s联系，被诱导%s，共转账%.0f元至%s。",
                 target.name, tpl->pose, channel, tpl->step, loss,
                 PICK(&g->rng, accounts));
    } else {
        snprintf(text, sizeof(text),
                 "%s预警：%s疑似正在遭受%s诈骗，请%s立即联系劝阻。", source,
                 target.name, type, dispatched);
        if (outcome && strcmp(outcome, "劝阻成功") == 0) {
            size_t used = strlen(text);
            snprintf(text + used, sizeof(text) - used,
                     "%s%s上门劝阻，对方未转账。",
                     strcmp(dispatched, "派出所") == 0   ? "民警"
                     : strcmp(dispatched, "网格员") == 0 ? "网格员"
                                                         : "工作人员",
                     officer.name);
        }
    }

    rec_text(g, "division", pl.code);
    rec_text(g, "alert_source", source);
    rec_text(g, "fraud_type", type);
    rec_text(g, "channel", channel);
    rec_text(g, "target_name", target.name);
    rec_text(g, "target_phone", target.phone);
    /* Suspect identifiers: virtual or overseas numbers, cards, sites. */
    double x = rng_unit(&g->rng);
    if (x < 0.4) {
        static const char *const virt[] = {"170", "171", "165", "167", "162"};
        snprintf(buf, sizeof(buf), "%s%08u", PICK(&g->rng, virt),
                 (unsigned)rng_below(&g->rng, 100000000));
        rec_text(g, "suspect_phone", buf);
    } else if (x < 0.7) {
        static const char *const cc[] = {"+855", "+63", "+95", "+856"};
        snprintf(buf, sizeof(buf), "%s%09u", PICK(&g->rng, cc),
                 (unsigned)rng_below(&g->rng, 1000000000));
        rec_text(g, "suspect_phone", buf);
    }
    if (victim || rng_chance(&g->rng, 0.3)) {
        snprintf(buf, sizeof(buf), "62%04u%06u%06u",
                 (unsigned)rng_below(&g->rng, 10000),
                 (unsigned)rng_below(&g->rng, 1000000),
                 (unsigned)rng_below(&g->rng, 1000000));
        rec_text(g, "suspect_account", buf);
    }
    if (strcmp(channel, "APP") == 0 || strcmp(channel, "网站") == 0) {
        static const char *const tlds[] = {"top", "xyz", "vip", "cc", "app"};
        char host[16];
        for (int i = 0; i < 8; i++)
            host[i] = (char)('a' + rng_below(&g->rng, 26));
        host[8] = '\0';
        snprintf(buf, sizeof(buf), "https://%s.%s/", host, PICK(&g->rng, tlds));
        rec_text(g, "suspect_url", buf);
    }
    if (victim)
        rec_real(g, "loss_amount", loss);
    rec_text(g, "description", text);
    rec_text(g, "dispatched_to", dispatched);
    rec_time(g, "issued_at", t0);
    rec_time(g, "deadline", deadline);
    if (done) {
        rec_time(g, "handled_at", handled);
        rec_text(g, "outcome", outcome);
        rec_text(g, "status", age > 3 * MS_PER_DAY ? "已办结" : "已反馈");
    } else {
        rec_text(g, "status",
                 age < 10 * MS_PER_MIN   ? "已下发"
                 : age < 30 * MS_PER_MIN ? "已签收"
                                         : "处置中");
    }
    bool cross = rng_chance(&g->rng, 0.03);
    rec_bool(g, "cross_region", cross);
    if (cross)
        rec_text(g, "partner_city", gen_partner_city(g, &pl));
    rec_emit(g);
}

/* ---- drill 应急演练 ---------------------------------------------------- */

static const gen_weight drill_type_w[] = {
    {"实战演练", 45},
    {"桌面推演", 20},
    {"单项演练", 20},
    {"综合演练", 15},
};

static const gen_weight drill_scenario_w[] = {
    {"消防疏散", 25},  {"防汛抗洪", 12},        {"地质灾害避险", 8},
    {"燃气泄漏", 6},   {"危化品泄漏", 3},       {"反恐防暴", 6},
    {"校园安全", 10},  {"人员密集场所踩踏", 5}, {"地震", 6},
    {"防溺水救援", 8}, {"电梯困人", 6},         {"其他", 2},
};

static const char *const drill_departments[] = {
    "应急管理局", "消防救援大队", "公安局",   "卫生健康局",
    "水利局",     "自然资源局",   "教育局",   "住房和城乡建设局",
    "红十字会",   "供电公司",     "燃气公司",
};

static const char *const drill_problems[] = {
    "部分群众对疏散路线不熟悉", "应急物资储备不足", "信息报送不及时",
    "各小组衔接不够顺畅",       "应急广播覆盖不全", "老人和儿童转移耗时较长",
    "部分队员装备使用不熟练",
};

static const char *const drill_fixes[] = {
    "完善疏散标识并加强宣传", "补充应急物资并建立台账",
    "明确信息报送流程和时限", "加强联合培训和磨合",
    "增设应急广播点位",       "落实一对一转移帮扶责任人",
    "定期开展装备操作培训",
};

static void gen_drill(gen *g)
{
    gen_place pl;
    char division[PG_CODE_LEN + 1], buf[512], buf2[512];
    const char *scenario;
    int64_t planned;

    gen_place_pick(g, &pl);
    /* Flood drills April-July, fire drills in November (11·9) ×3. */
    for (;;) {
        planned = gen_when(g, 365) + 30 * MS_PER_DAY; /* some ahead */
        scenario = ENUM_PICK(g, "scenario", drill_scenario_w, 0);
        unsigned m = cst_month(planned);
        bool flood = strcmp(scenario, "防汛抗洪") == 0;
        bool fire = strcmp(scenario, "消防疏散") == 0;
        if ((!flood && !fire) || (flood && m >= 4 && m <= 7) ||
            (fire && m == 11) || rng_chance(&g->rng, 1.0 / 3))
            break;
    }
    pg_tier tier = PG_TIER_COMMUNITY;
    double x = rng_unit(&g->rng);
    if (x < 0.1)
        tier = PG_TIER_COUNTY;
    else if (x < 0.4)
        tier = PG_TIER_TOWNSHIP;
    tier = gen_place_tier(g, division, &pl, tier);
    const char *unit_name = tier == PG_TIER_COUNTY     ? pl.county
                            : tier == PG_TIER_TOWNSHIP ? pl.township
                                                       : pl.village;
    const char *type = ENUM_PICK(g, "drill_type", drill_type_w, 0);

    rec_text(g, "division", division);
    snprintf(buf, sizeof(buf), "YL%.12s-%d-%03d", division, cst_year(planned),
             rng_int(&g->rng, 1, 120));
    rec_text(g, "drill_no", buf);
    snprintf(buf, sizeof(buf), "%d年%s%s%s", cst_year(planned), unit_name,
             scenario, type);
    rec_text(g, "drill_name", buf);
    rec_text(g, "drill_type", type);
    rec_text(g, "scenario", scenario);
    if (tier == PG_TIER_COUNTY)
        snprintf(buf, sizeof(buf), "%s应急管理局", pl.county);
    else if (tier == PG_TIER_TOWNSHIP)
        snprintf(buf, sizeof(buf), "%s%s", pl.township,
                 strstr(pl.township, "街道") ? "办事处" : "人民政府");
    else
        snprintf(buf, sizeof(buf), "%s%s", pl.village,
                 pl.urban ? "居民委员会" : "村民委员会");
    rec_text(g, "organiser", buf);
    snprintf(buf, sizeof(buf), "%s%s专项应急预案", unit_name, scenario);
    rec_text(g, "plan_ref", buf);
    rec_time(g, "planned_at", planned);

    int64_t age = g->now_ms - planned;
    const char *status;
    if (age < -14 * MS_PER_DAY)
        status = "计划";
    else if (age < 0)
        status = "审批";
    else if (age < 3 * MS_PER_DAY)
        status = "实施";
    else if (age < 15 * MS_PER_DAY)
        status = "总结评估";
    else if (age < 45 * MS_PER_DAY)
        status = rng_chance(&g->rng, 0.6) ? "整改" : "归档";
    else
        status = "归档";
    bool held = age >= 0;
    if (held)
        rec_time(g, "executed_at", planned);
    if (tier == PG_TIER_COMMUNITY)
        snprintf(buf, sizeof(buf), "%s%s", pl.village,
                 pl.urban ? PICK(&g->rng, estates) : "村部广场");
    else
        snprintf(buf, sizeof(buf), "%s%s", unit_name,
                 strcmp(scenario, "校园安全") == 0 ? "中心小学" : "应急广场");
    rec_text(g, "location", buf);
    int people = tier == PG_TIER_COMMUNITY  ? rng_int(&g->rng, 20, 300)
                 : tier == PG_TIER_TOWNSHIP ? rng_int(&g->rng, 60, 800)
                                            : rng_int(&g->rng, 100, 2000);
    rec_int(g, "participants", people);
    size_t a = rng_below(&g->rng, ARRAY_LEN(drill_departments));
    size_t b = (a + 1 + rng_below(&g->rng, ARRAY_LEN(drill_departments) - 1)) %
               ARRAY_LEN(drill_departments);
    snprintf(buf, sizeof(buf), "%s%s、%s%s、%s人民政府", pl.county,
             drill_departments[a], pl.county, drill_departments[b],
             pl.township);
    rec_text(g, "departments", buf);
    if (held && age >= 3 * MS_PER_DAY) {
        size_t p = rng_below(&g->rng, ARRAY_LEN(drill_problems));
        rec_int(g, "evaluation_score", rng_int(&g->rng, 65, 98));
        snprintf(buf, sizeof(buf), "%s；%s。", drill_problems[p],
                 drill_problems[(p + 3) % ARRAY_LEN(drill_problems)]);
        rec_text(g, "problems", buf);
        snprintf(buf2, sizeof(buf2), "%s；%s。", drill_fixes[p],
                 drill_fixes[(p + 3) % ARRAY_LEN(drill_fixes)]);
        rec_text(g, "improvements", buf2);
    }
    rec_text(g, "status", status);
    bool cross = strncmp(pl.code, "4303", 4) == 0 &&
                 strncmp(pl.county_code, "430302", 6) != 0 &&
                 rng_chance(&g->rng, 0.03);
    rec_bool(g, "cross_region", cross);
    if (cross)
        rec_text(g, "partner_city", gen_partner_city(g, &pl));
    rec_emit(g);
}

/* ---- the interface (gen.h) ------------------------------------------ */

typedef struct gen_kind {
    const char *collection;
    void (*make)(gen *g);
} gen_kind;

static const gen_kind gen_kinds[] = {
    {"hazard", gen_hazard},           {"dispute", gen_dispute},
    {"grid_event", gen_grid_event},   {"key_person", gen_key_person},
    {"supervision", gen_supervision}, {"volunteer", gen_volunteer},
    {"fraud_alert", gen_fraud_alert}, {"drill", gen_drill},
};

gen *gen_new(const char *csv_path)
{
    gen *g = calloc(1, sizeof(*g));

    if (!g)
        gen_die(1, "out of memory");
    gen_load_divisions(g, csv_path);
    g->anchors = calloc(g->ndivs + 1, sizeof(*g->anchors));
    g->out_size = 1 << 16; /* records are a few KiB at most */
    g->out = malloc(g->out_size);
    if (!g->anchors || !g->out)
        gen_die(1, "out of memory");
    gen_seed(g, 1, "");
    return g;
}

void gen_set_new_records(gen *g, bool on)
{
    g->new_records = on;
}

void gen_free(gen *g)
{
    if (!g)
        return;
    free(g->out);
    free(g->anchors);
    free(g->hunan);
    free(g->divs);
    free(g);
}

void gen_seed(gen *g, uint64_t seed, const char *stream)
{
    rng_seed(&g->rng, seed, stream);
}

void gen_today(gen *g, int year, unsigned month, unsigned day, unsigned window)
{
    g->today = days_from_civil(year, month, day);
    g->now_ms = cst_midnight(g->today);
    g->window = window;
}

int64_t gen_today_ms(const gen *g)
{
    return g->now_ms;
}

const gen_division *gen_divisions(const gen *g, size_t *n)
{
    *n = g->ndivs;
    return g->divs;
}

bool gen_parse_u64(uint64_t *out, const char *s, uint64_t max)
{
    uint64_t v = 0;

    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool gen_knows(const char *collection)
{
    for (size_t i = 0; i < ARRAY_LEN(gen_kinds); i++) {
        if (strcmp(gen_kinds[i].collection, collection) == 0)
            return true;
    }
    return false;
}

const char *gen_record(gen *g, const char *collection, size_t *len)
{
    const gen_kind *kind = NULL;

    for (size_t i = 0; i < ARRAY_LEN(gen_kinds) && !kind; i++) {
        if (strcmp(gen_kinds[i].collection, collection) == 0)
            kind = &gen_kinds[i];
    }
    if (!kind || g->nanchors == 0)
        return NULL;
    const pg_collection *coll =
        pg_schema_collection(pg_schema_current(), collection);
    if (!coll)
        return NULL;
    if (coll->nfields > GEN_MAX_FIELDS)
        gen_die(1, "internal error: %s has too many fields", coll->name);
    if (g->coll != coll) {
        /* The field cache holds indexes into one collection. */
        g->coll = coll;
        g->nfield_cache = 0;
    }
    kind->make(g);
    if (len)
        *len = g->out_len;
    return g->out;
}
