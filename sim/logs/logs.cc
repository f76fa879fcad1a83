#include "sim/logs/logs.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace herd::sim {
namespace {

// A small deterministic generator, seeded by the run, so a log reads the
// same every time it is fetched.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t Seed(const ContainerRun& run) {
  uint64_t h = static_cast<uint64_t>(absl::ToUnixNanos(run.started));
  for (char c : run.pod + "/" + run.container) h = Mix(h ^ static_cast<unsigned char>(c));
  return h;
}

std::string Level(absl::string_view level, absl::string_view msg) {
  return absl::StrCat("level=", level, " msg=\"", msg, "\"");
}

const char* const kPaths[] = {"/", "/api/items", "/api/items/42", "/healthz", "/api/orders", "/metrics"};

}  // namespace

std::string LogTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", t, absl::UTCTimeZone());
}

std::vector<LogLine> ContainerLog(const ContainerRun& run, absl::Time until, size_t max_lines) {
  absl::Time end = run.finished ? std::min(*run.finished, until) : until;
  std::vector<LogLine> out;
  auto at = [&](absl::Time t, std::string text) {
    if (t <= end) out.push_back({t, std::move(text)});
  };
  const absl::Time t0 = run.started;
  const bool crash = absl::StrContains(run.image, "crashloop") || absl::StrContains(run.image, "crash-loop");
  at(t0, Level("info", absl::StrCat("starting ", run.container, " (image ", run.image, ") as pid 1")));
  at(t0 + absl::Milliseconds(3),
     Level("info", absl::StrCat("loaded configuration from /etc/", run.container, "/config.yaml")));
  if (run.job) {
    at(t0 + absl::Milliseconds(5), Level("info", "processing batch"));
    if (run.finished) {
      if (run.exit_code == 0) {
        at(*run.finished, Level("info", "done: processed 100 items"));
      } else {
        at(*run.finished, Level("error", "batch failed: item 17: upstream returned 500 Internal Server Error"));
        at(*run.finished, absl::StrCat("exit status ", run.exit_code));
      }
    }
    return out;
  }
  if (crash) {
    // Fails soon after it starts, every time, and says why.
    if (run.finished) {
      absl::Time t = *run.finished;
      at(t, Level("error", "cannot connect to database at db:5432: dial tcp 10.96.0.20:5432: connect: connection refused"));
      at(t, "panic: runtime error: invalid memory address or nil pointer dereference");
      at(t, "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6a2f3c]");
      at(t, "");
      at(t, "goroutine 1 [running]:");
      at(t, "main.(*Store).Load(0x0, {0xc0000a2000, 0x1f})");
      at(t, "\t/src/store.go:87 +0x3c");
      at(t, "main.run(0xc0000b4000)");
      at(t, "\t/src/main.go:54 +0x1d4");
      at(t, "main.main()");
      at(t, "\t/src/main.go:31 +0x25");
      at(t, absl::StrCat("exit status ", run.exit_code == 0 ? 2 : run.exit_code));
    }
    return out;
  }
  at(t0 + absl::Milliseconds(8), Level("info", "listening on :8080"));
  at(t0 + absl::Milliseconds(10), Level("info", "ready to serve requests"));
  // Then a request now and then, until it ends.
  uint64_t seed = Seed(run);
  int64_t total = end > t0 ? (end - t0) / kRequestLogInterval : 0;
  int64_t n = std::max<int64_t>(1, total - static_cast<int64_t>(max_lines) + 1);
  for (absl::Time t = t0 + n * kRequestLogInterval; t <= end; t += kRequestLogInterval, ++n) {
    uint64_t r = Mix(seed + static_cast<uint64_t>(n));
    const char* path = kPaths[r % (sizeof(kPaths) / sizeof(kPaths[0]))];
    double ms = 0.2 + static_cast<double>((r >> 8) % 4000) / 100.0;
    out.push_back({t, absl::StrFormat("level=info msg=\"request\" method=GET path=%s status=200 duration=%.2fms "
                                      "remote=10.244.%d.%d",
                                      path, ms, static_cast<int>((r >> 20) % 3), static_cast<int>(2 + (r >> 24) % 200))});
  }
  if (run.finished) at(*run.finished, Level("info", "received SIGTERM, shutting down"));
  if (out.size() > max_lines) out.erase(out.begin(), out.end() - static_cast<long>(max_lines));
  return out;
}

}  // namespace herd::sim
