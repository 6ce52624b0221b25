#include "delivery/unsubscribe.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace followup::delivery {
namespace {

namespace fs = std::filesystem;

const std::string kKey = std::string("0123456789abcdef0123456789abcdef", 32);
const std::string kOtherKey = std::string(32, '\x7f');
const std::string kBase = "https://shop.example.com/unsubscribe";

std::string QueryOf(const std::string& url) { return url.substr(url.find('?') + 1); }

// The t= value of a link.
std::string TokenOf(const std::string& url) { return url.substr(url.find("&t=") + 3); }

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(UnsubscribeTest, RoundTrip) {
  std::string url = UnsubscribeUrl(kBase, kKey, "c-17");
  EXPECT_TRUE(url.starts_with(kBase + "?c=c-17&t=")) << url;
  EXPECT_EQ(TokenOf(url).size(), 44u);
  EXPECT_EQ(TokenOf(url), UnsubscribeToken(kKey, "c-17"));
  // The whole URL, the request target, the query with and without '?'.
  EXPECT_EQ(*VerifyUnsubscribe(kKey, url), "c-17");
  EXPECT_EQ(*VerifyUnsubscribe(kKey, "/unsubscribe?" + QueryOf(url)), "c-17");
  EXPECT_EQ(*VerifyUnsubscribe(kKey, "?" + QueryOf(url)), "c-17");
  EXPECT_EQ(*VerifyUnsubscribe(kKey, QueryOf(url)), "c-17");
  // Other parameters, their order and a fragment do not matter.
  std::string t = TokenOf(url);
  EXPECT_EQ(*VerifyUnsubscribe(kKey, "utm_source=x&t=" + t + "&&c=c-17#top"), "c-17");
  // The same customer, the same link; another customer, another token.
  EXPECT_EQ(UnsubscribeUrl(kBase, kKey, "c-17"), url);
  EXPECT_NE(UnsubscribeToken(kKey, "c-18"), t);
  EXPECT_NE(UnsubscribeToken(kOtherKey, "c-17"), t);
}

TEST(UnsubscribeTest, BaseWithQuery) {
  std::string url = UnsubscribeUrl("https://shop.example.com/u?list=news", kKey, "c1");
  EXPECT_TRUE(url.starts_with("https://shop.example.com/u?list=news&c=c1&t=")) << url;
  EXPECT_EQ(*VerifyUnsubscribe(kKey, url), "c1");
}

TEST(UnsubscribeTest, CustomerIdIsPercentEncoded) {
  const std::string id = "a&b=c?d/e f+g%h#i\xc3\xa9";
  std::string url = UnsubscribeUrl(kBase, kKey, id);
  EXPECT_EQ(url.substr(0, url.find("&t=")), kBase + "?c=a%26b%3Dc%3Fd%2Fe%20f%2Bg%25h%23i%C3%A9");
  EXPECT_EQ(url.find(' '), std::string::npos);
  auto back = VerifyUnsubscribe(kKey, url);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, id);
  // '+' reads as a space, as forms write it.
  std::string plus = "c=a+b&t=" + UnsubscribeToken(kKey, "a b");
  EXPECT_EQ(*VerifyUnsubscribe(kKey, plus), "a b");
}

TEST(UnsubscribeTest, ForgedTokensFail) {
  std::string url = UnsubscribeUrl(kBase, kKey, "c-17");
  std::string t = TokenOf(url);
  // Another key.
  auto r = VerifyUnsubscribe(kOtherKey, url);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().message, "unsubscribe link: the token does not match the customer");
  // Another customer with this customer's token.
  EXPECT_FALSE(VerifyUnsubscribe(kKey, Replace(url, "c=c-17", "c=c-18")));
  EXPECT_FALSE(VerifyUnsubscribe(kKey, Replace(url, "c=c-17", "c=c-17%20")));
  // Every bit of the token flipped in turn (through its base64url character).
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < t.size(); ++i) {
    int v = static_cast<int>(alphabet.find(t[i]));
    for (int bit = 0; bit < 6; ++bit) {
      std::string forged = t;
      forged[i] = alphabet[v ^ (1 << bit)];
      EXPECT_FALSE(VerifyUnsubscribe(kKey, "c=c-17&t=" + forged)) << i << " " << bit;
    }
  }
  // A token of another version is refused.
  std::string v2 = t;
  v2[0] = 'A';
  v2[1] = 'g';  // 0x02 ...
  r = VerifyUnsubscribe(kKey, "c=c-17&t=" + v2);
  ASSERT_FALSE(r);
}

TEST(UnsubscribeTest, GarbledLinksFail) {
  std::string url = UnsubscribeUrl(kBase, kKey, "c-17");
  std::string t = TokenOf(url);
  auto fails = [&](const std::string& query, const std::string& why) {
    auto r = VerifyUnsubscribe(kKey, query);
    EXPECT_FALSE(r) << query;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
      EXPECT_NE(r.error().message.find(why), std::string::npos)
          << query << ": " << r.error().message;
    }
  };
  fails("", "no customer");
  fails(kBase, "no customer");
  fails("c=&t=" + t, "no customer");
  fails("c=c-17", "no token");
  fails("c=c-17&t=", "no token");
  fails("t=" + t, "no customer");
  fails("c=c-17&t=" + t.substr(0, 43), "43 characters");  // truncated
  fails("c=c-17&t=" + t.substr(0, 22), "22 characters");
  fails("c=c-17&t=" + t + "A", "45 characters");
  fails("c=c-17&t=" + std::string(44, '!'), "not base64url");
  fails("c=c-17&t=" + Replace(t, t.substr(0, 2), "+/"), "not base64url");
  fails("c=c-17&t=" + t.substr(0, 42) + "==", "not base64url");
  fails("c=c-17&c=c-18&t=" + t, "c given twice");
  fails("c=c-17&t=" + t + "&t=" + t, "t given twice");
  fails("c=c%2&t=" + t, "badly percent-encoded");
  fails("c=c%zz17&t=" + t, "badly percent-encoded");
  fails("c=c-17&t=" + t + "&x=" + std::string(9000, 'x'), "longer than");
  // The last character may not carry stray bits: 33 bytes fill 44 characters exactly, so any
  // character is canonical here; a flipped one is a forgery.
  fails("c=c-17&t=" + t.substr(0, 43) + (t[43] == 'A' ? "B" : "A"), "does not match");
}

TEST(UnsubscribeTest, EmptyCustomerIdStillSigns) {
  // The URL is made (nothing to refuse in a pure function) but never verifies.
  std::string url = UnsubscribeUrl(kBase, kKey, "");
  EXPECT_FALSE(VerifyUnsubscribe(kKey, url));
}

// ---------------------------------------------------------------------------------------------
// The key file.

TEST(UnsubscribeKeyTest, CreatedOnceWithMode0600AndReused) {
  testing::TempDir dir;
  std::string path = dir / "state/unsubscribe.key";
  auto key = LoadOrCreateKey(path);
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->size(), 32u);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = testing::ReadFile(path);
  EXPECT_EQ(text.size(), 65u);  // 64 hex digits and a newline
  EXPECT_EQ(text.back(), '\n');
  // No temp files left beside it.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "state")) ++files;
  EXPECT_EQ(files, 1);

  auto again = LoadOrCreateKey(path);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(*again, *key);
  EXPECT_EQ(testing::ReadFile(path), text);

  // Another file, another key.
  auto other = LoadOrCreateKey(dir / "other.key");
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *key);
  // And links made with it only verify with it.
  EXPECT_TRUE(VerifyUnsubscribe(*key, UnsubscribeUrl(kBase, *key, "c1")));
  EXPECT_FALSE(VerifyUnsubscribe(*other, UnsubscribeUrl(kBase, *key, "c1")));
}

TEST(UnsubscribeKeyTest, ConcurrentCreatorsAgree) {
  testing::TempDir dir;
  std::string path = dir / "unsubscribe.key";
  std::vector<std::string> keys(8);
  std::vector<std::thread> threads;
  for (auto& k : keys)
    threads.emplace_back([&k, &path] {
      auto r = LoadOrCreateKey(path);
      if (r) k = *r;
    });
  for (auto& t : threads) t.join();
  for (const auto& k : keys) EXPECT_EQ(k, keys[0]);
  EXPECT_EQ(keys[0].size(), 32u);
}

TEST(UnsubscribeKeyTest, ReadsHexAndBase64) {
  testing::TempDir dir;
  std::string bytes;
  for (int i = 0; i < 40; ++i) bytes += static_cast<char>(i * 7);
  dir.Write("hex.key",
            "  00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11\n");
  auto hex = LoadOrCreateKey(dir / "hex.key");
  ASSERT_TRUE(hex) << hex.error().ToString();
  EXPECT_EQ(*hex, bytes);
  dir.Write("b64.key", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK+2vcTL0tng5+71/AMKEQ==\n");
  auto b64 = LoadOrCreateKey(dir / "b64.key");
  ASSERT_TRUE(b64) << b64.error().ToString();
  EXPECT_EQ(*b64, bytes);
  dir.Write("b64url.key", "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tng5-71_AMKEQ");
  auto b64url = LoadOrCreateKey(dir / "b64url.key");
  ASSERT_TRUE(b64url) << b64url.error().ToString();
  EXPECT_EQ(*b64url, bytes);
}

TEST(UnsubscribeKeyTest, BadKeysNameTheFile) {
  testing::TempDir dir;
  std::string path = dir.Write("short.key", std::string(62, 'a') + "\n");  // 31 bytes
  auto r = LoadOrCreateKey(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().where.file, path);
  EXPECT_NE(r.error().ToString().find(path + ": the unsubscribe key is too short: 31 bytes"),
            std::string::npos)
      << r.error().ToString();
  // The short key is left alone.
  EXPECT_EQ(testing::ReadFile(path), std::string(62, 'a') + "\n");

  path = dir.Write("empty.key", "");
  r = LoadOrCreateKey(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where.file, path);

  path = dir.Write("garbage.key", "this is not a key at all, not even base64!!\n");
  r = LoadOrCreateKey(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(r.error().where.file, path);

  // Unreadable: a folder where the file should be.
  fs::create_directories(dir / "folder.key");
  r = LoadOrCreateKey(dir / "folder.key");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRuntime);
  EXPECT_EQ(r.error().where.file, dir / "folder.key");

  // Cannot be created: its folder is a file.
  dir.Write("plain", "x");
  r = LoadOrCreateKey(dir / "plain/unsubscribe.key");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kRuntime);
  EXPECT_EQ(r.error().where.file, dir / "plain/unsubscribe.key");
}

}  // namespace
}  // namespace followup::delivery
