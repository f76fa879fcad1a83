#include "server/notify/notifier.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/herdctl_args.h"
#include "common/http/client.h"
#include "common/k8s/time.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "server/auth/policy.h"
#include "server/kube/errors.h"
#include "server/kube/resource.h"
#include "server/ops/names.h"
#include "server/slack/message.h"

namespace herd::notify {
namespace {

using Json = kube::Json;
namespace v1 = ::herd::v1;

constexpr char kOutboxLabel[] = "herd.dev/notification";
constexpr char kClaimedBy[] = "herd.dev/claimed-by";
constexpr char kClaimedUntil[] = "herd.dev/claimed-until";

std::string Outcome(v1::OperationState s) {
  switch (s) {
    case v1::OPERATION_STATE_RUNNING: return "started";
    case v1::OPERATION_STATE_SUCCEEDED: return "succeeded";
    case v1::OPERATION_STATE_FAILED: return "failed";
    case v1::OPERATION_STATE_CANCELLED: return "cancelled";
    case v1::OPERATION_STATE_ROLLED_BACK: return "rolled_back";
    case v1::OPERATION_STATE_PENDING_APPROVAL: return "pending_approval";
    default: return "";
  }
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string Annotation(const Json& cm, const char* key) {
  const Json& a = cm["metadata"].value("annotations", Json::object());
  return a.is_object() && a.contains(key) && a[key].is_string() ? a[key].get<std::string>() : "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Notifier>> Notifier::Start(kube::KubeClient* kube, NotifierOptions options) {
  absl::StatusOr<Config> config = LoadConfigFile(options.config_path);
  if (!config.ok()) return config.status();
  std::unique_ptr<Notifier> n(new Notifier(kube, std::move(options), *std::move(config)));
  n->worker_ = std::thread([raw = n.get()] { raw->Run(); });
  return n;
}

Notifier::Notifier(kube::KubeClient* kube, NotifierOptions options, Config config)
    : kube_(kube), options_(std::move(options)), config_(std::move(config)) {
  config_mtime_ns_ = MtimeNs(options_.config_path);
  next_config_check_ = absl::Now() + options_.config_check;
  for (const Sink& s : config_.sinks) stats_[s.name];
}

Notifier::~Notifier() { Stop(); }

void Notifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

std::map<std::string, Notifier::SinkStats> Notifier::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

int64_t Notifier::pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size());
}

void Notifier::Notify(const v1::Operation& op) {
  const std::string outcome = Outcome(op.state());
  if (op.dry_run() || outcome.empty()) return;
  const std::string ns = herdctl::NamespaceOf(op.target());
  const std::string kind = ops::OperationVerb(op.kind());
  const std::string id = absl::StrCat(op.name().substr(op.name().rfind('/') + 1), ".", outcome);
  const absl::Time now = absl::Now();

  std::string ce;  // the CloudEvent, made once for every sink that takes it
  std::string slack;
  absl::MutexLock lock(&mu_);
  for (const Sink& sink : config_.sinks) {
    if (!sink.Matches(ns, kind, outcome)) continue;
    Delivery d{.sink = sink.name, .event_id = id, .created = now, .due = now, .backoff = options_.initial_backoff};
    d.key = absl::StrCat("herd-notify-", auth::HexOf(auth::ComputeSha256(absl::StrCat(sink.name, "\n", id))).substr(0, 32));
    if (sink.type == Sink::Type::kSlack) {
      if (slack.empty()) {
        Json m = slack::OperationMessage(op, {}, now);
        Json blocks = Json::array();
        for (const Json& b : m["blocks"]) {
          if (b.value("type", "") != "actions") blocks.push_back(b);
        }
        m["blocks"] = std::move(blocks);
        slack = m.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
      d.body = slack;
      d.content_type = "application/json";
    } else {
      if (ce.empty()) {
        std::string data;
        google::protobuf::util::JsonPrintOptions o;
        (void)google::protobuf::util::MessageToJsonString(op, &data, o);
        Json event = {{"specversion", "1.0"},
                      {"id", id},
                      {"source", "/herd"},
                      {"type", absl::StrCat("dev.herd.operation.", outcome)},
                      {"subject", op.target()},
                      {"time", k8s::FormatMicroTime(now)},
                      {"datacontenttype", "application/json"},
                      {"data", Json::parse(data, nullptr, false)}};
        ce = event.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
      d.body = ce;
      d.content_type = "application/cloudevents+json";
    }
    queue_.emplace(d.key, std::move(d));
    woken_ = true;
  }
}

void Notifier::MaybeReload() {
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() < next_config_check_) return;
    next_config_check_ = absl::Now() + options_.config_check;
  }
  const int64_t mtime = MtimeNs(options_.config_path);
  {
    absl::MutexLock lock(&mu_);
    if (mtime == config_mtime_ns_) return;
  }
  absl::StatusOr<Config> config = LoadConfigFile(options_.config_path);
  absl::MutexLock lock(&mu_);
  config_mtime_ns_ = mtime;
  if (!config.ok()) {
    log::Warn("notifications file not reloaded: the last good one stays", {{"error", config.status()}});
    return;
  }
  config_ = *std::move(config);
  for (const Sink& s : config_.sinks) stats_[s.name];
  log::Info("notifications file reloaded", {{"sinks", static_cast<int64_t>(config_.sinks.size())}});
}

Json Notifier::OutboxObject(const Delivery& d, absl::Time until) const {
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata",
              {{"name", d.key},
               {"namespace", options_.ns},
               {"labels", {{kOutboxLabel, "true"}, {"app.kubernetes.io/managed-by", "herd"}}},
               {"annotations",
                {{kClaimedBy, options_.identity}, {kClaimedUntil, k8s::FormatTime(until)}}}}},
             {"data",
              {{"sink", d.sink},
               {"event", d.event_id},
               {"body", d.body},
               {"contentType", d.content_type},
               {"created", k8s::FormatTime(d.created)}}}};
  if (!d.resource_version.empty()) cm["metadata"]["resourceVersion"] = d.resource_version;
  return cm;
}

bool Notifier::Claim(Delivery& d, absl::Time until) {
  absl::StatusOr<Json> written = d.resource_version.empty()
                                     ? kube_->Create(kube::kConfigMaps, options_.ns, OutboxObject(d, until))
                                     : kube_->Update(kube::kConfigMaps, options_.ns, OutboxObject(d, until));
  if (written.ok()) {
    d.resource_version = (*written)["metadata"].value("resourceVersion", "");
    return true;
  }
  // Another replica wrote it first, changed it, or delivered it.
  if (absl::IsAlreadyExists(written.status()) || absl::IsAborted(written.status()) ||
      absl::IsNotFound(written.status()) || absl::IsFailedPrecondition(written.status())) {
    return false;
  }
  // The API server is away: deliver anyway (at least once), keep no record.
  log::Warn("notification outbox not written", {{"event", d.event_id}, {"sink", d.sink}, {"error", written.status()}});
  return true;
}

void Notifier::Forget(const Delivery& d) {
  if (d.resource_version.empty()) return;
  kube::DeleteOptions o;
  absl::StatusOr<Json> gone = kube_->Delete(kube::kConfigMaps, options_.ns, d.key, o);
  if (!gone.ok() && !absl::IsNotFound(gone.status())) {
    log::Warn("notification outbox not cleared", {{"event", d.event_id}, {"error", gone.status()}});
  }
}

void Notifier::Scan() {
  kube::ListOptions o;
  o.label_selector = absl::StrCat(kOutboxLabel, "=true");
  absl::StatusOr<kube::ObjectList> list = kube_->List(kube::kConfigMaps, options_.ns, o);
  if (!list.ok()) {
    log::Warn("notification outbox not scanned", {{"error", list.status()}});
    return;
  }
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const Json& cm : list->items) {
    const std::string key = cm["metadata"].value("name", "");
    if (key.empty() || queue_.count(key)) continue;
    absl::Time until;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, Annotation(cm, kClaimedUntil), &until, &err) && until > now) continue;
    const Json& data = cm.value("data", Json::object());
    Delivery d{.key = key,
               .sink = data.value("sink", ""),
               .event_id = data.value("event", ""),
               .body = data.value("body", ""),
               .content_type = data.value("contentType", "application/json"),
               .resource_version = cm["metadata"].value("resourceVersion", ""),
               .created = now,
               .due = now,
               .backoff = options_.initial_backoff};
    absl::Time created;
    if (absl::ParseTime(absl::RFC3339_full, data.value("created", ""), &created, &err)) d.created = created;
    log::Info("notification taken from the outbox", {{"event", d.event_id}, {"sink", d.sink}});
    queue_.emplace(key, std::move(d));
  }
}

void Notifier::Deliver(Delivery d) {
  Sink sink;
  bool known = false;
  {
    absl::MutexLock lock(&mu_);
    for (const Sink& s : config_.sinks) {
      if (s.name == d.sink) {
        sink = s;
        known = true;
      }
    }
  }
  auto finish = [&](bool delivered, absl::string_view why) {
    Forget(d);
    absl::MutexLock lock(&mu_);
    queue_.erase(d.key);
    (delivered ? stats_[d.sink].delivered : stats_[d.sink].failed)++;
    if (!delivered) log::Warn("notification given up", {{"event", d.event_id}, {"sink", d.sink}, {"why", why}});
  };
  if (!known) return finish(false, "no sink of that name in the notifications file");
  if (absl::Now() - d.created > options_.give_up_after) return finish(false, "too old");
  if (!Claim(d, absl::Now() + options_.claim)) {
    absl::MutexLock lock(&mu_);
    queue_.erase(d.key);
    return;
  }

  // The content type is the sink's, whatever the outbox says.
  const char* content_type =
      sink.type == Sink::Type::kSlack ? "application/json" : "application/cloudevents+json";
  std::vector<std::string> headers = {absl::StrCat("Content-Type: ", content_type)};
  if (!sink.secret.empty()) {
    headers.push_back(absl::StrCat("X-Herd-Signature: sha256=", auth::HexOf(auth::HmacSha256(sink.secret, d.body))));
  }
  http::PostResult r = http::Post(sink.url, d.body, headers, options_.timeout);
  if (r.error.empty() && r.status >= 200 && r.status < 300) return finish(true, "");
  if (r.error.empty() && r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429) {
    return finish(false, absl::StrCat("the sink answered ", r.status));
  }
  absl::Duration wait = d.backoff;
  int64_t seconds = 0;
  if (r.status == 429 && absl::SimpleAtoi(r.retry_after, &seconds) && seconds >= 0) wait = absl::Seconds(seconds);
  wait = std::min(wait, options_.max_backoff);
  // The claim lasts until the next attempt, so no other replica takes the
  // delivery meanwhile and sends it at once (a backoff or a Retry-After
  // longer than a claim would mean nothing otherwise).
  if (!d.resource_version.empty() && !Claim(d, absl::Now() + wait + options_.claim)) {
    absl::MutexLock lock(&mu_);
    queue_.erase(d.key);
    return;
  }
  log::Info("notification retried", {{"event", d.event_id},
                                     {"sink", d.sink},
                                     {"status", static_cast<int64_t>(r.status)},
                                     {"error", r.error},
                                     {"in", absl::FormatDuration(wait)}});
  absl::MutexLock lock(&mu_);
  auto it = queue_.find(d.key);
  if (it == queue_.end()) return;
  it->second.resource_version = d.resource_version;
  it->second.due = absl::Now() + wait;
  it->second.backoff = std::min(d.backoff * 2, options_.max_backoff);
  ++stats_[d.sink].retried;
}

void Notifier::Run() {
  absl::Time next_scan = absl::Now();
  for (;;) {
    MaybeReload();
    if (absl::Now() >= next_scan) {
      Scan();
      next_scan = absl::Now() + options_.scan_period;
    }
    std::optional<Delivery> next;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      const absl::Time now = absl::Now();
      absl::Time wake = std::min(next_scan, now + options_.config_check);
      for (const auto& [key, d] : queue_) {
        if (d.due <= now) {
          next = d;
          break;
        }
        wake = std::min(wake, d.due);
      }
      if (!next) {
        woken_ = false;
        auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return woken_ || stopping_; };
        mu_.AwaitWithDeadline(absl::Condition(&woken), wake);
        continue;
      }
      queue_[next->key].due = absl::InfiniteFuture();  // being delivered
    }
    Deliver(*std::move(next));
  }
}

}  // namespace herd::notify
