// pfld_train: trains PFLD on a folder of image + .pts pairs (300-W style) or a WFLW list.
//
//   pfld_train --data DIR [--val DIR] --out DIR [options]       (--help lists them)
//
// Writes into --out: best.pfld (the weights with the best validation NME, or the last without --val),
// last.ckpt (a resumable checkpoint, also written on Ctrl-C), log.csv and curve.svg (loss and NME per
// epoch), with --average-from average.pfld (the running mean of the weights, which is then what is
// validated and kept), with --refit-output refit.pfld (the kept weights, landmark layer refitted).
// Deterministic for a fixed --seed and --threads 1.
//
// Built with MPI (tool_main.cpp), it also runs as every rank of `mpirun -np N pfld_train ...`: each rank
// loads its shard of the faces and trains on its part (--batch / N) of every global batch of --batch;
// rank 0 validates, prints and writes the files (train/fit.hpp, README "Train across machines").
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/svg_plot.hpp"
#include "tools.hpp"

namespace pfld_train {

namespace {

volatile std::sig_atomic_t interrupted = 0;
void on_signal(int) { interrupted = 1; }

struct Options {
  std::string data, wflw, images, val, out = "pfld_run", resume, mirror, init, pseudo;
  std::vector<std::string> teachers;
  float width = 0.25f;
  int epochs = 100, batch = 64, threads = 0, warmup_epochs = 2, precise_bn = 0, average_from = 0;
  std::string optimizer = "adamw", schedule = "cosine", loss = "full", distance = "l2", norm = "inter_ocular";
  float lr = 1e-3f, weight_decay = 1e-4f, momentum = 0.9f, class_weight_power = 1.0f, teacher_weight = 0.5f;
  pfld::AugmentOptions augment_options;
  int landmarks = 0, labelled_draws = 1;
  std::uint64_t seed = 1;
  bool augment = true, freeze_bn = false, teacher_mirror = false, teacher_readout = false, refit_output = false;
  bool replica_bn_sync = false;  // under mpirun: batch norm over each rank's part (sync: the global batch)
};

const char* kUsage =
    "usage: pfld_train --data DIR | --wflw LIST --images DIR   [--val DIR] [--out DIR] [options]\n"
    "  --data DIR          training faces: image + .pts pairs (0-based coordinates)\n"
    "  --wflw LIST         training faces from a WFLW annotation list, images under --images DIR\n"
    "  --pseudo LIST       also train on these teacher-labelled faces (pfld_label's labels.txt)\n"
    "  --labelled-draws N  each --data / --wflw face drawn N times an epoch (default 1): its weight\n"
    "                      against the --pseudo faces\n"
    "  --val DIR           validation faces (image + .pts); the best epoch by NME is kept\n"
    "  --out DIR           output folder (default pfld_run)\n"
    "  --width W           width multiplier, 0.25 or 1 or any (default 0.25)\n"
    "  --epochs N          (default 100)          --batch N      (default 64)\n"
    "  --optimizer NAME    adamw, adam or sgd (default adamw)\n"
    "  --lr X              base learning rate (default 1e-3)   --weight-decay X (default 1e-4)\n"
    "  --schedule NAME     cosine, step or constant (default cosine)  --warmup-epochs N (default 2)\n"
    "  --loss MODE         l2, no_geometry, no_imbalance, full, paper_literal (default full)\n"
    "  --distance D        per-coordinate distance the loss weights: l2 (the paper), l1 or wing (default l2)\n"
    "  --class-weight-power P  class weight = (1 / class fraction)^P (default 1, the paper; 0.5 tempers rare classes)\n"
    "  --landmarks N       the landmark count the data must have (default: whatever it has)\n"
    "  --threads N         compute threads (default: all cores)   --seed N (default 1)\n"
    "  --mirror FILE       mirror map for flips (68 and 98 points are built in)\n"
    "  --no-augment        train on the standard crops only\n"
    "  --rotation DEG      augmentation: rotation drawn in [-DEG, DEG] (default 30)\n"
    "  --shift S           augmentation: crop centre shift in [-S, S] of the crop side (default 0.1)\n"
    "  --occlusion P       augmentation: probability of a random occluding patch (default 0.3)\n"
    "  --grey P            augmentation: probability of a crop turned grey (default 0; with grey --pseudo\n"
    "                      photos such as LFW's, so that grey does not tell the two sets apart)\n"
    "  --flip P            augmentation: probability of a left-right flip (default 0.5; 0 keeps the annotation's\n"
    "                      left-right differences, which 300-W has)\n"
    "  --precise-bn N      before each validation, batch norm statistics = the average over N augmented batches\n"
    "                      (default 0: the moving average training keeps)\n"
    "  --freeze-bn         normalise with the running statistics and keep them fixed (fine-tuning)\n"
    "  --teacher FILE      distillation: targets blended with this trained network's predictions on each crop\n"
    "                      (.pfld or .onnx; given more than once, the mean of the teachers' predictions)\n"
    "  --teacher-weight A  the teacher's share of each target (default 0.5)\n"
    "  --teacher-mirror    each teacher's prediction averaged with its prediction on the mirrored crop\n"
    "  --teacher-readout   read each teacher (mirrored, with --teacher-mirror) through a linear map of its points\n"
    "                      fitted on the training faces' standard crops and 3 augmented crops of each (unflipped;\n"
    "                      this run's augmentation), the crops it will see (a teacher of another scheme, e.g. WFLW's\n"
    "                      98 points, needs it or the fixed correspondence; 300-W's own left-right\n"
    "                      differences, which a mirrored or flip-trained teacher averages away, come back)\n"
    "  --average-from E    weight averaging: from epoch E on, validate and keep the mean of the weights at the\n"
    "                      ends of epochs E, E+1, ... (written to average.pfld); best with --freeze-bn\n"
    "  --refit-output      after training, the kept weights' output layer refitted by least squares on the\n"
    "                      training faces' crops as --teacher-readout (refit.pfld); with --epochs 0, the --init\n"
    "                      weights' alone\n"
    "  --resume CKPT       continue from a checkpoint (same data and options)\n"
    "  --replica-bn MODE   under mpirun: batch norm statistics over each rank's part of the batch (local,\n"
    "                      the default, as PyTorch's DDP) or over the global batch (sync: what one process\n"
    "                      would compute, at a collective per layer)\n"
    "  --init FILE         start from trained weights (.pfld or a PFLD .onnx) of the same width; a 98-point\n"
    "                      WFLW model starts a 68-point one through the point correspondence\n";

bool is_onnx(const std::string& path) { return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0; }

Options parse(int argc, char** argv) {
  Options o;
  cli::ArgReader args(argc, argv);
  while (args.next()) {
    const std::string& arg = args.arg();
    if (arg == "--data") o.data = args.value();
    else if (arg == "--wflw") o.wflw = args.value();
    else if (arg == "--images") o.images = args.value();
    else if (arg == "--val") o.val = args.value();
    else if (arg == "--pseudo") o.pseudo = args.value();
    else if (arg == "--labelled-draws") o.labelled_draws = args.integer(1, 1000);
    else if (arg == "--grey") o.augment_options.grey_probability = args.number(0.0f, 1.0f);
    else if (arg == "--class-weight-power") o.class_weight_power = args.number(0.0f, 10.0f);
    else if (arg == "--landmarks") o.landmarks = args.integer(1, 100000);
    else if (arg == "--out") o.out = args.value();
    else if (arg == "--resume") o.resume = args.value();
    else if (arg == "--init") o.init = args.value();
    else if (arg == "--mirror") o.mirror = args.value();
    else if (arg == "--width") o.width = args.number(0.01f, 16.0f);
    else if (arg == "--epochs") o.epochs = args.integer(0, 1000000);
    else if (arg == "--batch") o.batch = args.integer(2, 65536);
    else if (arg == "--threads") o.threads = args.integer(0, 1024);
    else if (arg == "--warmup-epochs") o.warmup_epochs = args.integer(0, 1000000);
    else if (arg == "--optimizer") o.optimizer = args.value();
    else if (arg == "--schedule") o.schedule = args.value();
    else if (arg == "--loss") o.loss = args.value();
    else if (arg == "--distance") o.distance = args.value();
    else if (arg == "--lr") o.lr = args.number(1e-9f, 10.0f);
    else if (arg == "--weight-decay") o.weight_decay = args.number(0.0f, 1.0f);
    else if (arg == "--seed") o.seed = static_cast<std::uint64_t>(args.integer(0, std::numeric_limits<int>::max()));
    else if (arg == "--no-augment") o.augment = false;
    else if (arg == "--precise-bn") o.precise_bn = args.integer(0, 1000000);
    else if (arg == "--freeze-bn") o.freeze_bn = true;
    else if (arg == "--teacher") o.teachers.push_back(args.value());
    else if (arg == "--teacher-weight") o.teacher_weight = args.number(0.0f, 1.0f);
    else if (arg == "--teacher-mirror") o.teacher_mirror = true;
    else if (arg == "--teacher-readout") o.teacher_readout = true;
    else if (arg == "--refit-output") o.refit_output = true;
    else if (arg == "--average-from") o.average_from = args.integer(0, 1000000);
    else if (arg == "--rotation") o.augment_options.rotation_deg = args.number(0.0f, 180.0f);
    else if (arg == "--shift") o.augment_options.shift = args.number(0.0f, 0.5f);
    else if (arg == "--occlusion") o.augment_options.occlusion_probability = args.number(0.0f, 1.0f);
    else if (arg == "--flip") o.augment_options.flip_probability = args.number(0.0f, 1.0f);
    else if (arg == "--replica-bn") {
      const std::string mode = args.value();
      if (mode != "sync" && mode != "local") throw cli::UsageError("--replica-bn is sync or local, not '" + mode + "'");
      o.replica_bn_sync = mode == "sync";
    }
    else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else throw cli::UsageError("unknown option '" + arg + "'");
  }
  if (o.data.empty() == o.wflw.empty()) throw cli::UsageError("give exactly one of --data DIR and --wflw LIST");
  if (!o.wflw.empty() && o.images.empty()) throw cli::UsageError("--wflw needs --images DIR");
  if (o.epochs == 0 && !o.refit_output) throw cli::UsageError("--epochs 0 trains nothing (it only goes with --refit-output)");
  if (o.epochs == 0 && (o.init.empty() || is_onnx(o.init)))
    throw cli::UsageError("--epochs 0 refits the output layer of the --init weights: give a .pfld file");
  if (o.teacher_mirror && o.teachers.empty()) throw cli::UsageError("--teacher-mirror needs --teacher FILE");
  if (o.teacher_readout && o.teachers.empty()) throw cli::UsageError("--teacher-readout needs --teacher FILE");
  if (o.average_from > o.epochs) throw cli::UsageError("--average-from must be an epoch in [1, --epochs] (0: no averaging)");
  if (o.freeze_bn && o.precise_bn > 0) throw cli::UsageError("--freeze-bn keeps the statistics fixed; --precise-bn would change them");
  return o;
}

std::string clock(double seconds) {
  const long s = static_cast<long>(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

std::string percent(double nme) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f %%", 100.0 * nme);
  return text;
}

// Readouts are fitted on the crops they will be applied to: standard ones and this run's augmentation.
pfld::train::ReadoutFitOptions readout_options(const Options& o) {
  pfld::train::ReadoutFitOptions r;
  r.augment = o.augment_options;
  r.draws = o.augment ? 3 : 0;
  r.seed = o.seed;
  return r;
}

// The distillation teacher: each --teacher file, mirror-averaged with --teacher-mirror, in the training
// faces' scheme (remapped by the fixed correspondence, or through a readout fitted on the training
// faces); their mean when there are several. `mirror` is the training faces' mirror map. Prints each
// teacher's scores when `report`.
std::shared_ptr<const pfld::LandmarkModel> load_teacher(const Options& o, const pfld::FaceSet& train_set,
                                                        const pfld::MirrorMap& mirror,
                                                        const pfld::FaceSet* val_set, const pfld::eval::EvalCrops& val_crops,
                                                        pfld::ThreadPool& pool, bool report) {
  if (o.teachers.empty()) return nullptr;
  pfld::train::TeacherOptions options;
  options.mirror = o.teacher_mirror;
  options.readout = o.teacher_readout;
  options.readout_fit = readout_options(o);
  const pfld::train::Teacher teacher = pfld::train::build_teacher(o.teachers, train_set, mirror, options);
  if (!report) return teacher.mean;
  pfld::eval::EvalCrops train_crops;
  if (o.teacher_readout) train_crops = pfld::eval::make_eval_crops(train_set, 112, 1.2f, &pool);
  for (std::size_t i = 0; i < teacher.members.size(); ++i) {
    const pfld::LandmarkModel& net = *teacher.members[i];
    std::string scores;
    if (o.teacher_readout)
      scores += " training faces " + percent(pfld::eval::evaluate(pfld::eval::predict(net, train_crops), train_set).summary.mean_nme);
    if (val_set) scores += " validation " + percent(pfld::eval::evaluate(pfld::eval::predict(net, val_crops), *val_set).summary.mean_nme);
    std::fprintf(stderr, "teacher %s (%d points%s%s):%s\n", o.teachers[i].c_str(), net.landmark_count(),
                 o.teacher_mirror ? ", mirror-averaged" : "", o.teacher_readout ? ", fitted readout" : "",
                 scores.empty() ? " -" : scores.c_str());
  }
  if (teacher.members.size() > 1 && val_set)
    std::fprintf(stderr, "teachers' mean: validation %s\n",
                 percent(pfld::eval::evaluate(pfld::eval::predict(*teacher.mean, val_crops), *val_set).summary.mean_nme).c_str());
  return teacher.mean;
}

}  // namespace

int run(int argc, char** argv, pfld::ReplicaGroup* replicas) {
  // Under mpirun, rank 0 leads: it validates, prints and writes the files; the others train quietly.
  const bool lead = !replicas || replicas->rank() == 0;
  auto train = [&] {
    const Options o = parse(argc, argv);
    if (replicas) {
      if (o.batch % replicas->size() != 0)
        throw cli::UsageError("--batch " + std::to_string(o.batch) + " is the global batch: it must divide over the " +
                              std::to_string(replicas->size()) + " ranks");
      if (o.teacher_readout || o.refit_output)
        throw cli::UsageError(std::string(o.teacher_readout ? "--teacher-readout" : "--refit-output") +
                              " fits to every training face at once: run it in one process, not under mpirun");
    }
    const int ranks = replicas ? replicas->size() : 1;
    const int rank_batch = o.batch / ranks;  // this rank's part of each global batch
    pfld::set_num_threads(o.threads);
    pfld::ThreadPool& pool = pfld::default_thread_pool();
    if (lead) std::filesystem::create_directories(o.out);

    pfld::DatasetOptions dataset_options;
    dataset_options.pts.expected_points = o.landmarks;
    auto records = o.data.empty() ? pfld::list_wflw(o.wflw, o.images, dataset_options)
                                  : pfld::list_pts_folder(o.data, dataset_options);
    if (replicas) {
      records = pfld::train::shard(records, *replicas);
      pfld::train::require_shards(records.size() * static_cast<std::size_t>(o.labelled_draws), static_cast<std::size_t>(rank_batch),
                                  *replicas, "training faces");
    }
    pfld::FaceSet train_set = pfld::load_faces(records, pfld::io::read_image, dataset_options, &pool);
    if (lead && replicas)
      std::fprintf(stderr, "training faces: %zu in rank 0's shard, %d ranks (%d landmarks)\n", train_set.size(), ranks,
                   train_set.landmark_count);
    else if (lead)
      std::fprintf(stderr, "training faces: %zu (%d landmarks)\n", train_set.size(), train_set.landmark_count);
    // Each annotated face drawn --labelled-draws times an epoch (the teachers' readouts and --refit-output
    // take each once), and with --pseudo the teacher-labelled faces beside them.
    if (o.labelled_draws != 1) {
      for (pfld::Face& f : train_set.faces) f.draws = o.labelled_draws;
      pfld::update_class_statistics(train_set);
      if (lead) std::fprintf(stderr, "each annotated face drawn %d times an epoch\n", o.labelled_draws);
    }
    std::unique_ptr<pfld::FaceSet> mixed;
    if (!o.pseudo.empty()) {
      auto labelled = pfld::train::list_labelled_faces(o.pseudo, dataset_options);
      if (replicas) labelled = pfld::train::shard(labelled, *replicas);
      mixed = std::make_unique<pfld::FaceSet>(pfld::merge_face_sets(
          train_set, pfld::load_faces(labelled, pfld::io::read_image, dataset_options, &pool)));
      if (lead) std::fprintf(stderr, "teacher-labelled faces: %zu%s\n", mixed->size() - train_set.size(), replicas ? " in rank 0's shard" : "");
    }
    pfld::FaceSet& learn_set = mixed ? *mixed : train_set;
    if (replicas) pfld::train::share_class_statistics(learn_set, *replicas);  // the whole set's shares
    if (o.landmarks > 0 && train_set.landmark_count != o.landmarks)
      throw pfld::Error("the training faces have " + std::to_string(train_set.landmark_count) + " landmarks, --landmarks says " +
                        std::to_string(o.landmarks));
    std::vector<float> class_weights;
    for (float fraction : learn_set.classes.fractions)
      class_weights.push_back(fraction > 0 ? std::pow(fraction, -o.class_weight_power) : 0.0f);
    for (std::size_t c = 0; c < train_set.scheme.names.size() && lead; ++c)
      std::fprintf(stderr, "  class %-12s %5.1f %%, weight %.2f\n", learn_set.scheme.names[c].c_str(),
                   100.0 * static_cast<double>(learn_set.classes.fractions[c]), static_cast<double>(class_weights[c]));
    std::unique_ptr<pfld::FaceSet> val_set;
    pfld::eval::EvalCrops val_crops;
    if (!o.val.empty() && lead) {
      val_set = std::make_unique<pfld::FaceSet>(
          pfld::load_faces(pfld::list_pts_folder(o.val, dataset_options), pfld::io::read_image, dataset_options, &pool));
      if (val_set->landmark_count != train_set.landmark_count)
        throw pfld::Error("validation faces have " + std::to_string(val_set->landmark_count) + " landmarks, training faces " +
                          std::to_string(train_set.landmark_count));
      val_crops = pfld::eval::make_eval_crops(*val_set, 112, 1.2f, &pool);
      std::fprintf(stderr, "validation faces: %zu\n", val_set->size());
    }

    pfld::ModelConfig config;
    config.width = o.width;
    config.landmarks = train_set.landmark_count;
    std::unique_ptr<pfld::model::PfldNet> init_net;
    if (!o.init.empty()) {
      init_net = is_onnx(o.init) ? pfld::train::load_network(pfld::onnx_to_model_file(pfld::io::read_onnx(o.init), o.init), o.init) : pfld::train::load_network(o.init);
      config.activation = init_net->config().activation;  // the backbone keeps the activation it learned with
    }
    pfld::model::PfldNet net(config);
    pfld::model::AuxNet aux(config);
    pfld::Rng init(o.seed);
    net.reset_parameters(init);
    aux.reset_parameters(init);
    if (init_net && lead)
      std::fprintf(stderr, "initialised %d tensors from %s (%s)\n", pfld::train::initialize_from(net, *init_net),
                   o.init.c_str(), init_net->config().str().c_str());

    std::unique_ptr<pfld::train::Optimizer> optimizer;
    if (o.optimizer == "adamw") optimizer = std::make_unique<pfld::train::Adam>(o.weight_decay, true);
    else if (o.optimizer == "adam") optimizer = std::make_unique<pfld::train::Adam>(o.weight_decay, false);
    else if (o.optimizer == "sgd") optimizer = std::make_unique<pfld::train::Sgd>(o.momentum, o.weight_decay);
    else throw pfld::Error("unknown optimizer '" + o.optimizer + "' (adamw, adam or sgd)");

    const pfld::MirrorMap mirror =
        o.mirror.empty() ? pfld::mirror_map_for(train_set.landmark_count) : pfld::read_mirror_map(o.mirror, train_set.landmark_count);
    pfld::AugmentOptions augment = o.augment_options;
    augment.enabled = o.augment;
    // Each rank its own batch order and augmentation draws (rank 0 those of a run in one process).
    pfld::BatchLoader loader(learn_set, rank_batch, augment, mirror, o.seed + 7919u * static_cast<std::uint64_t>(lead ? 0 : replicas->rank()), replicas ? 1 : 2);
    const int per_epoch = replicas ? static_cast<int>(replicas->min(loader.batches_per_epoch())) : loader.batches_per_epoch();

    pfld::train::LrSchedule schedule;
    schedule.kind = pfld::train::LrSchedule::parse_kind(o.schedule);
    schedule.base_lr = o.lr;
    schedule.total_steps = o.epochs * per_epoch;
    schedule.warmup_steps = o.warmup_epochs * per_epoch;
    schedule.step_every = std::max(1, o.epochs / 3) * per_epoch;
    schedule.min_lr = o.lr * 0.01f;
    const pfld::model::LossMode mode = pfld::model::parse_loss_mode(o.loss);
    const pfld::model::Distance distance = pfld::model::parse_distance(o.distance);
    pfld::train::Trainer trainer(net, aux, pfld::model::PfldLoss(mode, class_weights, distance), *optimizer, schedule);
    trainer.set_batch_norm_frozen(o.freeze_bn);
    trainer.set_replicas(replicas, o.replica_bn_sync);
    // Its own faces and augmentation draws, so the training batches stay those of a run without it.
    std::unique_ptr<pfld::BatchLoader> statistics_loader;
    if (o.precise_bn > 0 && lead)
      statistics_loader = std::make_unique<pfld::BatchLoader>(learn_set, o.batch, augment, mirror, o.seed ^ 0x9e3779b97f4a7c15ull, 1, 2);

    const std::shared_ptr<const pfld::LandmarkModel> teacher = load_teacher(o, train_set, mirror, val_set.get(), val_crops, pool, lead);
    pfld::InferenceArena teacher_arena;
    if (teacher) teacher_arena = teacher->make_arena();

    pfld::train::FitOptions fit;
    fit.epochs = o.epochs;
    fit.out_dir = o.out;
    fit.val = val_set.get();
    fit.val_crops = val_set ? &val_crops : nullptr;
    fit.precise_bn = lead ? o.precise_bn : 0;
    fit.statistics_batches = statistics_loader.get();
    fit.average_from = o.average_from;
    fit.resume = o.resume;
    fit.metadata["loss"] = o.loss;
    fit.metadata["distance"] = o.distance;
    if (!o.init.empty()) fit.metadata["init"] = o.init;
    if (!o.pseudo.empty()) fit.metadata["pseudo"] = o.pseudo;
    for (std::size_t t = 0; t < o.teachers.size(); ++t) fit.metadata["teacher" + std::to_string(t)] = o.teachers[t];
    fit.stop = [] { return interrupted != 0; };

    const std::string csv_path = o.out + "/log.csv";
    std::ofstream csv;
    pfld::train::FitCallbacks quiet;  // (the ranks that do not lead)
    std::vector<double> plot_epochs, plot_loss, plot_nme;
    pfld::train::FitCallbacks callbacks;
    auto open_log = [&](bool append) {
      csv.open(csv_path, append ? std::ios::app : std::ios::trunc);
      if (!append) csv << "epoch,step,lr,train_loss,val_nme,val_fr_0.10,val_auc_0.10,seconds,val_nme_unaveraged\n";
    };
    if (o.resume.empty()) open_log(false);
    callbacks.on_resume = [&](int epoch, int step) {
      open_log(epoch > 0);
      std::fprintf(stderr, "resumed from %s at epoch %d, step %d\n", o.resume.c_str(), epoch, step);
    };
    auto last_print = std::chrono::steady_clock::now();
    callbacks.on_step = [&](const pfld::train::StepReport& r) {
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_print).count() < 0.5 &&
          r.step_in_epoch != r.steps_per_epoch)
        return;
      last_print = std::chrono::steady_clock::now();
      std::fprintf(stderr, "\repoch %d/%d  step %d/%d  loss %.4f  %.0f img/s  ETA %s   ", r.epoch + 1, o.epochs, r.step_in_epoch,
                   r.steps_per_epoch, r.mean_loss, r.images_per_second, clock(r.seconds_left).c_str());
    };
    callbacks.on_epoch = [&](const pfld::train::EpochReport& r) {
      if (val_set) {
        std::fprintf(stderr, " val NME %.3f %% (best %.3f %%)", 100 * r.val_nme, 100 * r.best_val_nme);
        if (r.averaged)
          std::fprintf(stderr, " (mean of epochs %d-%d; unaveraged %.3f %%)", o.average_from, r.epoch, 100 * r.val_nme_unaveraged);
        std::fprintf(stderr, "  bias x %+.4f y %+.4f\n", static_cast<double>(r.val_bias.x), static_cast<double>(r.val_bias.y));
      } else {
        std::fprintf(stderr, "\n");
      }
      csv << r.epoch << "," << r.steps << "," << r.lr << "," << r.train_loss << "," << r.val_nme << "," << r.val_failure_rate
          << "," << r.val_auc << "," << r.seconds << "," << r.val_nme_unaveraged << std::endl;
      plot_epochs.push_back(r.epoch), plot_loss.push_back(r.train_loss), plot_nme.push_back(100 * r.val_nme);
      std::string body = plot::chart("training loss", "epoch", "loss (log scale)",
                                     {{"train loss", "#1f77b4", plot_epochs, plot_loss}}, true);
      if (val_set)
        body += "<g transform='translate(0,360)'>" +
                plot::chart("validation NME", "epoch", "NME %", {{"val NME (inter-ocular)", "#d62728", plot_epochs, plot_nme}}) +
                "</g>";
      plot::write(o.out + "/curve.svg", "<svg xmlns='http://www.w3.org/2000/svg' width='640' height='" +
                                            std::string(val_set ? "720" : "360") + "'>\n" + body + "</svg>\n");
    };
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const auto start = std::chrono::steady_clock::now();
    auto seconds_since = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };
    const pfld::train::FitResult trained = pfld::train::fit(trainer, net, aux, *optimizer, loader, fit, lead ? callbacks : quiet,
                                                            [&](pfld::Batch& batch) {
                                                              if (teacher)
                                                                pfld::train::blend_teacher_targets(*teacher, teacher_arena, batch,
                                                                                                   o.teacher_weight);
                                                            });
    if (trained.stopped) {
      if (lead) std::fprintf(stderr, "\ninterrupted: resumable checkpoint in %s/last.ckpt\n", o.out.c_str());
      return 130;
    }
    if (!lead) return 0;
    const double best_nme = trained.best_nme;
    double refit_nme = -1.0;
    if (o.refit_output) {
      // The kept weights (the --init ones when nothing was trained), refitted and written apart.
      const std::string kept_path = o.epochs > 0 ? o.out + "/best.pfld" : o.init;
      std::unique_ptr<pfld::model::PfldNet> kept = pfld::train::load_network(kept_path);
      if (kept->config().landmarks != train_set.landmark_count)
        throw pfld::Error(kept_path + " predicts " + std::to_string(kept->config().landmarks) + " landmarks, the training faces have " +
                          std::to_string(train_set.landmark_count));
      std::string before;
      if (val_set) before = percent(pfld::eval::evaluate(*kept, *val_set, val_crops).summary.mean_nme) + " -> ";
      pfld::train::refit_output_layer(*kept, train_set, readout_options(o));
      std::map<std::string, std::string> metadata{{"refit_from", kept_path}, {"loss", o.loss}};
      if (val_set) {
        refit_nme = pfld::eval::evaluate(*kept, *val_set, val_crops).summary.mean_nme;
        metadata["val_nme"] = std::to_string(refit_nme);
        std::fprintf(stderr, "output layer refitted: validation NME %s%s\n", before.c_str(), percent(refit_nme).c_str());
      }
      pfld::train::save_weights(o.out + "/refit.pfld", *kept, nullptr, metadata);
    }
    char refit[48] = "";
    if (o.refit_output) std::snprintf(refit, sizeof refit, ", \"refit_val_nme\": %.5f", val_set ? 100 * refit_nme : -1.0);
    std::printf("{\"epochs\": %d, \"best_val_nme\": %.5f%s, \"seconds\": %.0f}\n", o.epochs,
                val_set && o.epochs > 0 ? 100 * best_nme : -1.0, refit, seconds_since(start));
    return 0;
  };
  if (!replicas) return cli::run_tool("pfld_train", train);
  try {
    return train();
  } catch (const cli::UsageError& e) {  // (every rank parsed the same arguments)
    if (lead) std::fprintf(stderr, "pfld_train: %s (try --help)\n", e.what());
    return 2;
  } catch (const pfld::ReplicaError& e) {  // (every rank raised it together)
    if (lead) std::fprintf(stderr, "pfld_train: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // one rank's: the others may wait for it in a collective
    std::fprintf(stderr, "pfld_train: rank %d of %d: %s\n", replicas->rank(), replicas->size(), e.what());
    std::fflush(stderr);
    replicas->abort(1);
  }
  return 1;  // (not reached: abort ends the process)
}

}  // namespace pfld_train
