// Shows as_completed over a map from futures to URLs: the documentation's
// ThreadPoolExecutor URL loader, with libcurl standing in for urllib.
#include <cfutures/cfutures.hpp>

#include <curl/curl.h>

#include <cstdlib>
#include <iostream>
#include <ranges>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

const std::vector<std::string> URLS = {
    "http://www.foxnews.com/",
    "http://www.cnn.com/",
    "http://europe.wsj.com/",
    "http://www.bbc.co.uk/",
    "http://nonexistent-subdomain.python.org/",
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

// Retrieve a single page and return its contents (urllib.request.urlopen(url, timeout=timeout).read()).
std::string load_url(const std::string& url, long timeout_seconds) {
    CURL* curl = curl_easy_init();
    if (!curl) throw std::runtime_error("curl_easy_init failed");
    std::string body;
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);  // the whole transfer
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);              // required in threads
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);        // urllib follows redirects
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);           // HTTP errors raise, as urllib's HTTPError
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) throw std::runtime_error(error[0] ? error : curl_easy_strerror(rc));
    return body;
}

// Python's %r of a str.
std::string repr(const std::string& s) { return "'" + s + "'"; }

}  // namespace

int main() {
    curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread starts
    {
        // We can use a with statement to ensure threads are cleaned up promptly
        cf::ThreadPoolExecutor executor(5);
        // Start the load operations and mark each future with its URL
        std::unordered_map<cf::Future<std::string>, std::string> future_to_url;
        for (const std::string& url : URLS) future_to_url.emplace(executor.submit(load_url, url, 60L), url);
        for (cf::Future<std::string> future : cf::as_completed(std::views::keys(future_to_url))) {
            const std::string& url = future_to_url.at(future);
            try {
                const std::string& data = future.result();
                std::cout << repr(url) << " page is " << data.size() << " bytes\n";
            } catch (const std::exception& exc) {
                std::cout << repr(url) << " generated an exception: " << exc.what() << '\n';
            }
        }
    }
    curl_global_cleanup();
    return EXIT_SUCCESS;
}
