#include "rope.h"

#include <algorithm>
#include <cmath>

#include "cachegen/core/error.h"
#include "cachegen/models/llama_model.h"

namespace cachegen {

namespace {
// base^(-2i / d) for i in [0, d / 2): [d / 2], f64.
at::Tensor default_inv_freq(double base, int64_t d) {
  at::Tensor exponent = at::arange(0, d, 2, at::kDouble) / static_cast<double>(d);
  return 1.0 / at::pow(at::full({}, base, at::kDouble), exponent);
}

// Llama 3: divide low frequencies by `factor`, keep high ones, blend the band between.
at::Tensor llama3_inv_freq(at::Tensor freq, const RopeScaling& s) {
  const auto original = static_cast<double>(s.original_max_position_embeddings);
  const double low_wavelen = original / s.low_freq_factor;
  const double high_wavelen = original / s.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / freq;
  at::Tensor scaled = at::where(wavelen > low_wavelen, freq / s.factor, freq);
  at::Tensor smooth =
      (original / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  at::Tensor blended = (1 - smooth) * scaled / s.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen);
  return at::where(medium, blended, scaled);
}

double yarn_mscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// YaRN (Peng et al. 2023): interpolate (divide by factor) the dimensions that rotate fewer than
// beta_slow times over the original context, keep those that rotate more than beta_fast times,
// ramp linearly between; cos and sin are scaled by the attention factor.
RopeFrequencies yarn_frequencies(const ModelConfig& c, int64_t d) {
  const RopeScaling& s = c.rope_scaling;
  const double base = c.rope_theta;
  const auto original = static_cast<double>(s.original_max_position_embeddings);
  RopeFrequencies out;
  out.attention_scaling = s.attention_factor;
  if (out.attention_scaling == 0) {
    out.attention_scaling =
        s.mscale != 0 && s.mscale_all_dim != 0
            ? yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim)
            : yarn_mscale(s.factor, 1);
  }
  // The dimension index whose wavelength fits `rotations` times into the original context.
  auto correction_dim = [&](double rotations) {
    return static_cast<double>(d) * std::log(original / (rotations * 2 * M_PI)) /
           (2 * std::log(base));
  };
  double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(d - 1));
  if (low == high)
    high += 0.001;  // as transformers: avoid a zero-width ramp
  at::Tensor extrapolation = default_inv_freq(base, d);
  at::Tensor interpolation = extrapolation / s.factor;
  at::Tensor ramp = ((at::arange(d / 2, at::kDouble) - low) / (high - low)).clamp(0, 1);
  at::Tensor keep = 1 - ramp;  // 1: extrapolate (high frequencies), 0: interpolate
  out.inv_freq = (interpolation * (1 - keep) + extrapolation * keep).to(at::kFloat);
  return out;
}

// Dynamic NTK in f32, step for step as transformers computes it once the sequence outgrows
// max_position_embeddings (its seq_len is then a tensor, so the base is an f32 value).
at::Tensor dynamic_inv_freq(const ModelConfig& c, int64_t d, int64_t seq_len) {
  const double factor = c.rope_scaling.factor;
  at::Tensor length = at::full({}, std::max(seq_len, c.max_position_embeddings), at::kLong);
  at::Tensor ratio = length * factor / static_cast<double>(c.max_position_embeddings);
  const double power = static_cast<double>(d) / static_cast<double>(d - 2);
  at::Tensor base = c.rope_theta * at::pow(ratio - (factor - 1), power);
  at::Tensor exponent = at::arange(0, d, 2, at::kLong).to(at::kFloat) / static_cast<double>(d);
  return 1.0 / at::pow(base, exponent);
}
}  // namespace

RopeFrequencies rope_frequencies(const ModelConfig& c, int64_t seq_len) {
  const int64_t d = c.head_dim;
  const RopeScaling& s = c.rope_scaling;
  RopeFrequencies out;
  switch (s.type) {
    case RopeType::kDefault:
      out.inv_freq = default_inv_freq(c.rope_theta, d).to(at::kFloat);
      break;
    case RopeType::kLinear:  // positions divided by factor, i.e. frequencies
      out.inv_freq = (default_inv_freq(c.rope_theta, d) / s.factor).to(at::kFloat);
      break;
    case RopeType::kDynamic:
      out.inv_freq = rope_depends_on_length(c, seq_len)
                         ? dynamic_inv_freq(c, d, seq_len)
                         : default_inv_freq(c.rope_theta, d).to(at::kFloat);
      break;
    case RopeType::kYarn:
      out = yarn_frequencies(c, d);
      break;
    case RopeType::kLlama3:
      out.inv_freq = llama3_inv_freq(default_inv_freq(c.rope_theta, d), s).to(at::kFloat);
      break;
  }
  return out;
}

KeyRotation key_rotation(const ModelConfig& config) {
  if (config.rope_scaling.type == RopeType::kDynamic) {
    fail("model '", config.model_type,
         "': dynamic RoPE rotates cached keys by frequencies that "
         "depend on the sequence length; a codec cannot undo it from positions alone");
  }
  RopeFrequencies frequencies = rope_frequencies(config, config.max_position_embeddings);
  at::Tensor inv_freq = frequencies.inv_freq.contiguous();
  KeyRotation out;
  out.inv_freq.assign(inv_freq.data_ptr<float>(), inv_freq.data_ptr<float>() + inv_freq.numel());
  out.attention_scaling = static_cast<float>(frequencies.attention_scaling);
  return out;
}

}  // namespace cachegen
