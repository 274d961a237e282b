/*
 * The city's links over HTTP: the city serves (pg_serve, in a thread, on
 * 127.0.0.1 and a free port, with its own handle on the city's store),
 * and each county and partner city syncs with it (pg_sync: push, then
 * pull until caught up), as `pingan serve` and `pingan sync` do.  Lower
 * links move bundle files, as over a gateway or a USB stick.
 *
 * A sync with nothing to send still asks the server once (a pull answered
 * 204): the client cannot know without asking.  Bundles are not lost on
 * these links: TCP and the sync's retries are the transport's business,
 * and tests/cli/netfault.sh kills both ends mid-transfer.
 */
#include "sim.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pingan/error.h"
#include "pingan/net.h"
#include "pingan/peer.h"

struct sim_server {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
    int rc;
    unsigned port;
    volatile sig_atomic_t stop;
    FILE *log;
    pg_serve_opts opts;
};

static void on_ready(unsigned port, bool tls, void *payload)
{
    struct sim_server *s = payload;

    (void)tls;
    pthread_mutex_lock(&s->mu);
    s->port = port;
    s->ready = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *serve_main(void *payload)
{
    struct sim_server *s = payload;
    int rc = pg_serve(&s->opts);

    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->ready = true; /* a failed start must not leave the caller waiting */
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sim_http_start(sim_world *w)
{
    const sim_node *city = &w->tree.nodes[w->tree.city];
    char path[SIM_PATH_MAX + 32], url[64];
    struct sim_server *s = calloc(1, sizeof(*s));

    if (!s)
        return -1;
    w->server = s;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    snprintf(path, sizeof(path), "%s/city-serve.log", w->root);
    if (!(s->log = fopen(path, "w"))) {
        fprintf(stderr, "simulate: cannot write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    s->opts.dir = city->dir;
    s->opts.listen = "127.0.0.1:0";
    s->opts.log = s->log;
    s->opts.stop = &s->stop;
    s->opts.ready = on_ready;
    s->opts.ready_payload = s;
    s->opts.max_connections = 8;
    if (pthread_create(&s->thread, NULL, serve_main, s) != 0) {
        fprintf(stderr, "simulate: cannot start the city's server\n");
        return -1;
    }
    s->started = true;
    pthread_mutex_lock(&s->mu);
    while (!s->ready)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->rc < 0 || !s->port) {
        fprintf(stderr, "simulate: the city's server did not start (see %s)\n",
                path);
        return -1;
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", s->port);
    for (size_t i = 0; i < w->nlinks; i += 2) {
        sim_link *l = &w->links[i];
        if (!l->http)
            continue;
        sim_node *n = &w->tree.nodes[l->from];
        pg_error_clear();
        if (pg_peer_set(n->node, city->code, url, NULL) < 0) {
            fprintf(stderr, "simulate: %s: cannot set the city's URL: %s\n",
                    n->code, pg_error_last()->message);
            return -1;
        }
    }
    sim_say(w, "the city serves on %s", url);
    return 0;
}

void sim_http_stop(sim_world *w)
{
    struct sim_server *s = w->server;

    if (!s)
        return;
    if (s->started) {
        s->stop = 1;
        pthread_join(s->thread, NULL);
    }
    if (s->log)
        fclose(s->log);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    w->server = NULL;
}

long sim_http_sync(sim_world *w, sim_link *up)
{
    sim_node *n = &w->tree.nodes[up->from];
    const sim_node *city = &w->tree.nodes[w->tree.city];
    sim_traffic *tr = &w->http;
    pg_sync_opts so = {.retries = 2, .timeout_s = 120};
    pg_sync_report rep;

    if (sim_offline(w, up->from)) {
        tr->offline++;
        return 0;
    }
    double t0 = sim_now();
    pg_error_clear();
    if (pg_sync(n->node, city->code, &so, &rep) < 0) {
        fprintf(stderr, "simulate: %s could not sync with the city: %s\n",
                n->code,
                rep.message[0] ? rep.message : pg_error_last()->message);
        return -1;
    }
    double secs = sim_now() - t0;
    uint64_t bundles = rep.pushed_bundles + rep.pulled_bundles;
    if (rep.pushed_txns + rep.pulled_txns == 0) {
        /* One request answered 204, or bundles that only covered a part
         * of a log: nothing for the other side. */
        tr->idle++;
        tr->idle_seconds += secs;
    } else {
        tr->syncs++;
        tr->seconds += secs;
    }
    tr->bundles += bundles;
    tr->bytes += rep.pushed_bytes + rep.pulled_bytes;
    tr->txns += rep.pushed_txns + rep.pulled_txns;
    tr->duplicates += rep.duplicates + rep.server_duplicates;
    tr->quarantined += rep.quarantined + rep.server_quarantined;
    tr->pending += rep.pending;
    tr->requests += rep.requests;
    return (long)bundles;
}

int sim_http_global_init(void)
{
    /* Before any thread: libcurl's global state is not thread-safe. */
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void sim_http_global_cleanup(void)
{
    curl_global_cleanup();
}
