// The calibration of the kvtc transform codec (codec/src/kvtc/kvtc_codec.cpp): per "domain" (a
// kind, key or value, and a group of `layers_per_basis` consecutive layers, whose channels are
// concatenated into one feature vector of d = layers_per_basis * kv_heads * head_dim), the mean
// of the features and an orthonormal basis sorted by decreasing variance: PCA of the centred
// features of sample KV caches (Eigen's self-adjoint eigensolver on their covariance), or the
// identity (transform=identity: per-channel coding, the "no PCA" ablation). With rope=on, keys
// are un-rotated (key_rotation.h) before they are measured, so that keys of every position share
// one basis; the rotation is stored, and the codec undoes and redoes it.
//
// The file is a CGKV container (container.h) with codec name "kvtc-calibration", the defining
// parameters, and sections MEAN [2, groups, d], BASE [2, groups, d, d] (row r: component r),
// VARI [2, groups, d] (each component's variance in the samples) and, with rope=on, ROPE
// (inv_freq [head_dim / 2] then attention_scaling), all f32. Chunks name it by id (crc32c of
// the parameters and every section), as tables=profile chunks name their profile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/key_rotation.h"
#include "cachegen/core/kv_cache.h"

namespace cachegen {

struct KvtcCalibrationSettings {
  int64_t layers_per_basis = 1;   // 1: one basis per layer; the layer count: one across all
  std::string transform = "pca";  // pca | identity
  bool undo_rope = true;          // needs a rotation
  int64_t sinks = 4;              // leading tokens of each sample left out (the codec keeps
                                  // them exact)
};

struct KvtcCalibration {
  int64_t layers = 0, kv_heads = 0, head_dim = 0;
  int64_t layers_per_basis = 1;
  std::string transform = "pca";
  KeyRotation rotation;         // empty: keys are coded as cached (rope=off)
  int64_t sample_tokens = 0;    // tokens the statistics were measured on
  std::vector<float> mean;      // [2, groups, d]
  std::vector<float> basis;     // [2, groups, d, d]
  std::vector<float> variance;  // [2, groups, d]
  std::string id;               // 8 hex digits

  int64_t channels() const { return kv_heads * head_dim; }
  int64_t groups() const { return layers / layers_per_basis; }
  int64_t dim() const { return layers_per_basis * channels(); }
  int64_t domains() const { return 2 * groups(); }
  // Domain of (kind, layer group): kind * groups + group.
  const float* domain_mean(int64_t domain) const { return mean.data() + domain * dim(); }
  const float* domain_basis(int64_t domain) const { return basis.data() + domain * dim() * dim(); }
  const float* domain_variance(int64_t domain) const { return variance.data() + domain * dim(); }
  // "layers=..;kv_heads=..;..." : what the chunks' shape and the transform must agree with.
  std::string params() const;

  std::vector<uint8_t> serialize() const;
  static KvtcCalibration parse(const std::vector<uint8_t>& bytes, const std::string& source);
  // Loads once per path and process (calibrations run to tens of MB).
  static std::shared_ptr<const KvtcCalibration> load(const std::string& path);
};

// Accumulates feature statistics over sample caches, then makes the calibration.
class KvtcCalibrator {
 public:
  // `rotation` must be non-empty when settings.undo_rope.
  KvtcCalibrator(KVShape shape, KeyRotation rotation, KvtcCalibrationSettings settings,
                 int threads);
  ~KvtcCalibrator();
  // A sample cache whose token 0 sits at position `first_position` (its first `sinks` tokens,
  // counted from position 0, are skipped).
  void add(const KVCache& kv, int64_t first_position);
  KvtcCalibration finish() const;

 private:
  struct Sums;
  KVShape shape_;
  KeyRotation rotation_;
  KvtcCalibrationSettings settings_;
  int threads_;
  std::unique_ptr<Sums> sums_;
};

// Feature rows of domain (kind, group) for tokens [first_token, first_token + count) of `kv`:
// [count, d] row-major into `out`, keys un-rotated by `rotation` when it is given (its row i is
// kv's token i). Shared by the calibrator and the codec, so that both see the same features.
void kvtc_features(const KVCache& kv, int kind, int64_t group, int64_t layers_per_basis,
                   const RotationTable* rotation, int64_t first_token, int64_t count, float* out);

}  // namespace cachegen
