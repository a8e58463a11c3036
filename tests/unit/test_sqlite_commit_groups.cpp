// Group commit of the SQLite store (storage/sqlite/commit_groups.hpp), on
// real database files: writers that queue while a group is open share its
// one COMMIT, each inside its own savepoint. A "holder" thread opens a
// group and keeps it open (its in_one_transaction body sleeps after its
// first write) while the other writers arrive, so who is in which group is
// known; the invsys_commit_group* counters say how many groups committed.
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <invsys/metrics.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "error/error.hpp"
#include "storage/store.hpp"
#include "store_test_support.hpp"

using namespace invsys;
using namespace invsys::store_test;
using namespace std::chrono_literals;

namespace {

// This process's value of one counter of the Prometheus text.
std::uint64_t counter(const std::string& name) {
    const std::string text = metrics::render_prometheus();
    const std::string line_start = "\n" + name + " ";
    const auto at = text.find(line_start);
    if (at == std::string::npos) throw std::runtime_error("no metric " + name);
    return std::stoull(text.substr(at + line_start.size()));
}

struct group_counters {
    std::uint64_t groups = counter("invsys_commit_groups_total");
    std::uint64_t writes = counter("invsys_commit_group_writes_total");
    std::uint64_t failures = counter("invsys_commit_group_failures_total");

    group_counters since_then() const {
        group_counters now;
        return {now.groups - groups, now.writes - writes, now.failures - failures};
    }
};

struct database {
    std::filesystem::path dir;
    std::unique_ptr<store> db;
    std::string car;

    explicit database(store_options options) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "invsys-groups-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = pattern;
        db = store::open("sqlite:" + (dir / "invsys.db").string(), options);
        db->migrate();
        resource r = make_resource("Car", "group car");
        db->insert_resource(r);
        car = r.id;
    }
    ~database() {
        db.reset();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    bool stored(const allocation& a) { return db->find_allocation(car, a.id).has_value(); }
};

store_options with_groups(unsigned max, unsigned busy_timeout_ms = 5000) {
    store_options o;
    o.busy_timeout_ms = busy_timeout_ms;
    o.connections = 16;
    o.commit_group_max = max;
    return o;
}

// Runs `holder_body` (its first write opens a group, as leader) in a
// thread; once that write is in, starts one thread per writer, gives them
// `queue_time` to queue behind the holder, then lets the holder's body end.
// Returns what the holder threw (null when it committed) and each writer's.
struct outcome {
    std::exception_ptr holder;
    std::vector<std::exception_ptr> writers;
};
outcome with_open_group(const std::function<void()>& holder_first_write,
                        const std::function<void()>& holder_after,
                        const std::vector<std::function<void()>>& writers, store& db,
                        std::chrono::milliseconds queue_time = 300ms) {
    outcome out;
    out.writers.resize(writers.size());
    std::atomic<bool> in{false}, go_on{false};
    std::thread holder([&] {
        try {
            db.in_one_transaction("hold a group open", [&] {
                holder_first_write();
                in = true;
                while (!go_on) std::this_thread::sleep_for(1ms);
                holder_after();
            });
        } catch (...) {
            out.holder = std::current_exception();
        }
        in = true;
    });
    while (!in) std::this_thread::sleep_for(1ms);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < writers.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                writers[i]();
            } catch (...) {
                out.writers[i] = std::current_exception();
            }
        });
    }
    std::this_thread::sleep_for(queue_time);
    go_on = true;
    holder.join();
    for (auto& t : threads) t.join();
    return out;
}

error_code code_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const error& failure) {
        return failure.code();
    } catch (...) {
        return error_code::internal;
    }
}

std::int64_t hour(int h) { return std::int64_t{h} * 3'600'000'000; }

// `count` bookings of one hour each, from hour 10 on, none overlapping.
std::vector<allocation> hourly_bookings(const std::string& car, int count) {
    std::vector<allocation> out;
    for (int i = 0; i < count; ++i) out.push_back(make_allocation(car, hour(10 + i), hour(11 + i)));
    return out;
}

// One writer per booking: inserts it (the bookings must outlive the writers).
std::vector<std::function<void()>> inserts_of(database& d, const std::vector<allocation>& list) {
    std::vector<std::function<void()>> out;
    for (const allocation& a : list) out.push_back([&d, &a] { d.db->insert_allocation(a); });
    return out;
}

}  // namespace

TEST_CASE("writers queued behind an open group commit with it, in one COMMIT",
          "[store][sqlite][group-commit]") {
    database d(with_groups(64));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    const std::vector<allocation> queued = hourly_bookings(d.car, 8);
    const std::vector<std::function<void()>> writers = inserts_of(d, queued);
    const group_counters before;

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); }, [] {}, writers, *d.db);

    CHECK_FALSE(out.holder);
    for (const auto& e : out.writers) CHECK_FALSE(e);
    CHECK(d.stored(first));
    for (const allocation& a : queued) CHECK(d.stored(a));
    const group_counters delta = before.since_then();
    CHECK(delta.groups == 1);
    CHECK(delta.writes == 9);
    CHECK(delta.failures == 0);
}

TEST_CASE(
    "a conflict inside a group is that writer's 409 alone, checked against the group's "
    "earlier writes",
    "[store][sqlite][group-commit]") {
    database d(with_groups(64));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    // Four writers for one slot (each overlaps the others), four for slots
    // of their own, taking turns in the group.
    std::vector<allocation> contested, free;
    std::vector<std::function<void()>> writers;
    for (int i = 0; i < 4; ++i) {
        contested.push_back(make_allocation(d.car, hour(100) + i, hour(101) + i));
        free.push_back(make_allocation(d.car, hour(200 + i), hour(201 + i)));
    }
    for (int i = 0; i < 4; ++i) {
        writers.push_back([&d, a = contested[i]] { d.db->insert_allocation(a); });
        writers.push_back([&d, a = free[i]] { d.db->insert_allocation(a); });
    }
    const group_counters before;

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); }, [] {}, writers, *d.db);

    CHECK_FALSE(out.holder);
    int won = 0, refused = 0;
    for (int i = 0; i < 4; ++i) {
        const auto& e = out.writers[2 * i];
        if (!e) {
            ++won;
            CHECK(d.stored(contested[i]));
        } else {
            CHECK(code_of(e) == error_code::conflict);
            CHECK_FALSE(d.stored(contested[i]));
            ++refused;
        }
        CHECK_FALSE(out.writers[2 * i + 1]);
        CHECK(d.stored(free[i]));
    }
    CHECK(won == 1);
    CHECK(refused == 3);
    CHECK(d.stored(first));
    const group_counters delta = before.since_then();
    CHECK(delta.groups == 1);
    CHECK(delta.writes == 9);  // the refused ones wrote nothing, but were in the group
}

TEST_CASE("a member whose transaction fails after it wrote leaves nothing of its own",
          "[store][sqlite][group-commit]") {
    database d(with_groups(64));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    const allocation undone = make_allocation(d.car, hour(5), hour(6));
    const allocation kept = make_allocation(d.car, hour(7), hour(8));
    std::vector<std::function<void()>> writers{
        [&] {
            d.db->in_one_transaction("write, then fail", [&] {
                d.db->insert_allocation(undone);
                throw std::runtime_error("refused after its write");
            });
        },
        [&] { d.db->insert_allocation(kept); }};

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); }, [] {}, writers, *d.db);

    CHECK_FALSE(out.holder);
    REQUIRE(out.writers[0]);
    CHECK_THROWS_WITH(std::rethrow_exception(out.writers[0]), "refused after its write");
    CHECK_FALSE(out.writers[1]);
    CHECK(d.stored(first));
    CHECK_FALSE(d.stored(undone));
    CHECK(d.stored(kept));
}

TEST_CASE("when the leader's own write fails, the writers queued behind it commit in a later group",
          "[store][sqlite][group-commit]") {
    database d(with_groups(64));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    const std::vector<allocation> queued = hourly_bookings(d.car, 4);
    const std::vector<std::function<void()>> writers = inserts_of(d, queued);
    const group_counters before;

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); },
                        [] { throw std::runtime_error("the leader gives up"); }, writers, *d.db);

    REQUIRE(out.holder);
    CHECK_THROWS_WITH(std::rethrow_exception(out.holder), "the leader gives up");
    CHECK_FALSE(d.stored(first));
    for (const auto& e : out.writers) CHECK_FALSE(e);
    for (const allocation& a : queued) CHECK(d.stored(a));
    const group_counters delta = before.since_then();
    CHECK(delta.writes == 4);
    CHECK(delta.groups >= 1);
    CHECK(delta.failures == 0);
}

TEST_CASE("a writer still queued when its busy timeout passes gets busy and writes nothing",
          "[store][sqlite][group-commit]") {
    database d(with_groups(64, 100));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    const allocation late = make_allocation(d.car, hour(3), hour(4));
    std::vector<std::function<void()>> writers{[&] { d.db->insert_allocation(late); }};

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); }, [] {}, writers, *d.db, 400ms);

    CHECK_FALSE(out.holder);
    REQUIRE(out.writers[0]);
    CHECK(code_of(out.writers[0]) == error_code::unavailable);
    CHECK(d.stored(first));
    CHECK_FALSE(d.stored(late));
}

TEST_CASE("sqlite_commit_group_max = 1 commits every writer alone",
          "[store][sqlite][group-commit]") {
    database d(with_groups(1));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    const std::vector<allocation> queued = hourly_bookings(d.car, 3);
    const std::vector<std::function<void()>> writers = inserts_of(d, queued);
    const group_counters before;

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); }, [] {}, writers, *d.db);

    CHECK_FALSE(out.holder);
    for (const auto& e : out.writers) CHECK_FALSE(e);
    for (const allocation& a : queued) CHECK(d.stored(a));
    const group_counters delta = before.since_then();
    CHECK(delta.groups == 4);
    CHECK(delta.writes == 4);
}

TEST_CASE("a full group sends newcomers to the next one", "[store][sqlite][group-commit]") {
    database d(with_groups(3));
    const allocation first = make_allocation(d.car, hour(0), hour(1));
    const std::vector<allocation> queued = hourly_bookings(d.car, 6);
    const std::vector<std::function<void()>> writers = inserts_of(d, queued);
    const group_counters before;

    const outcome out =
        with_open_group([&] { d.db->insert_allocation(first); }, [] {}, writers, *d.db);

    CHECK_FALSE(out.holder);
    for (const auto& e : out.writers) CHECK_FALSE(e);
    for (const allocation& a : queued) CHECK(d.stored(a));
    const group_counters delta = before.since_then();
    CHECK(delta.writes == 7);
    CHECK(delta.groups >= 3);  // at most 3 writers each: the holder's and 6 more
}

TEST_CASE("many threads booking at once lose nothing and share fsyncs",
          "[store][sqlite][group-commit]") {
    database d(with_groups(64));
    constexpr int threads = 16, per_thread = 25;
    std::vector<std::vector<allocation>> mine(threads);
    for (int t = 0; t < threads; ++t)
        for (int k = 0; k < per_thread; ++k)
            mine[t].push_back(make_allocation(d.car, hour(1000 + t * per_thread + k),
                                              hour(1001 + t * per_thread + k)));
    std::atomic<int> failed{0};
    const group_counters before;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (const allocation& a : mine[t]) {
                try {
                    d.db->insert_allocation(a);
                } catch (...) {
                    ++failed;
                }
            }
        });
    }
    for (auto& t : pool) t.join();

    CHECK(failed == 0);
    for (const auto& list : mine)
        for (const allocation& a : list) CHECK(d.stored(a));
    const group_counters delta = before.since_then();
    CHECK(delta.writes == threads * per_thread);
    CHECK(delta.groups < delta.writes);  // some writers shared a COMMIT
}
