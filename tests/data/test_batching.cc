// tests/data/test_batching.cc: epoch orders, length bucketing, collation and stratified splits.
//
// The order checks are about reproducibility (same seed and epoch => same batches; the epoch and
// the seed both matter) and completeness (each row exactly once), which a resumed run relies on.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "core/error.h"
#include "data/batching.h"

using namespace loom;
using namespace loom::data;

namespace {

// Row i has (i * 7) % 23 tokens (some empty), label i % 2.
std::vector<EncodedExample> make_rows(int n) {
  std::vector<EncodedExample> rows(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& r = rows[static_cast<std::size_t>(i)];
    for (int k = 0; k < (i * 7) % 23; ++k) r.ids.push_back(2 + (i + k) % 50);
    r.label = i % 2;
  }
  return rows;
}

std::vector<std::int64_t> flatten(const std::vector<std::vector<std::int64_t>>& batches) {
  std::vector<std::int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

void check_each_row_once(const std::vector<std::vector<std::int64_t>>& batches, int n) {
  std::vector<std::int64_t> all = flatten(batches);
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(all[static_cast<std::size_t>(i)] == i);
}

}  // namespace

TEST_CASE("data: batching seeded epochs are reproducible and cover every row once") {
  const auto rows = make_rows(1000);
  BatchOptions o;
  o.batch_size = 64;
  const auto a = epoch_batches(rows, o, 3);
  const auto b = epoch_batches(rows, o, 3);
  CHECK(a == b);
  REQUIRE(a.size() == 16);  // 15 full batches and one of 40
  CHECK(a.back().size() == 40);
  check_each_row_once(a, 1000);

  const auto other_epoch = epoch_batches(rows, o, 4);
  CHECK(flatten(other_epoch) != flatten(a));
  check_each_row_once(other_epoch, 1000);
  o.seed = 43;
  CHECK(flatten(epoch_batches(rows, o, 3)) != flatten(a));

  o.shuffle = false;
  std::vector<std::int64_t> in_order(1000);
  for (int i = 0; i < 1000; ++i) in_order[static_cast<std::size_t>(i)] = i;
  CHECK(flatten(epoch_batches(rows, o, 5)) == in_order);
  o.batch_size = 0;
  CHECK_THROWS_AS(epoch_batches(rows, o, 0), Error);
}

TEST_CASE("data: batching permutations are uniform over orders") {
  // All 6 orders of 3 rows over 6000 seeds: each should appear ~1000 times.
  const auto rows = make_rows(3);
  std::map<std::vector<std::int64_t>, int> seen;
  BatchOptions o;
  o.batch_size = 3;
  for (std::uint64_t seed = 0; seed < 6000; ++seed) {
    o.seed = seed;
    ++seen[flatten(epoch_batches(rows, o, 0))];
  }
  REQUIRE(seen.size() == 6);
  for (const auto& [order, count] : seen) CHECK((count > 850 && count < 1150));
  for (int i = 0; i < 1000; ++i) CHECK(draw_below(5, 1, static_cast<std::uint64_t>(i), 0, 0) < 5);
}

TEST_CASE("data: batching length bucketing sorts within windows and keeps every row") {
  const auto rows = make_rows(7000);  // two full windows of 50 x 64 rows and a partial one
  BatchOptions o;
  o.batch_size = 64;
  o.max_len = 16;
  o.bucket_by_length = true;
  o.shuffle = false;
  const auto plain = epoch_batches(rows, o, 0);
  check_each_row_once(plain, 7000);
  // Without shuffling: windows in file order, each sorted by (truncated, >= 1) length.
  const auto len = [&](std::int64_t r) {
    return std::min<std::int64_t>(16, std::max<std::size_t>(1, rows[static_cast<std::size_t>(r)].ids.size()));
  };
  const auto all = flatten(plain);
  for (std::size_t w = 0; w < all.size(); w += 3200) {
    const std::size_t end = std::min(all.size(), w + 3200);
    for (std::size_t i = w + 1; i < end; ++i) CHECK(len(all[i - 1]) <= len(all[i]));
  }
  o.shuffle = true;
  const auto shuffled = epoch_batches(rows, o, 1);
  CHECK(shuffled == epoch_batches(rows, o, 1));
  check_each_row_once(shuffled, 7000);
  // Bucketed batches waste less padding than random ones.
  const auto spread = [&](const std::vector<std::vector<std::int64_t>>& batches) {
    std::int64_t total = 0;
    for (const auto& b : batches) {
      std::int64_t lo = 99, hi = 0;
      for (const auto r : b) lo = std::min(lo, len(r)), hi = std::max(hi, len(r));
      total += hi - lo;
    }
    return total;
  };
  o.bucket_by_length = false;
  CHECK(spread(shuffled) * 4 < spread(epoch_batches(rows, o, 1)));
}

TEST_CASE("data: batching collate shapes, padding, lengths and targets") {
  std::vector<EncodedExample> rows(4);
  rows[0].ids = {5, 6, 7};
  rows[1].ids = {};  // nothing left after tokenization
  rows[2].ids = {8, 9, 10, 11, 12, 13};
  rows[3].ids = {4};
  for (int i = 0; i < 4; ++i) rows[static_cast<std::size_t>(i)].label = i % 2;

  const Batch b = collate(rows, {0, 1, 3}, 64, TaskKind::Binary, 2);
  CHECK(b.tokens.shape() == Shape{3, 3});  // T = 3 (row 0), B = 3
  CHECK(b.tokens.dtype() == DType::I32);
  // Time-major, right-padded with 0; the empty row holds one <unk>.
  CHECK(b.tokens.to_vector_i32() == std::vector<std::int32_t>{5, Vocab::kUnk, 4, 6, 0, 0, 7, 0, 0});
  CHECK(b.lengths.shape() == Shape{3});
  CHECK(b.lengths.dtype() == DType::I32);
  CHECK(b.lengths.to_vector_i32() == std::vector<std::int32_t>{3, 1, 1});
  CHECK(b.targets.shape() == Shape{3, 1});
  CHECK(b.targets.dtype() == DType::F32);
  CHECK(b.targets.to_vector() == std::vector<float>{0, 1, 1});
  CHECK(b.rows == std::vector<std::int64_t>{0, 1, 3});

  // max_len truncation keeps the first tokens.
  const Batch t = collate(rows, {2, 0}, 4, TaskKind::MultiClass, 3);
  CHECK(t.tokens.shape() == Shape{4, 2});
  CHECK(t.tokens.to_vector_i32() == std::vector<std::int32_t>{8, 5, 9, 6, 10, 7, 11, 0});
  CHECK(t.lengths.to_vector_i32() == std::vector<std::int32_t>{4, 3});
  CHECK(t.targets.shape() == Shape{2});
  CHECK(t.targets.dtype() == DType::I32);
  CHECK(t.targets.to_vector_i32() == std::vector<std::int32_t>{0, 0});

  std::vector<EncodedExample> ml(2);
  ml[0].ids = {2};
  ml[0].targets = {1, 0, 1};
  ml[1].ids = {3, 3};
  ml[1].targets = {0, 0, 1};
  const Batch m = collate(ml, {1, 0}, 64, TaskKind::MultiLabel, 3);
  CHECK(m.targets.shape() == Shape{2, 3});
  CHECK(m.targets.dtype() == DType::F32);
  CHECK(m.targets.to_vector() == std::vector<float>{0, 0, 1, 1, 0, 1});

  std::vector<EncodedExample> unlabeled(2);
  unlabeled[0].ids = {2, 3};
  const Batch u = collate(unlabeled, {0, 1}, 64, TaskKind::Binary, 2);
  CHECK_FALSE(u.targets.defined());
  CHECK(u.lengths.to_vector_i32() == std::vector<std::int32_t>{2, 1});
}

TEST_CASE("data: batching collate rejects inconsistent rows") {
  std::vector<EncodedExample> rows(3);
  rows[0].label = 1;
  rows[1].label = -1;
  rows[2].label = 2;
  CHECK_THROWS_AS(collate(rows, {0, 1}, 8, TaskKind::Binary, 2), Error);   // labeled and unlabeled
  CHECK_THROWS_AS(collate(rows, {0, 2}, 8, TaskKind::Binary, 2), Error);   // 2 is not a binary label
  CHECK_THROWS_AS(collate(rows, {2}, 8, TaskKind::MultiClass, 2), Error);  // outside [0, 2)
  CHECK_THROWS_AS(collate(rows, {3}, 8, TaskKind::Binary, 2), Error);      // no such row
  CHECK_THROWS_AS(collate(rows, {}, 8, TaskKind::Binary, 2), Error);
  std::vector<EncodedExample> ml(1);
  ml[0].targets = {1, 0};
  CHECK_THROWS_AS(collate(ml, {0}, 8, TaskKind::MultiLabel, 3), Error);
}

TEST_CASE("data: batching stratified split is proportional per class and seeded") {
  Dataset d;
  d.task = TaskKind::MultiClass;
  d.label_names = {"a", "b", "c", "d"};
  // 700 of a, 300 of b, 6 of c, 1 of d, interleaved.
  const auto add = [&](int label, int count) {
    for (int i = 0; i < count; ++i) {
      Example e;
      e.label = label;
      d.examples.push_back(e);
    }
  };
  add(0, 700);
  add(1, 300);
  add(2, 6);
  add(3, 1);
  const SplitIndices s = stratified_split(d, 0.1, 0.25, 11);
  const auto count = [&](const std::vector<std::int64_t>& idx, int label) {
    return std::count_if(idx.begin(), idx.end(),
                         [&](std::int64_t r) { return d.examples[static_cast<std::size_t>(r)].label == label; });
  };
  CHECK(count(s.test, 0) == 175);
  CHECK(count(s.val, 0) == 70);
  CHECK(count(s.train, 0) == 455);
  CHECK(count(s.test, 1) == 75);
  CHECK(count(s.val, 1) == 30);
  // 6 rows: test round(1.5) = 2 (half up), val round(0.6) = 1.
  CHECK(count(s.test, 2) == 2);
  CHECK(count(s.val, 2) == 1);
  CHECK(count(s.train, 3) == 1);  // a lone row always stays in train
  // A partition of all rows, each list in file order.
  std::vector<std::int64_t> all = s.train;
  all.insert(all.end(), s.val.begin(), s.val.end());
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == d.examples.size());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i] == static_cast<std::int64_t>(i));
  CHECK(std::is_sorted(s.test.begin(), s.test.end()));

  const SplitIndices again = stratified_split(d, 0.1, 0.25, 11);
  CHECK(again.test == s.test);
  CHECK(again.val == s.val);
  CHECK(stratified_split(d, 0.1, 0.25, 12).test != s.test);
  CHECK_THROWS_AS(stratified_split(d, 0.6, 0.5, 1), Error);
  CHECK_THROWS_AS(stratified_split(d, -0.1, 0.1, 1), Error);
}

TEST_CASE("data: batching multi-label split stratifies by the first positive label") {
  Dataset d;
  d.task = TaskKind::MultiLabel;
  d.label_names = {"x", "y"};
  for (int i = 0; i < 100; ++i) {
    Example e;
    // 40 rows first-positive x (some also y), 40 only y, 20 with none.
    e.targets = i < 40 ? std::vector<float>{1, static_cast<float>(i % 2)}
                       : (i < 80 ? std::vector<float>{0, 1} : std::vector<float>{0, 0});
    d.examples.push_back(e);
  }
  const SplitIndices s = stratified_split(d, 0.0, 0.5, 3);
  const auto in = [&](std::int64_t lo, std::int64_t hi) {
    return std::count_if(s.test.begin(), s.test.end(), [&](std::int64_t r) { return r >= lo && r < hi; });
  };
  CHECK(s.val.empty());
  CHECK(in(0, 40) == 20);
  CHECK(in(40, 80) == 20);
  CHECK(in(80, 100) == 10);
  CHECK(s.train.size() == 50);
}

TEST_CASE("data: batching encode_examples uses the vocabulary and keeps labels") {
  Dataset d;
  d.task = TaskKind::Binary;
  d.label_names = {"0", "1"};
  d.examples.resize(2);
  d.examples[0].label = 1;
  d.examples[1].label = 0;
  const Vocab v = Vocab::from_tokens({"<pad>", "<unk>", "good", "bad"});
  const auto enc = encode_examples(d, {{"good", "day"}, {}}, v);
  REQUIRE(enc.size() == 2);
  CHECK(enc[0].ids == std::vector<std::int32_t>{2, Vocab::kUnk});
  CHECK(enc[0].label == 1);
  CHECK(enc[1].ids.empty());
  CHECK_THROWS_AS(encode_examples(d, {{"good"}}, v), Error);
}
