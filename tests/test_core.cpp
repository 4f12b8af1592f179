#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <stdexcept>
#include <vector>

#include <pfld/pfld.hpp>

using namespace pfld;

namespace {
struct Celsius {
  double degrees;
};
std::ostream& operator<<(std::ostream& out, const Celsius& c) { return out << c.degrees << " C"; }
}  // namespace

TEST_SUITE("core") {
  TEST_CASE("cat writes its parts as std::ostream would; fail throws them as an Error") {
    const char* none = nullptr;
    const std::string name = "conv1";
    std::ostringstream expected;
    expected << "layer " << name << ": " << 3 << 'x' << std::size_t{7} << ", " << -2L << ' ' << 0.1f << ' ' << 2.5e-7
             << ' ' << 1e21 << ' ' << true << ' ' << std::string_view("sv");
    CHECK(cat("layer ", name, ": ", 3, 'x', std::size_t{7}, ", ", -2L, ' ', 0.1f, ' ', 2.5e-7, ' ', 1e21, ' ', true, ' ',
              std::string_view("sv")) == expected.str());
    CHECK(cat("a", none, "b") == "a(null)b");
    CHECK(cat("t = ", Celsius{21.5}) == "t = 21.5 C");  // a type of the caller's, through its operator<<
    CHECK(cat() == "");
    CHECK_THROWS_WITH_AS(fail("bad ", 4, " of ", 3.5), "bad 4 of 3.5", Error);
    CHECK_NOTHROW(require(true, "never"));
  }

  TEST_CASE("Shape: rank, numel, comparison, errors") {
    const Shape s{2, 7, 9, 3};
    CHECK(s.rank() == 4);
    CHECK(s.numel() == 2u * 7 * 9 * 3);
    CHECK(s.back() == 3);
    CHECK(s.back(3) == 2);
    CHECK(s.str() == "[2, 7, 9, 3]");
    CHECK(s.with(0, 5) == Shape{5, 7, 9, 3});
    CHECK(s != Shape{2, 7, 9});
    CHECK_THROWS_AS(s[4], Error);
    CHECK_THROWS_AS((Shape{1, -2}), Error);
    CHECK_THROWS_AS((Shape{1, 2, 3, 4, 5}), Error);
  }

  TEST_CASE("Shape: element counts past the limit or past size_t are refused, never wrapped") {
    CHECK((Shape{46340, 46340}).numel() == 46340u * 46340u);  // just under 2^31
    CHECK_THROWS_WITH_AS((Shape{1 << 16, 1 << 16}), doctest::Contains("more than"), Error);
    // 2^62 elements: 2^64 bytes, which a size_t multiplication would wrap to 0.
    CHECK_THROWS_AS((Shape{1 << 24, 1 << 24, 1 << 14}), Error);
    CHECK_THROWS_AS((Shape{1 << 20, 1 << 20, 1 << 20, 1 << 20}), Error);
    CHECK((Shape{0, 1 << 30, 1 << 30}).numel() == 0);
    CHECK_THROWS_AS((Shape{1 << 16, 1}).with(1, 1 << 16), Error);
    CHECK_THROWS_AS((Shape{4, 4}).with(0, -1), Error);
  }

  TEST_CASE("strict numbers: whole fields only, ranges, subnormals, no NaN or infinity") {
    using detail::parse_integer;
    using detail::parse_real;
    CHECK(parse_integer("68", 1, 100) == 68);
    CHECK(parse_integer("-5", -10, 10) == -5);
    for (const char* bad : {"", "68abc", " 68", "68 ", "0x10", "1e3", "+-1", "99999999999999999999"})
      CHECK_MESSAGE(!parse_integer(bad, -1000000, 1000000), bad);
    CHECK(!parse_integer("101", 1, 100));
    CHECK(parse_real<float>("2.5") == 2.5f);
    CHECK(parse_real<float>("+3") == 3.0f);
    CHECK(parse_real<float>("-1e-3") == -1e-3f);
    CHECK(*parse_real<float>("1e-40") > 0.0f);  // subnormal: a number
    CHECK(*parse_real<float>("1e-50") == 0.0f);  // below every subnormal: rounds to zero
    for (const char* bad : {"", "nan", "inf", "-inf", "1e39", "3.4e38x", "1,5", "++1", "+-1", "0x1p3", " 1"})
      CHECK_MESSAGE(!parse_real<float>(bad), bad);
    CHECK(parse_real<double>("1e39") == 1e39);
  }

  TEST_CASE("Tensor: zeroed, 64-byte aligned, NHWC indexing") {
    Tensor t(Shape{2, 3, 5, 7});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    for (float v : t) CHECK(v == 0.0f);
    t.at(1, 2, 4, 6) = 5.0f;
    CHECK(t[t.numel() - 1] == 5.0f);
    t.at(0, 1, 2, 3) = 2.0f;
    CHECK(t[((0 * 3 + 1) * 5 + 2) * 7 + 3] == 2.0f);
    CHECK_THROWS_AS(t.reshaped(Shape{2, 3}).at(0, 0, 0, 0), Error);
  }

  TEST_CASE("Tensor: copies and views share storage, clone does not") {
    Tensor t(Shape{4, 2, 2, 3});
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i);
    Tensor alias = t;
    alias[0] = -1.0f;
    CHECK(t[0] == -1.0f);

    Tensor flat = t.reshaped(Shape{4, 12});
    CHECK(flat.shares_storage_with(t));
    CHECK(flat[13] == 13.0f);
    CHECK_THROWS_AS(t.reshaped(Shape{5, 12}), Error);

    Tensor middle = t.batch(1, 2);
    CHECK(middle.shape() == Shape{2, 2, 2, 3});
    CHECK(middle[0] == 12.0f);
    middle[0] = 100.0f;
    CHECK(t[12] == 100.0f);
    CHECK_THROWS_AS(t.batch(3, 2), Error);

    Tensor copy = t.clone();
    copy[0] = 7.0f;
    CHECK(t[0] == -1.0f);
    CHECK_FALSE(copy.shares_storage_with(t));
  }

  TEST_CASE("Tensor: wrap views caller memory") {
    std::vector<float> mem(12, 1.5f);
    Tensor t = Tensor::wrap(mem.data(), Shape{3, 4});
    CHECK(t.data() == mem.data());
    t[5] = 3.0f;
    CHECK(mem[5] == 3.0f);
  }

  TEST_CASE("Tensor: huge-page blocks, views into them, and gathering tensors into one") {
    const Tensor block = Tensor::on_huge_pages(Shape{1000});
    CHECK(reinterpret_cast<std::uintptr_t>(block.data()) % (std::uintptr_t{2} << 20) == 0);
    CHECK(block.numel() == 1000);
    CHECK(std::all_of(block.begin(), block.end(), [](float v) { return v == 0.0f; }));

    Tensor view = block.view(40, Shape{3, 5});
    CHECK(view.data() == block.data() + 40);
    CHECK(view.shares_storage_with(block));
    CHECK_THROWS_WITH_AS(block.view(990, Shape{3, 5}), doctest::Contains("outside tensor"), Error);

    Tensor a(Shape{7}), b(Shape{2, 3}), empty;
    for (std::size_t i = 0; i < 7; ++i) a[i] = static_cast<float>(i);
    for (std::size_t i = 0; i < 6; ++i) b[i] = -static_cast<float>(i);
    const Tensor a_before = a, b_before = b;
    gather_onto_huge_pages({&a, &empty, &b});
    CHECK(a.shape() == Shape{7});
    CHECK(b.shape() == Shape{2, 3});
    CHECK(empty.empty());
    CHECK(a.shares_storage_with(b));
    CHECK_FALSE(a.shares_storage_with(a_before));
    CHECK(b.data() == a.data() + 16);  // each tensor on a 64-byte boundary
    for (std::size_t i = 0; i < 7; ++i) CHECK(a[i] == a_before[i]);
    for (std::size_t i = 0; i < 6; ++i) CHECK(b[i] == b_before[i]);
  }

  TEST_CASE("ensure_shape reuses storage when the size fits") {
    Tensor t(Shape{2, 6});
    float* before = t.data();
    ensure_shape(t, Shape{3, 4});
    CHECK(t.data() == before);
    CHECK(t.shape() == Shape{3, 4});
    ensure_shape(t, Shape{5, 5});
    CHECK(t.numel() == 25);
  }

  TEST_CASE("Rng: deterministic, seeded, sane moments") {
    Rng a(42), b(42), c(43);
    for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
    CHECK(Rng(42).next_u64() != c.next_u64());

    Rng r(7);
    double sum = 0, sum_sq = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      const double x = r.normal();
      sum += x;
      sum_sq += x * x;
    }
    CHECK(std::abs(sum / n) < 0.01);
    CHECK(std::abs(sum_sq / n - 1.0) < 0.02);

    float lo = 1, hi = 0;
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 10000; ++i) {
      const float u = r.uniform();
      lo = std::min(lo, u);
      hi = std::max(hi, u);
      seen.insert(r.below(7));
    }
    CHECK(lo >= 0.0f);
    CHECK(hi < 1.0f);
    CHECK(seen.size() == 7);
    CHECK(*seen.rbegin() == 6);
  }

  TEST_CASE("ThreadPool: covers the range exactly once, any size") {
    for (int threads : {1, 2, 3, 5}) {
      ThreadPool pool(threads);
      CHECK(pool.size() == threads);
      for (std::size_t count : {0u, 1u, 2u, 7u, 1000u}) {
        std::vector<std::atomic<int>> hits(count);
        for (auto& h : hits) h = 0;
        pool.parallel_for(0, count, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t i = lo; i < hi; ++i) ++hits[i];
        });
        for (auto& h : hits) CHECK(h == 1);
      }
    }
  }

  TEST_CASE("ThreadPool: grain, nesting, exceptions, many jobs") {
    ThreadPool pool(3);
    std::atomic<int> chunks{0};
    pool.parallel_for(0, 10, [&](std::size_t, std::size_t) { ++chunks; }, 8);
    CHECK(chunks == 2);

    std::atomic<int> inner{0};
    pool.parallel_for(0, 4, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i)
        pool.parallel_for(0, 5, [&](std::size_t a, std::size_t b) { inner += static_cast<int>(b - a); });
    });
    CHECK(inner == 20);

    CHECK_THROWS_AS(pool.parallel_for(0, 6, [](std::size_t lo, std::size_t) {
      if (lo == 0) throw std::runtime_error("boom");
    }), std::runtime_error);

    std::atomic<long> total{0};
    for (int job = 0; job < 2000; ++job)
      pool.parallel_for(0, 3, [&](std::size_t lo, std::size_t hi) { total += static_cast<long>(hi - lo); });
    CHECK(total == 6000);
  }

  TEST_CASE("CPU features and ISA choice") {
    CHECK(isa_supported(Isa::ref));
    CHECK(isa_supported(best_isa()));
    CHECK(isa_supported(active_isa()));
    CHECK(parse_isa("avx2") == Isa::avx2);
    CHECK_THROWS_AS(parse_isa("sse9"), Error);
#if defined(PFLD_ARCH_AARCH64)
    CHECK(cpu_features().neon);
#endif
    if (cpu_features().avx512f) CHECK(cpu_features().avx2);
    MESSAGE("best ISA here: " << std::string(to_string(best_isa())) << ", active: " << std::string(to_string(active_isa())));
  }
}
