// data/embeddings.cc: the streaming reader of GloVe / word2vec text vectors (see embeddings.h).
//
// The file is read in 8 MB chunks; each complete line is split from the right (memrchr-style)
// into D value fields and the token. Only lines whose token is in the vocabulary are parsed with
// std::from_chars (locale-independent, exact round trip), which keeps a 100k x 100 file well
// under a second: most lines of a big GloVe file are never converted to floats.
#include "data/embeddings.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <memory>
#include <sstream>
#include <string_view>

#include "core/error.h"

namespace loom::data {

namespace {

bool is_integer(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_number(std::string_view s) {
  float v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Fields separated by runs of ASCII spaces (left to right); for the first line and diagnostics.
std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    const std::size_t j = std::min(line.find(' ', i), line.size());
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

class Reader {
 public:
  Reader(const std::string& path, const Vocab& vocab, Tensor& weight)
      : path_(path), vocab_(vocab), w_(weight.data<float>()), width_(weight.dim(1)),
        status_(static_cast<std::size_t>(vocab.size()), 0) {}

  void line(std::string_view s, std::int64_t number) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
    if (s.empty()) return;
    if (!started_) {
      started_ = true;
      if (first_line(s, number)) return;  // that was the word2vec header
    }
    ++lines_;
    // The last D fields are the vector; what is left of them is the token.
    std::size_t end = s.size();
    for (std::int64_t k = 0; k < d_; ++k) {
      const std::size_t sp = end == 0 ? std::string_view::npos : s.rfind(' ', end - 1);
      if (sp == std::string_view::npos) mismatch(s, number);
      end = sp;
      while (end > 0 && s[end - 1] == ' ') --end;
    }
    if (end == 0) mismatch(s, number);  // only D fields: a value is missing (or the token is)
    const std::string_view token = s.substr(0, end);
    if (token.find(' ') != std::string_view::npos) {
      // A token with spaces, or more than D values? More values means every extra field is a number.
      const auto parts = split_spaces(token);
      bool numbers = true;
      for (std::size_t i = 1; i < parts.size() && numbers; ++i) numbers = is_number(parts[i]);
      if (numbers) mismatch(s, number);
    }
    const std::string_view values = s.substr(end);
    const std::int32_t exact = vocab_.find(std::string(token));
    if (exact > Vocab::kPad) {
      if (status_[static_cast<std::size_t>(exact)] < 2) {
        parse_values(values, exact, number);
        status_[static_cast<std::size_t>(exact)] = 2;
      }
      return;
    }
    const std::string lower = ascii_lower(token);
    if (lower.size() == token.size() && lower != token) {
      const std::int32_t id = vocab_.find(lower);
      if (id > Vocab::kPad && status_[static_cast<std::size_t>(id)] == 0) {
        parse_values(values, id, number);
        status_[static_cast<std::size_t>(id)] = 1;
      }
    }
  }

  EmbeddingCoverage coverage() const {
    EmbeddingCoverage c;
    c.format = format_;
    c.dim = d_;
    c.lines = lines_;
    c.vocab = vocab_.size() - 2;
    for (std::int64_t i = 2; i < vocab_.size(); ++i) {
      const int st = status_[static_cast<std::size_t>(i)];
      if (st > 0) ++c.found;
      if (st == 1) ++c.lowercase;
      if (st == 0 && c.missing_examples.size() < 10) c.missing_examples.push_back(vocab_.token(static_cast<std::int32_t>(i)));
    }
    return c;
  }
  bool saw_vectors() const { return lines_ > 0; }

 private:
  // Sets D and the format; true when the line is the word2vec header "N D".
  bool first_line(std::string_view s, std::int64_t number) {
    const auto fields = split_spaces(s);
    if (fields.size() == 2 && is_integer(fields[0]) && is_integer(fields[1])) {
      format_ = "word2vec";
      std::int64_t d = 0;
      std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), d);
      check_width(d, number, "the header says ");
      d_ = d;
      return true;
    }
    format_ = "glove";
    check_width(static_cast<std::int64_t>(fields.size()) - 1, number, "the first vector has ");
    d_ = static_cast<std::int64_t>(fields.size()) - 1;
    return false;
  }

  void check_width(std::int64_t d, std::int64_t number, const char* what) {
    if (d != width_)
      LOOM_THROW(DataError, path_, ":", number, ": ", what, d, " values per vector, but the embedding has ",
                 width_, " columns (set the embedding dimension to ", d, ")");
  }

  [[noreturn]] void mismatch(std::string_view s, std::int64_t number) {
    const auto n = static_cast<std::int64_t>(split_spaces(s).size()) - 1;
    LOOM_THROW(DataError, path_, ":", number, ": ", n, " values after the token, expected ", d_,
               " (as on ", format_ == "word2vec" ? "the header" : "the first line", ")");
  }

  void parse_values(std::string_view values, std::int32_t row, std::int64_t number) {
    float* out = w_ + static_cast<std::int64_t>(row) * width_;
    const char* p = values.data();
    const char* end = values.data() + values.size();
    for (std::int64_t k = 0; k < d_; ++k) {
      while (p < end && *p == ' ') ++p;
      const char* q = p;
      while (q < end && *q != ' ') ++q;
      const auto r = std::from_chars(p, q, out[k]);
      if (r.ec != std::errc() || r.ptr != q)
        LOOM_THROW(DataError, path_, ":", number, ": value ", k + 1, " ('", std::string(p, q),
                   "') is not a number");
      // from_chars reads "nan" and "inf" too; one such weight would turn every loss into NaN.
      if (!std::isfinite(out[k]))
        LOOM_THROW(DataError, path_, ":", number, ": value ", k + 1, " ('", std::string(p, q),
                   "') is not a finite number");
      p = q;
    }
  }

  const std::string& path_;
  const Vocab& vocab_;
  float* w_;
  std::int64_t width_;
  std::int64_t d_ = -1, lines_ = 0;
  bool started_ = false;
  std::string format_ = "glove";
  std::vector<unsigned char> status_;  // per vocabulary row: 0 none, 1 lowercase match, 2 exact
};

}  // namespace

EmbeddingCoverage load_pretrained_embeddings(const std::string& path, const Vocab& vocab, Tensor& weight) {
  LOOM_CHECK_SHAPE(weight.defined() && weight.ndim() == 2 && weight.dtype() == DType::F32 &&
                       weight.device().is_cpu() && weight.dim(0) == vocab.size(),
                   "load_pretrained_embeddings: expected an f32[", vocab.size(), ", E] CPU weight, got ",
                   describe(weight));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));
  if (S_ISDIR(st.st_mode)) LOOM_THROW(DataError, "cannot read '", path, "': it is a directory");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) LOOM_THROW(DataError, "cannot open '", path, "': ", std::strerror(errno));

  Reader reader(path, vocab, weight);
  std::string buf;
  // 8 MB chunks, or the file and one byte when it is smaller: allocating and zeroing 8 MB for a
  // small file cost more than parsing it (the fuzz harness ran at 7 inputs/s).
  const std::size_t file_size = st.st_size > 0 ? static_cast<std::size_t>(st.st_size) : 0;
  std::vector<char> chunk(std::min(std::size_t{8} << 20, file_size + 1));
  std::int64_t number = 0;
  bool first = true;
  for (;;) {
    const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), f.get());
    if (got < chunk.size() && std::ferror(f.get()))
      LOOM_THROW(DataError, "cannot read '", path, "': ", std::strerror(errno));
    buf.append(chunk.data(), got);
    if (first && buf.size() >= 3 && buf.compare(0, 3, "\xEF\xBB\xBF") == 0) buf.erase(0, 3);
    first = false;
    const bool eof = got < chunk.size();
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = buf.find('\n', start);
      if (nl == std::string::npos) break;
      reader.line(std::string_view(buf).substr(start, nl - start), ++number);
      start = nl + 1;
    }
    if (eof) {
      if (start < buf.size()) reader.line(std::string_view(buf).substr(start), ++number);
      break;
    }
    buf.erase(0, start);  // keep the partial last line for the next chunk
  }
  if (!reader.saw_vectors()) LOOM_THROW(DataError, path, ": no vectors in the file");
  return reader.coverage();
}

std::string describe(const EmbeddingCoverage& c) {
  std::ostringstream os;
  const double pct = c.vocab > 0 ? 100.0 * static_cast<double>(c.found) / static_cast<double>(c.vocab) : 0.0;
  os << "matched " << c.found << " / " << c.vocab << " tokens (" << std::fixed << std::setprecision(1) << pct
     << "%) with " << c.dim << "-d " << c.format << " vectors";
  if (c.lowercase > 0) os << ", " << c.lowercase << " by lowercase";
  if (!c.missing_examples.empty()) {
    os << "; e.g. missing:";
    for (const auto& t : c.missing_examples) os << ' ' << t;
  }
  return os.str();
}

}  // namespace loom::data
