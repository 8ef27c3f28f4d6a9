#include "controlplane/evidence/tools/tools_log_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/store/store_checkpoint.h"

namespace xborder::evidence::tools {

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return absl::DataLossError(absl::StrCat("read error on ", path));
  return ss.str();
}

bool fileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::Status writeFileAtomic(const std::string& path, std::string_view data, int mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return absl::InternalError(absl::StrCat("cannot sync ", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename to ", path, ": ", std::strerror(errno)));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<LogKeys> loadKeys(const std::string& dir, const std::string& origin) {
  LogKeys keys;
  for (const char* name : {"keys/log-ed25519.pem", "keys/log-sm2.pem"}) {
    std::string path = absl::StrCat(dir, "/", name);
    if (!fileExists(path)) continue;
    auto key = crypto::PrivateKey::load(path);
    if (!key.ok()) return key.status();
    auto signer = crypto::NoteSigner::create(origin, *std::move(key));
    if (!signer.ok()) return signer.status();
    keys.verifiers.push_back(signer->verifier());
    keys.signers.push_back(*std::move(signer));
  }
  if (keys.signers.empty()) return absl::NotFoundError(absl::StrCat("no log key under ", dir, "/keys (run init)"));
  return keys;
}

absl::StatusOr<std::unique_ptr<Log>> openLog(const std::string& dir, LogKeys& keys) {
  auto text = readFile(dir + "/LOG");
  if (!text.ok()) return absl::NotFoundError(absl::StrCat(dir, " is not an evidence log (no LOG file)"));
  auto meta = parseLogMeta(*text);
  if (!meta.ok()) return meta.status();
  const std::string origin = meta->origin;
  auto k = loadKeys(dir, origin);
  if (!k.ok()) return k.status();
  keys = *std::move(k);
  LogOptions o;
  o.dir = dir;
  o.origin = origin;
  const auto* verifiers = &keys.verifiers;
  o.checkpoint_verifier = [verifiers](std::string_view note) -> absl::StatusOr<std::string> {
    auto opened = crypto::openNote(note, *verifiers);
    if (!opened.ok()) return opened.status();
    return opened->text;
  };
  return Log::open(o);
}

}  // namespace xborder::evidence::tools
