// kubesim's HTTP front, in process: raw bytes through the HTTP/1.1 request
// parsing of herd's HTTP server (common/http: Beast's parser with the
// server's limits, then the same conversion to an http::Request), and each
// request that parses into kubesim's handler (sim/http_api.h) over a fresh
// API server. Several pipelined requests share one API server, so a create
// can be followed by a get, patch, watch or delete.
//
// No request is answered twice, every status is a real one (100-599), and an
// answer that says it is JSON is JSON. Nothing crashes or throws.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "boost/asio/io_context.hpp"
#include "common/event_loop/event_loop.h"
#include "common/http/http.h"
#include "common/http/internal/exchange.h"
#include "common/http/internal/request.h"
#include "nlohmann/json.hpp"
#include "sim/apiserver.h"
#include "sim/http_api.h"
#include "sim/names.h"
#include "sim/resources.h"
#include "sim/store.h"

namespace {

namespace http = herd::http;
namespace sim = herd::sim;

[[noreturn]] void Fail() { __builtin_trap(); }

bool IsJson(const http::Headers& headers) {
  return absl::StartsWith(headers.Get("Content-Type"), "application/json");
}

void CheckBody(const http::Headers& headers, const std::string& body) {
  if (IsJson(headers) && !nlohmann::json::accept(body)) Fail();
}

// A watch's body: each chunk is one JSON event when the stream is JSON.
class RecordingStream : public http::Stream {
 public:
  explicit RecordingStream(bool json) : json_(json) {}
  bool Write(std::string data) override {
    if (closed_) return false;
    if (json_ && !nlohmann::json::accept(data)) Fail();
    return true;
  }
  void Finish() override { Close(); }
  size_t Pending() const override { return 0; }
  bool Closed() const override { return closed_; }
  void OnClose(absl::AnyInvocable<void()> cb) override {
    if (closed_) {
      cb();
    } else {
      on_close_.push_back(std::move(cb));
    }
  }
  void Close() {
    if (closed_) return;
    closed_ = true;
    auto cbs = std::move(on_close_);
    for (auto& cb : cbs) cb();
  }

 private:
  const bool json_;
  bool closed_ = false;
  std::vector<absl::AnyInvocable<void()>> on_close_;
};

// One request's answer.
class RecordingExchange : public http::internal::Exchange {
 public:
  explicit RecordingExchange(std::vector<std::shared_ptr<RecordingStream>>& streams) : streams_(streams) {}
  void Respond(http::Response response) override {
    if (answered_) Fail();
    answered_ = true;
    if (response.status < 100 || response.status > 599) Fail();
    CheckBody(response.headers, response.body);
  }
  std::shared_ptr<http::Stream> StartStream(int status, http::Headers headers) override {
    if (answered_) Fail();
    answered_ = true;
    if (status < 100 || status > 599) Fail();
    auto stream = std::make_shared<RecordingStream>(IsJson(headers));
    streams_.push_back(stream);
    return stream;
  }

 private:
  std::vector<std::shared_ptr<RecordingStream>>& streams_;
  bool answered_ = false;
};

constexpr size_t kMaxRequests = 16;
constexpr size_t kMaxBodyBytes = 1 << 20;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sim::SeedNames(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  herd::EventLoop loop;  // never started: its work is run here, by poll()
  sim::Store store(sim::StoreOptions{});
  sim::ApiServer api(store);
  for (const char* ns : {"default", "kube-system", "shop"}) {
    (void)api.Create(sim::kNamespaces, "", {{"metadata", {{"name", ns}}}});
  }
  sim::HttpApi handler(loop, api, {.server_address = "127.0.0.1:6443", .seed = 1});
  std::vector<std::shared_ptr<RecordingStream>> streams;

  boost::asio::const_buffer rest(data, size);
  for (size_t n = 0; n < kMaxRequests && rest.size() > 0; ++n) {
    http::internal::BeastParser parser;
    http::internal::LimitParser(parser, kMaxBodyBytes);
    parser.eager(true);
    boost::beast::error_code ec;
    size_t used = parser.put(rest, ec);
    // A body the first put() stopped short of comes in further calls.
    while (!ec && !parser.is_done() && used > 0 && used < rest.size()) {
      rest += used;
      used = parser.put(rest, ec);
    }
    if (ec == boost::beast::http::error::need_more) {
      parser.put_eof(ec);
    }
    if (ec || !parser.is_done()) break;
    rest += used;

    http::Request request = http::internal::FromBeast(parser.release());
    request.remote = "127.0.0.1:40000";
    auto exchange = std::make_shared<RecordingExchange>(streams);
    handler.Handle(std::move(request), http::Responder(exchange));
    loop.context().restart();
    loop.context().poll();
  }
  handler.CloseWatches();
  for (auto& s : streams) s->Close();
  loop.context().restart();
  loop.context().poll();
  return 0;
}
