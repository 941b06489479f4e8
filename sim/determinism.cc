#include "sim/determinism.h"

#include <vector>

#include "sim/kernel.h"

namespace orderflow::sim {

std::optional<Divergence> find_divergence(const std::function<void(const Trace::Sink&)>& run) {
  auto capture = [&run] {
    std::vector<std::string> events;
    run([&events](const TraceEvent& e) { events.push_back(to_text(e, kSimEpoch)); });
    return events;
  };
  const auto first = capture();
  const auto second = capture();
  const std::size_t common = std::min(first.size(), second.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (first[i] != second[i]) return Divergence{i, first[i], second[i]};
  }
  if (first.size() == second.size()) return std::nullopt;
  return Divergence{common, common < first.size() ? first[common] : "<none>",
                    common < second.size() ? second[common] : "<none>"};
}

}  // namespace orderflow::sim
