// fuzz/vocab.cc: the vocabulary (data::Vocab::from_json, saved inside config.json as
// {"tokens": [...]}) on arbitrary bytes that parse as JSON.
//
// Checked: a refusal is a CheckpointError; an accepted vocabulary starts with <pad> and <unk>,
// maps every token back to its own id, encodes no text to the padding id, and survives
// to_json -> from_json unchanged.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/vocab.h"
#include "fuzz/fuzz_util.h"

using namespace loom;

int loom_fuzz_vocab(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;  // not JSON: config.json's reader refuses it before the vocabulary
  data::Vocab v;
  if (!fuzz::run_expecting<CheckpointError>([&] { v = data::Vocab::from_json(j); })) return 0;

  FUZZ_CHECK(v.size() >= 2 && v.token(0) == "<pad>" && v.token(1) == "<unk>", "no <pad>/<unk> at 0/1");
  for (std::int32_t i = 0; i < v.size(); ++i) FUZZ_CHECK(v.id(v.token(i)) == i, "token " + std::to_string(i) + " maps elsewhere");
  for (std::int32_t id : v.encode(v.tokens())) FUZZ_CHECK(id != data::Vocab::kPad, "text encoded to <pad>");
  data::Vocab again;
  try {
    again = data::Vocab::from_json(v.to_json());
  } catch (const std::exception& e) {
    fuzz::fail(std::string("an accepted vocabulary does not read back: ") + e.what());
  }
  FUZZ_CHECK(again.tokens() == v.tokens(), "to_json/from_json changed the tokens");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_vocab)
