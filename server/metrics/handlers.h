// The operational endpoints of herdd's HTTP port, as herd::http handlers:
// /metrics (Prometheus text exposition), /healthz (the process is alive)
// and /readyz (it can do its job now).
//
//   herd::metrics::Metrics metrics({.version = "0.1.0"});
//   auto metrics_handler = herd::metrics::MetricsHandler(metrics);
//   auto ready = herd::metrics::ReadyzHandler([&]() -> absl::Status {
//     if (!informers.synced()) return absl::UnavailableError("informers not synced");
//     return absl::OkStatus();
//   });
//   // in the HTTP server's router:
//   if (req.path == "/metrics") return metrics_handler(std::move(req), std::move(res));
//
// Each handler answers GET and HEAD (405 otherwise), at once, from the
// thread that calls it; the handlers are thread-safe.
#ifndef HERD_SERVER_METRICS_HANDLERS_H_
#define HERD_SERVER_METRICS_HANDLERS_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "server/metrics/metrics.h"

namespace herd::metrics {

inline constexpr absl::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// 200 with Metrics::Exposition(). `metrics` is not owned and must outlive
// the handler.
http::Handler MetricsHandler(const Metrics& metrics);

// 200 "ok" whenever the process can answer at all.
http::Handler HealthzHandler();

// OK: herd is ready; otherwise why not (the message becomes the body).
// Called on every probe, on the HTTP server's thread: it must be quick and
// must not block (read flags, do not call the API server).
using ReadinessCheck = std::function<absl::Status()>;

// 200 "ok" when `check` says OK, else 503 "not ready: MESSAGE".
http::Handler ReadyzHandler(ReadinessCheck check);

}  // namespace herd::metrics

#endif  // HERD_SERVER_METRICS_HANDLERS_H_
