#include "migration/journal.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/time_format.h"

namespace wscp::migration {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("wscp-journal-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  ~TempDir() { fs::remove_all(path); }
};

JournalEntry sample(std::string id, Phase phase = Phase::kCheckpoint) {
  JournalEntry e;
  e.checkpoint_id = std::move(id);
  e.workspace_id = "ws-1";
  e.phase = phase;
  e.step = Step::kDumping;
  e.node = "node-1";
  e.store = "s3://bucket/prefix";
  e.containers = {"dev", "db"};
  e.started = *parse_utc_rfc3339("2026-11-30T10:00:00Z");
  e.updated = *parse_utc_rfc3339("2026-11-30T10:00:05Z");
  e.note = "";
  return e;
}

}  // namespace

TEST_CASE("journal entries survive a round trip through their JSON form") {
  JournalEntry e = sample("20261130T100000Z-0a1b2c3d");
  auto back = parse_journal_entry(serialize(e));
  REQUIRE(back.ok());
  CHECK(back->checkpoint_id == e.checkpoint_id);
  CHECK(back->phase == Phase::kCheckpoint);
  CHECK(back->step == Step::kDumping);
  CHECK(back->containers == e.containers);
  CHECK(back->started == e.started);
  CHECK(back->updated == e.updated);
}

TEST_CASE("journal entries that are damaged are refused, naming what is wrong") {
  const std::string good = serialize(sample("c1"));
  struct Case {
    std::string from, to, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"\"version\": 1", "\"version\": 2", "unsupported version"},
           {"\"step\": \"dumping\"", "\"step\": \"dancing\"", "unknown step 'dancing'"},
           {"\"phase\": \"checkpoint\"", "\"phase\": 3", "'phase' is missing or not a string"},
           {"\"checkpointId\": \"c1\"", "\"checkpointId\": \"../etc\"", "is not a checkpoint id"},
           {"\"started\": \"2026-11-30T10:00:00Z\"", "\"started\": \"yesterday\"", "'started' is not a UTC time"},
           {"\"dev\"", "7", "'containers' holds a non-string"},
       }) {
    std::string text = good;
    REQUIRE(text.find(c.from) != std::string::npos);
    text.replace(text.find(c.from), c.from.size(), c.to);
    auto parsed = parse_journal_entry(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code() == ErrorCode::kIntegrity);
    CHECK_MESSAGE(parsed.error().message().find(c.expect) != std::string::npos, parsed.error().message());
  }
  CHECK_FALSE(parse_journal_entry("{not json").ok());
}

TEST_CASE("a directory journal records, finds, lists pending entries and finishes them") {
  TempDir dir;
  auto journal = DirectoryJournal::open(dir.path);
  REQUIRE(journal.ok());
  struct stat st{};
  REQUIRE(::stat(dir.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  JournalEntry later = sample("c2", Phase::kRestore);
  later.started = *parse_utc_rfc3339("2026-11-30T11:00:00Z");
  REQUIRE((*journal)->record(later).ok());
  REQUIRE((*journal)->record(sample("c1")).ok());
  JournalEntry sealed = sample("c1");
  sealed.step = Step::kSealed;
  REQUIRE((*journal)->record(sealed).ok());  // replaces the earlier step

  auto found = (*journal)->find("ws-1", "c1", Phase::kCheckpoint);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->step == Step::kSealed);
  auto none = (*journal)->find("ws-1", "c1", Phase::kRestore);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  const fs::path file = dir.path / "ws-1~c1.checkpoint.json";
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto pending = (*journal)->pending();
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 2);
  CHECK((*pending)[0].checkpoint_id == "c1");  // oldest first
  CHECK((*pending)[1].checkpoint_id == "c2");

  REQUIRE((*journal)->finish("ws-1", "c1", Phase::kCheckpoint).ok());
  REQUIRE((*journal)->finish("ws-1", "c1", Phase::kCheckpoint).ok());  // twice is fine
  pending = (*journal)->pending();
  REQUIRE(pending.ok());
  CHECK(pending->size() == 1);
}

TEST_CASE("workspaces that share a checkpoint id keep their own entries; first-version entries are still found") {
  TempDir dir;
  auto journal = DirectoryJournal::open(dir.path);
  REQUIRE(journal.ok());
  JournalEntry a = sample("notice-aws-1");
  JournalEntry b = sample("notice-aws-1");
  b.workspace_id = "ws-2";
  b.step = Step::kSealed;
  REQUIRE((*journal)->record(a).ok());
  REQUIRE((*journal)->record(b).ok());
  CHECK((*journal)->find("ws-1", "notice-aws-1", Phase::kCheckpoint)->value().step == Step::kDumping);
  CHECK((*journal)->find("ws-2", "notice-aws-1", Phase::kCheckpoint)->value().step == Step::kSealed);
  CHECK((*journal)->pending()->size() == 2);
  REQUIRE((*journal)->finish("ws-1", "notice-aws-1", Phase::kCheckpoint).ok());
  CHECK_FALSE((*journal)->find("ws-1", "notice-aws-1", Phase::kCheckpoint)->has_value());
  CHECK((*journal)->find("ws-2", "notice-aws-1", Phase::kCheckpoint)->has_value());

  // An entry under the first version's name, <checkpoint>.<phase>.json.
  JournalEntry old = sample("c-old", Phase::kRestore);
  old.workspace_id = "ws-3";
  std::ofstream(dir.path / "c-old.restore.json") << serialize(old);
  CHECK_FALSE((*journal)->find("ws-1", "c-old", Phase::kRestore)->has_value());  // another workspace's
  CHECK((*journal)->find("ws-3", "c-old", Phase::kRestore)->value().workspace_id == "ws-3");
  CHECK((*journal)->pending()->size() == 2);
  REQUIRE((*journal)->finish("ws-1", "c-old", Phase::kRestore).ok());
  CHECK(fs::exists(dir.path / "c-old.restore.json"));  // not ws-1's to finish
  REQUIRE((*journal)->finish("ws-3", "c-old", Phase::kRestore).ok());
  CHECK_FALSE(fs::exists(dir.path / "c-old.restore.json"));
}

TEST_CASE("a directory journal reports an unreadable entry instead of skipping it") {
  TempDir dir;
  auto journal = DirectoryJournal::open(dir.path);
  REQUIRE(journal.ok());
  std::ofstream(dir.path / "c9.checkpoint.json") << "{\"version\": 1";
  std::ofstream(dir.path / "c8.checkpoint.json.tmp") << "half";  // an unfinished write is ignored
  auto pending = (*journal)->pending();
  REQUIRE_FALSE(pending.ok());
  CHECK(pending.error().message().find("c9.checkpoint.json") != std::string::npos);
}

TEST_CASE("a directory journal is one process's at a time, until that one ends") {
  TempDir dir;
  auto first = DirectoryJournal::open(dir.path);
  REQUIRE(first.ok());
  auto second = DirectoryJournal::open(dir.path);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kConflict);
  CHECK(second.error().message().find(dir.path.string()) != std::string::npos);
  // Another process is refused too.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto theirs = DirectoryJournal::open(dir.path);
    ::_exit(!theirs.ok() && theirs.error().code() == ErrorCode::kConflict ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  first->reset();  // closed: free again
  CHECK(DirectoryJournal::open(dir.path).ok());
}

TEST_CASE("a directory journal refuses ids that are not plain names") {
  TempDir dir;
  auto journal = DirectoryJournal::open(dir.path);
  REQUIRE(journal.ok());
  CHECK((*journal)->record(sample("../../etc/passwd")).error().code() == ErrorCode::kInvalidArgument);
  CHECK((*journal)->find("ws-1", "a/b", Phase::kRestore).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("a journal entry as version 1 wrote it is still read after an upgrade") {
  // Bytes as the first agent that journaled wrote them (serialize() of
  // version 1); a later format must keep reading these.
  const char* v1 = R"({
  "checkpointId": "c-20261201-1",
  "containers": [
    "dev",
    "db"
  ],
  "node": "node-1",
  "note": "dumping dev",
  "phase": "checkpoint",
  "started": "2026-12-01T08:00:00Z",
  "step": "dumping",
  "store": "s3://wscp/cluster-a",
  "updated": "2026-12-01T08:00:05Z",
  "version": 1,
  "workspaceId": "ws-7"
}
)";
  auto e = parse_journal_entry(v1);
  REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.error().message()));
  CHECK(e->checkpoint_id == "c-20261201-1");
  CHECK(e->workspace_id == "ws-7");
  CHECK(e->phase == Phase::kCheckpoint);
  CHECK(e->step == Step::kDumping);
  CHECK(e->containers == std::vector<std::string>{"dev", "db"});
  CHECK(e->updated - e->started == std::chrono::seconds(5));
  CHECK(serialize(*e) == v1);  // and written back the same while the version stays 1
}

}  // namespace wscp::migration
