/* nodes.c - which node of how many an 'ebt start' is (options, hostfile, Slurm, MPI), where
 * the job's daemons meet (the rendezvous directory) and listen; all checked before ebtd starts. */
#define _GNU_SOURCE
#include "tool.h"
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

/* An environment variable as a number in [lo, hi]; -1 when unset or not a number. */
static int env_int(const char *name, int lo, int hi)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v)
        return -1;
    long n = strtol(v, &end, 10);
    return *end || n < lo || n > hi ? -1 : (int)n;
}

static int same_host(const char *entry, const char *host)
{
    size_t short_len = strcspn(host, ".");
    if (!strcmp(entry, host))
        return 1;
    return strlen(entry) == short_len && !strncmp(entry, host, short_len);
}

/* --hostfile: one host per line (first word; '#' comments); this host's line is the node id. */
static int from_hostfile(const char *cmd, struct ebt_tool_opts *o)
{
    char host[256] = "", line[1024], word[256];
    FILE *f = fopen(o->hostfile, "re");
    if (!f) {
        fprintf(stderr, "ebt %s: --hostfile %s: %s\n", cmd, o->hostfile, strerror(errno));
        return -1;
    }
    gethostname(host, sizeof(host) - 1);
    int n = 0, id = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, " %255s", word) == 1 && word[0] != '#') {
            if (id < 0 && same_host(word, host))
                id = n;
            n++;
        }
    fclose(f);
    if (id < 0) {
        fprintf(stderr, "ebt %s: --hostfile %s: this host (%s) is not listed\n", cmd, o->hostfile,
                host);
        return -1;
    }
    if (o->nodes > 0 && o->nodes != n) {
        fprintf(stderr, "ebt %s: --nodes %d but --hostfile %s lists %d hosts\n", cmd, o->nodes,
                o->hostfile, n);
        return -1;
    }
    if (o->node_id >= 0 && o->node_id != id) {
        fprintf(stderr, "ebt %s: --node-id %d but this host is line %d of --hostfile %s\n", cmd,
                o->node_id, id, o->hostfile);
        return -1;
    }
    o->nodes = n;
    o->node_id = id;
    return 0;
}

/* Nodes on separate hosts (launcher, hostfile) must listen where the others can reach them:
 * unless EBT_LISTEN says where, the address this host's name resolves to. Over MPI a node's
 * address is its rank: nothing to listen on. */
static void default_listen(const char *cmd)
{
    char host[256] = "", ip[INET_ADDRSTRLEN], listen[INET_ADDRSTRLEN + 8];
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    const char *env = getenv("EBT_LISTEN"), *tp = getenv("EBT_TRANSPORT");
    if ((env && *env) || (tp && strcmp(tp, "mpi") == 0))
        return;
    gethostname(host, sizeof(host) - 1);
    for (struct addrinfo *a = getaddrinfo(host, NULL, &hints, &ai) == 0 ? ai : NULL; a;
         a = a->ai_next) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)a->ai_addr;
        if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127 ||
            !inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)))
            continue;
        snprintf(listen, sizeof(listen), "%s:0", ip);
        setenv("EBT_LISTEN", listen, 1); /* ebtd inherits it */
        freeaddrinfo(ai);
        return;
    }
    if (ai)
        freeaddrinfo(ai);
    fprintf(stderr,
            "ebt %s: warning: host name '%s' has no non-loopback IPv4 address; other nodes "
            "cannot reach this one unless EBT_LISTEN=IP:0 is set\n",
            cmd, host);
}

/* Slurm, then Open MPI, then MPICH (hydra's PMI_*); nothing found: one node. */
static void from_launcher(struct ebt_tool_opts *o)
{
    int n = env_int("SLURM_NNODES", 1, 4096), id = env_int("SLURM_NODEID", 0, 4095);
    if (n < 1 || id < 0) {
        n = env_int("OMPI_COMM_WORLD_SIZE", 1, 4096);
        id = env_int("OMPI_COMM_WORLD_RANK", 0, 4095);
    }
    if (n < 1 || id < 0) {
        n = env_int("PMI_SIZE", 1, 4096);
        id = env_int("PMI_RANK", 0, 4095);
    }
    if (n < 1 || id < 0)
        n = 1, id = 0;
    o->from_hosts = n > 1;
    o->nodes = n;
    o->node_id = id;
}

static int node_count_and_id(const char *cmd, struct ebt_tool_opts *o)
{
    if (o->hostfile[0])
        return from_hostfile(cmd, o);
    if (o->nodes < 0 && o->node_id < 0)
        from_launcher(o);
    if (o->nodes < 0)
        o->nodes = 1;
    if (o->node_id < 0 && o->nodes > 1) {
        fprintf(stderr, "ebt %s: --nodes %d needs --node-id (or --hostfile)\n", cmd, o->nodes);
        return -1;
    }
    if (o->node_id < 0)
        o->node_id = 0;
    if (o->node_id >= o->nodes) {
        fprintf(stderr, "ebt %s: node id %d is out of range: %d node%s means ids 0..%d\n", cmd,
                o->node_id, o->nodes, o->nodes > 1 ? "s" : "", o->nodes - 1);
        return -1;
    }
    return 0;
}

/* The rendezvous must be a directory where this user can create files. */
static int check_rendezvous(const char *cmd, struct ebt_tool_opts *o)
{
    char real[PATH_MAX], probe[PATH_MAX + 64];
    struct stat st;
    if (mkdir(o->rendezvous, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "ebt %s: rendezvous %s: %s\n", cmd, o->rendezvous, strerror(errno));
        return -1;
    }
    if (!realpath(o->rendezvous, real)) {
        fprintf(stderr, "ebt %s: rendezvous %s: %s\n", cmd, o->rendezvous, strerror(errno));
        return -1;
    }
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ebt %s: rendezvous %s: not a directory\n", cmd, o->rendezvous);
        return -1;
    }
    snprintf(probe, sizeof(probe), "%s/.probe.%d", real, (int)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "ebt %s: rendezvous %s: not writable: %s\n", cmd, real, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    snprintf(o->rendezvous, sizeof(o->rendezvous), "%s", real);
    return 0;
}

static void default_job_id(struct ebt_tool_opts *o)
{
    const char *env = getenv("EBT_JOB_ID");
    if (!o->job_id[0] && env && *env)
        snprintf(o->job_id, sizeof(o->job_id), "%s", env);
    env = getenv("SLURM_JOB_ID");
    if (!o->job_id[0] && env && *env)
        snprintf(o->job_id, sizeof(o->job_id), "%s", env);
}

static int rendezvous_and_job(const char *cmd, struct ebt_tool_opts *o)
{
    default_job_id(o);
    if (!o->rendezvous[0] && !o->job_id[0]) {
        fprintf(stderr,
                "ebt %s: a %d-node job needs a rendezvous directory on the shared file system: "
                "give --rendezvous DIR, or a job id (--job-id ID, EBT_JOB_ID or SLURM_JOB_ID) to "
                "use %s/%srdv.<job id>\n",
                cmd, o->nodes, o->npfs ? o->pfs[0] : "<first --pfs>", EBT_RESERVED_PREFIX);
        return -1;
    }
    if (!o->rendezvous[0] &&
        snprintf(o->rendezvous, sizeof(o->rendezvous), "%.3900s/%srdv.%s", o->pfs[0],
                 EBT_RESERVED_PREFIX, o->job_id) >= (int)sizeof(o->rendezvous)) {
        fprintf(stderr, "ebt %s: rendezvous path too long\n", cmd);
        return -1;
    }
    if (check_rendezvous(cmd, o) < 0)
        return -1;
    if (!o->job_id[0]) { /* the rendezvous names the job */
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", o->rendezvous);
        snprintf(o->job_id, sizeof(o->job_id), "%.63s", basename(copy));
    }
    return 0;
}

int ebt_nodes_resolve(const char *cmd, struct ebt_tool_opts *o)
{
    if (node_count_and_id(cmd, o) < 0)
        return -1;
    if (o->nodes == 1) {
        o->rendezvous[0] = '\0';
        default_job_id(o);
        return 0;
    }
    if (o->from_hosts)
        default_listen(cmd);
    return rendezvous_and_job(cmd, o);
}
