#include "cachegen/netsim/bandwidth_trace.h"

#include <gtest/gtest.h>

#include "cachegen/core/error.h"

namespace cachegen {

TEST(BandwidthTrace, IntegratesAndInvertsPiecewiseRates) {
  BandwidthTrace trace({{0, 100}, {1, 50}, {3, 200}}, "test");
  EXPECT_EQ(trace.rate_at(0.5), 100);
  EXPECT_EQ(trace.rate_at(1), 50);
  EXPECT_EQ(trace.rate_at(10), 200);
  EXPECT_DOUBLE_EQ(trace.bits_between(0.5, 4), 50 + 100 + 200);
  EXPECT_DOUBLE_EQ(trace.time_to_send(350, 0.5), 4);
  EXPECT_DOUBLE_EQ(trace.time_to_send(10, 5), 5.05);
  EXPECT_DOUBLE_EQ(trace.max_rate_bps(), 200);
}

TEST(BandwidthTrace, RejectsBadPoints) {
  EXPECT_THROW(BandwidthTrace({}, "x"), Error);
  EXPECT_THROW(BandwidthTrace({{1, 5}}, "x"), Error);
  EXPECT_THROW(BandwidthTrace({{0, 5}, {0, 6}}, "x"), Error);
  EXPECT_THROW(BandwidthTrace({{0, 0}}, "x"), Error);
  EXPECT_THROW(BandwidthTrace({{0, -1}}, "x"), Error);
}

}  // namespace cachegen
