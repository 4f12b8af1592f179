// The cascade face detector: XML reading and its errors, grouping, real photos from Debian packages
// (skipped with a message when a package is absent) and the hit rate on the 300-W validation faces.
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
    const std::string model = std::string(PFLD_TEST_DATA_DIR) + "/../models/face_detection_yunet_2023mar.onnx";
    if (!exists(model) || !exists(kGraceHopper)) {
      MESSAGE("skipped: needs ../shared/models and python-matplotlib-data");
      return;
    }
    YuNet yunet = YuNet::load(model);
    CHECK_THROWS_WITH_AS(yunet.raw_output("cls_8"), doctest::Contains("no detection has run"), Error);
    const Image image = io::read_image(kGraceHopper);
    const std::vector<YuNetFace> faces = yunet.detect(image.view());
    REQUIRE(faces.size() == 1);
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
    // A photo of a size that is no multiple of 32 runs on a graph of its padded size: the same face.
    const Image cropped = [&] {
      Image c(image.width - 13, image.height - 7);
      for (int y = 0; y < c.height; ++y)
        std::copy_n(image.pixels.data() + static_cast<std::size_t>(y) * image.width * 3, static_cast<std::size_t>(c.width) * 3,
                    c.pixels.data() + static_cast<std::size_t>(y) * c.width * 3);
      return c;
    }();
    const std::vector<YuNetFace> again = yunet.detect(cropped.view());
    REQUIRE(again.size() == 1);
    CHECK(box_iou(again[0].box, faces[0].box) > 0.9f);

    std::vector<YuNetFace> overlapping(3);
    overlapping[0].box = Box{0, 0, 10, 10}, overlapping[0].score = 0.5f;
    overlapping[1].box = Box{1, 1, 10, 10}, overlapping[1].score = 0.9f;  // IoU 0.68 with the first
    overlapping[2].box = Box{20, 0, 10, 10}, overlapping[2].score = 0.7f;
    const std::vector<YuNetFace> kept = suppress_overlaps(overlapping, 0.3f);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].score == 0.9f);
    CHECK(kept[1].score == 0.7f);

    CHECK_THROWS_WITH_AS(YuNet::load(kGraceHopper), doctest::Contains("grace_hopper.jpg"), Error);
    YuNetOptions small;
    small.max_side = 256;
    YuNet limited = YuNet::load(model, small);
    CHECK_THROWS_WITH_AS(limited.detect(image.view()), doctest::Contains("max_side"), Error);
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

  TEST_CASE("detect_all: faces found, mapped to landmark boxes, landmarked") {
    if (!exists(kGraceHopper) || !exists(default_face_cascade())) {
      MESSAGE("skipped: python-matplotlib-data or opencv-data is not installed");
      return;
    }
    ModelConfig config;
    model::PfldNet net(config);
    Rng rng(1);
    net.reset_parameters(rng);
    net.set_training(false);
    Detector detector(net);
    CHECK_THROWS_WITH_AS(detector.detect_all(io::read_image(kGraceHopper).view()), doctest::Contains("no face detector"),
                         Error);
    detector.set_face_detector(std::make_shared<const FaceDetector>(FaceDetector::load()));
    const Image image = io::read_image(kGraceHopper);
    const std::vector<DetectedFace> faces = detector.detect_all(image.view());
    REQUIRE(faces.size() == 1);
    CHECK(faces[0].landmarks.size() == 68);
    // The mapped box: lower than the detection (the chin is in), a little smaller.
    CHECK(faces[0].box.center_y() > faces[0].detection.box.center_y());
    CHECK(faces[0].box.width < faces[0].detection.box.width);
  }
}

// Reads 145 photos and runs the cascade on each: native builds only (see tests/run_all.sh).
TEST_SUITE("whole_300w") {
  TEST_CASE("300-W validation: the annotated face is found in at least 90 % of the images") {
    const std::string dir = std::string(PFLD_TEST_DATA_DIR) + "/300w/val";
    if (!exists(default_face_cascade()) || !std::filesystem::is_directory(dir)) {
      MESSAGE("skipped: opencv-data or ../shared/data/300w/val is missing");
      return;
    }
    const FaceDetector faces = FaceDetector::load();
    const std::vector<FaceRecord> records = list_pts_folder(dir);
    REQUIRE(records.size() == 145);
    std::size_t found = 0;
    for (const FaceRecord& r : records) {
      const Box truth = bounding_box(r.landmarks);
      const float side = std::max(truth.width, truth.height);
      for (const FaceBox& f : faces.detect(io::read_image(r.image_path).view()))
        if (contains(f.box, truth.center_x(), truth.center_y()) && f.box.width / side <= 1.5f &&
            f.box.width / side >= 1 / 1.5f) {
          ++found;
          break;
        }
    }
    MESSAGE("found ", found, " of ", records.size());
    CHECK(static_cast<double>(found) / static_cast<double>(records.size()) >= 0.90);
  }
}
