#pragma once
// A streaming ustar writer for evidence bundles: the same bytes as writeTar
// (bundle_tar.h) for the same entries, but written as they come, so a multi-gigabyte
// records file never sits in memory. writeTar sorts its entries; a stream cannot, so
// TarWriter refuses any entry whose path is not after the previous one.
//
// Sinks: StringSink (tests, small bundles) and AtomicFileSink, which writes PATH.tmp,
// fsyncs, renames it to PATH and fsyncs the directory on commit(), and removes
// PATH.tmp if it is destroyed before that: an interrupted export leaves no partial
// bundle under the final name.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace xborder::evidence::bundle {

// Incremental SHA-256 or SM3 (OpenSSL EVP): digests of files too large to hold.
class StreamDigest {
 public:
  enum class Alg { kSha256, kSm3 };
  explicit StreamDigest(Alg alg);
  ~StreamDigest();
  StreamDigest(const StreamDigest&) = delete;
  StreamDigest& operator=(const StreamDigest&) = delete;

  void update(std::string_view bytes);
  std::string finish();  // 32 raw bytes; the digest then starts over

 private:
  Alg alg_;
  EVP_MD_CTX* ctx_ = nullptr;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status write(std::string_view bytes) = 0;
};

class StringSink : public ByteSink {
 public:
  absl::Status write(std::string_view bytes) override {
    out_.append(bytes);
    return absl::OkStatus();
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class AtomicFileSink : public ByteSink {
 public:
  // Creates (truncates) PATH.tmp with `mode`.
  static absl::StatusOr<std::unique_ptr<AtomicFileSink>> create(const std::string& path, int mode = 0644);
  ~AtomicFileSink() override;  // removes PATH.tmp unless committed
  AtomicFileSink(const AtomicFileSink&) = delete;
  AtomicFileSink& operator=(const AtomicFileSink&) = delete;

  // Buffered (1 MiB): a bundle is written in large sequential writes.
  absl::Status write(std::string_view bytes) override;
  // Flush, fsync, close, rename PATH.tmp -> PATH, fsync the directory.
  absl::Status commit();
  const std::string& tmpPath() const { return tmp_; }

 private:
  AtomicFileSink(std::string path, std::string tmp, int fd);
  absl::Status flush();

  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
  std::string buf_;
};

class TarWriter {
 public:
  explicit TarWriter(ByteSink& sink) : sink_(sink) {}

  absl::Status addDirectory(std::string_view path);
  absl::Status addFile(std::string_view path, std::string_view data);
  // A file written in pieces: its size goes into the header first, and endFile()
  // fails unless exactly that many bytes were appended.
  absl::Status beginFile(std::string_view path, uint64_t size);
  absl::Status append(std::string_view bytes);
  absl::Status endFile();
  // The end-of-archive marker (two zero blocks). Nothing may be added after it.
  absl::Status finish();

  uint64_t bytesWritten() const { return written_; }
  // SHA-256 of every byte written so far (raw 32 bytes); call after finish().
  std::string sha256() { return digest_.finish(); }

 private:
  absl::Status header(std::string_view path, char type, uint64_t size);
  absl::Status emit(std::string_view bytes);

  ByteSink& sink_;
  StreamDigest digest_{StreamDigest::Alg::kSha256};
  uint64_t written_ = 0;
  std::string last_path_;
  bool any_ = false;
  bool in_file_ = false;
  bool finished_ = false;
  uint64_t file_size_ = 0, file_done_ = 0;
};

}  // namespace xborder::evidence::bundle
