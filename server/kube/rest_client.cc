#include "server/kube/rest_client.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <variant>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "server/kube/errors.h"
#include "server/kube/internal/transport.h"
#include "server/kube/internal/watch_stream.h"

namespace herd::kube {
namespace {

using internal::HttpRequest;
using internal::HttpResult;

constexpr absl::string_view kJson = "application/json";

// libcurl results where nothing reached the server: safe to retry any method.
bool NothingSent(CURLcode code) { return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST; }

// Transport failures worth another try for idempotent requests. TLS and
// certificate failures are not: they come back the same every time.
bool TransientTransportError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

absl::StatusOr<Json> ParseBody(const HttpResult& r, absl::string_view what) {
  Json j = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InternalError(absl::StrCat("the API server's answer to ", what, " is not valid JSON"));
  }
  return j;
}

std::string StringAt(const Json& j, const char* a, const char* b) {
  auto ia = j.find(a);
  if (ia == j.end() || !ia->is_object()) return "";
  auto ib = ia->find(b);
  if (ib == ia->end() || !ib->is_string()) return "";
  return ib->get<std::string>();
}

void FillTypeMeta(const Resource& r, Json& object) {
  if (!object.is_object()) return;
  if (!object.contains("apiVersion")) object["apiVersion"] = r.ApiVersion();
  if (!object.contains("kind")) object["kind"] = std::string(r.kind);
}

const char* PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

Json DeleteOptionsJson(const DeleteOptions& o) {
  Json j = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (o.grace_period_seconds) j["gracePeriodSeconds"] = *o.grace_period_seconds;
  if (!o.propagation_policy.empty()) j["propagationPolicy"] = o.propagation_policy;
  if (!o.precondition_uid.empty()) j["preconditions"]["uid"] = o.precondition_uid;
  if (!o.precondition_resource_version.empty()) {
    j["preconditions"]["resourceVersion"] = o.precondition_resource_version;
  }
  return j;
}

void AddSelection(std::vector<std::pair<std::string, std::string>>& q, const std::string& labels,
                  const std::string& fields) {
  if (!labels.empty()) q.emplace_back("labelSelector", labels);
  if (!fields.empty()) q.emplace_back("fieldSelector", fields);
}

void AddWrite(std::vector<std::pair<std::string, std::string>>& q, const WriteOptions& o) {
  if (o.dry_run) q.emplace_back("dryRun", "All");
  if (!o.field_manager.empty()) q.emplace_back("fieldManager", o.field_manager);
}

absl::StatusOr<Scale> ParseScale(const Json& j) {
  Scale s;
  try {
    s.replicas = j.value("/spec/replicas"_json_pointer, 0);
    s.status_replicas = j.value("/status/replicas"_json_pointer, 0);
    s.selector = j.value("/status/selector"_json_pointer, std::string());
    s.resource_version = j.value("/metadata/resourceVersion"_json_pointer, std::string());
  } catch (const Json::exception& e) {
    return absl::InternalError(absl::StrCat("the API server sent a malformed Scale: ", e.what()));
  }
  return s;
}

class RestClient : public KubeClient {
 public:
  RestClient(std::shared_ptr<internal::Transport> transport, RestClientOptions options, Impersonation as = {})
      : t_(std::move(transport)), options_(std::move(options)), as_(std::move(as)) {}

  absl::StatusOr<std::unique_ptr<KubeClient>> Impersonate(const Impersonation& who) override {
    if (who.user.empty()) return absl::InvalidArgumentError("impersonation needs a user name");
    return std::unique_ptr<KubeClient>(new RestClient(t_, options_, who));
  }

  absl::StatusOr<Json> Get(const Resource& r, absl::string_view ns, absl::string_view name,
                           absl::string_view subresource) override {
    auto path = ObjectPath(r, ns, name, subresource);
    if (!path.ok()) return path.status();
    HttpRequest req{.method = "GET", .path = *std::move(path)};
    auto res = Execute(req);
    if (!res.ok()) return res.status();
    auto j = ParseBody(*res, "get");
    if (j.ok() && subresource.empty()) FillTypeMeta(r, *j);
    return j;
  }

  absl::StatusOr<ObjectList> List(const Resource& r, absl::string_view ns, const ListOptions& o) override {
    HttpRequest req{.method = "GET", .path = r.Path(ns), .timeout = o.timeout};
    AddSelection(req.query, o.label_selector, o.field_selector);
    if (o.limit > 0) req.query.emplace_back("limit", absl::StrCat(o.limit));
    if (!o.continue_token.empty()) req.query.emplace_back("continue", o.continue_token);
    if (!o.resource_version.empty()) req.query.emplace_back("resourceVersion", o.resource_version);
    auto res = Execute(req);
    if (!res.ok()) return res.status();
    auto j = ParseBody(*res, "list");
    if (!j.ok()) return j.status();
    ObjectList out;
    out.resource_version = StringAt(*j, "metadata", "resourceVersion");
    out.continue_token = StringAt(*j, "metadata", "continue");
    auto meta = j->find("metadata");
    if (meta != j->end() && meta->is_object()) {
      auto rem = meta->find("remainingItemCount");
      if (rem != meta->end() && rem->is_number_integer()) out.remaining_item_count = rem->get<int64_t>();
    }
    auto items = j->find("items");
    if (items != j->end() && items->is_array()) {
      out.items.reserve(items->size());
      for (Json& item : *items) {
        FillTypeMeta(r, item);
        out.items.push_back(std::move(item));
      }
    } else if (items != j->end() && !items->is_null()) {
      return absl::InternalError("the API server's list has no items array");
    }
    return out;
  }

  absl::StatusOr<std::unique_ptr<WatchStream>> Watch(const Resource& r, absl::string_view ns,
                                                     const WatchOptions& o) override {
    HttpRequest req{.method = "GET", .path = r.Path(ns), .watch = true};
    req.query.emplace_back("watch", "true");
    AddSelection(req.query, o.label_selector, o.field_selector);
    if (!o.resource_version.empty()) req.query.emplace_back("resourceVersion", o.resource_version);
    if (o.allow_bookmarks) req.query.emplace_back("allowWatchBookmarks", "true");
    bool server_timeout = o.server_timeout > absl::ZeroDuration() && o.server_timeout != absl::InfiniteDuration();
    if (server_timeout) {
      req.query.emplace_back("timeoutSeconds",
                             absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(o.server_timeout))));
      // A safety net for a server that forgets to end the stream.
      req.timeout = o.server_timeout + absl::Minutes(1);
    } else {
      req.timeout = absl::InfiniteDuration();
    }
    absl::Duration open_timeout = t_->options().default_timeout;
    std::unique_ptr<WatchStream> stream;
    auto res = Run(req, [&]() -> HttpResult {
      auto opened = internal::CurlWatchStream::Open(t_->Prepare(WithImpersonation(req)), absl::Now() + open_timeout);
      if (auto* s = std::get_if<std::unique_ptr<internal::CurlWatchStream>>(&opened)) {
        stream = std::move(*s);
        HttpResult ok;
        ok.status = 200;
        return ok;
      }
      return std::get<HttpResult>(std::move(opened));
    });
    if (!res.ok()) return res.status();
    return stream;
  }

  absl::StatusOr<Json> Create(const Resource& r, absl::string_view ns, const Json& object,
                              const WriteOptions& o) override {
    if (!object.is_object()) return absl::InvalidArgumentError("create: the object must be a JSON object");
    std::string name = StringAt(object, "metadata", "name");
    auto target_ns = Namespace(r, ns, object);
    if (!target_ns.ok()) return target_ns.status();
    std::string path;
    if (o.subresource.empty()) {
      path = r.Path(*target_ns);
    } else {
      if (name.empty()) return absl::InvalidArgumentError("create of a subresource needs metadata.name");
      path = r.Path(*target_ns, name, o.subresource);
    }
    Json body = object;
    if (o.subresource.empty()) FillTypeMeta(r, body);
    HttpRequest req{.method = "POST", .path = std::move(path), .body = Dump(body), .idempotent = false};
    AddWrite(req.query, o);
    return ExecuteJson(req, "create");
  }

  absl::StatusOr<Json> Update(const Resource& r, absl::string_view ns, const Json& object,
                              const WriteOptions& o) override {
    if (!object.is_object()) return absl::InvalidArgumentError("update: the object must be a JSON object");
    std::string name = StringAt(object, "metadata", "name");
    if (name.empty()) return absl::InvalidArgumentError("update: the object has no metadata.name");
    auto target_ns = Namespace(r, ns, object);
    if (!target_ns.ok()) return target_ns.status();
    Json body = object;
    if (o.subresource.empty()) FillTypeMeta(r, body);
    HttpRequest req{.method = "PUT", .path = r.Path(*target_ns, name, o.subresource), .body = Dump(body)};
    AddWrite(req.query, o);
    return ExecuteJson(req, "update");
  }

  absl::StatusOr<Json> Patch(const Resource& r, absl::string_view ns, absl::string_view name, PatchType type,
                             absl::string_view patch, const WriteOptions& o) override {
    auto path = ObjectPath(r, ns, name, o.subresource);
    if (!path.ok()) return path.status();
    HttpRequest req{.method = "PATCH",
                    .path = *std::move(path),
                    .body = std::string(patch),
                    .content_type = PatchContentType(type),
                    .idempotent = false};
    AddWrite(req.query, o);
    return ExecuteJson(req, "patch");
  }

  absl::StatusOr<Json> Delete(const Resource& r, absl::string_view ns, absl::string_view name,
                              const DeleteOptions& o) override {
    auto path = ObjectPath(r, ns, name, "");
    if (!path.ok()) return path.status();
    HttpRequest req{.method = "DELETE", .path = *std::move(path), .body = Dump(DeleteOptionsJson(o))};
    if (o.dry_run) req.query.emplace_back("dryRun", "All");
    return ExecuteJson(req, "delete");
  }

  absl::Status DeleteCollection(const Resource& r, absl::string_view ns, const ListOptions& selection,
                                const DeleteOptions& o) override {
    HttpRequest req{.method = "DELETE", .path = r.Path(ns), .body = Dump(DeleteOptionsJson(o))};
    AddSelection(req.query, selection.label_selector, selection.field_selector);
    if (o.dry_run) req.query.emplace_back("dryRun", "All");
    return Execute(req).status();
  }

  absl::StatusOr<std::string> Logs(absl::string_view ns, absl::string_view pod, const LogOptions& o) override {
    auto path = ObjectPath(kPods, ns, pod, "log");
    if (!path.ok()) return path.status();
    HttpRequest req{.method = "GET", .path = *std::move(path)};
    if (!o.container.empty()) req.query.emplace_back("container", o.container);
    if (o.previous) req.query.emplace_back("previous", "true");
    if (o.tail_lines > 0) req.query.emplace_back("tailLines", absl::StrCat(o.tail_lines));
    if (o.limit_bytes > 0) req.query.emplace_back("limitBytes", absl::StrCat(o.limit_bytes));
    auto res = Execute(req);
    if (!res.ok()) return res.status();
    return std::move(res->body);
  }

  absl::Status Evict(absl::string_view ns, absl::string_view pod, const DeleteOptions& o) override {
    auto path = ObjectPath(kPods, ns, pod, "eviction");
    if (!path.ok()) return path.status();
    Json body = {{"apiVersion", "policy/v1"},
                 {"kind", "Eviction"},
                 {"metadata", {{"name", std::string(pod)}, {"namespace", std::string(ns)}}}};
    if (o.grace_period_seconds || !o.propagation_policy.empty() || !o.precondition_uid.empty() ||
        !o.precondition_resource_version.empty()) {
      body["deleteOptions"] = DeleteOptionsJson(o);
    }
    HttpRequest req{.method = "POST", .path = *std::move(path), .body = Dump(body), .idempotent = false};
    if (o.dry_run) req.query.emplace_back("dryRun", "All");
    return Execute(req).status();
  }

  absl::StatusOr<Scale> GetScale(const Resource& r, absl::string_view ns, absl::string_view name) override {
    auto j = Get(r, ns, name, "scale");
    if (!j.ok()) return j.status();
    return ParseScale(*j);
  }

  absl::StatusOr<Scale> UpdateScale(const Resource& r, absl::string_view ns, absl::string_view name,
                                    int32_t replicas, absl::string_view resource_version) override {
    auto path = ObjectPath(r, ns, name, "scale");
    if (!path.ok()) return path.status();
    Json body = {{"apiVersion", "autoscaling/v1"},
                 {"kind", "Scale"},
                 {"metadata", {{"name", std::string(name)}}},
                 {"spec", {{"replicas", replicas}}}};
    if (r.namespaced) body["metadata"]["namespace"] = std::string(ns);
    if (!resource_version.empty()) body["metadata"]["resourceVersion"] = std::string(resource_version);
    HttpRequest req{.method = "PUT", .path = *std::move(path), .body = Dump(body)};
    req.query.emplace_back("fieldManager", "herd");
    auto j = ExecuteJson(req, "scale");
    if (!j.ok()) return j.status();
    return ParseScale(*j);
  }

 private:
  static absl::StatusOr<std::string> ObjectPath(const Resource& r, absl::string_view ns, absl::string_view name,
                                                absl::string_view subresource) {
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(r.GroupResource(), ": a name is required"));
    if (r.namespaced && ns.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(r.GroupResource(), " \"", name, "\": a namespace is required"));
    }
    return r.Path(ns, name, subresource);
  }

  // The namespace of a write: the argument, else the object's own.
  static absl::StatusOr<std::string> Namespace(const Resource& r, absl::string_view ns, const Json& object) {
    if (!r.namespaced) return std::string();
    std::string own = StringAt(object, "metadata", "namespace");
    if (!ns.empty()) {
      if (!own.empty() && own != ns) {
        return absl::InvalidArgumentError(
            absl::StrCat("the object's namespace \"", own, "\" does not match the request's \"", ns, "\""));
      }
      return std::string(ns);
    }
    if (own.empty()) return absl::InvalidArgumentError(absl::StrCat(r.GroupResource(), ": a namespace is required"));
    return own;
  }

  absl::StatusOr<Json> ExecuteJson(const HttpRequest& req, absl::string_view what) {
    auto res = Execute(req);
    if (!res.ok()) return res.status();
    return ParseBody(*res, what);
  }

  absl::StatusOr<HttpResult> Execute(const HttpRequest& req) {
    if (!as_.user.empty()) {
      HttpRequest as = WithImpersonation(req);
      return Run(as, [&] { return t_->Perform(as); });
    }
    return Run(req, [&] { return t_->Perform(req); });
  }

  HttpRequest WithImpersonation(HttpRequest req) const {
    if (as_.user.empty()) return req;
    req.headers.emplace_back("Impersonate-User", as_.user);
    for (const auto& g : as_.groups) req.headers.emplace_back("Impersonate-Group", g);
    return req;
  }

  absl::Status ToStatus(const HttpRequest& req, const HttpResult& r) const {
    if (r.curl != CURLE_OK) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach the Kubernetes API (", req.method, " ", t_->UrlOf(req.path), "): ", r.curl_error));
    }
    return StatusFromResponse(r.status, r.body);
  }

  bool Retryable(const HttpRequest& req, const HttpResult& r) const {
    if (r.curl != CURLE_OK) return NothingSent(r.curl) || (req.idempotent && TransientTransportError(r.curl));
    if (r.status == 409) return false;
    return req.idempotent && (r.status == 429 || (r.status >= 500 && r.status < 600));
  }

  absl::Duration Backoff(int attempt) {
    const RetryOptions& o = options_.retry;
    double factor = std::ldexp(1.0, std::min(attempt - 1, 30));
    absl::Duration ceiling = std::min(o.max_delay, o.base_delay * factor);
    double j = options_.jitter ? options_.jitter() : RandomUnit();
    j = std::clamp(j, 0.0, 1.0);
    return ceiling * j;
  }

  double RandomUnit() {
    absl::MutexLock lock(&rng_mu_);
    return absl::Uniform(rng_, 0.0, 1.0);
  }

  // Runs `attempt` until it succeeds (2xx), fails for good, or runs out of
  // attempts; each attempt first takes a rate-limiter token.
  template <typename Attempt>
  absl::StatusOr<HttpResult> Run(const HttpRequest& req, Attempt attempt) {
    bool token_refreshed = false;
    for (int n = 1;; ++n) {
      absl::Duration waited = t_->limiter().Wait();
      if (waited > absl::ZeroDuration()) {
        log::Debug("kube request waited for the client rate limit",
                   {{"method", req.method}, {"path", req.path}, {"wait_ms", absl::ToDoubleMilliseconds(waited)}});
      }
      absl::Time started = absl::Now();
      HttpResult r = attempt();
      if (options_.on_request) options_.on_request(req.method, r.curl == CURLE_OK ? r.status : 0, absl::Now() - started);
      if (r.curl == CURLE_OK && r.status >= 200 && r.status < 300) return r;
      absl::Status st = ToStatus(req, r);
      if (r.curl == CURLE_OK && r.status == 401 && !token_refreshed && t_->tokens().from_file()) {
        token_refreshed = true;
        if (t_->tokens().Refresh()) {
          log::Info("kube request unauthorized; the token file changed, retrying",
                    {{"method", req.method}, {"path", req.path}});
          --n;  // the stale token was not the server's fault
          continue;
        }
      }
      if (!Retryable(req, r) || n >= options_.retry.max_attempts) {
        if (n > 1) {
          log::Warn("kube request failed after retries",
                    {{"method", req.method},
                     {"path", req.path},
                     {"attempts", n},
                     {"code", absl::StatusCodeToString(st.code())},
                     {"error", st.message()}});
        }
        return st;
      }
      absl::Duration delay = r.retry_after ? *r.retry_after : Backoff(n);
      log::Warn("kube request failed, retrying",
                {{"method", req.method},
                 {"path", req.path},
                 {"attempt", n},
                 {"http_code", r.status},
                 {"delay_ms", absl::ToInt64Milliseconds(delay)},
                 {"code", absl::StatusCodeToString(st.code())},
                 {"error", st.message()}});
      t_->clock()->SleepFor(delay);
    }
  }

  std::shared_ptr<internal::Transport> t_;
  const RestClientOptions options_;
  const Impersonation as_;
  absl::Mutex rng_mu_;
  absl::BitGen rng_ ABSL_GUARDED_BY(rng_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<KubeClient>> NewRestClient(const RestConfig& config, RestClientOptions options) {
  if (config.server.empty()) return absl::InvalidArgumentError("the Kubernetes config has no server");
  if (options.retry.max_attempts < 1) options.retry.max_attempts = 1;
  auto transport = internal::Transport::Create(config, options);
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<KubeClient>(new RestClient(*std::move(transport), std::move(options)));
}

}  // namespace herd::kube
