// GET pods/NAME/log: a container's log as the kubelet serves it through the
// API server (container, previous, tailLines, sinceSeconds, timestamps,
// limitBytes, follow), from the simulated runs sim/logs describes.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/k8s/time.h"
#include "sim/errors.h"
#include "sim/http_api.h"
#include "sim/http_body.h"
#include "sim/logs/logs.h"

namespace herd::sim {
namespace {

using Json = nlohmann::json;

bool Flag(const http::Request& req, const char* key) {
  const std::string* v = req.Query(key);
  return v != nullptr && (*v == "true" || *v == "1" || *v == "True");
}

std::optional<absl::Time> TimeOf(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return std::nullopt;
  auto t = k8s::ParseTime(obj[key].get<std::string>());
  if (!t.ok()) return std::nullopt;
  return *t;
}

// The run a log request is about, or the 400 the kubelet answers with.
absl::StatusOr<ContainerRun> RunOf(const Json& pod, const std::string& container, bool previous) {
  const std::string name = pod["metadata"].value("name", "");
  ContainerRun run{.pod = name, .container = container};
  for (const auto& c : pod["spec"].value("containers", Json::array())) {
    if (c.value("name", "") == container) run.image = c.value("image", "");
  }
  run.job = pod["spec"].value("restartPolicy", "Always") != "Always";
  Json status;
  for (const auto& cs : pod.value("status", Json::object()).value("containerStatuses", Json::array())) {
    if (cs.value("name", "") == container) status = cs;
  }
  const Json state = status.is_object() ? status.value("state", Json::object()) : Json::object();
  const Json last = status.is_object() ? status.value("lastState", Json::object()) : Json::object();
  auto terminated_run = [&](const Json& t) -> absl::StatusOr<ContainerRun> {
    auto started = TimeOf(t, "startedAt");
    if (!started) return BadRequest(absl::StrCat("previous terminated container \"", container, "\" in pod \"", name, "\" not found"));
    run.started = *started;
    run.finished = TimeOf(t, "finishedAt");
    run.exit_code = t.value("exitCode", 0);
    return run;
  };
  if (previous) {
    if (!last.contains("terminated")) {
      return BadRequest(absl::StrCat("previous terminated container \"", container, "\" in pod \"", name, "\" not found"));
    }
    return terminated_run(last["terminated"]);
  }
  if (state.contains("running")) {
    auto started = TimeOf(state["running"], "startedAt");
    run.started = started.value_or(absl::Now());
    return run;
  }
  if (state.contains("terminated")) return terminated_run(state["terminated"]);
  // Waiting: the kubelet shows the last run that ended, if any.
  if (last.contains("terminated")) return terminated_run(last["terminated"]);
  std::string reason = state.contains("waiting") ? state["waiting"].value("reason", "ContainerCreating") : "ContainerCreating";
  if (reason == "ErrImagePull" || reason == "ImagePullBackOff") reason = "trying and failing to pull image";
  return BadRequest(absl::StrCat("container \"", container, "\" in pod \"", name, "\" is waiting to start: ", reason));
}

struct LogOptions {
  bool timestamps = false;
  std::optional<int64_t> tail;
  std::optional<absl::Time> since;
  std::optional<int64_t> limit_bytes;
};

std::string Render(const std::vector<LogLine>& lines, const LogOptions& o, size_t from = 0) {
  std::string out;
  size_t start = from;
  if (o.tail && static_cast<int64_t>(lines.size() - from) > *o.tail) start = lines.size() - static_cast<size_t>(*o.tail);
  for (size_t i = start; i < lines.size(); ++i) {
    if (o.since && lines[i].time < *o.since) continue;
    if (o.timestamps) absl::StrAppend(&out, LogTimestamp(lines[i].time), " ");
    absl::StrAppend(&out, lines[i].text, "\n");
  }
  if (o.limit_bytes && static_cast<int64_t>(out.size()) > *o.limit_bytes) out.resize(static_cast<size_t>(*o.limit_bytes));
  return out;
}

}  // namespace

// A `follow=true` reader: new lines as the container writes them, until the
// run ends (the container exits or the pod goes).
class HttpApi::LogFollower : public std::enable_shared_from_this<HttpApi::LogFollower> {
 public:
  LogFollower(HttpApi& api, uint64_t id, std::string ns, std::string pod, std::string container, ContainerRun run,
              LogOptions options, std::shared_ptr<http::Stream> stream)
      : api_(api), id_(id), ns_(std::move(ns)), pod_(std::move(pod)), container_(std::move(container)),
        run_(std::move(run)), options_(options), stream_(std::move(stream)) {}

  void Start(size_t sent) {
    sent_ = sent;
    Schedule();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (timer_) api_.loop_.Cancel(timer_);
    stream_->Finish();
    auto self = shared_from_this();
    api_.followers_.erase(id_);
  }

 private:
  void Schedule() {
    std::weak_ptr<LogFollower> weak = shared_from_this();
    timer_ = api_.loop_.PostAfter(absl::Milliseconds(100), [weak] {
      if (auto s = weak.lock()) s->Tick();
    });
  }

  void Tick() {
    timer_ = 0;
    if (closed_ || stream_->Closed()) return Close();
    ObjectPtr pod = api_.api_.store().Get(kPods, ns_, pod_);
    bool ended = !pod || pod->object["metadata"].contains("deletionTimestamp");
    if (pod && !ended) {
      auto now_run = RunOf(pod->object, container_, false);
      // The run ended when it has a finish time or another run replaced it.
      if (!now_run.ok() || now_run->started != run_.started || now_run->finished) {
        ended = true;
        if (now_run.ok() && now_run->started == run_.started) run_ = *now_run;
      }
    }
    absl::Time now = absl::Now();
    if (ended && !run_.finished) run_.finished = now;  // stopped with its pod: it says so
    auto lines = ContainerLog(run_, now);
    if (lines.size() > sent_) {
      LogOptions o = options_;
      o.tail.reset();
      stream_->Write(Render(lines, o, sent_));
      sent_ = lines.size();
    }
    if (ended) return Close();
    Schedule();
  }

  HttpApi& api_;
  uint64_t id_;
  std::string ns_, pod_, container_;
  ContainerRun run_;
  LogOptions options_;
  std::shared_ptr<http::Stream> stream_;
  size_t sent_ = 0;
  EventLoop::TimerId timer_ = 0;
  bool closed_ = false;
};

void HttpApi::CloseLogFollowers() {
  while (!followers_.empty()) followers_.begin()->second->Close();
}

void HttpApi::ServeLog(http::Request& req, http::Responder& res, const Route& route) {
  if (req.method != "GET") {
    return res.Respond(ErrorResponse(MethodNotAllowed("the server does not allow this method on the requested resource")));
  }
  auto pod = api_.Get(kPods, route.ns, route.name);
  if (!pod.ok()) return res.Respond(ErrorResponse(pod.status()));
  const Json& p = (*pod)->object;
  std::vector<std::string> names;
  for (const auto& c : p["spec"].value("containers", Json::array())) names.push_back(c.value("name", ""));
  std::string container = req.Query("container") ? *req.Query("container") : "";
  if (container.empty()) {
    if (names.size() != 1) {
      return res.Respond(ErrorResponse(BadRequest(absl::StrCat("a container name must be specified for pod ", route.name,
                                                               ", choose one of: [", absl::StrJoin(names, " "), "]"))));
    }
    container = names[0];
  } else if (std::find(names.begin(), names.end(), container) == names.end()) {
    return res.Respond(ErrorResponse(BadRequest(absl::StrCat("container ", container, " is not valid for pod ", route.name))));
  }
  bool previous = Flag(req, "previous");
  auto run = RunOf(p, container, previous);
  if (!run.ok()) return res.Respond(ErrorResponse(run.status()));

  LogOptions o;
  o.timestamps = Flag(req, "timestamps");
  int64_t v;
  if (const std::string* t = req.Query("tailLines"); t && absl::SimpleAtoi(*t, &v) && v >= 0) o.tail = v;
  if (const std::string* s = req.Query("sinceSeconds"); s && absl::SimpleAtoi(*s, &v) && v > 0) {
    o.since = absl::Now() - absl::Seconds(v);
  }
  if (const std::string* b = req.Query("limitBytes"); b && absl::SimpleAtoi(*b, &v) && v > 0) o.limit_bytes = v;

  auto lines = ContainerLog(*run, absl::Now());
  bool follow = Flag(req, "follow") && !previous && !run->finished;
  if (!follow) {
    http::Response r{.status = 200, .body = Render(lines, o)};
    r.headers.Add("Content-Type", "text/plain");
    return res.Respond(std::move(r));
  }
  auto stream = res.StartStream(200, {{"Content-Type", "text/plain"}, {"Cache-Control", "no-cache, private"}});
  stream->Write(Render(lines, o));
  uint64_t id = next_watch_++;
  auto f = std::make_shared<LogFollower>(*this, id, route.ns, route.name, container, *run, o, stream);
  followers_.emplace(id, f);
  f->Start(lines.size());
}

}  // namespace herd::sim
