// Durations people and programs hand to herd ("30s", "1h30m", "7d"), through
// every parser that reads one:
//  - herdctl's --timeout, --deadline, --hpa-hold and --older-than;
//  - the daemons' absl::Duration flags (herdd --lease-duration, kubesim
//    --latency, …);
//  - a CronJob schedule's "@every DURATION";
//  - google.protobuf.Duration in a request's JSON (deadline, hpaHold,
//    olderThan), then the engine's validation.
// Whatever herdctl accepts must be a duration the API can carry (a valid
// google.protobuf.Duration, which the server stores as JSON).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/marshalling.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/herdctl_args.h"
#include "google/protobuf/util/json_util.h"
#include "herd/v1/herd.pb.h"
#include "nlohmann/json.hpp"
#include "server/api/engine_factory.h"
#include "common/k8s/cron.h"

namespace {

namespace v1 = herd::v1;

// google.protobuf.Duration's range: ±10000 years, nanos of the same sign.
bool ValidDuration(const google::protobuf::Duration& d) {
  constexpr int64_t kMax = 315'576'000'000;
  if (d.seconds() < -kMax || d.seconds() > kMax) return false;
  if (d.nanos() <= -1'000'000'000 || d.nanos() >= 1'000'000'000) return false;
  return !((d.seconds() < 0 && d.nanos() > 0) || (d.seconds() > 0 && d.nanos() < 0));
}

void Herdctl(const std::string& text) {
  const std::vector<std::vector<std::string>> lines = {
      {"rollout", "deploy/web", "--restart", "--deadline", text},
      {"scale", "deploy/web", "--replicas=3", "--hpa-hold=" + text},
      {"purge", "deploy/web", "--older-than", text},
      {"--timeout", text, "ops", "list"},
  };
  for (const auto& args : lines) {
    absl::StatusOr<herd::herdctl::Command> cmd = herd::herdctl::ParseCommandLine(args, "default");
    if (!cmd.ok()) continue;
    for (const google::protobuf::Duration* d : {&cmd->rollout.deadline(), &cmd->scale.hpa_hold(),
                                                &cmd->purge.older_than()}) {
      if (!ValidDuration(*d)) __builtin_trap();
    }
    if (cmd->global.timeout_set && cmd->global.connection.timeout <= absl::ZeroDuration()) __builtin_trap();
  }
}

void RequestJson(const std::string& text) {
  // The text as a JSON string (bytes that are not UTF-8 replaced, as a JSON
  // client would have to), and as raw JSON after the key.
  const std::string quoted = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (const std::string& value : {quoted, text}) {
    v1::RolloutRequest rollout;
    if (google::protobuf::util::JsonStringToMessage(
            R"({"workload":"namespaces/shop/deployments/web","restart":true,"deadline":)" + value + "}", &rollout)
            .ok()) {
      (void)herd::api::NewEngine(rollout);
    }
    v1::ScaleRequest scale;
    if (google::protobuf::util::JsonStringToMessage(
            R"({"workload":"namespaces/shop/deployments/web","replicas":3,"hpaHold":)" + value + "}", &scale)
            .ok()) {
      (void)herd::api::NewEngine(scale);
    }
    v1::PurgeRequest purge;
    if (google::protobuf::util::JsonStringToMessage(
            R"({"workload":"namespaces/shop/deployments/web","olderThan":)" + value + "}", &purge)
            .ok()) {
      (void)herd::api::NewEngine(purge);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Herdctl(text);

  absl::Duration d;
  std::string error;
  (void)absl::ParseFlag(text, &d, &error);

  if (absl::StatusOr<herd::k8s::CronSchedule> s = herd::k8s::CronSchedule::Parse("@every " + text); s.ok()) {
    (void)s->Next(absl::FromUnixSeconds(1767225600), absl::UTCTimeZone());
  }

  RequestJson(text);
  return 0;
}
