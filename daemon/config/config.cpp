#include "config/config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "base/money.h"
#include "base/printable.h"
#include "base/time.h"
#include "base/url.h"
#include "config/yaml_document.h"

namespace followup {
namespace {

namespace fs = std::filesystem;

// Reads one mapping whose keys must all be known. Each handler reads its value into the struct.
using Handler = std::function<Result<void>(const YAML::Node&)>;

// Reads the file's mappings, going on past a bad value so that every problem is found in one
// reading; each problem is kept with its place, and the place of every value read is noted in the
// config (Config::Where).
class Reader {
 public:
  Reader(std::string file, std::vector<Error>& problems, std::map<std::string, Location>& where)
      : file_(std::move(file)), problems_(problems), where_(where) {}

  Location At(const YAML::Node& node) const { return YamlLocation(file_, node.Mark()); }

  void Problem(const Error& e) const { problems_.push_back(e); }

  void Map(const YAML::Node& node, const std::string& section,
           const std::map<std::string, Handler>& handlers) const {
    if (node.IsNull()) return;
    if (!node.IsMap())
      return Problem(Error{ErrorCode::kInvalidInput,
                           section.empty() ? "the config file holds one mapping (store:, "
                                             "business:, delivery: ...)"
                                           : "'" + section + "' must be a mapping",
                           At(node)});
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        Problem(Error{ErrorCode::kInvalidInput, "a key must be a name", At(item.first)});
        continue;
      }
      const std::string& key = item.first.Scalar();
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        std::string known;
        for (const auto& [name, _] : handlers) known += (known.empty() ? "" : ", ") + name;
        std::string where = section.empty() ? "" : " in '" + section + "'";
        Problem(Error{ErrorCode::kInvalidInput,
                      "unknown key " + Quote(key) + where + " (known: " + known + ")",
                      At(item.first)});
        continue;
      }
      where_[section.empty() ? key : section + "." + key] = At(item.second);
      if (auto r = it->second(item.second); !r) Problem(r.error());
    }
  }

  Handler String(std::string& out) const {
    return [this, &out](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar()) return InvalidInput("expected a text value", At(n));
      out = n.Scalar();
      return {};
    };
  }

  Handler Path(std::string& out, const fs::path& base) const {
    return [this, &out, base](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar() || n.Scalar().empty()) return InvalidInput("expected a path", At(n));
      out = Resolve(n.Scalar(), base);
      return {};
    };
  }

  Handler Number(double& out, double lo, double hi) const {
    return [this, &out, lo, hi](const YAML::Node& n) -> Result<void> {
      double v = 0;
      if (!n.IsScalar() || !YAML::convert<double>::decode(n, v))
        return InvalidInput("expected a number", At(n));
      if (v < lo || v > hi) {
        std::ostringstream why;
        why << "value " << n.Scalar() << " is out of range [" << lo << ", " << hi << "]";
        return InvalidInput(why.str(), At(n));
      }
      out = v;
      return {};
    };
  }

  Handler Integer(int& out, int lo, int hi) const {
    return [this, &out, lo, hi](const YAML::Node& n) -> Result<void> {
      int v = 0;
      if (!n.IsScalar() || !YAML::convert<int>::decode(n, v))
        return InvalidInput("expected a whole number", At(n));
      if (v < lo || v > hi)
        return InvalidInput("value " + Quote(n.Scalar()) + " is out of range [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]",
                            At(n));
      out = v;
      return {};
    };
  }

  // A duration such as "7d"; below `min` is an error that names the minimum.
  Handler Duration(std::chrono::seconds& out, std::chrono::seconds min = {}) const {
    return [this, &out, min](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar()) return InvalidInput("expected a duration such as 7d", At(n));
      auto d = ParseDuration(n.Scalar());
      if (!d) return InvalidInput(d.error().message, At(n));
      if (*d < min)
        return InvalidInput("duration " + n.Scalar() + " is below the minimum of " +
                                std::to_string(min.count()) + "s",
                            At(n));
      out = *d;
      return {};
    };
  }

  // "HH:MM-HH:MM" into minutes after midnight; "" for none (start == end == 0).
  Handler Hours(int& start, int& end) const {
    return [this, &start, &end](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar()) return InvalidInput("expected hours such as 21:00-08:00", At(n));
      const std::string& v = n.Scalar();
      if (v.empty()) {
        start = end = 0;
        return {};
      }
      int h1, m1, h2, m2;
      char tail;
      if (std::sscanf(v.c_str(), "%2d:%2d-%2d:%2d%c", &h1, &m1, &h2, &m2, &tail) != 4 || h1 < 0 ||
          h1 > 23 || h2 < 0 || h2 > 23 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
        return InvalidInput("bad hours " + Quote(v) + " (expected HH:MM-HH:MM, e.g. 21:00-08:00)",
                            At(n));
      start = h1 * 60 + m1;
      end = h2 * 60 + m2;
      return {};
    };
  }

  // Paths: "sqlite:REL" and plain relative paths resolve against the config file's folder.
  static std::string Resolve(const std::string& value, const fs::path& base) {
    if (base.empty()) return value;
    fs::path p(value);
    if (p.is_absolute()) return value;
    return (base / p).lexically_normal().string();
  }

 private:
  std::string file_;
  std::vector<Error>& problems_;
  std::map<std::string, Location>& where_;
};

// The values that are checked as a whole, once read (a default is always valid).
void Validate(const Config& c, std::vector<Error>& problems) {
  auto problem = [&](const std::string& message, const char* key) {
    problems.push_back(Error{ErrorCode::kInvalidInput, message, c.Where(key)});
  };
  if (auto zone = LookupZone(c.business.timezone); !zone)
    problem(zone.error().message, "business.timezone");
  if (!IsCurrencyCode(c.business.currency))
    problem("currency must be an ISO 4217 code such as EUR or USD", "business.currency");
  if (c.delivery.api != "postmark" && c.delivery.api != "generic")
    problem("api must be 'postmark' or 'generic'", "delivery.api");
  if (c.delivery.unsubscribe_url.rfind("https://", 0) != 0 &&
      c.delivery.unsubscribe_url.rfind("http://", 0) != 0)
    problem("unsubscribe_url must be an http(s) URL (https in production: RFC 8058)",
            "delivery.unsubscribe_url");
  if (c.worth.time_unit != "days" && c.worth.time_unit != "weeks")
    problem("time_unit must be 'days' or 'weeks'", "worth.time_unit");
  if (auto listen = ParseListenAddress(c.service.listen); !listen) {
    problem(listen.error().message, "service.listen");
  } else if (!listen->host.empty() && c.service.console &&
             c.service.console_credentials_file.empty() && !IsLoopback(listen->host)) {
    // Open on loopback only: anyone who reaches another address could read the send log.
    problem("the console on " + c.service.listen +
                " (not a loopback address) needs service.console.credentials_file, or "
                "service.console.enabled: false",
            "service.listen");
  }
  // The bounce address's local part is PREFIX+TOKEN: 27 characters leave room for every token in
  // the 64 of a local part (feedback/verp.h).
  const std::string& prefix = c.feedback.verp_prefix;
  if (prefix.empty() || prefix.size() > 27 ||
      !std::all_of(prefix.begin(), prefix.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
      }))
    problem("verp_prefix must be 1 to 27 letters, digits, '-', '_' or '.'", "feedback.verp_prefix");
  const std::string& domain = c.feedback.verp_domain;
  if (!domain.empty() &&
      (domain.front() == '.' || domain.back() == '.' || domain.find('.') == std::string::npos ||
       !std::all_of(domain.begin(), domain.end(), [](char ch) {
         return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.';
       })))
    problem("verp_domain must be a domain name such as shop.example (\"\" = delivery.from's)",
            "feedback.verp_domain");
}

}  // namespace

bool IsLoopback(std::string_view host) {
  in_addr v4;
  in6_addr v6;
  const std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  if (text.empty()) return ListenAddress{};
  auto bad = [&](const std::string& why) {
    return InvalidInput("listen: '" + std::string(text) + "': " + why +
                        " (expected HOST:PORT such as 127.0.0.1:8025 or [::1]:8025, or \"\" for "
                        "none)");
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535)
    return bad("the port must be a number from 0 to 65535 (0: any free one, which the log names)");
  ListenAddress a;
  a.port = static_cast<uint16_t>(port);
  in_addr v4;
  in6_addr v6;
  if (host == "localhost") {
    a.host = "127.0.0.1";
  } else if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    a.host = std::string(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, a.host.c_str(), &v6) != 1) return bad("not an IPv6 address");
  } else {
    a.host = std::string(host);
    if (inet_pton(AF_INET, a.host.c_str(), &v4) != 1)
      return bad("the host must be an IP address or localhost, not a name to look up");
  }
  return a;
}

Location Config::Where(std::string_view key) const {
  auto it = locations.find(std::string(key));
  return it != locations.end() ? it->second : Location{path, 0, 0};
}

ConfigReading ReadConfigText(const std::string& yaml_text, const std::string& path) {
  ConfigReading out;
  Config& c = out.config;
  c.path = path;
  std::vector<Error>& problems = out.problems;
  auto root = ReadYamlDocument(yaml_text, path, problems);
  if (!root) return out;
  Reader reader(path, problems, c.locations);
  fs::path base = path.empty() ? fs::path() : fs::absolute(fs::path(path)).parent_path();
  try {
    auto store_handler = [&](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar() || n.Scalar().empty())
        return InvalidInput("expected a store URL", reader.At(n));
      std::string v = n.Scalar();
      auto file = StoreFilePath(v);
      if (!file) return InvalidInput(file.error().message, reader.At(n));
      if (!*file)
        c.store = v;  // PostgreSQL (postgresql://..., libpq key=value) is named as it is
      else
        c.store = v.rfind("sqlite:", 0) == 0 ? "sqlite:" + Reader::Resolve(**file, base)
                                             : Reader::Resolve(**file, base);
      return {};
    };
    auto business = [&](const YAML::Node& n) -> Result<void> {
      reader.Map(n, "business",
                 {{"name", reader.String(c.business.name)},
                  {"timezone", reader.String(c.business.timezone)},
                  {"currency", reader.String(c.business.currency)}});
      return {};
    };
    auto worth = [&](const YAML::Node& n) -> Result<void> {
      reader.Map(n, "worth",
                 {{"time_unit", reader.String(c.worth.time_unit)},
                  {"default_margin", reader.Number(c.worth.default_margin, 0, 1)},
                  {"annual_discount_rate", reader.Number(c.worth.annual_discount_rate, 0, 1)}});
      return {};
    };
    auto import = [&](const YAML::Node& n) -> Result<void> {
      reader.Map(n, "import",
                 {{"max_field_bytes", reader.Integer(c.import.max_field_bytes, 16, 1 << 20)},
                  {"max_line_bytes", reader.Integer(c.import.max_line_bytes, 64, 1 << 24)}});
      return {};
    };
    auto policy = [&](const YAML::Node& n) -> Result<void> {
      auto& p = c.contact_policy;
      reader.Map(n, "contact_policy",
                 {{"max_contacts", reader.Integer(p.max_contacts, 0, 1000)},
                  {"per", reader.Duration(p.per)},
                  {"quiet_hours", reader.Hours(p.quiet_start_minute, p.quiet_end_minute)},
                  {"event_lookback", reader.Duration(p.event_lookback)}});
      return {};
    };
    auto delivery = [&](const YAML::Node& n) -> Result<void> {
      auto& d = c.delivery;
      auto transport = [&](const YAML::Node& v) -> Result<void> {
        if (!v.IsScalar() || v.Scalar().empty())
          return InvalidInput("expected a URL", reader.At(v));
        std::string url = v.Scalar();
        if (url.rfind("maildir://", 0) == 0) {
          if (url.size() == 10)
            return InvalidInput("maildir:// needs a folder: maildir://PATH", reader.At(v));
          d.transport = "maildir://" + Reader::Resolve(url.substr(10), base);
        } else if (url.rfind("smtp://", 0) == 0 || url.rfind("smtps://", 0) == 0 ||
                   url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
          d.transport = url;
        } else {
          return InvalidInput(
              "transport must start with maildir://, smtp://, smtps://, http:// or "
              "https://",
              reader.At(v));
        }
        return {};
      };
      auto boolean = [&](bool& out) {
        return [&out, &reader](const YAML::Node& v) -> Result<void> {
          if (!v.IsScalar() || !YAML::convert<bool>::decode(v, out))
            return InvalidInput("expected true or false", reader.At(v));
          return {};
        };
      };
      auto optional_path = [&](std::string& out) {
        return [&out, &reader, base](const YAML::Node& v) -> Result<void> {
          if (!v.IsScalar()) return InvalidInput("expected a path", reader.At(v));
          out = v.Scalar().empty() ? "" : Reader::Resolve(v.Scalar(), base);
          return {};
        };
      };
      reader.Map(n, "delivery",
                 {{"transport", transport},
                  {"from", reader.String(d.from)},
                  {"reply_to", reader.String(d.reply_to)},
                  {"require_tls", boolean(d.require_tls)},
                  {"credentials_file", reader.String(d.credentials_file)},
                  {"api", reader.String(d.api)},
                  {"connections", reader.Integer(d.connections, 1, 64)},
                  {"timeout", reader.Duration(d.timeout, std::chrono::seconds{1})},
                  {"rate_per_second", reader.Number(d.rate_per_second, 0, 1e6)},
                  {"rate_per_domain", reader.Number(d.rate_per_domain, 0, 1e6)},
                  {"max_attempts", reader.Integer(d.max_attempts, 1, 100)},
                  {"retry_base", reader.Duration(d.retry_base)},
                  {"max_age", reader.Duration(d.max_age, std::chrono::seconds{60})},
                  {"unsubscribe_url", reader.String(d.unsubscribe_url)},
                  {"unsubscribe_key_file", optional_path(d.unsubscribe_key_file)},
                  {"bounces", optional_path(d.bounces)}});
      return {};
    };
    auto feedback = [&](const YAML::Node& n) -> Result<void> {
      auto& f = c.feedback;
      auto one = [&](const char* section, const char* key, std::string& out) {
        return [&reader, section, key, &out](const YAML::Node& v) -> Result<void> {
          reader.Map(v, section, {{key, reader.String(out)}});
          return {};
        };
      };
      auto topics = [&](const YAML::Node& v) -> Result<void> {
        auto list = [&](const YAML::Node& t) -> Result<void> {
          if (!t.IsSequence())
            return InvalidInput("expected a list of SNS topic ARNs", reader.At(t));
          f.ses_topic_arns.clear();
          for (const auto& arn : t) {
            if (!arn.IsScalar() || arn.Scalar().rfind("arn:", 0) != 0)
              return InvalidInput("expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
                                  reader.At(arn));
            f.ses_topic_arns.push_back(arn.Scalar());
          }
          return {};
        };
        reader.Map(v, "feedback.ses", {{"topic_arns", list}});
        return {};
      };
      reader.Map(
          n, "feedback",
          {{"verp_prefix", reader.String(f.verp_prefix)},
           {"verp_domain", reader.String(f.verp_domain)},
           {"verp_key_file", reader.Path(f.verp_key_file, base)},
           {"soft_bounce_limit", reader.Integer(f.soft_bounce_limit, 1, 1000)},
           {"soft_bounce_days", reader.Integer(f.soft_bounce_days, 1, 3650)},
           {"postmark", one("feedback.postmark", "credentials_file", f.postmark_credentials_file)},
           {"ses", topics},
           {"sendgrid", one("feedback.sendgrid", "public_key", f.sendgrid_public_key)},
           {"mailgun", one("feedback.mailgun", "signing_key_file", f.mailgun_signing_key_file)},
           {"generic", one("feedback.generic", "secret_file", f.generic_secret_file)}});
      return {};
    };
    auto service = [&](const YAML::Node& n) -> Result<void> {
      auto& v = c.service;
      auto clock = [&](const YAML::Node& t) -> Result<void> {
        int h = -1, m = -1;
        char tail;
        if (!t.IsScalar() || std::sscanf(t.Scalar().c_str(), "%2d:%2d%c", &h, &m, &tail) != 2 ||
            h < 0 || h > 23 || m < 0 || m > 59)
          return InvalidInput("expected a time of day HH:MM", reader.At(t));
        v.refit_minute = h * 60 + m;
        return {};
      };
      auto console = [&](const YAML::Node& t) -> Result<void> {
        auto enabled = [&](const YAML::Node& b) -> Result<void> {
          if (!b.IsScalar() || !YAML::convert<bool>::decode(b, v.console))
            return InvalidInput("expected true or false", reader.At(b));
          return {};
        };
        reader.Map(t, "service.console",
                   {{"enabled", enabled},
                    {"credentials_file", reader.String(v.console_credentials_file)}});
        return {};
      };
      reader.Map(n, "service",
                 {{"listen", reader.String(v.listen)},
                  {"console", console},
                  {"max_connections", reader.Integer(v.max_connections, 1, 65536)},
                  {"poll_interval_ms", reader.Integer(v.poll_interval_ms, 10, 60000)},
                  {"full_pass", reader.Duration(v.full_pass, ServiceConfig::kMinFullPass)},
                  {"refit_at", clock}});
      return {};
    };
    reader.Map(*root, "",
               {{"store", store_handler},
                {"rules_dir", reader.Path(c.rules_dir, base)},
                {"templates_dir", reader.Path(c.templates_dir, base)},
                {"business", business},
                {"worth", worth},
                {"import", import},
                {"contact_policy", policy},
                {"delivery", delivery},
                {"feedback", feedback},
                {"service", service}});
  } catch (const YAML::Exception& e) {
    problems.push_back(Error{ErrorCode::kInvalidInput, e.msg, YamlLocation(path, e.mark)});
  }
  Validate(c, problems);
  // Messages may carry the file's text (a YAML parser's, a value's): one printable line, bounded,
  // whatever the file holds (base/printable.h).
  for (auto& problem : problems) problem.message = Printable(problem.message, 1000);
  std::stable_sort(problems.begin(), problems.end(), [](const Error& a, const Error& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  return out;
}

ConfigReading ReadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigReading out;
    out.config.path = path;
    out.problems.push_back(
        Error{ErrorCode::kInvalidInput, "cannot read config file", Location{path, 0, 0}});
    return out;
  }
  std::stringstream text;
  text << in.rdbuf();
  return ReadConfigText(text.str(), path);
}

namespace {

Result<Config> FirstProblem(ConfigReading reading) {
  if (!reading.problems.empty()) return tl::unexpected(std::move(reading.problems.front()));
  return std::move(reading.config);
}

}  // namespace

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& path) {
  return FirstProblem(ReadConfigText(yaml_text, path));
}

Result<Config> LoadConfig(const std::string& path) { return FirstProblem(ReadConfig(path)); }

}  // namespace followup
