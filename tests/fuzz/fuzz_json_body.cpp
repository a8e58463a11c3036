// Request bodies through both JSON decoders (resources and allocations), then
// what the API does with a decoded body: attribute validation against each
// built-in type's declared specs (the built plugins are loaded, so the specs
// are theirs: Car seats integer 1–9, Lorry max_load_kg number > 0, Truck
// axles integer 2–10), the stored form of valid attributes, name checks and
// the allocation rules. Any exception but invsys::error escapes and is a crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <invsys/log.hpp>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "booking/attribute_validation.hpp"
#include "booking/rules.hpp"
#include "fuzz_check.hpp"
#include "json/codec.hpp"
#include "plugins/registry.hpp"
#include "util/text.hpp"
#include "util/uuid.hpp"

using namespace invsys;

namespace {

const plugin_registry* builtins = nullptr;

void check_decoded_text(const raw_attribute& a) {
    using kind = raw_attribute::json_kind;
    if (a.kind == kind::string) FUZZ_CHECK(is_valid_utf8(a.string));
    if (a.kind == kind::integer) FUZZ_CHECK(a.number == static_cast<double>(a.integer));
    if (a.kind == kind::number) FUZZ_CHECK(!std::isnan(a.number));
}

bool within(const attribute_value& v, const attribute_spec& spec) {
    const double x = v.number;
    return (!spec.minimum || x >= *spec.minimum) &&
           (!spec.exclusive_minimum || x > *spec.exclusive_minimum) &&
           (!spec.maximum || x <= *spec.maximum) &&
           (!spec.exclusive_maximum || x < *spec.exclusive_maximum);
}

void validate_against(const loaded_type& type,
                      const std::vector<std::pair<std::string, raw_attribute>>& given) {
    attribute_map valid;
    try {
        valid = validate_attributes(type, given);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid);
        FUZZ_CHECK(!e.errors.empty());
        return;
    }
    for (const auto& [name, value] : valid) {
        const attribute_spec* spec = nullptr;
        for (const auto& s : type.attributes)
            if (s.name == name) spec = &s;
        FUZZ_CHECK(spec != nullptr);
        FUZZ_CHECK(value.kind == spec->kind);
        if (value.kind == attribute_kind::integer)
            FUZZ_CHECK(value.number == static_cast<double>(value.integer));
        if (value.kind == attribute_kind::integer || value.kind == attribute_kind::number) {
            FUZZ_CHECK(std::isfinite(value.number));
            FUZZ_CHECK(within(value, *spec));
        }
    }
    // What is stored reads back as the same values (a whole number may come
    // back as an integer: 3000 is written as 3000).
    const attribute_map back = decode_stored_attributes(encode_attributes(valid));
    FUZZ_CHECK(back.size() == valid.size());
    for (const auto& [name, value] : valid) {
        const auto it = back.find(name);
        FUZZ_CHECK(it != back.end());
        if (value.kind == attribute_kind::integer) {
            FUZZ_CHECK(it->second.kind == attribute_kind::integer);
            FUZZ_CHECK(it->second.integer == value.integer);
        } else if (value.kind == attribute_kind::number) {
            FUZZ_CHECK(it->second.number == value.number);
        }
    }
}

void fuzz_resource(std::string_view body) {
    resource_input input;
    try {
        input = decode_resource_input(body);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid || e.code() == error_code::payload_too_large);
        return;
    }
    if (input.name) {
        FUZZ_CHECK(is_valid_utf8(*input.name));
        std::vector<field_error> errors;
        check_name(*input.name, errors);
    }
    if (!input.attributes) return;
    for (const auto& [name, value] : *input.attributes) {
        FUZZ_CHECK(is_valid_utf8(name));
        check_decoded_text(value);
    }
    for (const auto& type : builtins->types()) validate_against(type, *input.attributes);
}

void fuzz_allocation(std::string_view body) {
    allocation_input input;
    try {
        input = decode_allocation_input(body);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid || e.code() == error_code::payload_too_large);
        return;
    }
    for (const auto* text : {&input.from_datetime, &input.to_datetime, &input.allocation_type,
                             &input.description, &input.dump_json}) {
        if (*text) FUZZ_CHECK(is_valid_utf8(**text));
    }
    if (input.dump_json) {
        // The re-serialised dump is JSON that decodes to itself.
        const allocation_input again =
            decode_allocation_input("{\"dump\":" + *input.dump_json + "}");
        FUZZ_CHECK(again.dump_json && *again.dump_json == *input.dump_json);
    }
    for (const auto change : {allocation_change::create, allocation_change::update}) {
        for (const auto& type : builtins->types()) {
            allocation target;
            target.allocation_type = "booking";
            try {
                apply_allocation_input(input, change, type, target);
                FUZZ_CHECK(target.from_us < target.to_us);
            } catch (const error& e) {
                FUZZ_CHECK(e.code() == error_code::invalid);
                FUZZ_CHECK(!e.errors.empty());
            }
        }
    }
}

// POST /api/{collection}/allocations: the allocation part as above; the
// candidates are 1 to max_candidates distinct lower-case UUIDs.
void fuzz_any_free(std::string_view body) {
    any_free_input input;
    try {
        input = decode_any_free_input(body);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid || e.code() == error_code::payload_too_large);
        return;
    }
    FUZZ_CHECK(input.candidates.size() <= max_candidates);
    for (std::size_t i = 0; i < input.candidates.size(); ++i) {
        FUZZ_CHECK(is_uuid(input.candidates[i]));
        FUZZ_CHECK(input.candidates[i].find_first_of("ABCDEF") == std::string::npos);
        for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(input.candidates[j] != input.candidates[i]);
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    set_log_level(log_level::warn);
    static const plugin_registry registry =
        plugin_registry::load_directory(INVSYS_PLUGIN_BUILD_DIR, reserved_collection_names());
    for (const char* type : {"Car", "Lorry", "Truck"}) {
        if (registry.find_by_type(type) == nullptr) {
            std::fprintf(stderr, "fuzz_json_body: built-in type %s not loaded from %s\n", type,
                         INVSYS_PLUGIN_BUILD_DIR);
            std::abort();
        }
    }
    builtins = &registry;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    fuzz_resource(body);
    fuzz_allocation(body);
    fuzz_any_free(body);
    return 0;
}
