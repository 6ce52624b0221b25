#include "delivery/outbox.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_set>

#include "base/money.h"
#include "delivery/mime.h"
#include "delivery/unsubscribe.h"

namespace followup::delivery {
namespace {

std::string FirstName(const std::string& name) {
  auto start = name.find_first_not_of(" \t");
  if (start == std::string::npos) return "there";
  auto end = name.find_first_of(" \t", start);
  return name.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string Domain(const std::string& email) {
  auto at = email.rfind('@');
  return at == std::string::npos ? "localhost" : email.substr(at + 1);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

nlohmann::json MessageContext(const store::CustomerRow& recipient,
                              const worth::CustomerSummary* facts, const worth::CustomerBase* base,
                              const OutboxOptions& o, const std::string& values_json,
                              const std::string& unsubscribe_url) {
  nlohmann::json customer = {{"id", recipient.external_id},
                             {"name", recipient.name},
                             {"first_name", FirstName(recipient.name)},
                             {"email", recipient.email.value_or("")}};
  const int exponent = CurrencyExponent(o.currency);
  for (const auto& info : worth::AllFacts()) {
    std::optional<double> v;
    if (facts && base) v = base->Value(*facts, info.fact);
    customer[std::string(info.name)] = v ? worth::FormatFact(info, *v, exponent) : "";
  }
  nlohmann::json values = nlohmann::json::object();
  auto parsed = nlohmann::json::parse(values_json, nullptr, false);
  if (parsed.is_object()) values = parsed;
  return {{"customer", customer},
          {"business",
           {{"name", o.business_name},
            {"from_email", o.from.email},
            {"reply_to", o.reply_to ? o.reply_to->email : ""},
            {"currency", o.currency}}},
          {"values", values},
          {"unsubscribe_url", unsubscribe_url}};
}

std::chrono::seconds Backoff(std::chrono::seconds base, int attempts,
                             std::optional<std::chrono::seconds> retry_after,
                             std::mt19937_64& rng) {
  double wait = static_cast<double>(base.count()) * std::pow(2.0, std::max(0, attempts - 1));
  wait = std::min(wait, 86400.0);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto out = std::chrono::seconds{static_cast<int64_t>(std::llround(wait * jitter(rng)))};
  if (retry_after && *retry_after > out) out = *retry_after;
  return std::max(out, std::chrono::seconds{1});
}

OutboxWorker::OutboxWorker(store::Store& store, Transport& transport,
                           const worth::CustomerBase* facts, const Clock& clock,
                           OutboxOptions options, std::shared_mutex* facts_lock)
    : store_(store),
      transport_(transport),
      facts_(facts),
      facts_lock_(facts_lock),
      clock_(clock),
      options_(std::move(options)) {}

Result<const Template*> OutboxWorker::TemplateNamed(const std::string& name) {
  auto it = templates_.find(name);
  if (it == templates_.end()) {
    auto loaded = LoadTemplate(options_.templates_dir, name);
    if (!loaded) return tl::unexpected(loaded.error());
    it = templates_.emplace(name, std::move(*loaded)).first;
  }
  return &it->second;
}

Result<Message> OutboxWorker::Compose(const store::OutboxItem& item,
                                      const store::CustomerRow& recipient) {
  auto tmpl = TemplateNamed(item.template_name);
  if (!tmpl) return tl::unexpected(tmpl.error());
  std::string unsubscribe = UnsubscribeUrl(options_.unsubscribe_base_url, options_.unsubscribe_key,
                                           recipient.external_id);
  nlohmann::json context;
  {
    std::shared_lock<std::shared_mutex> lock;
    if (facts_lock_) lock = std::shared_lock(*facts_lock_);
    const worth::CustomerSummary* facts = facts_ ? facts_->Find(recipient.id) : nullptr;
    context = MessageContext(recipient, facts, facts_, options_, item.values_json, unsubscribe);
  }
  auto rendered = Render(**tmpl, context);
  if (!rendered) return tl::unexpected(rendered.error());
  Message m;
  m.from = options_.from;
  m.to = {recipient.email.value_or(""), recipient.name};
  m.reply_to = options_.reply_to;
  m.subject = rendered->subject;
  m.text = rendered->text;
  m.html = rendered->html;
  m.message_id =
      item.message_id.empty() ? NewMessageId(Domain(options_.from.email)) : item.message_id;
  m.date = clock_.Now();
  m.unsubscribe_url = unsubscribe;
  m.idempotency_key = item.dedupe_key;
  m.rule = item.rule;
  m.customer = recipient.external_id;
  return m;
}

// Retries a store write that fails (another writer holding the lock past the busy timeout) for up
// to half a minute: the messages of a round have gone out, and their outcome should not be lost.
Result<void> OutboxWorker::Persist(const std::function<Result<void>()>& write) {
  Result<void> r = write();
  for (int i = 0; !r && r.error().code == ErrorCode::kRuntime && i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds{1});
    r = write();
  }
  return r;
}

Result<DrainSummary> OutboxWorker::Drain() {
  DrainSummary summary;
  std::unordered_set<std::string> suppressed;
  if (auto list = store_.Suppressions())
    suppressed.insert(list->begin(), list->end());
  else
    return tl::unexpected(list.error());

  for (;;) {
    const Instant now = clock_.Now();
    auto items = store_.ClaimDue(now, options_.batch_size);
    if (!items) return tl::unexpected(items.error());
    if (items->empty()) return summary;

    std::vector<store::DeliveryUpdate> updates;
    std::vector<Message> messages;
    std::vector<size_t> update_of;      // messages[i] belongs to updates[update_of[i]]
    std::vector<DeliveryEvent> events;  // events[i] is about updates[i]
    for (const auto& item : *items) {
      store::DeliveryUpdate u;
      u.id = item.id;
      u.attempts = item.attempts;
      auto recipient = store_.FindCustomerById(item.recipient_id);
      if (!recipient) return tl::unexpected(recipient.error());
      DeliveryEvent& event = events.emplace_back();
      event.rule = item.rule;
      if (*recipient) {
        event.customer = (*recipient)->external_id;
        event.email = (*recipient)->email.value_or("");
      }
      // Checked again at send time: they may have unsubscribed or bounced since the decision.
      std::string why;
      if (!*recipient)
        why = "the recipient no longer exists";
      else if ((*recipient)->unsubscribed_at && *(*recipient)->unsubscribed_at <= now)
        why = "unsubscribed";
      else if (!(*recipient)->email || (*recipient)->email->empty())
        why = "no email address";
      else if (suppressed.count(Lower(*(*recipient)->email)))
        why = "address suppressed";
      if (!why.empty()) {
        u.status = "suppressed";
        u.last_reply = why;
        ++summary.suppressed;
        updates.push_back(u);
        continue;
      }
      auto message = Compose(item, **recipient);
      if (!message) {
        // A template that cannot render is not going to render on retry either.
        u.status = "failed";
        u.attempts = item.attempts + 1;
        u.last_reply = "render: " + message.error().ToString();
        ++summary.failed;
        updates.push_back(u);
        continue;
      }
      u.message_id = message->message_id;
      update_of.push_back(updates.size());
      updates.push_back(u);
      messages.push_back(std::move(*message));
    }

    // The Message-IDs are stored before anything goes out: a send killed mid-flight is retried as
    // the same message.
    std::vector<std::pair<int64_t, std::string>> ids;
    for (size_t i = 0; i < messages.size(); ++i)
      ids.emplace_back(updates[update_of[i]].id, messages[i].message_id);
    if (auto r = Persist([&] { return store_.SetMessageIds(ids); }); !r) {
      (void)store_.RequeueInFlight();  // nothing of this round went out: back in the queue
      return tl::unexpected(r.error());
    }
    auto results = transport_.Send(messages);
    for (size_t i = 0; i < messages.size(); ++i) {
      auto& u = updates[update_of[i]];
      const SendResult& r = i < results.size() ? results[i] : SendResult{};
      u.attempts += 1;
      u.last_reply = r.code ? std::to_string(r.code) + " " + r.reply : r.reply;
      u.provider_message_id = r.provider_message_id;
      switch (r.outcome) {
        case Outcome::kSent:
          u.status = "sent";
          u.sent_at = clock_.Now();
          ++summary.sent;
          break;
        case Outcome::kTemporary:
          if (u.attempts >= options_.max_attempts) {
            u.status = "failed";
            u.last_reply =
                "gave up after " + std::to_string(u.attempts) + " attempts: " + u.last_reply;
            ++summary.failed;
          } else {
            u.status = "deferred";
            u.next_attempt_at =
                clock_.Now() + Backoff(options_.retry_base, u.attempts, r.retry_after, rng_);
            ++summary.deferred;
          }
          break;
        case Outcome::kPermanent:
          u.status = "failed";
          if (r.hard_bounce) {
            u.suppress_email = messages[i].to.email;
            suppressed.insert(Lower(messages[i].to.email));
          }
          ++summary.failed;
          break;
      }
    }
    if (auto r = Persist([&] { return store_.RecordDeliveries(updates, clock_.Now()); }); !r) {
      // The outcomes are lost; the round goes out again (at-least-once) rather than sit in
      // "sending" until a restart.
      (void)store_.RequeueInFlight();
      return tl::unexpected(r.error());
    }
    if (on_outcome_) {
      for (size_t i = 0; i < updates.size(); ++i) {
        DeliveryEvent& event = events[i];
        event.message_id = updates[i].message_id;
        event.status = updates[i].status;
        event.attempts = updates[i].attempts;
        event.reply = updates[i].last_reply;
        event.suppressed_address = !updates[i].suppress_email.empty();
        on_outcome_(event);
      }
    }
    // With a fixed clock (--at), deferred messages are not due again in this pass: the loop ends
    // when a round claims nothing.
  }
}

}  // namespace followup::delivery
