#include "tests/adapters/http/raw_client.h"

#include <cctype>
#include <cerrno>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace orderflow::adapters::http::test_support {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string RawResponse::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

RawClient::RawClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  timeval timeout{};
  timeout.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kSafetyTimeout).count();
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
}

RawClient::~RawClient() { ::close(fd_); }

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

bool RawClient::fill() {
  char chunk[4096];
  const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
  if (got <= 0) return false;
  pending_.append(chunk, static_cast<std::size_t>(got));
  return true;
}

std::optional<RawResponse> RawClient::read_response(bool head) {
  std::size_t header_end;
  while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  const std::string head_text = pending_.substr(0, header_end + 2);
  pending_.erase(0, header_end + 4);

  RawResponse response;
  std::size_t line_end = head_text.find("\r\n");
  const std::string status_line = head_text.substr(0, line_end);
  response.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
  for (std::size_t start = line_end + 2; start < head_text.size(); start = line_end + 2) {
    line_end = head_text.find("\r\n", start);
    const std::string_view line(head_text.data() + start, line_end - start);
    const std::size_t colon = line.find(':');
    response.headers[lower(line.substr(0, colon))] = std::string(trim(line.substr(colon + 1)));
  }

  const std::string length = response.header("content-length");
  const std::size_t body_size = head || length.empty() ? 0 : std::stoul(length);
  while (pending_.size() < body_size) {
    if (!fill()) return std::nullopt;
  }
  response.body = pending_.substr(0, body_size);
  pending_.erase(0, body_size);
  return response;
}

bool RawClient::wait_closed() {
  if (!pending_.empty()) return false;
  char byte;
  const ssize_t got = ::recv(fd_, &byte, 1, 0);
  if (got == 0) return true;
  if (got < 0) return errno == ECONNRESET;
  pending_.push_back(byte);
  return false;
}

bool RawClient::readable(std::chrono::milliseconds timeout) {
  if (!pending_.empty()) return true;
  pollfd entry{fd_, POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(timeout.count())) > 0;
}

std::string get_request(std::string_view target, std::string_view extra) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

std::string post_request(std::string_view target, std::string_view body, std::string_view extra) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

}  // namespace orderflow::adapters::http::test_support
