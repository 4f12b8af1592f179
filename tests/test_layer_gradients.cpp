// Finite-difference checks of every layer's backward pass, for the input and each parameter.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include <pfld/pfld.hpp>

#include "support/gradcheck.hpp"

using namespace pfld;
using test::check_layer;
using test::random_tensor;

namespace {

void require_all_ok(const std::vector<test::GradCheckResult>& results) {
  for (const auto& r : results) CHECK_MESSAGE(r.ok, r.report);
}

// Random values kept at least `gap` away from the kinks of ReLU/ReLU6, so that a finite-difference
// step never crosses one.
Tensor away_from_kinks(const Shape& shape, Rng& rng, float gap) {
  Tensor t(shape);
  for (float& v : t) {
    do v = rng.uniform(-2.0f, 8.0f);
    while (std::abs(v) < gap || std::abs(v - 6.0f) < gap);
  }
  return t;
}

// Values spaced 0.1 apart in random order: no ties for max pooling, even after a 0.01 step.
Tensor distinct_values(const Shape& shape, Rng& rng) {
  Tensor t(shape);
  std::vector<float> values(t.numel());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.1f * static_cast<float>(i) - 2.0f;
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[rng.below(static_cast<std::uint32_t>(i))]);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

}  // namespace

TEST_SUITE("gradients") {
  TEST_CASE("the checker rejects a wrong gradient (negative control)") {
    Rng rng(1);
    nn::Conv2d conv(3, 4, 3, 2, 1);
    conv.reset_parameters(rng);
    Tensor x = random_tensor(Shape{2, 5, 5, 3}, rng);
    const Tensor r = random_tensor(conv.forward(x).shape(), rng);
    auto loss = [&] { return test::dot(conv.forward(x), r); };
    conv.zero_grad();
    conv.forward(x);
    Tensor dx = conv.backward(r).clone();
    CHECK(test::check_gradient("input", x, dx, loss, rng).ok);
    Tensor scaled = dx.clone();
    for (float& g : scaled) g *= 1.05f;  // 5 % off
    CHECK_FALSE(test::check_gradient("input", x, scaled, loss, rng).ok);
    Tensor shifted = dx.clone();
    shifted[shifted.numel() / 2] += 0.05f;  // one element off
    test::GradCheckOptions all;
    all.max_elements = shifted.numel();
    CHECK_FALSE(test::check_gradient("input", x, shifted, loss, rng, all).ok);
  }

  TEST_CASE("Conv2d: dense, 1x1, depthwise, grouped; stride 1/2; padding 0/1; odd sizes") {
    struct Case {
      const char* name;
      int n, h, w, cin, cout, k, stride, pad, groups;
      bool bias;
    };
    const Case cases[] = {
        {"stem 3x3/2 pad 1", 2, 9, 7, 3, 5, 3, 2, 1, 1, false},
        {"3x3/1 pad 0 bias", 2, 6, 5, 9, 7, 3, 1, 0, 1, true},
        {"7x7 valid", 2, 7, 7, 5, 11, 7, 1, 0, 1, true},
        {"grouped 3", 2, 5, 5, 6, 9, 3, 1, 1, 3, false},
        {"1x1", 3, 5, 5, 9, 17, 1, 1, 0, 1, false},
        {"1x1 stride 2", 2, 5, 5, 9, 7, 1, 2, 0, 1, true},
        {"depthwise 3x3/1", 2, 7, 7, 9, 9, 3, 1, 1, 9, false},
        {"depthwise 3x3/2", 2, 9, 9, 17, 17, 3, 2, 1, 17, false},
        {"depthwise width 1", 2, 5, 1, 7, 7, 3, 1, 1, 7, false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      Rng rng(11);
      nn::Conv2d conv(c.cin, c.cout, c.k, c.stride, c.pad, c.groups, c.bias);
      conv.reset_parameters(rng);
      for (float& b : conv.bias()) b = rng.uniform(-1.0f, 1.0f);
      require_all_ok(check_layer(conv, random_tensor(Shape{c.n, c.h, c.w, c.cin}, rng), rng));
    }
  }

  TEST_CASE("BatchNorm: training mode (batch statistics), eval mode, (N, C) input") {
    Rng rng(12);
    nn::BatchNorm bn(9);
    for (float& g : bn.gamma()) g = rng.uniform(0.5f, 1.5f);
    for (float& b : bn.beta()) b = rng.uniform(-1.0f, 1.0f);
    SUBCASE("train NHWC") { require_all_ok(check_layer(bn, random_tensor(Shape{3, 5, 5, 9}, rng, -2.0f, 3.0f), rng)); }
    SUBCASE("train (N, C)") { require_all_ok(check_layer(bn, random_tensor(Shape{4, 9}, rng, -2.0f, 3.0f), rng)); }
    SUBCASE("eval") {
      for (float& m : bn.running_mean()) m = rng.uniform(-1.0f, 1.0f);
      for (float& v : bn.running_var()) v = rng.uniform(0.5f, 2.0f);
      bn.set_training(false);
      require_all_ok(check_layer(bn, random_tensor(Shape{2, 3, 5, 9}, rng, -2.0f, 3.0f), rng));
    }
  }

  TEST_CASE("ReLU and ReLU6") {
    Rng rng(13);
    auto relu = nn::ReLU();
    auto relu6 = nn::ReLU6();
    require_all_ok(check_layer(relu, away_from_kinks(Shape{2, 5, 5, 9}, rng, 0.05f), rng));
    require_all_ok(check_layer(relu6, away_from_kinks(Shape{2, 5, 5, 9}, rng, 0.05f), rng));
  }

  TEST_CASE("GlobalAvgPool and MaxPool2d") {
    Rng rng(14);
    nn::GlobalAvgPool gap;
    require_all_ok(check_layer(gap, random_tensor(Shape{2, 5, 7, 9}, rng), rng));
    nn::MaxPool2d pool_3_2_1(3, 2, 1), pool_2_2(2, 2), pool_all(3, 1);
    require_all_ok(check_layer(pool_3_2_1, distinct_values(Shape{2, 7, 7, 9}, rng), rng));
    require_all_ok(check_layer(pool_2_2, distinct_values(Shape{2, 6, 6, 3}, rng), rng));
    require_all_ok(check_layer(pool_all, distinct_values(Shape{2, 3, 3, 5}, rng), rng));
  }

  TEST_CASE("Linear, from (N, C) and from pooled (N, 1, 1, C)") {
    Rng rng(15);
    nn::Linear fc(17, 10), fc_no_bias(9, 7, false);
    fc.reset_parameters(rng);
    for (float& b : fc.bias()) b = rng.uniform(-1.0f, 1.0f);
    fc_no_bias.reset_parameters(rng);
    require_all_ok(check_layer(fc, random_tensor(Shape{3, 1, 1, 17}, rng), rng));
    require_all_ok(check_layer(fc_no_bias, random_tensor(Shape{4, 9}, rng), rng));
  }

  TEST_CASE("Concat and Add (multi-input)") {
    Rng rng(16);
    std::vector<Tensor> inputs{random_tensor(Shape{2, 3, 3, 5}, rng), random_tensor(Shape{2, 3, 3, 3}, rng),
                               random_tensor(Shape{2, 3, 3, 7}, rng)};
    nn::Concat concat;
    const Tensor r = random_tensor(concat.forward(inputs).shape(), rng);
    auto loss = [&] { return test::dot(concat.forward(inputs), r); };
    const std::vector<Tensor> grads = concat.backward(r);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      CHECK(test::check_gradient("concat input", inputs[i], grads[i].clone(), loss, rng).ok);

    Tensor a = random_tensor(Shape{2, 3, 5, 9}, rng), b = random_tensor(Shape{2, 3, 5, 9}, rng);
    nn::Add add;
    const Tensor ra = random_tensor(a.shape(), rng);
    auto add_loss = [&] { return test::dot(add.forward(a, b), ra); };
    add.forward(a, b);
    const Tensor g = add.backward(ra).clone();
    CHECK(test::check_gradient("add a", a, g, add_loss, rng).ok);
    CHECK(test::check_gradient("add b", b, g, add_loss, rng).ok);
  }

  TEST_CASE("layers reject bad shapes with pfld::Error") {
    nn::Conv2d conv(3, 4, 3);
    CHECK_THROWS_WITH_AS(conv.forward(Tensor(Shape{1, 5, 5, 4})), doctest::Contains("3 channels"), Error);
    CHECK_THROWS_AS(conv.forward(Tensor(Shape{1, 2, 2, 3})), Error);  // kernel larger than input
    CHECK_THROWS_AS(nn::Conv2d(6, 4, 3, 1, 1, 4), Error);              // groups must divide both
    nn::BatchNorm bn(4);
    CHECK_THROWS_AS(bn.forward(Tensor(Shape{1, 1, 1, 4})), Error);  // one value per channel
    nn::Linear fc(8, 2);
    CHECK_THROWS_AS(fc.forward(Tensor(Shape{2, 7})), Error);
    fc.forward(Tensor(Shape{2, 8}));
    CHECK_THROWS_AS(fc.backward(Tensor(Shape{2, 3})), Error);
    nn::Add add;
    CHECK_THROWS_AS(add.forward(Tensor(Shape{2, 3}), Tensor(Shape{3, 2})), Error);
    nn::Concat concat;
    CHECK_THROWS_AS(concat.forward({Tensor(Shape{2, 3, 3, 1}), Tensor(Shape{2, 2, 3, 1})}), Error);
  }
}
