// libFuzzer target for the text parsers a regulator's verifier runs on untrusted
// bundle content: signed notes, checkpoint bodies, vkeys and the canonical base64
// decoder. Checks invariants, not just absence of crashes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/crypto/encoding.h"
#include "controlplane/evidence/crypto/signed_note.h"

using namespace xborder::evidence::crypto;  // NOLINT: fuzz harness

namespace {

const std::vector<NoteVerifier>& verifiers() {
  static const std::vector<NoteVerifier> v = [] {
    std::vector<NoteVerifier> out;
    for (const char* vk : {"evidence.example/appliance-01+6fc9267d+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                           "evidence.example/appliance-01+4170e8d6+/2NuLmV2aWRlbmNlL3NtMi1zbTMvdjEECfnfMR5UIaFQ3X0WHkvFxnI"
                           "Xn60YM/wHa7CP81bzUCDM6kkM4md1pS3G6nGMwapgCu0F+/NeCEpmMvYHLamtEw=="}) {
      out.push_back(*NoteVerifier::fromVkey(vk));
    }
    // A witness cosignature key (type 0x04), transparency-dev/formats test vkey.
    out.push_back(*NoteVerifier::fromVkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"));
    return out;
  }();
  return v;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto parsed = parseNote(in); parsed.ok()) {
    check(parsed->signatures.size() >= 1 && parsed->signatures.size() <= kMaxNoteSignatures);
    check(!parsed->text.empty() && parsed->text.back() == '\n');
    check(isValidUtf8(in));
  }
  if (auto opened = openNote(in, verifiers()); opened.ok()) {
    check(!opened->verified.empty());
    for (const NoteSignature& sig : opened->verified) {
      check(sig.cosignature_time.has_value() == (sig.name == "remora.n621.de"));
    }
  }
  if (auto cp = parseCheckpoint(in); cp.ok()) {
    // Strict parsing means exactly one text per checkpoint: formatting round-trips.
    auto body = formatCheckpoint(*cp);
    check(body.ok() && *body == in);
  }
  (void)openCheckpoint(in, verifiers(), "evidence.example/appliance-01");
  if (auto v = NoteVerifier::fromVkey(in); v.ok()) check(v->vkey() == in);
  if (auto b = base64DecodeStrict(in); b.has_value()) check(base64Encode(*b) == in);
  return 0;
}
