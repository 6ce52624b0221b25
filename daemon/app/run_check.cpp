#include "app/run_check.h"

#include <utility>

#include "console/access.h"
#include "delivery/mime.h"
#include "feedback/webhook.h"

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
  const FeedbackSettings& f = settings.feedback;
  if (!f.sendgrid_public_key.empty())
    if (std::string why = feedback::CheckSendGridKey(f.sendgrid_public_key); !why.empty())
      problem(ErrorCode::kInvalidInput, "public_key: " + why, "feedback.sendgrid.public_key");
  // The providers' secret files: readable and not empty; Postmark's user:password.
  for (auto [path, key] :
       {std::pair{&f.postmark_credentials_path, "feedback.postmark.credentials_file"},
        std::pair{&f.mailgun_signing_key_path, "feedback.mailgun.signing_key_file"},
        std::pair{&f.generic_secret_path, "feedback.generic.secret_file"}}) {
    if (path->empty()) continue;
    auto secret = ReadSecret(*path);
    if (!secret)
      problem(ErrorCode::kInvalidInput, secret.error().message, key);
    else if (path == &f.postmark_credentials_path && secret->find(':') == std::string::npos)
      problem(ErrorCode::kInvalidInput, "credentials in " + *path + ": expected user:password",
              key);
  }
  if (settings.service.console && !settings.service.console_credentials_path.empty())
    if (auto users = console::ReadCredentials(settings.service.console_credentials_path); !users)
      problem(ErrorCode::kInvalidInput, users.error().message, "service.console.credentials_file");
  return problems;
}

}  // namespace followup::app
