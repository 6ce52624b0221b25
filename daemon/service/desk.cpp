#include "service/desk.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <set>

#include "app/deliver.h"
#include "app/settings.h"
#include "base/printable.h"
#include "delivery/https_get.h"
#include "delivery/unsubscribe.h"
#include "feedback/crypto.h"
#include "service/http_forms.h"
#include "service/log.h"
#include "service/open_store.h"

namespace followup::service {

Desk::Desk(const app::Settings& settings, const Clock& clock, const Metrics& metrics,
           const Health& health)
    : settings_(settings), clock_(clock), metrics_(metrics), health_(health) {}

Desk::~Desk() { Stop(); }

std::optional<int> Desk::Start() {
  auto key = app::LoadUnsubscribeKey(settings_.delivery);
  if (!key) {
    spdlog::error("unsubscribe key: {}", key.error().ToString());
    return 3;
  }
  key_ = std::move(*key);
  // The console's form tokens: a key of their own, derived from the unsubscribe key, so that
  // they outlive a restart and share nothing with the links in mail.
  csrf_key_ = feedback::HmacSha256(key_, "followup-console-csrf-key");
  auto get = [](const std::string& url) { return delivery::HttpsGet(url); };
  auto webhooks = app::LoadWebhooks(settings_.feedback, get, get);
  if (!webhooks) {
    spdlog::error("webhooks: {}", webhooks.error().ToString());
    return webhooks.error().code == ErrorCode::kInvalidInput ? 1 : 3;
  }
  webhooks_ = std::move(*webhooks);
  if (settings_.service.console && !settings_.service.console_credentials_path.empty()) {
    auto users = console::ReadCredentials(settings_.service.console_credentials_path);
    if (!users) {
      spdlog::error("console: {}", users.error().ToString());
      return users.error().code == ErrorCode::kInvalidInput ? 1 : 3;
    }
    console_users_ = std::move(*users);
  }
  if (auto failed = OpenStore(settings_.store_url, store_)) return failed;
  return std::nullopt;
}

EndpointHandlers Desk::Handlers() {
  EndpointHandlers handlers;
  handlers.health = [this]() -> std::pair<bool, std::string> {
    if (auto why = health_.Stalled()) return {false, *why};
    if (auto why = health_.Degraded()) return {false, *why};
    return {true, ""};
  };
  handlers.metrics = [this](std::function<void(std::string)> done) {
    boost::asio::post(thread_, [this, done = std::move(done)] {
      StoreCounts counts;
      if (auto outbox = store_->OutboxStatusCounts())
        counts.outbox = std::move(*outbox);
      else
        spdlog::warn("metrics: outbox counts: {}", outbox.error().ToString());
      if (auto steps = store_->SequenceStepCounts())
        counts.sequence_steps = std::move(*steps);
      else
        spdlog::warn("metrics: sequence step counts: {}", steps.error().ToString());
      if (auto feedback = store_->CountFeedback(kComplaintRateSends))
        counts.feedback = std::move(*feedback);
      else
        spdlog::warn("metrics: feedback counts: {}", feedback.error().ToString());
      done(MetricsText(metrics_, counts));
    });
  };
  handlers.unsubscribe = [this](std::string query, std::function<void(Result<std::string>)> done) {
    boost::asio::post(thread_, [this, query = std::move(query), done = std::move(done)] {
      auto customer = delivery::VerifyUnsubscribe(key_, query);
      if (!customer) return done(customer);
      auto unsubscribed = store_->Unsubscribe(*customer, clock_.Now());
      if (!unsubscribed) return done(tl::unexpected(unsubscribed.error()));
      if (!*unsubscribed) return done(Fail(ErrorCode::kNotFound, "unknown customer"));
      LogFields fields{{"CUSTOMER", *customer}};
      spdlog::info("unsubscribed customer={}", *customer);
      done(customer);
    });
  };
  if (settings_.service.console) {
    handlers.console = [this](const HttpRequest& request, Respond respond) {
      ConsoleRequest r;
      r.post = request.method == "POST";
      r.path = request.path;
      r.query = request.query;
      r.authorization = request.Header("Authorization");
      r.origin = request.Header("Origin");
      r.host = request.Header("Host");
      r.peer = request.peer;
      if (r.post)
        for (const char* name : {"action", "csrf", "confirm", "rule", "status", "customer", "from",
                                 "to", "email", "reason"})
          if (auto values = FormValues(request.Header("Content-Type"), request.body, name);
              !values.empty())
            r.form[name] = values.front();
      boost::asio::post(thread_, [this, r = std::move(r), respond = std::move(respond)] {
        console::Page page;
        if (console_users_ && !ConsoleAuthorized(r.authorization)) {
          page = console::ErrorPage(401, "Sign in to see the console.");
          page.headers.emplace_back("WWW-Authenticate",
                                    "Basic realm=\"followup console\", charset=\"UTF-8\"");
        } else {
          page = r.post ? ConsoleAction(r) : ConsolePage(r.path, r.query);
        }
        HttpResponse response;
        response.status = page.status;
        response.content_type = std::move(page.content_type);
        response.body = std::move(page.body);
        response.headers = std::move(page.headers);
        respond(std::move(response));
      });
    };
  }
  for (const std::string& provider : webhooks_.Providers()) {
    EndpointHandlers::Webhook webhook;
    webhook.provider = provider;
    webhook.body_limit_bytes = webhooks_.BodyLimit(provider);
    webhook.receive = [this, provider](const HttpRequest& request,
                                       std::function<void(int, std::string)> done) {
      feedback::WebhookRequest copy;
      for (const auto& [name, value] : request.headers) copy.headers.emplace(name, value);
      boost::asio::post(thread_, [this, provider, copy = std::move(copy), body = request.body,
                                  peer = request.peer, done = std::move(done)]() mutable {
        copy.body = body;
        app::WebhookAnswer answer = app::ReceiveWebhook(*store_, webhooks_, provider, copy,
                                                        settings_.feedback.policy, clock_.Now());
        if (answer.status == 200)
          spdlog::info("{} from {}", answer.log, peer);
        else
          spdlog::warn("{} from {} (HTTP {})", answer.log, peer, answer.status);
        done(answer.status, std::move(answer.body));
      });
    };
    handlers.webhooks.push_back(std::move(webhook));
  }
  return handlers;
}

bool Desk::ConsoleAuthorized(const std::string& authorization) {
  // crypt(3) takes milliseconds on purpose: a value that passed once is remembered.
  for (const auto& known : console_authorized_)
    if (known == authorization) return true;
  if (authorization.empty()) return false;  // a browser's first try: it asks for a login
  if (!console::Authorized(*console_users_, authorization)) {
    spdlog::warn("console: a request with wrong credentials");
    return false;
  }
  if (console_authorized_.size() >= 16) console_authorized_.erase(console_authorized_.begin());
  console_authorized_.push_back(authorization);
  return true;
}

console::Page Desk::ConsoleAction(const ConsoleRequest& r) {
  const Instant now = clock_.Now();
  // A form from another site: its Origin (sent with every POST by today's browsers) is not ours.
  if (!r.origin.empty() && r.origin != "http://" + r.host && r.origin != "https://" + r.host) {
    spdlog::warn("console: a form from {} refused (Origin {})", r.peer, Printable(r.origin, 200));
    return console::ErrorPage(403, "This form did not come from the console.");
  }
  auto it = r.form.find("csrf");
  if (it == r.form.end() || !console::CsrfValid(csrf_key_, it->second, now)) {
    spdlog::warn("console: a form without a valid token from {} refused", r.peer);
    return console::ErrorPage(
        403, "This form's token is missing or too old: go back, reload the page and try again.");
  }
  auto action = console::ReadAction(r.form);
  if (!action) return console::ErrorPage(400, action.error().message);
  const date::time_zone* zone = settings_.zone;
  if (!action->confirmed) {
    int64_t matching = -1;
    if (action->kind == console::ActionKind::kQueue) {
      matching = 0;
      std::set<store::DeliveryStatus> from;
      for (auto status : store::QueueActionFrom(action->queue)) from.insert(status);
      auto counted = store_->ForEachLogEntry(
          console::QueueFilterFor(*action, zone),
          [&](const store::LogEntry& e) { matching += from.count(e.status) ? 1 : 0; });
      if (!counted) return console::ErrorPage(503, counted.error().message);
    }
    return console::RenderConfirm(*action, matching, console::CsrfToken(csrf_key_, now));
  }

  std::string done;
  Result<void> ok;
  switch (action->kind) {
    case console::ActionKind::kQueue: {
      std::string reason = action->reason.empty() ? std::string("cancelled by the operator")
                                                  : "cancelled: " + action->reason;
      auto n =
          store_->ChangeQueue(action->queue, console::QueueFilterFor(*action, zone), reason, now);
      if (!n) {
        ok = tl::unexpected(n.error());
        break;
      }
      done = action->name + ": " + std::to_string(*n) + " send" + (*n == 1 ? "" : "s") + " changed";
      break;
    }
    case console::ActionKind::kPause:
      ok = app::PauseDelivery(*store_, now,
                              action->reason.empty() ? "paused by the operator" : action->reason);
      done = "delivery paused";
      break;
    case console::ActionKind::kResume:
      ok = app::ResumeDelivery(*store_);
      done = "delivery resumed";
      break;
    case console::ActionKind::kUnsubscribe: {
      auto found = store_->Unsubscribe(action->customer, now);
      if (!found) {
        ok = tl::unexpected(found.error());
        break;
      }
      if (!*found) return console::ErrorPage(404, "No customer " + Quote(action->customer) + ".");
      done = "customer " + Printable(action->customer, 200) + " unsubscribed";
      break;
    }
    case console::ActionKind::kSuppress: {
      auto added = store_->AddSuppression(
          action->email, action->reason.empty() ? "suppressed by the operator" : action->reason,
          now);
      if (!added) {
        ok = tl::unexpected(added.error());
        break;
      }
      done = Printable(action->email, 200) + (*added ? " suppressed" : " was suppressed already");
      break;
    }
  }
  if (!ok) {
    spdlog::warn("console: {} from {}: {}", console::Describe(*action), r.peer,
                 ok.error().ToString());
    return console::ErrorPage(503, "Not done: " + ok.error().message);
  }
  spdlog::info("console: {} from {}: {}", console::Describe(*action), r.peer, done);
  return console::RenderDone(*action, done);
}

console::Page Desk::ConsolePage(const std::string& path, const std::string& query) {
  const date::time_zone* zone = settings_.zone;
  if (path == "/console/style.css") {
    console::Page page;
    page.content_type = "text/css; charset=utf-8";
    page.body = std::string(console::Stylesheet());
    page.headers = console::SecurityHeaders();
    return page;
  }
  if (path == "/console/log") {
    auto q = console::ParseLogQuery(query);
    if (!q) return console::ErrorPage(400, q.error().message);
    std::vector<store::LogEntry> rows;
    auto read = store_->ForEachLogEntry(console::LogFilterFor(*q, zone),
                                        [&](const store::LogEntry& e) { rows.push_back(e); });
    if (!read) {
      spdlog::warn("console: {}", read.error().ToString());
      return console::ErrorPage(503, "The store cannot be read now: " + read.error().message);
    }
    return console::RenderLog(*q, rows, zone, console::CsrfToken(csrf_key_, clock_.Now()));
  }
  console::Overview o;
  o.now = clock_.Now();
  o.version = FOLLOWUP_VERSION;
  if (auto why = health_.Stalled()) {
    o.healthy = false;
    o.health = *why;
  } else if (auto degraded = health_.Degraded()) {
    o.healthy = false;
    o.health = *degraded;
  }
  if (auto counts = store_->OutboxStatusCounts())
    o.queue = std::move(*counts);
  else
    spdlog::warn("console: outbox counts: {}", counts.error().ToString());
  if (metrics_.delivery_paused) o.paused = metrics_.PauseNote();
  if (metrics_.delivery_paused_by_operator)
    o.paused = "paused by the operator (followupd queue resume lets it go on)";
  auto at = [](int64_t seconds) {
    return seconds > 0 ? std::optional<Instant>(Instant{std::chrono::seconds{seconds}})
                       : std::nullopt;
  };
  o.jobs = {{"full pass", at(metrics_.last_full_pass_at), ""},
            {"drain", at(metrics_.last_drain_at), ""},
            {"refit", at(metrics_.last_refit_at), ""},
            {"reload", std::nullopt,
             std::to_string(metrics_.reloads_ok.load()) + " accepted, " +
                 std::to_string(metrics_.reloads_failed.load()) + " rejected" +
                 (metrics_.last_reload_ok ? "" : "; the last was rejected: see the log")}};
  o.problems = RecentProblems();
  o.csrf = console::CsrfToken(csrf_key_, o.now);
  return console::RenderOverview(o, zone);
}

void Desk::Stop() { thread_.join(); }

}  // namespace followup::service
