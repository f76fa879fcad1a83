#include "client/herdctl_run.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "client/herd_client_stub.h"
#include "client/herdctl_args.h"
#include "gmock/gmock.h"
#include "grpcpp/test/mock_stream.h"
#include "gtest/gtest.h"
#include "herd/v1/herd_mock.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace herd::herdctl {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Return;
using ::testing::SetArgPointee;
using ::testing::StrictMock;

using Reader = grpc::testing::MockClientReader<v1::Operation>;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(ExitCodes, ForStatuses) {
  EXPECT_EQ(ExitCodeForStatus(absl::OkStatus()), kExitSuccess);
  EXPECT_EQ(ExitCodeForStatus(absl::UnavailableError("x")), kExitUnreachable);
  EXPECT_EQ(ExitCodeForStatus(absl::DeadlineExceededError("x")), kExitUnreachable);
  for (const absl::Status& refused :
       {absl::InvalidArgumentError("x"), absl::NotFoundError("x"), absl::PermissionDeniedError("x"),
        absl::UnauthenticatedError("x"), absl::FailedPreconditionError("x"), absl::AbortedError("x"),
        absl::AlreadyExistsError("x"), absl::ResourceExhaustedError("x"), absl::OutOfRangeError("x")}) {
    EXPECT_EQ(ExitCodeForStatus(refused), kExitRefused) << refused;
  }
  for (const absl::Status& other : {absl::InternalError("x"), absl::UnimplementedError("x"), absl::UnknownError("x"),
                                    absl::DataLossError("x"), absl::CancelledError("x")}) {
    EXPECT_EQ(ExitCodeForStatus(other), kExitError) << other;
  }
  // Distinct codes, as --help promises.
  EXPECT_EQ(kExitSuccess, 0);
  EXPECT_EQ(kExitOperationFailed, 1);
  EXPECT_EQ(kExitUsage, 2);
  EXPECT_EQ(kExitUnreachable, 3);
  EXPECT_EQ(kExitRefused, 4);
  EXPECT_EQ(kExitWaitTimeout, 5);
  EXPECT_EQ(kExitError, 6);
}

TEST(ExitCodes, ForOperations) {
  v1::Operation op;
  for (auto [state, code] : std::vector<std::pair<v1::OperationState, ExitCode>>{
           {v1::OPERATION_STATE_PENDING, kExitSuccess},
           {v1::OPERATION_STATE_RUNNING, kExitSuccess},
           {v1::OPERATION_STATE_SUCCEEDED, kExitSuccess},
           {v1::OPERATION_STATE_FAILED, kExitOperationFailed},
           {v1::OPERATION_STATE_CANCELLED, kExitOperationFailed},
           {v1::OPERATION_STATE_ROLLED_BACK, kExitOperationFailed}}) {
    op.set_state(state);
    EXPECT_EQ(ExitCodeForOperation(op), code) << v1::OperationState_Name(state);
  }
}

TEST(ReportError, SaysWhatHappenedAndWhere) {
  std::ostringstream err;
  EXPECT_EQ(ReportError(absl::NotFoundError("deployment shop/web not found"), "h:1", err), kExitRefused);
  EXPECT_EQ(err.str(), "Error from server (NOT_FOUND): deployment shop/web not found\n");

  err.str("");
  EXPECT_EQ(ReportError(absl::UnavailableError("connection refused"), "h:1", err), kExitUnreachable);
  EXPECT_THAT(err.str(), HasSubstr("cannot reach herd at h:1: connection refused"));

  err.str("");
  EXPECT_EQ(ReportError(absl::UnauthenticatedError("no token"), "h:1", err), kExitRefused);
  EXPECT_THAT(err.str(), HasSubstr("HERD_TOKEN"));

  err.str("");
  EXPECT_EQ(ReportError(absl::InternalError("boom"), "h:1", err), kExitError);
  EXPECT_THAT(err.str(), HasSubstr("(INTERNAL): boom"));
}

class RunTest : public ::testing::Test {
 protected:
  RunTest() {
    auto stub = std::make_unique<StrictMock<v1::MockHerdStub>>();
    stub_ = stub.get();
    client::ConnectionOptions options;
    options.server = "herd.test:50051";
    client::ClientEnvironment env;
    env.now = [this] { return now_; };
    env.sleep = [this](absl::Duration d) { now_ += d; };
    env.new_request_id = [] { return "generated-id"; };
    client_ = client::NewHerdClientForStub(std::move(stub), options, std::move(env));
  }

  ExitCode Run(std::vector<std::string> args, bool tty = false) {
    absl::StatusOr<Command> cmd = ParseCommandLine(args, "default");
    EXPECT_TRUE(cmd.ok()) << cmd.status();
    if (!cmd.ok()) return kExitUsage;
    if (cmd->global.connection.server.empty()) cmd->global.connection.server = "herd.test:50051";
    Console console{out_, err_, tty, tty, [this] { return now_; }};
    return RunCommand(*cmd, *client_, console);
  }

  static v1::Operation Op(v1::OperationState state, int updated = 0) {
    v1::Operation op;
    op.set_name("operations/op-1");
    op.set_kind(v1::OPERATION_KIND_ROLLOUT);
    op.set_target("namespaces/shop/deployments/web");
    op.set_state(state);
    op.mutable_progress()->set_desired(2);
    op.mutable_progress()->set_updated(updated);
    op.mutable_create_time()->set_seconds(absl::ToUnixSeconds(kStart));
    if (state == v1::OPERATION_STATE_ROLLED_BACK || state == v1::OPERATION_STATE_FAILED) {
      op.mutable_error()->set_code(4);
      op.mutable_error()->set_message("pods not ready in time");
      op.mutable_failure()->set_reason(v1::FAILURE_REASON_READINESS_FAILING);
    }
    return op;
  }

  static Reader* Stream(const std::vector<v1::Operation>& ops, grpc::Status end) {
    auto* reader = new Reader();
    auto& read = EXPECT_CALL(*reader, Read(_));
    for (const v1::Operation& op : ops) read.WillOnce(DoAll(SetArgPointee<0>(op), Return(true)));
    read.WillRepeatedly(Return(false));
    EXPECT_CALL(*reader, Finish()).WillOnce(Return(end));
    return reader;
  }

  void ExpectRolloutReturns(const v1::Operation& op) {
    EXPECT_CALL(*stub_, Rollout(_, _, _))
        .WillOnce(Invoke([op](grpc::ClientContext*, const v1::RolloutRequest& req, v1::Operation* out) {
          EXPECT_EQ(req.workload(), "namespaces/shop/deployments/web");
          EXPECT_EQ(req.images().at("web"), "web:2");
          *out = op;
          return grpc::Status::OK;
        }));
  }

  absl::Time now_ = kStart;
  std::ostringstream out_;
  std::ostringstream err_;
  v1::MockHerdStub* stub_ = nullptr;
  std::unique_ptr<client::HerdClient> client_;
};

TEST_F(RunTest, RolloutWithoutWaitPrintsTheOperationAndHowToFollowIt) {
  ExpectRolloutReturns(Op(v1::OPERATION_STATE_PENDING));
  EXPECT_EQ(Run({"-n", "shop", "rollout", "deploy/web", "web=web:2"}), kExitSuccess);
  EXPECT_EQ(out_.str(),
            "operations/op-1: rollout of deploy/web started (Pending)\n"
            "Follow it with: herdctl ops watch op-1\n");
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(RunTest, RolloutWaitFollowsToSuccess) {
  ExpectRolloutReturns(Op(v1::OPERATION_STATE_PENDING));
  v1::Operation done = Op(v1::OPERATION_STATE_SUCCEEDED, 2);
  done.mutable_end_time()->set_seconds(absl::ToUnixSeconds(kStart) + 4);
  done.set_revision(5);
  Reader* reader = Stream({Op(v1::OPERATION_STATE_RUNNING, 1), done}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  EXPECT_EQ(Run({"-n", "shop", "rollout", "deploy/web", "web=web:2", "--wait"}), kExitSuccess);
  EXPECT_THAT(out_.str(), HasSubstr("operations/op-1: rollout of deploy/web\n"));
  EXPECT_THAT(out_.str(), HasSubstr("Running  updated 1/2"));
  EXPECT_THAT(out_.str(), HasSubstr("rollout of deploy/web succeeded in 4.0s (revision 5)\n"));
}

TEST_F(RunTest, RolloutWaitRolledBackExitsOneWithTheFailure) {
  ExpectRolloutReturns(Op(v1::OPERATION_STATE_RUNNING));
  Reader* reader = Stream({Op(v1::OPERATION_STATE_ROLLED_BACK, 1)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  EXPECT_EQ(Run({"-n", "shop", "rollout", "deploy/web", "web=web:2", "--wait"}), kExitOperationFailed);
  EXPECT_THAT(out_.str(), HasSubstr("rollout of deploy/web failed and was rolled back: pods not ready in time\n"));
  EXPECT_THAT(out_.str(), HasSubstr("Failure:      ReadinessFailing\n"));
}

TEST_F(RunTest, WaitWithJsonKeepsStdoutForTheDocument) {
  ExpectRolloutReturns(Op(v1::OPERATION_STATE_PENDING));
  Reader* reader = Stream({Op(v1::OPERATION_STATE_SUCCEEDED, 2)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  EXPECT_EQ(Run({"-n", "shop", "-o", "json", "rollout", "deploy/web", "web=web:2", "--wait"}), kExitSuccess);
  nlohmann::json doc = nlohmann::json::parse(out_.str());  // all of stdout is one document
  EXPECT_EQ(doc["state"], "OPERATION_STATE_SUCCEEDED");
  EXPECT_THAT(err_.str(), HasSubstr("succeeded"));
}

TEST_F(RunTest, WaitGivesUpAtTimeoutWithExitFive) {
  ExpectRolloutReturns(Op(v1::OPERATION_STATE_RUNNING));
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillRepeatedly(Invoke([](grpc::ClientContext*, const auto&) {
    return Stream({Op(v1::OPERATION_STATE_RUNNING, 1)}, grpc::Status(grpc::StatusCode::UNAVAILABLE, "reset"));
  }));
  EXPECT_EQ(Run({"-n", "shop", "rollout", "deploy/web", "web=web:2", "--wait", "--timeout=3s"}), kExitWaitTimeout);
  EXPECT_THAT(err_.str(), HasSubstr("gave up waiting for operations/op-1"));
  EXPECT_THAT(err_.str(), HasSubstr("herdctl ops watch op-1"));
}

TEST_F(RunTest, DryRunPrintsThePlan) {
  v1::Operation plan = Op(v1::OPERATION_STATE_SUCCEEDED);
  plan.set_dry_run(true);
  plan.mutable_plan()->set_summary("replace 2 pods");
  EXPECT_CALL(*stub_, Scale(_, _, _))
      .WillOnce(Invoke([plan](grpc::ClientContext*, const v1::ScaleRequest& req, v1::Operation* out) {
        EXPECT_TRUE(req.options().dry_run());
        EXPECT_EQ(req.options().request_id(), "generated-id");
        *out = plan;
        return grpc::Status::OK;
      }));
  EXPECT_EQ(Run({"scale", "deploy/web", "--replicas=4", "--dry-run"}), kExitSuccess);
  EXPECT_THAT(out_.str(), HasSubstr("Plan (dry run, nothing was changed):\n  replace 2 pods\n"));
}

TEST_F(RunTest, RefusalExitsFourWithTheServersMessage) {
  EXPECT_CALL(*stub_, Purge(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::ABORTED, "operations/op-0 is running on shop/web")));
  EXPECT_EQ(Run({"-n", "shop", "purge", "deploy/web"}), kExitRefused);
  EXPECT_EQ(err_.str(), "Error from server (ABORTED): operations/op-0 is running on shop/web\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(RunTest, UnreachableServerExitsThreeAfterRetries) {
  EXPECT_CALL(*stub_, Kill(_, _, _))
      .Times(5)
      .WillRepeatedly(Return(grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses")));
  EXPECT_EQ(Run({"kill", "web-1"}), kExitUnreachable);
  EXPECT_THAT(err_.str(), HasSubstr("cannot reach herd at herd.test:50051: failed to connect to all addresses"));
}

TEST_F(RunTest, OpsListReadsEveryPageUpToTheLimit) {
  auto page = [](std::vector<std::string> ids, std::string next) {
    v1::ListOperationsResponse r;
    for (const std::string& id : ids) {
      v1::Operation* op = r.add_operations();
      op->set_name("operations/" + id);
      op->set_kind(v1::OPERATION_KIND_SCALE);
      op->set_target("namespaces/shop/deployments/web");
      op->set_state(v1::OPERATION_STATE_SUCCEEDED);
    }
    r.set_next_page_token(next);
    return r;
  };
  std::vector<std::string> tokens;
  EXPECT_CALL(*stub_, ListOperations(_, _, _))
      .WillOnce(DoAll(Invoke([&](auto, const v1::ListOperationsRequest& req, auto) {
                        tokens.push_back(req.page_token());
                        EXPECT_EQ(req.namespace_(), "shop");
                      }),
                      SetArgPointee<2>(page({"a", "b"}, "p2")), Return(grpc::Status::OK)))
      .WillOnce(DoAll(Invoke([&](auto, const v1::ListOperationsRequest& req, auto) { tokens.push_back(req.page_token()); }),
                      SetArgPointee<2>(page({"c", "d"}, "p3")), Return(grpc::Status::OK)));
  EXPECT_EQ(Run({"-n", "shop", "ops", "list", "--limit=3"}), kExitSuccess);
  EXPECT_EQ(tokens, (std::vector<std::string>{"", "p2"}));
  EXPECT_THAT(out_.str(), HasSubstr("\na "));
  EXPECT_THAT(out_.str(), HasSubstr("\nc "));
  EXPECT_THAT(out_.str(), Not(HasSubstr("\nd ")));
}

TEST_F(RunTest, EmptyListsSaySoOnStderr) {
  EXPECT_CALL(*stub_, ListWorkloads(_, _, _)).WillOnce(Return(grpc::Status::OK));
  EXPECT_EQ(Run({"-n", "shop", "list"}), kExitSuccess);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), "No workloads found in namespace shop.\n");
}

TEST_F(RunTest, ListAsYaml) {
  v1::ListWorkloadsResponse r;
  r.add_workloads()->set_name("web");
  EXPECT_CALL(*stub_, ListWorkloads(_, _, _)).WillOnce(DoAll(SetArgPointee<2>(r), Return(grpc::Status::OK)));
  EXPECT_EQ(Run({"list", "-A", "-o", "yaml"}), kExitSuccess);
  EXPECT_THAT(out_.str(), HasSubstr("workloads:\n- "));
  EXPECT_THAT(out_.str(), HasSubstr("  name: web\n"));
}

TEST_F(RunTest, GetNotFoundExitsFour) {
  EXPECT_CALL(*stub_, GetWorkload(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "statefulset shop/db not found")));
  EXPECT_EQ(Run({"-n", "shop", "get", "sts/db"}), kExitRefused);
  EXPECT_THAT(err_.str(), HasSubstr("statefulset shop/db not found"));
}

TEST_F(RunTest, OpsWatchOfAFailedOperationExitsOne) {
  Reader* reader = Stream({Op(v1::OPERATION_STATE_FAILED, 1)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  EXPECT_EQ(Run({"ops", "watch", "op-1"}), kExitOperationFailed);
  EXPECT_THAT(out_.str(), HasSubstr("rollout of deploy/web failed: pods not ready in time"));
}

TEST_F(RunTest, OpsCancelWaitSucceedsWhenTheOperationEndsCancelled) {
  EXPECT_CALL(*stub_, CancelOperation(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Op(v1::OPERATION_STATE_RUNNING)), Return(grpc::Status::OK)));
  Reader* reader = Stream({Op(v1::OPERATION_STATE_CANCELLED)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  EXPECT_EQ(Run({"ops", "cancel", "op-1", "--wait"}), kExitSuccess);
}

TEST_F(RunTest, OpsCancelWaitFailsWhenTheOperationFinishedFirst) {
  EXPECT_CALL(*stub_, CancelOperation(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(Op(v1::OPERATION_STATE_SUCCEEDED)), Return(grpc::Status::OK)));
  EXPECT_EQ(Run({"ops", "cancel", "op-1", "--wait"}), kExitOperationFailed);
}

TEST_F(RunTest, LiveProgressOnATerminal) {
  ExpectRolloutReturns(Op(v1::OPERATION_STATE_PENDING));
  Reader* reader = Stream({Op(v1::OPERATION_STATE_RUNNING, 1), Op(v1::OPERATION_STATE_SUCCEEDED, 2)}, grpc::Status::OK);
  EXPECT_CALL(*stub_, WatchOperationRaw(_, _)).WillOnce(Return(reader));
  EXPECT_EQ(Run({"-n", "shop", "rollout", "deploy/web", "web=web:2", "--wait"}, /*tty=*/true), kExitSuccess);
  EXPECT_THAT(out_.str(), HasSubstr("[############............] Running  updated 1/2"));
  EXPECT_THAT(out_.str(), HasSubstr("\r\033[K"));
}

}  // namespace
}  // namespace herd::herdctl
