// What every fuzz target shares: pfld::Error is the expected answer to bad input, anything else that
// escapes (another exception, a signal, a sanitizer report, an allocation over -malloc_limit_mb) is a
// bug that libFuzzer reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <pfld/core/error.hpp>
#include <pfld/io/crc32.hpp>

namespace fuzz {

template <class Body>
int expect_error_or_success(Body&& body) {
  try {
    body();
  } catch (const pfld::Error&) {
  }
  return 0;
}

// The input with its last 4 bytes replaced by the CRC-32 of the bytes before them, as a pfld model file
// ends: mutations then reach the parser behind the checksum instead of failing it.
inline std::vector<unsigned char> with_model_file_checksum(const std::uint8_t* data, std::size_t size) {
  std::vector<unsigned char> bytes(data, data + size);
  if (bytes.size() >= 4) {
    const std::uint32_t crc = pfld::io::crc32(bytes.data(), bytes.size() - 4);
    for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + static_cast<std::size_t>(i)] = static_cast<unsigned char>(crc >> (8 * i));
  }
  return bytes;
}

}  // namespace fuzz
