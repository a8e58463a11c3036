// The service: owns the registry and the store, and runs each request
// through the pipeline (api/pipeline.hpp) to the handler its route row names.
#include <invsys/log.hpp>
#include <invsys/service.hpp>

#include "api/handlers.hpp"
#include "api/pipeline.hpp"
#include "api/router.hpp"
#include "booking/type_rules.hpp"
#include "json/codec.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

namespace invsys {
namespace {

std::string describe_types(const plugin_registry& registry) {
    std::vector<type_description> types;
    for (const auto& type : registry.types()) {
        types.push_back({type.type_name, type.collection, type.attributes, type.rules});
    }
    return encode_types(types);
}

// The configuration's rules.<Type>.* over what each plugin declared. An
// override for a type no plugin serves is logged, not fatal: removing a
// plugin must not stop the service.
plugin_registry with_configured_rules(plugin_registry registry, const config& cfg) {
    for (const auto& [type_name, overrides] : cfg.type_rules) {
        const loaded_type* type = registry.find_by_type(type_name);
        if (type == nullptr) {
            log_warn("config: rules." + type_name + ".* given, but no loaded plugin serves " +
                     type_name);
            continue;
        }
        registry.set_rules(type_name, merge_rules(type->rules, overrides));
    }
    return registry;
}

}  // namespace

struct service::impl {
    config cfg;
    plugin_registry registry;
    std::unique_ptr<store> db;
    std::string types_json;
    api_context context{cfg, registry, *db, types_json};

    explicit impl(const config& c)
        : cfg(c),
          registry(with_configured_rules(
              plugin_registry::load_directory(c.plugin_dir, reserved_collection_names()), c)),
          db(store::open(c.database, {c.busy_timeout_ms, c.threads})),
          types_json(describe_types(registry)) {
        db->migrate();
    }
};

service::service(const config& cfg) : impl_(std::make_unique<impl>(cfg)) {}
service::~service() = default;

std::vector<std::string> service::type_names() const {
    std::vector<std::string> names;
    for (const auto& type : impl_->registry.types()) names.push_back(type.type_name);
    return names;
}

http_response service::handle(const http_request& request) noexcept {
    api_call call{impl_->context, request, {}, nullptr, nullptr};
    return run_pipeline(call);
}

}  // namespace invsys
