// The only translation unit that includes Beast: it is header-heavy.
#include "adapters/http/server.h"

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "adapters/asio/native.h"
#include "core/check.h"

namespace orderflow::adapters::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using ErrorCode = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

constexpr std::size_t kReadChunk = 4096;
// After an error answer the server reads, and drops, what the client is still
// sending for a while: closing with unread input would reset the connection,
// and the client might lose the answer.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 64 * 1024;
// How long to wait before accepting again after accept failed (out of file
// descriptors, typically), instead of spinning.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);

std::string json_error(std::string_view message) {
  std::string out = R"({"error":")";
  for (const char c : message) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  out += "\"}";
  return out;
}

// What a connection over `max_connections` gets before it is closed.
const std::string& busy_answer() {
  static const std::string answer = [] {
    const std::string body = json_error("too many connections");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }();
  return answer;
}

core::HttpMethod to_method(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get: return core::HttpMethod::kGet;
    case bhttp::verb::post: return core::HttpMethod::kPost;
    case bhttp::verb::put: return core::HttpMethod::kPut;
    case bhttp::verb::delete_: return core::HttpMethod::kDelete;
    case bhttp::verb::head: return core::HttpMethod::kHead;
    default: return core::HttpMethod::kOther;
  }
}

core::HttpRequest to_core(BeastRequest&& request) {
  core::HttpRequest out;
  out.method = to_method(request.method());
  out.target = std::string(request.target());
  for (const auto& field : request) {
    out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  out.body = std::move(request.body());
  return out;
}

// The transport frames the message itself; a handler's own framing would lie.
bool is_framing_header(std::string_view name) {
  return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
         beast::iequals(name, "connection");
}

bool has_line_break(std::string_view text) { return text.find_first_of("\r\n") != text.npos; }

// Compares without stopping at the first difference, so that the time taken does
// not tell an attacker how much of a guess was right.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

bool is_http_error(const ErrorCode& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

class Session;

// The listening socket and the set of open connections. Shared with the
// sessions and with pending Asio handlers, so that it outlives `HttpServer`
// until the io_context has dropped them; `closed_` marks that the server (and
// with it the handler and the log) is gone.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(net::io_context& io_context, core::HttpHandler& handler, HttpServerOptions options)
      : io_context_(io_context),
        handler_(handler),
        options_(std::move(options)),
        acceptor_(io_context),
        retry_timer_(io_context),
        grace_timer_(io_context) {}

  core::Result<> start();
  void shutdown(std::function<void()> on_done);
  void close();

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::size_t connections() const { return sessions_.size(); }
  [[nodiscard]] const HttpServerOptions& options() const { return options_; }
  [[nodiscard]] core::HttpHandler& handler() { return handler_; }
  [[nodiscard]] net::io_context& io_context() { return io_context_; }
  [[nodiscard]] bool draining() const { return shutting_down_; }

  void add(Session* session) { sessions_.insert(session); }
  void remove(Session* session) {
    sessions_.erase(session);
    maybe_finish();
  }

  void log(core::Severity severity, std::string_view name, core::Fields fields) {
    if (options_.log != nullptr && !closed_) options_.log->event(severity, name, fields);
  }

 private:
  void accept();
  void on_accept(const ErrorCode& ec, tcp::socket socket);
  void reject(tcp::socket socket);
  void cut_off();
  void maybe_finish();
  [[nodiscard]] std::vector<Session*> snapshot() const {
    return {sessions_.begin(), sessions_.end()};
  }

  net::io_context& io_context_;
  core::HttpHandler& handler_;
  const HttpServerOptions options_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  net::steady_timer grace_timer_;
  std::uint16_t port_ = 0;
  // Not owned: a session removes itself when it closes, at the latest in its
  // destructor.
  std::unordered_set<Session*> sessions_;
  bool shutting_down_ = false;
  bool closed_ = false;
  std::vector<std::function<void()>> on_done_;
};

// One connection: reads requests one after the other, hands each to the
// handler, writes its response, and closes on error, time-out or request.
//
// Owned by shared pointers in its pending Asio handlers and, while the handler
// holds a request, by that request's `Respond`; the last owner gone closes it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerCore> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {}
  ~Session() { close(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    server_->add(this);
    ErrorCode ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    // The first request's deadline runs from the accept.
    stream_.expires_after(options().read_timeout);
    await_request(/*deadline_set=*/true);
  }

  // Shutdown: a connection between requests closes now, one in the middle of a
  // request finishes it first.
  void stop_if_idle() {
    if (phase_ == Phase::kIdle || phase_ == Phase::kLingering) close();
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    ErrorCode ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    server_->remove(this);
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kLingering, kClosed };

  [[nodiscard]] const HttpServerOptions& options() const { return server_->options(); }

  void await_request(bool deadline_set) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        options().max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(options().max_body_bytes);
    if (buffer_.size() > 0) {
      // The client pipelined: the next request has begun already.
      if (!deadline_set) stream_.expires_after(options().read_timeout);
      begin_request();
      return;
    }
    phase_ = Phase::kIdle;
    if (!deadline_set) stream_.expires_after(options().idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = shared_from_this(), deadline_set](const ErrorCode& ec, std::size_t bytes) {
          self->on_first_bytes(ec, bytes, deadline_set);
        });
  }

  void on_first_bytes(const ErrorCode& ec, std::size_t bytes, bool deadline_set) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();  // the client left, stayed idle too long, or shutdown
    buffer_.commit(bytes);
    if (!deadline_set) stream_.expires_after(options().read_timeout);
    begin_request();
  }

  void begin_request() {
    phase_ = Phase::kReading;
    started_ = SteadyClock::now();
    method_.clear();
    target_.clear();
    version_ = 11;
    head_ = false;
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](const ErrorCode& ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(const ErrorCode& ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec) return on_read_error(ec);
    const BeastRequest& header = parser_->get();
    method_ = std::string(header.method_string());
    target_ = std::string(header.target());
    version_ = header.version();
    head_ = header.method() == bhttp::verb::head;
    keep_alive_ = header.keep_alive();
    if (!authorized(header)) return answer_error(401, "missing or invalid bearer token");
    if (parser_->is_done()) return dispatch();
    if (wants_continue(header)) return send_continue();
    read_body();
  }

  [[nodiscard]] bool authorized(const BeastRequest& header) const {
    const auto& token = options().bearer_token;
    if (!token || token->empty()) return true;
    if (header.method() == bhttp::verb::get || header.method() == bhttp::verb::head) {
      const std::string_view target = header.target();
      const std::string_view path = target.substr(0, target.find('?'));
      const auto& public_paths = options().public_paths;
      if (std::find(public_paths.begin(), public_paths.end(), path) != public_paths.end()) {
        return true;
      }
    }
    const auto field = header.find(bhttp::field::authorization);
    if (field == header.end()) return false;
    const std::string_view value = field->value();
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() < kScheme.size() ||
        !beast::iequals(value.substr(0, kScheme.size()), kScheme)) {
      return false;
    }
    return same_secret(value.substr(kScheme.size()), *token);
  }

  [[nodiscard]] static bool wants_continue(const BeastRequest& header) {
    const auto field = header.find(bhttp::field::expect);
    return header.version() >= 11 && field != header.end() &&
           beast::iequals(field->value(), "100-continue");
  }

  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](const ErrorCode& ec, std::size_t) {
                       if (self->phase_ == Phase::kClosed) return;
                       if (ec) return self->close();
                       self->read_body();
                     });
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](const ErrorCode& ec, std::size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (ec) return self->on_read_error(ec);
                        self->dispatch();
                      });
  }

  void on_read_error(const ErrorCode& ec) {
    if (ec == bhttp::error::header_limit) {
      return answer_error(
          431, "request header exceeds " + std::to_string(options().max_header_bytes) + " bytes");
    }
    if (ec == bhttp::error::body_limit) {
      return answer_error(
          413, "request body exceeds " + std::to_string(options().max_body_bytes) + " bytes");
    }
    // A partial message means the client stopped sending: nobody to answer.
    if (is_http_error(ec) && ec != bhttp::error::partial_message &&
        ec != bhttp::error::end_of_stream) {
      return answer_error(400, "malformed request: " + ec.message());
    }
    close();  // time-out, reset, or the server is closing
  }

  void dispatch() {
    phase_ = Phase::kHandling;
    const std::uint64_t request = ++requests_;
    server_->handler().handle(to_core(parser_->release()),
                              [self = shared_from_this(), request](core::HttpResponse response) {
                                self->respond(request, std::move(response));
                              });
  }

  void respond(std::uint64_t request, core::HttpResponse response) {
    OF_CHECK(server_->io_context().get_executor().running_in_this_thread(),
             "an HTTP Respond was called off the executor's thread");
    if (phase_ == Phase::kClosed) return;
    OF_CHECK(request == requests_ && phase_ == Phase::kHandling,
             "an HTTP Respond was called twice for one request");
    const bool close_after = !keep_alive_ || server_->draining() || asks_to_close(response);
    write(to_beast(std::move(response)), close_after);
  }

  [[nodiscard]] static bool asks_to_close(const core::HttpResponse& response) {
    return std::any_of(response.headers.begin(), response.headers.end(), [](const auto& h) {
      return beast::iequals(h.name, "connection") && beast::iequals(h.value, "close");
    });
  }

  BeastResponse to_beast(core::HttpResponse response) {
    if (response.status < 200 || response.status > 599) {
      server_->log(core::Severity::kError, "http_invalid_status",
                   {{"target", target_}, {"status", response.status}});
      return error_response(500, "the handler answered with an invalid status");
    }
    BeastResponse out;
    out.version(version_);
    out.result(static_cast<unsigned>(response.status));
    for (const core::HttpHeader& header : response.headers) {
      if (is_framing_header(header.name)) continue;
      if (has_line_break(header.name) || has_line_break(header.value)) {
        server_->log(core::Severity::kError, "http_invalid_header",
                     {{"target", target_}, {"header", header.name}});
        continue;
      }
      out.insert(header.name, header.value);
    }
    if (response.status != 204 && response.status != 304) out.body() = std::move(response.body);
    return out;
  }

  [[nodiscard]] BeastResponse error_response(int status, std::string_view message) const {
    BeastResponse out;
    out.version(version_);
    out.result(static_cast<unsigned>(status));
    out.set(bhttp::field::content_type, "application/json");
    if (status == 401) out.set(bhttp::field::www_authenticate, "Bearer");
    out.body() = json_error(message);
    return out;
  }

  // Answers a request the handler never sees, then closes the connection.
  void answer_error(int status, std::string_view message) {
    write(error_response(status, message), /*close_after=*/true);
  }

  void write(BeastResponse response, bool close_after) {
    phase_ = Phase::kWriting;
    response_ = std::move(response);
    response_.keep_alive(!close_after);
    body_bytes_ = response_.body().size();
    if (head_) {
      // A HEAD answer tells the length of the body it leaves out.
      response_.content_length(body_bytes_);
      response_.body().clear();
    } else {
      response_.prepare_payload();
    }
    stream_.expires_after(options().write_timeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), close_after](const ErrorCode& ec, std::size_t) {
                         self->on_written(ec, close_after);
                       });
  }

  void on_written(const ErrorCode& ec, bool close_after) {
    const std::chrono::duration<double, std::milli> took = SteadyClock::now() - started_;
    server_->log(core::Severity::kInfo, "http_request",
                 {{"method", method_},
                  {"target", target_},
                  {"status", response_.result_int()},
                  {"duration_ms", took.count()},
                  {"bytes", body_bytes_}});
    if (phase_ == Phase::kClosed) return;
    if (ec) return close();
    if (close_after) return linger();
    await_request(/*deadline_set=*/false);
  }

  void linger() {
    // A server shutting down does not wait for slow clients.
    if (server_->draining()) return close();
    phase_ = Phase::kLingering;
    ErrorCode ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    buffer_.clear();
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](const ErrorCode& ec, std::size_t bytes) {
                              if (self->phase_ == Phase::kClosed) return;
                              self->lingered_bytes_ += bytes;
                              if (ec || self->lingered_bytes_ > kLingerBytes) return self->close();
                              self->drain();
                            });
  }

  std::shared_ptr<ServerCore> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  BeastResponse response_;
  Phase phase_ = Phase::kIdle;
  std::uint64_t requests_ = 0;
  std::size_t lingered_bytes_ = 0;

  // The request being served, for the response and the access log.
  SteadyClock::time_point started_;
  std::string method_;
  std::string target_;
  unsigned version_ = 11;
  bool head_ = false;
  bool keep_alive_ = true;
  std::size_t body_bytes_ = 0;
};

core::Result<> ServerCore::start() {
  OF_CHECK(!acceptor_.is_open() && !shutting_down_, "HttpServer::start is called once");
  ErrorCode ec;
  const auto address = net::ip::make_address(options_.bind_address, ec);
  if (ec) {
    return core::make_error(core::ErrorKind::kFatal, "bad_bind_address",
                            "not an IP address: " + options_.bind_address);
  }
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    ErrorCode ignored;
    acceptor_.close(ignored);
    return core::make_error(core::ErrorKind::kFatal, "bind_failed",
                            "cannot listen on " + options_.bind_address + ":" +
                                std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  accept();
  return {};
}

void ServerCore::accept() {
  acceptor_.async_accept([self = shared_from_this()](const ErrorCode& ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void ServerCore::on_accept(const ErrorCode& ec, tcp::socket socket) {
  if (shutting_down_) return;
  if (ec) {
    log(core::Severity::kWarn, "http_accept_failed", {{"error", ec.message()}});
    retry_timer_.expires_after(kAcceptRetry);
    retry_timer_.async_wait([self = shared_from_this()](const ErrorCode& wait_ec) {
      if (!wait_ec && !self->shutting_down_) self->accept();
    });
    return;
  }
  if (sessions_.size() >= options_.max_connections) {
    reject(std::move(socket));
  } else {
    std::make_shared<Session>(shared_from_this(), std::move(socket))->start();
  }
  accept();
}

void ServerCore::reject(tcp::socket socket) {
  log(core::Severity::kWarn, "http_connection_rejected", {{"connections", sessions_.size()}});
  auto rejected = std::make_shared<tcp::socket>(std::move(socket));
  net::async_write(*rejected, net::buffer(busy_answer()),
                   [rejected](const ErrorCode&, std::size_t) {
                     ErrorCode ignored;
                     rejected->shutdown(tcp::socket::shutdown_both, ignored);
                     rejected->close(ignored);
                   });
}

void ServerCore::shutdown(std::function<void()> on_done) {
  on_done_.push_back(std::move(on_done));
  if (!shutting_down_) {
    shutting_down_ = true;
    ErrorCode ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    for (Session* session : snapshot()) session->stop_if_idle();
    grace_timer_.expires_after(options_.shutdown_grace);
    grace_timer_.async_wait([weak = weak_from_this()](const ErrorCode& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->cut_off();
    });
  }
  maybe_finish();
}

void ServerCore::cut_off() {
  if (sessions_.empty()) return;
  log(core::Severity::kWarn, "http_shutdown_cut_off", {{"connections", sessions_.size()}});
  for (Session* session : snapshot()) session->close();
}

void ServerCore::maybe_finish() {
  if (!shutting_down_ || closed_ || !sessions_.empty() || on_done_.empty()) return;
  grace_timer_.cancel();
  net::post(io_context_, [callbacks = std::exchange(on_done_, {})] {
    for (const auto& callback : callbacks) {
      if (callback) callback();
    }
  });
}

void ServerCore::close() {
  closed_ = true;
  shutting_down_ = true;
  on_done_.clear();
  ErrorCode ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  grace_timer_.cancel();
  for (Session* session : snapshot()) session->close();
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerCore> core;
};

HttpServer::HttpServer(asio::Executor& executor, core::HttpHandler& handler,
                       HttpServerOptions options)
    : impl_(std::make_unique<Impl>(Impl{std::make_shared<ServerCore>(
          executor.native().io_context, handler, std::move(options))})) {}

HttpServer::~HttpServer() { impl_->core->close(); }

core::Result<> HttpServer::start() { return impl_->core->start(); }

std::uint16_t HttpServer::port() const { return impl_->core->port(); }

std::size_t HttpServer::connections() const { return impl_->core->connections(); }

void HttpServer::shutdown(std::function<void()> on_done) {
  impl_->core->shutdown(std::move(on_done));
}

}  // namespace orderflow::adapters::http
