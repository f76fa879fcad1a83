#include "client/herd_client.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "absl/strings/str_cat.h"
#include "client/herd_client_stub.h"
#include "gmock/gmock.h"
#include "grpcpp/test/client_context_test_peer.h"
#include "grpcpp/test/mock_stream.h"
#include "gtest/gtest.h"
#include "herd/v1/herd_mock.grpc.pb.h"

namespace herd::client {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;

using Reader = grpc::testing::MockClientReader<v1::Operation>;

// Time that moves only when the client sleeps.
struct FakeTime {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::vector<absl::Duration> sleeps;
};

class HerdClientTest : public ::testing::Test {
 protected:
  HerdClientTest() {
    options_.token = "s3cret";
    options_.timeout = absl::Seconds(10);
  }

  // The client under test; the stub stays reachable through stub_.
  std::unique_ptr<HerdClient> NewClient() {
    auto stub = std::make_unique<StrictMock<v1::MockHerdStub>>();
    stub_ = stub.get();
    ClientEnvironment env;
    env.now = [this] { return time_.now; };
    env.sleep = [this](absl::Duration d) {
      time_.sleeps.push_back(d);
      time_.now += d;
    };
    env.new_request_id = [this] { return next_request_ids_.empty() ? "" : Pop(); };
    return NewHerdClientForStub(std::move(stub), options_, std::move(env));
  }

  std::string Pop() {
    std::string id = next_request_ids_.front();
    next_request_ids_.erase(next_request_ids_.begin());
    return id;
  }

  static std::multimap<std::string, std::string> MetadataOf(grpc::ClientContext* ctx) {
    return grpc::testing::ClientContextTestPeer(ctx).GetSendInitialMetadata();
  }

  static v1::Operation Op(v1::OperationState state, int updated = 0) {
    v1::Operation op;
    op.set_name("operations/op1");
    op.set_kind(v1::OPERATION_KIND_ROLLOUT);
    op.set_state(state);
    op.mutable_progress()->set_desired(3);
    op.mutable_progress()->set_updated(updated);
    return op;
  }

  // A stream that yields `ops` and then ends with `end`.
  static Reader* Stream(const std::vector<v1::Operation>& ops, grpc::Status end) {
    auto* reader = new Reader();
    auto& read = EXPECT_CALL(*reader, Read(_));
    for (const v1::Operation& op : ops) read.WillOnce(DoAll(SetArgPointee<0>(op), Return(true)));
    read.WillRepeatedly(Return(false));
    EXPECT_CALL(*reader, Finish()).WillOnce(Return(end));
    return reader;
  }

  ConnectionOptions options_;
  FakeTime time_;
  std::vector<std::string> next_request_ids_ = {"req-1", "req-2"};
  v1::MockHerdStub* stub_ = nullptr;
};

TEST_F(HerdClientTest, EveryCallCarriesTheBearerToken) {
  auto client = NewClient();
  std::multimap<std::string, std::string> metadata;
  EXPECT_CALL(*stub_, GetOperation(_, _, _))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const v1::GetOperationRequest& req, v1::Operation* out) {
        metadata = MetadataOf(ctx);
        EXPECT_EQ(req.name(), "operations/op1");
        *out = Op(v1::OPERATION_STATE_RUNNING);
        return grpc::Status::OK;
      }));
  absl::StatusOr<v1::Operation> op = client->GetOperation("operations/op1");
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(op->state(), v1::OPERATION_STATE_RUNNING);
  EXPECT_THAT(metadata, ElementsAre(std::make_pair("authorization", "Bearer s3cret")));
}

TEST_F(HerdClientTest, NoTokenSendsNoAuthorization) {
  options_.token.clear();
  auto client = NewClient();
  std::multimap<std::string, std::string> metadata = {{"x", "y"}};
  EXPECT_CALL(*stub_, GetWorkload(_, _, _))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const v1::GetWorkloadRequest&, v1::Workload*) {
        metadata = MetadataOf(ctx);
        return grpc::Status::OK;
      }));
  ASSERT_TRUE(client->GetWorkload(v1::GetWorkloadRequest()).ok());
  EXPECT_TRUE(metadata.empty());
}

TEST_F(HerdClientTest, EveryCallHasADeadline) {
  auto client = NewClient();
  std::vector<std::chrono::system_clock::time_point> deadlines;
  EXPECT_CALL(*stub_, ListWorkloads(_, _, _))
      .Times(2)
      .WillRepeatedly(Invoke([&](grpc::ClientContext* ctx, const v1::ListWorkloadsRequest&, v1::ListWorkloadsResponse*) {
        deadlines.push_back(ctx->deadline());
        return grpc::Status::OK;
      }));
  const absl::Time start = time_.now;
  ASSERT_TRUE(client->ListWorkloads(v1::ListWorkloadsRequest()).ok());
  CallOptions call;
  call.timeout = absl::Seconds(2);
  ASSERT_TRUE(client->ListWorkloads(v1::ListWorkloadsRequest(), call).ok());
  EXPECT_THAT(deadlines, ElementsAre(absl::ToChronoTime(start + absl::Seconds(10)),
                                     absl::ToChronoTime(start + absl::Seconds(2))));
}

TEST_F(HerdClientTest, MutatingCallGetsARequestIdKeptAcrossRetries) {
  auto client = NewClient();
  std::vector<std::string> sent_ids;
  EXPECT_CALL(*stub_, Rollout(_, _, _))
      .Times(3)
      .WillRepeatedly(Invoke([&](grpc::ClientContext*, const v1::RolloutRequest& req, v1::Operation* out) {
        sent_ids.push_back(req.options().request_id());
        if (sent_ids.size() < 3) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
        *out = Op(v1::OPERATION_STATE_PENDING);
        out->set_request_id(req.options().request_id());
        return grpc::Status::OK;
      }));
  v1::RolloutRequest req;
  req.set_workload("namespaces/shop/deployments/web");
  (*req.mutable_images())["web"] = "web:2";
  absl::StatusOr<v1::Operation> op = client->Rollout(req);
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_THAT(sent_ids, ElementsAre("req-1", "req-1", "req-1"));
  EXPECT_EQ(op->request_id(), "req-1");
  EXPECT_EQ(time_.sleeps.size(), 2u);
  // The next call gets an id of its own.
  EXPECT_EQ(next_request_ids_, std::vector<std::string>{"req-2"});
}

TEST_F(HerdClientTest, CallersRequestIdIsSentUnchanged) {
  auto client = NewClient();
  EXPECT_CALL(*stub_, Scale(_, _, _))
      .WillOnce(Invoke([](grpc::ClientContext*, const v1::ScaleRequest& req, v1::Operation*) {
        EXPECT_EQ(req.options().request_id(), "deploy-1234");
        EXPECT_EQ(req.replicas(), 5);
        return grpc::Status::OK;
      }));
  v1::ScaleRequest req;
  req.set_replicas(5);
  req.mutable_options()->set_request_id("deploy-1234");
  ASSERT_TRUE(client->Scale(req).ok());
  EXPECT_EQ(next_request_ids_.size(), 2u);
}

TEST_F(HerdClientTest, MutatingCallWithoutRequestIdIsNotRetried) {
  next_request_ids_.clear();  // the generator gives nothing: the call is not idempotent
  auto client = NewClient();
  EXPECT_CALL(*stub_, Kill(_, _, _)).WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")));
  absl::StatusOr<v1::Operation> op = client->Kill(v1::KillRequest());
  EXPECT_EQ(op.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(time_.sleeps.empty());
}

TEST_F(HerdClientTest, EveryMutatingCallIsMadeIdempotent) {
  next_request_ids_ = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  auto client = NewClient();
  std::vector<std::string> ids;
  auto record = [&](const auto& req) {
    ids.push_back(req.options().request_id());
    return grpc::Status::OK;
  };
  EXPECT_CALL(*stub_, Rollout(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, Undo(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, Scale(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, Purge(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, Kill(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, RunCronJob(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, SuspendCronJob(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, ResumeCronJob(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  EXPECT_CALL(*stub_, KillCronJobJobs(_, _, _)).WillOnce(Invoke([&](auto, const auto& r, auto) { return record(r); }));
  ASSERT_TRUE(client->Rollout({}).ok());
  ASSERT_TRUE(client->Undo({}).ok());
  ASSERT_TRUE(client->Scale({}).ok());
  ASSERT_TRUE(client->Purge({}).ok());
  ASSERT_TRUE(client->Kill({}).ok());
  ASSERT_TRUE(client->RunCronJob({}).ok());
  ASSERT_TRUE(client->SuspendCronJob({}).ok());
  ASSERT_TRUE(client->ResumeCronJob({}).ok());
  ASSERT_TRUE(client->KillCronJobJobs({}).ok());
  EXPECT_THAT(ids, ElementsAre("a", "b", "c", "d", "e", "f", "g", "h", "i"));
}

TEST_F(HerdClientTest, ReadIsRetriedOnUnavailable) {
  auto client = NewClient();
  EXPECT_CALL(*stub_, GetWorkload(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed")))
      .WillOnce(Invoke([](grpc::ClientContext*, const v1::GetWorkloadRequest&, v1::Workload* w) {
        w->set_name("web");
        return grpc::Status::OK;
      }));
  absl::StatusOr<v1::Workload> w = client->GetWorkload(v1::GetWorkloadRequest());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->name(), "web");
  ASSERT_EQ(time_.sleeps.size(), 1u);
  EXPECT_GE(time_.sleeps[0], absl::Milliseconds(100));
  EXPECT_LE(time_.sleeps[0], absl::Milliseconds(200));
}

TEST_F(HerdClientTest, RefusalsAreNotRetriedAndKeepTheServersMessage) {
  auto client = NewClient();
  EXPECT_CALL(*stub_, GetWorkload(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "deployment shop/web not found")));
  EXPECT_CALL(*stub_, Purge(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::ABORTED, "operations/x is running on shop/web")));
  EXPECT_CALL(*stub_, ListOperations(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")));
  absl::StatusOr<v1::Workload> w = client->GetWorkload(v1::GetWorkloadRequest());
  EXPECT_EQ(w.status(), absl::NotFoundError("deployment shop/web not found"));
  absl::StatusOr<v1::Operation> p = client->Purge(v1::PurgeRequest());
  EXPECT_EQ(p.status(), absl::AbortedError("operations/x is running on shop/web"));
  absl::StatusOr<v1::ListOperationsResponse> l = client->ListOperations(v1::ListOperationsRequest());
  EXPECT_EQ(l.status(), absl::DeadlineExceededError("DEADLINE_EXCEEDED"));
  EXPECT_TRUE(time_.sleeps.empty());
}

TEST_F(HerdClientTest, RetriesStopAfterMaxAttemptsWithGrowingBackoff) {
  auto client = NewClient();
  EXPECT_CALL(*stub_, ListOperations(_, _, _))
      .Times(5)
      .WillRepeatedly(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no route")));
  absl::StatusOr<v1::ListOperationsResponse> r = client->ListOperations(v1::ListOperationsRequest());
  EXPECT_EQ(r.status(), absl::UnavailableError("no route"));
  ASSERT_EQ(time_.sleeps.size(), 4u);
  absl::Duration step = absl::Milliseconds(200);
  for (absl::Duration slept : time_.sleeps) {
    EXPECT_GE(slept, step / 2);
    EXPECT_LE(slept, step);
    step *= 2;
  }
}

TEST_F(HerdClientTest, RetriesStopAtTheCallsDeadline) {
  options_.timeout = absl::Milliseconds(500);
  options_.retry.max_attempts = 100;
  auto client = NewClient();
  EXPECT_CALL(*stub_, GetOperation(_, _, _))
      .WillRepeatedly(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no route")));
  const absl::Time start = time_.now;
  absl::StatusOr<v1::Operation> r = client->GetOperation("operations/x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(time_.now - start, absl::Milliseconds(500));
  EXPECT_GE(time_.sleeps.size(), 1u);
}

TEST_F(HerdClientTest, CancelIsRetriedBecauseCancellingTwiceIsCancellingOnce) {
  auto client = NewClient();
  EXPECT_CALL(*stub_, CancelOperation(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "reset")))
      .WillOnce(Invoke([](grpc::ClientContext*, const v1::CancelOperationRequest& req, v1::Operation* out) {
        EXPECT_EQ(req.name(), "operations/op1");
        out->set_state(v1::OPERATION_STATE_RUNNING);
        return grpc::Status::OK;
      }));
  v1::CancelOperationRequest req;
  req.set_name("operations/op1");
  EXPECT_TRUE(client->CancelOperation(req).ok());
}

TEST_F(HerdClientTest, FromGrpcStatusKeepsCodeMessageAndDetails) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "alice may not scale shop/web",
                                               std::string("\x08\x07", 2)));
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "alice may not scale shop/web");
  absl::optional<absl::Cord> details = s.GetPayload("type.googleapis.com/google.rpc.Status");
  ASSERT_TRUE(details.has_value());
  EXPECT_EQ(std::string(*details), std::string("\x08\x07", 2));
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "")), absl::InternalError("INTERNAL"));
}

// --- WaitForOperation -------------------------------------------------------

TEST_F(HerdClientTest, WaitForOperationReconnectsAfterABrokenStream) {
  auto client = NewClient();
  std::vector<std::multimap<std::string, std::string>> metadata;
  Reader* first = Stream({Op(v1::OPERATION_STATE_RUNNING, 1)},
                         grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed"));
  // On reconnect the server starts with the current state, seen already.
  Reader* second = Stream({Op(v1::OPERATION_STATE_RUNNING, 1), Op(v1::OPERATION_STATE_RUNNING, 2),
                           Op(v1::OPERATION_STATE_SUCCEEDED, 3)},
                          grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const v1::WatchOperationRequest& req) {
        EXPECT_EQ(req.name(), "operations/op1");
        metadata.push_back(MetadataOf(ctx));
        return first;
      }))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const v1::WatchOperationRequest& req) {
        EXPECT_EQ(req.name(), "operations/op1");
        metadata.push_back(MetadataOf(ctx));
        return second;
      }));
  std::vector<int> seen;
  absl::StatusOr<v1::Operation> done = client->WaitForOperation(
      "operations/op1", [&](const v1::Operation& op) { seen.push_back(op.progress().updated()); },
      absl::InfiniteFuture());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_THAT(seen, ElementsAre(1, 2, 3));
  EXPECT_EQ(time_.sleeps.size(), 1u);
  ASSERT_EQ(metadata.size(), 2u);
  EXPECT_THAT(metadata[1], ElementsAre(std::make_pair("authorization", "Bearer s3cret")));
}

TEST_F(HerdClientTest, WaitForOperationReconnectsWhenTheStreamEndsEarly) {
  auto client = NewClient();
  Reader* first = Stream({Op(v1::OPERATION_STATE_PENDING)}, grpc::Status::OK);
  Reader* second = Stream({Op(v1::OPERATION_STATE_ROLLED_BACK)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(first)).WillOnce(Return(second));
  absl::StatusOr<v1::Operation> done = client->WaitForOperation("operations/op1", nullptr, absl::InfiniteFuture());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::OPERATION_STATE_ROLLED_BACK);
}

TEST_F(HerdClientTest, WaitForOperationReturnsARefusalAtOnce) {
  auto client = NewClient();
  Reader* reader = Stream({}, grpc::Status(grpc::StatusCode::NOT_FOUND, "no operation operations/nope"));
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  absl::StatusOr<v1::Operation> done = client->WaitForOperation("operations/nope", nullptr, absl::InfiniteFuture());
  EXPECT_EQ(done.status(), absl::NotFoundError("no operation operations/nope"));
  EXPECT_TRUE(time_.sleeps.empty());
}

TEST_F(HerdClientTest, WaitForOperationGivesUpAtItsDeadline) {
  auto client = NewClient();
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillRepeatedly(Invoke([](grpc::ClientContext*, const auto&) {
    return Stream({Op(v1::OPERATION_STATE_RUNNING, 1)}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "reset"));
  }));
  const absl::Time deadline = time_.now + absl::Seconds(2);
  absl::StatusOr<v1::Operation> done = client->WaitForOperation("operations/op1", nullptr, deadline);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(done.status().message(), HasSubstr("OPERATION_STATE_RUNNING"));
  EXPECT_LE(time_.now, deadline);
}

TEST_F(HerdClientTest, WaitForOperationReopensAQuietWatchBeforeItsOwnDeadline) {
  options_.retry.watch_reopen_after = absl::Minutes(5);
  auto client = NewClient();
  const absl::Time start = time_.now;
  std::vector<std::chrono::system_clock::time_point> deadlines;
  Reader* quiet = Stream({Op(v1::OPERATION_STATE_RUNNING, 1)},
                         grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"));
  Reader* done = Stream({Op(v1::OPERATION_STATE_SUCCEEDED, 3)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const auto&) {
        deadlines.push_back(ctx->deadline());
        return quiet;
      }))
      .WillOnce(Invoke([&](grpc::ClientContext* ctx, const auto&) {
        deadlines.push_back(ctx->deadline());
        return done;
      }));
  absl::StatusOr<v1::Operation> result =
      client->WaitForOperation("operations/op1", nullptr, start + absl::Hours(1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state(), v1::OPERATION_STATE_SUCCEEDED);
  ASSERT_EQ(deadlines.size(), 2u);
  EXPECT_EQ(deadlines[0], absl::ToChronoTime(start + absl::Minutes(5)));
}

TEST_F(HerdClientTest, WaitForOperationGivesUpWhenTheServerStaysAway) {
  options_.retry.max_watch_reconnects = 3;
  auto client = NewClient();
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).Times(4).WillRepeatedly(Invoke([](grpc::ClientContext*, const auto&) {
    return Stream({}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));
  }));
  absl::StatusOr<v1::Operation> done = client->WaitForOperation("operations/op1", nullptr, absl::InfiniteFuture());
  EXPECT_EQ(done.status(), absl::UnavailableError("connection refused"));
  EXPECT_EQ(time_.sleeps.size(), 3u);
}

TEST_F(HerdClientTest, WaitForOperationOnAnEndedOperationReturnsIt) {
  auto client = NewClient();
  Reader* reader = Stream({Op(v1::OPERATION_STATE_FAILED)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  int updates = 0;
  absl::StatusOr<v1::Operation> done =
      client->WaitForOperation("operations/op1", [&](const v1::Operation&) { ++updates; }, absl::InfiniteFuture());
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), v1::OPERATION_STATE_FAILED);
  EXPECT_EQ(updates, 1);
}

// --- Options ------------------------------------------------------------------

class EnvTest : public ::testing::Test {
 protected:
  EnvLookup Env() {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string TempFile(const std::string& content) {
    std::string path = absl::StrCat(::testing::TempDir(), "/herd_client_test_", getpid(), "_", files_.size());
    std::ofstream(path) << content;
    files_.push_back(path);
    return path;
  }
  ~EnvTest() override {
    for (const std::string& f : files_) std::remove(f.c_str());
  }

  std::map<std::string, std::string> env_;
  std::vector<std::string> files_;
};

TEST_F(EnvTest, DefaultsWhenNothingIsSet) {
  ConnectionOptions o;
  ASSERT_TRUE(ResolveFromEnvironment(o, Env()).ok());
  EXPECT_EQ(o.server, "127.0.0.1:50051");
  EXPECT_EQ(o.token, "");
}

TEST_F(EnvTest, FlagsBeatTheEnvironment) {
  env_ = {{"HERD_SERVER", "env:1"}, {"HERD_TOKEN", "env-token"}, {"HERD_CA_FILE", "/env/ca.pem"}};
  ConnectionOptions o;
  o.server = "flag:2";
  o.token = "flag-token";
  ASSERT_TRUE(ResolveFromEnvironment(o, Env()).ok());
  EXPECT_EQ(o.server, "flag:2");
  EXPECT_EQ(o.token, "flag-token");
  EXPECT_EQ(o.ca_file, "/env/ca.pem");

  ConnectionOptions from_env;
  ASSERT_TRUE(ResolveFromEnvironment(from_env, Env()).ok());
  EXPECT_EQ(from_env.server, "env:1");
  EXPECT_EQ(from_env.token, "env-token");
}

TEST_F(EnvTest, TokenFileIsReadAndTrimmed) {
  env_ = {{"HERD_TOKEN_FILE", TempFile("  file-token\n")}};
  ConnectionOptions o;
  ASSERT_TRUE(ResolveFromEnvironment(o, Env()).ok());
  EXPECT_EQ(o.token, "file-token");
}

TEST_F(EnvTest, TokenFileFlagBeatsTokenInEnvironment) {
  env_ = {{"HERD_TOKEN", "env-token"}};
  ConnectionOptions o;
  o.token_file = TempFile("flag-file-token\n");
  ASSERT_TRUE(ResolveFromEnvironment(o, Env()).ok());
  EXPECT_EQ(o.token, "flag-file-token");
}

TEST_F(EnvTest, UnreadableOrBadTokensAreRefused) {
  ConnectionOptions missing;
  missing.token_file = "/nonexistent/herd-token";
  absl::Status s = ResolveFromEnvironment(missing, Env());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/herd-token"));

  ConnectionOptions empty;
  empty.token_file = TempFile("\n");
  EXPECT_EQ(ResolveFromEnvironment(empty, Env()).code(), absl::StatusCode::kInvalidArgument);

  ConnectionOptions spaced;
  spaced.token = "two words";
  EXPECT_EQ(ResolveFromEnvironment(spaced, Env()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConnectTest, RefusesIncompleteOrUnreadableTls) {
  ConnectionOptions cert_only;
  cert_only.server = "localhost:1";
  cert_only.cert_file = "/tmp/cert.pem";
  EXPECT_EQ(HerdClient::Connect(cert_only).status().code(), absl::StatusCode::kInvalidArgument);

  ConnectionOptions bad_ca;
  bad_ca.server = "localhost:1";
  bad_ca.ca_file = "/nonexistent/ca.pem";
  absl::Status s = HerdClient::Connect(bad_ca).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/ca.pem"));

  ConnectionOptions plain;
  plain.server = "localhost:1";
  EXPECT_TRUE(HerdClient::Connect(plain).ok());
}

TEST(RequestIdTest, IsARandomVersion4Uuid) {
  std::string a = NewRequestId();
  std::string b = NewRequestId();
  EXPECT_NE(a, b);
  EXPECT_THAT(a, ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
}

}  // namespace
}  // namespace herd::client
