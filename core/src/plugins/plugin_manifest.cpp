#include "plugins/plugin_manifest.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <stdexcept>

namespace invsys {
namespace fs = std::filesystem;

std::vector<plugin_file> list_plugin_files(const std::string& directory) {
    std::error_code ec;
    fs::directory_iterator it(directory, ec);
    if (ec) throw std::runtime_error("plugin directory " + directory + ": " + ec.message());
    std::vector<plugin_file> files;
    for (const fs::directory_iterator end; it != end; it.increment(ec)) {
        const fs::path& entry = it->path();
        std::error_code type_ec;
        if (entry.extension() != ".so" || it->is_directory(type_ec)) continue;
        // A file that vanished meanwhile, or a broken link, is listed with
        // zeros: loading it is then refused as changed.
        auto file = identify_plugin_file(entry.string(), entry.filename().string());
        files.push_back(file ? *file : plugin_file{entry.filename().string()});
    }
    if (ec) throw std::runtime_error("plugin directory " + directory + ": " + ec.message());
    std::sort(files.begin(), files.end(),
              [](const plugin_file& a, const plugin_file& b) { return a.name < b.name; });
    return files;
}

std::optional<plugin_file> identify_plugin_file(const std::string& path, std::string name) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    plugin_file f;
    f.name = std::move(name);
    f.device = st.st_dev;
    f.inode = st.st_ino;
    f.size = static_cast<unsigned long long>(st.st_size);
    f.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    return f;
}

std::string format_plugin_manifest(const std::vector<plugin_file>& files) {
    std::string out;
    for (const plugin_file& f : files) {
        if (!out.empty()) out += '/';
        out.append(std::to_string(f.device)).append(":");
        out.append(std::to_string(f.inode)).append(":");
        out.append(std::to_string(f.size)).append(":");
        out.append(std::to_string(f.mtime_ns)).append(":");
        out.append(f.name);
    }
    return out;
}

namespace {

template <class Number>
Number field(std::string_view& rest, std::string_view whole) {
    const auto colon = rest.find(':');
    Number value{};
    const auto text = rest.substr(0, colon);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (colon == std::string_view::npos || ec != std::errc() || end != text.data() + text.size()) {
        throw std::runtime_error("malformed plugin manifest: " + std::string(whole.substr(0, 200)));
    }
    rest.remove_prefix(colon + 1);
    return value;
}

}  // namespace

std::vector<plugin_file> parse_plugin_manifest(std::string_view text) {
    std::vector<plugin_file> files;
    while (!text.empty()) {
        const auto slash = text.find('/');
        std::string_view entry = text.substr(0, slash);
        const std::string_view whole = entry;
        plugin_file f;
        f.device = field<unsigned long long>(entry, whole);
        f.inode = field<unsigned long long>(entry, whole);
        f.size = field<unsigned long long>(entry, whole);
        f.mtime_ns = field<long long>(entry, whole);
        if (entry.empty())
            throw std::runtime_error("malformed plugin manifest: a file without a name");
        f.name = std::string(entry);
        files.push_back(std::move(f));
        if (slash == std::string_view::npos) break;
        text.remove_prefix(slash + 1);
    }
    return files;
}

}  // namespace invsys
