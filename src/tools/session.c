/* session.c - create a run directory for a job and build the environment of its command. */
#define _GNU_SOURCE
#include "tool.h"
#include "journal.h"
#include "runcfg.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ebt_session_paths(const struct ebt_tool_opts *o, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < o->npfs && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ":" : "", o->pfs[i]);
    return out;
}

static int make_layout(const char *run)
{
    static const char *const subdirs[] = {"up", "task", "stage", "meta", "locks"};
    char p[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", run, subdirs[i]);
        if (mkdir(p, 0700) < 0)
            return -errno;
    }
    return 0;
}

/* The inputs as one colon list (EBT_INPUT_PATHS) in buf; "" if none. */
static const char *ebt_session_inputs(const struct ebt_tool_opts *o, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < o->ninputs && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ":" : "", o->inputs[i]);
    return buf;
}

int ebt_session_create(const char *cmd, const struct ebt_tool_opts *o, char *run, size_t cap)
{
    char paths[EBT_MAX_PREFIXES * PATH_MAX];
    if (snprintf(run, cap, "%s/ebt.%u.XXXXXX", o->cache, (unsigned)getuid()) >= (int)cap ||
        !mkdtemp(run)) {
        fprintf(stderr, "ebt %s: cannot create a run directory in cache dir %s: %s\n", cmd,
                o->cache, strerror(errno));
        return -1;
    }
    int rc = chmod(run, 0700) < 0 ? -errno : make_layout(run);
    char inputs[EBT_MAX_INPUTS * PATH_MAX];
    struct ebt_runcfg_job job = {o->nodes > 1 ? o->nodes : 1, o->nodes > 1 ? o->node_id : 0,
                                 o->nodes > 1 ? o->rendezvous : "", o->job_id,
                                 ebt_session_inputs(o, inputs, sizeof(inputs))};
    if (rc == 0)
        rc = ebt_journal_create(run); /* its room is taken now, before the job fills the cache */
    if (rc == 0)
        rc = ebt_runcfg_write_job(run, ebt_session_paths(o, paths, sizeof(paths)), o->vis,
                                  o->cache_bytes, &job);
    if (rc < 0) {
        fprintf(stderr, "ebt %s: cannot set up run directory %s: %s\n", cmd, run, strerror(-rc));
        return -1;
    }
    return 0;
}

/* The directory this executable lives in. */
static int exe_dir(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return -errno;
    exe[n] = '\0';
    snprintf(out, cap, "%s", dirname(exe));
    return 0;
}

int ebt_session_lib(const char *cmd, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *env = getenv("EBT_LIB");
    if (env && *env)
        snprintf(out, cap, "%s", env);
    else if (exe_dir(dir, sizeof(dir)) == 0)
        snprintf(out, cap, "%s/../lib/libebt.so", dir);
    else
        out[0] = '\0';
    char real[PATH_MAX];
    if (!out[0] || !realpath(out, real) || access(real, R_OK) < 0) {
        fprintf(stderr, "ebt %s: client library %s not found (%s); build it or set EBT_LIB\n", cmd,
                out[0] ? out : "libebt.so", strerror(errno));
        return -1;
    }
    snprintf(out, cap, "%s", real);
    return 0;
}

/* Environment of the job's command: the preload first, then any preload it already had. */
void ebt_session_env(const struct ebt_tool_opts *o, const char *run, const char *lib)
{
    static char paths[EBT_MAX_PREFIXES * PATH_MAX];
    char buf[32];
    static char preload[PATH_MAX * 4];
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof(preload), "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    setenv("LD_PRELOAD", preload, 1);
    setenv("EBT_PATHS", ebt_session_paths(o, paths, sizeof(paths)), 1);
    setenv("EBT_RUN_DIR", run, 1);
    char inputs[EBT_MAX_INPUTS * PATH_MAX];
    if (o->ninputs)
        setenv("EBT_INPUT_PATHS", ebt_session_inputs(o, inputs, sizeof(inputs)), 1);
    else
        unsetenv("EBT_INPUT_PATHS");
    setenv("EBT_VISIBILITY", o->vis, 1);
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->cache_bytes);
    setenv("EBT_CACHE_BYTES", buf, 1);
    snprintf(buf, sizeof(buf), "%d", o->nodes > 1 ? o->nodes : 1);
    setenv("EBT_NODES", buf, 1);
    snprintf(buf, sizeof(buf), "%d", o->nodes > 1 ? o->node_id : 0);
    setenv("EBT_NODE_ID", buf, 1);
    if (o->nodes > 1) { /* the client's config check needs them on a multi-node job */
        setenv("EBT_RENDEZVOUS", o->rendezvous, 1);
        setenv("EBT_JOB_ID", o->job_id, 1);
    }
}
