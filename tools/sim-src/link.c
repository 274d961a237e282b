/*
 * Moving bundles over the links, as `pingan sync` does over HTTP and a
 * USB stick does by hand: the sender exports what the peer may receive
 * (pg_bundle_export, resending from the peer's acknowledgement), the
 * receiver imports it (pg_bundle_import), and the receiver's next bundle
 * back carries its acknowledgement.
 *
 * Each round every node syncs with its parent (and each partner with the
 * city) once, in a seeded random order: up, then down.  A link with
 * nothing to send does no work at all: the sender compares its log's end
 * with the peer's acknowledgement and what it owes the peer, and stops.
 * A node offline this round syncs with nobody; a bundle may be lost on the
 * way (it is deleted instead of imported, and goes again next round from
 * the acknowledgement); the USB township's link moves once a day, in the
 * day's last round, through a directory standing for the stick.
 */
#define _XOPEN_SOURCE 700
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pingan/changelog.h"
#include "pingan/error.h"
#include "pingan/exchange.h"
#include "pingan/peer.h"
#include "pingan/schema.h"

#define FILES_MAX 64

typedef struct exported {
    char *paths[FILES_MAX];
    uint64_t bytes[FILES_MAX];
    uint64_t txns[FILES_MAX];
    size_t n;
} exported;

static int on_file(const pg_export_file *f, void *payload)
{
    exported *ex = payload;

    if (ex->n == FILES_MAX)
        return pg_error_set(PG_ELIMIT, PG_ERRCLASS_BUNDLE,
                            "more than %d bundle files in one export",
                            FILES_MAX);
    ex->paths[ex->n] = strdup(f->path);
    if (!ex->paths[ex->n])
        return pg_error_set(PG_ENOMEM, PG_ERRCLASS_NOMEMORY, "out of memory");
    ex->bytes[ex->n] = f->bytes;
    ex->txns[ex->n] = f->txns;
    ex->n++;
    return 0;
}

static void exported_free(exported *ex)
{
    for (size_t i = 0; i < ex->n; i++) {
        unlink(ex->paths[i]);
        free(ex->paths[i]);
    }
}

static bool day_end(const sim_world *w, int round)
{
    return (unsigned)round % w->opts.rounds == w->opts.rounds - 1;
}

static bool last_round_of_day(const sim_world *w)
{
    return day_end(w, w->round);
}

bool sim_link_up(const sim_world *w, const sim_link *l, int round)
{
    if (sim_offline_at(w, l->from, round) || sim_offline_at(w, l->to, round))
        return false;
    if (l->usb && !day_end(w, round))
        return false;
    const int *lost = (const int *)l->lost.data;
    for (size_t k = 0; k < l->lost.len / sizeof(*lost); k++) {
        if (lost[k] == round)
            return false;
    }
    return true;
}

static sim_traffic *traffic_of(sim_world *w, const sim_link *l)
{
    const sim_node *from = &w->tree.nodes[l->from];
    const sim_node *to = &w->tree.nodes[l->to];

    if (from->partner || to->partner)
        return &w->partner;
    return to->parent == l->from ? &w->down : &w->up;
}

static int note_lost(sim_link *l, int round)
{
    int *slot = sim_push(&l->lost, sizeof(*slot));

    if (!slot)
        return -1;
    *slot = round;
    return 0;
}

/* The link back from l->to to l->from. */
static sim_link *reverse(sim_world *w, const sim_link *l)
{
    /* Links are made in pairs: up then down, or partner then city. */
    size_t i = (size_t)(l - w->links);
    return &w->links[i % 2 ? i - 1 : i + 1];
}

static int import_one(sim_world *w, sim_link *l, sim_traffic *tr,
                      const char *path, uint64_t bytes)
{
    sim_node *to = &w->tree.nodes[l->to];
    pg_bundle_report rep;

    pg_error_clear();
    if (pg_bundle_import(to->node, path, &rep) < 0) {
        fprintf(stderr, "simulate: %s could not import a bundle from %s: %s\n",
                to->code, w->tree.nodes[l->from].code, rep.message);
        return -1;
    }
    tr->bundles++;
    tr->bytes += bytes;
    w->usb_bundles += l->usb;
    tr->txns += rep.txns;
    tr->duplicates += rep.duplicates;
    tr->quarantined += rep.quarantined;
    tr->pending += rep.pending;
    for (size_t k = 0; k < rep.nnotes && tr->quarantined <= 10; k++) {
        if (!rep.notes[k].pending)
            fprintf(stderr, "simulate: %s quarantined %s/%llu: %s\n", to->code,
                    rep.notes[k].origin,
                    (unsigned long long)rep.notes[k].origin_seq,
                    rep.notes[k].reason);
    }
    /* A bundle that covered part of the sender's log is owed an
     * acknowledgement, even when all of it was duplicates: that is what
     * stops a resend.  A bare acknowledgement is not. */
    if (rep.last > 0)
        reverse(w, l)->ack_sent = -1;
    return 0;
}

/* Send what l->from has for l->to; returns the bundles moved or -1. */
static long exchange(sim_world *w, sim_link *l, bool lossless)
{
    sim_node *from = &w->tree.nodes[l->from];
    sim_node *to = &w->tree.nodes[l->to];
    sim_traffic *tr = traffic_of(w, l);
    pg_peer peer;
    int64_t last;

    if (sim_offline(w, l->from) || sim_offline(w, l->to)) {
        tr->offline++;
        return 0;
    }
    if (l->usb && !last_round_of_day(w))
        return 0;
    double t0 = sim_now();
    pg_error_clear();
    if (pg_peer_get(&peer, from->node, to->code) < 0 ||
        pg_log_last_seq(from->node, &last) < 0) {
        fprintf(stderr, "simulate: %s: %s\n", from->code,
                pg_error_last()->message);
        return -1;
    }
    bool unacked = last > peer.acked_upto;
    bool owe_ack = peer.received_upto != l->ack_sent;
    if (!unacked && !owe_ack) {
        tr->idle++;
        tr->idle_seconds += sim_now() - t0;
        return 0;
    }
    char out[SIM_PATH_MAX + 64];
    snprintf(out, sizeof(out), "%s/%s/%s-%s-%d.pgb", w->root,
             l->usb ? "usb" : "wire", from->code, to->code, w->round);
    pg_export_opts eo = {
        .to = to->code,
        .out = out,
        .resend = true,
        .cover = true,
        .ack_only = !unacked,
        /* Over the wire the file is a request body, read back at once;
         * the USB stick's bundle must survive being carried. */
        .scratch = !l->usb,
    };
    exported ex = {0};
    pg_error_clear();
    if (pg_bundle_export(from->node, &eo, on_file, &ex) < 0) {
        fprintf(stderr, "simulate: %s could not export to %s: %s\n", from->code,
                to->code, pg_error_last()->message);
        exported_free(&ex);
        return -1;
    }
    l->ack_sent = peer.received_upto;
    long moved = 0;
    for (size_t i = 0; i < ex.n; i++) {
        if (!lossless && sim_rng_unit(&w->rng) < w->opts.loss) {
            tr->lost++;
            if (note_lost(l, w->round) < 0) {
                exported_free(&ex);
                return -1;
            }
            continue;
        }
        if (import_one(w, l, tr, ex.paths[i], ex.bytes[i]) < 0) {
            exported_free(&ex);
            return -1;
        }
        moved++;
    }
    exported_free(&ex);
    tr->syncs++;
    tr->seconds += sim_now() - t0;
    return moved;
}

static int make_dirs(sim_world *w)
{
    static const char *const subs[] = {"wire", "usb"};
    char path[SIM_PATH_MAX + 16];

    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", w->root, subs[i]);
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "simulate: cannot create %s: %s\n", path,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

long sim_round_sync(sim_world *w, bool lossless)
{
    size_t n = w->tree.n;
    int *order = malloc(n * sizeof(*order));
    long moved = 0;

    if (!order || make_dirs(w) < 0) {
        free(order);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (int)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = sim_rng_below(&w->rng, i);
        int tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
    /* Links are in pairs: [2k] from the node up (or partner to city),
     * [2k+1] back. */
    for (size_t k = 0; k < n; k++) {
        int node = order[k];
        for (size_t li = 0; li < w->nlinks; li += 2) {
            if (w->links[li].from != node)
                continue;
            if (w->links[li].http) {
                long m = sim_http_sync(w, &w->links[li]);
                if (m < 0) {
                    free(order);
                    return -1;
                }
                moved += m;
                continue;
            }
            for (size_t d = 0; d < 2; d++) {
                long m = exchange(w, &w->links[li + d], lossless);
                if (m < 0) {
                    free(order);
                    return -1;
                }
                moved += m;
            }
        }
    }
    free(order);
    return moved;
}

int sim_track_arrivals(sim_world *w)
{
    pg_node *city = w->tree.nodes[w->tree.city].node;
    for (size_t i = 0; i < w->nrecords; i++) {
        sim_record *r = &w->records[i];
        const pg_collection *coll =
            pg_schema_collection(pg_schema_current(), r->collection);
        if (r->at_city >= 0 || w->tree.nodes[r->origin].partner ||
            coll->cap != PG_TIER_NONE)
            continue;
        pg_record *rec = NULL;
        int rc = pg_record_get(&rec, city, r->collection, r->id);
        pg_record_free(rec);
        if (rc == 0)
            r->at_city = w->round;
        else if (rc != PG_ENOTFOUND)
            return -1;
    }
    return 0;
}
