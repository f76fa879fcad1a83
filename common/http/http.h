// A small HTTP/1.1 server (optionally TLS) for kubesim's API and herdd's
// HTTP port, on an EventLoop.
//
//   herd::EventLoop loop; loop.Start();
//   auto server = herd::http::Server::Start(loop, {.listen = "127.0.0.1:0"},
//       [](herd::http::Request req, herd::http::Responder res) {
//         res.Respond({.status = 200, .body = "ok"});
//       });
//   int port = (*server)->port();
//
// A handler answers once through its Responder, from any thread and at any
// time (so a handler may hand the work elsewhere), either with a whole
// Response or by starting a chunked Stream (watches, progress feeds).
#ifndef HERD_COMMON_HTTP_HTTP_H_
#define HERD_COMMON_HTTP_HTTP_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/event_loop/event_loop.h"

namespace herd::http {

// Header fields in order; names compare case-insensitively.
class Headers {
 public:
  Headers() = default;
  Headers(std::initializer_list<std::pair<std::string, std::string>> init) : fields_(init) {}
  void Add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every field called `name` by one.
  void Set(absl::string_view name, std::string value);
  // The first value of `name`, or "" when absent.
  absl::string_view Get(absl::string_view name) const;
  bool Has(absl::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;  // "GET", "PATCH", …
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  std::string body;
  std::string remote;  // peer address, "ip:port"
  // The client certificate's subject CN when mTLS verified one, else "".
  std::string client_cert_cn;

  // The first value of a query parameter, or nullptr.
  const std::string* Query(absl::string_view key) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

// The body of a chunked response, written piece by piece. Thread-safe.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `data` as one chunk; false once the stream has closed.
  virtual bool Write(std::string data) = 0;
  // Ends the body. Further writes return false.
  virtual void Finish() = 0;
  // Bytes queued and not yet on the wire (for dropping slow readers).
  virtual size_t Pending() const = 0;
  // Whether the stream has ended (finished, or the peer went away).
  virtual bool Closed() const = 0;
  // `cb` runs once, on a loop thread, when the stream ends for any reason;
  // at once (on a loop thread) if it already has.
  virtual void OnClose(absl::AnyInvocable<void()> cb) = 0;
};

namespace internal {
class Exchange;
}

// The one answer to one request. Movable; answering twice is a no-op.
// Dropping a Responder that never answered sends a 500.
class Responder {
 public:
  explicit Responder(std::shared_ptr<internal::Exchange> exchange);
  Responder(Responder&&) noexcept;
  Responder& operator=(Responder&&) noexcept;
  ~Responder();

  void Respond(Response response);
  // Sends the status and headers with chunked transfer encoding; the body
  // follows through the returned stream.
  std::shared_ptr<Stream> StartStream(int status, Headers headers);

 private:
  std::shared_ptr<internal::Exchange> exchange_;
};

using Handler = std::function<void(Request request, Responder responder)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  // PEM files; both set turns TLS on.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM CA bundle: client certificates are verified against it; with
  // `require_client_cert` a client without one is refused.
  std::string tls_client_ca_file;
  bool require_client_cert = false;
  size_t max_body_bytes = 32u << 20;
  // A connection idle this long between requests is closed.
  absl::Duration idle_timeout = absl::Minutes(2);
};

class Server {
 public:
  // Binds and starts accepting on `loop`. The loop must outlive the server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(EventLoop& loop, ServerOptions options,
                                                       Handler handler);
  virtual ~Server() = default;
  virtual int port() const = 0;
  // "host:port" actually bound.
  virtual std::string address() const = 0;
  virtual bool tls() const = 0;
  // Stops accepting and closes every connection (streams end). Blocks until
  // done. Must not be called from a loop thread.
  virtual void Shutdown() = 0;
};

// Standard reason phrase ("Not Found") for a status code.
absl::string_view ReasonPhrase(int status);

// Percent-decoding of a URL component ('+' stays '+'); false on bad escapes.
bool PercentDecode(absl::string_view in, std::string* out);
// Splits "a=1&b=x%20y" into decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQuery(absl::string_view query);
// Percent-encodes a query value or path segment (RFC 3986 unreserved kept).
std::string PercentEncode(absl::string_view in);

}  // namespace herd::http

#endif  // HERD_COMMON_HTTP_HTTP_H_
