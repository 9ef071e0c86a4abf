// Signing, encryption and key derivation from several threads at once over
// shared keys: results must match the single-threaded ones and every nonce
// must stay unique. Meant to run under ASan/UBSan (and TSan).
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "smb/crypto/smb_crypto.h"
#include "tests/unit/smb/crypto/test_util.h"

namespace concordfs::smb {
namespace {

using testing::Preauth311;
using testing::Write311;

TEST(Concurrency, SignEncryptDeriveFromManyThreads) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 300;
  const SessionKeys keys = DeriveSessionKeys(0x0311, std::string(16, 's'),
                                             Cipher::kAes128Gcm, Preauth311());
  const std::string message = Write311();
  const std::string cmac =
      ComputeSignature(SigningAlg::kAesCmac, keys.signing, message);
  const std::string gmac =
      ComputeSignature(SigningAlg::kAesGmac, keys.signing, message);
  const std::string hmac =
      ComputeSignature(SigningAlg::kHmacSha256, keys.signing, message);

  std::mutex mu;
  std::set<std::string> nonces;  // guarded by mu
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> mine;
      const Cipher cipher = t % 2 ? Cipher::kAes128Gcm : Cipher::kAes128Ccm;
      for (int i = 0; i < kRounds; ++i) {
        std::string msg = message;
        if (!SignMessage(SigningAlg::kAesGmac, keys.signing, &msg) ||
            msg.substr(48, 16) != gmac ||
            ComputeSignature(SigningAlg::kAesCmac, keys.signing, message) !=
                cmac ||
            ComputeSignature(SigningAlg::kHmacSha256, keys.signing, message) !=
                hmac) {
          ++failures[t];
        }
        auto sealed = EncryptMessage(cipher, keys.encrypt, t, msg);
        if (!sealed.ok()) {
          ++failures[t];
          continue;
        }
        mine.push_back(sealed->substr(20, 16));
        auto opened = DecryptMessage(cipher, keys.encrypt, *sealed);
        if (!opened.ok() || opened->plaintext != msg ||
            !VerifySignature(SigningAlg::kAesGmac, keys.signing,
                             opened->plaintext)) {
          ++failures[t];
        }
        if (i % 50 == 0 && DeriveSessionKeys(0x0311, std::string(16, 's'),
                                             Cipher::kAes128Gcm, Preauth311())
                                   .encrypt != keys.encrypt) {
          ++failures[t];
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      for (std::string& n : mine) {
        if (!nonces.insert(std::move(n)).second) ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kThreads * kRounds));
}

}  // namespace
}  // namespace concordfs::smb
