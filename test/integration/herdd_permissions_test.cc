// Plan.permissions: "The kinds of request the operation writes with, as the
// cluster's RBAC sees them". herdd --impersonate asks the cluster about
// exactly those before an operation starts, so a write an engine makes that
// its plan does not name would get past that check. Here every engine's
// writes go through a client that records them, and each operation's
// writes must all be among its plan's permissions.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/kube/testing/forwarding_client.h"
#include "test/integration/herdd_fixture.h"

namespace herd::testing {
namespace {

// A write as the recording client saw it.
struct Write {
  std::string verb, group, resource, subresource, ns, name;
  std::string ToString() const {
    return absl::StrCat(verb, " ", resource, subresource.empty() ? "" : "/", subresource, ".", group, " ", ns, "/", name);
  }
};

// Passes everything on, noting each write under the operation.
class RecordingClient : public kube::ForwardingClient {
 public:
  RecordingClient(std::unique_ptr<kube::KubeClient> base, std::function<void(Write)> note)
      : ForwardingClient(std::move(base)), note_(std::move(note)) {}

  absl::StatusOr<Json> Create(const kube::Resource& r, absl::string_view ns, const Json& obj,
                              const kube::WriteOptions& o) override {
    Note("create", r, ns, obj["metadata"].value("name", ""));
    return ForwardingClient::Create(r, ns, obj, o);
  }
  absl::StatusOr<Json> Update(const kube::Resource& r, absl::string_view ns, const Json& obj,
                              const kube::WriteOptions& o) override {
    Note("update", r, ns, obj["metadata"].value("name", ""));
    return ForwardingClient::Update(r, ns, obj, o);
  }
  absl::StatusOr<Json> Patch(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                             kube::PatchType type, absl::string_view patch, const kube::WriteOptions& o) override {
    Note("patch", r, ns, name);
    return ForwardingClient::Patch(r, ns, name, type, patch, o);
  }
  absl::StatusOr<Json> Delete(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                              const kube::DeleteOptions& o) override {
    Note("delete", r, ns, name);
    return ForwardingClient::Delete(r, ns, name, o);
  }
  absl::Status DeleteCollection(const kube::Resource& r, absl::string_view ns, const kube::ListOptions& sel,
                                const kube::DeleteOptions& o) override {
    Note("deletecollection", r, ns, "");
    return ForwardingClient::DeleteCollection(r, ns, sel, o);
  }
  absl::Status Evict(absl::string_view ns, absl::string_view pod, const kube::DeleteOptions& o) override {
    Note("create", kube::kPods, ns, pod, "eviction");
    return ForwardingClient::Evict(ns, pod, o);
  }
  absl::StatusOr<kube::Scale> UpdateScale(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                                          int32_t replicas, absl::string_view rv) override {
    Note("update", r, ns, name, "scale");
    return ForwardingClient::UpdateScale(r, ns, name, replicas, rv);
  }

 private:
  void Note(const std::string& verb, const kube::Resource& r, absl::string_view ns, absl::string_view name,
            const std::string& sub = "") {
    note_({verb, std::string(r.group), std::string(r.plural), sub, std::string(ns), std::string(name)});
  }
  std::function<void(Write)> note_;
};

class PermissionsTest : public HerddFixture {
 protected:
  void Configure(herdd::AppOptions& o) override {
    o.runner.client_for = [this](const v1::Operation& op) -> absl::StatusOr<std::unique_ptr<kube::KubeClient>> {
      kube::RestConfig rc;
      rc.server = app_->simulator()->url();
      rc.qps = 0;
      auto base = kube::NewRestClient(rc);
      if (!base.ok()) return base.status();
      return std::make_unique<RecordingClient>(std::move(*base), [this, name = op.name()](Write w) {
        absl::MutexLock lock(&mu_);
        writes_[name].push_back(std::move(w));
      });
    };
  }

  // Runs the call to its end; every write it made must be one its plan
  // permits. Returns the final operation.
  template <typename Req>
  v1::Operation RunAndCheck(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, v1::Operation*),
                            const Req& req) {
    v1::Operation op;
    grpc::Status st = Call(method, req, &op);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (!st.ok()) return op;
    v1::Operation done = Wait(op.name());
    absl::MutexLock lock(&mu_);
    const std::vector<Write>& made = writes_[op.name()];
    EXPECT_FALSE(made.empty()) << "no writes recorded for " << op.target();
    for (const Write& w : made) {
      bool permitted = false;
      for (const v1::Permission& p : op.plan().permissions()) {
        permitted |= p.verb() == w.verb && p.group() == w.group && p.resource() == w.resource &&
                     p.subresource() == w.subresource && p.namespace_() == w.ns && (p.name().empty() || p.name() == w.name);
      }
      EXPECT_TRUE(permitted) << op.target() << " wrote \"" << w.ToString() << "\", which its plan does not name:\n"
                             << op.plan().DebugString();
    }
    return done;
  }

  absl::Mutex mu_;
  std::map<std::string, std::vector<Write>> writes_ ABSL_GUARDED_BY(mu_);
};

TEST_F(PermissionsTest, RolloutsUndosAndTheirRollbacksWriteOnlyWhatTheirPlansName) {
  CreateDeployment("web", "web:1", 2);
  CreateStatefulSet("db", "db:1", 2);
  AwaitSteady("db", 2);
  v1::RolloutRequest req;
  req.set_workload(Workload("web"));
  (*req.mutable_images())["web"] = "web:2";
  EXPECT_EQ(RunAndCheck(&Stub::Rollout, req).state(), v1::OPERATION_STATE_SUCCEEDED);
  (*req.mutable_images())["web"] = "web:3-crashloop";
  EXPECT_EQ(RunAndCheck(&Stub::Rollout, req).state(), v1::OPERATION_STATE_ROLLED_BACK);
  v1::UndoRequest undo;
  undo.set_workload(Workload("web"));
  undo.set_to_revision(1);
  EXPECT_EQ(RunAndCheck(&Stub::Undo, undo).state(), v1::OPERATION_STATE_SUCCEEDED);

  // A StatefulSet's rollback also deletes its broken pods.
  v1::RolloutRequest sts;
  sts.set_workload(Workload("db", "statefulsets"));
  (*sts.mutable_images())["db"] = "db:2-crashloop";
  EXPECT_EQ(RunAndCheck(&Stub::Rollout, sts).state(), v1::OPERATION_STATE_ROLLED_BACK);
}

TEST_F(PermissionsTest, ScaleWithAnAutoscalerWritesOnlyWhatItsPlanNames) {
  CreateDeployment("web", "web:1", 2);
  Create(kube::kHorizontalPodAutoscalers, AutoscalerJson("web", "web", 2, 5));
  v1::ScaleRequest req;
  req.set_workload(Workload("web"));
  req.set_replicas(3);
  EXPECT_EQ(RunAndCheck(&Stub::Scale, req).state(), v1::OPERATION_STATE_SUCCEEDED);
}

TEST_F(PermissionsTest, EveryKindOfPurgeWritesOnlyWhatItsPlanNames) {
  CreateDeployment("web", "web:1", 3);
  CreateStatefulSet("db", "db:1", 2);
  AwaitSteady("db", 2);
  v1::PurgeRequest all;  // every pod at once: the template
  all.set_workload(Workload("web"));
  EXPECT_EQ(RunAndCheck(&Stub::Purge, all).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitSteady("web", 3);
  v1::PurgeRequest batches = all;  // a pod at a time: the scale subresource, deletion costs
  batches.set_batch_size(1);
  EXPECT_EQ(RunAndCheck(&Stub::Purge, batches).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitSteady("web", 3);
  v1::PurgeRequest sts;  // evictions
  sts.set_workload(Workload("db", "statefulsets"));
  EXPECT_EQ(RunAndCheck(&Stub::Purge, sts).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitSteady("db", 2);
  v1::PurgeRequest selector;  // the workloads of the pods picked
  selector.set_namespace_(kNs);
  selector.set_label_selector("app in (web,db)");
  EXPECT_EQ(RunAndCheck(&Stub::Purge, selector).state(), v1::OPERATION_STATE_SUCCEEDED);
  AwaitSteady("web", 3);
  AwaitSteady("db", 2);
  v1::PurgeRequest burn = all;  // deletes
  burn.set_mode(v1::PURGE_MODE_BURN);
  EXPECT_EQ(RunAndCheck(&Stub::Purge, burn).state(), v1::OPERATION_STATE_SUCCEEDED);
}

TEST_F(PermissionsTest, KillsWriteOnlyWhatTheirPlansName) {
  CreateDeployment("web", "web:1", 3);
  std::vector<Json> pods = Pods("web");
  ASSERT_EQ(pods.size(), 3u);
  v1::KillRequest evict;
  evict.set_namespace_(kNs);
  evict.add_pods(NameOf(pods[0]));
  EXPECT_EQ(RunAndCheck(&Stub::Kill, evict).state(), v1::OPERATION_STATE_SUCCEEDED);
  v1::KillRequest force;
  force.set_namespace_(kNs);
  force.add_pods(NameOf(pods[1]));
  force.set_force(true);
  EXPECT_EQ(RunAndCheck(&Stub::Kill, force).state(), v1::OPERATION_STATE_SUCCEEDED);
}

TEST_F(PermissionsTest, CronJobActionsWriteOnlyWhatTheirPlansName) {
  Create(kube::kCronJobs, CronJobJson("report", "report:1"));
  v1::CronJobRequest req;
  req.set_cronjob(Workload("report", "cronjobs"));
  EXPECT_EQ(RunAndCheck(&Stub::SuspendCronJob, req).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(RunAndCheck(&Stub::ResumeCronJob, req).state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(RunAndCheck(&Stub::RunCronJob, req).state(), v1::OPERATION_STATE_SUCCEEDED);
}

}  // namespace
}  // namespace herd::testing
