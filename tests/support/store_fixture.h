// A followup folder for tests that run the app layer or the service's rooms in-process: the
// shipped templates, a rules folder, a config pointing at a SQLite store in the folder, and
// imports done the way `followupd import` does them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "app/settings.h"
#include "config/config.h"
#include "store/import.h"
#include "store/store.h"
#include "support/test_util.h"

namespace followup::testing {

// The welcome rule the daemon tests use: a first purchase gets the winback template.
inline constexpr const char* kWelcomeRule =
    "name: welcome\ntrigger:\n  event: first_purchase\naction:\n  send: winback\n"
    "  values:\n    offer: a welcome gift\n    offer_code: HELLO\n";

// A sequence for the tests of reports and previews: three notes a week apart to everyone who
// bought; a purchase ends it (append "exit:\n  purchase: false\n" to keep it going).
inline constexpr const char* kThreeNotesRule = R"(name: remind
trigger:
  schedule: daily at 10:00
audience:
  where: purchases >= 1
steps:
  - name: first
    send: winback
    values:
      offer: 10% off
      offer_code: TEN
  - name: second
    wait: 7d
    send: winback
    values:
      offer: 20% off
      offer_code: TWENTY
  - name: last
    wait: 7d
    send: winback
    values:
      offer: 20% off, last call
      offer_code: TWENTY
limits:
  once_per: 90d
)";

class StoreFixture {
 public:
  // The folder: templates/ (the shipped ones), rules/ (empty), the store f.db (created and
  // migrated), mail to maildir://mail, the unsubscribe key in `key`; no quiet hours, no contact
  // cap, business zone `zone`.
  explicit StoreFixture(const std::string& zone = "UTC") {
    std::filesystem::copy(FOLLOWUP_SOURCE_DIR "/templates", dir / "templates",
                          std::filesystem::copy_options::recursive);
    std::filesystem::create_directories(dir / "rules");
    config.path = dir / "followup.yaml";
    config.store = "sqlite:" + dir / "f.db";
    config.rules_dir = dir / "rules";
    config.templates_dir = dir / "templates";
    config.business.timezone = zone;
    config.contact_policy.quiet_start_minute = config.contact_policy.quiet_end_minute = 0;
    config.contact_policy.max_contacts = 0;
    config.delivery.transport = "maildir://" + dir / "mail";
    config.delivery.unsubscribe_key_file = dir / "key";
    auto opened = store::Store::Open(config.store);
    EXPECT_TRUE(opened) << opened.error().ToString();
    if (opened) store = std::move(*opened);
  }

  // The settings for the config as it is now.
  app::Settings Settings() const {
    auto zone = LookupZone(config.business.timezone);
    EXPECT_TRUE(zone);
    return app::MakeSettings(config, config.store, zone ? *zone : nullptr);
  }

  void WriteRule(const std::string& name, const std::string& yaml) const {
    dir.Write("rules/" + name + ".yaml", yaml);
  }

  // Imports a CSV (with its header) as `followupd import` would.
  void Import(store::ImportTarget target, const std::string& csv) {
    static int n = 0;
    store::ImportOptions options;
    options.zone = *LookupZone(config.business.timezone);
    options.target = target;
    std::string path = dir.Write("import-" + std::to_string(++n) + ".csv", csv);
    auto imported = store::Import(*store, path, options, {});
    ASSERT_TRUE(imported) << imported.error().ToString();
  }
  void Customers(const std::string& csv) { Import(store::ImportTarget::kCustomers, csv); }

  // The suppression list as `followupd suppress list` has it: "ADDRESS: REASON" lines.
  std::string Suppressions() {
    std::string out;
    auto list = store->ListSuppressions();
    EXPECT_TRUE(list) << list.error().ToString();
    if (list)
      for (const auto& s : *list) out += s.email + ": " + s.reason + "\n";
    return out;
  }
  void Transactions(const std::string& csv) { Import(store::ImportTarget::kTransactions, csv); }

  int64_t Id(const std::string& external_id) const {
    auto row = store->FindCustomer(external_id);
    return row && *row ? (*row)->id : 0;
  }
  std::string db() const { return dir / "f.db"; }

  // Messages delivered to the maildir.
  size_t Mails() const {
    size_t n = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir / "mail/new", ec), end; !ec && it != end;
         it.increment(ec))
      n += it->is_regular_file();
    return n;
  }

  TempDir dir;
  Config config;
  std::unique_ptr<store::Store> store;
};

}  // namespace followup::testing
