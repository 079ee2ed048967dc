#include "service/logging/json_log.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace gatehouse {
namespace {

// A JSON value as far as log lines need one: a string or a number.
struct JsonValue {
  bool is_string = false;
  std::string text;  // Decoded string, or the number's text.

  bool operator==(const JsonValue& o) const {
    return is_string == o.is_string && text == o.text;
  }
};

JsonValue Str(std::string s) { return {true, std::move(s)}; }
JsonValue Num(std::string s) { return {false, std::move(s)}; }

// A strict parser for one flat JSON object of string and number values
// (RFC 8259 grammar for those), keeping field order. nullopt when the text
// is not exactly such an object.
class FlatJsonParser {
 public:
  explicit FlatJsonParser(const std::string& text) : s_(text) {}

  std::optional<std::vector<std::pair<std::string, JsonValue>>> Parse() {
    std::vector<std::pair<std::string, JsonValue>> out;
    if (!Eat('{')) return std::nullopt;
    if (!Eat('}')) {
      do {
        std::optional<std::string> key = String();
        if (!key || !Eat(':')) return std::nullopt;
        std::optional<JsonValue> value = Value();
        if (!value) return std::nullopt;
        out.emplace_back(*key, *value);
      } while (Eat(','));
      if (!Eat('}')) return std::nullopt;
    }
    if (pos_ != s_.size()) return std::nullopt;
    return out;
  }

 private:
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::optional<JsonValue> Value() {
    if (pos_ < s_.size() && s_[pos_] == '"') {
      std::optional<std::string> s = String();
      if (!s) return std::nullopt;
      return Str(*s);
    }
    return Number();
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::optional<JsonValue> Number() {
    const size_t start = pos_;
    Eat('-');
    if (Eat('0')) {
    } else if (!Digits()) {
      return std::nullopt;
    }
    if (Eat('.') && !Digits()) return std::nullopt;
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!Digits()) return std::nullopt;
    }
    return Num(s_.substr(start, pos_ - start));
  }

  bool Digits() {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  // A string with its escapes decoded (\uXXXX only below U+0080, which is
  // all the formatter emits).
  std::optional<std::string> String() {
    if (!Eat('"')) return std::nullopt;
    std::string out;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return std::nullopt;
          int code = 0;
          for (int i = 0; i < 4; ++i) {
            const char h = s_[pos_++];
            int v;
            if (h >= '0' && h <= '9') {
              v = h - '0';
            } else if (h >= 'a' && h <= 'f') {
              v = h - 'a' + 10;
            } else if (h >= 'A' && h <= 'F') {
              v = h - 'A' + 10;
            } else {
              return std::nullopt;
            }
            code = code * 16 + v;
          }
          if (code >= 0x80) return std::nullopt;
          out.push_back(static_cast<char>(code));
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

using Fields = std::vector<std::pair<std::string, JsonValue>>;

// The fields of the whole line the logger would write around `inner`.
std::optional<Fields> ParseLine(const std::string& inner) {
  const std::string line =
      R"({"ts":"2026-11-29T05:00:00.123Z","level":"info",)" + inner + "}";
  return FlatJsonParser(line).Parse();
}

TEST(FlatJsonParserTest, RejectsWhatIsNotJson) {
  for (const std::string& bad :
       {std::string(R"({"a":"x)"), std::string("{\"a\":\"x\ny\"}"),
        std::string(R"({"a":01})"), std::string(R"({"a":1,})"),
        std::string(R"({"a":"\x"})"), std::string(R"({"a":-})"),
        std::string(R"({"a":1} )"), std::string(R"({a:1})")}) {
    EXPECT_FALSE(FlatJsonParser(bad).Parse().has_value()) << bad;
  }
  EXPECT_TRUE(FlatJsonParser(R"({"a":-1.5e+3,"b":"\u0041"})").Parse());
}

TEST(FormatJsonFieldsTest, MessageAloneIsOneField) {
  EXPECT_EQ(FormatJsonFields("started", {}), R"("msg":"started")");
}

TEST(FormatJsonFieldsTest, StringsAreQuotedAndNumbersRaw) {
  const std::string line = FormatJsonFields(
      "ceiling hit", {{"policy", "login_ip"},
                      {"count", uint64_t{20}},
                      {"delta", int64_t{-5}},
                      {"n", 7},
                      {"big", std::numeric_limits<uint64_t>::max()},
                      {"small", std::numeric_limits<int64_t>::min()},
                      {"zero_text", std::string("0")}});
  EXPECT_EQ(line, R"("msg":"ceiling hit","policy":"login_ip","count":20,)"
                  R"("delta":-5,"n":7,"big":18446744073709551615,)"
                  R"("small":-9223372036854775808,"zero_text":"0")");
  const std::optional<Fields> fields = ParseLine(line);
  ASSERT_TRUE(fields.has_value()) << line;
  EXPECT_EQ(*fields, (Fields{{"ts", Str("2026-11-29T05:00:00.123Z")},
                             {"level", Str("info")},
                             {"msg", Str("ceiling hit")},
                             {"policy", Str("login_ip")},
                             {"count", Num("20")},
                             {"delta", Num("-5")},
                             {"n", Num("7")},
                             {"big", Num("18446744073709551615")},
                             {"small", Num("-9223372036854775808")},
                             {"zero_text", Str("0")}}));
}

TEST(FormatJsonFieldsTest, EscapesQuotesBackslashesAndNewlines) {
  EXPECT_EQ(FormatJsonFields("say \"hi\"", {{"path", "C:\\temp\\x"},
                                            {"text", "line1\nline2\r\tend"}}),
            R"("msg":"say \"hi\"","path":"C:\\temp\\x",)"
            R"("text":"line1\nline2\r\tend")");
}

TEST(FormatJsonFieldsTest, EscapesEveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    SCOPED_TRACE(c);
    const std::string value = "a" + std::string(1, static_cast<char>(c)) + "b";
    const std::string line = FormatJsonFields("m", {{"v", value}});
    for (char ch : line) {
      EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << "raw control in line";
    }
    const std::optional<Fields> fields = ParseLine(line);
    ASSERT_TRUE(fields.has_value()) << line;
    EXPECT_EQ(fields->back().second, Str(value));
  }
  EXPECT_EQ(FormatJsonFields("m", {{"v", std::string("\x01\x1f", 2)}}),
            R"("msg":"m","v":"\u0001\u001f")");
  EXPECT_EQ(FormatJsonFields("m", {{"v", std::string("\0", 1)}}),
            R"("msg":"m","v":"\u0000")");
}

TEST(FormatJsonFieldsTest, KeysAreEscapedToo) {
  const std::string line = FormatJsonFields("m", {{"we\"ird\nkey", "v"}});
  EXPECT_EQ(line, R"("msg":"m","we\"ird\nkey":"v")");
  const std::optional<Fields> fields = ParseLine(line);
  ASSERT_TRUE(fields.has_value()) << line;
  EXPECT_EQ(fields->back().first, "we\"ird\nkey");
}

TEST(FormatJsonFieldsTest, HostileValuesRoundTripThroughAParser) {
  const std::vector<std::string> values = {"",
                                           "\"",
                                           "\\",
                                           "\\\"",
                                           "\"},\"level\":\"error",
                                           "}{",
                                           "a\\nb",
                                           "tab\there",
                                           "J\xc3\xb6rg \xe2\x82\xac",
                                           "\x7f",
                                           "{\"nested\":1}"};
  for (const std::string& v : values) {
    SCOPED_TRACE(v);
    const std::string line = FormatJsonFields(v, {{"value", v}, {"n", 1}});
    const std::optional<Fields> fields = ParseLine(line);
    ASSERT_TRUE(fields.has_value()) << line;
    // No injected fields: exactly ts, level, msg, value, n.
    ASSERT_EQ(fields->size(), 5u) << line;
    EXPECT_EQ((*fields)[1],
              (std::pair<std::string, JsonValue>{"level", Str("info")}));
    EXPECT_EQ((*fields)[2].second, Str(v));
    EXPECT_EQ((*fields)[3].second, Str(v));
    EXPECT_EQ((*fields)[4].second, Num("1"));
  }
}

}  // namespace
}  // namespace gatehouse
