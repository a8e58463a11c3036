// Lorry: a goods vehicle, described by how much it may carry.
#include <invsys/plugin_abi.hpp>

namespace invsys {
namespace {

class lorry_type final : public named_resource_type<lorry_type> {
  public:
    static constexpr std::string_view name = "Lorry";
    std::string collection() const noexcept override { return "lorries"; }

    std::vector<attribute_spec> attributes() const noexcept override {
        attribute_spec max_load;
        max_load.name = "max_load_kg";
        max_load.kind = attribute_kind::number;
        max_load.description = "Maximum permitted payload in kilograms.";
        max_load.exclusive_minimum = 0;  // a lorry that may carry nothing is a data error
        return {max_load};
    }
};

}  // namespace
}  // namespace invsys

INVSYS_PLUGIN(invsys::lorry_type)
