// From a face detection to the region its landmarks occupy (what the landmark crop is taken around),
// fitted on annotated faces by pfld_face_calibration.
//
// A detector's box is not the landmarks' box: a Haar cascade's square sits about 15 % of its side higher
// and is about 12 % larger; YuNet's box is close but its turned and tilted faces need the keypoints.
// BoxMapping moves and scales a box (for detectors without keypoints); KeypointMapping also turns the
// region by the eye line, so a tilted head is cropped upright from the first run, and places it from
// all five keypoints, which follow a turned head where the box does not.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "../core/error.hpp"
#include "../data/crop.hpp"
#include "../data/head_pose.hpp"
#include "../data/landmarks.hpp"
#include "face_detector.hpp"

namespace pfld {
inline namespace facedet {

// region centre = box centre + (shift_x * width, shift_y * height); side = scale * width; unturned.
struct BoxMapping {
  float shift_x = 0.0f;
  float shift_y = 0.0f;
  float scale = 1.0f;

  FaceRegion apply(const Box& detection) const {
    detection.validate("box mapping");
    return {{detection.center_x() + shift_x * detection.width, detection.center_y() + shift_y * detection.height},
            scale * detection.width, 0.0f};
  }

  // The median shift and scale over pairs of a detection and the landmarks it found. Requires at least
  // one pair.
  static BoxMapping fit(const std::vector<Box>& detections, const std::vector<Landmarks>& truths) {
    detail::require(!detections.empty() && detections.size() == truths.size(), "box mapping: ", detections.size(),
                    " detections for ", truths.size(), " annotated faces");
    std::vector<float> sx, sy, sc;
    for (std::size_t i = 0; i < detections.size(); ++i) {
      const Box& d = detections[i];
      d.validate("box mapping");
      const FaceRegion truth = landmark_region(truths[i]);
      sx.push_back((truth.centre.x - d.center_x()) / d.width);
      sy.push_back((truth.centre.y - d.center_y()) / d.height);
      sc.push_back(truth.side / d.width);
    }
    return {median(sx), median(sy), median(sc)};
  }

 private:
  static float median(std::vector<float> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
};

// The region from a detection's box and five keypoints. In the frame turned by the eye line, with the
// box centre as origin and sqrt(width x height) as unit, the region's centre (x, y) and side are linear
// in the ten keypoint coordinates: row r of `weights` holds the constant, then the factors of keypoint
// 0's x, y, keypoint 1's x, y, and so on.
struct KeypointMapping {
  static constexpr int kFeatures = 11;
  std::array<std::array<float, kFeatures>, 3> weights{};

  FaceRegion apply(const FaceDetection& face) const {
    detail::require(face.has_keypoints, "keypoint mapping: the detection has no keypoints");
    const Frame frame(face);
    const std::array<double, kFeatures> f = frame.features(face.keypoints);
    double out[3] = {0, 0, 0};
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < kFeatures; ++k) out[r] += static_cast<double>(weights[r][k]) * f[k];
    // Wild keypoints must not give an empty or a huge crop.
    const double side = std::clamp(out[2], 0.25, 4.0) * frame.unit;
    return {frame.to_image(out[0], out[1]), static_cast<float>(side), frame.angle};
  }

  // The least-squares fit over pairs of a detection (with keypoints) and the landmarks it found, each
  // pair also mirrored left-right so that the map treats both sides of a face alike. Requires at
  // least kFeatures pairs.
  static KeypointMapping fit(const std::vector<FaceDetection>& detections, const std::vector<Landmarks>& truths) {
    detail::require(detections.size() >= kFeatures && detections.size() == truths.size(), "keypoint mapping: ",
                    detections.size(), " detections for ", truths.size(), " annotated faces (", kFeatures,
                    " at least)");
    double ata[kFeatures][kFeatures] = {}, atb[kFeatures][3] = {};
    auto add = [&](const std::array<double, kFeatures>& f, const double t[3]) {
      for (int i = 0; i < kFeatures; ++i) {
        for (int j = 0; j < kFeatures; ++j) ata[i][j] += f[i] * f[j];
        for (int r = 0; r < 3; ++r) atb[i][r] += f[i] * t[r];
      }
    };
    for (std::size_t i = 0; i < detections.size(); ++i) {
      const FaceDetection& d = detections[i];
      detail::require(d.has_keypoints, "keypoint mapping: detection ", i, " has no keypoints");
      const Frame frame(d);
      const FaceRegion truth = landmark_region(truths[i], frame.angle);
      double t[3];
      frame.to_frame(truth.centre, t[0], t[1]);
      t[2] = truth.side / frame.unit;
      std::array<double, kFeatures> f = frame.features(d.keypoints);
      add(f, t);
      // The mirror image: x turns round, the subject's right and left swap.
      constexpr int partner[5] = {1, 0, 2, 4, 3};
      std::array<double, kFeatures> m = f;
      for (int k = 0; k < 5; ++k) m[1 + 2 * k] = -f[1 + 2 * partner[k]], m[2 + 2 * k] = f[2 + 2 * partner[k]];
      t[0] = -t[0];
      add(m, t);
    }
    // A whisker of ridge keeps the system regular if some keypoint never moves in the data.
    for (int i = 0; i < kFeatures; ++i) ata[i][i] += 1e-6 * static_cast<double>(detections.size());
    KeypointMapping mapping;
    for (int r = 0; r < 3; ++r) {
      double a[kFeatures][kFeatures], b[kFeatures], x[kFeatures];
      for (int i = 0; i < kFeatures; ++i) {
        std::copy(ata[i], ata[i] + kFeatures, a[i]);
        b[i] = atb[i][r];
      }
      detail::require(detail_pose::solve<kFeatures>(a, b, x), "keypoint mapping: the faces do not determine the map");
      for (int k = 0; k < kFeatures; ++k) mapping.weights[r][k] = static_cast<float>(x[k]);
    }
    return mapping;
  }

 private:
  // The turned, scaled frame of one detection.
  struct Frame {
    float angle;
    double c, s, ox, oy, unit;

    explicit Frame(const FaceDetection& face) {
      face.box.validate("keypoint mapping");
      for (const Point& p : face.keypoints)
        detail::require(std::isfinite(p.x) && std::isfinite(p.y), "keypoint mapping: a keypoint is not finite");
      angle = upright_angle(face.keypoints[0], face.keypoints[1]);
      c = std::cos(angle), s = std::sin(angle);
      ox = face.box.center_x(), oy = face.box.center_y();
      unit = std::sqrt(static_cast<double>(face.box.width) * face.box.height);
    }
    void to_frame(Point p, double& a, double& b) const {
      const double dx = p.x - ox, dy = p.y - oy;
      a = (dx * c - dy * s) / unit, b = (dx * s + dy * c) / unit;
    }
    Point to_image(double a, double b) const {
      return {static_cast<float>(ox + (a * c + b * s) * unit), static_cast<float>(oy + (b * c - a * s) * unit)};
    }
    std::array<double, kFeatures> features(const std::array<Point, 5>& keypoints) const {
      std::array<double, kFeatures> f{};
      f[0] = 1.0;
      for (int k = 0; k < 5; ++k) to_frame(keypoints[static_cast<std::size_t>(k)], f[1 + 2 * k], f[2 + 2 * k]);
      return f;
    }
  };
};

}  // namespace facedet
}  // namespace pfld
