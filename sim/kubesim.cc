#include "sim/kubesim.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/log/log.h"
#include "common/tls/certs.h"
#include "sim/apiserver.h"
#include "sim/names.h"
#include "sim/rbac/rbac.h"
#include "sim/store.h"

namespace herd::sim {

struct Simulator::Impl {
  EventLoop loop;
  std::unique_ptr<Store> store;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<HttpApi> http_api;
  std::unique_ptr<ControllerManager> controllers;
  std::unique_ptr<http::Server> server;
  std::string cert_dir;
  bool stopped = false;
};

Simulator::Simulator(SimulatorOptions options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

Simulator::~Simulator() { Stop(); }

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Start(SimulatorOptions options) {
  std::unique_ptr<Simulator> sim(new Simulator(std::move(options)));
  if (auto st = sim->Init(); !st.ok()) return st;
  return sim;
}

namespace {

absl::Status WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  out << data;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::Status Simulator::Init() {
  if (options_.seed != 0) SeedNames(options_.seed);
  Impl& im = *impl_;
  im.store = std::make_unique<Store>(StoreOptions{.history_per_resource = options_.watch_history});
  im.api = std::make_unique<ApiServer>(*im.store);

  http::ServerOptions so;
  so.listen = options_.listen;
  if (options_.tls) {
    auto ca = tls::MakeCa("kubesim-ca");
    if (!ca.ok()) return ca.status();
    auto cert = tls::IssueCert(*ca, "kubesim", {"127.0.0.1", "localhost", "::1"});
    if (!cert.ok()) return cert.status();
    ca_pem_ = ca->cert_pem;
    char tmpl[] = "/tmp/kubesim-tls-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return absl::UnavailableError("cannot make a directory for TLS files");
    im.cert_dir = tmpl;
    so.tls_cert_file = im.cert_dir + "/tls.crt";
    so.tls_key_file = im.cert_dir + "/tls.key";
    if (auto st = WriteFile(so.tls_cert_file, cert->cert_pem); !st.ok()) return st;
    if (auto st = WriteFile(so.tls_key_file, cert->key_pem); !st.ok()) return st;
  }

  if (options_.authorization == Authorization::kRbac && options_.token.empty()) {
    // The kubeconfig kubesim writes must work: its user is an admin.
    options_.token = RandomHex(32);
  }
  HttpApiOptions ho;
  ho.token = options_.token;
  ho.authorization = options_.authorization;
  ho.static_tokens = options_.static_tokens;
  ho.bookmark_interval = options_.bookmark_interval;
  ho.faults = options_.faults;
  ho.seed = options_.seed;
  im.http_api = std::make_unique<HttpApi>(im.loop, *im.api, ho);

  NodePool pool;
  for (int i = 1; i <= options_.nodes; ++i) pool.names.push_back(absl::StrCat("kubesim-node-", i));
  pool.pods_per_node = options_.pods_per_node;
  im.controllers = std::make_unique<ControllerManager>(im.loop, *im.api, options_.controllers, pool);

  im.loop.Start(1);
  // Seed the cluster on the loop thread, as everything else runs there.
  Run([&](ApiServer& api) {
    for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
      (void)api.Create(kNamespaces, "", {{"metadata", {{"name", ns}}}}, {.field_manager = "kube-apiserver"});
    }
    // The RBAC policy a new cluster has, in either authorization mode.
    const WriteOptions bootstrap{.field_manager = "kube-apiserver"};
    for (auto& role : BootstrapClusterRoles()) (void)api.Create(kClusterRoles, "", std::move(role), bootstrap);
    for (auto& binding : BootstrapClusterRoleBindings()) {
      (void)api.Create(kClusterRoleBindings, "", std::move(binding), bootstrap);
    }
    im.controllers->Start();
  });

  HttpApi* handler = im.http_api.get();
  auto server = http::Server::Start(im.loop, so, [handler](http::Request req, http::Responder res) {
    handler->Handle(std::move(req), std::move(res));
  });
  if (!server.ok()) return server.status();
  im.server = std::move(*server);
  // What /api reports as the address clients use.
  Run([&](ApiServer&) { im.http_api->SetServerAddress(im.server->address()); });
  if (!options_.kubeconfig_out.empty()) {
    if (auto st = WriteKubeconfig(options_.kubeconfig_out); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::string Simulator::url() const {
  return absl::StrCat(options_.tls ? "https://" : "http://", impl_->server->address());
}

int Simulator::port() const { return impl_->server->port(); }

std::string Simulator::Kubeconfig() const {
  std::string cluster = absl::StrCat("    server: ", url(), "\n");
  if (options_.tls) {
    absl::StrAppend(&cluster, "    certificate-authority-data: ", absl::Base64Escape(ca_pem_), "\n");
  }
  std::string user = options_.token.empty() ? "  user: {}\n" : absl::StrCat("  user:\n    token: ", options_.token, "\n");
  return absl::StrCat("apiVersion: v1\n", "kind: Config\n", "clusters:\n", "- name: kubesim\n", "  cluster:\n",
                      cluster, "contexts:\n", "- name: kubesim\n", "  context:\n", "    cluster: kubesim\n",
                      "    user: kubesim\n", "    namespace: default\n", "current-context: kubesim\n", "users:\n",
                      "- name: kubesim\n", user, "preferences: {}\n");
}

absl::Status Simulator::WriteKubeconfig(const std::string& path) const {
  // Whole or not at all: a reader waiting for the file never sees half of it.
  std::string tmp = path + ".tmp";
  if (auto st = WriteFile(tmp, Kubeconfig()); !st.ok()) return st;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

void Simulator::Run(const std::function<void(ApiServer&)>& fn) {
  absl::Notification done;
  impl_->loop.Post([&] {
    fn(*impl_->api);
    done.Notify();
  });
  done.WaitForNotification();
}

void Simulator::SetFaults(Faults faults) {
  Run([&](ApiServer&) { impl_->http_api->SetFaults(faults); });
}

void Simulator::Stop() {
  Impl& im = *impl_;
  if (im.stopped) return;
  im.stopped = true;
  if (im.http_api) {
    Run([&](ApiServer&) {
      im.http_api->CloseWatches();
      if (im.controllers) im.controllers->Stop();
    });
  }
  if (im.server) im.server->Shutdown();
  im.loop.Stop();
  im.server.reset();
  im.controllers.reset();
  im.http_api.reset();
  im.api.reset();
  im.store.reset();
  if (!im.cert_dir.empty()) {
    std::remove((im.cert_dir + "/tls.crt").c_str());
    std::remove((im.cert_dir + "/tls.key").c_str());
    ::rmdir(im.cert_dir.c_str());
  }
}

}  // namespace herd::sim
