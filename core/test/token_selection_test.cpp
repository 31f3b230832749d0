#include "cachegen/core/token_selection.h"

#include <gtest/gtest.h>

#include <random>

#include "cachegen/core/error.h"
#include "cachegen/core/synthetic_kv.h"

namespace cachegen {
namespace {

// The obvious H2O: the recent tokens, then repeatedly the best-scoring token not yet kept.
std::vector<int32_t> slow_h2o(const std::vector<double>& score, int64_t keep, int64_t recent) {
  const auto tokens = static_cast<int64_t>(score.size());
  std::vector<bool> kept(score.size(), false);
  for (int64_t t = tokens - recent; t < tokens; ++t)
    kept[static_cast<size_t>(t)] = true;
  for (int64_t n = recent; n < keep; ++n) {
    int64_t best = -1;
    for (int64_t t = 0; t < tokens; ++t) {
      if (!kept[static_cast<size_t>(t)] &&
          (best < 0 || score[static_cast<size_t>(t)] > score[static_cast<size_t>(best)]))
        best = t;
    }
    kept[static_cast<size_t>(best)] = true;
  }
  std::vector<int32_t> out;
  for (int64_t t = 0; t < tokens; ++t)
    if (kept[static_cast<size_t>(t)])
      out.push_back(static_cast<int32_t>(t));
  return out;
}

TEST(H2o, SelectionEqualsTheObviousOneInEveryScope) {
  const int64_t layers = 3, heads = 2, tokens = 40;
  std::mt19937 rng(5);
  std::vector<float> scores(static_cast<size_t>(layers * heads * tokens));
  for (float& s : scores)
    s = static_cast<float>(rng() % 20);  // many ties: the earlier token wins
  for (SelectionScope scope :
       {SelectionScope::kHead, SelectionScope::kLayer, SelectionScope::kModel}) {
    for (auto [keep, recent] : {std::pair<int64_t, int64_t>{10, 5}, {1, 0}, {40, 3}, {7, 7}}) {
      const KeptTokens kept = h2o_select(scores, layers, heads, tokens, keep, recent, scope);
      for (int64_t l = 0; l < layers; ++l) {
        for (int64_t h = 0; h < heads; ++h) {
          std::vector<double> total(static_cast<size_t>(tokens), 0.0);
          for (int64_t ll = 0; ll < layers; ++ll) {
            for (int64_t hh = 0; hh < heads; ++hh) {
              const bool in_scope = scope == SelectionScope::kModel ||
                                    (ll == l && (scope == SelectionScope::kLayer || hh == h));
              for (int64_t t = 0; in_scope && t < tokens; ++t)
                total[static_cast<size_t>(t)] +=
                    scores[static_cast<size_t>((ll * heads + hh) * tokens + t)];
            }
          }
          const std::vector<int32_t> expected = slow_h2o(total, keep, recent);
          EXPECT_EQ(std::vector<int32_t>(kept.of(l, h), kept.of(l, h) + keep), expected)
              << selection_scope_name(scope) << " keep " << keep << " layer " << l << " head " << h;
        }
      }
    }
  }
  EXPECT_THROW(h2o_select(scores, layers, heads, tokens, 0, 0, SelectionScope::kHead), Error);
  EXPECT_THROW(h2o_select(scores, layers, heads, tokens, 5, 6, SelectionScope::kHead), Error);
  EXPECT_THROW(h2o_select(scores, layers, heads, tokens + 1, 5, 1, SelectionScope::kHead), Error);
  EXPECT_EQ(parse_selection_scope("layer"), SelectionScope::kLayer);
  EXPECT_THROW(parse_selection_scope("token"), Error);
}

TEST(H2o, GatherKeepsEachHeadsOwnTokens) {
  SyntheticKVSpec spec;
  spec.shape = {2, 12, 3, 4};
  spec.dtype = DType::kF16;
  const KVCache kv = make_synthetic_kv(spec);
  KeptTokens kept{2, 3, 12, 4, {}};
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t s = 0; s < 4; ++s)
        kept.index.push_back(static_cast<int32_t>(s * 3 + (l + h) % 3));
  const KVCache out = gather_kept(kv, kept);
  ASSERT_EQ(out.shape().tokens, 4);
  for (int64_t l = 0; l < 2; ++l)
    for (int kind = 0; kind < 2; ++kind)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t s = 0; s < 4; ++s)
          for (int64_t d = 0; d < 4; ++d)
            ASSERT_EQ(out.at(l, kind, s, h * 4 + d), kv.at(l, kind, kept.of(l, h)[s], h * 4 + d));
  kept.index[5] = 12;
  EXPECT_THROW(gather_kept(kv, kept), Error);
  kept.context_tokens = 13;
  EXPECT_THROW(gather_kept(kv, kept), Error);
}

}  // namespace
}  // namespace cachegen
