#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace orderflow::core {
namespace {

void print_and_abort(std::string_view condition, std::string_view message,
                     const std::source_location& where) {
  std::fprintf(stderr, "invariant_broken check=\"%.*s\" message=\"%.*s\" at=%s:%u\n",
               static_cast<int>(condition.size()), condition.data(),
               static_cast<int>(message.size()), message.data(), where.file_name(),
               static_cast<unsigned>(where.line()));
  std::abort();
}

CheckHandler g_handler = &print_and_abort;

}  // namespace

CheckHandler set_check_handler(CheckHandler handler) {
  CheckHandler previous = g_handler;
  g_handler = handler;
  return previous;
}

void check_failed(std::string_view condition, std::string_view message,
                  const std::source_location& where) {
  g_handler(condition, message, where);
  std::abort();
}

}  // namespace orderflow::core
