#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <invsys/log.hpp>
#include <string>

using namespace invsys;

namespace {

// What log_json_line writes to stderr (fd 2), caught in a temporary file.
std::string logged_line(std::string_view json) {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    std::fflush(stderr);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file), STDERR_FILENO);
    log_json_line(json);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::string out;
    std::rewind(file);
    for (int c; (c = std::fgetc(file)) != EOF;) out += static_cast<char>(c);
    std::fclose(file);
    return out;
}

}  // namespace

TEST_CASE("a JSON log line is one line: CR and LF inside become spaces", "[log]") {
    CHECK(logged_line(R"({"a":1})") == "{\"a\":1}\n");
    CHECK(logged_line("\n{\"a\":\"x\r\ny\"}\r") == " {\"a\":\"x  y\"} \n");
    CHECK(logged_line(std::string(300, 'x') + "\n\n" + std::string(5000, 'y')) ==
          std::string(300, 'x') + "  " + std::string(5000, 'y') + "\n");
    // After an unusually long line, a short one is still whole.
    CHECK(logged_line("{}") == "{}\n");
}
