#include "controlplane/evidence/envelope/envelope_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/crypto/gm_envelope.h"
#include "controlplane/evidence/crypto/hpke.h"
#include "controlplane/evidence/envelope/envelope.pb.h"

namespace xborder::evidence::envelope {
namespace {

absl::Status errnoStatus(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status fsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errnoStatus("cannot open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return errnoStatus("cannot fsync " + path);
  return absl::OkStatus();
}

// tmp + fsync + rename + fsync(dir): the envelope is durable before the record that
// commits to it is appended.
absl::Status writeDurable(const std::string& dir, const std::string& name, std::string_view data) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errnoStatus("cannot create " + tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return errnoStatus("cannot write " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return errnoStatus("cannot fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errnoStatus("cannot rename " + tmp);
  return fsyncPath(dir, O_RDONLY | O_DIRECTORY);
}

absl::Status ensureDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errnoStatus("cannot create " + dir);
  return absl::OkStatus();
}

void putBe(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  return names;
}

}  // namespace

bool validField(std::string_view field) {
  if (field.empty() || field.size() > 32) return false;
  for (char c : field) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

uint32_t recipientKeyId(const crypto::PublicKey& key) {
  Hash h = Hasher(HashAlg::kSha256).digest(key.raw());
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
}

std::string envelopeName(uint64_t index, std::string_view field) {
  return absl::StrCat("envelopes/", index, "-") + std::string(field) + ".env";
}

bool parseEnvelopeName(std::string_view name, uint64_t* index, std::string* field) {
  constexpr std::string_view kExt = ".env";
  if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return false;
  name.remove_suffix(kExt.size());
  size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 20) return false;
  uint64_t v = 0;
  for (char c : name.substr(0, dash)) {
    if (c < '0' || c > '9') return false;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return false;  // overflow
    v = next;
  }
  if (dash > 1 && name[0] == '0') return false;  // one spelling per index
  std::string_view f = name.substr(dash + 1);
  if (!validField(f)) return false;
  *index = v;
  *field = std::string(f);
  return true;
}

std::string commitment(HashAlg alg, std::string_view salt, std::span<const Snippet> snippets) {
  std::string msg;
  for (const auto& s : snippets) {
    putBe(msg, s.field.size(), 2);
    msg += s.field;
    putBe(msg, s.data.size(), 8);
    msg += s.data;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = alg == HashAlg::kSm3 ? EVP_sm3() : EVP_sha256();
  if (HMAC(md, salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(msg.data()),
           msg.size(), out, &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

absl::Status sealSnippets(const std::string& log_dir, const crypto::PublicKey& recipient, std::string_view origin,
                          HashAlg alg, uint64_t index, std::span<const Snippet> snippets,
                          evidence::v1::EvidenceRecord& record) {
  if (snippets.empty()) return absl::OkStatus();
  if (recipient.type() != crypto::KeyType::kX25519 && recipient.type() != crypto::KeyType::kSm2) {
    return absl::InvalidArgumentError("regulator key must be X25519 (HPKE) or SM2 (GM envelope)");
  }
  for (size_t i = 0; i < snippets.size(); ++i) {
    if (!validField(snippets[i].field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("sealed snippet field \"", snippets[i].field, "\" must match [a-z0-9_]{1,32}"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (snippets[j].field == snippets[i].field) {
        return absl::InvalidArgumentError(absl::StrCat("sealed snippet field \"", snippets[i].field, "\" repeated"));
      }
    }
  }
  if (!record.has_flow()) return absl::InvalidArgumentError("sealed snippets belong to FLOW records (a flow body)");
  auto& flow = *record.mutable_flow();
  std::string salt(kSaltSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  std::string mac = commitment(alg, salt, snippets);
  if (mac.empty()) return absl::InternalError("HMAC failed");
  std::string dir = log_dir + "/envelopes";
  if (auto s = ensureDir(dir); !s.ok()) return s;
  Hasher hasher(alg);
  uint32_t key_id = recipientKeyId(recipient);
  flow.clear_sealed_digests();
  for (const auto& s : snippets) {
    std::string aad = crypto::envelopeAad(origin, index, s.field, key_id);
    std::string plain = salt + s.data;
    auto env = recipient.type() == crypto::KeyType::kX25519 ? crypto::hpkeSealEnvelope(recipient, aad, plain)
                                                             : crypto::gmSeal(recipient, aad, plain);
    if (!env.ok()) return env.status();
    std::string name = envelopeName(index, s.field).substr(std::string_view("envelopes/").size());
    if (auto st = writeDurable(dir, name, *env); !st.ok()) return st;
    Hash h = hasher.digest(*env);
    flow.add_sealed_digests(std::string(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  flow.set_sample_commitment(mac);
  return absl::OkStatus();
}

absl::StatusOr<std::string> openEnvelope(const crypto::PrivateKey& recipient, std::string_view origin,
                                         uint64_t index, std::string_view field, std::string_view envelope) {
  std::string aad = crypto::envelopeAad(origin, index, field, recipientKeyId(recipient.publicKey()));
  std::string_view magic = envelope.substr(0, 4);
  absl::StatusOr<std::string> plain;
  if (magic == "EVHP") {
    if (recipient.type() != crypto::KeyType::kX25519) {
      return absl::InvalidArgumentError("an HPKE (EVHP) envelope needs an X25519 regulator key");
    }
    plain = crypto::hpkeOpenEnvelope(recipient, aad, envelope);
  } else if (magic == "EVGM") {
    if (recipient.type() != crypto::KeyType::kSm2) {
      return absl::InvalidArgumentError("a GM (EVGM) envelope needs an SM2 regulator key");
    }
    plain = crypto::gmOpen(recipient, aad, envelope);
  } else {
    return absl::InvalidArgumentError("not an envelope (magic is neither EVHP nor EVGM)");
  }
  if (!plain.ok()) return plain.status();
  if (plain->size() < kSaltSize) return absl::InvalidArgumentError("envelope plaintext shorter than its salt");
  return plain;
}

absl::StatusOr<size_t> removeOrphanEnvelopes(const std::string& log_dir, uint64_t committed_size) {
  std::string dir = log_dir + "/envelopes";
  size_t removed = 0;
  for (const auto& name : listDir(dir)) {
    uint64_t index = 0;
    std::string field;
    bool tmp = name.size() > 4 && name.substr(name.size() - 4) == ".tmp";
    if (!tmp && (!parseEnvelopeName(name, &index, &field) || index < committed_size)) continue;
    if (::unlink((dir + "/" + name).c_str()) != 0) return errnoStatus("cannot remove " + dir + "/" + name);
    ++removed;
  }
  if (removed > 0) {
    if (auto s = fsyncPath(dir, O_RDONLY | O_DIRECTORY); !s.ok()) return s;
  }
  return removed;
}

absl::StatusOr<std::map<std::string, std::string>> readEnvelopes(const std::string& log_dir, uint64_t from,
                                                                 uint64_t to) {
  std::map<std::string, std::string> out;
  std::string dir = log_dir + "/envelopes";
  for (const auto& name : listDir(dir)) {
    uint64_t index = 0;
    std::string field;
    if (!parseEnvelopeName(name, &index, &field) || index < from || index >= to) continue;
    std::string path = dir + "/" + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errnoStatus("cannot open " + path);
    std::string data;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return errnoStatus("cannot read " + path);
      }
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    out["envelopes/" + name] = std::move(data);
  }
  return out;
}

absl::StatusOr<SplitLine> splitSealedSnippets(std::string_view json) {
  SplitLine out;
  // A small scanner for the top-level members of one JSON object: it tracks strings
  // (with escapes) and nesting so that only a top-level "sealed_snippets" key matches.
  // The record itself is still parsed by protobuf's strict JSON parser afterwards.
  constexpr std::string_view kKey = "\"sealed_snippets\"";
  size_t i = json.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || json[i] != '{') return absl::InvalidArgumentError("expected a JSON object");
  int depth = 0;
  bool in_str = false;
  size_t member_start = std::string_view::npos;  // after the '{' or ',' that starts a top-level member
  size_t prev_sep = std::string_view::npos;      // that '{' or ','
  size_t key_member = std::string_view::npos, key_sep = std::string_view::npos, key_end = std::string_view::npos;
  for (; i < json.size(); ++i) {
    char c = json[i];
    if (in_str) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_str = false;
      }
      continue;
    }
    if (c == '"') {
      if (depth == 1 && member_start != std::string_view::npos &&
          json.substr(member_start).find_first_not_of(" \t\r\n") + member_start == i &&
          json.substr(i, kKey.size()) == kKey) {
        if (key_member != std::string_view::npos) return absl::InvalidArgumentError("sealed_snippets given twice");
        key_member = member_start;
        key_sep = prev_sep;
      }
      in_str = true;
    } else if (c == '{' || c == '[') {
      if (++depth == 1) {
        member_start = i + 1;
        prev_sep = i;
      }
    } else if (c == '}' || c == ']') {
      if (depth == 1 && key_member != std::string_view::npos && key_end == std::string_view::npos) key_end = i;
      if (--depth == 0) break;
    } else if (c == ',' && depth == 1) {
      if (key_member != std::string_view::npos && key_end == std::string_view::npos) key_end = i;
      member_start = i + 1;
      prev_sep = i;
    }
  }
  if (depth != 0 || in_str) return absl::InvalidArgumentError("unterminated JSON object");
  if (key_member == std::string_view::npos) {
    out.record_json = std::string(json);
    return out;
  }
  std::string_view member = json.substr(key_member, key_end - key_member);
  // Remove the member and one adjacent comma: the one before it, or if it came first
  // ('{' before it), the one after it.
  std::string rest;
  if (json[key_sep] == ',') {
    rest = std::string(json.substr(0, key_sep)) + std::string(json.substr(key_end));
  } else {
    size_t after = key_end;
    if (json[after] == ',') ++after;
    rest = std::string(json.substr(0, key_member)) + std::string(json.substr(after));
  }
  envelope::v1::SealedSnippets parsed;
  google::protobuf::util::JsonParseOptions jo;
  jo.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage("{" + std::string(member) + "}", &parsed, jo);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("sealed_snippets: ", std::string(st.message())));
  for (const auto& s : parsed.sealed_snippets()) out.snippets.push_back({s.field(), s.data_b64()});
  out.record_json = std::move(rest);
  return out;
}

}  // namespace xborder::evidence::envelope
