// `rpc`: a request from a simulated client to a simulated broker and its reply.
//
// The request crosses the network from the client's node to the broker's; if the
// broker is up when it arrives, `handle` runs there and its result crosses back.
// The client gets exactly one `reply`: the broker's result, or a retriable
// `request_timed_out` when nothing came back in time (request or reply lost,
// broker down, link cut). A reply that arrives after the time-out is dropped, as a
// client drops a response to a request it already gave up on; the broker-side
// effect may still have happened — that is how lost acknowledgements arise.
//
// `reply` runs on the client process's executor, only in the incarnation that
// sent the request and only while `owner` is alive: destroying a client cancels
// its callbacks.
#pragma once

#include <functional>
#include <memory>

#include "adapters/sim_broker/cluster.h"
#include "core/ports/error.h"
#include "sim/process.h"

namespace orderflow::adapters {

// Where a client lives: its process and its network node.
struct ClientEndpoint {
  sim::Process* process = nullptr;
  sim::NodeId node = -1;
};

template <typename T>
using Responder = std::function<void(core::Result<T>)>;

// `handle(respond)` runs at the broker and must call `respond` exactly once, now or
// later (a join that waits for the rebalance). It may run after the client is gone,
// so it must capture the cluster and values only, never the client.
template <typename T>
void call_async(SimCluster& cluster, ClientEndpoint client, int broker, core::Duration timeout,
                std::weak_ptr<void> owner, std::function<void(Responder<T>)> handle,
                std::function<void(core::Result<T>)> reply) {
  struct Pending {
    bool done = false;
    core::TimerId timer;
    std::function<void(core::Result<T>)> reply;
  };
  auto pending = std::make_shared<Pending>();
  pending->reply = std::move(reply);
  sim::Process& process = *client.process;

  auto finish = [pending, owner](core::Result<T> result) {
    if (pending->done || owner.expired()) return;
    pending->done = true;
    pending->reply(std::move(result));
  };
  pending->timer = process.scheduler().schedule_after(timeout, [finish] {
    finish(core::make_error(core::ErrorKind::kRetriable, "request_timed_out",
                            "no response from the broker in time"));
  });

  const sim::NodeId broker_node = cluster.broker_node(broker);
  cluster.network().send(
      client.node, broker_node,
      [&cluster, &process, client, broker, broker_node, pending, finish,
       handle = std::move(handle)] {
        if (!cluster.broker_up(broker)) return;
        handle([&cluster, &process, client, broker_node, pending, finish](core::Result<T> r) {
          cluster.network().send(
              broker_node, client.node,
              process.bind([&process, pending, finish, r = std::move(r)]() mutable {
                // A duplicated reply finds the request done and ignores r.
                process.scheduler().cancel(pending->timer);
                finish(std::move(r));
              }));
        });
      });
}

// The common case: the broker answers as soon as the request arrives.
template <typename T>
void call(SimCluster& cluster, ClientEndpoint client, int broker, core::Duration timeout,
          std::weak_ptr<void> owner, std::function<core::Result<T>()> handle,
          std::function<void(core::Result<T>)> reply) {
  call_async<T>(
      cluster, client, broker, timeout, std::move(owner),
      [handle = std::move(handle)](Responder<T> respond) { respond(handle()); }, std::move(reply));
}

}  // namespace orderflow::adapters
