// The desk (docs/architecture.md, the daemon's threads): a thread of its own with its own store
// connection, for the store work of the HTTP endpoints (the outbox counts of /metrics, the
// unsubscribe), so that the loop never waits on the store. Each answer is handed to the endpoint's
// `done` on the desk thread; the HTTP server posts it back to the loop.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/settings.h"
#include "app/webhooks.h"
#include "base/time.h"
#include "console/access.h"
#include "console/actions.h"
#include "console/console.h"
#include "service/endpoints.h"
#include "service/health.h"
#include "service/metrics.h"
#include "store/store.h"

namespace followup::service {

class Desk {
 public:
  // Borrows everything.
  Desk(const app::Settings& settings, const Clock& clock, const Metrics& metrics,
       const Health& health);
  ~Desk();

  // Opens the desk's store connection, reads the unsubscribe key and the webhooks' secrets; the
  // exit status on failure (3; 1 for secrets that are not what the config says). Before any
  // handler is called.
  std::optional<int> Start();
  // The handlers of /healthz (answered on the loop: it only reads atomics), /metrics,
  // /unsubscribe and the configured /webhooks/PROVIDER (on the desk). After Start.
  EndpointHandlers Handlers();
  // Finishes the work in hand and ends the thread; later work is dropped. Idempotent.
  void Stop();

 private:
  const app::Settings& settings_;
  const Clock& clock_;
  const Metrics& metrics_;
  const Health& health_;
  // A console request as the desk thread needs it (the HTTP request lives on the loop only).
  struct ConsoleRequest {
    bool post = false;
    std::string path, query, authorization, origin, host, peer;
    std::map<std::string, std::string> form;  // a POST's fields (actions.h), the first of each
  };
  // A POST to /console/action: checked (Origin, CSRF token), confirmed, done and logged.
  console::Page ConsoleAction(const ConsoleRequest& request);
  // Whether the Authorization header names a user of console_users_ with the right password.
  bool ConsoleAuthorized(const std::string& authorization);
  // The console's page for `path` and `query`, from the store and the daemon's state (desk thread).
  console::Page ConsolePage(const std::string& path, const std::string& query);

  std::string key_;
  std::string csrf_key_;  // the console's form tokens (console::CsrfToken)
  app::Webhooks webhooks_;
  std::optional<console::Credentials> console_users_;  // none: no login asked
  std::vector<std::string> console_authorized_;  // Authorization values that passed (desk only)
  std::unique_ptr<store::Store> store_;          // used on the desk thread only
  boost::asio::thread_pool thread_{1};
};

}  // namespace followup::service
