// io/safetensors.h: model weights in the safetensors format, written and read here.
//
// safetensors (huggingface/safetensors) is what PyTorch users load with one call, and a file is
// just: 8 bytes N (little-endian u64), N bytes of JSON header, then the raw tensor bytes. The
// header maps each name to {"dtype", "shape", "data_offsets": [BEGIN, END]} (offsets relative to
// the start of the data buffer, END one past the last byte, row-major, little-endian) and may hold
// "__metadata__", a string -> string map. The rules come from huggingface/safetensors' README and
// its Rust reader (tensor.rs): the header starts with '{' and may be padded with spaces, names are
// unique, the ranges cover the buffer with no hole, and the header is at most 100,000,000 bytes.
//
// A model file comes from outside (a download, a copied run folder, a disk that filled up), so
// the reader trusts nothing: it checks the header length, the JSON, duplicate names, every dtype,
// shape and offset, that the ranges tile the buffer with no hole or overlap, and the file size,
// all BEFORE reading one byte of tensor data. Any violation is a CheckpointError "PATH: what".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ops/tensor.h"

namespace loom::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The reference reader's limit on the header (Rust safetensors MAX_HEADER_SIZE).
constexpr std::uint64_t kMaxSafetensorsHeader = 100'000'000;

// Writes the tensors (any device or dtype; copied to the host) in the given order, names unique
// and not "__metadata__", plus the metadata map, atomically (io/atomic_file.h). The header is
// compact JSON in a fixed key order, space-padded so the data starts 8-byte aligned: the same
// tensors give the same bytes. CheckpointError when a name is bad or the file cannot be written.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The same bytes write_safetensors puts in the file (for tests and in-memory use).
std::string serialize_safetensors(const NamedTensors& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  NamedTensors tensors;  // in data-offset order (the writing order for loom's own files), on the CPU
  std::map<std::string, std::string> metadata;
};

// Reads and validates a whole file. Supports F32 F64 F16 BF16 I32; any other dtype of the format
// (I64, U8, BOOL, F8_E4M3 ...) is a CheckpointError saying which dtypes loom reads.
SafetensorsFile read_safetensors(const std::string& path);

// One validated header entry: where a tensor's bytes lie in the data buffer.
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::uint64_t begin = 0, end = 0;  // relative to the data buffer
};
struct SafetensorsIndex {
  std::vector<SafetensorsEntry> entries;  // sorted by begin offset
  std::map<std::string, std::string> metadata;
  std::uint64_t header_size = 0;  // N
};

// Checks the JSON header `header` (the N bytes after the length) against a data buffer of
// `buffer_size` bytes. `path` only names the file in errors. Exposed so a caller can list a file's
// tensors without reading their data, and so the checks can be tested one by one.
SafetensorsIndex parse_safetensors_header(const std::string& header, std::uint64_t buffer_size,
                                          const std::string& path);

}  // namespace loom::io
