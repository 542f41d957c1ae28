// fuzz/metadata.cc: the accounts file of the bot-detection models (data::join_metadata in
// data/metadata.h) on arbitrary bytes, joined onto a fixed little tweet set.
//
// The first byte picks the policies (missing account, accounts without tweets, bad rows), the
// column choice (all-numeric or two named columns) and engineered features; the rest is the
// accounts CSV. Checked: a refusal is a DataError naming the file; an accepted join gives one
// vector per example, each with one finite entry per feature name; the schema it chose survives
// to_json -> from_json; and eval's path (the same file read again with that schema, on the same
// tweets) succeeds and rebuilds exactly the same vectors.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "data/metadata.h"
#include "fuzz/fuzz_util.h"

using namespace loom;

namespace {

// Four tweets by users "1", "2", "2" and "7", labeled 0/1 like a binary training split.
data::Dataset tweets() {
  data::Dataset d;
  d.label_names = {"0", "1"};
  d.task = data::TaskKind::Binary;
  d.id_names = {"user_id"};
  const char* users[] = {"1", "2", "2", "7"};
  for (int i = 0; i < 4; ++i) {
    data::Example e;
    e.text = "tweet " + std::to_string(i);
    e.label = i % 2;
    e.ids = {users[i]};
    e.line = i + 2;
    d.examples.push_back(e);
  }
  return d;
}

}  // namespace

int loom_fuzz_metadata(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  data::MetaSpec spec;
  spec.accounts_path = fuzz::write_scratch("accounts.csv", in.rest());
  spec.missing_account = static_cast<data::MissingAccount>(mode % 3);
  spec.without_tweets = (mode & 4) ? data::AccountsWithoutTweets::Drop : data::AccountsWithoutTweets::Keep;
  spec.on_bad_row = (mode & 8) ? data::BadRowPolicy::Skip : data::BadRowPolicy::Fail;
  spec.engineered = (mode & 16) == 0;
  spec.columns = (mode & 32) ? std::vector<std::string>{"followers_count", "friends_count"}
                             : std::vector<std::string>{"all-numeric"};

  data::Dataset d = tweets();
  data::MetaSchema schema;
  data::JoinReport report;
  std::vector<std::vector<float>> vectors;
  if (!fuzz::run_expecting<DataError>([&] { vectors = data::join_metadata(d, spec, nullptr, &schema, &report); },
                                      spec.accounts_path))
    return 0;

  FUZZ_CHECK(vectors.size() == d.examples.size(), "vectors and examples differ in number");
  FUZZ_CHECK(static_cast<std::size_t>(schema.size()) == schema.feature_names.size(), "schema size");
  for (const auto& v : vectors) {
    FUZZ_CHECK(static_cast<std::int64_t>(v.size()) == schema.size(), "a vector of the wrong length");
    for (float x : v) FUZZ_CHECK(std::isfinite(x), "a non-finite feature");
  }
  data::MetaSchema back;
  try {
    back = data::MetaSchema::from_json(schema.to_json());
  } catch (const std::exception& e) {
    fuzz::fail(std::string("the chosen schema does not read back: ") + e.what());
  }
  FUZZ_CHECK(back.to_json() == schema.to_json(), "schema changed by to_json/from_json");

  // Eval: same tweets, same file, the saved schema.
  data::Dataset d2 = tweets();
  std::vector<std::vector<float>> again;
  try {
    again = data::join_metadata(d2, spec, &back, nullptr, nullptr);
  } catch (const std::exception& e) {
    fuzz::fail(std::string("eval's join with the training schema fails: ") + e.what());
  }
  FUZZ_CHECK(again == vectors, "eval's join rebuilt different vectors");
  return 0;
}

LOOM_FUZZ_ENTRY(loom_fuzz_metadata)
