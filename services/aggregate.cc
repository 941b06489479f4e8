#include "services/aggregate.h"

namespace orderflow::services {

void append_framed(std::string& log, std::string_view record) {
  auto size = static_cast<std::uint64_t>(record.size());
  do {  // varint length
    auto byte = static_cast<char>(size & 0x7f);
    size >>= 7;
    if (size != 0) byte = static_cast<char>(byte | 0x80);
    log.push_back(byte);
  } while (size != 0);
  log.append(record);
}

std::vector<std::string_view> split_framed(std::string_view log) {
  std::vector<std::string_view> records;
  std::size_t at = 0;
  while (at < log.size()) {
    std::uint64_t size = 0;
    int shift = 0;
    unsigned char byte = 0;
    do {
      OF_CHECK(at < log.size() && shift < 64, "a framed log is truncated");
      byte = static_cast<unsigned char>(log[at++]);
      size |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      shift += 7;
    } while ((byte & 0x80) != 0);
    OF_CHECK(size <= log.size() - at, "a framed record runs past the log");
    records.push_back(log.substr(at, size));
    at += size;
  }
  return records;
}

}  // namespace orderflow::services
