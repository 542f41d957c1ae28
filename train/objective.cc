// train/objective.cc: see objective.h.
#include "train/objective.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "ops/loss.h"

namespace loom::train {
namespace {

float ratio_or_one(double num, double den) { return den > 0 && num > 0 ? static_cast<float>(num / den) : 1.0f; }

}  // namespace

std::vector<float> parse_weight_list(const std::string& flag, const std::string& text, std::int64_t count) {
  std::vector<float> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end == item.c_str() || *end != '\0' || !(v > 0) || !std::isfinite(v))
      LOOM_THROW(Error, flag, ": '", item, "' is not a positive number (in '", text, "')");
    out.push_back(static_cast<float>(v));
  }
  if (static_cast<std::int64_t>(out.size()) != count)
    LOOM_THROW(Error, flag, ": expected ", count, " comma-separated weights (one per label), got ", out.size());
  return out;
}

Objective::Objective(data::TaskKind task, std::int64_t num_labels, const std::vector<std::int64_t>& counts,
                     std::int64_t n, const std::string& pos_weight, const std::string& class_weight, Device device)
    : task_(task), num_labels_(num_labels) {
  const bool has_pos = !pos_weight.empty() && pos_weight != "none";
  const bool has_class = !class_weight.empty() && class_weight != "none";
  LOOM_CHECK(!(has_pos && has_class), "--pos-weight and --class-weight cannot be combined: choose one");
  LOOM_CHECK(static_cast<std::int64_t>(counts.size()) == num_labels, "Objective: ", counts.size(),
             " label counts for ", num_labels, " labels");
  if (task == data::TaskKind::MultiClass) {
    LOOM_CHECK(!has_pos, "--pos-weight applies to binary and multi-label tasks; for ", num_labels,
               " classes use --class-weight balanced or w0,w1,...");
    if (class_weight == "balanced") {
      for (std::int64_t k = 0; k < num_labels; ++k)
        weights_.push_back(ratio_or_one(static_cast<double>(n), static_cast<double>(num_labels * counts[k])));
    } else if (has_class) {
      weights_ = parse_weight_list("--class-weight", class_weight, num_labels);
    }
  } else if (task == data::TaskKind::Binary) {
    if (pos_weight == "auto") {
      weights_ = {ratio_or_one(static_cast<double>(counts[0]), static_cast<double>(counts[1]))};
    } else if (has_pos) {
      weights_ = parse_weight_list("--pos-weight", pos_weight, 1);
    } else if (class_weight == "balanced") {
      // w_k = n / (2 count_k), so w1 / w0 = count_0 / count_1.
      weights_ = {ratio_or_one(static_cast<double>(counts[0]), static_cast<double>(counts[1]))};
    } else if (has_class) {
      const std::vector<float> w = parse_weight_list("--class-weight", class_weight, 2);
      weights_ = {w[1] / w[0]};
    }
  } else {
    LOOM_CHECK(!has_class, "--class-weight applies to binary and multi-class tasks; for multi-label use "
                           "--pos-weight auto or one weight per label");
    if (pos_weight == "auto") {
      for (std::int64_t k = 0; k < num_labels; ++k)
        weights_.push_back(ratio_or_one(static_cast<double>(n - counts[k]), static_cast<double>(counts[k])));
    } else if (has_pos) {
      // One number for all labels, or one per label.
      weights_ = pos_weight.find(',') == std::string::npos
                     ? std::vector<float>(static_cast<std::size_t>(num_labels),
                                          parse_weight_list("--pos-weight", pos_weight, 1)[0])
                     : parse_weight_list("--pos-weight", pos_weight, num_labels);
    }
  }
  if (!weights_.empty())
    weight_tensor_ =
        Tensor::from_vector(weights_, {static_cast<std::int64_t>(weights_.size())}, DType::F32, device);
}

Tensor Objective::operator()(const Tensor& logits, const Tensor& targets) const {
  const Tensor t = targets.device() == logits.device() ? targets : targets.to(logits.device());
  if (task_ == data::TaskKind::MultiClass) return ops::softmax_cross_entropy(logits, t, weight_tensor_);
  return ops::bce_with_logits(logits, t, weight_tensor_);
}

std::string Objective::describe() const {
  std::ostringstream os;
  os << (task_ == data::TaskKind::MultiClass ? "softmax cross-entropy" : "BCE with logits");
  if (task_ == data::TaskKind::MultiLabel) os << " per label";
  if (!weights_.empty()) {
    os << (task_ == data::TaskKind::MultiClass ? ", class_weight " : ", pos_weight ");
    for (std::size_t i = 0; i < weights_.size(); ++i) os << (i ? "," : "") << weights_[i];
  }
  return os.str();
}

}  // namespace loom::train
