#include "storage/sqlite/file_health.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace invsys {
namespace {

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

bool writable(const std::string& path) {
    // The effective ids, as open(2) checks them (root passes unless the
    // file system is read-only, which statvfs tells below).
    return ::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) == 0;
}

}  // namespace

std::optional<std::string> database_file_problem(const std::string& path,
                                                 unsigned long long min_free_bytes) {
    const std::string dir = directory_of(path);
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) != 0) {
        return std::string("the database's directory cannot be read: ") + std::strerror(errno);
    }
    if ((fs.f_flag & ST_RDONLY) != 0) return std::string("the database's file system is read-only");
    // A file system may refuse writes without statvfs saying so: ext4
    // mounted errors=remount-ro turns "emergency read-only" after an error
    // (Linux 6.x) while still listed rw. Touching the write lock's file
    // (ours; metadata only, no flush) asks the kernel itself.
    if (::utimensat(AT_FDCWD, (path + ".lock").c_str(), nullptr, 0) != 0 && errno != ENOENT) {
        if (errno == EROFS) return std::string("the database's file system is read-only");
        return std::string("the database's file system refuses writes: ") + std::strerror(errno);
    }
    if (::access(path.c_str(), F_OK) != 0) return std::string("the database file is missing");
    // -wal and -shm live beside the file: both must be writable.
    if (!writable(path) || !writable(dir)) {
        return std::string("the database file or its directory is not writable");
    }
    const unsigned long long free_bytes =
        static_cast<unsigned long long>(fs.f_bavail) * static_cast<unsigned long long>(fs.f_frsize);
    if (free_bytes < min_free_bytes) {
        std::string text = "the database's disk is full (";
        text.append(std::to_string(free_bytes / 1024)).append(" KiB free)");
        return text;
    }
    return std::nullopt;
}

}  // namespace invsys
