// Shared helpers of the plugin tests: where the built libraries are, a
// scratch plugin directory, and raw attribute values as the codec makes them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "json/codec.hpp"

namespace invsys::test {

// The built-in plugins' build directory and the test plugins' root, passed in
// by CMake.
inline std::filesystem::path builtin_plugin(std::string_view name) {
    return std::filesystem::path(INVSYS_PLUGIN_BUILD_DIR) /
           ("libinvsys-" + std::string(name) + ".so");
}
inline std::filesystem::path test_plugin(std::string_view name) {
    return std::filesystem::path(INVSYS_TEST_PLUGIN_DIR) / name /
           ("libinvsys-" + std::string(name) + ".so");
}

// A fresh, empty directory removed again at the end of the test.
class scratch_directory {
  public:
    scratch_directory();
    ~scratch_directory();
    scratch_directory(const scratch_directory&) = delete;
    scratch_directory& operator=(const scratch_directory&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Copies `library` into the directory, under its own name; returns the copy.
    std::filesystem::path add(const std::filesystem::path& library) const;
    std::string string() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

raw_attribute raw_integer(std::int64_t value);
raw_attribute raw_number(double value);
raw_attribute raw_boolean(bool value);
raw_attribute raw_string(std::string value);
raw_attribute raw_array();

}  // namespace invsys::test
