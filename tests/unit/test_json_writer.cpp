#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "json/writer.hpp"

using namespace invsys;
using namespace std::string_literals;

namespace {

// An object, an array and a root value holding `s` as key and value,
// written by `W`.
template <class W, class String>
std::string document(const std::string& s, String write) {
    rapidjson::StringBuffer buffer;
    W w(buffer);
    w.StartObject();
    write(w, s);  // key
    write(w, s);
    write(w, "second");
    w.StartArray();
    write(w, s);
    write(w, s);
    w.EndArray();
    w.EndObject();
    std::string out(buffer.GetString(), buffer.GetSize());
    buffer.Clear();
    W root(buffer);
    write(root, s);
    return out + "|" + std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

TEST_CASE("the JSON writer writes every string as RapidJSON's own writer does", "[json]") {
    const std::vector<std::string> texts = {
        "",
        "plain",
        "f189f7fe-234f-46da-9fc5-ec789491c16b",
        "2026-12-02T13:08:51.617477Z",
        "quote\"inside",
        "back\\slash",
        "slash/stays",
        "new\nline, tab\t, cr\r, bs\b, ff\f",
        "\x01\x1f controls and DEL \x7f",
        "nul \0 inside"s,
        "Zürich 日本 🚗",
        "\xff\xfe not UTF-8",
        std::string(300, 'x') + "\"",
    };
    for (const std::string& s : texts) {
        INFO(s);
        const std::string ours = document<json_writer>(
            s, [](json_writer& w, const std::string& t) { write_string(w, t); });
        const std::string theirs = document<rapidjson::Writer<rapidjson::StringBuffer>>(
            s, [](rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& t) {
                w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
            });
        CHECK(ours == theirs);
    }
}

TEST_CASE("a raw value is copied as RapidJSON's RawValue copies it", "[json]") {
    for (const std::string raw : {"{}", R"({"seats":5,"a":[1,2]})", "12.50"}) {
        rapidjson::StringBuffer a, b;
        json_writer ours(a);
        rapidjson::Writer<rapidjson::StringBuffer> theirs(b);
        ours.StartArray();
        theirs.StartArray();
        for (int i = 0; i < 2; ++i) {
            ours.raw_value(raw, rapidjson::kObjectType);
            theirs.RawValue(raw.data(), raw.size(), rapidjson::kObjectType);
        }
        ours.EndArray();
        theirs.EndArray();
        CHECK(std::string(a.GetString(), a.GetSize()) == std::string(b.GetString(), b.GetSize()));
    }
}

TEST_CASE("a byte that needs escaping is found at any place of a string", "[json]") {
    // The scan takes eight bytes a step, then the rest one by one: every
    // length up to three steps and a tail, every position, every kind of
    // byte, around bytes it must pass (0x20, 0x7f, UTF-8's high bytes).
    const std::string escaped = "\"\\\x00\x01\x1f"s;
    const std::string passed = " !#[]\x7f\x80\xa2\xdc\xff"s;
    for (std::size_t length = 1; length <= 27; ++length) {
        for (const char fill : passed) {
            const std::string plain(length, fill);
            INFO("length " << length << " fill " << int(static_cast<unsigned char>(fill)));
            CHECK_FALSE(needs_json_escape(plain));
            for (std::size_t at = 0; at < length; ++at) {
                for (const char bad : escaped) {
                    std::string s = plain;
                    s[at] = bad;
                    INFO("at " << at << " byte " << int(static_cast<unsigned char>(bad)));
                    CHECK(needs_json_escape(s));
                }
            }
        }
    }
    CHECK_FALSE(needs_json_escape(""));
}
