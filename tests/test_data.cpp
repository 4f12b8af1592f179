// The data pipeline: annotation files, crops, mirror maps, head pose, real 300-W faces.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include "support/fixture.hpp"
#include "support/random_model.hpp"

using namespace pfld;

namespace {

Landmarks parse(const std::string& text, const PtsOptions& options = {}) {
  std::istringstream in(text);
  return parse_pts(in, "face.pts", options);
}

std::string data_dir() { return std::string(PFLD_TEST_DATA_DIR) + "/300w"; }
bool have_data() { return std::filesystem::is_directory(data_dir() + "/train"); }

std::string wflw_line(const std::string& flags = "0 1 0 0 1 0", const std::string& box = "10 20 110 140") {
  std::ostringstream s;
  for (int i = 0; i < 98; ++i) s << 10 + i << ".5 " << 20 + i << ".25 ";
  s << box << " " << flags << " images/face_1.jpg";
  return s.str();
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE(".pts: with and without header, 0- and 1-based") {
    const Landmarks with_header = parse("version: 1\nn_points: 3\n{\n1 2\n3.5 4\n5 6e1\n}\n");
    REQUIRE(with_header.size() == 3);
    CHECK(with_header[1].x == 3.5f);
    CHECK(with_header[2].y == 60.0f);
    const Landmarks bare = parse("1 2\n\n3.5 4\r\n5 60\n");
    REQUIRE(bare.size() == 3);
    CHECK(bare[2].x == 5.0f);
    PtsOptions one_based;
    one_based.one_based = true;
    CHECK(parse("1 2\n", one_based)[0].x == 0.0f);
    PtsOptions sixty_eight;
    sixty_eight.expected_points = 68;
    CHECK_THROWS_WITH_AS(parse("1 2\n3 4\n", sixty_eight), doctest::Contains("2 points, expected 68"), Error);
  }

  TEST_CASE(".pts: what write_pts writes reads back as the same floats, 0- or 1-based") {
    const std::string path = std::string(PFLD_TEST_TEMP_DIR) + "/written.pts";
    const Landmarks points{{0.1f, 2.5f}, {123.456789f, -7.0f}, {1e-3f, 4096.25f}};
    for (bool one_based : {false, true}) {
      PtsOptions o;
      o.one_based = one_based;
      write_pts(path, points, o);
      const Landmarks back = read_pts(path, o);
      REQUIRE(back.size() == points.size());
      for (std::size_t i = 0; i < points.size(); ++i) {
        CHECK(back[i].x == doctest::Approx(points[i].x).epsilon(1e-6));
        CHECK(back[i].y == doctest::Approx(points[i].y).epsilon(1e-6));
      }
    }
    CHECK(read_pts(path).front().x == doctest::Approx(1.1f));  // the 1-based file read 0-based
    CHECK_THROWS_WITH_AS(write_pts(path, {}), doctest::Contains("no points"), Error);
    CHECK_THROWS_WITH_AS(write_pts(path, {{std::nanf(""), 1.0f}}), doctest::Contains("not finite"), Error);
    CHECK_THROWS_WITH_AS(write_pts(std::string(PFLD_TEST_TEMP_DIR) + "/no/such/dir/x.pts", points),
                         doctest::Contains("cannot write"), Error);
    std::filesystem::remove(path);
  }

  TEST_CASE(".pts: errors name the file and line") {
    CHECK_THROWS_WITH_AS(parse("version: 1\nn_points: 2\n{\n1 2\n}\n"), doctest::Contains("header says 2 points"), Error);
    CHECK_THROWS_WITH_AS(parse("{\n1 2\n3 x\n}\n"), doctest::Contains("face.pts:3:"), Error);
    CHECK_THROWS_WITH_AS(parse("{\n1 2\n3 4 5\n}\n"), doctest::Contains("face.pts:3:"), Error);
    CHECK_THROWS_WITH_AS(parse("{\n1 nan\n}\n"), doctest::Contains("not a finite number"), Error);
    CHECK_THROWS_WITH_AS(parse("{\n1 2\n"), doctest::Contains("missing closing"), Error);
    CHECK_THROWS_WITH_AS(parse(""), doctest::Contains("no points"), Error);
    CHECK_THROWS_WITH_AS(read_pts("/nonexistent/face.pts"), doctest::Contains("cannot open"), Error);
  }

  TEST_CASE("WFLW list lines") {
    const WflwRecord r = parse_wflw_line(wflw_line(), "list.txt", 7);
    REQUIRE(r.landmarks.size() == 98);
    CHECK(r.landmarks[97].x == 107.5f);
    CHECK(r.landmarks[0].y == 20.25f);
    CHECK(r.box.width == 100.0f);
    CHECK(r.box.height == 120.0f);
    CHECK(r.attributes[1] == 1);
    CHECK(r.attributes[4] == 1);
    CHECK(r.attributes[0] == 0);
    CHECK(r.image == "images/face_1.jpg");
    CHECK_THROWS_WITH_AS(parse_wflw_line("1 2 3", "list.txt", 7), doctest::Contains("list.txt:7: expected 207 fields"),
                         Error);
    CHECK_THROWS_WITH_AS(parse_wflw_line(wflw_line("0 2 0 0 1 0"), "list.txt", 3), doctest::Contains("not 0 or 1"), Error);
    CHECK_THROWS_WITH_AS(parse_wflw_line(wflw_line("0 1 0 0 1 0", "10 20 5 140"), "l", 1), doctest::Contains("empty"),
                         Error);
    std::string nan_line = wflw_line();
    nan_line.replace(0, 4, "nan ");
    CHECK_THROWS_WITH_AS(parse_wflw_line(nan_line, "l", 1), doctest::Contains("field 1"), Error);
  }

  TEST_CASE("annotation text as an attacker writes it: strict counts, huge and tiny numbers") {
    CHECK_THROWS_WITH_AS(parse("n_points: 68abc\n{\n1 2\n}\n"), doctest::Contains("n_points is not a whole number"), Error);
    CHECK_THROWS_WITH_AS(parse("n_points: 99999999999\n{\n1 2\n}\n"), doctest::Contains("n_points"), Error);
    CHECK_THROWS_WITH_AS(parse("{\n1 2e38\n}\n"), doctest::Contains("beyond"), Error);
    CHECK(parse("1e-42 2\n")[0].x > 0.0f);  // a subnormal is a number
    // Boxes of +-3e38 made an infinite face box: coordinates past 2^24 pixels are refused.
    CHECK_THROWS_WITH_AS(parse_wflw_line(wflw_line("0 1 0 0 1 0", "-3e38 -3e38 3e38 3e38"), "l", 1),
                         doctest::Contains("beyond"), Error);
    const WflwRecord tiny = parse_wflw_line(wflw_line("0 1 0 0 1 0", "1e-40 0 110 140"), "l", 1);
    CHECK(tiny.box.x > 0.0f);
    std::istringstream blank("\n  \n");
    CHECK_THROWS_WITH_AS(parse_wflw_list(blank, "empty.txt"), doctest::Contains("empty.txt: no faces"), Error);
  }

  TEST_CASE("image files: headers that ask for too many pixels are refused before decoding") {
    // A 54-byte BMP header that declares 26000 x 26000 pixels (2 GB as RGB).
    std::vector<unsigned char> bmp(54, 0);
    auto put = [&](std::size_t at, std::uint32_t v) {
      for (int i = 0; i < 4; ++i) bmp[at + static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * i));
    };
    bmp[0] = 'B', bmp[1] = 'M';
    put(2, 54), put(10, 54), put(14, 40), put(18, 26000), put(22, 26000);
    bmp[26] = 1, bmp[28] = 24;
    CHECK_THROWS_WITH_AS(io::decode_image(bmp.data(), bmp.size(), "big.bmp"), doctest::Contains("26000x26000"), Error);
    io::ImageLimits small;
    small.max_pixels = 100;
    put(18, 11), put(22, 10);
    CHECK_THROWS_WITH_AS(io::decode_image(bmp.data(), bmp.size(), "b.bmp", small), doctest::Contains("max_pixels"), Error);
    // A JPEG Huffman table of more than 256 codes wrote past stb 2.27's table.
    const unsigned char dht[] = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x14, 0x00, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_THROWS_WITH_AS(io::decode_image(dht, sizeof dht, "dht.jpg"), doctest::Contains("more than 256 codes"), Error);
    // A scan whose Huffman tables no DHT defined: stb 2.27 decoded with uninitialised tables.
    std::vector<unsigned char> scan = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11,
                                       0x00, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9};
    CHECK_THROWS_WITH_AS(io::decode_image(scan.data(), scan.size(), "scan.jpg"),
                         doctest::Contains("Huffman table that was never defined"), Error);
    // An empty first IDAT chunk: stb 2.27 copied it from a null pointer.
    std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 8,
                                      0, 0, 0, 8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'I', 'D', 'A', 'T', 0, 0, 0, 0};
    CHECK_THROWS_WITH_AS(io::decode_image(png.data(), png.size(), "idat.png"), doctest::Contains("first IDAT chunk is empty"),
                         Error);
    // A chunk that claims 1 GiB in a 45-byte file: stb 2.27 grew its buffer to it before reading.
    png[33] = 0x40;
    CHECK_THROWS_WITH_AS(io::decode_image(png.data(), png.size(), "big.png"), doctest::Contains("runs past the end"), Error);
    CHECK_THROWS_WITH_AS(io::decode_image(dht, 0, "nothing.jpg"), doctest::Contains("empty file"), Error);
  }

  TEST_CASE("crop transform: round trips, label edges, the pixel-centre convention") {
    Rng rng(41);
    for (int trial = 0; trial < 50; ++trial) {
      const CropTransform t = CropTransform::square(rng.uniform(0, 300), rng.uniform(0, 300), rng.uniform(20, 200), 112,
                                                    rng.uniform(-1, 1), rng.bernoulli(0.5f));
      const Point p{rng.uniform(-50, 350), rng.uniform(-50, 350)};
      const Point back = t.label_to_image(t.image_to_label(p));
      CHECK(std::abs(back.x - p.x) < 1e-3f);
      CHECK(std::abs(back.y - p.y) < 1e-3f);
    }
    // An unrotated crop of the square [10, 122] x [20, 132] (side 112, scale 1): labels 0 and 1 are its edges.
    const CropTransform t = CropTransform::from_box(Box{10.0f + 112 / 2.4f * 0.2f, 20.0f + 112 / 2.4f * 0.2f,
                                                        112 / 1.2f, 112 / 1.2f},
                                                    112);
    CHECK(t.image_to_label({10.0f, 20.0f}).x == doctest::Approx(0.0f).epsilon(1e-4));
    CHECK(t.image_to_label({122.0f, 132.0f}).y == doctest::Approx(1.0f).epsilon(1e-4));
    CHECK(t.image_to_crop({10.5f, 20.5f}).x == doctest::Approx(0.0f).epsilon(1e-4));  // pixel 0's centre
    CHECK_THROWS_AS(CropTransform::from_box(Box{0, 0, 0, 10}, 112), Error);
    CHECK_THROWS_AS(CropTransform::from_box(Box{0, std::nanf(""), 10, 10}, 112), Error);
  }

  TEST_CASE("crop around points, turned: a turned face's turned crop sees what the upright face's crop sees") {
    Rng rng(44);
    for (int trial = 0; trial < 20; ++trial) {
      Landmarks face;  // 68 random points in a 100 x 120 region
      for (int i = 0; i < 68; ++i) face.push_back({rng.uniform(50, 150), rng.uniform(40, 160)});
      // Angle 0 is the standard crop of the points' box.
      const CropTransform standard = CropTransform::from_box(bounding_box(face), 112, 1.2f);
      const CropTransform around = CropTransform::around(face, 112, 1.2f);
      for (const Point& p : face) {
        CHECK(std::abs(around.image_to_label(p).x - standard.image_to_label(p).x) < 1e-6f);
        CHECK(std::abs(around.image_to_label(p).y - standard.image_to_label(p).y) < 1e-6f);
      }
      // The face turned by `angle` about some point, cropped by that angle: the same labels as upright.
      const float angle = rng.uniform(-1.5f, 1.5f);
      const CropTransform turn = CropTransform::square(rng.uniform(0, 200), rng.uniform(0, 200), 300.0f, 300, -angle);
      Landmarks turned;
      for (const Point& p : face) turned.push_back(turn.image_to_crop(p));
      const CropTransform upright = CropTransform::around(turned, 112, 1.2f, angle);
      double worst = 0.0;
      for (std::size_t i = 0; i < face.size(); ++i) {
        const Point a = upright.image_to_label(turned[i]), b = standard.image_to_label(face[i]);
        worst = std::max(worst, static_cast<double>(std::hypot(a.x - b.x, a.y - b.y)));
      }
      CHECK(worst < 1e-4);
      // upright_angle reads the turn off the eye line.
      const float d = upright_angle(turned) - upright_angle(face);
      CHECK(std::remainder(d - angle, 6.283185307179586f) == doctest::Approx(0.0f).epsilon(1e-4));
      // mirrored(): the same square with its x axis reversed, as square(..., mirror = true) makes it.
      const CropTransform m = upright.mirrored();
      const CropTransform flipped = CropTransform::square(upright.crop_to_image({55.5f, 55.5f}).x, upright.crop_to_image({55.5f, 55.5f}).y,
                                                          upright.scale() * 112, 112, angle, true);
      for (const Point& p : turned) {
        CHECK(std::abs(m.image_to_label(p).x - flipped.image_to_label(p).x) < 1e-4f);
        CHECK(std::abs(m.image_to_label(p).y - flipped.image_to_label(p).y) < 1e-4f);
        CHECK(m.image_to_label(p).x == doctest::Approx(1.0f - upright.image_to_label(p).x).epsilon(1e-4));
      }
    }
    // Eyes: 68 points, each eye's mean; 98, the pupils; others have none.
    Landmarks level(68, Point{50, 50});
    for (int i = 36; i < 42; ++i) level[static_cast<std::size_t>(i)] = {30.0f + static_cast<float>(i % 2), 40};
    for (int i = 42; i < 48; ++i) level[static_cast<std::size_t>(i)] = {70.0f, 40.0f + static_cast<float>(i % 2)};
    Point l, r;
    REQUIRE(eye_centres(level, l, r));
    CHECK(l.x == doctest::Approx(30.5f));
    CHECK(r.y == doctest::Approx(40.5f));
    CHECK(upright_angle(Point{0, 0}, Point{10, -10}) == doctest::Approx(0.785398f));  // right eye higher: turned anticlockwise
    Landmarks wflw(98, Point{0, 0});
    wflw[96] = {10, 20}, wflw[97] = {30, 20};
    CHECK(upright_angle(wflw) == doctest::Approx(0.0f));
    CHECK_FALSE(eye_centres(Landmarks(5), l, r));
    CHECK_THROWS_WITH_AS(upright_angle(Landmarks(5)), doctest::Contains("no eyes known for 5"), Error);
    CHECK_THROWS_AS(CropTransform::around(Landmarks{}, 112), Error);
    CHECK_THROWS_AS(CropTransform::around(Landmarks{{1, 2}, {std::nanf(""), 3}}, 112, 1.2f, 0.5f), Error);
  }

  TEST_CASE("turn_face: the image and its landmarks turned together about the centre") {
    // A grey image with two bright marks the landmarks sit on.
    Image image(80, 60);
    std::fill(image.pixels.begin(), image.pixels.end(), std::uint8_t{40});
    const Landmarks marks = {{50, 30}, {20, 45}};
    for (const Point& m : marks)
      for (int y = -2; y <= 2; ++y)
        for (int x = -2; x <= 2; ++x)
          for (int c = 0; c < 3; ++c) image.at(static_cast<int>(m.x) + x, static_cast<int>(m.y) + y)[c] = 250;
    const Point centre{40, 30};
    const TurnedFace turned = turn_face(image.view(), marks, centre, 90.0f);
    REQUIRE(turned.image.width == 80);
    REQUIRE(turned.landmarks.size() == 2);
    // 90 degrees anticlockwise as seen: the mark 10 px right of the centre goes 10 px above it.
    const Point c{39.5f, 39.5f};  // the canvas' centre
    CHECK(turned.landmarks[0].x == doctest::Approx(c.x).epsilon(1e-4));
    CHECK(turned.landmarks[0].y == doctest::Approx(c.y - 10).epsilon(1e-4));
    for (const Point& p : turned.landmarks) {
      const std::uint8_t* px = turned.image.pixels.data() + (static_cast<std::size_t>(std::lround(p.y)) * 80 + static_cast<std::size_t>(std::lround(p.x))) * 3;
      CHECK(static_cast<int>(px[0]) > 200);
    }
    CHECK(static_cast<int>(turned.image.pixels[(40 * 80 + 60) * 3]) == 40);  // grey elsewhere
    CHECK(static_cast<int>(turned.image.pixels[0]) == 0);                     // uncovered corner: black
    CHECK_THROWS_WITH_AS(turn_face(ImageView(), marks, centre, 10.0f), doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(turn_face(image.view(), marks, centre, std::nanf("")), doctest::Contains("not finite"), Error);
    CHECK_THROWS_WITH_AS(turn_face(image.view(), Landmarks{{std::nanf(""), 1}}, centre, 5.0f), doctest::Contains("landmark 0"), Error);
  }

  TEST_CASE("warp: a mirrored crop is the plain crop reversed, pixel for pixel") {
    Image image(64, 48);
    Rng rng(42);
    for (auto& v : image.pixels) v = static_cast<std::uint8_t>(rng.below(256));
    const CropTransform plain = CropTransform::square(30.0f, 20.0f, 40.0f, 16);
    const CropTransform mirrored = CropTransform::square(30.0f, 20.0f, 40.0f, 16, 0.0f, true);
    std::vector<float> a(16 * 16 * 3), b(16 * 16 * 3);
    plain.warp(image.view(), a.data());
    mirrored.warp(image.view(), b.data());
    for (int v = 0; v < 16; ++v)
      for (int u = 0; u < 16; ++u)
        for (int c = 0; c < 3; ++c)
          CHECK(a[static_cast<std::size_t>((v * 16 + u) * 3 + c)] ==
                doctest::Approx(b[static_cast<std::size_t>((v * 16 + 15 - u) * 3 + c)]).epsilon(1e-5));
    // A crop at scale 1 aligned with the pixel grid copies pixels exactly; outside the image is zero.
    const CropTransform exact = CropTransform::square(7.5f, 7.5f, 16.0f, 16);  // covers pixels 0..15
    exact.warp(image.view(), a.data(), 1.0f);
    CHECK(a[0] == image.pixels[0]);
    CHECK(a[(5 * 16 + 9) * 3 + 2] == image.pixels[(5 * 64 + 9) * 3 + 2]);
    const CropTransform outside = CropTransform::square(-100.0f, -100.0f, 16.0f, 16);
    outside.warp(image.view(), a.data());
    for (float v : a) CHECK(v == 0.0f);
    CHECK_THROWS_AS(exact.warp(ImageView(), a.data()), Error);
  }

  TEST_CASE("warp: bilinear samples by hand, for unrotated, mirrored and rotated crops across the image edge") {
    Rng rng(43);
    for (PixelFormat format : {PixelFormat::rgb, PixelFormat::bgr, PixelFormat::gray}) {
      Image image(57, 43, format);
      for (auto& v : image.pixels) v = static_cast<std::uint8_t>(rng.below(256));
      // The unrotated crops take the per-column path; the rotated one the per-pixel path.
      const CropTransform crops[] = {CropTransform::square(30.3f, 20.7f, 41.0f, 24),
                                     CropTransform::square(50.2f, 5.1f, 33.0f, 24),  // across two edges
                                     CropTransform::square(30.3f, 20.7f, 41.0f, 24, 0.0f, true),
                                     CropTransform::square(30.3f, 20.7f, 41.0f, 24, 0.3f),
                                     CropTransform::square(3.0f, 40.0f, 30.0f, 24, -0.2f, true)};
      for (const CropTransform& crop : crops) {
        std::vector<float> out(24 * 24 * 3);
        crop.warp(image.view(), out.data());
        double worst = 0.0;
        for (int v = 0; v < 24; ++v)
          for (int u = 0; u < 24; ++u) {
            const Point p = crop.crop_to_image({static_cast<float>(u), static_cast<float>(v)});
            const int x0 = static_cast<int>(std::floor(p.x)), y0 = static_cast<int>(std::floor(p.y));
            double expected[3] = {0, 0, 0};
            for (int j = 0; j < 2; ++j)
              for (int i = 0; i < 2; ++i) {
                const int x = x0 + i, y = y0 + j;
                if (x < 0 || y < 0 || x >= image.width || y >= image.height) continue;
                const double ax = static_cast<double>(p.x) - x0, ay = static_cast<double>(p.y) - y0;
                const double w = (i ? ax : 1 - ax) * (j ? ay : 1 - ay);
                float rgb[3] = {0, 0, 0};
                image.view().rgb(x, y, rgb);
                for (int c = 0; c < 3; ++c) expected[c] += w * rgb[c] / 255.0;
              }
            for (int c = 0; c < 3; ++c)
              worst = std::max(worst, std::abs(out[static_cast<std::size_t>((v * 24 + u) * 3 + c)] - expected[c]));
          }
        CHECK(worst < 1e-4);
      }
    }
  }

  TEST_CASE("mirror maps: involutions, the 68 map pairs left and right") {
    const MirrorMap m68 = mirror_map_68(), m98 = mirror_map_98();
    REQUIRE(m68.size() == 68);
    REQUIRE(m98.size() == 98);
    validate_mirror_map(m68, "68");
    validate_mirror_map(m98, "98");
    for (int i = 0; i < 68; ++i) CHECK(m68[static_cast<std::size_t>(m68[static_cast<std::size_t>(i)])] == i);
    CHECK(m68[36] == 45);  // outer eye corners
    CHECK(m68[39] == 42);  // inner eye corners
    CHECK(m68[48] == 54);  // mouth corners
    CHECK(m68[0] == 16);
    CHECK(m68[30] == 30);  // nose tip stays
    CHECK(m98[60] == 72);
    CHECK(m98[96] == 97);
    CHECK_THROWS_AS(validate_mirror_map({1, 2, 0}, "bad"), Error);
    CHECK_THROWS_AS(mirror_map_for(5), Error);

    // Flipping a face twice gives it back; a flip moves the left eye's corner onto the right eye's spot.
    Face face;
    face.image = Image(100, 100);
    for (int i = 0; i < 68; ++i) face.landmarks.push_back({20.0f + static_cast<float>(i % 17) * 3.5f, 30.0f + static_cast<float>(i / 17) * 10.0f});
    face.box = bounding_box(face.landmarks);
    AugmentOptions flip_only;
    flip_only.rotation_deg = 0;
    flip_only.scale_min = flip_only.scale_max = 1;
    flip_only.shift = 0;
    flip_only.flip_probability = 1;
    Rng rng(1);
    const CropLabels flipped = crop_geometry(face, flip_only, &m68, rng);
    flip_only.enabled = false;
    const CropLabels plain = crop_geometry(face, flip_only, &m68, rng);
    for (int i = 0; i < 68; ++i) {
      const Point f = flipped.labels[static_cast<std::size_t>(i)], p = plain.labels[static_cast<std::size_t>(m68[static_cast<std::size_t>(i)])];
      CHECK(f.x == doctest::Approx(1.0f - p.x).epsilon(1e-5));
      CHECK(f.y == doctest::Approx(p.y).epsilon(1e-5));
    }
  }

  TEST_CASE("head pose: pfld's solver against OpenCV's solvePnP on real training faces (within 0.5 degree)") {
    const test::Fixture f(test::fixture_path("pose.pfxt"));
    const Tensor& points = f["points"];
    const Tensor& angles = f["angles_deg"];
    const int faces = points.dim(0);
    double worst = 0.0;
    for (int i = 0; i < faces; ++i) {
      std::array<Point, 14> p;
      for (std::size_t k = 0; k < 14; ++k)
        p[k] = {points[static_cast<std::size_t>(i) * 28 + 2 * k], points[static_cast<std::size_t>(i) * 28 + 2 * k + 1]};
      const HeadPose pose = estimate_head_pose(p, 112);
      const double pitch = angles[static_cast<std::size_t>(i) * 3 + 0], yaw = angles[static_cast<std::size_t>(i) * 3 + 1],
                   roll = angles[static_cast<std::size_t>(i) * 3 + 2];
      worst = std::max({worst, std::abs(degrees(pose.pitch) - pitch), std::abs(degrees(pose.yaw) - yaw),
                        std::abs(degrees(pose.roll) - roll)});
      CHECK(pose.rms_error == doctest::Approx(f["rms_error"][static_cast<std::size_t>(i)]).epsilon(0.02));
    }
    MESSAGE("largest angle difference to OpenCV over " << faces << " faces: " << worst << " degrees");
    CHECK(worst < 0.5);
    // A frontal face seen straight on: all angles near zero.
    std::array<Point, 14> frontal;
    const auto& model = detail_pose::mean_face();
    const double focal = 56.0 / std::tan(3.141592653589793 / 6);
    for (std::size_t k = 0; k < 14; ++k)
      frontal[k] = {static_cast<float>(56 + focal * model[k][0] / (60 + model[k][2])),
                    static_cast<float>(56 + focal * model[k][1] / (60 + model[k][2]))};
    const HeadPose zero = estimate_head_pose(frontal);
    CHECK(std::abs(degrees(zero.yaw)) < 0.01);
    CHECK(std::abs(degrees(zero.pitch)) < 0.01);
    CHECK(std::abs(degrees(zero.roll)) < 0.01);
  }

  TEST_CASE("WFLW list end to end, and custom mirror maps from a file") {
    const std::string dir = std::string(PFLD_TEST_TEMP_DIR) + "/wflw";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/images");
    io::write_png(dir + "/images/face_1.jpg", Image(160, 180));  // stb reads by content, not by name
    {
      std::ofstream list(dir + "/list.txt");
      list << wflw_line() << "\n\n" << wflw_line("1 0 0 0 0 1") << "\n";
    }
    const auto records = list_wflw(dir + "/list.txt", dir);
    REQUIRE(records.size() == 2);
    CHECK(records[0].has_box);
    CHECK(records[1].flags == std::vector<float>{1, 0, 0, 0, 0, 1});
    const FaceSet set = load_faces(records, io::read_image);
    CHECK(set.landmark_count == 98);
    CHECK(set.scheme.names.size() == 6);
    CHECK(set.classes.fractions[0] == doctest::Approx(0.5f));
    CHECK(set.classes.weights[1] == doctest::Approx(2.0f));
    CHECK(set.classes.weights[2] == 0.0f);  // no face has it
    {
      std::ofstream bad(dir + "/bad.txt");
      bad << wflw_line() << "\n" << "1 2 3\n";
    }
    CHECK_THROWS_WITH_AS(list_wflw(dir + "/bad.txt", dir), doctest::Contains("bad.txt:2:"), Error);

    {
      std::ofstream m(dir + "/mirror.txt");
      m << "2 1 0\n3";
    }
    CHECK_THROWS_WITH_AS(read_mirror_map(dir + "/mirror.txt", 3), doctest::Contains("4 entries, expected 3"), Error);
    {
      std::ofstream m(dir + "/mirror.txt");
      m << "2 1 0 3";
    }
    CHECK(read_mirror_map(dir + "/mirror.txt", 4) == MirrorMap{2, 1, 0, 3});
    {
      std::ofstream m(dir + "/mirror.txt");
      m << "1 2 0";
    }
    CHECK_THROWS_WITH_AS(read_mirror_map(dir + "/mirror.txt", 3), doctest::Contains("does not map back"), Error);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("bad faces: errors by default, skipped with a warning on request") {
    const std::string dir = std::string(PFLD_TEST_TEMP_DIR) + "/bad_faces";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; };
    Image img(20, 20);
    io::write_png(dir + "/good.png", img);
    write("good.pts", "{\n2 3\n10 12\n}\n");
    write("noimage.pts", "{\n2 3\n10 12\n}\n");
    write("corrupt.pts", "{\n2 3\n10 12\n}\n");
    write("corrupt.jpg", "not a jpeg");
    write("outside.pts", "{\n200 300\n210 312\n}\n");
    io::write_png(dir + "/outside.png", img);

    CHECK_THROWS_WITH_AS(list_pts_folder(dir), doctest::Contains("noimage.pts: no image"), Error);
    std::ostringstream warnings;
    DatasetOptions skip;
    skip.skip_invalid = true;
    skip.warnings = &warnings;
    const auto records = list_pts_folder(dir, skip);
    CHECK(records.size() == 3);
    CHECK(warnings.str().find("noimage.pts") != std::string::npos);
    DatasetOptions strict;
    CHECK_THROWS_WITH_AS(load_faces(records, io::read_image, strict), doctest::Contains("corrupt.jpg: cannot read image"),
                         Error);
    const FaceSet set = load_faces(records, io::read_image, skip);
    CHECK(set.size() == 1);
    CHECK(warnings.str().find("outside the 20x20 image") != std::string::npos);
    CHECK_THROWS_WITH_AS(list_pts_folder(dir + "/none"), doctest::Contains("not a directory"), Error);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("batch loader: deterministic whatever the number of workers, and resumable") {
    if (!have_data()) {
      MESSAGE("skipped: " << data_dir() << " is absent");
      return;
    }
    DatasetOptions options;
    auto records = list_pts_folder(data_dir() + "/val", options);
    records.resize(12);
    const FaceSet set = load_faces(records, io::read_image, options);
    BatchLoader one(set, 4, AugmentOptions{}, mirror_map_68(), 3, 1), three(set, 4, AugmentOptions{}, mirror_map_68(), 3, 3);
    for (int b = 0; b < 5; ++b) {  // crosses an epoch boundary (3 batches per epoch)
      const Batch x = one.next(), y = three.next(), z = one.make(b);
      CHECK(test::relative_error(x.images, y.images) == 0.0);
      CHECK(test::relative_error(x.landmarks, y.landmarks) == 0.0);
      CHECK(test::relative_error(x.pose, y.pose) == 0.0);
      CHECK(test::relative_error(x.images, z.images) == 0.0);
    }
    three.seek(1);
    CHECK(test::relative_error(three.next().landmarks, one.make(1).landmarks) == 0.0);
    CHECK(test::relative_error(one.make(0).landmarks, one.make(3).landmarks) > 0.0);  // a new epoch, a new order
    CHECK_THROWS_AS(BatchLoader(set, 13, AugmentOptions{}, mirror_map_68(), 3), Error);
  }
}

TEST_SUITE("data") {
  // Faces of a 16x16 black image, face i flagged in class i % 5 alone (300-W's five classes), so a
  // batch's attributes tell which face it holds.
  FaceSet tiny_faces(int n) {
    FaceSet set;
    set.landmark_count = 68;
    set.scheme = attributes_300w();
    for (int i = 0; i < n; ++i) {
      Face f;
      f.image = Image(16, 16);
      for (int p = 0; p < 68; ++p) f.landmarks.push_back({4.0f + static_cast<float>(p % 8), 4.0f + static_cast<float>(p / 8)});
      f.box = bounding_box(f.landmarks);
      f.classes.assign(set.scheme.names.size(), 0.0f);
      f.classes[static_cast<std::size_t>(i % 5)] = 1.0f;
      f.source = "face" + std::to_string(i);
      set.faces.push_back(f);
    }
    update_class_statistics(set);
    return set;
  }

  TEST_CASE("batch loader: a face drawn N times an epoch comes N times in each epoch's batches, 0 never") {
    FaceSet set = tiny_faces(5);
    set.faces[1].draws = 3;
    set.faces[2].draws = 0;
    AugmentOptions still;
    still.enabled = false;
    BatchLoader loader(set, 1, still, MirrorMap{}, 7, 1);
    REQUIRE(loader.batches_per_epoch() == 6);  // 1 + 3 + 0 + 1 + 1
    std::vector<int> first_epoch;
    for (int epoch = 0; epoch < 3; ++epoch) {
      std::vector<int> seen(5, 0), order;
      for (int b = 0; b < 6; ++b) {
        const Batch batch = loader.make(epoch * 6 + b);
        int face = -1;
        for (int c = 0; c < 5; ++c)
          if (batch.attributes[static_cast<std::size_t>(c)] == 1.0f) face = c;
        REQUIRE(face >= 0);
        ++seen[static_cast<std::size_t>(face)];
        order.push_back(face);
      }
      CHECK(seen == std::vector<int>{1, 3, 0, 1, 1});
      if (epoch == 0) first_epoch = order;
      else if (epoch == 2) CHECK(order != first_epoch);  // (a new order each epoch; two could match by chance)
    }
    set.faces[0].draws = -1;
    CHECK_THROWS_WITH_AS(BatchLoader(set, 1, still, MirrorMap{}, 7, 1), doctest::Contains("drawn -1 times"), Error);
    set.faces[0].draws = 0;
    set.faces[1].draws = 0;
    set.faces[3].draws = 0;
    set.faces[4].draws = 0;
    CHECK_THROWS_WITH_AS(BatchLoader(set, 1, still, MirrorMap{}, 7, 1), doctest::Contains("must be in 1..0"), Error);
  }

  TEST_CASE("class statistics count a face as often as an epoch draws it; merged sets are counted together") {
    FaceSet a = tiny_faces(4);
    CHECK(a.classes.fractions[0] == doctest::Approx(0.25f));
    a.faces[0].draws = 5;  // 5 of 8 draws
    update_class_statistics(a);
    CHECK(a.classes.fractions[0] == doctest::Approx(5.0f / 8.0f));
    CHECK(a.classes.fractions[1] == doctest::Approx(1.0f / 8.0f));
    const FaceSet merged = merge_face_sets(a, tiny_faces(2));  // + 1 of 2 more in class 0
    CHECK(merged.size() == 6);
    CHECK(merged.classes.fractions[0] == doctest::Approx(6.0f / 10.0f));
    FaceSet other = tiny_faces(1);
    other.landmark_count = 98;
    CHECK_THROWS_WITH_AS(merge_face_sets(a, other), doctest::Contains("68 and 98 landmarks"), Error);
  }

  TEST_CASE("grey augmentation: every crop grey at probability 1, the draws of other crops unchanged at 0") {
    const std::size_t n = 112 * 112 * 3;
    std::vector<float> plain(n), grey(n), zero(n);
    AugmentOptions o;
    o.occlusion_probability = 0.0f;
    o.saturation = 0.0f;  // (grey at any saturation draw: its factor is replaced)
    for (std::size_t i = 0; i < n; ++i) plain[i] = grey[i] = zero[i] = static_cast<float>(i % 97) / 97.0f;
    Rng r1(5), r2(5), r3(5);
    jitter_pixels(plain.data(), 112, o, r1);
    o.grey_probability = 0.0f;
    jitter_pixels(zero.data(), 112, o, r3);
    CHECK(plain == zero);
    CHECK(r1.next_u64() == r3.next_u64());  // no draw at probability 0
    o.saturation = 0.3f;
    o.grey_probability = 1.0f;
    jitter_pixels(grey.data(), 112, o, r2);
    for (std::size_t p = 0; p < 112 * 112; ++p) {
      CHECK(grey[3 * p] == grey[3 * p + 1]);
      CHECK(grey[3 * p] == grey[3 * p + 2]);
      if (grey[3 * p] != grey[3 * p + 1]) break;
    }
  }
}

// Reads every face of 300-W: native builds only (see tests/run_all.sh).
TEST_SUITE("whole_300w") {
  TEST_CASE("real 300-W: all 1207 faces load; class fractions and pose range") {
    if (!have_data()) {
      MESSAGE("skipped: " << data_dir() << " is absent");
      return;
    }
    DatasetOptions options;
    options.pts.expected_points = 68;
    ThreadPool pool(2);
    std::size_t total = 0;
    for (const char* split : {"train", "val"}) {
      const auto records = list_pts_folder(data_dir() + "/" + split, options);
      const FaceSet set = load_faces(records, io::read_image, options, &pool);
      total += set.size();
      float lo[3] = {1e9f, 1e9f, 1e9f}, hi[3] = {-1e9f, -1e9f, -1e9f};
      for (const Face& face : set.faces) {
        const float a[3] = {degrees(face.pose.yaw), degrees(face.pose.pitch), degrees(face.pose.roll)};
        for (int k = 0; k < 3; ++k) lo[k] = std::min(lo[k], a[k]), hi[k] = std::max(hi[k], a[k]);
      }
      std::ostringstream classes;
      for (std::size_t c = 0; c < set.scheme.names.size(); ++c)
        classes << set.scheme.names[c] << " " << set.classes.fractions[c] << " (w " << set.classes.weights[c] << ")  ";
      MESSAGE(std::string(split) << ": " << set.size() << " faces; yaw " << lo[0] << ".." << hi[0] << ", pitch " << lo[1] << ".."
                    << hi[1] << ", roll " << lo[2] << ".." << hi[2] << " degrees; classes: " << classes.str());
      CHECK(set.landmark_count == 68);
    }
    CHECK(total == 1207);
  }
}

TEST_SUITE("training") {
  TEST_CASE("smoke: PFLD 0.25X on 32 real 300-W faces, augmentation on, loss falls >= 5x") {
    if (!have_data()) {
      MESSAGE("skipped: " << data_dir() << " is absent");
      return;
    }
    DatasetOptions options;
    options.pts.expected_points = 68;
    auto records = list_pts_folder(data_dir() + "/train", options);
    records.resize(32);
    ThreadPool pool(2);
    const FaceSet set = load_faces(records, io::read_image, options, &pool);
    BatchLoader loader(set, 8, AugmentOptions{}, mirror_map_68(), 7, 2);

    ModelConfig config;
    config.width = 0.25f;
    model::PfldNet net(config);
    model::AuxNet aux(config);
    Rng rng(8);
    // From a plainly random start (He weights in the landmark layer too, not pfld's centred start, whose
    // first loss is already ~20x lower), so that "the loss falls 5x" measures the pipeline.
    test::randomize(net, aux, rng, true);
    train::Adam adam(1e-4f);
    train::LrSchedule schedule;
    schedule.kind = train::LrSchedule::Kind::constant;
    schedule.base_lr = 2e-3f;
    train::Trainer trainer(net, aux, model::PfldLoss(model::LossMode::full, set.classes.weights), adam, schedule);

    // The full loss weighs rare faces up to ~60x, so one profile face moves a batch's loss a lot: compare
    // medians over windows of steps.
    const int steps = 360, window = 24;
    std::vector<float> losses;
    for (int step = 0; step < steps; ++step) losses.push_back(trainer.step(loader.next()));
    auto median = [&](int from) {
      std::vector<float> w(losses.begin() + from, losses.begin() + from + window);
      std::nth_element(w.begin(), w.begin() + window / 2, w.end());
      return static_cast<double>(w[window / 2]);
    };
    std::string curve;
    for (int i = 0; i + window <= steps; i += 3 * window) curve += std::to_string(i) + ": " + std::to_string(median(i)) + "  ";
    MESSAGE("median loss over " << window << " steps (step: loss): " << curve << steps - window << ": "
                                << median(steps - window));
    CHECK(median(steps - window) * 5.0 < median(0));

    // For comparison, the mean shape: the loss of predicting, for every crop, the mean labels of the
    // 32 faces' standard crops (with the true pose, so the geometry factor favours the baseline).
    Tensor mean_shape(Shape{1, 136});
    for (const Face& face : set.faces) {
      const CropTransform t = CropTransform::from_box(face.box, 112);
      for (std::size_t i = 0; i < 68; ++i) {
        const Point l = t.image_to_label(face.landmarks[i]);
        mean_shape[2 * i] += l.x / 32.0f;
        mean_shape[2 * i + 1] += l.y / 32.0f;
      }
    }
    model::PfldLoss reference(model::LossMode::full, set.classes.weights);
    std::vector<float> baseline;
    for (int b = 0; b < window; ++b) {
      const Batch batch = loader.make(steps + b);
      Tensor guess(batch.landmarks.shape());
      for (int m = 0; m < 8; ++m) std::copy(mean_shape.begin(), mean_shape.end(), guess.begin() + m * 136);
      baseline.push_back(reference.forward(guess, batch.landmarks, batch.pose, batch.pose, batch.attributes));
    }
    std::nth_element(baseline.begin(), baseline.begin() + window / 2, baseline.end());
    // Not asserted: from this random start, a few hundred augmented steps do not yet beat the mean shape
    // (pfld's centred start does); the number is printed for the record.
    MESSAGE("median loss of the mean shape on the same kind of batches: " << baseline[window / 2]);
  }
}
