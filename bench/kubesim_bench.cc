// kubesim at scale, and herd's Kubernetes client per request:
//
//   build/bin/kubesim_bench [--pods=10000] [--watchers=200] [--updates=2000]
//
// 1. list: full LISTs of every pod over HTTP (one page, and pages of 500);
// 2. watch fan-out: `watchers` watches on all pods, `updates` pod changes,
//    until every watcher has seen every change;
// 3. client overhead: GETs of one small object through herd's client and
//    through bare libcurl (one kept-alive connection each), side by side;
// 4. kubesim's resident memory with the pods stored.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/flags/flags.h"
#include "server/kube/rest_client.h"
#include "sim/apiserver.h"
#include "sim/kubesim.h"

ABSL_FLAG(int, pods, 10000, "Pods stored in kubesim");
ABSL_FLAG(int, watchers, 200, "Concurrent watches");
ABSL_FLAG(int, updates, 2000, "Pod changes every watcher must see");
ABSL_FLAG(int, lists, 20, "Full lists timed");
ABSL_FLAG(int, gets, 2000, "GETs timed per client");

namespace {

using herd::kube::Json;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

Json Pod(int i) {
  return {{"metadata", {{"name", absl::StrCat("pod-", i)}, {"labels", {{"app", absl::StrCat("app-", i % 50)}}}}},
          {"spec",
           {{"containers", Json::array({{{"name", "c"}, {"image", "registry.example/app:1.0"}}})},
            {"nodeName", absl::StrCat("kubesim-node-", 1 + i % 3)}}}};
}

size_t Discard(char*, size_t size, size_t n, void* ud) {
  *static_cast<size_t*>(ud) += size * n;
  return size * n;
}

}  // namespace

int main(int argc, char** argv) {
  herd::ParseFlags(argc, argv, "kubesim_bench [--pods=N] [--watchers=N] [--updates=N]");
  const int pods = absl::GetFlag(FLAGS_pods);
  const int watchers = absl::GetFlag(FLAGS_watchers);
  const int updates = absl::GetFlag(FLAGS_updates);

  herd::sim::SimulatorOptions so;
  so.nodes = 0;  // no kubelets or scheduler work: this measures the API server
  so.watch_history = static_cast<size_t>(updates) * 2;
  auto sim = herd::sim::Simulator::Start(so);
  if (!sim.ok()) {
    std::fprintf(stderr, "kubesim: %s\n", std::string(sim.status().message()).c_str());
    return 1;
  }
  long rss_before = RssKiB();
  absl::Time t = absl::Now();
  (*sim)->Run([&](herd::sim::ApiServer& api) {
    (void)api.Create(herd::sim::kNamespaces, "", {{"metadata", {{"name", "bench"}}}});
    for (int i = 0; i < pods; ++i) (void)api.Create(herd::sim::kPods, "bench", Pod(i));
  });
  double seed_s = absl::ToDoubleSeconds(absl::Now() - t);
  long rss_after = RssKiB();

  herd::kube::RestConfig rc;
  rc.server = (*sim)->url();
  rc.qps = 0;
  auto client = herd::kube::NewRestClient(rc);
  if (!client.ok()) return 1;
  herd::kube::KubeClient& kube = **client;

  std::printf("kubesim_bench: %d pods, %d watchers, %d updates (%s)\n", pods, watchers, updates,
              absl::FormatTime("%Y-%m-%d %H:%M", absl::Now(), absl::UTCTimeZone()).c_str());
  std::printf("  stored %d pods in %.2f s; kubesim memory +%.1f MiB (process RSS %.1f MiB)\n", pods, seed_s,
              static_cast<double>(rss_after - rss_before) / 1024.0, static_cast<double>(rss_after) / 1024.0);

  // 1. Lists.
  std::vector<double> full, paged;
  size_t items = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_lists); ++i) {
    absl::Time s = absl::Now();
    auto l = kube.List(herd::kube::kPods, "bench");
    full.push_back(absl::ToDoubleMilliseconds(absl::Now() - s));
    if (l.ok()) items = l->items.size();
    s = absl::Now();
    auto all = kube.ListAll(herd::kube::kPods, "bench", {.limit = 500});
    paged.push_back(absl::ToDoubleMilliseconds(absl::Now() - s));
  }
  // The same list read by bare libcurl: kubesim's share of the time.
  std::vector<double> raw_list;
  size_t raw_bytes = 0;
  {
    CURL* h = curl_easy_init();
    std::string url = (*sim)->url() + "/api/v1/namespaces/bench/pods";
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Discard);
    for (int i = 0; i < absl::GetFlag(FLAGS_lists); ++i) {
      size_t bytes = 0;
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
      absl::Time s = absl::Now();
      curl_easy_perform(h);
      raw_list.push_back(absl::ToDoubleMilliseconds(absl::Now() - s));
      raw_bytes = bytes;
    }
    curl_easy_cleanup(h);
  }
  std::printf("  list %zu pods (%.1f MB), served: p50 %.1f ms (bare libcurl reading it)\n", items,
              static_cast<double>(raw_bytes) / 1e6, Percentile(raw_list, 0.5));
  std::printf("  list %zu pods with herd's client (parsed), one page:   p50 %.1f ms, p90 %.1f ms (%.0f pods/s)\n", items, Percentile(full, 0.5),
              Percentile(full, 0.9), static_cast<double>(items) / (Percentile(full, 0.5) / 1000.0));
  std::printf("  list with herd's client in pages of 500:     p50 %.1f ms, p90 %.1f ms\n", Percentile(paged, 0.5), Percentile(paged, 0.9));

  // 2. Watch fan-out.
  std::atomic<int> ready{0};
  std::vector<std::atomic<int>> seen(static_cast<size_t>(watchers));
  std::vector<std::unique_ptr<herd::kube::WatchStream>> streams;
  auto list = kube.List(herd::kube::kPods, "bench", {.limit = 1});
  std::string rv = list.ok() ? list->resource_version : "";
  for (int w = 0; w < watchers; ++w) {
    auto s = kube.Watch(herd::kube::kPods, "", {.resource_version = rv, .allow_bookmarks = false});
    if (!s.ok()) {
      std::fprintf(stderr, "watch: %s\n", std::string(s.status().message()).c_str());
      return 1;
    }
    streams.push_back(std::move(*s));
  }
  std::vector<std::thread> readers;
  absl::Mutex done_mu;
  absl::Time last_event;
  for (int w = 0; w < watchers; ++w) {
    readers.emplace_back([&, w] {
      ready++;
      while (seen[static_cast<size_t>(w)] < updates) {
        auto ev = streams[static_cast<size_t>(w)]->Next();
        if (!ev.ok()) break;
        if (ev->type == herd::kube::WatchEvent::Type::kModified) seen[static_cast<size_t>(w)]++;
      }
      absl::MutexLock lock(&done_mu);
      last_event = std::max(last_event, absl::Now());
    });
  }
  while (ready < watchers) std::this_thread::yield();
  absl::Time ws = absl::Now();
  (*sim)->Run([&](herd::sim::ApiServer& api) {
    for (int i = 0; i < updates; ++i) {
      (void)api.Modify(herd::sim::kPods, "bench", absl::StrCat("pod-", i % pods), [&](Json& p) {
        p["metadata"]["labels"]["round"] = std::to_string(i);
        return absl::OkStatus();
      });
    }
  });
  double write_s = absl::ToDoubleSeconds(absl::Now() - ws);
  for (auto& r : readers) r.join();
  double all_s = absl::ToDoubleSeconds(last_event - ws);
  long delivered = 0;
  for (auto& s : seen) delivered += s;
  std::printf("  watch, herd's client (parsed): %d changes to %d watchers: written in %.2f s, all delivered after %.2f s "
              "(%.0f events/s, %ld of %ld delivered)\n",
              updates, watchers, write_s, all_s, static_cast<double>(delivered) / all_s, delivered,
              static_cast<long>(updates) * watchers);
  for (auto& s : streams) s->Cancel();

  // The same fan-out read by bare libcurl (lines counted, not parsed):
  // kubesim's own throughput.
  {
    auto l2 = kube.List(herd::kube::kPods, "bench", {.limit = 1});
    std::string rv2 = l2.ok() ? l2->resource_version : "";
    std::atomic<int> connected{0};
    std::vector<long> lines(static_cast<size_t>(watchers), 0);
    std::vector<std::thread> raw_readers;
    struct Counter {
      long* lines;
      long want;
      std::atomic<int>* connected;
      bool first = true;
    };
    absl::Time raw_last;
    absl::Mutex raw_mu;
    for (int w = 0; w < watchers; ++w) {
      raw_readers.emplace_back([&, w] {
        CURL* h = curl_easy_init();
        std::string url = absl::StrCat((*sim)->url(), "/api/v1/pods?watch=1&resourceVersion=", rv2);
        Counter c{&lines[static_cast<size_t>(w)], updates, &connected};
        curl_easy_setopt(h, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, +[](char*, size_t s, size_t n, void* ud) -> size_t {
          auto* counter = static_cast<Counter*>(ud);
          if (counter->first) {
            counter->first = false;
            (*counter->connected)++;
          }
          return s * n;
        });
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* ud) -> size_t {
          auto* counter = static_cast<Counter*>(ud);
          for (size_t i = 0; i < s * n; ++i) *counter->lines += p[i] == '\n';
          return *counter->lines >= counter->want ? 0 : s * n;
        });
        curl_easy_perform(h);
        curl_easy_cleanup(h);
        absl::MutexLock lock(&raw_mu);
        raw_last = std::max(raw_last, absl::Now());
      });
    }
    while (connected < watchers) std::this_thread::yield();
    absl::Time rs = absl::Now();
    (*sim)->Run([&](herd::sim::ApiServer& api) {
      for (int i = 0; i < updates; ++i) {
        (void)api.Modify(herd::sim::kPods, "bench", absl::StrCat("pod-", i % pods), [&](Json& p) {
          p["metadata"]["labels"]["raw"] = std::to_string(i);
          return absl::OkStatus();
        });
      }
    });
    double raw_write = absl::ToDoubleSeconds(absl::Now() - rs);
    for (auto& r : raw_readers) r.join();
    double raw_all = absl::ToDoubleSeconds(raw_last - rs);
    long got = 0;
    for (long n : lines) got += n;
    std::printf("  watch, bare readers: %d changes to %d watchers: written in %.2f s, all delivered after %.2f s "
                "(%.0f events/s)\n",
                updates, watchers, raw_write, raw_all, static_cast<double>(got) / raw_all);
  }

  // 3. Per-request overhead: herd's client vs bare libcurl on the same server.
  (*sim)->Run([&](herd::sim::ApiServer& api) {
    (void)api.Create(herd::sim::kConfigMaps, "bench", {{"metadata", {{"name", "small"}}}, {"data", {{"k", "v"}}}});
  });
  int gets = absl::GetFlag(FLAGS_gets);
  std::vector<double> herd_lat, curl_lat;
  CURL* h = curl_easy_init();
  std::string url = (*sim)->url() + "/api/v1/namespaces/bench/configmaps/small";
  size_t sink = 0;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  for (int i = 0; i < gets; ++i) {
    absl::Time s = absl::Now();
    auto cm = kube.Get(herd::kube::kConfigMaps, "bench", "small");
    herd_lat.push_back(absl::ToDoubleMicroseconds(absl::Now() - s));
    s = absl::Now();
    curl_easy_perform(h);
    curl_lat.push_back(absl::ToDoubleMicroseconds(absl::Now() - s));
  }
  curl_easy_cleanup(h);
  double hp50 = Percentile(herd_lat, 0.5), cp50 = Percentile(curl_lat, 0.5);
  std::printf("  GET one object: herd client p50 %.0f us, p99 %.0f us; bare libcurl p50 %.0f us, p99 %.0f us; "
              "overhead p50 %.0f us (%.2fx)\n",
              hp50, Percentile(herd_lat, 0.99), cp50, Percentile(curl_lat, 0.99), hp50 - cp50, hp50 / cp50);
  (*sim)->Stop();
  return 0;
}
