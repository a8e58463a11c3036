#include <catch2/catch.hpp>

#include "booking/rules.hpp"
#include "error/error.hpp"

using namespace invsys;

namespace {

class plain_type final : public resource_type {
  public:
    std::string type_name() const noexcept override { return "Plain"; }
    std::string collection() const noexcept override { return "plains"; }
    std::vector<attribute_spec> attributes() const noexcept override { return {}; }
};

const plain_type plain;
const loaded_type plain_loaded{"Plain", "plains", {}, "", &plain};

allocation_input booking() {
    allocation_input in;
    in.from_datetime = "2030-01-01T10:00:00Z";
    in.to_datetime = "2030-01-01T12:00:00Z";
    in.allocation_type = "booking";
    return in;
}

// The fields named by the 400 that `in` gets, or {} when accepted.
std::vector<std::string> refused_fields(const allocation_input& in, bool is_new,
                                        allocation target = {}) {
    try {
        apply_allocation_input(in, is_new ? allocation_change::create : allocation_change::update,
                               plain_loaded, target);
        return {};
    } catch (const error& e) {
        CHECK(e.code() == error_code::invalid);
        std::vector<std::string> fields;
        for (const auto& error : e.errors) fields.push_back(error.field);
        return fields;
    }
}

}  // namespace

TEST_CASE("a new allocation needs one form of each end and a type", "[rules]") {
    using fields = std::vector<std::string>;
    struct row {
        const char* what;
        allocation_input input;
        fields refused;
    };
    std::vector<row> rows;
    rows.push_back({"a complete booking", booking(), {}});
    {
        auto in = booking();
        in.from_datetime.reset();
        rows.push_back({"no start", in, {"from_datetime"}});
        in.from_infinity = true;
        rows.push_back({"an open start", in, {}});
        in.from_datetime = "2030-01-01T10:00:00Z";
        rows.push_back({"both forms of the start", in, {"from_datetime"}});
    }
    {
        auto in = booking();
        in.to_infinity = true;
        rows.push_back({"both forms of the end", in, {"to_datetime"}});
        in.to_datetime.reset();
        rows.push_back({"an open end", in, {}});
    }
    {
        auto in = booking();
        in.allocation_type.reset();
        rows.push_back({"no type", in, {"allocation_type"}});
        in.allocation_type = std::string(33, 't');
        rows.push_back({"a 33-character type", in, {"allocation_type"}});
    }
    {
        auto in = booking();
        in.to_datetime = in.from_datetime;
        rows.push_back({"an empty interval", in, {"to_datetime"}});
        in.to_datetime = "2030-01-01T09:00:00Z";
        rows.push_back({"an end before the start", in, {"to_datetime"}});
        in.to_datetime = "2030-02-30T09:00:00Z";
        rows.push_back({"an impossible date", in, {"to_datetime"}});
    }
    {
        auto in = booking();
        in.description = std::string(1000, 'd');
        rows.push_back({"a 1000-character description", in, {}});
        in.description = std::string(1001, 'd');
        rows.push_back({"a 1001-character description", in, {"description"}});
        in.description = std::string("line\nnext\ttab", 13);
        rows.push_back({"a description with newlines and tabs", in, {}});
        in.description = std::string("nul\0byte", 8);
        rows.push_back({"a description holding U+0000", in, {"description"}});
    }
    for (const auto& r : rows) {
        INFO(r.what);
        CHECK(refused_fields(r.input, true) == r.refused);
    }
}

TEST_CASE("a change keeps the omitted fields and must still be a valid interval", "[rules]") {
    allocation stored;
    stored.from_us = 1'000'000;
    stored.to_us = 2'000'000;
    stored.allocation_type = "booking";

    allocation_input nothing;
    CHECK(refused_fields(nothing, false, stored).empty());

    allocation_input later_start;
    later_start.from_datetime = "1970-01-01T00:00:03Z";
    CHECK(refused_fields(later_start, false, stored) == std::vector<std::string>{"to_datetime"});

    allocation_input open_end;
    open_end.to_infinity = true;
    allocation changed = stored;
    apply_allocation_input(open_end, allocation_change::update, plain_loaded, changed);
    CHECK(changed.from_us == stored.from_us);
    CHECK(changed.to_us == invsys::open_end);
    CHECK(changed.allocation_type == "booking");
}
