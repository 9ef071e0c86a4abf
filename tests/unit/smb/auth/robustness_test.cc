// Malformed input never crashes and never authenticates: every prefix and
// many single-byte corruptions of a valid AUTHENTICATE and of the SPNEGO
// tokens around it, plus seeded random mutations through the fuzz entry
// point.
#include <gtest/gtest.h>

#include <random>

#include "smb/auth/authenticator.h"
#include "smb/auth/spnego.h"
#include "tests/unit/smb/auth/test_ntlm_client.h"

namespace concordfs::smb {
namespace {

using testing::Hex;
using testing::TestNtlmClient;
using Step = Authenticator::Step;

// A recorded exchange that can be replayed into fresh Authenticators: the
// challenge and clock are fixed, so every one sends the same CHALLENGE and
// the recorded AUTHENTICATE (and its MIC) stays valid.
class RobustnessTest : public ::testing::Test {
 protected:
  RobustnessTest() : clock_(1'700'000'000 * kNanosPerSecond) {
    opts_.clock = &clock_;
    mechs_ = {kOidMsKerberos, kOidNtlmssp};
    init_ = EncodeNegTokenInit(mechs_, client_.Negotiate(), std::nullopt);
    Authenticator a = Make();
    Step s1 = a.Process(init_);
    auto r = ParseNegTokenResp(s1.out_token);
    challenge_ = std::string(*r->response_token);
    raw_auth_ = client_.Authenticate(challenge_);
    NegTokenRespOut fin;
    fin.response_token = raw_auth_;
    fin.mech_list_mic = client_.MechListMic(EncodeMechTypeList(mechs_));
    final_ = EncodeNegTokenResp(fin);
    Step s2 = a.Process(final_);
    EXPECT_EQ(s2.status, kStatusSuccess) << s2.error;
    key_ = s2.session_key;
  }

  Authenticator Make() {
    Authenticator a(opts_, [](std::string_view user, std::string_view) {
      SmbUser u;
      u.name = std::string(user);
      u.nt_hash = NtHashOfPassword("s3cret pw");
      return user == "alice" ? std::optional(u) : std::nullopt;
    });
    a.SetServerChallengeForTesting(Hex("1122334455667788"));
    return a;
  }

  // Runs the first leg (valid) and then `second`.
  Step SpnegoSecond(std::string_view second) {
    Authenticator a = Make();
    Step s1 = a.Process(init_);
    EXPECT_EQ(s1.status, kStatusMoreProcessingRequired);
    return a.Process(second);
  }
  Step RawSecond(std::string_view second) {
    Authenticator a = Make();
    Step s1 = a.Process(client_.Negotiate());
    EXPECT_EQ(s1.status, kStatusMoreProcessingRequired);
    return a.Process(second);
  }

  static bool IsCleanFailure(const Step& s) {
    return (s.status == kStatusLogonFailure ||
            s.status == kStatusInvalidParameter) &&
           !s.user && s.session_key.empty() && !s.anonymous;
  }

  ManualClock clock_;
  AuthOptions opts_;
  TestNtlmClient client_;
  std::vector<std::string_view> mechs_;
  std::string init_, challenge_, raw_auth_, final_, key_;
};

TEST_F(RobustnessTest, RecordedExchangeReplaysIntoFreshServers) {
  Step s = SpnegoSecond(final_);
  ASSERT_EQ(s.status, kStatusSuccess) << s.error;
  EXPECT_EQ(s.session_key, key_);
  Step r = RawSecond(raw_auth_);
  ASSERT_EQ(r.status, kStatusSuccess) << r.error;
}

TEST_F(RobustnessTest, EveryPrefixFails) {
  for (size_t n = 0; n < raw_auth_.size(); ++n) {
    Step s = RawSecond(raw_auth_.substr(0, n));
    EXPECT_TRUE(IsCleanFailure(s)) << "raw prefix " << n << ": " << s.error;
  }
  for (size_t n = 0; n < final_.size(); ++n) {
    Step s = SpnegoSecond(final_.substr(0, n));
    EXPECT_TRUE(IsCleanFailure(s)) << "spnego prefix " << n << ": " << s.error;
  }
  for (size_t n = 0; n < init_.size(); ++n) {
    Authenticator a = Make();
    Step s = a.Process(init_.substr(0, n));
    // The empty buffer asks the server to start; every other prefix fails.
    if (n == 0) {
      EXPECT_EQ(s.status, kStatusMoreProcessingRequired);
    } else {
      EXPECT_TRUE(IsCleanFailure(s)) << "init prefix " << n;
    }
  }
}

TEST_F(RobustnessTest, EverySingleByteCorruptionOfAuthenticateFails) {
  // The MIC covers every byte of the message (and NTProofStr the blob), so
  // no corruption may pass.
  for (size_t i = 0; i < raw_auth_.size(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string bad = raw_auth_;
      bad[i] = static_cast<char>(bad[i] ^ x);
      Step s = RawSecond(bad);
      EXPECT_TRUE(IsCleanFailure(s))
          << "byte " << i << " ^ " << int{x} << ": " << s.error;
    }
  }
}

TEST_F(RobustnessTest, SpnegoCorruptionsNeverChangeTheOutcome) {
  // Some DER corruptions leave a still-valid token (e.g. an unknown field
  // tag is skipped, dropping the optional mechListMIC); those may succeed,
  // but only as the same user with the same key.
  for (size_t i = 0; i < final_.size(); ++i) {
    for (uint8_t x : {0x01, 0x04, 0x80, 0xff}) {
      std::string bad = final_;
      bad[i] = static_cast<char>(bad[i] ^ x);
      Step s = SpnegoSecond(bad);
      if (s.status == kStatusSuccess) {
        ASSERT_TRUE(s.user) << i;
        EXPECT_EQ(s.user->name, "alice");
        EXPECT_EQ(s.session_key, key_);
      } else {
        EXPECT_TRUE(IsCleanFailure(s)) << "byte " << i << ": " << s.error;
      }
    }
  }
  for (size_t i = 0; i < init_.size(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string bad = init_;
      bad[i] = static_cast<char>(bad[i] ^ x);
      Authenticator a = Make();
      Step s = a.Process(bad);
      EXPECT_TRUE(s.status == kStatusMoreProcessingRequired ||
                  IsCleanFailure(s))
          << "init byte " << i;
    }
  }
}

TEST_F(RobustnessTest, LengthFieldsPointingAnywhere) {
  // Every 16/32-bit length and offset of the AUTHENTICATE header set to
  // boundary values.
  for (size_t field = 12; field <= 52; field += 8) {
    for (uint32_t off : {0u, 1u, 63u, 64u, 87u, 88u, 0x7fffffffu, 0xffffffffu,
                         static_cast<uint32_t>(raw_auth_.size())}) {
      for (uint16_t len : {0, 1, 16, 24, 0x7fff, 0xffff}) {
        std::string bad = raw_auth_;
        LeWriter w(&bad);
        w.PatchU16(field, len);
        w.PatchU16(field + 2, len);
        w.PatchU32(field + 4, off);
        if (bad == raw_auth_) continue;  // happened to be the original
        Step s = RawSecond(bad);
        EXPECT_TRUE(IsCleanFailure(s)) << field << " " << off << " " << len;
      }
    }
  }
}

TEST_F(RobustnessTest, SeededRandomMutations) {
  std::mt19937 rng(20240611);
  const std::string seeds[] = {init_, final_, raw_auth_, client_.Negotiate(),
                               challenge_};
  for (int iter = 0; iter < 1500; ++iter) {
    std::string s = seeds[iter % 5];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[pos] = static_cast<char>(rng());
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        case 2:
          s.insert(pos, std::string(1 + rng() % 8, static_cast<char>(rng())));
          break;
        default:
          s.resize(pos);
          break;
      }
    }
    FuzzAuthenticatorInput(s);
  }
}

}  // namespace
}  // namespace concordfs::smb
