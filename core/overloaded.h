// `Overloaded{f, g, ...}` builds one visitor for `std::visit` out of lambdas.
#pragma once

namespace orderflow::core {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};

}  // namespace orderflow::core
