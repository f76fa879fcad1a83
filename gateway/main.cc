// herd-gateway: herd's REST API (and /openapi.json) in front of a remote
// herdd's gRPC port.
//
//   herd-gateway --backend=herdd.herd-system:50051 --listen=0.0.0.0:8080
//   herd-gateway --backend=… --backend-tls --backend-ca=ca.pem [--backend-cert=… --backend-key=…]
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "common/event_loop/event_loop.h"
#include "common/flags/flags.h"
#include "common/http/http.h"
#include "common/log/log.h"
#include "gateway/gateway.h"
#include "gateway/openapi_doc.h"
#include "grpcpp/grpcpp.h"
#include "herd/v1/herd.grpc.pb.h"

ABSL_FLAG(std::string, backend, "127.0.0.1:50051", "herdd's gRPC address (HOST:PORT)");
ABSL_FLAG(bool, backend_tls, false, "Connect to herdd with TLS");
ABSL_FLAG(std::string, backend_ca, "", "PEM CA that signed herdd's certificate (default: the system's)");
ABSL_FLAG(std::string, backend_cert, "", "PEM client certificate for herdd's mTLS");
ABSL_FLAG(std::string, backend_key, "", "PEM key of --backend-cert");
ABSL_FLAG(std::string, listen, "127.0.0.1:8080", "Address to serve REST on (HOST:PORT)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate to serve HTTPS");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls-cert");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = herd::ParseFlags(
      argc, argv,
      "herd-gateway: herd's REST API in front of a herdd.\n"
      "  herd-gateway --backend=HOST:PORT --listen=HOST:PORT [--backend-tls --backend-ca=FILE]");
  if (!args.empty()) {
    std::fprintf(stderr, "herd-gateway: unexpected argument \"%s\"\n", args[0].c_str());
    return 2;
  }
  herd::log::Level level;
  if (!herd::log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "herd-gateway: --log-level must be debug, info, warn or error\n");
    return 2;
  }
  herd::log::SetLevel(level);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (absl::GetFlag(FLAGS_backend_tls)) {
    grpc::SslCredentialsOptions o;
    for (auto [flag, out] : {std::pair{absl::GetFlag(FLAGS_backend_ca), &o.pem_root_certs},
                             std::pair{absl::GetFlag(FLAGS_backend_cert), &o.pem_cert_chain},
                             std::pair{absl::GetFlag(FLAGS_backend_key), &o.pem_private_key}}) {
      if (!flag.empty() && !ReadFile(flag, out)) {
        std::fprintf(stderr, "herd-gateway: cannot read %s\n", flag.c_str());
        return 2;
      }
    }
    creds = grpc::SslCredentials(o);
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_backend), creds);
  auto gateway = herd::gateway::Gateway::Create(
      channel, {.services = {herd::v1::RolloutRequest::descriptor()->file()->FindServiceByName("Herd")},
                .openapi_json = herd::gateway::EmbeddedOpenApi()});
  if (!gateway.ok()) {
    std::fprintf(stderr, "herd-gateway: %s\n", std::string(gateway.status().message()).c_str());
    return 1;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  herd::EventLoop loop;
  loop.Start(2);
  herd::gateway::Gateway* gw = gateway->get();
  auto server = herd::http::Server::Start(
      loop,
      {.listen = absl::GetFlag(FLAGS_listen), .tls_cert_file = absl::GetFlag(FLAGS_tls_cert),
       .tls_key_file = absl::GetFlag(FLAGS_tls_key)},
      [gw](herd::http::Request req, herd::http::Responder res) {
        if (req.path == "/healthz") return res.Respond({.status = 200, .body = "ok\n"});
        if (gw->Serves(req)) return gw->Handle(std::move(req), std::move(res));
        res.Respond(herd::gateway::ErrorResponse(5, "not found: herd-gateway serves /v1/…, /openapi.json and /healthz"));
      });
  if (!server.ok()) {
    std::fprintf(stderr, "herd-gateway: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  herd::log::Info("herd-gateway serving", {{"http", (*server)->address()}, {"backend", absl::GetFlag(FLAGS_backend)}});
  int sig = 0;
  sigwait(&signals, &sig);
  (*server)->Shutdown();
  loop.Stop();
  return 0;
}
