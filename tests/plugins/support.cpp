#include "support.hpp"

#include <unistd.h>

#include <atomic>
#include <stdexcept>

namespace invsys::test {

scratch_directory::scratch_directory() {
    // Unique per process and per instance, so ctest may run tests in parallel.
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("invsys-plugin-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

scratch_directory::~scratch_directory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path scratch_directory::add(const std::filesystem::path& library) const {
    if (!std::filesystem::exists(library)) {
        throw std::runtime_error("test plugin not built: " + library.string());
    }
    auto copy = path_ / library.filename();
    std::filesystem::copy_file(library, copy, std::filesystem::copy_options::overwrite_existing);
    return copy;
}

namespace {
// raw_attribute's kind has no default; the other members do.
raw_attribute of_kind(raw_attribute::json_kind kind) {
    raw_attribute raw{};
    raw.kind = kind;
    return raw;
}
}  // namespace

raw_attribute raw_integer(std::int64_t value) {
    raw_attribute raw = of_kind(raw_attribute::json_kind::integer);
    raw.integer = value;
    raw.number = static_cast<double>(value);
    return raw;
}

raw_attribute raw_number(double value) {
    raw_attribute raw = of_kind(raw_attribute::json_kind::number);
    raw.number = value;
    return raw;
}

raw_attribute raw_boolean(bool value) {
    raw_attribute raw = of_kind(raw_attribute::json_kind::boolean);
    raw.boolean = value;
    return raw;
}

raw_attribute raw_string(std::string value) {
    raw_attribute raw = of_kind(raw_attribute::json_kind::string);
    raw.string = std::move(value);
    return raw;
}

raw_attribute raw_array() { return of_kind(raw_attribute::json_kind::array); }

}  // namespace invsys::test
