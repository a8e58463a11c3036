#include "storage/postgresql/migrations.hpp"

#include "storage/schema_files.hpp"

namespace invsys {

const std::vector<migration>& postgresql_migrations() {
    static const std::vector<migration> steps = migrations_of(schema_files::postgresql);
    return steps;
}

}  // namespace invsys
