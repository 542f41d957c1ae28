// train/trace.h: what `loom trace` computes for one tweet (issue 15): the LSTM's gates and states
// at every token, the decision, and each token's share of it. tools/trace.cc prints it.
//
// Where the numbers come from (all on the run's own weights, dropout off):
//   - probabilities: the run's model, on its device and precision, through predict_scores() - the
//     very function `loom predict` calls, so both print the same numbers;
//   - gates and states: recomputed in F64 on the CPU from the state dict, one LSTM step at a time:
//       z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            (4H, gate order i, f, g, o)
//       i = sigma(z_i)  f = sigma(z_f)  g = tanh(z_g)  o = sigma(z_o)
//       c_t = f * c_{t-1} + i * g      h_t = o * tanh(c_t)      (h_{-1} = c_{-1} = 0)
//     The reverse direction reads t = T-1 down to 0. Layer l > 0 reads [h_fwd ; h_bwd] of layer l-1.
//     CHECKED against the engine: the last layer's recomputed h must equal the output y of the
//     engine's own LSTM layer (layers::Lstm, F64, the run's weights) and, for lstm / bilstm, the
//     run model's features (its F32 forward on its device); the largest differences are reported.
//   - attributions: gradient x input on the embedding, from the engine's autograd on an F64 copy of
//     the model. a_t = sum_e (d s / d e_t)[e] * e_t[e], where s is the score of the predicted class:
//     multi-class its logit, multi-label the most probable label's logit, binary the logit z when
//     the decision is label 1 and -z (= log p0/p1) when it is label 0. share_t = a_t / sum_u |a_u|.
//     A token repeated in the tweet gets its own gradient: the F64 copy's vocabulary has one row per
//     position (row 2 + t holds e_t), so the embedding's gradient row 2 + t is d s / d e_t exactly.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "ops/autocast.h"
#include "train/checkpoint.h"

namespace loom::train {

// One LSTM layer and direction over the T tokens: [T][H] each, indexed by token position t (the
// reverse direction's row t is its state after reading token t, as PyTorch's output[t, H:]).
struct LstmTrace {
  int layer = 0;
  int direction = 0;  // 0 forward, 1 reverse
  std::vector<std::vector<double>> i, f, g, o, c, h;
};

struct TraceResult {
  std::string arch;                    // models::arch_name of the run
  std::vector<std::string> tokens;     // what the tokenizer produced (before max_len)
  std::vector<std::int32_t> ids;       // what the model reads (after max_len; one <unk> if empty)
  std::int64_t truncated = 0;          // tokens dropped by max_len
  std::vector<LstmTrace> lstm;         // index layer * D + direction; empty when not traced
  std::string no_lstm_reason;          // why lstm is empty ("" when traced)
  std::vector<std::string> label_names;
  std::vector<double> probs;           // one per label (binary: both classes)
  int predicted = 0;                   // label index of the decision (multi-label: the most probable)
  double score = 0;                    // s, the score the attributions explain (F64 copy)
  std::vector<double> attribution;     // a_t, gradient x input
  std::vector<double> share;           // a_t / sum |a|
  double check_layer = -1;             // max |h recomputed - engine LSTM layer y| (F64); -1: not run
  double check_features = -1;          // max |h_n recomputed - run model's features| (F32); -1: not run
};

// The tokens of `text` as the run's model reads them (tokenizer, vocabulary, max_len).
void tokenize_for_trace(const RunConfig& rc, const std::string& text, TraceResult& r);

// Everything above for the tokens already in r (tokenize_for_trace first). precision: the
// probabilities' precision (predict's default is the training one).
void trace_tokens(const LoadedRun& run, ops::Precision precision, TraceResult& r);

// --tape: the autograd tape of ops::lstm_cell (one step built from primitive ops) unrolled over the
// first `steps` tokens of layer 0, forward direction, with the run's weights (F64, CPU): one line per
// node, in execution order, with its input and output shapes (Tape::dump). The teaching view of
// backpropagation through time; the numbers are not used. Returns the number of nodes.
std::size_t dump_lstm_tape(const LoadedRun& run, const TraceResult& r, int steps, std::ostream& out);

// Summary of one vector: mean, min, max and the fraction of saturated units (gates in (0,1):
// v > 0.95 or v < 0.05; tanh values in (-1,1): |v| > 0.95).
struct VecStats {
  double mean = 0, min = 0, max = 0, saturated = 0;
};
VecStats vec_stats(const std::vector<double>& v, bool tanh_range);

// The k units of largest |v| (ties: lower index first), largest first.
std::vector<int> top_units(const std::vector<double>& v, int k);

}  // namespace loom::train
