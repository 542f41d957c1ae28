// io/safetensors.cc: the safetensors writer and the validating reader (format: safetensors.h).
#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "core/device.h"
#include "io/atomic_file.h"

// The data bytes are the host's memory image; the format is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "io/safetensors.cc assumes a little-endian host");

namespace loom::io {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

const char* format_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType* out) {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32}) {
    if (s == format_dtype(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

// dtypes of the format that loom does not read: named, so the error says "not supported"
// rather than "unknown" (a file from another tool, not a corrupted one).
bool known_unsupported_dtype(const std::string& s) {
  static const std::set<std::string> others{"I64", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL",
                                            "F8_E4M3", "F8_E5M2", "C64", "F8_E8M0", "F4", "F6_E2M3",
                                            "F6_E3M2"};
  return others.count(s) > 0;
}

// A JSON value for an error message, cut short: a hostile header can hold megabytes in one value.
std::string brief(const json& v) {
  std::string s = v.dump();
  return s.size() <= 80 ? s : s.substr(0, 77) + "...";
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  LOOM_THROW(CheckpointError, path, ": ", what);
}

// Nesting deeper than this cannot be a safetensors header ({name: {shape: [...]}} is depth 3);
// refusing it early bounds the parser's work on hostile input.
constexpr int kMaxDepth = 4;

// Parses with a callback that sees every key as it is read: plain json::parse keeps the last of
// two equal keys silently, and a duplicated tensor name must be an error, not a silent pick.
json parse_header_json(const std::string& header, const std::string& path) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    if (depth > kMaxDepth) fail(path, "header JSON nests deeper than a safetensors header can");
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
            duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default: break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(header, callback);
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) fail(path, "header has the key \"" + duplicate + "\" twice");
  return j;
}

std::uint64_t get_unsigned(const json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_unsigned()) fail(path, what + " must be a non-negative integer, found " + brief(v));
  return v.get<std::uint64_t>();
}

SafetensorsEntry parse_entry(const std::string& name, const json& v, std::uint64_t buffer_size,
                             const std::string& path) {
  const std::string where = "tensor \"" + name + "\"";
  if (!v.is_object()) fail(path, where + ": entry must be an object, found " + brief(v));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!v.contains(key)) fail(path, where + ": entry has no \"" + key + "\"");
  SafetensorsEntry e;
  e.name = name;
  const json& dtype = v["dtype"];
  if (!dtype.is_string()) fail(path, where + ": dtype must be a string, found " + brief(dtype));
  const std::string dt = dtype.get<std::string>();
  if (!parse_dtype(dt, &e.dtype)) {
    if (known_unsupported_dtype(dt))
      fail(path, where + ": dtype " + dt + " is not supported (loom reads F32, F64, F16, BF16, I32)");
    fail(path, where + ": unknown dtype \"" + dt + "\"");
  }
  const json& shape = v["shape"];
  if (!shape.is_array()) fail(path, where + ": shape must be an array, found " + brief(shape));
  if (shape.size() > 16) fail(path, where + ": shape has " + std::to_string(shape.size()) + " dimensions (at most 16)");
  // The byte count is exact unless it overflows 64 bits, which is reported as such.
  std::uint64_t bytes = dtype_size(e.dtype);
  std::int64_t nonzero_elements = 1;  // the product of the non-zero dimensions
  bool has_zero = false, overflow = false, too_many = false;
  for (const json& d : shape) {
    const std::uint64_t n = get_unsigned(d, path, where + ": shape dimension");
    // 2^40 elements along one axis is no real model; the bound keeps Shape arithmetic in int64.
    if (n > (std::uint64_t{1} << 40)) fail(path, where + ": shape dimension " + std::to_string(n) + " is implausibly large");
    e.shape.push_back(static_cast<std::int64_t>(n));
    if (n == 0) {
      has_zero = true;
    } else {
      overflow |= __builtin_mul_overflow(bytes, n, &bytes);
      too_many |= __builtin_mul_overflow(nonzero_elements, static_cast<std::int64_t>(n), &nonzero_elements);
    }
  }
  // An empty tensor may still list huge dimensions ([2^40, 2^40, 0]); Shape's numel and strides
  // multiply them in int64 before they reach the zero, so their product must fit (found by fuzzing).
  if (has_zero && too_many)
    fail(path, where + ": shape " + shape_str(e.shape) + " lists dimensions whose product exceeds 2^63 (with a 0 among them)");
  if (has_zero) bytes = 0, overflow = false;
  const json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, where + ": data_offsets must be [BEGIN, END], found " + brief(offsets));
  e.begin = get_unsigned(offsets[0], path, where + ": data_offsets BEGIN");
  e.end = get_unsigned(offsets[1], path, where + ": data_offsets END");
  if (e.end < e.begin) fail(path, where + ": data_offsets END is before BEGIN " + brief(offsets));
  if (e.end > buffer_size)
    fail(path, where + ": data_offsets " + brief(offsets) + " run past the data buffer (" +
                   std::to_string(buffer_size) + " bytes)");
  if (overflow || bytes != e.end - e.begin)
    fail(path, where + ": shape " + shape_str(e.shape) + " of " + dt + " needs " +
                   (overflow ? std::string("more than 2^64 bytes") : std::to_string(bytes) + " bytes") +
                   " but data_offsets " + brief(offsets) + " hold " + std::to_string(e.end - e.begin));
  return e;
}

// Reads exactly `size` bytes at `offset`; a short read means the file shrank or is not a file.
void read_exact(int fd, void* dst, std::uint64_t size, std::uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(dst);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) fail(path, "unexpected end of file at byte " + std::to_string(offset));
    p += n;
    size -= static_cast<std::uint64_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::set<std::string> seen;
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json meta = ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) LOOM_THROW(CheckpointError, "write_safetensors: a tensor has an empty name");
    if (name == "__metadata__") LOOM_THROW(CheckpointError, "write_safetensors: \"__metadata__\" is reserved");
    if (!seen.insert(name).second) LOOM_THROW(CheckpointError, "write_safetensors: the name \"", name, "\" is used twice");
    if (!t.defined()) LOOM_THROW(CheckpointError, "write_safetensors: tensor \"", name, "\" is undefined");
    host.push_back(t.to(Device::cpu()));
    ordered_json entry = ordered_json::object();
    entry["dtype"] = format_dtype(t.dtype());
    entry["shape"] = t.shape();
    entry["data_offsets"] = {offset, offset + t.nbytes()};
    header[name] = entry;
    offset += t.nbytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // a name or metadata value that is not UTF-8
    LOOM_THROW(CheckpointError, "write_safetensors: ", e.what());
  }
  // The reference writer pads with spaces so the data starts at a multiple of 8 from the file
  // start, which lets a reader map f64 tensors in place.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  const std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += text;
  for (const Tensor& t : host)
    if (t.nbytes() > 0) out.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string bytes = serialize_safetensors(tensors, metadata);
  try {
    write_file_atomic(path, bytes);
  } catch (const CheckpointError&) {
    throw;
  } catch (const Error& e) {
    throw CheckpointError(e.what());  // a model file that could not be saved is a checkpoint failure
  }
}

SafetensorsIndex parse_safetensors_header(const std::string& header, std::uint64_t buffer_size,
                                          const std::string& path) {
  if (header.empty() || header[0] != '{')
    fail(path, "header does not start with '{' (not a safetensors file?)");
  // nlohmann's parser stops at a NUL byte as if the text ended there, so "{}\0garbage" would
  // pass; raw NUL is never valid JSON, so it is refused outright.
  if (header.find('\0') != std::string::npos) fail(path, "header contains a NUL byte");
  const json j = parse_header_json(header, path);
  if (!j.is_object()) fail(path, "header is not a JSON object");
  SafetensorsIndex index;
  index.header_size = header.size();
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ must be an object of strings, found " + brief(v));
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) fail(path, "__metadata__ \"" + k + "\" must be a string, found " + brief(s));
        index.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    if (name.empty()) fail(path, "a tensor has an empty name");
    index.entries.push_back(parse_entry(name, v, buffer_size, path));
  }
  // The ranges must tile [0, buffer_size): sorted, each starting where the previous ended. Empty
  // tensors have BEGIN == END and may share an offset with their neighbour.
  std::stable_sort(index.entries.begin(), index.entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const SafetensorsEntry& e : index.entries) {
    if (e.begin > at)
      fail(path, "data buffer has a hole: bytes [" + std::to_string(at) + ", " + std::to_string(e.begin) +
                     ") before tensor \"" + e.name + "\" belong to no tensor");
    if (e.begin < at)
      fail(path, "tensor \"" + e.name + "\" overlaps the previous tensor (starts at " +
                     std::to_string(e.begin) + ", previous ends at " + std::to_string(at) + ")");
    at = e.end;
  }
  if (at != buffer_size)
    fail(path, "the tensors cover " + std::to_string(at) + " bytes but the data buffer holds " +
                   std::to_string(buffer_size) + " (truncated or extra bytes)");
  return index;
}

SafetensorsFile read_safetensors(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < 8) fail(path, "file is " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  unsigned char len_bytes[8];
  read_exact(f.fd, len_bytes, 8, 0, path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > kMaxSafetensorsHeader)
    fail(path, "header length " + std::to_string(n) + " exceeds the format's limit of " +
                   std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (n > file_size - 8)
    fail(path, "header length " + std::to_string(n) + " is larger than the rest of the file (" +
                   std::to_string(file_size - 8) + " bytes): truncated or not a safetensors file");
  std::string header(n, '\0');
  read_exact(f.fd, header.data(), n, 8, path);
  const std::uint64_t data_start = 8 + n;
  const SafetensorsIndex index = parse_safetensors_header(header, file_size - data_start, path);
  // Everything is checked; only now is tensor data read, straight into each tensor's storage.
  SafetensorsFile out;
  out.metadata = index.metadata;
  for (const SafetensorsEntry& e : index.entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype, Device::cpu());
    if (e.end > e.begin) read_exact(f.fd, t.data_ptr(), e.end - e.begin, data_start + e.begin, path);
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

}  // namespace loom::io
