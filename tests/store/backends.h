// The backends the store tests run against, with the same assertions on each: SQLite (a file in
// a temporary folder) and PostgreSQL (a fresh database on the test run's server; skipped when
// there is none, failed under FOLLOWUP_REQUIRE_PG=1).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "store/store.h"
#include "support/pg_server.h"
#include "support/test_util.h"

namespace followup::store {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgresql";
}
inline void PrintTo(Backend backend, std::ostream* out) {
  *out << (backend == Backend::kSqlite ? "sqlite" : "postgresql");
}

// A test run once per backend: url_ names a new, empty store of that backend.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      url_ = "sqlite:" + dir_ / "f.db";
      return;
    }
    FOLLOWUP_PG_SERVER_OR_SKIP(server);
    url_ = server->NewDatabase();
    ASSERT_FALSE(url_.empty()) << "cannot create a database on the test server";
  }

  // Opens (and migrates) the store; fails the test when it cannot.
  std::unique_ptr<Store> OpenStore() {
    auto store = Store::Open(url_);
    EXPECT_TRUE(store) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  testing::TempDir dir_;
  std::string url_;
};

#define FOLLOWUP_ON_EVERY_BACKEND(suite)    \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, \
                           ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName)

}  // namespace followup::store
