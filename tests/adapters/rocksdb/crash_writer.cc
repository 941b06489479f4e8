// `crash_writer DIR BUFFER_BYTES OP...`: changes the store "orders" in DIR, then dies
// by SIGKILL with everything open, as a crashing process would. Ops: `put:KEY=VALUE`,
// `erase:KEY`, `checkpoint:OFFSET`, `take`. Test helper for rocksdb_state_store_test.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/rocksdb/rocksdb_state_store.h"

namespace {

using orderflow::adapters::rocksdb::RocksDbEnvironment;

bool run(orderflow::core::StateStore& store, std::string_view op) {
  const auto colon = op.find(':');
  const std::string_view verb = op.substr(0, colon);
  const std::string_view arg = colon == op.npos ? "" : op.substr(colon + 1);
  if (verb == "put") {
    const auto equals = arg.find('=');
    if (equals == arg.npos) return false;
    store.put(arg.substr(0, equals), arg.substr(equals + 1));
  } else if (verb == "erase") {
    store.erase(arg);
  } else if (verb == "checkpoint") {
    store.set_checkpoint(orderflow::core::Offset{std::stoll(std::string(arg))});
  } else if (verb == "take") {
    (void)store.take_changes();
  } else {
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crash_writer DIR BUFFER_BYTES OP...\n");
    return 2;
  }
  auto env = RocksDbEnvironment::open(argv[1], {.max_buffered_bytes = std::stoull(argv[2])});
  if (!env) {
    std::fprintf(stderr, "crash_writer: %s\n", env.error().message.c_str());
    return 1;
  }
  auto store = (*env)->open_store("orders");
  for (int i = 3; i < argc; ++i) {
    if (!run(*store, argv[i])) {
      std::fprintf(stderr, "crash_writer: bad op %s\n", argv[i]);
      return 2;
    }
  }
  std::raise(SIGKILL);
  return 1;
}
