// Sleepy: a test-only resource type whose attribute check takes as long as
// the request asks (attribute `sleep_ms`, 0-60000), so that the integration
// tests of the worker pool can keep a request in flight for a known time:
// the request timeout, a graceful stop under load, a crash mid-request.
//
// When the environment variable SLEEPY_MARKER_DIR names a directory, each
// sleep is announced there by an empty file `<pid>-<tid>-<sleep_ms>` that is
// removed when the sleep ends (it stays behind when the process is killed),
// so that a test can tell which worker process is busy with a slow request.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <invsys/plugin_abi.hpp>
#include <string>
#include <thread>

namespace invsys {
namespace {

class sleepy_type final : public named_resource_type<sleepy_type> {
  public:
    static constexpr std::string_view name = "Sleepy";
    std::string collection() const noexcept override { return "sleepies"; }

    std::vector<attribute_spec> attributes() const noexcept override {
        attribute_spec sleep;
        sleep.name = "sleep_ms";
        sleep.kind = attribute_kind::integer;
        sleep.description = "How long the attribute check sleeps, in milliseconds (tests only).";
        sleep.minimum = 0;
        sleep.maximum = 60000;
        return {sleep};
    }

    std::vector<rule_violation> check_attributes(
        const attribute_map& attributes) const noexcept override {
        const auto found = attributes.find("sleep_ms");
        if (found == attributes.end() || found->second.integer <= 0) return {};
        const long long ms = found->second.integer;
        std::string marker;
        if (const char* dir = std::getenv("SLEEPY_MARKER_DIR"); dir != nullptr && *dir != '\0') {
            marker = std::string(dir) + "/" + std::to_string(::getpid()) + "-" +
                     std::to_string(static_cast<long>(::syscall(SYS_gettid))) + "-" +
                     std::to_string(ms);
            const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd >= 0) ::close(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        if (!marker.empty()) ::unlink(marker.c_str());
        return {};
    }
};

}  // namespace
}  // namespace invsys

INVSYS_PLUGIN(invsys::sleepy_type)
