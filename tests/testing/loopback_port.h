#ifndef GATEHOUSE_TESTS_TESTING_LOOPBACK_PORT_H_
#define GATEHOUSE_TESTS_TESTING_LOOPBACK_PORT_H_

namespace gatehouse::testing {

// A TCP port on 127.0.0.1 that was free a moment ago: bound, then released.
// For "server down" tests, and for programs that cannot take port 0 and
// report the port they bound. 0 if none could be bound.
int UnusedLoopbackPort();

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_TESTING_LOOPBACK_PORT_H_
