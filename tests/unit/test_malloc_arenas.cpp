#include <catch2/catch.hpp>
#include <invsys/config.hpp>

#include "malloc_arenas.hpp"

using invsys::config;
using invsys::fcgi::malloc_arenas_for;

namespace {

config with(unsigned workers, unsigned threads) {
    config c;
    c.workers = workers;
    c.threads = threads;
    return c;
}

}  // namespace

TEST_CASE("a worker gets as many malloc arenas as it runs threads at once", "[fcgi][malloc]") {
    SECTION("one worker per core runs about one thread at a time: two arenas") {
        CHECK(malloc_arenas_for(with(2, 8), 2) == 2);
        CHECK(malloc_arenas_for(with(16, 8), 16) == 2);
    }
    SECTION("fewer workers than cores share the cores among them, rounded up") {
        CHECK(malloc_arenas_for(with(1, 8), 4) == 4);
        CHECK(malloc_arenas_for(with(3, 8), 8) == 3);
    }
    SECTION("never more than its request threads and the main arena") {
        CHECK(malloc_arenas_for(with(1, 4), 32) == 5);
        CHECK(malloc_arenas_for(with(1, 1), 32) == 2);
    }
    SECTION("an unknown core count is one core") { CHECK(malloc_arenas_for(with(1, 8), 0) == 2); }
}
