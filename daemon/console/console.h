// The console (docs/console.md): the pages an operator reads in a browser, served by the daemon
// under /console on its HTTP server. Rendering is pure: each page is made from values the caller
// gathered (the store's rows, the daemon's health) and comes back as HTML in which every value
// from outside (a customer's name, a server's reply, a rule's name) is escaped. The pages need no
// script; their only other resource is the console's own stylesheet (/console/style.css), which
// the Content-Security-Policy they carry allows, and nothing else.
//
// Pages so far:
//   /console        overview: health, the queue by status, delivery paused or not, the last
//                   full pass, drain, refit and reload, the latest warnings and errors
//   /console/log    the send log, filtered (rule, status, customer, a date range in the
//                   business's zone) and paged by its last row (keyset: a page deep in millions
//                   of rows costs what the first does)
//   /console/action the operator's controls, as POST forms (actions.h)
#pragma once

#include <date/tz.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/time.h"
#include "store/store.h"

namespace followup::console {

struct Page {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // SecurityHeaders() and the like
};

// The headers every console answer carries: the Content-Security-Policy (nothing but the
// console's own stylesheet and pages; no script, no framing), no referrer, no MIME sniffing.
std::vector<std::pair<std::string, std::string>> SecurityHeaders();

// A page that says what went wrong ("400 Bad Request: from: not a date ..."), with the status.
Page ErrorPage(int status, std::string_view message);

// A console page titled `title` around `content` (HTML), with the navigation and
// SecurityHeaders().
Page HtmlPageFor(std::string_view title, const std::string& content);

// The stylesheet, served as text/css at /console/style.css.
std::string_view Stylesheet();

// ---- Overview ----
struct Job {
  std::string name;             // "full pass", "drain", "refit", "reload"
  std::optional<Instant> last;  // when it last succeeded; nullopt: not yet
  std::string note;             // e.g. "rejected: see the log"
};
struct Overview {
  Instant now;
  std::string version;
  bool healthy = true;
  std::string health;  // why not, when not healthy
  std::map<store::DeliveryStatus, int64_t> queue;
  std::string paused;  // why delivery is paused ("" = it runs)
  std::vector<Job> jobs;
  std::vector<std::string> problems;  // the latest warnings and errors, newest first
  std::string csrf;                   // the token its forms carry (actions.h)
};
Page RenderOverview(const Overview& overview, const date::time_zone* zone);

// ---- Send log ----
// The filters and position as the query string carries them:
//   rule=NAME  status=STATUS  customer=ID  from=YYYY-MM-DD  to=YYYY-MM-DD  after=SECONDS.ID
// (`after`: the last row of the previous page, its decided_at in Unix seconds and its id).
struct LogQuery {
  std::string rule;
  std::string status;
  std::string customer;
  std::string from;
  std::string to;
  std::optional<std::pair<Instant, int64_t>> after;
};
inline constexpr int kLogPageSize = 50;

// kInvalidInput naming the parameter for an unknown status, a date that is not YYYY-MM-DD, or a
// cursor that is not SECONDS.ID; for a query, also for broken form encoding. Unknown parameters
// are ignored.
Result<LogQuery> ParseLogQuery(std::string_view query);
// The same from fields already decoded (a form's), in order.
Result<LogQuery> ReadLogQuery(std::span<const std::pair<std::string, std::string>> fields);
// The store's filter for one page: `from` and `to` as whole days in `zone`; kLogPageSize + 1 rows
// asked for, to know whether a next page exists.
store::LogFilter LogFilterFor(const LogQuery& query, const date::time_zone* zone);
// The page for the rows the filter gave (at most kLogPageSize + 1). With a rule, status or
// customer filter it offers to change the sends it selects (actions.h), with `csrf`.
Page RenderLog(const LogQuery& query, std::span<const store::LogEntry> rows,
               const date::time_zone* zone, std::string_view csrf);

}  // namespace followup::console
