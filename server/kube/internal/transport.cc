#include "server/kube/internal/transport.h"

#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace herd::kube::internal {
namespace {

void GlobalInit() {
  // curl_global_init is not thread-safe and must run before any handle.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct ParsedUrl {
  std::string scheme, host, port, prefix;
};

absl::StatusOr<ParsedUrl> ParseServer(absl::string_view server) {
  ParsedUrl u;
  size_t sep = server.find("://");
  if (sep == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\" is not a URL (https://host:port)"));
  }
  u.scheme = absl::AsciiStrToLower(server.substr(0, sep));
  if (u.scheme != "https" && u.scheme != "http") {
    return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\": scheme must be http or https"));
  }
  absl::string_view rest = server.substr(sep + 3);
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    absl::string_view prefix = rest.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    u.prefix = std::string(prefix);
  }
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\": bad IPv6 address"));
    }
    u.host = std::string(authority.substr(0, close + 1));
    absl::string_view after = authority.substr(close + 1);
    if (absl::ConsumePrefix(&after, ":")) u.port = std::string(after);
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty()) return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\" has no host"));
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  return u;
}

}  // namespace

std::string QueryEscape(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

Call::Call(std::shared_ptr<Transport> transport, CURL* h) : transport_(std::move(transport)), h_(h) {}

Call::~Call() {
  transport_->Release(h_);
  curl_slist_free_all(headers_);
  curl_slist_free_all(connect_to_);
}

size_t Call::OnData(char* p, size_t size, size_t n, void* ud) {
  static_cast<Call*>(ud)->body_.append(p, size * n);
  return size * n;
}

size_t Call::OnHeader(char* p, size_t size, size_t n, void* ud) {
  auto* call = static_cast<Call*>(ud);
  absl::string_view line(p, size * n);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new answer (after a 1xx, or a redirect): forget the last one.
    call->headers_done_ = false;
    call->retry_after_.reset();
    absl::string_view rest = line.substr(line.find(' ') == absl::string_view::npos ? line.size() : line.find(' ') + 1);
    int code = 0;
    if (absl::SimpleAtoi(rest.substr(0, 3), &code)) call->status_ = code;
    return size * n;
  }
  absl::string_view trimmed = absl::StripAsciiWhitespace(line);
  if (trimmed.empty()) {
    if (call->status_ >= 200) call->headers_done_ = true;
    return size * n;
  }
  size_t colon = trimmed.find(':');
  if (colon != absl::string_view::npos && absl::EqualsIgnoreCase(trimmed.substr(0, colon), "retry-after")) {
    int64_t seconds = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(trimmed.substr(colon + 1)), &seconds) && seconds >= 0) {
      call->retry_after_ = absl::Seconds(seconds);
    }
  }
  return size * n;
}

HttpResult Call::Finish(CURLcode code) {
  HttpResult r;
  r.curl = code;
  if (code != CURLE_OK) {
    r.curl_error = errbuf_[0] != '\0' ? std::string(errbuf_) : std::string(curl_easy_strerror(code));
    return r;
  }
  long status = 0;
  curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
  r.status = static_cast<int>(status);
  r.body = TakeBody();
  r.retry_after = retry_after_;
  return r;
}

Transport::Transport(const RestConfig& config, const RestClientOptions& options)
    : config_(config),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      tokens_(config.bearer_token, config.bearer_token_file),
      limiter_(config.qps, config.burst, clock_) {}

absl::StatusOr<std::shared_ptr<Transport>> Transport::Create(const RestConfig& config,
                                                             const RestClientOptions& options) {
  GlobalInit();
  auto url = ParseServer(config.server);
  if (!url.ok()) return url.status();
  std::shared_ptr<Transport> t(new Transport(config, options));
  if (!config.tls_server_name.empty()) {
    // libcurl has no separate SNI/verify name: ask for the name in the URL
    // and connect to the real address underneath.
    t->base_url_ = absl::StrCat(url->scheme, "://", config.tls_server_name, ":", url->port, url->prefix);
    t->connect_to_ = absl::StrCat(config.tls_server_name, ":", url->port, ":", url->host, ":", url->port);
  } else {
    t->base_url_ = absl::StrCat(url->scheme, "://", url->host, ":", url->port, url->prefix);
  }
  t->share_ = curl_share_init();
  if (t->share_ == nullptr) return absl::InternalError("curl_share_init failed");
  curl_share_setopt(t->share_, CURLSHOPT_LOCKFUNC, &Transport::LockShare);
  curl_share_setopt(t->share_, CURLSHOPT_UNLOCKFUNC, &Transport::UnlockShare);
  curl_share_setopt(t->share_, CURLSHOPT_USERDATA, t.get());
  // Not the connections (CURL_LOCK_DATA_CONNECT): libcurl's shared
  // connection cache is not thread-safe, locks or not (curl's KNOWN_BUGS,
  // "A shared connection cache is not thread-safe"): herdd's threads
  // corrupted the heap through it. A connection stays with the handle that
  // opened it, and the pool keeps both for the next request.
  curl_share_setopt(t->share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(t->share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  return t;
}

Transport::~Transport() {
  {
    absl::MutexLock lock(&pool_mu_);
    for (CURL* h : idle_) curl_easy_cleanup(h);
    idle_.clear();
  }
  // Every handle using the share is gone: calls hold the transport alive.
  if (share_ != nullptr) curl_share_cleanup(share_);
}

void Transport::LockShare(CURL*, curl_lock_data data, curl_lock_access, void* ud) {
  static_cast<Transport*>(ud)->share_mu_[data].lock();
}

void Transport::UnlockShare(CURL*, curl_lock_data data, void* ud) {
  static_cast<Transport*>(ud)->share_mu_[data].unlock();
}

CURL* Transport::Acquire() {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (h != nullptr) curl_easy_setopt(h, CURLOPT_SHARE, share_);
  return h;
}

void Transport::Release(CURL* h) {
  if (h == nullptr) return;
  // Keeps the share and the connection; drops the options and pointers
  // into the finished call.
  curl_easy_reset(h);
  {
    absl::MutexLock lock(&pool_mu_);
    if (idle_.size() < options_.max_idle_handles) {
      idle_.push_back(h);
      return;
    }
  }
  curl_easy_cleanup(h);
}

std::string Transport::UrlOf(absl::string_view path) const { return absl::StrCat(base_url_, path); }

std::unique_ptr<Call> Transport::Prepare(const HttpRequest& req) {
  CURL* h = Acquire();
  // Without a handle nothing can be sent; curl_easy_init only fails when
  // memory is exhausted, which is not worth a status of its own.
  if (h == nullptr) std::abort();
  std::unique_ptr<Call> call(new Call(shared_from_this(), h));

  call->url_ = UrlOf(req.path);
  char sep = '?';
  for (const auto& [k, v] : req.query) {
    absl::StrAppend(&call->url_, absl::string_view(&sep, 1), QueryEscape(k), "=", QueryEscape(v));
    sep = '&';
  }
  curl_easy_setopt(h, CURLOPT_URL, call->url_.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf_);
  curl_easy_setopt(h, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Call::OnData);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, call.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Call::OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, call.get());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  absl::Duration timeout = req.timeout;
  if (timeout == absl::ZeroDuration()) {
    timeout = config_.timeout > absl::ZeroDuration() ? config_.timeout : options_.default_timeout;
  }
  if (timeout != absl::InfiniteDuration() && timeout > absl::ZeroDuration()) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  }
  // Lists can be large and the API server compresses them when asked.
  if (!req.watch) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");

  // TLS.
  if (!config_.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(config_.ca_pem.data()), config_.ca_pem.size(), CURL_BLOB_COPY};
    // Only the configured CA: not also the system bundle.
    curl_easy_setopt(h, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config_.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(config_.client_cert_pem.data()), config_.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(config_.client_key_pem.data()), config_.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
  }
  if (!connect_to_.empty()) {
    call->connect_to_ = curl_slist_append(nullptr, connect_to_.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, call->connect_to_);
  }

  // Headers and authentication.
  call->headers_ = curl_slist_append(call->headers_, "Accept: application/json");
  // libcurl would otherwise wait for "100 Continue" before large bodies.
  call->headers_ = curl_slist_append(call->headers_, "Expect:");
  std::string token = tokens_.Token();
  if (!token.empty()) {
    call->headers_ = curl_slist_append(call->headers_, absl::StrCat("Authorization: Bearer ", token).c_str());
  } else if (!config_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
  }

  for (const auto& [name, value] : req.headers) {
    call->headers_ = curl_slist_append(call->headers_, absl::StrCat(name, ": ", value).c_str());
  }

  // Method and body.
  bool has_body = !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (has_body) {
    call->request_body_ = req.body;
    call->headers_ = curl_slist_append(
        call->headers_,
        absl::StrCat("Content-Type: ", req.content_type.empty() ? "application/json" : req.content_type).c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call->request_body_.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->request_body_.data());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers_);
  return call;
}

HttpResult Transport::Perform(const HttpRequest& req) {
  std::unique_ptr<Call> call = Prepare(req);
  CURLcode code = curl_easy_perform(call->handle());
  return call->Finish(code);
}

}  // namespace herd::kube::internal
