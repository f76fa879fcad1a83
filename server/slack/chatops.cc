#include "server/slack/chatops.h"

#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/herd_client.h"
#include "client/herd_client_stub.h"
#include "client/herdctl_args.h"
#include "client/herdctl_format.h"
#include "common/log/log.h"
#include "herd/v1/herd.grpc.pb.h"
#include "openssl/crypto.h"
#include "server/auth/policy.h"
#include "server/slack/command.h"

namespace herd::slack {
namespace {

using Json = nlohmann::json;
namespace v1 = ::herd::v1;

constexpr absl::string_view kRequestIdPrefix = "slack.";

// application/x-www-form-urlencoded: '+' is a space.
std::map<std::string, std::string> ParseForm(absl::string_view body) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    std::string key, value;
    if (!http::PercentDecode(absl::StrReplaceAll(kv[0], {{"+", " "}}), &key)) continue;
    if (kv.size() == 2 && !http::PercentDecode(absl::StrReplaceAll(kv[1], {{"+", " "}}), &value)) continue;
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

http::Response JsonResponse(const Json& body) {
  return {.status = 200,
          .headers = {{"Content-Type", "application/json"}},
          .body = body.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

std::string Quote(absl::string_view text) { return absl::StrCat("```", EscapeMrkdwn(text), "```"); }

// "Error from server (PERMISSION_DENIED): …" as a person reads it in chat.
std::string Refusal(absl::string_view what, const absl::Status& status) {
  return absl::StrCat(":no_entry: ", EscapeMrkdwn(what), " refused (", absl::StatusCodeToString(status.code()),
                      "): ", EscapeMrkdwn(status.message()));
}

// A request id that names the operation's Slack message, with a MAC under
// the signing secret (which every replica has), so that no caller can
// make herd update a message of its choosing by picking a request id:
// "slack.C0SHOP.1700000000.000100.U024BE7LH.<mac>".
std::string RequestIdFor(const std::string& secret, const std::string& channel, const std::string& ts,
                         const std::string& user) {
  std::string what = absl::StrCat(channel, ".", ts, ".", user);
  return absl::StrCat(kRequestIdPrefix, what, ".", auth::HexOf(auth::HmacSha256(secret, what)).substr(0, 32));
}

// The channel, ts and user of a request id RequestIdFor made.
bool ParseRequestId(const std::string& secret, absl::string_view id, std::string* channel, std::string* ts,
                    std::string* user) {
  if (!absl::ConsumePrefix(&id, kRequestIdPrefix)) return false;
  std::vector<std::string> parts = absl::StrSplit(id, '.');
  if (parts.size() != 5 || parts[0].empty() || parts[1].empty() || parts[3].empty()) return false;
  std::string want = RequestIdFor(secret, parts[0], absl::StrCat(parts[1], ".", parts[2]), parts[3]);
  if (want.size() != kRequestIdPrefix.size() + id.size() ||
      CRYPTO_memcmp(want.data() + kRequestIdPrefix.size(), id.data(), id.size()) != 0) {
    return false;
  }
  *channel = parts[0];
  *ts = absl::StrCat(parts[1], ".", parts[2]);
  *user = parts[3];
  return true;
}

bool IsFinal(v1::OperationState s) {
  return s != v1::OPERATION_STATE_PENDING && s != v1::OPERATION_STATE_RUNNING && s != v1::OPERATION_STATE_PENDING_APPROVAL;
}

}  // namespace

ChatOps::ChatOps(ChatOpsOptions options, std::shared_ptr<grpc::Channel> herd, auth::Authenticator* authenticator)
    : options_(std::move(options)),
      herd_(std::move(herd)),
      authenticator_(authenticator),
      verifier_(options_.signing_secret, options_.verifier),
      api_([this] {
        WebApiOptions api = options_.api;
        if (!api.sleep) api.sleep = [this](absl::Duration d) { Sleep(d); };
        return api;
      }()) {}

ChatOps::~ChatOps() { Stop(); }

bool ChatOps::Serves(const http::Request& request) { return absl::StartsWith(request.path, "/slack/"); }

void ChatOps::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (grpc::ClientContext* ctx : watches_) ctx->TryCancel();
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return workers_ == 0; };
  mu_.Await(absl::Condition(&idle));
}

bool ChatOps::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void ChatOps::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stop), d);
}

ChatOps::Stats ChatOps::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s = stats_;
  s.api = api_.stats();
  return s;
}

bool ChatOps::Spawn(absl::AnyInvocable<void()> work) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || workers_ >= options_.max_workers) return false;
    ++workers_;
  }
  std::thread([this, work = std::move(work)]() mutable {
    work();
    absl::MutexLock lock(&mu_);
    --workers_;
  }).detach();
  return true;
}

std::unique_ptr<client::HerdClient> ChatOps::ClientFor(const std::string& principal) const {
  client::ConnectionOptions o;
  o.token = authenticator_->DelegateToken(principal);
  o.user_agent = "herd-slack";
  o.timeout = absl::Seconds(30);
  o.retry.max_attempts = 2;
  return client::NewHerdClientForStub(v1::Herd::NewStub(herd_), o);
}

void ChatOps::Handle(http::Request request, http::Responder responder) {
  if (request.method != "POST") {
    return responder.Respond({.status = 405, .headers = {{"Allow", "POST"}}, .body = "Slack's endpoints take POST\n"});
  }
  if (request.path != "/slack/commands" && request.path != "/slack/interactions") {
    return responder.Respond({.status = 404, .body = "herdd serves /slack/commands and /slack/interactions\n"});
  }
  if (absl::Status st = verifier_.Verify(request.headers, request.body); !st.ok()) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.refused;
    }
    log::Warn("slack request refused", {{"path", request.path}, {"remote", request.remote}, {"error", st}});
    return responder.Respond({.status = 401, .body = absl::StrCat(st.message(), "\n")});
  }
  if (request.path == "/slack/commands") return HandleCommand(request, std::move(responder));
  return HandleInteraction(request, std::move(responder));
}

void ChatOps::HandleCommand(const http::Request& request, http::Responder responder) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.commands;
  }
  std::map<std::string, std::string> form = ParseForm(request.body);
  Origin origin{.channel = form["channel_id"], .user = form["user_id"], .response_url = form["response_url"]};
  const std::string text = form["text"];
  const std::string command = form["command"].empty() ? "/herd" : form["command"];

  absl::StatusOr<auth::PrincipalRef> who = authenticator_->AuthenticateSlack(origin.user, origin.channel);
  if (!who.ok()) return responder.Respond(JsonResponse(TextReply(absl::StrCat(":lock: ", EscapeMrkdwn(who.status().message())))));
  const std::string principal = (*who)->name;

  origin.asked = absl::StrCat(command, " ", text);
  // The syntax is checked here, so that a typo is answered at once; the
  // kinds of workloads are looked up by the worker (a call to herd).
  KindResolver no_lookup = [](const std::string&, const std::string&) -> absl::StatusOr<std::string> { return "deploy"; };
  absl::StatusOr<SlackCommand> parsed = ParseSlackCommand(text, no_lookup);
  if (!parsed.ok()) {
    return responder.Respond(JsonResponse(TextReply(
        absl::StrCat(":warning: `", EscapeMrkdwn(origin.asked), "`: ", EscapeMrkdwn(parsed.status().message())))));
  }
  if (parsed->command.action == herdctl::Action::kHelp) {
    return responder.Respond(JsonResponse(TextReply(SlackHelp(parsed->help_topic))));
  }
  auto work = [this, text, principal, origin]() {
    // The workload's kind, from herd's own cache (a read as the asker).
    KindResolver resolve = [this, principal](const std::string& ns,
                                             const std::string& name) -> absl::StatusOr<std::string> {
      std::unique_ptr<client::HerdClient> c = ClientFor(principal);
      std::vector<std::string> found;
      for (auto [kind, plural] :
           {std::pair{"deploy", "deployments"}, std::pair{"sts", "statefulsets"}, std::pair{"cj", "cronjobs"}}) {
        v1::GetWorkloadRequest req;
        req.set_name(absl::StrCat("namespaces/", ns, "/", plural, "/", name));
        absl::StatusOr<v1::Workload> w = c->GetWorkload(req);
        if (w.ok()) found.push_back(kind);
        if (!w.ok() && !absl::IsNotFound(w.status())) return w.status();
      }
      if (found.empty()) {
        return absl::NotFoundError(absl::StrCat("there is no Deployment, StatefulSet or CronJob ", ns, "/", name));
      }
      if (found.size() > 1) {
        return absl::InvalidArgumentError(absl::StrCat(ns, "/", name, " names more than one workload: write ", ns, "/",
                                                       absl::StrJoin(found, absl::StrCat("/", name, " or ", ns, "/")),
                                                       "/", name));
      }
      return found[0];
    };
    absl::StatusOr<SlackCommand> cmd = ParseSlackCommand(text, resolve);
    if (!cmd.ok()) {
      return Reply(origin, TextReply(absl::StrCat(":warning: `", EscapeMrkdwn(origin.asked), "`: ",
                                                  EscapeMrkdwn(cmd.status().message()))));
    }
    RunCommand(*cmd, principal, origin);
  };
  if (!Spawn(std::move(work))) {
    return responder.Respond(JsonResponse(TextReply(":hourglass: herd is busy; try again in a moment.")));
  }
  responder.Respond(JsonResponse(TextReply(absl::StrCat(":hourglass_flowing_sand: `", EscapeMrkdwn(origin.asked),
                                                        "` (as *", EscapeMrkdwn(principal), "*)"))));
}

void ChatOps::Reply(const Origin& origin, const Json& message) {
  if (origin.response_url.empty()) return;
  if (absl::Status st = api_.Respond(origin.response_url, message); !st.ok()) {
    log::Warn("slack reply not delivered", {{"channel", origin.channel}, {"error", st}});
  }
}

void ChatOps::RunCommand(const SlackCommand& parsed, const std::string& principal, Origin origin) {
  const herdctl::Command& cmd = parsed.command;
  std::unique_ptr<client::HerdClient> c = ClientFor(principal);
  const absl::Time now = absl::Now();
  using herdctl::Action;
  switch (cmd.action) {
    case Action::kGet: {
      absl::StatusOr<v1::Workload> w = c->GetWorkload(cmd.get);
      if (!w.ok()) return Reply(origin, TextReply(Refusal("status", w.status())));
      absl::StatusOr<std::string> text = herdctl::FormatWorkload(*w, herdctl::OutputFormat::kTable, now);
      return Reply(origin, TextReply(Quote(text.value_or(""))));
    }
    case Action::kOpsList: {
      v1::ListOperationsRequest req = cmd.ops_list;
      if (cmd.ops_limit > 0 && req.page_size() == 0) req.set_page_size(cmd.ops_limit);
      absl::StatusOr<v1::ListOperationsResponse> ops = c->ListOperations(req);
      if (!ops.ok()) return Reply(origin, TextReply(Refusal("ops", ops.status())));
      if (cmd.ops_limit > 0 && ops->operations_size() > cmd.ops_limit) {
        ops->mutable_operations()->DeleteSubrange(cmd.ops_limit, ops->operations_size() - cmd.ops_limit);
      }
      if (ops->operations().empty()) return Reply(origin, TextReply("No operations."));
      absl::StatusOr<std::string> text =
          herdctl::FormatOperationList(*ops, herdctl::OutputFormat::kTable, now, cmd.global.all_namespaces);
      return Reply(origin, TextReply(Quote(text.value_or(""))));
    }
    case Action::kOpsCancel: {
      v1::CancelOperationRequest req = cmd.cancel;
      if (req.reason().empty()) req.set_reason(absl::StrCat("cancelled from Slack by ", origin.user));
      absl::StatusOr<v1::Operation> op = c->CancelOperation(req);
      if (!op.ok()) return Reply(origin, TextReply(Refusal("cancel", op.status())));
      return Reply(origin, TextReply(absl::StrCat(":no_entry_sign: cancel of `", herdctl::OperationId(op->name()),
                                                  "` asked: ", EscapeMrkdwn(herdctl::FormatOutcome(*op)))));
    }
    default:
      break;
  }

  // A mutation.
  auto start = [&cmd, &c](const std::string& request_id) -> absl::StatusOr<v1::Operation> {
    auto with = [&](auto request, auto method) {
      request.mutable_options()->set_request_id(request_id);
      return ((*c).*method)(std::move(request), client::CallOptions{});
    };
    switch (cmd.action) {
      case Action::kRollout: return with(cmd.rollout, &client::HerdClient::Rollout);
      case Action::kUndo: return with(cmd.undo, &client::HerdClient::Undo);
      case Action::kScale: return with(cmd.scale, &client::HerdClient::Scale);
      case Action::kPurge: return with(cmd.purge, &client::HerdClient::Purge);
      case Action::kKill: return with(cmd.kill, &client::HerdClient::Kill);
      case Action::kCronJobRun: return with(cmd.cronjob, &client::HerdClient::RunCronJob);
      case Action::kCronJobSuspend: return with(cmd.cronjob, &client::HerdClient::SuspendCronJob);
      case Action::kCronJobResume: return with(cmd.cronjob, &client::HerdClient::ResumeCronJob);
      case Action::kCronJobKill: return with(cmd.cronjob, &client::HerdClient::KillCronJobJobs);
      default: return absl::UnimplementedError("not a command Slack runs");
    }
  };
  if (cmd.mutation.dry_run()) {
    absl::StatusOr<v1::Operation> op = start("");
    if (!op.ok()) return Reply(origin, TextReply(Refusal("dry run", op.status())));
    absl::StatusOr<std::string> text = herdctl::FormatOperation(*op, herdctl::OutputFormat::kTable, now);
    return Reply(origin, TextReply(absl::StrCat(":mag: dry run, nothing changed:\n", Quote(text.value_or("")))));
  }
  const std::string asked = absl::StrCat("asked `", EscapeMrkdwn(origin.asked), "`");
  StartOperation(std::move(origin), asked, start);
}

void ChatOps::StartOperation(
    Origin origin, absl::string_view what,
    const std::function<absl::StatusOr<v1::Operation>(const std::string& request_id)>& start) {
  std::string request_id;
  if (api_.has_bot()) {
    Json placeholder = {{"text", absl::StrCat("<@", origin.user, "> ", what, "…")}};
    if (!origin.ts.empty()) placeholder["thread_ts"] = origin.ts;
    absl::StatusOr<std::string> ts = api_.PostMessage(origin.channel, placeholder);
    if (!ts.ok()) {
      log::Warn("slack message not posted", {{"channel", origin.channel}, {"error", ts.status()}});
      return Reply(origin, TextReply(absl::StrCat(":warning: herd could not post in this channel (",
                                                  EscapeMrkdwn(ts.status().message()),
                                                  "); invite the app to the channel. Nothing was started.")));
    }
    origin.ts = *ts;
    request_id = RequestIdFor(options_.signing_secret, origin.channel, origin.ts, origin.user);
  } else {
    origin.ts.clear();
    request_id = absl::StrCat("slack-", absl::Uniform<uint64_t>(absl::BitGen()));
  }
  absl::StatusOr<v1::Operation> op = start(request_id);
  if (!op.ok()) {
    Json refused = TextReply(Refusal("the call", op.status()), /*ephemeral=*/false);
    if (api_.has_bot()) {
      if (absl::Status st = api_.UpdateMessage(origin.channel, origin.ts, refused); !st.ok()) {
        log::Warn("slack message not updated", {{"channel", origin.channel}, {"error", st}});
      }
    } else {
      Reply(origin, TextReply(Refusal("the call", op.status())));
    }
    return;
  }
  if (!api_.has_bot()) {
    Json m = OperationMessage(*op, {.slack_user = origin.user}, absl::Now());
    m["response_type"] = "in_channel";
    Reply(origin, m);
  }
  Follow(op->name(), std::move(origin));
}

void ChatOps::Follow(const std::string& operation, Origin origin) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || !followed_.insert(operation).second) return;
  }
  std::unique_ptr<v1::Herd::Stub> stub = v1::Herd::NewStub(herd_);
  const std::string token = absl::StrCat("Bearer ", authenticator_->DelegateToken(std::string(auth::kHerddReader)));
  v1::Operation last;
  absl::Time last_sent = absl::InfinitePast();
  bool sent_last = true;
  auto send = [&](const v1::Operation& op) {
    Json m = OperationMessage(op, {.slack_user = origin.user}, absl::Now());
    absl::Status st;
    if (!origin.ts.empty()) {
      st = api_.UpdateMessage(origin.channel, origin.ts, m);
    } else if (IsFinal(op.state())) {
      m["response_type"] = "in_channel";
      m["replace_original"] = true;
      st = api_.Respond(origin.response_url, m);
    }
    if (!st.ok()) log::Warn("slack message not updated", {{"op", operation}, {"error", st}});
    absl::MutexLock lock(&mu_);
    ++stats_.messages_updated;
  };
  for (int broken = 0; broken < 20 && !stopping();) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", token);
    // Reopened now and then: its first message is the current state, so an
    // update held back by the interval goes out even if nothing changes.
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.reopen_after));
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      watches_.insert(&ctx);
    }
    v1::WatchOperationRequest req;
    req.set_name(operation);
    std::unique_ptr<grpc::ClientReaderInterface<v1::Operation>> reader = stub->WatchOperation(&ctx, req);
    v1::Operation op;
    while (reader->Read(&op)) {
      broken = 0;
      last = op;
      const absl::Time now = absl::Now();
      if (IsFinal(op.state()) || now - last_sent >= options_.update_interval) {
        send(op);
        last_sent = now;
        sent_last = true;
      } else {
        sent_last = false;
      }
      if (IsFinal(op.state())) break;
    }
    grpc::Status st = reader->Finish();
    {
      absl::MutexLock lock(&mu_);
      watches_.erase(&ctx);
    }
    if (IsFinal(last.state())) break;
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) continue;
    if (st.error_code() == grpc::StatusCode::NOT_FOUND || st.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      log::Warn("slack follow ended", {{"op", operation}, {"error", st.error_message()}});
      break;
    }
    ++broken;
    Sleep(absl::Milliseconds(200) * broken);
  }
  if (!sent_last && !last.name().empty()) send(last);
  absl::MutexLock lock(&mu_);
  followed_.erase(operation);
}

void ChatOps::HandleInteraction(const http::Request& request, http::Responder responder) {
  {
    absl::MutexLock lock(&mu_);
    ++stats_.interactions;
  }
  std::map<std::string, std::string> form = ParseForm(request.body);
  Json payload = Json::parse(form["payload"], nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object() || payload.value("type", "") != "block_actions" || !payload["actions"].is_array() ||
      payload["actions"].empty() || !payload["actions"][0].is_object()) {
    return responder.Respond({.status = 400, .body = "expected a block_actions payload\n"});
  }
  auto str = [](const Json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  const Json& action = payload["actions"][0];
  Origin origin{.channel = str(payload["channel"], "id"),
                .ts = str(payload["message"], "ts"),
                .user = str(payload["user"], "id"),
                .response_url = str(payload, "response_url")};
  if (origin.channel.empty()) origin.channel = str(payload["container"], "channel_id");
  const std::string action_id = str(action, "action_id");
  const std::string operation = str(action, "value");
  if ((action_id != kCancelAction && action_id != kRollBackAction && action_id != kApproveAction &&
       action_id != kRejectAction) ||
      !absl::StartsWith(operation, "operations/")) {
    return responder.Respond({.status = 400, .body = "not a herd button\n"});
  }
  absl::StatusOr<auth::PrincipalRef> who = authenticator_->AuthenticateSlack(origin.user, origin.channel);
  if (!who.ok()) {
    return responder.Respond(JsonResponse(
        {{"response_type", "ephemeral"}, {"replace_original", false},
         {"text", absl::StrCat(":lock: ", EscapeMrkdwn(who.status().message()))}}));
  }
  const std::string principal = (*who)->name;
  bool spawned = Spawn([this, origin, principal, action_id, operation]() {
    std::unique_ptr<client::HerdClient> c = ClientFor(principal);
    if (action_id == kCancelAction) {
      v1::CancelOperationRequest req;
      req.set_name(operation);
      req.set_reason(absl::StrCat("cancelled from Slack by ", origin.user));
      absl::StatusOr<v1::Operation> op = c->CancelOperation(req);
      if (!op.ok()) return Reply(origin, TextReply(Refusal("cancel", op.status())));
      if (api_.has_bot() && !origin.ts.empty()) Follow(operation, origin);
      return;
    }
    if (action_id == kApproveAction || action_id == kRejectAction) {
      const bool approve = action_id == kApproveAction;
      const std::string why = absl::StrCat(approve ? "approved" : "rejected", " from Slack by ", origin.user);
      absl::StatusOr<v1::Operation> op;
      if (approve) {
        v1::ApproveOperationRequest req;
        req.set_name(operation);
        req.set_reason(why);
        op = c->ApproveOperation(req);
      } else {
        v1::RejectOperationRequest req;
        req.set_name(operation);
        req.set_reason(why);
        op = c->RejectOperation(req);
      }
      if (!op.ok()) return Reply(origin, TextReply(Refusal(approve ? "approve" : "reject", op.status())));
      if (api_.has_bot() && !origin.ts.empty()) Follow(operation, origin);
      return;
    }
    // Roll back: undo the workload, if it still runs what this operation made.
    absl::StatusOr<v1::Operation> op = c->GetOperation(operation);
    if (!op.ok()) return Reply(origin, TextReply(Refusal("roll back", op.status())));
    v1::GetWorkloadRequest get;
    get.set_name(op->target());
    absl::StatusOr<v1::Workload> w = c->GetWorkload(get);
    if (!w.ok()) return Reply(origin, TextReply(Refusal("roll back", w.status())));
    if (op->revision() == 0 || w->revision() != op->revision()) {
      return Reply(origin, TextReply(absl::StrCat(
                               ":warning: ", EscapeMrkdwn(herdctl::ShortResourceName(op->target(), true)), " is at revision ",
                               w->revision(), " now, not ", op->revision(),
                               " as this operation left it: nothing was rolled back. Use `/herd undo` to go back "
                               "from where it is.")));
    }
    Origin thread = origin;  // the rollback's message goes in the thread of this one
    StartOperation(thread,
                   absl::StrCat("rolls back ", herdctl::ShortResourceName(op->target(), true)),
                   [&](const std::string& request_id) {
                     v1::UndoRequest undo;
                     undo.set_workload(op->target());
                     undo.mutable_options()->set_request_id(request_id);
                     undo.mutable_options()->set_reason(
                         absl::StrCat("roll back of ", operation, " from Slack by ", origin.user));
                     return c->Undo(undo);
                   });
  });
  if (!spawned) {
    log::Warn("slack button not handled: too many workers", {{"action", action_id}, {"op", operation}});
    return responder.Respond(JsonResponse({{"response_type", "ephemeral"}, {"replace_original", false},
                                           {"text", ":hourglass: herd is busy; press again in a moment."}}));
  }
  responder.Respond({.status = 200});
}

void ChatOps::ResumeFollowing() {
  if (!api_.has_bot()) return;
  Spawn([this] {
    // At start, operations that ended while no herdd followed them get
    // their last update too; then, every so often, the running ones (an
    // operation adopted from a replica that died is followed here).
    bool first = true;
    while (!stopping()) {
      std::unique_ptr<client::HerdClient> c = ClientFor(std::string(auth::kHerddReader));
      v1::ListOperationsRequest req;
      if (!first) {
        req.add_states(v1::OPERATION_STATE_PENDING);
        req.add_states(v1::OPERATION_STATE_RUNNING);
        req.add_states(v1::OPERATION_STATE_PENDING_APPROVAL);
      }
      const absl::Time recent = absl::Now() - absl::Hours(1);
      std::string page;
      do {
        req.set_page_token(page);
        absl::StatusOr<v1::ListOperationsResponse> ops = c->ListOperations(req);
        if (!ops.ok()) {
          log::Warn("slack: operations not listed", {{"error", ops.status()}});
          break;
        }
        for (const v1::Operation& op : ops->operations()) {
          Origin origin;
          if (!ParseRequestId(options_.signing_secret, op.request_id(), &origin.channel, &origin.ts, &origin.user)) {
            continue;
          }
          if (IsFinal(op.state()) && absl::FromUnixSeconds(op.end_time().seconds()) < recent) continue;
          {
            absl::MutexLock lock(&mu_);
            if (followed_.count(op.name())) continue;
          }
          log::Info("slack: following", {{"op", op.name()}, {"channel", origin.channel}});
          if (!Spawn([this, name = op.name(), origin] { Follow(name, origin); })) {
            log::Warn("slack: not following: too many workers", {{"op", op.name()}});
          }
        }
        page = ops->next_page_token();
      } while (!page.empty() && !stopping());
      first = false;
      Sleep(options_.resume_period);
    }
  });
}

}  // namespace herd::slack
