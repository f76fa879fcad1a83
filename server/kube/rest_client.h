// The KubeClient that talks to a real API server (or kubesim) over HTTP
// with libcurl: TLS with the config's CA and client certificate, bearer
// tokens that follow a rotating token file, kept-alive connections shared
// by every thread, a client-side rate limit, and retries with backoff.
//
//   auto config = herd::kube::LoadKubeconfig();
//   auto client = herd::kube::NewRestClient(*config);
//   auto pods = (*client)->List(herd::kube::kPods, "shop", {.label_selector = "app=web"});
//
// Retries: GET/LIST/watch establishment, PUT and DELETE are retried on
// 429 (after Retry-After when the server says), 5xx and connection errors;
// POST and PATCH only when the connection was refused before anything was
// sent. 409 Conflict is never retried. A 401 re-reads the token file once
// and retries when the token changed.
#ifndef HERD_SERVER_KUBE_REST_CLIENT_H_
#define HERD_SERVER_KUBE_REST_CLIENT_H_

#include <cstddef>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/kube/client.h"
#include "server/kube/clock.h"
#include "server/kube/config.h"

namespace herd::kube {

struct RetryOptions {
  int max_attempts = 5;  // in all, the first included; 1: no retries
  absl::Duration base_delay = absl::Milliseconds(100);
  absl::Duration max_delay = absl::Seconds(5);
};

struct RestClientOptions {
  RetryOptions retry;
  absl::Duration connect_timeout = absl::Seconds(10);
  // A request's timeout when neither RestConfig::timeout nor the call sets one.
  absl::Duration default_timeout = absl::Seconds(60);
  // Easy handles (each with its connection) kept for reuse when idle.
  size_t max_idle_handles = 32;
  // Backoff sleeps and rate-limit waits happen on this clock. Not owned;
  // null: Clock::Real(). Must outlive the client.
  Clock* clock = nullptr;
  // Full jitter: a retry waits jitter() * min(max_delay, base_delay * 2^n),
  // jitter() in [0, 1]. Null: uniformly random. Called from any thread.
  std::function<double()> jitter;
  // Called after every attempt (retries included) with the HTTP method, the
  // HTTP code (0 when there was no answer) and how long it took: for
  // metrics. Called from any thread; must be quick.
  std::function<void(absl::string_view method, int http_code, absl::Duration took)> on_request;
};

// The client for `config`. INVALID_ARGUMENT for an unusable config (no
// server, a scheme other than http/https). Thread-safe; watch streams may
// outlive the client.
absl::StatusOr<std::unique_ptr<KubeClient>> NewRestClient(const RestConfig& config,
                                                          RestClientOptions options = {});

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_REST_CLIENT_H_
