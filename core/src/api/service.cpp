// The service: owns the registry and the store, and runs each request
// through the pipeline (api/pipeline.hpp) to the handler its route row names.
#include <algorithm>
#include <invsys/log.hpp>
#include <invsys/service.hpp>

#include "api/handlers.hpp"
#include "api/pipeline.hpp"
#include "api/router.hpp"
#include "booking/type_rules.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"
#include "json/openapi.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

namespace invsys {
namespace {

std::vector<type_description> type_descriptions(const plugin_registry& registry) {
    std::vector<type_description> types;
    for (const auto& type : registry.types()) {
        types.push_back({type.type_name, type.collection, type.attributes, type.rules});
    }
    return types;
}

// One connection per thread, or fewer when pg_connections or
// sqlite_connections says so (a PostgreSQL connection costs the server a
// backend; an SQLite one costs the worker its page cache).
unsigned connections_of(const config& c) {
    const bool postgresql = !c.database.starts_with("sqlite:");
    const unsigned wanted = postgresql ? c.pg_connections : c.sqlite_connections;
    return wanted == 0 ? c.threads : std::min(wanted, c.threads);
}

// A generation's listed files when the pool's master listed them, else
// the directory as found (plugins/plugin_manifest.hpp).
plugin_registry load_plugins(const config& c) {
    if (c.plugin_manifest.empty()) {
        return plugin_registry::load_directory(c.plugin_dir, reserved_collection_names());
    }
    return plugin_registry::load_listed(c.plugin_dir, parse_plugin_manifest(c.plugin_manifest),
                                        reserved_collection_names());
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
    openapi_document openapi;
    key_cache keys{*db};
    api_context context{cfg, registry, *db, types_json, openapi.json, openapi.etag, keys};

    impl(const config& c, const service_options& options)
        : cfg(c),
          registry(with_configured_rules(load_plugins(c), c)),
          db(store::open(c.database, {c.busy_timeout_ms, connections_of(c), c.pg_connect_timeout_s,
                                      c.pg_statement_timeout_ms, c.pg_tcp_user_timeout_ms,
                                      c.pg_keepalives_idle_s, options.database_migrated_before,
                                      c.sqlite_commit_group_max, c.sqlite_cache_kib})),
          types_json(encode_types(type_descriptions(registry))),
          openapi(describe_openapi(route_table(), type_descriptions(registry))) {
        try {
            db->migrate();
        } catch (const error& e) {
            // Only an unreachable server, and only when the schema is known
            // to be migrated already (an earlier worker did it).
            if (!options.database_migrated_before || e.code() != error_code::unavailable) throw;
            log_warn("the database does not answer at start (" + std::string(e.what()) +
                     "); serving 503 until it does");
        }
    }
};

service::service(const config& cfg, const service_options& options)
    : impl_(std::make_unique<impl>(cfg, options)) {}
service::~service() = default;

std::string service::list_plugins(const std::string& plugin_dir) {
    return format_plugin_manifest(list_plugin_files(plugin_dir));
}

std::size_t service::plugin_count(const std::string& plugin_dir,
                                  const std::string& plugin_manifest) {
    std::size_t present = 0;
    for (const plugin_file& f : parse_plugin_manifest(plugin_manifest)) {
        if (identify_plugin_file(plugin_dir + "/" + f.name, f.name)) ++present;
    }
    return present;
}

std::vector<std::string> service::type_names() const {
    std::vector<std::string> names;
    for (const auto& type : impl_->registry.types()) names.push_back(type.type_name);
    return names;
}

http_response service::handle(const http_request& request) noexcept {
    api_call call{impl_->context, request, {}, nullptr, nullptr, std::nullopt, {}};
    return run_pipeline(call);
}

}  // namespace invsys
