// pg_test_server start|stop STATE_FILE: the ctest fixture that runs one PostgreSQL server for the
// whole test run (tests/support/pg_server.h). `start` starts it in a temporary folder and writes
// that folder into STATE_FILE; `stop` stops it and removes the folder and STATE_FILE. Without the
// PostgreSQL binaries `start` succeeds and writes nothing (the tests then skip), unless
// FOLLOWUP_REQUIRE_PG=1.
#include <cstdio>
#include <fstream>
#include <string>

#include "support/pg_server.h"

int main(int argc, char** argv) {
  using followup::testing::PgServer;
  if (argc != 3) {
    std::fprintf(stderr, "usage: pg_test_server start|stop STATE_FILE\n");
    return 2;
  }
  const std::string command = argv[1], state = argv[2];
  // Whatever an interrupted run left behind goes first.
  std::string old_dir;
  std::getline(std::ifstream(state), old_dir);
  if (!old_dir.empty()) PgServer::Attach(old_dir);  // stopped and removed when it dies
  std::remove(state.c_str());
  if (command == "stop") return 0;
  if (command != "start") {
    std::fprintf(stderr, "pg_test_server: unknown command %s\n", command.c_str());
    return 2;
  }
  std::string why;
  auto server = PgServer::Start(&why);
  if (!server) {
    std::fprintf(stderr, "pg_test_server: %s\n", why.c_str());
    return followup::testing::PgRequired() ? 1 : 0;
  }
  std::ofstream(state) << server->dir() << "\n";
  server->Release();
  std::printf("pg_test_server: PostgreSQL running in %s\n", server->dir().c_str());
  return 0;
}
