// layers/lstm.cc: the LSTM layer stack (see layers/lstm.h). Step 2 of the reading path
// (kernels/lstm/README.md): models/lstm.cc -> layers/lstm.cc -> ops/lstm.cc ->
// kernels/lstm/lstm_variants.h + lstm.h -> kernels/lstm/lstm_reference.cc (CPU) or
// kernels/lstm/lstm_cuda_time_loop.cu (GPU).
#include "layers/lstm.h"

#include <cmath>

#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace loom::layers {
namespace {

// Columns of a [rows, cols] matrix made orthonormal by modified Gram-Schmidt on a Gaussian draw,
// in double (rows >= cols). This is Keras' Orthogonal initializer for the transposed kernel.
Tensor orthogonal_columns(std::int64_t rows, std::int64_t cols, std::uint64_t seed, std::uint64_t offset) {
  std::vector<double> a = Tensor::normal({rows, cols}, 0.0f, 1.0f, seed, offset, DType::F64).to_vector_f64();
  for (std::int64_t j = 0; j < cols; ++j) {
    for (std::int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (std::int64_t r = 0; r < rows; ++r) dot += a[r * cols + j] * a[r * cols + k];
      for (std::int64_t r = 0; r < rows; ++r) a[r * cols + j] -= dot * a[r * cols + k];
    }
    double norm = 0;
    for (std::int64_t r = 0; r < rows; ++r) norm += a[r * cols + j] * a[r * cols + j];
    norm = std::sqrt(norm);
    for (std::int64_t r = 0; r < rows; ++r) a[r * cols + j] /= norm;
  }
  return Tensor::from_vector(a, {rows, cols}, DType::F32);
}

std::string suffix(int layer, int direction) {
  return "_l" + std::to_string(layer) + (direction == 1 ? "_reverse" : "");
}

}  // namespace

Lstm::Lstm(const LstmConfig& config, std::uint64_t seed, Device device) : config_(config) {
  LOOM_CHECK(config.input_size > 0 && config.hidden_size > 0 && config.num_layers >= 1,
             "Lstm: input_size, hidden_size and num_layers must be positive, got ", config.input_size, ", ",
             config.hidden_size, ", ", config.num_layers);
  LOOM_CHECK(config.dropout >= 0.0f && config.dropout < 1.0f, "Lstm: dropout must be in [0, 1), got ",
             config.dropout);
  const std::int64_t H = config.hidden_size;
  const int D = num_directions();
  std::uint64_t offset = 0;  // each tensor draws its own range of the seed's Philox stream
  auto draw = [&](const Shape& shape, float bound) {
    Tensor t = Tensor::uniform(shape, -bound, bound, seed, offset);
    offset += 2 * static_cast<std::uint64_t>(numel(shape));
    return t;
  };
  for (int l = 0; l < config.num_layers; ++l) {
    const std::int64_t C = l == 0 ? config.input_size : D * H;
    for (int d = 0; d < D; ++d) {
      DirectionWeights w;
      if (config.init == LstmInit::Torch) {
        const float k = 1.0f / std::sqrt(static_cast<float>(H));
        w.w_ih = draw({4 * H, C}, k);
        w.w_hh = draw({4 * H, H}, k);
        w.b_ih = draw({4 * H}, k);
        w.b_hh = draw({4 * H}, k);
      } else {
        w.w_ih = draw({4 * H, C}, std::sqrt(6.0f / static_cast<float>(C + 4 * H)));
        w.w_hh = orthogonal_columns(4 * H, H, seed, offset);
        offset += 2 * static_cast<std::uint64_t>(4 * H * H);
        std::vector<float> bias(4 * H, 0.0f);
        for (std::int64_t j = H; j < 2 * H; ++j) bias[j] = 1.0f;  // the forget gate starts open
        w.b_ih = Tensor::from_vector(bias, {4 * H});
        w.b_hh = Tensor::zeros({4 * H});
      }
      for (Tensor* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) {
        *t = t->to(config.dtype).to(device);
        t->set_requires_grad(true);
      }
      weights_.push_back(w);
    }
  }
}

LstmOutput Lstm::forward(const Tensor& x, const Tensor& lengths, const Tensor& h0, const Tensor& c0, Phase phase,
                         Generator& gen) const {
  LOOM_CHECK_SHAPE(x.defined() && x.ndim() == 3 && x.dim(2) == config_.input_size, "Lstm: input must be [T, B, ",
                   config_.input_size, "], got ", describe(x));
  const int D = num_directions(), L = config_.num_layers;
  const std::int64_t B = x.dim(1), H = config_.hidden_size;
  for (const Tensor* s : {&h0, &c0}) {
    if (!s->defined()) continue;
    LOOM_CHECK_SHAPE(s->shape() == Shape({L * D, B, H}), "Lstm: initial state must be [L*D, B, H] = ",
                     shape_str({L * D, B, H}), ", got ", shape_str(s->shape()));
  }
  auto state_slice = [&](const Tensor& s, int row) {
    return s.defined() ? ops::reshape(ops::slice0(s, row, row + 1), {B, H}) : Tensor();
  };

  Tensor input = x;
  std::vector<Tensor> h_parts, c_parts;
  for (int l = 0; l < L; ++l) {
    std::vector<ops::LstmDirectionParams> dirs;
    for (int d = 0; d < D; ++d) {
      const DirectionWeights& w = weights_[l * D + d];
      ops::LstmDirectionParams p;
      p.dir = d == 0 ? ops::Direction::Forward : ops::Direction::Reverse;
      p.w_ih = w.w_ih;
      p.w_hh = w.w_hh;
      p.b_ih = w.b_ih;
      p.b_hh = w.b_hh;
      p.h0 = state_slice(h0, l * D + d);
      p.c0 = state_slice(c0, l * D + d);
      dirs.push_back(p);
    }
    const ops::LstmSeqResult r = ops::lstm_seq(input, lengths, dirs, config_.impl);
    for (int d = 0; d < D; ++d) {
      h_parts.push_back(ops::reshape(r.h_n[d], {1, B, H}));
      c_parts.push_back(ops::reshape(r.c_n[d], {1, B, H}));
    }
    input = r.y;
    if (l + 1 < L && phase == Phase::Train && config_.dropout > 0.0f) input = ops::dropout(input, config_.dropout, gen);
  }
  return {input, ops::concat0(h_parts), ops::concat0(c_parts)};
}

std::vector<NamedTensor> Lstm::named_parameters() const {
  std::vector<NamedTensor> out;
  const int D = num_directions();
  for (int l = 0; l < config_.num_layers; ++l) {
    for (int d = 0; d < D; ++d) {
      const DirectionWeights& w = weights_[l * D + d];
      const std::string s = suffix(l, d);
      out.emplace_back("weight_ih" + s, w.w_ih);
      out.emplace_back("weight_hh" + s, w.w_hh);
      out.emplace_back("bias_ih" + s, w.b_ih);
      out.emplace_back("bias_hh" + s, w.b_hh);
    }
  }
  return out;
}

}  // namespace loom::layers
