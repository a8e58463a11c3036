// Attribute validation against declared specs, table-driven over the real
// built-in plugins, then the rules no built-in plugin happens to exercise.
#include "booking/attribute_validation.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "api/router.hpp"
#include "plugins/registry.hpp"
#include "support.hpp"

namespace invsys {
namespace {

using attributes = std::vector<std::pair<std::string, raw_attribute>>;
using test::raw_array;
using test::raw_boolean;
using test::raw_integer;
using test::raw_number;
using test::raw_string;

const plugin_registry& builtins() {
    static const plugin_registry registry =
        plugin_registry::load_directory(INVSYS_PLUGIN_BUILD_DIR, reserved_collection_names());
    return registry;
}

const loaded_type& builtin(std::string_view type_name) {
    const loaded_type* type = builtins().find_by_type(type_name);
    REQUIRE(type != nullptr);
    return *type;
}

// The errors `given` earns; empty when accepted.
std::vector<std::pair<std::string, std::string>> errors_of(const loaded_type& type,
                                                           const attributes& given) {
    try {
        validate_attributes(type, given);
        return {};
    } catch (const error& e) {
        CHECK(e.code() == error_code::invalid);
        std::vector<std::pair<std::string, std::string>> errors;
        for (const auto& error : e.errors) errors.emplace_back(error.field, error.message);
        // The detail names the first error, and how many more there are.
        REQUIRE_FALSE(errors.empty());
        std::string detail = errors.front().first + ": " + errors.front().second;
        if (errors.size() > 1) detail += " (and " + std::to_string(errors.size() - 1) + " more)";
        CHECK(std::string(e.what()) == detail);
        return errors;
    }
}

// A type declared in-process, with a cross-attribute rule that counts its calls.
class ranged_type final : public resource_type {
  public:
    std::string type_name() const noexcept override { return "Ranged"; }
    std::string collection() const noexcept override { return "ranged"; }
    std::vector<attribute_spec> attributes() const noexcept override { return {}; }
    std::vector<rule_violation> check_attributes(const attribute_map& a) const noexcept override {
        ++calls;
        const auto low = a.find("low");
        const auto high = a.find("high");
        if (low != a.end() && high != a.end() && low->second.integer > high->second.integer) {
            return {{"attributes.low", "must not exceed high"}};
        }
        return {};
    }
    mutable std::atomic<int> calls{0};
};

attribute_spec spec(std::string name, attribute_kind kind) {
    attribute_spec s;
    s.name = std::move(name);
    s.kind = kind;
    return s;
}

}  // namespace

TEST_CASE("attribute values of the built-in types are checked against their specs",
          "[plugins][validation]") {
    constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
    constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();
    struct row {
        std::string type;
        attributes given;
        std::vector<std::pair<std::string, std::string>> errors;  // empty: accepted
    };
    const auto r = GENERATE_COPY(values<row>({
        {"Car", {{"seats", raw_integer(0)}}, {{"attributes.seats", "must be between 1 and 9"}}},
        {"Car", {{"seats", raw_integer(1)}}, {}},
        {"Car", {{"seats", raw_integer(9)}}, {}},
        {"Car", {{"seats", raw_integer(10)}}, {{"attributes.seats", "must be between 1 and 9"}}},
        {"Car", {{"seats", raw_number(5.0)}}, {}},
        {"Car", {{"seats", raw_number(5.5)}}, {{"attributes.seats", "must be an integer"}}},
        {"Car", {{"seats", raw_boolean(true)}}, {{"attributes.seats", "must be an integer"}}},
        {"Car", {{"seats", raw_string("5")}}, {{"attributes.seats", "must be an integer"}}},
        {"Car", {{"seats", raw_array()}}, {{"attributes.seats", "must be an integer"}}},
        {"Car", {}, {}},
        {"Car", {{"colour", raw_string("red")}}, {{"attributes.colour", "unknown attribute"}}},
        {"Car",
         {{"seats", raw_integer(5)}, {"seats", raw_integer(6)}},
         {{"attributes.seats", "duplicate attribute"}}},
        {"Lorry",
         {{"max_load_kg", raw_integer(0)}},
         {{"attributes.max_load_kg", "must be greater than 0"}}},
        {"Lorry",
         {{"max_load_kg", raw_integer(-1)}},
         {{"attributes.max_load_kg", "must be greater than 0"}}},
        {"Lorry",
         {{"max_load_kg", raw_number(-0.0)}},
         {{"attributes.max_load_kg", "must be greater than 0"}}},
        {"Lorry", {{"max_load_kg", raw_number(0.1)}}, {}},
        {"Lorry", {{"max_load_kg", raw_number(1e300)}}, {}},
        {"Lorry", {{"max_load_kg", raw_integer(int64_max)}}, {}},
        {"Lorry",
         {{"max_load_kg", raw_boolean(false)}},
         {{"attributes.max_load_kg", "must be a number"}}},
        {"Lorry",
         {{"max_load_kg", raw_string("7.5")}},
         {{"attributes.max_load_kg", "must be a number"}}},
        {"Lorry",
         {{"max_load_kg", raw_number(std::nan(""))}},
         {{"attributes.max_load_kg", "must be a finite number"}}},
        {"Lorry",
         {{"max_load_kg", raw_number(-INFINITY)}},
         {{"attributes.max_load_kg", "must be a finite number"}}},
        {"Truck", {{"axles", raw_integer(1)}}, {{"attributes.axles", "must be between 2 and 10"}}},
        {"Truck", {{"axles", raw_integer(2)}}, {}},
        {"Truck", {{"axles", raw_integer(10)}}, {}},
        {"Truck", {{"axles", raw_integer(11)}}, {{"attributes.axles", "must be between 2 and 10"}}},
        {"Truck",
         {{"axles", raw_integer(int64_max)}},
         {{"attributes.axles", "must be between 2 and 10"}}},
        {"Truck",
         {{"axles", raw_integer(int64_min)}},
         {{"attributes.axles", "must be between 2 and 10"}}},
        {"Truck", {{"axles", raw_number(1e19)}}, {{"attributes.axles", "must be an integer"}}},
        {"Truck",
         {{"axles", raw_number(INFINITY)}},
         {{"attributes.axles", "must be a finite number"}}},
        {"Truck", {{"seats", raw_integer(4)}}, {{"attributes.seats", "unknown attribute"}}},
        // Every violation is reported at once, in the order given.
        {"Car",
         {{"seats", raw_integer(0)}, {"colour", raw_string("red")}, {"wheels", raw_integer(4)}},
         {{"attributes.seats", "must be between 1 and 9"},
          {"attributes.colour", "unknown attribute"},
          {"attributes.wheels", "unknown attribute"}}},
    }));
    CAPTURE(r.type, r.given.size() ? r.given[0].first : "");
    CHECK(errors_of(builtin(r.type), r.given) == r.errors);
}

TEST_CASE("validated values carry the kind their spec declares", "[plugins][validation]") {
    SECTION("a whole number given for an integer becomes that integer") {
        const auto result = validate_attributes(builtin("Car"), {{"seats", raw_number(5.0)}});
        const attribute_value& seats = result.at("seats");
        CHECK(seats.kind == attribute_kind::integer);
        CHECK(seats.integer == 5);
        CHECK(seats.number == 5.0);
    }
    SECTION("an integer given for a number becomes a number") {
        const auto result =
            validate_attributes(builtin("Lorry"), {{"max_load_kg", raw_integer(7500)}});
        const attribute_value& load = result.at("max_load_kg");
        CHECK(load.kind == attribute_kind::number);
        CHECK(load.number == 7500.0);
    }
    SECTION("nothing given is an empty map") {
        CHECK(validate_attributes(builtin("Truck"), {}).empty());
    }
}

TEST_CASE("bounds are compared exactly, even beyond 2^53", "[plugins][validation]") {
    loaded_type type;
    type.type_name = "Exact";
    auto big = spec("big", attribute_kind::integer);
    big.maximum = 9007199254740992.0;  // 2^53
    auto half = spec("half", attribute_kind::integer);
    half.minimum = 0.5;
    half.exclusive_maximum = 2.5;
    type.attributes = {big, half};

    CHECK(errors_of(type, {{"big", raw_integer(9007199254740992)}}).empty());
    // As a double, 2^53 + 1 rounds to 2^53 and would slip through.
    CHECK(errors_of(type, {{"big", raw_integer(9007199254740993)}}) ==
          std::vector<std::pair<std::string, std::string>>{
              {"attributes.big", "must be at most 9007199254740992"}});
    CHECK(errors_of(type, {{"half", raw_integer(0)}}).size() == 1);
    CHECK(errors_of(type, {{"half", raw_integer(1)}}).empty());
    CHECK(errors_of(type, {{"half", raw_integer(2)}}).empty());
    CHECK(errors_of(type, {{"half", raw_integer(3)}}) ==
          std::vector<std::pair<std::string, std::string>>{
              {"attributes.half", "must be at least 0.5 and less than 2.5"}});
}

TEST_CASE("strings are measured in code points and booleans are only booleans",
          "[plugins][validation]") {
    loaded_type type;
    type.type_name = "Labelled";
    auto label = spec("label", attribute_kind::string);
    label.max_length = 3;
    type.attributes = {label, spec("electric", attribute_kind::boolean)};

    CHECK(errors_of(type, {{"label", raw_string("\xc3\xa9\xc3\xa9\xc3\xa9")}}).empty());  // 6 bytes
    CHECK(errors_of(type, {{"label", raw_string("abcd")}}) ==
          std::vector<std::pair<std::string, std::string>>{
              {"attributes.label", "must be at most 3 characters"}});
    CHECK(errors_of(type, {{"label", raw_integer(1)}}).size() == 1);
    CHECK(errors_of(type, {{"electric", raw_boolean(false)}}).empty());
    CHECK(errors_of(type, {{"electric", raw_integer(1)}}) ==
          std::vector<std::pair<std::string, std::string>>{
              {"attributes.electric", "must be a boolean"}});
    CHECK(validate_attributes(type, {{"electric", raw_boolean(true)}}).at("electric").boolean);
}

TEST_CASE("the plugin's own rule runs only after every value passed its spec",
          "[plugins][validation]") {
    ranged_type impl;
    loaded_type type;
    type.type_name = "Ranged";
    type.attributes = {spec("low", attribute_kind::integer), spec("high", attribute_kind::integer)};
    type.attributes[0].minimum = 0;
    type.impl = &impl;

    CHECK(errors_of(type, {{"low", raw_integer(1)}, {"high", raw_integer(2)}}).empty());
    CHECK(impl.calls == 1);
    CHECK(errors_of(type, {{"low", raw_integer(3)}, {"high", raw_integer(2)}}) ==
          std::vector<std::pair<std::string, std::string>>{
              {"attributes.low", "must not exceed high"}});
    CHECK(impl.calls == 2);
    CHECK(
        errors_of(type, {{"low", raw_integer(-1)}, {"high", raw_integer(-2)}}) ==
        std::vector<std::pair<std::string, std::string>>{{"attributes.low", "must be at least 0"}});
    CHECK(impl.calls == 2);
}

TEST_CASE("50 000 unknown attributes are listed 20 at a time with their total",
          "[plugins][bounded]") {
    attributes given;
    for (int i = 0; i < 50000; ++i)
        given.push_back({std::string("a").append(std::to_string(i)), {}});
    try {
        validate_attributes(builtin("Car"), given);
        FAIL("accepted");
    } catch (const error& e) {
        CHECK(e.errors.size() == max_listed_field_errors);
        CHECK(e.errors_total == 50000);
        CHECK(std::string(e.what()) == "attributes.a0: unknown attribute (and 49999 more)");
    }
}

TEST_CASE("a number out of range is refused naming the attribute", "[plugins]") {
    raw_attribute huge;
    huge.kind = raw_attribute::json_kind::number_out_of_range;
    CHECK(
        errors_of(builtin("Car"), {{"seats", huge}}) ==
        std::vector<std::pair<std::string, std::string>>{{"attributes.seats", "is out of range"}});
    CHECK(errors_of(builtin("Lorry"), {{"max_load_kg", huge}}) ==
          std::vector<std::pair<std::string, std::string>>{
              {"attributes.max_load_kg", "is out of range"}});
}

}  // namespace invsys
