#include "migration/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "common/time_format.h"
#include "common/unique_fd.h"

namespace wscp::migration {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::pair<Phase, std::string_view>, 4> kPhases{{
    {Phase::kCheckpoint, "checkpoint"},
    {Phase::kRestore, "restore"},
    {Phase::kRelease, "release"},
    {Phase::kResume, "resume"},
}};
constexpr std::array<std::pair<Step, std::string_view>, 7> kSteps{{
    {Step::kPlanned, "planned"},
    {Step::kDumping, "dumping"},
    {Step::kSealed, "sealed"},
    {Step::kRestoring, "restoring"},
    {Step::kSettling, "settling"},
    {Step::kReleasing, "releasing"},
    {Step::kResuming, "resuming"},
}};
constexpr std::size_t kMaxEntrySize = 64 * 1024;
constexpr std::string_view kSuffix = ".json";

template <typename E, std::size_t N>
Result<E> lookup(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view text,
                 std::string_view what) {
  for (const auto& [value, name] : table) {
    if (name == text) return value;
  }
  return Error(ErrorCode::kInvalidArgument, "unknown " + std::string(what) + " '" + std::string(text) + "'");
}

Error io_error(const std::string& what, int err) {
  return Error(err == EACCES || err == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kUnavailable,
               what + ": " + std::strerror(err));
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot write journal entry " + path.string(), errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

Status sync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) return io_error("cannot sync journal directory " + dir.string(), errno);
  return Ok{};
}

// A checkpoint id becomes a file name: the store's name rules keep it plain.
Status check_id(std::string_view id) {
  const bool plain = !id.empty() && id.size() <= 128 && id.front() != '.' &&
                     std::all_of(id.begin(), id.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                     });
  if (!plain) return Error(ErrorCode::kInvalidArgument, "journal: '" + std::string(id) + "' is not a checkpoint id");
  return Ok{};
}

Result<std::string> read_small_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read journal entry " + path.string(), errno);
  std::string text(kMaxEntrySize + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxEntrySize) {
    return Error(ErrorCode::kIntegrity, "journal entry " + path.string() + " is larger than 64 KiB");
  }
  return text;
}

}  // namespace

std::string_view to_string(Phase phase) {
  for (const auto& [value, name] : kPhases) {
    if (value == phase) return name;
  }
  return "unknown";
}

std::string_view to_string(Step step) {
  for (const auto& [value, name] : kSteps) {
    if (value == step) return name;
  }
  return "unknown";
}

Result<Phase> parse_phase(std::string_view text) { return lookup(kPhases, text, "phase"); }
Result<Step> parse_step(std::string_view text) { return lookup(kSteps, text, "step"); }

std::string serialize(const JournalEntry& e) {
  nlohmann::json j{{"version", JournalEntry::kVersion},
                   {"checkpointId", e.checkpoint_id},
                   {"workspaceId", e.workspace_id},
                   {"phase", to_string(e.phase)},
                   {"step", to_string(e.step)},
                   {"node", e.node},
                   {"store", e.store},
                   {"containers", e.containers},
                   {"started", utc_rfc3339(e.started)},
                   {"updated", utc_rfc3339(e.updated)},
                   {"note", e.note}};
  return j.dump(2) + "\n";
}

Result<JournalEntry> parse_journal_entry(std::string_view text) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kIntegrity, "journal entry: " + why); };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return bad("not a JSON object");
  auto str = [&](const char* key) -> Result<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return bad(std::string("'") + key + "' is missing or not a string");
    return it->get<std::string>();
  };
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<int>() != JournalEntry::kVersion) {
    return bad("unsupported version (this agent reads version " + std::to_string(JournalEntry::kVersion) + ")");
  }
  JournalEntry e;
  for (auto [field, key] : {std::pair{&e.checkpoint_id, "checkpointId"}, std::pair{&e.workspace_id, "workspaceId"},
                            std::pair{&e.node, "node"}, std::pair{&e.store, "store"}, std::pair{&e.note, "note"}}) {
    auto v = str(key);
    if (!v) return v.error();
    *field = std::move(*v);
  }
  if (Status s = check_id(e.checkpoint_id); !s) return bad(s.error().message());
  auto phase = str("phase");
  if (!phase) return phase.error();
  auto parsed_phase = parse_phase(*phase);
  if (!parsed_phase) return bad(parsed_phase.error().message());
  e.phase = *parsed_phase;
  auto step = str("step");
  if (!step) return step.error();
  auto parsed_step = parse_step(*step);
  if (!parsed_step) return bad(parsed_step.error().message());
  e.step = *parsed_step;
  auto containers = j.find("containers");
  if (containers == j.end() || !containers->is_array()) return bad("'containers' is missing or not a list");
  for (const auto& c : *containers) {
    if (!c.is_string()) return bad("'containers' holds a non-string");
    e.containers.push_back(c.get<std::string>());
  }
  for (auto [field, key] : {std::pair{&e.started, "started"}, std::pair{&e.updated, "updated"}}) {
    auto v = str(key);
    if (!v) return v.error();
    auto t = parse_utc_rfc3339(*v);
    if (!t) return bad(std::string("'") + key + "' is not a UTC time");
    *field = *t;
  }
  return e;
}

Result<std::unique_ptr<DirectoryJournal>> DirectoryJournal::open(fs::path dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::kUnavailable, "cannot create journal directory " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return io_error("cannot restrict journal directory " + dir.string(), errno);
  const fs::path lock_path = dir / ".lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return io_error("cannot open journal lock " + lock_path.string(), errno);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return io_error("cannot lock journal " + dir.string(), errno);
    return Error(ErrorCode::kConflict,
                 "journal " + dir.string() + " is in use by another wscp-agent on this node (a running `serve`, or "
                 "another verb): two processes on one journal would undo each other's steps. Wait for it to end, "
                 "or send the work to the daemon's API (a daemon finishes what its journal holds when it starts)");
  }
  return std::unique_ptr<DirectoryJournal>(new DirectoryJournal(std::move(dir), std::move(lock)));
}

fs::path DirectoryJournal::path_of(std::string_view workspace_id, std::string_view checkpoint_id, Phase phase) const {
  return dir_ / (std::string(workspace_id) + "~" + std::string(checkpoint_id) + "." + std::string(to_string(phase)) +
                 std::string(kSuffix));
}

fs::path DirectoryJournal::legacy_path_of(std::string_view checkpoint_id, Phase phase) const {
  return dir_ / (std::string(checkpoint_id) + "." + std::string(to_string(phase)) + std::string(kSuffix));
}

Result<std::optional<JournalEntry>> DirectoryJournal::read_entry(const fs::path& path, std::string_view workspace_id) {
  if (!fs::exists(path)) return std::optional<JournalEntry>{};
  auto text = read_small_file(path);
  if (!text) return text.error();
  auto entry = parse_journal_entry(*text);
  if (!entry) return entry.error().wrap(path.string());
  if (entry->workspace_id != workspace_id) return std::optional<JournalEntry>{};
  return std::optional<JournalEntry>(std::move(*entry));
}

Status DirectoryJournal::record(const JournalEntry& entry) {
  if (Status s = check_id(entry.checkpoint_id); !s) return s;
  if (Status s = check_id(entry.workspace_id); !s) return s;
  const fs::path target = path_of(entry.workspace_id, entry.checkpoint_id, entry.phase);
  const fs::path temp = target.string() + ".tmp";
  {
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return io_error("cannot create journal entry " + temp.string(), errno);
    if (Status s = write_all(fd.get(), serialize(entry), temp); !s) return s;
    if (::fsync(fd.get()) != 0) return io_error("cannot sync journal entry " + temp.string(), errno);
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) return io_error("cannot commit journal entry " + target.string(), errno);
  return sync_dir(dir_);
}

Result<std::optional<JournalEntry>> DirectoryJournal::find(std::string_view workspace_id, std::string_view checkpoint_id,
                                                           Phase phase) {
  if (Status s = check_id(checkpoint_id); !s) return s.error();
  if (Status s = check_id(workspace_id); !s) return s.error();
  auto found = read_entry(path_of(workspace_id, checkpoint_id, phase), workspace_id);
  if (!found || found->has_value()) return found;
  return read_entry(legacy_path_of(checkpoint_id, phase), workspace_id);
}

Result<std::vector<JournalEntry>> DirectoryJournal::pending() {
  std::vector<JournalEntry> entries;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir_, ec)) {
    const std::string name = item.path().filename().string();
    if (!name.ends_with(kSuffix)) continue;  // temporaries of a write that never finished
    auto text = read_small_file(item.path());
    if (!text) return text.error();
    auto entry = parse_journal_entry(*text);
    if (!entry) return entry.error().wrap(item.path().string());
    entries.push_back(std::move(*entry));
  }
  if (ec) return Error(ErrorCode::kUnavailable, "cannot list journal directory " + dir_.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end(), [](const JournalEntry& a, const JournalEntry& b) {
    return std::tie(a.started, a.checkpoint_id) < std::tie(b.started, b.checkpoint_id);
  });
  return entries;
}

Status DirectoryJournal::finish(std::string_view workspace_id, std::string_view checkpoint_id, Phase phase) {
  if (Status s = check_id(checkpoint_id); !s) return s;
  if (Status s = check_id(workspace_id); !s) return s;
  const fs::path path = path_of(workspace_id, checkpoint_id, phase);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot remove journal entry " + path.string(), errno);
  // A first-version entry goes too, when it is this workspace's.
  const fs::path legacy = legacy_path_of(checkpoint_id, phase);
  if (auto old = read_entry(legacy, workspace_id); old && old->has_value()) {
    if (::unlink(legacy.c_str()) != 0 && errno != ENOENT)
      return io_error("cannot remove journal entry " + legacy.string(), errno);
  }
  return sync_dir(dir_);
}

}  // namespace wscp::migration
