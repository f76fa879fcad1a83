// The request messages of herd.v1.Herd (proto/herd/v1/herd.proto) as the
// outside sends them: protobuf JSON (a REST client, and the request every
// operation record stores for adoption) and the binary wire form (gRPC).
//
// Input: the first byte picks the message type (and JSON or binary), the
// rest is the message. A mutating request then goes through its engine's
// constructor (server/api/engine_factory.h), which validates it without the
// cluster: it must refuse bad input with a status, never crash. An engine
// that accepts a request must be rebuildable from the JSON it stores
// (EngineFromRecord: what another replica does when it adopts), naming the
// same target. Names are read as herdd reads them (server/ops/names.h).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/json_util.h"
#include "herd/v1/herd.pb.h"
#include "server/api/engine_factory.h"
#include "server/api/paging.h"
#include "server/ops/names.h"
#include "server/ops/store.h"

namespace {

namespace v1 = herd::v1;
namespace api = herd::api;

template <class Request>
bool Parse(absl::string_view payload, bool json, Request* out) {
  if (!json) return out->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
  google::protobuf::util::JsonParseOptions strict;
  if (google::protobuf::util::JsonStringToMessage(std::string(payload), out, strict).ok()) return true;
  out->Clear();
  google::protobuf::util::JsonParseOptions lenient;
  lenient.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(std::string(payload), out, lenient).ok();
}

void ReadName(const std::string& name) {
  (void)herd::ops::ParseWorkloadName(name);
  (void)herd::ops::ParseWorkloadName(name, {"deployments", "statefulsets"});
  (void)herd::ops::ParseOperationName(name);
}

// The engine, and the same engine rebuilt from what it would store.
void CheckEngine(v1::OperationKind kind, const api::EngineOrError& engine) {
  if (!engine.ok()) return;
  if (*engine == nullptr) __builtin_trap();
  const herd::ops::Engine& e = **engine;
  if (e.kind() != kind) __builtin_trap();
  herd::ops::Record record;
  record.op.set_name("operations/20260101-000000-fuzz0");
  record.op.set_kind(kind);
  record.request_json = e.request_json();
  (void)e.lock_key();
  api::EngineOrError again = api::EngineFromRecord(record);
  if (!again.ok() || *again == nullptr) __builtin_trap();  // an accepted request that adoption cannot rebuild
  if ((*again)->target() != e.target() || (*again)->lock_key() != e.lock_key()) __builtin_trap();
}

template <class Request, class Build>
void Mutating(absl::string_view payload, bool json, v1::OperationKind kind, Build build) {
  Request req;
  if (!Parse(payload, json, &req)) return;
  CheckEngine(kind, build(req));
  // Back to JSON and binary, as herdd logs and stores it.
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(req, &out);
  (void)req.SerializeAsString();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Binary strings that are not UTF-8 are refused with a log line each.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool json = (data[0] & 0x80) == 0;
  const absl::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 16) {
    case 0:
      Mutating<v1::RolloutRequest>(payload, json, v1::OPERATION_KIND_ROLLOUT,
                                   [](const v1::RolloutRequest& r) { return api::NewEngine(r); });
      break;
    case 1:
      Mutating<v1::UndoRequest>(payload, json, v1::OPERATION_KIND_UNDO,
                                [](const v1::UndoRequest& r) { return api::NewEngine(r); });
      break;
    case 2:
      Mutating<v1::ScaleRequest>(payload, json, v1::OPERATION_KIND_SCALE,
                                 [](const v1::ScaleRequest& r) { return api::NewEngine(r); });
      break;
    case 3:
      Mutating<v1::PurgeRequest>(payload, json, v1::OPERATION_KIND_PURGE,
                                 [](const v1::PurgeRequest& r) { return api::NewEngine(r); });
      break;
    case 4:
      Mutating<v1::KillRequest>(payload, json, v1::OPERATION_KIND_KILL,
                                [](const v1::KillRequest& r) { return api::NewEngine(r); });
      break;
    case 5:
    case 6:
    case 7:
    case 8: {
      static constexpr v1::OperationKind kKinds[] = {
          v1::OPERATION_KIND_CRONJOB_RUN, v1::OPERATION_KIND_CRONJOB_SUSPEND, v1::OPERATION_KIND_CRONJOB_RESUME,
          v1::OPERATION_KIND_CRONJOB_KILL_JOBS};
      const v1::OperationKind kind = kKinds[data[0] % 16 - 5];
      Mutating<v1::CronJobRequest>(payload, json, kind,
                                   [kind](const v1::CronJobRequest& r) { return api::NewEngine(kind, r); });
      break;
    }
    case 9: {
      v1::GetWorkloadRequest req;
      if (Parse(payload, json, &req)) ReadName(req.name());
      break;
    }
    case 10: {
      v1::ListWorkloadsRequest req;
      (void)Parse(payload, json, &req);
      break;
    }
    case 11: {
      v1::GetOperationRequest req;
      if (Parse(payload, json, &req)) ReadName(req.name());
      break;
    }
    case 12: {
      v1::ListOperationsRequest req;
      if (!Parse(payload, json, &req)) break;
      ReadName(req.target());
      // ListOperations' paging over a listing of each size up to a few pages.
      for (size_t total : {size_t{0}, size_t{7}, size_t{2500}}) {
        herd::api::Page page = herd::api::PageOf(total, req.page_token(), req.page_size());
        if (page.begin > page.end || page.end > total) __builtin_trap();
        if (!page.next_token.empty()) {
          herd::api::Page next = herd::api::PageOf(total, page.next_token, req.page_size());
          if (next.begin != page.end) __builtin_trap();  // the next page starts where this one ended
        }
      }
      break;
    }
    case 13: {
      v1::WatchOperationRequest req;
      if (Parse(payload, json, &req)) ReadName(req.name());
      break;
    }
    case 14: {
      v1::CancelOperationRequest req;
      if (Parse(payload, json, &req)) ReadName(req.name());
      break;
    }
    default: {
      // A stored operation record whose kind is the second byte.
      herd::ops::Record record;
      record.op.set_name("operations/fuzz");
      record.op.set_kind(static_cast<v1::OperationKind>(payload.empty() ? 0 : payload[0] % 12));
      record.request_json = std::string(payload.substr(payload.empty() ? 0 : 1));
      (void)api::EngineFromRecord(record);
      break;
    }
  }
  return 0;
}
