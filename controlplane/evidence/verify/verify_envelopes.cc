#include "controlplane/evidence/verify/verify_envelopes.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "controlplane/evidence/envelope/envelope_store.h"
#include "controlplane/evidence/record/record.pb.h"

namespace xborder::evidence::verify {
namespace {

constexpr uint32_t kStep = 8;
constexpr std::string_view kPrefix = "envelopes/";

v1::Check row(std::string id, v1::Status st, std::string location, std::string detail) {
  v1::Check c;
  c.set_step(kStep);
  c.set_id(std::move(id));
  c.set_status(st);
  c.set_location(std::move(location));
  c.set_detail(std::move(detail));
  return c;
}

struct Envelope {
  std::string path;
  std::string field;
  std::string_view data;
  std::string digest;  // raw
};

}  // namespace

std::vector<v1::Check> verifyEnvelopes(const EnvelopeInputs& in) {
  std::vector<v1::Check> out;
  Hasher hasher(in.hash);
  // Envelope files by record index.
  std::map<uint64_t, std::vector<Envelope>> by_index;
  for (auto it = in.files->lower_bound(std::string(kPrefix)); it != in.files->end() && it->first.starts_with(kPrefix);
       ++it) {
    uint64_t index = 0;
    std::string field;
    if (!envelope::parseEnvelopeName(std::string_view(it->first).substr(kPrefix.size()), &index, &field)) {
      out.push_back(row("envelopes.name", v1::FAIL, it->first, "not an <index>-<field>.env name"));
      continue;
    }
    Hash h = hasher.digest(it->second);
    by_index[index].push_back({it->first, field, it->second, std::string(reinterpret_cast<const char*>(h.data()), h.size())});
  }
  const uint64_t to = in.from + in.records.size();
  size_t matched = 0, opened = 0, committed_records = 0;
  bool bad = false;
  // Records to look at: those that commit to envelopes and those that have files.
  std::vector<uint64_t> positions;
  if (in.sealed != nullptr) {
    std::set<uint64_t> with_files;
    for (const auto& [index, e] : by_index) {
      if (index >= in.from && index < to) with_files.insert(index - in.from);
    }
    std::set_union(in.sealed->begin(), in.sealed->end(), with_files.begin(), with_files.end(),
                   std::back_inserter(positions));
  } else {
    positions.resize(in.records.size());
    for (uint64_t i = 0; i < positions.size(); ++i) positions[i] = i;
  }
  for (const uint64_t i : positions) {
    const uint64_t index = in.from + i;
    evidence::v1::EvidenceRecord rec;
    if (!rec.ParseFromArray(in.records[i].data(), static_cast<int>(in.records[i].size()))) continue;  // step 5 reported it
    const auto& digests = rec.flow().sealed_digests();
    auto found = by_index.find(index);
    std::vector<Envelope> files = found == by_index.end() ? std::vector<Envelope>{} : std::move(found->second);
    if (found != by_index.end()) by_index.erase(found);
    if (digests.empty() && files.empty()) continue;
    ++committed_records;
    // Each digest must have a file with that hash; each file must be one of the digests.
    std::vector<const Envelope*> in_order(digests.size(), nullptr);
    std::vector<const Envelope*> strays;
    for (const auto& e : files) {
      bool hit = false;
      for (int d = 0; d < digests.size(); ++d) {
        if (in_order[d] == nullptr && digests[d] == e.digest) {
          in_order[d] = &e;
          hit = true;
          break;
        }
      }
      if (!hit) strays.push_back(&e);
    }
    size_t missing = 0;
    for (const auto* e : in_order) missing += e == nullptr;
    for (const auto* e : strays) {
      bad = true;
      if (digests.empty()) {
        out.push_back(row("envelopes.uncommitted", v1::FAIL, e->path,
                          absl::StrCat("record ", index, " commits to no envelope")));
      } else {
        out.push_back(row("envelopes.digest", v1::FAIL, e->path,
                          absl::StrCat("hash differs from every sealed_digest of record ", index)));
      }
    }
    if (missing > strays.size()) {
      bad = true;
      out.push_back(row("envelopes.missing", v1::UNVERIFIABLE, absl::StrCat("record ", index),
                        absl::StrCat(missing - strays.size(), " of ", digests.size(),
                                     " sealed envelope(s) are not in the bundle")));
    }
    matched += digests.size() - missing;
    if (in.regulator_key == nullptr || missing > 0 || !strays.empty()) continue;
    // Open them, in digest order, and recompute the commitment.
    std::vector<envelope::Snippet> snippets;
    std::string salt;
    bool opened_all = true;
    for (const auto* e : in_order) {
      auto plain = envelope::openEnvelope(*in.regulator_key, in.origin, index, e->field, e->data);
      if (!plain.ok()) {
        bad = true;
        opened_all = false;
        out.push_back(row("envelopes.open", v1::FAIL, e->path,
                          absl::StrCat("does not open with the given regulator key (key id ",
                                       absl::Hex(envelope::recipientKeyId(in.regulator_key->publicKey()),
                                                 absl::kZeroPad8),
                                       "): wrong key, or the envelope is bound to another origin, record or field: ",
                                       plain.status().message())));
        continue;
      }
      ++opened;
      std::string this_salt = plain->substr(0, envelope::kSaltSize);
      if (!salt.empty() && salt != this_salt) {
        opened_all = false;
        bad = true;
        out.push_back(row("envelopes.commitment", v1::FAIL, e->path,
                          absl::StrCat("salt differs from the other envelopes of record ", index)));
      }
      salt = this_salt;
      snippets.push_back({e->field, plain->substr(envelope::kSaltSize)});
    }
    if (opened_all && envelope::commitment(in.hash, salt, snippets) != rec.flow().sample_commitment()) {
      bad = true;
      out.push_back(row("envelopes.commitment", v1::FAIL, absl::StrCat("record ", index),
                        "sample_commitment does not match HMAC(salt, snippets) of the opened envelopes"));
    }
  }
  // Files for records outside the range: nothing in the bundle commits to them.
  for (const auto& [index, files] : by_index) {
    for (const auto& e : files) {
      bad = true;
      out.push_back(row("envelopes.uncommitted", v1::FAIL, e.path,
                        absl::StrCat("record ", index, " is outside the bundle's range [", in.from, ", ", to, ")")));
    }
  }
  if (!bad) {
    out.push_back(row("envelopes.digests", v1::PASS, std::string(kPrefix),
                      absl::StrCat(matched, " envelope(s) of ", committed_records,
                                   " record(s) match their sealed_digests")));
  }
  if (in.regulator_key == nullptr) {
    out.push_back(row("envelopes.open", v1::SKIPPED, std::string(kPrefix), "not requested (no regulator key given)"));
  } else if (!bad) {
    out.push_back(row("envelopes.open", v1::PASS, std::string(kPrefix),
                      absl::StrCat(opened, " envelope(s) opened; AAD binding and sample_commitment match")));
  }
  return out;
}

}  // namespace xborder::evidence::verify
