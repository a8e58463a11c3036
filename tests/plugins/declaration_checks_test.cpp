// What a plugin may declare: type names, collections and attribute specs.
#include "plugins/declaration_checks.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "api/router.hpp"

namespace invsys {

TEST_CASE("type names are short identifiers", "[plugins][declarations]") {
    const auto [name, ok] = GENERATE(table<std::string, bool>({
        {"Car", true},
        {"car", true},
        {"Fire-Engine_2", true},
        {std::string(64, 'T'), true},
        {"", false},
        {std::string(65, 'T'), false},
        {"2Car", false},
        {"_Car", false},
        {"Fire Engine", false},
        {"Café", false},
        {"Car\n", false},
    }));
    CAPTURE(name);
    CHECK(type_name_problem(name).has_value() == !ok);
}

TEST_CASE("collections are URL-safe lower-case segments the API does not use",
          "[plugins][declarations]") {
    const auto [collection, ok] = GENERATE(table<std::string, bool>({
        {"cars", true},
        {"fire-engines", true},
        {"4x4_cars", true},
        {std::string(64, 'c'), true},
        {"", false},
        {std::string(65, 'c'), false},
        {"Cars", false},
        {"cars/x", false},
        {"cars.json", false},
        {"..", false},
        {"car%20s", false},
        {"types", false},
        {"health", false},
        {"openapi.json", false},
    }));
    CAPTURE(collection);
    CHECK(collection_problem(collection, reserved_collection_names()).has_value() == !ok);
}

TEST_CASE("attribute specs need sound names, kinds and bounds", "[plugins][declarations]") {
    auto make = [](std::string name, attribute_kind kind) {
        attribute_spec s;
        s.name = std::move(name);
        s.kind = kind;
        return s;
    };
    const auto integer = make("seats", attribute_kind::integer);

    CHECK_FALSE(attribute_specs_problem({}));
    CHECK_FALSE(attribute_specs_problem({integer, make("colour", attribute_kind::string)}));
    CHECK(attribute_specs_problem({integer, integer}) == "duplicate attribute 'seats'");
    for (const char* bad : {"", "Seats", "2seats", "seat-count", "_seats"}) {
        CAPTURE(bad);
        CHECK(attribute_specs_problem({make(bad, attribute_kind::integer)}));
    }
    CHECK_FALSE(attribute_specs_problem({make(std::string(64, 's'), attribute_kind::integer)}));
    CHECK(attribute_specs_problem({make(std::string(65, 's'), attribute_kind::integer)}));

    auto s = integer;
    s.kind = static_cast<attribute_kind>(42);
    CHECK(attribute_specs_problem({s}) == "attribute 'seats' has an unknown kind");
    s = make("label", attribute_kind::string);
    s.minimum = 1;
    CHECK(attribute_specs_problem({s}) == "attribute 'label' has bounds but is not numeric");
    s = integer;
    s.max_length = 3;
    CHECK(attribute_specs_problem({s}) == "attribute 'seats' has max_length but is not a string");
    s = integer;
    s.maximum = INFINITY;
    CHECK(attribute_specs_problem({s}) == "attribute 'seats' has a non-finite bound");
    s = integer;
    s.minimum = 9;
    s.maximum = 1;
    CHECK(attribute_specs_problem({s}) == "attribute 'seats' has an empty range");
    s = integer;
    s.exclusive_minimum = 1;
    s.maximum = 1;
    CHECK(attribute_specs_problem({s}) == "attribute 'seats' has an empty range");
    s = integer;
    s.minimum = 1;
    s.maximum = 1;
    CHECK_FALSE(attribute_specs_problem({s}));
}

}  // namespace invsys

TEST_CASE("the reserved collection names come from the route table", "[plugins][declarations]") {
    CHECK(invsys::reserved_collection_names() ==
          std::vector<std::string>{"health", "openapi.json", "types", "metrics", "keys", "audit"});
}
