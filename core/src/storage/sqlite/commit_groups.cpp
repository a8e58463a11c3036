#include "storage/sqlite/commit_groups.hpp"

#include <algorithm>
#include <deque>
#include <vector>

#include "storage/common/failure.hpp"

namespace invsys {

struct commit_groups::group {
    bool closed = false;                      // newcomers open the next group
    std::size_t members = 1;                  // the leader and every member that joined
    std::deque<seat*> queued;                 // waiting for their turn, in order of arrival
    std::vector<seat*> ran;                   // had their turn: waiting for the outcome
    seat* running = nullptr;                  // the member whose turn it is, if any
    sqlite_connection* connection = nullptr;  // once the transaction is open
    std::exception_ptr lost;                  // a member's turn ended it
    std::condition_variable turn_ended;       // the leader waits on it: no member runs
};

commit_groups::seat::seat() = default;
commit_groups::seat::~seat() = default;

sqlite_connection& commit_groups::seat::connection() const noexcept { return *group_->connection; }

commit_groups::commit_groups(std::size_t max_members)
    : max_members_(std::max<std::size_t>(1, max_members)) {}

void commit_groups::enter(seat& s, deadline until) {
    std::unique_lock lock(mutex_);
    for (;;) {
        group* g = open_;
        if (g == nullptr || g->closed || g->members >= max_members_) break;
        s.leads_ = false;
        s.group_ = g;
        s.state_ = seat::state::queued;
        g->queued.push_back(&s);
        ++g->members;
        while (s.state_ == seat::state::queued) {
            if (s.wake_.wait_until(lock, until) == std::cv_status::timeout &&
                s.state_ == seat::state::queued) {
                g->queued.erase(std::find(g->queued.begin(), g->queued.end(), &s));
                --g->members;
                s.group_ = nullptr;
                throw database_busy();
            }
        }
        if (s.state_ == seat::state::turn) return;
        // state retry: that group ended before this member's turn.
        s.group_ = nullptr;
    }
    s.owned_ = std::make_unique<group>();
    s.leads_ = true;
    s.group_ = s.owned_.get();
    s.state_ = seat::state::turn;
    open_ = s.group_;
}

void commit_groups::opened(seat& s, sqlite_connection& c) noexcept {
    std::lock_guard lock(mutex_);
    s.group_->connection = &c;
}

void commit_groups::release_waiting(group& g) {
    g.closed = true;
    if (open_ == &g) open_ = nullptr;
    for (seat* m : g.queued) {
        m->state_ = seat::state::retry;
        m->wake_.notify_one();  // under the mutex: m may leave as soon as it runs
    }
    g.queued.clear();
}

void commit_groups::abandon(seat& s) noexcept {
    std::lock_guard lock(mutex_);
    release_waiting(*s.group_);
    s.group_ = nullptr;
    s.owned_.reset();
}

// The turn passes from member to member: each, its body done, hands it to
// the next queued one itself (finish_turn), and only the last wakes the
// leader. A hand-off through the leader would cost two thread wake-ups
// per member instead of one, inside the write lock that every process
// waits for. The woken member is notified after the mutex is released, so
// that it does not wake only to block on the mutex its waker still holds;
// that is safe because a member at its turn cannot leave before its
// group's outcome, which needs this very turn to end.
commit_groups::seat* commit_groups::next_turn(group& g) {
    if (g.queued.empty() || g.lost) return nullptr;
    seat* m = g.queued.front();
    g.queued.pop_front();
    m->state_ = seat::state::turn;
    g.running = m;
    return m;
}

std::exception_ptr commit_groups::run_members(seat& s) {
    std::unique_lock lock(mutex_);
    group& g = *s.group_;
    for (;;) {
        // Members that joined after the last one's turn ended, before the
        // leader woke, are still the leader's to start.
        if (seat* m = next_turn(g)) {
            lock.unlock();
            m->wake_.notify_one();
            lock.lock();
        }
        g.turn_ended.wait(lock, [&g] { return g.running == nullptr; });
        if (g.queued.empty() || g.lost) break;
    }
    release_waiting(g);  // none left unless the transaction was lost
    return g.lost;
}

std::size_t commit_groups::conclude(seat& s, std::exception_ptr failure) noexcept {
    std::lock_guard lock(mutex_);
    const std::size_t members = 1 + s.group_->ran.size();
    for (seat* m : s.group_->ran) {
        m->state_ = failure ? seat::state::failed : seat::state::committed;
        m->failure_ = failure;
        m->wake_.notify_one();
    }
    s.group_ = nullptr;
    s.owned_.reset();
    return members;
}

std::exception_ptr commit_groups::finish_turn(seat& s, std::exception_ptr lost) {
    std::unique_lock lock(mutex_);
    group& g = *s.group_;
    if (lost && !g.lost) g.lost = std::move(lost);
    s.state_ = seat::state::ran;
    g.ran.push_back(&s);
    g.running = nullptr;
    if (seat* next = next_turn(g)) {
        lock.unlock();
        next->wake_.notify_one();
        lock.lock();
    } else {
        g.turn_ended.notify_one();  // under the mutex: the leader may conclude and free g
    }
    s.wake_.wait(lock, [&s] {
        return s.state_ == seat::state::committed || s.state_ == seat::state::failed;
    });
    s.group_ = nullptr;
    return s.failure_;
}

}  // namespace invsys
