// GPU codec throughput on a paper-scale KV cache: Mistral-7B's shape (32 layers, 8 KV heads of
// 128) over an 8K-token context in chunks of 1536 tokens, synthetic KV in f16 (core's
// generator). Reports, per codec: the device time of decoding the whole context (all chunks in
// one batch, inputs already on the device; median of --repeats) as GB/s of f16 KV written, the
// same with the host-to-device copy of the containers, the host's parse time, and the device
// time of encoding one chunk, and of all chunks at once on one stream each, as GB/s of f16 KV
// read. Also the card's device-to-device copy
// bandwidth, the ceiling for memory-bound kernels. Prints a Markdown table. cachegen with
// tables=profile uses an offline profile built from the first chunk (no tables in the chunks).
//   gpu_codec_bench [--tokens 8192] [--chunk 1536] [--repeats 20]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cachegen/codec/cuda/gpu_codec.h"
#include "cachegen/codec/profile.h"
#include "cachegen/codec/registry.h"
#include "cachegen/core/error.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {
namespace {

#define BENCH_CUDA(call)                              \
  do {                                                \
    cudaError_t status_ = (call);                     \
    if (status_ != cudaSuccess)                       \
      fail(#call, ": ", cudaGetErrorString(status_)); \
  } while (0)

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Device milliseconds of fn() on `stream`, median of `repeats` after one warm-up.
template <typename Fn>
double device_ms(cudaStream_t stream, int repeats, Fn&& fn) {
  cudaEvent_t begin, end;
  BENCH_CUDA(cudaEventCreate(&begin));
  BENCH_CUDA(cudaEventCreate(&end));
  fn();
  BENCH_CUDA(cudaStreamSynchronize(stream));
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    BENCH_CUDA(cudaEventRecord(begin, stream));
    fn();
    BENCH_CUDA(cudaEventRecord(end, stream));
    BENCH_CUDA(cudaEventSynchronize(end));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, begin, end));
    times.push_back(ms);
  }
  cudaEventDestroy(begin);
  cudaEventDestroy(end);
  return median(times);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Row {
  std::string codec;
  double bits_per_element, decode_gbs, decode_upload_gbs, parse_ms, encode_gbs, encode_all_gbs;
};

}  // namespace
}  // namespace cachegen

int main(int argc, char** argv) {
  using namespace cachegen;
  int64_t tokens = 8192, chunk_tokens = 1536;
  int repeats = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--tokens")
      tokens = std::atoll(argv[i + 1]);
    else if (key == "--chunk")
      chunk_tokens = std::atoll(argv[i + 1]);
    else if (key == "--repeats")
      repeats = std::atoi(argv[i + 1]);
    else
      fail("gpu_codec_bench: unknown argument ", key, " (valid: --tokens, --chunk, --repeats)");
  }
  if (!gpu::available()) {
    std::printf("skipped: %s\n", gpu::device_description().c_str());
    return 77;
  }
  try {
    cudaStream_t stream;
    BENCH_CUDA(cudaStreamCreate(&stream));
    std::printf("device: %s\n", gpu::device_description().c_str());

    // The card's copy bandwidth (bytes read + written).
    const size_t copy_bytes = size_t(1) << 30;
    gpu::DeviceBuffer a, b;
    a.reserve(copy_bytes);
    b.reserve(copy_bytes);
    BENCH_CUDA(cudaMemsetAsync(a.data(), 1, copy_bytes, stream));
    const double copy_ms = device_ms(stream, repeats, [&] {
      BENCH_CUDA(cudaMemcpyAsync(b.data(), a.data(), copy_bytes, cudaMemcpyDeviceToDevice, stream));
    });
    std::printf("device-to-device copy: %.0f GB/s (read + write)\n",
                2.0 * double(copy_bytes) / copy_ms / 1e6);

    // The context: chunks of synthetic Mistral-7B-shaped KV, f16, on the device.
    std::vector<KVCache> chunks;
    for (int64_t begin = 0; begin < tokens; begin += chunk_tokens) {
      SyntheticKVSpec spec;
      spec.shape = {32, std::min(chunk_tokens, tokens - begin), 8, 128};
      spec.dtype = DType::kF16;
      spec.seed = uint64_t(begin + 1);
      chunks.push_back(make_synthetic_kv(spec));
    }
    size_t kv_bytes = 0, elements = 0;
    std::vector<gpu::DeviceBuffer> device_kv(chunks.size());
    std::vector<gpu::DeviceKV> views;
    for (size_t i = 0; i < chunks.size(); ++i) {
      kv_bytes += chunks[i].byte_size();
      elements += size_t(chunks[i].shape().elements());
      device_kv[i].reserve(chunks[i].byte_size());
      gpu::copy_to_device(device_kv[i].data(), chunks[i].data(), chunks[i].byte_size(), stream);
      views.push_back({chunks[i].shape(), chunks[i].dtype(), device_kv[i].data()});
    }
    BENCH_CUDA(cudaStreamSynchronize(stream));
    std::printf("context: %lld tokens in %zu chunks of %lld, %.1f MB of f16 KV\n\n",
                static_cast<long long>(tokens), chunks.size(), static_cast<long long>(chunk_tokens),
                double(kv_bytes) / 1e6);

    // An offline profile (the paper's tables: no per-chunk tables to parse), from the first chunk.
    const std::string profile_path =
        (std::filesystem::temp_directory_path() / "gpu_codec_bench.profile").string();
    {
      Options opts = Options::parse("level=2", "codec");
      std::vector<uint8_t> bytes = build_cachegen_profile(opts, {}, {chunks[0]}).serialize();
      std::ofstream(profile_path, std::ios::binary)
          .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
    std::vector<Row> rows;
    for (const std::string spec :
         {"cachegen:level=1", "cachegen:level=2", "cachegen:level=3", "cachegen:level=2;delta=on",
          "cachegen:level=2;tables=profile", "quant:bits=8", "quant:bits=4", "kivi:bits=2"}) {
      const std::string name = spec.substr(0, spec.find(':'));
      std::string options = spec.substr(spec.find(':') + 1);
      if (options.find("tables=profile") != std::string::npos)
        options = "level=2;profile=" + profile_path;
      auto codec = gpu::GpuCodec::create(name, Options::parse(options, "codec"));
      gpu::Workspace ws;
      // Encode every chunk on the GPU (device time of the first chunk's kernels, median).
      std::vector<std::vector<uint8_t>> containers;
      std::vector<double> encode_ms;
      for (size_t i = 0; i < chunks.size(); ++i)
        containers.push_back(
            codec->encode(views[i], {int64_t(i) * chunk_tokens, tokens}, ws, stream));
      for (int r = 0; r < std::max(3, repeats / 4); ++r) {
        codec->encode(views[0], {0, tokens}, ws, stream);
        encode_ms.push_back(ws.encode_device_ms);
      }
      // Every chunk at once, each on its own stream: the device time from the first launch to
      // the last kernel.
      std::vector<double> all_ms;
      {
        std::vector<cudaStream_t> side(chunks.size());
        std::vector<gpu::Workspace> side_ws(chunks.size());
        cudaEvent_t begin, end;
        BENCH_CUDA(cudaEventCreate(&begin));
        BENCH_CUDA(cudaEventCreate(&end));
        for (auto& st : side)
          BENCH_CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
        for (int r = 0; r < std::max(3, repeats / 4) + 1; ++r) {
          BENCH_CUDA(cudaEventRecord(begin, stream));
          for (size_t i = 0; i < chunks.size(); ++i) {
            BENCH_CUDA(cudaStreamWaitEvent(side[i], begin, 0));
            codec->encode_launch(views[i], {int64_t(i) * chunk_tokens, tokens}, side_ws[i],
                                 side[i]);
          }
          for (size_t i = 0; i < chunks.size(); ++i) {
            cudaEvent_t done;
            BENCH_CUDA(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
            BENCH_CUDA(cudaEventRecord(done, side[i]));
            BENCH_CUDA(cudaStreamWaitEvent(stream, done, 0));
            BENCH_CUDA(cudaEventDestroy(done));
          }
          BENCH_CUDA(cudaEventRecord(end, stream));
          BENCH_CUDA(cudaEventSynchronize(end));
          float ms = 0;
          BENCH_CUDA(cudaEventElapsedTime(&ms, begin, end));
          if (r > 0)  // the first run allocates the workspaces
            all_ms.push_back(ms);
          for (size_t i = 0; i < chunks.size(); ++i) {
            if (side_ws[i].finish(side[i]) != containers[i])
              fail("concurrent GPU encode of chunk ", i, " differs from its serial encode");
          }
        }
        for (auto& st : side)
          cudaStreamDestroy(st);
        cudaEventDestroy(begin);
        cudaEventDestroy(end);
      }
      size_t encoded = 0;
      std::vector<gpu::ContainerSpan> spans;
      for (const auto& c : containers) {
        spans.push_back({c.data(), c.size(), encoded});
        encoded += c.size();
      }
      // Decode the whole context into fresh buffers.
      std::vector<gpu::DeviceBuffer> out(chunks.size());
      std::vector<gpu::DeviceKV> out_views;
      for (size_t i = 0; i < chunks.size(); ++i) {
        out[i].reserve(chunks[i].byte_size());
        out_views.push_back({chunks[i].shape(), chunks[i].dtype(), out[i].data()});
      }
      std::vector<double> parse;
      for (int r = 0; r < 3; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        codec->decode_prepare(spans, out_views, ws);
        parse.push_back(seconds_since(t0) * 1e3);
      }
      const double with_upload = device_ms(stream, repeats, [&] { ws.launch(stream, true); });
      const double decode_only = device_ms(stream, repeats, [&] { ws.launch(stream, false); });
      codec->check(ws, stream);
      rows.push_back({spec, 8.0 * double(encoded) / double(elements),
                      double(kv_bytes) / decode_only / 1e6, double(kv_bytes) / with_upload / 1e6,
                      median(parse), double(chunks[0].byte_size()) / median(encode_ms) / 1e6,
                      double(kv_bytes) / median(all_ms) / 1e6});
    }
    std::printf(
        "| codec | bits/element | decode GB/s (device) | decode GB/s (with H2D copy) | "
        "host parse ms | encode GB/s (device, one chunk) | encode GB/s (device, all "
        "chunks concurrently) |\n|---|---|---|---|---|---|---|\n");
    for (const Row& r : rows) {
      std::printf("| %s | %.2f | %.0f | %.0f | %.1f | %.0f | %.0f |\n", r.codec.c_str(),
                  r.bits_per_element, r.decode_gbs, r.decode_upload_gbs, r.parse_ms, r.encode_gbs,
                  r.encode_all_gbs);
    }
    cudaStreamDestroy(stream);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_codec_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
