// Look-alikes that the purity check must accept.
#include "core/ports/clock.h"
#include "core/ports/random.h"
Timestamp stamp(const Clock& clock) { return clock.now(); }
std::uint64_t roll(Random& random) { return random.uniform(6); }
int runtime(int threads_configured) { return threads_configured; }
