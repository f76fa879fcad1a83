// The seams of herd::client that involve gRPC types, kept apart from
// herd_client.h so that users of the client do not pull in gRPC's headers:
// a HerdClient on a stub of your own (the generated MockHerdStub in tests,
// or a stub on a channel built elsewhere), and the one place grpc::Status
// becomes absl::Status.
//
//   auto stub = std::make_unique<herd::v1::MockHerdStub>();
//   EXPECT_CALL(*stub, GetOperation(_, _, _)).WillOnce(Return(grpc::Status::OK));
//   std::unique_ptr<herd::client::HerdClient> client =
//       herd::client::NewHerdClientForStub(std::move(stub), options, env);
#ifndef HERD_CLIENT_HERD_CLIENT_STUB_H_
#define HERD_CLIENT_HERD_CLIENT_STUB_H_

#include <memory>

#include "absl/status/status.h"
#include "client/herd_client.h"
#include "grpcpp/support/status.h"
#include "herd/v1/herd.grpc.pb.h"

namespace herd::client {

// A client calling through `stub`. Of `options` only token, timeout, retry
// and user_agent matter; the stub decides where calls go.
std::unique_ptr<HerdClient> NewHerdClientForStub(std::unique_ptr<v1::Herd::StubInterface> stub,
                                                 const ConnectionOptions& options, ClientEnvironment env = {});

// Same code, the server's message (or the code's name when it sent none);
// binary error details, when present, ride along as the payload
// "type.googleapis.com/google.rpc.Status".
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace herd::client

#endif  // HERD_CLIENT_HERD_CLIENT_STUB_H_
