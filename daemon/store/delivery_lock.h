// The SQLite store's owner of delivery (Store::OwnDelivery): an flock(2) on STORE.delivery.lock
// beside the database, which the kernel drops when its holder closes it or ends, however it ends
// (kill -9 included), so a lock is never left behind. The file says who holds it: "PID run" or
// "PID once" (run --once). docs/delivery.md tells the rest.
#pragma once

#include <string>

#include "base/error.h"
#include "store/store.h"

namespace followup::store {

class DeliveryLockFile {
 public:
  // `database` is the store's file; ":memory:" has no other process to share it and is always ours.
  explicit DeliveryLockFile(const std::string& database);
  ~DeliveryLockFile();
  DeliveryLockFile(const DeliveryLockFile&) = delete;
  DeliveryLockFile& operator=(const DeliveryLockFile&) = delete;

  // Takes the lock when it is free (never waits); else says who holds it. kRuntime when the file
  // cannot be opened or locked.
  Result<DeliveryOwner> Take(bool one_pass);

 private:
  std::string path_;  // "" for an in-memory database
  int fd_ = -1;
  bool held_ = false;
  bool one_pass_ = false;
};

}  // namespace followup::store
