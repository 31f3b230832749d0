#include "cachegen/models/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "cachegen/core/byte_io.h"
#include "cachegen/core/error.h"

namespace cachegen {

namespace {
using Json = nlohmann::json;

const char kMetaspace[] = "\xe2\x96\x81";  // U+2581 "▁"

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xe0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

// Splits UTF-8 text into characters (invalid bytes become single-byte pieces).
std::vector<std::string> characters(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > text.size())
      n = 1;
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

// GPT-2's reversible map from bytes to printable characters.
std::vector<std::string> byte_to_char_table() {
  std::vector<std::string> table(256);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[static_cast<size_t>(b)] =
        utf8(printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++));
  }
  return table;
}
namespace {
// A token id from tokenizer.json: an integer in [0, 2^24) (larger vocabularies do not exist, and
// the id sizes a table).
int32_t parse_token_id(const nlohmann::json& value, const std::string& where) {
  constexpr int64_t kMaxTokens = int64_t{1} << 24;
  if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
      value.get<int64_t>() >= kMaxTokens) {
    fail(where, " must be a token id in [0, ", kMaxTokens, "), not ", value.dump());
  }
  return static_cast<int32_t>(value.get<int64_t>());
}
}  // namespace

class Regex {
 public:
  Regex(const std::string& pattern, const std::string& where) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (!code_) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      fail(where, ": regex does not compile at offset ", offset, ": ",
           reinterpret_cast<char*>(message));
    }
    data_ = pcre2_match_data_create_from_pattern(code_, nullptr);
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT fails
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() {
    pcre2_match_data_free(data_);
    pcre2_code_free(code_);
  }
  // Splits with HF's "Isolated" behaviour: matches and the gaps between them are all pieces.
  std::vector<std::string> split(const std::string& text) const {
    std::vector<std::string> pieces;
    size_t start = 0, gap = 0;
    // UTF validity is checked on the first match only: checking the whole subject on every
    // call would make splitting quadratic in the text length.
    uint32_t options = 0;
    while (start <= text.size()) {
      int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start,
                           options, data_, nullptr);
      if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
        fail("tokenizer: the text is not valid UTF-8 (byte ", pcre2_get_startchar(data_), ")");
      }
      options = PCRE2_NO_UTF_CHECK;
      if (rc < 0)
        break;
      PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data_);
      size_t b = ovector[0], e = ovector[1];
      if (b > gap)
        pieces.push_back(text.substr(gap, b - gap));
      if (e > b)
        pieces.push_back(text.substr(b, e - b));
      gap = e;
      start = e > b ? e : e + 1;  // step over an empty match
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xc0) == 0x80)
        ++start;
    }
    if (gap < text.size())
      pieces.push_back(text.substr(gap));
    return pieces;
  }

 private:
  pcre2_code* code_ = nullptr;
  pcre2_match_data* data_ = nullptr;
};

const char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
}  // namespace

struct Tokenizer::Impl {
  std::string source;
  bool byte_level = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
  bool prepend_metaspace = false;  // SentencePiece style: "▁" before the text
  bool spaces_to_metaspace = false;
  std::vector<std::unique_ptr<Regex>> splits;
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> id_to_token;
  std::unordered_map<std::string, int> merge_rank;     // "left right" -> rank
  std::vector<std::pair<std::string, int32_t>> added;  // literal special tokens, longest first
  std::vector<std::string> byte_chars = byte_to_char_table();
  std::unordered_map<std::string, uint8_t> char_to_byte;
  int32_t unk = -1;
  int32_t bos = -1;

  int32_t token_id_of(const std::string& token) const {
    auto it = vocab.find(token);
    return it == vocab.end() ? -1 : it->second;
  }

  int rank(const std::string& left, const std::string& right) const {
    auto it = merge_rank.find(left + " " + right);
    return it == merge_rank.end() ? -1 : it->second;
  }

  // BPE over symbols: repeatedly merge the adjacent pair of lowest rank, leftmost first.
  std::vector<std::string> bpe(std::vector<std::string> symbols) const {
    const size_t n = symbols.size();
    std::vector<size_t> prev(n), next(n);
    for (size_t i = 0; i < n; ++i) {
      prev[i] = i - 1;  // wraps for i = 0: never used as an index
      next[i] = i + 1;
    }
    using Candidate = std::tuple<int, size_t, std::string>;  // rank, left position, merged
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto push = [&](size_t left) {
      if (left >= n || next[left] >= n)
        return;
      int r = rank(symbols[left], symbols[next[left]]);
      if (r >= 0)
        heap.emplace(r, left, symbols[left] + symbols[next[left]]);
    };
    for (size_t i = 0; i + 1 < n; ++i)
      push(i);
    while (!heap.empty()) {
      auto [r, left, merged] = heap.top();
      heap.pop();
      size_t right = next[left];
      // Skip stale candidates: one side was merged away or changed since this was pushed.
      if (symbols[left].empty() || right >= n || symbols[left] + symbols[right] != merged)
        continue;
      symbols[left] = merged;
      symbols[right].clear();
      next[left] = next[right];
      if (next[right] < n)
        prev[next[right]] = left;
      if (left > 0 && left - 1 < n) {
        size_t p = prev[left];
        if (p < n)
          push(p);
      }
      push(left);
    }
    std::vector<std::string> out;
    for (size_t i = 0; i < n; i = next[i])
      out.push_back(symbols[i]);
    return out;
  }

  void encode_piece(const std::string& piece, std::vector<int32_t>& ids) const {
    std::vector<std::string> symbols;
    if (byte_level) {
      std::string mapped;
      for (unsigned char b : piece)
        mapped += byte_chars[b];
      if (ignore_merges) {
        auto it = vocab.find(mapped);
        if (it != vocab.end()) {
          ids.push_back(it->second);
          return;
        }
      }
      symbols = characters(mapped);
    } else {
      symbols = characters(piece);
    }
    for (const std::string& s : bpe(std::move(symbols))) {
      auto it = vocab.find(s);
      if (it != vocab.end()) {
        ids.push_back(it->second);
      } else if (byte_fallback) {
        for (unsigned char b : s) {
          char name[8];
          std::snprintf(name, sizeof(name), "<0x%02X>", b);
          auto bt = vocab.find(name);
          if (bt == vocab.end())
            fail(source, ": byte token ", name, " is missing from the vocabulary");
          ids.push_back(bt->second);
        }
      } else if (unk >= 0) {
        ids.push_back(unk);
      } else {
        fail(source, ": no token for '", s, "' and no byte fallback or unk_token");
      }
    }
  }

  void encode_text(std::string text, bool first, std::vector<int32_t>& ids) const {
    if (spaces_to_metaspace) {
      std::string replaced;
      for (char c : text)
        replaced += c == ' ' ? std::string(kMetaspace) : std::string(1, c);
      text = replaced;
    }
    if (prepend_metaspace && first)
      text = kMetaspace + text;
    std::vector<std::string> pieces{text};
    for (const auto& regex : splits) {
      std::vector<std::string> next;
      for (const std::string& p : pieces) {
        for (std::string& q : regex->split(p))
          next.push_back(std::move(q));
      }
      pieces = std::move(next);
    }
    for (const std::string& p : pieces) {
      if (!p.empty())
        encode_piece(p, ids);
    }
  }

  void read_pre_tokenizer(const Json& p, const std::string& where) {
    if (p.is_null())
      return;
    std::string type = p.value("type", "");
    if (type == "Sequence") {
      for (const Json& item : p.at("pretokenizers"))
        read_pre_tokenizer(item, where);
    } else if (type == "Split") {
      if (!p.contains("pattern") || !p["pattern"].contains("Regex")) {
        fail(where, ": Split pre-tokenizer needs a Regex pattern");
      }
      if (p.value("behavior", "") != "Isolated" || p.value("invert", false)) {
        fail(where, ": Split pre-tokenizer behaviour must be Isolated, not inverted");
      }
      splits.push_back(std::make_unique<Regex>(p["pattern"]["Regex"].get<std::string>(), where));
    } else if (type == "ByteLevel") {
      byte_level = true;
      if (p.value("add_prefix_space", false))
        fail(where, ": ByteLevel add_prefix_space is not supported");
      if (p.value("use_regex", true))
        splits.push_back(std::make_unique<Regex>(kGpt2Pattern, where));
    } else if (type == "Metaspace") {
      spaces_to_metaspace = true;
      std::string scheme = p.value("prepend_scheme", "always");
      prepend_metaspace = scheme != "never";
      if (p.value("split", false))
        fail(where, ": Metaspace with split=true is not supported");
    } else {
      fail(where, ": pre-tokenizer '", type,
           "' is not supported; supported: ByteLevel, Split, Metaspace, Sequence");
    }
  }

  void read_normalizer(const Json& n, const std::string& where) {
    if (n.is_null())
      return;
    std::string type = n.value("type", "");
    if (type == "Sequence") {
      for (const Json& item : n.at("normalizers"))
        read_normalizer(item, where);
    } else if (type == "Prepend" && n.value("prepend", "") == kMetaspace) {
      prepend_metaspace = true;
    } else if (type == "Replace" && n.contains("pattern") &&
               n["pattern"].value("String", "") == " " && n.value("content", "") == kMetaspace) {
      spaces_to_metaspace = true;
    } else if (type == "NFC" || type == "NFKC") {
      // Our test and model texts are NFC already; applying it needs ICU. Accepted, not applied.
    } else {
      fail(where, ": normalizer '", type, "' is not supported");
    }
  }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  Json j;
  try {
    j = Json::parse(bytes.begin(), bytes.end());
  } catch (const Json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  auto impl = std::make_unique<Impl>();
  Impl& t = *impl;
  t.source = path;
  try {
    const Json& model = j.at("model");
    if (model.value("type", "") != "BPE") {
      fail(path, ": key 'model.type' is '", model.value("type", ""), "'; only BPE is supported");
    }
    t.byte_fallback = model.value("byte_fallback", false);
    t.ignore_merges = model.value("ignore_merges", false);
    for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it) {
      const int32_t id = parse_token_id(*it, path + ": key 'model.vocab." + it.key() + "'");
      t.vocab[it.key()] = id;
      if (static_cast<size_t>(id) >= t.id_to_token.size())
        t.id_to_token.resize(static_cast<size_t>(id) + 1);
      t.id_to_token[static_cast<size_t>(id)] = it.key();
    }
    int rank = 0;
    for (const Json& m : model.at("merges")) {
      std::string key = m.is_string()
                            ? m.get<std::string>()
                            : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>();
      t.merge_rank.emplace(key, rank++);
    }
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
      auto it = t.vocab.find(model["unk_token"].get<std::string>());
      if (it != t.vocab.end())
        t.unk = it->second;
    }
    if (j.contains("added_tokens")) {
      for (const Json& a : j["added_tokens"]) {
        const int32_t id = parse_token_id(a.at("id"), path + ": key 'added_tokens[].id'");
        std::string content = a.at("content").get<std::string>();
        t.added.emplace_back(content, id);
        if (static_cast<size_t>(id) >= t.id_to_token.size())
          t.id_to_token.resize(static_cast<size_t>(id) + 1);
        t.id_to_token[static_cast<size_t>(id)] = content;
        t.vocab.emplace(content, id);
      }
      std::sort(t.added.begin(), t.added.end(),
                [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }
    t.read_normalizer(j.value("normalizer", Json()), path + " normalizer");
    t.read_pre_tokenizer(j.value("pre_tokenizer", Json()), path + " pre_tokenizer");
  } catch (const Json::exception& e) {
    fail(path, ": unexpected structure: ", e.what());
  }
  for (size_t b = 0; b < 256; ++b)
    t.char_to_byte[t.byte_chars[b]] = static_cast<uint8_t>(b);
  // TemplateProcessing whose single-sequence template starts with a special token: a BOS.
  if (j.contains("post_processor") && j["post_processor"].is_object()) {
    const Json& pp = j["post_processor"];
    const Json* templ = nullptr;
    if (pp.value("type", "") == "TemplateProcessing")
      templ = &pp;
    if (pp.value("type", "") == "Sequence" && pp.contains("processors")) {
      for (const Json& p : pp["processors"]) {
        if (p.value("type", "") == "TemplateProcessing")
          templ = &p;
      }
    }
    if (templ && templ->contains("single") && !(*templ)["single"].empty() &&
        (*templ)["single"][0].contains("SpecialToken")) {
      t.bos = t.token_id_of((*templ)["single"][0]["SpecialToken"].value("id", ""));
    }
  }
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  const Impl& t = *impl_;
  std::vector<int32_t> ids;
  size_t start = 0;
  bool first = true;
  // Added tokens are matched literally, longest first; the text between them is tokenized.
  for (size_t i = 0; i <= text.size();) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    for (const auto& a : t.added) {
      if (!a.first.empty() && text.compare(i, a.first.size(), a.first) == 0) {
        hit = &a;
        break;
      }
    }
    if (!hit && i < text.size()) {
      ++i;
      continue;
    }
    if (i > start) {
      t.encode_text(text.substr(start, i - start), first, ids);
      first = false;
    }
    if (!hit)
      break;
    ids.push_back(hit->second);
    i += hit->first.size();
    start = i;
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const Impl& t = *impl_;
  std::string out;
  for (int32_t id : ids) {
    // Ids with no token (a model's padded embedding rows) decode to nothing, as in `tokenizers`.
    if (id < 0 || static_cast<size_t>(id) >= t.id_to_token.size())
      continue;
    const std::string& token = t.id_to_token[static_cast<size_t>(id)];
    if (t.byte_level) {
      for (const std::string& c : characters(token)) {
        auto it = t.char_to_byte.find(c);
        out += it == t.char_to_byte.end() ? c : std::string(1, static_cast<char>(it->second));
      }
    } else if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
      out += static_cast<char>(std::stoi(token.substr(3, 2), nullptr, 16));
    } else {
      std::string piece = token;
      for (size_t p; (p = piece.find(kMetaspace)) != std::string::npos;)
        piece.replace(p, 3, " ");
      out += piece;
    }
  }
  if (!t.byte_level && t.prepend_metaspace && !out.empty() && out[0] == ' ')
    out.erase(0, 1);
  return out;
}

int32_t Tokenizer::token_id(const std::string& token) const {
  auto it = impl_->vocab.find(token);
  return it == impl_->vocab.end() ? -1 : it->second;
}

int32_t Tokenizer::bos_id() const {
  return impl_->bos;
}

int64_t Tokenizer::vocab_size() const {
  return static_cast<int64_t>(impl_->id_to_token.size());
}

}  // namespace cachegen
