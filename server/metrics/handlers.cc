#include "server/metrics/handlers.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace herd::metrics {
namespace {

constexpr char kText[] = "text/plain; charset=utf-8";

// Answers a method other than GET or HEAD; false when the method is fine.
bool RefuseMethod(const http::Request& req, http::Responder& res) {
  if (req.method == "GET" || req.method == "HEAD") return false;
  res.Respond({.status = 405,
               .headers = {{"Allow", "GET, HEAD"}, {"Content-Type", kText}},
               .body = absl::StrCat("method ", req.method, " not allowed: use GET\n")});
  return true;
}

http::Response Text(const http::Request& req, int status, std::string body,
                    absl::string_view content_type = kText) {
  // The server writes whatever body it is given; a HEAD answer must have none.
  if (req.method == "HEAD") body.clear();
  return {.status = status,
          .headers = {{"Content-Type", std::string(content_type)}, {"Cache-Control", "no-store"}},
          .body = std::move(body)};
}

}  // namespace

http::Handler MetricsHandler(const Metrics& metrics) {
  return [&metrics](http::Request req, http::Responder res) {
    if (RefuseMethod(req, res)) return;
    res.Respond(Text(req, 200, metrics.Exposition(), kExpositionContentType));
  };
}

http::Handler HealthzHandler() {
  return [](http::Request req, http::Responder res) {
    if (RefuseMethod(req, res)) return;
    res.Respond(Text(req, 200, "ok\n"));
  };
}

http::Handler ReadyzHandler(ReadinessCheck check) {
  return [check = std::move(check)](http::Request req, http::Responder res) {
    if (RefuseMethod(req, res)) return;
    absl::Status ready = check ? check() : absl::OkStatus();
    if (ready.ok()) {
      res.Respond(Text(req, 200, "ok\n"));
      return;
    }
    res.Respond(Text(req, 503, absl::StrCat("not ready: ", ready.message(), "\n")));
  };
}

}  // namespace herd::metrics
