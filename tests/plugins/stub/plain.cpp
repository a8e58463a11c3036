// A shared library that is not an invsys plugin: it lacks the info record.
extern "C" __attribute__((visibility("default"))) int invsys_test_plain_library() { return 42; }
