// Ruled: a test-only resource type (collection `vans`) that declares every
// declarative allocation rule (invsys/resource_type.hpp, allocation_rules),
// so that the integration tests can exercise each one and its override
// from the configuration:
//   allocation types  booking, maintenance
//   booking           30 min to 1 day; maintenance unbounded
//   buffers           15 min before, 30 min after each allocation
//   minimum notice    1 h
#include <invsys/plugin_abi.hpp>

namespace invsys {
namespace {

constexpr std::int64_t minute_us = 60LL * 1000 * 1000;

class ruled_type final : public named_resource_type<ruled_type> {
  public:
    static constexpr std::string_view name = "Van";
    std::string collection() const noexcept override { return "vans"; }

    std::vector<attribute_spec> attributes() const noexcept override { return {}; }

    allocation_rules rules() const noexcept override {
        allocation_rules r;
        r.allocation_types = {"booking", "maintenance"};
        r.durations = {{"booking", 30 * minute_us, 24 * 60 * minute_us}};
        r.buffer_before_us = 15 * minute_us;
        r.buffer_after_us = 30 * minute_us;
        r.min_notice_us = 60 * minute_us;
        return r;
    }
};

}  // namespace
}  // namespace invsys

INVSYS_PLUGIN(invsys::ruled_type)
