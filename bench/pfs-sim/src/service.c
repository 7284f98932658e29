/* service.c - FIFO worker-slot gates, simulated latency, per-OST bandwidth and CPU accounting. */
#define _GNU_SOURCE
#include "service.h"

#include <errno.h>

int pfs_gate_init(struct pfs_gate *g, unsigned slots)
{
    g->slots = slots;
    g->busy = 0;
    g->next_ticket = 0;
    g->admitted = 0;
    if (pthread_mutex_init(&g->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&g->cv, NULL) != 0) {
        pthread_mutex_destroy(&g->mu);
        return -1;
    }
    return 0;
}

void pfs_gate_destroy(struct pfs_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void gate_acquire(struct pfs_gate *g)
{
    pthread_mutex_lock(&g->mu);
    uint64_t ticket = g->next_ticket++;
    while (ticket != g->admitted || g->busy >= g->slots)
        pthread_cond_wait(&g->cv, &g->mu);
    g->admitted++;
    g->busy++;
    pthread_cond_broadcast(&g->cv); /* the next ticket may fit in a free slot too */
    pthread_mutex_unlock(&g->mu);
}

static void gate_release(struct pfs_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->busy--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void sleep_until_ns(uint64_t deadline_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
                          .tv_nsec = (long)(deadline_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void pfs_sleep_us(uint64_t us)
{
    if (us > 0)
        sleep_until_ns(pfs_mono_ns() + us * 1000ull);
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Burns us microseconds of this thread's CPU time (simulated server work). */
static void busy_us(uint64_t us)
{
    if (us == 0)
        return;
    uint64_t end = thread_cpu_ns() + us * 1000ull;
    while (thread_cpu_ns() < end)
        ;
}

/* Waits for a slot, then starts the clocks. */
static void service_enter(struct pfs_gate *g, struct pfs_pool_stats *pool, struct pfs_service *sv)
{
    uint64_t t0 = pfs_mono_ns();
    gate_acquire(g);
    sv->gate = g;
    sv->pool = pool;
    sv->ost_cpu_ns = NULL;
    sv->slot_ns = pfs_mono_ns();
    pfs_stats_add(&pool->ops, 1);
    pfs_stats_add(&pool->wait_ns, sv->slot_ns - t0);
}

void pfs_mds_begin(struct pfs_sim *sim, int node, enum pfs_op op, struct pfs_service *sv)
{
    pfs_stats_count_request(&sim->stats, node, op);
    service_enter(&sim->mds, &sim->stats.mds, sv);
    pfs_sleep_us(sim->cfg.mds_latency_us);
    sv->cpu0_ns = thread_cpu_ns();
    busy_us(sim->cfg.mds_busy_us);
}

/* Reserves the OST link for `bytes` at the capped rate and waits until the transfer is done. */
static void wait_bandwidth(struct pfs_sim *sim, struct pfs_ost *ost, uint64_t bytes)
{
    uint64_t rate = sim->cfg.ost_bw_mbs; /* bytes per microsecond */
    if (rate == 0 || bytes == 0)
        return;
    uint64_t cost_ns = bytes * 1000ull / rate;
    pthread_mutex_lock(&ost->bw_mu);
    uint64_t now = pfs_mono_ns();
    uint64_t start = ost->bw_free_ns > now ? ost->bw_free_ns : now;
    ost->bw_free_ns = start + cost_ns;
    uint64_t done = ost->bw_free_ns;
    pthread_mutex_unlock(&ost->bw_mu);
    sleep_until_ns(done);
}

void pfs_oss_begin(struct pfs_sim *sim, int ost, enum pfs_oss_op op, uint64_t bytes,
                   struct pfs_service *sv)
{
    struct pfs_ost_stats *os = &sim->stats.ost[ost];
    uint64_t t0 = pfs_mono_ns();
    pfs_stats_add(&os->ops[op], 1);
    service_enter(&sim->ost[ost].gate, &sim->stats.oss, sv);
    sv->ost_cpu_ns = &os->cpu_ns;
    pfs_stats_add(&os->wait_ns, sv->slot_ns - t0);
    pfs_sleep_us(sim->cfg.oss_latency_us);
    wait_bandwidth(sim, &sim->ost[ost], bytes);
    sv->cpu0_ns = thread_cpu_ns();
    busy_us(sim->cfg.oss_busy_us);
}

void pfs_service_end(struct pfs_sim *sim, struct pfs_service *sv)
{
    uint64_t cpu = thread_cpu_ns() - sv->cpu0_ns;
    pfs_stats_add(&sv->pool->cpu_ns, cpu);
    if (sv->ost_cpu_ns != NULL)
        pfs_stats_add(sv->ost_cpu_ns, cpu);
    pfs_stats_add(&sv->pool->busy_ns, pfs_mono_ns() - sv->slot_ns);
    gate_release(sv->gate);
}
