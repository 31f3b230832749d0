// The non-adaptive baselines: one encoding for every chunk (`fixed`), the 8-bit quantization
// baseline (`quant`), and recomputing the whole context from text (`text`).
#include "cachegen/core/error.h"
#include "cachegen/core/registry.h"
#include "cachegen/stream/controller.h"

namespace cachegen {

namespace {
class FixedController : public Controller {
 public:
  explicit FixedController(std::string encoding) : encoding_(std::move(encoding)) {}
  std::string name() const override { return "fixed"; }
  int choose(const StreamView& view) override { return view.store.encoding_index(encoding_); }

 private:
  std::string encoding_;
};

// The encoding whose codec is `quant` at 8 bits.
class QuantController : public Controller {
 public:
  std::string name() const override { return "quant"; }
  int choose(const StreamView& view) override {
    const auto& encodings = view.store.encodings();
    for (size_t i = 0; i < encodings.size(); ++i) {
      const Codec& codec = *encodings[i].codec;
      if (codec.name() != "quant")
        continue;
      const auto params = Options::parse(codec.params(), "codec 'quant'").values();
      if (params.count("bits") && params.at("bits") == "8")
        return static_cast<int>(i);
    }
    fail("controller 'quant' needs a store encoding with codec quant at bits=8; the store has: ",
         view.store.encoding_names());
  }
};

class TextController : public Controller {
 public:
  std::string name() const override { return "text"; }
  int choose(const StreamView&) override { return kTextChoice; }
  bool whole_context_text() const override { return true; }
};
}  // namespace

CACHEGEN_REGISTER(controller_registry(),
                  {"fixed",
                   "one encoding for every chunk",
                   {text_option("encoding", "", "the store encoding's name (required)")},
                   nullptr,
                   "encoding=cg2"},
                  [](const Options& options) {
                    const std::string encoding = options.text("encoding");
                    if (encoding.empty())
                      fail("controller 'fixed' needs encoding=NAME (one of the store's)");
                    return std::make_unique<FixedController>(encoding);
                  });
CACHEGEN_REGISTER(controller_registry(),
                  {"quant",
                   "the 8-bit quantization baseline (the store's quant bits=8 encoding)",
                   {}},
                  [](const Options&) { return std::make_unique<QuantController>(); });
CACHEGEN_REGISTER(controller_registry(),
                  {"text",
                   "recompute the whole context from its text: one transfer, one prefill (the "
                   "paper's baseline)",
                   {}},
                  [](const Options&) { return std::make_unique<TextController>(); });

}  // namespace cachegen
