/* wrap_proc.c - exec wrappers (hand managed fds to the next program image before exec) and
 * _exit wrappers (a forked shell leaves by _exit: what it wrote is published first). */
#define _GNU_SOURCE
#include "client.h"
#include "real.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int execve(const char *path, char *const argv[], char *const envp[])
{
    ebt_exec_prepare();
    return EBT_REAL(execve)(path, argv, envp);
}

int execveat(int d, const char *path, char *const argv[], char *const envp[], int fl)
{
    ebt_exec_prepare();
    return EBT_REAL(execveat)(d, path, argv, envp, fl);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    ebt_exec_prepare();
    return EBT_REAL(fexecve)(fd, argv, envp);
}

int execv(const char *path, char *const argv[])
{
    ebt_exec_prepare();
    return EBT_REAL(execv)(path, argv);
}

int execvp(const char *file, char *const argv[])
{
    ebt_exec_prepare();
    return EBT_REAL(execvp)(file, argv);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    ebt_exec_prepare();
    return EBT_REAL(execvpe)(file, argv, envp);
}

/* The execl family calls glibc's internal execve, so it is rebuilt on the wrappers above. */
static char **collect_args(const char *arg0, va_list ap, char ***envp_out)
{
    size_t n = 1;
    va_list count;
    va_copy(count, ap);
    while (va_arg(count, char *))
        n++;
    va_end(count);
    char **argv = malloc((n + 1) * sizeof(*argv));
    if (!argv)
        return NULL;
    argv[0] = (char *)arg0;
    for (size_t i = 1; i <= n; i++)
        argv[i] = i < n ? va_arg(ap, char *) : NULL;
    if (envp_out) {
        (void)va_arg(ap, char *); /* the terminating NULL */
        *envp_out = va_arg(ap, char **);
    }
    return argv;
}

int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **argv = collect_args(arg, ap, NULL);
    va_end(ap);
    int rc = argv ? execv(path, argv) : -1;
    free(argv);
    return rc;
}

int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    char **argv = collect_args(arg, ap, NULL);
    va_end(ap);
    int rc = argv ? execvp(file, argv) : -1;
    free(argv);
    return rc;
}

int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char **envp = NULL;
    va_start(ap, arg);
    char **argv = collect_args(arg, ap, &envp);
    va_end(ap);
    int rc = argv ? execve(path, argv, envp) : -1;
    free(argv);
    return rc;
}

/* _exit skips atexit and destructors; what the process wrote in close mode is published here, as
 * its last close would (stdio buffers are not flushed: natively they are lost too). */
void _exit(int status)
{
    ebt_publish_before_exit();
    EBT_REAL(_exit)(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

void _Exit(int status)
{
    ebt_publish_before_exit();
    EBT_REAL(_Exit)(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}
