// The kvtc transform codec and its parts: RoPE undo/redo, the calibration (orthonormal,
// deterministic, a file that round-trips and rejects corruption), the rate allocation against an
// exhaustive search, the fixed tables, and the codec against a slow reference decoder.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>

#include "cachegen/codec/bit_allocation.h"
#include "cachegen/codec/container.h"
#include "cachegen/codec/kvtc_calibration.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/float_formats.h"
#include "kvtc/kvtc_synthesis.h"
#include "kvtc/kvtc_tables.h"
#include "test_util.h"

namespace cachegen {
namespace {

KeyRotation test_rotation(int64_t head_dim) {
  KeyRotation r;
  for (int64_t i = 0; i < head_dim / 2; ++i)
    r.inv_freq.push_back(static_cast<float>(
        std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim))));
  return r;
}

// Correlated KV: every (layer, kind) plane is a fixed mixing of a few decaying latent factors
// plus noise, keys then rotated by RoPE at their positions (as a model caches them).
KVCache correlated_kv(int64_t layers, int64_t tokens, int64_t heads, int64_t dim,
                      const KeyRotation& rotation, int64_t first_position, uint64_t seed,
                      DType dtype = DType::kF32) {
  const KVShape shape{layers, tokens, heads, dim};
  const int64_t c = shape.channels(), factors = 6;
  std::mt19937_64 mixing_rng(99);  // the same mixing for every sample
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> mixing(static_cast<size_t>(layers * 2 * factors * c));
  for (float& m : mixing)
    m = normal(mixing_rng);
  std::mt19937_64 rng(seed);
  KVCache kv(shape, dtype);
  RotationTable table(rotation, first_position, tokens);
  std::vector<float> row(static_cast<size_t>(c));
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<float> z(static_cast<size_t>(factors));
    for (int64_t f = 0; f < factors; ++f)
      z[static_cast<size_t>(f)] = normal(rng) * std::pow(0.6f, static_cast<float>(f)) * 2.0f;
    for (int64_t l = 0; l < layers; ++l) {
      for (int kind : {kKey, kValue}) {
        const float* m = mixing.data() + (l * 2 + kind) * factors * c;
        for (int64_t i = 0; i < c; ++i) {
          float v = 0.3f + 0.05f * normal(rng);
          for (int64_t f = 0; f < factors; ++f)
            v += z[static_cast<size_t>(f)] * m[f * c + i];
          row[static_cast<size_t>(i)] = v;
        }
        if (kind == kKey && !rotation.empty())
          table.rotate(row.data(), heads, t, false);
        kv.store_row(l, kind, t, row.data());
      }
    }
  }
  return kv;
}

KvtcCalibration calibrate(const KVShape& shape, const KeyRotation& rotation,
                          KvtcCalibrationSettings settings, int threads = 1) {
  KvtcCalibrator calibrator(shape, rotation, settings, threads);
  for (uint64_t seed = 10; seed < 13; ++seed)
    calibrator.add(correlated_kv(shape.layers, 96, shape.kv_heads, shape.head_dim, rotation,
                                 static_cast<int64_t>(seed * 100), seed),
                   static_cast<int64_t>(seed * 100));
  return calibrator.finish();
}

std::string write_calibration(const KvtcCalibration& c, const std::string& name) {
  const std::string path = ::testing::TempDir() + name;
  write_file_atomic(path, c.serialize());
  return path;
}

TEST(KeyRotation, InverseUndoesForwardAndForwardMatchesRotateHalf) {
  const KeyRotation rotation = test_rotation(8);
  RotationTable table(rotation, 1000, 3);
  std::vector<float> row = {1, -2, 3, 0.5f, 4, 1, -1, 2, 0.25f, 7, -3, 2, 1, 1, 0, -5};
  std::vector<float> x = row;
  table.rotate(x.data(), 2, 2, false);
  // Reference: rotate_half at position 1002, head by head, from the definition.
  for (int64_t h = 0; h < 2; ++h) {
    for (int64_t i = 0; i < 4; ++i) {
      const double angle = 1002.0 * rotation.inv_freq[static_cast<size_t>(i)];
      const double a = row[static_cast<size_t>(h * 8 + i)],
                   b = row[static_cast<size_t>(h * 8 + i + 4)];
      EXPECT_NEAR(x[static_cast<size_t>(h * 8 + i)], a * std::cos(angle) - b * std::sin(angle),
                  1e-5);
      EXPECT_NEAR(x[static_cast<size_t>(h * 8 + i + 4)], b * std::cos(angle) + a * std::sin(angle),
                  1e-5);
    }
  }
  table.rotate(x.data(), 2, 2, true);
  for (size_t i = 0; i < row.size(); ++i)
    EXPECT_NEAR(x[i], row[i], 1e-5);
  KeyRotation scaled = rotation;
  scaled.attention_scaling = 1.25f;
  RotationTable scaled_table(scaled, 7, 1);
  x = row;
  scaled_table.rotate(x.data(), 2, 0, false);
  scaled_table.rotate(x.data(), 2, 0, true);
  for (size_t i = 0; i < row.size(); ++i)
    EXPECT_NEAR(x[i], row[i], 1e-5);
}

TEST(KvtcCalibration, BasisIsOrthonormalSortedAndTheTransformRoundTrips) {
  const KVShape shape{4, 0, 2, 8};
  for (int64_t layers_per_basis : {1, 2, 4}) {
    KvtcCalibrationSettings settings;
    settings.layers_per_basis = layers_per_basis;
    const KvtcCalibration c = calibrate(shape, test_rotation(8), settings);
    ASSERT_EQ(c.groups(), 4 / layers_per_basis);
    const int64_t d = c.dim();
    for (int64_t domain = 0; domain < c.domains(); ++domain) {
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> b(
          c.domain_basis(domain), d, d);
      const Eigen::MatrixXf gram = b * b.transpose();
      EXPECT_LT((gram - Eigen::MatrixXf::Identity(d, d)).cwiseAbs().maxCoeff(), 1e-5)
          << "domain " << domain;
      for (int64_t r = 1; r < d; ++r)
        EXPECT_GE(c.domain_variance(domain)[r - 1], c.domain_variance(domain)[r]);
      // x -> B (x - mean) -> mean + B^T c is the identity.
      Eigen::VectorXf x = Eigen::VectorXf::LinSpaced(d, -2.0f, 3.0f);
      Eigen::Map<const Eigen::VectorXf> mean(c.domain_mean(domain), d);
      const Eigen::VectorXf back = mean + b.transpose() * (b * (x - mean));
      EXPECT_LT((back - x).cwiseAbs().maxCoeff(), 1e-4);
    }
    // Six latent factors: the leading components hold nearly all the variance.
    const float* v = c.domain_variance(0);
    double head = 0, total = 0;
    for (int64_t r = 0; r < d; ++r) {
      total += v[r];
      head += r < 6 ? v[r] : 0;
    }
    EXPECT_GT(head / total, 0.95) << "layers_per_basis " << layers_per_basis;
  }
}

TEST(KvtcCalibration, UndoingRopeConcentratesTheKeysVariance) {
  const KVShape shape{2, 0, 2, 8};
  KvtcCalibrationSettings on, off;
  off.undo_rope = false;
  const KvtcCalibration with = calibrate(shape, test_rotation(8), on);
  const KvtcCalibration without = calibrate(shape, test_rotation(8), off);
  EXPECT_TRUE(without.rotation.empty());
  auto share_of_first_six = [](const KvtcCalibration& c) {  // keys of layer 0: domain 0
    double head = 0, total = 0;
    for (int64_t r = 0; r < c.dim(); ++r) {
      total += c.domain_variance(0)[r];
      head += r < 6 ? c.domain_variance(0)[r] : 0;
    }
    return head / total;
  };
  EXPECT_GT(share_of_first_six(with), 0.95);
  EXPECT_LT(share_of_first_six(without), share_of_first_six(with) - 0.05);
}

TEST(KvtcCalibration, DeterministicAcrossThreadsAndRoundTripsThroughItsFile) {
  const KVShape shape{2, 0, 2, 8};
  KvtcCalibrationSettings settings;
  const KvtcCalibration one = calibrate(shape, test_rotation(8), settings, 1);
  const KvtcCalibration three = calibrate(shape, test_rotation(8), settings, 3);
  EXPECT_EQ(one.serialize(), three.serialize());
  EXPECT_EQ(one.id, three.id);
  const std::vector<uint8_t> bytes = one.serialize();
  const KvtcCalibration back = KvtcCalibration::parse(bytes, "mem");
  EXPECT_EQ(back.id, one.id);
  EXPECT_EQ(back.serialize(), bytes);
  // The fuzz seed (codec/fuzz/corpus/kvtc_calibration/) is this calibration's file: it pins the
  // format. CACHEGEN_WRITE_SEEDS=1 rewrites it after a deliberate format change.
  const std::string seed =
      CACHEGEN_SOURCE_DIR "/codec/fuzz/corpus/kvtc_calibration/seed-2x2x8-rope.kvtc";
  if (std::getenv("CACHEGEN_WRITE_SEEDS"))
    write_file_atomic(seed, bytes);
  EXPECT_EQ(read_file(seed), bytes) << seed;
  EXPECT_EQ(back.rotation.inv_freq, one.rotation.inv_freq);
  // Any flipped byte fails the container's checksums, naming the file.
  for (size_t at : {size_t{10}, bytes.size() / 2, bytes.size() - 9}) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0x20;
    try {
      KvtcCalibration::parse(bad, "bad.kvtc");
      FAIL() << "byte " << at;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.kvtc"), std::string::npos) << e.what();
    }
  }
}

// Exhaustive search: the least distortion of any assignment within the budget.
double brute_force(const std::vector<std::vector<RateDistortion>>& choices, double budget) {
  double best = 1e300;
  std::function<void(size_t, double, double)> walk = [&](size_t j, double bits, double dist) {
    if (bits > budget + 1e-9)
      return;
    if (j == choices.size()) {
      best = std::min(best, dist);
      return;
    }
    for (const RateDistortion& p : choices[j])
      walk(j + 1, bits + p.bits, dist + p.distortion);
  };
  walk(0, 0, 0);
  return best;
}

double evaluate(const std::vector<std::vector<RateDistortion>>& choices,
                const std::vector<int>& chosen, double* bits) {
  double dist = 0;
  *bits = 0;
  for (size_t j = 0; j < choices.size(); ++j) {
    *bits += choices[j][static_cast<size_t>(chosen[j])].bits;
    dist += choices[j][static_cast<size_t>(chosen[j])].distortion;
  }
  return dist;
}

TEST(RateAllocation, EqualsExhaustiveSearchAtLagrangianBudgetsAndNeverOverspends) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    // 4 components x 5 choices; choice 0 free. Random, not necessarily convex, curves.
    std::vector<std::vector<RateDistortion>> choices(4);
    for (auto& c : choices) {
      double d0 = 1 + 9 * unit(rng);
      c.push_back({0, d0});
      for (int k = 1; k < 5; ++k)
        c.push_back({std::round(1 + 15 * unit(rng)), d0 * unit(rng)});
    }
    for (double budget : lagrangian_budgets(choices)) {
      double bits = 0;
      const double dist = evaluate(choices, allocate_rate(choices, budget), &bits);
      EXPECT_LE(bits, budget + 1e-9);
      EXPECT_NEAR(dist, brute_force(choices, budget), 1e-9) << "trial " << trial;
    }
    for (double budget : {0.0, 3.0, 7.5, 12.0, 20.0, 40.0}) {
      double bits = 0;
      const double dist = evaluate(choices, allocate_rate(choices, budget), &bits);
      EXPECT_LE(bits, budget + 1e-9);
      EXPECT_GE(dist, brute_force(choices, budget) - 1e-9);  // (sanity of the search itself)
    }
  }
}

TEST(KvtcTables, EveryTableCodesEverySymbolAndTheSearchFindsTheBest) {
  for (int index = 0; index < kKvtcTableCount; ++index) {
    const FreqTable& t = kvtc_table(index);
    ASSERT_EQ(t.alphabet(), kKvtcAlphabet);
    for (int s = 0; s < kKvtcAlphabet; ++s)
      EXPECT_GT(t.freq(s), 0u) << "table " << index << " symbol " << s;
  }
  // Histograms of rounded Laplace and Gaussian samples of several widths: the local search
  // around the maximum-likelihood fit finds the exhaustive best or within 1%.
  std::mt19937_64 rng(3);
  for (double width : {0.2, 1.0, 3.0, 12.0, 40.0}) {  // (40: mostly escapes)
    for (int family = 0; family < 2; ++family) {
      std::array<uint32_t, kKvtcHistogram> counts{};  // over n + 127
      std::normal_distribution<double> normal(0, width);
      std::exponential_distribution<double> exponential(1 / width);
      for (int i = 0; i < 5000; ++i) {
        double v = family == 0 ? exponential(rng) * (rng() % 2 ? 1 : -1) : normal(rng);
        int n = static_cast<int>(std::clamp(std::nearbyint(v), -127.0, 127.0));
        ++counts[static_cast<size_t>(n + kKvtcLimit)];
      }
      double bits = 0;
      kvtc_best_table(counts.data(), &bits);
      double best = 1e300;
      for (int index = 0; index < kKvtcTableCount; ++index) {
        double b = 0;  // direct symbols, or the escape and its raw byte
        for (int i = 0; i < kKvtcHistogram; ++i) {
          const int n = i - kKvtcLimit;
          b += static_cast<double>(counts[static_cast<size_t>(i)]) *
               (std::abs(n) <= kKvtcDirect ? kvtc_table_cost(index)[n + kKvtcDirect]
                                           : kvtc_table_cost(index)[kKvtcEscape] + kKvtcEscapeBits);
        }
        best = std::min(best, b);
      }
      EXPECT_LE(bits, best * 1.01 + 1) << "width " << width << " family " << family;
    }
  }
}

// The vector kernels against the dense reference, bit for bit: shapes with every tile width and
// a scalar tail, row counts around the kernels' block of 8, half the coefficients zero and whole
// trailing components zero (skipped by the fast kernels), signed zeros in the offset.
TEST(KvtcSynthesis, EveryKernelMatchesTheDenseReferenceBitForBit) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  int kernels_run = 0;
  for (SynthesisKernel kernel :
       {SynthesisKernel::kAuto, SynthesisKernel::kAvx2, SynthesisKernel::kAvx512}) {
    if (!synthesis_kernel_supported(kernel))
      continue;
    ++kernels_run;
    for (int64_t d : {192, 200, 7, 83}) {
      for (int64_t k : {0, 1, 37, 160}) {
        for (int64_t rows : {1, 7, 8, 13, 64}) {
          const int64_t stride = k + 5;
          std::vector<int8_t> n(static_cast<size_t>(rows * stride), 99);  // padding: ignored
          for (int64_t t = 0; t < rows; ++t) {
            for (int64_t i = 0; i < k; ++i) {
              const bool zero = rng() % 2 == 0 || i >= k - k / 4;
              n[static_cast<size_t>(t * stride + i)] =
                  zero ? int8_t{0} : static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
            }
          }
          std::vector<float> basis(static_cast<size_t>(k * d)), offset(static_cast<size_t>(d));
          for (float& b : basis)
            b = normal(rng);
          for (size_t j = 0; j < offset.size(); ++j)
            offset[j] = j % 3 == 0 ? -0.0f : j % 3 == 1 ? 0.0f : normal(rng);
          std::vector<float> fast(static_cast<size_t>(rows * d)), slow(fast.size());
          kvtc_synthesize(n.data(), stride, rows, k, basis.data(), d, offset.data(), fast.data(),
                          kernel);
          kvtc_synthesize(n.data(), stride, rows, k, basis.data(), d, offset.data(), slow.data(),
                          SynthesisKernel::kScalar);
          for (size_t e = 0; e < fast.size(); ++e) {
            ASSERT_EQ(float_bits(fast[e]), float_bits(slow[e]))
                << "kernel " << static_cast<int>(kernel) << " d " << d << " k " << k << " rows "
                << rows << " element " << e;
          }
          // And the reference is the sum it claims to be (to float rounding).
          for (int64_t t = 0; t < rows; ++t) {
            const int64_t j = (t * 7) % d;
            double sum = offset[static_cast<size_t>(j)];
            for (int64_t i = 0; i < k; ++i) {
              sum += n[static_cast<size_t>(t * stride + i)] *
                     static_cast<double>(basis[static_cast<size_t>(i * d + j)]);
            }
            EXPECT_NEAR(slow[static_cast<size_t>(t * d + j)], sum, 1e-3 * (1 + std::abs(sum)));
          }
        }
      }
    }
  }
  EXPECT_GE(kernels_run, 1);
}

std::unique_ptr<Codec> kvtc(const std::string& options, std::vector<std::string> files = {}) {
  CodecContext context;
  context.threads = 2;
  context.profile_paths = std::move(files);
  return make_codec("kvtc", Options::parse(options, "test"), context);
}

// Slow reference decoder: reads 'META' and re-derives every symbol from the input's
// coefficients (double precision), then reconstructs token by token. The fast decoder must
// agree: a symbol lost in the entropy coder, or a wrong basis row, would show as a large error.
KVCache reference_decode(const KVCache& input, const std::vector<uint8_t>& container,
                         const KvtcCalibration& c, int64_t sinks, int64_t window,
                         int64_t first_position, int64_t context_tokens) {
  ContainerView view = ContainerView::parse(container.data(), container.size(), 0, "ref");
  const KVShape& s = input.shape();
  const int64_t d = c.dim(), n = c.domains() * d;
  const uint8_t* meta = view.section_data(section_tag("META"));
  auto centre = [&](int64_t j) {
    uint16_t v;
    std::memcpy(&v, meta + 2 * j, 2);
    return static_cast<double>(half_to_float(v));
  };
  auto unit = [&](int64_t j) {
    uint16_t v;
    std::memcpy(&v, meta + 2 * n + 2 * j, 2);
    return static_cast<double>(half_to_float(v));
  };
  auto choice = [&](int64_t j) { return static_cast<int>(meta[4 * n + j]); };
  KVCache out = input;
  RotationTable rotation(c.rotation, first_position, s.tokens);
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t p = first_position + t;
    if (p < sinks || p >= context_tokens - window)
      continue;  // exact
    for (int64_t domain = 0; domain < c.domains(); ++domain) {
      const int kind = static_cast<int>(domain / c.groups());
      const int64_t group = domain % c.groups();
      std::vector<float> x(static_cast<size_t>(d));
      kvtc_features(input, kind, group, c.layers_per_basis,
                    c.rotation.empty() ? nullptr : &rotation, t, 1, x.data());
      std::vector<double> y(static_cast<size_t>(d));
      for (int64_t i = 0; i < d; ++i)
        y[static_cast<size_t>(i)] = c.domain_mean(domain)[i];
      for (int64_t r = 0; r < d; ++r) {
        const int64_t j = domain * d + r;
        const float* b = c.domain_basis(domain) + r * d;
        double coefficient = 0;
        for (int64_t i = 0; i < d; ++i)
          coefficient +=
              static_cast<double>(b[i]) *
              (x[static_cast<size_t>(i)] - static_cast<double>(c.domain_mean(domain)[i]));
        double value = centre(j);
        if (choice(j) > 0) {
          const double step = unit(j) * std::pow(2.0, (5.0 - static_cast<double>(choice(j))) / 2.0);
          value +=
              std::clamp(std::nearbyint((coefficient - centre(j)) / step), -127.0, 127.0) * step;
        }
        for (int64_t i = 0; i < d; ++i)
          y[static_cast<size_t>(i)] += value * static_cast<double>(b[i]);
      }
      std::vector<float> yf(y.begin(), y.end());
      for (int64_t i = 0; i < c.layers_per_basis; ++i) {
        float* row = yf.data() + i * s.channels();
        if (kind == kKey && !c.rotation.empty())
          rotation.rotate(row, s.kv_heads, t, false);
        out.store_row(group * c.layers_per_basis + i, kind, t, row);
      }
    }
  }
  return out;
}

TEST(KvtcCodec, MatchesTheSlowReferenceDecoderAndKeepsSinksAndWindowExact) {
  const KeyRotation rotation = test_rotation(8);
  for (int64_t layers_per_basis : {1, 2}) {
    KvtcCalibrationSettings settings;
    settings.layers_per_basis = layers_per_basis;
    const KvtcCalibration c = calibrate({2, 0, 2, 8}, rotation, settings);
    const std::string path = write_calibration(c, "ref.kvtc");
    // A chunk at positions [0, 64) of a 70-token context: 4 sinks, the window's first 2 tokens.
    const KVCache input = correlated_kv(2, 64, 2, 8, rotation, 0, 77, DType::kF16);
    auto codec = kvtc(str("bits=3;calibration=", path, ";sinks=4;window=8"));
    const std::vector<uint8_t> bytes = codec->encode(input, ChunkPosition{0, 70}, nullptr);
    const KVCache decoded = codec->decode(bytes.data(), bytes.size(), 0);
    const KVCache reference = reference_decode(input, bytes, c, 4, 8, 0, 70);
    // Rounding aside (f16 output, float vs double arithmetic), the two decoders agree.
    double worst = 0;
    for (int64_t l = 0; l < 2; ++l)
      for (int kind : {kKey, kValue})
        for (int64_t t = 0; t < 64; ++t)
          for (int64_t i = 0; i < 16; ++i)
            worst = std::max(worst, static_cast<double>(std::abs(decoded.at(l, kind, t, i) -
                                                                 reference.at(l, kind, t, i))));
    EXPECT_LT(worst, 0.02) << "layers_per_basis " << layers_per_basis;
    for (int64_t t : {0, 3, 62, 63})  // positions < 4 and >= 70 - 8
      EXPECT_TRUE(same_bytes(decoded.slice_tokens(t, 1), input.slice_tokens(t, 1))) << t;
    EXPECT_FALSE(same_bytes(decoded.slice_tokens(30, 1), input.slice_tokens(30, 1)));
  }
}

TEST(KvtcCodec, MeetsItsBudgetAndErrorFallsAsBitsRise) {
  const KeyRotation rotation = test_rotation(16);
  const KvtcCalibration c = calibrate({2, 0, 2, 16}, rotation, KvtcCalibrationSettings{});
  const std::string path = write_calibration(c, "budget.kvtc");
  const KVCache input = correlated_kv(2, 512, 2, 16, rotation, 2000, 31, DType::kF16);
  double previous = 1e9;
  for (double bits : {0.5, 1.0, 2.0, 4.0}) {
    EncodeStats stats;
    auto codec = kvtc(str("bits=", bits, ";calibration=", path));
    const std::vector<uint8_t> bytes = codec->encode(input, ChunkPosition{2000, 4000}, &stats);
    EXPECT_LE(8.0 * static_cast<double>(bytes.size()),
              bits * static_cast<double>(input.shape().elements()))
        << bits;
    const KVCache back = codec->decode(bytes.data(), bytes.size(), 0);
    const double error = kv_relative_error(back, input);
    EXPECT_LT(error, previous) << bits;
    previous = error;
  }
  EXPECT_LT(previous, 0.05);
}

TEST(KvtcCodec, PcaBeatsPerChannelCodingOnCorrelatedKv) {
  const KeyRotation rotation = test_rotation(16);
  const KvtcCalibration pca = calibrate({2, 0, 2, 16}, rotation, KvtcCalibrationSettings{});
  KvtcCalibrationSettings identity_settings;
  identity_settings.transform = "identity";
  const KvtcCalibration identity = calibrate({2, 0, 2, 16}, rotation, identity_settings);
  const KVCache input = correlated_kv(2, 512, 2, 16, rotation, 0, 8, DType::kF16);
  auto error_of = [&](const KvtcCalibration& c, const std::string& name) {
    auto codec = kvtc(str("bits=1;calibration=", write_calibration(c, name)));
    const std::vector<uint8_t> bytes = codec->encode(input, ChunkPosition{0, 4096}, nullptr);
    return kv_relative_error(codec->decode(bytes.data(), bytes.size(), 0), input);
  };
  EXPECT_LT(error_of(pca, "pca.kvtc") * 2, error_of(identity, "identity.kvtc"));
}

TEST(KvtcCodec, DecodeFindsItsCalibrationByIdAndRefusesAWrongOne) {
  const KeyRotation rotation = test_rotation(8);
  const KvtcCalibration c = calibrate({2, 0, 2, 8}, rotation, KvtcCalibrationSettings{});
  const std::string path = write_calibration(c, "byid.kvtc");
  const KVCache input = correlated_kv(2, 40, 2, 8, rotation, 0, 3, DType::kF16);
  const std::vector<uint8_t> bytes =
      encode_chunks(*kvtc(str("bits=4;calibration=", path)), input, 16, nullptr);
  CodecContext with;
  with.profile_paths = {path};
  const KVCache back = decode_file(bytes, "chunks", with);
  EXPECT_LT(kv_relative_error(back, input), 0.2);
  try {
    decode_file(bytes, "chunks", CodecContext{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(c.id), std::string::npos) << e.what();
  }
  // A calibration for another shape is refused, naming both.
  const KVCache other = correlated_kv(3, 16, 2, 8, rotation, 0, 3, DType::kF16);
  EXPECT_THROW(kvtc(str("calibration=", path))->encode(other, ChunkPosition{}, nullptr), Error);
}

}  // namespace
}  // namespace cachegen
