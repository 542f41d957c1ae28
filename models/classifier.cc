// models/classifier.cc: what every model shares: state_dict saving and checked loading, the
// trainable parameters, and the defaults of the text and metadata hooks. See models/classifier.h.
#include "models/classifier.h"

#include <map>
#include <set>

#include "core/error.h"
#include "data/csv.h"
#include "layers/conv1d.h"

namespace loom::models {
namespace {

// Parameters then buffers: everything a weights file holds, in loom's layouts.
std::vector<layers::NamedTensor> stored_tensors(const Classifier& m) {
  std::vector<layers::NamedTensor> out = m.named_parameters();
  for (auto& b : m.named_buffers()) out.push_back(std::move(b));
  return out;
}

}  // namespace

std::uint64_t Classifier::sub_seed(std::uint64_t seed, std::uint64_t index) {
  // splitmix64 of (seed, index): nearby seeds and indices give unrelated streams.
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The only 3-d tensors are conv weights, stored [F, K, C] and exported as PyTorch's [F, C, K].
std::vector<layers::NamedTensor> Classifier::state_dict() const {
  std::vector<layers::NamedTensor> out;
  for (const auto& [name, t] : stored_tensors(*this))
    out.emplace_back(name, t.ndim() == 3 ? layers::conv_weight_to_torch(t) : t);
  return out;
}

void load_checked(const std::string& who, const std::vector<layers::NamedTensor>& targets,
                  const std::vector<layers::NamedTensor>& tensors) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : tensors)
    if (!given.emplace(name, &t).second) LOOM_THROW(CheckpointError, who, "tensor '", name, "' appears twice");
  const std::vector<layers::NamedTensor>& params = targets;
  std::vector<std::string> missing, unexpected;
  std::set<std::string> expected;
  for (const auto& [name, p] : params) {
    expected.insert(name);
    if (!given.count(name)) missing.push_back(name);
  }
  for (const auto& [name, t] : tensors)
    if (!expected.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty())
    LOOM_THROW(CheckpointError, who, missing.empty() ? "" : "missing tensors: " + data::join_names(missing),
               missing.empty() || unexpected.empty() ? "" : "; ",
               unexpected.empty() ? "" : "unexpected tensors: " + data::join_names(unexpected));
  // Check everything before copying anything: a failed load leaves the model as it was.
  for (const auto& [name, p] : params) {
    const Tensor& t = *given.at(name);
    Shape want = p.shape();
    if (p.ndim() == 3) std::swap(want[1], want[2]);  // PyTorch's conv layout [F, C, K]
    if (!t.defined() || t.shape() != want)
      LOOM_THROW(CheckpointError, who, "tensor '", name, "': expected shape ", shape_str(want), ", found ",
                 t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
    if (!is_floating(t.dtype()))
      LOOM_THROW(CheckpointError, who, "tensor '", name, "': expected a float tensor, found ", dtype_name(t.dtype()));
  }
  for (const auto& [name, p] : params) {
    const Tensor value = given.at(name)->to(p.dtype());
    Tensor param = p;  // shares the parameter's storage
    param.copy_from(p.ndim() == 3 ? layers::conv_weight_from_torch(value) : value);
  }
}

void Classifier::load_state_dict(const std::vector<layers::NamedTensor>& tensors) {
  load_checked(std::string("load_state_dict (") + arch_name(config_.arch) + " model): ", stored_tensors(*this), tensors);
}

std::vector<Tensor> Classifier::trainable_parameters() const {
  std::vector<Tensor> out;
  for (const auto& [name, t] : named_parameters())
    if (t.requires_grad()) out.push_back(t);
  return out;
}

std::int64_t Classifier::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

Tensor Classifier::embedding_weight() const {
  LOOM_THROW(Error, arch_name(config_.arch), " model has no embedding table");
}

void Classifier::set_freeze_embeddings(bool frozen) {
  LOOM_CHECK(!frozen, "--freeze-embeddings: the ", arch_name(config_.arch), " model has no embedding table");
}

void Classifier::set_meta_scaler(const std::vector<float>&, const std::vector<float>&) {
  LOOM_THROW(Error, arch_name(config_.arch), " model reads no account metadata");
}

}  // namespace loom::models
