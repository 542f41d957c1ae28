// models/text_classifier.h: what every tweet classifier shares: its configuration (saved in the
// model's JSON sidecar), the base class the trainer drives, the factory and the named presets.
//
//   tokens [T, B] I32 + lengths [B] I32 --(one architecture, models/<arch>.h)--> logits [B, K]
//
// K = num_outputs: 1 logit for a binary task, one per class (multi-class) or per label
// (multi-label); the losses live in the trainer. Every architecture is
//   embedding -> body -> (dropout) -> head,
// and its parameters carry exactly the names and layouts of the equivalent PyTorch module
// (tests/peers/torch_models.py builds it), so a loom state_dict loads with load_state_dict there:
//   embedding.weight [V, E]
//   lstm.weight_ih_l{k}[_reverse] [4H, C_k], lstm.weight_hh_l{k}[_reverse] [4H, H], lstm.bias_*  [4H]
//   convs.{i}.weight [F, C, K_i], convs.{i}.bias [F]   (cnn, lstm-cnn: one conv per width)
//   conv.weight [F, E, K], conv.bias [F]                (cnn-lstm: its single conv)
//   head.weight [K, D], head.bias [K]
// The choices the issue leaves open (padding, short rows, dropout placement, init) are explained
// once in models/README.md and in each architecture's file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/impl.h"
#include "ops/lstm.h"
#include "core/random.h"
#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace loom::models {

enum class Arch { Bow, Cnn, Lstm, Bilstm, CnnLstm, LstmCnn };
Arch parse_arch(const std::string& name);  // "bow"|"cnn"|"lstm"|"bilstm"|"cnn-lstm"|"lstm-cnn"; Error otherwise
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
  std::string preset;            // the preset this came from ("" if none), for the record
  Init init = Init::Torch;

  // Run-time choices, NOT saved in to_json(): a model trained with --impl cuda must load on a
  // machine without a GPU. from_json() leaves them at Auto.
  ops::LstmSeqOptions lstm_impl;
  Impl conv_impl = Impl::Auto;

  // Throws loom::Error naming the first field out of range.
  void validate() const;
  // The length of the feature vector the head reads (D in head.weight [K, D]).
  std::int64_t feature_size() const;
  // One line for logs: "lstm-cnn: embed 128, lstm 1x128, convs 3,4,5 x 100, dropout 0.5, 1 output".
  std::string summary() const;

  nlohmann::json to_json() const;
  // Every field of to_json() is required (preset and init default to "" and "torch"); a missing,
  // mistyped, out-of-range or unknown field throws CheckpointError naming it.
  static ModelConfig from_json(const nlohmann::json& j);
};

class TextClassifier : public layers::Module {
 public:
  TextClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype);

  // tokens [T, B] I32, lengths [B] I32 with 1 <= len_b <= T (on any device: the model copies them
  // to its own). Returns logits [B, num_outputs] on the model's device. Ids at t >= len_b are never
  // read (they are replaced by <pad>), so a row's logits do not depend on the padding or on the
  // other rows. Phase::Train enables dropout, whose masks come from `gen`.
  virtual Tensor forward(const Tensor& tokens, const Tensor& lengths, layers::Phase phase, Generator& gen) const = 0;

  // loom's layouts (conv weights [F, K, C]): what the optimizer updates.
  std::vector<layers::NamedTensor> named_parameters() const override;
  // PyTorch's layouts (conv weights [F, C, K]): what a checkpoint stores.
  std::vector<layers::NamedTensor> state_dict() const override;
  // Takes PyTorch's names and layouts (state_dict()); any float dtype, any device. Every name and
  // shape is checked before anything is copied (CheckpointError naming the tensor, expected versus
  // found, and listing missing and unexpected names), so a failed load leaves the model unchanged.
  virtual void load_state_dict(const std::vector<layers::NamedTensor>& tensors);

  Tensor embedding_weight() const { return embedding_.weight(); }  // [V, E], shares the parameter
  // --freeze-embeddings: the embedding table leaves trainable_parameters() and gets no gradient.
  void set_freeze_embeddings(bool frozen) { embedding_.set_frozen(frozen); }
  bool embeddings_frozen() const { return embedding_.frozen(); }
  // What the optimizer should update: parameters() without a frozen embedding table.
  std::vector<Tensor> trainable_parameters() const;
  std::int64_t num_parameters() const;

  const ModelConfig& config() const { return config_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

 protected:
  // The body's parameters (between embedding and head), with their full names ("lstm.*", ...).
  virtual std::vector<layers::NamedTensor> body_parameters() const = 0;

  // A batch made ready for the model's device.
  struct Inputs {
    Tensor tokens;          // [T', B] I32, T' = max(T, min_len); <pad> (0) wherever t >= len_b
    Tensor lengths;         // [B] I32, the rows' true lengths
    Tensor padded_lengths;  // [B] I32, max(len_b, min_len): a row shorter than the widest
                            // window is seen by the convolutions as padded with <pad> up to it
  };
  Inputs prepare(const Tensor& tokens, const Tensor& lengths, std::int64_t min_len) const;
  // dropout (training only) -> head: features [B, D] -> logits [B, K].
  Tensor head(const Tensor& features, layers::Phase phase, Generator& gen) const;
  Tensor embed(const Tensor& tokens) const { return embedding_.forward(tokens); }

  // Seeds for the sub-modules: independent Philox streams derived from the model's seed.
  static std::uint64_t sub_seed(std::uint64_t seed, std::uint64_t index);

  ModelConfig config_;
  Device device_;
  DType dtype_;
  layers::Embedding embedding_;
  layers::Linear head_;
};

// The architecture config.arch names, initialized from `seed` (the same seed gives the same
// weights on every device), parameters in `dtype` (F32; F64 for gradient checks) on `device`.
std::unique_ptr<TextClassifier> make_model(const ModelConfig& config, std::uint64_t seed, Device device,
                                           DType dtype = DType::F32);

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
