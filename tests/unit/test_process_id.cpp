#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "util/process_id.hpp"

using namespace invsys;

TEST_CASE("the cached process id is the process's own, also in a forked child", "[process_id]") {
    CHECK(current_pid() == ::getpid());
    CHECK(current_pid() == ::getpid());  // the cached value now

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Only async-signal-safe calls here: _exit with the verdict.
        const bool own = current_pid() == ::getpid() && current_pid() != ::getppid();
        ::_exit(own ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(current_pid() == ::getpid());  // the parent keeps its own
}
