#ifndef GATEHOUSE_SERVICE_GRPC_CALL_MESSAGES_H_
#define GATEHOUSE_SERVICE_GRPC_CALL_MESSAGES_H_

#include <cstddef>

#include "google/protobuf/arena.h"

namespace gatehouse {

// Whether CallMessages puts the messages on its arena. Not in a
// ThreadSanitizer build: protobuf's MapFieldBase has members only under
// ThreadSanitizer (map_field.h, on the same condition as here), and
// Debian's libprotobuf is built without it, so the map fields a TSan build
// compiles do not match the library's, whose arena clean-up of them then
// reads the wrong layout. Messages on the heap are destroyed by the
// generated code itself.
#if defined(__SANITIZE_THREAD__) || defined(THREAD_SANITIZER)
inline constexpr bool kCallMessagesOnArena = false;
#else
inline constexpr bool kCallMessagesOnArena = true;
#endif

// The request and the response of one call, on an arena whose first block
// is part of this object: parsing a typical request (its subjects, their
// key maps) and building its verdicts take no allocation of their own, and
// freeing them all is freeing this object, not each string and map node.
// Larger requests (a Batch of hundreds of items) grow the arena in further
// blocks, freed with it.
template <typename RequestProto, typename ResponseProto>
struct CallMessages {
  // Holds a 16-subject Check and its 16 verdicts.
  static constexpr size_t kInlineBlock = 8192;

  CallMessages()
      : arena(Options(inline_block)),
        request(Create<RequestProto>()),
        response(Create<ResponseProto>()) {}
  ~CallMessages() {
    if (!kCallMessagesOnArena) {
      delete request;
      delete response;
    }
  }
  CallMessages(const CallMessages&) = delete;
  CallMessages& operator=(const CallMessages&) = delete;

  // Before the arena: it outlives it.
  alignas(std::max_align_t) char inline_block[kInlineBlock];
  google::protobuf::Arena arena;
  RequestProto* const request;
  ResponseProto* const response;

 private:
  static google::protobuf::ArenaOptions Options(char* block) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = kInlineBlock;
    options.start_block_size = kInlineBlock;
    return options;
  }
  template <typename Message>
  Message* Create() {
    return google::protobuf::Arena::CreateMessage<Message>(
        kCallMessagesOnArena ? &arena : nullptr);
  }
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_CALL_MESSAGES_H_
