// data/synthetic.h: the bundled synthetic tweet-like sentiment corpus (the README's main job).
//
// No real tweet corpus may be redistributed in the repository, so `loom synth` writes this one.
// It is built so that the README's comparison means something:
// - the label depends on word order: negation ("the movie is not good"), double negation
//   ("it's not like the movie isn't good"), contrast (in "X but Y" and "although X, Y" the last
//   clause decides, and X always has the opposite polarity). Every sentiment word appears about
//   as often in both classes' negated and contrasted tweets, so a bag-of-words model cannot
//   separate those and stays clearly below the sequence models;
// - tweet decorations (emoji incl. ZWJ and skin-tone sequences, emoticons, #hashtags, @mentions,
//   URLs, elongations like "soooo", misspellings, stray capitals) are drawn independently of the
//   label, so they exercise the tokenizer but carry no label information;
// - about 3% of the labels are flipped at random, so no model reaches 100%.
// Everything comes from Philox (core/random.h): row i of seed s is a pure function of (s, i), the
// same on every machine and standard library (std:: distributions are not portable).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loom::data {

// Label 0 and 1 of the corpus (the CSV holds the names; the dataset loader sorts them this way).
extern const char* const kSyntheticLabels[2];  // "negative", "positive"

struct SyntheticTweet {
  std::string text;
  int label = 0;        // as written to the CSV (after label noise)
  int clean_label = 0;  // what the sentence says
  std::string kind;     // "plain", "negated", "double_negation" or "contrast"
};

// Row `index` of the corpus for `seed`. Rows 2j and 2j+1 have opposite clean labels, so any
// even-length run of rows is exactly balanced before noise.
SyntheticTweet synthetic_tweet(std::uint64_t seed, std::int64_t index);

// The probability that a label is flipped.
constexpr double kSyntheticLabelNoise = 0.03;

// One clause drawn as for the corpus, rendered twice: as is and negated (a negator inserted,
// "is" -> "isn't" and the like), with the same decorations. The two labels always differ: the
// structural check that the labels depend on more than the bag of words.
struct NegationTwins {
  std::string plain, negated;
  int plain_label = 0, negated_label = 0;
};
NegationTwins synthetic_negation_twins(std::uint64_t seed, std::int64_t index);

// Words that negate in the generator's sentences ("not", "never", "isn't", "don't" ...).
const std::vector<std::string>& synthetic_negators();

// About ten hand-written tweets in the corpus's style, one of each phenomenon, for `predict`.
const std::vector<std::string>& synthetic_unlabeled_examples();

// Writes DIR/train.csv (the first 80% of the rows, rounded down to even) and DIR/test.csv (the
// rest), columns id,label,text with labels "negative"/"positive", and DIR/unlabeled.csv (id,text;
// the examples above). Creates DIR if needed; files are written atomically. n_rows >= 10.
void write_synthetic_corpus(const std::string& dir, std::int64_t n_rows, std::uint64_t seed);

}  // namespace loom::data
