// models/text_classifier.cc: ModelConfig (validation, JSON), the TextClassifier base (batch
// preparation, head, state_dict load), make_model and the presets. See models/text_classifier.h.
#include "models/text_classifier.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "ops/elementwise.h"
#include "layers/conv1d.h"
#include "models/bilstm.h"
#include "models/bow.h"
#include "models/cnn.h"
#include "models/cnn_lstm.h"
#include "models/lstm.h"
#include "models/lstm_cnn.h"

namespace loom::models {
namespace {

struct ArchName {
  Arch arch;
  const char* name;
};
constexpr ArchName kArchNames[] = {{Arch::Bow, "bow"},         {Arch::Cnn, "cnn"},
                                   {Arch::Lstm, "lstm"},       {Arch::Bilstm, "bilstm"},
                                   {Arch::CnnLstm, "cnn-lstm"}, {Arch::LstmCnn, "lstm-cnn"}};

std::string join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

bool uses_lstm(Arch a) { return a == Arch::Lstm || a == Arch::Bilstm || a == Arch::CnnLstm || a == Arch::LstmCnn; }
bool uses_conv(Arch a) { return a == Arch::Cnn || a == Arch::CnnLstm || a == Arch::LstmCnn; }

}  // namespace

Arch parse_arch(const std::string& name) {
  std::vector<std::string> names;
  for (const ArchName& a : kArchNames) {
    if (name == a.name) return a.arch;
    names.push_back(a.name);
  }
  LOOM_THROW(Error, "unknown architecture '", name, "' (choose one of ", join(names), ")");
}

const char* arch_name(Arch arch) {
  for (const ArchName& a : kArchNames)
    if (a.arch == arch) return a.name;
  return "?";
}

Init parse_init(const std::string& name) {
  if (name == "torch") return Init::Torch;
  if (name == "keras") return Init::Keras;
  LOOM_THROW(Error, "unknown init '", name, "' (choose torch or keras)");
}

const char* init_name(Init init) { return init == Init::Torch ? "torch" : "keras"; }

// ---- ModelConfig ---------------------------------------------------------------------------------

void ModelConfig::validate() const {
  LOOM_CHECK(vocab_size >= 2, "model config: vocab_size must be >= 2 (<pad> and <unk>), got ", vocab_size);
  LOOM_CHECK(embed_dim >= 1, "model config: embed_dim must be >= 1, got ", embed_dim);
  LOOM_CHECK(num_outputs >= 1, "model config: num_outputs must be >= 1, got ", num_outputs);
  LOOM_CHECK(dropout >= 0.0f && dropout < 1.0f, "model config: dropout must be in [0, 1), got ", dropout);
  if (uses_lstm(arch)) {
    LOOM_CHECK(hidden >= 1, "model config: hidden must be >= 1, got ", hidden);
    LOOM_CHECK(layers >= 1, "model config: layers must be >= 1, got ", layers);
  }
  if (uses_conv(arch)) {
    LOOM_CHECK(!widths.empty() && widths.size() <= static_cast<std::size_t>(ops::kMaxTextCnnWidths),
               "model config: between 1 and ", ops::kMaxTextCnnWidths, " conv widths, got ", widths.size());
    for (std::int64_t w : widths) LOOM_CHECK(w >= 1 && w <= 64, "model config: conv width ", w, " is outside [1, 64]");
    LOOM_CHECK(filters >= 1, "model config: filters must be >= 1, got ", filters);
  }
}

std::int64_t ModelConfig::feature_size() const {
  switch (arch) {
    case Arch::Bow: return embed_dim;
    case Arch::Cnn:
    case Arch::LstmCnn: return filters * static_cast<std::int64_t>(widths.size());
    case Arch::Lstm:
    case Arch::CnnLstm: return hidden;
    case Arch::Bilstm: return 2 * hidden;
  }
  return 0;
}

std::string ModelConfig::summary() const {
  std::ostringstream os;
  os << arch_name(arch) << (preset.empty() ? "" : " (preset " + preset + ")") << ": embed " << embed_dim;
  std::vector<std::string> w;
  for (std::int64_t k : widths) w.push_back(std::to_string(k));
  const std::string lstm = (arch == Arch::Bilstm ? ", bilstm " : ", lstm ") + std::to_string(layers) + "x" +
                           std::to_string(hidden);
  switch (arch) {
    case Arch::Bow: os << ", mean over tokens"; break;
    case Arch::Cnn: os << ", convs " << join(w, ",") << " x " << filters; break;
    case Arch::Lstm:
    case Arch::Bilstm: os << lstm; break;
    case Arch::CnnLstm: os << ", conv " << widths.front() << " x " << filters << ", max pool 2" << lstm; break;
    case Arch::LstmCnn: os << lstm << ", convs " << join(w, ",") << " x " << filters; break;
  }
  if (arch != Arch::Bow) os << ", dropout " << dropout;
  os << ", " << num_outputs << (num_outputs == 1 ? " output" : " outputs") << ", init " << init_name(init);
  return os.str();
}

nlohmann::json ModelConfig::to_json() const {
  return {{"arch", arch_name(arch)}, {"vocab_size", vocab_size}, {"embed_dim", embed_dim},
          {"hidden", hidden},        {"layers", layers},         {"dropout", dropout},
          {"num_outputs", num_outputs}, {"widths", widths},      {"filters", filters},
          {"preset", preset},        {"init", init_name(init)}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) LOOM_THROW(CheckpointError, "model config: expected a JSON object, found ", j.type_name());
  static const std::set<std::string> known{"arch",    "vocab_size", "embed_dim", "hidden", "layers", "dropout",
                                           "num_outputs", "widths", "filters",   "preset", "init"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) LOOM_THROW(CheckpointError, "model config: unknown field '", it.key(), "'");
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!j.contains(name)) LOOM_THROW(CheckpointError, "model config: missing field '", name, "'");
    return j.at(name);
  };
  auto integer = [&](const char* name) {
    const nlohmann::json& v = field(name);
    if (!v.is_number_integer())
      LOOM_THROW(CheckpointError, "model config: field '", name, "' must be an integer, found ", v.dump());
    return v.get<std::int64_t>();
  };
  auto string = [&](const char* name, const char* fallback) {
    if (!j.contains(name) && fallback) return std::string(fallback);
    const nlohmann::json& v = field(name);
    if (!v.is_string()) LOOM_THROW(CheckpointError, "model config: field '", name, "' must be a string, found ", v.dump());
    return v.get<std::string>();
  };
  ModelConfig c;
  try {
    c.arch = parse_arch(string("arch", nullptr));
    c.init = parse_init(string("init", "torch"));
  } catch (const CheckpointError&) {
    throw;
  } catch (const Error& e) {
    LOOM_THROW(CheckpointError, "model config: ", e.what());
  }
  c.preset = string("preset", "");
  c.vocab_size = integer("vocab_size");
  c.embed_dim = integer("embed_dim");
  c.hidden = integer("hidden");
  const std::int64_t layers = integer("layers");
  if (layers < 1 || layers > 64) LOOM_THROW(CheckpointError, "model config: field 'layers' = ", layers, " is outside [1, 64]");
  c.layers = static_cast<int>(layers);
  const nlohmann::json& dropout = field("dropout");
  if (!dropout.is_number()) LOOM_THROW(CheckpointError, "model config: field 'dropout' must be a number, found ", dropout.dump());
  c.dropout = dropout.get<float>();
  c.num_outputs = integer("num_outputs");
  c.filters = integer("filters");
  const nlohmann::json& widths = field("widths");
  if (!widths.is_array()) LOOM_THROW(CheckpointError, "model config: field 'widths' must be an array, found ", widths.dump());
  c.widths.clear();
  for (const auto& w : widths) {
    if (!w.is_number_integer()) LOOM_THROW(CheckpointError, "model config: field 'widths' holds ", w.dump(), ", not an integer");
    c.widths.push_back(w.get<std::int64_t>());
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw CheckpointError(e.what());
  }
  return c;
}

// ---- TextClassifier ------------------------------------------------------------------------------

namespace {

layers::EmbeddingConfig embedding_config(const ModelConfig& c, DType dtype) {
  c.validate();  // before any layer is built, so a bad config names its field
  layers::EmbeddingConfig e;
  e.num_embeddings = c.vocab_size;
  e.embedding_dim = c.embed_dim;
  e.init = c.init == Init::Keras ? layers::EmbeddingInit::Uniform : layers::EmbeddingInit::Normal;
  e.dtype = dtype;
  return e;
}

layers::LinearConfig head_config(const ModelConfig& c, DType dtype) {
  layers::LinearConfig l;
  l.in_features = c.feature_size();
  l.out_features = c.num_outputs;
  l.init = c.init == Init::Keras ? layers::LinearInit::Glorot : layers::LinearInit::Torch;
  l.dtype = dtype;
  return l;
}

}  // namespace

std::uint64_t TextClassifier::sub_seed(std::uint64_t seed, std::uint64_t index) {
  // splitmix64 of (seed, index): nearby seeds and indices give unrelated streams.
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

TextClassifier::TextClassifier(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype)
    : config_(config),
      device_(device),
      dtype_(dtype),
      embedding_(embedding_config(config, dtype), sub_seed(seed, 0), device),
      head_(head_config(config, dtype), sub_seed(seed, 1), device) {}

std::vector<layers::NamedTensor> TextClassifier::named_parameters() const {
  std::vector<layers::NamedTensor> out{{"embedding.weight", embedding_.weight()}};
  for (auto& p : body_parameters()) out.push_back(std::move(p));
  for (const auto& [name, t] : head_.named_parameters()) out.emplace_back("head." + name, t);
  return out;
}

// The only 3-d parameters are conv weights, stored [F, K, C] and exported as PyTorch's [F, C, K].
std::vector<layers::NamedTensor> TextClassifier::state_dict() const {
  std::vector<layers::NamedTensor> out;
  for (const auto& [name, t] : named_parameters())
    out.emplace_back(name, t.ndim() == 3 ? layers::conv_weight_to_torch(t) : t);
  return out;
}

void TextClassifier::load_state_dict(const std::vector<layers::NamedTensor>& tensors) {
  const std::string who = std::string("load_state_dict (") + arch_name(config_.arch) + " model): ";
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : tensors)
    if (!given.emplace(name, &t).second) LOOM_THROW(CheckpointError, who, "tensor '", name, "' appears twice");
  const std::vector<layers::NamedTensor> params = named_parameters();
  std::vector<std::string> missing, unexpected;
  std::set<std::string> expected;
  for (const auto& [name, p] : params) {
    expected.insert(name);
    if (!given.count(name)) missing.push_back(name);
  }
  for (const auto& [name, t] : tensors)
    if (!expected.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty())
    LOOM_THROW(CheckpointError, who, missing.empty() ? "" : "missing tensors: " + join(missing),
               missing.empty() || unexpected.empty() ? "" : "; ",
               unexpected.empty() ? "" : "unexpected tensors: " + join(unexpected));
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

std::vector<Tensor> TextClassifier::trainable_parameters() const {
  std::vector<Tensor> out;
  for (const auto& [name, t] : named_parameters())
    if (t.requires_grad()) out.push_back(t);
  return out;
}

std::int64_t TextClassifier::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

TextClassifier::Inputs TextClassifier::prepare(const Tensor& tokens, const Tensor& lengths, std::int64_t min_len) const {
  LOOM_CHECK_SHAPE(tokens.defined() && tokens.dtype() == DType::I32 && tokens.ndim() == 2 && tokens.dim(0) >= 1 &&
                       tokens.dim(1) >= 1,
                   arch_name(config_.arch), " model: tokens must be i32 [T, B] with T, B >= 1, got ", describe(tokens));
  const std::int64_t T = tokens.dim(0), B = tokens.dim(1);
  LOOM_CHECK_SHAPE(lengths.defined() && lengths.dtype() == DType::I32 && lengths.shape() == Shape({B}),
                   arch_name(config_.arch), " model: lengths must be i32 [", B, "], got ", describe(lengths));
  const std::vector<std::int32_t> len = lengths.to_vector_i32();
  for (std::int64_t b = 0; b < B; ++b)
    LOOM_CHECK_SHAPE(len[b] >= 1 && len[b] <= T, arch_name(config_.arch), " model: lengths[", b, "] = ", len[b],
                     " is outside [1, T] = [1, ", T, "]");
  // One host pass over the ids (T*B ints, nothing next to the model's work): pad the time axis to
  // min_len and overwrite every position past a row's length with <pad>, whatever the batch held.
  const std::int64_t Tp = std::max(T, min_len);
  const std::vector<std::int32_t> ids = tokens.to_vector_i32();
  std::vector<std::int32_t> clean(static_cast<std::size_t>(Tp * B), 0);
  std::vector<std::int32_t> padded(len.size());
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < len[b]; ++t) clean[t * B + b] = ids[t * B + b];
    padded[b] = static_cast<std::int32_t>(std::max<std::int64_t>(len[b], min_len));
  }
  Inputs in;
  in.tokens = Tensor::from_vector(clean, {Tp, B}, device_);
  in.lengths = lengths.device() == device_ ? lengths : lengths.to(device_);
  in.padded_lengths = min_len > 1 ? Tensor::from_vector(padded, {B}, device_) : in.lengths;
  return in;
}

Tensor TextClassifier::head(const Tensor& features, layers::Phase phase, Generator& gen) const {
  const bool drop = phase == layers::Phase::Train && config_.dropout > 0.0f && config_.arch != Arch::Bow;
  return head_.forward(drop ? ops::dropout(features, config_.dropout, gen) : features);
}

// ---- factory and presets -------------------------------------------------------------------------

std::unique_ptr<TextClassifier> make_model(const ModelConfig& config, std::uint64_t seed, Device device, DType dtype) {
  config.validate();
  require_usable(device);
  LOOM_CHECK(dtype == DType::F32 || (dtype == DType::F64 && device.is_cpu()),
             "make_model: parameters must be f32 (or f64 on the CPU, for gradient checks), got ", dtype_name(dtype),
             " on ", device.str());
  switch (config.arch) {
    case Arch::Bow: return std::make_unique<BowClassifier>(config, seed, device, dtype);
    case Arch::Cnn: return std::make_unique<CnnClassifier>(config, seed, device, dtype);
    case Arch::Lstm: return std::make_unique<LstmClassifier>(config, seed, device, dtype);
    case Arch::Bilstm: return std::make_unique<BilstmClassifier>(config, seed, device, dtype);
    case Arch::CnnLstm: return std::make_unique<CnnLstmClassifier>(config, seed, device, dtype);
    case Arch::LstmCnn: return std::make_unique<LstmCnnClassifier>(config, seed, device, dtype);
  }
  LOOM_THROW(Error, "make_model: unknown architecture");
}

std::vector<std::string> preset_names() { return {"bilstm-imdb", "cnn-kim"}; }

bool is_preset(const std::string& name) {
  const std::vector<std::string> names = preset_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

ModelConfig preset(const std::string& name) {
  ModelConfig c;
  c.preset = name;
  if (name == "bilstm-imdb") {
    c.arch = Arch::Bilstm;
    c.embed_dim = 128;
    c.hidden = 64;
    c.layers = 2;
    c.dropout = 0.0f;  // the example has none
    c.init = Init::Keras;
  } else if (name == "cnn-kim") {
    c.arch = Arch::Cnn;
    c.embed_dim = 300;
    c.widths = {3, 4, 5};
    c.filters = 100;
    c.dropout = 0.5f;
  } else {
    LOOM_THROW(Error, "unknown preset '", name, "' (choose one of ", join(preset_names()), ")");
  }
  return c;
}

}  // namespace loom::models
