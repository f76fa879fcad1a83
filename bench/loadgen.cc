// Load generator for herdd: keeps --concurrency calls of one kind in flight
// (gRPC's callback API: no thread per call) for --duration, then prints the
// throughput and the latency percentiles. bench/loadgen.py starts kubesim
// and herdd and runs it for each kind.
//
//   loadgen_bench --server=127.0.0.1:50051 --call=get --concurrency=16 --duration=10s
//   loadgen_bench --call=list --page-size=100       (every page of every namespace)
//   loadgen_bench --call=kill --pods-file=pods.txt  (lines NAMESPACE/POD, each killed once)
//
// get: GetWorkload round-robin over the workloads a first full listing
// finds. list: ListWorkloads over all namespaces, page after page; a row for
// the pages and one for the full listings (a listing begun is finished past
// --duration). kill: one pod a call, evicted for
// real (dry_run false), no pod twice; ends early when the pods run out.
// Exits 1 when a call failed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/flags/flags.h"
#include "grpcpp/grpcpp.h"
#include "herd/v1/herd.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "herdd's gRPC address");
ABSL_FLAG(std::string, token, "", "Bearer token (none: herdd runs with --insecure-no-auth)");
ABSL_FLAG(std::string, call, "get", "What to call: get (GetWorkload), list (ListWorkloads, all pages) or kill (Kill)");
ABSL_FLAG(int, concurrency, 8, "Calls in flight");
ABSL_FLAG(int, channels, 0, "gRPC connections the calls share (0: min(concurrency, 4))");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "How long to keep calling");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(60), "Deadline of each call");
ABSL_FLAG(int, page_size, 0, "list: ListWorkloads page size (0: the server's default)");
ABSL_FLAG(std::string, pods_file, "", "kill: the pods, one NAMESPACE/NAME a line");

namespace {

using Clock = std::chrono::steady_clock;
using herd::v1::Herd;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// What one caller (a chain of calls, one after another) saw. A slot is only
// touched by its own chain, whose calls gRPC runs one at a time, so it needs
// no lock.
struct Slot {
  std::vector<double> call_ms;
  // list: the time of each complete listing (all its pages).
  std::vector<double> listing_ms;
  std::map<grpc::StatusCode, int> errors;
  std::string last_error;
  // list: where this slot's listing is.
  std::string page_token;
  Clock::time_point listing_start;
  int listing_workloads = 0;
  int workloads_per_listing = 0;
};

// One row of the report: how many calls, how fast, how long each took.
struct Summary {
  size_t calls = 0;
  double per_second = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentile of sorted latencies.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

Summary Summarize(std::vector<double> ms, double seconds) {
  std::sort(ms.begin(), ms.end());
  Summary s;
  s.calls = ms.size();
  s.per_second = seconds > 0 ? static_cast<double>(ms.size()) / seconds : 0;
  s.p50 = Percentile(ms, 0.50);
  s.p90 = Percentile(ms, 0.90);
  s.p99 = Percentile(ms, 0.99);
  s.max = ms.empty() ? 0 : ms.back();
  return s;
}

void PrintHeader() {
  std::printf("%-22s %9s %11s %10s %10s %10s %10s\n", "", "calls", "per second", "p50 ms", "p90 ms", "p99 ms", "max ms");
}

void PrintRow(const char* what, const Summary& s) {
  std::printf("%-22s %9zu %11.1f %10.3f %10.3f %10.3f %10.3f\n", what, s.calls, s.per_second, s.p50, s.p90, s.p99,
              s.max);
}

// Keeps one call in flight per slot until the deadline (and a listing
// until its last page): each call's end starts the slot's next. `start(slot, done)` starts one call and returns
// true, or returns false when there is no more work; the call must invoke
// `done` exactly once with its status.
class ClosedLoop {
 public:
  using Done = std::function<void(const grpc::Status&)>;
  using Start = std::function<bool(Slot& slot, Done done)>;

  ClosedLoop(int concurrency, Start start) : slots_(static_cast<size_t>(concurrency)), start_(std::move(start)) {}

  // Runs the slots for `duration` (calls in flight then finish); returns the
  // seconds from the first call to the last answer. Every slot has ended
  // when it returns; a call still running `grace` past the deadline aborts
  // the program (the slots would otherwise be read while in use).
  double Run(absl::Duration duration, absl::Duration grace) {
    const auto start = Clock::now();
    deadline_ = start + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(duration));
    {
      absl::MutexLock lock(&mu_);
      running_ = static_cast<int>(slots_.size());
    }
    for (Slot& s : slots_) Next(s);
    absl::MutexLock lock(&mu_);
    const bool ended = mu_.AwaitWithTimeout(absl::Condition(
                                                +[](int* n) { return *n == 0; }, &running_),
                                            duration + grace);
    if (!ended) {
      std::fprintf(stderr, "loadgen: calls still running %s after the end; giving up\n",
                   absl::FormatDuration(grace).c_str());
      std::abort();
    }
    return std::chrono::duration<double>(last_end_ - start).count();
  }

  std::vector<Slot>& slots() { return slots_; }

 private:
  void Next(Slot& s) {
    // A listing begun goes on to its last page, past the deadline if need
    // be: a full listing can outlast the run, and is what is measured.
    if (Clock::now() < deadline_ || !s.page_token.empty()) {
      const auto t0 = Clock::now();
      if (start_(s, [this, &s, t0](const grpc::Status& st) {
            if (st.ok()) {
              s.call_ms.push_back(MillisSince(t0));
            } else {
              ++s.errors[st.error_code()];
              s.last_error = st.error_message();
            }
            Next(s);
          })) {
        return;
      }
    }
    absl::MutexLock lock(&mu_);
    last_end_ = std::max(last_end_, Clock::now());
    --running_;
  }

  std::vector<Slot> slots_;
  const Start start_;
  Clock::time_point deadline_;
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  Clock::time_point last_end_ ABSL_GUARDED_BY(mu_);
};

// The calls, one connection per channel (distinct channel arguments keep
// gRPC from sharing one), slots spread over them.
class Callers {
 public:
  Callers(const std::string& server, int channels, std::string token, absl::Duration timeout)
      : token_(std::move(token)), timeout_(timeout) {
    for (int i = 0; i < channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("herd.loadgen.channel", i);
      auto channel = grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
      channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
      stubs_.push_back(Herd::NewStub(channel));
    }
  }

  Herd::Stub& stub() { return *stubs_[next_++ % stubs_.size()]; }

  void Prepare(grpc::ClientContext& ctx) const {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(timeout_)));
    if (!token_.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  }

 private:
  std::vector<std::unique_ptr<Herd::Stub>> stubs_;
  std::atomic<size_t> next_{0};
  const std::string token_;
  const absl::Duration timeout_;
};

// One call's request and answer, alive until its callback has run.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext ctx;
  Request req;
  Response resp;
};

// "Deployment" → "deployments", as resource names spell the kind.
std::string Plural(const std::string& kind) {
  if (kind == "StatefulSet") return "statefulsets";
  if (kind == "CronJob") return "cronjobs";
  return "deployments";
}

// The resource name of every workload, by one full listing (synchronous).
std::vector<std::string> ListNames(Callers& callers, int page_size) {
  std::vector<std::string> names;
  std::string token;
  do {
    grpc::ClientContext ctx;
    callers.Prepare(ctx);
    herd::v1::ListWorkloadsRequest req;
    req.set_page_size(page_size);
    req.set_page_token(token);
    herd::v1::ListWorkloadsResponse resp;
    grpc::Status st = callers.stub().ListWorkloads(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "loadgen: ListWorkloads: %s\n", st.error_message().c_str());
      std::exit(1);
    }
    for (const auto& w : resp.workloads()) {
      names.push_back(absl::StrCat("namespaces/", w.namespace_(), "/", Plural(w.kind()), "/", w.name()));
    }
    token = resp.next_page_token();
  } while (!token.empty());
  return names;
}

// NAMESPACE/NAME lines.
std::vector<std::pair<std::string, std::string>> ReadPods(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> pods;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "loadgen: cannot read --pods-file %s\n", path.c_str());
    std::exit(2);
  }
  for (std::string line; std::getline(in, line);) {
    std::pair<std::string, std::string> p = absl::StrSplit(absl::StripAsciiWhitespace(line), absl::MaxSplits('/', 1));
    if (!p.first.empty() && !p.second.empty()) pods.push_back(std::move(p));
  }
  return pods;
}

ClosedLoop::Start GetWorkloads(Callers& callers, std::vector<std::string> names) {
  auto next = std::make_shared<std::atomic<size_t>>(0);
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(names));
  return [&callers, next, shared](Slot&, ClosedLoop::Done done) {
    auto call = std::make_shared<Call<herd::v1::GetWorkloadRequest, herd::v1::Workload>>();
    callers.Prepare(call->ctx);
    call->req.set_name((*shared)[next->fetch_add(1) % shared->size()]);
    callers.stub().async()->GetWorkload(&call->ctx, &call->req, &call->resp,
                                        [call, done](grpc::Status st) { done(st); });
    return true;
  };
}

ClosedLoop::Start ListPages(Callers& callers, int page_size) {
  return [&callers, page_size](Slot& s, ClosedLoop::Done done) {
    if (s.page_token.empty()) {
      s.listing_start = Clock::now();
      s.listing_workloads = 0;
    }
    auto call = std::make_shared<Call<herd::v1::ListWorkloadsRequest, herd::v1::ListWorkloadsResponse>>();
    callers.Prepare(call->ctx);
    call->req.set_page_size(page_size);
    call->req.set_page_token(s.page_token);
    callers.stub().async()->ListWorkloads(&call->ctx, &call->req, &call->resp, [call, done, &s](grpc::Status st) {
      if (st.ok()) {
        s.listing_workloads += call->resp.workloads_size();
        s.page_token = call->resp.next_page_token();
        if (s.page_token.empty()) {
          s.listing_ms.push_back(MillisSince(s.listing_start));
          s.workloads_per_listing = s.listing_workloads;
        }
      } else {
        s.page_token.clear();  // start the listing again
      }
      done(st);
    });
    return true;
  };
}

ClosedLoop::Start KillPods(Callers& callers, std::vector<std::pair<std::string, std::string>> pods) {
  auto next = std::make_shared<std::atomic<size_t>>(0);
  auto shared = std::make_shared<const std::vector<std::pair<std::string, std::string>>>(std::move(pods));
  return [&callers, next, shared](Slot&, ClosedLoop::Done done) {
    const size_t i = next->fetch_add(1);
    if (i >= shared->size()) return false;
    auto call = std::make_shared<Call<herd::v1::KillRequest, herd::v1::Operation>>();
    callers.Prepare(call->ctx);
    call->req.set_namespace_((*shared)[i].first);
    call->req.add_pods((*shared)[i].second);
    callers.stub().async()->Kill(&call->ctx, &call->req, &call->resp, [call, done](grpc::Status st) { done(st); });
    return true;
  };
}

}  // namespace

int main(int argc, char** argv) {
  (void)herd::ParseFlags(argc, argv,
                         "loadgen_bench --server=HOST:PORT --call=get|list|kill [--concurrency=N] [--duration=D]");
  const std::string kind = absl::GetFlag(FLAGS_call);
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  const int channels = absl::GetFlag(FLAGS_channels) > 0 ? absl::GetFlag(FLAGS_channels) : std::min(concurrency, 4);
  const int page_size = absl::GetFlag(FLAGS_page_size);
  const absl::Duration timeout = absl::GetFlag(FLAGS_call_timeout);
  Callers callers(absl::GetFlag(FLAGS_server), channels, absl::GetFlag(FLAGS_token), timeout);

  ClosedLoop::Start start;
  std::string what;
  if (kind == "get") {
    std::vector<std::string> names = ListNames(callers, page_size);
    if (names.empty()) {
      std::fprintf(stderr, "loadgen: no workloads to get\n");
      return 1;
    }
    what = absl::StrCat("GetWorkload over ", names.size(), " workloads");
    start = GetWorkloads(callers, std::move(names));
  } else if (kind == "list") {
    what = absl::StrCat("ListWorkloads, all namespaces, page size ", page_size > 0 ? absl::StrCat(page_size) : "default");
    start = ListPages(callers, page_size);
  } else if (kind == "kill") {
    auto pods = ReadPods(absl::GetFlag(FLAGS_pods_file));
    what = absl::StrCat("Kill, one pod a call, ", pods.size(), " pods at most");
    start = KillPods(callers, std::move(pods));
  } else {
    std::fprintf(stderr, "loadgen: --call must be get, list or kill, not \"%s\"\n", kind.c_str());
    return 2;
  }

  ClosedLoop loop(concurrency, std::move(start));
  const double seconds = loop.Run(absl::GetFlag(FLAGS_duration), timeout + absl::Seconds(10));

  std::vector<double> calls, listings;
  std::map<grpc::StatusCode, int> errors;
  std::string last_error;
  int workloads = 0;
  for (Slot& s : loop.slots()) {
    calls.insert(calls.end(), s.call_ms.begin(), s.call_ms.end());
    listings.insert(listings.end(), s.listing_ms.begin(), s.listing_ms.end());
    for (const auto& [code, n] : s.errors) errors[code] += n;
    if (!s.last_error.empty()) last_error = s.last_error;
    workloads = std::max(workloads, s.workloads_per_listing);
  }
  std::printf("%s: %d in flight on %d connection%s, %.1f s\n", what.c_str(), concurrency, channels,
              channels == 1 ? "" : "s", seconds);
  PrintHeader();
  PrintRow(kind == "list" ? "page" : "call", Summarize(calls, seconds));
  if (kind == "list") {
    PrintRow("full listing", Summarize(listings, seconds));
    std::printf("workloads in a listing: %d\n", workloads);
  }
  int failed = 0;
  for (const auto& [code, n] : errors) {
    std::printf("failed: %d with %s\n", n, absl::StatusCodeToString(static_cast<absl::StatusCode>(code)).c_str());
    failed += n;
  }
  if (failed > 0) std::printf("last error: %s\n", last_error.c_str());
  return failed == 0 ? 0 : 1;
}
