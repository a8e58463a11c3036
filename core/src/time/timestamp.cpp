#include "time/timestamp.hpp"

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
// parse: the list answers format two timestamps per row.
void put_digits(char* end, unsigned value, int width) noexcept {
    for (int i = 0; i < width; ++i) {
        *--end = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

}  // namespace

std::string format_timestamp(std::int64_t micros) {
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

    // YYYY-MM-DDTHH:MM:SS[.ffffff]Z, written in place. Years outside
    // 0000-9999 never come from parse_timestamp (0001-9999); should one come
    // from elsewhere (a corrupt row), it is written in full like printf's
    // %04lld would, not cut to four digits.
    char buffer[27];
    char* p = buffer;
    const bool four_digit_year = date.year >= 0 && date.year <= 9999;
    put_digits(p + 4, four_digit_year ? static_cast<unsigned>(date.year) : 0, 4);
    p[4] = '-';
    put_digits(p + 7, date.month, 2);
    p[7] = '-';
    put_digits(p + 10, date.day, 2);
    p[10] = 'T';
    put_digits(p + 13, seconds_of_day / 3600, 2);
    p[13] = ':';
    put_digits(p + 16, seconds_of_day / 60 % 60, 2);
    p[16] = ':';
    put_digits(p + 19, seconds_of_day % 60, 2);
    std::size_t n = 19;
    if (fraction != 0) {
        p[19] = '.';
        put_digits(p + 26, fraction, 6);
        n = 26;
    }
    if (!four_digit_year) {
        std::string year = std::to_string(date.year < 0 ? -date.year : date.year);
        if (year.size() < 3) year.insert(0, 3 - year.size(), '0');
        if (date.year < 0)
            year.insert(0, 1, '-');
        else if (year.size() < 4)
            year.insert(0, 1, '0');
        return year + std::string(buffer + 4, n - 4) + 'Z';
    }
    std::string out;
    out.reserve(n + 1);
    out.append(buffer, n);
    out += 'Z';
    return out;
}

std::int64_t now_micros() noexcept {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace invsys
