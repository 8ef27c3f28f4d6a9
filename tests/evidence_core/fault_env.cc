#include "tests/evidence_core/fault_env.h"

#include <algorithm>

namespace xborder::evidence::testing {
namespace {

constexpr uint64_t kSector = 512;

std::string parentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

void applyOp(std::string& content, const FaultEnv* /*unused*/, uint64_t offset, std::string_view data) {
  if (content.size() < offset + data.size()) content.resize(offset + data.size(), '\0');
  std::copy(data.begin(), data.end(), content.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

class FaultFile : public File {
 public:
  FaultFile(FaultEnv* env, std::shared_ptr<FaultEnv::Inode> inode)
      : env_(env), inode_(std::move(inode)), epoch_(env->epoch_) {}

  absl::Status writeAt(uint64_t offset, std::string_view data) override {
    if (auto s = alive(); !s.ok()) return s;
    if (!env_->mutate()) return absl::OkStatus();
    std::string& live = inode_->live;
    const uint64_t grow = offset + data.size() > live.size() ? offset + data.size() - live.size() : 0;
    const uint64_t used = env_->usedBytes();
    bool full = false;
    if (grow > 0 && used + grow > env_->capacity_) {
      const uint64_t room = env_->capacity_ > used ? env_->capacity_ - used : 0;
      const uint64_t fits = (live.size() > offset ? live.size() - offset : 0) + room;
      data = data.substr(0, std::min<uint64_t>(fits, data.size()));
      full = true;
    }
    if (!data.empty()) {
      applyOp(live, env_, offset, data);
      inode_->pending.push_back({FaultEnv::Op::kWrite, offset, std::string(data), 0});
    }
    if (full) return absl::ResourceExhaustedError("write: No space left on device");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> readAt(uint64_t offset, size_t size) override {
    if (auto s = alive(); !s.ok()) return s;
    const std::string& live = inode_->live;
    if (offset >= live.size()) return std::string();
    return live.substr(offset, size);
  }

  absl::Status sync() override {
    if (auto s = alive(); !s.ok()) return s;
    if (env_->failSyncIn_ > 0 && --env_->failSyncIn_ == 0) {
      return absl::DataLossError("fdatasync: Input/output error");
    }
    if (!env_->mutate()) return absl::OkStatus();
    inode_->durable = inode_->live;
    inode_->pending.clear();
    return absl::OkStatus();
  }

  absl::Status truncate(uint64_t size) override {
    if (auto s = alive(); !s.ok()) return s;
    if (!env_->mutate()) return absl::OkStatus();
    inode_->live.resize(size, '\0');
    inode_->pending.push_back({FaultEnv::Op::kTruncate, 0, {}, size});
    return absl::OkStatus();
  }

  absl::Status allocate(uint64_t offset, uint64_t size) override {
    if (auto s = alive(); !s.ok()) return s;
    if (!env_->supportsAllocate_) return absl::UnimplementedError("fallocate: not supported");
    if (!env_->mutate()) return absl::OkStatus();
    if (offset + size > inode_->live.size()) {
      const uint64_t grow = offset + size - inode_->live.size();
      if (env_->usedBytes() + grow > env_->capacity_) {
        return absl::ResourceExhaustedError("fallocate: No space left on device");
      }
      inode_->live.resize(offset + size, '\0');
      inode_->pending.push_back({FaultEnv::Op::kTruncate, 0, {}, offset + size});
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> size() override {
    if (auto s = alive(); !s.ok()) return s;
    return inode_->live.size();
  }

 private:
  absl::Status alive() const {
    if (epoch_ != env_->epoch_) return absl::UnavailableError("handle from before a power cut");
    return absl::OkStatus();
  }
  FaultEnv* env_;
  std::shared_ptr<FaultEnv::Inode> inode_;
  uint64_t epoch_;
};

class FaultLock : public FileLock {
 public:
  FaultLock(FaultEnv* env, std::string path) : env_(env), path_(std::move(path)), epoch_(env->epoch_) {}
  ~FaultLock() override {
    if (epoch_ == env_->epoch_) env_->locks_.erase(path_);
  }

 private:
  FaultEnv* env_;
  std::string path_;
  uint64_t epoch_;
};

bool FaultEnv::mutate() {
  if (crashed_) return false;
  if (crashIn_ >= 0) {
    if (crashIn_ == 0) {
      crashed_ = true;
      return false;
    }
    --crashIn_;
  }
  return true;
}

uint64_t FaultEnv::usedBytes() const {
  uint64_t n = 0;
  std::set<const Inode*> seen;
  for (const auto& [p, inode] : live_) {
    if (seen.insert(inode.get()).second) n += inode->live.size();
  }
  return n;
}

void FaultEnv::logNs(NsOp op) { pendingNs_.push_back(std::move(op)); }

absl::StatusOr<std::unique_ptr<File>> FaultEnv::openFile(const std::string& path, bool create) {
  auto it = live_.find(path);
  if (it == live_.end()) {
    if (!create) return absl::NotFoundError("open " + path + ": No such file");
    if (!dirs_.count(parentOf(path))) return absl::NotFoundError("open " + path + ": no directory");
    auto inode = std::make_shared<Inode>();
    if (mutate()) {
      live_[path] = inode;
      logNs({NsOp::kLink, path, inode});
    }
    return std::unique_ptr<File>(new FaultFile(this, inode));
  }
  return std::unique_ptr<File>(new FaultFile(this, it->second));
}

absl::StatusOr<std::string> FaultEnv::readFile(const std::string& path) {
  auto it = live_.find(path);
  if (it == live_.end()) return absl::NotFoundError("read " + path + ": No such file");
  return it->second->live;
}

absl::StatusOr<std::vector<std::string>> FaultEnv::listDir(const std::string& dir) {
  if (!dirs_.count(dir)) return absl::NotFoundError("list " + dir);
  std::vector<std::string> out;
  for (const auto& [p, inode] : live_) {
    if (parentOf(p) == dir) out.push_back(p.substr(dir.size() + 1));
  }
  for (const auto& d : dirs_) {
    if (d != "/" && parentOf(d) == dir) out.push_back(d.substr(dir.size() + 1));
  }
  return out;
}

absl::Status FaultEnv::createDir(const std::string& dir) {
  if (!dirs_.count(parentOf(dir))) return absl::NotFoundError("mkdir " + dir);
  dirs_.insert(dir);
  return absl::OkStatus();
}

absl::Status FaultEnv::rename(const std::string& from, const std::string& to) {
  auto it = live_.find(from);
  if (it == live_.end()) return absl::NotFoundError("rename " + from);
  if (!mutate()) return absl::OkStatus();
  auto inode = it->second;
  live_.erase(it);
  live_[to] = inode;
  logNs({NsOp::kUnlink, from, nullptr});
  logNs({NsOp::kLink, to, inode});
  return absl::OkStatus();
}

absl::Status FaultEnv::remove(const std::string& path) {
  if (!live_.count(path)) return absl::OkStatus();
  if (!mutate()) return absl::OkStatus();
  live_.erase(path);
  logNs({NsOp::kUnlink, path, nullptr});
  return absl::OkStatus();
}

absl::Status FaultEnv::syncDir(const std::string& dir) {
  if (!mutate()) return absl::OkStatus();
  std::vector<NsOp> keep;
  for (auto& op : pendingNs_) {
    if (parentOf(op.path) != dir) {
      keep.push_back(std::move(op));
    } else if (op.kind == NsOp::kLink) {
      durable_[op.path] = op.inode;
    } else {
      durable_.erase(op.path);
    }
  }
  pendingNs_ = std::move(keep);
  return absl::OkStatus();
}

bool FaultEnv::exists(const std::string& path) { return live_.count(path) || dirs_.count(path); }

absl::StatusOr<std::unique_ptr<FileLock>> FaultEnv::lockFile(const std::string& path) {
  if (!locks_.insert(path).second) return absl::FailedPreconditionError(path + " is locked");
  return std::unique_ptr<FileLock>(new FaultLock(this, path));
}

void FaultEnv::powerCut(CutMode mode) {
  // Namespace: a random in-order prefix of the unsynced directory changes survives.
  std::map<std::string, std::shared_ptr<Inode>> ns = durable_;
  size_t keepNs = mode == CutMode::kKeepAll ? pendingNs_.size()
                  : mode == CutMode::kDropAll ? 0
                                              : rng_() % (pendingNs_.size() + 1);
  for (size_t i = 0; i < keepNs; ++i) {
    const auto& op = pendingNs_[i];
    if (op.kind == NsOp::kLink) {
      ns[op.path] = op.inode;
    } else {
      ns.erase(op.path);
    }
  }
  std::set<Inode*> done;
  for (auto& [path, inode] : ns) {
    if (!done.insert(inode.get()).second) continue;
    std::string result = inode->durable;
    auto& ops = inode->pending;
    switch (mode) {
      case CutMode::kDropAll:
        break;
      case CutMode::kKeepAll:
        result = inode->live;
        break;
      case CutMode::kTornByte:
      case CutMode::kTornSector: {
        const size_t keep = ops.empty() ? 0 : rng_() % (ops.size() + 1);
        for (size_t i = 0; i < keep && i < ops.size(); ++i) {
          const Op& op = ops[i];
          if (i + 1 == keep && op.kind == Op::kWrite && !op.data.empty()) {
            uint64_t len = rng_() % (op.data.size() + 1);
            if (mode == CutMode::kTornSector) {
              const uint64_t end = (op.offset + len) / kSector * kSector;
              len = end > op.offset ? end - op.offset : 0;
            }
            applyOp(result, this, op.offset, std::string_view(op.data).substr(0, len));
          } else if (op.kind == Op::kWrite) {
            applyOp(result, this, op.offset, op.data);
          } else {
            result.resize(op.size, '\0');
          }
        }
        break;
      }
      case CutMode::kSectorReorder: {
        // Sizes are metadata that fdatasync would persist; take the final one, then keep
        // each dirty sector or revert it to its old bytes, independently.
        result = inode->live;
        for (uint64_t s = 0; s < result.size(); s += kSector) {
          const uint64_t e = std::min<uint64_t>(s + kSector, result.size());
          std::string old(e - s, '\0');
          for (uint64_t i = s; i < e && i < inode->durable.size(); ++i) old[i - s] = inode->durable[i];
          if (result.compare(s, e - s, old) != 0 && (rng_() & 1)) {
            std::copy(old.begin(), old.end(), result.begin() + static_cast<std::ptrdiff_t>(s));
          }
        }
        break;
      }
    }
    inode->durable = result;
    inode->live = result;
    ops.clear();
  }
  live_ = ns;
  durable_ = ns;
  pendingNs_.clear();
  locks_.clear();
  crashed_ = false;
  crashIn_ = -1;
  failSyncIn_ = -1;
  ++epoch_;
}

std::string FaultEnv::contents(const std::string& path) const {
  auto it = live_.find(path);
  return it == live_.end() ? std::string() : it->second->live;
}

void FaultEnv::overwrite(const std::string& path, const std::string& data) {
  auto it = live_.find(path);
  if (it == live_.end()) return;
  it->second->live = data;
  it->second->durable = data;
  it->second->pending.clear();
}

}  // namespace xborder::evidence::testing
