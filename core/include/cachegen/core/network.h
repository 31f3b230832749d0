// The NetworkModel interface: one request's path from the KV store to the GPU, as a session.
//
// The streamer hands it one chunk at a time: transfer(bytes, start_s) asks for `bytes` at
// simulated time start_s (seconds since the session began) and returns when the chunk's last
// byte arrives. The request takes half an RTT to reach the sender and the data half an RTT
// back, so even an infinitely fast link delivers a chunk one RTT after it was asked for.
// Transport state (congestion window, queue) carries over from chunk to chunk. Implementations
// live in netsim/src/networks/, one file each, and register themselves in network_registry();
// their options are the `net.*` keys of configs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "cachegen/core/registry.h"

namespace cachegen {

class NetworkModel {
 public:
  virtual ~NetworkModel() = default;
  virtual std::string name() const = 0;
  // start_s must not precede the previous chunk's completion. Returns the completion time (s).
  virtual double transfer(uint64_t bytes, double start_s) = 0;
  // An independent copy in the same state, for planners that look ahead (the oracle
  // controller); nullptr when the model cannot be copied (a live packet simulation).
  virtual std::unique_ptr<NetworkModel> clone() const { return nullptr; }
  // Counts of transport events since the session began, by name (ns3: retransmitted segments,
  // fast recoveries, retransmission timeouts), to explain where a chunk's time went; empty for
  // models without such events (fluid).
  virtual std::map<std::string, int64_t> events() const { return {}; }
};

using NetworkRegistry = Registry<NetworkModel>;
NetworkRegistry& network_registry();

// A network model by name, its options (the `net.*` keys) checked against its schema.
inline std::unique_ptr<NetworkModel> make_network(const std::string& name, const Options& options) {
  return network_registry().create(name, options);
}

}  // namespace cachegen
