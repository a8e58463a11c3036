// The plugin files one generation of workers loads, named by identity.
//
// Without it every worker start rescans the plugin directory, but the
// check child runs only on SIGHUP: a library dropped in (or replaced)
// without a reload would be loaded unchecked by the next restarted or
// recycled worker, and the workers of one generation would then disagree
// about the collections. So the master lists the directory once per
// generation — at start, and on SIGHUP before the check child — and the
// check and every worker of that generation load exactly the listed files,
// each only while it is still the same file (device, inode, size,
// modification time). A file added since is left for the next reload; one
// changed since is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invsys {

struct plugin_file {
    std::string name;  // a file name in the plugin directory (no '/')
    unsigned long long device = 0;
    unsigned long long inode = 0;
    unsigned long long size = 0;
    long long mtime_ns = 0;

    bool operator==(const plugin_file&) const = default;
};

// The *.so files of `directory` that are not directories, by name. Throws
// std::runtime_error when the directory cannot be read.
std::vector<plugin_file> list_plugin_files(const std::string& directory);

// `path` as a plugin_file named `name`; empty when it cannot be stat()ed.
std::optional<plugin_file> identify_plugin_file(const std::string& path, std::string name);

// The text form passed from the master to the check child (an argument)
// and kept in the generation's config: `device:inode:size:mtime:name`
// entries joined by '/' (a file name has no '/'). parse throws
// std::runtime_error on malformed text.
std::string format_plugin_manifest(const std::vector<plugin_file>& files);
std::vector<plugin_file> parse_plugin_manifest(std::string_view text);

}  // namespace invsys
