// The loaded resource types, found by scanning the plugin directory.
//
// Loading checks each library's plain C info record (ABI version, build
// signature, type name) before any C++ call, then creates the type object
// and checks what it declares (names, collection syntax, attribute specs).
// A mismatching, broken or duplicate plugin is refused with one log line;
// the others keep working. Libraries are never unloaded while the registry
// lives (objects from a plugin must not outlive its library).
#pragma once

#include <invsys/resource_type.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/plugin_manifest.hpp"

namespace invsys {

struct loaded_type {
    std::string type_name;
    std::string collection;
    std::vector<attribute_spec> attributes;
    std::string library_path;             // empty for types added in-process
    const resource_type* impl = nullptr;  // owned by the registry
    // What the plugin declared, with the configuration's overrides applied
    // (booking/type_rules.hpp).
    allocation_rules rules = {};
};

// One refused library and why, as logged.
struct plugin_refusal {
    std::string library_path;
    std::string reason;
};

class plugin_registry {
  public:
    explicit plugin_registry(std::vector<std::string> reserved_collections = {});
    ~plugin_registry();
    plugin_registry(plugin_registry&&) noexcept;
    plugin_registry& operator=(plugin_registry&&) noexcept;

    // Scans `directory` for *.so files (sorted by name, not recursive) and
    // loads each. A missing or unreadable directory is an error (throws
    // std::runtime_error); a bad plugin is not. A plugin may not take one of
    // `reserved_collections` (the words the API serves itself, from its
    // route table) as its collection.
    static plugin_registry load_directory(const std::string& directory,
                                          const std::vector<std::string>& reserved_collections);

    // Loads exactly `listed` from `directory` (plugin_manifest.hpp): each
    // file only while it is still the listed one (else refused, logged);
    // *.so files not listed are left alone (one log line each).
    static plugin_registry load_listed(const std::string& directory,
                                       const std::vector<plugin_file>& listed,
                                       const std::vector<std::string>& reserved_collections);

    // Loads one library; returns false (and records and logs the refusal)
    // when it is refused.
    bool load_library(const std::string& path);

    const std::vector<loaded_type>& types() const noexcept;
    const std::vector<plugin_refusal>& refusals() const noexcept;
    const loaded_type* find_by_collection(std::string_view collection) const noexcept;
    const loaded_type* find_by_type(std::string_view type_name) const noexcept;
    // Replaces the rules of the type named `type_name`; false when none is.
    bool set_rules(std::string_view type_name, allocation_rules rules);

  private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace invsys
