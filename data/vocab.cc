// data/vocab.cc: building, looking up and (de)serializing the vocabulary (see vocab.h).
#include "data/vocab.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loom::data {

Vocab::Vocab() : tokens_{kPadToken, kUnkToken}, index_{{kPadToken, kPad}, {kUnkToken, kUnk}} {}

Vocab Vocab::build(const std::vector<std::vector<std::string>>& docs, std::int64_t max_vocab,
                   std::int64_t min_freq) {
  LOOM_CHECK(min_freq >= 1, "Vocab::build: min_freq must be >= 1, got ", min_freq);
  LOOM_CHECK(max_vocab == 0 || max_vocab >= 2,
             "Vocab::build: max_vocab counts <pad> and <unk>, so it must be 0 (no limit) or >= 2, got ", max_vocab);
  struct Entry {
    std::int64_t count = 0;
    std::int64_t first = 0;  // position of the first occurrence in the whole token stream
  };
  // Views into `docs`, which outlive this function's map: no copy per occurrence.
  std::unordered_map<std::string_view, Entry> counts;
  std::int64_t position = 0;
  for (const auto& doc : docs) {
    for (const std::string& t : doc) {
      auto [it, inserted] = counts.try_emplace(std::string_view(t));
      if (inserted) it->second.first = position;
      ++it->second.count;
      ++position;
    }
  }
  std::vector<std::pair<std::string_view, Entry>> kept;
  kept.reserve(counts.size());
  for (const auto& [token, e] : counts) {
    if (e.count < min_freq || token == kPadToken || token == kUnkToken) continue;
    kept.emplace_back(token, e);
  }
  // `first` is unique per token, so this order is total and independent of the map's iteration.
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    if (a.second.count != b.second.count) return a.second.count > b.second.count;
    return a.second.first < b.second.first;
  });
  if (max_vocab > 0 && static_cast<std::int64_t>(kept.size()) > max_vocab - 2)
    kept.resize(static_cast<std::size_t>(max_vocab - 2));
  LOOM_CHECK(kept.size() + 2 <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
             "Vocab::build: ", kept.size(), " tokens do not fit int32 ids (set max_vocab)");
  Vocab v;
  v.tokens_.reserve(kept.size() + 2);
  v.index_.reserve(kept.size() + 2);
  for (const auto& [token, e] : kept) {
    v.index_.emplace(std::string(token), static_cast<std::int32_t>(v.tokens_.size()));
    v.tokens_.emplace_back(token);
  }
  return v;
}

Vocab Vocab::from_tokens(std::vector<std::string> tokens) {
  if (tokens.size() < 2 || tokens[0] != kPadToken || tokens[1] != kUnkToken)
    LOOM_THROW(CheckpointError, "vocabulary: the first two tokens must be \"", kPadToken, "\" and \"",
               kUnkToken, "\"");
  if (tokens.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
    LOOM_THROW(CheckpointError, "vocabulary: ", tokens.size(), " tokens do not fit int32 ids");
  Vocab v;
  v.tokens_ = std::move(tokens);
  v.index_.clear();
  v.index_.reserve(v.tokens_.size());
  for (std::size_t i = 0; i < v.tokens_.size(); ++i) {
    if (!v.index_.emplace(v.tokens_[i], static_cast<std::int32_t>(i)).second)
      LOOM_THROW(CheckpointError, "vocabulary: token \"", v.tokens_[i], "\" appears twice (ids ",
                 v.index_.at(v.tokens_[i]), " and ", i, ")");
  }
  return v;
}

std::int32_t Vocab::find(const std::string& token) const {
  const auto it = index_.find(token);
  return it == index_.end() ? -1 : it->second;
}

std::int32_t Vocab::id(const std::string& token) const {
  const std::int32_t i = find(token);
  return i < 0 ? kUnk : i;
}

const std::string& Vocab::token(std::int32_t id) const {
  LOOM_CHECK(id >= 0 && id < size(), "Vocab::token: id ", id, " is outside [0, ", size(), ")");
  return tokens_[static_cast<std::size_t>(id)];
}

std::vector<std::int32_t> Vocab::encode(const std::vector<std::string>& tokens) const {
  std::vector<std::int32_t> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) {
    const std::int32_t i = id(t);
    ids.push_back(i == kPad ? kUnk : i);  // a literal "<pad>" in the text is not padding
  }
  return ids;
}

nlohmann::json Vocab::to_json() const { return nlohmann::json{{"tokens", tokens_}}; }

Vocab Vocab::from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("tokens"))
    LOOM_THROW(CheckpointError, "vocabulary: expected an object with a \"tokens\" array");
  const nlohmann::json& arr = j.at("tokens");
  if (!arr.is_array()) LOOM_THROW(CheckpointError, "vocabulary: \"tokens\" is not an array");
  std::vector<std::string> tokens;
  tokens.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string())
      LOOM_THROW(CheckpointError, "vocabulary: token ", i, " is not a string (", arr[i].type_name(), ")");
    tokens.push_back(arr[i].get<std::string>());
  }
  return from_tokens(std::move(tokens));
}

}  // namespace loom::data
