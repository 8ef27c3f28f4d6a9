#include "dataplane/flowlog/json_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/flowlog/flow_record.h"

namespace xborder::dp {
namespace {

TEST(JsonWriter, ObjectsArraysAndCommas) {
  JsonWriter w;
  w.reset();
  w.beginObject();
  w.kv("a", uint64_t{1});
  w.key("b");
  w.beginArray();
  w.number(2);
  w.string("x");
  w.boolean(false);
  w.beginObject();
  w.endObject();
  w.endArray();
  w.kv("c", "d");
  w.key("n");
  w.signedNumber(-42);
  w.endObject();
  EXPECT_EQ(w.finish(), R"({"a":1,"b":[2,"x",false,{}],"c":"d","n":-42})");
}

TEST(JsonWriter, EscapesControlQuotesAndBackslash) {
  JsonWriter w;
  w.reset();
  w.string(std::string_view("a\"b\\c\n\r\t\x01\x1f\x7f", 11));
  EXPECT_EQ(w.finish(), R"("a\"b\\c\n\r\t\u0001\u001f\u007f")");
}

TEST(JsonWriter, KeepsValidUtf8AndEscapesInvalidBytes) {
  JsonWriter w;
  w.reset();
  w.string("\xe4\xb8\xad\xe6\x96\x87");  // 中文
  EXPECT_EQ(w.finish(), "\"\xe4\xb8\xad\xe6\x96\x87\"");
  w.reset();
  w.string("\xff\xc3(\xe4\xb8");  // invalid lead, bad continuation, cut sequence
  EXPECT_EQ(w.finish(), R"("\u00ff\u00c3(\u00e4\u00b8")");
  w.reset();
  w.string("\xc0\xaf\xed\xa0\x80");  // overlong '/', UTF-16 surrogate
  EXPECT_EQ(w.finish(), R"("\u00c0\u00af\u00ed\u00a0\u0080")");
}

TEST(JsonWriter, OverflowIsMarkedAndStillClosed) {
  JsonWriter w;
  w.reset();
  w.beginObject();
  w.key("list");
  w.beginArray();
  const std::string big(1000, 'x');
  for (int i = 0; i < 100; ++i) w.string(big);
  const std::string_view out = w.finish();
  EXPECT_TRUE(w.truncated());
  EXPECT_LE(out.size(), JsonWriter::kCapacity);
  EXPECT_EQ(out.substr(out.size() - 2), "]}");
  w.reset();
  EXPECT_FALSE(w.truncated());
}

TEST(JsonWriter, EveTimeFormat) {
  char buf[32];
  EXPECT_EQ(formatEveTime(0, buf), "1970-01-01T00:00:00.000000+0000");
  // 2024-02-29T23:59:59.123456 UTC (a leap day).
  EXPECT_EQ(formatEveTime(1709251199123456789ull, buf), "2024-02-29T23:59:59.123456+0000");
}

}  // namespace
}  // namespace xborder::dp
