// The protocol-buffers wire format, by hand: enough to read and write ONNX files without a dependency.
// A message is a sequence of (field number, wire type, value); lengths are checked against the bytes
// that remain, so a truncated or corrupt file is an Error, never a read past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace pfld::io::pb {

enum WireType : int { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

// One field of a message as read: its number and type, and its value (the integer of a varint or fixed
// field, or the span of a length-delimited one).
struct Field {
  int number = 0;
  int wire = 0;
  std::uint64_t value = 0;
  const unsigned char* data = nullptr;
  std::size_t size = 0;

  float as_float() const {
    const auto bits = static_cast<std::uint32_t>(value);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  std::string as_string() const { return std::string(reinterpret_cast<const char*>(data), size); }
};

class Reader {
 public:
  Reader(const unsigned char* data, std::size_t size, const std::string* source)
      : p_(data), end_(data + size), source_(source) {}

  bool done() const { return p_ >= end_; }

  Field next() {
    Field f;
    const std::uint64_t key = read_varint();
    f.number = static_cast<int>(key >> 3);
    f.wire = static_cast<int>(key & 7);
    if (f.number <= 0) fail("field number 0");
    switch (f.wire) {
      case varint: f.value = read_varint(); break;
      case fixed64: f.value = read_fixed(8); break;
      case fixed32: f.value = read_fixed(4); break;
      case length_delimited: {
        const std::uint64_t n = read_varint();
        if (n > static_cast<std::uint64_t>(end_ - p_)) fail("a field of " + std::to_string(n) + " bytes runs past the end");
        f.data = p_;
        f.size = static_cast<std::size_t>(n);
        p_ += n;
        break;
      }
      default: fail("unsupported wire type " + std::to_string(f.wire));
    }
    return f;
  }

  // A reader over a length-delimited field's bytes (a nested message).
  Reader nested(const Field& f) const {
    if (f.wire != length_delimited) fail("field " + std::to_string(f.number) + " is not a message");
    return Reader(f.data, f.size, source_);
  }

  // Repeated numeric fields come packed (one length-delimited run) or one by one; both are read here.
  static void append_ints(const Field& f, std::vector<std::int64_t>& out, const std::string* source) {
    if (f.wire == varint) {
      out.push_back(static_cast<std::int64_t>(f.value));
      return;
    }
    Reader r(f.data, f.size, source);
    while (!r.done()) out.push_back(static_cast<std::int64_t>(r.read_varint()));
  }
  static void append_floats(const Field& f, std::vector<float>& out, const std::string* source) {
    if (f.wire == fixed32) {
      out.push_back(f.as_float());
      return;
    }
    if (f.wire != length_delimited || f.size % 4 != 0)
      detail::fail(source ? *source : std::string("protobuf"), ": a packed float field of ", f.size, " bytes");
    for (std::size_t i = 0; i < f.size; i += 4) {
      float v;
      std::memcpy(&v, f.data + i, 4);
      out.push_back(v);
    }
  }

  std::uint64_t read_varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) fail("a number runs past the end");
      const unsigned char b = *p_++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("a number longer than 10 bytes");
  }

 private:
  std::uint64_t read_fixed(int bytes) {
    if (end_ - p_ < bytes) fail("a fixed-size field runs past the end");
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p_[i]) << (8 * i);
    p_ += bytes;
    return v;
  }

  [[noreturn]] void fail(const std::string& what) const {
    detail::fail(source_ ? *source_ : std::string("protobuf"), ": ", what, " (truncated or not a protobuf file)");
  }

  const unsigned char* p_;
  const unsigned char* end_;
  const std::string* source_;
};

// Appends fields to a byte string; nested messages are written into their own Writer first.
class Writer {
 public:
  void varint_field(int number, std::uint64_t v) {
    key(number, varint);
    put_varint(v);
  }
  void float_field(int number, float v) {
    key(number, fixed32);
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<unsigned char>(bits >> (8 * i)));
  }
  void bytes_field(int number, const void* data, std::size_t size) {
    key(number, length_delimited);
    put_varint(size);
    const auto* p = static_cast<const unsigned char*>(data);
    out.insert(out.end(), p, p + size);
  }
  void string_field(int number, const std::string& s) { bytes_field(number, s.data(), s.size()); }
  void message_field(int number, const Writer& message) { bytes_field(number, message.out.data(), message.out.size()); }
  void packed_ints(int number, const std::vector<std::int64_t>& values) {
    Writer packed;
    for (std::int64_t v : values) packed.put_varint(static_cast<std::uint64_t>(v));
    message_field(number, packed);
  }

  std::vector<unsigned char> out;

 private:
  void key(int number, int wire) { put_varint(static_cast<std::uint64_t>(number) << 3 | static_cast<std::uint64_t>(wire)); }
  void put_varint(std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<unsigned char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<unsigned char>(v));
  }
};

}  // namespace pfld::io::pb
