// API key management on the configured database, for the operators' tool
// (invsys-admin): works whether the service runs or not, on SQLite and
// PostgreSQL alike, with the same rules as POST/GET/DELETE /api/keys.
#pragma once

#include <invsys/config.hpp>
#include <memory>
#include <string>
#include <vector>

namespace invsys {

class store;

struct key_summary {
    std::string id;
    std::string name;
    std::string role;
    std::string created;    // RFC 3339 UTC
    std::string last_used;  // RFC 3339 UTC, empty: never
};

class key_admin {
  public:
    // Opens cfg.database and applies pending migrations. Throws
    // std::runtime_error when the database cannot be opened.
    explicit key_admin(const config& cfg);
    ~key_admin();
    key_admin(const key_admin&) = delete;
    key_admin& operator=(const key_admin&) = delete;

    // Each throws std::runtime_error with a message for the operator
    // (an invalid name or role, an unknown id, the database unavailable).

    // A new key; `secret` receives the secret, shown once.
    key_summary create(const std::string& name, const std::string& role, std::string& secret);
    // Makes `secret` a live key of `role` (named `name` when new). True
    // when it stored a new key.
    bool ensure(const std::string& name, const std::string& role, const std::string& secret);
    std::vector<key_summary> list();
    void revoke(const std::string& id);

  private:
    std::unique_ptr<store> db_;
};

}  // namespace invsys
