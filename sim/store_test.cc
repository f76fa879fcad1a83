#include "sim/store.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::sim {
namespace {

Json Pod(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"namespace", ns}, {"name", name}}}};
}

TEST(StoreTest, EveryWriteGetsTheNextClusterWideVersion) {
  Store store;
  uint64_t start = store.rv();
  auto a = store.Put(kPods, Pod("a", "p1"), true);
  auto b = store.Put(kConfigMaps, Pod("a", "c1"), true);
  EXPECT_EQ(a->rv, start + 1);
  EXPECT_EQ(b->rv, start + 2);
  EXPECT_EQ(a->object["metadata"]["resourceVersion"], std::to_string(start + 1));
  auto gone = store.Remove(kPods, "a", "p1");
  EXPECT_EQ(gone->rv, start + 3);
  EXPECT_EQ(store.Get(kPods, "a", "p1"), nullptr);
}

TEST(StoreTest, ListItemsLeaveOutKindAndApiVersionButFullJsonPutsThemFirst) {
  Store store;
  auto p = store.Put(kPods, Pod("ns", "web"), true);
  Json item = Json::parse(p->ItemJson());
  EXPECT_FALSE(item.contains("kind"));
  EXPECT_FALSE(item.contains("apiVersion"));
  EXPECT_EQ(item["metadata"]["name"], "web");
  EXPECT_EQ(p->FullJson().rfind("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",", 0), 0u) << p->FullJson();
  EXPECT_EQ(Json::parse(p->FullJson())["metadata"]["name"], "web");
}

TEST(StoreTest, ScanIsOrderedByNamespaceThenNameAndResumesAfterAKey) {
  Store store;
  for (auto [ns, name] : std::vector<std::pair<std::string, std::string>>{
           {"b", "x"}, {"a", "z"}, {"a-b", "y"}, {"a", "m"}}) {
    store.Put(kPods, Pod(ns, name), true);
  }
  std::vector<std::string> keys;
  store.Scan(kPods, "", "", [&](const ObjectPtr& o) {
    keys.push_back(Store::KeyOf(o->ns(), o->name()));
    return true;
  });
  // Byte order of "ns/name", as etcd orders its keys.
  EXPECT_THAT(keys, ::testing::ElementsAre("a-b/y", "a/m", "a/z", "b/x"));
  keys.clear();
  store.Scan(kPods, "a", "a/m", [&](const ObjectPtr& o) {
    keys.push_back(o->name());
    return true;
  });
  EXPECT_THAT(keys, ::testing::ElementsAre("z"));
}

TEST(StoreTest, WatchFromAVersionReplaysWhatWasMissedThenGoesLive) {
  Store store;
  auto first = store.Put(kPods, Pod("a", "p1"), true);
  store.Put(kPods, Pod("a", "p2"), true);
  store.Put(kPods, Pod("b", "p3"), true);
  std::vector<std::string> seen;
  auto w = store.Watch(kPods, "a", first->rv, [&](const Event& e) {
    seen.push_back(absl::StrCat(e.type == EventType::kAdded ? "ADDED " : e.type == EventType::kModified ? "MODIFIED " : "DELETED ",
                                e.object->name()));
  });
  ASSERT_TRUE(w.ok());
  EXPECT_THAT(seen, ::testing::ElementsAre("ADDED p2"));
  store.Put(kPods, Pod("a", "p1"), false);
  store.Remove(kPods, "a", "p2");
  store.Put(kPods, Pod("b", "p4"), true);
  EXPECT_THAT(seen, ::testing::ElementsAre("ADDED p2", "MODIFIED p1", "DELETED p2"));
  store.Unwatch(*w);
  store.Put(kPods, Pod("a", "p5"), true);
  EXPECT_EQ(seen.size(), 3u);
}

TEST(StoreTest, WatchFromAVersionNoLongerKeptIsExpired) {
  Store store({.history_per_resource = 2});
  auto first = store.Put(kPods, Pod("a", "p1"), true);
  store.Put(kPods, Pod("a", "p2"), true);
  auto third = store.Put(kPods, Pod("a", "p3"), true);
  store.Put(kPods, Pod("a", "p4"), true);
  auto old = store.Watch(kPods, "", first->rv, [](const Event&) {});
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(old.status().message()), ::testing::StartsWith("too old resource version: "));
  // The newest dropped change is p2's; from it on everything is kept.
  auto ok = store.Watch(kPods, "", third->rv - 1, [](const Event&) {});
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(StoreTest, ASinkMayUnwatchItselfWhileEventsAreDelivered) {
  Store store;
  int calls = 0;
  Store::WatchId id = 0;
  auto w = store.Watch(kPods, "", 0, [&](const Event&) {
    ++calls;
    store.Unwatch(id);
  });
  ASSERT_TRUE(w.ok());
  id = *w;
  store.Put(kPods, Pod("a", "p1"), true);
  store.Put(kPods, Pod("a", "p2"), true);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(store.WatcherCount(), 0u);
}

}  // namespace
}  // namespace herd::sim
