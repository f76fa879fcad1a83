#include "server/api/engine_factory.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/engines/cronjob.h"
#include "server/engines/kill.h"
#include "server/engines/purge.h"
#include "server/engines/rollout.h"
#include "server/engines/scale.h"

namespace herd::api {
namespace {

template <typename Request>
absl::StatusOr<Request> Parse(const ops::Record& record) {
  Request req;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(record.request_json, &req, o);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat("the request stored with ", record.op.name(),
                                            " is unreadable: ", st.message().as_string()));
  }
  return req;
}

template <typename Request>
EngineOrError FromRecord(const ops::Record& record) {
  auto req = Parse<Request>(record);
  if (!req.ok()) return req.status();
  return NewEngine(*req);
}

// google.protobuf.Duration's own rule: at most 10000 years either way, the
// nanos of the same sign. The binary form carries any pair of numbers, but
// an operation stores its request as JSON, which only holds valid ones; an
// engine built from another would run where no other replica could adopt it.
absl::Status CheckDuration(const google::protobuf::Duration& d, absl::string_view field) {
  constexpr int64_t kMaxSeconds = 315'576'000'000;
  const bool in_range = d.seconds() >= -kMaxSeconds && d.seconds() <= kMaxSeconds && d.nanos() > -1'000'000'000 &&
                        d.nanos() < 1'000'000'000;
  const bool same_sign = !(d.seconds() > 0 && d.nanos() < 0) && !(d.seconds() < 0 && d.nanos() > 0);
  if (in_range && same_sign) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid duration (", d.seconds(), "s ", d.nanos(),
                                                 "ns): at most 10000 years, seconds and nanos of the same sign"));
}

}  // namespace

EngineOrError NewEngine(const v1::RolloutRequest& request) {
  if (auto st = CheckDuration(request.deadline(), "deadline"); !st.ok()) return st;
  return engines::NewRolloutEngine(request);
}
EngineOrError NewEngine(const v1::UndoRequest& request) { return engines::NewUndoEngine(request); }
EngineOrError NewEngine(const v1::ScaleRequest& request) {
  if (auto st = CheckDuration(request.hpa_hold(), "hpa_hold"); !st.ok()) return st;
  return engines::NewScaleEngine(request);
}
EngineOrError NewEngine(const v1::PurgeRequest& request) {
  if (auto st = CheckDuration(request.older_than(), "older_than"); !st.ok()) return st;
  return engines::NewPurgeEngine(request);
}
EngineOrError NewEngine(const v1::KillRequest& request) { return engines::NewKillEngine(request); }
EngineOrError NewEngine(v1::OperationKind kind, const v1::CronJobRequest& request) {
  return engines::NewCronJobEngine(kind, request);
}

EngineOrError EngineFromRecord(const ops::Record& record) {
  switch (record.op.kind()) {
    case v1::OPERATION_KIND_ROLLOUT: return FromRecord<v1::RolloutRequest>(record);
    case v1::OPERATION_KIND_UNDO: return FromRecord<v1::UndoRequest>(record);
    case v1::OPERATION_KIND_SCALE: return FromRecord<v1::ScaleRequest>(record);
    case v1::OPERATION_KIND_PURGE: return FromRecord<v1::PurgeRequest>(record);
    case v1::OPERATION_KIND_KILL: return FromRecord<v1::KillRequest>(record);
    case v1::OPERATION_KIND_CRONJOB_RUN:
    case v1::OPERATION_KIND_CRONJOB_SUSPEND:
    case v1::OPERATION_KIND_CRONJOB_RESUME:
    case v1::OPERATION_KIND_CRONJOB_KILL_JOBS: {
      auto req = Parse<v1::CronJobRequest>(record);
      if (!req.ok()) return req.status();
      return NewEngine(record.op.kind(), *req);
    }
    default:
      return absl::DataLossError(absl::StrCat(record.op.name(), " has an unknown kind"));
  }
}

}  // namespace herd::api
