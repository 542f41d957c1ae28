// fuzz/tokenizer.cc: data::tokenize (data/tokenizer.h) on arbitrary bytes, every kind and option.
//
// The first byte picks the kind (tweet, whitespace, char), the normalization, lowercase and
// reduce_len; the rest is the text, NOT necessarily valid UTF-8 (the header promises invalid bytes
// become U+FFFD). Checked: tokenize never throws for a valid config; every token is non-empty
// valid UTF-8 (fuzz_util.h's own validator), whitespace tokens contain no ASCII whitespace; the
// char kind gives one code point per token; data/utf8.h's validator agrees with ours on the input;
// and tokenizing is deterministic (the same text twice gives the same tokens).
#include <cstdint>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "data/utf8.h"
#include "fuzz/fuzz_util.h"

using namespace loom;

int loom_fuzz_tokenizer(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  data::TokenizerConfig config;
  config.kind = static_cast<data::TokenizerKind>(mode % 3);
  config.normalize = (mode & 4) && config.kind != data::TokenizerKind::Char ? data::Normalize::GloveTwitter
                                                                            : data::Normalize::None;
  config.lowercase = (mode & 8) == 0;
  config.reduce_len = (mode & 16) == 0;
  const std::string_view text = in.rest();
  FUZZ_CHECK(data::is_valid_utf8(text) == fuzz::valid_utf8(text), "data/utf8.h and the strict validator disagree");

  std::vector<std::string> tokens;
  try {
    tokens = data::tokenize(text, config);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("tokenize threw: ") + e.what());
  }
  for (const std::string& t : tokens) {
    FUZZ_CHECK(!t.empty(), "an empty token");
    FUZZ_CHECK(fuzz::valid_utf8(t), "a token that is not valid UTF-8");
    if (config.kind == data::TokenizerKind::Whitespace)
      FUZZ_CHECK(t.find_first_of(" \t\n\r\v\f") == std::string::npos, "a whitespace token holds whitespace");
    if (config.kind == data::TokenizerKind::Char) {
      std::size_t i = 0;
      data::next_code_point(t, i);
      FUZZ_CHECK(i == t.size() || t == " ", "a char token of more than one code point: '" + t + "'");
    }
  }
  FUZZ_CHECK(data::tokenize(text, config) == tokens, "tokenize is not deterministic");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_tokenizer)
