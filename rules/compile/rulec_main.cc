// xborder-rulec: compiles a negative list (YAML) into the ruleset the dataplane loads.
// Exit codes (docs/negative-list.md): 0 ok, 1 the list has problems (one line each on
// stderr as file:line:col: message), 2 bad command line, 3 output could not be written.

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "rules/compile/compile_ruleset.h"
#include "rules/lang/list_loader.h"

namespace {

constexpr const char* kUsage =
    "usage: xborder-rulec LIST.yaml (-o RULESET.pb | --check) [--print-hash] [--geo FILE] [--as-of DATE]\n"
    "\n"
    "Checks a negative list and compiles it into one ruleset artifact (protobuf).\n"
    "Every problem is printed as one line, file:line:col: message; a valid list prints nothing.\n"
    "\n"
    "  -o FILE        write the compiled ruleset to FILE\n"
    "  --check        check (and compile in memory) only; write nothing\n"
    "  --print-hash   print the SHA-256 of the ruleset bytes (the version hash evidence cites)\n"
    "  --geo FILE     prefix-to-country CSV to use instead of the list's geo_table\n"
    "  --as-of DATE   report filings that expired before DATE (YYYY-MM-DD; default: effective_date)\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit codes: 0 ok, 1 the list has problems, 2 bad command line, 3 cannot write the output.\n";

int usageError(const std::string& why) {
  std::fprintf(stderr, "xborder-rulec: %s (try --help)\n", why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xborder::rules;
  std::string input, output;
  bool check = false, printHash = false;
  lang::LoadOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-o") {
      const char* v = value("-o");
      if (!v) return usageError("-o needs a file name");
      output = v;
    } else if (a == "--check") {
      check = true;
    } else if (a == "--print-hash") {
      printHash = true;
    } else if (a == "--geo") {
      const char* v = value("--geo");
      if (!v) return usageError("--geo needs a file name");
      opts.geoOverride = v;
    } else if (a == "--as-of") {
      const char* v = value("--as-of");
      if (!v) return usageError("--as-of needs a date");
      auto d = lang::parseDate(v);
      if (!d) return usageError(std::string("--as-of \"") + v + "\" is not a date (YYYY-MM-DD)");
      opts.asOf = d;
    } else if (!a.empty() && a[0] == '-') {
      return usageError("unknown option " + a);
    } else if (input.empty()) {
      input = a;
    } else {
      return usageError("more than one list given");
    }
  }
  if (input.empty()) return usageError("no list given");
  if (output.empty() && !check) return usageError("give -o RULESET.pb or --check");

  lang::LoadResult loaded = lang::loadListFile(input, opts);
  if (!loaded.ok()) {
    std::fputs(loaded.formatAll().c_str(), stderr);
    return 1;
  }
  auto ruleset = compile::compileList(*loaded.list);
  if (!ruleset.ok()) {
    std::fprintf(stderr, "%s:0:0: %s\n", input.c_str(), std::string(ruleset.status().message()).c_str());
    return 1;
  }
  std::string bytes = compile::serializeDeterministic(*ruleset);
  if (!output.empty() && !check) {
    std::string tmp = output + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out || std::rename(tmp.c_str(), output.c_str()) != 0) {
      std::fprintf(stderr, "xborder-rulec: cannot write %s: %s\n", output.c_str(), std::strerror(errno));
      std::remove(tmp.c_str());
      return 3;
    }
  }
  if (printHash) std::printf("%s\n", compile::sha256Hex(bytes).c_str());
  return 0;
}
