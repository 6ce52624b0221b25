#include "store/store.h"

#include "base/ascii.h"
#include "base/url.h"
#include "store/pg/postgres_store.h"
#include "store/pg/url.h"
#include "store/sqlite_store.h"

namespace followup::store {

Result<std::optional<Suppression>> FindSuppression(Store& store, std::string_view email) {
  auto list = store.ListSuppressions();
  if (!list) return tl::unexpected(list.error());
  const std::string lower = AsciiLower(email);
  for (auto& s : *list)
    if (s.email == lower) return std::optional<Suppression>(std::move(s));
  return std::optional<Suppression>();
}

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

namespace {

template <typename Enum, size_t N>
std::string_view NameIn(const std::pair<Enum, std::string_view> (&names)[N], Enum value) {
  for (const auto& [v, name] : names)
    if (v == value) return name;
  return "?";
}

template <typename Enum, size_t N>
std::optional<Enum> ParseIn(const std::pair<Enum, std::string_view> (&names)[N],
                            std::string_view name) {
  for (const auto& [v, n] : names)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace

std::string_view DecisionKindName(DecisionKind kind) { return NameIn(kDecisionKindNames, kind); }
std::optional<DecisionKind> ParseDecisionKind(std::string_view name) {
  return ParseIn(kDecisionKindNames, name);
}
std::string_view DeliveryStatusName(DeliveryStatus status) {
  return NameIn(kDeliveryStatusNames, status);
}
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name) {
  return ParseIn(kDeliveryStatusNames, name);
}

std::string DeliveryStatusNames() {
  std::string out;
  for (const auto& [_, name] : kDeliveryStatusNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

bool IsPending(DeliveryStatus status) {
  return status == DeliveryStatus::kQueued || status == DeliveryStatus::kSending ||
         status == DeliveryStatus::kDeferred;
}

bool IsInQueue(DeliveryStatus status) {
  return IsPending(status) || status == DeliveryStatus::kHeld;
}

std::span<const DeliveryStatus> QueueActionFrom(QueueAction action) {
  using enum DeliveryStatus;
  static constexpr DeliveryStatus kRequeue[] = {kFailed, kDeferred, kHeld, kCancelled, kSuppressed};
  static constexpr DeliveryStatus kCancel[] = {kQueued, kDeferred, kHeld};
  static constexpr DeliveryStatus kHold[] = {kQueued, kDeferred};
  static constexpr DeliveryStatus kRelease[] = {kHeld};
  switch (action) {
    case QueueAction::kRequeue:
      return kRequeue;
    case QueueAction::kCancel:
      return kCancel;
    case QueueAction::kHold:
      return kHold;
    case QueueAction::kRelease:
      return kRelease;
  }
  return {};
}

DeliveryStatus QueueActionTo(QueueAction action) {
  switch (action) {
    case QueueAction::kCancel:
      return DeliveryStatus::kCancelled;
    case QueueAction::kHold:
      return DeliveryStatus::kHeld;
    case QueueAction::kRequeue:
    case QueueAction::kRelease:
      break;
  }
  return DeliveryStatus::kQueued;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  auto file = StoreFilePath(url);
  if (!file) return InvalidInput("store '" + pg::Redacted(url) + "': " + file.error().message);
  if (!*file) return OpenPostgresStore(url, mode);
  return OpenSqliteStore(**file, mode);
}

Result<int> RequireSchemaVersion(int version, int known, const std::string& store) {
  if (version == 0)
    return Fail(ErrorCode::kNotFound, "no store at " + store + " (no followup tables)");
  if (version > known)
    return RuntimeFailure("store " + store + " has schema version " + std::to_string(version) +
                          ", newer than this followupd knows (" + std::to_string(known) +
                          "); upgrade followupd");
  if (version < known)
    return RuntimeFailure("store " + store + " has schema version " + std::to_string(version) +
                          " and this followupd uses " + std::to_string(known) +
                          ": a command that writes (import, run) upgrades it first");
  return version;
}

}  // namespace followup::store

namespace followup::store {

const std::vector<StoreTable>& StoreTables() {
  using enum ColumnType;
  static const std::vector<StoreTable> tables = {
      {"customers",
       "id",
       "",
       {{"id", kInteger},
        {"external_id", kText},
        {"email", kText},
        {"name", kText},
        {"created_at", kTime},
        {"referred_by", kInteger},
        {"timezone", kText},
        {"attributes", kJson},
        {"unsubscribed_at", kTime}}},
      {"transactions",
       "id",
       "",
       {{"id", kInteger},
        {"external_id", kText},
        {"customer_id", kInteger},
        {"occurred_at", kTime},
        {"kind", kText},
        {"amount", kInteger},
        {"cost", kInteger},
        {"currency", kText},
        {"offer_code", kText}}},
      {"suppressions", "email", "", {{"email", kText}, {"reason", kText}, {"created_at", kTime}}},
      {"outbox",
       "id",
       "",
       {{"id", kInteger},
        {"dedupe_key", kText},
        {"rule", kText},
        {"customer_id", kInteger},
        {"recipient_id", kInteger},
        {"kind", kText},
        {"arm", kText},
        {"template", kText},
        {"template_values", kJson},
        {"decided_at", kTime},
        {"send_after", kTime},
        {"status", kText},
        {"attempts", kInteger},
        {"next_attempt_at", kTime},
        {"last_reply", kText},
        {"provider_message_id", kText},
        {"message_id", kText},
        {"sent_at", kTime},
        {"updated_at", kTime}}},
      {"sequence_places",
       "rule, customer_id, occurrence",
       "",
       {{"rule", kText},
        {"customer_id", kInteger},
        {"occurrence", kText},
        {"kind", kText},
        {"arm", kText},
        {"entered_at", kTime},
        {"steps_done", kJson},
        {"last_at", kTime},
        {"held_since", kTime},
        {"next_step", kText},
        {"next_due", kTime},
        {"ended_at", kTime},
        {"end_reason", kText}}},
      {"feedback_events",
       "event_id",
       "",
       {{"event_id", kText},
        {"source", kText},
        {"type", kText},
        {"recipient", kText},
        {"outbox_id", kInteger},
        {"status", kText},
        {"reason", kText},
        {"occurred_at", kTime},
        {"received_at", kTime}}},
      // The daemon's cursors and outcomes; each store keeps its own schema version.
      {"meta", "key", "key <> 'schema_version'", {{"key", kText}, {"value", kText}}},
  };
  return tables;
}

}  // namespace followup::store
