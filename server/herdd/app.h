// herdd's object graph: the Kubernetes client (to a cluster, or to an
// in-process kubesim with --sim), informers, operation records and locks,
// the runner and engines, authentication, the gRPC server (with health
// checking and reflection) and the HTTP port (/metrics, /healthz, /readyz).
// main() parses flags into AppOptions and calls App::Start; tests do the
// same in-process.
//
//   auto app = herd::herdd::App::Start({.sim = true, .grpc_listen = "127.0.0.1:0"});
//   std::string target = (*app)->grpc_address();
//   …
//   (*app)->Shutdown();   // SIGTERM: running operations are handed over
#ifndef HERD_SERVER_HERDD_APP_H_
#define HERD_SERVER_HERDD_APP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/auth/authorizer.h"
#include "server/ops/engine.h"
#include "server/ops/lock.h"
#include "server/ops/runner.h"
#include "server/ops/store.h"
#include "sim/kubesim.h"

namespace herd::herdd {

struct AppOptions {
  // Run against an in-process kubesim (implies insecure_no_auth).
  bool sim = false;
  sim::SimulatorOptions sim_options;
  // With --sim: create the demo workloads.
  bool demo = true;
  // With --sim: where to write a kubeconfig for kubectl ("" = none).
  std::string sim_kubeconfig_out;

  // A cluster: kubeconfig file ("" with !sim and !in_cluster: $KUBECONFIG
  // or ~/.kube/config) and context ("" = current).
  std::string kubeconfig;
  std::string context;
  bool in_cluster = false;
  // Prepended to /var/run/secrets/kubernetes.io/serviceaccount (tests run
  // the in-cluster configuration from a temporary directory).
  std::string in_cluster_root;

  std::string grpc_listen = "127.0.0.1:50051";
  std::string http_listen = "127.0.0.1:8080";
  // TLS for the gRPC port; a client CA turns on mTLS.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;

  std::string tokens_file;
  bool insecure_no_auth = false;
  // herd's writes to the cluster act as the caller (Impersonate-User and
  // Impersonate-Group); needs tokens_file.
  bool impersonate = false;
  std::vector<std::string> protected_namespaces = auth::DefaultProtectedNamespaces();
  // The namespaces herdd caches, reads and acts in; empty: the whole
  // cluster. The cache (every resource of engines::CachedResources) is
  // started at boot; /readyz is ready once it has synced.
  std::vector<std::string> namespaces;

  // Where operation records and locks live.
  std::string ns = "herd-system";
  // This replica's name in locks and records ("" = hostname-pid).
  std::string identity;
  double kube_qps = 200;
  int kube_burst = 400;

  ops::EngineSettings engine;
  ops::RunnerOptions runner;
  // How long and how many finished operation records are kept.
  ops::StoreOptions store;
  // How long an operation's lock outlives its replica: a replica that dies
  // has its operations adopted by another this long after its last renewal
  // at the latest (a replica restarted under the same identity adopts them
  // at once). Renewed every third of it.
  absl::Duration lease_duration = absl::Seconds(10);
  // How often a max-pod-age policy looks at its workload while none of its
  // pods is due.
  absl::Duration policy_check = absl::Seconds(10);
  // The Prometheus load-scaling policies query (http(s)://HOST:PORT); ""
  // = none, and such policies are refused.
  std::string prometheus_url;
  // Slack (server/slack): with a signing secret, herdd serves
  // /slack/commands and /slack/interactions on its HTTP port; with a bot
  // token too, each operation gets one message, updated as it runs.
  std::string slack_signing_secret_file;
  std::string slack_bot_token_file;
  std::string slack_api_url = "https://slack.com/api";

  // The web dashboard (server/ui) at `/` of the HTTP port.
  bool dashboard = true;

  // Notifications (server/notify): sinks and their matches; "" = none.
  std::string notifications_file;

  // Tests: called at every engine write point (herdd --crash-at).
  ops::WriteHook write_hook;
  // Tests: wraps the client herdd reaches the cluster with (its caches,
  // records, locks and engines use it), e.g. to count the requests a call
  // makes.
  std::function<std::unique_ptr<kube::KubeClient>(std::unique_ptr<kube::KubeClient>)> wrap_kube;
};

class App {
 public:
  static absl::StatusOr<std::unique_ptr<App>> Start(AppOptions options);
  ~App();

  std::string grpc_address() const;
  int grpc_port() const;
  std::string http_address() const;
  const std::string& identity() const;
  // The in-process kubesim with --sim, else null.
  sim::Simulator* simulator();
  // herdd's shared cache of the cluster: what reads answer from (tests
  // wait on it).
  kube::InformerSet& cache();
  // The workloads' locks (their cache shows reads the running operation).
  ops::WorkloadLocks& locks();
  // A kubeconfig for the cluster herd talks to (--sim: the simulator's).
  std::string kubeconfig_path() const;

  // Graceful stop: refuse new mutations, hand running operations over,
  // stop the servers. Blocks up to `grace`.
  void Shutdown(absl::Duration grace = absl::Seconds(10));
  // Blocks until Shutdown has run.
  void Wait();

 private:
  App();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The text herdd --sim prints: how to reach it and what to try.
std::string SimWelcome(const App& app, const std::string& bin_dir);

}  // namespace herd::herdd

#endif  // HERD_SERVER_HERDD_APP_H_
