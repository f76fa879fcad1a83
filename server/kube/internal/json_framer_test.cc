#include "server/kube/internal/json_framer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::kube::internal {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Drain(JsonFramer& f) {
  std::vector<std::string> out;
  while (true) {
    auto next = f.Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return out;
    out.push_back(**next);
  }
}

const char kStream[] =
    "{\"type\":\"ADDED\",\"object\":{\"a\":\"}{\\\"\",\"b\":[1,{\"c\":2}]}}\n"
    "{\"type\":\"DELETED\",\"object\":{}}\n";

TEST(JsonFramerTest, SplitsObjectsWhereverTheChunksEnd) {
  const std::string all = kStream;
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    JsonFramer f;
    f.Append(all.substr(0, cut));
    std::vector<std::string> got = Drain(f);
    f.Append(all.substr(cut));
    for (std::string& s : Drain(f)) got.push_back(std::move(s));
    ASSERT_EQ(got.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(got[0], "{\"type\":\"ADDED\",\"object\":{\"a\":\"}{\\\"\",\"b\":[1,{\"c\":2}]}}");
    EXPECT_EQ(got[1], "{\"type\":\"DELETED\",\"object\":{}}");
    EXPECT_FALSE(f.HasPartial());
  }
}

TEST(JsonFramerTest, ByteByByte) {
  JsonFramer f;
  std::vector<std::string> got;
  for (char c : std::string(kStream)) {
    f.Append(std::string(1, c));
    for (std::string& s : Drain(f)) got.push_back(std::move(s));
  }
  EXPECT_EQ(got.size(), 2u);
}

TEST(JsonFramerTest, AcceptsPrettyPrintedObjects) {
  JsonFramer f;
  f.Append("{\n  \"type\": \"ERROR\",\n  \"object\": {\n    \"code\": 410\n  }\n}\n");
  EXPECT_THAT(Drain(f), ElementsAre("{\n  \"type\": \"ERROR\",\n  \"object\": {\n    \"code\": 410\n  }\n}"));
}

TEST(JsonFramerTest, ReportsPartialObjectAndGarbage) {
  JsonFramer f;
  f.Append("{\"type\":");
  EXPECT_TRUE(Drain(f).empty());
  EXPECT_TRUE(f.HasPartial());

  JsonFramer g;
  g.Append("not json");
  EXPECT_EQ(g.Next().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace herd::kube::internal
