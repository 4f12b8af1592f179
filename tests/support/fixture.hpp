// Reads the tensor fixtures written by tests/fixtures/make_*_fixtures.py (format in those scripts).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <pfld/core/error.hpp>
#include <pfld/core/tensor.hpp>

#include "compare.hpp"

namespace pfld::test {

class Fixture {
 public:
  explicit Fixture(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    detail::require(bool(in), "fixture ", path, ": cannot open");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t pos = 0;
    auto take = [&](void* dst, std::size_t n) {
      detail::require(pos + n <= bytes.size(), "fixture ", path, ": truncated at byte ", pos);
      std::memcpy(dst, bytes.data() + pos, n);
      pos += n;
    };
    char magic[4];
    take(magic, 4);
    detail::require(std::memcmp(magic, "PFXT", 4) == 0, "fixture ", path, ": bad magic");
    std::uint32_t version = 0, count = 0;
    take(&version, 4);
    take(&count, 4);
    detail::require(version == 1, "fixture ", path, ": unsupported version ", version);
    for (std::uint32_t i = 0; i < count; ++i) {
      std::uint32_t name_len = 0, rank = 0;
      take(&name_len, 4);
      std::string name(name_len, '\0');
      take(name.data(), name_len);
      take(&rank, 4);
      detail::require(rank >= 1 && rank <= 4, "fixture ", path, ": tensor ", name, " has rank ", rank);
      std::int32_t dims[4] = {1, 1, 1, 1};
      take(dims, 4 * rank);
      Shape shape = rank == 1 ? Shape{dims[0]}
                    : rank == 2 ? Shape{dims[0], dims[1]}
                    : rank == 3 ? Shape{dims[0], dims[1], dims[2]}
                                : Shape{dims[0], dims[1], dims[2], dims[3]};
      Tensor t(shape);
      take(t.data(), t.numel() * sizeof(float));
      tensors_[name] = t;
    }
  }

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }

  const Tensor& operator[](const std::string& name) const {
    auto it = tensors_.find(name);
    detail::require(it != tensors_.end(), "fixture has no tensor '", name, "'");
    return it->second;
  }

 private:
  std::map<std::string, Tensor> tensors_;
};

inline std::string fixture_path(const std::string& file) { return std::string(PFLD_TEST_FIXTURES_DIR) + "/" + file; }

}  // namespace pfld::test
