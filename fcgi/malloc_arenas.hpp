// How many malloc arenas a worker's threads share (glibc).
#pragma once

#include <invsys/config.hpp>

namespace invsys::fcgi {

// The arena bound for a worker of `cfg` on a machine of `cores` cores: as
// many arenas as the worker runs threads at once when every worker is busy
// (cores / workers, rounded up), at least 2, at most `threads` + 1 (the
// main arena and one per request thread).
unsigned malloc_arenas_for(const config& cfg, unsigned cores) noexcept;

// Sets glibc's M_ARENA_MAX to malloc_arenas_for() this machine, unless the
// environment already bounds it (MALLOC_ARENA_MAX, or arena_max in
// GLIBC_TUNABLES). Call in the worker before it starts a thread.
void bound_malloc_arenas(const config& cfg) noexcept;

}  // namespace invsys::fcgi
