// Builds against an installed pfld (find_package or pkg-config) and runs one layer.
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
  return features.shape() == pfld::Shape{1, 56, 56, 8} ? 0 : 1;
}
