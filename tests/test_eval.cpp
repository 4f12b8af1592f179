// Accuracy metrics (eval/metrics.hpp, eval/evaluate.hpp) against values worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <pfld/pfld.hpp>

using namespace pfld;

namespace {

// 68 points all at the origin but the eye corners: 36 at (0, 0), 45 at (10, 0); inter-ocular 10.
Landmarks eyes_ten_apart() {
  Landmarks points(68, Point{0, 0});
  points[45] = {10, 0};
  return points;
}

Landmarks shifted(const Landmarks& points, float dx, float dy) {
  Landmarks out = points;
  for (Point& p : out) p.x += dx, p.y += dy;
  return out;
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("NME: mean point distance over the normaliser, each normalisation") {
    const Landmarks truth = eyes_ten_apart();
    // Every point 5 pixels off (3, 4): 5 / 10.
    CHECK(eval::nme(shifted(truth, 3, 4), truth) == doctest::Approx(0.5));
    // One point of 68 off by 68 pixels: mean 1 pixel, over 10.
    Landmarks one = truth;
    one[7].y += 68;
    CHECK(eval::nme(one, truth) == doctest::Approx(0.1));
    // Inter-pupil: the eyes' means. Left eye (36-41) at x = 0 but 36 at 0 anyway; right eye (42-47)
    // all at x = 12 but 45 at 10: centres (0, 0) and (11.666..., 0).
    Landmarks pupils = truth;
    for (std::size_t i = 42; i < 48; ++i) pupils[i] = {12, 0};
    pupils[45] = {10, 0};
    CHECK(eval::normalizing_distance(pupils, eval::Normalization::inter_pupil) == doctest::Approx(70.0 / 6.0));
    // Box: sqrt(w * h) of the truth's box; points spanning 10 x 40 give 20.
    Landmarks box = truth;
    box[0] = {0, 40};
    CHECK(eval::normalizing_distance(box, eval::Normalization::box) == doctest::Approx(20.0));
    CHECK(eval::nme(shifted(box, 0, 2), box, eval::Normalization::box) == doctest::Approx(0.1));
    // 98 points: corners 60 and 72.
    Landmarks wflw(98, Point{5, 5});
    wflw[60] = {0, 0};
    wflw[72] = {0, 8};
    CHECK(eval::nme(shifted(wflw, 2, 0), wflw) == doctest::Approx(0.25));
    // Errors name the problem.
    CHECK_THROWS_WITH_AS(eval::nme(Landmarks(5, Point{0, 0}), Landmarks(5, Point{0, 0})), doctest::Contains("no eye landmarks"), Error);
    CHECK_THROWS_WITH_AS(eval::nme(Landmarks(67, Point{0, 0}), truth), doctest::Contains("67 predicted points for 68"), Error);
    CHECK_THROWS_WITH_AS(eval::nme(truth, Landmarks(68, Point{1, 1})), doctest::Contains("normalising distance is 0"), Error);
    CHECK(eval::parse_normalization("pupil") == eval::Normalization::inter_pupil);
    CHECK_THROWS_WITH_AS(eval::parse_normalization("cheek"), doctest::Contains("unknown NME normalisation 'cheek'"), Error);
  }

  TEST_CASE("summary: mean, failure rate and the area under the CED curve") {
    // Four faces; the CED is 0 below 0.02005, 1/4 to 0.05005, 1/2 to 0.08005, 3/4 up to 0.1 (0.12 fails).
    const eval::Summary s = eval::summarize({0.12f, 0.02005f, 0.08005f, 0.05005f});
    CHECK(s.faces == 4);
    CHECK(s.mean_nme == doctest::Approx((0.12 + 0.02005 + 0.08005 + 0.05005) / 4));
    CHECK(s.failure_rate(0.10) == doctest::Approx(0.25));
    CHECK(s.failure_rate(0.05) == doctest::Approx(0.75));
    CHECK(s.failure_rate(0.13) == 0.0);
    // AUC at 0.1: (0.25 * 0.03 + 0.5 * 0.03 + 0.75 * 0.01995) / 0.1 = 0.374625 as an integral; sampled
    // every 1e-4 from 0 to 0.1 (1001 samples) it is 375 / 1001.
    CHECK(s.auc(0.10) == doctest::Approx(375.0 / 1001.0).epsilon(1e-9));
    CHECK(s.auc(0.10) == doctest::Approx(0.374625).epsilon(1e-3));
    // Every face perfect: AUC 1, nothing fails.
    const eval::Summary perfect = eval::summarize({0.0f, 0.0f});
    CHECK(perfect.auc(0.08) == doctest::Approx(1.0));
    CHECK(perfect.failure_rate(0.08) == 0.0);
    CHECK_THROWS_WITH_AS(eval::summarize({}), doctest::Contains("no faces"), Error);
  }

  TEST_CASE("evaluate: per-face NMEs, their summary and the signed bias") {
    FaceSet set;
    set.landmark_count = 68;
    for (int i = 0; i < 2; ++i) {
      Face face;
      face.landmarks = eyes_ten_apart();
      set.faces.push_back(face);
    }
    // Face 0 predicted 1 pixel right of the truth, face 1 3 pixels right: NMEs 0.1 and 0.3; the mean
    // signed error (in normaliser units) +0.2 in x, 0 in y.
    const eval::Evaluation e = eval::evaluate({shifted(set.faces[0].landmarks, 1, 0), shifted(set.faces[1].landmarks, 3, 0)}, set);
    REQUIRE(e.nmes.size() == 2);
    CHECK(e.nmes[0] == doctest::Approx(0.1));
    CHECK(e.nmes[1] == doctest::Approx(0.3));
    CHECK(e.summary.mean_nme == doctest::Approx(0.2));
    CHECK(e.mean_signed_error.x == doctest::Approx(0.2));
    CHECK(e.mean_signed_error.y == doctest::Approx(0.0));
    CHECK_THROWS_WITH_AS(eval::evaluate({set.faces[0].landmarks}, set), doctest::Contains("1 predictions for 2 faces"), Error);
  }
}
