// pfld_contact_sheet: what the network will see. Augmented training crops of a dataset, in a grid,
// with their landmark labels drawn and their head-pose labels printed.
//
//   pfld_contact_sheet --data DIR [--out sheet.png] [--count 64] [--columns 8] [--seed 1] [--zoom 2] [--no-augment]
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include <cstdio>
#include <limits>
#include <string>

#include "common/cli.hpp"
#include "common/draw.hpp"
#include "tools.hpp"

namespace pfld_contact_sheet {

int run(int argc, char** argv) {
  return cli::run_tool("pfld_contact_sheet", [&] {
    std::string data, out = "contact_sheet.png";
    int count = 64, columns = 8, zoom = 2;
    std::uint64_t seed = 1;
    pfld::AugmentOptions augment;
    cli::ArgReader args(argc, argv);
    while (args.next()) {
      const std::string& arg = args.arg();
      if (arg == "--data") data = args.value();
      else if (arg == "--out") out = args.value();
      else if (arg == "--count") count = args.integer(1, 10000);
      else if (arg == "--columns") columns = args.integer(1, 1000);
      else if (arg == "--zoom") zoom = args.integer(1, 16);
      else if (arg == "--seed") seed = static_cast<std::uint64_t>(args.integer(0, std::numeric_limits<int>::max()));
      else if (arg == "--no-augment") augment.enabled = false;
      else if (arg == "--help" || arg == "-h") {
        std::printf("usage: pfld_contact_sheet --data DIR [--out sheet.png] [--count 64] [--columns 8] [--seed 1] "
                    "[--zoom 2] [--no-augment]\n");
        return 0;
      } else throw cli::UsageError("unknown option '" + arg + "'");
    }
    if (data.empty()) throw cli::UsageError("--data DIR is required (a folder of image + .pts pairs)");

    pfld::ThreadPool pool(0);
    const auto records = pfld::list_pts_folder(data);
    const pfld::FaceSet set = pfld::load_faces(records, pfld::io::read_image, {}, &pool);
    std::printf("%zu faces, %d landmarks\n", set.size(), set.landmark_count);
    for (std::size_t c = 0; c < set.scheme.names.size(); ++c)
      std::printf("  class %-12s %5.1f %% of faces, loss weight %.2f\n", set.scheme.names[c].c_str(),
                  100.0 * static_cast<double>(set.classes.fractions[c]), static_cast<double>(set.classes.weights[c]));

    const pfld::MirrorMap mirror = pfld::mirror_map_for(set.landmark_count);
    const int s = 112, cell = s * zoom, rows = (count + columns - 1) / columns;
    pfld::Image sheet(columns * cell, rows * cell);
    pfld::Rng pick(seed);
    std::vector<float> crop(static_cast<std::size_t>(s) * s * 3), labels(2 * static_cast<std::size_t>(set.landmark_count));
    for (int k = 0; k < count; ++k) {
      const pfld::Face& face = set.faces[pick.below(static_cast<std::uint32_t>(set.size()))];
      pfld::Rng rng(pick.next_u64());
      float pose[3];
      pfld::make_training_crop(face, augment, &mirror, rng, s, crop.data(), labels.data(), pose);
      const int x0 = (k % columns) * cell, y0 = (k / columns) * cell;
      for (int y = 0; y < cell; ++y)
        for (int x = 0; x < cell; ++x) {
          const float* rgb = crop.data() + (static_cast<std::size_t>(y / zoom) * s + x / zoom) * 3;
          std::uint8_t* p = sheet.at(x0 + x, y0 + y);
          for (int c = 0; c < 3; ++c) p[c] = static_cast<std::uint8_t>(std::lround(rgb[c] * 255.0f));
        }
      for (int i = 0; i < set.landmark_count; ++i) {
        const pfld::Point p{static_cast<float>(x0) + labels[2 * static_cast<std::size_t>(i)] * static_cast<float>(cell) - 0.5f,
                            static_cast<float>(y0) + labels[2 * static_cast<std::size_t>(i) + 1] * static_cast<float>(cell) - 0.5f};
        draw::dot(sheet, p, zoom > 1 ? 1 : 0, draw::landmark_colour(static_cast<std::size_t>(i), static_cast<std::size_t>(set.landmark_count)));
      }
      char caption[64];
      std::snprintf(caption, sizeof caption, "Y%+.0f P%+.0f R%+.0f", static_cast<double>(pfld::degrees(pose[0])),
                    static_cast<double>(pfld::degrees(pose[1])), static_cast<double>(pfld::degrees(pose[2])));
      draw::text(sheet, x0 + 2, y0 + 2, caption, {255, 255, 255});
    }
    pfld::io::write_png(out, sheet);
    std::printf("wrote %s: %d crops (%s), landmarks green = image-left eye and brow, red = image-right; "
                "Y/P/R = yaw/pitch/roll label in degrees\n",
                out.c_str(), count, augment.enabled ? "augmented" : "not augmented");
    return 0;
  });
}

}  // namespace pfld_contact_sheet
