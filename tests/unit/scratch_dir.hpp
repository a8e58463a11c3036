// A fresh directory under the system's temporary directory, removed with
// everything in it at the end of the test: for tests that need a real
// database file.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

struct scratch_dir {
    std::filesystem::path path;
    explicit scratch_dir(const std::string& prefix = "invsys-test") {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    std::string db() const { return (path / "invsys.db").string(); }
};
