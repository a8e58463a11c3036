// Checks the attributes of a resource against its type's declared specs and
// the plugin's own rules.
#pragma once

#include "json/codec.hpp"
#include "plugins/registry.hpp"

namespace invsys {

// Unknown keys, kinds (a boolean is never a number; a number with a
// fraction is not an integer), bounds and string lengths, then the plugin's
// check_attributes. Throws error(invalid) listing every violation with
// field "attributes.<key>" (or the plugin's field). Returns the validated map.
attribute_map validate_attributes(const loaded_type& type,
                                  const std::vector<std::pair<std::string, raw_attribute>>& given);

}  // namespace invsys
