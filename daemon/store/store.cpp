#include "store/store.h"

#include "store/sqlite_store.h"

namespace followup::store {

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kPurchase:
      return "purchase";
    case Kind::kReturn:
      return "return";
    case Kind::kRefund:
      return "refund";
  }
  return "purchase";
}

std::optional<Kind> ParseKind(std::string_view name) {
  if (name == "purchase") return Kind::kPurchase;
  if (name == "return") return Kind::kReturn;
  if (name == "refund") return Kind::kRefund;
  return std::nullopt;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  std::string_view u = url;
  if (u.rfind("sqlite:", 0) == 0) {
    u.remove_prefix(7);
    if (u.rfind("//", 0) == 0) u.remove_prefix(2);  // sqlite:///abs/path
  } else if (u.find("://") != std::string_view::npos) {
    return InvalidInput("unsupported store URL '" + url +
                        "': this followupd knows sqlite:PATH (or a plain path)");
  }
  if (u.empty()) return InvalidInput("empty store path in '" + url + "'");
  return OpenSqliteStore(std::string(u));
}

}  // namespace followup::store
