// cg_loadgen: N simulated agents against one running cg-soc (issue 17), driven by
// tests/bench/load_bench.sh over stdin/stdout.
//
// Each agent is enrolled through the real POST /v1/enroll route with its own P-256 key and the
// certificate the SOC issued for it, then lives on ONE mutual-TLS connection of its own from a
// source address among 127.0.0.1-127.0.0.250 (like PCs behind many addresses, within the
// SOC's per-address cap): it sends its spool (POST /v1/reports/batch, at most 50 reports a
// batch, like cg-agent's sender), then holds a long-poll (GET /v1/poll) as cg-agent's poller
// does, with its back-off after a failure (2 s doubling to 300 s, x0.5-1.5 jitter) and the
// SOC's Retry-After. A pushed policy set is verified with the agent's acceptance rules
// (Ed25519 signature, version, target: once per version, every agent compares its copy) and
// confirmed with a report. cg-agent sends its reports on a second connection; the simulated
// agent sends them on its long-poll connection between polls, so that 10,000 agents fit in
// this process's descriptors: the SOC sees the same requests.
//
// All connections run on one Asio thread; enrollment and the operator's push use blocking
// clients on their own threads. Commands (one a line on stdin) and answers (one JSON line on
// stdout, prefixed with a word) are listed in Command() below.
#include <openssl/ssl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "policy/signing.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"
#include "protocol/report.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/loadgen_http.h"

namespace {

namespace asio = boost::asio;
using nlohmann::json;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;
using cg::bench::Die;
using cg::bench::Must;
using cg::bench::loadgen::Answer;
using cg::bench::loadgen::Stream;
using std::chrono::milliseconds;

struct Options {
  std::string server;  // agent port host:port
  std::string operator_server;
  std::string ca;
  std::string token;
  std::string admin_token_file;
  std::string signing_key;  // PREFIX.key, PREFIX.pub beside it
  int agents = 100;
  int enroll_threads = 4;
  int connect_parallel = 256;
  int source_addresses = 250;
  int checks = 6;
};

struct Agent {
  std::string device_id;
  std::string group;
  cg::protocol::Certificate cert;
  cg::protocol::PrivateKey key;
  int64_t version = 0;  // the policy set it runs (0: the built-in policy)
  std::string hash;
  std::deque<std::pair<std::string, std::string>> spool;  // report_id, JSON
  milliseconds poll_backoff{0};
  int send_attempt = 0;
  uint64_t generation = 0;  // of the connection it is on
  bool back = false;
  bool delivered = false;  // the pushed version reached it
};

// Counters printed with every answer.
struct Stats {
  int64_t created = 0, committed = 0, duplicates = 0, rejected = 0;
  int64_t connect_failures = 0, handshake_failures = 0, broken_exchanges = 0;
  std::map<std::string, int64_t> answers;  // "report 503", "poll 429", ... (not 200)
  int64_t retry_after_missing = 0;         // a 503/429 without Retry-After
  int polls_held = 0;
  json ToJson() const {
    return {{"created", created},
            {"committed", committed},
            {"duplicates", duplicates},
            {"rejected", rejected},
            {"lost", created - committed - rejected},
            {"connect_failures", connect_failures},
            {"handshake_failures", handshake_failures},
            {"broken_exchanges", broken_exchanges},
            {"answers", answers},
            {"retry_after_missing", retry_after_missing},
            {"polls_held", polls_held}};
  }
};

double Since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

void Say(const std::string& word, const json& body) {
  std::printf("%s %s\n", word.c_str(), body.dump().c_str());
  std::fflush(stdout);
}

class LoadGen {
 public:
  LoadGen(Options o, asio::io_context& io)
      : o_(std::move(o)), io_(io), ssl_(asio::ssl::context::tls_client), input_(io, ::dup(0)) {
    auto hp = Must(cg::protocol::ParseHostPort(o_.server), "server");
    target_ = tcp::endpoint(
        asio::ip::make_address(hp.first == "localhost" ? "127.0.0.1" : hp.first), hp.second);
    loopback_ = target_.address().is_loopback();
    ssl_.set_verify_mode(asio::ssl::verify_peer);
    ssl_.load_verify_file(o_.ca);
    SSL_CTX_set_min_proto_version(ssl_.native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_mode(ssl_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    const std::string prefix = o_.signing_key.substr(0, o_.signing_key.size() - 4);
    keys_ = Must(cg::policy::ParseTrustedKeys(
                     {Must(cg::ReadFileToString(prefix + ".pub", 64 << 10), "public key")}),
                 "trusted keys");
    builtin_hash_ = cg::policy::PolicyHash(cg::policy::DefaultPolicy());
  }

  void Enroll();
  void Start() {
    started_ = Steady::now();
    asio::co_spawn(io_, Launch(), asio::detached);
    asio::co_spawn(io_, ReadCommands(), asio::detached);
  }

 private:
  asio::awaitable<void> Launch();
  asio::awaitable<void> Live(size_t index);
  asio::awaitable<bool> Connect(Agent& a, std::unique_ptr<Stream>& s, size_t index);
  asio::awaitable<bool> SendSpool(Agent& a, Stream& s);
  asio::awaitable<bool> PollOnce(Agent& a, Stream& s);
  asio::awaitable<void> Sleep(milliseconds d) {
    asio::steady_timer t(io_, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  asio::awaitable<void> ReadCommands();
  asio::awaitable<void> WaitFor(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto until = Steady::now() + limit;
    while (!done() && Steady::now() < until) {
      co_await Sleep(milliseconds(5));
    }
  }
  void Queue(Agent& a, bool confirming);
  void Push(int64_t version);
  void Delivered(Agent& a);
  void CountAnswer(const char* route, const Answer& r) {
    ++stats_.answers[std::string(route) + " " + std::to_string(r.status)];
    if ((r.status == 503 || r.status == 429) && r.retry_after < 0) {
      ++stats_.retry_after_missing;
    }
  }
  milliseconds Jitter(milliseconds base) {
    std::uniform_real_distribution<double> d(0.5, 1.5);
    return milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * d(rng_)));
  }

  Options o_;
  asio::io_context& io_;
  asio::ssl::context ssl_;
  asio::posix::stream_descriptor input_;
  tcp::endpoint target_;
  bool loopback_ = false;
  cg::policy::TrustedKeys keys_;
  std::string builtin_hash_;
  std::vector<Agent> agents_;
  Stats stats_;
  std::mt19937_64 rng_{12345};
  Steady::time_point started_;
  int connecting_ = 0;
  int connected_once_ = 0;
  uint64_t generation_ = 0;
  int back_ = 0;
  std::map<int64_t, std::string> verified_;  // version -> canonical envelope text verified
  // The push being measured (written by the io thread only).
  int64_t push_version_ = 0;
  Steady::time_point push_start_;
  int delivered_ = 0;
  double t95_ = -1, t100_ = -1;
  std::thread pusher_;
  std::atomic<double> push_request_s_{-1};
  std::atomic<int> push_status_{0};
};

void LoadGen::Enroll() {
  agents_.resize(static_cast<size_t>(o_.agents));
  std::atomic<size_t> next{0};
  const auto start = Steady::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o_.enroll_threads; ++t) {
    threads.emplace_back([&] {
      auto client = cg::bench::Connect(o_.server, o_.ca, std::chrono::seconds(120));
      for (size_t i = next++; i < agents_.size(); i = next++) {
        const std::string name = "load-" + std::to_string(i);
        auto key = Must(cg::protocol::GenerateP256Key(), "key");
        const json body = {{"token", o_.token},
                           {"csr_pem", Must(cg::protocol::MakeCsrPem(*key, name), "csr")},
                           {"hostname", name},
                           {"machine_id", "machine-" + name}};
        auto r = Must(client->Request("POST", "/v1/enroll", body.dump()), "enroll");
        if (r.status != 200) {
          Die("enroll answered " + std::to_string(r.status) + ": " + r.body);
        }
        const json answer = json::parse(r.body);
        Agent& a = agents_[i];
        a.device_id = answer.at("device_id").get<std::string>();
        a.group = answer.at("group").get<std::string>();
        a.cert =
            Must(cg::protocol::CertificateFromPem(answer.at("certificate_pem").get<std::string>()),
                 "certificate");
        a.key = std::move(key);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  Say("ENROLLED", {{"agents", o_.agents}, {"seconds", Since(start)}});
}

// A report as cg-agent sends it: `checks` results with facts, one in five failing.
void LoadGen::Queue(Agent& a, bool confirming) {
  static const char* kIds[] = {"antivirus",      "yara",        "os_license",
                               "office_license", "screen_lock", "password_age"};
  cg::protocol::Report r;
  r.report_id = cg::NewUuid();
  r.device_id = a.device_id;
  r.hostname = "pc-" + a.device_id.substr(0, 8);
  r.os = {"Microsoft Windows 10 Pro", "10.0.19045", "19045", "x86_64"};
  r.agent_version = "0.1.0";
  r.collected_at = cg::FormatRfc3339(std::chrono::system_clock::now());
  r.policy_version = a.version;
  r.policy_hash = a.version == 0 ? builtin_hash_ : a.hash;
  for (int i = 0; i < o_.checks; ++i) {
    cg::protocol::CheckResult c;
    c.id = std::string(kIds[i % 6]) + (i < 6 ? "" : "_" + std::to_string(i));
    c.status = i % 5 == 0 ? cg::protocol::CheckStatus::kFail : cg::protocol::CheckStatus::kPass;
    c.severity = cg::protocol::Severity::kMedium;
    c.summary = "summary of check " + c.id;
    c.facts = {{"value", i}, {"detail", "some fact text for the check"}};
    r.checks.push_back(std::move(c));
  }
  if (confirming) {
    r.events.push_back({"policy_applied", r.collected_at, {{"version", a.version}}});
  }
  a.spool.emplace_back(r.report_id, cg::protocol::ToJson(r).dump());
  ++stats_.created;
}

asio::awaitable<void> LoadGen::Launch() {
  for (size_t i = 0; i < agents_.size(); ++i) {
    while (connecting_ >= o_.connect_parallel) {
      co_await Sleep(milliseconds(2));
    }
    Queue(agents_[i], false);  // the report of its first cycle
    asio::co_spawn(io_, Live(i), asio::detached);
    co_await asio::post(io_, asio::use_awaitable);
  }
  // Ready: every agent connected once, its first report stored and its long-poll held.
  co_await WaitFor(
      [&] {
        return stats_.polls_held == o_.agents &&
               stats_.committed + stats_.rejected == stats_.created;
      },
      std::chrono::seconds(900));
  json j = stats_.ToJson();
  j["seconds"] = Since(started_);
  Say("READY", j);
}

asio::awaitable<bool> LoadGen::Connect(Agent& a, std::unique_ptr<Stream>& s, size_t index) {
  ++connecting_;
  s = std::make_unique<Stream>(io_, ssl_);
  auto& sock = s->tls.next_layer();
  boost::system::error_code ec;
  sock.open(tcp::v4(), ec);
  if (!ec && loopback_ && o_.source_addresses > 1) {
    const auto host = static_cast<uint32_t>(1 + index % static_cast<size_t>(o_.source_addresses));
    sock.bind(tcp::endpoint(asio::ip::address_v4((127u << 24) | host), 0), ec);
  }
  bool ok = false;
  if (!ec) {
    std::tie(ec) = co_await s->Run(sock.async_connect(target_, asio::as_tuple(asio::use_awaitable)),
                                   std::chrono::seconds(30));
  }
  if (ec) {
    ++stats_.connect_failures;
  } else {
    SSL* ssl = s->tls.native_handle();
    SSL_use_certificate(ssl, a.cert.get());
    SSL_use_PrivateKey(ssl, a.key.get());
    static char kHost[] = "localhost";
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kHost);
    s->tls.set_verify_callback(asio::ssl::host_name_verification("localhost"));
    std::tie(ec) = co_await s->Run(
        s->tls.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable)),
        std::chrono::seconds(30));
    if (ec) {
      ++stats_.handshake_failures;
    } else {
      ok = true;
    }
  }
  --connecting_;
  co_return ok;
}

// Sends the spool in batches of at most 50; false: start again on a new connection after the
// wait it set. Mirrors cg-agent's sender: committed and rejected entries leave the spool,
// "error" entries (the SOC's trouble) stay; 503/429 wait Retry-After (+10 % jitter).
asio::awaitable<bool> LoadGen::SendSpool(Agent& a, Stream& s) {
  while (!a.spool.empty()) {
    const size_t n = std::min<size_t>(50, a.spool.size());
    std::string body = "{\"reports\":[";
    for (size_t i = 0; i < n; ++i) {
      body += (i ? "," : "") + a.spool[i].second;
    }
    body += "]}";
    Answer r = co_await s.Exchange("POST", "/v1/reports/batch", body, std::chrono::seconds(60));
    if (!r.ok) {
      ++stats_.broken_exchanges;
      ++a.send_attempt;
      co_await Sleep(milliseconds(std::uniform_int_distribution<int64_t>(
          0, std::min<int64_t>(1000LL << std::min(a.send_attempt - 1, 6), 60000))(rng_)));
      co_return false;
    }
    if (r.status != 200) {
      CountAnswer("report", r);
      ++a.send_attempt;
      const int64_t base = r.retry_after >= 0 ? r.retry_after * 1000 : 1000;
      co_await Sleep(milliseconds(
          base + std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(base / 10, 1))(rng_)));
      if (r.close) {
        co_return false;
      }
      continue;
    }
    a.send_attempt = 0;
    const json answer = json::parse(r.body, nullptr, false);
    const json* results =
        answer.is_object() && answer.contains("results") ? &answer["results"] : nullptr;
    if (results == nullptr || !results->is_array() || results->size() != n) {
      Die("the SOC's batch answer is not understood: " + r.body.substr(0, 300));
    }
    std::deque<std::pair<std::string, std::string>> kept;
    for (size_t i = 0; i < n; ++i) {
      const json& e = (*results)[i];
      if (e.value("report_id", "") != a.spool[i].first) {
        Die("the SOC's batch answer is out of order");
      }
      const std::string status = e.value("status", "");
      if (status == "committed") {
        ++stats_.committed;
        stats_.duplicates += e.value("duplicate", false) ? 1 : 0;
      } else if (status == "rejected") {
        ++stats_.rejected;
        std::fprintf(stderr, "cg_loadgen: report rejected: %s\n", e.dump().c_str());
      } else {
        ++stats_.answers["report entry " + std::to_string(e.value("http_status", 0))];
        kept.push_back(std::move(a.spool[i]));
      }
    }
    a.spool.erase(a.spool.begin(), a.spool.begin() + static_cast<std::ptrdiff_t>(n));
    a.spool.insert(a.spool.begin(), kept.begin(), kept.end());
    if (!kept.empty()) {
      co_await Sleep(milliseconds(1000));
    }
  }
  co_return true;
}

void LoadGen::Delivered(Agent& a) {
  if (push_version_ == 0 || a.version != push_version_ || a.delivered) {
    return;
  }
  a.delivered = true;
  ++delivered_;
  const double t = Since(push_start_);
  if (t95_ < 0 && delivered_ * 100 >= 95 * o_.agents) {
    t95_ = t;
  }
  if (delivered_ == o_.agents) {
    t100_ = t;
  }
}

// One long-poll; false: a new connection after the wait it set (cg-agent's poller rules).
asio::awaitable<bool> LoadGen::PollOnce(Agent& a, Stream& s) {
  const std::string target = "/v1/poll?policy_version=" + std::to_string(a.version) +
                             (a.hash.empty() ? "" : "&policy_hash=" + a.hash);
  if (!a.back && a.generation == generation_ && generation_ > 0) {
    a.back = true;
    ++back_;
  }
  ++stats_.polls_held;
  Answer r = co_await s.Exchange("GET", target, "", std::chrono::seconds(120));
  --stats_.polls_held;
  auto failed = [&](milliseconds at_least) {
    a.poll_backoff = std::clamp(std::max(a.poll_backoff * 2, at_least), milliseconds(2000),
                                milliseconds(300000));
    return Jitter(a.poll_backoff);
  };
  if (!r.ok) {
    ++stats_.broken_exchanges;
    co_await Sleep(failed(milliseconds(2000)));
    co_return false;
  }
  if (r.status != 200) {
    CountAnswer("poll", r);
    milliseconds at_least =
        r.status == 401 || r.status == 403 ? milliseconds(60000) : milliseconds(2000);
    at_least = std::max(at_least, milliseconds(std::max<int64_t>(r.retry_after, 0) * 1000));
    co_await Sleep(failed(at_least));
    co_return false;
  }
  a.poll_backoff = milliseconds(0);
  const json answer = json::parse(r.body, nullptr, false);
  if (!answer.is_object() || answer.value("status", "") != "update" ||
      !answer["policy_set"].is_object()) {
    co_return true;
  }
  const json& set = answer["policy_set"];
  const int64_t version = set.value("version", int64_t{0});
  const json& layers = set["layers"];
  if (!layers.is_array() || layers.size() != 1) {
    Die("expected one policy layer in the answer: " + r.body.substr(0, 300));
  }
  const std::string envelope = layers[0]["envelope"].dump();
  auto known = verified_.find(version);
  if (known == verified_.end()) {
    cg::policy::AcceptanceContext ctx;
    ctx.trusted = &keys_;
    ctx.current_version = a.version;
    ctx.group = a.group;
    ctx.now = std::chrono::system_clock::now();
    auto verdict = cg::policy::VerifyEnvelope(layers[0]["envelope"], ctx);
    if (!std::holds_alternative<cg::policy::VerifiedPolicy>(verdict)) {
      Die("a simulated agent refused the pushed policy: " +
          std::get<cg::policy::RefusedPolicy>(verdict).message);
    }
    known = verified_.emplace(version, envelope).first;
  } else if (known->second != envelope) {
    Die("two agents got different envelopes for version " + std::to_string(version));
  }
  a.version = version;
  a.hash = set.value("hash", "");
  Delivered(a);
  Queue(a, true);
  co_return true;
}

asio::awaitable<void> LoadGen::Live(size_t index) {
  Agent& a = agents_[index];
  bool first = true;
  for (;;) {
    std::unique_ptr<Stream> s;
    const uint64_t generation = generation_;
    if (!co_await Connect(a, s, index)) {
      a.poll_backoff = std::clamp(a.poll_backoff * 2, milliseconds(2000), milliseconds(300000));
      co_await Sleep(Jitter(a.poll_backoff));
      continue;
    }
    if (first) {
      ++connected_once_;
      first = false;
    }
    a.generation = generation;
    while (co_await SendSpool(a, *s) && co_await PollOnce(a, *s)) {
    }
  }
}

void LoadGen::Push(int64_t version) {
  push_version_ = version;
  delivered_ = 0;
  t95_ = t100_ = -1;
  for (auto& a : agents_) {
    a.delivered = false;
  }
  if (pusher_.joinable()) {
    pusher_.join();
  }
  const json doc = {{"version", version},
                    {"name", "load-" + std::to_string(version)},
                    {"checks", {{"password_age", {{"max_days", 90}}}}}};
  const json envelope =
      Must(cg::policy::SignPolicy(doc, Must(cg::ReadFileToString(o_.signing_key, 64 << 10), "key")),
           "sign");
  std::string admin = Must(cg::ReadFileToString(o_.admin_token_file, 4096), "admin token");
  while (!admin.empty() && (admin.back() == '\n' || admin.back() == '\r')) {
    admin.pop_back();
  }
  auto op = cg::bench::Connect(o_.operator_server, o_.ca, std::chrono::seconds(120));
  (void)op->Request("GET", "/healthz");  // connected and warm: the clock measures the push
  push_start_ = Steady::now();
  pusher_ = std::thread([this, envelope, admin, op = std::move(op)]() mutable {
    const auto start = Steady::now();
    auto r = op->Request("POST", "/api/v1/policies", json{{"envelope", envelope}}.dump(),
                         {{"Authorization", "Bearer " + admin}});
    push_status_ = r.ok() ? r->status : -1;
    push_request_s_ = Since(start);
  });
}

// Commands, one a line:
//   status            -> STATUS {counters}
//   push V            -> PUSH {t95_s, t100_s, ...}: a signed policy version V pushed over the
//                        operator API; times from the request until 95 % / all agents had it
//   down              -> OK: the SOC is about to stop
//   backlog K         -> OK: the SOC is down; every agent queues K reports (cycles it ran
//                        meanwhile); connections made from now on count as "back"
//   restarted         -> STORM {back_s, drained_s, ...}: the SOC is up again; waits until
//                        every agent holds a long-poll on a new connection and the spool is
//                        empty everywhere
//   quit              -> FINAL {counters}, exit
asio::awaitable<void> LoadGen::ReadCommands() {
  std::string line;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(input_, asio::dynamic_buffer(line), '\n',
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) {
      std::_Exit(0);
    }
    std::string command = line.substr(0, n - 1);
    line.erase(0, n);
    std::istringstream in(command);
    std::string word;
    in >> word;
    if (word == "status") {
      json j = stats_.ToJson();
      j["connected_once"] = connected_once_;
      Say("STATUS", j);
    } else if (word == "push") {
      int64_t version = 0;
      in >> version;
      Push(version);
      co_await WaitFor([&] { return t100_ >= 0; }, std::chrono::seconds(300));
      co_await WaitFor([&] { return push_request_s_ >= 0; }, std::chrono::seconds(60));
      json j = stats_.ToJson();
      j.update({{"version", version},
                {"agents", o_.agents},
                {"delivered", delivered_},
                {"t95_s", t95_},
                {"t100_s", t100_},
                {"push_status", push_status_.load()},
                {"push_request_s", push_request_s_.load()}});
      Say("PUSH", j);
    } else if (word == "down") {
      back_ = 0;
      for (auto& a : agents_) {
        a.back = false;
      }
      Say("OK", {{"command", word}});
    } else if (word == "backlog") {
      int k = 0;
      in >> k;
      ++generation_;
      for (auto& a : agents_) {
        for (int i = 0; i < k; ++i) {
          Queue(a, false);
        }
      }
      Say("OK", {{"command", word}, {"created", stats_.created}});
    } else if (word == "restarted") {
      const auto start = Steady::now();
      double back_s = -1;
      co_await WaitFor(
          [&] {
            if (back_s < 0 && back_ == o_.agents) {
              back_s = Since(start);
            }
            return back_s >= 0 && stats_.committed + stats_.rejected == stats_.created &&
                   stats_.polls_held == o_.agents;
          },
          std::chrono::seconds(900));
      json j = stats_.ToJson();
      j.update({{"back", back_}, {"back_s", back_s}, {"drained_s", Since(start)}});
      Say("STORM", j);
    } else if (word == "quit") {
      json j = stats_.ToJson();
      Say("FINAL", j);
      std::fflush(stdout);
      std::_Exit(0);
    } else {
      Say("ERROR", {{"unknown_command", command}});
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  cg::bench::ProgramName() = "cg_loadgen";
  CLI::App app{"N simulated agents against one cg-soc (tests/bench/load_bench.sh)"};
  Options o;
  app.add_option("--server", o.server, "agent port HOST:PORT")->required();
  app.add_option("--operator", o.operator_server, "operator port HOST:PORT")->required();
  app.add_option("--ca", o.ca)->required();
  app.add_option("--token", o.token, "enrollment token with at least N uses")->required();
  app.add_option("--admin-token-file", o.admin_token_file)->required();
  app.add_option("--signing-key", o.signing_key, "PREFIX.key (PREFIX.pub beside it)")->required();
  app.add_option("--agents", o.agents)->check(CLI::Range(1, 100000));
  app.add_option("--enroll-threads", o.enroll_threads)->check(CLI::Range(1, 64));
  app.add_option("--connect-parallel", o.connect_parallel, "handshakes at once while starting")
      ->check(CLI::Range(1, 100000));
  app.add_option("--source-addresses", o.source_addresses,
                 "on loopback, spread agents over 127.0.0.1..N")
      ->check(CLI::Range(1, 254));
  app.add_option("--checks", o.checks, "check results per report")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  asio::io_context io(1);
  LoadGen gen(o, io);
  gen.Enroll();
  gen.Start();
  io.run();
  return 0;
}
