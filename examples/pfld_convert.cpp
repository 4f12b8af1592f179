// pfld_convert: pfld weights <-> ONNX.
//
//   pfld_convert IN.pfld OUT.onnx     export (opset 11; batch norm folded; input "image" [1,3,S,S] RGB in
//                                     [0, 1]; output "landmarks" [1, 2N] in crop units)
//   pfld_convert IN.onnx OUT.pfld     import an ONNX graph of PFLD's own architecture as a pfld weights
//                                     file (other PFLD variants run directly: Detector::load("x.onnx"))
//   pfld_convert --info IN.onnx       the graph's inputs, outputs and op counts, and whether pfld runs it
#include <pfld/pfld.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "common/cli.hpp"
#include "tools.hpp"

namespace pfld_convert {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char* kUsage = "usage: pfld_convert IN.pfld OUT.onnx | pfld_convert IN.onnx OUT.pfld | pfld_convert --info IN.onnx\n";

std::string shape(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_convert", [&] {
    if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (argc != 3) throw cli::UsageError("expected two arguments, IN and OUT (or --info IN.onnx)");
    const std::string a = argv[1], b = argv[2];
    if (a == "--info") {
      const pfld::io::OnnxModel m = pfld::io::read_onnx(b);
      std::printf("%s: ir %lld, opset %lld, producer '%s', %zu nodes, %zu initializers\n", b.c_str(),
                  static_cast<long long>(m.ir_version), static_cast<long long>(m.opset), m.producer.c_str(), m.nodes.size(),
                  m.initializers.size());
      for (const auto& v : m.inputs) std::printf("  input  %s %s\n", v.name.c_str(), shape(v.shape).c_str());
      for (const auto& v : m.outputs) std::printf("  output %s %s\n", v.name.c_str(), shape(v.shape).c_str());
      std::map<std::string, int> ops;
      for (const auto& n : m.nodes) ++ops[n.op_type];
      for (const auto& [op, count] : ops) std::printf("  %-20s %d\n", op.c_str(), count);
      const auto net = pfld::import_onnx(m, {}, b);
      std::printf("pfld runs it: %d landmarks from a %dx%d crop, %.1f MFLOP\n", net->landmark_count(), net->input_size(),
                  net->input_size(), net->flops() / 1e6);
    } else if (ends_with(a, ".onnx") && ends_with(b, ".pfld")) {
      pfld::io::ModelFile file = pfld::onnx_to_model_file(pfld::io::read_onnx(a), a);
      file.metadata["converted_from"] = a;
      file.save(b);
      std::printf("wrote %s: PFLD %s\n", b.c_str(), file.config.str().c_str());
    } else if (ends_with(a, ".pfld") && ends_with(b, ".onnx")) {
      const pfld::io::ModelFile file = pfld::io::ModelFile::load(a);
      pfld::io::write_onnx(b, pfld::io::export_onnx(file, a));
      std::printf("wrote %s: PFLD %s, opset 11\n", b.c_str(), file.config.str().c_str());
    } else {
      throw cli::UsageError("convert .pfld -> .onnx or .onnx -> .pfld (by file extension)");
    }
    return 0;
  });
}

}  // namespace pfld_convert
