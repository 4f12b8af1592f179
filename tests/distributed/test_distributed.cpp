// Data-parallel training over MPI, run as `mpirun -np 2 pfld_distributed_test` (tests/distributed/run.sh):
//
// - the ranks, each stepping on its half of every global batch with synchronised batch norm, end with the
//   weights that one process stepping on the whole batches reaches (rank 0 runs that reference too);
// - with each rank's own batch-norm statistics (local) the weights differ from it: the option acts;
// - every rank holds the same weights as rank 0 after the steps;
// - a stop that rank 1 alone asks for at step 1 reaches every rank with that step, and no other step.
// With --die, rank 1 kills itself after the first step: mpirun must end the job, not hang (run.sh
// checks the exit status and the time).
//
// Tolerance: the replicas add their gradients in another order than one process sums a batch (two
// halves, then one MPI sum), and batch norm combines its statistics per rank before across ranks;
// float rounding of those sums is all that differs: measured 2e-7 of the weights' scale after 3 steps
// (the check allows 1e-5), with the network's activations off (see smooth_config) and a learning rate
// that keeps the loss of these random faces from growing. Local batch norm normalises each half with
// its own statistics: 0.1 (the check wants over 1e-4).
#include <pfld/pfld.hpp>
#include <pfld/train/distributed.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

constexpr int kGlobalBatch = 8, kSteps = 3, kClasses = 4;

// Global batch `step`: images, landmarks, poses and classes drawn from an Rng seeded by the step; `first`
// and `count` pick the faces (a rank's part).
pfld::Batch make_batch(const pfld::ModelConfig& config, int step, int first, int count) {
  pfld::Rng rng(1000 + static_cast<std::uint64_t>(step));
  const int points = config.landmarks;
  pfld::Batch all;
  all.images = pfld::Tensor(pfld::Shape{kGlobalBatch, 112, 112, 3});
  all.landmarks = pfld::Tensor(pfld::Shape{kGlobalBatch, 2 * points});
  all.pose = pfld::Tensor(pfld::Shape{kGlobalBatch, 3});
  all.attributes = pfld::Tensor(pfld::Shape{kGlobalBatch, kClasses});
  for (float& v : all.images) v = rng.uniform();
  for (float& v : all.landmarks) v = 0.2f + 0.6f * rng.uniform();
  for (float& v : all.pose) v = 0.5f * (rng.uniform() - 0.5f);
  for (float& v : all.attributes) v = rng.uniform() < 0.3f ? 1.0f : 0.0f;
  pfld::Batch part;
  auto rows = [&](const pfld::Tensor& t, const pfld::Shape& shape) {  // shape: `count` rows of t's
    const std::size_t row = t.numel() / kGlobalBatch;
    pfld::Tensor out(shape);
    std::copy(t.data() + static_cast<std::size_t>(first) * row, t.data() + static_cast<std::size_t>(first + count) * row, out.data());
    return out;
  };
  part.images = rows(all.images, pfld::Shape{count, 112, 112, 3});
  part.landmarks = rows(all.landmarks, pfld::Shape{count, 2 * points});
  part.pose = rows(all.pose, pfld::Shape{count, 3});
  part.attributes = rows(all.attributes, pfld::Shape{count, kClasses});
  return part;
}

// Without activation kinks: a ReLU whose input sits within rounding of 0 passes or blocks a whole path,
// so with ReLU two correct runs that only sum in another order part by a few percent of an update.
pfld::ModelConfig smooth_config() {
  pfld::ModelConfig c;
  c.activation = pfld::Activation::identity;
  return c;
}

struct Run {
  pfld::ModelConfig config = smooth_config();
  pfld::model::PfldNet net{config};
  pfld::model::AuxNet aux{config};
  pfld::train::Sgd optimizer{0.9f, 0.0f};
  pfld::train::Trainer trainer;

  Run()
      : trainer(net, aux, pfld::model::PfldLoss(pfld::model::LossMode::full, {1.0f, 2.0f, 3.0f, 4.0f}), optimizer, schedule()) {
    pfld::Rng init(7);
    net.reset_parameters(init);
    aux.reset_parameters(init);
  }
  static pfld::train::LrSchedule schedule() {
    pfld::train::LrSchedule s;
    s.kind = pfld::train::LrSchedule::Kind::constant;
    s.base_lr = 1e-4f;
    return s;
  }
  std::vector<float> weights() {
    std::vector<float> out;
    for (auto& p : trainer.parameters()) out.insert(out.end(), p.value->data(), p.value->data() + p.value->numel());
    for (auto& b : net.buffers()) out.insert(out.end(), b.value->data(), b.value->data() + b.value->numel());
    return out;
  }
};

// The largest difference between a and b, relative to b's largest magnitude.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-12;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

// Trains kSteps on this rank's part of each global batch, rank 1 asking to stop at step 1; returns the
// weights, and counts in `stop_errors` the steps whose stop answer is not "at step 1".
std::vector<float> train_replicated(pfld::ReplicaGroup& replicas, bool synchronise, bool die, int& stop_errors) {
  Run run;
  run.trainer.set_replicas(&replicas, synchronise);
  const int part = kGlobalBatch / replicas.size();
  for (int step = 0; step < kSteps; ++step) {
    bool stop = replicas.rank() == 1 && step == 1;
    run.trainer.step(make_batch(run.config, step, replicas.rank() * part, part), &stop);
    if (stop != (step == 1)) ++stop_errors;
    if (die && replicas.rank() == 1) std::raise(SIGKILL);
  }
  return run.weights();
}

}  // namespace

int main(int argc, char** argv) {
  pfld::train::MpiSession mpi(argc, argv);
  pfld::train::MpiReplicas replicas;
  const bool die = argc > 1 && std::strcmp(argv[1], "--die") == 0;
  pfld::set_num_threads(1);
  if (replicas.size() < 2 || kGlobalBatch % replicas.size() != 0) {
    if (replicas.rank() == 0) std::fprintf(stderr, "pfld_distributed_test: run it on 2, 4 or 8 ranks\n");
    return 2;
  }
  try {
    int stop_errors = 0;
    const std::vector<float> synced = train_replicated(replicas, true, die, stop_errors);
    const std::vector<float> local = train_replicated(replicas, false, false, stop_errors);
    // Every rank's weights against rank 0's.
    std::vector<float> lead = synced;
    replicas.broadcast(lead.data(), lead.size(), 0);
    const double spread = relative_difference(synced, lead);
    int failures = 0;
    if (stop_errors != 0) {
      std::fprintf(stderr, "rank %d: %d steps answered the stop request wrongly (rank 1 asks at step 1)\n",
                   replicas.rank(), stop_errors);
      ++failures;
    }
    if (spread != 0.0) {
      std::fprintf(stderr, "rank %d: weights differ from rank 0's by %.3g\n", replicas.rank(), spread);
      ++failures;
    }
    if (replicas.rank() == 0) {
      Run reference;  // one process, whole batches
      for (int step = 0; step < kSteps; ++step) reference.trainer.step(make_batch(reference.config, step, 0, kGlobalBatch));
      const std::vector<float> expected = reference.weights();
      const double synced_error = relative_difference(synced, expected);
      const double local_error = relative_difference(local, expected);
      std::printf("%d ranks, %d steps of %d faces: synchronised batch norm %.3g from one process (allowed 1e-5), "
                  "local batch norm %.3g (must exceed 1e-4)\n", replicas.size(), kSteps, kGlobalBatch, synced_error, local_error);
      if (!(synced_error <= 1e-5)) {
        std::fprintf(stderr, "FAIL: the replicas' weights are not one process's\n");
        ++failures;
      }
      if (!(local_error > 1e-4)) {
        std::fprintf(stderr, "FAIL: local batch norm gave one process's weights: the option does nothing\n");
        ++failures;
      }
    }
    double total = failures;
    replicas.sum(&total, 1);
    return total == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pfld_distributed_test: rank %d: %s\n", replicas.rank(), e.what());
    replicas.abort(1);
  }
}
