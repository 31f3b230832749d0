#include "cachegen/codec/kvtc_calibration.h"

#include <Eigen/Dense>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include "cachegen/codec/container.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/checksum.h"
#include "cachegen/core/error.h"
#include "cachegen/core/options.h"
#include "cachegen/core/parallel.h"

namespace cachegen {

namespace {
constexpr char kCalibrationCodec[] = "kvtc-calibration";
constexpr uint32_t kMean = section_tag("MEAN");
constexpr uint32_t kBasis = section_tag("BASE");
constexpr uint32_t kVariance = section_tag("VARI");
constexpr uint32_t kRope = section_tag("ROPE");

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<uint8_t> float_bytes(const std::vector<float>& values) {
  const auto* p = reinterpret_cast<const uint8_t*>(values.data());
  return std::vector<uint8_t>(p, p + values.size() * sizeof(float));
}

std::vector<float> read_floats(const ContainerView& view, uint32_t tag, int64_t count,
                               const std::string& source) {
  if (view.section_size(tag) != static_cast<uint64_t>(count) * sizeof(float)) {
    fail("calibration '", source, "': section '", section_tag_name(tag), "' at byte offset ",
         view.section_file_offset(tag), " holds ", view.section_size(tag), " bytes, expected ",
         count * static_cast<int64_t>(sizeof(float)));
  }
  std::vector<float> out(static_cast<size_t>(count));
  std::memcpy(out.data(), view.section_data(tag), out.size() * sizeof(float));
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      fail("calibration '", source, "': section '", section_tag_name(tag),
           "' holds a non-finite value at byte offset ",
           view.section_file_offset(tag) + i * sizeof(float));
    }
  }
  return out;
}

std::string compute_id(const KvtcCalibration& c) {
  const std::string params = c.params();
  uint32_t crc = crc32c(reinterpret_cast<const uint8_t*>(params.data()), params.size());
  for (const std::vector<float>* v : {&c.mean, &c.basis, &c.variance, &c.rotation.inv_freq}) {
    crc = crc32c(reinterpret_cast<const uint8_t*>(v->data()), v->size() * sizeof(float), crc);
  }
  crc = crc32c(reinterpret_cast<const uint8_t*>(&c.rotation.attention_scaling), sizeof(float), crc);
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", crc);
  return hex;
}
}  // namespace

std::string KvtcCalibration::params() const {
  return str("layers=", layers, ";kv_heads=", kv_heads, ";head_dim=", head_dim,
             ";layers_per_basis=", layers_per_basis, ";transform=", transform,
             ";rope=", rotation.empty() ? "off" : "on", ";sample_tokens=", sample_tokens);
}

std::vector<uint8_t> KvtcCalibration::serialize() const {
  ContainerHeader h;
  h.codec = kCalibrationCodec;
  h.params = params();
  h.shape = KVShape{layers, 0, kv_heads, head_dim};
  h.dtype = DType::kF32;
  ContainerWriter writer(h);
  writer.add_section(kMean, float_bytes(mean));
  writer.add_section(kBasis, float_bytes(basis));
  writer.add_section(kVariance, float_bytes(variance));
  if (!rotation.empty()) {
    std::vector<float> rope = rotation.inv_freq;
    rope.push_back(rotation.attention_scaling);
    writer.add_section(kRope, float_bytes(rope));
  }
  return writer.finish();
}

KvtcCalibration KvtcCalibration::parse(const std::vector<uint8_t>& bytes,
                                       const std::string& source) {
  ContainerView view = ContainerView::parse(bytes.data(), bytes.size(), 0, source);
  const ContainerHeader& h = view.header();
  if (h.codec != kCalibrationCodec)
    fail("'", source, "' is not a kvtc calibration (codec '", h.codec, "')");
  Options p = Options::parse(h.params, str("calibration '", source, "'"));
  p.validate({integer_option("layers", 0, 1, 1 << 16, ""),
              integer_option("kv_heads", 0, 1, 1 << 16, ""),
              integer_option("head_dim", 0, 2, 1 << 16, ""),
              integer_option("layers_per_basis", 1, 1, 1 << 16, ""),
              choice_option("transform", "pca", {"pca", "identity"}, ""),
              choice_option("rope", "off", {"on", "off"}, ""),
              integer_option("sample_tokens", 0, 0, int64_t{1} << 40, "")});
  KvtcCalibration c;
  c.layers = p.integer("layers");
  c.kv_heads = p.integer("kv_heads");
  c.head_dim = p.integer("head_dim");
  c.layers_per_basis = p.integer("layers_per_basis");
  c.transform = p.text("transform");
  c.sample_tokens = p.integer("sample_tokens");
  if (c.layers != h.shape.layers || c.kv_heads != h.shape.kv_heads ||
      c.head_dim != h.shape.head_dim || c.layers % c.layers_per_basis != 0 || c.head_dim % 2 != 0 ||
      c.dim() > 65536) {
    fail("calibration '", source, "': parameters '", h.params, "' disagree with its shape ",
         h.shape.to_string(), " or with each other");
  }
  const int64_t d = c.dim(), domains = c.domains();
  c.mean = read_floats(view, kMean, domains * d, source);
  c.basis = read_floats(view, kBasis, domains * d * d, source);
  c.variance = read_floats(view, kVariance, domains * d, source);
  if (p.text("rope") == "on") {
    std::vector<float> rope = read_floats(view, kRope, c.head_dim / 2 + 1, source);
    c.rotation.attention_scaling = rope.back();
    rope.pop_back();
    c.rotation.inv_freq = std::move(rope);
    if (c.rotation.attention_scaling <= 0)
      fail("calibration '", source, "': RoPE attention scaling must be positive");
  }
  c.id = compute_id(c);
  return c;
}

std::shared_ptr<const KvtcCalibration> KvtcCalibration::load(const std::string& path) {
  // Keyed by path, size and modification time: a rewritten file is read again.
  static std::mutex mutex;
  static std::map<std::string, std::pair<std::string, std::shared_ptr<const KvtcCalibration>>>
      cache;
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  const auto time = std::filesystem::last_write_time(path, error);
  const std::string stamp = error ? "" : str(size, "@", time.time_since_epoch().count());
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(path);
  if (it != cache.end() && !stamp.empty() && it->second.first == stamp)
    return it->second.second;
  auto loaded = std::make_shared<const KvtcCalibration>(parse(read_file(path), path));
  cache[path] = {stamp, loaded};
  return loaded;
}

void kvtc_features(const KVCache& kv, int kind, int64_t group, int64_t layers_per_basis,
                   const RotationTable* rotation, int64_t first_token, int64_t count, float* out) {
  const KVShape& s = kv.shape();
  const int64_t c = s.channels(), d = layers_per_basis * c;
  for (int64_t t = 0; t < count; ++t) {
    for (int64_t i = 0; i < layers_per_basis; ++i) {
      float* row = out + t * d + i * c;
      kv.load_row(group * layers_per_basis + i, kind, first_token + t, row);
      if (rotation && kind == kKey)
        rotation->rotate(row, s.kv_heads, first_token + t, true);
    }
  }
}

struct KvtcCalibrator::Sums {
  std::vector<MatrixD> products;        // per domain: sum of x x^T (lower triangle)
  std::vector<Eigen::VectorXd> totals;  // per domain: sum of x
  int64_t tokens = 0;
};

KvtcCalibrator::KvtcCalibrator(KVShape shape, KeyRotation rotation,
                               KvtcCalibrationSettings settings, int threads)
    : shape_(shape),
      rotation_(std::move(rotation)),
      settings_(std::move(settings)),
      threads_(threads),
      sums_(std::make_unique<Sums>()) {
  if (settings_.layers_per_basis < 1 || shape_.layers % settings_.layers_per_basis != 0) {
    fail("kvtc calibration: layers_per_basis ", settings_.layers_per_basis, " must divide the ",
         shape_.layers, " layers");
  }
  if (settings_.transform != "pca" && settings_.transform != "identity")
    fail("kvtc calibration: transform must be pca or identity, not '", settings_.transform, "'");
  if (settings_.undo_rope && rotation_.inv_freq.size() * 2 != static_cast<size_t>(shape_.head_dim))
    fail("kvtc calibration: undoing RoPE needs head_dim / 2 = ", shape_.head_dim / 2,
         " frequencies, got ", rotation_.inv_freq.size());
  if (!settings_.undo_rope)
    rotation_ = KeyRotation{};
  const int64_t d = settings_.layers_per_basis * shape_.channels();
  const int64_t domains = 2 * (shape_.layers / settings_.layers_per_basis);
  sums_->products.assign(static_cast<size_t>(domains), MatrixD::Zero(d, d));
  sums_->totals.assign(static_cast<size_t>(domains), Eigen::VectorXd::Zero(d));
}

KvtcCalibrator::~KvtcCalibrator() = default;

void KvtcCalibrator::add(const KVCache& kv, int64_t first_position) {
  const KVShape& s = kv.shape();
  if (s.layers != shape_.layers || s.kv_heads != shape_.kv_heads || s.head_dim != shape_.head_dim)
    fail("kvtc calibration: sample of shape ", s.to_string(), " differs from ", shape_.to_string());
  kv.check_finite("kvtc calibration sample");
  const int64_t skip = std::clamp<int64_t>(settings_.sinks - first_position, 0, s.tokens);
  const int64_t count = s.tokens - skip;
  if (count == 0)
    return;
  const int64_t lpb = settings_.layers_per_basis, d = lpb * s.channels();
  const int64_t groups = s.layers / lpb;
  std::unique_ptr<RotationTable> rotation;
  if (!rotation_.empty())
    rotation = std::make_unique<RotationTable>(rotation_, first_position, s.tokens);
  parallel_for(2 * groups, threads_, [&](int64_t domain) {
    const int kind = static_cast<int>(domain / groups);
    MatrixF x(count, d);
    kvtc_features(kv, kind, domain % groups, lpb, rotation.get(), skip, count, x.data());
    const MatrixD xd = x.cast<double>();
    MatrixD& product = sums_->products[static_cast<size_t>(domain)];
    product.selfadjointView<Eigen::Lower>().rankUpdate(xd.transpose());
    sums_->totals[static_cast<size_t>(domain)] += xd.colwise().sum().transpose();
  });
  sums_->tokens += count;
}

KvtcCalibration KvtcCalibrator::finish() const {
  if (sums_->tokens < 2)
    fail("kvtc calibration: needs at least two sample tokens past the sinks");
  KvtcCalibration c;
  c.layers = shape_.layers;
  c.kv_heads = shape_.kv_heads;
  c.head_dim = shape_.head_dim;
  c.layers_per_basis = settings_.layers_per_basis;
  c.transform = settings_.transform;
  c.rotation = rotation_;
  c.sample_tokens = sums_->tokens;
  const int64_t d = c.dim(), domains = c.domains();
  c.mean.resize(static_cast<size_t>(domains * d));
  c.basis.assign(static_cast<size_t>(domains * d * d), 0.0f);
  c.variance.resize(static_cast<size_t>(domains * d));
  const double n = static_cast<double>(sums_->tokens);
  parallel_for(domains, threads_, [&](int64_t domain) {
    const Eigen::VectorXd mean = sums_->totals[static_cast<size_t>(domain)] / n;
    MatrixD covariance =
        sums_->products[static_cast<size_t>(domain)].selfadjointView<Eigen::Lower>();
    covariance /= n;
    covariance -= mean * mean.transpose();
    float* basis = c.basis.data() + domain * d * d;
    float* variance = c.variance.data() + domain * d;
    for (int64_t i = 0; i < d; ++i)
      c.mean[static_cast<size_t>(domain * d + i)] = static_cast<float>(mean(i));
    if (c.transform == "identity") {
      for (int64_t i = 0; i < d; ++i) {
        basis[i * d + i] = 1.0f;
        variance[i] = static_cast<float>(std::max(0.0, covariance(i, i)));
      }
      return;
    }
    Eigen::SelfAdjointEigenSolver<MatrixD> solver(covariance);
    if (solver.info() != Eigen::Success)
      fail("kvtc calibration: the eigensolver did not converge for domain ", domain);
    // Eigen sorts eigenvalues in increasing order: component r is column d - 1 - r. Each
    // vector's sign is fixed (largest entry positive) so that the basis is reproducible.
    for (int64_t r = 0; r < d; ++r) {
      Eigen::VectorXd v = solver.eigenvectors().col(d - 1 - r);
      Eigen::Index largest = 0;
      v.cwiseAbs().maxCoeff(&largest);
      if (v(largest) < 0)
        v = -v;
      for (int64_t i = 0; i < d; ++i)
        basis[r * d + i] = static_cast<float>(v(i));
      variance[r] = static_cast<float>(std::max(0.0, solver.eigenvalues()(d - 1 - r)));
    }
  });
  c.id = compute_id(c);
  return c;
}

}  // namespace cachegen
