/*
 * Making the world: a node directory per node of the tree (pg_node_init),
 * every node open at once, and each link configured on both sides with the
 * other side's card, as administrators would (DESIGN §7): parent and child
 * (the parent certifies the child), and the city with each partner under
 * an Art. 8 agreement.
 */
#define _XOPEN_SOURCE 700
#include "sim.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "pingan/error.h"
#include "pingan/peer.h"

/* The agreement each partner city signed with Xiangtan (as tools/demo's):
 * disputes marked cross-region and fraud alerts, names masked, ID numbers
 * and phones as pseudonyms; everything else is withheld. */
static const char agreement_fmt[] =
    "# 湘潭市-%s 平安建设区域协作协议 (Art. 8)\n"
    "[agreement]\n"
    "id = xt-%s-2026\n"
    "purpose = 联调\n"
    "[dispute]\n"
    "where = cross_region = true\n"
    "applicant_name = mask\n"
    "applicant_id_number = hash\n"
    "applicant_phone = hash\n"
    "[fraud_alert]\n"
    "target_phone = hash\n";

double sim_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sim_say(const sim_world *w, const char *fmt, ...)
{
    va_list ap;

    if (w->opts.quiet)
        return;
    fputs("simulate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *sim_push(pg_buf *b, size_t size)
{
    if (b->max == 0) /* a zeroed buffer: the simulator's own data, no cap */
        b->max = SIZE_MAX / 2;
    if (pg_buf_reserve(b, size) < 0)
        return NULL;
    void *p = b->data + b->len;
    memset(p, 0, size);
    b->len += size;
    return p;
}

bool sim_offline_at(const sim_world *w, int i, int round)
{
    const pg_buf *off = &w->tree.nodes[i].off;
    const sim_window *win = (const sim_window *)off->data;

    for (size_t k = 0; k < off->len / sizeof(*win); k++) {
        if (round >= win[k].from && round < win[k].to)
            return true;
    }
    return false;
}

bool sim_offline(const sim_world *w, int i)
{
    return sim_offline_at(w, i, w->round);
}

/* A thousand stores are open at once, each with its database, WAL and
 * shared-memory files: raise the soft limit on open files as far as the
 * hard limit allows, and say so plainly when even that is too low. */
static int raise_file_limit(size_t nodes)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)(nodes * 4 + 256);

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr,
                "simulate: %zu nodes need about %llu open files, but the "
                "hard limit is %llu: raise it (ulimit -Hn, as root) or "
                "simulate fewer nodes with --nodes\n",
                nodes, (unsigned long long)need,
                (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr,
                "simulate: cannot raise the open-file limit to %llu: %s\n",
                (unsigned long long)need, strerror(errno));
        return -1;
    }
    return 0;
}

static int fail(const char *what, const sim_node *n)
{
    fprintf(stderr, "simulate: %s %s %s: %s\n", what, n->code, n->name,
            pg_error_last()->message);
    return -1;
}

static int make_nodes(sim_world *w)
{
    sim_tree *t = &w->tree;

    for (size_t i = 0; i < t->n; i++) {
        sim_node *n = &t->nodes[i];
        int len = snprintf(n->dir, sizeof(n->dir), "%s/%s", w->root, n->code);
        if (len < 0 || (size_t)len >= sizeof(n->dir)) {
            fprintf(stderr, "simulate: directory name too long: %s\n", w->root);
            return -1;
        }
        pg_error_clear();
        if (pg_node_init(n->dir, n->code, n->name) < 0)
            return fail("cannot create node", n);
        if (pg_node_open(&n->node, n->dir) < 0)
            return fail("cannot open node", n);
        n->card = pg_card_to_json(pg_node_card(n->node));
        if (!n->card)
            return fail("no memory for the card of", n);
        if ((i + 1) % 100 == 0)
            sim_say(w, "made %zu of %zu nodes", i + 1, t->n);
    }
    return 0;
}

/* A policy text as `pingan peer add --policy` checks it (pg_peer_add_policy
 * expects it checked): a bad agreement is refused with FILE:LINE. */
static int check_policy(const sim_node *at, const sim_node *peer,
                        pg_peer_role role, const char *policy,
                        const char *source)
{
    const pg_card *card = pg_node_card(peer->node);
    pg_policy *pol = NULL;
    pg_peer stub;

    memset(&stub, 0, sizeof(stub));
    memcpy(stub.code, card->code, sizeof(stub.code));
    snprintf(stub.name, sizeof(stub.name), "%s", card->name);
    stub.tier = card->tier;
    stub.role = role;
    memcpy(stub.key_id, card->key_id, sizeof(stub.key_id));
    pg_error_clear();
    int rc = pg_policy_parse(&pol, policy, strlen(policy), source,
                             pg_node_card(at->node), &stub);
    pg_policy_free(pol);
    if (rc < 0) {
        fprintf(stderr, "simulate: %s\n", pg_error_last()->message);
        return -1;
    }
    return 0;
}

static int pin(sim_node *at, const sim_node *peer, pg_peer_role role,
               const char *policy, const char *source)
{
    if (policy && check_policy(at, peer, role, policy, source) < 0)
        return -1;
    pg_error_clear();
    int rc =
        pg_peer_add_policy(at->node, peer->card, strlen(peer->card), role, NULL,
                           NULL, policy, policy ? strlen(policy) : 0, source);
    if (rc < 0) {
        fprintf(stderr, "simulate: %s cannot pin %s as its %s: %s\n", at->code,
                peer->code, pg_peer_role_name(role), pg_error_last()->message);
        return -1;
    }
    return 0;
}

static sim_link *add_link(sim_world *w, int from, int to, bool usb)
{
    sim_link *l = &w->links[w->nlinks++];
    memset(l, 0, sizeof(*l));
    l->from = from;
    l->to = to;
    l->usb = usb;
    l->http =
        !w->opts.files_only && (from == w->tree.city || to == w->tree.city);
    return l;
}

/* The text of --agreement, or NULL after saying why. */
char *sim_read_agreement(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;

    if (!fp) {
        fprintf(stderr, "simulate: cannot read the agreement %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    text = malloc(64 * 1024 + 1);
    if (text)
        len = fread(text, 1, 64 * 1024 + 1, fp);
    fclose(fp);
    if (!text || len > 64 * 1024) {
        fprintf(stderr, "simulate: the agreement %s is over 64 KiB\n", path);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

static int link_nodes(sim_world *w)
{
    sim_tree *t = &w->tree;
    sim_node *city = &t->nodes[t->city];
    const char *given = w->opts.agreement_text;

    w->links = calloc(2 * t->n, sizeof(*w->links));
    if (!w->links)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        sim_node *n = &t->nodes[i];
        if (n->partner) {
            char agreement[1024];
            const char *slug = strncmp(n->code, "4301", 4) == 0 ? "cs" : "zz";
            snprintf(agreement, sizeof(agreement), agreement_fmt, n->name,
                     slug);
            if (pin(city, n, PG_PEER_PARTNER, given ? given : agreement,
                    given ? w->opts.agreement : "the built-in agreement") < 0 ||
                pin(n, city, PG_PEER_PARTNER, NULL, NULL) < 0)
                return -1;
            add_link(w, (int)i, t->city, false);
            add_link(w, t->city, (int)i, false);
            continue;
        }
        if (n->parent < 0)
            continue;
        sim_node *p = &t->nodes[n->parent];
        if (pin(p, n, PG_PEER_CHILD, NULL, NULL) < 0 ||
            pin(n, p, PG_PEER_PARENT, NULL, NULL) < 0)
            return -1;
        add_link(w, (int)i, n->parent, n->usb);
        add_link(w, n->parent, (int)i, n->usb);
    }
    return 0;
}

/* The policies that decide what crosses the city boundary: the city's
 * agreement toward its partners, each partner's toward the city. */
static int load_one(pg_policy **out, const sim_node *at, const sim_node *peer)
{
    pg_peer pr;

    pg_error_clear();
    if (pg_peer_get(&pr, at->node, peer->code) < 0 ||
        pg_policy_load(out, at->node, &pr) < 0) {
        fprintf(stderr, "simulate: %s: the policy toward %s: %s\n", at->code,
                peer->code, pg_error_last()->message);
        return -1;
    }
    return 0;
}

static int load_policies(sim_world *w)
{
    sim_tree *t = &w->tree;

    for (size_t i = 0; i < t->n; i++) {
        sim_node *n = &t->nodes[i];
        if (!n->partner)
            continue;
        if (load_one(&n->out_policy, n, &t->nodes[t->city]) < 0 ||
            (!w->agreement &&
             load_one(&w->agreement, &t->nodes[t->city], n) < 0))
            return -1;
    }
    return 0;
}

static int make_root(sim_world *w)
{
    if (w->opts.dir) {
        if (mkdir(w->opts.dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "simulate: cannot create %s: %s\n", w->opts.dir,
                    strerror(errno));
            return -1;
        }
        int len = snprintf(w->root, sizeof(w->root), "%s/nodes-%llu",
                           w->opts.dir, (unsigned long long)w->opts.seed);
        if (len < 0 || (size_t)len >= sizeof(w->root) - 32) {
            fprintf(stderr, "simulate: directory name too long\n");
            return -1;
        }
        if (mkdir(w->root, 0700) < 0) {
            fprintf(stderr,
                    "simulate: cannot create %s: %s (it must not exist yet)\n",
                    w->root, strerror(errno));
            return -1;
        }
        w->own_root = true;
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(w->root, sizeof(w->root), "%s/pingan-sim-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(w->root)) {
        fprintf(stderr, "simulate: cannot create a temporary directory: %s\n",
                strerror(errno));
        return -1;
    }
    w->own_root = true;
    return 0;
}

int sim_world_create(sim_world *w)
{
    double t0 = sim_now();

    if (raise_file_limit(w->tree.n) < 0 || make_root(w) < 0)
        return -1;
    sim_say(w, "making %zu nodes in %s", w->tree.n, w->root);
    if (make_nodes(w) < 0)
        return -1;
    if (link_nodes(w) < 0)
        return -1;
    if (load_policies(w) < 0)
        return -1;
    if (!w->opts.files_only && sim_http_start(w) < 0)
        return -1;
    w->seconds_setup = sim_now() - t0;
    sim_say(w, "%zu nodes and %zu links ready in %.1f s", w->tree.n,
            w->nlinks / 2, w->seconds_setup);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

/* rm -rf: the directory holds only what pingan and the simulator wrote. */
static int rm_tree(const char *path)
{
    return nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

void sim_world_close(sim_world *w)
{
    sim_http_stop(w);
    pg_policy_free(w->agreement);
    w->agreement = NULL;
    for (size_t i = 0; i < w->tree.n; i++) {
        sim_node *n = &w->tree.nodes[i];
        pg_policy_free(n->out_policy);
        n->out_policy = NULL;
        pg_node_free(n->node);
        n->node = NULL;
        pg_buf_dispose(&n->off);
        pg_buf_dispose(&n->own);
    }
    for (size_t i = 0; i < w->nlinks; i++)
        pg_buf_dispose(&w->links[i].lost);
    free(w->links);
    w->links = NULL;
    if (w->own_root && !w->opts.keep && w->root[0])
        rm_tree(w->root);
    else if (w->root[0])
        fprintf(stderr, "simulate: nodes kept in %s\n", w->root);
}
