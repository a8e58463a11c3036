#include "json/number_text.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

namespace invsys {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_number_char(char c) noexcept {
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// 2^63: the first double above every int64.
constexpr double int64_limit = 9223372036854775808.0;

}  // namespace

bool is_json_number(std::string_view text) noexcept {
    std::size_t i = 0;
    const std::size_t n = text.size();
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < n && is_digit(text[i])) ++i;
        return i - start;
    };
    if (i < n && text[i] == '-') ++i;
    if (i < n && text[i] == '0') {
        ++i;
    } else if (i < n && text[i] >= '1' && text[i] <= '9') {
        digits();
    } else {
        return false;
    }
    if (i < n && text[i] == '.') {
        ++i;
        if (digits() == 0) return false;
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
        if (digits() == 0) return false;
    }
    return i == n;
}

number_token next_number_token(std::string_view json, std::size_t from) noexcept {
    for (std::size_t i = from; i < json.size(); ++i) {
        const char c = json[i];
        if (c == '"') {
            // Skip the string: a backslash escapes the next byte, which is
            // all a closing quote needs (a \u escape's four hex digits hold no quote).
            for (++i; i < json.size() && json[i] != '"'; ++i) {
                if (json[i] == '\\') ++i;
            }
            continue;
        }
        if (is_digit(c) || c == '-') {
            std::size_t end = i + 1;
            while (end < json.size() && is_number_char(json[end])) ++end;
            return {i, end - i};
        }
    }
    return {std::string_view::npos, 0};
}

number_value convert_json_number(std::string_view text) noexcept {
    number_value out;
    const char* const first = text.data();
    const char* const last = first + text.size();
    const bool plain_integer = text.find_first_of(".eE") == std::string_view::npos;
    if (plain_integer) {
        std::int64_t integer = 0;
        const auto [end, ec] = std::from_chars(first, last, integer);
        if (ec == std::errc() && end == last) {
            out.what = number_value::kind::integer;
            out.integer = integer;
            out.number = static_cast<double>(integer);
            return out;
        }
        // Beyond int64: a double below, never rounded into an int64.
    }
    double number = 0;
    const auto [end, ec] = std::from_chars(first, last, number);
    // result_out_of_range covers both overflow and underflow to zero: a
    // client who wrote 1e-400 did not mean 0.
    if (ec != std::errc() || end != last || !std::isfinite(number)) return out;
    out.number = number;
    // JSON Schema's rule: a number with a zero fraction is an integer, so
    // 5.0 and 1e2 are integers where one is declared.
    // Strictly inside ±2^63: a double at -2^63 may stand for a text beyond it.
    if (!plain_integer && std::trunc(number) == number && number > -int64_limit &&
        number < int64_limit) {
        out.what = number_value::kind::integer;
        out.integer = static_cast<std::int64_t>(number);
        return out;
    }
    out.what = number_value::kind::number;
    return out;
}

}  // namespace invsys
