// Optimisers, learning-rate schedules, the training step and loop, checkpoints, distillation, readouts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include "support/gradcheck.hpp"
#include "support/random_model.hpp"

using namespace pfld;

namespace {

// f(w) = 0.5 * sum (w - 3)^2, gradient w - 3.
struct Quadratic {
  Tensor w{Shape{2}}, g{Shape{2}};
  std::vector<nn::Parameter> params() { return {{"w", &w, &g}}; }
  void compute_grad() {
    for (std::size_t i = 0; i < 2; ++i) g[i] = w[i] - 3.0f;
  }
};

std::string temp_path(const std::string& name) { return std::string(PFLD_TEST_TEMP_DIR) + "/" + name; }

ModelConfig small_config(int landmarks = 68) {
  ModelConfig c;
  c.width = 0.25f;
  c.landmarks = landmarks;
  return c;
}

Batch random_batch(int batch, int landmarks, Rng& rng) {
  Batch b;
  b.images = test::random_tensor(Shape{batch, 112, 112, 3}, rng, 0.0f, 1.0f);
  b.landmarks = test::random_tensor(Shape{batch, 2 * landmarks}, rng, 0.2f, 0.8f);
  b.pose = test::random_tensor(Shape{batch, 3}, rng, -0.5f, 0.5f);
  b.attributes = Tensor(Shape{batch, 2});
  for (int m = 0; m < batch; ++m) b.attributes[static_cast<std::size_t>(2 * m + m % 2)] = 1.0f;
  return b;
}

// Faces of random pixels and random points, point 0 always well left of point 1 (a flip would swap them).
FaceSet random_faces(int count, int landmarks, Rng& rng) {
  FaceSet set;
  set.landmark_count = landmarks;
  for (int i = 0; i < count; ++i) {
    Face face;
    face.image = Image(160, 140, PixelFormat::rgb);
    for (auto& v : face.image.pixels) v = static_cast<std::uint8_t>(rng.uniform(0.0f, 255.0f));
    for (int p = 0; p < landmarks; ++p) face.landmarks.push_back({rng.uniform(40.0f, 120.0f), rng.uniform(30.0f, 110.0f)});
    face.landmarks[0].x = rng.uniform(30.0f, 50.0f);
    face.landmarks[1].x = rng.uniform(110.0f, 130.0f);
    face.box = bounding_box(face.landmarks);
    face.source = "face " + std::to_string(i);
    set.faces.push_back(std::move(face));
  }
  return set;
}

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("SGD with momentum: the first steps by hand") {
    Quadratic q;  // w = 0
    train::Sgd sgd(0.9f);
    q.compute_grad();  // g = -3
    sgd.step(q.params(), 0.1f);  // v = -3, w = 0.3
    CHECK(q.w[0] == doctest::Approx(0.3f));
    q.compute_grad();  // g = -2.7
    sgd.step(q.params(), 0.1f);  // v = 0.9 * -3 - 2.7 = -5.4, w = 0.84
    CHECK(q.w[0] == doctest::Approx(0.84f));
    CHECK(sgd.steps() == 2);
  }

  TEST_CASE("Adam and AdamW: first step is lr * sign(g), then converge") {
    for (bool decoupled : {false, true}) {
      Quadratic q;
      train::Adam adam(0.0f, decoupled);
      q.compute_grad();
      adam.step(q.params(), 0.01f);
      CHECK(q.w[0] == doctest::Approx(0.01f).epsilon(1e-4));
      for (int i = 0; i < 3000; ++i) {
        q.compute_grad();
        adam.step(q.params(), 0.01f);
      }
      CHECK(q.w[1] == doctest::Approx(3.0f).epsilon(1e-2));
    }
    // Decoupled weight decay shrinks weights even without a gradient.
    Quadratic q;
    q.w.fill(2.0f);
    q.g.zero();
    train::Adam adamw(0.1f, true);
    adamw.step(q.params(), 0.5f);
    CHECK(q.w[0] == doctest::Approx(2.0f * (1.0f - 0.5f * 0.1f)));
    CHECK_THROWS_AS(adamw.step(q.params(), std::nanf("")), Error);
  }

  TEST_CASE("learning-rate schedules") {
    train::LrSchedule s;
    s.base_lr = 1.0f;
    s.kind = train::LrSchedule::Kind::cosine;
    s.total_steps = 110;
    s.warmup_steps = 10;
    s.min_lr = 0.0f;
    CHECK(s.at(0) == doctest::Approx(0.1f));
    CHECK(s.at(9) == doctest::Approx(1.0f));
    CHECK(s.at(10) == doctest::Approx(1.0f));
    CHECK(s.at(60) == doctest::Approx(0.5f));
    CHECK(s.at(110) == doctest::Approx(0.0f));
    CHECK(s.at(500) == doctest::Approx(0.0f));
    s.kind = train::LrSchedule::Kind::step;
    s.warmup_steps = 0;
    s.step_every = 30;
    s.step_gamma = 0.1f;
    CHECK(s.at(29) == doctest::Approx(1.0f));
    CHECK(s.at(30) == doctest::Approx(0.1f));
    CHECK(s.at(65) == doctest::Approx(0.01f));
    CHECK(train::LrSchedule::parse_kind("constant") == train::LrSchedule::Kind::constant);
    CHECK_THROWS_AS(train::LrSchedule::parse_kind("linear"), Error);
  }

  TEST_CASE("predict runs in eval mode and restores training mode") {
    model::PfldNet net(small_config());
    model::AuxNet aux(small_config());
    Rng rng(2);
    net.reset_parameters(rng);
    train::Sgd sgd;
    train::Trainer trainer(net, aux, model::PfldLoss(model::LossMode::l2), sgd, train::LrSchedule{});
    Tensor x = test::random_tensor(Shape{2, 112, 112, 3}, rng);
    CHECK(net.training());
    const Tensor eval = trainer.predict(x);
    CHECK(net.training());
    net.set_training(false);
    CHECK(test::relative_error(net.forward(x), eval) == 0.0);
  }

  TEST_CASE("initialising from another network: same-shape tensors copied, 98 -> 68 regressor rows picked") {
    auto source = test::random_eval_network(0.25f, 98, Activation::relu, 41, false);
    ModelConfig config = source->config();
    config.landmarks = 68;
    model::PfldNet net(config);
    Rng rng(42);
    net.reset_parameters(rng);
    CHECK(train::initialize_from(net, *source) ==
          static_cast<int>(net.parameters().size() + net.buffers().size()));
    const std::vector<int> map = wflw98_to_ibug68();
    REQUIRE(map.size() == 68);
    CHECK(map[8] == 16);    // the chin
    CHECK(map[36] == 60);   // an outer eye corner
    CHECK(map[48] == 76);   // a mouth corner
    const int features = net.fc().in_features();
    for (int point : {0, 8, 36, 45, 48, 67})
      for (int xy = 0; xy < 2; ++xy) {
        const int to = 2 * point + xy, from = 2 * map[static_cast<std::size_t>(point)] + xy;
        CHECK(net.fc().bias()[static_cast<std::size_t>(to)] == source->fc().bias()[static_cast<std::size_t>(from)]);
        for (int f : {0, features - 1})
          CHECK(net.fc().weight()[static_cast<std::size_t>(to * features + f)] ==
                source->fc().weight()[static_cast<std::size_t>(from * features + f)]);
      }
    CHECK(test::relative_error(net.conv1().conv().weight(), source->conv1().conv().weight()) == 0.0);
    CHECK(test::relative_error(net.conv8().bn().running_var(), source->conv8().bn().running_var()) == 0.0);

    model::PfldNet wider(ModelConfig{1.0f, 68, 112, Activation::relu});
    CHECK_THROWS_AS(train::initialize_from(wider, *source), Error);  // another backbone
    model::PfldNet other_points(ModelConfig{0.25f, 106, 112, Activation::relu});
    CHECK_THROWS_AS(train::initialize_from(other_points, *source), Error);  // no correspondence 98 -> 106
    model::PfldNet relu6(ModelConfig{0.25f, 68, 112, Activation::relu6});
    CHECK_THROWS_AS(train::initialize_from(relu6, *source), Error);
  }

  TEST_CASE("weight averaging: the element-wise mean of the networks added, statistics included") {
    auto a = test::random_eval_network(0.25f, 68, Activation::relu, 51, false);
    auto b = test::random_eval_network(0.25f, 68, Activation::relu, 52, false);
    auto c = test::random_eval_network(0.25f, 68, Activation::relu, 53, false);
    model::PfldNet mean(a->config());
    train::WeightAverage average;
    CHECK_THROWS_WITH_AS(average.copy_to(mean), doctest::Contains("nothing"), Error);
    average.add(*a);
    average.add(*b);
    average.add(*c);
    CHECK(average.count() == 3);
    average.copy_to(mean);
    auto tensors = [](model::PfldNet& net) {
      std::vector<Tensor*> out;
      for (auto& p : net.parameters()) out.push_back(p.value);
      for (auto& s : net.buffers()) out.push_back(s.value);
      return out;
    };
    const std::vector<Tensor*> ta = tensors(*a), tb = tensors(*b), tc = tensors(*c), tm = tensors(mean);
    REQUIRE(tm.size() == ta.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < tm.size(); ++i)
      for (std::size_t j = 0; j < tm[i]->numel(); ++j) {
        const double expected = (static_cast<double>((*ta[i])[j]) + (*tb[i])[j] + (*tc[i])[j]) / 3.0;
        worst = std::max(worst, std::abs((*tm[i])[j] - expected) / std::max(1.0, std::abs(expected)));
      }
    CHECK(worst < 1e-6);
    CHECK(mean.conv8().bn().running_var()[0] != a->conv8().bn().running_var()[0]);  // statistics averaged too

    // Restored as the mean of two, one more network weighs a third.
    train::WeightAverage resumed;
    model::PfldNet two(a->config());
    train::WeightAverage first_two;
    first_two.add(*a);
    first_two.add(*b);
    first_two.copy_to(two);
    resumed.restore(two, 2);
    resumed.add(*c);
    model::PfldNet again(a->config());
    resumed.copy_to(again);
    CHECK(resumed.count() == 3);
    CHECK(test::relative_error(again.fc().weight(), mean.fc().weight()) < 1e-6);
    CHECK_THROWS_AS(resumed.restore(two, 0), Error);

    model::PfldNet wider(ModelConfig{1.0f, 68, 112, Activation::relu});
    CHECK_THROWS_WITH_AS(average.add(wider), doctest::Contains("WeightAverage"), Error);
    CHECK_THROWS_WITH_AS(average.copy_to(wider), doctest::Contains("WeightAverage"), Error);
  }

  TEST_CASE("batch norm statistics averaging: the plain mean of the batches, then the moving average again") {
    nn::BatchNorm bn(3, 0.1f);
    Rng rng(12);
    const Tensor a = test::random_tensor(Shape{5, 3}, rng, -1.0f, 2.0f), b = test::random_tensor(Shape{5, 3}, rng, 0.0f, 4.0f);
    // Per channel: the batch mean and the unbiased batch variance, as running statistics keep them.
    auto stats = [](const Tensor& x, int c) {
      double m = 0, v = 0;
      for (int r = 0; r < 5; ++r) m += x[static_cast<std::size_t>(r * 3 + c)];
      m /= 5;
      for (int r = 0; r < 5; ++r) v += std::pow(x[static_cast<std::size_t>(r * 3 + c)] - m, 2);
      return std::pair<double, double>{m, v / 4};
    };
    bn.forward(a);  // moving average from (0, 1) first, which averaging must forget
    bn.set_statistics_averaging(true);
    CHECK(bn.statistics_averaging());
    bn.forward(a);
    bn.forward(b);
    for (int c = 0; c < 3; ++c) {
      CHECK(bn.running_mean()[c] == doctest::Approx((stats(a, c).first + stats(b, c).first) / 2).epsilon(1e-5));
      CHECK(bn.running_var()[c] == doctest::Approx((stats(a, c).second + stats(b, c).second) / 2).epsilon(1e-5));
    }
    bn.set_statistics_averaging(false);
    const float before = bn.running_mean()[1];
    bn.forward(b);
    CHECK(bn.running_mean()[1] == doctest::Approx(0.9 * before + 0.1 * stats(b, 1).first).epsilon(1e-5));
  }

  TEST_CASE("precise batch norm: statistics re-estimated, weights and modes left as they were") {
    model::PfldNet net(small_config(5));
    Rng rng(13);
    net.reset_parameters(rng);
    const Batch a = random_batch(3, 5, rng), b = random_batch(3, 5, rng);
    net.forward(a.images);  // moving-average statistics of one batch
    const auto before = net.parameters();
    std::vector<Tensor> weights;
    for (const auto& p : before) weights.push_back(p.value->clone());
    std::vector<Tensor> old_stats;
    for (const auto& buf : net.buffers()) old_stats.push_back(buf.value->clone());

    net.set_training(false);
    int drawn = 0;
    train::estimate_batch_norm_statistics(net, 4, [&] { return ++drawn % 2 ? a : b; });
    CHECK(drawn == 4);
    CHECK_FALSE(net.training());
    for (std::size_t i = 0; i < weights.size(); ++i) CHECK(test::relative_error(*before[i].value, weights[i]) == 0.0);
    const auto stats = net.buffers();
    int changed = 0;
    for (std::size_t i = 0; i < stats.size(); ++i) changed += test::relative_error(*stats[i].value, old_stats[i]) > 0.0;
    CHECK(changed == static_cast<int>(stats.size()));

    // The first layer's input does not depend on any statistics: its average is exactly that of a and b.
    model::PfldNet fresh(small_config(5));
    for (std::size_t i = 0; i < weights.size(); ++i) *fresh.parameters()[i].value = weights[i].clone();
    fresh.set_statistics_averaging(true);
    fresh.forward(a.images);
    fresh.forward(b.images);
    const auto expected = fresh.buffers();
    CHECK(expected[0].name == "conv1.bn.running_mean");
    CHECK(test::relative_error(*stats[0].value, *expected[0].value) < 1e-6);
    CHECK(test::relative_error(*stats[1].value, *expected[1].value) < 1e-6);

    CHECK_THROWS_WITH_AS(train::estimate_batch_norm_statistics(net, 0, [&] { return a; }), doctest::Contains("batch count"), Error);
  }

  TEST_CASE("frozen batch norm: steps fit the weights and leave the statistics alone") {
    const ModelConfig c = small_config(5);
    Rng rng(14);
    const Batch batch = random_batch(4, 5, rng);
    model::PfldNet net(c);
    model::AuxNet aux(c);
    net.reset_parameters(rng);
    aux.reset_parameters(rng);
    train::Adam adam(0.0f);
    train::LrSchedule schedule;
    schedule.kind = train::LrSchedule::Kind::constant;
    schedule.base_lr = 1e-3f;
    train::Trainer trainer(net, aux, model::PfldLoss(model::LossMode::l2), adam, schedule);
    trainer.step(batch);  // statistics that are not the initial (0, 1)
    std::vector<Tensor> stats;
    for (const auto& buf : net.buffers()) stats.push_back(buf.value->clone());
    const Tensor weight = net.parameters()[0].value->clone();

    // The loss a frozen step sees is that of the eval-mode network, the one inference runs.
    model::PfldLoss l2(model::LossMode::l2);
    const Tensor no_pose;
    const float eval_loss = l2.forward(trainer.predict(batch.images), batch.landmarks, no_pose, batch.pose, batch.attributes);
    trainer.set_batch_norm_frozen(true);
    const float first = trainer.step(batch);
    CHECK(first == doctest::Approx(eval_loss).epsilon(1e-5));
    for (int k = 0; k < 20; ++k) trainer.step(batch);
    CHECK(trainer.step(batch) < 0.5f * first);
    const auto after = net.buffers();
    for (std::size_t i = 0; i < stats.size(); ++i) CHECK(test::relative_error(*after[i].value, stats[i]) == 0.0);
    CHECK(test::relative_error(*net.parameters()[0].value, weight) > 1e-4);

    trainer.set_batch_norm_frozen(false);
    const float eval_loss2 = l2.forward(trainer.predict(batch.images), batch.landmarks, no_pose, batch.pose, batch.attributes);
    CHECK(trainer.step(batch) != doctest::Approx(eval_loss2).epsilon(1e-3));
    CHECK(test::relative_error(*net.buffers()[0].value, stats[0]) > 1e-6);
  }

  TEST_CASE("distillation: targets blended with the teacher's predictions, crop by crop; a mirror-averaged teacher") {
    model::PfldNet net(small_config(5));
    Rng rng(15);
    net.reset_parameters(rng);
    const auto teacher = build_inference_graph(net);
    InferenceArena arena = teacher->make_arena();
    const Batch original = random_batch(3, 5, rng);
    auto blended = [&](float weight) {
      Batch b = original;
      b.landmarks = original.landmarks.clone();
      train::blend_teacher_targets(*teacher, arena, b, weight);
      return b.landmarks;
    };
    const Tensor all = blended(1.0f), quarter = blended(0.25f), none = blended(0.0f);
    for (int i = 0; i < 3; ++i) {
      const float* predicted = teacher->run(original.images.batch(i, 1).data(), arena);
      for (int c = 0; c < 10; ++c) {
        const std::size_t at = static_cast<std::size_t>(i * 10 + c);
        CHECK(all[at] == doctest::Approx(predicted[c]).epsilon(1e-6));
        CHECK(quarter[at] == doctest::Approx(0.75f * original.landmarks[at] + 0.25f * predicted[c]).epsilon(1e-5));
        CHECK(none[at] == original.landmarks[at]);
      }
    }
    // A mirrored teacher: the mean of its prediction and its prediction on the mirrored crop, made by hand.
    const MirrorMap map{4, 1, 2, 3, 0};  // (points 0 and 4 swap sides)
    const MirrorAveragedModel mirrored_teacher(build_inference_graph(net), map);
    InferenceArena mirrored_arena = mirrored_teacher.make_arena();
    Batch m = original;
    m.landmarks = original.landmarks.clone();
    train::blend_teacher_targets(mirrored_teacher, mirrored_arena, m, 1.0f);
    Tensor flipped(Shape{1, 112, 112, 3});
    for (int i = 0; i < 3; ++i) {
      const Tensor crop = original.images.batch(i, 1);
      for (int y = 0; y < 112; ++y)
        for (int x = 0; x < 112; ++x)
          for (int c = 0; c < 3; ++c)
            flipped[static_cast<std::size_t>((y * 112 + x) * 3 + c)] = crop[static_cast<std::size_t>((y * 112 + 111 - x) * 3 + c)];
      std::vector<float> direct(10);
      std::copy_n(teacher->run(crop.data(), arena), 10, direct.begin());
      const float* mirrored = teacher->run(flipped.data(), arena);
      double moved = 0.0;
      for (std::size_t p = 0; p < 5; ++p) {
        const std::size_t q = static_cast<std::size_t>(map[p]), at = static_cast<std::size_t>(i * 10) + 2 * p;
        CHECK(m.landmarks[at] == doctest::Approx(0.5f * (direct[2 * p] + 1.0f - mirrored[2 * q])).epsilon(1e-5));
        CHECK(m.landmarks[at + 1] == doctest::Approx(0.5f * (direct[2 * p + 1] + mirrored[2 * q + 1])).epsilon(1e-5));
        moved += std::abs(m.landmarks[at] - direct[2 * p]);
      }
      CHECK(moved > 1e-4);  // mirroring changed the teacher's answer: the checks above are not vacuous
    }
    CHECK_THROWS_WITH_AS(MirrorAveragedModel(build_inference_graph(net), MirrorMap{1, 0}),
                         doctest::Contains("mirror map of 2 points"), Error);
    CHECK_THROWS_WITH_AS(MirrorAveragedModel(build_inference_graph(net), MirrorMap{4, 1, 2, 3, 5}),
                         doctest::Contains("out of range"), Error);

    Batch wrong = random_batch(3, 6, rng);
    CHECK_THROWS_WITH_AS(train::blend_teacher_targets(*teacher, arena, wrong, 0.5f), doctest::Contains("landmarks"), Error);
    Batch b = original;
    CHECK_THROWS_WITH_AS(train::blend_teacher_targets(*teacher, arena, b, 1.5f), doctest::Contains("outside [0, 1]"), Error);
    Batch no_images;
    no_images.landmarks = original.landmarks;
    CHECK_THROWS_WITH_AS(train::blend_teacher_targets(*teacher, arena, no_images, 0.5f), doctest::Contains("do not fit"), Error);
  }

  TEST_CASE("ridge regression: an exact linear map recovered; with a ridge, the 1-D closed form") {
    Rng rng(31);
    train::RidgeRegression exact(3, 2);
    const float a[2][3] = {{0.5f, -1.0f, 2.0f}, {0.0f, 3.0f, 0.25f}}, b[2] = {0.1f, -0.7f};
    for (int i = 0; i < 50; ++i) {
      const float x[3] = {rng.uniform(-1.0f, 1.0f), rng.uniform(-1.0f, 1.0f), rng.uniform(-1.0f, 1.0f)};
      float y[2];
      for (int r = 0; r < 2; ++r) y[r] = a[r][0] * x[0] + a[r][1] * x[1] + a[r][2] * x[2] + b[r];
      exact.add(x, y);
    }
    CHECK(exact.samples() == 50);
    const std::vector<float> w = exact.solve(1e-12);
    REQUIRE(w.size() == 8);
    for (int r = 0; r < 2; ++r) {
      for (int c = 0; c < 3; ++c) CHECK(w[static_cast<std::size_t>(r * 4 + c)] == doctest::Approx(a[r][c]).epsilon(1e-5));
      CHECK(w[static_cast<std::size_t>(r * 4 + 3)] == doctest::Approx(b[r]).epsilon(1e-5));
    }

    // One input: w = cov(x, y) / (var(x) + ridge), bias = mean(y) - w mean(x).
    const float xs[4] = {1, 2, 4, 7}, ys[4] = {3, 1, 4, 1};
    train::RidgeRegression line(1, 1);
    for (int i = 0; i < 4; ++i) line.add(&xs[i], &ys[i]);
    const double mx = 3.5, my = 2.25;
    double var = 0, cov = 0;
    for (int i = 0; i < 4; ++i) var += (xs[i] - mx) * (xs[i] - mx) / 4, cov += (xs[i] - mx) * (ys[i] - my) / 4;
    const std::vector<float> l = line.solve(0.5);
    CHECK(l[0] == doctest::Approx(cov / (var + 0.5)).epsilon(1e-6));
    CHECK(l[1] == doctest::Approx(my - cov / (var + 0.5) * mx).epsilon(1e-6));

    CHECK_THROWS_WITH_AS(train::RidgeRegression(1, 1).solve(1.0), doctest::Contains("no samples"), Error);
    CHECK_THROWS_WITH_AS(line.solve(0.0), doctest::Contains("not positive"), Error);
    const float bad = std::nanf("");
    CHECK_THROWS_WITH_AS(line.add(&bad, &ys[0]), doctest::Contains("not finite"), Error);
  }

  TEST_CASE("readout fit samples: each face's standard crop, then its augmented crops, never flipped") {
    Rng rng(36);
    const FaceSet faces = random_faces(4, 3, rng);
    train::ReadoutFitOptions options;
    options.draws = 2;
    std::vector<std::vector<float>> crops, labels;
    train::for_each_fit_sample(faces, options, [&](const float* crop, const float* l) {
      crops.emplace_back(crop, crop + 112 * 112 * 3);
      labels.emplace_back(l, l + 6);
    });
    REQUIRE(crops.size() == 12);
    std::vector<float> standard(112 * 112 * 3);
    int augmented_differ = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const CropTransform t = CropTransform::from_box(bounding_box(faces.faces[i].landmarks), 112, 1.2f);
      t.warp(faces.faces[i].image.view(), standard.data());
      CHECK(crops[3 * i] == standard);
      for (std::size_t p = 0; p < 3; ++p) {
        const Point label = t.image_to_label(faces.faces[i].landmarks[p]);
        CHECK(labels[3 * i][2 * p] == doctest::Approx(label.x).epsilon(1e-5));
        CHECK(labels[3 * i][2 * p + 1] == doctest::Approx(label.y).epsilon(1e-5));
      }
      for (std::size_t d = 1; d <= 2; ++d) {
        augmented_differ += crops[3 * i + d] != standard;
        CHECK(labels[3 * i + d][0] < labels[3 * i + d][2]);  // point 0 still left of point 1: no flip
      }
    }
    CHECK(augmented_differ == 8);
    options.draws = -1;
    CHECK_THROWS_AS(train::for_each_fit_sample(faces, options, [](const float*, const float*) {}), Error);
  }

  TEST_CASE("fitted readout: the normal equations hold on the samples it was fitted to") {
    Rng rng(32);
    const auto net = build_inference_graph(*test::random_eval_network(0.25f, 5, Activation::relu, 33, false));
    const FaceSet faces = random_faces(12, 3, rng);
    train::ReadoutFitOptions options;
    options.ridge = 1e-3;
    options.draws = 1;
    const auto readout = train::fit_linear_readout(net, faces, options);
    REQUIRE(readout->landmark_count() == 3);
    // Residuals e_i = W [x_i; 1] - y_i: mean(e_i) = 0 and mean(e_i x_i') + ridge W = 0 at the minimum. The
    // residuals in double from the weights, checked against the readout's own run.
    InferenceArena arena = readout->make_arena(), net_arena = net->make_arena();
    const std::vector<float>& w = readout->weights();
    std::vector<double> mean_e(6, 0.0), grad(6 * 10, 0.0);
    double spread = 0.0, run_error = 0.0;
    const double n = 24.0;
    int samples = 0;
    train::for_each_fit_sample(faces, options, [&](const float* crop, const float* labels) {
      ++samples;
      const float* y = readout->run(crop, arena);
      const float* x = net->run(crop, net_arena);
      for (int r = 0; r < 6; ++r) {
        double fitted = w[static_cast<std::size_t>(r * 11 + 10)];
        for (int c = 0; c < 10; ++c) fitted += static_cast<double>(w[static_cast<std::size_t>(r * 11 + c)]) * x[c];
        run_error = std::max(run_error, std::abs(fitted - y[r]) / std::max(1.0, std::abs(fitted)));
        const double e = fitted - labels[r];
        mean_e[static_cast<std::size_t>(r)] += e / n;
        spread = std::max(spread, std::abs(e));
        for (int c = 0; c < 10; ++c) grad[static_cast<std::size_t>(r * 10 + c)] += e * x[c] / n;
      }
    });
    REQUIRE(samples == 24);
    double worst_mean = 0.0, worst_grad = 0.0, ridge_term = 0.0;
    for (int r = 0; r < 6; ++r) {
      worst_mean = std::max(worst_mean, std::abs(mean_e[static_cast<std::size_t>(r)]));
      for (int c = 0; c < 10; ++c) {
        const double penalty = options.ridge * w[static_cast<std::size_t>(r * 11 + c)];
        worst_grad = std::max(worst_grad, std::abs(grad[static_cast<std::size_t>(r * 10 + c)] + penalty));
        ridge_term = std::max(ridge_term, std::abs(penalty));
      }
    }
    CHECK(spread > 0.01);       // the labels are not a linear function of the outputs: a real fit
    CHECK(ridge_term > 1e-5);   // and the ridge matters in it
    CHECK(run_error < 1e-5);
    CHECK(worst_mean < 1e-5);
    // Float weights leave a gradient of about |X'X| x 6e-8 x |w| (0.93 % of the ridge term measured, and a
    // change in the crops' last bits moved it to 1.6 %); a wrong ridge scale would miss by 100 %.
    CHECK(worst_grad < 5e-2 * ridge_term);
    options.size = 64;
    CHECK_THROWS_WITH_AS(train::fit_linear_readout(net, faces, options), doctest::Contains("64x64"), Error);
  }

  TEST_CASE("refitted output layer: the network equals itself read through the fitted readout") {
    Rng rng(34);
    auto net = test::random_eval_network(0.25f, 5, Activation::relu, 35, true);
    const auto before = build_inference_graph(*net);
    const FaceSet faces = random_faces(12, 5, rng);
    train::ReadoutFitOptions options;
    options.ridge = 1e-3;
    const auto readout = train::fit_linear_readout(before, faces, options);
    train::refit_output_layer(*net, faces, options);
    const auto after = build_inference_graph(*net);
    InferenceArena arena = after->make_arena(), readout_arena = readout->make_arena(), before_arena = before->make_arena();
    double worst = 0.0, moved = 0.0;
    const Tensor crops = test::random_tensor(Shape{4, 112, 112, 3}, rng, 0.0f, 1.0f);
    for (int i = 0; i < 4; ++i) {
      const float* crop = crops.batch(i, 1).data();
      const float* y = after->run(crop, arena);
      const float* z = readout->run(crop, readout_arena);
      const float* x = before->run(crop, before_arena);
      for (int c = 0; c < 10; ++c) {
        worst = std::max(worst, std::abs(static_cast<double>(y[c]) - z[c]));
        moved = std::max(moved, std::abs(static_cast<double>(y[c]) - x[c]));
      }
    }
    CHECK(moved > 0.01);
    CHECK(worst < 1e-5);
    const FaceSet three = random_faces(2, 3, rng);
    CHECK_THROWS_WITH_AS(train::refit_output_layer(*net, three), doctest::Contains("3 landmarks"), Error);
  }

  TEST_CASE("checkpoint: resume gives the same next step as going on") {
    const ModelConfig c = small_config(5);
    Rng rng(6);
    const Batch batch = random_batch(4, 5, rng);
    model::PfldLoss loss(model::LossMode::full, {1.0f, 2.0f});
    train::LrSchedule schedule;
    schedule.base_lr = 1e-3f;
    schedule.total_steps = 10;

    model::PfldNet net(c);
    model::AuxNet aux(c);
    Rng init(7);
    net.reset_parameters(init);
    aux.reset_parameters(init);
    train::Adam adam(1e-4f);
    train::Trainer trainer(net, aux, loss, adam, schedule);
    trainer.step(batch);
    trainer.step(batch);
    const std::string path = temp_path("resume.ckpt");
    train::TrainingProgress progress;
    progress.epoch = 1;
    progress.step = trainer.steps_done();
    progress.extra["best_nme"] = "3.5";
    train::save_checkpoint(path, net, aux, adam, trainer.parameters(), progress);
    const float continued = trainer.step(batch);

    model::PfldNet net2(c);
    model::AuxNet aux2(c);
    train::Adam adam2(1e-4f);
    train::Trainer trainer2(net2, aux2, loss, adam2, schedule);
    const train::TrainingProgress back = train::load_checkpoint(path, net2, aux2, adam2, trainer2.parameters());
    CHECK(back.epoch == 1);
    CHECK(back.step == 2);
    CHECK(back.extra.at("best_nme") == "3.5");
    trainer2.set_steps_done(back.step);
    CHECK(trainer2.step(batch) == continued);
    auto p1 = trainer.parameters(), p2 = trainer2.parameters();
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK(test::relative_error(*p2[i].value, *p1[i].value) == 0.0);

    train::Sgd sgd;
    CHECK_THROWS_WITH_AS(train::load_checkpoint(path, net2, aux2, sgd, trainer2.parameters()),
                         doctest::Contains("optimizer"), Error);
    const std::string weights = temp_path("weights-only.pfld");
    train::save_weights(weights, net);
    CHECK_THROWS_WITH_AS(train::load_checkpoint(weights, net2, aux2, adam2, trainer2.parameters()),
                         doctest::Contains("not a training checkpoint"), Error);
    train::load_weights(path, net2);  // a checkpoint also loads as weights

    // Progress fields must be whole numbers that fit: no trailing junk, no silent truncation.
    io::ModelFile file = io::ModelFile::load(path);
    for (const auto& field : std::vector<std::pair<std::string, std::string>>{
             {"epoch", "2x"}, {"step", "4294967298"}, {"optimizer.steps", "-1"}, {"epoch", ""}}) {
      io::ModelFile damaged = file;
      damaged.metadata[field.first] = field.second;
      const std::string expected = "'" + field.first + "' is not a whole number";
      CAPTURE(expected);
      CHECK_THROWS_WITH_AS(train::load_checkpoint(damaged, "damaged.ckpt", net2, aux2, adam2, trainer2.parameters()),
                           doctest::Contains(expected.c_str()), Error);
    }
    std::remove(path.c_str());
    std::remove(weights.c_str());
  }
}

// Training runs: seconds natively, far too slow under an emulator (qemu skips this suite).
TEST_SUITE("train") {
  TEST_CASE("pseudo labels: kept by spread, written as .pts under a list, read back as training faces") {
    namespace fs = std::filesystem;
    const std::string root = temp_path("pseudo_photos"), out = temp_path("pseudo_labels");
    fs::remove_all(root);
    fs::remove_all(out);
    fs::create_directories(root + "/alice");
    const std::vector<std::string> images{root + "/alice/a_1.png", root + "/alice/a_2.png", root + "/b.png"};
    for (const std::string& path : images) io::write_png(path, Image(24, 24));
    std::vector<train::PseudoLabel> labels(3);
    for (int i = 0; i < 2; ++i) {
      labels[static_cast<std::size_t>(i)].found = true;
      labels[static_cast<std::size_t>(i)].points = {{1.0f + static_cast<float>(i), 2.0f}, {20.0f, 21.5f}};
    }
    labels[0].spread = 0.01f;
    labels[1].spread = 0.03f;  // over the threshold
    labels[2].spread = 0.0f;   // not found: never kept
    CHECK(train::write_pseudo_labels(images, labels, root, out, 0.02f) == 1);
    CHECK(fs::exists(out + "/alice/a_1.pts"));
    CHECK_FALSE(fs::exists(out + "/alice/a_2.pts"));
    CHECK_FALSE(fs::exists(out + "/b.pts"));
    const std::vector<FaceRecord> records = train::list_labelled_faces(out + "/labels.txt");
    REQUIRE(records.size() == 1);
    CHECK(fs::equivalent(records[0].image_path, images[0]));
    CHECK(records[0].landmarks.size() == 2);
    CHECK(records[0].landmarks[1].y == doctest::Approx(21.5f));
    std::vector<train::PseudoLabel> all_found = labels;
    all_found[2] = labels[0];
    CHECK_THROWS_WITH_AS(train::write_pseudo_labels(images, all_found, root + "/alice", out, 1.0f),
                         doctest::Contains("b.png: not under"), Error);
    CHECK_THROWS_WITH_AS(train::write_pseudo_labels(images, {}, root, out, 1.0f), doctest::Contains("3 images, 0 labels"),
                         Error);

    // Lists by hand: comments skipped, relative paths from the list's folder, errors with their line.
    auto list = [&](const std::string& text) {
      std::ofstream(out + "/hand.txt") << text;
      return out + "/hand.txt";
    };
    CHECK(train::list_labelled_faces(list("# comment\n" + images[0] + "\talice/a_1.pts\n")).size() == 1);
    CHECK_THROWS_WITH_AS(train::list_labelled_faces(list("# c\n" + images[0] + " alice/a_1.pts\n")),
                         doctest::Contains("hand.txt:2: expected IMAGE<tab>PTS"), Error);
    CHECK_THROWS_WITH_AS(train::list_labelled_faces(list(images[0] + "\tmissing.pts\n")),
                         doctest::Contains("missing.pts: cannot open"), Error);
    CHECK_THROWS_WITH_AS(train::list_labelled_faces(list("# nothing\n")), doctest::Contains("no faces"), Error);
    CHECK_THROWS_WITH_AS(train::list_labelled_faces(out + "/none.txt"), doctest::Contains("cannot open the list"), Error);
    fs::remove_all(root);
    fs::remove_all(out);
  }

  TEST_CASE("pseudo labeller: the face nearest the centre, the teachers' mean, their spread (0 for one teacher)") {
    const std::string photo = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
    const std::string weights = std::string(PFLD_WEIGHTS_DIR) + "/";
    if (!std::filesystem::exists(photo)) {
      MESSAGE("skipped: needs python-matplotlib-data");
      return;
    }
    FaceSet scheme;
    scheme.landmark_count = 68;
    const train::Teacher one = train::build_teacher({weights + "pfld-0.25x-68.pfld"}, scheme, mirror_map_68(), {});
    const train::Teacher two =
        train::build_teacher({weights + "pfld-0.25x-68.pfld", weights + "pfld-1x-68.pfld"}, scheme, mirror_map_68(), {});
    REQUIRE(two.members.size() == 2);
    DetectorOptions options;
    options.refine = 1;
    const Image image = io::read_image(photo);
    train::PseudoLabeller single(one, options), pair(two, options);
    const train::PseudoLabel a = single.label(image.view()), b = pair.label(image.view());
    REQUIRE(a.found);
    REQUIRE(b.found);
    CHECK(a.spread == 0.0f);
    CHECK(b.spread > 0.0f);
    CHECK(b.spread < 0.05f);  // two good networks agree within 5 % of the eye distance
    // The mean's points: each the two members' mean, as each alone would label the face.
    Detector d0(two.members[0], options), d1(two.members[1], options);
    const Landmarks p0 = d0.detect(image.view(), b.region), p1 = d1.detect(image.view(), b.region);
    CHECK(eval::nme(b.points, p0) > 0.0f);
    CHECK(b.spread == doctest::Approx(0.5f * (eval::nme(p0, b.points) + eval::nme(p1, b.points))).epsilon(1e-4));
    CHECK(eval::nme(a.points, p0) < 1e-6f);  // the one-member teacher is that member
    // No face: not found, an infinite spread.
    const train::PseudoLabel none = single.label(Image(64, 64).view());
    CHECK_FALSE(none.found);
    CHECK(std::isinf(none.spread));
    CHECK_THROWS_WITH_AS(train::build_teacher({weights + "none.pfld"}, scheme, mirror_map_68(), {}),
                         doctest::Contains("teacher "), Error);
    CHECK_THROWS_WITH_AS(train::PseudoLabeller(train::Teacher{}, options), doctest::Contains("an empty teacher"), Error);
  }
}

TEST_SUITE("training") {
  TEST_CASE("fit: epochs, validation, the best kept, weight averaging, precise batch norm; a resume ends where one run ends") {
    Rng rng(41);
    const FaceSet faces = random_faces(8, 68, rng), val = random_faces(4, 68, rng);
    const eval::EvalCrops val_crops = eval::make_eval_crops(val, 112, 1.2f);
    const std::string dir = temp_path("fit");
    std::filesystem::remove_all(dir);
    // A whole training setup, fresh, as a tool makes one; run(epochs, resume) trains it with fit.
    struct Run {
      model::PfldNet net{small_config(68)};
      model::AuxNet aux{small_config(68)};
      train::Adam adam{1e-4f};
      std::unique_ptr<train::Trainer> trainer;
      std::unique_ptr<BatchLoader> batches, statistics;
      std::vector<train::EpochReport> reports;
    };
    auto run = [&](const std::string& out, int epochs, const std::string& resume, std::function<bool()> stop = {}) {
      auto r = std::make_unique<Run>();
      Rng init(5);
      r->net.reset_parameters(init);
      r->aux.reset_parameters(init);
      train::LrSchedule schedule;
      schedule.base_lr = 1e-3f;
      schedule.total_steps = 6;
      r->trainer = std::make_unique<train::Trainer>(r->net, r->aux, model::PfldLoss(model::LossMode::l2, {}), r->adam, schedule);
      r->batches = std::make_unique<BatchLoader>(faces, 4, AugmentOptions{}, mirror_map_68(), 9, 1);
      r->statistics = std::make_unique<BatchLoader>(faces, 4, AugmentOptions{}, mirror_map_68(), 10, 1);
      std::filesystem::create_directories(out);
      train::FitOptions options;
      options.epochs = epochs;
      options.out_dir = out;
      options.val = &val;
      options.val_crops = &val_crops;
      options.precise_bn = 2;
      options.statistics_batches = r->statistics.get();
      options.average_from = 2;
      options.resume = resume;
      options.metadata["loss"] = "l2";
      options.stop = std::move(stop);
      train::FitCallbacks callbacks;
      callbacks.on_epoch = [&r](const train::EpochReport& e) { r->reports.push_back(e); };
      const train::FitResult result = train::fit(*r->trainer, r->net, r->aux, r->adam, *r->batches, options, callbacks);
      return std::make_pair(std::move(r), result);
    };

    // Three epochs in one go.
    auto [straight, result] = run(dir + "/straight", 3, "");
    REQUIRE(straight->reports.size() == 3);
    double best = 1e9;
    for (int e = 0; e < 3; ++e) {
      const train::EpochReport& report = straight->reports[static_cast<std::size_t>(e)];
      CHECK(report.epoch == e + 1);
      CHECK(report.steps == 2 * (e + 1));  // 8 faces, batches of 4
      CHECK(report.averaged == (e + 1 >= 2));
      CHECK(report.val_nme > 0);
      CHECK((report.averaged ? report.val_nme_unaveraged > 0 : report.val_nme_unaveraged == -1));
      CHECK(report.best == (report.val_nme < best));
      best = std::min(best, report.val_nme);
      CHECK(report.best_val_nme == best);
    }
    CHECK(!result.stopped);
    CHECK(result.epochs_done == 3);
    CHECK(result.best_nme == best);
    const io::ModelFile kept = io::ModelFile::load(dir + "/straight/best.pfld");
    CHECK(kept.metadata.at("loss") == "l2");
    CHECK(std::stod(kept.metadata.at("val_nme")) == doctest::Approx(best));
    CHECK(io::ModelFile::load(dir + "/straight/average.pfld").metadata.at("averaged_epochs") == "2");

    // Two epochs, then a resume from their checkpoint to three: the same weights, average and reports.
    auto [first, first_result] = run(dir + "/resumed", 2, "");
    CHECK(first_result.epochs_done == 2);
    auto [second, second_result] = run(dir + "/resumed", 3, dir + "/resumed/last.ckpt");
    REQUIRE(second->reports.size() == 1);
    CHECK(second->reports[0].epoch == 3);
    CHECK(second->reports[0].steps == 6);
    CHECK(second->reports[0].val_nme == straight->reports[2].val_nme);
    CHECK(second_result.best_nme == result.best_nme);
    const auto p1 = straight->net.parameters(), p2 = second->net.parameters();
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK(test::relative_error(*p2[i].value, *p1[i].value) == 0.0);
    const io::ModelFile a = io::ModelFile::load(dir + "/straight/average.pfld"), b = io::ModelFile::load(dir + "/resumed/average.pfld");
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (std::size_t i = 0; i < a.tensors.size(); ++i) CHECK(test::relative_error(b.tensors[i].second, a.tensors[i].second) == 0.0);

    // A stop request: a checkpoint of the epoch in progress, nothing kept yet.
    int steps = 0;
    auto [stopped, stopped_result] = run(dir + "/stopped", 3, "", [&steps] { return ++steps == 1; });
    CHECK(stopped_result.stopped);
    CHECK(stopped_result.epochs_done == 0);
    CHECK(stopped->reports.empty());
    CHECK(!std::filesystem::exists(dir + "/stopped/best.pfld"));
    CHECK(io::ModelFile::load(dir + "/stopped/last.ckpt").metadata.at("step") == "1");
    // A resume whose average.pfld does not match its checkpoint is refused.
    std::filesystem::remove(dir + "/resumed/average.pfld");
    CHECK_THROWS_WITH_AS(run(dir + "/resumed", 3, dir + "/resumed/last.ckpt"), doctest::Contains("average.pfld"), Error);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("overfit: PFLD 0.25X learns 8 fixed random faces (loss falls >= 10x)") {
    // Random images with random landmark, pose and class targets: the net can only memorise them.
    // Beyond "10x below the first loss" (which learning the mean alone can give, the first loss being
    // large), the final loss must be 10x below that of predicting every sample the batch-mean landmarks.
    const ModelConfig c = small_config(68);
    model::PfldNet net(c);
    model::AuxNet aux(c);
    Rng rng(1);
    net.reset_parameters(rng);
    aux.reset_parameters(rng);
    const Batch batch = random_batch(8, 68, rng);
    model::PfldLoss loss(model::LossMode::full, {1.0f, 2.0f});
    train::Adam adam;
    train::LrSchedule schedule;
    schedule.kind = train::LrSchedule::Kind::constant;
    schedule.base_lr = 1e-3f;
    train::Trainer trainer(net, aux, loss, adam, schedule);

    std::vector<float> curve;
    for (int step = 0; step < 80; ++step) curve.push_back(trainer.step(batch));
    std::string printed;
    for (std::size_t i = 0; i < curve.size(); i += 10) printed += std::to_string(i) + ": " + std::to_string(curve[i]) + "  ";
    printed += "79: " + std::to_string(curve.back());
    MESSAGE("overfit loss curve (step: loss): " << printed);

    // The loss of the batch-mean prediction, weighted as the loss weights it, at the final pose estimate.
    Tensor mean(batch.landmarks.shape());
    const int rows = batch.landmarks.dim(0), cols = batch.landmarks.dim(1);
    for (int j = 0; j < cols; ++j) {
      float sum = 0.0f;
      for (int m = 0; m < rows; ++m) sum += batch.landmarks[static_cast<std::size_t>(m * cols + j)];
      for (int m = 0; m < rows; ++m) mean[static_cast<std::size_t>(m * cols + j)] = sum / static_cast<float>(rows);
    }
    model::PfldLoss reference(model::LossMode::full, {1.0f, 2.0f});
    const float mean_loss = reference.forward(mean, batch.landmarks, batch.pose, batch.pose, batch.attributes);
    MESSAGE("loss of predicting the batch mean: " << mean_loss);
    CHECK(curve.back() * 10.0f < curve.front());
    CHECK(curve.back() * 10.0f < mean_loss);
  }
}
