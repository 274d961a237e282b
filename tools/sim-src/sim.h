/*
 * The federation simulator (tools/simulate): the Xiangtan tree of nodes,
 * each a real node directory driven through libpingan in this process,
 * exchanging real bundles over a simulated day.
 *
 *     tree.c    the tree: real and synthetic divisions, the --nodes subset
 *     world.c   making, linking and opening the nodes
 *     day.c     what each node writes in a day (DOMAIN.md §6.5)
 *     link.c    moving bundles over a link: offline nodes, lost bundles,
 *               the township carried by USB
 *     http.c    the city's links over HTTP (pg_serve and pg_sync)
 *     check.c   what must hold afterwards, printed as tables
 */
#ifndef PINGAN_SIM_H
#define PINGAN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gen.h"
#include "pingan/buf.h"
#include "pingan/division.h"
#include "pingan/node.h"
#include "pingan/policy.h"
#include "pingan/record.h"

#define SIM_NAME_MAX GEN_NAME_MAX
#define SIM_PATH_MAX 512

/* A small, seeded random stream (splitmix64): the simulator's choices
 * (offline nodes, lost bundles, sync order, volumes) depend on --seed
 * only, never on the clock. */
typedef struct sim_rng {
    uint64_t s;
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed, const char *stream);
uint64_t sim_rng_next(sim_rng *r);
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
double sim_rng_unit(sim_rng *r);
/* A Poisson draw with mean @p mean. */
unsigned sim_rng_poisson(sim_rng *r, double mean);

/* One node of the federation. */
typedef struct sim_node {
    char code[PG_CODE_LEN + 1];
    char name[SIM_NAME_MAX];
    pg_tier tier;
    int parent;   /* index of the parent node; -1 for the city and partners */
    bool partner; /* a partner city (Art. 8), linked to the city */
    bool urban;   /* a 社区 (more grid events) rather than a 村 */
    bool real;    /* its code is in the divisions table */
    bool usb;     /* its link to its parent moves by USB stick only */
    int *children;
    size_t nchildren;
    char dir[SIM_PATH_MAX];
    pg_node *node;
    char *card;
    /* Offline in these windows of rounds (sim_window). */
    pg_buf off;
    /* Records it made: indexes (size_t) into the world's record table. */
    pg_buf own;
    /* A partner's policy toward the city (what crosses from it). */
    pg_policy *out_policy;
    /* What it holds at the end, for the tables. */
    uint64_t records_held;
    uint64_t conflicts;
} sim_node;

/* Offline from round `from` up to, not including, round `to`. */
typedef struct sim_window {
    int from, to;
} sim_window;

/*
 * The simulator's growable arrays live in pg_buf, the project's one place
 * that grows memory: sim_push appends a zeroed element of @p size and
 * returns it (NULL: out of memory).  The array may move: read it back
 * through the buffer's data.  A zeroed pg_buf is an empty array.
 */
void *sim_push(pg_buf *b, size_t size);

/* The tree, before any node exists. */
typedef struct sim_tree {
    pg_buf buf;      /* the nodes */
    sim_node *nodes; /* buf's data */
    size_t n;
    int city;
    int usb_township; /* -1 when the subset has none */
} sim_tree;

/* Build the tree from the generator's divisions table: all of it (@p want 0) or
 * a balanced subset of about @p want nodes that keeps every chosen node's
 * ancestors, both partners and the USB township.  Returns 0 or -1 with a
 * message in @p err. */
int sim_tree_build(sim_tree *t, const gen *g, size_t want, char *err,
                   size_t errlen);
void sim_tree_free(sim_tree *t);
/* The node whose code is @p code, or -1. */
int sim_tree_find(const sim_tree *t, const char *code);
/* The deepest node whose jurisdiction holds @p division, or -1. */
int sim_tree_home(const sim_tree *t, const char *division);

/* A record the simulator made, and what became of it. */
typedef struct sim_record {
    char id[PG_RECORD_ID_LEN + 1];
    const char *collection; /* static schema name */
    char division[PG_CODE_LEN + 1];
    int origin;   /* the node that created it */
    int round;    /* the round it was written in */
    int at_city;  /* the round it was first seen at the city; -1 */
    int bound;    /* the round by which it must be there; -1: n/a */
    bool crosses; /* an agreement carries it across the city boundary */
} sim_record;

/* A pair of concurrent edits of one field, at two tiers in one round. */
typedef enum sim_edit_kind {
    SIM_EDIT_LWW,       /* status at the village and at the township */
    SIM_EDIT_AUTHORITY, /* hazard level at the village and at the county */
    SIM_EDIT_COUNTER,   /* volunteer points at the village and township */
} sim_edit_kind;

typedef struct sim_edit {
    size_t record;
    sim_edit_kind kind;
    const char *field; /* static schema name */
    int lower, upper;  /* the two nodes that wrote */
    char winner[32];   /* authority: the upper tier's value must win */
} sim_edit;

/* Counters of one kind of link traffic. */
typedef struct sim_traffic {
    uint64_t syncs;   /* link syncs that moved something */
    uint64_t idle;    /* link syncs with nothing to move (no work) */
    uint64_t bundles; /* bundle files imported */
    uint64_t bytes;   /* their bytes */
    uint64_t txns;    /* txns they carried */
    uint64_t lost;    /* bundles lost on the way (resent later) */
    uint64_t duplicates;
    uint64_t offline; /* syncs skipped: an end was offline */
    uint64_t quarantined;
    uint64_t pending;
    uint64_t requests;   /* HTTP requests (HTTP links only) */
    double seconds;      /* of the syncs that moved something */
    double idle_seconds; /* of those that found nothing to move */
} sim_traffic;

/* A directed link's state the simulator keeps beside the nodes. */
typedef struct sim_link {
    int from, to;
    bool usb;
    bool http; /* a county or partner and the city, over HTTP */
    /* The sender's received_upto of the receiver last sent to it as an
     * acknowledgement, so that an idle link sends nothing. */
    int64_t ack_sent;
    /* Rounds (int) in which a bundle on this link was lost. */
    pg_buf lost;
} sim_link;

/* Options from the command line. */
typedef struct sim_opts {
    size_t nodes;    /* 0: the whole city */
    unsigned days;   /* simulated days */
    unsigned rounds; /* sync rounds per day */
    uint64_t seed;
    const char *dir; /* where node directories go; NULL: a temporary one */
    bool keep;       /* keep the directories */
    bool json;       /* print the results as JSON */
    bool quiet;      /* no progress on stderr */
    bool files_only; /* no HTTP: the city's links move files too */
    double loss;     /* probability a bundle is lost */
    double offline;  /* share of nodes offline part of each day */
    double edits;    /* concurrent edit pairs a day per 100 villages */
    const char *csv; /* the divisions table */
    const char *agreement; /* a partner agreement file instead of the
                              built-in one (for both partners) */
    char *agreement_text;  /* its text, read before any node is made */
} sim_opts;

/* The whole simulation. */
typedef struct sim_world {
    sim_opts opts;
    sim_tree tree;
    char root[SIM_PATH_MAX];
    bool own_root; /* made here: removed at the end unless --keep */
    sim_rng rng;
    gen *gen;
    sim_link *links; /* up (child->parent) and down for each edge, and
                        both ways for each partner */
    size_t nlinks;
    pg_buf records_buf;
    sim_record *records; /* records_buf's data */
    size_t nrecords;
    int round; /* the current round, counting from 0 */
    sim_traffic up, down, partner, http;
    struct sim_server *server; /* the city's HTTP server (http.c) */
    pg_policy *agreement;      /* the city's toward its partners */
    /* Concurrent edits made. */
    pg_buf edits_buf;
    sim_edit *edits; /* edits_buf's data */
    size_t nedits;
    unsigned edit_turn;   /* the kind of the next pair, in turn */
    uint64_t updates;     /* writes that changed an existing record */
    uint64_t usb_bundles; /* bundles carried by the USB stick */
    uint64_t writes_failed;
    double seconds_setup, seconds_writes, seconds_sync, seconds_checks;
    /* Personal values written in Xiangtan, for the partner byte search. */
    struct sim_secrets *secrets;
} sim_world;

/* world.c */
/* The text of an agreement file, or NULL after saying why. */
char *sim_read_agreement(const char *path);
int sim_world_create(sim_world *w);
void sim_world_close(sim_world *w);
/* Progress on stderr unless --quiet. */
void sim_say(const sim_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
double sim_now(void);
/* Whether node @p i is offline in the current round. */
bool sim_offline(const sim_world *w, int i);
/* Whether node @p i is offline in round @p round. */
bool sim_offline_at(const sim_world *w, int i, int round);

/* day.c */
int sim_day_writes(sim_world *w, unsigned day, unsigned round);
int sim_day_plan(sim_world *w, unsigned day);
int sim_day_edits(sim_world *w);
/* A new entry in the world's record table, or NULL (no memory). */
sim_record *sim_record_add(sim_world *w);

/* link.c */
/* Sync every link once, in a seeded random order of nodes; returns the
 * number of bundles moved, or -1 on a failure. */
long sim_round_sync(sim_world *w, bool lossless);
/* Note which records reached the city this round. */
int sim_track_arrivals(sim_world *w);
/* Whether the link moved bundles in @p round (both ends online, the USB
 * stick's day, nothing lost). */
bool sim_link_up(const sim_world *w, const sim_link *l, int round);

/* http.c */
int sim_http_global_init(void);
void sim_http_global_cleanup(void);
/* Start the city's server and point its counties and partners at it. */
int sim_http_start(sim_world *w);
void sim_http_stop(sim_world *w);
/* Sync the HTTP link whose upward half is @p up (a county or a partner
 * with the city): the bundles moved, or -1. */
long sim_http_sync(sim_world *w, sim_link *up);

/* check.c */
/* Run every check, print the tables (or JSON); returns the number of
 * failed checks. */
int sim_check(sim_world *w, FILE *out);

/* secrets (check.c) */
/* Note the personal values of a record written in Xiangtan (or, with
 * @p partner, by a partner: those may legitimately be in its files). */
void sim_secrets_note(sim_world *w, const pg_field_value *values, size_t n,
                      const pg_collection *coll, bool partner, bool crosses);
void sim_secrets_free(sim_world *w);

#endif
