// herdd: the herd service.
//
//   herdd --sim                                   a simulated cluster, demo workloads
//   herdd --kubeconfig=FILE --tokens-file=FILE     a real cluster
//   herdd --tokens-file=FILE                       in a pod (in-cluster config)
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

// mallopt belongs to glibc's allocator: not with a sanitizer's own (tested
// after a glibc header, which defines __GLIBC__).
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define HERD_MALLOPT 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#undef HERD_MALLOPT
#endif
#endif
#ifdef HERD_MALLOPT
#include <malloc.h>
#endif

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/flags/flags.h"
#include "common/log/log.h"
#include "server/herdd/app.h"
#include "server/herdd/crash_point.h"

ABSL_FLAG(bool, sim, false, "Run against an in-process simulated cluster (kubesim) with demo workloads");
ABSL_FLAG(std::string, kubeconfig, "", "Kubeconfig file of the cluster (default: $KUBECONFIG, ~/.kube/config)");
ABSL_FLAG(std::string, context, "", "Kubeconfig context (default: the current one)");
ABSL_FLAG(bool, in_cluster, false, "Use the pod's service account (the default when KUBERNETES_SERVICE_HOST is set)");
ABSL_FLAG(std::string, in_cluster_root, "",
          "Testing: a directory standing for / when reading the service account's token, ca.crt and namespace");
ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:50051", "gRPC address (HOST:PORT)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080", "HTTP address for REST (/v1/…, /openapi.json), /metrics, /healthz, /readyz");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate for the gRPC port (TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM key for the gRPC port");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM CA: require client certificates it signed (mTLS)");
ABSL_FLAG(std::string, tokens_file, "", "Principals, tokens and rules (YAML); re-read when it changes");
ABSL_FLAG(bool, insecure_no_auth, false, "Accept every caller as 'anonymous' with every right (warns)");
ABSL_FLAG(std::string, slack_signing_secret_file, "",
          "The Slack app's signing secret: serve the /herd command and herd's buttons at /slack/commands and "
          "/slack/interactions on the HTTP port");
ABSL_FLAG(std::string, slack_bot_token_file, "",
          "The Slack app's bot token (xoxb-…): one message per operation, updated as it runs");
ABSL_FLAG(bool, dashboard, true, "Serve the web dashboard at / of the HTTP port");
ABSL_FLAG(std::string, slack_api_url, "https://slack.com/api", "Slack's Web API (tests point it at a fake)");
ABSL_FLAG(std::string, notifications_file, "",
          "Slack incoming webhooks and CloudEvents webhooks told when operations end, by namespace, kind and "
          "outcome (YAML); re-read when it changes");
ABSL_FLAG(bool, impersonate, false,
          "Write to Kubernetes as each operation's caller (Impersonate-User: the principal, Impersonate-Group: its "
          "groups from --tokens-file): the cluster's RBAC decides and its audit log names the caller; herd's own "
          "account needs the impersonate verb on users and groups");
ABSL_FLAG(std::string, protected_namespaces, "kube-system,kube-public,kube-node-lease",
          "Comma-separated namespace globs no mutation may touch");
ABSL_FLAG(std::string, namespaces, "",
          "Comma-separated namespaces herdd caches, reads and acts in (default: the whole cluster)");
ABSL_FLAG(std::string, namespace, "herd-system", "Namespace for herd's operation records and locks");
ABSL_FLAG(std::string, identity, "", "This replica's name in locks (default: hostname-pid)");
ABSL_FLAG(double, kube_qps, 200, "Kubernetes API requests per second (0: unlimited)");
ABSL_FLAG(int, kube_burst, 400, "Kubernetes API burst");
ABSL_FLAG(absl::Duration, sim_pod_start_delay, absl::Seconds(2), "--sim: from a pod's binding to it being Ready");
ABSL_FLAG(std::string, sim_kubeconfig_out, "", "--sim: write a kubeconfig for kubectl here (default: next to herdd)");
ABSL_FLAG(std::string, sim_listen, "127.0.0.1:0", "--sim: the simulated API server's address");
ABSL_FLAG(bool, demo, true, "--sim: create the demo workloads");
ABSL_FLAG(absl::Duration, policy_check_interval, absl::Seconds(10),
          "How often a max-pod-age policy looks at its workload while none of its pods is due (from 100ms)");
ABSL_FLAG(std::string, prometheus_url, "",
          "The Prometheus that load-scaling policies query (http://HOST:PORT); without it they are refused");
ABSL_FLAG(absl::Duration, lease_duration, absl::Seconds(10),
          "How long a replica's operation lock lasts without renewal: another replica adopts the operations of one "
          "that died this long after its last renewal at most (renewed every third of it); a herdd restarted with "
          "the same --identity adopts its predecessor's at once");
ABSL_FLAG(absl::Duration, adopt_period, absl::Seconds(5),
          "How often to look for operations to adopt at the latest (a lease seen running out is acted on when it "
          "expires)");
ABSL_FLAG(absl::Duration, operations_retention, absl::Hours(24 * 7),
          "How long finished operations are kept: their records are deleted this long after they end (then "
          "GetOperation answers NOT_FOUND)");
ABSL_FLAG(int, operations_kept, 1000, "At most this many finished operations are kept (the oldest deleted first)");
ABSL_FLAG(std::string, crash_at, "",
          "Testing: SIGKILL this process at an engine's write point, POINT:before|after[@N] (the Nth time); "
          "--crash-at=help lists the points");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10), "How long calls in flight get on SIGTERM");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

namespace {

// glibc gives threads that allocate arenas of their own, up to 8 per core,
// and keeps what each arena held. herdd runs each operation on a thread of
// its own, so its resident memory grew with every operation it had run
// (10 minutes of purges at 10,000 pods: 176 to 291 MiB, and rising); with
// two arenas it grows about half as fast, with what the caches hold
// (bench/loadgen.py --churn-minutes, in docs/BENCHMARKS.md).
// MALLOC_ARENA_MAX, when set, decides instead.
void LimitMallocArenas() {
#ifdef HERD_MALLOPT
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  LimitMallocArenas();
  std::vector<std::string> args = herd::ParseFlags(
      argc, argv,
      "roll out, scale, purge and kill Kubernetes workloads over gRPC.\n"
      "  herdd --sim                                      simulated cluster with demo workloads\n"
      "  herdd --kubeconfig=FILE --tokens-file=FILE       a cluster, callers from the tokens file\n"
      "Flags may be written with dashes or underscores.");
  if (!args.empty()) {
    std::fprintf(stderr, "herdd: unexpected argument \"%s\"\n", args[0].c_str());
    return 2;
  }
  herd::log::Level level;
  if (!herd::log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "herdd: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  herd::log::SetLevel(level);

  herd::herdd::AppOptions o;
  if (std::string crash_at = absl::GetFlag(FLAGS_crash_at); !crash_at.empty()) {
    if (crash_at == "help") {
      for (const auto& p : herd::ops::WritePoints()) std::printf("%s\n", p.c_str());
      return 0;
    }
    auto point = herd::herdd::ParseCrashPoint(crash_at);
    if (!point.ok()) {
      std::fprintf(stderr, "herdd: %s\n", std::string(point.status().message()).c_str());
      return 2;
    }
    o.write_hook = herd::herdd::CrashHook(*point);
  }
  o.sim = absl::GetFlag(FLAGS_sim);
  o.demo = absl::GetFlag(FLAGS_demo);
  o.sim_options.listen = absl::GetFlag(FLAGS_sim_listen);
  o.sim_options.controllers.pod_start_delay = absl::GetFlag(FLAGS_sim_pod_start_delay);
  o.kubeconfig = absl::GetFlag(FLAGS_kubeconfig);
  o.context = absl::GetFlag(FLAGS_context);
  o.in_cluster = absl::GetFlag(FLAGS_in_cluster) ||
                 (!o.sim && o.kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST") != nullptr);
  o.in_cluster_root = absl::GetFlag(FLAGS_in_cluster_root);
  o.grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  o.http_listen = absl::GetFlag(FLAGS_http_listen);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  o.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  o.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  o.insecure_no_auth = absl::GetFlag(FLAGS_insecure_no_auth);
  o.impersonate = absl::GetFlag(FLAGS_impersonate);
  o.slack_signing_secret_file = absl::GetFlag(FLAGS_slack_signing_secret_file);
  o.slack_bot_token_file = absl::GetFlag(FLAGS_slack_bot_token_file);
  o.slack_api_url = absl::GetFlag(FLAGS_slack_api_url);
  o.notifications_file = absl::GetFlag(FLAGS_notifications_file);
  o.dashboard = absl::GetFlag(FLAGS_dashboard);
  o.protected_namespaces = absl::StrSplit(absl::GetFlag(FLAGS_protected_namespaces), ',', absl::SkipEmpty());
  o.namespaces = absl::StrSplit(absl::GetFlag(FLAGS_namespaces), ',', absl::SkipEmpty());
  o.ns = absl::GetFlag(FLAGS_namespace);
  o.identity = absl::GetFlag(FLAGS_identity);
  o.kube_qps = absl::GetFlag(FLAGS_kube_qps);
  o.kube_burst = absl::GetFlag(FLAGS_kube_burst);
  o.lease_duration = absl::GetFlag(FLAGS_lease_duration);
  o.policy_check = absl::GetFlag(FLAGS_policy_check_interval);
  o.prometheus_url = absl::GetFlag(FLAGS_prometheus_url);
  if (!o.prometheus_url.empty() && !absl::StartsWith(o.prometheus_url, "http://") &&
      !absl::StartsWith(o.prometheus_url, "https://")) {
    std::fprintf(stderr, "herdd: --prometheus-url must be an http:// or https:// URL\n");
    return 2;
  }
  if (o.policy_check < absl::Milliseconds(100)) {
    std::fprintf(stderr, "herdd: --policy-check-interval must be at least 100ms\n");
    return 2;
  }
  o.runner.adopt_period = absl::GetFlag(FLAGS_adopt_period);
  o.runner.renew_period = std::max(absl::Milliseconds(100), o.lease_duration / 3);
  if (o.lease_duration < absl::Seconds(1)) {
    std::fprintf(stderr, "herdd: --lease-duration must be at least 1s\n");
    return 2;
  }
  o.store.retention = absl::GetFlag(FLAGS_operations_retention);
  if (o.store.retention < absl::Seconds(1)) {
    std::fprintf(stderr, "herdd: --operations-retention must be at least 1s\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_operations_kept) < 1) {
    std::fprintf(stderr, "herdd: --operations-kept must be at least 1\n");
    return 2;
  }
  o.store.max_finished = static_cast<size_t>(absl::GetFlag(FLAGS_operations_kept));
  // Records past their retention go within a quarter of it (at most 10
  // minutes late).
  o.runner.gc_period = std::clamp(o.store.retention / 4, absl::Seconds(1), absl::Minutes(10));
  std::string bin_dir = std::filesystem::path(argv[0]).parent_path().string();
  if (bin_dir.empty()) bin_dir = ".";
  o.sim_kubeconfig_out = absl::GetFlag(FLAGS_sim_kubeconfig_out);
  if (o.sim && o.sim_kubeconfig_out.empty()) o.sim_kubeconfig_out = bin_dir + "/../herd-sim.kubeconfig";
  if ((o.tls_cert_file.empty()) != (o.tls_key_file.empty())) {
    std::fprintf(stderr, "herdd: --tls-cert and --tls-key go together\n");
    return 2;
  }

  // Block the signals before any thread starts, then wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto app = herd::herdd::App::Start(o);
  if (!app.ok()) {
    std::fprintf(stderr, "herdd: %s\n", std::string(app.status().message()).c_str());
    return 1;
  }
  if (o.sim) std::fputs(herd::herdd::SimWelcome(**app, bin_dir).c_str(), stdout);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  herd::log::Info("herdd stopping: handing running operations over", {{"signal", sig}});
  (*app)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  return 0;
}
