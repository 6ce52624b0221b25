#include "console/console.h"

#include <charconv>

#include "base/html.h"
#include "base/printable.h"
#include "base/url.h"

namespace followup::console {
namespace {

// "YYYY-MM-DD HH:MM" in `zone`.
std::string Local(Instant t, const date::time_zone* zone) {
  auto local = zone ? zone->to_local(t) : date::local_seconds{t.time_since_epoch()};
  return date::format("%Y-%m-%d %H:%M", std::chrono::floor<std::chrono::minutes>(local));
}

// The query string for `q` (only what is set), optionally with `after`.
std::string QueryString(const LogQuery& q,
                        const std::optional<std::pair<Instant, int64_t>>& after) {
  std::string out;
  auto add = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    out += (out.empty() ? "?" : "&") + std::string(name) + "=" + PercentEncode(value);
  };
  add("rule", q.rule);
  add("status", q.status);
  add("customer", q.customer);
  add("from", q.from);
  add("to", q.to);
  if (after)
    add("after", std::to_string(after->first.time_since_epoch().count()) + "." +
                     std::to_string(after->second));
  return out;
}

std::string Layout(std::string_view title, std::string_view current, const std::string& content) {
  std::string nav;
  for (auto [path, name] :
       {std::pair{"/console", "Overview"}, std::pair{"/console/log", "Send log"}})
    nav += std::string("<a href=\"") + path + "\"" +
           (current == path ? " aria-current=\"page\"" : "") + ">" + name + "</a>";
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"robots\" content=\"noindex\">"
         "<title>followup: " +
         HtmlEscape(title) +
         "</title><link rel=\"stylesheet\" href=\"/console/style.css\"></head>\n"
         "<body><header><span class=\"brand\">followup</span><nav>" +
         nav + "</nav></header>\n<main><h1>" + HtmlEscape(title) + "</h1>\n" + content +
         "</main></body></html>\n";
}

// A page with the layout around `content` and the headers every console page carries.
Page PageOf(std::string_view title, std::string_view current, const std::string& content) {
  Page page;
  page.body = Layout(title, current, content);
  page.headers = SecurityHeaders();
  return page;
}

bool IsDate(std::string_view s) {
  return s.size() == 10 && s[4] == '-' && s[7] == '-' &&
         ParseInstant(s, date::locate_zone("UTC")).has_value();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SecurityHeaders() {
  return {{"Content-Security-Policy",
           "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
           "frame-ancestors 'none'; base-uri 'none'"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"}};
}

Page HtmlPageFor(std::string_view title, const std::string& content) {
  return PageOf(title, "", content);
}

Page ErrorPage(int status, std::string_view message) {
  Page page = HtmlPageFor("Error " + std::to_string(status),
                          "<p class=\"error\">" + HtmlEscape(message) + "</p>\n");
  page.status = status;
  return page;
}

std::string_view Stylesheet() {
  return R"css(:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --bad: #b91c1c;
  --good: #15803d; --warn: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline;
  padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; }
nav { display: flex; flex-wrap: wrap; gap: 1rem; }
nav a[aria-current] { font-weight: 700; text-decoration: none; }
main { padding: 0 1rem 2rem; max-width: 80rem; }
h1 { font-size: 1.35rem; }
h2 { font-size: 1.1rem; margin-top: 1.6rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .75rem; }
.card { border: 1px solid var(--line); border-radius: .4rem; padding: .6rem .8rem; }
.card b { display: block; font-size: 1.4rem; }
.ok { color: var(--good); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
td.num, th.num { text-align: right; }
td.reply { max-width: 24rem; overflow-wrap: anywhere; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: 1rem 0; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
ul.problems { padding-left: 1.2rem; font-family: ui-monospace, monospace; font-size: .85rem; }
.error { color: var(--bad); }
.controls { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: end; }
td.when { white-space: nowrap; }
@media (max-width: 40rem) { th.wide, td.wide { display: none; } table { font-size: .85rem; }
  th, td { padding: .3rem .3rem; } }
)css";
}

Page RenderOverview(const Overview& o, const date::time_zone* zone) {
  std::string c;
  c += "<section class=\"cards\">";
  c += std::string("<div class=\"card\">Health<b class=\"") + (o.healthy ? "ok" : "bad") + "\">" +
       (o.healthy ? "ok" : "unhealthy") + "</b>" +
       (o.healthy ? "" : "<span>" + HtmlEscape(o.health) + "</span>") + "</div>";
  c += std::string("<div class=\"card\">Delivery<b class=\"") + (o.paused.empty() ? "ok" : "warn") +
       "\">" + (o.paused.empty() ? "running" : "paused") + "</b>" +
       (o.paused.empty() ? "" : "<span>" + HtmlEscape(o.paused) + "</span>") + "</div>";
  c += "</section>\n<h2>Queue</h2>\n<div class=\"scroll\"><table><thead><tr><th>status</th>"
       "<th class=\"num\">sends</th></tr></thead><tbody>";
  for (const auto& [status, count] : o.queue) {
    const std::string name(store::DeliveryStatusName(status));
    c += "<tr><td><a href=\"/console/log?status=" + name + "\">" + name +
         "</a></td><td class=\"num\">" + std::to_string(count) + "</td></tr>";
  }
  if (o.queue.empty()) c += "<tr><td colspan=\"2\" class=\"muted\">nothing decided yet</td></tr>";
  c += "</tbody></table></div>\n<h2>Jobs</h2>\n<div class=\"scroll\"><table><thead><tr><th>job</th>"
       "<th>last success</th><th></th></tr></thead><tbody>";
  for (const Job& job : o.jobs)
    c += "<tr><td>" + HtmlEscape(job.name) + "</td><td>" +
         (job.last ? Local(*job.last, zone) : std::string("<span class=\"muted\">not yet</span>")) +
         "</td><td>" + HtmlEscape(job.note) + "</td></tr>";
  c += "</tbody></table></div>\n<h2>Latest warnings and errors</h2>\n";
  if (o.problems.empty()) {
    c += "<p class=\"muted\">none since the daemon started</p>\n";
  } else {
    c += "<ul class=\"problems\">";
    for (const std::string& line : o.problems) c += "<li>" + HtmlEscape(line) + "</li>";
    c += "</ul>\n";
  }
  const std::string token =
      "<input type=\"hidden\" name=\"csrf\" value=\"" + HtmlEscape(o.csrf) + "\">";
  c += "<h2>Controls</h2>\n<div class=\"controls\">";
  c +=
      "<form method=\"post\" action=\"/console/action\">" + token +
      (o.paused.empty() ? std::string("<input type=\"hidden\" name=\"action\" value=\"pause\">"
                                      "<button type=\"submit\">Pause delivery&hellip;</button>")
                        : std::string("<input type=\"hidden\" name=\"action\" value=\"resume\">"
                                      "<button type=\"submit\">Resume delivery&hellip;</button>")) +
      "</form>";
  c += "<form method=\"post\" action=\"/console/action\">" + token +
       "<input type=\"hidden\" name=\"action\" value=\"unsubscribe\"><label>customer id "
       "<input name=\"customer\" required size=\"12\"></label> <button "
       "type=\"submit\">Unsubscribe&hellip;</button></form>";
  c += "<form method=\"post\" action=\"/console/action\">" + token +
       "<input type=\"hidden\" name=\"action\" value=\"suppress\"><label>address <input "
       "name=\"email\" type=\"email\" required size=\"18\"></label> <button "
       "type=\"submit\">Suppress&hellip;</button></form>";
  c += "</div>\n";
  c += "<p class=\"muted\">followupd " + HtmlEscape(o.version) + ", " + Local(o.now, zone) +
       (zone ? " " + HtmlEscape(zone->name()) : std::string(" UTC")) + "</p>\n";
  return PageOf("Overview", "/console", c);
}

Result<LogQuery> ReadLogQuery(std::span<const std::pair<std::string, std::string>> fields) {
  LogQuery q;
  for (const auto& [name, value] : fields) {
    if (name == "rule") q.rule = value;
    if (name == "customer") q.customer = value;
    if (name == "status") {
      if (!value.empty() && !store::ParseDeliveryStatus(value))
        return InvalidInput("status: no such status " + Quote(value));
      q.status = value;
    }
    if (name == "from" || name == "to") {
      if (!value.empty() && !IsDate(value))
        return InvalidInput(name + ": expected a date YYYY-MM-DD, not " + Quote(value));
      (name == "from" ? q.from : q.to) = value;
    }
    if (name == "after" && !value.empty()) {
      int64_t seconds = 0, id = 0;
      size_t dot = value.find('.');
      const char* end = value.data() + value.size();
      if (dot == std::string::npos ||
          std::from_chars(value.data(), value.data() + dot, seconds).ptr != value.data() + dot ||
          std::from_chars(value.data() + dot + 1, end, id).ptr != end)
        return InvalidInput("after: expected SECONDS.ID, not " + Quote(value));
      q.after = std::pair{Instant{std::chrono::seconds{seconds}}, id};
    }
  }
  return q;
}

Result<LogQuery> ParseLogQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> fields;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    auto name = FormDecode(pair.substr(0, eq));
    auto value = FormDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) return InvalidInput("the query is not valid form encoding");
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  return ReadLogQuery(fields);
}

store::LogFilter LogFilterFor(const LogQuery& q, const date::time_zone* zone) {
  store::LogFilter f;
  f.rule = q.rule;
  f.customer = q.customer;
  if (!q.status.empty()) f.status = store::ParseDeliveryStatus(q.status);
  if (!q.from.empty())
    if (auto from = ParseInstant(q.from, zone)) f.since = *from - std::chrono::seconds{1};
  if (!q.to.empty())
    if (auto to = ParseInstant(q.to + "T23:59:59", zone)) f.until = *to;
  f.after = q.after;
  f.limit = kLogPageSize + 1;
  return f;
}

Page RenderLog(const LogQuery& q, std::span<const store::LogEntry> rows,
               const date::time_zone* zone, std::string_view csrf) {
  std::string c;
  c += "<form class=\"filters\" method=\"get\" action=\"/console/log\">";
  c += "<label>rule<input name=\"rule\" value=\"" + HtmlEscape(q.rule) + "\" size=\"14\"></label>";
  c += "<label>status<select name=\"status\"><option value=\"\">any</option>";
  for (const auto& [status, spelt] : store::kDeliveryStatusNames) {
    const std::string name(spelt);
    c += "<option" + std::string(name == q.status ? " selected" : "") + ">" + name + "</option>";
  }
  c += "</select></label><label>customer<input name=\"customer\" value=\"" +
       HtmlEscape(q.customer) + "\" size=\"12\"></label>";
  c += "<label>from<input type=\"date\" name=\"from\" value=\"" + HtmlEscape(q.from) +
       "\"></label><label>to<input type=\"date\" name=\"to\" value=\"" + HtmlEscape(q.to) +
       "\"></label><button type=\"submit\">Show</button></form>\n";

  const bool more = rows.size() > static_cast<size_t>(kLogPageSize);
  if (more) rows = rows.first(kLogPageSize);
  c += "<div class=\"scroll\"><table id=\"log\"><thead><tr><th class=\"num wide\">id</th>"
       "<th>decided</th><th>rule</th><th>customer</th><th class=\"wide\">recipient</th>"
       "<th>status</th><th class=\"num wide\">tries</th><th class=\"wide\">sent</th>"
       "<th class=\"wide\">last reply</th></tr></thead><tbody>";
  for (const store::LogEntry& e : rows) {
    const std::string status(store::DeliveryStatusName(e.status));
    c += "<tr><td class=\"num wide\">" + std::to_string(e.id) + "</td><td class=\"when\">" +
         Local(e.decided_at, zone) + "</td><td>" + HtmlEscape(e.rule) +
         (e.arm.empty() ? "" : " <span class=\"muted\">" + HtmlEscape(e.arm) + "</span>") +
         "</td><td>" + HtmlEscape(e.customer) + "</td><td class=\"wide\">" +
         HtmlEscape(e.recipient_email) + "</td><td class=\"st-" + status + "\">" + status +
         "</td><td class=\"num wide\">" + std::to_string(e.attempts) + "</td><td class=\"wide\">" +
         (e.sent_at ? Local(*e.sent_at, zone) : "") + "</td><td class=\"reply wide\">" +
         HtmlEscape(e.last_reply) + "</td></tr>";
  }
  if (rows.empty()) c += "<tr><td colspan=\"9\" class=\"muted\">no sends match</td></tr>";
  c += "</tbody></table></div>\n<div class=\"pager\">";
  if (q.after)
    c += "<a href=\"/console/log" + HtmlEscape(QueryString(q, std::nullopt)) + "\">Newest</a>";
  if (more)
    c += "<a rel=\"next\" href=\"/console/log" +
         HtmlEscape(QueryString(q, std::pair{rows.back().decided_at, rows.back().id})) +
         "\">Older</a>";
  c += "</div>\n";
  if (!q.rule.empty() || !q.status.empty() || !q.customer.empty()) {
    // The sends this filter selects (every page of them), changed as followupd queue does.
    c += "<form class=\"filters\" method=\"post\" action=\"/console/action\">"
         "<input type=\"hidden\" name=\"csrf\" value=\"" +
         HtmlEscape(csrf) + "\">";
    for (auto [name, value] :
         {std::pair{"rule", &q.rule}, std::pair{"status", &q.status},
          std::pair{"customer", &q.customer}, std::pair{"from", &q.from}, std::pair{"to", &q.to}})
      if (!value->empty())
        c += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" +
             HtmlEscape(*value) + "\">";
    c += "<label>with every send this filter selects<select name=\"action\">"
         "<option>hold</option><option>release</option><option>cancel</option>"
         "<option>requeue</option></select></label><button type=\"submit\">Change&hellip;"
         "</button></form>\n";
  }
  return PageOf("Send log", "/console/log", c);
}

}  // namespace followup::console
