// The store contract: the cases every storage backend must pass, as SOCI
// has one test library for all its backends. Not a header to include
// anywhere else: a backend's test file includes it once, after defining
//
//   INVSYS_STORE_CONTRACT_BACKEND  its fixture type (below), and
//   INVSYS_STORE_CONTRACT_TAG      a tag string for its cases, e.g. "[sqlite]",
//
// and every case below becomes a case of that file, named
// "<sentence> - <fixture type>".
//
// The fixture, B: `B s;` is a migrated store on a new, empty database
// (`B s(options)` with store_options, `B s(options, false)` not migrated),
// with
//   std::unique_ptr<store> db;         the store (null when not migrated)
//   std::unique_ptr<store> open(store_options = {}) const;
//                                      another store on the same database,
//                                      as another process would open it
//   std::unique_ptr<store> another(store_options = {}) const;   the same, migrated
//   long long count_rows(const std::string& table) const;       read by a
//                                      connection of its own, not the store's
//   std::vector<std::pair<long long, long long>> recorded_migrations() const;
//                                      (version, applied_us) of schema_migrations
//   static std::vector<int> migration_versions();   every version the backend has
//   static constexpr const char* name;              what store::backend() says
//
// No include guard: included once per backend file.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store_test_support.hpp"

#define INVSYS_STORE_CONTRACT_CASE(name, tags) \
    TEMPLATE_TEST_CASE(name, tags INVSYS_STORE_CONTRACT_TAG, INVSYS_STORE_CONTRACT_BACKEND)

namespace {

using namespace invsys;
using namespace invsys::store_test;

}  // namespace

// --- opening ---------------------------------------------------------------

INVSYS_STORE_CONTRACT_CASE("the store names its backend and answers a ping", "[store][open]") {
    TestType s;
    CHECK(s.db->backend() == TestType::name);
    CHECK_NOTHROW(s.db->ping());
}

INVSYS_STORE_CONTRACT_CASE("migrations are recorded once and applying them again changes nothing",
                           "[store][migrations]") {
    TestType s;
    const auto recorded = s.recorded_migrations();
    const auto versions = TestType::migration_versions();
    REQUIRE(recorded.size() == versions.size());
    for (std::size_t i = 0; i < recorded.size(); ++i) {
        CHECK(recorded[i].first == versions[i]);
        CHECK(recorded[i].second > 0);
    }

    s.db->migrate();
    auto again = s.another();
    CHECK(s.recorded_migrations() == recorded);
}

INVSYS_STORE_CONTRACT_CASE(
    "two stores migrating one new database at the same time apply each version once",
    "[store][migrations][concurrency]") {
    for (int round = 0; round < 5; ++round) {
        TestType empty({}, false);
        std::latch start(2);
        std::atomic<int> failures{0};
        auto migrate = [&] {
            try {
                start.arrive_and_wait();
                auto db = empty.open();
                db->migrate();
            } catch (const std::exception& e) {
                UNSCOPED_INFO(e.what());
                ++failures;
            }
        };
        std::thread a(migrate), b(migrate);
        a.join();
        b.join();
        REQUIRE(failures == 0);
        CHECK(empty.recorded_migrations().size() == TestType::migration_versions().size());
    }
}

// --- resources -------------------------------------------------------------

INVSYS_STORE_CONTRACT_CASE("a resource can be created, read, renamed and deleted",
                           "[store][resources]") {
    TestType s;
    resource car = make_resource("Car", "Car1");
    car.attributes_json = R"({"seats":5})";
    s.db->insert_resource(car);

    auto found = s.db->find_resource("Car", car.id);
    REQUIRE(found);
    CHECK(found->id == car.id);
    CHECK(found->resource_type == "Car");
    CHECK(found->name == "Car1");
    CHECK(found->attributes_json == R"({"seats":5})");
    CHECK(found->created_us == car.created_us);

    car.name = "Car one";
    car.attributes_json = "{}";
    s.db->update_resource(car);
    found = s.db->find_resource("Car", car.id);
    REQUIRE(found);
    CHECK(found->name == "Car one");
    CHECK(found->attributes_json == "{}");
    CHECK(found->created_us == car.created_us);

    s.db->delete_resource("Car", car.id, false, now);
    CHECK_FALSE(s.db->find_resource("Car", car.id));
}

INVSYS_STORE_CONTRACT_CASE("a resource is unknown through another type", "[store][resources]") {
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    CHECK_FALSE(s.db->find_resource("Lorry", car.id));
    CHECK_FALSE(s.db->find_resource("Car", "no-such-id"));
    CHECK(error_from([&] { s.db->delete_resource("Lorry", car.id, true, now); }).code() ==
          error_code::not_found);
    resource as_lorry = car;
    as_lorry.resource_type = "Lorry";
    CHECK(error_from([&] { s.db->update_resource(as_lorry); }).code() == error_code::not_found);
    CHECK(s.db->find_resource("Car", car.id));
}

INVSYS_STORE_CONTRACT_CASE("updating or deleting a resource that does not exist is not found",
                           "[store][resources]") {
    TestType s;
    const resource ghost = make_resource("Car", "Ghost");
    CHECK(error_from([&] { s.db->update_resource(ghost); }).code() == error_code::not_found);
    CHECK(error_from([&] { s.db->delete_resource("Car", ghost.id, false, now); }).code() ==
          error_code::not_found);
}

INVSYS_STORE_CONTRACT_CASE("a name is unique within its type, exactly and case-sensitively",
                           "[store][resources]") {
    struct row {
        const char* type;
        const char* name;
        bool conflicts;
    };
    const row r = GENERATE(values<row>({
        {"Car", "Car1", true},
        {"Lorry", "Car1", false},
        {"Car", "car1", false},
        {"Car", "CAR1", false},
        {"Car", "Car1 ", false},
        {"Car", " Car1", false},
        {"Car", "Car2", false},
    }));
    CAPTURE(r.type, r.name);
    TestType s;
    const resource first = make_resource("Car", "Car1");
    s.db->insert_resource(first);
    const resource second = make_resource(r.type, r.name);
    if (r.conflicts) {
        const error e = error_from([&] { s.db->insert_resource(second); });
        CHECK(e.code() == error_code::conflict);
        CHECK(e.conflicts == std::vector<std::string>{first.id});
        CHECK(std::string(e.what()) == "a Car named 'Car1' exists already");
        CHECK_FALSE(s.db->find_resource(r.type, second.id));
    } else {
        CHECK_NOTHROW(s.db->insert_resource(second));
        CHECK(s.db->find_resource(r.type, second.id));
    }
}

INVSYS_STORE_CONTRACT_CASE(
    "renaming onto a taken name is a conflict naming its holder, keeping one's name is not",
    "[store][resources]") {
    TestType s;
    const resource one = make_resource("Car", "One");
    resource two = make_resource("Car", "Two");
    s.db->insert_resource(one);
    s.db->insert_resource(two);

    two.name = "One";
    const error e = error_from([&] { s.db->update_resource(two); });
    CHECK(e.code() == error_code::conflict);
    CHECK(e.conflicts == std::vector<std::string>{one.id});
    CHECK(s.db->find_resource("Car", two.id)->name == "Two");

    two.name = "Two";
    two.attributes_json = R"({"seats":2})";
    CHECK_NOTHROW(s.db->update_resource(two));
    CHECK(s.db->find_resource("Car", two.id)->attributes_json == R"({"seats":2})");
}

INVSYS_STORE_CONTRACT_CASE("resources are listed oldest first, one type, a page at a time",
                           "[store][resources]") {
    TestType s;
    std::vector<std::string> cars;
    for (int i = 0; i < 5; ++i) {
        const resource car = make_resource("Car", "Car" + std::to_string(i));
        s.db->insert_resource(car);
        cars.push_back(car.id);
        s.db->insert_resource(make_resource("Lorry", "Lorry" + std::to_string(i)));
    }

    CHECK(ids_of(s.db->list_resources("Car", std::nullopt, 100)) == cars);
    CHECK(ids_of(s.db->list_resources("Car", std::nullopt, 2)) ==
          std::vector<std::string>{cars[0], cars[1]});
    CHECK(ids_of(s.db->list_resources("Car", cars[1], 2)) ==
          std::vector<std::string>{cars[2], cars[3]});
    CHECK(ids_of(s.db->list_resources("Car", cars[3], 2)) == std::vector<std::string>{cars[4]});
    CHECK(s.db->list_resources("Car", cars[4], 2).empty());
    CHECK(s.db->list_resources("Car", std::nullopt, 0).empty());
    CHECK(s.db->list_resources("Truck", std::nullopt, 10).empty());
}

INVSYS_STORE_CONTRACT_CASE("an after cursor that is not a resource of the listed type is invalid",
                           "[store][resources]") {
    TestType s;
    const resource lorry = make_resource("Lorry", "L");
    s.db->insert_resource(lorry);
    for (const std::string& after : {std::string("no-such-id"), lorry.id}) {
        CAPTURE(after);
        const error e = error_from([&] { s.db->list_resources("Car", after, 10); });
        CHECK(e.code() == error_code::invalid);
        REQUIRE(e.errors.size() == 1);
        CHECK(e.errors[0].field == "after");
        CHECK(e.errors[0].message == "unknown id");
    }
}

// --- allocations: overlap --------------------------------------------------

INVSYS_STORE_CONTRACT_CASE(
    "an allocation overlapping an existing one is refused naming it, touching is accepted",
    "[store][allocations][overlap]") {
    struct row {
        const char* what;
        std::int64_t existing_from, existing_to;
        std::int64_t from, to;
        bool conflicts;
    };
    const row r = GENERATE(values<row>({
        {"overlaps its start", 100, 200, 50, 150, true},
        {"overlaps its end", 100, 200, 150, 250, true},
        {"lies inside it", 100, 200, 120, 180, true},
        {"contains it", 100, 200, 50, 250, true},
        {"equals it", 100, 200, 100, 200, true},
        {"shares its start", 100, 200, 100, 150, true},
        {"shares its end", 100, 200, 150, 200, true},
        {"one microsecond of it", 100, 200, 199, 200, true},
        {"open start reaching into it", 100, 200, open_start, 101, true},
        {"open end starting inside it", 100, 200, 199, open_end, true},
        {"everything", 100, 200, open_start, open_end, true},
        {"touches it before", 100, 200, 0, 100, false},
        {"touches it after", 100, 200, 200, 300, false},
        {"open start touching it", 100, 200, open_start, 100, false},
        {"open end touching it", 100, 200, 200, open_end, false},
        {"lies well before", 100, 200, 0, 50, false},
        {"lies well after", 100, 200, 500, 600, false},
        {"vs open start: overlaps", open_start, 0, -10, 10, true},
        {"vs open start: open start too", open_start, 0, open_start, -100, true},
        {"vs open start: touches", open_start, 0, 0, 10, false},
        {"vs open end: overlaps", 1000, open_end, 990, 1010, true},
        {"vs open end: open end too", 1000, open_end, 5000, open_end, true},
        {"vs open end: open start reaching it", 1000, open_end, open_start, 1001, true},
        {"vs open end: touches", 1000, open_end, 900, 1000, false},
        {"vs everything: anything", open_start, open_end, 0, 1, true},
    }));
    CAPTURE(r.what);
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const allocation existing = make_allocation(car.id, r.existing_from, r.existing_to);
    s.db->insert_allocation(existing);

    const allocation candidate = make_allocation(car.id, r.from, r.to);
    if (r.conflicts) {
        const error e = error_from([&] { s.db->insert_allocation(candidate); });
        CHECK(e.code() == error_code::conflict);
        CHECK(e.conflicts == std::vector<std::string>{existing.id});
        CHECK(std::string(e.what()) == "allocation overlaps 1 existing allocation");
        CHECK_FALSE(s.db->find_allocation(car.id, candidate.id));
    } else {
        CHECK_NOTHROW(s.db->insert_allocation(candidate));
        CHECK(s.db->find_allocation(car.id, candidate.id));
    }
}

INVSYS_STORE_CONTRACT_CASE("a conflict lists every allocation in the way, in order",
                           "[store][allocations][overlap]") {
    struct row {
        std::int64_t from, to;
        std::vector<int> in_the_way;  // indexes into existing
    };
    // existing: [0,10) [20,30) [40,50) [60, open end)
    const row r = GENERATE(values<row>({
        {5, 45, {0, 1, 2}},
        {5, 41, {0, 1, 2}},
        {5, 40, {0, 1}},
        {10, 40, {1}},
        {open_start, open_end, {0, 1, 2, 3}},
        {45, 70, {2, 3}},
        {open_start, 21, {0, 1}},
    }));
    CAPTURE(r.from, r.to);
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    std::vector<allocation> existing = {
        make_allocation(car.id, 0, 10), make_allocation(car.id, 20, 30),
        make_allocation(car.id, 40, 50), make_allocation(car.id, 60, open_end)};
    // Inserted out of order: the listing order must not depend on creation.
    for (int i : {2, 0, 3, 1}) s.db->insert_allocation(existing[i]);

    std::vector<std::string> expected;
    for (int i : r.in_the_way) expected.push_back(existing[i].id);
    const error e =
        error_from([&] { s.db->insert_allocation(make_allocation(car.id, r.from, r.to)); });
    CHECK(e.code() == error_code::conflict);
    CHECK(e.conflicts == expected);
    const auto n = expected.size();
    CHECK(std::string(e.what()) == "allocation overlaps " + std::to_string(n) +
                                       (n == 1 ? " existing allocation" : " existing allocations"));
}

INVSYS_STORE_CONTRACT_CASE(
    "a conflict lists at most 100 ids but counts every allocation in the way",
    "[store][allocations][overlap]") {
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    for (int i = 0; i < 103; ++i)
        s.db->insert_allocation(make_allocation(car.id, i * 10, i * 10 + 5));
    const error e =
        error_from([&] { s.db->insert_allocation(make_allocation(car.id, open_start, open_end)); });
    CHECK(e.code() == error_code::conflict);
    CHECK(e.conflicts.size() == 100);
    CHECK(std::string(e.what()) == "allocation overlaps 103 existing allocations");
}

INVSYS_STORE_CONTRACT_CASE("an allocation on an unknown resource is not found",
                           "[store][allocations]") {
    TestType s;
    const error e =
        error_from([&] { s.db->insert_allocation(make_allocation("no-such-resource", 0, 10)); });
    CHECK(e.code() == error_code::not_found);
}

INVSYS_STORE_CONTRACT_CASE("allocations of different resources never conflict",
                           "[store][allocations][overlap]") {
    TestType s;
    const resource a = make_resource("Car", "A");
    const resource b = make_resource("Car", "B");
    s.db->insert_resource(a);
    s.db->insert_resource(b);
    s.db->insert_allocation(make_allocation(a.id, open_start, open_end));
    CHECK_NOTHROW(s.db->insert_allocation(make_allocation(b.id, 0, 10)));
}

INVSYS_STORE_CONTRACT_CASE(
    "a rescheduled allocation does not conflict with itself, only with the others",
    "[store][allocations][update]") {
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    allocation mine = make_allocation(car.id, 100, 200);
    const allocation next = make_allocation(car.id, 250, 300);
    s.db->insert_allocation(mine);
    s.db->insert_allocation(next);

    mine.from_us = 150;
    mine.to_us = 250;
    mine.allocation_type = "maintenance";
    mine.description = "moved";
    CHECK_NOTHROW(s.db->update_allocation(mine));
    const auto stored = s.db->find_allocation(car.id, mine.id);
    REQUIRE(stored);
    CHECK(stored->from_us == 150);
    CHECK(stored->to_us == 250);
    CHECK(stored->allocation_type == "maintenance");
    CHECK(stored->description == "moved");
    CHECK(stored->created_us == mine.created_us);

    mine.to_us = 260;
    const error e = error_from([&] { s.db->update_allocation(mine); });
    CHECK(e.code() == error_code::conflict);
    CHECK(e.conflicts == std::vector<std::string>{next.id});
    CHECK(s.db->find_allocation(car.id, mine.id)->to_us == 250);
}

INVSYS_STORE_CONTRACT_CASE("rescheduling an allocation that is not on the resource is not found",
                           "[store][allocations][update]") {
    TestType s;
    const resource a = make_resource("Car", "A");
    const resource b = make_resource("Car", "B");
    s.db->insert_resource(a);
    s.db->insert_resource(b);
    const allocation on_a = make_allocation(a.id, 0, 10);
    s.db->insert_allocation(on_a);

    allocation moved = on_a;
    moved.resource_id = b.id;
    CHECK(error_from([&] { s.db->update_allocation(moved); }).code() == error_code::not_found);
    const allocation ghost = make_allocation(a.id, 20, 30);
    CHECK(error_from([&] { s.db->update_allocation(ghost); }).code() == error_code::not_found);
}

INVSYS_STORE_CONTRACT_CASE("description and dump are kept as given, absent ones as absent",
                           "[store][allocations]") {
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    allocation full = make_allocation(car.id, 0, 10);
    full.description = "Airport run";
    full.dump_json = R"({"customer":42})";
    const allocation bare = make_allocation(car.id, 10, 20);
    allocation empty = make_allocation(car.id, 20, 30);
    empty.description = "";
    for (const auto& a : {full, bare, empty}) s.db->insert_allocation(a);

    const auto f = s.db->find_allocation(car.id, full.id);
    REQUIRE(f);
    CHECK(f->description == "Airport run");
    CHECK(f->dump_json == R"({"customer":42})");
    CHECK(f->from_us == 0);
    CHECK(f->to_us == 10);
    CHECK(f->created_us == full.created_us);
    const auto b = s.db->find_allocation(car.id, bare.id);
    REQUIRE(b);
    CHECK_FALSE(b->description);
    CHECK_FALSE(b->dump_json);
    const auto e = s.db->find_allocation(car.id, empty.id);
    REQUIRE(e);
    CHECK(e->description == "");
    CHECK(s.db->list_allocations(car.id, {}, std::nullopt, 10)[1].description == std::nullopt);
}

// --- allocations: listing --------------------------------------------------

namespace {

// A car with allocations [open,0) [0,10) [10,20) maintenance, [30,40), [50,open),
// created in a scrambled order.
template <class Backend>
struct listed_car {
    Backend s;
    resource car = make_resource("Car", "Car1");
    std::vector<allocation> in_order;
    listed_car() {
        s.db->insert_resource(car);
        in_order = {make_allocation(car.id, open_start, 0), make_allocation(car.id, 0, 10),
                    make_allocation(car.id, 10, 20, "maintenance"), make_allocation(car.id, 30, 40),
                    make_allocation(car.id, 50, open_end)};
        for (int i : {3, 1, 4, 0, 2}) s.db->insert_allocation(in_order[i]);
    }
    std::vector<std::string> ids(std::initializer_list<int> indexes) const {
        std::vector<std::string> out;
        for (int i : indexes) out.push_back(in_order[i].id);
        return out;
    }
};

}  // namespace

INVSYS_STORE_CONTRACT_CASE("allocations are listed by start, open starts first, then by end",
                           "[store][allocations][list]") {
    listed_car<TestType> c;
    CHECK(ids_of(c.s.db->list_allocations(c.car.id, {}, std::nullopt, 100)) ==
          c.ids({0, 1, 2, 3, 4}));
    CHECK(c.s.db->list_allocations(c.car.id, {}, std::nullopt, 0).empty());
    CHECK(c.s.db->list_allocations("no-such-resource", {}, std::nullopt, 10).empty());
}

INVSYS_STORE_CONTRACT_CASE("a window keeps the allocations that overlap it",
                           "[store][allocations][list]") {
    struct row {
        std::int64_t from, to;
        std::vector<int> kept;
    };
    const row r = GENERATE(values<row>({
        {5, 25, {1, 2}},
        {10, 20, {2}},
        {20, 30, {}},
        {-1, 1, {0, 1}},
        {open_start, 0, {0}},
        {40, 50, {}},
        {45, 51, {4}},
        {1'000'000, open_end, {4}},
        {open_start, open_end, {0, 1, 2, 3, 4}},
        {9, 31, {1, 2, 3}},
    }));
    CAPTURE(r.from, r.to);
    listed_car<TestType> c;
    allocation_filter filter;
    filter.window = interval{r.from, r.to};
    std::vector<std::string> expected;
    for (int i : r.kept) expected.push_back(c.in_order[i].id);
    CHECK(ids_of(c.s.db->list_allocations(c.car.id, filter, std::nullopt, 100)) == expected);
}

INVSYS_STORE_CONTRACT_CASE("the allocation type filter is exact", "[store][allocations][list]") {
    listed_car<TestType> c;
    allocation_filter filter;
    filter.allocation_type = "maintenance";
    CHECK(ids_of(c.s.db->list_allocations(c.car.id, filter, std::nullopt, 100)) == c.ids({2}));
    filter.allocation_type = "Maintenance";
    CHECK(c.s.db->list_allocations(c.car.id, filter, std::nullopt, 100).empty());
    filter.allocation_type = "booking";
    CHECK(ids_of(c.s.db->list_allocations(c.car.id, filter, std::nullopt, 100)) ==
          c.ids({0, 1, 3, 4}));
}

INVSYS_STORE_CONTRACT_CASE("the after cursor pages through allocations, with or without filters",
                           "[store][allocations][list]") {
    listed_car<TestType> c;
    auto& db = *c.s.db;
    CHECK(ids_of(db.list_allocations(c.car.id, {}, std::nullopt, 2)) == c.ids({0, 1}));
    CHECK(ids_of(db.list_allocations(c.car.id, {}, c.in_order[1].id, 2)) == c.ids({2, 3}));
    CHECK(ids_of(db.list_allocations(c.car.id, {}, c.in_order[3].id, 2)) == c.ids({4}));
    CHECK(db.list_allocations(c.car.id, {}, c.in_order[4].id, 2).empty());

    allocation_filter window;
    window.window = interval{5, 45};  // keeps 1, 2, 3
    CHECK(ids_of(db.list_allocations(c.car.id, window, std::nullopt, 1)) == c.ids({1}));
    CHECK(ids_of(db.list_allocations(c.car.id, window, c.in_order[1].id, 1)) == c.ids({2}));
    CHECK(ids_of(db.list_allocations(c.car.id, window, c.in_order[2].id, 5)) == c.ids({3}));
    // A cursor before the window starts at the window.
    CHECK(ids_of(db.list_allocations(c.car.id, window, c.in_order[0].id, 5)) == c.ids({1, 2, 3}));

    allocation_filter bookings;
    bookings.allocation_type = "booking";
    CHECK(ids_of(db.list_allocations(c.car.id, bookings, c.in_order[1].id, 5)) == c.ids({3, 4}));
}

INVSYS_STORE_CONTRACT_CASE("an after cursor that is not an allocation of this resource is invalid",
                           "[store][allocations][list]") {
    listed_car<TestType> c;
    const resource other = make_resource("Car", "Other");
    c.s.db->insert_resource(other);
    const allocation elsewhere = make_allocation(other.id, 0, 10);
    c.s.db->insert_allocation(elsewhere);

    for (const std::string& after : {std::string("no-such-id"), elsewhere.id, c.car.id}) {
        CAPTURE(after);
        const error e = error_from([&] { c.s.db->list_allocations(c.car.id, {}, after, 10); });
        CHECK(e.code() == error_code::invalid);
        REQUIRE(e.errors.size() == 1);
        CHECK(e.errors[0].field == "after");
        CHECK(e.errors[0].message == "unknown allocation id");
    }
}

// --- deleting --------------------------------------------------------------

INVSYS_STORE_CONTRACT_CASE("a resource with current or future allocations is deleted only by force",
                           "[store][resources][delete]") {
    struct row {
        const char* what;
        std::int64_t from, to;
        bool refused;
    };
    const row r = GENERATE(values<row>({
        {"past", 0, now - 1, false},
        {"ended exactly now", 0, now, false},
        {"current", now - 10, now + 10, true},
        {"future", now + 10, now + 20, true},
        {"open-ended", now + 10, open_end, true},
        {"open both ways", open_start, open_end, true},
    }));
    CAPTURE(r.what);
    const bool force = GENERATE(false, true);
    CAPTURE(force);
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const allocation a = make_allocation(car.id, r.from, r.to);
    s.db->insert_allocation(a);

    if (r.refused && !force) {
        const error e = error_from([&] { s.db->delete_resource("Car", car.id, false, now); });
        CHECK(e.code() == error_code::conflict);
        CHECK(e.conflicts == std::vector<std::string>{a.id});
        CHECK(std::string(e.what()) == "resource has 1 current or future allocation");
        CHECK(s.db->find_resource("Car", car.id));
        CHECK(s.db->find_allocation(car.id, a.id));
    } else {
        CHECK_NOTHROW(s.db->delete_resource("Car", car.id, force, now));
        CHECK_FALSE(s.db->find_resource("Car", car.id));
        CHECK_FALSE(s.db->find_allocation(car.id, a.id));  // gone with it
        CHECK(s.count_rows("allocations") == 0);
    }
}

INVSYS_STORE_CONTRACT_CASE("refusing a delete lists the current and future allocations only",
                           "[store][resources][delete]") {
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const allocation past = make_allocation(car.id, 0, 10);
    const allocation current = make_allocation(car.id, now - 5, now + 5);
    const allocation future = make_allocation(car.id, now + 5, open_end);
    for (const auto& a : {future, past, current}) s.db->insert_allocation(a);
    const error e = error_from([&] { s.db->delete_resource("Car", car.id, false, now); });
    CHECK(e.conflicts == std::vector<std::string>{current.id, future.id});
    CHECK(std::string(e.what()) == "resource has 2 current or future allocations");
}

INVSYS_STORE_CONTRACT_CASE(
    "deleting an allocation removes it, an unknown or foreign one is not found",
    "[store][allocations][delete]") {
    TestType s;
    const resource a = make_resource("Car", "A");
    const resource b = make_resource("Car", "B");
    s.db->insert_resource(a);
    s.db->insert_resource(b);
    const allocation on_a = make_allocation(a.id, 0, 10);
    s.db->insert_allocation(on_a);

    CHECK(error_from([&] { s.db->delete_allocation(b.id, on_a.id); }).code() ==
          error_code::not_found);
    CHECK(error_from([&] { s.db->delete_allocation(a.id, "no-such-id"); }).code() ==
          error_code::not_found);
    CHECK(s.db->find_allocation(a.id, on_a.id));
    s.db->delete_allocation(a.id, on_a.id);
    CHECK_FALSE(s.db->find_allocation(a.id, on_a.id));
    CHECK(error_from([&] { s.db->delete_allocation(a.id, on_a.id); }).code() ==
          error_code::not_found);
    // The slot is free again.
    CHECK_NOTHROW(s.db->insert_allocation(make_allocation(a.id, 0, 10)));
}

// --- concurrency -----------------------------------------------------------

INVSYS_STORE_CONTRACT_CASE(
    "sixteen threads racing for one slot through one store: exactly one wins",
    "[store][concurrency]") {
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    for (int round = 0; round < 3; ++round) {
        const std::string car_id = round == 0 ? car.id : [&] {
            const resource r = make_resource("Car", "Car" + std::to_string(10 + round));
            s.db->insert_resource(r);
            return r.id;
        }();
        const race_result result =
            race_for_one_slot([&](int) -> store& { return *s.db; }, car_id, 16);
        CHECK(result.won == 1);
        CHECK(result.refused == 15);
        CHECK(result.other == 0);
        CHECK(s.db->list_allocations(car_id, {}, std::nullopt, 100).size() == 1);
    }
}

INVSYS_STORE_CONTRACT_CASE("sixteen threads racing with open-ended allocations: exactly one wins",
                           "[store][concurrency][open-ended]") {
    struct shape {
        const char* what;
        interval (*slot)(int);
    };
    // Each pairwise overlapping.
    const shape r = GENERATE(values<shape>({
        {"open ends",
         [](int i) {
             return interval{1000 + i, open_end};
         }},
        {"open starts",
         [](int i) {
             return interval{open_start, 1000 + i};
         }},
        {"open starts against open ends",
         [](int i) {
             return i % 2 == 0 ? interval{open_start, 1000 + i} : interval{500 + i, open_end};
         }},
        {"open both ways",
         [](int) {
             return interval{open_start, open_end};
         }},
    }));
    CAPTURE(r.what);
    TestType s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const race_result result =
        race_for_one_slot([&](int) -> store& { return *s.db; }, car.id, 16, r.slot);
    CHECK(result.won == 1);
    CHECK(result.refused == 15);
    CHECK(result.other == 0);
    CHECK(s.db->list_allocations(car.id, {}, std::nullopt, 100).size() == 1);
}

INVSYS_STORE_CONTRACT_CASE(
    "two stores on one database (two processes) racing for one slot: exactly one wins",
    "[store][concurrency]") {
    TestType s;
    const auto second = s.another();
    for (int round = 0; round < 3; ++round) {
        const resource car = make_resource("Car", "Car" + std::to_string(round));
        s.db->insert_resource(car);
        const race_result result = race_for_one_slot(
            [&](int i) -> store& { return i % 2 == 0 ? *s.db : *second; }, car.id, 8);
        CHECK(result.won == 1);
        CHECK(result.refused == 7);
        CHECK(result.other == 0);
        CHECK(second->list_allocations(car.id, {}, std::nullopt, 100).size() == 1);
    }
}

INVSYS_STORE_CONTRACT_CASE(
    "a write after a read and another process's commit is not refused as busy",
    "[store][concurrency]") {
    // A read that stops at its one row must not leave the connection on an
    // old snapshot: BEGIN IMMEDIATE on a stale snapshot fails at once.
    store_options one_connection;
    one_connection.connections = 1;
    TestType s(one_connection);
    const auto second = s.another();
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(s.db->find_resource("Car", car.id));
        std::string lorry_name = "L";  // not "L" + …: GCC 12 -Wrestrict false positive
        lorry_name += std::to_string(i);
        second->insert_resource(make_resource("Lorry", lorry_name));
        CHECK_NOTHROW(s.db->insert_allocation(make_allocation(car.id, i * 10, i * 10 + 5)));
    }
}

// --- availability, blocked ranges, any free one ------------------------------

namespace {

invsys::allocation buffered(const std::string& resource_id, std::int64_t from, std::int64_t to,
                            std::int64_t before, std::int64_t after) {
    invsys::allocation a = invsys::store_test::make_allocation(resource_id, from, to);
    a.buffer_before_us = before;
    a.buffer_after_us = after;
    return a;
}

}  // namespace

INVSYS_STORE_CONTRACT_CASE("buffers are part of the blocked range the no-overlap rule covers",
                           "[store][allocations][buffers]") {
    TestType s;
    const resource van = make_resource("Van", "V");
    s.db->insert_resource(van);
    const allocation first = buffered(van.id, 1000, 2000, 100, 300);  // blocks [900, 2300)
    s.db->insert_allocation(first);
    // Another booking needs its own buffers clear of the first one's too.
    const error e =
        error_from([&] { s.db->insert_allocation(buffered(van.id, 2300, 3000, 1, 0)); });
    CHECK(e.code() == error_code::conflict);
    CHECK(e.conflicts == std::vector<std::string>{first.id});
    CHECK_NOTHROW(s.db->insert_allocation(buffered(van.id, 2301, 3000, 1, 0)));
    CHECK(error_from([&] { s.db->insert_allocation(buffered(van.id, 500, 899, 0, 2)); }).code() ==
          error_code::conflict);
    CHECK_NOTHROW(s.db->insert_allocation(buffered(van.id, 500, 898, 0, 2)));
    // Read back with its buffers; an update keeps them under the same rule.
    CHECK(s.db->find_allocation(van.id, first.id)->buffer_after_us == 300);
    allocation moved = first;
    moved.to_us = 2100;  // blocks to 2400: into the next one's buffer
    CHECK(error_from([&] { s.db->update_allocation(moved); }).code() == error_code::conflict);
    moved.buffer_after_us = 0;
    CHECK_NOTHROW(s.db->update_allocation(moved));
}

INVSYS_STORE_CONTRACT_CASE("available resources are those with nothing blocked in the window",
                           "[store][availability]") {
    TestType s;
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
        const resource car = make_resource("Car", "A" + std::to_string(i));
        s.db->insert_resource(car);
        ids.push_back(car.id);
    }
    s.db->insert_resource(make_resource("Lorry", "L"));
    s.db->insert_allocation(buffered(ids[0], 100, 200, 0, 0));
    s.db->insert_allocation(buffered(ids[1], 300, 400, 0, 50));  // blocked to 450
    s.db->insert_allocation(buffered(ids[2], 0, 1000, 0, 0));
    for (int k = 0; k < 50; ++k)  // many allocations ahead of the window change nothing
        s.db->insert_allocation(buffered(ids[3], 10000 + 10 * k, 10005 + 10 * k, 0, 0));

    const auto available = [&](std::int64_t from, std::int64_t to) {
        return ids_of(s.db->list_available_resources("Car", {from, to}, std::nullopt, 100));
    };
    CHECK(available(200, 300) == std::vector<std::string>{ids[0], ids[1], ids[3]});
    CHECK(available(420, 500) == std::vector<std::string>{ids[0], ids[3]});
    CHECK(available(450, 500) == std::vector<std::string>{ids[0], ids[1], ids[3]});
    CHECK(available(1000, open_end) == std::vector<std::string>{ids[0], ids[1], ids[2]});
    CHECK(available(999, open_end) == std::vector<std::string>{ids[0], ids[1]});
    CHECK(available(open_start, open_end).empty());
    CHECK(ids_of(s.db->list_available_resources("Car", {200, 300}, ids[0], 1)) ==
          std::vector<std::string>{ids[1]});
    CHECK(error_from([&] {
              s.db->list_available_resources("Car", {200, 300}, std::string("nope"), 1);
          }).code() == error_code::invalid);
}

INVSYS_STORE_CONTRACT_CASE("blocked ranges in a window come in order, a page at a time",
                           "[store][availability]") {
    TestType s;
    const resource car = make_resource("Car", "B");
    s.db->insert_resource(car);
    for (int k = 0; k < 10; ++k)
        s.db->insert_allocation(buffered(car.id, 100 * k, 100 * k + 50, 0, 0));
    const auto page = s.db->blocked_ranges(car.id, {125, 460}, 100);
    CHECK_FALSE(page.more);
    REQUIRE(page.ranges.size() == 4);  // 100-150 .. 400-450, the last one ending inside
    CHECK(page.ranges.front().from == 100);
    CHECK(page.ranges.back().to == 450);
    const auto straddling = s.db->blocked_ranges(car.id, {120, 420}, 100);
    REQUIRE(straddling.ranges.size() == 4);
    CHECK(straddling.ranges.back().from == 400);
    const auto cut = s.db->blocked_ranges(car.id, {0, 1000}, 3);
    CHECK(cut.more);
    REQUIRE(cut.ranges.size() == 3);
    CHECK(cut.ranges[2].from == 200);
    CHECK(s.db->blocked_ranges(car.id, {60, 100}, 3).ranges.empty());
}

INVSYS_STORE_CONTRACT_CASE("any free one takes the first free candidate, or refuses",
                           "[store][availability]") {
    TestType s;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        const resource car = make_resource("Car", "F" + std::to_string(i));
        s.db->insert_resource(car);
        ids.push_back(car.id);
    }
    s.db->insert_allocation(buffered(ids[0], 100, 200, 0, 0));
    const auto request = [&](std::int64_t from, std::int64_t to) {
        allocation a = buffered("", from, to, 0, 0);
        a.id = next_id("any");
        return a;
    };
    CHECK(s.db->insert_allocation_on_first_free(request(150, 160), "Car", ids) == ids[1]);
    CHECK(s.db->insert_allocation_on_first_free(request(150, 160), "Car", {}) == ids[2]);
    const error none =
        error_from([&] { s.db->insert_allocation_on_first_free(request(150, 160), "Car", {}); });
    CHECK(none.code() == error_code::conflict);
    CHECK(none.conflicts.empty());
    CHECK(s.db->insert_allocation_on_first_free(request(200, 300), "Car", {ids[2], ids[0]}) ==
          ids[2]);
    const long long before = s.count_rows("allocations");
    CHECK(error_from([&] {
              s.db->insert_allocation_on_first_free(request(900, 901), "Car", {ids[0], "unknown"});
          }).code() == error_code::not_found);
    CHECK(error_from([&] {
              s.db->insert_allocation_on_first_free(request(900, 901), "Lorry", {ids[0]});
          }).code() == error_code::not_found);
    CHECK(s.count_rows("allocations") == before);
}

INVSYS_STORE_CONTRACT_CASE("racing any-free bookers get one resource each, as many as there are",
                           "[store][availability][concurrency]") {
    TestType s;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        const resource car = make_resource("Car", "R" + std::to_string(i));
        s.db->insert_resource(car);
        ids.push_back(car.id);
    }
    constexpr int bookers = 8;
    std::latch start(bookers);
    std::vector<std::string> won(bookers);
    std::atomic<int> refused{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < bookers; ++i) {
        threads.emplace_back([&, i] {
            auto db = s.open();
            allocation a = buffered("", 100, 200, 0, 0);
            a.id = next_id("race");
            start.arrive_and_wait();
            try {
                won[i] = db->insert_allocation_on_first_free(
                    a, "Car", i % 2 ? ids : std::vector<std::string>{});
            } catch (const error& e) {
                (e.code() == error_code::conflict ? refused : failed)++;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failed == 0);
    CHECK(refused == bookers - 3);
    std::vector<std::string> winners;
    for (const auto& w : won)
        if (!w.empty()) winners.push_back(w);
    std::sort(winners.begin(), winners.end());
    std::vector<std::string> expected = ids;
    std::sort(expected.begin(), expected.end());
    CHECK(winners == expected);
}

// --- API keys ----------------------------------------------------------------

INVSYS_STORE_CONTRACT_CASE("an API key is found by its hash until it is revoked", "[store][keys]") {
    TestType s;
    store& db = *s.db;
    const api_key k{next_id("k"), "ops", "admin", std::string(64, 'a'), 1000, std::nullopt};
    db.insert_key(k);
    CHECK(error_from([&] { db.insert_key(k); }).code() == error_code::conflict);
    auto found = db.find_key_by_hash(k.secret_hash);
    REQUIRE(found);
    CHECK(found->id == k.id);
    CHECK(found->role == "admin");
    CHECK_FALSE(found->last_used_us);
    db.touch_key(k.id, 2000);
    CHECK(db.find_key_by_hash(k.secret_hash)->last_used_us == 2000);
    CHECK_FALSE(db.find_key_by_hash(std::string(64, 'b')));
    REQUIRE(db.list_keys(10).size() == 1);
    db.revoke_key(k.id, 3000);
    CHECK_FALSE(db.find_key_by_hash(k.secret_hash));
    CHECK(db.list_keys(10).empty());
    CHECK(error_from([&] { db.revoke_key(k.id, 4000); }).code() == error_code::not_found);
    // ensure brings it back with the role asked for, and inserts a new one.
    api_key again = k;
    again.id = next_id("k");
    again.role = "reader";
    CHECK_FALSE(db.ensure_key(again));
    auto back = db.find_key_by_hash(k.secret_hash);
    REQUIRE(back);
    CHECK(back->id == k.id);
    CHECK(back->role == "reader");
    api_key fresh{next_id("k"), "new", "writer", std::string(64, 'c'), 5000, std::nullopt};
    CHECK(db.ensure_key(fresh));
    CHECK(db.list_keys(10).size() == 2);
    CHECK(db.list_keys(1).size() == 1);
}

#undef INVSYS_STORE_CONTRACT_CASE
