#include "storage/sqlite/migrations.hpp"

#include "storage/schema_files.hpp"

namespace invsys {

const std::vector<migration>& sqlite_migrations() {
    static const std::vector<migration> steps = migrations_of(schema_files::sqlite);
    return steps;
}

}  // namespace invsys
