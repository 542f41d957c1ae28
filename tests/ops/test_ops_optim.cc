// tests/ops/test_ops_optim.cc: SGD (momentum, Nesterov, weight decay), AdamW and clip-by-norm
// against scalar loops that implement torch.optim's documented update rules.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/optim.h"
#include "kernels/optim/optim.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;
using ops::AdamWConfig;
using ops::SgdConfig;

namespace {

Tensor param(const std::vector<float>& v, Device device = Device::cpu()) {
  Tensor p = Tensor::from_vector(v, {static_cast<std::int64_t>(v.size())}, DType::F32, device);
  p.set_requires_grad(true);
  return p;
}

// Gives p exactly the gradient g: backward of y = 1 * p seeded with dy = g.
void set_grad(Tensor& p, const std::vector<float>& g) {
  Tape tape;
  Tensor y;
  {
    auto rec = tape.record();
    y = ops::scale(p, 1.0f);
  }
  tape.backward(y, Tensor::from_vector(g, p.shape(), DType::F32, p.device()));
}

std::vector<double> host(const Tensor& t) { return t.to(Device::cpu()).to_vector_f64(); }

// torch.optim.SGD for one parameter (dampening 0), in double.
struct HandSgd {
  double lr, momentum, wd;
  bool nesterov;
  std::vector<double> buf;
  int step = 0;
  void update(std::vector<double>& w, const std::vector<float>& grad) {
    ++step;
    if (buf.empty()) buf.assign(w.size(), 0.0);
    for (std::size_t i = 0; i < w.size(); ++i) {
      double g = grad[i] + wd * w[i];
      if (momentum != 0) {
        buf[i] = step == 1 ? g : momentum * buf[i] + g;
        g = nesterov ? g + momentum * buf[i] : buf[i];
      }
      w[i] -= lr * g;
    }
  }
};

// torch.optim.AdamW for one parameter, in double.
struct HandAdamW {
  double lr, b1, b2, eps, wd;
  std::vector<double> m, v;
  int step = 0;
  void update(std::vector<double>& w, const std::vector<float>& grad) {
    ++step;
    if (m.empty()) m.assign(w.size(), 0.0), v.assign(w.size(), 0.0);
    const double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * grad[i];
      v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
      const double denom = std::sqrt(v[i]) / std::sqrt(bc2) + eps;
      w[i] -= lr / bc1 * m[i] / denom;
    }
  }
};

// The gradient fed at step s: different every step, with mixed signs and magnitudes (one exact
// zero, where AdamW's eps matters).
std::vector<float> grad_at(int s, std::size_t n) {
  std::vector<float> g = random_floats(static_cast<std::int64_t>(n), 100 + static_cast<std::uint64_t>(s), -2, 2);
  g[0] = 0.0f;
  return g;
}

void run_sgd_case(SgdConfig cfg, int steps, Device device, const std::string& what) {
  INFO(what);
  const std::vector<float> w0 = random_floats(9, 7, -1, 1);
  Tensor p = param(w0, device);
  ops::Sgd opt({p}, cfg);
  HandSgd hand{cfg.lr, cfg.momentum, cfg.weight_decay, cfg.nesterov == ops::Nesterov::On, {}};
  std::vector<double> w(w0.begin(), w0.end());
  for (int s = 1; s <= steps; ++s) {
    opt.zero_grad();
    const std::vector<float> g = grad_at(s, w0.size());
    set_grad(p, g);
    opt.step();
    hand.update(w, g);
    check_close(host(p), w, DType::F32, what + " after step " + std::to_string(s));
  }
}

void run_adamw_case(AdamWConfig cfg, int steps, Device device, const std::string& what) {
  INFO(what);
  const std::vector<float> w0 = random_floats(9, 8, -1, 1);
  Tensor p = param(w0, device);
  ops::AdamW opt({p}, cfg);
  HandAdamW hand{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, {}, {}};
  std::vector<double> w(w0.begin(), w0.end());
  for (int s = 1; s <= steps; ++s) {
    opt.zero_grad();
    const std::vector<float> g = grad_at(s, w0.size());
    set_grad(p, g);
    opt.step();
    hand.update(w, g);
    check_close(host(p), w, DType::F32, what + " after step " + std::to_string(s));
  }
  CHECK(opt.steps_taken()[0] == steps);
  check_close(host(opt.first_moments()[0]), hand.m, DType::F32, what + ": first moment");
  check_close(host(opt.second_moments()[0]), hand.v, DType::F32, what + ": second moment");
}

}  // namespace

TEST_CASE("sgd: one and several steps match torch.optim.SGD") {
  run_sgd_case({0.1f, 0.0f, 0.0f, ops::Nesterov::Off}, 1, Device::cpu(), "plain SGD");
  run_sgd_case({0.1f, 0.0f, 0.05f, ops::Nesterov::Off}, 4, Device::cpu(), "SGD + weight decay");
  run_sgd_case({0.05f, 0.9f, 0.0f, ops::Nesterov::Off}, 5, Device::cpu(), "SGD + momentum");
  run_sgd_case({0.05f, 0.9f, 0.01f, ops::Nesterov::On}, 5, Device::cpu(), "SGD + Nesterov + weight decay");
}

TEST_CASE("adamw: one and several steps match torch.optim.AdamW") {
  CHECK(AdamWConfig{}.beta1 == 0.9f);  // PyTorch's defaults
  CHECK(AdamWConfig{}.beta2 == 0.999f);
  CHECK(AdamWConfig{}.eps == 1e-8f);
  CHECK(AdamWConfig{}.weight_decay == 0.01f);
  run_adamw_case({1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f}, 1, Device::cpu(), "AdamW step 1, no decay");
  run_adamw_case({1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f}, 6, Device::cpu(), "AdamW with decay");
  run_adamw_case({3e-3f, 0.8f, 0.99f, 1e-6f, 0.5f}, 4, Device::cpu(), "AdamW other betas");
}

TEST_CASE("optimizers: a parameter without a gradient is skipped as in PyTorch") {
  Tensor used = param({1.0f, 2.0f});
  Tensor unused = param({3.0f, 4.0f});
  ops::AdamW adam({used, unused}, AdamWConfig{0.1f, 0.9f, 0.999f, 1e-8f, 0.5f});
  set_grad(used, {1.0f, -1.0f});
  adam.step();
  // Not even weight decay touches it.
  CHECK(unused.to_vector() == std::vector<float>{3.0f, 4.0f});
  CHECK(used.to_vector() != std::vector<float>{1.0f, 2.0f});
  ops::Sgd sgd({unused}, SgdConfig{0.1f, 0.9f, 0.5f, ops::Nesterov::Off});
  sgd.step();
  CHECK(unused.to_vector() == std::vector<float>{3.0f, 4.0f});
}

TEST_CASE("adamw: bias correction counts the steps a parameter actually took") {
  // torch.optim.AdamW keeps `step` per parameter and only advances it when the parameter has a
  // gradient. A parameter first used at the optimizer's second step gets step-1 corrections.
  Tensor a = param({1.0f, 2.0f});
  Tensor late = param({0.5f, -0.5f});
  const AdamWConfig cfg{0.1f, 0.9f, 0.999f, 1e-8f, 0.0f};
  ops::AdamW opt({a, late}, cfg);
  set_grad(a, {1.0f, 1.0f});
  opt.step();  // `late` has no gradient yet
  opt.zero_grad();
  set_grad(a, {1.0f, 1.0f});
  set_grad(late, {0.3f, -2.0f});
  opt.step();
  HandAdamW hand{cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay, {}, {}};
  std::vector<double> w = {0.5, -0.5};
  hand.update(w, {0.3f, -2.0f});  // its first step
  check_close(late.to_vector_f64(), w, DType::F32, "late parameter after its first update");
}

TEST_CASE("optimizers: zero_grad makes the next backward overwrite") {
  Tensor p = param({1.0f, 1.0f});
  ops::Sgd opt({p}, SgdConfig{1.0f, 0.0f, 0.0f, ops::Nesterov::Off});
  set_grad(p, {5.0f, 5.0f});
  opt.zero_grad();
  set_grad(p, {1.0f, 2.0f});  // without zero_grad this would accumulate to (6, 7)
  CHECK(p.grad().to_vector() == std::vector<float>{1.0f, 2.0f});
  opt.step();
  CHECK(p.to_vector() == std::vector<float>{0.0f, -1.0f});
}

TEST_CASE("optimizers: parameters must be f32 leaves that require a gradient") {
  Tensor f64p = f64({1.0}, {1});
  f64p.set_requires_grad(true);
  CHECK_SHAPE_ERROR([&] { ops::AdamW({f64p}, AdamWConfig{}); }, "AdamW", "f64");
  CHECK_SHAPE_ERROR([&] { ops::Sgd({f64p}, SgdConfig{}); }, "Sgd", "f64");
  const Tensor frozen = Tensor::zeros({2});
  CHECK_THROWS_AS(ops::AdamW({frozen}, AdamWConfig{}), Error);
}

TEST_CASE("clip_grad_norm: returns the pre-clip norm and scales to max_norm") {
  Tensor a = param({0.0f, 0.0f, 0.0f});
  Tensor b = param({0.0f, 0.0f});
  Tensor no_grad = param({1.0f});
  set_grad(a, {3.0f, 4.0f, 0.0f});
  set_grad(b, {12.0f, 0.0f});  // joint norm sqrt(9 + 16 + 144) = 13
  CHECK(ops::grad_norm({a, b, no_grad}) == doctest::Approx(13.0).epsilon(1e-6));
  CHECK(a.grad().to_vector() == std::vector<float>{3.0f, 4.0f, 0.0f});  // grad_norm changes nothing

  // Below the threshold: untouched.
  CHECK(ops::clip_grad_norm({a, b, no_grad}, 20.0) == doctest::Approx(13.0).epsilon(1e-6));
  CHECK(a.grad().to_vector() == std::vector<float>{3.0f, 4.0f, 0.0f});

  // Above: every gradient scaled by max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_.
  const double pre = ops::clip_grad_norm({a, b, no_grad}, 6.5);
  CHECK(pre == doctest::Approx(13.0).epsilon(1e-6));
  const double c = 6.5 / (13.0 + 1e-6);
  check_close(a.grad().to_vector(), std::vector<double>{3 * c, 4 * c, 0.0}, DType::F32, "clipped a");
  check_close(b.grad().to_vector(), std::vector<double>{12 * c, 0.0}, DType::F32, "clipped b");
  CHECK(ops::grad_norm({a, b}) == doctest::Approx(6.5).epsilon(1e-5));
  CHECK_FALSE(no_grad.grad().defined());
  CHECK_THROWS_AS(ops::clip_grad_norm({a}, 0.0), Error);
}

TEST_CASE("adamw: cost reads four arrays and writes three") {
  kernels::AdamWArgs a;
  a.n = 1000;
  CHECK(kernels::adamw_cost(a).bytes == 28.0 * 1000);
  float g = 0.0f;
  a.grad_to_zero = &g;  // the fused zero_grad writes the gradient back: 4 bytes more per element
  CHECK(kernels::adamw_cost(a).bytes == 32.0 * 1000);
}

TEST_SUITE("cuda") {
  TEST_CASE("sgd and adamw: CUDA matches the torch formulas") {
    LOOM_REQUIRE_CUDA_DEVICE();
    // Master weights and optimizer state are F32 (mixed precision computes only on F16/BF16 working
    // copies), so F32 only here.
    run_sgd_case({0.05f, 0.9f, 0.01f, ops::Nesterov::On}, 5, Device::cuda(), "CUDA SGD Nesterov");
    run_sgd_case({0.1f, 0.0f, 0.05f, ops::Nesterov::Off}, 3, Device::cuda(), "CUDA plain SGD");
    run_adamw_case({1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f}, 6, Device::cuda(), "CUDA AdamW");
  }

  TEST_CASE("clip_grad_norm: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::vector<float> g1 = random_floats(5000, 9, -1, 1), g2 = random_floats(33, 10, -3, 3);
    std::vector<std::vector<float>> results;
    double norms[2];
    int i = 0;
    for (Device dev : {Device::cpu(), Device::cuda()}) {
      Tensor a = param(std::vector<float>(5000, 0.0f), dev);
      Tensor b = param(std::vector<float>(33, 0.0f), dev);
      set_grad(a, g1);
      set_grad(b, g2);
      norms[i++] = ops::clip_grad_norm({a, b}, 1.0);
      results.push_back(a.grad().to(Device::cpu()).to_vector());
      results.push_back(b.grad().to(Device::cpu()).to_vector());
    }
    CHECK(norms[1] == doctest::Approx(norms[0]).epsilon(1e-5));
    check_close(results[2], results[0], DType::F32, "clipped a");
    check_close(results[3], results[1], DType::F32, "clipped b");
  }
}

// Fused zero_grad (AdamWConfig::zero_grad_in_step, opt-in): step() zeroes each gradient as it
// reads it and zero_grad() keeps that zeroed buffer, so the next backward accumulates into zeros.
// Both must leave the update bit for bit what the unfused optimizer computes (same per-element
// arithmetic; 0 + x == x exactly for every gradient value here, none being -0).
TEST_CASE("adamw: the fused zero_grad gives the unfused updates bit for bit and leaves zeros") {
  // 70,000 elements: above kParallelGrain, so the threaded loop runs; 7 takes the serial one.
  const std::vector<float> big0 = random_floats(70000, 21, -1, 1), small0 = random_floats(7, 22, -1, 1);
  Tensor fb = param(big0), fs = param(small0), ub = param(big0), us = param(small0);
  AdamWConfig fused_cfg{1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f};
  fused_cfg.zero_grad_in_step = true;
  AdamWConfig plain_cfg = fused_cfg;
  plain_cfg.zero_grad_in_step = false;
  CHECK_FALSE(AdamWConfig{}.zero_grad_in_step);  // the default keeps torch's skip-if-no-gradient
  ops::AdamW fused({fb, fs}, fused_cfg), plain({ub, us}, plain_cfg);
  const Tensor half = Tensor::from_vector(std::vector<float>{0.5f}, {1}, DType::F32, Device::cpu());
  const void* kept = nullptr;
  for (int s = 1; s <= 4; ++s) {
    INFO("step " << s);
    fused.zero_grad();
    plain.zero_grad();
    if (s >= 3) CHECK(fb.grad().data_ptr() == kept);  // the zeroed buffer survives zero_grad
    if (s >= 3) CHECK(fb.grad().to_vector() == std::vector<float>(70000, 0.0f));
    const std::vector<float> gb = random_floats(70000, 30 + static_cast<std::uint64_t>(s), -2, 2);
    const std::vector<float> gs = random_floats(7, 40 + static_cast<std::uint64_t>(s), -2, 2);
    set_grad(fb, gb), set_grad(fs, gs), set_grad(ub, gb), set_grad(us, gs);
    CHECK(fb.grad().to_vector() == gb);  // accumulating into zeros is the gradient itself
    if (s == 2) {
      fused.step(half), plain.step(half);  // the grad_scale path too
    } else {
      fused.step(), plain.step();
    }
    kept = fb.grad().data_ptr();
    CHECK(fb.to_vector() == ub.to_vector());
    CHECK(fs.to_vector() == us.to_vector());
    for (std::size_t i = 0; i < 2; ++i) {
      CHECK(fused.first_moments()[i].to_vector() == plain.first_moments()[i].to_vector());
      CHECK(fused.second_moments()[i].to_vector() == plain.second_moments()[i].to_vector());
    }
    CHECK(fb.grad().to_vector() == std::vector<float>(70000, 0.0f));  // zeroed by the step
    CHECK(fs.grad().to_vector() == std::vector<float>(7, 0.0f));
    CHECK(ub.grad().to_vector() == gb);  // the unfused step leaves the gradient alone
  }
}

TEST_CASE("adamw: zero_grad drops a gradient that no step consumed (a skipped step)") {
  Tensor p = param({1.0f, 2.0f});
  AdamWConfig cfg;
  cfg.zero_grad_in_step = true;
  ops::AdamW opt({p}, cfg);
  set_grad(p, {1.0f, 1.0f});
  opt.step();  // zeroes and remembers the buffer
  opt.zero_grad();
  set_grad(p, {3.0f, 4.0f});  // no step now (GradScaler skipping an inf step)
  opt.zero_grad();            // must drop it: it is not the zeroed buffer any more
  set_grad(p, {1.0f, 2.0f});
  CHECK(p.grad().to_vector() == std::vector<float>{1.0f, 2.0f});  // not (4, 6)
}

TEST_CASE("adamw: with the fused zero_grad a parameter the next backward misses is still updated") {
  // The documented price of AdamWConfig::zero_grad_in_step: the kept zero gradient counts as a
  // gradient, so the update runs with g = 0 (weight decay and moment decay apply, the step count
  // advances), where the default skips the parameter as torch.optim.AdamW skips a None gradient.
  for (const bool fused : {false, true}) {
    INFO("fused " << fused);
    Tensor p = param({1.0f, 2.0f});
    AdamWConfig cfg{0.1f, 0.9f, 0.999f, 1e-8f, 0.1f};
    cfg.zero_grad_in_step = fused;
    ops::AdamW opt({p}, cfg);
    set_grad(p, {1.0f, 1.0f});
    opt.step();
    opt.zero_grad();
    const std::vector<float> before = p.to_vector();
    opt.step();  // no backward reached p since zero_grad
    CHECK(opt.steps_taken()[0] == (fused ? 2 : 1));
    CHECK((p.to_vector() != before) == fused);
  }
}

// The AVX-512 loop of adamw_step_cpu (kernels/optim/optim_cpu.cc) against a plain scalar loop of
// the same operations in the same order, bit for bit: widths 1..33 cover every tail length, and
// 70,001 elements the threaded split (block starts at multiples of 16, a tail in the last block).
// Values span 1e-6..1e2 so the square root, the divisions and eps all matter; a fused
// multiply-add or a reordered sum in the vector loop would change low bits somewhere here.
TEST_CASE("adamw kernel: the vectorized loop gives the scalar loop's bits with and without fused zeroing") {
  INFO("loop: " << kernels::adamw_cpu_isa());
  std::vector<std::int64_t> sizes;
  for (std::int64_t n = 1; n <= 33; ++n) sizes.push_back(n);
  sizes.push_back(70001);
  for (bool zero : {false, true})
    for (std::int64_t n : sizes) {
      INFO("n = " << n << ", fused zero_grad " << zero);
      const std::size_t un = static_cast<std::size_t>(n);
      std::vector<float> w = random_floats(un, 100 + static_cast<std::uint64_t>(n), -3, 3);
      std::vector<float> g = random_floats(un, 200 + static_cast<std::uint64_t>(n), -1, 1);
      std::vector<float> m = random_floats(un, 300 + static_cast<std::uint64_t>(n), -0.1f, 0.1f);
      std::vector<float> v = random_floats(un, 400 + static_cast<std::uint64_t>(n), 0, 1);
      for (std::size_t i = 0; i < un; ++i) {  // magnitudes over eight decades
        g[i] *= std::pow(10.0f, static_cast<float>(i % 9) - 6.0f);
        v[i] *= std::pow(10.0f, static_cast<float>(i % 7) - 12.0f);
      }
      std::vector<float> ew = w, em = m, ev = v;
      const float scale = 0.75f;
      kernels::AdamWArgs a;
      a.n = n;
      a.lr = 3e-3f, a.beta1 = 0.9f, a.beta2 = 0.999f, a.eps = 1e-8f, a.weight_decay = 0.05f;
      a.step = 7;
      a.param = w.data(), a.grad = g.data(), a.m = m.data(), a.v = v.data(), a.grad_scale = &scale;
      std::vector<float> g_run = g;
      a.grad = g_run.data();
      if (zero) a.grad_to_zero = g_run.data();
      kernels::adamw_step_cpu(a);
      // The expected values: the kernel's formulas, one float operation at a time.
      const double bc1 = 1.0 - std::pow(0.9, 7.0), bc2 = 1.0 - std::pow(static_cast<double>(0.999f), 7.0);
      const float step_size = static_cast<float>(static_cast<double>(3e-3f) / (1.0 - std::pow(static_cast<double>(0.9f), 7.0)));
      const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
      const float decay = static_cast<float>(1.0 - static_cast<double>(3e-3f) * static_cast<double>(0.05f));
      const float k1 = static_cast<float>(1.0 - static_cast<double>(0.9f)), k2 = static_cast<float>(1.0 - static_cast<double>(0.999f));
      (void)bc1;
      for (std::size_t i = 0; i < un; ++i) {
        const float wd = ew[i] * decay, gs = g[i] * scale;
        const float mi = 0.9f * em[i] + k1 * gs, vi = 0.999f * ev[i] + k2 * gs * gs;
        em[i] = mi, ev[i] = vi;
        const float denom = std::sqrt(vi) / bc2_sqrt + 1e-8f;
        ew[i] = wd - step_size * mi / denom;
      }
      CHECK(std::memcmp(w.data(), ew.data(), un * sizeof(float)) == 0);
      CHECK(std::memcmp(m.data(), em.data(), un * sizeof(float)) == 0);
      CHECK(std::memcmp(v.data(), ev.data(), un * sizeof(float)) == 0);
      CHECK(g_run == (zero ? std::vector<float>(un, 0.0f) : g));
    }
}
