// models/model_config.cc: architecture and init names, ModelConfig's validation, summary line and
// JSON, and the presets. See models/model_config.h.
#include "models/model_config.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "core/error.h"
#include "ops/conv1d.h"

namespace loom::models {
namespace {

struct ArchName {
  Arch arch;
  const char* name;
};
constexpr ArchName kArchNames[] = {{Arch::Bow, "bow"},         {Arch::Cnn, "cnn"},
                                   {Arch::Lstm, "lstm"},       {Arch::Bilstm, "bilstm"},
                                   {Arch::CnnLstm, "cnn-lstm"}, {Arch::LstmCnn, "lstm-cnn"},
                                   {Arch::Hybrid, "hybrid"},   {Arch::MetaMlp, "meta-mlp"},
                                   {Arch::FastText, "fasttext"}};

std::string join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

bool uses_lstm(Arch a) { return a == Arch::Lstm || a == Arch::Bilstm || a == Arch::CnnLstm || a == Arch::LstmCnn; }
bool uses_conv(Arch a) { return a == Arch::Cnn || a == Arch::CnnLstm || a == Arch::LstmCnn; }
bool reads_meta(Arch a) { return a == Arch::Hybrid || a == Arch::MetaMlp; }

// The feature size of a text architecture (the six), from the text-side fields.
std::int64_t text_feature_size(const ModelConfig& c, Arch a) {
  switch (a) {
    case Arch::Bow:
    case Arch::FastText: return c.embed_dim;
    case Arch::Cnn:
    case Arch::LstmCnn: return c.filters * static_cast<std::int64_t>(c.widths.size());
    case Arch::Lstm:
    case Arch::CnnLstm: return c.hidden;
    case Arch::Bilstm: return 2 * c.hidden;
    case Arch::Hybrid:
    case Arch::MetaMlp: break;
  }
  return 0;
}

// The text side of the summary line: "embed 128, lstm 1x128" (no dropout, no outputs).
std::string text_summary(const ModelConfig& c, Arch a) {
  std::ostringstream os;
  os << "embed " << c.embed_dim;
  std::vector<std::string> w;
  for (std::int64_t k : c.widths) w.push_back(std::to_string(k));
  const std::string lstm = (a == Arch::Bilstm ? ", bilstm " : ", lstm ") + std::to_string(c.layers) + "x" +
                           std::to_string(c.hidden);
  switch (a) {
    case Arch::Bow: os << ", mean over tokens"; break;
    case Arch::FastText:
      os << ", mean over words";
      if (c.word_ngrams > 1) os << " + word 2.." << c.word_ngrams << "-grams";
      if (c.char_max > 0) os << " + char " << c.char_min << ".." << c.char_max << "-grams";
      if (c.ngram_buckets > 0) os << " in " << c.ngram_buckets << " buckets";
      break;
    case Arch::Cnn: os << ", convs " << join(w, ",") << " x " << c.filters; break;
    case Arch::Lstm:
    case Arch::Bilstm: os << lstm; break;
    case Arch::CnnLstm: os << ", conv " << c.widths.front() << " x " << c.filters << ", max pool 2" << lstm; break;
    case Arch::LstmCnn: os << lstm << ", convs " << join(w, ",") << " x " << c.filters; break;
    case Arch::Hybrid:
    case Arch::MetaMlp: break;
  }
  return os.str();
}

}  // namespace

bool is_text_arch(Arch a) { return !reads_meta(a); }

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

void ModelConfig::validate() const {
  // meta-mlp reads no tokens: the trainer still records its vocabulary's size, but nothing is
  // built from it, so any V >= 0 is accepted (0 when a model is made without a vocabulary).
  if (arch == Arch::MetaMlp)
    LOOM_CHECK(vocab_size >= 0, "model config: vocab_size must be >= 0, got ", vocab_size);
  else
    LOOM_CHECK(vocab_size >= 2, "model config: vocab_size must be >= 2 (<pad> and <unk>), got ", vocab_size);
  LOOM_CHECK(embed_dim >= 1, "model config: embed_dim must be >= 1, got ", embed_dim);
  LOOM_CHECK(num_outputs >= 1, "model config: num_outputs must be >= 1, got ", num_outputs);
  LOOM_CHECK(dropout >= 0.0f && dropout < 1.0f, "model config: dropout must be in [0, 1), got ", dropout);
  LOOM_CHECK(text_dropout >= 0.0f && text_dropout < 1.0f, "model config: text_dropout must be in [0, 1), got ",
             text_dropout);
  LOOM_CHECK(text_dropout == 0.0f || arch == Arch::Hybrid, "model config: text_dropout is for hybrid, not ",
             arch_name(arch));
  if (arch == Arch::Hybrid)
    LOOM_CHECK(is_text_arch(text_arch), "model config: text_arch must be one of bow, cnn, lstm, bilstm, cnn-lstm, "
               "lstm-cnn, fasttext, got ", arch_name(text_arch));
  if (hashes_ngrams()) {
    LOOM_CHECK(word_ngrams >= 1 && word_ngrams <= 5, "model config: word_ngrams must be in [1, 5], got ", word_ngrams);
    LOOM_CHECK((char_min == 0 && char_max == 0) || (char_min >= 1 && char_min <= char_max && char_max <= 10),
               "model config: char n-grams must be 0,0 or min,max with 1 <= min <= max <= 10, got ", char_min, ",",
               char_max);
    const bool hashed = word_ngrams > 1 || char_max > 0;
    LOOM_CHECK(hashed ? ngram_buckets >= 1 : ngram_buckets == 0, "model config: ngram_buckets must be ",
               hashed ? ">= 1 when n-grams are hashed" : "0 without n-grams", ", got ", ngram_buckets);
    LOOM_CHECK(vocab_size + ngram_buckets <= 2147483647LL, "model config: vocab_size + ngram_buckets = ",
               vocab_size + ngram_buckets, " exceeds 2^31 - 1 token ids");
  }
  // The text side's fields are checked for the architecture that reads them (hybrid: its encoder).
  const Arch text = arch == Arch::Hybrid ? text_arch : arch;
  if (uses_lstm(text)) {
    LOOM_CHECK(hidden >= 1, "model config: hidden must be >= 1, got ", hidden);
    LOOM_CHECK(layers >= 1, "model config: layers must be >= 1, got ", layers);
  }
  if (uses_conv(text)) {
    LOOM_CHECK(!widths.empty() && widths.size() <= static_cast<std::size_t>(ops::kMaxTextCnnWidths),
               "model config: between 1 and ", ops::kMaxTextCnnWidths, " conv widths, got ", widths.size());
    for (std::int64_t w : widths) LOOM_CHECK(w >= 1 && w <= 64, "model config: conv width ", w, " is outside [1, 64]");
    LOOM_CHECK(filters >= 1, "model config: filters must be >= 1, got ", filters);
  }
  if (reads_meta(arch)) {
    LOOM_CHECK(meta_features >= 1, "model config: meta_features must be >= 1 (the ", arch_name(arch),
               " model reads account metadata), got ", meta_features);
    LOOM_CHECK(meta_hidden >= 1, "model config: meta_hidden must be >= 1, got ", meta_hidden);
    LOOM_CHECK(fuse_hidden >= 1, "model config: fuse_hidden must be >= 1, got ", fuse_hidden);
    LOOM_CHECK(meta_encoding == "standardize" || meta_encoding == "ple",
               "model config: meta_encoding must be standardize or ple, got '", meta_encoding, "'");
    LOOM_CHECK(meta_bins >= 1 && meta_bins <= 1024, "model config: meta_bins must be in [1, 1024], got ", meta_bins);
  }
}

std::int64_t ModelConfig::feature_size() const {
  if (arch == Arch::Hybrid) return fuse_hidden;
  if (arch == Arch::MetaMlp) return meta_hidden;
  return text_feature_size(*this, arch);
}

std::int64_t ModelConfig::embedding_rows() const {
  return vocab_size + (hashes_ngrams() ? ngram_buckets : 0);
}

std::string ModelConfig::summary() const {
  std::ostringstream os;
  os << arch_name(arch) << (preset.empty() ? "" : " (preset " + preset + ")") << ": ";
  const std::string meta = "meta " + std::to_string(meta_features) +
                           (meta_encoding == "ple" ? " (ple x" + std::to_string(meta_bins) + ")" : "") + " -> " +
                           std::to_string(meta_hidden);
  if (arch == Arch::Hybrid)
    os << "text " << arch_name(text_arch) << " (" << text_summary(*this, text_arch) << ") + " << meta << ", fuse "
       << fuse_hidden;
  else if (arch == Arch::MetaMlp)
    os << meta;
  else
    os << text_summary(*this, arch);
  if (arch != Arch::Bow) os << ", dropout " << dropout;
  os << ", " << num_outputs << (num_outputs == 1 ? " output" : " outputs") << ", init " << init_name(init);
  return os.str();
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {{"arch", arch_name(arch)}, {"vocab_size", vocab_size}, {"embed_dim", embed_dim},
                      {"hidden", hidden},        {"layers", layers},         {"dropout", dropout},
                      {"num_outputs", num_outputs}, {"widths", widths},      {"filters", filters},
                      {"preset", preset},        {"init", init_name(init)}};
  if (hashes_ngrams()) {  // only fasttext (alone or as a hybrid's text), so every other config.json is unchanged
    j["word_ngrams"] = word_ngrams;
    j["ngram_buckets"] = ngram_buckets;
    j["char_ngrams"] = std::vector<std::int64_t>{char_min, char_max};
  }
  // Only the models that read metadata write these, so a text model's config.json is exactly what
  // it was before they existed.
  if (reads_meta(arch)) {
    j["text_arch"] = arch_name(text_arch);
    j["meta_features"] = meta_features;
    j["meta_hidden"] = meta_hidden;
    j["fuse_hidden"] = fuse_hidden;
    // Only when not the default, so a run from before the option reads and writes the same JSON.
    if (meta_encoding != "standardize") {
      j["meta_encoding"] = meta_encoding;
      j["meta_bins"] = meta_bins;
    }
    if (text_dropout > 0.0f) j["text_dropout"] = text_dropout;
  }
  return j;
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) LOOM_THROW(CheckpointError, "model config: expected a JSON object, found ", j.type_name());
  static const std::set<std::string> known{"arch",    "vocab_size", "embed_dim", "hidden", "layers", "dropout",
                                           "num_outputs", "widths", "filters",   "preset", "init"};
  // Written (and required) only for hybrid and meta-mlp; a text model's config may not hold them.
  // meta_encoding and meta_bins are optional there (absent: standardize, as before they existed).
  static const std::set<std::string> meta_fields{"text_arch",   "meta_features", "meta_hidden",
                                                 "fuse_hidden", "meta_encoding", "meta_bins", "text_dropout"};
  static const std::set<std::string> ngram_fields{"word_ngrams", "ngram_buckets", "char_ngrams"};  // fasttext only
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()) && !meta_fields.count(it.key()) && !ngram_fields.count(it.key()))
      LOOM_THROW(CheckpointError, "model config: unknown field '", it.key(), "'");
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
  if (reads_meta(c.arch)) {
    try {
      c.text_arch = parse_arch(string("text_arch", nullptr));
    } catch (const CheckpointError&) {
      throw;
    } catch (const Error& e) {
      LOOM_THROW(CheckpointError, "model config: field 'text_arch': ", e.what());
    }
    c.meta_features = integer("meta_features");
    c.meta_hidden = integer("meta_hidden");
    c.fuse_hidden = integer("fuse_hidden");
    c.meta_encoding = string("meta_encoding", "standardize");
    if (j.contains("meta_bins")) c.meta_bins = integer("meta_bins");
    if (j.contains("text_dropout")) {
      const nlohmann::json& v = field("text_dropout");
      if (!v.is_number())
        LOOM_THROW(CheckpointError, "model config: field 'text_dropout' must be a number, found ", v.dump());
      c.text_dropout = v.get<float>();
    }
  } else {
    for (const std::string& name : meta_fields)
      if (j.contains(name))
        LOOM_THROW(CheckpointError, "model config: field '", name, "' belongs to hybrid and meta-mlp, not to ",
                   arch_name(c.arch));
  }
  if (c.hashes_ngrams()) {
    c.word_ngrams = integer("word_ngrams");
    c.ngram_buckets = integer("ngram_buckets");
    const nlohmann::json& chars = field("char_ngrams");
    if (!chars.is_array() || chars.size() != 2 || !chars[0].is_number_integer() || !chars[1].is_number_integer())
      LOOM_THROW(CheckpointError, "model config: field 'char_ngrams' must be [min, max] integers, found ", chars.dump());
    c.char_min = chars[0].get<std::int64_t>();
    c.char_max = chars[1].get<std::int64_t>();
  } else {
    for (const std::string& name : ngram_fields)
      if (j.contains(name))
        LOOM_THROW(CheckpointError, "model config: field '", name, "' belongs to fasttext, not to ", arch_name(c.arch));
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

// ---- presets -----------------------------------------------------------------------------------

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
