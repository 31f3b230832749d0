// A tokenizer for Hugging Face tokenizer.json files with a BPE model, in the two styles Llama-
// family checkpoints use:
//   - byte-level BPE (GPT-2, Llama 3, Qwen2): regex pre-tokenization (the file's own pattern,
//     run with PCRE2 in Unicode mode), bytes mapped to printable characters, BPE merges;
//   - SentencePiece-style BPE (Llama 2, Mistral): spaces become "▁" (a Prepend/Replace
//     normalizer or a Metaspace pre-tokenizer), BPE over characters, unknown characters as
//     <0xXX> byte tokens (byte_fallback).
// Added (special) tokens are matched literally first. Ids equal those of the `tokenizers`
// library on the same file (tested).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachegen/core/language_model.h"

namespace cachegen {

class Tokenizer : public TextTokenizer {
 public:
  // Throws naming the file and key for anything it does not support.
  static Tokenizer load(const std::string& path);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer() override;

  // Token ids of `text` (UTF-8), without BOS/EOS; callers add those from the model's config.
  std::vector<int32_t> encode(const std::string& text) const override;
  // Ids without a token (padded embedding rows of a model) decode to nothing.
  std::string decode(const std::vector<int32_t>& ids) const override;
  int32_t token_id(const std::string& token) const;  // -1 if absent
  // The token the file's post-processor puts before a sequence (Llama's BOS), or -1.
  int32_t bos_id() const override;
  int64_t vocab_size() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachegen
