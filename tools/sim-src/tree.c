/*
 * The Xiangtan tree (DOMAIN.md §2, §6.2): the city 430300, its eight
 * county-level units, their 70 townships and 951 villages and communities,
 * and the partner cities 长沙市 and 株洲市.  Codes and names come from the
 * divisions table where it has them; the villages it lacks get synthetic
 * codes with village segments 600-999, which the NBS never assigns.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#define CITY_CODE "430300000000"
/* 石潭镇: its villages are real codes of the table, and its link to 湘潭县
 * is carried by USB stick. */
#define USB_TOWNSHIP "430321112000"

/* Villages and communities per county-level unit: 岳塘 61 and 湘乡 ~340
 * are sourced, the rest is DOMAIN.md 2.2's split of the city's 951. */
static const struct {
    const char *code;
    unsigned villages;
} county_villages[] = {
    {"430321000000", 340}, /* 湘潭县 first: the USB township is there */
    {"430302000000", 110}, {"430381000000", 340}, {"430304000000", 61},
    {"430382000000", 40},  {"430371000000", 20},  {"430372000000", 15},
    {"430373000000", 25},
};

static const char *const partners[][2] = {
    {"430100000000", "长沙市"},
    {"430200000000", "株洲市"},
};

/* Stems for synthetic village names; 村 or 社区 is added. */
static const char *const stems[] = {
    "新华", "和平", "红旗", "建设", "光明", "友谊", "团结", "五星", "长塘",
    "双江", "金星", "白竹", "青山", "石桥", "桃花", "杨柳", "枫树", "荷叶",
    "龙泉", "凤形", "茶园", "梅林", "竹山", "花桥", "黄龙", "清泉", "响塘",
    "大坪", "高塘", "新塘", "柳塘", "泉湖", "东升", "向阳", "联合", "永兴",
};

/* The divisions table, as the generator read it. */
typedef struct table {
    const gen_division *rows;
    size_t n;
} table;

static const gen_division *table_find(const table *tb, const char *code)
{
    for (size_t i = 0; i < tb->n; i++) {
        if (strcmp(tb->rows[i].code, code) == 0)
            return &tb->rows[i];
    }
    return NULL;
}

static int add_node(sim_tree *t, const char *code, const char *name, int parent)
{
    sim_node *n = sim_push(&t->buf, sizeof(*n));

    if (!n)
        return -1;
    t->nodes = (sim_node *)t->buf.data;
    snprintf(n->code, sizeof(n->code), "%s", code);
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->tier = pg_division_tier(code);
    n->parent = parent;
    return (int)t->n++;
}

/* 街道 are urban, and so are their communities; 镇 and 乡 mostly rural. */
static bool name_is_urban(const char *name)
{
    return strstr(name, "街道") || strstr(name, "社区") ||
           strstr(name, "居委会");
}

/* The villages of one township: the table's first, then synthetic ones
 * (segments 600 up) until it has @p want. */
static int add_villages(sim_tree *t, const table *tb, int town, unsigned want)
{
    unsigned have = 0;
    char code[PG_CODE_LEN + 1];
    char prefix[PG_CODE_LEN + 1]; /* a copy: adding nodes moves them */
    bool urban = name_is_urban(t->nodes[town].name);

    memcpy(prefix, t->nodes[town].code, sizeof(prefix));

    for (size_t i = 0; i < tb->n; i++) {
        const gen_division *r = &tb->rows[i];
        if (r->tier != PG_TIER_COMMUNITY || strncmp(r->code, prefix, 9) != 0)
            continue;
        int v = add_node(t, r->code, r->name, town);
        if (v < 0)
            return -1;
        t->nodes[v].real = true;
        t->nodes[v].urban = name_is_urban(r->name);
        have++;
    }
    for (unsigned seg = 600; have < want && seg <= 999; seg++) {
        char name[SIM_NAME_MAX];
        memcpy(code, prefix, 9);
        snprintf(code + 9, 4, "%03u", seg);
        /* A name from the code, so a code always has the same name. */
        uint64_t h = 1469598103934665603u;
        for (const char *p = code; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211u;
        snprintf(name, sizeof(name), "%s%s",
                 stems[h % (sizeof(stems) / sizeof(stems[0]))],
                 urban ? "社区" : "村");
        int v = add_node(t, code, name, town);
        if (v < 0)
            return -1;
        t->nodes[v].urban = urban;
        have++;
    }
    return 0;
}

/* How many villages each of a county's townships gets: the table's own
 * first, then one at a time to the township with the fewest, until the
 * county has its total. */
static void share_villages(unsigned *quota, const unsigned *real, size_t k,
                           unsigned total)
{
    unsigned sum = 0;

    for (size_t i = 0; i < k; i++) {
        quota[i] = real[i];
        sum += real[i];
    }
    while (sum < total) {
        size_t best = 0;
        for (size_t i = 1; i < k; i++) {
            if (quota[i] < quota[best])
                best = i;
        }
        quota[best]++;
        sum++;
    }
}

static int build_full(sim_tree *t, const table *tb, char *err, size_t errlen)
{
    const gen_division *city = table_find(tb, CITY_CODE);

    if (!city) {
        snprintf(err, errlen, "the divisions table has no city %s", CITY_CODE);
        return -1;
    }
    t->city = add_node(t, city->code, city->name, -1);
    if (t->city < 0)
        goto nomem;
    for (size_t p = 0; p < 2; p++) {
        int i = add_node(t, partners[p][0], partners[p][1], -1);
        if (i < 0)
            goto nomem;
        t->nodes[i].partner = true;
    }
    for (size_t c = 0; c < sizeof(county_villages) / sizeof(*county_villages);
         c++) {
        const gen_division *cr = table_find(tb, county_villages[c].code);
        if (!cr) {
            snprintf(err, errlen, "the divisions table has no county %s",
                     county_villages[c].code);
            return -1;
        }
        int county = add_node(t, cr->code, cr->name, t->city);
        if (county < 0)
            goto nomem;
        int towns[64];
        unsigned real[64] = {0}, quota[64];
        size_t k = 0;
        for (size_t i = 0; i < tb->n; i++) {
            const gen_division *r = &tb->rows[i];
            if (r->tier != PG_TIER_TOWNSHIP || strncmp(r->code, cr->code, 6))
                continue;
            if (k == 64) {
                snprintf(err, errlen, "county %s: too many townships",
                         cr->code);
                return -1;
            }
            towns[k] = add_node(t, r->code, r->name, county);
            if (towns[k] < 0)
                goto nomem;
            for (size_t j = 0; j < tb->n; j++) {
                if (tb->rows[j].tier == PG_TIER_COMMUNITY &&
                    strncmp(tb->rows[j].code, r->code, 9) == 0)
                    real[k]++;
            }
            k++;
        }
        if (k == 0) {
            snprintf(err, errlen, "county %s has no township in the table",
                     cr->code);
            return -1;
        }
        share_villages(quota, real, k, county_villages[c].villages);
        for (size_t i = 0; i < k; i++) {
            if (add_villages(t, tb, towns[i], quota[i]) < 0)
                goto nomem;
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Mark node @p i and its ancestors; returns how many were new. */
static size_t keep_with_ancestors(const sim_tree *t, bool *keep, int i)
{
    size_t added = 0;

    for (; i >= 0 && !keep[i]; i = t->nodes[i].parent) {
        keep[i] = true;
        added++;
    }
    return added;
}

/*
 * Choose about @p want nodes: the city, the partners, then villages taken
 * in turn from each county (and in each county in turn from each
 * township), each with its ancestors, so that a small configuration still
 * has every tier, several counties and the USB township.
 */
static int choose(const sim_tree *t, bool *keep, size_t want)
{
    size_t have = 0;
    size_t n = t->n;

    keep[t->city] = true;
    have++;
    for (size_t i = 0; i < n; i++) {
        if (t->nodes[i].partner) {
            keep[i] = true;
            have++;
        }
    }
    /* The villages of each township, and a cursor into them. */
    size_t *next = calloc(n, sizeof(*next));
    if (!next)
        return -1;
    int usb = sim_tree_find(t, USB_TOWNSHIP);
    bool progress = true;
    while (have < want && progress) {
        progress = false;
        for (size_t c = 0; c < n && have < want; c++) {
            if (t->nodes[c].tier != PG_TIER_COUNTY || t->nodes[c].partner)
                continue;
            /* This county's next township in turn with a village left;
             * the USB township goes first in its county. */
            const sim_node *cn = &t->nodes[c];
            for (size_t tries = 0; tries < cn->nchildren; tries++) {
                size_t slot = next[c]++ % cn->nchildren;
                int town = cn->children[slot];
                if (usb >= 0 && t->nodes[usb].parent == (int)c && !keep[usb])
                    town = usb;
                const sim_node *tn = &t->nodes[town];
                if (next[town] >= tn->nchildren)
                    continue;
                have +=
                    keep_with_ancestors(t, keep, tn->children[next[town]++]);
                progress = true;
                break;
            }
        }
    }
    free(next);
    return 0;
}

/* Each node's children, from the parents (counted, then filled). */
static int link_children(sim_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->nodes[i].children);
        t->nodes[i].children = NULL;
        t->nodes[i].nchildren = 0;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->nodes[i].parent >= 0)
            t->nodes[t->nodes[i].parent].nchildren++;
    }
    for (size_t i = 0; i < t->n; i++) {
        sim_node *n = &t->nodes[i];
        if (n->nchildren &&
            !(n->children = calloc(n->nchildren, sizeof(*n->children))))
            return -1;
        n->nchildren = 0;
    }
    for (size_t i = 0; i < t->n; i++) {
        int p = t->nodes[i].parent;
        if (p >= 0)
            t->nodes[p].children[t->nodes[p].nchildren++] = (int)i;
    }
    return 0;
}

int sim_tree_build(sim_tree *t, const gen *g, size_t want, char *err,
                   size_t errlen)
{
    table tb;
    int rc = -1;
    bool *keep = NULL;
    int *map = NULL;

    memset(t, 0, sizeof(*t));
    t->usb_township = -1;
    if (want && want < 6) {
        snprintf(err, errlen,
                 "--nodes %zu is too few: at least 6 (the city, two partners, "
                 "a county, a township and a village)",
                 want);
        return -1;
    }
    tb.rows = gen_divisions(g, &tb.n);
    if (build_full(t, &tb, err, errlen) < 0)
        goto out;
    if (link_children(t) < 0)
        goto nomem;
    if (want && want < t->n) {
        keep = calloc(t->n, sizeof(*keep));
        map = malloc(t->n * sizeof(*map));
        if (!keep || !map)
            goto nomem;
        if (choose(t, keep, want) < 0)
            goto nomem;
        size_t m = 0;
        for (size_t i = 0; i < t->n; i++) {
            map[i] = keep[i] ? (int)m : -1;
            /* Children are linked again below, among the kept. */
            free(t->nodes[i].children);
            t->nodes[i].children = NULL;
            t->nodes[i].nchildren = 0;
            if (keep[i]) {
                sim_node moved = t->nodes[i];
                moved.parent = moved.parent >= 0 ? map[moved.parent] : -1;
                t->nodes[m++] = moved;
            }
        }
        t->n = m;
        t->buf.len = m * sizeof(*t->nodes);
        t->city = map[t->city];
        if (link_children(t) < 0)
            goto nomem;
    }
    t->usb_township = sim_tree_find(t, USB_TOWNSHIP);
    if (t->usb_township >= 0)
        t->nodes[t->usb_township].usb = true;
    rc = 0;
    goto out;
nomem:
    snprintf(err, errlen, "out of memory");
out:
    free(keep);
    free(map);
    if (rc < 0)
        sim_tree_free(t);
    return rc;
}

void sim_tree_free(sim_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->nodes[i].children);
        free(t->nodes[i].card);
    }
    pg_buf_dispose(&t->buf);
    memset(t, 0, sizeof(*t));
}

int sim_tree_find(const sim_tree *t, const char *code)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->nodes[i].code, code) == 0)
            return (int)i;
    }
    return -1;
}

int sim_tree_home(const sim_tree *t, const char *division)
{
    int best = -1;
    size_t depth = 0;

    for (size_t i = 0; i < t->n; i++) {
        const sim_node *n = &t->nodes[i];
        size_t len = pg_tier_prefix_len(n->tier);
        if (pg_division_contains(n->code, division) && len >= depth) {
            best = (int)i;
            depth = len;
        }
    }
    return best;
}
