// fuzz/safetensors.cc: the safetensors reader (io::read_safetensors in io/safetensors.h) on
// arbitrary bytes, written to a file because that is what the reader takes.
//
// Checked: a refusal is a CheckpointError naming the file (no other exception type; ASan catches
// any read outside the buffers). An accepted file: the header parsed on its own gives the same
// entries, every tensor's byte range lies inside the data buffer and holds exactly
// numel * dtype size bytes, each tensor's bytes equal the file's bytes at its range (nothing read
// from elsewhere), and writing the tensors back (serialize_safetensors) gives a file that reads
// back to the same names, shapes, dtypes, bytes and metadata.
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz/fuzz_util.h"
#include "io/safetensors.h"

using namespace loom;

namespace {

void check_same(const io::SafetensorsFile& a, const io::SafetensorsFile& b) {
  FUZZ_CHECK(a.metadata == b.metadata, "metadata changed by a write/read round trip");
  FUZZ_CHECK(a.tensors.size() == b.tensors.size(), "tensor count changed by a round trip");
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& [na, ta] = a.tensors[i];
    const auto& [nb, tb] = b.tensors[i];
    FUZZ_CHECK(na == nb && ta.dtype() == tb.dtype() && ta.shape() == tb.shape(), "tensor " + na + " changed");
    FUZZ_CHECK(ta.nbytes() == tb.nbytes() &&
                   (ta.nbytes() == 0 || std::memcmp(ta.data_ptr(), tb.data_ptr(), ta.nbytes()) == 0),
               "tensor " + na + "'s bytes changed");
  }
}

}  // namespace

int loom_fuzz_safetensors(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string path = fuzz::write_scratch("model.safetensors", bytes);

  io::SafetensorsFile file;
  if (!fuzz::run_expecting<CheckpointError>([&] { file = io::read_safetensors(path); }, path)) return 0;

  // The reader accepted it, so the length prefix and the header are there.
  FUZZ_CHECK(size >= 8, "accepted a file shorter than the length prefix");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  FUZZ_CHECK(n <= size - 8, "accepted a header longer than the file");
  const std::uint64_t data_start = 8 + n, buffer = size - data_start;
  io::SafetensorsIndex index;
  try {
    index = io::parse_safetensors_header(bytes.substr(8, n), buffer, path);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("the header of an accepted file does not parse alone: ") + e.what());
  }
  FUZZ_CHECK(index.entries.size() == file.tensors.size(), "header entries and tensors differ in number");
  FUZZ_CHECK(index.metadata == file.metadata, "metadata differs from the header's");
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < index.entries.size(); ++i) {
    const io::SafetensorsEntry& e = index.entries[i];
    const auto& [name, t] = file.tensors[i];
    FUZZ_CHECK(name == e.name && t.dtype() == e.dtype && t.shape() == e.shape, "tensor " + e.name + " differs from its entry");
    FUZZ_CHECK(e.begin <= e.end && e.end <= buffer, "tensor " + e.name + " lies outside the data buffer");
    FUZZ_CHECK(static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype()) == e.end - e.begin &&
                   t.nbytes() == e.end - e.begin,
               "tensor " + e.name + ": shape and byte range disagree");
    FUZZ_CHECK(t.nbytes() == 0 || std::memcmp(t.data_ptr(), data + data_start + e.begin, t.nbytes()) == 0,
               "tensor " + e.name + " does not hold the file's bytes at its range");
    covered += e.end - e.begin;
  }
  FUZZ_CHECK(covered == buffer, "the tensors do not cover the data buffer exactly");

  // Write back, read back.
  std::string again;
  try {
    again = io::serialize_safetensors(file.tensors, file.metadata);
  } catch (const CheckpointError&) {
    // Legitimate only for what the writer refuses and the format allows (an empty name is refused
    // by both): nothing today; a finding here means the writer and reader disagree.
    fuzz::fail("an accepted file cannot be written back");
  }
  const std::string path2 = fuzz::write_scratch("again.safetensors", again);
  io::SafetensorsFile back;
  try {
    back = io::read_safetensors(path2);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("a file written by serialize_safetensors does not read: ") + e.what());
  }
  check_same(file, back);
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_safetensors)
