// invsys-admin: API keys on the database the configuration names, for the
// first key and for operators; works with the service running or not
// (core/include/invsys/key_admin.hpp). Backups and restores of that
// database (core/include/invsys/db_admin.hpp, docs/operations.md). Secrets are read from the
// environment, never from the command line (which `ps` shows everyone).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <invsys/config.hpp>
#include <invsys/db_admin.hpp>
#include <invsys/key_admin.hpp>
#include <invsys/log.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage =
    "usage: invsys-admin [--config FILE] keys create --role ROLE --name NAME\n"
    "       invsys-admin [--config FILE] keys ensure --role ROLE --name NAME\n"
    "       invsys-admin [--config FILE] keys list\n"
    "       invsys-admin [--config FILE] keys revoke ID\n"
    "       invsys-admin [--config FILE] backup FILE\n"
    "       invsys-admin [--config FILE] restore FILE\n"
    "\n"
    "API keys on the database of the configuration (the same file as\n"
    "invsys-fcgi's, with its INVSYS_* environment overrides), whether the\n"
    "service runs or not. ROLE is reader, writer or admin.\n"
    "\n"
    "  create   makes a key and prints its secret on stdout, once: it is\n"
    "           stored only as a hash. Its id and name go to stderr.\n"
    "  ensure   makes the secret in $INVSYS_ADMIN_KEY a live key of ROLE\n"
    "           (a new one named NAME, or the existing key of that secret,\n"
    "           given ROLE and un-revoked): for scripts and tests.\n"
    "  list     live keys, one a line: id, role, name, created, last used.\n"
    "  revoke   revokes a key; every worker stops taking it within 2 s.\n"
    "\n"
    "  backup   a consistent copy of the database into FILE (never\n"
    "           overwritten), while the service serves: SQLite VACUUM INTO,\n"
    "           PostgreSQL pg_dump -Fc. The audit trail is in it.\n"
    "  restore  FILE back in place of the database, with the service\n"
    "           stopped (refused while anything has the database open, and\n"
    "           for a file that is not an invsys backup or has a newer schema).\n"
    "\n"
    "  --config FILE  the configuration (default: $INVSYS_CONFIG, else none:\n"
    "                 the built-in defaults and INVSYS_* variables)\n"
    "\n"
    "Exit status: 0 done, 1 failed (one line on stderr), 2 usage.\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "invsys-admin: %s\n\n%s", message.c_str(), usage);
    return 2;
}

struct options {
    std::string config_path;
    std::vector<std::string> words;  // after the options
    std::string role;
    std::string name;
};

bool take_value(int argc, char** argv, int& i, std::string_view flag, std::string& out) {
    const std::string_view arg = argv[i];
    if (arg == flag && i + 1 < argc) {
        out = argv[++i];
        return true;
    }
    if (arg.size() > flag.size() + 1 && arg.substr(0, flag.size()) == flag &&
        arg[flag.size()] == '=') {
        out = std::string(arg.substr(flag.size() + 1));
        return true;
    }
    return false;
}

int run_backup(const options& opt) {
    const invsys::config cfg = invsys::config::load(opt.config_path);
    const bool restore = opt.words[0] == "restore";
    const invsys::backup_report r = restore ? invsys::restore_database(cfg, opt.words[1])
                                            : invsys::backup_database(cfg, opt.words[1]);
    std::fprintf(stderr, "invsys-admin: %s %s (%s, schema %d, %llu bytes) in %.3f s\n",
                 restore ? "restored the database from" : "backed up the database to",
                 opt.words[1].c_str(), r.backend.c_str(), r.schema_version,
                 static_cast<unsigned long long>(r.bytes), r.seconds);
    return 0;
}

int run(const options& opt) {
    if (opt.words[0] == "backup" || opt.words[0] == "restore") return run_backup(opt);
    const std::string& command = opt.words[1];
    invsys::config cfg = invsys::config::load(opt.config_path);
    // The service's own start-up lines (migrations) only when they matter.
    invsys::set_log_level(invsys::log_level::warn);
    invsys::key_admin keys(cfg);
    if (command == "create") {
        std::string secret;
        const invsys::key_summary k = keys.create(opt.name, opt.role, secret);
        std::fprintf(stderr,
                     "invsys-admin: created key %s (%s, %s); its secret follows, shown once\n",
                     k.id.c_str(), k.role.c_str(), k.name.c_str());
        std::printf("%s\n", secret.c_str());
    } else if (command == "ensure") {
        const char* secret = std::getenv("INVSYS_ADMIN_KEY");
        if (secret == nullptr || *secret == '\0')
            throw std::runtime_error(
                "INVSYS_ADMIN_KEY is not set (ensure takes the secret from it)");
        const bool created = keys.ensure(opt.name, opt.role, secret);
        std::fprintf(stderr, "invsys-admin: %s %s key for INVSYS_ADMIN_KEY\n",
                     created ? "created a new" : "kept the existing", opt.role.c_str());
    } else if (command == "list") {
        for (const invsys::key_summary& k : keys.list()) {
            std::printf("%s\t%s\t%s\t%s\t%s\n", k.id.c_str(), k.role.c_str(), k.name.c_str(),
                        k.created.c_str(), k.last_used.empty() ? "-" : k.last_used.c_str());
        }
    } else {
        keys.revoke(opt.words[2]);
        std::fprintf(stderr, "invsys-admin: revoked key %s\n", opt.words[2].c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    if (const char* from_environment = std::getenv("INVSYS_CONFIG"))
        opt.config_path = from_environment;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            return 0;
        }
        if (take_value(argc, argv, i, "--config", opt.config_path) ||
            take_value(argc, argv, i, "--role", opt.role) ||
            take_value(argc, argv, i, "--name", opt.name))
            continue;
        if (arg.substr(0, 2) == "--")
            return usage_error("unknown option '" + std::string(arg) + "'");
        opt.words.emplace_back(arg);
    }
    if (!opt.words.empty() && (opt.words[0] == "backup" || opt.words[0] == "restore")) {
        if (opt.words.size() != 2) return usage_error("'" + opt.words[0] + "' takes one FILE");
        try {
            return run(opt);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "invsys-admin: %s\n", e.what());
            return 1;
        }
    }
    if (opt.words.size() < 2 || opt.words[0] != "keys")
        return usage_error("expected 'keys <command>', 'backup FILE' or 'restore FILE'");
    const std::string& command = opt.words[1];
    const std::size_t wanted = command == "revoke" ? 3 : 2;
    if (command != "create" && command != "ensure" && command != "list" && command != "revoke")
        return usage_error("unknown command 'keys " + command + "'");
    if (opt.words.size() != wanted)
        return usage_error("'keys " + command + "' takes " +
                           (wanted == 3 ? std::string("one key id") : std::string("no arguments")));
    if ((command == "create" || command == "ensure") && (opt.role.empty() || opt.name.empty()))
        return usage_error("'keys " + command + "' needs --role and --name");
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "invsys-admin: %s\n", e.what());
        return 1;
    }
}
