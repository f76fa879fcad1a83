// The requests a mutating call makes to the API server before it answers:
// each is a round trip the caller waits for (about 40 ms each on a
// loaded API server). They are pinned here, so that a change that adds
// one (a read that could come from the cache, two writes one after the
// other that could go at once) is seen, not just felt in the benchmark.
//
// herdd's own client (caches, records, locks, Prepare) and the one its
// engines run with (runner.client_for) are counted apart: what an engine
// does once it runs is not part of the answer, except for Kill, which
// answers once its evictions are in.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/kube/testing/forwarding_client.h"
#include "test/integration/herdd_fixture.h"

namespace herd::testing {
namespace {

// What a CountingClient noted; shared, so that it outlives the client (an
// engine's client goes with its operation, which may end before the test
// reads what it noted).
class Notes {
 public:
  using Seen = std::vector<std::pair<std::thread::id, std::string>>;
  // The requests noted since the last call, by thread.
  Seen TakeSeen() {
    absl::MutexLock lock(&mu_);
    return std::exchange(seen_, {});
  }
  // `seen` without the requests of the threads that write audit events
  // (known once they have written one).
  std::vector<std::string> WithoutAuditors(const Seen& seen) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& [thread, request] : seen) {
      if (!auditors_.count(thread)) out.push_back(request);
    }
    return out;
  }
  // The requests noted since the last call.
  std::vector<std::string> Take() { return WithoutAuditors(TakeSeen()); }
  // Audit events written so far.
  int events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  // Waits until `n` audit events have been written.
  bool AwaitEvents(int n) {
    absl::MutexLock lock(&mu_);
    auto written = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return events_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&written), absl::Seconds(30));
  }
  void Note(absl::string_view verb, const kube::Resource& r, absl::string_view name) {
    absl::MutexLock lock(&mu_);
    if (&r == &kube::kEvents) {
      auditors_.insert(std::this_thread::get_id());
      ++events_;
      return;
    }
    seen_.emplace_back(std::this_thread::get_id(), absl::StrCat(verb, " ", r.plural, "/", name));
  }

 private:
  absl::Mutex mu_;
  Seen seen_ ABSL_GUARDED_BY(mu_);
  std::set<std::thread::id> auditors_ ABSL_GUARDED_BY(mu_);
  int events_ ABSL_GUARDED_BY(mu_) = 0;
};

// Notes every request but watches (a cache's) and those of the thread
// that writes audit events (in the background, after the call has been
// recorded), as "VERB resource/name"; requests wait for `gate` first when
// one is set.
class CountingClient : public kube::ForwardingClient {
 public:
  explicit CountingClient(std::unique_ptr<kube::KubeClient> base, absl::Notification* gate = nullptr)
      : ForwardingClient(std::move(base)), gate_(gate) {}

  const std::shared_ptr<Notes>& notes() const { return notes_; }

  absl::StatusOr<Json> Get(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                           absl::string_view sub) override {
    Note("GET", r, name);
    return ForwardingClient::Get(r, ns, name, sub);
  }
  absl::StatusOr<kube::ObjectList> List(const kube::Resource& r, absl::string_view ns,
                                        const kube::ListOptions& o) override {
    Note("LIST", r, "");
    return ForwardingClient::List(r, ns, o);
  }
  absl::StatusOr<Json> Create(const kube::Resource& r, absl::string_view ns, const Json& obj,
                              const kube::WriteOptions& o) override {
    Note("CREATE", r, obj["metadata"].value("name", ""));
    return ForwardingClient::Create(r, ns, obj, o);
  }
  absl::StatusOr<Json> Update(const kube::Resource& r, absl::string_view ns, const Json& obj,
                              const kube::WriteOptions& o) override {
    Note("UPDATE", r, obj["metadata"].value("name", ""));
    return ForwardingClient::Update(r, ns, obj, o);
  }
  absl::StatusOr<Json> Patch(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                             kube::PatchType type, absl::string_view patch, const kube::WriteOptions& o) override {
    Note("PATCH", r, name);
    return ForwardingClient::Patch(r, ns, name, type, patch, o);
  }
  absl::StatusOr<Json> Delete(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                              const kube::DeleteOptions& o) override {
    Note("DELETE", r, name);
    return ForwardingClient::Delete(r, ns, name, o);
  }
  absl::Status Evict(absl::string_view ns, absl::string_view pod, const kube::DeleteOptions& o) override {
    Note("EVICT", kube::kPods, pod);
    return ForwardingClient::Evict(ns, pod, o);
  }
  absl::StatusOr<kube::Scale> GetScale(const kube::Resource& r, absl::string_view ns, absl::string_view name) override {
    Note("GET", r, absl::StrCat(name, "/scale"));
    return ForwardingClient::GetScale(r, ns, name);
  }
  absl::StatusOr<kube::Scale> UpdateScale(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                                          int32_t replicas, absl::string_view rv) override {
    Note("UPDATE", r, absl::StrCat(name, "/scale"));
    return ForwardingClient::UpdateScale(r, ns, name, replicas, rv);
  }

  std::vector<std::string> Take() { return notes_->Take(); }
  int events() { return notes_->events(); }
  bool AwaitEvents(int n) { return notes_->AwaitEvents(n); }

 private:
  void Note(absl::string_view verb, const kube::Resource& r, absl::string_view name) {
    if (gate_) gate_->WaitForNotificationWithTimeout(absl::Seconds(30));
    notes_->Note(verb, r, name);
  }

  absl::Notification* const gate_;
  const std::shared_ptr<Notes> notes_ = std::make_shared<Notes>();
};

class RoundTripsTest : public HerddFixture {
 protected:
  void Configure(herdd::AppOptions& o) override {
    o.wrap_kube = [this](std::unique_ptr<kube::KubeClient> base) -> std::unique_ptr<kube::KubeClient> {
      auto counting = std::make_unique<CountingClient>(std::move(base));
      herd_ = counting.get();
      return counting;
    };
    o.runner.client_for = [this](const v1::Operation&) -> absl::StatusOr<std::unique_ptr<kube::KubeClient>> {
      kube::RestConfig rc;
      rc.server = app_->simulator()->url();
      rc.qps = 0;
      auto base = kube::NewRestClient(rc);
      if (!base.ok()) return base.status();
      auto counting = std::make_unique<CountingClient>(std::move(*base), hold_engines_ ? &answered_ : nullptr);
      absl::MutexLock lock(&mu_);
      engines_.push_back(counting->notes());
      return counting;
    };
    // Nothing of herdd's own in the background while a call is counted:
    // no periodic saves, renewals, adoption rounds or leader elections.
    o.runner.save_period = absl::Hours(1);
    o.runner.renew_period = absl::Hours(1);
    o.runner.adopt_period = absl::Hours(1);
    o.lease_duration = absl::Hours(1);
  }

  // The requests herdd made for the call before it answered: its own, and
  // its engine's.
  struct Counted {
    std::vector<std::string> herd, engine;
    std::string ToString() const {
      return absl::StrCat("herdd: [", absl::StrJoin(herd, ", "), "]; engine: [", absl::StrJoin(engine, ", "), "]");
    }
  };
  template <typename Req>
  Counted Count(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, v1::Operation*), const Req& req) {
    AwaitHerdCache();
    herd_->Take();
    const int events = herd_->events();
    v1::Operation op;
    grpc::Status st = Call(method, req, &op);
    // Those made before the answer (an operation not held may go on, and
    // save its record, meanwhile)…
    Notes::Seen answered = herd_->notes()->TakeSeen();
    // …but for the thread that writes audit events, which the call's event
    // tells (it reads the target first).
    EXPECT_TRUE(herd_->AwaitEvents(events + 1));
    Counted out;
    out.herd = herd_->notes()->WithoutAuditors(answered);
    {
      absl::MutexLock lock(&mu_);
      for (const std::shared_ptr<Notes>& c : engines_) {
        for (auto& r : c->Take()) out.engine.push_back(std::move(r));
      }
    }
    answered_.Notify();
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (st.ok()) {
      EXPECT_TRUE(ops::IsFinal(Wait(op.name()).state()));
    }
    return out;
  }

  // "VERB resource" of each request, sorted (names are generated).
  static std::vector<std::string> Requests(const std::vector<std::string>& seen) {
    std::vector<std::string> out;
    for (const auto& r : seen) out.push_back(r.substr(0, r.find('/')));
    std::sort(out.begin(), out.end());
    return out;
  }
  // A call on a workload, planned from the cache (by the call, then again
  // holding the lock, the same plan), waits for its Lease and its record,
  // written at once, and nothing else.
  static void ExpectLockAndRecordOnly(const Counted& c) {
    EXPECT_EQ(Requests(c.herd), (std::vector<std::string>{"CREATE configmaps", "CREATE leases"})) << c.ToString();
    EXPECT_TRUE(c.engine.empty()) << c.ToString();
  }

  CountingClient* herd_ = nullptr;
  // Engines wait for the answer before they make a request.
  bool hold_engines_ = true;
  absl::Notification answered_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Notes>> engines_ ABSL_GUARDED_BY(mu_);
};

TEST_F(RoundTripsTest, KillAnswersAfterTheLeaseAndRecordAtOnceThenTheEviction) {
  CreateDeployment("web", "web:1", 2);
  hold_engines_ = false;  // Kill answers once its eviction is in
  v1::KillRequest req;
  req.set_namespace_(kNs);
  req.add_pods(NameOf(Pods("web")[0]));
  Counted c = Count(&Stub::Kill, req);
  // The pod and its budgets come from the cache; the Lease and the record
  // are written at once, then the pod is evicted. The engine is not held,
  // so the operation's end (its record saved, its Lease let go) may come
  // before the answer is read: only those may be added.
  std::vector<std::string> herd = Requests(c.herd);
  std::erase_if(herd, [](const std::string& r) { return r == "UPDATE configmaps" || r == "DELETE leases"; });
  EXPECT_EQ(herd, (std::vector<std::string>{"CREATE configmaps", "CREATE leases"})) << c.ToString();
  EXPECT_EQ(c.engine, std::vector<std::string>{absl::StrCat("EVICT pods/", req.pods(0))}) << c.ToString();
}

TEST_F(RoundTripsTest, ScaleAnswersAfterTheLockAndRecordAtOnce) {
  CreateDeployment("web", "web:1", 2);
  v1::ScaleRequest req;
  req.set_workload(Workload("web"));
  req.set_replicas(3);
  ExpectLockAndRecordOnly(Count(&Stub::Scale, req));
}

TEST_F(RoundTripsTest, RolloutAnswersAfterTheLockAndRecordAtOnce) {
  CreateDeployment("web", "web:1", 2);
  v1::RolloutRequest req;
  req.set_workload(Workload("web"));
  (*req.mutable_images())["web"] = "web:2";
  ExpectLockAndRecordOnly(Count(&Stub::Rollout, req));
}

TEST_F(RoundTripsTest, PurgeAnswersAfterTheLockAndRecordAtOnce) {
  CreateDeployment("web", "web:1", 2);
  v1::PurgeRequest req;
  req.set_workload(Workload("web"));
  ExpectLockAndRecordOnly(Count(&Stub::Purge, req));
}

}  // namespace
}  // namespace herd::testing
