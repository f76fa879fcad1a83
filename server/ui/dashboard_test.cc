// The dashboard's HTTP side: the page and its assets from the binary, with
// a Content-Security-Policy and revalidation; /ui/access against a tokens
// file (who the caller is, which verbs where) and in insecure mode.
#include "server/ui/dashboard.h"

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/event_loop/event_loop.h"
#include "common/testing/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace herd::ui {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr char kTokens[] = R"(
principals:
  - name: alice
    token: t-alice
    rules:
      - verbs: ["*"]
        namespaces: [shop]
        workloads: ["web*"]
      - verbs: [read]
        namespaces: ["*"]
  - name: reader
    token: t-reader
    rules:
      - verbs: [read]
        namespaces: ["*"]
  - name: anonymous
    token: t-anonymous
    rules:
      - verbs: [read]
        namespaces: [shop]
)";

class DashboardTest : public ::testing::Test {
 protected:
  void Serve(std::unique_ptr<auth::Authenticator> authn) {
    authn_ = std::move(authn);
    dashboard_ = std::make_unique<Dashboard>(DashboardOptions{
        .authenticator = authn_.get(), .authorizer = &authz_, .denied = [this](absl::string_view why) {
          absl::MutexLock lock(&mu_);
          denied_.emplace_back(why);
        }});
    loop_.Start(1);
    auto server = http::Server::Start(loop_, {}, [d = dashboard_.get()](http::Request req, http::Responder res) {
      if (Dashboard::Serves(req)) return d->Handle(std::move(req), std::move(res));
      res.Respond({.status = 418, .body = "not the dashboard's"});
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void ServeTokens() {
    path_ = absl::StrCat(::testing::TempDir(), "/ui_tokens_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".yaml");
    { std::ofstream(path_) << kTokens; }
    auto a = auth::Authenticator::FromFile(path_);
    ASSERT_TRUE(a.ok()) << a.status();
    Serve(*std::move(a));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    loop_.Stop();
    if (!path_.empty()) std::remove(path_.c_str());
  }

  herd::testing::FetchResponse Get(const std::string& path, std::vector<std::string> headers = {},
                                   const std::string& method = "GET") {
    return herd::testing::Fetch(
        {.method = method, .url = absl::StrCat("http://", server_->address(), path), .headers = std::move(headers)});
  }

  auth::Authorizer authz_{{.protected_namespaces = {"kube-system"}}};
  std::unique_ptr<auth::Authenticator> authn_;
  std::unique_ptr<Dashboard> dashboard_;
  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
  std::string path_;
  absl::Mutex mu_;
  std::vector<std::string> denied_ ABSL_GUARDED_BY(mu_);
};

TEST_F(DashboardTest, ThePageAndItsAssetsComeFromTheBinaryUnderAPolicyWithoutInlineScript) {
  Serve(auth::Authenticator::Insecure());
  auto page = Get("/");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("<script type=\"module\" src=\"/ui/app.js\"></script>"));
  EXPECT_THAT(page.body, Not(HasSubstr("<script>")));
  const std::string csp = page.headers["content-security-policy"];
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(csp, HasSubstr("require-trusted-types-for 'script'"));
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(Get("/index.html").body, page.body);

  auto js = Get("/ui/app.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_THAT(js.body, HasSubstr("from './lib.js'"));
  auto lib = Get("/ui/lib.js");
  EXPECT_THAT(lib.body, HasSubstr("export function h(tag, props, ...children)"));
  // No HTML sink anywhere (the CSP's Trusted Types would refuse one too).
  for (const auto* body : {&js.body, &lib.body}) {
    for (const char* sink : {".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("}) {
      EXPECT_FALSE(absl::StrContains(*body, sink)) << sink;
    }
  }
  EXPECT_EQ(Get("/ui/app.css").headers["content-type"], "text/css; charset=utf-8");
  EXPECT_EQ(Get("/ui/nothing.js").status, 404);
  EXPECT_EQ(Get("/ui/app.js", {}, "POST").status, 405);
  // HEAD: the headers of GET, its length too, and no body.
  auto head = Get("/ui/app.js", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], std::to_string(js.body.size()));
}

TEST_F(DashboardTest, AnAssetIsRevalidatedByItsETag) {
  Serve(auth::Authenticator::Insecure());
  auto first = Get("/ui/app.js");
  const std::string etag = first.headers["etag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.headers["cache-control"], "no-cache");
  auto again = Get("/ui/app.js", {"If-None-Match: " + etag});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Get("/ui/app.js", {"If-None-Match: \"other\""}).status, 200);
  EXPECT_NE(Get("/ui/app.css").headers["etag"], etag);
}

TEST_F(DashboardTest, AccessNamesThePrincipalAndTheVerbsItsRulesGivePerName) {
  ServeTokens();
  auto r = Get("/ui/access?namespace=shop&name=web&name=web-7f9c-abcde&name=api", {"Authorization: Bearer t-alice"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["principal"], "alice");
  EXPECT_EQ(j["insecure"], false);
  const Json every = {"read", "rollout", "undo", "scale", "purge", "kill", "cronjob", "cancel", "approve"};
  EXPECT_EQ(j["verbs"]["web"], every);
  EXPECT_EQ(j["verbs"]["web-7f9c-abcde"], every);
  EXPECT_EQ(j["verbs"]["api"], Json({"read"}));

  // A name "" is every workload of the namespace: alice's "web*" is not that.
  EXPECT_EQ(Json::parse(Get("/ui/access?namespace=shop", {"Authorization: Bearer t-alice"}).body)["verbs"][""],
            Json({"read"}));
  auto reader = Json::parse(Get("/ui/access?namespace=shop&name=web", {"Authorization: Bearer t-reader"}).body);
  EXPECT_EQ(reader["principal"], "reader");
  EXPECT_EQ(reader["verbs"]["web"], Json({"read"}));
  // No namespace: who, and nothing else.
  EXPECT_EQ(Json::parse(Get("/ui/access", {"Authorization: Bearer t-reader"}).body)["verbs"], Json::object());
}

TEST_F(DashboardTest, AccessRefusesMissingAndUnknownTokensWith401) {
  ServeTokens();
  auto none = Get("/ui/access");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer");
  EXPECT_THAT(Json::parse(none.body)["error"].get<std::string>(), Not(::testing::IsEmpty()));
  auto wrong = Get("/ui/access?namespace=shop&name=web", {"Authorization: Bearer t-nobody"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_THAT(wrong.body, Not(HasSubstr("t-nobody")));
  auto post = Get("/ui/access", {"Authorization: Bearer t-alice"}, "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET");
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(denied_, (std::vector<std::string>{"unauthenticated", "unauthenticated"}));
}

TEST_F(DashboardTest, AccessRefusesWhatIsNotAKubernetesNameAndSurvivesBytesThatAreNotUtf8) {
  ServeTokens();
  for (const char* q : {"namespace=shop&name=%FF", "namespace=%C3&name=web", "namespace=shop&name=Web",
                        "namespace=shop&name=a/b"}) {
    auto r = Get(absl::StrCat("/ui/access?", q), {"Authorization: Bearer t-reader"});
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_THAT(r.body, HasSubstr("Kubernetes names")) << q;
  }
  std::string many = "/ui/access?namespace=shop";
  for (int i = 0; i < 1001; ++i) absl::StrAppend(&many, "&name=p", i);
  EXPECT_EQ(Get(many, {"Authorization: Bearer t-reader"}).status, 400);
  // Still serving.
  EXPECT_EQ(Get("/ui/access?namespace=shop&name=web", {"Authorization: Bearer t-reader"}).status, 200);
}

TEST_F(DashboardTest, APrincipalNamedAnonymousIsNotInsecureMode) {
  ServeTokens();
  Json j = Json::parse(Get("/ui/access", {"Authorization: Bearer t-anonymous"}).body);
  EXPECT_EQ(j["principal"], "anonymous");
  EXPECT_EQ(j["insecure"], false);
}

TEST_F(DashboardTest, InsecureModeIsAnonymousWithEveryVerbOutsideProtectedNamespaces) {
  Serve(auth::Authenticator::Insecure());
  Json j = Json::parse(Get("/ui/access?namespace=shop&name=web").body);
  EXPECT_EQ(j["principal"], "anonymous");
  EXPECT_EQ(j["insecure"], true);
  EXPECT_EQ(j["verbs"]["web"].size(), 9u);
  EXPECT_EQ(Json::parse(Get("/ui/access?namespace=kube-system&name=coredns").body)["verbs"]["coredns"],
            Json({"read"}));
}

}  // namespace
}  // namespace herd::ui
