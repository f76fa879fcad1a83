// The HTTP/1.1 server on Boost.Beast. One Connection per socket, on its own
// strand; a handler's answer is posted back to that strand.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "common/http/http.h"
#include "common/http/internal/exchange.h"
#include "common/http/internal/request.h"
#include "common/log/log.h"

namespace herd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace internal {

void LimitParser(BeastParser& parser, size_t max_body_bytes) {
  parser.body_limit(max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
}

Request FromBeast(BeastRequest&& req) {
  Request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  absl::string_view target = r.target;
  size_t q = target.find('?');
  absl::string_view raw_path = target.substr(0, q);
  if (!PercentDecode(raw_path, &r.path)) r.path = std::string(raw_path);
  if (q != absl::string_view::npos) r.query = ParseQuery(target.substr(q + 1));
  for (const auto& f : req) {
    r.headers.Add(std::string(f.name_string()), std::string(f.value()));
  }
  r.body = std::move(req.body());
  return r;
}

}  // namespace internal

Responder::Responder(std::shared_ptr<internal::Exchange> exchange) : exchange_(std::move(exchange)) {}
Responder::Responder(Responder&&) noexcept = default;
Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (exchange_) exchange_->Respond({.status = 500, .body = "handler dropped the request\n"});
    exchange_ = std::move(other.exchange_);
  }
  return *this;
}
Responder::~Responder() {
  if (exchange_) exchange_->Respond({.status = 500, .body = "handler dropped the request\n"});
}

void Responder::Respond(Response response) {
  if (!exchange_) return;
  auto ex = std::move(exchange_);
  ex->Respond(std::move(response));
}

std::shared_ptr<Stream> Responder::StartStream(int status, Headers headers) {
  if (!exchange_) return nullptr;
  auto ex = std::move(exchange_);
  return ex->StartStream(status, std::move(headers));
}

namespace {

// State shared by the server and its connections (which may outlive it by
// the time their last callbacks drain).
struct ServerState {
  ServerOptions options;
  Handler handler;
  std::optional<asio::ssl::context> ssl;

  std::mutex mu;
  std::condition_variable cv;
  uint64_t next_id = 1;
  std::map<uint64_t, std::weak_ptr<class ConnBase>> conns;  // guarded by mu
  bool shutting_down = false;                                 // guarded by mu
};

class ConnBase : public std::enable_shared_from_this<ConnBase> {
 public:
  virtual ~ConnBase() = default;
  // All three post to the connection's strand; callable from any thread.
  virtual void PostRespond(uint64_t seq, Response response) = 0;
  virtual void PostStreamStart(uint64_t seq, int status, Headers headers,
                               std::shared_ptr<class StreamImpl> stream) = 0;
  virtual void PostChunk(std::string data) = 0;
  virtual void PostFinish() = 0;
  virtual void PostClose() = 0;
};

class StreamImpl : public Stream {
 public:
  explicit StreamImpl(std::weak_ptr<ConnBase> conn) : conn_(std::move(conn)) {}

  bool Write(std::string data) override {
    if (data.empty()) return !Closed();
    std::shared_ptr<ConnBase> conn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || finished_) return false;
      conn = conn_.lock();
      if (!conn) return false;
      pending_ += data.size();
    }
    conn->PostChunk(std::move(data));
    return true;
  }

  void Finish() override {
    std::shared_ptr<ConnBase> conn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || finished_) return;
      finished_ = true;
      conn = conn_.lock();
    }
    if (conn) conn->PostFinish();
  }

  size_t Pending() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_;
  }

  bool Closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  void OnClose(absl::AnyInvocable<void()> cb) override {
    std::shared_ptr<ConnBase> conn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_) {
        callbacks_.push_back(std::move(cb));
        return;
      }
    }
    cb();
  }

  // Called on the connection's strand.
  void Written(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ -= std::min(pending_, n);
  }
  void MarkClosed() {
    std::vector<absl::AnyInvocable<void()>> cbs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      cbs.swap(callbacks_);
    }
    for (auto& cb : cbs) cb();
  }

 private:
  mutable std::mutex mu_;
  std::weak_ptr<ConnBase> conn_;
  bool closed_ = false;
  bool finished_ = false;
  size_t pending_ = 0;
  std::vector<absl::AnyInvocable<void()>> callbacks_;
};

class ExchangeImpl : public internal::Exchange {
 public:
  ExchangeImpl(std::shared_ptr<ConnBase> conn, uint64_t seq) : conn_(std::move(conn)), seq_(seq) {}
  void Respond(Response response) override { conn_->PostRespond(seq_, std::move(response)); }
  std::shared_ptr<Stream> StartStream(int status, Headers headers) override {
    auto stream = std::make_shared<StreamImpl>(conn_);
    conn_->PostStreamStart(seq_, status, std::move(headers), stream);
    return stream;
  }

 private:
  std::shared_ptr<ConnBase> conn_;
  uint64_t seq_;
};

std::string PeerCommonName(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME* name = X509_get_subject_name(cert);
    char buf[256];
    int n = X509_NAME_get_text_by_NID(name, NID_commonName, buf, sizeof(buf));
    if (n > 0) cn.assign(buf, static_cast<size_t>(n));
  }
  X509_free(cert);
  return cn;
}

template <class S>
class Connection : public ConnBase {
 public:
  Connection(std::shared_ptr<ServerState> state, uint64_t id, S stream)
      : state_(std::move(state)), id_(id), stream_(std::move(stream)) {}

  ~Connection() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->conns.erase(id_);
    state_->cv.notify_all();
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(30));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = Self()](error_code ec) {
                                if (ec) return self->Fail();
                                self->client_cn_ = PeerCommonName(self->stream_.native_handle());
                                self->DoRead();
                              });
    } else {
      asio::dispatch(stream_.get_executor(), [self = Self()] { self->DoRead(); });
    }
  }

  void PostRespond(uint64_t seq, Response response) override {
    asio::post(stream_.get_executor(), [self = Self(), seq, r = std::move(response)]() mutable {
      self->WriteResponse(seq, std::move(r));
    });
  }

  void PostStreamStart(uint64_t seq, int status, Headers headers,
                       std::shared_ptr<StreamImpl> stream) override {
    asio::post(stream_.get_executor(),
               [self = Self(), seq, status, h = std::move(headers), stream]() mutable {
                 self->StartStreaming(seq, status, std::move(h), std::move(stream));
               });
  }

  void PostChunk(std::string data) override {
    asio::post(stream_.get_executor(), [self = Self(), d = std::move(data)]() mutable {
      if (!self->active_stream_) return;
      self->out_bytes_ += d.size();
      self->out_.push_back(std::move(d));
      self->Pump();
    });
  }

  void PostFinish() override {
    asio::post(stream_.get_executor(), [self = Self()] {
      if (!self->active_stream_) return;
      self->finish_requested_ = true;
      self->Pump();
    });
  }

  void PostClose() override {
    asio::post(stream_.get_executor(), [self = Self()] { self->Fail(); });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<S, beast::tcp_stream>;

  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoRead() {
    if (closed_) return;
    parser_.emplace();
    internal::LimitParser(*parser_, state_->options.max_body_bytes);
    Lowest().expires_after(absl::ToChronoNanoseconds(state_->options.idle_timeout));
    bhttp::async_read(stream_, buf_, *parser_, [self = Self()](error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(error_code ec) {
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      ++seq_;
      return WriteResponse(seq_, {.status = 413, .body = "request body too large\n"});
    }
    if (ec) return Fail();
    auto req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == bhttp::verb::head;
    Request r = internal::FromBeast(std::move(req));
    error_code pec;
    auto ep = Lowest().socket().remote_endpoint(pec);
    if (!pec) r.remote = absl::StrCat(ep.address().to_string(), ":", ep.port());
    r.client_cert_cn = client_cn_;
    Lowest().expires_never();
    uint64_t seq = ++seq_;
    state_->handler(std::move(r), Responder(std::make_shared<ExchangeImpl>(shared_from_this(), seq)));
  }

  void WriteResponse(uint64_t seq, Response r) {
    if (closed_ || seq != seq_ || answered_ == seq) return;
    answered_ = seq;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version_);
    { auto rp = ReasonPhrase(r.status); res->reason(beast::string_view(rp.data(), rp.size())); }
    for (auto& [k, v] : r.headers.fields()) res->insert(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    if (head_) res->body().clear();
    Lowest().expires_after(std::chrono::seconds(60));
    bhttp::async_write(stream_, *res, [self = Self(), res](error_code ec, size_t) {
      if (ec || !self->keep_alive_) return self->Fail();
      self->DoRead();
    });
  }

  void StartStreaming(uint64_t seq, int status, Headers headers, std::shared_ptr<StreamImpl> stream) {
    if (closed_ || seq != seq_ || answered_ == seq) {
      stream->MarkClosed();
      return;
    }
    answered_ = seq;
    active_stream_ = std::move(stream);
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(status),
                                                                     version_);
    { auto rp = ReasonPhrase(status); res->reason(beast::string_view(rp.data(), rp.size())); }
    for (auto& [k, v] : headers.fields()) res->insert(k, v);
    res->keep_alive(keep_alive_);
    res->chunked(true);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    writing_ = true;
    Lowest().expires_never();
    bhttp::async_write_header(stream_, *sr, [self = Self(), res, sr](error_code ec, size_t) {
      self->writing_ = false;
      if (ec) return self->Fail();
      self->StartDetector();
      self->Pump();
    });
  }

  // While a stream is open nothing should arrive from the client; a read
  // that completes tells us the client went away.
  void StartDetector() {
    detector_pending_ = true;
    stream_.async_read_some(buf_.prepare(4096), [self = Self()](error_code ec, size_t n) {
      self->detector_pending_ = false;
      if (ec) {
        if (self->resume_after_detector_ && ec == asio::error::operation_aborted) {
          self->resume_after_detector_ = false;
          return self->DoRead();
        }
        return self->Fail();
      }
      self->buf_.commit(n);
      if (self->resume_after_detector_) {
        self->resume_after_detector_ = false;
        self->DoRead();
      }
    });
  }

  void Pump() {
    if (writing_ || closed_ || !active_stream_) return;
    if (!out_.empty()) {
      // Coalesce what is queued into one chunk: fewer writes under load.
      auto chunk = std::make_shared<std::string>(std::move(out_.front()));
      out_.pop_front();
      while (!out_.empty() && chunk->size() < 256 * 1024) {
        chunk->append(out_.front());
        out_.pop_front();
      }
      writing_ = true;
      asio::async_write(stream_, bhttp::make_chunk(asio::buffer(*chunk)),
                        [self = Self(), chunk](error_code ec, size_t) {
                          self->writing_ = false;
                          self->out_bytes_ -= std::min(self->out_bytes_, chunk->size());
                          if (self->active_stream_) self->active_stream_->Written(chunk->size());
                          if (ec) return self->Fail();
                          self->Pump();
                        });
      return;
    }
    if (!finish_requested_) return;
    writing_ = true;
    asio::async_write(stream_, bhttp::make_chunk_last(), [self = Self()](error_code ec, size_t) {
      self->writing_ = false;
      self->finish_requested_ = false;
      auto stream = std::move(self->active_stream_);
      if (stream) stream->MarkClosed();
      if (ec || !self->keep_alive_) return self->Fail();
      if (self->detector_pending_) {
        self->resume_after_detector_ = true;
        self->Lowest().cancel();
      } else {
        self->DoRead();
      }
    });
  }

  void Fail() {
    if (closed_) return;
    closed_ = true;
    if (active_stream_) {
      auto stream = std::move(active_stream_);
      stream->MarkClosed();
    }
    out_.clear();
    error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  std::shared_ptr<ServerState> state_;
  uint64_t id_;
  S stream_;
  beast::flat_buffer buf_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string client_cn_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool head_ = false;
  uint64_t seq_ = 0;
  uint64_t answered_ = 0;
  bool closed_ = false;

  std::shared_ptr<StreamImpl> active_stream_;
  std::deque<std::string> out_;
  size_t out_bytes_ = 0;
  bool writing_ = false;
  bool finish_requested_ = false;
  bool detector_pending_ = false;
  bool resume_after_detector_ = false;
};

absl::StatusOr<tcp::endpoint> ParseListen(EventLoop& loop, const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", listen, "\" is not HOST:PORT"));
  }
  std::string host = listen.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", listen, "\" has a bad port"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(loop.context());
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot resolve listen host \"", host, "\""));
    }
    return results.begin()->endpoint();
  }
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

class ServerImpl : public Server {
 public:
  ServerImpl(EventLoop& loop, std::shared_ptr<ServerState> state)
      : loop_(loop), state_(std::move(state)), acceptor_(loop.context()) {}

  absl::Status Listen() {
    auto ep = ParseListen(loop_, state_->options.listen);
    if (!ep.ok()) return ep.status();
    error_code ec;
    acceptor_.open(ep->protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(*ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", state_->options.listen, ": ", ec.message()));
    }
    auto local = acceptor_.local_endpoint();
    port_ = local.port();
    std::string host = local.address().to_string();
    address_ = local.address().is_v6() ? absl::StrCat("[", host, "]:", port_) : absl::StrCat(host, ":", port_);
    Accept();
    return absl::OkStatus();
  }

  ~ServerImpl() override { Shutdown(); }

  int port() const override { return port_; }
  std::string address() const override { return address_; }
  bool tls() const override { return state_->ssl.has_value(); }

  void Shutdown() override {
    std::vector<std::shared_ptr<ConnBase>> conns;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->shutting_down) return;
      state_->shutting_down = true;
      for (auto& [id, weak] : state_->conns) {
        if (auto c = weak.lock()) conns.push_back(std::move(c));
      }
    }
    std::mutex mu;
    std::condition_variable cv;
    bool closed = false;
    asio::post(acceptor_.get_executor(), [&] {
      error_code ec;
      acceptor_.close(ec);
      std::lock_guard<std::mutex> lock(mu);
      closed = true;
      cv.notify_all();
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(5), [&] { return closed; });
    }
    for (auto& c : conns) c->PostClose();
    conns.clear();
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return state_->conns.empty(); });
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(loop_.context()), [this](error_code ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) OnAccept(std::move(sock));
      {
        std::lock_guard<std::mutex> lock(state_->mu);
        if (state_->shutting_down) return;
      }
      Accept();
    });
  }

  void OnAccept(tcp::socket sock) {
    error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    std::shared_ptr<ConnBase> conn;
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->shutting_down) return;
      id = state_->next_id++;
    }
    if (state_->ssl) {
      auto c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          state_, id, beast::ssl_stream<beast::tcp_stream>(std::move(sock), *state_->ssl));
      Register(id, c);
      c->Start();
    } else {
      auto c = std::make_shared<Connection<beast::tcp_stream>>(state_, id, beast::tcp_stream(std::move(sock)));
      Register(id, c);
      c->Start();
    }
  }

  void Register(uint64_t id, const std::shared_ptr<ConnBase>& conn) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->conns.emplace(id, conn);
  }

  EventLoop& loop_;
  std::shared_ptr<ServerState> state_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::string address_;
};

absl::Status SetUpTls(ServerState& state) {
  const ServerOptions& o = state.options;
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  if (o.tls_cert_file.empty()) return absl::OkStatus();
  state.ssl.emplace(asio::ssl::context::tls_server);
  auto& ctx = *state.ssl;
  error_code ec;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1,
                  ec);
  ctx.use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", o.tls_cert_file, ": ", ec.message()));
  ctx.use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("TLS key ", o.tls_key_file, ": ", ec.message()));
  if (!o.tls_client_ca_file.empty()) {
    ctx.load_verify_file(o.tls_client_ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("TLS client CA ", o.tls_client_ca_file, ": ", ec.message()));
    }
    auto mode = asio::ssl::verify_peer;
    if (o.require_client_cert) mode |= asio::ssl::verify_fail_if_no_peer_cert;
    ctx.set_verify_mode(mode, ec);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(EventLoop& loop, ServerOptions options, Handler handler) {
  auto state = std::make_shared<ServerState>();
  state->options = std::move(options);
  state->handler = std::move(handler);
  if (auto st = SetUpTls(*state); !st.ok()) return st;
  auto server = std::make_unique<ServerImpl>(loop, state);
  if (auto st = server->Listen(); !st.ok()) return st;
  return server;
}

}  // namespace herd::http
