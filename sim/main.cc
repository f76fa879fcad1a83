// kubesim: a simulated Kubernetes API server.
//
//   kubesim --listen=127.0.0.1:6443 --kubeconfig-out=/tmp/kubesim.kubeconfig --pod-start-delay=2s
//   KUBECONFIG=/tmp/kubesim.kubeconfig kubectl get nodes
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/flags/flags.h"
#include "common/log/log.h"
#include "sim/kubesim.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:6443", "Address to serve the API on (HOST:PORT; port 0 picks one)");
ABSL_FLAG(std::string, kubeconfig_out, "", "Write a kubeconfig for this server to FILE");
ABSL_FLAG(absl::Duration, pod_start_delay, absl::Seconds(2), "From a pod's binding to it running and Ready");
ABSL_FLAG(absl::Duration, kubelet_poll, absl::Milliseconds(250), "How often simulated nodes look at their pods");
ABSL_FLAG(absl::Duration, job_pod_run_time, absl::Seconds(1), "How long a Job's pod runs before it succeeds");
ABSL_FLAG(absl::Duration, crash_loop_backoff, absl::Seconds(10), "The first crash-loop back-off");
ABSL_FLAG(int, nodes, 3, "Number of simulated nodes");
ABSL_FLAG(int, pods_per_node, 110, "Pods each node can hold");
ABSL_FLAG(double, controller_qps, 20, "API rate of each controller (0: unlimited), as kube-controller-manager");
ABSL_FLAG(int, controller_burst, 30, "API burst of each controller");
ABSL_FLAG(absl::Duration, controller_latency, absl::Milliseconds(100),
          "How long controllers and the scheduler take to react to a change (watch and queue latency)");
ABSL_FLAG(double, scheduler_qps, 50, "API rate of the scheduler (0: unlimited)");
ABSL_FLAG(int, scheduler_burst, 100, "API burst of the scheduler");
ABSL_FLAG(std::string, token, "",
          "The admin's bearer token (user kubesim-admin, group system:masters), written into the kubeconfig; with "
          "--authorization=AlwaysAllow callers without a credential then get 401");
ABSL_FLAG(std::string, authorization, "AlwaysAllow",
          "AlwaysAllow (the default: every caller may do everything) or RBAC (Roles and bindings decide; anonymous "
          "callers are system:anonymous; implies --tls, as clients send tokens over HTTPS only; a random admin token "
          "goes into the kubeconfig when --token is not set)");
ABSL_FLAG(std::string, token_auth_file, "",
          "Static tokens, as kube-apiserver's --token-auth-file: one token,user,uid,\"group1,group2\" per line");
ABSL_FLAG(bool, tls, false, "Serve HTTPS with a certificate made at start");
ABSL_FLAG(int, watch_history, 10000, "Changes kept per resource type for watches that resume");
ABSL_FLAG(absl::Duration, bookmark_interval, absl::Seconds(60), "How often watches get bookmarks");
ABSL_FLAG(absl::Duration, latency, absl::ZeroDuration(), "Fault: added to every API request");
ABSL_FLAG(std::string, error_rate, "", "Fault: VERB=RATE,… fraction of requests that fail (verb * for all)");
ABSL_FLAG(int, error_code, 500, "Fault: the status injected errors carry (429, 500, 503, 504)");
ABSL_FLAG(std::string, throttle_rate, "",
          "Fault: VERB=RATE,… fraction of requests answered 429 with Retry-After, apart from --error-rate");
ABSL_FLAG(std::string, faults_user_agent, "",
          "Fault: inject only into requests whose User-Agent starts with this (e.g. herd/; default: all)");
ABSL_FLAG(absl::Duration, drop_watches_after, absl::ZeroDuration(), "Fault: end every watch after this long");
ABSL_FLAG(uint64_t, seed, 0, "Seed for names and fault sampling (0: random)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

int main(int argc, char** argv) {
  std::vector<std::string> args = herd::ParseFlags(
      argc, argv,
      "A simulated Kubernetes API server with controllers and nodes.\n"
      "  kubesim --listen=127.0.0.1:6443 --kubeconfig-out=FILE [--pod-start-delay=2s]\n"
      "  kubesim … --authorization=rbac [--token-auth-file=FILE]   authentication and RBAC as a real cluster\n"
      "Every caller may do everything unless --authorization=rbac.\n"
      "Flags may be written with dashes or underscores.");
  if (!args.empty()) {
    std::fprintf(stderr, "kubesim: unexpected argument \"%s\"\n", args[0].c_str());
    return 2;
  }
  herd::log::Level level;
  if (!herd::log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "kubesim: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  herd::log::SetLevel(level);

  herd::sim::SimulatorOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.kubeconfig_out = absl::GetFlag(FLAGS_kubeconfig_out);
  o.token = absl::GetFlag(FLAGS_token);
  std::string authz = absl::AsciiStrToLower(absl::GetFlag(FLAGS_authorization));
  if (authz == "rbac") {
    o.authorization = herd::sim::Authorization::kRbac;
    // Clients send bearer tokens over HTTPS only (kubectl refuses plain HTTP).
    o.tls = true;
  } else if (authz != "alwaysallow") {
    std::fprintf(stderr, "kubesim: --authorization must be AlwaysAllow or RBAC\n");
    return 2;
  }
  if (std::string file = absl::GetFlag(FLAGS_token_auth_file); !file.empty()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::fprintf(stderr, "kubesim: cannot read --token-auth-file %s\n", file.c_str());
      return 2;
    }
    auto tokens = herd::sim::ParseTokenFile(text.str());
    if (!tokens.ok()) {
      std::fprintf(stderr, "kubesim: %s: %s\n", file.c_str(), std::string(tokens.status().message()).c_str());
      return 2;
    }
    o.static_tokens = *std::move(tokens);
  }
  o.tls = o.tls || absl::GetFlag(FLAGS_tls);
  o.nodes = absl::GetFlag(FLAGS_nodes);
  o.pods_per_node = absl::GetFlag(FLAGS_pods_per_node);
  o.watch_history = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_watch_history)));
  o.bookmark_interval = absl::GetFlag(FLAGS_bookmark_interval);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.controllers.pod_start_delay = absl::GetFlag(FLAGS_pod_start_delay);
  o.controllers.kubelet_poll = absl::GetFlag(FLAGS_kubelet_poll);
  o.controllers.job_pod_run_time = absl::GetFlag(FLAGS_job_pod_run_time);
  o.controllers.crash_loop_backoff = absl::GetFlag(FLAGS_crash_loop_backoff);
  o.controllers.controller_qps = absl::GetFlag(FLAGS_controller_qps);
  o.controllers.controller_burst = absl::GetFlag(FLAGS_controller_burst);
  o.controllers.reaction_delay = absl::GetFlag(FLAGS_controller_latency);
  o.controllers.scheduler_qps = absl::GetFlag(FLAGS_scheduler_qps);
  o.controllers.scheduler_burst = absl::GetFlag(FLAGS_scheduler_burst);
  if (o.nodes < 0 || o.pods_per_node < 1 || o.controllers.pod_start_delay < absl::ZeroDuration() ||
      o.controllers.kubelet_poll <= absl::ZeroDuration()) {
    std::fprintf(stderr, "kubesim: --nodes must be >= 0, --pods-per-node >= 1, delays positive\n");
    return 2;
  }
  o.faults.latency = absl::GetFlag(FLAGS_latency);
  o.faults.error_code = absl::GetFlag(FLAGS_error_code);
  o.faults.drop_watches_after = absl::GetFlag(FLAGS_drop_watches_after);
  o.faults.user_agent = absl::GetFlag(FLAGS_faults_user_agent);
  for (const auto& [flag, rates] : {std::pair{"error-rate", &o.faults.error_rate},
                                    std::pair{"throttle-rate", &o.faults.throttle_rate}}) {
    const std::string value =
        rates == &o.faults.error_rate ? absl::GetFlag(FLAGS_error_rate) : absl::GetFlag(FLAGS_throttle_rate);
    for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
      std::vector<std::string> kv = absl::StrSplit(part, '=');
      double rate = 0;
      if (kv.size() != 2 || !absl::SimpleAtod(kv[1], &rate) || rate < 0 || rate > 1) {
        std::fprintf(stderr, "kubesim: --%s wants VERB=RATE pairs with RATE in [0,1], got \"%s\"\n", flag,
                     std::string(part).c_str());
        return 2;
      }
      (*rates)[kv[0]] = rate;
    }
  }

  // Block the signals before any thread starts, then wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto sim = herd::sim::Simulator::Start(o);
  if (!sim.ok()) {
    std::fprintf(stderr, "kubesim: %s\n", std::string(sim.status().message()).c_str());
    return 1;
  }
  herd::log::Info("kubesim serving", {{"url", (*sim)->url()},
                                      {"kubeconfig", o.kubeconfig_out},
                                      {"nodes", o.nodes},
                                      {"authorization", o.authorization == herd::sim::Authorization::kRbac
                                                            ? "RBAC"
                                                            : "AlwaysAllow (every caller may do everything)"},
                                      {"pod_start_delay", absl::FormatDuration(o.controllers.pod_start_delay)}});
  int sig = 0;
  sigwait(&signals, &sig);
  herd::log::Info("kubesim stopping", {{"signal", sig}});
  (*sim)->Stop();
  return 0;
}
