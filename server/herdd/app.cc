#include "server/herdd/app.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/event_loop/event_loop.h"
#include "common/files/files.h"
#include "common/http/http.h"
#include "common/log/log.h"
#include "gateway/gateway.h"
#include "gateway/openapi_doc.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/api/cluster_access.h"
#include "server/api/engine_factory.h"
#include "server/api/herd_service.h"
#include "server/audit/audit.h"
#include "server/auth/authenticator.h"
#include "server/engines/workloads.h"
#include "server/herdd/demo.h"
#include "server/herdd/timed_work.h"
#include "server/kube/config.h"
#include "server/kube/errors.h"
#include "server/kube/informer.h"
#include "server/kube/rest_client.h"
#include "server/kube/trim.h"
#include "server/metrics/grpc_interceptor.h"
#include "server/metrics/handlers.h"
#include "server/metrics/metrics.h"
#include "server/metrics/process_collector.h"
#include "server/ops/lock.h"
#include "server/ops/names.h"
#include "server/ops/store.h"
#include "server/notify/notifier.h"
#include "server/policies/schedule.h"
#include "server/policies/prometheus.h"
#include "server/policies/scheduler.h"
#include "server/policies/store.h"
#include "server/slack/chatops.h"
#include "server/ui/dashboard.h"

namespace herd::herdd {
namespace {

std::string DefaultIdentity() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host[0] ? host : "herdd", "-", getpid());
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string OperationKindLabel(v1::OperationKind k) {
  std::string name = v1::OperationKind_Name(k);
  std::string out;
  for (char c : name.substr(strlen("OPERATION_KIND_"))) out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

std::string FailureReasonLabel(v1::FailureReason r) {
  std::string name = v1::FailureReason_Name(r);
  std::string out;
  for (char c : name.substr(strlen("FAILURE_REASON_"))) out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

std::string OperationResultLabel(v1::OperationState s) {
  std::string name = v1::OperationState_Name(s);
  std::string out;
  for (char c : name.substr(strlen("OPERATION_STATE_"))) out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

audit::Outcome OutcomeOf(v1::OperationState s) {
  switch (s) {
    case v1::OPERATION_STATE_SUCCEEDED: return audit::Outcome::kSucceeded;
    case v1::OPERATION_STATE_CANCELLED: return audit::Outcome::kCancelled;
    case v1::OPERATION_STATE_ROLLED_BACK: return audit::Outcome::kRolledBack;
    default: return audit::Outcome::kFailed;
  }
}

// "namespaces/shop/deployments/web" → the object an audit Event goes on.
audit::Target TargetOf(const std::string& resource_name) {
  audit::Target t;
  std::vector<std::string> parts = absl::StrSplit(resource_name, '/');
  if (parts.size() >= 2 && parts[0] == "namespaces") t.ns = parts[1];
  if (parts.size() == 4) {
    t.name = parts[3];
    if (parts[2] == "deployments") t.kind = "Deployment";
    if (parts[2] == "statefulsets") t.kind = "StatefulSet";
    if (parts[2] == "cronjobs") t.kind = "CronJob";
    if (parts[2] == "pods") t.kind = "Pod";
  }
  return t;
}

// A secret kept in a file (a mounted Kubernetes Secret), without the
// whitespace around it. INVALID_ARGUMENT, naming the flag, when it cannot
// be read or is empty.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> text = files::ReadFile(path, flag);
  if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
  std::string secret(absl::StripAsciiWhitespace(*text));
  if (secret.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is empty"));
  return secret;
}

audit::AuditEntry AuditOf(const v1::Operation& op, const std::string& principal, const std::string& verb,
                          audit::Outcome outcome) {
  audit::AuditEntry e;
  e.principal = principal;
  e.verb = verb;
  e.target = TargetOf(op.target());
  e.operation_id = op.name();
  e.reason = op.reason();
  e.detail = op.plan().changes_size() > 0 ? op.plan().changes(0) : op.target();
  e.outcome = outcome;
  e.error = op.error().message();
  e.dry_run = op.dry_run();
  return e;
}

}  // namespace

struct App::Impl {
  AppOptions options;
  metrics::Metrics metrics;
  std::unique_ptr<sim::Simulator> sim;
  std::string kubeconfig_path;
  std::unique_ptr<kube::KubeClient> kube;
  std::unique_ptr<audit::Auditor> auditor;
  std::unique_ptr<kube::InformerSet> informers;
  std::unique_ptr<ops::OperationStore> store;
  std::unique_ptr<ops::WorkloadLocks> locks;
  std::unique_ptr<ops::EngineEnv> env;
  std::unique_ptr<ops::OperationRunner> runner;
  std::unique_ptr<policies::PolicyStore> policies;
  std::unique_ptr<policies::Scheduler> scheduler;
  // herd's own service in-process, for the runs of policies (set once the
  // gRPC server is up; read by the leader's loop).
  std::atomic<v1::Herd::Stub*> policy_stub{nullptr};
  std::unique_ptr<v1::Herd::Stub> policy_stub_owner;
  std::unique_ptr<TimedWork> timed;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<auth::Authorizer> authorizer;
  std::unique_ptr<api::HerdService> service;
  std::unique_ptr<grpc::Server> grpc_server;
  int grpc_port = 0;
  // REST on the HTTP port, calling the gRPC server in-process.
  std::unique_ptr<gateway::Gateway> gateway;
  std::unique_ptr<slack::ChatOps> chatops;
  std::unique_ptr<ui::Dashboard> dashboard;
  std::unique_ptr<notify::Notifier> notifier;
  EventLoop http_loop;
  std::unique_ptr<http::Server> http_server;
  std::atomic<bool> draining{false};

  // Whom herd's writes for `principal` impersonate (--impersonate): the
  // principal, or for a policy's run ("policy:ID") the policy's creator,
  // whose rights it acts with.
  std::string ImpersonatedUser(const std::string& principal) {
    constexpr absl::string_view kPolicy = "policy:";
    if (!absl::StartsWith(principal, kPolicy) || policies == nullptr) return principal;
    auto p = policies->Get(principal.substr(kPolicy.size()));
    return p.ok() ? p->policy.creator() : principal;
  }
  std::atomic<bool> ready{false};
  absl::Notification stopped;
  absl::Mutex shutdown_mu;
  bool shut_down = false;
};

App::App() : impl_(std::make_unique<Impl>()) {}

App::~App() { Shutdown(); }

absl::StatusOr<std::unique_ptr<App>> App::Start(AppOptions options) {
  std::unique_ptr<App> app(new App());
  Impl& im = *app->impl_;
  im.options = std::move(options);
  AppOptions& o = im.options;
  if (o.identity.empty()) o.identity = DefaultIdentity();

  // The cluster.
  kube::RestConfig rest;
  if (o.sim) {
    auto sim = sim::Simulator::Start(o.sim_options);
    if (!sim.ok()) return sim.status();
    im.sim = std::move(*sim);
    rest.server = im.sim->url();
    rest.bearer_token = im.sim->token();
    rest.ca_pem = im.sim->ca_pem();
    if (!o.sim_kubeconfig_out.empty()) {
      if (auto st = im.sim->WriteKubeconfig(o.sim_kubeconfig_out); !st.ok()) return st;
      im.kubeconfig_path = o.sim_kubeconfig_out;
    }
  } else if (o.in_cluster) {
    auto c = kube::InClusterConfig({.root_dir = o.in_cluster_root});
    if (!c.ok()) return c.status();
    rest = *c;
  } else {
    auto c = kube::LoadKubeconfig({.path = o.kubeconfig, .context = o.context});
    if (!c.ok()) return c.status();
    rest = *c;
    im.kubeconfig_path = o.kubeconfig;
  }
  rest.qps = o.kube_qps;
  rest.burst = o.kube_burst;
  metrics::Metrics* m = &im.metrics;
  m->AddCollectable(std::make_shared<metrics::ProcessCollector>());
  kube::RestClientOptions rco;
  rco.on_request = [m](absl::string_view method, int code, absl::Duration took) { m->KubeRequest(method, code, took); };
  auto client = kube::NewRestClient(rest, rco);
  if (!client.ok()) return client.status();
  im.kube = o.wrap_kube ? o.wrap_kube(std::move(*client)) : std::move(*client);

  // herd's namespace holds its records and locks. A pod's own namespace
  // exists: creating it would only be a request its role refuses.
  if (!(o.in_cluster && rest.default_namespace == o.ns)) {
    auto ns = im.kube->Create(kube::kNamespaces, "", {{"metadata", {{"name", o.ns}}}});
    if (!ns.ok() && !kube::IsAlreadyExists(ns.status()) && !absl::IsPermissionDenied(ns.status())) {
      return absl::UnavailableError(absl::StrCat("cannot reach the Kubernetes API at ", rest.server, ": ",
                                                 ns.status().message()));
    }
  }
  if (o.sim && o.demo) {
    if (auto st = CreateDemoWorkloads(*im.kube); !st.ok()) return st;
  }

  // Who may call.
  if (o.sim || o.insecure_no_auth) {
    if (!o.tokens_file.empty()) {
      return absl::InvalidArgumentError("--tokens-file and --insecure-no-auth (or --sim) exclude each other");
    }
    im.authenticator = auth::Authenticator::Insecure();
    log::Warn(o.sim ? "--sim implies --insecure-no-auth: every caller may do everything (outside protected namespaces)"
                    : "--insecure-no-auth: every caller may do everything (outside protected namespaces)");
  } else {
    if (o.tokens_file.empty()) {
      return absl::InvalidArgumentError("give --tokens-file=FILE (or --insecure-no-auth to accept every caller)");
    }
    auto authn = auth::Authenticator::FromFile(o.tokens_file);
    if (!authn.ok()) return authn.status();
    im.authenticator = std::move(*authn);
  }
  im.auditor = std::make_unique<audit::Auditor>(im.kube.get(), audit::AuditorOptions{.reporting_instance = o.identity});
  // One cache for the process, trimmed on the way in: reads and engines
  // share it.
  im.informers = std::make_unique<kube::InformerSet>(*im.kube, kube::InformerOptions{.transform = kube::TrimForCache});
  im.informers->Cover(o.namespaces);
  for (const kube::Resource* r : engines::CachedResources()) {
    for (const std::string& covered : im.informers->NamespacesFor("")) im.informers->For(*r, covered);
  }
  im.informers->Start();
  im.store = std::make_unique<ops::OperationStore>(*im.kube, o.ns, o.store);
  im.store->Start();
  if (auto st = im.store->WaitForSync(absl::Now() + absl::Seconds(30)); !st.ok()) return st;
  im.locks = std::make_unique<ops::WorkloadLocks>(*im.kube, o.ns, o.identity, o.lease_duration);
  im.locks->StartCache(&im.informers->notifier());  // reads show running operations from it
  im.env = std::make_unique<ops::EngineEnv>(
      ops::EngineEnv{*im.kube, *im.informers, *kube::Clock::Real(), o.engine, o.write_hook});
  ops::RunnerOptions ro = o.runner;
  ro.identity = o.identity;
  if (o.impersonate) {
    if (im.authenticator->insecure()) {
      return absl::InvalidArgumentError(
          "--impersonate acts as each caller: it needs --tokens-file (not --insecure-no-auth or --sim)");
    }
    // Each operation's writes act as its principal, with the groups the
    // tokens file gives it: the cluster's RBAC decides, and its audit log
    // names the caller.
    ro.client_for = [&im](const v1::Operation& op) {
      const std::string user = im.ImpersonatedUser(op.principal());
      return im.kube->Impersonate({.user = user, .groups = im.authenticator->GroupsOf(user)});
    };
  }
  if (!o.notifications_file.empty()) {
    auto notifier = notify::Notifier::Start(im.kube.get(), {.config_path = o.notifications_file, .ns = o.ns,
                                                            .identity = o.identity});
    if (!notifier.ok()) return notifier.status();
    im.notifier = *std::move(notifier);
    notify::Notifier* n = im.notifier.get();
    im.metrics.AddCollectable(std::make_shared<metrics::CallbackFamily>(
        "herd_notifications_total", "Notifications by sink and result: delivered, retried (an attempt that failed) "
        "or failed (given up).",
        prometheus::MetricType::Counter, std::vector<std::string>{"sink", "result"}, [n] {
          std::vector<metrics::CallbackFamily::Sample> out;
          for (const auto& [sink, s] : n->stats()) {
            out.push_back({{sink, "delivered"}, static_cast<double>(s.delivered)});
            out.push_back({{sink, "retried"}, static_cast<double>(s.retried)});
            out.push_back({{sink, "failed"}, static_cast<double>(s.failed)});
          }
          return out;
        }));
    im.metrics.AddCollectable(std::make_shared<metrics::CallbackGauge>(
        "herd_notifications_pending", "Notifications this herdd has still to deliver.",
        [n] { return static_cast<double>(n->pending()); }));
  }
  notify::Notifier* notifier = im.notifier.get();
  im.runner = std::make_unique<ops::OperationRunner>(
      *im.env, *im.store, *im.locks, [](const ops::Record& r) { return api::EngineFromRecord(r); },
      ops::RunnerHooks{
          .on_start = [m, notifier](const v1::Operation& op) {
            m->OperationStarted(OperationKindLabel(op.kind()));
            if (notifier != nullptr) notifier->Notify(op);
            log::Info("operation started", {{"op", op.name()}, {"target", op.target()}, {"principal", op.principal()}});
          },
          .on_adopt = [m](const v1::Operation& op) { m->OperationAdopted(OperationKindLabel(op.kind())); },
          .on_held =
              [notifier](const v1::Operation& op) {
                if (notifier != nullptr) notifier->Notify(op);
                log::Info("operation waits for approval",
                          {{"op", op.name()}, {"target", op.target()}, {"principal", op.principal()}});
              },
          .on_finish = [m, auditor = im.auditor.get(), notifier](const v1::Operation& op) {
            if (notifier != nullptr) notifier->Notify(op);
            absl::Duration took = ops::FromProto(op.end_time()) - ops::FromProto(op.create_time());
            std::string kind = OperationKindLabel(op.kind());
            m->OperationFinished(kind, OperationResultLabel(op.state()), took);
            for (const v1::Timing& t : op.timings()) m->OperationPhase(kind, t.phase(), ops::FromProto(t.duration()));
            m->PodsKilled(kind, op.progress().killed());
            if (op.state() == v1::OPERATION_STATE_ROLLED_BACK) m->RolledBack(FailureReasonLabel(op.failure().reason()));
            auditor->Record(AuditOf(op, op.principal(), ops::OperationVerb(op.kind()), OutcomeOf(op.state())));
            log::Info("operation ended", {{"op", op.name()},
                                          {"target", op.target()},
                                          {"state", v1::OperationState_Name(op.state())},
                                          {"error", op.error().message()}});
          }},
      ro);
  im.runner->Start();

  // Standing policies: kept in the cluster beside the records, run by the
  // leader through herd's own service, as "policy:ID" acting for its
  // creator (so its rules, validation, locks and audit are any call's).
  im.policies = std::make_unique<policies::PolicyStore>(*im.kube, o.ns);
  im.policies->Start();
  if (auto st = im.policies->WaitForSync(absl::Now() + absl::Seconds(30)); !st.ok()) return st;
  Impl* self = &im;
  // herd's own service, called as a policy ("policy:ID" acting for its
  // creator), in process.
  struct AsPolicy {
    v1::Herd::Stub* stub;
    std::string token;
  };
  auto as_policy = [self](const v1::Policy& p) -> absl::StatusOr<AsPolicy> {
    v1::Herd::Stub* stub = self->policy_stub.load();
    if (stub == nullptr) return absl::UnavailableError("herdd is starting");
    return AsPolicy{stub, self->authenticator->DelegateToken(absl::StrCat("policy:", policies::IdOf(p)), p.creator())};
  };
  im.scheduler = std::make_unique<policies::Scheduler>(
      *im.policies,
      [as_policy](const v1::Policy& p, absl::Time scheduled) -> absl::StatusOr<v1::Operation> {
        auto as = as_policy(p);
        if (!as.ok()) return as.status();
        return api::StartPolicyRun(*as->stub, as->token, p, scheduled);
      },
      [self](const v1::Policy& p, absl::Time scheduled) -> absl::StatusOr<v1::Operation> {
        const std::string id = policies::IdOf(p);
        auto rec = self->store->Fetch(
            ops::OperationIdForRequest(absl::StrCat("policy:", id), policies::RunRequestId(id, scheduled)));
        if (!rec.ok()) return rec.status();
        return rec->op;
      },
      im.env->clock,
      policies::SchedulerOptions{
          .write_hook = o.write_hook,
          .age_check = o.policy_check,
          .inspect = [as_policy](const v1::Policy& p) -> absl::StatusOr<v1::Workload> {
            auto as = as_policy(p);
            if (!as.ok()) return as.status();
            return api::InspectPolicyWorkload(*as->stub, as->token, p);
          },
          .replace = [as_policy](const v1::Policy& p, int oldest,
                                 const std::string& request_id) -> absl::StatusOr<v1::Operation> {
            auto as = as_policy(p);
            if (!as.ok()) return as.status();
            return api::StartPolicyPurge(*as->stub, as->token, p, oldest, request_id);
          },
          .query_load = o.prometheus_url.empty()
                            ? std::function<absl::StatusOr<double>(const std::string&, absl::Duration)>()
                            : [url = o.prometheus_url](const std::string& query, absl::Duration timeout) {
                                return policies::QueryValue(url, query, timeout);
                              },
          .scale = [as_policy](const v1::Policy& p, int replicas,
                               const std::string& request_id) -> absl::StatusOr<v1::Operation> {
            auto as = as_policy(p);
            if (!as.ok()) return as.status();
            return api::StartPolicyScale(*as->stub, as->token, p, replicas, request_id);
          }});
  im.timed = std::make_unique<TimedWork>(
      *im.env, *im.locks,
      TimedWorkOptions{.lead_period = std::max(absl::Milliseconds(100), o.lease_duration / 3),
                       .policies = [self](absl::Time deadline) { return self->scheduler->RunDue(deadline); },
                       .lead_taken = [self] { self->scheduler->LeadTaken(); }});
  im.policies->OnChange([timed = im.timed.get()] { timed->Wake(); });
  im.timed->Start();

  im.authorizer = std::make_unique<auth::Authorizer>(auth::AuthorizerOptions{.protected_namespaces = o.protected_namespaces});

  Impl* raw = &im;
  im.service = std::make_unique<api::HerdService>(api::ServiceDeps{
      .env = im.env.get(),
      .runner = im.runner.get(),
      .store = im.store.get(),
      .locks = im.locks.get(),
      .policies = im.policies.get(),
      .prometheus = o.prometheus_url.empty()
                        ? std::function<absl::StatusOr<double>(const std::string&, absl::Duration)>()
                        : [url = o.prometheus_url](const std::string& query, absl::Duration timeout) {
                            return policies::QueryValue(url, query, timeout);
                          },
      .authenticator = im.authenticator.get(),
      .authorizer = im.authorizer.get(),
      .audit = [auditor = im.auditor.get()](const api::AuditNote& n) {
        audit::AuditEntry e;
        e.principal = n.principal;
        e.verb = n.verb;
        e.target = TargetOf(n.target);
        e.operation_id = n.operation;
        e.reason = n.reason;
        e.detail = n.detail;
        e.outcome = n.result == "held for approval"          ? audit::Outcome::kHeld
                    : n.result == "approved"                 ? audit::Outcome::kApproved
                    : n.result == "rejected"                 ? audit::Outcome::kRejected
                    : absl::StartsWith(n.result, "policy ")  ? audit::Outcome::kSucceeded  // a policy changed
                                                             : audit::Outcome::kStarted;
        e.dry_run = n.dry_run;
        if (n.result == "cancel requested" || n.result == "withdrawn before approval") e.detail = n.result;
        auditor->Record(std::move(e));
      },
      .draining = [raw] { return raw->draining.load(); },
      // Acting as the caller, herd asks the cluster first: a caller its
      // RBAC refuses gets PERMISSION_DENIED, not an operation that fails.
      .check_writes = !o.impersonate ? nullptr
                                     : std::function<absl::Status(const std::string&, const v1::Plan&)>(
                                           [&im](const std::string& principal, const v1::Plan& plan) {
                                             const std::string user = im.ImpersonatedUser(principal);
                                             auto as_caller = im.kube->Impersonate(
                                                 {.user = user, .groups = im.authenticator->GroupsOf(user)});
                                             if (!as_caller.ok()) return as_caller.status();
                                             return api::CheckWrites(**as_caller, principal, plan);
                                           }),
      .denied = [m](absl::string_view reason) { m->AuthDenied(reason); }});

  // gRPC.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!o.tls_cert_file.empty()) {
    auto cert = ReadFile(o.tls_cert_file);
    auto key = ReadFile(o.tls_key_file);
    if (!cert.ok()) return cert.status();
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions so;
    so.pem_key_cert_pairs.push_back({*key, *cert});
    if (!o.tls_client_ca_file.empty()) {
      auto ca = ReadFile(o.tls_client_ca_file);
      if (!ca.ok()) return ca.status();
      so.pem_root_certs = *ca;
      so.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(so);
  }
  builder.AddListeningPort(o.grpc_listen, creds, &im.grpc_port);
  builder.RegisterService(im.service.get());
  builder.experimental().SetInterceptorCreators(metrics::GrpcServerInterceptors(im.metrics));
  if (const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName("herd.v1.Herd")) {
    im.metrics.InitializeGrpcService(*svc);
  }
  im.grpc_server = builder.BuildAndStart();
  if (!im.grpc_server || im.grpc_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on ", o.grpc_listen));
  }
  im.grpc_server->GetHealthCheckService()->SetServingStatus(true);
  im.policy_stub_owner = v1::Herd::NewStub(im.grpc_server->InProcessChannel(grpc::ChannelArguments()));
  im.policy_stub = im.policy_stub_owner.get();

  // REST: the gateway calls the gRPC server in-process, so a REST call
  // goes through the same authentication, interceptors and metrics.
  auto gw = gateway::Gateway::Create(im.grpc_server->InProcessChannel(grpc::ChannelArguments()),
                                     {.services = {v1::Operation::descriptor()->file()->FindServiceByName("Herd")},
                                      .openapi_json = gateway::EmbeddedOpenApi()});
  if (!gw.ok()) return gw.status();
  im.gateway = std::move(*gw);

  // Slack: its calls go through the gRPC server in-process too, as the
  // principal the Slack member maps to.
  if (!o.slack_signing_secret_file.empty()) {
    absl::StatusOr<std::string> secret = ReadSecretFile(o.slack_signing_secret_file, "--slack-signing-secret-file");
    if (!secret.ok()) return secret.status();
    std::string bot_token;
    if (!o.slack_bot_token_file.empty()) {
      absl::StatusOr<std::string> token = ReadSecretFile(o.slack_bot_token_file, "--slack-bot-token-file");
      if (!token.ok()) return token.status();
      bot_token = *std::move(token);
    }
    im.chatops = std::make_unique<slack::ChatOps>(
        slack::ChatOpsOptions{.signing_secret = *std::move(secret),
                              .api = {.api_url = o.slack_api_url, .bot_token = std::move(bot_token)}},
        im.grpc_server->InProcessChannel(grpc::ChannelArguments()), im.authenticator.get());
    im.chatops->ResumeFollowing();
    slack::ChatOps* chat = im.chatops.get();
    im.metrics.AddCollectable(std::make_shared<metrics::CallbackFamily>(
        "herd_slack_requests_total", "Requests from Slack, by endpoint; \"refused\": a bad or replayed signature.",
        prometheus::MetricType::Counter, std::vector<std::string>{"endpoint"}, [chat] {
          slack::ChatOps::Stats s = chat->stats();
          return std::vector<metrics::CallbackFamily::Sample>{{{"commands"}, static_cast<double>(s.commands)},
                                                              {{"interactions"}, static_cast<double>(s.interactions)},
                                                              {{"refused"}, static_cast<double>(s.refused)}};
        }));
    im.metrics.AddCollectable(std::make_shared<metrics::CallbackFamily>(
        "herd_slack_api_calls_total", "Calls herd made to Slack (Web API and response_url), by result.",
        prometheus::MetricType::Counter, std::vector<std::string>{"result"}, [chat] {
          slack::WebApi::Stats s = chat->stats().api;
          return std::vector<metrics::CallbackFamily::Sample>{
              {{"sent"}, static_cast<double>(s.calls - s.retries - s.failures)},
              {{"retried"}, static_cast<double>(s.retries)},
              {{"failed"}, static_cast<double>(s.failures)}};
        }));
  } else if (!o.slack_bot_token_file.empty()) {
    return absl::InvalidArgumentError("--slack-bot-token-file needs --slack-signing-secret-file");
  }

  // HTTP: REST, /openapi.json, metrics, health and readiness, the dashboard.
  if (o.dashboard) {
    im.dashboard = std::make_unique<ui::Dashboard>(
        ui::DashboardOptions{.authenticator = im.authenticator.get(),
                             .authorizer = im.authorizer.get(),
                             .denied = [m](absl::string_view reason) { m->AuthDenied(reason); }});
  }
  im.http_loop.Start(2);
  http::Handler metrics_handler = metrics::MetricsHandler(im.metrics);
  http::Handler healthz = metrics::HealthzHandler();
  http::Handler readyz = metrics::ReadyzHandler([raw]() -> absl::Status {
    if (raw->draining.load()) return absl::UnavailableError("shutting down");
    if (!raw->ready.load()) return absl::UnavailableError("starting");
    if (absl::Status st = raw->store->WaitForSync(absl::Now()); !st.ok()) return st;
    if (absl::Status st = raw->locks->WaitForCacheSync(absl::Now()); !st.ok()) return st;
    return raw->informers->WaitForSync(absl::Now());  // the shared cache reads answer from
  });
  im.metrics.AddCollectable(std::make_shared<metrics::CallbackGauge>(
      "herd_cache_synced", "1 when herd's caches (operation records and watched objects) are synced, else 0.",
      [raw] {
        absl::Time now = absl::Now();
        return raw->store->WaitForSync(now).ok() && raw->informers->WaitForSync(now).ok() ? 1.0 : 0.0;
      }));
  // The caches, by resource: what they hold, and how often they had to
  // list again or reopen a watch (a watch ends every few minutes; more
  // often means the API server or the network drops them).
  auto caches = [raw] {
    std::vector<kube::InformerStats> all = raw->informers->Stats();
    all.push_back(raw->store->Stats());
    std::map<std::string, kube::InformerStats> by_resource;
    for (const auto& s : all) {
      auto& sum = by_resource[s.resource];
      sum.objects += s.objects;
      sum.lists += std::max<int64_t>(0, s.lists - 1);
      sum.watches += std::max<int64_t>(0, s.watches - 1);
    }
    return by_resource;
  };
  using Stats = kube::InformerStats;
  auto per_resource = [caches](std::function<double(const Stats&)> value) {
    return [caches, value] {
      std::vector<metrics::CallbackFamily::Sample> out;
      for (const auto& [resource, s] : caches()) out.push_back({{resource}, value(s)});
      return out;
    };
  };
  const std::vector<std::string> by_resource = {"resource"};
  im.metrics.AddCollectable(std::make_shared<metrics::CallbackFamily>(
      "herd_cache_objects", "Objects in herd's caches, by resource.", prometheus::MetricType::Gauge, by_resource,
      per_resource([](const Stats& s) { return static_cast<double>(s.objects); })));
  im.metrics.AddCollectable(std::make_shared<metrics::CallbackFamily>(
      "herd_cache_relists_total", "Lists of a resource after the first (a watch too old to resume, or errors).",
      prometheus::MetricType::Counter, by_resource,
      per_resource([](const Stats& s) { return static_cast<double>(s.lists); })));
  im.metrics.AddCollectable(std::make_shared<metrics::CallbackFamily>(
      "herd_watch_restarts_total", "Watches of a resource reopened after the first ended.",
      prometheus::MetricType::Counter, by_resource,
      per_resource([](const Stats& s) { return static_cast<double>(s.watches); })));
  auto http = http::Server::Start(
      im.http_loop, {.listen = o.http_listen},
      [metrics_handler, healthz, readyz, gw = im.gateway.get(), chat = im.chatops.get(),
       dashboard = im.dashboard.get()](http::Request req, http::Responder res) {
        if (req.path == "/metrics") return metrics_handler(std::move(req), std::move(res));
        if (req.path == "/healthz") return healthz(std::move(req), std::move(res));
        if (req.path == "/readyz") return readyz(std::move(req), std::move(res));
        if (gw->Serves(req)) return gw->Handle(std::move(req), std::move(res));
        if (chat != nullptr && slack::ChatOps::Serves(req)) return chat->Handle(std::move(req), std::move(res));
        if (dashboard != nullptr && ui::Dashboard::Serves(req)) return dashboard->Handle(std::move(req), std::move(res));
        http::Response r{.status = 404,
                         .body = absl::StrCat("not found: herdd serves ", dashboard != nullptr ? "the dashboard (/), " : "",
                                              "/v1/… (REST), /openapi.json, /metrics, /healthz and /readyz here",
                                              chat != nullptr ? ", and Slack's /slack/commands and /slack/interactions"
                                                              : "",
                                              "\n")};
        r.headers.Add("Content-Type", "text/plain; charset=utf-8");
        res.Respond(std::move(r));
      });
  if (!http.ok()) return http.status();
  im.http_server = std::move(*http);
  im.ready = true;
  log::Info("herdd serving", {{"grpc", app->grpc_address()},
                              {"http", im.http_server->address()},
                              {"identity", o.identity},
                              {"cluster", rest.server},
                              {"namespace", o.ns}});
  return app;
}

std::string App::grpc_address() const {
  std::string host = impl_->options.grpc_listen.substr(0, impl_->options.grpc_listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return absl::StrCat(host, ":", impl_->grpc_port);
}

int App::grpc_port() const { return impl_->grpc_port; }
std::string App::http_address() const { return impl_->http_server ? impl_->http_server->address() : ""; }
const std::string& App::identity() const { return impl_->options.identity; }
sim::Simulator* App::simulator() { return impl_->sim.get(); }
kube::InformerSet& App::cache() { return *impl_->informers; }
ops::WorkloadLocks& App::locks() { return *impl_->locks; }
std::string App::kubeconfig_path() const { return impl_->kubeconfig_path; }

void App::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&impl_->shutdown_mu);
    if (impl_->shut_down) return;
    impl_->shut_down = true;
  }
  Impl& im = *impl_;
  im.draining = true;
  if (im.chatops) im.chatops->Stop();  // its watches would hold the gRPC server's shutdown
  if (im.grpc_server) {
    im.grpc_server->GetHealthCheckService()->SetServingStatus(false);
    // Calls in flight (watches too) get `grace` to finish.
    im.grpc_server->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  }
  if (im.timed) im.timed->Stop();
  if (im.runner) im.runner->HandOver();
  if (im.auditor) im.auditor->Flush(absl::Now() + absl::Seconds(2));
  if (im.http_server) im.http_server->Shutdown();
  im.http_loop.Stop();
  if (im.notifier) im.notifier->Stop();  // what is not delivered stays in the outbox
  if (im.store) im.store->Stop();
  if (im.policies) im.policies->Stop();
  if (im.informers) im.informers->Stop();
  if (im.sim) im.sim->Stop();
  im.stopped.Notify();
}

void App::Wait() { impl_->stopped.WaitForNotification(); }

std::string SimWelcome(const App& app, const std::string& bin_dir) {
  std::string kubeconfig = app.kubeconfig_path();
  std::string herdctl = absl::StrCat(bin_dir, "/herdctl --server=", app.grpc_address());
  return absl::StrCat(
      "\nherd is running against a simulated cluster (kubesim, in this process).\n\n",
      "  gRPC     ", app.grpc_address(), "   (herd.v1.Herd, health, reflection; no authentication with --sim)\n",
      "  Web      http://", app.http_address(), "/   (the dashboard)\n",
      "  HTTP     http://", app.http_address(), "/healthz  /readyz  /v1/workloads (REST)\n",
      kubeconfig.empty() ? "" : absl::StrCat("  kubectl  export KUBECONFIG=", kubeconfig, "\n           kubectl get pods -A --watch\n"),
      "\nTry:\n",
      "  ", herdctl, " list -A\n",
      "  ", herdctl, " -n shop rollout deploy/web web=shop/web:1.1 --wait\n",
      "  ", herdctl, " -n shop rollout deploy/web web=shop/web:2-crashloop --wait    # fails, rolls back\n",
      "  ", herdctl, " -n shop rollout deploy/web --tag=1.2 --wait    # the release's tag, each repository kept\n",
      "  ", herdctl, " -n shop scale deploy/api --replicas=8 --wait\n",
      "  ", herdctl, " -n shop purge deploy/worker --wait\n",
      "  ", herdctl, " -n shop kill -l app=web --max-pods=6 --wait               # the budget lets one go, refuses the next\n",
      "  ", herdctl, " -n batch rollout sts/queue queue=batch/queue:1.1 --wait\n",
      "  ", herdctl, " -n batch cronjob run report --wait\n",
      "  ", herdctl, " ops list -A\n",
      "\nStop with Ctrl-C.\n");
}

}  // namespace herd::herdd
