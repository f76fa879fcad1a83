#include "server/audit/audit.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kube/config.h"
#include "server/kube/errors.h"
#include "server/kube/rest_client.h"
#include "server/kube/testing/fake_clock.h"
#include "sim/kubesim.h"

namespace herd::audit {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kDash[] = "\xE2\x80\x94";

AuditEntry RolloutStarted() {
  return AuditEntry{.principal = "alice",
                    .verb = "rollout",
                    .target = {.ns = "shop", .kind = "Deployment", .name = "web"},
                    .operation_id = "op-7f3a",
                    .reason = "release 42",
                    .detail = "web=web:2",
                    .outcome = Outcome::kStarted};
}

// A KubeClient that knows Deployments by name and keeps the Events it is
// given. Create can be held back to fill the queue.
class FakeKube : public kube::KubeClient {
 public:
  absl::StatusOr<Json> Get(const kube::Resource& r, absl::string_view ns, absl::string_view name,
                           absl::string_view) override {
    absl::MutexLock lock(&mu_);
    ++gets_;
    if (name == "hidden") return absl::PermissionDeniedError("deployments.apps \"hidden\" is forbidden");
    if (r.kind != "Deployment" || name != "web") {
      return absl::NotFoundError(absl::StrCat(r.GroupResource(), " \"", name, "\" not found"));
    }
    return Json{{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "uid-web"}, {"resourceVersion", "17"}}}};
  }
  absl::StatusOr<Json> Create(const kube::Resource& r, absl::string_view ns, const Json& object,
                              const kube::WriteOptions&) override {
    if (hold_ != nullptr) hold_->WaitForNotification();
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(std::string(r.plural), "events");
    EXPECT_EQ(std::string(ns), object["metadata"]["namespace"]);
    if (fail_creates_) return absl::PermissionDeniedError("events is forbidden");
    created_.push_back(object);
    return object;
  }

  void Hold(absl::Notification* n) { hold_ = n; }
  void FailCreates() {
    absl::MutexLock lock(&mu_);
    fail_creates_ = true;
  }
  std::vector<Json> created() {
    absl::MutexLock lock(&mu_);
    return created_;
  }
  int gets() {
    absl::MutexLock lock(&mu_);
    return gets_;
  }

  absl::StatusOr<kube::ObjectList> List(const kube::Resource&, absl::string_view,
                                        const kube::ListOptions&) override {
    return absl::UnimplementedError("List");
  }
  absl::StatusOr<std::unique_ptr<kube::WatchStream>> Watch(const kube::Resource&, absl::string_view,
                                                           const kube::WatchOptions&) override {
    return absl::UnimplementedError("Watch");
  }
  absl::StatusOr<Json> Update(const kube::Resource&, absl::string_view, const Json&,
                              const kube::WriteOptions&) override {
    return absl::UnimplementedError("Update");
  }
  absl::StatusOr<Json> Patch(const kube::Resource&, absl::string_view, absl::string_view, kube::PatchType,
                             absl::string_view, const kube::WriteOptions&) override {
    return absl::UnimplementedError("Patch");
  }
  absl::StatusOr<Json> Delete(const kube::Resource&, absl::string_view, absl::string_view,
                              const kube::DeleteOptions&) override {
    return absl::UnimplementedError("Delete");
  }
  absl::Status DeleteCollection(const kube::Resource&, absl::string_view, const kube::ListOptions&,
                                const kube::DeleteOptions&) override {
    return absl::UnimplementedError("DeleteCollection");
  }
  absl::Status Evict(absl::string_view, absl::string_view, const kube::DeleteOptions&) override {
    return absl::UnimplementedError("Evict");
  }
  absl::StatusOr<kube::Scale> GetScale(const kube::Resource&, absl::string_view, absl::string_view) override {
    return absl::UnimplementedError("GetScale");
  }
  absl::StatusOr<kube::Scale> UpdateScale(const kube::Resource&, absl::string_view, absl::string_view, int32_t,
                                          absl::string_view) override {
    return absl::UnimplementedError("UpdateScale");
  }

 private:
  absl::Notification* hold_ = nullptr;  // set before the Auditor starts
  absl::Mutex mu_;
  std::vector<Json> created_ ABSL_GUARDED_BY(mu_);
  int gets_ ABSL_GUARDED_BY(mu_) = 0;
  bool fail_creates_ ABSL_GUARDED_BY(mu_) = false;
};

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink([this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(Json::parse(line));
    });
  }
  void TearDown() override { log::SetSink(nullptr); }

  std::vector<Json> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  std::vector<Json> LinesWith(absl::string_view msg) {
    std::vector<Json> out;
    for (const Json& l : Lines()) {
      if (l["msg"] == std::string(msg)) out.push_back(l);
    }
    return out;
  }
  static absl::Time Soon() { return absl::Now() + absl::Seconds(10); }

  absl::Mutex mu_;
  std::vector<Json> lines_ ABSL_GUARDED_BY(mu_);
  kube::FakeClock clock_{absl::FromUnixSeconds(1700000000) + absl::Microseconds(123456)};
};

TEST(AuditTextTest, MessageNamesWhoWhatWhyAndResult) {
  AuditEntry e = RolloutStarted();
  EXPECT_EQ(EventMessage(e), absl::StrCat("alice: rollout web=web:2 (reason: release 42) ", kDash, " started"));
  e.outcome = Outcome::kFailed;
  e.error = "progress deadline exceeded";
  e.reason.clear();
  EXPECT_EQ(EventMessage(e), absl::StrCat("alice: rollout web=web:2 ", kDash, " failed: progress deadline exceeded"));
  e.outcome = Outcome::kRolledBack;
  EXPECT_EQ(ResultText(e), "rolled back: progress deadline exceeded");
  e.outcome = Outcome::kCancelled;
  e.error.clear();
  EXPECT_EQ(ResultText(e), "cancelled");
  e.outcome = Outcome::kSucceeded;
  e.detail.clear();
  EXPECT_EQ(EventMessage(e), absl::StrCat("alice: rollout ", kDash, " succeeded"));
  EXPECT_EQ(TargetText(e.target), "shop/Deployment/web");
}

TEST(AuditTextTest, LongMessagesAreCutAtACharacterBoundaryWithin1024Bytes) {
  AuditEntry e = RolloutStarted();
  e.reason = std::string(1017, 'x') + "\xC3\xA9\xC3\xA9";  // é é across the limit
  std::string msg = EventMessage(e);
  EXPECT_LE(msg.size(), 1024u);
  EXPECT_GE(msg.size(), 1022u);
  // Ends on a whole character: no dangling lead byte.
  unsigned char last = static_cast<unsigned char>(msg.back());
  EXPECT_TRUE(last < 0x80 || (last & 0xC0) == 0x80) << static_cast<int>(last);
  EXPECT_TRUE(Json(msg).dump().size() > 0);  // valid UTF-8, or nlohmann throws
}

TEST(AuditTextTest, ReasonsAreHerdPlusTheVerb) {
  EXPECT_EQ(EventReason("rollout"), "HerdRollout");
  EXPECT_EQ(EventReason("undo"), "HerdUndo");
  EXPECT_EQ(EventReason("scale"), "HerdScale");
  EXPECT_EQ(EventReason("purge"), "HerdPurge");
  EXPECT_EQ(EventReason("kill"), "HerdKill");
  EXPECT_EQ(EventReason("cronjob"), "HerdCronJob");
  EXPECT_EQ(EventReason("cancel"), "HerdCancel");
  EXPECT_EQ(EventReason("cronjob-run"), "HerdCronjobRun");
}

TEST(AuditTextTest, EventHasWhatKubectlDescribeAndTheApiServerNeed) {
  Json involved = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"namespace", "shop"},
                   {"name", "web"},           {"uid", "u1"}};
  AuditEntry e = RolloutStarted();
  Json ev = BuildEvent(e, involved, absl::FromUnixSeconds(1700000000) + absl::Microseconds(123456),
                       "web.1", "herdd-0");
  Json expected = Json::parse(R"({
    "apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "web.1", "namespace": "shop",
                 "annotations": {"herd.dev/operation": "op-7f3a", "herd.dev/principal": "alice"}},
    "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web", "uid": "u1"},
    "reason": "HerdRollout",
    "type": "Normal",
    "source": {"component": "herd"},
    "firstTimestamp": "2023-11-14T22:13:20Z",
    "lastTimestamp": "2023-11-14T22:13:20Z",
    "eventTime": "2023-11-14T22:13:20.123456Z",
    "count": 1,
    "action": "Rollout",
    "reportingComponent": "herd",
    "reportingInstance": "herdd-0"
  })");
  expected["message"] = EventMessage(e);
  EXPECT_EQ(ev, expected) << ev.dump(2);

  e.outcome = Outcome::kFailed;
  EXPECT_EQ(BuildEvent(e, involved, absl::UnixEpoch(), "n", "i")["type"], "Warning");
  e.outcome = Outcome::kRolledBack;
  EXPECT_EQ(BuildEvent(e, involved, absl::UnixEpoch(), "n", "i")["type"], "Warning");
  e.outcome = Outcome::kCancelled;
  EXPECT_EQ(BuildEvent(e, involved, absl::UnixEpoch(), "n", "i")["type"], "Normal");
}

TEST_F(AuditTest, RecordWritesOneAuditLogLineAndAnEventOnTheTarget) {
  FakeKube kube;
  Auditor auditor(&kube, {.reporting_instance = "herdd-0", .clock = &clock_});
  auditor.Record(RolloutStarted());
  ASSERT_TRUE(auditor.Flush(Soon()));

  std::vector<Json> audit = LinesWith("audit");
  ASSERT_EQ(audit.size(), 1u);
  const Json& line = audit[0];
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["audit"], true);
  EXPECT_EQ(line["principal"], "alice");
  EXPECT_EQ(line["verb"], "rollout");
  EXPECT_EQ(line["target"], "shop/Deployment/web");
  EXPECT_EQ(line["op"], "op-7f3a");
  EXPECT_EQ(line["reason"], "release 42");
  EXPECT_EQ(line["detail"], "web=web:2");
  EXPECT_EQ(line["result"], "started");
  EXPECT_EQ(line["dry_run"], false);

  std::vector<Json> events = kube.created();
  ASSERT_EQ(events.size(), 1u);
  const Json& ev = events[0];
  EXPECT_EQ(ev["involvedObject"],
            Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","namespace":"shop","name":"web",
                            "uid":"uid-web","resourceVersion":"17"})"));
  EXPECT_EQ(ev["metadata"]["name"], absl::StrCat("web.", absl::StrFormat("%x", 1700000000123456000ull)));
  EXPECT_EQ(ev["reason"], "HerdRollout");
  EXPECT_EQ(ev["message"], EventMessage(RolloutStarted()));
  EXPECT_EQ(ev["eventTime"], "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(ev["reportingInstance"], "herdd-0");

  Auditor::Stats stats = auditor.stats();
  EXPECT_EQ(stats.recorded, 1u);
  EXPECT_EQ(stats.events_written, 1u);
  EXPECT_EQ(stats.events_failed, 0u);
  EXPECT_EQ(stats.events_dropped, 0u);
}

TEST_F(AuditTest, SuppliedUidSavesTheGet) {
  FakeKube kube;
  Auditor auditor(&kube, {.clock = &clock_});
  AuditEntry e = RolloutStarted();
  e.target = {.ns = "shop", .kind = "StatefulSet", .name = "db", .uid = "uid-db", .api_version = "apps/v1"};
  auditor.Record(e);
  ASSERT_TRUE(auditor.Flush(Soon()));
  EXPECT_EQ(kube.gets(), 0);
  ASSERT_EQ(kube.created().size(), 1u);
  EXPECT_EQ(kube.created()[0]["involvedObject"],
            Json::parse(R"({"apiVersion":"apps/v1","kind":"StatefulSet","namespace":"shop","name":"db","uid":"uid-db"})"));
}

TEST_F(AuditTest, EventsInTheSameInstantGetDistinctNames) {
  FakeKube kube;
  Auditor auditor(&kube, {.clock = &clock_});
  for (int i = 0; i < 3; ++i) auditor.Record(RolloutStarted());
  ASSERT_TRUE(auditor.Flush(Soon()));
  std::vector<Json> events = kube.created();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_NE(events[0]["metadata"]["name"], events[1]["metadata"]["name"]);
  EXPECT_NE(events[1]["metadata"]["name"], events[2]["metadata"]["name"]);
}

TEST_F(AuditTest, DryRunsAreLoggedButPutNothingOnTheObject) {
  FakeKube kube;
  Auditor auditor(&kube, {.clock = &clock_});
  AuditEntry e = RolloutStarted();
  e.dry_run = true;
  auditor.Record(e);
  ASSERT_TRUE(auditor.Flush(Soon()));
  EXPECT_TRUE(kube.created().empty());
  std::vector<Json> audit = LinesWith("audit");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["dry_run"], true);
}

TEST_F(AuditTest, FullQueueDropsTheEventWithAWarningAndNeverBlocks) {
  FakeKube kube;
  absl::Notification release;
  kube.Hold(&release);
  Auditor auditor(&kube, {.queue_capacity = 2, .clock = &clock_});
  auditor.Record(RolloutStarted());
  // Wait until the worker holds the first (stuck in Create), so the queue
  // is empty and its capacity is what counts next.
  absl::Time deadline = Soon();
  while (kube.gets() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(kube.gets(), 1);
  for (int i = 0; i < 3; ++i) auditor.Record(RolloutStarted());  // 2 queued, 1 dropped

  EXPECT_EQ(LinesWith("audit").size(), 4u) << "every call is logged, dropped or not";
  std::vector<Json> warnings = LinesWith("audit event dropped: queue full");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0]["level"], "warn");
  EXPECT_EQ(warnings[0]["target"], "shop/Deployment/web");
  EXPECT_EQ(warnings[0]["capacity"], 2);
  EXPECT_FALSE(auditor.Flush(absl::Now() + absl::Milliseconds(20)));

  release.Notify();
  ASSERT_TRUE(auditor.Flush(Soon()));
  Auditor::Stats stats = auditor.stats();
  EXPECT_EQ(stats.recorded, 4u);
  EXPECT_EQ(stats.events_written, 3u);
  EXPECT_EQ(stats.events_dropped, 1u);
}

TEST_F(AuditTest, KubeFailuresAreLoggedNotRaised) {
  FakeKube kube;
  Auditor auditor(&kube, {.clock = &clock_});
  AuditEntry hidden = RolloutStarted();
  hidden.target.name = "hidden";
  auditor.Record(hidden);
  AuditEntry odd = RolloutStarted();
  odd.target.kind = "Gadget";
  auditor.Record(odd);
  ASSERT_TRUE(auditor.Flush(Soon()));
  kube.FailCreates();
  auditor.Record(RolloutStarted());
  ASSERT_TRUE(auditor.Flush(Soon()));

  EXPECT_EQ(auditor.stats().events_failed, 3u);
  EXPECT_EQ(auditor.stats().events_written, 0u);
  std::vector<Json> unread = LinesWith("audit event not written: the target could not be read");
  ASSERT_EQ(unread.size(), 1u);
  EXPECT_EQ(unread[0]["target"], "shop/Deployment/hidden");
  EXPECT_THAT(unread[0]["error"].get<std::string>(), HasSubstr("PERMISSION_DENIED"));
  std::vector<Json> unwritten = LinesWith("audit event not written");
  ASSERT_EQ(unwritten.size(), 2u);
  EXPECT_THAT(unwritten[0]["error"].get<std::string>(), HasSubstr("unknown kind \"Gadget\""));
  EXPECT_THAT(unwritten[1]["error"].get<std::string>(), HasSubstr("PERMISSION_DENIED: events is forbidden"));
}

// A kill's pod may be gone before the Event is written: the Event still
// names it (no uid, since the object that had one is gone).
TEST_F(AuditTest, ATargetAlreadyGoneStillGetsItsEvent) {
  FakeKube kube;
  Auditor auditor(&kube, {.clock = &clock_});
  AuditEntry gone = RolloutStarted();
  gone.verb = "kill";
  gone.target.kind = "Pod";
  gone.target.name = "web-7f9c-abcde";
  gone.outcome = Outcome::kSucceeded;
  auditor.Record(gone);
  ASSERT_TRUE(auditor.Flush(Soon()));

  EXPECT_EQ(auditor.stats().events_written, 1u);
  EXPECT_EQ(auditor.stats().events_failed, 0u);
  ASSERT_EQ(kube.created().size(), 1u);
  const Json involved = kube.created()[0]["involvedObject"];
  EXPECT_EQ(involved, (Json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", "shop"}, {"name", "web-7f9c-abcde"}}));
  EXPECT_TRUE(LinesWith("audit event not written").empty());
}

TEST_F(AuditTest, WithoutAClusterOnlyLogs) {
  Auditor auditor(nullptr);
  auditor.Record(RolloutStarted());
  EXPECT_TRUE(auditor.Flush(Soon()));
  EXPECT_EQ(LinesWith("audit").size(), 1u);
  EXPECT_EQ(auditor.stats().events_written, 0u);
}

// The real client against kubesim: the Event is found the way `kubectl
// describe deploy/web` looks for it (a field selector on the involved
// object, uid included).
TEST_F(AuditTest, EventShowsUpForTheDeploymentInKubesim) {
  auto sim = sim::Simulator::Start({});
  ASSERT_TRUE(sim.ok()) << sim.status();
  std::string kubeconfig = ::testing::TempDir() + "/audit_test_kubeconfig";
  ASSERT_TRUE((*sim)->WriteKubeconfig(kubeconfig).ok());
  auto config = kube::LoadKubeconfig({.path = kubeconfig});
  ASSERT_TRUE(config.ok()) << config.status();
  auto client = kube::NewRestClient(*config);
  ASSERT_TRUE(client.ok()) << client.status();
  kube::KubeClient& kube = **client;

  auto ns = kube.Create(kube::kNamespaces, "", Json{{"metadata", {{"name", "shop"}}}});
  ASSERT_TRUE(ns.ok() || absl::IsAlreadyExists(ns.status())) << ns.status();
  auto deploy = kube.Create(kube::kDeployments, "shop", Json::parse(R"({
    "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}})"));
  ASSERT_TRUE(deploy.ok()) << deploy.status();
  std::string uid = (*deploy)["metadata"]["uid"];

  {
    Auditor auditor(&kube, {.reporting_instance = "herdd-test"});
    auditor.Record(RolloutStarted());
    AuditEntry failed = RolloutStarted();
    failed.outcome = Outcome::kFailed;
    failed.error = "crash loop in web-7d9f";
    auditor.Record(failed);
    ASSERT_TRUE(auditor.Flush(Soon()));
    EXPECT_EQ(auditor.stats().events_written, 2u);
  }

  auto events = kube.List(
      kube::kEvents, "shop",
      {.field_selector = absl::StrCat("involvedObject.name=web,involvedObject.namespace=shop,"
                                      "involvedObject.kind=Deployment,involvedObject.uid=", uid)});
  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<Json> ours;
  for (const Json& ev : events->items) {
    if (ev["source"].value("component", "") == "herd") ours.push_back(ev);
  }
  ASSERT_EQ(ours.size(), 2u);
  std::sort(ours.begin(), ours.end(),
            [](const Json& a, const Json& b) { return a["type"] < b["type"]; });  // Normal, Warning
  const Json& started = ours[0];
  EXPECT_EQ(started["type"], "Normal");
  EXPECT_EQ(started["reason"], "HerdRollout");
  EXPECT_EQ(started["message"], absl::StrCat("alice: rollout web=web:2 (reason: release 42) ", kDash, " started"));
  EXPECT_EQ(started["involvedObject"]["apiVersion"], "apps/v1");
  EXPECT_EQ(started["involvedObject"]["uid"], uid);
  EXPECT_EQ(started["count"], 1);
  EXPECT_EQ(started["reportingComponent"], "herd");
  EXPECT_EQ(started["reportingInstance"], "herdd-test");
  EXPECT_EQ(started["metadata"]["annotations"]["herd.dev/operation"], "op-7f3a");
  EXPECT_TRUE(started.contains("firstTimestamp"));
  EXPECT_TRUE(started.contains("eventTime"));
  const Json& failed = ours[1];
  EXPECT_EQ(failed["type"], "Warning");
  EXPECT_EQ(failed["message"],
            absl::StrCat("alice: rollout web=web:2 (reason: release 42) ", kDash, " failed: crash loop in web-7d9f"));
}

}  // namespace
}  // namespace herd::audit
