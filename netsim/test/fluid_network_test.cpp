#include "cachegen/netsim/fluid_network.h"

#include <gtest/gtest.h>

#include "cachegen/core/error.h"
#include "cachegen/core/network.h"
#include "cachegen/netsim/trace_io.h"

namespace cachegen {
namespace {

// The link rate from the first byte (slow start off): the by-hand formulas below.
NetworkConfig config(BandwidthTrace trace, double rtt_ms, int mtu = 1500) {
  NetworkConfig c;
  c.trace = std::move(trace);
  c.rtt_s = rtt_ms / 1000;
  c.mtu = mtu;
  c.slow_start = false;
  return c;
}

TEST(FluidNetwork, ConstantLinkByHand) {
  FluidNetwork net(config(constant_trace(1), 10));
  const double efficiency = 1448.0 / 1502;
  // 10 MB at 1 Gbps of wire rate: 0.08 s / efficiency, plus one RTT.
  double done = net.transfer(10'000'000, 0);
  EXPECT_NEAR(done, 0.010 + 0.08 / efficiency, 1e-12);
  // The next chunk asked for later starts then.
  double next = net.transfer(1'000'000, 1.0);
  EXPECT_NEAR(next, 1.0 + 0.010 + 0.008 / efficiency, 1e-12);
  EXPECT_THROW(net.transfer(1, 0.5), Error);  // before the previous chunk arrived
}

TEST(FluidNetwork, FollowsTheTrace) {
  // 1 Gbps for 0.1 s, then 100 Mbps; MTU 9000; RTT 2 ms.
  FluidNetwork net(config(step_trace(1, 0.1, 0.1), 2, 9000));
  const double efficiency = 8948.0 / 9002;
  const double wire_bits = 20e6 * 8 / efficiency;
  // The sender starts at 1 ms; by 0.1 s it has sent 0.099 s x 1 Gbps; the rest at 100 Mbps.
  double expected = 0.1 + (wire_bits - 0.099e9) / 0.1e9 + 0.001;
  EXPECT_NEAR(net.transfer(20'000'000, 0), expected, 1e-9);
}

TEST(FluidNetwork, SlowStartDoublesPerRoundThenFillsThePipe) {
  NetworkConfig c = config(constant_trace(1), 10);
  c.slow_start = true;
  FluidNetwork slow(c), fast(config(constant_trace(1), 10));
  // 14480 bytes = one initial window: one round, no RTT of waiting beyond the request.
  EXPECT_NEAR(slow.transfer(14480, 0),
              FluidNetwork(config(constant_trace(1), 10)).transfer(14480, 0), 1e-12);
  // A large transfer pays a few RTTs of ramp-up, then moves at the link rate.
  double ramped = slow.transfer(50'000'000, 1), plain = fast.transfer(50'000'000, 1);
  EXPECT_GT(ramped - plain, 0.03);  // rounds of 29, 58, 116, 232, 463, 926 KB below the BDP
  EXPECT_LT(ramped - plain, 0.08);
  // The window carries over: the next chunk pays no ramp-up.
  EXPECT_NEAR(slow.transfer(10'000'000, 5) - 5, fast.transfer(10'000'000, 5) - 5, 1e-9);
  // Slow start is the default, in the config and in the options.
  EXPECT_TRUE(NetworkConfig().slow_start);
  auto by_default = make_network("fluid", Options::parse("bandwidth_gbps=1;rtt_ms=10", "test"));
  EXPECT_NEAR(by_default->transfer(50'000'000, 1), FluidNetwork(c).transfer(50'000'000, 1), 1e-12);
}

// trace_clock=chunk: transfer i runs wholly at the rate in force at "time" i, whenever it
// starts (the reference's per-chunk bandwidth); clones keep counting from where they are.
TEST(FluidNetwork, ChunkClockGivesEachTransferOneRate) {
  NetworkConfig c = config(BandwidthTrace({{0, 1e9}, {1, 4e9}, {2, 0.5e9}}, "chunks"), 10);
  c.trace_per_chunk = true;
  FluidNetwork net(c);
  const double efficiency = 1448.0 / 1502, wire_bits = 10e6 * 8 / efficiency;
  // Chunk 0 at 1 Gbps, though it lasts past "time" 1 of the trace.
  double done = net.transfer(10'000'000, 0);
  EXPECT_NEAR(done, 0.010 + wire_bits / 1e9, 1e-12);
  std::unique_ptr<NetworkModel> ahead = net.clone();
  // Chunk 1 at 4 Gbps, asked for at 5 s (a time clock would give 0.5 Gbps there).
  EXPECT_NEAR(net.transfer(10'000'000, 5), 5.010 + wire_bits / 4e9, 1e-12);
  EXPECT_NEAR(ahead->transfer(10'000'000, 5), 5.010 + wire_bits / 4e9, 1e-12);
  // Chunk 2 and every later one at the last rate.
  EXPECT_NEAR(net.transfer(10'000'000, 6), 6.010 + wire_bits / 0.5e9, 1e-12);
  EXPECT_NEAR(net.transfer(10'000'000, 7), 7.010 + wire_bits / 0.5e9, 1e-12);
  // The time clock on the same trace follows time instead.
  FluidNetwork timed(config(c.trace, 10));
  EXPECT_NEAR(timed.transfer(10'000'000, 5), 5.010 + wire_bits / 0.5e9, 1e-12);
  // The option spells it; ns-3 (when built) refuses it.
  auto from_options = make_network(
      "fluid", Options::parse("bandwidth_gbps=2;trace_clock=chunk;slow_start=off", "test"));
  EXPECT_NEAR(from_options->transfer(10'000'000, 3), 3.010 + wire_bits / 2e9, 1e-12);
  EXPECT_THROW(make_network("fluid", Options::parse("trace_clock=packets", "test")), Error);
  if (network_registry().contains("ns3")) {
    try {
      make_network("ns3", Options::parse("trace_clock=chunk", "test"));
      FAIL() << "ns3 accepted trace_clock=chunk";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fluid model's only"), std::string::npos) << e.what();
    }
  }
}

TEST(FluidNetwork, RegistryBuildsFromOptions) {
  auto net =
      make_network("fluid", Options::parse("bandwidth_gbps=8;rtt_ms=0.5;slow_start=off", "test"));
  EXPECT_NEAR(net->transfer(1'000'000, 0), 0.0005 + 1e-3 / (1448.0 / 1502), 1e-12);
  EXPECT_THROW(make_network("fluid", Options::parse("bandwidth=8", "test")), Error);
  EXPECT_THROW(make_network("smoke-signals", Options()), Error);
}

}  // namespace
}  // namespace cachegen
