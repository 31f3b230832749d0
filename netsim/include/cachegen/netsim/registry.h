// Network models by name: "fluid" always, "ns3" when built with CACHEGEN_WITH_NS3. A new model
// is one file implementing cachegen::NetworkModel plus one line in netsim/src/registry.cpp.
#pragma once

#include <memory>
#include <string>

#include "cachegen/core/network.h"
#include "cachegen/core/options.h"
#include "cachegen/core/registry.h"

namespace cachegen {

using NetworkRegistry = Registry<NetworkModel, Options&>;
NetworkRegistry& network_registry();

// Creates a model and rejects options it did not read.
std::unique_ptr<NetworkModel> make_network(const std::string& name, Options options);

}  // namespace cachegen
