// Case (h) of the benchmark: the FastCGI hop's ceiling. A minimal libfcgi
// responder that answers every request with the same bytes, read once at
// start-up from a file (the FastCGI response of case (b): Status line,
// headers, blank line, body), doing no work at all. Behind the same
// rendered nginx gateway as invsys, it measures what the architecture
// (nginx -> FastCGI over a unix socket -> libfcgi) costs before invsys does
// anything.
//
//   fcgi_ceiling --socket PATH --response FILE --threads N
//
// Each thread loops in FCGX_Accept_r on the shared listening socket, as in
// libfcgi's threaded example (no accept mutex: not needed on Linux). libfcgi
// ties a thread to a kept-alive connection until nginx closes it, so N must
// cover every connection nginx can hold open (bench/run.sh passes client
// connections + nginx workers x keepalive + a margin). Runs until killed.
#include <fcgiapp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string response;  // written before the threads start, read-only after
int listen_fd = -1;

void serve() {
    FCGX_Request request;
    if (FCGX_InitRequest(&request, listen_fd, 0) != 0) return;
    while (FCGX_Accept_r(&request) == 0) {
        FCGX_PutStr(response.data(), static_cast<int>(response.size()), request.out);
        FCGX_Finish_r(&request);
    }
}

// SIGTERM ends the process at once, with status 0: there is nothing to
// finish, and bench/run.sh's stop then reports no death by signal.
extern "C" void on_term(int) { _exit(0); }

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: fcgi_ceiling --socket PATH --response FILE --threads N\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::string socket_path, response_path;
    int threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--socket") == 0)
            socket_path = argv[i + 1];
        else if (std::strcmp(argv[i], "--response") == 0)
            response_path = argv[i + 1];
        else if (std::strcmp(argv[i], "--threads") == 0)
            threads = std::atoi(argv[i + 1]);
        else
            usage();
    }
    if (argc % 2 != 1 || socket_path.empty() || response_path.empty() || threads < 1 ||
        threads > 1024)
        usage();

    std::ifstream in(response_path, std::ios::binary);
    response.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        std::perror(response_path.c_str());
        return 1;
    }
    if (response.empty() || response.find("\r\n\r\n") == std::string::npos) {
        std::fprintf(stderr, "fcgi_ceiling: %s holds no CGI response (headers, blank line, body)\n",
                     response_path.c_str());
        return 1;
    }

    std::signal(SIGTERM, on_term);
    if (FCGX_Init() != 0) return 1;
    listen_fd = FCGX_OpenSocket(socket_path.c_str(), 1024);
    if (listen_fd < 0) {
        std::fprintf(stderr, "fcgi_ceiling: cannot listen on %s\n", socket_path.c_str());
        return 1;
    }
    // Owner and group only, like invsys-fcgi's socket (run.sh sets the group
    // nginx's workers have when it runs as root).
    chmod(socket_path.c_str(), 0660);

    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) pool.emplace_back(serve);
    std::fprintf(stderr, "fcgi_ceiling ready: %d threads on %s, %zu response bytes\n", threads,
                 socket_path.c_str(), response.size());
    for (auto& t : pool) t.join();
    return 0;
}
