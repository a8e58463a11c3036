// invsys-fcgi: the FastCGI server of invsys — a master process and its
// pool of workers (master.hpp), or, with --check, a one-shot check of the
// configuration, the plugins and the database (also what a reload runs).

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <invsys/config.hpp>
#include <invsys/log.hpp>
#include <invsys/service.hpp>
#include <string>
#include <string_view>

#include "master.hpp"

namespace {

constexpr const char* usage =
    "usage: invsys-fcgi [--config FILE] [--check]\n"
    "\n"
    "Serves the invsys API over FastCGI on the socket named by the config's\n"
    "`listen` key: a master process binds it and runs `workers` worker\n"
    "processes of `threads` threads each.\n"
    "  SIGHUP                   reload: read the config again, check it and the\n"
    "                           plugins in a child, then replace the workers\n"
    "                           (kept as they are if the check fails)\n"
    "  SIGTERM, SIGQUIT, SIGINT stop gracefully: requests in flight finish\n"
    "\n"
    "  --config FILE  the configuration file (default: $INVSYS_CONFIG, else none:\n"
    "                 built-in defaults); INVSYS_<KEY> variables override it\n"
    "  --check        load the configuration, the plugins and the database\n"
    "                 (applying migrations), then exit: 0 when all is well,\n"
    "                 1 when anything failed, a plugin refused included\n"
    "  --help         this text\n";

struct arguments {
    std::string config_path;
    bool check = false;
    std::string plugin_manifest;  // --plugin-manifest (from the master, for its check)
};

// Returns -1 to go on, otherwise the exit code.
int parse_arguments(int argc, char** argv, arguments& out) {
    if (const char* from_environment = std::getenv("INVSYS_CONFIG"))
        out.config_path = from_environment;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage, stdout);
            return 0;
        } else if (arg == "--check") {
            out.check = true;
        } else if (arg == "--plugin-manifest" && i + 1 < argc) {
            out.plugin_manifest = argv[++i];
        } else if (arg == "--config" && i + 1 < argc) {
            out.config_path = argv[++i];
        } else if (arg.substr(0, 9) == "--config=") {
            out.config_path = std::string(arg.substr(9));
        } else {
            std::fprintf(stderr, "invsys-fcgi: unknown or incomplete argument '%s'\n\n%s", argv[i],
                         usage);
            return 2;
        }
    }
    return -1;
}

// The plugin files the registry offers to dlopen: every *.so in the
// directory that is not a directory itself.
std::size_t count_plugin_files(const std::string& directory) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::size_t count = 0;
    for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->path().extension() == ".so" && !it->is_directory(type_ec)) ++count;
    }
    return count;
}

// Stricter than a start: the service skips a plugin it refuses, but a
// reload must not go ahead with one (the pool keeps the old workers then).
int check(const invsys::config& cfg) {
    try {
        invsys::service service(cfg);
        const auto names = service.type_names();
        std::string types;
        for (const auto& name : names) types += (types.empty() ? "" : ",") + name;
        const std::size_t files =
            cfg.plugin_manifest.empty()
                ? count_plugin_files(cfg.plugin_dir)
                : invsys::service::plugin_count(cfg.plugin_dir, cfg.plugin_manifest);
        if (names.empty() || names.size() < files) {
            invsys::log_error("invsys-fcgi check failed: " + std::to_string(files) +
                              " plugin files in " + cfg.plugin_dir + ", " +
                              std::to_string(names.size()) + " types loaded (" +
                              (types.empty() ? "none" : types) + "); see the lines above");
            return 1;
        }
        // A PostgreSQL URL may carry a password: log only SQLite paths whole.
        const std::string database = cfg.database.rfind("sqlite:", 0) == 0
                                         ? cfg.database
                                         : cfg.database.substr(0, cfg.database.find(':'));
        invsys::log_info("invsys-fcgi check passed: database=" + database +
                         " plugin_dir=" + cfg.plugin_dir + " types=" + types);
        return 0;
    } catch (const std::exception& e) {
        invsys::log_error(std::string("invsys-fcgi check failed: ") + e.what());
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    arguments args;
    if (const int rc = parse_arguments(argc, argv, args); rc >= 0) return rc;

    invsys::config cfg;
    try {
        cfg = invsys::config::load(args.config_path);
    } catch (const std::exception& e) {
        invsys::log_error(std::string("invsys-fcgi: configuration error: ") + e.what());
        return 1;
    }
    invsys::log_level level;
    if (invsys::parse_log_level(cfg.log_level, level)) invsys::set_log_level(level);

    cfg.plugin_manifest = args.plugin_manifest;
    return args.check ? check(cfg) : invsys::fcgi::run_master(cfg, args.config_path);
}
