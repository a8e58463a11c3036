// The service: owns the registry and the store, and runs each request
// through the pipeline (api/pipeline.hpp) to the handler its route row names.
#include <invsys/service.hpp>

#include "api/handlers.hpp"
#include "api/pipeline.hpp"
#include "api/router.hpp"
#include "json/codec.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

namespace invsys {
namespace {

std::string describe_types(const plugin_registry& registry) {
    std::vector<type_description> types;
    for (const auto& type : registry.types()) {
        types.push_back({type.type_name, type.collection, type.attributes});
    }
    return encode_types(types);
}

}  // namespace

struct service::impl {
    config cfg;
    plugin_registry registry;
    std::unique_ptr<store> db;
    std::string types_json;
    key_cache keys{*db};
    api_context context{cfg, registry, *db, types_json, keys};

    explicit impl(const config& c)
        : cfg(c),
          registry(plugin_registry::load_directory(c.plugin_dir, reserved_collection_names())),
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
