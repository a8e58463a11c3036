// The plugin registry: scanning a directory, refusing bad libraries with one
// clear reason each while the good ones keep loading.
#include "plugins/registry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "api/router.hpp"
#include "support.hpp"

namespace invsys {
namespace {

// A scratch plugin directory holding the three built-in plugins.
void add_builtins(const test::scratch_directory& dir) {
    for (const char* name : {"car", "lorry", "truck"}) dir.add(test::builtin_plugin(name));
}

void require_builtins_loaded(const plugin_registry& registry) {
    REQUIRE(registry.types().size() == 3);
    CHECK(registry.find_by_collection("cars")->type_name == "Car");
    CHECK(registry.find_by_collection("lorries")->type_name == "Lorry");
    CHECK(registry.find_by_collection("trucks")->type_name == "Truck");
}

// Runs `body` with stderr sent to a file, and returns what was written.
template <typename F>
std::string capture_stderr(const test::scratch_directory& dir, F body) {
    const auto file = (dir.path() / "stderr.log").string();
    const int saved = ::dup(2);
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE((saved >= 0 && fd >= 0));
    ::dup2(fd, 2);
    ::close(fd);
    try {
        body();
    } catch (...) {
        ::dup2(saved, 2);
        ::close(saved);
        throw;
    }
    ::dup2(saved, 2);
    ::close(saved);
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count_lines_with(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.find(needle) != std::string::npos) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("the build's plugin directory provides Car, Lorry and Truck", "[plugins][registry]") {
    const auto registry =
        plugin_registry::load_directory(INVSYS_PLUGIN_BUILD_DIR, reserved_collection_names());
    CHECK(registry.refusals().empty());
    REQUIRE(registry.find_by_type("Car"));
    CHECK(registry.find_by_type("Car")->collection == "cars");
    CHECK(registry.find_by_type("Lorry")->collection == "lorries");
    CHECK(registry.find_by_type("Truck")->collection == "trucks");
    const loaded_type& car = *registry.find_by_type("Car");
    CHECK(car.library_path == test::builtin_plugin("car").lexically_normal().string());
    REQUIRE(car.attributes.size() == 1);
    CHECK(car.attributes[0].name == "seats");
    CHECK(car.impl->type_name() == "Car");
    CHECK(registry.find_by_collection("buses") == nullptr);
    CHECK(registry.find_by_type("car") == nullptr);  // names are case-sensitive
}

TEST_CASE("a bad library beside good ones is refused with its reason, the others load",
          "[plugins][registry]") {
    struct bad_case {
        std::string library;  // a test plugin case, or "garbage" written here
        std::string reason;   // what the refusal must say
    };
    const auto c = GENERATE(values<bad_case>({
        {"wrong_abi", "ABI version 99, expected 2"},
        {"wrong_signature", "build signature 'clang 99.0; libc++ 99; c++ 202302', expected 'gcc "},
        {"no_info", "not an invsys plugin: no invsys_plugin_info"},
        {"no_factory", "no factory: missing invsys_create_resource_type"},
        {"null_factory", "factory returned no object"},
        {"duplicate_type", "duplicate type 'Car': already provided by "},
        {"duplicate_collection", "duplicate collection 'cars': already served by type 'Car' from "},
        {"bad_collection", "invalid collection 'Boats': expected [a-z0-9_-]{1,64}"},
        {"reserved_collection", "collection 'health' is reserved by the API"},
        {"name_mismatch", "type name 'Streetcar' differs from the info record's 'Tram'"},
        {"bad_type_name", "invalid type name '_Hidden'"},
        {"bad_attribute", "invalid attribute name 'Colour'"},
        {"duplicate_attribute", "duplicate attribute 'colour'"},
        {"garbage", "cannot load: "},
    }));
    CAPTURE(c.library);
    test::scratch_directory dir;
    add_builtins(dir);
    std::filesystem::path bad;
    if (c.library == "garbage") {
        bad = dir.path() / "garbage.so";
        std::ofstream(bad) << "This is not an ELF file, whatever its name says.\n"
                              "It is long enough to be read as a header, though.\n";
    } else {
        bad = dir.add(test::test_plugin(c.library));
    }

    plugin_registry registry;
    const std::string log = capture_stderr(dir, [&] {
        registry = plugin_registry::load_directory(dir.string(), reserved_collection_names());
    });

    require_builtins_loaded(registry);
    REQUIRE(registry.refusals().size() == 1);
    const plugin_refusal& refusal = registry.refusals().front();
    CHECK(refusal.library_path == bad.string());
    CHECK_THAT(refusal.reason, Catch::StartsWith(c.reason));
    if (c.library == "duplicate_type" || c.library == "duplicate_collection") {
        CHECK_THAT(refusal.reason, Catch::EndsWith((dir.path() / "libinvsys-car.so").string()));
    }
    // Exactly one log line per refusal, naming the library and the reason.
    CHECK(count_lines_with(log, "plugin refused: ") == 1);
    CHECK(count_lines_with(log, "plugin refused: " + bad.string() + ": " + refusal.reason) == 1);
    CHECK(count_lines_with(log, "plugin loaded: ") == 3);
    CHECK(count_lines_with(log, "plugin loaded: Car (cars) from " + dir.string()) == 1);
}

TEST_CASE("loading the same library twice into one registry refuses the second as a duplicate",
          "[plugins][registry]") {
    plugin_registry registry;
    const auto car = test::builtin_plugin("car").string();
    CHECK(registry.load_library(car));
    CHECK_FALSE(registry.load_library(car));
    REQUIRE(registry.types().size() == 1);
    REQUIRE(registry.refusals().size() == 1);
    CHECK_THAT(registry.refusals()[0].reason, Catch::StartsWith("duplicate type 'Car'"));
    CHECK(registry.types()[0].impl->collection() == "cars");
}

TEST_CASE("two registries may load one directory, and one may outlive the other",
          "[plugins][registry]") {
    auto second = std::make_unique<plugin_registry>(
        plugin_registry::load_directory(INVSYS_PLUGIN_BUILD_DIR, reserved_collection_names()));
    {
        const auto first =
            plugin_registry::load_directory(INVSYS_PLUGIN_BUILD_DIR, reserved_collection_names());
        CHECK(first.refusals().empty());
        CHECK(first.find_by_type("Car")->impl != second->find_by_type("Car")->impl);
    }
    // dlopen counts references: the first registry's end left the libraries mapped.
    CHECK(second->find_by_type("Car")->impl->type_name() == "Car");
    CHECK(second->find_by_type("Truck")->impl->attributes().at(0).name == "axles");
    second.reset();
}

TEST_CASE("a moved registry keeps its types working", "[plugins][registry]") {
    auto source =
        plugin_registry::load_directory(INVSYS_PLUGIN_BUILD_DIR, reserved_collection_names());
    const resource_type* car = source.find_by_type("Car")->impl;
    plugin_registry moved(std::move(source));
    CHECK(moved.find_by_type("Car")->impl == car);
    CHECK(car->collection() == "cars");
    plugin_registry assigned;
    assigned = std::move(moved);
    CHECK(assigned.find_by_collection("cars")->impl == car);
}

TEST_CASE("only *.so files directly in the plugin directory are loaded", "[plugins][registry]") {
    test::scratch_directory dir;
    add_builtins(dir);
    std::ofstream(dir.path() / "README") << "not a plugin\n";
    std::filesystem::create_directory(dir.path() / "looks-like.so");
    std::filesystem::create_directory(dir.path() / "nested");
    std::filesystem::copy_file(test::test_plugin("bus"),
                               dir.path() / "nested" / "libinvsys-bus.so");

    const auto registry =
        plugin_registry::load_directory(dir.string(), reserved_collection_names());
    require_builtins_loaded(registry);
    CHECK(registry.refusals().empty());
    CHECK(registry.find_by_type("Bus") == nullptr);
}

TEST_CASE("libraries load in name order, so the first of two duplicates wins",
          "[plugins][registry]") {
    test::scratch_directory dir;
    add_builtins(dir);
    // Sorts before libinvsys-car.so, so this one provides Car.
    std::filesystem::copy_file(test::test_plugin("duplicate_type"), dir.path() / "libaaa-car.so");

    const auto registry =
        plugin_registry::load_directory(dir.string(), reserved_collection_names());
    REQUIRE(registry.refusals().size() == 1);
    CHECK(registry.refusals()[0].library_path == (dir.path() / "libinvsys-car.so").string());
    CHECK(registry.find_by_type("Car")->collection == "motorcars");
    CHECK(registry.find_by_collection("cars") == nullptr);
}

TEST_CASE("a missing plugin directory is an error, an empty one is not", "[plugins][registry]") {
    test::scratch_directory dir;
    CHECK(
        plugin_registry::load_directory(dir.string(), reserved_collection_names()).types().empty());
    CHECK_THROWS_AS(plugin_registry::load_directory((dir.path() / "missing").string(),
                                                    reserved_collection_names()),
                    std::runtime_error);
    std::ofstream(dir.path() / "file") << "x";
    CHECK_THROWS_AS(plugin_registry::load_directory((dir.path() / "file").string(),
                                                    reserved_collection_names()),
                    std::runtime_error);
}

TEST_CASE("a library that does not exist is refused, not thrown", "[plugins][registry]") {
    plugin_registry registry;
    CHECK_FALSE(registry.load_library("/nonexistent/libinvsys-nothing.so"));
    REQUIRE(registry.refusals().size() == 1);
    CHECK_THAT(registry.refusals()[0].reason, Catch::StartsWith("cannot load: "));
}

}  // namespace invsys
