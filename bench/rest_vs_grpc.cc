// GetWorkload over REST (herdd's HTTP port, or herd-gateway) and over gRPC,
// side by side against the same herdd: latency percentiles with one caller,
// then throughput with several. bench/rest_vs_grpc.py starts the herdd.
//
//   rest_vs_grpc_bench --grpc=127.0.0.1:50051 --http=127.0.0.1:8080
//       --name=namespaces/shop/deployments/web --requests=5000 --concurrency=4   (one line)
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/flags/flags.h"
#include "grpcpp/grpcpp.h"
#include "herd/v1/herd.grpc.pb.h"

ABSL_FLAG(std::string, grpc, "127.0.0.1:50051", "herdd's gRPC address");
ABSL_FLAG(std::string, http, "127.0.0.1:8080", "the REST address (herdd's HTTP port or herd-gateway)");
ABSL_FLAG(std::string, name, "namespaces/shop/deployments/web", "the workload to get");
ABSL_FLAG(int, requests, 5000, "calls per measurement");
ABSL_FLAG(int, concurrency, 4, "callers in the throughput measurement");

namespace {

using Clock = std::chrono::steady_clock;

// One caller's connection: Call() makes one GetWorkload and says whether it
// succeeded.
using Caller = std::function<bool()>;

size_t Discard(char*, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(size * n, ' ');
  return size * n;
}

Caller RestCaller(const std::string& url) {
  auto handle = std::shared_ptr<CURL>(curl_easy_init(), curl_easy_cleanup);
  auto body = std::make_shared<std::string>();
  curl_easy_setopt(handle.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle.get(), CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(handle.get(), CURLOPT_WRITEDATA, body.get());
  curl_easy_setopt(handle.get(), CURLOPT_TCP_NODELAY, 1L);
  return [handle, body] {
    body->clear();
    if (curl_easy_perform(handle.get()) != CURLE_OK) return false;
    long code = 0;
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &code);
    return code == 200 && !body->empty();
  };
}

Caller GrpcCaller(const std::shared_ptr<grpc::Channel>& channel, const std::string& name) {
  auto stub = std::shared_ptr<herd::v1::Herd::Stub>(herd::v1::Herd::NewStub(channel));
  return [stub, name] {
    grpc::ClientContext ctx;
    herd::v1::GetWorkloadRequest req;
    req.set_name(name);
    herd::v1::Workload w;
    return stub->GetWorkload(&ctx, req, &w).ok();
  };
}

struct Result {
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
  double per_second = 0;
  int failed = 0;
};

// `callers.size()` threads, `total` calls between them; latencies of each.
Result Measure(std::vector<Caller> callers, int total) {
  std::vector<std::vector<double>> lat(callers.size());
  std::vector<int> failed(callers.size());
  int each = total / static_cast<int>(callers.size());
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t t = 0; t < callers.size(); ++t) {
    threads.emplace_back([&, t] {
      lat[t].reserve(static_cast<size_t>(each));
      for (int i = 0; i < each; ++i) {
        auto t0 = Clock::now();
        if (!callers[t]()) ++failed[t];
        lat[t].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  if (all.empty()) return r;
  r.p50_ms = all[all.size() / 2];
  r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  double sum = 0;
  for (double v : all) sum += v;
  r.mean_ms = sum / static_cast<double>(all.size());
  r.per_second = static_cast<double>(all.size()) / secs;
  for (int f : failed) r.failed += f;
  return r;
}

void Print(const char* what, const Result& r) {
  std::printf("%-34s %10.0f/s %9.3f ms %9.3f ms %9.3f ms %7d\n", what, r.per_second, r.p50_ms, r.p99_ms, r.mean_ms,
              r.failed);
}

}  // namespace

int main(int argc, char** argv) {
  (void)herd::ParseFlags(argc, argv, "rest_vs_grpc_bench: GetWorkload over REST and over gRPC, side by side");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string name = absl::GetFlag(FLAGS_name);
  const std::string url = absl::StrCat("http://", absl::GetFlag(FLAGS_http), "/v1/", name);
  const int n = absl::GetFlag(FLAGS_requests);
  const int c = std::max(1, absl::GetFlag(FLAGS_concurrency));
  // One HTTP/2 connection per caller for gRPC (as separate clients would
  // have), one keep-alive HTTP/1.1 connection per caller for REST.
  auto channel = [&](int i) {
    grpc::ChannelArguments args;
    args.SetInt("herd.bench.caller", i);  // distinct arguments: distinct connections
    return grpc::CreateCustomChannel(absl::GetFlag(FLAGS_grpc), grpc::InsecureChannelCredentials(), args);
  };
  auto grpc_callers = [&](int k) {
    std::vector<Caller> v;
    for (int i = 0; i < k; ++i) v.push_back(GrpcCaller(channel(i), name));
    return v;
  };
  auto rest_callers = [&](int k) {
    std::vector<Caller> v;
    for (int i = 0; i < k; ++i) v.push_back(RestCaller(url));
    return v;
  };
  // Warm up both paths (connections, caches).
  Measure(grpc_callers(c), std::min(n, 500));
  Measure(rest_callers(c), std::min(n, 500));

  std::printf("GetWorkload %s, %d calls per row\n", name.c_str(), n);
  std::printf("%-34s %12s %12s %12s %12s %7s\n", "", "throughput", "p50", "p99", "mean", "failed");
  Result g1 = Measure(grpc_callers(1), n);
  Result r1 = Measure(rest_callers(1), n);
  Print("gRPC, 1 caller", g1);
  Print("REST, 1 caller", r1);
  Result gc = Measure(grpc_callers(c), n);
  Result rc = Measure(rest_callers(c), n);
  Print(absl::StrFormat("gRPC, %d callers", c).c_str(), gc);
  Print(absl::StrFormat("REST, %d callers", c).c_str(), rc);
  std::printf("REST overhead, 1 caller: p50 %+.3f ms, p99 %+.3f ms\n", r1.p50_ms - g1.p50_ms, r1.p99_ms - g1.p99_ms);
  curl_global_cleanup();
  return g1.failed + r1.failed + gc.failed + rc.failed == 0 ? 0 : 1;
}
