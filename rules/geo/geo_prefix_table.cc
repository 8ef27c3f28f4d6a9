#include "rules/geo/geo_prefix_table.h"

namespace xborder::rules::geo {

namespace {
template <typename K>
K keyOf(const IpAddress& a);
template <>
uint32_t keyOf<uint32_t>(const IpAddress& a) { return a.v4; }
template <>
Uint128 keyOf<Uint128>(const IpAddress& a) { return a.v6addr; }
}  // namespace

template <typename K>
void PrefixTable::buildFamily(std::vector<Pending>& in, bool v6, std::vector<Range<K>>& out) {
  constexpr uint32_t kBits = sizeof(K) * 8;
  struct P {
    K lo, hi;
    uint32_t len, value;
    uint64_t seq;
  };
  std::vector<P> ps;
  for (const auto& p : in) {
    if (p.cidr.addr.v6 != v6) continue;
    K lo = keyOf<K>(p.cidr.addr);
    K span = p.cidr.length == 0 ? ~K{0} : ((K{1} << (kBits - p.cidr.length)) - 1);
    ps.push_back({lo, static_cast<K>(lo | span), p.cidr.length, p.value, p.seq});
  }
  // Wider prefixes first at the same start; for identical prefixes the later add wins.
  std::sort(ps.begin(), ps.end(), [](const P& a, const P& b) {
    if (a.lo != b.lo) return a.lo < b.lo;
    if (a.len != b.len) return a.len < b.len;
    return a.seq > b.seq;
  });
  ps.erase(std::unique(ps.begin(), ps.end(),
                       [](const P& a, const P& b) { return a.lo == b.lo && a.len == b.len; }),
           ps.end());
  // Prefixes nest or are disjoint, so a stack sweep yields disjoint ranges whose value
  // is the innermost (longest) enclosing prefix.
  std::vector<const P*> stack;
  K cur = 0;
  bool curValid = false;  // false once cur would pass the top of the address space
  auto emit = [&](K lo, K hi, uint32_t v) {
    if (lo > hi) return;
    if (!out.empty() && out.back().value == v && out.back().hi + 1 == lo && out.back().hi != ~K{0}) {
      out.back().hi = hi;
    } else {
      out.push_back({lo, hi, v});
    }
  };
  auto popUntil = [&](K nextStart, bool bounded) {
    while (!stack.empty() && (!bounded || stack.back()->hi < nextStart)) {
      const P* top = stack.back();
      if (curValid) emit(cur, top->hi, top->value);
      if (top->hi == ~K{0}) {
        curValid = false;
      } else {
        cur = top->hi + 1;
        curValid = true;
      }
      stack.pop_back();
    }
  };
  for (const auto& p : ps) {
    popUntil(p.lo, true);
    if (!stack.empty() && curValid && cur < p.lo) emit(cur, p.lo - 1, stack.back()->value);
    cur = p.lo;
    curValid = true;
    stack.push_back(&p);
  }
  popUntil(0, false);
}

void PrefixTable::build() {
  std::vector<Range<uint32_t>> v4;
  std::vector<Range<Uint128>> v6;
  buildFamily<uint32_t>(pending_, false, v4);
  buildFamily<Uint128>(pending_, true, v6);
  pending_.clear();
  pending_.shrink_to_fit();
  lo4_.clear(), end4_.clear(), lo6_.clear(), hi6_.clear(), val6_.clear();
  for (const auto& r : v4) lo4_.push_back(r.lo), end4_.push_back({r.hi, r.value});
  for (const auto& r : v6) lo6_.push_back(r.lo), hi6_.push_back(r.hi), val6_.push_back(r.value);
  index4_.assign(65537, 0);
  size_t i = 0;
  for (uint32_t b = 0; b <= 65536; ++b) {
    while (i < lo4_.size() && (lo4_[i] >> 16) < b) ++i;
    index4_[b] = static_cast<uint32_t>(i);
  }
}

}  // namespace xborder::rules::geo
