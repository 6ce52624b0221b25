#include "console/actions.h"

#include <charconv>
#include <vector>

#include "base/ascii.h"
#include "base/html.h"
#include "base/printable.h"
#include "feedback/crypto.h"

namespace followup::console {
namespace {

constexpr std::chrono::hours kCsrfLifetime{24};

std::string Mac(std::string_view key, std::string_view issued) {
  return feedback::HexEncode(
      feedback::HmacSha256(key, "followup-console-csrf:" + std::string(issued)));
}

std::string Field(const std::map<std::string, std::string>& form, const std::string& name) {
  auto it = form.find(name);
  return it == form.end() ? "" : it->second;
}

std::string Hidden(std::string_view name, std::string_view value) {
  if (value.empty()) return "";
  return "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + HtmlEscape(value) +
         "\">";
}

}  // namespace

std::string CsrfToken(std::string_view key, Instant now) {
  const std::string issued = std::to_string(now.time_since_epoch().count());
  return issued + "." + Mac(key, issued);
}

bool CsrfValid(std::string_view key, std::string_view token, Instant now) {
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || key.empty()) return false;
  std::string_view issued = token.substr(0, dot);
  int64_t seconds = 0;
  if (std::from_chars(issued.data(), issued.data() + issued.size(), seconds).ptr !=
      issued.data() + issued.size())
    return false;
  const Instant at{std::chrono::seconds{seconds}};
  if (at > now + std::chrono::minutes(5) || now - at > kCsrfLifetime) return false;
  return feedback::ConstantTimeEquals(token.substr(dot + 1), Mac(key, issued));
}

Result<Action> ReadAction(const std::map<std::string, std::string>& form) {
  Action a;
  a.name = Field(form, "action");
  a.reason = Field(form, "reason");
  a.confirmed = Field(form, "confirm") == "yes";
  static constexpr std::pair<std::string_view, store::QueueAction> kQueue[] = {
      {"hold", store::QueueAction::kHold},
      {"release", store::QueueAction::kRelease},
      {"cancel", store::QueueAction::kCancel},
      {"requeue", store::QueueAction::kRequeue}};
  for (const auto& [name, queue] : kQueue) {
    if (a.name != name) continue;
    a.kind = ActionKind::kQueue;
    a.queue = queue;
    std::vector<std::pair<std::string, std::string>> fields;
    for (const char* f : {"rule", "status", "customer", "from", "to"})
      fields.emplace_back(f, Field(form, f));
    auto selection = ReadLogQuery(fields);
    if (!selection) return tl::unexpected(selection.error());
    a.selection = std::move(*selection);
    if (a.selection.rule.empty() && a.selection.status.empty() && a.selection.customer.empty())
      return InvalidInput(a.name + ": say which sends: a rule, a status or a customer");
    return a;
  }
  if (a.name == "pause") {
    a.kind = ActionKind::kPause;
  } else if (a.name == "resume") {
    a.kind = ActionKind::kResume;
  } else if (a.name == "unsubscribe") {
    a.kind = ActionKind::kUnsubscribe;
    a.customer = Field(form, "customer");
    if (a.customer.empty()) return InvalidInput("unsubscribe: customer: which customer (their id)");
  } else if (a.name == "suppress") {
    a.kind = ActionKind::kSuppress;
    a.email = AsciiLower(Field(form, "email"));
    if (a.email.find('@') == std::string::npos)
      return InvalidInput("suppress: email: an email address, not " + Quote(a.email));
  } else {
    return InvalidInput("action: no such action " + Quote(a.name));
  }
  return a;
}

store::LogFilter QueueFilterFor(const Action& action, const date::time_zone* zone) {
  store::LogFilter f = LogFilterFor(action.selection, zone);
  f.limit = 0;
  f.after.reset();
  return f;
}

std::string Describe(const Action& a) {
  switch (a.kind) {
    case ActionKind::kQueue: {
      std::string what = a.name + " the sends";
      const LogQuery& q = a.selection;
      if (!q.rule.empty()) what += " of rule " + Printable(q.rule, 200);
      if (!q.customer.empty()) what += " to or about customer " + Printable(q.customer, 200);
      if (!q.status.empty()) what += " with status " + q.status;
      if (!q.from.empty()) what += " decided from " + q.from;
      if (!q.to.empty()) what += " decided up to " + q.to;
      std::string from;
      for (auto status : store::QueueActionFrom(a.queue))
        from +=
            std::string(from.empty() ? "" : ", ") + std::string(store::DeliveryStatusName(status));
      return what + " (those " + from + ")";
    }
    case ActionKind::kPause:
      return "pause all delivery until it is resumed";
    case ActionKind::kResume:
      return "resume delivery";
    case ActionKind::kUnsubscribe:
      return "unsubscribe customer " + Printable(a.customer, 200) + ": no more follow-ups to them";
    case ActionKind::kSuppress:
      return "suppress " + Printable(a.email, 200) + ": nothing more is sent to that address";
  }
  return a.name;
}

Page RenderConfirm(const Action& a, int64_t matching, std::string_view csrf) {
  std::string c = "<p>" + HtmlEscape(Describe(a)) + "?</p>\n";
  if (matching >= 0)
    c += "<p><b>" + std::to_string(matching) + "</b> send" + (matching == 1 ? "" : "s") +
         " match now.</p>\n";
  c += "<form method=\"post\" action=\"/console/action\">" + Hidden("action", a.name) +
       Hidden("csrf", csrf) + Hidden("confirm", "yes");
  const LogQuery& q = a.selection;
  c += Hidden("rule", q.rule) + Hidden("status", q.status) + Hidden("customer", q.customer) +
       Hidden("from", q.from) + Hidden("to", q.to);
  if (a.kind == ActionKind::kUnsubscribe) c += Hidden("customer", a.customer);
  c += Hidden("email", a.email);
  if (a.kind == ActionKind::kPause || a.kind == ActionKind::kSuppress ||
      (a.kind == ActionKind::kQueue && a.queue == store::QueueAction::kCancel))
    c += "<label>reason <input name=\"reason\" value=\"" + HtmlEscape(a.reason) +
         "\" size=\"30\"></label> ";
  c += "<button type=\"submit\">Yes, " + HtmlEscape(a.name) +
       "</button></form>\n<p><a href=\"/console\">No, back to the overview</a></p>\n";
  return HtmlPageFor("Confirm: " + a.name, c);
}

Page RenderDone(const Action& a, std::string_view done) {
  std::string back = "/console";
  if (a.kind == ActionKind::kQueue) back = "/console/log";
  std::string c =
      "<p class=\"ok\">" + HtmlEscape(done) + ".</p>\n<p><a href=\"" + back + "\">Back</a></p>\n";
  return HtmlPageFor("Done: " + a.name, c);
}

}  // namespace followup::console
