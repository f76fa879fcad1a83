// kubesim: a simulated Kubernetes API server with controllers and nodes,
// speaking the real REST protocol, so kubectl, client libraries and herd
// work against it unchanged. herdd --sim runs one in-process; the kubesim
// binary runs one alone; tests start one per test on port 0.
//
//   auto sim = herd::sim::Simulator::Start({.pod_start_delay = absl::Milliseconds(50)});
//   (*sim)->WriteKubeconfig("/tmp/kubeconfig");
//   std::string url = (*sim)->url();   // "http://127.0.0.1:41234"
//
// All state is in memory; everything runs on one loop thread, so the
// simulation is ordered and its timing comes only from the configured
// delays.
#ifndef HERD_SIM_KUBESIM_H_
#define HERD_SIM_KUBESIM_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sim/controllers/controllers.h"
#include "sim/http_api.h"

namespace herd::sim {

class ApiServer;

struct SimulatorOptions {
  std::string listen = "127.0.0.1:0";
  // Where to write a kubeconfig for this server ("" = none).
  std::string kubeconfig_out;
  // The admin's bearer token, written into the kubeconfig (user
  // kubesim-admin in system:masters). With AlwaysAllow, "" means no
  // authentication; with RBAC a random one is made when "".
  std::string token;
  // AlwaysAllow (every caller may do everything) or RBAC.
  Authorization authorization = Authorization::kAlwaysAllow;
  // More users (--token-auth-file).
  std::vector<StaticToken> static_tokens;
  // Serve HTTPS with a certificate made at start (its CA goes into the
  // kubeconfig).
  bool tls = false;
  // Simulated nodes, with room for this many pods each.
  int nodes = 3;
  int pods_per_node = 110;
  // Controllers, scheduler and nodes: delays and rate limits.
  ControllerOptions controllers;
  // Changes kept per resource type for watch resumption.
  size_t watch_history = 10000;
  absl::Duration bookmark_interval = absl::Seconds(60);
  Faults faults;
  // Seeds generated names and fault sampling (0 = random).
  uint64_t seed = 0;
};

class Simulator {
 public:
  static absl::StatusOr<std::unique_ptr<Simulator>> Start(SimulatorOptions options);
  ~Simulator();

  // "http://127.0.0.1:PORT" (https with TLS).
  std::string url() const;
  int port() const;
  const std::string& token() const { return options_.token; }
  // PEM of the CA that signed the serving certificate ("" without TLS).
  const std::string& ca_pem() const { return ca_pem_; }
  // A kubeconfig (YAML) for this server, context "kubesim".
  std::string Kubeconfig() const;
  absl::Status WriteKubeconfig(const std::string& path) const;

  // Runs `fn` on the simulator's loop thread and waits for it (tests use it
  // to read or seed state directly). Must not be called from that thread.
  void Run(const std::function<void(ApiServer&)>& fn);
  void SetFaults(Faults faults);

  // Stops serving: open watches end, connections close.
  void Stop();

 private:
  explicit Simulator(SimulatorOptions options);
  absl::Status Init();

  struct Impl;
  SimulatorOptions options_;
  std::string ca_pem_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_KUBESIM_H_
