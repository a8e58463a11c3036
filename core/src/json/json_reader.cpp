#include "json/json_reader.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <string>

#include "json/codec.hpp"
#include "json/number_text.hpp"

namespace invsys {
namespace {

// Iterative: the recursive parser takes a stack frame per nesting level.
// No kParseStopWhenDoneFlag: trailing text is an error. Numbers as strings:
// RapidJSON only scans the masked "0" and hands it to RawNumber.
constexpr unsigned parse_flags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseNumbersAsStringsFlag;

// The input with every number token replaced by "0" and spaces: RapidJSON's
// number scan then has nothing to convert and nothing to refuse.
std::string mask_numbers(std::string_view text) {
    std::string masked(text);
    for (number_token t = next_number_token(text, 0); t.offset != std::string_view::npos;
         t = next_number_token(text, t.offset + t.length)) {
        masked[t.offset] = '0';
        masked.replace(t.offset + 1, t.length - 1, t.length - 1, ' ');
    }
    return masked;
}

// Forwards SAX events to the document being built. Stops the parse at the
// first container deeper than max_json_depth, at a lone surrogate escape,
// and at a number token that is not a JSON number.
class checking_handler {
  public:
    checking_handler(rapidjson::Document& document, std::string_view original) noexcept
        : next_(document), original_(original) {}

    bool too_deep() const noexcept { return too_deep_; }
    bool has_surrogate() const noexcept { return has_surrogate_; }
    // Offset of the malformed number token, or npos.
    std::size_t bad_number_at() const noexcept { return bad_number_at_; }

    bool Null() { return next_.Null(); }
    bool Bool(bool b) { return next_.Bool(b); }
    // Never called with kParseNumbersAsStringsFlag; refused to be sure.
    bool Int(int) { return false; }
    bool Uint(unsigned) { return false; }
    bool Int64(std::int64_t) { return false; }
    bool Uint64(std::uint64_t) { return false; }
    bool Double(double) { return false; }

    // RapidJSON read the masked "0" of the next number token: the token's
    // text in the original input is the number. Tokens come in input order,
    // and RapidJSON reads them in the same order.
    bool RawNumber(const char*, rapidjson::SizeType, bool) {
        const number_token t = next_number_token(original_, cursor_);
        if (t.offset == std::string_view::npos) {
            bad_number_at_ = original_.size();
            return false;
        }
        cursor_ = t.offset + t.length;
        const std::string_view text = original_.substr(t.offset, t.length);
        if (!is_json_number(text)) {
            bad_number_at_ = t.offset;
            return false;
        }
        marked_.assign(1, number_marker).append(text);
        return next_.String(marked_.data(), static_cast<rapidjson::SizeType>(marked_.size()), true);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) {
        return accept_text(s, n) && next_.String(s, n, copy);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) {
        return accept_text(s, n) && next_.Key(s, n, copy);
    }
    bool StartObject() { return enter() && next_.StartObject(); }
    bool EndObject(rapidjson::SizeType members) {
        --depth_;
        return next_.EndObject(members);
    }
    bool StartArray() { return enter() && next_.StartArray(); }
    bool EndArray(rapidjson::SizeType elements) {
        --depth_;
        return next_.EndArray(elements);
    }

  private:
    // kParseValidateEncodingFlag checks the input bytes, but RapidJSON 1.1.0
    // turns a lone low-surrogate escape ("\udc00") into the bytes ED B0 80,
    // which are not UTF-8. Such text would be stored and served as invalid
    // UTF-8, so it is refused here (in UTF-8, only surrogates start ED A0–BF).
    bool accept_text(const char* s, rapidjson::SizeType n) noexcept {
        for (rapidjson::SizeType i = 0; i + 1 < n; ++i) {
            if (static_cast<unsigned char>(s[i]) == 0xED &&
                static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
                has_surrogate_ = true;
                return false;
            }
        }
        return true;
    }

    bool enter() noexcept {
        if (++depth_ <= max_json_depth) return true;
        too_deep_ = true;
        return false;
    }

    rapidjson::Document& next_;
    const std::string_view original_;
    std::size_t cursor_ = 0;  // where the next number token is looked for
    std::string marked_;
    std::size_t depth_ = 0;
    bool too_deep_ = false;
    bool has_surrogate_ = false;
    std::size_t bad_number_at_ = std::string_view::npos;
};

error not_json(const std::string& what, std::size_t offset) {
    return error(error_code::invalid, "request body is not valid JSON: " + what + " (at byte " +
                                          std::to_string(offset) + ")");
}

// Writes a document back, number strings as raw number text.
class raw_number_writer {
  public:
    explicit raw_number_writer(rapidjson::Writer<rapidjson::StringBuffer>& w) noexcept : w_(w) {}

    bool Null() { return w_.Null(); }
    bool Bool(bool b) { return w_.Bool(b); }
    bool Int(int i) { return w_.Int(i); }
    bool Uint(unsigned u) { return w_.Uint(u); }
    bool Int64(std::int64_t i) { return w_.Int64(i); }
    bool Uint64(std::uint64_t u) { return w_.Uint64(u); }
    bool Double(double d) { return w_.Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return w_.RawValue(s, n, rapidjson::kNumberType);
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (n > 0 && s[0] == number_marker)
            return w_.RawValue(s + 1, n - 1, rapidjson::kNumberType);
        return w_.String(s, n);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) { return w_.Key(s, n); }
    bool StartObject() { return w_.StartObject(); }
    bool EndObject(rapidjson::SizeType n) { return w_.EndObject(n); }
    bool StartArray() { return w_.StartArray(); }
    bool EndArray(rapidjson::SizeType n) { return w_.EndArray(n); }

  private:
    rapidjson::Writer<rapidjson::StringBuffer>& w_;
};

}  // namespace

void parse_json(std::string_view text, rapidjson::Document& document) {
    if (text.size() > max_json_bytes)
        throw error(error_code::payload_too_large,
                    "request body is larger than " + std::to_string(max_json_bytes) + " bytes");

    const std::string masked = mask_numbers(text);
    rapidjson::ParseResult result;
    bool too_deep = false;
    bool has_surrogate = false;
    std::size_t bad_number_at = std::string_view::npos;
    std::size_t end = 0;
    auto generator = [&](rapidjson::Document& target) {
        rapidjson::MemoryStream in(masked.data(), masked.size());
        checking_handler handler(target, text);
        rapidjson::Reader reader;
        result = reader.Parse<parse_flags>(in, handler);
        too_deep = handler.too_deep();
        has_surrogate = handler.has_surrogate();
        bad_number_at = handler.bad_number_at();
        end = in.Tell();
        // MemoryStream reads a NUL byte as its end: text after one would
        // otherwise pass unseen.
        return !result.IsError() && end == masked.size();
    };
    document.Populate(generator);

    if (too_deep)
        throw error(error_code::invalid, "request body is nested more than " +
                                             std::to_string(max_json_depth) + " levels deep");
    if (has_surrogate)
        throw error(error_code::invalid,
                    "request body is not valid JSON: a string holds a lone surrogate escape");
    if (bad_number_at != std::string_view::npos) throw not_json("malformed number", bad_number_at);
    if (result.Code() == rapidjson::kParseErrorDocumentEmpty)
        throw error(error_code::invalid, "request body must be a JSON object");
    if (result.IsError())
        throw not_json(rapidjson::GetParseError_En(result.Code()), result.Offset());
    if (end != masked.size())
        throw not_json(rapidjson::GetParseError_En(rapidjson::kParseErrorDocumentRootNotSingular),
                       end);
}

void write_json(const rapidjson::Value& v, rapidjson::Writer<rapidjson::StringBuffer>& writer) {
    raw_number_writer out(writer);
    v.Accept(out);
}

}  // namespace invsys
