// data/metadata.h: account metadata joined onto tweets, for the bot-detection models (hybrid,
// meta-mlp; issue 14).
//
//   tweets.csv (--input, one row per tweet, a join column)  +  accounts.csv (--accounts, one row per
//   account: the join column, numeric columns, optionally the label)
//   --> one raw feature vector of F floats per example (data::EncodedExample::meta)
//
// The vector is "raw": counts as read, engineered features computed, missing values filled with 0
// and flagged by an indicator feature. Standardization is NOT done here: the model holds the
// scaler (models/classifier.h, meta_scaler buffers fitted on the training split), so eval and
// predict only rebuild this raw vector from the MetaSchema saved in config.json.
//
// Engineered features (added when their source columns exist and MetaSpec::engineered is on; the
// list and the formulas are in train/README.md):
//   log1p_<c>            log(1 + max(c, 0)) of each count column (followers_count, friends_count,
//                        listed_count, favourites_count, statuses_count: the *_count columns)
//   statuses_per_day     statuses_count / max(account_age_days, 1)
//   followers_friends_ratio  followers_count / max(friends_count, 1)
//   screen_name_digit_share  screen_name_digits / max(screen_name_len, 1)
// Engineered features are computed from the filled values (a missing cell counts as 0) in double,
// then stored as float like every entry.
// Missing values (after trimming spaces and tabs: an empty cell, "NA", "NaN", "nan", "null", "None";
// case-sensitive): the feature is 0 and "<c>_missing" is 1. An indicator exists for every source
// column that has a missing value in an account row the training data uses (decided once, saved in
// the schema). A tweet whose account is absent (MissingAccount::Keep) has every source column
// missing: values 0, every existing "<c>_missing" 1, and "no_account" = 1 (that feature exists when
// the training data has such a tweet; those tweets alone do not create "<c>_missing" features).
// A number is the whole trimmed cell read by std::from_chars ("12", "-3.5", "1e3", "+7"; not
// "12abc", not "inf"), finite and within float range.
// all-numeric: every column except the join and label columns whose cells are all numbers or
// missing, with at least one number (a column that is all missing carries nothing).
// The vector's order: source columns in file order (whatever order --meta-cols lists them in),
// engineered features in the order above, the "<c>_missing" indicators in source order, then
// "no_account". MetaSchema::feature_names names each entry.
// Accounts without a tweet (AccountsWithoutTweets::Keep, the default) become examples with an empty
// text: the batcher gives an empty text one <unk> token (data/batching.h), so the text branch sees
// "nothing known" and the metadata branch carries the decision. Their label is the accounts file's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace loom::data {

enum class MissingAccount { Fail, Skip, Keep };         // a tweet whose join key has no account row
enum class AccountsWithoutTweets { Keep, Drop };        // an account that no tweet names

MissingAccount parse_missing_account(const std::string& s);               // "fail" | "skip" | "keep"
AccountsWithoutTweets parse_accounts_without_tweets(const std::string& s);  // "keep" | "drop"

struct MetaSpec {
  std::string accounts_path;              // --accounts FILE; "" = the metadata columns are in the input
                                          // CSV itself (input_path), matched to examples by line
  std::string input_path;                 // --input, read again for its own columns when accounts_path is ""
  std::string join_col = "user_id";       // --join COL: the key column in both files
  std::vector<std::string> columns;       // --meta-cols a,b,c; {"all-numeric"}: every column of the
                                          // accounts file (or input) that is numeric in every row,
                                          // except the join and label columns
  bool engineered = true;                 // --meta-features engineered|raw
  std::string label_col = "label";        // the accounts file's label column (optional there)
  MissingAccount missing_account = MissingAccount::Fail;            // --missing-account
  AccountsWithoutTweets without_tweets = AccountsWithoutTweets::Keep;  // --accounts-without-tweets
  BadRowPolicy on_bad_row = BadRowPolicy::Fail;  // a non-numeric metadata cell: fail or skip the account
};

// What eval/predict need to rebuild the same vector: saved in config.json ("metadata").
struct MetaSchema {
  std::string join_col;
  std::vector<std::string> source_columns;  // the numeric columns read, in order
  std::vector<std::string> feature_names;   // the F entries of the vector, in order
  bool engineered = true;
  std::vector<std::string> missing_indicators;  // source columns that have a "<c>_missing" feature
  bool no_account_indicator = false;            // the "no_account" feature exists

  std::int64_t size() const { return static_cast<std::int64_t>(feature_names.size()); }
  nlohmann::json to_json() const;
  static MetaSchema from_json(const nlohmann::json& j);  // CheckpointError naming a bad field
};

// What the join did, for the log ("joined 1,649 tweets to 1,887 accounts: 238 accounts without a
// tweet kept with an empty text, 0 tweets without an account").
struct JoinReport {
  std::int64_t tweets = 0, accounts = 0, matched = 0;
  std::int64_t tweets_without_account = 0;   // skipped or kept, per the policy
  std::int64_t accounts_without_tweets = 0;  // appended or dropped, per the policy
  std::int64_t missing_values = 0;           // cells filled with 0 (+ indicator)
  SkipLog skipped_accounts;                  // bad account rows skipped (--on-bad-row skip)
  // The policies and the source, so summary() can say what happened to the counts above.
  bool from_input = false;                   // the columns came from the input CSV itself
  MissingAccount missing_account = MissingAccount::Fail;
  AccountsWithoutTweets without_tweets = AccountsWithoutTweets::Keep;
  std::string summary() const;
};

// Joins metadata onto `d` (loaded with spec.join_col among its id columns, so each example carries
// its key). Appends accounts without tweets as empty-text examples (their label from the accounts
// file, mapped onto d.label_names) unless the policy drops them; removes tweets without an account
// under MissingAccount::Skip. Returns one raw feature vector per example of `d` (after those
// changes, in d's order). With `schema` (eval/predict), that schema is used as saved (a source
// column missing from the file is a DataError naming it); without, it is decided here from the
// data (training) and written to `*schema_out`.
// Errors (DataError "PATH:LINE: field 'COL': ..."): a duplicate key in the accounts file (naming
// the key and both lines), a tweet without an account under MissingAccount::Fail (naming the key),
// a non-numeric metadata cell, a label of the accounts file that contradicts the tweet's, a
// --meta-cols name the file lacks.
// Details: every account row is parsed, even one no tweet names (a bad cell is reported either way);
// under --on-bad-row skip a bad account row (bad cell, empty key, unknown label) is counted in
// report->skipped_accounts and its tweets are removed and counted in d.skipped. Labels are compared
// (and appended accounts labeled) only when d is labeled; an appended account needs a label, and
// multi-label data cannot take one (DataError: use --accounts-without-tweets drop). With `schema`,
// its source columns, engineered flag and indicators are used; the key column is spec.join_col.
// Accounts-file mode: report->tweets = d's examples before the join, accounts = good account rows,
// matched = tweets whose account was found; missing_values counts the missing cells of the account
// rows used (once per account, not per tweet).
std::vector<std::vector<float>> join_metadata(Dataset& d, const MetaSpec& spec, const MetaSchema* schema,
                                              MetaSchema* schema_out, JoinReport* report);

// The key of each example: its value of id column `col` (which d must carry). Used for the join
// and for grouped splits (--group-col). DataError when d has no such id column.
std::vector<std::string> example_keys(const Dataset& d, const std::string& col);

}  // namespace loom::data
