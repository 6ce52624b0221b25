// The daemon's own pages, as routes for the HTTP server (http.h):
//
//   GET|HEAD  /healthz       200 "ok\n" when health says healthy, else 503 "REASON\n"
//   GET|HEAD  /metrics       200, Content-Type text/plain; version=0.0.4, the body metrics gives
//   GET|HEAD  /unsubscribe?Q an HTML page whose form POSTs to the same URL; changes nothing (mail
//                            scanners and link previews fetch links, so a GET must never
//                            unsubscribe)
//   POST      /unsubscribe?Q RFC 8058 one-click: the body must carry List-Unsubscribe=One-Click, as
//                            application/x-www-form-urlencoded or multipart/form-data (no
//                            Content-Type: read as urlencoded). Then unsubscribe(Q): 200 "You are
//                            unsubscribed.\n" on success; 400 with the error for kInvalidInput,
//                            kNotFound and kUsage (bad or forged token), 503 for kRuntime (store
//                            down: the mail receiver retries); 400 without calling it when the body
//                            lacks List-Unsubscribe=One-Click.
//   POST      /webhooks/P    a provider's bounces and complaints (docs/feedback.md), one route per
//                            provider P configured, each with the body limit it gives; the handler
//                            answers with a status and one line of text
//   GET|HEAD  /console, /console/log, /console/style.css   the console (docs/console.md)
//   POST      /console/action                              its controls (console/actions.h)
//   Q is the raw query string (after '?', not decoded), as delivery/unsubscribe.h's links carry it
//   (c=CUSTOMER&t=TOKEN) and VerifyUnsubscribe takes it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "service/http.h"

namespace followup::service {

struct EndpointHandlers {
  // Healthy?, and the reason when not. Called on the loop: must not block. Unset: no /healthz.
  std::function<std::pair<bool, std::string>()> health;
  // Makes the Prometheus text and hands it to `done`, at once or later from any thread. Unset: no
  // /metrics.
  std::function<void(std::function<void(std::string text)> done)> metrics;
  // Verifies the query and records the unsubscribe (idempotent); hands `done` the customer's
  // external id, or an Error (kInvalidInput for a bad or forged token, kRuntime when the store
  // fails), at once or later from any thread. Unset: no /unsubscribe.
  std::function<void(std::string query, std::function<void(Result<std::string>)> done)> unsubscribe;

  struct Webhook {
    std::string provider;           // the route is POST /webhooks/PROVIDER
    uint64_t body_limit_bytes = 0;  // Route::body_limit_bytes
    // Handles the request (copy what later work needs) and hands `done` the status and the
    // response's text, at once or later from any thread.
    std::function<void(const HttpRequest& request,
                       std::function<void(int status, std::string text)> done)>
        receive;
  };
  std::vector<Webhook> webhooks;

  // The console's pages (GET /console, /console/log, /console/style.css, POST /console/action;
  // docs/console.md): the
  // handler answers through `respond`, at once or later from any thread. Unset: no console.
  HttpHandler console;
};

// The routes for the handlers that are set. `log` gets one line per refused or failed unsubscribe
// ("http unsubscribe from PEER: ..."); it may be called from the thread that calls `done`.
std::vector<Route> Endpoints(EndpointHandlers handlers, std::function<void(std::string_view)> log);

}  // namespace followup::service
