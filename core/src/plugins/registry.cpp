#include "plugins/registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstring>
#include <exception>
#include <filesystem>
#include <invsys/log.hpp>
#include <invsys/plugin_abi.hpp>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "plugins/declaration_checks.hpp"

namespace invsys {
namespace {

namespace fs = std::filesystem;

constexpr const char* info_symbol = "invsys_plugin_info";
constexpr const char* factory_symbol = "invsys_create_resource_type";

// Boost.DLL reports every dlopen failure as "bad file descriptor"; the
// reason worth logging is in dlerror(), which names the path once more.
std::string load_failure(const std::string& path) {
    const char* detail = ::dlerror();
    if (detail == nullptr) return "cannot load";
    std::string_view text = detail;
    const std::string prefix = path + ": ";
    if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
    return "cannot load: " + std::string(text);
}

// Absolute paths make the log lines and duplicate reports unambiguous even
// when the service was started with a relative plugin directory.
std::string absolute_path(const std::string& path) {
    std::error_code ec;
    fs::path absolute = fs::absolute(path, ec);
    return ec ? path : absolute.lexically_normal().string();
}

}  // namespace

struct plugin_registry::state {
    // Destroyed in reverse order of declaration, and explicitly so below:
    // the objects run code of their libraries, so they go first.
    std::vector<boost::dll::shared_library> libraries;
    std::vector<std::unique_ptr<resource_type>> objects;
    std::vector<loaded_type> types;
    std::vector<plugin_refusal> refusals;
    std::vector<std::string> reserved_collections;

    ~state() {
        types.clear();
        objects.clear();
        libraries.clear();
    }

    bool refuse(const std::string& path, std::string reason) {
        log_error("plugin refused: " + path + ": " + reason);
        refusals.push_back({path, std::move(reason)});
        return false;
    }

    const loaded_type* find_type(std::string_view name) const {
        auto it = std::find_if(types.begin(), types.end(),
                               [&](const loaded_type& t) { return t.type_name == name; });
        return it == types.end() ? nullptr : &*it;
    }

    const loaded_type* find_collection(std::string_view collection) const {
        auto it = std::find_if(types.begin(), types.end(),
                               [&](const loaded_type& t) { return t.collection == collection; });
        return it == types.end() ? nullptr : &*it;
    }

    bool load(const std::string& path);
    // What the object declares, checked against its info record and the
    // types already loaded.
    std::optional<std::string> declaration_problem(const resource_type& object,
                                                   std::string_view info_type_name,
                                                   loaded_type& out) const;
};

bool plugin_registry::state::load(const std::string& path) {
    boost::dll::fs::error_code ec;
    // rtld_now: an unresolved symbol refuses the library here, with dlerror's
    // explanation, instead of aborting the worker at the first call.
    boost::dll::shared_library library(
        path, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (ec || !library.is_loaded()) return refuse(path, load_failure(path));

    // Until the factory runs, nothing of the plugin but its static
    // initialisers has run, so a refused library is simply unloaded again
    // when `library` goes out of scope.
    if (!library.has(info_symbol)) {
        return refuse(path, std::string("not an invsys plugin: no ") + info_symbol);
    }
    const auto& info = library.get<const ::invsys_plugin_info>(info_symbol);
    if (info.abi_version != INVSYS_PLUGIN_ABI_VERSION) {
        return refuse(path, "ABI version " + std::to_string(info.abi_version) + ", expected " +
                                std::to_string(INVSYS_PLUGIN_ABI_VERSION));
    }
    // Only now is the record's layout known to be ours.
    if (info.build_signature == nullptr || info.type_name == nullptr) {
        return refuse(path, "malformed info record: null build signature or type name");
    }
    if (std::strcmp(info.build_signature, INVSYS_BUILD_SIGNATURE) != 0) {
        return refuse(path, "build signature " + in_quotes(info.build_signature) + ", expected " +
                                in_quotes(INVSYS_BUILD_SIGNATURE));
    }
    const std::string info_type_name = info.type_name;
    if (auto problem = type_name_problem(info_type_name)) return refuse(path, *problem);
    // Refusing a duplicate from its record alone keeps its code from running.
    if (const loaded_type* other = find_type(info_type_name)) {
        return refuse(path, "duplicate type " + in_quotes(info_type_name) +
                                ": already provided by " + other->library_path);
    }
    if (!library.has(factory_symbol)) {
        return refuse(path, std::string("no factory: missing ") + factory_symbol);
    }
    auto& factory = library.get_alias<resource_type_factory>(factory_symbol);

    // From here on the plugin has run code (its objects, statics, perhaps
    // thread-local state), so its library stays mapped for the registry's
    // lifetime even if refused; objects from a refused one die right away.
    libraries.push_back(std::move(library));
    std::unique_ptr<resource_type> object = factory();
    if (!object) return refuse(path, "factory returned no object");

    loaded_type type;
    if (auto problem = declaration_problem(*object, info_type_name, type)) {
        object.reset();
        return refuse(path, *problem);
    }
    type.library_path = path;
    type.impl = object.get();
    type.rules = object->rules();
    if (auto problem = allocation_rules_problem(type.rules)) {
        object.reset();
        return refuse(path, *problem);
    }
    const std::string loaded =
        "plugin loaded: " + type.type_name + " (" + type.collection + ") from " + path;
    objects.push_back(std::move(object));
    types.push_back(std::move(type));
    log_info(loaded);
    return true;
}

std::optional<std::string> plugin_registry::state::declaration_problem(
    const resource_type& object, std::string_view info_type_name, loaded_type& out) const {
    out.type_name = object.type_name();
    if (out.type_name != info_type_name) {
        return "type name " + in_quotes(out.type_name) + " differs from the info record's " +
               in_quotes(info_type_name);
    }
    out.collection = object.collection();
    if (auto problem = collection_problem(out.collection, reserved_collections)) return problem;
    if (const loaded_type* other = find_collection(out.collection)) {
        return "duplicate collection " + in_quotes(out.collection) + ": already served by type " +
               in_quotes(other->type_name) + " from " + other->library_path;
    }
    out.attributes = object.attributes();
    return attribute_specs_problem(out.attributes);
}

plugin_registry::plugin_registry(std::vector<std::string> reserved_collections)
    : state_(std::make_unique<state>()) {
    state_->reserved_collections = std::move(reserved_collections);
}
plugin_registry::~plugin_registry() = default;
plugin_registry::plugin_registry(plugin_registry&&) noexcept = default;
plugin_registry& plugin_registry::operator=(plugin_registry&&) noexcept = default;

plugin_registry plugin_registry::load_directory(
    const std::string& directory, const std::vector<std::string>& reserved_collections) {
    const std::string root = absolute_path(directory);
    std::error_code ec;
    fs::directory_iterator it(root, ec);
    if (ec) throw std::runtime_error("plugin directory " + root + ": " + ec.message());

    std::vector<std::string> names;
    for (const fs::directory_iterator end; it != end; it.increment(ec)) {
        const fs::path& entry = it->path();
        std::error_code type_ec;
        // Anything named *.so that is not a directory is offered to dlopen,
        // so a broken link or unreadable file shows up as a refusal.
        if (entry.extension() == ".so" && !it->is_directory(type_ec)) {
            names.push_back(entry.filename().string());
        }
    }
    if (ec) throw std::runtime_error("plugin directory " + root + ": " + ec.message());
    std::sort(names.begin(), names.end());

    plugin_registry registry(reserved_collections);
    for (const std::string& name : names) registry.load_library((fs::path(root) / name).string());
    return registry;
}

plugin_registry plugin_registry::load_listed(const std::string& directory,
                                             const std::vector<plugin_file>& listed,
                                             const std::vector<std::string>& reserved_collections) {
    const std::string root = absolute_path(directory);
    plugin_registry registry(reserved_collections);
    for (const plugin_file& file : listed) {
        const std::string path = (fs::path(root) / file.name).string();
        const auto now = identify_plugin_file(path, file.name);
        if (!now) {
            log_warn("plugins: " + path + " was listed for this generation and is gone; skipped");
            continue;
        }
        if (!(*now == file)) {
            log_error("plugins: refused " + path +
                      ": changed since this generation was checked (reload with SIGHUP to check "
                      "it)");
            continue;
        }
        registry.load_library(path);
    }
    for (const plugin_file& present : list_plugin_files(root)) {
        const bool known = std::any_of(listed.begin(), listed.end(), [&](const plugin_file& f) {
            return f.name == present.name;
        });
        if (!known) {
            log_warn("plugins: " + (fs::path(root) / present.name).string() +
                     " is new since this generation was checked; not loaded until a reload "
                     "(SIGHUP)");
        }
    }
    return registry;
}

bool plugin_registry::load_library(const std::string& path) {
    if (!state_) state_ = std::make_unique<state>();  // a moved-from registry
    const std::string full_path = absolute_path(path);
    try {
        return state_->load(full_path);
    } catch (const std::exception& e) {
        // Allocation failures and Boost.DLL's own throws, none expected after
        // the has() checks; the library is refused either way.
        return state_->refuse(full_path, std::string("unexpected error: ") + e.what());
    }
}

const std::vector<loaded_type>& plugin_registry::types() const noexcept {
    static const std::vector<loaded_type> none;
    return state_ ? state_->types : none;
}

const std::vector<plugin_refusal>& plugin_registry::refusals() const noexcept {
    static const std::vector<plugin_refusal> none;
    return state_ ? state_->refusals : none;
}

const loaded_type* plugin_registry::find_by_collection(std::string_view collection) const noexcept {
    return state_ ? state_->find_collection(collection) : nullptr;
}

bool plugin_registry::set_rules(std::string_view type_name, allocation_rules rules) {
    for (auto& type : state_->types) {
        if (type.type_name != type_name) continue;
        type.rules = std::move(rules);
        return true;
    }
    return false;
}

const loaded_type* plugin_registry::find_by_type(std::string_view type_name) const noexcept {
    return state_ ? state_->find_type(type_name) : nullptr;
}

}  // namespace invsys
