// Shows the executor as a `with` block: four file copies submitted to a
// ThreadPoolExecutor(max_workers=4), all finished when the executor is destroyed.
#include <cfutures/cfutures.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

namespace fs = std::filesystem;

namespace {

// A fresh directory under the system's temporary directory, removed on scope exit.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        for (;;) {
            path_ = fs::temp_directory_path() / ("cfutures-file_copy-" + std::to_string(rd()));
            if (fs::create_directory(path_)) break;
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main() {
    TempDir dir;
    const fs::path& d = dir.path();
    for (int i = 1; i <= 4; ++i) std::ofstream(d / ("src" + std::to_string(i) + ".txt")) << "contents of file " << i << '\n';

    // shutil.copy(src, dest); fs::copy_file's overloads are wrapped in a lambda to pick one.
    auto copy = [](const fs::path& src, const fs::path& dest) { return fs::copy_file(src, dest); };
    {
        // with ThreadPoolExecutor(max_workers=4) as e:
        cf::ThreadPoolExecutor e(4);
        e.submit(copy, d / "src1.txt", d / "dest1.txt");
        e.submit(copy, d / "src2.txt", d / "dest2.txt");
        e.submit(copy, d / "src3.txt", d / "dest3.txt");
        e.submit(copy, d / "src4.txt", d / "dest4.txt");
    }  // the destructor runs shutdown(wait=true): every copy has been made

    bool ok = true;
    for (int i = 1; i <= 4; ++i) {
        const std::string n = std::to_string(i);
        const bool same = fs::exists(d / ("dest" + n + ".txt")) &&
                          read_file(d / ("src" + n + ".txt")) == read_file(d / ("dest" + n + ".txt"));
        std::cout << "src" << n << ".txt -> dest" << n << ".txt: " << (same ? "copied" : "MISSING") << '\n';
        ok = ok && same;
    }
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
