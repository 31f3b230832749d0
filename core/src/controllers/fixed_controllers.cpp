// The non-adaptive baselines: one level for every chunk (`fixed`), the 8-bit quantization
// baseline (`quant`), and recomputing the whole context from text (`text`).
#include "cachegen/core/controllers.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
class FixedController : public Controller {
 public:
  explicit FixedController(std::string level) : level_(std::move(level)) {}
  std::string name() const override { return "fixed"; }
  int choose(const StreamView& view) override { return view.store.level_index(level_); }

 private:
  std::string level_;
};

// The level whose codec is `quant` at 8 bits.
class QuantController : public Controller {
 public:
  std::string name() const override { return "quant"; }
  int choose(const StreamView& view) override {
    const auto& levels = view.store.levels();
    for (size_t i = 0; i < levels.size(); ++i) {
      const Codec& codec = *levels[i].codec;
      if (codec.name() != "quant")
        continue;
      const auto params = Options::parse(codec.params(), "codec 'quant'").values();
      if (params.count("bits") && params.at("bits") == "8")
        return static_cast<int>(i);
    }
    fail("controller 'quant' needs a store level with codec quant at bits=8; the store has: ",
         view.store.level_names());
  }
};

class TextController : public Controller {
 public:
  std::string name() const override { return "text"; }
  int choose(const StreamView&) override { return kTextLevel; }
};
}  // namespace

std::unique_ptr<Controller> make_fixed_controller(Options& options) {
  std::string level = options.get_string("level", "");
  if (level.empty())
    fail("controller 'fixed' needs level=NAME (one of the store's levels)");
  return std::make_unique<FixedController>(level);
}

std::unique_ptr<Controller> make_quant_controller(Options&) {
  return std::make_unique<QuantController>();
}

std::unique_ptr<Controller> make_text_controller(Options&) {
  return std::make_unique<TextController>();
}

}  // namespace cachegen
