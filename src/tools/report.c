/* report.c - human and JSON summaries of a flush and of the daemon's counters (on stderr/stdout).
 */
#define _GNU_SOURCE
#include "tool.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t num(const char *json, const char *key)
{
    uint64_t v = 0;
    ebt_json_get_u64(json, key, &v);
    return v;
}

void ebt_report_flush(const char *json, double job_s, int as_json, const char *extra_json)
{
    double flush_s = 0;
    ebt_json_get_double(json, "seconds", &flush_s);
    if (as_json) {
        fprintf(stderr, "{\"job_seconds\":%.6f,%s%s\"flush\":%s}\n", job_s,
                extra_json ? extra_json : "", extra_json && *extra_json ? "," : "",
                *json ? json : "null");
        return;
    }
    fprintf(stderr,
            "ebt: files            %llu\n"
            "ebt: bytes            %llu\n"
            "ebt: PFS ops, job     %llu (the clients' lookups, opens, stats ... on the PFS)\n"
            "ebt: PFS metadata ops %llu (flush)\n"
            "ebt: PFS data ops     %llu\n"
            "ebt: flush seconds    %.3f\n",
            (unsigned long long)num(json, "files"), (unsigned long long)num(json, "bytes"),
            (unsigned long long)num(json, "job_meta_ops"),
            (unsigned long long)num(json, "meta_ops"), (unsigned long long)num(json, "data_ops"),
            flush_s);
    uint64_t set = num(json, "layouts_set"), inh = num(json, "layouts_inherited"),
             refused = num(json, "layouts_refused");
    if (set + inh + refused) /* only where the PFS has layouts (src/layout) */
        fprintf(stderr,
                "ebt: layouts set      %llu (directory default kept: %llu, refused: %llu)\n",
                (unsigned long long)set, (unsigned long long)inh, (unsigned long long)refused);
    if (job_s >= 0)
        fprintf(stderr, "ebt: job seconds      %.3f\n", job_s);
}

int ebt_report_stat(const char *run, const char *json, int as_json)
{
    if (as_json) {
        printf("%s\n", json);
        return 0;
    }
    static const char *const keys[] = {
        "cache_files",  "cache_bytes",   "clients",         "requests",       "rejected",
        "bad_messages", "accept_pauses", "dropped_clients", "flush_ops",      "flush_failures",
        "flush_files",  "flush_bytes",   "flush_meta_ops",  "flush_data_ops", "job_pfs_meta_ops"};
    uint64_t pid = 0;
    ebt_json_get_u64(json, "pid", &pid);
    printf("run dir          %s\n", run);
    if (pid)
        printf("daemon pid       %llu\n", (unsigned long long)pid);
    else
        printf("daemon           not running\n");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        uint64_t v;
        if (ebt_json_get_u64(json, keys[i], &v) == 0)
            printf("%-16s %llu\n", keys[i], (unsigned long long)v);
    }
    double s;
    if (ebt_json_get_double(json, "flush_seconds", &s) == 0)
        printf("%-16s %.3f\n", "flush_seconds", s);
    const char *mesh = strstr(json, "\"mesh\":");
    if (mesh)
        ebt_report_mesh(mesh + 7);
    return 0;
}

/* Node ids whose "state" is "dead", as "1,3" (or "none"). */
static void dead_list(const char *json, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = strstr(json, "{\"node\":"); p; p = strstr(p + 1, "{\"node\":")) {
        int id = atoi(p + 8);
        const char *st = strstr(p, "\"state\":\"");
        if (st && !strncmp(st + 9, "dead", 4) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%d", n ? "," : "", id);
    }
    if (!out[0])
        snprintf(out, cap, "none");
}

void ebt_report_mesh(const char *json)
{
    uint64_t node = 0, nodes = 1;
    char job[128] = "", dead[1024];
    ebt_json_get_u64(json, "node", &node);
    ebt_json_get_u64(json, "nodes", &nodes);
    ebt_json_get_str(json, "job", job, sizeof(job));
    printf("%-16s %llu of %llu\n", "node", (unsigned long long)node, (unsigned long long)nodes);
    if (nodes <= 1)
        return;
    dead_list(json, dead, sizeof(dead));
    printf("%-16s %s\n", "job", job);
    printf("%-16s %s\n", "dead peers", dead);
    const char *ping = strstr(json, "\"ping\":");
    if (ping)
        printf("%-16s %.*s\n", "ping", (int)strcspn(ping + 7, "}") + 1, ping + 7);
}
