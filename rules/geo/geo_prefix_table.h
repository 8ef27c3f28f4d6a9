#pragma once
// Longest-prefix match as a sorted table of disjoint address ranges: build once on
// the control path, look up with one binary search and no allocation. rte_lpm/rte_fib
// would need EAL, and this table must also serve the compiler, tests and the dry run.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rules/geo/geo_ip.h"

namespace xborder::rules::geo {

class PrefixTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Values are caller-defined (e.g. a tenant index). When two identical prefixes are
  // added, the later one wins; callers that forbid duplicates check before adding.
  void add(const Cidr& cidr, uint32_t value) { pending_.push_back({cidr, value, seq_++}); }
  void build();
  uint32_t lookup(const IpAddress& ip) const { return ip.v6 ? find6(ip.v6addr) : find4(ip.v4); }
  size_t rangeCount() const { return lo4_.size() + lo6_.size(); }

 private:
  template <typename K>
  struct Range {
    K lo;
    K hi;
    uint32_t value;
  };
  struct Pending {
    Cidr cidr;
    uint32_t value;
    uint64_t seq;
  };

  // IPv4: a 16-bit index narrows the search to the ranges starting in the key's /16
  // (plus the one before, which may cover it); the starts live in their own array so
  // the binary search touches few cache lines.
  uint32_t find4(uint32_t key) const {
    if (lo4_.empty()) return kNone;
    const uint32_t b = key >> 16;
    const uint32_t* first = lo4_.data() + index4_[b];
    const uint32_t* last = lo4_.data() + index4_[b + 1];
    const uint32_t* it = std::upper_bound(first, last, key);
    if (it == lo4_.data()) return kNone;
    size_t i = static_cast<size_t>(it - lo4_.data()) - 1;
    return key <= end4_[i].hi ? end4_[i].value : kNone;
  }
  uint32_t find6(Uint128 key) const {
    auto it = std::upper_bound(lo6_.begin(), lo6_.end(), key);
    if (it == lo6_.begin()) return kNone;
    size_t i = static_cast<size_t>(it - lo6_.begin()) - 1;
    return key <= hi6_[i] ? val6_[i] : kNone;
  }
  template <typename K>
  static void buildFamily(std::vector<Pending>& in, bool v6, std::vector<Range<K>>& out);

  std::vector<Pending> pending_;
  uint64_t seq_ = 0;
  struct End4 {
    uint32_t hi;
    uint32_t value;
  };
  std::vector<uint32_t> lo4_;
  std::vector<End4> end4_;
  std::vector<uint32_t> index4_;  // 65537 entries: first range starting at or after b<<16
  std::vector<Uint128> lo6_, hi6_;
  std::vector<uint32_t> val6_;
};

}  // namespace xborder::rules::geo
