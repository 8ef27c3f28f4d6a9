// Runs a libFuzzer target's entry point over files (or every file in folders) given
// on the command line. The gcc build uses this so fuzz targets stay compiled and
// their seed corpora keep passing as ordinary tests; clang builds use libFuzzer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int runFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return 1;
  }
  std::vector<uint8_t> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(buf.data(), buf.size());
  return 0;
}

int main(int argc, char** argv) {
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) {
          if (runFile(e.path()) != 0) return 1;
          ++files;
        }
      }
    } else {
      if (runFile(p) != 0) return 1;
      ++files;
    }
  }
  std::printf("replay: %d inputs ran without a crash\n", files);
  return files > 0 ? 0 : 1;
}
