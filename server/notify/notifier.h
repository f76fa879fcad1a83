// Notifications: when an operation starts or ends, the sinks of the
// notifications file (config.h) whose match takes it get an event — a
// Slack incoming-webhook message (Block Kit) or a CloudEvents 1.0 JSON
// document (type dev.herd.operation.OUTCOME, the Operation as data, signed
// with X-Herd-Signature: sha256=HMAC(secret, body) when the sink has a
// secret).
//
// Delivery never blocks or slows an operation: Notify() only queues. A
// worker thread first writes each delivery to an outbox ConfigMap in
// herd's namespace (labelled herd.dev/notification=true), then posts it,
// retrying with exponential backoff (and Slack's Retry-After on 429), and
// deletes it once delivered. Every herdd scans the outbox, so a delivery
// whose herdd died is made by another: at least once. Before each attempt
// the delivery is claimed in its ConfigMap (an update on its
// resourceVersion) until the attempt after it is due, so two replicas
// rarely both send it and none cuts a backoff short; receivers
// de-duplicate by the event id ("OPERATION-ID.OUTCOME").
//
//   auto n = Notifier::Start(&kube, {.config_path = "/etc/herd/notify.yaml", .identity = "herd-0"});
//   runner hook: (*n)->Notify(op);
//
// Thread-safe.
#ifndef HERD_SERVER_NOTIFY_NOTIFIER_H_
#define HERD_SERVER_NOTIFY_NOTIFIER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "herd/v1/herd.pb.h"
#include "server/kube/client.h"
#include "server/notify/config.h"

namespace herd::notify {

struct NotifierOptions {
  std::string config_path;
  // Where the outbox lives.
  std::string ns = "herd-system";
  // This replica's name in claims.
  std::string identity;
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  // A delivery still failing this long after its event is dropped.
  absl::Duration give_up_after = absl::Hours(24);
  // How often the outbox is scanned for deliveries another herdd left.
  absl::Duration scan_period = absl::Seconds(10);
  // How long a claim keeps other replicas off a delivery: one attempt's
  // time, with room (a delivery is claimed again before each attempt, so
  // a dead replica's deliveries wait no longer than this).
  absl::Duration claim = absl::Seconds(30);
  // How often the notifications file is looked at for changes.
  absl::Duration config_check = absl::Seconds(1);
};

class Notifier {
 public:
  // Reads the notifications file now (its error if it is bad) and starts
  // the worker.
  static absl::StatusOr<std::unique_ptr<Notifier>> Start(kube::KubeClient* kube, NotifierOptions options);
  ~Notifier();

  // Queues the events of `op` as it now stands (RUNNING: "started"; a
  // final state: its outcome) for the sinks that match. Dry runs are not
  // notified.
  void Notify(const herd::v1::Operation& op);

  // Ends the worker; what is not delivered stays in the outbox.
  void Stop();

  struct SinkStats {
    int64_t delivered = 0;
    int64_t retried = 0;
    int64_t failed = 0;  // given up (a 4xx, too old, or the sink is gone)
  };
  // By sink name.
  std::map<std::string, SinkStats> stats() const;
  // Deliveries not yet made (this replica's queue).
  int64_t pending() const;

 private:
  struct Delivery {
    std::string key;  // the outbox ConfigMap's name
    std::string sink;
    std::string event_id;
    std::string body;
    std::string content_type;
    std::string resource_version;  // of the outbox ConfigMap; "" until written
    absl::Time created;
    absl::Time due;
    absl::Duration backoff;
  };

  Notifier(kube::KubeClient* kube, NotifierOptions options, Config config);
  void Run();
  void MaybeReload();
  void Scan();
  void Deliver(Delivery d);
  // Writes or claims `d`'s ConfigMap until `until`; false when another
  // replica has it.
  bool Claim(Delivery& d, absl::Time until);
  void Forget(const Delivery& d);
  kube::Json OutboxObject(const Delivery& d, absl::Time until) const;

  kube::KubeClient* const kube_;
  const NotifierOptions options_;

  mutable absl::Mutex mu_;
  Config config_ ABSL_GUARDED_BY(mu_);
  int64_t config_mtime_ns_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_config_check_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Delivery> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SinkStats> stats_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace herd::notify

#endif  // HERD_SERVER_NOTIFY_NOTIFIER_H_
