// Builds against an installed pfld (find_package or pkg-config) or a Meson subproject, runs one layer,
// and finds the shipped weights and face detector where that build says they are (PFLD_WEIGHTS_DIR).
#include <pfld/pfld.hpp>

#include <cstdio>

int main() {
  pfld::Rng rng(1);
  pfld::nn::Conv2d conv(3, 8, 3, 2, 1);
  conv.reset_parameters(rng);
  pfld::Tensor image(pfld::Shape{1, 112, 112, 3});
  for (float& v : image) v = rng.uniform();
  const pfld::Tensor& features = conv.forward(image);
  std::printf("pfld %s: conv output %s\n", PFLD_VERSION_STRING, features.shape().str().c_str());
  if (features.shape() != pfld::Shape{1, 56, 56, 8}) return 1;
  try {
    const pfld::Detector detector = pfld::Detector::load(pfld::io::shipped_weights("pfld-0.25x-68.pfld"));
    const std::unique_ptr<pfld::FaceDetector> faces = pfld::load_face_detector();
    std::printf("shipped weights in %s: %d landmarks, a face detector\n", pfld::io::shipped_weights_dir().c_str(),
                detector.landmark_count());
    return faces ? 0 : 1;
  } catch (const pfld::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
