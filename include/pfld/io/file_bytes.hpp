// Reading a whole file into memory: the one way pfld's binary and XML readers take their files in.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace pfld::io {

// The largest file a reader takes in by default: 2 GiB, beyond any model, cascade or photo pfld reads,
// so that a path to a huge file (a disk image, /dev/zero's like) is an Error, not a 2 GiB-plus allocation.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{2} << 30;

// The file's bytes; an Error naming the file when it cannot be opened or read, or holds more than
// `max_bytes`.
inline std::vector<unsigned char> read_file_bytes(const std::string& path, std::uint64_t max_bytes = kMaxFileBytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  detail::require(bool(in), path, ": cannot open (missing or unreadable)");
  const std::streamoff size = in.tellg();
  detail::require(size >= 0, path, ": cannot read (not a regular file?)");
  detail::require(static_cast<std::uint64_t>(size) <= max_bytes, path, ": ", size, " bytes, more than the ",
                  max_bytes, " this reader takes");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  detail::require(bool(in) || bytes.empty(), path, ": read failed");
  return bytes;
}

}  // namespace pfld::io
