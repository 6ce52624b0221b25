// A small program for log_test.cpp: sets up logging as followupd does, then logs a known series of
// lines, some of them under LogFields, at several levels. With a number N as its argument it also
// logs one line of N characters.
#include <spdlog/spdlog.h>

#include <string>
#include <thread>

#include "service/log.h"

int main(int argc, char** argv) {
  using followup::service::LogFields;
  followup::service::SetUpLogging();
  spdlog::info("plain");
  {
    LogFields outer{{"RULE", "lapsed-winback"}, {"customer", "c000123"}};
    spdlog::info("decided");
    {
      LogFields inner{{"EMAIL_MESSAGE_ID", "<m1@example.com>"}, {"RULE", "inner-rule"}};
      spdlog::info("sent to {}", followup::service::MaskEmail("ann.lee@example.com"));
      std::thread([] { spdlog::info("other thread"); }).join();
    }
    spdlog::warn("after inner");
  }
  spdlog::debug("debug line");
  spdlog::error("two\nlines");
  if (argc > 1) spdlog::info(std::string(std::stoul(argv[1]), 'x'));
  spdlog::critical("last");
  return 0;
}
