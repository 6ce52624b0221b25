// The store: customers and their transactions, and (added by later parts) facts, outbox and send
// log. The rest of followup sees only this interface; SQL lives inside the backends (SQLite now,
// PostgreSQL for several daemons sharing one database later).
//
// Thread safety: a Store and the batches it hands out are used from one thread at a time. Open one
// Store per thread that needs one; the backends handle concurrent processes (SQLite WAL, PostgreSQL
// transactions).
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/time.h"

namespace followup::store {

enum class Kind { kPurchase, kReturn, kRefund };
std::string_view KindName(Kind kind);
std::optional<Kind> ParseKind(std::string_view name);

// A customer as import writes it; ids are the business's own (external) ids.
struct CustomerRecord {
  std::string external_id;
  std::optional<std::string> email;
  std::string name;
  std::optional<Instant> created_at;
  std::optional<std::string> referred_by;  // another customer's external id
  std::optional<std::string> timezone;     // IANA zone; none = the business's
  std::string attributes_json = "{}";      // a JSON object of further columns
  std::optional<Instant> unsubscribed_at;

  bool operator==(const CustomerRecord&) const = default;
};

struct TransactionRecord {
  std::string external_id;
  std::string customer_external_id;
  Instant occurred_at;
  Kind kind = Kind::kPurchase;
  int64_t amount = 0;           // minor units, never negative: `kind` says which way it goes
  std::optional<int64_t> cost;  // minor units, where known
  std::string currency;         // ISO 4217
  std::optional<std::string> offer_code;

  bool operator==(const TransactionRecord&) const = default;
};

// What happened to one record put into an import batch.
enum class PutOutcome {
  kInserted,
  kUnchanged,        // the same id with the same content was already there
  kConflict,         // the same id with content that cannot be taken: nothing changed
  kUpdated,          // a known customer whose changed fields were taken (MergeCustomer)
  kUnknownCustomer,  // a transaction for a customer the store does not know
  kUnknownReferrer,  // referred_by names a customer the store does not know
};

struct PutResult {
  PutOutcome outcome = PutOutcome::kInserted;
  std::string detail;  // for kConflict: why; for kUpdated: the fields that changed
};

// One import as a unit of work: everything put is visible to later puts in the same batch, and
// becomes visible to everyone else only on Commit(). Destroying a batch without Commit() (or
// calling Rollback()) leaves the store as it was.
class ImportBatch {
 public:
  virtual ~ImportBatch() = default;
  virtual Result<PutResult> PutCustomer(const CustomerRecord& record) = 0;
  // Puts many transactions at once (the fast path for imports); one result per record, in order.
  // A record repeated within `records` is put once and then compared like any stored one.
  virtual Result<std::vector<PutResult>> PutTransactions(
      std::span<const TransactionRecord> records) = 0;
  Result<PutResult> PutTransaction(const TransactionRecord& record) {
    auto results = PutTransactions(std::span<const TransactionRecord>(&record, 1));
    if (!results) return tl::unexpected(results.error());
    return results->front();
  }
  virtual Result<void> Commit() = 0;
  virtual void Rollback() = 0;
};

// A transaction as read for fact computation: store ids, ordered by customer then time.
struct TransactionRow {
  int64_t id = 0;  // the store's row id (monotonic: the watcher's high-water mark)
  int64_t customer_id = 0;
  Instant occurred_at;
  Kind kind = Kind::kPurchase;
  int64_t amount = 0;
  std::optional<int64_t> cost;
};

struct CustomerRow {
  int64_t id = 0;
  std::string external_id;
  std::optional<std::string> email;
  std::string name;
  std::optional<int64_t> referred_by;  // store id
  std::optional<std::string> timezone;
  std::optional<Instant> unsubscribed_at;
  std::optional<Instant> created_at;
};

// What a decision is: an email to send, or a customer held out of a rule (holdout) or put in an
// experiment's control arm (control).
enum class DecisionKind { kSend, kHoldout, kControl };

// Where an outbox row (a decision) stands.
enum class DeliveryStatus {
  kQueued,      // a send waiting for its send_after, or put back by a stop before it started
  kSending,     // claimed by a delivery round
  kSent,        // accepted by the next hop
  kDeferred,    // a temporary failure: tried again at next_attempt_at
  kFailed,      // a permanent failure, or out of attempts
  kSuppressed,  // not sent: the recipient is gone, unsubscribed, suppressed or has no address
  kHeldOut,     // a holdout or control decision: never sent
  kHeld,        // a send the operator holds (followupd queue hold) until released
  kCancelled,   // a send the operator cancelled, or whose rule was removed or disabled: never sent
  kBounced,     // sent, and a hard bounce came back for it later (docs/feedback.md)
  kComplained,  // sent, and its recipient reported it as spam
};

// The names kinds and statuses have in the store, in `followupd log` and in --json output: the one
// place they are spelt. A new status is an enum value above and its name here (and the schema
// migration that lets the outbox hold it).
inline constexpr std::pair<DecisionKind, std::string_view> kDecisionKindNames[] = {
    {DecisionKind::kSend, "send"},
    {DecisionKind::kHoldout, "holdout"},
    {DecisionKind::kControl, "control"},
};
inline constexpr std::pair<DeliveryStatus, std::string_view> kDeliveryStatusNames[] = {
    {DeliveryStatus::kQueued, "queued"},
    {DeliveryStatus::kSending, "sending"},
    {DeliveryStatus::kSent, "sent"},
    {DeliveryStatus::kDeferred, "deferred"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kSuppressed, "suppressed"},
    {DeliveryStatus::kHeldOut, "held_out"},
    {DeliveryStatus::kHeld, "held"},
    {DeliveryStatus::kCancelled, "cancelled"},
    {DeliveryStatus::kBounced, "bounced"},
    {DeliveryStatus::kComplained, "complained"},
};
inline constexpr size_t kDeliveryStatusCount = std::size(kDeliveryStatusNames);

std::string_view DecisionKindName(DecisionKind kind);
std::optional<DecisionKind> ParseDecisionKind(std::string_view name);
std::string_view DeliveryStatusName(DeliveryStatus status);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name);
// "queued, sending, sent, ...": every status name, for messages.
std::string DeliveryStatusNames();
// Still on its way: queued, sending or deferred.
bool IsPending(DeliveryStatus status);
// In the queue as `followupd queue` lists it: pending, or held.
bool IsInQueue(DeliveryStatus status);

// What the operator does to sends in the queue (followupd queue; docs/delivery.md).
enum class QueueAction {
  kRequeue,  // failed, deferred, held, cancelled or suppressed -> queued, attempts from 0
  kCancel,   // queued, deferred or held -> cancelled, with the reason as its reply
  kHold,     // queued or deferred -> held
  kRelease,  // held -> queued
};
// The statuses `action` applies to, and the one it gives.
std::span<const DeliveryStatus> QueueActionFrom(QueueAction action);
DeliveryStatus QueueActionTo(QueueAction action);

// A rule's decision about one customer: what the engine makes (rules/engine.h) and the outbox
// keeps, the same record on both sides. Delivery sends the kind kSend ones.
struct Decision {
  std::string rule;
  int64_t customer_id = 0;   // whose facts or event it is
  int64_t recipient_id = 0;  // who would get the email: the customer, or their referrer
  std::string dedupe_key;    // rule:customer:occurrence, unique: a decision is recorded once
  DecisionKind kind = DecisionKind::kSend;
  std::string arm;            // experiment arm, if any
  std::string template_name;  // what to send
  std::string values_json = "{}";
  Instant decided_at;
  Instant send_after;  // decided_at, or the end of the recipient's quiet hours
};

// One step of a sequence behind a customer: taken, skipped or dropped (docs/rules.md, "Sequences").
struct StepDone {
  std::string step;     // its name
  Instant at;           // when it was decided (a dropped step: when it was due)
  std::string outcome;  // "send", "holdout", "control", "skipped: ...", "dropped: ..."

  bool operator==(const StepDone&) const = default;
};

// A customer's place in a sequence (a rule with steps): one per entry, (rule, customer,
// occurrence) unique. Written in the same store transaction as the step decisions it leads to.
struct SequencePlace {
  std::string rule;
  int64_t customer_id = 0;
  std::string occurrence;                   // of the entry, as in decisions' dedupe keys
  DecisionKind kind = DecisionKind::kSend;  // holdout and control: recorded, never contacted
  std::string arm;                          // experiment arm, if any
  Instant entered_at;
  std::vector<StepDone> done;         // in order
  Instant last_at;                    // the last step's time (entered_at before the first)
  std::optional<Instant> held_since;  // the next step fell due and waits (the cap) since then
  std::string next_step;              // "" once ended
  std::optional<Instant> next_due;
  std::optional<Instant> ended_at;
  std::string end_reason;  // "completed", or why they left: "purchase", "unsubscribed" ...

  bool operator==(const SequencePlace&) const = default;
};

// A purchase by a customer in a sequence: after they entered, and within the report's window
// after their place's last step (see Store::ForEachSequencePurchase).
struct SequencePurchase {
  int64_t customer_id = 0;
  std::string occurrence;
  Instant occurred_at;
  int64_t amount = 0;  // minor units
};

// A transaction that may trigger event rules.
struct RecentTransaction {
  int64_t id = 0;
  std::string external_id;
  int64_t customer_id = 0;
  Instant occurred_at;
  Kind kind = Kind::kPurchase;
  bool first_purchase = false;  // the customer's first purchase (earliest, then lowest id)
};

// A queued send, claimed for delivery.
struct OutboxItem {
  int64_t id = 0;
  std::string dedupe_key;
  std::string rule;
  int64_t customer_id = 0;
  int64_t recipient_id = 0;
  std::string arm;
  std::string template_name;
  std::string values_json;
  Instant decided_at;
  int attempts = 0;        // attempts made before this one
  std::string message_id;  // set on the first attempt and kept, so a retry is the same message
};

// The outcome of one delivery attempt, to record.
struct DeliveryUpdate {
  int64_t id = 0;
  // kSent, kDeferred, kFailed, kSuppressed; or kQueued for a claimed send that was not started
  // (a stop): back in the queue as it was, no attempt counted.
  DeliveryStatus status = DeliveryStatus::kSent;
  int attempts = 0;                        // attempts made, this one included
  std::optional<Instant> next_attempt_at;  // deferred: when to try again
  std::string last_reply;                  // the server's words, or why not
  std::string provider_message_id;
  std::string message_id;
  std::optional<Instant> sent_at;
  std::string suppress_email;  // non-empty: add this address to the suppressions (hard bounce)
};

// One row of the send log.
struct LogEntry {
  int64_t id = 0;
  std::string rule;
  std::string customer;   // external id
  std::string recipient;  // external id
  std::string recipient_email;
  DecisionKind kind = DecisionKind::kSend;
  std::string arm;
  std::string template_name;
  DeliveryStatus status = DeliveryStatus::kQueued;
  int attempts = 0;
  Instant decided_at;
  Instant send_after;
  std::optional<Instant> next_attempt_at;
  std::optional<Instant> sent_at;
  std::string last_reply;
  std::string provider_message_id;
  std::string message_id;
  std::string dedupe_key;
  Instant updated_at;
};

struct LogFilter {
  std::optional<Instant> since;          // decided after
  std::string rule;                      // "" = any
  std::string customer;                  // external id of the customer or recipient; "" = any
  std::optional<DeliveryStatus> status;  // none = any
  int64_t limit = 0;                     // 0 = no limit
  bool in_queue = false;                 // only sends in the queue (IsInQueue)
  std::vector<int64_t> ids;              // only these outbox ids; empty = any
  std::optional<Instant> until;          // decided at or before; none = any
  // Keyset paging: only the entries after this one (its decided_at and id) in the log's order,
  // newest first: the last entry of the previous page. Uses the decided_at index, so a page
  // deep in millions of rows costs what the first does.
  std::optional<std::pair<Instant, int64_t>> after;
};

// What happened after one decision, for `report`.
struct DecisionOutcome {
  DecisionKind kind = DecisionKind::kSend;
  DeliveryStatus status = DeliveryStatus::kQueued;
  std::string arm;
  Instant decided_at;     // the window runs from here
  int64_t purchases = 0;  // the recipient's purchases in the window after the decision
  int64_t revenue = 0;    // their sum, minor units
};

struct StoreCounts {
  int64_t customers = 0;
  int64_t transactions = 0;
};

// A store table as `followupd copy-store` moves it (docs/store.md): its columns in a fixed order,
// every value as text (integers and times as decimal integers, times in UTC seconds; NULL as
// nullopt), so that both backends read and write the same rows.
enum class ColumnType { kInteger, kText, kTime, kJson };
struct TableColumn {
  std::string_view name;
  ColumnType type;
};
struct StoreTable {
  std::string_view name;
  std::string_view order_by;  // a unique key: both backends list the rows in the same order
  std::string_view where;     // "" = every row
  std::vector<TableColumn> columns;
};
// The tables in the order they are copied (a referenced table before those referring to it).
const std::vector<StoreTable>& StoreTables();
using RowValues = std::vector<std::optional<std::string>>;

// Writes whole tables into a store in one store transaction: nothing of it is visible to other
// connections, or stays, unless Commit() succeeds. Reads of the same Store see it before then.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  virtual Result<void> BeginTable(const StoreTable& table) = 0;
  virtual Result<void> Put(const RowValues& row) = 0;
  virtual Result<void> EndTable() = 0;
  virtual Result<void> Commit() = 0;
};

// How a command uses the store it opens (docs/store.md "Who creates the store").
enum class OpenMode {
  // Creates the store if it is not there (its folders 0700, its files 0600) and runs every pending
  // schema migration: the commands that write, and the daemon.
  kCreate,
  // The store must be there and at this program's schema version: nothing is created or migrated.
  // A missing store is kNotFound "no store at PATH"; one at another version is kRuntime.
  kExisting,
};

// `version` (read from the store named `store`, 0 = no followup tables) checked for a store opened
// with OpenMode::kExisting against the `known` migrations of its backend: the version itself, or
// the error OpenMode::kExisting describes.
Result<int> RequireSchemaVersion(int version, int known, const std::string& store);

// An address followupd never writes to, and why (store table `suppressions`).
struct Suppression {
  std::string email;   // lower-cased
  std::string reason;  // "hard bounce: 5.1.1 ...", "complaint", or the operator's words
  Instant created_at;
};

// What a bounce or complaint that came back after the send does (docs/feedback.md): the kinds of
// feedback::EventType that change what is sent to whom.
enum class FeedbackAction { kHardBounce, kSoftBounce, kComplaint, kUnsubscribe };
// "hard_bounce", "soft_bounce", "complaint", "unsubscribe": as feedback::EventTypeName spells them.
std::string_view FeedbackActionName(FeedbackAction action);

// One event to record (store table `feedback_events`), with what the caller verified about it.
struct FeedbackEvent {
  std::string event_id;  // unique: an event already recorded is not applied again
  std::string source;    // "postmark", "ses", "sendgrid", "mailgun", "generic", "dsn", "arf"
  FeedbackAction action = FeedbackAction::kHardBounce;
  std::string recipient;  // lower-cased; may be empty for a report that names nobody
  // The recipient is authenticated (a signed webhook). A mail report (dsn, arf) is not: it acts
  // only through a send it matches.
  bool trusted = false;
  std::optional<int64_t> verp_outbox_id;  // from a VERP token whose MAC checked out
  std::string message_id;                 // the original Message-ID, without <>
  std::string provider_message_id;
  std::string status;  // RFC 3463 code, or ""
  std::string reason;  // the source's words
  Instant occurred_at;
};

// How soft bounces add up (config feedback.soft_bounce_limit and soft_bounce_days).
struct FeedbackPolicy {
  int soft_bounce_limit = 3;                                // this many ...
  std::chrono::seconds soft_bounce_window{14 * 24 * 3600};  // ... within this window suppress
};

enum class FeedbackOutcome {
  kApplied,    // recorded and acted on
  kDuplicate,  // its event_id was recorded before: nothing done again
  kUnmatched,  // a report that matches no send followupd made (or names another recipient), or
               // an event with no address at all: nothing recorded, nothing changed
};

struct FeedbackResult {
  FeedbackOutcome outcome = FeedbackOutcome::kApplied;
  std::optional<int64_t> outbox_id;  // the send it was matched to
  std::string rule;                  // that send's rule
  bool suppressed = false;           // the address was added to the suppressions by this event
};

// What /metrics counts of the feedback recorded by every process (Store::CountFeedback).
struct FeedbackCounts {
  // The events in feedback_events by (source, type): ("dsn", "hard_bounce") -> n.
  std::map<std::pair<std::string, std::string>, int64_t> events;
  // Sends with a hard bounce, or a complaint, recorded for them, by (rule, "bounced" or
  // "complained"): each send once however many events name it. Never falls.
  std::map<std::pair<std::string, std::string>, int64_t> rule_sends;
  // The latest sends (sent, bounced or complained; newest sent_at first, at most the number
  // asked for), and how many of them are complained.
  int64_t recent_sends = 0;
  int64_t recent_complained = 0;
};

// Who delivers for a store (Store::OwnDelivery).
struct DeliveryOwner {
  bool ours = false;      // this connection holds delivery
  int64_t pid = 0;        // the holder's process id; 0 when it has not said yet
  bool one_pass = false;  // the holder is a run --once, which lets go when its pass ends
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens the store named by `url` (see OpenMode): "sqlite:PATH" or a plain PATH, or a PostgreSQL
  // database ("postgresql://USER@HOST/DB", "postgres://...", or a libpq key=value string such as
  // "host=/run/postgresql dbname=followup"; docs/store.md). kInvalidInput for an unknown scheme;
  // kRuntime when the database cannot be opened, is newer than this program, or a migration fails
  // (nothing is half-migrated).
  static Result<std::unique_ptr<Store>> Open(const std::string& url,
                                             OpenMode mode = OpenMode::kCreate);

  // The schema version after migrations (the number of migrations applied).
  virtual int SchemaVersion() const = 0;

  virtual Result<std::unique_ptr<ImportBatch>> BeginImport() = 0;

  virtual Result<StoreCounts> Counts() = 0;

  // Every customer, in store id order.
  virtual Result<void> ForEachCustomer(const std::function<void(const CustomerRow&)>& fn) = 0;

  // Every transaction that occurred at or before `until`, ordered by (customer_id, occurred_at,
  // id).
  Result<void> ForEachTransaction(Instant until,
                                  const std::function<void(const TransactionRow&)>& fn) {
    return ForEachTransactionOfCustomers(until, 0, INT64_MAX, fn);
  }
  // The same for the customers with first_customer <= customer_id < end_customer.
  virtual Result<void> ForEachTransactionOfCustomers(
      Instant until, int64_t first_customer, int64_t end_customer,
      const std::function<void(const TransactionRow&)>& fn) = 0;

  // Another connection to the same store, for another thread.
  virtual Result<std::unique_ptr<Store>> OpenAnother() = 0;

  // Files that are written whenever any program commits to the store (SQLite: the database and
  // its write-ahead log), so a watch on them notices other programs' commits at once. Empty when
  // the backend has none; the daemon then relies on its poll of the high-water mark alone.
  virtual std::vector<std::string> CommitSignalFiles() const { return {}; }

  // One customer's transactions that occurred at or before `until`, ordered by (occurred_at, id).
  virtual Result<void> ForEachTransactionOf(
      int64_t customer_id, Instant until, const std::function<void(const TransactionRow&)>& fn) = 0;

  // Transactions with from < occurred_at <= to, ordered by (occurred_at, id).
  virtual Result<void> ForEachRecentTransaction(
      Instant from, Instant to, const std::function<void(const RecentTransaction&)>& fn) = 0;

  // Records decisions in one store transaction; a dedupe key already recorded is left as it is.
  // Sends are kQueued, holdouts and controls kHeldOut. Returns how many were new.
  virtual Result<int64_t> RecordDecisions(std::span<const Decision> decisions) = 0;

  // Records decisions and sequence places in one store transaction: decisions as RecordDecisions
  // does, each place inserted or replaced by its (rule, customer, occurrence). Returns how many
  // decisions were new.
  virtual Result<int64_t> RecordSequenceSteps(std::span<const Decision> decisions,
                                              std::span<const SequencePlace> places) = 0;

  // Every sequence place still in flight, and those that ended after `ended_since`; by rule,
  // customer, occurrence.
  virtual Result<void> ForEachSequencePlace(
      Instant ended_since, const std::function<void(const SequencePlace&)>& fn) = 0;
  // One customer's places (explain), by rule and entry time.
  virtual Result<std::vector<SequencePlace>> SequencePlacesOf(int64_t customer_id) = 0;
  // How many places are in flight (not ended) in each sequence, by (rule, the step they wait
  // for): one grouped count (/metrics).
  virtual Result<std::map<std::pair<std::string, std::string>, int64_t>> SequenceStepCounts() = 0;
  // The purchases of the customers in `rule`'s sequence made after their entry and at most
  // `window` after their place's last step, with `offer_code` if it is not empty; by customer,
  // occurrence, then time. One row per place and purchase.
  virtual Result<void> ForEachSequencePurchase(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const SequencePurchase&)>& fn) = 0;

  // Decisions made after `since`, oldest first.
  virtual Result<void> ForEachDecisionSince(Instant since,
                                            const std::function<void(const Decision&)>& fn) = 0;

  // Delivery has one owner per store at a time (docs/delivery.md, one deliverer per store): the
  // process that holds it claims, sends and requeues; others only decide. Takes it for this
  // connection when it is free, until the store is closed or the process ends, however it ends
  // (SQLite: an flock on the file STORE.delivery.lock beside the database; PostgreSQL: a session
  // advisory lock). `one_pass` tells others that this holder lets go when its pass ends (run
  // --once). Calling it again while it is ours answers ours.
  virtual Result<DeliveryOwner> OwnDelivery(bool one_pass) = 0;

  // Puts every send left in "sending" (a crash between sending and sent) back to "queued": delivery
  // is at-least-once. Returns how many. Call once at start, with delivery ours (OwnDelivery),
  // before any ClaimDue: another owner's "sending" are on its wire.
  virtual Result<int64_t> RequeueInFlight() = 0;

  // Claims up to `limit` sends that are due at `now` (queued or deferred, send_after and
  // next_attempt_at passed), marking them "sending"; oldest decisions first.
  virtual Result<std::vector<OutboxItem>> ClaimDue(Instant now, int limit) = 0;

  // The sends ClaimDue(now, limit) would claim, without claiming them (nothing is written).
  virtual Result<std::vector<OutboxItem>> PeekDue(Instant now, int limit) = 0;
  // Claims those of `ids` that are still due at `now` (as ClaimDue does, in one transaction) and
  // returns the ids it claimed; the others (claimed meanwhile, or no longer due) are left alone.
  virtual Result<std::vector<int64_t>> ClaimIds(std::span<const int64_t> ids, Instant now) = 0;

  // Remembers the Message-IDs chosen for claimed sends (where none was set), before they go out,
  // so that a send killed mid-flight is retried as the same message.
  virtual Result<void> SetMessageIds(std::span<const std::pair<int64_t, std::string>> ids) = 0;

  // Records delivery outcomes (and hard-bounce suppressions) in one store transaction.
  virtual Result<void> RecordDeliveries(std::span<const DeliveryUpdate> updates, Instant now) = 0;

  // The send log, newest first.
  virtual Result<void> ForEachLogEntry(const LogFilter& filter,
                                       const std::function<void(const LogEntry&)>& fn) = 0;

  // Every decision of `rule` with what its recipient bought in (decided_at, decided_at + window],
  // counting only purchases with `offer_code` when it is not empty.
  virtual Result<void> ForEachDecisionOutcome(
      const std::string& rule, std::chrono::seconds window, const std::string& offer_code,
      const std::function<void(const DecisionOutcome&)>& fn) = 0;

  // The highest transaction row id (0 when there are none): the watcher's high-water mark.
  virtual Result<int64_t> MaxTransactionId() = 0;
  // Transactions with a row id above `after_id`, in id order, with the first-purchase flag.
  virtual Result<void> ForEachTransactionAfter(
      int64_t after_id, const std::function<void(const RecentTransaction&)>& fn) = 0;

  // Marks the customer unsubscribed at `at` (kept if already earlier). Returns false when there is
  // no such customer. Idempotent.
  virtual Result<bool> Unsubscribe(std::string_view external_id, Instant at) = 0;

  // Small named values for the daemon (reload outcome, cursors). Get: "" when unset.
  virtual Result<std::string> GetMeta(std::string_view key) = 0;
  virtual Result<void> SetMeta(std::string_view key, std::string_view value) = 0;

  // How many outbox rows there are in each status.
  virtual Result<std::map<DeliveryStatus, int64_t>> OutboxStatusCounts() = 0;

  // Every suppressed address (hard bounces, complaints, the operator's), lower-cased.
  virtual Result<std::vector<std::string>> Suppressions() = 0;

  // Lifts a customer's unsubscribe (they asked to hear from the business again). Returns false
  // when there is no such customer. Idempotent.
  virtual Result<bool> Resubscribe(std::string_view external_id) = 0;
  // Suppresses `email` (lower-cased) for `reason` from `at`. Returns false when it already was
  // (its first reason and time are kept).
  virtual Result<bool> AddSuppression(std::string_view email, std::string_view reason,
                                      Instant at) = 0;
  // Lifts the suppression of `email` (any case). Returns false when it was not suppressed.
  virtual Result<bool> RemoveSuppression(std::string_view email) = 0;
  // Every suppression with its reason and time, by address.
  virtual Result<std::vector<Suppression>> ListSuppressions() = 0;

  // Records bounces and complaints that came back after the send and applies them, all in one
  // store transaction, each event_id once (docs/feedback.md, "What the daemon does"). Each event is
  // matched to its send: the verified VERP outbox id, else a send whose message_id (or
  // provider_message_id) it names; a match whose recipient differs from the event's is no match.
  // An untrusted event (a mail report) without a match is kUnmatched and changes nothing.
  //   hard bounce:  the address suppressed ("hard bounce (SOURCE): STATUS REASON"); the send
  //                 `bounced`
  //   soft bounce:  counted; the address suppressed once `policy.soft_bounce_limit` soft bounces
  //                 occurred within `policy.soft_bounce_window` before this one
  //   complaint:    suppressed, the send's recipient (else every customer with that address)
  //                 unsubscribed, the send `complained`
  //   unsubscribe:  the send's recipient (else every customer with that address) unsubscribed
  // A send is marked only from `sent` (or `bounced`, for a complaint); its last_reply becomes the
  // event's reason. One result per event, in order.
  virtual Result<std::vector<FeedbackResult>> RecordFeedback(std::span<const FeedbackEvent> events,
                                                             const FeedbackPolicy& policy,
                                                             Instant now) = 0;

  // The feedback counts above, from every process's events; `last_sends` is how many of the
  // latest sends the complaint rate looks at.
  virtual Result<FeedbackCounts> CountFeedback(int64_t last_sends) = 0;

  // Applies `action` to the sends `which` selects (its since and limit aside) whose status it
  // applies to (QueueActionFrom), in one transaction; a cancel keeps `reason` as the reply.
  // Sends being sent are never touched. Returns how many changed.
  virtual Result<int64_t> ChangeQueue(QueueAction action, const LogFilter& which,
                                      std::string_view reason, Instant now) = 0;
  // Cancels every queued, deferred or held send of the `rules` (removed or disabled ones), with
  // `reason` as the reply. Returns how many, by rule.
  virtual Result<std::map<std::string, int64_t>> CancelSendsOfRules(
      std::span<const std::string> rules, std::string_view reason, Instant now) = 0;

  // Every row of `table`, in its order_by order; the first error `fn` returns ends the reading and
  // is returned.
  virtual Result<void> ForEachRowOf(const StoreTable& table,
                                    const std::function<Result<void>(const RowValues&)>& fn) = 0;
  // Begins writing whole tables (for copy-store, into an empty store): rows keep their ids.
  virtual Result<std::unique_ptr<RowWriter>> BeginRowWriter() = 0;

  // The customer with that external id, if any.
  virtual Result<std::optional<CustomerRow>> FindCustomer(std::string_view external_id) = 0;
  // The customer with that store id, if any.
  virtual Result<std::optional<CustomerRow>> FindCustomerById(int64_t id) = 0;
  // The customers with these store ids, in one query: one entry per id, in the order given
  // (nullopt where there is no such customer; an id given twice is answered twice).
  virtual Result<std::vector<std::optional<CustomerRow>>> FindCustomersById(
      std::span<const int64_t> ids) = 0;
};

// The suppression of `email` (any case), if there is one. kRuntime when the store fails.
Result<std::optional<Suppression>> FindSuppression(Store& store, std::string_view email);

}  // namespace followup::store
