// pfld_info: the PFLD architecture for a width and landmark count, layer by layer, with parameter
// counts of the backbone (what inference ships) and of the auxiliary pose net (training only).
//
//   pfld_info [--width W] [--landmarks N]
//   pfld_info --weights FILE        (the config and tensors stored in a model file)
#include <pfld/pfld.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/cli.hpp"
#include "tools.hpp"

namespace pfld_info {

namespace {

std::size_t count(pfld::nn::Layer& layer) {
  std::size_t n = 0;
  for (auto& p : layer.parameters()) n += p.value->numel();
  return n;
}

void print_table(const pfld::ModelConfig& config) {
  pfld::model::PfldNet net(config);
  pfld::model::AuxNet aux(config);
  std::printf("PFLD %s\n", config.str().c_str());
  std::printf("  %-42s %-18s %10s\n", "parameter", "shape", "count");
  for (auto& p : net.parameters())
    std::printf("  %-42s %-18s %10zu\n", p.name.c_str(), p.value->shape().str().c_str(), p.value->numel());
  const std::size_t backbone = count(net), auxiliary = count(aux);
  std::printf("  backbone + head: %zu parameters (%.2f MB as float32)\n", backbone, static_cast<double>(backbone) * 4 / 1e6);
  std::printf("  auxiliary net:   %zu parameters (training only)\n", auxiliary);
}

void print_summary() {
  std::printf("%-6s %-9s %12s %12s %10s\n", "width", "landmarks", "backbone", "aux net", "MB fp32");
  for (float width : {1.0f, 0.25f})
    for (int landmarks : {68, 98}) {
      pfld::ModelConfig config;
      config.width = width;
      config.landmarks = landmarks;
      pfld::model::PfldNet net(config);
      pfld::model::AuxNet aux(config);
      const std::size_t backbone = count(net);
      std::printf("%-6.2f %-9d %12zu %12zu %10.2f\n", static_cast<double>(width), landmarks, backbone, count(aux),
                  static_cast<double>(backbone) * 4 / 1e6);
    }
}

}  // namespace

int run(int argc, char** argv) {
  return cli::run_tool("pfld_info", [&] {
    pfld::ModelConfig config;
    bool table = false;
    std::string weights;
    cli::ArgReader args(argc, argv);
    while (args.next()) {
      const std::string& arg = args.arg();
      if (arg == "--width") {
        config.width = args.number(0.01f, 16.0f);
        table = true;
      } else if (arg == "--landmarks") {
        config.landmarks = args.integer(1, 100000);
        table = true;
      } else if (arg == "--weights") {
        weights = args.value();
      } else if (arg == "--help" || arg == "-h") {
        std::printf("usage: pfld_info [--width W] [--landmarks N] | [--weights FILE]\n"
                    "Without options: parameter counts of PFLD 1X and 0.25X for 68 and 98 landmarks.\n");
        return 0;
      } else {
        throw cli::UsageError("unknown option '" + arg + "'");
      }
    }
    if (!weights.empty()) {
      const pfld::io::ModelFile file = pfld::io::ModelFile::load(weights);
      std::printf("%s: %s, %s\n", weights.c_str(), file.kind == pfld::io::ModelFile::Kind::checkpoint ? "checkpoint" : "weights",
                  file.config.str().c_str());
      for (const auto& [key, val] : file.metadata) std::printf("  %s = %s\n", key.c_str(), val.c_str());
      std::size_t total = 0;
      for (const auto& [name, t] : file.tensors) total += t.numel();
      std::printf("  %zu tensors, %zu values\n", file.tensors.size(), total);
    } else if (table) {
      print_table(config);
    } else {
      print_summary();
    }
    return 0;
  });
}

}  // namespace pfld_info
