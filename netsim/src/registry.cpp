#include "cachegen/netsim/registry.h"

#include "cachegen/netsim/fluid_network.h"
#include "cachegen/netsim/network_config.h"
#if CACHEGEN_HAVE_NS3
#include "cachegen/netsim/ns3_network.h"
#endif

namespace cachegen {

NetworkRegistry& network_registry() {
  static NetworkRegistry registry = [] {
    NetworkRegistry r("network model");
    // One line per model: name, description, factory.
    r.add("fluid", "bytes at the trace's rate after one RTT; optional slow start",
          [](Options& o) { return std::make_unique<FluidNetwork>(network_config_from(o)); });
#if CACHEGEN_HAVE_NS3
    r.add("ns3", "ns-3 TCP over a point-to-point bottleneck following the trace",
          [](Options& o) { return std::make_unique<Ns3Network>(network_config_from(o)); });
#endif
    return r;
  }();
  return registry;
}

std::unique_ptr<NetworkModel> make_network(const std::string& name, Options options) {
  Options named(options.values(), str("network model '", name, "'"));
  std::unique_ptr<NetworkModel> model = network_registry().create(name, named);
  named.finish();
  return model;
}

}  // namespace cachegen
