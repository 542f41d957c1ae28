// data/synthetic.cc: the synthetic tweet corpus generator (what and why: synthetic.h).
//
// Each row draws from its own block of one Philox stream, so rows are independent of each other
// and of the row count: the 20,000-row corpus starts with the 1,000-row one.
#include "data/synthetic.h"

#include "data/csv.h"

#include <cctype>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "io/atomic_file.h"
#include "core/philox.h"

namespace loom::data {

const char* const kSyntheticLabels[2] = {"negative", "positive"};

namespace {

// Streams are told apart by the Philox key: rows use `seed`, the per-pair label order and the
// negation twins use the seed xored with these constants (arbitrary odd 64-bit values).
constexpr std::uint64_t kPairKey = 0x5bd1e9955bd1e995ULL;
constexpr std::uint64_t kTwinKey = 0x2545f4914f6cdd1dULL;
constexpr std::uint64_t kWordsPerRow = 1024;  // a tweet uses ~40; the check below enforces the bound

// A row's random numbers: words base, base+1, ... of stream `seed`.
class Draws {
 public:
  Draws(std::uint64_t seed, std::uint64_t base) : seed_(seed), base_(base) {}
  std::uint32_t word() {
    LOOM_CHECK(used_ < kWordsPerRow, "synthetic: a row used more than ", kWordsPerRow, " random numbers");
    return philox_word(seed_, base_ + used_++);
  }
  // Uniform in [0, n): the high half of word * n (Lemire's multiply, without the rejection step;
  // its bias is below n / 2^32, far too small to matter here and the same everywhere).
  std::size_t below(std::size_t n) { return static_cast<std::size_t>((static_cast<std::uint64_t>(word()) * n) >> 32); }
  bool chance(double p) { return static_cast<double>(word()) < p * 4294967296.0; }
  template <std::size_t N>
  const char* pick(const char* const (&list)[N]) { return list[below(N)]; }

 private:
  std::uint64_t seed_, base_, used_ = 0;
};

// ---- vocabulary ------------------------------------------------------------------------------------
// Sentiment words, index [polarity]: 0 negative, 1 positive. The same number of each, so neither
// class has a richer vocabulary a bag of words could key on.
const char* const kAdjectives[2][14] = {
    {"bad", "terrible", "awful", "boring", "horrible", "annoying", "disappointing", "lame", "ugly",
     "painful", "mediocre", "useless", "dull", "gross"},
    {"good", "great", "amazing", "awesome", "fun", "nice", "perfect", "excellent", "brilliant",
     "fantastic", "lovely", "wonderful", "cool", "beautiful"}};
const char* const kVerbs[2][4] = {{"hate", "dislike", "despise", "detest"}, {"love", "like", "enjoy", "adore"}};
const char* const kSubjects[] = {
    "the movie", "this phone", "the new album", "my coffee", "the game last night", "the service",
    "this update", "the weather", "the concert", "her new song", "the pizza", "this book", "the trailer",
    "my commute", "the hotel", "the season finale", "the app", "the food here", "the show", "this week",
    "the new iphone", "the traffic", "the sequel", "this playlist", "the match", "my new laptop",
    "the ending", "the wifi", "this city", "the podcast"};
const char* const kAdjIntensifiers[] = {"so", "really", "very", "super", "totally", "extremely", "pretty", "kinda"};
const char* const kVerbIntensifiers[] = {"really", "totally", "honestly", "absolutely"};
// Outer negations; each wraps an already negated clause, so the two negations cancel.
const char* const kOuterNegations[] = {"it's not like", "i can't say", "no way", "nobody thinks"};
const char* const kContrasts[] = {" but ", ", but ", " but honestly ", " but then "};
// Decorations: chosen independently of the label (see synthetic.h).
const char* const kNames[] = {"maria_k", "jdawg", "sam", "techguy", "lucy_in_sf", "bigmike", "ana", "theo_r",
                              "kpopfan", "newsbot", "coach_d", "mel"};
const char* const kFillers[] = {"honestly", "ok so", "tbh", "lol", "omg", "well", "just saying", "update:"};
const char* const kPunctuation[] = {"!", "!!", "!!!", ".", "...", "?!"};
const char* const kEmoticons[] = {":)", ":(", ":D", ";)", ":P", ":/", "xD", "<3", ":-)", ":'("};
const char* const kEmoji[] = {"\xF0\x9F\x93\xB1",                          // mobile phone
                              "\xF0\x9F\x8E\xAC",                          // clapper board
                              "\xF0\x9F\x8D\x95",                          // pizza
                              "\xE2\x98\x95",                              // hot beverage
                              "\xF0\x9F\x8E\xAE",                          // video game
                              "\xF0\x9F\x8E\xB5",                          // musical note
                              "\xE2\x9A\xBD",                              // soccer ball
                              "\xF0\x9F\x91\x80",                          // eyes
                              "\xF0\x9F\xA4\x94",                          // thinking face
                              "\xF0\x9F\x99\x83",                          // upside-down face
                              "\xF0\x9F\x98\x82",                          // tears of joy
                              "\xF0\x9F\x98\xAD",                          // loudly crying
                              "\xF0\x9F\xA4\xB7\xE2\x80\x8D\xE2\x99\x80\xEF\xB8\x8F",  // shrug, ZWJ sequence
                              "\xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD"};         // waving hand, skin tone
const char* const kHashtags[] = {"#mondaymood", "#tbt", "#nofilter", "#movies", "#music", "#foodie", "#tech",
                                 "#life", "#weekend", "#gaming", "#travel", "#sports", "#mood", "#random"};

// Misspellings seen in real tweets; applied to a word with a small probability.
struct Misspelling {
  const char* word;
  const char* typo;
};
const Misspelling kMisspellings[] = {
    {"great", "gr8"},          {"amazing", "amazin"},     {"awesome", "awsome"},
    {"terrible", "terible"},   {"horrible", "horible"},   {"boring", "borin"},
    {"disappointing", "dissapointing"}, {"beautiful", "beautifull"}, {"excellent", "excelent"},
    {"annoying", "anoying"},   {"wonderful", "wonderfull"}, {"love", "luv"},
    {"hate", "h8"},            {"really", "realy"},       {"the", "teh"}};

const std::vector<std::string> kNegatorList = {"not", "never", "isn't", "wasn't", "don't", "didn't",
                                               "can't", "no", "nobody"};

// "good" -> "goooood": the last vowel repeated, as tweets shout (the tokenizer's reduce_len
// shortens runs to three, so these still meet the plain word's neighbours in the vocabulary).
std::string elongate(const std::string& w, std::size_t extra) {
  const auto pos = w.find_last_of("aeiouy");
  if (pos == std::string::npos) return w;
  return w.substr(0, pos + 1) + std::string(extra, w[pos]) + w.substr(pos + 1);
}

std::string misspell(const std::string& w) {
  for (const Misspelling& m : kMisspellings)
    if (w == m.word) return m.typo;
  return w;
}

// A word as a tweet might write it: usually as is, sometimes elongated, misspelled or shouted.
std::string decorate_word(Draws& d, const std::string& w) {
  const std::size_t r = d.below(100);
  if (r < 7) return elongate(w, 2 + d.below(4));
  if (r < 13) return misspell(w);
  if (r < 16) {
    std::string up = w;
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return up;
  }
  return w;
}

// One clause, drawn once and renderable plain or negated (so negation twins share every word).
struct Clause {
  bool verb_form = false;  // "i love the movie" rather than "the movie is good"
  int polarity = 0;        // of the sentiment word
  std::string subject, word, intensifier;
  bool past = false;
  std::size_t neg_style = 0;
};

Clause draw_clause(Draws& d, int polarity) {
  Clause c;
  c.polarity = polarity;
  c.verb_form = d.chance(0.3);
  std::string subject = d.pick(kSubjects);
  if (d.chance(0.03) && subject.rfind("the ", 0) == 0) subject = "teh" + subject.substr(3);
  c.subject = subject;
  c.word = decorate_word(d, c.verb_form ? d.pick(kVerbs[polarity]) : d.pick(kAdjectives[polarity]));
  if (d.chance(0.35)) {
    c.intensifier = c.verb_form ? d.pick(kVerbIntensifiers) : d.pick(kAdjIntensifiers);
    if (c.intensifier == "so" && d.chance(0.3)) c.intensifier = elongate("so", 2 + d.below(3));
    else if (c.intensifier == "really" && d.chance(0.1)) c.intensifier = "realy";
  }
  c.past = d.chance(0.4);
  c.neg_style = d.below(4);
  return c;
}

// The clause's text; negation inserts a negator (or contracts the copula) and nothing else.
std::string render(const Clause& c, bool negated) {
  const std::string intens = c.intensifier.empty() ? "" : c.intensifier + " ";
  if (c.verb_form) {
    static const char* const kVerbNeg[] = {"don't ", "do not ", "never ", "didn't "};
    return "i " + std::string(negated ? kVerbNeg[c.neg_style] : "") + intens + c.word + " " + c.subject;
  }
  const std::string copula = c.past ? "was" : "is";
  if (!negated) return c.subject + " " + copula + " " + intens + c.word;
  switch (c.neg_style) {
    case 0: return c.subject + " " + copula + " not " + intens + c.word;
    case 1: return c.subject + " " + copula + " never " + intens + c.word;
    case 2: return c.subject + " " + copula + "n't " + intens + c.word;
    default: return c.subject + " " + copula + " not " + intens + c.word + " at all";
  }
}

// Decorations around the body, drawn independently of the label.
struct Frame {
  std::string prefix, suffix;
  bool capitalize = false;
};

Frame draw_frame(Draws& d) {
  Frame f;
  if (d.chance(0.25)) {
    f.prefix += "@" + std::string(d.pick(kNames));
    if (d.chance(0.4)) f.prefix += std::to_string(10 + d.below(90));
    f.prefix += " ";
  }
  if (d.chance(0.15)) f.prefix += std::string(d.pick(kFillers)) + " ";
  if (d.chance(0.3)) f.suffix += d.pick(kPunctuation);
  if (d.chance(0.15)) f.suffix += " " + std::string(d.pick(kEmoticons));
  if (d.chance(0.3)) {
    f.suffix += " ";
    const char* e = d.pick(kEmoji);
    for (std::size_t n = 1 + d.below(3); n > 0; --n) f.suffix += e;
  }
  if (d.chance(0.25)) {
    for (std::size_t n = 1 + d.below(2); n > 0; --n) f.suffix += " " + std::string(d.pick(kHashtags));
  }
  if (d.chance(0.12)) {
    static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    f.suffix += " https://t.co/";
    for (int i = 0; i < 10; ++i) f.suffix += kAlnum[d.below(sizeof kAlnum - 1)];
  }
  f.capitalize = d.chance(0.1);
  return f;
}

std::string framed(const Frame& f, const std::string& body) {
  std::string text = f.prefix + body + f.suffix;
  // Capitalize the first letter of the sentence (after an @mention it stays lowercase: rare).
  if (f.capitalize && !text.empty() && std::islower(static_cast<unsigned char>(text[0])))
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// RFC 4180 through the reader's own inverse (data/csv.h).
std::string csv_field(const std::string& s) { return quote_csv_field(s); }

}  // namespace

SyntheticTweet synthetic_tweet(std::uint64_t seed, std::int64_t index) {
  LOOM_CHECK(index >= 0, "synthetic_tweet: negative index ", index);
  const auto i = static_cast<std::uint64_t>(index);
  // Rows 2j and 2j+1 take the two labels in an order drawn per pair: exact balance, random order.
  const int pair_bit = static_cast<int>(philox_word(seed ^ kPairKey, i / 2) & 1u);
  const int y = static_cast<int>(i & 1u) ^ pair_bit;
  Draws d(seed, i * kWordsPerRow);
  SyntheticTweet t;
  t.clean_label = y;
  std::string body;
  const std::size_t r = d.below(100);
  if (r < 35) {
    t.kind = "plain";
    body = render(draw_clause(d, y), false);
  } else if (r < 60) {
    t.kind = "negated";
    body = render(draw_clause(d, 1 - y), true);
  } else if (r < 70) {
    t.kind = "double_negation";
    const std::string outer = d.pick(kOuterNegations);
    body = outer + " " + render(draw_clause(d, y), true);
  } else {
    // The last clause decides and the first one always says the opposite; each may be negated
    // (40%), so the sentiment words themselves are split evenly between the classes.
    t.kind = "contrast";
    const bool neg2 = d.chance(0.4), neg1 = d.chance(0.4);
    const Clause c2 = draw_clause(d, y ^ static_cast<int>(neg2));
    const Clause c1 = draw_clause(d, (1 - y) ^ static_cast<int>(neg1));
    if (d.chance(0.2)) body = "although " + render(c1, neg1) + ", " + render(c2, neg2);
    else body = render(c1, neg1) + d.pick(kContrasts) + render(c2, neg2);
  }
  t.text = framed(draw_frame(d), body);
  t.label = d.chance(kSyntheticLabelNoise) ? 1 - y : y;
  return t;
}

NegationTwins synthetic_negation_twins(std::uint64_t seed, std::int64_t index) {
  LOOM_CHECK(index >= 0, "synthetic_negation_twins: negative index ", index);
  Draws d(seed ^ kTwinKey, static_cast<std::uint64_t>(index) * kWordsPerRow);
  const int polarity = static_cast<int>(d.below(2));
  const Clause c = draw_clause(d, polarity);
  const Frame f = draw_frame(d);
  NegationTwins t;
  t.plain = framed(f, render(c, false));
  t.negated = framed(f, render(c, true));
  t.plain_label = polarity;
  t.negated_label = 1 - polarity;
  return t;
}

const std::vector<std::string>& synthetic_negators() { return kNegatorList; }

const std::vector<std::string>& synthetic_unlabeled_examples() {
  static const std::vector<std::string> examples = {
      "@maria_k the concert was sooo good \xF0\x9F\x8E\xB5 #weekend",
      "this update is not good at all https://t.co/x7Qp2LmZ9a",
      "i don't hate the new album tbh",
      "the trailer was great but the movie is boring \xF0\x9F\x99\x83",
      "although the service was terrible, the food here is amazing :)",
      "it's not like the pizza isn't good lol",
      "honestly i really luv my new laptop!!!",
      "the weather is awful today \xF0\x9F\x98\xAD",
      "the hotel wasn't bad, but the wifi was useless #travel",
      "nobody thinks the season finale was not brilliant",
      "the match was never boring but the ending was disappointing",
  };
  return examples;
}

void write_synthetic_corpus(const std::string& dir, std::int64_t n_rows, std::uint64_t seed) {
  if (n_rows < 10) LOOM_THROW(DataError, "synthetic corpus: n_rows must be at least 10, got ", n_rows);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) LOOM_THROW(DataError, dir, ": cannot create the folder: ", ec.message());
  // Even, so both files are made of whole label pairs.
  const std::int64_t n_train = (n_rows * 8 / 10) & ~std::int64_t{1};
  std::string train = "id,label,text\n", test = "id,label,text\n";
  train.reserve(static_cast<std::size_t>(n_train) * 80);
  test.reserve(static_cast<std::size_t>(n_rows - n_train) * 80);
  for (std::int64_t i = 0; i < n_rows; ++i) {
    const SyntheticTweet t = synthetic_tweet(seed, i);
    std::string& out = i < n_train ? train : test;
    out += std::to_string(i + 1) + "," + kSyntheticLabels[t.label] + "," + csv_field(t.text) + "\n";
  }
  std::string unlabeled = "id,text\n";
  const auto& examples = synthetic_unlabeled_examples();
  for (std::size_t i = 0; i < examples.size(); ++i) unlabeled += std::to_string(i + 1) + "," + csv_field(examples[i]) + "\n";
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  io::write_file_atomic(base + "train.csv", train);
  io::write_file_atomic(base + "test.csv", test);
  io::write_file_atomic(base + "unlabeled.csv", unlabeled);
}

}  // namespace loom::data
