// What `run` needs beyond what the config file's reading checks (config/config.h), checked without
// creating or changing anything, so that `check` passes only what `run` accepts and `run` refuses
// a bad config before it starts (exit 1) rather than failing on it later.
#pragma once

#include <vector>

#include "app/settings.h"
#include "base/error.h"
#include "config/config.h"

namespace followup::app {

// Every problem, each at its key in the config file (FILE:LINE:COL): the sender and reply-to
// addresses (delivery.from, delivery.reply_to), and the credentials file
// (delivery.credentials_file) readable, holding user:password for SMTP.
std::vector<Error> CheckRunnable(const Config& config, const Settings& settings);

}  // namespace followup::app
