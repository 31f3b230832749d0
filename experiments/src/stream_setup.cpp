#include "cachegen/experiments/stream_setup.h"

#include <filesystem>

#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/synthetic_kv.h"
#include "cachegen/core/tiled_kv.h"

namespace cachegen {

std::pair<std::string, std::string> split_plugin_spec(const std::string& text) {
  const size_t colon = text.find(':');
  return {text.substr(0, colon), colon == std::string::npos ? "" : text.substr(colon + 1)};
}

EncodingSpec parse_encoding_spec(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail("encoding '", text, "': expected NAME=CODEC[:KEY=VALUE;...], e.g. cg2=cachegen:level=2");
  }
  EncodingSpec spec;
  spec.name = text.substr(0, eq);
  std::tie(spec.codec, spec.options) = split_plugin_spec(text.substr(eq + 1));
  if (spec.codec.empty())
    fail("encoding '", text, "': no codec after '='");
  return spec;
}

std::string format_encoding_spec(const EncodingSpec& spec) {
  return spec.name + "=" + spec.codec + (spec.options.empty() ? "" : ":" + spec.options);
}

std::vector<EncodingSpec> default_encodings() {
  return {{"quant8", "quant", "bits=8"},
          {"cg3", "cachegen", "level=3"},
          {"cg2", "cachegen", "level=2"},
          {"cg1", "cachegen", "level=1"}};
}

std::vector<StoreEncoding> make_store_encodings(const std::vector<EncodingSpec>& specs,
                                                int threads) {
  std::vector<StoreEncoding> encodings;
  CodecContext context;
  context.threads = threads;
  for (const EncodingSpec& spec : specs) {
    const std::string where = "encoding '" + spec.name + "'";
    try {
      encodings.push_back(
          {spec.name, make_codec(spec.codec, Options::parse(spec.options, where), context)});
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
  }
  return encodings;
}

ModelSpec parse_model_spec(const std::string& text) {
  ModelSpec spec;
  std::error_code error;
  if (text != "synthetic" && !language_model_registry().contains(split_plugin_spec(text).first) &&
      std::filesystem::is_regular_file(text + "/config.json", error)) {
    spec.name = "llama";
    spec.options = "path=" + text;
  } else {
    std::tie(spec.name, spec.options) = split_plugin_spec(text);
  }
  return spec;
}

const OptionSchema& synthetic_model_options() {
  static const OptionSchema schema = {
      file_option("kv",
                  "a real model's KV (`cachegen kv`), tiled to the profile's shape; "
                  "none: the synthetic generator")};
  return schema;
}

void check_model_spec(const ModelSpec& spec) {
  if (spec.synthetic()) {
    Options::parse(spec.options, "model 'synthetic'").validate(synthetic_model_options());
    return;
  }
  language_model_registry().validated(spec.name, Options::parse(spec.options, "model"));
}

std::unique_ptr<LanguageModel> load_model(const ModelSpec& spec, int threads) {
  if (spec.synthetic())
    fail("model 'synthetic' is KV of a hardware profile's shape; there is no model to load");
  std::unique_ptr<LanguageModel> model =
      language_model_registry().create(spec.name, Options::parse(spec.options, "model"), threads);
  if (!model->tokenizer())
    fail("language model '", spec.name, "' has no tokenizer; datasets need one");
  return model;
}

StreamContext synthetic_context(const KVShape& shape, uint64_t seed, int64_t question_tokens) {
  SyntheticKVSpec spec;
  spec.shape = shape;
  spec.seed = seed;
  StreamContext context;
  context.kv = make_synthetic_kv(spec);
  context.question_tokens = question_tokens;
  return context;
}

StreamContext synthetic_context(const ModelSpec& spec, const KVShape& shape, uint64_t seed,
                                int64_t question_tokens) {
  Options options = Options::parse(spec.options, "model 'synthetic'");
  options.validate(synthetic_model_options());
  const std::string kv_path = options.text("kv");
  if (kv_path.empty())
    return synthetic_context(shape, seed, question_tokens);
  const KVCache source = load_kv(kv_path);
  StreamContext context;
  context.kv = tile_kv(source, shape, static_cast<int64_t>(seed - 1) * 1536, DType::kF16);
  context.question_tokens = question_tokens;
  return context;
}

}  // namespace cachegen
