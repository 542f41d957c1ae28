// tests/data/test_tokenizer.cc: the tokenizers on hand-picked cases, one or more per token class.
//
// The expected tokens of the tweet kind were produced by NLTK 3.8's TweetTokenizer
// (preserve_case=False, reduce_len=True unless a case says otherwise); the live comparison on
// thousands of real tweets is in test_tokenizer_parity.cc. These cases pin the behaviour down
// without Python, and name the class that breaks when one fails.
#include "core/error.h"
#include "data/tokenizer.h"
#include "data/tokenizer_html.h"
#include "data/tokenizer_unicode.h"
#include "data/tweet_scanner.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>
#include "tests/support/timing.h"

using loom::data::Normalize;
using loom::data::TokenizerConfig;
using loom::data::TokenizerKind;

namespace {

// Tokens joined with " | ", so a failure shows both lists readably.
std::string toks(const std::string& text, TokenizerConfig config = {}) {
  std::string out;
  for (const std::string& t : loom::data::tokenize(text, config)) {
    out += out.empty() ? "" : " | ";
    out += t;
  }
  return out;
}

TokenizerConfig cased_unreduced() {
  TokenizerConfig c;
  c.lowercase = false;
  c.reduce_len = false;
  return c;
}

TokenizerConfig kind(TokenizerKind k, Normalize n = Normalize::None) {
  TokenizerConfig c;
  c.kind = k;
  c.normalize = n;
  return c;
}

// The class the scanner gives to each token of `text` (after NLTK's rewriting).
std::string classes(const std::string& text) {
  const std::u32string prepared = loom::data::prepare_tweet(loom::data::unicode::decode_utf8(text), true);
  std::vector<loom::data::TweetSpan> spans;
  loom::data::scan_tweet(prepared, spans);
  std::string out;
  for (const auto& s : spans) {
    out += out.empty() ? "" : " ";
    out += loom::data::to_string(s.kind);
  }
  return out;
}

}  // namespace

TEST_CASE("tokenizer: urls end before trailing punctuation and keep balanced parentheses") {
  CHECK(toks("Check https://t.co/xyz! now") == "check | https://t.co/xyz | ! | now");
  CHECK(toks("see (http://x.com/(ab)cd) ok") == "see | ( | http://x.com/(ab)cd | ) | ok");
  CHECK(toks("http://en.wikipedia.org/wiki/Foo_(bar) done") == "http://en.wikipedia.org/wiki/Foo_(bar) | done");
  // A domain followed by '/' starts a URL; a bare domain is one as long as no '@' touches it.
  CHECK(toks("HTTP://T.CO/ABC and Www.Example.com/A?b=1, ok") ==
        "HTTP://T.CO/ABC | and | www.example.com/a?b=1 | , | ok");  // ":/" is an emoticon: case kept
  CHECK(toks("visit google.com/ or News.BBC.co.uk.") == "visit | google.com/ | or | news.bbc.co.uk | .");
  CHECK(classes("https://t.co/x google.com") == "url url");
}

TEST_CASE("tokenizer: handles hashtags and emails stay whole") {
  CHECK(toks("RT @Jack_Dorsey: hi @a") == "rt | @jack_dorsey | : | hi | @a");
  // A hashtag needs two word characters and ends on one.
  CHECK(toks("#NLProc #nlp's #1 ##Tag #a-b-") == "#nlproc | #nlp's | # | 1 | ##tag | #a-b | -");
  CHECK(toks("mail foo.na@example.com or x@y.org") == "mail | foo.na@example.com | or | x@y.org");
  CHECK(classes("@a #ab x@y.org") == "handle hashtag email");
}

TEST_CASE("tokenizer: emoticons keep the case they were written in") {
  CHECK(toks("can't stop :D :-( <3 </3 -> <-- XD :P ;) (: D:") ==
        "can't | stop | :D | :-( | <3 | </3 | -> | <-- | xd | :P | ;) | (: | D:");
  // NLTK's classes come in a fixed order, and emoticons precede words: "8D" wins over "8Days".
  CHECK(toks("8Days") == "8D | ays");
  CHECK(toks("<b>bold</b>") == "<b> | bold | </b>");
  CHECK(classes(":-) <b> -> <3") == "emoticon html-tag arrow emoticon");
}

TEST_CASE("tokenizer: emoji with skin tones and zwj joins and flags are single tokens") {
  const std::string family = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // 👩‍👩‍👧
  const std::string thumb = "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD";                                         // 👍🏽
  const std::string us = "\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8", gb = "\xF0\x9F\x87\xAC\xF0\x9F\x87\xA7";   // 🇺🇸 🇬🇧
  const std::string scotland = "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xB3"
                               "\xF3\xA0\x81\xA3\xF3\xA0\x81\xB4\xF3\xA0\x81\xBF";
  const std::string joy = "\xF0\x9F\x98\x82";  // 😂
  CHECK(toks(family + " family " + thumb + " " + us + gb + " " + scotland + " " + joy + joy) ==
        family + " | family | " + thumb + " | " + us + " | " + gb + " | " + scotland + " | " + joy + " | " + joy);
  CHECK(classes(family + " " + thumb + " " + us + " " + scotland) == "emoji-sequence emoji-sequence flag flag");
  // A skin tone after a space joins the space, as in NLTK (its pattern starts with '.').
  CHECK(toks("hello \xF0\x9F\x8F\xBB x") == "hello |  \xF0\x9F\x8F\xBB | x");
}

TEST_CASE("tokenizer: elongations shrink to three and punctuation runs split") {
  CHECK(toks("heyyyyyy!!!!! ...") == "heyyy | ! | ! | ! | ...");
  CHECK(toks("COOOOL ?????") == "coool | ? | ? | ?");
  // Without reduce_len the word keeps its length, but NLTK still cuts 4+ punctuation to 3.
  CHECK(toks("heyyyyyy!!!!! ...", cased_unreduced()) == "heyyyyyy | ! | ! | ! | ...");
  CHECK(loom::data::unicode::encode_utf8(loom::data::reduce_lengthening(U"aaaa\n\n\n\nbb")) == "aaa\n\n\n\nbb");
  CHECK(loom::data::unicode::encode_utf8(loom::data::shorten_runs(U"aaaa!!!!\n\n\n\n")) == "aaaa!!!\n\n\n");
}

TEST_CASE("tokenizer: apostrophes dashes and the letter-digit quirk") {
  // Only the ASCII apostrophe joins words; the compound class needs a letter at both ends, so
  // "abc1" splits while "ab1" (too short for it) stays one word.
  CHECK(toks("don't don\xE2\x80\x99t well-known _a_ abc1 ab1") ==
        "don't | don | \xE2\x80\x99 | t | well-known | _a_ | abc | 1 | ab1");
  CHECK(classes("don't abc1 ab1") == "compound compound word word");
}

TEST_CASE("tokenizer: html entities are decoded with the nltk rules") {
  CHECK(toks("&lt;3 &amp; &quot;hi&quot; &apos;x &#128514; &#x1F602; &#150;") ==
        "<3 | & | \" | hi | \" | x | \xF0\x9F\x98\x82 | \xF0\x9F\x98\x82 | \xE2\x80\x93");
  const auto unescape = [](const std::u32string& s) {
    return loom::data::unicode::encode_utf8(loom::data::unescape_html_entities(s));
  };
  CHECK(unescape(U"&xa9;|&#X41;|&#+65;|&#x0x41;|&#-5;|&#129;|&;|&amp;amp;") == "\xC2\xA9||A|A|||&;|&amp;");
  CHECK(loom::data::html4_entity("amp") == '&');
  CHECK(loom::data::html4_entity("apos") == -1);  // not an HTML 4 entity
  CHECK(loom::data::html4_entity_count() == 252);
}

TEST_CASE("tokenizer: numbers phone numbers and ellipses") {
  CHECK(toks("3.14 1/2 -12:30 1,000+ +1 (555) 123-4567 1234567890") ==
        "3.14 | 1/2 | -12:30 | 1,000+ | +1 (555) 123-4567 | 12345678 | 90");
  CHECK(toks("wait... what . . . ok..") == "wait | ... | what | . . . | ok | ..");
  CHECK(classes("3.14 555-123-4567 ... x") == "number phone ellipsis word");
}

TEST_CASE("tokenizer: lowercasing follows python str.lower beyond ascii") {
  CHECK(toks("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3 \xC4\xB0stanbul CAF\xC3\x89 Stra\xC3\x9F" "e") ==
        "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82 | i\xCC\x87stanbul | caf\xC3\xA9 | stra\xC3\x9F" "e");  // final sigma
  CHECK(toks("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xC4\x80\xC5\xBD") ==  // Привет ĀŽ
        "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 | \xC4\x81\xC5\xBE");
  CHECK(toks("ΟΔΟΣ CAFÉ", cased_unreduced()) == "ΟΔΟΣ | CAFÉ");
  CHECK(loom::data::unicode::to_lower(U"\u03A3\u03A3") == U"\u03C3\u03C2");
  CHECK(loom::data::unicode::simple_lower(U'\u0130') == U'i');
}

TEST_CASE("tokenizer: whitespace kind splits on unicode whitespace") {
  CHECK(toks("Hello  WORLD\tfoo\xC2\xA0" "bar\n:D", kind(TokenizerKind::Whitespace)) == "hello | world | foo | bar | :d");
  TokenizerConfig keep = kind(TokenizerKind::Whitespace);
  keep.lowercase = false;
  keep.reduce_len = false;
  CHECK(toks("  Soooo GOOD  ", keep) == "Soooo | GOOD");
  CHECK(toks("Soooo", kind(TokenizerKind::Whitespace)) == "sooo");
  CHECK(toks(" \t\n", kind(TokenizerKind::Whitespace)).empty());
}

TEST_CASE("tokenizer: char kind gives one token per code point") {
  CHECK(toks("Ab  \xC3\x89\xF0\x9F\x98\x82 ", kind(TokenizerKind::Char)) == "a | b |   | \xC3\xA9 | \xF0\x9F\x98\x82");
  CHECK(toks("!!!!!", kind(TokenizerKind::Char)) == "! | ! | !");
}

TEST_CASE("tokenizer: glove-twitter normalization uses the stanford tokens") {
  const TokenizerConfig glove = kind(TokenizerKind::Tweet, Normalize::GloveTwitter);
  CHECK(toks("@user I LOVE this sooooo much!!! http://t.co/x", glove) ==
        "<user> | i | love | <allcaps> | this | so | <elong> | much | ! | <repeat> | <url>");
  CHECK(toks(":) :-D :( ): :P :/ <3 </3", glove) ==
        "<smile> | <smile> | <sadface> | <sadface> | <lolface> | <neutralface> | <heart> | </3");
  CHECK(toks("#ThisIsGreat #NLP #iPhone #NLProc", glove) ==
        "<hashtag> | this | is | great | <hashtag> | nlp | <allcaps> | <hashtag> | i | phone | <hashtag> | nl | proc");
  CHECK(toks("123 3.5 555-123-4567 2nd wait... ok ? !", glove) ==
        "<number> | <number> | <number> | 2nd | wait | . | <repeat> | ok | ? | <repeat>");
  // With whitespace tokens only what the tweet scanner reads as one token is replaced.
  CHECK(toks("@user COOL!!! http://t.co/x GREAT", kind(TokenizerKind::Whitespace, Normalize::GloveTwitter)) ==
        "<user> | cool!!! | <url> | great | <allcaps>");
  CHECK_THROWS_AS(toks("x", kind(TokenizerKind::Char, Normalize::GloveTwitter)), loom::Error);
}

TEST_CASE("tokenizer: names parse and unknown ones list the valid names") {
  CHECK(loom::data::parse_tokenizer_kind("whitespace") == TokenizerKind::Whitespace);
  CHECK(loom::data::parse_normalize("glove-twitter") == Normalize::GloveTwitter);
  CHECK(std::string(loom::data::to_string(TokenizerKind::Char)) == "char");
  CHECK(std::string(loom::data::to_string(Normalize::None)) == "none");
  for (const char* name : {"tweet", "whitespace", "char"}) {
    CHECK(std::string(loom::data::to_string(loom::data::parse_tokenizer_kind(name))) == name);
  }
  CHECK_THROWS_WITH_AS(loom::data::parse_tokenizer_kind("nltk"),
                       doctest::Contains("unknown tokenizer 'nltk' (valid: tweet, whitespace, char)"), loom::Error);
  CHECK_THROWS_WITH_AS(loom::data::parse_normalize("glove"),
                       doctest::Contains("(valid: none, glove-twitter)"), loom::Error);
}

TEST_CASE("tokenizer: config json round trip and malformed configs") {
  TokenizerConfig c;
  c.kind = TokenizerKind::Whitespace;
  c.normalize = Normalize::GloveTwitter;
  c.lowercase = false;
  c.reduce_len = false;
  const nlohmann::json j = loom::data::to_json(c);
  CHECK(j.dump() == R"({"kind":"whitespace","lowercase":false,"normalize":"glove-twitter","reduce_len":false})");
  const TokenizerConfig back = loom::data::tokenizer_config_from_json(nlohmann::json::parse(j.dump()));
  CHECK(back.kind == c.kind);
  CHECK(back.normalize == c.normalize);
  CHECK(back.lowercase == c.lowercase);
  CHECK(back.reduce_len == c.reduce_len);
  // Absent optional keys take the defaults.
  const TokenizerConfig minimal = loom::data::tokenizer_config_from_json({{"kind", "char"}});
  CHECK(minimal.kind == TokenizerKind::Char);
  CHECK(minimal.normalize == Normalize::None);
  CHECK(minimal.lowercase);
  CHECK(minimal.reduce_len);
  using loom::CheckpointError;
  using loom::data::tokenizer_config_from_json;
  CHECK_THROWS_WITH_AS(tokenizer_config_from_json({{"normalize", "none"}}), doctest::Contains("missing \"kind\""),
                       CheckpointError);
  CHECK_THROWS_WITH_AS(tokenizer_config_from_json({{"kind", "bpe"}}), doctest::Contains("unknown tokenizer 'bpe'"),
                       CheckpointError);
  CHECK_THROWS_WITH_AS(tokenizer_config_from_json({{"kind", "tweet"}, {"lowercase", "yes"}}),
                       doctest::Contains("\"lowercase\" must be true or false"), CheckpointError);
  CHECK_THROWS_WITH_AS(tokenizer_config_from_json({{"kind", "tweet"}, {"stem", true}}),
                       doctest::Contains("unknown key \"stem\""), CheckpointError);
  CHECK_THROWS_WITH_AS(tokenizer_config_from_json({{"kind", "char"}, {"normalize", "glove-twitter"}}),
                       doctest::Contains("needs word tokens"), CheckpointError);
  CHECK_THROWS_AS(tokenizer_config_from_json(nlohmann::json::array()), CheckpointError);
}

TEST_CASE("tokenizer: invalid utf-8 and empty text do not break the scanner") {
  CHECK(toks("").empty());
  CHECK(toks("   ").empty());
  CHECK(toks("ok \xFF\xC3 bad") == "ok | \xEF\xBF\xBD | \xEF\xBF\xBD | bad");  // each bad byte -> U+FFFD
  // Long texts without spaces stay linear: NLTK's regex (and a naive scanner) rescans such runs
  // from every position. Quadratic work on these would take seconds, not milliseconds.
  const auto start = std::chrono::steady_clock::now();
  std::string parens = "http://x.co/", chain, tags;
  for (int i = 0; i < 20000; ++i) parens += "(a";  // alternating: NLTK cuts runs of one character
  for (int i = 0; i < 20000; ++i) parens += "a)";
  for (int i = 0; i < 20000; ++i) chain += "a.";
  for (int i = 0; i < 20000; ++i) tags += "<a";
  CHECK(loom::data::tokenize(parens, {}).size() == 39998);  // as NLTK for smaller sizes: 2n - 2
  CHECK(loom::data::tokenize(chain, {}).size() == 40000);
  CHECK(loom::data::tokenize(tags, {}).size() == 40000);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < loom::testing::wall_bound(2.0));
}
