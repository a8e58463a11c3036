// One contract every plugin must keep, run over each built-in plugin and the
// example plugin (plugins/bus) alike. Value cases come from each plugin's own
// declared specs, so a new plugin is covered by adding its path below.
#include <atomic>
#include <boost/dll/shared_library.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <invsys/plugin_abi.hpp>
#include <limits>
#include <thread>

#include "api/router.hpp"
#include "booking/attribute_validation.hpp"
#include "plugins/declaration_checks.hpp"
#include "plugins/registry.hpp"
#include "support.hpp"

namespace invsys {
namespace {

struct value_case {
    std::string label;
    raw_attribute raw;
    bool accepted;
};

bool within(const attribute_spec& s, double v) {
    return (!s.minimum || v >= *s.minimum) && (!s.exclusive_minimum || v > *s.exclusive_minimum) &&
           (!s.maximum || v <= *s.maximum) && (!s.exclusive_maximum || v < *s.exclusive_maximum);
}

// An integer the spec accepts, if the bounds leave one near their edges.
std::optional<std::int64_t> integer_inside(const attribute_spec& s) {
    std::vector<double> candidates{0, 1};
    if (s.minimum) candidates.push_back(std::ceil(*s.minimum));
    if (s.exclusive_minimum) candidates.push_back(std::floor(*s.exclusive_minimum) + 1);
    if (s.maximum) candidates.push_back(std::floor(*s.maximum));
    if (s.exclusive_maximum) candidates.push_back(std::ceil(*s.exclusive_maximum) - 1);
    for (double c : candidates) {
        if (within(s, c)) return static_cast<std::int64_t>(c);
    }
    return std::nullopt;
}

std::string text(double v) { return std::to_string(v); }

std::vector<value_case> integer_cases(const attribute_spec& s) {
    std::vector<value_case> cases;
    auto edge = [&](const char* what, double accepted, double refused) {
        cases.push_back({std::string(what) + " " + text(accepted),
                         test::raw_integer(static_cast<std::int64_t>(accepted)), true});
        cases.push_back({std::string("beyond ") + what + " " + text(refused),
                         test::raw_integer(static_cast<std::int64_t>(refused)), false});
    };
    if (s.minimum) edge("minimum", std::ceil(*s.minimum), std::ceil(*s.minimum) - 1);
    if (s.exclusive_minimum) {
        const double first = std::floor(*s.exclusive_minimum) + 1;
        edge("exclusive minimum", first, first - 1);
    }
    if (s.maximum) edge("maximum", std::floor(*s.maximum), std::floor(*s.maximum) + 1);
    if (s.exclusive_maximum) {
        const double last = std::ceil(*s.exclusive_maximum) - 1;
        edge("exclusive maximum", last, last + 1);
    }
    const auto inside = integer_inside(s);
    REQUIRE(inside);  // a declared integer range without any integer is a plugin bug
    const double v = static_cast<double>(*inside);
    cases.push_back({"a whole number given as " + text(v), test::raw_number(v), true});
    cases.push_back({"a fraction", test::raw_number(v + 0.5), false});
    cases.push_back({"a boolean", test::raw_boolean(true), false});
    cases.push_back({"a numeric string", test::raw_string(std::to_string(*inside)), false});
    cases.push_back({"an array", test::raw_array(), false});
    return cases;
}

std::vector<value_case> number_cases(const attribute_spec& s) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::vector<value_case> cases;
    auto edge = [&](const char* what, double accepted, double refused) {
        cases.push_back(
            {std::string(what) + " " + text(accepted), test::raw_number(accepted), true});
        cases.push_back({std::string("beyond ") + what + " " + text(refused),
                         test::raw_number(refused), false});
    };
    if (s.minimum) edge("minimum", *s.minimum, std::nextafter(*s.minimum, -inf));
    if (s.exclusive_minimum) {
        edge("exclusive minimum", std::nextafter(*s.exclusive_minimum, inf), *s.exclusive_minimum);
    }
    if (s.maximum) edge("maximum", *s.maximum, std::nextafter(*s.maximum, inf));
    if (s.exclusive_maximum) {
        edge("exclusive maximum", std::nextafter(*s.exclusive_maximum, -inf), *s.exclusive_maximum);
    }
    if (auto inside = integer_inside(s)) {
        cases.push_back({"an integer", test::raw_integer(*inside), true});
    }
    cases.push_back({"a boolean", test::raw_boolean(true), false});
    cases.push_back({"a string", test::raw_string("1"), false});
    cases.push_back({"NaN", test::raw_number(std::nan("")), false});
    cases.push_back({"infinity", test::raw_number(inf), false});
    return cases;
}

std::vector<value_case> string_cases(const attribute_spec& s) {
    std::vector<value_case> cases;
    if (s.max_length) {
        // Two bytes per code point: a byte count would refuse the longest.
        std::string longest;
        for (std::size_t i = 0; i < *s.max_length; ++i) longest += "\xc3\xa9";
        cases.push_back({"the longest string", test::raw_string(longest), true});
        cases.push_back({"a string one too long", test::raw_string(longest + "e"), false});
    } else {
        cases.push_back({"a string", test::raw_string("text"), true});
    }
    cases.push_back({"an integer", test::raw_integer(1), false});
    cases.push_back({"a boolean", test::raw_boolean(true), false});
    return cases;
}

std::vector<value_case> boolean_cases() {
    return {{"true", test::raw_boolean(true), true},
            {"false", test::raw_boolean(false), true},
            {"an integer", test::raw_integer(1), false},
            {"a string", test::raw_string("true"), false}};
}

std::vector<value_case> cases_for(const attribute_spec& s) {
    switch (s.kind) {
        case attribute_kind::integer:
            return integer_cases(s);
        case attribute_kind::number:
            return number_cases(s);
        case attribute_kind::string:
            return string_cases(s);
        case attribute_kind::boolean:
            return boolean_cases();
    }
    FAIL("unknown attribute kind");
    return {};
}

// The validation outcome of one attribute given alone: empty when accepted,
// else the messages.
std::vector<field_error> errors_of(const loaded_type& type, const std::string& name,
                                   const raw_attribute& raw) {
    try {
        const attribute_map result = validate_attributes(type, {{name, raw}});
        const auto spec = std::find_if(type.attributes.begin(), type.attributes.end(),
                                       [&](const attribute_spec& s) { return s.name == name; });
        REQUIRE(result.count(name) == 1);
        REQUIRE(result.at(name).kind == spec->kind);
        return {};
    } catch (const error& e) {
        REQUIRE(e.code() == error_code::invalid);
        return e.errors;
    }
}

}  // namespace

TEST_CASE("every plugin keeps the plugin contract", "[plugins][contract]") {
    const std::string path =
        GENERATE(as<std::string>{}, test::builtin_plugin("car").string(),
                 test::builtin_plugin("lorry").string(), test::builtin_plugin("truck").string(),
                 test::test_plugin("bus").string());
    CAPTURE(path);
    plugin_registry registry;
    REQUIRE(registry.load_library(path));
    REQUIRE(registry.types().size() == 1);
    const loaded_type& type = registry.types().front();
    const resource_type& impl = *type.impl;

    SECTION("its info record matches this build and names its type") {
        boost::dll::shared_library library(path);
        const auto& info = library.get<const ::invsys_plugin_info>("invsys_plugin_info");
        CHECK(info.abi_version == INVSYS_PLUGIN_ABI_VERSION);
        CHECK(std::strcmp(info.build_signature, INVSYS_BUILD_SIGNATURE) == 0);
        CHECK(impl.type_name() == info.type_name);
        CHECK(library.has("invsys_create_resource_type"));
    }

    SECTION("its collection and attributes are well formed and described") {
        CHECK_FALSE(type_name_problem(impl.type_name()));
        CHECK_FALSE(collection_problem(impl.collection(), reserved_collection_names()));
        CHECK_FALSE(attribute_specs_problem(impl.attributes()));
        CHECK_FALSE(impl.attributes().empty());
        for (const auto& spec : impl.attributes()) {
            CAPTURE(spec.name);
            CHECK_FALSE(spec.description.empty());
        }
        CHECK(impl.check_attributes({}).empty());
    }

    SECTION("values inside its declared bounds are accepted, others refused") {
        for (const auto& spec : type.attributes) {
            for (const auto& c : cases_for(spec)) {
                CAPTURE(spec.name, c.label);
                const auto errors = errors_of(type, spec.name, c.raw);
                if (c.accepted) {
                    CHECK(errors.empty());
                } else {
                    REQUIRE(errors.size() == 1);
                    CHECK(errors[0].field == "attributes." + spec.name);
                    CHECK_FALSE(errors[0].message.empty());
                }
            }
        }
    }

    SECTION("an attribute it does not declare is refused") {
        const auto errors = errors_of(type, "no_such_attribute", test::raw_integer(1));
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].message == "unknown attribute");
    }

    SECTION("its object answers the same from several threads at once") {
        const std::string name = impl.type_name();
        const std::string collection = impl.collection();
        const std::size_t attribute_count = impl.attributes().size();
        const auto booking = impl.check_allocation({"booking", 0, 3600000000}).size();
        std::atomic<int> mismatches{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 200; ++i) {
                    const bool same =
                        impl.type_name() == name && impl.collection() == collection &&
                        impl.attributes().size() == attribute_count &&
                        impl.check_attributes({}).empty() &&
                        impl.check_allocation({"booking", 0, 3600000000}).size() == booking;
                    if (!same) ++mismatches;
                }
            });
        }
        for (auto& thread : threads) thread.join();
        CHECK(mismatches == 0);
    }
}

TEST_CASE("the bus plugin allows only bookings and maintenance", "[plugins][bus]") {
    plugin_registry registry;
    REQUIRE(registry.load_library(test::test_plugin("bus").string()));
    const resource_type& bus = *registry.types().front().impl;

    CHECK(bus.check_allocation({"booking", 0, 1}).empty());
    CHECK(bus.check_allocation({"maintenance", open_start, open_end}).empty());
    const auto refused = bus.check_allocation({"charter", 0, 1});
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].field == "allocation_type");
}

TEST_CASE("the bus plugin allows a minibus at most one wheelchair space", "[plugins][bus]") {
    plugin_registry registry;
    REQUIRE(registry.load_library(test::test_plugin("bus").string()));
    const resource_type& bus = *registry.types().front().impl;
    auto integer = [](std::int64_t v) {
        attribute_value value;
        value.kind = attribute_kind::integer;
        value.integer = v;
        value.number = static_cast<double>(v);
        return value;
    };
    struct rule_case {
        std::optional<std::int64_t> seats, spaces;
        bool accepted;
    };
    const rule_case cases[] = {
        {19, 1, true},  {19, 2, false},          {1, 4, false},           {20, 4, true},
        {100, 0, true}, {std::nullopt, 4, true}, {8, std::nullopt, true},
    };
    for (const auto& c : cases) {
        CAPTURE(c.seats.value_or(-1), c.spaces.value_or(-1));
        attribute_map attributes;
        if (c.seats) attributes.emplace("seats", integer(*c.seats));
        if (c.spaces) attributes.emplace("wheelchair_spaces", integer(*c.spaces));
        const auto violations = bus.check_attributes(attributes);
        if (c.accepted) {
            CHECK(violations.empty());
        } else {
            REQUIRE(violations.size() == 1);
            CHECK(violations[0].field == "attributes.wheelchair_spaces");
            CHECK_FALSE(violations[0].message.empty());
        }
    }
}

}  // namespace invsys
