#include "agents/news/feed_fetch.hpp"

#include <httplib.h>

namespace agentd::agents {

namespace {

using Clock = std::chrono::steady_clock;

struct UrlParts {
  std::string origin;  // scheme://host[:port]
  std::string path;    // /path?query
};

UrlParts split_url(const std::string& url) {
  size_t scheme_end = url.find("://");
  size_t path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string::npos) return {url, "/"};
  return {url.substr(0, path_start), url.substr(path_start)};
}

// One fetch, redirects included.
struct Transfer {
  const std::string& url;
  const FetchLimits& limits;
  std::stop_token stop;
};

constexpr int kMaxRedirects = 5;

bool is_redirect(int status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

// Where a redirect from `from` to `location` leads, or FetchError: only to https (an http feed
// moved to https is followed; https to http, or anywhere over plain http, is not).
std::string redirect_target(const std::string& from, const std::string& location) {
  std::string to = location.starts_with("/") ? split_url(from).origin + location : location;
  if (!to.starts_with("https://")) {
    throw FetchError(from + ": redirected to " + to + "; refused: only redirects to https:// are followed");
  }
  if (std::string problem = url_problem(to); !problem.empty()) throw FetchError(from + ": redirected to " + to + ": " + problem);
  return to;
}

// One request to `url`, within the transfer's limits. A redirect's Location goes to `location`
// and its body is not read; otherwise the body (status 200 only).
std::string fetch_once(const Transfer& t, const std::string& url, Clock::time_point deadline, std::string& location) {
  UrlParts parts = split_url(url);
  httplib::Client client(parts.origin);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t.limits.timeout);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.limits.timeout - seconds);
  client.set_connection_timeout(seconds.count(), micros.count());
  client.set_read_timeout(seconds.count(), micros.count());
  client.set_follow_location(false);  // followed by run_transfer, by its rule
  std::string body, refused;
  auto on_response = [&](const httplib::Response& r) {
    if (is_redirect(r.status) && r.has_header("Location")) {
      location = r.get_header_value("Location");
      return false;
    }
    if (r.status != 200) {
      refused = "HTTP status " + std::to_string(r.status);
      return false;
    }
    return true;
  };
  auto on_data = [&](const char* data, size_t length) {
    if (t.stop.stop_requested()) {
      refused = "cancelled";
      return false;
    }
    if (Clock::now() > deadline) {
      refused = "took longer than " + std::to_string(t.limits.timeout.count()) + " ms";
      return false;
    }
    if (body.size() + length > t.limits.max_bytes) {
      refused = "larger than " + std::to_string(t.limits.max_bytes) + " bytes";
      return false;
    }
    body.append(data, length);
    return true;
  };
  httplib::Result res = client.Get(parts.path, on_response, on_data);
  if (!location.empty()) return {};
  if (!refused.empty()) throw FetchError(t.url + ": " + refused);
  if (!res) throw FetchError(t.url + ": " + httplib::to_string(res.error()));
  if (res->status != 200) throw FetchError(t.url + ": HTTP status " + std::to_string(res->status));
  return body;
}

std::string run_transfer(const Transfer& t) {
  const Clock::time_point deadline = Clock::now() + t.limits.timeout;  // every hop together
  std::string url = t.url;
  for (int hop = 0;; ++hop) {
    std::string location;
    std::string body = fetch_once(t, url, deadline, location);
    if (location.empty()) return body;
    if (hop == kMaxRedirects) throw FetchError(t.url + ": more than " + std::to_string(kMaxRedirects) + " redirects");
    url = redirect_target(url, location);
  }
}

}  // namespace

bool https_supported() {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  return true;
#else
  return false;
#endif
}

std::string url_problem(const std::string& url) {
  bool https = url.starts_with("https://");
  if (!url.starts_with("http://") && !https) return "not an http:// or https:// URL";
  if (https && !https_supported()) return "https:// is not supported by this build (cpp-httplib without OpenSSL)";
  size_t host_start = url.find("://") + 3;
  if (host_start >= url.size() || url[host_start] == '/') return "no host";
  if (url.find_first_of(" \t\r\n") != std::string::npos) return "contains white space";
  return "";
}

std::string fetch_url(const std::string& url, const FetchLimits& limits, std::stop_token stop) {
  if (std::string problem = url_problem(url); !problem.empty()) throw FetchError(url + ": " + problem);
  return run_transfer(Transfer{url, limits, std::move(stop)});
}

}  // namespace agentd::agents
