// tools/embed.cc: `loom embed`: word vectors from unlabeled tweets, for `loom train --embeddings`.
//
//   loom embed --input a.csv [--input b.csv ...] --text-col text --output vectors.vec
//              [--dim 100 --window 5 --negative 5 --min-count 5 --epochs 5 --lr 0.025
//               --subsample 1e-4 --threads 1 --seed 1 --tokenizer tweet --normalize none --max-vocab 0]
//
// The text of every --input's column is tokenized exactly as loom train tokenizes it (same
// --tokenizer and --normalize, lowercased, runs cut to 3), so the words of the .vec are the tokens
// a model's vocabulary holds. Training is train/word2vec.h's skip-gram with negative sampling.
// --threads 1 (the default) gives the same bytes for the same seed; more threads are faster and
// not bitwise repeatable (Hogwild). Malformed CSV rows are skipped and counted, not fatal: this is
// unlabeled text, and one broken row should not cost the other 400k.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iomanip>
#include <memory>
#include <sstream>

#include "core/error.h"
#include "core/parallel.h"
#include "data/csv.h"
#include "data/tokenizer.h"
#include "tools/commands.h"
#include "train/word2vec.h"

namespace loom::tools {

namespace {

struct EmbedOptions {
  std::vector<std::string> inputs;
  std::string text_col = "text", output, tokenizer = "tweet", normalize = "none";
  std::vector<std::string> show;  // words whose nearest neighbours are printed at the end
  train::Word2VecOptions w2v;
};

// Every text of every input, in order; counts what was read and skipped.
std::vector<std::string> read_texts(const EmbedOptions& o, std::ostream& out) {
  std::vector<std::string> texts;
  for (const auto& path : o.inputs) {
    data::SkipLog skipped;
    const data::CsvTable t = data::read_csv(path, {}, &skipped);
    const std::int64_t col = data::find_column(t.header, o.text_col);
    if (col < 0)
      LOOM_THROW(DataError, path, ": no column '", o.text_col, "' (columns: ", data::join_names(t.header),
                 "); choose one with --text-col");
    for (const auto& r : t.records) texts.push_back(r.fields[static_cast<std::size_t>(col)]);
    out << "embed: " << path << ": " << t.records.size() << " texts";
    if (skipped.count > 0)
      out << ", " << skipped.count << " malformed rows skipped (first: "
          << (skipped.examples.empty() ? std::string("?") : skipped.examples.front()) << ")";
    out << "\n" << std::flush;
  }
  return texts;
}

int run_embed(const EmbedOptions& o, std::ostream& out) {
  data::TokenizerConfig tok;
  tok.kind = data::parse_tokenizer_kind(o.tokenizer);
  tok.normalize = data::parse_normalize(o.normalize);
  data::validate(tok);
  const std::vector<std::string> texts = read_texts(o, out);
  const auto n = static_cast<std::int64_t>(texts.size());
  std::vector<std::vector<std::string>> docs(static_cast<std::size_t>(n));
  // Each text is independent, so the tokens are the same for any thread count.
#pragma omp parallel for schedule(dynamic, 256) num_threads(loom::num_threads()) if (n > 2048)
  for (std::int64_t i = 0; i < n; ++i)
    docs[static_cast<std::size_t>(i)] = data::tokenize(texts[static_cast<std::size_t>(i)], tok);

  train::Word2VecStats st;
  const train::Word2VecModel m = train::train_word2vec(docs, o.w2v, &st, &out);
  train::write_vec(o.output, m);
  std::ostringstream os;
  os << std::fixed << std::setprecision(0) << "embed: " << st.documents << " texts, " << st.corpus_tokens
     << " tokens (" << st.vocab_tokens << " in the vocabulary); vocabulary " << m.vocab.words.size()
     << " words (min-count " << o.w2v.min_count << "); " << st.trained_words << " words trained after subsampling; "
     << st.words_per_second << " words/s over " << std::setprecision(1) << st.seconds << " s with " << o.w2v.threads
     << (o.w2v.threads == 1 ? " thread" : " threads (not bitwise repeatable)") << "\n";
  os << "embed: wrote " << o.output << " (" << m.vocab.words.size() << " x " << m.dim << ", word2vec text)\n";
  for (const auto& w : o.show) {
    const auto near = train::nearest_words(m, w, 8);
    os << "embed: nearest to '" << w << "':";
    if (near.empty()) os << " (not in the vocabulary)";
    for (const auto& [word, cos] : near) os << ' ' << word << " (" << std::setprecision(2) << cos << ")";
    os << "\n";
  }
  out << os.str();
  return 0;
}

}  // namespace

CommandRunner add_embed_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  (void)err;
  auto o = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "embed", "Train word vectors (word2vec skip-gram, negative sampling) on unlabeled tweets, for --embeddings");
  cmd->option_defaults()->always_capture_default(true);
  train::Word2VecOptions& w = o->w2v;
  cmd->add_option("--input", o->inputs, "CSV file of tweets (repeat for more files)")->required();
  cmd->add_option("--text-col", o->text_col, "Column holding the text (in every input)");
  cmd->add_option("--output", o->output, "Where the word2vec text vectors go (.vec, written atomically)")->required();
  cmd->add_option("--dim", w.dim, "Vector width (loom train --embed-dim must match)")->check(CLI::Range(1, 4096));
  cmd->add_option("--window", w.window, "Widest context, words each side")->check(CLI::Range(1, 100));
  cmd->add_option("--negative", w.negative, "Noise words per pair")->check(CLI::Range(1, 100));
  cmd->add_option("--min-count", w.min_count, "Drop words seen fewer times")->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  cmd->add_option("--max-vocab", w.max_vocab, "Keep only the most frequent words (0 = no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--epochs", w.epochs, "Passes over the text")->check(CLI::Range(1, 1000));
  cmd->add_option("--lr", w.lr, "Starting learning rate (falls linearly to lr * 1e-4)")->check(CLI::Range(1e-9, 10.0));
  cmd->add_option("--subsample", w.subsample, "Frequent-word subsampling threshold t (0 = keep all)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--threads", w.threads, "Training threads; above 1 the result is not bitwise repeatable")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--seed", w.seed, "The same seed, input and --threads 1 give the same bytes");
  cmd->add_option("--tokenizer", o->tokenizer, "As loom train: tweet, whitespace or char")
      ->check(CLI::IsMember({"tweet", "whitespace", "char"}));
  cmd->add_option("--normalize", o->normalize, "As loom train: none or glove-twitter")
      ->check(CLI::IsMember({"none", "glove-twitter"}));
  cmd->add_option("--show", o->show, "Print the nearest neighbours of these words (comma-separated)")->delimiter(',');
  return [o, &out] { return run_embed(*o, out); };
}

}  // namespace loom::tools
