// encode, decode, inspect and profile: the codec's command-line surface.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cachegen/codec/container.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/byte_io.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/experiments/cli_args.h"
#include "cachegen/experiments/commands.h"

namespace cachegen {

namespace {
Options codec_options(const CliArgs& args) {
  Options options({}, "command line");
  for (const std::string& opt : args.get_all("opt"))
    options.add_assignment(opt);
  if (args.has("level"))
    options.set("level", args.get("level", ""));
  return options;
}

CodecContext codec_context(const CliArgs& args) {
  CodecContext context;
  context.threads = static_cast<int>(args.get_int("threads", 0));
  context.profile_paths = args.get_all("profile");
  return context;
}
}  // namespace

int run_encode(int argc, char** argv) {
  CliArgs args("encode", argc, argv,
               {"codec", "level", "opt", "chunk-tokens", "threads", "profile"}, {});
  args.expect_positionals(2, 2,
                          "--codec NAME [--level N] [--opt KEY=VALUE ...] [--chunk-tokens N] "
                          "IN.safetensors OUT");
  KVCache kv = load_kv(args.positionals()[0]);
  CodecContext context = codec_context(args);
  auto codec = make_codec(args.get("codec", "cachegen"), codec_options(args), context);
  EncodeStats stats;
  std::vector<uint8_t> bytes =
      encode_chunks(*codec, kv, args.get_int("chunk-tokens", 1536), &stats);
  write_file_atomic(args.positionals()[1], bytes);
  std::printf("%s: %lld tokens, %s -> %zu bytes (%.3f bits/element) with %s [%s]\n",
              args.positionals()[1].c_str(), static_cast<long long>(kv.shape().tokens),
              kv.shape().to_string().c_str(), bytes.size(),
              8.0 * static_cast<double>(bytes.size()) / static_cast<double>(kv.shape().elements()),
              codec->name().c_str(), codec->params().c_str());
  return 0;
}

int run_decode(int argc, char** argv) {
  CliArgs args("decode", argc, argv, {"threads", "profile"}, {});
  args.expect_positionals(2, 2, "[--profile FILE] IN OUT.safetensors");
  const std::string& in = args.positionals()[0];
  KVCache kv = decode_file(read_file(in), in, codec_context(args));
  save_kv(args.positionals()[1], kv);
  std::printf("%s: %s %s\n", args.positionals()[1].c_str(), kv.shape().to_string().c_str(),
              dtype_name(kv.dtype()).c_str());
  return 0;
}

int run_inspect(int argc, char** argv) {
  CliArgs args("inspect", argc, argv, {}, {"json"});
  args.expect_positionals(1, 1, "[--json] FILE");
  const std::string& path = args.positionals()[0];
  std::vector<uint8_t> bytes = read_file(path);
  std::vector<ContainerView> views = parse_container_file(bytes, path);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ContainerView& v : views) {
    const ContainerHeader& h = v.header();
    nlohmann::ordered_json c;
    c["file_offset"] = v.file_offset();
    c["bytes"] = v.total_size();
    c["format_version"] = h.version;
    c["codec"] = h.codec;
    c["params"] = h.params;
    c["dtype"] = dtype_name(h.dtype);
    c["layers"] = h.shape.layers;
    c["tokens"] = h.shape.tokens;
    c["kv_heads"] = h.shape.kv_heads;
    c["head_dim"] = h.shape.head_dim;
    c["token_offset"] = h.token_offset;
    nlohmann::ordered_json sections = nlohmann::ordered_json::array();
    for (const SectionInfo& s : v.sections()) {
      sections.push_back({{"tag", section_tag_name(s.tag)},
                          {"offset", s.offset},
                          {"bytes", s.size},
                          {"crc32c", s.crc}});
    }
    c["sections"] = sections;
    out.push_back(c);
  }
  if (args.has("json")) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const auto& c : out) {
    std::printf("chunk at byte %llu: %llu bytes, format v%d, codec %s [%s]\n",
                static_cast<unsigned long long>(c["file_offset"].get<uint64_t>()),
                static_cast<unsigned long long>(c["bytes"].get<uint64_t>()),
                c["format_version"].get<int>(), c["codec"].get<std::string>().c_str(),
                c["params"].get<std::string>().c_str());
    std::printf("  %s tokens %lld..%lld, layers %lld, kv_heads %lld, head_dim %lld\n",
                c["dtype"].get<std::string>().c_str(), c["token_offset"].get<long long>(),
                c["token_offset"].get<long long>() + c["tokens"].get<long long>(),
                c["layers"].get<long long>(), c["kv_heads"].get<long long>(),
                c["head_dim"].get<long long>());
    for (const auto& s : c["sections"]) {
      std::printf("  section %s: %llu bytes at +%llu\n", s["tag"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(s["bytes"].get<uint64_t>()),
                  static_cast<unsigned long long>(s["offset"].get<uint64_t>()));
    }
  }
  return 0;
}

int run_profile(int argc, char** argv) {
  CliArgs args("profile", argc, argv, {"level", "opt", "out", "chunk-tokens", "threads"}, {});
  args.expect_positionals(1, 1000,
                          "[--level N] [--opt KEY=VALUE ...] [--chunk-tokens N] --out PROFILE "
                          "IN.safetensors...");
  std::vector<KVCache> samples;
  int64_t chunk = args.get_int("chunk-tokens", 1536);
  for (const std::string& path : args.positionals()) {
    KVCache kv = load_kv(path);
    for (int64_t t = 0; t < kv.shape().tokens; t += chunk) {
      samples.push_back(kv.slice_tokens(t, std::min(chunk, kv.shape().tokens - t)));
    }
  }
  Options options = codec_options(args);
  ProbabilityProfile profile = build_cachegen_profile(options, codec_context(args), samples);
  std::string out = args.get("out", "");
  if (out.empty())
    fail("cachegen profile: --out PROFILE is required");
  write_file_atomic(out, profile.serialize());
  std::printf("%s: profile %s for [%s], %zu chunks\n", out.c_str(), profile.id.c_str(),
              profile.params.c_str(), samples.size());
  return 0;
}

}  // namespace cachegen
