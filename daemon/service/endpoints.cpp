#include "service/endpoints.h"

#include <memory>

#include "service/http_forms.h"

namespace followup::service {
namespace {

// Whether a POST body carries List-Unsubscribe=One-Click (RFC 8058 3.2).
bool HasOneClick(const HttpRequest& request) {
  for (const auto& value :
       FormValues(request.Header("Content-Type"), request.body, "List-Unsubscribe"))
    if (TrimSpace(value) == "One-Click") return true;
  return false;
}

// The GET page: a form that POSTs the one-click body back to the same URL. The action is the
// query alone (a relative reference), so that the page works behind a proxy that moves the path.
std::string ConfirmationPage(std::string_view query) {
  return "<!DOCTYPE html>\n"
         "<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head>\n"
         "<body><h1>Unsubscribe</h1>\n"
         "<p>Stop all follow-up emails to this address?</p>\n"
         "<form method=\"post\" action=\"?" +
         HtmlEscape(query) +
         "\">"
         "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
         "<button type=\"submit\">Unsubscribe</button></form>\n"
         "</body></html>\n";
}

}  // namespace

std::vector<Route> Endpoints(EndpointHandlers handlers, std::function<void(std::string_view)> log) {
  auto shared = std::make_shared<EndpointHandlers>(std::move(handlers));
  auto say = std::make_shared<std::function<void(std::string_view)>>(std::move(log));
  std::vector<Route> routes;
  if (shared->health) {
    routes.push_back({"GET", "/healthz", [shared](const HttpRequest&, Respond respond) {
                        auto [healthy, reason] = shared->health();
                        respond(healthy ? TextResponse(200, "ok\n")
                                        : TextResponse(503, reason + "\n"));
                      }});
  }
  if (shared->metrics) {
    routes.push_back({"GET", "/metrics", [shared](const HttpRequest&, Respond respond) {
                        shared->metrics([respond](std::string text) {
                          HttpResponse response;
                          response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                          response.body = std::move(text);
                          respond(std::move(response));
                        });
                      }});
  }
  if (shared->unsubscribe) {
    routes.push_back({"GET", "/unsubscribe", [](const HttpRequest& request, Respond respond) {
                        HttpResponse response;
                        response.content_type = "text/html; charset=utf-8";
                        response.body = ConfirmationPage(request.query);
                        response.headers = {
                            {"Content-Security-Policy",
                             "default-src 'none'; form-action 'self'; frame-ancestors 'none'"},
                            {"Referrer-Policy", "no-referrer"}};
                        respond(std::move(response));
                      }});
    routes.push_back(
        {"POST", "/unsubscribe", [shared, say](const HttpRequest& request, Respond respond) {
           if (!HasOneClick(request)) {
             respond(TextResponse(400,
                                  "This is not a one-click unsubscribe request: the form field "
                                  "List-Unsubscribe=One-Click is missing.\n"));
             return;
           }
           shared->unsubscribe(
               request.query, [say, respond, peer = request.peer](Result<std::string> customer) {
                 if (customer) return respond(TextResponse(200, "You are unsubscribed.\n"));
                 const Error& error = customer.error();
                 if (error.code == ErrorCode::kRuntime) {
                   if (*say) (*say)("http unsubscribe from " + peer + ": " + error.ToString());
                   return respond(TextResponse(
                       503, "Unsubscribing failed for now; please try again later.\n"));
                 }
                 if (*say)
                   (*say)("http unsubscribe from " + peer + ": refused: " + error.ToString());
                 respond(TextResponse(
                     400, "This unsubscribe link is not valid: " + error.message + "\n"));
               });
         }});
  }
  if (shared->console) {
    for (auto [method, path] :
         {std::pair{"GET", "/console"}, std::pair{"GET", "/console/log"},
          std::pair{"GET", "/console/style.css"}, std::pair{"POST", "/console/action"}})
      routes.push_back({method, path, [shared](const HttpRequest& request, Respond respond) {
                          shared->console(request, std::move(respond));
                        }});
  }
  for (const auto& webhook : shared->webhooks) {
    routes.push_back({"POST", "/webhooks/" + webhook.provider,
                      [receive = webhook.receive](const HttpRequest& request, Respond respond) {
                        receive(request, [respond](int status, std::string text) {
                          respond(TextResponse(status, std::move(text) + "\n"));
                        });
                      },
                      webhook.body_limit_bytes});
  }
  return routes;
}

}  // namespace followup::service
