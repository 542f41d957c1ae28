// tools/selftest.cc: the MLP of `loom selftest` (see tools/selftest.h).
#include "tools/selftest.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>

#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/loss.h"
#include "ops/matmul.h"
#include "ops/optim.h"
#include "ops/tensor.h"

namespace loom::tools {
namespace {

constexpr int kPoints = 256, kInputs = 8, kHidden = 64, kClasses = 4;

// Region of a point: the sign of x0*x1 picks one bit and whether x2 + sin(3 x3) > 0 the other,
// so no single linear layer can separate the classes.
int label_of(const float* x) {
  const int a = x[0] * x[1] > 0 ? 1 : 0;
  const int b = x[2] + std::sin(3.0f * x[3]) > 0 ? 1 : 0;
  return 2 * a + b;
}

struct Linear {
  Tensor weight, bias;
  Linear(std::int64_t in, std::int64_t out, std::uint64_t seed, std::uint64_t& offset, Device device) {
    // PyTorch's nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));
    weight = Tensor::uniform({out, in}, -bound, bound, seed, offset, DType::F32, device);
    offset += static_cast<std::uint64_t>(out * in);
    bias = Tensor::uniform({out}, -bound, bound, seed, offset, DType::F32, device);
    offset += static_cast<std::uint64_t>(out);
    weight.set_requires_grad(true);
    bias.set_requires_grad(true);
  }
  Tensor operator()(const Tensor& x) const { return ops::linear(x, weight, bias); }
};

float accuracy_of(const Tensor& logits, const std::vector<std::int32_t>& labels) {
  const std::vector<float> z = logits.to_vector();
  int correct = 0;
  for (int n = 0; n < kPoints; ++n) {
    int best = 0;
    for (int k = 1; k < kClasses; ++k)
      if (z[n * kClasses + k] > z[n * kClasses + best]) best = k;
    correct += best == labels[n];
  }
  return static_cast<float>(correct) / kPoints;
}

}  // namespace

SelftestResult run_selftest(const SelftestOptions& opt) {
  const Tensor x_host = Tensor::uniform({kPoints, kInputs}, -1.0f, 1.0f, /*seed=*/7);
  std::vector<std::int32_t> labels(kPoints);
  for (int n = 0; n < kPoints; ++n) labels[n] = label_of(x_host.data<float>() + n * kInputs);
  const Tensor x = x_host.to(opt.device);
  const Tensor y = Tensor::from_vector(labels, {kPoints}, opt.device);

  std::uint64_t offset = 0;
  Linear l1(kInputs, kHidden, opt.seed, offset, opt.device);
  Linear l2(kHidden, kHidden, opt.seed, offset, opt.device);
  Linear l3(kHidden, kClasses, opt.seed, offset, opt.device);
  auto forward = [&](const Tensor& in) { return l3(ops::tanh(l2(ops::tanh(l1(in))))); };

  ops::AdamWConfig cfg;
  cfg.lr = 1e-2f;
  cfg.weight_decay = 0.0f;  // a memorization task: decay would only fight the fit
  ops::AdamW optimizer({l1.weight, l1.bias, l2.weight, l2.bias, l3.weight, l3.bias}, cfg);

  SelftestResult result;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= opt.steps; ++step) {
    Tape tape;
    Tensor loss;
    {
      auto rec = tape.record();
      loss = ops::softmax_cross_entropy(forward(x), y);
    }
    optimizer.zero_grad();
    tape.backward(loss);
    optimizer.step();
    result.losses.push_back(static_cast<float>(loss.item()));
    if (opt.log && opt.log_every > 0 && (step == 1 || step % opt.log_every == 0))
      *opt.log << "  step " << std::setw(4) << step << "  loss " << std::fixed << std::setprecision(5)
               << result.losses.back() << "\n";
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  NoGradGuard no_grad;
  const Tensor logits = forward(x);
  result.final_loss = static_cast<float>(ops::softmax_cross_entropy(logits, y).item());
  result.accuracy = accuracy_of(logits, labels);
  return result;
}

int selftest_main(std::ostream& out) {
  std::vector<Device> devices{Device::cpu()};
  for (int i = 0; i < cuda_device_count(); ++i) devices.push_back(Device::cuda(i));
  if (devices.size() == 1) out << "loom selftest: no CUDA device (" << cuda_unavailable_reason() << "); CPU only\n";
  int status = 0;
  for (const Device& d : devices) {
    out << "loom selftest on " << d.str() << ": MLP " << kInputs << "-" << kHidden << "-" << kHidden << "-" << kClasses
        << ", " << kPoints << " points, full-batch AdamW lr 1e-2\n";
    SelftestOptions opt;
    opt.device = d;
    opt.log = &out;
    const SelftestResult r = run_selftest(opt);
    const bool ok = r.final_loss < 0.01f;
    out << "  final loss " << std::setprecision(5) << r.final_loss << ", training accuracy " << std::setprecision(3)
        << r.accuracy << ", " << r.losses.size() << " steps in " << std::setprecision(2) << r.seconds << " s: "
        << (ok ? "PASS" : "FAIL (loss should fall below 0.01)") << "\n";
    if (!ok) status = 1;
  }
  return status;
}

}  // namespace loom::tools
