// GPU codec checks (cachegen, quant, kivi): bit-exact agreement with the CPU codecs. For every
// codec configuration and KV input: the GPU encodes to the very bytes the CPU encodes, and the GPU
// decodes the CPU's container to the very KV the CPU decodes (so each side decodes the other's).
// Also: batched decode of several chunks, corrupt streams (the GPU rejects exactly what the CPU
// rejects), and bad arguments. A plain program (the GPU machine has no GTest): prints one line per
// check and exits 1 on any failure, 77 (ctest: skipped) without a CUDA device.
//   gpu_codec_check [--kv FILE.safetensors]... [--quick]
//     --kv: real KV caches to check too; --quick: a small subset (for compute-sanitizer)
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cachegen/codec/container.h"
#include "cachegen/codec/cuda/gpu_codec.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "cachegen/core/kv_io.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {
namespace {

int failures = 0, passes = 0;

void report(bool ok, const std::string& what, const std::string& detail = "") {
  (ok ? passes : failures) += 1;
  std::printf("%s  %s%s%s\n", ok ? "ok  " : "FAIL", what.c_str(), detail.empty() ? "" : ": ",
              detail.c_str());
  std::fflush(stdout);
}

bool same_kv(const KVCache& a, const KVCache& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.data(), b.data(), a.byte_size()) == 0;
}

// Where two caches first differ, for the report.
std::string first_difference(const KVCache& a, const KVCache& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return "shape or dtype differs";
  const KVShape& s = a.shape();
  for (int64_t l = 0; l < s.layers; ++l)
    for (int kind = 0; kind < 2; ++kind)
      for (int64_t t = 0; t < s.tokens; ++t)
        for (int64_t c = 0; c < s.channels(); ++c) {
          const size_t e = a.element_size();
          if (std::memcmp(a.row(l, kind, t) + c * e, b.row(l, kind, t) + c * e, e) != 0) {
            return str("layer ", l, " ", kv_kind_name(kind), " token ", t, " channel ", c, ": ",
                       a.at(l, kind, t, c), " vs ", b.at(l, kind, t, c));
          }
        }
  return "equal";
}

std::string first_byte_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  return str("sizes ", a.size(), " vs ", b.size(), ", first difference at byte ", i);
}

// The checks of one codec configuration on one KV cache.
void check_codec(const std::string& name, const std::string& options, const KVCache& kv,
                 const std::string& kv_name, const CodecContext& context = {}) {
  const std::string what = str(name, " [", options, "] on ", kv_name);
  try {
    auto cpu = make_codec(name, Options::parse(options, "codec"), context);
    auto gpu = gpu::GpuCodec::create(name, Options::parse(options, "codec"), context);
    const ChunkPosition position{kv.shape().tokens, 4 * kv.shape().tokens + 3};
    const std::vector<uint8_t> cpu_bytes = cpu->encode(kv, position, nullptr);
    const std::vector<uint8_t> gpu_bytes = gpu->encode_from_host(kv, position);
    report(gpu_bytes == cpu_bytes, what + ": GPU encode == CPU encode",
           gpu_bytes == cpu_bytes ? str(cpu_bytes.size(), " bytes")
                                  : first_byte_difference(gpu_bytes, cpu_bytes));
    const KVCache cpu_kv = cpu->decode(cpu_bytes.data(), cpu_bytes.size(), 0);
    const KVCache gpu_kv = gpu->decode_to_host(cpu_bytes.data(), cpu_bytes.size(), 0);
    report(same_kv(gpu_kv, cpu_kv), what + ": GPU decode == CPU decode",
           same_kv(gpu_kv, cpu_kv) ? "" : first_difference(gpu_kv, cpu_kv));
  } catch (const std::exception& e) {
    report(false, what, e.what());
  }
}

KVCache synthetic(int64_t layers, int64_t tokens, int64_t heads, int64_t dim, DType dtype,
                  uint64_t seed = 1) {
  SyntheticKVSpec spec;
  spec.shape = {layers, tokens, heads, dim};
  spec.dtype = dtype;
  spec.seed = seed;
  return make_synthetic_kv(spec);
}

// Rebuilds a container with one payload byte changed and valid checksums, so the corruption
// reaches the entropy decoders.
std::vector<uint8_t> corrupt_payload(const std::vector<uint8_t>& bytes, size_t index,
                                     uint8_t xor_mask) {
  ContainerView view = ContainerView::parse(bytes.data(), bytes.size(), 0, "check");
  ContainerWriter writer(view.header());
  for (const SectionInfo& s : view.sections()) {
    std::vector<uint8_t> data(view.section_data(s.tag), view.section_data(s.tag) + s.size);
    if (s.tag == section_tag("PAYL") && !data.empty())
      data[index % data.size()] ^= xor_mask;
    writer.add_section(s.tag, std::move(data));
  }
  return writer.finish();
}

void check_corruption(int trials) {
  const KVCache kv = synthetic(2, 64, 2, 64, DType::kF16, 9);
  const std::string options = "level=2";
  auto cpu = make_codec("cachegen", Options::parse(options, "codec"), {});
  auto gpu = gpu::GpuCodec::create("cachegen", Options::parse(options, "codec"));
  const std::vector<uint8_t> good = cpu->encode(kv, {}, nullptr);
  int agreed = 0, rejected = 0;
  for (int i = 0; i < trials; ++i) {
    const std::vector<uint8_t> bad =
        corrupt_payload(good, size_t(i) * 7919u, uint8_t(1u << (i % 8)));
    bool cpu_threw = false, gpu_threw = false;
    KVCache a, b;
    try {
      a = cpu->decode(bad.data(), bad.size(), 0);
    } catch (const Error&) {
      cpu_threw = true;
    }
    try {
      b = gpu->decode_to_host(bad.data(), bad.size(), 0);
    } catch (const Error&) {
      gpu_threw = true;
    }
    rejected += cpu_threw;
    agreed += cpu_threw == gpu_threw && (cpu_threw || same_kv(a, b));
  }
  report(agreed == trials, "corrupt payloads: GPU rejects exactly what the CPU rejects",
         str(agreed, "/", trials, " agree; the CPU rejects ", rejected));
}

void check_batch() {
  // Three chunks of one context in one decode call, on a stream of our own.
  const std::string options = "level=1;delta=on";
  auto cpu = make_codec("cachegen", Options::parse(options, "codec"), {});
  auto gpu = gpu::GpuCodec::create("cachegen", Options::parse(options, "codec"));
  const KVCache context = synthetic(4, 700, 4, 32, DType::kBF16, 3);
  std::vector<std::vector<uint8_t>> chunks;
  std::vector<KVCache> expected;
  for (int64_t begin = 0; begin < 700; begin += 256) {
    KVCache part = context.slice_tokens(begin, std::min<int64_t>(256, 700 - begin));
    chunks.push_back(cpu->encode(part, {begin, 700}, nullptr));
    expected.push_back(cpu->decode(chunks.back().data(), chunks.back().size(), 0));
  }
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  gpu::Workspace ws;
  std::vector<gpu::DeviceBuffer> outputs(chunks.size());
  std::vector<gpu::ContainerSpan> spans;
  std::vector<gpu::DeviceKV> kvs;
  uint64_t offset = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    outputs[i].reserve(expected[i].byte_size());
    spans.push_back({chunks[i].data(), chunks[i].size(), offset});
    offset += chunks[i].size();
    kvs.push_back({expected[i].shape(), expected[i].dtype(), outputs[i].data()});
  }
  bool ok = true;
  for (int repeat = 0; repeat < 2; ++repeat) {  // the workspace is reused
    gpu->decode(spans, kvs, ws, stream);
    gpu->check(ws, stream);
    for (size_t i = 0; i < chunks.size(); ++i) {
      KVCache got = KVCache::uninitialized(expected[i].shape(), expected[i].dtype());
      gpu::copy_to_host(got.data(), outputs[i].data(), got.byte_size(), stream);
      gpu::synchronize(stream);
      ok = ok && same_kv(got, expected[i]);
    }
  }
  cudaStreamDestroy(stream);
  report(ok, "batched decode of 3 chunks on a caller stream, workspace reused");

  // The same chunks encoded concurrently: one stream and workspace each.
  std::vector<cudaStream_t> streams(chunks.size());
  std::vector<gpu::Workspace> workspaces(chunks.size());
  std::vector<gpu::DeviceBuffer> inputs(chunks.size());
  bool same = true;
  for (size_t i = 0; i < chunks.size(); ++i) {
    cudaStreamCreate(&streams[i]);
    KVCache part = context.slice_tokens(int64_t(i) * 256, expected[i].shape().tokens);
    inputs[i].reserve(part.byte_size());
    gpu::copy_to_device(inputs[i].data(), part.data(), part.byte_size(), streams[i]);
    gpu->encode_launch({part.shape(), part.dtype(), inputs[i].data()}, {int64_t(i) * 256, 700},
                       workspaces[i], streams[i]);
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    same = same && workspaces[i].finish(streams[i]) == chunks[i];
    cudaStreamDestroy(streams[i]);
  }
  report(same, "3 chunks encoded concurrently on 3 streams == CPU encode");
}

void check_errors() {
  auto expect_error = [](const std::string& what, const std::string& needle,
                         const std::function<void()>& fn) {
    try {
      fn();
      report(false, what, "no error");
    } catch (const Error& e) {
      const bool named = std::string(e.what()).find(needle) != std::string::npos;
      report(named, what, e.what());
    }
  };
  expect_error("unknown GPU codec", "identity", [] { gpu::GpuCodec::create("identity", {}); });
  expect_error("arithmetic coder is CPU-only", "coder=ac",
               [] { gpu::GpuCodec::create("cachegen", Options::parse("coder=ac", "codec")); });
  expect_error("unknown option", "frobnicate",
               [] { gpu::GpuCodec::create("cachegen", Options::parse("frobnicate=1", "codec")); });
  expect_error("decode into an output of another shape", "holds", [] {
    const KVCache kv = synthetic(1, 8, 2, 32, DType::kF16);
    auto bytes = make_codec("cachegen", {}, {})->encode(kv, {}, nullptr);
    gpu::DeviceBuffer out;
    out.reserve(kv.byte_size());
    gpu::Workspace ws;
    KVShape other = kv.shape();
    other.tokens = 7;
    gpu::GpuCodec::create("cachegen", {})
        ->decode({{bytes.data(), bytes.size(), 0}}, {{other, kv.dtype(), out.data()}}, ws, nullptr);
  });
  expect_error("non-finite input names its position", "token 5", [] {
    KVCache kv = synthetic(2, 8, 2, 32, DType::kF32);
    float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(kv.row(1, 1, 5) + 3 * 4, &nan, 4);
    gpu::GpuCodec::create("cachegen", {})->encode_from_host(kv);
  });
  expect_error("wrong codec's container", "quant", [] {
    auto bytes =
        make_codec("quant", {}, {})->encode(synthetic(1, 8, 1, 32, DType::kF16), {}, nullptr);
    gpu::GpuCodec::create("cachegen", {})->decode_to_host(bytes.data(), bytes.size(), 0);
  });
}

}  // namespace
}  // namespace cachegen

int main(int argc, char** argv) {
  using namespace cachegen;
  if (!gpu::available()) {
    std::printf("skipped: %s\n", gpu::device_description().c_str());
    return 77;
  }
  std::printf("device: %s\n", gpu::device_description().c_str());
  std::vector<std::string> kv_files;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--kv" && i + 1 < argc) {
      kv_files.push_back(argv[++i]);
    } else if (std::string(argv[i]) == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "gpu_codec_check: unknown argument %s (valid: --kv FILE, --quick)\n",
                   argv[i]);
      return 2;
    }
  }

  // Inputs: shapes that exercise stream splitting and lane counts, dtypes, and edge values.
  struct Input {
    std::string name;
    KVCache kv;
  };
  std::vector<Input> inputs;
  inputs.push_back({"synthetic [4,300,8,32] f16", synthetic(4, 300, 8, 32, DType::kF16)});
  inputs.push_back({"synthetic [3,257,2,64] bf16", synthetic(3, 257, 2, 64, DType::kBF16, 2)});
  inputs.push_back(
      {"synthetic [2,131,3,32] f32 (96 channels)", synthetic(2, 131, 3, 32, DType::kF32, 3)});
  inputs.push_back(
      {"synthetic [2,45,5,8] f16 (40 channels: 20 lanes)", synthetic(2, 45, 5, 8, DType::kF16, 4)});
  inputs.push_back(
      {"synthetic [2,1,2,64] f16 (one token)", synthetic(2, 1, 2, 64, DType::kF16, 5)});
  inputs.push_back(
      {"synthetic [2,11,1,4] f16 (4 channels)", synthetic(2, 11, 1, 4, DType::kF16, 6)});
  inputs.push_back({"zeros [2,40,2,64] f16", KVCache({2, 40, 2, 64}, DType::kF16)});
  {
    KVCache wide = synthetic(2, 64, 2, 64, DType::kF16, 7);  // near the f16 limit, and tiny
    for (int64_t t = 0; t < 64; ++t) {
      float big[128], small[128];
      wide.load_row(0, 0, t, big);
      for (int c = 0; c < 128; ++c) {
        big[c] = c == 5 ? 65504.0f * (t % 2 ? -1.0f : 1.0f) : big[c] * 1000.0f;
        small[c] = big[c] * 1e-7f;
      }
      wide.store_row(0, 0, t, big);
      wide.store_row(1, 1, t, small);
    }
    inputs.push_back({"outliers and f16 extremes [2,64,2,64]", wide});
  }
  for (const std::string& path : kv_files) {
    KVCache real = load_kv(path);
    const std::string base = std::filesystem::path(path).filename().string();
    inputs.push_back({"real KV " + base + " " + dtype_name(real.dtype()), real});
    for (DType d : {DType::kF16, DType::kBF16}) {
      if (d != real.dtype())
        inputs.push_back({"real KV " + base + " as " + dtype_name(d), real.converted(d)});
    }
  }

  const std::vector<std::string> cachegen_options = {"level=1",
                                                     "level=2",
                                                     "level=3",
                                                     "level=2;delta=on",
                                                     "level=3;delta=on;delta_group=4",
                                                     "level=2;precision=10",
                                                     "level=2;lanes=8",
                                                     "level=2;lanes=64",
                                                     "level=2;lanes=128;lane_channels=1",
                                                     "level=2;lane_channels=1",
                                                     "key_bins=256*2;value_bins=4*2;level=1"};
  const std::vector<std::string> quant_options = {"bits=8", "bits=4;group=32", "bits=3",
                                                  "bits=2;group=16"};
  const std::vector<std::string> kivi_options = {"bits=2", "bits=4;group=16;residual=8",
                                                 "bits=2;group=5;residual=0"};
  if (quick)
    inputs.resize(2);
  // Every registered GPU codec with its CPU codec's sample options: a new GPU codec is checked
  // by registering it.
  for (const std::string& name : gpu::gpu_codec_registry().names()) {
    for (const Input& input : inputs)
      check_codec(name, codec_registry().info(name).sample_options, input.kv, input.name);
  }
  for (const Input& input : inputs) {
    for (const std::string& o : cachegen_options) {
      if (quick && o.find("lanes=") == std::string::npos && o != "level=2;delta=on")
        continue;
      if (o.find("bins=") != std::string::npos && input.kv.shape().layers != 2)
        continue;  // per-layer lists are written for 2 layers
      check_codec("cachegen", o, input.kv, input.name);
    }
    for (const std::string& o : quant_options)
      check_codec("quant", o, input.kv, input.name);
    for (const std::string& o : kivi_options) {
      if (!quick || o == kivi_options[0])
        check_codec("kivi", o, input.kv, input.name);
    }
  }

  // Offline profile tables (tables=profile): counts from the profile, every symbol codable.
  {
    const KVCache sample = synthetic(4, 300, 8, 32, DType::kF16, 11);
    Options opts = Options::parse("level=2", "codec");
    ProbabilityProfile profile = build_cachegen_profile(opts, {}, {sample});
    const std::string path =
        (std::filesystem::temp_directory_path() / "gpu_codec_check.profile").string();
    std::vector<uint8_t> bytes = profile.serialize();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    check_codec("cachegen", "level=2;profile=" + path, synthetic(4, 300, 8, 32, DType::kF16, 12),
                "synthetic [4,300,8,32] f16, profile tables");
  }
  check_batch();
  check_corruption(quick ? 10 : 200);
  check_errors();
  std::printf("\n%d checks passed, %d failed\n", passes, failures);
  return failures == 0 ? 0 : 1;
}
