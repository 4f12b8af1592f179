// pfld's model file: one versioned binary format for weights and training checkpoints.
//
// Layout (little-endian):
//   "PFLDMODL"                     8-byte magic
//   u32 format version (1 or 2)    other versions are rejected, not guessed at
//   u32 kind                       1 = weights, 2 = checkpoint (weights + optimiser state + progress)
//   f32 width, i32 landmarks, i32 input size, u32 activation     the ModelConfig
//   u32 n, n x (str key, str value)                               metadata (epoch, optimiser, ...)
//   u32 n, n x (str name, [u32 element,] u32 rank, rank x i32 dims, data)    named tensors
// Version 1: every tensor f32 (no element field). Version 2, written when a tensor is stored as bytes
// (an int8 model's weights): element 0 = f32 data, 1 = s8 data (one signed byte per value).
//   u32 CRC-32 of every byte before it
// where str = u32 length + UTF-8 bytes. Readers check every length against the bytes that remain, so
// a truncated or corrupt file is an Error that names the file and what is wrong, never a crash.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"
#include "../model/config.hpp"
#include "crc32.hpp"
#include "file_bytes.hpp"

namespace pfld::io {

struct ModelFile {
  enum class Kind : std::uint32_t { weights = 1, checkpoint = 2 };
  static constexpr std::uint32_t kVersion = 2;  // the newest this build reads (and writes when it must)

  Kind kind = Kind::weights;
  ModelConfig config;
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, Tensor>> tensors;
  // The tensors stored as signed bytes: their values must be whole numbers in [-128, 127] (an int8
  // model's weights); in memory they are floats like the others.
  std::set<std::string> byte_tensors;

  const Tensor* find(const std::string& name) const {
    for (const auto& [n, t] : tensors)
      if (n == name) return &t;
    return nullptr;
  }

  std::vector<unsigned char> serialize() const {
    Writer w;
    w.bytes("PFLDMODL", 8);
    const std::uint32_t version = byte_tensors.empty() ? 1 : 2;  // (files without bytes stay readable by older builds)
    w.u32(version);
    w.u32(static_cast<std::uint32_t>(kind));
    w.f32(config.width);
    w.u32(static_cast<std::uint32_t>(config.landmarks));
    w.u32(static_cast<std::uint32_t>(config.input_size));
    w.u32(static_cast<std::uint32_t>(config.activation));
    w.u32(static_cast<std::uint32_t>(metadata.size()));
    for (const auto& [key, value] : metadata) {
      w.str(key);
      w.str(value);
    }
    w.u32(static_cast<std::uint32_t>(tensors.size()));
    for (const auto& [name, t] : tensors) {
      w.str(name);
      const bool bytes = byte_tensors.count(name) > 0;
      if (version == 2) w.u32(bytes ? 1 : 0);
      w.u32(static_cast<std::uint32_t>(t.rank()));
      for (int a = 0; a < t.rank(); ++a) w.u32(static_cast<std::uint32_t>(t.dim(a)));
      if (!bytes) {
        for (float v : t) w.f32(v);
        continue;
      }
      for (float v : t) {
        detail::require(v >= -128.0f && v <= 127.0f && v == std::floor(v), "model file: tensor ", name,
                        " is stored as bytes, but holds ", v);
        w.out.push_back(static_cast<unsigned char>(static_cast<std::int8_t>(v)));
      }
    }
    for (const std::string& name : byte_tensors)
      detail::require(find(name) != nullptr, "model file: byte tensor ", name, " is not among the tensors");
    w.u32(crc32(w.out.data(), w.out.size()));
    return std::move(w.out);
  }

  static ModelFile parse(const std::vector<unsigned char>& bytes, const std::string& source) {
    Reader in{bytes.data(), 0, bytes.size(), source};
    in.need(8 + 4 + 4, "header");
    detail::require(std::memcmp(bytes.data(), "PFLDMODL", 8) == 0, source, ": not a pfld model file (bad magic)");
    in.pos = 8;
    const std::uint32_t version = in.u32("version");
    detail::require(version >= 1 && version <= kVersion, source, ": format version ", version,
                    ", this build reads versions 1 to ", kVersion);
    // The checksum covers everything before its own 4 bytes; the reader stops there.
    in.end = bytes.size() - 4;
    Reader crc_field{bytes.data(), in.end, bytes.size(), source};
    detail::require(crc32(bytes.data(), in.end) == crc_field.u32("checksum"), source,
                    ": checksum mismatch (the file is corrupt or truncated)");

    ModelFile f;
    const std::uint32_t kind = in.u32("kind");
    detail::require(kind == 1 || kind == 2, source, ": unknown content kind ", kind);
    f.kind = static_cast<Kind>(kind);
    f.config.width = in.f32("config.width");
    f.config.landmarks = static_cast<int>(in.u32("config.landmarks"));
    f.config.input_size = static_cast<int>(in.u32("config.input_size"));
    const std::uint32_t act = in.u32("config.activation");
    detail::require(act <= 2, source, ": unknown activation code ", act);
    f.config.activation = static_cast<Activation>(act);
    try {
      f.config.validate();
    } catch (const Error& e) {
      detail::fail(source, ": ", e.what());
    }
    const std::uint32_t meta = in.u32("metadata count");
    for (std::uint32_t i = 0; i < meta; ++i) {
      std::string key = in.str("metadata key");
      f.metadata[key] = in.str("metadata value");
    }
    const std::uint32_t count = in.u32("tensor count");
    std::set<std::string> names;
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::string name = in.str("tensor name");
      detail::require(names.insert(name).second, source, ": tensor ", name, " appears twice");
      const std::uint32_t element = version == 2 ? in.u32("element type of " + name) : 0;
      detail::require(element <= 1, source, ": tensor ", name, " has unknown element type ", element);
      const std::uint32_t rank = in.u32("rank of " + name);
      detail::require(rank >= 1 && rank <= 4, source, ": tensor ", name, " has rank ", rank);
      int dims[4] = {1, 1, 1, 1};
      for (std::uint32_t a = 0; a < rank; ++a) {
        const std::uint32_t d = in.u32("shape of " + name);
        detail::require(d >= 1 && d <= (1u << 24), source, ": tensor ", name, " has dimension ", d);
        dims[a] = static_cast<int>(d);
      }
      Shape shape;
      try {
        shape = rank == 1 ? Shape{dims[0]}
                : rank == 2 ? Shape{dims[0], dims[1]}
                : rank == 3 ? Shape{dims[0], dims[1], dims[2]}
                            : Shape{dims[0], dims[1], dims[2], dims[3]};
      } catch (const Error& e) {
        detail::fail(source, ": tensor ", name, ": ", e.what());
      }
      // The data must be in the file before anything is allocated for it.
      in.need(static_cast<std::uint64_t>(shape.numel()) * (element == 1 ? 1 : 4), "data of " + name);
      Tensor t(shape);
      if (element == 1) {
        in.s8_array(t.data(), t.numel());
        f.byte_tensors.insert(name);
      } else {
        in.f32_array(t.data(), t.numel());
      }
      f.tensors.emplace_back(name, std::move(t));
    }
    detail::require(in.pos == in.end, source, ": ", in.end - in.pos, " unexpected bytes after the tensors");
    return f;
  }

  void save(const std::string& path) const {
    const std::vector<unsigned char> bytes = serialize();
    // Write to a temporary name first, so an interrupted save never leaves a half-written file behind.
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      detail::require(bool(out), path, ": cannot open for writing");
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      detail::require(bool(out), path, ": write failed");
    }
    detail::require(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot replace the file");
  }

  static ModelFile load(const std::string& path) {
    return parse(read_file_bytes(path), path);
  }

 private:
  struct Writer {
    std::vector<unsigned char> out;
    void bytes(const void* p, std::size_t n) {
      const auto* b = static_cast<const unsigned char*>(p);
      out.insert(out.end(), b, b + n);
    }
    void u32(std::uint32_t v) {
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
    }
    void f32(float v) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, 4);
      u32(bits);
    }
    void str(const std::string& s) {
      u32(static_cast<std::uint32_t>(s.size()));
      bytes(s.data(), s.size());
    }
  };

  // Reads [pos, end) of a byte buffer; every read is checked against end first.
  struct Reader {
    const unsigned char* data;
    std::size_t pos, end;
    const std::string& source;

    void need(std::uint64_t n, const std::string& what) const {
      detail::require(pos <= end && n <= end - pos, source, ": truncated while reading ", what, " at byte ", pos);
    }
    std::uint32_t u32(const std::string& what) {
      need(4, what);
      return take_u32();
    }
    float f32(const std::string& what) {
      need(4, what);
      return as_float(take_u32());
    }
    // n floats; the caller has checked need(4 * n).
    void f32_array(float* out, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) out[i] = as_float(take_u32());
    }
    // n signed bytes as floats; the caller has checked need(n).
    void s8_array(float* out, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<std::int8_t>(data[pos++]));
    }
    std::string str(const std::string& what) {
      const std::uint32_t n = u32(what);
      detail::require(n <= 4096, source, ": ", what, " claims ", n, " bytes");
      need(n, what);
      std::string s(reinterpret_cast<const char*>(data + pos), n);
      pos += n;
      return s;
    }

   private:
    std::uint32_t take_u32() {
      std::uint32_t v = 0;
      for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(data[pos + static_cast<std::size_t>(i)]) << (8 * i);
      pos += 4;
      return v;
    }
    static float as_float(std::uint32_t bits) {
      float v;
      std::memcpy(&v, &bits, 4);
      return v;
    }
  };
};

}  // namespace pfld::io
