// What the store tests of every backend share: making entities, catching
// the error an operation throws, racing threads for one slot.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "api/http.hpp"
#include "error/error.hpp"
#include "model.hpp"
#include "storage/store.hpp"

namespace invsys::store_test {

inline std::string next_id(const char* prefix) {
    static std::atomic<int> counter{0};
    return std::string(prefix) + "-" + std::to_string(++counter);
}

inline resource make_resource(const std::string& type, const std::string& name) {
    return resource{next_id("res"), type, name, "{}", 1'000'000};
}

inline allocation make_allocation(const std::string& resource_id, std::int64_t from,
                                  std::int64_t to, const std::string& type = "booking") {
    allocation a;
    a.id = next_id("alloc");
    a.resource_id = resource_id;
    a.from_us = from;
    a.to_us = to;
    a.allocation_type = type;
    a.created_us = 2'000'000;
    return a;
}

// The error `f` throws; fails the test when it throws none.
inline error error_from(const std::function<void()>& f) {
    try {
        f();
    } catch (const error& e) {
        return e;
    }
    FAIL("expected an error");
    return error(error_code::internal, "unreachable");
}

// The Retry-After header the API answers `e` with, or "" when none.
inline std::string retry_after_of(const error& e) {
    for (const auto& [name, value] : problem_response(e).headers)
        if (name == "Retry-After") return value;
    return "";
}

inline std::vector<std::string> ids_of(const std::vector<allocation>& list) {
    std::vector<std::string> ids;
    for (const auto& a : list) ids.push_back(a.id);
    return ids;
}

inline std::vector<std::string> ids_of(const std::vector<resource>& list) {
    std::vector<std::string> ids;
    for (const auto& r : list) ids.push_back(r.id);
    return ids;
}

inline constexpr std::int64_t now = 1'000'000;

struct race_result {
    int won = 0, refused = 0, other = 0;
};

// `threads` threads, each on the store `pick(i)` picks, try to book the
// intervals `slot(i)` of one resource at once.
inline race_result race_for_one_slot(const std::function<store&(int)>& pick,
                                     const std::string& resource_id, int threads,
                                     const std::function<interval(int)>& slot) {
    std::latch start(threads);
    std::atomic<int> won{0}, refused{0}, other{0};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&, i] {
            const interval span = slot(i);
            const allocation a = make_allocation(resource_id, span.from, span.to);
            start.arrive_and_wait();
            try {
                pick(i).insert_allocation(a);
                ++won;
            } catch (const error& e) {
                (e.code() == error_code::conflict ? refused : other)++;
            } catch (...) {
                ++other;
            }
        });
    }
    for (auto& t : pool) t.join();
    return race_result{won, refused, other};
}

// Pairwise overlapping: every start is before every end.
inline race_result race_for_one_slot(const std::function<store&(int)>& pick,
                                     const std::string& resource_id, int threads) {
    return race_for_one_slot(pick, resource_id, threads, [](int i) {
        return interval{1000 + i, 2000 + i};
    });
}

}  // namespace invsys::store_test
