// A savepoint's sub-journal stays in memory (sqlite/connection.cpp,
// SQLITE_CONFIG_STMTJRNL_SPILL): a commit group's members each write in a
// savepoint, and past SQLite's default 64 KiB every group made a temporary
// file. Seen from /proc/self/fd: SQLite opens such a file and unlinks it at
// once, so while the transaction is open it shows as "etilqs_… (deleted)".
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "scratch_dir.hpp"
#include "storage/sqlite/connection.hpp"

using namespace invsys;

namespace {

int open_sqlite_temp_files() {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const auto target = std::filesystem::read_symlink(entry.path(), ec).string();
        if (!ec && target.find("etilqs_") != std::string::npos) ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("savepoints of a large transaction keep their journal in memory, not in a temp file",
          "[sqlite]") {
    scratch_dir dir("invsys-savepoint");
    sqlite_connection c(dir.db(), 5000, 2000);
    auto& s = c.session();
    s << "CREATE TABLE rows (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)";
    // Pages to change inside the savepoints: rows already stored.
    s << "BEGIN IMMEDIATE";
    for (int i = 0; i < 400; ++i) s << "INSERT INTO rows (pad) VALUES (printf('%.3000c', 'x'))";
    s << "COMMIT";

    const int before = open_sqlite_temp_files();
    s << "BEGIN IMMEDIATE";
    // 8 members of a group, each rewriting 50 stored pages (about 200 KiB
    // of sub-journal each, 1.6 MiB in all) in a savepoint of its own.
    for (int member = 0; member < 8; ++member) {
        s << "SAVEPOINT invsys_group_member";
        s << "UPDATE rows SET pad = printf('%.3000c', 'y') WHERE id > :lo AND id <= :hi",
            soci::use(member * 50, "lo"), soci::use(member * 50 + 50, "hi");
        s << "RELEASE invsys_group_member";
    }
    CHECK(open_sqlite_temp_files() == before);
    s << "COMMIT";
    long long changed = 0;
    s << "SELECT count(*) FROM rows WHERE pad LIKE 'y%'", soci::into(changed);
    CHECK(changed == 400);
}
