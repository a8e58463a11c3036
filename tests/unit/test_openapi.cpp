#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "api/openapi_etag.hpp"
#include "api/routes.hpp"
#include "json/openapi.hpp"

using namespace invsys;

namespace {

type_description bus_type() {
    attribute_spec seats;
    seats.name = "seats";
    seats.kind = attribute_kind::integer;
    seats.minimum = 1;
    seats.maximum = 80;
    type_description bus{"Bus", "buses", {seats}};
    bus.rules.buffer_after_us = 15LL * 60 * 1'000'000;
    return bus;
}

rapidjson::Document parsed(const std::string& json) {
    rapidjson::Document d;
    d.Parse(json.c_str(), json.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::string text_of(const rapidjson::Value& v) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    v.Accept(w);
    return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace

TEST_CASE("every route row documents itself with a unique operation id", "[openapi]") {
    std::set<std::string_view> ids;
    for (const route_row& row : route_table()) {
        INFO(row.method << " " << row.pattern);
        CHECK_FALSE(row.doc.operation_id.empty());
        CHECK_FALSE(row.doc.summary.empty());
        CHECK(ids.insert(row.doc.operation_id).second);
        CHECK((row.doc.success == 200 || row.doc.success == 201 || row.doc.success == 204));
        // A 204 has no body; everything else says what it answers.
        CHECK((row.doc.success == 204) == (row.doc.answer == body_shape::none));
        if (row.method == "POST") CHECK(row.doc.request != body_shape::none);
    }
}

TEST_CASE("the document has one path set per loaded type, with its schema and rules", "[openapi]") {
    const type_description bus = bus_type();
    const openapi_document doc = describe_openapi(route_table(), {bus});
    const rapidjson::Document d = parsed(doc.json);
    REQUIRE(std::string(d["openapi"].GetString()) == "3.1.0");
    REQUIRE(std::string(d["servers"][0]["url"].GetString()) == "/api");
    const auto& paths = d["paths"];
    for (const char* path : {"/health", "/openapi.json", "/buses", "/buses/availability",
                             "/buses/allocations", "/buses/{id}", "/buses/{id}/free",
                             "/buses/{id}/allocations", "/buses/{id}/allocations/{allocation_id}"})
        CHECK(paths.HasMember(path));
    CHECK_FALSE(paths.HasMember("/{collection}"));
    CHECK(text_of(d["components"]["schemas"]["BusAttributes"]) ==
          encode_attribute_schema(bus.attributes));
    CHECK(std::string(paths["/buses/{id}"]["patch"]["operationId"].GetString()) ==
          "updateResource_buses");
    // Health is open; everything else takes the document's bearer default.
    CHECK(paths["/health"]["get"]["security"].GetArray().Empty());
    CHECK_FALSE(paths["/types"]["get"].HasMember("security"));
    CHECK(paths["/types"]["get"]["responses"].HasMember("401"));
    CHECK_FALSE(paths["/health"]["get"]["responses"].HasMember("401"));
    bool rules_found = false;
    for (const auto& tag : d["tags"].GetArray()) {
        if (std::string(tag["name"].GetString()) != "buses") continue;
        rules_found = true;
        CHECK(text_of(tag["x-invsys-rules"]) == encode_type_rules(bus.rules));
    }
    CHECK(rules_found);
}

TEST_CASE("the document's ETag names its text", "[openapi]") {
    const openapi_document none = describe_openapi(route_table(), {});
    const openapi_document again = describe_openapi(route_table(), {});
    const openapi_document with_bus = describe_openapi(route_table(), {bus_type()});
    CHECK(none.etag == again.etag);
    CHECK(none.etag != with_bus.etag);
    CHECK(none.etag.size() == std::string("\"openapi-0123456789abcdef\"").size());
}

TEST_CASE("If-None-Match names the document's ETag", "[openapi]") {
    const std::string tag = "\"openapi-0123456789abcdef\"";
    struct row {
        std::string header;
        bool holds;
    };
    const row cases[] = {
        {tag, true},
        {"W/" + tag, true},
        {"*", true},
        {" * ", true},
        {"\"x\", " + tag, true},
        {"\"x\",," + tag + " ,", true},
        {"\"openapi-0123456789abcdee\"", false},
        {"", false},
        {",", false},
        {"\"x\", *", false},  // * only alone (RFC 9110 §13.1.2)
        {tag.substr(1), false},
    };
    for (const auto& c : cases) {
        INFO(c.header);
        CHECK(if_none_match_holds(c.header, tag) == c.holds);
    }
    CHECK_FALSE(if_none_match_holds("\"\"", ""));
}
