// The ns-3 model against the fluid model and against what TCP over a bottleneck should do.
// Transfers are sized so that each test simulates well under a second of wall time.
#include "cachegen/netsim/ns3_network.h"

#include <gtest/gtest.h>

#include <tuple>

#include "cachegen/core/error.h"
#include "cachegen/netsim/fluid_network.h"
#include "cachegen/netsim/trace_io.h"

namespace cachegen {
namespace {

NetworkConfig config(BandwidthTrace trace, double rtt_ms, int mtu) {
  NetworkConfig c;
  c.trace = std::move(trace);
  c.rtt_s = rtt_ms / 1000;
  c.mtu = mtu;
  return c;
}

// Payload goodput (bits/s) over [from_s, to_s] from the receiver's arrival log.
double goodput(const std::vector<std::pair<double, uint64_t>>& arrivals, double from_s,
               double to_s) {
  // Bytes counted at the last read at or before each end of the window.
  uint64_t first = 0, last = 0;
  double t0 = 0, t1 = 0;
  for (const auto& a : arrivals) {
    if (a.first <= from_s)
      std::tie(t0, first) = a;
    if (a.first <= to_s)
      std::tie(t1, last) = a;
  }
  if (t1 < to_s - 0.01 * (to_s - from_s))
    return 0;  // the transfer ended inside the window
  return static_cast<double>(last - first) * 8 / (t1 - t0);
}

TEST(Ns3Network, AgreesWithFluidOnAConstantLink) {
  struct Case {
    double gbps, rtt_ms;
    int mtu;
  };
  for (Case k : {Case{1, 2, 1500}, Case{1, 2, 9000}, Case{0.5, 10, 1500}}) {
    NetworkConfig c = config(constant_trace(k.gbps), k.rtt_ms, k.mtu);
    const auto bytes = static_cast<uint64_t>(100 * c.bdp_bytes());  // 100 BDPs
    double ns3_done;
    {
      Ns3Network ns3(c);
      ns3_done = ns3.transfer(bytes, 0);
    }
    c.slow_start = true;
    double fluid_done = FluidNetwork(c).transfer(bytes, 0);
    EXPECT_NEAR(ns3_done / fluid_done, 1.0, 0.03)
        << k.gbps << " Gbps, " << k.rtt_ms << " ms, MTU " << k.mtu << ": ns3 " << ns3_done
        << " s, fluid " << fluid_done << " s";
  }
}

// The handshake runs before the clock starts: a one-segment chunk takes the request's half RTT,
// its serialization and the data's half RTT, as on the fluid model (with the handshake it took
// 1.5 RTTs).
TEST(Ns3Network, ConnectionIsOpenBeforeTheClockStarts) {
  NetworkConfig c = config(constant_trace(1), 20, 1500);
  Ns3Network net(c);
  const double one_rtt_later = 0.020 + (1000 + 52 + 2) * 8 / 1e9;
  EXPECT_NEAR(net.transfer(1000, 0), one_rtt_later, 1e-6);
  EXPECT_NEAR(net.transfer(1000, 1.0), 1.0 + one_rtt_later, 1e-6);
}

TEST(Ns3Network, GoodputFollowsAStepDown) {
  // 1 Gbps -> 200 Mbps at 0.1 s; RTT 2 ms. After a few RTTs plus the queue's drain, goodput
  // is the new rate (times the payload share of each packet).
  NetworkConfig c = config(step_trace(1, 0.2, 0.1), 2, 1500);
  Ns3Network net(c);
  net.transfer(20'000'000, 0);                          // ~11 MB before the step, the rest after
  const double queue_drain = 167.0 * 1502 * 8 / 0.2e9;  // one BDP of packets at the new rate
  const double settle = 5 * c.rtt_s + queue_drain;
  double after = goodput(net.arrivals(), 0.1 + settle, 0.1 + settle + 0.1);
  EXPECT_NEAR(after / (0.2e9 * c.payload_efficiency()), 1.0, 0.05);
  double before = goodput(net.arrivals(), 0.05, 0.1);
  EXPECT_NEAR(before / (1e9 * c.payload_efficiency()), 1.0, 0.05);
}

TEST(Ns3Network, GoodputRecoversAfterAStepUp) {
  NetworkConfig c = config(step_trace(0.2, 1, 0.1), 2, 1500);
  Ns3Network net(c);
  net.transfer(30'000'000, 0);
  double after = goodput(net.arrivals(), 0.15, 0.2);
  EXPECT_GT(after / (1e9 * c.payload_efficiency()), 0.9);
}

TEST(Ns3Network, ChunksCarryOverAndRunsRepeatExactly) {
  auto run = [](double loss) {
    NetworkConfig c = config(uniform_trace(0.2, 1, 0.05, 1, 5), 4, 1500);
    c.loss_rate = loss;
    c.seed = 3;
    Ns3Network net(c);
    std::vector<double> done;
    double t = 0;
    for (int i = 0; i < 5; ++i)
      done.push_back(t = net.transfer(2'000'000, t));
    return done;
  };
  std::vector<double> a = run(0), b = run(0);
  EXPECT_EQ(a, b);
  for (size_t i = 1; i < a.size(); ++i)
    EXPECT_GT(a[i], a[i - 1]);
  std::vector<double> lossy = run(0.002), lossy_again = run(0.002);
  EXPECT_EQ(lossy, lossy_again);
  EXPECT_GT(lossy.back(), a.back());  // losses cost time
}

TEST(Ns3Network, TraceReplayTracksTheFluidModel) {
  NetworkConfig c = config(uniform_trace(0.2, 1, 0.05, 2, 11), 2, 9000);
  double ns3_done;
  {
    Ns3Network net(c);
    ns3_done = net.transfer(60'000'000, 0);
  }
  c.slow_start = true;
  double fluid_done = FluidNetwork(c).transfer(60'000'000, 0);
  EXPECT_NEAR(ns3_done / fluid_done, 1.0, 0.05);
}

// Chunks of 10 BDPs, each requested when the previous one arrives: after each idle round trip
// the whole window leaves as a burst and overflows the one-BDP drop-tail queue, which costs
// unpaced ns-3 time the lossless fluid model does not spend; pacing spreads the burst.
TEST(Ns3Network, PacingSpreadsTheBurstAfterAnIdleRoundTrip) {
  NetworkConfig c = config(constant_trace(0.5), 10, 1500);
  const auto chunk = static_cast<uint64_t>(10 * c.bdp_bytes());
  // The finish time; the segments retransmitted in the first chunk (slow start's overshoot)
  // and in the six after it (the bursts after idle round trips).
  struct Run {
    double done_s;
    int64_t first_retransmitted, later_retransmitted;
  };
  auto finish = [&](bool pacing) {
    c.pacing = pacing;
    Ns3Network net(c);
    double t = net.transfer(chunk, 0);
    const int64_t first = net.events().at("retransmitted_segments");
    for (int i = 1; i < 7; ++i)
      t = net.transfer(chunk, t);
    return Run{t, first, net.events().at("retransmitted_segments") - first};
  };
  const Run unpaced = finish(false), paced = finish(true);
  double fluid = 0;
  FluidNetwork lossless(c);
  for (int i = 0; i < 7; ++i)
    fluid = lossless.transfer(chunk, fluid);
  EXPECT_TRUE(lossless.events().empty());
  EXPECT_GT(unpaced.done_s / fluid, 1.05)
      << "unpaced " << unpaced.done_s << " s, fluid " << fluid << " s";
  EXPECT_NEAR(paced.done_s / fluid, 1.0, 0.03)
      << "paced " << paced.done_s << " s, fluid " << fluid << " s";
  // Both overshoot in slow start; only the unpaced bursts lose much after it.
  EXPECT_GT(unpaced.first_retransmitted, 100);
  EXPECT_GT(paced.first_retransmitted, 100);
  EXPECT_GT(unpaced.later_retransmitted, 100);
  EXPECT_LT(paced.later_retransmitted * 10, unpaced.later_retransmitted);
}

TEST(Ns3Network, OneLiveSessionPerProcess) {
  Ns3Network first(config(constant_trace(1), 2, 1500));
  EXPECT_THROW(Ns3Network second(config(constant_trace(1), 2, 1500)), Error);
  EXPECT_THROW(first.transfer(100, -1), Error);
}

}  // namespace
}  // namespace cachegen
