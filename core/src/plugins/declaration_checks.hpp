// Checks on what a plugin declares about itself, apart from the loading
// mechanics so that they can be tested without building a library for each
// rule. Each returns the reason for refusal, or nothing when acceptable.
#pragma once

#include <invsys/resource_type.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invsys {

// [A-Za-z][A-Za-z0-9_-]{0,63}: type names appear in JSON, logs and OpenAPI
// component names, whose keys allow no more than this.
std::optional<std::string> type_name_problem(std::string_view type_name);

// [a-z0-9_-]{1,64} and not one of `reserved` (the words the API itself
// serves under /api/: api/router.hpp's reserved_collection_names()).
std::optional<std::string> collection_problem(std::string_view collection,
                                              const std::vector<std::string>& reserved);

// Names [a-z][a-z0-9_]{0,63} and unique; bounds finite, ordered and only on
// numeric kinds; max_length only on strings.
std::optional<std::string> attribute_specs_problem(const std::vector<attribute_spec>& specs);

// Buffers and notice 0 to 366 days; allocation types 1-32 characters,
// listed once; at most one duration rule per allocation type, bounds
// positive and min <= max.
std::optional<std::string> allocation_rules_problem(const allocation_rules& rules);

// 'text': how refusal messages quote a name.
std::string in_quotes(std::string_view text);

}  // namespace invsys
