// Google Benchmark for the evidence crypto layer: checkpoint signing and opening
// (Ed25519, SM2), strict parsing, envelopes and TSA requests; SM3 of file bytes.
//   build/bin/ev_crypto_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "controlplane/evidence/crypto/checkpoint.h"
#include "controlplane/evidence/crypto/encoding.h"
#include "controlplane/evidence/crypto/gm_envelope.h"
#include "controlplane/evidence/crypto/hpke.h"
#include "controlplane/evidence/crypto/signed_note.h"
#include "controlplane/evidence/crypto/sm3_fast.h"
#include "controlplane/evidence/crypto/timestamp.h"

namespace xborder::evidence::crypto {
namespace {

const std::string kOrigin = "evidence.example/appliance-01";
const std::string kBody = kOrigin + "\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";

NoteSigner signer(KeyType t) { return *NoteSigner::create(kOrigin, *PrivateKey::generate(t)); }

void BM_SignCheckpoint(benchmark::State& state) {
  NoteSigner s = signer(static_cast<KeyType>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(signNote(kBody, {&s, 1}));
  state.SetLabel(std::string(keyTypeName(static_cast<KeyType>(state.range(0)))));
}
BENCHMARK(BM_SignCheckpoint)->Arg(static_cast<int>(KeyType::kEd25519))->Arg(static_cast<int>(KeyType::kSm2));

void BM_OpenCheckpoint(benchmark::State& state) {
  NoteSigner s = signer(static_cast<KeyType>(state.range(0)));
  const std::string note = *signNote(kBody, {&s, 1});
  std::vector<NoteVerifier> vs = {s.verifier()};
  for (auto _ : state) benchmark::DoNotOptimize(openCheckpoint(note, vs, kOrigin));
  state.SetLabel(std::string(keyTypeName(static_cast<KeyType>(state.range(0)))));
}
BENCHMARK(BM_OpenCheckpoint)->Arg(static_cast<int>(KeyType::kEd25519))->Arg(static_cast<int>(KeyType::kSm2));

void BM_ParseCheckpoint(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(parseCheckpoint(kBody));
}
BENCHMARK(BM_ParseCheckpoint);

void BM_HpkeSealOpen300(benchmark::State& state) {
  auto k = *PrivateKey::generate(KeyType::kX25519);
  const std::string aad = envelopeAad(kOrigin, 1, "payload", 1);
  const std::string pt(300, 'p');
  const bool open = state.range(0) != 0;
  const std::string env = *hpkeSealEnvelope(k.publicKey(), aad, pt);
  for (auto _ : state) {
    if (open) {
      benchmark::DoNotOptimize(hpkeOpenEnvelope(k, aad, env));
    } else {
      benchmark::DoNotOptimize(hpkeSealEnvelope(k.publicKey(), aad, pt));
    }
  }
  state.SetLabel(open ? "open" : "seal");
}
BENCHMARK(BM_HpkeSealOpen300)->Arg(0)->Arg(1);

void BM_GmSealOpen300(benchmark::State& state) {
  auto k = *PrivateKey::generate(KeyType::kSm2);
  const std::string aad = envelopeAad(kOrigin, 1, "payload", 1);
  const std::string pt(300, 'p');
  const bool open = state.range(0) != 0;
  const std::string env = *gmSeal(k.publicKey(), aad, pt);
  for (auto _ : state) {
    if (open) {
      benchmark::DoNotOptimize(gmOpen(k, aad, env));
    } else {
      benchmark::DoNotOptimize(gmSeal(k.publicKey(), aad, pt));
    }
  }
  state.SetLabel(open ? "open" : "seal");
}
BENCHMARK(BM_GmSealOpen300)->Arg(0)->Arg(1);

void BM_TsaRequest(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(tsaRequest(kBody));
}
BENCHMARK(BM_TsaRequest);

// SM3 of a 4 MiB buffer, as the verifier digests bundle files: OpenSSL's EVP_sm3
// (arg 0) against Sm3Fast (arg 1). Bytes/s is the figure.
void BM_Sm3File(benchmark::State& state) {
  std::string data(4 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  for (auto _ : state) {
    if (state.range(0) == 0) {
      EVP_Digest(data.data(), data.size(), out, &n, EVP_sm3(), nullptr);
      benchmark::DoNotOptimize(out);
    } else {
      benchmark::DoNotOptimize(Sm3Fast::digest(data));
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(data.size()));
  state.SetLabel(state.range(0) == 0 ? "openssl" : std::string("sm3_fast/") + sm3FastVariant());
}
BENCHMARK(BM_Sm3File)->Arg(0)->Arg(1);

}  // namespace
}  // namespace xborder::evidence::crypto


BENCHMARK_MAIN();
