#include "client/herd_client.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/herd_client_stub.h"
#include "common/log/log.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace herd::client {
namespace {

constexpr char kStatusDetailsTypeUrl[] = "type.googleapis.com/google.rpc.Status";

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", path));
  return buf.str();
}

// gRPC rejects a call whose metadata is not printable ASCII, with an error
// that does not say why; refuse such a token up front instead.
absl::Status CheckToken(absl::string_view token) {
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "the token contains spaces, control or non-ASCII characters and cannot be sent in a header");
    }
  }
  return absl::OkStatus();
}

std::optional<std::string> ProcessEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// Keeps the backoff state of one retry loop.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy) : policy_(policy), next_(policy.initial_backoff) {}

  // The wait before the next attempt: the current step, jittered down by up
  // to half.
  absl::Duration Next() {
    absl::Duration step = next_;
    next_ = std::min(next_ * 2, policy_.max_backoff);
    thread_local absl::BitGen gen;
    double f = absl::Uniform(gen, 0.5, 1.0);
    return step * f;
  }
  void Reset() { next_ = policy_.initial_backoff; }

 private:
  const RetryPolicy& policy_;
  absl::Duration next_;
};

bool WatchErrorIsRetryable(grpc::StatusCode code) {
  // A stream cut by a proxy, a restarting server or a dropped connection
  // ends as UNAVAILABLE, or as INTERNAL/UNKNOWN (RST_STREAM, "stream
  // removed"); re-opening is safe because the first message is the
  // current state.
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::UNKNOWN;
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = status.error_message();
  if (message.empty()) message = absl::StatusCodeToString(code);
  absl::Status out(code, message);
  if (!status.error_details().empty()) {
    out.SetPayload(kStatusDetailsTypeUrl, absl::Cord(status.error_details()));
  }
  return out;
}

bool IsFinal(v1::OperationState state) {
  switch (state) {
    case v1::OPERATION_STATE_SUCCEEDED:
    case v1::OPERATION_STATE_FAILED:
    case v1::OPERATION_STATE_CANCELLED:
    case v1::OPERATION_STATE_ROLLED_BACK:
      return true;
    default:
      return false;
  }
}

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};                         // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);                // variant 10
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                         lo & 0xFFFFFFFFFFFF);
}

absl::Status ResolveFromEnvironment(ConnectionOptions& options, const EnvLookup& env_in) {
  const EnvLookup& env = env_in ? env_in : EnvLookup(ProcessEnv);
  auto fill = [&](std::string& field, const char* var) {
    if (!field.empty()) return;
    if (std::optional<std::string> v = env(var); v && !v->empty()) field = *v;
  };
  fill(options.server, "HERD_SERVER");
  if (options.server.empty()) options.server = kDefaultServer;
  fill(options.ca_file, "HERD_CA_FILE");
  fill(options.cert_file, "HERD_CERT_FILE");
  fill(options.key_file, "HERD_KEY_FILE");
  // A token file named on the command line beats a token in the
  // environment: the flag is the more specific instruction.
  if (options.token.empty() && options.token_file.empty()) fill(options.token, "HERD_TOKEN");
  fill(options.token_file, "HERD_TOKEN_FILE");
  if (options.token.empty() && !options.token_file.empty()) {
    absl::StatusOr<std::string> text = ReadFile(options.token_file, "token file");
    if (!text.ok()) return text.status();
    options.token = std::string(absl::StripAsciiWhitespace(*text));
    if (options.token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("token file ", options.token_file, " is empty"));
    }
  }
  return CheckToken(options.token);
}

struct HerdClient::Impl {
  std::unique_ptr<v1::Herd::StubInterface> stub;
  ConnectionOptions options;
  ClientEnvironment env;

  void Prepare(grpc::ClientContext& ctx, absl::Time deadline) const {
    if (deadline != absl::InfiniteFuture()) ctx.set_deadline(absl::ToChronoTime(deadline));
    if (!options.token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options.token));
  }

  absl::Time DeadlineFor(const CallOptions& call) const {
    absl::Duration timeout = call.timeout > absl::ZeroDuration() ? call.timeout : options.timeout;
    return env.now() + timeout;
  }

  // One unary call with the retry policy; `retryable` says whether a
  // repeat is harmless.
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(const char* method, bool retryable, const Req& request, const CallOptions& call,
                            grpc::Status (v1::Herd::StubInterface::*fn)(grpc::ClientContext*, const Req&, Resp*)) const {
    const absl::Time deadline = DeadlineFor(call);
    Backoff backoff(options.retry);
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext ctx;
      Prepare(ctx, deadline);
      Resp response;
      grpc::Status s = (stub.get()->*fn)(&ctx, request, &response);
      if (s.ok()) return response;
      absl::Status status = FromGrpcStatus(s);
      if (!retryable || s.error_code() != grpc::StatusCode::UNAVAILABLE || attempt >= options.retry.max_attempts) {
        return status;
      }
      absl::Duration wait = backoff.Next();
      if (env.now() + wait >= deadline) return status;
      log::Debug("herd call failed, retrying",
                 {{"method", method}, {"attempt", attempt}, {"error", status}, {"wait_ms", absl::ToInt64Milliseconds(wait)}});
      env.sleep(wait);
    }
  }

  // Mutating calls: make the request idempotent, then retry only if it is.
  template <typename Req>
  absl::StatusOr<v1::Operation> Mutate(const char* method, Req request, const CallOptions& call,
                                       grpc::Status (v1::Herd::StubInterface::*fn)(grpc::ClientContext*, const Req&,
                                                                                   v1::Operation*)) const {
    if (request.options().request_id().empty()) request.mutable_options()->set_request_id(env.new_request_id());
    const bool idempotent = !request.options().request_id().empty();
    return Call(method, idempotent, request, call, fn);
  }
};

class HerdClientFactory {
 public:
  static std::unique_ptr<HerdClient> Make(std::unique_ptr<v1::Herd::StubInterface> stub,
                                          const ConnectionOptions& options, ClientEnvironment env) {
    auto impl = std::make_unique<HerdClient::Impl>();
    impl->stub = std::move(stub);
    impl->options = options;
    if (!env.now) env.now = [] { return absl::Now(); };
    if (!env.sleep) env.sleep = [](absl::Duration d) { absl::SleepFor(d); };
    if (!env.new_request_id) env.new_request_id = NewRequestId;
    impl->env = std::move(env);
    return std::unique_ptr<HerdClient>(new HerdClient(std::move(impl)));
  }
};

std::unique_ptr<HerdClient> NewHerdClientForStub(std::unique_ptr<v1::Herd::StubInterface> stub,
                                                 const ConnectionOptions& options, ClientEnvironment env) {
  return HerdClientFactory::Make(std::move(stub), options, std::move(env));
}

absl::StatusOr<std::unique_ptr<HerdClient>> HerdClient::Connect(const ConnectionOptions& options,
                                                                ClientEnvironment env) {
  if (options.server.empty()) return absl::InvalidArgumentError("no server address given");
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "mTLS needs both a client certificate (--cert-file) and its private key (--key-file)");
  }
  if (absl::Status s = CheckToken(options.token); !s.ok()) return s;

  grpc::ChannelArguments args;
  args.SetUserAgentPrefix(options.user_agent);
  // gRPC's reconnect backoff grows to two minutes by default; while it
  // waits, every call fails at once, so a client whose server restarted
  // would use up its retries before the channel looked again.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);

  std::shared_ptr<grpc::ChannelCredentials> creds;
  const bool tls = options.tls || !options.ca_file.empty() || !options.cert_file.empty();
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadFile(options.ca_file, "CA file");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!options.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFile(options.cert_file, "client certificate");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(options.key_file, "client key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    creds = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(options.server, creds, args);
  return NewHerdClientForStub(v1::Herd::NewStub(channel), options, std::move(env));
}

HerdClient::HerdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HerdClient::~HerdClient() = default;

using Stub = v1::Herd::StubInterface;

absl::StatusOr<v1::Operation> HerdClient::Rollout(v1::RolloutRequest request, CallOptions call) const {
  return impl_->Mutate("Rollout", std::move(request), call, &Stub::Rollout);
}
absl::StatusOr<v1::Operation> HerdClient::Undo(v1::UndoRequest request, CallOptions call) const {
  return impl_->Mutate("Undo", std::move(request), call, &Stub::Undo);
}
absl::StatusOr<v1::Operation> HerdClient::Scale(v1::ScaleRequest request, CallOptions call) const {
  return impl_->Mutate("Scale", std::move(request), call, &Stub::Scale);
}
absl::StatusOr<v1::Operation> HerdClient::Purge(v1::PurgeRequest request, CallOptions call) const {
  return impl_->Mutate("Purge", std::move(request), call, &Stub::Purge);
}
absl::StatusOr<v1::Operation> HerdClient::Kill(v1::KillRequest request, CallOptions call) const {
  return impl_->Mutate("Kill", std::move(request), call, &Stub::Kill);
}
absl::StatusOr<v1::Operation> HerdClient::RunCronJob(v1::CronJobRequest request, CallOptions call) const {
  return impl_->Mutate("RunCronJob", std::move(request), call, &Stub::RunCronJob);
}
absl::StatusOr<v1::Operation> HerdClient::SuspendCronJob(v1::CronJobRequest request, CallOptions call) const {
  return impl_->Mutate("SuspendCronJob", std::move(request), call, &Stub::SuspendCronJob);
}
absl::StatusOr<v1::Operation> HerdClient::ResumeCronJob(v1::CronJobRequest request, CallOptions call) const {
  return impl_->Mutate("ResumeCronJob", std::move(request), call, &Stub::ResumeCronJob);
}
absl::StatusOr<v1::Operation> HerdClient::KillCronJobJobs(v1::CronJobRequest request, CallOptions call) const {
  return impl_->Mutate("KillCronJobJobs", std::move(request), call, &Stub::KillCronJobJobs);
}
absl::StatusOr<v1::Operation> HerdClient::CancelOperation(const v1::CancelOperationRequest& request,
                                                          CallOptions call) const {
  return impl_->Call("CancelOperation", /*retryable=*/true, request, call, &Stub::CancelOperation);
}
absl::StatusOr<v1::Operation> HerdClient::ApproveOperation(const v1::ApproveOperationRequest& request,
                                                           CallOptions call) const {
  return impl_->Call("ApproveOperation", /*retryable=*/true, request, call, &Stub::ApproveOperation);
}
absl::StatusOr<v1::Operation> HerdClient::RejectOperation(const v1::RejectOperationRequest& request,
                                                          CallOptions call) const {
  return impl_->Call("RejectOperation", /*retryable=*/true, request, call, &Stub::RejectOperation);
}

absl::StatusOr<v1::Policy> HerdClient::CreatePolicy(const v1::CreatePolicyRequest& request, CallOptions call) const {
  return impl_->Call("CreatePolicy", /*retryable=*/false, request, call, &Stub::CreatePolicy);
}
absl::StatusOr<v1::Policy> HerdClient::GetPolicy(const v1::GetPolicyRequest& request, CallOptions call) const {
  return impl_->Call("GetPolicy", /*retryable=*/true, request, call, &Stub::GetPolicy);
}
absl::StatusOr<v1::ListPoliciesResponse> HerdClient::ListPolicies(const v1::ListPoliciesRequest& request,
                                                                  CallOptions call) const {
  return impl_->Call("ListPolicies", /*retryable=*/true, request, call, &Stub::ListPolicies);
}
absl::StatusOr<v1::Policy> HerdClient::PausePolicy(const v1::PausePolicyRequest& request, CallOptions call) const {
  return impl_->Call("PausePolicy", /*retryable=*/true, request, call, &Stub::PausePolicy);
}
absl::StatusOr<v1::Policy> HerdClient::ResumePolicy(const v1::ResumePolicyRequest& request, CallOptions call) const {
  return impl_->Call("ResumePolicy", /*retryable=*/true, request, call, &Stub::ResumePolicy);
}
absl::StatusOr<v1::Policy> HerdClient::DeletePolicy(const v1::DeletePolicyRequest& request, CallOptions call) const {
  return impl_->Call("DeletePolicy", /*retryable=*/false, request, call, &Stub::DeletePolicy);
}

absl::StatusOr<v1::Workload> HerdClient::GetWorkload(const v1::GetWorkloadRequest& request, CallOptions call) const {
  return impl_->Call("GetWorkload", /*retryable=*/true, request, call, &Stub::GetWorkload);
}
absl::StatusOr<v1::ListWorkloadsResponse> HerdClient::ListWorkloads(const v1::ListWorkloadsRequest& request,
                                                                    CallOptions call) const {
  return impl_->Call("ListWorkloads", /*retryable=*/true, request, call, &Stub::ListWorkloads);
}
absl::StatusOr<v1::Operation> HerdClient::GetOperation(absl::string_view name, CallOptions call) const {
  v1::GetOperationRequest request;
  request.set_name(std::string(name));
  return impl_->Call("GetOperation", /*retryable=*/true, request, call, &Stub::GetOperation);
}
absl::StatusOr<v1::ListOperationsResponse> HerdClient::ListOperations(const v1::ListOperationsRequest& request,
                                                                      CallOptions call) const {
  return impl_->Call("ListOperations", /*retryable=*/true, request, call, &Stub::ListOperations);
}

absl::StatusOr<v1::Operation> HerdClient::WaitForOperation(
    absl::string_view name, const std::function<void(const v1::Operation&)>& on_update, absl::Time deadline) const {
  const Impl& impl = *impl_;
  v1::WatchOperationRequest request;
  request.set_name(std::string(name));
  std::optional<v1::Operation> last;
  Backoff backoff(impl.options.retry);
  int silent_attempts = 0;

  auto gave_up = [&](absl::string_view why) {
    std::string state = last ? v1::OperationState_Name(last->state()) : "unknown";
    return absl::DeadlineExceededError(
        absl::StrCat("gave up waiting for ", name, " (", why, "); it was ", state, " and goes on without us"));
  };

  for (;;) {
    if (impl.env.now() >= deadline) return gave_up("deadline reached");
    grpc::ClientContext ctx;
    impl.Prepare(ctx, std::min(deadline, impl.env.now() + impl.options.retry.watch_reopen_after));
    std::unique_ptr<grpc::ClientReaderInterface<v1::Operation>> reader = impl.stub->WatchOperation(&ctx, request);
    bool heard = false;
    v1::Operation op;
    while (reader->Read(&op)) {
      heard = true;
      if (!last || !google::protobuf::util::MessageDifferencer::Equals(*last, op)) {
        last = op;
        if (on_update) on_update(op);
      }
      if (IsFinal(op.state())) {
        // The server ends the stream after the final state; do not wait
        // for it to say so.
        ctx.TryCancel();
        (void)reader->Finish();
        return *last;
      }
    }
    grpc::Status s = reader->Finish();
    if (heard) {
      silent_attempts = 0;
      backoff.Reset();
    }
    absl::Status status;
    if (s.ok()) {
      status = absl::UnavailableError(absl::StrCat("the watch of ", name, " ended before the operation did"));
    } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      if (impl.env.now() >= deadline) return gave_up("deadline reached");
      status = FromGrpcStatus(s);  // this attempt's own limit: re-open
    } else if (!WatchErrorIsRetryable(s.error_code())) {
      return FromGrpcStatus(s);
    } else {
      status = FromGrpcStatus(s);
    }
    if (++silent_attempts > impl.options.retry.max_watch_reconnects) return status;
    absl::Duration wait = backoff.Next();
    if (impl.env.now() + wait >= deadline) return gave_up(absl::StrCat("last error: ", status.message()));
    log::Debug("operation watch broke, reconnecting",
               {{"operation", name}, {"error", status}, {"wait_ms", absl::ToInt64Milliseconds(wait)}});
    impl.env.sleep(wait);
  }
}

}  // namespace herd::client
