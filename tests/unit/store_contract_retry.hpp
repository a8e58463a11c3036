// The store contract, continued: row versions, read-merge-write, If-Match
// conditions on deletes, Idempotency-Key claims and the joined transaction
// (docs/api.md, "Safe retries and concurrency control"). Included by each
// backend's test file right after store_contract.hpp, with the same
// INVSYS_STORE_CONTRACT_BACKEND and INVSYS_STORE_CONTRACT_TAG. No include
// guard: included once per backend file.

#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "store_test_support.hpp"

#define INVSYS_STORE_CONTRACT_CASE(name, tags) \
    TEMPLATE_TEST_CASE(name, tags INVSYS_STORE_CONTRACT_TAG, INVSYS_STORE_CONTRACT_BACKEND)

namespace {

using namespace invsys;
using namespace invsys::store_test;

// A version condition naming exactly these versions.
version_condition only(std::vector<std::int64_t> versions) {
    version_condition c;
    c.any = false;
    c.versions = std::move(versions);
    return c;
}

idempotency_claim claim_of(const std::string& key, const std::string& fingerprint,
                           std::int64_t now_us, const std::string& owner = next_id("owner")) {
    idempotency_claim c;
    c.scope = "";
    c.key = key;
    c.fingerprint = fingerprint;
    c.owner = owner;
    c.now_us = now_us;
    c.lease_until_us = now_us + 10'000'000;
    c.forget_before_us = now_us - 86'400'000'000LL;
    return c;
}

}  // namespace

// --- versions and read-merge-write -----------------------------------------

INVSYS_STORE_CONTRACT_CASE("a row starts at version 1 and each change adds one",
                           "[store][versions]") {
    TestType s;
    const resource car = make_resource("Car", "Versioned");
    s.db->insert_resource(car);
    CHECK(s.db->find_resource("Car", car.id)->version == 1);

    const resource renamed = s.db->modify_resource("Car", car.id, [](resource& r) {
        r.name = "Renamed";
        return true;
    });
    CHECK(renamed.version == 2);
    CHECK(renamed.name == "Renamed");
    CHECK(s.db->find_resource("Car", car.id)->version == 2);

    // No change, no new version.
    const resource same = s.db->modify_resource("Car", car.id, [](resource&) { return false; });
    CHECK(same.version == 2);
    CHECK(s.db->find_resource("Car", car.id)->version == 2);

    resource replaced = *s.db->find_resource("Car", car.id);
    replaced.attributes_json = R"({"seats":4})";
    s.db->update_resource(replaced);
    CHECK(s.db->find_resource("Car", car.id)->version == 3);

    const allocation a = make_allocation(car.id, 1000, 2000);
    s.db->insert_allocation(a);
    CHECK(s.db->find_allocation(car.id, a.id)->version == 1);
    const allocation moved = s.db->modify_allocation(car.id, a.id, [](allocation& stored) {
        stored.to_us = 3000;
        return true;
    });
    CHECK(moved.version == 2);
    CHECK(moved.to_us == 3000);
    CHECK(s.db->find_allocation(car.id, a.id)->version == 2);
    CHECK(s.db->list_allocations(car.id, {}, std::nullopt, 10).at(0).version == 2);
}

INVSYS_STORE_CONTRACT_CASE(
    "a read-merge-write of an unknown row or one whose change throws writes nothing",
    "[store][versions]") {
    TestType s;
    CHECK(error_from([&] {
              s.db->modify_resource("Car", "no-such-id", [](resource&) { return true; });
          }).code() == error_code::not_found);

    const resource car = make_resource("Car", "Untouched");
    s.db->insert_resource(car);
    CHECK(error_from([&] {
              s.db->modify_resource("Lorry", car.id, [](resource&) { return true; });
          }).code() == error_code::not_found);
    CHECK(error_from([&] {
              s.db->modify_resource("Car", car.id, [](resource& r) -> bool {
                  r.name = "Changed";
                  throw error(error_code::precondition_failed, "stale");
              });
          }).code() == error_code::precondition_failed);
    const auto stored = s.db->find_resource("Car", car.id);
    CHECK(stored->name == "Untouched");
    CHECK(stored->version == 1);

    CHECK(error_from([&] {
              s.db->modify_allocation(car.id, "no-such-id", [](allocation&) { return true; });
          }).code() == error_code::not_found);
    const allocation a = make_allocation(car.id, 1000, 2000);
    s.db->insert_allocation(a);
    CHECK(error_from([&] {
              s.db->modify_allocation("another-resource", a.id, [](allocation&) { return true; });
          }).code() == error_code::not_found);

    // A merged allocation that overlaps another one is refused as an update is.
    const allocation b = make_allocation(car.id, 3000, 4000);
    s.db->insert_allocation(b);
    const error overlap = error_from([&] {
        s.db->modify_allocation(car.id, b.id, [](allocation& stored) {
            stored.from_us = 1500;
            return true;
        });
    });
    CHECK(overlap.code() == error_code::conflict);
    CHECK(overlap.conflicts == std::vector<std::string>{a.id});
    CHECK(s.db->find_allocation(car.id, b.id)->from_us == 3000);
}

INVSYS_STORE_CONTRACT_CASE(
    "two concurrent read-merge-writes of different fields both survive, every round",
    "[store][versions][concurrency]") {
    TestType s;
    auto other = s.another();
    for (int round = 0; round < 20; ++round) {
        const resource car = make_resource("Car", "Race" + std::to_string(round));
        s.db->insert_resource(car);
        std::latch start(2);
        std::thread renamer([&] {
            start.arrive_and_wait();
            s.db->modify_resource("Car", car.id, [&](resource& r) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                r.name = "Renamed" + std::to_string(round);
                return true;
            });
        });
        std::thread reseater([&] {
            start.arrive_and_wait();
            other->modify_resource("Car", car.id, [&](resource& r) {
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
                r.attributes_json = R"({"seats":2})";
                return true;
            });
        });
        renamer.join();
        reseater.join();
        const auto stored = s.db->find_resource("Car", car.id);
        CHECK(stored->name == "Renamed" + std::to_string(round));
        CHECK(stored->attributes_json == R"({"seats":2})");
        CHECK(stored->version == 3);
    }
}

INVSYS_STORE_CONTRACT_CASE("a delete whose If-Match condition does not hold deletes nothing",
                           "[store][versions]") {
    TestType s;
    const resource car = make_resource("Car", "Conditional");
    s.db->insert_resource(car);
    const allocation a = make_allocation(car.id, 1000, 2000);
    s.db->insert_allocation(a);

    CHECK(error_from([&] {
              s.db->delete_allocation(car.id, a.id, only({2, 3}));
          }).code() == error_code::precondition_failed);
    CHECK(error_from([&] { s.db->delete_allocation(car.id, a.id, only({})); }).code() ==
          error_code::precondition_failed);
    CHECK(error_from([&] { s.db->delete_allocation(car.id, "no-such-id", only({1})); }).code() ==
          error_code::not_found);
    CHECK(s.db->find_allocation(car.id, a.id));
    s.db->delete_allocation(car.id, a.id, only({7, 1}));
    CHECK_FALSE(s.db->find_allocation(car.id, a.id));

    CHECK(error_from([&] { s.db->delete_resource("Car", car.id, false, now, only({2})); }).code() ==
          error_code::precondition_failed);
    CHECK(error_from([&] {
              s.db->delete_resource("Car", "no-such-id", false, now, only({1}));
          }).code() == error_code::not_found);
    CHECK(s.db->find_resource("Car", car.id));
    s.db->delete_resource("Car", car.id, false, now, only({1}));
    CHECK_FALSE(s.db->find_resource("Car", car.id));
}

// --- idempotency keys --------------------------------------------------------

INVSYS_STORE_CONTRACT_CASE("an Idempotency-Key is claimed once, then in flight, then answered",
                           "[store][idempotency]") {
    TestType s;
    const std::int64_t t0 = 5'000'000'000'000LL;
    const idempotency_claim first = claim_of("key-1", "fp-a", t0);
    CHECK(s.db->claim_idempotency_key(first).result == claim_result::claimed);
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-a", t0 + 1)).result ==
          claim_result::in_flight);
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-b", t0 + 1)).result ==
          claim_result::other_request);
    // Another key, and the same key in another scope, are other claims.
    CHECK(s.db->claim_idempotency_key(claim_of("key-2", "fp-a", t0)).result ==
          claim_result::claimed);
    idempotency_claim scoped = claim_of("key-1", "fp-a", t0);
    scoped.scope = "api-key-7";
    CHECK(s.db->claim_idempotency_key(scoped).result == claim_result::claimed);

    const stored_answer answer{201, "Location: /api/cars/x\nETag: \"1\"\n", R"({"id":"x"})"};
    s.db->complete_idempotency_key("", "key-1", first.owner, answer);
    const claim_outcome again = s.db->claim_idempotency_key(claim_of("key-1", "fp-a", t0 + 2));
    CHECK(again.result == claim_result::answered);
    CHECK(again.answer.status == 201);
    CHECK(again.answer.headers == answer.headers);
    CHECK(again.answer.body == answer.body);
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-b", t0 + 2)).result ==
          claim_result::other_request);
    // Answered once: a second answer is refused.
    CHECK(error_from([&] {
              s.db->complete_idempotency_key("", "key-1", first.owner, answer);
          }).code() == error_code::conflict);
}

INVSYS_STORE_CONTRACT_CASE(
    "an expired claim passes to a retry, and the first owner can no longer answer",
    "[store][idempotency]") {
    TestType s;
    const std::int64_t t0 = 5'000'000'000'000LL;
    const idempotency_claim first = claim_of("key-1", "fp-a", t0);
    REQUIRE(s.db->claim_idempotency_key(first).result == claim_result::claimed);
    // Within the lease: in flight; past it (the worker was killed): claimed.
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-a", first.lease_until_us)).result ==
          claim_result::in_flight);
    const idempotency_claim retry = claim_of("key-1", "fp-a", first.lease_until_us + 1);
    CHECK(s.db->claim_idempotency_key(retry).result == claim_result::claimed);
    CHECK(error_from([&] {
              s.db->complete_idempotency_key("", "key-1", first.owner, {201, "", "first"});
          }).code() == error_code::conflict);
    // The first owner's release leaves the retry's claim alone.
    s.db->release_idempotency_key("", "key-1", first.owner);
    s.db->complete_idempotency_key("", "key-1", retry.owner, {201, "", "retry"});
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-a", retry.now_us + 1)).answer.body ==
          "retry");
}

INVSYS_STORE_CONTRACT_CASE("a released claim and a key past the retention are claimed afresh",
                           "[store][idempotency]") {
    TestType s;
    const std::int64_t t0 = 5'000'000'000'000LL;
    const idempotency_claim first = claim_of("key-1", "fp-a", t0);
    REQUIRE(s.db->claim_idempotency_key(first).result == claim_result::claimed);
    s.db->release_idempotency_key("", "key-1", first.owner);
    const idempotency_claim second = claim_of("key-1", "fp-b", t0 + 1);
    REQUIRE(s.db->claim_idempotency_key(second).result == claim_result::claimed);
    s.db->complete_idempotency_key("", "key-1", second.owner, {400, "", "refused"});

    // Remembered for the retention, whatever the request was; then gone.
    const std::int64_t day = 86'400'000'000LL;
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-c", t0 + day)).result ==
          claim_result::other_request);
    CHECK(s.db->claim_idempotency_key(claim_of("key-1", "fp-c", t0 + day + 2)).result ==
          claim_result::claimed);

    // Old keys are purged a few per claim, the oldest first.
    for (int i = 0; i < 20; ++i) {
        const idempotency_claim c = claim_of("old-" + std::to_string(i), "fp", t0 + i);
        REQUIRE(s.db->claim_idempotency_key(c).result == claim_result::claimed);
    }
    const long long before = s.count_rows("idempotency_keys");
    s.db->claim_idempotency_key(claim_of("new", "fp", t0 + 2 * day));
    CHECK(s.count_rows("idempotency_keys") == before + 1 - 8);
}

INVSYS_STORE_CONTRACT_CASE("many stores claiming one key at once: exactly one claims it",
                           "[store][idempotency][concurrency]") {
    TestType s;
    std::vector<std::unique_ptr<store>> stores;
    for (int i = 0; i < 4; ++i) stores.push_back(s.another());
    for (int round = 0; round < 5; ++round) {
        const std::string key = "race-" + std::to_string(round);
        constexpr int threads = 12;
        std::latch start(threads);
        std::atomic<int> claimed{0}, in_flight{0}, other{0};
        std::vector<std::thread> pool;
        for (int i = 0; i < threads; ++i) {
            pool.emplace_back([&, i] {
                const idempotency_claim c = claim_of(key, "fp", 5'000'000'000'000LL);
                start.arrive_and_wait();
                try {
                    const auto r = stores[i % stores.size()]->claim_idempotency_key(c);
                    (r.result == claim_result::claimed     ? claimed
                     : r.result == claim_result::in_flight ? in_flight
                                                           : other)++;
                } catch (...) {
                    ++other;
                }
            });
        }
        for (auto& t : pool) t.join();
        CHECK(claimed == 1);
        CHECK(in_flight == threads - 1);
        CHECK(other == 0);
    }
}

INVSYS_STORE_CONTRACT_CASE(
    "a joined transaction commits the answer with what the body wrote, or neither",
    "[store][idempotency]") {
    TestType s;
    const std::int64_t t0 = 5'000'000'000'000LL;

    const idempotency_claim failing = claim_of("key-fail", "fp", t0);
    REQUIRE(s.db->claim_idempotency_key(failing).result == claim_result::claimed);
    const resource lost = make_resource("Car", "Lost");
    CHECK_THROWS(s.db->in_one_transaction("test", [&] {
        s.db->insert_resource(lost);
        s.db->complete_idempotency_key("", "key-fail", failing.owner, {201, "", "lost"});
        CHECK(s.db->find_resource("Car", lost.id));
        throw std::runtime_error("crash before COMMIT");
    }));
    CHECK_FALSE(s.db->find_resource("Car", lost.id));
    CHECK(s.db->claim_idempotency_key(claim_of("key-fail", "fp", t0 + 1)).result ==
          claim_result::in_flight);

    const idempotency_claim ok = claim_of("key-ok", "fp", t0);
    REQUIRE(s.db->claim_idempotency_key(ok).result == claim_result::claimed);
    const resource kept = make_resource("Car", "Kept");
    const allocation booked = make_allocation(kept.id, 1000, 2000);
    s.db->in_one_transaction("test", [&] {
        s.db->insert_resource(kept);
        s.db->insert_allocation(booked);
        s.db->complete_idempotency_key("", "key-ok", ok.owner, {201, "", "kept"});
    });
    CHECK(s.db->find_resource("Car", kept.id));
    CHECK(s.db->find_allocation(kept.id, booked.id));
    CHECK(s.db->claim_idempotency_key(claim_of("key-ok", "fp", t0 + 1)).answer.body == "kept");

    // Another store (another process) sees none of it before COMMIT.
    auto other = s.another();
    const resource pending = make_resource("Car", "Pending");
    s.db->in_one_transaction("test", [&] {
        s.db->insert_resource(pending);
        CHECK_FALSE(other->find_resource("Car", pending.id));
    });
    CHECK(other->find_resource("Car", pending.id));

    // A refused write inside the body rolls the whole body back.
    const resource first = make_resource("Car", "First");
    CHECK(error_from([&] {
              s.db->in_one_transaction("test", [&] {
                  s.db->insert_resource(first);
                  s.db->insert_resource(make_resource("Car", "Kept"));  // name taken
              });
          }).code() == error_code::conflict);
    CHECK_FALSE(s.db->find_resource("Car", first.id));
}

#undef INVSYS_STORE_CONTRACT_CASE
