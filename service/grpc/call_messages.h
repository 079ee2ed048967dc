#ifndef GATEHOUSE_SERVICE_GRPC_CALL_MESSAGES_H_
#define GATEHOUSE_SERVICE_GRPC_CALL_MESSAGES_H_

#include <cstddef>

#include "google/protobuf/arena.h"

namespace gatehouse {

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
        request(google::protobuf::Arena::CreateMessage<RequestProto>(&arena)),
        response(
            google::protobuf::Arena::CreateMessage<ResponseProto>(&arena)) {}
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
};

}  // namespace gatehouse

#endif  // GATEHOUSE_SERVICE_GRPC_CALL_MESSAGES_H_
