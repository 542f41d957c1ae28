// tests/data/test_metadata.cc: the account-metadata join (data/metadata.h) on small CSVs written to a
// temporary folder, plus one check on the real kaggle_twitter_bots files (skipped when absent).
//
// The error cases check what a user reads: the file, the line and the field or key, since that is
// what makes a broken row of accounts.csv findable. The values are checked against numbers worked
// out by hand from the formulas in the header, not against the code's own arithmetic.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/dataset.h"
#include "data/metadata.h"
#include "tests/support/errors.h"
#include "tests/support/temp_dir.h"

using namespace loom;
using namespace loom::data;

namespace {

#define CHECK_DATA_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::DataError>(__FILE__, __LINE__, callable, {__VA_ARGS__})
#define CHECK_CHECKPOINT_ERROR(callable, ...) \
  ::loom::test::check_throws_naming<::loom::CheckpointError>(__FILE__, __LINE__, callable, {__VA_ARGS__})

const test::TempDir& dir() {
  static const test::TempDir d("test_metadata");
  return d;
}

// Four accounts (dave has no tweet; carol's followers are missing; bio is text) and their tweets.
const char* kAccounts =
    "user_id,label,followers_count,friends_count,statuses_count,account_age_days,screen_name_len,"
    "screen_name_digits,bio\n"
    "alice,0,100,50,1000,500,5,0,hello\n"   // line 2
    "bob,1,3,0,20000,10,6,3,spam\n"         // line 3
    "carol,0,NA,10,5,0,5,1,x\n"             // line 4
    "dave,1,7,7,70,70,4,2,y\n";             // line 5
const char* kTweets =
    "user_id,label,text\n"
    "alice,0,hi there\n"   // line 2
    "bob,1,buy now\n"      // line 3
    "alice,0,second\n"     // line 4
    "carol,0,hey\n";       // line 5

Dataset load(const std::string& path, bool labeled = true) {
  DatasetSpec s;
  s.path = path;
  s.id_cols = {"user_id"};
  s.labeled = labeled;
  const std::vector<std::string> names{"0", "1"};
  return load_dataset(s, labeled ? nullptr : &names);
}

MetaSpec spec_for(const std::string& accounts, const std::string& tweets, std::vector<std::string> cols = {"all-numeric"}) {
  MetaSpec m;
  m.accounts_path = accounts;
  m.input_path = tweets;
  m.columns = std::move(cols);
  return m;
}

// float storage of a double: relative error <= 2^-24 ~ 6e-8; the literals below carry 8 significant
// digits (rounding error <= 5e-8 relative), so 2e-7 relative covers both.
void check_close(float got, double want) {
  CHECK(got == doctest::Approx(want).epsilon(2e-7));
}

}  // namespace

TEST_CASE("metadata: accounts without tweets are appended, all-numeric, engineered features and indicators") {
  const std::string accounts = dir().write("accounts.csv", kAccounts);
  const std::string tweets = dir().write("tweets.csv", kTweets);
  Dataset d = load(tweets);
  MetaSchema schema;
  JoinReport report;
  const auto meta = join_metadata(d, spec_for(accounts, tweets), nullptr, &schema, &report);

  // all-numeric: the six numeric columns in file order; not user_id, label or the text column bio.
  CHECK(schema.source_columns == std::vector<std::string>{"followers_count", "friends_count", "statuses_count",
                                                          "account_age_days", "screen_name_len", "screen_name_digits"});
  // only followers_count has a missing value (carol's "NA"), so only it gets an indicator
  CHECK(schema.missing_indicators == std::vector<std::string>{"followers_count"});
  CHECK_FALSE(schema.no_account_indicator);
  CHECK(schema.feature_names ==
        std::vector<std::string>{"followers_count", "friends_count", "statuses_count", "account_age_days",
                                 "screen_name_len", "screen_name_digits", "log1p_followers_count",
                                 "log1p_friends_count", "log1p_statuses_count", "statuses_per_day",
                                 "followers_friends_ratio", "screen_name_digit_share", "followers_count_missing"});

  REQUIRE(d.examples.size() == 5);  // 4 tweets + dave
  REQUIRE(meta.size() == 5);
  const Example& dave = d.examples[4];
  CHECK(dave.text.empty());
  CHECK(dave.label == 1);           // the accounts file's "1" mapped onto d.label_names {"0", "1"}
  CHECK(dave.line == 5);            // the accounts line
  CHECK(dave.ids == std::vector<std::string>{"dave"});
  CHECK(report.tweets == 4);
  CHECK(report.accounts == 4);
  CHECK(report.matched == 4);
  CHECK(report.accounts_without_tweets == 1);
  CHECK(report.tweets_without_account == 0);
  CHECK(report.missing_values == 1);
  const std::string summary = report.summary();
  CHECK(summary.find("joined 4 tweets to 4 accounts") != std::string::npos);
  CHECK(summary.find("1 accounts without a tweet kept with an empty text") != std::string::npos);

  for (const auto& v : meta) REQUIRE(v.size() == 13);
  // bob (row 1): 3, 0, 20000, 10, 6, 3. log1p(3) = 1.3862944, log1p(0) = 0, log1p(20000) = 9.9035376,
  // 20000 / 10 = 2000, 3 / max(0, 1) = 3, 3 / 6 = 0.5, not missing.
  const std::vector<double> bob{3, 0, 20000, 10, 6, 3, 1.3862944, 0, 9.9035376, 2000, 3, 0.5, 0};
  // carol (row 3): followers missing -> 0 and indicator 1; 10, 5, 0, 5, 1; log1p(10) = 2.3978953,
  // log1p(5) = 1.7917595; 5 / max(0, 1) = 5; 0 / 10 = 0; 1 / 5 = 0.2.
  const std::vector<double> carol{0, 10, 5, 0, 5, 1, 0, 2.3978953, 1.7917595, 5, 0, 0.2, 1};
  // alice twice (rows 0 and 2): log1p(100) = 4.6151205, log1p(50) = 3.9318256, log1p(1000) = 6.9087548
  const std::vector<double> alice{100, 50, 1000, 500, 5, 0, 4.6151205, 3.9318256, 6.9087548, 2, 2, 0, 0};
  for (std::size_t j = 0; j < 13; ++j) {
    CAPTURE(j);
    check_close(meta[1][j], bob[j]);
    check_close(meta[3][j], carol[j]);
    check_close(meta[0][j], alice[j]);
    check_close(meta[2][j], alice[j]);
  }
}

TEST_CASE("metadata: raw features, explicit columns in file order, dropped accounts, unlabeled data") {
  const std::string accounts = dir().write("accounts.csv", kAccounts);
  const std::string tweets = dir().write("tweets.csv", kTweets);
  Dataset d = load(tweets);
  MetaSpec m = spec_for(accounts, tweets, {"statuses_count", "followers_count"});  // listed out of order
  m.engineered = false;
  m.without_tweets = AccountsWithoutTweets::Drop;
  MetaSchema schema;
  JoinReport report;
  const auto meta = join_metadata(d, m, nullptr, &schema, &report);
  CHECK(schema.feature_names == std::vector<std::string>{"followers_count", "statuses_count", "followers_count_missing"});
  CHECK(d.examples.size() == 4);
  CHECK(report.accounts_without_tweets == 1);
  CHECK(report.summary().find("dropped") != std::string::npos);
  CHECK(meta[1] == std::vector<float>{3, 20000, 0});
  // an indicator comes from the rows used only: dave (dropped) missing statuses_count adds none
  std::string with_hole = kAccounts;
  with_hole.replace(with_hole.find("dave,1,7,7,70"), 13, "dave,1,7,7,");
  m.accounts_path = dir().write("accounts_dave.csv", with_hole);
  Dataset h = load(tweets);
  MetaSchema hs;
  join_metadata(h, m, nullptr, &hs, nullptr);
  CHECK(hs.missing_indicators == std::vector<std::string>{"followers_count"});

  // predict: unlabeled tweets; dave is appended with label -1 and no label is compared
  Dataset u = load(tweets, false);
  const auto um = join_metadata(u, spec_for(accounts, tweets), nullptr, nullptr, nullptr);
  REQUIRE(u.examples.size() == 5);
  CHECK(u.examples[4].label == -1);
  CHECK(um.size() == 5);
}

TEST_CASE("metadata: tweets without an account fail, are skipped or are kept with no_account") {
  const std::string accounts = dir().write("accounts.csv", kAccounts);
  const std::string tweets = dir().write("tweets_eve.csv", std::string(kTweets) + "eve,1,who am i\n");  // line 6
  {
    Dataset d = load(tweets);
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(accounts, tweets), nullptr, nullptr, nullptr); },
                     tweets + ":6:", "field 'user_id'", "no account 'eve'", accounts);
  }
  {
    Dataset d = load(tweets);
    MetaSpec m = spec_for(accounts, tweets);
    m.missing_account = MissingAccount::Skip;
    JoinReport report;
    MetaSchema schema;
    const auto meta = join_metadata(d, m, nullptr, &schema, &report);
    CHECK(report.tweets_without_account == 1);
    CHECK(d.examples.size() == 5);  // 5 tweets - eve + dave
    for (const Example& e : d.examples) CHECK(e.ids[0] != "eve");
    CHECK_FALSE(schema.no_account_indicator);
    CHECK(report.summary().find("1 tweets without an account skipped") != std::string::npos);
  }
  {
    Dataset d = load(tweets);
    MetaSpec m = spec_for(accounts, tweets);
    m.missing_account = MissingAccount::Keep;
    MetaSchema schema;
    JoinReport report;
    const auto meta = join_metadata(d, m, nullptr, &schema, &report);
    CHECK(report.summary().find("1 tweets without an account kept with every feature missing") != std::string::npos);
    REQUIRE(d.examples.size() == 6);
    CHECK(d.examples[4].ids[0] == "eve");
    CHECK(schema.no_account_indicator);
    CHECK(schema.feature_names.back() == "no_account");
    REQUIRE(meta[4].size() == 14);
    // eve: every value 0, followers_count_missing 1 (unknown), no_account 1
    std::vector<float> want(14, 0.0f);
    want[12] = 1;
    want[13] = 1;
    CHECK(meta[4] == want);
    CHECK(meta[0][13] == 0.0f);  // alice has an account
    CHECK(meta[0][12] == 0.0f);
  }
}

TEST_CASE("metadata: a duplicate key, a bad cell, an unknown column and a label conflict are named") {
  const std::string tweets = dir().write("tweets.csv", kTweets);
  {
    const std::string dup = dir().write("dup.csv", "user_id,label,followers_count\nalice,0,1\nbob,1,2\nalice,0,3\n");
    Dataset d = load(tweets);
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(dup, tweets), nullptr, nullptr, nullptr); },
                     dup + ":4:", "field 'user_id'", "duplicate key 'alice'", "(first on line 2)");
  }
  const std::string bad = dir().write("bad.csv", "user_id,label,followers_count\nalice,0,1\nbob,1,12abc\ncarol,0,5\n");
  {
    Dataset d = load(tweets);
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(bad, tweets, {"followers_count"}), nullptr, nullptr, nullptr); },
                     bad + ":3:", "field 'followers_count'", "'12abc' is not a number");
  }
  {
    // --on-bad-row skip: bob's account is skipped and counted, and so is his tweet
    Dataset d = load(tweets);
    MetaSpec m = spec_for(bad, tweets, {"followers_count"});
    m.on_bad_row = BadRowPolicy::Skip;
    JoinReport report;
    const auto meta = join_metadata(d, m, nullptr, nullptr, &report);
    CHECK(report.skipped_accounts.count == 1);
    CHECK(d.skipped.count == 1);
    REQUIRE(d.skipped.examples.size() == 1);
    CHECK(d.skipped.examples[0].find("account 'bob' was skipped") != std::string::npos);
    CHECK(d.examples.size() == 3);
    CHECK(meta.size() == 3);
  }
  {
    Dataset d = load(tweets);
    const std::string accounts = dir().write("accounts.csv", kAccounts);
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(accounts, tweets, {"followers", "friends_count"}), nullptr, nullptr, nullptr); },
                     "no metadata column 'followers'", "the columns are: user_id, label, followers_count, friends_count");
  }
  {
    const std::string conflict = dir().write("conflict.csv", "user_id,label,text\nalice,0,a\nbob,0,b\ndave,1,d\n");
    Dataset d = load(conflict);
    const std::string accounts = dir().write("accounts.csv", kAccounts);
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(accounts, conflict), nullptr, nullptr, nullptr); },
                     conflict + ":3:", "field 'label'", "key 'bob'", "contradicts");
  }
  {
    const std::string unknown = dir().write("unknown.csv", "user_id,label,followers_count\nalice,0,1\nbob,bot,2\ncarol,0,3\n");
    Dataset d = load(tweets);
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(unknown, tweets), nullptr, nullptr, nullptr); },
                     unknown + ":3:", "field 'label'", "unknown label 'bot'");
  }
  {
    Dataset d = load(tweets);
    d.id_names.clear();
    for (Example& e : d.examples) e.ids.clear();
    CHECK_DATA_ERROR([&] { join_metadata(d, spec_for(dir().file("accounts.csv"), tweets), nullptr, nullptr, nullptr); },
                     "no id column 'user_id'");
  }
}

TEST_CASE("metadata: all-numeric takes exactly the columns whose every cell is a number or missing") {
  const std::string accounts = dir().write("numeric.csv",
                                           "user_id,label,a,b,c,d,e,f\n"
                                           "alice,0,1e3,+7, 1.5 ,x,,3\n"
                                           "bob,1,-2,8,null,4,None,12abc\n"
                                           "carol,0,NaN,9,2,5,nan,4\n");
  const std::string tweets = dir().write("tweets.csv", kTweets);
  Dataset d = load(tweets);
  MetaSchema schema;
  JoinReport report;
  const auto meta = join_metadata(d, spec_for(accounts, tweets), nullptr, &schema, &report);
  // a: numbers and a missing NaN; b: "+7" is a number; c: spaces trimmed, "null" missing;
  // d: "x" is text; e: never a number; f: "12abc" is text
  CHECK(schema.source_columns == std::vector<std::string>{"a", "b", "c"});
  CHECK(schema.missing_indicators == std::vector<std::string>{"a", "c"});
  CHECK(meta[0] == std::vector<float>{1000, 7, 1.5f, 0, 0});  // alice
  CHECK(meta[1] == std::vector<float>{-2, 8, 0, 0, 1});       // bob: c missing
  CHECK(meta[3] == std::vector<float>{0, 9, 2, 1, 0});        // carol: a missing
  CHECK(report.missing_values == 2);
}

TEST_CASE("metadata: the schema round-trips through JSON and rebuilds the same vectors") {
  const std::string accounts = dir().write("accounts.csv", kAccounts);
  const std::string tweets = dir().write("tweets.csv", kTweets);
  Dataset d = load(tweets);
  MetaSchema schema;
  const auto meta = join_metadata(d, spec_for(accounts, tweets), nullptr, &schema, nullptr);
  const MetaSchema back = MetaSchema::from_json(nlohmann::json::parse(schema.to_json().dump()));
  CHECK(back.join_col == "user_id");
  CHECK(back.source_columns == schema.source_columns);
  CHECK(back.feature_names == schema.feature_names);
  CHECK(back.engineered == schema.engineered);
  CHECK(back.missing_indicators == schema.missing_indicators);
  CHECK(back.no_account_indicator == schema.no_account_indicator);

  // eval: same files, the saved schema (--meta-cols is ignored then) -> the same vectors
  Dataset e = load(tweets);
  MetaSpec m = spec_for(accounts, tweets, {});
  const auto again = join_metadata(e, m, &back, nullptr, nullptr);
  CHECK(again == meta);

  // eval on accounts where friends_count (no indicator in the schema) is missing: 0, counted
  const std::string holes = dir().write("holes.csv",
                                        "user_id,label,screen_name_digits,followers_count,friends_count,statuses_count,"
                                        "account_age_days,screen_name_len\n"
                                        "alice,0,0,100,,1000,500,5\nbob,1,3,3,0,20000,10,6\ncarol,0,1,NA,10,5,0,5\n");
  Dataset h = load(tweets);
  JoinReport report;
  const auto hv = join_metadata(h, spec_for(holes, tweets), &back, nullptr, &report);
  CHECK(report.missing_values == 2);
  CHECK(hv[0][1] == 0.0f);   // alice's friends_count
  CHECK(hv[0][12] == 0.0f);  // followers_count_missing: alice has followers
  CHECK(hv[1] == meta[1]);   // bob: columns in another order, same vector

  const std::string lacking = dir().write("lacking.csv", "user_id,label,followers_count\nalice,0,1\nbob,1,2\ncarol,0,3\n");
  Dataset l = load(tweets);
  CHECK_DATA_ERROR([&] { join_metadata(l, spec_for(lacking, tweets), &back, nullptr, nullptr); },
                   lacking, "no metadata column 'friends_count'", "trained with it");

  nlohmann::json j = schema.to_json();
  j.erase("source_columns");
  CHECK_CHECKPOINT_ERROR([&] { MetaSchema::from_json(j); }, "source_columns", "missing");
  j = schema.to_json();
  j["engineered"] = "yes";
  CHECK_CHECKPOINT_ERROR([&] { MetaSchema::from_json(j); }, "'engineered'", "true or false");
  j = schema.to_json();
  j["feature_names"].erase(j["feature_names"].size() - 1);
  CHECK_CHECKPOINT_ERROR([&] { MetaSchema::from_json(j); }, "'feature_names'", "does not match");
}

TEST_CASE("metadata: columns of the input itself are matched by line") {
  const std::string input = dir().write("self.csv",
                                        "user_id,label,text,followers_count,friends_count\n"
                                        "alice,0,\"multi\nline\",10,5\n"   // lines 2-3
                                        "bob,1,hello,4,\n"                // line 4
                                        "carol,0,,1,1\n"                  // line 5: empty text, skipped
                                        "dave,1,bye,2,0\n");              // line 6
  DatasetSpec s;
  s.path = input;
  s.on_bad_row = BadRowPolicy::Skip;
  Dataset d = load_dataset(s);
  REQUIRE(d.examples.size() == 3);
  MetaSpec m;
  m.input_path = input;
  m.columns = {"all-numeric"};
  m.engineered = false;
  MetaSchema schema;
  JoinReport report;
  const auto meta = join_metadata(d, m, nullptr, &schema, &report);
  CHECK(schema.source_columns == std::vector<std::string>{"followers_count", "friends_count"});
  REQUIRE(meta.size() == 3);
  CHECK(meta[0] == std::vector<float>{10, 5, 0});
  CHECK(meta[1] == std::vector<float>{4, 0, 1});
  CHECK(meta[2] == std::vector<float>{2, 0, 0});
  CHECK(report.summary().find("input's own columns") != std::string::npos);
}

TEST_CASE("metadata: kaggle_twitter_bots joins to 1,887 examples") {
  const std::string root = LOOM_SOURCE_DIR "/../shared/data/kaggle_twitter_bots/";
  if (!std::filesystem::exists(root + "accounts.csv") || !std::filesystem::exists(root + "tweets.csv")) {
    MESSAGE("skipped: ../shared/data/kaggle_twitter_bots is absent");
    return;
  }
  Dataset d = load(root + "tweets.csv");
  REQUIRE(d.examples.size() == 1649);
  MetaSchema schema;
  JoinReport report;
  const auto meta = join_metadata(d, spec_for(root + "accounts.csv", root + "tweets.csv"), nullptr, &schema, &report);
  // README counts: 1,887 accounts (0: 994, 1: 893), 1,649 tweets, one per account
  CHECK(d.examples.size() == 1887);
  CHECK(report.matched == 1649);
  CHECK(report.accounts_without_tweets == 238);
  CHECK(label_counts(d) == std::vector<std::int64_t>{994, 893});
  // 16 numeric columns, log1p of the 5 *_count ones, 3 ratios; no missing cell in the file
  CHECK(schema.source_columns.size() == 16);
  CHECK(schema.size() == 24);
  CHECK(schema.missing_indicators.empty());
  CHECK(report.missing_values == 0);
  // 100yearsrising (first row of both files): followers 147, friends 0, statuses 96, age 982 days
  const std::int64_t spd = std::find(schema.feature_names.begin(), schema.feature_names.end(), "statuses_per_day") -
                           schema.feature_names.begin();
  const std::int64_t ratio = std::find(schema.feature_names.begin(), schema.feature_names.end(),
                                       "followers_friends_ratio") - schema.feature_names.begin();
  REQUIRE(d.examples[0].ids[0] == "100yearsrising");
  check_close(meta[0][static_cast<std::size_t>(spd)], 96.0 / 982.0);
  check_close(meta[0][static_cast<std::size_t>(ratio)], 147.0);
  MESSAGE(report.summary());
}
