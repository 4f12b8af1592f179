// Face detection: YuNet (the shipped default) and the cascade (XML reading and its errors, grouping), the
// maps from detections to landmark regions, detect_all, real photos from Debian packages (skipped with a
// message when a package is absent) and the hit rates on the 300-W validation faces.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pfld/io/image_file.hpp>
#include <pfld/pfld.hpp>

#include "support/random_model.hpp"

using namespace pfld;

namespace {

bool exists(const std::string& path) { return std::ifstream(path).good(); }

const std::string kLbp = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml";
const std::string kGraceHopper = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
const std::string kAstronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(PFLD_TEST_TEMP_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

bool contains(const Box& b, float x, float y) { return x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height; }

}  // namespace

TEST_SUITE("facedet") {
  TEST_CASE("XML: elements, text, comments; malformed files are errors with the line") {
    const auto root = xml::Parser("<?xml version=\"1.0\"?>\n<!-- c -->\n<a><b>1 2</b><c type_id=\"x\"><_>3</_></c><e/></a>", "t")
                          .parse_document();
    CHECK(root->name == "a");
    REQUIRE(root->find("b"));
    CHECK(root->find("b")->text == "1 2");
    CHECK(root->find("c")->children.size() == 1);
    CHECK(root->find("e"));
    CHECK_THROWS_WITH_AS(xml::Parser("<a><b>1</a>", "bad.xml").parse_document(), doctest::Contains("bad.xml: line 1"), Error);
    CHECK_THROWS_WITH_AS(xml::Parser("<a><b>1</b>", "cut.xml").parse_document(), doctest::Contains("not closed"), Error);
    CHECK_THROWS_AS(xml::Parser("", "empty.xml").parse_document(), Error);
  }

  TEST_CASE("cascade files as an attacker writes them: deep nesting, cycles, numbers out of range") {
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "<a>";
    CHECK_THROWS_WITH_AS(xml::parse(deep, "deep.xml"), doctest::Contains("nested more than 64 deep"), Error);
    // One stage of one tree; `nodes` and `leaves` fill its internalNodes and leafValues.
    auto cascade = [](const std::string& nodes, const std::string& leaves, const std::string& rect = "0 0 1 1") {
      return "<opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType><height>24</height>"
             "<width>24</width><stages><_><stageThreshold>-1</stageThreshold><weakClassifiers><_><internalNodes>" +
             nodes + "</internalNodes><leafValues>" + leaves +
             "</leafValues></_></weakClassifiers></_></stages><features><_><rect>" + rect +
             "</rect></_></features></cascade></opencv_storage>";
    };
    const std::string subset = " -1 -1 -1 -1 -1 -1 -1 -1";
    const CascadeClassifier ok = CascadeClassifier::parse(cascade("1 0 0" + subset + " 0 -1 0" + subset, "0.1 0.2 0.3"), "ok.xml");
    Image image(64, 64, PixelFormat::gray);
    CHECK_NOTHROW(ok.detect(image.view()));
    // A node that links to itself (or back) made detection loop forever.
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(cascade("0 1 0" + subset + " 1 -1 0" + subset, "0.1 0.2 0.3"), "cycle.xml"),
                         doctest::Contains("cycle"), Error);
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(cascade("5 -1 0" + subset, "0.1 0.2"), "far.xml"),
                         doctest::Contains("left link"), Error);
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(cascade("0 -1 1e300" + subset, "0.1 0.2"), "huge.xml"),
                         doctest::Contains("'1e300', not a 32-bit integer"), Error);
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(cascade("0 -1 0" + subset, "1e39 0.2"), "huge.xml"),
                         doctest::Contains("'1e39', not a finite number"), Error);
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(cascade("0 -1 0" + subset, "0.1 0.2", "0 0 2147483647 1"), "rect.xml"),
                         doctest::Contains("outside the 24x24 window"), Error);
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(cascade("0 -1 0" + subset, "0.1 0.2", "0 0 1 1x"), "junk.xml"),
                         doctest::Contains("not a 32-bit integer"), Error);
    const std::string no_threshold = cascade("0 -1 0" + subset, "0.1 0.2");
    CHECK_THROWS_WITH_AS(CascadeClassifier::parse(no_threshold.substr(0, no_threshold.find("-1</stage")) +
                                                      no_threshold.substr(no_threshold.find("</stageThreshold>")),
                                                  "empty.xml"),
                         doctest::Contains("<stageThreshold> holds 0 numbers"), Error);
  }

  TEST_CASE("cascade files: missing, truncated, not a cascade, unsupported") {
    CHECK_THROWS_WITH_AS(CascadeClassifier::load("/no/such/cascade.xml"), doctest::Contains("/no/such/cascade.xml"), Error);
    CHECK_THROWS_WITH_AS(CascadeClassifier::load(write_temp("notcascade.xml", "<opencv_storage><x>1</x></opencv_storage>")),
                         doctest::Contains("not an OpenCV cascade"), Error);
    CHECK_THROWS_WITH_AS(
        CascadeClassifier::load(write_temp(
            "hog.xml", "<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HOG</featureType>"
                       "</cascade></opencv_storage>")),
        doctest::Contains("HOG"), Error);
    if (!exists(kLbp)) {
      MESSAGE("skipped the truncated-file check: opencv-data is not installed");
      return;
    }
    std::ifstream in(kLbp, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THROWS_AS(CascadeClassifier::load(write_temp("truncated.xml", text.substr(0, text.size() / 2))), Error);
    const CascadeClassifier c = CascadeClassifier::load(kLbp);
    CHECK(c.feature_type() == CascadeClassifier::FeatureType::lbp);
    CHECK(c.window_width() == 45);
    CHECK(c.stage_count() == 19);
  }

  TEST_CASE("grouping: similar boxes merge, weak groups and boxes inside stronger ones go") {
    std::vector<Box> boxes;
    for (int i = 0; i < 5; ++i) boxes.push_back(Box{100.0f + static_cast<float>(i), 50, 60, 60});  // a face
    boxes.push_back(Box{300, 300, 40, 40});                                                        // a lone hit
    for (int i = 0; i < 4; ++i) boxes.push_back(Box{110, 60, 20, 20});                             // inside the face
    const std::vector<FaceBox> faces = CascadeClassifier::group(boxes, 3, 0.2);
    REQUIRE(faces.size() == 1);
    CHECK(faces[0].neighbors == 5);
    CHECK(faces[0].box.x == 102);
    CHECK(faces[0].box.width == 60);
  }

  TEST_CASE("YuNet: one face in each photo, its box and eyes in place; non-maximum suppression; bad input") {
    const std::string model = default_face_detector_path();  // the shipped file
    YuNet yunet = YuNet::load(model);
    CHECK_THROWS_WITH_AS(yunet.raw_output("cls_8"), doctest::Contains("no detection has run"), Error);
    CHECK_THROWS_WITH_AS(yunet.detect(ImageView{}), doctest::Contains("the image is empty"), Error);
    if (!exists(kGraceHopper)) {
      MESSAGE("skipped the photo: needs python-matplotlib-data");
      return;
    }
    const Image image = io::read_image(kGraceHopper);
    const std::vector<FaceDetection> faces = yunet.detect(image.view());
    REQUIRE(faces.size() == 1);
    CHECK(faces[0].has_keypoints);
    CHECK(faces[0].score > 0.9f);
    CHECK(contains(faces[0].box, 265, 215));
    CHECK(faces[0].box.width > 115);
    CHECK(faces[0].box.width < 345);
    // Her right eye is on the image's left, both at the height of the box's upper third.
    const Point right_eye = faces[0].keypoints[0], left_eye = faces[0].keypoints[1];
    CHECK(right_eye.x < left_eye.x);
    CHECK(std::abs(right_eye.y - left_eye.y) < 20);
    CHECK(right_eye.y < faces[0].box.y + faces[0].box.height / 2);
    CHECK(faces[0].keypoints[2].y > right_eye.y);  // the nose below the eyes
    // Her landmark region: turned by the eye line, about the box's size, centred a little below the eyes.
    const FaceRegion region = yunet.landmark_region(faces[0]);
    CHECK(region.angle == doctest::Approx(upright_angle(right_eye, left_eye)));
    CHECK(region.side > 0.7f * faces[0].box.width);
    CHECK(region.side < 1.3f * faces[0].box.width);
    CHECK(region.centre.y > right_eye.y);
    CHECK(contains(faces[0].box, region.centre.x, region.centre.y));
    // A photo of a size that is no multiple of 32 runs on a graph of its padded size: the same face; a
    // clone has its own graph and finds the same.
    const Image cropped = [&] {
      Image c(image.width - 13, image.height - 7);
      for (int y = 0; y < c.height; ++y)
        std::copy_n(image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3, static_cast<std::size_t>(c.width) * 3,
                    c.pixels.data() + static_cast<std::size_t>(y) * c.width * 3);
      return c;
    }();
    // At this size the tensors that share memory make the arena a fraction of their sum (the outputs
    // compared with onnxruntime's in the onnx suite run on such an arena).
    {
      OnnxImportOptions options;
      const auto graph = import_onnx_graph(io::read_onnx(model), options, model, 608, 512);
      MESSAGE("YuNet at 512x608: arena ", graph->arena_floats() * 4 / 1024, " KiB, tensors ", graph->tensor_floats() * 4 / 1024, " KiB");
      CHECK(graph->arena_floats() * 4 < graph->tensor_floats());
      // The profile: one entry per step, described, whose flops add up to the graph's; a profiled run
      // computes what a plain run does.
      InferenceArena arena = graph->make_arena();
      std::fill_n(graph->input(arena), 608 * 512 * 3, 100.0f);
      graph->run_graph(arena);
      const std::vector<float> scores(graph->output(arena, "cls_8"), graph->output(arena, "cls_8") + 76 * 64);
      std::fill_n(graph->input(arena), 608 * 512 * 3, 100.0f);  // the run consumed it
      const auto steps = graph->profile(arena, 3);
      double flops = 0;
      for (const auto& step : steps) {
        CHECK(!step.what.empty());
        CHECK(step.seconds >= 0);
        flops += step.flops;
      }
      CHECK(steps.size() > 40);
      CHECK(steps.front().what == "conv direct 3x3/2 3->16, 304x256");
      CHECK(flops == doctest::Approx(graph->flops()));
      CHECK(std::equal(scores.begin(), scores.end(), graph->output(arena, "cls_8")));
    }
    const std::vector<FaceDetection> again = yunet.detect(cropped.view());
    REQUIRE(again.size() == 1);
    CHECK(box_iou(again[0].box, faces[0].box) > 0.9f);
    // A copy has its own arena: its run on another photo of the same size leaves this one's outputs be.
    {
      REQUIRE(yunet.detect(image.view()).size() == 1);
      const std::vector<float> scores(yunet.raw_output("cls_8"), yunet.raw_output("cls_8") + 4000);
      YuNet copied = yunet;
      CHECK(copied.detect(Image(image.width, image.height).view()).empty());  // a black photo
      CHECK(std::equal(scores.begin(), scores.end(), yunet.raw_output("cls_8")));
    }
    const std::unique_ptr<FaceDetector> copy = yunet.clone();
    const std::vector<FaceDetection> cloned = copy->detect(image.view());
    REQUIRE(cloned.size() == 1);
    CHECK(cloned[0].box.x == faces[0].box.x);
    CHECK(cloned[0].keypoints[4].y == faces[0].keypoints[4].y);

    CHECK_THROWS_WITH_AS(YuNet::load(kGraceHopper), doctest::Contains("grace_hopper.jpg"), Error);
    YuNetOptions small;
    small.max_side = 256;
    YuNet limited = YuNet::load(model, small);
    CHECK_THROWS_WITH_AS(limited.detect(image.view()), doctest::Contains("max_side"), Error);
  }

  TEST_CASE("YuNet in int8 (the shipped ranges): the float detector's faces on every ISA; ranges files and their errors") {
    const std::string model = default_face_detector_path();
    const std::string shipped = io::shipped_weights("face_detection_yunet_2023mar-int8.ranges");
    const auto ranges = std::make_shared<const ActivationRanges>(load_activation_ranges(shipped));
    CHECK(ranges->metadata.at("model") == "face_detection_yunet_2023mar.onnx");
    CHECK(ranges->ranges.at("input") == std::make_pair(0.0f, 255.0f));
    // The file round trip gives the same ranges to the bit.
    const std::string copy = write_temp("copy.ranges", "");
    save_activation_ranges(copy, *ranges);
    const ActivationRanges again = load_activation_ranges(copy);
    CHECK(again.ranges == ranges->ranges);
    CHECK(again.metadata == ranges->metadata);
    // The int8 graph: every convolution but the heads', the max pools and the pyramid's sums on bytes.
    {
      OnnxImportOptions options;
      options.int8 = ranges.get();
      const auto graph = import_onnx_graph(io::read_onnx(model), options, model, 480, 640);
      InferenceArena arena = graph->make_arena();
      std::fill_n(graph->input(arena), 480 * 640 * 3, 100.0f);
      int int8_steps = 0, float_convs = 0;
      for (const auto& step : graph->profile(arena, 1)) {
        int8_steps += step.what.rfind("int8 ", 0) == 0;
        float_convs += step.what.rfind("conv ", 0) == 0 || step.what.rfind("depthwise ", 0) == 0;
      }
      MESSAGE("YuNet int8 at 640x480: ", int8_steps, " int8 steps, ", float_convs, " float convolutions (the heads)");
      CHECK(int8_steps == 35);
      CHECK(float_convs == 6);
    }
    if (exists(kGraceHopper)) {
      // Her photo, and a copy at a third of the size (a face of ~60 pixels): the float detector's faces,
      // the small one less closely (measured: IoU 0.92, keypoints 3.3 pixels apart at most, the same on
      // every ISA: the int8 layers give the same bytes on each).
      const Image photo = io::read_image(kGraceHopper);
      Image small(photo.width / 3, photo.height / 3);
      for (int y = 0; y < small.height; ++y)
        for (int x = 0; x < small.width; ++x)
          std::copy_n(&photo.pixels[(static_cast<std::size_t>(3 * y) * photo.width + 3 * static_cast<std::size_t>(x)) * 3], 3,
                      &small.pixels[(static_cast<std::size_t>(y) * small.width + static_cast<std::size_t>(x)) * 3]);
      for (Isa isa : test::available_isas()) {
        CAPTURE(std::string(to_string(isa)));
        YuNetOptions float_options, int8_options;
        float_options.isa = int8_options.isa = isa;
        int8_options.int8 = ranges;
        YuNet exact = YuNet::load(model, float_options), quantized = YuNet::load(model, int8_options);
        for (const Image* image : {&photo, static_cast<const Image*>(&small)}) {
          const std::vector<FaceDetection> expected = exact.detect(image->view()), got = quantized.detect(image->view());
          REQUIRE(expected.size() == 1);
          REQUIRE(got.size() == expected.size());
          const bool large = image == &photo;
          CHECK(box_iou(got[0].box, expected[0].box) > (large ? 0.95f : 0.88f));
          CHECK(std::abs(got[0].score - expected[0].score) < 0.03f);
          for (std::size_t k = 0; k < 5; ++k)
            CHECK(std::hypot(got[0].keypoints[k].x - expected[0].keypoints[k].x, got[0].keypoints[k].y - expected[0].keypoints[k].y) <
                  (large ? 0.02f : 0.07f) * expected[0].box.width);
        }
      }
      // load_face_detector takes the .ranges file: YuNet in int8, the ONNX file found beside it.
      const std::unique_ptr<FaceDetector> loaded = load_face_detector(shipped);
      CHECK(loaded->detect(photo.view()).size() == 1);
    } else {
      MESSAGE("skipped the photos: needs python-matplotlib-data");
    }

    // Hostile and misused ranges files: one Error naming the file and the line.
    const std::string header = "pfld activation ranges 1\n";
    auto fails = [&](const std::string& text, const std::string& what) {
      CAPTURE(text);
      CHECK_THROWS_WITH_AS(parse_activation_ranges(text, "x.ranges"), doctest::Contains(what.c_str()), Error);
    };
    fails("", "x.ranges: empty");
    fails("pfld activation ranges 2\n", "x.ranges: line 1: not a pfld activation ranges file");
    fails(header + "range 1 0 a\n", "line 2: lo and hi must be finite numbers, lo <= hi");
    fails(header + "range nan 1 a\n", "line 2: lo and hi must be finite numbers");
    fails(header + "range 0 1e39 a\n", "line 2: lo and hi must be finite numbers");
    fails(header + "range 0 1\n", "line 2: a range needs lo, hi and a tensor name");
    fails(header + "range 0 2e30 a\n", "line 2: a range beyond 1e30 in size");
    fails(header + "range 1e-31 2e-31 a\n", "line 2: a range beyond 1e30 in size, or wider than 0 but narrower than 1e-30");
    fails(header + "range 0 1 a\n\nrange 0 2 a\n", "line 4: a tensor's range given twice");
    fails(header + "model a\nmodel b\n", "line 3: metadata key empty or given twice");
    fails(header + "model\n", "line 2: expected \"key value\"");
    fails(header + " range 0 1 a\n", "line 2: expected \"key value\"");
    const ActivationRanges crlf = parse_activation_ranges("pfld activation ranges 1\r\nrange -1 2.5 a b\r\n", "x.ranges");
    CHECK(crlf.ranges.at("a b") == std::make_pair(-1.0f, 2.5f));
    CHECK_THROWS_WITH_AS(load_activation_ranges(std::string(PFLD_TEST_TEMP_DIR) + "/missing.ranges"), doctest::Contains("cannot open"), Error);
    const std::string no_model = write_temp("no_model.ranges", header + "range 0 255 input\n");
    CHECK_THROWS_WITH_AS(load_face_detector(no_model), doctest::Contains("no \"model\" line"), Error);
    const std::string other = write_temp("other.ranges", header + "model " + model + "\nrange 0 1 conv_of_another_net\n");
    CHECK_THROWS_WITH_AS(load_face_detector(other), doctest::Contains(("other.ranges: " + model + ": the int8 ranges name tensor 'conv_of_another_net', which this network does not have").c_str()),
                         Error);
    ActivationRanges unwritable;
    unwritable.ranges["a\nb"] = {0.0f, 1.0f};
    CHECK_THROWS_WITH_AS(save_activation_ranges(copy, unwritable), doctest::Contains("cannot be written"), Error);
  }

  TEST_CASE("non-maximum suppression keeps the best of overlapping faces") {
    std::vector<FaceDetection> overlapping(3);
    overlapping[0].box = Box{0, 0, 10, 10}, overlapping[0].score = 0.5f;
    overlapping[1].box = Box{1, 1, 10, 10}, overlapping[1].score = 0.9f;  // IoU 0.68 with the first
    overlapping[2].box = Box{20, 0, 10, 10}, overlapping[2].score = 0.7f;
    const std::vector<FaceDetection> kept = suppress_overlaps(overlapping, 0.3f);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].score == 0.9f);
    CHECK(kept[1].score == 0.7f);
    CHECK(box_iou(Box{0, 0, 10, 10}, Box{5, 0, 10, 10}) == doctest::Approx(50.0 / 150.0));
  }

  TEST_CASE("region maps: a known keypoint map and box map are recovered from faces made with them") {
    // Faces whose landmark region follows a known linear map of the keypoints: the four corners of that
    // region (turned by the eye line) are their "landmarks".
    KeypointMapping truth;
    truth.weights = {{{0.0f, 0.1f, 0.0f, 0.1f, 0.0f, -0.3f, 0.0f, 0.05f, 0.0f, 0.05f, 0.0f},
                      {0.1f, 0.0f, 0.2f, 0.0f, 0.2f, 0.0f, -0.1f, 0.0f, 0.15f, 0.0f, 0.15f},
                      {1.0f, -0.2f, 0.0f, 0.2f, 0.0f, 0.0f, 0.0f, 0.0f, 0.1f, 0.0f, 0.1f}}};
    Rng rng(5);
    std::vector<FaceDetection> detections;
    std::vector<Landmarks> landmarks;
    for (int i = 0; i < 60; ++i) {
      FaceDetection d;
      d.has_keypoints = true;
      const float side = rng.uniform(40.0f, 200.0f), roll = rng.uniform(-0.5f, 0.5f);
      d.box = Box{rng.uniform(0.0f, 300.0f), rng.uniform(0.0f, 300.0f), side, side * rng.uniform(1.0f, 1.3f)};
      const float cx = d.box.center_x(), cy = d.box.center_y(), c = std::cos(roll), s = std::sin(roll);
      const float spots[5][2] = {{-0.2f, -0.15f}, {0.2f, -0.15f}, {0.0f, 0.05f}, {-0.15f, 0.25f}, {0.15f, 0.25f}};
      for (int k = 0; k < 5; ++k) {
        // A face turned by `roll` (square()'s convention: x axis along (c, -s)), keypoints jittered.
        const float a = (spots[k][0] + rng.uniform(-0.04f, 0.04f)) * side, b = (spots[k][1] + rng.uniform(-0.04f, 0.04f)) * side;
        d.keypoints[static_cast<std::size_t>(k)] = Point{cx + a * c + b * s, cy + b * c - a * s};
      }
      const FaceRegion r = truth.apply(d);
      const float h = r.side / 2, rc = std::cos(r.angle), rs = std::sin(r.angle);
      Landmarks corners;
      for (float a : {-h, h})
        for (float b : {-h, h}) corners.push_back(Point{r.centre.x + a * rc + b * rs, r.centre.y + b * rc - a * rs});
      detections.push_back(d);
      landmarks.push_back(corners);
    }
    // The truth map is left-right symmetric, so fitting with the mirror images recovers it exactly.
    const KeypointMapping fitted = KeypointMapping::fit(detections, landmarks);
    for (int r = 0; r < 3; ++r)
      for (int k = 0; k < KeypointMapping::kFeatures; ++k) {
        CAPTURE(r);
        CAPTURE(k);
        CHECK(fitted.weights[static_cast<std::size_t>(r)][static_cast<std::size_t>(k)] ==
              doctest::Approx(truth.weights[static_cast<std::size_t>(r)][static_cast<std::size_t>(k)]).epsilon(1e-3).scale(1));
      }
    const FaceRegion a = fitted.apply(detections[0]), b = truth.apply(detections[0]);
    CHECK(a.centre.x == doctest::Approx(b.centre.x).epsilon(1e-4));
    CHECK(a.side == doctest::Approx(b.side).epsilon(1e-4));

    std::vector<Box> boxes;
    for (const FaceDetection& d : detections) boxes.push_back(d.box);
    const BoxMapping box_map{0.01f, 0.15f, 0.9f};
    std::vector<Landmarks> boxed;
    for (const Box& box : boxes) {
      const FaceRegion r = box_map.apply(box);
      boxed.push_back({Point{r.centre.x - r.side / 2, r.centre.y - r.side / 2}, Point{r.centre.x + r.side / 2, r.centre.y + r.side / 2}});
    }
    const BoxMapping box_fitted = BoxMapping::fit(boxes, boxed);
    CHECK(box_fitted.shift_x == doctest::Approx(0.01f).epsilon(1e-4).scale(1));
    CHECK(box_fitted.shift_y == doctest::Approx(0.15f).epsilon(1e-4));
    CHECK(box_fitted.scale == doctest::Approx(0.9f).epsilon(1e-4));

    // Bad input.
    FaceDetection no_keypoints;
    no_keypoints.box = Box{0, 0, 10, 10};
    CHECK_THROWS_WITH_AS(truth.apply(no_keypoints), doctest::Contains("no keypoints"), Error);
    FaceDetection nan_keypoint = detections[0];
    nan_keypoint.keypoints[3].y = std::nanf("");
    CHECK_THROWS_WITH_AS(truth.apply(nan_keypoint), doctest::Contains("not finite"), Error);
    CHECK_THROWS_WITH_AS(KeypointMapping::fit({detections[0]}, {landmarks[0]}), doctest::Contains("at least"), Error);
    CHECK_THROWS_WITH_AS(BoxMapping::fit({}, {}), doctest::Contains("0 detections"), Error);
    CHECK_THROWS_WITH_AS(load_face_detector(kGraceHopper), doctest::Contains("not a face detector"), Error);
  }

  TEST_CASE("real photos: one face each, in the right place, with both cascade kinds") {
    struct Photo {
      std::string path;
      float cx, cy, side;  // where the face is (by eye, image pixels)
    };
    for (const Photo& photo : {Photo{kGraceHopper, 265, 215, 230}, Photo{kAstronaut, 225, 120, 110}}) {
      if (!exists(photo.path)) {
        MESSAGE("skipped ", photo.path, ": its Debian package (python-matplotlib-data / python3-skimage) is not installed");
        continue;
      }
      for (const std::string& cascade : {default_face_cascade(), kLbp}) {
        if (!exists(cascade)) {
          MESSAGE("skipped ", cascade, ": opencv-data is not installed");
          continue;
        }
        CAPTURE(photo.path);
        CAPTURE(cascade);
        const Image image = io::read_image(photo.path);
        const std::vector<FaceBox> faces = CascadeClassifier::load(cascade).detect(image.view());
        REQUIRE(faces.size() == 1);
        CHECK(contains(faces[0].box, photo.cx, photo.cy));
        CHECK(faces[0].box.width > photo.side / 2);
        CHECK(faces[0].box.width < photo.side * 1.5f);
      }
    }
  }

  TEST_CASE("detect_all: faces found (the default detector unless another is given), mapped, landmarked") {
    if (!exists(kGraceHopper)) {
      MESSAGE("skipped: python-matplotlib-data is not installed");
      return;
    }
    ModelConfig config;
    model::PfldNet net(config);
    Rng rng(1);
    net.reset_parameters(rng);
    net.set_training(false);
    Detector detector(build_inference_graph(net));
    const Image image = io::read_image(kGraceHopper);
    const std::vector<DetectedFace> faces = detector.detect_all(image.view());  // loads the shipped YuNet
    REQUIRE(faces.size() == 1);
    CHECK(faces[0].detection.has_keypoints);
    CHECK(faces[0].landmarks.size() == 68);
    CHECK(faces[0].region.angle == doctest::Approx(upright_angle(faces[0].detection.keypoints[0], faces[0].detection.keypoints[1])));
    // A copy has its own face detector (a clone), so copies may run on two threads.
    Detector copy = detector;
    CHECK(&copy.face_detector() != &detector.face_detector());
    const std::vector<DetectedFace> again = copy.detect_all(image.view());
    REQUIRE(again.size() == 1);
    CHECK(again[0].landmarks[30].x == faces[0].landmarks[30].x);
    CHECK_THROWS_WITH_AS(detector.detect_all(ImageView{}), doctest::Contains("the image is empty"), Error);

    if (!exists(default_face_cascade())) {
      MESSAGE("skipped the cascade: opencv-data is not installed");
      return;
    }
    detector.set_face_detector(std::make_unique<CascadeFaceDetector>(CascadeFaceDetector::load()));
    const std::vector<DetectedFace> cascade_faces = detector.detect_all(image.view());
    REQUIRE(cascade_faces.size() == 1);
    CHECK_FALSE(cascade_faces[0].detection.has_keypoints);
    // The mapped region: lower than the detection (the chin is in), a little smaller, unturned.
    CHECK(cascade_faces[0].region.centre.y > cascade_faces[0].detection.box.center_y());
    CHECK(cascade_faces[0].region.side < cascade_faces[0].detection.box.width);
    CHECK(cascade_faces[0].region.angle == 0.0f);
  }
  TEST_CASE("detect_all on a photo of three faces, one of them tilted: every face found, cropped upright") {
    if (!exists(kGraceHopper)) {
      MESSAGE("skipped: python-matplotlib-data is not installed");
      return;
    }
    // Her face three times on a grey canvas: 300 and 200 pixels across, the small one also turned by
    // 30 degrees (each a square crop of the photo around her face, warped into place).
    const Image photo = io::read_image(kGraceHopper);
    Image canvas(1000, 420);
    std::fill(canvas.pixels.begin(), canvas.pixels.end(), std::uint8_t{100});
    struct Copy {
      int x, y, size;
      float degrees;
    };
    const float kPi = 3.14159265f;
    for (const Copy& c : {Copy{20, 60, 300, 0.0f}, Copy{380, 100, 200, 0.0f}, Copy{660, 100, 300, 30.0f}}) {
      const CropTransform crop = CropTransform::square(267, 240, 330, c.size, c.degrees * kPi / 180);
      std::vector<float> patch(static_cast<std::size_t>(c.size) * c.size * 3);
      crop.warp(photo.view(), patch.data(), 1.0f);
      for (int v = 0; v < c.size; ++v)
        for (int u = 0; u < c.size; ++u)
          for (int k = 0; k < 3; ++k)
            canvas.at(c.x + u, c.y + v)[k] = static_cast<std::uint8_t>(patch[(static_cast<std::size_t>(v) * c.size + u) * 3 + k] + 0.5f);
    }
    DetectorOptions options;
    options.refine = 1;
    Detector detector = Detector::load(io::shipped_weights("pfld-0.25x-68.pfld"), options);
    ThreadPool pool(2);
    const std::vector<DetectedFace> faces = detector.detect_all(canvas.view(), &pool);
    REQUIRE(faces.size() == 3);
    int turned = 0;
    for (const DetectedFace& f : faces) {
      CAPTURE(f.region.centre.x);
      REQUIRE(f.landmarks.size() == 68);
      // Her eye line is level within a degree or two; the copy turned by 30 degrees (square()'s
      // convention: -30 as upright_angle reads it) is found turned. YuNet's eye keypoints understate so
      // strong a tilt (21.5 degrees here), so the first crop is only nearly upright; the refine pass,
      // turned by the landmarks' own eye line, finds the rest.
      const float first = f.region.angle * 180 / kPi, landmarks = upright_angle(f.landmarks) * 180 / kPi;
      const bool is_turned = f.region.centre.x > 660;
      turned += is_turned;
      CHECK(std::abs(first - (is_turned ? -30.0f : 0.0f)) < (is_turned ? 12.0f : 3.0f));
      CHECK(std::abs(landmarks - (is_turned ? -30.0f : 0.0f)) < 3.0f);
    }
    CHECK(turned == 1);
  }
}

// Reads 145 photos and runs both detectors on each: native builds only (see tests/run_all.sh).
TEST_SUITE("whole_300w") {
  TEST_CASE("300-W validation: YuNet (float and int8) finds every annotated face, the cascade at least 90 %") {
    const std::string dir = std::string(PFLD_TEST_DATA_DIR) + "/300w/val";
    if (!std::filesystem::is_directory(dir)) {
      MESSAGE("skipped: ../shared/data/300w/val is missing");
      return;
    }
    const std::vector<FaceRecord> records = list_pts_folder(dir);
    REQUIRE(records.size() == 145);
    std::vector<std::unique_ptr<FaceDetector>> detectors;
    std::vector<std::string> names{"YuNet", "YuNet int8"};
    detectors.push_back(load_face_detector());
    detectors.push_back(load_face_detector(io::shipped_weights("face_detection_yunet_2023mar-int8.ranges")));
    if (exists(default_face_cascade())) detectors.push_back(load_face_detector(default_face_cascade())), names.push_back("cascade");
    for (std::size_t d = 0; d < detectors.size(); ++d) {
      std::size_t found = 0;
      for (const FaceRecord& r : records) {
        std::vector<FaceRegion> regions;
        for (const FaceDetection& f : detectors[d]->detect(io::read_image(r.image_path).view()))
          regions.push_back(detectors[d]->landmark_region(f));
        found += eval::match_face(regions, r.landmarks) >= 0;
      }
      MESSAGE(names[d], " found ", found, " of ", records.size());
      if (d < 2) CHECK(found == records.size());
      else CHECK(static_cast<double>(found) / static_cast<double>(records.size()) >= 0.90);
    }
  }
}
