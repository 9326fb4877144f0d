// The strict JSON reader under the safetensors header (src/io/json_header.h):
// what RFC 8259 allows is read exactly, everything else is an Error naming the
// byte where reading stopped.
#include <string>
#include <vector>

#include "elman/error.h"
#include "gtest/gtest.h"
#include "src/io/json_header.h"
#include "tests/io_test_util.h"

namespace elman::io {
namespace {

using Kind = JsonValue::Kind;

JsonValue Parse(std::string_view text) { return ParseJson(text, "test"); }

// The decoded value of the JSON string literal `literal`.
std::string StringOf(std::string_view literal) {
  const JsonValue value = Parse(literal);
  EXPECT_EQ(value.kind, Kind::kString) << literal;
  return value.text;
}

void ExpectRejected(std::string_view text, const std::string& problem) {
  test::ExpectError([&] { Parse(text); }, {"test: byte ", problem});
}

TEST(IoJson, ReadsEveryKind) {
  const JsonValue value =
      Parse(R"({"a": [1, "x", true, false, null, {}, []], "b": {"c": "d"}})");
  ASSERT_EQ(value.kind, Kind::kObject);
  ASSERT_EQ(value.members.size(), 2u);
  EXPECT_EQ(value.members[0].key, "a");
  const std::vector<JsonValue>& a = value.members[0].value.elements;
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0].kind, Kind::kNumber);
  EXPECT_EQ(a[0].AsUint64(), 1u);
  EXPECT_EQ(a[1].text, "x");
  EXPECT_TRUE(a[2].boolean);
  EXPECT_EQ(a[3].kind, Kind::kBool);
  EXPECT_FALSE(a[3].boolean);
  EXPECT_EQ(a[4].kind, Kind::kNull);
  EXPECT_EQ(a[5].kind, Kind::kObject);
  EXPECT_EQ(a[6].kind, Kind::kArray);
  EXPECT_EQ(value.members[1].value.members[0].value.text, "d");
}

TEST(IoJson, KeepsMemberOrder) {
  const JsonValue value = Parse(R"({"z":1,"a":2,"m":3})");
  ASSERT_EQ(value.members.size(), 3u);
  EXPECT_EQ(value.members[0].key, "z");
  EXPECT_EQ(value.members[1].key, "a");
  EXPECT_EQ(value.members[2].key, "m");
}

TEST(IoJson, SimpleEscapes) {
  EXPECT_EQ(StringOf(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(StringOf(R"("a\u0000b")"), std::string("a\0b", 3));
}

TEST(IoJson, UnicodeEscapes) {
  EXPECT_EQ(StringOf(R"("\u0041")"), "A");
  EXPECT_EQ(StringOf(R"("\u00e9\u00E9")"), "\xC3\xA9\xC3\xA9");  // é
  EXPECT_EQ(StringOf(R"("\u20AC")"), "\xE2\x82\xAC");            // €
  EXPECT_EQ(StringOf(R"("\uFFFF")"), "\xEF\xBF\xBF");
  // A surrogate pair: U+1F600, and the highest code point U+10FFFF.
  EXPECT_EQ(StringOf(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(StringOf(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF");
}

TEST(IoJson, BadUnicodeEscapes) {
  ExpectRejected(R"("\ud83d")", "high surrogate without a low one");
  ExpectRejected(R"("\ud83dx")", "high surrogate without a low one");
  ExpectRejected(R"("\ud83d\u0041")", "high surrogate without a low one");
  ExpectRejected(R"("\ud83d\ud83d")", "high surrogate without a low one");
  ExpectRejected(R"("\ude00")", "low surrogate without a high one");
  ExpectRejected(R"("\u12")", "4 hex digits");
  ExpectRejected(R"("\u12G4")", "4 hex digits");
  ExpectRejected(R"("\u)", "4 hex digits");
}

TEST(IoJson, BadEscapesAndControlCharacters) {
  ExpectRejected(R"("\x41")", "invalid escape");
  ExpectRejected(R"("\U0041")", "invalid escape");
  ExpectRejected("\"\\", "unterminated string");
  ExpectRejected("\"abc", "unterminated string");
  ExpectRejected("\"a\nb\"", "control character");
  ExpectRejected(std::string_view("\"a\0b\"", 5), "control character");
}

TEST(IoJson, RawUtf8) {
  EXPECT_EQ(StringOf("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  const char* const invalid[] = {
      "\"\x80\"",              // a continuation byte alone
      "\"\xC3\"",              // a lead byte without its continuation
      "\"\xC0\xAF\"",          // overlong '/'
      "\"\xE0\x80\xAF\"",      // overlong, 3 bytes
      "\"\xED\xA0\x80\"",      // a surrogate, U+D800
      "\"\xF4\x90\x80\x80\"",  // above U+10FFFF
      "\"\xF5\x80\x80\x80\"",  // lead byte never used
      "\"\xFF\"",
  };
  for (const char* text : invalid) ExpectRejected(text, "invalid UTF-8");
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
}

TEST(IoJson, Numbers) {
  EXPECT_EQ(Parse("0").AsUint64(), 0u);
  EXPECT_EQ(Parse("123").AsUint64(), 123u);
  EXPECT_EQ(Parse("18446744073709551615").AsUint64(), UINT64_MAX);
  // Valid JSON numbers that are not non-negative 64-bit integers.
  for (const char* text :
       {"-0", "-1", "1.0", "1e3", "1E+3", "2e-1", "0.5", "-1.5e10",
        "18446744073709551616", "99999999999999999999999"}) {
    const JsonValue value = Parse(text);
    EXPECT_EQ(value.kind, Kind::kNumber) << text;
    EXPECT_EQ(value.text, text);
    EXPECT_FALSE(value.AsUint64().has_value()) << text;
  }
}

TEST(IoJson, MalformedNumbers) {
  ExpectRejected("01", "leading zero");
  ExpectRejected("-01", "leading zero");
  ExpectRejected("00", "leading zero");
  ExpectRejected("+1", "expected a JSON value");
  ExpectRejected(".5", "expected a JSON value");
  ExpectRejected("1.", "expected a digit after '.'");
  ExpectRejected("1e", "expected a digit in the exponent");
  ExpectRejected("1e+", "expected a digit in the exponent");
  ExpectRejected("-", "expected a digit");
  ExpectRejected("0x10", "unexpected text");
  ExpectRejected("NaN", "expected a JSON value");
  ExpectRejected("Infinity", "expected a JSON value");
}

TEST(IoJson, Whitespace) {
  EXPECT_EQ(Parse(" \t\r\n{ \"a\" :\n[ 1 , 2 ] }  \n\t ").kind, Kind::kObject);
  // The reference writer pads the header with spaces.
  EXPECT_EQ(Parse("{}" + std::string(7, ' ')).kind, Kind::kObject);
  ExpectRejected("{}\f", "unexpected text");
  ExpectRejected("{}\v", "unexpected text");
  ExpectRejected(std::string_view("{}\0", 3), "unexpected text");
  ExpectRejected("{}\xC2\xA0", "unexpected text");  // no-break space
  ExpectRejected("", "expected a JSON value");
  ExpectRejected("   ", "expected a JSON value");
}

TEST(IoJson, TrailingGarbageAndBrokenStructure) {
  ExpectRejected("{} {}", "unexpected text");
  ExpectRejected("{}}", "unexpected text");
  ExpectRejected("[1,]", "expected a JSON value");
  ExpectRejected(R"({"a":1,})", "expected a key string");
  ExpectRejected(R"({"a" 1})", "expected ':'");
  ExpectRejected(R"({"a":1 "b":2})", "expected '}'");
  ExpectRejected("[1 2]", "expected ']'");
  ExpectRejected("{1:2}", "expected a key string");
  ExpectRejected("{'a':1}", "expected a key string");
  ExpectRejected("[", "expected a JSON value, found the end");
  ExpectRejected("tru", "expected a JSON value");
  ExpectRejected("nul", "expected a JSON value");
  ExpectRejected("True", "expected a JSON value");
}

TEST(IoJson, DuplicateKeys) {
  ExpectRejected(R"({"a":1,"a":2})", "duplicated key \"a\"");
  ExpectRejected(R"({"a":1,"b":2,"c":3,"b":4})", "duplicated key \"b\"");
  ExpectRejected(R"({"x":{"k":1,"k":1}})", "duplicated key \"k\"");
  // The same key after decoding escapes is the same key.
  ExpectRejected(R"({"A":1,"\u0041":2})", "duplicated key \"A\"");
  // The same key in different objects is fine.
  EXPECT_EQ(Parse(R"({"a":{"a":1},"b":{"a":2}})").members.size(), 2u);
}

TEST(IoJson, NestingIsLimited) {
  const auto nested = [](int depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_EQ(Parse(nested(kMaxJsonDepth)).kind, Kind::kArray);
  ExpectRejected(nested(kMaxJsonDepth + 1), "nested deeper than 32 levels");
  // Far deeper than any stack would survive if the depth were not checked.
  ExpectRejected(std::string(1'000'000, '['), "nested deeper");
  std::string objects;
  for (int i = 0; i < 100'000; ++i) objects += R"({"a":)";
  ExpectRejected(objects, "nested deeper");
}

TEST(IoJson, ErrorNamesTheContextAndTheByte) {
  test::ExpectError([] { ParseJson(R"({"a":01})", "file.st: header"); },
                    {"file.st: header: byte 6: number with a leading zero"});
}

TEST(IoJson, Quoting) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), R"("a\"b\\c\u000a\u0001")");
  EXPECT_EQ(Parse(JsonQuote("tab\there \xC3\xA9")).text, "tab\there \xC3\xA9");
  const std::string x48(48, 'x');
  EXPECT_EQ(QuoteForMessage(x48 + "yy"), R"(")" + x48 + R"("...)");
  // The cut does not split a UTF-8 sequence.
  const std::string x47(47, 'x');
  EXPECT_EQ(QuoteForMessage(x47 + "\xC3\xA9\xC3\xA9"),
            R"(")" + x47 + R"("...)");
}

}  // namespace
}  // namespace elman::io
