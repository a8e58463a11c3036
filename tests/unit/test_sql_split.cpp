// split_sql_statements (storage/common/migrations.hpp): a SQLite trigger's
// BEGIN ... END body stays one statement (schema/005_overlap_guard.sql).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "storage/common/migrations.hpp"

using invsys::split_sql_statements;

TEST_CASE("a trigger body's statements stay inside its CREATE TRIGGER", "[migrations]") {
    const auto statements = split_sql_statements(
        "CREATE TABLE t (a INTEGER);\n"
        "-- a comment; with a semicolon\n"
        "CREATE TRIGGER t_guard BEFORE INSERT ON t\n"
        "WHEN NEW.a < 0\n"
        "BEGIN\n"
        "    SELECT RAISE(ABORT, 'no; negatives');\n"
        "    SELECT 1;\n"
        "END;\n"
        "create temp trigger t2 after delete on t begin select 2; end;\n"
        "CREATE INDEX t_a ON t (a);\n");
    CHECK(statements == std::vector<std::string>{
                            "CREATE TABLE t (a INTEGER)",
                            "CREATE TRIGGER t_guard BEFORE INSERT ON t WHEN NEW.a < 0 BEGIN SELECT "
                            "RAISE(ABORT, 'no; negatives'); SELECT 1; END",
                            "create temp trigger t2 after delete on t begin select 2; end",
                            "CREATE INDEX t_a ON t (a)",
                        });
}

TEST_CASE("statements that only mention triggers split as before", "[migrations]") {
    CHECK(split_sql_statements("DROP TRIGGER x; CREATE TABLE trigger_log (endless TEXT);") ==
          std::vector<std::string>{"DROP TRIGGER x", "CREATE TABLE trigger_log (endless TEXT)"});
}
