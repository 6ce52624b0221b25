#include "app/run_check.h"

#include "delivery/mime.h"

namespace followup::app {

std::vector<Error> CheckRunnable(const Config& config, const Settings& settings) {
  std::vector<Error> problems;
  auto problem = [&](ErrorCode code, const std::string& message, const char* key) {
    problems.push_back(Error{code, message, config.Where(key)});
  };
  const DeliverySettings& d = settings.delivery;
  if (auto from = delivery::ParseAddress(d.from); !from)
    problem(ErrorCode::kInvalidInput, "from: " + from.error().message, "delivery.from");
  if (!d.reply_to.empty())
    if (auto reply = delivery::ParseAddress(d.reply_to); !reply)
      problem(ErrorCode::kInvalidInput, "reply_to: " + reply.error().message, "delivery.reply_to");
  if (auto transport = LoadTransportOptions(d); !transport)
    problem(ErrorCode::kInvalidInput, transport.error().message, "delivery.credentials_file");
  return problems;
}

}  // namespace followup::app
