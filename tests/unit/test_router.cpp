#include <catch2/catch.hpp>
#include <filesystem>
#include <invsys/key_admin.hpp>
#include <invsys/service.hpp>
#include <random>

#include "api/http.hpp"
#include "api/router.hpp"
#include "error/error.hpp"

using namespace invsys;

namespace {

constexpr const char* some_id = "0b6f6c1e-2d7a-4c3e-9f00-1234567890ab";

int status_of_route(const std::string& path) {
    try {
        match_route(path);
        return 200;
    } catch (const error& e) {
        return http_status(e.code());
    }
}

// A service on a fresh SQLite file with an empty plugin directory: routing
// and method checks need no resource type.
struct bare_service {
    std::filesystem::path dir;
    std::unique_ptr<service> svc;
    const std::string secret = "invsys_" + std::string(64, 'e');

    bare_service() {
        dir = std::filesystem::temp_directory_path() /
              ("invsys-router-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir / "plugins");
        config cfg;
        cfg.database = "sqlite:" + (dir / "db.sqlite").string();
        cfg.plugin_dir = (dir / "plugins").string();
        svc = std::make_unique<service>(cfg);
        // Every route but health needs a key: an admin one, made as the
        // operators' tool makes it.
        key_admin(cfg).ensure("router-test", "admin", secret);
    }
    ~bare_service() {
        svc.reset();
        std::filesystem::remove_all(dir);
    }
    http_response call(const std::string& method, const std::string& path) {
        http_request request;
        request.method = method;
        request.path = path;
        request.headers.emplace_back("authorization", "Bearer " + secret);
        return svc->handle(request);
    }
};

std::string header(const http_response& r, const std::string& name) {
    for (const auto& [key, value] : r.headers) {
        if (key == name) return value;
    }
    return "";
}

}  // namespace

TEST_CASE("paths of every route shape are matched with their ids", "[router]") {
    const std::string id = some_id;
    struct row {
        std::string path;
        std::string pattern;
        std::string collection, resource_id, allocation_id;
    };
    const std::vector<row> rows{
        {"/api/health", "/api/health", "", "", ""},
        {"/api/types", "/api/types", "", "", ""},
        {"/api/cars", "/api/{collection}", "cars", "", ""},
        {"/api/cars/", "/api/{collection}", "cars", "", ""},
        {"/api/cars/" + id, "/api/{collection}/{id}", "cars", id, ""},
        {"/api/cars/" + id + "/allocations", "/api/{collection}/{id}/allocations", "cars", id, ""},
        {"/api/cars/" + id + "/allocations/" + id,
         "/api/{collection}/{id}/allocations/{allocation_id}", "cars", id, id},
    };
    for (const auto& r : rows) {
        CAPTURE(r.path);
        const route matched = match_route(r.path);
        REQUIRE(matched.row != nullptr);
        CHECK(matched.row->pattern == r.pattern);
        CHECK(matched.collection == r.collection);
        CHECK(matched.resource_id == r.resource_id);
        CHECK(matched.allocation_id == r.allocation_id);
    }
}

TEST_CASE("every pattern answers its methods, HEAD with GET, and Allow lists them in table order",
          "[router]") {
    const std::string id = some_id;
    const route item = match_route("/api/cars/" + id);
    CHECK(allowed_methods(item) == std::vector<std::string>{"GET", "HEAD", "PATCH", "DELETE"});
    CHECK(find_method(item, "HEAD") == find_method(item, "GET"));
    CHECK(find_method(item, "GET")->handle == api::get_resource);
    CHECK(find_method(item, "PUT") == nullptr);
    CHECK(find_method(item, "POST") == nullptr);
    const route list = match_route("/api/cars");
    CHECK(allowed_methods(list) == std::vector<std::string>{"GET", "HEAD", "POST"});
    CHECK(find_method(list, "POST")->handle == api::create_resource);
    CHECK(allowed_methods(match_route("/api/health")) == std::vector<std::string>{"GET", "HEAD"});
}

TEST_CASE("every row of the route table is reachable by its own path", "[router]") {
    const std::string id = some_id;
    for (const route_row& row : route_table()) {
        std::string path(row.pattern);
        for (const auto& [placeholder, value] :
             {std::pair<std::string, std::string>{"{collection}", "cars"},
              {"{id}", id},
              {"{allocation_id}", id}}) {
            if (const auto at = path.find(placeholder); at != std::string::npos)
                path.replace(at, placeholder.size(), value);
        }
        CAPTURE(row.method, row.pattern);
        const route matched = match_route(path);
        CHECK(matched.row->pattern == row.pattern);
        CHECK(find_method(matched, row.method) == &row);
    }
}

TEST_CASE("an id in upper case names the same resource", "[router]") {
    CHECK(match_route("/api/cars/0B6F6C1E-2D7A-4C3E-9F00-1234567890AB").resource_id == some_id);
}

TEST_CASE("paths of no route's shape and malformed ids are 404", "[router]") {
    const std::string id = some_id;
    const std::vector<std::string> paths{"/",
                                         "/api",
                                         "/api/",
                                         "/apix/cars",
                                         "/cars",
                                         "/api//cars",
                                         "/api/cars//",
                                         "/api/cars/not-a-uuid",
                                         "/api/cars/" + id + "x",
                                         "/api/cars/" + id + "/bookings",
                                         "/api/cars/" + id + "/allocations/123",
                                         "/api/cars/" + id + "/allocations/" + id + "/x",
                                         "/api/cars/" + std::string(9000, 'a'),
                                         "/api/cars/%30b6f6c1e-2d7a-4c3e-9f00-1234567890ab"};
    for (const auto& path : paths) {
        CAPTURE(path);
        CHECK(status_of_route(path) == 404);
    }
}

TEST_CASE("a wrong method is 405 with the route's methods in Allow", "[router]") {
    bare_service s;
    struct row {
        std::string method, path, allow;
    };
    const std::vector<row> rows{
        {"POST", "/api/health", "GET, HEAD"},
        {"DELETE", "/api/types", "GET, HEAD"},
        {"PUT", "/api/types", "GET, HEAD"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.method, r.path);
        const http_response response = s.call(r.method, r.path);
        CHECK(response.status == 405);
        CHECK(header(response, "Allow") == r.allow);
        CHECK(header(response, "Content-Type") == "application/problem+json");
    }
}

TEST_CASE("a collection no plugin serves is 404 whatever the method", "[router]") {
    bare_service s;
    for (const char* method : {"GET", "POST", "PUT"}) {
        CAPTURE(method);
        const http_response response = s.call(method, "/api/cars");
        CHECK(response.status == 404);
        CHECK(header(response, "Content-Type") == "application/problem+json");
    }
}

TEST_CASE("the service answers health and types without any plugin", "[router]") {
    bare_service s;
    CHECK(s.call("GET", "/api/health").status == 200);
    const http_response types = s.call("GET", "/api/types");
    CHECK(types.status == 200);
    CHECK(types.body == "[]");
    const http_response head = s.call("HEAD", "/api/types");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
}
