#include "service/desk.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "app/settings.h"
#include "delivery/https_get.h"
#include "delivery/unsubscribe.h"
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
  auto get = [](const std::string& url) { return delivery::HttpsGet(url); };
  auto webhooks = app::LoadWebhooks(settings_.feedback, get, get);
  if (!webhooks) {
    spdlog::error("webhooks: {}", webhooks.error().ToString());
    return webhooks.error().code == ErrorCode::kInvalidInput ? 1 : 3;
  }
  webhooks_ = std::move(*webhooks);
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

void Desk::Stop() { thread_.join(); }

}  // namespace followup::service
