// tests/models/model_util.h: what the model tests share: tiny configs per architecture, random
// batches with mixed lengths (and garbage ids past each row's length, which the models must
// ignore), and one training step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/autograd.h"
#include "ops/loss.h"
#include "models/factory.h"
#include "models/model_config.h"
#include "models/text_classifier.h"
#include "tests/support/values.h"

namespace loom::test {

inline const std::vector<models::Arch>& all_archs() {
  static const std::vector<models::Arch> archs{models::Arch::Bow,    models::Arch::Cnn,     models::Arch::Lstm,
                                               models::Arch::Bilstm, models::Arch::CnnLstm, models::Arch::LstmCnn};
  return archs;
}

// Small enough for finite differences over every parameter, big enough that every stage has
// more than one of everything (two LSTM layers, two conv widths, several filters).
inline models::ModelConfig tiny_config(models::Arch arch, std::int64_t num_outputs = 1) {
  models::ModelConfig c;
  c.arch = arch;
  c.vocab_size = 11;
  c.embed_dim = 4;
  c.hidden = 3;
  c.layers = 2;
  c.dropout = 0.3f;
  c.num_outputs = num_outputs;
  c.widths = {2, 3};
  c.filters = 3;
  return c;
}

struct TokenBatch {
  Tensor tokens;   // [T, B] I32
  Tensor lengths;  // [B] I32
};

// Row b has lengths[b] real ids in [2, V) (never <pad> or <unk>, so a row's content is all
// real words) followed by `pad_id` up to T. pad_id != 0 puts garbage past the lengths.
inline TokenBatch make_batch(const std::vector<std::int32_t>& lengths, std::int64_t T, std::int64_t V,
                             std::uint64_t seed, std::int32_t pad_id = 0) {
  const std::int64_t B = static_cast<std::int64_t>(lengths.size());
  const std::vector<std::int32_t> ids = random_ints(T * B, seed, static_cast<std::int32_t>(V - 2));
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(T * B));
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t b = 0; b < B; ++b)
      tokens[t * B + b] = t < lengths[b] ? 2 + ids[t * B + b] : pad_id;
  return {Tensor::from_vector(tokens, {T, B}), Tensor::from_vector(lengths, {B})};
}

// Binary / multi-label targets [B, K] in {0, 1}.
inline Tensor random_targets(std::int64_t B, std::int64_t K, std::uint64_t seed, DType dtype = DType::F32) {
  const std::vector<std::int32_t> bits = random_ints(B * K, seed, 2);
  std::vector<double> v(bits.begin(), bits.end());
  return Tensor::from_vector(v, {B, K}, DType::F64).to(dtype);
}

// One recorded forward + BCE-with-logits + backward; returns the loss. Gradients accumulate in
// the parameters (zero them first).
inline double bce_step(const models::TextClassifier& m, const TokenBatch& batch, const Tensor& targets,
                       layers::Phase phase, Generator& gen) {
  Tape tape;
  Tensor loss;
  {
    auto rec = tape.record();
    loss = ops::bce_with_logits(m.forward(batch.tokens, batch.lengths, phase, gen), targets);
  }
  tape.backward(loss);
  return loss.item();
}

inline std::string arch_str(models::Arch a) { return models::arch_name(a); }

}  // namespace loom::test
