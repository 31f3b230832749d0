// The resident pipeline (stream/resident_compute.h) with the built-in model: with host memory it
// assembles the same KV as the host pipeline, for decoded and for recomputed chunks, and refuses
// misuse; with GPU memory (CUDA codecs, the model on CUDA) it assembles what the host pipeline
// assembles with the same model (needs a GPU: skipped without one unless CACHEGEN_REQUIRE_GPU=1,
// as scripts/gpu-check.sh runs it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "cachegen/core/dataset.h"
#include "cachegen/core/error.h"
#include "cachegen/core/network.h"
#include "cachegen/experiments/model_context.h"
#include "cachegen/experiments/stream_setup.h"
#include "cachegen/stream/streamer.h"
#include "gpu_kv_memory.h"

namespace cachegen {
namespace {

struct Fixture {
  std::unique_ptr<LanguageModel> model;
  StreamContext context;
  std::unique_ptr<ChunkStore> store;
};

Fixture make_fixture(const std::string& model_spec) {
  Fixture out;
  out.model = load_model(parse_model_spec(model_spec), 2);
  auto dataset = dataset_registry().create("line_retrieval", Options::parse("", "test"),
                                           *out.model->tokenizer());
  DatasetRequest request = dataset->request(3, 420, 1);
  out.context = model_context(*out.model, *out.model->tokenizer(), request.context, 150);
  out.context.question = request.question;
  out.store = std::make_unique<ChunkStore>(ChunkStore::build(
      out.context.kv,
      make_store_encodings(
          {parse_encoding_spec("quant8=quant:bits=8"), parse_encoding_spec("cg2=cachegen:level=2")},
          2),
      150, out.context.text));
  return out;
}

Fixture& fixture() {
  static Fixture f = make_fixture("builtin");
  return f;
}

StreamOutcome stream(Fixture& f, const std::string& controller_spec, ResidentCompute* resident) {
  std::unique_ptr<NetworkModel> network =
      make_network("fluid", Options::parse("bandwidth_gbps=0.001", "network"));
  std::unique_ptr<Controller> controller = make_controller(controller_spec);
  ChunkCompute compute(ComputeTiming::kMeasured, nullptr, f.model.get(), true, resident);
  StreamRequest request;
  request.question = f.context.question;
  request.slo_s = 10;
  return stream_context(*f.store, *controller, *network, compute, request);
}

TEST(ResidentCompute, HostMemoryAssemblesWhatTheHostPipelineDoes) {
  Fixture& f = fixture();
  ASSERT_EQ(f.store->chunk_count(), 3);
  std::unique_ptr<KVMemory> memory = make_host_kv_memory();
  ResidentCompute resident(*memory, *f.model);
  for (const char* spec : {"fixed:encoding=cg2", "fixed:encoding=quant8", "text", "cachegen"}) {
    SCOPED_TRACE(spec);
    StreamOutcome host = stream(f, spec, nullptr), kept = stream(f, spec, &resident);
    ASSERT_EQ(kept.chunks.size(), host.chunks.size());
    if (std::string(spec) != "cachegen") {  // the adaptive one sees other measured times
      for (size_t i = 0; i < host.chunks.size(); ++i)
        EXPECT_EQ(kept.chunks[i].choice, host.chunks[i].choice) << "chunk " << i;
      EXPECT_EQ(kv_relative_error(kept.kv, host.kv), 0.0);
      EXPECT_EQ(kept.bytes, host.bytes);
    }
    EXPECT_EQ(kept.kv.shape(), f.store->reference().shape());
    EXPECT_GT(kept.prefill_s, 0.0);
    EXPECT_GT(kept.ttft_s, kept.prefill_s);
  }
}

TEST(ResidentCompute, EstimatesAreMeasuredForEveryChunkAndEncoding) {
  Fixture& f = fixture();
  std::unique_ptr<KVMemory> memory = make_host_kv_memory();
  ResidentCompute resident(*memory, *f.model);
  CostEstimates costs = resident.measure_estimates(*f.store, f.store->reference().dtype(), 12);
  ASSERT_EQ(costs.decode_s.size(), 3u);
  ASSERT_EQ(costs.recompute_s.size(), 3u);
  for (const auto& row : costs.decode_s) {
    ASSERT_EQ(row.size(), 2u);
    for (double s : row)
      EXPECT_GT(s, 0.0);
  }
  for (double s : costs.recompute_s)
    EXPECT_GT(s, 0.0);
  EXPECT_GT(costs.question_s, 0.0);
  EXPECT_TRUE(resident.assembled().shape().tokens == 0);  // estimates leave nothing behind
}

TEST(ResidentCompute, RefusesMisuse) {
  Fixture& f = fixture();
  std::unique_ptr<KVMemory> memory = make_host_kv_memory();
  ResidentCompute resident(*memory, *f.model);
  resident.begin(f.store->reference().dtype());
  EXPECT_THROW(resident.decode(*f.store, 1, 0), Error);  // chunk 1 before chunk 0
  EXPECT_THROW(ChunkCompute(ComputeTiming::kProfile, nullptr, f.model.get(), true, &resident),
               Error);
  // A model on the CPU keeps the host pipeline; a GPU model needs the CUDA codecs.
  EXPECT_EQ(resident_pipeline_for(*f.model).compute, nullptr);
}

TEST(ResidentComputeGpu, GpuMemoryAssemblesWhatTheHostPipelineDoes) {
  std::string why;
  if (!gpu_kv_memory_available(&why)) {
    const char* require = std::getenv("CACHEGEN_REQUIRE_GPU");
    if (require && std::string(require) == "1")
      FAIL() << "CACHEGEN_REQUIRE_GPU=1: " << why;
    GTEST_SKIP() << why;
  }
  Fixture f = make_fixture("builtin:device=cuda;dtype=bf16");
  ResidentPipeline gpu = resident_pipeline_for(*f.model);
  ASSERT_NE(gpu.compute, nullptr);
  for (const char* spec : {"fixed:encoding=cg2", "fixed:encoding=quant8", "text"}) {
    SCOPED_TRACE(spec);
    StreamOutcome host = stream(f, spec, nullptr), kept = stream(f, spec, gpu.compute.get());
    // The CUDA codecs decode bit-exactly; a recompute is the same prefill on the same device,
    // on KV joined in device memory instead of uploaded (same values, same kernels).
    const double error = kv_relative_error(kept.kv, host.kv);
    if (std::string(spec) == "text")
      EXPECT_LT(error, 1e-3);
    else
      EXPECT_EQ(error, 0.0);
    std::printf("%s: resident vs host relative KV difference %.3g\n", spec, error);
    EXPECT_GT(kept.prefill_s, 0.0);
  }
}

}  // namespace
}  // namespace cachegen
