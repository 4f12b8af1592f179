// What pfld's ONNX import accepts of each op, as data: how many inputs and outputs a node has, and for
// every attribute the importer reads, its type, how many values it holds and their range. Every node is
// checked against this before the importer reads it, so an attribute list of the wrong length, a zero
// stride or a kernel of 2^40 is an Error naming the node, never an out-of-bounds read, a division by
// zero or an int overflow further on.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../io/onnx_model.hpp"

namespace pfld {
inline namespace infer {

namespace detail_onnx_schema {

// Spatial sizes (kernels, strides, pads) up to this; far beyond any network pfld runs, and small enough
// that no sum or product of them overflows an int.
constexpr std::int64_t kMaxSpatial = 255;

struct AttributeRule {
  const char* name;
  int type;  // io::OnnxAttribute::Type
  std::size_t min_count = 1, max_count = 1;  // values of a list (ints_), 1 for a single value
  std::int64_t lo = 0, hi = 0;                // range of integer values
  bool required = false;
};

struct OpRule {
  const char* op;
  std::size_t min_inputs, max_inputs, min_outputs, max_outputs;
  std::vector<AttributeRule> attributes;
};

inline AttributeRule ints(const char* name, std::size_t count, std::int64_t lo, std::int64_t hi, bool required = false) {
  return {name, io::OnnxAttribute::ints_, count, count, lo, hi, required};
}
inline AttributeRule integer(const char* name, std::int64_t lo, std::int64_t hi) {
  return {name, io::OnnxAttribute::int_, 1, 1, lo, hi, false};
}
inline AttributeRule real(const char* name) { return {name, io::OnnxAttribute::float_, 1, 1, 0, 0, false}; }
inline AttributeRule text(const char* name) { return {name, io::OnnxAttribute::string_, 1, 1, 0, 0, false}; }

inline const std::vector<OpRule>& op_rules() {
  constexpr std::int64_t S = kMaxSpatial;
  static const std::vector<OpRule> rules = {
      {"Conv", 2, 3, 1, 1,
       {ints("kernel_shape", 2, 1, S), ints("strides", 2, 1, S), ints("pads", 4, 0, S), ints("dilations", 2, 1, S),
        integer("group", 1, 1 << 16), text("auto_pad")}},
      {"BatchNormalization", 5, 5, 1, 5, {real("epsilon"), real("momentum"), integer("training_mode", 0, 0)}},
      {"Relu", 1, 1, 1, 1, {}},
      {"Clip", 1, 3, 1, 1, {real("min"), real("max")}},
      {"Add", 2, 2, 1, 1, {}},
      {"GlobalAveragePool", 1, 1, 1, 1, {}},
      {"MaxPool", 1, 1, 1, 2,
       {ints("kernel_shape", 2, 1, S, true), ints("strides", 2, 1, S), ints("pads", 4, 0, S), ints("dilations", 2, 1, 1),
        integer("ceil_mode", 0, 1), integer("storage_order", 0, 1), text("auto_pad")}},
      {"AveragePool", 1, 1, 1, 1,
       {ints("kernel_shape", 2, 1, S, true), ints("strides", 2, 1, S), ints("pads", 4, 0, S), integer("ceil_mode", 0, 1),
        integer("count_include_pad", 0, 1), text("auto_pad")}},
      {"Concat", 1, 256, 1, 1, {integer("axis", -4, 3)}},
      {"Flatten", 1, 1, 1, 1, {integer("axis", -4, 4)}},
      {"Reshape", 2, 2, 1, 1, {integer("allowzero", 0, 1)}},
      {"Gemm", 2, 3, 1, 1, {real("alpha"), real("beta"), integer("transA", 0, 1), integer("transB", 0, 1)}},
      {"MatMul", 2, 2, 1, 1, {}},
      {"Identity", 1, 1, 1, 1, {}},
      {"Dropout", 1, 3, 1, 2, {real("ratio"), integer("seed", INT64_MIN, INT64_MAX)}},
      {"Pad", 1, 3, 1, 1, {ints("pads", 8, -S, S), text("mode"), real("value")}},
      {"Sigmoid", 1, 1, 1, 1, {}},
      {"Transpose", 1, 1, 1, 1, {ints("perm", 4, 0, 3, true)}},
      // Shape arithmetic, folded into constants at import (the input size is known then).
      {"Shape", 1, 1, 1, 1, {integer("start", 0, 0)}},
      {"Gather", 2, 2, 1, 1, {integer("axis", 0, 0)}},
      {"Unsqueeze", 1, 2, 1, 1, {AttributeRule{"axes", io::OnnxAttribute::ints_, 1, 8, -8, 8, false}}},
      {"Resize", 1, 4, 1, 1,
       {text("mode"), text("coordinate_transformation_mode"), text("nearest_mode"), real("cubic_coeff_a"),
        integer("exclude_outside", 0, 1), real("extrapolation_value")}},
  };
  return rules;
}

inline const char* type_name(int type) {
  switch (type) {
    case io::OnnxAttribute::float_: return "a float";
    case io::OnnxAttribute::int_: return "an integer";
    case io::OnnxAttribute::string_: return "a string";
    case io::OnnxAttribute::ints_: return "a list of integers";
    default: return "another type";
  }
}

}  // namespace detail_onnx_schema

// Checks a node against the rules of its op (an op without rules is left to the importer, which names
// it as unsupported). Attributes the importer does not read are not checked.
inline void validate_onnx_node(const io::OnnxNode& n, const std::string& source) {
  using namespace detail_onnx_schema;
  const OpRule* rule = nullptr;
  for (const OpRule& r : op_rules())
    if (n.op_type == r.op) rule = &r;
  if (!rule) return;
  const std::string node = source + ": " + n.describe();
  detail::require(n.inputs.size() >= rule->min_inputs && n.inputs.size() <= rule->max_inputs, node, " has ",
                  n.inputs.size(), " inputs; ", n.op_type, " takes ", rule->min_inputs, " to ", rule->max_inputs);
  detail::require(n.outputs.size() >= rule->min_outputs && n.outputs.size() <= rule->max_outputs, node, " has ",
                  n.outputs.size(), " outputs; ", n.op_type, " gives ", rule->min_outputs, " to ", rule->max_outputs);
  detail::require(!n.inputs[0].empty() && !n.outputs[0].empty(), node, ": its first input or output has no name");
  for (const AttributeRule& a : rule->attributes) {
    const io::OnnxAttribute* found = n.attribute(a.name);
    if (!found) {
      detail::require(!a.required, node, " lacks its attribute '", a.name, "'");
      continue;
    }
    // Files from older exporters leave the type out; the value must then be where the type puts it.
    detail::require(found->type == a.type || found->type == io::OnnxAttribute::unset, node, ": attribute '", a.name,
                    "' is ", type_name(found->type), ", not ", type_name(a.type));
    switch (a.type) {
      case io::OnnxAttribute::ints_:
        detail::require(found->ints.size() >= a.min_count && found->ints.size() <= a.max_count, node, ": attribute '",
                        a.name, "' holds ", found->ints.size(), " values, not ", a.min_count);
        for (std::int64_t v : found->ints)
          detail::require(v >= a.lo && v <= a.hi, node, ": attribute '", a.name, "' holds ", v, ", outside [", a.lo,
                          ", ", a.hi, "]");
        break;
      case io::OnnxAttribute::int_:
        detail::require(found->i >= a.lo && found->i <= a.hi, node, ": attribute '", a.name, "' is ", found->i,
                        ", outside [", a.lo, ", ", a.hi, "]");
        break;
      case io::OnnxAttribute::float_:
        detail::require(!std::isnan(found->f), node, ": attribute '", a.name, "' is not a number");
        break;
      default: break;
    }
  }
}

}  // namespace infer
}  // namespace pfld
