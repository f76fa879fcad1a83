// kubesim's REST front: turns HTTP requests into ApiServer calls the way a
// Kubernetes API server does (paths, verbs, query parameters, content
// types, tables, watches, errors as metav1.Status), plus discovery, health
// endpoints, bearer-token authentication and fault injection.
//
// The handler must run on the simulator's loop thread (the http::Server is
// started on that one-thread loop).
#ifndef HERD_SIM_HTTP_API_H_
#define HERD_SIM_HTTP_API_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/event_loop/event_loop.h"
#include "common/http/http.h"
#include "nlohmann/json.hpp"
#include "sim/apiserver.h"
#include "sim/auth/auth.h"
#include "sim/rbac/rbac.h"

namespace herd::sim {

// Faults kubesim injects into its API, to test clients under bad weather.
// Settable at start (flags) and at run time (PUT /kubesim/faults).
struct Faults {
  // Added before every API request is served.
  absl::Duration latency = absl::ZeroDuration();
  // Fraction (0..1) of requests answered with an error, per verb ("get",
  // "list", "watch", "create", "update", "patch", "delete",
  // "deletecollection") or "*" for all.
  std::map<std::string, double> error_rate;
  int error_code = 500;  // 500, 503 or 429 (429 carries Retry-After)
  // Fraction (0..1) of requests answered 429 TooManyRequests (with
  // Retry-After), per verb or "*", sampled apart from error_rate: server
  // errors and throttling at once, whatever error_code says.
  std::map<std::string, double> throttle_rate;
  int retry_after_seconds = 1;
  // Deterministic faults: the next N requests of a verb fail with error_code.
  std::map<std::string, int> fail_next;
  // Open watches are closed this long after they start (0: never).
  absl::Duration drop_watches_after = absl::ZeroDuration();
  // When set, every fault above hits only requests whose User-Agent starts
  // with this (e.g. "herd/"): the client under test gets the bad weather
  // while kubectl or a test's own observer sees the cluster undisturbed.
  std::string user_agent;

  static absl::StatusOr<Faults> FromJson(const nlohmann::json& j);
  nlohmann::json ToJson() const;
};

// What the faults did so far (GET /kubesim/faults reports it as "injected").
struct FaultCounts {
  // Requests answered with an injected error, by status code and by verb.
  std::map<int, uint64_t> by_code;
  std::map<std::string, uint64_t> by_verb;
  uint64_t delayed = 0;          // requests held back by `latency`
  uint64_t dropped_watches = 0;  // watches closed by `drop_watches_after`

  nlohmann::json ToJson() const;
};

enum class Authorization {
  // Every caller may do everything; with credentials configured a caller
  // without one gets 401.
  kAlwaysAllow,
  // RBAC: anonymous callers are system:anonymous, every request is checked.
  kRbac,
};

struct HttpApiOptions {
  // The admin's bearer token ("" = none; with AlwaysAllow and no static
  // tokens anyone may call).
  std::string token;
  Authorization authorization = Authorization::kAlwaysAllow;
  std::vector<StaticToken> static_tokens;
  // What /api reports as the server address.
  std::string server_address;
  // Bookmarks are sent this often on watches that allow them.
  absl::Duration bookmark_interval = absl::Seconds(60);
  // A watch whose unsent backlog passes this is closed (a stuck reader).
  size_t max_watch_backlog_bytes = 64u << 20;
  Faults faults;
  uint64_t seed = 0;  // for fault sampling; 0 = random
};

// autoscaling/v1 ↔ v2 HorizontalPodAutoscalers, as the API server converts them.
nlohmann::json HpaV1ToV2(nlohmann::json v1);
nlohmann::json HpaV2ToV1(nlohmann::json v2);

// The RBAC kinds as `store` holds them (http_auth.cc).
std::unique_ptr<RbacObjects> NewStoreRbacObjects(const Store& store);

class HttpApi {
 public:
  HttpApi(EventLoop& loop, ApiServer& api, HttpApiOptions options);
  ~HttpApi();

  // The http::Handler body. Runs on the loop thread.
  void Handle(http::Request request, http::Responder responder);

  // Ends every open watch (server shutdown).
  void CloseWatches();
  size_t OpenWatches() const;
  void SetFaults(Faults faults);
  void SetServerAddress(std::string address) { options_.server_address = std::move(address); }
  // Requests served so far, by verb (for tests and benchmarks).
  std::map<std::string, uint64_t> RequestCounts() const { return counts_; }
  const FaultCounts& InjectedFaults() const { return injected_; }

  // A request path split into resource, namespace, name and subresource.
  struct Route {
    const ResourceType* rt = nullptr;
    std::string ns;
    std::string name;
    std::string sub;
  };

 private:
  class Watch;

  // Authentication, then impersonation (http_auth.cc): who the request acts
  // as. 401 for a bad token, 403 for impersonation not allowed.
  absl::StatusOr<UserInfo> Identify(const http::Request& req);
  // 403 Forbidden unless the authorization mode allows `a`.
  absl::Status Authorize(const RequestAttributes& a) const;
  Decision Decide(const RequestAttributes& a) const;
  // POSTs of the create-only kinds: access and rules reviews, token reviews.
  void ServeReview(http::Request& req, http::Responder& res, const Route& route);
  // GET pods/NAME/log (http_logs.cc).
  class LogFollower;
  void ServeLog(http::Request& req, http::Responder& res, const Route& route);
  void CloseLogFollowers();
  // autoscaling/v1 HorizontalPodAutoscalers, converted to and from the v2
  // objects stored (http_hpa_v1.cc).
  void ServeHpaV1(http::Request& req, http::Responder& res, const Route& route);
  // POST serviceaccounts/NAME/token.
  void ServeTokenRequest(http::Request& req, http::Responder& res, const Route& route);

  void Serve(http::Request& req, http::Responder& res);
  // Whether the faults apply to this request (their User-Agent filter).
  bool Faulted(const http::Request& req) const;
  bool InjectFault(const http::Request& req, const std::string& verb, http::Responder& res);
  void ServeOpenApi(http::Request& req, http::Responder& res);
  void ServeResource(http::Request& req, http::Responder& res, const Route& route);
  void ServeList(http::Request& req, http::Responder& res, const Route& route);
  void ServeWatch(http::Request& req, http::Responder& res, const Route& route);
  void ServeDeleteCollection(http::Request& req, http::Responder& res, const Route& route);

  EventLoop& loop_;
  ApiServer& api_;
  HttpApiOptions options_;
  std::mt19937_64 rng_;
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
  uint64_t next_watch_ = 1;
  std::map<std::string, uint64_t> counts_;
  FaultCounts injected_;
  Authenticator authn_;
  std::unique_ptr<RbacObjects> rbac_objects_;  // the store's RBAC kinds
  std::unique_ptr<RbacAuthorizer> rbac_;
  std::map<uint64_t, std::shared_ptr<LogFollower>> followers_;
  // The user the request being served acts as (set by Serve).
  UserInfo requester_;
};

}  // namespace herd::sim

#endif  // HERD_SIM_HTTP_API_H_
