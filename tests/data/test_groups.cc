// tests/data/test_groups.cc: grouped splits, grouped folds and per-user tweet sets (data/groups.h).
//
// The property that makes a user-level score honest is checked exhaustively: for every pair of
// parts (train/val/test, or any two folds) no group has rows on both sides. Stratification is
// checked as counts of groups per label, determinism as equality for a seed and a difference for
// another seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/groups.h"
#include "tests/support/errors.h"

using namespace loom;
using namespace loom::data;

namespace {

#define CHECK_DATA_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::DataError>(__FILE__, __LINE__, callable, {__VA_ARGS__})

// `users` users; user u has 1 + (u * 5) % 7 tweets (1..7), label 1 when u % 3 == 0 (a minority),
// and the rows of the users are interleaved (row i belongs to the i-th user still owed a tweet,
// round-robin), as tweets of many accounts are in a crawl.
struct Synthetic {
  Dataset d;
  std::vector<std::string> keys;
};
Synthetic make_data(int users) {
  Synthetic s;
  s.d.label_names = {"human", "bot"};
  std::vector<int> left(static_cast<std::size_t>(users));
  for (int u = 0; u < users; ++u) left[static_cast<std::size_t>(u)] = 1 + (u * 5) % 7;
  for (bool any = true; any;) {
    any = false;
    for (int u = 0; u < users; ++u) {
      if (left[static_cast<std::size_t>(u)]-- <= 0) continue;
      any = true;
      Example e;
      e.text = "t";
      e.label = u % 3 == 0 ? 1 : 0;
      e.line = static_cast<std::int64_t>(s.d.examples.size()) + 2;
      s.d.examples.push_back(e);
      s.keys.push_back("user" + std::to_string(u));
    }
  }
  return s;
}

// The group key of each row of `rows`.
std::set<std::string> keys_of(const std::vector<std::int64_t>& rows, const std::vector<std::string>& keys) {
  std::set<std::string> out;
  for (const std::int64_t r : rows) out.insert(keys[static_cast<std::size_t>(r)]);
  return out;
}

void check_disjoint_groups(const std::vector<std::vector<std::int64_t>>& parts, const std::vector<std::string>& keys) {
  for (std::size_t a = 0; a < parts.size(); ++a)
    for (std::size_t b = a + 1; b < parts.size(); ++b) {
      const auto ka = keys_of(parts[a], keys), kb = keys_of(parts[b], keys);
      std::vector<std::string> both;
      std::set_intersection(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(both));
      CAPTURE(a);
      CAPTURE(b);
      CHECK(both.empty());
    }
}

void check_every_row_once(const std::vector<std::vector<std::int64_t>>& parts, std::size_t n) {
  std::vector<std::int64_t> all;
  for (const auto& p : parts) {
    CHECK(std::is_sorted(p.begin(), p.end()));
    all.insert(all.end(), p.begin(), p.end());
  }
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == n);
  for (std::size_t i = 0; i < n; ++i) CHECK(all[i] == static_cast<std::int64_t>(i));
}

// Groups of each label in `rows` (whole groups, by the check above).
std::map<int, std::int64_t> groups_per_label(const std::vector<std::int64_t>& rows, const Synthetic& s) {
  std::map<int, std::int64_t> out;
  for (const std::string& k : keys_of(rows, s.keys)) {
    const auto at = std::find(s.keys.begin(), s.keys.end(), k) - s.keys.begin();
    ++out[s.d.examples[static_cast<std::size_t>(at)].label];
  }
  return out;
}

}  // namespace

TEST_CASE("groups: make_groups keeps first-appearance order and rejects a group with two labels") {
  const Synthetic s = make_data(9);
  const Groups g = make_groups(s.d, s.keys);
  REQUIRE(g.keys.size() == 9);
  for (int u = 0; u < 9; ++u) {
    CHECK(g.keys[static_cast<std::size_t>(u)] == "user" + std::to_string(u));
    CHECK(g.labels[static_cast<std::size_t>(u)] == (u % 3 == 0 ? 1 : 0));
    CHECK(g.rows[static_cast<std::size_t>(u)].size() == static_cast<std::size_t>(1 + (u * 5) % 7));
    CHECK(std::is_sorted(g.rows[static_cast<std::size_t>(u)].begin(), g.rows[static_cast<std::size_t>(u)].end()));
  }
  Synthetic bad = s;
  const std::size_t last = bad.d.examples.size() - 1;  // a row of some user, relabeled
  bad.d.examples[last].label = 1 - bad.d.examples[last].label;
  CHECK_DATA_ERROR([&] { make_groups(bad.d, bad.keys); }, "group '" + bad.keys[last] + "'", "two labels",
                   "line " + std::to_string(bad.d.examples[last].line));
}

TEST_CASE("groups: a grouped split keeps each user whole, stratified and seeded") {
  const Synthetic s = make_data(60);  // 20 bots, 40 humans
  const Groups g = make_groups(s.d, s.keys);
  const SplitIndices a = grouped_stratified_split(s.d, g, 0.1, 0.25, 7);
  check_every_row_once({a.train, a.val, a.test}, s.d.examples.size());
  check_disjoint_groups({a.train, a.val, a.test}, s.keys);
  // round(20 * 0.25) = 5 and round(40 * 0.25) = 10 test groups; round(2) = 2 and round(4) = 4 val
  CHECK(groups_per_label(a.test, s) == std::map<int, std::int64_t>{{0, 10}, {1, 5}});
  CHECK(groups_per_label(a.val, s) == std::map<int, std::int64_t>{{0, 4}, {1, 2}});
  CHECK(groups_per_label(a.train, s) == std::map<int, std::int64_t>{{0, 26}, {1, 13}});

  const SplitIndices same = grouped_stratified_split(s.d, g, 0.1, 0.25, 7);
  CHECK(same.train == a.train);
  CHECK(same.test == a.test);
  const SplitIndices other = grouped_stratified_split(s.d, g, 0.1, 0.25, 8);
  CHECK(other.test != a.test);
}

TEST_CASE("groups: K grouped folds are disjoint by user and stratified within one group per label") {
  const Synthetic s = make_data(47);  // labels: 16 bots (u % 3 == 0), 31 humans
  const Groups g = make_groups(s.d, s.keys);
  const auto folds = grouped_stratified_folds(s.d, g, 5, 3);
  REQUIRE(folds.size() == 5);
  check_every_row_once(folds, s.d.examples.size());
  check_disjoint_groups(folds, s.keys);
  std::int64_t lo0 = 1 << 30, hi0 = 0, lo1 = 1 << 30, hi1 = 0, lo = 1 << 30, hi = 0;
  for (const auto& f : folds) {
    const auto c = groups_per_label(f, s);
    const std::int64_t c0 = c.count(0) ? c.at(0) : 0, c1 = c.count(1) ? c.at(1) : 0;
    lo0 = std::min(lo0, c0), hi0 = std::max(hi0, c0), lo1 = std::min(lo1, c1), hi1 = std::max(hi1, c1);
    lo = std::min(lo, c0 + c1), hi = std::max(hi, c0 + c1);
  }
  CHECK(hi0 - lo0 <= 1);
  CHECK(hi1 - lo1 <= 1);
  CHECK(hi - lo <= 1);  // 47 groups: folds of 9 or 10

  CHECK(grouped_stratified_folds(s.d, g, 5, 3) == folds);
  CHECK(grouped_stratified_folds(s.d, g, 5, 4) != folds);
  CHECK_DATA_ERROR([&] { grouped_stratified_folds(s.d, g, 17, 3); }, "--cv 17", "'bot' has 16");
  CHECK_DATA_ERROR([&] { grouped_stratified_folds(s.d, g, 1, 3); }, "--cv 1");
}

TEST_CASE("groups: user_sets take the first, last or a seeded sample of N tweets") {
  const Synthetic s = make_data(12);
  const Groups g = make_groups(s.d, s.keys);
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < 12; ++i) ids.push_back(i);
  const auto first = user_sets(g, ids, 3, TweetOrder::First, 1);
  const auto last = user_sets(g, ids, 3, TweetOrder::Last, 1);
  const auto random = user_sets(g, ids, 3, TweetOrder::Random, 1);
  const auto all = user_sets(g, ids, 0, TweetOrder::First, 1);
  REQUIRE(first.size() == 12);
  bool differs = false;
  for (std::size_t u = 0; u < 12; ++u) {
    const auto& rows = g.rows[u];
    const std::size_t m = std::min<std::size_t>(3, rows.size());
    CAPTURE(u);
    CHECK(first[u].group == static_cast<std::int64_t>(u));
    CHECK(first[u].label == g.labels[u]);
    CHECK(first[u].rows == std::vector<std::int64_t>(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(m)));
    CHECK(last[u].rows == std::vector<std::int64_t>(rows.end() - static_cast<std::ptrdiff_t>(m), rows.end()));
    CHECK(all[u].rows == rows);
    REQUIRE(random[u].rows.size() == m);
    CHECK(std::is_sorted(random[u].rows.begin(), random[u].rows.end()));
    CHECK(std::adjacent_find(random[u].rows.begin(), random[u].rows.end()) == random[u].rows.end());
    for (const std::int64_t r : random[u].rows) CHECK(std::count(rows.begin(), rows.end(), r) == 1);
    differs = differs || random[u].rows != first[u].rows;
  }
  CHECK(differs);  // 7 users have 4..7 tweets: the chance that every sample is the first 3 is ~1e-8
  const auto again = user_sets(g, ids, 3, TweetOrder::Random, 1);
  const auto other = user_sets(g, ids, 3, TweetOrder::Random, 2);
  bool same = true, other_same = true;
  for (std::size_t u = 0; u < 12; ++u) {
    same = same && again[u].rows == random[u].rows;
    other_same = other_same && other[u].rows == random[u].rows;
  }
  CHECK(same);
  CHECK_FALSE(other_same);
  CHECK(parse_tweet_order("last") == TweetOrder::Last);
  CHECK_DATA_ERROR([] { parse_tweet_order("newest"); }, "'newest'", "first, last or random");
}

TEST_CASE("groups: balance_user_sets adds samples of minority users until the labels are equal") {
  const Synthetic s = make_data(30);  // 10 bots, 20 humans
  const Groups g = make_groups(s.d, s.keys);
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < 30; ++i) ids.push_back(i);
  const std::int64_t n = 3;
  const auto sets = user_sets(g, ids, n, TweetOrder::First, 5);
  const auto balanced = balance_user_sets(g, sets, n, 5);
  REQUIRE(balanced.size() == 40);
  std::map<int, int> count;
  for (const auto& u : balanced) ++count[u.label];
  CHECK(count[0] == 20);
  CHECK(count[1] == 20);
  for (std::size_t i = 0; i < sets.size(); ++i) {
    CHECK(balanced[i].group == sets[i].group);
    CHECK(balanced[i].rows == sets[i].rows);
  }
  for (std::size_t i = sets.size(); i < balanced.size(); ++i) {
    const UserSet& u = balanced[i];
    const auto& rows = g.rows[static_cast<std::size_t>(u.group)];
    CAPTURE(i);
    CHECK(u.label == 1);
    CHECK(g.labels[static_cast<std::size_t>(u.group)] == 1);  // only minority users are sampled
    CHECK(rows.size() > static_cast<std::size_t>(n));         // ... and only those with spare tweets
    REQUIRE(u.rows.size() == static_cast<std::size_t>(n));
    CHECK(std::is_sorted(u.rows.begin(), u.rows.end()));
    CHECK(std::adjacent_find(u.rows.begin(), u.rows.end()) == u.rows.end());
    for (const std::int64_t r : u.rows) CHECK(std::count(rows.begin(), rows.end(), r) == 1);
  }
  CHECK(balance_user_sets(g, sets, n, 5).size() == balanced.size());
  bool same_rows = true;
  const auto again = balance_user_sets(g, sets, n, 5);
  for (std::size_t i = 0; i < balanced.size(); ++i) same_rows = same_rows && again[i].rows == balanced[i].rows;
  CHECK(same_rows);

  // already balanced: unchanged
  std::vector<UserSet> even(sets.begin(), sets.begin() + 6);  // users 0..5: 2 bots (0, 3), 4 humans
  even.erase(std::remove_if(even.begin(), even.end(), [](const UserSet& u) { return u.group == 1 || u.group == 2; }),
             even.end());
  CHECK(balance_user_sets(g, even, n, 5).size() == even.size());
  // with N = 7 no user has a spare tweet (1..7 each): nothing to sample
  const auto whole = user_sets(g, ids, 7, TweetOrder::First, 5);
  CHECK(balance_user_sets(g, whole, 7, 5).size() == whole.size());
}

TEST_CASE("groups: pan2019_bots_en splits 3,090 users of 100 tweets whole") {
  const std::string path = LOOM_SOURCE_DIR "/../shared/data/pan2019_bots_en/tweets.csv";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: ../shared/data/pan2019_bots_en is absent");
    return;
  }
  DatasetSpec spec;
  spec.path = path;
  spec.id_cols = {"user_id"};
  const Dataset d = load_dataset(spec);
  std::vector<std::string> keys;
  for (const Example& e : d.examples) keys.push_back(e.ids[0]);
  const Groups g = make_groups(d, keys);
  // README: 3,090 accounts (1,545 per label), 100 tweets each
  REQUIRE(g.keys.size() == 3090);
  CHECK(std::count(g.labels.begin(), g.labels.end(), 1) == 1545);
  for (const auto& rows : g.rows) CHECK(rows.size() == 100);
  const SplitIndices s = grouped_stratified_split(d, g, 0.0, 0.25, 42);
  // round(1545 * 0.25) = 386 users of each label held out: 772 users, 77,200 tweets
  CHECK(s.test.size() == 77200);
  CHECK(s.train.size() == 309000 - 77200);
  std::set<std::string> train_keys, test_keys;
  for (const std::int64_t r : s.train) train_keys.insert(keys[static_cast<std::size_t>(r)]);
  for (const std::int64_t r : s.test) test_keys.insert(keys[static_cast<std::size_t>(r)]);
  CHECK(train_keys.size() == 3090 - 772);
  CHECK(test_keys.size() == 772);
  for (const std::string& k : test_keys) CHECK(train_keys.count(k) == 0);
}
