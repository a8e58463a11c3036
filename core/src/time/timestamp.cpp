#include "time/timestamp.hpp"

#include <algorithm>
#include <chrono>

namespace invsys {
namespace {

constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

// Howard Hinnant's days_from_civil / civil_from_days: exact for the
// proleptic Gregorian calendar, no tables, no locale, no timegm (which
// reads TZ and is not required to be thread-safe).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil_date {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

constexpr civil_date civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(civil_from_days(-1).year == 1969);

constexpr bool is_leap(unsigned y) noexcept { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned days_in_month(unsigned y, unsigned m) noexcept {
    constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// The instants whose UTC calendar year is 0001–9999, so that every accepted
// value formats back into a string this parser accepts.
constexpr std::int64_t earliest = days_from_civil(1, 1, 1) * micros_per_day;
constexpr std::int64_t latest = days_from_civil(10000, 1, 1) * micros_per_day - 1;

class cursor {
  public:
    explicit cursor(std::string_view text) noexcept : text_(text) {}

    bool at_end() const noexcept { return pos_ == text_.size(); }
    char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }

    bool literal(char c) noexcept {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }

    bool digit(unsigned& out) noexcept {
        const char c = peek();
        if (c < '0' || c > '9') return false;
        out = static_cast<unsigned>(c - '0');
        ++pos_;
        return true;
    }

    // Exactly `count` digits: RFC 3339 fields have fixed widths.
    bool number(int count, unsigned& out) noexcept {
        out = 0;
        for (int i = 0; i < count; ++i) {
            unsigned d;
            if (!digit(d)) return false;
            out = out * 10 + d;
        }
        return true;
    }

  private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept {
    cursor in(text);
    unsigned year, month, day, hour, minute, second;
    if (!in.number(4, year) || !in.literal('-') || !in.number(2, month) || !in.literal('-') ||
        !in.number(2, day))
        return std::nullopt;
    if (!in.literal('T') && !in.literal('t')) return std::nullopt;
    if (!in.number(2, hour) || !in.literal(':') || !in.number(2, minute) || !in.literal(':') ||
        !in.number(2, second))
        return std::nullopt;
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        hour > 23 || minute > 59 || second > 59)
        return std::nullopt;

    // Digits past the sixth are dropped; since the fraction only ever adds
    // to the wall-clock time, dropping digits rounds toward the past for
    // instants before the epoch too.
    std::int64_t fraction_us = 0;
    if (in.literal('.')) {
        int digits = 0;
        unsigned d;
        while (in.digit(d)) {
            if (digits < 6) fraction_us = fraction_us * 10 + d;
            ++digits;
        }
        if (digits == 0) return std::nullopt;
        for (; digits < 6; ++digits) fraction_us *= 10;
    }

    std::int64_t offset_us = 0;
    if (!in.literal('Z') && !in.literal('z') && !in.at_end()) {
        const char sign = in.peek();
        if (!in.literal('+') && !in.literal('-')) return std::nullopt;
        unsigned off_hour, off_minute;
        if (!in.number(2, off_hour) || !in.literal(':') || !in.number(2, off_minute))
            return std::nullopt;
        if (off_hour > 23 || off_minute > 59) return std::nullopt;
        offset_us = (off_hour * 60 + off_minute) * 60 * micros_per_second;
        if (sign == '-') offset_us = -offset_us;
    }
    if (!in.at_end()) return std::nullopt;

    const std::int64_t seconds_of_day = (hour * 60 + minute) * 60 + second;
    const std::int64_t utc = days_from_civil(year, month, day) * micros_per_day +
                             seconds_of_day * micros_per_second + fraction_us - offset_us;
    if (utc < earliest || utc > latest) return std::nullopt;
    return utc;
}

namespace {

// Writes `value` as exactly `width` decimal digits, zero-padded, ending at
// `end` (value < 10^width). Fixed widths, no locale, no format string to
// parse: a page of 100 allocations writes 300 timestamps.
void put_digits(char* end, std::uint64_t value, int width) noexcept {
    for (int i = 0; i < width; ++i) {
        *--end = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// The year as printf's %04lld writes it: four digits for 0000-9999 (all
// that parse_timestamp yields); for others (a corrupt row, never cut
// short) every digit, a '-' first when negative, zero-padded to four
// characters in all.
std::size_t put_year(char* out, std::int64_t year) noexcept {
    if (year >= 0 && year <= 9999) {
        put_digits(out + 4, static_cast<std::uint64_t>(year), 4);
        return 4;
    }
    const bool negative = year < 0;
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(year) : static_cast<std::uint64_t>(year);
    int digits = 1;
    for (std::uint64_t rest = magnitude / 10; rest != 0; rest /= 10) ++digits;
    const int width = std::max(digits, negative ? 3 : 4);
    std::size_t n = 0;
    if (negative) out[n++] = '-';
    put_digits(out + n + static_cast<std::size_t>(width), magnitude, width);
    return n + static_cast<std::size_t>(width);
}

}  // namespace

std::size_t format_timestamp_to(char* out, std::int64_t micros) noexcept {
    // Floor division, so that instants before the epoch land on the right day.
    std::int64_t days = micros / micros_per_day;
    std::int64_t rest = micros % micros_per_day;
    if (rest < 0) {
        rest += micros_per_day;
        --days;
    }
    const civil_date date = civil_from_days(days);
    const auto seconds_of_day = static_cast<unsigned>(rest / micros_per_second);
    const auto fraction = static_cast<unsigned>(rest % micros_per_second);

    // YYYY-MM-DDTHH:MM:SS[.ffffff]Z, written in place.
    char* p = out + put_year(out, date.year);
    p[0] = '-';
    put_digits(p + 3, date.month, 2);
    p[3] = '-';
    put_digits(p + 6, date.day, 2);
    p[6] = 'T';
    put_digits(p + 9, seconds_of_day / 3600, 2);
    p[9] = ':';
    put_digits(p + 12, seconds_of_day / 60 % 60, 2);
    p[12] = ':';
    put_digits(p + 15, seconds_of_day % 60, 2);
    p += 15;
    if (fraction != 0) {
        *p = '.';
        put_digits(p + 7, fraction, 6);
        p += 7;
    }
    *p++ = 'Z';
    return static_cast<std::size_t>(p - out);
}

std::string format_timestamp(std::int64_t micros) {
    char buffer[max_timestamp_length];
    return std::string(buffer, format_timestamp_to(buffer, micros));
}

std::int64_t now_micros() noexcept {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace invsys
