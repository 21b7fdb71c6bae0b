// Process creation for the orchestrator. The code between fork and exec must not run Swift
// (it may allocate or take locks held by other threads), so it lives here, in C, and does only
// async-signal-safe calls.
#ifndef PGARCHIVE_SPAWN_H
#define PGARCHIVE_SPAWN_H
#include <sys/types.h>

/// Forks and executes `path` with `argv` and `envp`. In the child: the parent-death signal is
/// SIGKILL (so a killed orchestrator leaves no child running; note it follows the calling
/// *thread*), signal dispositions and the mask are reset to defaults, `from[i]` is duplicated
/// onto `to[i]` for `count` pairs, and every other descriptor is closed.
/// Returns the child's pid, or -1 with `*error` set to the errno of fork or exec.
pid_t pgarchive_spawn(const char *path, char *const argv[], char *const envp[],
                      const int *from, const int *to, int count, int *error);

/// pipe2(fds, O_CLOEXEC): both ends close on exec (pipe2 is not visible to Swift without _GNU_SOURCE).
int pgarchive_pipe_cloexec(int fds[2]);

/// Asks for a pipe buffer of `bytes` (F_SETPIPE_SZ, capped at /proc/sys/fs/pipe-max-size);
/// returns the capacity the pipe has afterwards, or -1 with errno set.
int pgarchive_pipe_set_capacity(int fd, int bytes);

/// Returns the heap's free pages to the system (glibc malloc_trim); 1 when some were released.
int pgarchive_release_free_memory(void);

#endif
