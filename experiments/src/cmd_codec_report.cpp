// codec-report: one row per codec configuration on a KV cache (see codec_report.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/parallel.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/codec_report.h"
#include "cachegen/experiments/commands.h"

namespace cachegen {

namespace {
// Builds a level-2 profile from `samples` into a temporary file; removed by the destructor.
struct TemporaryProfile {
  std::string path;
  TemporaryProfile(const std::vector<KVCache>& samples, const CodecContext& context) {
    char name[] = "/tmp/cachegen-profile-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0)
      fail("codec-report: cannot create a temporary profile file");
    close(fd);
    path = name;
    Options options = Options::parse("level=2;coder=rans", "codec report");
    write_file_atomic(path, build_cachegen_profile(options, context, samples).serialize());
  }
  ~TemporaryProfile() { std::remove(path.c_str()); }
};
}  // namespace

int run_codec_report(int argc, char** argv) {
  CliArgs args("codec-report", argc, argv,
               {"chunk-tokens", "threads", "repeat", "codecs", "profile-kv"}, {"json"});
  args.expect_positionals(1, 1,
                          "[--json] [--chunk-tokens 1536] [--threads N] [--repeat 3] "
                          "[--codecs a,b] [--profile-kv TRAIN.safetensors] IN.safetensors");
  KVCache kv = load_kv(args.positionals()[0]);
  CodecContext context;
  context.threads = static_cast<int>(args.get_int("threads", 0));
  const int64_t chunk = args.get_int("chunk-tokens", 1536);

  // The offline profile comes from other KV (--profile-kv) when given; else from this input
  // (in-sample, which flatters it a little: the options column says which).
  std::vector<KVCache> samples;
  std::string profile_source = "in-sample";
  KVCache profile_kv = kv;
  if (args.has("profile-kv")) {
    profile_kv = load_kv(args.get("profile-kv", ""));
    profile_source = "held-out";
  }
  for (int64_t t = 0; t < profile_kv.shape().tokens; t += chunk) {
    samples.push_back(profile_kv.slice_tokens(t, std::min(chunk, profile_kv.shape().tokens - t)));
  }
  TemporaryProfile profile(samples, context);
  context.profile_paths = {profile.path};

  std::string filter = args.get("codecs", "");
  std::vector<CodecReportRow> rows;
  auto configs = default_report_configs(profile.path);
  for (size_t i = 0; i < configs.size(); ++i) {
    const CodecConfig& config = configs[i];
    if (!filter.empty() &&
        ("," + filter + ",").find("," + config.codec + ",") == std::string::npos) {
      continue;
    }
    std::fprintf(stderr, "\r[%zu/%zu] %s %s %s          ", i + 1, configs.size(),
                 config.codec.c_str(), config.level.c_str(), config.params.c_str());
    rows.push_back(
        measure_codec(config, kv, chunk, context, static_cast<int>(args.get_int("repeat", 3))));
    std::string& p = rows.back().config.params;
    size_t at = p.find("profile=");
    if (at != std::string::npos)
      p = p.substr(0, at) + "tables=profile(" + profile_source + ")";
  }
  std::fprintf(stderr, "\r%60s\r", "");

  if (args.has("json")) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const CodecReportRow& r : rows) {
      out.push_back({{"codec", r.config.codec},
                     {"level", r.config.level},
                     {"options", r.config.params},
                     {"bytes", r.bytes},
                     {"elements", r.elements},
                     {"bits_per_element", r.bits_per_element},
                     {"coding_efficiency", r.coding_efficiency},
                     {"payload_vs_empirical_entropy", r.payload_vs_empirical},
                     {"rel_l2_k", r.rel_l2_k},
                     {"rel_l2_v", r.rel_l2_v},
                     {"max_abs_k", r.max_abs_k},
                     {"max_abs_v", r.max_abs_v},
                     {"encode_gbps", r.encode_gbps},
                     {"decode_gbps", r.decode_gbps},
                     {"threads", context.threads > 0 ? context.threads : hardware_threads()},
                     {"chunk_tokens", chunk}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf(
      "coding: entropy-coded payload / ideal code length under the codec's own tables; "
      "vs_H: payload / empirical entropy of the symbols per (layer, kind, channel)\n");
  std::printf("KV %s %s, %lld elements, chunks of %lld tokens, %d threads\n",
              kv.shape().to_string().c_str(), dtype_name(kv.dtype()).c_str(),
              static_cast<long long>(kv.shape().elements()), static_cast<long long>(chunk),
              context.threads > 0 ? context.threads : hardware_threads());
  std::printf("%-9s %-5s %-36s %10s %8s %7s %7s %9s %9s %8s %8s\n", "codec", "level", "options",
              "bytes", "bits/el", "coding", "vs_H", "rel_l2_k", "rel_l2_v", "enc GB/s", "dec GB/s");
  for (const CodecReportRow& r : rows) {
    char efficiency[16] = "-", vs_entropy[16] = "-";
    if (r.coding_efficiency > 0) {
      std::snprintf(efficiency, sizeof(efficiency), "%.4f", r.coding_efficiency);
      std::snprintf(vs_entropy, sizeof(vs_entropy), "%.4f", r.payload_vs_empirical);
    }
    std::printf("%-9s %-5s %-36s %10llu %8.3f %7s %7s %9.5f %9.5f %8.3f %8.3f\n",
                r.config.codec.c_str(), r.config.level.c_str(), r.config.params.c_str(),
                static_cast<unsigned long long>(r.bytes), r.bits_per_element, efficiency,
                vs_entropy, r.rel_l2_k, r.rel_l2_v, r.encode_gbps, r.decode_gbps);
  }
  return 0;
}

}  // namespace cachegen
