// models/model_config.h: what describes a classifier: its architecture, sizes and init
// (ModelConfig, saved in the run's config.json), the JSON round trip with its validation, and the
// named presets. The models are models/text_classifier.h (the six text architectures),
// models/hybrid.h and models/meta_mlp.h (account metadata); models/factory.h builds one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/impl.h"
#include "ops/lstm.h"

namespace loom::models {

enum class Arch { Bow, Cnn, Lstm, Bilstm, CnnLstm, LstmCnn, Hybrid, MetaMlp, FastText };
// "bow"|"cnn"|"lstm"|"bilstm"|"cnn-lstm"|"lstm-cnn"|"hybrid"|"meta-mlp"|"fasttext"; Error otherwise
Arch parse_arch(const std::string& name);
// The seven that read text only (TextClassifier); hybrid and meta-mlp read account metadata.
bool is_text_arch(Arch arch);
const char* arch_name(Arch arch);

// Parameter initialization. Torch: PyTorch's defaults (Embedding N(0, 1); Linear and Conv1d
// U(+-1/sqrt(fan_in)); LSTM U(+-1/sqrt(H))). Keras: Keras' defaults for the Keras presets
// (Embedding U(+-0.05); Dense Glorot-uniform, zero bias; LSTM Glorot / orthogonal / forget bias 1);
// convolutions keep PyTorch's init under both.
enum class Init { Torch, Keras };
Init parse_init(const std::string& name);  // "torch" | "keras"
const char* init_name(Init init);

struct ModelConfig {
  Arch arch = Arch::LstmCnn;
  std::int64_t vocab_size = 0;  // V, including <pad> = 0 and <unk> = 1
  std::int64_t embed_dim = 128;  // E
  std::int64_t hidden = 128;     // H per direction (lstm, bilstm, cnn-lstm, lstm-cnn)
  int layers = 1;                // stacked LSTM layers
  float dropout = 0.5f;          // before the head, and between LSTM layers (not used by bow)
  std::int64_t num_outputs = 1;  // K logits
  std::vector<std::int64_t> widths{3, 4, 5};  // conv widths (cnn, lstm-cnn: all; cnn-lstm: the first)
  std::int64_t filters = 100;    // F per width
  // hybrid and meta-mlp (models/hybrid.h, models/meta_mlp.h); to_json writes these four only for
  // those two (and from_json requires them there and refuses them elsewhere), so a text model's
  // config.json is unchanged. meta-mlp ignores text_arch and fuse_hidden (kept valid all the same)
  // and every text field (vocab_size may be 0: it reads no tokens).
  Arch text_arch = Arch::Lstm;     // hybrid: the text encoder (--text-arch; one of the six text archs)
  std::int64_t meta_features = 0;  // F_meta: raw metadata features per example (the data's MetaSchema size)
  std::int64_t meta_hidden = 64;   // --meta-hidden: the metadata tower's width
  std::int64_t fuse_hidden = 64;   // --fuse-hidden: hybrid's dense layer after the concatenation
  // --meta-encoding: "standardize" (the features as the scaler leaves them) or "ple" (piecewise-
  // linear encoding of each standardized feature over meta_bins quantile bins of the training
  // split; models/meta_mlp.h). to_json writes both only for "ple", so older configs are unchanged.
  std::string meta_encoding = "standardize";
  std::int64_t meta_bins = 8;      // --meta-bins: PLE bins per feature (at most; equal edges merge)
  // --text-dropout (hybrid): modality dropout, the probability that training zeroes an example's
  // whole text vector (models/hybrid.h). to_json writes it only when > 0.
  float text_dropout = 0.0f;
  // fasttext (models/fasttext.h, data/ngrams.h): hashed word n-grams up to word_ngrams and
  // character n-grams of char_min..char_max code points share ngram_buckets embedding rows after
  // the vocabulary's. to_json writes the four only for fasttext and for a hybrid whose text_arch is
  // fasttext (from_json requires them there and refuses them elsewhere). ngram_buckets is 0 when
  // nothing is hashed (word_ngrams 1, no chars).
  std::int64_t word_ngrams = 1;
  std::int64_t ngram_buckets = 0;
  std::int64_t char_min = 0;
  std::int64_t char_max = 0;
  std::string preset;            // the preset this came from ("" if none), for the record
  Init init = Init::Torch;

  // Run-time choices, NOT saved in to_json(): a model trained with --impl cuda must load on a
  // machine without a GPU. from_json() leaves them at Auto.
  ops::LstmSeqOptions lstm_impl;
  Impl conv_impl = Impl::Auto;

  // Throws loom::Error naming the first field out of range.
  void validate() const;
  // The length of the feature vector the head reads (D in head.weight [K, D]): hybrid fuse_hidden,
  // meta-mlp meta_hidden.
  std::int64_t feature_size() const;
  // Rows of the embedding table: vocab_size, plus ngram_buckets for fasttext.
  std::int64_t embedding_rows() const;
  // fasttext, alone or as the hybrid's text branch: reads hashed n-gram ids after the words.
  bool hashes_ngrams() const { return arch == Arch::FastText || (arch == Arch::Hybrid && text_arch == Arch::FastText); }
  // One line for logs: "lstm-cnn: embed 128, lstm 1x128, convs 3,4,5 x 100, dropout 0.5, 1 output,
  // init torch"; "hybrid: text lstm (embed 128, lstm 1x128) + meta 21 -> 64, fuse 64, dropout 0.5,
  // 1 output, init torch"; "meta-mlp: meta 21 -> 64, dropout 0.5, 1 output, init torch".
  std::string summary() const;

  nlohmann::json to_json() const;
  // Every field of to_json() is required (preset and init default to "" and "torch"); a missing,
  // mistyped, out-of-range or unknown field throws CheckpointError naming it.
  static ModelConfig from_json(const nlohmann::json& j);
};

// Named presets for familiar baselines (vocab_size and num_outputs left for the data to fill):
//   "bilstm-imdb": the Keras BiLSTM text example (keras-io examples/nlp/bidirectional_lstm_imdb.py):
//                  Embedding(V, 128) -> BiLSTM(64, return_sequences) -> BiLSTM(64) -> Dense,
//                  no dropout, Keras init.
//   "cnn-kim":     Kim (2014) CNN-rand: embed 300, widths 3, 4, 5 x 100 filters, ReLU, max over
//                  time, dropout 0.5, PyTorch init.
// Unknown names throw loom::Error listing the presets.
ModelConfig preset(const std::string& name);
std::vector<std::string> preset_names();
bool is_preset(const std::string& name);

}  // namespace loom::models
