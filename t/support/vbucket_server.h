// VBucketServer: an in-process fake memcached that speaks the binary protocol
// and enforces vBucket ownership, for testing moxi's vBucket routing.
//
// Plain memcached ignores the vBucket id in a request header (bytes 6-7), so a
// proxy that sends a key to the wrong server or with the wrong id still
// "works" against it. This server answers a keyed request whose vBucket it
// does not own with NOT_MY_VBUCKET (0x0007), the way a Couchbase data node
// does, so tests can check that the proxy re-routes. Several instances in one
// test process make a cluster; each runs its own thread.
//
// Each instance listens on 127.0.0.1 on a port the OS picks and serves every
// connection from one thread with poll(2); no libevent. Typical use:
//
//   VBucketServer a, b;                 // both own every vBucket at first
//   a.set_owned({0, 1}); b.set_owned({2, 3});
//   a.check_vbucket_hash(4);            // also reject a wrong id for the key
//   ... start moxi with a 4-vBucket map over a.address(), b.address() ...
//   CPPUNIT_ASSERT(a.wait_for_requests(1, std::chrono::seconds(2)));
//   CPPUNIT_ASSERT_EQUAL(uint64_t(0), a.nmv_count());
//
// Protocol (binary only, magic 0x80): GET/GETQ/GETK/GETKQ, SET/ADD/REPLACE
// (+Q), DELETE(Q), INCREMENT/DECREMENT(Q), APPEND/PREPEND(Q), TOUCH,
// GAT/GATQ/GATK/GATKQ, NOOP, VERSION, VERBOSITY, FLUSH(Q) (with an optional
// delay), STAT (only the default group) and QUIT(Q); and, as a Couchbase data
// node, GET_REPLICA (0x83): answered like GET for a vBucket set_replicas()
// names, else NOT_MY_VBUCKET (a replica shares the server's one store: a
// test puts the replica's copy there itself). Statuses, error texts,
// quiet rules, CAS rules and packet validation follow memcached 1.6 (checked
// against memcached 1.6.18 by t/fakebackend), including its quirks:
//   - SET/ADD/REPLACE with a non-zero CAS are compare-and-swap: NOT_FOUND
//     when the key is missing, KEY_EXISTS on a mismatch, stored on a match
//     (ADD too);
//   - INCR/DECR keep the stored text's length when the new number fits
//     ("10" decremented is "9 "), wrap at 2^64, stop at 0, and create the
//     item from `initial` unless the expiration is 0xffffffff;
//   - a malformed packet gets "Invalid arguments" (0x04) and the connection
//     is closed after it; an unknown opcode gets 0x81 and the connection
//     lives; keys over 250 bytes are malformed;
//   - a value over Options::max_value_size is "Too large." (0x03); for SET the
//     old item is deleted too.
// Deliberate differences from memcached: a first byte other than 0x80 closes
// the connection (memcached would switch to the ascii protocol); a header
// whose keylen + extlen exceed bodylen, or a body over 64 MiB, closes it with
// "Invalid arguments"; TOUCH/GAT and STAT must not carry a value; an unknown
// opcode's body is skipped (memcached 1.6 loses its place and drops the
// connection). The "pid" stat is id(), unique per instance in the process
// (all instances share the real pid), so a test can tell which server
// answered. The other stats: uptime, time, version, curr_connections,
// total_connections, cmd_get (GET*), cmd_set (SET/ADD/REPLACE/APPEND/PREPEND),
// cmd_touch (TOUCH, GAT*), get_hits, get_misses, curr_items, requests,
// not_my_vbucket, bad_vbucket.
//
// vBuckets: only keyed commands are checked (GET*, SET/ADD/REPLACE*,
// DELETE*, INCR/DECR*, APPEND/PREPEND*, TOUCH, GAT*). A well-formed keyed
// request is checked in this order:
//   1. check_vbucket_hash(n) enabled and the header's id is not
//      vbucket_hash(key) & (n - 1): "Invalid arguments" (0x04) with the body
//      "vbucket mismatch: request has N, key hashes to M", counted by
//      bad_vbucket_count(); the connection stays open.
//   2. the id is not owned (GET_REPLICA: not a replica here): NOT_MY_VBUCKET (0x0007) with the body set by
//      set_not_my_vbucket_body() (empty by default; a real server sends its
//      cluster config there), counted by nmv_count().
// Both are errors, so quiet commands get them too. Keyless commands (NOOP,
// VERSION, STAT, FLUSH, QUIT, VERBOSITY, unknown opcodes) are always served.
// A new server owns every vBucket.
//
// Holding replies: after hold_replies() the server keeps reading and
// counting requests (requests(), received(), wait_for_requests()) but does
// not execute them, so no reply is sent. release_replies() executes the held
// requests against the state at that moment (ownership changed meanwhile
// applies) and answers them in order; release_replies(n) lets just the next
// n requests through in arrival order across connections. A test can thus
// keep a request "in flight" at the backend for as long as it likes.
//
// GET_CLUSTER_CONFIG (0xb5, couchbase-kv.md 5.1 and 6.1): answered with the
// text set_cluster_config() holds, byte for byte ("$HOST" left as it is),
// datatype 0 (this server never grants HELLO JSON); counted by
// cluster_config_requests() whatever the answer. In memcached mode with no
// config set it is an unknown opcode (0x81), as plain memcached answers it;
// with one set the server answers as a 7.x data node: success with the
// config, or EINVAL (0x04, the connection stays) for a request with extras
// (the 7.6 known-version form, which servers before 7.6 reject), a key, a
// value or a CAS. Couchbase mode: see below.
//
// Time: expirations follow memcached (0 = never, up to 30 days relative,
// beyond that a unix time; a unix time in the past is already expired).
// The clock is real time plus advance_time(), so TTLs are testable without
// sleeping.
//
// Faults: inject_fault(key, fault) makes every later keyed request for `key`
// answer fault.reply (raw bytes: garbage, a truncated packet) instead of
// being executed, then close the connection if fault.close; other keys are
// served normally, so a test sees whether the proxy recovers on the same
// server. Options::raw goes further: no protocol at all, the test's
// function answers whatever arrives (an ascii backend that misbehaves).
//
// Couchbase mode (Options::couchbase, off by default): the server acts like
// a Couchbase Server 7.6 data node as couchbase-kv.md (sections 4, 5 and 9)
// describes it, for testing how moxi logs in and selects buckets:
//   - it has buckets, each a key space of its own (and, with set_owned(
//     bucket, ...), vBuckets of its own), and users, each with a password
//     and the buckets it may select ("*": every bucket, as Administrator);
//   - SASL_LIST_MECHS answers Couchbase::mechanisms (by default "SCRAM-SHA512
//     SCRAM-SHA256 SCRAM-SHA1 PLAIN"); SASL_AUTH takes only a name from that
//     list (upper-cased first), else AUTH_ERROR (0x20); an empty first message
//     or a malformed one is EINVAL (0x04). PLAIN is "[authzid] NUL user NUL
//     password" (a trailing NUL tolerated), answered 0x00 with an empty value
//     or AUTH_ERROR. SCRAM (RFC 5802: SCRAM-SHA1/256/512, no channel binding,
//     the GS2 header must start "n,", an authzid is ignored, only the n and r
//     attributes) answers AUTH_CONTINUE (0x21) with "r=..,s=..,i=..", even
//     for an unknown user; SASL_STEP checks the proof: 0x00 with
//     "v=<ServerSignature>", or AUTH_ERROR. SASL_STEP with no exchange under
//     way, or SASL_AUTH while one waits for its step, is EINVAL. The
//     crypto is OpenSSL's (PBKDF2, HMAC, digests): nothing of moxi's SASL
//     code nor of libsasl2. Every SASL_AUTH starts afresh: the connection is
//     logged out and has no bucket until a login succeeds;
//   - before a login succeeds only HELLO, SASL_LIST_MECHS, SASL_AUTH,
//     SASL_STEP and GET_ERROR_MAP are served; anything else is EACCESS
//     (0x24), sent as it is (7.1+), and a frame over 1024 bytes closes the
//     connection without a reply (7.6+);
//   - HELLO (0x1f) grants TCPNODELAY (0x03) or TCPDELAY (0x05) (both:
//     EINVAL), XERROR (0x07) and SELECT_BUCKET (0x08), in ascending order,
//     and drops the rest; each HELLO starts from no features;
//   - SELECT_BUCKET (0x89) of a bucket the user may not select (a missing
//     bucket counts, unless the user has "*") is EACCESS; with "*" a bucket
//     not on this node is KEY_ENOENT; "@no bucket@" unselects; a refused
//     select keeps the bucket selected before;
//   - logged in with no bucket selected, keyed commands (GET*, SET*, ...)
//     and FLUSH are NO_BUCKET (0x08); FLUSH and VERBOSITY need a user with
//     "*", else EACCESS; NOOP, VERSION, STAT and QUIT are served;
//   - as the real server without XERROR, EACCESS and NO_BUCKET after login
//     (a refused SELECT_BUCKET among them) are no reply but a closed
//     connection; with HELLO XERROR they are sent;
//   - with a bucket selected, requests run as in memcached mode on that
//     bucket's key space, vBucket checks included (the error texts stay
//     memcached's);
//   - GET_CLUSTER_CONFIG, logged in: EINVAL as above, then with no bucket
//     selected EACCESS (refused as above: a closed connection without
//     XERROR), else the config (the same text for every bucket) or
//     KEY_ENOENT (0x01) while none is set.
// auth_counters() counts logins, failures and selects; get(bucket, key),
// item_count(bucket), buckets_holding(key) and connections_on(bucket) show
// where data and connections are; received() names the bucket each
// request ran on. Options::port lets a test start a new server on the port
// of one it stopped (a restart).
//
// Thread-safety: every public member may be called from any thread; one
// mutex guards the store, the counters and the settings, and the server
// thread holds it while it executes requests. The destructor stops the
// server and joins its thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "t/support/deadline.h"

namespace moxi::test {

class VBucketServer {
 public:
  // A user of a server in Couchbase mode.
  struct User {
    std::string name;
    std::string password;
    // The buckets it may select; "*" is every bucket (Full Admin).
    std::set<std::string> buckets;
    // Its SCRAM salt, base64; empty: 16 random bytes.
    std::string salt;
  };

  // Couchbase mode: a data node's buckets, users and SASL settings.
  struct Couchbase {
    std::vector<std::string> buckets;  // the buckets on this node
    std::vector<User> users;
    // What SASL_LIST_MECHS answers, in its order; any of SCRAM-SHA512,
    // SCRAM-SHA256, SCRAM-SHA1 and PLAIN.
    std::string mechanisms = "SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN";
    uint32_t scram_iterations = 4096;
    // The server's part of every SCRAM nonce; empty: 16 random hex digits
    // per exchange, as Couchbase makes it (tests of RFC vectors set it).
    std::string scram_server_nonce;
  };

  struct Options {
    // VERSION reply and the "version" stat.
    std::string version = "1.6.18-vbucket-fake";
    // Larger values are refused with "Too large." (memcached's own limit is
    // a little under its 1 MiB item size, as the item header counts).
    std::size_t max_value_size = 1024 * 1024;
    // Raw mode when set: nothing is parsed, executed or counted. After each
    // read the function gets the connection's unconsumed input, erases what
    // it handled, appends its answer to `reply` and returns true to close
    // the connection once the answer is written. It runs on the server
    // thread with the server's lock held: it must not call the server.
    std::function<bool(std::string& input, std::string& reply)> raw;
    // The port to listen on (127.0.0.1, SO_REUSEADDR); 0: the OS picks.
    int port = 0;
    // Couchbase mode when set (see the file comment).
    std::optional<Couchbase> couchbase;
  };

  // What a faulty request gets instead of its reply.
  struct Fault {
    std::string reply;   // raw bytes written (may be empty, a partial packet, garbage)
    bool close = false;  // close the connection once they are written
  };

  // One request as it arrived, in arrival order (logged before any check).
  struct Request {
    uint8_t opcode = 0;
    uint16_t vbucket = 0;  // header bytes 6-7
    std::string key;
    uint32_t opaque = 0;
    // Couchbase mode: the bucket selected when it was executed ("" for
    // none, or not executed yet).
    std::string bucket;
  };

  // Couchbase mode's counters.
  struct AuthCounters {
    uint64_t sasl_auth = 0;        // SASL_AUTH requests: login attempts
    uint64_t logins = 0;           // successful logins
    uint64_t auth_failures = 0;    // SASL_AUTH or SASL_STEP refused (AUTH_ERROR, EINVAL)
    uint64_t selects = 0;          // successful SELECT_BUCKET (not "@no bucket@")
    uint64_t select_refusals = 0;  // SELECT_BUCKET refused (EACCESS, KEY_ENOENT)
    uint64_t unauthenticated = 0;  // commands refused before a login (EACCESS, frame too large)
    uint64_t no_bucket = 0;        // commands refused for want of a bucket
    std::map<std::string, uint64_t> logins_by_mechanism;
  };

  // An item in the store.
  struct Item {
    std::string value;
    uint32_t flags = 0;
    uint64_t cas = 0;
  };

  // Binds 127.0.0.1:0 and starts the server thread; throws
  // std::runtime_error if the socket cannot be set up.
  VBucketServer();
  explicit VBucketServer(Options options);
  // The options of a data node in Couchbase mode with these buckets and
  // users, on `port` (0: the OS picks).
  static Options data_node(std::vector<std::string> buckets, std::vector<User> users, int port = 0);
  ~VBucketServer();  // stop()

  VBucketServer(const VBucketServer&) = delete;
  VBucketServer& operator=(const VBucketServer&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT"
  // Unique per instance in this process; also the "pid" stat.
  uint32_t id() const { return id_; }

  // --- vBucket ownership ---------------------------------------------------
  // Every bucket's ownership (Couchbase mode: per-bucket ones are dropped).
  void set_owned(std::set<uint16_t> vbuckets);
  void own_all();
  // Couchbase mode: the vBuckets one bucket owns on this server.
  void set_owned(std::string_view bucket, std::set<uint16_t> vbuckets);
  bool owns(uint16_t vbucket) const;
  // With num_vbuckets (a power of two) also answer a keyed request whose
  // header id differs from vbucket_hash(key) & (num_vbuckets - 1) with
  // "Invalid arguments". 0 turns the check off. Throws std::invalid_argument
  // for a count that is not a power of two or exceeds 65536.
  void check_vbucket_hash(uint32_t num_vbuckets);
  // A data node warming up: the next `requests` keyed requests (after the
  // faults, before the vBucket checks) are answered ETMPFAIL (0x86,
  // "Temporary failure") unexecuted, as Couchbase does before traffic is on.
  void set_warming_up(uint64_t requests);
  // The vBuckets this server holds replicas of (GET_REPLICA); none at first.
  void set_replicas(std::set<uint16_t> vbuckets);
  // The body of NOT_MY_VBUCKET replies (default empty).
  void set_not_my_vbucket_body(std::string body);
  // What GET_CLUSTER_CONFIG answers (default empty: no config; see the file
  // comment).
  void set_cluster_config(std::string json);

  // --- the store (direct access, no request is counted) -------------------
  std::size_t item_count() const;  // live (unexpired) items
  std::optional<std::string> get(std::string_view key) const;
  std::optional<Item> item(std::string_view key) const;
  // Stores key = value as SET would (new CAS, no expiration).
  void put(std::string_view key, std::string_view value, uint32_t flags = 0);
  // Couchbase mode: the same for one bucket's key space (throws
  // std::invalid_argument for a bucket the server does not have). The
  // bucketless forms above throw std::logic_error in Couchbase mode.
  std::size_t item_count(std::string_view bucket) const;
  std::optional<std::string> get(std::string_view bucket, std::string_view key) const;
  void put(std::string_view bucket, std::string_view key, std::string_view value, uint32_t flags = 0);
  // The buckets whose key space holds `key` (live), in name order.
  std::vector<std::string> buckets_holding(std::string_view key) const;
  // Open connections that have `bucket` selected now.
  std::size_t connections_on(std::string_view bucket) const;
  AuthCounters auth_counters() const;
  // Moves the server's clock forward (expirations, delayed flush).
  void advance_time(std::chrono::seconds by);

  // --- counters ------------------------------------------------------------
  uint64_t requests() const;           // request packets received (all kinds)
  uint64_t nmv_count() const;          // NOT_MY_VBUCKET replies
  uint64_t bad_vbucket_count() const;  // vbucket-hash mismatches
  uint64_t cluster_config_requests() const;  // GET_CLUSTER_CONFIG requests received
  std::vector<Request> received() const;
  std::size_t connections() const;  // open now
  uint64_t accepted() const;        // ever accepted
  // Block until the counter reaches n (true) or the deadline passes or the
  // server stops (false). Event-driven, no polling loop.
  bool wait_for_requests(uint64_t n, Deadline deadline) const;
  bool wait_for_connections(std::size_t n, Deadline deadline) const;

  // --- faults --------------------------------------------------------------
  // Every later keyed request for `key` (after the request counters, before
  // the vBucket checks) gets `fault` instead of its execution.
  void inject_fault(std::string key, Fault fault);
  void clear_faults();
  uint64_t faults_served() const;

  // --- holding replies -----------------------------------------------------
  void hold_replies();
  // Opens the gate; returns once every held request has been executed (its
  // reply queued for writing).
  void release_replies();
  // Keeps the gate closed but lets the next n requests through (ones held
  // now first, then later arrivals); returns once the held ones among them
  // have been executed.
  void release_replies(std::size_t n);
  std::size_t held_requests() const;

  // --- connections and lifetime --------------------------------------------
  // Closes every client connection (held requests and unsent replies are
  // dropped) and returns once they are closed; keeps listening.
  void close_all_connections();
  // Closes the listener and every connection and joins the thread; new
  // connections are refused afterwards. Idempotent.
  void stop();
  bool running() const;

 private:
  struct State;
  void run();

  std::unique_ptr<State> state_;
  int port_ = 0;
  uint32_t id_ = 0;
  std::thread thread_;
};

}  // namespace moxi::test
