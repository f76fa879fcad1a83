// herdctl: the command line for herd, kubectl-like. `herdctl --help` says
// what it does; herdctl_args.h, herdctl_run.h and herdctl_format.h hold the
// parts, this file only wires them to the process.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/herd_client.h"
#include "client/herdctl_args.h"
#include "client/herdctl_run.h"
#include "common/log/log.h"
#include "grpc/support/log.h"

#ifndef HERD_VERSION
#define HERD_VERSION "dev"
#endif

namespace {

// gRPC core writes its own errors (a failed TLS handshake, a refused
// connection) to stderr in its own format; herdctl already says what went
// wrong, so those lines are only for -v. GRPC_VERBOSITY, when set, still
// gets gRPC's own behaviour, for whoever is debugging gRPC itself.
void GrpcLogToDebug(gpr_log_func_args* args) {
  herd::log::Debug("grpc", {{"file", args->file}, {"line", args->line}, {"message", args->message}});
}

}  // namespace

int main(int argc, char** argv) {
  using herd::herdctl::kExitUsage;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << herd::herdctl::OverallHelp();
    return kExitUsage;
  }
  const char* env_namespace = std::getenv("HERD_NAMESPACE");
  absl::StatusOr<herd::herdctl::Command> cmd =
      herd::herdctl::ParseCommandLine(args, env_namespace != nullptr && *env_namespace != '\0' ? env_namespace : "default");
  if (!cmd.ok()) {
    std::cerr << "herdctl: " << cmd.status().message() << "\n";
    return kExitUsage;
  }
  if (cmd->action == herd::herdctl::Action::kHelp) {
    std::cout << (cmd->help_topic.empty() ? herd::herdctl::OverallHelp() : herd::herdctl::VerbHelp(cmd->help_topic));
    return herd::herdctl::kExitSuccess;
  }
  herd::log::SetLevel(cmd->global.verbose ? herd::log::Level::kDebug : herd::log::Level::kWarn);
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function(GrpcLogToDebug);

  herd::client::ConnectionOptions& conn = cmd->global.connection;
  conn.user_agent = absl::StrCat("herdctl/", HERD_VERSION);
  if (absl::Status s = herd::client::ResolveFromEnvironment(conn); !s.ok()) {
    std::cerr << "herdctl: " << s.message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<herd::client::HerdClient>> client = herd::client::HerdClient::Connect(conn);
  if (!client.ok()) {
    std::cerr << "herdctl: " << client.status().message() << "\n";
    return kExitUsage;
  }
  const herd::herdctl::Console console{std::cout, std::cerr, isatty(STDOUT_FILENO) != 0, isatty(STDERR_FILENO) != 0,
                                       [] { return absl::Now(); }};
  return herd::herdctl::RunCommand(*cmd, **client, console);
}
