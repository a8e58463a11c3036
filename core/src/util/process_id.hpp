// The calling process's id without a system call per use.
#pragma once

#include <sys/types.h>

namespace invsys {

// getpid(), read once per process and again in the child of every fork()
// (a pthread_atfork child handler, which fork() runs before it returns in
// the child). glibc has not cached the pid since 2.25, so each getpid() is
// a system call; the request log and the metrics asked for it three times
// per request. Thread-safe. A process made by clone() or vfork() without
// the fork wrappers must not call it before exec.
pid_t current_pid() noexcept;

}  // namespace invsys
