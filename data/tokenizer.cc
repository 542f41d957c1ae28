// data/tokenizer.cc: the three tokenizer kinds, GloVe Twitter normalization and the config's
// names and JSON form (see tokenizer.h for what each does).
#include "data/tokenizer.h"

#include "core/error.h"
#include "data/tokenizer_unicode.h"
#include "data/tweet_scanner.h"

namespace loom::data {
namespace {

using unicode::to_lower;

struct Classed {
  std::u32string text;  // case as written
  TweetTokenClass kind;
};

void append_lower(std::vector<std::string>& out, std::u32string_view s) {
  out.push_back(unicode::encode_utf8(to_lower(s)));
}

// ---- the tweet kind ----------------------------------------------------------------------------

std::vector<Classed> scan_classed(std::u32string_view text, bool reduce_len) {
  const std::u32string prepared = prepare_tweet(text, reduce_len);
  std::vector<TweetSpan> spans;
  scan_tweet(prepared, spans);
  std::vector<Classed> out;
  out.reserve(spans.size());
  for (const TweetSpan& s : spans) {
    out.push_back({prepared.substr(s.begin, s.end - s.begin), s.kind});
  }
  return out;
}

std::vector<std::string> tweet_tokens(std::u32string_view text, const TokenizerConfig& config) {
  const std::u32string prepared = prepare_tweet(text, config.reduce_len);
  std::vector<TweetSpan> spans;
  scan_tweet(prepared, spans);
  std::vector<std::string> out;
  out.reserve(spans.size());
  std::string token;
  for (const TweetSpan& s : spans) {
    const std::u32string_view piece(prepared.data() + s.begin, s.end - s.begin);
    if (!config.lowercase || contains_emoticon(piece)) {
      out.push_back(unicode::encode_utf8(piece));
      continue;
    }
    // Most tokens are ASCII: lowercase them without the general (allocating) path.
    token.clear();
    bool ascii = true;
    for (const char32_t c : piece) {
      if (c >= 128) {
        ascii = false;
        break;
      }
      token += static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    if (ascii) {
      out.push_back(token);
    } else {
      append_lower(out, piece);
    }
  }
  return out;
}

// ---- the whitespace and char kinds -------------------------------------------------------------

std::u32string prepared_plain(std::u32string_view text, const TokenizerConfig& config) {
  std::u32string s = config.reduce_len ? reduce_lengthening(text) : std::u32string(text);
  return config.lowercase ? to_lower(s) : s;
}

std::vector<std::u32string> split_whitespace(std::u32string_view s) {
  std::vector<std::u32string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && unicode::is_py_space(s[i])) ++i;
    const std::size_t b = i;
    while (i < s.size() && !unicode::is_py_space(s[i])) ++i;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

std::vector<std::string> char_tokens(std::u32string_view s) {
  std::vector<std::string> out;
  bool pending_space = false;
  for (const char32_t c : s) {
    if (unicode::is_py_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.emplace_back(" ");
    pending_space = false;
    out.push_back(unicode::encode_utf8(std::u32string_view(&c, 1)));
  }
  return out;
}

// ---- GloVe Twitter normalization ----------------------------------------------------------------

bool is_upper(char32_t c) { return unicode::simple_lower(c) != c; }
bool is_lower_letter(char32_t c) { return unicode::is_cased(c) && !is_upper(c); }

bool all_caps(std::u32string_view s) {
  int upper = 0;
  for (const char32_t c : s) {
    if (is_lower_letter(c)) return false;
    upper += is_upper(c) ? 1 : 0;
  }
  return upper >= 2;
}

bool is_numeric(std::u32string_view s) {
  bool digit = false;
  for (const char32_t c : s) {
    if (unicode::is_digit(c)) {
      digit = true;
    } else if (std::u32string_view(U",.:/+-").find(c) == std::u32string_view::npos) {
      return false;
    }
  }
  return digit;
}

bool is_repeatable(const Classed& t) {
  return t.kind == TweetTokenClass::Other && (t.text == U"!" || t.text == U"?" || t.text == U".");
}

// The face an emoticon shows, or "" to keep it as written.
const char* face(std::u32string_view e) {
  const auto in = [](char32_t c, std::u32string_view set) { return set.find(c) != std::u32string_view::npos; };
  if (e == U"<3") return "<heart>";
  std::u32string_view s = e;
  if (!s.empty() && in(s.front(), U"<>")) s.remove_prefix(1);
  if (s.size() >= 2 && in(s.front(), U":;=8") && !in(s.back(), U":;=8<>")) {  // eyes first
    const char32_t mouth = s.back();
    if (in(mouth, U")]dD")) return "<smile>";
    if (in(mouth, U"pP")) return "<lolface>";
    if (in(mouth, U"([")) return "<sadface>";
    if (in(mouth, U"/\\|")) return "<neutralface>";
    return "";
  }
  const char32_t mouth = e.front();  // mirrored: "(:" smiles, "):" and "D:" do not
  if (in(mouth, U"([")) return "<smile>";
  if (in(mouth, U")]D")) return "<sadface>";
  if (in(mouth, U"/\\|")) return "<neutralface>";
  return "";
}

// "ThisIsNLProc" -> this is nl proc: a new piece starts at lower->upper and before the last
// capital of a capital run that a lowercase letter follows.
void split_camel(std::vector<std::string>& out, std::u32string_view s) {
  std::size_t b = 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const bool starts = is_upper(s[i]) && (is_lower_letter(s[i - 1]) ||
                                           (is_upper(s[i - 1]) && i + 1 < s.size() && is_lower_letter(s[i + 1])));
    if (starts) {
      append_lower(out, s.substr(b, i - b));
      b = i;
    }
  }
  if (b < s.size()) append_lower(out, s.substr(b));
}

void normalize_word(std::vector<std::string>& out, std::u32string_view w) {
  std::u32string base(w);
  bool elongated = false;
  if (base.size() >= 3) {
    std::size_t b = base.size() - 1;
    while (b > 0 && base[b - 1] == base.back()) --b;
    if (base.size() - b >= 3) {
      base.erase(b + 1);
      elongated = true;
    }
  }
  const bool caps = all_caps(w);
  append_lower(out, base);
  if (elongated) out.emplace_back("<elong>");
  if (caps) out.emplace_back("<allcaps>");
}

std::vector<std::string> glove_twitter(const std::vector<Classed>& tokens) {
  using K = TweetTokenClass;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < tokens.size();) {
    const Classed& t = tokens[i];
    if (is_repeatable(t)) {
      std::size_t j = i + 1;
      while (j < tokens.size() && is_repeatable(tokens[j])) ++j;
      append_lower(out, t.text);
      if (j - i >= 2) out.emplace_back("<repeat>");
      i = j;
      continue;
    }
    ++i;
    switch (t.kind) {
      case K::Url: out.emplace_back("<url>"); break;
      case K::Handle: out.emplace_back("<user>"); break;
      case K::Phone:
      case K::Number: out.emplace_back("<number>"); break;
      case K::Ellipsis:
        out.emplace_back(".");
        out.emplace_back("<repeat>");
        break;
      case K::Emoticon: {
        const char* f = face(t.text);
        if (*f) {
          out.emplace_back(f);
        } else {
          append_lower(out, t.text);
        }
        break;
      }
      case K::Hashtag: {
        std::u32string_view body = t.text;
        while (!body.empty() && body.front() == '#') body.remove_prefix(1);
        out.emplace_back("<hashtag>");
        if (all_caps(body)) {
          append_lower(out, body);
          out.emplace_back("<allcaps>");
        } else {
          split_camel(out, body);
        }
        break;
      }
      case K::Word:
        if (is_numeric(t.text)) {
          out.emplace_back("<number>");
          break;
        }
        normalize_word(out, t.text);
        break;
      case K::Compound: normalize_word(out, t.text); break;
      default: append_lower(out, t.text); break;
    }
  }
  return out;
}

// Whitespace pieces, each classified by what the tweet scanner makes of it alone.
std::vector<Classed> classify_pieces(const std::vector<std::u32string>& pieces) {
  std::vector<Classed> out;
  std::vector<TweetSpan> spans;
  for (const std::u32string& p : pieces) {
    spans.clear();
    scan_tweet(p, spans);
    const bool whole = spans.size() == 1 && spans[0].begin == 0 && spans[0].end == p.size();
    out.push_back({p, whole ? spans[0].kind : TweetTokenClass::Other});
  }
  return out;
}

template <typename Enum, std::size_t N>
Enum parse_name(std::string_view name, const char* what, const std::pair<const char*, Enum> (&names)[N]) {
  std::string valid;
  for (const auto& [n, value] : names) {
    if (name == n) return value;
    valid += valid.empty() ? "" : ", ";
    valid += n;
  }
  LOOM_THROW(Error, "unknown ", what, " '", std::string(name), "' (valid: ", valid, ")");
}

constexpr std::pair<const char*, TokenizerKind> kKindNames[] = {
    {"tweet", TokenizerKind::Tweet}, {"whitespace", TokenizerKind::Whitespace}, {"char", TokenizerKind::Char}};
constexpr std::pair<const char*, Normalize> kNormalizeNames[] = {{"none", Normalize::None},
                                                                 {"glove-twitter", Normalize::GloveTwitter}};

}  // namespace

TokenizerKind parse_tokenizer_kind(std::string_view name) { return parse_name(name, "tokenizer", kKindNames); }
Normalize parse_normalize(std::string_view name) { return parse_name(name, "normalization", kNormalizeNames); }

const char* to_string(TokenizerKind kind) {
  for (const auto& [n, value] : kKindNames) {
    if (value == kind) return n;
  }
  return "?";
}
const char* to_string(Normalize normalize) {
  for (const auto& [n, value] : kNormalizeNames) {
    if (value == normalize) return n;
  }
  return "?";
}

void validate(const TokenizerConfig& config) {
  if (config.kind == TokenizerKind::Char && config.normalize == Normalize::GloveTwitter) {
    LOOM_THROW(Error, "tokenizer: --normalize glove-twitter needs word tokens; use --tokenizer tweet or whitespace");
  }
}

std::vector<std::string> tokenize(std::string_view text, const TokenizerConfig& config) {
  validate(config);
  const std::u32string cps = unicode::decode_utf8(text);
  if (config.normalize == Normalize::GloveTwitter) {
    if (config.kind == TokenizerKind::Tweet) return glove_twitter(scan_classed(cps, config.reduce_len));
    const std::u32string s = config.reduce_len ? reduce_lengthening(cps) : cps;
    return glove_twitter(classify_pieces(split_whitespace(s)));
  }
  switch (config.kind) {
    case TokenizerKind::Tweet: return tweet_tokens(cps, config);
    case TokenizerKind::Whitespace: {
      std::vector<std::string> out;
      for (const std::u32string& piece : split_whitespace(prepared_plain(cps, config))) {
        out.push_back(unicode::encode_utf8(piece));
      }
      return out;
    }
    case TokenizerKind::Char: return char_tokens(prepared_plain(cps, config));
  }
  return {};
}

nlohmann::json to_json(const TokenizerConfig& config) {
  return {{"kind", to_string(config.kind)},
          {"normalize", to_string(config.normalize)},
          {"lowercase", config.lowercase},
          {"reduce_len", config.reduce_len}};
}

TokenizerConfig tokenizer_config_from_json(const nlohmann::json& j) {
  const auto fail = [](const std::string& why) -> void {
    LOOM_THROW(CheckpointError, "tokenizer config: ", why);
  };
  if (!j.is_object()) fail("expected a JSON object, got " + j.dump());
  if (!j.contains("kind")) fail("missing \"kind\"");
  TokenizerConfig config;
  for (const auto& [key, value] : j.items()) {
    const bool is_name = key == "kind" || key == "normalize";
    const bool is_flag = key == "lowercase" || key == "reduce_len";
    if (!is_name && !is_flag) fail("unknown key \"" + key + "\" (known: kind, normalize, lowercase, reduce_len)");
    if (is_name && !value.is_string()) fail("\"" + key + "\" must be a string, got " + value.dump());
    if (is_flag && !value.is_boolean()) fail("\"" + key + "\" must be true or false, got " + value.dump());
    try {
      if (key == "kind") config.kind = parse_tokenizer_kind(value.get<std::string>());
      if (key == "normalize") config.normalize = parse_normalize(value.get<std::string>());
    } catch (const Error& e) {
      fail(e.what());
    }
    if (key == "lowercase") config.lowercase = value.get<bool>();
    if (key == "reduce_len") config.reduce_len = value.get<bool>();
  }
  try {
    validate(config);
  } catch (const Error& e) {
    fail(e.what());
  }
  return config;
}

}  // namespace loom::data
