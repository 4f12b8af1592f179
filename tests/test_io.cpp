// The model file format (io/model_file.hpp): round trips, damage, hostile shapes; the checks a file
// passes before anything is built from it (io/pfld_weights.hpp), for the trainable network and for the
// inference graph alike.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <pfld/pfld.hpp>

#include "support/gradcheck.hpp"

using namespace pfld;

namespace {

std::string temp_path(const std::string& name) { return std::string(PFLD_TEST_TEMP_DIR) + "/" + name; }

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

ModelConfig small_config(int landmarks = 68) {
  ModelConfig c;
  c.width = 0.25f;
  c.landmarks = landmarks;
  return c;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("model file: weights round trip, and every kind of damage is an Error") {
    model::PfldNet net(small_config());
    Rng rng(4);
    net.reset_parameters(rng);
    for (auto& b : net.buffers())
      for (float& v : *b.value) v = rng.uniform(0.5f, 1.5f);
    const std::string path = temp_path("roundtrip.pfld");
    train::save_weights(path, net, nullptr, {{"note", "test"}});

    auto loaded = train::load_network(path);
    CHECK(loaded->config() == net.config());
    auto a = net.parameters(), b = loaded->parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(test::relative_error(*b[i].value, *a[i].value) == 0.0);
    auto ab = net.buffers(), bb = loaded->buffers();
    for (std::size_t i = 0; i < ab.size(); ++i) CHECK(test::relative_error(*bb[i].value, *ab[i].value) == 0.0);
    CHECK(io::ModelFile::load(path).metadata.at("note") == "test");

    const std::vector<char> good = read_bytes(path);
    const std::string bad = temp_path("damaged.pfld");
    auto expect_error = [&](const std::vector<char>& bytes, const char* message) {
      write_bytes(bad, bytes);
      CHECK_THROWS_WITH_AS(train::load_network(bad), doctest::Contains(message), Error);
    };
    std::vector<char> flipped = good;
    flipped[good.size() / 2] ^= 0x10;
    expect_error(flipped, "checksum mismatch");
    expect_error(std::vector<char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 3)), "checksum");
    expect_error(std::vector<char>(good.begin(), good.begin() + 10), "truncated");
    std::vector<char> magic = good;
    magic[0] = 'X';
    expect_error(magic, "bad magic");
    std::vector<char> version = good;
    version[8] = 3;
    expect_error(version, "format version 3");
    CHECK_THROWS_WITH_AS(train::load_network(temp_path("does-not-exist.pfld")), doctest::Contains("cannot open"), Error);

    model::PfldNet other(small_config(98));
    CHECK_THROWS_WITH_AS(train::load_weights(path, other), doctest::Contains("config mismatch"), Error);

    (*net.parameters()[3].value)[0] = std::nanf("");
    train::save_weights(bad, net);
    CHECK_THROWS_WITH_AS(train::load_network(bad), doctest::Contains("non-finite"), Error);
    std::remove(path.c_str());
    std::remove(bad.c_str());
  }

  TEST_CASE("model file: hostile shapes and configs are refused before anything is allocated") {
    // A tensor of 2^24 x 2^24 x 2^14 floats: 2^64 bytes, which wraps to 0 in a size_t and once passed
    // the length check, leading to a write past the end of a 0-byte buffer.
    io::ModelFile overflow;
    overflow.tensors.emplace_back("fc.bias", Tensor(Shape{1}));
    std::vector<unsigned char> bytes = overflow.serialize();
    // The tensor's rank and dimensions follow its name; patch them to rank 3 with huge dimensions.
    const std::string name = "fc.bias";
    const auto at = static_cast<std::size_t>(std::search(bytes.begin(), bytes.end(), name.begin(), name.end()) - bytes.begin()) + name.size();
    auto put = [&](std::size_t pos, std::uint32_t v) {
      for (int i = 0; i < 4; ++i) bytes[pos + static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * i));
    };
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at + 8), 8, 0);
    put(at, 3);
    put(at + 4, 1u << 24);
    put(at + 8, 1u << 24);
    put(at + 12, 1u << 14);
    bytes.resize(bytes.size() - 4);
    const std::uint32_t crc = io::crc32(bytes.data(), bytes.size());
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<unsigned char>(crc >> (8 * i)));
    CHECK_THROWS_WITH_AS(io::ModelFile::parse(bytes, "overflow.pfld"), doctest::Contains("more than"), Error);

    // A small file whose config asks for the widest network: refused by its missing tensors, before
    // the network (hundreds of MB at width 8) is built.
    io::ModelFile wide;
    wide.config.width = 8.0f;
    wide.tensors.emplace_back("fc.bias", Tensor(Shape{136}));
    CHECK_THROWS_WITH_AS(train::load_network(wide, "wide.pfld"), doctest::Contains("missing tensor 'conv1.conv.weight'"),
                         Error);
    // The architecture description names and shapes exactly the tensors the network holds.
    model::PfldNet net(small_config());
    std::vector<std::pair<std::string, Shape>> held;
    for (auto& p : net.parameters()) held.emplace_back(p.name, p.value->shape());
    for (auto& b : net.buffers()) held.emplace_back(b.name, b.value->shape());
    auto described = model::PfldArchitecture(net.config()).tensors();
    std::sort(held.begin(), held.end(), [](auto& a, auto& b) { return a.first < b.first; });
    std::sort(described.begin(), described.end(), [](auto& a, auto& b) { return a.first < b.first; });
    REQUIRE(held.size() == described.size());
    for (std::size_t i = 0; i < held.size(); ++i) {
      CHECK(held[i].first == described[i].first);
      CHECK(held[i].second == described[i].second);
    }
  }

  TEST_CASE("the inference graph's loader: the same checks, without a trainable network") {
    model::PfldNet net(small_config());
    Rng rng(8);
    net.reset_parameters(rng);
    net.set_training(false);
    const std::string path = temp_path("graph.pfld");
    train::save_weights(path, net);
    // The graph from the file computes what the graph from the network does.
    const auto from_file = load_inference_graph(path), from_net = build_inference_graph(net);
    InferenceArena a = from_file->make_arena(), b = from_net->make_arena();
    std::vector<float> crop(112 * 112 * 3);
    for (float& v : crop) v = rng.uniform();
    const float* x = from_file->run(crop.data(), a);
    const float* y = from_net->run(crop.data(), b);
    CHECK(std::equal(x, x + 136, y));

    io::ModelFile file = io::ModelFile::load(path);
    io::ModelFile missing = file;
    missing.tensors.erase(missing.tensors.begin() + 5);
    CHECK_THROWS_WITH_AS(build_inference_graph(missing, "missing.pfld"), doctest::Contains("missing tensor"), Error);
    io::ModelFile reshaped = file;
    reshaped.tensors.back().second = Tensor(Shape{3});
    CHECK_THROWS_WITH_AS(build_inference_graph(reshaped, "reshaped.pfld"), doctest::Contains("has shape"), Error);
    io::ModelFile nan = file;
    nan.tensors[2].second[0] = std::nanf("");
    CHECK_THROWS_WITH_AS(build_inference_graph(nan, "nan.pfld"), doctest::Contains("non-finite"), Error);
    std::remove(path.c_str());
  }
}
