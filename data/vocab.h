// data/vocab.h: token <-> id, built from the training split and saved with the model.
//
// Layout: id 0 = "<pad>" (what collate() pads with), id 1 = "<unk>" (every token not in the
// vocabulary), then the kept tokens by frequency descending, ties by first occurrence in the
// training data. First occurrence makes the order a pure function of the documents (no hash-map
// iteration order), so the same data gives the same ids on every machine.
// max_vocab counts pad and unk, as Keras's TextVectorization(max_tokens) does: max_vocab = 20000
// keeps 19998 real tokens. Literal "<pad>"/"<unk>" tokens in the documents are not counted: encode()
// maps them to unk, so text can never produce the padding id.
//
// JSON (inside the model's sidecar): {"tokens": ["<pad>", "<unk>", ...]}. nlohmann/json_fwd.hpp is
// enough here; callers of to_json/from_json include <nlohmann/json.hpp>.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace loom::data {

class Vocab {
 public:
  static constexpr std::int32_t kPad = 0, kUnk = 1;
  static constexpr const char* kPadToken = "<pad>";
  static constexpr const char* kUnkToken = "<unk>";

  Vocab();  // just pad and unk

  // From the training split only. max_vocab counts pad and unk (0 = no limit, otherwise >= 2);
  // min_freq >= 1; order: frequency descending, ties by first occurrence in the training data.
  static Vocab build(const std::vector<std::vector<std::string>>& docs, std::int64_t max_vocab,
                     std::int64_t min_freq);
  // tokens[0] must be "<pad>", tokens[1] "<unk>", no duplicates (CheckpointError otherwise).
  static Vocab from_tokens(std::vector<std::string> tokens);

  std::int32_t id(const std::string& token) const;    // kUnk when absent
  std::int32_t find(const std::string& token) const;  // -1 when absent
  const std::string& token(std::int32_t id) const;    // Error when id is out of range
  std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  std::vector<std::int32_t> encode(const std::vector<std::string>& tokens) const;

  nlohmann::json to_json() const;
  static Vocab from_json(const nlohmann::json& j);  // CheckpointError when malformed

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int32_t> index_;
};

}  // namespace loom::data
