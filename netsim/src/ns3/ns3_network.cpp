#include "cachegen/netsim/ns3_network.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>

#include "cachegen/core/error.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

namespace cachegen {

namespace {
std::atomic<bool> g_live{false};  // ns-3's simulator is a process-wide singleton

// "newreno" -> "ns3::TcpNewReno", as ns-3 names its TCP variants.
std::string tcp_type_name(const std::string& variant) {
  static const std::pair<const char*, const char*> kNames[] = {{"bbr", "TcpBbr"},
                                                               {"bic", "TcpBic"},
                                                               {"cubic", "TcpCubic"},
                                                               {"dctcp", "TcpDctcp"},
                                                               {"highspeed", "TcpHighSpeed"},
                                                               {"htcp", "TcpHtcp"},
                                                               {"hybla", "TcpHybla"},
                                                               {"illinois", "TcpIllinois"},
                                                               {"ledbat", "TcpLedbat"},
                                                               {"linuxreno", "TcpLinuxReno"},
                                                               {"lp", "TcpLp"},
                                                               {"newreno", "TcpNewReno"},
                                                               {"scalable", "TcpScalable"},
                                                               {"vegas", "TcpVegas"},
                                                               {"veno", "TcpVeno"},
                                                               {"westwood", "TcpWestwoodPlus"},
                                                               {"yeah", "TcpYeah"}};
  for (const auto& n : kNames) {
    if (variant == n.first)
      return std::string("ns3::") + n.second;
  }
  fail("ns3 network: unknown congestion control '", variant, "'");
}
}  // namespace

struct Ns3Network::Impl {
  NetworkConfig config;
  ns3::Ptr<ns3::Socket> sender;
  ns3::Ptr<ns3::Socket> listener;
  ns3::Ptr<ns3::Socket> receiver;
  uint64_t unsent = 0;    // bytes of started chunks not yet handed to the sender socket
  uint64_t received = 0;  // payload bytes read at the receiver
  uint64_t target = 0;    // cumulative bytes of every chunk asked for so far
  bool arrived = false;
  double done_s = 0;  // model time, as every time this struct keeps
  // Simulated time at which the model's clock reads 0: the moment the handshake completes.
  double origin_s = 0;
  bool connected = false;
  int64_t retransmitted = 0, fast_recoveries = 0, timeouts = 0;
  bool sent_data = false;
  uint32_t next_new_seq = 0;  // one past the highest data byte sent so far (once sent_data)
  std::vector<std::pair<double, uint64_t>> arrivals;

  void start_chunk(uint64_t bytes) {
    unsent += bytes;
    push(sender, sender->GetTxAvailable());
  }
  // Send callback: keep the socket's buffer full while there is data. Writes are whole
  // segments except a chunk's tail: Debian's ns-3 3.37 crashes in TcpRateLinux::SkbSent (a
  // stale TcpTxItem after a bad merge in TcpTxBuffer) when writes leave partial segments
  // mid-stream with some buffer sizes; whole-segment writes avoid it.
  void push(ns3::Ptr<ns3::Socket> socket, uint32_t) {
    const auto mss = static_cast<uint64_t>(config.mss());
    while (unsent > 0) {
      uint64_t n = std::min<uint64_t>({unsent, socket->GetTxAvailable(), uint64_t{1} << 16});
      if (n < unsent)
        n = n / mss * mss;
      if (n == 0)
        return;
      int sent = socket->Send(ns3::Create<ns3::Packet>(static_cast<uint32_t>(n)));
      if (sent <= 0)
        return;
      unsent -= static_cast<uint64_t>(sent);
    }
  }
  // The handshake's last ACK reached the receiver: the connection is open both ways.
  void accept(ns3::Ptr<ns3::Socket> socket, const ns3::Address&) {
    receiver = socket;
    socket->SetRecvCallback(ns3::MakeCallback(&Impl::receive, this));
    connected = true;
    ns3::Simulator::Stop();
  }
  double model_now() const { return ns3::Simulator::Now().GetSeconds() - origin_s; }
  void receive(ns3::Ptr<ns3::Socket> socket) {
    while (ns3::Ptr<ns3::Packet> packet = socket->Recv()) {
      received += packet->GetSize();
    }
    double now = model_now();
    arrivals.emplace_back(now, received);
    if (!arrived && received >= target) {
      arrived = true;
      done_s = now;
      ns3::Simulator::Stop();
    }
  }
  static void timeout() { ns3::Simulator::Stop(); }
  // Runs the simulation until a callback stops it, or for at most `limit_s` of simulated time.
  static void run_for_at_most(double limit_s) {
    ns3::EventId watchdog = ns3::Simulator::Schedule(ns3::Seconds(limit_s), &Impl::timeout);
    ns3::Simulator::Run();
    ns3::Simulator::Cancel(watchdog);
  }
  // Tx: a data segment that starts below what was already sent is a retransmission (a loss at
  // the bottleneck queue, or a spurious one). Sequence numbers wrap at 4 GiB, hence the
  // modular comparison.
  void sent(ns3::Ptr<const ns3::Packet> packet, const ns3::TcpHeader& header,
            ns3::Ptr<const ns3::TcpSocketBase>) {
    if (packet->GetSize() == 0)
      return;
    const uint32_t seq = header.GetSequenceNumber().GetValue();
    const uint32_t end = seq + packet->GetSize();
    if (sent_data && static_cast<int32_t>(seq - next_new_seq) < 0)
      ++retransmitted;
    if (!sent_data || static_cast<int32_t>(end - next_new_seq) > 0)
      next_new_seq = end;
    sent_data = true;
  }
  void congestion_state(ns3::TcpSocketState::TcpCongState_t,
                        ns3::TcpSocketState::TcpCongState_t now) {
    if (now == ns3::TcpSocketState::CA_RECOVERY)
      ++fast_recoveries;
    else if (now == ns3::TcpSocketState::CA_LOSS)
      ++timeouts;
  }
};

Ns3Network::Ns3Network(NetworkConfig config) : impl_(std::make_unique<Impl>()) {
  using namespace ns3;
  if (g_live.exchange(true)) {
    fail(
        "ns3 network: another ns3 session is live in this process (ns-3 has one global "
        "simulator); destroy it first");
  }
  Impl& m = *impl_;
  m.config = std::move(config);
  const NetworkConfig& c = m.config;
  try {
    Config::Reset();
    RngSeedManager::SetSeed(static_cast<uint32_t>(c.seed));
    RngSeedManager::SetRun(1);
    const double bdp = c.bdp_bytes();
    const int64_t queue =
        c.queue_packets > 0 ? c.queue_packets
                            : std::max<int64_t>(100, static_cast<int64_t>(std::ceil(bdp / c.mtu)));
    // Socket buffers from the link: the pipe plus the queue, with headroom; ns-3's 128 KiB
    // default would cap a 10 ms path at about 100 Mbps.
    const auto buffer = static_cast<uint32_t>(
        std::min(1.5 * (bdp + static_cast<double>(queue) * c.mtu) + (1 << 16), 2e9));
    Config::SetDefault("ns3::TcpSocket::SegmentSize",
                       UintegerValue(static_cast<uint32_t>(c.mss())));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(buffer));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(buffer));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(200)));
    // CUBIC's HyStart leaves slow start after a few RTTs on short paths in ns-3 (its delay
    // signal fires on the sender's own bursts) and then needs ~50 RTTs to reach the link rate;
    // off by default, `hystart=on` restores it.
    Config::SetDefault("ns3::TcpCubic::HyStart", BooleanValue(c.hystart));
    Config::SetDefault("ns3::TcpSocketState::EnablePacing", BooleanValue(c.pacing));
    // (ns-3 caps the pacing rate at 4 Gb/s by default, which stalled a paced 3 Gbps transfer.)
    Config::SetDefault("ns3::TcpSocketState::MaxPacingRate", DataRateValue(DataRate("1000Gb/s")));
    Config::SetDefault("ns3::TcpL4Protocol::SocketType",
                       TypeIdValue(TypeId::LookupByName(tcp_type_name(c.congestion_control))));

    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper link;
    link.SetDeviceAttribute(
        "DataRate", DataRateValue(DataRate(static_cast<uint64_t>(c.trace.points()[0].rate_bps))));
    link.SetDeviceAttribute("Mtu", UintegerValue(static_cast<uint16_t>(c.mtu)));
    link.SetChannelAttribute("Delay", TimeValue(Seconds(c.rtt_s / 2)));
    link.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize",
                  QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, static_cast<uint32_t>(queue))));
    NetDeviceContainer devices = link.Install(nodes);
    // ACKs flow back at the trace's peak rate; only the data direction follows the trace.
    DynamicCast<PointToPointNetDevice>(devices.Get(1))
        ->SetDataRate(DataRate(static_cast<uint64_t>(c.trace.max_rate_bps())));
    InternetStackHelper stack;
    stack.Install(nodes);
    int64_t stream = static_cast<int64_t>(c.seed) * 1000;
    stream += stack.AssignStreams(nodes, stream);
    if (c.loss_rate > 0) {
      Ptr<RateErrorModel> loss = CreateObject<RateErrorModel>();
      loss->SetAttribute("ErrorRate", DoubleValue(c.loss_rate));
      loss->SetAttribute("ErrorUnit", StringValue("ERROR_UNIT_PACKET"));
      loss->AssignStreams(stream);
      devices.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(loss));
    }
    // Simulated addresses inside ns-3; nothing touches the host's network.
    Ipv4AddressHelper addresses;
    addresses.SetBase("10.1.1.0", "255.255.255.0");
    Ipv4InterfaceContainer interfaces = addresses.Assign(devices);
    TrafficControlHelper().Uninstall(devices);  // the device's drop-tail queue is the bottleneck

    const uint16_t port = 9;
    m.listener = Socket::CreateSocket(nodes.Get(1), TcpSocketFactory::GetTypeId());
    m.listener->Bind(InetSocketAddress(Ipv4Address::GetAny(), port));
    m.listener->Listen();
    m.listener->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const Address&>(),
                                  MakeCallback(&Impl::accept, &m));
    m.sender = Socket::CreateSocket(nodes.Get(0), TcpSocketFactory::GetTypeId());
    m.sender->Bind();
    m.sender->Connect(InetSocketAddress(interfaces.GetAddress(1), port));
    m.sender->SetSendCallback(MakeCallback(&Impl::push, &m));
    m.sender->TraceConnectWithoutContext("CongState", MakeCallback(&Impl::congestion_state, &m));
    m.sender->TraceConnectWithoutContext("Tx", MakeCallback(&Impl::sent, &m));

    // Open the connection before the clock starts (at the trace's first rate): the handshake
    // takes 1.5 RTTs of simulated time that no transfer is charged for.
    Impl::run_for_at_most(100 * c.rtt_s + 10);
    if (!m.connected)
      fail("ns3 network: the TCP handshake did not complete (loss rate too high?)");
    m.origin_s = Simulator::Now().GetSeconds();

    Ptr<PointToPointNetDevice> bottleneck = DynamicCast<PointToPointNetDevice>(devices.Get(0));
    for (size_t i = 1; i < c.trace.points().size(); ++i) {
      const TracePoint& p = c.trace.points()[i];
      Simulator::Schedule(Seconds(p.time_s), &PointToPointNetDevice::SetDataRate, bottleneck,
                          DataRate(static_cast<uint64_t>(p.rate_bps)));
    }
  } catch (...) {
    Simulator::Destroy();
    g_live = false;
    throw;
  }
}

Ns3Network::~Ns3Network() {
  impl_->sender = nullptr;
  impl_->listener = nullptr;
  impl_->receiver = nullptr;
  ns3::Simulator::Destroy();
  g_live = false;
}

double Ns3Network::transfer(uint64_t bytes, double start_s) {
  using namespace ns3;
  Impl& m = *impl_;
  const double now = m.model_now();
  if (start_s < m.done_s || start_s < now) {
    fail("ns3 network: chunk requested at ", start_s, " s, before the previous one arrived (",
         std::max(m.done_s, now), " s)");
  }
  m.target += bytes;
  m.arrived = bytes == 0;
  if (bytes == 0)
    return m.done_s = start_s + m.config.rtt_s;
  Simulator::Schedule(Seconds(start_s + m.config.rtt_s / 2 - now), &Impl::start_chunk, &m, bytes);
  // A watchdog in simulated time: far beyond what the slowest rate of the trace needs.
  double min_rate = m.config.trace.points()[0].rate_bps;
  for (const TracePoint& p : m.config.trace.points())
    min_rate = std::min(min_rate, p.rate_bps);
  double limit =
      start_s + 20 * (static_cast<double>(bytes) * 8 / min_rate) + 100 * m.config.rtt_s + 10;
  Impl::run_for_at_most(limit - now);
  if (!m.arrived) {
    fail("ns3 network: a chunk of ", bytes, " bytes sent at ", start_s, " s had not arrived by ",
         limit, " s of simulated time (loss rate too high?)");
  }
  return m.done_s;
}

std::map<std::string, int64_t> Ns3Network::events() const {
  return {{"retransmitted_segments", impl_->retransmitted},
          {"fast_recoveries", impl_->fast_recoveries},
          {"timeouts", impl_->timeouts}};
}

const std::vector<std::pair<double, uint64_t>>& Ns3Network::arrivals() const {
  return impl_->arrivals;
}

namespace {
// A packet simulation cannot price a chunk at a rate of its own: its link rate follows time.
void check_ns3_options(const Options& options) {
  check_network_options(options);
  if (options.text("trace_clock") == "chunk")
    fail(options.context(), ": trace_clock=chunk is the fluid model's only; ns3 follows time");
}
}  // namespace

CACHEGEN_REGISTER(network_registry(),
                  {"ns3", "ns-3 TCP over a point-to-point bottleneck following the trace",
                   network_options(), check_ns3_options},
                  [](const Options& options) {
                    return std::make_unique<Ns3Network>(network_config_from(options));
                  });

}  // namespace cachegen
