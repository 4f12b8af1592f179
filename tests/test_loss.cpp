// The PFLD loss in each mode: values by hand, gradients by finite differences, the degenerate cases.
#include <doctest/doctest.h>

#include <cmath>

#include <pfld/pfld.hpp>

#include "support/gradcheck.hpp"

using namespace pfld;
using model::LossMode;
using model::PfldLoss;

namespace {

Tensor make(const Shape& s, std::initializer_list<float> values) {
  Tensor t(s);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

struct Example {
  Tensor predicted = make(Shape{2, 2}, {0.1f, 0.2f, 0.5f, 0.5f});
  Tensor target = make(Shape{2, 2}, {0.0f, 0.0f, 0.5f, 0.7f});
  Tensor pose = make(Shape{2, 3}, {0.1f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f});
  Tensor target_pose = make(Shape{2, 3}, {0.0f, 0.0f, 0.0f, 0.0f, 0.2f, 0.0f});
  Tensor attributes = make(Shape{2, 2}, {1.0f, 0.0f, 0.0f, 0.0f});  // sample 1 is in no class
  std::vector<float> weights{2.0f, 3.0f};
};

double sq0() { return 0.1 * 0.1 + 0.2 * 0.2; }
double sq1() { return 0.2 * 0.2; }
double geo0() { return 1.0 - std::cos(0.1); }
double geo1() { return 1.0 - std::cos(0.2); }

}  // namespace

TEST_SUITE("loss") {
  TEST_CASE("values of every mode, by hand") {
    Example e;
    auto value = [&](LossMode mode) {
      PfldLoss loss(mode, e.weights);
      return static_cast<double>(loss.forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes));
    };
    const double tol = 1e-6;
    CHECK(value(LossMode::l2) == doctest::Approx((sq0() + sq1()) / 2).epsilon(tol));
    CHECK(value(LossMode::no_geometry) == doctest::Approx((2 * sq0() + 1 * sq1()) / 2).epsilon(tol));
    CHECK(value(LossMode::no_imbalance) == doctest::Approx(((1 + geo0()) * sq0() + (1 + geo1()) * sq1()) / 2).epsilon(tol));
    CHECK(value(LossMode::full) == doctest::Approx((2 * (1 + geo0()) * sq0() + 1 * (1 + geo1()) * sq1()) / 2).epsilon(tol));
    // Literal Eq. 2: sample 1 (no class) weighs nothing, and the geometry factor has no "1 +".
    CHECK(value(LossMode::paper_literal) == doctest::Approx(2 * geo0() * sq0() / 2).epsilon(tol));
  }

  TEST_CASE("gradients of every mode match finite differences") {
    for (LossMode mode : {LossMode::l2, LossMode::no_geometry, LossMode::no_imbalance, LossMode::full,
                          LossMode::paper_literal}) {
      CAPTURE(model::to_string(mode));
      Rng rng(21);
      Tensor predicted = test::random_tensor(Shape{3, 8}, rng), target = test::random_tensor(Shape{3, 8}, rng);
      Tensor pose = test::random_tensor(Shape{3, 3}, rng), target_pose = test::random_tensor(Shape{3, 3}, rng);
      Tensor attributes = make(Shape{3, 2}, {1, 0, 1, 1, 0, 1});
      PfldLoss loss(mode, {1.5f, 0.5f});
      auto value = [&] { return static_cast<double>(loss.forward(predicted, target, pose, target_pose, attributes)); };
      value();
      const Tensor d_landmarks = loss.landmark_grad().clone(), d_pose = loss.pose_grad().clone();
      test::GradCheckOptions opt;
      opt.eps = 1e-3f;
      CHECK(test::check_gradient("landmarks", predicted, d_landmarks, value, rng, opt).ok);
      CHECK(test::check_gradient("pose", pose, d_pose, value, rng, opt).ok);
      if (!loss.uses_pose())
        for (float g : d_pose) CHECK(g == 0.0f);
    }
  }

  TEST_CASE("distances: L1 and Wing values by hand, gradients by finite differences, with the full weighting") {
    Example e;
    const double w = PfldLoss::kWingWidth, eps = PfldLoss::kWingCurvature;
    auto wing = [&](double d) { return d < w ? w * std::log1p(d / eps) : d - (w - w * std::log1p(w / eps)); };
    PfldLoss l1(LossMode::l2, {}, model::Distance::l1), wing_loss(LossMode::l2, {}, model::Distance::wing);
    CHECK(l1.forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes) ==
          doctest::Approx((0.1 + 0.2 + 0.2) / 2).epsilon(1e-6));
    // 0.1 is past the Wing's width (10 / 112): the linear part, which must meet the log part there.
    CHECK(wing_loss.forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes) ==
          doctest::Approx((wing(0.1) + 2 * wing(0.2)) / 2).epsilon(1e-6));
    CHECK(w * std::log1p(w / eps) == doctest::Approx(wing(w + 1e-12)).epsilon(1e-9));
    CHECK_THROWS_AS(model::parse_distance("huber"), Error);

    for (model::Distance distance : {model::Distance::l1, model::Distance::wing}) {
      CAPTURE(model::to_string(distance));
      Rng rng(22);
      // Coordinates apart by 0.02 .. 0.3: both sides of the Wing's width, none near the kink at 0.
      Tensor target = test::random_tensor(Shape{3, 8}, rng), predicted = target.clone();
      for (std::size_t i = 0; i < predicted.numel(); ++i) predicted[i] += (i % 2 ? 1.0f : -1.0f) * (0.02f + 0.04f * static_cast<float>(i % 8));
      Tensor pose = test::random_tensor(Shape{3, 3}, rng), target_pose = test::random_tensor(Shape{3, 3}, rng);
      Tensor attributes = make(Shape{3, 2}, {1, 0, 1, 1, 0, 1});
      PfldLoss loss(LossMode::full, {1.5f, 0.5f}, distance);
      auto value = [&] { return static_cast<double>(loss.forward(predicted, target, pose, target_pose, attributes)); };
      value();
      const Tensor d_landmarks = loss.landmark_grad().clone(), d_pose = loss.pose_grad().clone();
      test::GradCheckOptions opt;
      opt.eps = 1e-3f;
      CHECK(test::check_gradient("landmarks", predicted, d_landmarks, value, rng, opt).ok);
      CHECK(test::check_gradient("pose", pose, d_pose, value, rng, opt).ok);
    }
  }

  TEST_CASE("degenerate cases: literal form vs the default") {
    Example e;
    e.pose = e.target_pose.clone();  // a perfect pose estimate
    PfldLoss literal(LossMode::paper_literal, e.weights), full(LossMode::full, e.weights);
    CHECK(literal.forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes) == 0.0f);
    for (float g : literal.landmark_grad()) CHECK(g == 0.0f);  // the landmark gradient vanishes
    CHECK(full.forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes) > 0.0f);
    for (std::size_t i = 0; i < 2; ++i) CHECK(full.landmark_grad()[i] != 0.0f);
    CHECK(full.landmark_grad()[3] != 0.0f);  // sample 1, in no class, still learns
  }

  TEST_CASE("bad input is an Error") {
    Example e;
    PfldLoss full(LossMode::full, e.weights);
    CHECK_THROWS_AS(full.forward(e.predicted, Tensor(Shape{2, 4}), e.pose, e.target_pose, e.attributes), Error);
    CHECK_THROWS_AS(full.forward(e.predicted, e.target, Tensor(Shape{2, 2}), e.target_pose, e.attributes), Error);
    CHECK_THROWS_AS(full.forward(e.predicted, e.target, e.pose, e.target_pose, Tensor(Shape{2, 3})), Error);
    CHECK_THROWS_AS(PfldLoss(LossMode::full).forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes),
                    Error);
    e.predicted[1] = std::nanf("");
    CHECK_THROWS_WITH_AS(full.forward(e.predicted, e.target, e.pose, e.target_pose, e.attributes),
                         doctest::Contains("non-finite"), Error);
    CHECK_THROWS_AS(PfldLoss(LossMode::full, {1.0f, -2.0f}), Error);
    CHECK(model::parse_loss_mode("no_imbalance") == LossMode::no_imbalance);
    CHECK_THROWS_AS(model::parse_loss_mode("wing"), Error);
    // l2 needs neither pose nor classes.
    PfldLoss l2(LossMode::l2);
    CHECK(l2.forward(e.target, e.target, Tensor(), Tensor(), Tensor()) == 0.0f);
  }
}
