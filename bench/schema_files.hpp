// The service's schema files for the ceilings (sqlite_ceiling.cpp,
// pg_ceiling.cpp): core/src/storage/<backend>/schema/NNN_<what>.sql, the
// same files the service embeds and its migrations apply, in version order.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

// The text of every NNN_*.sql file in `dir`, by name (so by version).
// Throws std::runtime_error when there is none or one cannot be read.
inline std::vector<std::string> read_schema_files(const std::string& dir) {
    std::vector<std::string> paths;
    std::error_code failed;
    for (const auto& entry : std::filesystem::directory_iterator(dir, failed)) {
        const std::string name = entry.path().filename().string();
        const bool numbered = name.find_first_not_of("0123456789") == name.find('_');
        if (numbered && name.size() > 4 && name.compare(name.size() - 4, 4, ".sql") == 0)
            paths.push_back(entry.path().string());
    }
    if (failed) throw std::runtime_error("cannot read " + dir + ": " + failed.message());
    if (paths.empty()) throw std::runtime_error("no NNN_*.sql schema files in " + dir);
    std::sort(paths.begin(), paths.end());
    std::vector<std::string> texts;
    for (const std::string& path : paths) {
        std::ifstream in(path);
        std::ostringstream text;
        if (!(in && text << in.rdbuf())) throw std::runtime_error("cannot read " + path);
        texts.push_back(text.str());
    }
    return texts;
}
