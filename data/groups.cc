// data/groups.cc: grouped splits, grouped K folds and per-user tweet sets (see groups.h).
//
// Every random choice here is a Philox draw (data/batching.h draw_below) with its own domain word,
// so it never collides with batching's streams (domains 0..2) and depends only on (seed, counter):
// the same on every machine and thread count. Groups come in order of their first row, labels are
// visited in ascending order (std::map), so nothing depends on hashing or iteration accidents.
#include "data/groups.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "core/error.h"

namespace loom::data {

namespace {

// Counter word 3 of the draws made here (batching.cc uses 0, 1 and 2).
constexpr std::uint32_t kDomainGroupSplit = 3, kDomainFolds = 4, kDomainUserSample = 5, kDomainBalanceOrder = 6,
                        kDomainBalanceSample = 7;

// Fisher-Yates with draw i at counter (i, word2, domain), as batching.cc's shuffle.
template <typename T>
void shuffle(std::vector<T>& v, std::uint64_t seed, std::uint32_t word2, std::uint32_t domain) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(draw_below(i, seed, i - 1, word2, domain));
    std::swap(v[i - 1], v[j]);
  }
}

// m of `rows` chosen uniformly without replacement (a partial Fisher-Yates), back in file order.
std::vector<std::int64_t> sample_rows(std::vector<std::int64_t> rows, std::size_t m, std::uint64_t seed,
                                      std::uint32_t word2, std::uint32_t domain) {
  for (std::size_t i = 0; i < m && i + 1 < rows.size(); ++i) {
    const auto j = i + static_cast<std::size_t>(draw_below(rows.size() - i, seed, i, word2, domain));
    std::swap(rows[i], rows[j]);
  }
  rows.resize(std::min(m, rows.size()));
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The label a row is stratified by: its label; multi-label: its first positive label (K when none).
int row_label(const Dataset& d, const Example& e) {
  if (d.task == TaskKind::MultiLabel && !e.targets.empty()) {
    const auto it = std::find_if(e.targets.begin(), e.targets.end(), [](float v) { return v > 0.5f; });
    return static_cast<int>(it - e.targets.begin());
  }
  return e.label;
}

std::string label_name(const Dataset& d, int label) {
  if (label < 0) return "(none)";
  if (static_cast<std::size_t>(label) < d.label_names.size()) return d.label_names[static_cast<std::size_t>(label)];
  return "(no positive label)";
}

// Group indices per label (ascending label), each list in group order.
std::map<int, std::vector<std::int64_t>> groups_by_label(const Groups& groups) {
  std::map<int, std::vector<std::int64_t>> out;
  for (std::size_t g = 0; g < groups.rows.size(); ++g) out[groups.labels[g]].push_back(static_cast<std::int64_t>(g));
  return out;
}

void append_rows(const Groups& groups, const std::vector<std::int64_t>& ids, std::vector<std::int64_t>& rows) {
  for (const std::int64_t g : ids) {
    const auto& r = groups.rows[static_cast<std::size_t>(g)];
    rows.insert(rows.end(), r.begin(), r.end());
  }
}

}  // namespace

Groups make_groups(const Dataset& d, const std::vector<std::string>& keys) {
  LOOM_CHECK(keys.size() == d.examples.size(), "make_groups: ", keys.size(), " keys for ", d.examples.size(),
             " examples");
  Groups out;
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const Example& e = d.examples[i];
    const int label = row_label(d, e);
    const auto [it, fresh] = index.emplace(keys[i], out.keys.size());
    if (fresh) {
      out.keys.push_back(keys[i]);
      out.rows.emplace_back();
      out.labels.push_back(label);
    }
    const std::size_t g = it->second;
    if (out.labels[g] != label) {
      const Example& first = d.examples[static_cast<std::size_t>(out.rows[g][0])];
      LOOM_THROW(DataError, "group '", keys[i], "' has rows with two labels: '", label_name(d, out.labels[g]),
                 "' (line ", first.line, ") and '", label_name(d, label), "' (line ", e.line,
                 "); a grouped split needs one label per group");
    }
    out.rows[g].push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

SplitIndices grouped_stratified_split(const Dataset& d, const Groups& groups, double val_fraction,
                                      double test_fraction, std::uint64_t seed) {
  LOOM_CHECK(val_fraction >= 0 && val_fraction < 1 && test_fraction >= 0 && test_fraction < 1 &&
                 val_fraction + test_fraction < 1,
             "grouped_stratified_split: fractions must be in [0, 1) with a sum below 1, got val ", val_fraction,
             " and test ", test_fraction);
  (void)d;  // the labels live in `groups`; d is part of the contract for symmetry with stratified_split
  SplitIndices out;
  for (auto& [label, ids] : groups_by_label(groups)) {
    shuffle(ids, seed, static_cast<std::uint32_t>(label), kDomainGroupSplit);
    const auto n = static_cast<std::int64_t>(ids.size());
    const auto rounded = [n](double f) { return static_cast<std::int64_t>(std::floor(static_cast<double>(n) * f + 0.5)); };
    std::int64_t n_test = rounded(test_fraction), n_val = rounded(val_fraction);
    while (n_test + n_val >= n && n_test + n_val > 0) {  // every label keeps a training group
      if (n_test > 0) --n_test;
      else --n_val;
    }
    append_rows(groups, std::vector<std::int64_t>(ids.begin(), ids.begin() + n_test), out.test);
    append_rows(groups, std::vector<std::int64_t>(ids.begin() + n_test, ids.begin() + n_test + n_val), out.val);
    append_rows(groups, std::vector<std::int64_t>(ids.begin() + n_test + n_val, ids.end()), out.train);
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  std::sort(out.test.begin(), out.test.end());
  return out;
}

std::vector<std::vector<std::int64_t>> grouped_stratified_folds(const Dataset& d, const Groups& groups, int k,
                                                                std::uint64_t seed) {
  auto by_label = groups_by_label(groups);
  if (by_label.empty()) LOOM_THROW(DataError, "cross-validation: the data has no group");
  std::size_t smallest = groups.rows.size();
  int smallest_label = -1;
  for (const auto& [label, ids] : by_label)
    if (ids.size() < smallest) {
      smallest = ids.size();
      smallest_label = label;
    }
  if (k < 2 || static_cast<std::size_t>(k) > smallest)
    LOOM_THROW(DataError, "cross-validation: --cv ", k, " needs 2 <= K <= the number of groups of the smallest label ('",
               label_name(d, smallest_label), "' has ", smallest, ")");
  std::vector<std::vector<std::int64_t>> folds(static_cast<std::size_t>(k));
  // The dealing goes on where the previous label stopped, so the folds' total group counts differ
  // by at most one as well, not only each label's.
  std::size_t next = 0;
  for (auto& [label, ids] : by_label) {
    shuffle(ids, seed, static_cast<std::uint32_t>(label), kDomainFolds);
    for (const std::int64_t g : ids) {
      append_rows(groups, {g}, folds[next]);
      next = (next + 1) % folds.size();
    }
  }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

TweetOrder parse_tweet_order(const std::string& s) {
  if (s == "first") return TweetOrder::First;
  if (s == "last") return TweetOrder::Last;
  if (s == "random") return TweetOrder::Random;
  LOOM_THROW(DataError, "unknown tweet order '", s, "' (expected first, last or random)");
}

std::vector<UserSet> user_sets(const Groups& groups, const std::vector<std::int64_t>& group_ids, std::int64_t n,
                               TweetOrder order, std::uint64_t seed) {
  std::vector<UserSet> out;
  out.reserve(group_ids.size());
  for (const std::int64_t g : group_ids) {
    LOOM_CHECK(g >= 0 && static_cast<std::size_t>(g) < groups.rows.size(), "user_sets: group ", g,
               " out of range (", groups.rows.size(), " groups)");
    const auto& rows = groups.rows[static_cast<std::size_t>(g)];
    const std::size_t m = n <= 0 ? rows.size() : std::min(static_cast<std::size_t>(n), rows.size());
    UserSet s;
    s.group = g;
    s.label = groups.labels[static_cast<std::size_t>(g)];
    switch (order) {
      case TweetOrder::First: s.rows.assign(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(m)); break;
      case TweetOrder::Last: s.rows.assign(rows.end() - static_cast<std::ptrdiff_t>(m), rows.end()); break;
      case TweetOrder::Random:
        s.rows = sample_rows(rows, m, seed, static_cast<std::uint32_t>(g), kDomainUserSample);
        break;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<UserSet> balance_user_sets(const Groups& groups, const std::vector<UserSet>& sets, std::int64_t n,
                                       std::uint64_t seed) {
  std::map<int, std::int64_t> count;
  for (const UserSet& s : sets) ++count[s.label];
  if (count.size() < 2 || count.count(-1) || n <= 0) return sets;  // nothing to balance, or no N to sample
  std::int64_t most = 0;
  for (const auto& [label, c] : count) most = std::max(most, c);
  std::vector<UserSet> out = sets;
  std::uint32_t extra = 0;  // the index of each extra set: its sample's counter word
  for (const auto& [label, c] : count) {
    if (c == most) continue;
    // The minority users with spare rows, each once, in a seeded order.
    std::vector<std::int64_t> users;
    for (const UserSet& s : sets)
      if (s.label == label && static_cast<std::int64_t>(groups.rows[static_cast<std::size_t>(s.group)].size()) > n &&
          std::find(users.begin(), users.end(), s.group) == users.end())
        users.push_back(s.group);
    if (users.empty()) continue;
    shuffle(users, seed, static_cast<std::uint32_t>(label), kDomainBalanceOrder);
    for (std::int64_t added = 0; c + added < most; ++added, ++extra) {
      const std::int64_t g = users[static_cast<std::size_t>(added) % users.size()];
      UserSet s;
      s.group = g;
      s.label = label;
      s.rows = sample_rows(groups.rows[static_cast<std::size_t>(g)], static_cast<std::size_t>(n), seed, extra,
                           kDomainBalanceSample);
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace loom::data
