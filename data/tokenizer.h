// data/tokenizer.h: text -> tokens, the first step of every model (`--tokenizer`, `--normalize`).
//
// Kinds:
//   tweet       NLTK 3.8's TweetTokenizer(preserve_case = !lowercase, reduce_len), reproduced by a
//               hand-written scanner (data/tweet_scanner.h) and checked live against NLTK on real
//               tweets (tests/data/test_tokenizer_parity.cc). Keeps @handles, #hashtags, URLs,
//               emails, phone numbers, emoticons (case kept: ":D" stays ":D") and emoji sequences
//               (skin tones, ZWJ families, flags) whole; decodes HTML entities ("&amp;" -> "&").
//   whitespace  Python's text.lower().split(): split on Unicode whitespace.
//   char        Python's list(text.lower()), one token per code point, except that each run of
//               whitespace becomes a single " " token and leading/trailing whitespace is dropped.
// lowercase: Python's str.lower() for all of Unicode (ASCII, Latin-1, Latin Extended, Greek with
//   final sigma, Cyrillic, Armenian, Georgian, ... and U+0130 -> "i̇"); see tokenizer_unicode.h.
//   In the tweet kind, tokens that contain an emoticon keep their case, as in NLTK.
// reduce_len: runs of 3+ identical characters become 3 ("soooo" -> "sooo") in every kind. The
//   tweet kind also always cuts runs of 4+ identical non-alphanumeric characters to 3, as NLTK.
//
// Normalize::GloveTwitter maps tokens onto the conventions of the GloVe Twitter embeddings
// (Stanford's preprocess-twitter script), so that pretrained vectors cover them:
//   URL                 -> <url>               @handle           -> <user>
//   number, phone       -> <number>            (a token of digits and , . : / + - only)
//   #tag                -> <hashtag> tag       (#ThisIsIt -> <hashtag> this is it, split at
//                                               case changes; #NLP -> <hashtag> nlp <allcaps>)
//   :) :-) :D 8) (:     -> <smile>             :P ;p             -> <lolface>
//   :( :-( ): [:        -> <sadface>           :/ :| :\          -> <neutralface>
//   <3                  -> <heart>
//   !!! ?? ... . . .    -> ! <repeat>          (2+ consecutive "!", "?" or "." tokens, or an ellipsis)
//   wayyyy              -> way <elong>         (a word ENDING in 3+ identical characters keeps one)
//   WORD                -> word <allcaps>      (2+ uppercase letters and no lowercase ones)
//   everything          lowercased (GloVe Twitter is uncased; case survives as <allcaps>)
// Not covered: the script's rewriting inside words (it turns "2nd" into "<number>nd" and "a/b"
// into "a / b"; here a token is either replaced whole or kept), elongation in the middle of a word
// ("cooool" stays as reduce_len leaves it), and emoticons outside NLTK's set. With the whitespace
// kind a token is normalized only when the tweet scanner reads the whole of it as one token
// (so "COOL!!!" is just lowercased). The char kind has no words to normalize: it is rejected.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace loom::data {

enum class TokenizerKind { Tweet, Whitespace, Char };
enum class Normalize { None, GloveTwitter };

// parse_*: "tweet" | "whitespace" | "char" and "none" | "glove-twitter"; anything else throws
// loom::Error naming the bad value and listing the valid ones.
TokenizerKind parse_tokenizer_kind(std::string_view name);
Normalize parse_normalize(std::string_view name);
const char* to_string(TokenizerKind kind);
const char* to_string(Normalize normalize);

struct TokenizerConfig {
  TokenizerKind kind = TokenizerKind::Tweet;
  Normalize normalize = Normalize::None;
  bool lowercase = true;
  bool reduce_len = true;
};

// Throws loom::Error for a combination that cannot work (glove-twitter with the char kind).
void validate(const TokenizerConfig& config);

// `text` should be valid UTF-8 (the CSV reader checks it); invalid bytes become U+FFFD.
std::vector<std::string> tokenize(std::string_view text, const TokenizerConfig& config);

// {"kind": "tweet", "normalize": "none", "lowercase": true, "reduce_len": true}, saved with a
// model so that predict tokenizes as train did. Reading throws loom::CheckpointError for a
// missing "kind", an unknown key or value, or a wrong type; absent optional keys take defaults.
nlohmann::json to_json(const TokenizerConfig& config);
TokenizerConfig tokenizer_config_from_json(const nlohmann::json& j);

}  // namespace loom::data
