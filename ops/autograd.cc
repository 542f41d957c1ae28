// ops/autograd.cc: the tape walk, recording scopes and gradient bookkeeping.
#include "ops/autograd.h"

#include <ostream>

#include "core/error.h"

namespace loom {
namespace {

thread_local Tape* current_tape = nullptr;
thread_local bool grad_enabled = true;

TensorSlot slot_of(const Tensor& t, bool track) {
  TensorSlot s;
  if (track) s.meta = t.autograd_meta();
  s.shape = t.shape();
  s.dtype = t.dtype();
  s.device = t.device();
  return s;
}

// Gradients of tensors made by ops die as soon as their producer has used them; leaves keep theirs.
void release_activation_grads(Node& node) {
  for (auto& out : node.outputs)
    if (out.meta && !out.meta->is_leaf) out.meta->grad = Tensor();
}

}  // namespace

Tensor Node::grad_output(int k) const {
  const TensorSlot& s = outputs[k];
  if (s.meta && s.meta->grad.defined()) return s.meta->grad;
  return Tensor::zeros(s.shape, s.dtype, s.device);
}

Tensor Node::grad_output_if_any(int k) const {
  const TensorSlot& s = outputs[k];
  return s.meta ? s.meta->grad : Tensor();
}

GradTarget Node::grad_input(int i) const {
  const TensorSlot& s = inputs[i];
  LOOM_CHECK(s.meta, name(), ": grad_input(", i, ") asked for an input that needs no gradient");
  if (s.meta->grad.defined()) {
    const Tensor& g = s.meta->grad;
    LOOM_CHECK_SHAPE(g.shape() == s.shape && g.dtype() == s.dtype, name(), ": gradient of input ", i, " is ",
                     g.str(), " but the input is ", dtype_name(s.dtype), shape_str(s.shape));
    return {g, GradMode::Accumulate};
  }
  s.meta->grad = Tensor::empty(s.shape, s.dtype, s.device);
  return {s.meta->grad, GradMode::Overwrite};
}

RecordingGuard::RecordingGuard(Tape* tape) : previous_(current_tape) { current_tape = tape; }
RecordingGuard::~RecordingGuard() { current_tape = previous_; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }

Tape* Tape::current() { return grad_enabled ? current_tape : nullptr; }

Tape::~Tape() { clear(); }

void Tape::clear() {
  for (auto& node : nodes_) release_activation_grads(*node);
  nodes_.clear();
}

void Tape::backward(const Tensor& loss) {
  LOOM_CHECK_SHAPE(loss.numel() == 1, "Tape::backward: the loss must have one element, got ", loss.str(),
                   " (pass a gradient for non-scalar outputs)");
  backward(loss, Tensor::full(loss.shape(), 1.0, loss.dtype(), loss.device()));
}

void Tape::backward(const Tensor& output, const Tensor& grad_output) {
  LOOM_CHECK(output.requires_grad(), "Tape::backward: ", output.str(),
             " does not require a gradient (was it computed inside tape.record() from tensors that do?)");
  LOOM_CHECK_SHAPE(grad_output.shape() == output.shape() && grad_output.dtype() == output.dtype(),
                   "Tape::backward: seed gradient ", grad_output.str(), " does not match output ", output.str());
  auto& meta = output.autograd_meta();
  meta->grad = grad_output.clone();
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    Node& node = **it;
    bool any = false;
    for (const auto& out : node.outputs) any = any || (out.meta && out.meta->grad.defined());
    if (!any) continue;  // nothing downstream of this node reached the output
    node.backward();
    release_activation_grads(node);
  }
  if (!meta->is_leaf) meta->grad = Tensor();
}

void Tape::dump(std::ostream& os) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = *nodes_[i];
    os << i << ": " << n.name() << " (";
    for (std::size_t k = 0; k < n.inputs.size(); ++k)
      os << (k ? ", " : "") << dtype_name(n.inputs[k].dtype) << shape_str(n.inputs[k].shape);
    os << ") -> (";
    for (std::size_t k = 0; k < n.outputs.size(); ++k)
      os << (k ? ", " : "") << dtype_name(n.outputs[k].dtype) << shape_str(n.outputs[k].shape);
    os << ")\n";
  }
}

bool should_record(std::initializer_list<const Tensor*> inputs) {
  if (!Tape::current()) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

void record_node(std::unique_ptr<Node> node, const std::vector<const Tensor*>& inputs,
                 const std::vector<Tensor*>& outputs) {
  Tape* tape = Tape::current();
  LOOM_CHECK(tape, "record_node: no active tape for ", node->name());
  for (const Tensor* t : inputs) {
    const bool track = t && t->defined() && t->requires_grad();
    node->inputs.push_back(track ? slot_of(*t, true) : (t && t->defined() ? slot_of(*t, false) : TensorSlot{}));
  }
  for (Tensor* t : outputs) {
    auto meta = std::make_shared<AutogradMeta>();
    meta->requires_grad = true;
    meta->is_leaf = false;
    t->set_autograd_meta(meta);
    node->outputs.push_back(slot_of(*t, true));
  }
  tape->push(std::move(node));
}

void record_node(std::unique_ptr<Node> node, std::initializer_list<const Tensor*> inputs,
                 std::initializer_list<Tensor*> outputs) {
  record_node(std::move(node), std::vector<const Tensor*>(inputs), std::vector<Tensor*>(outputs));
}

namespace {

// The node record_op pushes: a name and a closure.
class ClosureNode final : public Node {
 public:
  ClosureNode(const char* name, BackwardFn backward) : name_(name), backward_(std::move(backward)) {}
  const char* name() const override { return name_; }
  void backward() override { backward_(*this); }

 private:
  const char* name_;
  BackwardFn backward_;
};

}  // namespace

void record_op(const char* name, std::initializer_list<const Tensor*> inputs, std::initializer_list<Tensor*> outputs,
               BackwardFn backward) {
  record_op(name, std::vector<const Tensor*>(inputs), std::vector<Tensor*>(outputs), std::move(backward));
}

void record_op(const char* name, const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               BackwardFn backward) {
  bool record = Tape::current() != nullptr;
  if (record) {
    record = false;
    for (const Tensor* t : inputs) record = record || (t && t->defined() && t->requires_grad());
  }
  if (!record) return;
  record_node(std::make_unique<ClosureNode>(name, std::move(backward)), inputs, outputs);
}

}  // namespace loom

