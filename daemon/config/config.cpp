#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "base/money.h"
#include "base/printable.h"
#include "base/time.h"

namespace followup {
namespace {

// A libpq key=value connection string ("host=/run/postgresql dbname=followup"): a keyword of
// letters and underscores, then '='. Not a path, so not resolved against the config's folder.
bool IsKeywordString(std::string_view v) {
  size_t i = 0;
  while (i < v.size() && (std::isalpha(static_cast<unsigned char>(v[i])) || v[i] == '_')) ++i;
  while (i > 0 && i < v.size() && v[i] == ' ') ++i;
  return i > 0 && i < v.size() && v[i] == '=';
}

namespace fs = std::filesystem;

// Reads one mapping whose keys must all be known. Each handler reads its value into the struct.
using Handler = std::function<Result<void>(const YAML::Node&)>;

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Location At(const YAML::Node& node) const {
    auto mark = node.Mark();
    return Location{file_, mark.line + 1, mark.column + 1};
  }
  Location At(const YAML::Mark& mark) const {
    return Location{file_, mark.line + 1, mark.column + 1};
  }

  Result<void> Map(const YAML::Node& node, const std::string& section,
                   const std::map<std::string, Handler>& handlers) const {
    if (node.IsNull()) return {};
    if (!node.IsMap()) return InvalidInput("'" + section + "' must be a mapping", At(node));
    for (const auto& item : node) {
      auto key = item.first.as<std::string>();
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        std::string known;
        for (const auto& [name, _] : handlers) known += (known.empty() ? "" : ", ") + name;
        std::string where = section.empty() ? "" : " in '" + section + "'";
        return InvalidInput("unknown key " + Quote(key) + where + " (known: " + known + ")",
                            At(item.first));
      }
      if (auto r = it->second(item.second); !r) return r;
    }
    return {};
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
};

Result<void> Validate(const Config& c, const Reader& reader, const YAML::Node& root) {
  auto where = [&](const char* section, const char* key) {
    YAML::Node n = root[section] ? root[section][key] : YAML::Node();
    return n ? reader.At(n) : Location{c.path, 0, 0};
  };
  if (auto zone = LookupZone(c.business.timezone); !zone)
    return InvalidInput(zone.error().message, where("business", "timezone"));
  if (!IsCurrencyCode(c.business.currency))
    return InvalidInput("currency must be an ISO 4217 code such as EUR or USD",
                        where("business", "currency"));
  if (c.delivery.api != "postmark" && c.delivery.api != "generic")
    return InvalidInput("api must be 'postmark' or 'generic'", where("delivery", "api"));
  if (c.delivery.unsubscribe_url.rfind("https://", 0) != 0 &&
      c.delivery.unsubscribe_url.rfind("http://", 0) != 0)
    return InvalidInput("unsubscribe_url must be an http(s) URL (https in production: RFC 8058)",
                        where("delivery", "unsubscribe_url"));
  if (c.worth.time_unit != "days" && c.worth.time_unit != "weeks")
    return InvalidInput("time_unit must be 'days' or 'weeks'", where("worth", "time_unit"));
  return {};
}

Result<Config> Parse(const std::string& yaml_text, const std::string& path) {
  Config c;
  c.path = path;
  Reader reader(path);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidInput(e.msg, reader.At(e.mark));
  }
  fs::path base = path.empty() ? fs::path() : fs::absolute(fs::path(path)).parent_path();
  try {
    std::string store;
    auto store_handler = [&](const YAML::Node& n) -> Result<void> {
      if (!n.IsScalar() || n.Scalar().empty())
        return InvalidInput("expected a store URL", reader.At(n));
      std::string v = n.Scalar();
      if (v.rfind("sqlite:", 0) == 0)
        c.store = "sqlite:" + Reader::Resolve(v.substr(7), base);
      else if (v.find("://") != std::string::npos || IsKeywordString(v))
        c.store = v;  // other backends (postgresql://..., libpq key=value) are named as they are
      else
        c.store = Reader::Resolve(v, base);
      return {};
    };
    auto business = [&](const YAML::Node& n) {
      return reader.Map(n, "business",
                        {{"name", reader.String(c.business.name)},
                         {"timezone", reader.String(c.business.timezone)},
                         {"currency", reader.String(c.business.currency)}});
    };
    auto worth = [&](const YAML::Node& n) {
      return reader.Map(
          n, "worth",
          {{"time_unit", reader.String(c.worth.time_unit)},
           {"default_margin", reader.Number(c.worth.default_margin, 0, 1)},
           {"annual_discount_rate", reader.Number(c.worth.annual_discount_rate, 0, 1)}});
    };
    auto import = [&](const YAML::Node& n) {
      return reader.Map(n, "import",
                        {{"max_field_bytes", reader.Integer(c.import.max_field_bytes, 16, 1 << 20)},
                         {"max_line_bytes", reader.Integer(c.import.max_line_bytes, 64, 1 << 24)}});
    };
    auto policy = [&](const YAML::Node& n) {
      auto& p = c.contact_policy;
      return reader.Map(n, "contact_policy",
                        {{"max_contacts", reader.Integer(p.max_contacts, 0, 1000)},
                         {"per", reader.Duration(p.per)},
                         {"quiet_hours", reader.Hours(p.quiet_start_minute, p.quiet_end_minute)},
                         {"event_lookback", reader.Duration(p.event_lookback)}});
    };
    auto delivery = [&](const YAML::Node& n) -> Result<void> {
      auto& d = c.delivery;
      auto transport = [&](const YAML::Node& v) -> Result<void> {
        if (!v.IsScalar() || v.Scalar().empty())
          return InvalidInput("expected a URL", reader.At(v));
        std::string url = v.Scalar();
        if (url.rfind("maildir://", 0) == 0) {
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
      return reader.Map(n, "delivery",
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
                         {"unsubscribe_url", reader.String(d.unsubscribe_url)},
                         {"unsubscribe_key_file", optional_path(d.unsubscribe_key_file)}});
    };
    auto service = [&](const YAML::Node& n) {
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
      return reader.Map(n, "service",
                        {{"listen", reader.String(v.listen)},
                         {"max_connections", reader.Integer(v.max_connections, 1, 65536)},
                         {"poll_interval_ms", reader.Integer(v.poll_interval_ms, 10, 60000)},
                         {"full_pass", reader.Duration(v.full_pass, ServiceConfig::kMinFullPass)},
                         {"refit_at", clock}});
    };
    if (root.IsDefined() && !root.IsNull()) {
      auto r = reader.Map(root, "",
                          {{"store", store_handler},
                           {"rules_dir", reader.Path(c.rules_dir, base)},
                           {"templates_dir", reader.Path(c.templates_dir, base)},
                           {"business", business},
                           {"worth", worth},
                           {"import", import},
                           {"contact_policy", policy},
                           {"delivery", delivery},
                           {"service", service}});
      if (!r) return tl::unexpected(r.error());
    }
    if (auto r = Validate(c, reader, root); !r) return tl::unexpected(r.error());
  } catch (const YAML::Exception& e) {
    return InvalidInput(e.msg, reader.At(e.mark));
  }
  return c;
}

}  // namespace

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& path) {
  auto c = Parse(yaml_text, path);
  // Messages may carry the file's text (a YAML parser's, a value's): one printable line, bounded,
  // whatever the file holds (base/printable.h).
  if (!c) c.error().message = Printable(c.error().message, 1000);
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidInput("cannot read config file", Location{path, 0, 0});
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace followup
