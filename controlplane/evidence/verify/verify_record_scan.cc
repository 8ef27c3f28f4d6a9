#include "controlplane/evidence/verify/verify_record_scan.h"

#include <array>
#include <cstring>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "controlplane/evidence/record/record_check.h"

namespace xborder::evidence::verify {
namespace {

namespace pb = google::protobuf;

// Wire handling of one known field. Anything the tables do not describe (repeated
// scalars, groups, maps, messages below the body) is left kNone: "not sure".
enum class Kind : uint8_t { kNone, kVarint, kFixed64, kFixed32, kBytes, kString, kRepeatedBytes, kRepeatedString, kMessage };

// Fields whose values the record pass reads.
enum Slot : uint8_t { kNoSlot, kFormat, kIndex, kOrigin, kObserved, kType, kTenant, kDst, kCategory, kDecision, kSealed, kFlowId, kFinal };

constexpr int kMaxField = 64;  // field numbers the tables cover (a seen-bitmask per message)

struct Rule {
  Kind kind = Kind::kNone;
  Slot slot = kNoSlot;
  bool in_oneof = false;
  int8_t sub = -1;  // tables_ index for kMessage
};

struct Table {
  std::array<Rule, kMaxField> rules;
};

struct Tables {
  bool usable = false;
  std::vector<Table> tables;  // [0] = EvidenceRecord, then one per body message
};

Kind kindOf(const pb::FieldDescriptor* f) {
  using FD = pb::FieldDescriptor;
  if (f->is_map()) return Kind::kNone;
  if (f->is_repeated()) {
    if (f->type() == FD::TYPE_BYTES) return Kind::kRepeatedBytes;
    if (f->type() == FD::TYPE_STRING) return Kind::kRepeatedString;
    return Kind::kNone;  // packed and unpacked forms both parse: leave them to protobuf
  }
  switch (f->type()) {
    case FD::TYPE_INT32: case FD::TYPE_INT64: case FD::TYPE_UINT32: case FD::TYPE_UINT64:
    case FD::TYPE_SINT32: case FD::TYPE_SINT64: case FD::TYPE_BOOL: case FD::TYPE_ENUM:
      return Kind::kVarint;
    case FD::TYPE_FIXED64: case FD::TYPE_SFIXED64: case FD::TYPE_DOUBLE:
      return Kind::kFixed64;
    case FD::TYPE_FIXED32: case FD::TYPE_SFIXED32: case FD::TYPE_FLOAT:
      return Kind::kFixed32;
    case FD::TYPE_BYTES: return Kind::kBytes;
    case FD::TYPE_STRING:
      // proto3 strings are UTF-8 checked on parse; proto2 ones are not: leave those alone.
      return f->file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3 ? Kind::kString : Kind::kNone;
    case FD::TYPE_MESSAGE: return Kind::kMessage;
    default: return Kind::kNone;
  }
}

// depth 0: the record; depth 1: a body message (flat by design; deeper is "not sure").
int addTable(Tables& t, const pb::Descriptor* d, int depth) {
  const int me = static_cast<int>(t.tables.size());
  t.tables.emplace_back();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->number() <= 0 || f->number() >= kMaxField) continue;
    Rule r;
    r.kind = kindOf(f);
    r.in_oneof = f->real_containing_oneof() != nullptr;
    if (r.kind == Kind::kMessage) {
      if (depth > 0) {
        r.kind = Kind::kNone;
      } else {
        r.sub = static_cast<int8_t>(addTable(t, f->message_type(), depth + 1));
      }
    }
    t.tables[me].rules[f->number()] = r;
  }
  return me;
}

bool setSlot(Tables& t, int table, const pb::Descriptor* d, const char* name, Slot slot, Kind want) {
  const pb::FieldDescriptor* f = d->FindFieldByName(name);
  if (f == nullptr || f->number() >= kMaxField) return false;
  Rule& r = t.tables[table].rules[f->number()];
  if (r.kind != want) return false;
  r.slot = slot;
  return true;
}

const Tables& tables() {
  static const Tables* t = [] {
    auto* out = new Tables;
    const pb::Descriptor* rec = evidence::v1::EvidenceRecord::descriptor();
    addTable(*out, rec, 0);
    const pb::FieldDescriptor* flow = rec->FindFieldByName("flow");
    bool ok = flow != nullptr && flow->number() < kMaxField;
    int flow_table = ok ? out->tables[0].rules[flow->number()].sub : -1;
    ok = ok && flow_table > 0 && setSlot(*out, 0, rec, "format_version", kFormat, Kind::kVarint) &&
         setSlot(*out, 0, rec, "index", kIndex, Kind::kVarint) &&
         setSlot(*out, 0, rec, "origin", kOrigin, Kind::kString) &&
         setSlot(*out, 0, rec, "observed_unix_nanos", kObserved, Kind::kVarint) &&
         setSlot(*out, 0, rec, "type", kType, Kind::kVarint) &&
         setSlot(*out, 0, rec, "tenant", kTenant, Kind::kString);
    if (ok) {
      const pb::Descriptor* fd = flow->message_type();
      ok = setSlot(*out, flow_table, fd, "dst_country", kDst, Kind::kString) &&
           setSlot(*out, flow_table, fd, "data_category", kCategory, Kind::kString) &&
           setSlot(*out, flow_table, fd, "policy_decision", kDecision, Kind::kString) &&
           setSlot(*out, flow_table, fd, "sealed_digests", kSealed, Kind::kRepeatedBytes) &&
           setSlot(*out, flow_table, fd, "flow_id", kFlowId, Kind::kBytes) &&
           setSlot(*out, flow_table, fd, "final", kFinal, Kind::kVarint);
    }
    out->usable = ok;
    return out;
  }();
  return *t;
}

// Varints as protobuf reads them: at most 10 bytes. A 10th byte above 1 is left to
// protobuf (it does not fit 64 bits).
inline bool readVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  if (p != end && *p < 0x80) {  // tags, lengths and small values: one byte
    *v = *p++;
    return true;
  }
  uint64_t x = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p == end) return false;
    const uint8_t b = *p++;
    if (shift == 63 && b > 1) return false;
    x |= uint64_t{static_cast<uint8_t>(b & 0x7f)} << shift;
    if ((b & 0x80) == 0) {
      *v = x;
      return true;
    }
  }
  return false;
}

struct Scan {
  RecordFacts* out;
  uint64_t format = 0;
};

// Walks one message; false = not sure.
bool walk(const Tables& t, int table, const uint8_t* p, const uint8_t* end, Scan& s) {
  uint64_t seen = 0;
  bool oneof_seen = false;
  while (p < end) {
    uint64_t tag;
    if (!readVarint(p, end, &tag) || tag > 0xffffffffu) return false;
    const uint64_t field = tag >> 3;
    const uint32_t wire = static_cast<uint32_t>(tag & 7);
    if (field == 0 || field >= static_cast<uint64_t>(kMaxField)) return false;
    const Rule& r = t.tables[table].rules[field];
    const bool repeated = r.kind == Kind::kRepeatedBytes || r.kind == Kind::kRepeatedString;
    if (r.kind == Kind::kNone) return false;  // unknown (newer format) or not handled here
    if (!repeated) {
      if ((seen >> field) & 1) return false;  // protobuf keeps the last or merges: leave it
      seen |= uint64_t{1} << field;
    }
    if (r.in_oneof) {
      if (oneof_seen) return false;
      oneof_seen = true;
    }
    switch (r.kind) {
      case Kind::kVarint: {
        if (wire != 0) return false;
        uint64_t v;
        if (!readVarint(p, end, &v)) return false;
        switch (r.slot) {
          case kFormat: s.format = v; break;
          case kIndex: s.out->index = v; break;
          case kObserved: s.out->observed_unix_nanos = static_cast<int64_t>(v); break;
          case kType:
            if (v > 0x7fffffffu) return false;  // negative or truncated enum: protobuf decides
            s.out->type = static_cast<int32_t>(v);
            break;
          case kFinal: s.out->final = v != 0; break;  // protobuf reads any non-zero varint as true
          default: break;
        }
        break;
      }
      case Kind::kFixed64:
        if (wire != 1 || end - p < 8) return false;
        p += 8;
        break;
      case Kind::kFixed32:
        if (wire != 5 || end - p < 4) return false;
        p += 4;
        break;
      case Kind::kBytes: case Kind::kString: case Kind::kRepeatedBytes: case Kind::kRepeatedString:
      case Kind::kMessage: {
        if (wire != 2) return false;
        uint64_t len;
        if (!readVarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) return false;
        const uint8_t* v = p;
        p += len;
        std::string_view sv(reinterpret_cast<const char*>(v), len);
        if (r.kind == Kind::kString || r.kind == Kind::kRepeatedString) {
          if (!isValidUtf8(sv)) return false;
        }
        if (r.kind == Kind::kMessage) {
          s.out->body = static_cast<uint32_t>(field);
          if (!walk(t, r.sub, v, v + len, s)) return false;
          break;
        }
        switch (r.slot) {
          case kOrigin: s.out->origin = sv; break;
          case kTenant: s.out->tenant = sv; break;
          case kDst: s.out->dst_country = sv; break;
          case kCategory: s.out->data_category = sv; break;
          case kDecision: s.out->policy_decision = sv; break;
          case kSealed: s.out->sealed = true; break;
          case kFlowId: s.out->flow_id = sv; break;
          default: break;
        }
        break;
      }
      case Kind::kNone: return false;
    }
  }
  return p == end;
}

}  // namespace

bool isValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t* end = p + s.size();
  while (p < end) {
    // Eight ASCII bytes at a time: the common case in records.
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    const uint8_t c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // Unicode Table 3-7: the well-formed byte sequences.
    int n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xbf) return false;
    }
    p += n + 1;
  }
  return true;
}

bool scanRecordFast(std::string_view bytes, uint64_t expect_index, std::string_view expect_origin,
                    RecordFacts* out) {
  const Tables& t = tables();
  if (!t.usable) return false;
  *out = RecordFacts();
  Scan s{out};
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (!walk(t, 0, p, p + bytes.size(), s)) return false;
  return s.format == kRecordFormatVersion && out->index == expect_index && out->origin == expect_origin;
}

RecordFacts factsOf(const evidence::v1::EvidenceRecord& r) {
  RecordFacts f;
  f.index = r.index();
  f.observed_unix_nanos = r.observed_unix_nanos();
  f.type = static_cast<int32_t>(r.type());
  f.body = static_cast<uint32_t>(r.body_case());
  f.origin = r.origin();
  f.tenant = r.tenant();
  if (r.has_flow()) {
    f.dst_country = r.flow().dst_country();
    f.data_category = r.flow().data_category();
    f.policy_decision = r.flow().policy_decision();
    f.sealed = r.flow().sealed_digests_size() > 0;
    f.final = r.flow().final();
    f.flow_id = r.flow().flow_id();
  }
  return f;
}

}  // namespace xborder::evidence::verify
