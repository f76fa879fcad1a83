#include "server/kube/config.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace herd::kube {
namespace {

using ::testing::HasSubstr;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/kubeconfig_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Write(const std::string& rel, const std::string& text) {
    std::string path = absl::StrCat(dir_, "/", rel);
    std::filesystem::create_directories(path.substr(0, path.rfind('/')));
    std::ofstream(path) << text;
    return path;
  }

  EnvLookup Env(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }

  std::string dir_;
};

TEST_F(KubeconfigTest, ReadsClusterUserAndContextWithRelativeFiles) {
  Write("conf/pki/ca.crt", "CA PEM");
  Write("conf/pki/client.crt", "CERT PEM");
  Write("conf/pki/client.key", "KEY PEM");
  std::string path = Write("conf/config", R"(
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: pki/ca.crt
    tls-server-name: kubernetes.default
users:
- name: admin
  user:
    client-certificate: pki/client.crt
    client-key: pki/client.key
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: admin
    namespace: shop
)");
  auto c = LoadKubeconfig({.path = path});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->ca_pem, "CA PEM");
  EXPECT_EQ(c->tls_server_name, "kubernetes.default");
  EXPECT_EQ(c->client_cert_pem, "CERT PEM");
  EXPECT_EQ(c->client_key_pem, "KEY PEM");
  EXPECT_EQ(c->default_namespace, "shop");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->qps, 100);
  EXPECT_EQ(c->burst, 200);
  EXPECT_EQ(c->user_agent, "herd/0.1");
}

TEST_F(KubeconfigTest, ReadsBase64DataAndToken) {
  std::string path = Write("config", absl::StrCat(R"(
current-context: c
clusters:
- name: k
  cluster:
    server: https://k.example:443
    certificate-authority-data: )", absl::Base64Escape("CA DATA"), R"(
users:
- name: u
  user:
    token: abc.def
    client-certificate-data: )", absl::Base64Escape("CERT DATA"), R"(
    client-key-data: )", absl::Base64Escape("KEY DATA"), R"(
contexts:
- name: c
  context: {cluster: k, user: u}
)"));
  auto c = LoadKubeconfig({.path = path});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ca_pem, "CA DATA");
  EXPECT_EQ(c->client_cert_pem, "CERT DATA");
  EXPECT_EQ(c->client_key_pem, "KEY DATA");
  EXPECT_EQ(c->bearer_token, "abc.def");
  EXPECT_EQ(c->default_namespace, "default");
}

TEST_F(KubeconfigTest, TokenFileInsecureAndBasicAuth) {
  Write("tokens/t", "file-token\n");
  std::string path = Write("config", R"(
current-context: token
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: tf
  user: {tokenFile: tokens/t}
- name: basic
  user: {username: alice, password: s3cret}
contexts:
- name: token
  context: {cluster: k, user: tf}
- name: basic
  context: {cluster: k, user: basic, namespace: dev}
)");
  auto c = LoadKubeconfig({.path = path});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->bearer_token_file, dir_ + "/tokens/t");
  EXPECT_EQ(c->bearer_token, "file-token");

  auto b = LoadKubeconfig({.path = path, .context = "basic"});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->username, "alice");
  EXPECT_EQ(b->password, "s3cret");
  EXPECT_EQ(b->bearer_token, "");
  EXPECT_EQ(b->default_namespace, "dev");
}

TEST_F(KubeconfigTest, MergesKubeconfigListFirstValueWins) {
  std::string a = Write("a/config", R"(
current-context: one
clusters:
- name: shared
  cluster: {server: "https://first:6443"}
contexts:
- name: one
  context: {cluster: shared, user: u1}
users:
- name: u1
  user: {token: from-a}
)");
  std::string b = Write("b/config", R"(
current-context: two
clusters:
- name: shared
  cluster: {server: "https://second:6443"}
- name: other
  cluster: {server: "https://other:6443"}
contexts:
- name: one
  context: {cluster: other, user: u1}
- name: two
  context: {cluster: other, user: u2, namespace: b-ns}
users:
- name: u1
  user: {token: from-b}
- name: u2
  user: {token: two}
)");
  std::string list = absl::StrCat(dir_, "/missing/config:", a, ":", b);
  auto c = LoadKubeconfig({.env = Env({{"KUBECONFIG", list}})});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://first:6443");  // context "one" and cluster "shared" from a
  EXPECT_EQ(c->bearer_token, "from-a");

  // A context only the second file defines still resolves, against the
  // cluster it names.
  auto two = LoadKubeconfig({.context = "two", .env = Env({{"KUBECONFIG", list}})});
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->server, "https://other:6443");
  EXPECT_EQ(two->bearer_token, "two");
  EXPECT_EQ(two->default_namespace, "b-ns");
}

TEST_F(KubeconfigTest, DefaultsToHomeKubeConfig) {
  Write("home/.kube/config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "http://127.0.0.1:8080"}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  auto c = LoadKubeconfig({.env = Env({{"HOME", dir_ + "/home"}})});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "http://127.0.0.1:8080");

  auto none = LoadKubeconfig({.env = Env({{"HOME", dir_ + "/nobody"}})});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

constexpr char kBase[] = R"(
clusters: [{name: k, cluster: {server: "https://k:6443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)";

TEST_F(KubeconfigTest, Errors) {
  // Unknown context.
  std::string ok = Write("ok", absl::StrCat("current-context: c\nusers: [{name: u, user: {token: t}}]", kBase));
  auto missing_ctx = LoadKubeconfig({.path = ok, .context = "nope"});
  EXPECT_EQ(missing_ctx.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing_ctx.status().message(), HasSubstr("context \"nope\" not found"));

  // No current context.
  std::string no_current = Write("nocur", absl::StrCat("users: [{name: u, user: {token: t}}]", kBase));
  EXPECT_EQ(LoadKubeconfig({.path = no_current}).status().code(), absl::StatusCode::kFailedPrecondition);

  // Bad base64.
  std::string bad64 = Write("bad64", absl::StrCat(
      "current-context: c\nusers: [{name: u, user: {client-certificate-data: '!!!', client-key-data: 'a2V5'}}]",
      kBase));
  auto b = LoadKubeconfig({.path = bad64});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(b.status().message(), HasSubstr("client-certificate-data is not valid base64"));

  // A referenced file that does not exist.
  std::string nofile = Write("nofile", absl::StrCat(
      "current-context: c\nusers: [{name: u, user: {client-certificate: gone.crt, client-key: gone.key}}]", kBase));
  auto nf = LoadKubeconfig({.path = nofile});
  EXPECT_EQ(nf.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(nf.status().message(), HasSubstr(dir_ + "/gone.crt"));

  // A file that exists but cannot be read.
  std::string unreadable = Write("unreadable.crt", "x");
  ::chmod(unreadable.c_str(), 0);
  std::string perm = Write("perm", absl::StrCat(
      "current-context: c\nusers: [{name: u, user: {client-certificate: unreadable.crt, client-key: unreadable.crt}}]",
      kBase));
  auto p = LoadKubeconfig({.path = perm});
  if (::geteuid() != 0) {  // root reads anything
    EXPECT_EQ(p.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(p.status().message(), HasSubstr("unreadable.crt"));
  }
  std::string a_dir = Write("adir/x", "");
  std::string isdir = Write("isdir", absl::StrCat(
      "current-context: c\nusers: [{name: u, user: {client-certificate: adir, client-key: adir}}]", kBase));
  auto d = LoadKubeconfig({.path = isdir});
  EXPECT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr(dir_ + "/adir"));

  // Explicit path that does not exist.
  EXPECT_EQ(LoadKubeconfig({.path = dir_ + "/nope"}).status().code(), absl::StatusCode::kNotFound);
  // KUBECONFIG naming only missing files.
  EXPECT_EQ(LoadKubeconfig({.env = Env({{"KUBECONFIG", dir_ + "/x:" + dir_ + "/y"}})}).status().code(),
            absl::StatusCode::kNotFound);

  // Malformed YAML.
  std::string bad_yaml = Write("badyaml", "clusters: [ {name: k\n");
  auto y = LoadKubeconfig({.path = bad_yaml});
  EXPECT_EQ(y.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(y.status().message(), HasSubstr("badyaml"));
  std::string wrong_type = Write("wrongtype", "current-context: c\nclusters: {a: 1}\n");
  EXPECT_EQ(LoadKubeconfig({.path = wrong_type}).status().code(), absl::StatusCode::kInvalidArgument);

  // A context naming an unknown cluster or user.
  std::string dangling = Write("dangling", absl::StrCat("current-context: c\n", kBase));
  auto dg = LoadKubeconfig({.path = dangling});
  EXPECT_EQ(dg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dg.status().message(), HasSubstr("user \"u\" not found"));

  // No server.
  std::string noserver = Write("noserver", R"(
current-context: c
clusters: [{name: k, cluster: {insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  EXPECT_EQ(LoadKubeconfig({.path = noserver}).status().code(), absl::StatusCode::kInvalidArgument);

  // A CA together with insecure-skip-tls-verify.
  std::string both = Write("both", absl::StrCat(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k", insecure-skip-tls-verify: true, certificate-authority-data: )",
                                                absl::Base64Escape("CA"), R"(}}]
contexts: [{name: c, context: {cluster: k}}]
)"));
  EXPECT_EQ(LoadKubeconfig({.path = both}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(KubeconfigTest, UnsupportedAuthIsNamed) {
  std::string exec = Write("exec", absl::StrCat(R"(
current-context: c
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator
)", kBase));
  auto e = LoadKubeconfig({.path = exec});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(e.status().message(), HasSubstr("exec credential plugin (aws-iam-authenticator)"));

  std::string provider = Write("provider", absl::StrCat(R"(
current-context: c
users:
- name: u
  user:
    auth-provider:
      name: gcp
)", kBase));
  auto p = LoadKubeconfig({.path = provider});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(p.status().message(), HasSubstr("auth provider \"gcp\""));
}

TEST_F(KubeconfigTest, InClusterConfig) {
  std::string sa = dir_ + "/root/var/run/secrets/kubernetes.io/serviceaccount";
  Write("root/var/run/secrets/kubernetes.io/serviceaccount/token", "sa-token\n");
  Write("root/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "CLUSTER CA");
  Write("root/var/run/secrets/kubernetes.io/serviceaccount/namespace", "herd-system");
  auto c = InClusterConfig({.root_dir = dir_ + "/root",
                            .env = Env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                        {"KUBERNETES_SERVICE_PORT", "443"}})});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->bearer_token, "sa-token");
  EXPECT_EQ(c->bearer_token_file, sa + "/token");
  EXPECT_EQ(c->ca_pem, "CLUSTER CA");
  EXPECT_EQ(c->default_namespace, "herd-system");

  auto v6 = InClusterConfig({.root_dir = dir_ + "/root",
                             .env = Env({{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                                         {"KUBERNETES_SERVICE_PORT", "6443"}})});
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->server, "https://[fd00::1]:6443");

  EXPECT_EQ(InClusterConfig({.root_dir = dir_ + "/root", .env = Env({})}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto no_token = InClusterConfig({.root_dir = dir_ + "/elsewhere",
                                   .env = Env({{"KUBERNETES_SERVICE_HOST", "h"}, {"KUBERNETES_SERVICE_PORT", "1"}})});
  EXPECT_EQ(no_token.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_token.status().message(), HasSubstr("service account token"));
}

TEST(ParseKubeconfigTest, BuildsFromTextReadingNamedFilesThroughTheReader) {
  std::vector<std::string> asked;
  FileReader reader = [&asked](const std::string& path, absl::string_view) -> absl::StatusOr<std::string> {
    asked.push_back(path);
    return std::string("TOKEN FROM FILE\n");
  };
  auto c = ParseKubeconfig(R"(
current-context: dev
clusters:
- name: dev
  cluster: {server: "https://dev:6443", insecure-skip-tls-verify: true}
users:
- name: me
  user: {tokenFile: token}
contexts:
- name: dev
  context: {cluster: dev, user: me, namespace: shop}
)",
                           {.source = "/etc/herd/kubeconfig", .read_file = reader});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://dev:6443");
  EXPECT_EQ(c->bearer_token, "TOKEN FROM FILE");
  EXPECT_EQ(c->default_namespace, "shop");
  EXPECT_THAT(asked, ::testing::ElementsAre("/etc/herd/token"));
}

TEST(ParseKubeconfigTest, MalformedTextIsInvalidArgumentNamingTheSource) {
  auto c = ParseKubeconfig("clusters: [", {.source = "secret/kubeconfig"});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("secret/kubeconfig"));
  EXPECT_EQ(ParseKubeconfig("").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace herd::kube
