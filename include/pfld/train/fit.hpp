// The training loop (in the spirit of dlib's dnn_trainer and Keras' fit): epochs of Trainer steps,
// then per epoch weight averaging, precise batch norm, validation, the best weights kept, a resumable
// checkpoint; resume from that checkpoint; a stop request (Ctrl-C) ends with a checkpoint. Progress
// goes to callbacks, so a tool prints and logs what it likes. pfld_train is option parsing around fit.
//
// Data-parallel (the trainer's replicas, train/distributed.hpp): every replica runs fit on its own
// shard's batches; they step together (the epoch as long as the shortest shard's), stop together, and
// replica 0 alone averages, validates and writes the files, then hands its weights and batch-norm
// statistics to the others at the end of each epoch.
//
// Files in FitOptions::out_dir: best.pfld (the best validation NME, or the last epoch without
// validation faces), last.ckpt (resumable), average.pfld (with weight averaging: the mean network,
// which is then what is validated and kept).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "../data/batch_loader.hpp"
#include "../data/dataset.hpp"
#include "../eval/evaluate.hpp"
#include "../model/aux_net.hpp"
#include "../model/pfld_net.hpp"
#include "batch_norm_statistics.hpp"
#include "checkpoint.hpp"
#include "trainer.hpp"
#include "weight_average.hpp"

namespace pfld::train {

struct FitOptions {
  int epochs = 100;
  std::string out_dir;  // where the files go; must exist
  // Validation faces and their standard crops (eval::make_eval_crops); both or neither.
  const FaceSet* val = nullptr;
  const eval::EvalCrops* val_crops = nullptr;
  // Precise batch norm: before each validation, the statistics averaged over this many batches of
  // `statistics_batches` (0: the moving averages training keeps).
  int precise_bn = 0;
  BatchLoader* statistics_batches = nullptr;
  // Weight averaging from this epoch (1-based) on: the mean of the weights at the ends of epochs
  // average_from, average_from + 1, ... is validated and kept. 0: off.
  int average_from = 0;
  std::string resume;                           // a last.ckpt to continue from ("": start anew)
  std::map<std::string, std::string> metadata;  // written into every file (the loss, the teachers...)
  // Asked after every step; true ends the run after a checkpoint of the epoch in progress (which a
  // resume restarts). E.g. a flag a SIGINT handler sets.
  std::function<bool()> stop;
};

namespace detail_fit {

// Replica 0's weights and batch-norm statistics on every replica.
inline void broadcast_state(ReplicaGroup& replicas, nn::Layer& layer) {
  for (const nn::Parameter& p : layer.parameters()) replicas.broadcast(p.value->data(), p.value->numel(), 0);
  for (const nn::Buffer& b : layer.buffers()) replicas.broadcast(b.value->data(), b.value->numel(), 0);
}

}  // namespace detail_fit

// After every step: where the epoch stands, for progress lines (images over every replica).
struct StepReport {
  int epoch = 0;  // 0-based
  int step_in_epoch = 0, steps_per_epoch = 0;
  double mean_loss = 0.0;  // over the epoch's steps so far
  double images_per_second = 0.0;
  double seconds_left = 0.0;  // at this epoch's rate, for the whole run
};

// After each epoch's validation and checkpoint. NMEs are fractions (not percent); -1 without
// validation faces.
struct EpochReport {
  int epoch = 0;  // epochs done (1-based)
  int steps = 0;  // optimiser updates done
  float lr = 0.0f;
  double train_loss = 0.0;
  double val_nme = -1, val_failure_rate = -1, val_auc = -1;  // failure rate and AUC at 0.10
  double val_nme_unaveraged = -1;  // with weight averaging: the trained network's own
  Point val_bias{0, 0};            // mean signed error in units of the normaliser
  double best_val_nme = -1;        // the best validation NME so far, this epoch's included
  bool best = false;               // this epoch's weights are now best.pfld
  bool averaged = false;           // what was validated is the weight average
  double seconds = 0.0;            // since fit started
};

struct FitCallbacks {
  std::function<void(const StepReport&)> on_step;
  std::function<void(const EpochReport&)> on_epoch;
  // Once, after a resume: the epoch and step it continues from.
  std::function<void(int epoch, int step)> on_resume;
};

struct FitResult {
  int epochs_done = 0;
  double best_nme = -1;  // -1 without validation faces
  bool stopped = false;  // by FitOptions::stop: last.ckpt holds the epoch in progress
};

// Trains `net` (and `aux`, when the loss uses pose) through `trainer` and `optimizer` (those the
// trainer was made with) on `batches`; `prepare`, when given, changes each batch before its step
// (distillation targets). Requires: `batches` yields the training faces in its own order, so a resume
// seeks it to where the checkpoint stopped. Throws an Error for a checkpoint of another network or
// optimiser, or an average.pfld that does not match the checkpoint.
inline FitResult fit(Trainer& trainer, model::PfldNet& net, model::AuxNet& aux, Optimizer& optimizer, BatchLoader& batches,
                     const FitOptions& options, const FitCallbacks& callbacks = {},
                     const std::function<void(Batch&)>& prepare = {}) {
  detail::require((options.val == nullptr) == (options.val_crops == nullptr),
                  "fit: validation faces and their crops come together");
  detail::require(options.precise_bn == 0 || options.statistics_batches != nullptr,
                  "fit: precise batch norm needs its own batches");
  detail::require(options.epochs >= 0 && options.average_from >= 0, "fit: epochs and average_from must not be negative");
  ReplicaGroup* const replicas = trainer.replicas();
  const bool writes = !replicas || replicas->rank() == 0;  // validates, averages, writes the files
  const int replica_count = replicas ? replicas->size() : 1;
  const int per_epoch = replicas ? static_cast<int>(replicas->min(batches.batches_per_epoch())) : batches.batches_per_epoch();
  detail::require(per_epoch > 0 || options.epochs == 0, "fit: fewer training faces than one batch",
                  replicas ? " (on some replica)" : "");
  const std::string dir = options.out_dir.empty() ? std::string(".") : options.out_dir;
  const std::string average_path = dir + "/average.pfld", best_path = dir + "/best.pfld", last_path = dir + "/last.ckpt";

  WeightAverage average;
  std::unique_ptr<model::PfldNet> average_net;
  if (options.average_from > 0 && writes) average_net = std::make_unique<model::PfldNet>(net.config());

  FitResult result;
  int first_epoch = 0;
  double best_nme = 1e9;
  if (!options.resume.empty()) {
    const TrainingProgress p = load_checkpoint(options.resume, net, aux, optimizer, trainer.parameters());
    first_epoch = p.epoch;
    trainer.set_steps_done(p.step);
    batches.seek(p.step);
    if (options.statistics_batches) options.statistics_batches->seek(static_cast<std::int64_t>(p.epoch) * options.precise_bn);
    if (p.extra.count("best_nme")) best_nme = std::stod(p.extra.at("best_nme"));
    const int averaged = average_net ? std::max(0, p.epoch - options.average_from + 1) : 0;
    if (averaged > 0) {
      const io::ModelFile file = io::ModelFile::load(average_path);
      const auto count = file.metadata.find("averaged_epochs");
      detail::require(count != file.metadata.end() && count->second == std::to_string(averaged), average_path,
                      " is not the mean of the ", averaged, " epochs the checkpoint has averaged");
      load_weights(average_path, *average_net);
      average.restore(*average_net, averaged);
    }
    if (callbacks.on_resume) callbacks.on_resume(p.epoch, p.step);
  }
  if (replicas) {  // one starting point, whatever each replica initialised or loaded
    detail_fit::broadcast_state(*replicas, net);
    detail_fit::broadcast_state(*replicas, aux);
  }
  auto checkpoint = [&](int epochs_done) {
    if (!writes) return;
    TrainingProgress p;
    p.epoch = epochs_done;
    p.step = trainer.steps_done();
    p.extra = options.metadata;
    p.extra["best_nme"] = std::to_string(best_nme);
    save_checkpoint(last_path, net, aux, optimizer, trainer.parameters(), p);
  };
  auto with = [&](std::map<std::string, std::string> m) {
    for (const auto& [k, v] : options.metadata) m.emplace(k, v);
    return m;
  };

  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  for (int epoch = first_epoch; epoch < options.epochs; ++epoch) {
    const auto epoch_start = clock::now();
    double loss_sum = 0.0;
    for (int b = 0; b < per_epoch; ++b) {
      Batch batch = batches.next();
      if (prepare) prepare(batch);
      bool stop = options.stop && options.stop();  // any replica's request stops all, after this step
      loss_sum += trainer.step(batch, &stop);
      if (stop) {
        checkpoint(epoch);  // the epoch in progress restarts on resume
        result.epochs_done = epoch;
        result.best_nme = options.val ? best_nme : -1;
        result.stopped = true;
        return result;
      }
      if (callbacks.on_step) {
        StepReport r;
        r.epoch = epoch, r.step_in_epoch = b + 1, r.steps_per_epoch = per_epoch;
        r.mean_loss = loss_sum / (b + 1);
        const double global_batch = static_cast<double>(batches.batch_size()) * replica_count;
        r.images_per_second = (b + 1) * global_batch / std::max(1e-9, seconds_since(epoch_start));
        r.seconds_left = ((options.epochs - epoch) * static_cast<double>(per_epoch) - (b + 1)) * global_batch /
                         std::max(1e-9, r.images_per_second);
        callbacks.on_step(r);
      }
    }
    EpochReport report;
    report.epoch = epoch + 1;
    report.train_loss = per_epoch > 0 ? loss_sum / per_epoch : 0.0;
    if (writes) {  // (replica 0 of several: the others take its state below)
      // The network validated and kept: the trained one, or from average_from on the mean.
      model::PfldNet* kept = &net;
      if (average_net && epoch + 1 >= options.average_from) {
        average.add(net);
        average.copy_to(*average_net);
        kept = average_net.get();
        report.averaged = true;
      }
      if (options.precise_bn > 0) {
        kept->set_batch_norm_replicas(nullptr);  // (replica 0 alone: its batches' statistics)
        estimate_batch_norm_statistics(*kept, options.precise_bn, [&] { return options.statistics_batches->next(); });
        if (kept == &net && trainer.batch_norm_synchronised()) net.set_batch_norm_replicas(replicas);
      }
      if (kept != &net)
        save_weights(average_path, *kept, nullptr, with({{"averaged_epochs", std::to_string(average.count())}}));
      if (options.val) {
        const eval::Evaluation e = eval::evaluate(*kept, *options.val, *options.val_crops);
        report.val_nme = e.summary.mean_nme;
        report.val_failure_rate = e.summary.failure_rate(0.10);
        report.val_auc = e.summary.auc(0.10);
        report.val_bias = e.mean_signed_error;
        if (kept != &net) report.val_nme_unaveraged = eval::evaluate(net, *options.val, *options.val_crops).summary.mean_nme;
        if (report.val_nme < best_nme) {
          best_nme = report.val_nme;
          report.best = true;
          save_weights(best_path, *kept, nullptr,
                       with({{"epoch", std::to_string(epoch + 1)}, {"val_nme", std::to_string(report.val_nme)}}));
        }
        report.best_val_nme = best_nme;
      } else {
        report.best = true;
        save_weights(best_path, *kept, nullptr, with({{"epoch", std::to_string(epoch + 1)}}));
      }
      checkpoint(epoch + 1);
    }
    if (replicas) {  // replica 0's weights and statistics are everyone's
      detail_fit::broadcast_state(*replicas, net);
      detail_fit::broadcast_state(*replicas, aux);
    }
    report.steps = trainer.steps_done();
    report.lr = trainer.current_lr();
    report.seconds = seconds_since(start);
    if (callbacks.on_epoch) callbacks.on_epoch(report);
  }
  result.epochs_done = std::max(first_epoch, options.epochs);
  result.best_nme = options.val && result.epochs_done > 0 ? best_nme : -1;
  return result;
}

}  // namespace pfld::train
