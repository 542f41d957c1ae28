// kernels/lstm/lstm_reference.cc: the LSTM as the equations read, in plain loops: one thread, no
// BLAS, no OpenMP. It is the oracle of the tests (tests/kernels/test_lstm_cpu.cc checks it against
// F64 finite differences and every other row of the variant table against it) and the first code
// the tutorial shows. Same contract as lstm.h, including lengths, reverse rows and the saved
// buffers, so any backward can follow its forward.
//
// Forward, per direction, per row b, per processing step s < len_b at time t = time_of(reverse, len_b, s):
//   z = x_t W_ih^T + h_prev W_hh^T + b;  i, f, o = sigmoid, g = tanh;  c = f c_prev + i g;  h = o tanh(c)
// Backward walks the same steps from s = len_b - 1 down to 0, with dh, dc the gradients arriving
// at h and c of step s (from y and from step s + 1; from h_n, c_n at the last step):
//   dh_t = dy_t + dh   dc_t = dc + dh_t o (1 - tanh(c)^2)
//   dz = (dc_t g i(1-i), dc_t c_prev f(1-f), dc_t i (1-g^2), dh_t tanh(c) o(1-o))
//   dW_ih += dz^T x_t   dW_hh += dz^T h_prev   db += dz   dx_t += dz W_ih
//   dh = dz W_hh        dc = dc_t f            (what step s - 1 receives; dh0, dc0 after step 0)
// h_prev is recomputed from the saved gates and c (o tanh(c) of step s - 1), as the CPU path does.
// Gradients are summed in local buffers and stored once with their GradMode at the end.
// F16 / BF16 storage is widened to F32 around the float path (lstm_widen_cpu.h).
#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_widen_cpu.h"

namespace loom::kernels {
namespace {

using std::int64_t;

template <typename R>
R sigmoid(R z) { return R(1) / (R(1) + std::exp(-z)); }

int64_t time_of(bool reverse, int64_t len, int64_t s) { return reverse ? len - 1 - s : s; }

int64_t length_of(const LstmSeqFwdArgs& a, int64_t b, const char* op) {
  const int64_t len = a.lengths != nullptr ? a.lengths[b] : a.T;
  LOOM_CHECK_SHAPE(len >= 0 && len <= a.T, op, ": lengths[", b, "] = ", len, " is outside [0, T] with T = ", a.T);
  return len;
}

// Element k of a nullable [B, H] or [T, B, *] input: nullptr reads as zeros.
template <typename R>
R at(const void* p, int64_t k) { return p != nullptr ? static_cast<const R*>(p)[k] : R(0); }

template <typename R>
void forward(const LstmSeqFwdArgs& a) {
  const int64_t T = a.T, B = a.B, I = a.C, H = a.H, G = 4 * H, DH = a.D * H;
  const R* x = static_cast<const R*>(a.x);
  R* y = static_cast<R*>(a.y);
  for (int64_t k = 0; k < T * B * DH; ++k) y[k] = R(0);  // padding stays zero
  for (int d = 0; d < a.D; ++d) {
    const LstmDirection& dir = a.dirs[d];
    const R* w_ih = static_cast<const R*>(dir.w_ih);
    const R* w_hh = static_cast<const R*>(dir.w_hh);
    const R* bias = static_cast<const R*>(dir.bias);
    R* c_saved = static_cast<R*>(dir.c_saved);
    R* gates_saved = static_cast<R*>(dir.gates_saved);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = length_of(a, b, "lstm_seq_fwd_reference");
      std::vector<R> h(H), c(H), z(G);
      for (int64_t j = 0; j < H; ++j) h[j] = at<R>(dir.h0, b * H + j), c[j] = at<R>(dir.c0, b * H + j);
      for (int64_t s = 0; s < len; ++s) {
        const int64_t tb = time_of(dir.reverse, len, s) * B + b;
        for (int64_t r = 0; r < G; ++r) {
          R sum = bias[r];
          for (int64_t k = 0; k < I; ++k) sum += x[tb * I + k] * w_ih[r * I + k];
          for (int64_t k = 0; k < H; ++k) sum += h[k] * w_hh[r * H + k];
          z[r] = sum;
        }
        for (int64_t j = 0; j < H; ++j) {
          const R i = sigmoid(z[j]), f = sigmoid(z[H + j]), g = std::tanh(z[2 * H + j]), o = sigmoid(z[3 * H + j]);
          c[j] = f * c[j] + i * g;
          h[j] = o * std::tanh(c[j]);
          y[tb * DH + d * H + j] = h[j];
          if (c_saved == nullptr) continue;  // inference
          c_saved[tb * H + j] = c[j];
          R* gate = gates_saved + tb * G;
          gate[j] = i, gate[H + j] = f, gate[2 * H + j] = g, gate[3 * H + j] = o;
        }
      }
      for (int64_t j = 0; j < H; ++j) {
        if (dir.h_n != nullptr) static_cast<R*>(dir.h_n)[b * H + j] = h[j];
        if (dir.c_n != nullptr) static_cast<R*>(dir.c_n)[b * H + j] = c[j];
      }
    }
  }
}

// dst[k] (+)= sum[k] for k < n, when dst is wanted.
template <typename R>
void store(void* dst, const std::vector<R>& sum, GradMode mode) {
  if (dst == nullptr) return;
  R* out = static_cast<R*>(dst);
  for (std::size_t k = 0; k < sum.size(); ++k) out[k] = mode == GradMode::Accumulate ? out[k] + sum[k] : sum[k];
}

template <typename R>
void backward(const LstmSeqBwdArgs& a) {
  const LstmSeqFwdArgs& fa = a.fwd;
  const int64_t T = fa.T, B = fa.B, I = fa.C, H = fa.H, G = 4 * H, DH = fa.D * H;
  const R* x = static_cast<const R*>(fa.x);
  std::vector<R> dx(T * B * I);  // both directions add into it; zero at padding
  for (int d = 0; d < fa.D; ++d) {
    const LstmDirection& dir = fa.dirs[d];
    const LstmDirectionGrad& gr = a.grads[d];
    const R* w_ih = static_cast<const R*>(dir.w_ih);
    const R* w_hh = static_cast<const R*>(dir.w_hh);
    const R* c_saved = static_cast<const R*>(dir.c_saved);
    const R* gates_saved = static_cast<const R*>(dir.gates_saved);
    std::vector<R> dw_ih(G * I), dw_hh(G * H), db(G), dh0(B * H), dc0(B * H);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t len = length_of(fa, b, "lstm_seq_bwd_reference");
      std::vector<R> dh(H), dc(H), dz(G), h_prev(H);
      for (int64_t j = 0; j < H; ++j) dh[j] = at<R>(gr.dh_n, b * H + j), dc[j] = at<R>(gr.dc_n, b * H + j);
      for (int64_t s = len - 1; s >= 0; --s) {
        const int64_t tb = time_of(dir.reverse, len, s) * B + b;
        const int64_t tb_prev = s > 0 ? time_of(dir.reverse, len, s - 1) * B + b : -1;  // step s - 1
        const R* gate = gates_saved + tb * G;
        for (int64_t j = 0; j < H; ++j) {
          const R i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
          const R c_prev = s > 0 ? c_saved[tb_prev * H + j] : at<R>(dir.c0, b * H + j);
          h_prev[j] = s > 0 ? gates_saved[tb_prev * G + 3 * H + j] * std::tanh(c_prev) : at<R>(dir.h0, b * H + j);
          const R tanh_c = std::tanh(c_saved[tb * H + j]);
          const R dh_t = at<R>(a.dy, tb * DH + d * H + j) + dh[j];
          const R dc_t = dc[j] + dh_t * o * (R(1) - tanh_c * tanh_c);
          dz[j] = dc_t * g * i * (R(1) - i);
          dz[H + j] = dc_t * c_prev * f * (R(1) - f);
          dz[2 * H + j] = dc_t * i * (R(1) - g * g);
          dz[3 * H + j] = dh_t * tanh_c * o * (R(1) - o);
          dc[j] = dc_t * f;
        }
        for (int64_t r = 0; r < G; ++r) {
          db[r] += dz[r];
          for (int64_t k = 0; k < I; ++k) dw_ih[r * I + k] += dz[r] * x[tb * I + k];
          for (int64_t k = 0; k < H; ++k) dw_hh[r * H + k] += dz[r] * h_prev[k];
        }
        for (int64_t k = 0; k < H; ++k) dh[k] = R(0);
        for (int64_t r = 0; r < G; ++r) {  // rows of W in order: each sum still runs r = 0, 1, ...
          for (int64_t k = 0; k < I; ++k) dx[tb * I + k] += dz[r] * w_ih[r * I + k];
          for (int64_t k = 0; k < H; ++k) dh[k] += dz[r] * w_hh[r * H + k];
        }
      }
      for (int64_t j = 0; j < H; ++j) dh0[b * H + j] = dh[j], dc0[b * H + j] = dc[j];
    }
    store(gr.dw_ih, dw_ih, a.param_mode), store(gr.dw_hh, dw_hh, a.param_mode), store(gr.dbias, db, a.param_mode);
    store(gr.dh0, dh0, a.input_mode), store(gr.dc0, dc0, a.input_mode);
  }
  store(a.dx, dx, a.input_mode);
}

void check_args(const LstmSeqFwdArgs& a, const char* op) {
  LOOM_CHECK_SHAPE(a.D == 1 || a.D == 2, op, ": D must be 1 or 2 directions (got D = ", a.D, ")");
  LOOM_CHECK_SHAPE(a.T >= 0 && a.B >= 0 && a.C >= 0 && a.H >= 0, op, ": negative size");
  LOOM_CHECK_SHAPE(a.dtype != DType::I32, op, ": expected a float dtype (f32, f64, f16, bf16), got i32");
}

}  // namespace

void lstm_seq_fwd_reference(const LstmSeqFwdArgs& a) {
  check_args(a, "lstm_seq_fwd_reference");
  if (a.dtype == DType::F64) forward<double>(a);
  else if (a.dtype == DType::F32) forward<float>(a);
  else lstm_cpu::forward_widened(a, [](const LstmSeqFwdArgs& f32) { forward<float>(f32); });
}

void lstm_seq_bwd_reference(const LstmSeqBwdArgs& a) {
  check_args(a.fwd, "lstm_seq_bwd_reference");
  for (int64_t b = 0; b < a.fwd.B; ++b) length_of(a.fwd, b, "lstm_seq_bwd_reference");  // before "saved"
  for (int d = 0; d < a.fwd.D && a.fwd.T * a.fwd.B * a.fwd.H > 0; ++d)
    LOOM_CHECK_SHAPE(a.fwd.dirs[d].c_saved != nullptr && a.fwd.dirs[d].gates_saved != nullptr,
                     "lstm_seq_bwd_reference: direction ", d, " has no saved c / gates (needs a training forward)");
  if (a.fwd.dtype == DType::F64) backward<double>(a);
  else if (a.fwd.dtype == DType::F32) backward<float>(a);
  else lstm_cpu::backward_widened(a, [](const LstmSeqBwdArgs& f32) { backward<float>(f32); });
}

}  // namespace loom::kernels
