#include "controlplane/evidence/verify/verify_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

namespace xborder::evidence::verify {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kBlock = size_t{32} << 20;  // per mapping: huge pages, few mappings
constexpr size_t kAlign = 64;

}  // namespace

Arena::~Arena() {
  for (const Block& b : blocks_) {
    if (b.len > 0) {
      ::munmap(b.base, b.len);
    } else {
      ::operator delete(b.base, std::align_val_t(kAlign));
    }
  }
}

void* Arena::allocate(size_t bytes) {
  bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  std::lock_guard lock(mu_);
  if (static_cast<size_t>(end_ - next_) < bytes) {
    // A new mapping, 2 MiB aligned so that all of it can be huge pages.
    const size_t want = std::max(kBlock, (bytes + kHugePage - 1) / kHugePage * kHugePage);
    const size_t len = want + kHugePage;
    void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
      void* p = ::operator new(bytes, std::align_val_t(kAlign));  // throws only when memory is gone
      blocks_.push_back({p, 0});
      return p;
    }
    blocks_.push_back({m, len});
    const auto addr = reinterpret_cast<uintptr_t>(m);
    next_ = reinterpret_cast<char*>((addr + kHugePage - 1) / kHugePage * kHugePage);
    end_ = next_ + want;
    (void)::madvise(next_, want, MADV_HUGEPAGE);  // a hint: without THP, 4 KiB pages
  }
  void* p = next_;
  next_ += bytes;
  return p;
}

}  // namespace xborder::evidence::verify
