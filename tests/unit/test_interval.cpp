#include <catch2/catch.hpp>

#include "interval/interval.hpp"
#include "model.hpp"

using namespace invsys;

namespace {

// Hours, to keep the tables readable: [10, 12) is 10:00 to 12:00.
constexpr std::int64_t h = 3'600'000'000;

struct overlap_case {
    const char* name;
    interval existing;
    interval requested;
};

// The rule must not depend on which of the two came first.
void check_overlap(const overlap_case& c, bool expected) {
    INFO(c.name);
    CHECK(overlaps(c.existing, c.requested) == expected);
    CHECK(overlaps(c.requested, c.existing) == expected);
}

}  // namespace

TEST_CASE("a booking that shares any instant with another one overlaps it", "[interval]") {
    const interval existing{10 * h, 12 * h};
    const overlap_case cases[] = {
        {"partial overlap at the start", existing, {9 * h, 11 * h}},
        {"partial overlap at the end", existing, {11 * h, 13 * h}},
        {"equal", existing, {10 * h, 12 * h}},
        {"containing", existing, {9 * h, 13 * h}},
        {"contained", existing, {10 * h + 1, 12 * h - 1}},
        {"same start, shorter", existing, {10 * h, 11 * h}},
        {"same start, longer", existing, {10 * h, 13 * h}},
        {"same end, shorter", existing, {11 * h, 12 * h}},
        {"same end, longer", existing, {9 * h, 12 * h}},
        {"one microsecond of overlap at the start", existing, {8 * h, 10 * h + 1}},
        {"one microsecond of overlap at the end", existing, {12 * h - 1, 14 * h}},
    };
    for (const auto& c : cases) check_overlap(c, true);
}

TEST_CASE("a booking that touches the previous one is accepted", "[interval]") {
    const interval existing{10 * h, 12 * h};
    const overlap_case cases[] = {
        {"touching the end", existing, {12 * h, 14 * h}},
        {"touching the start", existing, {8 * h, 10 * h}},
        {"entirely before", existing, {7 * h, 8 * h}},
        {"entirely after", existing, {13 * h, 14 * h}},
        {"one microsecond gap", existing, {12 * h + 1, 13 * h}},
    };
    for (const auto& c : cases) check_overlap(c, false);
}

TEST_CASE("an open start overlaps everything that begins before its end", "[interval]") {
    const interval until_noon{open_start, 12 * h};
    check_overlap({"ends inside the other", until_noon, {11 * h, 13 * h}}, true);
    check_overlap({"the other lies before", until_noon, {-1'000'000 * h, -999'999 * h}}, true);
    check_overlap({"both open at the start", until_noon, {open_start, 1 * h}}, true);
    check_overlap({"the other starts at its end", until_noon, {12 * h, 13 * h}}, false);
    check_overlap({"the other is open-ended from its end", until_noon, {12 * h, open_end}}, false);
}

TEST_CASE("an open end overlaps everything that ends after its start", "[interval]") {
    const interval from_noon{12 * h, open_end};
    check_overlap({"starts inside the other", from_noon, {11 * h, 13 * h}}, true);
    check_overlap({"the other lies far after", from_noon, {1'000'000 * h, 1'000'001 * h}}, true);
    check_overlap({"both open at the end", from_noon, {20 * h, open_end}}, true);
    check_overlap({"the other ends at its start", from_noon, {10 * h, 12 * h}}, false);
    check_overlap({"the other is open from the start", from_noon, {open_start, 12 * h}}, false);
}

TEST_CASE("an allocation open at both ends overlaps every valid interval", "[interval]") {
    const interval forever{open_start, open_end};
    const interval others[] = {
        {open_start, open_end},       {open_start, 0},          {0, open_end}, {0, 1}, {-1, 0},
        {open_start, open_start + 1}, {open_end - 1, open_end},
    };
    for (const auto& other : others) check_overlap({"fully open", forever, other}, true);
}

TEST_CASE("an interval is valid only when it starts before it ends", "[interval]") {
    CHECK(is_valid({10 * h, 12 * h}));
    CHECK(is_valid({10 * h, 10 * h + 1}));
    CHECK(is_valid({open_start, 0}));
    CHECK(is_valid({0, open_end}));
    CHECK(is_valid({open_start, open_end}));
    CHECK_FALSE(is_valid({10 * h, 10 * h}));
    CHECK_FALSE(is_valid({12 * h, 10 * h}));
    CHECK_FALSE(is_valid({open_end, open_start}));
}
