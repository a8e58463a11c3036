// The API key statements, the same text on both backends. Keys are read
// rarely (each worker caches what it looked up, auth/key_cache.hpp), so
// these are one-shot statements rather than the per-connection prepared
// ones of queries.hpp. Private to storage/.
#pragma once

#include <soci/soci.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"
#include "storage/common/conflicts.hpp"

namespace invsys::key_queries {

struct key_row {
    std::string id, name, role, secret_hash;
    long long created_us = 0, last_used_us = 0;
    soci::indicator last_used_ind = soci::i_null;

    api_key value() const {
        api_key k{id, name, role, secret_hash, created_us, std::nullopt};
        if (last_used_ind == soci::i_ok) k.last_used_us = last_used_us;
        return k;
    }
};

#define INVSYS_KEY_COLUMNS "id, name, role, secret_hash, created_us, last_used_us"

template <class Statement>
void into_row(Statement& st, key_row& row) {
    st.exchange(soci::into(row.id));
    st.exchange(soci::into(row.name));
    st.exchange(soci::into(row.role));
    st.exchange(soci::into(row.secret_hash));
    st.exchange(soci::into(row.created_us));
    st.exchange(soci::into(row.last_used_us, row.last_used_ind));
}

// The row of that hash, revoked or not (revoked tells which).
inline std::optional<api_key> find_by_hash(soci::session& sql, std::string_view hash,
                                           bool& revoked) {
    key_row row;
    std::string wanted(hash);
    long long revoked_us = 0;
    soci::indicator revoked_ind = soci::i_null;
    soci::statement st(sql);
    st.exchange(soci::use(wanted, "hash"));
    into_row(st, row);
    st.exchange(soci::into(revoked_us, revoked_ind));
    st.alloc();
    st.prepare("SELECT " INVSYS_KEY_COLUMNS ", revoked_us FROM api_keys WHERE secret_hash = :hash");
    st.define_and_bind();
    st.execute(true);
    if (!st.got_data()) return std::nullopt;
    revoked = revoked_ind == soci::i_ok;
    return row.value();
}

// Inserts `k` unless its hash is taken; true when inserted (no failing
// statement on PostgreSQL: ON CONFLICT DO NOTHING).
inline bool insert(soci::session& sql, const api_key& k) {
    std::string id = k.id, name = k.name, role = k.role, hash = k.secret_hash;
    long long created = k.created_us;
    soci::statement st =
        (sql.prepare << "INSERT INTO api_keys (id, name, role, secret_hash, created_us)"
                        " VALUES (:id, :name, :role, :hash, :created)"
                        " ON CONFLICT (secret_hash) DO NOTHING",
         soci::use(id, "id"), soci::use(name, "name"), soci::use(role, "role"),
         soci::use(hash, "hash"), soci::use(created, "created"));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

inline void restore(soci::session& sql, std::string_view hash, std::string_view role) {
    std::string h(hash), r(role);
    sql << "UPDATE api_keys SET role = :role, revoked_us = NULL WHERE secret_hash = :hash",
        soci::use(r, "role"), soci::use(h, "hash");
}

inline std::vector<api_key> list_live(soci::session& sql, std::size_t limit) {
    std::vector<api_key> keys;
    key_row row;
    long long max_rows = static_cast<long long>(limit);
    soci::statement st(sql);
    st.exchange(soci::use(max_rows, "limit"));
    into_row(st, row);
    st.alloc();
    st.prepare("SELECT " INVSYS_KEY_COLUMNS
               " FROM api_keys WHERE revoked_us IS NULL ORDER BY seq LIMIT :limit");
    st.define_and_bind();
    st.execute();
    while (st.fetch()) keys.push_back(row.value());
    return keys;
}

inline bool revoke(soci::session& sql, std::string_view id, std::int64_t now_us) {
    std::string wanted(id);
    long long now = now_us;
    soci::statement st = (sql.prepare << "UPDATE api_keys SET revoked_us = :now"
                                         " WHERE id = :id AND revoked_us IS NULL",
                          soci::use(now, "now"), soci::use(wanted, "id"));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

inline void touch(soci::session& sql, std::string_view id, std::int64_t now_us) {
    std::string wanted(id);
    long long now = now_us;
    sql << "UPDATE api_keys SET last_used_us = :now WHERE id = :id", soci::use(now, "now"),
        soci::use(wanted, "id");
}

#undef INVSYS_KEY_COLUMNS

}  // namespace invsys::key_queries
