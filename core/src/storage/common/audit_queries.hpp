// The audit trail's statements, the same text on both backends. One-shot
// statements, as for the API keys: listings that admins run now and then.
// The insert, one per change, is prepared once per connection
// (queries.hpp, insert_audit_entry). Private to storage/.
#pragma once

#include <soci/soci.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/common/paging.hpp"
#include "storage/store.hpp"

namespace invsys::audit_queries {

inline soci::indicator presence(const std::optional<std::string>& v) {
    return v ? soci::i_ok : soci::i_null;
}

// The seq of entry `id`, nullopt when unknown.
inline std::optional<long long> seq_of(soci::session& sql, const std::string& id) {
    long long seq = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT seq FROM audit_log WHERE id = :id", soci::into(seq, ind), soci::use(id, "id");
    if (!sql.got_data() || ind != soci::i_ok) return std::nullopt;
    return seq;
}

// Newest first, below `before_seq`. The WHERE clause is made of fixed
// fragments, one per filter given, so that each listing uses its index
// (resource_id or entity_id, then seq) rather than one generic plan.
inline std::vector<audit_entry> list(soci::session& sql, const audit_filter& filter,
                                     long long before_seq, std::size_t limit) {
    std::string text =
        "SELECT id, at_us, key_id, key_name, request_id, method, route, action, entity_kind, "
        "entity_id, resource_id, before_json, after_json FROM audit_log WHERE seq < :before_seq";
    if (filter.resource_id) text += " AND resource_id = :resource_id";
    if (filter.entity_id) text += " AND entity_id = :entity_id";
    if (filter.from_us != open_start) text += " AND at_us >= :from_us";
    if (filter.to_us != open_end) text += " AND at_us < :to_us";
    text += " ORDER BY seq DESC LIMIT :limit";

    audit_entry row;
    long long at = 0;
    std::string resource_id, before, after;
    soci::indicator resource_ind = soci::i_null, before_ind = soci::i_null,
                    after_ind = soci::i_null;
    const long long from = filter.from_us, to = filter.to_us, max_rows = sql_limit(limit);
    soci::statement st(sql);
    st.exchange(soci::into(row.id));
    st.exchange(soci::into(at));
    st.exchange(soci::into(row.key_id));
    st.exchange(soci::into(row.key_name));
    st.exchange(soci::into(row.request_id));
    st.exchange(soci::into(row.method));
    st.exchange(soci::into(row.route));
    st.exchange(soci::into(row.action));
    st.exchange(soci::into(row.entity_kind));
    st.exchange(soci::into(row.entity_id));
    st.exchange(soci::into(resource_id, resource_ind));
    st.exchange(soci::into(before, before_ind));
    st.exchange(soci::into(after, after_ind));
    st.exchange(soci::use(before_seq, "before_seq"));
    if (filter.resource_id) st.exchange(soci::use(*filter.resource_id, "resource_id"));
    if (filter.entity_id) st.exchange(soci::use(*filter.entity_id, "entity_id"));
    if (filter.from_us != open_start) st.exchange(soci::use(from, "from_us"));
    if (filter.to_us != open_end) st.exchange(soci::use(to, "to_us"));
    st.exchange(soci::use(max_rows, "limit"));
    st.alloc();
    st.prepare(text);
    st.define_and_bind();
    st.execute();
    std::vector<audit_entry> page;
    while (st.fetch()) {
        audit_entry e = row;
        e.at_us = at;
        e.resource_id = resource_ind == soci::i_ok ? std::optional(resource_id) : std::nullopt;
        e.before_json = before_ind == soci::i_ok ? std::optional(before) : std::nullopt;
        e.after_json = after_ind == soci::i_ok ? std::optional(after) : std::nullopt;
        page.push_back(std::move(e));
    }
    return page;
}

// Deletes up to `limit` of the oldest entries before `before_us`.
inline std::size_t prune(soci::session& sql, long long before_us, std::size_t limit) {
    const long long max_rows = sql_limit(limit);
    soci::statement st = (sql.prepare << "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM "
                                         "audit_log WHERE at_us < :before_us ORDER BY seq LIMIT "
                                         ":limit)",
                          soci::use(before_us, "before_us"), soci::use(max_rows, "limit"));
    st.execute(true);
    return static_cast<std::size_t>(st.get_affected_rows());
}

}  // namespace invsys::audit_queries
