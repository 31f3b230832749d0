// Example controller (docs/extending.md): `buffer`, a buffer-based rule in the spirit of video
// streaming's BBA (Huang et al., SIGCOMM 2014): no throughput estimate at all. The slack left
// before the SLO deadline, per remaining chunk, plays the role of the playback buffer: with
// plenty of slack send the best encoding, with none the smallest, and in between an encoding
// in proportion. Text is never sent.
//
// As a real plug-in this file goes into stream/src/controllers/; here it is compiled into the
// controller conformance test only.
#include <algorithm>
#include <cmath>

#include "cachegen/stream/controller.h"

namespace cachegen {

namespace {
class BufferController : public Controller {
 public:
  explicit BufferController(double reservoir) : reservoir_(reservoir) {}
  std::string name() const override { return "buffer"; }

  int choose(const StreamView& view) override {
    const int encodings = static_cast<int>(view.store.encodings().size());
    // Seconds of SLO budget per chunk still to load, as a fraction of the fair share.
    const double share = view.slo_s / static_cast<double>(view.store.chunk_count());
    const double slack = (view.slo_s - view.now_s) / static_cast<double>(view.remaining()) / share;
    if (slack >= 1)
      return 0;  // on or ahead of schedule: the best encoding
    if (slack <= reservoir_)
      return encodings - 1;  // nearly out of time: the smallest
    const double fraction = (1 - slack) / (1 - reservoir_);
    return std::min(encodings - 1, static_cast<int>(std::floor(fraction * encodings)));
  }

 private:
  double reservoir_;
};
}  // namespace

CACHEGEN_REGISTER(controller_registry(),
                  {"buffer",
                   "example: picks by the slack left before the SLO, without a throughput estimate",
                   {number_option("reservoir", 0.25, 0, 0.99,
                                  "slack (share of a chunk's fair budget) below which the "
                                  "smallest encoding is sent")}},
                  [](const Options& options) {
                    return std::make_unique<BufferController>(options.number("reservoir"));
                  });

}  // namespace cachegen
