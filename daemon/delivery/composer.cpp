#include "delivery/composer.h"

#include "base/money.h"
#include "delivery/mime.h"
#include "delivery/unsubscribe.h"
#include "feedback/verp.h"

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

}  // namespace

FactsLookup FactsIn(const worth::CustomerBase& base) {
  return [&base](int64_t customer_id, const std::vector<bool>& wanted) {
    FactValues values;
    const worth::CustomerSummary* s = base.Find(customer_id);
    if (!s) return values;
    const auto& all = worth::AllFacts();
    values.resize(all.size());
    for (size_t i = 0; i < all.size(); ++i)
      if (wanted.empty() || wanted[i]) values[i] = base.Value(*s, all[i].fact);
    return values;
  };
}

nlohmann::json MessageContext(const store::CustomerRow& recipient, const FactValues& facts,
                              const ComposerOptions& o, const std::string& values_json,
                              const std::string& unsubscribe_url) {
  nlohmann::json customer = {{"id", recipient.external_id},
                             {"name", recipient.name},
                             {"first_name", FirstName(recipient.name)},
                             {"email", recipient.email.value_or("")}};
  const int exponent = CurrencyExponent(o.currency);
  const auto& all = worth::AllFacts();
  for (size_t i = 0; i < all.size(); ++i) {
    std::optional<double> v = i < facts.size() ? facts[i] : std::nullopt;
    customer[std::string(all[i].name)] = v ? worth::FormatFact(all[i], *v, exponent) : "";
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

Composer::Composer(ComposerOptions options, FactsLookup facts, const Clock& clock)
    : options_(std::move(options)), facts_(std::move(facts)), clock_(clock) {}

Result<const Composer::LoadedTemplate*> Composer::TemplateNamed(const std::string& name) {
  auto it = templates_.find(name);
  if (it == templates_.end()) {
    auto loaded = LoadTemplate(options_.templates_dir, name);
    if (!loaded) return tl::unexpected(loaded.error());
    LoadedTemplate t;
    // Only the facts the template can name are looked up for its messages (all of them when that
    // cannot be told).
    if (auto parts = NameParts(*loaded)) {
      for (const auto& info : worth::AllFacts())
        t.facts.push_back(parts->contains(std::string(info.name)));
    }
    t.tmpl = std::move(*loaded);
    it = templates_.emplace(name, std::move(t)).first;
  }
  return &it->second;
}

Result<Message> Composer::Compose(const store::OutboxItem& item,
                                  const store::CustomerRow& recipient) {
  auto tmpl = TemplateNamed(item.template_name);
  if (!tmpl) return tl::unexpected(tmpl.error());
  std::string unsubscribe = UnsubscribeUrl(options_.unsubscribe_base_url, options_.unsubscribe_key,
                                           recipient.external_id);
  FactValues facts = facts_ ? facts_(recipient.id, (*tmpl)->facts) : FactValues();
  auto rendered = Render((*tmpl)->tmpl,
                         MessageContext(recipient, facts, options_, item.values_json, unsubscribe));
  if (!rendered) return tl::unexpected(rendered.error());
  Message m;
  m.from = options_.from;
  // An internationalized domain goes out in its ASCII form; an address that has none stays as it
  // is, and the transport refuses it without suppressing it (CheckMessage).
  std::string email = recipient.email.value_or("");
  m.to = {WireEmail(email).value_or(email), recipient.name};
  m.reply_to = options_.reply_to;
  m.subject = rendered->subject;
  m.text = rendered->text;
  m.html = rendered->html;
  m.message_id =
      item.message_id.empty() ? NewMessageId(Domain(options_.from.email)) : item.message_id;
  m.date = clock_.Now();
  m.unsubscribe_url = unsubscribe;
  if (!options_.verp_key.empty())
    m.return_path = feedback::VerpReturnPath(options_.verp_key, options_.verp_prefix,
                                             options_.verp_domain, item.id);
  m.idempotency_key = item.dedupe_key;
  m.rule = item.rule;
  m.customer = recipient.external_id;
  return m;
}

}  // namespace followup::delivery
