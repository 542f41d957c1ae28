// train/objective.h: the loss for a task, with class weighting (--pos-weight, --class-weight).
//
//   binary      one logit, BCE-with-logits; --pos-weight N|auto (auto = negatives / positives in
//               the training split, PyTorch's recipe); --class-weight w0,w1 or balanced is turned
//               into pos_weight = w1 / w0, which gives the same gradient direction (the overall
//               factor w0 only rescales the loss, and AdamW is invariant to that scale).
//   multi-class softmax cross-entropy; --class-weight balanced = n / (K * count_k) (sklearn's
//               compute_class_weight) or an explicit w0,w1,...
//   multi-label one BCE-with-logits per label; --pos-weight auto = negatives / positives per label.
// A class or label absent from the training split gets weight 1 (there is nothing to balance).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/tensor.h"
#include "data/dataset.h"

namespace loom::train {

class Objective {
 public:
  // counts: examples per class (binary, multi-class) or positives per label (multi-label) in the
  // training split; n: examples in the training split.
  Objective(data::TaskKind task, std::int64_t num_labels, const std::vector<std::int64_t>& counts, std::int64_t n,
            const std::string& pos_weight, const std::string& class_weight, Device device);

  // logits [B, outputs] on the model's device, targets as data::collate builds them (CPU).
  Tensor operator()(const Tensor& logits, const Tensor& targets) const;

  data::TaskKind task() const { return task_; }
  std::int64_t outputs() const { return task_ == data::TaskKind::Binary ? 1 : num_labels_; }
  // "BCE with logits, pos_weight 1.52" for the run header.
  std::string describe() const;
  const std::vector<float>& weights() const { return weights_; }

 private:
  data::TaskKind task_;
  std::int64_t num_labels_;
  std::vector<float> weights_;  // pos_weight (binary / multi-label) or class_weight (multi-class); empty = none
  Tensor weight_tensor_;        // the same on the model's device
};

// Parses "0.5,2,1" (exactly `count` positive numbers); loom::Error naming the flag otherwise.
std::vector<float> parse_weight_list(const std::string& flag, const std::string& text, std::int64_t count);

}  // namespace loom::train
