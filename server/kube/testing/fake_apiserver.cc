#include "server/kube/testing/fake_apiserver.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace herd::kube {

absl::StatusOr<std::unique_ptr<FakeApiServer>> FakeApiServer::Start(http::ServerOptions options) {
  std::unique_ptr<FakeApiServer> api(new FakeApiServer);
  api->loop_.Start(2);
  FakeApiServer* self = api.get();
  auto server = http::Server::Start(api->loop_, std::move(options), [self](http::Request req, http::Responder res) {
    Handler handler;
    {
      absl::MutexLock lock(&self->mu_);
      self->requests_.push_back(req);
      handler = self->handler_;
    }
    if (handler) {
      handler(req, std::move(res));
    } else {
      res.Respond(JsonResponse(404, StatusObject(404, "NotFound", "the server could not find the requested resource")));
    }
  });
  if (!server.ok()) return server.status();
  api->server_ = std::move(*server);
  return api;
}

FakeApiServer::~FakeApiServer() {
  Shutdown();
  loop_.Stop();
}

void FakeApiServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  server_->Shutdown();
}

void FakeApiServer::SetHandler(Handler handler) {
  absl::MutexLock lock(&mu_);
  handler_ = std::move(handler);
}

std::string FakeApiServer::url() const {
  return absl::StrCat(server_->tls() ? "https://" : "http://", "127.0.0.1:", server_->port());
}

RestConfig FakeApiServer::Config() const {
  RestConfig c;
  c.server = url();
  c.qps = 0;
  c.timeout = absl::Seconds(10);
  return c;
}

std::vector<http::Request> FakeApiServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

size_t FakeApiServer::request_count() const {
  absl::MutexLock lock(&mu_);
  return requests_.size();
}

bool FakeApiServer::WaitForRequests(size_t n, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return requests_.size() >= n; };
  return mu_.AwaitWithDeadline(absl::Condition(&enough), deadline);
}

void WatchQueue::Accept(const http::Request& request, http::Responder responder) {
  http::Headers h;
  h.Add("Content-Type", "application/json");
  auto stream = responder.StartStream(200, std::move(h));
  absl::MutexLock lock(&mu_);
  queue_.push_back(Watch{request, std::move(stream)});
}

std::optional<WatchQueue::Watch> WatchQueue::Next(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); };
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) return std::nullopt;
  Watch w = std::move(queue_.front());
  queue_.pop_front();
  return w;
}

http::Response JsonResponse(int status, const nlohmann::json& body) {
  http::Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = body.dump();
  return r;
}

nlohmann::json StatusObject(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
          {"status", "Failure"}, {"message", message},   {"reason", reason},
          {"code", code}};
}

std::string EventLine(const std::string& type, const nlohmann::json& object) {
  return absl::StrCat(nlohmann::json{{"type", type}, {"object", object}}.dump(), "\n");
}

absl::StatusOr<std::string> ReferenceBody(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string line, out;
  bool header = true;
  while (std::getline(in, line)) {
    if (header && absl::StartsWith(line, "#")) continue;
    header = false;
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace herd::kube
