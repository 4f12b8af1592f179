// pfld: the practical facial landmark detector (Guo et al., 2019), header-only C++17.
// Include this one header for everything (training and inference); a program that only runs models
// includes infer.hpp instead. docs/ARCHITECTURE.md describes the layers.
//
// The tree mirrors the architecture:
//   core/     tensor, errors, RNG, thread pool, CPU features
//   kernels/  compute loops per ISA (ref = scalar oracle)
//   nn/       training-path layers with forward and backward
//   model/    the PFLD network (its description, architecture.hpp, and the trainable net), the
//             auxiliary pose net, the weighted loss
//   train/    optimisers, learning-rate schedules, the training step and loop (fit), weights and
//             checkpoints, data-parallel training (MPI: train/distributed.hpp, opt-in)
//   data/     images, annotations (.pts, WFLW), crops, augmentation, head pose, attribute classes
//   eval/     NME, failure rate, AUC; evaluation with the standard crop protocol
//   infer/    the inference runtime (GraphNet), pfld's networks on it, ONNX import, the Detector
//   facedet/  face detectors: YuNet (on the runtime), the Haar / LBP cascade
//   io/       the model file format, ONNX files, shipped weights (image files: io/image_file.hpp, optional)
#pragma once

#include "infer.hpp"
#include "version.hpp"

#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/parse.hpp"
#include "core/replica_group.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"
#include "core/thread_pool.hpp"

#include "kernels/activation.hpp"
#include "kernels/conv_geometry.hpp"
#include "kernels/int8_depthwise.hpp"
#include "kernels/int8_gemm.hpp"

#include "nn/activation.hpp"
#include "nn/add.hpp"
#include "nn/batch_norm.hpp"
#include "nn/concat.hpp"
#include "nn/conv2d.hpp"
#include "nn/global_avg_pool.hpp"
#include "nn/init.hpp"
#include "nn/layer.hpp"
#include "nn/linear.hpp"
#include "nn/max_pool.hpp"

#include "model/architecture.hpp"
#include "model/aux_net.hpp"
#include "model/config.hpp"
#include "model/inference_graph.hpp"
#include "model/loss.hpp"
#include "model/pfld_net.hpp"

#include "train/batch_norm_statistics.hpp"
#include "train/checkpoint.hpp"
#include "train/data_parallel.hpp"
#include "train/distillation.hpp"
#include "train/fit.hpp"
#include "train/fit_readout.hpp"
#include "train/initialize.hpp"
#include "train/lr_schedule.hpp"
#include "train/optimizer.hpp"
#include "train/refit_output_layer.hpp"
#include "train/ridge_regression.hpp"
#include "train/pseudo_labels.hpp"
#include "train/teacher.hpp"
#include "train/trainer.hpp"
#include "train/weight_average.hpp"

#include "data/attributes.hpp"
#include "data/augment.hpp"
#include "data/batch.hpp"
#include "data/batch_loader.hpp"
#include "data/crop.hpp"
#include "data/dataset.hpp"
#include "data/head_pose.hpp"
#include "data/image.hpp"
#include "data/landmarks.hpp"
#include "data/mirror.hpp"
#include "data/point_map.hpp"
#include "data/pts_file.hpp"
#include "data/turn_face.hpp"
#include "data/wflw_list.hpp"

#include "eval/evaluate.hpp"
#include "eval/face_match.hpp"
#include "eval/metrics.hpp"
#include "facedet/cascade.hpp"
#include "facedet/cascade_face_detector.hpp"
#include "facedet/default_face_detector.hpp"
#include "facedet/face_detector.hpp"
#include "facedet/region_mapping.hpp"
#include "facedet/xml.hpp"
#include "facedet/yunet.hpp"
#include "infer/activation_ranges.hpp"
#include "infer/detector.hpp"
#include "infer/ensemble_model.hpp"
#include "infer/fold.hpp"
#include "infer/graph_net.hpp"
#include "infer/int8_calibration.hpp"
#include "infer/landmark_model.hpp"
#include "infer/linear_readout.hpp"
#include "infer/mirror_averaged_model.hpp"
#include "infer/onnx_import.hpp"
#include "infer/onnx_schema.hpp"
#include "infer/pfld_graph.hpp"

#include "io/file_bytes.hpp"
#include "io/model_file.hpp"
#include "io/pfld_weights.hpp"
#include "io/onnx_export.hpp"
#include "io/onnx_model.hpp"
#include "io/protobuf.hpp"
#include "io/shipped_weights.hpp"
