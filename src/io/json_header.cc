#include "src/io/json_header.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "elman/error.h"

namespace elman::io {
namespace {

bool IsJsonWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// The length of the well-formed UTF-8 sequence at text[pos] (Unicode's
// table 3-7), or 0 if there is none.
size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) {
    return pos + i < text.size() ? static_cast<uint8_t>(text[pos + i]) : 0;
  };
  const uint8_t lead = byte(0);
  const auto continuation = [&](size_t i, uint8_t low = 0x80,
                                uint8_t high = 0xBF) {
    return pos + i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  if (lead < 0x80) return pos < text.size() ? 1 : 0;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    // E0 must not be overlong, ED must not encode a surrogate.
    const uint8_t low = lead == 0xE0 ? 0xA0 : 0x80;
    const uint8_t high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    // F0 must not be overlong, F4 must stay at or below U+10FFFF.
    const uint8_t low = lead == 0xF0 ? 0x90 : 0x80;
    const uint8_t high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4
                                                                            : 0;
  }
  return 0;
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view context)
      : text_(text), context_(context) {}

  JsonValue ParseDocument() {
    SkipWhitespace();
    JsonValue root = ParseValue(1);
    SkipWhitespace();
    if (pos_ != text_.size()) Fail("unexpected text after the JSON value");
    return root;
  }

 private:
  [[noreturn]] void Fail(const std::string& problem) const {
    throw Error(std::string(context_) + ": byte " + std::to_string(pos_) +
                ": " + problem);
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  void SkipWhitespace() {
    while (!AtEnd() && IsJsonWhitespace(text_[pos_])) ++pos_;
  }

  void Expect(char c) {
    if (AtEnd() || text_[pos_] != c) {
      Fail(std::string("expected '") + c + "'" + Found());
    }
    ++pos_;
  }

  std::string Found() const {
    if (AtEnd()) return ", found the end of the header";
    const char c = text_[pos_];
    if (c >= 0x20 && c < 0x7F) return std::string(", found '") + c + "'";
    return ", found byte " + std::to_string(static_cast<uint8_t>(c));
  }

  JsonValue ParseValue(int depth) {
    JsonValue value;
    switch (Peek()) {
      case '{':
        ParseObject(depth, value);
        break;
      case '[':
        ParseArray(depth, value);
        break;
      case '"':
        value.kind = JsonValue::Kind::kString;
        value.text = ParseString();
        break;
      case 't':
      case 'f':
      case 'n':
        ParseLiteral(value);
        break;
      default:
        if (Peek() == '-' || IsDigit(Peek())) {
          value.kind = JsonValue::Kind::kNumber;
          value.text = ParseNumber();
        } else {
          Fail("expected a JSON value" + Found());
        }
    }
    return value;
  }

  void EnterContainer(int depth) {
    if (depth > kMaxJsonDepth) {
      Fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    ++pos_;  // past '{' or '['
    SkipWhitespace();
  }

  void ParseObject(int depth, JsonValue& value) {
    value.kind = JsonValue::Kind::kObject;
    EnterContainer(depth);
    if (Peek() == '}') {
      ++pos_;
      return;
    }
    while (true) {
      if (Peek() != '"') Fail("expected a key string" + Found());
      std::string key = ParseString();
      SkipWhitespace();
      Expect(':');
      SkipWhitespace();
      value.members.push_back({std::move(key), ParseValue(depth + 1)});
      SkipWhitespace();
      if (Peek() == ',') {
        ++pos_;
        SkipWhitespace();
        continue;
      }
      Expect('}');
      break;
    }
    RejectDuplicateKeys(value);
  }

  // Sorting pointers keeps this O(n log n) for objects with many keys, where
  // comparing every pair could be made to take hours.
  void RejectDuplicateKeys(const JsonValue& object) const {
    std::vector<const std::string*> keys;
    keys.reserve(object.members.size());
    for (const auto& member : object.members) keys.push_back(&member.key);
    std::sort(
        keys.begin(), keys.end(),
        [](const std::string* a, const std::string* b) { return *a < *b; });
    for (size_t i = 1; i < keys.size(); ++i) {
      if (*keys[i] == *keys[i - 1]) {
        Fail("duplicated key " + QuoteForMessage(*keys[i]));
      }
    }
  }

  void ParseArray(int depth, JsonValue& value) {
    value.kind = JsonValue::Kind::kArray;
    EnterContainer(depth);
    if (Peek() == ']') {
      ++pos_;
      return;
    }
    while (true) {
      value.elements.push_back(ParseValue(depth + 1));
      SkipWhitespace();
      if (Peek() == ',') {
        ++pos_;
        SkipWhitespace();
        continue;
      }
      Expect(']');
      return;
    }
  }

  void ParseLiteral(JsonValue& value) {
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("true")) {
      value.kind = JsonValue::Kind::kBool;
      value.boolean = true;
      pos_ += 4;
    } else if (rest.starts_with("false")) {
      value.kind = JsonValue::Kind::kBool;
      pos_ += 5;
    } else if (rest.starts_with("null")) {
      pos_ += 4;
    } else {
      Fail("expected a JSON value" + Found());
    }
  }

  // RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::string ParseNumber() {
    const size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
      if (IsDigit(Peek())) Fail("number with a leading zero");
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      Fail("expected a digit" + Found());
    }
    if (Peek() == '.') {
      ++pos_;
      if (!IsDigit(Peek())) Fail("expected a digit after '.'" + Found());
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) Fail("expected a digit in the exponent" + Found());
      while (IsDigit(Peek())) ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  uint32_t ParseHex4() {
    uint32_t code_unit = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = AtEnd() ? -1 : HexValue(text_[pos_]);
      if (digit < 0) Fail("expected 4 hex digits after \\u" + Found());
      code_unit = code_unit * 16 + static_cast<uint32_t>(digit);
      ++pos_;
    }
    return code_unit;
  }

  // After "\u": one code point, from a pair of escapes for a surrogate pair.
  uint32_t ParseUnicodeEscape() {
    const uint32_t first = ParseHex4();
    if (first >= 0xDC00 && first <= 0xDFFF) {
      Fail("\\u escape is a low surrogate without a high one");
    }
    if (first < 0xD800 || first > 0xDBFF) return first;
    if (!text_.substr(pos_).starts_with("\\u")) {
      Fail("\\u escape is a high surrogate without a low one");
    }
    pos_ += 2;
    const uint32_t second = ParseHex4();
    if (second < 0xDC00 || second > 0xDFFF) {
      Fail("\\u escape is a high surrogate without a low one");
    }
    return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
  }

  std::string ParseString() {
    ++pos_;  // past the opening quote
    std::string out;
    while (true) {
      if (AtEnd()) Fail("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<uint8_t>(c) < 0x20) {
        Fail("control character in a string (must be escaped)");
      }
      if (c != '\\') {
        const size_t length = Utf8SequenceLength(text_, pos_);
        if (length == 0) Fail("invalid UTF-8 in a string");
        out.append(text_.substr(pos_, length));
        pos_ += length;
        continue;
      }
      ++pos_;
      if (AtEnd()) Fail("unterminated string");
      const char escape = text_[pos_++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out += escape;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          AppendUtf8(ParseUnicodeEscape(), out);
          break;
        default:
          --pos_;
          Fail("invalid escape in a string" + Found());
      }
    }
  }

  std::string_view text_;
  std::string_view context_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<uint64_t> JsonValue::AsUint64() const {
  if (kind != Kind::kNumber || text.empty()) return std::nullopt;
  uint64_t result = 0;
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10) return std::nullopt;
    result = result * 10 + digit;
  }
  return result;
}

JsonValue ParseJson(std::string_view text, std::string_view context) {
  return Parser(text, context).ParseDocument();
}

bool IsValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = Utf8SequenceLength(text, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

std::string JsonQuote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string QuoteForMessage(std::string_view text) {
  constexpr size_t kMaxBytes = 48;
  if (text.size() <= kMaxBytes) return JsonQuote(text);
  size_t cut = kMaxBytes;
  // Back up to the start of a UTF-8 sequence, not into the middle of one.
  while (cut > 0 && (static_cast<uint8_t>(text[cut]) & 0xC0) == 0x80) --cut;
  return JsonQuote(text.substr(0, cut)) + "...";
}

}  // namespace elman::io
