// PyTorch parity: every layer against fixtures written by tests/fixtures/make_layer_fixtures.py.
#include <doctest/doctest.h>

#include <cstdlib>

#include <pfld/pfld.hpp>

#include "support/fixture.hpp"

using namespace pfld;

namespace {

constexpr double kTolerance = 1e-5;

const test::Fixture& fixture() {
  static const test::Fixture f(test::fixture_path("layers.pfxt"));
  return f;
}

const Tensor& get(const std::string& c, const std::string& name) { return fixture()[c + "/" + name]; }

void copy_into(Tensor& dst, const Tensor& src) {
  REQUIRE(dst.shape() == src.shape());
  std::copy(src.begin(), src.end(), dst.begin());
}

void expect_close(const std::string& what, const Tensor& actual, const Tensor& expected) {
  const double err = test::relative_error(actual, expected);
  CHECK_MESSAGE(err <= kTolerance, what << ": relative error " << err);
  if (std::getenv("PFLD_VERBOSE_PARITY")) MESSAGE(what << ": relative error " << err);
}

// Loads the fixture's parameters into the layer, runs forward and backward, and compares output,
// input gradient and parameter gradients.
void check_against_torch(nn::Layer& layer, const std::string& c) {
  CAPTURE(c);
  for (auto& p : layer.parameters()) copy_into(*p.value, get(c, p.name));
  layer.zero_grad();
  expect_close(c + " y", layer.forward(get(c, "x")), get(c, "y"));
  expect_close(c + " dx", layer.backward(get(c, "dy")), get(c, "dx"));
  for (auto& p : layer.parameters()) expect_close(c + " d" + p.name, *p.grad, get(c, "d" + p.name));
}

}  // namespace

TEST_SUITE("torch_parity") {
  TEST_CASE("Conv2d") {
    struct Case {
      const char* name;
      int cin, cout, k, stride, pad, groups;
      bool bias;
    };
    for (const Case& c : {Case{"conv_3x3_s2_p1", 3, 5, 3, 2, 1, 1, false}, Case{"conv_3x3_s1_p0_bias", 9, 7, 3, 1, 0, 1, true},
                          Case{"conv_7x7_valid", 5, 11, 7, 1, 0, 1, true}, Case{"conv_3x3_groups3", 6, 9, 3, 1, 1, 3, false},
                          Case{"conv_1x1", 9, 17, 1, 1, 0, 1, false}, Case{"depthwise_s1", 9, 9, 3, 1, 1, 9, false},
                          Case{"depthwise_s2", 17, 17, 3, 2, 1, 17, false}}) {
      nn::Conv2d conv(c.cin, c.cout, c.k, c.stride, c.pad, c.groups, c.bias);
      check_against_torch(conv, c.name);
    }
  }

  TEST_CASE("BatchNorm in training mode, with running statistics") {
    for (const char* c : {"batch_norm_train", "batch_norm_train_2d"}) {
      nn::BatchNorm bn(9);
      copy_into(bn.running_mean(), get(c, "running_mean_before"));
      copy_into(bn.running_var(), get(c, "running_var_before"));
      check_against_torch(bn, c);
      expect_close(std::string(c) + " running_mean", bn.running_mean(), get(c, "running_mean_after"));
      expect_close(std::string(c) + " running_var", bn.running_var(), get(c, "running_var_after"));
    }
  }

  TEST_CASE("BatchNorm in eval mode") {
    nn::BatchNorm bn(7);
    copy_into(bn.running_mean(), get("batch_norm_eval", "running_mean"));
    copy_into(bn.running_var(), get("batch_norm_eval", "running_var"));
    bn.set_training(false);
    check_against_torch(bn, "batch_norm_eval");
  }

  TEST_CASE("ReLU, ReLU6, pooling, Linear") {
    auto relu = nn::ReLU();
    check_against_torch(relu, "relu");
    auto relu6 = nn::ReLU6();
    check_against_torch(relu6, "relu6");
    nn::GlobalAvgPool gap;
    check_against_torch(gap, "global_avg_pool");
    nn::MaxPool2d pool_3(3, 2, 1), pool_2(2, 2);
    check_against_torch(pool_3, "max_pool_3_s2_p1");
    check_against_torch(pool_2, "max_pool_2_s2");
    nn::Linear fc(17, 10), fc_no_bias(9, 7, false);
    check_against_torch(fc, "linear");
    check_against_torch(fc_no_bias, "linear_no_bias");
  }

  TEST_CASE("Concat and Add") {
    nn::Concat concat;
    expect_close("concat y", concat.forward({get("concat", "x0"), get("concat", "x1"), get("concat", "x2")}),
                 get("concat", "y"));
    const auto& grads = concat.backward(get("concat", "dy"));
    for (int i = 0; i < 3; ++i) expect_close("concat dx", grads[static_cast<std::size_t>(i)], get("concat", "dx" + std::to_string(i)));

    nn::Add add;
    expect_close("add y", add.forward(get("add", "x0"), get("add", "x1")), get("add", "y"));
    expect_close("add dx0", add.backward(get("add", "dy")), get("add", "dx0"));
    expect_close("add dx1", add.backward(get("add", "dy")), get("add", "dx1"));
  }
}
