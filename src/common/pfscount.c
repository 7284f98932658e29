/* pfscount.c - the client's PFS operation counter: one uint64 in a shared mapping of RUN/pfsops,
 * incremented atomically by every client process of the node for each raw path call on the PFS. */
#define _GNU_SOURCE
#include "pfscount.h"
#include "rundir.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PFSCOUNT_SIZE 4096

void (*ebt_sys_path_hook)(const char *path);

static struct {
    uint64_t *counter; /* the mapping, or NULL */
    char roots[EBT_PFSCOUNT_MAX_ROOTS][PATH_MAX];
    size_t len[EBT_PFSCOUNT_MAX_ROOTS];
    int n;
} C;

static void count_path(const char *path)
{
    for (int i = 0; i < C.n; i++)
        if (!strncmp(path, C.roots[i], C.len[i]) &&
            (path[C.len[i]] == '\0' || path[C.len[i]] == '/')) {
            __atomic_add_fetch(C.counter, 1, __ATOMIC_RELAXED);
            return;
        }
}

int ebt_pfscount_create(const char *run)
{
    char f[PATH_MAX];
    if (ebt_rundir_file(run, EBT_PFSCOUNT_FILE, f, sizeof(f)) < 0)
        return -ENAMETOOLONG;
    int fd = ebt_sys_open(f, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = ebt_sys_fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && st.st_size < PFSCOUNT_SIZE && ebt_sys_ftruncate(fd, PFSCOUNT_SIZE) < 0)
        rc = -errno;
    ebt_sys_close(fd);
    return rc;
}

int ebt_pfscount_attach(const char *run, const char *const *roots, int nroots)
{
    char f[PATH_MAX];
    ebt_pfscount_detach();
    if (ebt_rundir_file(run, EBT_PFSCOUNT_FILE, f, sizeof(f)) < 0)
        return -ENAMETOOLONG;
    int fd = ebt_sys_open(f, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    void *m = mmap(NULL, PFSCOUNT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ebt_sys_close(fd);
    if (m == MAP_FAILED)
        return -errno;
    C.counter = m;
    C.n = 0;
    for (int i = 0; i < nroots && C.n < EBT_PFSCOUNT_MAX_ROOTS; i++) {
        size_t l = strlen(roots[i]);
        while (l > 1 && roots[i][l - 1] == '/')
            l--;
        if (l == 0 || l >= PATH_MAX)
            continue;
        memcpy(C.roots[C.n], roots[i], l);
        C.roots[C.n][l] = '\0';
        C.len[C.n++] = l;
    }
    ebt_sys_path_hook = count_path;
    return 0;
}

void ebt_pfscount_detach(void)
{
    ebt_sys_path_hook = NULL;
    if (C.counter)
        munmap(C.counter, PFSCOUNT_SIZE);
    C.counter = NULL;
    C.n = 0;
}

uint64_t ebt_pfscount_read(const char *run)
{
    char f[PATH_MAX];
    uint64_t v = 0;
    if (ebt_rundir_file(run, EBT_PFSCOUNT_FILE, f, sizeof(f)) < 0)
        return 0;
    int fd = ebt_sys_open(f, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (ebt_sys_pread(fd, &v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = 0;
    ebt_sys_close(fd);
    return v;
}
