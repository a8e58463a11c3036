#include "storage/common/migrations.hpp"

#include <soci/soci.h>

#include <cctype>
#include <invsys/log.hpp>
#include <set>
#include <stdexcept>

#include "storage/common/schema_guard.hpp"

namespace invsys {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// The `$tag$` starting at text[i], or "" when none does.
std::string_view dollar_tag_at(std::string_view text, std::size_t i) {
    if (text[i] != '$') return {};
    std::size_t end = i + 1;
    while (end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[end])) != 0 || text[end] == '_'))
        ++end;
    if (end >= text.size() || text[end] != '$') return {};
    return text.substr(i, end + 1 - i);
}

bool starts_with_word(std::string_view text, std::string_view upper_case_word) {
    if (text.size() < upper_case_word.size()) return false;
    for (std::size_t i = 0; i < upper_case_word.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(text[i])) != upper_case_word[i]) return false;
    }
    return text.size() == upper_case_word.size() || is_space(text[upper_case_word.size()]);
}

bool ends_with_word(std::string_view text, std::string_view upper_case_word) {
    if (text.size() < upper_case_word.size()) return false;
    const std::string_view tail = text.substr(text.size() - upper_case_word.size());
    if (!starts_with_word(tail, upper_case_word)) return false;
    return text.size() == upper_case_word.size() || is_space(text[text.size() - tail.size() - 1]);
}

// A SQLite trigger's body is statements between BEGIN and END, each ending
// in ';': inside `CREATE TRIGGER`, only the ';' after END ends it.
bool inside_trigger_body(const std::string& current) {
    if (!starts_with_word(current, "CREATE")) return false;
    const std::string_view rest = std::string_view(current).substr(7);
    const bool trigger = starts_with_word(rest, "TRIGGER") || starts_with_word(rest, "TEMP") ||
                         starts_with_word(rest, "TEMPORARY");
    if (!trigger) return false;
    std::string_view trimmed = current;
    while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
    return !ends_with_word(trimmed, "END");
}

}  // namespace

std::vector<std::string> split_sql_statements(std::string_view text) {
    std::vector<std::string> statements;
    std::string current;
    auto finish = [&] {
        while (!current.empty() && current.back() == ' ') current.pop_back();
        if (!current.empty()) statements.push_back(std::move(current));
        current.clear();
    };
    auto append_space = [&] {
        if (!current.empty() && current.back() != ' ') current += ' ';
    };
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
            i = text.find('\n', i);
            if (i == std::string_view::npos) break;
            append_space();
        } else if (c == '\'' || c == '"') {
            // Quoted text is kept as written ('' and "" escape themselves).
            const std::size_t close = text.find(c, i + 1);
            if (close == std::string_view::npos)
                throw std::logic_error("unterminated quote in SQL");
            current.append(text.substr(i, close + 1 - i));
            i = close + 1;
        } else if (const std::string_view tag = dollar_tag_at(text, i); !tag.empty()) {
            // A dollar-quoted body (a function's): its white space is folded
            // like the rest, its semicolons do not end the statement.
            const std::size_t close = text.find(tag, i + tag.size());
            if (close == std::string_view::npos) throw std::logic_error("unterminated $$ in SQL");
            for (char b : text.substr(i, close + tag.size() - i)) {
                if (is_space(b))
                    append_space();
                else
                    current += b;
            }
            i = close + tag.size();
        } else if (c == ';' && inside_trigger_body(current)) {
            current += c;
            ++i;
        } else if (c == ';') {
            finish();
            ++i;
        } else if (is_space(c)) {
            append_space();
            ++i;
        } else {
            current += c;
            ++i;
        }
    }
    finish();
    return statements;
}

std::vector<migration> migrations_of(std::span<const schema_file> files) {
    std::vector<migration> steps;
    for (const schema_file& file : files) {
        if (!steps.empty() && file.version <= steps.back().version) {
            throw std::logic_error(std::string("schema file out of order: ") + file.name);
        }
        steps.push_back(migration{file.version, split_sql_statements(file.text)});
    }
    return steps;
}

std::vector<int> apply_pending_migrations(soci::session& sql, const std::vector<migration>& steps,
                                          std::string_view create_version_table,
                                          std::int64_t now_us) {
    sql << std::string(create_version_table);

    std::set<long long> recorded;
    long long version = 0;
    soci::statement recorded_versions =
        (sql.prepare << "SELECT version FROM schema_migrations", soci::into(version));
    recorded_versions.execute();
    while (recorded_versions.fetch()) recorded.insert(version);
    // Before anything is written: a database newer than this binary is
    // left exactly as it is.
    const int known = steps.empty() ? 0 : steps.back().version;
    refuse_newer_schema(sql, recorded, known);

    std::vector<int> applied;
    for (const migration& step : steps) {
        if (recorded.count(step.version) != 0) continue;
        for (const std::string& statement : step.statements) sql << statement;
        const long long step_version = step.version;
        const long long applied_us = now_us;
        sql << "INSERT INTO schema_migrations (version, applied_us) VALUES (:version, :applied_us)",
            soci::use(step_version, "version"), soci::use(applied_us, "applied_us");
        applied.push_back(step.version);
    }
    if (!applied.empty() && applied.back() >= schema_guard_version)
        raise_schema_guard(sql, applied.back());
    return applied;
}

void log_applied_migrations(const std::vector<int>& versions) {
    for (int version : versions)
        log_info("storage: applied schema migration " + std::to_string(version));
}

}  // namespace invsys
