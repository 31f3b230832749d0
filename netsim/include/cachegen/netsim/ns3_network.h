// ns3: a packet-level model. Two nodes joined by a point-to-point bottleneck whose sender-side
// rate follows the trace (the ACK direction runs at the trace's peak rate); one-way delay
// RTT/2; a drop-tail queue of queue_packets; optional random loss at the receiver; one TCP
// connection carries every chunk. The connection is open when the model's clock starts (its
// handshake runs before t = 0, as a serving engine keeps its connection to the KV store open,
// and as the fluid model assumes), so a chunk's bytes leave once its request has crossed half an
// RTT. Segment size is MTU - 52; socket buffers are sized from the bandwidth-delay product, not
// left at ns-3's 128 KiB.
//
// ns-3 keeps one global simulator, so one Ns3Network may be live in a process at a time
// (constructing a second throws); destroying it resets the simulator for the next one. Random
// streams are fixed from `seed`, so runs repeat exactly.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "cachegen/core/network.h"
#include "cachegen/netsim/network_config.h"

namespace cachegen {

class Ns3Network : public NetworkModel {
 public:
  explicit Ns3Network(NetworkConfig config);
  ~Ns3Network() override;
  Ns3Network(const Ns3Network&) = delete;
  Ns3Network& operator=(const Ns3Network&) = delete;

  std::string name() const override { return "ns3"; }
  double transfer(uint64_t bytes, double start_s) override;
  // "retransmitted_segments", "fast_recoveries", "timeouts" (the sender entering TCP's loss
  // state).
  std::map<std::string, int64_t> events() const override;

  // (time_s, cumulative payload bytes) at every socket read at the receiver.
  const std::vector<std::pair<double, uint64_t>>& arrivals() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachegen
