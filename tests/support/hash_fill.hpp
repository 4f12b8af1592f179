// Deterministic tensor contents shared with tests/fixtures/hash_fill.py (see there for the rule):
// model fixtures hold only results, and both sides rebuild bit-identical weights and inputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <pfld/core/tensor.hpp>
#include <pfld/nn/layer.hpp>

namespace pfld::test {

inline std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char b : text) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

inline float hash_unit(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + i + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<float>(static_cast<std::int64_t>(z >> 54) - 512) / 512.0f;
}

inline void hash_fill_unit(Tensor& t, const std::string& name) {
  const std::uint64_t seed = fnv1a64(name);
  for (std::size_t i = 0; i < t.numel(); ++i) t[i] = hash_unit(seed, i);
}

inline void hash_fill_parameter(Tensor& t, const std::string& name) {
  hash_fill_unit(t, name);
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with("running_var")) {
    for (float& v : t) v = 1.0f + std::abs(v) / 2.0f;
  } else if (ends_with("bn.weight")) {
    for (float& v : t) v = 1.0f + v / 4.0f;
  } else if (t.rank() >= 2) {
    std::size_t fan_in = t.numel() / static_cast<std::size_t>(t.dim(0)), bits = 0;
    while (fan_in >> (bits + 1)) ++bits;  // floor(log2(fan_in))
    const float scale = std::ldexp(1.0f, -static_cast<int>(bits / 2));
    for (float& v : t) v *= scale;
  } else {
    for (float& v : t) v /= 4.0f;
  }
}

// Fills every parameter and buffer of a layer, under `prefix` + its name.
inline void hash_fill_layer(nn::Layer& layer, const std::string& prefix = "") {
  for (auto& p : layer.parameters()) hash_fill_parameter(*p.value, prefix + p.name);
  for (auto& b : layer.buffers()) hash_fill_parameter(*b.value, prefix + b.name);
}

}  // namespace pfld::test
