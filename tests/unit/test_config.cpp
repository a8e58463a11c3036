#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <invsys/config.hpp>
#include <invsys/log.hpp>
#include <stdexcept>
#include <string>
#include <thread>

using namespace invsys;

namespace {

// A config file in /tmp, removed when the test ends.
class temp_file {
  public:
    explicit temp_file(const std::string& text) {
        char name[] = "/tmp/invsys-config-XXXXXX";
        const int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        ::close(fd);
        path_ = name;
        std::ofstream(path_) << text;
    }
    ~temp_file() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Sets one environment variable for the duration of a test.
class scoped_env {
  public:
    scoped_env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
    ~scoped_env() { ::unsetenv(name_); }

  private:
    const char* name_;
};

std::string load_error(const std::string& path) {
    try {
        config::load(path);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    FAIL("config::load did not throw");
    return {};
}

}  // namespace

TEST_CASE("a config file sets every key, ignoring comments, blank lines and spacing", "[config]") {
    temp_file file(
        "# invsys\n"
        "\n"
        "database = postgresql://invsys@db/invsys?password=a#b\n"
        "  plugin_dir=/usr/lib/invsys/plugins  \n"
        "listen\t=\t127.0.0.1:9000\r\n"
        "socket_group = www-data\n"
        "socket_mode = 0640\n"
        "   # indented comment\n"
        "workers = 3\n"
        "threads = 8\n"
        "max_requests = 10000\n"
        "request_timeout_s = 5\n"
        "shutdown_timeout_s = 0\n"
        "busy_timeout_ms = 250\n"
        "max_body_bytes = 65536\n"
        "max_page_bytes = 131072\n"
        "log_level = debug\n");
    const config c = config::load(file.path());
    CHECK(c.database == "postgresql://invsys@db/invsys?password=a#b");
    CHECK(c.plugin_dir == "/usr/lib/invsys/plugins");
    CHECK(c.listen == "127.0.0.1:9000");
    CHECK(c.socket_group == "www-data");
    CHECK(c.socket_mode == 0640);
    CHECK(c.workers == 3);
    CHECK(c.threads == 8);
    CHECK(c.max_requests == 10000);
    CHECK(c.request_timeout_s == 5);
    CHECK(c.shutdown_timeout_s == 0);
    CHECK(c.busy_timeout_ms == 250);
    CHECK(c.max_body_bytes == 65536);
    CHECK(c.max_page_bytes == 131072);
    CHECK(c.log_level == "debug");
}

TEST_CASE("without a file the defaults apply and zero workers means one per core", "[config]") {
    const config c = config::load("");
    CHECK(c.database == "sqlite:data/invsys.db");
    CHECK(c.threads == 4);
    CHECK(c.socket_mode == 0660);
    CHECK(c.workers == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("environment variables override the file", "[config]") {
    temp_file file("database = sqlite:/a.db\nthreads = 2\nsocket_group = staff\n");
    scoped_env database("INVSYS_DATABASE", "sqlite:/b.db");
    scoped_env plugins("INVSYS_PLUGIN_DIR", "/opt/plugins");
    scoped_env threads("INVSYS_THREADS", "16");
    scoped_env mode("INVSYS_SOCKET_MODE", "600");
    scoped_env group("INVSYS_SOCKET_GROUP", "");
    const config c = config::load(file.path());
    CHECK(c.database == "sqlite:/b.db");
    CHECK(c.plugin_dir == "/opt/plugins");
    CHECK(c.threads == 16);
    CHECK(c.socket_mode == 0600);
    CHECK(c.socket_group.empty());
}

TEST_CASE("a bad environment value is refused naming the variable", "[config]") {
    scoped_env threads("INVSYS_THREADS", "many");
    CHECK_THAT(load_error(""), Catch::StartsWith("environment INVSYS_THREADS: threads:"));
}

TEST_CASE("file errors name the file, the line and the problem", "[config]") {
    struct error_case {
        std::string text;
        std::string line_and_message;
    };
    const error_case cases[] = {
        {"threads = 4\n\ncolour = red\n", ":3: unknown key 'colour'"},
        {"threads = 4x\n", ":1: threads: '4x' is not a whole number"},
        {"threads = -1\n", ":1: threads: '-1' is not a whole number"},
        {"threads = +1\n", ":1: threads: '+1' is not a whole number"},
        {"threads =\n", ":1: threads: '' is not a whole number"},
        {"threads = 0\n", ":1: threads: must be between 1 and 256"},
        {"threads = 257\n", ":1: threads: must be between 1 and 256"},
        {"workers = 99999999999999999999\n", ":1: workers: must be between 0 and 1024"},
        {"socket_mode = 0999\n", ":1: socket_mode: '0999' is not an octal number"},
        {"socket_mode = 1777\n", ":1: socket_mode: must be between 0 and 511"},
        {"socket_mode = 0o660\n", ":1: socket_mode: '0o660' is not an octal number"},
        {"log_level = verbose\n",
         ":1: log_level: 'verbose' is not one of debug, info, warn, error"},
        {"database =\n", ":1: database: must not be empty"},
        {"# ok\nthreads 4\n", ":2: expected 'key = value'"},
        {"threads = 4\nthreads = 5\n", ":2: 'threads' is set more than once"},
        {"Threads = 4\n", ":1: unknown key 'Threads'"},
        {"= 4\n", ":1: unknown key ''"},
        {"workers = 4 # one per core\n", ":1: workers: '4 # one per core' is not a whole number"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        temp_file file(c.text);
        CHECK(load_error(file.path()) == file.path() + c.line_and_message);
    }
}

TEST_CASE("a config file that cannot be read is an error", "[config]") {
    CHECK(load_error("/nonexistent/invsys.conf") == "/nonexistent/invsys.conf: cannot be opened");
}

TEST_CASE("set applies one key and refuses unknown keys", "[config]") {
    config c;
    c.set("busy_timeout_ms", "0");
    CHECK(c.busy_timeout_ms == 0);
    c.set("max_requests", "4294967295");
    CHECK(c.max_requests == 4294967295u);
    CHECK_THROWS_WITH(c.set("max_requests", "4294967296"),
                      "max_requests: must be between 0 and 4294967295");
    CHECK_THROWS_WITH(c.set("INVSYS_THREADS", "4"), "unknown key 'INVSYS_THREADS'");
    CHECK_THROWS_AS(c.set("request_timeout_s", "0"), std::runtime_error);
}

TEST_CASE("log levels are read by their lower-case names only", "[config]") {
    const std::pair<const char*, log_level> known[] = {{"debug", log_level::debug},
                                                       {"info", log_level::info},
                                                       {"warn", log_level::warn},
                                                       {"error", log_level::error}};
    for (const auto& [text, level] : known) {
        log_level parsed = log_level::error;
        INFO(text);
        CHECK(parse_log_level(text, parsed));
        CHECK(parsed == level);
    }
    log_level unchanged = log_level::warn;
    for (const char* text : {"DEBUG", "warning", "", "info "}) {
        INFO(text);
        CHECK_FALSE(parse_log_level(text, unchanged));
    }
    CHECK(unchanged == log_level::warn);
}

TEST_CASE("the FastCGI connection keys have safe defaults", "[config]") {
    const config c = config::load("");
    CHECK(c.fastcgi_io_timeout_s == 30);
    CHECK(c.fastcgi_allowed_users.empty());
    CHECK(c.fastcgi_allowed_groups.empty());
    CHECK(c.fastcgi_allowed_addrs == "127.0.0.0/8,::1");
}

TEST_CASE("the FastCGI connection keys are read from the file and the environment", "[config]") {
    temp_file file(
        "fastcgi_io_timeout_s = 2\n"
        "fastcgi_allowed_users = www-data, 1001\n"
        "fastcgi_allowed_groups = invsys\n"
        "fastcgi_allowed_addrs = 10.0.0.0/8, fd00::/8 ,192.168.1.7\n");
    scoped_env groups("INVSYS_FASTCGI_ALLOWED_GROUPS", "nginx,33");
    const config c = config::load(file.path());
    CHECK(c.fastcgi_io_timeout_s == 2);
    CHECK(c.fastcgi_allowed_users == "www-data, 1001");
    CHECK(c.fastcgi_allowed_groups == "nginx,33");
    CHECK(c.fastcgi_allowed_addrs == "10.0.0.0/8, fd00::/8 ,192.168.1.7");
}

TEST_CASE("malformed FastCGI connection keys are refused naming the key", "[config]") {
    struct error_case {
        std::string text;
        std::string message;
    };
    const error_case cases[] = {
        {"fastcgi_io_timeout_s = 0\n", "fastcgi_io_timeout_s: must be between 1 and 3600"},
        {"fastcgi_io_timeout_s = 3601\n", "fastcgi_io_timeout_s: must be between 1 and 3600"},
        {"fastcgi_allowed_users = a b\n",
         "fastcgi_allowed_users: 'a b' is not a user or group name nor a numeric id"},
        {"fastcgi_allowed_groups = invsys,,nginx\n",
         "fastcgi_allowed_groups: 'invsys,,nginx' has an empty item"},
        {"fastcgi_allowed_groups = -g\n",
         "fastcgi_allowed_groups: '-g' is not a user or group name nor a numeric id"},
        {"fastcgi_allowed_addrs = 10.0.0.0/33\n",
         "fastcgi_allowed_addrs: '10.0.0.0/33' is not an IPv4 or IPv6 address, with an optional "
         "/prefix"},
        {"fastcgi_allowed_addrs = nginx\n",
         "fastcgi_allowed_addrs: 'nginx' is not an IPv4 or IPv6 address, with an optional /prefix"},
        {"fastcgi_allowed_addrs = ::1/129\n",
         "fastcgi_allowed_addrs: '::1/129' is not an IPv4 or IPv6 address, with an optional "
         "/prefix"},
        {"fastcgi_allowed_addrs = 127.0.0.1/\n",
         "fastcgi_allowed_addrs: '127.0.0.1/' is not an IPv4 or IPv6 address, with an optional "
         "/prefix"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        temp_file file(c.text);
        CHECK(load_error(file.path()) == file.path() + ":1: " + c.message);
    }
}

TEST_CASE("an address range contains exactly the addresses under its prefix", "[config]") {
    const auto v4 = [](const char* text) {
        const auto range = parse_address_range(text);
        REQUIRE(range);
        return range->bytes;  // a plain address: the range of one
    };
    struct containment_case {
        const char* range;
        const char* address;
        bool contained;
    };
    const containment_case cases[] = {
        {"127.0.0.0/8", "127.0.0.1", true},
        {"127.0.0.0/8", "127.255.3.4", true},
        {"127.0.0.0/8", "128.0.0.1", false},
        {"172.16.0.0/12", "172.31.255.255", true},
        {"172.16.0.0/12", "172.32.0.1", false},
        {"10.1.2.3", "10.1.2.3", true},
        {"10.1.2.3", "10.1.2.4", false},
        {"0.0.0.0/0", "8.8.8.8", true},
        {"::1", "::1", true},
        {"::1", "::2", false},
        {"fd00::/8", "fdab::1", true},
        {"fd00::/8", "fe80::1", false},
        // IPv4 ranges match the IPv4-mapped form of an IPv6 socket's peer.
        {"127.0.0.0/8", "::ffff:127.0.0.5", true},
        {"::1", "127.0.0.1", false},
    };
    for (const auto& c : cases) {
        INFO(std::string(c.range) + " ? " + c.address);
        const auto range = parse_address_range(c.range);
        REQUIRE(range);
        CHECK(range->contains(v4(c.address)) == c.contained);
    }
}

TEST_CASE("the SQLite connection and cache keys have their defaults and bounds", "[config]") {
    config c;
    CHECK(c.sqlite_connections == 2);
    CHECK(c.sqlite_cache_kib == 2000);
    c.set("sqlite_connections", "0");
    c.set("sqlite_cache_kib", "512");
    CHECK(c.sqlite_connections == 0);
    CHECK(c.sqlite_cache_kib == 512);
    CHECK_THROWS_AS(c.set("sqlite_connections", "257"), std::runtime_error);
    CHECK_THROWS_AS(c.set("sqlite_cache_kib", "15"), std::runtime_error);
    CHECK_THROWS_AS(c.set("sqlite_cache_kib", "-2000"), std::runtime_error);
}

TEST_CASE("the PostgreSQL timeout keys have sane defaults and bounds", "[config]") {
    config c;
    CHECK(c.pg_connect_timeout_s == 5);
    CHECK(c.pg_statement_timeout_ms == 10000);
    CHECK(c.pg_tcp_user_timeout_ms == 10000);
    CHECK(c.pg_keepalives_idle_s == 10);
    CHECK(c.pg_connections == 0);
    // The statement bound stays below the request timeout that kills a worker.
    CHECK(c.pg_statement_timeout_ms < c.request_timeout_s * 1000);
    c.set("pg_connect_timeout_s", "2");
    c.set("pg_statement_timeout_ms", "1500");
    c.set("pg_tcp_user_timeout_ms", "0");
    c.set("pg_keepalives_idle_s", "30");
    c.set("pg_connections", "2");
    CHECK(c.pg_connect_timeout_s == 2);
    CHECK(c.pg_statement_timeout_ms == 1500);
    CHECK(c.pg_tcp_user_timeout_ms == 0);
    CHECK(c.pg_keepalives_idle_s == 30);
    CHECK(c.pg_connections == 2);
    CHECK_THROWS_AS(c.set("pg_connect_timeout_s", "0"), std::runtime_error);
    CHECK_THROWS_AS(c.set("pg_statement_timeout_ms", "99"), std::runtime_error);
    CHECK_THROWS_AS(c.set("pg_connections", "257"), std::runtime_error);
}
