// xborder-dataplane-ctl: sends one command to a running xborder-dataplane over its
// control socket and prints the reply (docs/deployment.md section 13).
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane/app/app_control.h"

namespace {

constexpr const char* kUsage =
    "Usage: xborder-dataplane-ctl [--socket PATH] [--timeout MS] COMMAND\n"
    "\n"
    "Commands:\n"
    "  reload [FILE]   load a compiled ruleset (default: the configured one, as SIGHUP)\n"
    "                  and switch every worker to it; prints\n"
    "                  OK version <sha256> switch_ms <ms> workers <n>, or ERROR <reason>\n"
    "                  (the old ruleset stays active)\n"
    "  status          OK version <sha256> swaps <n> failed <n>\n"
    "\n"
    "--socket defaults to /run/xborder/dataplane.sock (control.socket); --timeout to\n"
    "10000 ms. Exit status: 0 OK, 1 the dataplane answered ERROR, 2 usage or no answer.\n";

int usage(const char* why) {
  std::fprintf(stderr, "xborder-dataplane-ctl: %s (try --help)\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = "/run/xborder/dataplane.sock";
  int timeout_ms = 10000;
  std::string command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--socket") {
      if (i + 1 >= argc) return usage("--socket needs a path");
      socket = argv[++i];
    } else if (a == "--timeout") {
      if (i + 1 >= argc) return usage("--timeout needs milliseconds");
      timeout_ms = std::atoi(argv[++i]);
      if (timeout_ms <= 0) return usage("--timeout needs a positive number of milliseconds");
    } else if (command.empty()) {
      if (a != "reload" && a != "status") return usage(("unknown command '" + a + "'").c_str());
      command = a;
    } else if (command == "reload" && command.find(' ') == std::string::npos) {
      if (a.find('\n') != std::string::npos) return usage("a file name cannot hold a newline");
      command += " " + a;
    } else {
      return usage(("unexpected argument '" + a + "'").c_str());
    }
  }
  if (command.empty()) return usage("no command");
  auto reply = xborder::dp::app::controlRequest(socket, command, timeout_ms);
  if (!reply.ok()) {
    std::fprintf(stderr, "xborder-dataplane-ctl: %s\n", std::string(reply.status().message()).c_str());
    return 2;
  }
  std::printf("%s\n", reply->c_str());
  return reply->rfind("OK", 0) == 0 ? 0 : 1;
}
