// kernels/conv1d/conv1d_variants.h: every implementation of the conv1d family, in two tables that
// the op front-end (ops/conv1d.cc), the tests and the bench all iterate.
//
//   conv1d_variants()   plain convolution:  reference, cpu, cuda-v1 (direct), cuda-v2 (implicit
//                       GEMM), cudnn
//   textcnn_variants()  the fused text-CNN block (conv -> bias -> ReLU -> masked max over time):
//                       reference, cpu, cuda-v3 (fused)
//
// Rows whose backend this build lacks (CUDA, cuDNN) are absent. A row's supports() says whether it
// runs given arguments (nullptr: it runs everything the contract of conv1d.h allows); its forward
// and backward call the functions of conv1d.h. No conv1d backend keeps state between forward and
// backward beyond the shared buffers (argmax, pooled), so every forward returns nullptr.
#pragma once

#include <string>
#include <vector>

#include "kernels/common/variants.h"
#include "kernels/conv1d/conv1d.h"

namespace loom::kernels {

using Conv1dVariantRow = Variant<Conv1dFwdArgs, Conv1dBwdArgs>;
using TextCnnVariantRow = Variant<TextCnnFwdArgs, TextCnnBwdArgs>;

const std::vector<Conv1dVariantRow>& conv1d_variants();
const std::vector<TextCnnVariantRow>& textcnn_variants();

// The row named `name`; throws Error listing this build's rows when there is none.
const Conv1dVariantRow& conv1d_variant(const std::string& name);
const TextCnnVariantRow& textcnn_variant(const std::string& name);

}  // namespace loom::kernels
