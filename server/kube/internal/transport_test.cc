#include "server/kube/internal/transport.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "server/kube/testing/fake_apiserver.h"

namespace herd::kube::internal {
namespace {

// libcurl's shared connection cache is not thread-safe: handles on
// herdd's threads (informers, engines, the runner) taking connections from
// one cache corrupted its heap. Each handle keeps the connections it
// opened: no other handle, on whatever thread, ever gets one of them.
TEST(TransportTest, AHandleNeverUsesAConnectionAnotherHandleOpened) {
  auto api = FakeApiServer::Start();
  ASSERT_TRUE(api.ok()) << api.status();
  (*api)->SetHandler([](const http::Request&, http::Responder res) { res.Respond(JsonResponse(200, {})); });
  auto transport = Transport::Create((*api)->Config(), {});
  ASSERT_TRUE(transport.ok()) << transport.status();
  const HttpRequest req{.path = "/api/v1/namespaces"};

  // The first handle's connection is idle once its request is done; the
  // handle stays out of the pool, as it would while another thread holds it.
  std::unique_ptr<Call> first = (*transport)->Prepare(req);
  EXPECT_EQ(first->Finish(curl_easy_perform(first->handle())).status, 200);
  std::unique_ptr<Call> second = (*transport)->Prepare(req);
  ASSERT_NE(second->handle(), first->handle());
  EXPECT_EQ(second->Finish(curl_easy_perform(second->handle())).status, 200);
  // A handle reuses its own connection.
  first.reset();
  std::unique_ptr<Call> again = (*transport)->Prepare(req);
  EXPECT_EQ(again->Finish(curl_easy_perform(again->handle())).status, 200);

  std::vector<http::Request> seen = (*api)->requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_NE(seen[1].remote, seen[0].remote) << "the second handle took the first one's connection";
  EXPECT_EQ(seen[2].remote, seen[0].remote) << "the first handle, from the pool, opened a new connection";
}

}  // namespace
}  // namespace herd::kube::internal
