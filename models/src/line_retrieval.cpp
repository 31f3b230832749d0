#include "cachegen/models/line_retrieval.h"

#include <set>

#include "cachegen/core/error.h"

namespace cachegen {

namespace {
const char* const kAdjectives[] = {
    "able",  "ancient", "bold",   "brave",  "bright", "calm",   "clever", "cosy",
    "crisp", "curious", "daring", "eager",  "early",  "fancy",  "fierce", "gentle",
    "giant", "glad",    "golden", "grand",  "happy",  "hidden", "humble", "icy",
    "jolly", "keen",    "kind",   "lively", "lucky",  "mellow", "merry",  "mighty",
    "misty", "noble",   "odd",    "polite", "proud",  "quick",  "quiet",  "rapid",
    "rare",  "royal",   "rusty",  "shiny",  "silent", "simple", "sleepy", "smooth",
    "solid", "spicy",   "steady", "stormy", "sunny",  "swift",  "tender", "tiny",
    "vivid", "wacky",   "warm",   "wild",   "wise",   "witty",  "young",  "zesty"};
const char* const kNouns[] = {
    "anchor", "badger",  "beacon",  "bison",   "canyon", "castle", "cedar",  "comet",
    "coral",  "crane",   "dolphin", "eagle",   "ember",  "falcon", "fern",   "forest",
    "fox",    "galaxy",  "garden",  "glacier", "harbor", "hawk",   "island", "jaguar",
    "kettle", "lantern", "lemur",   "lotus",   "maple",  "meadow", "meteor", "otter",
    "owl",    "panda",   "pebble",  "pepper",  "pine",   "planet", "puffin", "quartz",
    "rabbit", "raven",   "reef",    "river",   "rocket", "saddle", "salmon", "sparrow",
    "spruce", "summit",  "thistle", "tiger",   "topaz",  "tulip",  "valley", "violet",
    "walnut", "whale",   "willow",  "wombat",  "yacht",  "zebra",  "zephyr", "zinnia"};
constexpr size_t kAdjectiveCount = sizeof(kAdjectives) / sizeof(kAdjectives[0]);
constexpr size_t kNounCount = sizeof(kNouns) / sizeof(kNouns[0]);
constexpr char kHeader[] = "Below is a record of lines. Remember each REGISTER_CONTENT.\n";
}  // namespace

const char* retrieval_answer_end() {
  return ">";
}

std::string retrieval_question(const std::string& key) {
  return "What is the REGISTER_CONTENT in line " + key + "? The REGISTER_CONTENT is <";
}

namespace {
// Appends random lines with distinct keys while `fits(line_text)` accepts them, then picks
// the question's line.
template <typename Fits>
RetrievalEpisode grow_episode(std::mt19937_64& rng, Fits fits) {
  std::uniform_int_distribution<size_t> adjective(0, kAdjectiveCount - 1), noun(0, kNounCount - 1);
  std::uniform_int_distribution<int> number(10000, 99999);
  RetrievalEpisode e;
  e.context = kHeader;
  std::set<std::string> used;
  for (;;) {
    std::string key = std::string(kAdjectives[adjective(rng)]) + "-" + kNouns[noun(rng)];
    if (!used.insert(key).second) {
      if (used.size() >= kAdjectiveCount * kNounCount)
        break;
      continue;
    }
    std::string value = std::to_string(number(rng));
    std::string line = "line " + key + ": REGISTER_CONTENT is <" + value + ">\n";
    if (!fits(line))
      break;
    e.context += line;
    e.lines.push_back({key, value});
  }
  if (e.lines.empty())
    return e;
  const RetrievalLine& target =
      e.lines[std::uniform_int_distribution<size_t>(0, e.lines.size() - 1)(rng)];
  e.question = retrieval_question(target.key);
  e.answer = target.number;
  return e;
}
}  // namespace

RetrievalEpisode make_retrieval_episode(const TextTokenizer& tokenizer, int64_t context_tokens,
                                        std::mt19937_64& rng) {
  auto tokens = static_cast<int64_t>(tokenizer.encode(kHeader).size());
  RetrievalEpisode e = grow_episode(rng, [&](const std::string& line) {
    auto cost = static_cast<int64_t>(tokenizer.encode(line).size());
    if (tokens + cost > context_tokens)
      return false;
    tokens += cost;
    return true;
  });
  if (e.lines.empty())
    fail("line retrieval: ", context_tokens, " tokens cannot hold even one line");
  return e;
}

RetrievalEpisode make_retrieval_episode_with_lines(int64_t line_count, std::mt19937_64& rng) {
  const auto limit = static_cast<int64_t>(kAdjectiveCount * kNounCount);
  if (line_count < 1 || line_count > limit)
    fail("line retrieval: a record holds 1 to ", limit, " lines, not ", line_count);
  int64_t added = 0;
  return grow_episode(rng, [&](const std::string&) { return added++ < line_count; });
}

RetrievalScore score_retrieval(LanguageModel& model, const TextTokenizer& tokenizer,
                               int64_t context_tokens, int64_t episodes, uint64_t seed) {
  RetrievalScore score;
  for (int64_t i = 0; i < episodes; ++i) {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(i));
    RetrievalEpisode e = make_retrieval_episode(tokenizer, context_tokens, rng);
    std::vector<int32_t> prompt;
    if (tokenizer.bos_id() >= 0)
      prompt.push_back(tokenizer.bos_id());
    for (const std::string& part : {e.context, e.question}) {
      std::vector<int32_t> ids = tokenizer.encode(part);
      prompt.insert(prompt.end(), ids.begin(), ids.end());
    }
    std::string reply = tokenizer.decode(model.generate(prompt, nullptr, 6, -1));
    std::string answer = reply.substr(0, reply.find(retrieval_answer_end()));
    ++score.episodes;
    score.replies.push_back(answer);
    score.answers.push_back(e.answer);
    score.correct += answer == e.answer ? 1 : 0;
  }
  return score;
}

}  // namespace cachegen
