// Group commit of the SQLite store: the writers of one process that queue
// for the write lock while it is taken share one transaction, so that one
// COMMIT (one fsync of the WAL, synchronous=FULL) makes all their writes
// durable instead of one fsync each.
//
// Who does what (the store drives it, store.cpp):
// - The first writer to arrive when no group is open *leads* a new one: it
//   takes the write lock, opens the transaction (BEGIN IMMEDIATE) and runs
//   its own body in it.
// - Writers arriving while a group is open (its leader still waiting for
//   the lock, or bodies running) *join* it and wait for their turn. At its
//   turn a member runs its body on the leader's connection, inside a
//   SAVEPOINT of its own: a failure (a 409, a missing row, any error) rolls
//   back its savepoint only, and is that member's answer, no one else's.
//   Each body sees everything committed and everything its group's earlier
//   bodies wrote, so every check still comes before its write with nothing
//   in between.
// - Once its own body is done the leader hands the turn to the first
//   queued member, and each member to the next, in order of arrival; when
//   none is left the leader closes the group (later writers open the next
//   one, which queues on the lock during this COMMIT), commits, and only
//   then tells every member the outcome: no write is acknowledged before
//   the COMMIT that makes it durable has returned. A failed COMMIT is every
//   member's failure.
// - One body at a time uses the connection: the turn is handed under this
//   object's mutex, so each hand-off orders the connection's use.
//
// Groups are per process: a group's members are threads of the leader's
// process, and die with it. A leader killed mid-group (kill -9) takes its
// members with it (their clients see nginx's 502) and SQLite rolls the
// uncommitted transaction back, so no one is ever told of a write that is
// not in the database. Other processes' writers queue on the write lock as
// before and form their own groups while they wait; processes take turns
// at the lock, each turn committing what queued in that process meanwhile.
// docs/architecture.md ("Group commit") says why not one group across
// processes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>

namespace invsys {

class sqlite_connection;

class commit_groups {
  public:
    using deadline = std::chrono::steady_clock::time_point;
    struct group;

    // One writer's place in a group, from enter() to the group's outcome.
    class seat {
      public:
        seat();
        ~seat();
        seat(const seat&) = delete;
        seat& operator=(const seat&) = delete;

        bool leads() const noexcept { return leads_; }
        // The group's connection, once the transaction is open (a member:
        // at its turn; the leader: after opened()).
        sqlite_connection& connection() const noexcept;

      private:
        friend class commit_groups;
        enum class state { queued, turn, ran, committed, failed, retry };
        bool leads_ = false;
        group* group_ = nullptr;
        state state_ = state::queued;
        std::exception_ptr failure_;    // state failed: why
        std::condition_variable wake_;  // its state changed
        std::unique_ptr<group> owned_;  // the leader's group
    };

    // At most `max_members` writers per group, its leader included; 1:
    // every writer commits alone.
    explicit commit_groups(std::size_t max_members);
    commit_groups(const commit_groups&) = delete;
    commit_groups& operator=(const commit_groups&) = delete;

    // Joins the open group and waits for its turn, or opens a group and
    // leads it (then open its transaction and call opened(), or abandon()).
    // Throws database busy when `until` passes before a member's turn.
    void enter(seat& s, deadline until);

    // The leader: the transaction is open on `c`; members may take turns.
    void opened(seat& s, sqlite_connection& c) noexcept;

    // The leader: its group ends without committing (the lock was not had,
    // the transaction would not open, or the leader's own body failed and
    // rolled the transaction back before anyone else's ran). Every member
    // enters again, in a later group.
    void abandon(seat& s) noexcept;

    // The leader, its own body done: hands the turn to the first queued
    // member (each member hands it on to the next, finish_turn), waits
    // until none is left, then closes the group to newcomers. Returns the failure
    // that lost the transaction when a member's broke it (the leader must
    // then roll back and call conclude() with it), else null.
    std::exception_ptr run_members(seat& s);

    // The leader, after COMMIT (failure null) or after it failed or the
    // transaction was lost (`failure` is what everyone who ran is told):
    // gives each member that ran its outcome and wakes it. Returns how
    // many writers the group had, its leader included.
    std::size_t conclude(seat& s, std::exception_ptr failure) noexcept;

    // A member, its body done. `lost` non-null: the body's statements
    // ended the transaction itself (an I/O error, disk full), so the
    // leader must not commit. Waits for the group's outcome and returns
    // the group's failure, null when the group committed.
    std::exception_ptr finish_turn(seat& s, std::exception_ptr lost);

  private:
    void release_waiting(group& g);  // every queued member enters again
    seat* next_turn(group& g);       // the next queued member, now at its turn, if any

    const std::size_t max_members_;
    std::mutex mutex_;
    group* open_ = nullptr;  // the group newcomers join, if any
};

}  // namespace invsys
