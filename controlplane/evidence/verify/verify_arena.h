#pragma once
// Memory for the verifier's per-record arrays (record views, leaf hashes, times, flow
// ids: ~90 bytes per record, ~90 MB for a million records), taken from large anonymous
// mappings marked for transparent huge pages and released all at once with the arena.
// Why not malloc: its 4 KiB pages cost one page fault each on first touch, ~20,000 per
// million records, and a page fault costs several microseconds on a virtual machine;
// that was ~15% of xborder-verify's CPU (docs/benchmarks/evbundle.md). glibc can do
// the same (GLIBC_TUNABLES=glibc.malloc.hugetlb=1), but only when set before start.
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

namespace xborder::evidence::verify {

class Arena {
 public:
  Arena() = default;
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Thread-safe; aligned to 64 bytes; never returns null (falls back to operator new).
  void* allocate(size_t bytes);

 private:
  std::mutex mu_;
  char* next_ = nullptr;
  char* end_ = nullptr;
  struct Block {
    void* base;
    size_t len;  // 0: from operator new
  };
  std::vector<Block> blocks_;
};

// A std::allocator for containers whose memory lives as long as the arena; nothing is
// freed before (a vector that grows leaves its old buffer: reserve() first). Without
// an arena (null) it is std::allocator.
template <typename T>
class ArenaAllocator {
 public:
  using value_type = T;
  // A container assigned one with an arena takes that arena (FlowTally::useArena).
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  explicit ArenaAllocator(Arena* a) : arena_(a) {}
  template <typename U>
  ArenaAllocator(const ArenaAllocator<U>& o) : arena_(o.arena()) {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    return arena_ != nullptr ? static_cast<T*>(arena_->allocate(n * sizeof(T))) : std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    if (arena_ == nullptr) std::allocator<T>().deallocate(p, n);
  }
  Arena* arena() const { return arena_; }
  bool operator==(const ArenaAllocator& o) const { return arena_ == o.arena_; }

 private:
  Arena* arena_;
};

}  // namespace xborder::evidence::verify
