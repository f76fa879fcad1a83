// A client for herd's gRPC API (herd.v1.Herd) on the generated stub: the
// connection (plain or TLS, mTLS), the bearer token, a deadline on every
// call, retries only where they are safe, and following an operation to its
// end across broken streams.
//
//   herd::client::ConnectionOptions opts;
//   opts.server = "herd.example:50051";
//   if (absl::Status s = herd::client::ResolveFromEnvironment(opts); !s.ok()) return s;
//   auto client = herd::client::HerdClient::Connect(opts);
//   if (!client.ok()) return client.status();
//
//   herd::v1::RolloutRequest req;
//   req.set_workload("namespaces/shop/deployments/web");
//   (*req.mutable_images())["web"] = "registry.example/web:1.4.2";
//   absl::StatusOr<herd::v1::Operation> op = (*client)->Rollout(req);
//   if (!op.ok()) return op.status();
//   op = (*client)->WaitForOperation(
//       op->name(), [](const herd::v1::Operation& o) { Show(o); }, absl::Now() + absl::Minutes(15));
//
// Errors are absl::Status with the gRPC code and the server's message
// (UNAVAILABLE when the server cannot be reached).
#ifndef HERD_CLIENT_HERD_CLIENT_H_
#define HERD_CLIENT_HERD_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"

namespace herd::client {

// Where herdctl and the library connect when neither --server nor
// HERD_SERVER says otherwise.
inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

// How calls that failed with UNAVAILABLE are tried again. Backoff doubles
// from `initial_backoff` up to `max_backoff`, each wait jittered down by up
// to half so that many clients do not retry in step.
struct RetryPolicy {
  // Attempts per unary call, the first included.
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  // WaitForOperation: attempts in a row to re-open the watch that hear
  // nothing from the server before it gives up. Generous, because herd may
  // be purging its own pods while a caller waits.
  int max_watch_reconnects = 30;
  // WaitForOperation re-opens a watch that has been open this long, healthy
  // or not: a connection that died without a word (no FIN, no RST) cannot
  // stall the wait for longer. Re-opening is cheap: the first message is
  // the current state.
  absl::Duration watch_reopen_after = absl::Minutes(5);
};

struct ConnectionOptions {
  // HOST:PORT, or any gRPC target ("dns:///herd.example:50051").
  std::string server;
  // Sent as `authorization: Bearer TOKEN` on every call when not empty.
  std::string token;
  // Read into `token` by ResolveFromEnvironment when `token` is empty.
  std::string token_file;
  // TLS with the system's roots; implied by any of the files below.
  bool tls = false;
  // PEM files: CAs to verify the server with; a client certificate and key
  // for mTLS (both or neither).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Name expected in the server's certificate when it differs from the host.
  std::string tls_server_name;
  // The longest one call may take, its retries included.
  absl::Duration timeout = absl::Seconds(30);
  RetryPolicy retry;
  std::string user_agent = "herd-client";
};

// Looks up an environment variable; std::nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// Fills what the caller left empty, flags before environment:
//   server     ← HERD_SERVER, then kDefaultServer
//   token      ← HERD_TOKEN, then the contents of token_file / HERD_TOKEN_FILE
//   ca_file, cert_file, key_file ← HERD_CA_FILE, HERD_CERT_FILE, HERD_KEY_FILE
// `env` defaults to the process environment. Errors are INVALID_ARGUMENT
// (unreadable token file, a token that cannot go in a header).
absl::Status ResolveFromEnvironment(ConnectionOptions& options, const EnvLookup& env = nullptr);

// What a client does that tests need to control. Empty members get the
// real thing: absl::Now, absl::SleepFor, random UUIDs.
struct ClientEnvironment {
  std::function<absl::Time()> now;
  std::function<void(absl::Duration)> sleep;
  std::function<std::string()> new_request_id;
};

// Per-call overrides.
struct CallOptions {
  // Zero: ConnectionOptions::timeout.
  absl::Duration timeout = absl::ZeroDuration();
};

// A connection to one herd server. Thread-safe: calls may be made from
// several threads at once.
//
// Retries: reads (Get*, List*) and WatchOperation are retried on
// UNAVAILABLE. Mutating calls are retried only when they carry
// options.request_id, which makes a repeat return the operation the first
// attempt started; the client sets a fresh request_id on every mutating
// call that has none, so a retry can never start a second operation.
// CancelOperation is retried too: cancelling twice is cancelling once.
class HerdClient {
 public:
  // Builds the channel; connecting itself happens on the first call, so an
  // unreachable server shows up there (UNAVAILABLE). Errors here are
  // INVALID_ARGUMENT: unreadable certificate files, a cert without a key.
  static absl::StatusOr<std::unique_ptr<HerdClient>> Connect(const ConnectionOptions& options,
                                                             ClientEnvironment env = {});

  ~HerdClient();
  HerdClient(const HerdClient&) = delete;
  HerdClient& operator=(const HerdClient&) = delete;

  // Mutating calls: return the operation the server started (or, for a dry
  // run, its plan).
  absl::StatusOr<v1::Operation> Rollout(v1::RolloutRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> Undo(v1::UndoRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> Scale(v1::ScaleRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> Purge(v1::PurgeRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> Kill(v1::KillRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> RunCronJob(v1::CronJobRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> SuspendCronJob(v1::CronJobRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> ResumeCronJob(v1::CronJobRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> KillCronJobJobs(v1::CronJobRequest request, CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> CancelOperation(const v1::CancelOperationRequest& request,
                                                CallOptions call = {}) const;
  // Decide an operation waiting for approval. Retried like cancels: a
  // repeat finds the decision made (FAILED_PRECONDITION names it).
  absl::StatusOr<v1::Operation> ApproveOperation(const v1::ApproveOperationRequest& request,
                                                 CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> RejectOperation(const v1::RejectOperationRequest& request,
                                                CallOptions call = {}) const;

  // Standing policies. Create and Delete are not retried (a repeat of one
  // that got through would answer ALREADY_EXISTS or NOT_FOUND); the others
  // are safe to repeat.
  absl::StatusOr<v1::Policy> CreatePolicy(const v1::CreatePolicyRequest& request, CallOptions call = {}) const;
  absl::StatusOr<v1::Policy> GetPolicy(const v1::GetPolicyRequest& request, CallOptions call = {}) const;
  absl::StatusOr<v1::ListPoliciesResponse> ListPolicies(const v1::ListPoliciesRequest& request,
                                                        CallOptions call = {}) const;
  absl::StatusOr<v1::Policy> PausePolicy(const v1::PausePolicyRequest& request, CallOptions call = {}) const;
  absl::StatusOr<v1::Policy> ResumePolicy(const v1::ResumePolicyRequest& request, CallOptions call = {}) const;
  absl::StatusOr<v1::Policy> DeletePolicy(const v1::DeletePolicyRequest& request, CallOptions call = {}) const;

  // Reads. List calls return one page; pass next_page_token back for more.
  absl::StatusOr<v1::Workload> GetWorkload(const v1::GetWorkloadRequest& request, CallOptions call = {}) const;
  absl::StatusOr<v1::ListWorkloadsResponse> ListWorkloads(const v1::ListWorkloadsRequest& request,
                                                          CallOptions call = {}) const;
  absl::StatusOr<v1::Operation> GetOperation(absl::string_view name, CallOptions call = {}) const;
  absl::StatusOr<v1::ListOperationsResponse> ListOperations(const v1::ListOperationsRequest& request,
                                                            CallOptions call = {}) const;

  // Follows operation `name` ("operations/ID") until it reaches a final
  // state (SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK) and returns that state.
  // `on_update` (may be empty) sees every new state, on the calling thread;
  // a state equal to the previous one is not repeated, so re-opening the
  // watch after a broken stream (whose first message is the current state)
  // shows nothing twice. Errors: DEADLINE_EXCEEDED when `deadline` passes
  // first (absl::InfiniteFuture() waits as long as it takes), the server's
  // status for a refusal (NOT_FOUND…), UNAVAILABLE when the server stays
  // unreachable for RetryPolicy::max_watch_reconnects attempts.
  absl::StatusOr<v1::Operation> WaitForOperation(absl::string_view name,
                                                 const std::function<void(const v1::Operation&)>& on_update,
                                                 absl::Time deadline) const;

 private:
  struct Impl;
  explicit HerdClient(std::unique_ptr<Impl> impl);
  friend class HerdClientFactory;

  std::unique_ptr<Impl> impl_;
};

// True for SUCCEEDED, FAILED, CANCELLED and ROLLED_BACK.
bool IsFinal(v1::OperationState state);

// A random RFC 4122 version 4 UUID, the request ids the client makes.
std::string NewRequestId();

}  // namespace herd::client

#endif  // HERD_CLIENT_HERD_CLIENT_H_
