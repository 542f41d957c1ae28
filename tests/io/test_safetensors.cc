// tests/io/test_safetensors.cc: the safetensors writer and the validating reader.
//
// Round trips first (every dtype, 0-d and empty tensors, metadata, NaN/Inf bits), then the file
// layout the format prescribes, then damage: every truncation point, flipped bytes all over the
// header, and one hand-made header per validation rule. Every damaged file must give a
// CheckpointError naming the file, never a crash or another exception. Last, PyTorch
// (tests/peers/torch_safetensors.py) reads a loom file and writes one back.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/tensor.h"
#include "io/safetensors.h"
#include "tests/support/temp_dir.h"
#include "tests/support/peer.h"

using namespace loom;
using loom::test::read_bytes;
using loom::test::TempDir;
using loom::test::write_bytes;

namespace {

io::NamedTensors sample_tensors() {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  return {
      {"embedding.weight", Tensor::from_vector(std::vector<float>{1.5f, -2.25f, 3e-38f, inf, -inf, nan}, {2, 3})},
      {"lstm.weight_ih_l0", Tensor::from_vector(std::vector<double>{0.1, -1e300, 4.9e-324, 7.0}, {4})},
      {"half", Tensor::from_vector(std::vector<float>{0.5f, -65504.f, 6e-8f}, {3, 1}, DType::F16)},
      {"brain", Tensor::from_vector(std::vector<float>{1.f, -3.140625f, 1e30f, 0.f}, {2, 2}, DType::BF16)},
      {"ids", Tensor::from_vector(std::vector<std::int32_t>{0, -1, 2147483647, -2147483647 - 1, 7}, {5})},
      {"scalar", Tensor::from_vector(std::vector<float>{42.5f}, Shape{})},
      {"empty", Tensor::empty({0, 3})},
      {"empty_ids", Tensor::empty({0}, DType::I32)},
      {"head.bias", Tensor::from_vector(std::vector<float>{0.25f}, {1})},
  };
}

void check_same_tensors(const io::NamedTensors& got, const io::NamedTensors& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("tensor ", want[i].first);
    CHECK(got[i].first == want[i].first);
    CHECK(got[i].second.dtype() == want[i].second.dtype());
    CHECK(got[i].second.shape() == want[i].second.shape());
    REQUIRE(got[i].second.nbytes() == want[i].second.nbytes());
    if (want[i].second.nbytes() > 0)  // bit-exact, NaN payloads included
      CHECK(std::memcmp(got[i].second.data_ptr(), want[i].second.data_ptr(), want[i].second.nbytes()) == 0);
  }
}

std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file from a header and a data buffer, as a careless or hostile writer might make it.
std::string make_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

// Reads `path` expecting CheckpointError whose message names the file and holds `phrase`.
void expect_error(const std::string& path, const std::string& phrase) {
  std::string message = "(nothing thrown)";
  bool right_type = false;
  try {
    io::read_safetensors(path);
  } catch (const CheckpointError& e) {
    right_type = true;
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("another exception: ") + e.what();
  }
  INFO("message: ", message);
  CHECK(right_type);
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find(phrase) != std::string::npos);
}

// Reading damaged bytes must end in success or CheckpointError; returns true on CheckpointError.
bool read_fails_cleanly(const std::string& path, bool* other_exception) {
  try {
    io::read_safetensors(path);
    return false;
  } catch (const CheckpointError&) {
    return true;
  } catch (...) {
    *other_exception = true;
    return true;
  }
}

}  // namespace

TEST_CASE("safetensors: round trip of every dtype with 0-d and empty tensors and metadata") {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const io::NamedTensors tensors = sample_tensors();
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"loom_config", "{\"arch\": \"lstm-cnn\"}"},
                                                {"note", "caf\xC3\xA9 \xF0\x9F\x98\x80"}};
  io::write_safetensors(path, tensors, meta);
  const io::SafetensorsFile f = io::read_safetensors(path);
  check_same_tensors(f.tensors, tensors);
  CHECK(f.metadata == meta);
  // No metadata: the key is left out entirely, and reading gives an empty map.
  io::write_safetensors(path, {tensors[0]});
  CHECK(read_bytes(path).find("__metadata__") == std::string::npos);
  const io::SafetensorsFile g = io::read_safetensors(path);
  CHECK(g.metadata.empty());
  check_same_tensors(g.tensors, {tensors[0]});
  // Nothing at all is still a valid file: "{}" padded, no data.
  io::write_safetensors(path, {});
  CHECK(io::read_safetensors(path).tensors.empty());
}

TEST_CASE("safetensors: the bytes follow the format and are deterministic") {
  const io::NamedTensors tensors{{"b", Tensor::from_vector(std::vector<float>{1.f, 2.f}, {2})},
                                 {"a", Tensor::from_vector(std::vector<std::int32_t>{7}, Shape{})}};
  const std::string bytes = io::serialize_safetensors(tensors, {{"format", "pt"}});
  CHECK(bytes == io::serialize_safetensors(tensors, {{"format", "pt"}}));
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  CHECK((8 + n) % 8 == 0);  // data 8-byte aligned
  const std::string header = bytes.substr(8, n);
  // Metadata first, then the tensors in the caller's order with contiguous offsets; spaces pad.
  const std::string json =
      "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"a\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,12]}}";
  CHECK(header.substr(0, json.size()) == json);
  CHECK(header.find_first_not_of(' ', json.size()) == std::string::npos);
  CHECK(header.size() - json.size() < 8);
  CHECK(bytes.size() == 8 + n + 12);
  float b1;
  std::memcpy(&b1, bytes.data() + 8 + n + 4, 4);
  CHECK(b1 == 2.f);
}

TEST_CASE("safetensors: the writer rejects empty, reserved and repeated names") {
  const Tensor t = Tensor::zeros({2});
  CHECK_THROWS_AS(io::serialize_safetensors({{"", t}}), CheckpointError);
  CHECK_THROWS_AS(io::serialize_safetensors({{"__metadata__", t}}), CheckpointError);
  CHECK_THROWS_AS(io::serialize_safetensors({{"w", t}, {"w", t}}), CheckpointError);
  CHECK_THROWS_AS(io::serialize_safetensors({{"w", Tensor()}}), CheckpointError);
  CHECK_THROWS_AS(io::serialize_safetensors({{"bad\xff", t}}), CheckpointError);  // not UTF-8
  TempDir dir;
  CHECK_THROWS_AS(io::write_safetensors(dir.file("missing/x.safetensors"), {{"w", t}}), CheckpointError);
}

TEST_CASE("safetensors: a file truncated at any byte is a CheckpointError") {
  TempDir dir;
  const std::string path = dir.file("cut.safetensors");
  const std::string bytes = io::serialize_safetensors(sample_tensors(), {{"format", "pt"}});
  bool other_exception = false;
  std::size_t failures = 0;
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    write_bytes(path, bytes.substr(0, len));
    failures += read_fails_cleanly(path, &other_exception);
  }
  CHECK_FALSE(other_exception);
  CHECK(failures == bytes.size());  // every single truncation was detected
  // One byte too many is as wrong as one too few: the buffer must be covered exactly.
  write_bytes(path, bytes + "x");
  expect_error(path, "cover");
}

TEST_CASE("safetensors: flipped bytes in the length and header never crash the reader") {
  TempDir dir;
  const std::string path = dir.file("flipped.safetensors");
  const io::NamedTensors tensors = sample_tensors();
  const std::string bytes = io::serialize_safetensors(tensors, {{"format", "pt"}});
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  bool other_exception = false;
  std::size_t tried = 0, rejected = 0;
  for (std::size_t pos = 0; pos < 8 + n; ++pos) {
    for (unsigned mask : {0x01u, 0x04u, 0x20u, 0x80u}) {
      std::string damaged = bytes;
      damaged[pos] = static_cast<char>(static_cast<unsigned char>(damaged[pos]) ^ mask);
      write_bytes(path, damaged);
      ++tried;
      if (read_fails_cleanly(path, &other_exception)) {
        ++rejected;
      } else {
        // Accepted: then it must still describe the same bytes (a flipped letter in a name or a
        // metadata value is undetectable without a checksum, which the format has none of).
        const io::SafetensorsFile f = io::read_safetensors(path);
        std::size_t total = 0;
        for (const auto& [name, t] : f.tensors) total += t.nbytes();
        CHECK(total == bytes.size() - 8 - n);
      }
    }
  }
  CHECK_FALSE(other_exception);
  MESSAGE("flipped-byte files rejected: " << rejected << " of " << tried);
  CHECK(rejected > tried / 2);  // structure bytes dominate the header; most flips must be caught
}

TEST_CASE("safetensors: each header rule gives a CheckpointError saying what is wrong") {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  const std::string data8(8, '\0');
  auto check_header = [&](const std::string& header, const std::string& data, const std::string& phrase) {
    INFO("header: ", header);
    write_bytes(path, make_file(header, data));
    expect_error(path, phrase);
  };
  // The 8-byte length.
  write_bytes(path, "");
  expect_error(path, "shorter than the 8-byte header length");
  write_bytes(path, std::string("\x10\0\0", 3));
  expect_error(path, "shorter than the 8-byte header length");
  write_bytes(path, le64(200'000'000) + "{}");
  expect_error(path, "exceeds the format's limit");
  write_bytes(path, le64(~std::uint64_t{0}) + "{}");
  expect_error(path, "exceeds the format's limit");
  write_bytes(path, le64(64) + "{}");
  expect_error(path, "larger than the rest of the file");
  // The JSON itself.
  check_header("", "", "does not start with '{'");
  check_header(" {}", "", "does not start with '{'");
  check_header("{\"a\":", "", "not valid JSON");
  check_header("{} x", "", "not valid JSON");
  check_header(std::string("{}\0\0", 4), "", "NUL byte");  // nlohmann alone would stop at the NUL
  check_header(std::string("{}\0\"garbage", 10), "", "NUL byte");
  check_header("{\"caf\xC3\x28\":1}", "", "not valid JSON");  // invalid UTF-8
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[[[[[[1]]]]]]}}", "", "nests deeper");
  // Names and entries.
  check_header("{\"w\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"w\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", data8,
               "\"w\" twice");
  check_header("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data8,
               "\"dtype\" twice");
  check_header("{\"w\":[1,2]}", data8, "must be an object");
  check_header("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data8, "no \"dtype\"");
  check_header("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", data8, "no \"shape\"");
  check_header("{\"w\":{" + f32x2 + "}}", data8, "no \"data_offsets\"");
  check_header("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data8, "I64 is not supported");
  check_header("{\"w\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", data8, "unknown dtype");
  check_header("{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", data8, "dtype must be a string");
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", data8, "non-negative integer");
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", data8, "non-negative integer");
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", data8, "shape must be an array");
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", data8,
               "more than 2^64 bytes");
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", data8,
               "non-negative integer");  // past u64: parsed as a float
  check_header("{\"w\":{" + f32x2 + ",\"data_offsets\":[0]}}", data8, "must be [BEGIN, END]");
  check_header("{\"w\":{" + f32x2 + ",\"data_offsets\":[8,0]}}", data8, "END is before BEGIN");
  check_header("{\"w\":{" + f32x2 + ",\"data_offsets\":[0,16]}}", data8, "run past the data buffer");
  check_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data8, "needs 12 bytes");
  check_header("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", data8, "needs 16 bytes");
  // The ranges must tile the buffer: holes, overlaps, gaps at either end.
  check_header("{\"w\":{" + f32x2 + ",\"data_offsets\":[4,12]}}", std::string(12, '\0'), "hole");
  check_header("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 + ",\"data_offsets\":[12,20]}}",
               std::string(20, '\0'), "hole");
  check_header("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 + ",\"data_offsets\":[4,12]}}",
               std::string(12, '\0'), "overlaps");
  check_header("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", data8,
               "overlaps");
  check_header("{\"w\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", std::string(9, '\0'), "cover 8 bytes");
  // Metadata.
  check_header("{\"__metadata__\":[\"pt\"]}", "", "__metadata__ must be an object");
  check_header("{\"__metadata__\":{\"epochs\":3}}", "", "must be a string");
  // A path that is no file.
  expect_error(dir.file("absent.safetensors"), "cannot open");
  expect_error(dir.path(), "not a regular file");
}

TEST_CASE("safetensors: hand-made valid files are read, in offset order, empty tensors anywhere") {
  TempDir dir;
  const std::string path = dir.file("ok.safetensors");
  // Entries listed out of offset order, an empty tensor sharing an offset, trailing spaces, an
  // unknown extra key (ignored, as by the reference reader).
  const std::string header =
      R"({"z":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F16","shape":[2,0],"data_offsets":[4,4]},)"
      R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"extra":1},"__metadata__":{}}   )";
  std::string data(8, '\0');
  const float a = 0.75f;
  const std::int32_t z = -9;
  std::memcpy(&data[0], &a, 4);
  std::memcpy(&data[4], &z, 4);
  write_bytes(path, make_file(header, data));
  const io::SafetensorsFile f = io::read_safetensors(path);
  REQUIRE(f.tensors.size() == 3);
  CHECK(f.tensors[0].first == "a");
  CHECK(f.tensors[0].second.item() == 0.75);
  CHECK(f.tensors[1].first == "e");
  CHECK(f.tensors[1].second.shape() == Shape{2, 0});
  CHECK(f.tensors[2].first == "z");
  CHECK(f.tensors[2].second.to_vector_i32() == std::vector<std::int32_t>{-9});
}

TEST_CASE("safetensors: PyTorch reads loom's file and loom reads PyTorch's") {
  TempDir dir;
  const std::string ours = dir.file("loom.safetensors"), theirs = dir.file("torch.safetensors");
  // No NaN here: the values travel back as JSON numbers.
  const io::NamedTensors tensors{
      {"embedding.weight", Tensor::from_vector(std::vector<float>{1.5f, -2.25f, 3e-38f, 1e20f, -0.f, 7.f}, {2, 3})},
      {"f64", Tensor::from_vector(std::vector<double>{0.1, -1e300, 4.9e-324}, {3})},
      {"f16", Tensor::from_vector(std::vector<float>{0.5f, -1000.f, 6e-8f, 3.f}, {2, 2}, DType::F16)},
      {"bf16", Tensor::from_vector(std::vector<float>{1.f, -3.140625f, 1e30f}, {3}, DType::BF16)},
      {"ids", Tensor::from_vector(std::vector<std::int32_t>{0, -1, 2147483647, 5}, {4})},
      {"scalar", Tensor::from_vector(std::vector<float>{42.5f}, Shape{})},
      {"empty", Tensor::empty({0, 3})},
  };
  io::write_safetensors(ours, tensors, {{"format", "pt"}, {"loom_config", "{}"}});
  const test::PeerAnswer answer =
      test::run_peer("torch_safetensors.py", {{"read", ours}, {"write", theirs}});
  if (!test::peer_available(answer, "torch")) return;
  // PyTorch's view of loom's file.
  const auto& seen = answer.out["read"];
  CHECK(answer.out["metadata"] == nlohmann::json({{"format", "pt"}, {"loom_config", "{}"}}));
  REQUIRE(seen.size() == tensors.size());
  for (const auto& item : tensors) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.first;
    const auto& t = item.second;
    INFO("tensor ", name);
    REQUIRE(seen.contains(name));
    CHECK(seen[name]["shape"].get<Shape>() == t.shape());
    const std::vector<double> values = seen[name]["values"].get<std::vector<double>>();
    const std::vector<double> want = t.dtype() == DType::I32 ? [&] {
      std::vector<double> v;
      for (std::int32_t x : t.to_vector_i32()) v.push_back(x);
      return v;
    }() : t.to_vector_f64();
    CHECK(values == want);  // exact: every dtype converts to f64 without rounding
  }
  // loom's view of PyTorch's file: each tensor became 2x - 1 in its own dtype, plus one of its own.
  const io::SafetensorsFile back = io::read_safetensors(theirs);
  CHECK(back.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"writer", "torch"}});
  const auto& written = answer.out["written"];
  REQUIRE(back.tensors.size() == written.size());
  for (const auto& item : back.tensors) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.first;
    const auto& t = item.second;
    INFO("tensor ", name);
    REQUIRE(written.contains(name));
    CHECK(written[name]["shape"].get<Shape>() == t.shape());
    std::vector<double> got;
    if (t.dtype() == DType::I32) for (std::int32_t x : t.to_vector_i32()) got.push_back(x);
    else got = t.to_vector_f64();
    CHECK(got == written[name]["values"].get<std::vector<double>>());
  }
  const Tensor& twice = back.tensors[0].second;
  CHECK(back.tensors[0].first == "embedding.weight");
  CHECK(twice.to_vector()[0] == 2.f);  // 2 * 1.5 - 1
}
