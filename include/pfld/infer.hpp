// pfld for programs that only run models: the Detector (photo -> faces -> landmarks), the face
// detectors, the inference runtime with pfld's own networks and ONNX import, image views and crops,
// the model file. Nothing of the training stack (nn/, train/): see pfld.hpp for everything.
//
//   pfld::Detector detector = pfld::Detector::load("pfld-0.25x-68.pfld");
//   for (const pfld::DetectedFace& face : detector.detect_all(image.view())) ... face.landmarks ...
//
// Reading image files (stb) is separate and optional: <pfld/io/image_file.hpp>.
#pragma once

#include "version.hpp"

#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/tensor.hpp"
#include "core/thread_pool.hpp"

#include "data/crop.hpp"
#include "data/head_pose.hpp"
#include "data/image.hpp"
#include "data/landmarks.hpp"
#include "data/mirror.hpp"
#include "data/point_map.hpp"

#include "facedet/cascade_face_detector.hpp"
#include "facedet/default_face_detector.hpp"
#include "facedet/face_detector.hpp"
#include "facedet/region_mapping.hpp"
#include "facedet/yunet.hpp"

#include "infer/activation_ranges.hpp"
#include "infer/detector.hpp"
#include "infer/ensemble_model.hpp"
#include "infer/fold.hpp"
#include "infer/int8_quantization.hpp"
#include "infer/graph_net.hpp"
#include "infer/landmark_model.hpp"
#include "infer/linear_readout.hpp"
#include "infer/mirror_averaged_model.hpp"
#include "infer/onnx_import.hpp"
#include "infer/onnx_to_pfld.hpp"
#include "infer/pfld_graph.hpp"
#include "infer/weight_layout.hpp"

#include "io/model_file.hpp"
#include "io/onnx_model.hpp"
#include "io/pfld_weights.hpp"
#include "io/shipped_weights.hpp"
