#include "gateway/gateway.h"

#include <zlib.h>

#include <atomic>
#include <chrono>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/byte_buffer.h"

namespace herd::gateway {
namespace {

using Json = nlohmann::json;

std::string NewRequestId() {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen;
  absl::MutexLock lock(&mu);
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(*gen));
}

bool AcceptsGzip(const http::Request& r) {
  for (absl::string_view part : absl::StrSplit(r.headers.Get("Accept-Encoding"), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::StartsWith(part, "gzip") && !absl::StrContains(part, "q=0")) return true;
  }
  return false;
}

absl::StatusOr<std::string> Gzip(absl::string_view in, bool compress) {
  z_stream z{};
  int rc = compress ? deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
                    : inflateInit2(&z, 15 + 16);
  if (rc != Z_OK) return absl::InternalError("zlib init failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = compress ? deflate(&z, Z_FINISH) : inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR || (rc == Z_BUF_ERROR && z.avail_in == 0 && !compress)) {
      compress ? deflateEnd(&z) : inflateEnd(&z);
      return absl::InvalidArgumentError("the body is not valid gzip");
    }
    out.append(buf, sizeof(buf) - z.avail_out);
    if (!compress && out.size() > (64u << 20)) {
      inflateEnd(&z);
      return absl::InvalidArgumentError("the gzip body expands beyond 64 MiB");
    }
  } while (rc != Z_STREAM_END);
  compress ? deflateEnd(&z) : inflateEnd(&z);
  return out;
}

std::string ToString(const grpc::ByteBuffer& bb) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!bb.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer ToByteBuffer(const google::protobuf::Message& m) {
  std::string bytes = m.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// gRPC's timeout header ("10S", "250m"): digits and a unit.
std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(absl::string_view v) {
  if (v.size() < 2) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(v.substr(0, v.size() - 1), &n) || n < 0) return std::nullopt;
  switch (v.back()) {
    case 'H': return std::chrono::hours(n);
    case 'M': return std::chrono::minutes(n);
    case 'S': return std::chrono::seconds(n);
    case 'm': return std::chrono::milliseconds(n);
    case 'u': return std::chrono::microseconds(n);
    case 'n': return std::chrono::nanoseconds(n);
    default: return std::nullopt;
  }
}

// What the HTTP request says about the call: credentials, metadata, deadline.
void PrepareContext(grpc::ClientContext& ctx, const http::Request& r, const std::string& request_id) {
  if (auto auth = r.headers.Get("Authorization"); !auth.empty()) ctx.AddMetadata("authorization", std::string(auth));
  ctx.AddMetadata("x-request-id", request_id);
  for (const auto& [name, value] : r.headers.fields()) {
    constexpr absl::string_view kPrefix = "grpc-metadata-";
    std::string lower = absl::AsciiStrToLower(name);
    if (absl::StartsWith(lower, kPrefix) && lower.size() > kPrefix.size()) {
      ctx.AddMetadata(lower.substr(kPrefix.size()), value);
    }
  }
  if (auto t = ParseGrpcTimeout(r.headers.Get("Grpc-Timeout"))) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(*t));
  }
}

// The server's metadata as grpc-gateway forwards it.
void ForwardMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md, http::Headers& h) {
  for (const auto& [k, v] : md) {
    std::string key(k.data(), k.size());
    if (absl::EndsWith(key, "-bin") || absl::StartsWith(key, "grpc-") || key == "content-type") continue;
    h.Add(absl::StrCat("Grpc-Metadata-", key), std::string(v.data(), v.size()));
  }
}

Json DetailsOf(const grpc::Status& st) {
  if (st.error_details().empty()) return Json::array();
  google::rpc::Status rpc;
  if (!rpc.ParseFromString(st.error_details())) return Json::array();
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(rpc, &text).ok()) return Json::array();
  Json j = Json::parse(text, nullptr, false);
  return j.is_object() && j.contains("details") ? j["details"] : Json::array();
}

http::Response JsonResponse(int status, std::string body, const std::string& request_id) {
  http::Response r{.status = status, .body = std::move(body)};
  r.headers.Add("Content-Type", "application/json");
  r.headers.Add("X-Request-Id", request_id);
  return r;
}

void MaybeGzip(http::Response& r, bool accepts, size_t min_bytes) {
  if (!accepts || r.body.size() < min_bytes) return;
  auto z = Gzip(r.body, true);
  if (!z.ok()) return;
  r.body = *std::move(z);
  r.headers.Add("Content-Encoding", "gzip");
  r.headers.Add("Vary", "Accept-Encoding");
}

// A server-streaming call answered as NDJSON or Server-Sent Events. Owns
// itself: alive until gRPC says the call is done and the HTTP stream, if
// any, no longer needs it.
class StreamCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                   public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(const Route* route, grpc::ByteBuffer request, http::Request http_request, http::Responder responder,
             std::string request_id)
      : route_(route), path_(route->GrpcPath()), request_(std::move(request)), http_(std::move(http_request)),
        responder_(std::move(responder)), request_id_(std::move(request_id)),
        sse_(absl::StrContains(http_.headers.Get("Accept"), "text/event-stream")) {}

  void Start(grpc::GenericStub& stub) {
    self_ = shared_from_this();
    PrepareContext(ctx_, http_, request_id_);
    stub.PrepareBidiStreamingCall(&ctx_, path_, grpc::StubOptions(), this);
    StartWrite(&request_);
    StartWritesDone();
    StartRead(&reply_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    std::unique_ptr<google::protobuf::Message> m(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(route_->method->output_type())->New());
    std::string bytes = ToString(reply_);
    if (!m->ParseFromString(bytes)) {
      ctx_.TryCancel();
      return;
    }
    Send(absl::StrCat("{\"result\":", MessageJson(*m), "}"), false);
    StartRead(&reply_);
  }

  void OnDone(const grpc::Status& st) override {
    std::shared_ptr<http::Stream> stream;
    {
      absl::MutexLock lock(&mu_);
      stream = stream_;
    }
    if (!stream) {
      // Nothing was streamed: a plain answer says what happened.
      if (!st.ok()) {
        responder_.Respond(JsonResponse(HttpStatusForCode(st.error_code()),
                                        ErrorJson(st.error_code(), st.error_message(), DetailsOf(st)).dump(), request_id_));
      } else {
        Open();
        Finish();
      }
    } else {
      if (!st.ok() && !left_.load()) {
        Send(Json{{"error", ErrorJson(st.error_code(), st.error_message(), DetailsOf(st))}}.dump(), true);
      }
      Finish();
    }
    self_.reset();  // the last reference may be this
  }

 private:
  void Open() {
    absl::MutexLock lock(&mu_);
    if (stream_) return;
    http::Headers h;
    h.Add("Content-Type", sse_ ? "text/event-stream" : "application/x-ndjson");
    h.Add("Cache-Control", "no-cache");
    h.Add("X-Request-Id", request_id_);
    stream_ = responder_.StartStream(200, std::move(h));
    std::weak_ptr<StreamCall> weak = shared_from_this();
    // A client that leaves cancels the call, so no server thread stays on it.
    stream_->OnClose([weak] {
      if (auto self = weak.lock()) {
        self->left_ = true;
        self->ctx_.TryCancel();
      }
    });
  }
  void Send(const std::string& json, bool error) {
    Open();
    std::shared_ptr<http::Stream> stream;
    {
      absl::MutexLock lock(&mu_);
      stream = stream_;
    }
    stream->Write(sse_ ? absl::StrCat(error ? "event: error\n" : "", "data: ", json, "\n\n") : absl::StrCat(json, "\n"));
  }
  void Finish() {
    absl::MutexLock lock(&mu_);
    if (stream_) stream_->Finish();
  }

  const Route* route_;
  const std::string path_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  http::Request http_;
  http::Responder responder_;
  const std::string request_id_;
  const bool sse_;
  std::atomic<bool> left_{false};
  absl::Mutex mu_;
  std::shared_ptr<http::Stream> stream_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<StreamCall> self_;
};

}  // namespace

http::Response ErrorResponse(int grpc_code, absl::string_view message) {
  http::Response r{.status = HttpStatusForCode(grpc_code), .body = ErrorJson(grpc_code, message).dump()};
  r.headers.Add("Content-Type", "application/json");
  return r;
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(std::shared_ptr<grpc::Channel> channel, GatewayOptions options) {
  std::vector<Route> routes;
  for (const auto* s : options.services) {
    auto r = RoutesOf(*s);
    if (!r.ok()) return r.status();
    routes.insert(routes.end(), r->begin(), r->end());
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(channel), std::move(options), std::move(routes)));
}

Gateway::Gateway(std::shared_ptr<grpc::Channel> channel, GatewayOptions options, std::vector<Route> routes)
    : channel_(channel), stub_(channel), options_(std::move(options)), router_(std::move(routes)) {
  for (const Route& r : router_.routes()) {
    // The literal first segment of each route ("/v1/").
    const std::string& t = r.path.text();
    size_t second = t.find('/', 1);
    std::string prefix = t.substr(0, second == std::string::npos ? t.size() : second + 1);
    if (prefix.find_first_of("{*:") != std::string::npos) continue;
    if (std::find(prefixes_.begin(), prefixes_.end(), prefix) == prefixes_.end()) prefixes_.push_back(prefix);
  }
}

bool Gateway::Serves(const http::Request& request) const {
  if (request.path == "/openapi.json") return true;
  for (const auto& p : prefixes_) {
    if (absl::StartsWith(request.path, p)) return true;
  }
  return false;
}

// A browser's request made by a page of another site: its Origin (sent on
// every cross-origin POST and fetch) names a host other than the one asked
// (Host, or X-Forwarded-Host behind a proxy). Refused, so that a page
// elsewhere cannot make an operator's browser call herd (with
// --insecure-no-auth nothing else would stop a form's text/plain POST).
// Callers that are not browsers send no Origin.
bool CrossOrigin(const http::Request& request) {
  absl::string_view origin = request.headers.Get("Origin");
  if (origin.empty()) return false;
  if (origin == "null") return true;  // sandboxed frames, file: pages
  const size_t scheme = origin.find("://");
  absl::string_view host = scheme == absl::string_view::npos ? origin : origin.substr(scheme + 3);
  for (absl::string_view asked : {request.headers.Get("Host"), request.headers.Get("X-Forwarded-Host")}) {
    if (!asked.empty() && absl::EqualsIgnoreCase(host, asked)) return false;
  }
  return true;
}

void Gateway::Handle(http::Request request, http::Responder responder) {
  std::string request_id(request.headers.Get("X-Request-Id"));
  if (request_id.empty() || request_id.size() > 128) request_id = NewRequestId();
  const bool gzip = AcceptsGzip(request);
  auto fail = [&](int code, absl::string_view message, int http_status = 0) {
    http::Response r = JsonResponse(http_status ? http_status : HttpStatusForCode(code),
                                    ErrorJson(code, message).dump(), request_id);
    responder.Respond(std::move(r));
  };
  if (request.path == "/openapi.json") {
    if (request.method != "GET" && request.method != "HEAD") {
      http::Response r = JsonResponse(405, ErrorJson(12, "only GET /openapi.json").dump(), request_id);
      r.headers.Add("Allow", "GET");
      return responder.Respond(std::move(r));
    }
    if (options_.openapi_json.empty()) return fail(5, "this gateway serves no OpenAPI document");
    http::Response r = JsonResponse(200, options_.openapi_json, request_id);
    MaybeGzip(r, gzip, options_.gzip_min_bytes);
    return responder.Respond(std::move(r));
  }
  if (CrossOrigin(request)) {
    return fail(7, absl::StrCat("cross-origin request refused: Origin ", request.headers.Get("Origin"),
                                " is not this server (", request.headers.Get("Host"), ")"));
  }
  absl::string_view raw_path = request.target;
  raw_path = raw_path.substr(0, raw_path.find('?'));
  std::vector<std::string> allowed;
  auto match = router_.Find(request.method, raw_path, &allowed);
  if (!match.ok()) {
    if (absl::IsUnimplemented(match.status())) {
      http::Response r = JsonResponse(405, ErrorJson(12, match.status().message()).dump(), request_id);
      r.headers.Add("Allow", absl::StrJoin(allowed, ", "));
      return responder.Respond(std::move(r));
    }
    return fail(static_cast<int>(match.status().code()), match.status().message());
  }
  std::string body = std::move(request.body);
  if (absl::EqualsIgnoreCase(request.headers.Get("Content-Encoding"), "gzip")) {
    auto plain = Gzip(body, false);
    if (!plain.ok()) return fail(3, plain.status().message());
    body = *std::move(plain);
  }
  // JSON whatever the Content-Type says, as grpc-gateway reads it, except a
  // type that names another format: `curl -d '{…}'` sends its default
  // application/x-www-form-urlencoded, and a script should not need -H.
  std::string type = absl::AsciiStrToLower(request.headers.Get("Content-Type"));
  type = type.substr(0, type.find(';'));
  const bool json_type = type.empty() || absl::StrContains(type, "json") || type == "application/x-www-form-urlencoded" ||
                         type == "text/plain" || type == "application/octet-stream";
  if (!absl::StripAsciiWhitespace(body).empty() && !json_type) {
    return fail(3, absl::StrCat("the body must be JSON (Content-Type: application/json), not ", type), 415);
  }
  auto message = BuildRequest(*match, request.query, body);
  if (!message.ok()) return fail(static_cast<int>(message.status().code()), message.status().message());
  request.body.clear();
  request.headers.Set("X-Request-Id", request_id);
  if (match->route->server_streaming()) {
    return CallStreaming(*match, *std::move(message), std::move(request), std::move(responder));
  }
  CallUnary(*match, *std::move(message), std::move(request), std::move(responder));
}

void Gateway::CallUnary(const Match& match, std::unique_ptr<google::protobuf::Message> request,
                        http::Request http_request, http::Responder responder) {
  // Alive until gRPC calls back, which may be after this returns.
  struct Call {
    explicit Call(http::Responder r) : responder(std::move(r)) {}
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer reply;
    std::string path;
    http::Responder responder;
    std::string request_id;
    bool gzip = false;
  };
  auto call = std::make_shared<Call>(std::move(responder));
  call->request = ToByteBuffer(*request);
  call->path = match.route->GrpcPath();
  call->request_id = std::string(http_request.headers.Get("X-Request-Id"));
  call->gzip = AcceptsGzip(http_request);
  PrepareContext(call->ctx, http_request, call->request_id);
  const Route* route = match.route;
  size_t gzip_min = options_.gzip_min_bytes;
  stub_.UnaryCall(&call->ctx, call->path, grpc::StubOptions(), &call->request, &call->reply,
                  [call, route, gzip_min](grpc::Status st) {
                    http::Response r;
                    if (!st.ok()) {
                      r = JsonResponse(HttpStatusForCode(st.error_code()),
                                       ErrorJson(st.error_code(), st.error_message(), DetailsOf(st)).dump(),
                                       call->request_id);
                    } else {
                      std::unique_ptr<google::protobuf::Message> reply(google::protobuf::MessageFactory::generated_factory()
                                                                           ->GetPrototype(route->method->output_type())
                                                                           ->New());
                      if (!reply->ParseFromString(ToString(call->reply))) {
                        r = JsonResponse(500, ErrorJson(13, "the service's reply could not be parsed").dump(),
                                         call->request_id);
                      } else {
                        r = JsonResponse(200, ReplyJson(*route, *reply), call->request_id);
                        MaybeGzip(r, call->gzip, gzip_min);
                      }
                    }
                    // (Initial metadata is only known to have come with a reply.)
                    if (st.ok()) ForwardMetadata(call->ctx.GetServerInitialMetadata(), r.headers);
                    call->responder.Respond(std::move(r));
                  });
}

void Gateway::CallStreaming(const Match& match, std::unique_ptr<google::protobuf::Message> request,
                            http::Request http_request, http::Responder responder) {
  std::string request_id(http_request.headers.Get("X-Request-Id"));
  auto call = std::make_shared<StreamCall>(match.route, ToByteBuffer(*request), std::move(http_request),
                                           std::move(responder), std::move(request_id));
  call->Start(stub_);
}

}  // namespace herd::gateway
