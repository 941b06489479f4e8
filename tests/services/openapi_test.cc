// The OpenAPI document describes exactly the routes the handlers serve, with the
// statuses each can answer.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/json/json.h"
#include "services/orders/http_api.h"
#include "services/query/http_api.h"

namespace orderflow::services {
namespace {

using Operations = std::map<std::string, std::set<int>>;  // "POST /orders" -> statuses

core::Json load_document() {
  std::ifstream file(ORDERFLOW_OPENAPI);
  std::stringstream text;
  text << file.rdbuf();
  auto doc = core::parse(text.str());
  EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().to_string());
  return doc.value_or(core::Json{});
}

Operations documented(const core::Json& doc) {
  Operations ops;
  const core::Json* paths = doc.find("paths");
  if (paths == nullptr || paths->as_object() == nullptr) return ops;
  for (const auto& [path, item] : *paths->as_object()) {
    for (const auto& [method, operation] : *item.as_object()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      auto& statuses = ops[upper + " " + path];
      for (const auto& [status, response] : *operation.find("responses")->as_object()) {
        statuses.insert(std::stoi(status));
      }
    }
  }
  return ops;
}

Operations served() {
  Operations ops;
  for (const auto& routes : {OrdersApi::routes(), QueryApi::routes()}) {
    for (const auto& r : routes)
      ops[r.method + " " + r.path].insert(r.statuses.begin(), r.statuses.end());
  }
  return ops;
}

TEST(OpenApi, DocumentsEveryRouteWithItsStatuses) {
  const Operations in_doc = documented(load_document());
  const Operations in_code = served();
  ASSERT_FALSE(in_code.empty());
  for (const auto& [operation, statuses] : in_code) {
    auto it = in_doc.find(operation);
    ASSERT_NE(it, in_doc.end()) << operation << " is served but not documented";
    EXPECT_EQ(it->second, statuses) << operation;
  }
  for (const auto& [operation, statuses] : in_doc) {
    EXPECT_TRUE(in_code.contains(operation)) << operation << " is documented but not served";
  }
}

}  // namespace
}  // namespace orderflow::services
