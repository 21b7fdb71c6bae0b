#define _GNU_SOURCE
#include "pgarchive_spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail_child(int report, int code) {
    ssize_t ignored = write(report, &code, sizeof code);
    (void)ignored;
    _exit(127);
}

pid_t pgarchive_spawn(const char *path, char *const argv[], char *const envp[],
                      const int *from, const int *to, int count, int *error) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *error = errno; return -1; }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        *error = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_child(report[1], errno);
        if (getppid() != parent) _exit(137);  // the parent died before prctl took effect
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        }
        // Move every source, and the report pipe, above the targets first, so that no pair
        // can clobber another's source or the report pipe.
        int keep_max = 2;
        for (int i = 0; i < count; i++) if (to[i] > keep_max) keep_max = to[i];
        int floor_fd = keep_max + 1;
        int reporter = fcntl(report[1], F_DUPFD_CLOEXEC, floor_fd);
        if (reporter < 0) fail_child(report[1], errno);
        int moved[count > 0 ? count : 1];
        for (int i = 0; i < count; i++) {
            moved[i] = fcntl(from[i], F_DUPFD_CLOEXEC, floor_fd);
            if (moved[i] < 0) fail_child(reporter, errno);
        }
        for (int i = 0; i < count; i++) {
            if (dup2(moved[i], to[i]) < 0) fail_child(reporter, errno);
        }
        // Close what is neither a target nor above them; everything above closes on exec.
        for (int fd = 0; fd <= keep_max; fd++) {
            int wanted = 0;
            for (int i = 0; i < count; i++) if (to[i] == fd) wanted = 1;
            if (!wanted && fd > 2) close(fd);
        }
        if (syscall(SYS_close_range, (unsigned)floor_fd, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = floor_fd; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        execve(path, argv, envp);
        fail_child(reporter, errno);
    }
    close(report[1]);
    int code = 0;
    ssize_t n;
    do { n = read(report[0], &code, sizeof code); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof code) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error = code;
        return -1;
    }
    return pid;
}

int pgarchive_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int pgarchive_pipe_set_capacity(int fd, int bytes) {
    if (fcntl(fd, F_SETPIPE_SZ, bytes) < 0) return -1;
    return fcntl(fd, F_GETPIPE_SZ);
}

int pgarchive_release_free_memory(void) { return malloc_trim(0); }
