// data/groups.h: splits that keep each user (account) whole, and the per-user tweet sets of the
// user-level bot models (issue 14).
//
// A group is the set of examples sharing a key (data/metadata.h example_keys: --group-col, e.g.
// user_id). Every split here assigns whole groups, so no account has tweets on both sides of a
// train/test boundary (what makes a user-level score honest). Stratification is by the group's
// label: the label of its rows, which must agree (a group with two labels is a DataError naming
// the key). Randomness: Philox streams as in data/batching.h (same seed, same split on every
// machine); groups are ordered by their first row before shuffling, so the result depends only on
// the data and the seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/batching.h"
#include "data/dataset.h"

namespace loom::data {

// The groups of `keys` (one key per example, in example order): each group's rows ascending, the
// groups in order of first appearance.
struct Groups {
  std::vector<std::string> keys;              // one per group
  std::vector<std::vector<std::int64_t>> rows;
  std::vector<int> labels;                    // each group's label (-1 when unlabeled)
};
// DataError when a group's rows carry different labels (multi-label data: the first positive
// label decides, as in stratified_split).
Groups make_groups(const Dataset& d, const std::vector<std::string>& keys);

// stratified_split with groups as the units: round(n_c * fraction) groups of each label c go to
// test, then val, the rest to train (the same rounding and "every label keeps a training group"
// rule as stratified_split). Row lists come back sorted ascending.
SplitIndices grouped_stratified_split(const Dataset& d, const Groups& groups, double val_fraction,
                                      double test_fraction, std::uint64_t seed);

// K folds of whole groups, stratified by label (each label's shuffled groups dealt round-robin, so
// fold sizes per label differ by at most one group). folds[f] = the rows of fold f, ascending;
// every row is in exactly one fold. The dealing goes on across labels where the previous one
// stopped, so the folds' total group counts also differ by at most one. DataError unless
// 2 <= k <= the number of groups of the smallest label (naming that label and its count).
std::vector<std::vector<std::int64_t>> grouped_stratified_folds(const Dataset& d, const Groups& groups, int k,
                                                                std::uint64_t seed);

// How the N tweets of a user are chosen (--user-tweet-order).
enum class TweetOrder { First, Last, Random };  // first N rows in file order (default), last N, a seeded sample
TweetOrder parse_tweet_order(const std::string& s);  // "first" | "last" | "random"

// One user-level example: up to N rows (tweets) of one group.
struct UserSet {
  std::int64_t group = -1;            // index into Groups
  int label = -1;
  std::vector<std::int64_t> rows;     // 1..N rows, in file order
};

// One set per group among `group_ids` (the groups of one split), each of min(N, size) rows chosen
// by `order` (N <= 0: all rows).
std::vector<UserSet> user_sets(const Groups& groups, const std::vector<std::int64_t>& group_ids, std::int64_t n,
                               TweetOrder order, std::uint64_t seed);

// --balance-users: adds extra sets of the minority label until both labels have as many sets,
// each a seeded sample of N rows of a minority user with more than N rows (users are cycled in a
// seeded order; a user with <= N rows gives no extra set). The original sets come first, unchanged.
// With more than two labels, every smaller label is brought up to the largest count the same way.
// Returns the input when the labels are already balanced or no minority user has spare rows.
std::vector<UserSet> balance_user_sets(const Groups& groups, const std::vector<UserSet>& sets, std::int64_t n,
                                       std::uint64_t seed);

}  // namespace loom::data
