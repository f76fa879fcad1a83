// A scriptable stand-in for the Kubernetes API server in unit tests: an
// herd::http::Server on a loopback port that records every request and
// answers through a handler the test sets (and may change mid-test).
//
//   auto api = FakeApiServer::Start();
//   (*api)->SetHandler([](const http::Request& req, http::Responder res) {
//     res.Respond(JsonResponse(200, {{"kind", "Pod"}}));
//   });
//   auto client = NewRestClient((*api)->Config());
//
// WatchQueue hands the chunked streams of watch requests to the test, which
// writes events into them.
#ifndef HERD_SERVER_KUBE_TESTING_FAKE_APISERVER_H_
#define HERD_SERVER_KUBE_TESTING_FAKE_APISERVER_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/event_loop/event_loop.h"
#include "common/http/http.h"
#include "nlohmann/json.hpp"
#include "server/kube/config.h"

namespace herd::kube {

class FakeApiServer {
 public:
  using Handler = std::function<void(const http::Request& request, http::Responder responder)>;

  // Listens on 127.0.0.1, port 0, unless `options` say otherwise. Until a
  // handler is set every request gets a 404 Status.
  static absl::StatusOr<std::unique_ptr<FakeApiServer>> Start(http::ServerOptions options = {});
  ~FakeApiServer();

  // Thread-safe; applies to requests that arrive afterwards.
  void SetHandler(Handler handler);

  int port() const { return server_->port(); }
  // "http://127.0.0.1:PORT" (https with TLS).
  std::string url() const;
  // A config for this server: no auth, unlimited rate.
  RestConfig Config() const;

  // Every request so far, in arrival order. Thread-safe.
  std::vector<http::Request> requests() const;
  size_t request_count() const;
  // Waits until `n` requests have arrived; false at the deadline.
  bool WaitForRequests(size_t n, absl::Time deadline) const;

  // Closes the listener and every connection (streams end). Idempotent.
  void Shutdown();

 private:
  FakeApiServer() = default;

  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
  mutable absl::Mutex mu_;
  Handler handler_ ABSL_GUARDED_BY(mu_);
  std::vector<http::Request> requests_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ = false;
};

// Watches accepted by a handler, waiting for the test to feed them.
// Thread-safe.
class WatchQueue {
 public:
  struct Watch {
    http::Request request;
    std::shared_ptr<http::Stream> stream;
  };
  // Answers `request` with a 200 chunked stream and queues it.
  void Accept(const http::Request& request, http::Responder responder);
  // The oldest accepted watch not yet taken; nullopt at the deadline.
  std::optional<Watch> Next(absl::Time deadline);

 private:
  absl::Mutex mu_;
  std::deque<Watch> queue_ ABSL_GUARDED_BY(mu_);
};

http::Response JsonResponse(int status, const nlohmann::json& body);
// A metav1.Status as the API server writes it.
nlohmann::json StatusObject(int code, const std::string& reason, const std::string& message);
// One watch event line: {"type":TYPE,"object":OBJECT}\n
std::string EventLine(const std::string& type, const nlohmann::json& object);
// The body of a reference capture: the file without its leading '#' lines.
absl::StatusOr<std::string> ReferenceBody(const std::string& path);

}  // namespace herd::kube

#endif  // HERD_SERVER_KUBE_TESTING_FAKE_APISERVER_H_
