#ifndef GATEHOUSE_CLIENT_THREAD_HANDOFF_H_
#define GATEHOUSE_CLIENT_THREAD_HANDOFF_H_

// Tells ThreadSanitizer about an object handed from one thread to another
// through a library it cannot see into, such as a tag passed through gRPC's
// completion queue: everything the sending thread did before HandOff(p)
// happens before what the receiving thread does after TakeOver(p). Without
// it TSan, which sees neither side of gRPC's own locking, reports the
// receiver's reads as races. No-ops in any other build.

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace gatehouse {

inline void HandOff([[maybe_unused]] void* p) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(p);
#endif
}

inline void TakeOver([[maybe_unused]] void* p) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(p);
#endif
}

}  // namespace gatehouse

#endif  // GATEHOUSE_CLIENT_THREAD_HANDOFF_H_
