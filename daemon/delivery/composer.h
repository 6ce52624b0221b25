// Composing a message: the template an outbox item names, rendered for its recipient with their
// facts, the rule's values, the business's details and a signed one-click unsubscribe link, into a
// Message any transport can send (message.h). Sending is not the composer's: the outbox worker
// composes and then hands the round to a transport; `followupd preview` composes and prints.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "delivery/message.h"
#include "delivery/template.h"
#include "store/store.h"
#include "worth/customer_base.h"

namespace followup::delivery {

struct ComposerOptions {
  std::string templates_dir;
  Address from;
  std::optional<Address> reply_to;
  std::string business_name;
  std::string currency = "EUR";
  std::string unsubscribe_base_url;
  std::string unsubscribe_key;  // the HMAC key itself (LoadOrCreateKey)
  // VERP (feedback/verp.h): each message's return path names its outbox row,
  // PREFIX+TOKEN@DOMAIN. An empty key: no VERP, the return path is `from`.
  std::string verp_key;
  std::string verp_prefix = "bounces";
  std::string verp_domain;
};

// One customer's facts: a value per worth::AllFacts() entry, in that order (nullopt where the fact
// is undefined or was not asked for). Empty when the customer has no facts.
using FactValues = std::vector<std::optional<double>>;

// How the composer reads a recipient's facts (store id). `wanted[i]` says whether AllFacts()[i] is
// needed (empty: every fact). Called on the composing thread; whoever makes the lookup guards what
// it reads (the daemon's takes the customer base's lock, see service/shared_facts.h).
using FactsLookup = std::function<FactValues(int64_t customer_id, const std::vector<bool>& wanted)>;

// A lookup into a base that nothing changes while the composer uses it (commands, tests).
FactsLookup FactsIn(const worth::CustomerBase& base);

// The template context for one message (what templates may use: delivery/template.h KnownNames).
// `facts` as a FactsLookup returns them (empty: every fact is empty text).
nlohmann::json MessageContext(const store::CustomerRow& recipient, const FactValues& facts,
                              const ComposerOptions& options, const std::string& values_json,
                              const std::string& unsubscribe_url);

// Thread safety: one thread at a time (it keeps the templates it has loaded).
class Composer {
 public:
  // `facts` may be empty (templates then see every fact as empty text). Borrows `clock`.
  Composer(ComposerOptions options, FactsLookup facts, const Clock& clock);

  // The message for an outbox item to `recipient`: a new Message-ID unless the item has one (a
  // retry is the same message), Date now. kInvalidInput (with the template's place) when the
  // template cannot be loaded or a name it uses has no value.
  Result<Message> Compose(const store::OutboxItem& item, const store::CustomerRow& recipient);

  const ComposerOptions& options() const { return options_; }

 private:
  struct LoadedTemplate {
    Template tmpl;
    std::vector<bool> facts;  // per worth::AllFacts(): named by the template; empty: all
  };
  Result<const LoadedTemplate*> TemplateNamed(const std::string& name);

  ComposerOptions options_;
  FactsLookup facts_;
  const Clock& clock_;
  std::map<std::string, LoadedTemplate> templates_;  // loaded on first use
};

}  // namespace followup::delivery
