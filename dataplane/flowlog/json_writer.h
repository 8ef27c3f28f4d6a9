// A tiny JSON writer into a fixed buffer owned by the writer: no allocation, ever.
// Commas are inserted automatically; strings are escaped per RFC 8259 and bytes
// that are not valid UTF-8 are written as \u00XX (Latin-1), so the output is
// always valid JSON even for hostile SNI or URL bytes. If the buffer would
// overflow, the record is marked truncated and closed properly by finish().
//
// Why hand-rolled: the flow log runs on the worker thread once per flow; the JSON
// libraries in Debian (nlohmann, rapidjson's DOM) allocate per document.
#pragma once

#include <cstdint>
#include <string_view>

namespace xborder::dp {

class JsonWriter {
 public:
  static constexpr uint32_t kCapacity = 16384;
  static constexpr uint32_t kMaxDepth = 16;

  void reset() noexcept;
  void beginObject() noexcept { open('{'); }
  void endObject() noexcept { close('}'); }
  void beginArray() noexcept { open('['); }
  void endArray() noexcept { close(']'); }
  void key(std::string_view k) noexcept;
  void string(std::string_view v) noexcept;
  void number(uint64_t v) noexcept;
  void signedNumber(int64_t v) noexcept;
  void boolean(bool v) noexcept;
  void raw(std::string_view already_json) noexcept;  // a value the caller formatted

  // Convenience: key + value.
  void kv(std::string_view k, std::string_view v) noexcept { key(k), string(v); }
  void kv(std::string_view k, uint64_t v) noexcept { key(k), number(v); }
  void kvBool(std::string_view k, bool v) noexcept { key(k), boolean(v); }

  // Closes any open containers and returns the document.
  std::string_view finish() noexcept;
  bool truncated() const noexcept { return truncated_; }

 private:
  void open(char c) noexcept;
  void close(char c) noexcept;
  void separator() noexcept;
  void put(char c) noexcept;
  void put(std::string_view s) noexcept;
  void escaped(std::string_view s) noexcept;

  char buf_[kCapacity];
  uint32_t len_ = 0;
  uint32_t depth_ = 0;
  bool first_[kMaxDepth + 1] = {true};
  char closer_[kMaxDepth + 1] = {};
  bool after_key_ = false;
  bool truncated_ = false;
};

}  // namespace xborder::dp
