#include "service/audit/audit_codec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gatehouse/v1/audit.pb.h"
#include "gtest/gtest.h"
#include "service/audit/audit_storage_codec.h"
#include "service/core/audit_event.h"
#include "service/core/storage_error.h"

namespace gatehouse {
namespace {

// Every field of an event that uses all of them.
AuditEvent FullEvent() {
  AuditEvent e;
  e.sequence = 123456789012ull;
  e.time_ms = 1'700'000'000'123;
  e.client_id = "web-frontend";
  e.op = Operation::kRecord;
  e.policy = "failed_auth_user_ip";
  e.key = {{"ip", "203.0.113.0/24"}, {"user", "p_q6j5wsi24r44zqjs6ja6c4dlei"}};
  e.decision = Decision::kDeny;
  e.shadow = true;
  e.shadow_decision = Decision::kDeny;
  e.hits = 7;
  e.count = 12;
  e.limit = 5;
  e.window_ms = 90 * 60'000 + 1'500;
  e.ceiling_hit = true;
  e.locked_until_ms = 1'700'000'900'456;
  e.context = {{"route", "/login \"quoted\""}, {"ua", "J\xc3\xb6rg/1.0"}};
  e.refusal = "PERMISSION_DENIED: no scope";
  e.peer = "ipv4:198.51.100.7";
  e.refused_calls = 41;
  e.first_refused_ms = 1'700'000'000'001;
  e.last_refused_ms = 1'700'000'009'999;
  e.truncated = true;
  e.first_sequence = 123456789000ull;
  e.permanent = true;
  e.reason = VerdictReason::kDenylisted;
  e.network = "198.51.100.0/24";
  e.deny_reason = "credential stuffing, INC-42";
  return e;
}

void ExpectSameEvent(const AuditEvent& want, const AuditEvent& got) {
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.time_ms, want.time_ms);
  EXPECT_EQ(got.client_id, want.client_id);
  EXPECT_EQ(got.op, want.op);
  EXPECT_EQ(got.rpc, want.rpc);
  EXPECT_EQ(got.policy, want.policy);
  EXPECT_EQ(got.key, want.key);
  EXPECT_EQ(got.decision, want.decision);
  EXPECT_EQ(got.shadow, want.shadow);
  EXPECT_EQ(got.shadow_decision, want.shadow_decision);
  EXPECT_EQ(got.hits, want.hits);
  EXPECT_EQ(got.count, want.count);
  EXPECT_EQ(got.limit, want.limit);
  EXPECT_EQ(got.window_ms, want.window_ms);
  EXPECT_EQ(got.ceiling_hit, want.ceiling_hit);
  EXPECT_EQ(got.locked_until_ms, want.locked_until_ms);
  EXPECT_EQ(got.context, want.context);
  EXPECT_EQ(got.refusal, want.refusal);
  EXPECT_EQ(got.peer, want.peer);
  EXPECT_EQ(got.refused_calls, want.refused_calls);
  EXPECT_EQ(got.first_refused_ms, want.first_refused_ms);
  EXPECT_EQ(got.last_refused_ms, want.last_refused_ms);
  EXPECT_EQ(got.truncated, want.truncated);
  EXPECT_EQ(got.first_sequence, want.first_sequence);
  EXPECT_EQ(got.permanent, want.permanent);
  EXPECT_EQ(got.reason, want.reason);
  EXPECT_EQ(got.network, want.network);
  EXPECT_EQ(got.deny_reason, want.deny_reason);
  EXPECT_EQ(got.operator_reason, want.operator_reason);
}

AuditEvent RoundTrip(const AuditEvent& e) {
  absl::StatusOr<AuditEvent> decoded = DecodeAuditEvent(EncodeAuditEvent(e));
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? *decoded : AuditEvent{};
}

TEST(AuditCodecTest, RoundTripsEveryField) {
  const AuditEvent e = FullEvent();
  ExpectSameEvent(e, RoundTrip(e));
}

TEST(AuditCodecTest, RoundTripsTheDefaultEventWithEmptyMaps) {
  const AuditEvent e;
  const AuditEvent got = RoundTrip(e);
  ExpectSameEvent(e, got);
  EXPECT_TRUE(got.key.empty());
  EXPECT_TRUE(got.context.empty());
}

TEST(AuditCodecTest, RoundTripsEveryOperationAndDecision) {
  for (Operation op : {Operation::kCheck, Operation::kPeek, Operation::kRecord,
                       Operation::kReset}) {
    for (Decision d : {Decision::kAllow, Decision::kDeny}) {
      for (bool shadow : {false, true}) {
        SCOPED_TRACE(OperationName(op));
        AuditEvent e = FullEvent();
        e.op = op;
        e.shadow = shadow;
        e.decision = shadow ? Decision::kAllow : d;
        e.shadow_decision = shadow ? d : Decision::kAllow;
        ExpectSameEvent(e, RoundTrip(e));
      }
    }
  }
}

TEST(AuditCodecTest, RoundTripsZeroAndNegativeTimes) {
  for (int64_t ms :
       std::vector<int64_t>{0, 1, 999, 1000, 1001, -1, -999, -1000, -1001,
                            -86'400'000'123, 1'700'000'000'999}) {
    SCOPED_TRACE(ms);
    AuditEvent e = FullEvent();
    e.time_ms = ms;
    ExpectSameEvent(e, RoundTrip(e));
  }
}

TEST(AuditCodecTest, RoundTripsExtremeCounts) {
  AuditEvent e = FullEvent();
  e.sequence = std::numeric_limits<uint64_t>::max();
  e.hits = std::numeric_limits<uint64_t>::max();
  e.count = std::numeric_limits<uint64_t>::max() - 1;
  e.limit = 1'000'000'000;
  e.window_ms = 400LL * 24 * 3'600'000;
  ExpectSameEvent(e, RoundTrip(e));
}

TEST(AuditCodecTest, WireFormUsesTimestampsAndOperationNames) {
  AuditEvent e = FullEvent();
  e.time_ms = -1;
  v1::AuditEvent proto;
  ToProto(e, &proto);
  // A valid Timestamp has nanos in [0, 1e9) even before the epoch.
  EXPECT_EQ(proto.time().seconds(), -1);
  EXPECT_EQ(proto.time().nanos(), 999'000'000);
  EXPECT_EQ(proto.rpc(), "Record");
  EXPECT_EQ(proto.decision(), v1::Verdict::DENY);
  EXPECT_EQ(proto.shadow_decision(), v1::Verdict::DENY);
  EXPECT_EQ(proto.window().seconds(), 5401);
  EXPECT_EQ(proto.window().nanos(), 500'000'000);
  ASSERT_TRUE(proto.has_locked_until());
  EXPECT_EQ(proto.locked_until().seconds(), 1'700'000'900);
  EXPECT_EQ(proto.locked_until().nanos(), 456'000'000);
  EXPECT_EQ(proto.key().at("user"), "p_q6j5wsi24r44zqjs6ja6c4dlei");
  EXPECT_EQ(proto.context().size(), 2);

  // Not locked out: no locked_until at all, and it decodes to 0.
  e.locked_until_ms = 0;
  proto.Clear();
  ToProto(e, &proto);
  EXPECT_FALSE(proto.has_locked_until());
  EXPECT_EQ(RoundTrip(e).locked_until_ms, 0);
}

TEST(AuditCodecTest, DecodedKeyIsInCanonicalDimensionOrder) {
  v1::AuditEvent proto;
  (*proto.mutable_key())["user"] = "u";
  (*proto.mutable_key())["country"] = "NL";
  (*proto.mutable_key())["ip"] = "203.0.113.7";
  proto.set_rpc("Check");
  const AuditEvent e = FromProto(proto).value();
  EXPECT_EQ(e.key,
            (std::vector<std::pair<std::string, std::string>>{
                {"country", "NL"}, {"ip", "203.0.113.7"}, {"user", "u"}}));
}

TEST(AuditCodecTest, GarbageIsDataLoss) {
  const std::string full = EncodeAuditEvent(FullEvent());
  for (const std::string& bad : {
           std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
           std::string("\x0f"),  // Wire type 7 does not exist.
           std::string("\x2a\x10"
                       "ab"),  // policy: 16 bytes promised, 2 given.
           full.substr(0, full.size() - 1),
           std::string("\x00", 1),  // Field number 0.
       }) {
    absl::StatusOr<AuditEvent> decoded = DecodeAuditEvent(bad);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
        << "decoded " << bad.size() << " bytes";
  }
}

TEST(AuditCodecTest, StoredFormIsVersionedNotTheWireMessage) {
  const std::string stored = EncodeAuditEvent(FullEvent());
  ASSERT_GE(stored.size(), 2u);
  EXPECT_EQ(stored[0], '\0');
  EXPECT_EQ(stored[1], '\2');
}

TEST(AuditCodecTest, RpcOtherThanTheOperationsRoundTrips) {
  AuditEvent e = FullEvent();
  e.rpc = "ShouldRateLimit";
  absl::StatusOr<AuditEvent> decoded = DecodeAuditEvent(EncodeAuditEvent(e));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->rpc, "ShouldRateLimit");
  EXPECT_EQ(RpcOf(*decoded), "ShouldRateLimit");
  v1::AuditEvent proto;
  ToProto(*decoded, &proto);
  EXPECT_EQ(proto.rpc(), "ShouldRateLimit");
}

// A check event as version 1 stored it (before reasons and permanent
// lockouts), byte for byte.
constexpr char kVersion1Check[] =
    "\x00\x01"  // marker, version 1
    "\x07"      // sequence 7
    "\xd0\x0f"  // time_ms 1000 (zigzag)
    "\x03"
    "api"   // client_id
    "\x00"  // Check
    "\x08"
    "login_ip"  // policy
    "\x01\x02"
    "ip"
    "\x0c"
    "198.51.100.9"                       // key
    "\x01\x02\x00"                       // DENY, ceiling_hit, shadow ALLOW
    "\x01\x02\x02"                       // hits, count, limit
    "\xc0\xa9\x07"                       // window_ms 60000 (zigzag)
    "\x00\x00\x00\x00\x00\x00\x00\x00";  // locked_until .. first_sequence

TEST(AuditCodecTest, Version1EventsStillDecode) {
  const std::string stored(kVersion1Check, sizeof(kVersion1Check) - 1);
  absl::StatusOr<AuditEvent> decoded = DecodeAuditEvent(stored);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->sequence, 7u);
  EXPECT_EQ(decoded->time_ms, 1000);
  EXPECT_EQ(decoded->client_id, "api");
  EXPECT_EQ(decoded->policy, "login_ip");
  EXPECT_EQ(decoded->key.at(0).second, "198.51.100.9");
  EXPECT_EQ(decoded->decision, Decision::kDeny);
  EXPECT_TRUE(decoded->ceiling_hit);
  EXPECT_EQ(decoded->count, 2u);
  EXPECT_EQ(decoded->window_ms, 60'000);
  EXPECT_FALSE(decoded->permanent);
  EXPECT_EQ(decoded->reason, VerdictReason::kNone);
  EXPECT_EQ(decoded->network, "");
  // An event without the new fields is still written as version 1, so a
  // binary from before version 2 reads it after a rollback.
  EXPECT_EQ(EncodeAuditEvent(*decoded), stored);
  // Version 1 has no permanent flag: set, it is corrupt, not a guess.
  std::string flagged = stored;
  flagged[37] = 2 | 8;
  ASSERT_EQ(stored[37], 2);
  EXPECT_EQ(DecodeAuditEvent(flagged).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AuditCodecTest, Version2RefusesAnUnknownReason) {
  AuditEvent e;
  e.reason = VerdictReason::kExempt;
  std::string stored = EncodeAuditEvent(e);
  ASSERT_EQ(stored[1], 2);
  // reason, then network, deny_reason and rpc (all empty) end the event.
  ASSERT_EQ(stored[stored.size() - 4], 1);
  stored[stored.size() - 4] = 3;
  EXPECT_EQ(DecodeAuditEvent(stored).status().code(),
            absl::StatusCode::kDataLoss);
  e.reason = VerdictReason::kNone;
  e.permanent = true;
  EXPECT_TRUE(RoundTrip(e).permanent);
}

TEST(AuditCodecTest, WireFormCarriesReasonNetworkAndPermanent) {
  v1::AuditEvent proto;
  ToProto(FullEvent(), &proto);
  EXPECT_EQ(proto.reason(), v1::Verdict::DENYLISTED);
  EXPECT_EQ(proto.network(), "198.51.100.0/24");
  EXPECT_EQ(proto.deny_reason(), "credential stuffing, INC-42");
  EXPECT_TRUE(proto.permanent());
  proto.set_reason(static_cast<v1::Verdict::Reason>(7));
  EXPECT_EQ(FromProto(proto).status().message(), "reason: 7 is not a reason");
}

TEST(AuditCodecTest, CeilingEventCarriesWhatWatchersNeed) {
  AuditEvent e = FullEvent();
  e.rpc = "ShouldRateLimit";
  v1::CeilingEvent out;
  ToCeilingEvent(e, &out);
  EXPECT_EQ(out.policy(), e.policy);
  EXPECT_EQ(out.key_size(), static_cast<int>(e.key.size()));
  EXPECT_EQ(out.count(), e.count);
  EXPECT_EQ(out.limit(), e.limit);
  EXPECT_EQ(out.window().seconds() * 1000 + out.window().nanos() / 1000000,
            e.window_ms);
  EXPECT_EQ(out.sequence(), e.sequence);
  EXPECT_EQ(out.time().seconds() * 1000 + out.time().nanos() / 1000000,
            e.time_ms);
  EXPECT_EQ(out.locked_until().seconds() * 1000 +
                out.locked_until().nanos() / 1000000,
            e.locked_until_ms);
  EXPECT_EQ(out.rpc(), "ShouldRateLimit");
  EXPECT_EQ(out.permanent(), e.permanent);
}

TEST(AuditCodecTest, EventsStoredAsWireMessagesStillDecode) {
  // How events were stored before the storage codec.
  v1::AuditEvent proto;
  ToProto(FullEvent(), &proto);
  absl::StatusOr<AuditEvent> decoded =
      DecodeAuditEvent(proto.SerializeAsString());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameEvent(FullEvent(), *decoded);
}

TEST(AuditCodecTest, UnknownOperationIsDataLossNotCheck) {
  v1::AuditEvent proto;
  ToProto(FullEvent(), &proto);
  proto.set_rpc("Frobnicate");
  absl::StatusOr<AuditEvent> legacy =
      DecodeAuditEvent(proto.SerializeAsString());
  EXPECT_EQ(legacy.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(StorageErrorKindOf(legacy.status()), StorageErrorKind::kCorrupt);

  AuditEvent e;
  e.op = Operation::kReset;
  std::string stored = EncodeAuditEvent(e);
  // The operation byte: after marker, version, sequence (0), time (0) and
  // client_id (empty).
  ASSERT_EQ(stored[5], static_cast<char>(Operation::kReset));
  stored[5] = 9;
  EXPECT_EQ(DecodeAuditEvent(stored).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AuditCodecTest, UnknownVersionAndTrailingBytesAreDataLoss) {
  std::string stored = EncodeAuditEvent(FullEvent());
  EXPECT_EQ(DecodeAuditEvent(stored + "x").status().code(),
            absl::StatusCode::kDataLoss);
  stored[1] = 4;
  EXPECT_EQ(DecodeAuditEvent(stored).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AuditCodecTest, OperatorReasonIsStoredAsVersion3OnlyWhenSet) {
  AuditEvent e = FullEvent();
  EXPECT_EQ(EncodeAuditEvent(e)[1], 2) << "events without it stay version 2";
  e.rpc = "Block";
  e.operator_reason = "credential stuffing from AS64500, INC-7";
  const std::string stored = EncodeAuditEvent(e);
  EXPECT_EQ(stored[1], 3);
  ExpectSameEvent(e, RoundTrip(e));
  // Cut inside the reason: corrupt, not a shorter reason.
  EXPECT_EQ(
      DecodeAuditEvent(stored.substr(0, stored.size() - 3)).status().code(),
      absl::StatusCode::kDataLoss);
  v1::AuditEvent proto;
  ToProto(e, &proto);
  EXPECT_EQ(proto.operator_reason(), e.operator_reason);
  EXPECT_EQ(proto.rpc(), "Block");
}

TEST(AuditCodecTest, TimesOutsideProtobufsRangesAreRefusedNotOverflowed) {
  // Found by fuzzing: seconds * 1000 overflowed (undefined behaviour).
  v1::AuditEvent proto;
  ToProto(FullEvent(), &proto);
  proto.mutable_time()->set_seconds(3'543'492'328'579'920'128);
  absl::StatusOr<AuditEvent> e = FromProto(proto);
  EXPECT_EQ(e.status().message(), "time: not a valid timestamp");
  EXPECT_EQ(DecodeAuditEvent(proto.SerializeAsString()).status().code(),
            absl::StatusCode::kDataLoss);

  ToProto(FullEvent(), &proto);
  proto.mutable_window()->set_seconds(-INT64_MAX);
  EXPECT_EQ(FromProto(proto).status().message(),
            "window: not a valid duration");
  ToProto(FullEvent(), &proto);
  proto.mutable_locked_until()->set_nanos(-1);
  EXPECT_EQ(FromProto(proto).status().message(),
            "locked_until: not a valid timestamp");
}

TEST(AuditCodecTest, WireEventWithUnknownRpcIsRefusedNamingTheField) {
  v1::AuditEvent proto;
  proto.set_rpc("Frobnicate");
  absl::StatusOr<AuditEvent> e = FromProto(proto);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "rpc: \"Frobnicate\" is not an operation");
}

}  // namespace
}  // namespace gatehouse
