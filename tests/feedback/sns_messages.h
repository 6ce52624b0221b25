// Amazon SNS messages signed the way SNS signs them (SignatureVersion 1: SHA1withRSA, 2:
// SHA256withRSA over the string to sign the SNS documentation gives), with a key made in the test.
#pragma once

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "feedback/crypto.h"
#include "feedback/test_keys.h"

namespace followup::feedback::testing {

// The SNS string to sign for message `m`.
inline std::string SnsStringToSign(const nlohmann::json& m) {
  std::string out;
  bool confirmation = m["Type"] != "Notification";
  std::vector<std::string> names =
      confirmation ? std::vector<std::string>{"Message", "MessageId", "SubscribeURL", "Timestamp",
                                              "Token",   "TopicArn",  "Type"}
                   : std::vector<std::string>{"Message",   "MessageId", "Subject",
                                              "Timestamp", "TopicArn",  "Type"};
  for (const std::string& name : names) {
    if (!m.contains(name)) continue;
    out += name + "\n" + m[name].get<std::string>() + "\n";
  }
  return out;
}

// `m` with SignatureVersion, SigningCertURL and Signature, signed with `key`.
inline nlohmann::json SignSns(nlohmann::json m, EVP_PKEY* key, const std::string& cert_url,
                              int version = 1) {
  m["SignatureVersion"] = std::to_string(version);
  m["SigningCertURL"] = cert_url;
  m["Signature"] =
      Base64Encode(Sign(key, version == 1 ? EVP_sha1() : EVP_sha256(), SnsStringToSign(m)));
  return m;
}

}  // namespace followup::feedback::testing
