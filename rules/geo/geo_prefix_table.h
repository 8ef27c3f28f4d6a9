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
  uint32_t lookup(const IpAddress& ip) const {
    return ip.v6 ? find(v6_, ip.v6addr) : find(v4_, ip.v4);
  }
  size_t rangeCount() const { return v4_.size() + v6_.size(); }

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

  template <typename K>
  static uint32_t find(const std::vector<Range<K>>& t, K key) {
    auto it = std::upper_bound(t.begin(), t.end(), key,
                               [](K k, const Range<K>& r) { return k < r.lo; });
    if (it == t.begin()) return kNone;
    --it;
    return key <= it->hi ? it->value : kNone;
  }
  template <typename K>
  static void buildFamily(std::vector<Pending>& in, bool v6, std::vector<Range<K>>& out);

  std::vector<Pending> pending_;
  uint64_t seq_ = 0;
  std::vector<Range<uint32_t>> v4_;
  std::vector<Range<Uint128>> v6_;
};

}  // namespace xborder::rules::geo
