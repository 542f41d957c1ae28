// ops/autograd.h: an explicit, eager tape.
//
// Ops run immediately. Inside a recording scope (Tape::record()) each op whose inputs need a
// gradient appends one Node to the tape, in execution order, so walking the tape backwards is
// already a topological order: no graph search. A Node saves exactly what its backward needs
// (members named saved_*).
//
// Where gradients live:
//   - leaves (parameters, or inputs marked set_requires_grad(true)) keep theirs in
//     Tensor::grad(); it ACCUMULATES across backward passes until zero_grad();
//   - intermediate (activation) gradients live only while the tape walks back: each is dropped as
//     soon as the node that produced the activation has consumed it.
// Backward kernels receive a GradMode: Overwrite for a gradient buffer's first writer, Accumulate
// for every later one (a parameter used twice gets the sum). Every gradient is checked to have
// its tensor's shape.
//
//   Tape tape;
//   { auto rec = tape.record(); loss = model.forward(batch); }
//   tape.backward(loss);  // leaves' .grad() now hold dloss/dleaf
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/grad_mode.h"
#include "ops/tensor.h"

namespace loom {

struct AutogradMeta {
  bool requires_grad = false;
  bool is_leaf = true;  // false for outputs of recorded ops
  Tensor grad;          // undefined until something wrote it
};

// What a node remembers about each input and output, without keeping its data alive.
struct TensorSlot {
  std::shared_ptr<AutogradMeta> meta;  // null for inputs that need no gradient
  Shape shape;
  DType dtype = DType::F32;
  Device device;
};

// A gradient destination handed to a backward kernel.
struct GradTarget {
  Tensor buffer;   // shape/dtype/device of the input
  GradMode mode;   // Overwrite: buffer is fresh (uninitialized); Accumulate: add into it
};

class Node {
 public:
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // Reads gradients of outputs (grad_output) and writes gradients of inputs (grad_input).
  virtual void backward() = 0;

  std::vector<TensorSlot> inputs, outputs;

  // What a backward reads and writes (public, so record_op's closures can use them too).
  bool needs_grad(int input) const { return inputs[input].meta != nullptr; }
  // Gradient of output k; zeros if nothing downstream produced one (e.g. an unused split part).
  Tensor grad_output(int k) const;
  // Gradient of output k, or an undefined tensor if nothing downstream produced one (for kernels
  // that treat a missing gradient as zero without reading a buffer of zeros).
  Tensor grad_output_if_any(int k) const;
  // Gradient destination of input i (only call when needs_grad(i)).
  GradTarget grad_input(int i) const;
};

class Tape;

// Scope during which ops record onto `tape`. Nested scopes restore the previous tape.
class RecordingGuard {
 public:
  explicit RecordingGuard(Tape* tape);
  ~RecordingGuard();
  RecordingGuard(const RecordingGuard&) = delete;
  RecordingGuard& operator=(const RecordingGuard&) = delete;

 private:
  Tape* previous_;
};

// Evaluation scope: nothing records, whatever tape is active.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

class Tape {
 public:
  Tape() = default;
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  [[nodiscard]] RecordingGuard record() { return RecordingGuard(this); }
  // Seeds d(loss) = 1 (loss must have exactly one element) and walks the nodes in reverse.
  void backward(const Tensor& loss);
  // Seeds d(output) = grad_output (same shape) and walks the nodes in reverse.
  void backward(const Tensor& output, const Tensor& grad_output);

  std::size_t size() const { return nodes_.size(); }
  // One line per node: index, name, input and output shapes. The teaching view of BPTT.
  void dump(std::ostream& os) const;
  void clear();

  // Called by ops.
  void push(std::unique_ptr<Node> node) { nodes_.push_back(std::move(node)); }
  static Tape* current();  // the tape of the innermost RecordingGuard, or null

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
};

// True when an op with these inputs must record: a tape is active, no NoGradGuard is, and at
// least one input requires a gradient.
bool should_record(std::initializer_list<const Tensor*> inputs);

// Fills node->inputs / node->outputs, marks the outputs as needing a gradient and pushes the node
// onto the current tape. `outputs` are modified in place (they get fresh autograd metadata).
void record_node(std::unique_ptr<Node> node, std::initializer_list<const Tensor*> inputs,
                 std::initializer_list<Tensor*> outputs);
void record_node(std::unique_ptr<Node> node, const std::vector<const Tensor*>& inputs,
                 const std::vector<Tensor*>& outputs);

// An op's forward and backward side by side. After computing its outputs, an op calls
//
//   record_op("mul", {&a, &b}, {&y}, [a, b](Node& node) {
//     const Tensor dy = node.grad_output(0);
//     if (node.needs_grad(0)) ... write into node.grad_input(0) ...
//   });
//
// which, when should_record(inputs), pushes a node named `name` whose backward is the closure; the
// closure's captures are what the node saves (capture exactly what backward needs). Otherwise the
// closure is dropped and nothing is recorded. `name` must outlive the tape (a string literal).
using BackwardFn = std::function<void(Node&)>;
void record_op(const char* name, std::initializer_list<const Tensor*> inputs, std::initializer_list<Tensor*> outputs,
               BackwardFn backward);
void record_op(const char* name, const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               BackwardFn backward);

}  // namespace loom
