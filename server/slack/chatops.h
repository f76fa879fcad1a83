// herd in Slack: the `/herd` slash command and the buttons of herd's
// messages, served on herdd's HTTP port at /slack/commands and
// /slack/interactions.
//
// Every request is checked with the app's signing secret (verify.h); a bad
// one gets 401 and touches nothing. The Slack member (or, failing that, the
// channel) is mapped to a principal of the tokens file
// (Authenticator::AuthenticateSlack), and the call goes through herdd's own
// gRPC service in-process with that principal's delegate token, so Slack
// meets the same rules, validation and audit as gRPC and REST.
//
// A command is answered at once (Slack waits 3 s at most) with a note only
// the asker sees; the work follows on worker threads:
//  - with a bot token, a mutation gets one message in the channel
//    (chat.postMessage), updated in place (chat.update) as the operation
//    runs and when it ends, with Cancel / Roll back buttons. The message's
//    channel and ts ride in the operation's request_id
//    ("slack.CHANNEL.TS.USER.MAC", the MAC under the signing secret so no
//    caller can aim herd at another message), so a herdd that starts
//    later, or adopts the operation, finds it and goes on updating its
//    message (ResumeFollowing): nothing is kept on herdd's disk.
//  - without one, the operation's message and its result go to the
//    command's response_url;
//  - dry runs, status, ops, refusals and usage errors are ephemeral
//    replies to the asker.
//
//   ChatOps chat({.signing_secret = secret, .api = {.bot_token = token}}, in_process_channel, authenticator);
//   http handler: if (ChatOps::Serves(req)) return chat.Handle(std::move(req), std::move(res));
//
// Thread-safe. Stop() (or the destructor) ends the followers and waits for
// the workers.
#ifndef HERD_SERVER_SLACK_CHATOPS_H_
#define HERD_SERVER_SLACK_CHATOPS_H_

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/http/http.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "server/auth/authenticator.h"
#include "server/slack/command.h"
#include "server/slack/message.h"
#include "server/slack/verify.h"
#include "server/slack/web_api.h"

namespace herd::client {
class HerdClient;
}

namespace herd::slack {

struct ChatOpsOptions {
  // The Slack app's signing secret.
  std::string signing_secret;
  WebApiOptions api;
  VerifierOptions verifier;
  // At most one chat.update per message this often while it runs (the
  // final state is always sent).
  absl::Duration update_interval = absl::Seconds(1);
  // A followed operation's watch is reopened this often, so that an update
  // held back by `update_interval` is sent even when nothing else changes.
  absl::Duration reopen_after = absl::Seconds(15);
  // How often running operations started from Slack are looked for (one
  // adopted from a replica that died is then followed here).
  absl::Duration resume_period = absl::Seconds(30);
  // Threads at once (requests being handled, and messages being followed
  // while their operations run); beyond, a command gets "herd is busy".
  int max_workers = 256;
};

class ChatOps {
 public:
  ChatOps(ChatOpsOptions options, std::shared_ptr<grpc::Channel> herd, auth::Authenticator* authenticator);
  ~ChatOps();
  ChatOps(const ChatOps&) = delete;
  ChatOps& operator=(const ChatOps&) = delete;

  // Whether the request is for Slack's endpoints (/slack/…).
  static bool Serves(const http::Request& request);
  void Handle(http::Request request, http::Responder responder);

  // Finds the operations started from Slack (their request_id, with a MAC
  // under the signing secret) and follows them, updating their messages:
  // at once those running or ended within the hour, then every
  // resume_period those running. Returns at once.
  void ResumeFollowing();

  // Ends the followers and waits for every worker. Idempotent.
  void Stop();

  struct Stats {
    int64_t commands = 0;
    int64_t interactions = 0;
    int64_t refused = 0;  // bad signature
    int64_t messages_updated = 0;
    WebApi::Stats api;
  };
  Stats stats() const;

 private:
  struct Origin {
    std::string channel;
    std::string ts;    // the operation's message; "" without a bot
    std::string user;  // the Slack member who asked
    std::string response_url;
    std::string asked;  // the command as typed
  };

  void HandleCommand(const http::Request& request, http::Responder responder);
  void HandleInteraction(const http::Request& request, http::Responder responder);
  // Runs `work` on a worker thread; false when too many run already.
  bool Spawn(absl::AnyInvocable<void()> work);
  std::unique_ptr<client::HerdClient> ClientFor(const std::string& principal) const;
  // Runs a parsed command for `principal`.
  void RunCommand(const SlackCommand& command, const std::string& principal, Origin origin);
  // Starts an operation through `start` (given the request_id to use),
  // with its message, then follows it.
  void StartOperation(Origin origin, absl::string_view what,
                      const std::function<absl::StatusOr<herd::v1::Operation>(const std::string& request_id)>& start);
  // Updates the operation's message until it ends (once per operation).
  void Follow(const std::string& operation, Origin origin);
  void Reply(const Origin& origin, const nlohmann::json& message);
  void Sleep(absl::Duration d);
  bool stopping() const;

  const ChatOpsOptions options_;
  std::shared_ptr<grpc::Channel> herd_;
  auth::Authenticator* const authenticator_;
  RequestVerifier verifier_;
  WebApi api_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int workers_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> followed_ ABSL_GUARDED_BY(mu_);
  std::set<grpc::ClientContext*> watches_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace herd::slack

#endif  // HERD_SERVER_SLACK_CHATOPS_H_
