#include <array>
#include <atomic>
#include <invsys/http_status.hpp>
#include <invsys/metrics.hpp>
#include <new>
#include <string>

#include "api/routes.hpp"
#include "util/process_id.hpp"

namespace invsys::metrics {
namespace {

// Room for the route table's rows (checked below) and one slot for
// requests that matched no route.
constexpr std::size_t max_routes = 63;
constexpr std::size_t unmatched_slot = max_routes;
constexpr std::size_t route_slots = max_routes + 1;
constexpr int first_status = 100;
constexpr std::size_t status_slots = 500;  // 100–599
// Latency bucket upper bounds (seconds), Prometheus's defaults plus 1 ms:
// from a cached GET to a write waiting out a busy database.
constexpr std::array<double, 12> bucket_bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,   0.25,   0.5,   1,    2.5,   5};
constexpr std::array<const char*, 12> bucket_labels{
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5"};
// Worker processes whose busy threads are counted apiece (so that a killed
// worker's count can be dropped); beyond that they share the last slot.
constexpr std::size_t worker_slots = 256;

using counter = std::atomic<std::uint64_t>;
static_assert(counter::is_always_lock_free);
static_assert(std::atomic<std::int64_t>::is_always_lock_free);

struct worker_slot {
    std::atomic<std::int64_t> pid;
    std::atomic<std::int64_t> busy;
};

struct block {
    counter requests[route_slots][status_slots];
    counter latency[route_slots][bucket_bounds.size() + 1];  // not cumulative; last: +Inf
    counter latency_sum_us[route_slots];
    counter conflicts;
    counter idempotent_replays;
    counter write_lock_waits;
    counter write_lock_wait_ns;
    counter commit_groups;
    counter commit_group_writes;
    counter commit_group_failures;
    counter database_errors;
    counter pool_workers;
    counter worker_restarts;
    counter worker_recycles;
    worker_slot workers[worker_slots];
};

block local_block{};
std::atomic<block*> current{&local_block};

block& b() noexcept { return *current.load(std::memory_order_relaxed); }

void add(counter& c, std::uint64_t n = 1) noexcept { c.fetch_add(n, std::memory_order_relaxed); }

// This process's slot for busy threads, claimed at its first request.
worker_slot& my_slot() noexcept {
    static thread_local block* claimed_in = nullptr;
    static thread_local std::int64_t claimed_by = 0;
    static thread_local std::size_t index = worker_slots - 1;
    const std::int64_t pid = current_pid();
    if (claimed_in != &b() || claimed_by != pid) {
        index = worker_slots - 1;
        for (std::size_t i = 0; i + 1 < worker_slots; ++i) {
            std::int64_t expected = 0;
            if (b().workers[i].pid.load() == pid ||
                b().workers[i].pid.compare_exchange_strong(expected, pid)) {
                index = i;
                break;
            }
        }
        claimed_in = &b();
        claimed_by = pid;
    }
    return b().workers[index];
}

std::string escape_label(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\' || c == '"') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, const char* name, std::uint64_t value) {
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

std::string route_labels(std::size_t slot) {
    if (slot == unmatched_slot) return "method=\"\",route=\"unmatched\"";
    const route_row& row = route_table()[slot];
    std::string labels = "method=\"";
    labels.append(row.method).append("\",route=\"").append(escape_label(row.pattern));
    labels += '"';
    return labels;
}

}  // namespace

std::size_t shared_block_size() noexcept { return sizeof(block); }

void place_shared_metrics(void* memory) noexcept {
    current.store(new (memory) block{}, std::memory_order_relaxed);
}

void count_request(std::size_t route_row, bool matched, int status,
                   std::uint64_t duration_us) noexcept {
    const std::size_t slot = matched && route_row < max_routes ? route_row : unmatched_slot;
    if (status >= first_status && status < first_status + static_cast<int>(status_slots))
        add(b().requests[slot][static_cast<std::size_t>(status - first_status)]);
    std::size_t bucket = 0;
    const double seconds = static_cast<double>(duration_us) / 1e6;
    while (bucket < bucket_bounds.size() && seconds > bucket_bounds[bucket]) ++bucket;
    add(b().latency[slot][bucket]);
    add(b().latency_sum_us[slot], duration_us);
}

void request_began() noexcept { my_slot().busy.fetch_add(1, std::memory_order_relaxed); }
void request_ended() noexcept { my_slot().busy.fetch_sub(1, std::memory_order_relaxed); }
void count_conflict() noexcept { add(b().conflicts); }
void count_idempotent_replay() noexcept { add(b().idempotent_replays); }
void count_commit_group(std::size_t writes, bool committed) noexcept {
    if (!committed) {
        add(b().commit_group_failures);
        return;
    }
    add(b().commit_groups);
    add(b().commit_group_writes, writes);
}

void add_write_lock_wait(std::uint64_t wait_ns) noexcept {
    add(b().write_lock_waits);
    add(b().write_lock_wait_ns, wait_ns);
}
void count_database_error() noexcept { add(b().database_errors); }
void set_pool_workers(unsigned ready_workers) noexcept {
    b().pool_workers.store(ready_workers, std::memory_order_relaxed);
}
void count_worker_restart() noexcept { add(b().worker_restarts); }
void count_worker_recycle() noexcept { add(b().worker_recycles); }

void forget_worker(pid_t pid) noexcept {
    for (auto& slot : b().workers) {
        if (slot.pid.load() == pid) {
            slot.busy.store(0);
            slot.pid.store(0);
        }
    }
}

std::string render_prometheus() {
    static_assert(sizeof(route_row) > 0);
    const block& m = b();
    const std::size_t rows = std::min(route_table().size(), max_routes);
    std::string out;
    out.reserve(16 * 1024);

    header(out, "invsys_requests_total", "counter",
           "Requests answered by the service, by route pattern, method and status.");
    for (std::size_t slot = 0; slot < route_slots; ++slot) {
        if (slot >= rows && slot != unmatched_slot) continue;
        const std::string labels = route_labels(slot);
        for (std::size_t s = 0; s < status_slots; ++s) {
            const std::uint64_t n = m.requests[slot][s].load(std::memory_order_relaxed);
            if (n == 0) continue;
            out.append("invsys_requests_total{").append(labels).append(",status=\"");
            out.append(std::to_string(first_status + static_cast<int>(s))).append("\"} ");
            out.append(std::to_string(n)).append("\n");
        }
    }

    header(out, "invsys_request_duration_seconds", "histogram",
           "Time the service took per request (FastCGI read and write excluded).");
    for (std::size_t slot = 0; slot < route_slots; ++slot) {
        if (slot >= rows && slot != unmatched_slot) continue;
        std::uint64_t cumulative = 0;
        for (std::size_t k = 0; k <= bucket_bounds.size(); ++k)
            cumulative += m.latency[slot][k].load(std::memory_order_relaxed);
        if (cumulative == 0) continue;
        const std::string labels = route_labels(slot);
        cumulative = 0;
        for (std::size_t k = 0; k <= bucket_bounds.size(); ++k) {
            cumulative += m.latency[slot][k].load(std::memory_order_relaxed);
            out.append("invsys_request_duration_seconds_bucket{").append(labels);
            out.append(",le=\"")
                .append(k < bucket_bounds.size() ? bucket_labels[k] : "+Inf")
                .append("\"} ");
            out.append(std::to_string(cumulative)).append("\n");
        }
        const std::uint64_t sum_us = m.latency_sum_us[slot].load(std::memory_order_relaxed);
        out.append("invsys_request_duration_seconds_sum{").append(labels).append("} ");
        out.append(std::to_string(sum_us / 1'000'000)).append(".");
        std::string micros = std::to_string(sum_us % 1'000'000);
        out.append(6 - micros.size(), '0').append(micros).append("\n");
        out.append("invsys_request_duration_seconds_count{").append(labels).append("} ");
        out.append(std::to_string(cumulative)).append("\n");
    }

    header(out, "invsys_conflicts_total", "counter",
           "409 answers: an overlapping allocation or a name taken.");
    sample(out, "invsys_conflicts_total", m.conflicts.load());
    header(out, "invsys_idempotent_replays_total", "counter",
           "Retries answered from the stored first response (Idempotency-Key).");
    sample(out, "invsys_idempotent_replays_total", m.idempotent_replays.load());
    header(out, "invsys_write_lock_waits_total", "counter",
           "Acquisitions of the SQLite write lock.");
    sample(out, "invsys_write_lock_waits_total", m.write_lock_waits.load());
    header(out, "invsys_write_lock_wait_seconds_total", "counter",
           "Time spent waiting for the SQLite write lock.");
    {
        const std::uint64_t ns = m.write_lock_wait_ns.load();
        std::string frac = std::to_string(ns % 1'000'000'000);
        out.append("invsys_write_lock_wait_seconds_total ")
            .append(std::to_string(ns / 1'000'000'000))
            .append(".")
            .append(9 - frac.size(), '0')
            .append(frac)
            .append("\n");
    }
    header(out, "invsys_commit_groups_total", "counter",
           "SQLite write transactions committed (each one fsync), by group commit.");
    sample(out, "invsys_commit_groups_total", m.commit_groups.load());
    header(out, "invsys_commit_group_writes_total", "counter",
           "Writes made durable by those commits (÷ groups: writes per fsync).");
    sample(out, "invsys_commit_group_writes_total", m.commit_group_writes.load());
    header(out, "invsys_commit_group_failures_total", "counter",
           "Groups whose COMMIT failed or whose transaction was lost: every write in them failed.");
    sample(out, "invsys_commit_group_failures_total", m.commit_group_failures.load());
    header(out, "invsys_database_errors_total", "counter",
           "Database failures: busy, unreachable or unexpected.");
    sample(out, "invsys_database_errors_total", m.database_errors.load());

    header(out, "invsys_pool_workers", "gauge", "Worker processes that are ready.");
    sample(out, "invsys_pool_workers", m.pool_workers.load());
    std::int64_t busy = 0;
    for (const auto& slot : m.workers) busy += slot.busy.load(std::memory_order_relaxed);
    header(out, "invsys_pool_busy_threads", "gauge", "Request threads handling a request now.");
    sample(out, "invsys_pool_busy_threads", static_cast<std::uint64_t>(busy < 0 ? 0 : busy));
    header(out, "invsys_pool_worker_restarts_total", "counter",
           "Workers restarted after they died or were killed.");
    sample(out, "invsys_pool_worker_restarts_total", m.worker_restarts.load());
    header(out, "invsys_pool_worker_recycles_total", "counter",
           "Workers recycled after max_requests.");
    sample(out, "invsys_pool_worker_recycles_total", m.worker_recycles.load());
    return out;
}

}  // namespace invsys::metrics
