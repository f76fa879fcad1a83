// libcurl underneath the REST client: one CURLSH (TLS sessions and DNS
// shared by every handle, with a lock per data kind), a pool of easy
// handles, each keeping its own connection (libcurl cannot share
// connections between threads), and the options every request gets (TLS,
// auth, timeouts, headers). One attempt at a time; retries are the caller's.
#ifndef HERD_SERVER_KUBE_INTERNAL_TRANSPORT_H_
#define HERD_SERVER_KUBE_INTERNAL_TRANSPORT_H_

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/kube/config.h"
#include "server/kube/internal/rate_limiter.h"
#include "server/kube/internal/token_source.h"
#include "server/kube/rest_client.h"

namespace herd::kube::internal {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // "/api/v1/namespaces/shop/pods"
  std::vector<std::pair<std::string, std::string>> query;  // not yet encoded
  std::string body;
  std::string content_type;  // with a body; default application/json
  // Zero: the config's or the client's default; InfiniteDuration(): none.
  absl::Duration timeout = absl::ZeroDuration();
  // Whether the request may be repeated after it may have reached the server.
  bool idempotent = true;
  bool watch = false;  // a long-lived stream: no compression, no total timeout unless given
  // More headers ("Impersonate-User", …); names and values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
};

// What one attempt got: either a transport error (curl != CURLE_OK) or an
// HTTP answer.
struct HttpResult {
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  int status = 0;
  std::string body;
  std::optional<absl::Duration> retry_after;
};

class Transport;

// One request on one easy handle, with everything libcurl points into while
// the transfer runs. Destroying it gives the handle back to the pool.
class Call {
 public:
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  CURL* handle() const { return h_; }
  // Headers of a final (non-1xx) answer have all arrived.
  bool headers_done() const { return headers_done_; }
  int status() const { return status_; }
  bool has_data() const { return !body_.empty(); }
  // The body bytes received since the last call.
  std::string TakeBody() { return std::exchange(body_, std::string()); }
  // The result once the transfer ended with `code`.
  HttpResult Finish(CURLcode code);
  const std::string& url() const { return url_; }

 private:
  friend class Transport;
  Call(std::shared_ptr<Transport> transport, CURL* h);
  static size_t OnData(char* p, size_t size, size_t n, void* ud);
  static size_t OnHeader(char* p, size_t size, size_t n, void* ud);

  std::shared_ptr<Transport> transport_;
  CURL* h_;
  curl_slist* headers_ = nullptr;
  curl_slist* connect_to_ = nullptr;
  std::string url_;
  std::string request_body_;
  std::string body_;
  char errbuf_[CURL_ERROR_SIZE] = {};
  int status_ = 0;
  bool headers_done_ = false;
  std::optional<absl::Duration> retry_after_;
};

class Transport : public std::enable_shared_from_this<Transport> {
 public:
  // INVALID_ARGUMENT when `config.server` is not an http(s) URL.
  static absl::StatusOr<std::shared_ptr<Transport>> Create(const RestConfig& config,
                                                           const RestClientOptions& options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // A handle set up for `req`, ready for curl_easy_perform or a multi
  // handle. Thread-safe.
  std::unique_ptr<Call> Prepare(const HttpRequest& req);
  // One blocking attempt. Thread-safe.
  HttpResult Perform(const HttpRequest& req);

  TokenSource& tokens() { return tokens_; }
  RateLimiter& limiter() { return limiter_; }
  Clock* clock() const { return clock_; }
  const RestClientOptions& options() const { return options_; }
  // The URL of `path` (for messages).
  std::string UrlOf(absl::string_view path) const;

 private:
  friend class Call;
  Transport(const RestConfig& config, const RestClientOptions& options);
  CURL* Acquire();
  void Release(CURL* h);
  static void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* ud);
  static void UnlockShare(CURL*, curl_lock_data data, void* ud);

  const RestConfig config_;
  const RestClientOptions options_;
  Clock* const clock_;
  std::string base_url_;    // scheme://host:port/prefix, host replaced by tls_server_name
  std::string connect_to_;  // "name:port:host:port" when tls_server_name is set
  TokenSource tokens_;
  RateLimiter limiter_;

  // libcurl calls the lock callbacks for one data kind at a time.
  std::mutex share_mu_[CURL_LOCK_DATA_LAST];
  CURLSH* share_ = nullptr;

  absl::Mutex pool_mu_;
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(pool_mu_);
};

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string QueryEscape(absl::string_view in);

}  // namespace herd::kube::internal

#endif  // HERD_SERVER_KUBE_INTERNAL_TRANSPORT_H_
