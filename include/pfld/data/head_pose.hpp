// Head pose (yaw, pitch, roll) from 2-D landmarks: a perspective-n-point fit of 14 landmarks to a 3-D
// mean face, solved by Levenberg-Marquardt over rotation (axis-angle) and translation.
//
// Camera: a pinhole on the S x S crop, focal length (S/2) / tan(30 deg) (a 60-degree field of view),
// principal point at the crop centre. Angles in radians with R = Rz(roll) * Ry(yaw) * Rx(pitch), the
// decomposition OpenCV's RQDecomp3x3 returns, zero for a frontal face. Signs, as seen in the image: yaw > 0 turns the nose
// towards the image's left, pitch > 0 lowers the chin, roll > 0 turns the face clockwise.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "landmarks.hpp"

namespace pfld {
inline namespace data {

struct HeadPose {
  float yaw = 0.0f;    // radians, about the vertical axis
  float pitch = 0.0f;  // radians, about the horizontal axis (nodding)
  float roll = 0.0f;   // radians, in the image plane
  float rms_error = 0.0f;  // RMS reprojection error of the fit, in crop pixels
};

namespace detail_pose {

// The 14-point mean face of docs/ARCHITECTURE.md, section 6. Those coordinates are left-handed (x towards the image's left,
// y up, z towards the viewer); negating all three gives camera axes (x right, y down, z away), so that a
// frontal face is the identity rotation. Fitting the left-handed original would fit a hollow face.
inline const std::array<std::array<double, 3>, 14>& mean_face() {
  static const std::array<std::array<double, 3>, 14> points = [] {
    const double raw[14][3] = {{6.825897, 6.760612, 4.402142},   {1.330353, 7.122144, 6.903745},
                               {-1.330353, 7.122144, 6.903745},  {-6.825897, 6.760612, 4.402142},
                               {5.311432, 5.485328, 3.987654},   {1.789930, 5.393625, 4.413414},
                               {-1.789930, 5.393625, 4.413414},  {-5.311432, 5.485328, 3.987654},
                               {2.005628, 1.409845, 6.165652},   {-2.005628, 1.409845, 6.165652},
                               {2.774015, -2.080775, 5.048531},  {-2.774015, -2.080775, 5.048531},
                               {0.000000, -3.116408, 6.097667},  {0.000000, -7.415691, 4.070434}};
    std::array<std::array<double, 3>, 14> p{};
    for (int i = 0; i < 14; ++i)
      for (int k = 0; k < 3; ++k) p[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)] = -raw[i][k];
    return p;
  }();
  return points;
}

using Mat3 = std::array<std::array<double, 3>, 3>;

// Rodrigues: axis-angle vector -> rotation matrix.
inline Mat3 rotation_from_vector(const double r[3]) {
  const double theta = std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
  Mat3 R{};
  if (theta < 1e-12) {
    R = {{{1, -r[2], r[1]}, {r[2], 1, -r[0]}, {-r[1], r[0], 1}}};
    return R;
  }
  const double k[3] = {r[0] / theta, r[1] / theta, r[2] / theta};
  const double c = std::cos(theta), s = std::sin(theta), v = 1 - c;
  R = {{{c + k[0] * k[0] * v, k[0] * k[1] * v - k[2] * s, k[0] * k[2] * v + k[1] * s},
        {k[1] * k[0] * v + k[2] * s, c + k[1] * k[1] * v, k[1] * k[2] * v - k[0] * s},
        {k[2] * k[0] * v - k[1] * s, k[2] * k[1] * v + k[0] * s, c + k[2] * k[2] * v}}};
  return R;
}

// Solves the n x n system A x = b by Gaussian elimination with partial pivoting; false if singular.
template <int N>
bool solve(double A[N][N], double b[N], double x[N]) {
  for (int col = 0; col < N; ++col) {
    int pivot = col;
    for (int r = col + 1; r < N; ++r)
      if (std::abs(A[r][col]) > std::abs(A[pivot][col])) pivot = r;
    if (std::abs(A[pivot][col]) < 1e-300) return false;
    for (int c = 0; c < N; ++c) std::swap(A[col][c], A[pivot][c]);
    std::swap(b[col], b[pivot]);
    for (int r = col + 1; r < N; ++r) {
      const double f = A[r][col] / A[col][col];
      for (int c = col; c < N; ++c) A[r][c] -= f * A[col][c];
      b[r] -= f * b[col];
    }
  }
  for (int r = N - 1; r >= 0; --r) {
    double s = b[r];
    for (int c = r + 1; c < N; ++c) s -= A[r][c] * x[c];
    x[r] = s / A[r][r];
  }
  return true;
}

}  // namespace detail_pose

// Landmark indices of the 14 PnP points for the built-in markups.
inline std::array<int, 14> pose_landmark_indices(int landmarks) {
  if (landmarks == 68) return {17, 21, 22, 26, 36, 39, 42, 45, 31, 35, 48, 54, 57, 8};
  if (landmarks == 98) return {33, 38, 50, 46, 60, 64, 68, 72, 55, 59, 76, 82, 85, 16};
  detail::fail("head pose: no 14-point correspondence for ", landmarks, " landmarks (68 and 98 are built in)");
}

// Yaw, pitch and roll of a rotation R = Rz(roll) Ry(yaw) Rx(pitch).
inline HeadPose pose_from_rotation(const detail_pose::Mat3& R) {
  HeadPose p;
  p.yaw = static_cast<float>(std::asin(std::max(-1.0, std::min(1.0, -R[2][0]))));
  p.pitch = static_cast<float>(std::atan2(R[2][1], R[2][2]));
  p.roll = static_cast<float>(std::atan2(R[1][0], R[0][0]));
  return p;
}

// Fits the mean face to 14 image points given in crop pixels of an S x S crop. Also returns the fitted
// rotation vector and translation when asked (for tests against other solvers).
inline HeadPose estimate_head_pose(const std::array<Point, 14>& points, int crop_size = 112,
                                   std::array<double, 6>* solution = nullptr) {
  for (const Point& p : points)
    detail::require(std::isfinite(p.x) && std::isfinite(p.y), "head pose: landmark is not a finite number");
  const auto& model = detail_pose::mean_face();
  const double f = (crop_size / 2.0) / std::tan(3.141592653589793 / 6.0), c0 = crop_size / 2.0;

  auto residuals = [&](const double p[6], double out[28]) {
    const detail_pose::Mat3 R = detail_pose::rotation_from_vector(p);
    for (int i = 0; i < 14; ++i) {
      const auto& X = model[static_cast<std::size_t>(i)];
      double cam[3];
      for (int r = 0; r < 3; ++r) cam[r] = R[r][0] * X[0] + R[r][1] * X[1] + R[r][2] * X[2] + p[3 + r];
      const double z = std::max(cam[2], 1e-6);
      out[2 * i] = f * cam[0] / z + c0 - points[static_cast<std::size_t>(i)].x;
      out[2 * i + 1] = f * cam[1] / z + c0 - points[static_cast<std::size_t>(i)].y;
    }
  };
  auto cost = [&](const double p[6]) {
    double r[28], s = 0;
    residuals(p, r);
    for (double v : r) s += v * v;
    return s;
  };

  // Start frontal, at the depth where the model's width matches the points' width.
  double mx = 0, my = 0, spread = 0;
  for (const Point& p : points) mx += p.x / 14.0, my += p.y / 14.0;
  for (const Point& p : points) spread += std::hypot(p.x - mx, p.y - my) / 14.0;
  double model_spread = 0;
  for (const auto& X : model) model_spread += std::hypot(X[0], X[1]) / 14.0;
  const double z0 = f * model_spread / std::max(spread, 1e-3);
  double p[6] = {0, 0, 0, (mx - c0) * z0 / f, (my - c0) * z0 / f, z0};

  double lambda = 1e-3, current = cost(p);
  for (int iteration = 0; iteration < 100; ++iteration) {
    double r[28], J[28][6];
    residuals(p, r);
    for (int k = 0; k < 6; ++k) {  // central-difference Jacobian
      const double h = k < 3 ? 1e-6 : 1e-6 * std::max(1.0, std::abs(p[k]));
      double plus[6], minus[6], rp[28], rm[28];
      for (int j = 0; j < 6; ++j) plus[j] = minus[j] = p[j];
      plus[k] += h, minus[k] -= h;
      residuals(plus, rp);
      residuals(minus, rm);
      for (int i = 0; i < 28; ++i) J[i][k] = (rp[i] - rm[i]) / (2 * h);
    }
    double JtJ[6][6] = {}, Jtr[6] = {};
    for (int i = 0; i < 28; ++i)
      for (int a = 0; a < 6; ++a) {
        Jtr[a] += J[i][a] * r[i];
        for (int b = 0; b < 6; ++b) JtJ[a][b] += J[i][a] * J[i][b];
      }
    bool improved = false;
    for (int attempt = 0; attempt < 10 && !improved; ++attempt) {
      double A[6][6], b[6], step[6];
      for (int a = 0; a < 6; ++a) {
        for (int c = 0; c < 6; ++c) A[a][c] = JtJ[a][c];
        A[a][a] += lambda * (JtJ[a][a] + 1e-9);
        b[a] = -Jtr[a];
      }
      if (!detail_pose::solve<6>(A, b, step)) {
        lambda *= 10;
        continue;
      }
      double trial[6];
      for (int a = 0; a < 6; ++a) trial[a] = p[a] + step[a];
      const double c = cost(trial);
      if (c < current) {
        const double gain = current - c;
        for (int a = 0; a < 6; ++a) p[a] = trial[a];
        current = c;
        lambda = std::max(lambda / 10, 1e-12);
        improved = true;
        if (gain < 1e-12 * (1 + current)) iteration = 100;
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  HeadPose pose = pose_from_rotation(detail_pose::rotation_from_vector(p));
  pose.rms_error = static_cast<float>(std::sqrt(current / 14.0));
  if (solution)
    for (int k = 0; k < 6; ++k) (*solution)[static_cast<std::size_t>(k)] = p[k];
  return pose;
}

// The pose of a face from its full landmark set (68 or 98 points) in crop pixels.
inline HeadPose estimate_head_pose(const Landmarks& crop_points, int crop_size = 112) {
  const auto idx = pose_landmark_indices(static_cast<int>(crop_points.size()));
  std::array<Point, 14> chosen;
  for (std::size_t i = 0; i < 14; ++i) chosen[i] = crop_points[static_cast<std::size_t>(idx[i])];
  return estimate_head_pose(chosen, crop_size);
}

}  // namespace data
}  // namespace pfld
