// ONNX files as plain structs: the graph's nodes, float initializers and input/output shapes, read from
// and written to the protobuf wire format (onnx.proto field numbers) without the onnx library.
// Constant nodes are turned into initializers on reading.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "file_bytes.hpp"
#include "protobuf.hpp"

namespace pfld::io {

struct OnnxTensor {
  std::vector<std::int64_t> dims;
  std::vector<float> floats;       // FLOAT tensors
  std::vector<std::int64_t> ints;  // INT64 / INT32 tensors (shapes for Reshape)
  bool is_float = true;
  // The onnx.proto data type an integer tensor is written as: INT64 (7), INT32 (6), INT8 (3) or UINT8
  // (2, quantized models' weights and zero points). Parsed tensors keep INT64.
  int int_type = 7;
  std::size_t count() const {
    std::size_t n = 1;
    for (std::int64_t d : dims) n *= static_cast<std::size_t>(d);
    return n;
  }
};

struct OnnxAttribute {
  enum Type { unset = 0, float_ = 1, int_ = 2, string_ = 3, tensor = 4, floats_ = 6, ints_ = 7 };  // onnx.proto
  std::string name;
  int type = unset;
  float f = 0.0f;
  std::int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  OnnxTensor t;
};

struct OnnxNode {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;
  std::vector<OnnxAttribute> attributes;

  const OnnxAttribute* attribute(const std::string& n) const {
    for (const auto& a : attributes)
      if (a.name == n) return &a;
    return nullptr;
  }
  std::int64_t attr_int(const std::string& n, std::int64_t fallback) const {
    const OnnxAttribute* a = attribute(n);
    return a ? a->i : fallback;
  }
  float attr_float(const std::string& n, float fallback) const {
    const OnnxAttribute* a = attribute(n);
    return a ? a->f : fallback;
  }
  std::vector<std::int64_t> attr_ints(const std::string& n) const {
    const OnnxAttribute* a = attribute(n);
    return a ? a->ints : std::vector<std::int64_t>{};
  }
  // "Conv 'stage3.0.conv'" for messages.
  std::string describe() const { return op_type + " node '" + (name.empty() ? (outputs.empty() ? "?" : outputs[0]) : name) + "'"; }
};

struct OnnxValue {
  std::string name;
  std::vector<std::int64_t> shape;  // -1 where the file gives a symbol or nothing
};

struct OnnxModel {
  std::int64_t ir_version = 7;
  std::int64_t opset = 11;
  std::string producer;
  std::string graph_name;
  std::vector<OnnxNode> nodes;
  std::map<std::string, OnnxTensor> initializers;
  std::vector<OnnxValue> inputs, outputs;
};

namespace detail_onnx {

// onnx.proto TensorProto.DataType
constexpr int kFloat = 1, kUint8 = 2, kInt8 = 3, kInt32 = 6, kInt64 = 7;

inline OnnxTensor parse_tensor(pb::Reader r, const std::string& source, std::string* name) {
  OnnxTensor t;
  int type = kFloat;
  const unsigned char* raw = nullptr;
  std::size_t raw_size = 0;
  while (!r.done()) {
    const pb::Field f = r.next();
    switch (f.number) {
      case 1: pb::Reader::append_ints(f, t.dims, &source); break;
      case 2: type = static_cast<int>(f.value); break;
      case 4: pb::Reader::append_floats(f, t.floats, &source); break;
      case 5:
      case 7: pb::Reader::append_ints(f, t.ints, &source); break;
      case 8:
        if (name) *name = f.as_string();
        break;
      case 9: raw = f.data, raw_size = f.size; break;
      case 13: detail::fail(source, ": tensor data stored in an external file is not supported"); break;
      default: break;
    }
  }
  std::size_t count = 1;
  for (std::int64_t d : t.dims) {
    detail::require(d >= 0 && d < (1LL << 31), source, ": tensor dimension ", d, " is not plausible");
    count *= static_cast<std::size_t>(d);
    detail::require(count < (std::size_t{1} << 31), source, ": a tensor of more than 2^31 elements");
  }
  if (type == kFloat) {
    t.is_float = true;
    if (raw) {
      detail::require(raw_size == count * 4, source, ": float tensor of ", count, " elements has ", raw_size, " raw bytes");
      t.floats.resize(count);
      if (raw_size > 0) std::memcpy(t.floats.data(), raw, raw_size);  // an empty vector's data() may be null
    }
    detail::require(t.floats.size() == count, source, ": float tensor of ", count, " elements holds ", t.floats.size());
  } else if (type == kInt64 || type == kInt32) {
    t.is_float = false;
    if (raw) {
      const std::size_t width = type == kInt64 ? 8 : 4;
      detail::require(raw_size == count * width, source, ": integer tensor of ", count, " elements has ", raw_size,
                      " raw bytes");
      for (std::size_t i = 0; i < count; ++i) {
        std::int64_t v = 0;
        if (width == 8) {
          std::memcpy(&v, raw + 8 * i, 8);
        } else {
          std::int32_t w;
          std::memcpy(&w, raw + 4 * i, 4);
          v = w;
        }
        t.ints.push_back(v);
      }
    }
    detail::require(t.ints.size() == count, source, ": integer tensor of ", count, " elements holds ", t.ints.size());
  } else {
    detail::fail(source, ": tensor data type ", type, " is not supported (float, int32, int64)");
  }
  return t;
}

inline OnnxValue parse_value_info(pb::Reader r) {
  OnnxValue v;
  while (!r.done()) {
    const pb::Field f = r.next();
    if (f.number == 1) v.name = f.as_string();
    if (f.number != 2) continue;
    pb::Reader type = r.nested(f);
    while (!type.done()) {
      const pb::Field tf = type.next();
      if (tf.number != 1) continue;  // tensor_type
      pb::Reader tensor = type.nested(tf);
      while (!tensor.done()) {
        const pb::Field sf = tensor.next();
        if (sf.number != 2) continue;  // shape
        pb::Reader shape = tensor.nested(sf);
        while (!shape.done()) {
          const pb::Field df = shape.next();
          if (df.number != 1) continue;
          pb::Reader dim = shape.nested(df);
          std::int64_t value = -1;
          while (!dim.done()) {
            const pb::Field d = dim.next();
            if (d.number == 1) value = static_cast<std::int64_t>(d.value);
          }
          v.shape.push_back(value);
        }
      }
    }
  }
  return v;
}

inline OnnxAttribute parse_attribute(pb::Reader r, const std::string& source) {
  OnnxAttribute a;
  while (!r.done()) {
    const pb::Field f = r.next();
    switch (f.number) {
      case 1: a.name = f.as_string(); break;
      case 2: a.f = f.as_float(); break;
      case 3: a.i = static_cast<std::int64_t>(f.value); break;
      case 4: a.s = f.as_string(); break;
      case 5: a.t = parse_tensor(r.nested(f), source, nullptr); break;
      case 7: pb::Reader::append_floats(f, a.floats, &source); break;
      case 8: pb::Reader::append_ints(f, a.ints, &source); break;
      case 20: a.type = static_cast<int>(f.value); break;
      default: break;
    }
  }
  return a;
}

inline OnnxNode parse_node(pb::Reader r, const std::string& source) {
  OnnxNode n;
  while (!r.done()) {
    const pb::Field f = r.next();
    switch (f.number) {
      case 1: n.inputs.push_back(f.as_string()); break;
      case 2: n.outputs.push_back(f.as_string()); break;
      case 3: n.name = f.as_string(); break;
      case 4: n.op_type = f.as_string(); break;
      case 5: n.attributes.push_back(parse_attribute(r.nested(f), source)); break;
      case 7: n.domain = f.as_string(); break;
      default: break;
    }
  }
  return n;
}

}  // namespace detail_onnx

inline OnnxModel parse_onnx(const std::vector<unsigned char>& bytes, const std::string& source) {
  using namespace detail_onnx;
  OnnxModel m;
  pb::Reader r(bytes.data(), bytes.size(), &source);
  bool has_graph = false;
  m.opset = 0;
  while (!r.done()) {
    const pb::Field f = r.next();
    if (f.number == 1 && f.wire == pb::varint) m.ir_version = static_cast<std::int64_t>(f.value);
    if (f.number == 2 && f.wire == pb::length_delimited) m.producer = f.as_string();
    if (f.number == 8 && f.wire == pb::length_delimited) {  // opset_import
      pb::Reader o = r.nested(f);
      std::string domain;
      std::int64_t version = 0;
      while (!o.done()) {
        const pb::Field of = o.next();
        if (of.number == 1) domain = of.as_string();
        if (of.number == 2) version = static_cast<std::int64_t>(of.value);
      }
      if (domain.empty() || domain == "ai.onnx") m.opset = version;
    }
    if (f.number != 7 || f.wire != pb::length_delimited) continue;
    has_graph = true;
    pb::Reader g = r.nested(f);
    while (!g.done()) {
      const pb::Field gf = g.next();
      switch (gf.number) {
        case 1: m.nodes.push_back(parse_node(g.nested(gf), source)); break;
        case 2: m.graph_name = gf.as_string(); break;
        case 5: {
          std::string name;
          OnnxTensor t = parse_tensor(g.nested(gf), source, &name);
          m.initializers[name] = std::move(t);
          break;
        }
        case 11: m.inputs.push_back(parse_value_info(g.nested(gf))); break;
        case 12: m.outputs.push_back(parse_value_info(g.nested(gf))); break;
        default: break;
      }
    }
  }
  detail::require(has_graph, source, ": no graph (not an ONNX model file)");
  detail::require(!m.nodes.empty(), source, ": the graph has no nodes");
  // Constant nodes become initializers.
  std::vector<OnnxNode> kept;
  for (OnnxNode& n : m.nodes) {
    if (n.op_type == "Constant") {
      const OnnxAttribute* value = n.attribute("value");
      detail::require(value && n.outputs.size() == 1, source, ": ", n.describe(), " has no tensor value");
      m.initializers[n.outputs[0]] = value->t;
    } else {
      kept.push_back(std::move(n));
    }
  }
  m.nodes = std::move(kept);
  // Graph inputs that are initializers (older exporters list both) are not real inputs.
  std::vector<OnnxValue> inputs;
  for (auto& v : m.inputs)
    if (!m.initializers.count(v.name)) inputs.push_back(std::move(v));
  m.inputs = std::move(inputs);
  return m;
}

inline OnnxModel read_onnx(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  detail::require(!bytes.empty(), path, ": empty file");
  return parse_onnx(bytes, path);
}

namespace detail_onnx {

inline pb::Writer tensor_message(const std::string& name, const OnnxTensor& t) {
  pb::Writer w;
  w.packed_ints(1, t.dims);
  w.varint_field(2, static_cast<std::uint64_t>(t.is_float ? kFloat : t.int_type));
  w.string_field(8, name);
  if (t.is_float) {
    w.bytes_field(9, t.floats.data(), t.floats.size() * 4);
  } else if (t.int_type == kInt64) {
    w.bytes_field(9, t.ints.data(), t.ints.size() * 8);
  } else {
    // Little-endian values of the type's width, each range-checked (a value that does not fit is a bug).
    const std::size_t width = t.int_type == kInt32 ? 4 : 1;
    const std::int64_t lo = t.int_type == kInt32 ? std::numeric_limits<std::int32_t>::min() : t.int_type == kInt8 ? -128 : 0;
    const std::int64_t hi = t.int_type == kInt32 ? std::numeric_limits<std::int32_t>::max() : t.int_type == kInt8 ? 127 : 255;
    detail::require(t.int_type == kInt32 || t.int_type == kInt8 || t.int_type == kUint8, "onnx writer: integer type ",
                    t.int_type);
    std::vector<unsigned char> raw;
    for (std::int64_t v : t.ints) {
      detail::require(v >= lo && v <= hi, "onnx writer: ", name, " holds ", v, ", outside its type");
      for (std::size_t b = 0; b < width; ++b) raw.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(v) >> (8 * b)));
    }
    w.bytes_field(9, raw.data(), raw.size());
  }
  return w;
}

inline pb::Writer value_info_message(const OnnxValue& v) {
  pb::Writer shape;
  for (std::int64_t d : v.shape) {
    pb::Writer dim;
    dim.varint_field(1, static_cast<std::uint64_t>(d));
    shape.message_field(1, dim);
  }
  pb::Writer tensor;
  tensor.varint_field(1, kFloat);
  tensor.message_field(2, shape);
  pb::Writer type;
  type.message_field(1, tensor);
  pb::Writer w;
  w.string_field(1, v.name);
  w.message_field(2, type);
  return w;
}

}  // namespace detail_onnx

// The model as ONNX protobuf bytes (little-endian raw tensor data).
inline std::vector<unsigned char> serialize_onnx(const OnnxModel& m) {
  using namespace detail_onnx;
  pb::Writer graph;
  for (const OnnxNode& n : m.nodes) {
    pb::Writer node;
    for (const auto& s : n.inputs) node.string_field(1, s);
    for (const auto& s : n.outputs) node.string_field(2, s);
    node.string_field(3, n.name);
    node.string_field(4, n.op_type);
    for (const OnnxAttribute& a : n.attributes) {
      pb::Writer attr;
      attr.string_field(1, a.name);
      const int type = a.type != OnnxAttribute::unset ? a.type
                       : !a.ints.empty()                 ? OnnxAttribute::ints_
                                                         : OnnxAttribute::int_;
      switch (type) {
        case OnnxAttribute::ints_:
          for (std::int64_t v : a.ints) attr.varint_field(8, static_cast<std::uint64_t>(v));
          break;
        case OnnxAttribute::float_: attr.float_field(2, a.f); break;
        case OnnxAttribute::int_: attr.varint_field(3, static_cast<std::uint64_t>(a.i)); break;
        case OnnxAttribute::string_: attr.string_field(4, a.s); break;
        default: detail::fail("write_onnx: attribute '", a.name, "' of type ", type, " cannot be written");
      }
      attr.varint_field(20, static_cast<std::uint64_t>(type));
      node.message_field(5, attr);
    }
    graph.message_field(1, node);
  }
  graph.string_field(2, m.graph_name.empty() ? "pfld" : m.graph_name);
  for (const auto& [name, t] : m.initializers) graph.message_field(5, tensor_message(name, t));
  for (const OnnxValue& v : m.inputs) graph.message_field(11, value_info_message(v));
  for (const OnnxValue& v : m.outputs) graph.message_field(12, value_info_message(v));
  pb::Writer model;
  model.varint_field(1, static_cast<std::uint64_t>(m.ir_version));
  model.string_field(2, m.producer.empty() ? "pfld" : m.producer);
  model.message_field(7, graph);
  pb::Writer opset;
  opset.string_field(1, "");
  opset.varint_field(2, static_cast<std::uint64_t>(m.opset));
  model.message_field(8, opset);
  return model.out;
}

inline void write_onnx(const std::string& path, const OnnxModel& m) {
  const std::vector<unsigned char> bytes = serialize_onnx(m);
  std::ofstream out(path, std::ios::binary);
  detail::require(bool(out), path, ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  detail::require(bool(out), path, ": write failed");
}

}  // namespace pfld::io
