#include "server/kube/informer.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "common/log/log.h"
#include "gtest/gtest.h"
#include "server/kube/errors.h"
#include "server/kube/rest_client.h"
#include "server/kube/testing/fake_apiserver.h"

namespace herd::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::Duration kWait = absl::Seconds(10);

Json Pod(const std::string& ns, const std::string& name, const std::string& rv, Json labels = Json::object(),
         const std::string& owner_uid = "") {
  Json p = {{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}, {"labels", labels}}}};
  if (!owner_uid.empty()) {
    p["metadata"]["ownerReferences"] = {{{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"},
                                         {"name", "rs"}, {"uid", owner_uid}, {"controller", true}}};
  }
  return p;
}

std::vector<std::string> Names(const std::vector<ObjectPtr>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back((*o)["metadata"]["name"].get<std::string>());
  return out;
}

std::string QueryOf(const http::Request& r, const std::string& key) {
  const std::string* v = r.Query(key);
  return v == nullptr ? "<none>" : *v;
}

// A pods endpoint: lists come from `items` (paginated by limit/continue),
// watches are handed to the test through `watches`. A test may script the
// next answers to watch requests with `watch_errors`.
class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto api = FakeApiServer::Start();
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(*api);
    api_->SetHandler([this](const http::Request& req, http::Responder res) { Handle(req, std::move(res)); });
    RestClientOptions o;
    o.retry.max_attempts = 1;  // the reflector's own backoff is under test
    auto client = NewRestClient(api_->Config(), o);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  void Handle(const http::Request& req, http::Responder res) {
    if (req.Query("watch") != nullptr) {
      absl::MutexLock lock(&mu_);
      if (!watch_errors_.empty()) {
        http::Response r = std::move(watch_errors_.front());
        watch_errors_.erase(watch_errors_.begin());
        return res.Respond(std::move(r));
      }
      watches_.Accept(req, std::move(res));
      return;
    }
    absl::MutexLock lock(&mu_);
    lists_.push_back(req);
    size_t start = 0, limit = items_.size();
    if (const std::string* c = req.Query("continue")) (void)absl::SimpleAtoi(*c, &start);
    if (const std::string* l = req.Query("limit")) {
      size_t n = 0;
      if (absl::SimpleAtoi(*l, &n) && n > 0) limit = n;
    }
    Json list = {{"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", list_rv_}}},
                 {"items", Json::array()}};
    for (size_t i = start; i < items_.size() && i < start + limit; ++i) list["items"].push_back(items_[i]);
    if (start + limit < items_.size()) list["metadata"]["continue"] = absl::StrCat(start + limit);
    res.Respond(JsonResponse(200, list));
  }

  void SetList(std::vector<Json> items, std::string rv) {
    absl::MutexLock lock(&mu_);
    items_ = std::move(items);
    list_rv_ = std::move(rv);
  }
  size_t ListCount() {
    absl::MutexLock lock(&mu_);
    return lists_.size();
  }
  std::vector<http::Request> Lists() {
    absl::MutexLock lock(&mu_);
    return lists_;
  }
  void FailNextWatch(http::Response r) {
    absl::MutexLock lock(&mu_);
    watch_errors_.push_back(std::move(r));
  }
  WatchQueue::Watch NextWatch() {
    auto w = watches_.Next(absl::Now() + kWait);
    EXPECT_TRUE(w.has_value()) << "no watch request arrived";
    return w.has_value() ? std::move(*w) : WatchQueue::Watch{};
  }

  InformerOptions FastOptions() {
    InformerOptions o;
    o.min_backoff = absl::Milliseconds(1);
    o.max_backoff = absl::Milliseconds(10);
    return o;
  }

  std::unique_ptr<FakeApiServer> api_;
  std::unique_ptr<KubeClient> client_;
  WatchQueue watches_;
  ChangeNotifier notifier_;
  absl::Mutex mu_;
  std::vector<Json> items_ ABSL_GUARDED_BY(mu_);
  std::string list_rv_ ABSL_GUARDED_BY(mu_) = "1";
  std::vector<http::Request> lists_ ABSL_GUARDED_BY(mu_);
  std::vector<http::Response> watch_errors_ ABSL_GUARDED_BY(mu_);
};

// Records handler calls as "add a", "update a 1->2", "delete a".
struct Recorder {
  absl::Mutex mu;
  std::vector<std::string> events ABSL_GUARDED_BY(mu);

  EventHandlers Handlers() {
    auto name = [](const ObjectPtr& o) { return (*o)["metadata"]["name"].get<std::string>(); };
    auto rv = [](const ObjectPtr& o) { return (*o)["metadata"]["resourceVersion"].get<std::string>(); };
    return EventHandlers{
        .on_add = [=, this](const ObjectPtr& o) { Add(absl::StrCat("add ", name(o))); },
        .on_update = [=, this](const ObjectPtr& a,
                               const ObjectPtr& b) { Add(absl::StrCat("update ", name(b), " ", rv(a), "->", rv(b))); },
        .on_delete = [=, this](const ObjectPtr& o) { Add(absl::StrCat("delete ", name(o))); },
    };
  }
  void Add(std::string e) {
    absl::MutexLock lock(&mu);
    events.push_back(std::move(e));
  }
  std::vector<std::string> Get() {
    absl::MutexLock lock(&mu);
    return events;
  }
  size_t Size() {
    absl::MutexLock lock(&mu);
    return events.size();
  }
};

TEST_F(InformerTest, InitialSyncFillsTheCacheAndIndexes) {
  SetList({Pod("a", "web-1", "5", {{"app", "web"}, {"tier", "front"}}, "rs-1"),
           Pod("a", "web-2", "6", {{"app", "web"}}, "rs-1"), Pod("a", "db-1", "7", {{"app", "db"}}, "rs-2"),
           Pod("b", "web-3", "8", {{"app", "web"}})},
          "100");
  Informer pods(*client_, kPods, "", FastOptions(), &notifier_);
  EXPECT_FALSE(pods.HasSynced());
  pods.Start();
  ASSERT_TRUE(pods.WaitForSync(absl::Now() + kWait).ok());
  EXPECT_EQ(pods.size(), 4u);
  EXPECT_EQ(pods.LastSyncResourceVersion(), "100");
  ASSERT_NE(pods.Get("a", "web-1"), nullptr);
  EXPECT_EQ((*pods.Get("a", "web-1"))["metadata"]["resourceVersion"], "5");
  EXPECT_EQ(pods.Get("b", "web-1"), nullptr);

  EXPECT_THAT(Names(pods.List()), ElementsAre("db-1", "web-1", "web-2", "web-3"));
  EXPECT_THAT(Names(pods.List("a")), ElementsAre("db-1", "web-1", "web-2"));
  auto web = k8s::LabelSelector::Parse("app=web");
  ASSERT_TRUE(web.ok());
  EXPECT_THAT(Names(pods.List("", *web)), ElementsAre("web-1", "web-2", "web-3"));
  EXPECT_THAT(Names(pods.List("a", *web)), ElementsAre("web-1", "web-2"));
  auto front = k8s::LabelSelector::Parse("app=web,tier=front");
  EXPECT_THAT(Names(pods.List("a", *front)), ElementsAre("web-1"));
  auto not_web = k8s::LabelSelector::Parse("app!=web");
  EXPECT_THAT(Names(pods.List("", *not_web)), ElementsAre("db-1"));
  auto nobody = k8s::LabelSelector::Parse("app=nobody");
  EXPECT_THAT(pods.List("", *nobody), IsEmpty());
  EXPECT_THAT(Names(pods.ByOwner("rs-1")), ElementsAre("web-1", "web-2"));
  EXPECT_THAT(pods.ByOwner("rs-9"), IsEmpty());

  // The list asked for pages of 500; the watch starts at the list's version.
  auto lists = Lists();
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(QueryOf(lists[0], "limit"), "500");
  auto w = NextWatch();
  EXPECT_EQ(w.request.path, "/api/v1/pods");
  EXPECT_EQ(QueryOf(w.request, "resourceVersion"), "100");
  EXPECT_EQ(QueryOf(w.request, "allowWatchBookmarks"), "true");
  pods.Stop();
}

TEST_F(InformerTest, ListFollowsPages) {
  std::vector<Json> items;
  for (int i = 0; i < 5; ++i) items.push_back(Pod("ns", absl::StrCat("p", i), "1"));
  SetList(items, "9");
  InformerOptions o = FastOptions();
  o.page_size = 2;
  Informer pods(*client_, kPods, "ns", o);
  pods.Start();
  ASSERT_TRUE(pods.WaitForSync(absl::Now() + kWait).ok());
  EXPECT_EQ(pods.size(), 5u);
  auto lists = Lists();
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].path, "/api/v1/namespaces/ns/pods");
  EXPECT_EQ(QueryOf(lists[1], "continue"), "2");
  EXPECT_EQ(QueryOf(lists[2], "continue"), "4");
  EXPECT_EQ(QueryOf(lists[2], "limit"), "2");
}

TEST_F(InformerTest, WatchEventsUpdateTheCacheAndReachHandlers) {
  SetList({Pod("ns", "a", "1")}, "1");
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  Recorder rec;
  pods.AddHandlers(rec.Handlers());
  pods.Start();
  auto w = NextWatch();
  w.stream->Write(EventLine("ADDED", Pod("ns", "b", "2", {{"app", "web"}})));
  w.stream->Write(EventLine("MODIFIED", Pod("ns", "a", "3", {{"app", "web"}})));
  w.stream->Write(EventLine("DELETED", Pod("ns", "b", "4")));
  ASSERT_TRUE(notifier_.WaitUntil([&] { return rec.Size() >= 4; }, absl::Now() + kWait).ok());
  EXPECT_THAT(rec.Get(), ElementsAre("add a", "add b", "update a 1->3", "delete b"));
  EXPECT_EQ(pods.Get("ns", "b"), nullptr);
  auto web = k8s::LabelSelector::Parse("app=web");
  EXPECT_THAT(Names(pods.List("ns", *web)), ElementsAre("a"));
  EXPECT_EQ(pods.LastSyncResourceVersion(), "4");
}

TEST_F(InformerTest, LateHandlersGetTheCacheReplayedAsAdds) {
  SetList({Pod("ns", "b", "1"), Pod("ns", "a", "1")}, "1");
  Informer pods(*client_, kPods, "ns", FastOptions());
  pods.Start();
  ASSERT_TRUE(pods.WaitForSync(absl::Now() + kWait).ok());
  Recorder rec;
  int id = pods.AddHandlers(rec.Handlers());
  EXPECT_THAT(rec.Get(), ElementsAre("add a", "add b"));
  pods.RemoveHandlers(id);
}

TEST_F(InformerTest, ResumesADroppedWatchFromTheLastResourceVersion) {
  SetList({Pod("ns", "a", "10")}, "10");
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  pods.Start();
  auto first = NextWatch();
  EXPECT_EQ(QueryOf(first.request, "resourceVersion"), "10");
  first.stream->Write(EventLine("MODIFIED", Pod("ns", "a", "11")));
  first.stream->Write(EventLine("ADDED", Pod("ns", "b", "12")));
  ASSERT_TRUE(notifier_.WaitUntil([&] { return pods.Get("ns", "b") != nullptr; }, absl::Now() + kWait).ok());
  first.stream->Finish();  // the server ends the watch (its timeout)

  auto second = NextWatch();
  EXPECT_EQ(QueryOf(second.request, "resourceVersion"), "12");
  EXPECT_EQ(ListCount(), 1u) << "a normal end resumes without listing again";
  second.stream->Write(EventLine("DELETED", Pod("ns", "a", "13")));
  ASSERT_TRUE(notifier_.WaitUntil([&] { return pods.Get("ns", "a") == nullptr; }, absl::Now() + kWait).ok());
}

TEST_F(InformerTest, WatchesEndingAtOnceBackOffAndResume) {
  SetList({Pod("ns", "a", "7")}, "7");
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  std::vector<std::string> lines;
  absl::Mutex lines_mu;
  log::SetSink([&](absl::string_view line) {
    absl::MutexLock lock(&lines_mu);
    lines.emplace_back(line);
  });
  pods.Start();
  NextWatch().stream->Finish();
  NextWatch().stream->Finish();
  auto third = NextWatch();
  log::SetSink(nullptr);
  EXPECT_EQ(QueryOf(third.request, "resourceVersion"), "7");
  EXPECT_EQ(ListCount(), 1u);
  absl::MutexLock lock(&lines_mu);
  int backoffs = 0;
  for (const std::string& l : lines) backoffs += absl::StrContains(l, "backing off") ? 1 : 0;
  EXPECT_EQ(backoffs, 2);
}

TEST_F(InformerTest, BookmarksAdvanceTheResourceVersionWithoutEvents) {
  SetList({}, "30");
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  Recorder rec;
  pods.AddHandlers(rec.Handlers());
  pods.Start();
  auto first = NextWatch();
  first.stream->Write(EventLine("BOOKMARK", {{"kind", "Pod"}, {"apiVersion", "v1"},
                                             {"metadata", {{"resourceVersion", "77"}}}}));
  first.stream->Finish();
  auto second = NextWatch();
  EXPECT_EQ(QueryOf(second.request, "resourceVersion"), "77");
  EXPECT_EQ(pods.reflector().last_resource_version(), "77");
  EXPECT_THAT(rec.Get(), IsEmpty());
  EXPECT_EQ(pods.size(), 0u);
}

TEST_F(InformerTest, RelistsOnExpiredWatchAndDeliversTheDifferences) {
  SetList({Pod("ns", "a", "1"), Pod("ns", "b", "2"), Pod("ns", "c", "3")}, "3");
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  Recorder rec;
  pods.AddHandlers(rec.Handlers());
  pods.Start();
  auto first = NextWatch();
  ASSERT_TRUE(notifier_.WaitUntil([&] { return rec.Size() == 3; }, absl::Now() + kWait).ok());

  // While the watch was away: a changed, b deleted, d created.
  SetList({Pod("ns", "a", "5"), Pod("ns", "c", "3"), Pod("ns", "d", "6")}, "6");
  auto too_old = ReferenceBody(std::string(HERD_KUBE_TESTDATA) + "/watch-too-old.txt");
  ASSERT_TRUE(too_old.ok());
  first.stream->Write(*too_old);
  first.stream->Finish();

  auto second = NextWatch();
  EXPECT_EQ(QueryOf(second.request, "resourceVersion"), "6");
  EXPECT_EQ(ListCount(), 2u);
  EXPECT_EQ(pods.reflector().lists(), 2);
  EXPECT_THAT(rec.Get(), ElementsAre("add a", "add b", "add c", "delete b", "update a 1->5", "add d"));
  EXPECT_THAT(Names(pods.List()), ElementsAre("a", "c", "d"));
}

TEST_F(InformerTest, GoneOnWatchRequestRelists) {
  SetList({Pod("ns", "a", "1")}, "1");
  FailNextWatch(JsonResponse(410, StatusObject(410, "Gone", "too old")));
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  pods.Start();
  auto w = NextWatch();
  EXPECT_EQ(ListCount(), 2u);
  EXPECT_EQ(QueryOf(w.request, "resourceVersion"), "1");
}

TEST_F(InformerTest, ErrorsBackOffAndRetryWithoutRelisting) {
  SetList({Pod("ns", "a", "4")}, "4");
  FailNextWatch(JsonResponse(500, StatusObject(500, "InternalError", "boom")));
  FailNextWatch(JsonResponse(403, StatusObject(403, "Forbidden", "no")));
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  pods.Start();
  auto w = NextWatch();
  EXPECT_EQ(QueryOf(w.request, "resourceVersion"), "4");
  EXPECT_EQ(ListCount(), 1u);
  EXPECT_EQ(api_->request_count(), 4u);  // list, 500, 403, watch
}

TEST_F(InformerTest, ListErrorsBackOffUntilTheListWorks) {
  api_->SetHandler([this, failures = std::make_shared<std::atomic<int>>(0)](const http::Request& req,
                                                                             http::Responder res) {
    if (req.Query("watch") == nullptr && (*failures)++ < 2) {
      return res.Respond(JsonResponse(503, StatusObject(503, "ServiceUnavailable", "starting")));
    }
    Handle(req, std::move(res));
  });
  SetList({Pod("ns", "a", "1")}, "1");
  Informer pods(*client_, kPods, "ns", FastOptions());
  pods.Start();
  ASSERT_TRUE(pods.WaitForSync(absl::Now() + kWait).ok());
  EXPECT_EQ(pods.size(), 1u);
}

TEST_F(InformerTest, WaitForSyncTimesOut) {
  api_->SetHandler([](const http::Request&, http::Responder res) {
    res.Respond(JsonResponse(403, StatusObject(403, "Forbidden", "no")));
  });
  Informer pods(*client_, kPods, "ns", FastOptions());
  pods.Start();
  absl::Status st = pods.WaitForSync(absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("pods in namespace ns"));
  pods.Stop();
}

TEST_F(InformerTest, StopCancelsAnOpenWatchPromptly) {
  SetList({}, "1");
  Informer pods(*client_, kPods, "ns", FastOptions());
  pods.Start();
  auto w = NextWatch();
  absl::Time start = absl::Now();
  pods.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(InformerTest, WaitUntilWakesOnAChange) {
  SetList({}, "1");
  Informer pods(*client_, kPods, "ns", FastOptions(), &notifier_);
  pods.Start();
  ASSERT_TRUE(pods.WaitForSync(absl::Now() + kWait).ok());
  auto w = NextWatch();

  std::atomic<int> evaluations{0};
  absl::Notification done;
  absl::Status result;
  std::thread waiter([&] {
    result = notifier_.WaitUntil(
        [&] {
          evaluations++;
          return pods.Get("ns", "x") != nullptr;
        },
        absl::Now() + kWait);
    done.Notify();
  });
  // Nothing changes: the predicate is not re-evaluated and the wait goes on.
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  EXPECT_EQ(evaluations.load(), 1);
  w.stream->Write(EventLine("ADDED", Pod("ns", "x", "2")));
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(kWait));
  waiter.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(evaluations.load(), 2);
}

TEST(ChangeNotifierTest, WaitUntilTimesOut) {
  ChangeNotifier n;
  int evaluations = 0;
  absl::Time start = absl::Now();
  absl::Status st = n.WaitUntil(
      [&] {
        ++evaluations;
        return false;
      },
      start + absl::Milliseconds(30));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
  EXPECT_EQ(evaluations, 1) << "evaluated once up front; nothing changed after";
  EXPECT_TRUE(n.WaitUntil([] { return true; }, absl::InfinitePast()).ok());
}

TEST(ChangeNotifierTest, NotifyWakesWaitForChange) {
  ChangeNotifier n;
  uint64_t v = n.version();
  std::thread t([&] { n.Notify(); });
  EXPECT_EQ(n.WaitForChange(v, absl::Now() + kWait), v + 1);
  t.join();
  EXPECT_EQ(n.WaitForChange(v + 1, absl::Now() + absl::Milliseconds(1)), v + 1);
}

TEST_F(InformerTest, InformerSetSharesOneNotifierAndStartsLateInformers) {
  SetList({Pod("ns", "a", "1")}, "1");
  InformerSet set(*client_, FastOptions());
  Informer& pods = set.For(kPods, "ns");
  EXPECT_EQ(&pods, &set.For(kPods, "ns"));
  EXPECT_NE(&pods, &set.For(kPods, "other"));
  set.Start();
  ASSERT_TRUE(set.WaitForSync(absl::Now() + kWait).ok());
  // Each informer's first list notifies the shared notifier.
  ASSERT_TRUE(set.WaitUntil([&] { return set.notifier().version() >= 2; }, absl::Now() + kWait).ok());
  uint64_t before = set.notifier().version();
  // Created after Start: runs at once.
  Informer& late = set.For(kPods, "late");
  ASSERT_TRUE(late.WaitForSync(absl::Now() + kWait).ok());
  EXPECT_TRUE(set.WaitUntil([&] { return set.notifier().version() > before; }, absl::Now() + kWait).ok());
  // Cluster-scoped resources ignore the namespace.
  EXPECT_EQ(&set.For(kNodes, "x"), &set.For(kNodes, ""));
  EXPECT_TRUE(set.WaitUntil([&] { return pods.size() == 1; }, absl::Now() + kWait).ok());
  set.Stop();
}

TEST_F(InformerTest, TheTransformShapesListedAndWatchedObjects) {
  SetList({Pod("ns", "a", "1")}, "1");
  InformerOptions o = FastOptions();
  o.transform = [](const Resource& r, Json& obj) {
    obj["metadata"]["annotations"]["seen-as"] = std::string(r.plural);
    obj["metadata"]["labels"]["trimmed"] = "yes";
  };
  Informer pods(*client_, kPods, "ns", o, &notifier_);
  pods.Start();
  ASSERT_TRUE(pods.WaitForSync(absl::Now() + kWait).ok());
  EXPECT_EQ((*pods.Get("ns", "a"))["metadata"]["annotations"]["seen-as"], "pods");
  auto w = NextWatch();
  w.stream->Write(EventLine("ADDED", Pod("ns", "b", "2")));
  ASSERT_TRUE(notifier_.WaitUntil([&] { return pods.size() == 2; }, absl::Now() + kWait).ok());
  // Indexed as transformed.
  auto trimmed = k8s::LabelSelector::Parse("trimmed=yes");
  EXPECT_THAT(Names(pods.List("ns", *trimmed)), ElementsAre("a", "b"));
  pods.Stop();
}

TEST_F(InformerTest, ACoverOfTheClusterAnswersEveryNamespaceFromOneInformer) {
  SetList({Pod("a", "web-1", "1", {}, "rs-1"), Pod("b", "web-2", "2", {}, "rs-2")}, "5");
  InformerSet set(*client_, FastOptions());
  EXPECT_EQ(set.CoverDescription(), "");
  EXPECT_FALSE(set.Covers("a"));
  set.Cover({});
  EXPECT_EQ(set.CoverDescription(), "all namespaces");
  EXPECT_TRUE(set.Covers("a"));
  EXPECT_TRUE(set.Covers(""));
  EXPECT_THAT(set.NamespacesFor("a"), ElementsAre(""));
  Informer& all = set.For(kPods, "");
  EXPECT_EQ(&set.For(kPods, "a"), &all);
  EXPECT_EQ(&set.For(kPods, "b"), &all);
  set.Start();
  ASSERT_TRUE(set.WaitForSync(absl::Now() + kWait).ok());
  EXPECT_THAT(Names(set.For(kPods, "a").List("a")), ElementsAre("web-1"));
  EXPECT_THAT(Names(set.For(kPods, "a").ByOwner("rs-2")), ElementsAre("web-2"));
  auto lists = Lists();
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0].path, "/api/v1/pods");
  EXPECT_EQ(set.Stats().size(), 1u);
  set.Stop();
}

TEST_F(InformerTest, ACoverOfSomeNamespacesKeepsOneInformerForEach) {
  SetList({}, "5");
  InformerSet set(*client_, FastOptions());
  set.Cover({"b", "a", ""});
  EXPECT_EQ(set.CoverDescription(), "a, b");
  EXPECT_TRUE(set.Covers("a"));
  EXPECT_FALSE(set.Covers("c"));
  EXPECT_FALSE(set.Covers(""));  // not the whole cluster
  EXPECT_THAT(set.NamespacesFor(""), ElementsAre("a", "b"));
  EXPECT_THAT(set.NamespacesFor("c"), ElementsAre("c"));
  EXPECT_NE(&set.For(kPods, "a"), &set.For(kPods, "b"));
  EXPECT_EQ(set.For(kPods, "a").ns(), "a");
  set.Stop();
}

}  // namespace
}  // namespace herd::kube
