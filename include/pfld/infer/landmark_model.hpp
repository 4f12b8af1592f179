// What the Detector runs: a network from a S x S x 3 crop (RGB in [0, 1], NHWC) to 2N landmark
// coordinates (x0, y0, x1, ..., crop units), with all its memory in an arena made once. Implemented by
// GraphNet (the runtime: pfld's own networks and imported ones) and the models made of models
// (LinearReadout, MirrorAveragedModel, EnsembleModel).
#pragma once

#include <algorithm>
#include <cstddef>

#include "../core/error.hpp"
#include "../core/tensor.hpp"

namespace pfld {
inline namespace infer {

// Every activation of one run, allocated once. Make it with the model's make_arena(). On huge pages
// (rounded up to 2 MB: 0.25X 2 MB, 1X 4 MB), like the weights: the layers stream through megabytes of
// activations, and fewer TLB misses make both networks a little faster.
class InferenceArena {
 public:
  InferenceArena() = default;
  explicit InferenceArena(std::size_t floats) : storage_(Tensor::on_huge_pages(Shape{checked(floats)})) {}
  float* data() { return storage_.data(); }
  std::size_t size() const { return storage_.numel(); }

 private:
  static int checked(std::size_t floats) {
    detail::require(floats <= Shape::kMaxElements, "InferenceArena: ", floats, " floats is more than a tensor holds");
    return static_cast<int>(floats);
  }

  Tensor storage_;
};

class LandmarkModel {
 public:
  virtual ~LandmarkModel() = default;

  virtual int input_size() const = 0;
  virtual int landmark_count() const = 0;
  virtual std::size_t arena_floats() const = 0;
  InferenceArena make_arena() const { return InferenceArena(arena_floats()); }

  // Where a run reads its crop, to be filled by the caller.
  virtual float* input(InferenceArena& arena) const = 0;
  // Runs on the crop in input(arena); the coordinates stay valid until the arena's next run.
  const float* run(InferenceArena& arena) const { return forward(arena); }

  // Copies `crop` (input_size()^2 x 3 floats) in, then runs.
  const float* run(const float* crop, InferenceArena& arena) const {
    const std::size_t s = static_cast<std::size_t>(input_size());
    std::copy_n(crop, s * s * 3, input(arena));
    return forward(arena);
  }

 protected:
  // What run does: the one function an implementation writes (run's overloads stay the base's).
  virtual const float* forward(InferenceArena& arena) const = 0;

  // Arena offsets on 64-byte boundaries (16 floats), so every tensor starts on a cache line.
  static std::size_t aligned(std::size_t floats) { return (floats + 15) / 16 * 16; }

  void check_arena(const InferenceArena& arena, const char* model) const {
    detail::require(arena.size() >= arena_floats(), model, ": arena of ", arena.size(), " floats, needs ",
                    arena_floats(), " (make it with make_arena())");
  }
};

}  // namespace infer
}  // namespace pfld
