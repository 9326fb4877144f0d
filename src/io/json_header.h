// A small strict JSON reader (RFC 8259) for safetensors headers. It reads any
// JSON text into a tree, rejecting what the RFC leaves open: invalid UTF-8,
// lone surrogates in \u escapes, duplicated keys, trailing garbage (trailing
// whitespace is fine: writers pad the header with spaces). Nesting is limited
// to kMaxJsonDepth, so the recursion is bounded on any input, and the tree
// holds at most a constant factor more memory than the text it came from.
// Numbers are kept as their text; the header's integers are read from it
// only by the caller, who knows which tensor an integer belongs to.
#ifndef ELMAN_SRC_IO_JSON_HEADER_H_
#define ELMAN_SRC_IO_JSON_HEADER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elman::io {

// A header needs 3 levels (root, tensor entry, shape); the margin is for
// metadata written by other tools that we then reject with a clear message.
inline constexpr int kMaxJsonDepth = 32;

struct JsonMember;

struct JsonValue {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  // kString: the decoded UTF-8 text; kNumber: the number as written.
  std::string text;
  std::vector<JsonValue> elements;  // kArray
  // kObject, in order. A struct of its own, not std::pair: pair's
  // constraints need JsonValue complete, which clang (with libstdc++ 12)
  // enforces here and g++ does not.
  std::vector<JsonMember> members;

  // The value of an integer written with digits only that fits in 64 bits;
  // nullopt for anything else ("-1", "1.0", "1e3", "18446744073709551616").
  std::optional<uint64_t> AsUint64() const;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// Parses `text`, which must be one JSON value with optional surrounding
// whitespace. On error throws elman::Error "<context>: byte <n>: <problem>".
JsonValue ParseJson(std::string_view text, std::string_view context);

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` as a JSON string literal, quotes included: what the writer emits.
std::string JsonQuote(std::string_view text);

// `text` quoted for an error message: like JsonQuote, but cut after a few
// dozen bytes, so that a hostile name cannot flood the message.
std::string QuoteForMessage(std::string_view text);

}  // namespace elman::io

#endif  // ELMAN_SRC_IO_JSON_HEADER_H_
