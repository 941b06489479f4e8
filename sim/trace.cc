#include "sim/trace.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/overloaded.h"

namespace orderflow::sim {
namespace {

// FNV-1a over the canonical bytes of an event, then a final avalanche so that
// neighbouring events do not produce related hashes.
class Hasher {
 public:
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  void text(std::string_view s) {
    word(s.size());
    bytes(s.data(), s.size());
  }
  void word(std::uint64_t v) { bytes(&v, sizeof v); }
  [[nodiscard]] std::uint64_t finish() const {
    std::uint64_t z = h_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

TraceField copy_field(const core::Field& f) {
  TraceField out{std::string(f.name), std::int64_t{0}};
  std::visit(core::Overloaded{
                 [&](std::string_view v) { out.value = std::string(v); },
                 [&](auto v) { out.value = v; },
             },
             f.value);
  return out;
}

void hash_field(Hasher& h, const TraceField& f) {
  h.text(f.name);
  h.word(f.value.index());
  std::visit(core::Overloaded{
                 [&](std::int64_t v) { h.word(static_cast<std::uint64_t>(v)); },
                 [&](double v) {
                   std::uint64_t bits = 0;
                   std::memcpy(&bits, &v, sizeof bits);
                   h.word(bits);
                 },
                 [&](bool v) { h.word(v ? 1 : 0); },
                 [&](const std::string& v) { h.text(v); },
             },
             f.value);
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string value_text(const TraceField& f, bool json) {
  return std::visit(
      core::Overloaded{
          [](std::int64_t v) { return std::to_string(v); },
          [json](double v) {
            // JSON has no NaN or infinity: they travel as strings.
            if (!std::isfinite(v)) {
              const char* name = std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
              return json ? "\"" + std::string(name) + "\"" : std::string(name);
            }
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", v);
            return std::string(buf);
          },
          [](bool v) { return std::string(v ? "true" : "false"); },
          [&](const std::string& v) {
            std::string out;
            const bool plain = !v.empty() && std::none_of(v.begin(), v.end(), [](char c) {
              return c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20;
            });
            if (json || !plain) {
              append_json_string(out, v);
            } else {
              out = v;
            }
            return out;
          },
      },
      f.value);
}

}  // namespace

std::string to_text(const TraceEvent& event, core::Timestamp start) {
  const auto us = (event.time - start).count();
  char stamp[48];
  std::snprintf(stamp, sizeof stamp, "#%llu +%lld.%06llds ",
                static_cast<unsigned long long>(event.index),
                static_cast<long long>(us / 1'000'000), static_cast<long long>(us % 1'000'000));
  std::string out = stamp;
  out += event.process;
  out += ' ';
  if (event.severity >= core::Severity::kWarn) {
    out += to_string(event.severity);
    out += ' ';
  }
  out += event.name;
  for (const auto& f : event.fields) {
    out += ' ';
    out += f.name;
    out += '=';
    out += value_text(f, false);
  }
  return out;
}

std::string to_json(const TraceEvent& event) {
  std::string out = "{\"i\":" + std::to_string(event.index) +
                    ",\"t_us\":" + std::to_string(event.time.time_since_epoch().count()) +
                    ",\"process\":";
  append_json_string(out, event.process);
  out += ",\"severity\":\"";
  out += to_string(event.severity);
  out += "\",\"event\":";
  append_json_string(out, event.name);
  for (const auto& f : event.fields) {
    out += ',';
    append_json_string(out, f.name);
    out += ':';
    out += value_text(f, true);
  }
  out += '}';
  return out;
}

void Trace::record(core::Timestamp time, std::string_view process, core::Severity severity,
                   std::string_view name, std::span<const core::Field> fields) {
  TraceEvent event{event_hashes_.size(), time, std::string(process), severity,
                   std::string(name),    {}};
  event.fields.reserve(fields.size());
  for (const auto& f : fields) event.fields.push_back(copy_field(f));

  Hasher h;
  h.word(static_cast<std::uint64_t>(time.time_since_epoch().count()));
  h.text(event.process);
  h.word(static_cast<std::uint64_t>(severity));
  h.text(event.name);
  for (const auto& f : event.fields) hash_field(h, f);
  const std::uint64_t event_hash = h.finish();
  event_hashes_.push_back(event_hash);
  hash_ = (hash_ ^ event_hash) * 0x100000001b3ULL + (hash_ >> 29);

  if (sink_) sink_(event);
  if (keep_recent_ == 0) return;
  recent_.push_back(std::move(event));
  if (recent_.size() > keep_recent_) recent_.pop_front();
}

}  // namespace orderflow::sim
