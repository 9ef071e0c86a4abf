// fs_meta_bench: metadata and lock workloads on any directory (a native one
// or the concordfs mount), for scripts/bench.sh to run side by side.
//
//   fs_meta_bench DIR      prints one "name value unit" line per workload
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fs_meta_bench DIR\n");
    return 2;
  }
  std::string dir = std::string(argv[1]) + "/meta-bench";
  if (mkdir(dir.c_str(), 0755) != 0) Die("mkdir");
  constexpr int kFiles = 10000;
  auto name = [&](int i) { return dir + "/f" + std::to_string(i); };

  // create + stat + unlink of small files
  auto t0 = std::chrono::steady_clock::now();
  struct stat st;
  for (int i = 0; i < kFiles; ++i) {
    int fd = open(name(i).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1) Die("create");
    close(fd);
  }
  for (int i = 0; i < kFiles; ++i) {
    if (stat(name(i).c_str(), &st) != 0) Die("stat");
  }
  double create_stat = Seconds(t0);

  // ls -l: readdir + lstat of every entry (caches dropped by the kernel's
  // own timeouts only; this is the warm case users see)
  t0 = std::chrono::steady_clock::now();
  DIR* d = opendir(dir.c_str());
  if (!d) Die("opendir");
  int listed = 0;
  while (dirent* e = readdir(d)) {
    std::string p = dir + "/" + e->d_name;
    if (lstat(p.c_str(), &st) == 0) ++listed;
  }
  closedir(d);
  double ls = Seconds(t0);

  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kFiles; ++i) {
    if (unlink(name(i).c_str()) != 0) Die("unlink");
  }
  double unlink_s = Seconds(t0);

  // fcntl lock+unlock pairs and stat round trips on one file
  std::string f = dir + "/lockfile";
  int fd = open(f.c_str(), O_CREAT | O_RDWR, 0644);
  if (fd < 0) Die("open lockfile");
  constexpr int kPairs = 20000;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPairs; ++i) {
    struct flock l = {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    l.l_len = 100;
    if (fcntl(fd, F_SETLK, &l) != 0) Die("lock");
    l.l_type = F_UNLCK;
    if (fcntl(fd, F_SETLK, &l) != 0) Die("unlock");
  }
  double locks = Seconds(t0);
  // One round trip to the file system that no kernel cache answers (FUSE
  // does not cache xattrs): the yardstick for the cost of a lock pair.
  t0 = std::chrono::steady_clock::now();
  char xv[16];
  for (int i = 0; i < kPairs; ++i) {
    if (fgetxattr(fd, "user.none", xv, sizeof(xv)) >= 0 || errno != ENODATA) {
      Die("fgetxattr");
    }
  }
  double stats = Seconds(t0);
  close(fd);
  unlink(f.c_str());
  rmdir(dir.c_str());

  std::printf("create+stat %.0f files/s\n", kFiles / create_stat);
  std::printf("unlink %.0f files/s\n", kFiles / unlink_s);
  std::printf("ls-l %.0f entries/s\n", listed / ls);
  std::printf("lock+unlock %.0f pairs/s\n", kPairs / locks);
  std::printf("getxattr %.0f calls/s\n", kPairs / stats);
  return 0;
}
